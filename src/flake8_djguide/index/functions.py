"""Function summaries, read from a module's ``ast`` tree, as plain JSON-able data.

For every module-level function and every method of a module-level class, what a
call of it does with its arguments, as far as the ORM rules care:

- ``"p"``: its positional parameter names (``self`` included for methods);
- ``"r"``: per parameter, the attribute chains read on it (at most two links:
  ``obj.author.name`` gives ``["author", "name"]``, ``obj.tags.all()`` gives
  ``["tags", "all()"]``);
- ``"rows"``: per parameter, the chains read on the rows of a loop over it
  (``for step in steps: step.form.name`` gives ``["form", "name"]``);
- ``"q"``: ``[origin, method]`` when the body runs a query on every call
  (``return Line.objects.filter(...).count()`` in a statement of the body itself,
  not under an ``if``), ``origin`` being the model's name as written (``Line``);
- ``"prop"``: ``1`` for a ``@property``/``@cached_property``.

A parameter that the body assigns again has no reads (what is read is then
unknown). Functions with nothing to tell are left out. Keys are ``name`` or
``Class.name``.
"""

from __future__ import annotations

import ast
from typing import Any

from flake8_djguide.helpers import ast_dotted_name as dotted_name

#: Chains kept per parameter.
_MAX_CHAINS = 12
#: Evaluating manager/queryset methods: a query each time they run.
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
        "create",
        "get_or_create",
        "update_or_create",
        "update",
        "delete",
    }
)
_EVALUATING_CALLS = frozenset({"list", "len", "tuple", "set", "sorted", "sum", "any", "all"})
_MANAGERS = frozenset({"objects", "_default_manager"})
_PROPERTIES = frozenset({"property", "cached_property"})


def _chains(node: ast.AST, name: str) -> list[list[str]]:
    """Attribute chains (at most two links) read on the name ``name`` inside ``node``."""
    found: list[list[str]] = []
    seen: set[int] = set()
    for sub in ast.walk(node):
        if id(sub) in seen or not isinstance(sub, (ast.Attribute, ast.Call)):
            continue
        chain: list[str] = []
        current: ast.AST = sub
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
        if isinstance(current, ast.Name) and current.id == name and chain:
            chain.reverse()
            short = chain[:2]
            if short not in found:
                found.append(short)
    return found[:_MAX_CHAINS]


def _assigned(function: ast.AST) -> set[str]:
    """Names the body binds again (assignments, loop targets, ``with ... as``, ``:=``)."""
    names: set[str] = set()
    for node in ast.walk(function):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(
            node,
            (ast.AugAssign, ast.AnnAssign, ast.NamedExpr, ast.For, ast.AsyncFor, ast.comprehension),
        ):
            targets = [node.target]
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets = [node.optional_vars]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    names.add(sub.id)
    return names


def _row_chains(function: ast.AST, name: str) -> list[list[str]]:
    """Chains read on the rows of ``for row in <name>`` (statement or comprehension)."""
    found: list[list[str]] = []
    for node in ast.walk(function):
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
                and iterable.id == name
                and isinstance(target, ast.Name)
            ):
                continue
            for part in body:
                for chain in _chains(part, target.id):
                    if chain not in found:
                        found.append(chain)
    return found[:_MAX_CHAINS]


def _manager_root(node: ast.AST) -> str | None:
    """``Line`` for ``Line.objects.filter(...).values(...)`` (a chain on a model's manager)."""
    current = node
    while True:
        if isinstance(current, ast.Call):
            current = current.func
        elif isinstance(current, ast.Attribute):
            if current.attr in _MANAGERS:
                root = dotted_name(current.value)
                if root is not None and root.rsplit(".", 1)[-1][:1].isupper():
                    return root
                return None
            current = current.value
        else:
            return None


def _query(statement: ast.stmt) -> list[str] | None:
    """``[model name, method]`` of a query the statement always runs."""
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        root = _manager_root(statement.iter)
        return [root, "iterate"] if root is not None else None
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
                if root is not None:
                    return [root, func.attr]
            elif isinstance(func, ast.Name) and func.id in _EVALUATING_CALLS and node.args:
                root = _manager_root(node.args[0])
                if root is not None and not isinstance(node.args[0], ast.GeneratorExp):
                    return [root, func.id]
        stack.extend(ast.iter_child_nodes(node))
    return None


def _decorators(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [(dotted_name(d) or "").rsplit(".", 1)[-1] for d in function.decorator_list]


def summarise(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, Any] | None:
    """The summary of one function (see the module docstring), ``None`` when empty."""
    args = function.args
    params = [a.arg for a in (*args.posonlyargs, *args.args)]
    decorators = _decorators(function)
    rebound = _assigned(function)
    reads: list[list[list[str]]] = []
    rows: list[list[list[str]]] = []
    for name in params:
        if name in rebound:
            reads.append([])
            rows.append([])
            continue
        reads.append(_chains(function, name))
        rows.append(_row_chains(function, name))
    summary: dict[str, Any] = {}
    if any(reads):
        summary["r"] = reads
    if any(rows):
        summary["rows"] = rows
    if not any("cache" in d or "memo" in d for d in decorators if d != "cached_property"):
        for statement in function.body:
            query = _query(statement)
            if query is not None:
                summary["q"] = query
                break
    if not summary:
        return None
    summary["p"] = params
    if any(d in _PROPERTIES for d in decorators):
        summary["prop"] = 1
    return summary


def function_summaries(tree: ast.Module) -> dict[str, Any]:
    """The summaries of a module's functions and of its classes' methods."""
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            summary = summarise(node)
            if summary is not None:
                found[node.name] = summary
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    summary = summarise(statement)
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
