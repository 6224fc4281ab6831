"""Shared test helpers: run the engine on source text as a given path."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flake8_djguide import config
from flake8_djguide.engine import Engine
from flake8_djguide.registry import all_rules, by_code
from flake8_djguide.rule import Finding, Rule

FIXTURES = Path(__file__).parent / "fixtures"


def settings_with(options: Mapping[str, object]) -> config.Settings:
    values = config.defaults()
    values.update(config.validate_table(dict(options), "test"))
    return config.Settings(values)


def lint(
    code: str,
    path: str,
    rules: Sequence[type[Rule]] | None = None,
    options: Mapping[str, object] | None = None,
    whole_file: bool = False,
) -> list[Finding]:
    engine = Engine(list(rules) if rules is not None else list(all_rules()))
    result = engine.check(
        code.splitlines(True), path, settings_with(options or {}), whole_file=whole_file
    )
    return result.findings


def triples(findings: Sequence[Finding]) -> list[tuple[int, int, str]]:
    return sorted((f.line, f.col, f.code) for f in findings)


_EXPECT = re.compile(r"#\s*expect:\s*(.+)$")
_EXPECT_AT = re.compile(r"#\s*expect@(\d+):\s*(.+)$")
_ITEM = re.compile(r"(DJG\d{3}):(\d+)")
_HEADER = re.compile(r"^#\s*djguide:\s*(.+)$")


@dataclass
class Fixture:
    path: Path
    code: str
    lint_path: str
    codes: list[str]
    options: dict[str, object] = field(default_factory=dict)
    expected: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def rules(self) -> list[type[Rule]]:
        table = by_code()
        return [table[c] for c in self.codes]


def load_fixture(path: Path) -> Fixture:
    """Read a fixture: ``# djguide:`` header lines and ``# expect: CODE:col`` comments.

    Header keys: ``path=`` (the path the file is linted as; relative to
    tests/fixtures when it starts with ``projects/``), ``select=`` (codes, default
    the file name's code), ``option NAME=VALUE``.
    """
    code = path.read_text(encoding="utf-8")
    lint_path = f"app/{path.stem.lower()}.py"
    codes = [path.stem.split("_")[0]]
    options: dict[str, object] = {}
    expected: list[tuple[int, int, str]] = []
    for number, line in enumerate(code.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            for item in header.group(1).split():
                key, _, value = item.partition("=")
                if key == "path":
                    lint_path = str(FIXTURES / value) if value.startswith("projects/") else value
                elif key == "select":
                    codes = value.split(",")
                elif key.startswith("option:"):
                    options[key[len("option:") :]] = value
                else:
                    raise ValueError(f"{path}:{number}: unknown header key {key!r}")
        match_at = _EXPECT_AT.search(line)
        if match_at:
            target = int(match_at.group(1))
            for code_, col in _ITEM.findall(match_at.group(2)):
                expected.append((target, int(col), code_))
            continue
        match = _EXPECT.search(line)
        if match:
            for code_, col in _ITEM.findall(match.group(1)):
                expected.append((number, int(col), code_))
    return Fixture(path, code, lint_path, codes, options, sorted(expected))


def all_fixtures() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("DJG*.py") if "projects" not in p.parts)
