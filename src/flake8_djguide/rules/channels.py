"""Channels and WebSockets (DJG1xx), from guide 000.

Consumers are async, group names use dots (``community.room.{id}``) and only the
characters Channels accepts, and payloads sent to the browser use camelCase keys.

DJG101 and DJG102 follow names through plain assignments. They share a small scope
tracker: every function and class body records what its names (and, for classes,
``self.<attr>``) are bound to during the walk, and the checks that need those
bindings are resolved when the enclosing top-level statement ends, so that a value
assigned after its use in the source (``disconnect`` written above ``connect``) is
still seen, and every finding belongs to the chunk being walked.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from flake8_djguide.helpers import ast_dotted_name, ast_nodes, call_arg, dotted_name, qualified_name
from flake8_djguide.rule import Invalid, Rule, Valid

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
else:
    from flake8_djguide._lazy import cst

#: A binding: the value a name was assigned (``None``: not a plain assignment, for
#: example a parameter, a loop target or ``+=``) and the scope the value belongs to.
Binding = tuple[Optional["cst.BaseExpression"], Optional["_Scope"]]


class _Scope:
    """A function or class body: what its names and ``self.<attr>`` are bound to."""

    __slots__ = ("is_class", "items", "names", "owner", "parent", "self_attrs", "self_name")

    def __init__(self, is_class: bool, parent: _Scope | None) -> None:
        self.is_class = is_class
        self.parent = parent
        self.names: dict[str, list[Binding]] = {}
        #: class scopes: ``self.<attr> = value`` anywhere in the class's methods.
        self.self_attrs: dict[str, list[Binding]] = {}
        #: function scopes: ``name[key] = value`` (keys added to a dict variable).
        self.items: dict[str, list[cst.BaseExpression]] = {}
        #: methods: the name of the first parameter and the class it refers to.
        self.self_name: str | None = None
        self.owner: _Scope | None = None

    def bind(self, name: str, value: cst.BaseExpression | None) -> None:
        """Record one binding of ``name`` in this scope."""
        self.names.setdefault(name, []).append((value, self))

    def lookup(self, name: str) -> tuple[list[Binding], _Scope] | None:
        """The bindings of ``name`` as seen from here: this scope, then enclosing functions."""
        scope: _Scope | None = self
        while scope is not None:
            if (scope is self or not scope.is_class) and name in scope.names:
                return scope.names[name], scope
            scope = scope.parent
        return None

    def lookup_self(self, base: str, attr: str) -> list[Binding] | None:
        """The bindings of ``<base>.<attr>`` when ``base`` is a method's ``self``."""
        scope: _Scope | None = self
        while scope is not None and not scope.is_class:
            if scope.self_name is not None:
                if scope.self_name != base or scope.owner is None:
                    return None
                owner = scope.owner
                return owner.self_attrs.get(attr, []) + owner.names.get(attr, [])
            if base in scope.names:
                return None  # rebound in a nested function
            scope = scope.parent
        return None


class _Scoped(Rule):
    """Tracks function and class scopes and their plain bindings (see the module doc).

    Subclasses queue checks during the walk and resolve them in :meth:`flush`, which
    runs when the outermost function or class ends.
    """

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.scope: _Scope | None = None

    def flush(self) -> None:
        """Resolve the checks queued while walking the top-level statement just left."""

    def _leave(self) -> None:
        assert self.scope is not None
        self.scope = self.scope.parent
        if self.scope is None:
            self.flush()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Enter a class body."""
        if self.scope is not None:
            self.scope.bind(node.name.value, None)
        self.scope = _Scope(True, self.scope)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        """Leave a class body."""
        self._leave()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Enter a function: its parameters are bound to unknown values."""
        parent = self.scope
        if parent is not None:
            parent.bind(node.name.value, None)
        scope = _Scope(False, parent)
        params = node.params
        positional = [*params.posonly_params, *params.params]
        for param in (*positional, *params.kwonly_params):
            scope.bind(param.name.value, None)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.bind(star.name.value, None)
        if parent is not None and parent.is_class and positional:
            scope.self_name = positional[0].name.value
            scope.owner = parent
        self.scope = scope

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Leave a function."""
        self._leave()

    def _bind_target(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        scope = self.scope
        if scope is None:
            return
        if isinstance(target, cst.Name):
            scope.bind(target.value, value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value, None)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, None)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            method = _method_of(scope, target.value.value)
            if method is not None and method.owner is not None:
                method.owner.self_attrs.setdefault(target.attr.value, []).append((value, method))
        elif (
            isinstance(target, cst.Subscript)
            and isinstance(target.value, cst.Name)
            and len(target.slice) == 1
            and isinstance(target.slice[0].slice, cst.Index)
        ):
            scope.items.setdefault(target.value.value, []).append(target.slice[0].slice.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        """``name = value``, ``self.attr = value``, ``name[key] = value``."""
        for target in node.targets:
            self._bind_target(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        """``name: T = value``."""
        if node.value is not None:
            self._bind_target(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        """``name += value``: the name no longer has a plain value."""
        self._bind_target(node.target, None)

    def visit_For(self, node: cst.For) -> None:
        """Loop targets have no plain value."""
        self._bind_target(node.target, None)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        """Comprehension targets: treated as unknown names of the enclosing scope."""
        self._bind_target(node.target, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        """``with ... as name``."""
        if node.asname is not None:
            self._bind_target(node.asname.name, None)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        """``(name := value)``: bound conditionally, so unknown."""
        self._bind_target(node.target, None)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        """``except E as name``."""
        if node.name is not None:
            self._bind_target(node.name.name, None)

    def visit_Global(self, node: cst.Global) -> None:
        """Names declared global are not local values."""
        for item in node.names:
            self._bind_target(item.name, None)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        """Names declared nonlocal are not local values."""
        for item in node.names:
            self._bind_target(item.name, None)


def _method_of(scope: _Scope, base: str) -> _Scope | None:
    """The method whose first parameter ``base`` is, as seen from ``scope``."""
    current: _Scope | None = scope
    while current is not None and not current.is_class:
        if current.self_name is not None:
            return current if current.self_name == base else None
        if base in current.names:
            return None
        current = current.parent
    return None


def _is_none(value: cst.BaseExpression | None) -> bool:
    return isinstance(value, cst.Name) and value.value == "None"


def _last(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


def _is_consumer_base(expr: cst.BaseExpression) -> bool:
    return _last(dotted_name(expr)).endswith("Consumer")


def _short(node: cst.CSTNode, limit: int = 60) -> str:
    text = " ".join(cst.Module(body=[]).code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _string_body(node: cst.SimpleString) -> str | None:
    """The text between the quotes when it equals the string's value (no escapes)."""
    value = node.evaluated_value
    if not isinstance(value, str):
        return None
    body = node.value[len(node.prefix) + len(node.quote) : -len(node.quote)]
    return body if body == value else None


