"""Small helpers on libcst nodes shared by the rules (no matchers: they are slow)."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
else:
    from flake8_djguide._lazy import cst


def dotted_name(node: cst.BaseExpression | None) -> str | None:
    """``a.b.c`` for ``Name``/``Attribute`` chains, else ``None``."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def qualified_name(node: cst.BaseExpression | None, ctx: FileContext) -> str | None:
    """The dotted name of ``node`` with its first component resolved through the imports."""
    name = dotted_name(node)
    return ctx.info.qualify(name) if name is not None else None


def ast_dotted_name(node: ast.AST | None) -> str | None:
    """``a.b.c`` for ``ast.Name``/``ast.Attribute`` chains, else ``None``."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def ast_nodes(node: ast.AST) -> list[ast.AST]:
    """Every node of the subtree but the context and operator nodes (``Load``, ``Add``,
    ``Eq``: no rule looks for them), ``node`` first, then in no particular order: the
    nodes of ``ast.walk`` for a fraction of its cost (no generators, no ``iter_fields``)."""
    found: list[ast.AST] = []
    stack = [node]
    base = ast.AST
    fields_of = _AST_TREE_FIELDS
    while stack:
        current = stack.pop()
        found.append(current)
        current_type = type(current)
        fields = fields_of.get(current_type)
        if fields is None:
            fields = _node_fields(current_type, operators=False)
        for name in fields:
            value = getattr(current, name, None)
            if type(value) is list:
                stack.extend(v for v in value if isinstance(v, base))
            elif isinstance(value, base):
                stack.append(value)
    return found


def ast_scope_nodes(node: ast.AST) -> tuple[list[ast.AST], list[ast.AST]]:
    """:func:`ast_nodes` of a function, split: the nodes of its own scope (the nested
    functions, classes and lambdas themselves included), and those inside them."""
    own: list[ast.AST] = []
    nested: list[ast.AST] = []
    stack: list[tuple[ast.AST, bool]] = [(node, False)]
    base = ast.AST
    fields_of = _AST_TREE_FIELDS
    scopes = _NESTED_SCOPES
    while stack:
        current, inner = stack.pop()
        (nested if inner else own).append(current)
        current_type = type(current)
        fields = fields_of.get(current_type)
        if fields is None:
            fields = _node_fields(current_type, operators=False)
        below = inner or (current is not node and current_type in scopes)
        for name in fields:
            value = getattr(current, name, None)
            if type(value) is list:
                stack.extend((v, below) for v in value if isinstance(v, base))
            elif isinstance(value, base):
                stack.append((value, below))
    return own, nested


_NESTED_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda})


#: fields holding only a context or an operator node (left out by :func:`ast_nodes`)
_AST_OPERATORS = frozenset({"ctx", "op", "ops"})
#: node type -> the fields :func:`ast_nodes` enters
_AST_TREE_FIELDS: dict[type, tuple[str, ...]] = {}


#: ``ast`` fields that never hold a node (``name`` does: a ``TypeAlias`` name is one)
_AST_SCALARS = frozenset(
    {"id", "attr", "arg", "module", "level", "kind", "type_comment", "is_async", "simple"}
    | {"conversion", "lineno", "col_offset", "end_lineno", "end_col_offset"}
)
#: node type -> its fields that may hold nodes, in ``_fields`` order
_AST_FIELDS: dict[type, tuple[str, ...]] = {}


def _node_fields(node_type: type, operators: bool = True) -> tuple[str, ...]:
    """The fields of ``node_type`` that may hold nodes (without ``operators``: nor those
    holding only a context or an operator node)."""
    fields_of = _AST_FIELDS if operators else _AST_TREE_FIELDS
    fields = fields_of.get(node_type)
    if fields is None:
        names: tuple[str, ...] = getattr(node_type, "_fields", ())
        fields = tuple(
            f for f in names if f not in _AST_SCALARS and (operators or f not in _AST_OPERATORS)
        )
        fields_of[node_type] = fields
    return fields


def ast_walk(node: ast.AST, operators: bool = True) -> list[ast.AST]:
    """The nodes of ``ast.walk(node)``, in the same (breadth-first) order, as a list: a
    fraction of its cost (no deque of generators, no ``iter_fields``). Without
    ``operators``, the context and operator nodes (``Load``, ``Add``) are left out (the
    others keep their order)."""
    found = [node]
    base = ast.AST
    fields_of = _AST_FIELDS if operators else _AST_TREE_FIELDS
    index = 0
    while index < len(found):
        current = found[index]
        index += 1
        current_type = type(current)
        fields = fields_of.get(current_type)
        if fields is None:
            fields = _node_fields(current_type, operators)
        for name in fields:
            value = getattr(current, name, None)
            if type(value) is list:
                found.extend(v for v in value if isinstance(v, base))
            elif isinstance(value, base):
                found.append(value)
    return found


def ast_children(node: ast.AST, operators: bool = True) -> list[ast.AST]:
    """The nodes of ``ast.iter_child_nodes(node)``, in the same order, as a list (without
    ``operators``: but the context and operator nodes)."""
    found: list[ast.AST] = []
    base = ast.AST
    for name in _node_fields(type(node), operators):
        value = getattr(node, name, None)
        if type(value) is list:
            found.extend(v for v in value if isinstance(v, base))
        elif isinstance(value, base):
            found.append(value)
    return found


def module_name_of(node: cst.Attribute | cst.Name | None) -> str:
    """The dotted text of an import's module (``None`` -> ``""``)."""
    return dotted_name(node) or ""


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a string literal, a concatenation of literals, or an f-string
    without placeholders; ``None`` for anything else (including bytes)."""
    if isinstance(node, cst.SimpleString):
        if "b" in node.prefix.lower():
            return None
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left = string_value(node.left)
        right = string_value(node.right)
        if left is None or right is None:
            return None
        return left + right
    if isinstance(node, cst.FormattedString):
        pieces = []
        for part in node.parts:
            if not isinstance(part, cst.FormattedStringText):
                return None
            pieces.append(part.value)
        return "".join(pieces)
    return None


def call_arg(call: cst.Call, position: int | None, keyword: str | None) -> cst.Arg | None:
    """The argument passed at ``position`` (0-based, positional) or as ``keyword``."""
    index = 0
    after_star = False
    for arg in call.args:
        if arg.star == "*":
            after_star = True
            continue
        if arg.star == "**":
            continue
        if arg.keyword is None:
            if position is not None and not after_star and index == position:
                return arg
            index += 1
        elif keyword is not None and arg.keyword.value == keyword:
            return arg
    return None


def contains_name(node: cst.CSTNode, name: str) -> bool:
    """Whether ``name`` occurs as a ``Name`` anywhere under ``node``."""
    from flake8_djguide.walker import iter_children

    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name) and current.value == name:
            return True
        stack.extend(iter_children(current))
    return False


def small_statements(
    body: cst.BaseSuite | Sequence[cst.BaseStatement],
) -> Iterator[cst.BaseSmallStatement]:
    """The small statements (assignments, imports, expressions) directly in a body."""
    statements = body.body if isinstance(body, cst.BaseSuite) else body
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body
        elif isinstance(statement, cst.BaseSmallStatement):
            yield statement


def assigned_names(
    statement: cst.BaseSmallStatement,
) -> Iterator[tuple[cst.Name, cst.BaseExpression | None]]:
    """``(target name, value)`` for ``X = v``, ``X: T = v``, ``X = Y = v`` and ``X += v``."""
    if isinstance(statement, cst.Assign):
        for target in statement.targets:
            if isinstance(target.target, cst.Name):
                yield target.target, statement.value
    elif isinstance(statement, (cst.AnnAssign, cst.AugAssign)) and isinstance(
        statement.target, cst.Name
    ):
        yield statement.target, statement.value


def is_type_checking(test: cst.BaseExpression) -> bool:
    """Whether an ``if`` test is ``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    name = dotted_name(test)
    return name is not None and name.rsplit(".", 1)[-1] == "TYPE_CHECKING"


