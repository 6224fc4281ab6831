"""The model index cache carries a MAC made with a key only the user can read: a file the
plugin wrote itself is used without checking each entry's shape again, while any other file
(edited, copied from another project, committed to a repository, written where there was
no key) is checked entry by entry, as before."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flake8_djguide.index import build, store
from flake8_djguide.index.extract import FORMAT
from flake8_djguide.index.store import SECRET_NAME, cache_file_for, cached_files, scan
from tests.test_index import make_project

BOOK = "library.models.Book"


@pytest.fixture
def private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's private directory of this test, where the key is made."""
    directory = tmp_path / "private"
    monkeypatch.setenv("DJGUIDE_SERVER_DIR", str(directory))
    return directory


def _no_shape_checks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record each entry whose shape is checked."""
    checked: list[object] = []
    original = store.valid_facts

    def recording(facts: object) -> bool:
        checked.append(facts)
        return original(facts)

    monkeypatch.setattr(store, "valid_facts", recording)
    return checked


def test_a_cache_the_plugin_wrote_is_trusted(
    tmp_path: Path, private: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    first = scan(project, cache)
    assert first.written and first.parsed == 6
    key = private / SECRET_NAME
    assert key.stat().st_size == 32 and stat.S_IMODE(key.stat().st_mode) == 0o600
    path = cache_file_for(project, cache)
    files, trusted = cached_files(path, project, FORMAT)
    assert trusted and set(files) == set(first.files)
    checked = _no_shape_checks(monkeypatch)
    again = scan(project, cache)
    assert again.reused == 6 and not again.written
    assert checked == []  # no entry's shape checked again
    assert BOOK in build(project, cache).index.models


def _scanned(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A project whose cache the plugin wrote: the project, the cache directory, the file."""
    project = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    scan(project, cache)
    return project, cache, cache_file_for(project, cache)


def _rewrite(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit the cache file ``path`` as someone other than the plugin would."""
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")


def test_an_edited_cache_is_checked_entry_by_entry(
    tmp_path: Path, private: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, cache, path = _scanned(tmp_path)

    def damage(data: dict[str, Any]) -> None:  # a shape the rules cannot read; the MAC kept
        data["files"]["library/models.py"][2] = {"imports": {"models": 1}, "classes": []}

    _rewrite(path, damage)
    assert cached_files(path, project, FORMAT)[1] is False
    checked = _no_shape_checks(monkeypatch)
    again = scan(project, cache)
    assert len(checked) == 6  # every entry checked
    assert again.parsed == 1 and again.reused == 5 and again.written
    assert BOOK in build(project, cache).index.models
    # written again by the plugin: trusted from now on
    assert cached_files(path, project, FORMAT)[1] is True


def test_a_mac_made_with_another_key_is_not_trusted(
    tmp_path: Path, private: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, cache, path = _scanned(tmp_path)
    body = path.read_bytes()
    files = body[body.index(b',"files":') + len(b',"files":') : -1]
    forged = store._mac(b"k" * 32, project, FORMAT, files)  # with somebody else's key
    _rewrite(path, lambda data: data.update(mac=forged))
    assert cached_files(path, project, FORMAT)[1] is False
    # the MAC binds the project: the same file under another project's name is not trusted
    scan(project, cache)
    assert cached_files(path, project, FORMAT)[1] is True
    other = tmp_path / "other"
    other.mkdir()
    text = path.read_text(encoding="utf-8").replace(
        json.dumps(str(project)), json.dumps(str(other)), 1
    )
    copied = cache_file_for(other, cache)
    copied.write_text(text, encoding="utf-8")
    files_of_other, trusted = cached_files(copied, other, FORMAT)
    assert files_of_other and not trusted


@pytest.mark.parametrize("mode", [0o644, 0o660])
def test_a_key_others_can_read_is_not_used(
    tmp_path: Path, private: Path, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    private.mkdir(mode=0o700)
    key = private / SECRET_NAME
    key.write_bytes(b"s" * 32)
    os.chmod(key, mode)
    assert store.cache_secret() is None
    project = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    assert scan(project, cache).written
    data: dict[str, Any] = json.loads(cache_file_for(project, cache).read_text(encoding="utf-8"))
    assert data["mac"] == ""
    # without a key every run checks the entries, and nothing is written again
    checked = _no_shape_checks(monkeypatch)
    again = scan(project, cache)
    assert len(checked) == 6 and again.reused == 6 and not again.written


def test_without_a_private_directory_the_cache_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)  # open to others: never used for the key
    monkeypatch.setenv("DJGUIDE_SERVER_DIR", str(shared))
    assert store.cache_secret() is None
    assert not (shared / SECRET_NAME).exists()
    project = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    scan(project, cache)
    assert cached_files(cache_file_for(project, cache), project, FORMAT)[1] is False
    assert not scan(project, cache).written
