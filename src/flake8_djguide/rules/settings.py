"""Settings and secrets (DJG3xx), from guides 002 and 003.

Secrets come from the environment, never from the repository; production
settings never enable ``DEBUG`` or accept every host. Development and test
settings modules (see "File contexts" in the README) are exempt.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flake8_djguide.context import is_dev_name
from flake8_djguide.helpers import (
    assigned_names,
    ast_dotted_name,
    call_arg,
    dotted_name,
    qualified_name,
    small_statements,
    string_value,
)
from flake8_djguide.rule import AstTrigger, Invalid, Rule, Valid

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
else:
    from flake8_djguide._lazy import cst

SETTINGS_PATH = "config/settings/production.py"

# Calls that read the environment: (qualified name or last component, how the default is passed).
_ENV_CALLS_POSITIONAL = frozenset({"os.environ.get", "os.getenv", "os.environ.setdefault"})
_ENV_READERS = frozenset({"env", "config", "environ"})  # django-environ Env(), decouple config()
_ENV_METHODS = frozenset(
    {
        "str",
        "bool",
        "int",
        "float",
        "list",
        "tuple",
        "dict",
        "json",
        "url",
        "db",
        "db_url",
        "cache",
        "cache_url",
        "email",
        "email_url",
        "search_url",
        "path",
        "get_value",
        "get",
    }
)


def env_fallback(value: cst.BaseExpression | None, ctx: FileContext) -> cst.BaseExpression | None:
    """The literal fallback of an environment read (``os.environ.get("X", "lit")``,
    ``env("X", default="lit")``, ``config("X", default="lit")``), of a secrets mapping
    (``SECRETS.get("x", "lit")``) or of a helper of the module wrapping such a read
    (``get_env("X", "lit")``, see :func:`env_helpers`), else ``None``."""
    if not isinstance(value, cst.Call):
        return None
    raw = dotted_name(value.func) or ""
    if isinstance(value.func, cst.Name):
        helpers = env_helpers(ctx)
        if raw in helpers:
            position, keyword = helpers[raw]
            argument = call_arg(value, position, keyword)
            return argument.value if argument is not None else None
        if raw in _top_level_functions(ctx):
            return None  # a function of the module that passes no default through
    name = qualified_name(value.func, ctx)
    if name in _ENV_CALLS_POSITIONAL or raw in ("environ.get", "getenv"):
        argument = call_arg(value, 1, "default")
        return argument.value if argument is not None else None
    parts = raw.split(".")
    if parts[0] in _ENV_READERS and (
        len(parts) == 1 or (len(parts) == 2 and parts[1] in _ENV_METHODS)
    ):
        argument = call_arg(value, None, "default")
        return argument.value if argument is not None else None
    if raw.endswith(".get") and isinstance(value.func, cst.Attribute):
        # a secrets mapping read with a fallback: ``SECRETS.get("stripe_key", "sk_test_...")``
        argument = call_arg(value, 1, "default")
        return argument.value if argument is not None else None
    return None


def secret_value(value: cst.BaseExpression | None, ctx: FileContext) -> str | None:
    """``"literal"``, ``"fallback"`` or ``"branch"`` when ``value`` puts a non-empty secret
    in the code: a literal, an environment read with a literal fallback, or either of
    them in a branch of a conditional expression (``"dev" if DEBUG else os.environ[...]``)
    or after ``or`` (``os.environ.get("X") or "dev"``)."""
    literal = string_value(value)
    if literal:
        return "literal"
    fallback = env_fallback(value, ctx)
    if fallback is not None and string_value(fallback):
        return "fallback"
    if (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Name)
        and value.func.value in fixed_fallback_helpers(ctx)
    ):
        return "fallback"
    if isinstance(value, cst.IfExp):
        if secret_value(value.body, ctx) or secret_value(value.orelse, ctx):
            return "branch"
    elif isinstance(value, cst.BooleanOperation) and isinstance(value.operator, cst.Or):
        if secret_value(value.right, ctx):
            return "branch"
        if secret_value(value.left, ctx) == "fallback":
            return "fallback"
    return None


# -- project-local helpers wrapping an environment read -------------------------------------------

_AST_ENV_POSITIONAL = frozenset({"os.environ.get", "os.getenv", "environ.get", "getenv"})


def env_helpers(ctx: FileContext) -> dict[str, tuple[int | None, str | None]]:
    """Top-level functions of the module that read the environment and hand back a
    default they are passed (``def env(name, default=None): return os.getenv(name,
    default)``), as name -> (position, keyword) of that parameter. Read from the
    file's ``ast`` tree, so the helper's statement need not be parsed."""
    cached: dict[str, tuple[int | None, str | None]] | None = ctx.__dict__.get(
        "_djguide_env_helpers"
    )
    if cached is not None:
        return cached
    found: dict[str, tuple[int | None, str | None]] = {}
    for function in _top_level_functions(ctx).values():
        parameter = _passed_default(function)
        if parameter is not None:
            found[function.name] = parameter
    ctx.__dict__["_djguide_env_helpers"] = found
    return found


def fixed_fallback_helpers(ctx: FileContext) -> frozenset[str]:
    """Top-level functions of the module that return an environment read with a
    non-empty literal fallback of their own (``def get_secret_key(): return
    os.environ.get("SECRET_KEY", "dev")``)."""
    cached: frozenset[str] | None = ctx.__dict__.get("_djguide_fixed_fallbacks")
    if cached is None:
        cached = frozenset(
            function.name
            for function in _top_level_functions(ctx).values()
            if any(
                isinstance(node, ast.Return) and _ast_literal_fallback(node.value)
                for node in ast.walk(function)
            )
        )
        ctx.__dict__["_djguide_fixed_fallbacks"] = cached
    return cached


def _ast_literal_fallback(node: ast.expr | None) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = ast_dotted_name(node.func) or ""
    fallback: ast.expr | None = None
    if name in _AST_ENV_POSITIONAL and len(node.args) > 1:
        fallback = node.args[1]
    elif name in _AST_ENV_POSITIONAL or name.split(".")[0] in _ENV_READERS:
        fallback = next((k.value for k in node.keywords if k.arg == "default"), None)
    return (
        isinstance(fallback, ast.Constant)
        and isinstance(fallback.value, str)
        and fallback.value != ""
    )


def _top_level_functions(ctx: FileContext) -> dict[str, ast.FunctionDef]:
    cached: dict[str, ast.FunctionDef] | None = ctx.__dict__.get("_djguide_functions")
    if cached is None:
        tree = ctx.tree
        body = tree.body if tree is not None else []
        cached = {node.name: node for node in body if isinstance(node, ast.FunctionDef)}
        ctx.__dict__["_djguide_functions"] = cached
    return cached


def _passed_default(function: ast.FunctionDef) -> tuple[int | None, str | None] | None:
    """The parameter (after the first, the variable's name) that ``function`` passes as
    the default of an environment read or returns itself, when it reads the environment."""
    arguments = function.args
    positional = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
    candidates = set(positional[1:]) | {a.arg for a in arguments.kwonlyargs}
    if not candidates:
        return None
    reads_environment = False
    chosen: str | None = None
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            name = ast_dotted_name(node.func) or ""
            if name in _AST_ENV_POSITIONAL or name.startswith("os.environ"):
                reads_environment = True
                if name in _AST_ENV_POSITIONAL and len(node.args) > 1:
                    chosen = chosen or _parameter(node.args[1], candidates)
            elif name.split(".")[0] in _ENV_READERS:
                reads_environment = True
            for keyword in node.keywords:
                if keyword.arg == "default":
                    chosen = chosen or _parameter(keyword.value, candidates)
        elif isinstance(node, ast.Subscript):
            if (ast_dotted_name(node.value) or "") in ("os.environ", "environ"):
                reads_environment = True
        elif isinstance(node, ast.Return) and node.value is not None:
            chosen = chosen or _returned_parameter(node.value, candidates)
    if not reads_environment or chosen is None:
        return None
    if chosen in positional:
        return positional.index(chosen), chosen
    return None, chosen


def _parameter(node: ast.AST, candidates: set[str]) -> str | None:
    return node.id if isinstance(node, ast.Name) and node.id in candidates else None


def _returned_parameter(node: ast.AST, candidates: set[str]) -> str | None:
    """``return default``, ``return value or default``, ``return v if v else default``."""
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            found = _returned_parameter(value, candidates)
            if found:
                return found
        return None
    if isinstance(node, ast.IfExp):
        return _returned_parameter(node.body, candidates) or _returned_parameter(
            node.orelse, candidates
        )
    return _parameter(node, candidates)


def settings_assignments(
    module: cst.Module, ctx: FileContext, conditional: bool = False
) -> Iterator[tuple[cst.Name, cst.BaseExpression | None]]:
    """Top-level assignments, and class attributes of top-level settings classes
    (django-configurations) whose name does not mark them as development settings.

    With ``conditional``, assignments inside top-level ``if``/``try``/``with`` blocks
    count too (a secret in a fallback branch is still in the repository)."""
    pending: list[cst.BaseStatement] = list(module.body)
    while pending:
        statement = pending.pop(0)
        if isinstance(statement, cst.ClassDef):
            if is_dev_name(statement.name.value.lower(), ctx.settings):
                continue
            for small in small_statements(statement.body):
                yield from assigned_names(small)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                yield from assigned_names(small)
        elif conditional:
            pending[:0] = _blocks(statement)


def _blocks(statement: cst.BaseStatement) -> list[cst.BaseStatement]:
    """The statements of a top-level ``if``/``try``/``with`` (not of functions or loops)."""
    suites: list[cst.BaseSuite] = []
    if isinstance(statement, cst.If):
        suites.append(statement.body)
        orelse = statement.orelse
        while orelse is not None:
            suites.append(orelse.body)
            orelse = orelse.orelse if isinstance(orelse, cst.If) else None
    elif isinstance(statement, cst.Try):
        suites.extend([statement.body, *(h.body for h in statement.handlers)])
        suites.extend(s.body for s in (statement.orelse, statement.finalbody) if s is not None)
    elif isinstance(statement, cst.With):
        suites.append(statement.body)
    found: list[cst.BaseStatement] = []
    for suite in suites:
        if isinstance(suite, cst.IndentedBlock):
            found.extend(suite.body)
        elif isinstance(suite, cst.SimpleStatementSuite):
            found.append(cst.SimpleStatementLine(body=suite.body))
    return found


def _names_trigger(*names: str) -> dict[type[ast.AST], AstTrigger]:
    """Parse only the top-level statements that mention one of ``names``."""
    wanted = frozenset(names)
    return {ast.Name: lambda node, ctx: node.id in wanted}


class _SettingsRule(Rule):
    """Shared context: settings modules that are not development settings.

    Each rule reads assignments one top-level statement at a time, so its
    trigger parses only the statements naming its setting.
    """

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Only production-like settings modules."""
        return ctx.is_settings and not ctx.is_dev_settings and not ctx.is_migration


class HardcodedSecretKey(_SettingsRule):
    """Checks for a ``SECRET_KEY`` written in the code, or used as an environment fallback."""

    CODE = "DJG301"
    NAME = "hardcoded-secret-key"
    MESSAGE = '`SECRET_KEY` is {what}; read it from the environment with no default (`os.environ["SECRET_KEY"]`)'
    RATIONALE = (
        "Anyone who can read the repository can forge sessions, password-reset tokens and "
        "signed cookies with a committed `SECRET_KEY`. A literal fallback in an environment "
        "read is the same leak: production silently runs on it when the variable is missing."
    )
    GUIDE = "002: SEC001 no hard-coded secrets (003: load SECRET_KEY from the environment)"
    OPTIONS = ("settings-patterns", "dev-settings-words", "dev-settings-names")
    NOTES = (
        "Development and test settings modules are exempt, and so are django-configurations "
        "classes named like development settings (`Dev`, `Local`, `Test`, `CI`). "
        "Assignments in top-level `if`/`try`/`with` blocks count (a fallback branch "
        '`except KeyError: SECRET_KEY = "..."` is still a committed key), and so does the '
        'fallback of a secrets mapping read (`SECRETS.get("secret_key", "...")`). A literal '
        "(or a read with a literal fallback) in either branch of a conditional expression "
        '(`"dev" if DEBUG else os.environ["SECRET_KEY"]`) or after `or` '
        '(`os.getenv("SECRET_KEY") or "dev"`) is reported: the branch is one missing variable '
        "or one wrong flag away from production. A top-level function of the same module that "
        "reads the environment and passes on (or returns) a default parameter "
        "(`def env(name, default=None): return os.getenv(name, default)`) is followed: "
        '`env("SECRET_KEY", "x")` is reported, `env("SECRET_KEY")` is not; so is one that '
        "returns a read with a literal fallback of its own (`def get_secret_key(): return "
        'os.environ.get("SECRET_KEY", "dev")`). Helpers imported from other modules are not '
        "followed."
    )
    VALID = [
        Valid('import os\n\nSECRET_KEY = os.environ["SECRET_KEY"]\n', path=SETTINGS_PATH),
        Valid('SECRET_KEY = "dev-only-insecure"\n', path="config/settings/local.py"),
        Valid(
            "from django.core.management.utils import get_random_secret_key\n\n"
            "SECRET_KEY = get_random_secret_key()\n",
            path=SETTINGS_PATH,
        ),
    ]
    INVALID = [
        Invalid('SECRET_KEY = "django-insecure-4x!b"\n', 1, 0, path=SETTINGS_PATH),
        Invalid(
            'import os\n\nSECRET_KEY = os.environ.get("SECRET_KEY", "changeme")\n',
            3,
            0,
            path=SETTINGS_PATH,
        ),
    ]
    TEXT_HINTS = ("SECRET_KEY",)
    AST_TRIGGERS = _names_trigger("SECRET_KEY")

    def visit_Module(self, node: cst.Module) -> None:
        """Check ``SECRET_KEY`` assignments."""
        for target, value in settings_assignments(node, self.ctx, conditional=True):
            if target.value != "SECRET_KEY":
                continue
            kind = secret_value(value, self.ctx)
            if kind is not None:
                self.report(target, what=_WHAT[kind])


_CREDENTIAL_SUFFIXES = (
    "_PASSWORD",
    "_SECRET",
    "_SECRET_KEY",
    "_TOKEN",
    "_API_KEY",
    "_PRIVATE_KEY",
    "_ACCESS_KEY",
)
_CREDENTIAL_KEYS = frozenset({"PASSWORD", "SIGNING_KEY", "SECRET_KEY"})
_UPPER = re.compile(r"^[A-Z][A-Z0-9_]*$")


def is_credential_name(name: str) -> bool:
    """``EMAIL_HOST_PASSWORD``, ``STRIPE_API_KEY``, ``PASSWORD``: but not ``TOKEN_MODEL``."""
    return _UPPER.match(name) is not None and (
        name == "PASSWORD" or name.endswith(_CREDENTIAL_SUFFIXES)
    )


class HardcodedCredentialSetting(_SettingsRule):
    """Checks for passwords, tokens and keys written into settings."""

    CODE = "DJG302"
    NAME = "hardcoded-credential-setting"
    MESSAGE = "credential `{name}` is {what}; read it from the environment"
    RATIONALE = (
        "Database passwords, API tokens and signing keys in settings end up in every clone, "
        "fork and CI log of the repository, and cannot be rotated without a deploy."
    )
    GUIDE = "002: SEC001 no hard-coded secrets (003: settings via environment variables)"
    OPTIONS = ("settings-patterns", "dev-settings-words", "dev-settings-names")
    NOTES = (
        "Top-level names ending in `_PASSWORD`, `_SECRET`, `_SECRET_KEY`, `_TOKEN`, `_API_KEY`, "
        "`_PRIVATE_KEY`, `_ACCESS_KEY` (or equal to `PASSWORD`), and the keys `PASSWORD`, "
        "`SIGNING_KEY` and `SECRET_KEY` at any depth of a dict assigned at top level "
        "(`DATABASES`, `CACHES`, `SIMPLE_JWT`, ...). Empty strings are placeholders and are "
        "left alone; `SECRET_KEY` itself is DJG301's. As for DJG301, top-level `if`/`try`/`with` "
        'blocks, secrets-mapping fallbacks (`SECRETS.get("stripe_key", "sk_test_...")`), '
        "branches of conditional expressions and the module's own environment helpers count. "
        "Dicts built in a top-level function of the settings module (`def database_config(): "
        'return {"default": {"PASSWORD": os.getenv("DB_PASS", "app")}}`) or in a method of a '
        "settings class not named like development settings (a django-configurations "
        "`@property DATABASES`) are checked as well, at any depth."
    )
    VALID = [
        Valid('EMAIL_HOST_PASSWORD = ""\n', path=SETTINGS_PATH),
        Valid(
            'TOKEN_MODEL = "knox.AuthToken"\nPASSWORD_RESET_TIMEOUT = 3600\n', path=SETTINGS_PATH
        ),
        Valid(
            'import os\n\nDATABASES = {"default": {"PASSWORD": os.environ["DB_PASSWORD"]}}\n',
            path=SETTINGS_PATH,
        ),
    ]
    INVALID = [
        Invalid('EMAIL_HOST_PASSWORD = "hunter2"\n', 1, 0, path=SETTINGS_PATH),
        Invalid(
            'DATABASES = {\n    "default": {\n        "PASSWORD": "postgres",\n    }\n}\n',
            3,
            8,
            path=SETTINGS_PATH,
        ),
    ]

    AST_TRIGGERS = {
        ast.Name: lambda node, ctx: is_credential_name(node.id),
        ast.Constant: lambda node, ctx: (
            isinstance(node.value, str) and node.value in _CREDENTIAL_KEYS
        ),
    }

    def visit_Module(self, node: cst.Module) -> None:
        """Check credential-named settings and credential keys of settings dicts."""
        for target, value in settings_assignments(node, self.ctx, conditional=True):
            name = target.value
            if is_credential_name(name):
                kind = secret_value(value, self.ctx)
                if kind is not None:
                    self.report(target, name=name, what=_WHAT[kind])
            if isinstance(value, cst.Dict):
                self._check_dict(value)
        for function in _settings_functions(node, self.ctx):
            for found in _dicts(function.body):
                self._check_dict(found, nested=False)

    def _check_dict(self, node: cst.Dict, nested: bool = True) -> None:
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                continue
            key = string_value(element.key)
            if key in _CREDENTIAL_KEYS:
                kind = secret_value(element.value, self.ctx)
                if kind is not None:
                    self.report(element.key, name=f'"{key}"', what=_WHAT[kind])
            if nested and isinstance(element.value, cst.Dict):
                self._check_dict(element.value)


def _settings_functions(module: cst.Module, ctx: FileContext) -> Iterator[cst.FunctionDef]:
    """Functions that build settings: top-level functions of the module
    (``def database_config(): return {...}``) and methods of top-level settings classes
    not named like development settings (a django-configurations ``@property DATABASES``)."""
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            yield statement
        elif isinstance(statement, cst.ClassDef) and not is_dev_name(
            statement.name.value.lower(), ctx.settings
        ):
            for inner in statement.body.body:
                if isinstance(inner, cst.FunctionDef):
                    yield inner


def _dicts(node: cst.CSTNode) -> Iterator[cst.Dict]:
    """Every dict display under ``node``, nested ones included."""
    pending: list[cst.CSTNode] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.Dict):
            yield current
        pending.extend(current.children)


