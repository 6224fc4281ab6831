"""Imports and module conventions (DJG0xx), from guides 000 and 004.

Absolute imports only, settings through ``django.conf``, imported at module
level, one logger per module named ``__name__``, no root-logger calls and no
``print``.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from flake8_djguide.helpers import (
    ast_dotted_name,
    call_arg,
    contains_name,
    dotted_name,
    is_type_checking,
    module_name_of,
    qualified_name,
    small_statements,
)
from flake8_djguide.positions import simple_statement_start
from flake8_djguide.rule import Finding, Invalid, Rule, Valid

if TYPE_CHECKING:
    from collections.abc import Sequence

    import libcst as cst

    from flake8_djguide.context import FileContext
else:
    from flake8_djguide._lazy import cst


def absolute_module(ctx: FileContext, level: int, module: str) -> str | None:
    """The absolute module a relative import names, or ``None`` when unresolvable."""
    package = ctx.package
    if package is None:
        return None
    parts = package.split(".")
    if level - 1 >= len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _attribute_chain(dotted: str) -> cst.Attribute | cst.Name:
    parts = dotted.split(".")
    node: cst.Attribute | cst.Name = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


class RelativeImport(Rule):
    """Checks for relative imports (``from . import x``, ``from ..pkg import y``)."""

    CODE = "DJG001"
    NAME = "relative-import"
    MESSAGE = "relative import `from {relative}`; {remedy}"
    RATIONALE = (
        "Absolute imports say where a name comes from without knowing where the importing "
        "file lives, survive moving the file, and are what the team's guides require."
    )
    GUIDE = "004: Use absolute imports; never relative imports. (000: absolute imports only)"
    FIX = "safe"
    OPTIONS = ("source-roots",)
    NOTES = (
        "The absolute module is resolved from the file's package: the directories holding "
        "`__init__.py` above it, or else its path below a configured source root (`src/`) or "
        "the project root. The fix is offered only when the module resolves, and is marked "
        "unsafe when it was resolved from a source root rather than from `__init__.py` files "
        "(the package root is then a guess). The directory of `manage.py` is an import root "
        "(`python manage.py` puts it first on `sys.path`) even when it holds an "
        "`__init__.py`: the walk stops there when the settings module `manage.py` names "
        "(`DJANGO_SETTINGS_MODULE`, the project's own absolute import) is a package inside "
        "it (`config.settings`), goes on to the parent when it is named through the "
        "directory itself (`backend.config.settings`), and gives up (a remedy without a "
        "module path, no fix) when `manage.py` names none. "
        "`from __future__ import ...` is never relative."
    )
    VALID = [
        Valid("from blog.models import Post\n"),
        Valid("from __future__ import annotations\n"),
        Valid("import os.path\n"),
    ]
    INVALID = [
        Invalid("from .models import Post\n", 1, 0),
        Invalid("def f():\n    from ..utils import slugify\n", 2, 4),
    ]
    AST_TRIGGERS = {ast.ImportFrom: lambda node, ctx: node.level > 0}
    # Looks only at the trigger node and its enclosing statements: other bodies may be left out.
    TRIGGER_SCOPE = "function"
    REPORTS_FROM_AST = True

    @classmethod
    def report_ast(cls, node: object, ctx: FileContext, lines: Sequence[str]) -> list[Finding]:
        """:meth:`visit_ImportFrom` on the ``ast`` tree (a function-level relative import
        then parses nothing)."""
        if not isinstance(node, ast.ImportFrom) or not node.level:
            return []
        target = absolute_module(ctx, node.level, node.module or "")
        line, col = simple_statement_start(node, lines)
        relative, remedy = _relative_parts(node.level, node.module, target)
        return [cls.ast_finding(line, col, relative=relative, remedy=remedy)]

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        """Report relative imports, with the absolute module when it resolves."""
        if not node.relative:
            return
        level = len(node.relative)
        module = module_name_of(node.module)
        target = absolute_module(self.ctx, level, module)
        relative, remedy = _relative_parts(level, module, target)
        if target is None:
            self.report(node, relative=relative, remedy=remedy)
            return

        def fix() -> cst.CSTNode:
            # `from.import x` has no space around the dots: an absolute module needs both
            after_from = node.whitespace_after_from
            before_import = node.whitespace_before_import
            return node.with_changes(
                relative=[],
                module=_attribute_chain(target),
                whitespace_after_from=cst.SimpleWhitespace(" ") if after_from.empty else after_from,
                whitespace_before_import=(
                    cst.SimpleWhitespace(" ") if before_import.empty else before_import
                ),
            )

        unsafe = not _resolved_by_init(self.ctx)
        self.report(node, fix, unsafe=unsafe, relative=relative, remedy=remedy)


def _relative_parts(level: int, module: str | None, target: str | None) -> tuple[str, str]:
    """DJG001's message parts: the relative module as written and the remedy."""
    remedy = f"use `from {target} import ...`"
    if target is None:
        remedy = "use an absolute import from the project's top-level package"
    return "." * level + (module or ""), remedy


