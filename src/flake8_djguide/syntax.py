"""Which Python a file's syntax needs, for the hint on flake8's ``E999``.

flake8 parses each file with the Python it runs on: a file using syntax of a
newer Python (a ``type`` alias on Python 3.11) gets ``E999 SyntaxError``, which no
``# noqa`` or baseline silences. libcst parses the newer syntax, so when it
parses a file that this Python cannot, the newest construct in it names the
Python that parses the file. Imported only to explain an ``E999``.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from collections.abc import Iterator
from typing import Any

#: (minimum version, what) of constructs newer than the oldest supported Python.
Feature = tuple[tuple[int, int], str]


def _opening(node: Any) -> str:
    """The quote a string literal opens with (``f'''`` -> ``'''``); ``""`` for other nodes."""
    import libcst as cst

    if isinstance(node, cst.SimpleString):
        return str(node.quote)
    if isinstance(node, (cst.FormattedString, cst.TemplatedString)):
        return str(node.start).lstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return ""


def _features(module: Any) -> Iterator[tuple[Feature, Any]]:
    import libcst as cst

    stack: list[tuple[Any, str | None]] = [(module, None)]
    while stack:
        node, fstring_quote = stack.pop()
        if isinstance(node, cst.Match):
            yield ((3, 10), "a `match` statement"), node
        elif isinstance(node, cst.TryStar):
            yield ((3, 11), "`except*`"), node
        elif isinstance(node, cst.TypeAlias):
            yield ((3, 12), "a `type` alias"), node
        elif isinstance(node, cst.TypeParameters):
            yield ((3, 12), "type parameters (`[T]`)"), node
        elif isinstance(node, cst.TypeParam) and node.default is not None:
            yield ((3, 13), "a type parameter default"), node
        elif isinstance(node, cst.TemplatedString):
            yield ((3, 14), "a t-string"), node
        elif (
            isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler))
            and isinstance(node.type, cst.Tuple)
            and not node.type.lpar
        ):
            yield ((3, 14), "`except` with several exceptions and no parentheses"), node
        elif fstring_quote and _opening(node)[:1] == fstring_quote[:1]:
            yield ((3, 12), "an f-string that nests its own quotes"), node
        inner = _opening(node) if isinstance(node, cst.FormattedString) else fstring_quote
        for child in reversed(node.children):
            stack.append((child, inner))


def newer_syntax(source: str) -> tuple[tuple[int, int], str, int] | None:
    """``(version, construct, line)`` when ``source`` needs a Python newer than this one.

    ``None`` when this Python parses ``source``, when libcst does not parse it either
    (a plain syntax error), or when nothing in it is newer than this Python.
    """
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        pass
    else:
        return None
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    try:
        module = cst.parse_module(source)
    except Exception:
        return None
    running = sys.version_info[:2]
    newest: tuple[Feature, Any] | None = None
    for feature, node in _features(module):
        if feature[0] > running and (newest is None or feature[0] > newest[0][0]):
            newest = (feature, node)
    if newest is None:
        return None
    (version, what), node = newest
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    position = wrapper.resolve(PositionProvider).get(node)
    return version, what, position.start.line if position is not None else 0


def newer_syntax_hint(source: str) -> str | None:
    """The hint for ``E999`` on ``source``: the construct and the Python that parses it."""
    found = newer_syntax(source)
    if found is None:
        return None
    (major, minor), what, line = found
    running = ".".join(str(part) for part in sys.version_info[:2])
    where = f" on line {line}" if line else ""
    return (
        f"{what}{where} is Python {major}.{minor} syntax and flake8 runs on Python {running} "
        f"({sys.executable}): run it with Python {major}.{minor} or newer (for a pre-commit "
        f"hook, `language_version: python{major}.{minor}`)"
    )


def with_syntax_hint(text: str, filename: str, options: argparse.Namespace | None) -> str:
    """flake8's ``E999`` text for ``filename``, with :func:`newer_syntax_hint` when it applies.

    The file is read again (standard input from flake8's own cache of it).
    """
    try:
        if filename == getattr(options, "stdin_display_name", None) or not os.path.isfile(filename):
            from flake8.utils import stdin_get_value

            source = stdin_get_value() if "-" in (getattr(options, "filenames", None) or []) else ""
        else:
            from flake8_djguide.fix import decode_source

            with open(filename, "rb") as stream:
                source = decode_source(stream.read())[0]
        hint = newer_syntax_hint(source) if source else None
    except Exception:  # a hint must never stop the report
        hint = None
    return f"{text} ({hint})" if hint else text
