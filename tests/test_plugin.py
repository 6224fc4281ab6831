"""The real flake8 command with the plugin: files, stdin, -j2, noqa, configuration."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BAD_SERVICE = textwrap.dedent(
    """\
    import logging

    from .models import Post

    logger = logging.getLogger("blog")


    def publish(post):
        logging.info("publishing")
        print(post)
    """
)


def flake8(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # The sample code is deliberately unannotated: leave the typing rules out.
        [sys.executable, "-m", "flake8", "--select=DJG", "--extend-ignore=DJG4", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "manage.py").write_text("")
    blog = tmp_path / "blog"
    blog.mkdir()
    (blog / "__init__.py").write_text("")
    (blog / "services.py").write_text(BAD_SERVICE)
    return tmp_path


def test_version_lists_the_plugin(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--version"], capture_output=True, text=True, cwd=tmp_path
    )
    assert "flake8-djguide" in result.stdout


def test_reports_findings_on_files(project: Path) -> None:
    result = flake8("blog/services.py", cwd=project)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "blog/services.py:3:1: DJG001 relative import `from .models`; "
        "use `from blog.models import ...`",
        "blog/services.py:5:10: DJG004 module logger `logger` is created with "
        '`getLogger("blog")`; use `getLogger(__name__)`',
        "blog/services.py:9:5: DJG005 `logging.info()` logs to the root logger; "
        "call it on a module logger (`logger.info(...)`)",
        "blog/services.py:10:5: DJG006 `print()` call; use a module logger (`logger.info(...)`)",
    ]


def test_parallel_run_gives_the_same_findings(project: Path) -> None:
    for index in range(4):
        (project / "blog" / f"copy{index}.py").write_text(BAD_SERVICE)
    serial = flake8("-j1", "blog", cwd=project)
    parallel = flake8("-j2", "blog", cwd=project)
    assert sorted(serial.stdout.splitlines()) == sorted(parallel.stdout.splitlines())
    assert len(serial.stdout.splitlines()) == 20


def test_stdin_uses_the_display_name_for_contexts(project: Path) -> None:
    code = "def test_x():\n    print('debug')\n"
    as_test = flake8("--stdin-display-name", "blog/tests/test_x.py", "-", cwd=project, stdin=code)
    assert as_test.stdout == ""
    as_app = flake8("--stdin-display-name", "blog/views.py", "-", cwd=project, stdin=code)
    assert "blog/views.py:2:5: DJG006" in as_app.stdout


def test_stdin_never_reads_the_file_from_disk(project: Path) -> None:
    # The buffer differs from the file on disk: findings follow the buffer.
    result = flake8(
        "--stdin-display-name", "blog/services.py", "-", cwd=project, stdin="import os\n"
    )
    assert result.stdout == ""


def test_noqa_suppresses_a_finding(project: Path) -> None:
    (project / "blog" / "services.py").write_text(
        "from .models import Post  # noqa: DJG001\nfrom .forms import PostForm\n"
    )
    result = flake8("blog/services.py", cwd=project)
    assert result.stdout.splitlines() == [
        "blog/services.py:2:1: DJG001 relative import `from .forms`; "
        "use `from blog.forms import ...`"
    ]


def test_pyproject_configuration_applies(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.djguide]\ntest-patterns = ["*/services.py"]\n')
    result = flake8("blog/services.py", cwd=project)
    assert "DJG006" not in result.stdout  # services.py is now test code
    assert "DJG001" in result.stdout


def test_flake8_option_overrides_pyproject(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.djguide]\ntest-patterns = ["*/services.py"]\n')
    result = flake8("--djguide-test-patterns=tests.py", "blog/services.py", cwd=project)
    assert "DJG006" in result.stdout


def test_unknown_pyproject_key_is_a_clear_error(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.djguide]\ntest-paterns = []\n")
    result = flake8("blog/services.py", cwd=project)
    assert result.returncode != 0
    assert "unknown key 'test-paterns' in [tool.djguide]" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_bad_flake8_option_value_is_a_clear_error(project: Path) -> None:
    result = flake8("--djguide-max-file-lines=lots", "blog/services.py", cwd=project)
    assert result.returncode != 0
    assert "option 'max-file-lines' must be a whole number" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_prefix_shadowing_prints_one_warning(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--extend-ignore=D", "blog/services.py"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert result.stderr.count("flake8-djguide: warning") == 1
    assert "extend-select = DJG" in result.stderr
    assert "DJG" not in result.stdout


def test_no_warning_when_djg_is_selected_again(project: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flake8",
            "--extend-ignore=D",
            "--extend-select=DJG",
            "blog/services.py",
        ],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert "warning" not in result.stderr
    assert "DJG001" in result.stdout


def test_opt_in_rules_are_default_ignored_and_extend_select_turns_them_on(
    tmp_path: Path,
) -> None:
    from flake8_djguide.registry import all_rules

    opt_in = [rule for rule in all_rules() if rule.OPT_IN]
    if not opt_in:
        pytest.skip("no opt-in rule is registered")
    for rule in opt_in:
        example = rule.INVALID[0]
        target = tmp_path / rule.CODE / example.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(example.code)
        plain = subprocess.run(
            [sys.executable, "-m", "flake8", "--isolated", str(target)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert f": {rule.CODE} " not in plain.stdout
        selected = subprocess.run(
            [
                sys.executable,
                "-m",
                "flake8",
                "--isolated",
                f"--extend-select={rule.CODE}",
                str(target),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert f": {rule.CODE} " in selected.stdout, rule.CODE


def test_unparsable_file_gives_one_djg000_and_others_are_checked(project: Path) -> None:
    # Valid for Python's ast (so flake8 runs plugins) is required; simulate an internal
    # error instead: a rule crash is covered in test_engine. Here: a file flake8 cannot
    # parse gets E999 from flake8 and the other files still get DJG findings.
    (project / "blog" / "broken.py").write_text("def f(:\n")
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--select=DJG,E999", "--extend-ignore=DJG4", "blog"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert "E999" in result.stdout
    assert "DJG001" in result.stdout
    assert "Traceback" not in result.stderr


class _Jobs:
    def __init__(self, n_jobs: int, is_auto: bool = False) -> None:
        self.n_jobs = n_jobs
        self.is_auto = is_auto


@pytest.mark.parametrize(
    ("jobs", "paths", "method", "expected"),
    [
        (_Jobs(2), ["DIR"], "fork", True),
        (_Jobs(2), ["a.py", "b.py"], "fork", True),
        (_Jobs(-1, is_auto=True), ["DIR"], "fork", None),  # as many as the CPUs
        (_Jobs(1), ["DIR"], "fork", False),
        (_Jobs(2), ["a.py"], "fork", False),  # one file: flake8 checks it in-process
        (_Jobs(2), ["-"], "fork", False),  # stdin
        (_Jobs(2), [], "fork", False),
        (_Jobs(2), ["DIR"], "spawn", False),  # fresh workers inherit no module
    ],
)
def test_parser_imported_before_forking_only_for_forked_workers(
    jobs: _Jobs,
    paths: list[str],
    method: str,
    expected: bool | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import argparse
    import multiprocessing
    import os

    from flake8_djguide import plugin

    monkeypatch.setattr(multiprocessing, "get_start_method", lambda allow_none=False: method)
    paths = [str(tmp_path) if p == "DIR" else p for p in paths]
    options = argparse.Namespace(jobs=jobs, filenames=paths)
    if expected is None:
        expected = (os.cpu_count() or 1) > 1
    assert plugin._parallel(options, paths) is expected
