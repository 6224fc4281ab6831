"""The DRF view and serializer model (:class:`DrfViews`, DJG203): a view's
queryset and serializers, the relations the serializers read, and whether the
queryset (or the manager, or an annotation) loads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flake8_djguide.helpers import dotted_name
from flake8_djguide.index.project import Relation, Serializer
from flake8_djguide.index.querysets import Path, lookup_text
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.nodes import _children, _last
from flake8_djguide.orm.summaries import default_manager_base
from flake8_djguide.orm.values import QS

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.scope import ClassInfo, Scope
    from flake8_djguide.orm.values import Value
else:
    from flake8_djguide._lazy import cst


LIST_VIEWS = frozenset(
    {
        "rest_framework.generics.ListAPIView",
        "rest_framework.generics.ListCreateAPIView",
        "rest_framework.viewsets.ModelViewSet",
        "rest_framework.viewsets.ReadOnlyModelViewSet",
        "rest_framework.mixins.ListModelMixin",
    }
)


class DrfViews(AnalysisBase):
    """DRF views and serializers (DJG203)."""

    # -- DRF views (DJG203) -------------------------------------------------------------------------

    def _ancestors(self, info: ClassInfo) -> set[str]:
        module = self.file_index.module
        found: set[str] = set()
        stack = [self.index.resolve(module, b) for b in info.bases if b]
        while stack:
            name = stack.pop()
            if name in found:
                continue
            found.add(name)
            entry = self.index.classes.get(name)
            if entry is not None and name != f"{module}.{info.name}":
                stack.extend(
                    self.index.resolve(entry[0], b) for b in entry[1].get("bases", ()) if b
                )
        return found

    def _serializer_ref(self, module: str, node: cst.BaseExpression | None) -> Serializer | None:
        name = dotted_name(node) if node is not None else None
        if name is None:
            return None
        return self.index.serializer_named(module, name)

    def _view_serializers(self, info: ClassInfo, ancestors: set[str]) -> list[Serializer] | None:
        module = self.file_index.module
        attribute = self._serializer_ref(module, info.attrs.get("serializer_class"))
        if attribute is None and "serializer_class" not in info.attrs:
            for ancestor in ancestors:
                entry = self.index.classes.get(ancestor)
                if entry is not None and "serializer_class" in entry[1].get("refs", {}):
                    attribute = self.index.serializer_named(
                        entry[0], entry[1]["refs"]["serializer_class"]
                    )
                    break
        method = info.methods.get("get_serializer_class")
        if method is None:
            return [attribute] if attribute is not None else None
        found: list[Serializer] = []
        stack: list[cst.CSTNode] = [method.body]
        while stack:
            current = stack.pop()
            if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                continue
            if isinstance(current, cst.Return):
                value = current.value
                text = dotted_name(value) if value is not None else None
                if (text is not None and text.endswith(".serializer_class")) or (
                    isinstance(value, cst.Call) and _last(value.func) == "get_serializer_class"
                ):
                    serializer = attribute
                else:
                    serializer = self._serializer_ref(module, value)
                if serializer is None:
                    return None
                found.append(serializer)
                continue
            stack.extend(_children(current))
        return found or None

    def _check_view(self, info: ClassInfo, scope: Scope) -> None:
        if "list" in info.methods:
            return
        ancestors = self._ancestors(info)
        if not ancestors & LIST_VIEWS:
            return
        serializers = self._view_serializers(info, ancestors)
        if not serializers:
            return
        requirement_sets = [self.requirements(s) for s in serializers]
        common = set(requirement_sets[0])
        for other in requirement_sets[1:]:
            common &= set(other)
        if not common:
            return
        model = serializers[0].model
        targets: list[tuple[cst.BaseExpression, Value]]
        if "get_queryset" in info.methods:
            targets = self.returns_of(info.methods["get_queryset"], info)
        elif "queryset" in info.attrs:
            targets = [(info.attrs["queryset"], self.class_attr_queryset(info))]
        else:
            return
        for node, value in targets:
            if (
                not isinstance(value, QS)
                or value.cov.opaque
                or value.rows != "instances"
                or value.prefix
                or value.empty
            ):
                continue
            if value.model is None or value.model.qualname != model:
                continue
            served = self._annotated_fields(serializers, value.annotations)
            missing = [
                (path, (labels - served, relations))
                for path in sorted(common)
                for labels, relations in [requirement_sets[0][path]]
                if labels - served
                and not self._view_covers(value, path, relations)
                and not self._manager_loads(path, relations)
            ]
            if missing:
                self._report_view(node, serializers[0], missing)

    def _manager_loads(self, path: Path, relations: tuple[Relation, ...]) -> bool:
        """Whether prefetching a to-many prefix of ``path`` would load the rest (through
        the related model's default manager): then only the prefix needs reporting."""
        for end in range(1, len(path)):
            if relations[end - 1].many:
                base = default_manager_base(self.index, relations[end - 1].target)
                if not base.opaque and base.loads(path[end:]):
                    return True
        return False

    def _view_covers(self, qs: QS, path: Path, relations: tuple[Relation, ...]) -> bool:
        cov = qs.cov
        if cov.loads(path):
            return True
        if cov.bare and len(path) <= 5 and all(r.forward_single and not r.null for r in relations):
            return True
        # a prefetched relation is loaded through the related model's default manager,
        # whose get_queryset() may select_related the rest (ReviewManager: "user")
        for end in range(1, len(path)):
            if relations[end - 1].many and cov.loads(path[:end]):
                base = default_manager_base(self.index, relations[end - 1].target)
                if base.opaque or base.loads(path[end:]):
                    return True
        return False

    def _report_view(
        self,
        node: cst.CSTNode,
        serializer: Serializer,
        missing: list[tuple[Path, tuple[frozenset[str], tuple[Relation, ...]]]],
    ) -> None:
        fields = sorted({label for _, (labels, _) in missing for label in labels})
        select = [p for p, (_, rels) in missing if all(r.select_ok for r in rels)]
        prefetch = [p for p, (_, rels) in missing if not all(r.select_ok for r in rels)]
        select = [p for p in select if not any(o != p and o[: len(p)] == p for o in select)]
        prefetch = [p for p in prefetch if not any(o != p and o[: len(p)] == p for o in prefetch)]
        calls = []
        if select:
            calls.append("select_related(" + ", ".join(f'"{lookup_text(p)}"' for p in select) + ")")
        if prefetch:
            calls.append(
                "prefetch_related(" + ", ".join(f'"{lookup_text(p)}"' for p in prefetch) + ")"
            )
        name = serializer.qualname.rsplit(".", 1)[-1]
        listed = ", ".join(f"`{f}`" for f in fields)
        self.report(
            "DJG203",
            node,
            f"`{name}` field{'s' if len(fields) > 1 else ''} {listed} read{'' if len(fields) > 1 else 's'} "
            f"relations this queryset does not load (a query per object); add `."
            + ".".join(calls)
            + "`",
        )
