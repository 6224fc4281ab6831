"""Adopting the plugin on an existing project: the README's walk-through, baseline-aware
fixing and hooks, the editor and CI snippets, and the hint on ``E999``."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flake8_djguide.cli import main
from flake8_djguide.registry import all_rules
from flake8_djguide.selection import Selection
from flake8_djguide.syntax import newer_syntax, newer_syntax_hint
from tests.robust import flake8_options

pytestmark = pytest.mark.usefixtures("keep_plugin_state", "imports_left_unsorted")

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: A view module of an existing project: two relative imports (DJG001, safely fixable)
#: and a print (DJG006, no fix).
OLD = '''"""Blog views."""

from .models import Post
from . import forms


def show(post: Post) -> None:
    """Show a post."""
    print(post, forms)


__all__ = ["show"]
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "manage.py").write_text("")
    for package in ("shop", "shop/blog"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "shop" / "blog" / "models.py").write_text(
        '"""Models."""\n\n\nclass Post:\n    """A post."""\n'
    )
    (tmp_path / "shop" / "blog" / "forms.py").write_text('"""Forms."""\n')
    (tmp_path / "shop" / "blog" / "views.py").write_text(OLD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def blocks(text: str, kind: str) -> list[str]:
    return [body.split("\n", 1)[1] for body in text.split("```")[1::2] if body.startswith(kind)]


def views(project: Path) -> Path:
    return project / "shop" / "blog" / "views.py"


# -- djguide fix and the baseline -----------------------------------------------------------------


def test_fix_leaves_baselined_findings_alone(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["baseline"]) == 0
    # a new finding in the same file, in new code
    path = views(project)
    path.write_text(
        OLD + '\n\ndef edit(post: Post) -> None:\n    """Edit."""\n    from .forms import Edit\n'
    )
    capsys.readouterr()
    assert main(["fix"]) == 0
    text = path.read_text()
    assert "from .models import Post\nfrom . import forms\n" in text  # baselined: untouched
    assert "from shop.blog.forms import Edit" in text  # new: fixed
    assert capsys.readouterr().out == (
        "Fixed 1 finding in 1 file (DJG001 1).\n0 findings left.\n"
        "3 baselined findings left alone (--include-baselined fixes them).\n"
    )


def test_include_baselined_fixes_and_reports_them(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["baseline"]) == 0
    capsys.readouterr()
    assert main(["fix", "--include-baselined"]) == 1  # the print has no fix
    assert "from shop.blog.models import Post\nfrom shop.blog import forms\n" in (
        views(project).read_text()
    )
    out = capsys.readouterr().out
    assert ": DJG006 " in out
    assert "Fixed 2 findings in 1 file (DJG001 2)." in out


def test_a_fix_next_to_a_baselined_finding_leaves_it_alone(project: Path) -> None:
    # DJG004 was ignored when the baseline was made; turned on later, its (unsafe) fix
    # rewrites the line right below a baselined import.
    (project / ".flake8").write_text("[flake8]\nextend-ignore = DJG004\n")
    path = views(project)
    path.write_text('import logging\nfrom . import forms\nlogger = logging.getLogger("x")\n')
    assert main(["baseline"]) == 0
    (project / ".flake8").unlink()
    main(["fix", "--unsafe-fixes"])
    assert path.read_text() == "import logging\nfrom . import forms\n" + (
        "logger = logging.getLogger(__name__)\n"
    )


def test_the_hooks_pass_on_a_commit_touching_a_file_with_baselined_findings(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["baseline"]) == 0
    path = views(project)
    edited = OLD + "\n\nVERSION = 2\n"
    path.write_text(edited)
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    entries = re.findall(r"^  entry: (.+)$", hooks, flags=re.MULTILINE)
    assert entries == ["djguide check", "djguide fix"]
    for entry in entries:  # pre-commit appends the staged files' names
        assert main([*entry.split()[1:], "shop/blog/views.py"]) == 0, entry
    assert path.read_text() == edited
    # a new finding in that commit fails both
    path.write_text(path.read_text() + '\n\ndef log() -> None:\n    """Log."""\n    print(1)\n')
    capsys.readouterr()
    for entry in entries:
        assert main([*entry.split()[1:], "shop/blog/views.py"]) == 1, entry
    assert capsys.readouterr().out.count(": DJG006 ") == 2


def test_the_readme_walk_through(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = section("Adopting on an existing code base")
    commands = [
        line.split("#", 1)[0].strip()
        for line in blocks(text, "bash")[0].splitlines()
        if line.startswith("djguide ")
    ]
    assert commands == [
        "djguide baseline",
        "djguide check",
        "djguide fix",
        "djguide baseline --prune",
    ]
    statuses = [main(shlex.split(command)[1:]) for command in commands]
    assert statuses == [0, 0, 0, 0]
    assert views(project).read_text() == OLD
    data = json.loads((project / ".djguide-baseline.json").read_text())
    assert [e["code"] for e in data["findings"]["shop/blog/views.py"]] == [
        "DJG001",
        "DJG001",
        "DJG006",
    ]
    # the editor's run (stdin with the file's path) reads the same baseline
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--stdin-display-name=shop/blog/views.py", "-"],
        input=OLD,
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "DJG" not in result.stdout
    assert result.returncode == 0


# -- one story for choosing codes -----------------------------------------------------------------


def example_project(tmp_path: Path) -> Path:
    target = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", target)
    return target


FORMAT = "--format=%(path)s:%(row)d:%(col)d:%(code)s"
#: flags that change how findings are written, not which
OUTPUT_ONLY = ("--format", "--output-file", "--exit-zero", "--show-source", "--statistics")


def findings(project: Path, *args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "flake8", *args, FORMAT, "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert "Traceback" not in result.stderr
    return sorted(result.stdout.splitlines())


def snippet_arguments() -> list[tuple[str, list[str]]]:
    """The flake8 arguments of every editor and CI snippet of the README."""
    found = []
    for match in re.finditer(r'"flake8\.args": (\[[^\]]*\])', README):
        found.append(("editor", json.loads(match.group(1))))
    for match in re.finditer(r"^\s*- run: flake8 (.*)$", README, flags=re.MULTILINE):
        args = shlex.split(match.group(1).split(" #", 1)[0])
        found.append(("CI", [arg for arg in args if arg != "."]))
    return found


def test_the_readme_has_editor_and_ci_snippets() -> None:
    kinds = {kind for kind, _ in snippet_arguments()}
    assert kinds == {"editor", "CI"}


def test_editor_and_ci_snippets_give_what_a_plain_flake8_run_gives(tmp_path: Path) -> None:
    project = example_project(tmp_path)
    plain = findings(project)
    assert any(":DJG" in line for line in plain)
    for kind, args in snippet_arguments():
        chosen = [arg for arg in args if not arg.split("=", 1)[0].startswith(OUTPUT_ONLY)]
        assert findings(project, *chosen) == plain, (kind, args)


def test_the_readme_configuration_for_choosing_codes() -> None:
    ini = blocks(section("Choosing codes"), "ini")[0]
    argv = []
    for line in ini.splitlines():
        key, _, value = line.partition(" = ")
        if key in ("select", "extend-select", "extend-ignore"):
            argv.append(f"--{key}={value}")
    argv.append("--per-file-ignores=legacy/*:DJG")
    assert "per-file-ignores =\n    legacy/*: DJG" in ini
    default = sorted(rule.CODE for rule in all_rules() if not rule.OPT_IN)
    with flake8_options(*argv) as options:
        selection = Selection(options)
        assert [r.CODE for r in selection.rules_for("./blog/views.py")] == sorted(
            [*default, "DJG502"]
        )
        assert selection.rules_for("./legacy/views.py") == []


def test_the_shadowing_warning_advises_the_default_set(tmp_path: Path) -> None:
    (tmp_path / "views.py").write_text("from .models import Post\n")
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--ignore=D,E203", "views.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    advice = re.search(r"add '(extend-select = DJG)'", result.stderr)
    assert advice is not None, result.stderr
    default = sorted(rule.CODE for rule in all_rules() if not rule.OPT_IN)
    with flake8_options("--ignore=D,E203", "--extend-select=DJG") as options:
        assert [r.CODE for r in Selection(options).default_rules()] == default


# -- E999 from a newer Python's syntax ------------------------------------------------------------

NEWER = [
    ((3, 12), "type Ids = list[int]\n", "a `type` alias"),
    ((3, 12), "def first[T](items: list[T]) -> T:\n    return items[0]\n", "type parameters"),
    ((3, 12), 'label = f"{post["title"]}"\n', "an f-string that nests its own quotes"),
    ((3, 13), "class Box[T = int]:\n    pass\n", "a type parameter default"),
    ((3, 14), 'query = t"SELECT {name}"\n', "a t-string"),
    ((3, 14), "try:\n    pass\nexcept KeyError, ValueError:\n    pass\n", "`except` with"),
]


@pytest.mark.parametrize(("version", "code", "what"), NEWER, ids=lambda v: str(v)[:20])
def test_newer_syntax_names_the_python_that_parses_it(
    version: tuple[int, int], code: str, what: str
) -> None:
    found = newer_syntax(code)
    if sys.version_info[:2] >= version:
        assert found is None  # this Python parses it: no E999, no hint
    else:
        assert found is not None
        assert found[0] == version
        assert found[1].startswith(what)


def test_a_plain_syntax_error_gets_no_hint() -> None:
    assert newer_syntax("def f(:\n    pass\n") is None
    assert newer_syntax_hint("x = (\n") is None
    assert newer_syntax("x = 1\n") is None


def newest_unsupported() -> tuple[tuple[int, int], str]:
    for version, code, _ in NEWER:
        if sys.version_info[:2] < version:
            return version, code
    pytest.skip("this Python parses every construct")


def test_check_and_baseline_say_which_python_parses_the_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    version, code = newest_unsupported()
    (project / "shop" / "blog" / "types.py").write_text(code)
    (project / "shop" / "blog" / "broken.py").write_text("def f(:\n")
    main(["check", "shop/blog/types.py", "shop/blog/broken.py"])
    out = capsys.readouterr().out.splitlines()
    running = ".".join(map(str, sys.version_info[:2]))
    wanted = ".".join(map(str, version))
    [newer] = [line for line in out if line.startswith("shop/blog/types.py")]
    assert " E999 " in newer
    assert f"is Python {wanted} syntax and flake8 runs on Python {running}" in newer
    assert f"run it with Python {wanted} or newer" in newer
    [broken] = [line for line in out if line.startswith("shop/blog/broken.py")]
    assert broken.endswith("E999 SyntaxError: invalid syntax")
    main(["baseline", "shop/blog/types.py"])
    err = capsys.readouterr().err
    assert f"is Python {wanted} syntax" in err
    assert "not recorded (a baseline holds DJG findings only)" in err


# -- one cache per project ------------------------------------------------------------------------


def test_one_run_makes_one_self_ignoring_cache_at_the_repository_root(tmp_path: Path) -> None:
    # manage.py in src/ (the example project), setup.cfg and .git at the top
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "shop", repo / "src", ignore=shutil.ignore_patterns(".*"))
    (repo / ".git").mkdir()
    (repo / "setup.cfg").write_text("[flake8]\nmax-line-length = 160\n")
    (repo / "scripts").mkdir()
    (repo / "scripts" / "tool.py").write_text('"""A tool."""\n')
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "."],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert "DJG201" in result.stdout  # the model index was used
    caches = sorted(str(p.relative_to(repo)) for p in repo.rglob(".djguide_cache"))
    assert caches == [".djguide_cache"]
    assert (repo / ".djguide_cache" / ".gitignore").read_text().splitlines()[-1] == "*"
