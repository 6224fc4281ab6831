"""The raw SQL analysis (:class:`SqlChecks`, DJG204 and DJG206): SQL sinks
(``cursor.execute``, ``raw``, ``extra``, ``RawSQL``), whether the SQL they get is
built by formatting, and whether what is formatted in is safe (constants,
placeholders, quoted identifiers, the database's own catalog).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from flake8_djguide.helpers import dotted_name, string_value
from flake8_djguide.orm.base import AnalysisBase
from flake8_djguide.orm.nodes import _children, _last, _rebinds, code_of
from flake8_djguide.orm.values import MANAGER_ATTRS, QS

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.orm.scope import Scope
else:
    from flake8_djguide._lazy import cst


_SAFE_CALLS = frozenset({"qn", "qn2", "int", "len", "float", "quote_name_unless_alias"})
_EXTRA_SQL_ARGUMENTS = frozenset({"select", "where", "tables", "order_by"})
# The patterns are strings, compiled by ``re``'s own cache on first use: a run on files
# without raw SQL never compiles them (2 ms). All but ``_QUOTING_CALL`` and ``_UPPER`` are
# matched with ``re.IGNORECASE``.
# identifier quoting: Django's quote_name, sqlite/psycopg-style quote_ident(ifier)
#: Literal SQL reading the database's own catalog (table, index and constraint names).
_CATALOG = (
    r"\b(?:information_schema|pg_catalog|pg_indexes|pg_tables|pg_class|pg_index|"
    r"pg_constraint|pg_attribute|pg_namespace|pg_views|pg_sequences|pg_trigger|"
    r"sqlite_master|sqlite_schema)\b|^\s*(?:SHOW\s+(?:FULL\s+)?(?:TABLES|INDEX|INDEXES|KEYS|"
    r"COLUMNS)|PRAGMA\s+(?:index_list|table_info|foreign_key_list))\b"
)
_QUOTING_CALL = r"quote_(?:name|ident|identifier)"
# a DB-API connection's name: conn, connection, db_conn, pg_connection, cnx
_CONNECTION_NAME = r"(?:^|_)(?:conn|connection|cnx)$"
# the SQL right before an identifier: FROM/JOIN/INTO/UPDATE/TABLE/... (optionally quoted),
# a ``schema.`` qualifier, or ORDER/GROUP BY
_BEFORE_IDENTIFIER = (
    r"(?:\b(?:from|join|into|update|table|exists|view|index|schema|sequence|by|database|"
    r"collation|extension|constraint|column|role|user|trigger|function|pragma)\s+[\"`\[]?"
    r"|[\"`]|\.)$"
)
_IDENTIFIER_WORDS = (
    r"(?:^|_)(?:table|tables|column|columns|col|field|schema|identifier|ident|db_table|"
    r"relname|tablename|table_name|column_name|field_name)(?:$|_)"
)
_VALUE_BEFORE = (
    r"(?:[=<>]|\b(?:like|in|values|limit|offset|between|and|or|not|is)\b)\s*\(?\s*['\"]?%?$"
)
_I = re.IGNORECASE


def _template_root(node: cst.BaseExpression) -> str | None:
    """The variable a reformatting starts from (``sql`` in ``sql.format(...)``, ``sql % x``)."""
    while True:
        if isinstance(node, cst.Name):
            return node.value
        if isinstance(node, cst.BinaryOperation):
            node = node.left
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        else:
            return None


def _interpolates_identifier(node: cst.CSTNode) -> str:
    """Whether the unsafe formatting ``node`` puts an identifier (a table, column or
    schema name) into the SQL rather than a value: read from the SQL text right before
    each interpolation (``FROM {table}``, ``ORDER BY {column}``, ``"{name}"``) or from
    the interpolated name (``table_name``, ``column``), never when the text before it
    compares or lists values (``= {x}``, ``LIKE``, ``IN (``, ``VALUES (``)."""
    pieces: list[tuple[str, str]] = []  # (text before, interpolated expression's name)
    if isinstance(node, cst.FormattedString):
        text = ""
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                text += part.value
            elif isinstance(part, cst.FormattedStringExpression):
                pieces.append((text, _last(part.expression)))
                text = ""
    elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
        template = string_value(node.left) or ""
        right = node.right
        names = (
            [_last(e.value) for e in right.elements]
            if isinstance(right, cst.Tuple)
            else [_last(right)]
        )
        keyed = {
            string_value(e.key) or "": _last(e.value)
            for e in (right.elements if isinstance(right, cst.Dict) else ())
            if isinstance(e, cst.DictElement)
        }
        chunks = re.split(r"%(?:\(([^)]*)\))?[sd]", template)
        for index in range(0, len(chunks) - 1, 2):
            key = chunks[index + 1]
            if key is not None:
                name = keyed.get(key, key)
            else:
                position = index // 2
                name = names[position] if position < len(names) else ""
            pieces.append((chunks[index], name))
    elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        template = string_value(node.func.value) or ""
        values = {a.keyword.value: _last(a.value) for a in node.args if a.keyword is not None}
        positional = [_last(a.value) for a in node.args if a.keyword is None]
        chunks = re.split(r"\{([^{}!:]*)[^{}]*\}", template)
        for index in range(0, len(chunks) - 1, 2):
            field_name = chunks[index + 1]
            name = values.get(field_name, field_name)
            if not field_name and positional:
                name = positional.pop(0)
            pieces.append((chunks[index], name))
    elif isinstance(node, cst.BinaryOperation):
        operands = _add_operands(node)
        text = ""
        for operand in operands:
            literal = string_value(operand)
            if literal is not None:
                text += literal
            else:
                pieces.append((text, _last(operand)))
                text = ""
    identifiers = [
        not re.search(_VALUE_BEFORE, before, _I)
        and bool(
            re.search(_BEFORE_IDENTIFIER, before, _I)
            or (name and re.search(_IDENTIFIER_WORDS, name, _I))
        )
        for before, name in pieces
    ]
    if identifiers and all(identifiers):
        return "all"
    return "some" if any(identifiers) else "none"


_UPPER = r"^_?[A-Z][A-Z0-9_]*$"


def _args(call: cst.Call, position: int, keywords: Sequence[str]) -> list[cst.BaseExpression]:
    index = 0
    for arg in call.args:
        if arg.star:
            return []
        if arg.keyword is None:
            if index == position:
                return [arg.value]
            index += 1
        elif arg.keyword.value in keywords:
            return [arg.value]
    return []


def _add_operands(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _add_operands(node.left) + _add_operands(node.right)
    return [node]


def _formatting_kind(node: cst.CSTNode) -> str:
    if isinstance(node, cst.FormattedString):
        return "an f-string"
    if isinstance(node, cst.BinaryOperation):
        return "`%` formatting" if isinstance(node.operator, cst.Modulo) else "string concatenation"
    if isinstance(node, cst.Call):
        return "`.format()`"
    return "formatting"


class SqlChecks(AnalysisBase):
    """Raw SQL (DJG204, DJG206)."""

    # -- raw SQL (DJG204, DJG206) ----------------------------------------------------------------------

    def _is_manager(self, node: cst.BaseExpression, scope: Scope) -> bool:
        text = dotted_name(node) or ""
        if text.rsplit(".", 1)[-1] in MANAGER_ATTRS and "." in text:
            return True
        value = self.evaluate(node, scope, quiet=True)
        return isinstance(value, QS) and not value.from_item

    def _is_cursor(self, node: cst.BaseExpression, scope: Scope) -> bool:
        """A DB-API cursor or connection (``conn.execute()`` of psycopg 3 and sqlite3)."""
        if isinstance(node, cst.Call):
            return _last(node.func) in ("cursor", "connect")
        if isinstance(node, cst.Subscript):
            return _last(node.value) == "connections"
        text = dotted_name(node)
        if text is None:
            return False
        last = text.rsplit(".", 1)[-1]
        if "cursor" in last.lower() or last in ("cur", "curs", "schema_editor"):
            return True
        if re.search(_CONNECTION_NAME, last, _I):
            return True
        if isinstance(node, cst.Name):
            for record in scope.records.get(node.value, ()):
                value = record.value
                if isinstance(value, cst.Call) and _last(value.func) in ("cursor", "connect"):
                    return True
                if isinstance(value, cst.Subscript) and _last(value.value) == "connections":
                    return True
        return False

    def _sql_sink(self, call: cst.Call, scope: Scope) -> None:
        func = call.func
        name = _last(func)
        sql: list[cst.BaseExpression] = []
        raw_use = False
        if name == "RawSQL":
            raw_use = True
            sql = _args(call, 0, ("sql",))
        elif isinstance(func, cst.Attribute):
            receiver = func.value
            if name == "raw" and self._is_manager(receiver, scope):
                raw_use = True
                sql = _args(call, 0, ("raw_query",))
            elif name == "extra" and (
                self._is_manager(receiver, scope)
                or any(
                    a.keyword is not None and a.keyword.value in _EXTRA_SQL_ARGUMENTS
                    for a in call.args
                )
            ):
                # ``qs.extra(select=..., where=...)``: those keywords are the queryset API's
                raw_use = self._is_manager(receiver, scope)
                for arg in call.args:
                    if arg.keyword is None or arg.keyword.value not in _EXTRA_SQL_ARGUMENTS:
                        continue
                    for display in self._displays(arg.value, scope):
                        if isinstance(display, cst.Dict):
                            sql.extend(
                                e.value for e in display.elements if isinstance(e, cst.DictElement)
                            )
                        else:
                            sql.extend(
                                e.value for e in display.elements if isinstance(e, cst.Element)
                            )
            elif name in ("execute", "executemany") and self._is_cursor(receiver, scope):
                sql = _args(call, 0, ("sql", "operation", "query"))
            elif name == "cursor" and not call.args:
                receiver_text = dotted_name(receiver) or ""
                if receiver_text.rsplit(".", 1)[-1] == "connection" or (
                    isinstance(receiver, cst.Subscript) and _last(receiver.value) == "connections"
                ):
                    raw_use = True
        if raw_use:
            self.report(
                "DJG206", call, f"`{code_of(call)}` uses raw SQL; express the query with the ORM"
            )
        for expression in sql:
            for bad in self._unsafe_sql(expression, scope, 0):
                identifiers = _interpolates_identifier(bad)
                if identifiers == "all":
                    remedy = (
                        "quote the interpolated identifier with `connection.ops.quote_name()` "
                        "(psycopg: `psycopg.sql.Identifier`), and pass any values as params"
                    )
                elif identifiers == "some":
                    remedy = (
                        "quote identifiers with `connection.ops.quote_name()` (psycopg: "
                        "`psycopg.sql.Identifier`) and pass the values as params with `%s` "
                        "placeholders"
                    )
                else:
                    remedy = "keep the SQL a literal with `%s` placeholders and pass the values as params"
                self.report(
                    "DJG204",
                    bad,
                    f"SQL built with {_formatting_kind(bad)} (`{code_of(bad)}`) reaches "
                    f"`{code_of(func)}()`; {remedy}",
                )

    def _displays(
        self, node: cst.BaseExpression, scope: Scope
    ) -> list[cst.Dict | cst.List | cst.Tuple]:
        """The dict/list displays an ``extra()`` argument is: itself, or what the local
        variable it names is assigned (``where = [...]; qs.extra(where=where)``)."""
        if isinstance(node, (cst.Dict, cst.List, cst.Tuple)):
            return [node]
        if isinstance(node, cst.Name) and node.value not in scope.opaque:
            return [
                r.value
                for r in scope.records.get(node.value, ())
                if r.kind == "value" and isinstance(r.value, (cst.Dict, cst.List, cst.Tuple))
            ]
        return []

    def _unsafe_sql(
        self, node: cst.BaseExpression, scope: Scope, depth: int
    ) -> list[cst.BaseExpression]:
        """The formatting expressions that build the SQL ``node`` from unsafe values."""
        if depth > 6:
            return []
        if isinstance(node, cst.FormattedString):
            expressions = [
                p.expression for p in node.parts if isinstance(p, cst.FormattedStringExpression)
            ]
            return [node] if any(not self._safe(e, scope, depth) for e in expressions) else []
        if isinstance(node, cst.ConcatenatedString):
            return self._unsafe_sql(node.left, scope, depth + 1) + self._unsafe_sql(
                node.right, scope, depth + 1
            )
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Modulo) and self._template(node.left, scope):
                right = node.right
                values: list[cst.BaseExpression]
                if isinstance(right, cst.Tuple):
                    values = [e.value for e in right.elements]
                elif isinstance(right, cst.Dict):
                    values = [e.value for e in right.elements if isinstance(e, cst.DictElement)]
                else:
                    values = [right]
                return [node] if any(not self._safe(v, scope, depth) for v in values) else []
            if isinstance(node.operator, cst.Add):
                operands = _add_operands(node)
                if any(
                    string_value(o) is not None or isinstance(o, cst.FormattedString)
                    for o in operands
                ) and any(not self._safe(o, scope, depth) for o in operands):
                    return [node]
                inner: list[cst.BaseExpression] = []
                for operand in operands:
                    if isinstance(operand, cst.FormattedString):
                        inner.extend(self._unsafe_sql(operand, scope, depth + 1))
                return inner
            return []
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "format"
            and self._template(node.func.value, scope)
        ):
            return [node] if any(not self._safe(a.value, scope, depth) for a in node.args) else []
        if isinstance(node, cst.Name):
            if node.value in scope.opaque:
                return []
            found: list[cst.BaseExpression] = []
            for record in scope.records.get(node.value, ()):
                if record.value is None or record.kind in ("sqlsafe", "with"):
                    continue
                if record.kind == "aug":
                    if string_value(record.value) is None and not self._safe(
                        record.value, scope, depth
                    ):
                        found.append(record.value)
                    else:
                        found.extend(self._unsafe_sql(record.value, scope, depth + 1))
                else:
                    found.extend(self._unsafe_sql(record.value, scope, depth + 1))
            return found
        return []

    def _template(self, node: cst.BaseExpression, scope: Scope) -> bool:
        """A string template: a literal, or a local variable every assignment of which is a
        string literal or a formatting of one (``sql = "..."`` then
        ``sql = sql.format(q=query)``, in any branch)."""
        if string_value(node) is not None:
            return True
        if isinstance(node, cst.Name):
            return scope.literal_only(node.value) or self._string_variable(node.value, scope, set())
        return False

    def _string_variable(self, name: str, scope: Scope, seen: set[str]) -> bool:
        records = scope.records.get(name)
        if not records or name in scope.opaque or name in seen or len(seen) > 6:
            return False
        seen.add(name)
        grounded = False  # some assignment is not a reformatting of the variable itself
        for record in records:
            value = record.value
            if record.kind not in ("value", "aug") or value is None:
                return False
            if not self._string_shape(value, scope, seen):
                return False
            grounded = grounded or (record.kind == "value" and _template_root(value) != name)
        return grounded

    def _string_shape(self, node: cst.BaseExpression, scope: Scope, seen: set[str]) -> bool:
        """An expression that builds a string from a template: an f-string, ``+`` with a
        string operand, ``%`` or ``.format()`` on a literal or on a string variable."""
        if string_value(node) is not None or isinstance(node, cst.FormattedString):
            return True
        if isinstance(node, cst.Name):
            return node.value in seen or self._string_variable(node.value, scope, seen)
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Modulo):
                return self._string_shape(node.left, scope, seen)
            if isinstance(node.operator, cst.Add):
                return any(
                    string_value(o) is not None or isinstance(o, cst.FormattedString)
                    for o in _add_operands(node)
                ) or self._string_shape(node.left, scope, seen)
            return False
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("format", "replace", "strip")
        ):
            return self._string_shape(node.func.value, scope, seen)
        return False

    def _safe(self, node: cst.BaseExpression, scope: Scope, depth: int) -> bool:
        """A value that cannot carry user input into SQL."""
        if depth > 6:
            return False
        if isinstance(node, (cst.Integer, cst.Float)) or string_value(node) is not None:
            return True
        if isinstance(node, cst.FormattedString):
            return all(
                self._safe(p.expression, scope, depth + 1)
                for p in node.parts
                if isinstance(p, cst.FormattedStringExpression)
            )
        if isinstance(node, cst.Name):
            if re.match(_UPPER, node.value) or node.value in ("None", "True", "False"):
                return True
            records = scope.records.get(node.value)
            if self._catalog_loop_target(node.value):
                # ``for (name,) in cursor.fetchall():`` after a query of the catalog
                return True
            if self._literal_loop_target(node.value):
                # ``for table in ("orders", "shipments"): ... f"... FROM {table}"``
                return not records or all(
                    r.kind == "value" and r.value is not None and string_value(r.value) is not None
                    for r in records
                )
            if node.value in scope.opaque:
                return False
            if not records:
                return False
            return all(
                r.kind == "sqlsafe"
                or (
                    r.kind in ("value", "aug")
                    and r.value is not None
                    and self._safe(r.value, scope, depth + 1)
                )
                for r in records
            )
        if (
            isinstance(node, cst.Subscript)
            and isinstance(node.value, cst.Name)
            and node.value.value not in scope.records
            and self._catalog_loop_target(node.value.value)
        ):
            # ``for row in cursor: ... row[0]`` after a query of the catalog
            return True
        if isinstance(node, cst.Attribute):
            text = dotted_name(node) or ""
            parts = text.split(".")
            return bool(
                "_meta" in parts
                or parts[-1] in ("db_table", "column")
                or re.match(_UPPER, parts[-1])
            )
        if isinstance(node, cst.Call):
            last = _last(node.func)
            if last in _SAFE_CALLS or re.search(_QUOTING_CALL, last):
                return True
            if (
                last == "join"
                and isinstance(node.func, cst.Attribute)
                and string_value(node.func.value) is not None
            ):
                return all(self._placeholders(a.value, scope, depth) for a in node.args)
            return False
        if isinstance(node, cst.BinaryOperation):
            return self._safe(node.left, scope, depth + 1) and self._safe(
                node.right, scope, depth + 1
            )
        if isinstance(node, cst.IfExp):
            return self._safe(node.body, scope, depth + 1) and self._safe(
                node.orelse, scope, depth + 1
            )
        return False

    def _catalog_loop_target(self, name: str) -> bool:
        """Whether ``name`` is the target of an enclosing ``for`` over the rows of a cursor
        (``cursor.fetchall()``, ``fetchmany()``, the cursor itself) that the same function
        points at the database catalog with literal SQL (``information_schema``,
        ``pg_indexes``, ``sqlite_master``...): a name the database itself holds, never a
        value from a user, and never reassigned in the loop."""
        if not self.functions:
            return False
        for frame in self.frames:
            loop = frame.node
            if name not in frame.targets or not isinstance(loop, cst.For):
                continue
            rows = loop.iter
            if isinstance(rows, cst.Call) and _last(rows.func) in ("fetchall", "fetchmany"):
                rows = rows.func.value if isinstance(rows.func, cst.Attribute) else rows
            cursor = dotted_name(rows)
            if cursor is None or _rebinds(loop.body, name):
                return False
            return cursor in self._catalog_cursors(self.functions[-1])
        return False

    def _catalog_cursors(self, function: cst.FunctionDef) -> set[str]:
        """Cursors a function runs a literal query of the database catalog on."""
        found: set[str] = set()
        pending: list[cst.CSTNode] = [function.body]
        while pending:
            node = pending.pop()
            if (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "execute"
                and node.args
            ):
                sql = string_value(node.args[0].value)
                receiver = dotted_name(node.func.value)
                if sql is not None and receiver is not None and re.search(_CATALOG, sql, _I):
                    found.add(receiver)
            pending.extend(_children(node))
        return found

    def _literal_loop_target(self, name: str) -> bool:
        """Whether ``name`` is the target of an enclosing ``for`` over a literal list, tuple
        or set of strings (and of no other enclosing loop)."""
        found = False
        for frame in self.frames:
            if name not in frame.targets:
                continue
            loop = frame.node
            if not (
                isinstance(loop, cst.For)
                and isinstance(loop.target, cst.Name)
                and isinstance(loop.iter, (cst.List, cst.Tuple, cst.Set))
                and loop.iter.elements
                and all(
                    isinstance(e, cst.Element) and string_value(e.value) is not None
                    for e in loop.iter.elements
                )
            ):
                return False
            found = True
        return found

    def _placeholders(self, node: cst.BaseExpression, scope: Scope, depth: int) -> bool:
        """``["%s"] * len(ids)``, ``("%s" for _ in ids)``: placeholder lists built from literals."""
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
            return self._placeholders(node.left, scope, depth) or self._placeholders(
                node.right, scope, depth
            )
        if isinstance(node, (cst.List, cst.Tuple)):
            return all(
                isinstance(e, cst.Element) and self._safe(e.value, scope, depth + 1)
                for e in node.elements
            )
        if isinstance(node, (cst.GeneratorExp, cst.ListComp)):
            return self._safe(node.elt, scope, depth + 1)
        return self._safe(node, scope, depth + 1)
