"""The engine's fast paths give exactly the results of the slow ones.

- positions found from a statement's ``ast`` position (positions.py) equal
  libcst's PositionProvider for every node, however the code is written;
- leaving out function bodies (``TRIGGER_SCOPE = "function"``), releasing trees
  and parsing without node validation change no finding;
- trigger predicates see every import of the file, as the rules do.
"""

from __future__ import annotations

import ast
from typing import Any

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from flake8_djguide.engine import ELIDED, Engine, parse_module
from flake8_djguide.positions import Anchors, generate, owners_of
from flake8_djguide.registry import by_code
from flake8_djguide.rule import Invalid, Rule, Valid
from flake8_djguide.walker import iter_children
from tests.util import lint, settings_with, triples

TRICKY = '''\
# a comment before everything
"""Module docstring."""
import os; import sys
x = 1 ; y = 2
if x: a = 1; b = 2
elif y: pass
else: c = 3


@decorator
# a comment between decorators
@ other.deco(1,
     2)
async def f(a, *args, b: int = 3, **kw) -> None:
    """Docstring with ünïcode."""
    s = "héllo"; t = f"{s!r:>10}"
    async with ctx() as c, other():
        async for i in aiter():
            await g(i)
    try:
        pass
    except (ValueError, TypeError) as e:
        raise
    except Exception:
        pass
    else:
        pass
    finally:
        pass
    while True:
        break
    else:
        pass
    match s:
        case "a" | "b":
            pass
        case {"k": v, **rest}:
            pass
        case Point(x=0) if y:
            pass
        case _:
            pass
    return \\
        x


class A(B, metaclass=M):
\tdef tabbed(self):
\t\treturn 1
\t@property
\tdef p(self): return 2

def g():
    try:
        pass
    except* ValueError:
        pass
    lam = lambda q: q
    del lam
    global x
    assert x, "msg"
    z: int = 5
    z += 1
    with open("f") as h: h.read()
    for k in range(3): print(k)
    (yield)
    return [i for i in range(3) if i], {k: v for k, v in []}, {*a}, (*b,)
éé = (
    1  # trailing
)
print(éé, "ü" + "é"); print(1)
'''


def _all_nodes(module: cst.Module) -> list[cst.CSTNode]:
    nodes: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(iter_children(node))
    return nodes


def _expected(module: cst.Module) -> dict[int, tuple[int, int]]:
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return {id(n): (p.start.line, p.start.column) for n, p in positions.items()}


def test_anchored_positions_equal_position_provider_for_every_node() -> None:
    lines = TRICKY.splitlines(True)
    module = cst.parse_module(TRICKY)
    expected = _expected(module)
    owners = owners_of(module, {id(n) for n in _all_nodes(module)})
    anchors = Anchors(lines)
    assert anchors.pair(module.body, ast.parse(TRICKY).body)
    by_owner: dict[int, tuple[Any, list[int]]] = {}
    for key, owner in owners.items():
        if owner is not None:
            by_owner.setdefault(id(owner), (owner, []))[1].append(key)
    checked = 0
    for owner, wanted in by_owner.values():
        start = anchors.start_of(owner)
        assert start is not None, type(owner).__name__
        line, column, indent = start
        is_elif = id(owner) in anchors.elifs
        for key in wanted:  # one at a time: generation stops right after the node
            found = generate(module, owner, [key], (line, column), indent, is_elif)
            assert found[key] == expected[key]
            checked += 1
        together = generate(module, owner, wanted, (line, column), indent, is_elif)
        assert together == {k: expected[k] for k in wanted}
    assert checked > 300


def test_generating_from_the_module_start_equals_position_provider() -> None:
    module = cst.parse_module(TRICKY)
    expected = _expected(module)
    nodes = _all_nodes(module)
    found = generate(module, module, [id(n) for n in nodes], None)
    assert {id(n): found.get(id(n)) for n in nodes} == {id(n): expected[id(n)] for n in nodes}


