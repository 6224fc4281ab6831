"""Small helpers on libcst nodes used across the ORM analysis: children, targets,
dotted chains, constants and literals, how a block exits, memoisation guards and batch
flushes, the lookups of a filter.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from flake8_djguide.helpers import dotted_name

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.scope import Scope
    from flake8_djguide.orm.values import Frame
else:
    from flake8_djguide._lazy import cst


# -- small syntax helpers ----------------------------------------------------------------------------


def _children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    if not _ITER_CHILDREN:  # walker imports libcst: not at this module's import
        from flake8_djguide.walker import iter_children

        _ITER_CHILDREN.append(iter_children)
    return iter(_ITER_CHILDREN[0](node))


#: ``walker.iter_children`` once imported (an import statement on every call costs more
#: than the call: this is the analysis' hottest function)
_ITER_CHILDREN: list[Callable[[cst.CSTNode], list[cst.CSTNode]]] = []


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
    if type(node) is cst.Attribute:
        return node.attr.value
    if type(node) is cst.Name:
        return node.value
    return ""


def _root_name(node: cst.CSTNode | None) -> str | None:
    while True:
        if type(node) is cst.Attribute:
            node = node.value
        elif type(node) is cst.Call:
            node = node.func
        elif type(node) is cst.Subscript:
            node = node.value
        else:
            break
    return node.value if type(node) is cst.Name else None


def _chain(node: cst.CSTNode) -> tuple[cst.CSTNode, list[tuple[str, Any, cst.CSTNode]]]:
    """The root of an attribute/call/subscript chain and its links, root first.

    Links are ``("attr", name, node)``, ``("call", call node, node)`` and
    ``("sub", subscript node, node)``; ``node`` is the expression ending there.
    """
    links: list[tuple[str, Any, cst.CSTNode]] = []
    current = node
    while True:
        if type(current) is cst.Attribute:
            links.append(("attr", current.attr.value, current))
            current = current.value
        elif type(current) is cst.Call and type(current.func) is cst.Attribute:
            links.append(("call", current, current))
            current = current.func
        elif type(current) is cst.Subscript:
            links.append(("sub", current, current))
            current = current.value
        else:
            break
    links.reverse()
    return current, links


@functools.lru_cache(maxsize=1)
def scope_types() -> frozenset[type]:
    """The node types that open a scope of their own: walks of a body skip them.

    Walks test a node's exact type (``type(node) in scope_types()``): libcst's node
    classes are abstract base classes, so an ``isinstance`` test that fails runs
    ``ABCMeta.__instancecheck__`` (a Python call) for each class, and no concrete node
    class of libcst has a subclass."""
    return frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})


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
    kind = type(node)
    return (
        kind is cst.Attribute
        or kind is cst.Subscript
        or (type(node) is cst.Call and type(node.func) is cst.Attribute)
    )


_CODE = None


def code_of(node: cst.CSTNode, limit: int = 60) -> str:
    """The code of ``node`` on one line, shortened to ``limit`` characters."""
    global _CODE
    text = _dotted_code(node)
    if text is None:
        if _CODE is None:
            _CODE = cst.Module(body=[])
        if getattr(node, "lpar", None):
            node = node.with_changes(lpar=[], rpar=[])
        text = " ".join(_CODE.code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dotted_code(node: cst.CSTNode) -> str | None:
    """The code of a name or of a chain of attributes written without spaces, parentheses
    or comments (``Book.objects``), as libcst would print it; ``None`` for anything else.
    Most of :func:`code_of`'s texts are such managers: printing them through libcst's code
    generation cost half of it."""
    parts: list[str] = []
    while type(node) is cst.Attribute:
        dot = node.dot
        if (
            node.lpar
            or type(dot.whitespace_before) is not cst.SimpleWhitespace
            or type(dot.whitespace_after) is not cst.SimpleWhitespace
            or dot.whitespace_before.value
            or dot.whitespace_after.value
            or node.attr.lpar
        ):
            return None
        parts.append(node.attr.value)
        node = node.value
    if type(node) is not cst.Name or node.lpar:
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


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
        return all(isinstance(e, cst.DictElement) for e in node.elements)
    if isinstance(node, cst.Call) and _last(node.func) == "range" and len(node.args) == 1:
        value = node.args[0].value
        return isinstance(value, cst.Integer) and int(value.value.replace("_", ""), 0) <= 10
    return False


def _ast_literal_collection(node: ast.expr | None) -> bool:
    """A tuple, list or set display of constants (``ROLES = ("admin", "annotator")``) or of
    dict and tuple displays, or a dict display with literal keys (``BENEFITS = {331: {...}}``),
    as :func:`_is_literal_collection` for the ``ast`` tree."""
    if isinstance(node, ast.Dict):
        return all(isinstance(key, ast.Constant) for key in node.keys)
    if not isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return False
    return all(
        isinstance(e, ast.Constant) or (isinstance(e, (ast.Name, ast.Attribute)) and _ast_upper(e))
        for e in node.elts
    ) or all(isinstance(e, (ast.Dict, ast.Tuple)) for e in node.elts)


def _ast_upper(node: ast.expr) -> bool:
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    return len(name) > 1 and name.isupper()


_FILLS = frozenset(
    {"append", "extend", "insert", "add", "update", "setdefault", "__setitem__", "__iadd__"}
)


def _class_attr_changed(cls: cst.ClassDef, name: str) -> bool:
    """Whether a method of ``cls`` rebinds or fills ``self.<name>``/``cls.<name>``
    (``self.uuids = ...``, ``self.uuids[key] = ...``, ``self.uuids.update(...)``)."""

    def attr(node: cst.CSTNode) -> bool:
        return (
            isinstance(node, cst.Attribute)
            and node.attr.value == name
            and isinstance(node.value, cst.Name)
            and node.value.value in ("self", "cls", cls.name.value)
        )

    def target(node: cst.BaseExpression) -> bool:
        if attr(node):
            return True
        if isinstance(node, cst.Subscript):
            return attr(node.value)
        if isinstance(node, (cst.Tuple, cst.List)):
            return any(target(e.value) for e in node.elements)
        return False

    stack: list[cst.CSTNode] = [
        statement for statement in cls.body.body if isinstance(statement, cst.FunctionDef)
    ]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Assign) and any(target(t.target) for t in node.targets):
            return True
        if isinstance(node, (cst.AugAssign, cst.AnnAssign)) and target(node.target):
            return True
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in _FILLS
            and attr(node.func.value)
        ):
            return True
        stack.extend(node.children)
    return False


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
    scopes = scope_types()
    stack = list(_children(node))
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is cst.Continue:
            return True
        if kind is cst.For or kind is cst.While or kind in scopes:
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
        if type(current) is cst.Assign:
            targets = [t.target for t in current.targets]
        elif type(current) is cst.AnnAssign or type(current) is cst.AugAssign:
            targets = [current.target]
        for target in targets:
            if (
                type(target) is cst.Attribute
                and type(target.value) is cst.Name
                and target.value.value == name
            ):
                found.add(target.attr.value)
        if type(current) is cst.Call and _last(current.func) == "setattr" and current.args:
            first = current.args[0].value
            if type(first) is cst.Name and first.value == name:
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


#: Methods that fill a collection (``batch.append(row)``).
_FILLS = frozenset({"append", "appendleft", "extend", "add", "insert", "update"})
#: Calls that make an empty collection (``batch = list()``, ``pending = defaultdict(list)``).
_EMPTY_COLLECTIONS = frozenset({"list", "set", "dict", "deque", "defaultdict", "OrderedDict"})
#: A literal bound under this is not a batch (``len(batch) > 0`` holds on every row).
_SMALLEST_BATCH = 10


def _batch_flush(node: cst.If, frames: Sequence[Frame]) -> bool:
    """Whether ``node`` is the flush of a batch the enclosing loop fills, so that its body
    runs once per batch, not once per row: ``if len(batch) >= BATCH_SIZE:`` with ``batch``
    filled in the loop (``append``/``extend``/``add``/``+=``/``batch[key] = ...``) and
    emptied in the body (``batch = []``, ``batch.clear()``, ``del batch[:]``); the same with
    a counter the loop increments and the body resets (``if count >= size: ... count =
    0``); or a period of a counter or loop variable (``if i % BATCH_SIZE == 0:``). A
    literal bound must be at least ``_SMALLEST_BATCH``; the test may be one operand of an
    ``and``."""
    tests: list[cst.BaseExpression] = [node.test]
    while tests:
        test = tests.pop()
        if isinstance(test, cst.BooleanOperation):
            if isinstance(test.operator, cst.And):
                tests += [test.left, test.right]
            continue
        found = _batch_test(test)
        if found is None:
            continue
        kind, name = found
        bodies = [f.node.body for f in frames if isinstance(f.node, (cst.For, cst.While))]
        if kind == "period":
            if any(name in f.targets for f in frames) or any(
                _fills(body, name, counter=True) for body in bodies
            ):
                return True
            continue
        counter = kind == "count"
        if any(_fills(body, name, counter) for body in bodies) and _empties(
            node.body, name, counter
        ):
            return True
    return False


def _batch_test(test: cst.BaseExpression) -> tuple[str, str] | None:
    """``("size", "batch")`` for ``len(batch) >= bound``, ``("count", "n")`` for ``n >=
    bound``, ``("period", "i")`` for ``i % bound == 0`` or ``not i % bound`` (either side
    of the comparison)."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _period(test.expression)
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    operator = test.comparisons[0].operator
    left, right = test.left, test.comparisons[0].comparator
    if isinstance(operator, cst.Equal):
        for side, other in ((left, right), (right, left)):
            if isinstance(other, cst.Integer) and other.evaluated_value == 0:
                found = _period(side)
                if found is not None:
                    return found
        pairs = [(left, right), (right, left)]
    elif isinstance(operator, (cst.GreaterThan, cst.GreaterThanEqual)):
        pairs = [(left, right)]
    elif isinstance(operator, (cst.LessThan, cst.LessThanEqual)):
        pairs = [(right, left)]
    else:
        return None
    for size, bound in pairs:
        if not _batch_bound(bound):
            continue
        if (
            isinstance(size, cst.Call)
            and isinstance(size.func, cst.Name)
            and size.func.value == "len"
            and len(size.args) == 1
            and not size.args[0].star
        ):
            name = dotted_name(size.args[0].value)
            if name is not None:
                return "size", name
        name = dotted_name(size) if isinstance(size, (cst.Name, cst.Attribute)) else None
        if name is not None:
            return "count", name
    return None


