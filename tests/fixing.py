"""A small fix applier for tests (until the generic fixer of issue 6 exists).

Same contract as ``tests.util.apply_fixes`` on main, so that the two can be merged into
one: lint the whole file as one chunk, then replace each finding's node (``fix_node``,
defaulting to ``node``) by ``fix()`` in that chunk's module, by node identity, in one
pass (after one ``Module.deep_replace`` the rest of the tree is made of new objects).
When two fixes overlap, the outer one wins; a real fixer re-runs for the inner one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import libcst as cst

from flake8_djguide.engine import Engine
from flake8_djguide.rule import Rule
from tests.util import settings_with


class _ReplaceByIdentity(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, cst.CSTNode]) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:
        return self.replacements.get(id(original_node), updated_node)


def apply_fixes(
    code: str,
    path: str,
    rules: Sequence[type[Rule]],
    options: Mapping[str, object] | None = None,
) -> str:
    """The source after applying every fix (safe and unsafe) the rules offer."""
    engine = Engine(list(rules))
    result = engine.check(
        code.splitlines(True), path, settings_with(options or {}), whole_file=True
    )
    replacements: dict[int, cst.CSTNode] = {}
    for finding in result.findings:
        if finding.fix is not None:
            target = finding.fix_node if finding.fix_node is not None else finding.node
            replacements.setdefault(id(target), finding.fix())
    if not replacements:
        return code
    assert len(result.chunks) == 1, "a whole-file run has one chunk"
    module = result.chunks[0].module
    assert module is not None
    return module.visit(_ReplaceByIdentity(replacements)).code
