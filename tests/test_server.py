"""The check server (``server`` option): the same findings as a local run, and its life."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flake8_djguide import config, server
from flake8_djguide import index as index_module
from flake8_djguide.plugin import _server_client, selected_rules
from tests.robust import ROOT, run_flake8

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the check server needs Unix sockets")

EXAMPLE = ROOT / "examples" / "shop"
VIEWS = "catalog/views.py"

_MODELS = (
    "from django.db import models\n\n\n"
    "class Author(models.Model):\n    name = models.CharField(max_length=50)\n\n\n"
    "class Post(models.Model):\n"
    "    author = {field}\n"
    "    title = models.CharField(max_length=200)\n"
)
_FOREIGN_KEY = "models.ForeignKey(Author, on_delete=models.CASCADE)"
_VIEWS = (
    "from shop.blog.models import Post\n\n\n"
    "def titles(request) -> list[str]:\n"
    "    return [f'{post.author.name}: {post.title}' for post in Post.objects.all()]\n"
)


@pytest.fixture
def server_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private socket directory for this test (short: a socket path has ~100 bytes)."""
    directory = Path(tempfile.mkdtemp(prefix="djg-"))
    monkeypatch.setenv("DJGUIDE_SERVER_DIR", str(directory))
    try:
        yield directory
    finally:
        path = server.socket_path(directory)
        with contextlib.suppress(OSError, ValueError):
            server.call(path, {"stop": True}, timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for_server(directory: Path, seconds: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            answer = server.call(server.socket_path(directory), {"status": True}, timeout=10)
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise AssertionError("the check server did not start") from None
            time.sleep(0.1)
            continue
        assert isinstance(answer, dict)
        return answer


def _stdin_run(path: str, *extra: str) -> list[tuple[str, int, int, str]]:
    source = (EXAMPLE / path).read_text()
    run = run_flake8(
        ["--select=DJG", f"--stdin-display-name={path}", *extra, "-"], EXAMPLE, stdin=source
    )
    run.assert_clean()
    return run.findings


def test_a_served_run_reports_what_a_local_run_reports(server_dir: Path) -> None:
    local = _stdin_run(VIEWS)
    assert {message.split()[0] for *_, message in local} >= {"DJG201", "DJG202", "DJG203"}
    first = _stdin_run(VIEWS, "--djguide-server=true")  # starts the server, checks locally
    assert first == local
    status = _wait_for_server(server_dir)
    assert status["requests"] == 0
    served = _stdin_run(VIEWS, "--djguide-server=true")
    assert served == local
    status = _wait_for_server(server_dir)
    assert status["requests"] == 1  # this one went through the server
    # a file where no rule can fire is answered too, and a file path works as stdin does
    run = run_flake8(["--select=DJG", "--djguide-server=true", "manage.py"], EXAMPLE)
    run.assert_clean()
    assert run.findings == run_flake8(["--select=DJG", "manage.py"], EXAMPLE).findings


def test_the_server_sees_a_model_changed_between_requests(tmp_path: Path) -> None:
    """The index of a long-lived server is rebuilt when a project file changes."""
    root = tmp_path / "proj"
    (root / "shop" / "blog").mkdir(parents=True)
    (root / "manage.py").write_text("")
    for package in ("shop", "shop/blog"):
        (root / package / "__init__.py").write_text("")
    models = root / "shop" / "blog" / "models.py"
    models.write_text(_MODELS.format(field=_FOREIGN_KEY))
    views = root / "shop" / "blog" / "views.py"
    views.write_text(_VIEWS)
    lines = _VIEWS.splitlines(keepends=True)
    request = {
        "cwd": str(root),
        "sys_path": list(sys.path),
        "filename": str(views),
        "lines": lines,
        "rules": ["DJG201"],
        "settings": dict(config.resolve(str(views), {}).values),
    }
    index_module.clear_memo()
    checker = server.Server(tmp_path / "unused.sock", 1.0)
    cwd = os.getcwd()
    try:
        assert [f[:3] for f in checker.check(request)] == [["DJG201", 5, 15]]
        models.write_text(_MODELS.format(field="models.CharField(max_length=50)"))
        os.utime(models, ns=(time.time_ns(), time.time_ns() + 10**9))
        assert checker.check(request) == []
        models.write_text(_MODELS.format(field=_FOREIGN_KEY))
        os.utime(models, ns=(time.time_ns(), time.time_ns() + 2 * 10**9))
        assert [f[:3] for f in checker.check(request)] == [["DJG201", 5, 15]]
    finally:
        os.chdir(cwd)
        index_module.clear_memo()


def test_a_server_of_another_version_stops_and_the_client_checks_locally(
    server_dir: Path,
) -> None:
    _stdin_run(VIEWS, "--djguide-server=true")
    _wait_for_server(server_dir)
    path = server.socket_path(server_dir)
    assert server.call(path, {"fingerprint": "older", "rules": []}) == {"stale": True}
    deadline = time.monotonic() + 30
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not path.exists()  # it removed its socket
    assert _stdin_run(VIEWS, "--djguide-server=true") == _stdin_run(VIEWS)


def test_without_a_usable_socket_directory_the_file_is_checked_locally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)  # open to others: never used
    monkeypatch.setenv("DJGUIDE_SERVER_DIR", str(shared))
    assert server.server_dir() is None
    assert _stdin_run(VIEWS, "--djguide-server=true") == _stdin_run(VIEWS)
    assert list(shared.iterdir()) == []  # no server was started


def test_a_client_with_no_server_starts_one_once(
    server_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flake8_djguide.context import FileContext, ModuleInfo

    started: list[Path] = []
    monkeypatch.setattr(server, "spawn", lambda path, idle=0.0: started.append(path))
    settings = config.resolve(str(EXAMPLE / VIEWS), {})
    ctx = FileContext(str(EXAMPLE / VIEWS), settings, ModuleInfo())
    client = server.Client()
    rules = selected_rules(None)
    assert client(["x = 1\n"], ctx, rules) is None
    assert client(["x = 1\n"], ctx, rules) is None
    assert started == [server.socket_path(server_dir)]


@pytest.mark.parametrize(
    ("filenames", "expected"),
    [(["-"], True), ([VIEWS], True), ([VIEWS, "catalog/models.py"], False), (["catalog"], False)],
)
def test_only_a_run_on_one_file_uses_the_server(
    monkeypatch: pytest.MonkeyPatch, filenames: list[str], expected: bool
) -> None:
    monkeypatch.chdir(EXAMPLE)
    options = argparse.Namespace(filenames=filenames, stdin_display_name=VIEWS)
    assert (_server_client(options, {"server": True}) is not None) is expected
    assert _server_client(options, {"server": False}) is None


def test_server_command_without_a_server(server_dir: Path) -> None:
    from flake8_djguide.cli import main

    assert main(["server", "status"]) == 1
    assert main(["server", "stop"]) == 0
    assert main(["server", "restart"]) == 2


def test_every_executable_of_one_environment_shares_one_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``python``, ``python3``, ``flake8`` and ``djguide`` of a virtualenv reach the same socket."""
    monkeypatch.setattr(sys, "executable", "/venv/bin/python")
    first = server.socket_path(tmp_path)
    monkeypatch.setattr(sys, "executable", "/venv/bin/python3")
    assert server.socket_path(tmp_path) == first
    monkeypatch.setattr(sys, "prefix", "/another/venv")
    assert server.socket_path(tmp_path) != first
