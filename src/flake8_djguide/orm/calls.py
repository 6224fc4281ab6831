"""Calls of project functions (:class:`Calls`): what a called function, method or model
``@property`` does with its arguments, from its summary
(:mod:`flake8_djguide.index.functions`: the index's for other modules, the checked
file's own tree for this one), and the N+1 findings that makes:

- a per-row call (``for p in qs: label(p)``) to a function reading a relation of its
  argument (or of ``self``, for a model method or property) that the loop's queryset
  does not load: DJG201 at the loop's queryset, naming the function and the relation;
- a call in a loop to a function that always runs a query: DJG202 at the call;
- a queryset passed to a function that iterates its parameter and reads a relation of
  each row the queryset does not load: DJG201 at the argument.

A summary only ever tells what the function surely does; an argument whose model is
unknown, a starred argument, or a parameter the function assigns again tells nothing.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flake8_djguide.index.functions import MANAGERS, find_function, summarise
from flake8_djguide.index.project import query_name
from flake8_djguide.index.querysets import KEEP_METHODS, apply, lookup_text
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.nodes import code_of
from flake8_djguide.orm.summaries import _encoded_step, _flatten, manager_base, summary_coverage
from flake8_djguide.orm.values import (
    COUNTED,
    LOADING,
    QS,
    REQUERY,
    SERVED,
    Frame,
    Item,
    _merge_values,
    count_remedy,
)

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
    from flake8_djguide.index import FileIndex
    from flake8_djguide.index.project import Model
    from flake8_djguide.orm.scope import ClassInfo, Scope
    from flake8_djguide.orm.values import Value
else:
    from flake8_djguide._lazy import cst

Summary = dict[str, Any]
#: Calls that run a key function (a ``lambda``) once per element of an iterable.
KEY_CALLS = frozenset({"sorted", "groupby", "min", "max", "map", "filter"})
#: Loop variables that name a batch of rows: a query per batch is the point of the loop.
_BATCH_WORDS = ("batch", "chunk", "page", "slice")


class Calls(AnalysisBase):
    """Calls of project functions and methods, through their summaries."""

    # -- finding summaries ---------------------------------------------------------------------

    def summary(self, qualname: str) -> Summary | None:
        """The summary of the function or method ``qualname`` (``module.f``,
        ``module.Class.f``): from this file's tree for its own, else from the index."""
        module = self.file_index.module
        if qualname.startswith(module + "."):
            return local_summary(self.ctx, qualname[len(module) + 1 :])
        return self.index.functions.get(qualname)

    def _class_model(self, cls: ClassInfo) -> Model | None:
        """The model a class of this file is (``self`` in its methods is then an instance)."""
        if not self._may_name_a_class(cls.name):
            return None
        return self.index.models.get(f"{self.file_index.module}.{cls.name}")

    def _class_queryset(self, cls: ClassInfo, name: str) -> QS | None:
        """``self`` in a method of a manager or queryset class of this file: a queryset of
        the one model with a manager made of the class (what the manager's
        ``get_queryset()`` loads; for a queryset class, also what the caller's chain
        loaded, which this method cannot see)."""
        if not self._may_name_a_class(cls.name):
            return None
        found = self.index.queryset_model(f"{self.file_index.module}.{cls.name}")
        if found is None:
            return None
        model, managers = found
        coverage = manager_base(managers[0])
        for manager in managers[1:]:
            coverage = coverage.union(manager_base(manager))
        return QS(model, coverage, name, fresh=False, manager=managers[0])

    def _model_summary(self, model: Model, name: str) -> Summary | None:
        """The summary of a model's method ``name``, defined in it or in a project base."""
        found = self._model_method(model, name)
        return found[1] if found is not None else None

    def _model_method(self, model: Model, name: str) -> tuple[str, Summary] | None:
        """``(qualified name, summary)`` of a model's method ``name``, defined in it or
        in a project base."""
        qualname = model.qualname
        for _ in range(4):
            found = self.summary(f"{qualname}.{name}")
            if found is not None:
                return f"{qualname}.{name}", found
            entry = self.index.classes.get(qualname)
            if entry is None:
                return None
            bases = [b for b in entry[1].get("bases", ()) if b]
            parents = [self.index.resolve(entry[0], b) for b in bases]
            parents = [p for p in parents if p in self.index.models]
            if len(parents) != 1:
                return None
            qualname = parents[0]
        return None

    # -- the calls -------------------------------------------------------------------------------

    def _function_call(self, call: cst.Call, name: str, scope: Scope, quiet: bool) -> Value:
        """``helper(...)`` or ``utils.helper(...)``: a module-level function of the project;
        what it returns."""
        head = name.partition(".")[0]
        if head in scope.records or head in scope.opaque or not self._global(head, scope):
            return None
        qualname = self.index.resolve(self.file_index.module, name)
        summary = self.summary(qualname)
        if summary is None:
            if self.filterset(qualname):
                return self._filterset_rows(call, scope)
            return None
        if not quiet:
            self._summarised_call(call, f"{name}()", summary, 0, scope)
        returned = summary.get("ret")
        if not returned:
            return self._given_back(call, qualname, summary, scope)
        if _passes_optional(call, summary, 0):
            return None  # the rows of the argument (``queryset=rows``): not followed
        local = qualname.startswith(self.file_index.module + ".")
        return self._returned(returned, local, code_of(call))

    def _given_back(self, call: cst.Call, qualname: str, summary: Summary, scope: Scope) -> Value:
        """The rows of the argument a function gives back (its ``"pass"``, or through the
        function of its ``"via"``): a queryset loading what the argument's loads."""
        position = self._pass_position(qualname, summary, 0)
        if position is None:
            return None
        args = call.args
        if any(a.star for a in args):
            return None
        positional = [a for a in args if a.keyword is None]
        name = summary["p"][position]
        argument = positional[position] if position < len(positional) else None
        if argument is None:
            argument = next((a for a in args if a.keyword and a.keyword.value == name), None)
        if argument is None:
            return None
        value = self.evaluate(argument.value, scope, quiet=True)
        return value if isinstance(value, QS) else None

    def _class_method_rows(self, model: Model, name: str, call: cst.Call) -> Value:
        """``Model.visible_to(user)``: the queryset a classmethod of the model (or of a
        project base) returns, of ``model``'s rows (``cls`` is the model called on)."""
        found = self._model_method(model, name)
        if found is None or not found[1].get("cm") or not found[1].get("ret"):
            return None
        qualname, summary = found
        if _passes_optional(call, summary, 1):
            return None
        local = qualname.startswith(self.file_index.module + ".")
        value = self._returned(summary["ret"], local, code_of(call))
        if not isinstance(value, QS) or value.model is None:
            return None
        if value.model is not model and value.model.qualname == qualname.rpartition(".")[0]:
            value = replace(value, model=model)  # ``cls.objects`` of a base: the model's
        return value

    def filterset(self, qualname: str) -> bool:
        """Whether ``qualname`` is a ``django_filters`` filter set of the project that
        neither it nor a project base changes the rows of (``qs``, ``filter_queryset``):
        its ``qs`` is the queryset it is given, filtered."""
        stack = [qualname]
        seen: set[str] = set()
        library = False
        while stack:
            name = stack.pop()
            if name in seen or len(seen) > 30:
                continue
            seen.add(name)
            if name.startswith("django_filters.") and name.endswith("FilterSet"):
                library = True
                continue
            entry = self.index.classes.get(name)
            if entry is None:
                if name != qualname:
                    continue
                return False
            if {"qs", "filter_queryset"} & set(entry[1].get("defs", ())):
                return False
            stack.extend(self.index.resolve(entry[0], b) for b in entry[1].get("bases", ()) if b)
        return library

    def _filterset_rows(self, call: cst.Call, scope: Scope) -> Value:
        """``SomeFilter(request.GET, queryset=rows)``: the rows (``.qs`` reads them)."""
        argument = next(
            (a.value for a in call.args if a.keyword and a.keyword.value == "queryset"), None
        )
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if argument is None and len(positional) >= 2:
            argument = positional[1].value
        if argument is None or any(a.star for a in call.args):
            return None
        value = self.evaluate(argument, scope, quiet=True)
        return value if isinstance(value, QS) else None

    def _pass_position(self, qualname: str, summary: Summary, depth: int) -> int | None:
        """The position of the parameter whose rows the function gives back."""
        position = summary.get("pass")
        if position is not None or depth > 4:
            return position if type(position) is int else None
        via = summary.get("via")
        if via is None:
            return None
        callee = self.index.resolve(qualname.rpartition(".")[0], via[0])
        found = self.summary(callee)
        if found is None or "ret" in found:
            return None
        given = self._pass_position(callee, found, depth + 1)
        return next((param for param, argument in via[1] if argument == given), None)

    def _returned(self, returned: list[Any], local: bool, text: str) -> Value:
        """The queryset a function returns: the union of what each ``return`` loads (its
        models named as in this module when ``local``, else by qualified name)."""
        values: list[Value] = []
        for encoded in returned:
            root, links = _flatten(encoded)
            # the model's dotted name is split into links too: up to the manager
            start = next(
                (i for i, (kind, name) in enumerate(links) if kind == "attr" and name in MANAGERS),
                None,
            )
            if root[:1] != ["ref"] or start is None or any(k != "attr" for k, _ in links[:start]):
                return None
            dotted = ".".join([root[1], *(name for _, name in links[:start])])
            links = links[start:]
            # as written in this module (its own tree), else qualified (the index's)
            model = self.index.model_named(self.file_index.module, dotted) if local else None
            if model is None:
                model = self.index.models.get(self.index._follow(dotted, 0))
            if model is None:
                return None
            manager = model.managers.get(links[0][1])
            if manager is None and links[0][1] not in MANAGERS:
                return None  # ``objects`` without a declared manager: Django's own
            coverage = manager_base(manager)
            rows = "instances"
            index = 1
            while index < len(links):
                kind, name = links[index]
                if kind != "attr" or index + 1 >= len(links) or links[index + 1][0] != "call":
                    return None
                args, kwargs = links[index + 1][1]
                if name in LOADING or name == "iterator":
                    coverage = apply(coverage, _encoded_step(name, args, kwargs))
                elif name in ("values", "values_list"):
                    rows = "values"
                elif manager is not None and name in manager.methods:
                    inner = summary_coverage(
                        manager, manager.methods[name].returns, coverage, 1, name
                    )
                    if inner is None:
                        return None
                    coverage, inner_rows = inner
                    rows = "values" if inner_rows == "values" else rows
                elif name not in KEEP_METHODS and name != "get_queryset":
                    return None
                index += 2
            values.append(QS(model, coverage, text, rows=rows, manager=manager))
        return _merge_values(values)

    def _self_call(self, cls: ClassInfo, name: str, call: cst.Call, scope: Scope) -> None:
        """``self.helper(...)``: a method defined in the class itself."""
        method = cls.methods.get(name)
        if method is None:
            return
        decorators = {code_of(d.decorator) for d in method.decorators}
        if "classmethod" in decorators or "property" in decorators:
            return
        offset = 0 if "staticmethod" in decorators else 1
        summary = self.summary(f"{self.file_index.module}.{cls.name}.{name}")
        if summary is not None:
            self._summarised_call(call, f"self.{name}()", summary, offset, scope)

    def _instance_call(
        self, item: Item, name: str, node: cst.CSTNode, call: cst.Call | None
    ) -> None:
        """``p.label()`` or ``p.label`` (a ``@property``) of a model instance in a loop."""
        if item.model is None or item.frame is None:
            return
        summary = self._model_summary(item.model, name)
        if summary is None or (call is None) != bool(summary.get("prop")):
            return
        if call is not None and not binds(call, summary, 1):
            return  # a call its parameters do not take raises before the body runs
        reads = summary.get("r")
        text = f"{item.model.name}.{name}" + ("" if call is None else "()")
        if reads and reads[0]:
            for chain in reads[0]:
                self._row_read(item, chain, text, call or node, reads[0])
        if summary.get("q") and self._live(item):
            self._summarised_query(call or node, text, summary)

    def _summarised_call(
        self, call: cst.Call, text: str, summary: Summary, offset: int, scope: Scope
    ) -> None:
        params: list[str] = summary["p"]
        if any(arg.star for arg in call.args) or not binds(call, summary, offset):
            return
        position = offset
        for arg in call.args:
            if arg.keyword is None:
                index = position
                position += 1
            elif arg.keyword.value in params:
                index = params.index(arg.keyword.value)
            else:
                continue
            if index >= len(params):
                continue
            reads = summary.get("r", [])[index] if "r" in summary else []
            rows = summary.get("rows", [])[index] if "rows" in summary else []
            if not reads and not rows:
                continue
            value = self.evaluate(arg.value, scope, quiet=True)
            if isinstance(value, Item) and reads:
                for chain in reads:
                    self._row_read(value, chain, text, call, reads)
            elif isinstance(value, QS) and rows:
                self._passed_rows(value, arg.value, rows, text)
        if summary.get("q"):
            self._summarised_query(call, text, summary)

    def _key_function(self, call: cst.Call, scope: Scope) -> None:
        """``sorted(qs, key=lambda p: p.category.name)``, ``groupby(qs, key=...)``,
        ``map(lambda p: ..., qs)``: the lambda runs once per row of the queryset, as a
        loop body does."""
        lambdas = [a.value for a in call.args if isinstance(a.value, cst.Lambda)]
        rows = [
            a.value
            for a in call.args
            if a.keyword is None and not a.star and not isinstance(a.value, cst.Lambda)
        ]
        if len(lambdas) != 1 or len(rows) != 1 or any(a.star for a in call.args):
            return
        function = lambdas[0]
        params = function.params.params
        if len(params) != 1 or isinstance(function.params.star_arg, cst.Param):
            return
        value = self.evaluate(rows[0], scope, quiet=True)
        if not isinstance(value, QS) or value.rows != "instances" or value.empty:
            return
        frame = Frame(function, targets={params[0].name.value}, iter=rows[0])
        frame.bindings[params[0].name.value] = Item(
            value.model,
            value.cov,
            value.text if value.prefix else code_of(rows[0]),
            value.prefix,
            value.through_many,
            value.bare_ok,
            frame,
            "new" if value.new_rows else "loop",
        )
        self.frames.append(frame)
        self._visit(function.body, scope)
        self.frames.pop()

    # -- what the summary says ----------------------------------------------------------------------

    def _row_read(
        self,
        item: Item,
        chain: list[str],
        text: str,
        call: cst.CSTNode,
        chains: list[list[str]],
    ) -> None:
        """A read of ``chain`` on ``item`` made by a called function (DJG201), one of the
        ``chains`` it reads on it."""
        frame = item.frame
        if frame is None or frame.iter is None or not self._live(item) or item.model is None:
            return
        model: Model | None = item.model
        path = item.prefix
        for position, link in enumerate(chain):
            if model is None or link.endswith("()") or link.endswith("_id") or link == "pk":
                return
            relation = model.relation(link)
            if relation is None:
                return
            path = (*path, link)
            following = chain[position + 1] if position + 1 < len(chain) else None
            if relation.many:
                method = following[:-2] if following and following.endswith("()") else None
                if method in REQUERY:
                    self._per_row_query(item, call, text, path, method)
                elif method in SERVED and not self._covered(item, path, relation):
                    # only counted (no other read of the relation): annotate(Count())
                    counted = position == 0 and all(
                        len(other) > 1 and other[1].removesuffix("()") in COUNTED
                        for other in chains
                        if other[0] == link
                    )
                    self._per_row_relation(item, text, path, relation, counted)
                return
            if not self._covered(item, path, relation):
                if position or link not in self._assigned(item):
                    self._per_row_relation(item, text, path, relation)
                return
            model = self.index.models.get(relation.target) if relation.target else None

    def _per_row_relation(
        self, item: Item, text: str, path: tuple[str, ...], relation: Any, counted: bool = False
    ) -> None:
        key = (item.frame, path)
        if key in self._seen_paths or item.frame is None or item.frame.iter is None:
            return
        self._seen_paths.add(key)
        node = item.frame.iter
        call = self._call_for(item, path, relation)
        if counted and not item.prefix and call.startswith("prefetch_related"):
            rows = sorted(item.frame.targets)
            lookup = query_name(
                path[-1], relation.kind if relation else None, relation.target if relation else None
            )
            read = f"{rows[0]}.{path[-1]}" if len(rows) == 1 else path[-1]
            self.report(
                "DJG201",
                node,
                f"`{text}` counts relation `{lookup_text(path)}` of each row of "
                f"`{code_of(node)}`, a query per row; "
                + count_remedy(lookup, read, "that queryset"),
            )
            return
        self.report(
            "DJG201",
            node,
            f"`{text}` reads relation `{lookup_text(path)}` of each row of `{code_of(node)}`, "
            f"a query per row; add `.{call}` to that queryset",
        )

    def _per_row_query(
        self, item: Item, call: cst.CSTNode, text: str, path: tuple[str, ...], method: str
    ) -> None:
        self.report(
            "DJG201",
            call,
            f"`{code_of(call)}` runs a query once per row of `{item.text}`: `{text}` calls "
            f"`.{method}()` on relation `{lookup_text(path)}` (it bypasses the prefetch cache); "
            f'prefetch the rows with `prefetch_related(Prefetch("{lookup_text(path)}", '
            "queryset=..., to_attr=...))` and read the list",
        )

    def _passed_rows(
        self, qs: QS, node: cst.BaseExpression, chains: list[list[str]], text: str
    ) -> None:
        """A queryset passed to a function that reads relations of each of its rows."""
        if (
            qs.model is None
            or qs.rows != "instances"
            or qs.empty
            or qs.new_rows
            or qs.prefix
            or qs.cov.opaque
        ):
            return
        rows = Item(qs.model, qs.cov, qs.text)
        for chain in chains:
            link = chain[0]
            if link.endswith("()") or link.endswith("_id"):
                continue
            relation = qs.model.relation(link)
            if relation is None:
                continue
            if relation.many:
                following = chain[1] if len(chain) > 1 else ""
                if following[:-2] not in SERVED or not following.endswith("()"):
                    continue
            if self._covered(rows, (link,), relation):
                continue
            self.report(
                "DJG201",
                node,
                f"`{code_of(node)}` is passed to `{text}`, which reads relation `{link}` of "
                f"each of its rows, a query per row; add "
                f"`.{self._call_for(rows, (link,), relation)}` to that queryset",
            )
            return

    def _summarised_query(self, call: cst.CSTNode, text: str, summary: Summary) -> None:
        """A call, in a loop, of a function that always runs a query (DJG202)."""
        if not self.in_loop():
            return
        rows = False
        for frame in self.frames:
            if frame.bounded or frame.suspended or frame.chunked:
                continue
            if any(word in name.lower() for name in frame.targets for word in _BATCH_WORDS):
                return
            rows = rows or bool(frame.bindings) or _queryset_shaped(frame.iter)
        if not rows:
            return  # ids, parsed rows, API results: each item is work of its own
        root, method = summary["q"]
        shown = (
            f"`{text}` iterates `{root}.objects...`"
            if method == "iterate"
            else f"`{text}` runs `{root}.objects...{method}()`"
        )
        self.report(
            "DJG202",
            call,
            f"`{code_of(call)}` runs a query on every iteration of the enclosing loop "
            f"({shown}); fetch the rows once before the loop (`filter(<field>__in=...)`) "
            "and pass them in",
        )


