"""Benchmark flake8-djguide against flake8's default checks (issues 8 and 22).

Usage, from the repository root after the README's install command::

    python bench/run.py                    # the full run, 3 rounds (about 30 minutes on 2 cores)
    python bench/run.py --quick            # every 8th file, 2 rounds (about 6 minutes)
    python bench/run.py --write-results    # also update the tables in bench/RESULTS.md
    python bench/run.py --findings DIR     # only the sorted DJG findings, per corpus

It fetches two corpora with ``pip download --no-deps`` (pinned versions) into
``bench/.cache/`` (git-ignored): the Django and Django REST framework packages
(library code) and the pretix application (a large Django + DRF application,
its templates kept beside the code). Every case runs as a separate process,
the cases alternating round-robin, and the script prints medians (min-max) and
ratios as a markdown table, every figure for each corpus.

What the ratios compare. flake8 runs every installed checker whatever
``--select`` says, and flake8-djguide drops all its rules when no DJG code is
selected. So, on the same files:

- *floor*: flake8 with no checker at all (``bench/flake8_with.py --plugins=none``):
  reading, tokenizing and ``ast``-parsing every file;
- *default*: ``flake8 --extend-ignore=DJG`` (flake8's default checks);
- *DJG*: plain ``flake8`` (flake8's default selection: E, F, W, C90 and every
  default-on DJG rule installed), with the model index cache warm; *DJG, cold
  index*: the same after removing the cache;
- figure 1 = (DJG - default) / (default - floor): the plugin's cost against the
  cost of the default checks; figure 6 (the user's figure) = DJG / default, whole
  runs.

Times are CPU seconds (user + system of the process and its workers, from
``wait4``), because the 2-core machines this runs on are shared; wall-clock
seconds are printed next to them. Each ratio is computed within one round
(the cases of a round run back to back), and the table shows the median and
range over the rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CACHE = BENCH / ".cache"
WRAPPER = BENCH / "flake8_with.py"
DEFAULT = "E,W,F,C90"
RESULTS = BENCH / "RESULTS.md"
#: flake8 with libcst imported first (figure 3's lower bound), as ``python -m flake8`` runs.
IMPORT_LIBCST = [
    sys.executable,
    "-c",
    "import libcst\nfrom flake8.main.cli import main\nraise SystemExit(main())",
]
#: See ``bench/flake8_with.py``.
MEMORY_LINE = "flake8_with: peak RSS KiB"
BEGIN, END = "<!-- bench:start -->", "<!-- bench:end -->"
#: flake8's own arguments of the two cases of the user's figure (figure 6, also the
#: "default" and "djg" cases of figure 1): plain ``flake8`` with flake8's default
#: selection (E, F, W, C90 and every installed plugin's default codes, DJG included)
#: against the same run with the plugin's codes switched off.
PLAIN: tuple[str, ...] = ()
WITHOUT_DJG = ("--extend-ignore=DJG",)

BUDGETS = {
    "full -j1": 1.0,
    "full -j2": 1.0,
    "rare": 0.5,
    "editor": 1.3,
    "editor local": 2.0,
    "index cold": 0.10,
    "index warm": 0.02,
    "memory": 1.3,
    "user": 1.35,
}


@dataclass(frozen=True)
class Corpus:
    """A benchmark corpus: distributions fetched with ``pip download --no-deps``."""

    key: str  # its directory under the cache, and its name on the command line
    label: str
    #: pinned requirements, so that every run measures the same code
    requirements: tuple[str, ...]
    #: distribution name (lower case, ``-`` and ``_`` removed) -> its top-level package
    top_level: dict[str, str]
    #: files of the packages kept beside the ``.py`` files (templates, for the template
    #: N+1 analysis); only ``.py`` files are linted
    also_keep: tuple[str, ...] = ()
    #: files for figure 3: an editor run on one file with findings
    editor_files: tuple[str, ...] = ()


CORPORA = {
    "framework": Corpus(
        "framework",
        "Django + DRF",
        ("django==5.2.19", "djangorestframework==3.18.3"),
        {"django": "django", "djangorestframework": "rest_framework"},
        #: ~300-line files: DRF's generic views (one DJG002 finding, so libcst is
        #: imported) and Django's signing module (nothing for the DJG0xx/3xx rules).
        editor_files=("rest_framework/generics.py", "django/core/signing.py"),
    ),
    "application": Corpus(
        "application",
        "pretix",
        ("pretix==2026.8.0",),
        {"pretix": "pretix"},
        also_keep=(".html", ".txt", ".email", ".js"),
        #: a 495-line view module of the application, with ORM findings (DJG202)
        editor_files=("pretix/base/views/tasks.py",),
    ),
}


# -- corpus ------------------------------------------------------------------------------


def corpus_dir(cache: Path, corpus: Corpus) -> Path:
    """Where ``corpus`` is unpacked (the Django + DRF corpus keeps its old place)."""
    return cache / ("corpus" if corpus.key == "framework" else f"corpus-{corpus.key}")


def fetch(cache: Path, corpus: Corpus) -> tuple[Path, dict[str, str]]:
    """Download ``corpus``'s distributions with pip and unpack their packages."""
    root = corpus_dir(cache, corpus)
    versions_file = root.with_name(root.name + ".versions.json")
    if root.is_dir() and versions_file.is_file():
        versions: dict[str, str] = json.loads(versions_file.read_text(encoding="utf-8"))
        if sorted(f"{k}=={v}" for k, v in versions.items()) == sorted(
            r.lower() for r in corpus.requirements
        ):
            return root, versions
    dist = cache / f"dist-{corpus.key}"
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir(parents=True)
    wanted = " ".join(corpus.requirements)
    print(f"fetching {wanted} with pip into {dist} ...", file=sys.stderr)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "-q",
            "-d",
            str(dist),
            *corpus.requirements,
        ],
        check=True,
    )
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    versions = {}
    for archive in sorted(dist.iterdir()):
        name, version = _unpack(archive, root, corpus)
        versions[name] = version
    # A project marker, so that the plugin takes the corpus as the project root.
    (root / "pyproject.toml").write_text("# benchmark corpus (bench/run.py)\n", encoding="utf-8")
    versions_file.write_text(json.dumps(versions), encoding="utf-8")
    return root, versions


