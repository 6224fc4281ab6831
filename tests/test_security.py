"""Security: the plugin never imports or runs the code it checks, its cache holds JSON only,
it writes nothing outside its cache directory, and it works on a read-only checkout.

The checked project below would leave a marker file (and some of its modules would
``raise SystemExit`` or call ``os._exit``) if any of its modules were imported. It is
checked by the real ``flake8`` command (``-j2``, with HOME, TMPDIR and the working
directory pointed at empty directories that are watched too), through standard input,
in process through the plugin entry point, and by ``djguide fix``.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flake8_djguide import cli
from tests.robust import ROOT, Flake8Run, flake8_options, plugin_results, plugin_state, run_flake8

SRC = ROOT / "src" / "flake8_djguide"
CACHE_DIR_NAME = ".djguide_cache"
SECRET_NAME = "cache-key"  # flake8_djguide.index.store.SECRET_NAME

#: Modules whose use would let a cache file or checked code run code.
FORBIDDEN_MODULES = frozenset(
    {"pickle", "_pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle", "jsonpickle"}
    | {"yaml", "runpy", "imp", "code", "codeop"}
)
#: Builtins that run or import code given as data.
FORBIDDEN_CALLS = frozenset({"eval", "exec", "compile", "__import__", "breakpoint"})
#: Calls that import or load modules, and the only places allowed to make them (on
#: names of this package and of libcst, never on checked code).
IMPORTING_CALLS = {
    "import_module": {"_lazy.py", "registry.py"},
    # finds a top-level name, never imports it (server.py: libcst's, for its version)
    "find_spec": {"context.py", "server.py"},
    "spec_from_file_location": set(),
    "module_from_spec": set(),
    "exec_module": set(),
    "load_module": set(),
    "run_path": set(),
    "run_module": set(),
}


def _called_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def test_source_never_imports_unsafe_deserialisers_or_runs_code_as_data() -> None:
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(SRC)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                names = []
            for name in names:
                if name.split(".")[0] in FORBIDDEN_MODULES:
                    problems.append(f"{where}:{node.lineno}: imports {name}")
            if isinstance(node, ast.Call):
                called = _called_name(node)
                if isinstance(node.func, ast.Name) and called in FORBIDDEN_CALLS:
                    problems.append(f"{where}:{node.lineno}: calls {called}()")
                allowed = IMPORTING_CALLS.get(called)
                if allowed is not None and path.name not in allowed:
                    problems.append(f"{where}:{node.lineno}: calls {called}()")
    assert problems == []


def test_the_scan_sees_what_it_forbids(tmp_path: Path) -> None:
    # the scan above must be able to fail
    bad = "import pickle\nfrom marshal import loads\neval('1')\nimportlib.import_module(x)\n"
    tree = ast.parse(bad)
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert {getattr(n, "module", None) or n.names[0].name for n in imports} <= FORBIDDEN_MODULES
    calls = {_called_name(n) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert calls == {"eval", "import_module"}


# -- a project that must never be imported -----------------------------------------------------


def _guard(marker_dir: Path, how: str) -> str:
    """Module code that leaves a marker file, then stops the process, when imported."""
    write = (
        "import os as _os, pathlib as _pathlib\n"
        f"_pathlib.Path({str(marker_dir)!r}, __name__ + '.imported').write_text('imported')\n"
    )
    if how == "exit":
        return write + "raise SystemExit(3)\n"
    if how == "os_exit":
        return write + "_os._exit(4)\n"
    return write


def make_evil_project(root: Path, markers: Path) -> str:
    """A Django project whose every module marks its import; return its package name."""
    package = f"evilshop_{uuid.uuid4().hex[:8]}"
    files = {
        "manage.py": _guard(markers, "exit") + "import django\n",
        "setup.py": _guard(markers, "exit") + "from setuptools import setup\nsetup()\n",
        "conftest.py": _guard(markers, "exit") + "import pytest\n",
        "pyproject.toml": '[project]\nname = "evilshop"\n',
        f"{package}/__init__.py": _guard(markers, "exit"),
        f"{package}/apps.py": _guard(markers, "os_exit"),
        f"{package}/models.py": _guard(markers, "") + "from django.db import models\n\n\n"
        "class Category(models.Model):\n    name = models.CharField(max_length=50)\n\n\n"
        "class Post(models.Model):\n"
        "    category = models.ForeignKey(Category, on_delete=models.CASCADE)\n"
        "    price = models.FloatField()\n",
        f"{package}/views.py": _guard(markers, "exit") + f"from {package}.models import Post\n\n\n"
        "def index(request):\n"
        "    for post in Post.objects.all():\n"
        "        print(post.category.name)\n",
        f"{package}/settings.py": _guard(markers, "os_exit")
        + 'SECRET_KEY = "django-insecure-evil"\nDEBUG = True\n',
        f"{package}/management/__init__.py": "",
        f"{package}/management/commands/__init__.py": _guard(markers, "exit"),
        f"{package}/management/commands/boom.py": _guard(markers, "os_exit")
        + "from django.core.management.base import BaseCommand\n\n\n"
        "class Command(BaseCommand):\n"
        "    def handle(self, *args, **options):\n"
        "        try:\n            pass\n        except Exception:\n            pass\n",
        f"{package}/migrations/__init__.py": _guard(markers, "exit"),
        f"{package}/migrations/0001_initial.py": _guard(markers, "exit")
        + "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n    operations = []\n",
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return package


Snapshot = dict[str, tuple[str, int, int, int]]


def snapshot(*roots: Path) -> Snapshot:
    """Every file and directory under ``roots``: kind, size, mtime and mode."""
    found: Snapshot = {}
    for root in roots:
        for directory, dirs, files in os.walk(root):
            for name in dirs + files:
                path = os.path.join(directory, name)
                info = os.lstat(path)
                kind = "dir" if stat.S_ISDIR(info.st_mode) else "file"
                size = 0 if kind == "dir" else info.st_size
                found[path] = (kind, size, info.st_mtime_ns, info.st_mode)
    return found


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """Paths added, removed or changed, except under a cache directory of the plugin."""
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    return sorted(p for p in changed if CACHE_DIR_NAME not in Path(p).parts)


@pytest.fixture
def evil(tmp_path: Path) -> Iterator[dict[str, Path | str]]:
    markers = tmp_path / "markers"
    markers.mkdir()
    project = tmp_path / "project"
    package = make_evil_project(project, markers)
    places = {name: tmp_path / name for name in ("home", "tmp", "cwd")}
    for place in places.values():
        place.mkdir()
    yield {"project": project, "markers": markers, "package": package, **places}
    assert sorted(p.name for p in markers.iterdir()) == [], "checked code was imported"


def _environment(evil: dict[str, Path | str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PYTHON"))}
    env.update(HOME=str(evil["home"]), TMPDIR=str(evil["tmp"]))
    return env


def _codes(run: Flake8Run) -> list[tuple[str, int, int, str]]:
    return sorted((Path(p).name, line, col, m.split(" ", 1)[0]) for p, line, col, m in run.findings)


def test_flake8_never_imports_checked_code_and_writes_only_its_cache(
    evil: dict[str, Path | str],
) -> None:
    project = Path(evil["project"])
    watched = (project, Path(evil["home"]), Path(evil["tmp"]), Path(evil["cwd"]))
    before = snapshot(*watched)
    run = run_flake8(
        ["--isolated", "--select=DJG", "-j2", str(project)], evil["cwd"], _environment(evil)
    )
    run.assert_clean()
    codes = _codes(run)
    # the modules were read and checked (not skipped) ...
    assert ("settings.py", 4, 1, "DJG301") in codes  # flake8 prints 1-based columns
    assert ("views.py", 9, 9, "DJG006") in codes
    assert any(c[0] == "views.py" and c[3] == "DJG201" for c in codes), codes
    assert "DJG000" not in {c[3] for c in codes}
    # ... and nothing was written but the model index cache, which is JSON, and the key of
    # its MACs, in a directory of the user's only (the check server's)
    private = Path(evil["tmp"]) / f"flake8-djguide-{os.getuid()}"
    assert changes(before, snapshot(*watched)) == [str(private), str(private / SECRET_NAME)]
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert stat.S_IMODE((private / SECRET_NAME).stat().st_mode) == 0o600
    assert (private / SECRET_NAME).stat().st_size == 32
    cache_files = [p for p in (project / CACHE_DIR_NAME).iterdir() if p.name != ".gitignore"]
    assert cache_files, "the model index cache was not written"
    for path in cache_files:
        json.loads(path.read_text(encoding="utf-8"))


class _Payload:
    """Unpickling this writes a marker file: what a pickle-reading cache would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (str(self.marker), "unpickled"))  # type: ignore[return-value]


