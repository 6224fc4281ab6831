"""What is known about a file before any rule runs: its contexts and its imports.

Everything here is computed once per file, from the path flake8 reports (for
stdin, ``--stdin-display-name``) and from flake8's already-built ``ast`` tree.
Nothing here reads the checked file or imports the checked code.
"""

from __future__ import annotations

import ast
import functools
import importlib.machinery
import importlib.util
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from flake8_djguide.config import Settings
from flake8_djguide.helpers import glob_match

PROJECT_MARKERS = ("manage.py", "pyproject.toml", "setup.cfg", ".git")

#: Top-level packages of common Django libraries, known to be third-party even
#: when the checked code arrives on stdin and they are not installed here.
KNOWN_THIRD_PARTY = frozenset(
    [
        "django",
        "rest_framework",
        "allauth",
        "channels",
        "celery",
        "debug_toolbar",
        "oauth2_provider",
        "rest_framework_simplejwt",
        "drf_spectacular",
        "drf_yasg",
        "corsheaders",
        "storages",
        "graphene_django",
        "wagtail",
        "cms",
        "axes",
        "guardian",
        "social_django",
        "djoser",
        "dj_rest_auth",
        "knox",
        "import_export",
        "constance",
        "health_check",
        "silk",
        "sentry_sdk",
        "pytest_django",
        "environ",
        "decouple",
        "configurations",
        "split_settings",
        "django_filters",
        "mptt",
        "taggit",
        "haystack",
        "crispy_forms",
        "compressor",
        "anymail",
        "waffle",
        "reversion",
        "simple_history",
        "polymorphic",
        "parler",
        "modeltranslation",
        "ninja",
        "daphne",
        "asgiref",
    ]
)
_SPLIT = re.compile(r"[_.\-]")


def posix_path(filename: str) -> str:
    """The path as ``/``-separated text with a leading ``/`` (for pattern matching)."""
    path = filename.replace(os.sep, "/").replace("\\", "/")
    if not path.startswith("/"):
        path = "/" + path.lstrip("./") if path.startswith("./") else "/" + path
    return path


def context_path(filename: str, settings: Settings) -> str:
    """The path the context patterns match: below the project root when there is one.

    ``/blog/tests/test_views.py`` for ``/home/me/tests/shop/blog/tests/test_views.py``
    in the project ``/home/me/tests/shop``, so that the directories above the project
    (a ``tests`` directory holding checkouts, say) and the way flake8 was given the
    path (relative or absolute, from any working directory) change nothing. Without a
    project root around the file, the path as given (see :func:`posix_path`).
    """
    if filename in ("-", "stdin", ""):
        return posix_path(filename)
    configured = settings.get("project-root")
    root = os.path.abspath(configured) if configured else find_project_root(filename)
    if root is not None:
        try:
            relative = os.path.relpath(os.path.abspath(filename), str(root))
        except ValueError:  # another drive on Windows
            return posix_path(filename)
        if relative != ".." and not relative.startswith(".." + os.sep):
            return posix_path(relative)
    return posix_path(filename)


def matches(path: str, patterns: Sequence[str]) -> bool:
    """Whether ``path`` (see :func:`posix_path`) matches one of ``patterns``.

    A pattern without ``/`` matches the basename; a pattern with ``/`` matches
    the whole path, where ``*`` also matches ``/``.
    """
    basename = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        if "/" in pattern:
            if glob_match(path, pattern) or glob_match(path, "*/" + pattern):
                return True
        elif glob_match(basename, pattern):
            return True
    return False


