"""The fix machinery (fix.py), with synthetic test-only rules and the real DJG001/DJG004."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

import libcst as cst
import pytest

from flake8_djguide.fix import (
    FixResult,
    SourceError,
    decode_source,
    encode_source,
    fix_source,
    split_lines,
)
from flake8_djguide.registry import all_rules, by_code
from flake8_djguide.rule import Invalid, Rule
from tests.util import FIXTURES, lint, settings_with

# -- synthetic rules (never registered: they live in the tests) -------------------------------


class _TestRule(Rule):
    """A rule used only by these tests."""

    NAME = "test-rule"
    MESSAGE = "{what}"
    RATIONALE = GUIDE = "tests"


class RenameFoo(_TestRule):
    """``foo`` becomes ``bar`` (safe)."""

    CODE = "DJG901"
    FIX = "safe"

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "foo":
            self.report(node, lambda: node.with_changes(value="bar"), what="foo")


class UnwrapCall(_TestRule):
    """``wrap(x)`` becomes ``x`` (unsafe): its fix encloses RenameFoo's."""

    CODE = "DJG902"
    FIX = "unsafe"

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "wrap" and node.args:
            self.report(node, lambda: node.args[0].value, what="wrap")


class BreaksCode(_TestRule):
    """``broken`` becomes ``pass`` in expression position: the fix yields invalid code."""

    CODE = "DJG903"
    FIX = "safe"

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "broken":
            self.report(node, lambda: cst.Pass(), what="broken")


class FixRaises(_TestRule):
    """The fix of ``boom`` raises."""

    CODE = "DJG904"
    FIX = "safe"

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "boom":

            def fix() -> cst.CSTNode:
                raise RuntimeError("no luck")

            self.report(node, fix, what="boom")


class NeverSettles(_TestRule):
    """Every ``grow...`` name grows forever: fixing never converges."""

    CODE = "DJG905"
    FIX = "safe"

    def visit_Name(self, node: cst.Name) -> None:
        if node.value.startswith("grow"):
            self.report(node, lambda: node.with_changes(value=node.value + "x"), what="grow")


class RemoveCall(_TestRule):
    """A ``drop_me()`` statement is removed (the fix replaces the statement, not the call)."""

    CODE = "DJG906"
    FIX = "safe"

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        for statement in node.body:
            call = statement.value if isinstance(statement, cst.Expr) else None
            if isinstance(call, cst.Call) and getattr(call.func, "value", None) == "drop_me":
                self.report(call, lambda: cst.RemovalSentinel.REMOVE, fix_node=node, what="drop_me")


class NoOpFix(_TestRule):
    """The fix of ``same`` returns the same code."""

    CODE = "DJG907"
    FIX = "safe"

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "same":
            self.report(node, lambda: node.with_changes(), what="same")


class RenameFooToBaz(_TestRule):
    """``foo`` becomes ``baz``: the same node as RenameFoo's fix."""

    CODE = "DJG908"
    FIX = "safe"

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "foo":
            self.report(node, lambda: node.with_changes(value="baz"), what="foo")


SETTINGS = settings_with({})


def fix(code: str, *rules: type[Rule], **kwargs: Any) -> FixResult:
    return fix_source(code, "app/module.py", list(rules), SETTINGS, **kwargs)


# -- applying ---------------------------------------------------------------------------------


def test_a_safe_fix_is_applied_everywhere_and_counted() -> None:
    result = fix("foo = 1\nprint(foo, foo)\n", RenameFoo)
    assert result.source == "bar = 1\nprint(bar, bar)\n"
    assert result.applied == {"DJG901": 3}
    assert result.remaining == []
    assert result.changed


def test_unsafe_fixes_need_to_be_asked_for() -> None:
    code = "x = wrap(1)\n"
    result = fix(code, UnwrapCall)
    assert result.source == code
    assert [f.code for f in result.remaining] == ["DJG902"]
    assert result.unsafe_available == 1
    result = fix(code, UnwrapCall, unsafe=True)
    assert result.source == "x = 1\n"
    assert result.unsafe_available == 0


def test_overlapping_fixes_apply_the_outermost_then_the_inner_one_next_pass() -> None:
    result = fix("x = wrap(foo)\n", RenameFoo, UnwrapCall, unsafe=True, record=True)
    assert result.source == "x = bar\n"
    assert result.applied == {"DJG901": 1, "DJG902": 1}
    assert [p.after for p in result.passes] == ["x = foo\n", "x = bar\n"]


def test_without_unsafe_fixes_the_inner_safe_fix_still_applies() -> None:
    result = fix("x = wrap(foo)\n", RenameFoo, UnwrapCall)
    assert result.source == "x = wrap(bar)\n"
    assert [f.code for f in result.remaining] == ["DJG902"]


def test_two_fixes_of_one_node_apply_the_first_by_code() -> None:
    result = fix("foo = 1\n", RenameFooToBaz, RenameFoo)
    assert result.source == "bar = 1\n"
    assert result.applied == {"DJG901": 1}


