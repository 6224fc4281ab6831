"""Draw a reproducible stratified sample of findings on real projects (docs/precision.md).

Usage, from the repository root after the README's install command::

    python scripts/sample_findings.py --out docs/precision.md
    python scripts/sample_findings.py --per-code 4 --project wger=path/to/wger --out sample.md

For every project it runs flake8 with the rules that are on by default (``--isolated``,
so a project's own flake8 configuration changes nothing, and ``--select`` set to every
default-on code plus DJG000), then samples up to ``--per-code`` findings per code per
project. The sample is *bottom-k*: each finding gets the key
``sha256(seed, project, path, line, column, code)`` and the ``k`` smallest keys of a
(project, code) stratum are drawn. So the same findings give the same sample, and when a
rule changes, the findings it keeps stay in the sample (only the ones it dropped are
replaced), which lets a second measurement reuse the verdicts of the first.

The sample is written as markdown between ``<!-- sample:start -->`` and
``<!-- sample:end -->`` in ``--out`` (the rest of the file is kept): a summary table per
code (fired, sampled, correct, wrong, debatable) and one row per sampled finding with
``verdict`` and ``reason`` columns to fill in by hand (``correct``, ``wrong`` or
``debatable``). Verdicts already in the file are carried over to the rows of the same
finding (project, file, line, column, code) when its message is unchanged; when the
message changed, the old verdict is shown in the reason column to be read again.
``--review FILE`` writes the sampled findings that have no verdict yet, each with the code
around it, for reading.

``--codes`` restricts the run and the sample to some codes (docs/orm-sample.md samples the
N+1 rules only). ``--by-origin`` splits the strata of DJG201 by where the per-row read is
(told from the message): a Python loop, a template, an admin ``list_display`` column, an
admin inline, a syndication feed; so findings of each origin are drawn even where another
outnumbers them, and the tables give each origin its own row.

The projects are not fetched: each is a checkout of the repository and commit listed in
``PROJECTS`` under ``--cache`` (default ``bench/.cache/precision/<name>``, git-ignored),
or a path given with ``--project name=path``. ``--index-cache`` keeps the model index
caches of the runs in ``<dir>/<project>`` instead of in the checkouts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache" / "precision"
SEED = 18
PER_CODE = 8
BEGIN, END = "<!-- sample:start -->", "<!-- sample:end -->"
VERDICTS = ("correct", "wrong", "debatable")

#: name -> (GitHub repository, commit). Django + DRF applications the rules were not
#: written or tuned on.
PROJECTS: dict[str, tuple[str, str]] = {
    "babybuddy": ("babybuddy/babybuddy", "fa8bf4cd66ed149e23c215763a49a2f76dbcd2b7"),
    "doccano": ("doccano/doccano", "ab6b765ea326d07b2b806a4280cd097565e62321"),
    "librephotos": ("LibrePhotos/librephotos", "e675a0dc1000af0faa51c4e9411d6bea82e3ac1a"),
    "tubearchivist": ("tubearchivist/tubearchivist", "7dcb43f4367a7a2b8e44b01f352d88f664962c97"),
    "wger": ("wger-project/wger", "aaba20184527b018e10f1be576202aa7e7cb4c21"),
}

#: Where a DJG201 finding's per-row read is, in the order of the tables.
ORIGINS = ("loop", "template", "admin", "inline", "feed")
#: The origins that issue 21 added (no Python ``for`` statement shows their loop).
NON_PYTHON_ORIGINS = ("template", "admin", "inline", "feed")
_ORIGIN_LABELS = {
    "loop": "Python loop",
    "template": "template",
    "admin": "admin `list_display`",
    "inline": "admin inline",
    "feed": "feed",
}
_CODE = re.compile(r"DJG\d{3}")

_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>DJG\d{3}) (?P<text>.*)$")


@dataclass(frozen=True, order=True)
class Finding:
    """One flake8 finding of one project (path relative to the project root)."""

    project: str
    path: str
    line: int
    col: int
    code: str
    message: str
    source: str = ""

    @property
    def key(self) -> tuple[str, str, int, int, str]:
        """What identifies the finding across runs (the message may change)."""
        return (self.project, self.path, self.line, self.col, self.code)


@dataclass
class Verdict:
    """A hand-written verdict of one sampled finding."""

    message: str
    verdict: str
    reason: str


def origin(finding: Finding) -> str:
    """Where a DJG201 finding's read per row is, from its message (``""`` for other codes)."""
    if finding.code != "DJG201":
        return ""
    message = finding.message
    # a manager method whose rows a view lists: "the rows of `m()` are listed by `V`: template"
    if re.match(
        r"(the rows of `[^`]+` are listed by `[^`]+`[^:]*: )?template `[^`]+` reads ", message
    ):
        return "template"
    if message.startswith("`list_display` column "):
        return "admin"
    if message.startswith("inline `") or re.match(r"read-only field .* of inline `", message):
        return "inline"
    if message.startswith("feed `"):
        return "feed"
    return "loop"


