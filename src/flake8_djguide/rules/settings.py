"""Settings and secrets (DJG3xx), from guides 002 and 003.

Secrets come from the environment, never from the repository; production
settings never enable ``DEBUG`` or accept every host. Development and test
settings modules (see "File contexts" in the README) are exempt.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Optional

from flake8_djguide.context import is_dev_name
from flake8_djguide.helpers import (
    assigned_names,
    call_arg,
    dotted_name,
    qualified_name,
    small_statements,
    string_value,
)
from flake8_djguide.rule import Invalid, Rule, Valid

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
    {"str", "bool", "int", "float", "list", "tuple", "dict", "json", "url", "db", "db_url",
     "cache", "cache_url", "email", "email_url", "search_url", "path", "get_value", "get"}
)


def env_fallback(value: Optional[cst.BaseExpression], ctx: FileContext) -> Optional[cst.BaseExpression]:
    """The literal fallback of an environment read (``os.environ.get("X", "lit")``,
    ``env("X", default="lit")``, ``config("X", default="lit")``), else ``None``."""
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
    return None


def secret_value(value: Optional[cst.BaseExpression], ctx: FileContext) -> Optional[str]:
    """``"literal"`` or ``"fallback"`` when ``value`` puts a non-empty secret in the code."""
    literal = string_value(value)
    if literal:
        return "literal"
    fallback = env_fallback(value, ctx)
    if fallback is not None and string_value(fallback):
        return "fallback"
    return None


def settings_assignments(
    module: cst.Module, ctx: FileContext
) -> Iterator[tuple[cst.Name, Optional[cst.BaseExpression]]]:
    """Top-level assignments, and class attributes of top-level settings classes
    (django-configurations) whose name does not mark them as development settings."""
    for statement in module.body:
        if isinstance(statement, cst.ClassDef):
            if is_dev_name(statement.name.value.lower(), ctx.settings):
                continue
            for small in small_statements(statement.body):
                yield from assigned_names(small)
        else:
            for small in small_statements([statement]):
                yield from assigned_names(small)


def _assigned(node: ast.AST) -> list[tuple[str, ast.AST | None]]:
    """``(name, value)`` for an ``ast`` assignment to plain names (``X = Y = v``, ``X: T = v``)."""
    if isinstance(node, ast.Assign):
        return [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
        return [(node.target.id, node.value)]
    return []


def _assign_trigger(test: Callable[[str, ast.AST | None], bool]) -> dict[type[ast.AST], Any]:
    """Triggers on assignments (top-level or in a settings class) for which ``test`` holds:
    only those statements are parsed, not the whole settings module."""

    def predicate(node: ast.AST, ctx: FileContext) -> bool:
        return any(test(name, value) for name, value in _assigned(node))

    return {ast.Assign: predicate, ast.AnnAssign: predicate, ast.AugAssign: predicate}


class _SettingsRule(Rule):
    """Shared context: settings modules that are not development settings."""

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Only production-like settings modules."""
        return ctx.is_settings and not ctx.is_dev_settings and not ctx.is_migration


