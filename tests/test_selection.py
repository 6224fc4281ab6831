"""One selection engine: flake8, ``djguide check``, ``fix`` and ``baseline`` report the same codes.

flake8's own style guide decides (select, ignore, extend-*, per-file-ignores with
prefixes); an opt-in rule runs only when its full code is selected.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from flake8_djguide.cli import main
from flake8_djguide.plugin import Plugin
from flake8_djguide.registry import all_rules
from flake8_djguide.selection import Selection
from tests.robust import flake8_options

pytestmark = pytest.mark.usefixtures("keep_plugin_state")

VIEWS = '''"""Views."""

from .models import Post


def show() -> None:
    """Show the posts."""
    print(Post.objects.raw("SELECT * FROM blog_post"))
'''

DEFAULT = sorted(rule.CODE for rule in all_rules() if not rule.OPT_IN)
OPT_IN = sorted(rule.CODE for rule in all_rules() if rule.OPT_IN)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three packages with the same findings: DJG001 (fixable), DJG006, DJG206 (opt-in)."""
    (tmp_path / "manage.py").write_text("")
    for package in ("shop", "shop/blog", "legacy", "legacy/blog", "scripts"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for package in ("shop/blog", "legacy/blog", "scripts"):
        (tmp_path / package / "views.py").write_text(VIEWS)
        (tmp_path / package / "models.py").write_text("class Post:\n    objects = None\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def codes_of(argv: list[str]) -> list[str]:
    with flake8_options(*argv) as options:
        return [rule.CODE for rule in Selection(options).default_rules()]


# -- the decision ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--extend-select=DJG"],  # the editor's argument
        ["--select=E,F,W,DJG"],  # a select list naming DJG
        ["--select=DJG"],
        ["--ignore=E203,W503"],  # `ignore` replaces flake8's default ignore list
        ["--extend-ignore=D", "--extend-select=DJG"],  # the shadowing warning's advice
        ["--ignore=D", "--extend-select=DJG"],
        ["--ignore=DJ,E203", "--extend-select=DJG"],
    ],
)
def test_djg_means_exactly_the_default_set(argv: list[str]) -> None:
    assert codes_of(argv) == DEFAULT


def test_an_opt_in_rule_needs_its_full_code() -> None:
    code = OPT_IN[0]
    assert codes_of([f"--extend-select={code}"]) == sorted([*DEFAULT, code])
    assert codes_of([f"--select={code}"]) == [code]
    assert codes_of([f"--extend-select={code[:5]}"]) == DEFAULT  # a prefix is not enough
    # flake8 decides, longest match first: an explicit ignore of the full code wins a tie
    assert codes_of([f"--extend-select={code}", f"--extend-ignore={code}"]) == DEFAULT


def test_select_and_ignore_prefixes_decide_as_flake8_does() -> None:
    assert codes_of(["--extend-ignore=DJG4"]) == [c for c in DEFAULT if not c.startswith("DJG4")]
    assert codes_of(["--select=DJG0", "--extend-ignore=DJG00"]) == [
        c for c in DEFAULT if c.startswith("DJG01")
    ]
    # a longer select wins over a shorter ignore, and the other way round
    assert codes_of(["--extend-ignore=DJG0", "--extend-select=DJG001"]) == [
        c for c in DEFAULT if not c.startswith("DJG0") or c == "DJG001"
    ]
    assert codes_of(["--select=E,W,F"]) == []
    assert codes_of(["--extend-ignore=D"]) == []


