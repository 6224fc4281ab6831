"""Views bound to their templates: relations a template reads per row (DJG201).

A view puts a queryset in a template's context; the template loops over it
(``{% for post in posts %}``) and reads ``{{ post.author.name }}``: a query per row
unless the queryset loads ``author``. No Python loop shows it, so the finding is
reported at the view's queryset expression, naming the template and its line.

Views followed:

- function views: ``render(request, "x.html", context)``, ``TemplateResponse(...)``,
  ``render_to_string("x.html", context)`` (names imported from Django), with a context
  that is a dict display, ``dict(...)``, or a local variable assigned one and filled by
  ``context["k"] = ...``/``context.update(...)`` in the same function;
- ``ListView``/``DetailView`` subclasses: rows from ``get_queryset()``, ``queryset`` or
  ``model``, the template from ``template_name`` or Django's default
  (``<app_label>/<model>_list.html``), the context names Django gives
  (``object_list``, ``page_obj``, ``<model>_list``, ``object``, ``<model>``,
  ``context_object_name``) and the values ``get_context_data()`` adds.

Which model a context value's rows are and what its queryset loads comes from the
queryset analysis (:mod:`flake8_djguide.orm`); the template's facts come from
the index (:mod:`flake8_djguide.templates.loader`). Anything unknown (a model the index
does not know, a context value the analysis cannot follow, a template not found or
broken, a template name computed at run time) gives no finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from flake8_djguide.helpers import dotted_name, string_value
from flake8_djguide.index.querysets import EMPTY
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.values import COUNTED, REQUERY, count_remedy
from flake8_djguide.templates.parse import value_of
from flake8_djguide.templates.triggers import (
    RENDER_CALLS,
    generic_kind,
    known_kind,
    project_templates,
)

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.index.project import Model, Relation
    from flake8_djguide.orm.analysis import Analysis
    from flake8_djguide.orm.scope import ClassInfo, Scope
    from flake8_djguide.orm.values import QS
    from flake8_djguide.templates.loader import Templates
else:
    from flake8_djguide._lazy import cst

Path = tuple[str, ...]

#: Methods that make the template, the rows or the context unknown (``get_object()``: a
#: detail view's object; a list view's rows do not come from it).
_OPAQUE_VIEW_METHODS = frozenset({"get_template_names", "get_context_object_name"})
_SERVED = frozenset({"all", "count", "exists"})
_REQUERY = frozenset({"last", "latest", "earliest"})
#: Attributes of a row that never query: its primary key.
_FREE = frozenset({"pk", "id"})
MAX_INCLUDE_DEPTH = 8


# -- what a template reads ---------------------------------------------------------------------------


@dataclass
class _Source:
    """A context value whose rows the template may read: the queryset and where to report."""

    qs: QS
    node: cst.CSTNode
    needs: dict[Path, _Need] = field(default_factory=dict)
    #: the view's ``model = X`` (no queryset to extend: the remedy sets ``queryset``)
    model_attr: str | None = None


@dataclass
class _Need:
    kind: str  # one, many, defer, requery
    relations: tuple[Relation, ...]
    reads: list[tuple[str, int, str]] = field(default_factory=list)  # (template, line, text)
    #: what a "many" read does with the related manager (``all``, ``count``, ``exists``;
    #: ``""`` when not told)
    uses: set[str] = field(default_factory=set)


@dataclass
class _Bound:
    """A template variable the analysis follows."""

    source: _Source
    model: Model
    kind: str  # rows (a collection), row (one row of a loop), one (a single object)
    prefix: Path = ()
    relations: tuple[Relation, ...] = ()


Env = dict[str, "_Bound | None"]


class _Renderer:
    """Walks a template's facts with the view's context bound, recording the reads per
    row that the queryset does not load."""

    def __init__(self, analysis: Analysis, templates: Templates) -> None:
        self.analysis = analysis
        self.index = analysis.index
        self.templates = templates
        self.steps = 0

    def render(self, name: str, env: Env) -> bool:
        found = self.templates.find(name)
        if found is None:
            return False
        path, facts = found
        self._template(path, facts, env, 0)
        return True

    def _template(self, path: str, facts: dict[str, Any], env: Env, depth: int) -> None:
        self._nodes(self._flatten(path, facts, depth), dict(env), path, depth)

    def _flatten(self, path: str, facts: dict[str, Any], depth: int) -> list[Any]:
        """The body of a template with its parents' content around its blocks (each part
        marked with the template it comes from: ``["t", path, nodes]``); the template's own
        body when the parent is unknown (its blocks still render)."""
        parent_name = facts["e"]
        if parent_name is None or parent_name == "?" or depth > MAX_INCLUDE_DEPTH:
            return list(facts["b"])
        parent = self.templates.find(parent_name)
        if parent is None:
            return list(facts["b"])
        blocks: dict[str, list[Any]] = {}
        _collect_blocks(facts["b"], blocks)
        own = {name: [["t", path, body]] for name, body in blocks.items()}
        outer = self._flatten(parent[0], parent[1], depth + 1)
        return [["t", parent[0], _replace_blocks(outer, own)]]

    def _nodes(self, nodes: list[Any], env: Env, path: str, depth: int) -> None:
        for node in nodes:
            self.steps += 1
            if self.steps > 50000:
                return
            tag = node[0]
            if tag == "r" or tag == "v":
                self._read(node[2], env, path, node[1], printed=tag == "r")
            elif tag == "a":
                env[node[2]] = None
            elif tag == "t":
                self._nodes(node[2], env, node[1], depth)
            elif tag == "b":
                self._nodes(node[2], env, path, depth)
            elif tag == "f":
                self._for(node, env, path, depth)
            elif tag == "w":
                inner = dict(env)
                for name, expression in node[2]:
                    inner[name] = self._expression(expression, env, path, node[1])
                self._nodes(node[3], inner, path, depth)
            elif tag == "i":
                self._include(node, env, depth)

    def _for(self, node: list[Any], env: Env, path: str, depth: int) -> None:
        _, line, targets, iterable, body, empty = node
        rows = self._expression(iterable, env, path, line)
        inner = dict(env)
        for target in targets:
            inner[target] = None
        if rows is not None and rows.kind == "rows" and len(targets) == 1:
            inner[targets[0]] = _Bound(rows.source, rows.model, "row", rows.prefix, rows.relations)
        inner["forloop"] = None
        self._nodes(body, inner, path, depth)
        self._nodes(empty, dict(env), path, depth)

    def _include(self, node: list[Any], env: Env, depth: int) -> None:
        _, line, name, pairs, only = node
        if name is None or depth >= MAX_INCLUDE_DEPTH:
            return
        found = self.templates.find(name)
        if found is None:
            return
        inner: Env = {} if only else dict(env)
        for key, expression in pairs:
            inner[key] = self._expression(expression, env, found[0], line)
        self._template(found[0], found[1], inner, depth + 1)

    def _expression(self, expression: str, env: Env, path: str, line: int) -> _Bound | None:
        variable = value_of(expression)
        for other in _filter_arguments(expression):
            self._read(other, env, path, line, printed=False)
        if variable is None:
            return None
        return self._read(variable, env, path, line, printed=False)

    def _read(
        self, text: str, env: Env, path: str, line: int, printed: bool, depth: int = 0
    ) -> _Bound | None:
        """Record what reading ``text`` loads per row; the object or rows it gives."""
        parts = text.split(".")
        head = env.get(parts[0])
        if head is None:
            return None
        return self._walk(head, parts[1:], text, path, line, printed, depth)

    def _walk(
        self,
        head: _Bound,
        parts: list[str],
        text: str,
        path: str,
        line: int,
        printed: bool,
        depth: int,
    ) -> _Bound | None:
        if head.kind == "rows":
            if all(p in ("all", "object_list", "qs") for p in parts):
                return head
            return None
        current = head.model
        prefix = head.prefix
        relations = head.relations
        walked: list[str] = []
        walked_relations: list[Relation] = []
        per_row = head.kind == "row"
        for position, part in enumerate(parts):
            relation = current.relation(part)
            if relation is None:
                if part in current.self_reads and part not in current.fields and depth < 2:
                    self._need_one(head, walked, walked_relations, text, path, line, per_row)
                    query = current.self_queries.get(part)
                    if query == "memo":
                        return None  # kept in a cache: its reads run on a miss only
                    if query == "query" and per_row:
                        # a query of a model's manager: no prefetch of these rows removes it
                        full = (*prefix, *walked, part)
                        self._need(head.source, full, (), "requery", text, path, line)
                    sub = _Bound(
                        head.source,
                        current,
                        head.kind,
                        (*prefix, *walked),
                        (*relations, *walked_relations),
                    )
                    for chain in current.self_reads[part]:
                        reads = [c[:-2] if c.endswith("()") else c for c in chain]
                        self._walk(sub, reads, text, path, line, False, depth + 1)
                    return None
                if (
                    per_row
                    and position == 0
                    and not prefix
                    and not walked
                    and part in current.fields
                    and part not in _FREE
                ):
                    self._deferred(head, part, text, path, line)
                self._need_one(head, walked, walked_relations, text, path, line, per_row)
                return None
            if relation.kind in ("gfk", "grel"):
                self._need_one(head, walked, walked_relations, text, path, line, per_row)
                return None
            if relation.many:
                self._need_one(head, walked, walked_relations, text, path, line, per_row)
                following = parts[position + 1] if position + 1 < len(parts) else ""
                target = self.index.models.get(relation.target) if relation.target else None
                full = (*prefix, *walked, part)
                full_relations = (*relations, *walked_relations, relation)
                served = following in _SERVED or (
                    following == "first" and target is not None and target.ordered
                )
                if per_row and served:
                    self._need(
                        head.source,
                        full,
                        full_relations,
                        "many",
                        text,
                        path,
                        line,
                        head.prefix,
                        following if depth == 0 else "",
                    )
                elif per_row and (
                    following in _REQUERY
                    or following == "first"
                    or (depth > 0 and following in REQUERY)
                ):
                    # a method of the model (read through its facts, ``depth > 0``) may
                    # build a new queryset on the relation: a query even when prefetched
                    self._need(head.source, full, full_relations, "requery", text, path, line)
                if following == "all" and target is not None and position + 2 == len(parts):
                    return _Bound(head.source, target, "rows", full, full_relations)
                return None
            walked.append(part)
            walked_relations.append(relation)
            target = self.index.models.get(relation.target) if relation.target else None
            if target is None:
                self._need_one(head, walked, walked_relations, text, path, line, per_row)
                return None
            current = target
        self._need_one(head, walked, walked_relations, text, path, line, per_row)
        if printed and "__str__" in current.self_reads and depth < 2:
            sub = _Bound(
                head.source, current, head.kind, (*prefix, *walked), (*relations, *walked_relations)
            )
            for chain in current.self_reads["__str__"]:
                reads = [c[:-2] if c.endswith("()") else c for c in chain]
                self._walk(sub, reads, text, path, line, False, depth + 1)
        return _Bound(
            head.source, current, head.kind, (*prefix, *walked), (*relations, *walked_relations)
        )

    def _need_one(
        self,
        head: _Bound,
        walked: list[str],
        walked_relations: list[Relation],
        text: str,
        path: str,
        line: int,
        per_row: bool,
    ) -> None:
        if per_row and walked:
            self._need(
                head.source,
                (*head.prefix, *walked),
                (*head.relations, *walked_relations),
                "one",
                text,
                path,
                line,
                head.prefix,
            )

    def _deferred(self, head: _Bound, name: str, text: str, path: str, line: int) -> None:
        cov = head.source.qs.cov
        if cov.opaque or name in head.source.qs.annotations:
            return
        if (cov.only is not None and name not in cov.only) or name in cov.defer:
            self._need(head.source, (name,), (), "defer", text, path, line)

    def _need(
        self,
        source: _Source,
        full: Path,
        relations: tuple[Relation, ...],
        kind: str,
        text: str,
        path: str,
        line: int,
        base: Path = (),
        use: str = "",
    ) -> None:
        if kind in ("one", "many"):
            # a read back through the relation the row came from is cached (a shift of
            # ``event.shifts.all`` knows its ``event``): only the parts before it load
            root = source.qs.model.qualname if source.qs.model is not None else None
            parts = self.analysis._without_back_references(root or "", full, relations)
            if len(parts) != 1 or parts[0][0] != full:
                for path_part, relations_part in parts:
                    # the rows being read themselves (``shifts`` of ``event.shifts.all``)
                    # are the loop's, not a read per row
                    if path_part and path_part != base[: len(path_part)]:
                        self._need(source, path_part, relations_part, kind, text, path, line, base)
                return
            if self._covered(source.qs, full, relations):
                return
        if kind == "requery" and full[0] in source.qs.annotations:
            return
        need = source.needs.get(full)
        if need is None:
            need = source.needs[full] = _Need(kind, relations)
        need.uses.add(use)
        read = (path, line, text)
        if read not in need.reads:
            need.reads.append(read)

    def _covered(self, qs: QS, full: Path, relations: tuple[Relation, ...]) -> bool:
        if qs.cov.opaque or full[0] in qs.annotations:
            return True
        if self.analysis._view_covers(qs, full, relations):
            return True
        return self.analysis._manager_loads(full, relations)


def _filter_arguments(expression: str) -> list[str]:
    from flake8_djguide.templates.parse import variables

    found = variables(expression)
    return found[1:] if found and found[0] == value_of(expression) else found


def _collect_blocks(nodes: list[Any], blocks: dict[str, list[Any]]) -> None:
    for node in nodes:
        tag = node[0]
        if tag == "b":
            blocks.setdefault(node[1], node[2])
            _collect_blocks(node[2], blocks)
        elif tag == "f":
            _collect_blocks(node[4], blocks)
            _collect_blocks(node[5], blocks)
        elif tag == "w":
            _collect_blocks(node[3], blocks)
        elif tag == "t":
            _collect_blocks(node[2], blocks)


def _replace_blocks(nodes: list[Any], blocks: dict[str, list[Any]]) -> list[Any]:
    result: list[Any] = []
    for node in nodes:
        tag = node[0]
        if tag == "b":
            own = _replace_blocks(node[2], blocks)
            child = blocks.get(node[1])
            if child is None:
                result.append(["b", node[1], own])
            else:
                # ``{{ block.super }}`` renders the parent's content too: keep both
                result.append(["b", node[1], [*child, *own] if _has_super(child) else child])
        elif tag == "f":
            result.append(
                [
                    "f",
                    node[1],
                    node[2],
                    node[3],
                    _replace_blocks(node[4], blocks),
                    _replace_blocks(node[5], blocks),
                ]
            )
        elif tag == "w":
            result.append(["w", node[1], node[2], _replace_blocks(node[3], blocks)])
        elif tag == "t":
            result.append(["t", node[1], _replace_blocks(node[2], blocks)])
        else:
            result.append(node)
    return result


def _has_super(nodes: list[Any]) -> bool:
    for node in nodes:
        if node[0] in ("r", "v") and node[2] == "block.super":
            return True
        if node[0] == "t" and _has_super(node[2]):
            return True
    return False


# -- the views ---------------------------------------------------------------------------------------


def _bindable(value: Any) -> bool:
    from flake8_djguide.orm.values import QS, Item

    if isinstance(value, QS):
        return (
            value.model is not None
            and not value.cov.opaque
            and value.rows == "instances"
            and not value.prefix
            and not value.empty
        )
    return (
        isinstance(value, Item)
        and value.model is not None
        and not value.cov.opaque
        and not value.prefix
    )


def _bind(value: Any, node: cst.CSTNode) -> _Bound | None:
    from flake8_djguide.orm.values import QS

    if not _bindable(value):
        return None
    if isinstance(value, QS):
        assert value.model is not None
        return _Bound(_Source(value, node), value.model, "rows")
    qs = _item_queryset(value)
    assert value.model is not None
    return _Bound(_Source(qs, node), value.model, "one")


def _item_queryset(item: Any) -> QS:
    from flake8_djguide.orm.values import QS

    return QS(item.model, item.cov, item.text)


def _source_node(
    node: cst.BaseExpression, scope: Scope, analysis: Analysis | None = None
) -> cst.CSTNode:
    """Where to report a context value: the (first) assignment of a local variable; with
    ``analysis``, followed to the queryset a function or a filter set is given
    (``get_page(request, rows)``, ``SomeFilter(data, queryset=rows).qs``)."""
    current: cst.CSTNode = node
    for _ in range(8):
        if isinstance(current, cst.Name):
            records = scope.records.get(current.value) or []
            if not (records and records[0].value is not None and records[0].kind == "value"):
                return current
            current = records[0].value
            continue
        given = _given_argument(analysis, current, scope) if analysis is not None else None
        if given is None:
            return current
        current = given
    return current


def _given_argument(
    analysis: Analysis, node: cst.CSTNode, scope: Scope
) -> cst.BaseExpression | None:
    """The argument whose rows a call gives back, or the filter set of ``<set>.qs``."""
    from flake8_djguide.orm.nodes import _chain

    if isinstance(node, cst.Attribute) and node.attr.value == "qs":
        return node.value
    if not isinstance(node, cst.Call) or any(a.star for a in node.args):
        return None
    root, links = _chain(node.func)
    if not isinstance(root, cst.Name) or any(kind != "attr" for kind, _, _ in links):
        return None
    if not analysis._global(root.value, scope):
        return None
    dotted = ".".join([root.value, *(name for _, name, _ in links)])
    qualname = analysis.index.resolve(analysis.file_index.module, dotted)
    positional = [a for a in node.args if a.keyword is None]
    if analysis.filterset(qualname):
        keyword = next((a for a in node.args if a.keyword and a.keyword.value == "queryset"), None)
        if keyword is not None:
            return keyword.value
        return positional[1].value if len(positional) >= 2 else None
    summary = analysis.summary(qualname)
    if summary is None:
        return None
    position = analysis._pass_position(qualname, summary, 0)
    if position is None:
        return None
    if position < len(positional):
        return positional[position].value
    name = summary["p"][position]
    return next((a.value for a in node.args if a.keyword and a.keyword.value == name), None)


def _context_value(
    analysis: Analysis, node: cst.BaseExpression, scope: Scope
) -> tuple[Any, cst.CSTNode]:
    """The value of a context entry and where to report it: through a conditional
    expression (``qs if ... else None``) and ``Paginator(qs, n).get_page(...)``."""
    if isinstance(node, cst.IfExp):
        for branch in (node.body, node.orelse):
            value, where = _context_value(analysis, branch, scope)
            if value is not None:
                return value, where
        return None, node
    value = analysis.evaluate(node, scope, quiet=True)
    if value is not None:
        return value, _source_node(node, scope, analysis)
    value = user_rows(analysis, node, scope)
    if value is not None:
        return value, node
    value = _user_rows_of(analysis, node, scope)
    if value is not None:
        return value, _source_node(_chain_root(node), scope)
    rows = _paginated_rows(node, scope)
    if rows is None:
        return None, node
    return analysis.evaluate(rows, scope, quiet=True), _source_node(rows, scope)


def user_rows(analysis: Analysis, node: cst.CSTNode, scope: Scope) -> QS | None:
    """The rows of a related manager of the requesting user (``request.user.orders.filter(
    ...)``, ``self.request.user.orders.all()``): the user is an instance of the project's
    user model (``AUTH_USER_MODEL``)."""
    from flake8_djguide.orm.nodes import _chain, code_of
    from flake8_djguide.orm.values import ModelClass

    root, links = _chain(node)
    if not isinstance(root, cst.Name):
        return None
    names = [payload for kind, payload, _ in links[:3] if kind == "attr"]
    if root.value == "request" and names[:1] == ["user"]:
        start = 1
    elif root.value == "self" and names[:2] == ["request", "user"]:
        start = 2
    else:
        return None
    user = analysis.index.models.get(analysis.index.user_model() or "")
    if user is None or len(links) <= start or links[start][0] != "attr":
        return None
    relation = user.relation(links[start][1])
    target = analysis.index.models.get(relation.target or "") if relation is not None else None
    if relation is None or not relation.many or target is None:
        return None
    rows = analysis._as_queryset(ModelClass(target, target.name), code_of(node))
    return _methods(analysis, rows, links[start + 1 :], scope) if rows is not None else None


def _methods(analysis: Analysis, rows: QS, links: list[Any], scope: Scope) -> QS | None:
    """``rows`` with the method calls of ``links`` applied (``.filter(...).order_by(...)``,
    and a slice); ``None`` for anything else."""
    from flake8_djguide.orm.values import QS

    value: Any = rows
    index = 0
    while index < len(links):
        kind, payload, _ = links[index]
        if kind == "sub" and index == len(links) - 1:
            break  # a slice of the rows loads what the rows load
        following = links[index + 1] if index + 1 < len(links) else None
        if kind != "attr" or following is None or following[0] != "call":
            return None
        if not isinstance(value, QS):
            return None
        value = analysis._method(value, payload, following[1], scope, True)
        index += 2
    return value if isinstance(value, QS) else None


def _user_rows_of(analysis: Analysis, node: cst.BaseExpression, scope: Scope) -> QS | None:
    """:func:`user_rows` through a local variable assigned them and then refined
    (``rows = request.user.orders.all()``, ``rows = rows.filter(...)``, ``rows[:50]``):
    what any of its assignments loads counts, as for the analysis' own variables."""
    from flake8_djguide.orm.nodes import _chain
    from flake8_djguide.orm.values import QS, _merge_values

    root, links = _chain(node)
    if not isinstance(root, cst.Name):
        return None
    records = scope.records.get(root.value) or []
    if not records or records[0].value is None:
        return None
    base = user_rows(analysis, records[0].value, scope)
    if base is None:
        return None
    values: list[Any] = [base]
    for record in records[1:]:
        inner, inner_links = _chain(record.value) if record.value is not None else (None, [])
        if not isinstance(inner, cst.Name) or inner.value != root.value:
            return None
        refined = _methods(analysis, base, inner_links, scope)
        if refined is None:
            return None
        values.append(refined)
    merged = _merge_values(values)
    if not isinstance(merged, QS):
        return None
    return _methods(analysis, merged, links, scope)


