"""DJG401-DJG406: cheap triggers, fixes on whole modules, options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flake8_djguide.engine import Engine
from flake8_djguide.registry import by_code
from tests.fixcheck import fix_by_rounds
from tests.util import lint, settings_with, triples

RULES = by_code()
DJG401, DJG402, DJG403, DJG404, DJG405, DJG406 = (RULES[f"DJG40{n}"] for n in range(1, 7))

# Annotated and documented application code, the way the rules want it: hooks and
# nested helpers without docstrings, `self`/`cls` without annotations, `Meta` classes.
CLEAN_MODULE = '''\
"""Events API."""
from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

__all__ = ["Event", "EventSerializer", "EventViewSet", "event_publish"]


class Event(models.Model):
    """An event."""

    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)


class EventSerializer(serializers.ModelSerializer):
    """An event, with its number of attendees."""

    attendees = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["name", "attendees"]

    def get_attendees(self, obj: Event) -> int:
        return 0

    def validate_name(self, value: str) -> str:
        return value.strip()


class EventViewSet(viewsets.ModelViewSet):
    """CRUD for events."""

    queryset = Event.objects.all()
    serializer_class = EventSerializer

    @classmethod
    def extra_actions(cls) -> list[Any]:
        """No extra actions."""
        return []

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)


def event_publish(*, event: Event) -> Event:
    """Publish an event."""

    def notify(user_id: int) -> None:
        pass

    if not event.name:
        raise ValueError(f"Event {event.pk} has no name.")
    return event
'''


def _parsed(code: str, path: str, *rules: type) -> bool:
    engine = Engine(list(rules))
    return engine.check(code.splitlines(True), path, settings_with({})).parsed


def test_annotated_documented_code_is_never_parsed() -> None:
    assert not _parsed(CLEAN_MODULE, "events/views.py", DJG401, DJG402, DJG404, DJG405, DJG406)


def test_the_clean_module_has_no_findings_in_a_full_parse() -> None:
    rules = [DJG401, DJG402, DJG404, DJG405, DJG406]
    assert lint(CLEAN_MODULE, "events/views.py", rules, whole_file=True) == []


def test_one_undocumented_function_is_reported_without_parsing() -> None:
    code = CLEAN_MODULE.replace('"event_publish"]', '"event_publish", "event_cancel"]')
    code += "\n\ndef event_cancel(*, event: Event) -> None:\n    event.delete()\n"
    engine = Engine([DJG404])
    result = engine.check(code.splitlines(True), "events/views.py", settings_with({}))
    assert not result.parsed
    assert triples(result.findings) == [(71, 0, "DJG404")]
    # the fixer's whole-file run still parses, and finds the same
    whole = engine.check(
        code.splitlines(True), "events/views.py", settings_with({}), whole_file=True
    )
    assert whole.parsed
    assert [(f.line, f.col, f.message) for f in whole.findings] == [
        (f.line, f.col, f.message) for f in result.findings
    ]


def test_names_left_out_of_dunder_all_are_not_public() -> None:
    code = CLEAN_MODULE + "\n\ndef event_cancel(*, event: Event) -> None:\n    event.delete()\n"
    assert lint(code, "events/views.py", [DJG404]) == []


def test_test_code_without_annotations_is_never_parsed() -> None:
    code = (
        "import pytest\n\n\n@pytest.fixture\ndef event(db):\n    return EventFactory()\n\n\n"
        "class TestEvents:\n    def test_list(self, client, event):\n"
        "        assert client.get('/events/').status_code == 200\n"
    )
    assert not _parsed(code, "events/tests/test_views.py", DJG403)


def test_a_method_with_unannotated_self_only_is_not_parsed() -> None:
    code = "class A(Base):\n    def get(self, request: Request) -> Response:\n        pass\n"
    assert not _parsed(code, "a/views.py", DJG401)
    plain = "def get(self, request: Request) -> Response:\n    pass\n"
    assert not _parsed(plain, "a/b.py", DJG401)
    assert triples(lint(plain, "a/b.py", [DJG401])) == [(1, 8, "DJG401")]


def test_return_fixes_on_a_whole_module() -> None:
    code = (
        "class PostService:\n"
        "    def __init__(self, repo: Repo):\n"
        "        self.repo = repo\n\n"
        "    def publish(self, post: Post):\n"
        "        if post.published:\n"
        "            return None\n"
        "        post.save()\n\n"
        "    def count(self):\n"
        "        return self.repo.count()\n\n"
        "    def walk(self):\n"
        "        def inner():\n"
        "            return 1\n\n"
        "        yield inner()\n\n"
        "    def callback(self):\n"
        "        return lambda: (yield)\n\n"
        "    def stub(self):\n"
        "        ...\n"
    )
    expected = (
        "class PostService:\n"
        "    def __init__(self, repo: Repo) -> None:\n"
        "        self.repo = repo\n\n"
        "    def publish(self, post: Post) -> None:\n"
        "        if post.published:\n"
        "            return None\n"
        "        post.save()\n\n"
        "    def count(self):\n"
        "        return self.repo.count()\n\n"
        "    def walk(self):\n"
        "        def inner():\n"
        "            return 1\n\n"
        "        yield inner()\n\n"
        "    def callback(self):\n"
        "        return lambda: (yield)\n\n"
        "    def stub(self):\n"
        "        ...\n"
    )
    assert fix_by_rounds(code, "blog/services.py", [DJG402]) == expected
    findings = lint(code, "blog/services.py", [DJG402])
    assert [f.line for f in findings] == [2, 5, 10, 13, 14, 19, 22]


def test_a_body_that_only_raises_another_exception_gets_none() -> None:
    code = "def deny(request: Request):\n    raise PermissionDenied('No.')\n"
    fixed = fix_by_rounds(code, "a/views.py", [DJG402])
    assert fixed == "def deny(request: Request) -> None:\n    raise PermissionDenied('No.')\n"


def test_annotation_fixes_in_one_test_function() -> None:
    code = (
        "def test_event(client: APIClient, status: int = 200, *args: Any) -> None:\n"
        "    count: int = Event.objects.count()\n"
        "    total: int\n"
        "    assert count == status\n"
    )
    expected = (
        "def test_event(client, status=200, *args):\n"
        "    count = Event.objects.count()\n"
        "    total: int\n"
        "    assert count == status\n"
    )
    path = "events/tests/test_api.py"
    assert fix_by_rounds(code, path, [DJG403]) == expected
    # the bare declaration is reported without a fix
    findings = lint(code, path, [DJG403])
    assert [(f.line, f.fix is None) for f in findings][-1] == (3, True)


def test_docstring_hook_methods_option_extends_the_hooks() -> None:
    code = (
        'class ChatConsumer(AsyncConsumer):\n    """Chat."""\n\n'
        "    def chat_message(self):\n        pass\n"
    )
    assert triples(lint(code, "chat/consumers.py", [DJG404])) == [(4, 4, "DJG404")]
    options = {"docstring-hook-methods": ["chat_*"]}
    assert lint(code, "chat/consumers.py", [DJG404], options) == []


def test_message_optional_exceptions_option() -> None:
    code = "def f():\n    raise Retry()\n"
    assert triples(lint(code, "a/tasks.py", [DJG406])) == [(2, 4, "DJG406")]
    assert lint(code, "a/tasks.py", [DJG406], {"message-optional-exceptions": ["Retry"]}) == []


def test_computed_dunder_all_makes_every_name_public() -> None:
    code = "__all__ = [name for name in ('a',)]\n\n\ndef helper():\n    pass\n"
    assert triples(lint(code, "a/utils.py", [DJG404])) == [(4, 0, "DJG404")]


def test_classes_deriving_from_a_local_pydantic_model_keep_annotations() -> None:
    code = (
        "class Base(BaseModel):\n    id: int\n\n\n"
        "def test_x():\n    pass\n\n\n"
        "class Child(Base):\n    name: str\n\n\n"
        "class Plain(Child.__class__):\n    pass\n\n\n"
        "class TestChild:\n    name: str = 'x'\n"
    )
    for whole_file in (False, True):
        findings = lint(code, "a/tests/test_m.py", [DJG403], whole_file=whole_file)
        assert triples(findings) == [(18, 10, "DJG403")]


def test_mypy_init_return_is_a_flake8_option(tmp_path: Path) -> None:
    source = tmp_path / "forms.py"
    source.write_text(
        "class F:\n    def __init__(self, request: Request):\n        self.request = request\n"
    )
    command = [sys.executable, "-m", "flake8", "--select=DJG402", "--isolated", str(source)]
    default = subprocess.run(command, capture_output=True, text=True, check=False)
    assert "DJG402" in default.stdout
    relaxed = subprocess.run(
        [*command, "--djguide-mypy-init-return=true"], capture_output=True, text=True, check=False
    )
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
