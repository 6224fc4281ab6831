"""What the plugin prints stays its own: quoted source cannot forge a finding line or send
escape sequences to the terminal, parsing the project prints no warnings, and a partial
model index is reported once."""

from __future__ import annotations

import warnings
from pathlib import Path

import libcst as cst
import pytest

from flake8_djguide import quoting
from flake8_djguide.index import build, clear_memo, project_index
from flake8_djguide.index.extract import source_facts
from flake8_djguide.rule import Rule
from tests.robust import run_flake8
from tests.test_index import make_project
from tests.util import lint, settings_with

# -- quoting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("chat.room", "chat.room"),
        ("Café «Déjà vu»", "Café «Déjà vu»"),  # printable Unicode is kept
        ("a\nb", "a\\nb"),
        ("a\r\nb\tc", "a\\r\\nb\\tc"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("abc\u202edef", "abc\\u202edef"),  # bidi override
        ("line\u2028sep", "line\\u2028sep"),
        ("nul\x00", "nul\\x00"),
    ],
)
def test_quote_source_escapes_what_is_not_printable(text: str, expected: str) -> None:
    assert quoting.quote_source(text) == expected


def test_quote_source_shortens_long_runs() -> None:
    assert quoting.quote_source("x" * 160) == "x" * 160
    quoted = quoting.quote_source("x" * 5000)
    assert len(quoted) == quoting.MAX_QUOTED and quoted.endswith("...")


def test_clean_message_shortens_long_backticked_runs_only() -> None:
    remedy = "use " + ", ".join(f"`name{i}`" for i in range(40))
    assert quoting.clean_message(remedy) == remedy  # long, but every quoted run is short
    message = quoting.clean_message(f"DJG000 `{'y' * 1000}` is bad; see `docs`")
    assert message == f"DJG000 `{'y' * 157}...` is bad; see `docs`"


class QuotesNames(Rule):
    """A rule used only by these tests: quotes every string literal it sees."""

    CODE = "DJG991"
    NAME = "quotes-names"
    MESSAGE = "string `{value}` found; {remedy}"
    RATIONALE = GUIDE = "tests"

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.report(node, value=node.evaluated_value, remedy="rename it")


def test_report_quotes_every_message_field() -> None:
    source = 'GROUP = "a\\nviews.py:1:1: DJG000 forged\\x1b[2J"\nOTHER = "plain"\n'
    messages = [f.message for f in lint(source, "app/views.py", [QuotesNames])]
    assert messages == [
        "DJG991 string `a\\nviews.py:1:1: DJG000 forged\\x1b[2J` found; rename it",
        "DJG991 string `plain` found; rename it",
    ]


def test_flake8_output_holds_no_terminal_escape(tmp_path: Path) -> None:
    (tmp_path / "consumers.py").write_bytes(
        b"from channels.generic.websocket import AsyncWebsocketConsumer\n\n\n"
        b"class ChatConsumer(AsyncWebsocketConsumer):\n"
        b'    """Chat."""\n\n'
        b"    async def connect(self) -> None:\n"
        b'        await self.channel_layer.group_add("chat:\x1b[2Jroom", self.channel_name)\n'
    )
    run = run_flake8(["--isolated", "--select=DJG101", "consumers.py"], tmp_path)
    assert run.stdout.count("\n") == 1, run.stdout
    assert "\x1b" not in run.stdout
    assert 'DJG101 group name `"chat:\\x1b[2Jroom"`' in run.stdout


def test_a_string_holding_a_newline_cannot_forge_a_finding_line(tmp_path: Path) -> None:
    # DJG102 quotes a payload key; this one holds a newline and a fake finding after it
    (tmp_path / "consumers.py").write_text(
        "from channels.generic.websocket import AsyncJsonWebsocketConsumer\n\n\n"
        "class PageConsumer(AsyncJsonWebsocketConsumer):\n"
        '    """Pages."""\n\n'
        "    async def connect(self) -> None:\n"
        '        await self.send_json({"web_socket_id\\nsettings.py:1:1: DJG301 forged": 1})\n'
    )
    run = run_flake8(["--isolated", "--select=DJG102", "consumers.py"], tmp_path)
    lines = run.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("consumers.py:8:"), run.stdout
    assert "`web_socket_id\\nsettings.py:1:1: DJG301 forged`" in lines[0]


# -- warnings from parsing ------------------------------------------------------------------

MODELS_WITH_ESCAPE = b"""\
from django.db import models


class Slug(models.Model):
    pattern = models.CharField(max_length=50, default="\\d+")
"""


def test_parsing_project_files_prints_no_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        facts = source_facts(MODELS_WITH_ESCAPE)
    assert [str(w.message) for w in caught] == []
    assert [c["name"] for c in facts["classes"]] == ["Slug"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # python -W error: the facts are not lost
        assert [c["name"] for c in source_facts(MODELS_WITH_ESCAPE)["classes"]] == ["Slug"]


def test_checking_and_fixing_print_no_warning() -> None:
    from flake8_djguide.fix import fix_source
    from flake8_djguide.registry import by_code

    source = MODELS_WITH_ESCAPE.decode() + "\n\ndef slug(value):\n    print(value)\n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lint(source, "shop/models.py")
        fixed = fix_source(source, "shop/models.py", [by_code()["DJG402"]], settings_with({}))
    assert [str(w.message) for w in caught] == []
    assert "def slug(value) -> None:" in fixed.source


# -- a partial index ------------------------------------------------------------------------


def test_a_truncated_index_is_reported_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path / "p", files=10)
    settings = settings_with({"index-max-files": 4, "cache-dir": str(tmp_path / "cache")})
    clear_memo()
    try:
        project_index(settings, project)
        project_index(settings, project)
        clear_memo()
        project_index(settings, project)
    finally:
        clear_memo()
    err = capsys.readouterr().err
    assert err.count("warning") == 1, err
    assert f"the model index of {project} stops at 4 .py files" in err
    assert "'index-max-files'" in err
    # a complete index says nothing
    assert not build(project, tmp_path / "cache").scan.truncated  # type: ignore[union-attr]
    project_index(settings_with({"cache-dir": str(tmp_path / "cache")}), project)
    clear_memo()
    assert capsys.readouterr().err == ""
