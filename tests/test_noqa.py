"""``djguide noqa``: write ``# noqa: DJGxxx`` on every current finding's line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flake8_djguide.noqa import add_directives

FLAKE8 = ["--isolated", "--jobs=1", "--select=DJG0", "--extend-ignore=DJG4"]

# A management command and a services module with the shapes real projects have: prints
# left from debugging, a root-logger call, a relative import, some lines already carrying
# comments and noqa directives.
SERVICES = '''\
"""Order services."""
import logging

from .models import Order  # noqa: E402
from .tasks import notify  # the task queue's entry point

logger = logging.getLogger("orders")


def ship(order: Order) -> None:
    print("shipping", order.pk)  # type: ignore[misc]
    logging.info("shipped %s", order.pk)  # noqa
    notify(order)
    print(
        f"""shipped
        {order.pk}"""
    )
    total = order.net + \\
        print(order.vat)
'''


def flake8(cwd: Path, *args: str) -> list[tuple[int, str]]:
    result = subprocess.run(
        [sys.executable, "-m", "flake8", *FLAKE8, "--format=%(row)d|%(code)s", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return sorted((int(r), c) for r, c in (line.split("|") for line in result.stdout.splitlines()))


def djguide_noqa(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flake8_djguide", "noqa", *FLAKE8, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for package in ("shop", "shop/orders"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "shop" / "orders" / "services.py").write_text(SERVICES)
    return tmp_path


def test_directives_are_added_merged_and_placed_where_flake8_reads_them(project: Path) -> None:
    services = project / "shop" / "orders" / "services.py"
    before = flake8(project, "shop")
    assert before == [
        (4, "DJG001"),
        (5, "DJG001"),
        (7, "DJG004"),
        (11, "DJG006"),
        (14, "DJG006"),
        (19, "DJG006"),
    ]
    result = djguide_noqa(project, "shop")
    assert result.returncode == 0, result.stderr
    assert "added 6 noqa directives in 1 file" in result.stdout
    assert flake8(project, "shop") == []
    text = services.read_text()
    assert "from .models import Order  # noqa: DJG001, E402\n" in text
    assert "from .tasks import notify  # the task queue's entry point  # noqa: DJG001\n" in text
    assert 'logger = logging.getLogger("orders")  # noqa: DJG004\n' in text
    assert 'print("shipping", order.pk)  # type: ignore[misc]  # noqa: DJG006\n' in text
    assert 'logging.info("shipped %s", order.pk)  # noqa\n' in text  # bare: untouched
    # inside the statement's multi-line string: at its end, not inside the string
    assert '        {order.pk}"""\n    )\n' in text
    assert "    print(  # noqa: DJG006\n" in text
    # after a backslash continuation: on the line that ends the statement
    assert "    total = order.net + \\\n        print(order.vat)  # noqa: DJG006\n" in text
    # a second run has nothing to add
    again = djguide_noqa(project, "shop")
    assert again.returncode == 0 and "added 0 noqa directives in 0 files" in again.stdout
    assert services.read_text() == text


def test_baselined_findings_get_no_directive_unless_the_baseline_is_off(project: Path) -> None:
    services = project / "shop" / "orders" / "services.py"
    recorded = subprocess.run(
        [sys.executable, "-m", "flake8_djguide.baseline", *FLAKE8, "shop"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert recorded.returncode == 0, recorded.stderr
    assert "added 0 noqa directives" in djguide_noqa(project, "shop").stdout
    assert services.read_text() == SERVICES
    result = djguide_noqa(project, "--djguide-baseline=off", "shop")
    assert "added 6 noqa directives" in result.stdout
    assert flake8(project, "--djguide-baseline=off", "shop") == []


def test_add_directives_keeps_line_endings_and_sorts_codes() -> None:
    code = "import os\r\nfrom . import a  # noqa:F401\r\nprint(a)"
    text, added = add_directives(code, [(2, "DJG001"), (3, "DJG006"), (3, "DJG005")])
    assert added == 3
    assert text == (
        "import os\r\nfrom . import a  # noqa: DJG001, F401\r\nprint(a)  # noqa: DJG005, DJG006"
    )
    # a code already there is not added twice
    assert add_directives(text, [(2, "DJG001")]) == (text, 0)
    # code that does not tokenize is left alone
    assert add_directives("x = (\n", [(1, "DJG006")]) == ("x = (\n", 0)


def test_noqa_command_is_listed_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    from flake8_djguide.cli import main

    with pytest.raises(SystemExit):
        main(["noqa", "--help"])
    assert "usage: djguide noqa" in capsys.readouterr().out
    assert main(["--help"]) == 0
    assert "noqa" in capsys.readouterr().out
