"""Fixes: every ``Invalid(expected=...)`` example is what applying the rule's fixes gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flake8_djguide.registry import all_rules
from flake8_djguide.rule import Invalid, Rule
from tests.util import apply_fixes, lint

FIXED = [
    pytest.param(rule, example, id=f"{rule.CODE}-invalid{index}")
    for rule in all_rules()
    for index, example in enumerate(rule.INVALID)
    if example.expected is not None
]
INVALID = [
    pytest.param(rule, example, id=f"{rule.CODE}-invalid{index}")
    for rule in all_rules()
    for index, example in enumerate(rule.INVALID)
]


@pytest.fixture
def no_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Examples are linted as files of a directory with no project around it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("rule", "example"), FIXED)
def test_fix_gives_the_expected_code(rule: type[Rule], example: Invalid, no_project: Path) -> None:
    path = os.path.join(str(no_project), example.path)
    fixed = apply_fixes(example.code, path, [rule], example.options)
    assert fixed == example.expected


@pytest.mark.parametrize(("rule", "example"), FIXED)
def test_fixed_code_has_fewer_findings(
    rule: type[Rule], example: Invalid, no_project: Path
) -> None:
    path = os.path.join(str(no_project), example.path)
    assert example.expected is not None
    before = lint(example.code, path, [rule], example.options)
    after = lint(example.expected, path, [rule], example.options)
    assert len(after) < len(before)


@pytest.mark.parametrize(("rule", "example"), INVALID)
def test_only_rules_with_a_fix_offer_one(
    rule: type[Rule], example: Invalid, no_project: Path
) -> None:
    path = os.path.join(str(no_project), example.path)
    findings = lint(example.code, path, [rule], example.options)
    if rule.FIX is None:
        assert all(f.fix is None for f in findings)


def test_apply_fixes_leaves_code_without_findings_alone() -> None:
    code = "def publish(post: Post) -> None:\n    post.save()\n"
    assert apply_fixes(code, "blog/services.py", list(all_rules())) == code
