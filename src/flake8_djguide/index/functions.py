"""Function summaries, read from a module's ``ast`` tree, as plain JSON-able data.

For every module-level function and every method of a module-level class, what a
call of it does with its arguments, as far as the ORM rules care:

- ``"p"``: its positional parameter names (``self`` included for methods);
- ``"d"``: how many of the last of them have a default (left out when none);
- ``"r"``: per parameter, the attribute chains read on it (at most two links:
  ``obj.author.name`` gives ``["author", "name"]``, ``obj.tags.all()`` gives
  ``["tags", "all()"]``);
- ``"rows"``: per parameter, the chains read on the rows of a loop over it
  (``for step in steps: step.form.name`` gives ``["form", "name"]``);
- ``"q"``: ``[origin, method]`` when the body runs a query on every call
  (``return Line.objects.filter(...).count()`` in a statement of the body itself,
  not under an ``if``), ``origin`` being the model's name as written (``Line``), and
  writes nothing (no ``save()``, ``delete()``, manager ``create()``/``update()``...
  anywhere in it: such a function is a job of its own per call, a scan, an import, a
  reminder sent and recorded, whose reads come with its writes);
- ``"ret"``: the querysets it returns (encoded as in :mod:`flake8_djguide.index.extract`),
  when every ``return`` gives a queryset built on a model's manager, directly or through
  a local variable (each of its assignments, in every branch);
- ``"pass"``: the position of the parameter whose rows every ``return`` gives back
  (``return queryset.filter(...)``, a local name refined in any branch, a page of
  ``Paginator(queryset, n)``): the rows of the argument, loading what it loads;
- ``"via"``: ``[name, [[parameter, argument], ...]]`` when a call of another function
  gives them back (``return paginate(request, rows)``): its name as written in the
  module, and the positions of the parameters passed to it as arguments (that function's
  own ``"pass"`` or ``"via"`` tells which one it gives back);
- ``"prop"``: ``1`` for a ``@property``/``@cached_property``;
- ``"own"``: for a property of one parameter whose one ``return`` is a related manager of
  ``self`` refined by calls that keep its rows (``return self.all_positions.filter(
  canceled=False)``), ``[attribute, ""]``, or called with a manager of its model
  (``self.all_positions(manager="objects")``), ``[attribute, manager]``: the property
  gives the rows of that relation;
- ``"cm"``: ``1`` for a ``@classmethod`` (``Model.method(...)`` gives its ``"ret"``);
- ``"opt"``: the parameters defaulting to ``None`` whose rows some ``return`` gives back
  instead (``queryset=None``): ``"ret"`` is what a call that leaves them out returns.

A parameter that the body assigns again has no reads (what is read is then
unknown). Functions with nothing to tell are left out. Keys are ``name`` or
``Class.name``.
"""

from __future__ import annotations

import ast
from typing import Any

from flake8_djguide.helpers import ast_children, ast_walk
from flake8_djguide.helpers import ast_dotted_name as dotted_name

#: Chains kept per parameter.
_MAX_CHAINS = 12
#: Reading manager/queryset methods: a query each time they run (writes are left out: a
#: helper that records one row per call is what it is meant to be).
_QUERYING = frozenset(
    {
        "get",
        "first",
        "last",
        "latest",
        "earliest",
        "count",
        "exists",
        "aggregate",
        "in_bulk",
    }
)
#: Writing calls on any receiver (an instance's ``save()``, a queryset's ``bulk_create()``).
_WRITING = frozenset({"save", "bulk_create", "bulk_update", "get_or_create", "update_or_create"})
#: Writing calls on a chain rooted at a model's manager (``Line.objects.filter(...).update()``).
_MANAGER_WRITING = frozenset({"create", "update", "delete"})
_EVALUATING_CALLS = frozenset({"list", "len", "tuple", "set", "sorted", "sum", "any", "all"})
MANAGERS = frozenset({"objects", "_default_manager"})
_PROPERTIES = frozenset({"property", "cached_property"})