def test_a_cache_file_holding_a_pickle_is_never_unpickled(evil: dict[str, Path | str]) -> None:
    project = Path(evil["project"])
    args = ["--isolated", "--select=DJG", str(project)]
    first = run_flake8(args, evil["cwd"], _environment(evil))
    first.assert_clean()
    cache = project / CACHE_DIR_NAME
    if not cache.is_dir() or not any(cache.iterdir()):
        pytest.skip("no on-disk cache in this version")
    marker = Path(evil["tmp"]) / "unpickled"
    for path in cache.iterdir():
        path.write_bytes(pickle.dumps(_Payload(marker)))
    second = run_flake8(args, evil["cwd"], _environment(evil))
    second.assert_clean()
    assert not marker.exists(), "the cache was unpickled"
    assert _codes(second) == _codes(first)


def test_stdin_lookups_of_the_checked_package_never_import_it(evil: dict[str, Path | str]) -> None:
    # From stdin there is no project: whether `evilshop_...` is the project's own package
    # is decided by looking for it on sys.path, where it is (the working directory).
    source = (
        f"from {evil['package']} import settings\nfrom {evil['package']}.settings import DEBUG\n"
    )
    run = run_flake8(
        ["--isolated", "--select=DJG", "-"], evil["project"], _environment(evil), stdin=source
    )
    run.assert_clean()


