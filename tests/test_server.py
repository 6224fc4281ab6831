"""The check server (``server`` option): the same findings as a local run, and its life."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
        ["--select=DJG,DJG203", f"--stdin-display-name={path}", *extra, "-"], EXAMPLE, stdin=source
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
    monkeypatch.setattr(server, "spawn", lambda path, idle=0.0, project=None: started.append(path))
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


# -- what the server trusts -----------------------------------------------------------------

OTHER_UID = 65534  # nobody
needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="acting as a second user needs root"
)
needs_proc = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")


def _start(directory: Path, idle: float = 120.0) -> dict[str, object]:
    """Start a server the way a client does; its status once it answers."""
    server.spawn(server.socket_path(directory), idle)
    return _wait_for_server(directory)


def _gone(pid: int, seconds: float = 10.0) -> bool:
    """Whether process ``pid`` is gone for good (exited and reaped) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _fork(uid: int | None, child: Callable[[Callable[[str], None]], object]) -> Callable[[], Any]:
    """Run ``child(ready)`` in a forked process (as ``uid`` when given); its JSON result.

    Returns a function that waits for the child and gives what ``child`` returned;
    ``ready(text)`` lets the child say something before that (read by ``_fork``
    before it returns, so the parent knows the child got that far).
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(read)
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)

            def ready(text: str) -> None:
                os.write(write, text.encode() + b"\n")

            result = child(ready)
            os.write(write, json.dumps({"result": result}).encode() + b"\n")
        except BaseException as error:
            os.write(write, json.dumps({"result": f"child error: {error!r}"}).encode() + b"\n")
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    stream = os.fdopen(read, "rb")
    stream.readline()  # the child's first word: it got that far

    def finish() -> Any:
        with stream:
            line = stream.readline()
        os.waitpid(pid, 0)
        return json.loads(line)["result"]

    return finish


def test_the_server_starts_isolated_and_never_runs_the_projects_modules(
    server_dir: Path, tmp_path: Path
) -> None:
    """A repository that turns the server on cannot get its own ``libcst.py`` run by it."""
    project = tmp_path / "proj"
    project.mkdir()
    marker = tmp_path / "ran"
    (project / "pyproject.toml").write_text("[tool.djguide]\nserver = true\n")
    (project / "manage.py").write_text("")
    for module in ("libcst", "json", "selectors", "socket"):
        (project / f"{module}.py").write_text(
            f"open({str(marker)!r}, 'a').write({module!r} + '\\n')\nraise SystemExit(3)\n"
        )
    (project / "views.py").write_text((EXAMPLE / VIEWS).read_text())
    flake8 = [str(Path(sys.executable).with_name("flake8")), "--select=DJG", "views.py"]
    first = subprocess.run(flake8, cwd=project, capture_output=True, text=True, check=False)
    assert "Traceback" not in first.stderr
    status = _wait_for_server(server_dir, seconds=30)
    second = subprocess.run(flake8, cwd=project, capture_output=True, text=True, check=False)
    assert second.stdout == first.stdout
    assert _wait_for_server(server_dir)["requests"] == 1  # the second run was served
    assert not marker.exists()
    pid = status["pid"]
    assert isinstance(pid, int)
    if Path("/proc/self/cwd").exists():
        assert os.readlink(f"/proc/{pid}/cwd") == "/"
        assert b"-I" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")


def test_a_request_never_puts_the_clients_path_on_the_servers(tmp_path: Path) -> None:
    """The client's ``sys.path`` decides what is installed, and is never imported from."""
    from flake8_djguide import context

    elsewhere = tmp_path / "site"
    (elsewhere / "vendored_thing").mkdir(parents=True)
    (elsewhere / "vendored_thing" / "__init__.py").write_text("raise SystemExit(3)\n")
    views = tmp_path / "views.py"
    views.write_text("import vendored_thing\n")
    request = {
        "cwd": str(tmp_path),
        "sys_path": [str(tmp_path), str(elsewhere), *sys.path],
        "filename": str(views),
        "lines": ["import vendored_thing\n"],
        "rules": ["DJG001"],
        "settings": dict(config.resolve(str(views), {}).values),
    }
    before = list(sys.path)
    cwd = os.getcwd()
    try:
        server.Server(tmp_path / "unused.sock", 1.0).check(request)
        assert sys.path == before
        assert os.getcwd() == cwd
        assert context._is_installed("vendored_thing")  # found on the client's path
        assert "vendored_thing" not in sys.modules
    finally:
        os.chdir(cwd)
        context.use_import_path(None)
    assert not context._is_installed("vendored_thing")


