"""Fixtures shared by the tests of the ``djguide`` commands."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def keep_plugin_state() -> Iterator[None]:
    """The commands run flake8 in this process, and its option parsing configures the
    ``Plugin`` class: undo that after the test."""
    from flake8_djguide.plugin import Plugin

    saved = {
        name: getattr(Plugin, name)
        for name in vars(Plugin)
        if name.startswith("_") and not name.startswith("__")
    }
    yield
    for name, value in saved.items():
        setattr(Plugin, name, value)


@pytest.fixture
def imports_left_unsorted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Show the fixes alone: imports a fix rewrote are not re-sorted by ruff
    (tests/test_fix_cli.py tests the sorting)."""
    from flake8_djguide import importsort

    monkeypatch.setattr(importsort.ImportSorter, "sort", lambda self, path, before, after: after)
    monkeypatch.setattr(importsort, "find_ruff", lambda: "ruff")
