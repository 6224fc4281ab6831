"""Relation paths given to ``select_related()``, ``prefetch_related()`` and ``Prefetch()``
(DJG207), checked against the model index.

A path is walked segment by segment from the queryset's model. A segment is a problem
only when the index is sure of it:

- ``select_related()`` follows forward foreign keys and one-to-one relations (both
  directions). A concrete non-relational field, a to-many relation or a
  ``GenericForeignKey`` is an error (Django raises ``FieldError``). A name the index does
  not know is an error only when it is a close misspelling of a known relation or field of
  a model whose bases are all known, other than the user model, that the model's body
  does not assign a call the index cannot classify (a third-party field), in a file that
  does not use ``FilteredRelation``.
- ``prefetch_related()`` follows any relation and also any attribute (a property, a
  ``to_attr`` list, a relation added by a third-party app), so only a known concrete
  non-relational field is an error there.

Past a relation whose model is unknown (a third-party model, a ``GenericForeignKey``)
nothing more is checked. :func:`check` is shared by DJG207, which reports the problems,
and the N+1 analysis, for which a path with a problem loads nothing.
"""

from __future__ import annotations

import ast
import weakref
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable

from flake8_djguide.helpers import string_value
from flake8_djguide.index.project import Index, Model
from flake8_djguide.index.querysets import Step, split

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
    from flake8_djguide.orm.base import AnalysisBase
else:
    from flake8_djguide._lazy import cst

_KIND_WORDS = {
    "m2m": "a many-to-many relation",
    "rev_m2m": "a reverse many-to-many relation",
    "rev_fk": "a reverse foreign key (a to-many relation)",
    "grel": "a GenericRelation (a to-many relation)",
    "gfk": "a GenericForeignKey",
}
#: Relation names listed in a message before the list is shortened.
_LISTED = 8


@dataclass(frozen=True)
class Problem:
    """Why one segment of a lookup path is not a relation ``method`` can follow."""

    method: str  # select_related or prefetch_related
    path: tuple[str, ...]
    position: int  # index of the bad segment in ``path``
    model: Model  # the model the segment was looked up on
    kind: str  # field, many, gfk or unknown
    relation_kind: str = ""
    suggestion: str | None = None

    @property
    def segment(self) -> str:
        """The bad segment."""
        return self.path[self.position]

    def describe(self, index: Index) -> tuple[str, str]:
        """``(problem, remedy)`` for the message."""
        name = self.model.name
        call = f"`{self.method}()`"
        segment = self.segment
        prefix = "__".join(self.path[: self.position])
        if self.kind in ("many", "gfk"):
            what = _KIND_WORDS.get(self.relation_kind, "a to-many relation")
            full = "__".join(self.path)
            return (
                f"`{segment}` of `{name}` is {what}, which {call} cannot follow (FieldError)",
                f'use `prefetch_related("{full}")`',
            )
        error = (
            "FieldError" if self.method == "select_related" else "an error once rows are fetched"
        )
        if self.kind == "field":
            problem = f"`{segment}` is a field of `{name}`, not a relation ({call} raises {error})"
            remedy = f"use `{prefix}`; " if prefix else "remove it; "
        else:
            problem = f"`{segment}` is not a relation of `{name}` ({call} raises {error})"
            remedy = ""
            if self.suggestion:
                relation = self.model.relations.get(self.suggestion)
                many = relation is not None and not relation.select_ok
                remedy = f"did you mean `{self.suggestion}`"
                remedy += " (a to-many relation, for `prefetch_related()`)? " if many else "? "
        return problem, remedy + _relations_text(index, self.model, self.method)


def _relations_text(index: Index, model: Model, method: str) -> str:
    select = method == "select_related"
    names = {name for name, relation in model.relations.items() if relation.select_ok or not select}
    names |= set(_links(index).get(model.qualname, ()))
    if not names:
        if select:
            return f"`{model.name}` has no relation `select_related()` can follow"
        return f"`{model.name}` has no relations"
    ordered = sorted(names)
    listed = ", ".join(f"`{n}`" for n in ordered[:_LISTED])
    if len(ordered) > _LISTED:
        listed += f" and {len(ordered) - _LISTED} more"
    if select:
        return f"relations `select_related()` can follow on `{model.name}`: {listed}"
    return f"relations of `{model.name}`: {listed}"


def check(
    index: Index,
    model: Model,
    path: tuple[str, ...],
    method: str,
    strict: Callable[[], bool] = lambda: True,
) -> Problem | None:
    """The first problem of ``path`` on ``model`` for ``method``, or ``None``.

    ``strict()`` False leaves unknown names alone even when they look misspelled (a file
    that defines ``FilteredRelation`` aliases, which ``select_related()`` accepts); it is
    asked only about such a name.
    """
    current: Model | None = model
    for position, segment in enumerate(path):
        if current is None:
            return None
        relation = current.relations.get(segment)
        if relation is not None:
            if method == "select_related" and not relation.select_ok:
                kind = "gfk" if relation.kind == "gfk" else "many"
                return Problem(method, path, position, current, kind, relation.kind)
            current = index.models.get(relation.target) if relation.target else None
            continue
        if segment in current.fields:
            return Problem(method, path, position, current, "field")
        links = _links(index)
        if segment in links.get(current.qualname, ()):
            # the implicit one-to-one of multi-table inheritance (either direction)
            current = links[current.qualname][segment]
            continue
        if method != "select_related" or segment in current.unknown or not _closed(index, current):
            return None
        suggestion = _close_name(segment, current, links.get(current.qualname, {}))
        if suggestion is None or not strict():
            return None
        return Problem(method, path, position, current, "unknown", suggestion=suggestion)
    return None


