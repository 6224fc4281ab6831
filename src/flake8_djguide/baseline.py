"""A baseline of known findings: adopt the plugin on a code base that already has many.

``djguide baseline [PATHS]`` (for now ``python -m flake8_djguide.baseline [PATHS]``)
runs flake8 with your configuration and records every ``DJG`` finding it reports in
``.djguide-baseline.json``. From then on the plugin suppresses exactly those findings and
still reports new ones. ``--prune`` drops entries that no longer match anything, without
adding new findings.

A finding's fingerprint is its path (relative to the baseline file's directory,
``/``-separated), its code, a hash of its normalised source line (indentation and runs of
blanks do not count) and the dotted name of the innermost function or class around it
(``OrderViewSet.get_queryset``; empty at module level), and an occurrence counter that
tells identical findings on identical lines in that scope apart, in file order. Neither the
line number nor the neighbouring lines are part of it, so code inserted, removed, edited or
moved anywhere else (a docstring added above an old import, the previous function
reformatted) does not bring a finding back; editing the flagged line, renaming its
function or class, or moving it into another one does (the finding is then reported again:
its code changed, so it deserves a look). A finding about the file itself (DJG504, at
1:1) is matched by its path and code alone.

Baselines of format 1 (which hashed the flagged line with its nearest non-blank
neighbours) are still read and applied as they were written; ``djguide baseline`` rewrites
them in the current format.

``DJG000`` (a file the plugin could not check) is never baselined or suppressed. Only
``DJG`` codes are baselined: flake8 gives a plugin no way to filter other plugins' codes.
"""

from __future__ import annotations

import argparse
import ast
import functools
import json
import os
import sys
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flake8_djguide import config

if TYPE_CHECKING:
    from flake8_djguide.rule import Finding

BASELINE_NAME = ".djguide-baseline.json"
FORMAT_VERSION = 2
#: Formats this version reads (1: line and neighbours hashed, no scope).
READABLE_VERSIONS = (1, 2)
#: The ``baseline`` option value that switches suppression off.
OFF = "off"
INTERNAL_ERROR = "DJG000"


# -- fingerprints ----------------------------------------------------------------------------


def normalise(line: str) -> str:
    """A source line with its indentation, line ending and inner runs of blanks removed."""
    return " ".join(line.replace("\ufeff", "").split())


def _neighbour(lines: Sequence[str], index: int, step: int) -> str:
    index += step
    while 0 <= index < len(lines):
        text = normalise(lines[index])
        if text:
            return text
        index += step
    return ""


def _digest(text: str) -> str:
    import hashlib  # here: importing it loads OpenSSL (3.5 MiB), only needed with a baseline

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def line_hash_v1(lines: Sequence[str], line: int) -> str:
    """Format 1: the hash of line ``line`` (1-based) and its nearest non-blank neighbours."""
    index = line - 1
    current = normalise(lines[index]) if 0 <= index < len(lines) else ""
    return _digest("\n".join((_neighbour(lines, index, -1), current, _neighbour(lines, index, 1))))


def line_hash(lines: Sequence[str], line: int, scope: str) -> str:
    """The hash of line ``line`` (1-based, normalised) in the function or class ``scope``."""
    index = line - 1
    current = normalise(lines[index]) if 0 <= index < len(lines) else ""
    return _digest(f"{scope}\n{current}")


class Scopes:
    """The dotted name of the innermost function or class around each line of a module.

    A definition spans its decorators, its signature and its body, so a finding on a
    parameter or a decorator belongs to the function it is part of.
    """

    def __init__(self, tree: ast.AST | None) -> None:
        self.spans: list[tuple[int, int, str]] = []
        if tree is not None:
            self._collect(tree, "")

    @classmethod
    def of_lines(cls, lines: Sequence[str], tree: ast.AST | None = None) -> Scopes:
        """The scopes of ``lines``, parsing them with :mod:`ast` unless ``tree`` is given.

        A file :mod:`ast` cannot parse has no scopes (every line at module level).
        """
        if not isinstance(tree, ast.Module):
            try:
                tree = ast.parse("".join(lines))
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                tree = None
        return cls(tree)

    def _collect(self, node: ast.AST, prefix: str) -> None:
        stack = [(node, prefix)]
        while stack:
            parent, outer = stack.pop()
            for child in ast.iter_child_nodes(parent):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = f"{outer}.{child.name}" if outer else child.name
                    start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    end = getattr(child, "end_lineno", None) or child.lineno
                    self.spans.append((start, end, name))
                    stack.append((child, name))
                else:
                    stack.append((child, outer))

    def name_at(self, line: int) -> str:
        """The innermost definition around ``line`` (``""`` at module level)."""
        best = ""
        best_start = 0
        for start, end, name in self.spans:
            if start <= line <= end and start >= best_start:
                best, best_start = name, start
        return best


