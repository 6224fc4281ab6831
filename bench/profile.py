"""Where a flake8 run with flake8-djguide spends its time (issue 22).

Usage, from the repository root after ``pip install -e '.[dev]'`` (pyinstrument)
and one ``python bench/run.py`` (which fetches the corpora)::

    python bench/profile.py                         # pretix, every file, flake8 -j1
    python bench/profile.py --corpus framework --every 4
    python bench/profile.py --load run.pyisession   # summarise a saved profile again
    python bench/profile.py --parsed                # which rules make the engine parse what

It runs plain ``flake8 -j1`` (flake8's default selection, DJG included) in this
process under pyinstrument, saves the session next to the summary, and prints
the sampled time per part: outside the plugin (flake8, pycodestyle, pyflakes),
the engine (ast trigger walk, libcst parse, walk, locating findings), each rule
family's ast triggers and libcst visitors, the shared ORM analysis and the
model index. pyinstrument samples wall-clock time: on a loaded machine the
shares are what to read, not the seconds.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

#: rule module -> its family, as the README names them
FAMILIES = {
    "imports.py": "DJG0xx imports",
    "channels.py": "DJG1xx channels",
    "orm.py": "DJG2xx ORM",
    "settings.py": "DJG3xx settings",
    "typing.py": "DJG4xx typing",
    "testing.py": "DJG5xx testing",
    "structure.py": "DJG6xx structure",
}


def bucket(stack: list[tuple[str, str, str]]) -> str:
    """The part of the run a sample belongs to, from its stack (outermost first)."""
    ours = [(function, owner, path) for function, owner, path in stack if "flake8_djguide" in path]
    if not ours:
        return "outside the plugin (flake8, its default checks)"
    names = [path.split("flake8_djguide/")[-1] for _f, _o, path in ours]
    functions = {function for function, _owner, _path in ours}
    owners = {owner for _function, owner, _path in ours}
    if any(name.startswith("index/") for name in names):
        return "model index (build, load, per-file facts)"
    if functions & {"parse_chunk", "parse_module", "_parse_in_parts"}:
        return "engine: libcst parse"
    if "locate" in functions or any(name == "positions.py" for name in names):
        return "engine: locating findings"
    rules = [name for name in names if name.startswith("rules/")]
    if "_Triggers" in owners:
        if rules:
            return f"ast triggers: {FAMILIES.get(rules[-1][6:], rules[-1])}"
        return "engine: ast trigger walk (imports, trigger nodes)"
    if rules:
        name = rules[-1][6:]
        if any(part.startswith("orm/") for part in names):
            return "rules: DJG2xx ORM, the shared ORM analysis (orm/)"
        return f"rules: {FAMILIES.get(name, name)}"
    if any(name == "walker.py" for name in names):
        return "engine: walk (dispatch to the rules)"
    if any(name == "baseline.py" for name in names):
        return "baseline look-up"
    return "engine: other (contexts, settings, libcst import)"


def summarise(session: Any) -> list[tuple[str, float, float]]:
    """``(part, seconds, share)`` for every part, largest first."""
    root = session.root_frame()
    totals: collections.Counter[str] = collections.Counter()

    def visit(frame: Any, stack: list[tuple[str, str, str]]) -> None:
        here = [*stack, (frame.function, frame.class_name or "", frame.file_path or "")]
        own = frame.time - sum(child.time for child in frame.children)
        if own > 0:
            totals[bucket(here)] += own
        for child in frame.children:
            visit(child, here)

    visit(root, [])
    total = root.time or 1.0
    return [(part, seconds, seconds / total) for part, seconds in totals.most_common()]


def parsed_by_rule(files: list[str]) -> None:
    """Run plain ``flake8 -j1`` and print, per rule, the lines libcst parsed in chunks
    where its trigger held, and those parsed for it alone (left-out bodies not counted)."""
    from flake8.main.cli import main as flake8_main

    from flake8_djguide import engine

    fired_of: dict[int, frozenset[str]] = {}
    original_run = engine._Triggers.run

    def run(self: Any, tree: Any) -> Any:
        found = original_run(self, tree)
        for statement, (_span, fired) in zip(tree.body, found):
            fired_of[id(statement)] = frozenset(rule.CODE for rule in fired)
        return found

    within: collections.Counter[str] = collections.Counter()
    alone: collections.Counter[str] = collections.Counter()
    total = [0, 0]
    original_parse = engine.parse_chunk

    def parse_chunk(chunk: Any, lines: Any) -> Any:
        left_out = sum(1 for text in chunk.replaced.values() if not text.strip())
        count = chunk.last - chunk.first + 1 - left_out
        codes: set[str] = set()
        for statement in chunk.statements:
            codes |= fired_of.get(id(statement), frozenset())
        total[0] += count
        total[1] += 1
        for code in codes:
            within[code] += count
        if len(codes) == 1:
            alone[next(iter(codes))] += count
        return original_parse(chunk, lines)

    engine._Triggers.run = run  # type: ignore[method-assign]
    engine.parse_chunk = parse_chunk
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        flake8_main(["--isolated", "-j1", *files])
    lines = sum(len(Path(f).read_bytes().splitlines()) for f in files)
    print(f"libcst parsed {total[0]:,} of {lines:,} lines in {total[1]:,} chunks\n")
    print("| rule | lines parsed in chunks where it triggered | for it alone |")
    print("| --- | --- | --- |")
    for code, count in within.most_common():
        print(f"| {code} | {count:,} | {alone[code]:,} |")


def main(argv: list[str] | None = None) -> int:
    """Profile one corpus (or load a saved profile) and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="application", help="framework or application")
    parser.add_argument("--every", type=int, default=1, help="take every N-th file")
    parser.add_argument("--load", type=Path, help="summarise a saved .pyisession instead")
    parser.add_argument("--save", type=Path, help="where to save the session")
    parser.add_argument("--parsed", action="store_true", help="lines parsed per rule, no profile")
    args = parser.parse_args(argv)
    from pyinstrument import Profiler
    from pyinstrument.session import Session

    if args.load is not None:
        session = Session.load(str(args.load))
    else:
        import run

        if args.corpus not in run.CORPORA:
            parser.error(f"--corpus: unknown {args.corpus} (allowed: {', '.join(run.CORPORA)})")
        corpus = run.CORPORA[args.corpus]
        root, _versions = run.fetch(run.CACHE, corpus)
        files = run.corpus_files(root, args.every)
        from flake8.main.cli import main as flake8_main

        os.chdir(root)
        if args.parsed:
            parsed_by_rule(files)
            return 0
        profiler = Profiler()
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            profiler.start()
            try:
                flake8_main(["--isolated", "-j1", *files])
            finally:
                profiler.stop()
        session = profiler.last_session
        assert session is not None
        saved = args.save or BENCH / ".cache" / f"profile-{args.corpus}.pyisession"
        session.save(str(saved))
        print(f"{len(files)} files of {corpus.label}; session saved to {saved}")
    rows = summarise(session)
    plugin = sum(seconds for part, seconds, _share in rows if not part.startswith("outside"))
    print(f"sampled {session.duration:.1f} s, the plugin {plugin:.1f} s\n")
    print("| part | seconds | share of the run | share of the plugin |")
    print("| --- | --- | --- | --- |")
    for part, seconds, share in rows:
        of_plugin = "" if part.startswith("outside") else f"{100 * seconds / plugin:.1f} %"
        print(f"| {part} | {seconds:.1f} | {100 * share:.1f} % | {of_plugin} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
