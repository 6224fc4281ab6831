"""Recall of the N+1 rules (DJG201-DJG203) on real N+1 fix commits.

Usage, from the repository root after the README's install command::

    python bench/nplus1/run.py --mirrors DIR            # every case of cases.toml
    python bench/nplus1/run.py --mirrors DIR --repo owner/name
    python bench/nplus1/run.py --mirrors DIR --write-results

Each case of ``cases.toml`` is a commit of a public Django project that fixed an N+1
(it added ``select_related``/``prefetch_related``/``annotate``, or hoisted a query out of
a loop), and the *fix site*: the file and the lines, in the commit before the fix, of
the queryset (or loop) the fix changed. The script fetches nothing: ``DIR`` holds a bare
clone of each project at ``DIR/<owner>+<name>/repo`` (``git clone --mirror``). It
exports the parent and the fix commit with ``git archive``, runs flake8 with DJG201-DJG203
on the whole project at both (``--isolated``: the project's own flake8 settings play no
part), and counts

- a *hit*: a DJG201-DJG203 finding in the fix site's file on one of its lines, before the fix;
- *gone*: none of the hit findings is reported after the fix on the lines the fix site
  became (the lines are mapped through the diff);
- *narrowed*: still reported there, but the relations its remedy names after the fix are
  a strict part of those it named before, and none of them is one the fix loaded: the
  relations the fix loaded are no longer reported, and what is left is another relation
  the fix did not load (counted apart from *gone*, never in its place);
- *other relation*: findings on the fix site before the fix, but every relation their
  remedies name is one the fix did not load (the relations the fix loaded are read from
  the ``select_related``/``prefetch_related``/``Prefetch`` arguments on the lines it
  added): they report another N+1 on the same queryset, not the one the fix removed, so
  they are not counted as hits.

Recall is hits over cases, per project and overall; Python-side cases (``kind =
"python"``) and the template, admin and feed cases are counted apart. Results are cached
per commit and plugin source in ``bench/.cache/nplus1/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python < 3.11
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = ROOT / "bench" / ".cache" / "nplus1"
CODES = ("DJG201", "DJG202", "DJG203")
KINDS = ("python", "template", "admin", "feed")
FORMAT = "%(path)s\t%(row)d\t%(col)d\t%(code)s\t%(text)s"


@dataclass(frozen=True)
class Case:
    repo: str
    fix: str
    file: str
    lines: tuple[int, int]
    kind: str
    note: str


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    col: int
    code: str
    text: str


def load_cases(path: Path) -> list[Case]:
    """The cases of ``cases.toml``, checked for shape."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    cases = []
    for number, raw in enumerate(data.get("case", []), 1):
        where = f"{path.name}: case {number}"
        lines = raw.get("lines")
        if not (isinstance(lines, list) and len(lines) == 2 and lines[0] <= lines[1]):
            raise SystemExit(f"{where}: 'lines' must be [first, last]")
        kind = raw.get("kind", "python")
        if kind not in KINDS:
            raise SystemExit(f"{where}: 'kind' must be one of {', '.join(KINDS)}")
        if not re.fullmatch(r"[0-9a-f]{40}", str(raw.get("fix", ""))):
            raise SystemExit(f"{where}: 'fix' must be a full 40-digit commit")
        cases.append(
            Case(raw["repo"], raw["fix"], raw["file"], (lines[0], lines[1]), kind, raw["note"])
        )
    return cases