def checked_step(
    analysis: AnalysisBase, model: Model, method: str, call: cst.Call, step: Step, quiet: bool
) -> Step:
    """``step`` (a ``select_related()``/``prefetch_related()`` call on a queryset of
    ``model``) without the paths that load nothing; unless ``quiet``, report them (DJG207)."""
    bad: set[str] = set()
    dropped: set[tuple[str, ...]] = set()
    for node, text, direct in _lookup_nodes(call, method):
        path = split(text)
        if not path:
            continue
        found = check(analysis.index, model, path, method, lambda: is_strict(analysis.ctx))
        if found is None:
            continue
        if direct:
            bad.add(text)
        else:
            dropped.add(path)
        if not quiet:
            problem, remedy = found.describe(analysis.index)
            analysis.report("DJG207", node, f"`{text}`: {problem}; {remedy}")
    if not bad and not dropped:
        return step
    strings = None if step.strings is None else [s for s in step.strings if s not in bad]
    prefetches = [p for p in step.prefetches if p.lookup not in dropped]
    return replace(step, strings=strings, prefetches=prefetches)


def _direct(call: cst.Call) -> list[cst.BaseExpression]:
    return [arg.value for arg in call.args if arg.keyword is None and not arg.star]


def _lookup_nodes(call: cst.Call, method: str) -> list[tuple[cst.BaseExpression, str, bool]]:
    """The literal lookups of the call: its string arguments (``True``), and for
    ``prefetch_related()`` the lookup of each ``Prefetch(...)`` argument (``False``)."""
    found: list[tuple[cst.BaseExpression, str, bool]] = []
    for value in _direct(call):
        text = string_value(value)
        if text is not None:
            found.append((value, text, True))
        elif method == "prefetch_related" and isinstance(value, cst.Call):
            func = value.func
            name = (
                func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
            )
            if name != "Prefetch":
                continue
            for position, arg in enumerate(value.args):
                is_lookup = (
                    arg.keyword.value == "lookup"
                    if arg.keyword is not None
                    else position == 0 and not arg.star
                )
                lookup = string_value(arg.value) if is_lookup else None
                if lookup is not None:
                    found.append((arg.value, lookup, False))
    return found


def is_strict(ctx: FileContext) -> bool:
    """Whether misspelled names may be reported: not in a file that uses
    ``FilteredRelation`` (its aliases are relations only the query knows)."""
    cached = ctx.__dict__.get("_djguide_filtered_relation")
    if cached is None:
        tree = ctx.tree
        cached = tree is None or any(
            (type(node) is ast.Name and node.id == "FilteredRelation")
            or (type(node) is ast.Attribute and node.attr == "FilteredRelation")
            for node in ast.walk(tree)
        )
        ctx.__dict__["_djguide_filtered_relation"] = cached
    return not cached


def _closed(index: Index, model: Model) -> bool:
    """Whether every relation of ``model`` is known: a project model whose bases are all
    known, and not the user model (third-party apps point one-to-one relations at it)."""
    return (
        model.complete
        and model.qualname in index.classes
        and model.qualname != index.user_model()
        and "user_permissions" not in model.relations  # derives from AbstractUser & co.
    )


def _close_name(segment: str, model: Model, links: dict[str, Model | None]) -> str | None:
    """The known field or relation name ``segment`` looks like a misspelling of."""
    best: tuple[int, str] | None = None
    for name in sorted({*model.relations, *links, *model.fields}):
        limit = 1 if min(len(name), len(segment)) <= 4 else 2
        distance = _distance(segment, name, limit)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, name)
    return best[1] if best is not None else None


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b`` (with adjacent swaps), or ``limit + 1``
    once it is known to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            cost = 0 if char == other else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char == b[j - 2] and a[i - 2] == other:
                value = min(value, previous2[j - 2] + 1)
            current.append(value)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


_LINKS: weakref.WeakKeyDictionary[Index, dict[str, dict[str, Model | None]]]
_LINKS = weakref.WeakKeyDictionary()


def _links(index: Index) -> dict[str, dict[str, Model | None]]:
    """The implicit one-to-one relations of multi-table inheritance, which the index does
    not list: ``<child>`` on each concrete parent and ``<parent>_ptr`` on each child
    (also for proxy children, whose names are then merely allowed)."""
    found = _LINKS.get(index)
    if found is None:
        found = {}
        for model in index.models.values():
            if model.qualname not in index.classes:
                continue
            module, facts = index.classes[model.qualname]
            for base in facts.get("bases", ()):
                parent = index.models.get(index.resolve(module, base)) if base else None
                if parent is None or parent.abstract:
                    continue
                found.setdefault(parent.qualname, {})[model.name.lower()] = model
                found.setdefault(model.qualname, {})[f"{parent.name.lower()}_ptr"] = parent
        _LINKS[index] = found
    return found
