"""The ``djguide`` command: check, fix, explain, rules."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from flake8_djguide.cli import main
from flake8_djguide.docs import render_rule
from flake8_djguide.registry import all_rules, by_code

pytestmark = pytest.mark.usefixtures("keep_plugin_state", "imports_left_unsorted")

ROOT = Path(__file__).resolve().parent.parent

RELATIVE = "from .models import Post\nfrom . import forms\n"
RELATIVE_FIXED = "from shop.blog.models import Post\nfrom shop.blog import forms\n"
LOGGER = 'import logging\n\nlogger = logging.getLogger("blog")\n'
LOGGER_FIXED = "import logging\n\nlogger = logging.getLogger(__name__)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Django project (manage.py, packages with __init__.py) as the working directory."""
    (tmp_path / "manage.py").write_text("")
    for package in ("shop", "shop/blog"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def views(project: Path, text: str) -> Path:
    path = project / "shop" / "blog" / "views.py"
    path.write_text(text)
    return path


# -- rules, explain ---------------------------------------------------------------------------


def test_rules_lists_code_name_default_and_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["code", "name", "default", "fix"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {rule.CODE for rule in all_rules()}
    for rule in all_rules():
        expected = [rule.CODE, rule.NAME, "opt-in" if rule.OPT_IN else "on", rule.FIX or "-"]
        assert rows[rule.CODE] == expected
    assert rows["DJG001"][3] == "safe" and rows["DJG004"][3] == "unsafe"


@pytest.mark.parametrize("spelling", ["DJG004", "djg004", "logger-not-module-named"])
def test_explain_prints_the_rule_docs(spelling: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", spelling]) == 0
    assert capsys.readouterr().out == render_rule(by_code()["DJG004"])


def test_explain_unknown_code_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "DJG999"]) == 2
    assert "no rule 'DJG999'" in capsys.readouterr().err


def test_rules_and_explain_import_neither_libcst_nor_flake8() -> None:
    script = (
        "import sys\nfrom flake8_djguide.cli import main\n"
        "main(['rules']); main(['explain', 'DJG001'])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('libcst', 'flake8'))\n"
        "sys.stderr.write(repr(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stderr == "[]"


def test_python_dash_m_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flake8_djguide", "rules"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "DJG001  relative-import" in done.stdout


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fix", "--no-such-flag"]) == 2
    assert main([]) == 2
    assert main(["--version"]) == 0
    assert "djguide 0." in capsys.readouterr().out


# -- fix ----------------------------------------------------------------------------------------


def test_fix_rewrites_files_and_prints_a_summary(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = views(project, RELATIVE)
    assert main(["fix"]) == 0
    assert path.read_text() == RELATIVE_FIXED
    out = capsys.readouterr().out
    assert out == "Fixed 2 findings in 1 file (DJG001 2).\n0 findings left.\n"


def test_fix_reports_findings_left_and_exits_1(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = views(project, RELATIVE + LOGGER.replace("\n\n", "\n"))
    assert main(["fix", "shop"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "shop/blog/views.py:4:10: DJG004 module logger `logger` is created with "
        '`getLogger("blog")`; use `getLogger(__name__)`',
        "Fixed 2 findings in 1 file (DJG001 2).",
        "1 finding left (1 fixable with --unsafe-fixes).",
    ]
    assert path.read_text().startswith(RELATIVE_FIXED)


def test_unsafe_fixes_are_applied_on_request(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = views(project, LOGGER)
    assert main(["fix", "--unsafe-fixes", "-q"]) == 0
    assert path.read_text() == LOGGER_FIXED
    assert capsys.readouterr().out == "Fixed 1 finding in 1 file (DJG004 1).\n0 findings left.\n"


def test_diff_prints_a_patch_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = views(project, RELATIVE)
    assert main(["fix", "--diff", "."]) == 1
    assert path.read_text() == RELATIVE
    captured = capsys.readouterr()
    assert captured.out == (
        "--- a/shop/blog/views.py\n+++ b/shop/blog/views.py\n@@ -1,2 +1,2 @@\n"
        "-from .models import Post\n-from . import forms\n"
        "+from shop.blog.models import Post\n+from shop.blog import forms\n"
    )
    assert "Would fix 2 findings in 1 file (DJG001 2)." in captured.err


def test_diff_of_a_file_without_final_newline_marks_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    views(project, "from .models import Post")
    main(["fix", "--diff"])
    assert capsys.readouterr().out.endswith(
        "+from shop.blog.models import Post\n\\ No newline at end of file\n"
    )


def test_select_and_ignore_choose_the_codes(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = views(project, RELATIVE + LOGGER)
    assert main(["fix", "--select", "DJG004", "--unsafe-fixes"]) == 0
    assert path.read_text() == RELATIVE + LOGGER_FIXED
    path.write_text(RELATIVE + LOGGER)
    assert main(["fix", "--ignore=DJG001", "--unsafe-fixes"]) == 0
    assert path.read_text() == RELATIVE + LOGGER_FIXED
    path.write_text(RELATIVE + LOGGER)
    assert main(["fix", "--select=DJG0", "--ignore=DJG004"]) == 0
    assert path.read_text() == RELATIVE_FIXED + LOGGER
    capsys.readouterr()
    assert main(["fix", "--select=E501"]) == 2
    assert "no flake8-djguide rule matches 'E501'" in capsys.readouterr().err


def test_bytes_bom_and_crlf_are_kept(project: Path) -> None:
    path = views(project, "")
    path.write_bytes("\ufeff# é\r\nfrom .models import Post\r\n".encode())
    assert main(["fix"]) == 0
    assert path.read_bytes() == "\ufeff# é\r\nfrom shop.blog.models import Post\r\n".encode()


def test_pep263_encoding_is_kept(project: Path) -> None:
    path = views(project, "")
    source = "# -*- coding: latin-1 -*-\nfrom .models import Post  # café\n"
    path.write_bytes(source.encode("latin-1"))
    assert main(["fix"]) == 0
    assert path.read_bytes() == source.replace(".models", "shop.blog.models").encode("latin-1")


def test_unparsable_and_undecodable_files_are_skipped_with_a_message(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = views(project, RELATIVE)
    broken = project / "shop" / "blog" / "broken.py"
    broken.write_text("from .models import (\n")
    latin = project / "shop" / "blog" / "latin.py"
    latin.write_bytes(b"x = '\xe9'\n")
    assert main(["fix"]) == 1
    assert broken.read_text() == "from .models import (\n"
    assert good.read_text() == RELATIVE_FIXED
    captured = capsys.readouterr()
    assert "shop/blog/broken.py: skipped: flake8-djguide could not check this file" in captured.err
    assert "shop/blog/latin.py: skipped:" in captured.err
    assert "2 files skipped." in captured.out


def test_writes_are_atomic_and_keep_mode_and_symlinks(project: Path) -> None:
    path = views(project, RELATIVE)
    path.chmod(0o640)
    link = project / "shop" / "blog" / "link.py"
    link.symlink_to(path.name)
    assert main(["fix", str(link)]) == 0
    assert link.is_symlink() and path.read_text() == RELATIVE_FIXED
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_project_flake8_configuration_is_respected(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = views(project, RELATIVE + LOGGER)
    other = project / "shop" / "other.py"
    other.write_text("from .blog import views\n")
    excluded = project / "shop" / "blog" / "migrations"
    excluded.mkdir()
    (excluded / "0001_initial.py").write_text("from ..models import Post\n")
    (project / "setup.cfg").write_text(
        "[flake8]\nextend-ignore = DJG004\nper-file-ignores =\n    shop/other.py: DJG001\n"
        "extend-exclude = shop/blog/migrations\n"
    )
    assert main(["fix", "--unsafe-fixes"]) == 0
    assert path.read_text() == RELATIVE_FIXED + LOGGER
    assert other.read_text() == "from .blog import views\n"
    assert (excluded / "0001_initial.py").read_text() == "from ..models import Post\n"


def test_noqa_suppresses_fixes_in_files(project: Path) -> None:
    path = views(project, "from .models import Post  # noqa: DJG001\nfrom . import forms\n")
    assert main(["fix"]) == 0
    assert (
        path.read_text()
        == "from .models import Post  # noqa: DJG001\nfrom shop.blog import forms\n"
    )


def test_opt_in_rules_need_to_be_selected(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(by_code()["DJG004"], "OPT_IN", True)
    path = views(project, LOGGER)
    assert main(["fix", "--unsafe-fixes"]) == 0
    assert main(["fix", "--unsafe-fixes", "--select=DJG"]) == 0
    assert path.read_text() == LOGGER
    assert main(["fix", "--unsafe-fixes", "--select=DJG004"]) == 0
    assert path.read_text() == LOGGER_FIXED
    path.write_text(LOGGER)
    (project / ".flake8").write_text("[flake8]\nextend-select = DJG004\n")
    assert main(["fix", "--unsafe-fixes"]) == 0
    assert path.read_text() == LOGGER_FIXED


def test_a_select_list_without_djg_fixes_nothing_as_flake8_reports_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = views(project, RELATIVE)
    (project / "tox.ini").write_text("[flake8]\nselect = E,F,W\n")
    assert main(["fix"]) == 0
    assert path.read_text() == RELATIVE
    err = capsys.readouterr().err
    assert "your flake8 'select' (E,F,W) names no DJG code" in err
    assert "'extend-select = DJG'" in err
    (project / "tox.ini").write_text("[flake8]\nselect = E,F,W\nextend-select = DJG\n")
    assert main(["fix"]) == 0
    assert path.read_text() == RELATIVE_FIXED
    assert "warning" not in capsys.readouterr().err


def test_bad_configuration_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    views(project, RELATIVE)
    (project / "pyproject.toml").write_text("[tool.djguide]\nno-such-option = 1\n")
    assert main(["fix"]) == 2
    assert "no-such-option" in capsys.readouterr().err


# -- check --------------------------------------------------------------------------------------


def test_check_runs_flake8_with_the_djg_rules(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    views(project, "import os\n" + RELATIVE)  # F401 too: flake8 reports it, check does not
    assert main(["check", "shop"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["DJG001", "DJG001"]


def test_check_with_a_select_list_without_djg_reports_what_flake8_does(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    views(project, "import os\n" + RELATIVE)
    (project / ".flake8").write_text("[flake8]\nselect = E,F,W\n")
    assert main(["check", "shop"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "djguide check: warning: your flake8 'select' (E,F,W) names no DJG code" in (
        captured.err
    )


def test_check_passes_arguments_through(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    views(project, "import os\n" + RELATIVE)
    assert main(["check", "--select=F401", "--max-line-length=10", "."]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["F401", "F401", "F401"]


def test_check_respects_ignores_and_exits_0_when_clean(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    views(project, RELATIVE)
    (project / ".flake8").write_text("[flake8]\nextend-ignore = DJG001\n")
    assert main(["check"]) == 0
    assert capsys.readouterr().out == ""


def test_check_reports_unparsable_files(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    views(project, "def f(:\n")
    assert main(["check"]) == 1
    assert "E999" in capsys.readouterr().out


def test_check_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: djguide check")


# -- packaging ----------------------------------------------------------------------------------


def test_pre_commit_hooks_run_flake8_and_the_fix_command() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    hooks = [block for block in text.split("- id: ")[1:]]
    entries = {block.split()[0]: block.split("entry: ")[1].splitlines()[0] for block in hooks}
    assert entries == {"djguide": "djguide check", "djguide-fix": "djguide fix"}
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'djguide = "flake8_djguide.cli:main"' in pyproject
    assert os.path.isfile(ROOT / "src" / "flake8_djguide" / "__main__.py")


def test_the_readme_before_and_after_example_is_what_fix_does(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Fixing code\n", 1)[1].split("\n## ", 1)[0]
    blocks = [block.split("\n", 1) for block in section.split("```")[1::2]]
    python = [body for kind, body in blocks if kind == "python"]
    text = [body for kind, body in blocks if kind == "text"]
    before, after = python
    path = views(project, before)
    assert main(["fix"]) == 1
    assert capsys.readouterr().out == text[0]
    assert main(["fix", "--unsafe-fixes"]) == 0
    assert path.read_text() == after


def test_fix_does_not_mix_stdin_with_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fix", "-", "shop"]) == 2
    assert "standard input" in capsys.readouterr().err
    assert main(["fix", "--stdin-filename", "shop/views.py", "shop"]) == 2
    assert "--stdin-filename" in capsys.readouterr().err


def test_check_version_prints_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--version"]) == 0
    assert capsys.readouterr().out.count("flake8-djguide") == 1