@functools.cache
def about_the_file(code: str) -> bool:
    """Whether ``code``'s findings are about the file itself (``PATH_ONLY`` rules, DJG504)."""
    from flake8_djguide.registry import by_code

    rule = by_code().get(code)
    return rule is not None and rule.PATH_ONLY


def fingerprint(lines: Sequence[str], line: int, scopes: Scopes | None, code: str = "") -> str:
    """The hash of line ``line``: with its scope, or of format 1 when ``scopes`` is ``None``.

    A finding about the file itself (reported at 1:1 by a ``PATH_ONLY`` rule) is matched by
    its path and code alone: whatever is on the first line is not what it is about.
    """
    if scopes is None:
        return line_hash_v1(lines, line)
    if about_the_file(code):
        return line_hash((), 0, "")
    return line_hash(lines, line, scopes.name_at(line))


@dataclass(frozen=True)
class Entry:
    """One baselined finding in one file."""

    code: str
    hash: str
    occurrence: int
    message: str = ""

    @property
    def key(self) -> tuple[str, str, int]:
        """What matching compares (the message is for people reading the file)."""
        return (self.code, self.hash, self.occurrence)

    def to_json(self) -> dict[str, Any]:
        """The entry as stored."""
        return {
            "code": self.code,
            "hash": self.hash,
            "occurrence": self.occurrence,
            "message": self.message,
        }


def entries_for(
    findings: Iterable[tuple[int, int, str, str]],
    lines: Sequence[str],
    tree: ast.AST | None = None,
    version: int = FORMAT_VERSION,
) -> list[Entry]:
    """Fingerprint one file's findings, given as ``(line, column, code, message)``.

    Occurrences are counted per (code, hash) in the order of the findings' positions.
    ``tree`` is the file's :mod:`ast` module when the caller has it (else it is parsed);
    ``version`` 1 gives the fingerprints of that older format.
    """
    counts: dict[tuple[str, str], int] = {}
    entries = []
    ordered = sorted(findings, key=lambda f: (f[0], f[1], f[2]))
    scopes = Scopes.of_lines(lines, tree) if version != 1 and ordered else None
    for line, _col, code, message in ordered:
        digest = fingerprint(lines, line, scopes, code)
        occurrence = counts.get((code, digest), 0) + 1
        counts[(code, digest)] = occurrence
        entries.append(Entry(code, digest, occurrence, message))
    return entries


def baselinable(code: str) -> bool:
    """Whether findings of ``code`` go into a baseline."""
    return code.startswith("DJG") and code != INTERNAL_ERROR


def relative_to(filename: str, directory: Path) -> str:
    """``filename`` relative to ``directory``, ``/``-separated (absolute when impossible)."""
    absolute = os.path.abspath(filename)
    try:
        relative = os.path.relpath(absolute, str(directory))
    except ValueError:  # another drive on Windows
        relative = absolute
    return relative.replace(os.sep, "/")


# -- the baseline file -----------------------------------------------------------------------


