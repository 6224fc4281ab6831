"""Bindings: :class:`Scope` (the local names of a function, the module or a class
body, and what was assigned to them, :class:`Record`) and :class:`ClassInfo` (a class
statement's attributes, methods and bases).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from flake8_djguide.helpers import dotted_name, string_value
from flake8_djguide.index.querysets import OPAQUE
from flake8_djguide.orm.nodes import _children, _last, _root_name, _target_names, code_of
from flake8_djguide.orm.values import QS, Item, RelManager, _merge_values

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.base import AnalysisBase
    from flake8_djguide.orm.values import Value
else:
    from flake8_djguide._lazy import cst


def _passes(node: cst.CSTNode | None, name: str) -> bool:
    """``helper(request.user, name, ...)``: a call given ``name`` (it may give its rows
    back: ``name = privacy_filter(user, name)``, ``name = SomeFilter(data, queryset=name)``)."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, (cst.Name, cst.Attribute))
        and any(
            not a.star and isinstance(a.value, cst.Name) and a.value.value == name
            for a in node.args
        )
    )


# -- the class context -------------------------------------------------------------------------


class ClassInfo:
    """A class statement: its attributes, methods and (qualified) bases."""

    def __init__(self, node: cst.ClassDef, analysis: AnalysisBase) -> None:
        self.node = node
        self.name = node.name.value
        self.attrs: dict[str, cst.BaseExpression] = {}
        self.methods: dict[str, cst.FunctionDef] = {}
        for statement in node.body.body:
            if isinstance(statement, cst.FunctionDef):
                self.methods[statement.name.value] = statement
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        target = small.targets[0].target
                        if isinstance(target, cst.Name):
                            self.attrs[target.value] = small.value
                    elif (
                        isinstance(small, cst.AnnAssign)
                        and small.value is not None
                        and isinstance(small.target, cst.Name)
                    ):
                        self.attrs[small.target.value] = small.value
        self.bases = [dotted_name(arg.value) or "" for arg in node.bases]
        self._queryset: tuple[Value] | None = None
        self._get_queryset: tuple[Value] | None = None
        self.analysis = analysis


# -- scopes ----------------------------------------------------------------------------------------


@dataclass
class Record:
    """An assignment to a local name."""

    value: cst.BaseExpression | None
    loops: frozenset[int]
    kind: str = "value"  # value, aug (``+=``), sqlsafe (from sql_with_params()), with
    #: the index of the function body's top-level statement holding the assignment (-1:
    #: not in a function body)
    top: int = -1
    #: an assignment that is itself a top-level statement of the function body and does
    #: not read the name: every later statement sees this value, not the earlier ones
    kills: bool = False