def _resolved_by_init(ctx: FileContext) -> bool:
    import os

    directory = os.path.dirname(os.path.abspath(ctx.filename))
    return os.path.isfile(os.path.join(directory, "__init__.py"))


_ENVIRONMENTS = "local|dev|development|prod|production|test|tests|testing|base|common|staging|ci"
_SETTINGS_PART = re.compile(rf"^(settings|({_ENVIRONMENTS})_settings|settings_({_ENVIRONMENTS}))$")
_NOT_PROJECT_SETTINGS = ("django.conf", "django.conf.global_settings")


_ENVIRONMENT_NAMES = frozenset(_ENVIRONMENTS.split("|"))


def is_settings_module_name(dotted: str) -> bool:
    """Whether a dotted module name looks like a Django settings module."""
    if dotted in _NOT_PROJECT_SETTINGS or dotted.startswith("django."):
        return False
    parts = dotted.split(".")
    return any(_SETTINGS_PART.match(p) for p in parts)


def _is_settings_part(name: str) -> bool:
    """``settings``, ``local_settings``, or an environment module of a settings package
    (``base``, ``production``)."""
    return _SETTINGS_PART.match(name) is not None or name in _ENVIRONMENT_NAMES


def _is_settings_itself(dotted: str) -> bool:
    """A settings module itself (``config.settings``, ``config.settings.production``), not
    a helper module that lives in a settings package (``config.settings.redis``)."""
    parts = dotted.split(".")
    for position, part in enumerate(parts):
        if _SETTINGS_PART.match(part):
            return all(_is_settings_part(p) for p in parts[position + 1 :])
    return False


def _imports_a_setting(names: list[str]) -> bool:
    """Whether ``from <settings module> import <names>`` takes settings: a star, an
    UPPER_CASE name, or a settings module of the package (``base``); not the classes and
    functions that live there (``redis_instance``, ``S3Storage``, ``env``)."""
    return any(n == "*" or n.isupper() or _is_settings_part(n) for n in names)


