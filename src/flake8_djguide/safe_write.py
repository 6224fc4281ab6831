"""Reading and replacing the files ``djguide fix`` and ``djguide baseline`` write.

A file is replaced through a temporary file created beside it with a unique name
(``O_EXCL``, never through a path that may be a symbolic link), which gets the
file's owner and mode and is renamed over it (``os.replace`` is atomic: a crash
never leaves half a file). Nothing here writes through a symbolic link or into a
special file, and :func:`replace` leaves a file alone (raising :class:`RefusedError`)
when replacing it would lose something:

- it is read-only (its mode has no write permission, even for root);
- it has other hard links, which a rename would split from it;
- its owner cannot be kept (another user's file, when not running as root);
- its content changed since it was read (an edit made while it was being fixed).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Sequence

#: ``O_NOFOLLOW`` and ``O_NONBLOCK`` where the platform has them (not on Windows).
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


class RefusedError(OSError):
    """The file is left alone; the message says why (``symlink``, ``read-only file``...)."""


def within(path: str, roots: Sequence[str]) -> bool:
    """Whether the real path of ``path`` is one of ``roots`` or inside one (real paths)."""
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def real_roots(paths: Sequence[str]) -> list[str]:
    """The real paths of the paths a command was given (what it may write under)."""
    return [os.path.realpath(path) for path in paths]


def _followed(link: str, roots: Sequence[str] | None) -> str:
    """The target of the symbolic link ``link`` when it is inside ``roots``, else
    :class:`RefusedError` (always when ``roots`` is ``None``)."""
    target = os.path.realpath(link)
    if roots is None:
        raise RefusedError(f"symlink to {target}")
    if not within(target, roots):
        raise RefusedError(f"symlink to {target}, outside the given paths")
    return target


def read_regular(path: str, roots: Sequence[str] | None = None) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file ``path`` and its status, without blocking or following
    a symbolic link out of ``roots``.

    Raises :class:`RefusedError` for a symbolic link whose target is outside ``roots`` (or any
    symbolic link when ``roots`` is ``None``), for a FIFO, socket or device (opened without
    blocking, never read), and :class:`OSError` when the file cannot be read.
    """
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        path = _followed(path, roots)
    descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _BINARY)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise RefusedError("not a regular file")
        chunks = []
        while True:
            chunk = os.read(descriptor, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(descriptor)
    return b"".join(chunks), info


def _same_file(info: os.stat_result, other: os.stat_result) -> bool:
    return (info.st_dev, info.st_ino) == (other.st_dev, other.st_ino)


def replace(
    path: str,
    data: bytes,
    *,
    expected: bytes | None = None,
    roots: Sequence[str] | None = None,
    new_mode: int = 0o644,
) -> None:
    """Replace the file at ``path`` by ``data`` (see the module docstring).

    ``expected``: the content the file had when it was read; when it differs now, the
    file is left alone. A symbolic link is written through only when its target is inside
    ``roots`` (else :class:`RefusedError`). A file that does not exist yet is created with
    ``new_mode`` (less the umask). Raises :class:`RefusedError` or :class:`OSError`.
    """
    try:
        info: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        if expected is not None:
            raise RefusedError(
                "the file was removed while it was being fixed; not written"
            ) from None
        info = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        path = _followed(path, roots)
        info = os.lstat(path)
    if info is not None:
        if not stat.S_ISREG(info.st_mode):
            raise RefusedError("not a regular file")
        if not info.st_mode & 0o222 or not os.access(path, os.W_OK):
            raise RefusedError("read-only file")
        if info.st_nlink > 1:
            raise RefusedError(
                f"the file has {info.st_nlink} hard links; replacing it would split them"
            )
    directory, name = os.path.split(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".djguide", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            descriptor = stream.fileno()
            if info is not None:
                created = os.fstat(descriptor)
                owner = (info.st_uid, info.st_gid)
                if hasattr(os, "fchown") and (created.st_uid, created.st_gid) != owner:
                    try:
                        os.fchown(descriptor, *owner)
                    except PermissionError:
                        raise RefusedError("its owner or group could not be kept") from None
                mode = stat.S_IMODE(info.st_mode)
            else:
                umask = os.umask(0)
                os.umask(umask)
                mode = new_mode & ~umask
            if hasattr(os, "fchmod"):
                os.fchmod(descriptor, mode)
            else:  # pragma: no cover - Windows
                os.chmod(temporary, mode)
            os.fsync(descriptor)
        if info is not None and expected is not None:
            _check_unchanged(path, info, expected)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _check_unchanged(path: str, info: os.stat_result, expected: bytes) -> None:
    """Raise :class:`RefusedError` when ``path`` is no longer the file read, or its content changed."""
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        raise RefusedError("the file was removed while it was being fixed; not written") from None
    if not _same_file(info, now) or not stat.S_ISREG(now.st_mode):
        raise RefusedError("the file was replaced while it was being fixed; not written")
    changed = now.st_size != len(expected)
    if not changed:
        current, _ = read_regular(path)
        changed = current != expected
    if changed:
        raise RefusedError("the file changed while it was being fixed; not written")
