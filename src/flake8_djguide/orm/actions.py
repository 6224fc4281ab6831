"""The request a view method answers: which branches of ``get_queryset()`` and
``get_serializer_class()`` run for an action (``if self.action == "list"``, ``if
self.request.method in SAFE_METHODS``, ``self.detail``), read by :func:`request_truth` and
applied by :func:`prune`; and small readers of view methods (:func:`returns_super`,
:func:`returned`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from flake8_djguide.helpers import dotted_name
from flake8_djguide.orm.nodes import _children, scope_types

if TYPE_CHECKING:
    import libcst as cst
else:
    from flake8_djguide._lazy import cst


#: What the request looks like while each generic action runs.
ACTION_METHODS = {
    "list": "GET",
    "retrieve": "GET",
    "create": "POST",
    "update": "PUT",
    "partial_update": "PATCH",
    "destroy": "DELETE",
}
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
#: Methods of an ``APIView`` named after the HTTP method they serve.
HTTP_HANDLERS = {"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE"}

Truth = Callable[["cst.BaseExpression"], "bool | None"]


def string_value(node: cst.BaseExpression) -> str | None:
    """The text of a plain string literal (``None`` for anything else)."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _strings(node: cst.BaseExpression) -> list[str] | None:
    """The strings of a literal tuple, list or set of strings (``None`` otherwise)."""
    if isinstance(node, cst.Name) and node.value == "SAFE_METHODS":
        return list(_SAFE_METHODS)
    if not isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return None
    found: list[str] = []
    for element in node.elements:
        text = string_value(element.value)
        if text is None:
            return None
        found.append(text)
    return found


def request_truth(
    action: str | None, method: str | None, self_name: str, aliases: set[str]
) -> Truth:
    """Whether a test holds while ``action`` (a viewset action) answers ``method``: ``True``,
    ``False``, or ``None`` when it cannot be told. Reads ``self.action`` (also through
    ``getattr(self, "action", None)`` and a local name assigned one of them: ``aliases``),
    ``self.request.method`` / ``request.method``, and ``self.detail``."""

    def subject(node: cst.BaseExpression) -> str | None:
        text = dotted_name(node)
        if text in (f"{self_name}.action", *aliases):
            return "action"
        if text in (f"{self_name}.request.method", "request.method"):
            return "method"
        if (
            isinstance(node, cst.Call)
            and dotted_name(node.func) == "getattr"
            and len(node.args) >= 2
            and dotted_name(node.args[0].value) == self_name
            and string_value(node.args[1].value) == "action"
        ):
            return "action"
        return None

    def truth(node: cst.BaseExpression) -> bool | None:
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
            inner = truth(node.expression)
            return None if inner is None else not inner
        if isinstance(node, cst.BooleanOperation):
            left, right = truth(node.left), truth(node.right)
            if isinstance(node.operator, cst.And):
                if left is False or right is False:
                    return False
                return True if left and right else None
            if left or right:
                return True
            return False if left is False and right is False else None
        if dotted_name(node) == f"{self_name}.detail" and action in ACTION_METHODS:
            return action in ("retrieve", "update", "partial_update", "destroy")
        if not isinstance(node, cst.Comparison) or len(node.comparisons) != 1:
            return None
        target = node.comparisons[0]
        subject_node, other = node.left, target.comparator
        kind = subject(subject_node)
        if kind is None and isinstance(target.operator, (cst.Equal, cst.NotEqual)):
            other = node.left
            kind = subject(target.comparator)
        current = action if kind == "action" else method if kind == "method" else None
        if current is None:
            return None
        if isinstance(target.operator, (cst.Equal, cst.NotEqual)):
            text = string_value(other)
            if text is None:
                return None
            equal = text == current if kind == "action" else text.upper() == current
            return equal if isinstance(target.operator, cst.Equal) else not equal
        if isinstance(target.operator, (cst.In, cst.NotIn)):
            texts = _strings(other)
            if texts is None:
                return None
            if kind == "method":
                texts = [t.upper() for t in texts]
            inside = current in texts
            return inside if isinstance(target.operator, cst.In) else not inside
        return None

    return truth


def _exits(statements: Sequence[cst.BaseStatement]) -> bool:
    last = statements[-1] if statements else None
    return isinstance(last, cst.SimpleStatementLine) and any(
        isinstance(small, (cst.Return, cst.Raise)) for small in last.body
    )


def _suite(block: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(block, cst.IndentedBlock):
        return list(block.body)
    assert isinstance(block, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=block.body)]


def prune(statements: Sequence[cst.BaseStatement], truth: Truth) -> list[cst.BaseStatement]:
    """``statements`` with every ``if`` whose test ``truth`` decides replaced by the branch
    that runs (and what follows a branch that returns left out)."""
    found: list[cst.BaseStatement] = []
    for statement in statements:
        if isinstance(statement, cst.If):
            decided = truth(statement.test)
            if decided is None:
                found.append(_prune_if(statement, truth))
                continue
            branch: list[cst.BaseStatement] = []
            if decided:
                branch = _suite(statement.body)
            elif isinstance(statement.orelse, cst.Else):
                branch = _suite(statement.orelse.body)
            elif isinstance(statement.orelse, cst.If):
                branch = [statement.orelse]
            chosen = prune(branch, truth)
            found.extend(chosen)
            if _exits(chosen):
                break
            continue
        found.append(statement)
        if _exits([statement]):
            break
    return found


