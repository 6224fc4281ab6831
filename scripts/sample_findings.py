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

The projects are not fetched: each is a checkout of the repository and commit listed in
``PROJECTS`` under ``--cache`` (default ``bench/.cache/precision/<name>``, git-ignored),
or a path given with ``--project name=path``.
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


def run_flake8(project: str, root: Path, codes: Sequence[str], jobs: int) -> list[Finding]:
    """Run flake8 with ``codes`` on the whole project at ``root``."""
    command = [
        sys.executable,
        "-m",
        "flake8",
        "--isolated",
        f"--select={','.join(codes)}",
        f"-j{jobs}",
        ".",
    ]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1) or "Traceback" in done.stderr:
        raise SystemExit(f"flake8 failed on {project} ({root}):\n{done.stderr}")
    return with_source(parse_output(project, done.stdout), root)


def sample_key(finding: Finding, seed: int) -> str:
    """The finding's place in the draw: a hash of the seed and what identifies it."""
    project, path, line, col, code = finding.key
    return hashlib.sha256(f"{seed}|{project}|{path}|{line}|{col}|{code}".encode()).hexdigest()


def draw(findings: Iterable[Finding], per_code: int, seed: int) -> list[Finding]:
    """Up to ``per_code`` findings of every (project, code), the smallest sample keys."""
    strata: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        strata[(finding.project, finding.code)].append(finding)
    sample: list[Finding] = []
    for stratum in strata.values():
        stratum.sort(key=lambda finding: sample_key(finding, seed))
        sample.extend(stratum[:per_code])
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


def tally(
    findings: Sequence[Finding], rows: Sequence[tuple[Finding, str, str]]
) -> dict[str, dict[str, int]]:
    """Per code: fired, sampled, and the count of each verdict."""
    table: dict[str, dict[str, int]] = defaultdict(Counter)
    for finding in findings:
        table[finding.code]["fired"] += 1
    for finding, verdict, _ in rows:
        table[finding.code]["sampled"] += 1
        if verdict in VERDICTS:
            table[finding.code][verdict] += 1
    return {code: dict(table[code]) for code in sorted(table)}


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
) -> str:
    """The markdown of the sample: summary tables, then one row per sampled finding."""
    counts = tally(findings, rows)
    per_project: dict[str, Counter[str]] = defaultdict(Counter)
    for finding in findings:
        per_project[finding.code][finding.project] += 1
    out = [
        BEGIN,
        "",
        f"Projects: {', '.join(projects)}. Seed {seed}, up to {per_code} findings per code per "
        "project. Precision counts debatable as wrong; `-` where no sampled finding has a "
        "verdict yet.",
        "",
        "| code | fired | sampled | correct | wrong | debatable | precision |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    total: Counter[str] = Counter()
    for code, count in counts.items():
        out.append(_tally_row(code, count))
        total.update(count)
    out.append(_tally_row("**all**", total))
    out += ["", "Findings per project:", ""]
    out.append("| code | " + " | ".join(projects) + " |")
    out.append("|---|" + "---:|" * len(projects))
    for code in counts:
        out.append(
            f"| {code} | " + " | ".join(str(per_project[code][name]) for name in projects) + " |"
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

    if args.findings:
        data = json.loads(Path(args.findings).read_text(encoding="utf-8"))
        findings = [Finding(**item) for item in data["findings"]]
        names = list(data["projects"])
        saved = data.get("roots") or {name: Path(args.cache) / name for name in names}
        roots = {name: Path(root) for name, root in saved.items()}
    else:
        roots = _projects(args)
        codes = default_codes()
        findings = []
        for name, root in roots.items():
            found = run_flake8(name, root, codes, args.jobs)
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

    sample = draw(findings, args.per_code, args.seed)
    out = Path(args.out) if args.out else None
    document = out.read_text(encoding="utf-8") if out is not None and out.exists() else ""
    old = read_verdicts(sample_block(document))
    rows = carry_over(sample, old)
    block = render(findings, rows, names, args.per_code, args.seed)
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
