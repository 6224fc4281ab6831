"""The README's first command: every rule fires at least once on examples/."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from flake8_djguide.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent


def test_every_rule_fires_on_the_example_project() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    opt_in = ",".join(rule.CODE for rule in all_rules() if rule.OPT_IN)
    select = f"--select=DJG,{opt_in}"  # DJG is the default set; opt-in rules by full code
    assert f"flake8 {select} examples/" in readme.splitlines()[3]
    result = subprocess.run(
        [sys.executable, "-m", "flake8", select, "examples/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    reported = set(re.findall(r": (DJG\d{3}) ", result.stdout))
    assert "DJG000" not in reported
    assert sorted({rule.CODE for rule in all_rules()} - reported) == []


def test_development_settings_of_the_example_are_left_alone() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--select=DJG3", "examples/shop/shop/settings/local.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout == ""
