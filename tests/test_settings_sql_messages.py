"""Messages that fixtures cannot show: DJG204 names a quoting function for interpolated
identifiers and `%s` placeholders for values; DJG301/DJG302/DJG304 say which kind of
committed value they found (a branch, a fallback)."""

from __future__ import annotations

import pytest

from flake8_djguide.registry import by_code
from tests.util import lint

REPORTS = "reports/queries.py"
SETTINGS = "config/settings/production.py"
QUOTING = "connection.ops.quote_name()"
PLACEHOLDERS = "`%s` placeholders"


def messages(code: str, source: str, path: str) -> list[str]:
    return [f.message for f in lint(source, path, [by_code()[code]])]


def sql_function(statement: str, params: str = "value") -> str:
    return (
        "from django.db import connection\n\n\n"
        f"def run({params}):\n"
        "    with connection.cursor() as cursor:\n"
        f"        cursor.execute({statement})\n"
    )


@pytest.mark.parametrize(
    "statement",
    [
        'f"SELECT COUNT(*) FROM {value}"',
        'f"SELECT * FROM shop_product ORDER BY {value} DESC"',
        '"DROP TABLE IF EXISTS %s" % value',
        '"SELECT * FROM shop_product ORDER BY {}".format(value)',
        "f'SELECT \"{value}\" FROM shop_product'",
        'f"SELECT * FROM {value}.shop_product"',
        '"SELECT * FROM " + value',
    ],
)
def test_interpolated_identifier_names_a_quoting_function(statement: str) -> None:
    [message] = messages("DJG204", sql_function(statement), REPORTS)
    assert QUOTING in message and "psycopg.sql.Identifier" in message
    assert PLACEHOLDERS not in message


def test_identifier_named_by_its_variable() -> None:
    source = sql_function('f"SELECT {column_name} FROM shop_product"', "column_name")
    [message] = messages("DJG204", source, REPORTS)
    assert QUOTING in message


@pytest.mark.parametrize(
    "statement",
    [
        "f\"SELECT * FROM shop_product WHERE name = '{value}'\"",
        "\"SELECT * FROM shop_product WHERE name LIKE '%%%s%%'\" % value",
        'f"SELECT * FROM shop_product WHERE id IN ({value})"',
        'f"SELECT * FROM shop_product LIMIT {value}"',
        '"SELECT * FROM shop_product WHERE id = " + value',
        "f'SELECT * FROM shop_product WHERE name = \"{value}\"'",
        'f"INSERT INTO shop_tag (name, slug) VALUES (%s, {value})"',
    ],
)
def test_interpolated_value_names_placeholders(statement: str) -> None:
    [message] = messages("DJG204", sql_function(statement), REPORTS)
    assert PLACEHOLDERS in message and QUOTING not in message


def test_identifier_and_value_name_both_remedies() -> None:
    source = sql_function('f"SELECT * FROM {table} WHERE id = {value}"', "table, value")
    [message] = messages("DJG204", source, REPORTS)
    assert QUOTING in message and PLACEHOLDERS in message


def test_secret_key_in_a_branch_says_so() -> None:
    source = 'import os\n\nSECRET_KEY = "dev" if DEBUG else os.environ["SECRET_KEY"]\n'
    [message] = messages("DJG301", source, SETTINGS)
    assert "one branch" in message


def test_secret_key_through_a_helper_says_fallback() -> None:
    source = (
        "import os\n\n\ndef env(name, default=None):\n    return os.getenv(name, default)\n\n\n"
        'SECRET_KEY = env("SECRET_KEY", "dev")\n'
    )
    [message] = messages("DJG301", source, SETTINGS)
    assert "fallback" in message


def test_imported_helper_is_not_followed() -> None:
    source = 'from config.env import env\n\nSECRET_KEY = env("SECRET_KEY", "dev")\n'
    assert messages("DJG301", source, SETTINGS) == []


def test_allowed_hosts_fallback_says_what_to_do() -> None:
    source = 'import os\n\nALLOWED_HOSTS = os.getenv("ALLOWED_HOSTS", "*").split(",")\n'
    [message] = messages("DJG304", source, SETTINGS)
    assert "falls back to" in message and "no default" in message
