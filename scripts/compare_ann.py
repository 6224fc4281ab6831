"""Compare DJG401/DJG402 with ruff's ANN001-ANN003 and ANN201-ANN206 on real code.

Usage (not part of CI; needs ruff, and Django and DRF installed in the venv, or
any source trees given as arguments)::

    python scripts/compare_ann.py                      # the installed django + rest_framework
    python scripts/compare_ann.py path/to/pkg ...      # other package directories
    python scripts/compare_ann.py --show unexplained   # list findings of one difference class

Every finding that only one of the two tools reports is put in a class that
explains it (see docs/ann-comparison.md). A difference that fits no intended
class is counted as ``unexplained``; the script exits 1 when there is one.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from flake8_djguide import config
from flake8_djguide.context import FileContext
from flake8_djguide.engine import Engine
from flake8_djguide.registry import by_code
from flake8_djguide.rules.typing import SELF_NAMES

ARG_CODES = ("ANN001", "ANN002", "ANN003")
RETURN_CODES = ("ANN201", "ANN202", "ANN204", "ANN205", "ANN206")

Key = tuple[str, int, int]  # (path relative to the package's parent, line, column)


def default_roots() -> list[Path]:
    """The installed ``django`` and ``rest_framework`` package directories (not imported)."""
    roots = []
    for name in ("django", "rest_framework"):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            sys.exit(f"{name} is not installed: pip install django djangorestframework")
        roots.append(Path(next(iter(spec.submodule_search_locations))))
    return roots


def python_files(roots: list[Path]) -> Iterator[tuple[Path, str]]:
    """Each ``.py`` file with its path relative to its package's parent directory."""
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            yield path, path.relative_to(root.parent).as_posix()


