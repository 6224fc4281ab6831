"""Queryset data flow for the ORM rules (DJG201-DJG204, DJG206-DJG208).

One analysis per parsed chunk, shared by the rules through the file context.
It walks each function (and the module and class bodies) itself, in source
order, keeping what the engine's flat walk cannot: the loops the code is in
(and whether a ``break``/``return`` makes a block run once), the local
variables and what was assigned to them, and the class a method belongs to.

Values the analysis follows:

- :class:`ModelClass` a model class (``Product``), from the model index;
- :class:`QS` a queryset (``Product.objects.filter(...)``, a related manager's
  ``.all()``, a variable assigned one) with its :class:`Coverage`;
- :class:`Item` a model instance: a loop variable over a queryset, or the
  result of ``get()``/``create()``/``Product(...)``;
- :class:`RelManager` a related manager (``product.tags``).

Anything else is unknown, and unknown never produces a finding.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Union

from flake8_djguide.helpers import dotted_name, string_value
from flake8_djguide.index import FileIndex, get_index
from flake8_djguide.index.project import Index, Manager, Model, Relation, Serializer
from flake8_djguide.index.querysets import (
    ALWAYS_QUERY,
    EMPTY,
    EVALUATING,
    INSTANCE_METHODS,
    KEEP_METHODS,
    OPAQUE,
    Coverage,
    Path,
    PrefetchSpec,
    Step,
    apply,
    lookup_text,
    split,
)
from flake8_djguide.rules._lookups import checked_step
from flake8_djguide.rules._templates import check_render, check_view

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
else:
    from flake8_djguide._lazy import cst

MANAGER_ATTRS = frozenset({"objects", "_default_manager", "_base_manager"})
LOADING = frozenset({"select_related", "prefetch_related", "only", "defer"})
_RELATED_LOADING = frozenset({"select_related", "prefetch_related"})
#: Related-manager reads served by a prefetch cache.
SERVED = frozenset({"all", "count", "exists"})
#: Related-manager methods that build a new queryset (a query even when prefetched).
REQUERY = frozenset(
    [
        "filter",
        "exclude",
        "order_by",
        "get",
        "aggregate",
        "first",
        "last",
        "latest",
        "earliest",
        "annotate",
        "values",
        "values_list",
        "distinct",
        "select_related",
        "prefetch_related",
        "only",
        "defer",
        "in_bulk",
        "iterator",
        "alias",
        "reverse",
    ]
)
WRITES = frozenset(["create", "get_or_create", "update_or_create", "update", "delete"])
MANAGER_SHAPES = SERVED | REQUERY | WRITES
BATCH_METHODS = frozenset({"bulk_create", "bulk_update"})
#: Related-manager writes: a query (or two) per call.
LINK_WRITES = frozenset({"add", "remove", "set", "clear"})
_LIST_CALLS = frozenset({"list", "tuple", "sorted", "set", "reversed"})


# -- values --------------------------------------------------------------------------------


@dataclass
class ModelClass:
    """A model class, known from the index (``model``) or only by its shape (``None``)."""

    model: Model | None
    name: str


@dataclass
class QS:
    """A queryset (or a list of instances made from one)."""

    model: Model | None
    cov: Coverage
    text: str  # the root queryset's code, for messages
    prefix: Path = ()  # path from the coverage root to this queryset's rows
    through_many: bool = False  # the prefix crosses a to-many relation
    bare_ok: bool = True  # the prefix is only non-null forward FKs (bare select_related)
    fresh: bool = True  # evaluating it runs a query
    rows: str = "instances"  # or "values" (values()/values_list())
    manager: Manager | None = None
    sliced: bool = False
    batched: bool = False  # filter(x__in=<loop variable>): a batch per iteration
    is_list: bool = False  # already evaluated (list(qs), a Prefetch to_attr list)
    from_item: bool = False  # a related manager of a loop variable (DJG201's)
    loops: frozenset[int] = frozenset()  # loops the variable holding it was assigned in
    empty: bool = False  # loads no rows (``none()``): never a query, never an N+1
    new_rows: bool = False  # a list of unsaved instances (``objs.append(Product(...))``)
    annotations: frozenset[str] = frozenset()  # names added by annotate(<name>=...)


@dataclass
class Item:
    """A model instance."""

    model: Model | None
    cov: Coverage
    text: str
    prefix: Path = ()
    through_many: bool = False
    bare_ok: bool = True
    frame: Frame | None = None  # the loop binding it, None for a single instance
    origin: str = "loop"  # loop, get, new
    reported: bool = False


@dataclass
class RelManager:
    """A related manager of an instance (``product.tags``)."""

    item: Item
    name: str
    relation: Relation | None
    node: cst.CSTNode


@dataclass
class SelfRef:
    """``self`` in a method of a class."""

    cls: ClassInfo


@dataclass
class SuperRef:
    """``super()`` in a method of a class."""

    cls: ClassInfo


Value = Union[ModelClass, QS, Item, RelManager, SelfRef, SuperRef, None]


@dataclass(eq=False)
class Frame:
    """One loop the walk is inside."""

    node: cst.CSTNode
    bindings: dict[str, Item] = field(default_factory=dict)
    targets: set[str] = field(default_factory=set)
    bounded: bool = False  # over a literal collection: not a data-dependent loop
    suspended: int = 0  # inside a block that leaves the loop (break)
    assigned_attrs: set[str] = field(default_factory=set)  # p.<rel> = ... in the body
    chunked: bool = False  # ``for start in range(a, b, step)``: one batch per iteration
    condition: frozenset[str] = frozenset()  # names a ``while`` condition reads


@dataclass
class Finding:
    """A finding of the analysis, turned into a report by the rule of ``code``."""

    code: str
    node: cst.CSTNode
    message: str


# -- the class context -------------------------------------------------------------------------


class ClassInfo:
    """A class statement: its attributes, methods and (qualified) bases."""

    def __init__(self, node: cst.ClassDef, analysis: Analysis) -> None:
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


class Scope:
    """The local names of one function (or the module, or a class body)."""

    def __init__(
        self,
        analysis: Analysis,
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
        self._memo: dict[str, Value] = {}
        self._visiting: set[str] = set()
        for node in body:
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
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            self.opaque.add(node.name.value)
            return
        if isinstance(
            node, (cst.Lambda, cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)
        ):
            return
        if isinstance(node, (cst.For, cst.While)):
            if isinstance(node, cst.For):
                for name in _target_names(node.target):
                    self.opaque.add(name)
                self._collect(node.iter, loops)
            else:
                self._collect(node.test, loops)
            inner = (*loops, id(node))
            self._collect(node.body, inner)
            if node.orelse is not None:
                self._collect(node.orelse, loops)
            return
        if isinstance(node, cst.Assign):
            for target in node.targets:
                self._bind(target.target, node.value, loops)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self._bind(node.target, node.value, loops)
        elif isinstance(node, cst.AugAssign):
            if isinstance(node.target, cst.Name):
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
                for alias in node.names:
                    if alias.asname is not None:
                        self.opaque.update(_target_names(alias.asname.name))
                    else:
                        self.opaque.add((dotted_name(alias.name) or "").split(".")[0])
        elif isinstance(node, cst.Del):
            self.opaque.update(_target_names(node.target))
        for child in _children(node):
            self._collect(child, loops)

    def _bind(
        self, target: cst.BaseExpression, value: cst.BaseExpression, loops: tuple[int, ...]
    ) -> None:
        if isinstance(target, cst.Name):
            self.records.setdefault(target.value, []).append(Record(value, frozenset(loops)))
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

    def value_of(self, name: str) -> Value:
        """What the local variable ``name`` holds (``None`` when it cannot be known)."""
        if name in self.opaque:
            return None
        records = self.records.get(name)
        if not records:
            return None
        if name in self._memo:
            return self._memo[name]
        if name in self._visiting:
            return None
        self._visiting.add(name)
        try:
            value = self._merge(name, records)
        finally:
            self._visiting.discard(name)
        self._memo[name] = value
        return value

    def _merge(self, name: str, records: list[Record]) -> Value:
        if name in self.fills:
            return self._filled(records, self.fills[name])
        if all(r.kind == "pair" for r in records):
            return self._paired(records)
        own = [r for r in records if not (r.kind == "value" and _root_name(r.value) == name)]
        chained = [r for r in records if r not in own]
        if any(r.kind != "value" for r in records) or not own:
            return None
        loops: frozenset[int] = frozenset()
        values: list[Value] = []
        for record in own:
            assert record.value is not None
            values.append(self.analysis.evaluate(record.value, self, quiet=True))
            loops |= record.loops
        base = _merge_values(values)
        if base is None:
            return None
        if chained:
            self._memo[name] = base
            extra = []
            for record in chained:
                assert record.value is not None
                extra.append(self.analysis.evaluate(record.value, self, quiet=True))
                loops |= record.loops
            self._memo.pop(name, None)
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


def _merge_values(values: Sequence[Value]) -> Value:
    if not values or any(v is None for v in values):
        return None
    first = values[0]
    if isinstance(first, QS):
        if not all(isinstance(v, QS) for v in values):
            return None
        qs_values = [v for v in values if isinstance(v, QS)]
        if len({(v.model.qualname if v.model else None) for v in qs_values}) != 1:
            return None
        if len({v.rows for v in qs_values}) != 1 or len({v.prefix for v in qs_values}) != 1:
            return None
        cov = qs_values[0].cov
        for other in qs_values[1:]:
            cov = cov.union(other.cov)
        return replace(
            qs_values[0],
            cov=cov,
            fresh=any(v.fresh for v in qs_values),
            sliced=any(v.sliced for v in qs_values),
            batched=any(v.batched for v in qs_values),
            is_list=all(v.is_list for v in qs_values),
            empty=all(v.empty for v in qs_values),
            new_rows=all(v.new_rows for v in qs_values),
            annotations=frozenset.intersection(*(v.annotations for v in qs_values)),
        )
    if isinstance(first, Item):
        if not all(isinstance(v, Item) for v in values):
            return None
        items = [v for v in values if isinstance(v, Item)]
        if len({(v.model.qualname if v.model else None) for v in items}) != 1:
            return None
        item_cov = items[0].cov
        for item in items[1:]:
            item_cov = item_cov.union(item.cov)
        origins = {v.origin for v in items}
        return replace(
            items[0], cov=item_cov, origin=items[0].origin if len(origins) == 1 else "get"
        )
    if isinstance(first, ModelClass) and all(
        isinstance(v, ModelClass) and v.model is first.model for v in values
    ):
        return first
    return None


# -- small syntax helpers ----------------------------------------------------------------------------


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


def _children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    from flake8_djguide.walker import iter_children

    return iter(iter_children(node))


def _target_names(node: cst.CSTNode) -> list[str]:
    if isinstance(node, cst.Name):
        return [node.value]
    names: list[str] = []
    if isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            names.extend(_target_names(element.value))
    elif isinstance(node, cst.StarredElement):
        names.extend(_target_names(node.value))
    return names


def _last(node: cst.CSTNode) -> str:
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Name):
        return node.value
    return ""


def _root_name(node: cst.CSTNode | None) -> str | None:
    while True:
        if isinstance(node, cst.Attribute):
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, cst.Subscript):
            node = node.value
        else:
            break
    return node.value if isinstance(node, cst.Name) else None


def _chain(node: cst.CSTNode) -> tuple[cst.CSTNode, list[tuple[str, Any, cst.CSTNode]]]:
    """The root of an attribute/call/subscript chain and its links, root first.

    Links are ``("attr", name, node)``, ``("call", call node, node)`` and
    ``("sub", subscript node, node)``; ``node`` is the expression ending there.
    """
    links: list[tuple[str, Any, cst.CSTNode]] = []
    current = node
    while True:
        if isinstance(current, cst.Attribute):
            links.append(("attr", current.attr.value, current))
            current = current.value
        elif isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
            links.append(("call", current, current))
            current = current.func
        elif isinstance(current, cst.Subscript):
            links.append(("sub", current, current))
            current = current.value
        else:
            break
    links.reverse()
    return current, links


@functools.lru_cache(maxsize=1)
def _visit_kinds() -> dict[type, str]:
    """How :meth:`Analysis._visit` treats a node, by its exact type; other types are walked into."""
    return {
        cst.FunctionDef: "function",
        cst.ClassDef: "class",
        cst.Lambda: "lambda",
        cst.For: "for",
        cst.While: "while",
        cst.ListComp: "comprehension",
        cst.SetComp: "comprehension",
        cst.GeneratorExp: "comprehension",
        cst.DictComp: "comprehension",
        cst.If: "if",
        cst.Try: "try",
        cst.IndentedBlock: "block",
        cst.SimpleStatementSuite: "block",
        cst.Assign: "assign",
        cst.AnnAssign: "assign",
        cst.AugAssign: "assign",
        cst.Call: "evaluate",  # every call; a chain is an attribute or a subscript
        cst.Attribute: "evaluate",
        cst.Subscript: "evaluate",
    }


def _is_chain(node: cst.CSTNode) -> bool:
    return isinstance(node, (cst.Attribute, cst.Subscript)) or (
        isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
    )


_CODE = None


def code_of(node: cst.CSTNode, limit: int = 60) -> str:
    """The code of ``node`` on one line, shortened to ``limit`` characters."""
    global _CODE
    if _CODE is None:
        _CODE = cst.Module(body=[])
    if getattr(node, "lpar", None):
        node = node.with_changes(lpar=[], rpar=[])
    text = " ".join(_CODE.code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_constant_name(node: cst.BaseExpression) -> bool:
    """An UPPER_CASE name or attribute (``ROLE_ADMIN``, ``settings.ROLE_ADMIN``)."""
    name = _last(node) if isinstance(node, (cst.Name, cst.Attribute)) else ""
    return len(name) > 1 and name.isupper()


def _is_literal_collection(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return all(
            isinstance(e, cst.Element) and (_is_constant(e.value) or _is_constant_name(e.value))
            for e in node.elements
        ) or all(
            isinstance(e, cst.Element) and isinstance(e.value, (cst.Dict, cst.Tuple))
            for e in node.elements
        )
    if isinstance(node, cst.Dict):
        return True
    if isinstance(node, cst.Call) and _last(node.func) == "range" and len(node.args) == 1:
        value = node.args[0].value
        return isinstance(value, cst.Integer) and int(value.value.replace("_", ""), 0) <= 10
    return False


def _ast_literal_collection(node: ast.expr | None) -> bool:
    """A tuple, list or set display of constants (``ROLES = ("admin", "annotator")``)."""
    if not isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return False
    return all(
        isinstance(e, ast.Constant) or (isinstance(e, (ast.Name, ast.Attribute)) and _ast_upper(e))
        for e in node.elts
    )


def _ast_upper(node: ast.expr) -> bool:
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    return len(name) > 1 and name.isupper()


def _is_constant(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.SimpleString, cst.Integer, cst.Float, cst.ConcatenatedString)) or (
        isinstance(node, cst.Name) and node.value in ("True", "False", "None")
    )


def _block_exit(block: cst.BaseSuite) -> str | None:
    """``"break"`` or ``"exit"`` when the block ends by leaving the loop (and has no
    ``continue`` that would run it again), else ``None``."""
    if isinstance(block, cst.IndentedBlock):
        if not block.body:
            return None
        last = block.body[-1]
        if not isinstance(last, cst.SimpleStatementLine) or not last.body:
            return None
        small: cst.CSTNode = last.body[-1]
    elif isinstance(block, cst.SimpleStatementSuite):
        if not block.body:
            return None
        small = block.body[-1]
    else:
        return None
    if isinstance(small, cst.Break):
        kind = "break"
    elif isinstance(small, (cst.Return, cst.Raise)):
        kind = "exit"
    else:
        return None
    return None if _has_continue(block) else kind


def _has_continue(node: cst.CSTNode) -> bool:
    stack = list(_children(node))
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Continue):
            return True
        if isinstance(current, (cst.For, cst.While, cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        stack.extend(_children(current))
    return False


def _attribute_assignments(body: cst.CSTNode, name: str) -> set[str]:
    """Attributes assigned on ``name`` in a loop body (``p.category = cache[...]``)."""
    found: set[str] = set()
    stack = [body]
    while stack:
        current = stack.pop()
        targets: list[cst.BaseExpression] = []
        if isinstance(current, cst.Assign):
            targets = [t.target for t in current.targets]
        elif isinstance(current, (cst.AnnAssign, cst.AugAssign)):
            targets = [current.target]
        for target in targets:
            if (
                isinstance(target, cst.Attribute)
                and isinstance(target.value, cst.Name)
                and target.value.value == name
            ):
                found.add(target.attr.value)
        if isinstance(current, cst.Call) and _last(current.func) == "setattr" and current.args:
            first = current.args[0].value
            if isinstance(first, cst.Name) and first.value == name:
                found.add("*")
        stack.extend(_children(current))
    return found


def _memo_guard(node: cst.If, scope: Scope) -> str | None:
    """``"body"`` (or ``"orelse"``) when ``node`` is a memoization guard and that branch
    stores into the cache: ``if key not in cache: cache[key] = ...`` (or ``setdefault``),
    ``if cache.get(key) is None:`` / ``if not cache.get(key):`` (also through a variable
    assigned ``cache.get(key)``), or ``if key in cache: ... else: cache[key] = ...``."""
    test = node.test
    containers: list[cst.BaseExpression] = []
    branch = "body"
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        operator = test.comparisons[0].operator
        comparator = test.comparisons[0].comparator
        if isinstance(operator, cst.NotIn):
            containers = [comparator]
        elif isinstance(operator, cst.In) and isinstance(node.orelse, cst.Else):
            containers, branch = [comparator], "orelse"
        elif (
            isinstance(operator, cst.Is)
            and isinstance(comparator, cst.Name)
            and comparator.value == "None"
        ):
            containers = _get_receivers(test.left, scope)
    elif isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        containers = _get_receivers(test.expression, scope)
    names = {n for n in (dotted_name(c) for c in containers) if n is not None}
    part = node.body if branch == "body" else node.orelse
    stack: list[cst.CSTNode] = [part] if names and part is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Assign):
            for target in current.targets:
                if (
                    isinstance(target.target, cst.Subscript)
                    and dotted_name(target.target.value) in names
                ):
                    return branch
        elif (
            isinstance(current, cst.Call)
            and isinstance(current.func, cst.Attribute)
            and current.func.attr.value == "setdefault"
            and dotted_name(current.func.value) in names
        ):
            return branch
        stack.extend(_children(current))
    return None


def _memo_handlers(node: cst.Try) -> set[int]:
    """The ``except KeyError:`` handlers of ``node`` that store into a mapping its body
    reads (``try: obj = cache[key] except KeyError: cache[key] = ...``)."""
    read: set[str] = set()
    stack: list[cst.CSTNode] = [node.body]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Subscript):
            name = dotted_name(current.value)
            if name is not None:
                read.add(name)
        stack.extend(_children(current))
    found: set[int] = set()
    if not read:
        return found
    for handler in node.handlers:
        caught = handler.type
        kinds = [e.value for e in caught.elements] if isinstance(caught, cst.Tuple) else [caught]
        if not any(dotted_name(k) in ("KeyError", "LookupError") for k in kinds if k is not None):
            continue
        stack = [handler.body]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Assign) and any(
                isinstance(t.target, cst.Subscript) and dotted_name(t.target.value) in read
                for t in current.targets
            ):
                found.add(id(handler))
                break
            stack.extend(_children(current))
    return found


def _get_receivers(node: cst.BaseExpression, scope: Scope) -> list[cst.BaseExpression]:
    """``cache`` of ``cache.get(key)``, or of each ``.get()`` a local variable is assigned."""
    if isinstance(node, cst.Name):
        return [
            found
            for record in scope.records.get(node.value, ())
            if record.value is not None and not isinstance(record.value, cst.Name)
            for found in _get_receivers(record.value, scope)
        ]
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "get"
    ):
        return [node.func.value]
    return []


def _names_in(node: cst.CSTNode) -> set[str]:
    """The names an expression reads (not those of nested lambdas and comprehensions'
    own targets, which it cannot tell apart: a superset is enough for its callers)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            found.add(current.value)
        elif isinstance(current, cst.Attribute):
            stack.append(current.value)  # ``a.b`` reads ``a``, not a name ``b``
            continue
        else:
            stack.extend(_children(current))
    return found


