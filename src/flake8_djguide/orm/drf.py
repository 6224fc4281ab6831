"""The DRF serializer model (:class:`DrfViews`, DJG203): the relations a serializer
reads, and whether a queryset (or the manager, or an annotation) loads them. Which
queryset a view lists and which serializer renders it: :mod:`flake8_djguide.orm.views`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from flake8_djguide.index.project import Model, Relation, Serializer
from flake8_djguide.index.querysets import Path, lookup_text
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.summaries import default_manager_base
from flake8_djguide.orm.values import QS, SERVED

if TYPE_CHECKING:
    import libcst as cst

else:
    from flake8_djguide._lazy import cst


_RELATED_FIELDS = frozenset(
    {
        "StringRelatedField",
        "SlugRelatedField",
        "PrimaryKeyRelatedField",
        "HyperlinkedRelatedField",
    }
)


#: A relation followed by the one leading back (Django fills the back reference's cache).
_BACK_REFERENCES = frozenset({("rev_o2o", "o2o"), ("o2o", "rev_o2o"), ("rev_fk", "fk")})


class DrfViews(AnalysisBase):
    """DRF views and serializers (DJG203)."""

    # -- what a queryset loads of what a serializer reads (DJG203) ------------------------------------

    def _annotated_fields(
        self, serializers: list[Serializer], annotations: frozenset[str]
    ) -> frozenset[str]:
        """Fields the queryset's own ``annotate(<name>=...)`` serves: a field of that name
        (or ``source=``), a ``SerializerMethodField`` whose method reads ``obj.<name>`` (its
        relation reads are the fallback for objects that did not come from this queryset)."""
        if not annotations:
            return frozenset()
        served: set[str] = set()
        for serializer in serializers:
            for name, declared in serializer.declared.items():
                call = declared.call
                kwargs = call[3] if call and call[0] == "call" else {}
                source_value = kwargs.get("source")
                source = source_value[1] if source_value and source_value[0] == "str" else name
                if name in annotations or source in annotations:
                    served.add(name)
                    continue
                if (
                    not call
                    or call[1][0] != "ref"
                    or not call[1][1].endswith("SerializerMethodField")
                ):
                    continue
                method_name = kwargs.get("method_name")
                method = (
                    method_name[1]
                    if method_name and method_name[0] == "str"
                    else (call[2][0][1] if call[2] and call[2][0][0] == "str" else f"get_{name}")
                )
                reads = (serializer.methods.get(method) or {}).get("reads", ())
                if any(chain and chain[0] in annotations for chain in reads):
                    served.add(name)
        return frozenset(served)

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

    def requirements(
        self, serializer: Serializer, depth: int = 0, seen: set[str] | None = None
    ) -> dict[Path, tuple[frozenset[str], tuple[Relation, ...]]]:
        """Relation paths a serializer reads on each object: ``{path: (fields, relations)}``."""
        found: dict[Path, tuple[frozenset[str], tuple[Relation, ...]]] = {}
        model = self.index.models.get(serializer.model) if serializer.model else None
        seen = set() if seen is None else seen
        if model is None or depth > 3 or serializer.qualname in seen:
            return found
        seen = seen | {serializer.qualname}
        root = model.qualname

        def include(name: str) -> bool:
            if serializer.meta_fields is not None:
                return name in serializer.meta_fields
            if serializer.all_fields:
                return name not in serializer.exclude
            return True

        def add(path: Path, label: str, relations: tuple[Relation, ...]) -> None:
            for part, rels in self._without_back_references(root, path, relations):
                labels, _ = found.get(part, (frozenset(), rels))
                found[part] = (labels | {label}, rels)

        for name, declared in serializer.declared.items():
            if not include(name):
                continue
            call = declared.call
            if not call or call[0] != "call" or call[1][0] != "ref":
                continue
            kwargs = call[3]
            if kwargs.get("write_only") == ["bool", True]:
                continue
            source_value = kwargs.get("source")
            source = source_value[1] if source_value and source_value[0] == "str" else None
            many = kwargs.get("many") == ["bool", True]
            func = call[1][1]
            last = func.rsplit(".", 1)[-1]
            nested = self.index.serializers.get(self.index.resolve(declared.module, func))
            if nested is not None:
                if source == "*":
                    for path, value in self.requirements(nested, depth + 1, seen).items():
                        add(path, name, value[1])
                    continue
                walked = self._walk(model, (source or name).split("."))
                if walked is None:
                    continue
                path, relations, target = walked
                add(path, name, relations)
                if target is not None and nested.model == target.qualname:
                    for sub, value in self.requirements(nested, depth + 1, seen).items():
                        add((*path, *sub), name, (*relations, *value[1]))
                continue
            if last in _RELATED_FIELDS:
                walked = self._walk(model, (source or name).split("."))
                if walked is None:
                    continue
                path, relations, _ = walked
                if many or relations[-1].many or last in ("StringRelatedField", "SlugRelatedField"):
                    add(path, name, relations)
                continue
            if last == "SerializerMethodField":
                method_name = kwargs.get("method_name")
                method = (
                    method_name[1]
                    if method_name and method_name[0] == "str"
                    else (call[2][0][1] if call[2] and call[2][0][0] == "str" else f"get_{name}")
                )
                facts = serializer.methods.get(method)
                for chain in (facts or {}).get("reads", ()):
                    loaded = self._walk_read(model, chain)
                    if loaded is not None:
                        add(loaded[0], name, loaded[1])
                continue
            if source and "." in source:
                read = self._walk_read(model, source.split("."))
                if read is not None:
                    add(read[0], name, read[1])
        names: list[str] = []
        if serializer.meta_fields is not None:
            names = [n for n in serializer.meta_fields if n not in serializer.declared]
        elif serializer.all_fields:
            names = [
                n
                for n, r in model.relations.items()
                if r.kind in ("fk", "o2o", "m2m")
                and n not in serializer.exclude
                and n not in serializer.declared
            ]
        for name in names:
            relation = model.relation(name)
            if relation is None or relation.kind in ("gfk", "grel"):
                continue
            if serializer.depth >= 1 or relation.many:
                add((name,), name, (relation,))
        return found

    def _back_reference(self, first: Relation, second: Relation, origin: str | None) -> bool:
        """Whether ``second`` leads back from ``first``'s object to the object ``first`` was
        read on, through the same relation: Django caches that side when it loads ``first``
        (a one-to-one loaded from either side, the rows of a reverse foreign key)."""
        if (first.kind, second.kind) not in _BACK_REFERENCES or origin is None:
            return False
        if second.target != origin or first.target is None:
            return False
        source = self.index.models.get(origin)
        target = self.index.models.get(first.target)
        if source is None or target is None:
            return False
        # only when no other relation of the same kind joins the two models
        forward = [r for r in source.relations.values() if r.kind == first.kind]
        backward = [r for r in target.relations.values() if r.kind == second.kind]
        return (
            sum(r.target == first.target for r in forward) == 1
            and sum(r.target == origin for r in backward) == 1
        )

    def _without_back_references(
        self, root: str, path: Path, relations: tuple[Relation, ...]
    ) -> list[tuple[Path, tuple[Relation, ...]]]:
        """``path`` (read on a ``root`` object) with every read back through a cached back
        reference taken out: ``image.ingredient`` (``image`` the reverse one-to-one of
        ``ingredient``) needs only ``image``; what follows is read on the object ``image`` was
        read on."""
        for index in range(1, len(relations)):
            first, second = relations[index - 1], relations[index]
            origin = root if index == 1 else relations[index - 2].target
            if not self._back_reference(first, second, origin):
                continue
            result = [(path[:index], relations[:index])]
            rest = path[index + 1 :]
            if rest:
                shorter = (*path[: index - 1], *rest)
                shorter_relations = (*relations[: index - 1], *relations[index + 1 :])
                result.extend(self._without_back_references(root, shorter, shorter_relations))
            return result
        return [(path, relations)]

    def _walk(
        self, model: Model, parts: Sequence[str]
    ) -> tuple[Path, tuple[Relation, ...], Model | None] | None:
        """Follow a ``source`` whose every part is a relation."""
        relations: list[Relation] = []
        current: Model | None = model
        for part in parts:
            relation = current.relation(part) if current is not None else None
            if relation is None or relation.kind in ("gfk", "grel"):
                return None
            relations.append(relation)
            if relation.many and part != parts[-1]:
                return None
            current = self.index.models.get(relation.target) if relation.target else None
        if not relations:
            return None
        return tuple(parts), tuple(relations), current

    def _walk_read(
        self, model: Model, read: Sequence[str]
    ) -> tuple[Path, tuple[Relation, ...]] | None:
        """The relation path an attribute chain read on ``obj`` loads (``author.name`` -> author)."""
        relations: list[Relation] = []
        path: list[str] = []
        current: Model | None = model
        for index, part in enumerate(read):
            if part.endswith("()") or current is None:
                break
            relation = current.relation(part)
            if relation is None or relation.kind in ("gfk",):
                break
            if relation.many:
                following = read[index + 1] if index + 1 < len(read) else ""
                if following[:-2] in SERVED and following.endswith("()"):
                    relations.append(relation)
                    path.append(part)
                break
            relations.append(relation)
            path.append(part)
            current = self.index.models.get(relation.target) if relation.target else None
        if not path:
            return None
        return tuple(path), tuple(relations)
