"""The generated documentation is up to date and complete."""

from __future__ import annotations

from pathlib import Path

from flake8_djguide import config
from flake8_djguide.docs import render, update_readme
from flake8_djguide.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent


def test_rules_md_is_up_to_date() -> None:
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == render(), "docs/rules.md is stale: run python scripts/gen_docs.py"


def test_readme_rule_table_is_up_to_date() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == update_readme(readme), "README rule table is stale: run scripts/gen_docs.py"


def test_every_rule_is_documented_with_its_sections() -> None:
    text = render()
    for rule in all_rules():
        assert f"## {rule.CODE} {rule.NAME}" in text
        assert rule.RATIONALE and rule.GUIDE and rule.__doc__


def test_rules_reference_only_defined_options() -> None:
    unknown = {
        (rule.CODE, name)
        for rule in all_rules()
        for name in rule.OPTIONS
        if name not in config.OPTIONS
    }
    assert unknown == set()
