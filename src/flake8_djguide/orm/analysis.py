"""The ORM analysis assembled: :class:`Analysis` (one per parsed chunk, shared by
the ORM rules through the file context) and :func:`analysis_for`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flake8_djguide.index import FileIndex
from flake8_djguide.index.querysets import Path
from flake8_djguide.orm.calls import Calls
from flake8_djguide.orm.drf import DrfViews
from flake8_djguide.orm.expressions import Expressions
from flake8_djguide.orm.interpreter import Statements
from flake8_djguide.orm.loaders import SerializerLoaders
from flake8_djguide.orm.rendering import RenderedRows
from flake8_djguide.orm.rows import RowReads
from flake8_djguide.orm.scope import Scope
from flake8_djguide.orm.serializers import SerializerReads
from flake8_djguide.orm.sql import SqlChecks
from flake8_djguide.orm.summaries import Summaries
from flake8_djguide.orm.templates import TemplateViews
from flake8_djguide.orm.views import ViewModel

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
    from flake8_djguide.orm.scope import ClassInfo
    from flake8_djguide.orm.values import Finding, Frame
else:
    from flake8_djguide._lazy import cst


def analysis_for(ctx: FileContext, module: cst.Module) -> Analysis:
    """The shared analysis of one parsed chunk (computed once for all ORM rules)."""
    # Only the current chunk's: an older one would keep its tree alive.
    found: Analysis | None = ctx.__dict__.get("_djguide_orm")
    if found is None or found.module is not module:
        found = Analysis(ctx, module)
        ctx.__dict__["_djguide_orm"] = found
    return found


class Analysis(
    Statements,
    Expressions,
    RowReads,
    Calls,
    Summaries,
    ViewModel,
    RenderedRows,
    DrfViews,
    SerializerReads,
    SerializerLoaders,
    TemplateViews,
    SqlChecks,
):
    """Walks one chunk and records the ORM findings of every code."""

    def __init__(self, ctx: FileContext, module: cst.Module) -> None:
        self.ctx = ctx
        self.module = module
        self._file_index: FileIndex | None = None
        self.findings: list[Finding] = []
        self.frames: list[Frame] = []
        self.functions: list[cst.FunctionDef] = []  # the enclosing function definitions
        self.class_infos: dict[str, ClassInfo] = {}  # the chunk's classes walked so far
        self._reported: set[tuple[str, int]] = set()
        # Keyed by the Frame itself (identity-hashed), not id(frame): a finished loop's
        # frame is freed and its id reused by a later loop, which would hide its findings.
        self._seen_paths: set[tuple[Frame | None, Path]] = set()
        self._bare_reads: dict[Frame, set[Path]] = {}
        self._bare_missing: list[tuple[Finding, Frame, Path]] = []
        self._network_names: dict[int, frozenset[str]] = {}
        self._counted: list[tuple[Finding, Frame, Path, str]] = []
        self._counted_uses: dict[tuple[Frame, Path], set[str]] = {}
        scope = Scope(self, module.body, None, kind="module")
        for statement in module.body:
            self._visit(statement, scope)