class SettingsModuleImport(Rule):
    """Checks for imports of the project's own settings modules."""

    CODE = "DJG002"
    NAME = "settings-module-import"
    MESSAGE = "import of the settings module `{module}`; use `from django.conf import settings`"
    RATIONALE = (
        "Importing a settings module directly bypasses `DJANGO_SETTINGS_MODULE`, so tests "
        "and `override_settings` do not see the values the code reads, and the module's "
        "import-time side effects run again."
    )
    GUIDE = "000: Always import settings via `from django.conf import settings`"
    OPTIONS = ("source-roots", "project-root", "settings-patterns")
    NOTES = (
        "A module is the project's own when its top-level package is a directory (or module) "
        "in the project root or a source root; without a project on disk (plain stdin), when "
        "no installed distribution provides it. Settings modules may import each other "
        "(`from .base import *`). A settings module is a module path with a component "
        "`settings`, or `<environment>_settings`/`settings_<environment>` (`local_settings`, "
        "`settings_production`); app-level wrappers such as `app_settings` or "
        "`blog_settings` are not settings modules. What lives in a settings package but is "
        "not a setting is left alone: `from <settings module> import ...` is reported only "
        "for a star, an UPPER_CASE name or one of the package's settings modules (`base`, "
        "`production`, ...), not for classes and functions (`from config.settings."
        "storage_backends import MediaStorage`, `from config.settings.base import env`); "
        "`import` of a module below a settings package is reported only for settings modules "
        "(`import config.settings.production`, not `import config.settings.redis`). A module "
        "of the project that itself imports `django.conf.settings` is an app's own settings "
        "wrapper (`PAGE_SIZE = getattr(settings, 'PAGE_SIZE', 20)`), not the project's "
        "settings module (which cannot import itself), and is left alone. A test module "
        "that tests how the settings module loads must import it and is left alone as a "
        "whole: one that reloads a module (`importlib.reload(settings)`, `reload(base)`) or "
        "patches the environment (`monkeypatch.setenv`/`delenv`, `mock.patch.dict(os."
        "environ, ...)`). Other test modules are reported like any module."
    )
    VALID = [
        Valid("from django.conf import settings\n"),
        Valid("from rest_framework.settings import api_settings\n"),
        Valid("from .base import *\n", path="config/settings/production.py"),
        Valid("from config.settings.redis import redis_instance\n"),
    ]
    INVALID = [
        Invalid("from config.settings import DEBUG\n", 1, 0),
        Invalid("import myproject.settings\n", 1, 0),
        Invalid("from myproject import settings\n", 1, 0),
    ]
    AST_TRIGGERS = {
        ast.Import: lambda node, ctx: _settings_import_ast(node, ctx),
        ast.ImportFrom: lambda node, ctx: _settings_import_ast(node, ctx),
    }

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Not in migrations, and not in settings modules (they import each other)."""
        return not ctx.is_migration and not ctx.is_settings

    REPORTS_FROM_AST = True

    @classmethod
    def _reported(cls, ctx: FileContext, module: str) -> bool:
        """Whether an import of ``module`` is reported: the project's own settings module,
        outside a test of how settings load and not an app's settings wrapper."""
        if not is_settings_module_name(module):
            return False
        if ctx.is_test and _tests_settings_loading(ctx):
            return False
        return ctx.is_own_package(module.split(".", 1)[0]) and not _wraps_django_settings(
            ctx, module
        )

    @classmethod
    def report_ast(cls, node: object, ctx: FileContext, lines: Sequence[str]) -> list[Finding]:
        """:meth:`visit_Import` and :meth:`visit_ImportFrom` on the ``ast`` tree."""
        if isinstance(node, ast.Import):
            modules = _settings_modules(None, 0, [a.name for a in node.names], ctx)
        elif isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            modules = _settings_modules(node.module or "", node.level, names, ctx)
        else:
            return []
        line, col = simple_statement_start(node, lines)
        return [cls.ast_finding(line, col, module=m) for m in modules if cls._reported(ctx, m)]

    def visit_Import(self, node: cst.Import) -> None:
        """``import myproject.settings``."""
        names = [module_name_of(alias.name) for alias in node.names]
        for module in _settings_modules(None, 0, names, self.ctx):
            if self._reported(self.ctx, module):
                self.report(node, module=module)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        """``from config.settings import X`` and ``from myproject import settings``."""
        star = isinstance(node.names, cst.ImportStar)
        names = ["*"] if star else [module_name_of(a.name) for a in node.names]  # type: ignore[union-attr]
        module = module_name_of(node.module)
        for found in _settings_modules(module, len(node.relative), names, self.ctx):
            if self._reported(self.ctx, found):
                self.report(node, module=found)


def _settings_modules(
    module: str | None, level: int, names: list[str], ctx: FileContext
) -> list[str]:
    """The settings modules an import may take: ``import a.settings, b.settings`` (``module``
    ``None``: each module imported), ``from config.settings import DEBUG`` (the module,
    when a setting is imported), ``from myproject import settings`` (the first settings
    module among the names). A relative module is resolved from the file's package."""
    if module is None:
        return [name for name in names if _is_settings_itself(name)]
    if level:
        resolved = absolute_module(ctx, level, module)
        if resolved is None:
            return []
        module = resolved
    if is_settings_module_name(module):
        return [module] if _imports_a_setting(names) else []
    for name in names:
        if _SETTINGS_PART.match(name) and module:
            return [f"{module}.{name}"]
    return []


