"""The benchmark's corpus handling (bench/run.py), without downloading anything."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


def test_both_corpora_are_pinned(bench: ModuleType) -> None:
    assert set(bench.CORPORA) == {"framework", "application"}
    for corpus in bench.CORPORA.values():
        assert corpus.requirements
        assert all("==" in requirement for requirement in corpus.requirements)
        assert corpus.editor_files


def test_application_keeps_its_templates_and_lints_only_python(
    bench: ModuleType, tmp_path: Path
) -> None:
    application = bench.CORPORA["application"]
    suffixes = (".py", *application.also_keep)
    keep = bench._package_path
    assert keep("pretix/base/views/tasks.py", "pretix", False, suffixes) == (
        "pretix/base/views/tasks.py"
    )
    assert keep("pretix/control/templates/pretixcontrol/base.html", "pretix", False, suffixes)
    assert keep("pretix/static/logo.png", "pretix", False, suffixes) is None
    assert keep("pretix-2026.8.0.dist-info/RECORD", "pretix", False, suffixes) is None
    # the framework corpus keeps Python files only, and an sdist's first folder is dropped
    assert keep("Django-5.2/django/templates/a.html", "django", True) is None
    assert keep("Django-5.2/django/db/models/query.py", "django", True) == (
        "django/db/models/query.py"
    )
    (tmp_path / "pretix" / "templates").mkdir(parents=True)
    (tmp_path / "pretix" / "a.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "pretix" / "templates" / "a.html").write_text("{{ x }}\n", encoding="utf-8")
    assert bench.corpus_files(tmp_path, 1) == ["pretix/a.py"]


def test_unknown_corpus_is_a_clear_error(
    bench: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        bench.main(["--corpora", "framework,netbox"])
    error = capsys.readouterr().err
    assert "--corpora" in error
    assert "netbox" in error
    assert "framework, application" in error


def test_user_figure_compares_plain_flake8_with_djg_switched_off(bench: ModuleType) -> None:
    plain = bench.flake8_argv("all", [*bench.PLAIN, "-j2", "a.py"], False)
    without = bench.flake8_argv("all", [*bench.WITHOUT_DJG, "-j2", "a.py"], False)
    assert not any(arg.startswith("--select") for arg in plain)
    assert "--extend-ignore=DJG" in without
    assert [a for a in without if a != "--extend-ignore=DJG"] == plain
    assert bench.BUDGETS["user"] == 1.35
    assert bench.BUDGETS["index cold"] == 0.10
    assert bench.BUDGETS["memory"] == 1.3
