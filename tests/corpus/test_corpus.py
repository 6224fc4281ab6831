"""The corpus run: ``flake8 --select=DJG`` over real Django code and mutated copies of it.

Not part of the default run (marker ``corpus``)::

    python -m pytest -m corpus -s

It downloads the pinned packages of ``tests/corpus/corpus.py`` with pip (once, into
``tests/corpus/.cache``), writes the mutated copies, and runs flake8 several times
(about half an hour on two cores). It asserts:

- no traceback, no plugin crash message, an exit status of 0 or 1, in every run;
- no ``DJG000`` on the real code; on the mutated copies only where libcst itself
  cannot parse what ``ast`` parses (a form feed before an indented line), and on the
  deeply nested files beyond libcst's limits (one ``DJG000`` naming the limit, never a
  crash);
- the same findings with ``-j1`` and ``-j2``, on a second run, and from another
  working directory (absolute paths instead of relative ones).

It prints a summary (file counts, times, findings per code) and writes it to
``tests/corpus/.cache/summary.json``; ``tests/corpus/README.md`` records one.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.corpus.corpus import (
    BEYOND_LIBCST,
    CACHE,
    PACKAGES,
    flake8_lines,
    prepare,
    source_files,
)
from tests.robust import Flake8Run, run_flake8

pytestmark = pytest.mark.corpus

Finding = tuple[str, int, int, str]


def _djguide_only(args: list[str], cwd: Path) -> Flake8Run:
    """flake8 with this plugin as its only checker (tests/corpus/flake8_djguide_only.py)."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1")
    process = subprocess.run(
        [sys.executable, "-m", "tests.corpus.flake8_djguide_only", *args],
        cwd=str(cwd),
        env=env,
        capture_output=True,
        text=True,
        timeout=7200,
        check=False,
    )
    return Flake8Run(process.returncode, process.stdout, process.stderr)


def _timed(label: str, times: dict[str, float], function: object, *args: object) -> Flake8Run:
    start = time.perf_counter()
    run: Flake8Run = function(*args)  # type: ignore[operator]
    times[label] = round(time.perf_counter() - start, 1)
    run.assert_clean()
    return run


def _normalized(run: Flake8Run, base: Path) -> list[Finding]:
    """Findings with paths relative to ``base`` (they are printed relative or absolute)."""
    found = []
    for path, line, col, message in run.findings:
        absolute = Path(path) if os.path.isabs(path) else base / path
        found.append((os.path.relpath(absolute, base), line, col, message))
    return sorted(found)


