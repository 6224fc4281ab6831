"""The ``[tool.djguide]`` table is read from the parsed TOML, whatever its spelling; every
problem with it is one line naming the file and the key; typos of ``djguide-*`` keys in
flake8's configuration get a warning with the closest option."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flake8_djguide import config

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "text",
    [
        "[tool.djguide]\nmax-file-lines = 5\n",
        "[ tool.djguide ]\nmax-file-lines = 5\n",
        '[tool."djguide"]\nmax-file-lines = 5\n',
        "[ 'tool' . 'djguide' ]\nmax-file-lines = 5\n",
        "[tool]\ndjguide.max-file-lines = 5\n",
        "[tool]\ndjguide = { max-file-lines = 5 }\n",
        "tool.djguide.max-file-lines = 5\n",
        "tool = { djguide = { max-file-lines = 5 } }\n",
        '[tool."\\u0064jguide"]\nmax-file-lines = 5\n',
        "[tool.ruff]\nline-length = 100\n\n[tool.djguide]  # linting\nmax-file-lines = 5\n",
    ],
)
def test_every_spelling_of_the_table_is_read(tmp_path: Path, text: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    settings = config.resolve(str(tmp_path / "views.py"), {})
    assert settings.get("max-file-lines") == 5


def test_a_comment_naming_the_table_does_not_hide_the_parents_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.djguide]\nsource-roots = ["apps"]\n')
    inner = tmp_path / "shop"
    inner.mkdir()
    (inner / "pyproject.toml").write_text(
        "[project]\nname = 'shop'\n# settings are in the repository's [tool.djguide]\n"
    )
    settings = config.resolve(str(inner / "models.py"), {})
    assert settings.get("source-roots") == ("apps",)
    # and a table in a string value is not a table either
    (inner / "pyproject.toml").write_text("[project]\ndescription = '[tool.djguide] example'\n")
    assert config.resolve(str(inner / "urls.py"), {}).get("source-roots") == ("apps",)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[tool]\ndjguide = 1\n", "key 'tool.djguide' must be a table"),
        (b"tool.djguide = 'off'\n", "key 'tool.djguide' must be a table"),
        (b"[tool.djguide]\nmax-file-lines = \n", "invalid TOML"),
        (b"[tool.djguide]\nproject-root = '\xff'\n", "not valid UTF-8"),
        (b"[tool.djguide]\nmax-file-lenes = 3\n", "unknown key 'max-file-lenes'"),
        (b"[tool.djguide]\nmax-file-lines = 'lots'\n", "option 'max-file-lines'"),
    ],
)
def test_a_broken_table_is_one_line_naming_the_file_and_key(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(content)
    with pytest.raises(config.ConfigError) as error:
        config.resolve(str(tmp_path / "views.py"), {})
    message = str(error.value)
    assert message.startswith(f"{path}: ") and expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "content",
    [
        b"tool = 1\n# the linters' settings are in the parent's [tool.djguide]\n",
        b"[project]\nname = 'x'\n",
        b"\xff\xfe[project]\n",
        b"not toml at all [",
    ],
)
def test_a_file_without_a_djguide_table_is_skipped(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.djguide]\nmax-file-lines = 9\n")
    inner = tmp_path / "app"
    inner.mkdir()
    (inner / "pyproject.toml").write_bytes(content)
    assert config.resolve(str(inner / "views.py"), {}).get("max-file-lines") == 9


def _flake8(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--select=DJG", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def test_flake8_reports_a_broken_table_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool]\ndjguide = 1\n")
    (tmp_path / "views.py").write_text("x = 1\n")
    run = _flake8(tmp_path, "views.py")
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert "key 'tool.djguide' must be a table" in run.stderr + run.stdout


def test_a_typo_in_a_flake8_option_is_warned_about(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text(
        "[flake8]\nmax-line-length = 100\ndjguide-tset-patterns = test_*.py\n"
        "djguide_max_file_lines = 10\n"
    )
    (tmp_path / "views.py").write_text("x = 1\n")
    run = _flake8(tmp_path, "views.py")
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("warning") == 1, run.stderr
    assert "unknown option 'djguide-tset-patterns'" in run.stderr
    assert "did you mean 'djguide-test-patterns'?" in run.stderr


def test_unknown_flake8_keys() -> None:
    warnings = config.unknown_flake8_keys(
        ["max-line-length", "djguide-test-patterns", "djguide_source_roots", "djguide-servre"]
    )
    assert len(warnings) == 1 and "'djguide-server'" in warnings[0]


def test_djguide_commands_report_a_broken_table_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from flake8_djguide import cli
    from tests.robust import plugin_state

    (tmp_path / "pyproject.toml").write_text("[tool]\ndjguide = 1\n")
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "services.py").write_text("print(1)\n")
    monkeypatch.chdir(tmp_path)
    with plugin_state():
        assert cli.main(["baseline", "shop"]) == 2
        assert cli.main(["fix", "shop"]) == 2
    err = capsys.readouterr().err
    assert err.count("key 'tool.djguide' must be a table") == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 2
    assert not (tmp_path / ".djguide-baseline.json").exists()
