"""Summaries: what a custom manager or QuerySet method returns and loads (from the
index's encoded summaries: :func:`summary_coverage`, :func:`manager_base`,
:func:`default_manager_base`, :func:`graft`), and what a method or class of the
file returns (:class:`Summaries`: ``returns_of``, ``class_queryset``, ...).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flake8_djguide.index.project import Index, Manager
from flake8_djguide.index.querysets import (
    EMPTY,
    KEEP_METHODS,
    OPAQUE,
    Coverage,
    Path,
    PrefetchSpec,
    Step,
    apply,
    split,
)
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.nodes import _children, scope_types
from flake8_djguide.orm.scope import Scope
from flake8_djguide.orm.values import LOADING, QS, Item, _merge_values

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.scope import ClassInfo
    from flake8_djguide.orm.values import Value
else:
    from flake8_djguide._lazy import cst


# -- manager and queryset method summaries (from the index) -------------------------------------


def _flatten(encoded: list[Any]) -> tuple[list[Any], list[tuple[str, Any]]]:
    """An encoded chain as its root and ``("attr", name)`` / ``("call", [args, kw])`` links."""
    links: list[tuple[str, Any]] = []
    current = encoded
    while True:
        tag = current[0] if current else ""
        if tag == "call":
            links.append(("call", (current[2], current[3])))
            current = current[1]
        elif tag == "attr":
            links.append(("attr", current[2]))
            current = current[1]
        elif tag == "ref" and "." in current[1]:
            parts = current[1].split(".")
            for part in reversed(parts[1:]):
                links.append(("attr", part))
            current = ["ref", parts[0]]
        else:
            break
    links.reverse()
    return current, links


def _encoded_step(name: str, args: list[Any], kwargs: dict[str, Any]) -> Step:
    step = Step(name, keywords=dict(kwargs))
    strings: list[str] | None = []
    for arg in args:
        step.has_args = True
        if arg[0] == "str" and strings is not None:
            strings.append(arg[1])
        elif arg[0] == "none":
            step.none_arg = True
        elif (
            arg[0] == "call"
            and arg[1][0] == "ref"
            and arg[1][1].rsplit(".", 1)[-1] == "Prefetch"
            and arg[2]
            and arg[2][0][0] == "str"
        ):
            to_attr = arg[3].get("to_attr")
            step.prefetches.append(
                PrefetchSpec(
                    split(arg[2][0][1]),
                    to_attr[1] if to_attr and to_attr[0] == "str" else None,
                    None,
                    "queryset" not in arg[3] and len(arg[2]) < 2,
                )
            )
        else:
            strings = None
    step.strings = strings
    return step


def summary_coverage(
    manager: Manager, returns: list[Any], base: Coverage, depth: int = 0, name: str | None = None
) -> tuple[Coverage, str] | None:
    """What a custom manager/queryset method's result loads: ``(coverage, rows)``.

    ``None`` when a return value is not a queryset built from ``self`` (or
    ``super().get_queryset()``) with known queryset methods. ``name`` is the method
    summarised: a call of the same name in its returns (``self.get_queryset().name()``,
    ``super().name()``) is the method it hides, of its queryset class or a base.
    """
    if not returns or depth > 4:
        return None
    result: Coverage | None = None
    rows = "instances"
    for encoded in returns:
        root, links = _flatten(encoded)
        index = 0
        if root == ["ref", "super"] and links[:1] == [("call", ([], {}))]:
            index = 1
        elif root != ["ref", "self"]:
            if root and root[0] == "ref" and links and links[0][0] == "call" and depth == 0:
                index = 1  # ProductQuerySet(self.model, using=self._db)
            else:
                return None
        coverage = base
        while index < len(links):
            kind, payload = links[index]
            if kind != "attr":
                return None
            if index + 1 >= len(links) or links[index + 1][0] != "call":
                if payload in ("model", "_db"):
                    return None
                return None
            args, kwargs = links[index + 1][1]
            called = payload
            if called == "get_queryset" or called in KEEP_METHODS:
                pass
            elif called in LOADING or called == "iterator":
                coverage = apply(coverage, _encoded_step(called, args, kwargs))
            elif called in ("values", "values_list"):
                rows = "values"
            elif called in manager.methods:
                method = manager.methods[called]
                if called == name and called in manager.shadowed:
                    method = manager.shadowed[called]
                inner = summary_coverage(manager, method.returns, coverage, depth + 1, called)
                if inner is None:
                    return None
                coverage, inner_rows = inner
                if inner_rows == "values":
                    rows = "values"
            else:
                return None
            index += 2
        result = coverage if result is None else result.union(coverage)
    assert result is not None
    return result, rows


def default_manager_base(index: Index, model_name: str | None) -> Coverage:
    """What the default manager of a model loads (used by its related managers)."""
    model = index.models.get(model_name) if model_name else None
    if model is None or not model.managers:
        return EMPTY
    manager = model.managers.get("objects") or next(iter(model.managers.values()))
    return manager_base(manager)


def graft(coverage: Coverage, prefix: Path, inner: Coverage) -> Coverage:
    """``coverage`` plus what ``inner`` loads, under ``prefix`` (a prefetched relation)."""
    if inner.opaque:
        return replace(coverage, opaque=True)
    if (not inner.select and not inner.prefetch) or not coverage.loads(prefix):
        return coverage
    extra = {(*prefix, *path) for path in inner.select | inner.prefetch}
    return replace(coverage, prefetch=coverage.prefetch | frozenset(extra))


def manager_base(manager: Manager | None) -> Coverage:
    """What ``Model.<manager>`` loads before any method (a ``get_queryset`` override)."""
    if manager is None or manager.get_queryset is None:
        return EMPTY
    found = summary_coverage(manager, manager.get_queryset.returns, EMPTY)
    if found is None or found[1] != "instances":
        return OPAQUE
    return found[0]


class Summaries(AnalysisBase):
    """What methods and classes of the file return."""

    # -- classes ----------------------------------------------------------------------------------------

    def _self_attr(self, cls: ClassInfo, name: str, call: cst.Call | None, scope: Scope) -> Value:
        if call is None and scope.assigns_attribute(name):
            return scope.attribute_of(name)
        if name == "get_queryset" and call is not None:
            return self.class_queryset(cls)
        if name == "queryset" and call is None:
            return self.queryset_attr(cls)
        if name == "model" and call is None:
            return self.view_model(cls)
        if name == "get_object" and call is not None:
            listed = self.class_queryset(cls)
            if isinstance(listed, QS) and listed.rows == "instances" and not listed.prefix:
                return Item(listed.model, listed.cov, listed.text, origin="get")
            return None
        if name in ("filter_queryset", "paginate_queryset") and call is not None and call.args:
            inner = self.evaluate(call.args[0].value, scope, quiet=True)
            if isinstance(inner, QS) and name == "paginate_queryset":
                return replace(inner, is_list=True, fresh=False)
            return inner
        return None

    def class_attr_queryset(self, cls: ClassInfo) -> Value:
        """The value of the class attribute ``queryset``."""
        if cls._queryset is None:
            cls._queryset = (None,)
            node = cls.attrs.get("queryset")
            if node is not None:
                cls._queryset = (
                    self.evaluate(node, Scope(self, [], cls, kind="class"), quiet=True),
                )
        return cls._queryset[0]

    def class_queryset(self, cls: ClassInfo) -> Value:
        """What ``self.get_queryset()`` returns in ``cls``."""
        if cls._get_queryset is None:
            cls._get_queryset = (None,)
            method = cls.methods.get("get_queryset")
            if method is None:
                value = self.super_queryset(cls)
            else:
                values = [v for _, v in self.returns_of(method, cls)]
                value = _merge_values(values) if values else None
            cls._get_queryset = (value,)
        return cls._get_queryset[0]

    def returns_of(
        self, method: cst.FunctionDef, cls: ClassInfo
    ) -> list[tuple[cst.BaseExpression, Value]]:
        """``(returned expression, value)`` for each ``return`` of a method."""
        params = method.params
        names = [
            p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)
        ]
        scope = Scope(self, [method.body], cls, names)
        if names:
            scope.self_name = names[0]  # type: ignore[attr-defined]
        found: list[tuple[cst.BaseExpression, Value]] = []
        stack: list[cst.CSTNode] = [method.body]
        scopes = scope_types()
        saved = self.frames
        self.frames = []
        try:
            while stack:
                current = stack.pop()
                if type(current) in scopes:
                    continue
                if type(current) is cst.Return:
                    if current.value is not None:
                        found.append(
                            (current.value, self.evaluate(current.value, scope, quiet=True))
                        )
                    continue
                stack.extend(_children(current))
        finally:
            self.frames = saved
        found.reverse()
        return found
