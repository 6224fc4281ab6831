"""A Django template's text to facts: loops, aliases, includes, blocks and reads.

Django's template language is regular at the level of its tags: ``{% ... %}``,
``{{ ... }}`` and ``{# ... #}``, each on one line (Django's own ``tag_re``). The
text between them is never read. Only what decides which rows a template reads
per row is kept, as JSON data (lists, for the index cache):

- ``["r", line, "post.author.name"]``: a variable printed (``{{ }}``: an object's ``__str__``
  runs), ``["v", line, "..."]`` one read otherwise (a filter's argument, an ``{% if %}``
  condition, a tag's argument such as ``{% url ... x.pk %}``);
- ``["f", line, [targets], "iterable", body, empty]``: ``{% for %}`` (with ``{% empty %}``);
- ``["w", line, [[name, "expression"], ...], body]``: ``{% with %}`` (both syntaxes) and
  ``{% blocktranslate with ... %}``;
- ``["i", line, "name" or None, [[name, "expression"], ...], only]``: ``{% include %}``;
- ``["b", "name", body]``: ``{% block %}``;
- ``["a", line, name]``: a name a tag sets (``{% url ... as x %}``): unknown from there on.

:func:`template_facts` gives ``{"e": extends, "b": body}`` (``extends`` is the parent's
name, ``"?"`` when it is not a literal, ``None`` without ``{% extends %}``), or ``None``
for a template whose tags do not nest (a broken template is skipped, never an error).
"""

from __future__ import annotations

import re
from typing import Any

#: Django's ``tag_re``: a tag never spans lines.
TAG_RE = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}")
#: Django's ``smart_split``: words, with quoted parts kept whole.
_BITS_RE = re.compile(r"""((?:[^\s'"]*(?:(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')[^\s'"]*)+)|\S+)""")
#: A variable: dotted names, no leading underscore (Django refuses those).
_VARIABLE_RE = re.compile(r"[A-Za-z][\w]*(?:\.\w+)*\Z")
_IF_WORDS = frozenset({"and", "or", "not", "in", "is", "==", "!=", "<", ">", "<=", ">="})
_LITERAL_WORDS = frozenset({"True", "False", "None"})
#: Tags whose arguments are no variables.
_NO_READS = frozenset(
    {
        "load",
        "csrf_token",
        "static",
        "get_static_prefix",
        "get_media_prefix",
        "now",
        "templatetag",
        "spaceless",
        "endspaceless",
        "autoescape",
        "endautoescape",
        "debug",
        "lorem",
        "resetcycle",
        "widthratio",
    }
)
_SKIPPED_BLOCKS = {"comment": "endcomment", "verbatim": "endverbatim"}
_TRANSLATE_BLOCKS = {"blocktrans": "endblocktrans", "blocktranslate": "endblocktranslate"}
MAX_BODY_NODES = 20000


class BrokenTemplateError(ValueError):
    """Tags that do not nest (an ``{% endfor %}`` without its ``{% for %}``)."""


def bits(content: str) -> list[str]:
    """A tag's words (``smart_split``)."""
    return _BITS_RE.findall(content)