# -- DJG101 -------------------------------------------------------------------------------

GROUP_METHODS = frozenset({"group_add", "group_discard", "group_send"})
MAX_GROUP_NAME_LENGTH = 100  # Channels requires len(name) < 100
_MAX_ALTERNATIVES = 8
_MAX_DEPTH = 10
# printf-style conversion specifiers, as the % operator reads them
_PERCENT_SPEC = re.compile(
    r"%(?:\([^)]*\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsab%]"
)


@dataclass(frozen=True)
class _Piece:
    """A piece of a group name: literal text held by a string node, or a hole."""

    text: str
    node: cst.CSTNode | None  # None: a value that cannot be seen (a hole)
    kind: str = "plain"  # how the node's text is read: plain, fstring, format, percent
    direct: bool = True  # written in the call itself, not reached through a variable


_HOLE = _Piece("", None, "hole")
Alternatives = list[list[_Piece]]


def is_valid_group_char(char: str) -> bool:
    """Whether Channels accepts ``char`` in a group name (``^[a-zA-Z\\d\\-_.]+$``)."""
    return char in _GROUP_CHARS or char.isdecimal()


_GROUP_CHARS = frozenset(string.ascii_letters + string.digits + "-_.")


def _format_segments(template: str) -> list[str | None] | None:
    """``str.format`` template -> literal segments and ``None`` for each field."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    segments: list[str | None] = []
    for literal, field_name, _spec, _conversion in parsed:
        if literal:
            segments.append(literal)
        if field_name is not None:
            segments.append(None)
    return segments


def _percent_segments(template: str) -> list[str | None]:
    segments: list[str | None] = []
    position = 0
    for match in _PERCENT_SPEC.finditer(template):
        segments.append(template[position : match.start()])
        segments.append("%" if match.group() == "%%" else None)
        position = match.end()
    segments.append(template[position:])
    return [s for s in segments if s != ""]


def _fix_format(body: str) -> str | None:
    try:
        parsed = list(string.Formatter().parse(body))
    except ValueError:
        return None
    out = []
    for literal, field_name, spec, conversion in parsed:
        out.append(literal.replace(":", ".").replace("{", "{{").replace("}", "}}"))
        if field_name is not None:
            out.append("{" + field_name)
            if conversion:
                out.append("!" + conversion)
            if spec:
                out.append(":" + spec)
            out.append("}")
    return "".join(out)


def _fix_percent(body: str) -> str:
    out = []
    position = 0
    for match in _PERCENT_SPEC.finditer(body):
        out.append(body[position : match.start()].replace(":", "."))
        out.append(match.group())
        position = match.end()
    out.append(body[position:].replace(":", "."))
    return "".join(out)


def colon_fix(node: cst.CSTNode, kind: str) -> Callable[[], cst.CSTNode] | None:
    """A fix replacing ``:`` by ``.`` in the literal parts of ``node``, or ``None``."""
    if isinstance(node, cst.FormattedString):
        if kind != "fstring":
            return None
        string_node = node

        def fix_fstring() -> cst.CSTNode:
            parts = [
                part.with_changes(value=part.value.replace(":", "."))
                if isinstance(part, cst.FormattedStringText)
                else part
                for part in string_node.parts
            ]
            return string_node.with_changes(parts=parts)

        return fix_fstring
    if not isinstance(node, cst.SimpleString):
        return None
    body = _string_body(node)
    if body is None:
        return None
    if kind == "format":
        new_body = _fix_format(body)
    elif kind == "percent":
        new_body = _fix_percent(body)
    else:
        new_body = body.replace(":", ".")
    if new_body is None or new_body == body:
        return None
    simple = node
    replacement = f"{node.prefix}{node.quote}{new_body}{node.quote}"

    def fix_string() -> cst.CSTNode:
        return simple.with_changes(value=replacement)

    return fix_string


def _describe(chars: set[str]) -> str:
    shown = []
    for char in sorted(chars):
        shown.append(f"`{char}`" if char.isprintable() and char not in " `" else repr(char))
    return ", ".join(shown)


def _group_call(node: cst.Call) -> tuple[cst.BaseExpression, cst.Arg] | None:
    """``(layer expression, group argument)`` of a channel-layer group call."""
    func = node.func
    if isinstance(func, cst.Attribute) and func.attr.value in GROUP_METHODS:
        receiver = func.value
    elif (
        isinstance(func, cst.Call)
        and _last(dotted_name(func.func)) == "async_to_sync"
        and func.args
        and isinstance(func.args[0].value, cst.Attribute)
        and func.args[0].value.attr.value in GROUP_METHODS
    ):
        receiver = func.args[0].value.value
    else:
        return None
    argument = call_arg(node, 0, "group")
    if argument is None:
        return None
    return receiver, argument


def imports_channels(ctx: FileContext) -> bool:
    """Whether the module imports anything from the ``channels`` package."""
    return any(
        origin == "channels" or origin.startswith("channels.")
        for origin in ctx.info.imports.values()
    )


def _is_get_channel_layer(value: cst.BaseExpression | None) -> bool:
    return isinstance(value, cst.Call) and _last(dotted_name(value.func)) == "get_channel_layer"


def _groups_attribute(node: cst.ClassDef) -> Iterator[cst.BaseExpression]:
    """The elements of a consumer's ``groups = [...]`` class attribute."""
    if not any(_is_consumer_base(arg.value) for arg in node.bases):
        return
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                targets = [t.target for t in small.targets]
                value: cst.BaseExpression | None = small.value
            elif isinstance(small, cst.AnnAssign):
                targets, value = [small.target], small.value
            else:
                continue
            if not any(isinstance(t, cst.Name) and t.value == "groups" for t in targets):
                continue
            if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
                for element in value.elements:
                    if isinstance(element, cst.Element):
                        yield element.value


