"""What ``djguide fix`` and ``djguide baseline`` write, and what they leave alone.

Neither follows a symbolic link out of the paths it was given, writes into a FIFO, a
read-only or hard-linked file, changes a file's owner or mode, overwrites edits made while
it worked, or overwrites a file that is not a baseline.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flake8_djguide import baseline, cli, fix, safe_write
from tests.robust import ROOT, plugin_state

# A view module as found in Django apps: a function view without a return annotation
# (DJG402, whose safe fix adds ``-> None``).
VIEW = '''\
"""Order views."""
from django.shortcuts import render


def index(request):
    render(request, "orders/index.html")
'''
FIXED = VIEW.replace("def index(request):", "def index(request) -> None:")


def run_fix(*paths: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with plugin_state(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["fix", "--select", "DJG402", *map(str, paths)])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def app(tmp_path: Path) -> Path:
    directory = tmp_path / "project" / "orders"
    directory.mkdir(parents=True)
    (tmp_path / "project" / "manage.py").write_text("import django\n")
    return directory


def test_fix_writes_a_plain_file_and_keeps_its_mode(app: Path) -> None:
    views = app / "views.py"
    views.write_text(VIEW)
    views.chmod(0o640)
    status, _out, err = run_fix(app)
    assert status == 0, err
    assert views.read_text() == FIXED
    assert stat.S_IMODE(views.stat().st_mode) == 0o640
    assert [p.name for p in app.iterdir()] == ["views.py"]  # no temporary file left


def test_fix_never_follows_a_symlink_out_of_the_given_paths(app: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "victim.py"
    outside.parent.mkdir()
    outside.write_text(VIEW)
    (app / "views.py").symlink_to(outside)
    status, _out, err = run_fix(app)
    assert outside.read_text() == VIEW
    assert (app / "views.py").is_symlink()
    assert "views.py: skipped: symlink to" in err and "outside the given paths" in err
    assert status == 1


def test_fix_follows_a_symlink_inside_the_given_paths(app: Path) -> None:
    (app / "real_views.py").write_text(VIEW)
    (app / "views.py").symlink_to("real_views.py")
    status, _out, err = run_fix(app)
    assert status == 0, err
    assert (app / "real_views.py").read_text() == FIXED
    assert (app / "views.py").is_symlink()


def test_fix_skips_a_read_only_file(app: Path) -> None:
    views = app / "views.py"
    views.write_text(VIEW)
    views.chmod(0o444)
    status, _out, err = run_fix(app)
    assert views.read_text() == VIEW  # also when running as root
    assert "views.py: skipped: read-only file" in err
    assert status == 1


def test_fix_skips_a_hard_linked_file(app: Path, tmp_path: Path) -> None:
    views = app / "views.py"
    views.write_text(VIEW)
    other = tmp_path / "copy.py"
    os.link(views, other)
    status, _out, err = run_fix(app)
    assert views.read_text() == VIEW
    assert os.stat(views).st_ino == os.stat(other).st_ino  # still one file
    assert "views.py: skipped: the file has 2 hard links" in err
    assert status == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_fix_as_root_keeps_the_owner(app: Path) -> None:
    views = app / "views.py"
    views.write_text(VIEW)
    os.chown(views, 4321, 4322)
    status, _out, err = run_fix(app)
    assert status == 0, err
    assert views.read_text() == FIXED
    info = views.stat()
    assert (info.st_uid, info.st_gid) == (4321, 4322)


def _as_user(uid: int, action: Callable[[], str]) -> str:
    """``action()`` run in a forked child with the user and group ids ``uid``."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 0
        try:
            os.close(reader)
            os.setgid(uid)
            os.setuid(uid)
            outcome = action()
        except BaseException as error:
            outcome = f"{type(error).__name__}: {error}"
            status = 1
        os.write(writer, outcome.encode())
        os._exit(status)
    os.close(writer)
    with os.fdopen(reader, "rb") as stream:
        outcome = stream.read().decode()
    os.waitpid(pid, 0)
    return outcome


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory every user may write in (pytest's own are root's alone)."""
    directory = Path(tempfile.mkdtemp(prefix="djguide-shared-"))
    directory.chmod(0o777)
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


@pytest.mark.skipif(os.geteuid() != 0, reason="a second user needs root")
def test_another_users_file_is_not_taken_over(shared: Path) -> None:
    # A shared directory another user may write in, holding root's world-writable file:
    # replacing it would make the other user its owner.
    views = shared / "views.py"
    views.write_text(VIEW)
    views.chmod(0o666)

    def fix_it() -> str:
        try:
            safe_write.replace(str(views), FIXED.encode(), expected=VIEW.encode())
        except safe_write.RefusedError as error:
            return f"refused: {error}"
        return "written"

    assert _as_user(4321, fix_it) == "refused: its owner or group could not be kept"
    assert views.read_text() == VIEW and views.stat().st_uid == 0
    assert [p.name for p in shared.iterdir()] == ["views.py"]


def test_fix_keeps_edits_made_while_the_file_was_being_fixed(
    app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    views = app / "views.py"
    views.write_text(VIEW)
    edited = VIEW + "\n\ndef detail(request, pk):\n    pass\n"
    real = fix.fix_source

    def slow_fix(*args: object, **kwargs: object) -> fix.FixResult:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        views.write_text(edited)  # the editor saved the file meanwhile
        return result

    monkeypatch.setattr(fix, "fix_source", slow_fix)
    status, _out, err = run_fix(app)
    assert views.read_text() == edited
    assert "views.py: skipped: the file changed while it was being fixed" in err
    assert status == 1


def test_fix_skips_a_fifo_instead_of_waiting_on_it(app: Path) -> None:
    (app / "views.py").write_text(VIEW)
    os.mkfifo(app / "pipe.py")
    process = subprocess.run(
        [sys.executable, "-m", "flake8_djguide", "fix", "--select", "DJG402", str(app)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert "pipe.py: skipped: not a regular file" in process.stderr
    assert (app / "views.py").read_text() == FIXED
    assert stat.S_ISFIFO((app / "pipe.py").lstat().st_mode)


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_fix_keeps_the_final_line_ending(ending: str) -> None:
    from flake8_djguide.registry import by_code
    from tests.util import settings_with

    source = VIEW.replace("\n", ending)
    result = fix.fix_source(source, "orders/views.py", [by_code()["DJG402"]], settings_with({}))
    assert result.source == FIXED.replace("\n", ending)
    # and a file without a final line ending gets none
    result = fix.fix_source(
        source.rstrip(), "orders/views.py", [by_code()["DJG402"]], settings_with({})
    )
    assert result.source == FIXED.replace("\n", ending).rstrip()


# -- the safe-write helper ------------------------------------------------------------------


def test_replace_creates_a_missing_file_and_never_writes_into_a_special_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "new.json"
    safe_write.replace(str(target), b"{}\n")
    assert target.read_bytes() == b"{}\n"
    os.mkfifo(tmp_path / "fifo.json")
    with pytest.raises(safe_write.RefusedError, match="not a regular file"):
        safe_write.replace(str(tmp_path / "fifo.json"), b"{}\n")
    with pytest.raises(safe_write.RefusedError, match="not a regular file"):
        safe_write.read_regular(str(tmp_path / "fifo.json"))


# -- djguide baseline -------------------------------------------------------------------------

FLAKE8 = ["--isolated", "--jobs=1", "--select=DJG006"]
SERVICES = '''\
"""Order services."""


def ship(order):
    """Ship an order."""
    print("shipping", order.pk)
    order.save()
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "services.py").write_text(SERVICES)
    (tmp_path / "manage.py").write_text("import django\n")
    monkeypatch.chdir(tmp_path)
    with plugin_state():
        yield tmp_path


def test_baseline_writes_and_rewrites_its_file(project: Path) -> None:
    assert baseline.main([*FLAKE8, "shop"]) == 0
    target = project / baseline.BASELINE_NAME
    assert "shop/services.py" in target.read_text()
    assert baseline.main([*FLAKE8, "shop"]) == 0
    assert sorted(p.name for p in project.iterdir()) == [
        baseline.BASELINE_NAME,
        "manage.py",
        "shop",
    ]


@pytest.mark.parametrize("name", ["README.md", "setup.py"])
def test_baseline_never_overwrites_a_file_that_is_not_a_baseline(
    project: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    precious = project / name
    precious.write_text("# Shop\n\nThe shop's documentation.\n")
    assert baseline.main(["--file", name, *FLAKE8, "shop"]) == 2
    assert precious.read_text() == "# Shop\n\nThe shop's documentation.\n"
    assert "not a flake8-djguide baseline" in capsys.readouterr().err
    # the same through the 'baseline' option of pyproject.toml
    (project / "pyproject.toml").write_text(f'[tool.djguide]\nbaseline = "{name}"\n')
    assert baseline.main([*FLAKE8.copy(), "shop"]) == 2
    assert precious.read_text() == "# Shop\n\nThe shop's documentation.\n"


def test_baseline_never_writes_through_a_planted_temporary_file(
    project: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (project / (baseline.BASELINE_NAME + ".tmp")).symlink_to(victim)
    assert baseline.main([*FLAKE8, "shop"]) == 0
    assert victim.read_text() == "keep me\n"
    assert "shop/services.py" in (project / baseline.BASELINE_NAME).read_text()


def test_baseline_refuses_a_symlinked_baseline_file(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text("")
    (project / baseline.BASELINE_NAME).symlink_to(victim)
    assert baseline.main([*FLAKE8, "shop"]) == 2
    assert victim.read_text() == ""
    assert (project / baseline.BASELINE_NAME).is_symlink()
    assert f"cannot be the baseline: symlink to {victim}" in capsys.readouterr().err


def test_two_baseline_writes_at_once_do_not_crash(tmp_path: Path) -> None:
    target = tmp_path / baseline.BASELINE_NAME
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(200):
                baseline.Baseline(target, {"a.py": [baseline.Entry("DJG006", "0" * 16, 1)]}).write()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert baseline.Baseline.parse(target, target.read_text()).count() == 1
    assert [p.name for p in tmp_path.iterdir()] == [baseline.BASELINE_NAME]