_QUERYSET_CALLS = frozenset(
    {"all", "filter", "exclude", "order_by", "only", "defer", "select_related"}
    | {"prefetch_related", "iterator", "distinct", "annotate"}
)


def _passes_optional(call: cst.Call, summary: Summary, offset: int) -> bool:
    """Whether ``call`` may pass a parameter of the summary's ``"opt"`` (one defaulting to
    ``None`` whose rows the function then returns): by keyword, by position (``offset``:
    the parameters the call does not pass, ``cls``), or through ``*args``/``**kwargs``."""
    optional = summary.get("opt")
    if not optional:
        return False
    params: list[str] = summary.get("p", [])
    positional = 0
    for arg in call.args:
        if arg.star:
            return True
        if arg.keyword is not None:
            if arg.keyword.value in optional:
                return True
        else:
            positional += 1
    return any(
        name in params and offset <= params.index(name) < positional + offset for name in optional
    )


def _queryset_shaped(node: cst.CSTNode | None) -> bool:
    """Whether a loop's iterable looks like a queryset (``course.run_set.only(...)``,
    ``x.objects.filter(...)``) when the analysis cannot tell its model."""
    current = node
    while isinstance(current, (cst.Call, cst.Attribute)):
        if isinstance(current, cst.Call):
            current = current.func
            continue
        name = current.attr.value
        if name in _QUERYSET_CALLS or name == "objects" or name.endswith("_set"):
            return True
        current = current.value
    return False


