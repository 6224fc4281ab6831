"""The project model index: models, relations, managers and serializers of a project.

Built from the project's own source with ``ast`` (never by importing it), once
per process, and cached on disk as JSON keyed by each file's path, mtime and
size (see :mod:`flake8_djguide.index.store`). ``get_index`` is what the rules
call; the plugin calls :func:`prebuild` in ``parse_options`` so that flake8's
worker processes inherit a built index instead of each building one.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flake8_djguide import config
from flake8_djguide.config import Option, define
from flake8_djguide.index.extract import module_facts, text_digest
from flake8_djguide.index.project import Index, link
from flake8_djguide.index.store import CACHE_DIR_NAME, ScanResult, listing_signature, scan

if TYPE_CHECKING:
    from flake8_djguide.context import FileContext
    from flake8_djguide.templates.loader import Templates

define(
    Option(
        "cache-dir",
        str,
        "",
        "Directory of the model index cache (JSON). Default: .djguide_cache/ in the repository "
        "root (the nearest directory holding pyproject.toml, setup.cfg or .git, from the "
        "project root up); relative paths are taken from there. When it cannot be written, "
        "the index is kept in memory only.",
    )
)
define(
    Option(
        "index-max-files",
        int,
        50000,
        "The model index reads at most this many .py files of a project; past it the index is "
        "partial.",
    )
)

_LOCK = threading.Lock()
_MEMO: dict[tuple[str, str, int, tuple[str, ...]], ProjectIndex] = {}
_NO_MODULE = "__djguide_checked__"


class ProjectIndex:
    """A linked index plus what :func:`get_index` needs to put a checked file's facts in it.

    :meth:`digest` tells, for each module, whether a checked file's facts are the
    indexed ones (a hash of their JSON text: a changed file gets its own link).
    A compacted index holds every module's digest (``digests``); an index kept
    whole computes a module's from its facts (``raw``) when a file of it is
    checked, so that a run on one file hashes one module, not the project's.
    Linking again needs every module's facts: they are kept (``modules``) or,
    for a compacted index, read again from the cache with ``reload``.
    """

    def __init__(
        self,
        index: Index,
        digests: dict[str, int],
        scan: ScanResult | None,
        modules: dict[str, dict[str, Any]] | None = None,
        reload: Callable[[], dict[str, dict[str, Any]]] | None = None,
        raw: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.index = index
        self.digests = digests
        self.scan = scan
        self._modules = modules
        self._reload = reload
        self._raw = raw
        self._templates: Templates | None = None
        #: reads the project's templates when they are first asked for (see :attr:`templates`)
        self.read_templates: Callable[[], Templates] | None = None
        #: module -> :func:`~flake8_djguide.index.extract.source_digest` of the text its
        #: facts were extracted from, for the modules whose facts are all of the text's
        self.sources: dict[str, str] = {}

    @property
    def templates(self) -> Templates | None:
        """The project's templates (:mod:`flake8_djguide.templates.loader`): read with the
        index built before flake8 forks (its workers share them), else when a view first
        needs them, so that a run on one file that renders none does not list them."""
        if self._templates is None and self.read_templates is not None:
            with _LOCK:
                if self._templates is None and self.read_templates is not None:
                    self._templates = self.read_templates()
                    self.read_templates = None
        return self._templates

    @templates.setter
    def templates(self, value: Templates | None) -> None:
        self._templates = value
        self.read_templates = None

    def loaded_templates(self) -> Templates | None:
        """The templates when they were read, without reading them (an index that never read
        them has none to check for changes: they are read as they are when first asked for)."""
        return self._templates

    def same_source(self, module: str, text: str | None) -> bool:
        """Whether ``text`` is the text ``module``'s indexed facts were extracted from (a
        checked file that did not change since: its facts are the indexed ones)."""
        indexed = self.sources.get(module)
        return indexed is not None and text is not None and text_digest(text) == indexed

    def digest(self, module: str) -> int | None:
        """The hash of ``module``'s indexed facts as :func:`facts_text` writes them."""
        found = self.digests.get(module)
        if found is None and self._raw is not None:
            facts = self._raw.get(module)
            if facts is not None:
                found = self.digests[module] = hash(facts_text(facts))
        return found

    def linkable(self) -> dict[str, dict[str, Any]]:
        """Every module's facts (with its package), as :func:`link` takes them."""
        if self._modules is None:
            self._modules = self._reload() if self._reload is not None else {}
        return dict(self._modules)