def stratum(finding: Finding, by_origin: bool) -> tuple[str, str, str]:
    """The stratum a finding is drawn in: its project, code and (``by_origin``) origin."""
    return (finding.project, finding.code, origin(finding) if by_origin else "")


def parse_codes(text: str) -> list[str]:
    """The codes of ``--codes`` (comma-separated rule codes, e.g. ``DJG201,DJG202``)."""
    known = {"DJG000", *default_codes(), *_all_codes()}
    codes = [code.strip().upper() for code in text.split(",") if code.strip()]
    bad = [code for code in codes if not _CODE.fullmatch(code) or code not in known]
    if not codes or bad:
        shown = ", ".join(repr(code) for code in bad) if bad else "nothing"
        raise SystemExit(
            f"--codes must be a comma-separated list of rule codes such as DJG201,DJG202 "
            f"(DJG000 or a code of a rule of the plugin), not {shown}"
        )
    return list(dict.fromkeys(codes))


def _all_codes() -> list[str]:
    from flake8_djguide.registry import all_rules

    return [rule.CODE for rule in all_rules()]


def default_codes() -> list[str]:
    """DJG000 and every rule that is on by default."""
    from flake8_djguide.registry import all_rules

    return ["DJG000", *(rule.CODE for rule in all_rules() if not rule.OPT_IN)]


def parse_output(project: str, output: str) -> list[Finding]:
    """Findings from flake8's default output format."""
    findings = []
    for raw in output.splitlines():
        match = _LINE.match(raw)
        if match is None:
            continue
        path = match["path"].removeprefix("./")
        findings.append(
            Finding(
                project, path, int(match["line"]), int(match["col"]), match["code"], match["text"]
            )
        )
    return sorted(findings)


def with_source(findings: Iterable[Finding], root: Path) -> list[Finding]:
    """Each finding with its (stripped) source line."""
    lines: dict[str, list[str]] = {}
    result = []
    for finding in findings:
        if finding.path not in lines:
            try:
                text = (root / finding.path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            lines[finding.path] = text.splitlines()
        file_lines = lines[finding.path]
        source = file_lines[finding.line - 1].strip() if 0 < finding.line <= len(file_lines) else ""
        result.append(
            Finding(
                finding.project,
                finding.path,
                finding.line,
                finding.col,
                finding.code,
                finding.message,
                source,
            )
        )
    return result


def run_flake8(
    project: str, root: Path, codes: Sequence[str], jobs: int, index_cache: Path | None = None
) -> list[Finding]:
    """Run flake8 with ``codes`` on the whole project at ``root`` (the model index cached in
    ``index_cache`` when given)."""
    command = [
        sys.executable,
        "-m",
        "flake8",
        "--isolated",
        f"--select={','.join(codes)}",
        f"-j{jobs}",
    ]
    if index_cache is not None:
        command.append(f"--djguide-cache-dir={index_cache.resolve()}")
    command.append(".")
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1) or "Traceback" in done.stderr:
        raise SystemExit(f"flake8 failed on {project} ({root}):\n{done.stderr}")
    return with_source(parse_output(project, done.stdout), root)


def sample_key(finding: Finding, seed: int) -> str:
    """The finding's place in the draw: a hash of the seed and what identifies it."""
    project, path, line, col, code = finding.key
    return hashlib.sha256(f"{seed}|{project}|{path}|{line}|{col}|{code}".encode()).hexdigest()


