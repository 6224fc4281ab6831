"""Adoption on a real application: do baselined findings survive a refactor around them?

    python bench/adoption.py PROJECT_DIR [flake8 options]

Run in a scratch copy of a project (the script rewrites its files). It runs flake8 once
with the project's configuration and the baseline off, fingerprints every DJG finding as
``djguide baseline`` does (and as the format-1 fingerprints did), then refactors every
file with findings without touching a flagged line:

* a module-level statement is inserted after the imports (everything below moves),
* the file's last top-level function or class is moved up there,
* a comment line is inserted above every flagged line that starts a line of code (the
  neighbours of every finding change),

checks that the files still parse, runs flake8 again and counts the findings the baseline
no longer matches (format 2, and format 1 for comparison). docs/adoption.md records a run.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

from flake8_djguide import baseline
from flake8_djguide.noqa import comment_rows

INSERTED = "\n\nREFACTORED = True  # inserted by the refactor\n\n\n"


def _collect(argv: list[str]) -> dict[str, list[tuple[int, int, str, str]]]:
    collected, status = baseline.collect([*argv, f"--djguide-baseline={baseline.OFF}", "."])
    if status:
        raise SystemExit("flake8 failed")
    return {
        os.path.normpath(name): [f for f in found if baseline.baselinable(f[2])]
        for name, found in collected.findings.items()
    }


def _keys(
    findings: dict[str, list[tuple[int, int, str, str]]], version: int
) -> dict[str, tuple[str, int, str]]:
    """Each finding's fingerprint, with its file, line and the line's text."""
    keys = {}
    for name, found in findings.items():
        lines = baseline.read_lines(name)
        ordered = sorted(found, key=lambda f: (f[0], f[1], f[2]))
        for finding, entry in zip(ordered, baseline.entries_for(found, lines, version=version)):
            key = f"{name}|{entry.code}|{entry.hash}|{entry.occurrence}"
            text = lines[finding[0] - 1].strip() if finding[0] <= len(lines) else ""
            keys[key] = (name, finding[0], f"{entry.code} {text}")
    return keys


def refactor(text: str, flagged: set[int]) -> str | None:
    """``text`` refactored around the ``flagged`` lines (``None``: not refactorable).

    An empty file (a finding on its path, DJG504) has no code to move around.
    """
    if not text.strip():
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    rows = comment_rows(text)
    if rows is None:
        return None
    ends = set(rows)
    lines = text.splitlines(True)
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    after = max((n.end_lineno or n.lineno for n in imports), default=0)
    if after == 0 and tree.body and isinstance(tree.body[0], ast.Expr):
        after = tree.body[0].end_lineno or 1  # after the module docstring
    definitions = [
        n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]
    moved: range = range(0)
    if definitions:
        last = definitions[-1]
        start = min([last.lineno, *(d.lineno for d in last.decorator_list)])
        if start > after + 1:
            moved = range(start, (last.end_lineno or start) + 1)

    def emit(number: int, out: list[str]) -> None:
        line = lines[number - 1]
        if number in flagged and (number - 1 in ends or number == 1) and line.strip():
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# reviewed in the refactor\n")
        out.append(line)

    block: list[str] = []
    for number in moved:
        emit(number, block)
    out: list[str] = []
    if after == 0:
        out.append(INSERTED.lstrip("\n"))
        out.extend(block)
    for number in range(1, len(lines) + 1):
        if number in moved:
            continue
        emit(number, out)
        if number == after:
            if not out[-1].endswith("\n"):
                out[-1] += "\n"
            out.append(INSERTED)
            out.extend(block)
            if block and not block[-1].endswith("\n"):
                out[-1] += "\n"
            out.append("\n\n" if block else "")
    result = "".join(out)
    try:
        ast.parse(result)
    except SyntaxError:
        return None
    return result


def main(argv: list[str]) -> int:
    os.chdir(argv[0])
    flake8_argv = argv[1:]
    before = _collect(flake8_argv)
    v2, v1 = _keys(before, 2), _keys(before, 1)
    total = sum(len(found) for found in before.values())
    refactored = skipped = 0
    for name, found in before.items():
        path = Path(name)
        text = path.read_text(encoding="utf-8")
        new = refactor(text, {line for line, _col, _code, _text in found})
        if new is None:
            skipped += 1
            continue
        path.write_text(new, encoding="utf-8")
        refactored += 1
    after = _collect(flake8_argv)
    after_total = sum(len(found) for found in after.values())
    after2 = _keys(after, 2)
    back = [after2[key] for key in after2.keys() - v2.keys()]
    back2 = len(back)
    back1 = len(_keys(after, 1).keys() - v1.keys())
    print(f"findings baselined: {total} in {len(before)} files")
    print(f"files refactored: {refactored} (empty or not parsable, left as they were: {skipped})")
    print(f"findings after the refactor: {after_total}")
    print(f"reported again with format-2 fingerprints: {back2}")
    print(f"reported again with format-1 fingerprints: {back1}")
    for name, line, text in sorted(back):
        print(f"  {name}:{line}: {text}", file=sys.stderr)
    return 0 if back2 == 0 and after_total == total else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