def attribute_chain(node: ast.AST, seen: set[int]) -> tuple[list[str], ast.AST]:
    """The attribute chain ``node`` reads and its root: ``a.b.c()`` gives
    ``(["b", "c()"], a)``. The nodes of the chain are added to ``seen`` (a walk skips
    them: their own chains are parts of this one)."""
    chain: list[str] = []
    current: ast.AST = node
    while True:
        seen.add(id(current))
        if isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
            chain.append(current.func.attr + "()")
            seen.add(id(current.func))
            current = current.func.value
        elif isinstance(current, ast.Attribute):
            chain.append(current.attr)
            current = current.value
        else:
            break
    chain.reverse()
    return chain, current


def _chains(nodes: list[ast.AST], names: set[str]) -> dict[str, list[list[str]]]:
    """Attribute chains (at most two links) read on each of ``names`` in ``nodes`` (a
    subtree's nodes in ``ast.walk`` order), in one pass."""
    found: dict[str, list[list[str]]] = {}
    seen: set[int] = set()
    for sub in nodes:
        kind = type(sub)
        if (kind is not ast.Attribute and kind is not ast.Call) or id(sub) in seen:
            continue
        chain, current = attribute_chain(sub, seen)
        if isinstance(current, ast.Name) and current.id in names and chain:
            short = chain[:2]
            chains = found.setdefault(current.id, [])
            if short not in chains and len(chains) < _MAX_CHAINS:
                chains.append(short)
    return found


#: Nodes binding their ``target``.
_TARGETED = frozenset(
    {ast.AugAssign, ast.AnnAssign, ast.NamedExpr, ast.For, ast.AsyncFor, ast.comprehension}
)


def _assigned(nodes: list[ast.AST]) -> set[str]:
    """Names the body binds again (assignments, loop targets, ``with ... as``, ``:=``), from
    the function's nodes."""
    names: set[str] = set()
    for node in nodes:
        kind = type(node)
        if kind is ast.Assign:
            targets: list[ast.AST] = node.targets  # type: ignore[attr-defined]
        elif kind in _TARGETED:
            targets = [node.target]  # type: ignore[attr-defined]
        elif kind is ast.withitem and node.optional_vars is not None:  # type: ignore[attr-defined]
            targets = [node.optional_vars]  # type: ignore[attr-defined]
        else:
            continue
        for target in targets:
            names.update(_bound_names(target))
    return names


