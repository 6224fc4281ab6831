"""``ModelAdmin.list_display`` columns that read a relation per row (DJG201).

The admin's changelist renders every row of a page (100 by default), and each
``list_display`` column is read on each row: a column that follows a relation
the changelist queryset does not load runs one query per row.

What Django loads by itself (``django/contrib/admin/views/main.py``,
``ChangeList.get_queryset``/``apply_select_related``): when the queryset from
``get_queryset()`` has no ``select_related`` yet, ``list_select_related = True``
adds a bare ``select_related()``, a tuple adds ``select_related(*tuple)``, and
the default ``False`` adds a bare ``select_related()`` only when a
``list_display`` entry names a forward ``ForeignKey``/``OneToOneField`` directly.
A bare ``select_related()`` follows non-null foreign keys only.

The analysis reads flake8's ``ast`` tree (the admin's methods need not be
parsed with libcst) and the project model index; anything it cannot follow
(an unknown model, a project base admin in another module, a ``get_queryset``
calling methods it does not know) gives no finding.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flake8_djguide.helpers import ast_dotted_name
from flake8_djguide.index.extract import attribute_reads

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
    from flake8_djguide.index.project import Index, Model, Relation
else:
    from flake8_djguide._lazy import cst

Path = tuple[str, ...]

#: Related-manager reads served by a prefetch cache.
_SERVED = frozenset({"all()", "count()", "exists()"})
#: Queryset methods a ``get_queryset()`` may call without hiding what it loads.
_KNOWN_CALLS = frozenset(
    {
        "get_queryset",
        "filter",
        "exclude",
        "order_by",
        "distinct",
        "all",
        "using",
        "none",
        "only",
        "defer",
        "reverse",
        "alias",
        "annotate",
        "select_related",
        "prefetch_related",
        "select_for_update",
        "complex_filter",
        "values",
        "values_list",
        # not queryset methods: reading the request, building expressions
        "get",
        "has_perm",
        "has_perms",
        "getlist",
        "format",
        "lower",
        "upper",
        "strip",
    }
)
#: Methods that make the changelist's rows or queryset unknown.
_OPAQUE_METHODS = frozenset(
    {"get_list_select_related", "get_changelist", "get_changelist_instance"}
)
#: Reads per row that query even on a prefetched related manager.
_REQUERY = frozenset(
    {
        "filter()",
        "exclude()",
        "order_by()",
        "get()",
        "first()",
        "last()",
        "latest()",
        "earliest()",
        "aggregate()",
        "annotate()",
        "values()",
        "values_list()",
        "distinct()",
        "in_bulk()",
    }
)


@dataclass
class _Loads:
    """What the changelist queryset loads with each row."""

    select: set[Path] = field(default_factory=set)
    prefetch: set[Path] = field(default_factory=set)
    bare: bool = False
    opaque: bool = False
    annotated: set[str] = field(default_factory=set)  # relation names used in annotate()
    own_select: bool = False  # get_queryset() (or the manager) calls select_related()
    manager_select: bool = False  # the default manager's get_queryset() does
    #: foreign keys named in list_display that Django's own select_related() loads (a
    #: list_select_related tuple turns it off: the remedy must name them too)
    direct: list[str] = field(default_factory=list)

    def covers(self, path: Path, relations: tuple[Relation, ...]) -> bool:
        if self.opaque:
            return True
        for loaded in (*self.select, *self.prefetch):
            if loaded[: len(path)] == path:
                return True
        return (
            self.bare and len(path) <= 5 and all(r.forward_single and not r.null for r in relations)
        )


@dataclass
class _Admin:
    """The facts of an admin class and its same-file bases."""

    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    list_select_related: ast.expr | None = None
    get_queryset: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    opaque: bool = False


@dataclass
class _Missing:
    """What a column reads that the changelist does not load."""

    select: list[str] = field(default_factory=list)
    prefetch: list[str] = field(default_factory=list)
    requery: list[str] = field(default_factory=list)


@dataclass
class AdminFinding:
    """A ``list_display`` entry (by position among the literal parts) and its message."""

    position: int
    message: str


def list_display_value(cls: ast.ClassDef) -> ast.expr | None:
    """The value of the last ``list_display = ...`` of a class body."""
    found: ast.expr | None = None
    for statement in cls.body:
        if isinstance(statement, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == "list_display" for t in statement.targets):
                found = statement.value
        elif (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.target.id == "list_display"
            and statement.value is not None
        ):
            found = statement.value
    return found


def literal_parts(value: ast.expr) -> tuple[list[ast.expr], bool]:
    """The elements of the tuple/list displays of ``list_display`` (in source order,
    through ``+``) and whether some part is not such a display (``Base.list_display``,
    a starred element)."""
    elements: list[ast.expr] = []
    unknown = False
    stack: list[ast.expr] = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
            stack += (current.right, current.left)
        elif isinstance(current, (ast.Tuple, ast.List)):
            for element in current.elts:
                if isinstance(element, ast.Starred):
                    unknown = True
                elements.append(element)
        else:
            unknown = True
    return elements, unknown


def admin_trigger(node: ast.AST, ctx: FileContext) -> bool:
    """``list_display = ...`` in the body of a top-level class whose analysis finds
    something (the analysis is ``ast``-only, and its result is kept for the rule)."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign):
        targets = [node.target]
    else:
        return False
    if not any(isinstance(t, ast.Name) and t.id == "list_display" for t in targets):
        return False
    chain = ctx.trigger_chain
    statement = ctx.current_statement
    if len(chain) != 1 or chain[0] is not statement or not isinstance(statement, ast.ClassDef):
        return False
    return bool(admin_findings(ctx, statement))