def _unpack(archive: Path, root: Path, corpus: Corpus) -> tuple[str, str]:
    match = re.match(r"([A-Za-z0-9_.]+?)-(\d[^-]*?)(?:-py|\.tar\.gz|\.zip)", archive.name)
    if not match:
        raise SystemExit(f"cannot tell the version of {archive.name}")
    name, version = match.group(1).lower(), match.group(2)
    key = name.replace("_", "").replace("-", "")
    top = corpus.top_level.get(key, name)
    name = next((r.split("==")[0] for r in corpus.requirements if _key(r) == key), name)
    suffixes = (".py", *corpus.also_keep)
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.namelist():
                relative = _package_path(member, top, archive.suffix == ".zip", suffixes)
                if relative is not None:
                    target = root / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(zipped.read(member))
    else:
        with tarfile.open(archive) as tarred:
            for tar_member in tarred.getmembers():
                relative = _package_path(tar_member.name, top, True, suffixes)
                if relative is not None and tar_member.isfile():
                    extracted = tarred.extractfile(tar_member)
                    assert extracted is not None
                    target = root / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(extracted.read())
    return name, version


def _key(requirement: str) -> str:
    return requirement.split("==")[0].lower().replace("_", "").replace("-", "")


def _package_path(
    member: str, top: str, strip_first: bool, suffixes: tuple[str, ...] = (".py",)
) -> str | None:
    parts = member.split("/")
    if strip_first:
        parts = parts[1:]
    if not parts or parts[0] != top or not parts[-1].endswith(suffixes):
        return None
    return "/".join(parts)


def corpus_files(corpus: Path, every: int) -> list[str]:
    """The corpus's Python files (relative paths), every ``every``-th one."""
    relative = (p.relative_to(corpus).as_posix() for p in corpus.rglob("*.py"))
    files = sorted(f for f in relative if "/." not in f and not f.startswith("."))
    return files[::every]


def count_lines(root: Path, files: Sequence[str]) -> int:
    """Total number of lines."""
    return sum(len((root / f).read_bytes().splitlines()) for f in files)


# -- one measured process -----------------------------------------------------------------


@dataclass
class Sample:
    """One run of one case."""

    wall: float
    cpu: float
    rss_mib: float  # the largest process of the tree
    rss_main_mib: float = 0.0  # flake8's main process (through the wrapper only)
    rss_worker_mib: float = 0.0  # its largest worker process (-j2; wrapper only)
    server_cpu: float = 0.0  # CPU seconds the check server spent meanwhile (in ``cpu``)


@dataclass
class Case:
    """A command run repeatedly."""

    name: str
    argv: list[str]
    stdin: Path | None = None
    samples: list[Sample] = field(default_factory=list)
    #: the check server's CPU seconds so far, for a case that uses it
    server_cpu: Callable[[], float] | None = None
    #: run before each (untimed): removes the index cache for a cold-index case
    prepare: Callable[[], None] | None = None

    def median(self, what: str) -> float:
        """Median of one measure over the samples."""
        return statistics.median(getattr(s, what) for s in self.samples)

    def cell(self, what: str, digits: int = 2) -> str:
        """``median (min-max)``."""
        values = [getattr(s, what) for s in self.samples]
        return _cell(values, digits)