def _ast_consumer_with_groups(node: ast.ClassDef, ctx: FileContext) -> bool:
    if not any(_last(ast_dotted_name(base)).endswith("Consumer") for base in node.bases):
        return False
    for statement in node.body:
        targets: Sequence[ast.expr] = ()
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign):
            targets = [statement.target]
        if any(isinstance(t, ast.Name) and t.id == "groups" for t in targets):
            return True
    return False


# -- project helpers whose parameter is the group name ---------------------------------------

#: (class name or ``None`` for module functions, function name) -> (position of the
#: argument at call sites, parameter name, whether it holds a list of group names)
GroupHelpers = dict[tuple[Optional[str], str], tuple[Optional[int], str, bool]]


def group_helpers(ctx: FileContext) -> GroupHelpers:
    """Functions of the module (top-level functions and methods of top-level classes)
    with a parameter that reaches the group argument of ``group_add``/``group_send``/
    ``group_discard`` on a channel layer, directly or through a plain local variable or
    another such helper of the module (``def _broadcast(group, payload):
    async_to_sync(layer.group_send)(group, payload)``). Read from the ``ast`` tree."""
    cached: GroupHelpers | None = ctx.__dict__.get("_djguide_group_helpers")
    if cached is not None:
        return cached
    functions: list[tuple[str | None, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    tree = ctx.tree
    for node in tree.body if tree is not None else ():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.append((None, node))
        elif isinstance(node, ast.ClassDef):
            for inner in node.body:
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    functions.append((node.name, inner))
    found: GroupHelpers = {}
    # A helper's chain ends in a group call (``layer.group_send(...)``,
    # ``async_to_sync(layer.group_send)``): without one, no function is a helper.
    if not any(
        type(node) is ast.Attribute and node.attr in GROUP_METHODS
        for _owner, function in functions
        for node in ast_nodes(function)
    ):
        functions = []
    for _ in range(3):  # helpers calling helpers
        changed = False
        for owner, function in functions:
            key = (owner, function.name)
            if key in found:
                continue
            parameter = _group_parameter(owner, function, found)
            if parameter is not None:
                found[key] = parameter
                changed = True
        if not changed:
            break
    ctx.__dict__["_djguide_group_helpers"] = found
    return found


def _group_parameter(
    owner: str | None, function: ast.FunctionDef | ast.AsyncFunctionDef, known: GroupHelpers
) -> tuple[int | None, str, bool] | None:
    arguments = function.args
    positional = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
    decorators = {ast_dotted_name(d) for d in function.decorator_list}
    if owner is not None and "staticmethod" not in decorators and positional:
        positional = positional[1:]  # self / cls
    parameters = set(positional) | {a.arg for a in arguments.kwonlyargs}
    aliases: dict[str, list[ast.expr]] = {}
    loops: dict[str, list[ast.expr]] = {}  # ``for name in <expr>``
    layers: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    aliases.setdefault(target.id, []).append(node.value)
                    if _ast_is_get_channel_layer(node.value):
                        layers.add(target.id)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target, ast.Name):
            aliases.setdefault(node.target.id, []).append(ast.Constant(None))
        elif isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.target, ast.Name):
            loops.setdefault(node.target.id, []).append(node.iter)

    def plain_parameter(expr: ast.expr | None) -> str | None:
        """The parameter ``expr`` is, directly or through one plain local variable."""
        if not isinstance(expr, ast.Name) or expr.id in loops:
            return None
        if expr.id in parameters and expr.id not in aliases:
            return expr.id
        values = aliases.get(expr.id, [])
        if len(values) == 1 and isinstance(values[0], ast.Name):
            name = values[0].id
            if name in parameters and name not in aliases and name not in loops:
                return name
        return None

    def parameter_of(expr: ast.expr | None, each: bool) -> tuple[str, bool] | None:
        """(parameter, whether it holds a list of names) that ``expr`` comes from, where
        ``expr`` is one group name (``each``: a list of them)."""
        chosen = plain_parameter(expr)
        if chosen is not None:
            return chosen, each
        if each or not isinstance(expr, ast.Name) or expr.id in aliases:
            return None
        iterated = loops.get(expr.id, [])
        if len(iterated) == 1:
            chosen = plain_parameter(iterated[0])
            if chosen is not None:
                return chosen, True  # ``for group in groups: layer.group_send(group, ...)``
        return None

    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        found: tuple[str, bool] | None = None
        group = _ast_group_argument(node, layers)
        if group is not None:
            found = parameter_of(group, False)
        else:
            key = _ast_helper_key(node.func, owner)
            if key is not None and key in known:
                position, keyword, each = known[key]
                found = parameter_of(_ast_argument(node, position, keyword), each)
        if found is not None:
            chosen, each = found
            return (positional.index(chosen) if chosen in positional else None), chosen, each
    return None


