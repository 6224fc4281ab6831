"""Regression (found by the corpus run): file contexts depended on how the path was given.

The corpus lives in ``tests/corpus/.cache``: checked with relative paths from there,
no file was test code; checked with absolute paths from elsewhere, every file was
(``*/tests/*`` matched the ``tests`` directory above the project), and the typing
rules turned around. Context patterns now match the path below the project root.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flake8_djguide import config
from flake8_djguide.context import FileContext
from tests.robust import run_flake8

VIEWS = "def index(request):\n    print(request)\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "tests" / "checkouts" / "shop"  # a project inside a "tests" directory
    (root / "blog" / "tests").mkdir(parents=True)
    (root / "manage.py").write_text("")
    for package in ("blog", "blog/tests"):
        (root / package / "__init__.py").write_text("")
    (root / "blog" / "views.py").write_text(VIEWS)
    (root / "blog" / "tests" / "test_views.py").write_text(VIEWS)
    return root


def test_context_is_judged_below_the_project_root(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = config.Settings(config.defaults())
    views = project / "blog" / "views.py"
    tests = project / "blog" / "tests" / "test_views.py"
    assert not FileContext(str(views), settings).is_test
    assert FileContext(str(tests), settings).is_test
    assert FileContext(str(views), settings).path == "/blog/views.py"
    monkeypatch.chdir(project)
    assert not FileContext("blog/views.py", settings).is_test
    assert FileContext("blog/tests/test_views.py", settings).is_test
    monkeypatch.chdir(project / "blog")
    assert not FileContext("views.py", settings).is_test


def test_without_a_project_the_path_is_taken_as_given(tmp_path: Path) -> None:
    settings = config.Settings(config.defaults())
    assert FileContext(str(tmp_path / "x" / "tests" / "t.py"), settings).is_test
    assert FileContext("stdin", settings).path == "/stdin"


def test_flake8_output_does_not_depend_on_the_working_directory(
    project: Path, tmp_path: Path
) -> None:
    args = ["--isolated", "--select=DJG"]
    inside = run_flake8([*args, "."], project)
    outside = run_flake8([*args, str(project)], tmp_path)
    inside.assert_clean()
    outside.assert_clean()

    def normalized(findings: list[tuple[str, int, int, str]], base: Path) -> list[object]:
        return sorted(
            (os.path.relpath(base / p if not os.path.isabs(p) else p, project), *rest)
            for p, *rest in findings
        )

    assert normalized(inside.findings, project) == normalized(outside.findings, tmp_path)
    codes = {(Path(p).name, m.split(" ", 1)[0]) for p, _, _, m in inside.findings}
    assert ("views.py", "DJG401") in codes  # not test code: annotations required
    assert ("test_views.py", "DJG401") not in codes  # test code


MONOREPO = Path(__file__).parent / "fixtures" / "projects" / "monorepo"


def _remedy(path: Path) -> tuple[str, bool]:
    from flake8_djguide.registry import by_code
    from tests.util import lint

    # the fix is built in whole-file runs (``djguide fix``); flake8 runs report from ``ast``
    code, rules = "from .models import Note\n", [by_code()["DJG001"]]
    [finding] = lint(code, str(path), rules, whole_file=True)
    [reported] = lint(code, str(path), rules)
    assert reported.message == finding.message
    return finding.message, finding.fix is not None


def test_manage_py_directory_is_the_import_root() -> None:
    # backend/ holds __init__.py and manage.py naming `config.settings`: backend/ is the root
    message, fixable = _remedy(MONOREPO / "backend" / "notes" / "views.py")
    assert "`from notes.models import ...`" in message and fixable


@pytest.mark.parametrize(
    ("manage", "remedy", "fixable"),
    [
        ('os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")\n', "notes", True),
        # the project imports itself through the directory: the parent is the root
        (
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'backend.config.settings')\n",
            "backend.notes",
            True,
        ),
        # manage.py does not say: no module path, no fix
        ("from django.core.management import execute_from_command_line\n", None, False),
    ],
)
def test_import_root_follows_the_settings_module_of_manage_py(
    tmp_path: Path, manage: str, remedy: str | None, fixable: bool
) -> None:
    backend = tmp_path / "backend"
    for package in ("", "config", "notes"):
        (backend / package).mkdir(parents=True, exist_ok=True)
        (backend / package / "__init__.py").write_text("")
    (backend / "manage.py").write_text(manage)
    message, fix = _remedy(backend / "notes" / "views.py")
    if remedy is None:
        assert "top-level package" in message
    else:
        assert f"`from {remedy}.models import ...`" in message
    assert fix is fixable
