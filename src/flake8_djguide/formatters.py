"""flake8 report formatters for CI: ``--format=sarif`` and ``--format=github``.

Both are ``flake8.report`` plugins and format every code flake8 reports, not only
``DJG`` ones. flake8 hands a formatter :class:`flake8.violation.Violation` objects whose
``column_number`` is already 1-based (flake8 adds one to the 0-based column a check
reports), which is what SARIF regions and GitHub annotations want.

* :class:`SarifFormatter` writes one SARIF 2.1.0 log with one run when flake8 finishes.
  ``DJG`` rules carry their description, rationale and documentation link; other codes get
  a minimal rule entry. Paths are relative to the current directory (``%SRCROOT%``), as
  code scanning expects when flake8 runs at the repository root.
* :class:`GithubFormatter` writes one workflow command per finding,
  ``::error file=app/views.py,line=3,col=5,title=DJG201::DJG201 ...``, which GitHub Actions
  shows as an annotation on the pull request's diff.

flake8 has no severities and any reported finding fails its run, so every finding is
reported at level ``error``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flake8.formatting.base import BaseFormatter

if TYPE_CHECKING:
    from flake8.statistics import Statistics
    from flake8.violation import Violation

    from flake8_djguide.rule import Rule

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SARIF_VERSION = "2.1.0"
PYPI_URL = "https://pypi.org/project/flake8-djguide/"
SRCROOT = "%SRCROOT%"
LEVEL = "error"


# -- paths -----------------------------------------------------------------------------------


def relative_path(filename: str, root: str | None = None) -> str | None:
    """``filename`` relative to ``root`` (default: the current directory), ``/``-separated.

    ``None`` when the file is not below ``root`` (another drive, or ``..`` needed).
    """
    base = root if root is not None else os.getcwd()
    try:
        relative = os.path.relpath(os.path.abspath(filename), base)
    except ValueError:  # another drive on Windows
        return None
    relative = relative.replace(os.sep, "/")
    if relative == ".." or relative.startswith("../"):
        return None
    return relative


def display_path(filename: str) -> str:
    """The path GitHub should annotate: relative to the current directory when below it."""
    relative = relative_path(filename)
    return relative if relative is not None else filename.replace(os.sep, "/")


# -- GitHub Actions workflow commands --------------------------------------------------------


def escape_data(text: str) -> str:
    """Escape a workflow command's message (the part after ``::``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property value (``file=``, ``title=``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubFormatter(BaseFormatter):  # type: ignore[misc]
    """``--format=github``: one GitHub Actions ``::error`` command per finding."""

    def format(self, error: Violation) -> str | None:
        """The workflow command for one finding."""
        properties = [("file", display_path(error.filename))]
        if error.line_number >= 1:
            properties.append(("line", str(error.line_number)))
            properties.append(("col", str(max(error.column_number, 1))))
        properties.append(("title", error.code))
        rendered = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
        return f"::{LEVEL} {rendered}::{escape_data(f'{error.code} {error.text}')}"

    def show_source(self, error: Violation) -> str | None:
        """Never: a workflow command must stay on one line."""
        return None


# -- SARIF 2.1.0 -----------------------------------------------------------------------------


def project_urls() -> dict[str, str]:
    """The installed distribution's ``Project-URL`` entries, by lower-cased label."""
    from importlib import metadata

    try:
        entries = metadata.metadata("flake8-djguide").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return {}
    urls = {}
    for entry in entries:
        label, _, url = entry.partition(",")
        urls[label.strip().lower()] = url.strip()
    return urls


def information_uri(urls: dict[str, str]) -> str:
    """The project's home page (``Project-URL: Homepage``, ``Source`` or ``Repository``)."""
    for label in ("homepage", "source", "repository"):
        if urls.get(label):
            return urls[label]
    return PYPI_URL


def rules_doc_uri(urls: dict[str, str]) -> str:
    """Where docs/rules.md is published (``Project-URL: Documentation``), else PyPI."""
    return urls.get("documentation") or PYPI_URL


def _first_sentence(text: str) -> str:
    paragraph = text.strip().split("\n\n")[0]
    return " ".join(paragraph.split())


