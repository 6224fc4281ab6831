"""Regressions found by the property tests (tests/test_property.py), kept as plain examples."""

from __future__ import annotations

import pytest

from flake8_djguide.registry import by_code
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
    rules = [by_code()[code] for code in ("DJG201", "DJG202", "DJG204")]
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
