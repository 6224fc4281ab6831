"""The values the ORM analysis follows, and how values of several branches merge.

- :class:`ModelClass` a model class (``Product``), from the model index;
- :class:`QS` a queryset (``Product.objects.filter(...)``, a related manager's
  ``.all()``, a variable assigned one) with its :class:`Coverage`;
- :class:`Item` a model instance: a loop variable over a queryset, or the
  result of ``get()``/``create()``/``Product(...)``;
- :class:`RelManager` a related manager (``product.tags``);
- :class:`SelfRef`/:class:`SuperRef` ``self`` and ``super()`` in a method.

Anything else is unknown (``None``), and unknown never produces a finding. Also
the method-name sets the interpreter sorts calls by, :class:`Frame` (one loop
being walked) and :class:`Finding`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Union

from flake8_djguide.index.project import Manager, Model, Relation
from flake8_djguide.index.querysets import Coverage, Path

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.scope import ClassInfo
else:
    from flake8_djguide._lazy import cst


MANAGER_ATTRS = frozenset({"objects", "_default_manager", "_base_manager"})
LOADING = frozenset({"select_related", "prefetch_related", "only", "defer"})
_RELATED_LOADING = frozenset({"select_related", "prefetch_related"})
#: Related-manager reads served by a prefetch cache.
SERVED = frozenset({"all", "count", "exists"})
#: Related-manager methods that ask for a count only: ``annotate(Count(...))`` serves them.
COUNTED = frozenset({"count", "exists"})
#: Related-manager methods that build a new queryset (a query even when prefetched).
REQUERY = frozenset(
    [
        "filter",
        "exclude",
        "order_by",
        "get",
        "aggregate",
        "first",
        "last",
        "latest",
        "earliest",
        "annotate",
        "values",
        "values_list",
        "distinct",
        "select_related",
        "prefetch_related",
        "only",
        "defer",
        "in_bulk",
        "iterator",
        "alias",
        "reverse",
    ]
)
WRITES = frozenset(["create", "get_or_create", "update_or_create", "update", "delete"])
MANAGER_SHAPES = SERVED | REQUERY | WRITES
BATCH_METHODS = frozenset({"bulk_create", "bulk_update"})
#: Related-manager writes: a query (or two) per call.
LINK_WRITES = frozenset({"add", "remove", "set", "clear"})
_LIST_CALLS = frozenset({"list", "tuple", "sorted", "set", "reversed"})


# -- values --------------------------------------------------------------------------------


@dataclass
class ModelClass:
    """A model class, known from the index (``model``) or only by its shape (``None``)."""

    model: Model | None
    name: str


@dataclass
class QS:
    """A queryset (or a list of instances made from one)."""

    model: Model | None
    cov: Coverage
    text: str  # the root queryset's code, for messages
    prefix: Path = ()  # path from the coverage root to this queryset's rows
    through_many: bool = False  # the prefix crosses a to-many relation
    bare_ok: bool = True  # the prefix is only non-null forward FKs (bare select_related)
    fresh: bool = True  # evaluating it runs a query
    rows: str = "instances"  # or "values" (values()/values_list())
    manager: Manager | None = None
    sliced: bool = False
    batched: bool = False  # filter(x__in=<loop variable>): a batch per iteration
    is_list: bool = False  # already evaluated (list(qs), a Prefetch to_attr list)
    from_item: bool = False  # a related manager of a loop variable (DJG201's)
    loops: frozenset[int] = frozenset()  # loops the variable holding it was assigned in
    empty: bool = False  # loads no rows (``none()``): never a query, never an N+1
    new_rows: bool = False  # a list of unsaved instances (``objs.append(Product(...))``)
    annotations: frozenset[str] = frozenset()  # names added by annotate(<name>=...)
    filters: tuple[cst.Call, ...] = ()  # its filter()/exclude() calls (their lookups)
    #: the custom manager/QuerySet method whose rows these are, refined by calls that load
    #: nothing more (``"app.managers.TopicManager.for_forum"``; ``""`` otherwise)
    made_by: str = ""


@dataclass
class Item:
    """A model instance."""

    model: Model | None
    cov: Coverage
    text: str
    prefix: Path = ()
    through_many: bool = False
    bare_ok: bool = True
    frame: Frame | None = None  # the loop binding it, None for a single instance
    origin: str = "loop"  # loop, get, new
    reported: bool = False


@dataclass
class RelManager:
    """A related manager of an instance (``product.tags``)."""

    item: Item
    name: str
    relation: Relation | None
    node: cst.CSTNode


@dataclass
class SelfRef:
    """``self`` in a method of a class."""

    cls: ClassInfo


@dataclass
class SuperRef:
    """``super()`` in a method of a class."""

    cls: ClassInfo


Value = Union[ModelClass, QS, Item, RelManager, SelfRef, SuperRef, None]


@dataclass(eq=False)
class Frame:
    """One loop the walk is inside."""

    node: cst.CSTNode
    bindings: dict[str, Item] = field(default_factory=dict)
    targets: set[str] = field(default_factory=set)
    bounded: bool = False  # over a literal collection: not a data-dependent loop
    suspended: int = 0  # inside a block that leaves the loop (break)
    assigned_attrs: set[str] = field(default_factory=set)  # p.<rel> = ... in the body
    chunked: bool = False  # ``for start in range(a, b, step)``: one batch per iteration
    condition: frozenset[str] = frozenset()  # names a ``while`` condition reads
    iter: cst.CSTNode | None = None  # the iterated expression in the loop header


@dataclass
class Finding:
    """A finding of the analysis, turned into a report by the rule of ``code``."""

    code: str
    node: cst.CSTNode
    message: str


def _merge_values(values: Sequence[Value]) -> Value:
    if not values or any(v is None for v in values):
        return None
    first = values[0]
    if isinstance(first, QS):
        if not all(isinstance(v, QS) for v in values):
            return None
        qs_values = [v for v in values if isinstance(v, QS)]
        if len({(v.model.qualname if v.model else None) for v in qs_values}) != 1:
            return None
        if len({v.rows for v in qs_values}) != 1 or len({v.prefix for v in qs_values}) != 1:
            return None
        cov = qs_values[0].cov
        for other in qs_values[1:]:
            cov = cov.union(other.cov)
        return replace(
            qs_values[0],
            cov=cov,
            fresh=any(v.fresh for v in qs_values),
            sliced=any(v.sliced for v in qs_values),
            batched=any(v.batched for v in qs_values),
            is_list=all(v.is_list for v in qs_values),
            empty=all(v.empty for v in qs_values),
            new_rows=all(v.new_rows for v in qs_values),
            annotations=frozenset.intersection(*(v.annotations for v in qs_values)),
            filters=tuple(call for v in qs_values for call in v.filters),
            made_by=qs_values[0].made_by if len({v.made_by for v in qs_values}) == 1 else "",
        )
    if isinstance(first, Item):
        if not all(isinstance(v, Item) for v in values):
            return None
        items = [v for v in values if isinstance(v, Item)]
        if len({(v.model.qualname if v.model else None) for v in items}) != 1:
            return None
        item_cov = items[0].cov
        for item in items[1:]:
            item_cov = item_cov.union(item.cov)
        origins = {v.origin for v in items}
        return replace(
            items[0], cov=item_cov, origin=items[0].origin if len(origins) == 1 else "get"
        )
    if isinstance(first, ModelClass) and all(
        isinstance(v, ModelClass) and v.model is first.model for v in values
    ):
        return first
    return None


def count_remedy(lookup: str, read: str, where: str) -> str:
    """The remedy of a related manager counted per row (``row.<relation>.count()``,
    ``.exists()``; ``lookup`` is the relation's query name, ``read`` the manager as read):
    annotate the count on the rows' queryset and read it, instead of prefetching every
    related row to count them."""
    field = f"{lookup}_count"
    relation = lookup
    head, _, _ = read.rpartition(".")
    shown = f"{head}.{field}" if head else field
    return (
        f'add `.annotate({field}=Count("{relation}"))` to {where} and read `{shown}` '
        "(a prefetch would load every related row to count them)"
    )
