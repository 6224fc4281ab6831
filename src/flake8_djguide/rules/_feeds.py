"""Per-row reads no Python loop shows: syndication feeds and admin inlines (DJG201).

**Feeds.** ``django.contrib.syndication.views.Feed.get_feed()`` iterates
``items()`` and, for each item, calls ``item_title``, ``item_description``,
``item_link``, ``item_enclosures`` (by default ``item_enclosure_url``/``_length``/
``_mime_type``), ``item_author_name`` (and, when it is not ``None``,
``item_author_email``/``item_author_link``), ``item_pubdate``, ``item_updateddate``,
``item_guid``, ``item_guid_is_permalink``, ``item_comments``, ``item_categories``,
``item_copyright`` and ``item_extra_kwargs``. ``_get_dynamic_attr`` passes the item
only to a callable whose code takes exactly two positional arguments (``self`` and
the item); an attribute or a one-argument method reads nothing of the row. Django's
own ``item_title``/``item_description`` format the item (the model's ``__str__``) and
its ``item_link`` calls ``item.get_absolute_url()``; a ``title_template`` or
``description_template`` replaces the first two. A relation these read on the item
that the ``items()`` queryset does not load is a query per feed item: reported at the
queryset ``items()`` returns (or the ``items = ...`` value).

**Inlines.** An inline's rows come from ``InlineModelAdmin.get_queryset()``
(``BaseModelAdmin.get_queryset``: the default manager, ordered; no
``list_select_related`` applies), filtered on the parent by
``BaseInlineFormSet`` (which sets the parent foreign key's ``<fk>_id`` on each row,
not the related object). The ``tabular.html``/``stacked.html`` templates render
``{{ inline_admin_form.original }}`` for every saved row: the model's ``__str__``
runs once per row, and a relation it reads is a query per row (reported at the
inline's ``model = ...`` entry). A ``readonly_fields`` entry naming a foreign key, or
a method (of the inline) or model method/property reading a relation of the row, is
read per row too (``AdminReadonlyField.contents``): reported at the entry.

Like the changelist analysis (:mod:`flake8_djguide.rules._admin`), this reads
flake8's ``ast`` tree and the project model index, and gives no finding for what it
cannot follow (an unknown model, a queryset it cannot read).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from flake8_djguide.helpers import ast_dotted_name
from flake8_djguide.index.extract import attribute_reads
from flake8_djguide.index.querysets import (
    KEEP_METHODS,
    Coverage,
    PrefetchSpec,
    Step,
    apply,
    split,
)
from flake8_djguide.rules._admin import _Admin, _Analysis, _formats, _last, _Loads, _string

if TYPE_CHECKING:
    from typing import Union

    import libcst as cst

    from flake8_djguide.context import FileContext
    from flake8_djguide.index.project import Manager, Model, Relation

    Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]
    Read = tuple[tuple[str, ...], tuple[Relation, ...], str]
else:
    from flake8_djguide._lazy import cst

FEED_BASES = frozenset({"django.contrib.syndication.views.Feed"})
INLINE_BASES = frozenset(
    {
        "django.contrib.admin.TabularInline",
        "django.contrib.admin.StackedInline",
        "django.contrib.admin.options.TabularInline",
        "django.contrib.admin.options.StackedInline",
        "django.contrib.admin.options.InlineModelAdmin",
        "django.contrib.contenttypes.admin.GenericTabularInline",
        "django.contrib.contenttypes.admin.GenericStackedInline",
    }
)
#: The ``item_*`` hooks ``Feed.get_feed()`` calls for each item.
ITEM_HOOKS = (
    "item_title",
    "item_description",
    "item_link",
    "item_enclosures",
    "item_author_name",
    "item_author_email",
    "item_author_link",
    "item_pubdate",
    "item_updateddate",
    "item_guid",
    "item_guid_is_permalink",
    "item_comments",
    "item_categories",
    "item_copyright",
    "item_extra_kwargs",
)
#: Called by Django's default ``item_enclosures()`` only.
ENCLOSURE_HOOKS = ("item_enclosure_url", "item_enclosure_length", "item_enclosure_mime_type")
#: Queryset methods that run a query each time (a query per item in an ``item_*`` hook).
_EVALUATING = frozenset(
    {"get", "first", "last", "latest", "earliest", "count", "exists", "aggregate", "in_bulk"}
)
_LOADING = frozenset({"select_related", "prefetch_related", "only", "defer"})
_PASS_THROUGH = frozenset({"list", "sorted", "reversed"})


@dataclass
class ClassFinding:
    """A finding of a top-level class and where it is reported: the value of the
    ``return`` number ``index`` (in source order) of the class's method ``method``, or
    the value of the class-body assignment to ``attribute`` (its ``element``-th element
    when given)."""

    statement: ast.stmt
    message: str
    element: int | None = None
    method: str | None = None
    index: int = 0
    attribute: str | None = None


@dataclass
class _Rows:
    """A queryset of ``items()``: its model, what it loads, and its manager."""

    model: Model
    coverage: Coverage
    manager: Manager | None = None
    instance: bool = False  # one instance of the model (``get_object()``'s), not rows


@dataclass
class _Hook:
    """What one per-item hook reads: its label, the relation reads and the queries."""

    label: str
    reads: list[Read] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)


def class_trigger(node: ast.AST, ctx: FileContext) -> bool:
    """A statement of a top-level class (a feed or an inline) holding a finding of its
    analysis: the ``return`` of ``items()``, the ``items``/``model``/``readonly_fields``
    assignment (the rule is function-scoped: the method whose body is reported must
    hold the trigger)."""
    statement = ctx.current_statement
    chain = ctx.trigger_chain
    if not isinstance(statement, ast.ClassDef) or not chain or chain[0] is not statement:
        return False
    return any(f.statement is node for f in class_findings(ctx, statement))


def class_findings(ctx: FileContext, cls: ast.ClassDef) -> list[ClassFinding]:
    """The findings of one top-level feed or inline class (computed once per class)."""
    cache: dict[int, list[ClassFinding]] = ctx.__dict__.setdefault("_djguide_feeds", {})
    found = cache.get(id(cls))
    if found is None:
        try:
            found = _classify(ctx, cls)
        except RecursionError:
            found = []
        cache[id(cls)] = found
    return found


def _classify(ctx: FileContext, cls: ast.ClassDef) -> list[ClassFinding]:
    # cheap necessary conditions first (the index is loaded only past them): a feed
    # defines items() itself, an inline sets its model and has a base named like one
    own = _class_values([cls])
    feed = "items" in own or any(
        isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "items"
        for s in cls.body
    )
    if not cls.bases or not (feed or ("model" in own and _inline_named(ctx, cls, set()))):
        return []
    analysis = _Analysis(ctx, cls)
    kind = _kind(analysis, cls, set())
    if kind == "feed":
        return _Feed(analysis).findings()
    if kind == "inline":
        return _Inline(analysis).findings()
    return []


def _inline_named(ctx: FileContext, cls: ast.ClassDef, seen: set[int]) -> bool:
    """Whether a base of the class (or of a same-file base) is named like an inline."""
    seen.add(id(cls))
    tree = getattr(ctx, "tree", None)
    body = tree.body if isinstance(tree, ast.Module) else []
    for base in cls.bases:
        name = ast_dotted_name(base) or ""
        if name.rsplit(".", 1)[-1].endswith("Inline"):
            return True
        for statement in body:
            if (
                isinstance(statement, ast.ClassDef)
                and statement.name == name
                and id(statement) not in seen
                and _inline_named(ctx, statement, seen)
            ):
                return True
    return False


def _kind(analysis: _Analysis, cls: ast.ClassDef, seen: set[int]) -> str | None:
    """``feed`` or ``inline`` from the class's bases (same-file classes, then the index)."""
    if id(cls) in seen:
        return None
    seen.add(id(cls))
    for base in cls.bases:
        name = ast_dotted_name(base)
        if name is None:
            continue
        local = analysis._top_level(name) if "." not in name else None
        if isinstance(local, ast.ClassDef):
            found = _kind(analysis, local, seen)
        else:
            found = _indexed_kind(analysis, analysis.index.resolve(analysis.module, name), set())
        if found is not None:
            return found
    return None


