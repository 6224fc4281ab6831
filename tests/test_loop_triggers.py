"""What the loop triggers of DJG201, DJG202 and DJG208, and DJG207's, keep parsed.

The fixtures ``orm/DJG20{1,2,8}_loop_triggers.py`` hold loops the narrowed triggers must
keep (their findings, checked by the fixture tests too) and functions named ``unparsed_*`` whose loops hold no trigger: each of those holds a loop
and a queryset source (``Model.objects``), which held the coarser triggers before, and
must now be left out of the libcst parse entirely, with every finding unchanged.
``orm/DJG207_triggers.py`` does the same for ``select_related()``/``prefetch_related()``
calls with literal lookups.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from flake8_djguide.engine import Engine
from tests.util import FIXTURES, load_fixture, settings_with, triples

LOOP_FIXTURES = [
    FIXTURES / "orm" / f"{code}_loop_triggers.py" for code in ("DJG201", "DJG202", "DJG208")
] + [FIXTURES / "orm" / "DJG207_triggers.py"]
_LOOPS = (ast.For, ast.AsyncFor, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _holds_trigger_shape(path: Path, nodes: list[ast.AST]) -> bool:
    """A loop (or a call of a helper looping over its argument); for DJG207, a
    ``select_related()``/``prefetch_related()`` call."""
    if path.name.startswith("DJG207"):
        return any(
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr in ("select_related", "prefetch_related")
            for n in nodes
        )
    return any(isinstance(n, _LOOPS) for n in nodes) or any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.args for n in nodes
    )  # or a call of a project helper that loops over its argument


def _unparsed(statement: ast.stmt) -> list[ast.AST]:
    return [
        node
        for node in ast.walk(statement)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name.startswith("unparsed_")
    ]


@pytest.mark.parametrize("path", LOOP_FIXTURES, ids=lambda p: p.name)
def test_loops_without_a_possible_finding_are_not_parsed(path: Path) -> None:
    fixture = load_fixture(path)
    lines = fixture.code.splitlines(True)
    engine = Engine(fixture.rules)
    settings = settings_with(fixture.options)
    chunked = engine.check(lines, fixture.lint_path, settings)
    whole = engine.check(lines, fixture.lint_path, settings, whole_file=True)
    assert triples(chunked.findings) == triples(whole.findings) == fixture.expected
    parsed = {id(s) for chunk in chunked.chunks for s in chunk.statements}
    tree = ast.parse(fixture.code)
    skipped = [s for s in tree.body if _unparsed(s)]
    assert skipped
    for statement in skipped:
        for function in _unparsed(statement):
            nodes = list(ast.walk(function))
            assert _holds_trigger_shape(path, nodes), function.name
            assert any(
                isinstance(n, ast.Attribute) and n.attr in ("objects", "lines") for n in nodes
            )
    chunk_spans = [(chunk.first, chunk.last) for chunk in chunked.chunks]
    for statement in skipped:
        assert not any(first <= statement.lineno <= last for first, last in chunk_spans), (
            f"line {statement.lineno} is parsed"
        )
    flagged_lines = {line for line, _col, _code in fixture.expected}
    for statement in tree.body:
        end = statement.end_lineno or statement.lineno
        if any(statement.lineno <= line <= end for line in flagged_lines):
            assert any(first <= statement.lineno <= last for first, last in chunk_spans)
    assert all(id(s) not in parsed for s in skipped)