#: environment patching in tests: ``monkeypatch.setenv(...)``, ``mock.patch.dict(os.environ, ...)``
_ENV_PATCHERS = frozenset({"setenv", "delenv"})


def _tests_settings_loading(ctx: FileContext) -> bool:
    """Whether a test module tests how a settings module loads: it reloads a module
    (``importlib.reload(settings)``, ``reload(base)``) or patches the environment
    (``monkeypatch.setenv``, ``mock.patch.dict(os.environ, ...)``). Such a test must import
    the settings module itself. Computed once per file, only when a finding is due."""
    cached: bool | None = ctx.__dict__.get("_djguide_tests_settings_loading")
    if cached is not None:
        return cached
    found = False
    tree = ctx.tree
    if tree is not None:
        reloads = {"importlib.reload", "imp.reload"}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("importlib", "imp"):
                reloads.update(a.asname or a.name for a in node.names if a.name == "reload")
            if not isinstance(node, ast.Call):
                continue
            name = ast_dotted_name(node.func) or ""
            if name in reloads or name.rsplit(".", 1)[-1] in _ENV_PATCHERS:
                found = True
            elif name.endswith("patch.dict") and node.args:
                target = node.args[0]
                text = (
                    target.value
                    if isinstance(target, ast.Constant) and isinstance(target.value, str)
                    else ast_dotted_name(target)
                )
                found = text in ("os.environ", "environ")
            if found:
                break
    ctx.__dict__["_djguide_tests_settings_loading"] = found
    return found


_READS_DJANGO_SETTINGS = re.compile(
    rb"^\s*from\s+django\.conf\s+import\s+[^\n]*\bsettings\b|\bdjango\.conf\.settings\b",
    re.MULTILINE,
)


def _wraps_django_settings(ctx: FileContext, module: str) -> bool:
    """Whether the project's module ``module`` reads Django's settings itself: an app's
    own ``settings.py`` of defaults (``PAGE_SIZE = getattr(settings, "PAGE_SIZE", 20)``),
    which a project settings module can never be (it would import itself)."""
    import os

    root = ctx.project_root
    if root is None:
        return False
    relative = module.replace(".", os.sep)
    for base in (root, *(root / r for r in ctx.settings.list("source-roots"))):
        for candidate in (base / f"{relative}.py", base / relative / "__init__.py"):
            try:
                with open(candidate, "rb") as handle:
                    head = handle.read(65536)
            except OSError:
                continue
            return _READS_DJANGO_SETTINGS.search(head) is not None
    return False


def _settings_import_ast(node: ast.Import | ast.ImportFrom, ctx: FileContext) -> bool:
    """The rule's own test on the ``ast`` import (so that ``from django.conf import
    settings``, in most Django modules, does not make the file parse)."""
    if "settings" not in (getattr(node, "module", None) or "") and not any(
        "settings" in a.name for a in node.names
    ):
        return False

    def own(module: str) -> bool:
        return is_settings_module_name(module) and ctx.is_own_package(module.split(".", 1)[0])

    if isinstance(node, ast.Import):
        return any(_is_settings_itself(a.name) and own(a.name) for a in node.names)
    module = node.module or ""
    if node.level:
        resolved = absolute_module(ctx, node.level, module)
        if resolved is None:
            return False
        module = resolved
    if is_settings_module_name(module):
        return _imports_a_setting([a.name for a in node.names]) and own(module)
    return bool(module) and any(
        a.name != "*" and _SETTINGS_PART.match(a.name) is not None and own(f"{module}.{a.name}")
        for a in node.names
    )