def test_the_server_may_add_the_clients_packages_but_not_its_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "manage.py").write_text("")
    (project / "app").mkdir()
    user_site = tmp_path / "user-site"
    user_site.mkdir()
    monkeypatch.chdir(project / "app")
    checked = tmp_path / "other-project"
    (checked / "lib").mkdir(parents=True)
    path = ["", "src", str(project / "app"), str(project / "src"), str(project), str(user_site)]
    monkeypatch.setattr(sys, "path", [*path, str(checked / "lib")])
    assert server._import_path() == [str(user_site), str(checked / "lib")]
    assert server._import_path(str(checked)) == [str(user_site)]


def test_a_symlink_in_place_of_the_socket_directory_is_never_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    link = tmp_path / "flake8-djguide"
    link.symlink_to(private)  # even to a private directory of the user's: it could be swapped
    monkeypatch.setenv("DJGUIDE_SERVER_DIR", str(link))
    assert server.server_dir() is None
    monkeypatch.setenv("DJGUIDE_SERVER_DIR", str(private))
    assert server.server_dir() == private


@needs_root
def test_another_user_cannot_plant_the_socket_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a shared temporary directory, a symlink another user planted is refused."""
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="djg-shared-"))
    victims = Path(tempfile.mkdtemp(prefix="djg-victim-"))  # the user's own, private
    try:
        shared.chmod(0o1777)
        planted = shared / f"flake8-djguide-{os.getuid()}"
        finish = _fork(OTHER_UID, lambda ready: (ready("up"), os.symlink(victims, planted))[1])
        assert finish() is None
        assert planted.is_symlink() and planted.lstat().st_uid == OTHER_UID
        monkeypatch.delenv("DJGUIDE_SERVER_DIR", raising=False)
        monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
        monkeypatch.setattr(tempfile, "tempdir", str(shared))
        assert server.server_dir() is None
        assert server.Client()(["x = 1\n"], _context(), selected_rules(None)) is None
        assert list(victims.iterdir()) == []
    finally:
        shutil.rmtree(shared, ignore_errors=True)
        shutil.rmtree(victims, ignore_errors=True)


def _context() -> Any:
    from flake8_djguide.context import FileContext, ModuleInfo

    settings = config.resolve(str(EXAMPLE / VIEWS), {})
    return FileContext(str(EXAMPLE / VIEWS), settings, ModuleInfo())


@needs_root
def test_a_socket_served_by_another_user_gets_nothing(server_dir: Path) -> None:
    """The client checks who serves the socket (``SO_PEERCRED``) before it sends anything."""
    import socket

    path = server.socket_path(server_dir)

    def impostor(ready: Callable[[str], None]) -> int:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        os.setgroups([])
        os.setgid(OTHER_UID)
        os.setuid(OTHER_UID)
        listener.listen(1)
        listener.settimeout(20)
        ready("listening")
        conn, _ = listener.accept()
        conn.settimeout(3)
        received = 0
        with contextlib.suppress(OSError):
            while chunk := conn.recv(65536):
                received += len(chunk)
                if received > 4:
                    reply = json.dumps({"findings": [["DJG999", 1, 0, "DJG999 spoofed"]]})
                    conn.sendall(len(reply).to_bytes(4, "big") + reply.encode())
                    break
        return received

    finish = _fork(None, impostor)
    assert server.Client()(["x = 1\n"], _context(), selected_rules(None)) is None
    assert finish() == 0  # not a byte of the source reached it


@needs_root
def test_the_server_answers_nobody_but_its_user(tmp_path: Path) -> None:
    import socket
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="djg-open-"))
    try:
        directory.chmod(0o755)
        path = directory / "s.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        path.chmod(0o777)
        listener.listen(4)

        def ask(ready: Callable[[str], None]) -> object:
            ready("asking")  # without checking who answers: the server must check
            try:
                return _raw_exchange(path, b'{"status": true}', timeout=5)
            except OSError as error:
                return type(error).__name__

        stranger = _fork(OTHER_UID, ask)
        owner = _fork(None, ask)
        with listener:
            assert server.Server(path, 1.5)._loop(listener) == 0
        assert stranger() in (None, "ConnectionResetError")  # closed unanswered
        answer = owner()
        assert isinstance(answer, dict) and answer["pid"] == os.getpid()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_the_pid_and_lock_files_are_never_written_through_a_symlink(tmp_path: Path) -> None:
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="djg-"))
    try:
        victim = tmp_path / "victim.txt"
        victim.write_text("keep\n")
        (directory / "a.sock.pid").symlink_to(victim)
        assert server.Server(directory / "a.sock", 0.2).serve() == 0
        assert victim.read_text() == "keep\n"
        assert not (directory / "a.sock.pid").is_symlink()
        (directory / "b.sock.lock").symlink_to(tmp_path / "elsewhere")
        assert server.Server(directory / "b.sock", 0.2).serve() == 1
        assert not (tmp_path / "elsewhere").exists()
        assert not (directory / "b.sock").exists()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# -- liveness -----------------------------------------------------------------------------


def _raw_exchange(path: Path, data: bytes, timeout: float = 10) -> Any:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(str(path))
        conn.sendall(len(data).to_bytes(4, "big") + data)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    return json.loads(received[4:]) if received else None


def test_slow_clients_keep_nobody_waiting(server_dir: Path) -> None:
    import socket

    _start(server_dir)
    path = server.socket_path(server_dir)
    slow = []
    try:
        for _ in range(3):
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            slow.append(conn)
            conn.connect(str(path))
            conn.sendall(b"\x00")  # and nothing more for now
        started = time.monotonic()
        answer = server.call(path, {"status": True}, timeout=8)
        assert isinstance(answer, dict)
        assert time.monotonic() - started < 4
    finally:
        for conn in slow:
            conn.close()


def test_the_server_drops_a_request_that_takes_too_long(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import socket
    import threading

    monkeypatch.setattr(server, "REQUEST_SECONDS", 0.5)
    path = tmp_path / "s.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)
    worker = threading.Thread(target=server.Server(path, 3.0)._loop, args=(listener,))
    worker.start()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(str(path))
            started = time.monotonic()
            closed = False
            with contextlib.suppress(OSError):
                for byte in b"\x00\x00\x00\x10{":
                    conn.sendall(bytes([byte]))  # a byte every 0.2 s: each alone is quick
                    time.sleep(0.2)
                conn.settimeout(5)
                closed = conn.recv(1) == b""
            assert closed or time.monotonic() - started < 2
            assert time.monotonic() - started < 3
        assert server.call(path, {"stop": True}, timeout=5) == {"stopped": True}
    finally:
        worker.join(10)
        listener.close()
    assert not worker.is_alive()


def test_a_client_gives_up_on_a_slow_answer_at_its_deadline(tmp_path: Path) -> None:
    import socket
    import threading

    path = tmp_path / "s.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    done = threading.Event()

    def dribble() -> None:
        conn, _ = listener.accept()
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            conn.sendall((100).to_bytes(4, "big"))
            while not done.wait(0.2):
                conn.sendall(b" ")  # a byte now and then, never the whole answer

    worker = threading.Thread(target=dribble)
    worker.start()
    started = time.monotonic()
    try:
        with pytest.raises(OSError):
            server.call(path, {"status": True}, timeout=1.0)
        assert time.monotonic() - started < 4  # not the 20 s the answer would take
    finally:
        done.set()
        worker.join(10)
        listener.close()


def test_a_request_that_breaks_the_parser_is_answered_as_an_error(server_dir: Path) -> None:
    _start(server_dir)
    path = server.socket_path(server_dir)
    deep = b"[" * 200_000 + b"]" * 200_000
    answer = _raw_exchange(path, deep)
    assert isinstance(answer, dict) and answer["error"].startswith("RecursionError")
    answer = _raw_exchange(path, b'{"fingerprint": 1, "lines": ' + deep + b"}")
    assert isinstance(answer, dict) and "error" in answer
    request = {"fingerprint": server.fingerprint(), "cwd": 3, "sys_path": [], "rules": []}
    answer = _raw_exchange(path, json.dumps(request).encode())
    assert answer == {"error": "TypeError: 'cwd' is a directory's path"}
    assert _wait_for_server(server_dir, seconds=5)["requests"] == 1  # still serving


@needs_proc
def test_a_hung_server_delays_one_run_only_and_stop_ends_it(
    server_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import signal

    from flake8_djguide.cli import main

    pid = _start(server_dir)["pid"]
    assert isinstance(pid, int)
    started: list[Path] = []
    monkeypatch.setattr(server, "spawn", lambda path, idle=0.0, project=None: started.append(path))
    monkeypatch.setattr(server, "CLIENT_TIMEOUT", 1.0)
    os.kill(pid, signal.SIGSTOP)
    try:
        began = time.monotonic()
        assert server.Client()(["x = 1\n"], _context(), selected_rules(None)) is None
        assert 0.9 < time.monotonic() - began < 5
        began = time.monotonic()  # the next run (a new process) does not try it again
        assert server.Client()(["x = 1\n"], _context(), selected_rules(None)) is None
        assert time.monotonic() - began < 0.8
        assert started == []
        capsys.readouterr()
        assert main(["server", "stop"]) == 0
        assert "did not answer" in capsys.readouterr().out
        assert _gone(pid)
        # replaced: the next run starts a new server
        assert server.Client()(["x = 1\n"], _context(), selected_rules(None)) is None
        assert started == [server.socket_path(server_dir)]
    finally:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


# -- djguide server -----------------------------------------------------------------------


def test_server_status_in_words_and_as_json(
    server_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flake8_djguide.cli import main

    pid = _start(server_dir, idle=600)["pid"]
    _stdin_run(VIEWS, "--djguide-server=true")
    capsys.readouterr()
    assert main(["server", "status"]) == 0
    words = capsys.readouterr().out
    assert f"pid {pid}" in words
    assert f"environment:  {sys.prefix} (Python {sys.version.split()[0]})" in words
    assert f"project:      {EXAMPLE}" in words
    assert "requests:     1 served" in words
    assert "(exits after 10 min 0 s idle)" in words
    assert "{" not in words
    assert main(["server", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["pid"] == pid and status["requests"] == 1
    assert status["idle_timeout_seconds"] == 600
    assert 0 <= status["idle_seconds"] < 60 <= status["idle_timeout_seconds"]


def test_server_help_explains_the_server(capsys: pytest.CaptureFixture[str]) -> None:
    from flake8_djguide.cli import main

    assert main(["server", "-h"]) == 0
    text = capsys.readouterr().out
    for words in ("check server", "status", "stop", "only you can enter", "python -I"):
        assert words in text


@needs_proc
def test_stop_waits_for_the_server_and_leaves_no_zombie(
    server_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flake8_djguide.cli import main

    pid = _start(server_dir)["pid"]  # started by this process, as an editor's would be
    assert isinstance(pid, int)
    assert main(["server", "stop"]) == 0
    assert "stopped the server" in capsys.readouterr().out
    assert _gone(pid)
