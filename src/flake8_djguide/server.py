"""The check server: a background process that keeps libcst and the model index loaded.

An editor starts flake8 once per check of one file. ``import libcst`` alone
costs about as much as flake8's whole default run on that file, and building
the model index from its disk cache costs as much again. With the ``server``
option on, a flake8 run on a single file (or stdin) hands the files that need
libcst to this process, which answers with the findings; the flake8 process
itself never imports libcst. Multi-file runs check locally: their workers
amortise the import over many files.

- The first run starts the server in the background and checks locally; later
  runs connect to it. It exits after :data:`IDLE_SECONDS` without a request, or
  when a request comes from another version of flake8-djguide or libcst (the
  client then starts a new one), or on ``djguide server stop``.
- What it trusts. The server is started isolated (``python -I``: no
  ``PYTHON*`` variables, no user site, neither the working directory nor a
  script's directory on ``sys.path``) with ``/`` as its working directory, through
  ``sh`` so that it is nobody's child but init's; the client's ``sys.path``
  entries outside its working directory and project come after the environment's
  own, so they can add a missing package but never shadow one. It never puts the
  client's ``sys.path`` on its own: whether a name is installed is looked up on
  the client's path without importing anything.
- One server per Python environment and user: its Unix socket lives in a
  directory only the user can enter (``$XDG_RUNTIME_DIR/flake8-djguide`` or
  ``<tmp>/flake8-djguide-<uid>``; ``DJGUIDE_SERVER_DIR`` overrides it). The
  directory is opened without following a symlink and used only if it is the
  user's and closed to others; both sides then hold it open and reach their
  files through it (``/proc/self/fd`` for the socket on Linux), so it cannot be
  swapped afterwards. The pid file is written only as a new file. On Linux each
  side checks the other's user id (``SO_PEERCRED``) before reading or sending
  anything. A lock file held while it runs keeps a second server from starting.
- A request carries everything the check depends on: the file's lines and
  name, the resolved settings, the rule codes flake8 selected, the client's
  working directory and ``sys.path``. The server reads the file system as the
  client would (project root, ``pyproject.toml``, the model index, checked
  again for changed files on every request) and sends back the findings.
- Liveness. Every exchange has a total deadline on both sides
  (:data:`CLIENT_TIMEOUT`, :data:`REQUEST_SECONDS`); the server reads up to
  :data:`MAX_CONNECTIONS` requests at once, so a slow client delays nobody, and
  answers any error in a request (a ``RecursionError`` too) as an error. A client
  that timed out marks that server (by its socket) as hung: later runs check
  locally at once until the server is replaced.
- Any failure (no server yet, a timeout, a closed connection, an error in the
  server, a socket of another user) makes the client check the file itself: the
  findings are the same with and without the server.

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
#: The longest a client waits for one answer, connection included, before it checks
#: the file itself (and leaves that server alone until it is replaced).
CLIENT_TIMEOUT = 20.0
#: The longest the server waits for a whole request, and for a whole answer to be taken.
REQUEST_SECONDS = 10.0
#: Connections the server reads at once; more wait in the accept queue.
MAX_CONNECTIONS = 16
_MAX_MESSAGE = 256 * 1024 * 1024
_MAX_SOCKET_PATH = 100  # sun_path holds 104 (macOS) or 108 (Linux) bytes
#: Starts the server: the client's extra import path is appended, never prepended.
_BOOT = (
    "import os, sys\n"
    "sys.path.extend(p for p in os.environ.pop('DJGUIDE_SERVER_PATH', '').split(os.pathsep)"
    " if os.path.isabs(p))\n"
    "from flake8_djguide.server import main\n"
    "sys.exit(main())\n"
)


class ImpostorError(ConnectionError):
    """The other end of the socket runs as another user."""


# -- where and which ----------------------------------------------------------------------


class Directory:
    """The private socket directory, opened once (no symlink followed) and held open."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    def address(self, name: str) -> str:
        """The address of ``name`` in it for ``bind``/``connect``, through the open directory."""
        if sys.platform.startswith("linux") and os.path.isdir(f"/proc/self/fd/{self.fd}"):
            return f"/proc/self/fd/{self.fd}/{name}"
        return str(self.path / name)

    def identity(self, name: str) -> str | None:
        """Which file ``name`` is (inode and change time), ``None`` when missing."""
        try:
            info = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except OSError:
            return None
        return f"{info.st_ino}:{info.st_ctime_ns}"

    def read(self, name: str, limit: int = 4096) -> str | None:
        """The text of the regular file ``name`` (never through a symlink), or ``None``."""
        import stat

        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=self.fd)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return os.read(fd, limit).decode("utf-8", "replace")
        except OSError:
            return None
        finally:
            os.close(fd)

    def secret(self, name: str, size: int = 32) -> bytes | None:
        """The ``size`` random bytes of the file ``name``, made (the user's only) when
        missing; ``None`` when it is not a regular file of the user's, closed to others,
        of that size, or cannot be made."""
        import stat

        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        for _attempt in range(2):
            try:
                fd = os.open(name, flags, dir_fd=self.fd)
            except FileNotFoundError:
                self._new_secret(name, size)
                continue  # read it back: another process may have made it first
            except OSError:
                return None
            try:
                info = os.fstat(fd)
                if (
                    not stat.S_ISREG(info.st_mode)
                    or info.st_uid != os.getuid()
                    or info.st_mode & 0o077
                    or info.st_size != size
                ):
                    return None
                data = os.read(fd, size)
            except OSError:
                return None
            finally:
                os.close(fd)
            return data if len(data) == size else None
        return None

    def _new_secret(self, name: str, size: int) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(name, flags, 0o600, dir_fd=self.fd)
        except OSError:  # made by another process meanwhile, or not writable
            return
        try:
            os.write(fd, os.urandom(size))
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=self.fd)
        finally:
            os.close(fd)

    def write_new(self, name: str, text: str) -> None:
        """Replace ``name`` by a new file of the user's only (a symlink there is removed)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=self.fd)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(name, flags, 0o600, dir_fd=self.fd)
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)

    def remove(self, name: str) -> None:
        """Remove ``name`` if it is there."""
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=self.fd)


_DIRECTORIES: dict[str, Directory] = {}


def _default_dir() -> Path:
    configured = os.environ.get("DJGUIDE_SERVER_DIR")
    if configured:
        return Path(configured)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "flake8-djguide"
    import tempfile

    return Path(tempfile.gettempdir()) / f"flake8-djguide-{os.getuid()}"


def private_dir(directory: Path | None = None) -> Directory | None:
    """The private socket directory, made if missing; ``None`` where unusable.

    Usable when it is a real directory (not a symlink), owned by this user and
    closed to everybody else. It is checked once per process and held open.
    """
    if os.name != "posix" or not hasattr(os, "getuid") or not hasattr(os, "O_NOFOLLOW"):
        return None
    path = _default_dir() if directory is None else directory
    held = _DIRECTORIES.get(str(path))
    if held is not None:
        return held
    import stat

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None  # a symlink (ELOOP), not a directory, or not ours to make
    info = os.fstat(fd)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        os.close(fd)
        return None  # somebody else's, or open to others: never talk through it
    held = _DIRECTORIES[str(path)] = Directory(path, fd)
    return held


def server_dir() -> Path | None:
    """The path of :func:`private_dir`, or ``None`` where there is none."""
    directory = private_dir()
    return None if directory is None else directory.path


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


def _remaining(conn: socket.socket, deadline: float) -> None:
    """Give ``conn`` what is left until ``deadline`` (raises ``TimeoutError`` when nothing)."""
    import socket

    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("deadline passed")
    conn.settimeout(left)


def _send(conn: socket.socket, payload: object, deadline: float) -> None:
    import json

    data = json.dumps(payload, separators=(",", ":")).encode("utf-8", "surrogatepass")
    _remaining(conn, deadline)
    conn.sendall(len(data).to_bytes(4, "big") + data)  # the timeout bounds the whole call


def _receive(conn: socket.socket, deadline: float) -> Any:
    import json

    header = _read_exactly(conn, 4, deadline)
    size = int.from_bytes(header, "big")
    if size > _MAX_MESSAGE:
        raise OSError(f"message of {size} bytes")
    return json.loads(_read_exactly(conn, size, deadline).decode("utf-8", "surrogatepass"))


def _read_exactly(conn: socket.socket, size: int, deadline: float) -> bytes:
    chunks = []
    while size:
        _remaining(conn, deadline)
        chunk = conn.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def peer_uid(conn: socket.socket) -> int | None:
    """The user id of the process at the other end, ``None`` where the system cannot say."""
    import socket
    import struct

    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, option, 12))
    except (OSError, struct.error):
        return None
    return int(uid)


def _check_peer(conn: socket.socket) -> None:
    uid = peer_uid(conn)
    if uid is not None and uid != os.getuid():
        raise ImpostorError(f"the socket is served by user id {uid}, not {os.getuid()}")


def exchange(address: str | Path, payload: object, timeout: float = CLIENT_TIMEOUT) -> Any:
    """Send one request to the server at ``address``; its answer.

    Raises ``OSError`` (``ImpostorError`` when another user serves the socket,
    before anything is sent; ``socket.timeout`` when the whole exchange takes more
    than ``timeout`` seconds) or ``ValueError``.
    """
    import socket

    deadline = time.monotonic() + timeout
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with conn:
        conn.settimeout(timeout)
        conn.connect(str(address))
        _check_peer(conn)
        _send(conn, payload, deadline)
        return _receive(conn, deadline)


def call(path: Path, payload: dict[str, Any], timeout: float = CLIENT_TIMEOUT) -> Any:
    """Send one request to the server whose socket is ``path``; its answer (see :func:`exchange`)."""
    directory = private_dir(path.parent)
    address = str(path) if directory is None else directory.address(path.name)
    return exchange(address, payload, timeout)


# -- the client ---------------------------------------------------------------------------


def _hung_name(name: str) -> str:
    return f"{name}.hung"


class Client:
    """Checks a file through the server; ``None`` when the caller must check it itself."""

    def __init__(self) -> None:
        self._directory: Directory | None = None
        self._name = ""
        self._fingerprint = ""
        self._usable = True
        self._spawned = False

    def __call__(
        self, lines: Sequence[str], ctx: FileContext, rules: Sequence[type[Rule]]
    ) -> list[Finding] | None:
        """The findings of ``rules`` on the file, as :meth:`Engine.check` would give them."""
        if not self._usable:
            return None
        if self._directory is None and not self._open():
            self._usable = False
            return None
        directory = self._directory
        assert directory is not None
        hung = directory.read(_hung_name(self._name))
        if hung is not None and hung == directory.identity(self._name):
            self._usable = False  # it timed out before and has not been replaced
            return None
        request = {
            "fingerprint": self._fingerprint,
            "cwd": os.getcwd(),
            "sys_path": sys.path,
            "filename": ctx.filename,
            "lines": list(lines),
            "rules": [rule.CODE for rule in rules],
            "settings": dict(ctx.settings.values),
        }
        import socket

        try:
            answer = exchange(directory.address(self._name), request, CLIENT_TIMEOUT)
        except (FileNotFoundError, ConnectionRefusedError):
            self._spawn(ctx.filename)
            return None
        except socket.timeout:
            self._usable = False  # hung or stopped: later runs check locally at once
            identity = directory.identity(self._name)
            if identity is not None:
                with contextlib.suppress(OSError):
                    directory.write_new(_hung_name(self._name), identity)
            return None
        except (OSError, ValueError):
            self._usable = False  # a broken server, or another user's: this run checks locally
            return None
        if not isinstance(answer, dict) or "findings" not in answer:
            if isinstance(answer, dict) and answer.get("stale"):
                self._spawn(ctx.filename)
            self._usable = False
            return None
        from flake8_djguide.rule import Finding

        return [
            Finding(code, message, None, -1, line=line, col=col)  # type: ignore[arg-type]
            for code, line, col, message in answer["findings"]
        ]

    def _open(self) -> bool:
        import socket

        if not hasattr(socket, "AF_UNIX"):
            return False
        directory = private_dir()
        if directory is None:
            return False
        self._name = socket_path(directory.path).name
        if len(os.fsencode(directory.address(self._name))) > _MAX_SOCKET_PATH:
            return False  # longer than a Unix socket's address can be
        self._directory = directory
        self._fingerprint = fingerprint()
        return True

    def _spawn(self, filename: str) -> None:
        if not self._spawned and self._directory is not None:
            from flake8_djguide.context import find_project_root

            self._spawned = True
            root = find_project_root(filename)
            spawn(self._directory.path / self._name, project=None if root is None else str(root))


def _import_path(project: str | None = None) -> list[str]:
    """The client's ``sys.path`` entries a server may append to its own.

    Absolute entries outside the working directory, its project and ``project``
    (the checked file's) only: a package installed with ``--user`` or through
    ``PYTHONPATH`` still loads, the project's modules never do.
    """
    from flake8_djguide.context import find_project_root

    cwd = os.getcwd()
    fenced = [cwd]
    root = find_project_root(os.path.join(cwd, "__init__.py"))
    if root is not None:
        fenced.append(str(root))
    if project:
        fenced.append(os.path.realpath(project))
    kept = []
    for entry in sys.path:
        if not entry or not os.path.isabs(entry):
            continue
        real = os.path.realpath(entry)
        if any(real == fence or real.startswith(fence.rstrip(os.sep) + os.sep) for fence in fenced):
            continue
        kept.append(entry)
    return kept


def spawn(path: Path, idle: float = IDLE_SECONDS, project: str | None = None) -> None:
    """Start a server for ``path`` in the background (it exits if one already runs).

    ``project``: the root of the project being checked, kept off its import path.

    ``sh`` starts it in the background from ``/`` and exits at once: the server is
    then init's child, never the client's, and is reaped when it exits.
    """
    argv = ["sh", "-c", 'cd / && "$@" &', "sh", sys.executable, "-I", "-c", _BOOT]
    argv += ["serve", str(path), str(idle)]
    devnull = os.devnull
    try:
        environment = dict(os.environ)
        environment["DJGUIDE_SERVER_PATH"] = os.pathsep.join(_import_path(project))
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, devnull, os.O_WRONLY, 0),
        ]
        pid = os.posix_spawn("/bin/sh", argv, environment, file_actions=actions, setsid=True)
        os.waitpid(pid, 0)  # sh only starts the server: a few milliseconds
    except (OSError, NotImplementedError, AttributeError):
        return


# -- the server ---------------------------------------------------------------------------


class _Incoming:
    """A request being read from ``conn``."""

    __slots__ = ("buffer", "conn", "deadline")

    def __init__(self, conn: socket.socket, deadline: float) -> None:
        self.conn = conn
        self.buffer = bytearray()
        self.deadline = deadline

    def complete(self) -> bytes | None:
        """The request's bytes once all have come (raises ``OSError`` when too long)."""
        if len(self.buffer) < 4:
            return None
        size = int.from_bytes(self.buffer[:4], "big")
        if size > _MAX_MESSAGE:
            raise OSError(f"message of {size} bytes")
        if len(self.buffer) < 4 + size:
            return None
        return bytes(self.buffer[4 : 4 + size])


class Server:
    """Answers check requests on one socket: reads several at once, checks one at a time."""

    def __init__(self, path: Path, idle: float) -> None:
        self.path = path
        self.idle = idle
        self.fingerprint = fingerprint()
        self.requests = 0
        self.started = time.time()
        self.last_request = time.monotonic()
        self.project = ""
        self._engines: dict[tuple[str, ...], Any] = {}
        self._directory: Directory | None = None
        self._identity: str | None = None
        self._release: Callable[[], None] = lambda: None

    def serve(self) -> int:
        """Bind, warm up and answer until idle, stale or stopped; the exit status."""
        import fcntl
        import socket

        directory = private_dir(self.path.parent)
        if directory is None:
            return 1
        self._directory = directory
        from flake8_djguide.index import keep_collecting

        keep_collecting()  # it builds an index again when the project changes
        name = self.path.name
        try:
            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
            lock = os.open(f"{name}.lock", flags, 0o600, dir_fd=directory.fd)
        except OSError:
            return 1
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock)
            return 0  # another server has the socket
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            directory.remove(name)
            listener.bind(directory.address(name))
            listener.listen(MAX_CONNECTIONS)
            self._identity = directory.identity(name)
            directory.write_new(f"{name}.pid", str(os.getpid()))
            directory.remove(_hung_name(name))
        except OSError:
            listener.close()
            os.close(lock)
            return 1

        released: list[bool] = []

        def release() -> None:
            if not released:
                released.append(True)
                self._unlink()
                listener.close()
                os.close(lock)

        self._release = release
        try:
            self._warm_up()
            return self._loop(listener)
        finally:
            self._release()

    def _unlink(self) -> None:
        """Remove the socket and pid files, unless another server's replaced them."""
        directory = self._directory
        name = self.path.name
        if directory is not None and directory.identity(name) == self._identity:
            directory.remove(name)
            directory.remove(f"{name}.pid")

    def _warm_up(self) -> None:
        import libcst  # noqa: F401

        from flake8_djguide.registry import all_rules

        all_rules()

    def _loop(self, listener: socket.socket) -> int:
        """Read requests from up to :data:`MAX_CONNECTIONS` clients; answer each when whole."""
        import selectors

        listener.setblocking(False)
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ, None)
        incoming: list[_Incoming] = []
        active = time.monotonic()

        def drop(state: _Incoming) -> None:
            selector.unregister(state.conn)
            incoming.remove(state)
            state.conn.close()

        try:
            while True:
                now = time.monotonic()
                for state in [s for s in incoming if s.deadline <= now]:
                    drop(state)  # too slow: the others are not kept waiting
                if not incoming and now >= active + self.idle:
                    return 0
                wake = min([active + self.idle, *(s.deadline for s in incoming)])
                for key, _ in selector.select(max(0.0, wake - now)):
                    state = key.data
                    if state is None:
                        self._accept(listener, selector, incoming)
                        continue
                    try:
                        chunk = state.conn.recv(1 << 20)
                        if not chunk:
                            raise ConnectionError("connection closed")
                        state.buffer += chunk
                        data = state.complete()
                    except BlockingIOError:
                        continue
                    except OSError:
                        drop(state)
                        continue
                    if data is None:
                        continue
                    selector.unregister(state.conn)
                    incoming.remove(state)
                    with state.conn as conn:
                        conn.setblocking(True)
                        keep = self._answer(conn, data)
                    active = time.monotonic()
                    if not keep:
                        return 0
        finally:
            for state in list(incoming):
                drop(state)
            selector.close()

    def _accept(self, listener: socket.socket, selector: Any, incoming: list[_Incoming]) -> None:
        import selectors

        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # BlockingIOError: none left
                return
            uid = peer_uid(conn)
            if len(incoming) >= MAX_CONNECTIONS or (uid is not None and uid != os.getuid()):
                conn.close()
                continue
            conn.setblocking(False)
            state = _Incoming(conn, time.monotonic() + REQUEST_SECONDS)
            incoming.append(state)
            selector.register(conn, selectors.EVENT_READ, state)

    def _answer(self, conn: socket.socket, data: bytes) -> bool:
        """Answer one whole request; ``False`` when the server must stop."""
        import json

        deadline = time.monotonic() + REQUEST_SECONDS
        try:
            request = json.loads(data.decode("utf-8", "surrogatepass"))
            if not isinstance(request, dict):
                raise ValueError("a request is a JSON object")
            if request.get("stop"):
                self._reply(conn, {"stopped": True}, deadline)
                return False
            if request.get("status"):
                self._reply(conn, self.status(), deadline)
                return True
            if request.get("fingerprint") != self.fingerprint:
                self._release()  # before the answer: the client starts a new server at once
                self._reply(conn, {"stale": True}, deadline)
                return False
            findings = self.check(request)
        except Exception as error:  # RecursionError too: the client checks the file itself
            self._reply(conn, {"error": f"{type(error).__name__}: {error}"[:2000]}, deadline)
            return True
        self._reply(conn, {"findings": findings}, deadline)
        return True

    def _reply(self, conn: socket.socket, payload: object, deadline: float) -> None:
        with contextlib.suppress(OSError, ValueError):
            _send(conn, payload, deadline)

    def status(self) -> dict[str, Any]:
        """What ``djguide server status`` shows."""
        return {
            "pid": os.getpid(),
            "environment": sys.prefix,
            "python": sys.version.split()[0],
            "project": self.project,
            "socket": str(self.path),
            "uptime_seconds": round(time.time() - self.started, 3),
            "idle_seconds": round(time.monotonic() - self.last_request, 3),
            "idle_timeout_seconds": self.idle,
            "requests": self.requests,
            "cpu_seconds": round(time.process_time(), 3),
            "fingerprint": self.fingerprint,
        }

    def check(self, request: dict[str, Any]) -> list[list[Any]]:
        """The findings for one request, as ``[code, line, column, message]``."""
        from flake8_djguide import config
        from flake8_djguide.context import find_project_root
        from flake8_djguide.engine import Engine
        from flake8_djguide.registry import all_rules

        self.requests += 1
        self.last_request = time.monotonic()
        cwd = request["cwd"]
        if not isinstance(cwd, str):
            raise TypeError("'cwd' is a directory's path")  # os.chdir(int) would be fchdir
        home = os.getcwd()
        os.chdir(cwd)
        try:
            self._forget_file_system([str(entry) for entry in request["sys_path"]])
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
            filename = str(request["filename"])
            root = find_project_root(filename)
            self.project = str(root) if root is not None else os.getcwd()
            result = engine.check(
                list(request["lines"]), filename, config.Settings(values), release_trees=True
            )
        finally:
            os.chdir(home)
        return [[f.code, f.line, f.col, f.message] for f in result.findings]

    def _forget_file_system(self, client_path: list[str]) -> None:
        """Drop what earlier requests learnt of the file system; look names up on the client's path.

        The client's ``sys.path`` is never put on the server's own: a module of the
        project could then be imported by the server.
        """
        from flake8_djguide import config, context, index
        from flake8_djguide.rules import testing

        config._find_pyproject_cached.cache_clear()
        config.load_pyproject.cache_clear()
        context._find_project_root_in.cache_clear()
        context._has_init.cache_clear()
        context._manage_py_root.cache_clear()
        context._package_parts.cache_clear()
        context.use_import_path(client_path)
        testing._test_layout.cache_clear()
        testing._runs_pytest.cache_clear()
        index.forget_changed()


