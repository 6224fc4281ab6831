"""``cst``: the libcst module, imported on first use.

flake8 imports every plugin at start-up, and ``import libcst`` costs about
0.2 s. Rule modules use ``cst`` from here so that a run in which no rule can
fire (decided from the ``ast`` tree) never pays for it.
"""

from __future__ import annotations

import types
from typing import Any


class _LazyModule(types.ModuleType):
    def __init__(self, target: str) -> None:
        super().__init__(f"flake8_djguide._lazy.{target}")
        self._target = target

    def __getattr__(self, name: str) -> Any:
        import importlib

        module = importlib.import_module(self._target)
        # Later look-ups hit the instance dict directly, with no __getattr__ call.
        self.__dict__.update(module.__dict__)
        return getattr(module, name)


cst: Any = _LazyModule("libcst")
