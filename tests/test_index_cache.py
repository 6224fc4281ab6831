"""The model index cache cannot go stale across Python or plugin versions, and a damaged or
hostile cache (wrong shapes, a symlink to a device, a FIFO, a symlinked cache directory)
costs a re-parse, never a failure, a hang or a write outside the project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flake8_djguide.index import build, store
from flake8_djguide.index.extract import source_facts
from flake8_djguide.index.store import cache_file_for, scan, valid_facts
from tests.robust import ROOT
from tests.test_index import make_project

BOOK = "library.models.Book"


def _poison(path: Path, facts: Any) -> None:
    """Give every cached entry ``facts`` (keeping each file's mtime and size: still valid)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for entry in data["files"].values():
        entry[2] = facts
    path.write_text(json.dumps(data), encoding="utf-8")


def test_facts_stored_by_another_python_are_not_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    # Another Python could not parse the models (newer syntax) and stored empty facts.
    other = "4/0.1.0/cpython3.99"
    monkeypatch.setattr(store, "cache_key", lambda: other)
    monkeypatch.setattr(
        store, "source_facts", lambda data, package=False: {"imports": {}, "classes": []}
    )
    first = scan(project, cache)
    assert first.written and first.files["library/models.py"]["classes"] == []
    monkeypatch.undo()
    # The running Python gets its own cache file and parses the files again.
    again = scan(project, cache)
    assert again.parsed == 6 and again.reused == 0
    assert BOOK in build(project, cache).index.models
    assert cache_file_for(project, cache) != first.cache_file
    # and the entry written under the same key is reused
    assert scan(project, cache).reused == 6


def test_a_cache_of_another_plugin_version_is_not_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    scan(project, cache)
    path = cache_file_for(project, cache)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["key"] == store.cache_key()
    for entry in data["files"].values():
        entry[2] = {"imports": {}, "classes": []}
    data["key"] = "4/0.0.1/cpython3.99"  # a file renamed or copied from another version
    path.write_text(json.dumps(data), encoding="utf-8")
    assert scan(project, cache).parsed == 6
    assert BOOK in build(project, cache).index.models


BAD_FACTS = [
    {"imports": {"models": 1}, "classes": []},
    {"imports": {}, "classes": [{"name": 3, "line": 1, "bases": [], "calls": {}}]},
    {"imports": {}, "classes": [{"name": "Book", "line": 1, "bases": "models.Model", "calls": {}}]},
    {
        "imports": {},
        "classes": [
            {"name": "Book", "line": 1, "bases": ["x"], "calls": {"author": ["call", "f", 1, 2]}}
        ],
    },
    {"imports": {}, "classes": [{"name": "B", "line": 1, "bases": [], "calls": {}, "meta": []}]},
    {
        "imports": {},
        "classes": [{"name": "B", "line": 1, "bases": [], "calls": {}, "defs": "save"}],
    },
    {"imports": {}, "classes": [], "aliases": {"User": ["ref"]}},
    {"imports": {}, "classes": [], "stars": "models"},
    {"imports": {}, "classes": [], "auth_user_model": ["accounts.User"]},
    {"imports": {}},
    {"imports": {}, "classes": [], "unknown": 1},
    ["imports"],
]


@pytest.mark.parametrize("facts", BAD_FACTS, ids=range(len(BAD_FACTS)))
def test_cache_entries_of_the_wrong_shape_are_parsed_again(tmp_path: Path, facts: Any) -> None:
    project = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    scan(project, cache)
    _poison(cache_file_for(project, cache), facts)
    assert not valid_facts(facts)
    result = scan(project, cache)
    assert (result.parsed, result.reused) == (6, 0)
    assert BOOK in build(project, cache).index.models


def test_valid_facts_accepts_every_shape_the_extractor_gives(tmp_path: Path) -> None:
    shop = ROOT / "tests" / "fixtures" / "projects" / "orm_shop"
    result = scan(shop.resolve(), tmp_path)
    assert result.files
    for rel, facts in result.files.items():
        assert valid_facts(facts), rel
    assert any(
        "methods" in c and "meta" in c for facts in result.files.values() for c in facts["classes"]
    )


def test_valid_facts_accepts_tracked_methods_and_view_facts() -> None:
    """A model overriding ``save()`` (``defs``) and base views (``view``: what they define,
    their ``get_queryset()`` returns, their ``queryset =``) are stored and read back."""
    facts = source_facts(
        b"class Product(models.Model):\n"
        b"    def save(self, *args, **kwargs):\n"
        b"        super().save(*args, **kwargs)\n\n"
        b"class CachedMixin:\n"
        b"    def get_queryset(self):\n"
        b"        self._rows = super().get_queryset()\n"
        b"        return self._rows\n\n"
        b"class ProductViewSet(CachedMixin, viewsets.ModelViewSet):\n"
        b"    queryset = Product.objects.select_related('category')\n"
        b"    def list(self, request):\n"
        b"        return super().list(request)\n"
    )
    classes = {c["name"]: c for c in facts["classes"]}
    assert classes["Product"]["defs"] == ["save"]
    assert classes["CachedMixin"]["view"]["defs"]["get_queryset"] == [
        ["call", ["attr", ["call", ["ref", "super"], [], {}], "get_queryset"], [], {}]
    ]
    assert classes["ProductViewSet"]["view"]["defs"] == {"list": "super"}
    assert "queryset" in classes["ProductViewSet"]["view"]["calls"]
    assert valid_facts(facts)
    broken = {**classes["ProductViewSet"], "view": {"defs": {"list": "elsewhere"}}}
    assert not valid_facts({**facts, "classes": [broken]})


TRACKED = """\
from django.db import models


class Book(models.Model):
    title = models.CharField(max_length=200)

    def save(self, *args, **kwargs):
        self.title = self.title.strip()
        super().save(*args, **kwargs)


class AuditMixin:
    def update(self, **fields):
        return type(self).objects.filter(pk=self.pk).update(**fields)
"""


def test_a_warm_scan_reuses_classes_that_define_save_or_update(tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "library").mkdir(parents=True)
    (project / "library" / "__init__.py").write_text("")
    (project / "library" / "models.py").write_text(TRACKED)
    cache = tmp_path / "cache"
    cold = scan(project, cache)
    classes = cold.files["library/models.py"]["classes"]
    assert [c.get("defs") for c in classes] == [["save"], ["update"]]
    warm = scan(project, cache)
    # a valid entry is reused as it is: no re-parse, and the cache is not written again
    assert (warm.parsed, warm.reused, warm.written) == (0, 2, False)
    assert warm.files == cold.files


ADMIN = """\
from django.contrib import admin

from library.models import Book


class ChapterInline(admin.TabularInline):
    model = Book


class BookAdmin(admin.ModelAdmin):
    inlines = [ChapterInline]


admin.site.register(Book, inlines=[ChapterInline])
"""


def test_a_warm_scan_reuses_admins_listing_inlines(tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "library").mkdir(parents=True)
    (project / "library" / "__init__.py").write_text("")
    (project / "library" / "admin.py").write_text(ADMIN)
    cache = tmp_path / "cache"
    cold = scan(project, cache)
    facts = cold.files["library/admin.py"]
    assert [c.get("inlines") for c in facts["classes"]] == [None, ["ChapterInline"]]
    assert facts["inlines"] == ["ChapterInline"]
    warm = scan(project, cache)
    assert (warm.parsed, warm.reused, warm.written) == (0, 2, False)
    assert warm.files == cold.files


def _scan_in_subprocess(project: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    """A scan in a child with 1 GiB of memory at most, killed after 60 s."""
    code = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from flake8_djguide.index.store import scan\n"
        "result = scan(Path(sys.argv[1]), Path(sys.argv[2]))\n"
        "print(result.parsed, result.written, result.errors)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(project), str(cache)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "symlink-to-file"])
def test_a_cache_file_that_is_not_a_regular_file_is_not_read(tmp_path: Path, kind: str) -> None:
    project = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    cache.mkdir()
    path = cache_file_for(project, cache)
    if kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        scan(project, tmp_path / "elsewhere")
        path.symlink_to(cache_file_for(project, tmp_path / "elsewhere"))
    process = _scan_in_subprocess(project, cache)
    assert process.returncode == 0, process.stderr
    assert process.stdout.startswith("6 "), process.stdout  # every file parsed


def test_a_cache_file_larger_than_the_limit_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    scan(project, cache)
    monkeypatch.setattr(store, "MAX_CACHE_BYTES", 100)
    assert scan(project, cache).parsed == 6


def test_a_symlinked_cache_directory_is_never_written(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    elsewhere = tmp_path / "victim"
    elsewhere.mkdir()
    (project / ".djguide_cache").symlink_to(elsewhere)
    result = scan(project, None)
    assert not result.written and "symbolic link" in result.errors[0]
    assert list(elsewhere.iterdir()) == []
    assert BOOK in build(project, None).index.models


def test_reading_the_cache_allocates_about_its_size(tmp_path: Path) -> None:
    """The cache file is read with a buffer of its own size, not of the largest size
    accepted (MAX_CACHE_BYTES, allocated first whatever the file holds)."""
    import tracemalloc

    project = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    scan(project, cache)
    size = cache_file_for(project, cache).stat().st_size
    tracemalloc.start()
    try:
        warm = scan(project, cache)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert warm.reused == 6
    assert peak < 1024 * 1024 + 50 * size < store.MAX_CACHE_BYTES