def test_a_fix_that_breaks_the_code_is_dropped_and_the_others_applied() -> None:
    result = fix("x = broken\ny = foo\n", RenameFoo, BreaksCode)
    assert result.source == "x = broken\ny = bar\n"
    assert result.applied == {"DJG901": 1}
    assert result.problems == ["DJG903 at 1:5: the fix produced invalid code; not applied"]
    assert [f.code for f in result.remaining] == ["DJG903"]


def test_a_fix_that_raises_is_reported_not_raised() -> None:
    result = fix("boom = foo\n", RenameFoo, FixRaises)
    assert result.source == "boom = bar\n"
    assert any("DJG904" in p and "RuntimeError: no luck" in p for p in result.problems)


def test_fixes_that_never_settle_stop_after_the_pass_limit() -> None:
    result = fix("grow = 1\n", NeverSettles, max_passes=3)
    assert result.source == "growxxx = 1\n"
    assert result.applied == {"DJG905": 3}
    assert any("did not settle after 3 passes" in p for p in result.problems)


def test_a_fix_may_remove_a_whole_statement() -> None:
    code = "def f():\n    x = 1\n    drop_me()\n    return x\n"
    result = fix(code, RemoveCall)
    assert result.source == "def f():\n    x = 1\n    return x\n"


def test_a_fix_that_changes_nothing_is_not_counted_and_does_not_loop() -> None:
    result = fix("same = foo\n", NoOpFix, RenameFoo, record=True)
    assert result.source == "same = bar\n"
    assert result.applied == {"DJG901": 1}
    assert len(result.passes) == 1
    assert [f.code for f in result.remaining] == ["DJG907"]


def test_unparsable_code_is_not_fixed() -> None:
    result = fix("foo = (\n", RenameFoo)
    assert result.error is not None and result.error.startswith("DJG000 ")
    assert result.source == "foo = (\n"


def test_only_the_given_rules_fix() -> None:
    assert fix("x = wrap(foo)\n", UnwrapCall, unsafe=True).source == "x = foo\n"


# -- noqa ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "fixed"),
    [
        ("# noqa", False),
        ("# NOQA", False),
        ("# noqa: DJG901", False),
        ("# noqa:DJG901,DJG902", False),
        ("# noqa: DJG9", False),  # flake8 matches codes by prefix
        ("# noqa: DJG902", True),
        ("# noqa: E501", True),
        ("# noqa : DJG901", False),  # flake8 reads this as a bare noqa
        ("# no qa", True),
    ],
)
def test_noqa_suppresses_fixes_as_flake8_reads_it(comment: str, fixed: bool) -> None:
    code = f"x = foo  {comment}\ny = foo\n"
    result = fix(code, RenameFoo)
    first = "x = bar" if fixed else "x = foo"
    assert result.source == f"{first}  {comment}\ny = bar\n"


def test_noqa_covers_the_lines_of_a_multi_line_token_as_in_flake8() -> None:
    """flake8 joins the lines one token spans (a triple-quoted string), not bracketed lines."""
    code = 'foo = """\nabc\n"""  # noqa: DJG901\nx = call(\n    foo,\n)  # noqa\n'
    result = fix(code, RenameFoo)
    assert result.source == 'foo = """\nabc\n"""  # noqa: DJG901\nx = call(\n    bar,\n)  # noqa\n'


def test_flake8_noqa_comment_skips_the_whole_file() -> None:
    code = "# flake8: noqa\nfoo = 1\n"
    result = fix(code, RenameFoo)
    assert result.source == code and result.remaining == []


def test_disable_noqa_fixes_everything() -> None:
    assert fix("foo = 1  # noqa\n", RenameFoo, disable_noqa=True).source == "bar = 1  # noqa\n"


