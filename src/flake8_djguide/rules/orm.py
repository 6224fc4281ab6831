"""ORM and database (DJG2xx), from guides 002 and 003.

N+1 queries, queries inside loops, DRF serializers reading relations their
view's queryset does not load, SQL built with string formatting, floats for
money, and (opt-in) raw SQL at all. The N+1 rules follow querysets through
local variables and a view's ``get_queryset()``, and know the project's models
from the model index (:mod:`flake8_djguide.index`), built from source with
``ast`` and never by importing the project.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flake8_djguide.config import Option, define
from flake8_djguide.helpers import (
    ast_dotted_name,
    ast_nodes,
    ast_scope_nodes,
    dotted_name,
    qualified_name,
    string_value,
)
from flake8_djguide.index.extract import is_loader
from flake8_djguide.index.querysets import EVALUATING, KEEP_METHODS
from flake8_djguide.orm.calls import KEY_CALLS, summarised_call
from flake8_djguide.orm.values import _LIST_CALLS, LOADING, MANAGER_ATTRS, MANAGER_SHAPES, WRITES
from flake8_djguide.rule import Invalid, Rule, Valid
from flake8_djguide.rules._admin import admin_findings, admin_trigger, entry_nodes
from flake8_djguide.rules._feeds import class_findings, class_trigger, reported_nodes
from flake8_djguide.templates.triggers import render_trigger, view_trigger

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
    from flake8_djguide.index import FileIndex
    from flake8_djguide.index.project import Model
else:
    from flake8_djguide._lazy import cst

MONEY_WORDS = (
    "price",
    "cost",
    "subtotal",
    "balance",
    "fee",
    "charge",
    "salary",
    "wage",
    "tax",
    "discount",
    "payment",
    "refund",
    "revenue",
    "budget",
    "money",
)
#: Name parts that are money only on a model or serializer that also has a currency field
#: or a money-named field (an ingredient's ``amount``, ``total_estimates`` are not money).
MONEY_CONTEXT_WORDS = ("amount", "total")
define(
    Option(
        "money-words",
        tuple,
        MONEY_WORDS,
        "DJG205: a FloatField whose snake_case name has one of these words as a part is a "
        "money field (`amount` and `total` are money only next to a currency or money field).",
    )
)
define(
    Option(
        "query-in-loop-exempt",
        tuple,
        ("test", "migration"),
        "DJG202 and DJG208: file contexts where queries and writes in loops are not reported "
        "(any of: test, migration, management-command, factories); DJG201 follows its `test` "
        "entry.",
    )
)

#: Name parts that say a float is not money even next to a money word (``total_weight``).
_NOT_MONEY = frozenset(
    [
        "weight",
        "distance",
        "count",
        "time",
        "duration",
        "score",
        "rate",
        "ratio",
        "percent",
        "percentage",
        "pct",
        "km",
        "kg",
        "hours",
        "minutes",
        "seconds",
        "size",
        "length",
        "width",
        "height",
        "quantity",
        "qty",
        "volume",
        "items",
        "points",
        "calories",
        "temperature",
        "lat",
        "lng",
        "latitude",
        "longitude",
    ]
)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_MANAGER_HINTS = frozenset(
    {"objects", "_default_manager", "_base_manager", "get_queryset", "queryset"}
)
# The trigger's calls: the evaluating queryset methods (except ``contains``), the
# builders that issue a query when iterated in the loop, and ``save``.
_QUERY_CALLS = (EVALUATING - {"contains"}) | frozenset(
    {"all", "exclude", "filter", "save", "values", "values_list"}
)

_LINK_WRITES = frozenset({"add", "remove", "set", "clear"})


# -- cheap ast triggers --------------------------------------------------------------------------


def _is_source(node: ast.AST, managers: frozenset[str]) -> bool:
    """A manager, a queryset or a related manager (``Model.objects``, ``x.y_set``, ``.all``)."""
    kind = type(node)
    if kind is ast.Attribute:
        attr = node.attr  # type: ignore[attr-defined]
        return attr in managers or attr in _MANAGER_HINTS or attr == "all" or attr.endswith("_set")
    return kind is ast.Name and node.id in ("get_list_or_404", "get_object_or_404")  # type: ignore[attr-defined]


def _split_nodes(scope: ast.AST, ctx: FileContext) -> tuple[list[ast.AST], list[ast.AST]]:
    """:func:`~flake8_djguide.helpers.ast_scope_nodes` of a function, once per file."""
    cache: dict[int, tuple[list[ast.AST], list[ast.AST]]] = ctx.__dict__.setdefault(
        "_djguide_scope_nodes", {}
    )
    found = cache.get(id(scope))
    if found is None:
        found = cache[id(scope)] = ast_scope_nodes(scope)
    return found


def _scope_nodes(scope: ast.AST, ctx: FileContext) -> list[ast.AST]:
    """Every node of a function (:func:`_split_nodes`) or of a top-level statement."""
    if type(scope) is ast.FunctionDef or type(scope) is ast.AsyncFunctionDef:
        own, nested = _split_nodes(scope, ctx)
        return [*own, *nested]
    return ast_nodes(scope)


def _has_queryset_source(ctx: FileContext) -> bool:
    """Whether a queryset can reach the trigger node (a loop): the outermost function
    enclosing it (``ctx.trigger_chain``; outside functions, the top-level statement)
    mentions a manager or queryset anywhere.

    The rules follow querysets only through the enclosing functions' local variables
    and ``self.get_queryset()``/``self.queryset``, so a source elsewhere in a large
    class cannot reach the loop; checking per function keeps big classes unparsed.
    """
    statement = ctx.current_statement
    if statement is None:
        return False
    scope: ast.AST = statement
    owner_class: ast.ClassDef | None = None
    for owner in ctx.trigger_chain:
        if type(owner) is ast.FunctionDef or type(owner) is ast.AsyncFunctionDef:
            scope = owner
            break
        if type(owner) is ast.ClassDef:
            owner_class = owner
    if owner_class is not None and _queryset_class(owner_class, ctx):
        return True  # ``self`` in a method of a model's manager or queryset class
    cache: dict[int, bool] = ctx.__dict__.setdefault("_djguide_qs_source", {})
    found = cache.get(id(scope))
    if found is None:
        managers = _manager_names(ctx)
        nodes = _scope_nodes(scope, ctx)
        found = any(_is_source(node, managers) for node in nodes) or any(
            type(node) is ast.Call and summarised_call(node, ctx, "ret") for node in nodes
        )
        cache[id(scope)] = found
    return found


def _queryset_class(node: ast.ClassDef, ctx: FileContext) -> bool:
    """Whether the class is a manager or queryset class some model of the index has a
    manager made of (``self`` in its methods is then a queryset of that model)."""
    found: dict[int, bool] = ctx.__dict__.setdefault("_djguide_qs_classes", {})
    known = found.get(id(node))
    if known is None:
        known = False
        try:
            from flake8_djguide.index import get_index

            file_index = get_index(ctx)
            qualname = f"{file_index.module}.{node.name}"
            known = file_index.index.queryset_model(qualname) is not None
        except Exception:
            known = False
        found[id(node)] = known
    return known


def _manager_names(ctx: FileContext) -> frozenset[str]:
    names = ctx.__dict__.get("_djguide_managers")
    if names is None:
        names = frozenset()
        try:
            from flake8_djguide.index import get_index

            index = get_index(ctx).index
            names = frozenset(index.manager_names) | _row_properties(index)
        except Exception:
            names = frozenset()
        ctx.__dict__["_djguide_managers"] = names
    return names


def _row_properties(index: Any) -> frozenset[str]:
    """The names of the models' properties that give the rows of a related manager
    (``order.positions``: the summary's ``"own"``), a source of rows like a manager."""
    found: frozenset[str] | None = index.__dict__.get("_djguide_row_properties")
    if found is None:
        models = index.models
        found = frozenset(
            qualname.rpartition(".")[2]
            for qualname, summary in index.functions.items()
            if "own" in summary and qualname.rpartition(".")[0] in models
        )
        index.__dict__["_djguide_row_properties"] = found
    return found


def _loop_parts(node: ast.AST) -> tuple[list[str], list[ast.AST]]:
    """Loop target names and the nodes run once per iteration."""
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return _names(node.target), [*node.body]
    if isinstance(node, ast.While):
        return [], [*node.body]
    generators = node.generators  # type: ignore[attr-defined]
    names: list[str] = []
    parts: list[ast.AST] = []
    for index, generator in enumerate(generators):
        names.extend(_names(generator.target))
        parts.extend(generator.ifs)
        if index:
            parts.append(generator.iter)
    if isinstance(node, ast.DictComp):
        parts += [node.key, node.value]
    else:
        parts.append(node.elt)  # type: ignore[attr-defined]
    return names, parts


def _names(target: ast.AST) -> list[str]:
    return [n.id for n in ast_nodes(target) if type(n) is ast.Name]


def _n_plus_one_trigger(node: ast.AST, ctx: FileContext) -> bool:
    return _loop_facts(node, ctx)[0]


def _query_in_loop_trigger(node: ast.AST, ctx: FileContext) -> bool:
    return _loop_facts(node, ctx)[1]


def _write_in_loop_trigger(node: ast.AST, ctx: FileContext) -> bool:
    return _loop_facts(node, ctx)[2]


def _module_level_name(node: ast.AST, ctx: FileContext) -> bool:
    """A name the enclosing function does not bind (``Product`` of ``Product.objects``):
    never a row."""
    if type(node) is not ast.Name:
        return False
    scope = _function_of(ctx)
    return scope is not None and node.id not in _name_kinds(scope, ctx)


def _rooted_in(arguments: list[ast.expr], names: set[str]) -> bool:
    """Whether an argument is one of ``names`` or an attribute, item or slice of one."""
    for argument in arguments:
        node: ast.AST = argument
        while type(node) in (ast.Attribute, ast.Subscript, ast.Starred):
            node = node.value  # type: ignore[attr-defined]
        if type(node) is ast.Name and node.id in names:
            return True
    return False


def _loop_facts(node: ast.AST, ctx: FileContext) -> tuple[bool, bool, bool]:
    """Whether the loop holds DJG201's trigger, DJG202's and DJG208's: one walk of its
    body for all three, kept per loop node.

    DJG201's: the body reads an attribute of a loop variable (not ``<fk>_id``) or
    passes one to a project function that reads relations of its argument, and some
    attribute read of the body (on any object: the analysis follows rows through local
    names) can give a finding (:func:`_row_read_names`): a relation or related manager
    of a model of the index, a ``*_set`` name, a model method or property with a
    summary, ``<attr>.<manager method>`` of a model the index does not know, a field a
    ``only()``/``defer()`` may leave out; or a per-row call of a project function that
    reads relations.

    DJG202's: a call of a project function that always queries; or, in a function
    holding a queryset source, a reading queryset-method call (``get``, ``count``...), a
    nested loop or a subscript whose receiver, iterable or value can be a queryset
    (:func:`_may_query`: not ``row["key"]``, ``parts[0]``, ``for x in row.items()`` of a
    loop's row, a parameter without an annotation, a module-level name). Writes are
    DJG208's: its trigger holds for those, a ``save()``/``delete()``, a related-manager
    write, or a writing queryset method (``create``, ``update``...) on what can be one.
    """
    cache: dict[int, tuple[bool, bool, bool]] = ctx.__dict__.setdefault("_djguide_loop_facts", {})
    found = cache.get(id(node))
    if found is not None:
        return found
    names, parts = _loop_parts(node)
    known = _row_read_names(ctx)
    accessed = False
    relevant = known is None
    saves = False
    links = False
    queried = False
    maybe_queries: list[ast.AST] = []  # reading calls, nested loops, subscripts
    maybe_writes: list[ast.AST] = []  # writing queryset calls
    link_calls: list[ast.AST] = []  # related-manager writes
    field_reads = False
    row_calls: list[tuple[ast.Call, list[ast.expr]]] = []
    stored: set[str] = set()
    for part in parts:
        for sub in ast_nodes(part):
            kind = type(sub)
            if kind is ast.Attribute:
                attr = sub.attr  # type: ignore[attr-defined]
                value = sub.value  # type: ignore[attr-defined]
                if (
                    not accessed
                    and type(value) is ast.Name
                    and value.id in names
                    and not attr.endswith("_id")
                ):
                    accessed = True
                if not relevant and known is not None:
                    if attr in known[0] or attr.endswith("_set"):
                        relevant = True
                    elif (
                        attr in _UNKNOWN_MODEL_MANAGER_CALLS
                        and type(value) is ast.Attribute
                        and not _module_level_name(value.value, ctx)
                    ):
                        relevant = True  # ``row.<attr>.filter()`` of a model not in the index
                    elif attr in known[1]:
                        field_reads = True
            elif kind is ast.Call:
                func = sub.func  # type: ignore[attr-defined]
                if type(func) is ast.Attribute:
                    attr = func.attr
                    if attr in ("save", "delete"):
                        saves = True
                    elif attr in _LINK_WRITES and type(func.value) is ast.Attribute:
                        links = True  # ``post.tags.add(tag)``, not ``seen.add(x)``
                        link_calls.append(sub)
                    elif attr in _QUERY_CALLS:
                        (maybe_writes if attr in WRITES else maybe_queries).append(sub)
                call: ast.Call = sub  # type: ignore[assignment]
                if names and (call.args or call.keywords) and (not accessed or not relevant):
                    arguments = [*call.args, *(k.value for k in call.keywords)]
                    if any(type(a) is ast.Name and a.id in names for a in arguments):
                        if summarised_call(call, ctx, "r"):
                            accessed = relevant = True  # a per-row call reading relations
                    else:
                        row_calls.append((call, arguments))
                if not queried and summarised_call(call, ctx, "q"):
                    queried = True  # a project function that runs a query on every call
            elif (
                kind is ast.Subscript
                or kind is ast.For
                or kind is ast.AsyncFor
                or kind in _COMPREHENSIONS
            ):
                maybe_queries.append(sub)
            elif kind is ast.Name and type(sub.ctx) is not ast.Load:  # type: ignore[attr-defined]
                stored.add(sub.id)  # type: ignore[attr-defined]
    if accessed and not relevant and row_calls:
        # ``label(row)`` through a name bound in the loop (``item = row``, ``row.category``)
        bound = {*names, *stored}
        relevant = any(
            _rooted_in(arguments, bound) and summarised_call(call, ctx, "r")
            for call, arguments in row_calls
        )
    if accessed and not relevant and field_reads and _may_defer(ctx):
        relevant = True
    n_plus_one = (
        bool(names)
        and accessed
        and relevant
        and _may_iterate_rows(node, ctx)
        and (_has_queryset_source(ctx) or any(_instance_manager(i, ctx) for i in _iterables(node)))
    )
    reads = queried
    if (
        not reads
        and maybe_queries
        and (
            _has_queryset_source(ctx)
            or any(type(sub) is ast.Call and _instance_manager(sub, ctx) for sub in maybe_queries)
        )
    ):
        reads = any(_may_query(sub, ctx) for sub in maybe_queries)
    writes = reads or saves
    if (
        not writes
        and (links or maybe_writes)
        and (
            _has_queryset_source(ctx)
            or any(_instance_manager(sub, ctx) for sub in (*link_calls, *maybe_writes))
        )
    ):
        writes = links or any(_may_query(sub, ctx) for sub in maybe_writes)
    found = (n_plus_one, reads, writes)
    if (n_plus_one or reads or writes) and _in_unvisited_lambda(node, ctx):
        found = (False, False, False)
    cache[id(node)] = found
    return found


def _in_unvisited_lambda(node: ast.AST, ctx: FileContext) -> bool:
    """Whether the loop is inside a lambda the ORM analysis never enters
    (:func:`_unvisited_loops`); in a function, from the lambdas :func:`_name_kinds`
    met there."""
    scope = _function_of(ctx)
    if scope is None:
        return id(node) in _unvisited_loops(ctx)
    unvisited: frozenset[int] = _name_kinds(scope, ctx)[_UNVISITED]
    return id(node) in unvisited


def _iterables(node: ast.AST) -> list[ast.AST]:
    """A loop's iterables (for a comprehension, each of its generators')."""
    if type(node) is ast.For or type(node) is ast.AsyncFor:
        return [node.iter]
    if type(node) is ast.While:
        return []
    return [generator.iter for generator in node.generators]  # type: ignore[attr-defined]


def _instance_manager(node: ast.AST, ctx: FileContext) -> bool:
    """Whether ``node`` (a call on it, or an iterable) is a related manager of ``self``
    in a method of a model, or of a parameter annotated with a model, named by a
    relation of that model (``self.sales_channels.get_or_create(...)``,
    ``user.user_uploads.get(...)``, ``for page in self.featured_products.filter(...)``):
    a queryset source that :func:`_has_queryset_source` does not look for (relation
    names are everywhere; a related manager of a known instance is not)."""
    current = node
    while type(current) is ast.Call and type(current.func) is ast.Attribute:
        current = current.func.value
    if type(current) is not ast.Attribute or type(current.value) is not ast.Name:
        return False
    model = _instance_model(current.value.id, ctx)
    return model is not None and current.attr in model.relations


def _instance_model(name: str, ctx: FileContext) -> Model | None:
    """The model of ``name`` in the enclosing function: its ``self`` in a method of a
    model of the index, or a parameter annotated with one."""
    scope = _function_of(ctx)
    if scope is None:
        return None
    try:
        from flake8_djguide.index import get_index

        file_index = get_index(ctx)
    except Exception:
        return None
    index = file_index.index
    args = scope.args  # type: ignore[attr-defined]
    chain = ctx.trigger_chain
    position = next((i for i, owner in enumerate(chain) if owner is scope), 0)
    if position == 1 and type(chain[0]) is ast.ClassDef:
        first = _first_parameters([scope])
        if first and first[0] == name:
            return index.models.get(f"{file_index.module}.{chain[0].name}")
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if arg.arg == name and arg.annotation is not None:
            return _annotated_model(arg.annotation, file_index)
    return None


def _unvisited_loops(ctx: FileContext) -> frozenset[int]:
    """The ids of the loops of the current top-level statement inside a lambda the ORM
    analysis never enters (``Interpreter._visit``): any lambda but the key function of
    ``sorted()``, ``groupby()``, ``min()``, ``max()``, ``map()`` or ``filter()``
    (``Calls._key_function``). ``DEFAULT_VARIABLES = {"x": {"evaluate": lambda op:
    sum(p.price for p in op.addons.all())}, ...}`` holds no loop it checks."""
    statement = ctx.current_statement
    cache: dict[int, frozenset[int]] = ctx.__dict__.setdefault("_djguide_unvisited", {})
    found = cache.get(id(statement))
    if found is None:
        found = _lambda_loops(ast_nodes(statement)) if statement is not None else frozenset()
        cache[id(statement)] = found
    return found


def _lambda_loops(nodes: Sequence[ast.AST]) -> frozenset[int]:
    """The ids of the loops inside the lambdas among ``nodes`` that are no key function
    of a call among them (:func:`_unvisited_loops`)."""
    keys: set[int] = set()
    lambdas: list[ast.AST] = []
    for current in nodes:
        kind = type(current)
        if kind is ast.Lambda:
            lambdas.append(current)
        elif kind is ast.Call:
            func = current.func  # type: ignore[attr-defined]
            name = func.id if type(func) is ast.Name else getattr(func, "attr", None)
            if name in KEY_CALLS:
                arguments = [*current.args, *(k.value for k in current.keywords)]  # type: ignore[attr-defined]
                keys.update(id(a) for a in arguments if type(a) is ast.Lambda)
    loops: set[int] = set()
    for function in lambdas:
        if id(function) not in keys:
            loops.update(
                id(sub)
                for sub in ast_nodes(function)
                if type(sub) in _COMPREHENSIONS or type(sub) is ast.For
            )
    return frozenset(loops)


#: Manager methods that make ``row.<attr>.<method>()`` a related manager of a row whose
#: model the index does not know (``RowReads._item_attr``).
_UNKNOWN_MODEL_MANAGER_CALLS = MANAGER_SHAPES - {"get", "first", "last"}
#: Calls of names whose result is never a queryset nor a row: builtins and containers
#: (the analysis follows only project functions, model classes and the calls below).
_PLAIN_CALLS = frozenset(
    {"range", "len", "str", "int", "float", "bool", "repr", "isinstance", "hasattr", "abs"}
    | {"round", "format", "print", "id", "type", "ord", "chr", "hash", "divmod"}
    | {"dict", "defaultdict", "OrderedDict", "Counter"}
)
#: Calls whose iteration binds the rows of their arguments in a loop's target
#: (``Statements._bind``: ``for i, row in enumerate(qs)``, ``for row, price in zip(qs,
#: prices)``, whatever module they are read from); ``list(qs)`` and the other
#: ``_LIST_CALLS`` of a name also give the rows of their first argument.
_ZIPPING = frozenset({"enumerate", "zip"})
_DEAD, _ROW, _LIVE = 0, 1, 2
#: What :func:`_kind` tells apart: nothing the analysis follows, nor anything read on it
#: (``_NONE``: a parameter it gives no value); never a queryset but maybe a class or
#: module whose attributes are (``_DEAD``: a module-level name); a loop's row; anything.
_NONE = -1
#: The key of :func:`_name_kinds` naming the ``self`` parameters of methods.
_SELVES = " selves"
#: The key of :func:`_name_kinds` with ``(self's name, the attributes the function
#: assigns on it, what its own statements assign them: _attribute_values)`` in a method
#: of a plain class (:func:`_plain_class`), else ``None``.
_PLAIN_SELF = " plain self"
#: The key of :func:`_name_kinds` with the loops inside lambdas the analysis never enters.
_UNVISITED = " unvisited"


def _row_read_names(ctx: FileContext) -> tuple[frozenset[str], frozenset[str]] | None:
    """The attribute names a read of which can give a DJG201 finding, and the field
    names (a finding only where ``only()``/``defer()`` may leave them out); ``None``
    without a model index.

    The first: every relation name of the index's models (forward, reverse accessors
    and ``related_name``), the model methods and properties
    whose summary reads or queries (``RowReads._instance_call``) and the methods of the
    models of this file (their summaries come from its tree)."""
    if "_djguide_row_reads" in ctx.__dict__:
        found: tuple[frozenset[str], frozenset[str]] | None = ctx.__dict__["_djguide_row_reads"]
        return found
    try:
        from flake8_djguide.index import get_index

        file_index = get_index(ctx)
    except Exception:
        ctx.__dict__["_djguide_row_reads"] = None
        return None
    index = file_index.index
    names: tuple[frozenset[str], frozenset[str]] | None = index.__dict__.get(
        "_djguide_row_read_names"
    )
    models = index.models
    if names is None:
        reads: set[str] = set()
        fields: set[str] = set()
        for model in models.values():
            reads.update(model.relations)
            fields.update(model.fields)
        for qualname, summary in index.functions.items():
            owner, _, last = qualname.rpartition(".")
            if (
                owner in models
                and ("r" in summary or "q" in summary)
                and (last not in ("save", "delete") or summary.get("prop"))
            ):
                reads.add(last)  # ``row.save()``/``row.delete()`` are writes (DJG208)
        names = (frozenset(reads), frozenset(fields))
        index.__dict__["_djguide_row_read_names"] = names
    tree = ctx.tree
    if tree is not None:
        local = {
            statement.name
            for node in tree.body
            if type(node) is ast.ClassDef and f"{file_index.module}.{node.name}" in models
            for statement in node.body
            if type(statement) is ast.FunctionDef or type(statement) is ast.AsyncFunctionDef
        }
        if local:
            names = (names[0] | local, names[1])
    ctx.__dict__["_djguide_row_reads"] = names
    return names


def _may_defer(ctx: FileContext) -> bool:
    """Whether a queryset of this file may defer fields: the file calls ``only()`` or
    ``defer()``, or a queryset the index knows (a manager's methods, a summarised
    function's returned queryset) does."""
    found = ctx.__dict__.get("_djguide_may_defer")
    if found is None:
        tree = ctx.tree
        source = ctx.__dict__.get("_djguide_source")
        if tree is not None and isinstance(source, str) and not _DEFER_TEXT.search(source):
            found = False  # no ``.only``/``.defer`` in the text: none in the tree either
        else:
            found = tree is None or any(
                type(node) is ast.Attribute and node.attr in _DEFERRING for node in ast_nodes(tree)
            )
        if not found:
            try:
                from flake8_djguide.index import get_index

                found = _index_defers(get_index(ctx).index)
            except Exception:
                found = True
        ctx.__dict__["_djguide_may_defer"] = found
    return found


_DEFERRING = frozenset({"only", "defer"})
#: ``.only``/``.defer`` in source text (also ``qs.\n    only`` inside brackets)
_DEFER_TEXT = re.compile(r"\.\s*(?:only|defer)\b")


def _index_defers(index: Any) -> bool:
    known: bool | None = index.__dict__.get("_djguide_defers")
    if known is None:
        encoded: list[Any] = [s.get("ret") for s in index.functions.values() if "ret" in s]
        for model in index.models.values():
            for manager in model.managers.values():
                encoded.extend(m.returns for m in manager.methods.values())
                if manager.get_queryset is not None:
                    encoded.append(manager.get_queryset.returns)
        known = _mentions(encoded, _DEFERRING)
        index.__dict__["_djguide_defers"] = known
    return known


def _mentions(value: Any, words: frozenset[str]) -> bool:
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            if current in words:
                return True
        elif isinstance(current, (list, tuple)):
            stack.extend(current)
        elif isinstance(current, dict):
            stack.extend(current.values())
            stack.extend(current.keys())
    return False


def _may_query(node: ast.AST, ctx: FileContext) -> bool:
    """Whether a call of a queryset method, a nested loop or a subscript in a loop can
    run a query: its receiver, iterable or value can be a queryset."""
    scope = _function_of(ctx)
    if scope is None:
        return True  # module level: names are not followed
    kinds = _name_kinds(scope, ctx)
    kind = type(node)
    if kind is ast.Call:
        receiver = node.func.value  # type: ignore[attr-defined]
        found = _kind(receiver, kinds, ctx, 0)
        return found == _LIVE or (
            found == _ROW
            and type(receiver) is ast.Attribute
            and node.func.attr in _UNKNOWN_MODEL_MANAGER_CALLS  # type: ignore[attr-defined]
        )
    if kind is ast.Subscript:
        return _kind(node.value, kinds, ctx, 0) == _LIVE  # type: ignore[attr-defined]
    if kind is ast.For or kind is ast.AsyncFor:
        return _kind(node.iter, kinds, ctx, 0) == _LIVE  # type: ignore[attr-defined]
    return any(_kind(g.iter, kinds, ctx, 0) == _LIVE for g in node.generators)  # type: ignore[attr-defined]


def _may_iterate_rows(node: ast.AST, ctx: FileContext) -> bool:
    """Whether the loop's iterable can be rows of a queryset (for a comprehension, one
    of its iterables): a queryset, a related manager, a ``Prefetch(to_attr=...)`` list
    of a row (``row.<attr>``), anything the analysis may follow; not a parameter without
    an annotation, a module-level name, a literal, ``row.items()`` of a loop's row."""
    scope = _function_of(ctx)
    if scope is None:
        return True
    kinds = _name_kinds(scope, ctx)
    return any(_may_be_rows(iterable, kinds, ctx, 0) for iterable in _iterables(node))


def _function_of(ctx: FileContext) -> ast.AST | None:
    for owner in ctx.trigger_chain:
        if type(owner) is ast.FunctionDef or type(owner) is ast.AsyncFunctionDef:
            return owner
    return None


def _name_kinds(scope: ast.AST, ctx: FileContext) -> dict[str, Any]:
    """Per name bound in the function: ``_LIVE`` (may hold a queryset), ``_ROW`` (a loop
    target: a row or nothing the analysis follows), ``_DEAD`` (a parameter of a nested
    function or lambda without an annotation), ``_NONE`` (what the analysis gives no
    value: :func:`_nothing_names`), or ``(values, least)`` for a name assigned only
    ``name = value`` (resolved on demand by :func:`_kind`). Names not bound in it are
    module-level names: the analysis follows none of them as a queryset."""
    cache: dict[int, dict[str, Any]] = ctx.__dict__.setdefault("_djguide_name_kinds", {})
    found = cache.get(id(scope))
    if found is not None:
        return found
    stores: dict[str, int] = {}
    explained: dict[str, int] = {}
    least: dict[str, int] = {}
    values: dict[str, list[ast.AST]] = {}
    live: set[str] = set()
    selves: set[str] = set()
    arguments: dict[str, int] = {}  # how many parameters (of any function, lambda) bear a name
    attributes: set[tuple[str, str]] = set()  # ``name.attr = ...``
    lambdas = False
    own_nodes, nested_nodes = _split_nodes(scope, ctx)
    for node in (*own_nodes, *nested_nodes):
        kind = type(node)
        if kind is ast.Name:
            if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                stores[node.id] = stores.get(node.id, 0) + 1  # type: ignore[attr-defined]
        elif kind is ast.Attribute:
            if type(node.ctx) is not ast.Load and type(node.value) is ast.Name:  # type: ignore[attr-defined]
                attributes.add((node.value.id, node.attr))  # type: ignore[attr-defined]
        elif kind is ast.For or kind is ast.AsyncFor or kind is ast.comprehension:
            for bound in ast_nodes(node.target):  # type: ignore[attr-defined]
                if type(bound) is ast.Name:
                    explained[bound.id] = explained.get(bound.id, 0) + 1
                    least[bound.id] = max(least.get(bound.id, _DEAD), _ROW)
        elif kind is ast.Assign:
            targets = node.targets  # type: ignore[attr-defined]
            if len(targets) == 1 and type(targets[0]) is ast.Name:
                name = targets[0].id
                values.setdefault(name, []).append(node.value)  # type: ignore[attr-defined]
                explained[name] = explained.get(name, 0) + 1
        elif kind is ast.arg:
            name = node.arg  # type: ignore[attr-defined]
            arguments[name] = arguments.get(name, 0) + 1
            if node.annotation is not None or name in ("self", "cls"):  # type: ignore[attr-defined]
                live.add(name)
            else:
                least.setdefault(name, _DEAD)
        elif kind is ast.ExceptHandler or kind is ast.MatchAs or kind is ast.MatchStar:
            if node.name:  # type: ignore[attr-defined]
                live.add(node.name)  # type: ignore[attr-defined]
        elif kind is ast.alias:
            live.add((node.asname or node.name).partition(".")[0])  # type: ignore[attr-defined]
        elif kind is ast.Global or kind is ast.Nonlocal:
            live.update(node.names)  # type: ignore[attr-defined]
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            live.add(node.name)  # type: ignore[attr-defined]
        elif kind is ast.ClassDef:
            live.add(node.name)  # type: ignore[attr-defined]
            selves.update(_first_parameters(node.body))  # type: ignore[attr-defined]
        elif kind is ast.Lambda:
            lambdas = True
        elif kind is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            if (
                type(func) is ast.Attribute
                and func.attr in _FILLING
                and type(func.value) is ast.Name
            ):
                live.add(func.value.id)  # ``rows.append(row)``: a list of what it is given
        elif kind is ast.Subscript:
            if type(node.ctx) is not ast.Load and type(node.value) is ast.Name:  # type: ignore[attr-defined]
                live.add(node.value.id)  # type: ignore[attr-defined]  # ``by_key[key] = rows``
        elif kind is ast.MatchMapping and node.rest:  # type: ignore[attr-defined]
            live.add(node.rest)  # type: ignore[attr-defined]
    chain = ctx.trigger_chain
    index = next((i for i, owner in enumerate(chain) if owner is scope), 0)
    if index and type(chain[index - 1]) is ast.ClassDef:
        selves.update(_first_parameters([scope]))  # ``self`` of a method, whatever its name
    live.update(selves)
    kinds: dict[str, Any] = dict(least)
    for name, count in stores.items():
        if count > explained.get(name, 0):
            live.add(name)  # bound otherwise too: ``with ... as name``, ``a, b = ...``, ``+=``
    for name, assigned in values.items():
        kinds[name] = (assigned, least.get(name, _DEAD))
    for name in live:
        kinds[name] = _LIVE
    # ``self`` bound nowhere else: of its attributes, only a relation, a manager or the
    # view's ``queryset`` can be a queryset (``SelfRef``: ``self.request.GET`` is none)
    kinds[_SELVES] = frozenset(n for n in selves if n not in stores and n not in values)
    kinds[_UNVISITED] = _lambda_loops([*own_nodes, *nested_nodes]) if lambdas else frozenset()
    nothing, assigned_only, looped = _nothing_names(
        scope, own_nodes, ctx, stores, arguments, selves
    )
    for name in nothing:
        kinds[name] = _ROW if least.get(name) == _ROW else _NONE
    for name in assigned_only:
        kinds[name] = (values[name], least.get(name, _NONE))
    for name, loops in looped.items():
        kinds[name] = _Loops(loops)
    kinds[_PLAIN_SELF] = None
    if index == 1 and type(chain[0]) is ast.ClassDef:
        own = _first_parameters([scope])
        if (
            own
            and arguments.get(own[0]) == 1
            and own[0] in kinds[_SELVES]
            and not scope.decorator_list  # type: ignore[attr-defined]
            and _plain_class(chain[0], ctx)
        ):
            kinds[_PLAIN_SELF] = (
                own[0],
                frozenset(attr for name, attr in attributes if name == own[0]),
                _attribute_values(own_nodes, own[0]),
            )
    cache[id(scope)] = kinds
    return kinds


class _Loops:
    """A name bound only as the target of loops: ``(target, iterable)`` of each, a row
    only where one of them binds it to rows (:func:`_binds_rows`)."""

    __slots__ = ("loops",)

    def __init__(self, loops: list[tuple[ast.AST, ast.AST]]) -> None:
        self.loops = loops


def _binds_rows(
    name: str,
    target: ast.AST,
    iterable: ast.AST,
    kinds: dict[str, Any],
    ctx: FileContext,
    depth: int,
) -> bool:
    """Whether a loop can bind ``name`` to a row (``Interpreter._bind``): the target is
    the name and the iterable can be rows, or the row of ``enumerate(rows)`` or of one
    of ``zip()``'s arguments. A name in another target (``for key, row in
    rows.items()``) is bound to nothing."""
    if type(target) is ast.Name:
        return _may_be_rows(iterable, kinds, ctx, depth + 1)
    if (type(target) is not ast.Tuple and type(target) is not ast.List) or type(
        iterable
    ) is not ast.Call:
        return False
    elements = target.elts
    func = iterable.func
    last = func.id if type(func) is ast.Name else getattr(func, "attr", None)
    args = iterable.args
    if last == "enumerate":
        if not args or len(elements) != 2:
            return False
        second = elements[1]
        return (
            type(second) is ast.Name
            and second.id == name
            and _may_be_rows(args[0], kinds, ctx, depth + 1)
        )
    if last == "zip":
        if len(elements) != len(args) or iterable.keywords:
            return False
        return any(
            type(element) is ast.Name
            and element.id == name
            and type(arg) is not ast.Starred
            and _may_be_rows(arg, kinds, ctx, depth + 1)
            for element, arg in zip(elements, args)
        )
    return False


def _may_be_rows(node: ast.AST, kinds: dict[str, Any], ctx: FileContext, depth: int) -> bool:
    """Whether iterating ``node`` can give rows: a queryset, a related manager, a
    ``Prefetch(to_attr=...)`` list of a row (``row.<attr>``), anything the analysis may
    follow."""
    found = _kind(node, kinds, ctx, depth)
    return found == _LIVE or (
        found == _ROW and (type(node) is ast.Attribute or type(node) is ast.Subscript)
    )


def _nothing_names(
    scope: ast.AST,
    nodes: list[ast.AST],
    ctx: FileContext,
    stores: dict[str, int],
    arguments: dict[str, int],
    selves: set[str],
) -> tuple[set[str], set[str], dict[str, list[tuple[ast.AST, ast.AST]]]]:
    """The names of the function the analysis gives no value (``Analysis._name``),
    those bound only by ``name = value`` (and loops), whose values :func:`_kind` reads,
    and those bound only by loops, with the loops' targets and iterables.

    A name qualifies only when every binding of it is in the function's own body (none
    in a nested function, class or lambda, which the analysis reads in scopes of their
    own), and it is no ``self``. Given no value (``Scope.opaque``, a record that is no
    plain value): a parameter, unless annotated with a model of the index and never
    assigned (``Interpreter._typed_params``); a name bound by ``with ... as``,
    ``except ... as``, a tuple target (but the instance of ``get_or_create()``), ``+=``,
    ``:=``, ``del``, ``global``, ``match``. A loop target is a row inside its loop
    (``Frame.bindings``), which :func:`_name_kinds` keeps. Imported names, nested
    functions and classes, and lists filled with ``append()`` keep the old kinds."""
    own: dict[str, set[str]] = {}
    count: dict[str, int] = {}
    loops: dict[str, list[tuple[ast.AST, ast.AST]]] = {}

    def bind(name: str, how: str) -> None:
        own.setdefault(name, set()).add(how)

    def stored(target: ast.AST, how: str) -> None:
        for sub in ast_nodes(target):
            if type(sub) is ast.Name and type(sub.ctx) is not ast.Load:
                count[sub.id] = count.get(sub.id, 0) + 1
                bind(sub.id, how)

    for node in nodes:
        kind = type(node)
        if node is scope:
            continue
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.ClassDef:
            bind(node.name, "def")  # type: ignore[attr-defined]
        elif kind is ast.Assign:
            targets = node.targets  # type: ignore[attr-defined]
            value = node.value  # type: ignore[attr-defined]
            for target in targets:
                if type(target) is ast.Name and len(targets) == 1:
                    count[target.id] = count.get(target.id, 0) + 1
                    bind(target.id, "value")
                elif type(target) is ast.Tuple or type(target) is ast.List:
                    elements = target.elts
                    pair = (
                        type(value) is ast.Call
                        and type(value.func) is ast.Attribute
                        and value.func.attr in ("get_or_create", "update_or_create")
                        and len(elements) == 2
                    )
                    for position, element in enumerate(elements):
                        stored(element, "keep" if pair and position == 0 else "none")
                else:
                    stored(target, "keep")  # ``a = b = value``, ``row.attr = value``
        elif kind is ast.AnnAssign:
            target = node.target  # type: ignore[attr-defined]
            if type(target) is ast.Name:
                count[target.id] = count.get(target.id, 0) + 1
                bind(target.id, "keep")
        elif kind is ast.AugAssign or kind is ast.NamedExpr or kind is ast.Delete:
            for target in getattr(node, "targets", None) or [node.target]:  # type: ignore[attr-defined]
                if type(target) is ast.Name:
                    stored(target, "none")
        elif kind is ast.For or kind is ast.AsyncFor or kind is ast.comprehension:
            target = node.target  # type: ignore[attr-defined]
            stored(target, "loop")
            for sub in ast_nodes(target):
                if type(sub) is ast.Name:
                    loops.setdefault(sub.id, []).append((target, node.iter))  # type: ignore[attr-defined]
        elif kind is ast.withitem:
            if node.optional_vars is not None:  # type: ignore[attr-defined]
                stored(node.optional_vars, "none")  # type: ignore[attr-defined]
        elif kind is ast.ExceptHandler or kind is ast.MatchAs or kind is ast.MatchStar:
            if node.name:  # type: ignore[attr-defined]
                bind(node.name, "none")  # type: ignore[attr-defined]
        elif kind is ast.MatchMapping and node.rest:  # type: ignore[attr-defined]
            bind(node.rest, "none")  # type: ignore[attr-defined]
        elif kind is ast.Global or kind is ast.Nonlocal:
            for name in node.names:  # type: ignore[attr-defined]
                bind(name, "keep")
        elif kind is ast.Import or kind is ast.ImportFrom:
            for alias in node.names:  # type: ignore[attr-defined]
                bind((alias.asname or alias.name).partition(".")[0], "keep")
        elif kind is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            filled = type(func) is ast.Attribute and func.attr in _FILLING
            if filled and type(func.value) is ast.Name:
                bind(func.value.id, "keep")  # ``rows.append(row)``: ``Scope.fills``
    args = scope.args  # type: ignore[attr-defined]
    parameters = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    for star in (args.vararg, args.kwarg):
        if star is not None:
            parameters.append(star)
    names = {arg.arg for arg in parameters}
    for arg in parameters:
        name = arg.arg
        if name in ("self", "cls") or name in selves:
            bind(name, "keep")
        elif arg.annotation is not None and _names_model(arg.annotation, ctx):
            bind(name, "typed")
        else:
            bind(name, "none")
    nothing: set[str] = set()
    assigned: set[str] = set()
    looped: dict[str, list[tuple[ast.AST, ast.AST]]] = {}
    for name, hows in own.items():
        if (
            "def" in hows
            or "keep" in hows
            or name in selves
            or "typed" in hows  # an instance, or whatever binds it again
            or count.get(name, 0) != stores.get(name, 0)  # also bound in a nested scope
            or arguments.get(name, 0) > (name in names)  # or a lambda's parameter
        ):
            continue
        if "none" in hows:
            nothing.add(name)
        elif "value" in hows:
            assigned.add(name)
        elif hows == {"loop"}:
            looped[name] = loops[name]
    return nothing, assigned, looped


def _attribute_values(nodes: list[ast.AST], name: str) -> dict[str, list[ast.AST]]:
    """What the function's own statements assign to ``<name>.<attr>``, per attribute
    (``self.event = event``), as ``Scope._bind`` keeps them: plain and annotated
    assignments; an attribute also bound otherwise (``+=``, a tuple, a loop) maps to an
    empty list, which means unknown."""
    found: dict[str, list[ast.AST]] = {}
    other: set[str] = set()
    for node in nodes:
        kind = type(node)
        if kind is ast.Assign or kind is ast.AnnAssign:
            value = node.value  # type: ignore[attr-defined]
            targets = node.targets if kind is ast.Assign else [node.target]  # type: ignore[attr-defined]
            for target in targets:
                if (
                    type(target) is ast.Attribute
                    and type(target.value) is ast.Name
                    and target.value.id == name
                ):
                    if value is None:
                        other.add(target.attr)
                    else:
                        found.setdefault(target.attr, []).append(value)
        elif kind is ast.Attribute and type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
            value = node.value  # type: ignore[attr-defined]
            if type(value) is ast.Name and value.id == name:
                found.setdefault(node.attr, [])  # type: ignore[attr-defined]
    for attr in other:
        found[attr] = []
    return found


def _plain_class(node: ast.ClassDef, ctx: FileContext) -> bool:
    """Whether ``self`` in the class's methods is what the analysis calls a ``SelfRef``
    (``Analysis._name``): the class is no model, manager or queryset class of the index
    (a view, a form, a service)."""
    if _queryset_class(node, ctx):
        return False
    try:
        from flake8_djguide.index import get_index

        file_index = get_index(ctx)
    except Exception:
        return False
    return f"{file_index.module}.{node.name}" not in file_index.index.models


def _names_model(annotation: ast.expr, ctx: FileContext) -> bool:
    """Whether a parameter's annotation names a model of the index; true without an
    index."""
    try:
        from flake8_djguide.index import get_index

        file_index = get_index(ctx)
    except Exception:
        return True
    return _annotated_model(annotation, file_index) is not None


def _annotated_model(annotation: ast.expr, file_index: FileIndex) -> Model | None:
    """The model a parameter's annotation names (``order: Order``, ``order: "Order"``),
    as ``Interpreter._typed_params`` reads it: never an optional or a union."""
    if type(annotation) is ast.Constant and isinstance(annotation.value, str):
        dotted: str | None = annotation.value
    else:
        dotted = ast_dotted_name(annotation)
    if not dotted or not dotted.replace(".", "").isidentifier():
        return None
    return file_index.index.model_named(file_index.module, dotted)


#: Methods that fill a list the analysis follows (``Scope.fills``: a list assigned ``[]``
#: holds the instances appended and the querysets extended).
_FILLING = frozenset({"append", "extend"})


def _first_parameters(statements: list[ast.AST]) -> list[str]:
    """The first parameter of each function among ``statements`` (``self`` of methods)."""
    found = []
    for statement in statements:
        if type(statement) is ast.FunctionDef or type(statement) is ast.AsyncFunctionDef:
            arguments = statement.args
            positional = [*arguments.posonlyargs, *arguments.args]
            if positional:
                found.append(positional[0].arg)
    return found


def _kind(node: ast.AST, kinds: dict[str, Any], ctx: FileContext, depth: int) -> int:
    """What ``node`` can be for the analysis: ``_LIVE`` (a queryset, a manager, anything
    it may follow), ``_ROW`` (a row of a loop or nothing), ``_DEAD`` (never a queryset)."""
    if depth > 40:
        return _LIVE
    kind = type(node)
    if kind is ast.Name:
        name = node.id  # type: ignore[attr-defined]
        found = kinds.get(name, _DEAD)
        if type(found) is int:
            return found
        kinds[name] = _LIVE  # meanwhile: a cycle is live
        result: int
        if type(found) is _Loops:
            loops = found.loops
            bound = any(_binds_rows(name, t, i, kinds, ctx, depth) for t, i in loops)
            result = _ROW if bound else _NONE  # a target the loops bind to nothing
        else:
            assigned, least = found
            result = max(least, *(_kind(v, kinds, ctx, depth + 1) for v in assigned))
        kinds[name] = result
        return result
    if kind is ast.Attribute:
        if _of_nothing(node, kinds, ctx, depth):
            return _NONE  # ``order.positions`` of a parameter the analysis cannot know
        attr = node.attr  # type: ignore[attr-defined]
        if _manager_like(attr, ctx):
            return _LIVE
        value = node.value  # type: ignore[attr-defined]
        if type(value) is ast.Name and value.id in kinds[_SELVES]:
            return _DEAD
        return _kind(value, kinds, ctx, depth + 1)
    if kind is ast.Subscript or kind is ast.Starred:
        return _kind(node.value, kinds, ctx, depth + 1)  # type: ignore[attr-defined]
    if kind is ast.Call:
        func = node.func  # type: ignore[attr-defined]
        if type(func) is ast.Attribute and _of_nothing(node, kinds, ctx, depth):
            return _NONE  # ``order.positions.all()``, ``data.items()``: methods of nothing
        if summarised_call(node, ctx):  # type: ignore[arg-type]
            return _LIVE
        last = func.id if type(func) is ast.Name else getattr(func, "attr", None)
        if last in _ZIPPING or (type(func) is ast.Name and last in _LIST_CALLS):
            # ``list(qs)``, ``enumerate(qs)``, ``zip(qs, prices)``: the rows of an argument
            args = node.args  # type: ignore[attr-defined]
            if not args or any(type(a) is ast.Starred for a in args):
                return _LIVE
            found = _DEAD
            for arg in args if last == "zip" else args[:1]:
                kind_of = _kind(arg, kinds, ctx, depth + 1)
                if kind_of == _ROW and type(arg) in (ast.Attribute, ast.Subscript):
                    kind_of = _LIVE  # a ``Prefetch(to_attr=...)`` list of a row
                found = max(found, kind_of)
            return found
        if type(func) is ast.Name:
            if last in _PLAIN_CALLS:
                return _DEAD
            if last in kinds:
                return _NONE if _kind(func, kinds, ctx, depth + 1) == _NONE else _LIVE
            return _LIVE if _may_give(func.id, ctx) else _NONE
        if type(func) is not ast.Attribute:
            return _DEAD  # ``f()()``, ``(a or b)()``: the analysis follows no such call
        receiver = _kind(func.value, kinds, ctx, depth + 1)
        if (
            receiver == _ROW
            and type(func.value) is ast.Attribute
            and func.attr in _UNKNOWN_MODEL_MANAGER_CALLS
        ):
            return _LIVE  # ``row.<attr>.filter()``: a related manager of a model not indexed
        return receiver  # a method of a row (``row.items()``) gives nothing followed
    # displays, comprehensions, operators, literals, lambdas, ``await``: the analysis
    # gives no queryset for any expression but a name, an attribute, a subscript or a call
    return _DEAD


def _of_nothing(node: ast.AST, kinds: dict[str, Any], ctx: FileContext, depth: int) -> bool:
    """Whether a chain of attributes, subscripts and method calls starts from what the
    analysis gives no value: a name it knows nothing of (``_NONE``), or an attribute or
    method of the ``self`` of a view, form or other plain class (``SelfRef``) other than
    those it follows (``Analysis._self_attr``: ``self.queryset``, ``self.model``, an
    attribute the method assigns, ``self.get_queryset()``...). Nothing is read on
    nothing (``Analysis._attr``): ``self.request.event.orders.all()`` is nothing too."""
    plain = kinds[_PLAIN_SELF]
    while True:
        kind = type(node)
        if kind is ast.Attribute:
            value = node.value  # type: ignore[attr-defined]
            if plain is not None and type(value) is ast.Name and value.id == plain[0]:
                attr = node.attr  # type: ignore[attr-defined]
                if attr in _SELF_ATTRS:
                    return False
                if attr not in plain[1]:
                    return True
                # ``self.event = event`` in this method: what it is given
                assigned = plain[2].get(attr)
                return bool(assigned) and all(
                    _kind(v, kinds, ctx, depth + 1) == _NONE for v in assigned
                )
            if _is_super(value):
                return True  # ``super().attr``: only ``super().get_queryset()`` is followed
            node = value
        elif kind is ast.Subscript:
            node = node.value  # type: ignore[attr-defined]
        elif kind is ast.Call and type(node.func) is ast.Attribute:  # type: ignore[attr-defined]
            func = node.func  # type: ignore[attr-defined]
            value = func.value
            if plain is not None and type(value) is ast.Name and value.id == plain[0]:
                return func.attr not in _SELF_CALLS
            if _is_super(value):
                return func.attr != "get_queryset"
            node = value
        else:
            break
    kind = type(node)
    if kind is ast.Name or (kind is ast.Call and type(node.func) is ast.Name):  # type: ignore[attr-defined]
        return _kind(node, kinds, ctx, depth + 1) == _NONE
    return False


def _is_super(node: ast.AST) -> bool:
    return type(node) is ast.Call and type(node.func) is ast.Name and node.func.id == "super"


def _may_give(name: str, ctx: FileContext) -> bool:
    """Whether calling the module-level ``name`` can give the analysis a value
    (``Expressions._root_call``): a model (an instance), a project function (what it
    returns), a filter set class of the project (its ``qs``), or a name it reads itself
    (``super()``, ``get_object_or_404()``). Not a third-party or builtin function or
    class (``Decimal(...)``, ``_("...")``, ``now()``)."""
    if name in _ROOT_CALLS or name in ctx.info.top_level_names:
        return True
    try:
        from flake8_djguide.index import get_index

        file_index = get_index(ctx)
    except Exception:
        return True
    index = file_index.index
    if index.model_named(file_index.module, name) is not None:
        return True
    qualname = index.resolve(file_index.module, name)
    return qualname in index.classes or qualname in index.functions


#: Calls ``Expressions._root_call`` reads by their name.
_ROOT_CALLS = frozenset({"super", "get_object_or_404", "get_list_or_404"})


#: What ``self.<attr>`` of a plain class gives a value for (``Analysis._self_attr``).
_SELF_ATTRS = frozenset({"queryset", "model"})
_SELF_CALLS = frozenset({"get_queryset", "get_object", "filter_queryset", "paginate_queryset"})


def _manager_like(attr: str, ctx: FileContext) -> bool:
    """A manager, a queryset source or a relation (``objects``, ``x_set``, ``all``, a
    relation name or model method of the index)."""
    if attr in _MANAGER_HINTS or attr == "all" or attr.endswith("_set"):
        return True
    if attr in _manager_names(ctx):
        return True
    known = _row_read_names(ctx)
    return known is None or attr in known[0]


def _call_trigger(node: ast.Call, ctx: FileContext) -> bool:
    """A template render call, or a call of a project function reading each row."""
    return render_trigger(node, ctx) or _rows_call_trigger(node, ctx)


def _rows_call_trigger(node: ast.Call, ctx: FileContext) -> bool:
    """A call passing something to a project function that reads relations of each row
    of its parameter."""
    if not (node.args or node.keywords):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    if name in KEY_CALLS:
        # ``sorted(qs, key=lambda p: p.category.name)``: the lambda reads each row
        for value in (*node.args, *(k.value for k in node.keywords)):
            if isinstance(value, ast.Lambda) and len(value.args.args) == 1:
                param = value.args.args[0].arg
                if any(
                    isinstance(sub, ast.Attribute)
                    and isinstance(sub.value, ast.Name)
                    and sub.value.id == param
                    and not sub.attr.endswith("_id")
                    for sub in ast_nodes(value.body)
                ):
                    return _has_queryset_source(ctx)
    if not summarised_call(node, ctx, "rows"):
        return False
    # the analysis reports the call only for an argument that is a queryset
    # (``Calls._passed_rows``): not ``data.get("items") or []``, ``request.POST``
    scope = _function_of(ctx)
    if scope is None:
        return True
    if any(keyword.arg is None for keyword in node.keywords):
        return True  # ``helper(**options)``
    kinds = _name_kinds(scope, ctx)
    arguments = [*node.args, *(k.value for k in node.keywords)]
    return any(
        type(argument) is ast.Starred or _kind(argument, kinds, ctx, 0) >= _ROW
        for argument in arguments
    )


def _view_trigger(node: ast.ClassDef, ctx: FileContext) -> bool:
    """A class with bases that names the queryset it lists (``queryset =`` or
    ``get_queryset()``; its serializer may come from a base view), or a serializer with a
    queryset loader."""
    if node is not ctx.current_statement or not node.bases:
        return False
    if all(_django_origin(base, ctx) for base in node.bases):
        return False  # a Django generic view (ListView): no serializer
    for statement in node.body:
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign):
            targets = [statement.target]
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if statement.name == "get_queryset" or is_loader(statement):
                return True  # also a serializer's queryset loader (``prefetch_queryset``)
            continue
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "queryset" for t in targets):
            return True
    return False


