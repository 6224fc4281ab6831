"""Property tests: any valid program gives findings or nothing, never an exception.

Programs come from hypothesmith (Python's grammar and libcst's node types) and from
Django-shaped templates (``tests/strategies.py``). Each one is checked in every file
context of a small project (module, models, tests, settings, development settings,
management command, migration, factories, consumer, serializers, stdin):

- through the flake8 entry point, ``Plugin(tree, lines, filename).run()`` after
  ``Plugin.parse_options`` with options parsed by flake8 itself (every rule on);
- through the engine, chunked and whole-file, which must agree (the contract of
  ``AST_TRIGGERS``);
- through ``djguide fix`` (``fix_source`` with unsafe fixes): the fixed code parses,
  no fix fails or breaks the code, and fixing again changes nothing.

CI runs a few examples with a fixed seed. A longer, random run::

    DJGUIDE_HYPOTHESIS_EXAMPLES=2000 python -m pytest tests/test_property.py
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import libcst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flake8_djguide import cli, config
from flake8_djguide.engine import Engine
from flake8_djguide.fix import fix_source, split_lines
from flake8_djguide.registry import all_rules
from tests.robust import EVERY_RULE, flake8_options, make_project, plugin_results, plugin_state
from tests.strategies import django_modules, programs, untargeted_programs

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

_LONG_RUN = int(os.environ.get("DJGUIDE_HYPOTHESIS_EXAMPLES", "0") or 0)


def examples(default: int) -> settings:
    """Bounded and derandomized in CI; ``DJGUIDE_HYPOTHESIS_EXAMPLES`` examples otherwise."""
    common = {
        "deadline": None,
        "suppress_health_check": [
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    }
    if _LONG_RUN:
        return settings(max_examples=_LONG_RUN, **common)  # type: ignore[arg-type]
    return settings(max_examples=default, derandomize=True, database=None, **common)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def contexts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return make_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def every_rule_on() -> Iterator[None]:
    """Plugin options as flake8 parses them, with every rule (opt-in ones too) selected."""
    with flake8_options(EVERY_RULE):
        yield


def _libcst_parses(source: str) -> bool:
    try:
        libcst.parse_module(source)
    except Exception:
        return False
    return True


def _assert_sane(results: list[tuple[int, int, str]], source: str) -> None:
    lines = max(1, len(split_lines(source)))
    for line, col, message in results:
        assert message[:3] == "DJG" and message[3:6].isdigit() and message[6] == " ", message
        assert 1 <= line <= lines + 1, (line, message)
        assert col >= 0, (col, message)
        if message.startswith("DJG000"):
            # one DJG000 at most, and only for what libcst itself cannot parse
            assert [m for _, _, m in results if m.startswith("DJG000")] == [message]
            assert not _libcst_parses(source), f"DJG000 on source libcst parses: {message}"


@examples(25)
@given(source=programs)
def test_plugin_entry_point_never_raises(
    source: str, contexts: dict[str, str], every_rule_on: None
) -> None:
    for filename in contexts.values():
        results = plugin_results(source, filename)
        _assert_sane(results, source)
        assert plugin_results(source, filename) == results, "a second run differs"


@examples(25)
@given(source=django_modules().filter(lambda s: _parses(s)))
def test_chunked_and_whole_file_agree(source: str, contexts: dict[str, str]) -> None:
    engine = Engine(all_rules())
    lines = split_lines(source)
    for filename in contexts.values():
        settings_ = config.resolve(filename, {})
        chunked = engine.check(lines, filename, settings_, tree=ast.parse(source)).findings
        whole = engine.check(lines, filename, settings_, whole_file=True).findings
        assert [(f.line, f.col, f.message) for f in chunked] == [
            (f.line, f.col, f.message) for f in whole
        ]


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


@examples(15)
@given(source=st.one_of(django_modules().filter(_parses), programs))
def test_fix_never_raises_and_keeps_code_valid(source: str, contexts: dict[str, str]) -> None:
    rules = all_rules()
    for filename in contexts.values():
        settings_ = config.resolve(filename, {})
        result = fix_source(source, filename, rules, settings_, unsafe=True)
        if result.error is not None:
            assert result.error.startswith("DJG000 ")
            assert not _libcst_parses(source), result.error
            continue
        assert result.problems == []
        assert _parses(result.source), result.source
        again = fix_source(result.source, filename, rules, settings_, unsafe=True)
        assert again.error is None
        assert again.source == result.source, "fixing twice changed the code again"


@examples(3)
@given(sources=st.lists(untargeted_programs, min_size=1, max_size=6))
def test_djguide_fix_command_never_fails(
    sources: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("fix")
    contexts = make_project(root)
    paths = [p for name, p in sorted(contexts.items()) if name not in ("stdin", "models")]
    for source, path in zip(sources, paths):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(source, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with plugin_state(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["fix", "--unsafe-fixes", "--select", "DJG", str(root)])
    assert status in (0, 1), (status, err.getvalue())
    assert "internal error" not in err.getvalue(), err.getvalue()
    assert "Traceback" not in err.getvalue() + out.getvalue()
    for path in paths[: len(sources)]:
        assert _parses(Path(path).read_text(encoding="utf-8")), path
