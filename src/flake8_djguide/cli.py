"""The ``djguide`` command (also ``python -m flake8_djguide``).

``djguide check [FLAKE8 ARGS]``
    Run flake8 with the DJG rules the project selects (a convenience: flake8
    stays the primary interface).
``djguide fix [PATHS] [--diff] [--select ...] [--ignore ...] [--unsafe-fixes]
[--include-baselined]``
    Apply fixes, print the findings left and a summary; exit 1 when findings
    remain (or, with ``--diff``, when something would change). Baselined
    findings are left alone unless ``--include-baselined``. ``--show-fixes``
    lists the fixes per file, ``--statistics`` counts the findings left per code
    instead of listing them, and ``djguide fix -`` fixes standard input and writes
    the code to standard output (``--stdin-filename`` names the file it is).
``djguide noqa [PATHS]``
    Add ``# noqa: DJGxxx`` to the line of every finding flake8 reports.
``djguide explain CODE``
    Print a rule's documentation.
``djguide rules``
    List the rules: code, name, default on or opt-in, fix.

Which codes ``check`` and ``fix`` use: exactly the ones flake8 reports with the
project's configuration (``select``/``ignore``/``extend-*``/``per-file-ignores``,
decided by flake8's own style guide: :mod:`flake8_djguide.selection`); an opt-in
rule only when its full code is selected. ``# noqa`` and the baseline apply as in
flake8.

Importing this module is cheap: flake8 and libcst are imported only by the
commands that need them, so ``rules`` and ``explain`` never load libcst.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import os
import sys
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flake8_djguide import __version__

if TYPE_CHECKING:
    from flake8_djguide.selection import Selection

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

#: What ``djguide check`` reports (unless its arguments choose codes): the plugin's
#: findings (``DJG000``: a file it could not check) and files flake8 could not read
#: or parse (``E902``, ``E999``).
_REPORTED = ("DJG", "E9")
_SELECT_FLAGS = ("--select", "--extend-select", "--ignore", "--extend-ignore")

_CHECK_HELP = """\
usage: djguide check [FLAKE8 ARGS ...]

Run flake8 with the DJG rules. Every argument goes to flake8 (paths, --max-line-length,
--format, ...), which decides what to report from your configuration (select, ignore,
extend-select, extend-ignore, per-file-ignores, # noqa) and the baseline, exactly as a
plain flake8 run. Of that, djguide check shows the DJG findings and E9 (files flake8
could not read or parse), unless you pass --select, --extend-select, --ignore or
--extend-ignore: then it shows what flake8 shows.
"""


def _out(text: str) -> None:
    sys.stdout.write(text)


def _err(text: str) -> None:
    sys.stderr.write(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``djguide`` command; return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "check":
        if args[1:] and args[1] in ("-h", "--help"):
            _out(_CHECK_HELP)
            return EXIT_OK
        return run_check(args[1:])
    if args and args[0] == "baseline":
        from flake8_djguide import baseline

        return baseline.main(args[1:])
    if args and args[0] == "noqa":
        from flake8_djguide import noqa

        return noqa.main(args[1:])
    if args and args[0] == "server":
        from flake8_djguide import server

        return server.main(args[1:])
    parser = build_parser()
    try:
        namespace = parser.parse_args(args)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if namespace.command == "fix":
        return run_fix(
            namespace.paths,
            diff=namespace.diff,
            select=namespace.select,
            ignore=namespace.ignore,
            unsafe=namespace.unsafe_fixes,
            quiet=namespace.quiet,
            include_baselined=namespace.include_baselined,
            show_fixes=namespace.show_fixes,
            statistics=namespace.statistics,
            stdin_filename=namespace.stdin_filename,
        )
    if namespace.command == "explain":
        return run_explain(namespace.code)
    return run_rules()


def _code_list(value: str) -> list[str]:
    codes = [part.strip().upper() for part in value.split(",")]
    return [code for code in codes if code]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``check`` hands its arguments to flake8 untouched)."""
    parser = argparse.ArgumentParser(
        prog="djguide",
        description="flake8-djguide: check and fix Django code against the team's guide.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "check",
        help="run flake8 with the DJG rules (arguments go to flake8; see 'djguide check -h')",
        add_help=False,
    )
    fix = commands.add_parser(
        "fix",
        help="apply fixes, then report what is left",
        description="Apply the rules' fixes in place, print the findings left and a summary. "
        "Exits 1 when findings remain (with --diff: also when something would change). "
        "'djguide fix -' reads the code from standard input and writes the fixed code to "
        "standard output (findings and summary go to standard error). When ruff is "
        "installed, a file whose imports a fix rewrote gets the project's own "
        "'ruff check --select I --fix', so its imports stay sorted.",
    )
    fix.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="files or directories")
    fix.add_argument("--diff", action="store_true", help="print a unified diff; write nothing")
    fix.add_argument(
        "--select",
        type=_code_list,
        action="extend",
        metavar="CODES",
        help="fix and report only these codes or prefixes (comma-separated); replaces the "
        "configuration's select and extend-select. Opt-in rules need their full code.",
    )
    fix.add_argument(
        "--ignore",
        type=_code_list,
        action="extend",
        metavar="CODES",
        help="leave out these codes or prefixes (comma-separated; added to extend-ignore)",
    )
    fix.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="also apply fixes that may change behaviour",
    )
    fix.add_argument(
        "--include-baselined",
        action="store_true",
        help="also fix and report the findings recorded in the baseline (left alone by default, "
        "as 'djguide check' does not report them)",
    )
    fix.add_argument(
        "-q", "--quiet", action="store_true", help="print only the summary, not the findings left"
    )
    fix.add_argument(
        "--show-fixes",
        action="store_true",
        help="list the fixes applied in each file (code, count, rule name)",
    )
    fix.add_argument(
        "--statistics",
        action="store_true",
        help="count the findings left per code instead of listing them",
    )
    fix.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="with PATH '-': the file standard input is (for the configuration, the file's "
        "context and the import order)",
    )
    commands.add_parser(
        "baseline",
        help="record current findings in .djguide-baseline.json "
        "(see 'djguide baseline -h'; --prune drops stale entries)",
        add_help=False,
    )
    commands.add_parser(
        "noqa",
        help="add '# noqa: DJGxxx' on the line of every current finding (see 'djguide noqa -h')",
        add_help=False,
    )
    commands.add_parser(
        "server",
        help="'djguide server status' or 'stop': the check server of the 'server' option "
        "(see 'djguide server -h')",
        add_help=False,
    )
    explain = commands.add_parser("explain", help="print a rule's documentation")
    explain.add_argument("code", metavar="CODE", help="a rule code (DJG201) or name")
    commands.add_parser("rules", help="list the rules")
    return parser


