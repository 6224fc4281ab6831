"""The flake8 entry point (``flake8.extension``, code prefix ``DJG``)."""

from __future__ import annotations

import argparse
import ast
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from flake8_djguide import __version__, baseline, config
from flake8_djguide.engine import Engine, Remote, error_finding
from flake8_djguide.registry import all_rules, opt_in_codes
from flake8_djguide.rule import Rule

#: ignore entries that are prefixes of "DJG" and so switch off every DJG code.
_SHADOWING = ("D", "DJ")


class Plugin:
    """flake8 runs one instance per file and reads findings from :meth:`run`."""

    name = "flake8-djguide"
    version = __version__

    _overrides: ClassVar[dict[str, config.OptionValue]] = {}
    _options: ClassVar[argparse.Namespace | None] = None
    _engines: ClassVar[dict[tuple[str, ...], Engine]] = {}
    _per_file: ClassVar[list[tuple[str, list[str]]]] = []
    _configured: ClassVar[bool] = False
    #: The check server's client, for a run on one file with the ``server`` option.
    _remote: ClassVar[Remote | None] = None

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str) -> None:
        self.tree = tree
        self.lines = lines
        self.filename = filename

    # -- options --------------------------------------------------------------------------

    @classmethod
    def add_options(cls, manager: Any) -> None:
        """Register ``--djguide-*`` options and default-ignore the opt-in rules."""
        all_rules()  # rule modules define their own options when imported
        for option in config.iter_options():
            manager.add_option(
                option.flake8_flag,
                default=None,
                parse_from_config=True,
                dest=option.dest,
                help=f"{option.help} ({option.describe_allowed()}; flake8-djguide)",
            )
        manager.extend_default_ignore(opt_in_codes())

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        """Validate the options, decide which rules flake8 selects, warn on shadowing."""
        from flake8.exceptions import ExecutionError
        from flake8.utils import parse_files_to_codes_mapping

        all_rules()
        try:
            cls._overrides = config.flake8_overrides(options)
            starts = {config.directory_of("")}
            for path in getattr(options, "filenames", None) or []:
                if os.path.isdir(path):
                    starts.add(config.directory_of(os.path.join(path, "__init__.py")))
                elif os.path.exists(path):
                    starts.add(config.directory_of(path))
            for start in starts:
                pyproject = config.find_pyproject(start)
                if pyproject is not None:
                    config.load_pyproject(pyproject)
        except config.ConfigError as error:
            raise ExecutionError(f"flake8-djguide: {error}") from None
        cls._options = options
        cls._engines = {}
        cls._per_file = parse_files_to_codes_mapping(getattr(options, "per_file_ignores", ""))
        cls._configured = True
        _warn_shadowing(options)
        cls._remote = _server_client(options, cls._overrides)
        if cls._remote is None:
            _prebuild_index(options)

    # -- per file ---------------------------------------------------------------------------

    @classmethod
    def _engine_for(cls, filename: str) -> Engine:
        """The engine holding the rules flake8 would report for ``filename``."""
        extra: tuple[str, ...] = ()
        if cls._per_file:
            extra = _per_file_ignores(cls._per_file, filename)
        engine = cls._engines.get(extra)
        if engine is None:
            engine = Engine(selected_rules(cls._options, extra))
            cls._engines[extra] = engine
        return engine

    def run(self) -> Iterator[tuple[int, int, str, type[Plugin]]]:
        """Yield ``(line, column, message, type)`` for each finding."""
        try:
            settings = config.resolve(self.filename, self._overrides)
            engine = self._engine_for(self.filename)
            if not engine.rules:
                return
            engine.remote = Plugin._remote if settings.get("server") else None
            result = engine.check(
                self.lines, self.filename, settings, tree=self.tree, release_trees=True
            )
            findings = baseline.suppress(
                result.findings, self.lines, self.filename, settings, tree=self.tree
            )
        except config.ConfigError as error:
            findings = [error_finding(error)]
        except Exception as error:
            findings = [error_finding(error)]
        for finding in findings:
            yield finding.line, finding.col, finding.message, type(self)