def _ast_is_get_channel_layer(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _last(ast_dotted_name(node.func)) == "get_channel_layer"


def _ast_group_argument(node: ast.Call, layers: set[str]) -> ast.expr | None:
    """The group argument of a group call on a channel layer (as DJG101 reads one)."""
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in GROUP_METHODS:
        receiver = func.value
    elif (
        isinstance(func, ast.Call)
        and _last(ast_dotted_name(func.func)) == "async_to_sync"
        and func.args
        and isinstance(func.args[0], ast.Attribute)
        and func.args[0].attr in GROUP_METHODS
    ):
        receiver = func.args[0].value
    else:
        return None
    name = ast_dotted_name(receiver)
    if not (
        _ast_is_get_channel_layer(receiver)
        or "layer" in _last(name).lower()
        or (isinstance(receiver, ast.Name) and receiver.id in layers)
    ):
        return None
    return _ast_argument(node, 0, "group")


def _ast_helper_key(func: ast.expr, owner: str | None) -> tuple[str | None, str] | None:
    if isinstance(func, ast.Name):
        return None, func.id
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and owner is not None
        and func.value.id in ("self", "cls", owner)
    ):
        return owner, func.attr
    return None


def _ast_argument(node: ast.Call, position: int | None, keyword: str) -> ast.expr | None:
    for item in node.keywords:
        if item.arg == keyword:
            return item.value
    if position is None or any(isinstance(a, ast.Starred) for a in node.args[: position + 1]):
        return None
    return node.args[position] if position < len(node.args) else None


def _ast_helper_call(node: ast.Call, ctx: FileContext) -> bool:
    """Trigger: a call of a group helper of the module (see :func:`group_helpers`)."""
    func = node.func
    if isinstance(func, ast.Name):
        name = func.id
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        name = func.attr
    else:
        return False
    helpers = group_helpers(ctx)
    return any(key[1] == name for key in helpers)