def run_ruff(roots: list[Path]) -> tuple[set[Key], set[Key]]:
    """``(argument findings, return findings)`` of ruff."""
    command = [
        sys.executable,
        "-m",
        "ruff",
        "check",
        "--no-cache",
        "--isolated",
        "--exit-zero",
        "--output-format",
        "json",
        "--select",
        ",".join(ARG_CODES + RETURN_CODES),
        *map(str, roots),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    parents = [root.parent.resolve() for root in roots]
    args: set[Key] = set()
    returns: set[Key] = set()
    for item in json.loads(output):
        path = Path(item["filename"]).resolve()
        parent = next(p for p in parents if path.is_relative_to(p))
        relative = path.relative_to(parent).as_posix()
        line, col = item["location"]["row"], item["location"]["column"] - 1
        if item["code"] in ARG_CODES:
            args.add((relative, line, col))
        else:
            returns.add((relative, line, 0))  # ruff reports at the name, DJG402 at `def`
    return args, returns


def run_djguide(roots: list[Path]) -> tuple[set[Key], set[Key], dict[str, FileContext]]:
    """``(DJG401 findings, DJG402 findings, file contexts)``."""
    rules = by_code()
    engine = Engine([rules["DJG401"], rules["DJG402"]])
    settings = config.Settings(config.defaults())
    args: set[Key] = set()
    returns: set[Key] = set()
    contexts = {}
    for path, relative in python_files(roots):
        lines = path.read_text(encoding="utf-8").splitlines(True)
        contexts[relative] = FileContext(relative, settings)
        for finding in engine.check(lines, relative, settings).findings:
            if finding.code == "DJG401":
                args.add((relative, finding.line, finding.col))
            elif finding.code == "DJG402":
                returns.add((relative, finding.line, 0))
            else:
                sys.exit(f"{relative}:{finding.line}: {finding.message}")
    return args, returns, contexts


class Explainer:
    """Puts each one-sided finding in its difference class."""

    def __init__(self, roots: list[Path], contexts: dict[str, FileContext]) -> None:
        self.contexts = contexts
        self.defs: dict[str, dict[int, ast.AST]] = {}
        self.methods: dict[str, set[int]] = {}
        self.overload_impls: dict[str, set[int]] = {}
        for path, relative in python_files(roots):
            self._index(relative, ast.parse(path.read_bytes()))

    def _index(self, relative: str, tree: ast.Module) -> None:
        defs: dict[int, ast.AST] = {}
        methods: set[int] = set()
        impls: set[int] = set()
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if not isinstance(body, list):
                continue
            overloaded: set[str] = set()
            for child in body:
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    defs[child.lineno] = child
                    if isinstance(node, ast.ClassDef):
                        methods.add(child.lineno)
                    decorators = {ast.unparse(d).rsplit(".", 1)[-1] for d in child.decorator_list}
                    if "overload" in decorators:
                        overloaded.add(child.name)
                    elif child.name in overloaded:
                        impls.add(child.lineno)
        self.defs[relative] = defs
        self.methods[relative] = methods
        self.overload_impls[relative] = impls

    def _def_at(self, relative: str, line: int) -> ast.AST | None:
        """The def whose signature spans ``line`` (the nearest def starting at or above it)."""
        defs = self.defs[relative]
        starts = [start for start in defs if start <= line]
        return defs[max(starts)] if starts else None

    def explain(self, side: str, kind: str, key: Key) -> str:
        """The difference class of a finding only ``side`` ("ruff"/"djg") reports."""
        relative, line, col = key
        ctx = self.contexts[relative]
        if side == "ruff" and ctx.is_test:
            return "test code (DJG401/DJG402 do not apply)"
        if side == "ruff" and ctx.is_migration:
            return "migrations (DJG401/DJG402 do not apply)"
        node = self._def_at(relative, line)
        if side == "djg" and node is not None and node.lineno in self.overload_impls[relative]:
            return "@overload implementation (ruff skips it; RULES.md checks it)"
        if (
            side == "djg"
            and kind == "args"
            and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.lineno in self.methods[relative]
        ):
            positional = [*node.args.posonlyargs, *node.args.args]
            first = positional[0] if positional else None
            if (
                first is not None
                and (first.lineno, first.col_offset) == (line, col)
                and first.arg not in SELF_NAMES
            ):
                return "first method parameter not named self/cls/mcs (ruff skips any name)"
        return "unexplained"


def main() -> int:
    """Run both tools, print the comparison as Markdown, exit 1 on unexplained differences."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="*", type=Path, help="package directories")
    parser.add_argument("--show", metavar="CLASS", help="list the findings of one class")
    options = parser.parse_args()
    roots = [r.resolve() for r in options.roots] or default_roots()

    ruff_args, ruff_returns = run_ruff(roots)
    djg_args, djg_returns, contexts = run_djguide(roots)
    explainer = Explainer(roots, contexts)

    files = len(contexts)
    lines = sum(len(p.read_bytes().splitlines()) for p, _ in python_files(roots))
    out = [
        f"Corpus: {', '.join(r.name for r in roots)} — {files} files, {lines} lines.",
        "",
        "| | ruff | DJG | both | ruff only | DJG only |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    classes: Counter[tuple[str, str, str]] = Counter()
    listed: list[str] = []
    for kind, label, ruff_set, djg_set in (
        ("args", "ANN001-003 / DJG401", ruff_args, djg_args),
        ("returns", "ANN201-206 / DJG402", ruff_returns, djg_returns),
    ):
        both = ruff_set & djg_set
        ruff_only = ruff_set - djg_set
        djg_only = djg_set - ruff_set
        out.append(
            f"| {label} | {len(ruff_set)} | {len(djg_set)} | {len(both)} | "
            f"{len(ruff_only)} | {len(djg_only)} |"
        )
        for side, keys in (("ruff", ruff_only), ("djg", djg_only)):
            for key in sorted(keys):
                reason = explainer.explain(side, kind, key)
                classes[(label, f"{side} only", reason)] += 1
                if options.show and options.show in reason:
                    listed.append(f"{side} only {label}: {key[0]}:{key[1]}:{key[2] + 1}")
    out += ["", "| codes | side | difference class | findings |", "| --- | --- | --- | ---: |"]
    for (label, side, reason), count in sorted(classes.items()):
        out.append(f"| {label} | {side} | {reason} | {count} |")
    sys.stdout.write("\n".join([*out, "", *listed]) + "\n")
    unexplained = sum(n for (_, _, reason), n in classes.items() if reason == "unexplained")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