def _chain_root(node: cst.BaseExpression) -> cst.BaseExpression:
    from flake8_djguide.orm.nodes import _chain

    root = _chain(node)[0]
    return root if isinstance(root, cst.BaseExpression) else node


def _single_call(node: cst.BaseExpression, scope: Scope) -> cst.Call | None:
    """``node`` when it is a call, or the call a local variable is assigned once."""
    if isinstance(node, cst.Call):
        return node
    if isinstance(node, cst.Name) and node.value not in scope.opaque:
        records = scope.records.get(node.value) or []
        if len(records) == 1 and isinstance(records[0].value, cst.Call):
            return records[0].value
    return None


def _paginated_rows(node: cst.BaseExpression, scope: Scope) -> cst.BaseExpression | None:
    """The rows of ``Paginator(rows, n)``, of its ``get_page()``/``page()`` (a page
    iterates its rows) and of a variable assigned one of these."""
    call = _single_call(node, scope)
    if call is None:
        return None
    if isinstance(call.func, cst.Attribute) and call.func.attr.value in ("get_page", "page"):
        call = _single_call(call.func.value, scope)
        if call is None:
            return None
    if _last_name(call.func) == "Paginator" and call.args and call.args[0].keyword is None:
        return call.args[0].value
    return None


def _last_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Name):
        return node.value
    return ""