def _django_origin(base: ast.expr, ctx: FileContext) -> bool:
    """Whether a base class is imported from Django itself (``django.views...``)."""
    name = ast_dotted_name(base)
    if name is None:
        return False
    head, _, rest = name.partition(".")
    origin = ctx.info.imports.get(head)
    return origin is not None and (origin + "." + rest if rest else origin).startswith("django.")


def _many_trigger(node: ast.Call, ctx: FileContext) -> bool:
    """``Serializer(rows, many=True)`` (also ``self.get_serializer(...)``) with the rows given."""
    del ctx
    return bool(node.args or any(k.arg == "instance" for k in node.keywords)) and any(
        k.arg == "many" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in node.keywords
    )


_SQL_METHODS = frozenset({"raw", "extra", "execute", "executemany"})


def _sql_trigger(node: ast.Call, ctx: FileContext) -> bool:
    """A raw-SQL call whose SQL argument may be built by formatting: directly, or
    through a variable of the statement assigned such a value (or ``+=``)."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name not in _SQL_METHODS and name != "RawSQL":
        return False
    values: list[ast.AST] = [*node.args[:1], *(k.value for k in node.keywords)]
    if not values:
        return False
    formatted = _formatted_names(ctx, node)
    return any(_formatting_shape(value, formatted, 0) for value in values)


def _formatting_shape(node: ast.AST, formatted: frozenset[str], depth: int) -> bool:
    """Whether ``node`` may be SQL built by formatting, as DJG204 reads it: an f-string,
    ``%`` or ``.format()`` on a literal template (or a variable), ``+`` with a string
    operand, a variable in ``formatted``, or a list/dict of those."""
    if depth > 8:
        return True
    kind = type(node)
    if kind is ast.JoinedStr:
        return True
    if kind is ast.Name:
        return node.id in formatted  # type: ignore[attr-defined]
    if kind is ast.BinOp:
        op = type(node.op)  # type: ignore[attr-defined]
        if op is ast.Mod:
            return _template_shape(node.left)  # type: ignore[attr-defined]
        if op is ast.Add:
            return any(
                type(o) is ast.JoinedStr or (type(o) is ast.Constant and isinstance(o.value, str))
                for o in _add_operands_ast(node)
            )
        return False
    if kind is ast.Call:
        func = node.func  # type: ignore[attr-defined]
        return (
            isinstance(func, ast.Attribute)
            and func.attr == "format"
            and _template_shape(func.value)
        )
    if kind is ast.List or kind is ast.Tuple:
        return any(_formatting_shape(e, formatted, depth + 1) for e in node.elts)  # type: ignore[attr-defined]
    if kind is ast.Dict:
        return any(_formatting_shape(v, formatted, depth + 1) for v in node.values)  # type: ignore[attr-defined]
    return False


def _template_shape(node: ast.AST) -> bool:
    return type(node) is ast.Name or (type(node) is ast.Constant and isinstance(node.value, str))


def _add_operands_ast(node: ast.AST) -> list[ast.AST]:
    operands: list[ast.AST] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if type(current) is ast.BinOp and type(current.op) is ast.Add:
            stack += (current.right, current.left)
        else:
            operands.append(current)
    return operands


def _formatted_names(ctx: FileContext, call: ast.Call) -> frozenset[str]:
    """The variables of the function holding ``call`` (or of the top-level statement,
    outside functions) that may hold formatted SQL: assigned a formatting shape (or
    another such variable), or extended with ``+=`` by anything but a string literal
    (DJG204 follows one function's local variables)."""
    statement = ctx.current_statement
    if statement is None:
        return frozenset()
    cache: dict[int, tuple[dict[int, int], dict[int, frozenset[str]]]] = ctx.__dict__.setdefault(
        "_djguide_sql_names", {}
    )
    found = cache.get(id(statement))
    if found is None:
        found = _formatted_names_by_function(statement)
        cache[id(statement)] = found
    owners, names = found
    return names.get(owners.get(id(call), 0), frozenset())


def _formatted_names_by_function(
    statement: ast.AST,
) -> tuple[dict[int, int], dict[int, frozenset[str]]]:
    """For each call, the id of the innermost function holding it (0: none), and for
    each such function, its variables that may hold formatted SQL."""
    owners: dict[int, int] = {}
    records: dict[int, dict[str, list[ast.AST]]] = {}
    augmented: dict[int, set[str]] = {}
    base = ast.AST
    functions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
    stack: list[tuple[ast.AST, int]] = [(statement, 0)]
    while stack:
        node, owner = stack.pop()
        kind = type(node)
        if kind is ast.Call:
            owners[id(node)] = owner
        elif kind is ast.Assign:
            for target in node.targets:  # type: ignore[attr-defined]
                _record_target(target, node.value, records.setdefault(owner, {}))  # type: ignore[attr-defined]
        elif kind is ast.AnnAssign or kind is ast.NamedExpr:
            if node.value is not None:  # type: ignore[attr-defined]
                _record_target(node.target, node.value, records.setdefault(owner, {}))  # type: ignore[attr-defined]
        elif kind is ast.AugAssign:
            target = node.target  # type: ignore[attr-defined]
            value = node.value  # type: ignore[attr-defined]
            if type(target) is ast.Name and not (
                type(value) is ast.Constant and isinstance(value.value, str)
            ):
                augmented.setdefault(owner, set()).add(target.id)
        elif kind is ast.For or kind is ast.AsyncFor:
            _record_target(node.target, node.iter, records.setdefault(owner, {}))  # type: ignore[attr-defined]
        inner = id(node) if kind in functions else owner
        for name in node._fields:
            value = getattr(node, name, None)
            if type(value) is list:
                stack.extend((v, inner) for v in value if isinstance(v, base))
            elif isinstance(value, base):
                stack.append((value, inner))
    names_by_owner: dict[int, frozenset[str]] = {}
    for owner in records.keys() | augmented.keys():
        names = set(augmented.get(owner, ()))
        owned = records.get(owner, {})
        changed = True
        while changed:
            changed = False
            frozen = frozenset(names)
            for name, values in owned.items():
                if name not in names and any(_formatting_shape(v, frozen, 0) for v in values):
                    names.add(name)
                    changed = True
        names_by_owner[owner] = frozenset(names)
    return owners, names_by_owner


def _record_target(target: ast.AST, value: ast.AST, records: dict[str, list[ast.AST]]) -> None:
    if type(target) is ast.Name:
        records.setdefault(target.id, []).append(value)
    elif type(target) is ast.Tuple or type(target) is ast.List:
        elements = target.elts
        paired = type(value) in (ast.Tuple, ast.List) and len(value.elts) == len(elements)  # type: ignore[attr-defined]
        for index, element in enumerate(elements):
            if type(element) is ast.Starred:
                element = element.value
            _record_target(element, value.elts[index] if paired else value, records)  # type: ignore[attr-defined]


def _raw_trigger(node: ast.Call, ctx: FileContext) -> bool:
    func = node.func
    if isinstance(func, ast.Attribute):
        if func.attr in ("raw", "extra"):
            return True
        if func.attr == "cursor":
            receiver = func.value
            name = ast_dotted_name(receiver) or ""
            if isinstance(receiver, ast.Subscript):
                name = ast_dotted_name(receiver.value) or ""
            return name.rsplit(".", 1)[-1] in ("connection", "connections")
        return False
    return isinstance(func, ast.Name) and func.id == "RawSQL"


# -- the rules ----------------------------------------------------------------------------------------


def _class_entry_trigger(node: ast.AST, ctx: FileContext) -> bool:
    """An admin's ``list_display``, a feed's or inline's reported assignment, or a statement
    of a template view."""
    return admin_trigger(node, ctx) or class_trigger(node, ctx) or view_trigger(node, ctx)


def _return_trigger(node: ast.AST, ctx: FileContext) -> bool:
    """A feed's ``items()`` return, or a statement of a template view."""
    return class_trigger(node, ctx) or view_trigger(node, ctx)


class _FlowRule(Rule):
    """Rules whose findings come from the shared queryset analysis of each parsed chunk.

    The analysis follows querysets through one function's local variables and the
    same class's ``get_queryset()``, so only the functions holding a trigger (and
    that method) are parsed; the other bodies of a large class are left out.
    """

    TRIGGER_SCOPE = "function"
    TRIGGER_KEEPS_METHODS = frozenset({"get_queryset"})

    def visit_Module(self, node: cst.Module) -> None:
        """Report this rule's findings of the chunk's analysis."""
        from flake8_djguide.orm.analysis import analysis_for

        for finding in analysis_for(self.ctx, node).findings_for(self.CODE):
            self.report(finding.node, message=finding.message.replace("{", "{{").replace("}", "}}"))


_MODELS = (
    "from django.db import models\n\n\n"
    "class Category(models.Model):\n    name = models.CharField(max_length=50)\n\n\n"
    "class Product(models.Model):\n    name = models.CharField(max_length=50)\n"
    '    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="products")\n'
    '    tags = models.ManyToManyField("Tag")\n\n\n'
    "class Tag(models.Model):\n    name = models.CharField(max_length=50)\n\n\n"
)


class NPlusOneRelation(_FlowRule):
    """Checks for relations loaded once per row inside a loop over a queryset."""

    CODE = "DJG201"
    NAME = "n-plus-one-relation"
    MESSAGE = "`{access}` loads relation `{relation}` once per row of `{queryset}`; add `.{call}` to that queryset"
    RATIONALE = (
        "Each access to a relation that the queryset did not load runs one more query, so a "
        "loop over N rows runs N+1 queries: the most expensive mistake in Django code, and "
        "invisible in development with ten rows."
    )
    GUIDE = (
        "002: PERF001 avoid N+1 queries (use select_related/prefetch_related) (003: N+1 examples)"
    )
    OPTIONS = ("cache-dir", "index-max-files", "project-root", "source-roots")
    NOTES = (
        "The queryset must be visible: a chain rooted at a model manager (`Product.objects`, a "
        "custom manager from the model index), a related manager of a loop variable, a local "
        "variable assigned such a chain (the assignments a read can see are merged: a relation "
        "loaded by any of them counts as loaded; in a function, a read sees the assignments "
        "of earlier statements from the last top-level `name = ...` that does not read the "
        "name itself, and those of its own statement, never those of later statements, so "
        "`queryset` reused for another model after a loop keeps its first model in that loop), "
        "or `self.get_queryset()` / `self.queryset` in the same "
        "class, a call of a project function whose every `return` gives a queryset built on a "
        "model's manager (directly, through a variable, or a variable refined in the `return` "
        "itself, `return qs.filter(...)`: what any branch loads counts, a branch's "
        "`qs = qs.prefetch_related(...)` included), a model's classmethod returning "
        "`cls.objects...` (`Post.visible_to(user)`: rows of the model it is called on), a call "
        "of a project function that gives back the queryset it is passed (every `return` is "
        "that parameter refined by calls that keep what it loads, in any branch, or a page of "
        "`Paginator(qs, n)`, also through another such function: "
        "`paginate(request, visible(user, qs))`), a django-filter filter set given a queryset "
        "(`PostFilter(request.GET, queryset=qs)` and its `.qs`, when neither it nor a project "
        "base defines `qs` or `filter_queryset`), `self` "
        "in a model's methods, `self` in the methods of a custom QuerySet or Manager class (a "
        "queryset of the one model of the index with a manager made of that class: "
        "`BookQuerySet.as_manager()`, `models.Manager.from_queryset(BookQuerySet)()`, a "
        "manager class deriving from `models.Manager.from_queryset(...)`; it loads what that "
        "manager's `get_queryset()` loads, so `for b in self:` reading `b.author` is reported "
        'and `for b in self.select_related("author")` is not; a class that no model or '
        "several models use is left alone), and a parameter annotated with a model (`order: "
        "Order`, not `Order | None`). Other parameters, module-level variables and unknown "
        "calls are never followed. "
        "Calls of project functions are read from per-function summaries, made from source "
        "once in the model index (the checked file's own functions from its tree): a per-row "
        "call (`label(p)`, `self.label(p)`, a model method or `@property`/`cached_property` "
        "read on the row) that reads a relation of its argument (or of `self`) is reported at "
        "the loop's queryset, naming the function and the relation; one that calls "
        "`.filter()`-like methods on a related manager of its argument at the call; a "
        "queryset passed to a function that loops over that parameter and reads a relation of "
        "each row, at the argument. A summary says only what is sure: a parameter the "
        "function assigns again reads nothing (assigning an attribute of it, `p.status = "
        "...`, does not rebind it; a relation it assigns, `p.category = c`, is then no read), "
        "`<fk>_id` and `pk` are no relation, a starred "
        "argument or an argument of unknown model tells nothing, `self.<method>()` is the "
        "method of the class itself (an override in a subclass is not seen), and reads are "
        "kept two links deep. A `lambda` of one parameter given with one queryset to "
        "`sorted`, `groupby`, `min`, `max`, `map` or `filter` (`sorted(qs, key=lambda p: "
        "p.category.name)`) runs once per row, as a loop body does; in `for i, p in "
        "enumerate(qs)` and `for p, price in zip(qs, prices)` the name at the queryset's "
        "position holds its rows. The rows of a reverse "
        "foreign key manager (`product.reviews.all()`) have the instance itself as their "
        "foreign key back to it (Django's known related objects): `review.product` loads "
        "nothing. "
        "Relations are known from the model index; without it (a lone file) only relations of "
        "models in the same file and the shapes `x.<name>_set` and `x.<attr>.all()` are used. "
        "Covered: `select_related` (paths, bare for non-null FKs), `prefetch_related` (strings and "
        "`Prefetch`, with `to_attr` lists), and custom manager/queryset methods whose body shows "
        "what they load (an unreadable one makes the queryset unknown; a manager whose "
        "`get_queryset()` returns `BookQuerySet(self.model, using=self._db)...` has that "
        "queryset class's methods too, and its `published()` returning "
        "`self.get_queryset().published()` is the queryset's method of that name; a queryset "
        "class has the methods of its project mixins, also plain classes of other modules "
        "whose methods return call chains on `self`, such as `filter_for_authorizations()` "
        "returning `self.build_queryset(...)`; a returned local name assigned on several "
        "branches stands for each value, and `qs |= other` keeps what `qs` loads; the name "
        "reassigned from itself with `select_related`/`prefetch_related`/`only`/`defer` and "
        "queryset calls that keep its rows (`qs = qs.select_related(...)`) has those calls "
        "applied in order, `only()`/`defer()` on one branch only leaving it unknown; a model "
        "`@property` returning a related manager of `self` refined by calls that keep its "
        "rows (`return self.all_positions.filter(canceled=False)`) or called with a manager "
        '(`self.all_positions(manager="objects")`, loading what that manager loads) gives '
        "that relation's rows on one instance (`for p in order.positions:`); a class "
        "deriving from a third-party `...Manager`/`...QuerySet` of a `managers`, `querysets` "
        "or `models` module, such as `mptt.managers.TreeManager`, is a manager or queryset "
        "class). A project function returning `Model.objects...` or, in another branch, the "
        "queryset passed in for a parameter that defaults to `None` "
        "(`get_authorized_findings(permission, queryset=None)`) gives the `Model.objects...` "
        "rows when the call leaves that parameter out; a call passing it is not followed. "
        "A named "
        "`select_related(...)` and the bare form replace each other, as in Django (the last "
        "call wins). `.iterator()` without `chunk_size` drops prefetches (Django 5.0+ raises "
        "`ValueError`): a `prefetch_related()` remedy on such a queryset also says to give "
        "`.iterator()` a `chunk_size` (a `select_related()` remedy needs nothing more). On a "
        "queryset with a bare `select_related()`, naming a relation would drop the non-null "
        "foreign keys the bare form loaded, so the remedy replaces the bare call with one "
        "naming every relation the bare form loaded that the loop reads plus the missing ones "
        'of that loop (`select_related("ingredient", "weight_unit")`). On a prefetched related manager `.all()`, `.count()`, '
        "`.exists()` (and `.first()` when the model has `Meta.ordering`) are served from the "
        "cache; `.filter()`, `.exclude()`, `.order_by()`, `.get()`, `.aggregate()`, `.last()` and "
        "other queryset-building calls are reported even when prefetched. A related manager "
        "the loop only counts (`.count()`, `.exists()`, no `.all()` of the same relation; "
        "also in a function called per row) gets "
        '`annotate(<lookup>_count=Count("<lookup>"))` and the annotated value to read as '
        "remedy (a prefetch would load every related row only to count them); in a template, "
        "one counted on the rows of a to-many relation of each row (`{% for post in "
        "author.posts.all %}{{ post.comments.count }}`, nothing else read through `posts`) "
        'gets `Prefetch("posts", queryset=Post.objects.annotate(comments_count='
        'Count("comments")))`, replacing a plain `"posts"` prefetch. '
        "A model method "
        "that looks its result up in a shared cache (`cache.get(key)`, `if key not in "
        "cache:`) reads the row's relations on a miss only and is left alone, and so is a loop "
        "in a model method over `self.<relation>.all()` reading a path that every "
        "`prefetch_related()` of the project prefetching that relation on the model's "
        "querysets loads too (`for x in self.gridpackage_set.all(): x.grid` with "
        '`Prefetch("gridpackage_set__grid")` in the API that calls it): the method is written '
        "for callers that prefetch, and a `select_related()` on the related manager would "
        "bypass their prefetch (a call prefetching the relation alone keeps it reported). "
        "A call of a project function or model method that leaves out a parameter without a "
        "default (`photo._generate_captions()` of `def _generate_captions(self, commit)`) "
        "raises `TypeError` before the body reads anything and is left alone. "
        "A field left out by "
        "`only()` or named in `defer()` and read in the loop is reported too. Not reported: "
        "`<fk>_id`, rows of `values()`/`values_list()`, blocks that end the loop (`break`, "
        "`return`, `raise` without `continue`), relations the loop body assigns itself "
        "(`p.category = cache[p.category_id]`), reads in the branch of a memoization guard "
        "(`if p.category_id not in names: names[p.category_id] = p.category.name`, once per "
        "distinct key, as for DJG202), loops over `none()`, a page whose `object_list` is "
        "assigned (`page.object_list = prefetch_for_listing(page.object_list)`: its rows are "
        "no longer known), and code in nested functions and "
        "lambdas. "
        "Test files are not checked, as for DJG202 (while `query-in-loop-exempt` lists `test`, "
        "the default): a loop of assertions over a few rows made for the test is no N+1, and "
        "the query count of a test is no production cost. "
        "Admin changelists: each `list_display` entry of a top-level admin class is a read per "
        "row, reported at the entry: a forward relation named directly, a `__` lookup, a "
        "`ModelAdmin` method or module function whose row parameter reads a relation (or "
        "counts a related manager, or formats the row: the model's `__str__`), a model method "
        "or property (what it reads on `self`, from the index), and a column that queries "
        "itself (`Model.objects...`). Loaded is what Django loads: `list_select_related` (True: "
        "a bare `select_related()`, a tuple: those paths), by default a bare `select_related()` "
        "when an entry names a forward foreign key (it follows non-null foreign keys only: a "
        "nullable one is reported), none of it when `get_queryset()` (or the default manager's) "
        "calls `select_related` unconditionally, plus what `get_queryset()` and the default manager load; a relation "
        "named in `get_queryset()`'s `annotate()` counts as loaded. The model comes from "
        "`@admin.register(...)` or `<site>.register(Model, Admin)` in the same module, else "
        "`model = ...`. No finding for an unknown model, a project base admin of another "
        "module, a `get_queryset()` calling other methods, `get_list_select_related()` or "
        "`get_changelist()` overrides, or a `list_select_related` that is not a literal. "
        "Syndication feeds: a top-level class deriving from "
        "`django.contrib.syndication.views.Feed` (directly, through same-file bases or through "
        "project bases the index knows) that defines `items()` (or `items = ...`): the queryset "
        "it returns (a chain on a model's manager through queryset methods, the custom "
        "manager/queryset methods the index can read, local names, slicing, `list()`/`sorted()`) "
        "against what the hooks Django calls per item read on it: `item_title`, "
        "`item_description`, `item_link`, `item_enclosures` (by default `item_enclosure_url`/"
        "`_length`/`_mime_type`), `item_author_name`, `item_author_email`/`item_author_link` "
        "(only with an `item_author_name`: Django calls them only when it gives a name), "
        "`item_pubdate`, `item_updateddate`, `item_guid`, `item_guid_is_permalink`, "
        "`item_comments`, `item_categories`, `item_copyright` and `item_extra_kwargs`, each when "
        "it is a method taking exactly `(self, item)` (Django passes the item only then; an "
        "attribute or a `(self)` method is the same for every item), with the methods of the "
        "feed and the functions of the module they hand the item to. Django's default `item_title`/`item_description` (the "
        "model's `__str__`, unless `title_template`/`description_template` is set) and "
        "`item_link` (`get_absolute_url()`) count when the feed and its same-file bases do not "
        "define them and no base is a project class of another module. Other `item_<x>` methods "
        "count only when a counted hook calls them (Django never does). Reported at the value "
        "`items()` returns (or the `items = ...` value), naming the hooks and relations and the "
        "`select_related`/`prefetch_related` to add; also a field left out by `only()`/`defer()`, "
        "a related-manager `filter()`/`order_by()`... per item, and a query a hook runs itself "
        "(`Model.objects....count()`). Not reported: rows the analysis cannot follow (`items(self, "
        "obj)` returning `obj.entries.all()`, a method of the feed, a manager method it cannot "
        "read), an `items()` inherited from a base (reported with that base). "
        "Admin inlines: a top-level `TabularInline`/`StackedInline` (or a generic one, also "
        "through same-file bases) with `model = ...`. Its templates render each saved row as "
        "text (`{{ inline_admin_form.original }}`: the model's `__str__`) and each "
        "`readonly_fields` entry, and its queryset (`InlineModelAdmin.get_queryset()`) loads no "
        "relations beyond the default manager's and the inline's own `get_queryset()`; the "
        "formset sets the parent's `<fk>_id` on each row, not the parent object, so a parent "
        "read in `__str__` is a query per row too. Reported at the `model = ...` value (the "
        "`__str__` reads) or at the `readonly_fields` entry. Not reported: an inline whose "
        "foreign key to the parent is one-to-one (`fk_name`, else the relation to the model of a "
        "same-module admin listing it in `inlines`, else any one-to-one field of the model: at "
        "most one row), a project base inline of another module, an unknown model, a "
        "`get_queryset()` it cannot read, and an inline that no admin of the project lists "
        "(the model index records each class's `inlines` list, the lists `get_inlines()`/"
        "`get_inline_instances()` return and `register(..., inlines=[...])`; an inline listed "
        "through a subclass counts as listed): Django never renders it. When some list is "
        "not readable (built by a call, a comprehension or a name the index cannot follow), "
        "every inline is checked as before; `raw_id_fields` (the widget queries its label per row "
        "whatever the queryset loads) and select widgets' choices are no relation reads. "
        "Templates: a view's queryset whose rows its template reads relations of is reported "
        "at the queryset (the `queryset =` value, the `get_queryset()` return, the `model =` "
        "value, or the context value or the assignment of the variable it names), naming the "
        "template, its line and what it reads. A list view's rows made in `get_queryset()` "
        "are reported where they are made: a local name or a `self.<attribute>` the method "
        "assigns (`self.base_queryset = Content.objects.exclude(...)` then `return "
        "self.base_queryset.filter(...)`, refinements by `filter()`/`order_by()` followed "
        "back), and `self.queryset = ...` followed by `return super().get_queryset()` "
        "(Django's, or a project base's returning `super().get_queryset()` refined or through "
        "`self.filter_queryset(super().get_queryset(), ...)`). A mixin of the same module "
        "defining `get_queryset()` is reported for the list views deriving from it without "
        "their own, in one finding naming each view's template. A project manager/QuerySet "
        "method whose rows a view of another module puts in its template's context unchanged "
        "(refined only by calls loading nothing: `filter()`, `order_by()`, `distinct()`), "
        "through `self.queryset`, `get_queryset()` or a render call's context, is reported at "
        "the method's `return` (or at the local queryset it returns, where the rows are made), "
        "naming the view, besides the view's own finding at the call: the index lists, per "
        "module that renders templates, the methods it calls on a model's manager "
        "(`Topic.objects.for_forum(...)`), and the classes and functions of those modules "
        "calling one are read when the manager's module is checked (at most 8 modules per "
        "method). A view adding its own `select_related()`/`prefetch_related()`/`only()` after "
        "the method is reported at its own queryset only. Views: function views calling Django's "
        "`render`, `render_to_response`, `render_to_string`, `TemplateResponse` or "
        "`SimpleTemplateResponse` with a literal template name (or a list of them: the first the "
        "project holds) and a context that is a dict display, `dict(...)`, or a local variable "
        'assigned one and filled by `context["k"] = ...`/`context.update(...)`; '
        "`ListView`/`DetailView` subclasses (through project base classes) with `queryset`, "
        "`get_queryset()` or `model`, `template_name` (the view's, else the nearest project "
        "base view's: a subclass renders its base's template) or Django's default "
        "`<app_label>/<model>_list.html`/`_detail.html` (`template_name_suffix` and "
        "`context_object_name` inherited alike), the "
        "context names `object_list`, `page_obj`, `<model>_list`, `object`, `<model>` and "
        "`context_object_name`, and the entries `get_context_data()` returns (also through "
        "`context.update(self.<method>())` and `**kwargs` filled before "
        "`super().get_context_data(**kwargs)`); a view overriding `get_template_names()` or "
        "`get_context_object_name()` (or a detail view overriding `get_object()`), or whose "
        "project base computes the "
        "template (`get_template_names()`, a `template_name` that is not a string literal), is "
        "left alone. Context values "
        "are followed through `Paginator(qs, n)`, its `get_page()`/`page()`, conditional "
        "expressions, a related manager of the requesting user (`request.user.orders...`, "
        "`self.request.user...`: an instance of `AUTH_USER_MODEL`; also through a local "
        "variable refined later, `rows = rows.filter(...)`), a related manager of one object "
        "held in a variable and refined later (`items = book_list.items`, "
        "`items = items.filter(...)`), and the helpers and filter sets above "
        "(`page_of(request, PostFilter(request.GET, queryset=posts).qs)`); the finding lands "
        "at the queryset they were given. A row's foreign key read only for "
        "its key (`row.author.pk`) is reported with `row.author_id` as the remedy. Templates are found as Django's default loaders find them: the literal "
        '`TEMPLATES[...]["DIRS"]` of the settings modules (`BASE_DIR / "templates"`, '
        "`os.path.join(BASE_DIR, ...)`, `Path(__file__).resolve().parent.parent`), a "
        "`templates/` directory at the project root or beside `manage.py`, then the "
        "`templates/` directory of every package; a name two app directories both hold is "
        "ambiguous (the order of `INSTALLED_APPS` decides) and left alone. Template syntax read: "
        "`{% for %}` (nested, tuple targets, `{% empty %}`), `{% with %}` (both syntaxes), "
        "`{% blocktranslate with %}`, `{% include %}` (literal names, `with`, `only`), "
        "`{% extends %}` with `{% block %}` overrides (and `{{ block.super }}`), `{% comment %}` "
        "and `{% verbatim %}` skipped, `as` names of other tags unbinding the name. Per row: a "
        "forward relation read (`row.author.name`, also in an `{% if %}` or a tag argument), "
        "a related manager's `all`/`count`/`exists` (and `first` when ordered), a model method "
        "or property (what it reads on `self`, from the index), a printed row or relation "
        "(`{{ row.author }}`: its `__str__`), and a field left out by `only()`/`defer()`; "
        "`last`/`latest`/`earliest` (and `first` when unordered) query even when prefetched, "
        "and so does a model method that queries a model's manager or builds a new queryset "
        "on a relation (`self.comments.filter(...)`): the message says so next to the "
        "`select_related()` of what else it reads. A related manager only counted per row "
        "(`row.rel.count`, `row.rel.exists`) gets `annotate(<lookup>_count=Count(...))` and "
        "the annotated value to read as remedy. A model method looked up in a shared cache is "
        "left alone. "
        "Free: `pk`, `id`, `<fk>_id`, plain fields, annotations, a relation back to the object "
        "a row came from (a comment of `post.comments.all` knows its `post`), reads outside any "
        'loop, values with a filter before printing (`{{ row.author|default:"" }}` does not '
        "count as printing). A template that does not nest (an unclosed `{% for %}`) is "
        "skipped. Template facts are cached with the model index (JSON keyed by path, "
        "modification time and size); the check server reads them again when a template "
        "changes."
    )
    VALID = [
        Valid(
            _MODELS + 'def names():\n    for p in Product.objects.select_related("category"):\n'
            "        print(p.category.name)\n"
        ),
        Valid(_MODELS + "def ids():\n    return [p.category_id for p in Product.objects.all()]\n"),
        Valid(
            _MODELS + 'def labels():\n    for p in Product.objects.prefetch_related("tags"):\n'
            "        print([t.name for t in p.tags.all()])\n"
        ),
        Valid(
            _MODELS + "from django.contrib import admin\n\n\n@admin.register(Product)\n"
            "class ProductAdmin(admin.ModelAdmin):\n"
            '    list_display = ("name", "category", "category_name")\n\n'
            "    def category_name(self, obj):\n        return obj.category.name\n"
        ),
        Valid(
            _MODELS + "from django.contrib.syndication.views import Feed\n\n\n"
            'class ProductFeed(Feed):\n    link = "/products/"\n\n'
            '    def items(self):\n        return Product.objects.select_related("category")[:20]\n\n'
            "    def item_description(self, item):\n        return item.category.name\n"
        ),
    ]
    INVALID = [
        Invalid(
            _MODELS
            + "def names():\n    for p in Product.objects.all():\n        print(p.category.name)\n",
            20,
            14,
        ),
        Invalid(
            _MODELS + "from django.contrib import admin\n\n\n@admin.register(Product)\n"
            "class ProductAdmin(admin.ModelAdmin):\n"
            '    list_display = ("name", "category_name")\n\n'
            "    def category_name(self, obj):\n        return obj.category.name\n",
            23,
            28,
        ),
        Invalid(
            _MODELS + 'def labels():\n    products = Product.objects.filter(name__startswith="a")\n'
            "    return {p.pk: p.tags.count() for p in products}\n",
            20,
            18,
        ),
        Invalid(
            _MODELS + "from django.contrib.syndication.views import Feed\n\n\n"
            'class ProductFeed(Feed):\n    link = "/products/"\n\n'
            '    def items(self):\n        return Product.objects.order_by("-pk")[:20]\n\n'
            "    def item_description(self, item):\n        return item.category.name\n",
            25,
            15,
        ),
    ]
    TEXT_HINTS = (
        *("for ", "list_display", "items", "Inline", "render", "TemplateResponse", "View"),
        *("Manager", "QuerySet"),  # a manager's methods whose rows templates read
    )
    #: a template view's context comes from ``get_queryset()`` and ``get_context_data()``
    TRIGGER_KEEPS_METHODS = frozenset({"get_queryset", "get_context_data"})
    AST_TRIGGERS = {
        ast.Return: _return_trigger,
        ast.Assign: _class_entry_trigger,
        ast.AnnAssign: _class_entry_trigger,
        ast.FunctionDef: view_trigger,
        ast.AsyncFunctionDef: view_trigger,
        ast.Call: _call_trigger,
        ast.For: _n_plus_one_trigger,
        ast.AsyncFor: _n_plus_one_trigger,
        ast.ListComp: _n_plus_one_trigger,
        ast.SetComp: _n_plus_one_trigger,
        ast.GeneratorExp: _n_plus_one_trigger,
        ast.DictComp: _n_plus_one_trigger,
    }

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Everywhere but test files (as DJG202: when ``query-in-loop-exempt`` lists
        ``test``); migrations included (their RunPython functions loop over models too)."""
        return not (ctx.is_test and "test" in ctx.settings.list("query-in-loop-exempt"))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Report the ``list_display`` columns of a top-level admin class that read a
        relation per row (see :mod:`flake8_djguide.rules._admin`)."""
        tree_node = self.ast_node(node)
        if not isinstance(tree_node, ast.ClassDef):
            return
        for target, message in reported_nodes(node, class_findings(self.ctx, tree_node)):
            self.report(target, message=message.replace("{", "{{").replace("}", "}}"))
        findings = admin_findings(self.ctx, tree_node)
        if not findings:
            return
        elements = entry_nodes(node)
        for finding in findings:
            if finding.position < len(elements):
                self.report(
                    elements[finding.position],
                    message=finding.message.replace("{", "{{").replace("}", "}}"),
                )


class QueryInLoop(_FlowRule):
    """Checks for a database query issued once per iteration of a loop."""

    CODE = "DJG202"
    NAME = "query-in-loop"
    MESSAGE = "`{call}` runs a query on every iteration of the enclosing loop; {remedy}"
    RATIONALE = (
        "A query per iteration costs a database round trip per row; one query before the loop "
        "(`filter(pk__in=...)`, `in_bulk()`) does the same work in one. Writes in a loop are "
        "DJG208's (opt-in)."
    )
    GUIDE = "002: PERF001 avoid N+1 queries (003: optimize database queries)"
    OPTIONS = ("query-in-loop-exempt", "cache-dir", "project-root")
    NOTES = (
        "Reported: reading calls (`get`, `first`, `last`, `count`, `exists`, `aggregate`, "
        "`in_bulk`) on a chain rooted at a manager or built in the loop; iterating or "
        "`list()`-ing a queryset built in the loop. Writes found by the same analysis "
        "(`create`, `get_or_create`, `update_or_create`, queryset `update`/`delete`, "
        "`save()`/`delete()` of instances, related-manager `add`/`remove`/`set`/`clear`) are "
        "reported as DJG208 (opt-in) with the same exemptions; `get_or_create` writes, so it is "
        "DJG208's. A call in a loop of a project function or method (`helper(x)`, "
        "`self.helper(x)`, a model method or `@property` of a row) whose own body always runs "
        "a query (a reading call or a loop on "
        "`Model.objects...` in a statement of the body itself, not under an `if`, `try` or "
        "`with`, nor after one that may `return` or `raise`; no `lru_cache`/memoizing "
        "decorator) is reported at the call, naming the function and the query; a function "
        "that writes anywhere in its body (`save()`, `delete()`, a manager's `create()`/"
        "`update()`, `bulk_create()`...) is left alone, whether it also reads or not: a call "
        "of it is a job of its own per row (an audit entry, a scan, an import, a reminder "
        "sent and recorded), whose reads come with its writes; so is a "
        "query filtered `<field>__in=` a collection (one per batch); only in a loop over rows "
        "(a queryset, or an iterable shaped like one: `course.run_set.only(...)`), not over ids, "
        "parsed lines or API results (each item is work of its own), nor in a loop whose "
        "variable names a batch (`batch`, `chunk`, `page`). "
        "The analysis (both codes): "
        "`save()`/`delete()` on instances known to be model instances (loop variables "
        "over querysets, results of `get()`/`create()`, the instance of `obj, created = "
        "...get_or_create(...)`, `Product(...)` of an indexed model). "
        "`count()`/`exists()`/`first()` on a queryset variable assigned outside the loop are left "
        "alone (it may already hold its rows). Related-manager writes (`add`, `remove`, `set`, "
        "`clear`) in a loop are reported on a related manager of a known instance (a relation in "
        "the model index, or `<name>_set`); on an object the analysis does not know (a "
        "parameter `post`) only when an argument is an instance or queryset of a model that an "
        "indexed model relates to under that name (`post.tags.add(tag)` with `tag` a `Tag`), "
        "never `.add()` on sets or lists. The remedy is one `post.tags.add(*objects)` after the "
        "loop when the instance is the same in every iteration, else one `bulk_create()` of the "
        "through model (`filter(pk__in=...).update()` for a reverse foreign key). A list "
        "assigned only `[]` and filled with `.append(<instance>)`/`.extend(<queryset>)` holds "
        "those instances (a loop over it that calls `save()` is reported; an appended loop "
        "variable is not followed). Not reported: a `while` loop's own condition, a query in "
        "the test of an `if` that leaves the `while` loop (`if not ...exists(): return slug`) "
        "or assigned to a name the condition reads (`taken = ...exists()`): the unique-slug "
        "loop runs once per attempt (an enclosing `for` still counts); a query in the branch "
        "of a memoization guard that stores into the cache it tests (`if key not in cache: "
        "cache[key] = ...`, `if cache.get(key) is None:` also through a variable assigned "
        "`cache.get(key)`, `if key in cache: ... else:`, `try: cache[key] except KeyError: "
        "cache[key] = ...`), "
        "decided as always fine: it runs once per distinct key, the author has bounded it on "
        "purpose and the rule cannot know how many keys there are (a guard that only records "
        "the key, `seen.add(key)`, is a dedupe and stays reported); a query in the flush of a "
        "batch the loop fills, which runs once per batch (`if len(batch) >= BATCH_SIZE:` with "
        "`batch` filled in the loop by `append`/`extend`/`add`/`+=`/`batch[key] = ...` and "
        "emptied in the flush by `batch = []`, `batch.clear()` or `del batch[:]`; `if count >= "
        "size:` with a counter the loop increments and the flush resets to 0; `if i % "
        "BATCH_SIZE == 0:` with a counter or loop variable; also as one operand of an `and`): "
        "a guard that does not empty its batch holds on every row once full and stays "
        "reported, as do a literal bound under 10 (`len(batch) > 0`, `i % 2 == 0` are per-row "
        "work), an `or` with another condition, and a loop nested in the flush (per row "
        "again); in a chunked loop "
        "(`for start in range(0, n, size)`) a `filter()` directly in it that reads the loop "
        "variable or a name assigned in it (`pk__in=ids[start:start + size]`, "
        "`pk__gte=start`), one query per batch (a loop nested in it runs per row again); "
        "`filter(<x>__in=<loop variable>)` and `__in` a slice that moves with the loop; "
        "querysets that load no rows (`none()`); loops over literal collections or small "
        "literal `range()` (bounded, not data-dependent), also when the collection's items are "
        "UPPER_CASE constants (`[settings.ROLE_ADMIN, settings.ROLE_ANNOTATOR]`) or it is held "
        "in a local variable, a module-level UPPER_CASE name assigned once "
        '(`for role in ROLES:` with `ROLES = ("admin", "annotator")`, or a dict display, '
        "also through `.items()`/`.keys()`/`.values()`) or a class attribute bound to such a "
        "literal in the class body and read through `self`/`cls` (`for key in "
        "self.uuids.keys():`) that no method rebinds or fills (a setting such as "
        "`settings.ROLES` is not known and stays reported), sliced querysets (batches), "
        "`bulk_create()`/`bulk_update()`, blocks that end the loop (`break`/`return`/`raise`), "
        "nested functions, and reads through a loop variable's related managers (those are "
        "DJG201's). A read whose filter compares the innermost loop's values only by range "
        "(`__gt`, `__gte`, `__lt`, `__lte`, `__range`: `created__gte=day_start`, a box within "
        "a margin of each row's box) is still reported, since it is still a query per row "
        "and real fixes exist (one fetch of the whole span bucketed in Python, a `Subquery`/"
        "`Exists` on `OuterRef`, a grouped `values(...).annotate(...)` per day), but its "
        "remedy names those instead of `filter(<field>__in=...)`, which cannot batch a "
        "range; a per-row value also compared by equality (`owner=row.owner`) in any of its "
        "filters keeps the `__in` remedy, and counts and aggregates keep theirs (`annotate()` "
        "fits them). A read of the loop row's references just before that row is deleted "
        "in the same iteration (counting an exercise's logs before `exercise.delete()`) is "
        "still reported: it is a query per deleted row, and the rows fetched once "
        "(`filter(uuid__in=...)`) can `annotate(Count(...))` those counts; the delete is "
        "DJG208's. Still reported: a `delete()` in the error branch of a per-row check (an "
        "upload that fails validation deleted before `continue`): every row may fail, and "
        "collecting the failed primary keys for one `filter(pk__in=...).delete()` is cheap; "
        "one-by-one deletes that a comment says are required (django-polymorphic) have "
        "nothing the rule can read, `# noqa: DJG208` says it. Not reported either (both "
        "codes): a management command's loop over the arguments its operator typed (in "
        "`handle(self, *args, **options)` of a command module or a `...Command` class: "
        '`options["ids"]`, `options.get(...)`, `.split(...)` of one, `args`, through '
        "`list()`/`sorted()`/`or []` and local names assigned only those), which runs a "
        "handful of times like a literal list (a loop inside it over a queryset, a `range()` "
        "of a typed number and a helper method given the ids stay reported); and a read "
        "(not a write) whose `filter()`/`exclude()`/`get()` lookup compares with a value the "
        "innermost loop's iteration got from a network call (`requests`/`httpx`/`aiohttp`/"
        "`urllib3` calls, `urlopen()`, or `get`/`post`/`request`/... of a receiver named like a "
        "client, session, http or api object), directly or through names assigned from it "
        "(`url = response.url`): that value does not exist before the loop, so there is "
        "nothing to fetch at once (a query by the loop's own row next to a request stays "
        "reported). Test files and migrations are "
        "exempt by default (`query-in-loop-exempt`, shared with DJG208)."
    )
    VALID = [
        Valid(
            "from shop.models import Product\n\n\ndef prices(ids):\n"
            "    products = Product.objects.in_bulk(ids)\n"
            "    return [products[i].price for i in ids]\n"
        ),
        Valid(
            "from shop.models import Product\n\n\ndef reprice(ids):\n"
            "    for i in ids:\n        Product.objects.get(pk=i)\n",
            path="shop/tests/test_prices.py",
        ),
    ]
    INVALID = [
        Invalid(
            "from shop.models import Product\n\n\ndef prices(ids):\n"
            "    return [Product.objects.get(pk=i).price for i in ids]\n",
            5,
            12,
        ),
        Invalid(
            "from shop.models import Order\n\n\ndef open_counts(customers):\n"
            "    for customer in customers:\n"
            '        customer.open = Order.objects.filter(customer=customer, status="open").count()\n',
            6,
            24,
        ),
    ]
    TEXT_HINTS = ("for ", "while ")
    AST_TRIGGERS = {
        ast.For: _query_in_loop_trigger,
        ast.AsyncFor: _query_in_loop_trigger,
        ast.While: _query_in_loop_trigger,
        ast.ListComp: _query_in_loop_trigger,
        ast.SetComp: _query_in_loop_trigger,
        ast.GeneratorExp: _query_in_loop_trigger,
        ast.DictComp: _query_in_loop_trigger,
    }

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Not in the contexts listed in ``query-in-loop-exempt`` (tests and migrations)."""
        exempt = set(ctx.settings.list("query-in-loop-exempt"))
        return not (
            ("test" in exempt and ctx.is_test)
            or ("migration" in exempt and ctx.is_migration)
            or ("management-command" in exempt and ctx.is_management_command)
            or ("factories" in exempt and ctx.is_factories)
        )


class WriteInLoop(_FlowRule):
    """Checks for a database write issued once per iteration of a loop."""

    CODE = "DJG208"
    NAME = "write-in-loop"
    MESSAGE = QueryInLoop.MESSAGE
    RATIONALE = (
        "A write per iteration costs a database round trip per row; one bulk write after the "
        "loop (`bulk_create()`, `bulk_update()`, `filter(pk__in=...).update()`/`.delete()`, "
        "`add(*objects)`) does the same work in one. Opt-in: on real projects a write in a loop "
        "is often deliberate (a `save()` override or signals that must run per row, a "
        "polymorphic model that refuses a bulk delete, a value that differs per row, a parent "
        "saved because the next row needs it), and the remedy changes behaviour: "
        "`bulk_create()`/`bulk_update()`/`update()` skip `save()` and the model signals."
    )
    GUIDE = QueryInLoop.GUIDE
    OPT_IN = True
    OPTIONS = QueryInLoop.OPTIONS
    NOTES = (
        "The writes of DJG202's analysis, with its exemptions (see DJG202): `create`, "
        "`get_or_create` (it writes, and the remedy is a bulk write), `update_or_create`, "
        "queryset `update()`/`delete()` on a chain rooted at a manager or built in the loop; "
        "`save()`/`delete()` on instances known to be model instances; related-manager "
        "`add`/`remove`/`set`/`clear`. `bulk_create()`/`bulk_update()` in a loop are not "
        "reported. Split from DJG202 because a hand-read sample of DJG202 on real projects found "
        "most wrong or debatable findings were writes (a `delete()` per row in an error branch, "
        "one `update()` per group with a different value, `save()` in data-generating commands) "
        "while per-row reads were almost always N+1s (of 22 sampled findings, the 8 wrong or "
        "debatable ones were all writes; 90 of the 176 findings on five projects are writes). "
        "Test files and migrations are exempt by default (`query-in-loop-exempt`, shared with "
        "DJG202)."
    )
    VALID = [
        Valid(
            "from shop.models import Product\n\n\ndef reprice():\n"
            "    products = list(Product.objects.all())\n"
            "    for product in products:\n        product.price *= 2\n"
            '    Product.objects.bulk_update(products, ["price"])\n'
        ),
        Valid(
            "from shop.models import Product\n\n\ndef reprice():\n"
            "    for product in Product.objects.all():\n        product.save()\n",
            path="shop/tests/test_prices.py",
        ),
    ]
    INVALID = [
        Invalid(
            "from shop.models import Product\n\n\ndef reprice():\n"
            "    for product in Product.objects.all():\n        product.price *= 2\n"
            "        product.save()\n",
            7,
            8,
        ),
    ]
    TEXT_HINTS = QueryInLoop.TEXT_HINTS
    AST_TRIGGERS = {node_type: _write_in_loop_trigger for node_type in QueryInLoop.AST_TRIGGERS}

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Where DJG202 applies (the shared ``query-in-loop-exempt``)."""
        return QueryInLoop.applies_to(ctx)


class SerializerRelationNotPrefetched(_FlowRule):
    """Checks for DRF list views whose serializer reads relations the queryset does not load."""

    CODE = "DJG203"
    NAME = "serializer-relation-not-prefetched"
    MESSAGE = (
        "`{serializer}` fields {fields} read relations this queryset does not load; add `.{call}`"
    )
    RATIONALE = (
        "A serializer that reads `obj.author.name` or nests `TagSerializer(many=True)` runs a "
        "query per object unless the view's queryset loads the relation: the most common N+1 "
        "in DRF applications, hidden in a class in another file. Opt-in: on the projects of "
        "`docs/precision.md` 12 of 15 sampled findings were correct (80 %, under the 90 % every "
        "default-on rule must reach) and the 3 others were debatable, not wrong: real per-row "
        "reads in a list the project marks unused, or only in a fallback for rows without a "
        "denormalised cover, where loading the relation for every row costs more than the "
        "queries it saves. Neither is something the code tells apart. DRF projects should "
        "turn it on (`extend-select = DJG203`); in the N+1 sample of `docs/orm-sample.md` it "
        "is 11 of 12 correct."
    )
    GUIDE = (
        "002: PERF001 avoid N+1 queries; `queryset = ...select_related(...).prefetch_related(...)`"
    )
    OPT_IN = True
    OPTIONS = ("cache-dir", "index-max-files", "project-root", "source-roots")
    NOTES = (
        "Views that list: deriving from `ListAPIView`, `ListCreateAPIView`, `ModelViewSet`, "
        "`ReadOnlyModelViewSet` or `ListModelMixin` (also through the project's base views and "
        "mixins, in any module: the index keeps which of `get_queryset()`, "
        "`get_serializer_class()` and `list()` each class defines, its `queryset =` and what "
        "its `get_queryset()` returns), whose `list()` is DRF's: not overridden, or overridden "
        "by one that returns `super().list(...)` on some path (a docstring, a `?count` answered "
        "apart), in the class or a base, or in a base by one that renders "
        "`self.get_queryset()` with `self.get_serializer()` itself (a prefetching mixin); another "
        "`list()` is left to the explicit-serializer check below. Both methods are read for the "
        "`list` action answering a GET: a test on `self.action` (also `getattr(self, "
        '"action", None)` and a local name assigned it), `self.request.method` (`in '
        "SAFE_METHODS`) or `self.detail` is decided and only the branch that runs is kept; "
        "other tests keep every branch. The queryset: each `return` of the class's "
        "`get_queryset()`, else its `queryset =` (through a base's `get_queryset()` when one "
        "defines it). `super().get_queryset()` is the nearest base's `get_queryset()` or DRF's "
        "(`self.queryset`: the class's or the nearest base's `queryset =`), `self.model.objects` "
        "follows `model =`; a base whose `get_queryset()` returns anything else makes the "
        "queryset unknown, and nothing is reported. A `return` of rows that start from the "
        "class's own `queryset =` (`super().get_queryset()`, `self.queryset`, also through a "
        "local name) is reported at that `queryset =`, where the loading calls belong; a "
        "returned local name assigned once from another expression (`queryset = "
        "Project.objects...select_related(...)`, then `queryset = queryset.annotate(...)`) is "
        "reported at that expression, for the same reason. The "
        "serializer comes from `serializer_class` (also inherited) or from every `return` of "
        "`get_serializer_class()` left for the action: a serializer class, `self.<name>` (a "
        "class attribute, also inherited: `self.read_serializer_class`), "
        "`self.<dict>.get(self.action, <default>)` / `self.<dict>[self.action]` on a dict "
        "literal of the class, `self.serializer_class` or `super().get_serializer_class()`; all "
        "must be known. A base's `get_serializer_class()` counts with every `return` it has "
        "(the index keeps its returns, not its branches: a serializer class, `self.<name>` "
        "looked up on the view, `self.serializer_class`, `super().get_serializer_class()`); "
        "any other return makes it unknown. Only relations read by every serializer left are "
        "reported. Explicit rendering: "
        "`<Serializer>(rows, many=True)` (or `instance=rows`) with a project serializer, "
        "`self.get_serializer(rows, many=True)` or `self.serializer_class(...)` in any function "
        "(an `APIView.get()`, a function view, a custom `list()`, an `@action` method; "
        "`get_serializer()` is read for the enclosing method's action: its name in a viewset, "
        "`get` answering a GET); the rows are followed through local names and "
        "`self.paginate_queryset()`/`self.filter_queryset()` and reported where the queryset is "
        "built; not in test files, which render expected payloads. `many=True` with `data=` only "
        "reads nothing. Rows of an instance's related "
        "manager (`product.reviews.all()`) already hold the foreign key back to that instance "
        "(Django fills it): reading it is not reported. Read relations: nested serializers "
        "(recursively, `source=` and `many=True`), `StringRelatedField`/`SlugRelatedField`, "
        "related fields with `many=True`, implicit to-many fields of a `ModelSerializer` (a "
        "`ManyRelatedField` reads `obj.<name>.all()`) and every relation with `depth >= 1`, "
        "dotted `source=` paths, `SerializerMethodField` methods reading `obj.<relation>`, and "
        "a `to_representation` override reading `instance.<relation>` (named "
        "`to_representation()` in the message). "
        "`PrimaryKeyRelatedField` and `HyperlinkedRelatedField` (looking up `pk`) on a foreign "
        "key read only the `<fk>_id` column and are left alone; through a dotted `source` they "
        'read the objects before the last (`source="order.customer"` reads `order`), as DRF\'s '
        "pk-only optimization does. A hyperlinked field with another `lookup_field` (in the "
        'field or in `Meta.extra_kwargs`) reads the related object, and a `lookup_field="a__b"` '
        "also `a` of it; `StringRelatedField` also reads what the target's `__str__` reads, "
        "and a `SlugRelatedField` what its `slug_field` reads when it is a property; "
        "project fields named like DRF's (`...SlugRelatedField`, `...HyperlinkedRelatedField`) "
        "count as them. A nested serializer whose `source` names a model property returning "
        'one of the relations it reads (`VideoSerializer(source="get_video")` with '
        "`get_video` returning `self.video or self.course.video`) renders each of those "
        "relations that leads to one object of its model, and reads what it reads under "
        "each. A dotted `source`, a `CharField`/`ReadOnlyField` on a relation, a "
        "`Meta.fields` name or `source` naming a model property or method, and a method "
        "field reading one, read what that property reads on its object (one level of "
        "properties calling properties deep, two more). `Meta.fields = Base.Meta.fields + "
        "(...)` is resolved through the base serializer, and a `Meta` without `fields` or "
        "`exclude` keeps the base's. A class with a `Meta.model` deriving from a third-party "
        "class named like a serializer (`FlexFieldsModelSerializer`, `PolymorphicSerializer`) "
        "is a serializer. Reported once per queryset expression (the "
        "`queryset =` value or each `get_queryset()` return). A queryset that loads no rows "
        "(`none()` anywhere in its chain: the `queryset = Model.objects.none()` placeholder of "
        "a view whose rows come from elsewhere, a `get_queryset()` branch for anonymous users) "
        "is never reported. A name the queryset adds with `annotate(<name>=...)` is not a "
        "relation read: a field of that name or `source=`, and a `SerializerMethodField` "
        "whose method reads `obj.<name>` (its relation reads, `obj.photos.count()` in an "
        "`except`, are taken as the fallback for objects serialized elsewhere), are neither "
        "reported nor put in the remedy. A relation read back to the object it was read on "
        "costs nothing and is left out of the finding and the remedy: the forward side of a "
        'one-to-one loaded from its reverse side (`select_related("cover")` then '
        "`cover.book`) and the other way round, and the foreign key of rows prefetched "
        'through its reverse relation (`prefetch_related("chapters")` then '
        "`chapter.book`); only when no other relation of that kind joins the two models. "
        "A method that queries a relation only when a loaded one is empty (`if obj.cover: "
        "... return obj.faces.first()`) is still reported: the index keeps which attributes "
        "a method reads, not in which branch, and the fallback runs for every row without "
        "the loaded relation. A serializer's queryset loader is checked too: a class or "
        "static method of the serializer whose name holds `queryset`, `prefetch`, `eager`, "
        "`optimi` or `select_related` (`prefetch_queryset`, `setup_eager_loading`, "
        "`optimize_queryset`) returns the queryset the serializer renders, so what the "
        "serializer reads and the loader does not load is reported at its last `return`. What "
        "it loads is every `select_related`/`prefetch_related` lookup of its body (in any "
        "branch; a queryset parameter is taken to load nothing), the loaders it calls through "
        "`super()` or `cls.` (also in bases in other modules) and other serializers' loaders "
        "(under the `Prefetch` lookup they fill); a `Prefetch` with `to_attr` loads nothing "
        "under the relation's name. A loader that passes the queryset to another function, "
        "or loads through non-literal lookups, is left alone."
    )
    VALID = [
        Valid(
            _MODELS + "from rest_framework import serializers, viewsets\n\n\n"
            "class ProductSerializer(serializers.ModelSerializer):\n"
            "    category = serializers.StringRelatedField()\n\n"
            '    class Meta:\n        model = Product\n        fields = ["id", "category"]\n\n\n'
            "class ProductViewSet(viewsets.ModelViewSet):\n"
            '    queryset = Product.objects.select_related("category")\n'
            "    serializer_class = ProductSerializer\n"
        )
    ]
    INVALID = [
        Invalid(
            _MODELS + "from rest_framework import serializers, viewsets\n\n\n"
            "class ProductSerializer(serializers.ModelSerializer):\n"
            "    category = serializers.StringRelatedField()\n\n"
            '    class Meta:\n        model = Product\n        fields = ["id", "category"]\n\n\n'
            "class ProductViewSet(viewsets.ModelViewSet):\n"
            "    queryset = Product.objects.all()\n"
            "    serializer_class = ProductSerializer\n",
            30,
            15,
        )
    ]
    AST_TRIGGERS = {ast.ClassDef: _view_trigger, ast.Call: _many_trigger}
    # The whole view class: get_serializer_class(), list() and get_queryset().
    TRIGGER_SCOPE = "statement"


class RawSqlFormatting(_FlowRule):
    """Checks for SQL built with string formatting and passed to a raw-SQL API."""

    CODE = "DJG204"
    NAME = "raw-sql-formatting"
    MESSAGE = "SQL built with {kind} reaches `{sink}()`; keep the SQL a literal with `%s` placeholders and pass the values as params"
    RATIONALE = (
        "Formatting values into SQL is SQL injection as soon as one of them comes from a user; "
        "placeholders let the database driver quote them."
    )
    GUIDE = '003: Security: SQL injection (`raw(f"...")`); use parameterized queries'
    NOTES = (
        "Sinks: `<manager>.raw()`, `.extra(where=/select=/tables=/order_by=)` on any "
        "queryset (the values of a `select` dict and the items of the lists, also through a "
        "local variable), `execute()`/`executemany()` on a DB-API cursor or connection (a name "
        "containing `cursor`, `cur`, `schema_editor`, a name ending in `conn`/`connection`/"
        "`cnx`, a variable assigned `connection.cursor()`, `connections[alias]` or "
        "`psycopg.connect()`/`sqlite3.connect()`), and `RawSQL()`; other `.execute()` "
        "receivers (GraphQL clients, executors) are left alone. The SQL argument is followed "
        "through local variables (every assignment and `+=`), including a template reformatted "
        'into itself in any branch (`sql = sql.format(q=query)` after `sql = "..."`), and the '
        "finding is reported at the formatting expression itself. When every interpolation "
        "puts an identifier into the SQL (after `FROM`/`JOIN`/`INTO`/`UPDATE`/`TABLE`/`BY`, "
        "inside quotes, before a `.`, or a variable named like `table`/`column`/`field`), the "
        "message names `connection.ops.quote_name()` and `psycopg.sql.Identifier` instead of "
        "`%s` placeholders, which cannot hold identifiers. Safe interpolations: "
        "literals (`None` included), `quote_name(...)`/`quote_ident(...)`/"
        "`quote_identifier(...)`/`qn(...)`, `int()`/`len()`/`float()`, attributes through "
        "`_meta` and `db_table`/`column`, UPPER_CASE names, local variables assigned only safe "
        "values in every branch, the target of a `for` over a literal list or tuple of strings "
        '(`for table in ("orders", "shipments"):`), names unpacked from '
        "`sql_with_params()`/`as_sql()`/`compile()`, the target of a `for` over a cursor's "
        "rows (`cursor.fetchall()`, `fetchmany()`, the cursor; also `row[0]`) when the same "
        "function runs literal SQL reading the database catalog on that cursor "
        "(`information_schema`, `pg_indexes`, `pg_constraint`, `sqlite_master`, `SHOW INDEX`, "
        "...) and the loop does not reassign it: a migration dropping the indexes it just "
        "listed formats names the database itself holds, in a migration or anywhere else "
        "(quoting them with `quote_name()` is still good practice, but nothing is injected); "
        "rows of an application table and a catalog read in another function stay reported, "
        "with the identifier remedy when they are identifiers, "
        'and placeholder lists (`", ".join(["%s"] * len(ids))`). `%` and `.format()` count only '
        "on a literal template (or a local variable holding only literals and reformattings "
        "of them)."
    )
    VALID = [
        Valid(
            "from shop.models import Product\n\n\ndef search(name):\n"
            '    return Product.objects.raw("SELECT * FROM shop_product WHERE name = %s", [name])\n'
        ),
        Valid(
            "from django.db import connection\n\n\ndef fetch(ids):\n"
            '    placeholders = ", ".join(["%s"] * len(ids))\n'
            "    with connection.cursor() as cursor:\n"
            '        cursor.execute(f"SELECT id FROM shop_product WHERE id IN ({placeholders})", ids)\n'
        ),
    ]
    INVALID = [
        Invalid(
            "from shop.models import Product\n\n\ndef search(name):\n"
            "    return Product.objects.raw(f\"SELECT * FROM shop_product WHERE name = '{name}'\")\n",
            5,
            31,
        ),
        Invalid(
            "from django.db import connection\n\n\ndef total(year):\n"
            '    sql = "SELECT SUM(total) FROM shop_order WHERE year = %s" % year\n'
            "    with connection.cursor() as cursor:\n        cursor.execute(sql)\n",
            5,
            10,
        ),
    ]
    TEXT_HINTS = ("raw", "extra", "execute", "RawSQL")
    AST_TRIGGERS = {ast.Call: _sql_trigger}

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Everywhere, migrations included."""
        return True


def _float_trigger(node: ast.ClassDef, ctx: FileContext) -> bool:
    if node is not ctx.current_statement:
        return False
    return any(
        isinstance(statement, (ast.Assign, ast.AnnAssign))
        and isinstance(statement.value, ast.Call)
        and (ast_dotted_name(statement.value.func) or "").endswith("FloatField")
        for statement in node.body
    )


class FloatMoneyField(Rule):
    """Checks for ``FloatField`` on money fields of models and DRF serializers."""

    CODE = "DJG205"
    NAME = "float-money-field"
    MESSAGE = "money field `{field}` is a `FloatField`; use `DecimalField(max_digits=..., decimal_places=...)`"
    RATIONALE = (
        "Binary floats cannot represent most decimal amounts (0.1 + 0.2 != 0.3), so sums and "
        "rounding of prices drift by cents; `DecimalField` stores exact decimals."
    )
    GUIDE = "002: Decimal for money (`price = Decimal('19.99')  # Not float for money`)"
    OPTIONS = ("money-words",)
    NOTES = (
        "A field is money when its name, split at `_`, has a part equal to a money word (or its "
        "plural), and no part naming another unit (`total_weight`, `tax_rate`, `discount_percent` "
        "are left alone). `amount` and `total` are money only in a money context: the same "
        "class also assigns a currency field (a name with a `currency` part, or a "
        "`CurrencyField`/`MoneyField` call) or a field with a money-word name (of any type); "
        "alone they are quantities (an ingredient's `amount`, `total_estimates`, "
        "`property_amount`). The context is the class body itself (inherited fields are "
        "not looked up). Only class attributes assigned `models.FloatField(...)` or "
        "`serializers.FloatField(...)` (also imported directly) are checked; migrations describe "
        "fields as arguments, not class attributes, so a field is reported once, in its model."
    )
    VALID = [
        Valid(
            "from django.db import models\n\n\nclass Product(models.Model):\n"
            "    price = models.DecimalField(max_digits=10, decimal_places=2)\n"
            "    weight = models.FloatField()\n"
        ),
        Valid(
            "from django.db import models\n\n\nclass Shop(models.Model):\n"
            "    latitude = models.FloatField()\n    tax_rate = models.FloatField()\n"
        ),
    ]
    INVALID = [
        Invalid(
            "from django.db import models\n\n\nclass Product(models.Model):\n"
            "    price = models.FloatField()\n",
            5,
            4,
        ),
        Invalid(
            "from rest_framework import serializers\n\n\nclass OrderSerializer(serializers.Serializer):\n"
            "    currency = serializers.CharField()\n"
            "    total_amount = serializers.FloatField()\n",
            6,
            4,
        ),
    ]
    TEXT_HINTS = ("FloatField",)
    AST_TRIGGERS = {ast.ClassDef: _float_trigger}

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Everywhere (migrations have no field class attributes)."""
        return True

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Check the class body's ``FloatField`` assignments."""
        fields: list[tuple[cst.Name, cst.Call]] = []
        for statement in node.body.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                targets: list[Any] = []
                value: cst.BaseExpression | None = None
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                    value = small.value
                elif isinstance(small, cst.AnnAssign):
                    targets = [small.target]
                    value = small.value
                if isinstance(value, cst.Call):
                    fields.extend((t, value) for t in targets if isinstance(t, cst.Name))
        context: bool | None = None  # computed when a FloatField needs it
        for target, value in fields:
            if not _is_float_field(qualified_name(value.func, self.ctx) or ""):
                continue
            money = is_money_name(target.value, self.ctx)
            if not money and _is_context_money_name(target.value):
                if context is None:
                    context = any(
                        _is_currency_field(name.value, call) or is_money_name(name.value, self.ctx)
                        for name, call in fields
                    )
                money = context
            if money:
                self.report(target, field=target.value)


def _is_float_field(name: str) -> bool:
    return name in (
        "django.db.models.FloatField",
        "django.db.models.fields.FloatField",
        "rest_framework.serializers.FloatField",
        "rest_framework.fields.FloatField",
        "models.FloatField",
        "serializers.FloatField",
    )


def is_money_name(name: str, ctx: FileContext) -> bool:
    """Whether a field name says it holds money (``unit_price``, ``fees``; not ``tax_rate``)."""
    return _has_word(name, frozenset(ctx.settings.list("money-words")))


def _has_word(name: str, words: frozenset[str]) -> bool:
    """Whether a snake_case name has a part in ``words`` (or its plural), and no part
    naming another unit (``total_weight``)."""
    parts = [p for p in name.lower().strip("_").split("_") if p]
    if any(p in _NOT_MONEY for p in parts):
        return False
    return any(
        part in words or part.rstrip("s") in words or (part.endswith("es") and part[:-2] in words)
        for part in parts
    )


def _is_context_money_name(name: str) -> bool:
    """``amount``, ``total_amount``, ``totals``: money next to a currency or money field."""
    return _has_word(name, frozenset(MONEY_CONTEXT_WORDS))


def _is_currency_field(name: str, call: cst.Call) -> bool:
    """A currency field: named with a ``currency`` part, or a currency/money field call
    (django-money's ``MoneyField``, ``CurrencyField``)."""
    parts = name.lower().split("_")
    if "currency" in parts or "currencies" in parts:
        return True
    function = call.func
    last = function.attr.value if isinstance(function, cst.Attribute) else None
    if isinstance(function, cst.Name):
        last = function.value
    return last in ("MoneyField", "CurrencyField")


class RawSqlUsed(_FlowRule):
    """Checks for raw SQL: ``.raw()``, ``.extra()``, ``connection.cursor()``, ``RawSQL()``."""

    CODE = "DJG206"
    NAME = "raw-sql-used"
    MESSAGE = "`{call}` uses raw SQL; express the query with the ORM"
    RATIONALE = (
        "Raw SQL bypasses the ORM's portability, escaping and model logic, and is where "
        "injection bugs live; teams that want none can switch this on."
    )
    GUIDE = "003: Better - use the ORM (`Product.objects.filter(name=user_input)`)"
    OPT_IN = True
    NOTES = (
        "`.raw()` and `.extra()` on a manager or queryset, `cursor()` on `connection` or "
        "`connections[...]`, and `RawSQL(...)`. Migrations are exempt."
    )
    VALID = [
        Valid(
            "from shop.models import Product\n\n\ndef f(name):\n    return Product.objects.filter(name=name)\n"
        ),
        Valid(
            "from django.db import connection\n\n\ndef f():\n    with connection.cursor() as c:\n"
            '        c.execute("VACUUM")\n',
            path="shop/migrations/0002_vacuum.py",
        ),
    ]
    INVALID = [
        Invalid(
            "from shop.models import Product\n\n\ndef f():\n"
            '    return Product.objects.raw("SELECT * FROM shop_product")\n',
            5,
            11,
        ),
        Invalid(
            "from django.db import connection\n\n\ndef f():\n    with connection.cursor() as c:\n"
            '        c.execute("SELECT 1")\n',
            5,
            9,
        ),
    ]
    TEXT_HINTS = ("raw", "extra", "cursor", "RawSQL")
    AST_TRIGGERS = {ast.Call: _raw_trigger}


_LOOKUP_METHODS = frozenset({"select_related", "prefetch_related"})


def _is_prefetch_lookup(node: ast.expr) -> bool:
    """A ``Prefetch("<lookup>", ...)`` call with a literal lookup."""
    return bool(_prefetch_lookups(node))


def _prefetch_lookups(node: ast.expr) -> list[str]:
    """The literal lookups of a ``Prefetch(...)`` call (its first argument or
    ``lookup=``); none for anything else."""
    if type(node) is not ast.Call:
        return []
    func = node.func
    name = func.attr if type(func) is ast.Attribute else getattr(func, "id", "")
    if name != "Prefetch":
        return []
    values = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "lookup")]
    return [v.value for v in values if type(v) is ast.Constant and isinstance(v.value, str)]


