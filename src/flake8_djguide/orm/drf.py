"""Whether a queryset loads what a serializer reads per row (:class:`DrfViews`, DJG203),
and the finding that names what it misses. Which queryset a view lists and which
serializer renders it: :mod:`flake8_djguide.orm.views`; what a serializer reads:
:mod:`flake8_djguide.orm.serializers`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flake8_djguide.index.project import Relation, Serializer
from flake8_djguide.index.querysets import Path, lookup_text
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.summaries import default_manager_base
from flake8_djguide.orm.values import QS

if TYPE_CHECKING:
    import libcst as cst
else:
    from flake8_djguide._lazy import cst


class DrfViews(AnalysisBase):
    """What a rendered queryset loads of what its serializer reads (DJG203)."""

    # -- what a queryset loads of what a serializer reads (DJG203) ------------------------------------

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