class ModuleInfo:
    """Facts gathered from the file's ``ast`` tree in the engine's cheap pass."""

    def __init__(self) -> None:
        #: local name -> dotted origin, for every import in the file
        #: (``from django.conf import settings`` -> ``{"settings": "django.conf.settings"}``).
        self.imports: dict[str, str] = {}
        #: names bound at module level by def, class, assignment or import.
        self.top_level_names: set[str] = set()
        #: whether the module assigns ``SECRET_KEY`` at top level.
        self.assigns_secret_key = False

    def qualify(self, dotted: str) -> str:
        """Resolve the first component of ``dotted`` through the file's imports."""
        head, _, rest = dotted.partition(".")
        origin = self.imports.get(head)
        if origin is None:
            return dotted
        return f"{origin}.{rest}" if rest else origin

    @classmethod
    def from_tree(cls, tree: ast.AST | None) -> ModuleInfo:
        """Gather module-level facts (top-level statements only; imports anywhere)."""
        info = cls()
        if not isinstance(tree, ast.Module):
            return info
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                info.top_level_names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            info.top_level_names.add(name.id)
                            if name.id == "SECRET_KEY":
                                info.assigns_secret_key = True
        return info

    def add_import(self, node: ast.AST) -> None:
        """Record the names bound by an ``import`` / ``from ... import`` node."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.imports[alias.asname] = alias.name
                else:
                    head = alias.name.split(".", 1)[0]
                    self.imports[head] = head
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                if alias.name != "*":
                    self.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"


class FileContext:
    """Per-file facts shared by every rule: path contexts, settings, module info."""

    def __init__(
        self,
        filename: str,
        settings: Settings,
        info: ModuleInfo | None = None,
        tree: ast.Module | None = None,
        shebang: bool = False,
    ) -> None:
        self.filename = filename
        #: the file starts with a ``#!`` line (a standalone script)
        self.shebang = shebang
        self.settings = settings
        self.info = info if info is not None else ModuleInfo()
        self.path = context_path(filename, settings)
        self.basename = self.path.rsplit("/", 1)[-1]
        self.is_test = matches(self.path, settings.list("test-patterns"))
        self.is_migration = matches(self.path, settings.list("migration-patterns"))
        self.is_management_command = matches(self.path, settings.list("command-patterns"))
        self.is_factories = matches(self.path, settings.list("factory-patterns"))
        #: the top-level ``ast`` statement being scanned by ``AST_TRIGGERS``.
        self.current_statement: ast.stmt | None = None
        #: the functions and classes enclosing the trigger node (outermost first), when
        #: a ``TRIGGER_SCOPE = "function"`` rule is active; else empty.
        self.trigger_chain: tuple[ast.AST, ...] = ()
        #: flake8's ``ast`` tree of the whole file (``None`` when it did not parse), for
        #: facts that span statements (e.g. which classes of the file are DRF views).
        self.tree = tree

    @functools.cached_property
    def is_settings(self) -> bool:
        """A settings module: by path, or because it assigns ``SECRET_KEY`` at top level."""
        return (
            matches(self.path, self.settings.list("settings-patterns"))
            or self.info.assigns_secret_key
        )

    @functools.cached_property
    def is_dev_settings(self) -> bool:
        """Development/test settings: in test context, or named like ``local``, ``dev``, ``ci``."""
        return self.is_settings and (self.is_test or is_dev_name(self.basename, self.settings))

    @functools.cached_property
    def project_root(self) -> Path | None:
        """The configured project root, or the nearest ancestor holding a project marker."""
        configured = self.settings.get("project-root")
        if configured:
            return Path(configured).resolve()
        return find_project_root(self.filename)

    @functools.cached_property
    def module_name(self) -> str | None:
        """The dotted module name of the file, or ``None`` when it cannot be resolved."""
        return resolve_module_name(
            self.filename, self.project_root, self.settings.list("source-roots")
        )

    @property
    def package(self) -> str | None:
        """The package holding the file (the module itself for ``__init__.py``)."""
        name = self.module_name
        if name is None:
            return None
        if self.basename == "__init__.py":
            return name
        return name.rpartition(".")[0] or None

    def is_own_package(self, top_level: str) -> bool:
        """Whether the top-level package ``top_level`` belongs to the project being checked."""
        root = self.project_root
        if root is not None and root.is_dir():
            for base in (root, *(root / r for r in self.settings.list("source-roots"))):
                if (base / top_level).is_dir() or (base / f"{top_level}.py").is_file():
                    return True
            return False
        return top_level not in KNOWN_THIRD_PARTY and not _is_installed(top_level)


def is_dev_name(basename: str, settings: Settings) -> bool:
    """Whether a settings module's basename marks it as development settings."""
    stem = basename[:-3] if basename.endswith(".py") else basename
    words = settings.list("dev-settings-words")
    names = settings.list("dev-settings-names")
    return any(
        part in names or any(word in part for word in words) for part in _SPLIT.split(stem.lower())
    )


#: The import path :func:`_is_installed` searches instead of ``sys.path`` (the check
#: server looks names up on its client's path without ever importing from it).
_import_path: list[str] | None = None


def use_import_path(path: list[str] | None) -> None:
    """Look installed names up on ``path`` (``None``: this process's ``sys.path``)."""
    global _import_path
    if path != _import_path:
        _import_path = None if path is None else list(path)
        importlib.invalidate_caches()
    _is_installed.cache_clear()


