"""A project's templates: its template directories, each template's facts, cached.

The directories are those Django's default loaders search: ``TEMPLATES[...]["DIRS"]``
of the settings modules when it is a literal (``BASE_DIR / "templates"``,
``os.path.join(BASE_DIR, "templates")``, ``BASE_DIR.joinpath(...)``, names of the
same module such as ``BASE_DIR = Path(__file__).resolve().parent.parent``), then the
``templates/`` folder of every package of the project (the app directories loader).
A directory ``templates/`` beside ``manage.py`` or at the project root counts as
configured too (it is the conventional ``DIRS`` entry).

Facts (see :mod:`.parse`) are cached in the index's cache directory as JSON keyed by
each template's path, modification time and size, in their own cache file beside the
model index's; nothing is executed or imported. Each template's facts are cached as their
own JSON text, decoded and checked only when a view's template needs them (a run looks
up a few dozen of a project's hundreds of templates).
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flake8_djguide.templates.parse import template_facts

#: Suffixes of the files read as templates.
TEMPLATE_SUFFIXES = (".html", ".htm", ".txt", ".xml", ".djhtml", ".tpl")
#: A template larger than this is not read.
MAX_TEMPLATE_BYTES = 1024 * 1024
MAX_TEMPLATES = 20000
FORMAT = 3


@dataclass
class Templates:
    """The templates of a project: by the name views use (``blog/post_list.html``)."""

    #: name -> (path relative to the project root, facts, or their JSON text from the
    #: cache until :meth:`find` decodes it); ``None`` for a name that two app directories
    #: hold (which one Django renders depends on INSTALLED_APPS' order)
    by_name: dict[str, tuple[str, dict[str, Any] | str] | None] = field(default_factory=dict)
    parsed: int = 0
    reused: int = 0
    broken: int = 0
    #: the directories read, and :func:`signature` of their files when read
    dirs: list[str] = field(default_factory=list)
    listing: int = 0
    #: the project root the paths are relative to
    root: str = ""

    def find(self, name: str) -> tuple[str, dict[str, Any]] | None:
        """The template Django loads for ``name``, when the analysis can tell."""
        found = self.by_name.get(name)
        if found is None:
            return None
        rel, facts = found
        if type(facts) is not str:
            return rel, facts  # type: ignore[return-value]
        decoded = _decoded(facts)
        if decoded is None:  # a damaged cache entry: the template is read again
            decoded = _read_facts(os.path.join(self.root, rel))
        value = (rel, decoded) if decoded is not None else None
        self.by_name[name] = value
        return value


def _decoded(text: str) -> dict[str, Any] | None:
    """Cached facts from their JSON text, when they have the shape :func:`template_facts`
    gives."""
    try:
        facts = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return facts if valid_template_facts(facts) else None


def _read_facts(path: str) -> dict[str, Any] | None:
    """The facts of the template file ``path``; ``None`` when it cannot be read or parsed."""
    try:
        if os.path.getsize(path) > MAX_TEMPLATE_BYTES:
            return None
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return _text_facts(text)


def _text_facts(text: str) -> dict[str, Any] | None:
    """:func:`template_facts` of a template's text (none to look for without a ``{``)."""
    return template_facts(text) if "{" in text else {"e": None, "b": []}


def _settings_files(root: Path, py_files: list[str]) -> list[str]:
    found = []
    for rel in py_files:
        parts = rel.split("/")
        base = parts[-1]
        if (
            base == "settings.py"
            or (len(parts) > 1 and parts[-2] == "settings")
            or (base.startswith("settings") and base.endswith(".py"))
        ):
            found.append(rel)
    return found[:50]


