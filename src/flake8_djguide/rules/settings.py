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
    ``env("X", default="lit")``, ``config("X", default="lit")``) or of a secrets mapping
    (``SECRETS.get("x", "lit")``), else ``None``."""
    if not isinstance(value, cst.Call):
        return None
    name = qualified_name(value.func, ctx)
    raw = dotted_name(value.func) or ""
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
    """``"literal"`` or ``"fallback"`` when ``value`` puts a non-empty secret in the code."""
    literal = string_value(value)
    if literal:
        return "literal"
    fallback = env_fallback(value, ctx)
    if fallback is not None and string_value(fallback):
        return "fallback"
    return None


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
        'fallback of a secrets mapping read (`SECRETS.get("secret_key", "...")`).'
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
            if kind == "literal":
                self.report(target, what="hard-coded")
            elif kind == "fallback":
                self.report(target, what="read from the environment with a hard-coded fallback")


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
        'blocks and secrets-mapping fallbacks (`SECRETS.get("stripe_key", "sk_test_...")`) count.'
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

    def _check_dict(self, node: cst.Dict) -> None:
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                continue
            key = string_value(element.key)
            if key in _CREDENTIAL_KEYS:
                kind = secret_value(element.value, self.ctx)
                if kind is not None:
                    self.report(element.key, name=f'"{key}"', what=_WHAT[kind])
            if isinstance(element.value, cst.Dict):
                self._check_dict(element.value)
            elif isinstance(element.value, cst.Call) and dotted_name(element.value.func) == "dict":
                continue


_WHAT = {
    "literal": "hard-coded",
    "fallback": "read from the environment with a hard-coded fallback",
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
    NOTES = "Environment reads are left alone, whatever their default."
    VALID = [
        Valid('ALLOWED_HOSTS = ["shop.example.com"]\n', path=SETTINGS_PATH),
        Valid('ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])\n', path=SETTINGS_PATH),
        Valid('ALLOWED_HOSTS = ["*"]\n', path="config/settings/development.py"),
    ]
    INVALID = [
        Invalid('ALLOWED_HOSTS = ["*"]\n', 1, 17, path=SETTINGS_PATH),
        Invalid('ALLOWED_HOSTS = ("localhost", "*")\n', 1, 30, path=SETTINGS_PATH),
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