# -- commands -----------------------------------------------------------------------------

SERVER_HELP = """\
usage: djguide server status [--json] | stop

The check server (option 'server', '--djguide-server=true' or 'server = true' in
[tool.djguide]) keeps libcst and the model index loaded in a background process, so
that an editor's flake8 run on one file (or stdin) does not pay for them every time.
The first such run starts it; it exits after 15 minutes without a request, when
flake8-djguide or libcst changes, or on 'djguide server stop'. The findings are the
same with and without it: when it cannot be reached, flake8 checks the file itself.

There is one server per Python environment and user. Its socket is in a directory
only you can enter ($XDG_RUNTIME_DIR/flake8-djguide, else <tmp>/flake8-djguide-<uid>,
or DJGUIDE_SERVER_DIR); a directory that is a symlink, another user's or open to
others is never used. It runs isolated (python -I, working directory /) and never
imports the checked project's code.

commands:
  status [--json]  the running server: pid, environment, last project, uptime, idle
                   time, requests served (--json: the same as JSON)
  stop             stop it and wait until it has exited
"""


def _duration(seconds: float) -> str:
    whole = int(seconds)
    if whole < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def describe(status: dict[str, Any]) -> str:
    """``djguide server status`` in words."""

    def number(key: str) -> float:
        value = status.get(key)
        return float(value) if isinstance(value, (int, float)) else 0.0

    project = status.get("project") or "none yet"
    lines = [
        f"check server running, pid {status.get('pid')}",
        f"  environment:  {status.get('environment')} (Python {status.get('python')})",
        f"  project:      {project} (last request)",
        f"  uptime:       {_duration(number('uptime_seconds'))}",
        f"  idle for:     {_duration(number('idle_seconds'))}"
        f" (exits after {_duration(number('idle_timeout_seconds'))} idle)",
        f"  requests:     {int(number('requests'))} served, {number('cpu_seconds'):.1f} s of CPU",
        f"  socket:       {status.get('socket')}",
    ]
    return "\n".join(lines) + "\n"


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a child of ours that has exited is reaped here)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass  # not ours: init reaps it
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            if stat.read().rpartition(")")[2].split()[:1] == ["Z"]:
                return False  # exited; its parent has yet to reap it
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _locked_pid(directory: Directory, name: str) -> int | None:
    """The pid in the pid file, when a server still holds the lock (else ``None``)."""
    import fcntl

    text = directory.read(f"{name}.pid")
    if text is None or not text.strip().isdigit():
        return None
    try:
        lock = os.open(f"{name}.lock", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=directory.fd)
    except OSError:
        return None
    try:
        fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return int(text.strip())  # held: the server of that pid runs
    finally:
        os.close(lock)
    return None