def _bound_names(target: ast.AST) -> list[str]:
    """The names an assignment target binds: ``a``, ``a, *b``; none for ``a.x`` or
    ``a[i]``, which change the object ``a`` holds, not the name."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _bound_names(element)]
    return []


def _attribute_writes(nodes: list[ast.AST]) -> dict[str, set[str]]:
    """The attributes assigned on each name (``order.customer = c``), from the function's
    nodes: reading them afterwards reads what was assigned, no query."""
    writes: dict[str, set[str]] = {}
    for node in nodes:
        kind = type(node)
        if kind is ast.Assign:
            targets: list[ast.AST] = node.targets  # type: ignore[attr-defined]
        elif kind is ast.AugAssign or kind is ast.AnnAssign:
            targets = [node.target]  # type: ignore[attr-defined]
        else:
            continue
        for target in targets:
            for sub in ast_walk(target, operators=False):
                if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
                    writes.setdefault(sub.value.id, set()).add(sub.attr)
    return writes


def _row_chains(nodes: list[ast.AST], names: set[str]) -> dict[str, list[list[str]]]:
    """Chains read on the rows of ``for row in <name>`` (statement or comprehension), for
    each of ``names``, from the function's nodes."""
    found: dict[str, list[list[str]]] = {}
    for node in nodes:
        if isinstance(node, (ast.For, ast.AsyncFor)):
            loops: list[tuple[ast.AST, ast.AST, list[ast.AST]]] = [
                (node.iter, node.target, list(node.body))
            ]
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            parts: list[ast.AST] = (
                [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            )
            loops = [(g.iter, g.target, [*parts, *g.ifs]) for g in node.generators]
        else:
            continue
        for iterable, target, body in loops:
            if not (
                isinstance(iterable, ast.Name)
                and iterable.id in names
                and isinstance(target, ast.Name)
            ):
                continue
            chains = found.setdefault(iterable.id, [])
            for part in body:
                for chain in _chains(ast_walk(part, operators=False), {target.id}).get(
                    target.id, ()
                ):
                    if chain not in chains and len(chains) < _MAX_CHAINS:
                        chains.append(chain)
    return found


def _manager_root(node: ast.AST) -> str | None:
    """``Line`` for ``Line.objects.filter(...).values(...)`` (a chain on a model's manager)."""
    current = node
    while True:
        if isinstance(current, ast.Call):
            current = current.func
        elif isinstance(current, ast.Attribute):
            if current.attr in MANAGERS:
                root = dotted_name(current.value)
                if root is not None and root.rsplit(".", 1)[-1][:1].isupper():
                    return root
                return None
            current = current.value
        else:
            return None


#: Lookups in a cache (``cache.get(key)``, ``caches["default"].get_many(keys)``).
_CACHE_LOOKUPS = frozenset({"get", "get_many", "get_or_set", "has_key"})


def _shared_cache(node: ast.AST, own: str | None) -> bool:
    """A cache kept across calls (``cache``, ``caches["x"]``, ``self.cache_backend`` is
    not: an attribute of ``own``, the instance, lives as long as it does)."""
    if isinstance(node, ast.Subscript):
        node = node.value
    name = dotted_name(node)
    if name is None or (own is not None and name.split(".", 1)[0] == own):
        return False
    return name.rsplit(".", 1)[-1].lower().endswith(("cache", "caches"))


def memoised(
    function: ast.FunctionDef | ast.AsyncFunctionDef, nodes: list[ast.AST] | None = None
) -> bool:
    """Whether the function looks its result up in a cache kept across calls
    (``cached = cache.get(key)``, ``if key not in cache:``): its queries and reads then run
    only on a miss, not on every call. ``nodes``: the function's nodes, when already
    walked (:func:`~flake8_djguide.helpers.ast_walk`)."""
    params = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
    own = params[0] if params and params[0] in ("self", "cls") else None
    for node in ast_walk(function, operators=False) if nodes is None else nodes:
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _CACHE_LOOKUPS
            and _shared_cache(node.func.value, own)
        ):
            return True
        if (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], (ast.In, ast.NotIn))
            and _shared_cache(node.comparators[0], own)
        ):
            return True
    return False