@functools.lru_cache(maxsize=1024)
def _is_installed(top_level: str) -> bool:
    """Whether an importable distribution provides ``top_level`` (found, never imported)."""
    try:
        if _import_path is None:
            return importlib.util.find_spec(top_level) is not None
        for finder in sys.meta_path:
            if finder is importlib.machinery.PathFinder:
                spec = importlib.machinery.PathFinder.find_spec(top_level, _import_path)
            else:
                find_spec = getattr(finder, "find_spec", None)
                spec = None if find_spec is None else find_spec(top_level, None)
            if spec is not None:
                return True
        return False
    except (ImportError, ValueError):
        return False


@functools.lru_cache(maxsize=1024)
def _find_project_root_in(directory: str) -> Path | None:
    path = Path(directory)
    for candidate in (path, *path.parents):
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    return None


def find_project_root(filename: str) -> Path | None:
    """The nearest ancestor of ``filename`` holding ``manage.py``, ``pyproject.toml``, ..."""
    if filename in ("-", "stdin", ""):
        return None
    return _find_project_root_in(os.path.dirname(os.path.abspath(filename)))


@functools.lru_cache(maxsize=1024)
def _has_init(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "__init__.py"))


@functools.lru_cache(maxsize=4096)
def _package_parts(directory: str) -> tuple[str, ...] | None:
    """The dotted name of the package ``directory`` (which holds ``__init__.py``), as parts:
    up through the directories holding ``__init__.py`` to an import root. ``None`` when the
    import root is unknown (a package holding ``manage.py``: see :func:`_manage_py_root`).
    Once per directory: every module of a package shares it."""
    parts: list[str] = []
    while _has_init(directory):
        import_root = _manage_py_root(directory)
        if import_root is None:
            return None  # a package holding manage.py, import root unknown
        if import_root:
            break  # manage.py's directory is the import root
        directory, package = os.path.split(directory)
        if not package:
            return None
        parts.insert(0, package)
    return tuple(parts)


_SETTINGS_MODULE = re.compile(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]""")


@functools.lru_cache(maxsize=256)
def _manage_py_root(directory: str) -> bool | None:
    """For a package directory: whether it is an import root because it holds
    ``manage.py`` (``python manage.py`` puts its own directory first on ``sys.path``).
    ``False`` when it holds no ``manage.py``, or when ``manage.py`` names the settings
    module through the directory itself (``backend.config.settings``, so the parent is the
    root); ``True`` when the settings module's top-level package is inside the directory
    (``config.settings``); ``None`` when ``manage.py`` does not tell."""
    manage = os.path.join(directory, "manage.py")
    if not os.path.isfile(manage):
        return False
    try:
        with open(manage, encoding="utf-8", errors="replace") as handle:
            found = _SETTINGS_MODULE.search(handle.read(65536))
    except OSError:
        return None
    if found is None:
        return None
    top = found.group(1).split(".")[0]
    if top == os.path.basename(directory):
        return False
    if os.path.isdir(os.path.join(directory, top)) or os.path.isfile(
        os.path.join(directory, top + ".py")
    ):
        return True
    return None


def resolve_module_name(
    filename: str, project_root: Path | None, source_roots: Sequence[str]
) -> str | None:
    """The dotted module name of ``filename``.

    Walks up the directories holding ``__init__.py``; when the file's own
    directory has none, the path relative to a configured source root (or to
    the project root) is used. Returns ``None`` when neither works.
    """
    if filename in ("-", "stdin", "") or not filename.endswith(".py"):
        return None
    path = os.path.abspath(filename)
    directory, base = os.path.split(path)
    parts = [] if base == "__init__.py" else [base[:-3]]
    if _has_init(directory):
        package = _package_parts(directory)
        if package is None:
            return None
        parts = [*package, *parts]
        name = ".".join(parts)
        return name if all(p.isidentifier() for p in parts) else None
    if project_root is None:
        return None
    for root in (*(project_root / r for r in source_roots), project_root):
        try:
            relative = PurePosixPath(Path(path).relative_to(root).as_posix())
        except ValueError:
            continue
        pieces = list(relative.parts)
        pieces[-1] = pieces[-1][:-3]
        if pieces[-1] == "__init__":
            pieces.pop()
        if len(pieces) > 1 and all(p.isidentifier() for p in pieces):
            return ".".join(pieces)
    return None