#: Facts only the index extracts (:func:`~flake8_djguide.index.extract.source_facts`): a
#: checked file's facts (:func:`~flake8_djguide.index.extract.module_facts`) have none.
INDEX_ONLY_FACTS = ("functions", "prefetches", "mcalls", "src")


def facts_text(facts: Mapping[str, Any]) -> str:
    """A module's facts as JSON text: equal for equal facts as extracted (keys in order).

    The facts only the index extracts (:data:`INDEX_ONLY_FACTS`) are left out, so that
    an unchanged checked file matches its module in the index (and gets the project's
    index, not a new link of every module's facts read again from the cache)."""
    if any(key in facts for key in INDEX_ONLY_FACTS):
        facts = {k: v for k, v in facts.items() if k not in INDEX_ONLY_FACTS}
    return json.dumps(facts, separators=(",", ":"))


def _module_name(rel: str, root: Path, source_roots: tuple[str, ...]) -> str:
    """The module name of the ``.py`` file ``rel`` (relative to ``root``, ``/``-separated)."""
    from flake8_djguide.context import resolve_module_name

    name = resolve_module_name(os.path.join(root, rel), root, source_roots)
    if name:
        return name
    parts = [p for p in rel[:-3].split("/") if p != "__init__"]
    return ".".join(parts) or rel.rpartition("/")[2][:-3]


def _with_package(module: str, facts: dict[str, Any], is_init: bool) -> dict[str, Any]:
    return {**facts, "package": module if is_init else module.rpartition(".")[0]}


#: Files that mark a repository root, where the cache lives (``manage.py`` is not one: a
#: project whose ``manage.py`` is in ``src/`` keeps one cache at the repository root).
REPOSITORY_MARKERS = ("pyproject.toml", "setup.cfg", ".git")


def repository_root(root: Path) -> Path:
    """The nearest of ``root`` and its ancestors holding ``pyproject.toml``, ``setup.cfg`` or
    ``.git``; ``root`` itself when none does."""
    for candidate in (root, *root.parents):
        if any(os.path.exists(os.path.join(candidate, name)) for name in REPOSITORY_MARKERS):
            return candidate
    return root


def cache_dir_for(root: Path, configured: str) -> Path:
    """The cache directory of the project at ``root``: the option, else ``.djguide_cache``
    in its repository root (:func:`repository_root`), to which a relative option is
    relative too. Every project root of one repository shares it (each has its own
    cache file in it)."""
    base = repository_root(root)
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() else base / path
    return base / CACHE_DIR_NAME


def _collect(
    root: Path,
    cache_dir: Path | None,
    source_roots: tuple[str, ...],
    limit: int,
    share: bool = True,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], ScanResult]:
    """Scan ``root`` (refreshing the cache): each module's facts with and without its package."""
    result = scan(root, cache_dir, limit, share)
    modules: dict[str, dict[str, Any]] = {}
    raw: dict[str, dict[str, Any]] = {}
    for rel, facts in result.files.items():
        module = _module_name(rel, root, source_roots)
        if module in modules:
            continue
        is_init = rel == "__init__.py" or rel.endswith("/__init__.py")
        modules[module] = _with_package(module, facts, is_init)
        raw[module] = facts
    return modules, raw, result


