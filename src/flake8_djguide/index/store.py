"""The on-disk cache of module facts: JSON only, keyed by path, mtime and size.

One cache file per project root and :func:`cache_key`: the facts of a file depend on
the Python version that parsed it (a file in 3.12 syntax has no facts under 3.11) and on
the plugin's version, so each gets its own file and a run never reuses another's facts.
No option changes a file's facts (``index-max-files`` and ``source-roots`` decide which
files are listed and how modules are named, both worked out again on every scan).
Several flake8 worker processes may build or
read it at the same time: a writer writes a temporary file in the cache
directory and renames it over the cache file (``os.replace`` is atomic), so a
reader sees either the old or the new complete file. A cache file that does
not parse or does not have the expected shape is ignored (and rebuilt). When
the cache directory cannot be written the facts simply stay in memory.
Nothing is ever unpickled or executed: the cache holds JSON data only. Each entry's full
shape is checked (:func:`valid_facts`) before it is used, unless the file is *trusted*: its
MAC, made with a random key only the user can read (:func:`cache_secret`), shows that the
user's own runs of the plugin wrote it, from facts it had checked or extracted. The cache
file is opened without following a symbolic link or blocking, and read only when it
is a regular file of at most :data:`MAX_CACHE_BYTES`; a cache directory that is a
symbolic link is neither read nor written.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flake8_djguide.index.extract import FORMAT, TEMPLATE_ATTRS, source_facts

#: Directory names never searched for models (virtualenvs, caches, generated trees).
SKIP_DIRS = frozenset(
    {
        "__pycache__",
        "node_modules",
        "site-packages",
        "dist-packages",
        "migrations",
        "htmlcov",
        "build",
        "dist",
    }
)
CACHE_DIR_NAME = ".djguide_cache"
#: A cache file larger than this is not read (the index of a 50,000-file project is
#: about 100 MiB).
MAX_CACHE_BYTES = 512 * 1024 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def cache_key() -> str:
    """What the facts depend on besides the file: the facts' format, the plugin's version
    and the Python version that parses the files."""
    from flake8_djguide import __version__

    return f"{FORMAT}/{__version__}/{sys.implementation.name}{sys.version_info[0]}.{sys.version_info[1]}"


@dataclass
class ScanResult:
    """The facts of every module under a root, and what the scan had to do."""

    root: Path
    files: dict[str, dict[str, Any]]  # relative posix path -> facts
    parsed: int = 0  # files read and parsed in this scan (cache misses)
    reused: int = 0  # files whose cached facts were still valid
    written: bool = False  # whether the cache file was (re)written
    cache_file: Path | None = None
    truncated: bool = False  # more files than the limit: the index is partial
    listing: int = 0  # listing_signature(): the files' paths, modification times and sizes
    errors: list[str] = field(default_factory=list)


def cache_file_for(root: Path, cache_dir: Path | None) -> Path:
    """The cache file of ``root``: ``<cache dir>/model-index-<hash of root>.json``."""
    directory = cache_dir if cache_dir is not None else root / CACHE_DIR_NAME
    return directory / f"model-index-{_digest(str(root) + chr(0) + cache_key())}.json"


def _digest(text: str) -> str:
    """A stable 48-bit FNV-1a hash of ``text`` in hex.

    Not ``hashlib``: importing it loads OpenSSL, about 3.5 MiB more memory in
    every flake8 process, for a hash that only tells cache files apart.
    """
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8", "surrogatepass"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"[:12]


def python_files(root: Path, limit: int) -> tuple[list[tuple[str, int, int]], bool]:
    """``(relative path, mtime_ns, size)`` of every ``.py`` file under ``root``.

    Hidden directories, virtualenvs and the directories in :data:`SKIP_DIRS` are
    not entered; symbolic links to directories are not followed.
    """
    found: list[tuple[str, int, int]] = []
    base = str(root)  # os.path on strings: no Path object per directory
    stack = [""]
    while stack:
        relative = stack.pop()
        directory = os.path.join(base, relative) if relative else base
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if name.startswith(".") or name in SKIP_DIRS:
                        continue
                    subdirs.append(f"{relative}/{name}" if relative else name)
                elif name.endswith(".py") and entry.is_file(follow_symlinks=False):
                    stat = entry.stat(follow_symlinks=False)
                    rel = f"{relative}/{name}" if relative else name
                    found.append((rel, stat.st_mtime_ns, stat.st_size))
                    if len(found) >= limit:
                        return found, True
            except OSError:
                continue
        for sub in reversed(subdirs):
            if not os.path.exists(os.path.join(base, sub, "pyvenv.cfg")):
                stack.append(sub)
    return found, False


def listing_signature(root: Path, limit: int) -> int:
    """``hash(frozenset(python_files(root, limit)[0]))``, without sorting or path objects.

    The check server compares it with the index's on every request that needs
    the index, so it walks with ``os.scandir`` alone and never sorts.
    """
    found: list[tuple[str, int, int]] = []
    stack = [(str(root), "")]
    skip = SKIP_DIRS
    exists = os.path.exists
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as listing:
                for entry in listing:
                    name = entry.name
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if name[0] != "." and name not in skip:
                                path = entry.path
                                if not exists(path + "/pyvenv.cfg"):
                                    stack.append((path, f"{prefix}{name}/"))
                        elif name.endswith(".py") and entry.is_file(follow_symlinks=False):
                            stat = entry.stat(follow_symlinks=False)
                            found.append((prefix + name, stat.st_mtime_ns, stat.st_size))
                    except OSError:
                        continue
        except OSError:
            continue
        if len(found) >= limit:  # which files count then depends on the sorted walk
            return hash(frozenset(python_files(root, limit)[0]))
    return hash(frozenset(found))


def _read_cache(path: Path) -> bytes | None:
    """The bytes of the cache file, when it is a regular file (not a symbolic link, FIFO or
    device) of at most :data:`MAX_CACHE_BYTES` in a directory that is not a symbolic link."""
    try:
        if os.path.islink(path.parent):
            return None
        descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CACHE_BYTES:
            return None
        # As many bytes as the file holds (one more shows that it grew): a read of
        # MAX_CACHE_BYTES would allocate that much first, whatever the file's size.
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            data = handle.read(info.st_size + 1)
    except OSError:
        return None
    finally:
        os.close(descriptor)
    return data if len(data) <= MAX_CACHE_BYTES else None


#: The name of this user's secret key for the cache files' MACs in the check server's
#: private directory (:func:`flake8_djguide.server.private_dir`).
SECRET_NAME = "cache-key"
_SECRETS: dict[str, bytes | None] = {}
_FILES_KEY = b',"files":'


def cache_secret() -> bytes | None:
    """This user's secret key for the cache files' MACs, made on first use in the private
    directory of the check server (the user's only, closed to others); ``None`` where
    there is none (then every cached entry is checked, as in a file without a MAC)."""
    from flake8_djguide.server import private_dir

    directory = private_dir()
    if directory is None:
        return None
    key = str(directory.path)
    if key not in _SECRETS:
        _SECRETS[key] = directory.secret(SECRET_NAME)
    return _SECRETS[key]


def _mac(secret: bytes, root: Path, fmt: int, files: bytes) -> str:
    """The MAC of a cache file's ``files`` table as written, bound to its project, format,
    plugin version and Python version (a file copied to another project's name fails)."""
    from flake8_djguide.index.extract import blake2b

    header = f"{fmt}\0{cache_key()}\0{root}\0".encode("utf-8", "surrogatepass")
    return blake2b(header + files, key=secret, digest_size=16).hexdigest()


def cached_files(
    path: Path, root: Path, fmt: int, verify: bool = True
) -> tuple[dict[str, Any], bool]:
    """The ``files`` table of the cache file ``path`` when this plugin version wrote it
    for ``root`` in format ``fmt``, or ``{}`` (missing, unreadable, another format, version
    or project), and whether it is *trusted*: its MAC shows that this user's plugin
    wrote it (:func:`write_cache`), so its entries have the shape the plugin gives them.
    The entries of a file that is not trusted (written where there was no key, edited,
    or made by somebody else, such as a cache committed to a repository) are not checked
    here: see :func:`cached_entry`. Without ``verify`` the MAC is not checked (the file is
    then not trusted)."""
    raw = _read_cache(path)
    if raw is None:
        return {}, False
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return {}, False
    if (
        not isinstance(data, dict)
        or data.get("format") != fmt
        or data.get("key") != cache_key()
        or data.get("root") != str(root)
    ):
        return {}, False
    files = data.get("files")
    if not isinstance(files, dict):
        return {}, False
    mac = data.get("mac")
    secret = cache_secret() if verify and type(mac) is str and mac else None
    start = raw.find(_FILES_KEY)
    trusted = (
        secret is not None
        and start > 0
        and raw.endswith(b"}")
        # no secret to learn from how long a comparison takes: the file is read once
        and _mac(secret, root, fmt, raw[start + len(_FILES_KEY) : -1]) == mac
    )
    return files, trusted


def write_cache(path: Path, root: Path, fmt: int, entries: dict[str, list[Any]]) -> str | None:
    """Write the cache file ``path`` atomically, with the MAC of its ``files`` table when
    this user has a key (:func:`cache_secret`); an error text instead of raising."""
    files = json.dumps(entries, separators=(",", ":"))  # the C encoder: not json.dump
    secret = cache_secret()
    mac = "" if secret is None else _mac(secret, root, fmt, files.encode("utf-8"))
    header = json.dumps(
        {"format": fmt, "key": cache_key(), "root": str(root), "mac": mac},
        separators=(",", ":"),
    )
    text = f'{header[:-1]},"files":{files}}}'
    try:
        created = not path.parent.is_dir()
        path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.islink(path.parent):
            return f"{path.parent} is a symbolic link; the cache is not written there"
        if created or path.parent.name == CACHE_DIR_NAME:
            _ignore_in_git(path.parent)
        handle, temporary = tempfile.mkstemp(
            prefix=path.name + ".", suffix=".tmp", dir=str(path.parent)
        )
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as error:
        return f"{type(error).__name__}: {error}"
    return None


def cached_entry(entry: object) -> bool:
    """Whether ``entry`` has the shape of a cached file's entry: ``[mtime_ns, size, facts]``
    (the facts are checked by the caller)."""
    return (
        type(entry) is list and len(entry) == 3 and type(entry[0]) is int and type(entry[1]) is int
    )


def _load(path: Path, root: Path, share: bool = True) -> tuple[dict[str, list[Any]], bool]:
    """The cached entries of ``path`` (``{rel: [mtime_ns, size, facts]}``), or ``{}``, and
    whether the file is trusted (:func:`cached_files`).

    The entries of a file that is not trusted are checked: those whose shape is not
    exactly what :func:`source_facts` gives are dropped (their files are parsed again).
    ``share`` makes equal strings one object (:func:`_share_strings`).
    """
    valid: dict[str, list[Any]] = {}
    strings: dict[str, str] = {}
    files, trusted = cached_files(path, root, FORMAT)
    for rel, entry in files.items():
        if trusted or (cached_entry(entry) and valid_facts(entry[2])):
            if share:
                _share_strings(entry[2], strings)
            valid[rel] = entry
    return valid, trusted


#: Expression tags (see :mod:`flake8_djguide.index.extract`) and the types after the tag.
_ATOMS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "num": (int, float),
    "bool": (bool,),
    "ref": (str,),
}


def _valid_encoded(value: object) -> bool:
    """Whether ``value`` is an expression as :func:`extract.encode` gives it."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is not list or not item or type(item[0]) is not str:
            return False
        tag = item[0]
        size = len(item)
        if tag in ("none", "other", "star"):
            if size != 1:
                return False
        elif tag in _ATOMS:
            if size != 2 or type(item[1]) not in _ATOMS[tag]:
                return False
        elif tag == "call":
            if size != 4 or type(item[2]) is not list or type(item[3]) is not dict:
                return False
            stack.append(item[1])
            stack.extend(item[2])
            for key, argument in item[3].items():
                if type(key) is not str:
                    return False
                stack.append(argument)
        elif tag == "attr":
            if size != 3 or type(item[2]) is not str:
                return False
            stack.append(item[1])
        elif tag == "list":
            if size != 2 or type(item[1]) is not list:
                return False
            stack.extend(item[1])
        elif tag == "sub":
            if size != 2:
                return False
            stack.append(item[1])
        else:
            return False
    return True


def _strings(value: object) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


def _string_map(value: object) -> bool:
    return type(value) is dict and all(type(item) is str for item in value.values())


def _encoded_map(value: object) -> bool:
    return type(value) is dict and all(_valid_encoded(item) for item in value.values())


def _valid_method(value: object) -> bool:
    if type(value) is not dict:
        return False
    if "returns" in value:
        returns = value["returns"]
        return len(value) == 1 and type(returns) is list and all(_valid_encoded(r) for r in returns)
    if "loader" in value:
        return len(value) == 1 and _valid_loader(value["loader"])
    if "self_reads" in value:
        reads = value["self_reads"]
        query = value.get("self_query", "")
        return (
            len(value) == 1 + ("self_query" in value)
            and query in ("", "memo", "query")
            and type(reads) is list
            and all(_strings(chain) for chain in reads)
        )
    reads = value.get("reads")
    return (
        len(value) == 2
        and type(reads) is list
        and all(_strings(chain) for chain in reads)
        and type(value.get("opaque")) is bool
    )


def _valid_view(value: object) -> bool:
    if type(value) is not dict or not set(value) <= {"defs", "calls", "template"}:
        return False
    template = value.get("template", {})
    if type(template) is not dict or not all(
        item is True if key == "computed" else item is None or type(item) is str
        for key, item in template.items()
    ):
        return False
    if not set(template) <= {"computed", *TEMPLATE_ATTRS}:
        return False
    defs = value.get("defs", {})
    if type(defs) is not dict or not _encoded_map(value.get("calls", {})):
        return False
    return all(
        item in ("own", "super", "renders")
        if name not in ("get_queryset", "get_serializer_class")
        else type(item) is list and all(_valid_encoded(e) for e in item)
        for name, item in defs.items()
    )


def _valid_loader(value: object) -> bool:
    """A serializer's queryset loader (``extract.loader_facts``)."""
    if type(value) is not dict or set(value) != {
        "lookups",
        "bare",
        "supers",
        "others",
        "annotations",
        "unknown",
        "opaque",
    }:
        return False
    lookups, others = value["lookups"], value["others"]
    return (
        type(lookups) is list
        and all(_strings(item) and len(item) == 2 for item in lookups)
        and type(others) is list
        and all(_strings(item) and len(item) == 3 for item in others)
        and _strings(value["supers"])
        and _strings(value["annotations"])
        and _strings(value["unknown"])
        and type(value["bare"]) is bool
        and type(value["opaque"]) is bool
    )


def _valid_class(value: object) -> bool:
    if type(value) is not dict:
        return False
    if (
        type(value.get("name")) is not str
        or type(value.get("line")) is not int
        or not _strings(value.get("bases"))
        or not _encoded_map(value.get("calls"))
    ):
        return False
    for key, item in value.items():
        if key in ("name", "line", "bases", "calls"):
            continue
        if key == "refs":
            ok = _string_map(item)
        elif key == "methods":
            ok = type(item) is dict and all(_valid_method(m) for m in item.values())
        elif key == "meta":
            ok = _encoded_map(item)
        elif key in ("inlines", "defs"):
            ok = _strings(item)
        elif key == "view":
            ok = _valid_view(item)
        else:
            ok = False
        if not ok:
            return False
    return True


def valid_facts(facts: object) -> bool:
    """Whether ``facts`` has exactly the shape :func:`source_facts` gives (names, types,
    nesting), so that a damaged or hand-made cache entry cannot make the rules fail."""
    if type(facts) is not dict:
        return False
    if not _string_map(facts.get("imports")):
        return False
    classes = facts.get("classes")
    if type(classes) is not list or not all(_valid_class(c) for c in classes):
        return False
    for key, item in facts.items():
        if key in ("imports", "classes"):
            continue
        if key == "stars":
            ok = _strings(item)
        elif key == "aliases":
            ok = _encoded_map(item)
        elif key == "auth_user_model":
            ok = type(item) is str
        elif key == "functions":
            ok = type(item) is dict and all(_valid_summary(s) for s in item.values())
        elif key in ("inlines", "mcalls"):
            ok = _strings(item)
        elif key == "src":
            ok = type(item) is str and len(item) == 32
        elif key == "prefetches":
            ok = type(item) is list and all(_strings(p) and len(p) >= 2 for p in item)
        else:
            ok = False
        if not ok:
            return False
    return True


def _valid_summary(value: object) -> bool:
    """A function summary (:mod:`flake8_djguide.index.functions`)."""
    if type(value) is not dict or not _strings(value.get("p")):
        return False
    size = len(value["p"])
    for key, item in value.items():
        if key in ("r", "rows"):
            ok = (
                type(item) is list
                and len(item) == size
                and all(type(c) is list and all(_strings(x) for x in c) for c in item)
            )
        elif key == "q":
            ok = _strings(item) and len(item) == 2
        elif key == "ret":
            ok = type(item) is list and all(_valid_encoded(e) for e in item)
        elif key == "pass":
            ok = type(item) is int and 0 <= item < size
        elif key == "own":
            ok = _strings(item) and len(item) == 2 and bool(item[0])
        elif key == "opt":
            ok = _strings(item) and bool(item)
        elif key == "d":
            ok = type(item) is int and 0 < item <= size
        elif key == "via":
            ok = (
                type(item) is list
                and len(item) == 2
                and type(item[0]) is str
                and type(item[1]) is list
                and all(
                    type(p) is list
                    and len(p) == 2
                    and all(type(x) is int and x >= 0 for x in p)
                    and p[0] < size
                    for p in item[1]
                )
            )
        else:
            ok = key == "p" or (key in ("prop", "cm") and type(item) is int and item == 1)
        if not ok:
            return False
    return True


def _share_strings(facts: dict[str, Any], strings: dict[str, str]) -> None:
    """Make equal import origins and base class names one object, in place.

    ``json`` shares equal keys but not equal values: the same dotted names
    (``django.db.models.Model``) recur in many modules' imports and bases (on
    Django and DRF, 5,609 import origins of which 2,171 differ). Only these two
    are walked: a walk of every fact cost more time than the rest of the load.
    """
    imports = facts.get("imports")
    if type(imports) is dict:
        for name, origin in imports.items():
            if type(origin) is str:
                imports[name] = strings.setdefault(origin, origin)
    for cls in facts.get("classes") or ():
        bases = cls.get("bases") if type(cls) is dict else None
        if type(bases) is list:
            bases[:] = [strings.setdefault(b, b) if type(b) is str else b for b in bases]


def _ignore_in_git(directory: Path) -> None:
    """Write ``directory/.gitignore`` holding ``*`` (the cache is never committed), unless
    one is there already. Only for a directory the cache made or ``.djguide_cache``: a
    configured directory that existed before is left alone."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        handle = os.open(directory / ".gitignore", flags, 0o644)
    except OSError:  # there already, or not writable: the cache works without it
        return
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write("# flake8-djguide's model index cache: never committed\n*\n")


def scan(root: Path, cache_dir: Path | None, limit: int = 50000, share: bool = True) -> ScanResult:
    """The facts of every module under ``root``, reusing and refreshing the cache (with
    equal strings of the cached facts made one object, unless ``share`` is false)."""
    cache_file = cache_file_for(root, cache_dir)
    cached, trusted = _load(cache_file, root, share)
    listing, truncated = python_files(root, limit)
    result = ScanResult(root, {}, cache_file=cache_file, truncated=truncated)
    result.listing = hash(frozenset(listing))  # as listing_signature()
    entries: dict[str, list[Any]] = {}
    # a valid file without this user's MAC is written again with it: the next run trusts it
    changed = len(cached) != len(listing) or (not trusted and cache_secret() is not None)
    collecting = gc.isenabled()
    gc.disable()  # parsing allocates many short-lived trees; collections only slow it down
    try:
        changed = _refresh(root, listing, cached, entries, result) or changed
    finally:
        if collecting:
            gc.enable()
    if changed:
        error = write_cache(cache_file, root, FORMAT, entries)
        if error is None:
            result.written = True
        else:
            result.errors.append(error)
    return result


def _refresh(
    root: Path,
    listing: list[tuple[str, int, int]],
    cached: dict[str, list[Any]],
    entries: dict[str, list[Any]],
    result: ScanResult,
) -> bool:
    """Reuse valid cache entries, parse the other files; whether anything changed."""
    changed = False
    for rel, mtime, size in listing:
        entry = cached.get(rel)
        if entry is not None and entry[0] == mtime and entry[1] == size:
            facts = entry[2]
            result.reused += 1
        else:
            try:
                data = (root / rel).read_bytes()
            except OSError:
                continue
            facts = source_facts(data, rel.endswith("__init__.py"))
            result.parsed += 1
            changed = True
        entries[rel] = [mtime, size, facts]
        result.files[rel] = facts
    return changed