def test_parse_without_validation_gives_the_same_tree_and_restores_validation() -> None:
    module = parse_module(TRICKY, validate=False)
    assert module.code == TRICKY
    assert module.deep_equals(cst.parse_module(TRICKY))
    with pytest.raises(cst.CSTValidationError):
        cst.Name("a", lpar=[cst.LeftParen()])


class _MissingReturn(Rule):
    """A test rule with ``TRIGGER_SCOPE = "function"``: functions without ``->``."""

    CODE = "DJG991"
    NAME = "test-missing-return"
    MESSAGE = "`{name}` has no return annotation"
    RATIONALE = GUIDE = "test"
    VALID = [Valid("def f() -> None:\n    pass\n")]
    INVALID = [Invalid("def f():\n    pass\n", 1, 4)]
    TRIGGER_SCOPE = "function"
    AST_TRIGGERS = {
        ast.FunctionDef: lambda node, ctx: node.returns is None,
        ast.AsyncFunctionDef: lambda node, ctx: node.returns is None,
    }

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.returns is None:
            self.report(node.name, name=node.name.value)


ELIDABLE = '''\
"""Views."""
import logging

logger = logging.getLogger(__name__)


class OrderView(View):
    """Orders."""

    def get(self, request) -> None:
        """Show."""
        orders = Order.objects.filter(
            owner=request.user,
        )
        text = """
    not code
"""
        return render(request, "orders.html", {"orders": orders})

    @method_decorator(login_required)
    def post(self, request):
        def inner(x):
            return x
        return inner(request)


def typed(a: int) -> int:
    return a + 1


def helper(): return 1
'''


@pytest.mark.parametrize("release", [False, True])
def test_left_out_bodies_change_no_finding(release: bool) -> None:
    lines = ELIDABLE.splitlines(True)
    engine = Engine([_MissingReturn, by_code()["DJG005"]])
    settings = settings_with({})
    chunked = engine.check(lines, "shop/views.py", settings, release_trees=release)
    whole = engine.check(lines, "shop/views.py", settings, whole_file=True)
    assert (
        triples(chunked.findings)
        == triples(whole.findings)
        == [
            (21, 8, "DJG991"),
            (22, 12, "DJG991"),
            (31, 4, "DJG991"),
        ]
    )
    elided = [c for c in chunked.chunks if c.elided]
    assert elided, "the body of get() (its docstring too) holds no trigger and is left out"
    replaced = elided[0].replaced
    assert replaced[11].strip() == ELIDED and all(replaced[n] == "\n" for n in range(12, 19))
    # post() holds inner(), whose def has a trigger: post's body stays, inner's goes
    assert 22 not in replaced and 23 not in replaced and 24 not in replaced  # inner: one line
    assert all(c.module is None for c in chunked.chunks) is release


def test_trigger_predicates_see_imports_made_later_in_the_file() -> None:
    code = "def f():\n    warning('x')\n\n\nfrom logging import warning\n"
    rules = [by_code()["DJG005"]]
    chunked = lint(code, "app/module.py", rules)
    whole = lint(code, "app/module.py", rules, whole_file=True)
    assert triples(chunked) == triples(whole) == [(2, 4, "DJG005")]


def test_libcst_is_not_invoked_when_no_trigger_holds() -> None:
    code = "from django.conf import settings\n\n\ndef f():\n    return settings.DEBUG\n"
    result = Engine([by_code()["DJG002"], by_code()["DJG001"]]).check(
        code.splitlines(True), "app/module.py", settings_with({})
    )
    assert result.findings == [] and not result.parsed


class _ReturnsValue(_MissingReturn):
    """Like ``_MissingReturn``, deciding its message from the ``ast`` body (Rule.ast_node)."""

    CODE = "DJG992"

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        tree = self.ast_node(node)
        assert isinstance(tree, ast.FunctionDef) and tree.name == node.name.value
        if node.returns is None:
            returns = any(isinstance(n, ast.Return) and n.value for n in ast.walk(tree))
            self.report(node.name, name=f"{node.name.value}:{returns}")