def manager_query(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the function queries a model's manager (``WeightEntry.objects.filter(...)``)
    somewhere: a query no ``select_related()``/``prefetch_related()`` of the caller's rows
    removes."""
    return any(
        isinstance(node, ast.Call) and _manager_root(node.func) is not None
        for node in ast.walk(function)
    )


#: Prefetched lookups kept per module.
_MAX_PREFETCHES = 64


def prefetched_lookups(tree: ast.Module) -> list[list[str]]:
    """``[model, lookup, ...]`` for each ``prefetch_related()`` call of the module on a
    model's manager chain: its literal lookups (``Package.objects.prefetch_related(
    Prefetch("gridpackage_set__grid"))``; a ``Prefetch`` with ``to_attr`` fills another
    attribute and is left out), the model named by its import origin (``@Name`` for one
    the module defines)."""
    from flake8_djguide.index.extract import import_map

    change = _qualify(import_map(tree)[0])
    found: list[list[str]] = []
    for node in ast_walk(tree, operators=False):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "prefetch_related"
        ):
            continue
        root = _manager_root(node.func.value)
        if root is None:
            continue
        lookups: list[str] = []
        for arg in node.args:
            if isinstance(arg, ast.Call) and not any(k.arg == "to_attr" for k in arg.keywords):
                if (dotted_name(arg.func) or "").rsplit(".", 1)[-1] != "Prefetch" or not arg.args:
                    continue
                arg = arg.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value:
                lookups.append(arg.value)
        entry = [change(root), *lookups]
        if lookups and entry not in found and len(found) < _MAX_PREFETCHES:
            found.append(entry)
    return found


def _batch(node: ast.AST) -> bool:
    """Whether a chain filters with ``<field>__in=...`` (one query for a batch of rows)."""
    current = node
    while isinstance(current, (ast.Call, ast.Attribute)):
        if isinstance(current, ast.Call):
            if any(k.arg and k.arg.endswith("__in") for k in current.keywords):
                return True
            current = current.func
        else:
            current = current.value
    return False


def _may_query(function: ast.FunctionDef | ast.AsyncFunctionDef, nodes: list[ast.AST]) -> bool:
    """Whether :func:`_query` may find a query in a statement of ``function``'s body (whose
    nodes are ``nodes``): a ``for`` loop of the body, or a call :func:`_query` looks at."""
    if any(isinstance(statement, (ast.For, ast.AsyncFor)) for statement in function.body):
        return True
    for node in nodes:
        if type(node) is ast.Call:
            func = node.func
            if (type(func) is ast.Attribute and func.attr in _QUERYING) or (
                type(func) is ast.Name and func.id in _EVALUATING_CALLS
            ):
                return True
    return False


def _query(statement: ast.stmt) -> list[str] | None:
    """``[model name, method]`` of a query the statement always runs (not one filtered
    ``__in`` a collection: a helper given a batch runs one query per batch)."""
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        root = _manager_root(statement.iter)
        return [root, "iterate"] if root is not None and not _batch(statement.iter) else None
    if isinstance(statement, (ast.If, ast.While, ast.Try, ast.With, ast.FunctionDef, ast.ClassDef)):
        return None
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Lambda, ast.IfExp, ast.BoolOp)):
            continue  # conditional or deferred
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in _QUERYING:
                root = _manager_root(func.value)
                if root is not None and not _batch(func.value):
                    return [root, func.attr]
            elif isinstance(func, ast.Name) and func.id in _EVALUATING_CALLS and node.args:
                root = _manager_root(node.args[0])
                if root is not None and not _batch(node.args[0]):
                    return [root, func.id]
        stack.extend(ast_children(node, operators=False))
    return None


def _writes(function: ast.AST) -> bool:
    """Whether the body writes to the database somewhere (under an ``if`` too, not in a
    nested function): ``obj.save()``, ``obj.delete()``, ``Line.objects.create(...)``,
    ``qs.bulk_create(...)``..."""
    stack: list[ast.AST] = ast_children(function, operators=False)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in _WRITING or (name == "delete" and not node.args and not node.keywords):
                return True
            if name in _MANAGER_WRITING and _manager_root(node.func.value) is not None:
                return True
        stack.extend(ast_children(node, operators=False))
    return False


_LOADING = frozenset(
    {"select_related", "prefetch_related", "only", "defer", "values", "values_list"}
)


def _calls_in_chain(node: ast.AST) -> set[str]:
    names: set[str] = set()
    current = node
    while isinstance(current, (ast.Call, ast.Attribute)):
        if isinstance(current, ast.Call):
            if isinstance(current.func, ast.Attribute):
                names.add(current.func.attr)
            current = current.func
        else:
            current = current.value
    return names


def _chain_root(node: ast.AST) -> ast.AST:
    current = node
    while isinstance(current, (ast.Call, ast.Attribute)):
        current = current.func if isinstance(current, ast.Call) else current.value
    return current


#: Nodes whose bodies :func:`_returned` does not enter.
_OWN_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda})
#: Statements rebinding names other than by a plain ``name = ...``.
_REBINDING = frozenset({ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.With})


def _optional_querysets(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The parameters that default to ``None`` (``queryset=None``)."""
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    pairs = list(zip(positional[len(positional) - len(args.defaults) :], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    return {a.arg for a, d in pairs if isinstance(d, ast.Constant) and d.value is None}


def _returned(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    cls: tuple[str, str] | None = None,
    given: list[str] | None = None,
) -> list[Any] | None:
    """The querysets a function returns, encoded (``["call", ...]`` chains on a model's
    manager), when every ``return`` gives one: directly or through a local variable whose
    every assignment does (``qs = qs.filter(...)`` in a branch keeps what ``qs`` loads).
    A branch loading more (``qs = qs.prefetch_related(...)``) adds that queryset too: what
    any of them loads counts as loaded. ``cls``: a classmethod's first parameter and its
    class (``cls.objects`` is the class's manager). ``None`` when some return is anything
    else. A parameter defaulting to ``None`` that a branch returns the rows of
    (``findings = Finding.objects.all() if queryset is None else queryset``) is added to
    ``given``: what the function returns when a call leaves it out."""
    from flake8_djguide.index.extract import encode

    returns: list[ast.expr] = []
    assignments: dict[str, list[ast.expr]] = {}
    other: set[str] = set()
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind in _OWN_SCOPES:
            continue
        if kind is ast.Return:
            if node.value is None:  # type: ignore[attr-defined]
                return None
            returns.append(node.value)  # type: ignore[attr-defined]
            continue
        if kind is ast.Assign and len(node.targets) == 1:  # type: ignore[attr-defined]
            target = node.targets[0]  # type: ignore[attr-defined]
            if isinstance(target, ast.Name):
                assignments.setdefault(target.id, []).append(node.value)  # type: ignore[attr-defined]
                continue
        if kind in _REBINDING:
            for sub in ast_walk(getattr(node, "target", node), operators=False):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    other.add(sub.id)
        stack.extend(ast_children(node, operators=False))
    if not returns:
        return None
    optional = _optional_querysets(function)

    def assigned_values(name: str) -> list[ast.expr] | None:
        """The querysets a local name holds: each assignment, and each with a branch's
        loading calls on it (``qs = qs.prefetch_related(...)``)."""
        if name in other or name not in assignments:
            return None
        bases: list[ast.expr] = []
        loading: list[ast.expr] = []
        for assigned in assignments[name]:
            root = _chain_root(assigned)
            if isinstance(root, ast.Name) and root.id == name:
                if _calls_in_chain(assigned) & _LOADING:
                    loading.append(assigned)
                continue
            bases.append(assigned)
        return bases + [_substituted(more, base) for more in loading for base in bases]

    found: list[Any] = []
    for value in returns:
        values: list[ast.expr] | None = [value]
        root_name = _chain_root(value)
        if isinstance(value, ast.Name):
            values = assigned_values(value.id)
        elif isinstance(root_name, ast.Name) and root_name.id in assignments:
            # ``return groups.filter(...)``, ``groups`` a local queryset: each of its values
            # with the calls of the return
            held = assigned_values(root_name.id)
            values = None if held is None else [_substituted(value, v) for v in held]
        if not values:
            return None
        for candidate in values:
            base = _chain_root(candidate)
            if (
                given is not None
                and isinstance(base, ast.Name)
                and base.id in optional
                and base.id not in assignments
                and base.id not in other
            ):
                if base.id not in given:
                    given.append(base.id)
                continue
            if cls is not None and isinstance(base, ast.Name) and base.id == cls[0]:
                candidate = _substituted(candidate, ast.Name(id=cls[1], ctx=ast.Load()))
            if _manager_root(candidate) is None or (
                isinstance(candidate, ast.Call)
                and isinstance(candidate.func, ast.Attribute)
                and candidate.func.attr in _QUERYING
            ):
                return None
            encoded = encode(candidate)
            if encoded not in found:
                found.append(encoded)
    return found or None


def _exits(statement: ast.stmt) -> bool:
    """Whether ``statement`` holds a ``return`` or a ``raise`` (nested functions included)."""
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Return or kind is ast.Raise:
            return True
        stack.extend(ast_children(node, operators=False))
    return False


#: Calls that give the rows of what they are called on: a page of a paginator iterates them.
_PAGE_CALLS = frozenset({"get_page", "page"})
_PAGINATORS = frozenset({"Paginator"})


_NESTED_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda})


