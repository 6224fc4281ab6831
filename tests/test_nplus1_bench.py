"""The verdicts of the N+1 recall bench (``bench/nplus1/run.py``), on made-up findings."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

RUN = Path(__file__).resolve().parents[1] / "bench" / "nplus1" / "run.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nplus1_run", RUN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["nplus1_run"] = module
    spec.loader.exec_module(module)
    return module


def _finding(bench: ModuleType, text: str, line: int = 10) -> object:
    return bench.Finding("app/views.py", line, 5, "DJG203", text)


def test_remedy_paths_reads_select_and_prefetch_arguments(bench: ModuleType) -> None:
    found = _finding(
        bench,
        '`ItemSerializer` reads `a`, `b.c`; add `.select_related("a")` and '
        "`.prefetch_related('b__c', \"d\")` to that queryset",
    )
    assert bench.remedy_paths([found]) == {"a", "b__c", "d"}


def test_narrowed_when_only_relations_the_fix_did_not_load_are_left(bench: ModuleType) -> None:
    before = [_finding(bench, 'add `.select_related("owner", "taxi_form")`')]
    after = [_finding(bench, 'add `.select_related("taxi_form")`', line=12)]
    assert bench.narrowed(before, after)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('add `.select_related("owner")`', 'add `.select_related("owner")`'),
        ('add `.select_related("owner")`', 'add `.select_related("owner", "team")`'),
        ('add `.select_related("owner")`', 'add `.select_related("team")`'),
        ("runs a query on every iteration", "runs a query on every iteration"),
    ],
)
def test_not_narrowed_when_the_same_or_other_relations_are_reported(
    bench: ModuleType, before: str, after: str
) -> None:
    assert not bench.narrowed([_finding(bench, before)], [_finding(bench, after)])


def test_not_narrowed_without_a_hit_or_without_a_finding_left(bench: ModuleType) -> None:
    finding = _finding(bench, 'add `.select_related("owner")`')
    assert not bench.narrowed([], [finding])
    assert not bench.narrowed([finding], [])


FIXED = """\
class RunSerializer:
    @classmethod
    def prefetch_queryset(cls, queryset):
        return queryset.select_related(
            "course__video__image",
            "language",
        ).prefetch_related(
            "transcript_languages",
            Prefetch("course__programs", queryset=Program.objects.select_related("type")),
        )
"""


def test_loaded_paths_reads_the_added_lines_and_prefixes_prefetch_querysets(
    bench: ModuleType,
) -> None:
    assert bench.loaded_paths(FIXED, {5, 9}) == {
        "course__video__image",
        "course__programs",
        "course__programs__type",
    }
    assert bench.loaded_paths(FIXED, set()) == set()
    assert bench.loaded_paths("def broken(:\n", {1}) == set()


COUNTED = """\
def engagements(products):
    return products.prefetch_related(
        Prefetch("engagement_set", queryset=Engagement.objects.annotate(test_count=Count("test__id"))),
        "engagement_set__tags",
    ).annotate(total=Sum("amount"), name_upper=Upper("name"))
"""


def test_loaded_paths_reads_aggregates_annotated_on_the_added_lines(bench: ModuleType) -> None:
    assert bench.loaded_paths(COUNTED, {3}) == {"engagement_set", "engagement_set__test__id"}
    assert bench.loaded_paths(COUNTED, {5}) == {"amount"}


def test_a_count_in_the_query_touches_the_reverse_accessor_it_counts(bench: ModuleType) -> None:
    loads = {"engagement_set", "engagement_set__test__id"}
    assert bench.touched("engagement_set__test_set", loads)
    assert not bench.touched("engagement_set__lead", loads)
    assert bench.touched("engagement_set", {"engagement"})


def test_added_lines_are_the_new_side_of_each_hunk(bench: ModuleType) -> None:
    assert bench.added_lines([(3, 1, 3, 2), (10, 2, 11, 0)]) == {3, 4}


def test_other_relation_when_the_fix_loaded_none_of_the_named_relations(
    bench: ModuleType,
) -> None:
    hit = _finding(bench, 'add `.select_related("course__additional_metadata")`')
    assert bench.other_relation([hit], {"course", "course__video__image"})
    assert not bench.other_relation([hit], {"course__additional_metadata"})
    assert not bench.other_relation([hit], {"course__additional_metadata__partner"})
    assert not bench.other_relation([hit], set())
    loop = _finding(bench, "runs a query on every iteration")
    assert not bench.other_relation([hit, loop], {"course"})
    assert not bench.other_relation([], {"course"})


def test_not_narrowed_when_what_is_left_is_a_relation_the_fix_loaded(bench: ModuleType) -> None:
    before = [_finding(bench, 'add `.select_related("owner", "taxi_form")`')]
    after = [_finding(bench, 'add `.select_related("taxi_form")`', line=12)]
    assert bench.narrowed(before, after, {"owner"})
    assert not bench.narrowed(before, after, {"owner", "taxi_form"})