class ChannelsGroupName(_Scoped):
    """Checks for channel-layer group names that Channels rejects: a `:` (the team uses
    dots), or any character other than ASCII letters, digits, `-`, `_` and `.`, or a name
    of 100 characters or more."""

    CODE = "DJG101"
    NAME = "channels-group-name"
    MESSAGE = "group name {name} {problem}; {remedy}"
    RATIONALE = (
        "Channels accepts only ASCII letters, digits, `-`, `_` and `.` in a group name, "
        "and fewer than 100 characters; anything else raises `TypeError` when the consumer "
        "joins or sends, which is only found at run time. The team separates the parts of "
        "a group name with dots (`community.room.{id}`)."
    )
    GUIDE = "000: Group names: Use dots as separators (e.g., `community.room.{id}`), NO colons"
    FIX = "safe"
    NOTES = (
        "Checked: the group argument of `group_add`, `group_discard` and `group_send` called "
        "on a channel layer (`self.channel_layer`, any name or attribute whose last part "
        "contains `layer`, `get_channel_layer()` or a local variable assigned it), also "
        "through `async_to_sync(layer.group_send)(...)`, and the elements of the `groups` "
        "attribute of a class deriving from a `...Consumer` in a module that imports from "
        "`channels`, and the argument a call passes to a group helper of the same module: "
        "a top-level function, or a method of the class the call is in (called on `self`, "
        "`cls` or the class), one of whose parameters reaches that group argument directly, "
        "through a plain local variable or through another such helper (a "
        "`_broadcast(group, message)` static method wrapping "
        "`async_to_sync(layer.group_send)(group, ...)`). A parameter looped over "
        "(`for group in groups: layer.group_send(group, ...)`) holds several names: the "
        "elements of a list or tuple display passed to it are checked, a list variable is "
        "not followed. Helpers imported from other modules or inherited are not followed, "
        "and the fix of a name passed to a helper is unsafe. The literal parts of plain "
        "strings, f-strings, `%` and `.format()` templates and `+` concatenations are "
        "checked; placeholders and unknown values are not, except that an f-string "
        "placeholder that is only a name is followed like a `+` operand. Names are followed through "
        "plain assignments to a local variable of the same function (or an enclosing one) "
        "and to `self.<attr>` anywhere in the same class (including a class attribute), but "
        "only when every assignment of that name is a string expression (an assignment of "
        "`None` is ignored): a name that is also assigned a call such as "
        "`name.replace(':', '.')` is left alone. Module-level constants are not followed. "
        "The finding is reported at the string literal that holds the bad character, where "
        "it was written. The fix replaces `:` by `.` in that string's literal parts; it is "
        "offered only when that makes the literal valid, and it is marked unsafe when the "
        "string reaches the call through a variable (the variable may be used for "
        "something else too)."
    )
    VALID = [
        Valid(
            "class ChatConsumer(AsyncWebsocketConsumer):\n"
            "    async def connect(self):\n"
            "        room_id = self.scope['url_route']['kwargs']['room_id']\n"
            '        self.room_group_name = f"community.room.{room_id}"\n'
            "        await self.channel_layer.group_add(self.room_group_name, self.channel_name)\n"
        ),
        Valid(
            "async_to_sync(channel_layer.group_send)(\n"
            "    'loci.mobile-location.{0}'.format(pk), {'type': 'send.message'}\n"
            ")\n"
        ),
        Valid(
            "def notify(layer, prefix, pk):\n"
            "    group = prefix + str(pk)\n"
            "    return layer.group_send(group, {'type': 'notify'})\n"
        ),
        Valid(
            "class ChatConsumer(AsyncWebsocketConsumer):\n"
            "    async def connect(self):\n"
            '        self.group = "chat:lobby"\n'
            '        self.group = self.group.replace(":", ".")\n'
            "        await self.channel_layer.group_add(self.group, self.channel_name)\n"
        ),
    ]
    INVALID = [
        Invalid(
            "class ChatConsumer(AsyncWebsocketConsumer):\n"
            "    async def connect(self):\n"
            "        room_id = self.scope['url_route']['kwargs']['room_id']\n"
            '        self.room_group_name = f"chat:{room_id}"\n'
            "        await self.channel_layer.group_add(self.room_group_name, self.channel_name)\n",
            4,
            31,
            expected="class ChatConsumer(AsyncWebsocketConsumer):\n"
            "    async def connect(self):\n"
            "        room_id = self.scope['url_route']['kwargs']['room_id']\n"
            '        self.room_group_name = f"chat.{room_id}"\n'
            "        await self.channel_layer.group_add(self.room_group_name, self.channel_name)\n",
        ),
        Invalid(
            "channel_layer = get_channel_layer()\n"
            "async_to_sync(channel_layer.group_send)('orders:%s' % order.pk, {'type': 'order.paid'})\n",
            2,
            40,
            expected="channel_layer = get_channel_layer()\n"
            "async_to_sync(channel_layer.group_send)('orders.%s' % order.pk, {'type': 'order.paid'})\n",
        ),
        Invalid(
            "from channels.generic.websocket import AsyncJsonWebsocketConsumer\n\n\n"
            "class NotificationConsumer(AsyncJsonWebsocketConsumer):\n"
            "    groups = ['notifications/all']\n",
            5,
            14,
        ),
    ]
    TEXT_HINTS = ("group_", "groups")
    AST_TRIGGERS = {
        ast.Attribute: lambda node, ctx: node.attr in GROUP_METHODS,
        ast.ClassDef: _ast_consumer_with_groups,
        ast.Call: _ast_helper_call,
    }

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        #: (layer expression or None when no layer check is needed, group name
        #: expression, scope, whether the name is written at the group call itself)
        self.pending: list[
            tuple[cst.BaseExpression | None, cst.BaseExpression, _Scope | None, bool]
        ] = []
        self.reported: set[int] = set()
        #: the names of the classes being walked (innermost last)
        self.classes: list[str] = []

    def begin_chunk(self, index: int) -> None:
        """Forget the previous chunk's reported nodes: its tree is released once walked
        (in flake8 runs), and a node of this chunk can get the id of one of them."""
        super().begin_chunk(index)
        self.reported.clear()

    def visit_Call(self, node: cst.Call) -> None:
        """Queue group calls on a channel layer."""
        found = _group_call(node)
        if found is not None:
            receiver, argument = found
            self.pending.append((receiver, argument.value, self.scope, True))
        else:
            names = self._helper_arguments(node)
            if not names:
                return
            for name in names:
                self.pending.append((None, name, self.scope, False))
        if self.scope is None:
            self.flush()

    def _helper_arguments(self, node: cst.Call) -> list[cst.BaseExpression]:
        """The group names passed to a group helper's group parameter: ``_broadcast(name,
        ...)`` for a module function, ``self._broadcast(...)``/``cls.``/``<Class>.`` for a
        method of the class being walked; the elements of a list display for a parameter
        that holds several names (``_broadcast_many(["a.b", "c:d"], ...)``)."""
        func = node.func
        key: tuple[str | None, str] | None = None
        if isinstance(func, cst.Name):
            key = (None, func.value)
        elif (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and self.classes
            and func.value.value in ("self", "cls", self.classes[-1])
        ):
            key = (self.classes[-1], func.attr.value)
        if key is None:
            return []
        parameter = group_helpers(self.ctx).get(key)
        if parameter is None:
            return []
        position, keyword, each = parameter
        argument = call_arg(node, position, keyword)
        if argument is None:
            return []
        if not each:
            return [argument.value]
        if isinstance(argument.value, (cst.List, cst.Tuple, cst.Set)):
            return [e.value for e in argument.value.elements if isinstance(e, cst.Element)]
        return []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Queue the elements of a consumer's ``groups`` attribute."""
        super().visit_ClassDef(node)
        self.classes.append(node.name.value)
        if not imports_channels(self.ctx):
            return  # a ``...Consumer`` of another library (Kafka, ...)
        for element in _groups_attribute(node):
            self.pending.append((None, element, self.scope, True))

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        """Leave a class body."""
        self.classes.pop()
        super().leave_ClassDef(node)

    def flush(self) -> None:
        """Check every queued group name."""
        pending, self.pending = self.pending, []
        for receiver, expression, scope, direct in pending:
            if receiver is not None and not self._is_layer(receiver, scope):
                continue
            for alternative in self._alternatives(expression, scope, direct, 0):
                self._check(alternative)

    def _is_layer(self, receiver: cst.BaseExpression, scope: _Scope | None) -> bool:
        if _is_get_channel_layer(receiver):
            return True
        name = dotted_name(receiver)
        if name is None:
            return False
        if "layer" in _last(name).lower():
            return True
        if isinstance(receiver, cst.Name) and scope is not None:
            found = scope.lookup(receiver.value)
            return found is not None and any(_is_get_channel_layer(v) for v, _ in found[0])
        return False

    # -- resolving a name to its literal pieces ------------------------------------------

    def _alternatives(
        self, expr: cst.BaseExpression, scope: _Scope | None, direct: bool, depth: int
    ) -> Alternatives:
        """The possible values of ``expr`` as lists of pieces (one list per alternative)."""
        if depth > _MAX_DEPTH:
            return [[_HOLE]]
        if isinstance(expr, cst.SimpleString):
            value = expr.evaluated_value
            if not isinstance(value, str):
                return [[_HOLE]]
            return [[_Piece(value, expr, "plain", direct)]]
        if isinstance(expr, cst.ConcatenatedString):
            return _product(
                self._alternatives(expr.left, scope, direct, depth + 1),
                self._alternatives(expr.right, scope, direct, depth + 1),
            )
        if isinstance(expr, cst.FormattedString):
            return self._fstring(expr, scope, direct, depth)
        if isinstance(expr, cst.BinaryOperation):
            if isinstance(expr.operator, cst.Add):
                return _product(
                    self._alternatives(expr.left, scope, direct, depth + 1),
                    self._alternatives(expr.right, scope, direct, depth + 1),
                )
            if isinstance(expr.operator, cst.Modulo):
                return [_template_pieces(expr.left, "percent", direct)]
            return [[_HOLE]]
        if (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "format"
        ):
            return [_template_pieces(expr.func.value, "format", direct)]
        bindings = self._bindings(expr, scope)
        if bindings is None:
            return [[_HOLE]]
        result: Alternatives = []
        for bound, bound_scope in bindings:
            assert bound is not None
            result.extend(self._alternatives(bound, bound_scope, False, depth + 1))
            if len(result) > _MAX_ALTERNATIVES:
                return [[_HOLE]]
        return result or [[_HOLE]]

    def _fstring(
        self, node: cst.FormattedString, scope: _Scope | None, direct: bool, depth: int
    ) -> Alternatives:
        """Literal parts of an f-string; a placeholder that is only a name is followed."""
        result: Alternatives = [[]]
        is_raw = "r" in node.prefix.lower()
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                if is_raw or "\\" not in part.value:
                    text = part.value.replace("{{", "{").replace("}}", "}")
                    piece = _Piece(text, node, "fstring", direct)
                else:
                    piece = _HOLE
                result = [[*alternative, piece] for alternative in result]
            elif (
                isinstance(part, cst.FormattedStringExpression)
                and part.conversion is None
                and part.format_spec is None
                and isinstance(part.expression, (cst.Name, cst.Attribute))
            ):
                result = _product(
                    result, self._alternatives(part.expression, scope, direct, depth + 1)
                )
            else:
                result = [[*alternative, _HOLE] for alternative in result]
        return result

    def _bindings(self, expr: cst.BaseExpression, scope: _Scope | None) -> list[Binding] | None:
        """The assignments a name or ``self.<attr>`` can be followed through, or ``None``."""
        if scope is None:
            return None
        bindings: list[Binding] | None = None
        if isinstance(expr, cst.Name):
            found = scope.lookup(expr.value)
            bindings = found[0] if found is not None else None
        elif isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            bindings = scope.lookup_self(expr.value.value, expr.attr.value)
        if not bindings:
            return None
        useful = [(v, s) for v, s in bindings if not _is_none(v)]
        if not useful or not all(v is not None and _is_string_expression(v) for v, _ in useful):
            return None
        return useful

    # -- reporting ------------------------------------------------------------------------

    def _check(self, alternative: list[_Piece]) -> None:
        bad: dict[int, tuple[_Piece, set[str]]] = {}
        for piece in alternative:
            if piece.node is None:
                continue
            chars = {c for c in piece.text if not is_valid_group_char(c)}
            entry = bad.setdefault(id(piece.node), (piece, set()))
            entry[1].update(chars)
        length = sum(len(p.text) for p in alternative)
        for piece, chars in bad.values():
            if chars:
                self._report(piece, chars, too_long=False)
        if length >= MAX_GROUP_NAME_LENGTH and bad:
            first = next(iter(bad.values()))[0]
            self._report(first, set(), too_long=True)

    def _report(self, piece: _Piece, chars: set[str], too_long: bool) -> None:
        node = piece.node
        assert node is not None
        if id(node) in self.reported:
            return
        self.reported.add(id(node))
        problems = []
        if chars:
            problems.append(f"contains {_describe(chars)}")
        if too_long:
            problems.append(f"has {MAX_GROUP_NAME_LENGTH} or more characters")
        if chars == {":"}:
            remedy = "separate its parts with dots (`community.room.{id}`)"
        else:
            remedy = (
                "Channels accepts only ASCII letters, digits, `-`, `_` and `.`, "
                f"fewer than {MAX_GROUP_NAME_LENGTH} characters"
            )
        fix = None
        if chars == {":"} and not too_long:
            fix = colon_fix(node, piece.kind)
        self.report(
            node,
            fix,
            unsafe=not piece.direct,
            name=f"`{_short(node)}`",
            problem=" and ".join(problems),
            remedy=remedy,
        )


