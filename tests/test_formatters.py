"""The ``sarif`` and ``github`` report formatters, run through real flake8."""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flake8.violation import Violation

from flake8_djguide.formatters import (
    GithubFormatter,
    SarifFormatter,
    artifact_location,
    escape_data,
    escape_property,
    information_uri,
    relative_path,
    rules_doc_uri,
)
from flake8_djguide.registry import all_rules

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"

SERVICES = '''\
"""Order services."""
import logging
import os

from .models import Order

logger = logging.getLogger(__name__)


def ship(order: Order) -> None:
    """Ship an order."""
    print("shipping", order.pk)
    logger.info("shipped %s", order.pk)
'''


def run_flake8(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # The sample project is deliberately unannotated: leave the typing rules out.
        [sys.executable, "-m", "flake8", "--isolated", "--jobs=1", *args, "--extend-ignore=DJG4"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def make_project(root: Path) -> Path:
    """A small Django-style app: a relative import, a print(), an unused import."""
    package = root / "shop" / "orders"
    package.mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text("class Order:\n    pk = 1\n")
    (package / "services.py").write_text(SERVICES)
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("sarif"))


@pytest.fixture(scope="module")
def sarif_log(project: Path) -> dict[str, Any]:
    """One real flake8 run with ``--format=sarif``, shared by the tests that read it."""
    result = run_flake8(project, "--format=sarif", "--select=DJG,F,E9", "shop")
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    log: dict[str, Any] = json.loads(result.stdout)
    return log


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


# -- SARIF -----------------------------------------------------------------------------------


def test_vendored_schema_is_the_official_sarif_2_1_0_schema(validator: Any) -> None:
    assert validator.schema["id"] == (
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    )
    assert validator.schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert "result" in validator.schema["definitions"]


def test_sarif_output_is_valid_against_the_schema(
    sarif_log: dict[str, Any], validator: Any
) -> None:
    log = sarif_log
    validator.validate(log)
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1


def test_sarif_schema_validation_catches_a_bad_region(
    sarif_log: dict[str, Any], validator: Any
) -> None:
    """The validation above can fail: a 0-based column is rejected by the schema."""
    log = copy.deepcopy(sarif_log)
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startColumn"] = 0
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(log)


def test_sarif_results_carry_rule_file_region_and_message(
    sarif_log: dict[str, Any], project: Path
) -> None:
    run = sarif_log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    found = []
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {
            "uri": "shop/orders/services.py",
            "uriBaseId": "%SRCROOT%",
        }
        region = location["region"]
        found.append((result["ruleId"], region["startLine"], region["startColumn"]))
        assert result["level"] == "error"
        assert result["message"]["text"]
        assert not result["message"]["text"].startswith(result["ruleId"])
    # flake8's columns are 1-based by the time they reach a formatter, as SARIF's are.
    assert sorted(found) == [("DJG001", 5, 1), ("DJG006", 12, 5), ("F401", 3, 1)]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"


def test_sarif_describes_djg_rules_fully_and_other_codes_minimally(
    sarif_log: dict[str, Any],
) -> None:
    driver = sarif_log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "flake8-djguide"
    assert driver["version"]
    assert driver["informationUri"].startswith("https://")
    by_id = {rule["id"]: rule for rule in driver["rules"]}
    assert {rule.CODE for rule in all_rules()} <= set(by_id)
    relative = by_id["DJG001"]
    assert relative["name"] == "relative-import"
    assert "relative imports" in relative["fullDescription"]["text"]
    assert "Absolute imports" in relative["fullDescription"]["text"]  # the RATIONALE
    assert relative["helpUri"].endswith("#djg001-relative-import")
    assert "```python" in relative["help"]["markdown"]
    assert by_id["F401"] == {"id": "F401"}
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids == sorted(ids)


def test_sarif_output_file_is_replaced_and_statistics_stay_out(
    tmp_path: Path, validator: Any
) -> None:
    project = make_project(tmp_path)
    out = project / "reports" / "flake8.sarif"
    out.parent.mkdir()
    out.write_text("left over from an earlier run\n")
    result = run_flake8(
        project, "--format=sarif", "--select=DJG", "--statistics", f"--output-file={out}", "shop"
    )
    assert result.returncode == 1
    assert result.stdout == ""
    log = json.loads(out.read_text(encoding="utf-8"))
    validator.validate(log)
    assert len(log["runs"][0]["results"]) == 2


def test_sarif_clean_run_has_no_results(tmp_path: Path, validator: Any) -> None:
    project = make_project(tmp_path)
    (project / "shop" / "orders" / "services.py").write_text('"""Nothing to see."""\n')
    result = run_flake8(project, "--format=sarif", "--select=DJG,F", "shop")
    assert result.returncode == 0
    log = json.loads(result.stdout)
    validator.validate(log)
    assert log["runs"][0]["results"] == []


def test_sarif_uri_is_percent_encoded_and_line_zero_has_no_region(validator: Any) -> None:
    formatter = SarifFormatter(_options("sarif"))
    formatter.handle(Violation("E902", "odd dir/a b#c.py", 0, 1, "FileNotFoundError", None))
    formatter.handle(Violation("DJG000", "odd dir/a b#c.py", 1, 1, "could not check", None))
    log = formatter.log()
    validator.validate(log)
    first, second = log["runs"][0]["results"]
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "odd%20dir/a%20b%23c.py", "uriBaseId": "%SRCROOT%"}
    }
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert rules[second["ruleIndex"]]["name"] == "check-failed"