def _period(node: cst.BaseExpression) -> tuple[str, str] | None:
    if (
        isinstance(node, cst.BinaryOperation)
        and isinstance(node.operator, cst.Modulo)
        and isinstance(node.left, (cst.Name, cst.Attribute))
        and _batch_bound(node.right)
    ):
        name = dotted_name(node.left)
        if name is not None:
            return "period", name
    return None


def _batch_bound(node: cst.BaseExpression) -> bool:
    """A batch size: a name, an attribute, a subscript (``options["batch_size"]``) or an
    integer literal of at least ``_SMALLEST_BATCH``."""
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value) >= _SMALLEST_BATCH
    return isinstance(node, (cst.Name, cst.Attribute, cst.Subscript))


def _fills(body: cst.CSTNode, name: str, counter: bool) -> bool:
    """Whether ``body`` fills the collection ``name`` (or, ``counter``, increments it)."""
    scopes = scope_types()
    stack: list[cst.CSTNode] = [body]
    while stack:
        current = stack.pop()
        if type(current) in scopes:
            continue
        if type(current) is cst.AugAssign:
            if dotted_name(current.target) == name:
                return True
        elif counter:
            pass
        elif type(current) is cst.Call:
            func = current.func
            if (
                type(func) is cst.Attribute
                and func.attr.value in _FILLS
                and dotted_name(func.value) == name
            ):
                return True
        elif type(current) is cst.Assign and any(
            type(t.target) is cst.Subscript and dotted_name(t.target.value) == name
            for t in current.targets
        ):
            return True
        stack.extend(_children(current))
    return False


