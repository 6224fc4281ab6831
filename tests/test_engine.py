"""The engine: walk order, chunking, laziness, error isolation."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import libcst as cst
import pytest

from flake8_djguide import config
from flake8_djguide.engine import Engine, _plan_chunks
from flake8_djguide.registry import all_rules
from flake8_djguide.rule import Invalid, Rule, Valid
from flake8_djguide.walker import iter_children
from tests.util import lint, triples

SAMPLE = textwrap.dedent(
    """\
    @decorator(arg=1)
    async def f(a, /, b: int = 2, *args, c, d=3, **kw) -> int:
        try:
            x = [y for y in range(3) if y]
        except (ValueError, TypeError) as error:
            raise RuntimeError("x") from error
        else:
            pass
        finally:
            del x
        match a:
            case [1, *rest] if rest:
                pass
        return {k: v for k, v in kw.items()}

    class C(Base, metaclass=Meta):
        attr: int = 1
        def g(self, *, key=lambda q: q): ...
    """
)


def _positions(module: cst.Module) -> dict[cst.CSTNode, tuple[int, int]]:
    from libcst.metadata import MetadataWrapper, PositionProvider

    found = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return {node: (r.start.line, r.start.column) for node, r in found.items()}


def test_walker_visits_children_in_source_order() -> None:
    module = cst.parse_module(SAMPLE)
    positions = _positions(module)
    stack: list[cst.CSTNode] = [module]
    checked = 0
    while stack:
        node = stack.pop()
        children = [c for c in iter_children(node) if c in positions]
        starts = [positions[c] for c in children]
        assert starts == sorted(starts), type(node).__name__
        checked += len(children)
        stack.extend(iter_children(node))
    assert checked > 100


def test_walker_reaches_every_expression_and_statement() -> None:
    module = cst.parse_module(SAMPLE)
    seen: set[int] = set()
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        seen.add(id(node))
        stack.extend(iter_children(node))

    class Everything(cst.CSTVisitor):
        missing: list[str] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            if (
                isinstance(node, (cst.BaseExpression, cst.BaseStatement, cst.BaseSmallStatement))
                and id(node) not in seen
            ):
                self.missing.append(type(node).__name__)
            return True

    visitor = Everything()
    module.visit(visitor)
    assert visitor.missing == []


def test_statements_sharing_a_line_form_one_chunk() -> None:
    tree = ast.parse("a = 1; b = 2\n\nc = 3\n\ndef f():\n    pass\n")
    spans = [((1, 1), False), ((1, 1), True), ((3, 3), False), ((5, 6), True)]
    chunks = _plan_chunks(spans, tree.body)
    assert [(c.first, c.last, len(c.statements)) for c in chunks] == [(1, 1, 2), (5, 6, 1)]


def test_statements_no_rule_needs_are_not_chunked() -> None:
    tree = ast.parse("a = 1\nb = 2\n")
    assert _plan_chunks([((1, 1), False), ((2, 2), False)], tree.body) == []


class _Crashing(Rule):
    """A test rule that raises on every call."""

    CODE = "DJG999"
    NAME = "crashing"
    MESSAGE = "never"
    RATIONALE = GUIDE = "test"
    VALID = [Valid("x = 1\n")]
    INVALID = [Invalid("x = 1\n")]

    def visit_Name(self, node: cst.Name) -> None:
        raise KeyError("boom")


def test_a_crashing_rule_becomes_one_djg000_and_other_rules_still_report() -> None:
    code = "from .models import A\nfrom .forms import B\n"
    rules = [_Crashing, *[r for r in all_rules() if r.CODE == "DJG001"]]
    findings = lint(code, "app/views.py", rules)
    assert triples(findings) == [(1, 0, "DJG000"), (1, 0, "DJG001"), (2, 0, "DJG001")]
    error = next(f for f in findings if f.code == "DJG000")
    assert "DJG999" in error.message and "KeyError" in error.message


def test_source_that_libcst_cannot_parse_gives_one_djg000() -> None:
    # Python 2 print statement: ast fails too, so the engine tries libcst alone.
    findings = lint("print 'hello'\n", "app/views.py")
    assert [f.code for f in findings] == ["DJG000"]
    assert (findings[0].line, findings[0].col) == (1, 0)


def test_files_over_the_size_cap_are_skipped() -> None:
    code = "from .models import A\n" * 50
    assert lint(code, "app/views.py", options={"max-file-lines": 10}) == []
    assert len(lint(code, "app/views.py", options={"max-file-lines": 0})) == 50


def test_file_where_no_trigger_holds_is_not_parsed() -> None:
    engine = Engine(list(all_rules()))
    lines = ["import os\n", "\n", "value = os.getcwd()\n"]
    settings = config.Settings(config.defaults())
    result = engine.check(lines, "app/ok.py", settings, tree=ast.parse("".join(lines)))
    assert result.findings == [] and not result.parsed


def test_only_triggered_statements_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["import os\n", "\n", "from .models import A\n", "\n", "x = os.sep\n"] * 5
    source = "".join(lines)
    [rule] = [r for r in all_rules() if r.CODE == "DJG001"]
    settings = config.Settings(config.defaults())
    # DJG001 places its findings from the ``ast`` import: nothing is parsed
    result = Engine([rule]).check(lines, "app/v.py", settings, tree=ast.parse(source))
    assert result.chunks == [] and not result.parsed
    assert [f.line for f in result.findings] == [3, 8, 13, 18, 23]
    # as a rule that needs libcst: only the statements its trigger holds in are parsed
    monkeypatch.setattr(rule, "REPORTS_FROM_AST", False)
    result = Engine([rule]).check(lines, "app/v.py", settings, tree=ast.parse(source))
    assert [(c.first, c.last) for c in result.chunks] == [(3 + 5 * i, 3 + 5 * i) for i in range(5)]
    assert [f.line for f in result.findings] == [3, 8, 13, 18, 23]


def test_settings_rules_parse_only_the_statements_naming_their_setting() -> None:
    lines = [
        "import os\n",
        "\n",
        "INSTALLED_APPS = [\n",
        '    "shop",\n',
        "]\n",
        "DEBUG = True\n",
        'DATABASES = {"default": {"PASSWORD": "postgres"}}\n',
        'EMAIL_HOST_PASSWORD = os.environ["EMAIL_HOST_PASSWORD"]\n',
        'ALLOWED_HOSTS = ["*"]\n',
        'SECRET_KEY = os.environ.get("SECRET_KEY", "insecure")\n',
        "TIME_ZONE = 'UTC'\n",
    ]
    engine = Engine([r for r in all_rules() if r.CODE.startswith("DJG3")])
    result = engine.check(
        lines,
        "config/settings/production.py",
        config.Settings(config.defaults()),
        tree=ast.parse("".join(lines)),
    )
    assert [(c.first, c.last) for c in result.chunks] == [(6, 6), (7, 7), (8, 8), (9, 9), (10, 10)]
    assert triples(result.findings) == [
        (6, 0, "DJG303"),
        (7, 25, "DJG302"),
        (9, 17, "DJG304"),
        (10, 0, "DJG301"),
    ]


def test_libcst_is_not_imported_when_nothing_can_fire(tmp_path: pytest.TempPathFactory) -> None:
    script = textwrap.dedent(
        """
        import ast, sys
        from flake8_djguide.plugin import Plugin
        lines = ["import os\\n", "x = os.getcwd()\\n"]
        plugin = Plugin(ast.parse("".join(lines)), lines, "app/ok.py")
        assert list(plugin.run()) == []
        print("libcst" in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
