"""Write docs/rules.md from the rule classes: ``python scripts/gen_docs.py``."""

from __future__ import annotations

from pathlib import Path

from flake8_djguide.docs import render

if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