def _product(left: Alternatives, right: Alternatives) -> Alternatives:
    if len(left) * len(right) > _MAX_ALTERNATIVES:
        return [[_HOLE]]
    return [a + b for a in left for b in right]


def _template_pieces(template: cst.BaseExpression, kind: str, direct: bool) -> list[_Piece]:
    """The literal segments of a ``%`` or ``.format()`` template written as literals."""
    parts: list[cst.BaseExpression] = []
    stack = [template]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.ConcatenatedString):
            stack.extend([current.right, current.left])
        else:
            parts.append(current)
    pieces: list[_Piece] = []
    for part in parts:
        value = part.evaluated_value if isinstance(part, cst.SimpleString) else None
        if not isinstance(part, cst.SimpleString) or not isinstance(value, str):
            return [_HOLE]
        segments = _format_segments(value) if kind == "format" else _percent_segments(value)
        if segments is None:
            return [_HOLE]
        for segment in segments:
            pieces.append(_HOLE if segment is None else _Piece(segment, part, kind, direct))
    return pieces


def _is_string_expression(value: cst.BaseExpression) -> bool:
    """Whether a value is built from strings (or from names, followed in turn)."""
    if isinstance(
        value,
        (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Name, cst.Attribute),
    ):
        return not (isinstance(value, cst.SimpleString) and "b" in value.prefix.lower())
    if isinstance(value, cst.BinaryOperation):
        if isinstance(value.operator, cst.Add):
            return _is_string_expression(value.left) or _is_string_expression(value.right)
        return isinstance(value.operator, cst.Modulo) and isinstance(
            value.left, (cst.SimpleString, cst.ConcatenatedString)
        )
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value == "format"
        and isinstance(value.func.value, (cst.SimpleString, cst.ConcatenatedString))
    )