def build(
    root: Path,
    cache_dir: Path | None,
    source_roots: tuple[str, ...] = ("src",),
    limit: int = 50000,
    compact: bool = False,
) -> ProjectIndex:
    """Scan ``root`` (refreshing the cache) and link its modules.

    ``compact`` keeps only what the rules look up (:meth:`Index.compact`): for
    the index built before flake8 forks its workers, which each hold a copy.
    """
    from flake8_djguide.templates.loader import load_templates

    # equal strings made one object: for the index workers share, or a process keeps
    # (the check server); a run on one file exits when done
    share = compact or not _FREEZE_BUILT[0]
    modules, raw, result = _collect(root, cache_dir, source_roots, limit, share)
    index = link(modules.items())
    py_files = list(result.files)
    sources = {module: facts["src"] for module, facts in raw.items() if "src" in facts}
    if not compact:
        project = ProjectIndex(index, {}, result, modules=modules, raw=raw)
        project.read_templates = lambda: load_templates(root, cache_dir, py_files)
        project.sources = sources
        return project
    templates = load_templates(root, cache_dir, py_files)
    digests = {module: hash(facts_text(facts)) for module, facts in raw.items()}
    index.compact()
    result.files = {}
    del modules, raw

    def reload() -> dict[str, dict[str, Any]]:
        return _collect(root, cache_dir, source_roots, limit)[0]

    project = ProjectIndex(index, digests, result, reload=reload)
    project.templates = templates
    project.sources = sources
    return project


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection while the index is built or loaded: it allocates tens of
    thousands of objects that all live on (no garbage), which the collections its
    allocations trigger would only traverse again and again."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def project_index(settings: config.Settings, root: Path, compact: bool = False) -> ProjectIndex:
    """The index of ``root``, built once per process (and per option set)."""
    configured = settings.get("cache-dir")
    limit = settings.get("index-max-files") or 50000
    source_roots = settings.list("source-roots")
    key = (str(root), configured, limit, source_roots)
    found = _MEMO.get(key)
    if found is not None and key in _UNVERIFIED:
        _UNVERIFIED.discard(key)
        if _changed(found, root, limit):
            del _MEMO[key]
            _OVERLAYS.clear()  # keyed by id(): a new index may reuse a dropped one's
            found = None
    if found is not None:
        return found
    with _LOCK:
        found = _MEMO.get(key)
        if found is None:
            with _collector_paused():
                found = build(root, cache_dir_for(root, configured), source_roots, limit, compact)
                if _FREEZE_BUILT[0]:
                    # out of the collector's view: the young collection after the load
                    # would traverse every object of it (14 ms on pretix, a run on one file)
                    gc.freeze()
            _MEMO[key] = found
            _warn_truncated(found, root, limit)
    return found


#: Whether an index built here lives as long as the process (a flake8 run); the check
#: server, which drops an index when the project changes, clears it (:func:`keep_collecting`).
_FREEZE_BUILT = [True]


def keep_collecting() -> None:
    """Leave the indexes built from now on to the garbage collector: for a process that
    drops them again (a frozen object in a reference cycle is never freed)."""
    _FREEZE_BUILT[0] = False


#: Project roots whose partial index was reported (once per process, hence per run).
_TRUNCATED_REPORTED: set[str] = set()


def _warn_truncated(project: ProjectIndex, root: Path, limit: int) -> None:
    """Say once that the index stops at ``index-max-files``: ORM findings may be missing."""
    if project.scan is None or not project.scan.truncated or str(root) in _TRUNCATED_REPORTED:
        return
    _TRUNCATED_REPORTED.add(str(root))
    sys.stderr.write(
        f"flake8-djguide: warning: the model index of {root} stops at {limit} .py files "
        "(option 'index-max-files'), so DJG201-DJG203 may miss models; raise the option "
        "to index them all\n"
    )


def forget_changed() -> None:
    """Have each index checked against its project's files when next used.

    For the check server, which lives across flake8 runs: an index is rebuilt
    when a file was added, removed or changed since it was built. The check
    (a listing of the project) waits until a file needs the index, so a file
    that no ORM rule looks at costs nothing. A flake8 process checks a snapshot
    and keeps its index.
    """
    _UNVERIFIED.update(_MEMO)


def _changed(project: ProjectIndex, root: Path, limit: int) -> bool:
    if project.scan is None:
        return True
    if listing_signature(root, limit) != project.scan.listing:
        return True
    loaded = project.loaded_templates()
    if loaded is not None:
        from flake8_djguide.templates.loader import changed

        return changed(loaded)
    return False


#: Memo keys whose index :func:`forget_changed` asked to check before its next use.
_UNVERIFIED: set[tuple[str, str, int, tuple[str, ...]]] = set()


def clear_memo() -> None:
    """Forget the indexes built in this process (tests)."""
    _MEMO.clear()
    _UNVERIFIED.clear()
    _OVERLAYS.clear()


_OVERLAYS: dict[tuple[int, str, str], Index] = {}


class FileIndex:
    """The index as seen from one checked file: its module name and name look-ups."""

    def __init__(self, index: Index, module: str, in_project: bool) -> None:
        self.index = index
        self.module = module
        self.in_project = in_project


