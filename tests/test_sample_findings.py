"""scripts/sample_findings.py: a reproducible, stratified, stable sample (on made-up findings)."""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "sample_findings", ROOT / "scripts" / "sample_findings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sf = _load()


def _findings(seed: int = 0) -> list:
    rng = random.Random(seed)
    findings = []
    for project in ("alpha", "beta"):
        for code, count in (("DJG001", 30), ("DJG202", 7), ("DJG301", 2)):
            for number in range(count):
                path = f"app{number % 3}/views.py"
                findings.append(
                    sf.Finding(
                        project,
                        path,
                        10 + number,
                        rng.randrange(8),
                        code,
                        f"{code} message {number}",
                    )
                )
    return findings


def test_parse_output_reads_flake8_lines() -> None:
    output = (
        "./app/views.py:12:4: DJG202 query `Book.objects.get()` in a loop: fetch once\n"
        "./app/settings.py:3:0: DJG301 hard-coded `SECRET_KEY`: read it from the environment\n"
        "not a finding line\n"
    )
    findings = sf.parse_output("alpha", output)
    assert [(f.path, f.line, f.col, f.code) for f in findings] == [
        ("app/settings.py", 3, 0, "DJG301"),
        ("app/views.py", 12, 4, "DJG202"),
    ]
    assert findings[1].message == "query `Book.objects.get()` in a loop: fetch once"


def test_draw_takes_per_code_per_project() -> None:
    sample = sf.draw(_findings(), per_code=4, seed=18)
    strata: dict[tuple[str, str], int] = {}
    for finding in sample:
        strata[(finding.project, finding.code)] = strata.get((finding.project, finding.code), 0) + 1
    assert strata == {
        ("alpha", "DJG001"): 4,
        ("alpha", "DJG202"): 4,
        ("alpha", "DJG301"): 2,
        ("beta", "DJG001"): 4,
        ("beta", "DJG202"): 4,
        ("beta", "DJG301"): 2,
    }


def test_draw_is_reproducible_and_independent_of_order() -> None:
    findings = _findings()
    shuffled = list(findings)
    random.Random(5).shuffle(shuffled)
    assert sf.draw(findings, 4, 18) == sf.draw(shuffled, 4, 18)
    assert sf.draw(findings, 4, 18) != sf.draw(findings, 4, 19)


def test_draw_is_not_the_first_findings() -> None:
    sample = sf.draw(_findings(), 4, 18)
    first = sorted(f.line for f in sample if f.project == "alpha" and f.code == "DJG001")
    assert first != [10, 11, 12, 13]


def test_kept_findings_stay_in_the_sample_when_others_go() -> None:
    findings = _findings()
    before = sf.draw(findings, 4, 18)
    dropped = before[0]
    after = sf.draw([f for f in findings if f != dropped], 4, 18)
    kept = [f for f in before if f != dropped]
    assert all(f in after for f in kept)
    assert len(after) == len(before)


def test_messages_do_not_move_the_sample() -> None:
    findings = _findings()
    renamed = [
        sf.Finding(f.project, f.path, f.line, f.col, f.code, "new " + f.message) for f in findings
    ]
    assert [f.key for f in sf.draw(findings, 4, 18)] == [f.key for f in sf.draw(renamed, 4, 18)]


def test_verdicts_are_carried_over_when_the_message_is_unchanged() -> None:
    findings = _findings()
    sample = sf.draw(findings, 2, 18)
    rows = [(f, "", "") for f in sample]
    rows[0] = (sample[0], "correct", "a query per row | really")
    rows[1] = (sample[1], "debatable", "a script")
    block = sf.render(findings, rows, ["alpha", "beta"], 2, 18)
    old = sf.read_verdicts(sf.sample_block(sf.replace_block("# Title\n", block)))
    assert old[sample[0].key] == sf.Verdict(
        sample[0].message, "correct", "a query per row | really"
    )

    changed = sf.Finding(*sample[1].key, "another message")
    carried = sf.carry_over([sample[0], changed, sample[2]], old)
    assert carried[0][1:] == ("correct", "a query per row | really")
    assert carried[1][1] == ""
    assert "was debatable: a script" in carried[1][2]
    assert carried[2][1:] == ("", "")