def _registered_admin(node: ast.ClassDef) -> bool:
    """A class decorated ``@admin.register(Model)`` (or a project's ``@register(Model)``)."""
    for decorator in node.decorator_list:
        if type(decorator) is ast.Call and decorator.args:
            name = ast_dotted_name(decorator.func) or ""
            if name.rsplit(".", 1)[-1] == "register":
                return True
    return False


def _list_select_related(node: ast.ClassDef) -> bool:
    for statement in node.body:
        if (
            type(statement) is ast.Assign
            and any(
                type(t) is ast.Name and t.id == "list_select_related" for t in statement.targets
            )
            and type(statement.value) in (ast.List, ast.Tuple)
        ):
            return True
    return False


def _admin_lookup_trigger(node: ast.ClassDef, ctx: FileContext) -> bool:
    """A registered model admin with a literal ``list_select_related``."""
    return _registered_admin(node) and _list_select_related(node)


def _lookup_trigger(node: ast.Call, ctx: FileContext) -> bool:
    """``select_related(...)``/``prefetch_related(...)`` with a literal lookup, in a
    function on a queryset the analysis may give a value (not on nothing: ``_kind``),
    and not on a manager chain of a model of the index (``Product.objects.filter(...)``)
    whose every lookup is a valid path of that model."""
    func = node.func
    if type(func) is not ast.Attribute or func.attr not in _LOOKUP_METHODS:
        return False
    if not any(
        (type(arg) is ast.Constant and isinstance(arg.value, str))
        or type(arg) is ast.JoinedStr
        or (func.attr == "prefetch_related" and _is_prefetch_lookup(arg))
        for arg in node.args
    ):
        return False
    scope = _function_of(ctx)
    if scope is None:
        return True
    kinds = _name_kinds(scope, ctx)
    if _kind(func.value, kinds, ctx, 0) == _NONE:
        return False  # ``order.items.select_related(...)`` of an unknown ``order``
    model = _chain_model(func.value, kinds, ctx)
    return model is None or _lookups_fail(node, func.attr, model, ctx)