def _context_entries(
    node: cst.BaseExpression | None, scope: Scope, function: cst.FunctionDef | None
) -> list[tuple[str, cst.BaseExpression]]:
    """``(name, value)`` of a context argument: a dict display, ``dict(...)``, or a local
    variable assigned one and filled by subscript assignments and ``update()``."""
    if node is None:
        return []
    entries = _display_entries(node)
    if entries is not None:
        return entries
    if not isinstance(node, cst.Name):
        return []
    name = node.value
    found: list[tuple[str, cst.BaseExpression]] = []
    for record in scope.records.get(name) or []:
        found.extend(_display_entries(record.value) or [])
    if function is not None:
        found.extend(_filled_entries(function.body, name))
    return found


def _display_entries(node: cst.CSTNode | None) -> list[tuple[str, cst.BaseExpression]] | None:
    if isinstance(node, cst.Dict):
        found: list[tuple[str, cst.BaseExpression]] = []
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                key = string_value(element.key)
                if key is not None:
                    found.append((key, element.value))
            elif isinstance(element, cst.StarredDictElement):
                found.extend(_display_entries(element.value) or [])  # **{...}
        return found
    if isinstance(node, cst.Call) and dotted_name(node.func) == "dict":
        found = [(arg.keyword.value, arg.value) for arg in node.args if arg.keyword is not None]
        for arg in node.args:
            if arg.keyword is None and not arg.star:
                found.extend(_display_entries(arg.value) or [])
        return found
    return None