def test_ast_node_gives_the_whole_body_of_a_left_out_function() -> None:
    lines = ELIDABLE.splitlines(True)
    engine = Engine([_ReturnsValue])
    settings = settings_with({})
    chunked = engine.check(lines, "shop/views.py", settings, release_trees=True)
    whole = engine.check(lines, "shop/views.py", settings, whole_file=True)
    assert any(c.elided for c in chunked.chunks)
    messages = sorted(f.message for f in chunked.findings)
    assert messages == sorted(f.message for f in whole.findings)
    assert messages == [
        "DJG992 `helper:True` has no return annotation",
        "DJG992 `inner:True` has no return annotation",
        "DJG992 `post:True` has no return annotation",
    ]


# -- big classes parsed in parts -----------------------------------------------------------

BIG_CLASS = '''\
import logging

from django.db import models


@register
class OrderQuerySet(models.QuerySet):
    """Queries on orders."""

    kind = "order"; label = "Order"
    ordering = [
        "-created",
    ]

    @property
    def totals(self):
        """Totals."""
        result = {}
        logging.debug("totals")
        for order in self.filter(paid=True):
            result[order.pk] = order.total
            # a comment in the loop
        return result
            # deeper than the body: the loop block's footer in one parse

    # owned by the next method
    async def recent(self, days=7):
        def helper(value):
            value = value + 1
            return value * 2
        text = """
not code, at column 0
"""
        items = [
            helper(order.pk)
            for order in self.filter(days=days)
        ]
        return items, text

    def short(self): return self.none()

    class Meta:
        def nested(self):
            a = 1
            b = 2
            return a + b

    def last(self):
        for order in self.all():
            logging.info("order %s", order.pk)
        return None
    # a trailing comment of the class
'''


def _parts_engine() -> Engine:
    return Engine([_MissingReturn, by_code()["DJG005"]])


def _count_parses(monkeypatch: Any) -> list[str]:
    """The texts the engine hands to libcst from now on, in order."""
    import flake8_djguide.engine as engine_module

    calls: list[str] = []
    original = engine_module.parse_module

    def counting(text: str, validate: bool = True) -> cst.Module:
        calls.append(text)
        return original(text, validate)

    monkeypatch.setattr(engine_module, "parse_module", counting)
    return calls


def test_a_class_parsed_in_parts_prints_and_equals_one_parse(monkeypatch: Any) -> None:
    import flake8_djguide.engine as engine_module

    lines = BIG_CLASS.splitlines(True)
    result = _parts_engine().check(lines, "shop/querysets.py", settings_with({}))
    (chunk,) = [c for c in result.chunks if isinstance(c.statements[0], ast.ClassDef)]
    assert chunk.elided, "helper()'s body is left out: the parts must keep that"
    calls = _count_parses(monkeypatch)
    monkeypatch.setattr(engine_module, "PART_LINES", 0)
    monkeypatch.setattr(engine_module, "MIN_PART_LINES", 2)
    in_parts = engine_module.parse_chunk(chunk, lines)
    text = engine_module.chunk_text(chunk, lines)
    assert len(calls) == 4, "the outline, then totals(), recent() and last() on their own"
    assert all(call.startswith("class _:\n") for call in calls[1:])
    one_parse = parse_module(text)
    assert in_parts.code == text
    assert in_parts.deep_equals(one_parse)


