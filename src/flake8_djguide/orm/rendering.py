"""The rows a DRF view or an explicit ``Serializer(rows, many=True)`` renders, and the
relations the serializer reads per row that the queryset does not load
(:class:`RenderedRows`, DJG203): a list view's ``get_queryset()``/``queryset``, and
``Serializer(rows, many=True)`` / ``self.get_serializer(rows, many=True)`` in any function
(``APIView.get()``, function views, a custom ``list()``, ``@action`` methods), reported at
the queryset the rows come from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flake8_djguide.helpers import dotted_name
from flake8_djguide.index.project import Relation, Serializer
from flake8_djguide.index.querysets import Path
from flake8_djguide.orm.actions import ACTION_METHODS, HTTP_HANDLERS
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.nodes import _last, _root_name
from flake8_djguide.orm.values import QS, Item
from flake8_djguide.orm.views import LIST_VIEWS

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.scope import ClassInfo, Scope
    from flake8_djguide.orm.values import Value
else:
    from flake8_djguide._lazy import cst


class RenderedRows(AnalysisBase):
    """What a DRF view or serializer call renders, against what its queryset loads."""

    # -- DJG203 -----------------------------------------------------------------------------------------

    def _check_view(self, info: ClassInfo, scope: Scope) -> None:
        if not set(self.lineage(info)) & LIST_VIEWS or not self.lists_generically(info):
            return
        serializers = self.view_serializers(info, "list", "GET")
        if not serializers:
            return
        for node, value in self.listed_querysets(info):
            self.check_rendered(node, value, serializers)

    def _serializer_sink(self, call: cst.Call, scope: Scope) -> None:
        """``Serializer(rows, many=True)`` / ``self.get_serializer(rows, many=True)``: the
        serializer renders every row of ``rows`` (reported at the queryset). Not in tests,
        which render expected payloads."""
        if self.ctx.is_test:
            return
        if not any(
            arg.keyword is not None
            and arg.keyword.value == "many"
            and isinstance(arg.value, cst.Name)
            and arg.value.value == "True"
            for arg in call.args
        ):
            return
        rows = next((a.value for a in call.args if a.keyword is None and not a.star), None)
        if rows is None:
            rows = next(
                (a.value for a in call.args if a.keyword and a.keyword.value == "instance"), None
            )
        if rows is None:
            return
        serializers = self._called_serializers(call.func, scope)
        if not serializers:
            return
        value = self.evaluate(rows, scope, quiet=True)
        node, back = self._queryset_node(rows, scope)
        self.check_rendered(node, value, serializers, back)

    def _called_serializers(
        self, func: cst.BaseExpression, scope: Scope
    ) -> list[Serializer] | None:
        text = dotted_name(func)
        self_name = getattr(scope, "self_name", None)
        info = scope.cls
        if (
            info is not None
            and self_name
            and (
                text in (f"{self_name}.get_serializer", f"{self_name}.serializer_class")
                or (
                    isinstance(func, cst.Call)
                    and dotted_name(func.func) == f"{self_name}.get_serializer_class"
                )
            )
        ):
            function = self.functions[-1].name.value if self.functions else None
            http = HTTP_HANDLERS.get(function or "") or ACTION_METHODS.get(function or "")
            return self.view_serializers(info, function, http)
        if text is None:
            return None
        found = self.index.serializer_named(self.file_index.module, text)
        return [found] if found is not None else None

    def _queryset_node(
        self, rows: cst.BaseExpression, scope: Scope
    ) -> tuple[cst.BaseExpression, tuple[Relation, str] | None]:
        """Where the rows a serializer renders were built (followed through local names and
        ``self.paginate_queryset()``/``self.filter_queryset()``), and the relation back to the
        instance when they are one instance's related rows (``form.rules.all()``: each rule's
        ``form`` is that instance, already loaded)."""
        node = rows
        for _ in range(6):
            if isinstance(node, cst.Name):
                records = [r for r in scope.records.get(node.value, ()) if r.value is not None]
                roots = [r for r in records if _root_name(r.value) != node.value]
                if len(roots) != 1 or roots[0].value is None:
                    break
                node = roots[0].value
                continue
            if (
                isinstance(node, cst.Call)
                and _last(node.func) in ("paginate_queryset", "filter_queryset")
                and node.args
            ):
                node = node.args[0].value
                continue
            break
        return node, self._manager_relation(node, scope)

    def _manager_relation(
        self, node: cst.BaseExpression, scope: Scope
    ) -> tuple[Relation, str] | None:
        """``(relation, model)`` when ``node`` is built from a related manager of an instance
        of ``model`` (``form.rules.filter(...)``)."""
        current: cst.BaseExpression = node
        while isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
            receiver = current.func.value
            if not isinstance(receiver, cst.Attribute):
                current = receiver
                continue
            owner = self.evaluate(receiver.value, scope, quiet=True)
            if isinstance(owner, Item) and owner.model is not None:
                relation = owner.model.relation(receiver.attr.value)
                return (relation, owner.model.qualname) if relation is not None else None
            current = receiver.value
        return None

    def check_rendered(
        self,
        node: cst.CSTNode,
        value: Value,
        serializers: list[Serializer],
        back: tuple[Relation, str] | None = None,
    ) -> None:
        """Report the relations every one of ``serializers`` reads per row that the queryset
        ``value`` does not load (DJG203, at ``node``)."""
        if (
            not isinstance(value, QS)
            or value.cov.opaque
            or value.rows != "instances"
            or value.prefix
            or value.empty
            or value.model is None
            or value.model.qualname != serializers[0].model
        ):
            return
        requirement_sets = [self.requirements(s) for s in serializers]
        common = set(requirement_sets[0])
        for other in requirement_sets[1:]:
            common &= set(other)
        served = self._annotated_fields(serializers, value.annotations)
        missing: list[tuple[Path, tuple[frozenset[str], tuple[Relation, ...]]]] = []
        for path in sorted(common):
            labels, relations = requirement_sets[0][path]
            if back is not None and self._back_reference(back[0], relations[0], back[1]):
                continue
            if (
                labels - served
                and not self._view_covers(value, path, relations)
                and not self._manager_loads(path, relations)
            ):
                missing.append((path, (labels - served, relations)))
        if missing:
            self._report_view(node, serializers[0], missing)