class _PathValues:
    """Evaluates the path expressions of a settings module (a few shapes only)."""

    def __init__(self, filename: str, tree: ast.Module) -> None:
        self.filename = filename
        self.names: dict[str, ast.expr] = {}
        for statement in tree.body:
            if (
                isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
            ):
                self.names[statement.targets[0].id] = statement.value
            elif (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and statement.value is not None
            ):
                self.names[statement.target.id] = statement.value
        self.depth = 0

    def value(self, node: ast.expr) -> str | None:
        self.depth += 1
        try:
            if self.depth > 30:
                return None
            return self._value(node)
        finally:
            self.depth -= 1

    def _value(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            if node.id == "__file__":
                return self.filename
            found = self.names.get(node.id)
            return self.value(found) if found is not None else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left, right = self.value(node.left), self.value(node.right)
            return os.path.join(left, right) if left is not None and right is not None else None
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            inner = self.value(node.value)
            return os.path.dirname(inner) if inner is not None else None
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "parents"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, int)
        ):
            inner = self.value(node.value.value)
            if inner is None:
                return None
            for _ in range(node.slice.value + 1):
                inner = os.path.dirname(inner)
            return inner
        if isinstance(node, ast.Call):
            return self._call(node)
        return None

    def _call(self, node: ast.Call) -> str | None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        args = node.args
        if name in ("abspath", "realpath", "normpath", "expanduser") and len(args) == 1:
            return self.value(args[0])  # os.path.abspath(x)
        if name in ("resolve", "absolute", "expanduser") and isinstance(func, ast.Attribute):
            return self.value(func.value)  # Path(x).resolve()
        if name == "dirname" and len(args) == 1:
            inner = self.value(args[0])
            return os.path.dirname(inner) if inner is not None else None
        if name in ("join", "joinpath", "Path", "PurePath", "str", "fspath"):
            parts = list(args)
            if name == "joinpath" and isinstance(func, ast.Attribute):
                parts = [func.value, *parts]
            if name == "join" and isinstance(func, ast.Attribute):
                owner = func.value
                if isinstance(owner, ast.Constant):
                    return None  # "".join(...)
            values = [self.value(p) for p in parts]
            if not values or any(v is None for v in values):
                return None
            return os.path.join(*[v for v in values if v is not None])
        return None


#: The key of the templates' cache entry holding :func:`configured_dirs` (no template path
#: holds a NUL): ``[0, 0, JSON text of {"files": [[rel, mtime_ns, size], ...], "dirs": [...]}]``.
SETTINGS_KEY = "\0settings"


def _settings_listing(root: Path, py_files: list[str]) -> list[list[Any]]:
    listing: list[list[Any]] = []
    for rel in _settings_files(root, py_files):
        try:
            info = os.stat(os.path.join(root, rel))
        except OSError:
            continue
        listing.append([rel, info.st_mtime_ns, info.st_size])
    return listing


def _cached_dirs(
    root: Path, py_files: list[str], cached: dict[str, list[Any]]
) -> tuple[list[str], list[Any]]:
    """:func:`configured_dirs`, reused from the cache while no settings module changed, and
    the cache entry to keep (:data:`SETTINGS_KEY`)."""
    listing = _settings_listing(root, py_files)
    entry = cached.get(SETTINGS_KEY)
    if entry is not None and type(entry[2]) is str:
        try:
            data = json.loads(entry[2])
        except (ValueError, RecursionError):
            data = None
        if (
            type(data) is dict
            and data.get("files") == listing
            and type(data.get("dirs")) is list
            and all(type(d) is str for d in data["dirs"])
        ):
            return data["dirs"], entry
    dirs = configured_dirs(root, py_files)
    text = json.dumps({"files": listing, "dirs": dirs}, separators=(",", ":"))
    return dirs, [0, 0, text]


def configured_dirs(root: Path, py_files: list[str]) -> list[str]:
    """``TEMPLATES[...]["DIRS"]`` of the project's settings modules, where literal."""
    found: list[str] = []
    for rel in _settings_files(root, py_files):
        path = root / rel
        try:
            if path.stat().st_size > MAX_TEMPLATE_BYTES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "TEMPLATES" not in text or "DIRS" not in text:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        values = _PathValues(str(path), tree)
        settings = [
            statement.value
            for statement in tree.body
            if isinstance(statement, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "TEMPLATES" for t in statement.targets)
        ]
        for node in (sub for value in settings for sub in ast.walk(value)):
            if not isinstance(node, ast.Dict):
                continue
            for key, value in zip(node.keys, node.values):
                if not (isinstance(key, ast.Constant) and key.value == "DIRS"):
                    continue
                if not isinstance(value, (ast.List, ast.Tuple)):
                    continue
                for element in value.elts:
                    directory = values.value(element)
                    if directory is not None:
                        directory = os.path.normpath(os.path.join(str(root), directory))
                        if directory not in found:
                            found.append(directory)
    return found


