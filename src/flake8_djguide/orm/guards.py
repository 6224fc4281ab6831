"""Loops and queries the N+1 findings leave alone because nothing can be fetched before the
loop: a query whose filter value comes from a network call made in the same iteration, and a
management command's loop over the arguments its operator typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from flake8_djguide.helpers import dotted_name
from flake8_djguide.orm.nodes import _call_lookups, _children, _names_in, scope_types

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
    from flake8_djguide.orm.scope import Scope
else:
    from flake8_djguide._lazy import cst

# HTTP client libraries: any call of theirs goes over the network
_NETWORK_MODULES = ("requests.", "httpx.", "aiohttp.", "urllib3.")
_NETWORK_FUNCTIONS = frozenset({"urllib.request.urlopen", "urllib2.urlopen"})
# ``session.get(url)``, ``self.client.post(...)``, ``http.request(...)``: a request method of a
# receiver whose name says it is an HTTP client
_REQUEST_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "request", "send", "urlopen"}
)
_CLIENT_WORDS = ("client", "session", "http", "api")


def _network_call(call: cst.Call, ctx: FileContext) -> bool:
    name = dotted_name(call.func)
    if name is not None:
        qualified = ctx.info.qualify(name)
        if qualified.startswith(_NETWORK_MODULES) or qualified in _NETWORK_FUNCTIONS:
            return True
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in _REQUEST_METHODS:
        return False
    receiver = func.value
    if isinstance(receiver, cst.Call):  # requests.Session().get(...)
        return _network_call(receiver, ctx)
    if isinstance(receiver, cst.Attribute):
        word = receiver.attr.value
    elif isinstance(receiver, cst.Name):
        word = receiver.value
    else:
        return False
    word = word.lower()
    return any(part in word for part in _CLIENT_WORDS)


def _calls_network(node: cst.CSTNode, ctx: FileContext) -> bool:
    scopes = scope_types()
    stack = [node]
    while stack:
        current = stack.pop()
        if type(current) in scopes:
            continue
        if type(current) is cst.Call and _network_call(current, ctx):
            return True
        stack.extend(_children(current))
    return False


def _target_names(target: cst.CSTNode) -> Iterable[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)


def _bindings(loop: cst.CSTNode) -> list[tuple[list[str], cst.CSTNode]]:
    """``(names, value)`` of each assignment in the loop (nested scopes left out)."""
    found: list[tuple[list[str], cst.CSTNode]] = []
    scopes = scope_types()
    stack: list[cst.CSTNode] = list(_children(loop))
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind in scopes:
            continue
        if type(current) is cst.Assign:
            names = [n for t in current.targets for n in _target_names(t.target)]
            found.append((names, current.value))
        elif kind is cst.AnnAssign or kind is cst.AugAssign or kind is cst.NamedExpr:
            value = current.value  # type: ignore[attr-defined]
            if value is not None:
                found.append((list(_target_names(current.target)), value))  # type: ignore[attr-defined]
        elif type(current) is cst.WithItem and current.asname is not None:
            found.append((list(_target_names(current.asname.name)), current.item))
        stack.extend(_children(current))
    return found


def network_names(loop: cst.CSTNode, ctx: FileContext) -> frozenset[str]:
    """The names the loop's body binds to what a network call returned, or to values
    computed from one (``response = requests.get(url)``; ``url = response.url``)."""
    bindings = _bindings(loop)
    tainted: set[str] = set()
    for names, value in bindings:
        if _calls_network(value, ctx):
            tainted.update(names)
    changed = bool(tainted)
    while changed:
        changed = False
        for names, value in bindings:
            if not set(names) <= tainted and _names_in(value) & tainted:
                tainted.update(names)
                changed = True
    return frozenset(tainted)


def filters_read(filters: Sequence[cst.Call], names: frozenset[str]) -> bool:
    """Whether a lookup of the ``filter()``/``exclude()``/``get()`` calls compares with one
    of ``names``."""
    return bool(names) and any(
        reads & names for call in filters for _, reads in _call_lookups(call)
    )


# -- management commands ---------------------------------------------------------------------

_SAME_VALUES = frozenset({"list", "tuple", "set", "frozenset", "sorted", "reversed", "enumerate"})


def command_arguments(
    node: cst.BaseExpression, function: cst.FunctionDef | None, scope: Scope, depth: int = 0
) -> bool:
    """Whether ``node`` is (a list made of) the arguments a management command's
    ``handle(self, *args, **options)`` was given: ``options["ids"]``,
    ``options.get("ids")``, ``args``, ``options["ids"].split(",")``, or a local name
    assigned only such values."""
    if function is None or function.name.value != "handle" or depth > 3:
        return False
    params = function.params
    roots = {
        param.name.value
        for param in (params.star_arg, params.star_kwarg)
        if isinstance(param, cst.Param)
    }
    if not roots:
        return False
    while isinstance(node, cst.Call) and (
        dotted_name(node.func) in _SAME_VALUES and len(node.args) == 1
    ):
        node = node.args[0].value
    if isinstance(node, cst.BooleanOperation):  # options["ids"] or []
        return all(_literal_or(side, function, scope, depth) for side in (node.left, node.right))
    if isinstance(node, cst.Name):
        if node.value in roots:
            return node.value == _star_name(params)
        records = scope.records.get(node.value, [])
        return bool(records) and all(
            r.value is not None and command_arguments(r.value, function, scope, depth + 1)
            for r in records
        )
    # options["ids"], options.get("ids"), args[1:], options["ids"].split(",")
    current: cst.CSTNode = node
    while True:
        if isinstance(current, cst.Subscript):
            current = current.value
        elif (
            isinstance(current, cst.Call)
            and isinstance(current.func, cst.Attribute)
            and current.func.attr.value in ("get", "split", "splitlines")
        ):
            current = current.func.value
        else:
            break
    return current is not node and isinstance(current, cst.Name) and current.value in roots


def _star_name(params: cst.Parameters) -> str | None:
    star = params.star_arg
    return star.name.value if isinstance(star, cst.Param) else None


def _literal_or(
    node: cst.BaseExpression, function: cst.FunctionDef, scope: Scope, depth: int
) -> bool:
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)) and not node.elements:
        return True
    return command_arguments(node, function, scope, depth + 1)