def test_a_class_parsed_in_parts_changes_no_finding(monkeypatch: Any) -> None:
    import flake8_djguide.engine as engine_module

    lines = BIG_CLASS.splitlines(True)
    settings = settings_with({})
    rules = [_MissingReturn, *(by_code()[c] for c in ("DJG005", "DJG404"))]
    one_parse = Engine(rules).check(lines, "shop/querysets.py", settings, release_trees=True)
    monkeypatch.setattr(engine_module, "PART_LINES", 0)
    monkeypatch.setattr(engine_module, "MIN_PART_LINES", 2)
    in_parts = Engine(rules).check(lines, "shop/querysets.py", settings, release_trees=True)
    assert triples(in_parts.findings) == triples(one_parse.findings)
    assert (19, 8, "DJG005") in triples(one_parse.findings)  # in totals(), a part
    assert (50, 12, "DJG005") in triples(one_parse.findings)  # in last(), a part


def test_a_class_at_the_end_of_a_file_without_newline_is_parsed_in_one_call(
    monkeypatch: Any,
) -> None:
    import flake8_djguide.engine as engine_module

    code = BIG_CLASS.replace("    # a trailing comment of the class\n", "").rstrip("\n")
    lines = code.splitlines(True)
    monkeypatch.setattr(engine_module, "PART_LINES", 0)
    monkeypatch.setattr(engine_module, "MIN_PART_LINES", 2)
    result = _parts_engine().check(lines, "shop/querysets.py", settings_with({}))
    (chunk,) = [c for c in result.chunks if isinstance(c.statements[0], ast.ClassDef)]
    assert engine_module._parse_in_parts(chunk, lines) is None
    assert engine_module.parse_chunk(chunk, lines).code == engine_module.chunk_text(chunk, lines)


def test_parts_change_no_finding_of_any_fixture(monkeypatch: Any) -> None:
    import flake8_djguide.engine as engine_module
    from tests.util import all_fixtures, load_fixture

    fixtures = [load_fixture(path) for path in all_fixtures()]
    before = [triples(lint(f.code, f.lint_path, f.rules, f.options)) for f in fixtures]
    monkeypatch.setattr(engine_module, "PART_LINES", 0)
    monkeypatch.setattr(engine_module, "MIN_PART_LINES", 2)
    after = [triples(lint(f.code, f.lint_path, f.rules, f.options)) for f in fixtures]
    assert after == before
    assert sum(map(len, before)) > 100


#: A module-level table of the shape that costs libcst's parser the most memory per line:
#: nested brackets, dictionaries of lambdas, comments, strings continued on the next line,
#: an item in parentheses of its own, text that is not ASCII before an item on its line.
BIG_TABLE = """from collections import OrderedDict

from django.utils.translation import gettext_lazy as _

VARIABLES = OrderedDict((
    ("secret", {
        "label": _("Ticket code"),
        "evaluate": lambda position, order, event: (
            position.secret[:30] + "…" if len(position.secret) > 32 else position.secret
        ),
    }),
    ("order", {
        "label": _("Order code"
                   " and more"),  # a comment after an item
        "evaluate": lambda position, order, event: position.order.code,
    }),
    # a comment between items
    (("item", {
        "label": "Produkt-Größe", "evaluate": lambda position, order, event: str(
            position.item.name
        ),
    })),
    ("flat", {"label": "one line"}),
    *EXTRA,
), **{
    "x": 1,
    "y": [
        2,
        3,
    ],
})
"""


def _value_chunk(lines: list[str]) -> Any:
    import flake8_djguide.engine as engine_module

    tree = ast.parse("".join(lines))
    statement = tree.body[-1]
    first, last = engine_module._statement_span(statement)
    return engine_module.Chunk(first, last, statements=[statement])


def test_a_big_table_parsed_in_parts_prints_and_equals_one_parse(monkeypatch: Any) -> None:
    import flake8_djguide.engine as engine_module

    lines = BIG_TABLE.splitlines(True)
    chunk = _value_chunk(lines)
    calls = _count_parses(monkeypatch)
    monkeypatch.setattr(engine_module, "PART_LINES", 0)
    monkeypatch.setattr(engine_module, "MAX_VALUE_PART_LINES", 8)
    in_parts = engine_module.parse_chunk(chunk, lines)
    text = engine_module.chunk_text(chunk, lines)
    # the outline, then the three long items of the tuple and the dictionary of ``**``
    assert len(calls) == 5
    assert calls[0].count(ELIDED) == 4 and "lambda" not in calls[0]
    assert calls[1].startswith('_ = (("secret", {')
    assert in_parts.code == text
    assert in_parts.deep_equals(parse_module(text))


