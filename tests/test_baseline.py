"""The baseline: record findings, suppress exactly those, report new ones, prune."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flake8_djguide import baseline
from flake8_djguide.plugin import Plugin
from tests.util import lint, settings_with

pytestmark = pytest.mark.usefixtures("keep_plugin_state")

# A services module shaped like the ones in real Django projects (a module logger, a
# service function per use case), with debugging left-overs: print() calls (DJG006) and a
# root-logger call (DJG005).
SERVICES = '''\
"""Order services."""
import logging

from shop.orders.models import Order

logger = logging.getLogger(__name__)


def ship(order: Order) -> None:
    """Ship an order."""
    print("shipping", order.pk)
    order.status = "shipped"
    order.save()
    logging.info("shipped %s", order.pk)


def cancel(order: Order) -> None:
    """Cancel an order."""
    print("cancelling", order.pk)
    order.delete()
'''

# The same module a few commits later: an import and a helper were added above every
# finding, and a new print() was added in a new function.
SERVICES_LATER = '''\
"""Order services."""
import logging
from decimal import Decimal

from shop.orders.models import Order

logger = logging.getLogger(__name__)

VAT = Decimal("0.2")


def total(order: Order) -> Decimal:
    """The order's total including VAT."""
    return order.net * (1 + VAT)


def ship(order: Order) -> None:
    """Ship an order."""
    print("shipping", order.pk)
    order.status = "shipped"
    order.save()
    logging.info("shipped %s", order.pk)


def cancel(order: Order) -> None:
    """Cancel an order."""
    print("cancelling", order.pk)
    order.delete()


def refund(order: Order) -> None:
    """Refund an order."""
    print("refunding", order.pk)
    order.refund()
