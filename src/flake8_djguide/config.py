"""Configuration: option definitions, ``[tool.djguide]`` in pyproject.toml, validation.

Precedence, highest first:

1. flake8 options (``--djguide-...`` on the command line, or ``djguide-...``
   keys in flake8's own config file: ``.flake8``, ``setup.cfg``, ``tox.ini``);
2. the ``[tool.djguide]`` table of the nearest ``pyproject.toml`` that has one,
   found by walking up from the checked file;
3. the defaults below.

Every option has the same name in both places (``test-patterns`` in
pyproject.toml is ``--djguide-test-patterns`` / ``djguide-test-patterns`` for
flake8). Unknown keys and bad values raise :class:`ConfigError`, whose message
names the key and what is allowed.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

OptionValue = Union[bool, int, str, tuple[str, ...]]


class ConfigError(ValueError):
    """A configuration value or key is not allowed."""


@dataclass(frozen=True)
class Option:
    """One setting, usable as a flake8 option and as a ``[tool.djguide]`` key."""

    name: str
    kind: type  # bool, int, str or tuple (a list of strings)
    default: OptionValue
    help: str

    @property
    def flake8_flag(self) -> str:
        """The flake8 command-line flag, ``--djguide-<name>``."""
        return f"--djguide-{self.name}"

    @property
    def dest(self) -> str:
        """The attribute name in flake8's options namespace."""
        return "djguide_" + self.name.replace("-", "_")

    def describe_allowed(self) -> str:
        """What values are allowed, for error messages."""
        if self.kind is bool:
            return "true or false"
        if self.kind is int:
            return "a whole number >= 0"
        if self.kind is tuple:
            return "a list of strings (comma-separated for flake8)"
        return "a string"

    def convert(self, value: object, source: str) -> OptionValue:
        """Validate ``value`` (from TOML or flake8) and convert it to the option's type."""
        where = f"{source}: option '{self.name}'"
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
                return _BOOL_WORDS[value.strip().lower()]
            raise ConfigError(f"{where} must be {self.describe_allowed()}, got {value!r}")
        if self.kind is int:
            if isinstance(value, bool):
                raise ConfigError(f"{where} must be {self.describe_allowed()}, got {value!r}")
            try:
                number = value if isinstance(value, int) else int(str(value))
            except (TypeError, ValueError):
                raise ConfigError(
                    f"{where} must be {self.describe_allowed()}, got {value!r}"
                ) from None
            if number < 0:
                raise ConfigError(f"{where} must be {self.describe_allowed()}, got {value!r}")
            return number
        if self.kind is tuple:
            if isinstance(value, str):
                items = [part.strip() for part in value.replace("\n", ",").split(",")]
                return tuple(item for item in items if item)
            if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                return tuple(v.strip() for v in value if v.strip())
            raise ConfigError(f"{where} must be {self.describe_allowed()}, got {value!r}")
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where} must be {self.describe_allowed()}, got {value!r}")


_BOOL_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}

OPTIONS: dict[str, Option] = {}


def define(option: Option) -> Option:
    """Register an option; rule modules call this for their own options."""
    if option.name in OPTIONS and OPTIONS[option.name] != option:
        raise RuntimeError(f"option {option.name!r} defined twice")
    OPTIONS[option.name] = option
    return option


# File contexts (see docs/configuration). A pattern without "/" matches the
# basename; a pattern with "/" matches the whole path below the project root
# ("/"-separated, with a leading "/"), where "*" also matches "/".
define(
    Option(
        "test-patterns",
        tuple,
        ("test_*.py", "*_test.py", "tests.py", "conftest.py", "*/tests/*", "*/test/*"),
        "Paths of test code.",
    )
)
define(Option("migration-patterns", tuple, ("*/migrations/*",), "Paths of migrations."))
define(
    Option(
        "settings-patterns",
        tuple,
        ("settings.py", "settings_*.py", "*_settings.py", "*/settings/*"),
        "Paths of settings modules (a module assigning SECRET_KEY at top level is one too).",
    )
)
define(
    Option(
        "dev-settings-words",
        tuple,
        ("dev", "local", "test"),
        "A settings module whose basename, split at '_', '-' and '.', has a part containing "
        "one of these words is development settings.",
    )
)
define(
    Option(
        "dev-settings-names",
        tuple,
        ("ci",),
        "A settings module whose basename has a part equal to one of these is development "
        "settings.",
    )
)
define(
    Option(
        "command-patterns",
        tuple,
        ("*/management/commands/*",),
        "Paths of management commands.",
    )
)
define(
    Option(
        "factory-patterns",
        tuple,
        ("factories.py", "*/factories/*"),
        "Paths of test-data factories.",
    )
)
define(
    Option(
        "source-roots",
        tuple,
        ("src",),
        "Directories, relative to the project root, that hold top-level packages.",
    )
)
define(
    Option(
        "project-root",
        str,
        "",
        "The project root. Default: the nearest ancestor of the checked file holding "
        "manage.py, pyproject.toml, setup.cfg or .git.",
    )
)
define(
    Option(
        "max-file-lines",
        int,
        20000,
        "Files longer than this are skipped (generated data modules); 0 means no limit.",
    )
)
define(
    Option(
        "server",
        bool,
        False,
        "Check a single file (an editor's run) in a background server that keeps libcst and "
        "the model index loaded, started on first use (Unix only; see the README's 'Use in "
        "editors'). Runs on several files always check in the flake8 process.",
    )
)

define(
    Option(
        "baseline",
        str,
        "",
        "The baseline file of findings to suppress (relative paths are relative to the "
        "current directory). Default: the nearest .djguide-baseline.json, walking up from the "
        "checked file. 'off' reports every finding.",
    )
)