def _indexed_kind(analysis: _Analysis, qualname: str, seen: set[str]) -> str | None:
    if qualname in FEED_BASES:
        return "feed"
    if qualname in INLINE_BASES:
        return "inline"
    entry = analysis.index.classes.get(qualname)
    if entry is None or qualname in seen or len(seen) > 10:
        return None
    seen.add(qualname)
    module, facts = entry
    for base in facts.get("bases", ()):
        if base:
            found = _indexed_kind(analysis, analysis.index.resolve(module, base), seen)
            if found is not None:
                return found
    return None


def _class_values(order: list[ast.ClassDef]) -> dict[str, ast.stmt]:
    """The class-body assignments of the class and its same-file bases, own first."""
    values: dict[str, ast.stmt] = {}
    for current in order:
        for statement in current.body:
            targets: list[ast.expr] = []
            if isinstance(statement, ast.Assign):
                targets = statement.targets
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                targets = [statement.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, statement)
    return values


def _same_file_order(analysis: _Analysis) -> list[ast.ClassDef]:
    order: list[ast.ClassDef] = []
    stack = [analysis.cls]
    while stack:
        current = stack.pop(0)
        if current in order:
            continue
        order.append(current)
        for base in current.bases:
            name = ast_dotted_name(base)
            local = analysis._top_level(name) if name and "." not in name else None
            if isinstance(local, ast.ClassDef):
                stack.append(local)
    return order