def template_dirs(
    root: Path, py_files: list[str], configured: list[str]
) -> tuple[list[str], list[str]]:
    """(configured directories, app directories) holding templates, absolute; ``configured``
    is :func:`configured_dirs` (from the cache: :func:`_cached_dirs`)."""
    configured = [d for d in configured if os.path.isdir(d)]
    for rel in (
        "templates",
        *{
            f.rpartition("/")[0] + "/templates"
            for f in py_files
            if f.endswith("manage.py") and "/" in f
        },
    ):
        candidate = os.path.normpath(os.path.join(str(root), rel))
        if os.path.isdir(candidate) and candidate not in configured:
            configured.append(candidate)
    packages = sorted({f.rpartition("/")[0] for f in py_files if f.endswith("/__init__.py")})
    apps: list[str] = []
    for package in packages:
        candidate = os.path.join(str(root), package, "templates")
        if candidate not in configured and os.path.isdir(candidate):
            apps.append(candidate)
    return configured, apps


def _files(directory: str, limit: int) -> list[tuple[str, int, int]]:
    """``(path relative to the directory, mtime_ns, size)`` of its template files."""
    found: list[tuple[str, int, int]] = []
    stack = [""]
    while stack and len(found) < limit:
        relative = stack.pop()
        current = os.path.join(directory, relative) if relative else directory
        try:
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            rel = f"{relative}/{name}" if relative else name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not name.startswith("."):
                        stack.append(rel)
                elif name.endswith(TEMPLATE_SUFFIXES) and entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    found.append((rel, info.st_mtime_ns, info.st_size))
            except OSError:
                continue
    return found


def signature(directories: list[str]) -> int:
    """A hash of the template files' paths, modification times and sizes (the check server
    reads the templates again when it changes)."""
    return hash(
        frozenset(
            (directory, *entry)
            for directory in directories
            for entry in _files(directory, MAX_TEMPLATES)
        )
    )


def changed(templates: Templates) -> bool:
    """Whether a template was added, removed or changed since ``templates`` was read."""
    return signature(templates.dirs) != templates.listing


def _valid_nodes(nodes: object, depth: int = 0) -> bool:
    if type(nodes) is not list or depth > 200:
        return False
    for node in nodes:
        if type(node) is not list or not node or type(node[0]) is not str:
            return False
        tag = node[0]
        if tag in ("r", "v", "a"):
            ok = len(node) == 3 and type(node[1]) is int and type(node[2]) is str
        elif tag == "f":
            ok = (
                len(node) == 6
                and type(node[1]) is int
                and type(node[2]) is list
                and all(type(t) is str for t in node[2])
                and type(node[3]) is str
                and _valid_nodes(node[4], depth + 1)
                and _valid_nodes(node[5], depth + 1)
            )
        elif tag == "w":
            ok = (
                len(node) == 4
                and type(node[1]) is int
                and _valid_pairs(node[2])
                and _valid_nodes(node[3], depth + 1)
            )
        elif tag == "i":
            ok = (
                len(node) == 5
                and type(node[1]) is int
                and (node[2] is None or type(node[2]) is str)
                and _valid_pairs(node[3])
                and type(node[4]) is bool
            )
        elif tag == "b":
            ok = len(node) == 3 and type(node[1]) is str and _valid_nodes(node[2], depth + 1)
        else:
            ok = False
        if not ok:
            return False
    return True


def _valid_pairs(pairs: object) -> bool:
    return type(pairs) is list and all(
        type(p) is list and len(p) == 2 and all(type(x) is str for x in p) for p in pairs
    )


