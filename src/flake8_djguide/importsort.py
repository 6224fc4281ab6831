"""Keep the project's import order after ``djguide fix`` rewrote imports, with its own ruff.

A fix that rewrites an import (DJG001 turns ``from .models import Order`` into
``from shop.orders.models import Order``) moves it into another section of the import
sorter's order, so the project's ``ruff check`` (``I001``) or isort would fail afterwards.
When ruff is installed (next to the running Python, else on ``PATH``: it is never a
dependency of this package), ``djguide fix`` runs ``ruff check --select I --fix`` on each
import block a fix rewrote (a run of consecutive imports in the module or a function),
with the project's own ruff configuration (found from the file's path:
``[tool.ruff.lint.isort]``, ``known-first-party``, ``src``, and its ``exclude``). Other
blocks are left as they are, sorted or not: sorting them would change lines no fix
touched.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from collections import Counter

#: The arguments after ``ruff``: the import rules only, the project's configuration.
RUFF_ARGS = ("check", "--select", "I", "--force-exclude", "--quiet", "--no-cache")
#: Seconds one ruff run may take.
TIMEOUT = 60


def find_ruff() -> str | None:
    """The ruff executable of the running environment, else the one on ``PATH``."""
    name = "ruff.exe" if os.name == "nt" else "ruff"
    scripts = sysconfig.get_path("scripts")
    for directory in (scripts, os.path.dirname(sys.executable)):
        if directory:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return shutil.which("ruff")


def _imports(source: str) -> list[str] | None:
    """The import statements of ``source``, in functions too (``None``: it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return [
        ast.dump(node) for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
    ]


def imports_changed(before: str, after: str) -> bool:
    """Whether an import statement (at any depth) differs between ``before`` and ``after``."""
    return _imports(before) != _imports(after)


class ImportSorter:
    """Runs the project's ruff on fixed files; counts what it did for the summary."""

    def __init__(self, ruff: str | None) -> None:
        self.ruff = ruff
        self.sorted_files = 0
        self.failures: list[str] = []

    def _run(self, path: str, source: str, fix: bool) -> tuple[int, str, str]:
        """ruff's exit status, standard output and error on ``source`` (bytes: ``\r\n`` kept)."""
        assert self.ruff is not None
        args = [self.ruff, *RUFF_ARGS, *(("--fix", "--exit-zero") if fix else ())]
        result = subprocess.run(
            [*args, "--stdin-filename", os.path.abspath(path), "-"],
            input=source.encode("utf-8"),
            capture_output=True,
            check=False,
            timeout=TIMEOUT,
        )
        stdout = result.stdout.decode("utf-8", "replace")
        return result.returncode, stdout, result.stderr.decode("utf-8", "replace").strip()

    def sort(self, path: str, original: str, fixed: str) -> str:
        """``fixed`` with each import block a fix rewrote sorted as the project sorts it.

        A block is a run of consecutive import statements in one body (the module, a
        function, an ``if``); each rewritten one is sorted on its own (ruff on the block at
        its indentation, as the file ``path``), so no other block changes. Unchanged when ruff is
        not installed, no import changed, or ruff fails.
        """
        if self.ruff is None or not imports_changed(original, fixed):
            return fixed
        before = Counter(_imports(original) or [])
        lines = fixed.splitlines(True)
        changed = False
        for first, last in reversed(_blocks(fixed)):
            block = lines[first - 1 : last]
            indent = block[0][: len(block[0]) - len(block[0].lstrip())]
            statements = _imports(textwrap.dedent("".join(block)))
            if statements is None or all(before[dump] > 0 for dump in statements):
                continue  # no fix rewrote an import of this block
            # A nested block is sorted inside an `if` at its own indentation, so that ruff
            # wraps its lines at the line length as they will stand.
            header = "if True:\n" if indent else ""
            text = header + "".join(block)
            try:
                status, output, error = self._run(path, text, fix=True)
            except (OSError, subprocess.SubprocessError, UnicodeError) as failure:
                self.failures.append(f"{path}: ruff failed: {failure}")
                return fixed
            if status != 0 or not output.startswith(header) or _imports(output) is None:
                self.failures.append(f"{path}: ruff failed: {error[:200]}")
                return fixed
            if output != text:
                newline = "\r\n" if block[-1].endswith("\r\n") else "\n"
                sorted_lines = output[len(header) :].splitlines()
                lines[first - 1 : last] = [line + newline for line in sorted_lines]
                changed = True
        if not changed:
            return fixed
        result = "".join(lines)
        if _imports(result) is None:
            return fixed
        self.sorted_files += 1
        return result


def _blocks(source: str) -> list[tuple[int, int]]:
    """The 1-based line ranges of the runs of consecutive import statements, in order."""
    tree = ast.parse(source)
    blocks = []
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if not isinstance(body, list):
                continue
            run: list[ast.stmt] = []
            for statement in [*body, None]:
                if isinstance(statement, (ast.Import, ast.ImportFrom)):
                    run.append(statement)
                    continue
                if run:
                    blocks.append((run[0].lineno, run[-1].end_lineno or run[-1].lineno))
                    run = []
    return sorted(blocks)
