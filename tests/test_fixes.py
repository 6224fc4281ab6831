"""Fixes: every INVALID example with ``expected`` is fixed into exactly that code.

Until the generic fixer exists, :func:`apply_fixes` applies findings' fixes the
simple way: lint the whole file as one chunk, then replace each finding's node
(``fix_node``, defaulting to ``node``) by ``fix()`` in that chunk's module, by node
identity, in one pass.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import libcst as cst
import pytest

from flake8_djguide.engine import Engine
from flake8_djguide.registry import all_rules
from flake8_djguide.rule import Finding, Invalid, Rule
from tests.util import settings_with

CASES = [
    pytest.param(rule, example, id=f"{rule.CODE}-invalid{index}")
    for rule in all_rules()
    for index, example in enumerate(rule.INVALID)
    if example.expected is not None
]


def apply_fixes(
    code: str,
    path: str,
    rules: Sequence[type[Rule]],
    options: dict[str, object] | None = None,
) -> tuple[str, list[Finding]]:
    """Lint ``code`` whole-file and apply every fix; return the new code and the findings."""
    engine = Engine(list(rules))
    result = engine.check(
        code.splitlines(True), path, settings_with(options or {}), whole_file=True
    )
    if not result.chunks:
        return code, result.findings
    assert len(result.chunks) == 1
    module = result.chunks[0].module
    assert module is not None
    replacements: dict[int, cst.CSTNode] = {}
    for finding in result.findings:
        if finding.fix is not None:
            target = finding.fix_node if finding.fix_node is not None else finding.node
            replacements.setdefault(id(target), finding.fix())
    if not replacements:
        return code, result.findings
    return module.visit(_ReplaceByIdentity(replacements)).code, result.findings


class _ReplaceByIdentity(cst.CSTTransformer):
    """One pass replacing nodes by identity (``Module.deep_replace`` for many fixes at
    once: after one ``deep_replace`` the other nodes of the tree are new objects). When
    two fixes overlap, the outer one wins; a real fixer would re-run for the inner one."""

    def __init__(self, replacements: dict[int, cst.CSTNode]) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:
        return self.replacements.get(id(original_node), updated_node)


@pytest.fixture
def no_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_fix_gives_expected_code(rule: type[Rule], example: Invalid, no_project: Path) -> None:
    path = os.path.join(str(no_project), example.path)
    fixed, findings = apply_fixes(example.code, path, [rule], dict(example.options))
    assert [f.code for f in findings] == [rule.CODE]
    assert findings[0].fix is not None, "an example with `expected` must have a fix"
    assert fixed == example.expected
    if rule.FIX == "unsafe":
        assert findings[0].unsafe_fix


def test_apply_fixes_replaces_by_identity_only_the_reported_node() -> None:
    # Two equal literals: only the one the finding reports may change.
    code = (
        "class C(AsyncWebsocketConsumer):\n"
        "    async def connect(self):\n"
        "        label = 'chat:lobby'\n"
        "        await self.channel_layer.group_add('chat:lobby', self.channel_name)\n"
    )
    rule = next(r for r in all_rules() if r.CODE == "DJG101")
    fixed, findings = apply_fixes(code, "app/consumers.py", [rule])
    assert [(f.line, f.col) for f in findings] == [(4, 43)]
    assert "label = 'chat:lobby'" in fixed
    assert "group_add('chat.lobby'" in fixed