def _ast_parses(path: Path) -> bool:
    lines = flake8_lines(path)
    if lines is None:
        return False
    try:
        ast.parse("".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _libcst_parses(path: Path) -> bool:
    import libcst

    lines = flake8_lines(path)
    try:
        libcst.parse_module("".join(lines or []))
    except Exception:
        return False
    return True


def _lines(paths: list[Path]) -> int:
    return sum(p.read_bytes().count(b"\n") for p in paths)


def test_corpus(tmp_path: Path) -> None:
    src, mutated, deep = prepare()
    base = CACHE
    times: dict[str, float] = {}
    other_cwd = tmp_path / "elsewhere"
    other_cwd.mkdir()
    flake8 = ["--isolated", "--select=DJG"]
    targets = [os.path.relpath(src, base), os.path.relpath(mutated, base)]

    first = _timed("flake8 -j2", times, run_flake8, [*flake8, "-j2", *targets], base)
    serial = _timed("flake8 -j1", times, run_flake8, [*flake8, "-j1", *targets], base)
    again = _timed("flake8 -j2, second run", times, run_flake8, [*flake8, "-j2", *targets], base)
    absolute = [str(src), str(mutated)]
    moved = _timed(
        "flake8 -j2, other cwd", times, run_flake8, [*flake8, "-j2", *absolute], other_cwd
    )

    findings = _normalized(first, base)
    assert _normalized(serial, base) == findings, "-j1 and -j2 differ"
    assert _normalized(again, base) == findings, "a second run differs"
    assert _normalized(moved, base) == findings, "the working directory changes the output"
    # DJG000 only where libcst itself cannot parse what ast parses (a libcst bug: a
    # form feed before an indented line, as in `class A:\n    def f(self):\n\f        x`)
    errors = [f for f in findings if f[3].startswith("DJG000")]
    unparsable = sorted({f[0] for f in errors})
    assert [p for p in unparsable if _libcst_parses(base / p)] == [], errors[:20]
    assert [f for f in errors if not f[0].startswith("mutated")] == [], errors[:20]

    # deeply nested files, with this plugin alone (pyflakes aborts flake8 on them)
    deep_first = _timed(
        "djguide only -j2, deep", times, _djguide_only, [*flake8, "-j2", "deep"], base
    )
    deep_serial = _timed(
        "djguide only -j1, deep", times, _djguide_only, [*flake8, "-j1", "deep"], base
    )
    deep_findings = _normalized(deep_first, base)
    assert _normalized(deep_serial, base) == deep_findings
    for path, _line, _col, message in deep_findings:
        if message.startswith("DJG000"):
            assert Path(path).name.startswith(BEYOND_LIBCST), (path, message)
            assert "TooDeeplyNestedError" in message or "ParserSyntaxError" in message
    beyond = {f[0] for f in deep_findings if f[3].startswith("DJG000")}
    # in a settings module the settings rules parse every statement assigning their
    # setting, so there a SECRET_KEY beyond libcst's limits is one DJG000 (elsewhere
    # the statements beyond them are never parsed: no rule needs them)
    settings = deep / "contexts" / "config" / "settings"
    secret_keys = settings.glob(f"{BEYOND_LIBCST}secret_key_*")
    assert {str(p.relative_to(base)) for p in secret_keys} <= beyond
    assert len(list(settings.glob(f"{BEYOND_LIBCST}secret_key_*"))) == 2

    # the 50,000-line files, which max-file-lines (20,000) skips by default, checked
    huge = sorted(str(p.relative_to(base)) for p in (mutated / "special").glob("*50000*"))
    huge_run = _timed(
        "djguide only, 50,000-line files, no line limit",
        times,
        _djguide_only,
        [*flake8, "--djguide-max-file-lines=0", *huge],
        base,
    )
    assert [f for f in huge_run.findings if f[3].startswith("DJG000")] == []

    # -- the summary ---------------------------------------------------------------------
    corpus_files = source_files(src)
    mutated_files = source_files(mutated)
    per_code: Counter[str] = Counter()
    per_package: dict[str, Counter[str]] = {}
    for path, _line, _col, message in findings:
        parts = Path(path).parts
        if parts[0] != "src":
            continue
        code = message.split(" ", 1)[0]
        per_code[code] += 1
        per_package.setdefault(parts[1], Counter())[code] += 1
    summary = {
        "python": sys.version.split()[0],
        "packages": list(PACKAGES),
        "files": {
            package.name: {
                "files": len(source_files(package)),
                "lines": _lines(source_files(package)),
            }
            for package in sorted(p for p in src.iterdir() if p.is_dir())
        },
        "corpus files": len(corpus_files),
        "corpus files ast parses": sum(_ast_parses(p) for p in corpus_files),
        "mutated files": len(mutated_files),
        "mutated files ast parses": sum(_ast_parses(p) for p in mutated_files),
        "deep files": len(source_files(deep)),
        "times (s)": times,
        "findings per code (corpus)": dict(sorted(per_code.items())),
        "findings per package": {
            k: dict(sorted(v.items())) for k, v in sorted(per_package.items())
        },
        "findings (mutated)": sum(1 for f in findings if f[0].startswith("mutated")),
        "DJG000 (corpus and mutated; libcst cannot parse, ast can)": unparsable,
        "DJG000 (deep, beyond libcst)": len(beyond),
    }
    (CACHE / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(json.dumps(summary, indent=2))