def test_the_plugin_in_process_never_imports_checked_code(evil: dict[str, Path | str]) -> None:
    project = Path(evil["project"])
    package = str(evil["package"])
    with flake8_options("--select=DJG"):
        for path in sorted(project.rglob("*.py")):
            plugin_results(path.read_text(encoding="utf-8"), str(path))
    assert [name for name in sys.modules if package in name] == []
    assert "manage" not in sys.modules


def test_djguide_fix_never_imports_checked_code(evil: dict[str, Path | str]) -> None:
    project = Path(evil["project"])
    before = snapshot(project)
    out, err = io.StringIO(), io.StringIO()
    with plugin_state(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["fix", "--diff", "--unsafe-fixes", "--select", "DJG", str(project)])
    assert status in (0, 1), err.getvalue()
    assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue()
    assert "DJG301" in err.getvalue() and "+def index(request) -> None:" in out.getvalue()
    assert changes(before, snapshot(project)) == []
    assert [name for name in sys.modules if str(evil["package"]) in name] == []


# -- a read-only checkout ------------------------------------------------------------------------


def _copy_examples(target: Path) -> Path:
    shutil.copytree(
        ROOT / "examples", target, ignore=shutil.ignore_patterns(CACHE_DIR_NAME, "__pycache__")
    )
    return target


def _can_mount_read_only() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            "mount --bind -o ro / / 2>/dev/null || mount -o remount,bind,ro / /",
        ],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def test_read_only_checkout(tmp_path: Path) -> None:
    """The same findings on a checkout nothing can be written to, and nothing written.

    Made read-only with a read-only bind mount in a private mount namespace (``unshare
    -m``, which needs root, as on this project's machines: chmod cannot stop root), or
    with ``chmod -R a-w`` when not running as root. Skipped when neither is possible.
    """
    writable = _copy_examples(tmp_path / "writable")
    expected = run_flake8(["--isolated", "--select=DJG", "."], writable)
    expected.assert_clean()
    assert expected.findings

    checkout = _copy_examples(tmp_path / "checkout")
    before = snapshot(checkout)
    command = [sys.executable, "-m", "flake8", "--isolated", "--select=DJG", "."]
    if os.geteuid() != 0:
        for path in [checkout, *checkout.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        try:
            run = run_flake8(command[3:], checkout)
        finally:
            for path in [checkout, *checkout.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)
    elif _can_mount_read_only():
        script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && cd "$1" && shift && exec "$@"'
        process = subprocess.run(
            ["unshare", "-m", "sh", "-c", script, "sh", str(checkout), *command],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        run = Flake8Run(process.returncode, process.stdout, process.stderr)
    else:
        pytest.skip("cannot make a read-only checkout here (root without mount namespaces)")
    run.assert_clean()
    assert run.findings == expected.findings
    assert changes(before, snapshot(checkout)) == []
    assert not (checkout / "shop" / CACHE_DIR_NAME).exists()
