"""Positions of reported nodes, without libcst's PositionProvider.

libcst knows a node's position only by generating the code of everything
before it: PositionProvider does that for the whole module and records a
range for every node, which costs about twice the parse. Here positions are
found for the reported nodes only, and code is generated only from the start
of the innermost statement holding each of them:

1. A walk of the chunk, stopped at the last reported node, finds each one's
   innermost *anchor*: a statement, an ``except`` clause or an ``elif``.
2. Anchors are paired with the statements of flake8's ``ast`` tree (the same
   file, so the same statements in the same order), which give each anchor's
   line and column.
3. From each anchor that holds findings, libcst's own code generation runs
   with :class:`_Locator` as its state: it counts lines and columns from the
   anchor's position, records the start of the reported nodes exactly as
   PositionProvider does, and stops as soon as the last of them is known.

Whenever a step cannot be done safely (no ``ast`` tree, statements that do
not pair up, an anchor whose first token is not where ``ast`` says), the
chunk is generated from its first line instead: slower, never wrong.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import libcst as cst
else:
    from flake8_djguide._lazy import cst

_NEWLINE = re.compile(r"\r\n?|\n")

#: libcst statement classes -> the ``ast`` classes they are parsed as.
_SMALL = {
    "Expr": ("Expr",),
    "Assign": ("Assign",),
    "AnnAssign": ("AnnAssign",),
    "AugAssign": ("AugAssign",),
    "Pass": ("Pass",),
    "Break": ("Break",),
    "Continue": ("Continue",),
    "Return": ("Return",),
    "Raise": ("Raise",),
    "Global": ("Global",),
    "Nonlocal": ("Nonlocal",),
    "Del": ("Delete",),
    "Assert": ("Assert",),
    "Import": ("Import",),
    "ImportFrom": ("ImportFrom",),
    "LazyImport": ("Import",),
    "LazyImportFrom": ("ImportFrom",),
    "TypeAlias": ("TypeAlias",),
}
_COMPOUND = {
    "FunctionDef": ("FunctionDef", "AsyncFunctionDef"),
    "ClassDef": ("ClassDef",),
    "If": ("If",),
    "For": ("For", "AsyncFor"),
    "While": ("While",),
    "Try": ("Try",),
    "TryStar": ("TryStar",),
    "With": ("With", "AsyncWith"),
    "Match": ("Match",),
}
_HANDLERS = ("ExceptHandler", "ExceptStarHandler")

_ANCHOR_TYPES: frozenset[type] | None = None


def anchor_types() -> frozenset[type]:
    """The libcst node classes that anchor positions (statements, ``except`` clauses)."""
    global _ANCHOR_TYPES
    if _ANCHOR_TYPES is None:
        names = [*_SMALL, *_COMPOUND, *_HANDLERS, "SimpleStatementLine"]
        _ANCHOR_TYPES = frozenset(
            getattr(cst, name) for name in names if isinstance(getattr(cst, name, None), type)
        )
    return _ANCHOR_TYPES


def owners_of(root: cst.CSTNode, wanted: set[int]) -> dict[int, Any]:
    """``{id(node): innermost anchor}`` for the ``wanted`` nodes under ``root``.

    A walk in source order (the engine's walker fields) that stops once every
    wanted node is met: cheaper in memory than noting every node's anchor during
    the rules' walk, and it only runs on chunks that have findings.
    """
    from flake8_djguide.walker import iter_children

    anchors = anchor_types()
    found: dict[int, Any] = {}
    remaining = set(wanted)
    stack: list[tuple[Any, Any]] = [(root, None)]
    while stack and remaining:
        node, anchor = stack.pop()
        if type(node) in anchors:
            anchor = node
        key = id(node)
        if key in remaining:
            found[key] = anchor
            remaining.discard(key)
        stack.extend((child, anchor) for child in reversed(iter_children(node)))
    return found


class _Done(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside code generation once every wanted position is known."""


class _NullContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NULL = _NullContext()


def _make_locator(base: type) -> type:
    class Locator(base):  # type: ignore[misc]
        """A codegen state that only counts lines and columns (see the module docstring)."""

        def __init__(
            self,
            module: cst.Module,
            wanted: Iterable[int],
            start: tuple[int, int] | None,
            indent: str,
        ) -> None:
            super().__init__(
                default_indent=module.default_indent, default_newline=module.default_newline
            )
            self.indent_tokens = [indent] if indent else []
            self.line, self.column = start if start is not None else (1, 0)
            self.start = start
            self.counting = start is None
            self.wanted = set(wanted)
            self.found: dict[int, tuple[int, int]] = {}
            self.tentative: dict[int, tuple[int, int]] = {}
            self.follows: dict[int, list[int]] = {}
            self.emitted = 0

        def add_token(self, value: str) -> None:
            """Move the position past ``value`` (once counting has started)."""
            self.emitted += 1
            if not self.counting:
                return
            if "\n" in value or "\r" in value:
                segments = _NEWLINE.split(value)
                self.line += len(segments) - 1
                self.column = len(segments[-1])
            else:
                self.column += len(value)

        def add_indent_tokens(self) -> None:
            """Move the position past the current indentation."""
            for token in self.indent_tokens:
                self.add_token(token)

        def pop_trailing_newline(self) -> None:
            """Nothing to undo: no text is kept."""
            return None

        def before_codegen(self, node: Any) -> None:
            """Note where a wanted node's code starts, whitespace included."""
            key = id(node)
            if key in self.wanted and self.counting:
                self.tentative[key] = (self.line, self.column)

        def after_codegen(self, node: Any) -> None:
            """A wanted node that recorded no syntactic start starts where its code did."""
            key = id(node)
            if key in self.wanted and key not in self.found and key in self.tentative:
                self._resolve(key, self.tentative[key])

        def record_syntactic_position(
            self, node: Any, *, start_node: Any = None, end_node: Any = None
        ) -> _NullContext:
            """Start counting at the first syntactic token; resolve wanted nodes."""
            if not self.counting:
                assert self.start is not None
                self.counting = True
                self.line, self.column = self.start
            key = id(node)
            if key in self.wanted and key not in self.found:
                if start_node is None:
                    self._resolve(key, (self.line, self.column))
                else:
                    first = id(start_node)
                    if first in self.found:
                        self._resolve(key, self.found[first])
                    else:
                        self.follows.setdefault(first, []).append(key)
                        self.wanted.add(first)
            return _NULL

        def _resolve(self, key: int, position: tuple[int, int]) -> None:
            self.found[key] = position
            for other in self.follows.pop(key, ()):
                if other not in self.found:
                    self._resolve(other, position)
            if len(self.found) >= len(self.wanted) and all(k in self.found for k in self.wanted):
                raise _Done

    return Locator


_LOCATOR: type | None = None


def _locator_class() -> type:
    global _LOCATOR
    if _LOCATOR is None:
        from libcst._nodes.internal import CodegenState

        _LOCATOR = _make_locator(CodegenState)
    return _LOCATOR


def generate(
    module: cst.Module,
    root: cst.CSTNode,
    wanted: Iterable[int],
    start: tuple[int, int] | None,
    indent: str = "",
    is_elif: bool = False,
) -> dict[int, tuple[int, int]]:
    """Run libcst's code generation of ``root`` and return ``{id(node): (line, column)}``
    for the ``wanted`` node ids it meets.

    ``start`` is the position of ``root``'s first syntactic token (its first
    decorator for a decorated definition); ``None`` means ``root`` is the module
    and counting starts at line 1, column 0.
    """
    wanted = list(wanted)
    state = _locator_class()(module, wanted, start, indent)
    try:
        if is_elif:
            root._codegen(state, is_elif=True)
        else:
            root._codegen(state)
    except _Done:
        pass
    return {key: state.found[key] for key in wanted if key in state.found}


# -- pairing libcst statements with ast statements ---------------------------------------


def char_column(line: str, byte_offset: int) -> int:
    """``ast`` columns are UTF-8 byte offsets; libcst and flake8 count characters."""
    if line.isascii():
        return byte_offset
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace"))


class Anchors:
    """Where each anchor (libcst statement) of one chunk starts, from the ``ast`` tree."""

    def __init__(
        self, lines: Sequence[str], elided: dict[int, tuple[int, int]] | None = None
    ) -> None:
        self.lines = lines
        self.elided = elided or {}
        self.starts: dict[int, tuple[int, int]] = {}  # id -> (line, byte or char column)
        self.exact: set[int] = set()  # starts whose column is already in characters
        self.elifs: set[int] = set()  # ``If`` nodes that are ``elif`` clauses
        #: id of a libcst statement (or ``except`` clause) -> its ``ast`` node
        self.nodes: dict[int, ast.AST] = {}

    def start_of(self, anchor: cst.CSTNode) -> tuple[int, int, str] | None:
        """``(line, column, indentation)`` of ``anchor``'s first syntactic token, if known."""
        key = id(anchor)
        start = self.starts.get(key)
        if start is None:
            return None
        line, column = start
        text = self.lines[line - 1]
        if key not in self.exact:
            column = char_column(text, column)
        return line, column, text[: len(text) - len(text.lstrip(" \t\f"))]

    def pair(self, body: Sequence[Any], statements: Sequence[ast.stmt]) -> bool:
        """Pair a libcst body with the ``ast`` statements it was parsed from."""
        index = 0
        for element in body:
            if isinstance(element, cst.SimpleStatementLine):
                smalls: Sequence[Any] = element.body
            elif isinstance(element, cst.BaseSmallStatement):
                smalls = [element]
            else:
                if index >= len(statements):
                    return False
                node = statements[index]
                index += 1
                if not self._compound(element, node):
                    return False
                continue
            first = index
            for small in smalls:
                if index >= len(statements):
                    return False
                node = statements[index]
                index += 1
                if type(node).__name__ not in _SMALL.get(type(small).__name__, ()):
                    return False
                self._add(small, node.lineno, node.col_offset)
                self.nodes[id(small)] = node
            if element is not smalls[0] and smalls:
                self._add(element, statements[first].lineno, statements[first].col_offset)
        return index == len(statements)

    def _add(self, anchor: Any, line: int, byte_column: int) -> None:
        if 0 < line <= len(self.lines):
            self.starts[id(anchor)] = (line, byte_column)

    def _compound(self, element: Any, node: Any) -> bool:
        kind = type(element).__name__
        if type(node).__name__ not in _COMPOUND.get(kind, ()):
            return False
        self.nodes[id(element)] = node
        line, column = node.lineno, node.col_offset
        decorators = getattr(node, "decorator_list", None)
        if decorators:
            # libcst starts counting at the first decorator's ``@``, at the definition's
            # column (decorators are indented like the ``def``), on the decorator's line.
            line = decorators[0].lineno
            text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
            at = char_column(self.lines[node.lineno - 1], column)
            if text[at : at + 1] != "@" or text[:at].strip():
                return True  # unknown start: nodes here fall back to the chunk
            self.starts[id(element)] = (line, at)
            self.exact.add(id(element))
        else:
            self._add(element, line, column)
        if kind == "FunctionDef" and id(node) in self.elided:
            return self._elided(element, node)
        if kind in ("FunctionDef", "ClassDef", "With", "For", "While"):
            if not self.pair(_suite(element.body), node.body):
                return False
            return kind not in ("For", "While") or self._else(element.orelse, node.orelse)
        if kind == "If":
            if not self.pair(_suite(element.body), node.body):
                return False
            orelse = element.orelse
            if isinstance(orelse, cst.If):
                other = node.orelse
                self.elifs.add(id(orelse))
                return len(other) == 1 and self._compound(orelse, other[0])
            return self._else(orelse, node.orelse)
        if kind in ("Try", "TryStar"):
            handlers = node.handlers
            if not self.pair(_suite(element.body), node.body) or len(handlers) != len(
                element.handlers
            ):
                return False
            for handler, ast_handler in zip(element.handlers, handlers):
                self._add(handler, ast_handler.lineno, ast_handler.col_offset)
                self.nodes[id(handler)] = ast_handler
                if not self.pair(_suite(handler.body), ast_handler.body):
                    return False
            if not self._else(element.orelse, node.orelse):
                return False
            final = element.finalbody
            return self.pair(_suite(final.body) if final is not None else [], node.finalbody)
        if kind == "Match":
            cases = node.cases
            if len(cases) != len(element.cases):
                return False
            return all(self.pair(_suite(c.body), a.body) for c, a in zip(element.cases, cases))
        return False

    def _elided(self, element: Any, node: Any) -> bool:
        """A function whose body the engine left out: one placeholder statement."""
        line, column = self.elided[id(node)]
        body = _suite(element.body)
        if len(body) != 1:
            return False
        placeholder = body[0]
        self.starts[id(placeholder)] = (line, column)
        self.exact.add(id(placeholder))
        for small in getattr(placeholder, "body", ()):
            self.starts[id(small)] = (line, column)
            self.exact.add(id(small))
        return True

    def _else(self, orelse: Any, statements: Sequence[ast.stmt]) -> bool:
        if orelse is None:
            return not statements
        return self.pair(_suite(orelse.body), statements)


def _suite(suite: Any) -> Sequence[Any]:
    body: Sequence[Any] = suite.body  # IndentedBlock: statements; SimpleStatementSuite: smalls
    return body


# -- positions read from the ``ast`` tree alone (``Rule.report_ast``) ----------------------


def statement_start(node: ast.stmt, keyword: str, lines: Sequence[str]) -> tuple[int, int] | None:
    """``(line, column in characters)`` of a compound statement's ``keyword`` (``def``,
    ``async``, ``class``) where libcst places the statement (after its decorators), or
    ``None`` when the line does not hold ``keyword`` there after indentation only."""
    line = node.lineno
    if not 0 < line <= len(lines):
        return None
    text = lines[line - 1]
    column = char_column(text, node.col_offset)
    if not text.startswith(keyword, column) or text[:column].strip(" \t"):
        return None
    return line, column


def simple_statement_start(node: ast.stmt, lines: Sequence[str]) -> tuple[int, int]:
    """``(line, column in characters)`` of a simple statement (an import), where libcst
    places it, also after ``;`` on a line that holds non-ASCII text before it."""
    line = node.lineno
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return line, char_column(text, node.col_offset)


def param_start(arg: ast.arg, star: str, lines: Sequence[str]) -> tuple[int, int] | None:
    """Where libcst places a parameter: its ``star`` (``"*"``, ``"**"`` or ``""``) when it
    has one, else its name; ``None`` when the ``*``/``**`` is not on the name's line
    before it, with only spaces or tabs between."""
    line = arg.lineno
    if not 0 < line <= len(lines):
        return None
    text = lines[line - 1]
    column = char_column(text, arg.col_offset)
    if not text.startswith(arg.arg, column):
        return None
    if not star:
        return line, column
    before = text[:column].rstrip(" \t")
    start = len(before) - len(star)
    if start < 0 or before[start:] != star or before[start - 1 : start] == "*":
        return None
    return line, start