def test_per_file_ignores_with_prefixes_are_flake8s() -> None:
    argv = [
        "--extend-select=DJG206,DJG006",
        "--per-file-ignores=legacy/*:DJG shop/*:DJG0 shop/blog/views.py:DJG2",
    ]
    with flake8_options(*argv) as options:
        selection = Selection(options)
        legacy = [r.CODE for r in selection.rules_for("./legacy/blog/views.py")]
        shop = [r.CODE for r in selection.rules_for("./shop/blog/models.py")]
        views = [r.CODE for r in selection.rules_for("./shop/blog/views.py")]
        other = [r.CODE for r in selection.rules_for("./scripts/views.py")]
    # An explicitly selected full code is longer than the per-file prefix: flake8 reports
    # it. Not the opt-in DJG206: against an explicit ignore, flake8 compares the longest
    # select and ignore entries, and its default ignore list holds DJG206 itself (a tie).
    assert legacy == ["DJG006"]
    assert shop == sorted(
        c for c in [*DEFAULT, "DJG206"] if not c.startswith("DJG0") or c == "DJG006"
    )
    # the longest matching pattern is the one that applies, as in flake8
    assert views == [c for c in DEFAULT if not c.startswith("DJG2")]
    assert other == sorted([*DEFAULT, "DJG206"])


# -- the same findings everywhere -----------------------------------------------------------------

CONFIGS = {
    "whole directory": "per-file-ignores =\n    legacy/*: DJG\n",
    "prefixes": "per-file-ignores =\n    legacy/*: DJG0\n    scripts/*: DJG00\n",
    "opt-in selected": "extend-select = DJG206\nper-file-ignores =\n    legacy/*: DJG\n",
    "ignore list": "ignore = E203,W503\nper-file-ignores =\n    scripts/*: DJG006\n",
    "shadowing and its remedy": "extend-ignore = D\nextend-select = DJG\n",
}


def plain_flake8(project: Path) -> Counter[tuple[str, str]]:
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--format=%(path)s|%(code)s", "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    found = Counter()
    for line in result.stdout.splitlines():
        path, code = line.split("|")
        if code.startswith("DJG"):
            found[(path.removeprefix("./"), code)] += 1
    return found


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_flake8_check_fix_and_baseline_agree(
    project: Path, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".flake8").write_text("[flake8]\n" + CONFIGS[config])
    expected = plain_flake8(project)
    assert expected  # the project has findings under every configuration

    main(["check", "--format=%(path)s|%(code)s", "."])
    checked = Counter(
        (line.split("|")[0].removeprefix("./"), line.split("|")[1])
        for line in capsys.readouterr().out.splitlines()
    )
    assert checked == expected

    assert main(["baseline", "."]) == 0
    capsys.readouterr()
    data = json.loads((project / ".djguide-baseline.json").read_text())
    recorded = Counter(
        (path, entry["code"]) for path, entries in data["findings"].items() for entry in entries
    )
    assert recorded == expected
    (project / ".djguide-baseline.json").unlink()

    # fix: DJG001 is fixed (the diff), the others are reported as left
    main(["fix", "--diff", "."])
    captured = capsys.readouterr()
    fixed = Counter(
        (line[len("+++ b/") :], "DJG001")
        for line in captured.out.splitlines()
        if line.startswith("+++ b/")
    )
    left = Counter(
        (line.split(":")[0].removeprefix("./"), line.split()[1])
        for line in captured.err.splitlines()
        if ": DJG" in line
    )
    assert left + fixed == expected


def test_the_check_server_gets_the_rules_of_the_same_decision(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.robust import plugin_results

    asked: dict[str, list[str]] = {}

    def server(lines: object, ctx: object, rules: list[type[object]]) -> list[object]:
        asked[str(getattr(ctx, "filename", ""))] = [getattr(r, "CODE", "") for r in rules]
        return []

    argv = ["--djguide-server=true", "--per-file-ignores=legacy/*:DJG0", "--extend-select=DJG206"]
    with flake8_options(*argv) as options:
        monkeypatch.setattr(Plugin, "_remote", server)
        for filename in ("legacy/blog/views.py", "shop/blog/views.py"):
            assert plugin_results(VIEWS, filename) == []
            wanted = [r.CODE for r in Selection(options).rules_for(filename)]
            # the plugin hands the server the rules whose text hints occur in the file
            assert asked[filename] and set(asked[filename]) <= set(wanted)
    assert not any(code.startswith("DJG0") for code in asked["legacy/blog/views.py"])
    assert "DJG001" in asked["shop/blog/views.py"]
    assert "DJG206" in asked["legacy/blog/views.py"]
