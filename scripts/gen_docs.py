"""Write docs/rules.md and the README's rule table: ``python scripts/gen_docs.py``."""

from __future__ import annotations

from pathlib import Path

from flake8_djguide.docs import render, update_readme

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    (ROOT / "docs" / "rules.md").write_text(render(), encoding="utf-8")
    readme = ROOT / "README.md"
    readme.write_text(update_readme(readme.read_text(encoding="utf-8")), encoding="utf-8")
    print("wrote docs/rules.md and the README rule table")
