"""DJG207's messages name the path, the model, the bad segment and the remedy."""

from __future__ import annotations

from flake8_djguide.registry import by_code
from tests.util import FIXTURES, lint

VIEWS = str(FIXTURES / "projects" / "inventory" / "assets" / "checks.py")


def _messages(code: str) -> list[str]:
    return [f.message for f in lint(code, VIEWS, [by_code()["DJG207"]])]


def test_a_plain_field_names_the_relation_to_select_instead() -> None:
    code = (
        "from assets.models import CloudProject\n\n\n"
        "def f():\n"
        '    return CloudProject.objects.select_related("cloudprovider__name")\n'
    )
    assert _messages(code) == [
        "DJG207 `cloudprovider__name`: `name` is a field of `CloudProvider`, not a relation "
        "(`select_related()` raises FieldError); use `cloudprovider`; `CloudProvider` has no "
        "relation `select_related()` can follow"
    ]


def test_a_to_many_relation_is_sent_to_prefetch_related() -> None:
    code = (
        "from assets.models import CloudHost\n\n\n"
        "def f():\n"
        '    return CloudHost.objects.select_related("project__tags")\n'
    )
    assert _messages(code) == [
        "DJG207 `project__tags`: `tags` of `CloudProject` is a many-to-many relation, which "
        '`select_related()` cannot follow (FieldError); use `prefetch_related("project__tags")`'
    ]


def test_a_misspelling_names_the_relation_and_lists_the_valid_ones() -> None:
    code = (
        "from assets.models import CloudProject\n\n\n"
        "def f():\n"
        '    return CloudProject.objects.select_related("service_envs")\n'
    )
    assert _messages(code) == [
        "DJG207 `service_envs`: `service_envs` is not a relation of `CloudProject` "
        "(`select_related()` raises FieldError); did you mean `service_env`? relations "
        "`select_related()` can follow on `CloudProject`: `cloudprovider`, `created_by`, "
        "`service_env`"
    ]


def test_a_prefetched_plain_field_lists_every_relation() -> None:
    code = (
        "from assets.models import CloudProject\n\n\n"
        "def f():\n"
        '    return CloudProject.objects.prefetch_related("hosts__hostname")\n'
    )
    assert _messages(code) == [
        "DJG207 `hosts__hostname`: `hostname` is a field of `CloudHost`, not a relation "
        "(`prefetch_related()` raises an error once rows are fetched); use `hosts`; relations "
        "of `CloudHost`: `project`"
    ]


def test_an_admin_is_told_to_prefetch_in_get_queryset() -> None:
    code = (
        "from django.contrib import admin\n\n"
        "from assets.models import CloudProject\n\n\n"
        "@admin.register(CloudProject)\n"
        "class CloudProjectAdmin(admin.ModelAdmin):\n"
        '    list_select_related = ["hosts"]\n'
    )
    assert _messages(code) == [
        "DJG207 `hosts`: `hosts` of `CloudProject` is a reverse foreign key (a to-many "
        "relation), which `select_related()` cannot follow (FieldError); remove it and use "
        '`prefetch_related("hosts")` in the admin\'s `get_queryset()`'
    ]


def test_a_long_list_of_relations_is_shortened() -> None:
    fields = "\n".join(
        f"    r{i} = models.ForeignKey(Target, on_delete=models.CASCADE, related_name='+')"
        for i in range(12)
    )
    code = (
        "from django.db import models\n\n\n"
        "class Target(models.Model):\n    name = models.CharField(max_length=10)\n\n\n"
        f"class Wide(models.Model):\n    title = models.CharField(max_length=10)\n{fields}\n\n\n"
        "def f():\n"
        '    return Wide.objects.select_related("title")\n'
    )
    [message] = [f.message for f in lint(code, "/djguide-no-project/a/b.py", [by_code()["DJG207"]])]
    assert message.endswith(
        "relations `select_related()` can follow on `Wide`: `r0`, `r1`, `r10`, `r11`, `r2`, "
        "`r3`, `r4`, `r5` and 4 more"
    )
