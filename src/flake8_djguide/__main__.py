"""``python -m flake8_djguide``: the ``djguide`` command."""

from __future__ import annotations

import sys

from flake8_djguide.cli import main

if __name__ == "__main__":
    sys.exit(main())