def _chain_model(node: ast.AST, kinds: dict[str, Any], ctx: FileContext) -> Model | None:
    """The model of ``<Model>.<manager>`` followed by queryset methods that keep its rows
    (``filter()``, ``order_by()``, ``select_related()``...), ``<Model>`` a module-level
    name (or dotted path) of a model of the index: the queryset the analysis gives."""
    while (
        type(node) is ast.Call
        and type(node.func) is ast.Attribute
        and (node.func.attr in KEEP_METHODS or node.func.attr in LOADING)
    ):
        node = node.func.value
    if type(node) is not ast.Attribute:
        return None
    dotted = ast_dotted_name(node.value)
    if dotted is None or dotted.partition(".")[0] in kinds:
        return None
    try:
        from flake8_djguide.index import get_index

        file_index = get_index(ctx)
    except Exception:
        return None
    model = file_index.index.model_named(file_index.module, dotted)
    manager = node.attr
    if model is None or (manager not in model.managers and manager not in MANAGER_ATTRS):
        return None
    return model


def _lookups_fail(node: ast.Call, method: str, model: Model, ctx: FileContext) -> bool:
    """Whether a literal lookup of the call is no valid path of ``model`` for DJG207
    (``_lookups.checked_step``), or cannot be read here (an f-string)."""
    from flake8_djguide.index import get_index
    from flake8_djguide.index.querysets import split
    from flake8_djguide.rules._lookups import check, is_strict

    index = get_index(ctx).index
    texts: list[str] = []
    for arg in node.args:
        if type(arg) is ast.JoinedStr:
            return True
        if type(arg) is ast.Constant and isinstance(arg.value, str):
            texts.append(arg.value)
        elif method == "prefetch_related":
            texts.extend(_prefetch_lookups(arg))
    for text in texts:
        path = split(text)
        if path and check(index, model, path, method, lambda: is_strict(ctx)) is not None:
            return True
    return False


