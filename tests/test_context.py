"""File contexts and module-name resolution."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flake8_djguide import config
from flake8_djguide.context import FileContext, ModuleInfo, matches, posix_path
from flake8_djguide.helpers import glob_match

SETTINGS = config.Settings(config.defaults())


def ctx(path: str, info: ModuleInfo | None = None) -> FileContext:
    return FileContext(path, SETTINGS, info)


@pytest.mark.parametrize(
    "path",
    [
        "test_views.py",
        "blog/views_test.py",
        "blog/tests.py",
        "conftest.py",
        "blog/tests/x.py",
        "src/blog/test/factories.py",
        "C:\\proj\\blog\\tests\\test_x.py",
    ],
)
def test_test_context(path: str) -> None:
    assert ctx(path).is_test


@pytest.mark.parametrize(
    "path", ["blog/views.py", "testing.py", "blog/attestation.py", "contest.py"]
)
def test_not_test_context(path: str) -> None:
    assert not ctx(path).is_test


@pytest.mark.parametrize(
    ("path", "dev"),
    [
        ("config/settings/development.py", True),
        ("myproject/local_settings.py", True),
        ("config/settings/test.py", True),
        ("config/settings/configuration_testing.py", True),
        ("config/settings/ci.py", True),
        ("config/settings/production.py", False),
        ("config/settings/commercial.py", False),
        ("myproject/settings.py", False),
        ("config/settings/base.py", False),
        ("config/settings/circle.py", False),
    ],
)
def test_development_settings(path: str, dev: bool) -> None:
    context = ctx(path)
    assert context.is_settings
    assert context.is_dev_settings is dev


def test_a_module_assigning_secret_key_is_settings() -> None:
    import ast

    info = ModuleInfo.from_tree(ast.parse("SECRET_KEY = 'x'\n"))
    assert ctx("myproject/conf.py", info).is_settings
    assert not ctx("myproject/conf.py").is_settings


def test_other_contexts() -> None:
    assert ctx("shop/migrations/0001_initial.py").is_migration
    assert ctx("blog/management/commands/sync.py").is_management_command
    assert not ctx("blog/management/__init__.py").is_management_command
    assert ctx("blog/factories.py").is_factories and ctx("blog/factories/post.py").is_factories


def test_patterns_without_slash_match_the_basename_only() -> None:
    assert matches(posix_path("a/tests.py"), ["tests.py"])
    assert not matches(posix_path("tests.py/x.py"), ["tests.py"])
    assert matches(posix_path("a/b/tests/x.py"), ["*/tests/*"])
    assert matches(posix_path("tests/x.py"), ["*/tests/*"])


def test_module_name_from_init_files(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text("")
    package = tmp_path / "shop" / "blog"
    package.mkdir(parents=True)
    (tmp_path / "shop" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    context = ctx(str(package / "views.py"))
    assert context.module_name == "shop.blog.views"
    assert context.package == "shop.blog"
    assert ctx(str(package / "__init__.py")).package == "shop.blog"


def test_module_name_from_a_source_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    directory = tmp_path / "src" / "payments"
    directory.mkdir(parents=True)
    assert ctx(str(directory / "api.py")).module_name == "payments.api"


def test_module_name_unresolvable_on_bare_stdin() -> None:
    assert ctx("stdin").module_name is None


@given(
    text=st.text(alphabet="ab_./*", max_size=12),
    pattern=st.text(alphabet="ab_./*", max_size=8),
)
@settings(max_examples=3000, deadline=None)
def test_glob_match_is_fnmatchcase(text: str, pattern: str) -> None:
    """The patterns of ``test-patterns``, ``settings-patterns``, ``docstring-hook-methods``...
    are matched as ``fnmatch.fnmatchcase`` does, without a regular expression when ``*`` is
    their only wildcard."""
    assert glob_match(text, pattern) == fnmatch.fnmatchcase(text, pattern)


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("test_views.py", "test_*.py", True),
        ("tests/test_views.py", "*/tests/*", False),
        ("app/tests/test_views.py", "*/tests/*", True),
        ("aXbXc", "a*b*c", True),
        ("abc", "a*bc*c", False),
        ("settings_dev.py", "settings_?ev.py", True),
        ("settings_b.py", "settings_[ab].py", True),
    ],
)
def test_glob_match_examples(text: str, pattern: str, expected: bool) -> None:
    assert glob_match(text, pattern) is expected