class _GivenBack:
    """Which parameter's rows a function's ``return`` gives back (see :func:`_passed`)."""

    def __init__(self, function: ast.FunctionDef | ast.AsyncFunctionDef, params: list[str]) -> None:
        self.params = params
        self.assigned: dict[str, list[ast.Assign]] = {}
        self.stored: set[str] = set()
        self.returns: list[ast.expr] = []
        self.top = {id(s) for s in function.body}
        self.ok = True
        stack: list[ast.AST] = list(function.body)
        # exact types (``ast.parse`` makes no subclasses): one walk per function summarised
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind in _NESTED_SCOPES:
                continue
            if kind is ast.Return:
                value = node.value  # type: ignore[attr-defined]
                if value is None:
                    self.ok = False
                else:
                    self.returns.append(value)
            elif kind is ast.Assign:
                targets = node.targets  # type: ignore[attr-defined]
                if len(targets) == 1 and type(targets[0]) is ast.Name:
                    self.assigned.setdefault(targets[0].id, []).append(node)  # type: ignore[arg-type]
                    stack.append(node.value)  # type: ignore[attr-defined]
                    continue
            elif kind is ast.Name:
                if type(node.ctx) is ast.Store:  # type: ignore[attr-defined]
                    self.stored.add(node.id)  # type: ignore[attr-defined]
            elif kind is ast.NamedExpr:
                self.stored.add(node.target.id)  # type: ignore[attr-defined]
            stack.extend(ast_children(node, operators=False))  # ``ctx`` is read on the node
        self.visiting: set[str] = set()

    def rows(self, node: ast.AST) -> tuple[Any, ...] | None:
        """``("p", parameter)`` when ``node`` gives the rows of a parameter: refined by
        calls that keep what they load, or a page of ``Paginator(rows, n)``;
        ``("v", name, [[parameter, position], ...])`` for a call of another function given
        parameters (its name as written; which one it gives back is its own summary's)."""
        from flake8_djguide.index.querysets import KEEP_METHODS

        if isinstance(node, ast.Name):
            return self._name(node.id)
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        if isinstance(func, ast.Attribute) and (
            func.attr in KEEP_METHODS or func.attr in _PAGE_CALLS
        ):
            return self.rows(func.value)
        name = dotted_name(func)
        if name is None or any(isinstance(a, ast.Starred) for a in node.args):
            return None
        if name.rsplit(".", 1)[-1] in _PAGINATORS:
            found = self.rows(node.args[0]) if node.args else None
            return found if found is not None and found[0] == "p" else None
        head = name.partition(".")[0]
        if head in self.assigned or head in self.params or head in self.stored:
            return None  # a method of a local value
        if name in _EVALUATING_CALLS:
            return None  # ``list(rows)``: no queryset
        pairs = []
        for position, arg in enumerate(node.args):
            found = self.rows(arg) if isinstance(arg, ast.Name) else None
            if found is not None and found[0] == "p":
                pairs.append([found[1], position])
        return ("v", name, pairs) if pairs else None

    def _name(self, name: str) -> tuple[Any, ...] | None:
        if name in self.stored or name in self.visiting:
            return None
        records = self.assigned.get(name, [])
        if not records:
            return ("p", name) if name in self.params else None
        self.visiting.add(name)
        try:
            refining = [r for r in records if _root_id(r.value) == name]
            sources = [r for r in records if r not in refining]
            for record in refining:
                if not _keeping(record.value, name):
                    return None
            if name in self.params and not sources:
                return "p", name
            # the last source sets the rows: a statement of the body itself, after the rest
            if not sources:
                return None
            last = max(sources, key=lambda r: (r.lineno, r.col_offset))
            if id(last) not in self.top or any(
                (r.lineno, r.col_offset) > (last.lineno, last.col_offset) for r in sources
            ):
                return None
            return self.rows(last.value)
        finally:
            self.visiting.discard(name)


