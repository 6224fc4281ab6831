"""``helpers.ast_walk``/``ast_children``: the nodes of ``ast.walk``/``ast.iter_child_nodes``
in the same order (the index's summaries keep the first chains found, so order counts)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from flake8_djguide.helpers import ast_children, ast_nodes, ast_walk

FIXTURES = sorted((Path(__file__).parent / "fixtures").rglob("*.py"))

SOURCE = """
import a.b as c
from . import d

@deco(x=1)
class Model(Base, metaclass=Meta):
    name: str = "x"

    async def run(self, /, a, *args, b: int = 2, **kw) -> None:
        for i, (j, k) in enumerate(self.items.all()):
            x = [y.z for y in j if y if not k]
            async with lock as (m, n):
                m += f"{i!r:>{n}}"
        try:
            pass
        except* (E, F) as e:
            raise
        match c:
            case {"k": [1, *rest]} | Point(x=0) if rest:
                del rest
        return lambda q=1, *, r: q or r and not -q
"""


def _trees() -> list[ast.AST]:
    trees = [ast.parse(SOURCE)]
    for path in FIXTURES[:200]:
        try:
            trees.append(ast.parse(path.read_bytes()))
        except (SyntaxError, ValueError):
            continue
    return trees


@pytest.mark.parametrize("tree", _trees())
def test_walk_and_children_match_ast(tree: ast.AST) -> None:
    assert [id(n) for n in ast_walk(tree)] == [id(n) for n in ast.walk(tree)]
    for node in ast.walk(tree):
        assert [id(n) for n in ast_children(node)] == [id(n) for n in ast.iter_child_nodes(node)]


_OPERATORS = (ast.expr_context, ast.operator, ast.boolop, ast.cmpop, ast.unaryop)


@pytest.mark.parametrize("tree", _trees()[:20])
def test_without_operators_keeps_the_order_of_the_others(tree: ast.AST) -> None:
    expected = [id(n) for n in ast.walk(tree) if not isinstance(n, _OPERATORS)]
    assert [id(n) for n in ast_walk(tree, operators=False)] == expected
    for node in ast.walk(tree):
        children = [n for n in ast.iter_child_nodes(node) if not isinstance(n, _OPERATORS)]
        assert [id(n) for n in ast_children(node, operators=False)] == [id(n) for n in children]
        if isinstance(node, _OPERATORS):
            continue
        assert not any(isinstance(n, _OPERATORS) for n in ast_nodes(node))
        assert {id(n) for n in ast_nodes(node)} == {
            id(n) for n in ast.walk(node) if not isinstance(n, _OPERATORS)
        }
