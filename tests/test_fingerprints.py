"""Baseline fingerprints: a finding stays known while its line and its scope are unchanged.

The refactors here are the ones that brought old findings back with fingerprints that
hashed the neighbouring lines: a docstring inserted above an old import, the last line of
the previous function split, functions moved and edited around the flagged lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flake8_djguide import baseline

FLAKE8 = ["--isolated", "--jobs=1", "--select=DJG0,DJG5", "--extend-ignore=DJG504"]

VIEWS = """\
from django.http import JsonResponse
from .models import Order
from .services import ship


def order_list(request):
    orders = Order.objects.filter(customer=request.user).values("pk", "status")
    print("listing", len(orders))
    return JsonResponse({"orders": list(orders)})


def order_ship(request, pk):
    order = Order.objects.get(pk=pk, customer=request.user)
    print("shipping", order.pk)
    ship(order)
    return JsonResponse({"status": order.status})


class OrderExport:
    def rows(self, orders):
        for order in orders:
            print(order.pk)
            yield order.pk, order.status

    def totals(self, orders):
        for order in orders:
            print(order.pk)
            yield order.pk, order.total
"""

# The same module after a refactor that touches none of the flagged lines: a module
# docstring above the old import, the imports regrouped, a new view and a helper inserted
# above the old ones, order_ship moved above order_list, the last line of order_list split
# over several lines, the lines next to every print() edited, a method added between the
# two identical print(order.pk) methods, and one new print() in the new view.
VIEWS_REFACTORED = '''\
"""Order views."""

from django.http import JsonResponse
from django.views.decorators.http import require_POST

from .services import ship
from .models import Order


def _owned(request, pk):
    return Order.objects.get(pk=pk, customer=request.user)


@require_POST
def order_ship(request, pk):
    order = _owned(request, pk)
    print("shipping", order.pk)
    ship(order, notify=True)
    return JsonResponse({"status": order.status, "pk": order.pk})


def order_cancel(request, pk):
    order = _owned(request, pk)
    print("cancelling", order.pk)
    order.cancel()
    return JsonResponse({"status": order.status})


def order_list(request):
    orders = Order.objects.filter(customer=request.user).values("pk", "status", "total")
    print("listing", len(orders))
    return JsonResponse(
        {"orders": list(orders), "count": len(orders)},
    )


class OrderExport:
    header = ("pk", "status")

    def rows(self, orders):
        # one row per order
        for order in orders:
            print(order.pk)
            yield order.pk, order.status, order.created

    def count(self, orders):
        return len(orders)

    def totals(self, orders):
        for order in orders.select_related("customer"):
            print(order.pk)
            yield order.pk, order.total
'''


def flake8(cwd: Path, *args: str) -> list[tuple[int, str]]:
    """Real flake8 in a subprocess on the views module: ``(line, code)`` of each finding."""
    result = subprocess.run(
        [sys.executable, "-m", "flake8", *FLAKE8, "--format=%(row)d|%(code)s", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    found = [line.split("|") for line in result.stdout.splitlines()]
    return sorted((int(row), code) for row, code in found)


def record_baseline(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "flake8_djguide.baseline", *FLAKE8, *args, "shop"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    return result


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for package in ("shop", "shop/orders"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "shop" / "orders" / "models.py").write_text("class Order:\n    pk = 1\n")
    (tmp_path / "shop" / "orders" / "services.py").write_text("def ship(order):\n    pass\n")
    (tmp_path / "shop" / "orders" / "views.py").write_text(VIEWS)
    return tmp_path


def test_a_refactor_around_old_findings_resurrects_none(project: Path) -> None:
    views = project / "shop" / "orders" / "views.py"
    before = flake8(project, "--djguide-baseline=off", "shop")
    assert before == [
        (2, "DJG001"),
        (3, "DJG001"),
        (8, "DJG006"),
        (14, "DJG006"),
        (22, "DJG006"),
        (27, "DJG006"),
    ]
    result = record_baseline(project)
    assert result.returncode == 0, result.stderr
    assert flake8(project, "shop") == []
    views.write_text(VIEWS_REFACTORED)
    # every old finding moved and its neighbours changed; only the new print() is reported
    assert flake8(project, "shop") == [(24, "DJG006")]
    assert len(flake8(project, "--djguide-baseline=off", "shop")) == len(before) + 1


def test_editing_the_line_or_renaming_its_scope_reports_the_finding_again(
    project: Path,
) -> None:
    views = project / "shop" / "orders" / "views.py"
    assert record_baseline(project).returncode == 0
    edited = VIEWS.replace('print("listing", len(orders))', 'print("listed", len(orders))')
    views.write_text(edited)
    assert flake8(project, "shop") == [(8, "DJG006")]
    renamed = VIEWS.replace("def order_ship(", "def ship_order(")
    views.write_text(renamed)
    assert flake8(project, "shop") == [(14, "DJG006")]
    # a copy of a known finding's line into another function is a new finding
    copied = VIEWS + "\n\ndef debug(orders):\n    for order in orders:\n        print(order.pk)\n"
    views.write_text(copied)
    assert flake8(project, "shop") == [(33, "DJG006")]


def test_identical_lines_in_one_scope_are_counted_in_order(project: Path) -> None:
    views = project / "shop" / "orders" / "views.py"
    assert record_baseline(project).returncode == 0
    # a third identical print(order.pk) in rows(): one more than the baseline knows
    tripled = VIEWS.replace(
        "            print(order.pk)\n            yield order.pk, order.status\n",
        "            print(order.pk)\n            print(order.pk)\n"
        "            yield order.pk, order.status\n",
    )
    views.write_text(tripled)
    assert len(flake8(project, "shop")) == 1


def test_a_finding_about_the_file_is_matched_by_path_and_code(project: Path) -> None:
    tests = project / "shop" / "orders" / "tests"
    tests.mkdir()
    (tests / "__init__.py").write_text("# Copyright the shop developers\n")
    args = ["--isolated", "--jobs=1", "--select=DJG504", "--format=%(path)s|%(row)d|%(code)s"]

    def reported() -> list[str]:
        result = subprocess.run(
            [sys.executable, "-m", "flake8", *args, "shop"],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout.splitlines()

    assert reported() == ["shop/orders/tests/__init__.py|1|DJG504"]
    recorded = subprocess.run(
        [sys.executable, "-m", "flake8_djguide.baseline", *args[:3], "shop"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert recorded.returncode == 0, recorded.stderr
    assert reported() == []
    # a licence header added above what was the first line: still the same finding
    (tests / "__init__.py").write_text(
        "# SPDX-License-Identifier: MIT\n# Copyright the shop developers\n"
    )
    assert reported() == []


def test_scopes_are_the_innermost_definition_with_its_decorators() -> None:
    source = (
        "import os\n"  # 1
        "\n"
        "class Shop:\n"  # 3
        "    @property\n"  # 4
        "    def name(\n"  # 5
        "        self,\n"  # 6
        "    ):\n"
        "        def inner():\n"  # 8
        "            return os.name\n"  # 9
        "        return inner()\n"  # 10
        "\n"
        "    size = 1\n"  # 12
        "x = 1\n"  # 13
    )
    scopes = baseline.Scopes.of_lines(source.splitlines(True))
    names = [scopes.name_at(line) for line in (1, 3, 4, 6, 9, 10, 12, 13)]
    assert names == [
        "",
        "Shop",
        "Shop.name",
        "Shop.name",
        "Shop.name.inner",
        "Shop.name",
        "Shop",
        "",
    ]
    # a file ast cannot parse: everything at module level
    assert baseline.Scopes.of_lines(["def f(:\n", "    pass\n"]).name_at(2) == ""


IMPORT = "from django.http import JsonResponse\n"


def _version_1(project: Path) -> Path:
    """A format-1 baseline of the views module, as an older version wrote it."""
    path = "shop/orders/views.py"
    lines = VIEWS.splitlines(True)
    found = flake8(project, "--djguide-baseline=off", "shop")
    findings = [(line, 0, code, "") for line, code in found]
    entries = baseline.entries_for(findings, lines, version=1)
    target = project / baseline.BASELINE_NAME
    data = {"version": 1, "findings": {path: [entry.to_json() for entry in entries]}}
    target.write_text(json.dumps(data))
    return target


def test_a_format_1_baseline_still_applies_and_is_converted(project: Path) -> None:
    target = _version_1(project)
    assert flake8(project, "shop") == []
    # fingerprints of format 1 change with the neighbouring lines
    views = project / "shop" / "orders" / "views.py"
    views.write_text(VIEWS.replace(IMPORT, IMPORT + "from django.db import transaction\n"))
    assert flake8(project, "shop") == [(3, "DJG001")]
    views.write_text(VIEWS)
    result = record_baseline(project, "--prune")
    assert result.returncode == 0, result.stderr
    data = json.loads(target.read_text())
    assert data["version"] == baseline.FORMAT_VERSION
    assert len(data["findings"]["shop/orders/views.py"]) == 6
    views.write_text(VIEWS_REFACTORED)
    assert flake8(project, "shop") == [(24, "DJG006")]


def test_converting_a_format_1_baseline_needs_all_its_files(project: Path) -> None:
    target = _version_1(project)
    (project / "shop" / "blog").mkdir()
    (project / "shop" / "blog" / "__init__.py").write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "flake8_djguide.baseline", *FLAKE8, "shop/blog"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "format 1" in result.stderr and "shop/orders/views.py" in result.stderr
    assert json.loads(target.read_text())["version"] == 1
    assert os.path.exists(target)


def _adoption_script() -> object:
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "bench" / "adoption.py"
    spec = importlib.util.spec_from_file_location("bench_adoption", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("keep_plugin_state")
def test_the_adoption_measurement_on_the_example_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """bench/adoption.py's refactor on a small tree: no finding comes back (docs/adoption.md)."""
    import shutil

    examples = Path(__file__).resolve().parent.parent / "examples" / "shop"
    shutil.copytree(examples, tmp_path / "shop")
    monkeypatch.chdir(tmp_path)
    script: Any = _adoption_script()
    status = script.main([str(tmp_path / "shop"), "--isolated", "--jobs=1"])
    out = capsys.readouterr().out
    assert status == 0, out
    numbers = dict(line.split(": ", 1) for line in out.splitlines())
    baselined = int(numbers["findings baselined"].split()[0])
    assert baselined >= 10
    assert int(numbers["files refactored"].split()[0]) >= 10
    assert numbers["reported again with format-2 fingerprints"] == "0"
    # the same refactor brings findings back with fingerprints of the neighbouring lines
    assert int(numbers["reported again with format-1 fingerprints"]) > baselined // 2