def _cell(values: Sequence[float], digits: int = 2) -> str:
    if not values:
        return "n/a"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def child_env() -> dict[str, str]:
    """The environment of measured processes: bytecode allowed (as on a developer machine)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def run_once(argv: Sequence[str], cwd: Path, stdin: Path | None = None) -> Sample:
    """Run ``argv`` to completion; CPU time and peak RSS include its worker processes."""
    env = child_env()
    with contextlib.ExitStack() as stack:
        handle = stack.enter_context(open(stdin, "rb")) if stdin else subprocess.DEVNULL
        start = time.perf_counter()
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=handle,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert process.stderr is not None
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}):\n{errors.decode()}")
    cpu = usage.ru_utime + usage.ru_stime
    main, workers = 0.0, 0.0
    for line in errors.decode(errors="replace").splitlines():
        if line.startswith(MEMORY_LINE):
            fields = dict(part.split("=") for part in line.split()[4:])
            main, workers = int(fields["self"]) / 1024, int(fields["workers"]) / 1024
    return Sample(wall, cpu, usage.ru_maxrss / 1024, main, workers)


def flake8_argv(plugins: str, flake8_args: Sequence[str], standin: bool) -> list[str]:
    """The command of one flake8 case, through the plugin-filtering wrapper."""
    argv = [sys.executable, str(WRAPPER), f"--plugins={plugins}"]
    if standin:
        argv.append("--standin")
    return [*argv, "--", "--isolated", *flake8_args]


def round_robin(cases: Sequence[Case], rounds: int, cwd: Path, label: str) -> None:
    """Run every case once per round, in a rotating order."""
    order = list(cases)
    for index in range(rounds):
        rotation = index % len(order)
        for case in order[rotation:] + order[:rotation]:
            if case.prepare:
                case.prepare()
            before = case.server_cpu() if case.server_cpu else 0.0
            sample = run_once(case.argv, cwd, case.stdin)
            if case.server_cpu:
                sample.server_cpu = case.server_cpu() - before
                sample.cpu += sample.server_cpu
            case.samples.append(sample)
        print(f"  {label}: round {index + 1}/{rounds} done", file=sys.stderr)


def stats_run(argv: Sequence[str], cwd: Path, stdin: Path | None = None) -> dict[str, int]:
    """One untimed ``-j1`` run that counts the files the engine parsed with libcst."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stats.json"
        command = list(argv)
        command.insert(2, f"--stats={out}")
        run_once(command, cwd, stdin)
        try:
            return dict(json.loads(out.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}


# -- figures ------------------------------------------------------------------------------


@dataclass
class Report:
    """Everything printed at the end."""

    figures: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figure(self, key: str | None, label: str, values: Sequence[float], extra: str = "") -> None:
        """One figure: ratios per round, checked against the budget (``key=None``: none)."""
        if key is None:
            shown = _cell(values, 2) + "x" if values else "n/a"
            self.figures.append((label, shown, "none", "-", extra))
            return
        budget = BUDGETS[key]
        if not values:
            self.figures.append((label, "n/a", f"<= {budget:g}", "n/a", extra))
            return
        med = statistics.median(values)
        verdict = "ok" if med <= budget else "OVER"
        shown = _cell(values, 2) + ("x" if budget >= 0.5 else "")
        if budget < 0.5:
            shown = _cell([100 * v for v in values], 1) + " %"
            limit = f"< {100 * budget:g} %"
        else:
            limit = f"<= {budget:g}x"
        self.figures.append((label, shown, limit, verdict, extra))


def per_round(fn, *cases: Case) -> list[float]:  # type: ignore[no-untyped-def]
    """``fn`` applied to the samples of each round."""
    rounds = min(len(c.samples) for c in cases)
    return [fn(*(c.samples[i] for c in cases)) for i in range(rounds)]


def _ratio(base: float, cost: float) -> float:
    return cost / base if base > 0 else float("nan")


def remove_index_cache(root: Path) -> Callable[[], None]:
    """A ``Case.prepare`` that removes the model index cache of the corpus at ``root``."""

    def remove() -> None:
        shutil.rmtree(root / ".djguide_cache", ignore_errors=True)

    return remove


def corpus_figures(
    args: argparse.Namespace, corpus: Corpus, root: Path, report: Report
) -> dict[int, dict[str, Case]]:
    """Figures 1, 2, 5 and 6 on one corpus, -j1 and -j2 (and the runs, for figure 4).

    "default" is ``flake8 --extend-ignore=DJG`` and "djg" plain ``flake8``: figure 1
    compares the plugin's cost with the default checks' over the floor, figure 6 (the
    user's figure) the two whole runs. "djg, cold index" is plain ``flake8`` after the
    model index cache was removed.
    """
    name = corpus.label
    files = corpus_files(root, args.every)
    lines = count_lines(root, files)
    report.notes.append(f"{name} corpus: {len(files)} files, {lines:,} lines (every {args.every})")
    cases_by_jobs: dict[int, dict[str, Case]] = {}
    for jobs in args.jobs:
        common = [f"-j{jobs}", *files]
        cases = {
            "floor": Case("floor", flake8_argv("none", [f"--select={DEFAULT}", *common], False)),
            "default": Case("default", flake8_argv("all", [*WITHOUT_DJG, *common], args.standin)),
            "djg": Case("djg", flake8_argv("all", [*PLAIN, *common], args.standin)),
            "djg, cold index": Case(
                "djg, cold index",
                flake8_argv("all", [*PLAIN, *common], args.standin),
                prepare=remove_index_cache(root),
            ),
        }
        if jobs == args.jobs[0]:
            cases["rare"] = Case(
                "rare", flake8_argv("all", ["--extend-ignore=DJG4", *common], args.standin)
            )
        # warm-up: writes bytecode, fills the page cache and the index cache
        run_once(cases["djg"].argv[: -len(files)] + files, root)
        round_robin(list(cases.values()), args.rounds, root, f"{name} -j{jobs}")
        cases_by_jobs[jobs] = cases

    for jobs, cases in cases_by_jobs.items():
        fl, de, dj, cold = cases["floor"], cases["default"], cases["djg"], cases["djg, cold index"]
        full = per_round(lambda f, d, j: _ratio(d.cpu - f.cpu, j.cpu - d.cpu), fl, de, dj)
        report.figure(
            f"full -j{jobs}" if f"full -j{jobs}" in BUDGETS else "full -j2",
            f"1. {name}: full default DJG set, -j{jobs}, over the floor (CPU)",
            full,
            "wall: "
            + _cell(per_round(lambda f, d, j: _ratio(d.wall - f.wall, j.wall - d.wall), fl, de, dj))
            + "x",
        )
        report.figure(
            "user",
            f"6. {name}: plain `flake8` / `flake8 --extend-ignore=DJG`, -j{jobs}, warm index "
            "(whole-run CPU)",
            per_round(lambda d, j: _ratio(d.cpu, j.cpu), de, dj),
            f"{dj.cell('cpu')} s against {de.cell('cpu')} s; wall "
            + _cell(per_round(lambda d, j: _ratio(d.wall, j.wall), de, dj))
            + "x",
        )
        report.figure(
            None,
            f"6. {name}: plain `flake8` / `flake8 --extend-ignore=DJG`, -j{jobs}, cold index "
            "(whole-run CPU)",
            per_round(lambda d, c: _ratio(d.cpu, c.cpu), de, cold),
            f"{cold.cell('cpu')} s against {de.cell('cpu')} s; the cold index costs "
            + _cell(per_round(lambda j, c: c.cpu - j.cpu, dj, cold))
            + " s more than the warm one",
        )
        if "rare" in cases:
            ra = cases["rare"]
            rare = per_round(lambda f, d, r: _ratio(d.cpu - f.cpu, r.cpu - d.cpu), fl, de, ra)
            rare_stats = stats_run(ra.argv, root) if not args.no_stats else {}
            full_stats = stats_run(dj.argv, root) if not args.no_stats else {}
            report.figure(
                "rare",
                f"2. {name}: rarely firing rules only (`--extend-ignore=DJG4`), -j{jobs} (CPU)",
                rare,
                _parsed(rare_stats),
            )
            report.details.append(f"{name}, full default set, -j{jobs}: {_parsed(full_stats)}")
        for case_name, case in cases.items():
            report.details.append(
                f"| {name} | {case_name} | -j{jobs} | {case.cell('cpu')} | {case.cell('wall')} "
                f"| {case.cell('rss_mib', 0)} |"
            )
    for jobs in args.jobs:
        de, dj = cases_by_jobs[jobs]["default"], cases_by_jobs[jobs]["djg"]
        if jobs > 1:
            measure = "rss_worker_mib"
            label = f"5a. {name}: peak memory per worker process, -j{jobs}"
            main = (
                f"; main process (collects the findings): {dj.cell('rss_main_mib', 0)} MiB "
                f"against {de.cell('rss_main_mib', 0)} MiB"
            )
        else:
            measure, label, main = (
                "rss_mib",
                f"5b. {name}: peak memory, -j1 (one process checks and collects the findings)",
                "",
            )
        memory = per_round(
            lambda d, j, m=measure: _ratio(getattr(d, m), getattr(j, m)),
            de,
            dj,
        )
        report.figure(
            "memory",
            label,
            memory,
            f"{dj.cell(measure, 1)} MiB against {de.cell(measure, 1)} MiB{main}",
        )
    return cases_by_jobs


def _parsed(stats: dict[str, int]) -> str:
    if not stats:
        return "parsed files: not counted"
    share = 100 * stats["parsed_lines"] / stats["lines"] if stats["lines"] else 0.0
    return (
        f"libcst parsed {stats['parsed']} of {stats['files']} files "
        f"({share:.1f} % of lines), {stats['findings']} findings"
    )


#: Rows of figure 3: (label, ratios per round, notes), with and without the server.
EditorRows = list[tuple[str, list[float], str]]


def editor_figure(
    args: argparse.Namespace,
    corpus: Corpus,
    root: Path,
    report: Report,
    server_rows: EditorRows,
    local_rows: EditorRows,
) -> None:
    """Figure 3: one file on stdin, process start to exit (per file of ``editor_files``).

    Plain ``flake8`` against ``flake8 --extend-ignore=DJG``, measured with the check
    server (``--djguide-server=true``, as an editor is set up: the server's CPU during
    the run is added to the run's) and without it.
    """
    for name in corpus.editor_files:
        path = root / name
        if not path.is_file():
            continue
        lines = count_lines(root, [name])
        flake8 = ["--isolated", f"--stdin-display-name={name}", "-"]
        direct = [sys.executable, "-m", "flake8"]
        if args.standin:
            direct = [sys.executable, str(WRAPPER), "--standin", "--"]
        default = Case("default", [*direct, *WITHOUT_DJG, *flake8], path)
        djg = Case("djg", [*direct, *PLAIN, *flake8], path)
        served = Case("djg, check server", [*direct, "--djguide-server=true", *flake8], path)
        # The lower bound of any check that parses with libcst in its own process:
        # the default checks plus ``import libcst`` and nothing else.
        floor = Case("default + import libcst", [*IMPORT_LIBCST, *WITHOUT_DJG, *flake8], path)
        cases = [default, djg, served, floor]
        run_once(djg.argv, root, path)
        served.server_cpu = start_server(served.argv, root, path)
        try:
            round_robin(cases, args.editor_rounds, root, f"editor {name}")
        finally:
            stop_server()
        probe = flake8_argv("all", flake8[1:], args.standin)
        stats = stats_run(probe, root, path)
        imported = {1: "yes", 0: "no"}.get(stats.get("libcst_imported", -1), "n/a")
        file_label = (
            f"{corpus.label}: one {lines}-line file on stdin (`{name}`), start to exit (CPU)"
        )
        cpu = per_round(lambda d, j: _ratio(d.cpu, j.cpu), default, served)
        wall = per_round(lambda d, j: _ratio(d.wall, j.wall), default, served)
        server_s = _cell([s.server_cpu for s in served.samples], 3)
        server_rows.append(
            (
                f"{file_label}, with the check server",
                cpu,
                f"wall {_cell(wall)}x; {served.cell('cpu')} s (the server's part: "
                f"{server_s} s) against {default.cell('cpu')} s; "
                f"{stats.get('findings', '?')} DJG findings",
            )
        )
        cpu = per_round(lambda d, j: _ratio(d.cpu, j.cpu), default, djg)
        wall = per_round(lambda d, j: _ratio(d.wall, j.wall), default, djg)
        local_rows.append(
            (
                f"{file_label}, without the server",
                cpu,
                f"wall {_cell(wall)}x; {djg.cell('cpu')} s against {default.cell('cpu')} s; "
                f"libcst imported: {imported}; the default checks plus `import libcst` "
                f"alone: {_cell(per_round(lambda d, f: _ratio(d.cpu, f.cpu), default, floor))}x",
            )
        )
        for case in cases:
            report.details.append(
                f"| {corpus.label} | editor {case.name}, `{name}` | stdin | {case.cell('cpu', 3)} "
                f"| {case.cell('wall', 3)} | {case.cell('rss_mib', 0)} |"
            )


def start_server(argv: Sequence[str], cwd: Path, stdin: Path) -> Callable[[], float] | None:
    """Start the check server with a first run and warm it with a second.

    The reader of the server's CPU seconds so far, or ``None`` when no server came up
    (the case then measures local checks, and its notes show no server part).
    """
    from flake8_djguide import server

    directory = server.server_dir()
    if directory is None:
        return None
    path = server.socket_path(directory)
    run_once(argv, cwd, stdin)  # starts the server; this run checks locally
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            server.call(path, {"status": True}, timeout=10)
            break
        except (OSError, ValueError):
            time.sleep(0.1)
    else:
        return None
    run_once(argv, cwd, stdin)  # the server's first request

    def cpu_seconds() -> float:
        return float(server.call(path, {"status": True}, timeout=10)["cpu_seconds"])

    return cpu_seconds


def stop_server() -> None:
    """Stop the benchmark's check server, if one runs."""
    from flake8_djguide import server

    directory = server.server_dir()
    if directory is not None:
        with contextlib.suppress(OSError, ValueError):
            server.call(server.socket_path(directory), {"stop": True}, timeout=10)


# -- the model index ----------------------------------------------------------------------

_MODEL = '''\
"""Models of {app}."""

from django.conf import settings
from django.db import models
{imports}


class {prefix}QuerySet(models.QuerySet):
    """Queries on {prefix} items."""

    def active(self):
        return self.filter(is_active=True)


class {prefix}Category(models.Model):
    """A category of {app}."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE)

    def __str__(self):
        return self.name


class {prefix}Item(models.Model):
    """An item of {app}."""

    category = models.ForeignKey({prefix}Category, related_name="items", on_delete=models.PROTECT)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    title = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    is_active = models.BooleanField(default=True)
{relations}
    objects = {prefix}QuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title


class {prefix}Review(models.Model):
    """A review of an item."""

    item = models.ForeignKey({prefix}Item, on_delete=models.CASCADE)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    body = models.TextField()
    rating = models.PositiveSmallIntegerField()
'''

_VIEWS = '''\
"""Views of {app}."""

from django.shortcuts import get_object_or_404, render

from apps.{app}.models import {prefix}Item


def item_list(request):
    items = {prefix}Item.objects.active().select_related("category")
    return render(request, "{app}/list.html", {{"items": items}})


def item_detail(request, pk):
    item = get_object_or_404({prefix}Item, pk=pk)
    reviews = item.{lower}review_set.all()
    return render(request, "{app}/detail.html", {{"item": item, "reviews": reviews}})
'''


def make_project(root: Path, apps: int) -> Path:
    """A synthetic Django project: ``apps`` apps, each with a models module (3-5 models
    with foreign keys and many-to-many relations into other apps) and a views module."""
    project = root / f"project-{apps}"
    if (project / "manage.py").is_file():
        return project
    shutil.rmtree(project, ignore_errors=True)
    rng = random.Random(8)
    (project / "apps").mkdir(parents=True)
    (project / "manage.py").write_text("import sys\n", encoding="utf-8")
    (project / "apps" / "__init__.py").write_text("", encoding="utf-8")
    for index in range(apps):
        app = f"app{index:03d}"
        prefix = f"A{index:03d}"
        package = project / "apps" / app
        package.mkdir()
        (package / "__init__.py").write_text("", encoding="utf-8")
        imports, relations = [], []
        for k, other in enumerate(sorted(rng.sample(range(apps), min(3, apps)))):
            if other == index:
                continue
            other_prefix = f"A{other:03d}"
            if k % 2 == 0:
                imports.append(f"from apps.app{other:03d}.models import {other_prefix}Item")
                relations.append(
                    f"    related_{k} = models.ForeignKey({other_prefix}Item, null=True, "
                    f'related_name="{prefix.lower()}_items_{k}", on_delete=models.SET_NULL)'
                )
            else:
                relations.append(
                    f"    tags_{k} = models.ManyToManyField("
                    f'"app{other:03d}.{other_prefix}Category", '
                    f'related_name="{prefix.lower()}_tagged_{k}", blank=True)'
                )
        fields = {
            "app": app,
            "prefix": prefix,
            "lower": prefix.lower(),
            "imports": "\n".join(imports),
            "relations": "\n".join(relations),
        }
        (package / "models.py").write_text(_MODEL.format(**fields), encoding="utf-8")
        (package / "views.py").write_text(_VIEWS.format(**fields), encoding="utf-8")
    return project


_INDEX_PROBE = """\
import importlib, inspect, json, sys, time
from pathlib import Path
root, cache = Path(sys.argv[1]), Path(sys.argv[2])
try:
    index = importlib.import_module("flake8_djguide.index")
    build = getattr(index, "build")
except Exception as error:
    print(json.dumps({"error": "%s: %s" % (type(error).__name__, error)}))
    raise SystemExit(0)
# as the plugin builds it (``project_index``): with the collector paused, where it is
paused = getattr(index, "_collector_paused", None)
start, cpu = time.perf_counter(), time.process_time()
if paused is None:
    build(root, cache)
else:
    with paused():
        build(root, cache)
print(json.dumps({"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu}))
"""


def index_figure(
    args: argparse.Namespace,
    report: Report,
    label: str,
    project: Path,
    files: Sequence[str],
    full: Case | None = None,
) -> None:
    """Figure 4: building the model index, cold and warm, in a fresh process each,
    against a full ``-j1`` run of plain flake8 (``full``: already measured; else run
    here, one per round)."""
    try:
        importlib.import_module("flake8_djguide.index")
    except ImportError:
        report.figures.append(
            (f"4. {label}: model index, cold / warm", "n/a (no index yet)", "", "n/a", "")
        )
        return
    lines = count_lines(project, files)
    cache = project / ".djguide_cache"
    measured = full is not None
    if full is None:
        full = Case("full", flake8_argv("all", [*PLAIN, "-j1", *files], args.standin))
        run_once(full.argv, project)  # warm-up, also leaves a warm index cache
    cold: list[float] = []
    warm: list[float] = []
    error = ""
    for _ in range(args.rounds):
        if not measured:
            full.samples.append(run_once(full.argv, project))
        for target, wipe in ((cold, True), (warm, False)):
            if wipe:
                shutil.rmtree(cache, ignore_errors=True)
            done = subprocess.run(
                [sys.executable, "-c", _INDEX_PROBE, str(project), str(cache)],
                cwd=project,
                env=child_env(),
                capture_output=True,
                text=True,
                check=False,
            )
            try:
                result = json.loads(done.stdout.strip().splitlines()[-1])
            except (IndexError, ValueError):
                result = {"error": done.stderr.strip().splitlines()[-1:] or "no output"}
            if "error" in result:
                error = str(result["error"])
                break
            target.append(result["cpu"])
    if error:
        report.figures.append(
            (f"4. {label}: model index, cold / warm", f"n/a ({error})", "", "n/a", "")
        )
        return
    full_cpu = full.median("cpu")
    where = (
        f"{len(files)} files, {lines:,} lines; index {_cell(cold)} s cold, "
        f"{_cell(warm)} s warm; full `-j1` run {full.cell('cpu')} s"
    )
    cold_share = [c / full_cpu for c in cold]
    warm_share = [w / full_cpu for w in warm]
    report.figure(
        "index cold", f"4a. {label}: model index, cold (share of a full run)", cold_share, where
    )
    report.figure(
        "index warm", f"4b. {label}: model index, warm (share of a full run)", warm_share, ""
    )
    if not measured:
        report.details.append(
            f"| {label} | full run | -j1 | {full.cell('cpu')} | {full.cell('wall')} "
            f"| {full.cell('rss_mib', 0)} |"
        )


def findings_of(args: argparse.Namespace, corpus: Corpus, root: Path, out: Path) -> int:
    """Write the sorted ``flake8 --select=DJG`` output on ``corpus`` to ``out``.

    Compare two such files byte for byte (``cmp``) to show that a change keeps
    every finding. The count of findings is returned.
    """
    files = corpus_files(root, args.every)
    argv = [sys.executable, "-m", "flake8", "--isolated", "--select=DJG", "-j2", *files]
    done = subprocess.run(
        argv, cwd=root, env=child_env(), capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"flake8 failed on {corpus.label} ({done.returncode}):\n{done.stderr}")
    found = sorted(done.stdout.splitlines())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{line}\n" for line in found), encoding="utf-8")
    return len(found)


# -- output -------------------------------------------------------------------------------


def machine(versions: dict[str, str]) -> str:
    """One line about the machine and the software measured."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version

    def ver(name: str) -> str:
        try:
            return version(name)
        except Exception:
            return "?"

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    from flake8_djguide.registry import all_rules

    codes = [r.CODE for r in all_rules() if not r.OPT_IN]
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs, "
        f"load {load:.1f} at the end; CPython {platform.python_version()}, flake8 {ver('flake8')}, "
        f"libcst {ver('libcst')}, flake8-djguide {ver('flake8-djguide')}; corpus: "
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        + f"; default-on DJG rules installed: {len(codes)} ({', '.join(codes)})"
    )


def render(report: Report, versions: dict[str, str], args: argparse.Namespace) -> str:
    """The markdown block."""
    today = datetime.date.today().isoformat()
    mode = "quick" if args.quick else "full"
    lines = [
        f"Run {today} ({mode}: {args.rounds} rounds, `{' '.join(sys.argv[1:]) or 'no options'}`"
        + (", with the stand-in DJG4xx rules of bench/standin.py" if args.standin else "")
        + ").",
        "",
        f"Machine: {machine(versions)}.",
        "",
        "| figure | measured: median (min-max) | budget | verdict | notes |",
        "| --- | --- | --- | --- | --- |",
    ]
    figures = sorted(report.figures, key=lambda row: row[0].split(" ", 1)[0].rstrip("."))
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in figures]
    lines += ["", *[f"- {n}" for n in report.notes]]
    table = [d for d in report.details if d.startswith("|")]
    other = [d for d in report.details if not d.startswith("|")]
    lines += [f"- {d}" for d in other]
    lines += [
        "",
        "| corpus | case | jobs | CPU s | wall s | peak RSS MiB |",
        "| --- | --- | --- | --- | --- | --- |",
        *table,
    ]
    return "\n".join(lines) + "\n"


def write_results(block: str, standin: bool) -> None:
    """Replace the generated block of bench/RESULTS.md (kept: the hand-written notes)."""
    begin, end = BEGIN, END
    if standin:
        begin, end = begin.replace("start", "standin-start"), end.replace("end", "standin-end")
    text = f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    if RESULTS.is_file():
        text = RESULTS.read_text(encoding="utf-8")
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    RESULTS.write_text(f"{head}{begin}\n{block}{end}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, fetch the corpora, run the figures, print the table."""
    parser = argparse.ArgumentParser(description="Benchmark flake8-djguide (issues 8 and 22).")
    parser.add_argument("--quick", action="store_true", help="every 8th file, 2 rounds")
    parser.add_argument("--rounds", type=int, help="rounds per case (default 3; quick 2)")
    parser.add_argument("--every", type=int, help="take every N-th corpus file (default 1)")
    parser.add_argument("--jobs", default="1,2", help="flake8 -j values (default 1,2)")
    parser.add_argument("--figures", default="1,2,3,4,5,6", help="which figures to run")
    parser.add_argument(
        "--corpora",
        default=",".join(CORPORA),
        help=f"which corpora (default {','.join(CORPORA)})",
    )
    parser.add_argument("--apps", type=int, help="model files of the synthetic project (300)")
    parser.add_argument("--standin", action="store_true", help="add bench/standin.py rules")
    parser.add_argument("--no-stats", action="store_true", help="skip the parsed-files count")
    parser.add_argument("--cache", type=Path, default=CACHE, help="download/unpack directory")
    parser.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument(
        "--findings",
        type=Path,
        metavar="DIR",
        help="only write each corpus's sorted `flake8 --select=DJG` output to DIR/<corpus>.txt",
    )
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.editor_rounds = max(args.rounds * 4, 8)  # one run is short and noisy: more rounds
    args.every = args.every or (8 if args.quick else 1)
    args.apps = args.apps or (60 if args.quick else 300)
    args.jobs = [int(j) for j in args.jobs.split(",")]
    wanted = set(args.figures.split(","))
    chosen = [c.strip() for c in args.corpora.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in CORPORA]
    if unknown:
        parser.error(f"--corpora: unknown {', '.join(unknown)} (allowed: {', '.join(CORPORA)})")

    roots = {key: fetch(args.cache, CORPORA[key]) for key in chosen}
    versions = {name: v for _root, found in roots.values() for name, v in found.items()}
    if args.findings is not None:
        for key, (root, _found) in roots.items():
            out = args.findings / f"{key}.txt"
            count = findings_of(args, CORPORA[key], root, out)
            print(f"{CORPORA[key].label}: {count} findings in {out}")
        return 0
    report = Report()
    server_rows: EditorRows = []
    local_rows: EditorRows = []
    for key, (root, _found) in roots.items():
        corpus = CORPORA[key]
        runs: dict[int, dict[str, Case]] = {}
        if wanted & {"1", "2", "5", "6"}:
            runs = corpus_figures(args, corpus, root, report)
        if "3" in wanted:
            # A private, short directory for the check server's socket (a Unix socket's
            # path has at most about 100 bytes): never the user's own server.
            with tempfile.TemporaryDirectory(prefix="djguide-bench-") as servers:
                os.chmod(servers, 0o700)
                os.environ["DJGUIDE_SERVER_DIR"] = servers
                try:
                    editor_figure(args, corpus, root, report, server_rows, local_rows)
                finally:
                    stop_server()
                    del os.environ["DJGUIDE_SERVER_DIR"]
        if "4" in wanted:
            full = runs.get(1, {}).get("djg")
            index_figure(args, report, corpus.label, root, corpus_files(root, args.every), full)
    if "3" in wanted:
        letters = "abcdefghijklmnopqrstuvwxyz"
        for letter, (label, values, extra) in zip(letters, server_rows):
            report.figure("editor", f"3{letter}. {label}", values, extra)
        for letter, (label, values, extra) in zip(letters[len(server_rows) :], local_rows):
            report.figure("editor local", f"3{letter}. {label}", values, extra)
    if "4" in wanted:
        project = make_project(args.cache, args.apps)
        files = [str(p.relative_to(project)) for p in sorted(project.rglob("*.py"))]
        index_figure(args, report, f"synthetic {args.apps}-app project", project, files)
    block = render(report, versions, args)
    print(block)
    if args.write_results:
        write_results(block, args.standin)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