def _assigned_value(statement: ast.stmt) -> ast.expr | None:
    if isinstance(statement, (ast.Assign, ast.AnnAssign)):
        return statement.value
    return None


def _no_rows(node: ast.expr | None) -> bool:
    """An empty list or tuple display, or ``None``."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return not node.elts
    return isinstance(node, ast.Constant) and node.value is None


def _row_parameter(function: Function, position: int = 1) -> str | None:
    """The parameter Django passes the row to: the second of exactly two positional
    parameters (``_get_dynamic_attr`` checks ``co_argcount == 2``)."""
    if any(_last(d) in ("staticmethod", "property") for d in function.decorator_list):
        return None
    params = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
    if len(params) != position + 1:
        return None
    return params[position]


def _quoted(paths: list[str]) -> str:
    return ", ".join(f'"{p}"' for p in paths)


def _names(paths: list[str]) -> str:
    return ", ".join(f"`{p}`" for p in paths)


class _Reader:
    """What a function reads on its row parameter, following ``self.<method>(row)`` calls
    to other methods of the class."""

    def __init__(self, analysis: _Analysis, admin: _Admin, model: Model) -> None:
        self.analysis = analysis
        self.admin = admin
        self.model = model

    def read(self, function: Function, row: str, hook: _Hook, depth: int = 0) -> None:
        analysis = self.analysis
        for chain in attribute_reads(function, row):
            hook.reads.extend(analysis._reads(self.model, chain))
            if chain and chain[0] in self.model.fields:
                hook.deferred.append(chain[0])
        if _formats(function, row):
            hook.reads.extend(analysis._reads(self.model, ["__str__()"]))
        managers = analysis.index.manager_names | {"_default_manager", "_base_manager"}
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            callee = self._callee(node.func) if depth < 3 else None
            if callee is not None and callee[0] is not function:
                method, offset = callee
                params = [a.arg for a in (*method.args.posonlyargs, *method.args.args)]
                for position, argument in enumerate(node.args):
                    if (
                        isinstance(argument, ast.Name)
                        and argument.id == row
                        and position + offset < len(params)
                    ):
                        self.read(method, params[position + offset], hook, depth + 1)
            func = node.func
            if not isinstance(func, ast.Attribute):
                continue
            if func.attr in _EVALUATING:
                root = func.value
                while isinstance(root, ast.Call) and isinstance(root.func, ast.Attribute):
                    root = root.func.value
                if (
                    isinstance(root, ast.Attribute)
                    and root.attr in managers
                    and isinstance(root.value, ast.Name)
                    and analysis.index.model_named(analysis.module, root.value.id) is not None
                ):
                    hook.queries.append(f"{root.value.id}.{root.attr}...{func.attr}()")

    def _callee(self, func: ast.expr) -> tuple[Function, int] | None:
        """A method of the class called on ``self`` (and the offset of its parameters past
        ``self``), or a function of the module."""
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            method = self.admin.methods.get(func.attr) if func.value.id == "self" else None
            if method is None:
                return None
            static = any(_last(d) == "staticmethod" for d in method.decorator_list)
            return method, 0 if static else 1
        if isinstance(func, ast.Name):
            found = self.analysis._top_level(func.id)
            if isinstance(found, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return found, 0
        return None


class _Feed:
    def __init__(self, analysis: _Analysis) -> None:
        self.analysis = analysis
        self.index = analysis.index
        self.module = analysis.module

    def findings(self) -> list[ClassFinding]:
        analysis = self.analysis
        admin = analysis._admin()  # methods of the class and its same-file bases
        values = _class_values(_same_file_order(analysis))
        targets: list[tuple[ast.stmt, ast.expr, dict[str, _Rows | None]]] = []
        items = admin.methods.get("items")
        if items is not None and "items" not in values:
            if items not in analysis.cls.body:
                return []  # reported with the base class that defines it
            for statement, value, env in self._returns(items):
                targets.append((statement, value, env))
        elif "items" in values:
            assigned = values["items"]
            items_value = _assigned_value(assigned)
            if items_value is not None and assigned in analysis.cls.body:
                targets.append((assigned, items_value, {}))
        order = (
            sorted(
                (n.lineno, n.col_offset, id(n))
                for n in _own_nodes(items)
                if isinstance(n, ast.Return)
            )
            if items is not None
            else []
        )
        positions = {key: index for index, (_, _, key) in enumerate(order)}
        found: list[ClassFinding] = []
        for statement, value, env in targets:
            rows = self._rows(value, env)
            if rows is None or rows.instance or rows.coverage.opaque:
                continue
            message = self._message(admin, values, rows)
            if message is None:
                continue
            if isinstance(statement, ast.Return):
                found.append(
                    ClassFinding(statement, message, method="items", index=positions[id(statement)])
                )
            else:
                found.append(ClassFinding(statement, message, attribute="items"))
        return found

    # -- the items() queryset ---------------------------------------------------------------------

    def _returns(
        self, function: Function
    ) -> list[tuple[ast.stmt, ast.expr, dict[str, _Rows | None]]]:
        """The ``return <value>`` statements of ``items()`` and the querysets of the local
        names before each (an assignment under a branch adds to what the name loads)."""
        found: list[tuple[ast.stmt, ast.expr, dict[str, _Rows | None]]] = []
        env: dict[str, _Rows | None] = {}
        obj = _row_parameter(function)
        target = self._object_model()
        if obj is not None and target is not None:
            env[obj] = _Rows(target, Coverage(), instance=True)

        def walk(body: list[ast.stmt], top: bool) -> None:
            for statement in body:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    continue
                if isinstance(statement, ast.Return) and statement.value is not None:
                    found.append((statement, statement.value, dict(env)))
                elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and _no_rows(
                    statement.value
                ):
                    continue  # `qs = []` in a fallback branch: no rows to read
                elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value:
                    targets = (
                        statement.targets
                        if isinstance(statement, ast.Assign)
                        else [statement.target]
                    )
                    rows = self._rows(statement.value, env)
                    for target in targets:
                        if not isinstance(target, ast.Name):
                            continue
                        old = env.get(target.id)
                        if top or target.id not in env:
                            env[target.id] = rows
                        elif old is None or rows is None:
                            env[target.id] = None
                        else:
                            env[target.id] = _Rows(
                                rows.model, old.coverage.union(rows.coverage), rows.manager
                            )
                else:
                    for name in ("body", "orelse", "finalbody"):
                        inner = getattr(statement, name, None)
                        if isinstance(inner, list):
                            walk(inner, False)
                    for handler in getattr(statement, "handlers", ()):
                        walk(handler.body, False)

        walk(function.body, True)
        return found

    def _object_model(self) -> Model | None:
        """The model of the instance ``get_object()`` returns (``get_object_or_404(Model,
        ...)`` or ``Model.objects....get(...)`` in every ``return``), passed to ``items(obj)``."""
        method = self.analysis.cls.body
        get_object = next(
            (
                s
                for s in method
                if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "get_object"
            ),
            None,
        )
        if get_object is None:
            return None
        found: Model | None = None
        for node in _own_nodes(get_object):
            if not isinstance(node, ast.Return):
                continue
            call = node.value
            model: Model | None = None
            if isinstance(call, ast.Call) and _last(call.func) == "get_object_or_404" and call.args:
                name = ast_dotted_name(call.args[0])
                model = self.index.model_named(self.module, name) if name else None
            elif (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "get"
            ):
                rows = self._rows(call.func.value, {})
                model = rows.model if rows is not None and not rows.instance else None
            if model is None or (found is not None and found.qualname != model.qualname):
                return None
            found = model
        return found

    def _rows(self, node: ast.expr, env: dict[str, _Rows | None]) -> _Rows | None:
        """The queryset an expression evaluates to, or ``None`` when unknown."""
        from flake8_djguide.orm.summaries import manager_base, summary_coverage

        if isinstance(node, ast.Subscript):
            return self._rows(node.value, env)
        if isinstance(node, ast.Name):
            return env.get(node.id)
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in env
        ):
            owner = env[node.value.id]
            relation = owner.model.relation(node.attr) if owner and owner.instance else None
            target = (
                self.index.models.get(relation.target) if relation and relation.target else None
            )
            if relation is None or not relation.many or target is None:
                return None
            # a related manager: the target's default manager, filtered on the instance; the
            # rows of a reverse foreign key have their foreign key to it cached (Django's
            # known related objects): taken as loaded for every such foreign key
            manager = target.managers.get("objects") or next(iter(target.managers.values()), None)
            coverage = manager_base(manager)
            if relation.kind == "rev_fk" and owner is not None:
                back = {
                    (r.name,)
                    for r in target.relations.values()
                    if r.kind == "fk" and r.target == owner.model.qualname
                }
                coverage = replace(coverage, select=coverage.select | back)
            return _Rows(target, coverage, manager)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            model = self.index.model_named(self.module, node.value.id)
            if model is None:
                return None
            if node.attr in model.managers:
                manager = model.managers[node.attr]
                return _Rows(model, manager_base(manager), manager)
            if node.attr in ("objects", "_default_manager", "_base_manager"):
                return _Rows(model, Coverage())
            return None
        if not isinstance(node, ast.Call):
            return None
        if isinstance(node.func, ast.Name):
            if node.func.id in _PASS_THROUGH and node.args:
                return self._rows(node.args[0], env)
            return None
        if not isinstance(node.func, ast.Attribute):
            return None
        rows = self._rows(node.func.value, env)
        if rows is None or rows.instance:
            return None
        name = node.func.attr
        if name in KEEP_METHODS:
            return rows
        if name in _LOADING:
            step = self._step(name, node, env)
            return _Rows(rows.model, apply(rows.coverage, step), rows.manager)
        if rows.manager is not None and name in rows.manager.methods:
            summary = summary_coverage(
                rows.manager, rows.manager.methods[name].returns, rows.coverage, name=name
            )
            if summary is None or summary[1] != "instances":
                return None
            return _Rows(rows.model, summary[0], rows.manager)
        return None

    def _step(self, name: str, call: ast.Call, env: dict[str, _Rows | None]) -> Step:
        step = Step(name, has_args=bool(call.args))
        strings: list[str] = []
        for arg in call.args:
            text = _string(arg)
            if text is not None:
                strings.append(text)
                continue
            if isinstance(arg, ast.Constant) and arg.value is None:
                step.none_arg = True
                continue
            if (
                name == "prefetch_related"
                and isinstance(arg, ast.Call)
                and _last(arg.func) == "Prefetch"
                and arg.args
                and _string(arg.args[0]) is not None
            ):
                lookup = split(str(_string(arg.args[0])))
                spec = PrefetchSpec(lookup)
                for keyword in arg.keywords:
                    if keyword.arg == "to_attr":
                        attr = _string(keyword.value)
                        if attr is None:
                            spec.inner_known = False
                        spec.to_attr = attr
                    elif keyword.arg == "queryset":
                        inner = self._rows(keyword.value, env)
                        if inner is None:
                            spec.inner = Coverage()
                        else:
                            spec.inner = inner.coverage
                spec_queryset = arg.args[1] if len(arg.args) > 1 else None
                if spec_queryset is not None:
                    inner = self._rows(spec_queryset, env)
                    spec.inner = Coverage() if inner is None else inner.coverage
                step.prefetches.append(spec)
                continue
            step.strings = None
            return step
        step.strings = strings
        return step

    # -- the per-item hooks ---------------------------------------------------------------------

    def _hooks(self, admin: _Admin, values: dict[str, ast.stmt], model: Model) -> list[_Hook]:
        reader = _Reader(self.analysis, admin, model)
        hooks: list[_Hook] = []
        names = list(ITEM_HOOKS)
        if "item_enclosures" not in admin.methods and "item_enclosures" not in values:
            names += ENCLOSURE_HOOKS
        author = "item_author_name" in admin.methods or admin.opaque
        for name in names:
            if name in values:
                continue  # an attribute: the same value for every item
            if name in ("item_author_email", "item_author_link") and not author:
                continue  # called only when item_author_name() gives a name
            method = admin.methods.get(name)
            if method is None:
                continue
            row = _row_parameter(method)
            if row is None:
                continue
            hook = _Hook(f"`{name}()`")
            reader.read(method, row, hook)
            hooks.append(hook)
        if admin.opaque:
            return hooks  # a project base of another module may define the defaults
        defaults = (
            ("item_title", "title_template", "__str__()"),
            ("item_description", "description_template", "__str__()"),
            ("item_link", None, "get_absolute_url()"),
        )
        for name, template, chain in defaults:
            if name in admin.methods or name in values or (template and template in values):
                continue
            hook = _Hook(f"Django's default `{name}()` (`{model.name}.{chain}`)")
            hook.reads.extend(self.analysis._reads(model, [chain]))
            hooks.append(hook)
        return hooks

    def _message(self, admin: _Admin, values: dict[str, ast.stmt], rows: _Rows) -> str | None:
        model, coverage = rows.model, rows.coverage
        loads = _Loads(
            select=set(coverage.select),
            prefetch=set() if coverage.prefetch_dropped else set(coverage.prefetch),
            bare=coverage.bare,
        )
        select: list[str] = []
        prefetch: list[str] = []
        readers: list[str] = []
        requery: list[str] = []
        queries: list[str] = []
        deferred: list[str] = []
        bare_read: list[str] = []  # what only the bare select_related() loads
        for hook in self._hooks(admin, values, model):
            if loads.bare:
                bare_read += [
                    "__".join(path)
                    for path, relations, _ in hook.reads
                    if relations
                    and not any(p[: len(path)] == path for p in (*loads.select, *loads.prefetch))
                    and loads.covers(path, relations)
                ]
            need = self.analysis._missing(hook.reads, loads)
            own = [*need.select, *need.prefetch]
            for path in need.select:
                if path not in select:
                    select.append(path)
            for path in need.prefetch:
                if path not in prefetch:
                    prefetch.append(path)
            if own:
                readers.append(f"{hook.label} reads {_names(own)}")
            requery += [f"{hook.label} runs `item.{r}`" for r in need.requery]
            queries += [f"{hook.label} runs `{q}`" for q in hook.queries]
            if coverage.only is not None or coverage.defer:
                for name in hook.deferred:
                    left_out = (
                        coverage.only is not None and name not in coverage.only
                    ) or name in coverage.defer
                    if left_out and name not in deferred and name not in ("id", "pk"):
                        deferred.append(name)
                        readers.append(f"{hook.label} reads the deferred field `{name}`")
        select = [p for p in select if not any(o.startswith(p + "__") for o in select)]
        row = f"each `{model.name}` item of the feed"
        feed = f"feed `{self.analysis.cls.name}`: "
        remedies: list[str] = []
        replace_bare = ""
        if select and loads.bare:
            # a named select_related() replaces the bare one: keep what it loaded
            named = [*select, *(p for p in bare_read if p not in select)]
            named = sorted(p for p in named if not any(o.startswith(p + "__") for o in named))
            replace_bare = (
                f"replace the bare `.select_related()` of the `items()` queryset with "
                f"`.select_related({_quoted(named)})` (naming relations replaces the bare "
                "form, which follows only non-null foreign keys)"
            )
        elif select:
            remedies.append(f"`.select_related({_quoted(select)})`")
        if prefetch:
            remedies.append(f"`.prefetch_related({_quoted(prefetch)})`")
            if coverage.prefetch_dropped:
                remedies[-1] += " (and a `chunk_size` for its `.iterator()`)"
        if remedies:
            remedies = [f"add {' and '.join(remedies)} to the `items()` queryset"]
        if replace_bare:
            remedies.insert(0, replace_bare)
        if deferred:
            remedies.append(
                f"load {_names(deferred)} in the `only()` of the `items()` queryset "
                "(or drop it from `defer()`)"
            )
        if remedies:
            return (
                f"{feed}{'; '.join(readers)} of {row} without loading "
                f"{'it' if len(select) + len(prefetch) + len(deferred) == 1 else 'them'} "
                f"(a query per feed item); {' and '.join(remedies)}"
            )
        if requery:
            return (
                f"{feed}{requery[0]} for {row} (a query per feed item, even when prefetched); "
                "prefetch the rows with `Prefetch(..., to_attr=...)` or `annotate()` the value "
                "in the `items()` queryset and read that"
            )
        if queries:
            return (
                f"{feed}{queries[0]} for {row} (a query per feed item); load the data once in the "
                "`items()` queryset (`prefetch_related`/`annotate`) and read it from the item"
            )
        return None


class _Inline:
    def __init__(self, analysis: _Analysis) -> None:
        self.analysis = analysis

    def findings(self) -> list[ClassFinding]:
        from flake8_djguide.orm.summaries import default_manager_base

        analysis = self.analysis
        if analysis.index.inline_listed(f"{analysis.module}.{analysis.cls.name}") is False:
            return []  # no admin of the project lists it: it is never rendered
        admin = analysis._admin()
        if admin.opaque:
            return []
        values = _class_values(_same_file_order(analysis))
        model_statement = values.get("model")
        if model_statement is None or model_statement not in analysis.cls.body:
            return []
        ref = _assigned_value(model_statement)
        name = ast_dotted_name(ref) if ref is not None else None
        model = analysis.index.model_named(analysis.module, name) if name else None
        if model is None or self._single_row(values, model):
            return []
        base = default_manager_base(analysis.index, model.qualname)
        if base.opaque:
            return []
        loads = _Loads(select=set(base.select), prefetch=set(base.prefetch), bare=base.bare)
        loads.own_select = bool(base.select or base.bare)
        if admin.get_queryset is not None:
            analysis._read_get_queryset(admin.get_queryset, loads, model)
            if loads.opaque:
                return []
        found: list[ClassFinding] = []
        shown = analysis._missing(analysis._reads(model, ["__str__()"]), loads)
        names = [*shown.select, *shown.prefetch]
        if names:
            plural = len(names) > 1
            found.append(
                ClassFinding(
                    model_statement,
                    attribute="model",
                    message=f"inline `{analysis.cls.name}` shows each saved `{model.name}` row as "
                    f"text (`{model.name}.__str__`), which reads relation{'s' if plural else ''} "
                    f"{_names(names)} without loading {'them' if plural else 'it'} "
                    f"({self._per_row(admin, loads)}); "
                    + self._remedy(admin, loads, shown.select, shown.prefetch),
                )
            )
        readonly = values.get("readonly_fields")
        value = _assigned_value(readonly) if readonly is not None else None
        if (
            readonly is not None
            and readonly in analysis.cls.body
            and isinstance(value, (ast.Tuple, ast.List))
        ):
            reader = _Reader(analysis, admin, model)
            for position, entry in enumerate(value.elts):
                hook = self._readonly(reader, admin, model, entry)
                if hook is None:
                    continue
                need = analysis._missing(hook.reads, loads)
                names = [*need.select, *need.prefetch]
                if not names:
                    continue
                plural = len(names) > 1
                found.append(
                    ClassFinding(
                        readonly,
                        attribute="readonly_fields",
                        element=position,
                        message=f"read-only field {hook.label} of inline `{analysis.cls.name}` reads "
                        f"relation{'s' if plural else ''} {_names(names)} of each `{model.name}` "
                        f"row without loading {'them' if plural else 'it'} "
                        f"({self._per_row(admin, loads)}); "
                        + self._remedy(admin, loads, need.select, need.prefetch),
                    )
                )
        return found

    def _single_row(self, values: dict[str, ast.stmt], model: Model) -> bool:
        """Whether the inline shows at most one row: its foreign key to the parent is a
        one-to-one field (``fk_name``, else the relations to the models of the same
        module's admins listing the inline in ``inlines``, else any one-to-one field of
        the model: a profile-style inline)."""
        analysis = self.analysis
        fk_name = values.get("fk_name")
        name = _string(_assigned_value(fk_name) or ast.Constant(None)) if fk_name else None
        if name is not None:
            relation = model.relation(name)
            return relation is not None and relation.kind == "o2o"
        parents: set[str] = set()
        for statement in analysis.body:
            if not isinstance(statement, ast.ClassDef) or statement is analysis.cls:
                continue
            listed = _class_values([statement]).get("inlines")
            value = _assigned_value(listed) if listed is not None else None
            if not isinstance(value, (ast.Tuple, ast.List)) or not any(
                isinstance(e, ast.Name) and e.id == analysis.cls.name for e in value.elts
            ):
                continue
            for parent in _Analysis(analysis.ctx, statement)._models(_Admin()):
                parents.add(parent.qualname)
        relations = [r for r in model.relations.values() if r.kind in ("fk", "o2o")]
        if parents:
            to_parent = [r for r in relations if r.target in parents]
            return bool(to_parent) and all(r.kind == "o2o" for r in to_parent)
        return any(r.kind == "o2o" for r in relations)

    def _readonly(
        self, reader: _Reader, admin: _Admin, model: Model, entry: ast.expr
    ) -> _Hook | None:
        analysis = self.analysis
        if isinstance(entry, ast.Constant) and isinstance(entry.value, str):
            label = entry.value
            hook = _Hook(f"`{label}`")
            relation = model.relation(label)
            if relation is not None:
                if relation.forward_single:
                    hook.reads.append(((label,), (relation,), "one"))
            elif label in model.fields:
                return None
            elif label in admin.methods:
                method = admin.methods[label]
                row = _row_parameter(method)
                if row is not None:
                    reader.read(method, row, hook)
            elif label in model.self_reads:
                hook.reads.extend(analysis._reads(model, [label + "()"]))
            return hook
        if isinstance(entry, ast.Name) and entry.id in admin.methods:
            hook = _Hook(f"`{entry.id}`")
            method = admin.methods[entry.id]
            row = _row_parameter(method)
            if row is not None:
                reader.read(method, row, hook)
            return hook
        return None

    @staticmethod
    def _per_row(admin: _Admin, loads: _Loads) -> str:
        if admin.get_queryset is None and not (loads.select or loads.prefetch or loads.bare):
            return "a query per inline row: an inline's queryset loads no relations"
        return "a query per inline row"

    @staticmethod
    def _remedy(admin: _Admin, loads: _Loads, select: list[str], prefetch: list[str]) -> str:
        remedies = []
        if select:
            if admin.get_queryset is not None and loads.own_select:
                remedies.append(
                    f"add {_quoted(select)} to the `select_related()` of `get_queryset()`"
                )
            elif admin.get_queryset is not None:
                remedies.append(f"add `.select_related({_quoted(select)})` in `get_queryset()`")
            else:
                remedies.append(
                    "override `get_queryset()` to return `super().get_queryset(request)"
                    f".select_related({_quoted(select)})"
                    + (f".prefetch_related({_quoted(prefetch)})`" if prefetch else "`")
                )
                return remedies[0]
        if prefetch:
            if admin.get_queryset is None:
                return (
                    "override `get_queryset()` to return `super().get_queryset(request)"
                    f".prefetch_related({_quoted(prefetch)})`"
                )
            remedies.append(f"add `.prefetch_related({_quoted(prefetch)})` in `get_queryset()`")
        return " and ".join(remedies)


def _own_nodes(function: ast.AST) -> list[ast.AST]:
    """The nodes of a function, not those of the functions and classes it defines."""
    found: list[ast.AST] = []
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def reported_nodes(
    cls: cst.ClassDef, findings: list[ClassFinding]
) -> Iterator[tuple[cst.CSTNode, str]]:
    """The libcst nodes of the findings of a class (see :class:`ClassFinding`)."""
    for finding in findings:
        node: cst.CSTNode | None = None
        for statement in cls.body.body:
            if finding.method is not None:
                if (
                    isinstance(statement, cst.FunctionDef)
                    and statement.name.value == finding.method
                ):
                    returns = _cst_returns(statement.body)
                    if finding.index < len(returns):
                        node = returns[finding.index].value
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if (
                        isinstance(small, cst.Assign)
                        and any(
                            isinstance(t.target, cst.Name) and t.target.value == finding.attribute
                            for t in small.targets
                        )
                    ) or (
                        isinstance(small, cst.AnnAssign)
                        and isinstance(small.target, cst.Name)
                        and small.target.value == finding.attribute
                    ):
                        node = small.value
            if node is not None and finding.method is not None:
                break
        if node is not None and finding.element is not None:
            elements = node.elements if isinstance(node, (cst.Tuple, cst.List)) else []
            node = elements[finding.element].value if finding.element < len(elements) else None
        if node is not None:
            yield node, finding.message


def _cst_returns(body: cst.CSTNode) -> list[cst.Return]:
    """The ``return`` statements of a function body in source order, not those of the
    functions and classes it defines."""
    found: list[cst.Return] = []
    stack: list[cst.CSTNode] = [body]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Return):
            found.append(current)
            continue
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.BaseExpression)):
            continue
        stack.extend(reversed(current.children))
    return found
