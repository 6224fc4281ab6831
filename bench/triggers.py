"""Whether the ``ast`` triggers lose findings: each file checked as flake8 checks it
(only the statements some trigger holds in are parsed with libcst) and whole (every
statement parsed, no trigger consulted), the findings compared.

Usage, from the repository root after the README's install command::

    python bench/triggers.py PROJECT_DIR                 # the N+1 rules (DJG201-DJG208)
    python bench/triggers.py PROJECT_DIR --codes DJG207  # one rule
    python bench/triggers.py bench/.cache/corpus-application --index-cache /tmp/idx

A finding the whole-file check gives and the triggered check does not is a trigger that
left out a statement it should have kept: printed as ``MISSED``, and the exit status is 1.
A finding only the triggered check gives (``EXTRA``) would mean that the rules read
outside the statement they report in; neither should happen. Use it after every change
to a trigger: the sorted outputs of ``bench/run.py --findings`` tell whether findings
changed, this tells whether a narrower trigger is still sound on code no fixture holds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from flake8_djguide import config
from flake8_djguide.engine import Engine
from flake8_djguide.registry import all_rules

_N_PLUS_ONE = ("DJG201", "DJG202", "DJG203", "DJG207", "DJG208")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", help="the project's root directory")
    parser.add_argument("--codes", default=",".join(_N_PLUS_ONE), help="comma-separated codes")
    parser.add_argument("--index-cache", help="model index cache directory (default: a new one)")
    args = parser.parse_args(argv)
    codes = tuple(c.strip() for c in args.codes.split(",") if c.strip())
    rules = [rule for rule in all_rules() if rule.CODE in codes]
    if not rules:
        parser.error(f"--codes: no rule has any of the codes {', '.join(codes)}")
    values = config.defaults()
    values["cache-dir"] = args.index_cache or tempfile.mkdtemp(prefix="djguide-triggers-")
    settings = config.Settings(values)
    engine = Engine(rules)
    os.chdir(args.project)
    files = missed = extra = 0
    for directory, subdirectories, names in os.walk("."):
        subdirectories[:] = sorted(
            d for d in subdirectories if not d.startswith(".") and d != "node_modules"
        )
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            try:
                with open(path, encoding="utf-8") as handle:
                    lines = handle.read().splitlines(True)
            except (OSError, UnicodeDecodeError):
                continue
            files += 1
            triggered = engine.check(lines, path, settings).findings
            whole = engine.check(lines, path, settings, whole_file=True).findings
            some = {(f.line, f.col, f.code) for f in triggered if f.code in codes}
            every = {(f.line, f.col, f.code) for f in whole if f.code in codes}
            for line, col, code in sorted(every - some):
                missed += 1
                print(f"MISSED {path}:{line}:{col + 1}: {code}")
            for line, col, code in sorted(some - every):
                extra += 1
                print(f"EXTRA {path}:{line}:{col + 1}: {code}")
    print(f"{files} files: {missed} missed, {extra} extra ({', '.join(codes)})")
    return 1 if missed or extra else 0


if __name__ == "__main__":
    sys.exit(main())