class HardcodedSecretKey(_SettingsRule):
    """Checks for a ``SECRET_KEY`` written in the code, or used as an environment fallback."""

    CODE = "DJG301"
    NAME = "hardcoded-secret-key"
    MESSAGE = "`SECRET_KEY` is {what}; read it from the environment with no default (`os.environ[\"SECRET_KEY\"]`)"
    RATIONALE = (
        "Anyone who can read the repository can forge sessions, password-reset tokens and "
        "signed cookies with a committed `SECRET_KEY`. A literal fallback in an environment "
        "read is the same leak: production silently runs on it when the variable is missing."
    )
    GUIDE = "002: SEC001 no hard-coded secrets (003: load SECRET_KEY from the environment)"
    OPTIONS = ("settings-patterns", "dev-settings-words", "dev-settings-names")
    NOTES = (
        "Development and test settings modules are exempt, and so are django-configurations "
        "classes named like development settings (`Dev`, `Local`, `Test`, `CI`)."
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
    AST_TRIGGERS = _assign_trigger(lambda name, value: name == "SECRET_KEY")

    def visit_Module(self, node: cst.Module) -> None:
        """Check ``SECRET_KEY`` assignments."""
        for target, value in settings_assignments(node, self.ctx):
            if target.value != "SECRET_KEY":
                continue
            kind = secret_value(value, self.ctx)
            if kind == "literal":
                self.report(target, what="hard-coded")
            elif kind == "fallback":
                self.report(target, what="read from the environment with a hard-coded fallback")


_CREDENTIAL_SUFFIXES = (
    "_PASSWORD", "_SECRET", "_SECRET_KEY", "_TOKEN", "_API_KEY", "_PRIVATE_KEY", "_ACCESS_KEY",
)
_CREDENTIAL_KEYS = frozenset({"PASSWORD", "SIGNING_KEY", "SECRET_KEY"})
_UPPER = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _has_credential_key(value: ast.AST | None) -> bool:
    """Whether a dict literal in ``value`` has a ``"PASSWORD"``-like key, at any depth."""
    if value is None:
        return False
    return any(
        isinstance(node, ast.Dict)
        and any(
            isinstance(k, ast.Constant) and isinstance(k.value, str) and k.value in _CREDENTIAL_KEYS
            for k in node.keys
        )
        for node in ast.walk(value)
    )


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
        "left alone; `SECRET_KEY` itself is DJG301's."
    )
    VALID = [
        Valid('EMAIL_HOST_PASSWORD = ""\n', path=SETTINGS_PATH),
        Valid('TOKEN_MODEL = "knox.AuthToken"\nPASSWORD_RESET_TIMEOUT = 3600\n', path=SETTINGS_PATH),
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

    AST_TRIGGERS = _assign_trigger(
        lambda name, value: is_credential_name(name) or _has_credential_key(value)
    )

    def visit_Module(self, node: cst.Module) -> None:
        """Check credential-named settings and credential keys of settings dicts."""
        for target, value in settings_assignments(node, self.ctx):
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


_WHAT = {"literal": "hard-coded", "fallback": "read from the environment with a hard-coded fallback"}


class DebugEnabled(_SettingsRule):
    """Checks for ``DEBUG = True`` in settings that are not development settings."""

    CODE = "DJG303"
    NAME = "debug-enabled"
    MESSAGE = "`DEBUG = True` in non-development settings; read it from the environment (`env.bool(\"DEBUG\", default=False)`)"
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
        Invalid("class Production(Configuration):\n    DEBUG = True\n", 2, 4, path="app/settings.py"),
    ]
    TEXT_HINTS = ("DEBUG",)
    AST_TRIGGERS = _assign_trigger(
        lambda name, value: name == "DEBUG"
        and isinstance(value, ast.Constant)
        and value.value is True
    )

    def visit_Module(self, node: cst.Module) -> None:
        """Check ``DEBUG`` assignments."""
        for target, value in settings_assignments(node, self.ctx):
            if target.value == "DEBUG" and isinstance(value, cst.Name) and value.value == "True":
                self.report(target)


class AllowedHostsWildcard(_SettingsRule):
    """Checks for ``"*"`` in ``ALLOWED_HOSTS`` outside development settings."""

    CODE = "DJG304"
    NAME = "allowed-hosts-wildcard"
    MESSAGE = "`ALLOWED_HOSTS` contains `\"*\"`; list the real host names (or read them from the environment)"
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
    AST_TRIGGERS = _assign_trigger(
        lambda name, value: name == "ALLOWED_HOSTS"
        and isinstance(value, (ast.List, ast.Tuple, ast.Set))
    )

    def visit_Module(self, node: cst.Module) -> None:
        """Check ``ALLOWED_HOSTS`` literals."""
        for target, value in settings_assignments(node, self.ctx):
            if target.value != "ALLOWED_HOSTS":
                continue
            if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
                for element in value.elements:
                    if isinstance(element, cst.Element) and string_value(element.value) == "*":
                        self.report(element.value)
