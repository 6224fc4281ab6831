"""The README's install snippets and the SARIF documentation links point at real things.

Until the package is published on PyPI it is installed from its repository: pre-commit
through the repository's own ``.pre-commit-hooks.yaml``, CI through ``pip install`` of a
``git+`` URL. These tests tie every snippet to ``[project.urls]`` and the package version,
and every SARIF ``helpUri`` to a section of ``docs/rules.md``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from packaging.requirements import Requirement

from flake8_djguide import __version__
from flake8_djguide.docs import anchor
from flake8_djguide.formatters import (
    SarifFormatter,
    djg_rule_descriptor,
    information_uri,
    internal_error_descriptor,
    project_urls,
    rules_doc_uri,
)
from flake8_djguide.registry import all_rules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
URLS = PYPROJECT["project"]["urls"]
REPOSITORY = URLS["Repository"]


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", README, flags=re.DOTALL)


def hook_ids() -> list[str]:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    return re.findall(r"^- id: (\S+)", text, flags=re.MULTILINE)


def test_pre_commit_snippet_uses_the_repository_and_its_hooks() -> None:
    snippets = [block for block in yaml_blocks() if f"repo: {REPOSITORY}\n" in block]
    assert snippets, "the README has no pre-commit snippet for the repository"
    for block in snippets:
        after = block.split(f"repo: {REPOSITORY}\n", 1)[1]
        assert re.match(rf"\s+rev: v{re.escape(__version__)}\n", after)
        ids = re.findall(r"^\s+(?:# )?- id: (\S+)", after, flags=re.MULTILINE)
        assert ids and set(ids) <= set(hook_ids())
    assert set(hook_ids()) == {"djguide", "djguide-fix"}


def _requirements() -> list[tuple[str, str]]:
    """Every flake8-djguide requirement a snippet installs, with the line it is on."""
    found = []
    for block in yaml_blocks():
        for line in block.splitlines():
            code = line.split(" #", 1)[0].strip()
            if code.startswith("#") or "flake8-djguide" not in code or "repo:" in code:
                continue
            for quoted in re.findall(r'"([^"]*flake8-djguide[^"]*)"', code):
                found.append((quoted, line))
            unquoted = re.sub(r'"[^"]*"', "", code)
            if re.search(r"(?<![\w/.-])flake8-djguide(?![\w/.-])", unquoted):
                found.append(("flake8-djguide", line))
    return found


def test_ci_and_flake8_hook_install_from_the_repository_until_published() -> None:
    requirements = _requirements()
    assert len(requirements) >= 3  # the flake8 hook, lint.yml and code-scanning.yml
    for text, line in requirements:
        requirement = Requirement(text)
        assert requirement.name == "flake8-djguide", line
        assert requirement.url == f"git+{REPOSITORY}@v{__version__}", line
    # the package index form is noted as the form once published
    assert "once published on PyPI: pip install flake8 flake8-djguide" in README
    assert f'once flake8-djguide is published on PyPI: - "flake8-djguide=={__version__}"' in (
        README
    )


def test_the_requirement_check_catches_a_package_index_install() -> None:
    """The test above can fail: a bare index requirement is found and has no URL."""
    global README
    saved = README
    README = README + "\n```yaml\n      - run: pip install flake8 flake8-djguide\n```\n"
    try:
        bare = [text for text, _line in _requirements() if Requirement(text).url is None]
    finally:
        README = saved
    assert bare == ["flake8-djguide"]


def test_documentation_url_is_the_rules_page_of_the_repository() -> None:
    assert URLS["Documentation"] == f"{REPOSITORY}/blob/main/docs/rules.md"
    # the installed metadata carries it, so SARIF links to it
    assert rules_doc_uri(project_urls()) == URLS["Documentation"]
    assert information_uri(project_urls()) == REPOSITORY


def _github_slug(heading: str) -> str:
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_every_help_uri_is_a_section_of_docs_rules_md() -> None:
    rules_md = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    slugs = {_github_slug(h) for h in re.findall(r"^#+ (.+)$", rules_md, flags=re.MULTILINE)}
    docs = URLS["Documentation"]
    for rule in all_rules():
        help_uri = djg_rule_descriptor(rule, docs)["helpUri"]
        page, _, fragment = help_uri.partition("#")
        assert page == docs
        assert fragment == anchor(rule) and fragment in slugs, rule.CODE


def test_without_a_documentation_url_there_is_no_help_uri() -> None:
    rule = all_rules()[0]
    descriptor = djg_rule_descriptor(rule, None)
    assert "helpUri" not in descriptor
    assert "[Documentation]" not in descriptor["help"]["markdown"]
    assert "helpUri" not in internal_error_descriptor(None)
    assert information_uri({}) is None and rules_doc_uri({}) is None


def test_sarif_driver_links_come_from_the_installed_metadata() -> None:
    import argparse

    options = argparse.Namespace(
        output_file=None, color="never", show_source=False, tee=False, format="sarif"
    )
    driver = SarifFormatter(options).log()["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == REPOSITORY
    assert all(rule["helpUri"].startswith(URLS["Documentation"]) for rule in driver["rules"])