class Scope:
    """The local names of one function (or the module, or a class body)."""

    def __init__(
        self,
        analysis: AnalysisBase,
        body: Sequence[cst.CSTNode],
        cls: ClassInfo | None,
        params: Sequence[str] = (),
        kind: str = "function",
    ) -> None:
        self.analysis = analysis
        self.cls = cls
        self.kind = kind
        self.records: dict[str, list[Record]] = {}
        # ``rows.append(x)`` / ``rows.extend(xs)``: what a list assigned ``[]`` holds
        self.fills: dict[str, list[Record]] = {}
        self.opaque: set[str] = set(params)
        #: parameters annotated with a model: an instance of it (while not assigned again)
        self.typed: dict[str, Item] = {}
        self._memo: dict[object, Value] = {}
        self._visiting: set[str] = set()
        #: the index of the top-level statement of the function body being walked: a name
        #: read there holds what the assignments before it (from the last top-level one
        #: that replaced the value) and in that statement gave it, not what later ones do
        #: (``queryset = A.objects...``, a loop over it, then ``queryset = B.objects...``)
        self.position: int | None = None
        self._top = -1
        self._top_assigns: set[int] = set()
        for node in body:
            if kind == "function" and isinstance(node, cst.IndentedBlock):
                for index, statement in enumerate(node.body):
                    self._top = index
                    if (
                        isinstance(statement, cst.SimpleStatementLine)
                        and len(statement.body) == 1
                        and isinstance(statement.body[0], cst.Assign)
                        and len(statement.body[0].targets) == 1
                    ):
                        self._top_assigns.add(id(statement.body[0]))
                    self._collect(statement, ())
                self._top = -1
            else:
                self._collect(node, ())
        if kind == "module":
            # Module-level names are globals that any function may rebind, and the engine
            # parses only the top-level statements some trigger needs, so the statement
            # assigning a module-level name is often not in the parsed chunk at all: they
            # are unknown, in a chunked run and a whole-file run alike.
            self.opaque.update(self.records)
            self.records.clear()

    def _collect(self, node: cst.CSTNode, loops: tuple[int, ...]) -> None:
        kind = type(node)
        if kind not in _binding_kinds():  # most nodes: one set look-up, no isinstance
            for child in _children(node):
                self._collect(child, loops)
            return
        if kind is cst.Call:
            func = node.func  # type: ignore[attr-defined]
            args = node.args  # type: ignore[attr-defined]
            if (
                type(func) is cst.Attribute
                and type(func.value) is cst.Name
                and func.attr.value in ("append", "extend")
                and len(args) == 1
                and args[0].keyword is None
                and not args[0].star
            ):
                self.fills.setdefault(func.value.value, []).append(
                    Record(args[0].value, frozenset(loops), func.attr.value)
                )
            for child in _children(node):
                self._collect(child, loops)
            return
        if kind is cst.FunctionDef or kind is cst.ClassDef:
            self.opaque.add(node.name.value)  # type: ignore[attr-defined]
            return
        if kind in _nested_kinds():
            return
        if type(node) is cst.For or type(node) is cst.While:
            if type(node) is cst.For:
                for name in _target_names(node.target):
                    self.opaque.add(name)
                self._collect(node.iter, loops)
            else:
                self._collect(node.test, loops)  # type: ignore[union-attr]
            inner = (*loops, id(node))
            self._collect(node.body, inner)
            if node.orelse is not None:
                self._collect(node.orelse, loops)
            return
        if type(node) is cst.Assign:
            for target in node.targets:
                self._bind(target.target, node.value, loops, id(node) in self._top_assigns)
        elif type(node) is cst.AnnAssign:
            if node.value is not None:
                self._bind(node.target, node.value, loops)
        elif type(node) is cst.AugAssign:
            if type(node.target) is cst.Name:
                self.records.setdefault(node.target.value, []).append(
                    Record(node.value, frozenset(loops), "aug")
                )
        elif isinstance(node, cst.WithItem):
            if node.asname is not None:
                bound = node.asname.name
                if isinstance(bound, cst.Name):
                    self.records.setdefault(bound.value, []).append(
                        Record(node.item, frozenset(loops), "with")
                    )
                else:
                    for name in _target_names(bound):
                        self.opaque.add(name)
        elif isinstance(node, cst.NamedExpr):
            for name in _target_names(node.target):
                self.opaque.add(name)
        elif isinstance(node, cst.ExceptHandler):
            if node.name is not None:
                for name in _target_names(node.name.name):
                    self.opaque.add(name)
        elif isinstance(node, (cst.Global, cst.Nonlocal)):
            for item in node.names:
                self.opaque.add(item.name.value)
        elif isinstance(node, (cst.Import, cst.ImportFrom)):
            if not isinstance(node.names, cst.ImportStar):
                shared = self._function_imports()
                for alias in node.names:
                    names = (
                        _target_names(alias.asname.name)
                        if alias.asname is not None
                        else [(dotted_name(alias.name) or "").split(".")[0]]
                    )
                    # a function's ``from app.models import Note`` (to avoid an import
                    # cycle) names what the module's other names resolve through
                    # (``extract.import_map``): not opaque
                    self.opaque.update(n for n in names if n not in shared)
        elif isinstance(node, cst.Del):
            self.opaque.update(_target_names(node.target))
        for child in _children(node):
            self._collect(child, loops)

    def _function_imports(self) -> frozenset[str]:
        """The names imported in functions that the index resolves for the module."""
        if self.kind != "function":
            return frozenset()
        import ast

        from flake8_djguide.index.extract import function_imports

        tree = getattr(self.analysis.ctx, "tree", None)
        return function_imports(tree) if isinstance(tree, ast.Module) else frozenset()

    def _bind(
        self,
        target: cst.BaseExpression,
        value: cst.BaseExpression,
        loops: tuple[int, ...],
        top_level: bool = False,
    ) -> None:
        if isinstance(target, cst.Name):
            name = target.value
            kills = top_level and not (_root_name(value) == name or _passes(value, name))
            self.records.setdefault(name, []).append(
                Record(value, frozenset(loops), top=self._top, kills=kills)
            )
            return
        if (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.attr.value == "object_list"
        ):
            # ``page.object_list = prefetch_for_listing(page.object_list)``: the page's
            # rows are replaced by others, which the name no longer tells
            self.opaque.add(target.value.value)
            return
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            # ``self.base = ...`` in a method: kept as ``"self.base"`` (see ``attribute_of``)
            key = f"{target.value.value}.{target.attr.value}"
            self.records.setdefault(key, []).append(Record(value, frozenset(loops)))
            return
        if isinstance(target, (cst.Tuple, cst.List)):
            names = _target_names(target)
            safe = isinstance(value, cst.Call) and _last(value.func) in (
                "sql_with_params",
                "as_sql",
                "compile",
            )
            if (
                isinstance(value, cst.Call)
                and isinstance(value.func, cst.Attribute)
                and value.func.attr.value in ("get_or_create", "update_or_create")
                and len(target.elements) == 2
                and isinstance(target.elements[0], cst.Element)
                and isinstance(target.elements[0].value, cst.Name)
            ):
                # ``obj, created = Model.objects.get_or_create(...)``: ``obj`` is an instance
                first = target.elements[0].value.value
                self.records.setdefault(first, []).append(Record(value, frozenset(loops), "pair"))
                names = [n for n in names if n != first]
            for name in names:
                if safe:
                    self.records.setdefault(name, []).append(
                        Record(value, frozenset(loops), "sqlsafe")
                    )
                else:
                    self.opaque.add(name)

    def attribute_of(self, name: str) -> Value:
        """What ``self.<name>`` holds when this method assigns it (``self.base_queryset =
        Model.objects.filter(...)`` and then ``return self.base_queryset``): read as a local
        name; ``None`` when the method does not assign it or cannot be known."""
        if not self.assigns_attribute(name):
            return None
        return self.value_of(f"{self.self_name}.{name}")  # type: ignore[attr-defined]

    def assigns_attribute(self, name: str) -> bool:
        """Whether this method assigns ``self.<name>``."""
        self_name = getattr(self, "self_name", None)
        return bool(self_name) and self.kind == "function" and f"{self_name}.{name}" in self.records

    def value_of(self, name: str) -> Value:
        """What the local variable ``name`` holds (``None`` when it cannot be known)."""
        if name in self.opaque:
            return None
        records = self.records.get(name)
        if not records:
            return None
        key: object = name
        if self.position is not None and name not in self.fills:
            start, end = _reaching(records, self.position)
            records = records[start:end]
            if not records:
                return None
            key = (name, start, end)
        if key in self._memo:
            return self._memo[key]
        if name in self._visiting:
            return None
        self._visiting.add(name)
        try:
            value = self._merge(name, records, key)
        finally:
            self._visiting.discard(name)
        self._memo[key] = value
        return value

    def _merge(self, name: str, records: list[Record], key: object) -> Value:
        if name in self.fills:
            return self._filled(records, self.fills[name])
        if all(r.kind == "pair" for r in records):
            return self._paired(records)
        own = [
            r
            for r in records
            if not (r.kind == "value" and (_root_name(r.value) == name or _passes(r.value, name)))
        ]
        chained = [r for r in records if r not in own]
        if any(r.kind != "value" for r in records) or not own:
            return None
        loops: frozenset[int] = frozenset()
        values: list[Value] = []
        position = self.position
        try:
            for record in own:
                assert record.value is not None
                if position is not None and record.top >= 0:
                    self.position = record.top  # the names it reads, as they were there
                values.append(self.analysis.evaluate(record.value, self, quiet=True))
                loops |= record.loops
        finally:
            self.position = position
        if chained or len(values) > 1:
            # ``items = obj.items_set`` refined by ``items = items.filter(...)``: its rows
            values = [
                self.analysis.manager_rows(v) if isinstance(v, RelManager) else v for v in values
            ]
        base = _merge_values(values)
        if base is None:
            return None
        if chained:
            self._memo[key] = base
            extra = []
            for record in chained:
                assert record.value is not None
                extra.append(self.analysis.evaluate(record.value, self, quiet=True))
                loops |= record.loops
            self._memo.pop(key, None)
            base = _merge_values([base, *extra])
        if isinstance(base, QS):
            # a variable holds one queryset object: iterating it again reuses its rows, so
            # it runs a query per iteration only when it is assigned in the loop
            base = replace(base, loops=loops, fresh=False)
        return base

    def _paired(self, records: list[Record]) -> Value:
        """The instance of ``obj, created = <queryset>.get_or_create(...)``."""
        values: list[Value] = []
        for record in records:
            call = record.value
            assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
            base = self.analysis.evaluate(call.func.value, self, quiet=True)
            qs = self.analysis._as_queryset(base, code_of(call.func.value))
            if qs is None or qs.rows != "instances":
                return None
            values.append(Item(qs.model, qs.cov, qs.text, origin="get"))
        return _merge_values(values)

    def _filled(self, records: list[Record], fills: list[Record]) -> Value:
        """A list assigned only ``[]`` (or ``list()``) and filled with ``append()`` of model
        instances or ``extend()`` with querysets: a list of those instances."""
        if not all(
            r.kind == "value"
            and (
                (isinstance(r.value, cst.List) and not r.value.elements)
                or (
                    isinstance(r.value, cst.Call)
                    and _last(r.value.func) == "list"
                    and not r.value.args
                )
            )
            for r in records
        ):
            return None
        values: list[Value] = []
        for record in fills:
            assert record.value is not None
            value = self.analysis.evaluate(record.value, self, quiet=True)
            if record.kind == "append" and isinstance(value, Item):
                new = value.origin == "new"
                values.append(
                    QS(
                        value.model,
                        # an unsaved instance holds the related objects it was given
                        OPAQUE if new else value.cov,
                        value.text,
                        value.prefix,
                        value.through_many,
                        value.bare_ok,
                        fresh=False,
                        is_list=True,
                        new_rows=new,
                    )
                )
            elif record.kind == "extend" and isinstance(value, QS) and not value.from_item:
                values.append(replace(value, fresh=False, is_list=True, loops=frozenset()))
            else:
                return None
        return _merge_values(values)

    def literal_only(self, name: str) -> bool:
        """Whether every assignment to ``name`` is a string literal (DJG204)."""
        records = self.records.get(name)
        if not records or name in self.opaque:
            return False
        return all(
            r.kind == "value" and r.value is not None and string_value(r.value) is not None
            for r in records
        )


