"""Which rules run on which file: one decision for flake8, ``djguide check``/``fix``/
``baseline`` and the check server.

The decision is flake8's own: its :class:`~flake8.style_guide.StyleGuideManager`
built from the run's options, which holds one style guide per ``per-file-ignores``
entry and picks the one for each file (the longest matching pattern), each with
its :class:`~flake8.style_guide.DecisionEngine` (``select``, ``ignore``,
``extend-select``, ``extend-ignore``, prefixes, longest match wins). A rule runs
on a file when that file's style guide would report its code.

One addition, the plugin's opt-in policy: an opt-in rule runs only when its full
code is named in ``select`` or ``extend-select``. flake8 alone would also turn it
on for any selected prefix that covers it (``extend-select = DJG``, ``select =
E,F,W,DJG``) and whenever ``ignore`` is set (which replaces flake8's default
ignore list, where the opt-in codes are). With the policy, ``DJG`` means the
default set everywhere: in an editor's arguments, in a ``select`` list, and to
undo an ignore entry such as ``D`` that shadows every DJG code.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flake8_djguide.registry import all_rules

if TYPE_CHECKING:
    from flake8_djguide.rule import Rule


def named_codes(options: argparse.Namespace) -> frozenset[str]:
    """The codes named in full in ``select`` and ``extend-select``."""
    entries = [*(options.select or []), *(getattr(options, "extend_select", None) or [])]
    return frozenset(entry.strip().upper() for entry in entries)


class Selection:
    """The rules flake8 would report for each file, under one run's options.

    ``options=None`` (no flake8 run, as in tests and the fixers' unit tests):
    the default set.
    """

    def __init__(self, options: argparse.Namespace | None) -> None:
        self.options = options
        self._manager: Any = None
        self._named: frozenset[str] = frozenset()
        if options is not None:
            from flake8.style_guide import StyleGuideManager

            # The formatter is only used to report; deciding never touches it.
            self._manager = StyleGuideManager(options, None)
            self._named = named_codes(options)
        self._by_guide: dict[int, list[type[Rule]]] = {}

    def _guides(self) -> list[Any]:
        return list(self._manager.style_guides) if self._manager is not None else [None]

    def _rules_of(self, guide: Any) -> list[type[Rule]]:
        key = id(guide)
        rules = self._by_guide.get(key)
        if rules is None:
            rules = [rule for rule in all_rules() if self._runs(guide, rule)]
            self._by_guide[key] = rules
        return rules

    def _runs(self, guide: Any, rule: type[Rule]) -> bool:
        if guide is None:
            return not rule.OPT_IN
        from flake8.style_guide import Decision

        if guide.should_report_error(rule.CODE) is not Decision.Selected:
            return False
        return not rule.OPT_IN or rule.CODE in self._named

    def rules_for(self, filename: str) -> list[type[Rule]]:
        """The rules to run on ``filename`` (as flake8 names it: its path or display name)."""
        guide = self._manager.style_guide_for(filename) if self._manager is not None else None
        return self._rules_of(guide)

    def default_rules(self) -> list[type[Rule]]:
        """The rules for a file no ``per-file-ignores`` entry matches."""
        guide = self._manager.default_style_guide if self._manager is not None else None
        return self._rules_of(guide)

    def any_file_runs(self, codes: Iterable[str]) -> bool:
        """Whether some file (under some ``per-file-ignores`` entry or none) runs one of ``codes``."""
        wanted = frozenset(codes)
        return any(
            rule.CODE in wanted for guide in self._guides() for rule in self._rules_of(guide)
        )

    def leaves_out_djg(self) -> bool:
        """Whether the ``select`` list names no DJG code or prefix, so flake8 reports none.

        (``select = E,F,W``: a list that replaces flake8's default, where the plugin's
        ``DJG`` is.)
        """
        if self.options is None:
            return False
        from flake8.style_guide import DecisionEngine, Ignored

        decider = DecisionEngine(self.options)
        return all(decider.was_selected(rule.CODE) is Ignored.Implicitly for rule in all_rules())


def selected_rules(options: argparse.Namespace | None) -> list[type[Rule]]:
    """The rules run on a file no ``per-file-ignores`` entry matches."""
    return Selection(options).default_rules()
