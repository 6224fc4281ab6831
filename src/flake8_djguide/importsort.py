"""Keep the project's import order after ``djguide fix`` rewrote imports, with its own ruff.

A fix that rewrites an import (DJG001 turns ``from .models import Order`` into
``from shop.orders.models import Order``) moves it into another section of the import
sorter's order, so the project's ``ruff check`` (``I001``) or isort would fail afterwards.
When ruff is installed (next to the running Python, else on ``PATH``: it is never a
dependency of this package), ``djguide fix`` runs ``ruff check --select I --fix`` on each
changed file whose imports a fix rewrote, with the project's own ruff configuration
(found from the file's path: ``[tool.ruff.lint.isort]``, ``known-first-party``, ``src``,
and its ``exclude``). A file whose imports were not sorted before the fix is left as the
fix made it: sorting it would change lines no fix touched.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import sysconfig

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

    def _clean(self, path: str, source: str) -> bool | None:
        """Whether ruff finds nothing to sort (``None``: ruff failed)."""
        status, _out, error = self._run(path, source, fix=False)
        if status not in (0, 1):
            self.failures.append(f"{path}: ruff failed: {error[:200]}")
            return None
        return status == 0

    def sort(self, path: str, original: str, fixed: str) -> str:
        """``fixed`` with its imports sorted as the project sorts them, when a fix unsorted them.

        Unchanged when ruff is not installed, the fix left the imports as they were, they
        are still sorted, they were not sorted before the fix either, or ruff fails.
        """
        if self.ruff is None or not imports_changed(original, fixed):
            return fixed
        try:
            if self._clean(path, fixed) is not False:
                return fixed
            if not self._clean(path, original):
                return fixed
            status, output, error = self._run(path, fixed, fix=True)
        except (OSError, subprocess.SubprocessError, UnicodeError) as failure:
            self.failures.append(f"{path}: ruff failed: {failure}")
            return fixed
        if status != 0 or not output or _imports(output) is None:
            self.failures.append(f"{path}: ruff failed: {error[:200]}")
            return fixed
        if output != fixed:
            self.sorted_files += 1
        return output
