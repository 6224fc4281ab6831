"""The flake8 entry point (``flake8.extension``, code prefix ``DJG``)."""

from __future__ import annotations

import argparse
import ast
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from flake8_djguide import __version__, baseline, config
from flake8_djguide.engine import Engine, Remote, error_finding, freeze_long_lived
from flake8_djguide.registry import all_rules, opt_in_codes
from flake8_djguide.selection import Selection, selected_rules

__all__ = ["Plugin", "selected_rules"]

#: ignore entries that are prefixes of "DJG" and so switch off every DJG code.
_SHADOWING = ("D", "DJ")


class Plugin:
    """flake8 runs one instance per file and reads findings from :meth:`run`."""

    name = "flake8-djguide"
    version = __version__

    _overrides: ClassVar[dict[str, config.OptionValue]] = {}
    _options: ClassVar[argparse.Namespace | None] = None
    _engines: ClassVar[dict[tuple[str, ...], Engine]] = {}
    #: Which rules run on which file (flake8's own decision, per-file-ignores included).
    _selection: ClassVar[Selection | None] = None
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
        cls._selection = Selection(options)
        cls._configured = True
        _warn_unknown_keys(options)
        _warn_shadowing(options)
        cls._remote = _server_client(options, cls._overrides)
        if cls._remote is None:
            _prebuild_index(options, cls._selection)

    # -- per file ---------------------------------------------------------------------------

    @classmethod
    def _engine_for(cls, filename: str) -> Engine:
        """The engine holding the rules flake8 would report for ``filename``."""
        selection = cls._selection
        if selection is None or selection.options is not cls._options:
            selection = cls._selection = Selection(cls._options)
        rules = selection.rules_for(filename)
        key = tuple(rule.CODE for rule in rules)
        engine = cls._engines.get(key)
        if engine is None:
            engine = Engine(rules)
            cls._engines[key] = engine
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


def _prebuild_index(options: argparse.Namespace, selection: Selection) -> None:
    """Build the model index before flake8 forks its workers, when an ORM rule needs it."""
    if not selection.any_file_runs(_INDEX_RULES):
        return
    paths = getattr(options, "filenames", None) or []
    try:
        from flake8_djguide.index import prebuild

        prebuild(paths, Plugin._overrides)
    except Exception:  # the index is then built lazily per file
        return
    if _parallel(options, paths):
        _import_parser()
    freeze_long_lived()


def _parallel(options: argparse.Namespace, paths: Sequence[str]) -> bool:
    """Whether flake8 will check ``paths`` in worker processes forked from this one
    (``--jobs``, ``auto`` by default), as it does for a directory or several files, not
    for one file or stdin."""
    if not paths or "-" in paths or (len(paths) == 1 and not os.path.isdir(paths[0])):
        return False
    import multiprocessing

    method = multiprocessing.get_start_method(allow_none=True)
    if (method or multiprocessing.get_all_start_methods()[0]) != "fork":
        return False  # workers started afresh inherit no module
    jobs = getattr(options, "jobs", None)
    if getattr(jobs, "is_auto", False):
        return (os.cpu_count() or 1) > 1
    return isinstance(getattr(jobs, "n_jobs", None), int) and jobs.n_jobs > 1  # type: ignore[union-attr]


def _import_parser() -> None:
    """Import libcst (about 0.15 s of CPU) and the ORM analysis once, before flake8 forks
    its workers, instead of once in each worker that parses a file."""
    try:
        import flake8_djguide.orm.analysis
        import flake8_djguide.positions
        import flake8_djguide.walker  # noqa: F401  (imports libcst)
    except Exception:  # a worker then imports them when a file needs them
        return


#: Rules that read the project model index.
_INDEX_RULES = frozenset({"DJG201", "DJG202", "DJG203"})


#: Warnings already printed by this process (flake8 may parse the options twice).
_WARNED: set[str] = set()


def _warn_unknown_keys(options: argparse.Namespace) -> None:
    """Warn about ``djguide-*`` keys of flake8's configuration that are no option (typos)."""
    from flake8.options.config import load_config

    try:
        cfg, _directory = load_config(
            getattr(options, "config", None),
            list(getattr(options, "append_config", None) or []),
            isolated=bool(getattr(options, "isolated", False)),
        )
        keys = list(cfg["flake8"]) if cfg.has_section("flake8") else []
    except Exception:  # flake8 itself reports configuration files it cannot read
        return
    for warning in config.unknown_flake8_keys(keys):
        if warning not in _WARNED:
            _WARNED.add(warning)
            sys.stderr.write(warning + "\n")


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
        "flake8-django) or add 'extend-select = DJG', which selects the default set "
        "(opt-in rules stay off unless their full code is selected).\n"
    )
