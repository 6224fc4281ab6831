"""Regression tests: deeply nested input never crashes the process, and is checked when it can be.

Found by the corpus run (tests/corpus/README.md):

- libcst's native parser overflows its stack on an ``and``/``or`` chain of about
  7,000 operands, which ``ast`` accepts as one flat node: a segmentation fault that
  killed ``flake8 -j1`` and hung ``flake8 -j2`` forever (a dead pool worker).
- Source that ``ast`` rejects (newer syntax on an older Python, in ``Engine.check``
  with no tree, as ``djguide fix`` calls it) reached libcst however deep it nested:
  10,000 nested unary operators or 3,000 nested brackets crashed the parser.
- Nesting that ``ast`` accepts (up to about 3,000 levels: three times the recursion
  limit less the current depth, on CPython 3.11) ran into the default
  recursion limit in the walk and in libcst's position and code generation
  visitors, so files with a 400-line implicit string concatenation and a finding in
  the same statement got a ``DJG000`` instead of their findings.

The crash cases run in a subprocess, so that a regression fails the test instead of
killing pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from flake8_djguide.engine import MAX_BOOL_OPERANDS, MAX_TEXT_NESTING, text_hazard
from tests.util import lint, triples

#: Production settings: the settings rules parse every statement that assigns ``SECRET_KEY``
#: (the crashers below put their nesting there), whatever Python's own parser made of it.
SETTINGS = "config/settings/production.py"


def _check_in_subprocess(sources: dict[str, str], path: str = SETTINGS) -> dict[str, list[str]]:
    """Messages of ``Engine.check(lines, path, tree=None)`` for each source, in a fresh process."""
    script = textwrap.dedent(
        """
        import json, sys
        from flake8_djguide.engine import Engine
        from flake8_djguide.registry import all_rules
        from tests.util import settings_with

        engine = Engine(all_rules())
        for name, source in json.load(sys.stdin).items():
            result = engine.check(source.splitlines(True), sys.argv[1], settings_with({}))
            print(json.dumps([name, [finding.message for finding in result.findings]]), flush=True)
        """
    )
    process = subprocess.run(
        [sys.executable, "-c", script, path],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert process.returncode == 0, (process.returncode, process.stdout, process.stderr[-2000:])
    return dict(json.loads(line) for line in process.stdout.splitlines())


#: Source that crashed libcst's parser (a segmentation fault) before the guards.
CRASHERS = {
    # ast accepts it: only the and/or operand guard on the ast tree stands in the way
    # (in a statement a settings rule parses: DJG301 reads every ``SECRET_KEY``)
    "or-20000": "import os\nSECRET_KEY = " + " or ".join(f"a{i}" for i in range(20_000)) + "\n",
    # ast rejects these (newer syntax on older Pythons, or the nesting itself)
    "unary-30000": "type X = int\nprint(" + "-" * 30_000 + "1)\n",
    "not-20000": "type X = int\nprint(" + "not " * 20_000 + "x)\n",
    "brackets-5000": "x = " + "(" * 5_000 + "1" + ")" * 5_000 + "\n",
    "lists-3000": "x = " + "[" * 3_000 + "]" * 3_000 + "\n",
    "or-9000": "type X = int\nSECRET_KEY = " + " or ".join(["a"] * 9_000) + "\n",
    # ast rejects the alias on Python < 3.12 and then libcst parses it in a thread
    # with a big stack: checked normally
    "unary-500": "type X = int\nimport logging\nlogging.info(" + "-" * 500 + "1)\n",
}


@pytest.fixture(scope="module")
def crashers() -> dict[str, list[str]]:
    return _check_in_subprocess(CRASHERS)


def test_an_and_chain_too_long_for_libcst_is_one_djg000_not_a_crash(
    crashers: dict[str, list[str]],
) -> None:
    (message,) = crashers["or-20000"]
    assert message.startswith("DJG000 ")
    assert "line 2: an `and`/`or` chain of 20000 operands" in message


@pytest.mark.parametrize(
    "name", ["unary-30000", "not-20000", "brackets-5000", "lists-3000", "or-9000"]
)
def test_source_ast_rejects_is_not_handed_to_libcst_when_too_deep(
    name: str, crashers: dict[str, list[str]]
) -> None:
    (message,) = crashers[name]
    assert message.startswith("DJG000 ")
    assert "TooDeeplyNestedError" in message


def test_source_ast_rejects_is_checked_in_a_thread_with_a_big_stack(
    crashers: dict[str, list[str]],
) -> None:
    assert crashers["unary-500"] == [
        "DJG005 `logging.info()` logs to the root logger; call it on a module logger "
        "(`logger.info(...)`)"
    ]


def test_a_long_and_chain_in_a_statement_no_rule_needs_is_never_parsed() -> None:
    chain = " and ".join(f"a{i}" for i in range(2 * MAX_BOOL_OPERANDS))
    source = f"import logging\n\nok = {chain}\nlogger = logging.getLogger('shop')\n"
    assert triples(lint(source, "shop/views.py")) == [(4, 9, "DJG004")]


def test_chains_up_to_the_limit_are_parsed() -> None:
    chain = " and ".join(["a"] * MAX_BOOL_OPERANDS)
    source = f'SECRET_KEY = "x"\nimport logging\nlogging.info({chain})\n'
    messages = [f.message for f in lint(source, SETTINGS)]
    assert not any("TooDeeplyNestedError" in m for m in messages), messages
    chain = " and ".join(["a"] * 600)
    source = f'SECRET_KEY = "x"\nimport logging\nlogging.info({chain})\n'
    assert triples(lint(source, SETTINGS)) == [(1, 0, "DJG301"), (3, 0, "DJG005")]


# 600 levels: past what the default recursion limit allows libcst's visitors (about
# 300-400 levels), within what Python 3.12's fixed C recursion limit allows (about 700)
@pytest.mark.skipif(sys.version_info < (3, 11), reason="the recursion limit is raised on 3.11+")
@pytest.mark.parametrize(
    "expression",
    [
        pytest.param(" + ".join(["price"] * 600), id="binop-600"),
        pytest.param("(\n" + '    "x"\n' * 600 + ")", id="implicit-concatenation-600"),
        pytest.param("f" + "()" * 600, id="calls-600"),
        pytest.param("a" + ".b" * 600, id="attributes-600"),
        pytest.param("[" * 199 + "]" * 199, id="lists-199"),
        pytest.param("not " * 600 + "x", id="not-600"),
    ],
)
def test_nesting_that_ast_accepts_is_checked(expression: str) -> None:
    # a root-logger call (DJG005) holds the nesting: settings modules may print (DJG006)
    source = f'SECRET_KEY = "x"\nimport logging\nlogging.info({expression})\n'
    limit = sys.getrecursionlimit()
    assert triples(lint(source, SETTINGS)) == [(1, 0, "DJG301"), (3, 0, "DJG005")]
    assert sys.getrecursionlimit() == limit


def test_text_hazard_leaves_ordinary_code_alone() -> None:
    ordinary = "if a and b or not c:\n    x = -(-y)\n" * 2_000
    assert text_hazard(ordinary) is None
    assert text_hazard("x = " + "(" * MAX_TEXT_NESTING + ")" * MAX_TEXT_NESTING) is None
    assert text_hazard("x = " + "(" * (MAX_TEXT_NESTING + 1)) is not None
    assert text_hazard("x = (\n" + " and\n".join(["a"] * MAX_BOOL_OPERANDS) + ")\n") is None
    assert text_hazard("x = (\n" + " and\n".join(["a"] * (MAX_BOOL_OPERANDS + 1)) + ")") is not None
