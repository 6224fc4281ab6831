"""Fixes: every ``Invalid`` example with ``expected`` is fixed to exactly that code, and
fixing a fixture leaves nothing for the fixing rule to report."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from flake8_djguide.registry import all_rules, by_code
from flake8_djguide.rule import Invalid, Rule
from tests.util import FIXTURES, apply_fixes, lint, load_fixture

FIXED_EXAMPLES = [
    pytest.param(rule, example, id=f"{rule.CODE}-invalid{index}")
    for rule in all_rules()
    for index, example in enumerate(rule.INVALID)
    if example.expected is not None
]


@pytest.fixture
def no_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("rule", "example"), FIXED_EXAMPLES)
def test_fix_gives_expected_code(rule: type[Rule], example: Invalid, no_project: Path) -> None:
    path = os.path.join(str(no_project), example.path)
    fixed = apply_fixes(example.code, path, [rule], example.options)
    assert fixed == example.expected
    assert lint(fixed, path, [rule], example.options) == []


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