def test_files_outside_the_current_directory_get_absolute_uris(tmp_path: Path) -> None:
    outside = tmp_path.parent / "elsewhere.py"
    location = artifact_location(str(outside))
    assert location == {"uri": outside.resolve().as_uri()}
    assert relative_path(str(outside), str(tmp_path)) is None
    assert relative_path(str(tmp_path / "a" / "b.py"), str(tmp_path)) == "a/b.py"


def test_documentation_url_comes_from_the_project_urls() -> None:
    urls = {"documentation": "https://example.org/docs/rules.md", "source": "https://example.org"}
    assert rules_doc_uri(urls) == "https://example.org/docs/rules.md"
    assert information_uri(urls) == "https://example.org"
    assert rules_doc_uri({}) is None and information_uri({}) is None


def test_sarif_results_carry_the_baselines_fingerprint(
    sarif_log: dict[str, Any], tmp_path: Path, validator: Any
) -> None:
    from flake8_djguide import baseline

    results = sarif_log["runs"][0]["results"]
    prints = {r["ruleId"]: r["partialFingerprints"]["djguideLineScopeHash/v2"] for r in results}
    lines = SERVICES.splitlines(True)
    entries = baseline.entries_for([(12, 4, "DJG006", ""), (5, 0, "DJG001", "")], lines)
    assert prints["DJG001"] == f"{entries[0].hash}:1"
    assert prints["DJG006"] == f"{entries[1].hash}:1"
    # code inserted above every finding: line numbers change, fingerprints do not
    project = make_project(tmp_path)
    moved = SERVICES.replace('"""Order services."""\n', '"""Order services."""\nimport sys\n\n')
    (project / "shop" / "orders" / "services.py").write_text(moved)
    result = run_flake8(project, "--format=sarif", "--select=DJG,F,E9", "shop")
    log = json.loads(result.stdout)
    validator.validate(log)
    after = {
        r["ruleId"]: r["partialFingerprints"]["djguideLineScopeHash/v2"]
        for r in log["runs"][0]["results"]
        if r["ruleId"] in prints
    }
    assert after["DJG001"] == prints["DJG001"] and after["DJG006"] == prints["DJG006"]
    lines_after = [
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in log["runs"][0]["results"]
        if r["ruleId"] == "DJG006"
    ]
    assert lines_after == [14]


# -- GitHub workflow commands ----------------------------------------------------------------


def _options(fmt: str) -> argparse.Namespace:
    return argparse.Namespace(
        output_file=None, color="never", show_source=True, tee=False, format=fmt
    )


def _unescape(text: str) -> str:
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Split a workflow command the way the Actions runner does."""
    assert line.startswith("::")
    head, separator, data = line[2:].partition("::")
    assert separator
    command, _, rendered = head.partition(" ")
    properties = {}
    for item in rendered.split(","):
        key, _, value = item.partition("=")
        properties[key] = _unescape(value)
    return command, properties, _unescape(data)


def test_escaping_follows_the_actions_toolkit() -> None:
    assert escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_github_message_with_commas_colons_and_newlines_round_trips() -> None:
    formatter = GithubFormatter(_options("github"))
    text = "use `a, b`: not `c`\nsecond line, 100% sure\r"
    line = formatter.format(Violation("DJG201", "shop/x,y:z.py", 7, 5, text, "x = 1\n"))
    assert line is not None
    assert "\n" not in line and "\r" not in line
    command, properties, data = parse_command(line)
    assert command == "error"
    assert properties == {"file": "shop/x,y:z.py", "line": "7", "col": "5", "title": "DJG201"}
    assert data == f"DJG201 {text}"
    assert formatter.show_source(Violation("DJG201", "a.py", 1, 1, "m", "x = 1\n")) is None


def test_github_line_zero_has_no_position() -> None:
    formatter = GithubFormatter(_options("github"))
    line = formatter.format(Violation("E902", "gone.py", 0, 1, "FileNotFoundError: x", None))
    assert line == "::error file=gone.py,title=E902::E902 FileNotFoundError: x"


def test_github_format_through_flake8(project: Path) -> None:
    result = run_flake8(project, "--format=github", "--select=DJG,F", "--show-source", "shop")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert all(line.startswith("::error ") for line in lines), lines
    parsed = sorted(parse_command(line)[1]["title"] for line in lines)
    assert parsed == ["DJG001", "DJG006", "F401"]
    _, properties, data = parse_command(next(li for li in lines if "DJG006" in li))
    assert properties == {
        "file": "shop/orders/services.py",
        "line": "12",
        "col": "5",
        "title": "DJG006",
    }
    assert data.startswith("DJG006 `print()` call")
