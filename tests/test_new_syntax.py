"""Syntax from Python 3.12-3.14 in Django-shaped code: every rule handles it.

- PEP 695 type parameters and ``type`` aliases (3.12), PEP 696 type parameter
  defaults (3.13), PEP 701 f-strings (3.12: nested quotes, comments, backslashes),
  PEP 750 t-strings (3.14), PEP 758 ``except`` without parentheses (3.14).
- Through the flake8 entry point (``Plugin`` with flake8's ``ast`` tree and every rule
  on), when the running Python parses the snippet; skipped otherwise.
- Through the engine with no ``ast`` tree, on any Python: ``ast`` rejects the newer
  syntax on an older Python, and libcst (which parses all of it) checks the file.
- What libcst cannot parse (implicitly concatenated t-strings in libcst 1.9; a form
  feed before an indented line, and more than 3,000 implicitly concatenated strings,
  which any ``ast`` accepts) is exactly one ``DJG000`` and never a traceback.

Expected findings are listed per snippet for the context they are linted in; every
other finding of any rule is allowed (the typing and docstring rules have opinions on
these snippets), but never a ``DJG000``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import libcst
import pytest

from flake8_djguide import config
from flake8_djguide.engine import Engine
from flake8_djguide.fix import split_lines
from flake8_djguide.registry import all_rules
from tests.robust import EVERY_RULE, flake8_options, make_project, plugin_results


@dataclass(frozen=True)
class Snippet:
    name: str
    code: str
    context: str = "module"
    #: ``(line, col, code)`` that must be among the findings
    expected: tuple[tuple[int, int, str], ...] = ()
    minimum: tuple[int, int] = (3, 12)
    libcst_parses: bool = True
    options: dict[str, str] = field(default_factory=dict)


SNIPPETS = [
    Snippet(
        "pep695-generic-function",
        "import logging\n\n\n"
        "def first[T](items: list[T]) -> T:\n"
        '    """The first item."""\n'
        "    print(items)\n"
        "    logging.info('first')\n"
        "    return items[0]\n",
        expected=((6, 4, "DJG006"), (7, 4, "DJG005")),
    ),
    Snippet(
        "pep695-generic-class-and-bound",
        "from django.db import models\n\n\n"
        "class Repository[M: models.Model, *Ts, **P]:\n"
        '    """Loads models."""\n\n'
        "    def load(self, pk: int) -> M:\n"
        '        """Load one."""\n'
        "        from .models import Post\n\n"
        "        return Post.objects.get(pk=pk)\n",
        expected=((9, 8, "DJG001"),),
    ),
    Snippet(
        "pep695-type-alias",
        "from .models import Post\n\n"
        "type PostList = list[Post]\n"
        "type Pair[T] = tuple[T, T]\n"
        "type Lazy[T: (int, str)] = list[T]\n",
        expected=((1, 0, "DJG001"),),
    ),
    Snippet(
        "pep696-type-parameter-defaults",
        "def paginate[T = int](items: list[T], size: int = 25) -> list[T]:\n"
        '    """A page."""\n'
        "    print(size)\n"
        "    return items[:size]\n\n\n"
        "class Page[T = str, *Ts = *tuple[int]]:\n"
        '    """A page."""\n',
        expected=((3, 4, "DJG006"),),
        minimum=(3, 13),
    ),
    Snippet(
        "pep701-nested-quotes",
        "import logging\n\n"
        'logger = logging.getLogger(f"{"shop"}.views")\n'
        'LABEL = f"{", ".join(["a", "b"])}"\n'
        'print(f"{LABEL!r:>{"10"}}")\n',
        expected=((5, 0, "DJG006"),),
    ),
    Snippet(
        "pep701-comments-and-backslashes",
        "from django.db import connection\n\n\n"
        "def search(request: object, table: str) -> None:\n"
        '    """Search."""\n'
        "    with connection.cursor() as cursor:\n"
        '        cursor.execute(f"""SELECT * FROM {table} WHERE name = {\n'
        '            request.GET["q"]  # the user\'s query\n'
        '        } AND note = {"\\n".join(request.GET)}""")\n',
        expected=((7, 23, "DJG204"),),
    ),
    Snippet(
        "pep701-settings",
        'SECRET_KEY = f"{"django-insecure"}-{"x"}"\n'
        "DEBUG = True\n"
        'ALLOWED_HOSTS = [f"{"*"}", "*"]\n',
        context="settings",
        expected=((2, 0, "DJG303"), (3, 27, "DJG304")),
    ),
    Snippet(
        "pep750-t-strings",
        "from string.templatelib import Template\n\n\n"
        "def greeting(name: str) -> Template:\n"
        '    """A greeting."""\n'
        '    print(t"Hello {name!r:>{10}}")\n'
        '    return t"Hello {name}"\n',
        expected=((6, 4, "DJG006"),),
        minimum=(3, 14),
    ),
    Snippet(
        "pep758-except-without-parentheses",
        "import logging\n\n\n"
        "def parse(value: str) -> int:\n"
        '    """Parse."""\n'
        "    try:\n"
        "        return int(value)\n"
        "    except ValueError, TypeError:\n"
        "        logging.exception('bad value')\n"
        "        raise\n",
        expected=((9, 8, "DJG005"),),
        minimum=(3, 14),
    ),
    Snippet(
        "pep695-in-a-test-module",
        "def make[T](factory: type[T]) -> T:\n    return factory()\n\n\n"
        "def test_make() -> None:\n    post: object = make(object)\n    assert post\n",
        context="test",
        expected=((1, 21, "DJG403"), (1, 33, "DJG403"), (5, 19, "DJG403"), (6, 10, "DJG403")),
    ),
]