def _root_id(node: ast.AST) -> str | None:
    root = _chain_root(node)
    return root.id if isinstance(root, ast.Name) else None


def peel_calls(node: ast.AST | None, methods: frozenset[str]) -> tuple[ast.AST | None, list[str]]:
    """``node`` without its outer calls of ``methods`` (``qs.filter(...).distinct()``:
    ``qs``), and the names of the calls taken off, outermost first."""
    peeled: list[str] = []
    current = node
    while (
        isinstance(current, ast.Call)
        and isinstance(current.func, ast.Attribute)
        and current.func.attr in methods
    ):
        peeled.append(current.func.attr)
        current = current.func.value
    return current, peeled


def _keeping(node: ast.AST, name: str) -> bool:
    """``name.filter(...).order_by(...)``: calls on ``name`` that keep what it loads."""
    from flake8_djguide.index.querysets import KEEP_METHODS

    root, _ = peel_calls(node, KEEP_METHODS)
    return isinstance(root, ast.Name) and root.id == name


#: The returned expressions that may give a parameter's rows back (see :func:`_passed`).
_GIVING = (ast.Name, ast.Call)


def _own_rows(value: ast.expr | None, self_name: str) -> list[str] | None:
    """``[name, manager]`` when ``value`` is ``<self>.<name>`` refined by methods that keep
    the rows and what they load (``self.all_positions.filter(canceled=False)``; manager
    ``""``), or called with a manager of its model (``self.all_positions(manager="objects")``,
    Django's related manager on another manager)."""
    from flake8_djguide.index.querysets import KEEP_METHODS

    current, peeled = peel_calls(value, KEEP_METHODS)
    calls = len(peeled)
    manager = ""
    if isinstance(current, ast.Call) and not current.args and len(current.keywords) == 1:
        keyword = current.keywords[0]
        if (
            keyword.arg == "manager"
            and isinstance(keyword.value, ast.Constant)
            and isinstance(keyword.value.value, str)
        ):
            manager = keyword.value.value
            current = current.func
            calls += 1
    if (
        calls
        and isinstance(current, ast.Attribute)
        and isinstance(current.value, ast.Name)
        and current.value.id == self_name
    ):
        return [current.attr, manager]
    return None