def _filled_entries(
    body: cst.CSTNode, name: str, helpers: list[cst.Call] | None = None
) -> list[tuple[str, cst.BaseExpression]]:
    """``name["k"] = value`` and ``name.update(...)`` statements of a function body
    (nested functions and classes left out); ``name.update(self.<method>(...))`` calls go
    to ``helpers``."""
    from flake8_djguide.walker import iter_children

    found: list[tuple[str, cst.BaseExpression]] = []
    from flake8_djguide.orm.nodes import scope_types

    scopes = scope_types()
    stack: list[cst.CSTNode] = [body]
    while stack:
        current = stack.pop()
        if type(current) in scopes:
            continue
        if type(current) is cst.Assign:
            for target in current.targets:
                subscript = target.target
                if (
                    isinstance(subscript, cst.Subscript)
                    and isinstance(subscript.value, cst.Name)
                    and subscript.value.value == name
                    and len(subscript.slice) == 1
                    and isinstance(subscript.slice[0].slice, cst.Index)
                ):
                    key = string_value(subscript.slice[0].slice.value)
                    if key is not None:
                        found.append((key, current.value))
        elif (
            isinstance(current, cst.Call)
            and isinstance(current.func, cst.Attribute)
            and current.func.attr.value == "update"
            and isinstance(current.func.value, cst.Name)
            and current.func.value.value == name
        ):
            found.extend(_display_entries(cst.Call(func=cst.Name("dict"), args=current.args)) or [])
            if helpers is not None:
                helpers.extend(
                    a.value
                    for a in current.args
                    if isinstance(a.value, cst.Call) and _self_call(a.value) and a.keyword is None
                )
        stack.extend(iter_children(current))
    found.reverse()
    return found


def _template_names(node: cst.BaseExpression | None, scope: Scope) -> list[str]:
    if node is None:
        return []
    text = string_value(node)
    if text is not None:
        return [text]
    if isinstance(node, (cst.List, cst.Tuple)):
        return [t for t in (string_value(e.value) for e in node.elements) if t is not None]
    if isinstance(node, cst.Name):
        records = scope.records.get(node.value) or []
        values = [string_value(r.value) if r.value is not None else None for r in records]
        if len(values) == 1 and values[0] is not None:
            return [values[0]]
    return []


def _argument(
    call: cst.Call, position: int, keywords: tuple[str, ...]
) -> cst.BaseExpression | None:
    positional = [a for a in call.args if a.keyword is None and not a.star]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in keywords:
            return arg.value
        if arg.star:
            return None
    return positional[position].value if len(positional) > position else None