def _loop_local(name: str, targets: set[str], loops: set[int], scope: Scope) -> bool:
    """Whether ``name`` is a target of the given loops or assigned only inside them."""
    if name in targets:
        return True
    records = scope.records.get(name, ())
    return bool(records) and all(r.loops & loops for r in records)


def _rebinds(body: cst.CSTNode, name: str) -> bool:
    stack = [body]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Assign):
            if any(name in _target_names(t.target) for t in current.targets):
                return True
        elif isinstance(current, (cst.AugAssign, cst.AnnAssign)):
            if name in _target_names(current.target):
                return True
        elif isinstance(current, cst.For) and name in _target_names(current.target):
            return True
        elif isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        stack.extend(_children(current))
    return False


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
    manager: Manager, returns: list[Any], base: Coverage, depth: int = 0
) -> tuple[Coverage, str] | None:
    """What a custom manager/queryset method's result loads: ``(coverage, rows)``.

    ``None`` when a return value is not a queryset built from ``self`` (or
    ``super().get_queryset()``) with known queryset methods.
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
            name = payload
            if name == "get_queryset" or name in KEEP_METHODS:
                pass
            elif name in LOADING or name == "iterator":
                coverage = apply(coverage, _encoded_step(name, args, kwargs))
            elif name in ("values", "values_list"):
                rows = "values"
            elif name in manager.methods:
                inner = summary_coverage(
                    manager, manager.methods[name].returns, coverage, depth + 1
                )
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


# -- the analysis ----------------------------------------------------------------------------------

_UNKNOWN: Any = object()


def analysis_for(ctx: FileContext, module: cst.Module) -> Analysis:
    """The shared analysis of one parsed chunk (computed once for all ORM rules)."""
    # Only the current chunk's: an older one would keep its tree alive.
    found: Analysis | None = ctx.__dict__.get("_djguide_orm")
    if found is None or found.module is not module:
        found = Analysis(ctx, module)
        ctx.__dict__["_djguide_orm"] = found
    return found


class Analysis:
    """Walks one chunk and records the ORM findings of every code."""

    def __init__(self, ctx: FileContext, module: cst.Module) -> None:
        self.ctx = ctx
        self.module = module
        self._file_index: FileIndex | None = None
        self.findings: list[Finding] = []
        self.frames: list[Frame] = []
        self.functions: list[cst.FunctionDef] = []  # the enclosing function definitions
        self._reported: set[tuple[str, int]] = set()
        # Keyed by the Frame itself (identity-hashed), not id(frame): a finished loop's
        # frame is freed and its id reused by a later loop, which would hide its findings.
        self._seen_paths: set[tuple[Frame | None, Path]] = set()
        scope = Scope(self, module.body, None, kind="module")
        for statement in module.body:
            self._visit(statement, scope)

    @property
    def file_index(self) -> FileIndex:
        """The model index as seen from this file, built (or loaded) on first use only:
        most loops never look a model up, and an editor checking one file then never
        scans the project."""
        if self._file_index is None:
            self._file_index = get_index(self.ctx)
        return self._file_index

    def _may_name_a_class(self, name: str) -> bool:
        """Whether the index could resolve the module-level ``name`` to a class: it is
        imported (at module or class level) or bound at the top of the file, or the file
        has a star import."""
        names: frozenset[str] | None = self.ctx.__dict__.get("_djguide_bound", _UNKNOWN)
        if names is _UNKNOWN:
            from flake8_djguide.index.extract import import_map

            tree = getattr(self.ctx, "tree", None)
            names = None
            if isinstance(tree, ast.Module):
                imports, stars = import_map(tree)
                if not stars:
                    names = frozenset(imports) | frozenset(self.ctx.info.top_level_names)
            self.ctx.__dict__["_djguide_bound"] = names
        return names is None or name in names

    @property
    def index(self) -> Index:
        """The project's model index (see :attr:`file_index`)."""
        return self.file_index.index

    # -- reporting ---------------------------------------------------------------------------

    def report(self, code: str, node: cst.CSTNode, message: str) -> None:
        """Record one finding (once per code and node)."""
        key = (code, id(node))
        if key in self._reported:
            return
        self._reported.add(key)
        self.findings.append(Finding(code, node, message))

    def findings_for(self, code: str) -> list[Finding]:
        """The findings of one rule."""
        return [f for f in self.findings if f.code == code]

    def in_loop(self) -> bool:
        """Whether the code being walked runs once per iteration of some loop."""
        return any(not f.bounded and not f.suspended for f in self.frames)

    def _loop_targets(self) -> set[str]:
        names: set[str] = set()
        for frame in self.frames:
            names |= frame.targets
        return names

    # -- the walk ------------------------------------------------------------------------------

    def _visit(self, node: cst.CSTNode, scope: Scope) -> None:
        # One look-up by exact type (libcst's node classes are final) instead of
        # a row of ``isinstance`` checks, each a Python-level ABC check.
        kind = _visit_kinds().get(type(node))
        if kind is None:
            for child in _children(node):
                self._visit(child, scope)
            return
        if kind == "function":
            self._function(node, scope.cls if scope.kind == "class" else None)  # type: ignore[arg-type]
        elif kind == "class":
            self._class(node)  # type: ignore[arg-type]
        elif kind == "for":
            self._for(node, scope)  # type: ignore[arg-type]
        elif kind == "while":
            assert isinstance(node, cst.While)
            self._visit(node.test, scope)
            frame = Frame(node, condition=frozenset(_names_in(node.test)))
            self.frames.append(frame)
            self._visit(node.body, scope)
            self.frames.pop()
            if node.orelse is not None:
                self._visit(node.orelse, scope)
        elif kind == "comprehension":
            self._comprehension(node, scope)
        elif kind == "if":
            self._if(node, scope)  # type: ignore[arg-type]
        elif kind == "try":
            self._try(node, scope)  # type: ignore[arg-type]
        elif kind == "block":
            self._block(node, scope)  # type: ignore[arg-type]
        elif kind == "assign":
            self._assign(node, scope)
        elif kind == "evaluate":
            self.evaluate(node, scope, quiet=False)
        # "lambda": not entered

    def _function(self, node: cst.FunctionDef, cls: ClassInfo | None) -> None:
        params = node.params
        names = [
            p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)
        ]
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                names.append(star.name.value)
        saved = self.frames
        self.frames = []
        self.functions.append(node)
        scope = Scope(self, [node.body], cls, names)
        decorators = {dotted_name(d.decorator) for d in node.decorators}
        if cls is not None and names and "staticmethod" not in decorators:
            scope.self_name = names[0] if "classmethod" not in decorators else None  # type: ignore[attr-defined]
        self._visit(node.body, scope)
        self.functions.pop()
        self.frames = saved

    def _class(self, node: cst.ClassDef) -> None:
        info = ClassInfo(node, self)
        scope = Scope(self, [node.body], info, kind="class")
        saved = self.frames
        self.frames = []
        for statement in node.body.body:
            self._visit(statement, scope)
        self.frames = saved
        self._check_view(info, scope)
        check_view(self, info)

    def _block(self, node: cst.BaseSuite, scope: Scope) -> None:
        leaving = _block_exit(node) if self.frames else None
        touched: list[Frame] = []
        if leaving == "break":
            touched = [self.frames[-1]]
        elif leaving == "exit":
            touched = list(self.frames)
        for frame in touched:
            frame.suspended += 1
        for child in _children(node):
            self._visit(child, scope)
        for frame in touched:
            frame.suspended -= 1

    def _if(self, node: cst.If, scope: Scope) -> None:
        if not self.frames:
            for child in _children(node):
                self._visit(child, scope)
            return
        # ``while True: ... if not Model.objects.filter(slug=slug).exists(): return slug``:
        # the query decides whether the ``while`` loop goes on (once per attempt, the
        # unique-slug loop); an enclosing loop still counts
        inner = self.frames[-1]
        exit_test = isinstance(inner.node, cst.While) and _block_exit(node.body) is not None
        inner.suspended += exit_test
        self._visit(node.test, scope)
        inner.suspended -= exit_test
        guarded = _memo_guard(node, scope)
        for branch, part in (("body", node.body), ("orelse", node.orelse)):
            if part is None:
                continue
            # a memoized look-up runs once per distinct key, not once per iteration
            touched = list(self.frames) if branch == guarded else []
            for frame in touched:
                frame.suspended += 1
            self._visit(part, scope)
            for frame in touched:
                frame.suspended -= 1

    def _try(self, node: cst.Try, scope: Scope) -> None:
        # ``try: obj = cache[key] except KeyError: obj = cache[key] = <query>``: a
        # memoized look-up, once per distinct key
        guarded = _memo_handlers(node) if self.frames else set()
        self._visit(node.body, scope)
        for handler in node.handlers:
            touched = list(self.frames) if id(handler) in guarded else []
            for frame in touched:
                frame.suspended += 1
            self._visit(handler, scope)
            for frame in touched:
                frame.suspended -= 1
        if node.orelse is not None:
            self._visit(node.orelse, scope)
        if node.finalbody is not None:
            self._visit(node.finalbody, scope)

    def _assign(self, node: cst.CSTNode, scope: Scope) -> None:
        value = getattr(node, "value", None)
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            targets = [node.target]
        if value is not None:
            # ``while taken: ... taken = Model.objects.filter(slug=slug).exists()``: the
            # body recomputes its own condition (once per attempt, the unique-slug loop)
            inner = self.frames[-1] if self.frames else None
            recomputes = (
                inner is not None
                and bool(inner.condition)
                and any(n in inner.condition for t in targets for n in _target_names(t))
            )
            if recomputes:
                assert inner is not None
                inner.suspended += 1
            self._visit(value, scope)
            if recomputes:
                assert inner is not None
                inner.suspended -= 1
        for target in targets:
            self._target(target, scope)

    def _target(self, target: cst.BaseExpression, scope: Scope) -> None:
        if isinstance(target, cst.Attribute):
            self._visit(target.value, scope)  # p.category.name = x reads p.category
        elif isinstance(target, cst.Subscript):
            self._visit(target.value, scope)
            for subscript in target.slice:
                self._visit(subscript, scope)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(element.value, scope)
        elif isinstance(target, cst.StarredElement):
            self._target(target.value, scope)

    # -- loops -----------------------------------------------------------------------------------

    def _bounded(self, node: cst.BaseExpression, scope: Scope) -> bool:
        if _is_literal_collection(node):
            return True
        if isinstance(node, cst.Name):
            records = scope.records.get(node.value)
            if records and node.value not in scope.opaque:
                # a list filled with ``append()``/``extend()`` is bounded only by literals
                fills = scope.fills.get(node.value, ())
                return all(
                    r.value is not None and _is_literal_collection(r.value) for r in records
                ) and all(
                    r.value is not None
                    and (
                        _is_constant(r.value)
                        if r.kind == "append"
                        else _is_literal_collection(r.value)
                    )
                    for r in fills
                )
        if _is_constant_name(node):
            return self._literal_constant(node, scope)
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("items", "keys", "values")
            and isinstance(node.func.value, cst.Name)
        ):
            return self._bounded(node.func.value, scope)
        return False

    def _literal_constant(self, node: cst.BaseExpression, scope: Scope) -> bool:
        """An UPPER_CASE constant holding a literal collection: a class attribute read
        through ``self``/``cls`` (``ROLES = ("admin", "annotator")`` in the class body) or a
        module-level name assigned once (read from the whole file's ``ast`` tree)."""
        if isinstance(node, cst.Attribute):
            owner = node.value
            if scope.cls is None or not isinstance(owner, cst.Name):
                return False
            if owner.value not in ("self", "cls", scope.cls.node.name.value):
                return False
            value = scope.cls.attrs.get(node.attr.value)
            return value is not None and _is_literal_collection(value)
        if not isinstance(node, cst.Name) or node.value in scope.records:
            return False
        tree = self.ctx.tree
        if not isinstance(tree, ast.Module):
            return False
        values = [
            statement.value
            for statement in tree.body
            if isinstance(statement, (ast.Assign, ast.AnnAssign))
            and any(
                isinstance(t, ast.Name) and t.id == node.value
                for t in (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
            )
        ]
        return len(values) == 1 and _ast_literal_collection(values[0])

    def _for(self, node: cst.For, scope: Scope) -> None:
        value = self.evaluate(node.iter, scope, quiet=False)
        self._iteration(node.iter, value)
        frame = Frame(
            node,
            targets=set(_target_names(node.target)),
            bounded=self._bounded(node.iter, scope),
            chunked=isinstance(node.iter, cst.Call)
            and isinstance(node.iter.func, cst.Name)
            and node.iter.func.value == "range"
            and len(node.iter.args) == 3,
        )
        self._bind(frame, node.target, node.iter, value, [node.body], scope)
        self._visit(node.target, scope) if not isinstance(
            node.target, (cst.Name, cst.Tuple, cst.List)
        ) else None
        self.frames.append(frame)
        self._visit(node.body, scope)
        self.frames.pop()
        if node.orelse is not None:
            self._visit(node.orelse, scope)

    def _bind(
        self,
        frame: Frame,
        target: cst.BaseExpression,
        iterable: cst.BaseExpression,
        value: Value,
        body: Sequence[cst.CSTNode],
        scope: Scope,
    ) -> None:
        if (
            isinstance(iterable, cst.Call)
            and _last(iterable.func) == "enumerate"
            and iterable.args
            and isinstance(target, cst.Tuple)
            and len(target.elements) == 2
        ):
            value = self.evaluate(iterable.args[0].value, scope, quiet=True)
            target = target.elements[1].value
        if (
            not isinstance(value, QS)
            or value.rows != "instances"
            or value.empty
            or not isinstance(target, cst.Name)
        ):
            return
        name = target.value
        if any(_rebinds(part, name) for part in body):
            return
        frame.bindings[name] = Item(
            value.model,
            value.cov,
            value.text if value.prefix else code_of(iterable),
            value.prefix,
            value.through_many,
            value.bare_ok,
            frame,
            "new" if value.new_rows else "loop",
        )
        for part in body:
            frame.assigned_attrs |= _attribute_assignments(part, name)

    def _iteration(self, node: cst.CSTNode, value: Value) -> None:
        """A queryset iterated inside a loop: a query per iteration when it is new."""
        if (
            isinstance(value, QS)
            and self._fresh(value)
            and not value.is_list
            and not value.from_item
            and self.in_loop()
            and not value.sliced
            and not value.batched
            and not value.empty
        ):
            self.report(
                "DJG202",
                node,
                f"`{code_of(node)}` runs a query on every iteration of the enclosing loop; "
                "fetch the rows once before the loop (`filter(<field>__in=...)`) and group "
                "them in a dict",
            )

    def _fresh(self, qs: QS) -> bool:
        if qs.loops:
            active = {id(f.node) for f in self.frames}
            if qs.loops & active:
                return True
        return qs.fresh

    def _comprehension(self, node: cst.CSTNode, scope: Scope) -> None:
        for_in: cst.CompFor = node.for_in  # type: ignore[attr-defined]
        pushed = 0
        first = True
        while for_in is not None:
            if first:
                value = self.evaluate(for_in.iter, scope, quiet=False)
                self._iteration(for_in.iter, value)
                first = False
            else:
                value = self.evaluate(for_in.iter, scope, quiet=False)
                self._iteration(for_in.iter, value)
            frame = Frame(
                node,
                targets=set(_target_names(for_in.target)),
                bounded=self._bounded(for_in.iter, scope),
            )
            parts: list[cst.CSTNode] = [*for_in.ifs]
            if isinstance(node, cst.DictComp):
                parts += [node.key, node.value]
            else:
                parts.append(node.elt)  # type: ignore[attr-defined]
            self._bind(frame, for_in.target, for_in.iter, value, parts, scope)
            self.frames.append(frame)
            pushed += 1
            for condition in for_in.ifs:
                self._visit(condition, scope)
            for_in = for_in.inner_for_in  # type: ignore[assignment]
        if isinstance(node, cst.DictComp):
            self._visit(node.key, scope)
            self._visit(node.value, scope)
        else:
            self._visit(node.elt, scope)
        for _ in range(pushed):
            self.frames.pop()

    # -- evaluation --------------------------------------------------------------------------------

    def evaluate(self, node: cst.CSTNode, scope: Scope, quiet: bool) -> Value:
        """The value of an expression; unless ``quiet``, also report and visit its parts."""
        if isinstance(node, cst.Name):
            return self._name(node.value, scope, None)
        if isinstance(node, cst.Call) and not isinstance(node.func, cst.Attribute):
            if not quiet:
                self._sql_sink(node, scope)
                for arg in node.args:
                    self._visit(arg.value, scope)
                check_render(self, node, scope)
            return self._root_call(node, scope, quiet)
        if not _is_chain(node):
            if not quiet:
                for child in _children(node):
                    self._visit(child, scope)
            return None
        root, links = _chain(node)
        value: Value
        start = 0
        if isinstance(root, cst.Name):
            value, start = self._class_path(root.value, scope, links)
        elif isinstance(root, cst.Call):
            value = self.evaluate(root, scope, quiet)
        else:
            if not quiet:
                self._visit(root, scope)
            value = None
        index = start
        while index < len(links):
            kind, payload, link_node = links[index]
            if kind == "call":
                if not quiet:
                    self._sql_sink(payload, scope)
                    for arg in payload.args:
                        self._visit(arg.value, scope)
                value = None
                index += 1
                continue
            if kind == "sub":
                if not quiet:
                    for element in payload.slice:
                        self._visit(element, scope)
                value = self._subscript(value, payload, quiet)
                index += 1
                continue
            call = None
            if index + 1 < len(links) and links[index + 1][0] == "call":
                call = links[index + 1][1]
                if not quiet:
                    self._sql_sink(call, scope)
                    for arg in call.args:
                        self._visit(arg.value, scope)
            if (
                value is None
                and call is not None
                and not quiet
                and payload in LINK_WRITES
                and index >= 1
                and links[index - 1][0] == "attr"
                and self.in_loop()
            ):
                self._untyped_link_write(links[index - 1][2], payload, call, scope)
            value = self._attr(value, payload, link_node, call, links, index, scope, quiet)
            index += 2 if call is not None else 1
        return value

    def _name(self, name: str, scope: Scope, links: list[Any] | None) -> Value:
        for frame in reversed(self.frames):
            if name in frame.bindings:
                return frame.bindings[name]
            if name in frame.targets:
                return None
        if scope.cls is not None and getattr(scope, "self_name", None) == name:
            return SelfRef(scope.cls)
        if name in scope.records or name in scope.opaque:
            return scope.value_of(name)
        if not self._may_name_a_class(name):
            # Not imported nor defined in the file: the index could only resolve it to
            # ``<this module>.<name>``, which is no class (the same answer, without it).
            if name[:1].isupper() and links and links[0][0] == "attr":
                return ModelClass(None, name) if links[0][1] in MANAGER_ATTRS else None
            return None
        model = self.index.model_named(self.file_index.module, name)
        if model is not None:
            return ModelClass(model, name)
        if (
            name[:1].isupper()
            and links
            and links[0][0] == "attr"
            and links[0][1] in MANAGER_ATTRS
            and self.index.kind(self.index.resolve(self.file_index.module, name)) is None
        ):
            return ModelClass(None, name)
        return None

    def _class_path(self, name: str, scope: Scope, links: list[Any]) -> tuple[Value, int]:
        """The value of a chain's root ``name`` with the attributes that still name a class,
        and how many links they take: ``models.Note`` and ``app.models.Note`` (a model
        through an imported module), ``Product.tags.through`` (a many-to-many through
        model)."""
        value = self._name(name, scope, links)
        start = 0
        if value is None and links and links[0][0] == "attr" and self._global(name, scope):
            parts = [name]
            for position, (kind, payload, _) in enumerate(links[:4]):
                if kind != "attr":
                    break
                dotted = ".".join(parts)
                if payload in MANAGER_ATTRS:
                    # ``models.Note.objects`` with ``Note`` not in the index: a model by its
                    # shape, as ``Note.objects`` is
                    if position and parts[-1][:1].isupper():
                        module = self.file_index.module
                        if self.index.kind(self.index.resolve(module, dotted)) is None:
                            value, start = ModelClass(None, dotted), position
                    break
                parts.append(payload)
                if payload[:1].isupper():
                    dotted = ".".join(parts)
                    model = self.index.model_named(self.file_index.module, dotted)
                    if model is not None:
                        value, start = ModelClass(model, dotted), position + 1
                        break
        if (
            isinstance(value, ModelClass)
            and value.model is not None
            and len(links) > start + 1
            and links[start][0] == "attr"
            and links[start + 1][0] == "attr"
            and links[start + 1][1] == "through"
        ):
            relation = value.model.relation(links[start][1])
            through = self.index.models.get(relation.through or "") if relation else None
            if through is not None:
                text = f"{value.name}.{links[start][1]}.through"
                value, start = ModelClass(through, text), start + 2
        return value, start

    def _global(self, name: str, scope: Scope) -> bool:
        """Whether ``name`` is a module-level name here (not bound in the function)."""
        if any(name in frame.bindings or name in frame.targets for frame in self.frames):
            return False
        if name in scope.records or name in scope.opaque:
            return False
        return self._may_name_a_class(name)

    def _root_call(self, call: cst.Call, scope: Scope, quiet: bool) -> Value:
        func = call.func
        name = func.value if isinstance(func, cst.Name) else _last(func)
        args = [a for a in call.args if a.keyword is None and not a.star]
        if name in _LIST_CALLS and args:
            inner = self.evaluate(args[0].value, scope, quiet=True)
            if isinstance(inner, QS):
                if not quiet:
                    self._iteration(call, inner)
                return replace(inner, is_list=True, fresh=False)
            return None
        if name == "super" and scope.cls is not None:
            return SuperRef(scope.cls)
        if name in ("get_object_or_404", "get_list_or_404") and args:
            base = self.evaluate(args[0].value, scope, quiet=True)
            qs = self._as_queryset(base, code_of(args[0].value))
            if qs is None:
                return None
            if name == "get_object_or_404":
                return Item(qs.model, qs.cov, qs.text, origin="get")
            return replace(qs, is_list=True, fresh=False)
        if isinstance(func, cst.Name):
            value = self._name(name, scope, None)
            if isinstance(value, ModelClass) and value.model is not None:
                return Item(value.model, EMPTY, code_of(call), origin="new")
        return None

    def _as_queryset(self, value: Value, text: str) -> QS | None:
        if isinstance(value, QS):
            return value
        if isinstance(value, ModelClass):
            manager = value.model.managers.get("objects") if value.model else None
            return QS(value.model, manager_base(manager), text, manager=manager)
        return None

    def _subscript(self, value: Value, node: cst.Subscript, quiet: bool) -> Value:
        if not isinstance(value, QS) or len(node.slice) != 1:
            return None
        element = node.slice[0].slice
        if isinstance(element, cst.Slice):
            return replace(value, sliced=True)
        if value.is_list:
            return Item(
                value.model,
                value.cov,
                value.text,
                value.prefix,
                value.through_many,
                value.bare_ok,
                origin="get",
            )
        if not quiet:
            self._query(node, "index", value)
        return Item(
            value.model,
            value.cov,
            value.text,
            value.prefix,
            value.through_many,
            value.bare_ok,
            origin="get",
        )

    def _attr(
        self,
        value: Value,
        name: str,
        node: cst.CSTNode,
        call: cst.Call | None,
        links: list[Any],
        index: int,
        scope: Scope,
        quiet: bool,
    ) -> Value:
        if isinstance(value, ModelClass):
            return self._manager(value, name, node, call, scope, quiet)
        if isinstance(value, QS):
            if call is None:
                return None
            return self._method(value, name, call, scope, quiet)
        if isinstance(value, Item):
            result = self._item_attr(value, name, node, call, links, index, scope, quiet)
            if call is not None and isinstance(result, RelManager):
                return None
            return result
        if isinstance(value, RelManager):
            if call is None:
                # ``write.votes.through``: the many-to-many's through model
                through = value.relation.through if value.relation else None
                found = self.index.models.get(through) if through and name == "through" else None
                return ModelClass(found, found.name) if found is not None else None
            return self._related(value, name, call, scope, quiet)
        if isinstance(value, SelfRef):
            return self._self_attr(value.cls, name, call, scope)
        if isinstance(value, SuperRef):
            if name == "get_queryset" and call is not None:
                return self.class_queryset(value.cls)
            return None
        return None

    def _manager(
        self,
        value: ModelClass,
        name: str,
        node: cst.CSTNode,
        call: cst.Call | None,
        scope: Scope,
        quiet: bool,
    ) -> Value:
        model = value.model
        manager: Manager | None = None
        if model is not None and name in model.managers:
            manager = model.managers[name]
        elif name not in MANAGER_ATTRS:
            return None
        if call is not None:
            return None  # ``Model.objects(...)`` is not a queryset
        return QS(model, manager_base(manager), code_of(node), manager=manager)

    def _step(self, name: str, call: cst.Call, scope: Scope) -> Step:
        step = Step(name)
        strings: list[str] | None = []
        for arg in call.args:
            if arg.star:
                strings = None
                continue
            if arg.keyword is not None:
                step.keywords[arg.keyword.value] = arg.value
                continue
            step.has_args = True
            text = string_value(arg.value)
            if text is not None:
                if strings is not None:
                    strings.append(text)
                continue
            if isinstance(arg.value, cst.Name) and arg.value.value == "None":
                step.none_arg = True
                continue
            if (
                name == "prefetch_related"
                and isinstance(arg.value, cst.Call)
                and _last(arg.value.func) == "Prefetch"
            ):
                step.prefetches.append(self._prefetch(arg.value, scope))
                continue
            strings = None
        step.strings = strings
        return step

    def _prefetch(self, call: cst.Call, scope: Scope) -> PrefetchSpec:
        lookup: str | None = None
        queryset: cst.BaseExpression | None = None
        to_attr: str | None = None
        known = True
        positional = 0
        for arg in call.args:
            if arg.star:
                known = False
            elif arg.keyword is None:
                if positional == 0:
                    lookup = string_value(arg.value)
                elif positional == 1:
                    queryset = arg.value
                elif positional == 2:
                    to_attr = string_value(arg.value)
                    known = known and to_attr is not None
                positional += 1
            elif arg.keyword.value == "lookup":
                lookup = string_value(arg.value)
            elif arg.keyword.value == "queryset":
                queryset = arg.value
            elif arg.keyword.value == "to_attr":
                to_attr = string_value(arg.value)
                known = known and to_attr is not None
        if lookup is None:
            return PrefetchSpec((), None, None, False)
        inner: Coverage | None = None
        if queryset is not None and not (
            isinstance(queryset, cst.Name) and queryset.value == "None"
        ):
            value = self.evaluate(queryset, scope, quiet=True)
            qs = self._as_queryset(value, "")
            if qs is None:
                known = False
            else:
                inner = qs.cov
        return PrefetchSpec(split(lookup), to_attr, inner, known)

    def _method(self, qs: QS, name: str, call: cst.Call, scope: Scope, quiet: bool) -> Value:
        if name in KEEP_METHODS or name in LOADING:
            step = self._step(name, call, scope)
            if name in _RELATED_LOADING and qs.model is not None and qs.rows == "instances":
                # a path that is not a relation chain of the model loads nothing (DJG207)
                step = checked_step(self, qs.model, name, call, step, quiet)
            result = replace(qs, cov=apply(qs.cov, step), fresh=True, is_list=False)
            if name in ("filter", "exclude", "get") and self._batched(call, scope, name):
                result = replace(result, batched=True)
            elif name == "none":
                result = replace(result, empty=True)
            elif name == "annotate":
                added = {arg.keyword.value for arg in call.args if arg.keyword is not None}
                result = replace(result, annotations=qs.annotations | added)
            return result
        if name in ("values", "values_list"):
            return replace(qs, rows="values", fresh=True, is_list=False)
        if name == "iterator":
            return replace(qs, cov=apply(qs.cov, self._step(name, call, scope)))
        if name == "raw":
            return QS(qs.model, EMPTY, code_of(call), manager=qs.manager)
        if name in EVALUATING or name in INSTANCE_METHODS:
            if not quiet:
                batched = qs.batched or (name == "get" and self._batched(call, scope, name))
                if not batched:
                    self._query(call, name, qs)
            if name in INSTANCE_METHODS or name == "create":
                return Item(
                    qs.model,
                    qs.cov,
                    qs.text,
                    qs.prefix,
                    qs.through_many,
                    qs.bare_ok,
                    origin="new" if name == "create" else "get",
                )
            return None
        if qs.manager is not None and name in qs.manager.methods:
            found = summary_coverage(qs.manager, qs.manager.methods[name].returns, qs.cov)
            if found is None:
                return None
            coverage, rows = found
            return replace(
                qs, cov=coverage, rows=rows if qs.rows == "instances" else qs.rows, fresh=True
            )
        return None

    def _batched(self, call: cst.Call, scope: Scope, method: str) -> bool:
        """One query per batch, on purpose: ``filter(pk__in=chunk)`` with a loop variable
        (or a variable assigned in the loop), ``filter(pk__in=ids[start:start + size])``
        with a slice that moves with the loop, or, in a chunked loop
        (``for start in range(0, n, size)``), a filter that reads that loop's variables
        (``filter(pk__gte=start, pk__lt=start + size)``)."""
        targets = self._loop_targets()
        active = {id(f.node) for f in self.frames}
        inner = self.frames[-1] if self.frames else None
        # only directly in the chunked loop: a loop inside it runs once per row again
        chunked = {id(inner.node): inner} if inner is not None and inner.chunked else {}
        for arg in call.args:
            value = arg.value
            if arg.keyword is not None and arg.keyword.value.endswith("__in"):
                if isinstance(value, cst.Name):
                    if _loop_local(value.value, targets, active, scope):
                        return True
                elif isinstance(value, cst.Subscript):
                    bounds = [s.slice for s in value.slice if isinstance(s.slice, cst.Slice)]
                    if any(
                        _loop_local(name, targets, active, scope)
                        for bound in bounds
                        for name in _names_in(bound)
                    ):
                        return True
            if chunked and method != "get":
                chunk_targets: set[str] = set()
                for frame in chunked.values():
                    chunk_targets |= frame.targets
                if any(
                    _loop_local(name, chunk_targets, set(chunked), scope)
                    for name in _names_in(value)
                ):
                    return True
        return False

    # -- instances and relations --------------------------------------------------------------------

    def _live(self, item: Item) -> bool:
        frame = item.frame
        return (
            frame is not None
            and any(f is frame for f in self.frames)
            and not frame.suspended
            and not item.reported
        )

    def _item_attr(
        self,
        item: Item,
        name: str,
        node: cst.CSTNode,
        call: cst.Call | None,
        links: list[Any],
        index: int,
        scope: Scope,
        quiet: bool,
    ) -> Value:
        if name in ("save", "delete") and call is not None:
            if not quiet:
                self._write(call, name, item)
            return None
        if name.endswith("_id") or name == "pk":
            return None
        model = item.model
        relation = model.relation(name) if model is not None else None
        path = (*item.prefix, name)
        alias = item.cov.alias(path)
        if alias is not None and model is not None:
            target_relation = model.relation(alias[-1])
            target = (
                self.index.models.get(target_relation.target)
                if target_relation and target_relation.target
                else None
            )
            return QS(
                target,
                item.cov,
                item.text,
                path,
                True,
                False,
                fresh=False,
                is_list=True,
                from_item=True,
            )
        if relation is None:
            if model is not None and name in model.fields:
                if not quiet and call is None and self._live(item) and not item.prefix:
                    self._deferred(item, name, node)
                return None
            if model is not None and model.complete:
                return None
            following = links[index + 1] if index + 1 < len(links) else None
            if call is None and (
                name.endswith("_set")
                or (
                    following is not None
                    and following[0] == "attr"
                    and following[1] in MANAGER_SHAPES
                    and index + 2 < len(links)
                    and links[index + 2][0] == "call"
                    and following[1] not in ("get", "first", "last")
                )
            ):
                return RelManager(item, name, None, node)
            return None
        if relation.many:
            return RelManager(item, name, relation, node)
        if call is not None:
            return None
        target = self.index.models.get(relation.target) if relation.target else None
        covered = self._covered(item, path, relation)
        if not quiet and not covered and self._live(item) and name not in self._assigned(item):
            self._n_plus_one(item, name, node, relation)
            item = replace(item, reported=True)
        return Item(
            target,
            item.cov,
            item.text,
            path,
            item.through_many or relation.kind == "gfk",
            item.bare_ok and relation.forward_single and not relation.null,
            item.frame,
            item.origin,
            item.reported,
        )

    def _assigned(self, item: Item) -> set[str]:
        if item.frame is None or item.prefix:
            return set()
        return item.frame.assigned_attrs

    def _covered(self, item: Item, path: Path, relation: Relation | None) -> bool:
        cov = item.cov
        if cov.opaque or "*" in (item.frame.assigned_attrs if item.frame else ()):
            return True
        if cov.loads(path):
            return True
        return bool(
            cov.bare
            and relation is not None
            and relation.forward_single
            and not relation.null
            and item.bare_ok
            and not item.through_many
            and len(path) <= 5
        )

    def _call_for(self, item: Item, path: Path, relation: Relation | None) -> str:
        many = item.through_many or relation is None or not relation.select_ok
        method = "prefetch_related" if many else "select_related"
        return f'{method}("{lookup_text(path)}")'

    def _n_plus_one(
        self, item: Item, name: str, node: cst.CSTNode, relation: Relation | None
    ) -> None:
        path = (*item.prefix, name)
        key = (item.frame, path)
        if key in self._seen_paths:
            return  # the instance caches a loaded relation: only the first access queries
        self._seen_paths.add(key)
        if item.cov.prefetch_dropped and path in item.cov.prefetch:
            remedy = "give `.iterator()` a `chunk_size` (without it, prefetches are not done)"
        else:
            remedy = f"add `.{self._call_for(item, path, relation)}` to that queryset"
        self.report(
            "DJG201",
            node,
            f"`{code_of(node)}` loads relation `{lookup_text(path)}` once per row of "
            f"`{item.text}`; {remedy}",
        )

    def _deferred(self, item: Item, name: str, node: cst.CSTNode) -> None:
        cov = item.cov
        if cov.opaque:
            return
        if cov.only is not None and name not in cov.only and name not in ("id", "pk"):
            remedy = f'add "{name}" to `only(...)`'
        elif name in cov.defer:
            remedy = f'remove "{name}" from `defer(...)`'
        else:
            return
        self.report(
            "DJG201",
            node,
            f"`{code_of(node)}` loads deferred field `{name}` once per row of `{item.text}`; {remedy}",
        )

    def _related(
        self, manager: RelManager, name: str, call: cst.Call, scope: Scope, quiet: bool
    ) -> Value:
        item = manager.item
        relation = manager.relation
        path = (*item.prefix, manager.name)
        target = self.index.models.get(relation.target) if relation and relation.target else None
        live = self._live(item)
        covered = self._covered(item, path, relation)
        served = name in SERVED or (name == "first" and target is not None and target.ordered)
        if item.frame is not None:
            if served:
                if (
                    not quiet
                    and live
                    and not covered
                    and manager.name not in item.frame.assigned_attrs
                ):
                    self._n_plus_one(item, manager.name, manager.node, relation)
                if name == "all":
                    return QS(
                        target,
                        graft(
                            item.cov,
                            path,
                            default_manager_base(self.index, relation.target if relation else None),
                        ),
                        item.text,
                        path,
                        True,
                        False,
                        fresh=False,
                        from_item=True,
                    )
                return None
            if name in REQUERY:
                if not quiet and live and not (relation is None and not covered):
                    self._requery(item, manager, name, call, covered)
                fresh = QS(target, EMPTY, code_of(call), from_item=True)
                if name in INSTANCE_METHODS:
                    return Item(target, EMPTY, code_of(call), origin="get")
                return self._method(fresh, name, call, scope, True)
            if name in WRITES:
                if not quiet and live:
                    self._query(call, name, QS(target, EMPTY, code_of(call)))
                return None
            if name in LINK_WRITES and not quiet and live:
                self._link_write(call, name, item.model, manager.name, relation, True)
            return None
        # a related manager of a single instance: cached only when that instance prefetched it
        if served and covered and name == "all":
            return QS(target, item.cov, item.text, path, True, False, fresh=False)
        fresh = QS(target, EMPTY, code_of(manager.node))
        if name == "all":
            return fresh
        if name in LINK_WRITES:
            if not quiet and self.in_loop():
                root = _root_name(manager.node)
                per_row = root is None or self._assigned_in_loop(root, scope)
                self._link_write(call, name, item.model, manager.name, relation, per_row)
            return None
        if (
            name in KEEP_METHODS
            or name in LOADING
            or name in EVALUATING
            or name in INSTANCE_METHODS
        ):
            if served and covered:
                return None
            return self._method(fresh, name, call, scope, quiet)
        return None

    def _requery(
        self, item: Item, manager: RelManager, name: str, call: cst.Call, covered: bool
    ) -> None:
        relation_path = lookup_text((*item.prefix, manager.name))
        even = " even though it is prefetched" if covered else ""
        self.report(
            "DJG201",
            manager.node,
            f"`{code_of(call)}` runs a query once per row of `{item.text}`{even} "
            f"(`.{name}()` bypasses the prefetch cache); prefetch the rows you need with "
            f'`prefetch_related(Prefetch("{relation_path}", queryset=..., to_attr=...))` and read the list',
        )

    def _write(self, call: cst.Call, name: str, item: Item) -> None:
        if not self.in_loop():
            return
        if item.origin == "new":
            remedy = "build the objects in the loop and save them with one `bulk_create()`"
        elif name == "save":
            remedy = "change the objects in the loop and save them with one `bulk_update()` (or use `update()`)"
        else:
            remedy = "delete them with one `filter(pk__in=...).delete()`"
        self.report(
            "DJG208",
            call,
            f"`{code_of(call)}` runs a query on every iteration of the enclosing loop; {remedy}",
        )

    def _assigned_in_loop(self, name: str, scope: Scope) -> bool:
        """Whether ``name`` is a target of an active loop or assigned in one."""
        active = {id(f.node) for f in self.frames if not f.bounded}
        return _loop_local(name, self._loop_targets(), active, scope)

    def _untyped_link_write(
        self, receiver: cst.CSTNode, method: str, call: cst.Call, scope: Scope
    ) -> None:
        """``post.tags.add(tag)`` where ``post`` is not known to be a model instance (a
        parameter): a related-manager write only when an argument is a model instance
        (or queryset) of a model that some indexed model relates to under that name."""
        if not isinstance(receiver, cst.Attribute) or method == "clear":
            return
        attr = receiver.attr.value
        for arg in call.args:
            if arg.keyword is not None:
                continue
            value = self.evaluate(arg.value, scope, quiet=True)
            target = value.model if isinstance(value, (Item, QS)) else None
            if target is None:
                continue
            owner = self._relating_model(attr, target.qualname)
            if owner is not None:
                root = _root_name(receiver.value)
                per_row = root is None or self._assigned_in_loop(root, scope)
                self._link_write(call, method, owner, attr, owner.relation(attr), per_row)
                return

    def _relating_model(self, attr: str, target: str) -> Model | None:
        """An indexed model with a to-many relation ``attr`` to the model ``target``."""
        cache: dict[tuple[str, str], Model | None] = self.__dict__.setdefault("_relating", {})
        key = (attr, target)
        if key not in cache:
            cache[key] = next(
                (
                    m
                    for m in self.index.models.values()
                    if (r := m.relation(attr)) is not None and r.many and r.target == target
                ),
                None,
            )
        return cache[key]

    def _link_write(
        self,
        call: cst.Call,
        method: str,
        model: Model | None,
        attr: str,
        relation: Relation | None,
        per_row: bool,
    ) -> None:
        """A related-manager write (``add``/``remove``/``set``/``clear``) in a loop."""
        receiver = code_of(call.func.value) if isinstance(call.func, cst.Attribute) else attr
        if not per_row:
            if method in ("add", "remove"):
                remedy = f"collect the objects and call `{receiver}.{method}(*objects)` once after the loop"
            else:
                remedy = (
                    f"`{method}()` replaces every link each time: call `{receiver}.set(objects)` "
                    "once after the loop"
                )
        elif relation is not None and relation.kind not in ("m2m", "rev_m2m"):
            remedy = "change the related rows with one `filter(pk__in=...).update(...)`"
        else:
            through = f"{model.name if model else '<Model>'}.{attr}.through"
            if method == "add":
                remedy = f"create the links with one `{through}.objects.bulk_create([...])`"
            elif method == "set":
                remedy = (
                    f"replace the links with one `{through}.objects.filter(...).delete()` and one "
                    f"`{through}.objects.bulk_create([...])`"
                )
            else:
                remedy = f"delete the links with one `{through}.objects.filter(...).delete()`"
        self.report(
            "DJG208",
            call,
            f"`{code_of(call)}` runs a query on every iteration of the enclosing loop; {remedy}",
        )

    def _query(self, node: cst.CSTNode, method: str, qs: QS) -> None:
        if not self.in_loop() or qs.sliced or qs.batched or qs.from_item or qs.empty:
            return
        if not self._fresh(qs) and method not in ALWAYS_QUERY:
            return
        if method in ("create", "get_or_create"):
            remedy = "collect the objects and create them with one `bulk_create()`"
        elif method == "update_or_create":
            remedy = (
                "fetch the existing rows once (`in_bulk()`), then `bulk_create()`/`bulk_update()`"
            )
        elif method == "update":
            remedy = "update all rows with one `filter(pk__in=...).update(...)` or `bulk_update()`"
        elif method == "delete":
            remedy = "delete all rows with one `filter(pk__in=...).delete()`"
        elif method in ("count", "exists", "aggregate"):
            remedy = (
                "compute it for all rows at once (`annotate()`, or `values(...).annotate(...)`)"
            )
        else:
            remedy = "fetch all rows once before the loop (`filter(pk__in=...)` or `in_bulk()`)"
        self.report(
            "DJG208" if method in WRITES else "DJG202",
            node,
            f"`{code_of(node)}` runs a query on every iteration of the enclosing loop; {remedy}",
        )

    # -- classes ----------------------------------------------------------------------------------------

    def _self_attr(self, cls: ClassInfo, name: str, call: cst.Call | None, scope: Scope) -> Value:
        if name == "get_queryset" and call is not None:
            return self.class_queryset(cls)
        if name == "queryset" and call is None:
            return self.class_attr_queryset(cls)
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
                value = self.class_attr_queryset(cls)
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
        saved = self.frames
        self.frames = []
        try:
            while stack:
                current = stack.pop()
                if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                    continue
                if isinstance(current, cst.Return):
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

    # -- DRF views (DJG203) -------------------------------------------------------------------------

    def _ancestors(self, info: ClassInfo) -> set[str]:
        module = self.file_index.module
        found: set[str] = set()
        stack = [self.index.resolve(module, b) for b in info.bases if b]
        while stack:
            name = stack.pop()
            if name in found:
                continue
            found.add(name)
            entry = self.index.classes.get(name)
            if entry is not None and name != f"{module}.{info.name}":
                stack.extend(
                    self.index.resolve(entry[0], b) for b in entry[1].get("bases", ()) if b
                )
        return found

    def _serializer_ref(self, module: str, node: cst.BaseExpression | None) -> Serializer | None:
        name = dotted_name(node) if node is not None else None
        if name is None:
            return None
        return self.index.serializer_named(module, name)

    def _view_serializers(self, info: ClassInfo, ancestors: set[str]) -> list[Serializer] | None:
        module = self.file_index.module
        attribute = self._serializer_ref(module, info.attrs.get("serializer_class"))
        if attribute is None and "serializer_class" not in info.attrs:
            for ancestor in ancestors:
                entry = self.index.classes.get(ancestor)
                if entry is not None and "serializer_class" in entry[1].get("refs", {}):
                    attribute = self.index.serializer_named(
                        entry[0], entry[1]["refs"]["serializer_class"]
                    )
                    break
        method = info.methods.get("get_serializer_class")
        if method is None:
            return [attribute] if attribute is not None else None
        found: list[Serializer] = []
        stack: list[cst.CSTNode] = [method.body]
        while stack:
            current = stack.pop()
            if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                continue
            if isinstance(current, cst.Return):
                value = current.value
                text = dotted_name(value) if value is not None else None
                if (text is not None and text.endswith(".serializer_class")) or (
                    isinstance(value, cst.Call) and _last(value.func) == "get_serializer_class"
                ):
                    serializer = attribute
                else:
                    serializer = self._serializer_ref(module, value)
                if serializer is None:
                    return None
                found.append(serializer)
                continue
            stack.extend(_children(current))
        return found or None

    def _check_view(self, info: ClassInfo, scope: Scope) -> None:
        if "list" in info.methods:
            return
        ancestors = self._ancestors(info)
        if not ancestors & LIST_VIEWS:
            return
        serializers = self._view_serializers(info, ancestors)
        if not serializers:
            return
        requirement_sets = [self.requirements(s) for s in serializers]
        common = set(requirement_sets[0])
        for other in requirement_sets[1:]:
            common &= set(other)
        if not common:
            return
        model = serializers[0].model
        targets: list[tuple[cst.BaseExpression, Value]]
        if "get_queryset" in info.methods:
            targets = self.returns_of(info.methods["get_queryset"], info)
        elif "queryset" in info.attrs:
            targets = [(info.attrs["queryset"], self.class_attr_queryset(info))]
        else:
            return
        for node, value in targets:
            if (
                not isinstance(value, QS)
                or value.cov.opaque
                or value.rows != "instances"
                or value.prefix
                or value.empty
            ):
                continue
            if value.model is None or value.model.qualname != model:
                continue
            served = self._annotated_fields(serializers, value.annotations)
            missing = [
                (path, (labels - served, relations))
                for path in sorted(common)
                for labels, relations in [requirement_sets[0][path]]
                if labels - served
                and not self._view_covers(value, path, relations)
                and not self._manager_loads(path, relations)
            ]
            if missing:
                self._report_view(node, serializers[0], missing)

    def _annotated_fields(
        self, serializers: list[Serializer], annotations: frozenset[str]
    ) -> frozenset[str]:
        """Fields the queryset's own ``annotate(<name>=...)`` serves: a field of that name
        (or ``source=``), a ``SerializerMethodField`` whose method reads ``obj.<name>`` (its
        relation reads are the fallback for objects that did not come from this queryset)."""
        if not annotations:
            return frozenset()
        served: set[str] = set()
        for serializer in serializers:
            for name, declared in serializer.declared.items():
                call = declared.call
                kwargs = call[3] if call and call[0] == "call" else {}
                source_value = kwargs.get("source")
                source = source_value[1] if source_value and source_value[0] == "str" else name
                if name in annotations or source in annotations:
                    served.add(name)
                    continue
                if (
                    not call
                    or call[1][0] != "ref"
                    or not call[1][1].endswith("SerializerMethodField")
                ):
                    continue
                method_name = kwargs.get("method_name")
                method = (
                    method_name[1]
                    if method_name and method_name[0] == "str"
                    else (call[2][0][1] if call[2] and call[2][0][0] == "str" else f"get_{name}")
                )
                reads = (serializer.methods.get(method) or {}).get("reads", ())
                if any(chain and chain[0] in annotations for chain in reads):
                    served.add(name)
        return frozenset(served)

    def _manager_loads(self, path: Path, relations: tuple[Relation, ...]) -> bool:
        """Whether prefetching a to-many prefix of ``path`` would load the rest (through
        the related model's default manager): then only the prefix needs reporting."""
        for end in range(1, len(path)):
            if relations[end - 1].many:
                base = default_manager_base(self.index, relations[end - 1].target)
                if not base.opaque and base.loads(path[end:]):
                    return True
        return False

    def _view_covers(self, qs: QS, path: Path, relations: tuple[Relation, ...]) -> bool:
        cov = qs.cov
        if cov.loads(path):
            return True
        if cov.bare and len(path) <= 5 and all(r.forward_single and not r.null for r in relations):
            return True
        # a prefetched relation is loaded through the related model's default manager,
        # whose get_queryset() may select_related the rest (ReviewManager: "user")
        for end in range(1, len(path)):
            if relations[end - 1].many and cov.loads(path[:end]):
                base = default_manager_base(self.index, relations[end - 1].target)
                if base.opaque or base.loads(path[end:]):
                    return True
        return False

    def _report_view(
        self,
        node: cst.CSTNode,
        serializer: Serializer,
        missing: list[tuple[Path, tuple[frozenset[str], tuple[Relation, ...]]]],
    ) -> None:
        fields = sorted({label for _, (labels, _) in missing for label in labels})
        select = [p for p, (_, rels) in missing if all(r.select_ok for r in rels)]
        prefetch = [p for p, (_, rels) in missing if not all(r.select_ok for r in rels)]
        select = [p for p in select if not any(o != p and o[: len(p)] == p for o in select)]
        prefetch = [p for p in prefetch if not any(o != p and o[: len(p)] == p for o in prefetch)]
        calls = []
        if select:
            calls.append("select_related(" + ", ".join(f'"{lookup_text(p)}"' for p in select) + ")")
        if prefetch:
            calls.append(
                "prefetch_related(" + ", ".join(f'"{lookup_text(p)}"' for p in prefetch) + ")"
            )
        name = serializer.qualname.rsplit(".", 1)[-1]
        listed = ", ".join(f"`{f}`" for f in fields)
        self.report(
            "DJG203",
            node,
            f"`{name}` field{'s' if len(fields) > 1 else ''} {listed} read{'' if len(fields) > 1 else 's'} "
            f"relations this queryset does not load (a query per object); add `."
            + ".".join(calls)
            + "`",
        )

    def requirements(
        self, serializer: Serializer, depth: int = 0, seen: set[str] | None = None
    ) -> dict[Path, tuple[frozenset[str], tuple[Relation, ...]]]:
        """Relation paths a serializer reads on each object: ``{path: (fields, relations)}``."""
        found: dict[Path, tuple[frozenset[str], tuple[Relation, ...]]] = {}
        model = self.index.models.get(serializer.model) if serializer.model else None
        seen = set() if seen is None else seen
        if model is None or depth > 3 or serializer.qualname in seen:
            return found
        seen = seen | {serializer.qualname}
        root = model.qualname

        def include(name: str) -> bool:
            if serializer.meta_fields is not None:
                return name in serializer.meta_fields
            if serializer.all_fields:
                return name not in serializer.exclude
            return True

        def add(path: Path, label: str, relations: tuple[Relation, ...]) -> None:
            for part, rels in self._without_back_references(root, path, relations):
                labels, _ = found.get(part, (frozenset(), rels))
                found[part] = (labels | {label}, rels)

        for name, declared in serializer.declared.items():
            if not include(name):
                continue
            call = declared.call
            if not call or call[0] != "call" or call[1][0] != "ref":
                continue
            kwargs = call[3]
            if kwargs.get("write_only") == ["bool", True]:
                continue
            source_value = kwargs.get("source")
            source = source_value[1] if source_value and source_value[0] == "str" else None
            many = kwargs.get("many") == ["bool", True]
            func = call[1][1]
            last = func.rsplit(".", 1)[-1]
            nested = self.index.serializers.get(self.index.resolve(declared.module, func))
            if nested is not None:
                if source == "*":
                    for path, value in self.requirements(nested, depth + 1, seen).items():
                        add(path, name, value[1])
                    continue
                walked = self._walk(model, (source or name).split("."))
                if walked is None:
                    continue
                path, relations, target = walked
                add(path, name, relations)
                if target is not None and nested.model == target.qualname:
                    for sub, value in self.requirements(nested, depth + 1, seen).items():
                        add((*path, *sub), name, (*relations, *value[1]))
                continue
            if last in _RELATED_FIELDS:
                walked = self._walk(model, (source or name).split("."))
                if walked is None:
                    continue
                path, relations, _ = walked
                if many or relations[-1].many or last in ("StringRelatedField", "SlugRelatedField"):
                    add(path, name, relations)
                continue
            if last == "SerializerMethodField":
                method_name = kwargs.get("method_name")
                method = (
                    method_name[1]
                    if method_name and method_name[0] == "str"
                    else (call[2][0][1] if call[2] and call[2][0][0] == "str" else f"get_{name}")
                )
                facts = serializer.methods.get(method)
                for chain in (facts or {}).get("reads", ()):
                    loaded = self._walk_read(model, chain)
                    if loaded is not None:
                        add(loaded[0], name, loaded[1])
                continue
            if source and "." in source:
                read = self._walk_read(model, source.split("."))
                if read is not None:
                    add(read[0], name, read[1])
        names: list[str] = []
        if serializer.meta_fields is not None:
            names = [n for n in serializer.meta_fields if n not in serializer.declared]
        elif serializer.all_fields:
            names = [
                n
                for n, r in model.relations.items()
                if r.kind in ("fk", "o2o", "m2m")
                and n not in serializer.exclude
                and n not in serializer.declared
            ]
        for name in names:
            relation = model.relation(name)
            if relation is None or relation.kind in ("gfk", "grel"):
                continue
            if serializer.depth >= 1 or relation.many:
                add((name,), name, (relation,))
        return found

    def _back_reference(self, first: Relation, second: Relation, origin: str | None) -> bool:
        """Whether ``second`` leads back from ``first``'s object to the object ``first`` was
        read on, through the same relation: Django caches that side when it loads ``first``
        (a one-to-one loaded from either side, the rows of a reverse foreign key)."""
        if (first.kind, second.kind) not in _BACK_REFERENCES or origin is None:
            return False
        if second.target != origin or first.target is None:
            return False
        source = self.index.models.get(origin)
        target = self.index.models.get(first.target)
        if source is None or target is None:
            return False
        # only when no other relation of the same kind joins the two models
        forward = [r for r in source.relations.values() if r.kind == first.kind]
        backward = [r for r in target.relations.values() if r.kind == second.kind]
        return (
            sum(r.target == first.target for r in forward) == 1
            and sum(r.target == origin for r in backward) == 1
        )

    def _without_back_references(
        self, root: str, path: Path, relations: tuple[Relation, ...]
    ) -> list[tuple[Path, tuple[Relation, ...]]]:
        """``path`` (read on a ``root`` object) with every read back through a cached back
        reference taken out: ``image.ingredient`` (``image`` the reverse one-to-one of
        ``ingredient``) needs only ``image``; what follows is read on the object ``image`` was
        read on."""
        for index in range(1, len(relations)):
            first, second = relations[index - 1], relations[index]
            origin = root if index == 1 else relations[index - 2].target
            if not self._back_reference(first, second, origin):
                continue
            result = [(path[:index], relations[:index])]
            rest = path[index + 1 :]
            if rest:
                shorter = (*path[: index - 1], *rest)
                shorter_relations = (*relations[: index - 1], *relations[index + 1 :])
                result.extend(self._without_back_references(root, shorter, shorter_relations))
            return result
        return [(path, relations)]

    def _walk(
        self, model: Model, parts: Sequence[str]
    ) -> tuple[Path, tuple[Relation, ...], Model | None] | None:
        """Follow a ``source`` whose every part is a relation."""
        relations: list[Relation] = []
        current: Model | None = model
        for part in parts:
            relation = current.relation(part) if current is not None else None
            if relation is None or relation.kind in ("gfk", "grel"):
                return None
            relations.append(relation)
            if relation.many and part != parts[-1]:
                return None
            current = self.index.models.get(relation.target) if relation.target else None
        if not relations:
            return None
        return tuple(parts), tuple(relations), current

    def _walk_read(
        self, model: Model, read: Sequence[str]
    ) -> tuple[Path, tuple[Relation, ...]] | None:
        """The relation path an attribute chain read on ``obj`` loads (``author.name`` -> author)."""
        relations: list[Relation] = []
        path: list[str] = []
        current: Model | None = model
        for index, part in enumerate(read):
            if part.endswith("()") or current is None:
                break
            relation = current.relation(part)
            if relation is None or relation.kind in ("gfk",):
                break
            if relation.many:
                following = read[index + 1] if index + 1 < len(read) else ""
                if following[:-2] in SERVED and following.endswith("()"):
                    relations.append(relation)
                    path.append(part)
                break
            relations.append(relation)
            path.append(part)
            current = self.index.models.get(relation.target) if relation.target else None
        if not path:
            return None
        return tuple(path), tuple(relations)

    # -- raw SQL (DJG204, DJG206) ----------------------------------------------------------------------

    def _is_manager(self, node: cst.BaseExpression, scope: Scope) -> bool:
        text = dotted_name(node) or ""
        if text.rsplit(".", 1)[-1] in MANAGER_ATTRS and "." in text:
            return True
        value = self.evaluate(node, scope, quiet=True)
        return isinstance(value, QS) and not value.from_item

    def _is_cursor(self, node: cst.BaseExpression, scope: Scope) -> bool:
        """A DB-API cursor or connection (``conn.execute()`` of psycopg 3 and sqlite3)."""
        if isinstance(node, cst.Call):
            return _last(node.func) in ("cursor", "connect")
        if isinstance(node, cst.Subscript):
            return _last(node.value) == "connections"
        text = dotted_name(node)
        if text is None:
            return False
        last = text.rsplit(".", 1)[-1]
        if "cursor" in last.lower() or last in ("cur", "curs", "schema_editor"):
            return True
        if _CONNECTION_NAME.search(last):
            return True
        if isinstance(node, cst.Name):
            for record in scope.records.get(node.value, ()):
                value = record.value
                if isinstance(value, cst.Call) and _last(value.func) in ("cursor", "connect"):
                    return True
                if isinstance(value, cst.Subscript) and _last(value.value) == "connections":
                    return True
        return False

    def _sql_sink(self, call: cst.Call, scope: Scope) -> None:
        func = call.func
        name = _last(func)
        sql: list[cst.BaseExpression] = []
        raw_use = False
        if name == "RawSQL":
            raw_use = True
            sql = _args(call, 0, ("sql",))
        elif isinstance(func, cst.Attribute):
            receiver = func.value
            if name == "raw" and self._is_manager(receiver, scope):
                raw_use = True
                sql = _args(call, 0, ("raw_query",))
            elif name == "extra" and (
                self._is_manager(receiver, scope)
                or any(
                    a.keyword is not None and a.keyword.value in _EXTRA_SQL_ARGUMENTS
                    for a in call.args
                )
            ):
                # ``qs.extra(select=..., where=...)``: those keywords are the queryset API's
                raw_use = self._is_manager(receiver, scope)
                for arg in call.args:
                    if arg.keyword is None or arg.keyword.value not in _EXTRA_SQL_ARGUMENTS:
                        continue
                    for display in self._displays(arg.value, scope):
                        if isinstance(display, cst.Dict):
                            sql.extend(
                                e.value for e in display.elements if isinstance(e, cst.DictElement)
                            )
                        else:
                            sql.extend(
                                e.value for e in display.elements if isinstance(e, cst.Element)
                            )
            elif name in ("execute", "executemany") and self._is_cursor(receiver, scope):
                sql = _args(call, 0, ("sql", "operation", "query"))
            elif name == "cursor" and not call.args:
                receiver_text = dotted_name(receiver) or ""
                if receiver_text.rsplit(".", 1)[-1] == "connection" or (
                    isinstance(receiver, cst.Subscript) and _last(receiver.value) == "connections"
                ):
                    raw_use = True
        if raw_use:
            self.report(
                "DJG206", call, f"`{code_of(call)}` uses raw SQL; express the query with the ORM"
            )
        for expression in sql:
            for bad in self._unsafe_sql(expression, scope, 0):
                identifiers = _interpolates_identifier(bad)
                if identifiers == "all":
                    remedy = (
                        "quote the interpolated identifier with `connection.ops.quote_name()` "
                        "(psycopg: `psycopg.sql.Identifier`), and pass any values as params"
                    )
                elif identifiers == "some":
                    remedy = (
                        "quote identifiers with `connection.ops.quote_name()` (psycopg: "
                        "`psycopg.sql.Identifier`) and pass the values as params with `%s` "
                        "placeholders"
                    )
                else:
                    remedy = "keep the SQL a literal with `%s` placeholders and pass the values as params"
                self.report(
                    "DJG204",
                    bad,
                    f"SQL built with {_formatting_kind(bad)} (`{code_of(bad)}`) reaches "
                    f"`{code_of(func)}()`; {remedy}",
                )

    def _displays(
        self, node: cst.BaseExpression, scope: Scope
    ) -> list[cst.Dict | cst.List | cst.Tuple]:
        """The dict/list displays an ``extra()`` argument is: itself, or what the local
        variable it names is assigned (``where = [...]; qs.extra(where=where)``)."""
        if isinstance(node, (cst.Dict, cst.List, cst.Tuple)):
            return [node]
        if isinstance(node, cst.Name) and node.value not in scope.opaque:
            return [
                r.value
                for r in scope.records.get(node.value, ())
                if r.kind == "value" and isinstance(r.value, (cst.Dict, cst.List, cst.Tuple))
            ]
        return []

    def _unsafe_sql(
        self, node: cst.BaseExpression, scope: Scope, depth: int
    ) -> list[cst.BaseExpression]:
        """The formatting expressions that build the SQL ``node`` from unsafe values."""
        if depth > 6:
            return []
        if isinstance(node, cst.FormattedString):
            expressions = [
                p.expression for p in node.parts if isinstance(p, cst.FormattedStringExpression)
            ]
            return [node] if any(not self._safe(e, scope, depth) for e in expressions) else []
        if isinstance(node, cst.ConcatenatedString):
            return self._unsafe_sql(node.left, scope, depth + 1) + self._unsafe_sql(
                node.right, scope, depth + 1
            )
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Modulo) and self._template(node.left, scope):
                right = node.right
                values: list[cst.BaseExpression]
                if isinstance(right, cst.Tuple):
                    values = [e.value for e in right.elements]
                elif isinstance(right, cst.Dict):
                    values = [e.value for e in right.elements if isinstance(e, cst.DictElement)]
                else:
                    values = [right]
                return [node] if any(not self._safe(v, scope, depth) for v in values) else []
            if isinstance(node.operator, cst.Add):
                operands = _add_operands(node)
                if any(
                    string_value(o) is not None or isinstance(o, cst.FormattedString)
                    for o in operands
                ) and any(not self._safe(o, scope, depth) for o in operands):
                    return [node]
                inner: list[cst.BaseExpression] = []
                for operand in operands:
                    if isinstance(operand, cst.FormattedString):
                        inner.extend(self._unsafe_sql(operand, scope, depth + 1))
                return inner
            return []
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "format"
            and self._template(node.func.value, scope)
        ):
            return [node] if any(not self._safe(a.value, scope, depth) for a in node.args) else []
        if isinstance(node, cst.Name):
            if node.value in scope.opaque:
                return []
            found: list[cst.BaseExpression] = []
            for record in scope.records.get(node.value, ()):
                if record.value is None or record.kind in ("sqlsafe", "with"):
                    continue
                if record.kind == "aug":
                    if string_value(record.value) is None and not self._safe(
                        record.value, scope, depth
                    ):
                        found.append(record.value)
                    else:
                        found.extend(self._unsafe_sql(record.value, scope, depth + 1))
                else:
                    found.extend(self._unsafe_sql(record.value, scope, depth + 1))
            return found
        return []

    def _template(self, node: cst.BaseExpression, scope: Scope) -> bool:
        """A string template: a literal, or a local variable every assignment of which is a
        string literal or a formatting of one (``sql = "..."`` then
        ``sql = sql.format(q=query)``, in any branch)."""
        if string_value(node) is not None:
            return True
        if isinstance(node, cst.Name):
            return scope.literal_only(node.value) or self._string_variable(node.value, scope, set())
        return False

    def _string_variable(self, name: str, scope: Scope, seen: set[str]) -> bool:
        records = scope.records.get(name)
        if not records or name in scope.opaque or name in seen or len(seen) > 6:
            return False
        seen.add(name)
        grounded = False  # some assignment is not a reformatting of the variable itself
        for record in records:
            value = record.value
            if record.kind not in ("value", "aug") or value is None:
                return False
            if not self._string_shape(value, scope, seen):
                return False
            grounded = grounded or (record.kind == "value" and _template_root(value) != name)
        return grounded

    def _string_shape(self, node: cst.BaseExpression, scope: Scope, seen: set[str]) -> bool:
        """An expression that builds a string from a template: an f-string, ``+`` with a
        string operand, ``%`` or ``.format()`` on a literal or on a string variable."""
        if string_value(node) is not None or isinstance(node, cst.FormattedString):
            return True
        if isinstance(node, cst.Name):
            return node.value in seen or self._string_variable(node.value, scope, seen)
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Modulo):
                return self._string_shape(node.left, scope, seen)
            if isinstance(node.operator, cst.Add):
                return any(
                    string_value(o) is not None or isinstance(o, cst.FormattedString)
                    for o in _add_operands(node)
                ) or self._string_shape(node.left, scope, seen)
            return False
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("format", "replace", "strip")
        ):
            return self._string_shape(node.func.value, scope, seen)
        return False

    def _safe(self, node: cst.BaseExpression, scope: Scope, depth: int) -> bool:
        """A value that cannot carry user input into SQL."""
        if depth > 6:
            return False
        if isinstance(node, (cst.Integer, cst.Float)) or string_value(node) is not None:
            return True
        if isinstance(node, cst.FormattedString):
            return all(
                self._safe(p.expression, scope, depth + 1)
                for p in node.parts
                if isinstance(p, cst.FormattedStringExpression)
            )
        if isinstance(node, cst.Name):
            if _UPPER.match(node.value) or node.value in ("None", "True", "False"):
                return True
            records = scope.records.get(node.value)
            if self._catalog_loop_target(node.value):
                # ``for (name,) in cursor.fetchall():`` after a query of the catalog
                return True
            if self._literal_loop_target(node.value):
                # ``for table in ("orders", "shipments"): ... f"... FROM {table}"``
                return not records or all(
                    r.kind == "value" and r.value is not None and string_value(r.value) is not None
                    for r in records
                )
            if node.value in scope.opaque:
                return False
            if not records:
                return False
            return all(
                r.kind == "sqlsafe"
                or (
                    r.kind in ("value", "aug")
                    and r.value is not None
                    and self._safe(r.value, scope, depth + 1)
                )
                for r in records
            )
        if (
            isinstance(node, cst.Subscript)
            and isinstance(node.value, cst.Name)
            and node.value.value not in scope.records
            and self._catalog_loop_target(node.value.value)
        ):
            # ``for row in cursor: ... row[0]`` after a query of the catalog
            return True
        if isinstance(node, cst.Attribute):
            text = dotted_name(node) or ""
            parts = text.split(".")
            return bool(
                "_meta" in parts or parts[-1] in ("db_table", "column") or _UPPER.match(parts[-1])
            )
        if isinstance(node, cst.Call):
            last = _last(node.func)
            if last in _SAFE_CALLS or _QUOTING_CALL.search(last):
                return True
            if (
                last == "join"
                and isinstance(node.func, cst.Attribute)
                and string_value(node.func.value) is not None
            ):
                return all(self._placeholders(a.value, scope, depth) for a in node.args)
            return False
        if isinstance(node, cst.BinaryOperation):
            return self._safe(node.left, scope, depth + 1) and self._safe(
                node.right, scope, depth + 1
            )
        if isinstance(node, cst.IfExp):
            return self._safe(node.body, scope, depth + 1) and self._safe(
                node.orelse, scope, depth + 1
            )
        return False

    def _catalog_loop_target(self, name: str) -> bool:
        """Whether ``name`` is the target of an enclosing ``for`` over the rows of a cursor
        (``cursor.fetchall()``, ``fetchmany()``, the cursor itself) that the same function
        points at the database catalog with literal SQL (``information_schema``,
        ``pg_indexes``, ``sqlite_master``...): a name the database itself holds, never a
        value from a user, and never reassigned in the loop."""
        if not self.functions:
            return False
        for frame in self.frames:
            loop = frame.node
            if name not in frame.targets or not isinstance(loop, cst.For):
                continue
            rows = loop.iter
            if isinstance(rows, cst.Call) and _last(rows.func) in ("fetchall", "fetchmany"):
                rows = rows.func.value if isinstance(rows.func, cst.Attribute) else rows
            cursor = dotted_name(rows)
            if cursor is None or _rebinds(loop.body, name):
                return False
            return cursor in self._catalog_cursors(self.functions[-1])
        return False

    def _catalog_cursors(self, function: cst.FunctionDef) -> set[str]:
        """Cursors a function runs a literal query of the database catalog on."""
        found: set[str] = set()
        pending: list[cst.CSTNode] = [function.body]
        while pending:
            node = pending.pop()
            if (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "execute"
                and node.args
            ):
                sql = string_value(node.args[0].value)
                receiver = dotted_name(node.func.value)
                if sql is not None and receiver is not None and _CATALOG.search(sql):
                    found.add(receiver)
            pending.extend(_children(node))
        return found

    def _literal_loop_target(self, name: str) -> bool:
        """Whether ``name`` is the target of an enclosing ``for`` over a literal list, tuple
        or set of strings (and of no other enclosing loop)."""
        found = False
        for frame in self.frames:
            if name not in frame.targets:
                continue
            loop = frame.node
            if not (
                isinstance(loop, cst.For)
                and isinstance(loop.target, cst.Name)
                and isinstance(loop.iter, (cst.List, cst.Tuple, cst.Set))
                and loop.iter.elements
                and all(
                    isinstance(e, cst.Element) and string_value(e.value) is not None
                    for e in loop.iter.elements
                )
            ):
                return False
            found = True
        return found

    def _placeholders(self, node: cst.BaseExpression, scope: Scope, depth: int) -> bool:
        """``["%s"] * len(ids)``, ``("%s" for _ in ids)``: placeholder lists built from literals."""
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
            return self._placeholders(node.left, scope, depth) or self._placeholders(
                node.right, scope, depth
            )
        if isinstance(node, (cst.List, cst.Tuple)):
            return all(
                isinstance(e, cst.Element) and self._safe(e.value, scope, depth + 1)
                for e in node.elements
            )
        if isinstance(node, (cst.GeneratorExp, cst.ListComp)):
            return self._safe(node.elt, scope, depth + 1)
        return self._safe(node, scope, depth + 1)


