"""The check server: a background process that keeps libcst and the model index loaded.

An editor starts flake8 once per check of one file. ``import libcst`` alone
costs about as much as flake8's whole default run on that file, and building
the model index from its disk cache costs as much again. With the ``server``
option on, a flake8 run on a single file (or stdin) hands the files that need
libcst to this process, which answers with the findings; the flake8 process
itself never imports libcst. Multi-file runs check locally: their workers
amortise the import over many files.

- The first run starts the server in the background (a new session, its
  standard streams on ``/dev/null``) and checks locally; later runs connect
  to it. It exits after :data:`IDLE_SECONDS` without a request, or when a
  request comes from another version of flake8-djguide or libcst (the client
  then starts a new one), or on ``djguide server stop``.
- One server per Python interpreter and user: its Unix socket lives in a
  directory only the user can enter (``$XDG_RUNTIME_DIR/flake8-djguide`` or
  ``<tmp>/flake8-djguide-<uid>``; ``DJGUIDE_SERVER_DIR`` overrides it). A lock
  file held while it runs keeps a second server from starting.
- A request carries everything the check depends on: the file's lines and
  name, the resolved settings, the rule codes flake8 selected, the client's
  working directory and ``sys.path``. The server reads the file system as the
  client would (project root, ``pyproject.toml``, the model index, checked
  again for changed files on every request) and sends back the findings.
- Any failure (no server yet, a timeout, a closed connection, an error in the
  server) makes the client check the file itself: the findings are the same
  with and without the server.

The wire format is a 4-byte big-endian length followed by that many bytes of
UTF-8 JSON, one request and one response per connection.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flake8_djguide import __version__

if TYPE_CHECKING:
    import socket

    from flake8_djguide.context import FileContext
    from flake8_djguide.rule import Finding, Rule

#: A server exits after this many seconds without a request.
IDLE_SECONDS = 900.0
#: How long a client waits for the server's answer before it checks the file itself.
CLIENT_TIMEOUT = 20.0
_MAX_MESSAGE = 256 * 1024 * 1024
_MAX_SOCKET_PATH = 100  # sun_path holds 104 (macOS) or 108 (Linux) bytes


# -- where and which ----------------------------------------------------------------------


def server_dir() -> Path | None:
    """The private directory of the sockets, made if missing; ``None`` where unusable."""
    if os.name != "posix" or not hasattr(os, "getuid"):
        return None
    configured = os.environ.get("DJGUIDE_SERVER_DIR")
    if configured:
        directory = Path(configured)
    else:
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        if runtime and os.path.isdir(runtime):
            directory = Path(runtime) / "flake8-djguide"
        else:
            import tempfile

            directory = Path(tempfile.gettempdir()) / f"flake8-djguide-{os.getuid()}"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None  # somebody else's, or open to others: never talk through it
    return directory


def _fnv(text: str) -> str:
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8", "surrogatepass"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"[:12]


def socket_path(directory: Path) -> Path:
    """The socket of this environment's server in ``directory``.

    Named after the environment (``sys.prefix``) and the Python version, not the
    executable's path: ``python``, ``python3``, ``flake8`` and ``djguide`` of one
    virtualenv share one server.
    """
    return directory / f"{_fnv(sys.prefix + os.pathsep + sys.version)}.sock"


def fingerprint() -> str:
    """The versions a server must share with its clients.

    flake8-djguide's version and the size and modification time of each of its
    modules (an editable install changes without a new version), and the same of
    libcst's ``__init__.py`` (found, not imported).
    """
    package = Path(__file__).parent
    parts = [__version__]
    try:
        for path in sorted(package.rglob("*.py")):
            info = path.stat()
            parts.append(f"{path.relative_to(package)}:{info.st_size}:{info.st_mtime_ns}")
        import importlib.util

        spec = importlib.util.find_spec("libcst")
        if spec is not None and spec.origin:
            info = os.stat(spec.origin)
            parts.append(f"libcst:{info.st_size}:{info.st_mtime_ns}")
    except (OSError, ImportError, ValueError):
        parts.append("unknown")
    return _fnv("\n".join(parts))


# -- the wire -----------------------------------------------------------------------------


def _send(conn: socket.socket, payload: object) -> None:
    import json

    data = json.dumps(payload, separators=(",", ":")).encode("utf-8", "surrogatepass")
    conn.sendall(len(data).to_bytes(4, "big") + data)


def _receive(conn: socket.socket) -> Any:
    import json

    header = _read_exactly(conn, 4)
    size = int.from_bytes(header, "big")
    if size > _MAX_MESSAGE:
        raise OSError(f"message of {size} bytes")
    return json.loads(_read_exactly(conn, size).decode("utf-8", "surrogatepass"))


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = conn.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _connect(path: Path, timeout: float) -> socket.socket:
    import socket

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    try:
        conn.connect(str(path))
    except BaseException:
        conn.close()
        raise
    return conn


def call(path: Path, payload: dict[str, Any], timeout: float = CLIENT_TIMEOUT) -> Any:
    """Send one request to the server at ``path``; its answer (raises ``OSError``)."""
    conn = _connect(path, timeout)
    with conn:
        _send(conn, payload)
        return _receive(conn)


# -- the client ---------------------------------------------------------------------------


class Client:
    """Checks a file through the server; ``None`` when the caller must check it itself."""

    def __init__(self) -> None:
        self._path: Path | None = None
        self._fingerprint = ""
        self._usable = True
        self._spawned = False

    def __call__(
        self, lines: Sequence[str], ctx: FileContext, rules: Sequence[type[Rule]]
    ) -> list[Finding] | None:
        """The findings of ``rules`` on the file, as :meth:`Engine.check` would give them."""
        if not self._usable:
            return None
        if self._path is None:
            import socket

            directory = server_dir()
            if directory is None or not hasattr(socket, "AF_UNIX"):
                self._usable = False
                return None
            self._path = socket_path(directory)
            if len(os.fsencode(self._path)) > _MAX_SOCKET_PATH:
                self._usable = False  # longer than a Unix socket's address can be
                return None
            self._fingerprint = fingerprint()
        request = {
            "fingerprint": self._fingerprint,
            "cwd": os.getcwd(),
            "sys_path": sys.path,
            "filename": ctx.filename,
            "lines": list(lines),
            "rules": [rule.CODE for rule in rules],
            "settings": dict(ctx.settings.values),
        }
        try:
            answer = call(self._path, request)
        except (FileNotFoundError, ConnectionRefusedError):
            self._spawn()
            return None
        except (OSError, ValueError):
            self._usable = False  # a hung or broken server: this run checks locally
            return None
        if not isinstance(answer, dict) or "findings" not in answer:
            if isinstance(answer, dict) and answer.get("stale"):
                self._spawn()
            self._usable = False
            return None
        from flake8_djguide.rule import Finding

        return [
            Finding(code, message, None, -1, line=line, col=col)  # type: ignore[arg-type]
            for code, line, col, message in answer["findings"]
        ]

    def _spawn(self) -> None:
        if not self._spawned and self._path is not None:
            self._spawned = True
            spawn(self._path)


def spawn(path: Path, idle: float = IDLE_SECONDS) -> None:
    """Start a server for ``path`` in the background (it exits if one already runs)."""
    argv = [sys.executable, "-m", "flake8_djguide.server", "serve", str(path), str(idle)]
    devnull = os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, devnull, os.O_WRONLY, 0),
    ]
    try:
        os.posix_spawn(sys.executable, argv, os.environ, file_actions=actions, setsid=True)
    except (OSError, NotImplementedError, AttributeError):
        return


# -- the server ---------------------------------------------------------------------------


class Server:
    """Answers check requests on one socket, one connection at a time."""

    def __init__(self, path: Path, idle: float) -> None:
        self.path = path
        self.idle = idle
        self.fingerprint = fingerprint()
        self.requests = 0
        self._engines: dict[tuple[str, ...], Any] = {}
        self._sys_path: list[str] = list(sys.path)
        self._inode = -1
        self._release: Callable[[], None] = lambda: None

    def serve(self) -> int:
        """Bind, warm up and answer until idle, stale or stopped; the exit status."""
        import fcntl
        import socket

        lock = open(f"{self.path}.lock", "a")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            return 0  # another server has the socket
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.path.unlink(missing_ok=True)
            listener.bind(str(self.path))
            listener.listen(16)
            self._inode = self.path.stat().st_ino
            Path(f"{self.path}.pid").write_text(str(os.getpid()))
        except OSError:
            listener.close()
            lock.close()
            return 1

        def release() -> None:
            self._unlink()
            listener.close()
            lock.close()

        self._release = release
        try:
            self._warm_up()
            listener.settimeout(self.idle)
            while True:
                try:
                    conn, _ = listener.accept()
                except socket.timeout:
                    return 0
                with conn:
                    if not self._answer(conn):
                        return 0
        finally:
            self._release()

    def _unlink(self) -> None:
        """Remove the socket and pid files, unless another server's replaced them."""
        try:
            if self.path.stat().st_ino == self._inode:
                self.path.unlink()
                Path(f"{self.path}.pid").unlink(missing_ok=True)
        except OSError:
            pass

    def _warm_up(self) -> None:
        import libcst  # noqa: F401

        from flake8_djguide.registry import all_rules

        all_rules()

    def _answer(self, conn: socket.socket) -> bool:
        """Answer one connection; ``False`` when the server must stop."""
        conn.settimeout(CLIENT_TIMEOUT)
        try:
            request = _receive(conn)
        except (OSError, ValueError):
            return True
        if not isinstance(request, dict):
            return True
        if request.get("stop"):
            self._reply(conn, {"stopped": True})
            return False
        if request.get("status"):
            self._reply(conn, self.status())
            return True
        if request.get("fingerprint") != self.fingerprint:
            self._release()  # before the answer: the client starts a new server at once
            self._reply(conn, {"stale": True})
            return False
        try:
            self._reply(conn, {"findings": self.check(request)})
        except Exception as error:  # the client then checks the file itself
            self._reply(conn, {"error": f"{type(error).__name__}: {error}"})
        return True

    def _reply(self, conn: socket.socket, payload: object) -> None:
        with contextlib.suppress(OSError):
            _send(conn, payload)

    def status(self) -> dict[str, Any]:
        """What ``djguide server status`` prints."""
        return {
            "pid": os.getpid(),
            "socket": str(self.path),
            "requests": self.requests,
            "cpu_seconds": time.process_time(),
            "fingerprint": self.fingerprint,
            "idle_seconds": self.idle,
        }

    def check(self, request: dict[str, Any]) -> list[list[Any]]:
        """The findings for one request, as ``[code, line, column, message]``."""
        from flake8_djguide import config
        from flake8_djguide.engine import Engine
        from flake8_djguide.registry import all_rules

        self.requests += 1
        os.chdir(request["cwd"])
        self._forget_file_system(list(request["sys_path"]))
        codes = tuple(request["rules"])
        engine = self._engines.get(codes)
        if engine is None:
            by_code = {rule.CODE: rule for rule in all_rules()}
            engine = Engine([by_code[code] for code in codes if code in by_code])
            self._engines[codes] = engine
        values = {
            key: tuple(value) if isinstance(value, list) else value
            for key, value in request["settings"].items()
        }
        result = engine.check(
            list(request["lines"]),
            str(request["filename"]),
            config.Settings(values),
            release_trees=True,
        )
        return [[f.code, f.line, f.col, f.message] for f in result.findings]

    def _forget_file_system(self, client_path: list[str]) -> None:
        """Drop what earlier requests learnt of the file system; use the client's path."""
        from flake8_djguide import config, context, index
        from flake8_djguide.rules import testing

        config._find_pyproject_cached.cache_clear()
        config.load_pyproject.cache_clear()
        context._find_project_root_in.cache_clear()
        context._has_init.cache_clear()
        if client_path != self._sys_path:
            sys.path[:] = client_path
            self._sys_path = list(client_path)
            import importlib

            importlib.invalidate_caches()
        context._is_installed.cache_clear()
        testing._basename_test_modules.cache_clear()
        index.forget_changed()


# -- commands -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``djguide server status|stop`` (and ``serve PATH IDLE``, which the client runs)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 3 and args[0] == "serve":
        return Server(Path(args[1]), float(args[2])).serve()
    if args in (["status"], ["stop"]):
        directory = server_dir()
        if directory is None:
            sys.stderr.write("djguide server: no server on this system (needs Unix sockets)\n")
            return 1
        path = socket_path(directory)
        try:
            answer = call(path, {args[0]: True}, timeout=5.0)
        except (OSError, ValueError):
            sys.stdout.write(f"no server is running ({path})\n")
            return 0 if args[0] == "stop" else 1
        if args[0] == "stop":
            sys.stdout.write(f"stopped the server ({path})\n")
        else:
            import json

            sys.stdout.write(json.dumps(answer, indent=2) + "\n")
        return 0
    sys.stderr.write("usage: djguide server status|stop\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