def admin_findings(ctx: FileContext, cls: ast.ClassDef) -> list[AdminFinding]:
    """The findings of one top-level admin class (computed once per file and class)."""
    cache: dict[int, list[AdminFinding]] = ctx.__dict__.setdefault("_djguide_admin", {})
    found = cache.get(id(cls))
    if found is None:
        try:
            found = _Analysis(ctx, cls).findings()
        except RecursionError:
            found = []
        cache[id(cls)] = found
    return found


class _Analysis:
    def __init__(self, ctx: FileContext, cls: ast.ClassDef) -> None:
        from flake8_djguide.index import get_index

        self.ctx = ctx
        self.cls = cls
        tree = getattr(ctx, "tree", None)
        self.body: list[ast.stmt] = tree.body if isinstance(tree, ast.Module) else []
        self.file_index = get_index(ctx)
        self.index: Index = self.file_index.index
        self.module = self.file_index.module

    # -- the class -------------------------------------------------------------------------------

    def _top_level(self, name: str) -> ast.AST | None:
        found: ast.AST | None = None
        for statement in self.body:
            if (
                isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and statement.name == name
            ):
                found = statement
        return found

    def _admin(self) -> _Admin:
        """The class's methods and options, own first, then those of bases defined in
        the same file; ``opaque`` when a base is a project class of another module."""
        admin = _Admin()
        seen: set[int] = set()
        order: list[ast.ClassDef] = []
        stack = [self.cls]
        while stack:
            current = stack.pop(0)
            if id(current) in seen:
                continue
            seen.add(id(current))
            order.append(current)
            for base in current.bases:
                name = ast_dotted_name(base)
                if name is None:
                    admin.opaque = True
                    continue
                local = self._top_level(name) if "." not in name else None
                if isinstance(local, ast.ClassDef):
                    stack.append(local)
                    continue
                qualified = self.index.resolve(self.module, name)
                if qualified in self.index.classes:
                    admin.opaque = True  # a project base admin we cannot read here
        for current in order:
            for statement in current.body:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    admin.methods.setdefault(statement.name, statement)
                    if statement.name in _OPAQUE_METHODS:
                        admin.opaque = True
                elif (
                    isinstance(statement, ast.Assign)
                    and admin.list_select_related is None
                    and any(
                        isinstance(t, ast.Name) and t.id == "list_select_related"
                        for t in statement.targets
                    )
                ):
                    admin.list_select_related = statement.value
        admin.get_queryset = admin.methods.get("get_queryset")
        return admin

    def _models(self, admin: _Admin) -> list[Model]:
        """The models the class is registered for (``@admin.register(...)``,
        ``<site>.register(Model, Admin)`` in this module, else ``model = ...``)."""
        refs: list[ast.expr] = []
        for decorator in self.cls.decorator_list:
            if isinstance(decorator, ast.Call) and _last(decorator.func) == "register":
                refs.extend(decorator.args)
        for statement in self.body:
            call = statement.value if isinstance(statement, ast.Expr) else None
            if not isinstance(call, ast.Call) or _last(call.func) != "register":
                continue
            admin_arg = call.args[1] if len(call.args) > 1 else None
            for keyword in call.keywords:
                if keyword.arg == "admin_class":
                    admin_arg = keyword.value
            if isinstance(admin_arg, ast.Name) and admin_arg.id == self.cls.name and call.args:
                first = call.args[0]
                refs.extend(first.elts if isinstance(first, (ast.List, ast.Tuple)) else [first])
        if not refs:
            for statement in self.cls.body:
                if (
                    isinstance(statement, ast.Assign)
                    and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)
                    and statement.targets[0].id == "model"
                ):
                    refs.append(statement.value)
        models: list[Model] = []
        for ref in refs:
            name = ast_dotted_name(ref)
            model = self.index.model_named(self.module, name) if name else None
            if model is None:
                return []  # one unknown model: the column may be right for it
            if all(m.qualname != model.qualname for m in models):
                models.append(model)
        return models

    # -- what the changelist loads -----------------------------------------------------------------

    def _loads(self, admin: _Admin, model: Model, entries: list[ast.expr], unknown: bool) -> _Loads:
        from flake8_djguide.orm.summaries import default_manager_base

        loads = _Loads()
        base = default_manager_base(self.index, model.qualname)
        if base.opaque:
            loads.opaque = True
            return loads
        loads.select |= set(base.select)
        loads.prefetch |= set(base.prefetch)
        loads.bare = base.bare
        # the queryset has select_related() already: Django adds none of its own
        loads.manager_select = bool(base.select or base.bare)
        loads.own_select = loads.manager_select
        if admin.get_queryset is not None:
            self._read_get_queryset(admin.get_queryset, loads, model)
        option = admin.list_select_related
        if loads.own_select:
            pass  # the queryset has select_related(): Django adds none of its own
        elif option is None or (isinstance(option, ast.Constant) and option.value is False):
            # Django's own select_related() when list_display names a forward FK
            loads.direct = [
                str(e.value)
                for e in entries
                if self._direct_fk(model, e) and isinstance(e, ast.Constant)
            ]
            if unknown or loads.direct:
                loads.bare = True
        elif isinstance(option, ast.Constant) and option.value is True:
            loads.bare = True
        elif isinstance(option, (ast.Tuple, ast.List)) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in option.elts
        ):
            for element in option.elts:
                assert isinstance(element, ast.Constant)
                if self._valid(model, str(element.value), "select_related"):
                    loads.select.add(tuple(str(element.value).split("__")))
        else:
            loads.opaque = True
        return loads

    def _valid(self, model: Model, lookup: str, method: str) -> bool:
        """Whether a lookup loads its path: not when DJG207 finds it is no relation chain
        of the model (the change list then raises, or prefetches nothing)."""
        from flake8_djguide.index.querysets import split
        from flake8_djguide.rules._lookups import check, is_strict

        found = check(self.index, model, split(lookup), method, lambda: is_strict(self.ctx))
        return found is None

    def _direct_fk(self, model: Model, entry: ast.expr) -> bool:
        if not (isinstance(entry, ast.Constant) and isinstance(entry.value, str)):
            return False
        relation = model.relation(entry.value)
        return relation is not None and relation.forward_single

    def _other_querysets(
        self, method: ast.FunctionDef | ast.AsyncFunctionDef, model: Model
    ) -> set[int]:
        """The calls of chains on another model's manager (``Review.objects...``), or on a
        local variable assigned one: they build other querysets."""
        foreign_names: set[str] = set()
        found: set[int] = set()
        for _ in range(2):  # a variable assigned from another such variable
            for node in ast.walk(method):
                if not isinstance(node, ast.Call):
                    continue
                calls, root = _chain_calls(node)
                foreign = False
                if isinstance(root, ast.Attribute) and isinstance(root.value, ast.Name):
                    other = self.index.model_named(self.module, root.value.id)
                    foreign = other is not None and other.qualname != model.qualname
                elif isinstance(root, ast.Name):
                    foreign = root.id in foreign_names
                if foreign:
                    found.update(calls)
            for node in ast.walk(method):
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and id(node.value) in found
                ):
                    foreign_names.add(node.targets[0].id)
        return found

    def _read_get_queryset(
        self, method: ast.FunctionDef | ast.AsyncFunctionDef, loads: _Loads, model: Model
    ) -> None:
        unconditional = {
            id(node)
            for statement in method.body
            if isinstance(statement, (ast.Return, ast.Assign, ast.AnnAssign, ast.Expr))
            for node in ast.walk(statement)
        }
        # the querysets given to Prefetch(...) load relations of another model
        inner = {
            id(sub)
            for node in ast.walk(method)
            if isinstance(node, ast.Call) and _last(node.func) == "Prefetch"
            for argument in [*node.args[1:], *(k.value for k in node.keywords)]
            for sub in ast.walk(argument)
        }
        inner |= self._other_querysets(method, model)
        for node in ast.walk(method):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and (
                node is not method
            ):
                loads.opaque = True
                return
            if (
                not isinstance(node, ast.Call)
                or not isinstance(node.func, ast.Attribute)
                or id(node) in inner
            ):
                continue
            name = node.func.attr
            if name not in _KNOWN_CALLS:
                loads.opaque = True
                return
            if name == "select_related":
                loads.own_select = loads.own_select or id(node) in unconditional
                if not node.args and not node.keywords:
                    loads.bare = True
                for arg in node.args:
                    text = _string(arg)
                    if text is None:
                        loads.opaque = True
                        return
                    if self._valid(model, text, "select_related"):
                        loads.select.add(tuple(text.split("__")))
            elif name == "prefetch_related":
                for arg in node.args:
                    text = _string(arg)
                    if text is None and isinstance(arg, ast.Call) and arg.args:
                        if _last(arg.func) == "Prefetch" and not any(
                            k.arg == "to_attr" for k in arg.keywords
                        ):
                            text = _string(arg.args[0])
                        elif _last(arg.func) == "Prefetch":
                            continue  # a to_attr list: the relation itself is not loaded
                    if text is None:
                        loads.opaque = True
                        return
                    if self._valid(model, text, "prefetch_related"):
                        loads.prefetch.add(tuple(text.split("__")))
            elif name in ("annotate", "alias"):
                for value in [*node.args, *(k.value for k in node.keywords)]:
                    for sub in ast.walk(value):
                        text = _string(sub)
                        if text is not None:
                            loads.annotated.add(text.split("__")[0])

    # -- what each column reads ----------------------------------------------------------------------

    def findings(self) -> list[AdminFinding]:
        value = list_display_value(self.cls)
        if value is None:
            return []
        entries, unknown = literal_parts(value)
        if not entries:
            return []
        admin = self._admin()
        if admin.opaque:
            return []
        models = self._models(admin)
        found: dict[int, AdminFinding] = {}
        for model in models:
            loads = self._loads(admin, model, entries, unknown)
            if loads.opaque:
                continue
            missing: dict[int, tuple[str, _Missing, list[str]]] = {}
            for position, entry in enumerate(entries):
                read = self._entry(admin, model, entry)
                if read is not None:
                    label, reads, queries = read
                    missing[position] = (label, self._missing(reads, loads), queries)
            # one tuple for the whole class: setting list_select_related turns Django's
            # own select_related() off, so it names the foreign keys that one loaded too
            wanted = [*loads.direct]
            for _, need, _ in missing.values():
                wanted += [p for p in need.select if p not in wanted]
            wanted = [p for p in wanted if not any(o.startswith(p + "__") for o in wanted)]
            for position, (label, need, queries) in missing.items():
                if position in found:
                    continue
                message = self._message(label, model, need, queries, admin, loads, wanted)
                if message is not None:
                    found[position] = AdminFinding(position, message)
        return [found[p] for p in sorted(found)]

    def _entry(
        self, admin: _Admin, model: Model, entry: ast.expr
    ) -> tuple[str, list[tuple[Path, tuple[Relation, ...], str]], list[str]] | None:
        """What one ``list_display`` entry reads on each row: its label, the relation
        paths and the queries it runs."""
        reads: list[tuple[Path, tuple[Relation, ...], str]] = []
        queries: list[str] = []
        if isinstance(entry, ast.Constant) and isinstance(entry.value, str):
            label = entry.value
            relation = model.relation(label)
            # Django's order: a model field (or a lookup), a ModelAdmin attribute, then
            # an attribute of the model
            if relation is not None:
                if relation.forward_single:
                    reads.append(((label,), (relation,), "one"))
            elif label in model.fields:
                pass
            elif "__" in label.strip("_"):
                walked = self._lookup(model, label.split("__"))
                if walked is not None:
                    reads.append((*walked, "one"))
            elif label in admin.methods and label != "__str__":
                self._callable(admin.methods[label], 1, model, reads, queries)
            elif label in model.self_reads:
                reads.extend(self._reads(model, [label + "()"]))
        elif isinstance(entry, ast.Name):
            label = entry.id
            method = admin.methods.get(label)
            if method is not None and method in self.cls.body:
                self._callable(method, 1, model, reads, queries)
            else:
                function = self._top_level(label)
                if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self._callable(function, 0, model, reads, queries)
        else:
            return None
        return label, reads, queries

    def _lookup(self, model: Model, parts: list[str]) -> tuple[Path, tuple[Relation, ...]] | None:
        """A ``list_display`` lookup ``a__b__c``: the forward relations it follows."""
        relations: list[Relation] = []
        current: Model | None = model
        for index, part in enumerate(parts):
            relation = current.relation(part) if current is not None else None
            last = index == len(parts) - 1
            if relation is None:
                if (
                    last
                    and current is not None
                    and (part in current.fields or not current.complete)
                ):
                    break
                return None
            if not relation.forward_single:
                return None
            relations.append(relation)
            current = self.index.models.get(relation.target) if relation.target else None
        if not relations:
            return None
        return tuple(parts[: len(relations)]), tuple(relations)

    def _callable(
        self,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        position: int,
        model: Model,
        reads: list[tuple[Path, tuple[Relation, ...], str]],
        queries: list[str],
    ) -> None:
        """The relations a column function reads on its row parameter, and the
        queries it runs itself (``Model.objects...``)."""
        params = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        if position and any(_last(d) == "staticmethod" for d in function.decorator_list):
            position = 0
        if len(params) <= position:
            return
        row = params[position]
        for chain in attribute_reads(function, row):
            reads.extend(self._reads(model, chain))
        if _formats(function, row):
            reads.extend(self._reads(model, ["__str__()"]))
        managers = self.index.manager_names | {"_default_manager", "_base_manager"}
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in managers
                and isinstance(node.value, ast.Name)
            ):
                target = self.index.model_named(self.module, node.value.id)
                if target is not None:
                    queries.append(f"{node.value.id}.{node.attr}")

    def _reads(
        self, model: Model, chain: list[str], depth: int = 0
    ) -> list[tuple[Path, tuple[Relation, ...], str]]:
        """The relation paths an attribute chain read on the row loads, and how:
        ``one`` (a forward relation), ``many`` (a related manager's rows, served by a
        prefetch) or ``requery:<call>`` (a query per row even when prefetched). A model
        method or property on the way (``obj.get_groups()``, ``obj.display_name``) is
        followed through what it reads on ``self`` (from the model index)."""
        relations: list[Relation] = []
        path: list[str] = []
        current: Model | None = model
        for index, part in enumerate(chain):
            if current is None:
                break
            name = part[:-2] if part.endswith("()") else part
            if (
                name in current.self_reads
                and current.relation(name) is None
                and name not in current.fields
            ):
                found: list[tuple[Path, tuple[Relation, ...], str]] = []
                if path:
                    found.append((tuple(path), tuple(relations), "one"))
                if depth < 3:
                    for sub in current.self_reads[name]:
                        for sub_path, sub_relations, kind in self._reads(current, sub, depth + 1):
                            found.append(((*path, *sub_path), (*relations, *sub_relations), kind))
                return found
            if part.endswith("()"):
                break
            relation = current.relation(part)
            if relation is None or relation.kind == "gfk":
                break
            if relation.many:
                following = chain[index + 1] if index + 1 < len(chain) else ""
                target = self.index.models.get(relation.target) if relation.target else None
                if following in _SERVED or (
                    following == "first()" and target is not None and target.ordered
                ):
                    return [((*path, part), (*relations, relation), "many")]
                if following in _REQUERY:
                    return [((*path, part), (*relations, relation), "requery:" + following)]
                return []
            relations.append(relation)
            path.append(part)
            current = self.index.models.get(relation.target) if relation.target else None
        if not path:
            return []
        return [(tuple(path), tuple(relations), "one")]

    # -- the message -------------------------------------------------------------------------------

    def _missing(
        self, reads: list[tuple[Path, tuple[Relation, ...], str]], loads: _Loads
    ) -> _Missing:
        need = _Missing()
        for path, relations, kind in reads:
            text = "__".join(path)
            if path[0] in loads.annotated or path[0].removesuffix("_set") in loads.annotated:
                continue
            if kind.startswith("requery:"):
                need.requery.append(f"{'.'.join(path)}.{kind.split(':', 1)[1]}")
            elif not loads.covers(path, relations):
                target = (
                    need.prefetch
                    if kind == "many" or not all(r.select_ok for r in relations)
                    else need.select
                )
                if text not in target:
                    target.append(text)
        need.select = [
            p for p in need.select if not any(o.startswith(p + "__") for o in need.select)
        ]
        return need

    def _message(
        self,
        label: str,
        model: Model,
        need: _Missing,
        queries: list[str],
        admin: _Admin,
        loads: _Loads,
        wanted: list[str],
    ) -> str | None:
        select, prefetch, requery = need.select, need.prefetch, need.requery
        column = f"`list_display` column `{label}`"
        row = f"each `{model.name}` row"
        if select or prefetch:
            names = ", ".join(f"`{p}`" for p in (*select, *prefetch))
            remedies = []
            if select:
                quoted = ", ".join(f'"{p}"' for p in select)
                if loads.manager_select:
                    remedies.append(
                        f"add `.select_related({quoted})` in `get_queryset()` (the default "
                        "manager's `select_related()` makes Django ignore `list_select_related`)"
                    )
                elif loads.own_select:
                    remedies.append(f"add {quoted} to the `select_related()` of `get_queryset()`")
                elif isinstance(admin.list_select_related, (ast.Tuple, ast.List)):
                    remedies.append(f"add {quoted} to `list_select_related`")
                else:
                    quoted = ", ".join(f'"{p}"' for p in wanted)
                    one = "," if len(wanted) == 1 else ""
                    remedies.append(f"set `list_select_related = ({quoted}{one})`")
            if prefetch:
                quoted = ", ".join(f'"{p}"' for p in prefetch)
                remedies.append(f"add `.prefetch_related({quoted})` in `get_queryset()`")
            plural = "s" if len(select) + len(prefetch) > 1 else ""
            return (
                f"{column} reads relation{plural} {names} of {row} without loading "
                f"{'them' if plural else 'it'} (a query per row of the changelist); "
                + " and ".join(remedies)
            )
        if requery:
            return (
                f"{column} runs `{requery[0]}` for {row} (a query per row of the changelist, "
                f"even when prefetched); prefetch the rows with `Prefetch(..., to_attr=...)` or "
                f"`annotate()` the value in `get_queryset()` and read that"
            )
        if queries:
            return (
                f"{column} runs a query for {row} (`{queries[0]}`); load the data once in "
                f"`get_queryset()` (`prefetch_related`/`annotate`) and read it from the row"
            )
        return None


