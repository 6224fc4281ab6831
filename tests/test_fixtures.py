"""Every fixture file: exactly the expected (line, column, code), in both engine modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from flake8_djguide.registry import all_rules
from tests.util import FIXTURES, all_fixtures, lint, load_fixture, triples

FIXTURE_FILES = all_fixtures()


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
@pytest.mark.parametrize("whole_file", [False, True], ids=["chunked", "whole-file"])
def test_fixture_findings_match_expectations(path: Path, whole_file: bool) -> None:
    fixture = load_fixture(path)
    findings = lint(
        fixture.code, fixture.lint_path, fixture.rules, fixture.options, whole_file=whole_file
    )
    assert triples(findings) == fixture.expected
    for finding in findings:
        assert finding.message.startswith(finding.code + " ")


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_has_its_sections(path: Path) -> None:
    """Code to leave alone in every fixture; code to flag wherever an Invalid section is."""
    fixture = load_fixture(path)
    assert "# Valid" in fixture.code
    assert bool(fixture.expected) == ("# Invalid" in fixture.code)


def test_every_rule_has_flag_and_no_flag_fixtures() -> None:
    flagged = {code for p in FIXTURE_FILES for (_, _, code) in load_fixture(p).expected}
    missing = [rule.CODE for rule in all_rules() if rule.CODE not in flagged]
    assert missing == []


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_no_rule_crashes_on_any_fixture(path: Path) -> None:
    fixture = load_fixture(path)
    findings = lint(fixture.code, fixture.lint_path, all_rules(), fixture.options)
    assert [f.message for f in findings if f.code == "DJG000"] == []


def test_every_rule_has_a_fixture_file() -> None:
    covered = {load_fixture(p).codes[0] for p in FIXTURE_FILES}
    missing = [rule.CODE for rule in all_rules() if rule.CODE not in covered]
    assert missing == []
