"""Shared helpers of the robustness tests: realistic flake8 runs, in process and as a command.

``flake8_options`` builds the options namespace the way flake8 itself does (its own
option parser, with this plugin registered), so ``Plugin.parse_options`` sees what it
sees in a real run. ``run_flake8`` runs the ``flake8`` command in a subprocess and
parses its output.
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flake8_djguide.plugin import Plugin
from flake8_djguide.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent

#: The file contexts every generated program is checked under: paths in a small
#: project (see :func:`make_project`), relative to its root.
CONTEXTS = {
    "module": "shop/blog/views.py",
    "models": "shop/blog/models.py",
    "test": "shop/blog/tests/test_views.py",
    "settings": "config/settings/production.py",
    "dev-settings": "config/settings/local.py",
    "command": "shop/blog/management/commands/sync_posts.py",
    "migration": "shop/blog/migrations/0002_post_slug.py",
    "factories": "shop/blog/factories.py",
    "consumer": "shop/chat/consumers.py",
    "serializers": "shop/api/serializers.py",
}

_PROJECT_FILES = {
    "manage.py": "import os\nimport sys\n",
    "config/__init__.py": "",
    "config/settings/__init__.py": "",
    "shop/__init__.py": "",
    "shop/blog/__init__.py": "",
    "shop/blog/tests/__init__.py": "",
    "shop/blog/management/__init__.py": "",
    "shop/blog/migrations/__init__.py": "",
    "shop/chat/__init__.py": "",
    "shop/api/__init__.py": "",
    "shop/blog/models.py": (
        "from django.db import models\n\n\n"
        "class Category(models.Model):\n    name = models.CharField(max_length=50)\n\n\n"
        "class Post(models.Model):\n"
        "    category = models.ForeignKey(Category, on_delete=models.CASCADE)\n"
        "    tags = models.ManyToManyField('Tag', related_name='posts')\n"
        "    title = models.CharField(max_length=200)\n"
    ),
}


def make_project(root: Path) -> dict[str, str]:
    """Write a small Django project under ``root``; return ``{context: absolute path}``."""
    for relative, text in _PROJECT_FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    contexts = {name: str(root / relative) for name, relative in CONTEXTS.items()}
    contexts["stdin"] = "stdin"  # flake8's name for standard input without a display name
    return contexts


#: flake8's ``--select`` for every rule: ``DJG`` is the default set, opt-in rules need
#: their full code.
EVERY_RULE = "--select=DJG,E,F,W," + ",".join(rule.CODE for rule in all_rules() if rule.OPT_IN)

_PLUGIN_STATE = ("_overrides", "_options", "_engines", "_selection", "_configured")


@contextmanager
def plugin_state() -> Iterator[None]:
    """Restore the class-level state ``Plugin.parse_options`` sets, after the block."""
    saved = {name: getattr(Plugin, name) for name in _PLUGIN_STATE}
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(Plugin, name, value)


@contextmanager
def flake8_options(*argv: str) -> Iterator[argparse.Namespace]:
    """flake8's own option parsing (config files ignored), with ``Plugin`` state restored after."""
    from flake8.options.parse_args import parse_args

    with plugin_state():
        _plugins, options = parse_args(["--isolated", *argv])
        yield options


def plugin_results(source: str, filename: str) -> list[tuple[int, int, str]]:
    """What flake8 gets from the plugin for ``source``, built the way flake8 builds it."""
    # flake8 reads a file with universal newlines: lines end at "\n", "\r\n" or "\r"
    # (all made "\n"), never at the other characters str.splitlines() breaks at
    lines = io.StringIO(source, newline=None).readlines()
    tree = ast.parse("".join(lines))
    results = []
    for line, col, message, kind in Plugin(tree, lines, filename).run():
        assert kind is Plugin
        assert isinstance(line, int) and isinstance(col, int) and isinstance(message, str)
        results.append((line, col, message))
    return results


@dataclass(frozen=True)
class Flake8Run:
    """One run of the ``flake8`` command."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def findings(self) -> list[tuple[str, int, int, str]]:
        """``(path, line, col, message)`` of every reported line (flake8's default format)."""
        found = []
        for line in self.stdout.splitlines():
            match = _LINE.match(line)
            assert match, f"unexpected flake8 output line: {line!r}"
            path, row, col, message = match.groups()
            found.append((path, int(row), int(col), message))
        return found

    def assert_clean(self) -> None:
        """No traceback, and an exit status that means "ran; found something or nothing"."""
        assert "Traceback" not in self.stderr, self.stderr[-4000:]
        assert "Traceback" not in self.stdout, self.stdout[-4000:]
        assert self.returncode in (0, 1), (self.returncode, self.stderr[-4000:])


_LINE = re.compile(r"^(.*?):(\d+):(\d+): (.*)$")


def run_flake8(
    args: Sequence[str],
    cwd: Path | str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 3600,
) -> Flake8Run:
    """Run ``python -m flake8 ARGS`` (this interpreter, so this installation) in ``cwd``."""
    environment = dict(os.environ if env is None else env)
    environment.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    process = subprocess.run(
        [sys.executable, "-m", "flake8", *args],
        cwd=str(cwd),
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Flake8Run(process.returncode, process.stdout, process.stderr)