_WHAT = {
    "literal": "hard-coded",
    "fallback": "read from the environment with a hard-coded fallback",
    "branch": "hard-coded in one branch of its value",
}


class DebugEnabled(_SettingsRule):
    """Checks for ``DEBUG = True`` in settings that are not development settings."""

    CODE = "DJG303"
    NAME = "debug-enabled"
    MESSAGE = '`DEBUG = True` in non-development settings; read it from the environment (`env.bool("DEBUG", default=False)`)'
    RATIONALE = (
        "With `DEBUG` on, Django shows tracebacks with local variables and settings to "
        "anyone who triggers an error, and keeps every SQL query in memory."
    )
    GUIDE = "003: never run with DEBUG enabled in production; load it from the environment"
    OPTIONS = ("settings-patterns", "dev-settings-words", "dev-settings-names")
    VALID = [
        Valid('DEBUG = env.bool("DEBUG", default=False)\n', path=SETTINGS_PATH),
        Valid("DEBUG = True\n", path="config/settings/dev.py"),
        Valid("DEBUG = True\n", path="myproject/local_settings.py"),
    ]
    INVALID = [
        Invalid("DEBUG = True\n", 1, 0, path=SETTINGS_PATH),
        Invalid(
            "class Production(Configuration):\n    DEBUG = True\n", 2, 4, path="app/settings.py"
        ),
    ]
    TEXT_HINTS = ("DEBUG",)
    AST_TRIGGERS = _names_trigger("DEBUG")

    def visit_Module(self, node: cst.Module) -> None:
        """Check ``DEBUG`` assignments."""
        for target, value in settings_assignments(node, self.ctx):
            if target.value == "DEBUG" and isinstance(value, cst.Name) and value.value == "True":
                self.report(target)


