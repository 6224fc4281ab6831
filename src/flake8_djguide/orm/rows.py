"""Reads of rows (:class:`RowReads`): attribute reads of model instances, related
managers, deferred fields, queries and writes per row, link writes, and the N+1
findings (DJG201, DJG202) they make.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flake8_djguide.helpers import dotted_name
from flake8_djguide.index.project import Model, Relation, query_name
from flake8_djguide.index.querysets import (
    ALWAYS_QUERY,
    EMPTY,
    EVALUATING,
    INSTANCE_METHODS,
    KEEP_METHODS,
    Coverage,
    Path,
    closed,
    lookup_text,
)
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.guards import command_arguments, filters_read, network_names
from flake8_djguide.orm.nodes import (
    _RANGE_LOOKUPS,
    _call_lookups,
    _loop_local,
    _rebinds,
    _root_name,
    code_of,
)
from flake8_djguide.orm.summaries import default_manager_base, graft, manager_base
from flake8_djguide.orm.values import (
    COUNTED,
    LINK_WRITES,
    LOADING,
    MANAGER_SHAPES,
    QS,
    REQUERY,
    SERVED,
    WRITES,
    Finding,
    Item,
    RelManager,
    count_remedy,
)

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.scope import Scope
    from flake8_djguide.orm.values import Value
else:
    from flake8_djguide._lazy import cst


class RowReads(AnalysisBase):
    """Reads of rows and related managers, and the N+1 findings."""

    # -- instances and relations --------------------------------------------------------------------

    def _live(self, item: Item) -> bool:
        frame = item.frame
        return (
            frame is not None
            and any(f is frame for f in self.frames)
            and not frame.suspended
            and not item.reported
        )

    def _item_attr(
        self,
        item: Item,
        name: str,
        node: cst.CSTNode,
        call: cst.Call | None,
        links: list[Any],
        index: int,
        scope: Scope,
        quiet: bool,
    ) -> Value:
        if name in ("save", "delete") and call is not None:
            if not quiet:
                self._write(call, name, item)
            return None
        if name.endswith("_id") or name == "pk":
            return None
        model = item.model
        relation = model.relation(name) if model is not None else None
        path = (*item.prefix, name)
        alias = item.cov.alias(path)
        if alias is not None and model is not None:
            target_relation = model.relation(alias[-1])
            target = (
                self.index.models.get(target_relation.target)
                if target_relation and target_relation.target
                else None
            )
            return QS(
                target,
                item.cov,
                item.text,
                path,
                True,
                False,
                fresh=False,
                is_list=True,
                from_item=True,
            )
        if relation is None:
            if model is not None and name in model.fields:
                if not quiet and call is None and self._live(item) and not item.prefix:
                    self._deferred(item, name, node)
                return None
            if model is not None and not quiet and self._live(item):
                self._instance_call(item, name, node, call)
            if model is not None and call is None and item.frame is None and not item.prefix:
                own = self._property_rows(item, model, name, node)
                if own is not None:
                    return own
            if model is not None and model.complete:
                return None
            following = links[index + 1] if index + 1 < len(links) else None
            if call is None and (
                name.endswith("_set")
                or (
                    following is not None
                    and following[0] == "attr"
                    and following[1] in MANAGER_SHAPES
                    and index + 2 < len(links)
                    and links[index + 2][0] == "call"
                    and following[1] not in ("get", "first", "last")
                )
            ):
                return RelManager(item, name, None, node)
            return None
        if relation.many:
            return RelManager(item, name, relation, node)
        if call is not None:
            return None
        target = self.index.models.get(relation.target) if relation.target else None
        covered = self._covered(item, path, relation)
        if not quiet and not covered and self._live(item) and name not in self._assigned(item):
            self._n_plus_one(item, name, node, relation)
            item = replace(item, reported=True)
        return Item(
            target,
            item.cov,
            item.text,
            path,
            item.through_many or relation.kind == "gfk",
            item.bare_ok and relation.forward_single and not relation.null,
            item.frame,
            item.origin,
            item.reported,
        )

    def _back_loaded(
        self,
        cov: Coverage,
        prefix: Path,
        item: Item,
        relation: Relation | None,
        target: Model | None,
    ) -> Coverage:
        """``cov`` with the foreign keys of a reverse foreign key manager's rows that point
        back at the instance's model loaded: Django gives those rows the instance itself
        (``product.reviews.all()``: each ``review.product`` is ``product``, no query)."""
        if relation is None or relation.kind != "rev_fk" or target is None or item.model is None:
            return cov
        back = {
            (*prefix, r.name)
            for r in target.relations.values()
            if r.kind in ("fk", "o2o") and r.target == item.model.qualname
        }
        if not back:
            return cov
        return replace(cov, select=cov.select | frozenset(back))

    def _assigned(self, item: Item) -> set[str]:
        if item.frame is None or item.prefix:
            return set()
        return item.frame.assigned_attrs

    def _covered(self, item: Item, path: Path, relation: Relation | None) -> bool:
        cov = item.cov
        if cov.opaque or "*" in (item.frame.assigned_attrs if item.frame else ()):
            return True
        if cov.loads(path):
            return True
        bare = bool(
            cov.bare
            and relation is not None
            and relation.forward_single
            and not relation.null
            and item.bare_ok
            and not item.through_many
            and len(path) <= 5
        )
        if bare and item.frame is not None:
            # a named select_related() replaces the bare one: its remedy must keep this path
            self._bare_reads.setdefault(item.frame, set()).add(path)
        return bare

    def _call_for(self, item: Item, path: Path, relation: Relation | None) -> str:
        many = item.through_many or relation is None or not relation.select_ok
        method = "prefetch_related" if many else "select_related"
        return f'{method}("{lookup_text(path)}")'

    def _n_plus_one(
        self,
        item: Item,
        name: str,
        node: cst.CSTNode,
        relation: Relation | None,
        method: str = "",
    ) -> None:
        path = (*item.prefix, name)
        key = (item.frame, path)
        if key in self._seen_paths:
            return  # the instance caches a loaded relation: only the first access queries
        self._seen_paths.add(key)
        cov = item.cov
        call = self._call_for(item, path, relation)
        if (
            method in COUNTED
            and item.frame is not None
            and not item.prefix
            and call.startswith("prefetch_related")
            and not cov.prefetch_dropped
        ):
            # a count per row: one annotate(Count()) serves it; a prefetch (which loads
            # every related row to count them) only when the loop also reads the rows
            start = f"`{code_of(node)}.{method}()` runs a query once per row of `{item.text}`; "
            finding = Finding(
                "DJG201",
                node,
                start
                + count_remedy(
                    query_name(
                        name,
                        relation.kind if relation else None,
                        relation.target if relation else None,
                    ),
                    code_of(node),
                    "that queryset",
                ),
            )
            if self._record(finding):
                loads = (
                    f"`{code_of(node)}` loads relation `{lookup_text(path)}` once per row of "
                    f"`{item.text}`; add `.{call}` to that queryset"
                )
                self._counted.append((finding, item.frame, path, loads))
            return
        if cov.prefetch_dropped and path in cov.prefetch:
            remedy = (
                "give `.iterator()` a `chunk_size` (without it, Django before 5.0 skips the "
                "prefetch and Django 5.0+ raises `ValueError`)"
            )
        elif call.startswith("prefetch_related") and cov.prefetch_dropped:
            remedy = (
                f"add `.{call}` to that queryset and give its `.iterator()` a `chunk_size` "
                "(since Django 5.0, `prefetch_related()` with `iterator()` needs one, "
                "`ValueError` otherwise)"
            )
        elif call.startswith("select_related") and cov.bare and item.frame is not None:
            text = (
                f"`{code_of(node)}` loads relation `{lookup_text(path)}` once per row of "
                f"`{item.text}`; "
            )
            finding = Finding("DJG201", node, text)
            if self._record(finding):
                self._bare_missing.append((finding, item.frame, path))
            return
        else:
            remedy = f"add `.{call}` to that queryset"
        self.report(
            "DJG201",
            node,
            f"`{code_of(node)}` loads relation `{lookup_text(path)}` once per row of "
            f"`{item.text}`; {remedy}",
        )

    def _settle_remedies(self) -> None:
        """Complete the remedies of relations missing from a bare ``select_related()``:
        naming paths replaces the bare form (Django keeps only the named ones), so the
        remedy names every relation the loop reads that the bare form loaded, plus the
        missing ones of that loop. A count per row whose loop also reads the related rows
        (``.all()``) gets the prefetch remedy, which serves both."""
        counted, self._counted = self._counted, []
        for finding, frame, path, prefetch in counted:
            if not self._counted_uses.get((frame, path), set()) <= COUNTED:
                finding.message = prefetch
        pending, self._bare_missing = self._bare_missing, []
        for finding, frame, _ in pending:
            missing = {path for f, other, path in pending if other is frame}
            paths = missing | self._bare_reads.get(frame, set())
            kept = sorted(
                lookup_text(p)
                for p in paths
                if not any(len(q) > len(p) and q[: len(p)] == p for q in paths)
            )
            names = ", ".join(f'"{name}"' for name in kept)
            finding.message += (
                f"replace the bare `.select_related()` with `.select_related({names})` "
                "(naming relations replaces the bare form, which follows only non-null "
                "foreign keys: keep the ones the loop reads)"
            )

    def _deferred(self, item: Item, name: str, node: cst.CSTNode) -> None:
        cov = item.cov
        if cov.opaque:
            return
        if cov.only is not None and name not in cov.only and name not in ("id", "pk"):
            remedy = f'add "{name}" to `only(...)`'
        elif name in cov.defer:
            remedy = f'remove "{name}" from `defer(...)`'
        else:
            return
        self.report(
            "DJG201",
            node,
            f"`{code_of(node)}` loads deferred field `{name}` once per row of `{item.text}`; {remedy}",
        )

    def _related(
        self, manager: RelManager, name: str, call: cst.Call, scope: Scope, quiet: bool
    ) -> Value:
        item = manager.item
        relation = manager.relation
        path = (*item.prefix, manager.name)
        target = self.index.models.get(relation.target) if relation and relation.target else None
        live = self._live(item)
        covered = self._covered(item, path, relation)
        served = name in SERVED or (name == "first" and target is not None and target.ordered)
        if item.frame is not None:
            if served:
                if (
                    not quiet
                    and live
                    and not covered
                    and manager.name not in item.frame.assigned_attrs
                ):
                    self._n_plus_one(item, manager.name, manager.node, relation, name)
                self._counted_uses.setdefault((item.frame, path), set()).add(name)
                if name == "all":
                    return QS(
                        target,
                        self._back_loaded(
                            graft(
                                item.cov,
                                path,
                                default_manager_base(
                                    self.index, relation.target if relation else None
                                ),
                            ),
                            path,
                            item,
                            relation,
                            target,
                        ),
                        item.text,
                        path,
                        True,
                        False,
                        fresh=False,
                        from_item=True,
                    )
                return None
            if name in REQUERY:
                if not quiet and live and not (relation is None and not covered):
                    self._requery(item, manager, name, call, covered)
                fresh = QS(
                    target,
                    self._back_loaded(EMPTY, (), item, relation, target),
                    code_of(call),
                    from_item=True,
                )
                if name in INSTANCE_METHODS:
                    return Item(target, EMPTY, code_of(call), origin="get")
                return self._method(fresh, name, call, scope, True)
            if name in WRITES:
                if not quiet and live:
                    self._query(call, name, QS(target, EMPTY, code_of(call)))
                return None
            if name in LINK_WRITES and not quiet and live:
                self._link_write(call, name, item.model, manager.name, relation, True)
            return None
        # a related manager of a single instance: cached only when that instance prefetched it
        if served and covered and name == "all":
            return QS(target, item.cov, item.text, path, True, False, fresh=False)
        fresh = QS(
            target, self._back_loaded(EMPTY, (), item, relation, target), code_of(manager.node)
        )
        if name == "all":
            return self._served_by_callers(item, manager.name, fresh)
        if name in LINK_WRITES:
            if not quiet and self.in_loop():
                root = _root_name(manager.node)
                per_row = root is None or self._assigned_in_loop(root, scope)
                self._link_write(call, name, item.model, manager.name, relation, per_row)
            return None
        if (
            name in KEEP_METHODS
            or name in LOADING
            or name in EVALUATING
            or name in INSTANCE_METHODS
        ):
            if served and covered:
                return None
            return self._method(fresh, name, call, scope, quiet)
        return None

    def _property_rows(self, item: Item, model: Model, name: str, node: cst.CSTNode) -> QS | None:
        """``order.positions`` of one instance, a ``@property`` returning
        ``self.all_positions.filter(...)`` or ``self.all_positions(manager="objects")``: the
        rows of that related manager (the summary's ``"own"``), as
        ``order.all_positions.all()`` gives them, loading what the named manager loads."""
        summary = self._model_summary(model, name)
        own = summary.get("own") if summary is not None else None
        if not isinstance(own, list):
            return None
        relation = model.relation(own[0])
        if relation is None or not relation.many:
            return None
        rows = self.manager_rows(RelManager(item, own[0], relation, node))
        if rows is None or not own[1]:
            return rows
        manager = rows.model.managers.get(own[1]) if rows.model is not None else None
        if manager is None:
            return None  # a manager the index does not know: what it loads is unknown
        base = manager_base(manager)
        if base.opaque:
            return None
        return replace(
            rows,
            cov=replace(
                base,
                select=base.select | rows.cov.select,
                prefetch=closed([*base.prefetch, *rows.cov.prefetch]),
            ),
        )

    def manager_rows(self, manager: RelManager) -> QS | None:
        """The rows of a single instance's related manager held in a variable
        (``items = book_list.listitem_set``, refined later by ``items.filter(...)``): what
        ``manager.all()`` gives, a fresh query of the related model."""
        item = manager.item
        relation = manager.relation
        if item.frame is not None or relation is None or not relation.many:
            return None
        target = self.index.models.get(relation.target) if relation.target else None
        if target is None:
            return None
        return QS(
            target, self._back_loaded(EMPTY, (), item, relation, target), code_of(manager.node)
        )

    def _served_by_callers(self, item: Item, name: str, qs: QS) -> QS:
        """``self.<name>.all()`` in a model method: the paths under ``<name>`` that every
        ``prefetch_related()`` of the project prefetching that relation loads too
        (``Prefetch("gridpackage_set__grid")``) are taken as loaded on its rows, the method
        being written for callers that prefetch them (adding ``select_related()`` to the
        related manager would bypass that prefetch). A call that prefetches the relation
        alone is a caller whose rows miss them: nothing is taken then."""
        if item.origin != "self" or item.model is None:
            return qs
        paths = self.index.served_by_prefetch(item.model.qualname, name)
        if not paths:
            return qs
        return replace(qs, cov=replace(qs.cov, prefetch=closed([*qs.cov.prefetch, *paths])))

    def _requery(
        self, item: Item, manager: RelManager, name: str, call: cst.Call, covered: bool
    ) -> None:
        relation_path = lookup_text((*item.prefix, manager.name))
        even = " even though it is prefetched" if covered else ""
        self.report(
            "DJG201",
            manager.node,
            f"`{code_of(call)}` runs a query once per row of `{item.text}`{even} "
            f"(`.{name}()` bypasses the prefetch cache); prefetch the rows you need with "
            f'`prefetch_related(Prefetch("{relation_path}", queryset=..., to_attr=...))` and read the list',
        )

    def _write(self, call: cst.Call, name: str, item: Item) -> None:
        if not self.in_loop():
            return
        if item.origin == "new":
            remedy = "build the objects in the loop and save them with one `bulk_create()`"
        elif name == "save":
            remedy = "change the objects in the loop and save them with one `bulk_update()` (or use `update()`)"
        else:
            remedy = "delete them with one `filter(pk__in=...).delete()`"
        self.report(
            "DJG208",
            call,
            f"`{code_of(call)}` runs a query on every iteration of the enclosing loop; {remedy}",
        )

    def _assigned_in_loop(self, name: str, scope: Scope) -> bool:
        """Whether ``name`` is a target of an active loop or assigned in one."""
        active = {id(f.node) for f in self.frames if not f.bounded}
        return _loop_local(name, self._loop_targets(), active, scope)

    def _untyped_link_write(
        self, receiver: cst.CSTNode, method: str, call: cst.Call, scope: Scope
    ) -> None:
        """``post.tags.add(tag)`` where ``post`` is not known to be a model instance (a
        parameter): a related-manager write only when an argument is a model instance
        (or queryset) of a model that some indexed model relates to under that name."""
        if not isinstance(receiver, cst.Attribute) or method == "clear":
            return
        attr = receiver.attr.value
        for arg in call.args:
            if arg.keyword is not None:
                continue
            value = self.evaluate(arg.value, scope, quiet=True)
            target = value.model if isinstance(value, (Item, QS)) else None
            if target is None:
                continue
            owner = self._relating_model(attr, target.qualname)
            if owner is not None:
                root = _root_name(receiver.value)
                per_row = root is None or self._assigned_in_loop(root, scope)
                self._link_write(call, method, owner, attr, owner.relation(attr), per_row)
                return

    def _relating_model(self, attr: str, target: str) -> Model | None:
        """An indexed model with a to-many relation ``attr`` to the model ``target``."""
        cache: dict[tuple[str, str], Model | None] = self.__dict__.setdefault("_relating", {})
        key = (attr, target)
        if key not in cache:
            cache[key] = next(
                (
                    m
                    for m in self.index.models.values()
                    if (r := m.relation(attr)) is not None and r.many and r.target == target
                ),
                None,
            )
        return cache[key]

    def _link_write(
        self,
        call: cst.Call,
        method: str,
        model: Model | None,
        attr: str,
        relation: Relation | None,
        per_row: bool,
    ) -> None:
        """A related-manager write (``add``/``remove``/``set``/``clear``) in a loop."""
        receiver = code_of(call.func.value) if isinstance(call.func, cst.Attribute) else attr
        if not per_row:
            if method in ("add", "remove"):
                remedy = f"collect the objects and call `{receiver}.{method}(*objects)` once after the loop"
            else:
                remedy = (
                    f"`{method}()` replaces every link each time: call `{receiver}.set(objects)` "
                    "once after the loop"
                )
        elif relation is not None and relation.kind not in ("m2m", "rev_m2m"):
            remedy = "change the related rows with one `filter(pk__in=...).update(...)`"
        else:
            through = f"{model.name if model else '<Model>'}.{attr}.through"
            if method == "add":
                remedy = f"create the links with one `{through}.objects.bulk_create([...])`"
            elif method == "set":
                remedy = (
                    f"replace the links with one `{through}.objects.filter(...).delete()` and one "
                    f"`{through}.objects.bulk_create([...])`"
                )
            else:
                remedy = f"delete the links with one `{through}.objects.filter(...).delete()`"
        self.report(
            "DJG208",
            call,
            f"`{code_of(call)}` runs a query on every iteration of the enclosing loop; {remedy}",
        )

    def _query(self, node: cst.CSTNode, method: str, qs: QS, scope: Scope | None = None) -> None:
        if not self.in_loop() or qs.sliced or qs.batched or qs.from_item or qs.empty:
            return
        if not self._fresh(qs) and method not in ALWAYS_QUERY:
            return
        filters = qs.filters
        if method == "get" and isinstance(node, cst.Call):
            filters += (node,)
        if method not in WRITES and self._after_network(filters):
            return
        if method in ("create", "get_or_create"):
            remedy = "collect the objects and create them with one `bulk_create()`"
        elif method == "update_or_create":
            remedy = (
                "fetch the existing rows once (`in_bulk()`), then `bulk_create()`/`bulk_update()`"
            )
        elif method == "update":
            remedy = "update all rows with one `filter(pk__in=...).update(...)` or `bulk_update()`"
        elif method == "delete":
            remedy = "delete all rows with one `filter(pk__in=...).delete()`"
        elif method in ("count", "exists", "aggregate"):
            remedy = (
                "compute it for all rows at once (`annotate()`, or `values(...).annotate(...)`)"
            )
        else:
            remedy = self._range_remedy(filters, scope) or (
                "fetch all rows once before the loop (`filter(pk__in=...)` or `in_bulk()`)"
            )
        self.report(
            "DJG208" if method in WRITES else "DJG202",
            node,
            f"`{code_of(node)}` runs a query on every iteration of the enclosing loop; {remedy}",
        )

    def _after_network(self, filters: Sequence[cst.Call]) -> bool:
        """Whether a lookup of the query compares with a value the innermost loop's
        iteration got from a network call (``requests.get(...).url``): it does not exist
        before the loop, so nothing can be fetched for all rows at once."""
        if not filters or not self.frames:
            return False
        loop = self.frames[-1].node
        names = self._network_names.get(id(loop))
        if names is None:
            names = self._network_names[id(loop)] = network_names(loop, self.ctx)
        return filters_read(filters, names)

    def _operator_typed(self, node: cst.BaseExpression, scope: Scope) -> bool:
        """A management command's loop over the arguments its operator typed
        (``for pk in options["ids"]``): a handful of iterations, like a literal list."""
        if not self.functions:
            return False
        cls = scope.cls
        command = self.ctx.is_management_command or (
            cls is not None
            and any((dotted_name(b.value) or "").endswith("Command") for b in cls.node.bases)
        )
        return command and command_arguments(node, self.functions[-1], scope)

    def _range_remedy(self, filters: Sequence[cst.Call], scope: Scope | None) -> str | None:
        """The remedy of a per-row read whose filters (``filter()``/``exclude()``/``get()``
        calls) compare the innermost loop's values only by range (``start__lte=row.day``):
        ``__in`` cannot batch those lookups, so the remedy is one fetch of the candidate
        rows, matched in Python, or a correlated subquery. ``None`` when a per-row value is
        compared otherwise (``owner=user``), or the filters read none."""
        frame = next((f for f in reversed(self.frames) if not f.bounded and not f.suspended), None)
        if frame is None or scope is None or not filters:
            return None
        lookups = [lookup for call in filters for lookup in _call_lookups(call)]
        loop = {id(frame.node)}
        body = frame.node.body if isinstance(frame.node, (cst.For, cst.While)) else None
        per_row = [
            keyword
            for keyword, names in lookups
            if any(
                _loop_local(name, frame.targets, loop, scope)
                or (body is not None and _rebinds(body, name))  # ``start, end = ...``
                for name in names
            )
        ]
        # a keyword without ``__`` is an exact lookup of a field (even one named ``range``)
        if not per_row or any(
            "__" not in k or k.rsplit("__", 1)[-1] not in _RANGE_LOOKUPS for k in per_row
        ):
            return None
        shown = list(dict.fromkeys(per_row))
        listed = ", ".join(f"`{k}`" for k in shown[:3]) + (", ..." if len(shown) > 3 else "")
        return (
            f"it compares each row's values by range ({listed}), which `__in` cannot batch: "
            "fetch the candidate rows once before the loop and match them to each row in "
            "Python (or annotate the looped queryset with a `Subquery`/`Exists` on "
            "`OuterRef(...)`)"
        )
