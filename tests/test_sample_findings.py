"""scripts/sample_findings.py: a reproducible, stratified, stable sample (on made-up findings)."""

from __future__ import annotations

import importlib.util
import random
import sys
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