class AllowedHostsWildcard(_SettingsRule):
    """Checks for ``"*"`` in ``ALLOWED_HOSTS`` outside development settings."""

    CODE = "DJG304"
    NAME = "allowed-hosts-wildcard"
    MESSAGE = '`ALLOWED_HOSTS` contains `"*"`; list the real host names (or read them from the environment)'
    RATIONALE = (
        "`ALLOWED_HOSTS` is Django's defence against Host-header attacks (poisoned password "
        "reset links, cache poisoning); a wildcard switches it off."
    )
    GUIDE = "003: ALLOWED_HOSTS from the environment, no wildcard in production"
    OPTIONS = ("settings-patterns", "dev-settings-words", "dev-settings-names")
    NOTES = (
        'An environment read whose literal fallback holds `"*"` is reported at the fallback '
        '(`env.list("ALLOWED_HOSTS", default=["*"])`, `os.getenv("ALLOWED_HOSTS", "*").split(",")`, '
        "a helper function of the module wrapping such a read): production accepts every host "
        "as soon as the variable is missing. Reads without a wildcard fallback are left alone, "
        'and so is a literal `["*"]` in one branch of a conditional expression '
        '(`["*"] if DEBUG else env.list("ALLOWED_HOSTS")`): the branch is chosen by its test.'
    )
    VALID = [
        Valid('ALLOWED_HOSTS = ["shop.example.com"]\n', path=SETTINGS_PATH),
        Valid('ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])\n', path=SETTINGS_PATH),
        Valid('ALLOWED_HOSTS = ["*"]\n', path="config/settings/development.py"),
    ]
    INVALID = [
        Invalid('ALLOWED_HOSTS = ["*"]\n', 1, 17, path=SETTINGS_PATH),
        Invalid('ALLOWED_HOSTS = ("localhost", "*")\n', 1, 30, path=SETTINGS_PATH),
        Invalid(
            'ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])\n', 1, 51, path=SETTINGS_PATH
        ),
    ]
    TEXT_HINTS = ("ALLOWED_HOSTS",)
    AST_TRIGGERS = _names_trigger("ALLOWED_HOSTS")

    def visit_Module(self, node: cst.Module) -> None:
        """Check ``ALLOWED_HOSTS`` literals."""
        for target, value in settings_assignments(node, self.ctx):
            if target.value != "ALLOWED_HOSTS":
                continue
            if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
                for element in value.elements:
                    if isinstance(element, cst.Element) and string_value(element.value) == "*":
                        self.report(element.value)
            elif value is not None:
                for wildcard in self._wildcard_fallbacks(value):
                    self.report(wildcard, message=self._FALLBACK_MESSAGE)

    _FALLBACK_MESSAGE = (
        '`ALLOWED_HOSTS` falls back to `"*"` when the variable is not set; give no default '
        "(or the real host names) so that a missing variable fails instead of accepting "
        "every host"
    )

    def _wildcard_fallbacks(self, value: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
        """The literal fallbacks holding ``"*"`` of the environment reads in ``value``
        (``os.getenv("ALLOWED_HOSTS", "*").split(",")``, ``env.list(..., default=["*"])``);
        a literal ``["*"]`` in a branch of ``... if DEBUG else ...`` is left alone."""
        pending: list[cst.CSTNode] = [value]
        while pending:
            node = pending.pop()
            if isinstance(node, cst.Call):
                fallback = env_fallback(node, self.ctx)
                if fallback is not None:
                    yield from _wildcards(fallback)
                    continue
            if isinstance(node, (cst.Lambda, cst.FunctionDef)):
                continue
            pending.extend(reversed(node.children))


def _wildcards(fallback: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """``"*"`` in a fallback: the string itself (``"*"``, ``"localhost,*"``, ``"* a.com"``)
    or an element of a literal list/tuple."""
    text = string_value(fallback)
    if text is not None:
        if "*" in re.split(r"[\s,;]+", text.strip()):
            yield fallback
    elif isinstance(fallback, (cst.List, cst.Tuple, cst.Set)):
        for element in fallback.elements:
            if isinstance(element, cst.Element) and string_value(element.value) == "*":
                yield element.value