def valid_template_facts(facts: object) -> bool:
    """Whether cached facts have exactly the shape :func:`template_facts` gives."""
    return (
        type(facts) is dict
        and set(facts) == {"e", "b"}
        and (facts["e"] is None or type(facts["e"]) is str)
        and _valid_nodes(facts["b"])
    )


def cache_file_for(root: Path, cache_dir: Path | None) -> Path:
    """The template cache file of ``root``, beside the model index's."""
    from flake8_djguide.index.store import cache_file_for as index_file

    path = index_file(root, cache_dir)
    return path.with_name(path.name.replace("model-index-", "templates-", 1))


def _load(path: Path, root: Path) -> dict[str, list[Any]]:
    """The cached entries ``[mtime, size, facts JSON text or None]`` of ``path``."""
    from flake8_djguide.index.store import cached_entry, cached_files

    # each entry's facts are checked when a view needs them (``Templates.find``): the MAC
    # would spare nothing
    return {
        rel: entry
        for rel, entry in cached_files(path, root, FORMAT, verify=False)[0].items()
        if cached_entry(entry) and (entry[2] is None or type(entry[2]) is str)
    }


def load_templates(root: Path, cache_dir: Path | None, py_files: list[str]) -> Templates:
    """Every template of the project (facts reused from the cache when the file's
    modification time and size are unchanged), by the name views use."""
    cache_file = cache_file_for(root, cache_dir) if cache_dir is not None else None
    cached = _load(cache_file, root) if cache_file is not None else {}
    settings_dirs, settings_entry = _cached_dirs(root, py_files, cached)
    configured, apps = template_dirs(root, py_files, settings_dirs)
    entries: dict[str, list[Any]] = {SETTINGS_KEY: settings_entry}
    changed = settings_entry is not cached.get(SETTINGS_KEY)
    result = Templates(root=str(root))
    found: dict[str, tuple[str, dict[str, Any] | str] | None] = {}
    budget = MAX_TEMPLATES
    listed: set[tuple[str, str, int, int]] = set()
    for group, directories in (("dirs", configured), ("apps", apps)):
        seen_in_group: dict[str, tuple[str, dict[str, Any] | str] | None] = {}
        for directory in directories:
            listing = _files(directory, budget)
            budget -= len(listing)
            listed.update((directory, *entry) for entry in listing)
            try:  # once per directory: os.path.relpath() per template cost 2 ms on 463
                prefix = os.path.relpath(directory, root).replace(os.sep, "/") + "/"
            except ValueError:  # another drive
                prefix = directory.replace(os.sep, "/") + "/"
            if prefix == "./":
                prefix = ""
            for name, mtime, size in listing:
                full = os.path.join(directory, name)
                rel = prefix + name
                entry = cached.get(rel)
                facts: dict[str, Any] | str | None
                if entry is not None and entry[0] == mtime and entry[1] == size:
                    facts = entry[2]  # its JSON text, decoded when a view needs it
                    cached_text = facts
                    result.reused += 1
                else:
                    facts = None
                    if size <= MAX_TEMPLATE_BYTES:
                        try:
                            text = Path(full).read_text(encoding="utf-8", errors="replace")
                        except OSError:
                            continue
                        facts = _text_facts(text)
                    cached_text = (
                        None if facts is None else json.dumps(facts, separators=(",", ":"))
                    )
                    result.parsed += 1
                    changed = True
                if facts is None:
                    result.broken += 1
                entries[rel] = [mtime, size, cached_text]
                value = (rel, facts) if facts is not None else None
                if name in found:
                    continue  # an earlier directory of DIRS (or DIRS before the apps) wins
                if group == "apps" and name in seen_in_group:
                    seen_in_group[name] = None  # two apps: which one depends on their order
                    continue
                if group == "apps":
                    seen_in_group[name] = value
                else:
                    found[name] = value
            if budget <= 0:
                break
        for name, value in seen_in_group.items():
            found.setdefault(name, value)
    result.by_name = found
    result.dirs = [*configured, *apps]
    result.listing = hash(frozenset(listed))
    if cache_file is not None and (changed or len(entries) != len(cached)):
        from flake8_djguide.index.store import write_cache

        write_cache(cache_file, root, FORMAT, entries)
    return result