def get_index(ctx: FileContext) -> FileIndex:
    """The index for the checked file: the project's, with this file's current classes.

    Without a project (a lone file on stdin) the index holds only this file's
    classes, so the rules fall back to the relations defined in the same file.
    """
    cached = ctx.__dict__.get("_djguide_index")
    if isinstance(cached, FileIndex):
        return cached
    tree = getattr(ctx, "tree", None)
    import ast

    parsed = isinstance(tree, ast.Module)
    root = ctx.project_root
    result: FileIndex
    module = ctx.module_name or _NO_MODULE
    is_init = ctx.basename == "__init__.py"
    inside = root is not None and root.is_dir() and _inside(ctx.filename, root)
    project = project_index(ctx.settings, root) if inside and root is not None else None
    if project is not None and parsed and project.same_source(module, _source_of(ctx)):
        # the file as indexed: its facts are the indexed ones (none extracted again)
        ctx.__dict__["_djguide_index"] = result = FileIndex(project.index, module, True)
        return result
    facts = module_facts(tree) if isinstance(tree, ast.Module) else {"imports": {}, "classes": []}
    if project is not None:
        text = facts_text(facts)
        if project.digest(module) == hash(text):
            result = FileIndex(project.index, module, True)
        else:
            key = (id(project), module, text)
            index = _OVERLAYS.get(key)
            if index is None:
                index = _light_overlay(project.index, module, _with_package(module, facts, is_init))
            if index is None:
                modules = project.linkable()
                modules[module] = _with_package(module, facts, is_init)
                index = link(modules.items())
                if len(_OVERLAYS) > 32:
                    _OVERLAYS.clear()
                _OVERLAYS[key] = index
            result = FileIndex(index, module, True)
    else:
        index = link([(module, _with_package(module, facts, is_init))])
        result = FileIndex(index, module, False)
    ctx.__dict__["_djguide_index"] = result
    return result


def _source_of(ctx: FileContext) -> str | None:
    """The checked file's text, as the engine keeps it for the triggers."""
    source = ctx.__dict__.get("_djguide_source")
    return source if isinstance(source, str) else None


_LINKED_FACTS = ("aliases", "auth_user_model", "stars")


def _light_overlay(index: Index, module: str, facts: dict[str, Any]) -> Index | None:
    """``index`` with ``module``'s facts replaced, without linking the project again,
    when the module defines nothing the linking uses: no model, serializer, manager
    or queryset class (before or now), no ``get_user_model()`` alias,
    ``AUTH_USER_MODEL`` or star import. Its imports (which the rules read to resolve
    the file's names) are then the only change. ``None`` when a full link is needed.

    The common cases: a module without classes, which the index stores without its
    imports (:func:`~flake8_djguide.index.extract.needs_parse`), and a migration,
    which the index does not read.
    """
    old = index.modules.get(module, {})
    if any(facts.get(k) or old.get(k) for k in _LINKED_FACTS) or module in index.class_modules:
        return None
    if facts.get("inlines") or any(c.get("inlines") for c in facts.get("classes", ())):
        return None  # the admins' inlines lists are linked (Index.listed_inlines)
    clone = copy.copy(index)
    clone.modules = {**index.modules, module: facts}
    clone._imports = {k: v for k, v in index._imports.items() if k != module}
    classes = facts.get("classes", ())
    if classes:
        clone.classes = dict(index.classes)
        clone._kinds = dict(index._kinds)
        names = [f"{module}.{cls['name']}" for cls in classes]
        for name, cls in zip(names, classes):
            clone.classes[name] = (module, cls)
        if any(clone.kind(name) is not None for name in names):
            return None
    if facts.get("prefetches"):
        # what the module prefetches now (a lookup it no longer prefetches stays until the
        # project's index is built again: the other modules' facts are compacted away)
        clone.prefetched = clone.prefetched_with(module, facts["prefetches"])
    return clone


def _inside(filename: str, root: Path) -> bool:
    try:
        Path(os.path.abspath(filename)).relative_to(root)
    except ValueError:
        return False
    return True


def prebuild(paths: Iterable[str], overrides: Mapping[str, config.OptionValue]) -> None:
    """Build the index of every project holding one of ``paths`` (flake8's arguments).

    Called in the parent process before flake8 forks its workers, which then
    share the built index. Only when a directory or several files are checked:
    a single file (an editor on save) builds it lazily, if a rule needs it.
    """
    from flake8_djguide.context import find_project_root

    paths = list(paths)
    if not paths or (len(paths) == 1 and not os.path.isdir(paths[0])):
        return
    roots: dict[str, str] = {}
    for path in paths:
        probe = os.path.join(path, "__init__.py") if os.path.isdir(path) else path
        try:
            settings = config.resolve(probe, overrides)
        except config.ConfigError:
            continue
        configured = settings.get("project-root")
        root = Path(configured).resolve() if configured else find_project_root(probe)
        if root is not None and str(root) not in roots and root.is_dir():
            roots[str(root)] = probe
            project_index(settings, root, compact=True)
