"""What a DRF serializer reads on each object it renders (:class:`SerializerReads`):
the relation paths of its declared fields, nested serializers, related fields, method
fields and ``Meta.fields``, asked by the view side through :meth:`requirements`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flake8_djguide.index.project import Model, Relation, Serializer
from flake8_djguide.index.querysets import Coverage, Path, closed, split
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.nodes import _children
from flake8_djguide.orm.values import QS, SERVED

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.scope import ClassInfo
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

    # -- queryset loaders of serializers (``prefetch_queryset``) ---------------------------------

    def _check_serializer(self, info: ClassInfo) -> None:
        """Report a serializer's queryset loaders (``@classmethod prefetch_queryset``, the
        index's ``loader`` facts) that do not load what the serializer reads per row: the
        loader's result is the queryset the serializer renders."""
        serializer = self.index.serializers.get(f"{self.file_index.module}.{info.name}")
        if serializer is None or serializer.model is None:
            return
        model = self.index.models.get(serializer.model)
        if model is None:
            return
        for name, method in info.methods.items():
            facts = serializer.methods.get(name)
            if not facts or "loader" not in facts:
                continue
            node = _last_return(method)
            if node is None:
                continue
            loaded = self._loader_coverage(serializer, facts["loader"], 0)
            if loaded is None:
                continue
            coverage, annotations = loaded
            required = self.requirements(serializer)
            if not required:
                continue
            served = self._annotated_fields([serializer], annotations)
            qs = QS(model, coverage, name)
            missing = [
                (path, (labels - served, relations))
                for path, (labels, relations) in sorted(required.items())
                if labels - served
                and not self._view_covers(qs, path, relations)
                and not self._manager_loads(path, relations)
            ]
            if missing:
                self._report_view(node, serializer, missing)

    def _loader_coverage(
        self, serializer: Serializer, facts: dict[str, Any], depth: int
    ) -> tuple[Coverage, frozenset[str]] | None:
        """What a loader loads (``None`` when it cannot be known): its own loading calls,
        the loaders of its class and bases it calls, and other serializers' loaders (under
        their ``Prefetch`` lookup)."""
        if facts.get("opaque") or depth > 4:
            return None
        select = [split(text) for kind, text in facts["lookups"] if kind == "s"]
        prefetch = [split(text) for kind, text in facts["lookups"] if kind == "p"]
        coverage = Coverage(closed(select), closed(prefetch), bool(facts["bare"]))
        annotations = frozenset(facts["annotations"])
        for method in facts["supers"]:
            found = self._inherited_loader(serializer, method, facts)
            if found is None:
                return None
            owner, inner = found
            result = self._loader_coverage(owner, inner, depth + 1)
            if result is None:
                return None
            coverage = coverage.union(result[0])
            annotations |= result[1]
        for prefix, reference, method in facts["others"]:
            other = self.index.serializer_named(self._defining_module(serializer, facts), reference)
            called = other.methods.get(method) if other is not None else None
            if other is None or not called or "loader" not in called:
                return None
            result = self._loader_coverage(other, called["loader"], depth + 1)
            if result is None:
                return None
            path = split(prefix) if prefix else ()
            extra = [(*path, *sub) for sub in result[0].select | result[0].prefetch]
            if path:
                coverage = replace(coverage, prefetch=closed([*coverage.prefetch, *extra]))
            else:
                coverage = coverage.union(result[0])
                annotations |= result[1]
        return coverage, annotations

    def _defining_module(self, serializer: Serializer, facts: dict[str, Any]) -> str:
        """The module of the class that defines the loader ``facts`` (an inherited loader
        names classes as its own module imports them)."""
        return self._loader_owner(serializer, facts).module

    def _loader_owner(self, serializer: Serializer, facts: dict[str, Any]) -> Serializer:
        """The serializer (``serializer`` or a base) whose own body defines ``facts``: an
        inherited method's facts are the very object of the base that defines it."""
        current = serializer
        for _ in range(12):
            for base in self._serializer_bases(current):
                if any(m.get("loader") is facts for m in base.methods.values()):
                    current = base
                    break
            else:
                return current
        return current

    def _serializer_bases(self, serializer: Serializer) -> list[Serializer]:
        entry = self.index.classes.get(serializer.qualname)
        if entry is None:
            return []
        found = []
        for base in entry[1].get("bases", ()):
            parent = (
                self.index.serializers.get(self.index.resolve(entry[0], base)) if base else None
            )
            if parent is not None:
                found.append(parent)
        return found

    def _inherited_loader(
        self, serializer: Serializer, method: str, facts: dict[str, Any]
    ) -> tuple[Serializer, dict[str, Any]] | None:
        """The loader ``super().<method>()`` (or ``cls.<method>()``) calls from ``facts``."""
        own = serializer.methods.get(method)
        if own is not None and own.get("loader") is not facts and "loader" in own:
            return serializer, own["loader"]  # cls.<another loader>()
        owner = self._loader_owner(serializer, facts)
        for base in self._serializer_bases(owner):
            inherited = base.methods.get(method)
            if inherited and "loader" in inherited:
                return base, inherited["loader"]
        return None


def _last_return(method: cst.FunctionDef) -> cst.BaseExpression | None:
    """The value of the last ``return`` of a method (not of a nested function)."""
    found: cst.BaseExpression | None = None
    stack: list[cst.CSTNode] = [method.body]
    while stack:
        current = stack.pop(0)
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(current, cst.Return) and current.value is not None:
            found = current.value
            continue
        stack[:0] = list(_children(current))
    return found