class InvalidRelatedLookup(_FlowRule):
    """Checks for ``select_related``/``prefetch_related`` paths that are not relation chains."""

    CODE = "DJG207"
    NAME = "invalid-related-lookup"
    MESSAGE = "`{lookup}`: {problem}; {remedy}"
    RATIONALE = (
        "A `select_related()` path through a plain field, a to-many relation or a name the "
        "model does not have raises `FieldError` when the queryset runs, and a "
        "`prefetch_related()` path through a plain field raises once rows are fetched; both "
        "are easy to write after a field is renamed or split, and neither loads anything, so "
        "the N+1 queries they were meant to prevent stay."
    )
    GUIDE = (
        "002: PERF001 avoid N+1 queries "
        "(`select_related('profile').prefetch_related('orders')`; 003: optimize queries)"
    )
    OPTIONS = ("cache-dir", "index-max-files", "project-root", "source-roots")
    NOTES = (
        "Checked: string arguments of `select_related()` and `prefetch_related()`, and the "
        "lookup of `Prefetch(...)` arguments of `prefetch_related()`, on a queryset whose model "
        "the model index knows (a manager chain, a variable, `self.get_queryset()`, a DRF "
        "`queryset =`, a related manager), and the `list_select_related` list of a model admin "
        "registered with `@admin.register(Model)` (or a project's `@register(Model)`), walked "
        "`__` by `__` from that model. `select_related()` may follow forward ForeignKey/"
        "OneToOneField and reverse one-to-one relations (and multi-table inheritance links): a "
        "concrete non-relational field, a to-many relation or a GenericForeignKey is reported "
        "(the last two with `prefetch_related()` as the remedy). A name the index does not know "
        "is reported in `select_related()` only when it is a close misspelling (1 edit for "
        "names of up to 4 letters, else 2; a stale singular of a to-many relation counts) of a "
        "field or relation of a model whose bases are all known, that is not the user model "
        "(third-party apps point one-to-one relations at it), whose body assigns that name "
        "nothing the index cannot classify (a third-party field class), in a file that does "
        "not use `FilteredRelation` (its aliases are relations only the query knows). "
        "`prefetch_related()` accepts any relation, GenericForeignKey and GenericRelation, and "
        "also attributes the index cannot see (properties and methods returning objects, "
        "`to_attr` lists, reverse accessors of third-party models), so only a known concrete "
        "non-relational field is reported there. A known non-relational field is reported even "
        "on a model with a third-party base (a base cannot make a field declared in the project "
        "a relation); a project field class counts as a relation when it derives from a "
        "relation field, and as unknown when it derives from a third-party class. Past a "
        "relation to a model the index does not know (a third-party model, a "
        "GenericForeignKey), nothing more is checked. Left alone: `select_related()` with no "
        "arguments, `None`, arguments that are not literals, `list_select_related = True`, and "
        "admins registered with `admin.site.register(...)`. A reported path counts as loading "
        "nothing for DJG201-DJG203 (the queryset raises, or prefetches nothing)."
    )
    VALID = [
        Valid(
            _MODELS + "def products():\n"
            '    return Product.objects.select_related("category").prefetch_related("tags")\n'
        ),
        Valid(
            _MODELS + "from django.db.models import Prefetch\n\n\n"
            "def products():\n"
            "    return Product.objects.prefetch_related(\n"
            '        Prefetch("tags", queryset=Tag.objects.order_by("name"), to_attr="sorted_tags")\n'
            "    )\n"
        ),
    ]
    INVALID = [
        Invalid(
            _MODELS
            + 'def products():\n    return Product.objects.select_related("category__name")\n',
            19,
            42,
        ),
        Invalid(
            _MODELS + 'def products():\n    return Product.objects.select_related("tags")\n',
            19,
            42,
        ),
    ]
    TEXT_HINTS = ("select_related", "prefetch_related")
    AST_TRIGGERS = {ast.Call: _lookup_trigger, ast.ClassDef: _admin_lookup_trigger}

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Everywhere, migrations included (a wrong path fails there too)."""
        return True

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """``list_select_related`` of a model admin registered with ``@register(Model)``:
        the change list passes it to ``select_related()``."""
        model = self._registered_model(node)
        if model is None:
            return
        from flake8_djguide.index import get_index
        from flake8_djguide.index.querysets import split
        from flake8_djguide.rules._lookups import check, is_strict

        index = get_index(self.ctx).index
        for statement in node.body.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if not (
                    isinstance(small, cst.Assign)
                    and any(
                        isinstance(t.target, cst.Name) and t.target.value == "list_select_related"
                        for t in small.targets
                    )
                    and isinstance(small.value, (cst.List, cst.Tuple))
                ):
                    continue
                for element in small.value.elements:
                    text = string_value(element.value)
                    path = split(text) if text is not None else ()
                    if not path:
                        continue
                    found = check(index, model, path, "select_related", lambda: is_strict(self.ctx))
                    if found is not None:
                        problem, remedy = found.describe(index)
                        if found.kind in ("many", "gfk"):
                            remedy = f"remove it and {remedy} in the admin's `get_queryset()`"
                        message = f"`{text}`: {problem}; {remedy}"
                        self.report(
                            element.value, message=message.replace("{", "{{").replace("}", "}}")
                        )

    def _registered_model(self, node: cst.ClassDef) -> Model | None:
        for decorator in node.decorators:
            call = decorator.decorator
            if not isinstance(call, cst.Call) or not call.args:
                continue
            name = dotted_name(call.func) or ""
            if name.rsplit(".", 1)[-1] != "register":
                continue
            first = call.args[0]
            target = dotted_name(first.value) if first.keyword is None and not first.star else None
            if target is None:
                continue
            from flake8_djguide.index import get_index

            found = get_index(self.ctx)
            return found.index.model_named(found.module, target)
        return None
