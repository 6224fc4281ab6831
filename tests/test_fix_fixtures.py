"""The fix guarantees, checked on every fixture file (linted as its header says).

For each fixture and each of safe-only and unsafe fixing:

- the fixed code parses (``ast`` and libcst);
- fixing it again changes nothing (idempotence);
- re-linting shows none of the fixed findings: per code, the findings left are
  the findings before less the fixes applied, and none left has an applicable fix;
- nothing outside the replaced nodes' lines changes, pass by pass;
- ``# noqa: CODE`` on each fixable finding's line suppresses every fix.
"""

from __future__ import annotations

import ast
import re
import tokenize
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import libcst as cst
import pytest

from flake8_djguide.fix import FixPass, FixResult, NoqaIndex, fix_source, is_fixable, split_lines
from flake8_djguide.rule import Finding
from tests.util import FIXTURES, Fixture, all_fixtures, lint, load_fixture, settings_with

FIXTURE_FILES = all_fixtures()
IDS = [str(p.relative_to(FIXTURES)) for p in FIXTURE_FILES]


def _unsilenced(fixture: Fixture, code: str) -> list[Finding]:
    findings = lint(code, fixture.lint_path, fixture.rules, fixture.options, whole_file=True)
    noqa = NoqaIndex(split_lines(code))
    return [f for f in findings if not noqa.ignores(f.code, f.line)]


def assert_only_spans_changed(fixed_pass: FixPass) -> None:
    """Every line outside the replaced nodes' line spans is kept, in order."""
    marked = {n for first, last in fixed_pass.spans for n in range(first, last + 1)}
    assert marked, "a pass that changed the code must name what it replaced"
    runs: list[str] = []
    current: list[str] = []
    in_span = False
    for number, line in enumerate(split_lines(fixed_pass.before), start=1):
        if number in marked:
            if not in_span:
                runs.append("".join(current))
                current = []
                in_span = True
        else:
            in_span = False
            current.append(line)
    runs.append("".join(current))
    pattern = "(?s)" + ".*?".join(re.escape(run) for run in runs)
    assert re.fullmatch(pattern, fixed_pass.after), "code outside the fixed spans changed"


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=IDS)
def test_fixing_a_fixture_keeps_the_guarantees(path: Path, unsafe: bool) -> None:
    fixture = load_fixture(path)
    settings = settings_with(fixture.options)

    def fix(code: str) -> FixResult:
        return fix_source(
            code, fixture.lint_path, fixture.rules, settings, unsafe=unsafe, record=True
        )

    result = fix(fixture.code)
    assert result.error is None
    assert result.problems == []

    # The fixed code parses.
    ast.parse(result.source)
    cst.parse_module(result.source)

    # Fixing twice changes nothing the second time.
    again = fix(result.source)
    assert again.source == result.source
    assert not again.applied

    # Re-linting shows none of the fixed findings.
    before = Counter(f.code for f in _unsilenced(fixture, fixture.code))
    after = Counter(f.code for f in _unsilenced(fixture, result.source))
    for code in set(before) | set(after):
        assert after[code] == before[code] - result.applied[code], code
    assert [f for f in result.remaining if is_fixable(f, unsafe)] == []
    assert Counter(f.code for f in result.remaining) == after

    # Nothing outside the fixed spans changes.
    for fixed_pass in result.passes:
        assert_only_spans_changed(fixed_pass)
    assert result.changed == bool(result.applied)


def _with_noqa(code: str, findings: Sequence[Finding]) -> str:
    """``code`` with ``# noqa: CODE`` where flake8 reads it for each finding's line.

    The comment goes before the first NL/NEWLINE token at or after the line, so it
    lands after the end of a string that spans lines and after any comment there.
    """
    lines = split_lines(code)
    iterator = iter(lines)
    ends = [
        token.start
        for token in tokenize.generate_tokens(lambda: next(iterator, ""))
        if token.type in (tokenize.NL, tokenize.NEWLINE)
    ]
    codes_at: dict[tuple[int, int], set[str]] = {}
    for finding in findings:
        where = min(end for end in ends if end[0] >= finding.line)
        codes_at.setdefault(where, set()).add(finding.code)
    for (line, col), codes in sorted(codes_at.items(), reverse=True):
        text = lines[line - 1]
        lines[line - 1] = text[:col] + f"  # noqa: {','.join(sorted(codes))}" + text[col:]
    return "".join(lines)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=IDS)
def test_noqa_suppresses_the_fixes_of_a_fixture(path: Path) -> None:
    fixture = load_fixture(path)
    fixable = [f for f in _unsilenced(fixture, fixture.code) if is_fixable(f, True)]
    if not fixable:
        pytest.skip("no fixable finding in this fixture")
    code = _with_noqa(fixture.code, fixable)
    settings = settings_with(fixture.options)
    result = fix_source(code, fixture.lint_path, fixture.rules, settings, unsafe=True)
    assert result.source == code
    assert not result.applied


def test_some_fixture_has_fixable_findings() -> None:
    """The guarantees above are exercised on real fixes, not only on no-ops."""
    fixed = 0
    for path in FIXTURE_FILES:
        fixture = load_fixture(path)
        settings = settings_with(fixture.options)
        result = fix_source(fixture.code, fixture.lint_path, fixture.rules, settings, unsafe=True)
        fixed += sum(result.applied.values())
    assert fixed > 0


def test_the_span_check_catches_changes_outside_the_spans() -> None:
    assert_only_spans_changed(FixPass("a\nb\nc\n", "a\nB\nB2\nc\n", [(2, 2)]))
    assert_only_spans_changed(FixPass("a\nb\nc\n", "a\nc\n", [(2, 2)]))
    with pytest.raises(AssertionError):
        assert_only_spans_changed(FixPass("a\nb\nc\n", "a\nB\nC\n", [(2, 2)]))
    with pytest.raises(AssertionError):
        assert_only_spans_changed(FixPass("a\nb\nc\n", "A\nb\nc\n", [(2, 2)]))