@dataclass
class Baseline:
    """The contents of one baseline file: entries by relative path."""

    path: Path
    files: dict[str, list[Entry]]
    version: int = FORMAT_VERSION

    @property
    def directory(self) -> Path:
        """The directory the recorded paths are relative to."""
        return self.path.parent

    @functools.cached_property
    def keys(self) -> dict[str, frozenset[tuple[str, str, int]]]:
        """The fingerprints (without path) recorded for each path."""
        return {path: frozenset(e.key for e in entries) for path, entries in self.files.items()}

    def count(self) -> int:
        """How many findings are recorded."""
        return sum(len(entries) for entries in self.files.values())

    def dumps(self) -> str:
        """The file's text: stable order, one finding per object, for reviewable diffs."""
        data = {
            "comment": (
                "flake8-djguide baseline: known findings the plugin does not report. "
                "Regenerate with `djguide baseline`, drop fixed ones with "
                "`djguide baseline --prune`."
            ),
            "version": FORMAT_VERSION,
            "findings": {
                path: [entry.to_json() for entry in self.files[path]]
                for path in sorted(self.files)
                if self.files[path]
            },
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def write(self, expected: bytes | None = None) -> None:
        """Write the file atomically, through a unique temporary file beside it.

        Never through a symbolic link, and never over a file whose content is no longer
        ``expected`` (the bytes read before; see :mod:`flake8_djguide.safe_write`).
        """
        from flake8_djguide import safe_write

        safe_write.replace(str(self.path), self.dumps().encode("utf-8"), expected=expected)

    @classmethod
    def parse(cls, path: Path, text: str) -> Baseline:
        """Read a baseline file's text; :class:`config.ConfigError` when it is not one."""
        try:
            data = json.loads(text)
        except ValueError as error:
            raise config.ConfigError(f"{path}: not a flake8-djguide baseline: {error}") from None
        version = data.get("version") if isinstance(data, dict) else None
        if not isinstance(data, dict) or version not in READABLE_VERSIONS:
            raise config.ConfigError(
                f"{path}: not a flake8-djguide baseline of format version "
                f"{' or '.join(map(str, READABLE_VERSIONS))}; regenerate it with "
                "`djguide baseline`"
            )
        findings = data.get("findings")
        if not isinstance(findings, dict):
            raise config.ConfigError(f"{path}: 'findings' must be an object of paths")
        files: dict[str, list[Entry]] = {}
        for file_path, items in findings.items():
            if not isinstance(items, list):
                raise config.ConfigError(f"{path}: findings of {file_path!r} must be a list")
            entries = []
            for item in items:
                try:
                    entry = Entry(
                        str(item["code"]),
                        str(item["hash"]),
                        int(item["occurrence"]),
                        str(item.get("message", "")),
                    )
                except (KeyError, TypeError, ValueError):
                    raise config.ConfigError(
                        f"{path}: bad entry for {file_path!r}: {item!r} (needs code, hash, "
                        "occurrence)"
                    ) from None
                entries.append(entry)
            files[str(file_path)] = entries
        return cls(path, files, int(version))

    @classmethod
    def load(cls, path: Path) -> Baseline:
        """Read ``path`` (cached while the file is unchanged)."""
        absolute = Path(os.path.abspath(path))
        try:
            stat = absolute.stat()
        except OSError as error:
            raise config.ConfigError(f"{path}: cannot read the baseline: {error}") from None
        return _load_cached(str(absolute), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int) -> Baseline:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeError) as error:
        raise config.ConfigError(f"{path}: cannot read the baseline: {error}") from None
    return Baseline.parse(Path(path), text)


def discover(start: Path) -> Path | None:
    """The nearest baseline file in ``start`` or one of its parents."""
    for directory in (start, *start.parents):
        candidate = directory / BASELINE_NAME
        if candidate.is_file():
            return candidate
    return None


def baseline_path(filename: str, option: str) -> Path | None:
    """The baseline file that applies to ``filename`` given the ``baseline`` option value.

    ``off``: none. A path: that file, when it exists (relative to the current directory).
    Empty: the nearest ``.djguide-baseline.json`` walking up from the checked file.
    """
    option = option.strip()
    if option.lower() == OFF:
        return None
    if option:
        path = Path(os.path.abspath(option))
        return path if path.is_file() else None
    return discover(config.directory_of(filename))


def suppress(
    findings: list[Finding],
    lines: Sequence[str],
    filename: str,
    settings: config.Settings,
    tree: ast.AST | None = None,
) -> list[Finding]:
    """``findings`` without the ones recorded in the applicable baseline.

    Called by the plugin on each file's findings, in the order the engine gives them
    (by position), with flake8's ``ast`` ``tree`` of the file when there is one (else the
    lines are parsed, only when the baseline has entries for the file). Raises
    :class:`config.ConfigError` for an unreadable baseline.
    """
    if not findings:
        return findings
    path = baseline_path(filename, str(settings.get("baseline")))
    if path is None:
        return findings
    baseline = Baseline.load(path)
    known = baseline.keys.get(relative_to(filename, baseline.directory))
    if not known:
        return findings
    counts: dict[tuple[str, str], int] = {}
    kept = []
    scopes = Scopes.of_lines(lines, tree) if baseline.version != 1 else None
    for finding in sorted(findings, key=lambda f: (f.line, f.col, f.code)):
        if not baselinable(finding.code):
            kept.append(finding)
            continue
        digest = fingerprint(lines, finding.line, scopes, finding.code)
        occurrence = counts.get((finding.code, digest), 0) + 1
        counts[(finding.code, digest)] = occurrence
        if (finding.code, digest, occurrence) not in known:
            kept.append(finding)
    return kept


