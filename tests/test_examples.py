"""The VALID/INVALID examples declared on every rule class run as tests."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from flake8_djguide.registry import all_rules
from flake8_djguide.rule import Invalid, Rule, Valid
from tests.util import lint, triples

CASES = [
    pytest.param(rule, example, id=f"{rule.CODE}-{kind}{index}")
    for rule in all_rules()
    for kind, examples in (("valid", rule.VALID), ("invalid", rule.INVALID))
    for index, example in enumerate(examples)
]


@pytest.fixture
def no_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Examples are linted as files of a directory with no project around it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_example(rule: type[Rule], example: Valid | Invalid, no_project: Path) -> None:
    path = os.path.join(str(no_project), example.path)
    findings = lint(example.code, path, [rule], example.options)
    if isinstance(example, Valid):
        assert triples(findings) == []
    else:
        assert triples(findings) == [(example.line, example.col, rule.CODE)]


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_example_is_valid_python(rule: type[Rule], example: Valid | Invalid) -> None:
    ast.parse(example.code)
    if isinstance(example, Invalid) and example.expected is not None:
        ast.parse(example.expected)
