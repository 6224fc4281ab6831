"""What a queryset loads: coverage of relations by select_related/prefetch_related.

Paths are tuples of attribute names from the queryset's model
(``("comments", "author")`` for ``prefetch_related("comments__author")``).
The sets are closed under prefixes: ``select_related("a__b")`` also loads ``a``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

Path = tuple[str, ...]

#: QuerySet methods that return a queryset of the same rows, keeping what it loads.
KEEP_METHODS = frozenset(
    [
        "all",
        "filter",
        "exclude",
        "order_by",
        "annotate",
        "alias",
        "distinct",
        "reverse",
        "using",
        "select_for_update",
        "extra",
        "none",
        "complex_filter",
    ]
)
#: Methods whose result is one model instance.
INSTANCE_METHODS = frozenset(["get", "first", "last", "latest", "earliest"])
#: Methods that evaluate the queryset (a query each time they run on a new queryset).
EVALUATING = frozenset(
    [
        "get",
        "first",
        "last",
        "latest",
        "earliest",
        "count",
        "exists",
        "aggregate",
        "in_bulk",
        "create",
        "get_or_create",
        "update_or_create",
        "update",
        "delete",
        "contains",
    ]
)
#: Evaluating methods that query even when called on an already evaluated queryset.
ALWAYS_QUERY = frozenset(
    [
        "get",
        "last",
        "aggregate",
        "in_bulk",
        "create",
        "get_or_create",
        "update_or_create",
        "update",
        "delete",
        "latest",
        "earliest",
    ]
)


@dataclass(frozen=True)
class Coverage:
    """Relations (and deferred fields) a queryset loads with its rows."""

    select: frozenset[Path] = frozenset()
    prefetch: frozenset[Path] = frozenset()
    bare: bool = False  # select_related() with no arguments
    opaque: bool = False  # cannot be known: never report
    aliases: tuple[tuple[Path, Path], ...] = ()  # Prefetch to_attr path -> relation path
    only: frozenset[str] | None = None
    defer: frozenset[str] = frozenset()
    prefetch_dropped: bool = False  # .iterator() without chunk_size

    def loads(self, path: Path) -> bool:
        """Whether ``path`` is loaded by select_related or prefetch_related."""
        if path in self.select:
            return True
        return path in self.prefetch and not self.prefetch_dropped

    def alias(self, path: Path) -> Path | None:
        """The relation path a ``to_attr`` path stands for."""
        for alias, relation in self.aliases:
            if alias == path:
                return relation
        return None

    def union(self, other: Coverage) -> Coverage:
        """What either of two querysets loads (used when a variable has several values)."""
        only: frozenset[str] | None
        only = None if self.only is None or other.only is None else self.only | other.only
        return Coverage(
            self.select | other.select,
            self.prefetch | other.prefetch,
            self.bare or other.bare,
            self.opaque or other.opaque,
            tuple(dict(self.aliases + other.aliases).items()),
            only,
            self.defer & other.defer,
            self.prefetch_dropped and other.prefetch_dropped,
        )


EMPTY = Coverage()
OPAQUE = Coverage(opaque=True)


def closed(paths: Iterable[Path]) -> frozenset[Path]:
    """The paths and all their non-empty prefixes."""
    result: set[Path] = set()
    for path in paths:
        for end in range(1, len(path) + 1):
            result.add(path[:end])
    return frozenset(result)


def split(lookup: str) -> Path:
    """``"a__b"`` -> ``("a", "b")``."""
    return tuple(part for part in lookup.split("__") if part)


@dataclass
class PrefetchSpec:
    """A ``Prefetch(lookup, queryset=..., to_attr=...)`` argument."""

    lookup: Path
    to_attr: str | None = None
    inner: Coverage | None = None  # what the inner queryset loads; None: no queryset
    inner_known: bool = True  # False when the queryset argument cannot be analysed


@dataclass
class Step:
    """One method call of a chain, with what can be known of its arguments."""

    name: str
    strings: list[str] | None = field(default_factory=list)  # None: a non-literal argument
    prefetches: list[PrefetchSpec] = field(default_factory=list)
    keywords: dict[str, object] = field(default_factory=dict)
    none_arg: bool = False  # select_related(None) / prefetch_related(None) / defer(None)
    has_args: bool = False


def apply(coverage: Coverage, step: Step) -> Coverage:
    """The coverage after a loading-related method; other methods leave it unchanged."""
    name = step.name
    if name == "select_related":
        if step.none_arg:
            return replace(coverage, select=frozenset(), bare=False)
        if step.strings is None:
            return replace(coverage, opaque=True)
        # Django keeps either the bare form or the named paths: each replaces the other
        if not step.has_args:
            return replace(coverage, select=frozenset(), bare=True)
        if coverage.bare:
            return replace(coverage, select=closed(map(split, step.strings)), bare=False)
        return replace(coverage, select=closed([*coverage.select, *map(split, step.strings)]))
    if name == "prefetch_related":
        if step.none_arg:
            return replace(coverage, prefetch=frozenset(), aliases=())
        if step.strings is None:
            return replace(coverage, opaque=True)
        paths = [*coverage.prefetch, *map(split, step.strings)]
        aliases = list(coverage.aliases)
        opaque = coverage.opaque
        for spec in step.prefetches:
            if not spec.inner_known:
                if spec.to_attr:
                    # the rows land in ``to_attr`` (left unknown), not in the relation: only
                    # the lookup's parents are loaded
                    paths.append(spec.lookup[:-1])
                else:
                    opaque = True
                continue
            path = spec.lookup
            if spec.to_attr:
                paths.append(path[:-1])
                alias = (*path[:-1], spec.to_attr)
                aliases.append((alias, path))
                path = alias
            paths.append(path)
            inner = spec.inner
            if inner is not None:
                if inner.opaque:
                    opaque = True
                paths.extend((*path, *sub) for sub in inner.select | inner.prefetch)
        return replace(coverage, prefetch=closed(paths), aliases=tuple(aliases), opaque=opaque)
    if name == "only":
        if step.strings is None:
            return replace(coverage, opaque=True)
        return replace(coverage, only=frozenset(s.split("__", 1)[0] for s in step.strings))
    if name == "defer":
        if step.none_arg:
            return replace(coverage, defer=frozenset(), only=None)
        if step.strings is None:
            return replace(coverage, opaque=True)
        return replace(coverage, defer=coverage.defer | frozenset(step.strings))
    if name == "iterator":
        if "chunk_size" in step.keywords or step.has_args:
            return coverage
        return replace(coverage, prefetch_dropped=True)
    return coverage


def lookup_text(path: Path) -> str:
    """``("a", "b")`` -> ``"a__b"``."""
    return "__".join(path)