def is_literal(text: str) -> bool:
    """A quoted string, a number, ``_("...")`` or ``True``/``False``/``None``."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return True
    if text.startswith("_(") and text.endswith(")"):
        return True
    if text in _LITERAL_WORDS:
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


_FILTER_PARTS_RE = re.compile(r"""(?:[^|"']|"[^"]*"|'[^']*')+""")


def _split_filters(expression: str) -> list[str]:
    """``a.b|default:"x|y"|date:fmt`` -> ``["a.b", 'default:"x|y"', "date:fmt"]``."""
    if '"' not in expression and "'" not in expression:
        return [part.strip() for part in expression.split("|")]
    return [part.strip() for part in _FILTER_PARTS_RE.findall(expression)] or [""]


def variables(expression: str) -> list[str]:
    """The variables a filter expression reads: its value and each filter's argument."""
    parts = _split_filters(expression)
    found: list[str] = []
    if parts and _VARIABLE_RE.match(parts[0]) and parts[0] not in _LITERAL_WORDS:
        found.append(parts[0])
    for part in parts[1:]:
        _name, colon, argument = part.partition(":")
        argument = argument.strip()
        if colon and _VARIABLE_RE.match(argument) and argument not in _LITERAL_WORDS:
            found.append(argument)
    return found


def value_of(expression: str) -> str | None:
    """The variable a filter expression starts from (``None`` for a literal)."""
    first = _split_filters(expression)[0]
    if _VARIABLE_RE.match(first) and first not in _LITERAL_WORDS:
        return first
    return None


def _keyword_pairs(words: list[str]) -> list[list[str]]:
    pairs: list[list[str]] = []
    for word in words:
        name, equals, value = word.partition("=")
        if equals and name.isidentifier():
            pairs.append([name, value])
    return pairs


def _reads(line: int, expression: str, printed: bool) -> list[list[Any]]:
    """The reads of a filter expression: its value is printed when ``printed`` and it has no
    filter (a filter may turn it into anything), the filters' arguments are not."""
    parts = _split_filters(expression)
    found = variables(expression)
    printed_value = printed and len(parts) == 1
    return [
        ["r" if printed_value and position == 0 and name == parts[0] else "v", line, name]
        for position, name in enumerate(found)
    ]


class _Parser:
    def __init__(self) -> None:
        self.root: list[Any] = []
        #: open ``for``/``with``/``block``/translate tags: (kind, node, the list being filled)
        self.stack: list[tuple[str, list[Any], list[Any]]] = []
        self.extends: str | None = None
        self.skipping: str | None = None  # the end tag of a comment/verbatim block
        self.count = 0

    @property
    def body(self) -> list[Any]:
        return self.stack[-1][2] if self.stack else self.root

    def add(self, node: list[Any]) -> None:
        self.count += 1
        if self.count > MAX_BODY_NODES:
            raise BrokenTemplateError("too many tags")
        self.body.append(node)

    def close(self, kind: str) -> None:
        if not self.stack or self.stack[-1][0] != kind:
            raise BrokenTemplateError(f"unexpected end of {kind}")
        self.stack.pop()

    def variable(self, line: int, content: str, printed: bool = False) -> None:
        for node in _reads(line, content, printed):
            self.add(node)

    def tag(self, line: int, content: str) -> None:
        words = bits(content)
        if not words:
            return
        name = words[0]
        if self.skipping is not None:
            if name == self.skipping:
                self.skipping = None
            return
        if name in _SKIPPED_BLOCKS:
            self.skipping = _SKIPPED_BLOCKS[name]
        elif name == "for":
            self._for(line, words)
        elif name == "empty":
            if not self.stack or self.stack[-1][0] != "for":
                raise BrokenTemplateError("empty outside for")
            node = self.stack[-1][1]
            self.stack[-1] = ("for", node, node[5])
        elif name == "endfor":
            self.close("for")
        elif name == "with":
            rest = words[1:]
            pairs = (
                [[rest[2], rest[0]]] if len(rest) == 3 and rest[1] == "as" else _keyword_pairs(rest)
            )
            node = ["w", line, pairs, []]
            self.add(node)
            self.stack.append(("with", node, node[3]))
        elif name == "endwith":
            self.close("with")
        elif name in _TRANSLATE_BLOCKS:
            rest = words[1:]
            for position, word in enumerate(rest):
                if word == "asvar" and position + 1 < len(rest):
                    self.add(["a", line, rest[position + 1]])
            pairs = _keyword_pairs(rest)
            node = ["w", line, pairs, []]
            self.add(node)
            self.stack.append(("translate", node, node[3]))
        elif name in ("endblocktrans", "endblocktranslate"):
            self.close("translate")
        elif name == "block":
            if len(words) < 2:
                raise BrokenTemplateError("block without a name")
            node = ["b", words[1], []]
            self.add(node)
            self.stack.append(("block", node, node[2]))
        elif name == "endblock":
            self.close("block")
        elif name == "extends":
            if len(words) >= 2:
                self.extends = words[1][1:-1] if is_literal(words[1]) else "?"
        elif name == "include":
            self._include(line, words)
        elif name in ("if", "elif"):
            for word in words[1:]:
                if word not in _IF_WORDS:
                    self.variable(line, word)
        elif name == "regroup":
            if len(words) >= 2:
                self.variable(line, words[1])
            if len(words) >= 6 and words[-2] == "as":
                self.add(["a", line, words[-1]])
        elif name in _NO_READS or name.startswith("end") or name in ("else", "plural"):
            if len(words) >= 3 and words[-2] == "as":
                self.add(["a", line, words[-1]])
        else:
            self._generic(line, words)

    def _for(self, line: int, words: list[str]) -> None:
        if "in" not in words[1:]:
            raise BrokenTemplateError("for without in")
        position = len(words) - 1 - words[::-1].index("in")
        targets = [t.strip() for t in " ".join(words[1:position]).split(",") if t.strip()]
        iterable = " ".join(w for w in words[position + 1 :] if w != "reversed")
        node: list[Any] = ["f", line, targets, iterable, [], []]
        self.add(node)
        self.stack.append(("for", node, node[4]))

    def _include(self, line: int, words: list[str]) -> None:
        if len(words) < 2:
            raise BrokenTemplateError("include without a name")
        target = words[1][1:-1] if is_literal(words[1]) and words[1][0] in "\"'" else None
        rest = words[2:]
        only = "only" in rest
        pairs = _keyword_pairs(rest[rest.index("with") + 1 :]) if "with" in rest else []
        if target is None:
            self.variable(line, words[1])
        self.add(["i", line, target, pairs, only])

    def _generic(self, line: int, words: list[str]) -> None:
        """A tag of a library (``url``, ``firstof``, a project's own): every argument that
        is a variable is read; ``as x`` sets ``x``."""
        rest = words[1:]
        if len(rest) >= 2 and rest[-2] == "as":
            self.add(["a", line, rest[-1]])
            rest = rest[:-2]
        for word in rest:
            name, equals, value = word.partition("=")
            if equals and name.isidentifier():
                word = value
            self.variable(line, word)

    def finish(self) -> dict[str, Any]:
        if self.stack:
            raise BrokenTemplateError(f"unclosed {self.stack[-1][0]}")
        return {"e": self.extends, "b": self.root}


def template_facts(text: str) -> dict[str, Any] | None:
    """The facts of a template (see the module docstring); ``None`` when it is broken."""
    parser = _Parser()
    line = 1
    last = 0
    try:
        for match in TAG_RE.finditer(text):
            start = match.start()
            line += text.count("\n", last, start)
            last = start
            token = match.group()
            content = token[2:-2].strip()
            kind = token[1]
            if kind == "%":
                parser.tag(line, content)
            elif kind == "{" and parser.skipping is None:
                parser.variable(line, content, printed=True)
        return parser.finish()
    except BrokenTemplateError:
        return None


def has_reads(facts: dict[str, Any]) -> bool:
    """Whether the template holds anything :mod:`flake8_djguide.orm.templates` uses."""
    return bool(facts["b"]) or facts["e"] is not None