def _empties(body: cst.CSTNode, name: str, counter: bool) -> bool:
    """Whether ``body`` empties the collection ``name`` (``name = []``, ``name.clear()``,
    ``del name[:]``) or, ``counter``, resets it (``name = 0``)."""
    scopes = scope_types()
    stack: list[cst.CSTNode] = [body]
    while stack:
        current = stack.pop()
        if type(current) in scopes:
            continue
        if type(current) is cst.Assign:
            for target in current.targets:
                value = current.value
                if dotted_name(target.target) == name:
                    if counter:
                        if type(value) is cst.Integer and value.evaluated_value == 0:
                            return True
                    elif _is_empty_collection(value):
                        return True
                elif (
                    not counter
                    and type(target.target) is cst.Subscript
                    and dotted_name(target.target.value) == name
                    and _is_empty_collection(value)
                ):
                    return True  # batch[:] = []
        elif type(current) is cst.Del and not counter:
            deleted = current.target
            if type(deleted) is cst.Subscript and dotted_name(deleted.value) == name:
                return True
        elif (
            type(current) is cst.Call
            and not counter
            and type(current.func) is cst.Attribute
            and current.func.attr.value == "clear"
            and dotted_name(current.func.value) == name
        ):
            return True
        stack.extend(_children(current))
    return False


