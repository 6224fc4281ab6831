"""The per-function interpreter's statements (:class:`Statements`): the walk over
functions, classes, blocks, ``if``/``try``, assignments, ``for`` loops and
comprehensions, and the loop frames they push.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import TYPE_CHECKING

from flake8_djguide.helpers import dotted_name, string_value
from flake8_djguide.index.querysets import EMPTY
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.nodes import (
    _ast_literal_collection,
    _attribute_assignments,
    _batch_flush,
    _block_exit,
    _children,
    _class_attr_changed,
    _is_constant,
    _is_constant_name,
    _is_literal_collection,
    _last,
    _memo_guard,
    _memo_handlers,
    _names_in,
    _rebinds,
    _target_names,
    _visit_kinds,
    code_of,
)
from flake8_djguide.orm.scope import ClassInfo, Scope
from flake8_djguide.orm.values import QS, Frame, Item

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.values import Value
else:
    from flake8_djguide._lazy import cst


class Statements(AnalysisBase):
    """The statements of the per-function interpreter."""

    # -- the walk ------------------------------------------------------------------------------

    def _visit(self, node: cst.CSTNode, scope: Scope) -> None:
        # One look-up by exact type (libcst's node classes are final) instead of
        # a row of ``isinstance`` checks, each a Python-level ABC check.
        kind = _visit_kinds().get(type(node))
        if kind is None:
            for child in _children(node):
                self._visit(child, scope)
            return
        if kind == "function":
            self._function(node, scope.cls if scope.kind == "class" else None)  # type: ignore[arg-type]
        elif kind == "class":
            self._class(node)  # type: ignore[arg-type]
        elif kind == "for":
            self._for(node, scope)  # type: ignore[arg-type]
        elif kind == "while":
            assert isinstance(node, cst.While)
            self._visit(node.test, scope)
            frame = Frame(node, condition=frozenset(_names_in(node.test)))
            self.frames.append(frame)
            self._visit(node.body, scope)
            self.frames.pop()
            if node.orelse is not None:
                self._visit(node.orelse, scope)
        elif kind == "comprehension":
            self._comprehension(node, scope)
        elif kind == "if":
            self._if(node, scope)  # type: ignore[arg-type]
        elif kind == "try":
            self._try(node, scope)  # type: ignore[arg-type]
        elif kind == "block":
            self._block(node, scope)  # type: ignore[arg-type]
        elif kind == "assign":
            self._assign(node, scope)
        elif kind == "evaluate":
            self.evaluate(node, scope, quiet=False)
        # "lambda": not entered

    def _function(self, node: cst.FunctionDef, cls: ClassInfo | None) -> None:
        params = node.params
        names = [
            p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)
        ]
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                names.append(star.name.value)
        saved = self.frames
        self.frames = []
        self.functions.append(node)
        scope = Scope(self, [node.body], cls, names)
        decorators = {dotted_name(d.decorator) for d in node.decorators}
        if cls is not None and names and "staticmethod" not in decorators:
            scope.self_name = names[0] if "classmethod" not in decorators else None  # type: ignore[attr-defined]
        self._typed_params(node, scope)
        body = node.body
        if isinstance(body, cst.IndentedBlock):
            for index, statement in enumerate(body.body):
                scope.position = index
                self._visit(statement, scope)
            scope.position = None
        else:
            self._visit(body, scope)
        self.functions.pop()
        self.frames = saved

    def _typed_params(self, node: cst.FunctionDef, scope: Scope) -> None:
        """Parameters annotated with a model (``order: Order``, ``order: "Order"``): one
        instance of it, whose related managers are known (never an optional or a union)."""
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.annotation is None:
                continue
            annotation = param.annotation.annotation
            dotted = string_value(annotation) or dotted_name(annotation)
            if not dotted or not dotted.replace(".", "").isidentifier():
                continue
            model = self.index.model_named(self.file_index.module, dotted)
            if model is not None:
                scope.typed[param.name.value] = Item(model, EMPTY, param.name.value, origin="get")

    def _class(self, node: cst.ClassDef) -> None:
        info = ClassInfo(node, self)
        self.class_infos[info.name] = info
        scope = Scope(self, [node.body], info, kind="class")
        saved = self.frames
        self.frames = []
        for statement in node.body.body:
            self._visit(statement, scope)
        self.frames = saved
        self._check_view(info, scope)
        self._check_serializer(info)
        self._check_template_view(info)

    def _block(self, node: cst.BaseSuite, scope: Scope) -> None:
        leaving = _block_exit(node) if self.frames else None
        touched: list[Frame] = []
        if leaving == "break":
            touched = [self.frames[-1]]
        elif leaving == "exit":
            touched = list(self.frames)
        for frame in touched:
            frame.suspended += 1
        for child in _children(node):
            self._visit(child, scope)
        for frame in touched:
            frame.suspended -= 1

    def _if(self, node: cst.If, scope: Scope) -> None:
        if not self.frames:
            for child in _children(node):
                self._visit(child, scope)
            return
        # ``while True: ... if not Model.objects.filter(slug=slug).exists(): return slug``:
        # the query decides whether the ``while`` loop goes on (once per attempt, the
        # unique-slug loop); an enclosing loop still counts
        inner = self.frames[-1]
        exit_test = isinstance(inner.node, cst.While) and _block_exit(node.body) is not None
        inner.suspended += exit_test
        self._visit(node.test, scope)
        inner.suspended -= exit_test
        guarded = _memo_guard(node, scope)
        if guarded is None and _batch_flush(node, self.frames):
            guarded = "body"  # the flush of a batch the loop fills: once per batch
        for branch, part in (("body", node.body), ("orelse", node.orelse)):
            if part is None:
                continue
            # a memoized look-up runs once per distinct key, not once per iteration
            touched = list(self.frames) if branch == guarded else []
            for frame in touched:
                frame.suspended += 1
            self._visit(part, scope)
            for frame in touched:
                frame.suspended -= 1

    def _try(self, node: cst.Try, scope: Scope) -> None:
        # ``try: obj = cache[key] except KeyError: obj = cache[key] = <query>``: a
        # memoized look-up, once per distinct key
        guarded = _memo_handlers(node) if self.frames else set()
        self._visit(node.body, scope)
        for handler in node.handlers:
            touched = list(self.frames) if id(handler) in guarded else []
            for frame in touched:
                frame.suspended += 1
            self._visit(handler, scope)
            for frame in touched:
                frame.suspended -= 1
        if node.orelse is not None:
            self._visit(node.orelse, scope)
        if node.finalbody is not None:
            self._visit(node.finalbody, scope)

    def _assign(self, node: cst.CSTNode, scope: Scope) -> None:
        value = getattr(node, "value", None)
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            targets = [node.target]
        if value is not None:
            # ``while taken: ... taken = Model.objects.filter(slug=slug).exists()``: the
            # body recomputes its own condition (once per attempt, the unique-slug loop)
            inner = self.frames[-1] if self.frames else None
            recomputes = (
                inner is not None
                and bool(inner.condition)
                and any(n in inner.condition for t in targets for n in _target_names(t))
            )
            if recomputes:
                assert inner is not None
                inner.suspended += 1
            self._visit(value, scope)
            if recomputes:
                assert inner is not None
                inner.suspended -= 1
        for target in targets:
            self._target(target, scope)

    def _target(self, target: cst.BaseExpression, scope: Scope) -> None:
        if type(target) is cst.Name:
            return  # most targets (exact types: libcst's node classes are not subclassed)
        if type(target) is cst.Attribute:
            self._visit(target.value, scope)  # p.category.name = x reads p.category
        elif type(target) is cst.Subscript:
            self._visit(target.value, scope)
            for subscript in target.slice:
                self._visit(subscript, scope)
        elif type(target) is cst.Tuple or type(target) is cst.List:
            for element in target.elements:
                self._target(element.value, scope)
        elif type(target) is cst.StarredElement:
            self._target(target.value, scope)

    # -- loops -----------------------------------------------------------------------------------

    def _bounded(self, node: cst.BaseExpression, scope: Scope) -> bool:
        if _is_literal_collection(node):
            return True
        if self._operator_typed(node, scope):
            return True
        if isinstance(node, cst.Name):
            records = scope.records.get(node.value)
            if records and node.value not in scope.opaque:
                # a list filled with ``append()``/``extend()`` is bounded only by literals
                fills = scope.fills.get(node.value, ())
                return all(
                    r.value is not None and _is_literal_collection(r.value) for r in records
                ) and all(
                    r.value is not None
                    and (
                        _is_constant(r.value)
                        if r.kind == "append"
                        else _is_literal_collection(r.value)
                    )
                    for r in fills
                )
        if _is_constant_name(node) or isinstance(node, cst.Attribute):
            return self._literal_constant(node, scope)
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("items", "keys", "values")
            and not node.args
            and isinstance(node.func.value, (cst.Name, cst.Attribute))
        ):
            return self._bounded(node.func.value, scope)
        return False

    def _literal_constant(self, node: cst.BaseExpression, scope: Scope) -> bool:
        """A constant holding a literal collection: a class attribute read through
        ``self``/``cls`` that the class body binds to a literal (``ROLES = ("admin",
        "annotator")``, ``uuids = {"squats": "...", ...}``) and no method rebinds or fills,
        or an UPPER_CASE module-level name assigned once (read from the whole file's ``ast``
        tree)."""
        if isinstance(node, cst.Attribute):
            owner = node.value
            if scope.cls is None or not isinstance(owner, cst.Name):
                return False
            if owner.value not in ("self", "cls", scope.cls.node.name.value):
                return False
            value = scope.cls.attrs.get(node.attr.value)
            return (
                value is not None
                and _is_literal_collection(value)
                and not _class_attr_changed(scope.cls.node, node.attr.value)
            )
        if not isinstance(node, cst.Name) or node.value in scope.records:
            return False
        tree = self.ctx.tree
        if not isinstance(tree, ast.Module):
            return False
        values = [
            statement.value
            for statement in tree.body
            if isinstance(statement, (ast.Assign, ast.AnnAssign))
            and any(
                isinstance(t, ast.Name) and t.id == node.value
                for t in (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
            )
        ]
        return len(values) == 1 and _ast_literal_collection(values[0])

    def _for(self, node: cst.For, scope: Scope) -> None:
        value = self.evaluate(node.iter, scope, quiet=False)
        self._iteration(node.iter, value, scope)
        frame = Frame(
            node,
            targets=set(_target_names(node.target)),
            iter=node.iter,
            bounded=self._bounded(node.iter, scope),
            chunked=isinstance(node.iter, cst.Call)
            and isinstance(node.iter.func, cst.Name)
            and node.iter.func.value == "range"
            and len(node.iter.args) == 3,
        )
        self._bind(frame, node.target, node.iter, value, [node.body], scope)
        self._visit(node.target, scope) if not isinstance(
            node.target, (cst.Name, cst.Tuple, cst.List)
        ) else None
        self.frames.append(frame)
        self._visit(node.body, scope)
        self.frames.pop()
        if node.orelse is not None:
            self._visit(node.orelse, scope)

    def _bind(
        self,
        frame: Frame,
        target: cst.BaseExpression,
        iterable: cst.BaseExpression,
        value: Value,
        body: Sequence[cst.CSTNode],
        scope: Scope,
    ) -> None:
        if (
            isinstance(iterable, cst.Call)
            and _last(iterable.func) == "enumerate"
            and iterable.args
            and isinstance(target, cst.Tuple)
            and len(target.elements) == 2
        ):
            value = self.evaluate(iterable.args[0].value, scope, quiet=True)
            target = target.elements[1].value
        elif (
            isinstance(iterable, cst.Call)
            and _last(iterable.func) == "zip"
            and isinstance(target, cst.Tuple)
            and len(target.elements) == len(iterable.args)
            and not any(a.star or a.keyword is not None for a in iterable.args)
        ):
            # ``for product, price in zip(products, prices)``: each name holds the rows of
            # the iterable at its position
            for element, argument in zip(target.elements, iterable.args):
                row = self.evaluate(argument.value, scope, quiet=True)
                self._bind(frame, element.value, argument.value, row, body, scope)
            return
        if (
            not isinstance(value, QS)
            or value.rows != "instances"
            or value.empty
            or not isinstance(target, cst.Name)
        ):
            return
        name = target.value
        if any(_rebinds(part, name) for part in body):
            return
        frame.bindings[name] = Item(
            value.model,
            value.cov,
            value.text if value.prefix else code_of(iterable),
            value.prefix,
            value.through_many,
            value.bare_ok,
            frame,
            "new" if value.new_rows else "loop",
        )
        for part in body:
            frame.assigned_attrs |= _attribute_assignments(part, name)

    def _iteration(self, node: cst.CSTNode, value: Value, scope: Scope | None = None) -> None:
        """A queryset iterated inside a loop: a query per iteration when it is new."""
        if (
            isinstance(value, QS)
            and self._fresh(value)
            and not value.is_list
            and not value.from_item
            and self.in_loop()
            and not value.sliced
            and not value.batched
            and not value.empty
            and not self._after_network(value.filters)
        ):
            remedy = self._range_remedy(value.filters, scope) or (
                "fetch the rows once before the loop (`filter(<field>__in=...)`) and group "
                "them in a dict"
            )
            self.report(
                "DJG202",
                node,
                f"`{code_of(node)}` runs a query on every iteration of the enclosing loop; {remedy}",
            )

    def _fresh(self, qs: QS) -> bool:
        if qs.loops:
            active = {id(f.node) for f in self.frames}
            if qs.loops & active:
                return True
        return qs.fresh

    def _comprehension(self, node: cst.CSTNode, scope: Scope) -> None:
        for_in: cst.CompFor = node.for_in  # type: ignore[attr-defined]
        pushed = 0
        first = True
        while for_in is not None:
            if first:
                value = self.evaluate(for_in.iter, scope, quiet=False)
                self._iteration(for_in.iter, value, scope)
                first = False
            else:
                value = self.evaluate(for_in.iter, scope, quiet=False)
                self._iteration(for_in.iter, value, scope)
            frame = Frame(
                node,
                targets=set(_target_names(for_in.target)),
                iter=for_in.iter,
                bounded=self._bounded(for_in.iter, scope),
            )
            parts: list[cst.CSTNode] = [*for_in.ifs]
            if isinstance(node, cst.DictComp):
                parts += [node.key, node.value]
            else:
                parts.append(node.elt)  # type: ignore[attr-defined]
            self._bind(frame, for_in.target, for_in.iter, value, parts, scope)
            self.frames.append(frame)
            pushed += 1
            for condition in for_in.ifs:
                self._visit(condition, scope)
            for_in = for_in.inner_for_in  # type: ignore[assignment]
        if isinstance(node, cst.DictComp):
            self._visit(node.key, scope)
            self._visit(node.value, scope)
        else:
            self._visit(node.elt, scope)
        for _ in range(pushed):
            self.frames.pop()
