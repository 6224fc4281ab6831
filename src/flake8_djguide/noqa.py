"""``djguide noqa``: silence every current finding in the code, as ruff's ``--add-noqa``.

For teams that prefer in-line suppressions to a baseline file. Runs flake8 with your
configuration (and the DJG codes ``djguide check`` uses, unless you pass ``--select`` and
friends yourself) and writes ``# noqa: DJGxxx`` on the line of every ``DJG`` finding it
reports, so that the next run reports none of them:

* An existing ``# noqa: CODES`` comment on that line gets the new codes added (sorted, no
  duplicates); a bare ``# noqa`` already silences everything and is left alone; another
  comment (``# type: ignore``, an explanation) is kept and the directive goes after it.
* A finding on a line that cannot end with a comment (inside a multi-line string, a line
  continued with a backslash) gets it on the next line that can, the end of the same
  statement, where flake8 finds it too (it reads ``# noqa`` on every line of a statement).
* Findings flake8 does not report (baselined ones, by default) get none; pass
  ``--djguide-baseline=off`` to silence those too, and then delete the baseline.

``DJG000`` (a file the plugin could not check) is never silenced. Files are rewritten
atomically, in their own encoding and line endings.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tokenize
from collections.abc import Sequence

#: What separates the codes of a noqa comment (flake8's ``[,\s]+``).
_SEPARATORS = re.compile(r"[,\s]+")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="djguide noqa",
        allow_abbrev=False,
        description=(
            "Add '# noqa: DJGxxx' to the line of every DJG finding flake8 reports, merging "
            "with existing noqa comments. Runs flake8 with your configuration; other flake8 "
            "options (as --name=value) are passed on to it. Baselined findings are not "
            "reported, so they get no comment unless you pass --djguide-baseline=off."
        ),
    )
    parser.add_argument("paths", nargs="*", help="files and directories (default: .)")
    return parser


def comment_rows(text: str) -> list[int] | None:
    """The 1-based rows whose end may hold a comment, sorted (``None``: not tokenizable)."""
    rows = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT):
                rows.add(token.start[0])
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    return sorted(rows)


def _comments(text: str) -> dict[int, int]:
    """The column where the comment of each row starts."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.start[1]
    return found


def add_directives(text: str, findings: Sequence[tuple[int, str]]) -> tuple[str, int]:
    """``text`` with ``# noqa: CODE`` for each ``(line, code)``, and how many were added."""
    from flake8.defaults import NOQA_INLINE_REGEXP

    from flake8_djguide.fix import split_lines

    rows = comment_rows(text)
    if rows is None or not findings:
        return text, 0
    wanted: dict[int, set[str]] = {}
    for line, code in findings:
        target = next((row for row in rows if row >= line), None)
        if target is not None:
            wanted.setdefault(target, set()).add(code)
    lines = split_lines(text)
    comments = _comments(text)
    added = 0
    for row, codes in wanted.items():
        if row > len(lines):
            continue
        raw = lines[row - 1]
        body = raw.rstrip("\r\n")
        ending = raw[len(body) :]
        column = comments.get(row)
        comment = body[column:] if column is not None else ""
        match = NOQA_INLINE_REGEXP.search(comment)
        if match is not None and not match.group("codes"):
            continue  # a bare noqa comment silences every code already
        if match is not None:
            present = [c for c in _SEPARATORS.split(match.group("codes")) if c]
            new = sorted(codes - set(present))
            if not new:
                continue
            directive = f"# noqa: {', '.join(sorted({*present, *new}))}"
            rest = comment[match.end() :].strip()
            comment = comment[: match.start()] + directive + (f"  {rest}" if rest else "")
            body = body[:column] + comment
            added += len(new)
        else:
            directive = f"# noqa: {', '.join(sorted(codes))}"
            body = f"{body.rstrip()}  {directive}"
            added += len(codes)
        lines[row - 1] = body + ending
    return "".join(lines), added


def main(argv: Sequence[str] | None = None) -> int:
    """``djguide noqa [PATHS] [flake8 options]``."""
    from flake8_djguide import baseline, safe_write
    from flake8_djguide.fix import SourceError, decode_source, encode_source

    args, passed = _parser().parse_known_args(argv)
    # flake8 decides the codes with the project's configuration, as a plain run does.
    collected, status = baseline.collect([*passed, *args.paths])
    roots = safe_write.real_roots(args.paths or ["."])
    if status:
        sys.stderr.write("djguide noqa: flake8 failed; nothing was changed\n")
        return status
    total = files = 0
    failed = False
    for filename in sorted(collected.findings):
        found = [
            (line, code)
            for line, _col, code, _text in collected.findings[filename]
            if baseline.baselinable(code) and line >= 1
        ]
        if not found or filename in ("-", "stdin"):
            continue
        try:
            data, _ = safe_write.read_regular(filename, roots)
            text, encoding = decode_source(data)
            new_text, added = add_directives(text, found)
            if added:
                safe_write.replace(
                    filename, encode_source(new_text, encoding), expected=data, roots=roots
                )
        except (OSError, SourceError) as error:
            sys.stderr.write(f"{filename}: not changed: {error}\n")
            failed = True
            continue
        if added:
            total += added
            files += 1
    plural = "" if total == 1 else "s"
    sys.stdout.write(
        f"djguide noqa: added {total} noqa directive{plural} in {files} "
        f"file{'' if files == 1 else 's'}.\n"
    )
    return 1 if failed else 0
