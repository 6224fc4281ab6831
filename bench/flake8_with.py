"""Run flake8's own ``main`` with a filtered plugin list (used by ``bench/run.py``).

flake8 runs every installed checker whatever ``--select`` says, so costing one
checker needs runs where the others are not loaded at all::

    python bench/flake8_with.py --plugins=none -- [flake8 arguments]     # the floor
    python bench/flake8_with.py --plugins=all -- [flake8 arguments]      # plain flake8

``none`` keeps no checker (flake8 still reads, tokenizes and parses each file
with ``ast``: the floor under every checker); ``all`` keeps every installed
plugin. ``--standin`` adds the stand-in rules of ``bench/standin.py`` to
flake8-djguide's registry. ``--stats FILE`` writes, at exit, how many files
the engine saw and how many it parsed with libcst (a separate, untimed run).
At exit it prints the peak RSS of its own process and of its largest worker
process (flake8 ``-j2``) to stderr, for figure 5.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import sys
from typing import Any


def _filter_plugins(keep: str) -> None:
    from flake8.plugins import finder

    original = finder.find_plugins

    def find_plugins(cfg: Any, opts: Any) -> list[Any]:
        plugins = original(cfg, opts)
        if keep == "all":
            return plugins
        return [p for p in plugins if p.entry_point.group == "flake8.report"]

    finder.find_plugins = find_plugins  # type: ignore[assignment]


def _add_standin_rules() -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import standin

    from flake8_djguide import plugin, registry

    installed = registry.all_rules()
    extended = tuple(sorted((*installed, *standin.RULES), key=lambda rule: rule.CODE))
    registry.all_rules = lambda: extended  # type: ignore[assignment]
    plugin.all_rules = registry.all_rules  # type: ignore[attr-defined]


def _count_parsed(path: str) -> None:
    from flake8_djguide import engine

    stats = {"files": 0, "parsed": 0, "lines": 0, "parsed_lines": 0, "findings": 0}
    original = engine.Engine.check

    def check(self: Any, lines: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, lines, *args, **kwargs)
        stats["files"] += 1
        stats["lines"] += len(lines)
        stats["findings"] += len(result.findings)
        if result.parsed:
            stats["parsed"] += 1
            stats["parsed_lines"] += sum(c.last - c.first + 1 for c in result.chunks)
        return result

    engine.Engine.check = check  # type: ignore[method-assign]

    def write() -> None:
        stats["libcst_imported"] = int("libcst" in sys.modules)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(stats, handle)

    atexit.register(write)


def main() -> int:
    """Patch flake8's plugin discovery as asked, then run flake8."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", choices=["none", "all"], default="all")
    parser.add_argument("--standin", action="store_true")
    parser.add_argument("--stats")
    options, rest = parser.parse_known_args()
    if rest and rest[0] == "--":
        rest = rest[1:]
    _filter_plugins(options.plugins)
    if options.standin:
        _add_standin_rules()
    if options.stats:
        _count_parsed(options.stats)
    from flake8.main.cli import main as flake8_main

    try:
        return flake8_main(rest)
    finally:
        _report_memory()


def _report_memory() -> None:
    """Print the peak RSS of this process and of its largest worker (``-j2``) to stderr."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sys.stderr.write(f"{MEMORY_LINE} self={own} workers={workers}\n")


#: The line ``bench/run.py`` reads the peak RSS of the main process and of the workers from.
MEMORY_LINE = "flake8_with: peak RSS KiB"


if __name__ == "__main__":
    raise SystemExit(main())
