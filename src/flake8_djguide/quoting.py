"""Source text quoted in a finding's message, made safe for one output line.

A message quotes the checked code (a name, a string literal, an expression), and
flake8 prints it as is: a newline in it would start a line that looks like another
finding (``path:1:1: DJG000 ...``), and an escape sequence would reach the terminal.
:func:`quote_source` escapes line breaks, control and format characters (``\\n``,
``\\x1b``, ``\\u202e``) the way a Python string literal writes them, and shortens a
long run to :data:`MAX_QUOTED` characters ending in ``...``. :func:`clean_message`
does the same to a whole message (every run between backticks, and any character
the fields did not bring).
"""

from __future__ import annotations

import re

#: The longest quoted run kept whole (longer ones are cut, ending in ``...``).
MAX_QUOTED = 160

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BACKTICKED = re.compile("`[^`]{" + str(MAX_QUOTED + 1) + ",}`")


def _escape_char(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape(text: str) -> str:
    """``text`` with every character that is not printable (line breaks, controls, format
    characters such as bidi overrides, separators other than the space) escaped."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape_char(char) for char in text)


def shorten(text: str, limit: int = MAX_QUOTED) -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``...`` when cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def quote_source(text: str, limit: int = MAX_QUOTED) -> str:
    """Source text to put in a message: escaped, then shortened to ``limit`` characters."""
    return shorten(escape(text), limit)


def clean_message(text: str) -> str:
    """A whole message made one safe line: escaped, and every backticked run shortened."""
    text = escape(text)
    if len(text) > MAX_QUOTED and "`" in text:
        text = _BACKTICKED.sub(lambda m: "`" + shorten(m.group(0)[1:-1]) + "`", text)
    return text