def plugin_digest() -> str:
    """A digest of the plugin's sources: cached results are per plugin version."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src" / "flake8_djguide").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def git(mirror: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(mirror), *args], check=True, capture_output=True, text=True
    ).stdout


#: What a run needs of a project: its Python code, its templates and its configuration.
EXPORTED = (".py", ".html", ".txt", ".toml", ".cfg", ".ini")


def export(mirror: Path, commit: str, tree: Path) -> None:
    """Write the Python, template and configuration files of ``commit`` under ``tree``.

    Files are read blob by blob (``git cat-file --batch``), so a mirror that lacks some
    large binary files (images, archives) still exports what the checks read.
    """
    listing = git(mirror, "ls-tree", "-r", "-z", commit)
    wanted: list[tuple[str, str]] = []
    for entry in listing.split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        is_file = len(parts) == 3 and parts[1] == "blob" and parts[0] != "120000"
        if is_file and path.endswith(EXPORTED):
            wanted.append((parts[2], path))
    batch = subprocess.run(
        ["git", "--git-dir", str(mirror), "cat-file", "--batch"],
        input="".join(f"{sha}\n" for sha, _ in wanted).encode(),
        check=True,
        capture_output=True,
    ).stdout
    offset = 0
    for _sha, path in wanted:
        end = batch.index(b"\n", offset)
        header = batch[offset:end].split()
        offset = end + 1
        if len(header) != 3:  # "<sha> missing": not in this mirror
            continue
        size = int(header[2])
        target = tree / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(batch[offset : offset + size])
        offset += size + 1


def findings_at(mirror: Path, commit: str, digest: str) -> list[Finding]:
    """DJG201-DJG203 findings on the whole project at ``commit`` (cached)."""
    cached = CACHE / f"{mirror.parent.name}-{commit[:12]}-{digest}.json"
    if cached.is_file():
        return [Finding(*row) for row in json.loads(cached.read_text(encoding="utf-8"))]
    with tempfile.TemporaryDirectory(prefix="nplus1-") as tmp:
        tree = Path(tmp) / "tree"
        export(mirror, commit, tree)
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "flake8",
                "--isolated",
                f"--select={','.join(CODES)}",
                f"--format={FORMAT}",
                "-j2",
                ".",
            ],
            cwd=tree,
            capture_output=True,
            text=True,
        )
        if run.returncode not in (0, 1):
            raise SystemExit(f"flake8 failed at {commit}: {run.stderr[-2000:]}")
        rows = []
        for line in run.stdout.splitlines():
            parts = line.split("\t", 4)
            if len(parts) == 5:
                path = parts[0][2:] if parts[0].startswith("./") else parts[0]
                rows.append(Finding(path, int(parts[1]), int(parts[2]), parts[3], parts[4]))
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps([list(vars(f).values()) for f in rows]), encoding="utf-8")
    return rows


def line_map(mirror: Path, parent: str, fix: str, path: str) -> list[tuple[int, int, int, int]]:
    """The hunks of ``path`` between two commits: (old start, old count, new start, new count)."""
    diff = git(mirror, "diff", "-U0", parent, fix, "--", path)
    hunks = []
    for match in re.finditer(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", diff, re.M):
        old, old_n, new, new_n = match.groups()
        hunks.append((int(old), int(old_n or 1), int(new), int(new_n or 1)))
    return hunks


def map_range(hunks: Sequence[tuple[int, int, int, int]], first: int, last: int) -> tuple[int, int]:
    """Where the old lines ``first..last`` are after the diff (a hunk inside is taken whole)."""

    def shift(line: int, end: bool) -> int:
        delta = 0
        for old, old_n, new, new_n in hunks:
            old_end = old + old_n - 1 if old_n else old
            if line < old or (old_n == 0 and line == old and not end):
                break
            if old_n and line <= old_end:
                return new + new_n - 1 if end else new
            delta = (new + new_n) - (old + old_n)
        return line + delta

    return shift(first, False), max(shift(last, True), shift(first, False))


def judge(case: Case, before: Iterable[Finding], after: Iterable[Finding], span: tuple[int, int]):
    first, last = case.lines
    hits = [f for f in before if f.path == case.file and first <= f.line <= last]
    codes = {f.code for f in hits}
    left = [
        f for f in after if f.path == case.file and span[0] <= f.line <= span[1] and f.code in codes
    ]
    return hits, left


_REMEDY = re.compile(r"(?:select|prefetch)_related\(([^)]*)\)")


def remedy_paths(findings: Iterable[Finding]) -> set[str]:
    """The relation paths the findings' remedies name (``select_related("a", "b__c")``)."""
    paths: set[str] = set()
    for finding in findings:
        for arguments in _REMEDY.findall(finding.text):
            paths.update(re.findall(r"[\"']([\w]+)[\"']", arguments))
    return paths