LIST_VIEWS = frozenset(
    {
        "rest_framework.generics.ListAPIView",
        "rest_framework.generics.ListCreateAPIView",
        "rest_framework.viewsets.ModelViewSet",
        "rest_framework.viewsets.ReadOnlyModelViewSet",
        "rest_framework.mixins.ListModelMixin",
    }
)
_RELATED_FIELDS = frozenset(
    {
        "StringRelatedField",
        "SlugRelatedField",
        "PrimaryKeyRelatedField",
        "HyperlinkedRelatedField",
    }
)
_SAFE_CALLS = frozenset({"qn", "qn2", "int", "len", "float", "quote_name_unless_alias"})
_EXTRA_SQL_ARGUMENTS = frozenset({"select", "where", "tables", "order_by"})
# identifier quoting: Django's quote_name, sqlite/psycopg-style quote_ident(ifier)
#: Literal SQL reading the database's own catalog (table, index and constraint names).
_CATALOG = re.compile(
    r"\b(?:information_schema|pg_catalog|pg_indexes|pg_tables|pg_class|pg_index|"
    r"pg_constraint|pg_attribute|pg_namespace|pg_views|pg_sequences|pg_trigger|"
    r"sqlite_master|sqlite_schema)\b|^\s*(?:SHOW\s+(?:FULL\s+)?(?:TABLES|INDEX|INDEXES|KEYS|"
    r"COLUMNS)|PRAGMA\s+(?:index_list|table_info|foreign_key_list))\b",
    re.IGNORECASE,
)
_QUOTING_CALL = re.compile(r"quote_(?:name|ident|identifier)")
# a DB-API connection's name: conn, connection, db_conn, pg_connection, cnx
_CONNECTION_NAME = re.compile(r"(?:^|_)(?:conn|connection|cnx)$", re.IGNORECASE)
# the SQL right before an identifier: FROM/JOIN/INTO/UPDATE/TABLE/... (optionally quoted),
# a ``schema.`` qualifier, or ORDER/GROUP BY
_BEFORE_IDENTIFIER = re.compile(
    r"(?:\b(?:from|join|into|update|table|exists|view|index|schema|sequence|by|database|"
    r"collation|extension|constraint|column|role|user|trigger|function|pragma)\s+[\"`\[]?"
    r"|[\"`]|\.)$",
    re.IGNORECASE,
)
_IDENTIFIER_WORDS = re.compile(
    r"(?:^|_)(?:table|tables|column|columns|col|field|schema|identifier|ident|db_table|"
    r"relname|tablename|table_name|column_name|field_name)(?:$|_)",
    re.IGNORECASE,
)
_VALUE_BEFORE = re.compile(
    r"(?:[=<>]|\b(?:like|in|values|limit|offset|between|and|or|not|is)\b)\s*\(?\s*['\"]?%?$",
    re.IGNORECASE,
)