# -- the command -----------------------------------------------------------------------------


def read_lines(filename: str) -> list[str]:
    """A file's lines as flake8 reads them (its declared encoding, else latin-1)."""
    try:
        with tokenize.open(filename) as handle:
            return handle.readlines()
    except (SyntaxError, UnicodeError):
        with open(filename, encoding="latin-1") as handle:
            return handle.readlines()


@dataclass
class Collected:
    """What one flake8 run reported."""

    checked: list[str]  # every file flake8 checked
    findings: dict[str, list[tuple[int, int, str, str]]]  # filename -> (line, col, code, text)


def collect(flake8_argv: Sequence[str]) -> tuple[Collected, int]:
    """Run flake8 in this process with ``flake8_argv``; its findings and its exit status."""
    from flake8 import exceptions
    from flake8.formatting.base import BaseFormatter
    from flake8.main.application import Application

    collected = Collected([], {})

    class Collector(BaseFormatter):  # type: ignore[misc]
        """Keeps what flake8 reports instead of printing it."""

        def start(self) -> None:
            """No output file."""

        def beginning(self, filename: str) -> None:
            collected.checked.append(filename)

        def handle(self, error: Any) -> None:
            collected.findings.setdefault(error.filename, []).append(
                (error.line_number, error.column_number, error.code, error.text)
            )

        def format(self, error: Any) -> str | None:
            return None

        def show_statistics(self, statistics: Any) -> None:
            """Nothing."""

        def show_benchmarks(self, benchmarks: Any) -> None:
            """Nothing."""

        def stop(self) -> None:
            """Nothing to close."""

    class Run(Application):  # type: ignore[misc]
        def make_formatter(self) -> None:
            assert self.options is not None
            self.formatter = Collector(self.options)

    app = Run()
    try:
        app._run(list(flake8_argv))
    except exceptions.ExecutionError as error:
        sys.stderr.write(f"djguide baseline: flake8 could not run: {error}\n")
        return collected, 1
    except exceptions.EarlyQuit:
        return collected, 1
    return collected, 1 if app.catastrophic_failure else 0


def configured_target(flake8_argv: Sequence[str]) -> Path | None:
    """The baseline file your configuration names, else the one the plugin would find.

    ``None`` when the ``baseline`` option is ``off``.
    """
    from flake8.options.parse_args import parse_args

    _plugins, options = parse_args(list(flake8_argv))
    value = str(config.resolve("", config.flake8_overrides(options)).get("baseline")).strip()
    if value.lower() == OFF:
        return None
    if value:
        return Path(os.path.abspath(value))
    found = discover(Path.cwd())
    return found if found is not None else Path.cwd() / BASELINE_NAME


def build(
    target: Path,
    collected: Collected,
    previous: Baseline | None,
    prune: bool,
) -> Baseline:
    """The new baseline: this run's findings, or with ``prune`` the previous ones still found.

    Entries of files this run did not check (other paths) are kept as they were; entries of
    files that no longer exist are dropped. A previous baseline of format 1 is converted:
    its entries are matched with format-1 fingerprints and written in the current format,
    which needs every file it names to be checked (:class:`config.ConfigError` otherwise).
    """
    directory = target.parent
    legacy = previous is not None and previous.version == 1
    current: dict[str, list[Entry]] = {}
    # with a format-1 previous baseline: the same findings' format-1 fingerprints, in order
    old_current: dict[str, list[Entry]] = {}
    for filename, findings in collected.findings.items():
        kept = [f for f in findings if baselinable(f[2])]
        if not kept or filename in ("-", "stdin"):
            continue
        lines = read_lines(filename)
        path = relative_to(filename, directory)
        current[path] = entries_for(kept, lines)
        if legacy:
            old_current[path] = entries_for(kept, lines, version=1)
    checked = {relative_to(name, directory) for name in collected.checked}

    def in_scope(path: str) -> bool:
        return path in checked or not (directory / path).exists()

    files: dict[str, list[Entry]] = {}
    for path, entries in (previous.files if previous else {}).items():
        if not in_scope(path):
            if legacy:
                raise config.ConfigError(
                    f"{target}: a baseline of format 1 is converted to format "
                    f"{FORMAT_VERSION} for all its files at once, and {path} was not "
                    "checked; run `djguide baseline` (or `--prune`) on the whole project"
                )
            files[path] = entries
        elif prune:
            if legacy:
                known = {entry.key for entry in entries}
                pairs = zip(current.get(path, []), old_current.get(path, []))
                still = [new for new, old in pairs if old.key in known]
            else:
                found = {entry.key for entry in current.get(path, [])}
                still = [entry for entry in entries if entry.key in found]
            if still:
                files[path] = still
    if not prune:
        files.update(current)
    return Baseline(target, files)


