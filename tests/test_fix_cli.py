"""``djguide fix``: standard input, --show-fixes, --statistics, and the project's import order.

The import-order tests need ruff (a dev dependency, never a runtime one) and are skipped
without it; the fallback without ruff is tested by taking it away.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flake8_djguide import importsort
from flake8_djguide.cli import main

pytestmark = pytest.mark.usefixtures("keep_plugin_state")

RUFF = importsort.find_ruff()
needs_ruff = pytest.mark.skipif(RUFF is None, reason="ruff is not installed")

# A views module shaped like real Django apps: sorted as ruff/isort sort it, with a
# first-party absolute import and a relative one (DJG001) in separate sections.
VIEWS = """\
import logging

from django.http import JsonResponse

from shop.core.utils import slugify

from .models import Order

logger = logging.getLogger(__name__)


def order_detail(request, pk) -> JsonResponse:
    order = Order.objects.get(pk=pk)
    print("detail", order.pk)
    return JsonResponse({"slug": slugify(order.title)})
"""

# After DJG001's fix and ruff's import sorting: one first-party block.
VIEWS_FIXED = VIEWS.replace(
    "from shop.core.utils import slugify\n\nfrom .models import Order\n",
    "from shop.core.utils import slugify\nfrom shop.orders.models import Order\n",
)

FLAKE8_CONFIG = "[flake8]\nmax-line-length = 100\nextend-ignore = DJG4\n"
RUFF_CONFIG = (
    '[tool.ruff]\nline-length = 100\n\n[tool.ruff.lint.isort]\nknown-first-party = ["shop"]\n'
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "manage.py").write_text("")
    (tmp_path / ".flake8").write_text(FLAKE8_CONFIG)
    (tmp_path / "pyproject.toml").write_text(RUFF_CONFIG)
    for package in ("shop", "shop/orders", "shop/core"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "shop" / "orders" / "views.py").write_text(VIEWS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ruff_import_findings(path: Path) -> str:
    assert RUFF is not None
    result = subprocess.run(
        [RUFF, "check", "--select", "I", "--output-format=concise", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout if result.returncode else ""


@needs_ruff
def test_rewritten_imports_are_sorted_with_the_projects_ruff(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    views = project / "shop" / "orders" / "views.py"
    assert ruff_import_findings(views) == ""
    assert main(["fix", "shop"]) == 1  # the print() is left
    assert views.read_text() == VIEWS_FIXED
    assert ruff_import_findings(views) == ""
    out = capsys.readouterr().out
    assert "Imports re-sorted in 1 file by ruff (ruff check --select I --fix" in out
    # the finding left is reported where it is after sorting
    assert "shop/orders/views.py:13:5: DJG006" in out


@needs_ruff
def test_imports_inside_functions_are_sorted_too(project: Path) -> None:
    views = project / "shop" / "orders" / "views.py"
    inner = (
        "def export(request) -> None:\n"
        "    from shop.core.utils import slugify\n"
        "\n"
        "    from .models import Order\n"
        "\n"
        "    slugify(Order.objects.first())\n"
    )
    views.write_text(inner)
    assert ruff_import_findings(views) == ""
    assert main(["fix", "shop"]) == 0
    assert views.read_text() == inner.replace(
        "slugify\n\n    from .models", "slugify\n    from shop.orders.models"
    )
    assert ruff_import_findings(views) == ""


@needs_ruff
def test_a_nested_block_is_wrapped_at_the_line_length_where_it_stands(project: Path) -> None:
    views = project / "shop" / "orders" / "views.py"
    names = "OrderCancellationEmail, OrderConfirmationEmail, OrderRefundMessages"
    nested = f"def send(order) -> None:\n    from .models import {names}\n\n    send_all(order)\n"
    views.write_text(nested)
    # 98 columns at the left margin, 102 where it stands: over the project's 100
    assert len(f"from shop.orders.models import {names}") == 98
    assert main(["fix", "shop"]) == 0
    assert ruff_import_findings(views) == ""
    assert "    from shop.orders.models import (\n        OrderCancellationEmail,\n" in (
        views.read_text()
    )


@needs_ruff
def test_without_sorting_the_fix_alone_would_fail_ruff(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The test above can fail: the fix alone unsorts the imports, and without ruff it says so."""
    views = project / "shop" / "orders" / "views.py"
    monkeypatch.setattr(importsort, "find_ruff", lambda: None)
    assert main(["fix", "shop"]) == 1
    assert "I001" in ruff_import_findings(views)
    out = capsys.readouterr().out
    assert "Imports rewritten in 1 file were not re-sorted (ruff not found)" in out