def test_noqa_decisions_match_a_real_flake8_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The imports flake8 reports are exactly the ones fix rewrites."""
    from flake8.main.cli import main as flake8_main

    package = tmp_path / "shop" / "blog"
    package.mkdir(parents=True)
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "shop" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    code = (
        "from .a import x  # noqa\n"
        "from .b import y  # noqa: DJG0\n"
        "from .c import z  # noqa: E501\n"
        "from .d import (  # noqa: DJG001\n"
        "    w,\n"
        ")\n"
        "from .e import (\n"
        "    v,  # NoQA\n"
        ")\n"
        "from .f import (\n"
        "    u,\n"
        ")\n"
        "from .g import t  # noqa:DJG002\n"
    )
    target = package / "views.py"
    target.write_text(code)
    monkeypatch.chdir(tmp_path)
    flake8_main(["--isolated", "--select=DJG001", str(target)])
    reported = sorted(
        int(line.split(":")[1]) for line in capsys.readouterr().out.splitlines() if line
    )
    result = fix_source(code, str(target), [by_code()["DJG001"]], SETTINGS, record=True)
    changed = sorted(line for p in result.passes for line, _ in p.spans)
    assert reported == [3, 7, 10, 13]
    assert changed == reported


# -- bytes, encodings, line endings ---------------------------------------------------------------


def test_crlf_and_mixed_line_endings_are_kept() -> None:
    code = "foo = 1\r\nx = [\r\n    foo,\n]\r\ny = 'a\\x0cb'  # \x0c form feed\r\nz = foo\r\n"
    result = fix(code, RenameFoo)
    assert result.source == code.replace("foo", "bar")
    assert split_lines(result.source)[4].endswith("form feed\r\n")


def test_bom_is_kept() -> None:
    data = "\ufefffoo = 'é'\n".encode()
    text, encoding = decode_source(data)
    assert encoding == "utf-8-sig" and text == "foo = 'é'\n"
    fixed = fix(text, RenameFoo).source
    assert encode_source(fixed, encoding) == "\ufeffbar = 'é'\n".encode()


def test_pep263_encoding_is_kept() -> None:
    data = "# -*- coding: latin-1 -*-\nfoo = 'café'\n".encode("latin-1")
    text, encoding = decode_source(data)
    assert text.endswith("'café'\n")
    fixed = encode_source(fix(text, RenameFoo).source, encoding)
    assert fixed == "# -*- coding: latin-1 -*-\nbar = 'café'\n".encode("latin-1")


@pytest.mark.parametrize(
    "data",
    [b"# -*- coding: no-such-codec -*-\nx = 1\n", b"x = '\xff'\n"],
    ids=["unknown-codec", "invalid-utf8"],
)
def test_undecodable_files_raise_source_error(data: bytes) -> None:
    with pytest.raises(SourceError):
        decode_source(data)


def test_unencodable_result_raises_source_error() -> None:
    with pytest.raises(SourceError):
        encode_source("x = 'é'\n", "ascii")


# -- the real rules -------------------------------------------------------------------------------


def _project(tmp_path: Path, init: bool = True) -> Path:
    (tmp_path / "manage.py").write_text("")
    for package in ("shop", "shop/blog"):
        (tmp_path / package).mkdir(exist_ok=True)
        if init:
            (tmp_path / package / "__init__.py").write_text("")
    return tmp_path / "shop" / "blog" / "views.py"


def test_djg001_fix_is_safe_when_init_files_resolve_the_package(tmp_path: Path) -> None:
    path = _project(tmp_path)
    code = "from .models import Post\nfrom ..core import utils\n"
    result = fix_source(code, str(path), [by_code()["DJG001"]], SETTINGS)
    assert result.source == "from shop.blog.models import Post\nfrom shop.core import utils\n"


def test_djg001_fix_is_unsafe_when_the_package_root_is_a_guess(tmp_path: Path) -> None:
    path = _project(tmp_path, init=False)
    code = "from .models import Post\n"
    rules = [by_code()["DJG001"]]
    safe = fix_source(code, str(path), rules, SETTINGS)
    assert safe.source == code and safe.unsafe_available == 1
    unsafe = fix_source(code, str(path), rules, SETTINGS, unsafe=True)
    assert unsafe.source == "from shop.blog.models import Post\n"


def test_djg004_fix_is_unsafe() -> None:
    code = 'import logging\n\nlogger = logging.getLogger("orders")  # keep\n'
    rules = [by_code()["DJG004"]]
    assert fix_source(code, "app/x.py", rules, SETTINGS).source == code
    fixed = fix_source(code, "app/x.py", rules, SETTINGS, unsafe=True).source
    assert fixed == "import logging\n\nlogger = logging.getLogger(__name__)  # keep\n"


# -- the rules' declared examples and FIX attribute -----------------------------------------------

EXPECTED = [
    pytest.param(rule, example, id=f"{rule.CODE}-invalid{index}")
    for rule in all_rules()
    for index, example in enumerate(rule.INVALID)
    if example.expected is not None
]


@pytest.mark.parametrize(("rule", "example"), EXPECTED)
def test_invalid_example_fixes_to_its_expected_code(
    rule: type[Rule], example: Invalid, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = os.path.join(str(tmp_path), example.path)
    result = fix_source(example.code, path, [rule], settings_with(example.options), unsafe=True)
    assert result.source == example.expected
    assert result.problems == []


def test_examples_with_expected_code_belong_to_rules_with_a_fix() -> None:
    wrong = [rule.CODE for rule, _ in (p.values for p in EXPECTED) if rule.FIX is None]
    assert wrong == []


def test_only_rules_declaring_a_fix_offer_one() -> None:
    """A finding with a fix from a rule whose FIX is None would be documented as unfixable."""
    from tests.util import all_fixtures, load_fixture

    offenders = set()
    for path in all_fixtures():
        fixture = load_fixture(path)
        for finding in lint(fixture.code, fixture.lint_path, all_rules(), fixture.options):
            rule = by_code().get(finding.code)
            if rule is not None and finding.fix is not None and rule.FIX is None:
                offenders.add(finding.code)
            if rule is not None and rule.FIX == "unsafe":
                assert finding.unsafe_fix, f"{finding.code}: FIX = 'unsafe' but the fix is safe"
    assert offenders == set()
    assert FIXTURES.is_dir()


def test_fixed_code_is_python() -> None:
    result = fix("x = wrap(foo)\n", RenameFoo, UnwrapCall, unsafe=True)
    ast.parse(result.source)