def _stop(directory: Directory, name: str) -> int:
    import socket

    pid = _locked_pid(directory, name)
    path = directory.path / name
    hung = directory.read(_hung_name(name))
    if pid is not None and hung is not None and hung == directory.identity(name):
        return _kill(directory, name, pid)  # a client found it hung: asking would wait too
    try:
        exchange(directory.address(name), {"stop": True}, timeout=5.0)
    except socket.timeout:
        if pid is None:
            sys.stdout.write(f"no server is running ({path})\n")
            return 0
        return _kill(directory, name, pid)
    except (OSError, ValueError):
        sys.stdout.write(f"no server is running ({path})\n")
        return 0
    if pid is not None and not _wait_gone(pid, 10.0):
        sys.stdout.write(f"asked the server to stop, pid {pid} still runs ({path})\n")
        return 1
    sys.stdout.write(f"stopped the server ({path})\n")
    return 0


def _kill(directory: Directory, name: str, pid: int) -> int:
    """Stop a server that does not answer: ``SIGTERM`` (and ``SIGCONT``), then ``SIGKILL``."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGCONT):
        with contextlib.suppress(OSError):
            os.kill(pid, sig)
    if not _wait_gone(pid, 2.0):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    directory.remove(name)
    directory.remove(f"{name}.pid")
    directory.remove(_hung_name(name))
    gone = _wait_gone(pid, 5.0)
    path = directory.path / name
    sys.stdout.write(f"stopped the server, pid {pid}, which did not answer ({path})\n")
    return 0 if gone else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``djguide server status [--json]|stop`` (and ``serve PATH IDLE``, which the client runs)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 3 and args[0] == "serve":
        return Server(Path(args[1]), float(args[2])).serve()
    if args in (["-h"], ["--help"]):
        sys.stdout.write(SERVER_HELP)
        return 0
    if args in (["status"], ["status", "--json"], ["stop"]):
        directory = private_dir()
        if directory is None:
            sys.stderr.write(
                "djguide server: no usable socket directory (needs Unix sockets and a"
                " directory only you can enter; see 'djguide server -h')\n"
            )
            return 1
        name = socket_path(directory.path).name
        if args[0] == "stop":
            return _stop(directory, name)
        try:
            answer = exchange(directory.address(name), {"status": True}, timeout=5.0)
        except (OSError, ValueError):
            sys.stdout.write(f"no server is running ({directory.path / name})\n")
            return 1
        if not isinstance(answer, dict):
            sys.stdout.write(f"the server gave no status ({directory.path / name})\n")
            return 1
        if args[1:]:
            import json

            sys.stdout.write(json.dumps(answer, indent=2) + "\n")
        else:
            sys.stdout.write(describe(answer))
        return 0
    sys.stderr.write("usage: djguide server status [--json] | stop (see 'djguide server -h')\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