def _server_client(
    options: argparse.Namespace, overrides: dict[str, config.OptionValue]
) -> Remote | None:
    """The check server's client when flake8 checks one file (or stdin) with ``server`` on.

    A run on several files checks them in its own processes, which import libcst
    once for many files.
    """
    filenames = list(getattr(options, "filenames", None) or [])
    if len(filenames) != 1 or (filenames[0] != "-" and not os.path.isfile(filenames[0])):
        return None
    name = filenames[0]
    if name == "-":
        name = getattr(options, "stdin_display_name", None) or "-"
    try:
        if not config.resolve(name, overrides).get("server"):
            return None
    except config.ConfigError:
        return None
    from flake8_djguide.server import Client

    return Client()


def _prebuild_index(options: argparse.Namespace) -> None:
    """Build the model index before flake8 forks its workers, when an ORM rule needs it."""
    if not any(rule.CODE in _INDEX_RULES for rule in selected_rules(options)):
        return
    try:
        from flake8_djguide.index import prebuild

        prebuild(getattr(options, "filenames", None) or [], Plugin._overrides)
    except Exception:  # the index is then built lazily per file
        return


#: Rules that read the project model index.
_INDEX_RULES = frozenset({"DJG201", "DJG202", "DJG203"})


def selected_rules(
    options: argparse.Namespace | None, extra_ignore: Sequence[str] = ()
) -> list[type[Rule]]:
    """The rules whose codes flake8's select/ignore decision would report."""
    rules = list(all_rules())
    if options is None:
        return [rule for rule in rules if not rule.OPT_IN]
    from flake8.style_guide import Decision, DecisionEngine

    if extra_ignore:
        options = argparse.Namespace(**vars(options))
        options.extend_ignore = [*(options.extend_ignore or []), *extra_ignore]
    decider = DecisionEngine(options)
    return [rule for rule in rules if decider.decision_for(rule.CODE) is Decision.Selected]


def _per_file_ignores(mapping: list[tuple[str, list[str]]], filename: str) -> tuple[str, ...]:
    """The codes flake8's per-file-ignores add for ``filename`` (its longest matching pattern)."""
    from flake8 import utils

    best: tuple[str, list[str]] | None = None
    for pattern, codes in mapping:
        normalized = utils.normalize_path(pattern)
        if (
            utils.fnmatch(filename, [normalized])
            or utils.fnmatch(os.path.abspath(filename), [normalized])
        ) and (best is None or len(normalized) > len(best[0])):
            best = (normalized, codes)
    return tuple(best[1]) if best else ()


def _warn_shadowing(options: argparse.Namespace) -> None:
    """Warn once when an ignore entry such as ``D`` or ``DJ`` switches off every DJG code."""
    entries = [*(options.ignore or []), *(getattr(options, "extend_ignore", None) or [])]
    shadowing = sorted({e for e in entries if e in _SHADOWING})
    if not shadowing:
        return
    without = argparse.Namespace(**vars(options))
    without.ignore = [e for e in options.ignore or [] if e not in _SHADOWING] or None
    without.extend_ignore = [
        e for e in getattr(options, "extend_ignore", None) or [] if e not in _SHADOWING
    ]
    lost = {r.CODE for r in selected_rules(without) if not r.OPT_IN} - {
        r.CODE for r in selected_rules(options)
    }
    if not lost:
        return
    listed = ", ".join(f"'{e}'" for e in shadowing)
    sys.stderr.write(
        f"flake8-djguide: warning: the ignore entry {listed} also matches every DJG code, "
        "so flake8-djguide reports nothing. flake8 matches codes by prefix: ignore the other "
        "plugin's codes more precisely (for example 'D1' for pydocstyle, 'DJ0' for "
        "flake8-django) or add 'extend-select = DJG' to keep flake8-djguide on.\n"
    )
