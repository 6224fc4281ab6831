"""Option validation and the pyproject.toml table."""

from __future__ import annotations

from pathlib import Path

import pytest

from flake8_djguide import config


def test_unknown_key_names_the_key_and_the_allowed_ones() -> None:
    with pytest.raises(config.ConfigError) as error:
        config.validate_table({"test-paterns": []}, "pyproject.toml")
    message = str(error.value)
    assert "unknown key 'test-paterns'" in message and "test-patterns" in message


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("test-patterns", 3, "a list of strings"),
        ("max-file-lines", "many", "a whole number"),
        ("max-file-lines", -1, "a whole number"),
        ("project-root", ["a"], "a string"),
    ],
)
def test_bad_values_name_the_option_and_what_is_allowed(
    key: str, value: object, allowed: str
) -> None:
    with pytest.raises(config.ConfigError) as error:
        config.validate_table({key: value}, "pyproject.toml")
    assert f"option '{key}'" in str(error.value) and allowed in str(error.value)


def test_flake8_strings_are_converted() -> None:
    option = config.OPTIONS["test-patterns"]
    assert option.convert("a.py, */b/*\n c.py", "flake8") == ("a.py", "*/b/*", "c.py")
    assert config.OPTIONS["max-file-lines"].convert("10", "flake8") == 10


def test_precedence_flake8_over_pyproject_over_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.djguide]\nsource-roots = ["apps"]\nmax-file-lines = 5\n'
    )
    (tmp_path / "pkg").mkdir()
    settings = config.resolve(str(tmp_path / "pkg" / "m.py"), {"max-file-lines": 7})
    assert settings.get("source-roots") == ("apps",)
    assert settings.get("max-file-lines") == 7
    assert settings.get("test-patterns") == config.OPTIONS["test-patterns"].default


def test_nearest_pyproject_with_the_table_wins(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.djguide]\nsource-roots = ["outer"]\n')
    inner = tmp_path / "sub"
    inner.mkdir()
    (inner / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    settings = config.resolve(str(inner / "m.py"), {})
    assert settings.get("source-roots") == ("outer",)
