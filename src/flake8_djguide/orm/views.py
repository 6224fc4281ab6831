"""Which queryset a DRF view lists and which serializer renders it (:class:`ViewModel`).

A view class is read through its project base views and mixins, in this file or in
other modules (the index keeps each class's ``queryset``, the names assigned in its body
and which of ``get_queryset``/``get_serializer_class``/``list`` it defines, with what
``get_queryset`` returns): ``super().get_queryset()``, ``self.queryset``,
``self.model.objects``, ``get_serializer_class()`` returning ``self.<name>``, a
``serializer_classes`` dict or branching on ``self.action`` / ``self.request.method``
(read for the action being served: only the ``list`` branches of a list view), and a
``list()`` that returns ``super().list()``. What the rows rendered miss (DJG203):
:mod:`flake8_djguide.orm.rendering`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flake8_djguide.helpers import dotted_name
from flake8_djguide.index.project import Serializer
from flake8_djguide.index.querysets import KEEP_METHODS, apply
from flake8_djguide.orm.actions import (
    action_aliases,
    origin_of,
    prune,
    request_truth,
    returned,
    returns_super,
    self_name_of,
    starts_from_attribute,
    string_value,
)
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.nodes import _last
from flake8_djguide.orm.summaries import _encoded_step, _flatten, manager_base, summary_coverage
from flake8_djguide.orm.values import LOADING, QS, ModelClass, _merge_values

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.scope import ClassInfo
    from flake8_djguide.orm.values import Value
else:
    from flake8_djguide._lazy import cst


LIST_VIEWS = frozenset(
    {
        "rest_framework.generics.ListAPIView",
        "rest_framework.generics.ListCreateAPIView",
        "rest_framework.viewsets.ModelViewSet",
        "rest_framework.viewsets.ReadOnlyModelViewSet",
        "rest_framework.mixins.ListModelMixin",
    }
)


class ViewModel(AnalysisBase):
    """DRF views: their bases, the queryset they list, the serializer that renders it."""

    _pruned: dict[tuple[int, str | None], cst.FunctionDef]

    # -- the class and its bases ---------------------------------------------------------------------

    def lineage(self, info: ClassInfo) -> list[str]:
        """The qualified names of a class's bases, nearest first (depth first, left to right:
        the method resolution order of single-inheritance chains and of mixins)."""
        module = self.file_index.module
        own = f"{module}.{info.name}"
        found: list[str] = []
        stack = [self.index.resolve(module, b) for b in reversed(info.bases) if b]
        while stack:
            name = stack.pop()
            if name in found or name == own or len(found) > 64:
                continue
            found.append(name)
            entry = self.index.classes.get(name)
            if entry is not None:
                bases = [self.index.resolve(entry[0], b) for b in entry[1].get("bases", ()) if b]
                stack.extend(reversed(bases))
        return found

    def _view_facts(self, qualname: str) -> dict[str, Any]:
        entry = self.index.classes.get(qualname)
        return dict(entry[1].get("view") or {}) if entry is not None else {}

    def _inherited_ref(self, info: ClassInfo, name: str) -> tuple[str, str] | None:
        """``(module, dotted name)`` a class attribute ``name`` is bound to, in the class or
        the nearest base that assigns it (``None`` when it is not a plain name)."""
        if name in info.attrs:
            text = dotted_name(info.attrs[name])
            return (self.file_index.module, text) if text else None
        for qualname in self.lineage(info):
            entry = self.index.classes.get(qualname)
            if entry is None:
                continue
            refs = entry[1].get("refs") or {}
            if name in refs:
                return entry[0], refs[name]
            if name in (self._view_facts(qualname).get("calls") or {}):
                return None
        return None

    def _defined_by_base(self, info: ClassInfo, method: str) -> str | None:
        """The nearest project base that defines ``method`` (``None``: only DRF's own)."""
        for qualname in self.lineage(info):
            if method in (self._view_facts(qualname).get("defs") or {}):
                return qualname
        return None

    def view_model(self, info: ClassInfo) -> ModelClass | None:
        """``self.model``: the model class a view names in ``model =`` (or a base does)."""
        ref = self._inherited_ref(info, "model")
        model = self.index.model_named(*ref) if ref else None
        return ModelClass(model, ref[1]) if model is not None and ref else None

    # -- the queryset ---------------------------------------------------------------------------------

    def queryset_attr(self, info: ClassInfo) -> Value:
        """``self.queryset``: the class's ``queryset =``, or the nearest base's."""
        if "queryset" in info.attrs:
            return self.class_attr_queryset(info)
        for qualname in self.lineage(info):
            entry = self.index.classes.get(qualname)
            if entry is None:
                continue
            calls = self._view_facts(qualname).get("calls") or {}
            if "queryset" in calls:
                return self._encoded_queryset(info, qualname, entry[0], calls["queryset"])
            ref = (entry[1].get("refs") or {}).get("queryset")
            if ref is not None:
                return self._encoded_queryset(info, qualname, entry[0], ["ref", ref])
        return None

    def super_queryset(self, info: ClassInfo, after: str | None = None) -> Value:
        """What ``get_queryset()`` of the bases returns (``super().get_queryset()`` in the
        class, or in the base ``after``): the nearest project base's ``get_queryset()``, or
        DRF's (``self.queryset``)."""
        chain = self.lineage(info)
        if after is not None:
            chain = chain[chain.index(after) + 1 :] if after in chain else []
        for qualname in chain:
            defs = self._view_facts(qualname).get("defs") or {}
            if "get_queryset" in defs:
                returns = defs["get_queryset"]
                entry = self.index.classes.get(qualname)
                if not returns or entry is None:
                    return None
                values = [self._encoded_queryset(info, qualname, entry[0], r) for r in returns]
                return _merge_values(values)
        return self.queryset_attr(info)

    def bases_pass_queryset(self, info: ClassInfo) -> bool:
        """Whether ``super().get_queryset()`` of ``info`` gives ``self.queryset``'s rows:
        Django's and DRF's do, and so does a project base whose every ``return`` gives
        ``super().get_queryset()`` again, refined (``.filter(...)``) or through
        ``self.filter_queryset(super().get_queryset(), ...)``."""
        for qualname in self.lineage(info):
            defs = self._view_facts(qualname).get("defs") or {}
            if "get_queryset" in defs:
                returns = defs["get_queryset"]
                if not returns or not all(_gives_super_rows(r) for r in returns):
                    return False
        return True

    def _encoded_queryset(
        self, info: ClassInfo, owner: str, module: str, encoded: list[Any]
    ) -> Value:
        """The value of a queryset expression a base view (``owner``, in ``module``) holds
        in the index: ``Model.objects...``, ``self.queryset...``, ``self.model.objects...``,
        ``super().get_queryset()...``, followed by known queryset methods."""
        root, links = _flatten(encoded)
        if not root or root[0] != "ref":
            return None
        text = root[1]
        index = 0
        qs: QS | None = None
        if text == "self" and links[:1] == [("attr", "queryset")]:
            found = self.queryset_attr(info)
            qs, index = (found if isinstance(found, QS) else None), 1
        elif text == "self" and links[:1] == [("attr", "model")] and len(links) > 1:
            named = self.view_model(info)
            if named is not None and named.model is not None and links[1][0] == "attr":
                manager = named.model.managers.get(links[1][1])
                if manager is not None or links[1][1] == "objects":
                    qs = QS(
                        named.model,
                        manager_base(manager),
                        f"self.model.{links[1][1]}",
                        manager=manager,
                    )
                    index = 2
        elif text == "super" and links[:3] == [
            ("call", ([], {})),
            ("attr", "get_queryset"),
            ("call", ([], {})),
        ]:
            found = self.super_queryset(info, owner)
            qs, index = (found if isinstance(found, QS) else None), 3
        elif text != "self" and links and links[0][0] == "attr":
            model = self.index.model_named(module, text)
            if model is not None:
                manager = model.managers.get(links[0][1])
                if manager is not None or links[0][1] == "objects":
                    qs = QS(model, manager_base(manager), f"{text}.{links[0][1]}", manager=manager)
                    index = 1
        if qs is None:
            return None
        while index < len(links):
            kind, name = links[index]
            if kind != "attr" or index + 1 >= len(links) or links[index + 1][0] != "call":
                return None
            args, kwargs = links[index + 1][1]
            if name in LOADING or name in KEEP_METHODS:
                qs = QS(
                    qs.model,
                    apply(qs.cov, _encoded_step(name, args, kwargs)),
                    qs.text,
                    manager=qs.manager,
                    empty=qs.empty or name == "none",
                    annotations=qs.annotations
                    | (frozenset(kwargs) if name == "annotate" else frozenset()),
                )
            elif qs.manager is not None and name in qs.manager.methods:
                inner = summary_coverage(
                    qs.manager, qs.manager.methods[name].returns, qs.cov, name=name
                )
                if inner is None or inner[1] != "instances":
                    return None
                qs = QS(qs.model, inner[0], qs.text, manager=qs.manager, annotations=qs.annotations)
            else:
                return None
            index += 2
        return qs

    def listed_querysets(self, info: ClassInfo) -> list[tuple[cst.BaseExpression, Value]]:
        """``(node to report at, queryset)`` for what a list view lists: each ``return`` of
        its ``get_queryset()`` (read for the ``list`` action), or its ``queryset =`` (through
        the bases' ``get_queryset()`` when one of them defines it). A ``return`` of rows that
        start from the class's ``queryset =`` (``super().get_queryset()``, ``self.queryset``)
        is reported there, where the loading calls belong."""
        method = info.methods.get("get_queryset")
        if method is not None:
            pruned = self.for_action(method, "list", "GET")
            found = self.returns_of(pruned, info)
            if "queryset" in info.attrs:
                found = [
                    (info.attrs["queryset"] if starts_from_attribute(pruned, node) else node, value)
                    for node, value in found
                ]
            # a returned local name is reported where its rows are made
            return [(origin_of(pruned, node), value) for node, value in found]
        if "queryset" not in info.attrs:
            return []
        if self._defined_by_base(info, "get_queryset") is not None:
            return [(info.attrs["queryset"], self.super_queryset(info))]
        return [(info.attrs["queryset"], self.class_attr_queryset(info))]

    # -- actions ----------------------------------------------------------------------------------------

    def for_action(
        self, method: cst.FunctionDef, action: str | None, http: str | None
    ) -> cst.FunctionDef:
        """``method`` as it runs for ``action`` answering ``http``: every ``if`` on
        ``self.action`` or the request method that this decides, replaced by its branch."""
        if not hasattr(self, "_pruned"):
            self._pruned = {}
        key = (id(method), action)
        if key not in self._pruned:
            self_name = self_name_of(method)
            truth = request_truth(action, http, self_name, action_aliases(method, self_name))
            body = method.body
            if isinstance(body, cst.IndentedBlock):
                statements = prune(body.body, truth) or [cst.SimpleStatementLine([cst.Pass()])]
                self._pruned[key] = method.with_changes(body=body.with_changes(body=statements))
            else:
                self._pruned[key] = method
        return self._pruned[key]

    def lists_generically(self, info: ClassInfo) -> bool:
        """Whether the view's ``list()`` renders DRF's: not overridden, or overridden (in the
        class or a project base) by one that returns ``super().list()`` on some path, or (in a
        project base) by one that renders ``self.get_queryset()`` with
        ``self.get_serializer()`` itself."""
        own = info.methods.get("list")
        if own is not None and not returns_super(own):
            return False
        for qualname in self.lineage(info):
            kind = (self._view_facts(qualname).get("defs") or {}).get("list")
            if kind == "renders":
                return True  # renders get_queryset() with get_serializer(), as DRF's does
            if kind is not None and kind != "super":
                return False
        return True

    # -- serializers ------------------------------------------------------------------------------------

    def view_serializers(
        self, info: ClassInfo, action: str | None, http: str | None
    ) -> list[Serializer] | None:
        """The serializers ``get_serializer()`` uses for ``action``: from the class's
        ``get_serializer_class()`` read for that action, else ``serializer_class`` (also
        inherited); ``None`` when one cannot be known."""
        module = self.file_index.module
        ref = self._inherited_ref(info, "serializer_class")
        attribute = self.index.serializer_named(*ref) if ref else None
        method = info.methods.get("get_serializer_class")
        if method is None:
            return self._base_serializers(info, None, attribute)
        pruned = self.for_action(method, action, http)
        self_name = self_name_of(method)
        found: list[Serializer] = []
        for statement in pruned.body.body if isinstance(pruned.body, cst.IndentedBlock) else ():
            for value in returned(statement):
                serializer = self._returned_serializer(
                    info, module, value, self_name, attribute, action
                )
                if serializer is None:
                    return None
                found.append(serializer)
        return found or None

    def _base_serializers(
        self, info: ClassInfo, after: str | None, attribute: Serializer | None
    ) -> list[Serializer] | None:
        """What the nearest base's ``get_serializer_class()`` (after ``after``) returns, on
        every path (the index keeps its returns, not its branches): serializer classes,
        ``self.<name>`` class attributes (looked up from ``info``),
        ``self.serializer_class`` and ``super().get_serializer_class()``; else DRF's
        (``serializer_class``)."""
        chain = self.lineage(info)
        if after is not None:
            chain = chain[chain.index(after) + 1 :] if after in chain else []
        for qualname in chain:
            returns = (self._view_facts(qualname).get("defs") or {}).get("get_serializer_class")
            if returns is None:
                continue
            entry = self.index.classes.get(qualname)
            if not isinstance(returns, list) or not returns or entry is None:
                return None
            found: list[Serializer] = []
            for encoded in returns:
                text = encoded[1] if encoded and encoded[0] == "ref" else None
                if encoded == [
                    "call",
                    ["attr", ["call", ["ref", "super"], [], {}], "get_serializer_class"],
                    [],
                    {},
                ]:
                    inner = self._base_serializers(info, qualname, attribute)
                    if inner is None:
                        return None
                    found.extend(inner)
                    continue
                if text == "self.serializer_class":
                    serializer = attribute
                elif text is not None and text.startswith("self.") and text.count(".") == 1:
                    ref = self._inherited_ref(info, text[5:])
                    serializer = self.index.serializer_named(*ref) if ref else None
                elif text is not None:
                    serializer = self.index.serializer_named(entry[0], text)
                else:
                    serializer = None
                if serializer is None:
                    return None
                found.append(serializer)
            return found
        return [attribute] if attribute is not None else None

    def _returned_serializer(
        self,
        info: ClassInfo,
        module: str,
        value: cst.BaseExpression | None,
        self_name: str,
        attribute: Serializer | None,
        action: str | None,
    ) -> Serializer | None:
        if value is None:
            return None
        text = dotted_name(value)
        if (
            isinstance(value, cst.Call) and _last(value.func) == "get_serializer_class"
        ) or text == f"{self_name}.serializer_class":
            return attribute
        if text is not None and text.startswith(f"{self_name}.") and text.count(".") == 1:
            ref = self._inherited_ref(info, text.split(".", 1)[1])
            return self.index.serializer_named(*ref) if ref else None
        if isinstance(value, cst.Subscript) or (
            isinstance(value, cst.Call)
            and _last(value.func) == "get"
            and isinstance(value.func, cst.Attribute)
        ):
            # ``self.serializer_classes[self.action]`` / ``.get(self.action, default)``
            return self._by_action(info, module, value, self_name, attribute, action)
        return self.index.serializer_named(module, text) if text is not None else None

    def _by_action(
        self,
        info: ClassInfo,
        module: str,
        value: cst.BaseExpression,
        self_name: str,
        attribute: Serializer | None,
        action: str | None,
    ) -> Serializer | None:
        holder = value.value if isinstance(value, cst.Subscript) else value.func.value  # type: ignore[attr-defined]
        name = dotted_name(holder)
        if name is None or not name.startswith(f"{self_name}.") or action is None:
            return None
        mapping = info.attrs.get(name.split(".", 1)[1])
        if not isinstance(mapping, cst.Dict):
            return None
        for element in mapping.elements:
            if isinstance(element, cst.DictElement) and string_value(element.key) == action:
                text = dotted_name(element.value)
                return self.index.serializer_named(module, text) if text else None
        if isinstance(value, cst.Call) and len(value.args) >= 2:
            return self._returned_serializer(
                info, module, value.args[1].value, self_name, attribute, action
            )
        return None


def _gives_super_rows(encoded: list[Any]) -> bool:
    """``super().get_queryset()`` (encoded), refined by calls that keep its rows, or passed
    first to ``self.filter_queryset(...)``."""
    root, links = _flatten(encoded)
    if root == ["ref", "super"] and links[:3] == [
        ("call", ([], {})),
        ("attr", "get_queryset"),
        ("call", ([], {})),
    ]:
        rest = links[3:]
        return all(
            (kind == "attr" and payload in KEEP_METHODS) or kind == "call" for kind, payload in rest
        )
    if root == ["ref", "self"] and len(links) == 2 and links[0] == ("attr", "filter_queryset"):
        args = links[1][1][0]
        return bool(args) and _gives_super_rows(args[0])
    return False