def local_summary(ctx: FileContext, dotted: str) -> Summary | None:
    """The summary of the checked file's function ``name`` or method ``Class.name``: the
    index's when the index summarised this module (a flake8 run over the project), else
    from the file's tree (once per file and function)."""
    memo: dict[str, Summary | None] = ctx.__dict__.setdefault("_djguide_summaries", {})
    if dotted not in memo:
        index = _file_index(ctx)
        if index is not None and index.module in index.index.summarised:
            memo[dotted] = index.index.functions.get(f"{index.module}.{dotted}")
            return memo[dotted]
        tree = getattr(ctx, "tree", None)
        function = find_function(tree, dotted) if isinstance(tree, ast.Module) else None
        owner = dotted.rpartition(".")[0] or None
        memo[dotted] = summarise(function, None, owner) if function is not None else None
    return memo[dotted]


def _file_index(ctx: FileContext) -> FileIndex | None:
    try:
        from flake8_djguide.index import get_index

        return get_index(ctx)
    except Exception:
        return None


def summarised_names(ctx: FileContext) -> tuple[dict[str, Summary], dict[str, list[str]]]:
    """The names a call in this file may use to reach a summarised project function: its
    imports (``helper``) and the functions of the modules it imports (``utils.helper``)
    with their summaries, and its own functions and methods (``helper``,
    ``self.helper``) by name, each summarised only when asked. For the rules' triggers;
    computed once per file."""
    found: tuple[dict[str, Summary], dict[str, list[str]]] | None = ctx.__dict__.get(
        "_djguide_summarised"
    )
    if found is not None:
        return found
    imported: dict[str, Summary] = {}
    local: dict[str, list[str]] = {}
    tree = getattr(ctx, "tree", None)
    if isinstance(tree, ast.Module):
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                local.setdefault(node.name, []).append(node.name)
            elif isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        local.setdefault(statement.name, []).append(f"{node.name}.{statement.name}")
    file_index = _file_index(ctx)
    if file_index is not None:
        index = file_index.index
        functions = index.functions
        by_module: dict[str, dict[str, Summary]] | None = index.__dict__.get("_djguide_by_module")
        if by_module is None:
            by_module = {}
            for qualname, summary in functions.items():
                owner, _, last = qualname.rpartition(".")
                by_module.setdefault(owner, {})[last] = summary
            index.__dict__["_djguide_by_module"] = by_module
        queries: dict[str, Summary] | None = index.__dict__.get("_djguide_model_queries")
        if queries is None:
            # model methods and properties that run a query: ``row.total()`` in a loop
            queries = {}
            for qualname, summary in functions.items():
                owner, _, last = qualname.rpartition(".")
                if "q" in summary and owner in index.models:
                    queries.setdefault(last, summary)
            index.__dict__["_djguide_model_queries"] = queries
        for name in ctx.info.imports:
            qualname = index.resolve(file_index.module, name)
            own = functions.get(qualname)
            if own is not None:
                imported.setdefault(name, own)
            for last, summary in by_module.get(qualname, {}).items():
                imported.setdefault(last, summary)  # ``utils.helper(...)``
        for last, summary in queries.items():
            imported.setdefault(last, summary)
    found = (imported, local)
    ctx.__dict__["_djguide_summarised"] = found
    return found


