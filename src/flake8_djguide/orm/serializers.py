"""What a DRF serializer reads on each object it renders (:class:`SerializerReads`):
the relation paths of its declared fields, nested serializers, related fields, method
fields and ``Meta.fields``, asked by the view side through :meth:`requirements`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flake8_djguide.index.project import Model, Relation, Serializer
from flake8_djguide.index.querysets import Path
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.values import SERVED

if TYPE_CHECKING:
    pass

else:
    pass

#: Fields that render the object they read (``str(value)``): a relation read by one of them
#: loads the related object.
_OBJECT_FIELDS = frozenset({"ReadOnlyField", "CharField"})


def _related_field(last: str) -> bool:
    """DRF's related fields and the project's fields named like them (a
    ``SlugRelatedTranslatableField``, a ``NestedHyperlinkedRelatedField``); other related
    fields (``ResourceRelatedField``, a project's ``RelatedField``) render what they choose."""
    return any(kind in last for kind in ("Slug", "String", "PrimaryKey", "Hyperlinked")) and (
        "RelatedField" in last or last.endswith("IdentityField")
    )


#: A relation followed by the one leading back (Django fills the back reference's cache).
_BACK_REFERENCES = frozenset({("rev_o2o", "o2o"), ("o2o", "rev_o2o"), ("rev_fk", "fk")})


class SerializerReads(AnalysisBase):
    """What a serializer reads per row (the relations DJG203 asks the view's queryset for)."""

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
                    for path, relations in self._member_objects(model, source or name, nested):
                        add(path, name, relations)
                        for sub, value in self.requirements(nested, depth + 1, seen).items():
                            add((*path, *sub), name, (*relations, *value[1]))
                    continue
                path, relations, target = walked
                add(path, name, relations)
                if target is not None and nested.model == target.qualname:
                    for sub, value in self.requirements(nested, depth + 1, seen).items():
                        add((*path, *sub), name, (*relations, *value[1]))
                continue
            if _related_field(last):
                for path, relations in self._related_field_reads(model, name, last, kwargs):
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
                    for path, relations in self._chain_reads(model, chain):
                        add(path, name, relations)
                continue
            if last == "HiddenField":
                continue
            chain = (source or name).split(".")
            if len(chain) > 1 or chain[0] in model.self_reads or last in _OBJECT_FIELDS:
                for path, relations in self._chain_reads(model, chain):
                    add(path, name, relations)
        representation = serializer.methods.get("to_representation")
        for chain in (representation or {}).get("reads", ()):
            # an override reads these on every object it renders
            for path, relations in self._chain_reads(model, chain):
                add(path, "to_representation()", relations)
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
            if relation is None:
                if name in model.self_reads:  # a property or method: a ReadOnlyField
                    for path, relations in self._chain_reads(model, [name]):
                        add(path, name, relations)
                continue
            if relation.kind in ("gfk", "grel"):
                continue
            lookup = serializer.extra_kwargs.get(name, {}).get("lookup_field", "pk")
            if serializer.depth >= 1 or relation.many or lookup != "pk":
                # a hyperlinked field with a lookup_field other than pk reads the object
                add((name,), name, (relation,))
        return found

    def _related_field_reads(
        self, model: Model, name: str, last: str, kwargs: dict[str, Any]
    ) -> list[tuple[Path, tuple[Relation, ...]]]:
        """What a related field reads: ``PrimaryKeyRelatedField`` (and a hyperlinked field
        looking up ``pk``) only the key of the last object of its ``source`` (the objects
        before it are read), a to-many relation with ``many=True``; string, slug and other
        hyperlinked fields the whole object, and the relations of a ``lookup_field="a__b"``,
        of the target's ``__str__`` or of a ``slug_field`` naming a property."""
        source_value = kwargs.get("source")
        source = source_value[1] if source_value and source_value[0] == "str" else None
        lookup_value = kwargs.get("lookup_field")
        lookup = lookup_value[1] if lookup_value and lookup_value[0] == "str" else "pk"
        if last.endswith("IdentityField"):
            # the object itself: only a lookup across relations reads anything
            parts = lookup.split("__")[:-1]
            read = self._walk(model, parts) if parts else None
            return [read[:2]] if read is not None else []
        walked = self._walk(model, (source or name).split("."))
        if walked is None:
            return []
        path, relations, target = walked
        many = kwargs.get("many") == ["bool", True] or relations[-1].many
        pk_only = "PrimaryKey" in last or ("Hyperlinked" in last and lookup == "pk")
        found: list[tuple[Path, tuple[Relation, ...]]] = []
        if pk_only and not many:
            if len(path) > 1:
                found.append((path[:-1], relations[:-1]))
            return found
        found.append((path, relations))
        if target is None:
            return found
        if "Hyperlinked" in last and "__" in lookup:
            read = self._walk(target, lookup.split("__")[:-1])
            if read is not None:
                found.append(((*path, *read[0]), (*relations, *read[1])))
        chains: list[list[str]] = []
        if "String" in last:
            chains = target.self_reads.get("__str__", [])
        slug_value = kwargs.get("slug_field")
        if "Slug" in last and slug_value and slug_value[0] == "str":
            chains = [[slug_value[1]]]  # a property (a translated name) reads what it reads
        for chain in chains:
            for sub, rels in self._chain_reads(target, chain):
                found.append(((*path, *sub), (*relations, *rels)))
        return found

    def _chain_reads(
        self, model: Model, chain: Sequence[str], depth: int = 0
    ) -> list[tuple[Path, tuple[Relation, ...]]]:
        """The relation paths an attribute chain read on a ``model`` object loads: its
        relations (``author.name`` -> author), and what a model property or method it ends
        in reads on its object (``visibility.get_help_display`` -> visibility and the
        relations ``get_help_display`` reads)."""
        found: list[tuple[Path, tuple[Relation, ...]]] = []
        loaded = self._walk_read(model, chain)
        path, relations = loaded if loaded is not None else ((), ())
        if path:
            found.append((path, relations))
        if depth > 2 or (relations and relations[-1].many):
            return found
        target = self.index.models.get(relations[-1].target or "") if relations else model
        rest = chain[len(path) :]
        member = rest[0].removesuffix("()") if rest else ""
        if target is None or member not in target.self_reads:
            return found
        for sub_chain in target.self_reads[member]:
            for sub, rels in self._chain_reads(target, sub_chain, depth + 1):
                found.append(((*path, *sub), (*relations, *rels)))
        return found

    def _member_objects(
        self, model: Model, source: str, nested: Serializer
    ) -> list[tuple[Path, tuple[Relation, ...]]]:
        """What a nested serializer renders when its ``source`` names a model property or
        method (``VideoSerializer(source="get_video")``, ``get_video`` returning
        ``self.video or self.course.video``): the relations it reads that lead to single
        objects of the nested serializer's model, one of which it returns (none when it
        reads no such relation: its result is then unknown)."""
        if "." in source or nested.model is None or source not in model.self_reads:
            return []
        found: list[tuple[Path, tuple[Relation, ...]]] = []
        for chain in model.self_reads[source]:
            walked = self._walk_read(model, chain)
            if walked is None:
                continue
            path, relations = walked
            last = relations[-1]
            if len(path) == len(chain) and not last.many and last.target == nested.model:
                found.append((path, relations))
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