@needs_ruff
def test_only_the_import_blocks_a_fix_rewrote_are_sorted(project: Path) -> None:
    views = project / "shop" / "orders" / "views.py"
    unsorted = "\n\ndef helper() -> None:\n    import sys\n    import os\n\n    os.sync(sys)\n"
    views.write_text(VIEWS + unsorted)
    assert "I001" in ruff_import_findings(views)
    assert main(["fix", "shop"]) == 1
    # the rewritten block is sorted; the function's block, which no fix touched, is not
    assert views.read_text() == VIEWS_FIXED + unsorted


def test_stdin_is_fixed_to_stdout(project: Path) -> None:
    data = VIEWS.replace("\n", "\r\n").encode()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flake8_djguide",
            "fix",
            "-",
            "--stdin-filename",
            "shop/orders/views.py",
        ],
        input=data,
        capture_output=True,
        check=False,
        cwd=project,
    )
    assert result.returncode == 1, result.stderr  # the print() is left
    assert b"from shop.orders.models import Order\r\n" in result.stdout
    assert b"from .models" not in result.stdout
    assert result.stdout.count(b"\r\n") == result.stdout.count(b"\n")  # CRLF kept
    stderr = result.stderr.decode()
    assert "shop/orders/views.py:" in stderr and "DJG006" in stderr
    assert "Fixed 1 finding in 1 file (DJG001 1)." in stderr
    # the file on disk is untouched
    assert (project / "shop" / "orders" / "views.py").read_text() == VIEWS


def test_stdin_with_nothing_to_fix_comes_back_unchanged(project: Path) -> None:
    clean = b'"""Nothing to fix."""\n\nVALUE = 1\n'
    result = subprocess.run(
        [sys.executable, "-m", "flake8_djguide", "fix", "-", "--stdin-filename", "shop/x.py"],
        input=clean,
        capture_output=True,
        check=False,
        cwd=project,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == clean
    broken = b"def f(:\n"
    result = subprocess.run(
        [sys.executable, "-m", "flake8_djguide", "fix", "-"],
        input=broken,
        capture_output=True,
        check=False,
        cwd=project,
    )
    assert result.returncode == 1
    assert result.stdout == broken
    assert b"skipped" in result.stderr


def test_show_fixes_lists_fixes_per_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(importsort, "find_ruff", lambda: None)
    (project / "shop" / "core" / "views.py").write_text(
        "from .utils import slugify\nfrom . import forms\n"
    )
    assert main(["fix", "--show-fixes", "-q", "shop"]) == 1
    out = capsys.readouterr().out
    assert (
        "Fixed 3 findings:\n"
        "- shop/core/views.py:\n"
        "    2 \u00d7 DJG001 (relative-import)\n"
        "- shop/orders/views.py:\n"
        "    1 \u00d7 DJG001 (relative-import)\n"
    ) in out.replace("./", "")


def test_statistics_count_the_findings_left_per_code(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "shop" / "orders" / "tasks.py").write_text(
        'import logging\n\nlogger = logging.getLogger("tasks")\n\n\n'
        "def run() -> None:\n    print(1)\n    print(2)\n"
    )
    assert main(["fix", "--statistics", "--diff", "shop"]) == 1
    captured = capsys.readouterr()
    assert "3\tDJG006\t[ ] print-call\n1\tDJG004\t[-] logger-not-module-named\n" in captured.err
    assert "DJG006 " not in captured.err  # no listing of the findings themselves
    assert captured.out.startswith("--- a/")


def test_max_line_length_wraps_a_lengthened_signature(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".flake8").write_text("[flake8]\nmax-line-length = 60\nextend-select = DJG402\n")
    path = project / "shop" / "orders" / "services.py"
    path.write_text("def ship(order, carrier, tracking_number, notify=True):\n    order.ship()\n")
    main(["fix", "--select", "DJG402", "shop/orders/services.py"])
    assert path.read_text() == (
        "def ship(\n    order, carrier, tracking_number, notify=True\n) -> None:\n    order.ship()\n"
    )


def test_ruff_is_looked_up_next_to_python_then_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    found = importsort.find_ruff()
    if found is not None:
        assert Path(found).name.startswith("ruff")
    monkeypatch.setattr(importsort.sysconfig, "get_path", lambda name: "")
    monkeypatch.setattr(importsort.sys, "executable", "/nonexistent/python")
    monkeypatch.setattr(importsort.shutil, "which", lambda name: None)
    assert importsort.find_ruff() is None
    assert shutil.which is not None