def summarised_call(node: ast.Call, ctx: FileContext, key: str = "") -> bool:
    """Whether ``node`` calls (``f(...)``/``self.f(...)``/``obj.f(...)``) a summarised
    project function (having ``key`` in its summary, when given)."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name is None:
        return False
    imported, local = summarised_names(ctx)
    own = imported.get(name)
    defined = local.get(name)
    if own is None and not defined:
        return False  # most calls: no summarised function of that name
    summaries = [own, *(local_summary(ctx, d) for d in defined or ())]
    return any(s is not None and (not key or key in s) for s in summaries)


def binds(call: cst.Call, summary: Summary, offset: int) -> bool:
    """Whether ``call`` gives every parameter of the summarised function that has no
    default (``offset``: parameters the call fills itself, ``self`` of a method).

    A call missing one raises ``TypeError`` before the body runs, so the body's reads
    and queries do not happen: the code calls something else, or never works. A call
    with ``*args`` or ``**kwargs`` may give anything."""
    if any(arg.star for arg in call.args):
        return True
    params: list[str] = summary["p"]
    required = len(params) - summary.get("d", 0)
    given = offset + sum(1 for arg in call.args if arg.keyword is None)
    keywords = {arg.keyword.value for arg in call.args if arg.keyword is not None}
    return all(position < given or params[position] in keywords for position in range(required))