def test_tally_counts_fired_sampled_and_verdicts() -> None:
    findings = _findings()
    sample = sf.draw(findings, 2, 18)
    rows = [(f, "correct" if i % 2 else "wrong", "") for i, f in enumerate(sample)]
    table = sf.tally(findings, rows)
    assert table["DJG001"]["fired"] == 60
    assert table["DJG001"]["sampled"] == 4
    assert table["DJG301"]["fired"] == 4
    assert sum(t.get("correct", 0) + t.get("wrong", 0) for t in table.values()) == len(sample)
    text = sf.render(findings, rows, ["alpha", "beta"], 2, 18)
    assert "| DJG001 | 60 | 4 | 2 | 2 | 0 | 50% |" in text


def test_replace_block_keeps_the_rest_of_the_document() -> None:
    document = f"# Precision\n\nintro\n\n{sf.BEGIN}\nold\n{sf.END}\n\nafter\n"
    assert sf.replace_block(document, f"{sf.BEGIN}\nnew\n{sf.END}") == (
        f"# Precision\n\nintro\n\n{sf.BEGIN}\nnew\n{sf.END}\n\nafter\n"
    )


def test_bad_project_argument_is_named() -> None:
    with pytest.raises(SystemExit, match="--project must be name=path"):
        sf.main(["--project", "wger"])


def test_review_shows_the_unjudged_findings_with_their_code(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "views.py").write_text(
        "".join(f"line {number}\n" for number in range(1, 21)), encoding="utf-8"
    )
    judged = sf.Finding("alpha", "app/views.py", 3, 0, "DJG001", "relative import")
    open_one = sf.Finding("alpha", "app/views.py", 10, 4, "DJG202", "query in a loop")
    rows = [(judged, "correct", "fine"), (open_one, "", "(message changed; was wrong: x)")]
    text = sf.review(rows, {"alpha": tmp_path}, context=2)
    assert "### 2 alpha app/views.py:10:4 DJG202 query in a loop" in text
    assert "(message changed; was wrong: x)" in text
    assert "    10> line 10" in text
    assert "     8  line 8" in text and "    12  line 12" in text
    assert "line 13" not in text
    assert "DJG001" not in text


_ORIGIN_MESSAGES = {
    "loop": "`p.category` loads relation `category` once per row of `Product.objects.all()`; "
    'add `.select_related("category")` to that queryset',
    "template": "template `shop/product_list.html` reads `product.category.name` (line 12): a "
    "query per row, as this `Product` queryset does not load it; add "
    '`.select_related("category")` to it',
    "admin": "`list_display` column `category_name` reads `category` of each `Product` row; set "
    '`list_select_related = ("category",)`',
    "inline": "inline `ProductInline` shows each saved `Product` row as text: `__str__` reads "
    "`category`",
    "feed": "feed `LatestProducts`: `item_title()` reads `category` of each `Product` item of "
    "the feed without loading it (a query per feed item)",
}


def _with_origins(loops: int = 40, others: int = 3) -> list:
    findings = []
    for where, message in _ORIGIN_MESSAGES.items():
        for number in range(loops if where == "loop" else others):
            findings.append(
                sf.Finding("alpha", f"shop/{where}.py", 10 + number, 4, "DJG201", message)
            )
    findings += [
        sf.Finding("alpha", "shop/views.py", 10 + n, 8, "DJG202", "query") for n in range(5)
    ]
    return findings


def test_origin_is_told_from_the_message() -> None:
    for where, message in _ORIGIN_MESSAGES.items():
        assert sf.origin(sf.Finding("a", "x.py", 1, 0, "DJG201", message)) == where
    read_only = (
        "read-only field `total` of inline `LineInline` reads `order` of each `Line` row without "
        "loading it"
    )
    assert sf.origin(sf.Finding("a", "x.py", 1, 0, "DJG201", read_only)) == "inline"
    listed = (
        "the rows of `review()` are listed by `jobs.views.JobReview` (and 1 more view): "
        + _ORIGIN_MESSAGES["template"]
    )
    assert sf.origin(sf.Finding("a", "x.py", 1, 0, "DJG201", listed)) == "template"
    # a loop variable named ``template`` is still a Python loop; other codes have no origin
    loop = "`template.owner` loads relation `owner` once per row of `Template.objects.all()`"
    assert sf.origin(sf.Finding("a", "x.py", 1, 0, "DJG201", loop)) == "loop"
    assert sf.origin(sf.Finding("a", "x.py", 1, 0, "DJG202", _ORIGIN_MESSAGES["feed"])) == ""


