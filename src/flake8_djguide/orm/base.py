""":class:`AnalysisBase`: the state every part of the ORM analysis shares (the file
context, the findings, the loops being walked), reporting, the model index, and the
signatures of the methods one part calls in another.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flake8_djguide.index import FileIndex, get_index
from flake8_djguide.index.project import Index, Model, Relation, Serializer
from flake8_djguide.index.querysets import Path
from flake8_djguide.orm.values import Finding

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
    from flake8_djguide.orm.scope import ClassInfo, Scope
    from flake8_djguide.orm.values import QS, Frame, Item, ModelClass, RelManager, Value
else:
    from flake8_djguide._lazy import cst


# -- the analysis ----------------------------------------------------------------------------------

_UNKNOWN: Any = object()


class AnalysisBase:
    """The shared state of the ORM analysis of one chunk (see :class:`Analysis`)."""

    ctx: FileContext
    module: cst.Module
    _file_index: FileIndex | None
    findings: list[Finding]
    frames: list[Frame]
    functions: list[cst.FunctionDef]
    class_infos: dict[str, ClassInfo]
    _reported: set[tuple[str, int]]
    _seen_paths: set[tuple[Frame | None, Path]]
    # relations a bare select_related() loads that a loop reads, and the findings whose
    # remedy must name them (completed by _settle_remedies)
    _bare_reads: dict[Frame, set[Path]]
    _bare_missing: list[tuple[Finding, Frame, Path]]
    _network_names: dict[int, frozenset[str]]  # per loop node: see RowReads._after_network
    # counts per row reported with the annotate() remedy, with the prefetch remedy that
    # replaces it when the loop also reads the rows (completed by _settle_remedies)
    _counted: list[tuple[Finding, Frame, Path, str]]
    _counted_uses: dict[tuple[Frame, Path], set[str]]

    if TYPE_CHECKING:
        # Implemented by the parts (Statements, Expressions, RowReads, Summaries,
        # DrfViews, SerializerReads, SerializerLoaders, TemplateViews,
        # SqlChecks) that Analysis assembles.

        def _visit(self, node: cst.CSTNode, scope: Scope) -> None: ...

        def _iteration(
            self, node: cst.CSTNode, value: Value, scope: Scope | None = None
        ) -> None: ...

        def _fresh(self, qs: QS) -> bool: ...

        def evaluate(self, node: cst.CSTNode, scope: Scope, quiet: bool) -> Value:
            """The value of an expression; unless ``quiet``, also report and visit its parts."""

        def _as_queryset(self, value: Value, text: str) -> QS | None: ...

        def _method(
            self, qs: QS, name: str, call: cst.Call, scope: Scope, quiet: bool
        ) -> Value: ...

        def _item_attr(
            self,
            item: Item,
            name: str,
            node: cst.CSTNode,
            call: cst.Call | None,
            links: list[Any],
            index: int,
            scope: Scope,
            quiet: bool,
        ) -> Value: ...

        def _related(
            self, manager: RelManager, name: str, call: cst.Call, scope: Scope, quiet: bool
        ) -> Value: ...

        def _class_method_rows(self, model: Model, name: str, call: cst.Call) -> Value: ...

        def _model_summary(self, model: Model, name: str) -> dict[str, Any] | None: ...

        def manager_rows(self, manager: RelManager) -> QS | None:
            """The rows of a single instance's related manager held in a variable."""

        def _untyped_link_write(
            self, receiver: cst.CSTNode, method: str, call: cst.Call, scope: Scope
        ) -> None: ...

        def _query(
            self, node: cst.CSTNode, method: str, qs: QS, scope: Scope | None = None
        ) -> None: ...

        def _range_remedy(self, filters: Sequence[cst.Call], scope: Scope | None) -> str | None: ...

        def _self_attr(
            self, cls: ClassInfo, name: str, call: cst.Call | None, scope: Scope
        ) -> Value: ...

        def class_attr_queryset(self, cls: ClassInfo) -> Value:
            """The value of the class attribute ``queryset``."""

        def class_queryset(self, cls: ClassInfo) -> Value:
            """What ``self.get_queryset()`` returns in ``cls``."""

        def returns_of(
            self, method: cst.FunctionDef, cls: ClassInfo
        ) -> list[tuple[cst.BaseExpression, Value]]:
            """``(returned expression, value)`` for each ``return`` of a method."""

        def _settle_remedies(self) -> None: ...

        def _after_network(self, filters: Sequence[cst.Call]) -> bool: ...

        def _operator_typed(self, node: cst.BaseExpression, scope: Scope) -> bool: ...

        def _check_view(self, info: ClassInfo, scope: Scope) -> None: ...

        def _global(self, name: str, scope: Scope) -> bool: ...

        def _class_model(self, cls: ClassInfo) -> Model | None: ...

        def _class_queryset(self, cls: ClassInfo, name: str) -> QS | None: ...

        def _live(self, item: Item) -> bool: ...

        def _covered(self, item: Item, path: Path, relation: Relation | None) -> bool: ...

        def _assigned(self, item: Item) -> set[str]: ...

        def _call_for(self, item: Item, path: Path, relation: Relation | None) -> str: ...

        def _key_function(self, call: cst.Call, scope: Scope) -> None: ...

        def _function_call(self, call: cst.Call, name: str, scope: Scope, quiet: bool) -> Value: ...

        def _self_call(self, cls: ClassInfo, name: str, call: cst.Call, scope: Scope) -> None: ...

        def _instance_call(
            self, item: Item, name: str, node: cst.CSTNode, call: cst.Call | None
        ) -> None: ...

        def _serializer_sink(self, call: cst.Call, scope: Scope) -> None:
            """Check a ``Serializer(rows, many=True)`` call (DJG203)."""

        def lineage(self, info: ClassInfo) -> list[str]:
            """The qualified names of a class's bases, nearest first."""

        def lists_generically(self, info: ClassInfo) -> bool:
            """Whether a view's ``list()`` is DRF's (or returns ``super().list()``)."""

        def listed_querysets(self, info: ClassInfo) -> list[tuple[cst.BaseExpression, Value]]:
            """``(node to report at, queryset)`` for what a list view lists."""

        def view_serializers(
            self, info: ClassInfo, action: str | None, http: str | None
        ) -> list[Serializer] | None:
            """The serializers ``get_serializer()`` uses for ``action``."""

        def super_queryset(self, info: ClassInfo, after: str | None = None) -> Value:
            """What the bases' ``get_queryset()`` returns for the view ``info``."""

        def bases_pass_queryset(self, info: ClassInfo) -> bool:
            """Whether the bases' ``get_queryset()`` gives ``self.queryset``'s rows."""

        def _defined_by_base(self, info: ClassInfo, method: str) -> str | None:
            """The nearest project base of ``info`` that defines ``method``."""

        def queryset_attr(self, info: ClassInfo) -> Value:
            """``self.queryset`` of a view: its own ``queryset =`` or the nearest base's."""

        def view_model(self, info: ClassInfo) -> ModelClass | None:
            """``self.model`` of a view (its own ``model =`` or the nearest base's)."""

        def requirements(
            self, serializer: Serializer, depth: int = 0, seen: set[str] | None = None
        ) -> dict[Path, tuple[frozenset[str], tuple[Relation, ...]]]:
            """Relation paths a serializer reads on each object: ``{path: (fields, relations)}``."""

        def _annotated_fields(
            self, serializers: list[Serializer], annotations: frozenset[str]
        ) -> frozenset[str]: ...

        def _check_serializer(self, info: ClassInfo) -> None: ...

        def _view_covers(self, qs: QS, path: Path, relations: tuple[Relation, ...]) -> bool: ...

        def _manager_loads(self, path: Path, relations: tuple[Relation, ...]) -> bool: ...

        def _report_view(
            self,
            node: cst.CSTNode,
            serializer: Serializer,
            missing: list[tuple[Path, tuple[frozenset[str], tuple[Relation, ...]]]],
        ) -> None: ...

        def _check_render(self, call: cst.Call, scope: Scope) -> None: ...

        def _check_template_view(self, info: ClassInfo) -> None: ...

        def _back_reference(
            self, first: Relation, second: Relation, origin: str | None
        ) -> bool: ...

        def _sql_sink(self, call: cst.Call, scope: Scope) -> None: ...

    @property
    def file_index(self) -> FileIndex:
        """The model index as seen from this file, built (or loaded) on first use only:
        most loops never look a model up, and an editor checking one file then never
        scans the project."""
        if self._file_index is None:
            self._file_index = get_index(self.ctx)
        return self._file_index

    def _may_name_a_class(self, name: str) -> bool:
        """Whether the index could resolve the module-level ``name`` to a class: it is
        imported (at module or class level) or bound at the top of the file, or the file
        has a star import."""
        names: frozenset[str] | None = self.ctx.__dict__.get("_djguide_bound", _UNKNOWN)
        if names is _UNKNOWN:
            from flake8_djguide.index.extract import import_map

            tree = getattr(self.ctx, "tree", None)
            names = None
            if isinstance(tree, ast.Module):
                imports, stars = import_map(tree)
                if not stars:
                    names = frozenset(imports) | frozenset(self.ctx.info.top_level_names)
            self.ctx.__dict__["_djguide_bound"] = names
        return names is None or name in names

    @property
    def index(self) -> Index:
        """The project's model index (see :attr:`file_index`)."""
        return self.file_index.index

    # -- reporting ---------------------------------------------------------------------------

    def report(self, code: str, node: cst.CSTNode, message: str) -> None:
        """Record one finding (once per code and node)."""
        self._record(Finding(code, node, message))

    def _record(self, finding: Finding) -> bool:
        """Record ``finding`` unless its code already has one at its node."""
        key = (finding.code, id(finding.node))
        if key in self._reported:
            return False
        self._reported.add(key)
        self.findings.append(finding)
        return True

    def findings_for(self, code: str) -> list[Finding]:
        """The findings of one rule."""
        if self._bare_missing or self._counted:
            self._settle_remedies()
        return [f for f in self.findings if f.code == code]

    def in_loop(self) -> bool:
        """Whether the code being walked runs once per iteration of some loop."""
        return any(not f.bounded and not f.suspended for f in self.frames)

    def _loop_targets(self) -> set[str]:
        names: set[str] = set()
        for frame in self.frames:
            names |= frame.targets
        return names