def _passed(function: ast.FunctionDef | ast.AsyncFunctionDef, params: list[str]) -> Any:
    """What every ``return`` gives back (see :meth:`_GivenBack.rows`): the position of a
    parameter, or ``[name, [[parameter position, argument position], ...]]`` for a call
    of another function; ``None`` otherwise."""
    given = _GivenBack(function, params)
    if not given.ok or not given.returns:
        return None
    found = {_key(given.rows(value)) for value in given.returns}
    if len(found) != 1:
        return None
    result = given.rows(given.returns[0])
    if result is None:
        return None
    if result[0] == "p":
        return params.index(result[1])
    return [result[1], [[params.index(p), position] for p, position in result[2]]]


def _key(value: object) -> str:
    import json

    return json.dumps(value)


def _substituted(chain: ast.expr, root: ast.expr) -> ast.expr:
    """``chain`` with its root name replaced by ``root`` (a copy)."""
    import copy

    chain = copy.deepcopy(chain)
    current: ast.AST = chain
    while True:
        if isinstance(current, ast.Call):
            if not isinstance(current.func, ast.Name):
                current = current.func
                continue
            current.func = root
            return chain
        if isinstance(current, ast.Attribute):
            if isinstance(current.value, ast.Name):
                current.value = root
                return chain
            current = current.value
            continue
        return chain