_LOADERS = ("select_related", "prefetch_related")


_AGGREGATES = ("Count", "Sum", "Avg", "Min", "Max")


def loaded_paths(source: str, added: set[int]) -> set[str]:
    """The relation paths a file's ``select_related``/``prefetch_related``/``Prefetch``
    calls name on the ``added`` lines, and the lookups of aggregates annotated there
    (``annotate(test_count=Count("test__id"))``: a fix that counts in the query instead of
    per row); a path inside ``Prefetch("a", queryset=...)`` is prefixed with ``a__``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    paths: set[str] = set()

    def visit(node: ast.AST, prefix: str) -> None:
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _LOADERS or name == "Prefetch":
                arguments = node.args[:1] if name == "Prefetch" else node.args
                for argument in arguments:
                    text = argument.value if isinstance(argument, ast.Constant) else None
                    if isinstance(text, str) and argument.lineno in added:
                        paths.add(prefix + text)
            if name == "annotate":
                for value in [*node.args, *(k.value for k in node.keywords)]:
                    if (
                        isinstance(value, ast.Call)
                        and getattr(value.func, "id", getattr(value.func, "attr", ""))
                        in _AGGREGATES
                        and value.args
                        and isinstance(value.args[0], ast.Constant)
                        and isinstance(value.args[0].value, str)
                        and value.lineno in added
                    ):
                        paths.add(prefix + value.args[0].value)
            if name == "Prefetch" and node.args and isinstance(node.args[0], ast.Constant):
                inner = f"{prefix}{node.args[0].value}__"
                for child in [*node.args[1:], *(k.value for k in node.keywords)]:
                    visit(child, inner)
                return
        for child in ast.iter_child_nodes(node):
            visit(child, prefix)

    visit(tree, "")
    return paths


def added_lines(hunks: Sequence[tuple[int, int, int, int]]) -> set[int]:
    """The lines of the new side of a diff that its hunks added or changed."""
    return {line for _old, _old_n, new, new_n in hunks for line in range(new, new + new_n)}


def _query_names(path: str) -> str:
    """``engagement_set__test_set`` as the query names of a lookup: ``engagement__test``
    (a reverse foreign key's ``<model>_set`` accessor is ``<model>`` in lookups)."""
    return "__".join(part.removesuffix("_set") or part for part in path.split("__"))


def touched(path: str, loads: set[str]) -> bool:
    """Whether the fix loaded (or counted) the relation ``path`` names (itself, or through
    it)."""
    path = _query_names(path)
    return any(f == path or f.startswith(path + "__") for f in map(_query_names, loads))


def other_relation(hits: Sequence[Finding], loads: set[str]) -> bool:
    """Every hit names its relations, and the fix loaded none of them."""
    if not hits or not loads:
        return False
    named = [remedy_paths([finding]) for finding in hits]
    return all(named) and not any(touched(p, loads) for paths in named for p in paths)


def narrowed(
    hits: Sequence[Finding], left: Sequence[Finding], loads: set[str] | None = None
) -> bool:
    """Still reported after the fix, but only for relations the fix did not load."""
    if not hits or not left:
        return False
    before, after = remedy_paths(hits), remedy_paths(left)
    return bool(after) and after < before and not any(touched(p, loads or set()) for p in after)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirrors", type=Path, required=True, help="DIR/<owner>+<name>/repo")
    parser.add_argument("--cases", type=Path, default=HERE / "cases.toml")
    parser.add_argument("--repo", help="only the cases of this owner/name")
    parser.add_argument("--verbose", action="store_true", help="print each case's findings")
    parser.add_argument("--write-results", action="store_true", help="update RESULTS.md")
    args = parser.parse_args(argv)

    digest = plugin_digest()
    cases = [c for c in load_cases(args.cases) if args.repo in (None, c.repo)]
    per_project: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    rows = []
    for case in cases:
        mirror = args.mirrors / case.repo.replace("/", "+") / "repo"
        parent = git(mirror, "rev-parse", f"{case.fix}^").strip()
        before = findings_at(mirror, parent, digest)
        after = findings_at(mirror, case.fix, digest)
        hunks = line_map(mirror, parent, case.fix, case.file)
        span = map_range(hunks, *case.lines)
        found, left = judge(case, before, after, span)
        loads = loaded_paths(git(mirror, "show", f"{case.fix}:{case.file}"), added_lines(hunks))
        other = other_relation(found, loads)
        hits = [] if other else found
        if other:
            verdict = "other relation"
        elif not hits:
            verdict = "miss"
        elif not left:
            verdict = "hit, gone"
        elif narrowed(hits, left, loads):
            verdict = "hit, narrowed"
        else:
            verdict = "hit, still reported"
        counts = per_project[(case.repo, case.kind)]
        counts[0] += 1
        counts[1] += bool(hits)
        counts[2] += bool(hits) and not left
        counts[3] += verdict == "hit, narrowed"
        counts[4] += other
        short = f"{case.repo}@{case.fix[:10]} {case.file}:{case.lines[0]}-{case.lines[1]}"
        rows.append((case, short, verdict, hits))
        print(f"{verdict:20} {case.kind:8} {short}", flush=True)
        if args.verbose:
            if loads:
                print(f"    the fix loads: {', '.join(sorted(loads))}")
            for finding in found:
                print(f"    {finding.line}:{finding.col} {finding.code} {finding.text}")
            for finding in left:
                print(f"    after: {finding.line}:{finding.col} {finding.code} {finding.text}")

    table = [
        "| project | kind | cases | hit before the fix | recall | hits gone after "
        "| narrowed after | other relation |"
    ]
    table.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for (repo, kind), (n, hit, gone, narrow, other_n) in sorted(per_project.items()):
        table.append(
            f"| {repo} | {kind} | {n} | {hit} | {_pct(hit, n)} | {gone} of {hit} | {narrow} "
            f"| {other_n} |"
        )
        for i, value in enumerate((n, hit, gone, narrow, other_n)):
            totals[kind][i] += value
    outside = [sum(v[i] for k, v in totals.items() if k != "python") for i in range(5)]
    if any(k != "python" for k in totals):
        totals["template, admin, feed"] = outside
    for kind, (n, hit, gone, narrow, other_n) in sorted(totals.items()):
        table.append(
            f"| **all** | {kind} | {n} | {hit} | {_pct(hit, n)} | {gone} of {hit} | {narrow} "
            f"| {other_n} |"
        )
    print("\n".join(table))
    if args.write_results:
        _write_results(table, rows, digest)
    return 0


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _write_results(table: list[str], rows: list[tuple[Case, str, str, list[Finding]]], digest: str):
    results = HERE / "RESULTS.md"
    text = results.read_text(encoding="utf-8") if results.exists() else "# N+1 recall\n"
    lines = ["<!-- results:start (generated by bench/nplus1/run.py) -->", *table, ""]
    lines.append("| verdict | kind | case | note |")
    lines.append("| --- | --- | --- | --- |")
    for case, short, verdict, _hits in rows:
        lines.append(f"| {verdict} | {case.kind} | `{short}` | {case.note} |")
    lines.append(f"\nPlugin sources digest: `{digest}`.")
    lines.append("<!-- results:end -->")
    block = "\n".join(lines)
    pattern = re.compile(r"<!-- results:start.*?<!-- results:end -->", re.S)
    text = pattern.sub(block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block
    results.write_text(text + ("\n" if not text.endswith("\n") else ""), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
