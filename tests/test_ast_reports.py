"""Rules that report from flake8's ``ast`` tree (``Rule.REPORTS_FROM_AST``: DJG001, DJG002,
DJG401, DJG402, DJG404) report exactly what their libcst visitors report: line, column and
message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flake8_djguide.engine import Engine
from flake8_djguide.registry import all_rules, by_code
from flake8_djguide.rule import Finding, Rule
from tests.util import FIXTURES, all_fixtures, lint, load_fixture, settings_with

RULES = by_code()
FROM_AST = [rule for rule in all_rules() if rule.REPORTS_FROM_AST]


def _found(findings: list[Finding]) -> list[tuple[int, int, str]]:
    return sorted((f.line, f.col, f.message) for f in findings)


def _check(code: str, path: str, rules: list[type[Rule]], **options: object) -> Any:
    engine = Engine(rules)
    return engine.check(code.splitlines(True), path, settings_with(options), release_trees=True)


def test_the_import_and_typing_rules_report_from_ast() -> None:
    assert {rule.CODE for rule in FROM_AST} == {"DJG001", "DJG002", "DJG401", "DJG402", "DJG404"}


@pytest.mark.parametrize("path", all_fixtures(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_ast_findings_equal_the_visitors_findings_on_every_fixture(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every rule on every fixture, as flake8 runs it: the same findings, messages included,
    with the findings taken from the ``ast`` tree and with the libcst visitors."""
    fixture = load_fixture(path)
    rules = list(all_rules())
    lines = fixture.code.splitlines(True)
    settings = settings_with(fixture.options)
    from_ast = Engine(rules).check(lines, fixture.lint_path, settings, release_trees=True)
    for rule in FROM_AST:
        monkeypatch.setattr(rule, "REPORTS_FROM_AST", False)
    by_visitor = Engine(rules).check(lines, fixture.lint_path, settings, release_trees=True)
    assert _found(from_ast.findings) == _found(by_visitor.findings)


SHAPES = '''\
"""Orders API."""
from rest_framework import serializers, viewsets


class OrderSerializer(serializers.ModelSerializer):
    total = serializers.SerializerMethodField()

    def get_total(self, obj):
        return obj.total

    async def refresh(self, *args, **kwargs):
        yield 1


def export(request, *,  fmt="csv", **  options):
    pass


@transaction.atomic
async  def sync(order_id):
    """Sync."""
    return None
'''


def test_shapes_of_stars_spacing_and_async_defs() -> None:
    rules = [RULES["DJG401"], RULES["DJG402"], RULES["DJG404"]]
    result = _check(SHAPES, "shop/api.py", rules)
    assert not result.parsed
    whole = lint(SHAPES, "shop/api.py", rules, whole_file=True)
    assert _found(result.findings) == _found(whole)
    positions = [(f.line, f.col, f.code) for f in result.findings]
    assert (11, 28, "DJG401") in positions  # `*args`: at the star
    assert (11, 35, "DJG401") in positions  # `**kwargs`
    assert (15, 35, "DJG401") in positions  # `**  options`: at the stars, not the name
    assert (20, 0, "DJG402") in positions  # `async  def`: at `async`, after the decorator


# A star on another line than its name: the position needs libcst.
STAR_APART = '''\
def export(request: HttpRequest, *
           args, fmt: str = "csv") -> HttpResponse:
    """Export the orders."""
    return render_export(request, fmt)


def summary(request):
    """The summary."""
    return render_summary(request)
'''


def test_a_finding_ast_cannot_place_parses_only_its_statement() -> None:
    rules = [RULES["DJG401"], RULES["DJG402"]]
    result = _check(STAR_APART, "shop/views.py", rules)
    assert [(c.first, c.last) for c in result.chunks] == [(1, 4)]
    assert [(f.line, f.col, f.code) for f in result.findings] == [
        (1, 33, "DJG401"),
        (7, 0, "DJG402"),
        (7, 12, "DJG401"),
    ]
    assert _found(result.findings) == _found(
        lint(STAR_APART, "shop/views.py", rules, whole_file=True)
    )


def test_a_statement_parsed_for_another_rule_reports_no_finding_twice() -> None:
    """DJG401 walks the statement it could not place (``export``) with libcst; in
    ``cancel``, parsed for DJG405, its findings still come from ``ast`` only."""
    code = STAR_APART + (
        "\n\ndef cancel(order):\n"
        '    """Cancel the order."""\n'
        '    raise Exception("cannot cancel")\n'
    )
    rules = [RULES[code] for code in ("DJG401", "DJG402", "DJG404", "DJG405")]
    result = _check(code, "shop/views.py", rules)
    assert [(c.first, c.last) for c in result.chunks] == [(1, 4), (12, 14)]
    assert [(f.line, f.col, f.code) for f in result.findings if f.line >= 12] == [
        (12, 0, "DJG402"),
        (12, 11, "DJG401"),
        (14, 4, "DJG405"),
    ]
    assert _found(result.findings) == _found(lint(code, "shop/views.py", rules, whole_file=True))


RETURNS = """\
def totals(orders):
    try:
        total = sum(o.amount for o in orders)
    except TypeError:
        return 0
    else:
        log(total)
    finally:
        close()


def status(order):
    match order.state:
        case "paid":
            return order.paid_at
        case _:
            return None


def consume(channel):
    while True:
        message = yield  # a generator: no `-> None`
        handle(message)


def register(site):
    def view(request):
        return render(request)

    class Admin:
        def get(self):
            return 1

    site.register(view)
"""


def test_the_return_remedy_reads_the_whole_body() -> None:
    rules = [RULES["DJG402"]]
    result = _check(RETURNS, "shop/services.py", rules)
    assert not result.parsed
    remedies = {f.line: f.message.rsplit("; ", 1)[1] for f in result.findings}
    assert remedies == {
        1: "add `-> <return type>`",
        12: "add `-> <return type>`",
        20: "add `-> <return type>`",
        26: "add `-> None`",
        27: "add `-> <return type>`",
        31: "add `-> <return type>`",
    }
    assert _found(result.findings) == _found(
        lint(RETURNS, "shop/services.py", rules, whole_file=True)
    )


IMPORTS_IN_FUNCTIONS = """\
\"\"\"Blog views.\"\"\"


def post_detail(request, pk):
    from .signals import post_viewed
    from config.settings import base

    label = "Résumé"; from ..core.utils import slugify
    return post_viewed, base, slugify(label)
"""


def test_imports_inside_functions_parse_nothing() -> None:
    """DJG001 and DJG002 place their findings on the ``ast`` import (columns in characters
    after a non-ASCII string): the function holding them is not parsed."""
    path = str(FIXTURES / "projects" / "shop" / "shop" / "blog" / "views.py")
    rules = [RULES["DJG001"], RULES["DJG002"]]
    result = _check(IMPORTS_IN_FUNCTIONS, path, rules)
    assert not result.parsed
    assert [(f.line, f.col, f.code) for f in result.findings] == [
        (5, 4, "DJG001"),
        (6, 4, "DJG002"),
        (8, 22, "DJG001"),
    ]
    whole = lint(IMPORTS_IN_FUNCTIONS, path, rules, whole_file=True)
    assert _found(result.findings) == _found(whole)