# -- rules and explain ----------------------------------------------------------------------


def run_rules() -> int:
    """Print one line per rule: code, name, default, fix."""
    from flake8_djguide.registry import all_rules

    rows = [("code", "name", "default", "fix")]
    for rule in all_rules():
        rows.append((rule.CODE, rule.NAME, "opt-in" if rule.OPT_IN else "on", rule.FIX or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        _out("  ".join([*cells, row[3]]) + "\n")
    return EXIT_OK


def run_explain(code: str) -> int:
    """Print the documentation of the rule ``code`` (a code or a rule name)."""
    from flake8_djguide.docs import render_rule
    from flake8_djguide.registry import all_rules

    wanted = code.strip()
    for rule in all_rules():
        if wanted.upper() == rule.CODE or wanted.lower() == rule.NAME:
            _out(render_rule(rule))
            return EXIT_OK
    _err(f"djguide: no rule {code!r}; 'djguide rules' lists them\n")
    return EXIT_USAGE


# -- configuration --------------------------------------------------------------------------


class UsageError(Exception):
    """Bad arguments or configuration: reported on one line, exit status 2."""


def flake8_options(argv: Sequence[str], quiet: bool = False) -> argparse.Namespace:
    """flake8's options for ``argv`` (its configuration files, plugins' options included)."""
    from flake8.options.parse_args import parse_args

    sink = io.StringIO()
    try:
        with contextlib.ExitStack() as stack:
            if quiet:  # flake8 prints (--help, --version, warnings) when it runs for real
                stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
                stack.enter_context(contextlib.redirect_stderr(sink))
            _, parsed = parse_args(list(argv))
    except SystemExit as exit_:
        raise UsageError(sink.getvalue().strip() or f"flake8 stopped ({exit_.code})") from None
    except Exception as error:
        raise UsageError(f"{type(error).__name__}: {error}") from None
    options: argparse.Namespace = parsed
    return options


def check_codes(codes: Sequence[str]) -> None:
    """Raise :class:`UsageError` for a code or prefix no flake8-djguide rule has."""
    from flake8_djguide.registry import all_rules

    known = [rule.CODE for rule in all_rules()]
    for prefix in codes:
        if not any(code.startswith(prefix) for code in known):
            raise UsageError(
                f"no flake8-djguide rule matches {prefix!r}; 'djguide rules' lists them"
            )


def fix_options(
    options: argparse.Namespace,
    select: Sequence[str] | None,
    ignore: Sequence[str] | None,
) -> argparse.Namespace:
    """flake8's ``options`` with ``djguide fix``'s own ``--select`` and ``--ignore``.

    ``--select`` replaces the configured ``select`` and ``extend-select`` (as
    ``flake8 --select`` does in a configuration without ``extend-select``);
    ``--ignore`` adds to ``extend-ignore``. flake8's decision, per-file ignores
    included, then applies to the result (:mod:`flake8_djguide.selection`).
    """
    check_codes([*(select or []), *(ignore or [])])
    options = argparse.Namespace(**vars(options))
    if select:
        options.select = list(select)
        options.extend_select = []
    if ignore:
        options.extend_ignore = [*(getattr(options, "extend_ignore", None) or []), *ignore]
    return options


def warn_if_djg_left_out(selection: Selection, command: str) -> None:
    """Say so when the configured ``select`` list leaves out every DJG code."""
    if selection.leaves_out_djg():
        listed = ",".join(selection.options.select or []) if selection.options else ""
        _err(
            f"djguide {command}: warning: your flake8 'select' ({listed}) names no DJG code, so "
            "flake8 reports none and there is nothing to do; add DJG to it, or "
            "'extend-select = DJG' (the default set)\n"
        )


def discover_files(options: argparse.Namespace, paths: Sequence[str]) -> list[str]:
    """The Python files under ``paths``, with flake8's ``exclude``/``filename`` settings."""
    from flake8.discover_files import expand_paths

    found = expand_paths(
        paths=list(paths),
        stdin_display_name=getattr(options, "stdin_display_name", "stdin"),
        filename_patterns=options.filename,
        exclude=[*options.exclude, *(getattr(options, "extend_exclude", None) or [])],
    )
    return sorted(dict.fromkeys(path for path in found if path != "-"))


# -- check ------------------------------------------------------------------------------------


def run_check(args: Sequence[str]) -> int:
    """Run flake8 in this process with ``args``; report its DJG and E9 findings; return its status.

    flake8 decides, with the project's configuration and ``args``, what it reports
    (:mod:`flake8_djguide.selection` runs exactly the rules it would report); of that,
    only ``DJG`` codes and ``E9`` (files that could not be checked) are kept, unless
    ``args`` choose codes themselves (``--select``, ``--ignore``, ...).
    """
    argv = list(args)
    only_djg = not any(arg.split("=", 1)[0] in _SELECT_FLAGS for arg in argv)
    app = _check_application(only_djg)
    try:
        app.run(argv)
    except SystemExit as exit_:  # --version, --help, bad flake8 arguments
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    return int(app.exit_code())


def _check_application(only_djg: bool) -> Any:
    """flake8's application, its reports filtered to ``DJG``/``E9`` codes when ``only_djg``.

    An ``E999`` gets a hint when the file is in syntax newer than this Python's.
    """
    from flake8.main.application import Application

    class Check(Application):  # type: ignore[misc]
        def make_guide(self) -> None:
            super().make_guide()
            from flake8_djguide.selection import Selection
            from flake8_djguide.syntax import with_syntax_hint

            if only_djg:
                warn_if_djg_left_out(Selection(self.options), "check")
            guide = self.guide
            report = guide.handle_error
            options = self.options

            def handle_error(
                code: str,
                filename: str,
                line_number: int,
                column_number: int,
                text: str,
                physical_line: str | None = None,
            ) -> int:
                if only_djg and not code.startswith(_REPORTED):
                    return 0
                if code == "E999":
                    text = with_syntax_hint(text, filename, options)  # imports libcst
                return int(report(code, filename, line_number, column_number, text, physical_line))

            guide.handle_error = handle_error

    return Check()


# -- fix --------------------------------------------------------------------------------------


def unified_diff(path: str, before: str, after: str) -> str:
    """A ``git apply``-able unified diff of one file."""
    from flake8_djguide.fix import split_lines

    shown = os.path.normpath(path).replace(os.sep, "/")
    lines = []
    for line in difflib.unified_diff(
        split_lines(before), split_lines(after), f"a/{shown}", f"b/{shown}"
    ):
        if line.endswith(("\n", "\r")):
            lines.append(line)
        else:
            lines.append(line + "\n\\ No newline at end of file\n")
    return "".join(lines)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _by_code(counts: Counter[str]) -> str:
    return ", ".join(f"{code} {counts[code]}" for code in sorted(counts))


def _show_fixes(fixed: dict[str, Counter[str]]) -> str:
    """ruff's ``--show-fixes`` listing: per file, how many of each code were fixed."""
    from flake8_djguide.registry import by_code

    if not fixed:
        return ""
    names = {code: rule.NAME for code, rule in by_code().items()}
    total = sum(sum(counts.values()) for counts in fixed.values())
    lines = [f"Fixed {_plural(total, 'finding')}:\n"]
    for path in sorted(fixed):
        lines.append(f"- {path}:\n")
        for code in sorted(fixed[path]):
            lines.append(f"    {fixed[path][code]} \u00d7 {code} ({names.get(code, '')})\n")
    return "".join(lines)


def _statistics(left: Counter[str], fixable: Counter[str], unsafe: Counter[str]) -> str:
    """ruff's ``--statistics``: count, code, ``[*]`` fixable / ``[-]`` with unsafe fixes, name."""
    from flake8_djguide.registry import by_code

    names = {code: rule.NAME for code, rule in by_code().items()}
    if not left:
        return ""
    width = len(str(max(left.values())))
    rows = []
    for code, count in sorted(left.items(), key=lambda item: (-item[1], item[0])):
        mark = "[*]" if fixable[code] else "[-]" if unsafe[code] else "[ ]"
        rows.append(f"{count:>{width}}\t{code}\t{mark} {names.get(code, '')}\n")
    return "".join(rows)


def run_fix(
    paths: Sequence[str],
    *,
    diff: bool = False,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    unsafe: bool = False,
    quiet: bool = False,
    include_baselined: bool = False,
    show_fixes: bool = False,
    statistics: bool = False,
    stdin_filename: str | None = None,
) -> int:
    """Fix the files under ``paths``; print findings left and a summary; return the status.

    Findings the baseline records are neither fixed nor reported nor counted, as in
    ``djguide check``, unless ``include_baselined``. ``paths == ["-"]``: fix standard
    input (as ``stdin_filename``) and write the fixed code (or with ``diff`` the diff) to
    standard output; everything else goes to standard error.
    """
    from flake8_djguide import baseline, config, safe_write
    from flake8_djguide.fix import SourceError, decode_source, encode_source, fix_source
    from flake8_djguide.importsort import ImportSorter, find_ruff, imports_changed
    from flake8_djguide.selection import Selection

    use_stdin = "-" in paths
    if use_stdin and len(paths) > 1:
        _err("djguide: error: '-' (standard input) cannot be mixed with other paths\n")
        return EXIT_USAGE
    if stdin_filename is not None and not use_stdin:
        _err("djguide: error: --stdin-filename needs the path '-' (standard input)\n")
        return EXIT_USAGE
    try:
        flake8_argv = [] if use_stdin else list(paths)
        options = fix_options(flake8_options(flake8_argv), select, ignore)
        overrides = config.flake8_overrides(options)
    except (UsageError, config.ConfigError) as error:
        _err(f"djguide: error: {error}\n")
        return EXIT_USAGE
    if include_baselined:
        overrides["baseline"] = baseline.OFF
    selection = Selection(options)
    warn_if_djg_left_out(selection, "fix")
    disable_noqa = bool(getattr(options, "disable_noqa", False))
    line_length = getattr(options, "max_line_length", None)
    line_length = line_length if isinstance(line_length, int) and line_length > 0 else None
    report = _out if not diff and not use_stdin else _err
    sorter = ImportSorter(find_ruff())

    applied: Counter[str] = Counter()
    fixed_by_file: dict[str, Counter[str]] = {}
    left_by_code: Counter[str] = Counter()
    fixable_by_code: Counter[str] = Counter()
    unsafe_by_code: Counter[str] = Counter()
    imports_rewritten = 0
    changed = left = unsafe_left = skipped = baselined = 0
    roots = safe_write.real_roots([] if use_stdin else paths)
    if use_stdin:
        shown = stdin_filename or getattr(options, "stdin_display_name", None) or "stdin"
        targets = [shown]
    else:
        targets = discover_files(options, paths)
    for path in targets:
        rules = selection.rules_for(path)
        data = b""
        try:
            if use_stdin:
                data = sys.stdin.buffer.read()
            elif not rules:
                continue
            else:
                data, _ = safe_write.read_regular(path, roots)
            text, encoding = decode_source(data)
            if not rules:  # standard input with no rule to run: the code goes back as it came
                sys.stdout.buffer.write(data)
                continue
            settings = config.resolve(path, overrides)
            result = fix_source(
                text,
                path,
                rules,
                settings,
                unsafe=unsafe,
                disable_noqa=disable_noqa,
                line_length=line_length,
            )
            if result.error is not None:
                _err(f"{path}: skipped: {result.error.split(' ', 1)[1]}\n")
                skipped += 1
                if use_stdin and not diff:
                    sys.stdout.buffer.write(data)
                continue
            source = result.source
            if result.changed and imports_changed(text, source):
                imports_rewritten += 1
                source = sorter.sort(path, text, source)
                if source != result.source:  # lines moved: find what is left where it is now
                    again = fix_source(
                        source,
                        path,
                        rules,
                        settings,
                        unsafe=unsafe,
                        disable_noqa=disable_noqa,
                        line_length=line_length,
                    )
                    if again.error is None and not again.applied:
                        result.remaining = again.remaining
                        result.unsafe_available = again.unsafe_available
            new_data = encode_source(source, encoding) if source != text else data
        except (OSError, SourceError, config.ConfigError) as error:
            _err(f"{path}: skipped: {error}\n")
            skipped += 1
            if use_stdin and not diff:
                sys.stdout.buffer.write(data)
            continue
        except Exception as error:  # a bug must not stop the other files from being fixed
            _err(f"{path}: skipped: internal error ({type(error).__name__}: {error})\n")
            skipped += 1
            if use_stdin and not diff:
                sys.stdout.buffer.write(data)
            continue
        for problem in result.problems:
            _err(f"{path}: {problem}\n")
        if use_stdin and not diff:
            sys.stdout.buffer.write(new_data)
            sys.stdout.flush()
        if new_data != data:
            if diff:
                _out(unified_diff(path, text, source))
            elif not use_stdin:
                try:
                    safe_write.replace(path, new_data, expected=data, roots=roots)
                except OSError as error:
                    why = "skipped" if isinstance(error, safe_write.RefusedError) else "not written"
                    _err(f"{path}: {why}: {error}\n")
                    skipped += 1
                    continue
            changed += 1
        applied += result.applied
        if result.applied:
            fixed_by_file[path] = result.applied
        left += len(result.remaining)
        baselined += result.baselined
        unsafe_left += result.unsafe_available
        for finding in result.remaining:
            left_by_code[finding.code] += 1
            if finding.fix is not None:
                (unsafe_by_code if finding.unsafe_fix else fixable_by_code)[finding.code] += 1
        if not quiet and not statistics:
            for finding in result.remaining:
                report(f"{path}:{finding.line}:{finding.col + 1}: {finding.message}\n")

    for failure in sorter.failures:
        _err(f"{failure}\n")
    if statistics:
        report(_statistics(left_by_code, fixable_by_code, unsafe_by_code))
    if show_fixes:
        report(_show_fixes(fixed_by_file))
    total = sum(applied.values())
    verb = "would fix" if diff else "fixed"
    summary = f"{verb.capitalize()} {_plural(total, 'finding')} in {_plural(changed, 'file')}"
    summary += f" ({_by_code(applied)}).\n" if total else ".\n"
    if imports_rewritten and (sorter.ruff is None or sorter.sorted_files):
        if sorter.ruff is None:
            summary += (
                f"Imports rewritten in {_plural(imports_rewritten, 'file')} were not re-sorted "
                "(ruff not found); run your import sorter on them.\n"
            )
        else:
            summary += (
                f"Imports re-sorted in {_plural(sorter.sorted_files, 'file')} by ruff "
                "(ruff check --select I --fix, with your ruff configuration).\n"
            )
    summary += f"{_plural(left, 'finding')} left"
    if unsafe_left:
        summary += f" ({unsafe_left} fixable with --unsafe-fixes)"
    summary += ".\n"
    if baselined:
        summary += (
            f"{_plural(baselined, 'baselined finding')} left alone "
            "(--include-baselined fixes them).\n"
        )
    if skipped:
        summary += f"{_plural(skipped, 'file')} skipped.\n"
    report(summary)
    if left or skipped or (diff and changed):
        return EXIT_FINDINGS
    return EXIT_OK