@pytest.mark.parametrize(
    "value",
    [
        "f(\n    x\n    for x in rows\n)",  # a generator's text holds the call's parentheses
        "[\n    *rows,\n    *more,\n]",  # starred items are not expressions alone
        "g(\n    1,\n    2)",  # items of one line each: nothing to parse alone
    ],
)
def test_a_value_without_parts_is_parsed_in_one_call(monkeypatch: Any, value: str) -> None:
    import flake8_djguide.engine as engine_module

    lines = f"TABLE = {value}\n".splitlines(True)
    chunk = _value_chunk(lines)
    monkeypatch.setattr(engine_module, "PART_LINES", 0)
    assert engine_module._parse_values_in_parts(chunk, lines) is None
    assert engine_module.parse_chunk(chunk, lines).code == "".join(lines)


class _AttributeOfCall(Rule):
    """A test rule reporting ``f(...).name`` wherever it is (inside lambdas too)."""

    CODE = "DJG992"
    NAME = "test-attribute-of-call"
    MESSAGE = "`.{name}` of a call"
    RATIONALE = GUIDE = "test"
    VALID = [Valid("x = a.b\n")]
    INVALID = [Invalid("x = f().b\n", 1, 4)]
    AST_TRIGGERS = {ast.Attribute: lambda node, ctx: isinstance(node.value, ast.Call)}

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Call):
            self.report(node, name=node.attr.value)


def test_a_big_table_parsed_in_parts_changes_no_finding(monkeypatch: Any) -> None:
    import flake8_djguide.engine as engine_module

    code = BIG_TABLE.replace("*EXTRA,", "*[Book.objects.get(pk=1).title for _ in range(3)],")
    code = code.replace("position.item.name", "item_of(position).name")
    lines = code.splitlines(True)
    settings = settings_with({})
    rules = [_AttributeOfCall, *by_code().values()]
    one_parse = Engine(rules).check(lines, "shop/pdf.py", settings, release_trees=True)
    parsed: list[str] = []
    original = engine_module._parse_values_in_parts

    def spying(chunk: Any, lines: Any) -> Any:
        module = original(chunk, lines)
        parsed.append("parts" if module is not None else "one call")
        return module

    monkeypatch.setattr(engine_module, "_parse_values_in_parts", spying)
    monkeypatch.setattr(engine_module, "PART_LINES", 0)
    monkeypatch.setattr(engine_module, "MAX_VALUE_PART_LINES", 8)
    in_parts = Engine(rules).check(lines, "shop/pdf.py", settings, release_trees=True)
    assert "parts" in parsed
    assert triples(in_parts.findings) == triples(one_parse.findings)
    # in an item parsed alone (after text that is not ASCII), in the outline
    assert {(20, 12, "DJG992"), (24, 6, "DJG992")} <= set(triples(one_parse.findings))


@pytest.mark.parametrize("code", ["DJG101", "DJG102", "DJG603"])
def test_rules_forget_the_node_ids_of_a_released_chunk(code: str) -> None:
    """In flake8 runs a chunk's tree is released once walked, so a node of the next chunk
    can get the id of one of its nodes: a rule that kept such ids (to skip or not to
    report a node twice) lost findings now and then (DJG603 in the example project)."""
    from flake8_djguide.context import FileContext

    rule = by_code()[code](FileContext("shop/consumers.py", settings_with({})))
    ids: set[int] = rule.reported if hasattr(rule, "reported") else rule.skip  # type: ignore[attr-defined]
    rule.begin_chunk(0)
    ids.update({1, 2, 3})
    rule.begin_chunk(1)
    assert not ids
