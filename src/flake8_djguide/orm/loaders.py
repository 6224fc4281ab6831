"""Serializers' queryset loaders (:class:`SerializerLoaders`, DJG203): a serializer's class
or static method that returns the queryset it renders (``prefetch_queryset``,
``setup_eager_loading``), checked against what the serializer reads per row.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flake8_djguide.index.project import Serializer
from flake8_djguide.index.querysets import Coverage, Path, closed, split
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.nodes import _children, scope_types
from flake8_djguide.orm.values import QS

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.scope import ClassInfo
else:
    from flake8_djguide._lazy import cst


class SerializerLoaders(AnalysisBase):
    """Serializers' queryset loaders (what they load against what the serializer reads)."""

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
            coverage, annotations, unknown = loaded
            required = self.requirements(serializer)
            if not required:
                continue
            served = self._annotated_fields([serializer], annotations)
            qs = QS(model, coverage, name)
            missing = [
                (path, (labels - served, relations))
                for path, (labels, relations) in sorted(required.items())
                if labels - served
                and not any(path[: len(prefix)] == prefix for prefix in unknown)
                and not self._view_covers(qs, path, relations)
                and not self._manager_loads(path, relations)
            ]
            if missing:
                self._report_view(node, serializer, missing)

    def _loader_coverage(
        self, serializer: Serializer, facts: dict[str, Any], depth: int
    ) -> tuple[Coverage, frozenset[str], list[Path]] | None:
        """What a loader loads (``None`` when it cannot be known): its own loading calls,
        the loaders of its class and bases it calls, and other serializers' loaders (under
        their ``Prefetch`` lookup); and the lookups under which an inner loader is not known
        (what is read under them is not judged)."""
        if facts.get("opaque") or depth > 4:
            return None
        select = [split(text) for kind, text in facts["lookups"] if kind == "s"]
        prefetch = [split(text) for kind, text in facts["lookups"] if kind == "p"]
        coverage = Coverage(closed(select), closed(prefetch), bool(facts["bare"]))
        annotations = frozenset(facts["annotations"])
        unknown: list[Path] = [split(text) for text in facts["unknown"]]
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
            unknown.extend(result[2])
        for prefix, reference, method in facts["others"]:
            other = self.index.serializer_named(self._defining_module(serializer, facts), reference)
            called = other.methods.get(method) if other is not None else None
            path = split(prefix) if prefix else ()
            result = (
                self._loader_coverage(other, called["loader"], depth + 1)
                if other is not None and called and "loader" in called
                else None
            )
            if result is None:
                if not path:
                    return None
                unknown.append(path)  # what the Prefetch's queryset loads is not known
                continue
            unknown.extend((*path, *sub) for sub in result[2])
            extra = [(*path, *sub) for sub in result[0].select | result[0].prefetch]
            if path:
                coverage = replace(coverage, prefetch=closed([*coverage.prefetch, *extra]))
            else:
                coverage = coverage.union(result[0])
                annotations |= result[1]
        return coverage, annotations, unknown

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
    scopes = scope_types()
    stack: list[cst.CSTNode] = [method.body]
    while stack:
        current = stack.pop(0)
        if type(current) in scopes:
            continue
        if isinstance(current, cst.Return) and current.value is not None:
            found = current.value
            continue
        stack[:0] = list(_children(current))
    return found
