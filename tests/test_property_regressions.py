"""Regressions found by the property tests (tests/test_property.py), kept as plain examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from flake8_djguide import config
from flake8_djguide.fix import fix_source
from flake8_djguide.registry import by_code
from tests.robust import make_project
from tests.util import lint, triples

# hypothesmith/template example: SQL built at module level in one statement and run in
# the next. The chunked run parsed only the ``execute`` statement and saw no assignment;
# the whole-file run followed ``post`` and reported DJG204: the two modes disagreed.
# Module-level names are now unknown to the ORM flow analysis in both modes.
MODULE_LEVEL_FLOWS = [
    'post = "" + post\nconnection.cursor().execute(post)\n',
    'sql = "SELECT * FROM t WHERE id = %s" % ident\ncursor.execute(sql)\n',
    "qs = Post.objects.all()\nfor post in qs:\n    print(post.category.name)\n",
    "posts = Post.objects.all()\nfor post in posts:\n    post.save()\n",
]


@pytest.mark.parametrize("source", MODULE_LEVEL_FLOWS)
def test_module_level_flows_agree_chunked_and_whole_file(source: str) -> None:
    rules = [by_code()[code] for code in ("DJG201", "DJG202", "DJG204", "DJG208")]
    chunked = triples(lint(source, "shop/views.py", rules))
    whole = triples(lint(source, "shop/views.py", rules, whole_file=True))
    assert chunked == whole


def test_flows_inside_a_function_are_still_followed() -> None:
    source = (
        "from django.db import connection\n\n\ndef total(year):\n"
        '    sql = "SELECT SUM(total) FROM shop_order WHERE year = %s" % year\n'
        "    with connection.cursor() as cursor:\n        cursor.execute(sql)\n"
    )
    rules = [by_code()["DJG204"]]
    assert triples(lint(source, "shop/views.py", rules)) == [(5, 10, "DJG204")]
    assert triples(lint(source, "shop/views.py", rules, whole_file=True)) == [(5, 10, "DJG204")]


# Found on Python 3.13 (hypothesmith): the DJG001 fix of `from.import x` wrote
# `from shop.blogimport x`; libcst refused to build it ("Must have at least one space
# after from") and djguide fix reported the fix as failed.
@pytest.mark.parametrize(
    ("source", "fixed"),
    [
        ("globalmatch;from.import(match)\n", "globalmatch;from shop.blog import(match)\n"),
        ("from..models import(Post)\n", "from shop.models import(Post)\n"),
        ("from  .models  import Post\n", "from  shop.blog.models  import Post\n"),
    ],
)
def test_relative_import_fix_without_spaces(source: str, fixed: str, tmp_path: Path) -> None:
    contexts = make_project(tmp_path)
    filename = contexts["module"]
    result = fix_source(
        source, filename, [by_code()["DJG001"]], config.resolve(filename, {}), unsafe=True
    )
    assert result.problems == []
    assert result.source == fixed
