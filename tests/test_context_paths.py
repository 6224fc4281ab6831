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
