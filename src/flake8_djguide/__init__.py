"""flake8-djguide: a flake8 plugin that enforces a Django team's coding guide."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
