"""Apply the fixes that rules offer, the simplest correct way, to check them in tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flake8_djguide.engine import Engine
from flake8_djguide.rule import Rule
from tests.util import settings_with


def fix_by_rounds(
    code: str,
    path: str,
    rules: Sequence[type[Rule]],
    options: Mapping[str, object] | None = None,
    max_rounds: int = 100,
) -> str:
    """``code`` with the rules' fixes applied until none is left, one fix per round.

    Each round lints the whole file and replaces the first fixable finding's
    ``fix_node or node`` by its ``fix()``, by node identity
    (``Module.deep_replace``). One fix per round, because ``deep_replace``
    rebuilds the tree around the replaced node, so the other findings' nodes
    are no longer in the new tree; and a fix that rebuilds a ``def`` from the
    original node would drop a fix applied inside it in the same pass.
    """
    engine = Engine(list(rules))
    settings = settings_with(options or {})
    for _ in range(max_rounds):
        result = engine.check(code.splitlines(True), path, settings, whole_file=True)
        fixable = [f for f in result.findings if f.fix is not None]
        if not fixable:
            return code
        module = result.chunks[0].module
        assert module is not None
        finding = fixable[0]
        target = finding.fix_node if finding.fix_node is not None else finding.node
        fixed = module.deep_replace(target, finding.fix()).code
        assert fixed != code, f"the fix of {finding.message!r} changed nothing"
        code = fixed
    raise AssertionError(f"the fixes do not settle in {max_rounds} rounds")