def test_by_origin_draws_every_origin_even_when_loops_outnumber_them() -> None:
    findings = _with_origins()
    plain = sf.draw(findings, 4, 18)
    assert sum(f.code == "DJG201" for f in plain) == 4
    split = sf.draw(findings, 4, 18, by_origin=True)
    drawn = Counter(sf.origin(f) for f in split if f.code == "DJG201")
    assert drawn == {"loop": 4, "template": 3, "admin": 3, "inline": 3, "feed": 3}
    assert sum(f.code == "DJG202" for f in split) == 4
    # the loop stratum is the plain draw's DJG201 sample restricted to loop findings
    loops = [f for f in findings if sf.origin(f) == "loop"]
    assert [f for f in split if sf.origin(f) == "loop"] == sf.draw(loops, 4, 18)


def test_by_origin_tables_give_each_origin_a_row_and_the_share_outside_loops() -> None:
    findings = _with_origins(loops=12, others=2)
    sample = sf.draw(findings, 2, 18, by_origin=True)
    rows = [
        (f, "wrong" if sf.origin(f) == "admin" and f.line == 10 else "correct", "") for f in sample
    ]
    table = sf.tally(findings, rows, by_origin=True)
    assert list(table) == [
        "DJG201 Python loop",
        "DJG201 template",
        "DJG201 admin `list_display`",
        "DJG201 admin inline",
        "DJG201 feed",
        "DJG202",
    ]
    text = sf.render(findings, rows, ["alpha"], 2, 18, by_origin=True)
    assert "| DJG201 admin `list_display` | 2 | 2 | 1 | 1 | 0 | 50% |" in text
    assert "| DJG201 all | 20 | 10 | 9 | 1 | 0 | 90% |" in text
    assert "| DJG201 outside Python loops | 8 | 8 | 7 | 1 | 0 | 88% |" in text
    assert "40% of the DJG201 findings" in text
    assert "| **all** | 25 | 12 | 11 | 1 | 0 | 92% |" in text
    # the finding rows read back with their verdicts
    assert len(sf.read_verdicts(text)) == len(sample)
    # without --by-origin the tables are per code, as in docs/precision.md
    plain = sf.render(findings, rows, ["alpha"], 2, 18)
    assert "| DJG201 | 20 | 10 | 9 | 1 | 0 | 90% |" in plain
    assert "outside Python loops" not in plain


def test_codes_are_checked_and_restrict_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert sf.parse_codes("djg201, DJG207,DJG201") == ["DJG201", "DJG207"]
    with pytest.raises(SystemExit, match=r"--codes must be .* not 'DJG999', 'N\+1'"):
        sf.parse_codes("DJG201,DJG999,N+1")
    with pytest.raises(SystemExit, match=r"--codes must be .* not nothing"):
        sf.parse_codes(" , ")

    commands = []

    def fake_run(command: list[str], **kwargs: object) -> object:
        commands.append(command)
        output = "./app/views.py:3:4: DJG201 `p.x` loads relation `x`\n"
        return subprocess.CompletedProcess(command, 1, output, "")

    monkeypatch.setattr(sf.subprocess, "run", fake_run)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "views.py").write_text("a\nb\nfor p in ps: p.x\n", encoding="utf-8")
    out = tmp_path / "sample.md"
    assert (
        sf.main(
            [
                "--project",
                f"alpha={tmp_path}",
                "--codes",
                "DJG201,DJG202",
                "--index-cache",
                str(tmp_path / "caches"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "--select=DJG201,DJG202" in commands[0]
    assert f"--djguide-cache-dir={(tmp_path / 'caches' / 'alpha').resolve()}" in commands[0]
    assert "`` for p in ps: p.x ``" in out.read_text(encoding="utf-8")
