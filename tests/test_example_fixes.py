"""Every ``Invalid(expected=...)`` example is what applying its rule's fixes gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flake8_djguide.registry import all_rules
from flake8_djguide.rule import Invalid, Rule
from tests.fixcheck import fix_by_rounds
from tests.util import lint

FIXED = [
    pytest.param(rule, example, id=f"{rule.CODE}-invalid{index}")
    for rule in all_rules()
    for index, example in enumerate(rule.INVALID)
    if example.expected is not None
]


@pytest.fixture
def no_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Examples are linted as files of a directory with no project around it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("rule", "example"), FIXED)
def test_fixes_give_the_expected_code(rule: type[Rule], example: Invalid, no_project: Path) -> None:
    path = os.path.join(str(no_project), example.path)
    fixed = fix_by_rounds(example.code, path, [rule], example.options)
    assert fixed == example.expected
    assert [f for f in lint(fixed, path, [rule], example.options) if f.fix is not None] == []


def test_code_without_fixable_findings_is_left_alone() -> None:
    code = "def publish(post: Post) -> None:\n    post.save()\n"
    assert fix_by_rounds(code, "blog/services.py", list(all_rules())) == code
