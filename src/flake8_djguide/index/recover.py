"""The facts of a module Python cannot parse: its classes and functions that do parse.

A ``models.py`` in the middle of an edit, or one still written for Python 2
(``except Error, e:``, ``print "..."``), would otherwise leave the index without all of
its models, and every rule reading them would see unknown names. When ``ast`` rejects
the module, :func:`recovered_tree` replaces the function (or method) holding the error
with ``pass`` and tries again, a few times: the classes keep their fields, managers and
other methods. Nothing is recovered from an error outside a function, and the index
asks only for modules that define classes (:func:`~flake8_djguide.index.extract.source_facts`).
"""

from __future__ import annotations

import ast
import io
import tokenize

from flake8_djguide.parsing import parse_quietly

#: Functions replaced at most, each costing one more parse of the module.
MAX_REPAIRS = 20


def recovered_tree(data: bytes) -> ast.Module | None:
    """``data`` parsed with each function that holds a syntax error replaced by ``pass``;
    ``None`` when an error lies outside a function or too many functions have one."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return None
    lines = text.splitlines(keepends=True)
    for _ in range(MAX_REPAIRS + 1):
        try:
            return parse_quietly("".join(lines))
        except SyntaxError as error:
            if not error.lineno or not _replace_function(lines, error.lineno):
                return None
        except (ValueError, RecursionError, MemoryError):
            return None
    return None


def _indent(line: str) -> int | None:
    """The indentation of a line of code; ``None`` for a blank or comment line."""
    stripped = line.lstrip()
    if not stripped or stripped.startswith("#"):
        return None
    return len(line) - len(stripped)


def _is_def(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith(("def ", "async def "))


def _replace_function(lines: list[str], lineno: int) -> bool:
    """Replace the innermost function around line ``lineno`` (1-based), its decorators
    included, with ``pass``. ``False`` when no function holds that line."""
    if not 0 < lineno <= len(lines):
        return False
    start = lineno - 1
    level = _indent(lines[start])
    while level is None and start > 0:  # an error reported on a blank line
        start -= 1
        level = _indent(lines[start])
    if level is None:
        return False
    found = start if _is_def(lines[start]) else None
    index = start
    while found is None and index > 0 and level > 0:
        index -= 1
        indent = _indent(lines[index])
        if indent is None or indent >= level:
            continue
        if _is_def(lines[index]):
            found = index
        level = indent
    if found is None:
        return False
    own = _indent(lines[found]) or 0
    first = found
    while (
        first > 0 and lines[first - 1].lstrip().startswith("@") and _indent(lines[first - 1]) == own
    ):
        first -= 1
    last = found + 1
    while last < len(lines):
        indent = _indent(lines[last])
        if indent is not None and indent <= own:
            break
        last += 1
    ending = "\r\n" if lines[found].endswith("\r\n") else "\n"
    lines[first] = " " * own + "pass" + ending
    for number in range(first + 1, last):
        lines[number] = ending
    return True
