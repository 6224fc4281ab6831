"""A read-only walk over a libcst tree that dispatches to every active rule.

libcst's own visitors rebuild every node on the way back up, which costs about
as much as parsing. The engine only reads the tree, so it walks the dataclass
fields that hold child nodes, in source order, and calls each rule's
``visit_<Node>`` / ``leave_<Node>`` method through a table keyed by node type.
Whitespace, comma, parenthesis and other token fields are never entered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import libcst as cst

Callback = Callable[[Any], object]

# Fields that never hold a node a rule cares about.
_SKIP_FIELDS = frozenset(
    {
        "leading_lines",
        "lines_after_decorators",
        "trailing_whitespace",
        "leading_whitespace",
        "lpar",
        "rpar",
        "comma",
        "semicolon",
        "equal",
        "dot",
        "colon",
        "first_colon",
        "second_colon",
        "lbrace",
        "rbrace",
        "lbracket",
        "rbracket",
        "asynchronous",
        "star",
        "operator",
        "header",
        "footer",
        "indent",
        "posonly_ind",
        "relative",
        "conversion",
        "start",
        "end",
        "default_indent",
        "default_newline",
        "encoding",
        "has_trailing_newline",
        "value_quote",
        "walrus",
        "arrow",
    }
)

# Node types whose dataclass field order is not their source order.
_SOURCE_ORDER: dict[str, tuple[str, ...]] = {
    "Arg": ("keyword", "value"),
    "ClassDef": ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    "FunctionDef": ("decorators", "name", "type_parameters", "params", "returns", "body"),
    "ExceptHandler": ("type", "name", "body"),
    "ExceptStarHandler": ("type", "name", "body"),
    "Parameters": ("posonly_params", "params", "star_arg", "kwonly_params", "star_kwarg"),
    "TypeAlias": ("name", "type_parameters", "value"),
    "MatchCase": ("pattern", "guard", "body"),
}

_FIELDS: dict[type, tuple[str, ...]] = {}


def child_fields(node_type: type) -> tuple[str, ...]:
    """The fields of ``node_type`` that may hold child nodes, in source order."""
    names = _FIELDS.get(node_type)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if f.name not in _SKIP_FIELDS and not f.name.startswith("whitespace")
        )
        order = _SOURCE_ORDER.get(node_type.__name__)
        if order is not None:
            names = tuple(n for n in order if n in names) + tuple(
                n for n in names if n not in order
            )
        _FIELDS[node_type] = names
    return names


class _NodeTypes(dict[type, bool]):
    """``{type: whether it is a libcst node class}``, filled in on first look-up.

    ``isinstance(x, cst.CSTNode)`` goes through ``ABCMeta.__instancecheck__`` (a
    Python call) for every node whose class is not ``CSTNode`` itself, that is,
    for every node; a dict look-up by type is several times cheaper on the
    walks' hottest line.
    """

    def __missing__(self, value_type: type) -> bool:
        known = self[value_type] = issubclass(value_type, cst.CSTNode)
        return known


NODE_TYPES = _NodeTypes()


def iter_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The child nodes the walk enters, in source order."""
    children: list[cst.CSTNode] = []
    node_types = NODE_TYPES
    names = _FIELDS.get(type(node))
    if names is None:
        names = child_fields(type(node))
    for name in names:
        value = getattr(node, name)
        value_type = type(value)
        if value_type is list or value_type is tuple:
            children.extend(item for item in value if node_types[type(item)])
        elif value is not None and value_type is not str and node_types[value_type]:
            children.append(value)
    return children


OnError = Callable[[Callback, BaseException], None]


def walk(
    root: cst.CSTNode,
    visit: dict[type, list[Callback]],
    leave: dict[type, list[Callback]],
    on_error: OnError,
) -> None:
    """Walk ``root`` depth-first, calling the callbacks registered for each node type.

    An exception raised by a callback is passed to ``on_error`` (which may
    remove the failing rule's callbacks); the walk goes on.
    """
    fields = _FIELDS
    node_types = NODE_TYPES

    def _walk(node: cst.CSTNode) -> None:
        node_type = type(node)
        callbacks = visit.get(node_type)
        if callbacks is not None:
            for callback in callbacks:
                try:
                    callback(node)
                except Exception as error:
                    on_error(callback, error)
        names = fields.get(node_type)
        if names is None:
            names = child_fields(node_type)
        for name in names:
            value = getattr(node, name)
            if value is None or type(value) is str:
                continue
            value_type = type(value)
            if value_type is list or value_type is tuple:
                for child in value:
                    if node_types[type(child)]:
                        _walk(child)
            elif node_types[value_type]:
                _walk(value)
        callbacks = leave.get(node_type)
        if callbacks is not None:
            for callback in callbacks:
                try:
                    callback(node)
                except Exception as error:
                    on_error(callback, error)

    _walk(root)