def _decorators(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [(dotted_name(d) or "").rsplit(".", 1)[-1] for d in function.decorator_list]


def rooted(encoded: Any, change: Any) -> Any:
    """``encoded`` (a chain) with its root dotted name replaced by ``change(name)``."""
    tag = encoded[0]
    if tag == "call":
        return ["call", rooted(encoded[1], change), *encoded[2:]]
    if tag == "attr":
        return ["attr", rooted(encoded[1], change), encoded[2]]
    if tag == "ref":
        return ["ref", change(encoded[1])]
    return encoded


def _qualify(imports: dict[str, str]) -> Any:
    """A name of the module as its import origin (relative ones keep their dots), or
    ``@name`` for a name the module defines."""

    def change(dotted: str) -> str:
        head, _, rest = dotted.partition(".")
        origin = imports.get(head)
        if origin is None:
            return f"@{dotted}"
        return f"{origin}.{rest}" if rest else origin

    return change


def summarise(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    imports: dict[str, str] | None = None,
    owner: str | None = None,
) -> dict[str, Any] | None:
    """The summary of one function (see the module docstring), ``None`` when empty.

    With the module's ``imports``, the models of ``ret`` are named by their origin (as
    the index keeps them); without, as written in the module. ``owner``: the class of a
    method (a classmethod's ``cls.objects`` is its manager)."""
    args = function.args
    params = [a.arg for a in (*args.posonlyargs, *args.args)]
    decorators = _decorators(function)
    nodes = ast_walk(function, operators=False)
    kept = set(params) - _assigned(nodes)
    memo = memoised(function, nodes)
    if memo:
        kept = set()  # read only when the cache misses
    read_on = _chains(nodes, kept) if kept else {}
    for name, attrs in _attribute_writes(nodes).items():
        if name in read_on:
            read_on[name] = [chain for chain in read_on[name] if chain[0] not in attrs]
    rows_of = _row_chains(nodes, kept) if kept else {}
    reads = [read_on.get(name, []) for name in params]
    rows = [rows_of.get(name, []) for name in params]
    summary: dict[str, Any] = {}
    if any(reads):
        summary["r"] = reads
    if any(rows):
        summary["rows"] = rows
    memoized = memo or any(
        "cache" in d or "memo" in d for d in decorators if d != "cached_property"
    )
    if not memoized and _may_query(function, nodes):
        for statement in function.body:
            query = _query(statement)
            if query is not None:
                if not _writes(function):  # the whole body: after the query's statement too
                    summary["q"] = query
                break
            if _exits(statement):
                break  # what follows runs only on some calls
    classmethod = owner is not None and "classmethod" in decorators and bool(params)
    returns = [n for n in nodes if isinstance(n, ast.Return)]
    given: list[str] = []
    returned = (
        _returned(function, (params[0], owner) if classmethod and owner else None, given)
        if returns
        else None
    )
    if returned is not None:
        if imports is not None:
            change = _qualify(imports)
            returned = [rooted(encoded, change) for encoded in returned]
        summary["ret"] = returned
        if given:
            summary["opt"] = given
    if (
        len(params) == 1
        and len(returns) == 1
        and ("property" in decorators or "cached_property" in decorators)
    ):
        own = _own_rows(returns[0].value, params[0])
        if own is not None:
            summary["own"] = own
    # Only a returned name or call can give a parameter's rows back (:meth:`_GivenBack.rows`).
    if returned is None and params and any(type(r.value) in _GIVING for r in returns):
        passed = _passed(function, params)
        if isinstance(passed, int):
            summary["pass"] = passed
        elif passed is not None:
            summary["via"] = passed
    if not summary:
        return None
    summary["p"] = params
    defaults = min(len(args.defaults), len(params))
    if defaults:
        summary["d"] = defaults
    if any(d in _PROPERTIES for d in decorators):
        summary["prop"] = 1
    if classmethod:
        summary["cm"] = 1
    return summary


def function_summaries(tree: ast.Module) -> dict[str, Any]:
    """The summaries of a module's functions and of its classes' methods."""
    from flake8_djguide.index.extract import import_map

    imports = import_map(tree)[0]
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            summary = summarise(node, imports)
            if summary is not None:
                found[node.name] = summary
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    summary = summarise(statement, imports, node.name)
                    if summary is not None:
                        found[f"{node.name}.{statement.name}"] = summary
    return found


def find_function(tree: ast.Module, dotted: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The module-level function ``name`` or method ``Class.name`` of ``tree``."""
    owner, _, name = dotted.rpartition(".")
    body: list[ast.stmt] = tree.body
    if owner:
        cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == owner), None)
        if cls is None:
            return None
        body = cls.body
    found = None
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            found = node  # the last definition wins
    return found
