"""DJG201 on admin changelists: the model facts it needs from the index, and robustness."""

from __future__ import annotations

from pathlib import Path

import pytest

from flake8_djguide import index as index_module
from flake8_djguide.index import build
from flake8_djguide.index.extract import source_facts
from flake8_djguide.index.store import valid_facts
from flake8_djguide.rules.orm import NPlusOneRelation
from tests.util import lint

MODELS = """from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)


class Book(models.Model):
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
    title = models.CharField(max_length=100)

    def __str__(self):
        return f"{self.title} ({self.author.name})"

    @property
    def label(self):
        return self.title.upper()

    def price_for(self, currency):
        return self.author.rates[currency]
"""

VIEWS = """from django.views.generic import ListView


class BookList(ListView):
    def get_context_data(self):
        return {"user": self.request.user.username}
"""

ADMIN = """from django.contrib import admin

from library.models import Book


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ("__str__", "title")
"""


def make_project(root: Path, models: str = MODELS) -> Path:
    (root / "library").mkdir(parents=True)
    (root / "manage.py").write_text("")
    (root / "library" / "__init__.py").write_text("")
    (root / "library" / "models.py").write_text(models)
    (root / "library" / "views.py").write_text(VIEWS)
    (root / "library" / "admin.py").write_text(ADMIN)
    return root


def admin_findings(root: Path, cache: Path) -> list[tuple[int, int, str]]:
    index_module.clear_memo()
    path = root / "library" / "admin.py"
    found = lint(
        path.read_text(), str(path), rules=[NPlusOneRelation], options={"cache-dir": str(cache)}
    )
    index_module.clear_memo()
    return [(f.line, f.col, f.message) for f in found]


def test_self_reads_are_kept_for_model_methods_taking_only_self() -> None:
    facts = source_facts(MODELS.encode())
    book = next(c for c in facts["classes"] if c["name"] == "Book")
    assert book["methods"] == {
        "__str__": {"self_reads": [["title"], ["author", "name"]]},
        "label": {"self_reads": [["title", "upper()"]]},
    }  # price_for takes an argument: an admin column cannot name it
    assert valid_facts(facts)
    views = source_facts(VIEWS.encode())
    assert "methods" not in views["classes"][0]  # not a model: nothing kept


def test_an_admin_column_naming_str_reads_what_it_reads(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    (found,) = admin_findings(root, tmp_path / "cache")
    assert found[:2] == (8, 20)
    assert "`__str__` reads relation `author` of each `Book` row" in found[2]
    assert 'list_select_related = ("author",)' in found[2]
    index = build(root, tmp_path / "cache").index  # from the JSON cache the run wrote
    assert index.models["library.models.Book"].self_reads["__str__"] == [
        ["title"],
        ["author", "name"],
    ]
    assert admin_findings(root, tmp_path / "cache") == [found]


@pytest.mark.parametrize("broken", ["class Shelf(models.Model:\n", "\x00 = 1\n"])
def test_a_broken_models_module_gives_no_finding_and_no_crash(tmp_path: Path, broken: str) -> None:
    """The model index skips a module that does not parse: the model is then unknown."""
    root = make_project(tmp_path / "project", models=MODELS + broken)
    assert admin_findings(root, tmp_path / "cache") == []
