"""``ast.parse`` without the warnings compiling a file may print.

Parsing code with an invalid escape sequence (``"\\d"``) warns: a ``SyntaxWarning`` on
Python 3.12 and later, a ``DeprecationWarning`` before. flake8 already shows problems of
the checked file; the plugin parses it again, and the index parses every file of the
project, so those warnings would be printed again, for files nobody asked to check, or
(under ``-W error``) turn into errors that lose a file's facts. They are silenced here.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_parsing() -> Iterator[None]:
    """Silence ``SyntaxWarning`` and ``DeprecationWarning`` inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def parse_quietly(source: str | bytes) -> ast.Module:
    """``ast.parse(source)`` without the warnings compiling it may print."""
    with quiet_parsing():
        return ast.parse(source)