#: Valid Python (on some version) that libcst 1.9 cannot parse.
LIBCST_CANNOT_PARSE = [
    Snippet(
        "pep750-implicit-t-string-concatenation",
        'print(t"Hello " t"{name}")\n',
        minimum=(3, 14),
        libcst_parses=False,
    ),
    Snippet(
        # a form feed before an indented line resets Python's column count; libcst 1.9's
        # tokenizer then finds "no matching outer block for dedent" (the corpus run's
        # mutated copies found it)
        "form-feed-before-indentation",
        "import logging\n\n\nclass Account:\n    def url(self):\n"
        '\x0c        logging.info("url")\n        return self.extra_data.get("url")\n',
        minimum=(3, 0),
        libcst_parses=False,
    ),
    Snippet(
        "3001-implicitly-concatenated-strings",
        # a statement a settings rule parses (DJG301 reads every ``SECRET_KEY``)
        "import os\nSECRET_KEY = (\n" + '    "x"\n' * 3001 + ")\n",
        context="settings",
        minimum=(3, 0),
        libcst_parses=False,
    ),
]


def _python_parses(snippet: Snippet) -> bool:
    try:
        ast.parse(snippet.code)
    except SyntaxError:
        return False
    return True


@pytest.fixture(scope="module")
def contexts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return make_project(Path(tmp_path_factory.mktemp("project")))


def _assert_expected(found: list[tuple[int, int, str]], snippet: Snippet) -> None:
    assert [f for f in found if f[2] == "DJG000"] == []
    missing = [e for e in snippet.expected if e not in found]
    assert missing == [], found


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s.name)
def test_libcst_parses_every_snippet(snippet: Snippet) -> None:
    assert libcst.parse_module(snippet.code).code == snippet.code


@pytest.mark.parametrize("whole_file", [False, True], ids=["chunked", "whole-file"])
@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s.name)
def test_every_rule_handles_it_without_an_ast_tree(
    snippet: Snippet, whole_file: bool, contexts: dict[str, str]
) -> None:
    # With no tree the engine parses with ast itself; on a Python older than the
    # snippet that fails, and libcst checks the whole file.
    filename = contexts[snippet.context]
    result = Engine(all_rules()).check(
        split_lines(snippet.code), filename, config.resolve(filename, {}), whole_file=whole_file
    )
    _assert_expected([(f.line, f.col, f.code) for f in result.findings], snippet)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s.name)
def test_every_rule_handles_it_through_flake8(snippet: Snippet, contexts: dict[str, str]) -> None:
    if not _python_parses(snippet):
        pytest.skip(f"Python {'.'.join(map(str, snippet.minimum))}+ syntax")
    with flake8_options(EVERY_RULE):
        results = plugin_results(snippet.code, contexts[snippet.context])
    found = [(line, col - 0, message.split(" ", 1)[0]) for line, col, message in results]
    _assert_expected(found, snippet)
    # the engine's chunked run (the plugin's) agrees with a whole-file run
    filename = contexts[snippet.context]
    whole = Engine(all_rules()).check(
        split_lines(snippet.code), filename, config.resolve(filename, {}), whole_file=True
    )
    assert sorted(found) == sorted((f.line, f.col, f.code) for f in whole.findings)


@pytest.mark.parametrize("snippet", LIBCST_CANNOT_PARSE, ids=lambda s: s.name)
def test_what_libcst_cannot_parse_is_exactly_one_djg000(
    snippet: Snippet, contexts: dict[str, str]
) -> None:
    with pytest.raises(Exception):  # noqa: B017 - libcst raises several error types
        libcst.parse_module(snippet.code)
    filename = contexts[snippet.context]
    result = Engine(all_rules()).check(
        split_lines(snippet.code), filename, config.resolve(filename, {})
    )
    assert [f.code for f in result.findings] == ["DJG000"]
    assert result.findings[0].message.startswith("DJG000 flake8-djguide could not check this file")
    if _python_parses(snippet):
        with flake8_options(EVERY_RULE):
            results = plugin_results(snippet.code, filename)
        assert [message.split(" ", 1)[0] for _, _, message in results] == ["DJG000"]