def _formats(function: ast.AST, name: str) -> bool:
    """Whether ``function`` turns ``name`` into text (``str(obj)``, ``f"{obj}"``): the
    model's ``__str__`` runs."""
    for node in ast.walk(function):
        if isinstance(node, ast.FormattedValue):
            value = node.value
        elif isinstance(node, ast.Call) and _last(node.func) == "str" and len(node.args) == 1:
            value = node.args[0]
        else:
            continue
        if isinstance(value, ast.Name) and value.id == name:
            return True
    return False


def _chain_calls(node: ast.expr) -> tuple[set[int], ast.expr]:
    """The ids of the calls of a method chain (``a.b().c()``) and what it starts from
    (``a.b`` stops at the first attribute that is not called: ``Review.objects``)."""
    calls: set[int] = set()
    current = node
    while isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
        calls.add(id(current))
        current = current.func.value
    return calls, current


def _last(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _string(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def entry_nodes(cls: cst.ClassDef) -> list[cst.BaseExpression]:
    """The libcst elements of the class's last ``list_display`` tuple/list displays, in
    the order of :func:`literal_parts`."""
    value: cst.BaseExpression | None = None
    for statement in cls.body.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                targets = [t.target for t in small.targets]
            elif isinstance(small, cst.AnnAssign) and small.value is not None:
                targets = [small.target]
            else:
                continue
            if any(isinstance(t, cst.Name) and t.value == "list_display" for t in targets):
                value = small.value
    return [] if value is None else list(_elements(value))


def _elements(value: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    stack: list[cst.BaseExpression] = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.BinaryOperation) and isinstance(current.operator, cst.Add):
            stack += (current.right, current.left)
        elif isinstance(current, (cst.Tuple, cst.List)):
            for element in current.elements:
                yield element.value
