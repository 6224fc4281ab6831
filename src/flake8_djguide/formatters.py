"""flake8 report formatters for CI: ``--format=sarif`` and ``--format=github``.

Both are ``flake8.report`` plugins and format every code flake8 reports, not only
``DJG`` ones. flake8 hands a formatter :class:`flake8.violation.Violation` objects whose
``column_number`` is already 1-based (flake8 adds one to the 0-based column a check
reports), which is what SARIF regions and GitHub annotations want.

* :class:`SarifFormatter` writes one SARIF 2.1.0 log with one run when flake8 finishes.
  ``DJG`` rules carry their description, rationale and documentation link (``helpUri``:
  the ``Documentation`` entry of the package's ``[project.urls]``, which points at
  ``docs/rules.md``, with the rule's anchor; left out when there is none); other codes get
  a minimal rule entry. Paths are relative to the current directory (``%SRCROOT%``), as
  code scanning expects when flake8 runs at the repository root. Each result carries
  ``partialFingerprints`` with the baseline's fingerprint of the finding (its line and
  enclosing function or class, see :mod:`flake8_djguide.baseline`), so code scanning keeps
  tracking an alert when code moves above it.
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
#: The ``partialFingerprints`` key of the baseline's fingerprint (``<hash>:<occurrence>``).
FINGERPRINT_KEY = "djguideLineScopeHash/v2"
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


def information_uri(urls: dict[str, str]) -> str | None:
    """The project's home page (``Project-URL: Homepage``, ``Source`` or ``Repository``)."""
    for label in ("homepage", "source", "repository"):
        if urls.get(label):
            return urls[label]
    return None


def rules_doc_uri(urls: dict[str, str]) -> str | None:
    """Where docs/rules.md is published (``Project-URL: Documentation``), else ``None``."""
    return urls.get("documentation") or None


def _first_sentence(text: str) -> str:
    paragraph = text.strip().split("\n\n")[0]
    return " ".join(paragraph.split())


def djg_rule_descriptor(rule: type[Rule], docs_uri: str | None) -> dict[str, Any]:
    """A SARIF ``reportingDescriptor`` for a DJG rule, from the rule class.

    ``docs_uri`` is where ``docs/rules.md`` is published; without one there is no link.
    """
    import inspect

    from flake8_djguide.docs import anchor

    description = " ".join(inspect.cleandoc(rule.__doc__ or "").split())
    help_uri = f"{docs_uri.split('#')[0]}#{anchor(rule)}" if docs_uri else None
    markdown = [f"**{rule.CODE} {rule.NAME}.** {description}", f"**Why.** {rule.RATIONALE}"]
    if rule.NOTES:
        markdown.append(f"**Details.** {rule.NOTES}")
    if rule.INVALID:
        markdown.append("**Example.**\n\n```python\n" + rule.INVALID[0].code.rstrip() + "\n```")
    if rule.VALID:
        markdown.append("**Use instead.**\n\n```python\n" + rule.VALID[0].code.rstrip() + "\n```")
    markdown.append(f"**Guide.** {rule.GUIDE}")
    if help_uri:
        markdown.append(f"[Documentation]({help_uri})")
    descriptor: dict[str, Any] = {
        "id": rule.CODE,
        "name": rule.NAME,
        "shortDescription": {"text": _first_sentence(description)},
        "fullDescription": {"text": f"{description} {rule.RATIONALE}"},
        "help": {
            "text": f"{rule.RATIONALE} See {help_uri}" if help_uri else rule.RATIONALE,
            "markdown": "\n\n".join(markdown),
        },
        "defaultConfiguration": {"enabled": not rule.OPT_IN, "level": LEVEL},
        "properties": {"tags": ["flake8-djguide", "django"]},
    }
    if help_uri:
        descriptor["helpUri"] = help_uri
    return descriptor


def internal_error_descriptor(docs_uri: str | None) -> dict[str, Any]:
    """The descriptor of ``DJG000`` (a file flake8-djguide could not check)."""
    text = (
        "flake8-djguide could not check this file: a syntax error libcst rejects, an "
        "unreadable configuration or baseline, or an internal error. The message names it."
    )
    descriptor: dict[str, Any] = {
        "id": "DJG000",
        "name": "check-failed",
        "shortDescription": {"text": "flake8-djguide could not check this file."},
        "fullDescription": {"text": text},
        "help": {"text": text},
        "defaultConfiguration": {"level": LEVEL},
        "properties": {"tags": ["flake8-djguide"]},
    }
    if docs_uri:
        descriptor["helpUri"] = docs_uri.split("#")[0]
    return descriptor


def fingerprints(violations: list[Violation]) -> dict[int, str]:
    """The baseline's fingerprint (``<hash>:<occurrence>``) of each violation, by ``id()``.

    Computed from each file's lines on disk; violations of files that cannot be read
    (standard input, a deleted file) or that are not on a line get none.
    """
    from flake8_djguide import baseline

    by_file: dict[str, list[Violation]] = {}
    for violation in violations:
        if violation.line_number >= 1:
            by_file.setdefault(violation.filename, []).append(violation)
    found: dict[int, str] = {}
    for filename, items in by_file.items():
        if filename in ("-", "stdin") or not os.path.isfile(filename):
            continue
        try:
            lines = baseline.read_lines(filename)
        except OSError:
            continue
        scopes = baseline.Scopes.of_lines(lines)
        counts: dict[tuple[str, str], int] = {}
        for violation in sorted(items, key=lambda v: (v.line_number, v.column_number, v.code)):
            digest = baseline.fingerprint(lines, violation.line_number, scopes, violation.code)
            occurrence = counts.get((violation.code, digest), 0) + 1
            counts[(violation.code, digest)] = occurrence
            found[id(violation)] = f"{digest}:{occurrence}"
    return found


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
        prints = fingerprints(self.violations)
        results = [
            self._result(error, index[error.code], prints.get(id(error)))
            for error in self.violations
        ]
        driver: dict[str, Any] = {
            "name": "flake8-djguide",
            "version": __version__,
            "semanticVersion": __version__,
        }
        home = information_uri(urls)
        if home:
            driver["informationUri"] = home
        driver["rules"] = ordered
        run: dict[str, Any] = {
            "tool": {"driver": driver},
            "originalUriBaseIds": {SRCROOT: {"uri": Path(os.getcwd()).as_uri().rstrip("/") + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }
        return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}

    @staticmethod
    def _result(error: Violation, rule_index: int, fingerprint: str | None) -> dict[str, Any]:
        physical: dict[str, Any] = {"artifactLocation": artifact_location(error.filename)}
        if error.line_number >= 1:
            physical["region"] = {
                "startLine": error.line_number,
                "startColumn": max(error.column_number, 1),
            }
        result: dict[str, Any] = {
            "ruleId": error.code,
            "ruleIndex": rule_index,
            "level": LEVEL,
            "message": {"text": error.text},
            "locations": [{"physicalLocation": physical}],
        }
        if fingerprint is not None:
            result["partialFingerprints"] = {FINGERPRINT_KEY: fingerprint}
        return result