def _is_conf_import(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.module == "django.conf" or (
            node.module == "django" and any(a.name == "conf" for a in node.names)
        )
    if isinstance(node, ast.Import):
        return any(a.name.startswith("django.conf") for a in node.names)
    return False


class SettingsImportNotTopLevel(Rule):
    """Checks for ``django.conf`` settings imported inside a function, method or class."""

    CODE = "DJG003"
    NAME = "settings-import-not-top-level"
    MESSAGE = "`{statement}` inside `{scope}`; import settings once at the top of the module"
    RATIONALE = (
        "`django.conf.settings` is a lazy object that is safe to import at module level; "
        "importing it inside functions hides a module's dependencies and repeats the import."
    )
    GUIDE = "004: Import settings at the top of the module: `from django.conf import settings`"
    NOTES = "Imports under `if TYPE_CHECKING:` are left alone."
    VALID = [
        Valid("from django.conf import settings\n\ndef f():\n    return settings.DEBUG\n"),
        Valid(
            "from typing import TYPE_CHECKING\n\ndef f():\n    if TYPE_CHECKING:\n"
            "        from django.conf import settings\n"
        ),
    ]
    INVALID = [
        Invalid(
            "def f():\n    from django.conf import settings\n    return settings.DEBUG\n", 2, 4
        ),
        Invalid("class A:\n    import django.conf\n", 2, 4),
    ]
    AST_TRIGGERS = {
        ast.ImportFrom: lambda node, ctx: (
            node is not ctx.current_statement and _is_conf_import(node)
        ),
        ast.Import: lambda node, ctx: node is not ctx.current_statement and _is_conf_import(node),
    }
    # Looks only at the trigger node and its enclosing statements: other bodies may be left out.
    TRIGGER_SCOPE = "function"

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.scopes: list[str] = []
        self.type_checking = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Enter a function scope."""
        self.scopes.append(node.name.value)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Leave a function scope."""
        self.scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Enter a class scope."""
        self.scopes.append(node.name.value)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        """Leave a class scope."""
        self.scopes.pop()

    def visit_If(self, node: cst.If) -> None:
        """Track ``if TYPE_CHECKING:`` blocks."""
        if is_type_checking(node.test):
            self.type_checking += 1

    def leave_If(self, node: cst.If) -> None:
        """Leave ``if TYPE_CHECKING:`` blocks."""
        if is_type_checking(node.test):
            self.type_checking -= 1

    def _check(self, node: cst.CSTNode, statement: str) -> None:
        if self.scopes and not self.type_checking:
            self.report(node, statement=statement, scope=self.scopes[-1])

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        """``from django.conf import settings`` / ``from django import conf``."""
        if node.relative:
            return
        module = module_name_of(node.module)
        if module == "django.conf":
            names = (
                "*"
                if isinstance(node.names, cst.ImportStar)
                else ", ".join(module_name_of(a.name) for a in node.names)
            )
            self._check(node, f"from django.conf import {names}")
        elif (
            module == "django"
            and not isinstance(node.names, cst.ImportStar)
            and any(module_name_of(a.name) == "conf" for a in node.names)
        ):
            self._check(node, "from django import conf")

    def visit_Import(self, node: cst.Import) -> None:
        """``import django.conf``."""
        for alias in node.names:
            if module_name_of(alias.name).startswith("django.conf"):
                self._check(node, "import django.conf")
                return


_LOGGER_TARGETS = frozenset({"logger", "log"})


def _is_get_logger(name: str | None) -> bool:
    return name == "logging.getLogger"


def _assigns_logger(node: ast.Assign | ast.AnnAssign, ctx: FileContext) -> bool:
    """ast trigger: a top-level assignment whose value calls ``...getLogger(...)``."""
    value = node.value
    if not isinstance(value, ast.Call) or node is not ctx.current_statement:
        return False
    return (ast_dotted_name(value.func) or "").endswith("getLogger")


def _adds_handler(ctx: FileContext, names: Sequence[str]) -> bool:
    """Whether a module-level statement of the file attaches a handler to one of
    ``names`` (``logger.addHandler(file_handler)``)."""
    tree = ctx.tree
    if tree is None:
        return False
    for statement in tree.body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            func = statement.value.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "addHandler"
                and isinstance(func.value, ast.Name)
                and func.value.id in names
            ):
                return True
    return False


class LoggerNotModuleNamed(Rule):
    """Checks for module loggers created with a name other than ``__name__``."""

    CODE = "DJG004"
    NAME = "logger-not-module-named"
    MESSAGE = "module logger `{target}` is created with `getLogger({argument})`; use `getLogger(__name__)`"
    RATIONALE = (
        "A logger named after its module (`__name__`) lets `LOGGING` configure whole "
        "packages at once and shows in every record where it came from; the root logger and "
        "hand-written names break both."
    )
    GUIDE = "000: Use `logger = logging.getLogger(__name__)` at module level"
    FIX = "unsafe"
    NOTES = (
        "Only module-level assignments to a name spelled like a logger (`logger`, `log`, "
        "`_logger`, `LOGGER`, ...) are checked, so that fetching a library's logger to "
        'configure it (`logging.getLogger("urllib3").setLevel(...)`, '
        '`urllib3_log = getLogger("urllib3")`) is left alone. Any argument that uses '
        '`__name__` (`f"{__name__}.audit"`) is accepted. A logger named with a string '
        "literal to which the same module attaches a handler at module level "
        '(`logger = getLogger("shop")` then `logger.addHandler(file_handler)`) is left '
        "alone: it is a log channel the project configures on purpose (its own file) and "
        "other modules import (`from app.utils import logger`); `__name__` would only "
        "rename it. The fix is unsafe: records move "
        "to another logger, so `LOGGING` handlers configured for the old name stop seeing them."
    )
    VALID = [
        Valid("import logging\n\nlogger = logging.getLogger(__name__)\n"),
        Valid('import logging\n\nlogger = logging.getLogger(f"{__name__}.audit")\n'),
        Valid('import logging\n\nlogging.getLogger("urllib3").setLevel(logging.WARNING)\n'),
    ]
    INVALID = [
        Invalid(
            'import logging\n\nlogger = logging.getLogger("orders")\n',
            3,
            9,
            expected="import logging\n\nlogger = logging.getLogger(__name__)\n",
        ),
        Invalid(
            "from logging import getLogger\n\nlog = getLogger()\n",
            3,
            6,
            expected="from logging import getLogger\n\nlog = getLogger(__name__)\n",
        ),
    ]
    TEXT_HINTS = ("getLogger",)
    AST_TRIGGERS = {ast.Assign: _assigns_logger, ast.AnnAssign: _assigns_logger}

    def visit_Module(self, node: cst.Module) -> None:
        """Check the module-level assignments."""
        for statement in small_statements(node.body):
            if isinstance(statement, cst.Assign):
                targets = [t.target for t in statement.targets]
            elif isinstance(statement, cst.AnnAssign):
                targets = [statement.target]
            else:
                continue
            value = statement.value
            if not isinstance(value, cst.Call):
                continue
            if not _is_get_logger(qualified_name(value.func, self.ctx)):
                continue
            names = [t.value for t in targets if isinstance(t, cst.Name)]
            if not any(n.lower().strip("_") in _LOGGER_TARGETS for n in names):
                continue
            argument = call_arg(value, 0, "name")
            if argument is not None and contains_name(argument.value, "__name__"):
                continue
            if (
                argument is not None
                and isinstance(argument.value, cst.SimpleString)
                and _adds_handler(self.ctx, names)
            ):
                continue  # a named log channel the module configures for the project
            shown = (
                cst.Module(body=[]).code_for_node(argument.value) if argument is not None else ""
            )
            if len(shown) > 40:
                shown = shown[:37] + "..."

            def fix(call: cst.Call = value) -> cst.CSTNode:
                return call.with_changes(args=[cst.Arg(cst.Name("__name__"))])

            self.report(value, fix, target=names[0], argument=shown)


_LEVELS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"}
)


def _root_logger_call_ast(node: ast.Call, ctx: FileContext) -> bool:
    name = ast_dotted_name(node.func)
    return name is not None and _is_root_call(ctx.info.qualify(name))


def _is_root_call(qualified: str | None) -> bool:
    if qualified is None or not qualified.startswith("logging."):
        return False
    return qualified.count(".") == 1 and qualified.split(".")[1] in _LEVELS


class RootLoggerCall(Rule):
    """Checks for logging calls on the root logger (``logging.info(...)``)."""

    CODE = "DJG005"
    NAME = "root-logger-call"
    MESSAGE = (
        "`{call}()` logs to the root logger; call it on a module logger (`logger.{level}(...)`)"
    )
    RATIONALE = (
        "Records sent to the root logger cannot be routed or silenced per module, and "
        "`logging.info()` even configures a handler on the root logger when none exists."
    )
    GUIDE = (
        "000: Use `logger = logging.getLogger(__name__)` at module level (002: structured logging)"
    )
    VALID = [
        Valid("import logging\n\nlogger = logging.getLogger(__name__)\nlogger.info('x')\n"),
        Valid("from myapp import logging\n\nlogging.info('x')\n"),
    ]
    INVALID = [
        Invalid("import logging\n\nlogging.info('saved %s', 1)\n", 3, 0),
        Invalid("from logging import warning\n\ndef f():\n    warning('x')\n", 4, 4),
    ]
    TEXT_HINTS = ("logging",)
    AST_TRIGGERS = {ast.Call: _root_logger_call_ast}
    # Looks only at the trigger node and its enclosing statements: other bodies may be left out.
    TRIGGER_SCOPE = "function"

    def visit_Call(self, node: cst.Call) -> None:
        """Report calls resolving to ``logging.<level>``."""
        qualified = qualified_name(node.func, self.ctx)
        if _is_root_call(qualified):
            assert qualified is not None
            level = qualified.split(".")[1]
            self.report(node, call=dotted_name(node.func), level=level)


def _is_script(ctx: FileContext) -> bool:
    """A standalone script: a shebang first line, a module-level ``__main__`` block or
    ``main()`` function, or a module in a ``scripts/`` directory (a management command is never one: Django runs
    it, not the shell)."""
    if ctx.is_management_command:
        return False
    if ctx.shebang or "scripts" in ctx.path.split("/")[:-1] or ctx.basename == "fabfile.py":
        return True
    tree = ctx.tree
    if tree is None:
        return False
    if any(isinstance(node, ast.If) and _is_main_guard_ast(node.test) for node in tree.body):
        return True
    if any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "main"
        for node in tree.body
    ):
        return True  # a console-script entry point: the installer's wrapper calls main()
    return _is_cli_module(tree)


#: command-line libraries whose use makes a module a command-line program
_CLI_LIBRARIES = frozenset({"invoke", "fabric", "fabric2", "click", "typer", "argparse"})


def _is_cli_module(tree: ast.Module) -> bool:
    """A command-line program built on a CLI library: the module imports ``invoke``,
    ``fabric``, ``click``, ``typer`` or ``argparse`` at module level and uses it (an
    ``@task`` function, a ``click.command``/``typer.Typer()`` app, an ``ArgumentParser``
    built anywhere in the module). An import alone is not enough."""
    imports: dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                head = alias.name.split(".", 1)[0]
                if head in _CLI_LIBRARIES:
                    imports[alias.asname or head] = alias.name if alias.asname else head
        elif (
            isinstance(statement, ast.ImportFrom)
            and statement.level == 0
            and (statement.module or "").split(".", 1)[0] in _CLI_LIBRARIES
        ):
            for alias in statement.names:
                if alias.name != "*":
                    imports[alias.asname or alias.name] = f"{statement.module}.{alias.name}"
    if not imports:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if _is_cli_use(ast_dotted_name(node.func), imports):
                return True
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if _is_cli_use(ast_dotted_name(target), imports):
                    return True
    return False


def _is_cli_use(name: str | None, imports: dict[str, str]) -> bool:
    """``name`` (a called or decorating name) resolves into a CLI library: anything of
    ``invoke``/``fabric``/``click``/``typer``, and ``argparse.ArgumentParser``."""
    if name is None:
        return False
    head, _, rest = name.partition(".")
    origin = imports.get(head)
    if origin is None:
        return False
    qualified = f"{origin}.{rest}" if rest else origin
    if qualified.startswith("argparse"):
        return qualified == "argparse.ArgumentParser"
    return "." in qualified


def _is_main_guard_ast(test: ast.expr) -> bool:
    if not (
        isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
    ):
        return False
    sides = (test.left, test.comparators[0])
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides
    )


def _is_print_ast(node: ast.Call, ctx: FileContext) -> bool:
    return isinstance(node.func, ast.Name) and node.func.id == "print"


class PrintCall(Rule):
    """Checks for ``print()`` in non-test code."""

    CODE = "DJG006"
    NAME = "print-call"
    MESSAGE = "`print()` call; use a module logger (`logger.info(...)`)"
    COMMAND_MESSAGE = "`print()` in a management command; use `self.stdout.write(...)`"
    RATIONALE = (
        "`print` output bypasses logging configuration and levels, is lost or interleaved "
        "under WSGI/ASGI servers, and in management commands cannot be captured by "
        "`call_command(..., stdout=...)` in tests."
    )
    GUIDE = "000: Use `logger = logging.getLogger(__name__)` (002: structured logging, no print)"
    NOTES = (
        "Test files are exempt. `print` is left alone when the module defines or imports its "
        "own `print`. Standalone scripts print on purpose (printing is their interface) and "
        "are exempt as a whole: a module whose first line is a shebang (`#!/usr/bin/env "
        'python`) or that has an `if __name__ == "__main__":` block at module level (also '
        "when the prints sit in functions above it), or a module in a `scripts/` directory "
        "(repository helper scripts, django-extensions' `runscript` modules with their "
        "`run()` function), or a module that defines a module-level `main()` function (a "
        "console-script entry point, which the installer's wrapper calls, so it has no "
        "`__main__` block). Command-line programs are scripts too, with or without a "
        "`__main__` block: a `fabfile.py`, or a module that imports `invoke`, `fabric`, "
        "`click`, `typer` or `argparse` at module level and uses it (an `@task` function, a "
        "`click.command`/`typer.Typer()` app, an `argparse.ArgumentParser(...)` built "
        "anywhere in the module); an import alone is not enough. Settings modules are "
        "exempt as a whole: they run while Django loads, before logging is configured, so a "
        "module logger there prints nothing and `print()` is the only way to say which "
        "settings or environment were picked. Management commands are not scripts: "
        "there the message says `self.stdout.write(...)`."
    )
    VALID = [
        Valid("print('ok')\n", path="app/tests/test_views.py"),
        Valid(
            "import sys\n\n\ndef main():\n    print('exported', len(sys.argv))\n\n\n"
            "if __name__ == '__main__':\n    main()\n",
            path="scripts/export_users.py",
        ),
        Valid("#!/usr/bin/env python\nprint('seeding the database')\n", path="bin/seed.py"),
        Valid("from rich import print\n\nprint('x')\n"),
    ]
    INVALID = [
        Invalid("def f():\n    print('debug')\n", 2, 4),
        Invalid(
            "class Command:\n    def handle(self):\n        print('done')\n",
            3,
            8,
            path="app/management/commands/sync.py",
        ),
    ]
    TEXT_HINTS = ("print",)
    AST_TRIGGERS = {ast.Call: _is_print_ast}
    # Looks only at the trigger node and its enclosing statements: other bodies may be left out.
    TRIGGER_SCOPE = "function"

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Not in test code, migrations or settings modules, nor in standalone scripts
        and command-line programs."""
        return (
            not ctx.is_test and not ctx.is_migration and not ctx.is_settings and not _is_script(ctx)
        )

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        info = ctx.info
        self.shadowed = "print" in info.top_level_names or "print" in info.imports

    def visit_Call(self, node: cst.Call) -> None:
        """Report ``print(...)``."""
        if self.shadowed or not (isinstance(node.func, cst.Name) and node.func.value == "print"):
            return
        if self.ctx.is_management_command:
            self.report(node, message=self.COMMAND_MESSAGE)
        else:
            self.report(node)