def _prune_if(statement: cst.If, truth: Truth) -> cst.If:
    body = statement.body
    if isinstance(body, cst.IndentedBlock):
        body = body.with_changes(
            body=prune(body.body, truth) or [cst.SimpleStatementLine([cst.Pass()])]
        )
    orelse = statement.orelse
    if isinstance(orelse, cst.If):
        orelse = _prune_if(orelse, truth)
    elif isinstance(orelse, cst.Else) and isinstance(orelse.body, cst.IndentedBlock):
        pruned = prune(orelse.body.body, truth) or [cst.SimpleStatementLine([cst.Pass()])]
        orelse = orelse.with_changes(body=orelse.body.with_changes(body=pruned))
    return statement.with_changes(body=body, orelse=orelse)


def action_aliases(method: cst.FunctionDef, self_name: str) -> set[str]:
    """Local names assigned ``self.action`` or ``getattr(self, "action", ...)``."""
    found: set[str] = set()
    body = method.body.body if isinstance(method.body, cst.IndentedBlock) else ()
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.Assign) or len(small.targets) != 1:
                continue
            target = small.targets[0].target
            value = small.value
            if not isinstance(target, cst.Name):
                continue
            if dotted_name(value) == f"{self_name}.action" or (
                isinstance(value, cst.Call)
                and dotted_name(value.func) == "getattr"
                and len(value.args) >= 2
                and string_value(value.args[1].value) == "action"
            ):
                found.add(target.value)
    return found


def self_name_of(method: cst.FunctionDef) -> str:
    """The name of a method's first parameter (``self``)."""
    params = method.params.params
    return params[0].name.value if params else "self"


def returns_super(method: cst.FunctionDef) -> bool:
    """Whether a method returns ``super().<its name>(...)`` on some path (a ``list()`` that
    documents the endpoint, or answers a ``?count`` parameter itself and otherwise renders
    DRF's list)."""
    name = method.name.value
    return any(
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value == name
        and isinstance(value.func.value, cst.Call)
        and dotted_name(value.func.value.func) == "super"
        for value in returned(method.body)
    )


def returned(statement: cst.CSTNode) -> list[cst.BaseExpression | None]:
    """The values returned in a statement (not in nested functions or classes)."""
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return []
    if isinstance(statement, cst.Return):
        return [statement.value]
    found: list[cst.BaseExpression | None] = []
    for child in _children(statement):
        found.extend(returned(child))
    return found


def _chain_root(node: cst.BaseExpression) -> cst.BaseExpression:
    while True:
        if isinstance(node, cst.Call):
            if isinstance(node.func, cst.Attribute):
                node = node.func.value
                continue
            return node
        if isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
            continue
        return node


def _local_sources(method: cst.FunctionDef) -> dict[str, list[cst.BaseExpression]]:
    """The values assigned to each plain local name of ``method`` (``name = value``)."""
    assigned: dict[str, list[cst.BaseExpression]] = {}
    scopes = scope_types()
    stack: list[cst.CSTNode] = [method.body]
    while stack:
        current = stack.pop()
        if type(current) in scopes:
            continue
        if type(current) is cst.Assign and len(current.targets) == 1:
            target = current.targets[0].target
            if type(target) is cst.Name:
                assigned.setdefault(target.value, []).append(current.value)
        stack.extend(_children(current))
    return assigned


def origin_of(method: cst.FunctionDef, node: cst.BaseExpression) -> cst.BaseExpression:
    """The expression that makes the rows ``node`` returns: through local names assigned
    once from another expression (``qs = Model.objects.select_related(...)`` ... ``qs =
    qs.annotate(...)`` ... ``return qs``: the first assignment, where the loading calls
    are); ``node`` itself when it is not such a name."""
    assigned = _local_sources(method)
    for _ in range(8):
        if not isinstance(node, cst.Name):
            return node
        sources = [v for v in assigned.get(node.value, []) if not _rooted_at(v, node.value)]
        if len(sources) != 1:
            return node
        node = sources[0]
    return node


def starts_from_attribute(method: cst.FunctionDef, node: cst.BaseExpression) -> bool:
    """Whether the rows a ``get_queryset()`` returns (``node``) start from the class's
    ``queryset =``: ``super().get_queryset()`` or ``self.queryset``, also through local
    names assigned once from another expression (``qs = super().get_queryset()`` ...
    ``qs = qs.filter(...)`` ... ``return qs``)."""
    self_name = self_name_of(method)
    assigned = _local_sources(method)
    for _ in range(8):
        root = _chain_root(node)
        if isinstance(root, cst.Name) and root.value == self_name:
            return _first_method(node) == "queryset"
        if isinstance(root, cst.Name):
            sources = [v for v in assigned.get(root.value, []) if not _rooted_at(v, root.value)]
            if len(sources) != 1:
                return False
            node = sources[0]
            continue
        if isinstance(root, cst.Call):
            # ``super().get_queryset()``: the root call is ``super()``
            return dotted_name(root.func) == "super" and _first_method(node) == "get_queryset"
        return False
    return False


def _rooted_at(node: cst.BaseExpression, name: str) -> bool:
    root = _chain_root(node)
    return isinstance(root, cst.Name) and root.value == name


def _first_method(node: cst.BaseExpression) -> str | None:
    """The first attribute read on a chain's root (``super().get_queryset().filter()`` ->
    ``get_queryset``)."""
    first: str | None = None
    while True:
        if isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, cst.Subscript):
            node = node.value
        elif isinstance(node, cst.Attribute):
            first = node.attr.value
            node = node.value
        else:
            return first