def check_render(analysis: Analysis, call: cst.Call, scope: Scope) -> None:
    """A function view's render call: bind its context and read its template."""
    func = call.func
    if not isinstance(func, cst.Name) or func.value not in RENDER_CALLS:
        return
    if not analysis.ctx.info.imports.get(func.value, "").startswith("django."):
        return
    templates = project_templates(analysis.ctx)
    if templates is None:
        return
    template_at, context_at = RENDER_CALLS[func.value]
    names = _template_names(_argument(call, template_at, ("template_name",)), scope)
    name = next((n for n in names if templates.find(n) is not None), None)
    if name is None:
        return
    function = analysis.functions[-1] if analysis.functions else None
    if function is not None:
        analysis.__dict__["_djguide_view"] = f"{analysis.file_index.module}.{function.name.value}"
    context = _argument(call, context_at, ("context", "dictionary"))
    env: Env = {}
    for key, value_node in _context_entries(context, scope, function):
        value, where = _context_value(analysis, value_node, scope)
        env[key] = _bind(value, where)
    _render_and_report(analysis, templates, name, env)


def check_view(analysis: Analysis, info: ClassInfo) -> None:
    """A ``ListView``/``DetailView`` subclass: bind its context and read its template; for
    a class defining ``get_queryset()``, also the views of the file that inherit it (see
    :func:`_check_heirs`)."""
    _check_view(analysis, info)
    if "get_queryset" in info.methods:
        _check_heirs(analysis, info)
    _check_consumers(analysis, info)


#: Per consumer module (its path, modification time and size, the index and templates it is
#: read with): what its views' templates read of the rows of each manager/QuerySet method
#: (see :func:`_consumer_reads`).
_CONSUMERS: dict[tuple[str, int, int, int, int], dict[str, list[tuple[str, str]]]] = {}
#: Modules read per manager/QuerySet method.
MAX_CONSUMERS = 8


def _check_consumers(analysis: Analysis, info: ClassInfo) -> None:
    """A project manager/QuerySet class whose methods other modules call on a model's
    manager and hand to a template (``self.queryset = Topic.objects.for_forum(pk)`` in a
    list view): each ``return`` of such a method is reported with what the templates read
    per row that its rows do not load, where the loading call goes. Only rows passed on
    as they are, or refined by calls loading nothing more (``filter()``, ``order_by()``),
    count: a caller adding ``select_related()`` makes the queryset its own."""
    if "_djguide_consumer" in analysis.ctx.__dict__:
        return  # reading a consumer module: no consumers of its own
    index = analysis.index
    module = analysis.file_index.module
    qualname = f"{module}.{info.name}"
    if not index.manager_callers or qualname not in index.queryset_models:
        return
    for name, method in info.methods.items():
        if not _makes_rows(analysis, qualname, name):
            continue
        callers = [m for m in index.manager_callers.get(name, ()) if m != module]
        found: list[tuple[str, str]] = []
        for caller in callers[:MAX_CONSUMERS]:
            found.extend(_consumer_reads(analysis, caller).get(f"{qualname}.{name}", ()))
        if not found:
            continue
        view, message = found[0]
        more = len({v for v, _ in found}) - 1
        also = f" (and {more} more view{'s' if more > 1 else ''})" if more > 0 else ""
        scope = _method_scope(analysis, info, method)
        for node in _returned_values(method):
            analysis.report(
                "DJG201",
                _origin(node, scope),
                f"the rows of `{name}()` are listed by `{view}`{also}: {message}",
            )


def _makes_rows(analysis: Analysis, owner: str, name: str) -> bool:
    """Whether the method ``name`` of the manager/QuerySet class ``owner`` returns model
    instances of a queryset the analysis can read (what it loads is known)."""
    from flake8_djguide.orm.summaries import summary_coverage

    for model_name in analysis.index.queryset_models.get(owner, ()):
        model = analysis.index.models.get(model_name)
        for manager in model.managers.values() if model is not None else ():
            method = manager.methods.get(name)
            if method is not None and method.owner == owner:
                found = summary_coverage(manager, method.returns, EMPTY)
                return found is not None and found[1] == "instances"
    return False


def _returned_values(method: cst.FunctionDef) -> list[cst.BaseExpression]:
    """The values of a method's ``return`` statements (not of nested functions)."""
    from flake8_djguide.walker import iter_children

    found: list[cst.BaseExpression] = []
    from flake8_djguide.orm.nodes import scope_types

    scopes = scope_types()
    stack: list[cst.CSTNode] = [method.body]
    while stack:
        current = stack.pop()
        if type(current) in scopes:
            continue
        if type(current) is cst.Return and current.value is not None:
            found.append(current.value)
            continue
        stack.extend(iter_children(current))
    return found


def _module_path(analysis: Analysis, module: str) -> Any:
    """The file of a project module (under the project root or a source root)."""
    root = analysis.ctx.project_root
    if root is None:
        return None
    parts = module.split(".")
    for base in ("", *analysis.ctx.settings.list("source-roots")):
        folder = root / base if base else root
        for candidate in (
            folder.joinpath(*parts).with_suffix(".py"),
            folder.joinpath(*parts, "__init__.py"),
        ):
            if candidate.is_file():
                return candidate
    return None


