"""A checked file whose text is the one the model index read takes its facts from the index:
its classes and imports are not extracted again (``ProjectIndex.same_source``)."""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path
from typing import Any

import pytest

import flake8_djguide.index as index_module
from flake8_djguide.index import clear_memo
from flake8_djguide.index.extract import source_digest, text_digest

MODELS = """\
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)


class Book(models.Model):
    title = models.CharField(max_length=100)
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
"""

VIEWS = """\
from django.http import JsonResponse

from library.models import Book


class Shelf:
    def titles(self):
        return [f"{book.title} by {book.author.name}" for book in Book.objects.all()]


def books(request):
    return JsonResponse({"books": Shelf().titles()})
"""


def _project(root: Path, newline: str = "\n", bom: bool = False) -> Path:
    (root / "library").mkdir(parents=True)
    (root / "manage.py").write_text("")
    (root / "library" / "__init__.py").write_text("")
    for name, text in (("models.py", MODELS), ("views.py", VIEWS)):
        data = text.replace("\n", newline).encode("utf-8")
        (root / "library" / name).write_bytes(b"\xef\xbb\xbf" + data if bom else data)
    return root


def _flake8(
    root: Path, cache: Path, args: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = ""
) -> tuple[list[str], int]:
    """flake8 in this process: its output lines and how often a checked file's facts were
    extracted (``module_facts``) for the model index."""
    calls = [0]
    extract = index_module.module_facts

    def counting(tree: Any) -> dict[str, Any]:
        calls[0] += 1
        return extract(tree)

    monkeypatch.setattr(index_module, "module_facts", counting)
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8"))))
    from flake8 import utils
    from flake8.main.cli import main

    utils.stdin_get_value.cache_clear()  # flake8 reads stdin once per process

    output = root.parent / "output.txt"
    output.unlink(missing_ok=True)  # flake8 appends to it
    options = ["--isolated", "-j1", "--select=DJG201", f"--output-file={output}"]
    clear_memo()
    try:
        with contextlib.suppress(SystemExit):
            main([*options, f"--djguide-cache-dir={cache}", *args])
    finally:
        clear_memo()
    return sorted(output.read_text().splitlines()), calls[0]


@pytest.mark.parametrize(
    ("newline", "bom"), [("\n", False), ("\r\n", False), ("\n", True)], ids=["lf", "crlf", "bom"]
)
def test_files_as_indexed_are_not_extracted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newline: str, bom: bool
) -> None:
    root = _project(tmp_path / "p", newline, bom)
    files = ["library/models.py", "library/views.py"]
    findings, calls = _flake8(root, tmp_path / "cache", files, monkeypatch)
    assert [line.split(":")[:2] for line in findings] == [["library/views.py", "8"]]
    assert "`book.author`" in findings[0]
    assert calls == 0
    # the same findings when every file's facts are extracted and compared (as before)
    monkeypatch.setattr(index_module.ProjectIndex, "same_source", lambda *args: False)
    compared, calls = _flake8(root, tmp_path / "cache", files, monkeypatch)
    assert compared == findings and calls == 1  # views.py: models.py needs no index


def test_a_file_that_changed_since_the_index_has_its_own_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor's unsaved text on stdin: the view gains a class the index has not seen."""
    root = _project(tmp_path / "p")
    edited = VIEWS + "\n\nclass Counter:\n    pass\n"
    args = ["--stdin-display-name=library/views.py", "-"]
    findings, calls = _flake8(root, tmp_path / "cache", args, monkeypatch, stdin=edited)
    assert calls == 1 and len(findings) == 1
    findings, calls = _flake8(root, tmp_path / "cache", args, monkeypatch, stdin=VIEWS)
    assert calls == 0 and len(findings) == 1


def test_the_digests_of_a_file_and_of_its_text_agree() -> None:
    text = "class A:\n    x = 'é'\n"
    data = text.encode("utf-8")
    assert source_digest(data) == text_digest(text)
    assert source_digest(b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")) == text_digest(text)
    assert source_digest(data.replace(b"\n", b"\r")) == text_digest(text)
    assert text_digest(text + "\n") != text_digest(text)
    assert text_digest("x = '\ud800'\n") == ""  # not text any file on disk holds