def _note_unparsable(collected: Collected) -> None:
    """Name the files flake8 could not parse (``E999``): a baseline cannot hold them."""
    from flake8_djguide.syntax import with_syntax_hint

    for filename, findings in sorted(collected.findings.items()):
        for line, _col, code, text in findings:
            if code == "E999":
                sys.stderr.write(
                    f"djguide baseline: {filename}:{line}: {code} "
                    f"{with_syntax_hint(text, filename, None)}: not recorded (a baseline "
                    "holds DJG findings only), so flake8 still reports it\n"
                )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="djguide baseline",
        allow_abbrev=False,  # flake8's own options (--filename=...) pass through untouched
        description=(
            "Record the current DJG findings in a baseline file, so that flake8-djguide "
            "reports only new ones. Runs flake8 with your configuration; other flake8 "
            "options (as --name=value) are passed on to it."
        ),
    )
    parser.add_argument("paths", nargs="*", help="files and directories to check (default: .)")
    parser.add_argument(
        "--prune",
        action="store_true",
        help="only drop entries that no longer match a finding; add no new findings",
    )
    parser.add_argument(
        "--file",
        help=(
            "the baseline file to write (default: the 'baseline' option, else the nearest "
            f"{BASELINE_NAME} walking up from here, else ./{BASELINE_NAME})"
        ),
    )
    return parser


def _read_existing(target: Path) -> tuple[bytes, Baseline | None]:
    """The bytes of the existing file ``target`` and the baseline they hold (``None`` when
    the file is empty); :class:`config.ConfigError` when it is not a baseline, so that it
    is never overwritten."""
    from flake8_djguide import safe_write

    try:
        data, _ = safe_write.read_regular(str(target))
    except OSError as error:
        raise config.ConfigError(f"{target}: cannot be the baseline: {error}") from None
    if not data.strip():
        return data, None
    try:
        text = data.decode("utf-8")
    except UnicodeError as error:
        raise config.ConfigError(f"{target}: not a flake8-djguide baseline: {error}") from None
    return data, Baseline.parse(target, text)


def main(argv: Sequence[str] | None = None) -> int:
    """``djguide baseline [--prune] [--file FILE] [PATHS] [flake8 options]``."""
    from flake8.exceptions import ExecutionError

    args, flake8_options = _parser().parse_known_args(argv)
    user_argv = [*flake8_options, *args.paths]
    try:
        target = Path(os.path.abspath(args.file)) if args.file else configured_target(user_argv)
    except (config.ConfigError, ExecutionError) as error:
        sys.stderr.write(f"djguide baseline: error: {error}\n")
        return 2
    if target is None:
        sys.stderr.write(
            "djguide baseline: the 'baseline' option is 'off'; name a file with --file\n"
        )
        return 2
    previous = None
    expected = None
    if os.path.lexists(target):
        try:
            expected, previous = _read_existing(target)
        except config.ConfigError as error:
            sys.stderr.write(f"djguide baseline: {error}; it was left alone\n")
            return 2
    collected, status = collect([*flake8_options, f"--djguide-baseline={OFF}", *args.paths])
    if status:
        sys.stderr.write("djguide baseline: flake8 failed; the baseline was not written\n")
        return status
    _note_unparsable(collected)
    try:
        new = build(target, collected, previous, args.prune)
    except config.ConfigError as error:
        sys.stderr.write(f"djguide baseline: {error}\n")
        return 2
    try:
        new.write(expected)
    except OSError as error:
        sys.stderr.write(f"djguide baseline: {target}: not written: {error}\n")
        return 1
    before = previous.count() if previous else 0
    verb = "pruned" if args.prune else "wrote"
    sys.stdout.write(
        f"djguide baseline: {verb} {target} ({new.count()} findings in {len(new.files)} "
        f"files; {before} before)\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
