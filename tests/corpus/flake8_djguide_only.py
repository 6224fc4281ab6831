"""flake8 with flake8-djguide as its only checker: ``python -m tests.corpus.flake8_djguide_only``.

Same command line as ``flake8``. pyflakes and pycodestyle are left out of the plugin
list, because pyflakes itself aborts the whole flake8 run (``"pyflakes[F]" failed
during execution due to RecursionError``) on the deeply nested files the corpus test
uses to push this plugin to the limits of ``ast``. Everything else is flake8's own:
option and config handling, file discovery, reading and decoding, the ``ast`` tree,
``-j`` multiprocessing, ``# noqa`` and the report format.
"""

from __future__ import annotations

import sys
from typing import Any

from flake8.plugins import finder

_find_plugins = finder.find_plugins


def _only_this_plugin(*args: Any, **kwargs: Any) -> list[finder.Plugin]:
    plugins = _find_plugins(*args, **kwargs)
    return [
        plugin
        for plugin in plugins
        if plugin.entry_point.group != "flake8.extension" or plugin.package == "flake8-djguide"
    ]


finder.find_plugins = _only_this_plugin  # type: ignore[assignment]

if __name__ == "__main__":
    from flake8.main.cli import main

    sys.exit(main())
