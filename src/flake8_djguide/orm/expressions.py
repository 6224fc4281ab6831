"""Evaluating expressions (:class:`Expressions`): names, attribute chains,
subscripts, manager and queryset method calls, ``Prefetch`` objects and the
loading steps they add.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flake8_djguide.helpers import string_value
from flake8_djguide.index.project import Manager
from flake8_djguide.index.querysets import (
    EMPTY,
    EVALUATING,
    INSTANCE_METHODS,
    KEEP_METHODS,
    Coverage,
    PrefetchSpec,
    Step,
    apply,
    split,
)
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.calls import KEY_CALLS
from flake8_djguide.orm.nodes import (
    _chain,
    _children,
    _is_chain,
    _last,
    _loop_local,
    _names_in,
    code_of,
)
from flake8_djguide.orm.summaries import manager_base, summary_coverage
from flake8_djguide.orm.values import (
    _LIST_CALLS,
    _RELATED_LOADING,
    LINK_WRITES,
    LOADING,
    MANAGER_ATTRS,
    QS,
    Item,
    ModelClass,
    RelManager,
    SelfRef,
    SuperRef,
)
from flake8_djguide.rules._lookups import checked_step

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.scope import Scope
    from flake8_djguide.orm.values import Value
else:
    from flake8_djguide._lazy import cst


class Expressions(AnalysisBase):
    """Evaluating expressions to values."""

    # -- evaluation --------------------------------------------------------------------------------

    def evaluate(self, node: cst.CSTNode, scope: Scope, quiet: bool) -> Value:
        """The value of an expression; unless ``quiet``, also report and visit its parts."""
        if type(node) is cst.Name:
            return self._name(node.value, scope, None)
        if type(node) is cst.Call and type(node.func) is not cst.Attribute:
            if not quiet:
                self._sql_sink(node, scope)
                self._serializer_sink(node, scope)
                for arg in node.args:
                    self._visit(arg.value, scope)
                self._check_render(node, scope)
            return self._root_call(node, scope, quiet)
        if not _is_chain(node):
            if not quiet:
                for child in _children(node):
                    self._visit(child, scope)
            return None
        root, links = _chain(node)
        value: Value
        start = 0
        if type(root) is cst.Name:
            value, start = self._class_path(root.value, scope, links)
        elif type(root) is cst.Call:
            value = self.evaluate(root, scope, quiet)
        else:
            if not quiet:
                self._visit(root, scope)
            value = None
        index = start
        while index < len(links):
            kind, payload, link_node = links[index]
            if kind == "call":
                if not quiet:
                    self._sql_sink(payload, scope)
                    self._serializer_sink(payload, scope)
                    for arg in payload.args:
                        self._visit(arg.value, scope)
                value = None
                index += 1
                continue
            if kind == "sub":
                if not quiet:
                    for element in payload.slice:
                        self._visit(element, scope)
                value = self._subscript(value, payload, quiet)
                index += 1
                continue
            call = None
            if index + 1 < len(links) and links[index + 1][0] == "call":
                call = links[index + 1][1]
                if not quiet:
                    self._sql_sink(call, scope)
                    self._serializer_sink(call, scope)
                    for arg in call.args:
                        self._visit(arg.value, scope)
            if (
                value is None
                and call is not None
                and not quiet
                and payload in LINK_WRITES
                and index >= 1
                and links[index - 1][0] == "attr"
                and self.in_loop()
            ):
                self._untyped_link_write(links[index - 1][2], payload, call, scope)
            if (
                value is None
                and call is not None
                and isinstance(root, cst.Name)
                and all(kind == "attr" for kind, _, _ in links[:index])
                and self._global(root.value, scope)
            ):
                # ``utils.helper(row)``: a function of an imported module
                dotted = ".".join([root.value, *(name for _, name, _ in links[: index + 1])])
                value = self._function_call(call, dotted, scope, quiet)
            else:
                value = self._attr(value, payload, link_node, call, links, index, scope, quiet)
            index += 2 if call is not None else 1
        return value

    def _name(self, name: str, scope: Scope, links: list[Any] | None) -> Value:
        for frame in reversed(self.frames):
            if name in frame.bindings:
                return frame.bindings[name]
            if name in frame.targets:
                return None
        if scope.cls is not None and getattr(scope, "self_name", None) == name:
            model = self._class_model(scope.cls)
            if model is not None:
                return Item(model, EMPTY, name, origin="self")
            rows = self._class_queryset(scope.cls, name)
            if rows is not None:
                return rows
            return SelfRef(scope.cls)
        if name in scope.typed and name not in scope.records:
            return scope.typed[name]
        if name in scope.records or name in scope.opaque:
            return scope.value_of(name)
        if not self._may_name_a_class(name):
            # Not imported nor defined in the file: the index could only resolve it to
            # ``<this module>.<name>``, which is no class (the same answer, without it).
            if name[:1].isupper() and links and links[0][0] == "attr":
                return ModelClass(None, name) if links[0][1] in MANAGER_ATTRS else None
            return None
        model = self.index.model_named(self.file_index.module, name)
        if model is not None:
            return ModelClass(model, name)
        if (
            name[:1].isupper()
            and links
            and links[0][0] == "attr"
            and links[0][1] in MANAGER_ATTRS
            and self.index.kind(self.index.resolve(self.file_index.module, name)) is None
        ):
            return ModelClass(None, name)
        return None

    def _class_path(self, name: str, scope: Scope, links: list[Any]) -> tuple[Value, int]:
        """The value of a chain's root ``name`` with the attributes that still name a class,
        and how many links they take: ``models.Note`` and ``app.models.Note`` (a model
        through an imported module), ``Product.tags.through`` (a many-to-many through
        model)."""
        value = self._name(name, scope, links)
        start = 0
        if value is None and links and links[0][0] == "attr" and self._global(name, scope):
            parts = [name]
            for position, (kind, payload, _) in enumerate(links[:4]):
                if kind != "attr":
                    break
                dotted = ".".join(parts)
                if payload in MANAGER_ATTRS:
                    # ``models.Note.objects`` with ``Note`` not in the index: a model by its
                    # shape, as ``Note.objects`` is
                    if position and parts[-1][:1].isupper():
                        module = self.file_index.module
                        if self.index.kind(self.index.resolve(module, dotted)) is None:
                            value, start = ModelClass(None, dotted), position
                    break
                parts.append(payload)
                if payload[:1].isupper():
                    dotted = ".".join(parts)
                    model = self.index.model_named(self.file_index.module, dotted)
                    if model is not None:
                        value, start = ModelClass(model, dotted), position + 1
                        break
        if (
            isinstance(value, ModelClass)
            and value.model is not None
            and len(links) > start + 1
            and links[start][0] == "attr"
            and links[start + 1][0] == "attr"
            and links[start + 1][1] == "through"
        ):
            relation = value.model.relation(links[start][1])
            through = self.index.models.get(relation.through or "") if relation else None
            if through is not None:
                text = f"{value.name}.{links[start][1]}.through"
                value, start = ModelClass(through, text), start + 2
        return value, start

    def _global(self, name: str, scope: Scope) -> bool:
        """Whether ``name`` is a module-level name here (not bound in the function)."""
        if any(name in frame.bindings or name in frame.targets for frame in self.frames):
            return False
        if name in scope.records or name in scope.opaque:
            return False
        return self._may_name_a_class(name)

    def _root_call(self, call: cst.Call, scope: Scope, quiet: bool) -> Value:
        func = call.func
        name = func.value if isinstance(func, cst.Name) else _last(func)
        args = [a for a in call.args if a.keyword is None and not a.star]
        if name in KEY_CALLS and not quiet:
            self._key_function(call, scope)
        if name in _LIST_CALLS and args:
            inner = self.evaluate(args[0].value, scope, quiet=True)
            if isinstance(inner, QS):
                if not quiet:
                    self._iteration(call, inner, scope)
                return replace(inner, is_list=True, fresh=False)
            return None
        if name == "super" and scope.cls is not None:
            return SuperRef(scope.cls)
        if name in ("get_object_or_404", "get_list_or_404") and args:
            base = self.evaluate(args[0].value, scope, quiet=True)
            qs = self._as_queryset(base, code_of(args[0].value))
            if qs is None:
                return None
            if name == "get_object_or_404":
                return Item(qs.model, qs.cov, qs.text, origin="get")
            return replace(qs, is_list=True, fresh=False)
        if isinstance(func, cst.Name):
            value = self._name(name, scope, None)
            if isinstance(value, ModelClass) and value.model is not None:
                return Item(value.model, EMPTY, code_of(call), origin="new")
            if value is None:
                return self._function_call(call, name, scope, quiet)
        return None

    def _as_queryset(self, value: Value, text: str) -> QS | None:
        if isinstance(value, QS):
            return value
        if isinstance(value, ModelClass):
            manager = value.model.managers.get("objects") if value.model else None
            return QS(value.model, manager_base(manager), text, manager=manager)
        return None

    def _subscript(self, value: Value, node: cst.Subscript, quiet: bool) -> Value:
        if not isinstance(value, QS) or len(node.slice) != 1:
            return None
        element = node.slice[0].slice
        if isinstance(element, cst.Slice):
            return replace(value, sliced=True)
        if value.is_list:
            return Item(
                value.model,
                value.cov,
                value.text,
                value.prefix,
                value.through_many,
                value.bare_ok,
                origin="get",
            )
        if not quiet:
            self._query(node, "index", value)
        return Item(
            value.model,
            value.cov,
            value.text,
            value.prefix,
            value.through_many,
            value.bare_ok,
            origin="get",
        )

    def _attr(
        self,
        value: Value,
        name: str,
        node: cst.CSTNode,
        call: cst.Call | None,
        links: list[Any],
        index: int,
        scope: Scope,
        quiet: bool,
    ) -> Value:
        if isinstance(value, ModelClass):
            return self._manager(value, name, node, call, scope, quiet)
        if isinstance(value, QS):
            if call is None:
                # a filter set's ``qs`` (:meth:`filterset`): its rows
                return value if name == "qs" else None
            return self._method(value, name, call, scope, quiet)
        if isinstance(value, Item):
            own = value.origin == "self" and not value.prefix
            if own and call is not None and scope.cls is not None and not quiet:
                self._self_call(scope.cls, name, call, scope)
            result = self._item_attr(value, name, node, call, links, index, scope, quiet)
            if call is not None and isinstance(result, RelManager):
                return None
            return result
        if isinstance(value, RelManager):
            if call is None:
                # ``write.votes.through``: the many-to-many's through model
                through = value.relation.through if value.relation else None
                found = self.index.models.get(through) if through and name == "through" else None
                return ModelClass(found, found.name) if found is not None else None
            return self._related(value, name, call, scope, quiet)
        if isinstance(value, SelfRef):
            if call is not None and not quiet:
                self._self_call(value.cls, name, call, scope)
            return self._self_attr(value.cls, name, call, scope)
        if isinstance(value, SuperRef):
            if name == "get_queryset" and call is not None:
                if scope.assigns_attribute("queryset") and self.bases_pass_queryset(value.cls):
                    # ``self.queryset = ...`` then ``return super().get_queryset()``:
                    # Django's and DRF's ``get_queryset()`` give ``self.queryset``'s rows
                    return scope.attribute_of("queryset")
                return self.super_queryset(value.cls)
            return None
        return None

    def _manager(
        self,
        value: ModelClass,
        name: str,
        node: cst.CSTNode,
        call: cst.Call | None,
        scope: Scope,
        quiet: bool,
    ) -> Value:
        model = value.model
        manager: Manager | None = None
        if model is not None and name in model.managers:
            manager = model.managers[name]
        elif name not in MANAGER_ATTRS:
            if call is not None and model is not None:
                return self._class_method_rows(model, name, call)
            return None
        if call is not None:
            return None  # ``Model.objects(...)`` is not a queryset
        return QS(model, manager_base(manager), code_of(node), manager=manager)

    def _step(self, name: str, call: cst.Call, scope: Scope) -> Step:
        step = Step(name)
        strings: list[str] | None = []
        for arg in call.args:
            if arg.star:
                strings = None
                continue
            if arg.keyword is not None:
                step.keywords[arg.keyword.value] = arg.value
                continue
            step.has_args = True
            text = string_value(arg.value)
            if text is not None:
                if strings is not None:
                    strings.append(text)
                continue
            if isinstance(arg.value, cst.Name) and arg.value.value == "None":
                step.none_arg = True
                continue
            if (
                name == "prefetch_related"
                and isinstance(arg.value, cst.Call)
                and _last(arg.value.func) == "Prefetch"
            ):
                step.prefetches.append(self._prefetch(arg.value, scope))
                continue
            strings = None
        step.strings = strings
        return step

    def _prefetch(self, call: cst.Call, scope: Scope) -> PrefetchSpec:
        lookup: str | None = None
        queryset: cst.BaseExpression | None = None
        to_attr: str | None = None
        known = True
        positional = 0
        for arg in call.args:
            if arg.star:
                known = False
            elif arg.keyword is None:
                if positional == 0:
                    lookup = string_value(arg.value)
                elif positional == 1:
                    queryset = arg.value
                elif positional == 2:
                    to_attr = string_value(arg.value)
                    known = known and to_attr is not None
                positional += 1
            elif arg.keyword.value == "lookup":
                lookup = string_value(arg.value)
            elif arg.keyword.value == "queryset":
                queryset = arg.value
            elif arg.keyword.value == "to_attr":
                to_attr = string_value(arg.value)
                known = known and to_attr is not None
        if lookup is None:
            return PrefetchSpec((), None, None, False)
        inner: Coverage | None = None
        if queryset is not None and not (
            isinstance(queryset, cst.Name) and queryset.value == "None"
        ):
            value = self.evaluate(queryset, scope, quiet=True)
            qs = self._as_queryset(value, "")
            if qs is None:
                known = False
            else:
                inner = qs.cov
        return PrefetchSpec(split(lookup), to_attr, inner, known)

    def _method(self, qs: QS, name: str, call: cst.Call, scope: Scope, quiet: bool) -> Value:
        if name in KEEP_METHODS or name in LOADING:
            step = self._step(name, call, scope)
            if name in _RELATED_LOADING and qs.model is not None and qs.rows == "instances":
                # a path that is not a relation chain of the model loads nothing (DJG207)
                step = checked_step(self, qs.model, name, call, step, quiet)
            result = replace(qs, cov=apply(qs.cov, step), fresh=True, is_list=False)
            if name not in KEEP_METHODS and qs.made_by:
                result = replace(result, made_by="")  # loaded here: the view's own queryset
            if name in ("filter", "exclude"):
                result = replace(result, filters=(*qs.filters, call))
            if name in ("filter", "exclude", "get") and self._batched(call, scope, name):
                result = replace(result, batched=True)
            elif name == "none":
                result = replace(result, empty=True)
            elif name == "annotate":
                added = {arg.keyword.value for arg in call.args if arg.keyword is not None}
                result = replace(result, annotations=qs.annotations | added)
            return result
        if name in ("values", "values_list"):
            return replace(qs, rows="values", fresh=True, is_list=False)
        if name == "get_queryset" and not call.args:
            return replace(qs, fresh=True, is_list=False)
        if name == "iterator":
            return replace(qs, cov=apply(qs.cov, self._step(name, call, scope)))
        if name == "raw":
            return QS(qs.model, EMPTY, code_of(call), manager=qs.manager)
        if name in EVALUATING or name in INSTANCE_METHODS:
            if not quiet:
                batched = qs.batched or (name == "get" and self._batched(call, scope, name))
                if not batched:
                    self._query(call, name, qs, scope)
            if name in INSTANCE_METHODS or name == "create":
                return Item(
                    qs.model,
                    qs.cov,
                    qs.text,
                    qs.prefix,
                    qs.through_many,
                    qs.bare_ok,
                    origin="new" if name == "create" else "get",
                )
            return None
        if qs.manager is not None and name in qs.manager.methods:
            found = summary_coverage(
                qs.manager, qs.manager.methods[name].returns, qs.cov, name=name
            )
            if found is None:
                return None
            coverage, rows = found
            return replace(
                qs,
                cov=coverage,
                rows=rows if qs.rows == "instances" else qs.rows,
                fresh=True,
                made_by=f"{qs.manager.methods[name].owner}.{name}",
            )
        return None

    def _batched(self, call: cst.Call, scope: Scope, method: str) -> bool:
        """One query per batch, on purpose: ``filter(pk__in=chunk)`` with a loop variable
        (or a variable assigned in the loop), ``filter(pk__in=ids[start:start + size])``
        with a slice that moves with the loop, or, in a chunked loop
        (``for start in range(0, n, size)``), a filter that reads that loop's variables
        (``filter(pk__gte=start, pk__lt=start + size)``)."""
        targets = self._loop_targets()
        active = {id(f.node) for f in self.frames}
        inner = self.frames[-1] if self.frames else None
        # only directly in the chunked loop: a loop inside it runs once per row again
        chunked = {id(inner.node): inner} if inner is not None and inner.chunked else {}
        for arg in call.args:
            value = arg.value
            if arg.keyword is not None and arg.keyword.value.endswith("__in"):
                if isinstance(value, cst.Name):
                    if _loop_local(value.value, targets, active, scope):
                        return True
                elif isinstance(value, cst.Subscript):
                    bounds = [s.slice for s in value.slice if isinstance(s.slice, cst.Slice)]
                    if any(
                        _loop_local(name, targets, active, scope)
                        for bound in bounds
                        for name in _names_in(bound)
                    ):
                        return True
            if chunked and method != "get":
                chunk_targets: set[str] = set()
                for frame in chunked.values():
                    chunk_targets |= frame.targets
                if any(
                    _loop_local(name, chunk_targets, set(chunked), scope)
                    for name in _names_in(value)
                ):
                    return True
        return False