def _template_root(node: cst.BaseExpression) -> str | None:
    """The variable a reformatting starts from (``sql`` in ``sql.format(...)``, ``sql % x``)."""
    while True:
        if isinstance(node, cst.Name):
            return node.value
        if isinstance(node, cst.BinaryOperation):
            node = node.left
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        else:
            return None


def _interpolates_identifier(node: cst.CSTNode) -> str:
    """Whether the unsafe formatting ``node`` puts an identifier (a table, column or
    schema name) into the SQL rather than a value: read from the SQL text right before
    each interpolation (``FROM {table}``, ``ORDER BY {column}``, ``"{name}"``) or from
    the interpolated name (``table_name``, ``column``), never when the text before it
    compares or lists values (``= {x}``, ``LIKE``, ``IN (``, ``VALUES (``)."""
    pieces: list[tuple[str, str]] = []  # (text before, interpolated expression's name)
    if isinstance(node, cst.FormattedString):
        text = ""
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                text += part.value
            elif isinstance(part, cst.FormattedStringExpression):
                pieces.append((text, _last(part.expression)))
                text = ""
    elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
        template = string_value(node.left) or ""
        right = node.right
        names = (
            [_last(e.value) for e in right.elements]
            if isinstance(right, cst.Tuple)
            else [_last(right)]
        )
        keyed = {
            string_value(e.key) or "": _last(e.value)
            for e in (right.elements if isinstance(right, cst.Dict) else ())
            if isinstance(e, cst.DictElement)
        }
        chunks = re.split(r"%(?:\(([^)]*)\))?[sd]", template)
        for index in range(0, len(chunks) - 1, 2):
            key = chunks[index + 1]
            if key is not None:
                name = keyed.get(key, key)
            else:
                position = index // 2
                name = names[position] if position < len(names) else ""
            pieces.append((chunks[index], name))
    elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        template = string_value(node.func.value) or ""
        values = {a.keyword.value: _last(a.value) for a in node.args if a.keyword is not None}
        positional = [_last(a.value) for a in node.args if a.keyword is None]
        chunks = re.split(r"\{([^{}!:]*)[^{}]*\}", template)
        for index in range(0, len(chunks) - 1, 2):
            field_name = chunks[index + 1]
            name = values.get(field_name, field_name)
            if not field_name and positional:
                name = positional.pop(0)
            pieces.append((chunks[index], name))
    elif isinstance(node, cst.BinaryOperation):
        operands = _add_operands(node)
        text = ""
        for operand in operands:
            literal = string_value(operand)
            if literal is not None:
                text += literal
            else:
                pieces.append((text, _last(operand)))
                text = ""
    identifiers = [
        not _VALUE_BEFORE.search(before)
        and bool(_BEFORE_IDENTIFIER.search(before) or (name and _IDENTIFIER_WORDS.search(name)))
        for before, name in pieces
    ]
    if identifiers and all(identifiers):
        return "all"
    return "some" if any(identifiers) else "none"


_UPPER = re.compile(r"^_?[A-Z][A-Z0-9_]*$")


#: A relation followed by the one leading back (Django fills the back reference's cache).
_BACK_REFERENCES = frozenset({("rev_o2o", "o2o"), ("o2o", "rev_o2o"), ("rev_fk", "fk")})


def _args(call: cst.Call, position: int, keywords: Sequence[str]) -> list[cst.BaseExpression]:
    index = 0
    for arg in call.args:
        if arg.star:
            return []
        if arg.keyword is None:
            if index == position:
                return [arg.value]
            index += 1
        elif arg.keyword.value in keywords:
            return [arg.value]
    return []


def _add_operands(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _add_operands(node.left) + _add_operands(node.right)
    return [node]


def _formatting_kind(node: cst.CSTNode) -> str:
    if isinstance(node, cst.FormattedString):
        return "an f-string"
    if isinstance(node, cst.BinaryOperation):
        return "`%` formatting" if isinstance(node.operator, cst.Modulo) else "string concatenation"
    if isinstance(node, cst.Call):
        return "`.format()`"
    return "formatting"
