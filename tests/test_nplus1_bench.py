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
