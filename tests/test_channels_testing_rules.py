"""Behaviour of DJG101-DJG103 and DJG501-DJG504 that fixtures cannot show: fixes (every
INVALID example with ``expected``, and the edge cases), the path-only DJG504 (empty
files, paths relative to the project root, flake8 end to end) and what the ast
triggers keep from libcst."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flake8_djguide.engine import Engine
from flake8_djguide.registry import by_code
from flake8_djguide.rule import Invalid, Rule
from flake8_djguide.rules.channels import camel_case, is_valid_group_char
from tests.fixing import apply_fixes
from tests.util import FIXTURES, lint, settings_with, triples

CONSUMER = "chat/consumers.py"
TEST_FILE = "blog/tests/test_posts.py"
CODES = ("DJG101", "DJG102", "DJG103", "DJG501", "DJG502", "DJG503", "DJG504")


def fixed(code: str, code_name: str, path: str) -> str:
    return apply_fixes(code, path, [by_code()[code_name]])


FIXED_EXAMPLES = [
    pytest.param(rule, example, id=f"{rule.CODE}-invalid{index}")
    for rule in (by_code()[code] for code in CODES)
    for index, example in enumerate(rule.INVALID)
    if example.expected is not None
]


@pytest.mark.parametrize(("rule", "example"), FIXED_EXAMPLES)
def test_fix_gives_expected_code(
    rule: type[Rule], example: Invalid, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = os.path.join(str(tmp_path), example.path)
    findings = lint(example.code, path, [rule], example.options)
    assert [f.fix is not None for f in findings] == [True]
    if rule.FIX == "unsafe":
        assert findings[0].unsafe_fix
    result = apply_fixes(example.code, path, [rule], example.options)
    assert result == example.expected
    assert lint(result, path, [rule], example.options) == []


def test_every_fixable_rule_documents_a_fix() -> None:
    for code in CODES:
        rule = by_code()[code]
        assert (rule.FIX is not None) == any(e.expected is not None for e in rule.INVALID)


def test_apply_fixes_replaces_by_identity_only_the_reported_node() -> None:
    # Two equal literals: only the one the finding reports may change.
    code = group_add("'chat:lobby'", prelude="        label = 'chat:lobby'\n")
    assert [(f.line, f.col) for f in lint(code, CONSUMER, [by_code()["DJG101"]])] == [(4, 43)]
    result = fixed(code, "DJG101", CONSUMER)
    assert "label = 'chat:lobby'" in result
    assert "group_add('chat.lobby'" in result


# -- DJG101 -------------------------------------------------------------------------------


def group_add(name: str, prelude: str = "") -> str:
    return (
        "class C(AsyncWebsocketConsumer):\n"
        "    async def connect(self):\n"
        f"{prelude}"
        f"        await self.channel_layer.group_add({name}, self.channel_name)\n"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ('"chat:{0:>3}:{1!r}".format(a, b)', '"chat.{0:>3}.{1!r}".format(a, b)'),
        ('"chat:{{x}}:{}".format(a)', None),  # literal braces stay invalid: no fix
        ('"orders:%(pk)05d" % {"pk": 1}', '"orders.%(pk)05d" % {"pk": 1}'),
        ('f"room:{room:>4}"', 'f"room.{room:>4}"'),
        ('"chat:" "lobby"', '"chat." "lobby"'),
        ("'chat\\x3alobby'", None),  # written with an escape: not rewritten
        ('"chat: lobby"', None),  # a space too: replacing ":" is not enough
    ],
)
def test_group_name_fix(name: str, expected: str | None) -> None:
    code = group_add(name)
    findings = lint(code, CONSUMER, [by_code()["DJG101"]])
    assert findings, "the name must be reported"
    result = fixed(code, "DJG101", CONSUMER)
    if expected is None:
        assert all(f.fix is None for f in findings)
        assert result == code
    else:
        assert result == group_add(expected)


def test_group_name_fix_through_a_variable_is_unsafe_and_edits_the_assignment() -> None:
    code = group_add("name", prelude='        name = "chat:" + self.room\n')
    findings = lint(code, CONSUMER, [by_code()["DJG101"]])
    assert [(f.line, f.col, f.unsafe_fix) for f in findings] == [(3, 15, True)]
    assert fixed(code, "DJG101", CONSUMER) == group_add(
        "name", prelude='        name = "chat." + self.room\n'
    )


def test_group_name_reported_once_per_literal() -> None:
    code = (
        "class C(AsyncWebsocketConsumer):\n"
        "    async def connect(self):\n"
        '        self.group = "chat:lobby"\n'
        "        await self.channel_layer.group_add(self.group, self.channel_name)\n"
        "    async def disconnect(self, code):\n"
        "        await self.channel_layer.group_discard(self.group, self.channel_name)\n"
    )
    assert triples(lint(code, CONSUMER, [by_code()["DJG101"]])) == [(3, 21, "DJG101")]


def test_group_name_length() -> None:
    long_name = "a" * 95
    code = group_add(f'f"{long_name}.{{pk}}.12345"')
    findings = lint(code, CONSUMER, [by_code()["DJG101"]])
    assert len(findings) == 1
    assert "has 100 or more characters;" in findings[0].message
    assert findings[0].fix is None
    assert lint(group_add(f'f"{long_name}.{{pk}}"'), CONSUMER, [by_code()["DJG101"]]) == []


def test_groups_attribute_only_in_channels_modules() -> None:
    code = "class OrderConsumer(KafkaConsumer):\n    groups = ['orders:v1']\n"
    assert lint(code, "orders/consumers.py", [by_code()["DJG101"]]) == []
    channels_code = "from channels.generic.websocket import JsonWebsocketConsumer\n" + code
    assert triples(lint(channels_code, CONSUMER, [by_code()["DJG101"]])) == [(3, 14, "DJG101")]


def test_valid_group_characters() -> None:
    assert all(is_valid_group_char(c) for c in "azAZ09-_.")
    assert not any(is_valid_group_char(c) for c in ": /é@")


def test_file_without_group_calls_is_not_parsed() -> None:
    code = (
        "from channels.generic.websocket import AsyncWebsocketConsumer\n\n\n"
        "class C(AsyncWebsocketConsumer):\n"
        "    async def connect(self):\n"
        "        await self.accept()\n"
    )
    engine = Engine([by_code()[c] for c in ("DJG101", "DJG102", "DJG103")])
    result = engine.check(code.splitlines(True), CONSUMER, settings_with({}))
    assert result.parsed is False


# -- DJG102 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "camel"),
    [
        ("user_id", "userId"),
        ("notification_count", "notificationCount"),
        ("item_2_id", "item2Id"),
        ("web__socket", "webSocket"),
        ("ERROR_CODE", None),
    ],
)
def test_camel_case(key: str, camel: str | None) -> None:
    assert camel_case(key) == camel


def test_payload_fix_skips_keys_that_would_collide() -> None:
    code = (
        "class C(AsyncJsonWebsocketConsumer):\n"
        "    async def connect(self):\n"
        '        await self.send_json({"userId": 1, "user_id": 1, "page_id": 2})\n'
    )
    findings = lint(code, CONSUMER, [by_code()["DJG102"]])
    assert [(f.col, f.fix is not None) for f in findings] == [(43, False), (57, True)]
    assert '"pageId": 2' in fixed(code, "DJG102", CONSUMER)


# -- DJG501 -------------------------------------------------------------------------------


#: a test module of the fixture project whose `Article` model has `update()`
NEWS_TEST = str(FIXTURES / "projects" / "newsroom" / "news" / "tests" / "test_articles.py")


def test_update_fix_keeps_comments_and_multiline_values() -> None:
    code = (
        "def test_draft():\n"
        "    article = ArticleFactory()\n"
        "    # make it a draft\n"
        '    article.status = "draft"\n'
        "    article.published_at = timezone.now() - timedelta(\n"
        "        days=1,\n"
        "    )\n"
        '    article.save(update_fields=["status", "published_at"])  # noqa: E501\n'
        "    assert article.is_draft\n"
    )
    assert fixed(code, "DJG501", NEWS_TEST) == (
        "def test_draft():\n"
        "    article = ArticleFactory()\n"
        "    # make it a draft\n"
        '    article.update(status="draft", published_at=timezone.now() - timedelta(\n'
        "        days=1,\n"
        "    ))  # noqa: E501\n"
        "    assert article.is_draft\n"
    )


@pytest.mark.parametrize(
    "between",
    [
        '    article.title = "x"  # why\n',  # a comment would be lost
        "    article.title = article.status\n",  # reads a field assigned before it
        '    article.author.name = "x"\n',  # changes a related object too
    ],
)
def test_no_update_fix_when_it_would_change_meaning(between: str) -> None:
    code = (
        "def test_x():\n    article = ArticleFactory()\n"
        f'    article.status = "a"\n{between}    article.save()\n'
    )
    findings = lint(code, NEWS_TEST, [by_code()["DJG501"]])
    assert [(f.line, f.fix is None) for f in findings] == [(5, True)]
    plain = 'def test_x():\n    article = ArticleFactory()\n    article.status = "a"\n    article.save()\n'
    assert [f.fix is None for f in lint(plain, NEWS_TEST, [by_code()["DJG501"]])] == [False]


def test_two_runs_in_one_block_are_fixed_one_pass_at_a_time() -> None:
    code = (
        "def test_x():\n"
        "    article = ArticleFactory()\n"
        '    article.title = "a"\n'
        "    article.save()\n"
        '    article.status = "b"\n'
        "    article.save()\n"
    )
    once = fixed(code, "DJG501", NEWS_TEST)
    assert once == (
        "def test_x():\n    article = ArticleFactory()\n"
        '    article.update(title="a")\n    article.status = "b"\n    article.save()\n'
    )
    assert fixed(once, "DJG501", NEWS_TEST) == (
        "def test_x():\n    article = ArticleFactory()\n"
        '    article.update(title="a")\n    article.update(status="b")\n'
    )


def test_not_in_application_code() -> None:
    code = 'def publish(post):\n    post.status = "published"\n    post.save()\n'
    assert lint(code, "blog/services.py", [by_code()["DJG501"]]) == []


# -- DJG504 -------------------------------------------------------------------------------

PROJECT = FIXTURES / "projects" / "shop"


@pytest.mark.parametrize(
    ("relative", "reported"),
    [
        ("shop/blog/tests/__init__.py", True),
        ("shop/blog/tests/api/__init__.py", True),
        ("shop/blog/management/commands/__init__.py", True),
        ("shop/blog/__init__.py", False),  # the project itself is below tests/fixtures/
        ("shop/blog/management/__init__.py", False),
        ("shop/blog/tests/conftest.py", False),
        ("shop/tests/testapp/migrations/__init__.py", False),  # Django needs it
    ],
)
def test_init_paths_relative_to_the_project_root(relative: str, reported: bool) -> None:
    findings = lint("", str(PROJECT / relative), [by_code()["DJG504"]])
    assert triples(findings) == ([(1, 0, "DJG504")] if reported else [])


def test_init_in_tests_needs_no_parse() -> None:
    engine = Engine([by_code()["DJG504"]])
    result = engine.check([], str(PROJECT / "shop/blog/tests/__init__.py"), settings_with({}))
    assert [(f.line, f.col, f.code) for f in result.findings] == [(1, 0, "DJG504")]
    assert result.parsed is False


def test_init_follows_configured_test_patterns() -> None:
    path = str(PROJECT / "shop/blog/testing/__init__.py")
    rule = [by_code()["DJG504"]]
    assert lint("", path, rule) == []
    options = {"test-patterns": ["test_*.py", "*/testing/*"]}
    assert triples(lint("", path, rule, options)) == [(1, 0, "DJG504")]


def test_flake8_reports_an_empty_init(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text("")
    tests_dir = tmp_path / "blog" / "tests"
    tests_dir.mkdir(parents=True)
    (tmp_path / "blog" / "__init__.py").write_text("")
    (tests_dir / "__init__.py").write_text("")
    (tests_dir / "test_posts.py").write_text("")
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-ra"\n')
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--select=DJG", "--isolated", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.stdout.splitlines() == [
        f".{os.sep}blog{os.sep}tests{os.sep}__init__.py:1:1: DJG504 `__init__.py` in the tests "
        "directory `blog/tests/`; delete it (pytest collects tests without it)"
    ]


def _project(tmp_path: Path, files: dict[str, str], pytest_ini: bool = True) -> Path:
    (tmp_path / "manage.py").write_text("")
    if pytest_ini:
        (tmp_path / "pytest.ini").write_text("[pytest]\nDJANGO_SETTINGS_MODULE = config.settings\n")
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _djg504(root: Path, relative: str) -> list[str]:
    path = root / relative
    return [f.message for f in lint(path.read_text(), str(path), [by_code()["DJG504"]])]


def test_init_kept_where_two_test_modules_share_a_basename(tmp_path: Path) -> None:
    # every app has tests/test_models.py: pytest's default import mode needs the packages
    root = _project(
        tmp_path,
        {
            "blog/__init__.py": "",
            "blog/tests/__init__.py": "",
            "blog/tests/test_models.py": "",
            "shop/__init__.py": "",
            "shop/tests/__init__.py": "",
            "shop/tests/api/__init__.py": "",
            "shop/tests/api/test_models.py": "",
            "shop/tests/test_views.py": "",
            "polls/__init__.py": "",
            "polls/tests/__init__.py": "",
            "polls/tests/test_polls.py": "",
        },
    )
    assert _djg504(root, "blog/tests/__init__.py") == []
    assert _djg504(root, "shop/tests/__init__.py") == []
    assert _djg504(root, "shop/tests/api/__init__.py") == []
    # test_polls.py is the only module of that name: the marker is not needed
    assert len(_djg504(root, "polls/tests/__init__.py")) == 1


def test_init_reported_when_the_namesake_is_in_an_app_package(tmp_path: Path) -> None:
    # blog/test_models.py is imported as blog.test_models: no clash without shop's marker
    root = _project(
        tmp_path,
        {
            "blog/__init__.py": "",
            "blog/test_models.py": "",
            "shop/__init__.py": "",
            "shop/tests/__init__.py": "",
            "shop/tests/test_models.py": "",
        },
    )
    assert len(_djg504(root, "shop/tests/__init__.py")) == 1


def test_init_holding_code_is_not_told_to_be_deleted(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "blog/__init__.py": "",
            "blog/tests/__init__.py": '"""Blog tests."""\nfrom blog.tests.helpers import make_post\n',
            "blog/tests/helpers.py": "",
            "blog/tests/test_posts.py": "",
            "blog/management/__init__.py": "",
            "blog/management/commands/__init__.py": (
                "from django.core.management.base import BaseCommand\n\n\n"
                "class ImportCommand(BaseCommand):\n    pass\n"
            ),
            "blog/tests/api/__init__.py": '"""Only a docstring: nothing to move."""\n',
            "blog/tests/api/test_api.py": "",
        },
    )
    [tests] = _djg504(root, "blog/tests/__init__.py")
    assert "delete it" not in tests
    assert "holds code" in tests and "conftest.py" in tests
    [commands] = _djg504(root, "blog/management/commands/__init__.py")
    assert "delete it" not in commands
    assert "`_base.py`" in commands
    [docstring_only] = _djg504(root, "blog/tests/api/__init__.py")
    assert "delete it" in docstring_only


# -- DJG501 remedies ----------------------------------------------------------------------


def test_save_remedy_exists_on_the_model() -> None:
    path = FIXTURES / "testing" / "DJG501_remedy.py"
    lint_path = str(FIXTURES / "projects" / "newsroom" / "news" / "tests" / "test_articles.py")
    findings = lint(path.read_text(), lint_path, [by_code()["DJG501"]])
    remedies = {f.line: (f.message.split("; ", 1)[1], f.fix is not None) for f in findings}
    assert remedies == {
        38: ("use `article.update(status=...)`", True),
        45: (
            "use `Author.objects.filter(pk=author.pk).update(is_active=...)` then "
            "`author.refresh_from_db()`",
            True,
        ),
        52: ("use `Author.objects.filter(pk=author.pk).update(is_active=...)`", True),
        59: ("use `Edition._base_manager.filter(pk=edition.pk).update(is_published=...)`", True),
        # Profile is not imported in the test module: named, but no fix
        70: (
            "use `Profile.objects.filter(pk=self.author.profile.pk).update(bio=...)` then "
            "`self.author.profile.refresh_from_db()`",
            False,
        ),
        72: (
            "use `Author.objects.filter(pk=self.author.pk).update(name=...)` then "
            "`self.author.refresh_from_db()`",
            False,
        ),
        79: (
            "use `Model.objects.filter(pk=listing.pk).update(is_visible=...)` with the model "
            "of `listing`",
            False,
        ),
        # from what a helper function or a helper method of the test class returns
        89: ("use `Author.objects.filter(pk=author.pk).update(is_active=...)`", True),
        99: ("use `article.update(title=...)`", True),
    }


def test_save_remedy_is_update_where_every_model_has_it(tmp_path: Path) -> None:
    # the team's convention holds: an object whose model is not found has update() too
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "models.py").write_text(
        "from django.db import models\n\n\n"
        "class BaseModel(models.Model):\n"
        "    def update(self, **kwargs):\n"
        "        for name, value in kwargs.items():\n"
        "            setattr(self, name, value)\n"
        "        self.save(update_fields=list(kwargs))\n\n"
        "    class Meta:\n"
        "        abstract = True\n\n\n"
        "class Order(BaseModel):\n"
        "    status = models.CharField(max_length=20)\n"
    )
    code = (
        "def test_cancel(client, pending_order):\n"
        '    pending_order.status = "cancelled"\n'
        "    pending_order.save()\n"
    )
    path = str(tmp_path / "shop" / "tests" / "test_orders.py")
    [finding] = lint(code, path, [by_code()["DJG501"]])
    assert finding.message.endswith("use `pending_order.update(status=...)`")
    assert fixed(code, "DJG501", path) == (
        'def test_cancel(client, pending_order):\n    pending_order.update(status="cancelled")\n'
    )


def test_check_server_sees_a_namesake_test_module_added_later(tmp_path: Path) -> None:
    from flake8_djguide.server import Server

    root = _project(
        tmp_path,
        {"polls/__init__.py": "", "polls/tests/__init__.py": "", "polls/tests/test_polls.py": ""},
    )
    assert len(_djg504(root, "polls/tests/__init__.py")) == 1
    (root / "blog" / "tests").mkdir(parents=True)
    (root / "blog" / "tests" / "test_polls.py").write_text("")
    Server(tmp_path / "server.sock", 1.0)._forget_file_system(list(sys.path))
    assert _djg504(root, "polls/tests/__init__.py") == []


def test_init_left_alone_without_pytest_evidence(tmp_path: Path) -> None:
    # `manage.py test` (unittest discovery) skips test directories without __init__.py
    root = _project(
        tmp_path,
        {
            "blog/__init__.py": "",
            "blog/tests/__init__.py": "",
            "blog/tests/test_posts.py": "",
            "blog/management/__init__.py": "",
            "blog/management/commands/__init__.py": "",
        },
        pytest_ini=False,
    )
    assert _djg504(root, "blog/tests/__init__.py") == []
    assert len(_djg504(root, "blog/management/commands/__init__.py")) == 1
    (root / "tox.ini").write_text("[testenv]\ncommands = pytest {posargs}\n")
    from flake8_djguide.rules import testing

    testing._runs_pytest.cache_clear()
    assert len(_djg504(root, "blog/tests/__init__.py")) == 1


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("setup.cfg", "[flake8]\nmax-line-length = 160\n\n[tool:pytest]\naddopts = -ra\n"),
        ("pyproject.toml", "[tool.pytest.ini_options]\nDJANGO_SETTINGS_MODULE = 'c.s'\n"),
        ("blog/tests/conftest.py", "import pytest\n"),
    ],
)
def test_init_reported_with_pytest_evidence(tmp_path: Path, name: str, text: str) -> None:
    files = {"blog/__init__.py": "", "blog/tests/__init__.py": "", "blog/tests/test_posts.py": ""}
    root = _project(tmp_path, {**files, name: text}, pytest_ini=False)
    assert len(_djg504(root, "blog/tests/__init__.py")) == 1


def test_init_left_alone_for_packages_of_test_data_and_clashing_subpackages(
    tmp_path: Path,
) -> None:
    root = _project(
        tmp_path,
        {
            "api/__init__.py": "",
            "api/tests/__init__.py": "",
            "api/tests/test_geocode.py": "from api.tests.fixtures.geocode import responses\n",
            "api/tests/fixtures/__init__.py": "",
            "api/tests/fixtures/geocode/__init__.py": "",
            "api/tests/fixtures/geocode/responses.py": "MAPBOX = {}\n",
            # every app has tests/test_src/: without tests/__init__.py they are one package
            "video/__init__.py": "",
            "video/tests/__init__.py": "",
            "video/tests/test_src/__init__.py": "",
            "video/tests/test_src/test_video.py": "",
            "channel/__init__.py": "",
            "channel/tests/__init__.py": "",
            "channel/tests/test_src/__init__.py": "",
            "channel/tests/test_src/test_channel.py": "",
        },
    )
    assert len(_djg504(root, "api/tests/__init__.py")) == 1
    assert _djg504(root, "api/tests/fixtures/__init__.py") == []
    assert _djg504(root, "api/tests/fixtures/geocode/__init__.py") == []
    assert _djg504(root, "video/tests/__init__.py") == []
    assert _djg504(root, "channel/tests/__init__.py") == []
    assert len(_djg504(root, "video/tests/test_src/__init__.py")) == 1