def _reaching(records: list[Record], position: int) -> tuple[int, int]:
    """The slice of ``records`` (in source order) that a read in top-level statement
    ``position`` of the function body can see: none of a later statement, none before the
    last top-level assignment of an earlier statement that replaced the value."""
    start, end = 0, len(records)
    for index, record in enumerate(records):
        if record.top > position:
            end = index
            break
        if record.kills and 0 <= record.top < position:
            start = index
    return start, end


@functools.lru_cache(maxsize=1)
def _nested_kinds() -> frozenset[type]:
    """Lambdas and comprehensions: their names are their own (:meth:`_collect`)."""
    return frozenset({cst.Lambda, cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp})


@functools.lru_cache(maxsize=1)
def _binding_kinds() -> frozenset[type]:
    """The node types :meth:`_collect` looks at (libcst's node classes are not subclassed)."""
    return frozenset(
        {
            cst.FunctionDef,
            cst.ClassDef,
            cst.Lambda,
            cst.ListComp,
            cst.SetComp,
            cst.GeneratorExp,
            cst.DictComp,
            cst.For,
            cst.While,
            cst.Assign,
            cst.AnnAssign,
            cst.AugAssign,
            cst.WithItem,
            cst.NamedExpr,
            cst.ExceptHandler,
            cst.Global,
            cst.Nonlocal,
            cst.Import,
            cst.ImportFrom,
            cst.Del,
            cst.Call,
        }
    )