def djg_rule_descriptor(rule: type[Rule], docs_uri: str) -> dict[str, Any]:
    """A SARIF ``reportingDescriptor`` for a DJG rule, from the rule class."""
    import inspect

    from flake8_djguide.docs import anchor

    description = " ".join(inspect.cleandoc(rule.__doc__ or "").split())
    help_uri = f"{docs_uri.split('#')[0]}#{anchor(rule)}"
    markdown = [f"**{rule.CODE} {rule.NAME}.** {description}", f"**Why.** {rule.RATIONALE}"]
    if rule.NOTES:
        markdown.append(f"**Details.** {rule.NOTES}")
    if rule.INVALID:
        markdown.append("**Example.**\n\n```python\n" + rule.INVALID[0].code.rstrip() + "\n```")
    if rule.VALID:
        markdown.append("**Use instead.**\n\n```python\n" + rule.VALID[0].code.rstrip() + "\n```")
    markdown.append(f"**Guide.** {rule.GUIDE}")
    markdown.append(f"[Documentation]({help_uri})")
    return {
        "id": rule.CODE,
        "name": rule.NAME,
        "shortDescription": {"text": _first_sentence(description)},
        "fullDescription": {"text": f"{description} {rule.RATIONALE}"},
        "help": {
            "text": f"{rule.RATIONALE} See {help_uri}",
            "markdown": "\n\n".join(markdown),
        },
        "helpUri": help_uri,
        "defaultConfiguration": {"enabled": not rule.OPT_IN, "level": LEVEL},
        "properties": {"tags": ["flake8-djguide", "django"]},
    }


def internal_error_descriptor(docs_uri: str) -> dict[str, Any]:
    """The descriptor of ``DJG000`` (a file flake8-djguide could not check)."""
    text = (
        "flake8-djguide could not check this file: a syntax error libcst rejects, an "
        "unreadable configuration or baseline, or an internal error. The message names it."
    )
    return {
        "id": "DJG000",
        "name": "check-failed",
        "shortDescription": {"text": "flake8-djguide could not check this file."},
        "fullDescription": {"text": text},
        "help": {"text": text},
        "helpUri": docs_uri.split("#")[0],
        "defaultConfiguration": {"level": LEVEL},
        "properties": {"tags": ["flake8-djguide"]},
    }


def artifact_location(filename: str) -> dict[str, str]:
    """A SARIF ``artifactLocation``: relative to ``%SRCROOT%`` when below the current directory."""
    relative = relative_path(filename)
    if relative is not None:
        return {"uri": quote(relative), "uriBaseId": SRCROOT}
    absolute = Path(os.path.abspath(filename))
    return {"uri": absolute.as_uri()}


class SarifFormatter(BaseFormatter):  # type: ignore[misc]
    """``--format=sarif``: one SARIF 2.1.0 log, written when flake8 finishes."""

    def after_init(self) -> None:
        """Start with no results."""
        self.violations: list[Violation] = []

    def start(self) -> None:
        """Open ``--output-file`` for writing: a SARIF log is one JSON document, not appended."""
        if self.filename:
            dirname = os.path.dirname(os.path.abspath(self.filename))
            os.makedirs(dirname, exist_ok=True)
            self.output_fd = open(self.filename, "w", encoding="utf-8")  # noqa: SIM115

    def handle(self, error: Violation) -> None:
        """Collect one finding; the log is written by :meth:`stop`."""
        self.violations.append(error)

    def format(self, error: Violation) -> str | None:
        """Unused: findings are collected, not formatted one by one."""
        return None

    def show_statistics(self, statistics: Statistics) -> None:
        """Nothing: ``--statistics`` text would make the output invalid JSON."""

    def show_benchmarks(self, benchmarks: list[tuple[str, float]]) -> None:
        """Nothing: ``--benchmark`` text would make the output invalid JSON."""

    def stop(self) -> None:
        """Write the SARIF log and close the output file."""
        import json

        self._write(json.dumps(self.log(), indent=2, ensure_ascii=False))
        super().stop()

    def log(self) -> dict[str, Any]:
        """The whole SARIF log for the collected findings."""
        from flake8_djguide import __version__
        from flake8_djguide.registry import all_rules

        urls = project_urls()
        docs_uri = rules_doc_uri(urls)
        descriptors: dict[str, dict[str, Any]] = {
            rule.CODE: djg_rule_descriptor(rule, docs_uri) for rule in all_rules()
        }
        for error in self.violations:
            if error.code not in descriptors:
                if error.code == "DJG000":
                    descriptors[error.code] = internal_error_descriptor(docs_uri)
                else:
                    descriptors[error.code] = {"id": error.code}
        ordered = [descriptors[code] for code in sorted(descriptors)]
        index = {descriptor["id"]: number for number, descriptor in enumerate(ordered)}
        results = [self._result(error, index[error.code]) for error in self.violations]
        run: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": "flake8-djguide",
                    "version": __version__,
                    "semanticVersion": __version__,
                    "informationUri": information_uri(urls),
                    "rules": ordered,
                }
            },
            "originalUriBaseIds": {SRCROOT: {"uri": Path(os.getcwd()).as_uri().rstrip("/") + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }
        return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}

    @staticmethod
    def _result(error: Violation, rule_index: int) -> dict[str, Any]:
        physical: dict[str, Any] = {"artifactLocation": artifact_location(error.filename)}
        if error.line_number >= 1:
            physical["region"] = {
                "startLine": error.line_number,
                "startColumn": max(error.column_number, 1),
            }
        return {
            "ruleId": error.code,
            "ruleIndex": rule_index,
            "level": LEVEL,
            "message": {"text": error.text},
            "locations": [{"physicalLocation": physical}],
        }