def draw(
    findings: Iterable[Finding], per_code: int, seed: int, by_origin: bool = False
) -> list[Finding]:
    """Up to ``per_code`` findings of every (project, code), the smallest sample keys; with
    ``by_origin``, of every (project, code, origin) (:func:`origin`)."""
    strata: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        strata[stratum(finding, by_origin)].append(finding)
    sample: list[Finding] = []
    for drawn in strata.values():
        drawn.sort(key=lambda finding: sample_key(finding, seed))
        sample.extend(drawn[:per_code])
    return sorted(
        sample,
        key=lambda finding: (
            finding.code,
            finding.project,
            finding.path,
            finding.line,
            finding.col,
        ),
    )


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _uncell(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text.strip())


def _split_row(row: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", row.strip())
    return [_uncell(cell) for cell in cells[1:-1]]


def _code_span(text: str) -> str:
    text = text if len(text) <= 100 else text[:97] + "..."
    return f"`` {text} ``" if text else ""


def read_verdicts(text: str) -> dict[tuple[str, str, int, int, str], Verdict]:
    """Verdicts of the finding rows of a sample written by :func:`render`."""
    verdicts = {}
    for row in text.splitlines():
        if not row.startswith("| ") or row.startswith("| #"):
            continue
        cells = _split_row(row)
        if len(cells) != 8:
            continue
        _, project, location, code, message, _, verdict, reason = cells
        match = re.fullmatch(r"`(?P<path>.+):(?P<line>\d+):(?P<col>\d+)`", location)
        if match is None or not verdict:
            continue
        key = (project, match["path"], int(match["line"]), int(match["col"]), code)
        verdicts[key] = Verdict(message, verdict, reason)
    return verdicts


def carry_over(
    sample: Sequence[Finding], old: dict[tuple[str, str, int, int, str], Verdict]
) -> list[tuple[Finding, str, str]]:
    """Each sampled finding with its verdict and reason from ``old`` (or empty)."""
    rows = []
    for finding in sample:
        previous = old.get(finding.key)
        if previous is None:
            rows.append((finding, "", ""))
        elif previous.message == finding.message:
            rows.append((finding, previous.verdict, previous.reason))
        else:
            rows.append(
                (finding, "", f"(message changed; was {previous.verdict}: {previous.reason})")
            )
    return rows


def _label(finding: Finding, by_origin: bool) -> str:
    """The table row of a finding: its code, and with ``by_origin`` its DJG201 origin."""
    where = origin(finding) if by_origin else ""
    return f"{finding.code} {_ORIGIN_LABELS[where]}" if where else finding.code


def _order(label: str) -> tuple[str, int]:
    code, _, where = label.partition(" ")
    names = [_ORIGIN_LABELS[name] for name in ORIGINS]
    return (code, names.index(where) if where in names else -1)


def tally(
    findings: Sequence[Finding], rows: Sequence[tuple[Finding, str, str]], by_origin: bool = False
) -> dict[str, dict[str, int]]:
    """Per code (with ``by_origin``: per code and DJG201 origin, e.g. ``DJG201 feed``):
    fired, sampled, and the count of each verdict."""
    table: dict[str, dict[str, int]] = defaultdict(Counter)
    for finding in findings:
        table[_label(finding, by_origin)]["fired"] += 1
    for finding, verdict, _ in rows:
        label = _label(finding, by_origin)
        table[label]["sampled"] += 1
        if verdict in VERDICTS:
            table[label][verdict] += 1
    return {label: dict(table[label]) for label in sorted(table, key=_order)}


def _tally_row(label: str, count: Counter[str] | dict[str, int]) -> str:
    """One row of the per-code table: counts and precision (debatable counted as wrong)."""
    judged = sum(count.get(verdict, 0) for verdict in VERDICTS)
    precision = f"{100 * count.get('correct', 0) / judged:.0f}%" if judged else "-"
    return (
        f"| {label} | {count.get('fired', 0)} | {count.get('sampled', 0)} | "
        f"{count.get('correct', 0)} | {count.get('wrong', 0)} | "
        f"{count.get('debatable', 0)} | {precision} |"
    )


def render(
    findings: Sequence[Finding],
    rows: Sequence[tuple[Finding, str, str]],
    projects: Sequence[str],
    per_code: int,
    seed: int,
    by_origin: bool = False,
) -> str:
    """The markdown of the sample: summary tables, then one row per sampled finding.

    With ``by_origin`` each DJG201 origin has its own row (and DJG201 a total row), and a
    row sums the origins no Python loop shows (templates, admin, feeds), with their share
    of the DJG201 findings."""
    counts = tally(findings, rows, by_origin)
    per_project: dict[str, Counter[str]] = defaultdict(Counter)
    for finding in findings:
        per_project[_label(finding, by_origin)][finding.project] += 1
    strata = "per code and DJG201 origin per project" if by_origin else "per code per project"
    out = [
        BEGIN,
        "",
        f"Projects: {', '.join(projects)}. Seed {seed}, up to {per_code} findings {strata}. "
        "Precision counts debatable as wrong; `-` where no sampled finding has a verdict yet.",
        "",
        "| code | fired | sampled | correct | wrong | debatable | precision |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    total: Counter[str] = Counter()
    by_code: dict[str, Counter[str]] = defaultdict(Counter)
    for label, count in counts.items():
        by_code[label.partition(" ")[0]].update(count)
    last_of_code = {label.partition(" ")[0]: label for label in counts}
    outside: Counter[str] = Counter()
    for label, count in counts.items():
        code, _, where = label.partition(" ")
        out.append(_tally_row(label, count))
        total.update(count)
        if where and where != _ORIGIN_LABELS["loop"]:
            outside.update(count)
        if where and last_of_code[code] == label:
            out.append(_tally_row(f"{code} all", by_code[code]))
    out.append(_tally_row("**all**", total))
    if by_origin:
        fired = by_code["DJG201"].get("fired", 0)
        share = f"{100 * outside.get('fired', 0) / fired:.0f}%" if fired else "-"
        names = ", ".join(_ORIGIN_LABELS[name] for name in NON_PYTHON_ORIGINS)
        out += [
            "",
            f"DJG201 outside Python loops ({names}): {share} of the DJG201 findings.",
            "",
            "| code | fired | sampled | correct | wrong | debatable | precision |",
            "|---|---:|---:|---:|---:|---:|---:|",
            _tally_row("DJG201 outside Python loops", outside),
        ]
    out += ["", "Findings per project:", ""]
    out.append("| code | " + " | ".join(projects) + " |")
    out.append("|---|" + "---:|" * len(projects))
    for label in counts:
        out.append(
            f"| {label} | " + " | ".join(str(per_project[label][name]) for name in projects) + " |"
        )
    out += [
        "",
        "| # | project | location | code | message | source | verdict | reason |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for number, (finding, verdict, reason) in enumerate(rows, 1):
        location = f"`{finding.path}:{finding.line}:{finding.col}`"
        out.append(
            "| "
            + " | ".join(
                [
                    str(number),
                    finding.project,
                    _cell(location),
                    finding.code,
                    _cell(finding.message),
                    _cell(_code_span(finding.source)),
                    verdict,
                    _cell(reason),
                ]
            )
            + " |"
        )
    out += ["", END]
    return "\n".join(out)


def review(rows: Sequence[tuple[Finding, str, str]], roots: dict[str, Path], context: int) -> str:
    """The sampled findings still without a verdict, each with the code around it."""
    out = []
    for number, (finding, verdict, reason) in enumerate(rows, 1):
        if verdict:
            continue
        out.append(
            f"### {number} {finding.project} {finding.path}:{finding.line}:{finding.col} "
            f"{finding.code} {finding.message}"
        )
        if reason:
            out.append(reason)
        root = roots.get(finding.project)
        try:
            lines = (root / finding.path).read_text(encoding="utf-8", errors="replace").splitlines()
        except (OSError, TypeError):
            lines = []
        first, last = max(1, finding.line - context), min(len(lines), finding.line + context)
        for line in range(first, last + 1):
            mark = ">" if line == finding.line else " "
            out.append(f"{line:6}{mark} {lines[line - 1]}")
        out.append("")
    return "\n".join(out)


def sample_block(document: str) -> str:
    """The sample block of ``document`` (empty when it has none)."""
    if BEGIN not in document or END not in document:
        return ""
    return document.split(BEGIN, 1)[1].split(END, 1)[0]


def replace_block(document: str, block: str) -> str:
    """``document`` with its sample block replaced (or ``block`` appended)."""
    if BEGIN in document and END in document:
        head, rest = document.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        return head + block + tail
    return (document.rstrip("\n") + "\n\n" if document.strip() else "") + block + "\n"


def _projects(args: argparse.Namespace) -> dict[str, Path]:
    if args.project:
        chosen = {}
        for item in args.project:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise SystemExit(f"--project must be name=path, not {item!r}")
            chosen[name] = Path(path)
        return chosen
    chosen = {name: Path(args.cache) / name for name in PROJECTS}
    missing = [name for name, path in chosen.items() if not path.is_dir()]
    if missing:
        hints = "\n".join(
            f"  git clone https://github.com/{PROJECTS[name][0]} {chosen[name]} && "
            f"git -C {chosen[name]} checkout {PROJECTS[name][1]}"
            for name in missing
        )
        raise SystemExit(f"missing project checkouts:\n{hints}")
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    """Run flake8 on the projects, draw the sample and write it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--project", action="append", help="name=path (repeatable; default: PROJECTS)"
    )
    parser.add_argument("--cache", default=str(CACHE), help="where the PROJECTS checkouts are")
    parser.add_argument(
        "--per-code", type=int, default=PER_CODE, help="findings per code per project"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--codes", help="comma-separated codes to run and sample (default: every default-on code)"
    )
    parser.add_argument(
        "--by-origin",
        action="store_true",
        help="draw DJG201 per origin: Python loop, template, admin list_display, inline, feed",
    )
    parser.add_argument(
        "--index-cache", help="keep each project's model index cache in <dir>/<project>"
    )
    parser.add_argument("--jobs", type=int, default=1, help="flake8 -j")
    parser.add_argument("--findings", help="read findings from this JSON instead of running flake8")
    parser.add_argument("--save-findings", help="write every finding to this JSON")
    parser.add_argument("--out", help="markdown file to update (default: print the block)")
    parser.add_argument(
        "--review", help="write the sampled findings without a verdict, with their code, here"
    )
    parser.add_argument("--context", type=int, default=6, help="lines around each one in --review")
    args = parser.parse_args(argv)
    if args.per_code < 1:
        raise SystemExit(f"--per-code must be at least 1, not {args.per_code}")
    codes = parse_codes(args.codes) if args.codes else default_codes()

    if args.findings:
        data = json.loads(Path(args.findings).read_text(encoding="utf-8"))
        findings = [Finding(**item) for item in data["findings"]]
        if args.codes:
            findings = [finding for finding in findings if finding.code in codes]
        names = list(data["projects"])
        saved = data.get("roots") or {name: Path(args.cache) / name for name in names}
        roots = {name: Path(root) for name, root in saved.items()}
    else:
        roots = _projects(args)
        findings = []
        for name, root in roots.items():
            cache = Path(args.index_cache) / name if args.index_cache else None
            found = run_flake8(name, root, codes, args.jobs, cache)
            print(f"{name}: {len(found)} findings", file=sys.stderr)
            findings.extend(found)
        names = list(roots)
    if args.save_findings:
        payload = {
            "projects": names,
            "roots": {name: str(root.resolve()) for name, root in roots.items()},
            "findings": [asdict(finding) for finding in findings],
        }
        Path(args.save_findings).write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")

    sample = draw(findings, args.per_code, args.seed, args.by_origin)
    out = Path(args.out) if args.out else None
    document = out.read_text(encoding="utf-8") if out is not None and out.exists() else ""
    old = read_verdicts(sample_block(document))
    rows = carry_over(sample, old)
    block = render(findings, rows, names, args.per_code, args.seed, args.by_origin)
    if args.review:
        Path(args.review).write_text(review(rows, roots, args.context), encoding="utf-8")
    if out is None:
        print(block)
    else:
        out.write_text(replace_block(document, block), encoding="utf-8")
        print(f"wrote {len(sample)} sampled findings to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
