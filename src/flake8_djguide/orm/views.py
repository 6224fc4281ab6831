"""Which queryset a DRF view lists and which serializer renders it (:class:`ViewModel`).

A view class is read through its project base views and mixins, in this file or in
other modules (the index keeps each class's ``queryset``, the names assigned in its body
and which of ``get_queryset``/``get_serializer_class``/``list`` it defines, with what
``get_queryset`` returns): ``super().get_queryset()``, ``self.queryset``,
``self.model.objects``, ``get_serializer_class()`` returning ``self.<name>`` or branching
on ``self.action`` / ``self.request.method`` (read for the action being served: only the
``list`` branches of a list view), a ``list()`` that only calls ``super().list()``, and an
explicit ``Serializer(rows, many=True)`` / ``self.get_serializer(rows, many=True)`` in any
function, reported at the queryset it renders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from flake8_djguide.helpers import dotted_name
from flake8_djguide.index.project import Relation, Serializer
from flake8_djguide.index.querysets import KEEP_METHODS, Path, apply
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.nodes import _children, _last, _root_name
from flake8_djguide.orm.summaries import _encoded_step, _flatten, manager_base, summary_coverage
from flake8_djguide.orm.values import LOADING, QS, Item, ModelClass

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.scope import ClassInfo, Scope
    from flake8_djguide.orm.values import Value
else:
    from flake8_djguide._lazy import cst


#: DRF classes whose ``list()`` renders ``get_queryset()`` with ``get_serializer(many=True)``.
LIST_VIEWS = frozenset(
    {
        "rest_framework.generics.ListAPIView",
        "rest_framework.generics.ListCreateAPIView",
        "rest_framework.viewsets.ModelViewSet",
        "rest_framework.viewsets.ReadOnlyModelViewSet",
        "rest_framework.mixins.ListModelMixin",
    }
)
#: What the request looks like while each generic action runs.
_ACTION_METHODS = {
    "list": "GET",
    "retrieve": "GET",
    "create": "POST",
    "update": "PUT",
    "partial_update": "PATCH",
    "destroy": "DELETE",
}
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
#: Methods of an ``APIView`` named after the HTTP method they serve.
_HTTP_HANDLERS = {"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE"}

Truth = Callable[["cst.BaseExpression"], "bool | None"]


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _strings(node: cst.BaseExpression) -> list[str] | None:
    """The strings of a literal tuple, list or set of strings (``None`` otherwise)."""
    if isinstance(node, cst.Name) and node.value == "SAFE_METHODS":
        return list(_SAFE_METHODS)
    if not isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return None
    found: list[str] = []
    for element in node.elements:
        text = _string(element.value)
        if text is None:
            return None
        found.append(text)
    return found


def request_truth(
    action: str | None, method: str | None, self_name: str, aliases: set[str]
) -> Truth:
    """Whether a test holds while ``action`` (a viewset action) answers ``method``: ``True``,
    ``False``, or ``None`` when it cannot be told. Reads ``self.action`` (also through
    ``getattr(self, "action", None)`` and a local name assigned one of them: ``aliases``),
    ``self.request.method`` / ``request.method``, and ``self.detail``."""

    def subject(node: cst.BaseExpression) -> str | None:
        text = dotted_name(node)
        if text in (f"{self_name}.action", *aliases):
            return "action"
        if text in (f"{self_name}.request.method", "request.method"):
            return "method"
        if (
            isinstance(node, cst.Call)
            and dotted_name(node.func) == "getattr"
            and len(node.args) >= 2
            and dotted_name(node.args[0].value) == self_name
            and _string(node.args[1].value) == "action"
        ):
            return "action"
        return None

    def truth(node: cst.BaseExpression) -> bool | None:
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
            inner = truth(node.expression)
            return None if inner is None else not inner
        if isinstance(node, cst.BooleanOperation):
            left, right = truth(node.left), truth(node.right)
            if isinstance(node.operator, cst.And):
                if left is False or right is False:
                    return False
                return True if left and right else None
            if left or right:
                return True
            return False if left is False and right is False else None
        if dotted_name(node) == f"{self_name}.detail" and action in _ACTION_METHODS:
            return action in ("retrieve", "update", "partial_update", "destroy")
        if not isinstance(node, cst.Comparison) or len(node.comparisons) != 1:
            return None
        target = node.comparisons[0]
        subject_node, other = node.left, target.comparator
        kind = subject(subject_node)
        if kind is None and isinstance(target.operator, (cst.Equal, cst.NotEqual)):
            other = node.left
            kind = subject(target.comparator)
        current = action if kind == "action" else method if kind == "method" else None
        if current is None:
            return None
        if isinstance(target.operator, (cst.Equal, cst.NotEqual)):
            text = _string(other)
            if text is None:
                return None
            equal = text == current if kind == "action" else text.upper() == current
            return equal if isinstance(target.operator, cst.Equal) else not equal
        if isinstance(target.operator, (cst.In, cst.NotIn)):
            texts = _strings(other)
            if texts is None:
                return None
            if kind == "method":
                texts = [t.upper() for t in texts]
            inside = current in texts
            return inside if isinstance(target.operator, cst.In) else not inside
        return None

    return truth


def _exits(statements: Sequence[cst.BaseStatement]) -> bool:
    last = statements[-1] if statements else None
    return isinstance(last, cst.SimpleStatementLine) and any(
        isinstance(small, (cst.Return, cst.Raise)) for small in last.body
    )


def _suite(block: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(block, cst.IndentedBlock):
        return list(block.body)
    assert isinstance(block, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=block.body)]


def prune(statements: Sequence[cst.BaseStatement], truth: Truth) -> list[cst.BaseStatement]:
    """``statements`` with every ``if`` whose test ``truth`` decides replaced by the branch
    that runs (and what follows a branch that returns left out)."""
    found: list[cst.BaseStatement] = []
    for statement in statements:
        if isinstance(statement, cst.If):
            decided = truth(statement.test)
            if decided is None:
                found.append(_prune_if(statement, truth))
                continue
            branch: list[cst.BaseStatement] = []
            if decided:
                branch = _suite(statement.body)
            elif isinstance(statement.orelse, cst.Else):
                branch = _suite(statement.orelse.body)
            elif isinstance(statement.orelse, cst.If):
                branch = [statement.orelse]
            chosen = prune(branch, truth)
            found.extend(chosen)
            if _exits(chosen):
                break
            continue
        found.append(statement)
        if _exits([statement]):
            break
    return found


def _prune_if(statement: cst.If, truth: Truth) -> cst.If:
    body = statement.body
    if isinstance(body, cst.IndentedBlock):
        body = body.with_changes(
            body=prune(body.body, truth) or [cst.SimpleStatementLine([cst.Pass()])]
        )
    orelse = statement.orelse
    if isinstance(orelse, cst.If):
        orelse = _prune_if(orelse, truth)
    elif isinstance(orelse, cst.Else) and isinstance(orelse.body, cst.IndentedBlock):
        pruned = prune(orelse.body.body, truth) or [cst.SimpleStatementLine([cst.Pass()])]
        orelse = orelse.with_changes(body=orelse.body.with_changes(body=pruned))
    return statement.with_changes(body=body, orelse=orelse)


def _action_aliases(method: cst.FunctionDef, self_name: str) -> set[str]:
    """Local names assigned ``self.action`` or ``getattr(self, "action", ...)``."""
    found: set[str] = set()
    body = method.body.body if isinstance(method.body, cst.IndentedBlock) else ()
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.Assign) or len(small.targets) != 1:
                continue
            target = small.targets[0].target
            value = small.value
            if not isinstance(target, cst.Name):
                continue
            if dotted_name(value) == f"{self_name}.action" or (
                isinstance(value, cst.Call)
                and dotted_name(value.func) == "getattr"
                and len(value.args) >= 2
                and _string(value.args[1].value) == "action"
            ):
                found.add(target.value)
    return found


def _self_name(method: cst.FunctionDef) -> str:
    params = method.params.params
    return params[0].name.value if params else "self"


def only_calls_super(method: cst.FunctionDef) -> bool:
    """Whether a method's body (past its docstring) is ``return super().<name>(...)``."""
    body = list(method.body.body) if isinstance(method.body, cst.IndentedBlock) else []
    if body and isinstance(body[0], cst.SimpleStatementLine):
        first = body[0].body[0] if body[0].body else None
        if isinstance(first, cst.Expr) and isinstance(
            first.value, (cst.SimpleString, cst.ConcatenatedString)
        ):
            body = body[1:]
    if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine):
        return False
    small = body[0].body[0]
    value = small.value if isinstance(small, (cst.Return, cst.Expr)) else None
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value == method.name.value
        and isinstance(value.func.value, cst.Call)
        and dotted_name(value.func.value.func) == "super"
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
                if any(not isinstance(v, QS) for v in values) or len(values) != 1:
                    return values[0] if len(values) == 1 else None
                return values[0]
        return self.queryset_attr(info)

    def _encoded_queryset(
        self, info: ClassInfo, owner: str, module: str, encoded: list[Any], depth: int = 0
    ) -> Value:
        """The value of a queryset expression a base view (``owner``, in ``module``) holds
        in the index: ``Model.objects...``, ``self.queryset...``, ``self.model.objects...``,
        ``super().get_queryset()...``, followed by known queryset methods."""
        root, links = _flatten(encoded)
        if depth > 4 or not root or root[0] != "ref":
            return None
        text = root[1]
        index = 0
        qs: QS | None = None
        if text == "self" and links[:1] == [("attr", "queryset")]:
            found = self.queryset_attr(info) if depth == 0 or owner else None
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
                inner = summary_coverage(qs.manager, qs.manager.methods[name].returns, qs.cov)
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
        the bases' ``get_queryset()`` when one of them defines it)."""
        method = info.methods.get("get_queryset")
        if method is not None:
            return self.returns_of(self.for_action(method, "list", "GET"), info)
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
            self_name = _self_name(method)
            truth = request_truth(action, http, self_name, _action_aliases(method, self_name))
            body = method.body
            if isinstance(body, cst.IndentedBlock):
                statements = prune(body.body, truth) or [cst.SimpleStatementLine([cst.Pass()])]
                self._pruned[key] = method.with_changes(body=body.with_changes(body=statements))
            else:
                self._pruned[key] = method
        return self._pruned[key]

    def lists_generically(self, info: ClassInfo) -> bool:
        """Whether the view's ``list()`` is DRF's: not overridden, or overridden only to call
        ``super().list()`` (in the class or a project base)."""
        own = info.methods.get("list")
        if own is not None:
            return only_calls_super(own)
        for qualname in self.lineage(info):
            defs = self._view_facts(qualname).get("defs") or {}
            if "list" in defs and defs["list"] != "super":
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
            if self._defined_by_base(info, "get_serializer_class") is not None:
                return None
            return [attribute] if attribute is not None else None
        pruned = self.for_action(method, action, http)
        self_name = _self_name(method)
        found: list[Serializer] = []
        for statement in pruned.body.body if isinstance(pruned.body, cst.IndentedBlock) else ():
            for value in _returned(statement):
                serializer = self._returned_serializer(
                    info, module, value, self_name, attribute, action
                )
                if serializer is None:
                    return None
                found.append(serializer)
        return found or None

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
            if isinstance(element, cst.DictElement) and _string(element.key) == action:
                text = dotted_name(element.value)
                return self.index.serializer_named(module, text) if text else None
        if isinstance(value, cst.Call) and len(value.args) >= 2:
            return self._returned_serializer(
                info, module, value.args[1].value, self_name, attribute, action
            )
        return None

    # -- DJG203 -----------------------------------------------------------------------------------------

    def _check_view(self, info: ClassInfo, scope: Scope) -> None:
        if not set(self.lineage(info)) & LIST_VIEWS or not self.lists_generically(info):
            return
        serializers = self.view_serializers(info, "list", "GET")
        if not serializers:
            return
        for node, value in self.listed_querysets(info):
            self.check_rendered(node, value, serializers)

    def _serializer_sink(self, call: cst.Call, scope: Scope) -> None:
        """``Serializer(rows, many=True)`` / ``self.get_serializer(rows, many=True)``: the
        serializer renders every row of ``rows`` (reported at the queryset)."""
        if not any(
            arg.keyword is not None
            and arg.keyword.value == "many"
            and isinstance(arg.value, cst.Name)
            and arg.value.value == "True"
            for arg in call.args
        ):
            return
        rows = next((a.value for a in call.args if a.keyword is None and not a.star), None)
        if rows is None:
            rows = next(
                (a.value for a in call.args if a.keyword and a.keyword.value == "instance"), None
            )
        if rows is None:
            return
        serializers = self._called_serializers(call.func, scope)
        if not serializers:
            return
        value = self.evaluate(rows, scope, quiet=True)
        node, back = self._queryset_node(rows, scope)
        self.check_rendered(node, value, serializers, back)

    def _called_serializers(
        self, func: cst.BaseExpression, scope: Scope
    ) -> list[Serializer] | None:
        text = dotted_name(func)
        self_name = getattr(scope, "self_name", None)
        info = scope.cls
        if (
            info is not None
            and self_name
            and (
                text in (f"{self_name}.get_serializer", f"{self_name}.serializer_class")
                or (
                    isinstance(func, cst.Call)
                    and dotted_name(func.func) == f"{self_name}.get_serializer_class"
                )
            )
        ):
            function = self.functions[-1].name.value if self.functions else None
            http = _HTTP_HANDLERS.get(function or "") or _ACTION_METHODS.get(function or "")
            return self.view_serializers(info, function, http)
        if text is None:
            return None
        found = self.index.serializer_named(self.file_index.module, text)
        return [found] if found is not None else None

    def _queryset_node(
        self, rows: cst.BaseExpression, scope: Scope
    ) -> tuple[cst.BaseExpression, tuple[Relation, str] | None]:
        """Where the rows a serializer renders were built (followed through local names and
        ``self.paginate_queryset()``/``self.filter_queryset()``), and the relation back to the
        instance when they are one instance's related rows (``form.rules.all()``: each rule's
        ``form`` is that instance, already loaded)."""
        node = rows
        for _ in range(6):
            if isinstance(node, cst.Name):
                records = [r for r in scope.records.get(node.value, ()) if r.value is not None]
                roots = [r for r in records if _root_name(r.value) != node.value]
                if len(roots) != 1 or roots[0].value is None:
                    break
                node = roots[0].value
                continue
            if (
                isinstance(node, cst.Call)
                and _last(node.func) in ("paginate_queryset", "filter_queryset")
                and node.args
            ):
                node = node.args[0].value
                continue
            break
        return node, self._manager_relation(node, scope)

    def _manager_relation(
        self, node: cst.BaseExpression, scope: Scope
    ) -> tuple[Relation, str] | None:
        """``(relation, model)`` when ``node`` is built from a related manager of an instance
        of ``model`` (``form.rules.filter(...)``)."""
        current: cst.BaseExpression = node
        while isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
            receiver = current.func.value
            if not isinstance(receiver, cst.Attribute):
                current = receiver
                continue
            owner = self.evaluate(receiver.value, scope, quiet=True)
            if isinstance(owner, Item) and owner.model is not None:
                relation = owner.model.relation(receiver.attr.value)
                return (relation, owner.model.qualname) if relation is not None else None
            current = receiver.value
        return None

    def check_rendered(
        self,
        node: cst.CSTNode,
        value: Value,
        serializers: list[Serializer],
        back: tuple[Relation, str] | None = None,
    ) -> None:
        """Report the relations every one of ``serializers`` reads per row that the queryset
        ``value`` does not load (DJG203, at ``node``)."""
        if (
            not isinstance(value, QS)
            or value.cov.opaque
            or value.rows != "instances"
            or value.prefix
            or value.empty
            or value.model is None
            or value.model.qualname != serializers[0].model
        ):
            return
        requirement_sets = [self.requirements(s) for s in serializers]
        common = set(requirement_sets[0])
        for other in requirement_sets[1:]:
            common &= set(other)
        served = self._annotated_fields(serializers, value.annotations)
        missing: list[tuple[Path, tuple[frozenset[str], tuple[Relation, ...]]]] = []
        for path in sorted(common):
            labels, relations = requirement_sets[0][path]
            if back is not None and self._back_reference(back[0], relations[0], back[1]):
                continue
            if (
                labels - served
                and not self._view_covers(value, path, relations)
                and not self._manager_loads(path, relations)
            ):
                missing.append((path, (labels - served, relations)))
        if missing:
            self._report_view(node, serializers[0], missing)


def _returned(statement: cst.CSTNode) -> list[cst.BaseExpression | None]:
    """The values returned in a statement (not in nested functions or classes)."""
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return []
    if isinstance(statement, cst.Return):
        return [statement.value]
    found: list[cst.BaseExpression | None] = []
    for child in _children(statement):
        found.extend(_returned(child))
    return found