@dataclass(frozen=True)
class Settings:
    """Resolved option values for one file."""

    values: Mapping[str, OptionValue]

    def get(self, name: str) -> Any:
        """The value of option ``name`` (which must be defined)."""
        return self.values[name]

    def list(self, name: str) -> tuple[str, ...]:
        """The value of a list option."""
        value = self.values[name]
        assert isinstance(value, tuple)
        return value


def _load_rule_options() -> None:
    """Import the rule modules, which define their own options with :func:`define`."""
    from flake8_djguide.registry import all_rules

    all_rules()


def defaults() -> dict[str, OptionValue]:
    """The default value of every option."""
    _load_rule_options()
    return {name: option.default for name, option in OPTIONS.items()}


def validate_table(table: Mapping[str, object], source: str) -> dict[str, OptionValue]:
    """Check a ``[tool.djguide]`` table and convert its values."""
    _load_rule_options()
    result: dict[str, OptionValue] = {}
    for key, value in table.items():
        option = OPTIONS.get(key)
        if option is None:
            allowed = ", ".join(sorted(OPTIONS))
            raise ConfigError(
                f"{source}: unknown key '{key}' in [tool.djguide]; allowed: {allowed}"
            )
        result[key] = option.convert(value, source)
    return result


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.djguide]`` table, walking up.

    Decided from the parsed TOML (any spelling of the table: ``[ tool.djguide ]``,
    ``[tool."djguide"]``, dotted keys, inline tables), never from the text: a comment
    naming the table is not one. Raises :class:`ConfigError` for a file that mentions
    ``djguide`` but cannot be read or parsed.
    """
    return _find_pyproject_cached(str(start))


@functools.lru_cache(maxsize=256)
def _find_pyproject_cached(start: str) -> Path | None:
    directory = Path(start)
    for candidate in (directory, *directory.parents):
        path = candidate / "pyproject.toml"
        try:
            info = path.stat()
        except OSError:
            continue
        if _djguide_table(str(path), info.st_mtime_ns, info.st_size) is not None:
            return path
    return None


#: Bytes one of which a ``pyproject.toml`` holding a ``djguide`` key must contain (the
#: name itself, or a TOML escape spelling it in a quoted key). Other files are not parsed.
_MENTIONS = (b"djguide", b"\\u", b"\\U")


@functools.lru_cache(maxsize=64)
def _djguide_table(path: str, _mtime_ns: int, _size: int) -> dict[str, object] | None:
    """The ``tool.djguide`` table of the TOML file ``path``, ``None`` when it has none."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        if not os.path.isfile(path):
            return None
        raise ConfigError(f"{path}: cannot be read: {error.strerror or error}") from None
    if not any(word in data for word in _MENTIONS):
        return None
    # imported here: most projects' pyproject.toml never names the table (2 ms a run)
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not valid UTF-8 (byte {error.start}), so [tool.djguide] cannot be read"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"{path}: invalid TOML, so [tool.djguide] cannot be read: {error}"
        ) from None
    tool = document.get("tool")
    if not isinstance(tool, dict) or "djguide" not in tool:
        return None
    table = tool["djguide"]
    if not isinstance(table, dict):
        raise ConfigError(
            f"{path}: key 'tool.djguide' must be a table ([tool.djguide]), "
            f"got {type(table).__name__} {table!r}"
        )
    return table


@functools.lru_cache(maxsize=64)
def load_pyproject(path: Path) -> dict[str, OptionValue]:
    """Read and validate the ``[tool.djguide]`` table of ``path``."""
    try:
        info = path.stat()
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read: {error.strerror or error}") from None
    table = _djguide_table(str(path), info.st_mtime_ns, info.st_size)
    return validate_table(table or {}, str(path))


def directory_of(filename: str) -> Path:
    """The directory in which to start looking for configuration for ``filename``."""
    if filename in ("-", "stdin", ""):
        return Path.cwd()
    return Path(os.path.abspath(filename)).parent


def resolve(filename: str, overrides: Mapping[str, OptionValue]) -> Settings:
    """Settings for one file: defaults < pyproject.toml < flake8 options (``overrides``)."""
    values = defaults()
    pyproject = find_pyproject(directory_of(filename))
    if pyproject is not None:
        values.update(load_pyproject(pyproject))
    values.update(overrides)
    return Settings(values)


def flake8_overrides(namespace: object) -> dict[str, OptionValue]:
    """Options explicitly given to flake8 (``None`` means not given), validated."""
    _load_rule_options()
    result: dict[str, OptionValue] = {}
    for option in OPTIONS.values():
        value = getattr(namespace, option.dest, None)
        if value is None:
            continue
        result[option.name] = option.convert(value, "flake8 configuration")
    return result


def unknown_flake8_keys(keys: Iterable[str]) -> list[str]:
    """Warnings for keys of flake8's configuration that look like a flake8-djguide option
    (they start with ``djg``) but are none: flake8 ignores unknown keys without a word."""
    _load_rule_options()
    known = sorted(option.flake8_flag[2:] for option in OPTIONS.values())
    warnings = []
    for key in keys:
        normal = key.strip().lower().replace("_", "-")
        if not normal.startswith("djg") or normal in known:
            continue
        import difflib

        close = difflib.get_close_matches(normal, known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "'djguide explain' lists the options"
        warnings.append(
            f"flake8-djguide: warning: unknown option '{key}' in the flake8 configuration "
            f"(flake8 ignores it); {hint}"
        )
    return warnings


def iter_options() -> Iterable[Option]:
    """Every defined option, sorted by name."""
    _load_rule_options()
    return (OPTIONS[name] for name in sorted(OPTIONS))
