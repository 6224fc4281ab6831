"""DJG604's fixes on its fixtures leave nothing for the rule to report.

(Every ``Invalid`` example's ``expected`` code is checked against the real fixer in
tests/test_fix.py.)"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from flake8_djguide.registry import by_code
from tests.util import FIXTURES, apply_fixes, lint, load_fixture


def test_djg604_examples_have_expected_fixes() -> None:
    rule = by_code()["DJG604"]
    assert rule.FIX is not None
    assert all(example.expected is not None for example in rule.INVALID)


FIXABLE_FIXTURES = sorted((FIXTURES / "structure").glob("DJG604*.py"))


@pytest.mark.parametrize("path", FIXABLE_FIXTURES, ids=lambda p: p.name)
def test_fixing_a_fixture_removes_its_findings(path: Path) -> None:
    fixture = load_fixture(path)
    before = lint(fixture.code, fixture.lint_path, fixture.rules, fixture.options)
    assert before, "the fixture has findings to fix"
    fixed = apply_fixes(fixture.code, fixture.lint_path, fixture.rules, fixture.options)
    assert fixed != fixture.code
    assert lint(fixed, fixture.lint_path, fixture.rules, fixture.options) == []
    # only the flagged calls changed: each gains `read_only=True` on one line
    diff = list(difflib.ndiff(fixture.code.splitlines(), fixed.splitlines()))
    added = [line[2:] for line in diff if line.startswith("+ ")]
    removed = [line[2:] for line in diff if line.startswith("- ")]
    assert len(added) == len(before)
    assert all("read_only=True" in line for line in added)
    assert len(removed) <= len(before)