# -- DJG102 -------------------------------------------------------------------------------

_JSON_DUMPS = frozenset(
    {"json.dumps", "ujson.dumps", "simplejson.dumps", "orjson.dumps", "rapidjson.dumps"}
)
_SNAKE = re.compile(r"[A-Za-z0-9]_+[A-Za-z0-9]")
_INNER_UNDERSCORES = re.compile(r"(?<=[a-z0-9])_+([a-z0-9])")


def camel_case(key: str) -> str | None:
    """``notification_count`` -> ``notificationCount``; ``None`` for keys with capitals."""
    if any(c.isupper() for c in key):
        return None
    return _INNER_UNDERSCORES.sub(lambda m: m.group(1).upper(), key)


def _ast_client_send(node: ast.Call, ctx: FileContext) -> bool:
    func = node.func
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr == "send_json":
        return True
    if func.attr != "send":
        return False
    values = [*node.args, *(k.value for k in node.keywords)]
    return any(
        isinstance(v, ast.Call) and _last(ast_dotted_name(v.func)) == "dumps" for v in values
    )


class WebsocketPayloadNotCamelcase(_Scoped):
    """Checks for snake_case keys in dict literals a consumer sends to the WebSocket client."""

    CODE = "DJG102"
    NAME = "websocket-payload-not-camelcase"
    MESSAGE = "WebSocket payload key `{key}` is snake_case; send camelCase keys{suggestion}"
    RATIONALE = (
        "The browser code that reads WebSocket messages is JavaScript, where the team's "
        "convention is camelCase; mixing snake_case keys from consumers with camelCase "
        "everywhere else makes every client handler translate by hand."
    )
    GUIDE = "000: Message format: Use camelCase for WebSocket responses (snake_case for REST API)"
    FIX = "unsafe"
    NOTES = (
        "Checked: the dict passed to `self.send_json(...)`, and the dict passed to "
        "`json.dumps(...)` (also `ujson`, `simplejson`, `orjson`) inside `self.send(...)` "
        "(`text_data=`, `bytes_data=` or positional), in a class deriving from a "
        "`...Consumer` or in a module that imports from `channels`. Nested dict literals, "
        "dicts inside list and tuple literals and comprehensions, `**` unpacking and dict variables of the same "
        "function are followed (including `payload['user_id'] = ...` keys added to them), "
        "but only when every assignment of the variable is a dict literal: "
        "`payload = camelize(payload)` stops the check. A key is snake_case when an "
        "underscore joins two letters or digits, so `_id` and `__typename` are left alone. "
        "Messages to the channel layer (`group_send`, `self.channel_layer.send`) are not "
        "sent to the client and are never checked. The fix renames the literal keys (unsafe: "
        "the client code reading them must change too); it is not offered for keys with "
        "capital letters or when the new key already exists in the dict."
    )
    VALID = [
        Valid(
            "class CoreConsumer(AsyncJsonWebsocketConsumer):\n"
            "    async def connect(self):\n"
            '        await self.send_json({"type": "authentication", "webSocketId": 1})\n'
        ),
        Valid(
            "class ChatConsumer(AsyncWebsocketConsumer):\n"
            "    async def receive(self, text_data):\n"
            "        await self.channel_layer.group_send(\n"
            '            self.room_group_name, {"type": "chat_message", "user_id": 1}\n'
            "        )\n"
        ),
        Valid(
            "class ChatConsumer(AsyncJsonWebsocketConsumer):\n"
            "    async def chat_message(self, event):\n"
            "        payload = {'user_id': event['user_id']}\n"
            "        payload = camelize(payload)\n"
            "        await self.send_json(payload)\n"
        ),
    ]
    INVALID = [
        Invalid(
            "class CoreConsumer(AsyncJsonWebsocketConsumer):\n"
            "    async def connect(self):\n"
            '        await self.send_json({"type": "authentication", "web_socket_id": 1})\n',
            3,
            56,
            expected="class CoreConsumer(AsyncJsonWebsocketConsumer):\n"
            "    async def connect(self):\n"
            '        await self.send_json({"type": "authentication", "webSocketId": 1})\n',
        ),
        Invalid(
            "import json\n\n\n"
            "class NotificationConsumer(WebsocketConsumer):\n"
            "    def send_updates(self, event):\n"
            "        data = {'type': 'notification', 'count': event['count']}\n"
            "        data['reload_widget'] = event['reload_widget']\n"
            "        self.send(text_data=json.dumps(data))\n",
            7,
            13,
            expected="import json\n\n\n"
            "class NotificationConsumer(WebsocketConsumer):\n"
            "    def send_updates(self, event):\n"
            "        data = {'type': 'notification', 'count': event['count']}\n"
            "        data['reloadWidget'] = event['reload_widget']\n"
            "        self.send(text_data=json.dumps(data))\n",
        ),
    ]
    TEXT_HINTS = ("send",)
    AST_TRIGGERS = {ast.Call: _ast_client_send}

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.channels_module = imports_channels(ctx)
        self.consumers: list[bool] = []
        self.pending: list[tuple[cst.BaseExpression, _Scope]] = []
        self.reported: set[int] = set()

    def begin_chunk(self, index: int) -> None:
        """Forget the previous chunk's reported nodes: its tree is released once walked
        (in flake8 runs), and a node of this chunk can get the id of one of them."""
        super().begin_chunk(index)
        self.reported.clear()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Track whether the enclosing class is a consumer."""
        super().visit_ClassDef(node)
        self.consumers.append(any(_is_consumer_base(arg.value) for arg in node.bases))

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        """Leave a class."""
        self.consumers.pop()
        super().leave_ClassDef(node)

    def visit_Call(self, node: cst.Call) -> None:
        """Queue the payload of ``self.send_json(...)`` / ``self.send(text_data=json.dumps(...))``."""
        scope = self.scope
        if scope is None or not (self.channels_module or any(self.consumers)):
            return
        func = node.func
        if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
            return
        method = _method_of(scope, func.value.value)
        if method is None:
            return
        payload: cst.BaseExpression | None = None
        if func.attr.value == "send_json":
            argument = call_arg(node, 0, "content")
            payload = argument.value if argument is not None else None
        elif func.attr.value == "send":
            argument = call_arg(node, 0, "text_data") or call_arg(node, None, "bytes_data")
            dumped = argument.value if argument is not None else None
            if (
                isinstance(dumped, cst.Call)
                and qualified_name(dumped.func, self.ctx) in _JSON_DUMPS
            ):
                inner = call_arg(dumped, 0, "obj")
                payload = inner.value if inner is not None else None
        if payload is not None:
            self.pending.append((payload, scope))

    def flush(self) -> None:
        """Check the keys of every queued payload."""
        pending, self.pending = self.pending, []
        for payload, scope in pending:
            self._check(payload, scope, set())

    def _check(self, expr: cst.BaseExpression, scope: _Scope, seen: set[int]) -> None:
        if isinstance(expr, cst.Dict):
            keys = [
                e.key.evaluated_value
                for e in expr.elements
                if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
            ]
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    self._check_key(element.key, keys)
                self._check(element.value, scope, seen)
        elif isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            for item in expr.elements:
                self._check(item.value, scope, seen)
        elif isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            self._check(expr.elt, scope, seen)
        elif isinstance(expr, cst.DictComp):
            self._check(expr.value, scope, seen)
        elif isinstance(expr, cst.Name):
            found = scope.lookup(expr.value)
            if found is None or id(found[0]) in seen:
                return
            bindings, owner = found
            seen.add(id(bindings))
            if not all(isinstance(value, cst.Dict) for value, _ in bindings):
                return
            for value, value_scope in bindings:
                assert value is not None and value_scope is not None
                self._check(value, value_scope, seen)
            for key in owner.items.get(expr.value, []):
                self._check_key(key, ())

    def _check_key(self, key: cst.BaseExpression, siblings: Sequence[object]) -> None:
        if not isinstance(key, cst.SimpleString) or id(key) in self.reported:
            return
        value = key.evaluated_value
        if not isinstance(value, str) or not _SNAKE.search(value):
            return
        self.reported.add(id(key))
        camel = camel_case(value)
        fix = None
        body = _string_body(key)
        if camel is not None and body is not None and camel not in siblings:
            replacement = f"{key.prefix}{key.quote}{camel}{key.quote}"
            string_node = key

            def fix_key() -> cst.CSTNode:
                return string_node.with_changes(value=replacement)

            fix = fix_key
        suggestion = f" (`{camel}`)" if camel is not None else ""
        self.report(key, fix, key=value, suggestion=suggestion)


# -- DJG103 -------------------------------------------------------------------------------

SYNC_CONSUMERS = {
    "channels.generic.websocket.WebsocketConsumer": "AsyncWebsocketConsumer",
    "channels.generic.websocket.JsonWebsocketConsumer": "AsyncJsonWebsocketConsumer",
}


def _ast_sync_consumer(node: ast.ClassDef, ctx: FileContext) -> bool:
    for base in node.bases:
        name = ast_dotted_name(base)
        if name is not None and ctx.info.qualify(name) in SYNC_CONSUMERS:
            return True
    return False


class SyncWebsocketConsumer(Rule):
    """Checks for consumers deriving from the sync `WebsocketConsumer` or
    `JsonWebsocketConsumer`."""

    CODE = "DJG103"
    NAME = "sync-websocket-consumer"
    MESSAGE = "`{cls}` derives from the sync `{base}`; derive from `{replacement}`"
    RATIONALE = (
        "A sync consumer runs every event in a thread of a limited pool, so each open "
        "WebSocket ties up a thread and its database connection; async consumers handle "
        "thousands of connections on the event loop and call the ORM explicitly through "
        "`database_sync_to_async`."
    )
    GUIDE = "000: Consumers: Inherit from `AsyncWebsocketConsumer` or `AsyncJsonWebsocketConsumer`"
    NOTES = (
        "The base class is resolved through the file's imports "
        "(`from channels.generic.websocket import WebsocketConsumer`, "
        "`from channels.generic import websocket` then `websocket.WebsocketConsumer`, "
        "aliases); a class of the same name defined or imported elsewhere is left alone. "
        "Only the class that names the sync base is reported, not its subclasses. No fix: "
        "the handlers must become `async def` and ORM calls must be wrapped."
    )
    VALID = [
        Valid(
            "from channels.generic.websocket import AsyncWebsocketConsumer\n\n\n"
            "class ChatConsumer(AsyncWebsocketConsumer):\n"
            "    pass\n"
        ),
        Valid(
            "from myapp.sockets import WebsocketConsumer\n\n\n"
            "class ChatConsumer(WebsocketConsumer):\n"
            "    pass\n"
        ),
    ]
    INVALID = [
        Invalid(
            "from channels.generic.websocket import WebsocketConsumer\n\n\n"
            "class ChatConsumer(WebsocketConsumer):\n"
            "    pass\n",
            4,
            19,
        ),
        Invalid(
            "from channels.generic import websocket\n\n\n"
            "class LocationBroadcast(websocket.JsonWebsocketConsumer):\n"
            "    pass\n",
            4,
            24,
        ),
    ]
    TEXT_HINTS = ("WebsocketConsumer",)
    AST_TRIGGERS = {ast.ClassDef: _ast_sync_consumer}

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Report each sync consumer base."""
        for arg in node.bases:
            if arg.keyword is not None or arg.star:
                continue
            qualified = qualified_name(arg.value, self.ctx) or ""
            replacement = SYNC_CONSUMERS.get(qualified)
            if replacement is not None:
                base = _last(qualified)
                self.report(arg.value, cls=node.name.value, base=base, replacement=replacement)