def is_main_guard(test: cst.BaseExpression) -> bool:
    """Whether an ``if`` test is ``__name__ == "__main__"``."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    sides = (test.left, target.comparator)
    return (
        isinstance(target.operator, cst.Equal)
        and any(isinstance(s, cst.Name) and s.value == "__name__" for s in sides)
        and any(string_value(s) == "__main__" for s in sides)
    )


def glob_match(text: str, pattern: str) -> bool:
    """``fnmatch.fnmatchcase(text, pattern)``; a pattern whose only wildcard is ``*`` (every
    pattern of the defaults) is matched without compiling it to a regular expression (the
    two dozen a run compiled cost about 2 ms of every flake8 process)."""
    if "?" in pattern or "[" in pattern:
        import fnmatch

        return fnmatch.fnmatchcase(text, pattern)
    parts = pattern.split("*")
    if len(parts) == 1:
        return text == pattern
    head, tail = parts[0], parts[-1]
    if len(text) < len(head) + len(tail) or not text.startswith(head) or not text.endswith(tail):
        return False
    position, end = len(head), len(text) - len(tail)
    for part in parts[1:-1]:  # each leftmost: a later part can only need more room after it
        found = text.find(part, position, end)
        if found < 0:
            return False
        position = found + len(part)
    return True
