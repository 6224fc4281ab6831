"""The index keeps what it can of a module Python cannot parse (``index/recover.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

from flake8_djguide import index as index_module
from flake8_djguide.index import build
from flake8_djguide.index.extract import source_facts
from flake8_djguide.index.recover import MAX_REPAIRS, recovered_tree
from tests.util import lint

#: A models module still written for Python 2: the error is inside one method.
PY2_MODELS = b"""# -*- coding: utf-8 -*-
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)

    def display(self):
        try:
            return self.name.title()
        except ValueError, e:
            print "could not title", e
            return self.name


class Book(models.Model):
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    title = models.CharField(max_length=100)

    @property
    def label(self):
        return u"%s by %s" % (self.title, self.author.name)
"""

#: A models module in the middle of an edit: an unclosed call in a decorated method.
EDITED_MODELS = b"""from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)

    @property
    def initials(self):
        return "".join(part[0] for part in self.name.split(


class Book(models.Model):
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
    title = models.CharField(max_length=100)
"""


def _classes(tree: ast.Module | None) -> dict[str, list[str]]:
    assert tree is not None
    return {
        node.name: [
            s.name if isinstance(s, ast.FunctionDef) else type(s).__name__ for s in node.body
        ]
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }


def test_a_python_2_method_is_left_out_and_the_rest_kept() -> None:
    classes = _classes(recovered_tree(PY2_MODELS))
    assert classes == {
        "Author": ["Assign", "Pass"],  # display() is replaced by ``pass``
        "Book": ["Assign", "Assign", "label"],
    }


def test_a_method_being_edited_goes_with_its_decorator() -> None:
    classes = _classes(recovered_tree(EDITED_MODELS))
    assert classes == {"Author": ["Assign", "Pass"], "Book": ["Assign", "Assign"]}


def test_nothing_is_recovered_from_an_error_outside_a_function() -> None:
    assert recovered_tree(b"from django.db import models\nprint 'models'\n") is None
    assert recovered_tree(b"class A(models.Model):\n    name = (\n") is None
    assert recovered_tree(b"\xff\xfe not text") is None


def test_the_repairs_are_bounded() -> None:
    broken = "".join(f"def f{n}():\n    print 'x'\n" for n in range(MAX_REPAIRS + 1))
    assert recovered_tree(broken.encode()) is None
    fewer = "".join(f"def f{n}():\n    print 'x'\n" for n in range(MAX_REPAIRS))
    tree = recovered_tree(fewer.encode())
    assert tree is not None and all(isinstance(s, ast.Pass) for s in tree.body)


def test_the_index_has_the_models_of_a_module_python_rejects() -> None:
    facts = source_facts(PY2_MODELS)
    assert [c["name"] for c in facts["classes"]] == ["Author", "Book"]
    assert "Book.label" in facts["functions"]
    assert "Author.display" not in facts.get("functions", {})
    assert source_facts(b"class A:\n    print 'x'\n") == {"imports": {}, "classes": []}


VIEWS = """from library.models import Book


def titles():
    for book in Book.objects.all():
        print(book.author.name)


def loaded_titles():
    for book in Book.objects.select_related("author"):
        print(book.author.name)
"""


def test_a_loop_over_a_model_of_a_broken_module_is_reported(tmp_path: Path) -> None:
    from flake8_djguide.registry import by_code

    root = tmp_path / "proj"
    (root / "library").mkdir(parents=True)
    (root / "manage.py").write_text("")
    (root / "library" / "__init__.py").write_text("")
    (root / "library" / "models.py").write_bytes(EDITED_MODELS)
    views = root / "library" / "views.py"
    views.write_text(VIEWS)
    index_module.clear_memo()
    relations = build(root, None).index.models["library.models.Book"].relations
    assert relations["author"].target == "library.models.Author"
    found = lint(VIEWS, str(views), [by_code()["DJG201"]])
    assert [(f.line, f.col, f.code) for f in found] == [(6, 14, "DJG201")]
    assert "author" in found[0].message


def test_a_module_of_functions_only_is_not_recovered() -> None:
    helpers = b"def label(book):\n    return book.author.name\n\n\ndef broken():\n    print 'x'\n"
    assert recovered_tree(helpers) is not None
    assert source_facts(helpers) == {"imports": {}, "classes": []}