'''

FLAKE8 = ["--isolated", "--jobs=1", "--select=DJG", "--extend-ignore=DJG4"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for package in ("shop", "shop/orders"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "shop" / "orders" / "models.py").write_text("class Order:\n    pk = 1\n")
    (tmp_path / "shop" / "orders" / "services.py").write_text(SERVICES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def flake8(cwd: Path, *args: str) -> list[tuple[str, int, str]]:
    """Real flake8 in a subprocess: ``(path, line, code)`` of each reported finding."""
    result = subprocess.run(
        [sys.executable, "-m", "flake8", *FLAKE8, "--format=%(path)s|%(row)d|%(code)s", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    found = []
    for line in result.stdout.splitlines():
        path, row, code = line.split("|")
        found.append((path.replace(os.sep, "/"), int(row), code))
    return sorted(found)


def read_baseline(path: Path) -> dict[str, list[dict[str, object]]]:
    findings: dict[str, list[dict[str, object]]] = json.loads(path.read_text())["findings"]
    return findings


def test_baseline_records_each_finding_without_line_numbers(project: Path) -> None:
    assert baseline.main([*FLAKE8, "shop"]) == 0
    recorded = read_baseline(project / ".djguide-baseline.json")
    assert list(recorded) == ["shop/orders/services.py"]
    entries = recorded["shop/orders/services.py"]
    assert [(e["code"], e["occurrence"]) for e in entries] == [
        ("DJG006", 1),
        ("DJG005", 1),
        ("DJG006", 1),
    ]
    assert all(set(e) == {"code", "hash", "occurrence", "message"} for e in entries)
    assert "print()" in str(entries[0]["message"])


def test_suppression_survives_inserted_lines_and_new_findings_are_reported(
    project: Path,
) -> None:
    services = project / "shop" / "orders" / "services.py"
    assert baseline.main([*FLAKE8, "shop"]) == 0
    services.write_text(SERVICES_LATER)
    # the three known findings moved down by eight lines; only the new one is reported
    assert flake8(project, "shop") == [("shop/orders/services.py", 33, "DJG006")]
    assert flake8(project, "--djguide-baseline=off", "shop") == [
        ("shop/orders/services.py", 19, "DJG006"),
        ("shop/orders/services.py", 22, "DJG005"),
        ("shop/orders/services.py", 27, "DJG006"),
        ("shop/orders/services.py", 33, "DJG006"),
    ]


def test_editing_the_flagged_line_reports_it_again(tmp_path: Path) -> None:
    lines = SERVICES.splitlines(True)
    findings = lint(SERVICES, "shop/orders/services.py")
    entries = baseline.entries_for([(f.line, f.col, f.code, f.message) for f in findings], lines)
    edited = SERVICES.replace('print("cancelling", order.pk)', 'print("cancel", order.pk)')
    assert _reported(edited, entries, tmp_path) == [(19, "DJG006")]
    reindented = SERVICES.replace("    ", "  ")
    assert _reported(reindented, entries, tmp_path) == []


EXPORT = """\
def export(rows):
    for row in rows:
        print(row)
    for row in rows:
        print(row)
    for row in rows:
        print(row)
"""


def _reported(code: str, entries: list[baseline.Entry], root: Path) -> list[tuple[int, str]]:
    """Lint ``code`` as shop/orders/services.py under ``root``, with a baseline of ``entries``."""
    target = root / "ci" / "baseline.json"
    target.parent.mkdir(exist_ok=True)
    baseline.Baseline(target, {"../shop/orders/services.py": entries}).write()
    path = str(root / "shop" / "orders" / "services.py")
    found = [f for f in lint(code, path) if not f.code.startswith("DJG4")]
    kept = baseline.suppress(
        found, code.splitlines(True), path, settings_with({"baseline": str(target)})
    )
    return [(f.line, f.code) for f in kept]


def test_identical_findings_are_told_apart_by_their_occurrence(tmp_path: Path) -> None:
    lines = EXPORT.splitlines(True)
    findings = [f for f in lint(EXPORT, "shop/orders/services.py") if f.code == "DJG006"]
    entries = baseline.entries_for([(f.line, f.col, f.code, f.message) for f in findings], lines)
    # three identical lines in one function: one hash, told apart by their order
    assert [e.occurrence for e in entries] == [1, 2, 3]
    assert entries[0].hash == entries[1].hash == entries[2].hash
    assert _reported(EXPORT, entries, tmp_path) == []
    # a fourth identical block: exactly one more finding than the baseline knows
    longer = EXPORT + "    for row in rows:\n        print(row)\n"
    assert len(_reported(longer, entries, tmp_path)) == 1
    block = "    for row in rows:\n        print(row)\n"
    assert _reported(longer.replace(block, "", 1), entries, tmp_path) == []


def test_prune_drops_fixed_findings_and_adds_no_new_ones(project: Path) -> None:
    services = project / "shop" / "orders" / "services.py"
    assert baseline.main([*FLAKE8, "shop"]) == 0
    before = read_baseline(project / ".djguide-baseline.json")["shop/orders/services.py"]
    fixed = SERVICES_LATER.replace('    logging.info("shipped %s", order.pk)\n', "")
    services.write_text(fixed)
    result = subprocess.run(
        [sys.executable, "-m", "flake8_djguide.baseline", "--prune", *FLAKE8, "shop"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "pruned" in result.stdout
    after = read_baseline(project / ".djguide-baseline.json")["shop/orders/services.py"]
    assert after == [e for e in before if e["code"] != "DJG005"]
    # the new print() in refund() was not added, so it is still reported
    assert flake8(project, "shop") == [("shop/orders/services.py", 32, "DJG006")]
    # regenerating (no --prune) records it
    assert baseline.main([*FLAKE8, "shop"]) == 0
    assert len(read_baseline(project / ".djguide-baseline.json")["shop/orders/services.py"]) == 3


def test_regenerating_some_paths_keeps_other_files_and_drops_deleted_ones(project: Path) -> None:
    (project / "shop" / "blog").mkdir()
    (project / "shop" / "blog" / "__init__.py").write_text("")
    (project / "shop" / "blog" / "views.py").write_text('def index():\n    print("hi")\n')
    assert baseline.main([*FLAKE8, "shop"]) == 0
    target = project / ".djguide-baseline.json"
    assert sorted(read_baseline(target)) == ["shop/blog/views.py", "shop/orders/services.py"]
    (project / "shop" / "orders" / "services.py").write_text('"""Fixed."""\n')
    assert baseline.main([*FLAKE8, "shop/orders"]) == 0
    assert sorted(read_baseline(target)) == ["shop/blog/views.py"]
    (project / "shop" / "blog" / "views.py").unlink()
    assert baseline.main([*FLAKE8, "shop/orders"]) == 0
    assert read_baseline(target) == {}


def test_baseline_file_named_by_the_option(project: Path) -> None:
    (project / "ci").mkdir()
    assert baseline.main(["--file", "ci/djguide.json", *FLAKE8, "shop"]) == 0
    assert not (project / ".djguide-baseline.json").exists()
    recorded = read_baseline(project / "ci" / "djguide.json")
    assert list(recorded) == ["../shop/orders/services.py"]
    # not found by walking up from shop/, so only the option makes it apply
    assert baseline.baseline_path("shop/orders/services.py", "") is None
    assert flake8(project, "--djguide-baseline=ci/djguide.json", "shop") == []
    # the option also names the file the command writes
    (project / "setup.cfg").write_text("[flake8]\ndjguide-baseline = ci/other.json\n")
    assert baseline.main(["--jobs=1", "--select=DJG", "--extend-ignore=DJG4", "shop"]) == 0
    assert list(read_baseline(project / "ci" / "other.json")) == ["../shop/orders/services.py"]


def test_nearest_baseline_is_found_walking_up(project: Path) -> None:
    (project / "shop" / "orders" / baseline.BASELINE_NAME).write_text(
        json.dumps({"version": 1, "findings": {}})
    )
    found = baseline.baseline_path(str(project / "shop/orders/services.py"), "")
    assert found == project / "shop" / "orders" / baseline.BASELINE_NAME
    assert baseline.baseline_path("shop/orders/services.py", "off") is None
    assert baseline.baseline_path("shop/orders/services.py", "missing.json") is None


def test_a_broken_baseline_becomes_djg000_not_a_crash(project: Path) -> None:
    (project / baseline.BASELINE_NAME).write_text("{not json")
    Plugin._overrides, Plugin._options, Plugin._engines, Plugin._selection = {}, None, {}, None
    lines = SERVICES.splitlines(True)
    plugin = Plugin(ast.parse(SERVICES), lines, "shop/orders/services.py")
    results = [(line, message.split()[0]) for line, _col, message, _type in plugin.run()]
    assert results == [(1, "DJG000")]
    message = next(plugin.run())[2]
    assert "not a flake8-djguide baseline" in message
    # a file without findings never reads the baseline
    clean = Plugin(ast.parse("x = 1\n"), ["x = 1\n"], "shop/orders/models.py")
    assert list(clean.run()) == []


def test_baseline_command_refuses_when_the_option_is_off(project: Path) -> None:
    assert baseline.main(["--djguide-baseline=off", *FLAKE8, "shop"]) == 2
    assert not (project / baseline.BASELINE_NAME).exists()


def test_djguide_baseline_subcommand_writes_the_baseline(project: Path) -> None:
    from flake8_djguide import cli

    assert cli.main(["baseline", *FLAKE8, "shop"]) == 0
    recorded = read_baseline(project / ".djguide-baseline.json")
    assert list(recorded) == ["shop/orders/services.py"]
    assert flake8(project, "shop") == []