def _consumer_reads(analysis: Analysis, module: str) -> dict[str, list[tuple[str, str]]]:
    """What the views of ``module`` read in their templates of the rows made by each
    manager/QuerySet method (``made_by``): ``[(view, message), ...]``. The module is read
    and analysed as a checked file would be, its findings dropped; anything that fails
    gives nothing."""
    import ast

    from flake8_djguide.context import FileContext, ModuleInfo
    from flake8_djguide.engine import parse_module
    from flake8_djguide.index import project_index
    from flake8_djguide.orm.analysis import Analysis as Walk
    from flake8_djguide.parsing import parse_quietly

    path = _module_path(analysis, module)
    root = analysis.ctx.project_root
    if path is None or root is None:
        return {}
    found: dict[str, list[tuple[str, str]]] = {}
    try:
        stat = path.stat()
        # the module as the project's index and templates hold it now: kept while they are
        key = (
            str(path),
            stat.st_mtime_ns,
            stat.st_size,
            id(project_index(analysis.ctx.settings, root).index),
            id(project_templates(analysis.ctx)),
        )
        cached = _CONSUMERS.get(key)
        if cached is not None:
            return cached
        if len(_CONSUMERS) > 64:
            _CONSUMERS.clear()
        _CONSUMERS[key] = found
        data = path.read_bytes()
        tree = parse_quietly(data)
        if not isinstance(tree, ast.Module):
            return found
        lines = data.decode("utf-8").splitlines(keepends=True)
        called = {m for m, modules in analysis.index.manager_callers.items() if module in modules}
        text = _calling_statements(tree, lines, called)
        if text is None:
            return found
        info = ModuleInfo.from_tree(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                info.add_import(node)
        ctx = FileContext(str(path), analysis.ctx.settings, info, tree)
        ctx.__dict__["_djguide_consumer"] = found
        ctx.__dict__["_djguide_lines"] = lines
        Walk(ctx, parse_module(text, validate=False))
    except Exception:  # another module that cannot be read: nothing known
        found.clear()
    return found


def _calling_statements(tree: Any, lines: list[str], called: set[str]) -> str | None:
    """The text of a module's top-level classes and functions that call one of ``called``
    on a model's manager and name a template, a render call or a view (their own
    statements: the rest of the module is not walked), ``None`` when none does."""
    import ast

    kept: list[str] = []
    for node in tree.body:
        if not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        segment = "".join(lines[first - 1 : node.end_lineno or node.lineno])
        renders = any(word in segment for word in ("template", "render", "View"))
        if renders and any(f".{name}(" in segment for name in called):
            kept.append(segment if segment.endswith("\n") else segment + "\n")
    return "".join(kept) or None


def _check_heirs(analysis: Analysis, base: ClassInfo) -> None:
    """The list views of the file deriving from ``base`` (``class ContentsByGoalMixin``
    defines ``get_queryset()``; ``class MassEditGoals(ContentsByGoalMixin, ListView)``
    lists its rows): each is read here, where its rows are made, and reported only at
    ``base``'s own nodes (each top-level statement is parsed apart: the heir's own
    findings are its own statement's)."""
    import ast

    from flake8_djguide.orm.scope import ClassInfo
    from flake8_djguide.walker import iter_children

    tree = analysis.ctx.tree
    lines = analysis.ctx.__dict__.get("_djguide_lines")
    if not isinstance(tree, ast.Module) or not lines:
        return
    heirs = [
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and node.name != base.name
        and any(isinstance(b, ast.Name) and b.id == base.name for b in node.bases)
        and not any(
            isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "get_queryset"
            for s in node.body
        )
    ]
    if not heirs:
        return
    inside: set[int] = set()
    stack: list[cst.CSTNode] = [base.methods["get_queryset"]]
    while stack:
        current = stack.pop()
        inside.add(id(current))
        stack.extend(iter_children(current))
    from flake8_djguide.engine import parse_module

    found: dict[int, tuple[cst.CSTNode, list[str]]] = {}
    for node in heirs[:8]:
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        last = node.end_lineno or node.lineno
        try:
            module = parse_module("".join(lines[first - 1 : last]), validate=False)
        except Exception:  # a statement that does not parse alone: skipped
            continue
        if not module.body or not isinstance(module.body[0], cst.ClassDef):
            continue
        _check_view(analysis, ClassInfo(module.body[0], analysis), base, inside, found)
    for where, messages in found.values():
        # one finding per queryset: what each view's template reads of its rows
        analysis.report("DJG201", where, "; and ".join(dict.fromkeys(messages)))


def _check_view(
    analysis: Analysis,
    info: ClassInfo,
    base: ClassInfo | None = None,
    inside: set[int] | None = None,
    found: dict[int, tuple[cst.CSTNode, list[str]]] | None = None,
) -> None:
    templates = project_templates(analysis.ctx)
    if templates is None or _OPAQUE_VIEW_METHODS & set(info.methods):
        return
    analysis.__dict__["_djguide_view"] = f"{analysis.file_index.module}.{info.name}"
    bases = [b for b in info.bases if b]
    kind = known_kind(bases, analysis.ctx)
    if kind is None:
        module = analysis.file_index.module
        kind = generic_kind(analysis.index, module, bases, f"{module}.{info.name}")
    if not kind or (kind == "detail" and "get_object" in info.methods):
        return
    from flake8_djguide.orm.nodes import code_of
    from flake8_djguide.orm.scope import Scope
    from flake8_djguide.orm.values import ModelClass

    declared: Model | None = None
    if "model" in info.attrs:
        named = analysis.evaluate(
            info.attrs["model"], Scope(analysis, [], info, kind="class"), quiet=True
        )
        if isinstance(named, ModelClass) and named.model is not None:
            declared = named.model
    targets: list[tuple[cst.BaseExpression, Any]] = []
    method = info.methods.get("get_queryset")
    if method is None and base is not None and base.name in _base_names(analysis, info):
        method = base.methods.get("get_queryset")
    if method is not None:
        targets = [
            (_origin(node, _method_scope(analysis, info, method)), value)
            for node, value in analysis.returns_of(method, info)
        ]
    elif "queryset" in info.attrs:
        targets = [(info.attrs["queryset"], analysis.class_attr_queryset(info))]
    elif declared is not None:
        node = info.attrs["model"]
        targets = [(node, analysis._as_queryset(ModelClass(declared, declared.name), ""))]
    attrs = _template_attrs(analysis, info)
    if attrs is None:
        return
    explicit = attrs.get("template_name")
    object_name = attrs.get("context_object_name")
    suffix = attrs.get("template_name_suffix", f"_{kind}")
    extra = _context_data(analysis, info)
    rendered = False
    for node, value in targets:
        if value is None:
            value = user_rows(analysis, node, Scope(analysis, [], info, kind="class"))
        bound = _bind(value, node)
        if bound is None:
            continue
        if "model" in info.attrs and node is info.attrs["model"]:
            bound.source.model_attr = code_of(node)
        model = bound.model
        name = explicit or f"{model.app_label}/{model.name.lower()}{suffix}.html"
        env: Env = dict(extra)
        if kind == "list":
            if bound.kind != "rows":
                continue
            names = ["object_list", "page_obj", f"{model.name.lower()}_list"]
        else:
            bound = _Bound(bound.source, model, "one")
            names = ["object", model.name.lower()]
        if object_name:
            names.append(object_name)
        for key in names:
            env.setdefault(key, bound)
        _render_and_report(analysis, templates, name, env, inside, found)
        rendered = True
    if base is not None:
        return
    if not rendered and (explicit or declared is not None):
        # rows the analysis cannot follow: what get_context_data() adds is still read
        if explicit is None and declared is not None:
            explicit = f"{declared.app_label}/{declared.name.lower()}{suffix}.html"
        if explicit is not None:
            _render_and_report(analysis, templates, explicit, dict(extra))


def _base_names(analysis: Analysis, info: ClassInfo) -> list[str]:
    """The class names of the checked file that ``info``'s bases resolve to, nearest
    first, up to the first base defining ``get_queryset()``."""
    module = analysis.file_index.module
    owner = analysis._defined_by_base(info, "get_queryset")
    if owner is None:
        return []
    found_module, _, name = owner.rpartition(".")
    return [name] if found_module == module else []


def _method_scope(analysis: Analysis, info: ClassInfo, method: cst.FunctionDef) -> Scope:
    from flake8_djguide.orm.scope import Scope

    params = method.params
    names = [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
    scope = Scope(analysis, [method.body], info, names)
    if names:
        scope.self_name = names[0]  # type: ignore[attr-defined]
    return scope


def _origin(node: cst.BaseExpression, scope: Scope) -> cst.BaseExpression:
    """Where the rows a method returns were made, to report there: through calls keeping
    what they load (``base.filter(...)``), a local name or a ``self.<attribute>`` the method
    assigns once (``self.base_queryset = Model.objects.exclude(...)``), and Django's
    ``super().get_queryset()`` after ``self.queryset = ...``."""
    current = node
    for _ in range(8):
        inner = _kept_base(current)
        key: str | None = None
        if isinstance(inner, cst.Name):
            key = inner.value
        elif isinstance(inner, cst.Attribute) and isinstance(inner.value, cst.Name):
            key = f"{inner.value.value}.{inner.attr.value}"
        elif (
            isinstance(inner, cst.Call)
            and not inner.args
            and isinstance(inner.func, cst.Attribute)
            and inner.func.attr.value == "get_queryset"
            and isinstance(inner.func.value, cst.Call)
            and dotted_name(inner.func.value.func) == "super"
        ):
            key = f"{getattr(scope, 'self_name', None)}.queryset"
        records = scope.records.get(key) if key is not None else None
        if records and key is not None and isinstance(inner, cst.Name):
            # ``rows = rows.filter(...)`` refines ``rows``: the rows were made before
            records = [r for r in records if not _refines(r.value, key)]
        if not records or len(records) != 1 or records[0].value is None:
            return current
        current = records[0].value
    return current


def _kept_base(node: cst.BaseExpression) -> cst.BaseExpression:
    """``node`` without its outer calls that keep what the rows load (``base.filter(...)``:
    ``base``)."""
    from flake8_djguide.index.querysets import KEEP_METHODS

    current = node
    while (
        isinstance(current, cst.Call)
        and isinstance(current.func, cst.Attribute)
        and current.func.attr.value in KEEP_METHODS
    ):
        current = current.func.value
    return current


def _refines(node: cst.BaseExpression | None, name: str) -> bool:
    current = _kept_base(node) if node is not None else None
    return current is not node and isinstance(current, cst.Name) and current.value == name


def _template_attrs(analysis: Analysis, info: ClassInfo) -> dict[str, str] | None:
    """The view's ``template_name``, ``template_name_suffix`` and ``context_object_name``:
    its own, else the nearest project base's that sets it (``class JobModerateList(JobReview)``
    renders ``JobReview.template_name``). ``None`` when one of them is not a string literal
    or a project base computes them (``get_template_names()``): the template the view
    renders is then unknown."""
    from flake8_djguide.index.extract import TEMPLATE_ATTRS

    found: dict[str, str] = {}
    for name in TEMPLATE_ATTRS:
        node = info.attrs.get(name)
        if node is not None:
            text = string_value(node)
            if text is None:
                return None
            found[name] = text
    for qualname in analysis.lineage(info):
        facts = analysis._view_facts(qualname).get("template") or {}
        if facts.get("computed"):
            return None
        for name in TEMPLATE_ATTRS:
            if name in facts and name not in found:
                if facts[name] is None:
                    return None
                found[name] = facts[name]
    return found


def _self_call(node: cst.BaseExpression | None) -> bool:
    """``self.<method>(...)``."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and isinstance(node.func.value, cst.Name)
        and node.func.value.value == "self"
    )


def _context_data(analysis: Analysis, info: ClassInfo) -> Env:
    """What ``get_context_data()`` adds (see :func:`_method_context`)."""
    method = info.methods.get("get_context_data")
    if method is None:
        return {}
    saved = analysis.frames
    analysis.frames = []
    try:
        return _method_context(analysis, info, method, 0)
    finally:
        analysis.frames = saved


def _method_context(
    analysis: Analysis, info: ClassInfo, method: cst.FunctionDef, depth: int
) -> Env:
    """The context entries a method returns: a dict display, or a variable (``context =
    super().get_context_data(**kwargs)``) filled by ``context["k"] = value`` and
    ``context.update(...)``, also with what another method of the class returns
    (``context.update(self._day_context())``); ``**kwargs`` filled before
    ``return super().get_context_data(**kwargs)``."""
    from flake8_djguide.orm.scope import Scope

    params = method.params
    names = [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
    if params.star_kwarg is not None and isinstance(params.star_kwarg, cst.Param):
        names.append(params.star_kwarg.name.value)
    scope = Scope(analysis, [method.body], info, names)
    if names:
        scope.self_name = names[0]  # type: ignore[attr-defined]
    entries: list[tuple[str, cst.BaseExpression]] = []
    helpers: list[cst.Call] = []
    returned = _returned_values(method)
    for value in returned:
        display = _display_entries(value)
        if display is not None:
            entries.extend(display)
        elif isinstance(value, cst.Name):
            for record in scope.records.get(value.value) or []:
                entries.extend(_display_entries(record.value) or [])
                if record.value is not None and _self_call(record.value):
                    helpers.append(record.value)  # type: ignore[arg-type]
            entries.extend(_filled_entries(method.body, value.value, helpers))
        elif isinstance(value, cst.Call):
            if _self_call(value):
                helpers.append(value)
            for arg in value.args:
                if arg.star == "**" and isinstance(arg.value, cst.Name):
                    entries.extend(_filled_entries(method.body, arg.value.value, helpers))
    env: Env = {}
    for call in helpers:
        assert isinstance(call.func, cst.Attribute)
        helper = info.methods.get(call.func.attr.value)
        if helper is not None and helper is not method and depth < 3:
            env.update(_method_context(analysis, info, helper, depth + 1))
    held = {v.value for v in returned if isinstance(v, cst.Name)}
    for key, value_node in entries:
        if _same_entry(value_node, key, held):
            continue  # ``context["topics"] = list(context["topics"].all())``: the same rows
        value, where = _context_value(analysis, value_node, scope)
        env[key] = _bind(value, where)
    return env


def _same_entry(node: cst.BaseExpression, key: str, held: set[str]) -> bool:
    """``context[key]`` itself, ``.all()`` of it or ``list()`` of these, ``context`` being
    the context the method returns: the rows the entry held already."""
    if isinstance(node, cst.Call) and dotted_name(node.func) == "list" and len(node.args) == 1:
        node = node.args[0].value
    if (
        isinstance(node, cst.Call)
        and not node.args
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "all"
    ):
        node = node.func.value
    return (
        isinstance(node, cst.Subscript)
        and isinstance(node.value, cst.Name)
        and node.value.value in held
        and len(node.slice) == 1
        and isinstance(node.slice[0].slice, cst.Index)
        and string_value(node.slice[0].slice.value) == key
    )


def _render_and_report(
    analysis: Analysis,
    templates: Templates,
    name: str,
    env: Env,
    inside: set[int] | None = None,
    found: dict[int, tuple[cst.CSTNode, list[str]]] | None = None,
) -> None:
    """Render ``name`` with ``env`` and report each context value's reads at its queryset;
    with ``inside``, only querysets of those nodes, their messages kept in ``found``."""
    if not any(v is not None for v in env.values()):
        return
    renderer = _Renderer(analysis, templates)
    if not renderer.render(name, env):
        return
    seen: set[int] = set()
    for bound in env.values():
        if bound is None or id(bound.source) in seen:
            continue
        if inside is not None and id(bound.source.node) not in inside:
            continue  # a node of another statement: reported with it, if at all
        consumer = analysis.ctx.__dict__.get("_djguide_consumer")
        if consumer is not None:
            if bound.source.qs.made_by:
                message = _message(bound.source, bound.model)
                if message is not None:
                    view = analysis.__dict__.get("_djguide_view") or "a view"
                    consumer.setdefault(bound.source.qs.made_by, []).append((view, message))
            continue
        seen.add(id(bound.source))
        message = _message(bound.source, bound.model)
        if message is not None and found is not None:
            found.setdefault(id(bound.source.node), (bound.source.node, []))[1].append(message)
        elif message is not None:
            analysis.report("DJG201", bound.source.node, message)


def _lookup(path: Path) -> str:
    return "__".join(path)


def _nested_counts(source: _Source) -> dict[Path, tuple[str, str, str]]:
    """Related managers only counted on the rows of a to-many relation of each row
    (``{% for e in product.engagement_set.all %}{{ e.test_set.count }}``): one
    ``Prefetch("engagement_set", queryset=Engagement.objects.annotate(...))`` counts them
    with the prefetch of those rows. ``{path: (model of the rows, lookup, read)}``, only
    where nothing else is read through that relation (a ``Prefetch`` and a string lookup
    through the same relation must be ordered, which a one-line remedy cannot say)."""
    found: dict[Path, tuple[str, str, str]] = {}
    for path, need in source.needs.items():
        if not (
            need.kind == "many"
            and len(path) == 2
            and len(need.relations) == 2
            and need.relations[0].many
            and need.relations[0].target
            and need.uses
            and need.uses <= COUNTED
            and need.reads
        ):
            continue
        if any(o[:1] == path[:1] and len(o) > 1 and o != path for o in source.needs):
            continue
        text = need.reads[0][2]
        end = text.rfind(f".{path[1]}.")
        read = text[: end + len(path[1]) + 1] if end >= 0 else path[1]
        model_name = need.relations[0].target.rsplit(".", 1)[-1]
        found[path] = (model_name, need.relations[1].query_name, read)
    return found


def _message(source: _Source, model: Model) -> str | None:
    if not source.needs:
        return None
    select: list[Path] = []
    prefetch: list[Path] = []
    deferred: list[str] = []
    requery: list[str] = []
    reads: list[tuple[str, int, str]] = []
    counted: list[tuple[str, str]] = []
    nested = _nested_counts(source)
    for path, need in source.needs.items():
        for read in need.reads:
            if read not in reads:
                reads.append(read)
        if path in nested or (len(path) == 1 and path in {p[:1] for p in nested}):
            continue  # counted in the prefetch of the rows holding it (below)
        if need.kind == "many" and len(path) == 1 and need.uses and need.uses <= COUNTED:
            # only counted: one annotate(Count()) serves it (a prefetch loads every row)
            text = need.reads[0][2]
            end = text.rfind(f".{path[0]}.")
            counted_read = text[: end + len(path[0]) + 1] if end >= 0 else path[0]
            counted.append(
                (need.relations[-1].query_name if need.relations else path[0], counted_read)
            )
        elif need.kind == "defer":
            deferred.append(path[0])
        elif need.kind == "requery":
            requery.append(need.reads[0][2])
        elif need.kind == "one" and all(r.select_ok for r in need.relations):
            select.append(path)
        else:
            prefetch.append(path)
    select = [p for p in select if not any(o != p and o[: len(p)] == p for o in select)]
    prefetch = [p for p in prefetch if not any(o != p and o[: len(p)] == p for o in prefetch)]
    # a select_related path under a prefetched one is loaded by extending the prefetch
    select = [p for p in select if not any(p[: len(o)] == o for o in prefetch)]
    reads.sort(key=lambda r: (r[0], r[1]))
    by_template: dict[str, list[str]] = {}
    for template, line, text in reads[:6]:
        by_template.setdefault(template, []).append(f"`{text}` (line {line})")
    where = "; ".join(
        f"template `{template}` reads {', '.join(shown)}" for template, shown in by_template.items()
    )
    if len(reads) > 6:
        where += f" (and {len(reads) - 6} more)"
    remedies = []
    calls = []
    if select:
        calls.append("select_related(" + ", ".join(f'"{_lookup(p)}"' for p in select) + ")")
    if prefetch:
        calls.append("prefetch_related(" + ", ".join(f'"{_lookup(p)}"' for p in prefetch) + ")")
    if calls and source.model_attr is not None:
        remedies.append(f"set `queryset = {source.model_attr}.objects." + ".".join(calls) + "`")
    elif calls:
        remedies.append("add `." + ".".join(calls) + "` to it")
    if deferred:
        names = ", ".join(f'"{n}"' for n in sorted(set(deferred)))
        remedies.append(f"add {names} to its `only(...)` (or drop it from `defer(...)`)")
    for lookup, text in counted:
        remedies.append(count_remedy(lookup, text, "it" if not remedies else "the queryset"))
    for path, (model_name, lookup, text) in nested.items():
        field_name = f"{lookup}_count"
        prefetch_call = (
            f'Prefetch("{path[0]}", queryset={model_name}.objects.annotate('
            f'{field_name}=Count("{lookup}")))'
        )
        head, _, _ = text.rpartition(".")
        shown = f"{head}.{field_name}" if head else field_name
        if (path[0],) in source.needs:
            remedies.append(
                f"add `.prefetch_related({prefetch_call})` to "
                f"{'it' if not remedies else 'the queryset'} and read `{shown}`"
            )
        else:
            remedies.append(
                f'replace its `"{path[0]}"` prefetch with `{prefetch_call}` and read '
                f"`{shown}` (a prefetch would load every related row to count them)"
            )
    if requery:
        queried = list(dict.fromkeys(requery))
        remedies.append(
            f"{', '.join(f'`{text}`' for text in queried)} "
            f"{'queries' if len(queried) == 1 else 'query'} per row even when prefetched: "
            "`annotate()` the value or use `Prefetch(..., to_attr=...)`"
        )
    # ``row.author.pk`` loads the author for its key, which the row holds already
    keys = [
        text
        for need in source.needs.values()
        if need.kind == "one" and len(need.relations) == 1 and need.relations[0].forward_single
        for _, _, text in need.reads
        if text.count(".") == 2 and text.rsplit(".", 1)[1] in _FREE
    ]
    remedy = "; ".join(remedies)
    if keys:
        row, relation, _ = keys[0].split(".")
        remedy += f" (`{row}.{relation}_id` reads the key of `{keys[0]}` without a query)"
    return (
        f"{where}: a query per row, as this `{model.name}` queryset does not load "
        f"{'them' if len(source.needs) > 1 else 'it'}; {remedy}"
    )


class TemplateViews(AnalysisBase):
    """Views bound to their templates (DJG201): the part of the analysis that reads a
    render call's or a template view's context (see the module docstring)."""

    def _check_render(self, call: cst.Call, scope: Scope) -> None:
        check_render(cast("Analysis", self), call, scope)

    def _check_template_view(self, info: ClassInfo) -> None:
        check_view(cast("Analysis", self), info)