def _is_empty_collection(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.List, cst.Dict, cst.Tuple)):
        return not node.elements
    if isinstance(node, cst.Call) and _last(node.func) in _EMPTY_COLLECTIONS:
        return not node.args or _last(node.func) == "defaultdict"
    return False


#: Lookups that compare by order: ``filter(<field>__in=...)`` cannot batch them.
_RANGE_LOOKUPS = frozenset({"gt", "gte", "lt", "lte", "range"})


def _call_lookups(call: cst.Call) -> tuple[tuple[str, frozenset[str]], ...]:
    """The lookups of a ``filter()``/``exclude()``/``get()`` call, those of its ``Q(...)``
    arguments (combined with ``&``, ``|``, ``~``) included: each keyword with the names
    its value reads. Another positional argument or ``**kwargs`` is an unknown lookup
    (``""``)."""
    found: list[tuple[str, frozenset[str]]] = []
    args = list(call.args)
    while args:
        arg = args.pop(0)
        if arg.keyword is not None:
            found.append((arg.keyword.value, frozenset(_names_in(arg.value))))
            continue
        parts = [arg.value]
        while parts:
            part = parts.pop()
            if isinstance(part, cst.BinaryOperation) and isinstance(
                part.operator, (cst.BitAnd, cst.BitOr)
            ):
                parts += [part.left, part.right]
            elif isinstance(part, cst.UnaryOperation) and isinstance(part.operator, cst.BitInvert):
                parts.append(part.expression)
            elif isinstance(part, cst.Call) and _last(part.func) == "Q" and not arg.star:
                args += list(part.args)
            else:
                found.append(("", frozenset(_names_in(part))))
    return tuple(found)


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
    scopes = scope_types()
    stack = [body]
    while stack:
        current = stack.pop()
        if type(current) is cst.Assign:
            if any(name in _target_names(t.target) for t in current.targets):
                return True
        elif type(current) is cst.AugAssign or type(current) is cst.AnnAssign:
            if name in _target_names(current.target):
                return True
        elif type(current) is cst.For and name in _target_names(current.target):
            return True
        elif type(current) in scopes:
            continue
        stack.extend(_children(current))
    return False
