"""Typing, errors and docstrings (DJG4xx), from guides 000, 002 and 004.

Non-test code is fully annotated and documented; test code carries no
annotations; errors are raised as specific exception classes with a message.

The ``ast`` triggers below are exact where that is cheap (an annotated,
documented function never makes the file parse with libcst) and fall back to
"maybe" where the answer needs the whole file (``__all__``, classes defined
further down). Facts that the ``ast`` pass gathers for the rules (which defs
are methods, which classes need their annotations, ``__all__``) are kept per
file in :func:`_facts`; the pass visits parents before children, so a class is
always scanned before its methods are tested.
"""

from __future__ import annotations

import ast
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from flake8_djguide import config
from flake8_djguide.config import Option
from flake8_djguide.helpers import ast_dotted_name, dotted_name, glob_match, small_statements
from flake8_djguide.positions import param_start, statement_start
from flake8_djguide.rule import Finding, Invalid, Rule, Valid

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
else:
    from flake8_djguide._lazy import cst

config.define(
    Option(
        "mypy-init-return",
        bool,
        False,
        "DJG402: accept an `__init__` without `-> None` when any of its parameters is "
        "annotated (mypy's rule).",
    )
)
config.define(
    Option(
        "docstring-hook-methods",
        tuple,
        (),
        "DJG404: more method names (fnmatch patterns such as `handle_*`) treated as overridden "
        "framework hooks that need no docstring, added to the built-in list.",
    )
)
config.define(
    Option(
        "message-optional-exceptions",
        tuple,
        (),
        "DJG406: more exception class names that may be raised without a message, added to "
        "the built-in list.",
    )
)

AstDef = Union[ast.FunctionDef, ast.AsyncFunctionDef]

#: Conventional names of the first parameter of a method (``mcls``/``metacls``
#: are the metaclass spellings used by Django and the standard library).
SELF_NAMES = frozenset({"self", "cls", "mcs", "mcls", "metacls"})

# ---------------------------------------------------------------------------------------
# Per-file facts gathered by the ast pass
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassInfo:
    """What the rules need to know about a class when they look at its methods."""

    has_bases: bool  # derives from something that can define hooks (not just object/ABC)
    callbacks: frozenset[str]  # methods named by SerializerMethodField / method="..."


@dataclass
class _Facts:
    scanned: set[int] = field(default_factory=set)
    #: id(ast def) -> its class, for defs whose innermost scope is a class body.
    methods: dict[int, ClassInfo] = field(default_factory=dict)
    #: ids of defs/classes that are not public API because of where they are
    #: (inside a function, or inside a class that is not public).
    inner: set[int] = field(default_factory=set)
    #: ids of classes whose innermost scope is a class body.
    nested_classes: set[int] = field(default_factory=set)
    #: module-level ``__all__`` when it is a literal list/tuple of strings.
    dunder_all: frozenset[str] | None = None
    #: DJG403: top-level class name -> kind (see :func:`class_kind`).
    class_kinds: dict[str, str] = field(default_factory=dict)
    #: DJG406: classes of this file that supply their own default message.
    message_classes: set[str] = field(default_factory=set)


_FACTS: weakref.WeakKeyDictionary[FileContext, _Facts] = weakref.WeakKeyDictionary()


def _facts(ctx: FileContext) -> _Facts:
    facts = _FACTS.get(ctx)
    if facts is None:
        facts = _FACTS[ctx] = _Facts()
    return facts


_COMPOUND = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    *((ast.TryStar,) if hasattr(ast, "TryStar") else ()),
)


def _ast_members(body: Sequence[ast.stmt]) -> Iterator[AstDef | ast.ClassDef]:
    """Defs and classes whose innermost scope is the one owning ``body``."""
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield statement
        elif isinstance(statement, _COMPOUND):
            for name in ("body", "orelse", "finalbody"):
                yield from _ast_members(getattr(statement, name, ()))
            for handler in getattr(statement, "handlers", ()):
                yield from _ast_members(handler.body)
        elif hasattr(ast, "Match") and isinstance(statement, ast.Match):
            for case in statement.cases:
                yield from _ast_members(case.body)


#: Base classes that cannot supply a framework hook to override.
_NO_HOOK_BASES = frozenset({"object", "ABC", "Generic", "Protocol"})


def _base_names_ast(node: ast.ClassDef) -> list[str | None]:
    names = []
    for base in node.bases:
        if isinstance(base, ast.Subscript):
            base = base.value
        names.append(ast_dotted_name(base))
    return names


def _has_hook_bases(names: Iterable[str | None]) -> bool:
    return any(n is None or n.rsplit(".", 1)[-1] not in _NO_HOOK_BASES for n in names)


def _callbacks_ast(node: ast.ClassDef) -> frozenset[str]:
    """Methods a class-level field names as its callback (see :func:`_callback_name`)."""
    found = set()
    for statement in node.body:
        if isinstance(statement, ast.Assign):
            targets = [t.id for t in statement.targets if isinstance(t, ast.Name)]
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            targets = [statement.target.id]
        else:
            continue
        value = statement.value
        if not isinstance(value, ast.Call):
            continue
        keywords = {
            k.arg: k.value.value
            for k in value.keywords
            if k.arg and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str)
        }
        for target in targets:
            name = _callback_name(ast_dotted_name(value.func), keywords, target)
            if name:
                found.add(name)
    return frozenset(found)


def _callback_name(func: str | None, keywords: Mapping[str, str], target: str) -> str | None:
    """``get_<field>`` for a ``SerializerMethodField``; the ``method=``/``method_name=``
    string of a field (django-filter ``CharFilter(method="filter_search")``)."""
    for key in ("method_name", "method"):
        if key in keywords:
            return keywords[key]
    if func is not None and func.rsplit(".", 1)[-1] == "SerializerMethodField":
        return f"get_{target}"
    return None


def _class_info_ast(node: ast.ClassDef) -> ClassInfo:
    """:func:`_class_info` on the ``ast`` tree."""
    return ClassInfo(_has_hook_bases(_base_names_ast(node)), _callbacks_ast(node))


def _scan_class(node: ast.ClassDef, ctx: FileContext) -> _Facts:
    """Record the methods and nested classes of ``node`` (once)."""
    facts = _facts(ctx)
    if id(node) in facts.scanned:
        return facts
    facts.scanned.add(id(node))
    info = _class_info_ast(node)
    private = id(node) in facts.inner or node.name.startswith("_")
    for member in _ast_members(node.body):
        if isinstance(member, ast.ClassDef):
            facts.nested_classes.add(id(member))
        else:
            facts.methods[id(member)] = info
        if private:
            facts.inner.add(id(member))
    return facts


def _scan_function(node: AstDef, ctx: FileContext) -> _Facts:
    """Record that defs and classes inside ``node`` are not public API (once)."""
    facts = _facts(ctx)
    if id(node) in facts.scanned:
        return facts
    facts.scanned.add(id(node))
    for member in _ast_members(node.body):
        facts.inner.add(id(member))
    return facts


def _scan_class_trigger(node: ast.ClassDef, ctx: FileContext) -> bool:
    _scan_class(node, ctx)
    return False


# ---------------------------------------------------------------------------------------
# Small shared predicates (libcst)
# ---------------------------------------------------------------------------------------


def _decorator_names(node: cst.FunctionDef | cst.ClassDef) -> list[str]:
    """Dotted names of the decorators (the called function for ``@dec(...)``)."""
    names = []
    for decorator in node.decorators:
        expr = decorator.decorator
        if isinstance(expr, cst.Call):
            expr = expr.func
        name = dotted_name(expr)
        if name is not None:
            names.append(name)
    return names


def _ast_decorator_names(node: AstDef | ast.ClassDef) -> list[str]:
    names = []
    for expr in node.decorator_list:
        if isinstance(expr, ast.Call):
            expr = expr.func
        name = ast_dotted_name(expr)
        if name is not None:
            names.append(name)
    return names


def _is_staticmethod(decorators: Iterable[str]) -> bool:
    return any(d in ("staticmethod", "builtins.staticmethod") for d in decorators)


def _is_str_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString):
        return "b" not in node.prefix.lower()
    if isinstance(node, cst.ConcatenatedString):
        return _is_str_literal(node.left) and _is_str_literal(node.right)
    return False


def _first_small_statement(body: cst.BaseSuite) -> cst.BaseSmallStatement | None:
    if isinstance(body, cst.SimpleStatementSuite):
        return body.body[0] if body.body else None
    if not body.body:
        return None
    first = body.body[0]
    if isinstance(first, cst.SimpleStatementLine) and first.body:
        return first.body[0]
    return None


def has_docstring(node: cst.FunctionDef | cst.ClassDef) -> bool:
    """Whether the body starts with a string literal (as :func:`ast.get_docstring` sees it)."""
    first = _first_small_statement(node.body)
    return isinstance(first, cst.Expr) and _is_str_literal(first.value)


def _has_docstring_ast(node: AstDef | ast.ClassDef) -> bool:
    first = node.body[0] if node.body else None
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def _params(node: cst.FunctionDef) -> list[cst.Param]:
    """Every parameter in source order (a bare ``*`` is not one)."""
    params = node.params
    result = [*params.posonly_params, *params.params]
    if isinstance(params.star_arg, cst.Param):
        result.append(params.star_arg)
    result.extend(params.kwonly_params)
    if params.star_kwarg is not None:
        result.append(params.star_kwarg)
    return result


def _param_label(param: cst.Param) -> str:
    star = param.star if isinstance(param.star, str) else ""
    return f"{star}{param.name.value}"


def _ast_params(args: ast.arguments) -> list[ast.arg]:
    result = [*args.posonlyargs, *args.args]
    if args.vararg is not None:
        result.append(args.vararg)
    result.extend(args.kwonlyargs)
    if args.kwarg is not None:
        result.append(args.kwarg)
    return result


def _ast_params_starred(args: ast.arguments) -> list[tuple[ast.arg, str]]:
    """:func:`_ast_params` with each parameter's star (``"*"``, ``"**"`` or ``""``)."""
    result = [(arg, "") for arg in (*args.posonlyargs, *args.args)]
    if args.vararg is not None:
        result.append((args.vararg, "*"))
    result.extend((arg, "") for arg in args.kwonlyargs)
    if args.kwarg is not None:
        result.append((args.kwarg, "**"))
    return result


def _def_start(node: AstDef, lines: Sequence[str]) -> tuple[int, int] | None:
    """Where libcst places a ``def`` (its ``def`` or ``async`` keyword)."""
    keyword = "async" if isinstance(node, ast.AsyncFunctionDef) else "def"
    return statement_start(node, keyword, lines)


def _source(node: cst.CSTNode, limit: int = 40) -> str:
    text = " ".join(cst.Module(body=[]).code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _ScopeRule(Rule):
    """Keeps ``self.scopes``: for each enclosing def or class, whether it is a class."""

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.scopes: list[bool] = []

    def in_class_body(self) -> bool:
        """Whether the innermost enclosing scope is a class body."""
        return bool(self.scopes) and self.scopes[-1]

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Enter a class scope."""
        self.scopes.append(True)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        """Leave a class scope."""
        self.scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Enter a function scope."""
        self.scopes.append(False)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Leave a function scope."""
        self.scopes.pop()


#: Shared by DJG401, DJG402 and DJG404's documentation.
SCOPE_NOTE = (
    "Test code (option `test-patterns`) and migrations are exempt; a `factories.py` outside a "
    "tests directory is not test code (add it to `test-patterns` to treat it as such). "
)


def _not_test_or_migration(ctx: FileContext) -> bool:
    return not ctx.is_test and not ctx.is_migration


# ---------------------------------------------------------------------------------------
# DJG401 missing-argument-annotation
# ---------------------------------------------------------------------------------------


def _unannotated_param_ast(node: AstDef, ctx: FileContext) -> bool:
    positional = [*node.args.posonlyargs, *node.args.args]
    for index, arg in enumerate(_ast_params(node.args)):
        if arg.annotation is not None:
            continue
        if (
            index == 0
            and positional
            and arg is positional[0]
            and arg.arg in SELF_NAMES
            and id(node) in _facts(ctx).methods
            and not _is_staticmethod(_ast_decorator_names(node))
        ):
            continue
        return True
    return False


class MissingArgumentAnnotation(_ScopeRule):
    """Checks for function and method parameters without a type annotation."""

    CODE = "DJG401"
    NAME = "missing-argument-annotation"
    MESSAGE = "parameter `{param}` of `{function}` has no type annotation; annotate it"
    RATIONALE = (
        "mypy checks only what is annotated: an unannotated parameter is `Any`, so every "
        "use of it goes unchecked, and readers must guess what to pass."
    )
    GUIDE = (
        "004: Use mypy annotations for all non-test code (000: type hints; "
        "002: all Django models, views, serializers must have proper type hints)"
    )
    NOTES = (
        SCOPE_NOTE + "Each unannotated parameter is reported at its "
        "start: the name, or the `*`/`**` of `*args`/`**kwargs` (where ruff reports them). "
        "The first parameter of a method (a def whose "
        "innermost enclosing scope is a class body, `@classmethod`s and metaclass methods "
        "included, but not `@staticmethod`s) is exempt when it is named `self`, `cls`, `mcs`, "
        "`mcls` or `metacls`; another name there (`def save(this)`) is reported. A def with "
        "`self` outside a class is a plain function and is reported. Lambdas cannot be "
        "annotated and are never reported. `@overload` stubs and the implementation are "
        "checked like any function (ruff's ANN001 skips the implementation: see "
        "[ann-comparison.md](ann-comparison.md))."
    )
    VALID = [
        Valid(
            "def publish(post: Post, *, notify: bool = True) -> None:\n"
            "    post.publish(notify=notify)\n"
        ),
        Valid(
            "class PostViewSet(ModelViewSet):\n"
            "    def perform_create(self, serializer: PostSerializer) -> None:\n"
            "        serializer.save(author=self.request.user)\n"
        ),
        Valid(
            "class ChoicesMeta(type):\n"
            "    def __new__(mcs, name: str, bases: tuple, attrs: dict) -> type:\n"
            "        return super().__new__(mcs, name, bases, attrs)\n"
        ),
        Valid("def f(x: int) -> None:\n    return None\n", path="blog/tests/test_x.py"),
        Valid("key = lambda post: post.pk\n"),
    ]
    INVALID = [
        Invalid("def publish(post, *, notify: bool = True) -> None:\n    pass\n", 1, 12),
        Invalid(
            "class PostViewSet(ModelViewSet):\n"
            "    def list(self, request: Request, *args, **kwargs: object) -> Response:\n"
            "        return super().list(request)\n",
            2,
            37,
        ),
        Invalid("class A:\n    @staticmethod\n    def build(self) -> None:\n        pass\n", 3, 14),
        Invalid("def helper(self) -> None:\n    pass\n", 1, 11),
    ]
    # Never looks into a function body that holds none of its trigger nodes, so an engine
    # with function-scoped parsing may leave such bodies out (DJG402 needs them: not set).
    TRIGGER_SCOPE = "function"
    AST_TRIGGERS = {
        ast.ClassDef: _scan_class_trigger,
        ast.FunctionDef: _unannotated_param_ast,
        ast.AsyncFunctionDef: _unannotated_param_ast,
    }

    REPORTS_FROM_AST = True

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Not in test code or migrations."""
        return _not_test_or_migration(ctx)

    @classmethod
    def report_ast(cls, node: Any, ctx: FileContext, lines: Sequence[str]) -> list[Finding] | None:
        """:meth:`visit_FunctionDef` on the ``ast`` tree."""
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return []
        chain = ctx.trigger_chain
        is_method = (
            bool(chain)
            and type(chain[-1]) is ast.ClassDef
            and not _is_staticmethod(_ast_decorator_names(node))
        )
        positional = [*node.args.posonlyargs, *node.args.args]
        first = positional[0] if positional else None
        found = []
        for arg, star in _ast_params_starred(node.args):
            if arg.annotation is not None:
                continue
            if arg is first and is_method and arg.arg in SELF_NAMES:
                continue
            start = param_start(arg, star, lines)
            if start is None:
                return None
            found.append(cls.ast_finding(*start, param=star + arg.arg, function=node.name))
        return found

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Report each unannotated parameter."""
        is_method = self.in_class_body() and not _is_staticmethod(_decorator_names(node))
        super().visit_FunctionDef(node)
        positional = [*node.params.posonly_params, *node.params.params]
        first = positional[0] if positional else None
        for param in _params(node):
            if param.annotation is not None:
                continue
            if param is first and is_method and param.name.value in SELF_NAMES:
                continue
            self.report(param, param=_param_label(param), function=node.name.value)


# ---------------------------------------------------------------------------------------
# DJG402 missing-return-annotation
# ---------------------------------------------------------------------------------------


def _any_annotated_ast(args: ast.arguments) -> bool:
    return any(arg.annotation is not None for arg in _ast_params(args))


def _missing_return_ast(node: AstDef, ctx: FileContext) -> bool:
    if node.returns is not None:
        return False
    return not (
        node.name == "__init__"
        and ctx.settings.get("mypy-init-return")
        and _any_annotated_ast(node.args)
    )


_ABSTRACT_DECORATORS = frozenset(
    {"abstractmethod", "abstractproperty", "abstractclassmethod", "abstractstaticmethod"}
)


def _is_not_implemented(exc: cst.BaseExpression | None) -> bool:
    if isinstance(exc, cst.Call):
        exc = exc.func
    name = dotted_name(exc)
    return name is not None and name.rsplit(".", 1)[-1] == "NotImplementedError"


def is_stub_body(body: cst.BaseSuite) -> bool:
    """A body of only a docstring, ``...``, ``pass`` and ``raise NotImplementedError``."""
    statements: Sequence[cst.CSTNode] = body.body
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            smalls: Sequence[cst.CSTNode] = statement.body
        elif isinstance(statement, cst.BaseSmallStatement):
            smalls = [statement]
        else:
            return False
        for small in smalls:
            if isinstance(small, cst.Pass):
                continue
            if isinstance(small, cst.Expr) and (
                isinstance(small.value, cst.Ellipsis) or _is_str_literal(small.value)
            ):
                continue
            if isinstance(small, cst.Raise) and _is_not_implemented(small.exc):
                continue
            return False
    return True


def _returns_value_ast(node: AstDef) -> bool:
    """A ``return`` with a value other than ``None`` or a ``yield`` in the body
    (not counting nested functions, classes and lambdas)."""
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is ast.Return:
            value = current.value  # type: ignore[attr-defined]
            if value is not None and not (isinstance(value, ast.Constant) and value.value is None):
                return True
        elif kind is ast.Yield or kind is ast.YieldFrom:
            return True
        elif kind in _NESTED_SCOPES:
            continue
        stack.extend(ast.iter_child_nodes(current))
    return False


_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _returns_value_in(node: AstDef, lines: Sequence[str]) -> bool:
    """:func:`_returns_value_ast`, walking only the statements when the function's text
    has no ``yield`` (``return`` is a statement; only a ``yield`` hides in expressions)."""
    last = min(node.end_lineno or node.lineno, len(lines))
    if any("yield" in lines[number] for number in range(node.lineno - 1, last)):
        return _returns_value_ast(node)
    stack: list[ast.stmt] = list(node.body)
    while stack:
        statement = stack.pop()
        kind = type(statement)
        if kind is ast.Return:
            value = statement.value  # type: ignore[attr-defined]
            if value is not None and not (isinstance(value, ast.Constant) and value.value is None):
                return True
        elif kind in _NESTED_SCOPES:
            continue
        else:
            for name in ("body", "orelse", "finalbody"):
                stack.extend(getattr(statement, name, ()))
            for handler in getattr(statement, "handlers", ()):
                stack.extend(handler.body)
            for case in getattr(statement, "cases", ()):
                stack.extend(case.body)
    return False


def _is_stub_body_ast(body: Sequence[ast.stmt]) -> bool:
    """:func:`is_stub_body` on the ``ast`` tree."""
    for statement in body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            value = statement.value.value
            if value is Ellipsis or isinstance(value, str):
                continue
        if isinstance(statement, ast.Raise):
            exc = statement.exc
            if isinstance(exc, ast.Call):
                exc = exc.func
            name = ast_dotted_name(exc) if exc is not None else None
            if name is not None and name.rsplit(".", 1)[-1] == "NotImplementedError":
                continue
        return False
    return True


@dataclass
class _Frame:
    node: cst.FunctionDef | None  # None for a lambda
    returns_value: bool = False


class MissingReturnAnnotation(Rule):
    """Checks for functions and methods without a return annotation."""

    CODE = "DJG402"
    NAME = "missing-return-annotation"
    MESSAGE = "`{function}` has no return annotation; {remedy}"
    RATIONALE = (
        "Without `-> ...` mypy treats the result as `Any` (and, by default, does not even "
        "check the body), so callers' mistakes go unnoticed. `__init__` needs `-> None` "
        "too: without it mypy skips an `__init__` that has no annotated parameter."
    )
    GUIDE = (
        "004: Use mypy annotations for all non-test code (000: type hints; "
        "002: strong typing throughout)"
    )
    FIX = "safe"
    OPTIONS = ("mypy-init-return",)
    NOTES = (
        SCOPE_NOTE + "Reported at the `def` line (after the "
        "decorators), dunder methods included. By default `__init__` needs `-> None`; with "
        "`mypy-init-return = true` an `__init__` with at least one annotated parameter may "
        "omit it, as mypy allows. The fix adds `-> None` when the body (not counting nested "
        "functions, classes and lambdas) has no `yield` and no `return` with a value other "
        "than `None`, and the function is not abstract: decorated with `@abstractmethod`, or "
        "a stub whose body is only a docstring, `...`, `pass` or `raise NotImplementedError` "
        "(subclasses override those with real return types). A body that only raises another "
        "exception gets `-> None` (mypy accepts it; `NoReturn` is the stricter choice). The "
        "fix is safe: at run time it only adds an entry to `__annotations__` (mypy does "
        "start checking the function's body, which may surface new type errors). The fix replaces "
        "the whole `def` (rebuilt from the original node), so a fixer applies it in a pass of "
        "its own, not together with fixes inside the same function."
    )
    VALID = [
        Valid("def publish(post: Post) -> None:\n    post.save()\n"),
        Valid(
            "class PostForm(forms.Form):\n    def __init__(self, *args: Any, **kwargs: Any):\n"
            "        super().__init__(*args, **kwargs)\n",
            options={"mypy-init-return": True},
        ),
        Valid("def test_publish(post):\n    post.save()\n", path="blog/tests/test_services.py"),
    ]
    INVALID = [
        Invalid(
            "def publish(post: Post):\n    post.save()\n",
            1,
            0,
            expected="def publish(post: Post) -> None:\n    post.save()\n",
        ),
        Invalid(
            "class Post(models.Model):\n    @property\n    def is_public(self):\n"
            "        return self.status == 'public'\n",
            3,
            4,
        ),
        Invalid(
            "class PostService:\n    def __init__(self, repo: Repo):\n        self.repo = repo\n",
            2,
            4,
            expected=(
                "class PostService:\n    def __init__(self, repo: Repo) -> None:\n"
                "        self.repo = repo\n"
            ),
        ),
        Invalid(
            "async def notify(user_id: int):\n    await send(user_id)\n",
            1,
            0,
            expected="async def notify(user_id: int) -> None:\n    await send(user_id)\n",
        ),
    ]
    AST_TRIGGERS = {
        ast.FunctionDef: _missing_return_ast,
        ast.AsyncFunctionDef: _missing_return_ast,
    }
    # The remedy depends on the body, read from the ``ast`` tree (``Rule.ast_node``),
    # so the bodies of other functions can be left out of the parse.
    TRIGGER_SCOPE = "function"

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.frames: list[_Frame] = []
        self.mypy_init = bool(ctx.settings.get("mypy-init-return"))

    REPORTS_FROM_AST = True

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Not in test code or migrations."""
        return _not_test_or_migration(ctx)

    @classmethod
    def report_ast(cls, node: Any, ctx: FileContext, lines: Sequence[str]) -> list[Finding] | None:
        """:meth:`leave_FunctionDef` on the ``ast`` tree (no fix: the runs that report from
        the ``ast`` tree apply none)."""
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return []
        if not _missing_return_ast(node, ctx):
            return []
        start = _def_start(node, lines)
        if start is None:
            return None
        abstract = any(
            d.rsplit(".", 1)[-1] in _ABSTRACT_DECORATORS for d in _ast_decorator_names(node)
        )
        needs_type = abstract or _returns_value_in(node, lines) or _is_stub_body_ast(node.body)
        remedy = "add `-> <return type>`" if needs_type else "add `-> None`"
        return [cls.ast_finding(*start, function=node.name, remedy=remedy)]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Open a frame collecting the function's returns and yields."""
        self.frames.append(_Frame(node))

    def visit_Lambda(self, node: cst.Lambda) -> None:
        """A ``yield`` in a lambda belongs to the lambda."""
        self.frames.append(_Frame(None))

    def leave_Lambda(self, node: cst.Lambda) -> None:
        """Close the lambda's frame."""
        self.frames.pop()

    def visit_Return(self, node: cst.Return) -> None:
        """``return <value>`` (``return None`` does not count)."""
        value = node.value
        if (
            self.frames
            and value is not None
            and not (isinstance(value, cst.Name) and value.value == "None")
        ):
            self.frames[-1].returns_value = True

    def visit_Yield(self, node: cst.Yield) -> None:
        """A generator needs an ``Iterator``/``Generator`` annotation, not ``None``."""
        if self.frames:
            self.frames[-1].returns_value = True

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Report when the function has no return annotation."""
        frame = self.frames.pop()
        if node.returns is not None:
            return
        if (
            self.mypy_init
            and node.name.value == "__init__"
            and any(p.annotation is not None for p in _params(node))
        ):
            return
        abstract = any(d.rsplit(".", 1)[-1] in _ABSTRACT_DECORATORS for d in _decorator_names(node))
        tree = self.ast_node(node)
        if isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # The whole body, even where the engine left it out of the parse.
            returns_value = _returns_value_ast(tree)
            stub = _is_stub_body_ast(tree.body)
        else:
            returns_value = frame.returns_value
            stub = is_stub_body(node.body)
        if returns_value or abstract or stub:
            self.report(node, function=node.name.value, remedy="add `-> <return type>`")
            return

        def fix() -> cst.CSTNode:
            return node.with_changes(returns=cst.Annotation(cst.Name("None")))

        self.report(node, fix, function=node.name.value, remedy="add `-> None`")


# ---------------------------------------------------------------------------------------
# DJG403 annotation-in-test
# ---------------------------------------------------------------------------------------

#: Class decorators whose classes need their annotations (qualified names).
_ANNOTATION_DECORATORS = frozenset(
    {
        "attr.s",
        "attr.attrs",
        "attr.define",
        "attr.frozen",
        "attr.mutable",
        "attr.dataclass",
        "attrs.define",
        "attrs.frozen",
        "attrs.mutable",
        "strawberry.type",
        "strawberry.input",
        "strawberry.interface",
        "strawberry_django.type",
        "strawberry_django.input",
    }
)
#: Base classes (last dotted component) whose subclasses need their annotations.
_ANNOTATION_BASES = frozenset(
    {
        "TypedDict",
        "NamedTuple",
        "BaseModel",
        "RootModel",
        "GenericModel",
        "BaseSettings",
        "Schema",
        "ModelSchema",
        "FilterSchema",
        "SQLModel",
        "Struct",
    }
)
_PLAIN_BASES = frozenset({"object", "ABC", "Generic", "Exception", "BaseException"})

#: Class kinds for DJG403: "needs" its class-body annotations (dataclass, pydantic, ...),
#: "protocol" (needs them on its methods too), "plain" (a test class: annotations are
#: noise), "unknown" (a base we cannot see: leave its class-body annotations alone).
NEEDS, PROTOCOL, PLAIN, UNKNOWN = "needs", "protocol", "plain", "unknown"


def _is_plain_base(last: str) -> bool:
    return last in _PLAIN_BASES or last.endswith(("TestCase", "Test", "Tests", "Mixin", "Error"))


def class_kind(
    decorators: Iterable[str],
    bases: Iterable[str | None],
    metaclass: str | None,
    known: Mapping[str, str],
) -> str:
    """How DJG403 treats the annotations in a class body (see ``NEEDS`` ...)."""
    for decorator in decorators:
        if decorator in _ANNOTATION_DECORATORS or decorator.rsplit(".", 1)[-1] == "dataclass":
            return NEEDS
    kind = PLAIN
    for base in bases:
        if base is None:
            kind = UNKNOWN
            continue
        last = base.rsplit(".", 1)[-1]
        if last == "Protocol":
            return PROTOCOL
        if last in _ANNOTATION_BASES:
            return NEEDS
        local = known.get(base)
        if local == NEEDS:
            return NEEDS
        if local == PLAIN or (local is None and _is_plain_base(last)):
            continue
        kind = UNKNOWN
    if metaclass is not None and metaclass.rsplit(".", 1)[-1] != "ABCMeta":
        return UNKNOWN
    return kind


def _metaclass_ast(node: ast.ClassDef) -> str | None:
    for keyword in node.keywords:
        if keyword.arg == "metaclass":
            return ast_dotted_name(keyword.value) or "?"
    return None


def _record_class_kind(node: ast.ClassDef, ctx: FileContext) -> bool:
    if node is ctx.current_statement:
        facts = _facts(ctx)
        decorators = [ctx.info.qualify(d) for d in _ast_decorator_names(node)]
        facts.class_kinds[node.name] = class_kind(
            decorators, _base_names_ast(node), _metaclass_ast(node), facts.class_kinds
        )
    return False


def _has_annotation_ast(node: AstDef, ctx: FileContext) -> bool:
    return node.returns is not None or _any_annotated_ast(node.args)


def _annotation_free_equal(param: cst.Param) -> cst.AssignEqual | cst.MaybeSentinel:
    """``x: int = 1`` becomes ``x=1``; unusual whitespace (comments) is kept."""
    equal = param.equal
    if isinstance(equal, cst.AssignEqual) and all(
        isinstance(w, cst.SimpleWhitespace)
        for w in (equal.whitespace_before, equal.whitespace_after)
    ):
        return cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        )
    return equal


@dataclass
class _ClassScope:
    kind: str


class AnnotationInTest(Rule):
    """Checks for type annotations in test code."""

    CODE = "DJG403"
    NAME = "annotation-in-test"
    MESSAGE = "{what} in test code; tests carry no type annotations, remove it"
    RATIONALE = (
        "The team's guide keeps tests free of annotations: they are short-lived, mypy does "
        "not check them, and fixtures' types are set by pytest, so annotations there are "
        "noise that goes stale."
    )
    GUIDE = "004: Never use type annotations in tests until explicitly asked."
    FIX = "safe"
    NOTES = (
        "Reported at the annotation itself: each parameter annotation, the return annotation "
        "and each annotated assignment. Left alone, because the class needs them to work: the "
        "class-body annotations of dataclasses (`@dataclass`, pydantic's), attrs classes "
        "(`@attr.s`, `@define`, ...), strawberry types, `TypedDict`, `NamedTuple`, pydantic "
        "and django-ninja models (`BaseModel`, `Schema`, ...), msgspec `Struct`s, and of "
        "subclasses of such classes defined in the same file; `Protocol` classes entirely "
        "(their method signatures are the protocol); `@overload` stubs; and the parameters "
        "of `@<func>.register` functions (`functools.singledispatch` dispatches on them). "
        "Class-body annotations are reported only in classes that are plainly test classes "
        "(no base, or bases named `*TestCase`, `*Tests`, `*Test`, `*Mixin`, `*Error`, "
        "`object`, or a plain class of the same file); a class deriving from a base that cannot "
        "be seen "
        "(an imported `BasePayload` may be a pydantic model) is left alone. The functional "
        'forms `TypedDict("Movie", {"name": str})` and `NamedTuple("P", [("x", int)])` and '
        "`# type:` comments are not annotations and are not reported. The fix removes a "
        "parameter annotation (`x: int = 1` becomes `x=1`), the return annotation, or the "
        "annotation of an assignment with a value (`x: int = 1` becomes `x = 1`); a bare "
        "declaration `x: int` has no fix (removing the statement can change scoping or leave "
        "an empty body). The return-annotation fix replaces the whole `def` (rebuilt from the "
        "original node), so a fixer applies it in a pass of its own, not together with fixes "
        "inside the same function."
    )
    VALID = [
        Valid(
            "import pytest\n\n\n@pytest.fixture\ndef post(db):\n    return PostFactory()\n\n\n"
            "def test_publish(client, post):\n    response = client.post(f'/posts/{post.pk}/')\n"
            "    assert response.status_code == 200\n",
            path="blog/tests/test_views.py",
        ),
        Valid(
            "from dataclasses import dataclass\n\n\n@dataclass\nclass Case:\n"
            "    title: str\n    expected: int = 200\n",
            path="blog/tests/test_views.py",
        ),
        Valid(
            "from typing import TypedDict\n\n\nclass Payload(TypedDict):\n    title: str\n",
            path="blog/tests/conftest.py",
        ),
        Valid("def publish(post: Post) -> None:\n    post.save()\n", path="blog/services.py"),
    ]
    INVALID = [
        Invalid(
            "def test_publish(client, post) -> None:\n    client.post('/')\n",
            1,
            34,
            path="blog/tests/test_views.py",
            expected="def test_publish(client, post):\n    client.post('/')\n",
        ),
        Invalid(
            "@pytest.fixture\ndef post(db, title: str = 'Hello'):\n"
            "    return PostFactory(title=title)\n",
            2,
            20,
            path="blog/tests/conftest.py",
            expected=(
                "@pytest.fixture\ndef post(db, title='Hello'):\n"
                "    return PostFactory(title=title)\n"
            ),
        ),
        Invalid(
            "def test_count(client):\n    count: int = Post.objects.count()\n"
            "    assert count == 0\n",
            2,
            11,
            path="blog/tests/test_models.py",
            expected=(
                "def test_count(client):\n    count = Post.objects.count()\n    assert count == 0\n"
            ),
        ),
        Invalid(
            "class PostTests(TestCase):\n    user: User\n",
            2,
            10,
            path="blog/tests.py",
        ),
    ]
    # Never looks into a function body that holds none of its trigger nodes, so an engine
    # with function-scoped parsing may leave such bodies out (DJG402 needs them: not set).
    TRIGGER_SCOPE = "function"
    AST_TRIGGERS = {
        ast.ClassDef: _record_class_kind,
        ast.FunctionDef: _has_annotation_ast,
        ast.AsyncFunctionDef: _has_annotation_ast,
        ast.AnnAssign: lambda node, ctx: True,
    }

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        #: one entry per enclosing def (None) or class (its kind)
        self.scopes: list[_ClassScope | None] = []
        #: kinds of the classes seen in the parsed code, by name (falls back to the facts)
        self.kinds: dict[str, str] = {}
        #: depth of enclosing Protocol classes / @overload defs (everything inside is exempt)
        self.exempt = 0

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Only test code."""
        return ctx.is_test and not ctx.is_migration

    def _known(self) -> Mapping[str, str]:
        facts = _FACTS.get(self.ctx)
        if facts is None or not facts.class_kinds:
            return self.kinds
        return {**facts.class_kinds, **self.kinds}

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Classify the class (does it need its annotations?)."""
        bases: list[str | None] = []
        metaclass: str | None = None
        for arg in node.bases:
            value = arg.value
            if isinstance(value, cst.Subscript):
                value = value.value
            bases.append(dotted_name(value))
        for keyword in node.keywords:
            if keyword.keyword is not None and keyword.keyword.value == "metaclass":
                metaclass = dotted_name(keyword.value) or "?"
        decorators = [self.ctx.info.qualify(d) for d in _decorator_names(node)]
        kind = class_kind(decorators, bases, metaclass, self._known())
        self.kinds[node.name.value] = kind
        self.scopes.append(_ClassScope(kind))
        if kind == PROTOCOL:
            self.exempt += 1

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        """Leave the class."""
        scope = self.scopes.pop()
        if scope is not None and scope.kind == PROTOCOL:
            self.exempt -= 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Report the parameter and return annotations."""
        self.scopes.append(None)
        decorators = _decorator_names(node)
        if any(d.rsplit(".", 1)[-1] == "overload" for d in decorators):
            self.exempt += 1
            return
        if self.exempt:
            return
        name = node.name.value
        dispatch = any(d.endswith(".register") for d in decorators)
        if not dispatch:
            for param in _params(node):
                annotation = param.annotation
                if annotation is None:
                    continue

                def fix(param: cst.Param = param) -> cst.CSTNode:
                    return param.with_changes(annotation=None, equal=_annotation_free_equal(param))

                what = (
                    f"annotation `{_source(annotation.annotation)}` of parameter "
                    f"`{_param_label(param)}`"
                )
                self.report(annotation, fix, fix_node=param, what=what)
        returns = node.returns
        if returns is not None:

            def fix_return() -> cst.CSTNode:
                return node.with_changes(returns=None)

            what = f"return annotation `-> {_source(returns.annotation)}` of `{name}`"
            self.report(returns, fix_return, fix_node=node, what=what)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Leave the function."""
        self.scopes.pop()
        if any(d.rsplit(".", 1)[-1] == "overload" for d in _decorator_names(node)):
            self.exempt -= 1

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        """Report annotated assignments, except in class bodies that need them."""
        if self.exempt:
            return
        scope = self.scopes[-1] if self.scopes else None
        if scope is not None and scope.kind != PLAIN:
            return
        target = _source(node.target)
        what = f"annotation `{_source(node.annotation.annotation)}` of `{target}`"
        value = node.value
        if value is None:
            self.report(node.annotation, what=what)
            return

        def fix() -> cst.CSTNode:
            return cst.Assign(
                targets=[cst.AssignTarget(target=node.target)],
                value=value,
                semicolon=node.semicolon,
            )

        self.report(node.annotation, fix, fix_node=node, what=what)


# ---------------------------------------------------------------------------------------
# DJG404 missing-docstring
# ---------------------------------------------------------------------------------------

# fmt: off
#: Methods that override a documented Django, DRF, django-filter or Channels hook,
#: by the API they belong to. Exempt from DJG404 in a class that has a base.
_HOOKS_BY_API = {
    "models": (
        "save", "delete", "clean", "clean_fields", "full_clean", "validate_unique",
        "validate_constraints", "get_absolute_url", "natural_key", "get_by_natural_key",
        "refresh_from_db", "from_db", "get_deferred_fields", "get_queryset",
    ),
    "model and form fields, widgets": (
        "deconstruct", "from_db_value", "to_python", "get_prep_value", "get_db_prep_value",
        "get_db_prep_save", "db_type", "rel_db_type", "db_parameters", "get_internal_type",
        "formfield", "value_to_string", "pre_save", "contribute_to_class", "check",
        "value_from_object", "get_default", "validate", "run_validators", "prepare_value",
        "widget_attrs", "has_changed", "bound_data", "get_context", "render",
        "value_from_datadict", "value_omitted_from_data", "format_value", "id_for_label",
        "use_required_attribute", "media", "get_bound_field",
    ),
    "expressions, lookups, transforms": (
        "as_sql", "resolve_expression", "get_source_expressions", "set_source_expressions",
        "relabeled_clone", "get_group_by_cols", "output_field", "get_db_converters",
        "select_format", "process_lhs", "process_rhs", "get_prep_lookup",
        "get_db_prep_lookup", "get_lookup", "get_transform", "get_placeholder",
    ),
    "migration operations": (
        "state_forwards", "database_forwards", "database_backwards", "describe", "reduce",
        "migration_name_fragment",
    ),
    "class-based views": (
        "dispatch", "setup", "http_method_not_allowed", "options", "get", "post", "put",
        "patch", "head", "trace", "get_object", "get_context_data", "get_template_names",
        "get_success_url", "form_valid", "form_invalid", "get_form", "get_form_class",
        "get_form_kwargs", "get_initial", "get_prefix", "get_context_object_name",
        "get_slug_field", "get_paginate_by", "get_paginator", "get_ordering",
        "paginate_queryset", "get_allow_empty", "render_to_response", "get_redirect_url",
        "test_func", "get_permission_required", "has_permission", "handle_no_permission",
        "get_login_url", "get_redirect_field_name", "get_success_message", "get_date_field",
        "get_dated_items",
    ),
    "DRF views and viewsets": (
        "get_serializer", "get_serializer_class", "get_serializer_context", "perform_create",
        "perform_update", "perform_destroy", "list", "create", "retrieve", "update",
        "partial_update", "destroy", "get_permissions", "get_authenticators",
        "get_throttles", "get_parsers", "get_renderers", "get_paginated_response",
        "filter_queryset", "initial", "finalize_response", "handle_exception",
        "get_exception_handler", "get_success_headers", "get_view_name",
        "get_view_description", "initialize_request", "check_permissions",
        "check_object_permissions", "get_renderer_context", "get_content_negotiator",
        "perform_authentication", "check_throttles",
    ),
    "DRF serializers, fields, permissions": (
        "to_representation", "to_internal_value", "run_validation", "get_fields",
        "get_validators", "get_extra_kwargs", "build_field", "get_attribute", "get_value",
        "get_initial", "bind", "is_valid", "has_object_permission",
    ),
    "authentication": (
        "authenticate", "authenticate_header", "authenticate_credentials", "get_user",
        "has_perm", "has_module_perms", "user_can_authenticate", "get_user_permissions",
        "get_group_permissions", "get_all_permissions", "with_perm", "create_user",
        "create_superuser",
    ),
    "DRF throttling, pagination, filters, routers, rendering": (
        "allow_request", "wait", "get_cache_key", "get_ident", "get_page_size",
        "get_next_link", "get_previous_link", "get_paginated_response_schema", "to_html",
        "get_schema_fields", "get_schema_operation_parameters", "parse", "get_routes",
        "get_urls", "get_lookup_regex", "get_default_basename", "determine_metadata",
        "determine_version", "reverse", "select_parser", "select_renderer",
    ),
    "django-filter": ("filter", "qs", "get_filterset", "get_filterset_class",
                      "get_filterset_kwargs"),
    "management commands, apps": (
        "handle", "add_arguments", "create_parser", "execute", "run_from_argv",
        "handle_label", "handle_app_config", "ready",
    ),
    "middleware, routers, validators": (
        "process_request", "process_response", "process_view", "process_exception",
        "process_template_response", "db_for_read", "db_for_write", "allow_relation",
        "allow_migrate", "get_help_text",
    ),
    "Channels consumers": (
        "connect", "disconnect", "receive", "receive_json", "encode_json", "decode_json",
        "http_request",
    ),
    "admin": (
        "get_list_display", "get_list_display_links", "get_list_filter",
        "get_readonly_fields", "get_fieldsets", "get_exclude", "get_inlines",
        "get_inline_instances", "get_prepopulated_fields", "get_autocomplete_fields",
        "get_search_fields", "get_search_results", "get_changeform_initial_data",
        "get_actions", "save_model", "delete_model", "save_formset", "save_related",
        "response_add", "response_change", "response_delete", "changelist_view",
        "change_view", "add_view", "delete_view", "lookups", "queryset", "choices",
        "expected_parameters", "has_output", "get_changelist", "lookup_allowed",
    ),
    "sitemaps, feeds, templates, email, hashers": (
        "items", "location", "lastmod", "priority", "changefreq", "title", "link",
        "description", "item_title", "item_description", "item_link", "item_pubdate",
        "item_author_name", "add_item_elements", "add_root_elements", "root_attributes",
        "item_attributes", "get_template_sources", "get_contents", "send_messages",
        "encode", "verify", "safe_summary", "must_update", "harden_runtime",
    ),
    "unittest, json, logging": (
        "setUp", "tearDown", "setUpClass", "tearDownClass", "setUpTestData", "default", "emit",
    ),
}
# fmt: on
HOOK_METHODS = frozenset(name for names in _HOOKS_BY_API.values() for name in names)
#: Hooks that are duck-typed (the documented classes need no base): exempt in any class.
DUCK_TYPED_HOOKS = frozenset(_HOOKS_BY_API["middleware, routers, validators"])
#: fnmatch patterns of hook families (``clean_<field>``, ``validate_<field>``, ...).
HOOK_PATTERNS = (
    "clean_*",
    "validate_*",
    "has_*_permission",
    "formfield_for_*",
    "websocket_*",
    "as_*",
)
_NESTED_CONFIG_CLASSES = frozenset({"Meta", "Config", "Arguments"})
_DOC_EXEMPT_DECORATORS = frozenset({"overload", "override"})
_ADMIN_DECORATORS = frozenset({"django.contrib.admin.display", "django.contrib.admin.action"})


def is_hook_name(name: str, ctx: FileContext) -> bool:
    """Whether ``name`` is a documented framework hook (built-in list or option), or the
    ``a``-prefixed async variant of one (``asave``, ``adelete``, ``aget_object``)."""
    if name in HOOK_METHODS or (name[:1] == "a" and name[1:] in HOOK_METHODS):
        return True
    patterns = (*HOOK_PATTERNS, *ctx.settings.list("docstring-hook-methods"))
    return any(glob_match(name, p) for p in patterns)


def _is_hook_override(name: str, info: ClassInfo | None, ctx: FileContext) -> bool:
    """Whether a method ``name`` of a class described by ``info`` implements a hook."""
    if info is None:
        return False
    if name in DUCK_TYPED_HOOKS:
        return True
    return info.has_bases and (name in info.callbacks or is_hook_name(name, ctx))


def _doc_exempt_decorators(decorators: Iterable[str], ctx: FileContext) -> bool:
    """``@overload`` stubs, ``@override``, property setters/deleters, admin display/actions."""
    for decorator in decorators:
        last = decorator.rsplit(".", 1)[-1]
        if last in _DOC_EXEMPT_DECORATORS:
            return True
        if "." in decorator and last in ("setter", "deleter"):
            return True
        if ctx.info.qualify(decorator) in _ADMIN_DECORATORS:
            return True
    return False


def _public(name: str) -> bool:
    return not name.startswith("_")


def _needs_docstring_def_ast(node: AstDef, ctx: FileContext) -> bool:
    facts = _scan_function(node, ctx)
    if not _public(node.name) or id(node) in facts.inner or _has_docstring_ast(node):
        return False
    if _doc_exempt_decorators(_ast_decorator_names(node), ctx):
        return False
    return not _is_hook_override(node.name, facts.methods.get(id(node)), ctx)


def _public_in(name: str, chain: Sequence[ast.AST], exported: frozenset[str] | None) -> bool:
    """Whether a def or class ``name`` enclosed by ``chain`` (its enclosing defs and
    classes, outermost first) is public API: ``MissingDocstring._is_public`` on the
    ``ast`` tree."""
    if not _public(name):
        return False
    if not chain:
        return exported is None or name in exported
    parent = chain[-1]
    return isinstance(parent, ast.ClassDef) and _public_in(parent.name, chain[:-1], exported)


def _assigns_help_ast(node: ast.ClassDef) -> bool:
    """:func:`_assigns_help` on the ``ast`` tree."""
    return any(
        isinstance(t, ast.Name) and t.id == "help"
        for s in node.body
        if isinstance(s, (ast.Assign, ast.AnnAssign))
        for t in (s.targets if isinstance(s, ast.Assign) else [s.target])
    )


def _needs_docstring_class_ast(node: ast.ClassDef, ctx: FileContext) -> bool:
    facts = _scan_class(node, ctx)
    if not _public(node.name) or id(node) in facts.inner or _has_docstring_ast(node):
        return False
    if id(node) in facts.nested_classes and node.name in _NESTED_CONFIG_CLASSES:
        return False
    return not (
        node is ctx.current_statement
        and node.name == "Command"
        and ctx.is_management_command
        and _assigns_help_ast(node)
    )


def _record_dunder_all(node: ast.Assign | ast.AnnAssign, ctx: FileContext) -> bool:
    if node is not ctx.current_statement:
        return False
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
        return False
    value = node.value
    facts = _facts(ctx)
    if isinstance(value, (ast.List, ast.Tuple)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
    ):
        facts.dunder_all = frozenset(e.value for e in value.elts)  # type: ignore[attr-defined]
    else:
        facts.dunder_all = None
    return False


@dataclass
class _DocScope:
    is_class: bool
    public: bool
    info: ClassInfo | None = None


def _plain_string(node: cst.BaseExpression) -> str | None:
    """The value of a string literal or of an implicit concatenation of string literals
    (``"filter_" "by_name"``), the literals ``ast`` folds into one ``Constant``; ``None``
    for anything else (f-strings, bytes)."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left = _plain_string(node.left)
        right = _plain_string(node.right)
        return left + right if left is not None and right is not None else None
    return None


def _class_info(node: cst.ClassDef) -> ClassInfo:
    bases: list[str | None] = []
    for arg in node.bases:
        value = arg.value
        if isinstance(value, cst.Subscript):
            value = value.value
        bases.append(dotted_name(value))
    callbacks = set()
    for statement in small_statements(node.body):
        if isinstance(statement, cst.Assign):
            targets = [t.target.value for t in statement.targets if isinstance(t.target, cst.Name)]
        elif isinstance(statement, cst.AnnAssign) and isinstance(statement.target, cst.Name):
            targets = [statement.target.value]
        else:
            continue
        call = statement.value
        if not isinstance(call, cst.Call):
            continue
        keywords = {}
        for arg in call.args:
            if arg.keyword is not None:
                literal = _plain_string(arg.value)
                if literal is not None:
                    keywords[arg.keyword.value] = literal
        for target in targets:
            name = _callback_name(dotted_name(call.func), keywords, target)
            if name:
                callbacks.add(name)
    return ClassInfo(_has_hook_bases(bases), frozenset(callbacks))


def _assigns_help(node: cst.ClassDef) -> bool:
    for statement in small_statements(node.body):
        if isinstance(statement, (cst.Assign, cst.AnnAssign)):
            targets = (
                [t.target for t in statement.targets]
                if isinstance(statement, cst.Assign)
                else [statement.target]
            )
            if any(isinstance(t, cst.Name) and t.value == "help" for t in targets):
                return True
    return False


class MissingDocstring(Rule):
    """Checks for public classes, methods and functions without a docstring."""

    CODE = "DJG404"
    NAME = "missing-docstring"
    MESSAGE = "public {kind} `{name}` has no docstring; add one that says what it does"
    RATIONALE = (
        "A docstring is the contract a reader (and `help()`, IDEs and DRF's browsable API) "
        "sees first; services, selectors and views without one are read line by line."
    )
    GUIDE = (
        "004: Use docstrings for public methods, especially for complex functionality "
        "(000: include docstrings for classes and public methods)"
    )
    OPTIONS = ("docstring-hook-methods",)
    NOTES = (
        SCOPE_NOTE + "Public means: the name has no leading `_` "
        "(so dunder methods such as `__str__` are not public), it is defined at module level "
        "or in the body of a public class, and, when the module sets `__all__` to a literal "
        "list, a module-level name is listed in it. Functions nested in functions, and "
        "classes defined inside functions (with their methods), are not public API and are "
        "not reported. Also exempt: nested `Meta` classes (and the `Config`/`Arguments` "
        "configuration classes of pydantic/django-ninja and graphene); a management "
        "command's `Command` class that sets `help`; `@overload` stubs, `@override` methods, "
        "property setters/deleters, and `@admin.display`/`@admin.action` methods (their "
        "`description` documents them); and, in a class that has a base other than "
        "`object`/`ABC`/`Generic`/`Protocol`, methods overriding a documented framework hook: "
        "`get_<field>` for a `SerializerMethodField` and any method named by a field's "
        "`method=`/`method_name=` (django-filter), the patterns "
        + ", ".join(f"`{p}`" for p in HOOK_PATTERNS)
        + ", the option `docstring-hook-methods`, the `a`-prefixed async variant of a hook "
        "(`asave`), and these names by API: "
        + "; ".join(
            f"{api}: " + ", ".join(f"`{n}`" for n in names) for api, names in _HOOKS_BY_API.items()
        )
        + ". The duck-typed hooks of middleware, database routers and password validators ("
        + ", ".join(f"`{n}`" for n in sorted(DUCK_TYPED_HOOKS))
        + ") are exempt in any class, since those classes need no base. "
        "Reported at the `def`/`class` line. An empty string literal counts as a "
        "docstring; an f-string or bytes literal does not."
    )
    VALID = [
        Valid(
            "def post_publish(*, post: Post) -> Post:\n"
            '    """Publish the post now and notify its subscribers."""\n'
        ),
        Valid(
            'class PostViewSet(ModelViewSet):\n    """Posts of the current user."""\n\n'
            "    def get_queryset(self) -> QuerySet[Post]:\n"
            "        return Post.objects.filter(author=self.request.user)\n\n"
            "    class Meta:\n        ordering = ['-created']\n"
        ),
        Valid(
            'class PostSerializer(serializers.ModelSerializer):\n    """A post."""\n\n'
            "    comment_count = serializers.SerializerMethodField()\n\n"
            "    def get_comment_count(self, obj: Post) -> int:\n"
            "        return obj.comments.count()\n"
        ),
        Valid("def _slugify(title: str) -> str:\n    return title.lower()\n"),
        Valid("def test_publish(post):\n    post.publish()\n", path="blog/tests/test_services.py"),
    ]
    INVALID = [
        Invalid("def post_publish(*, post: Post) -> Post:\n    return post\n", 1, 0),
        Invalid(
            "class PostService:\n    pass\n",
            1,
            0,
        ),
        Invalid(
            'class PostViewSet(ModelViewSet):\n    """Posts."""\n\n'
            "    @action(detail=True, methods=['post'])\n"
            "    def publish(self, request: Request, pk: int) -> Response:\n"
            "        return Response()\n",
            5,
            4,
        ),
    ]
    # Never looks into a function body that holds none of its trigger nodes, so an engine
    # with function-scoped parsing may leave such bodies out (DJG402 needs them: not set).
    TRIGGER_SCOPE = "function"
    AST_TRIGGERS = {
        ast.ClassDef: _needs_docstring_class_ast,
        ast.FunctionDef: _needs_docstring_def_ast,
        ast.AsyncFunctionDef: _needs_docstring_def_ast,
        ast.Assign: _record_dunder_all,
        ast.AnnAssign: _record_dunder_all,
    }

    REPORTS_FROM_AST = True

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.scopes: list[_DocScope] = []

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Not in test code or migrations."""
        return _not_test_or_migration(ctx)

    @classmethod
    def report_ast(cls, node: Any, ctx: FileContext, lines: Sequence[str]) -> list[Finding] | None:
        """:meth:`visit_ClassDef` and :meth:`visit_FunctionDef` on the ``ast`` tree."""
        if not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            return []
        chain = ctx.trigger_chain
        facts = _facts(ctx)
        name = node.name
        if not _public_in(name, chain, facts.dunder_all) or _has_docstring_ast(node):
            return []
        if isinstance(node, ast.ClassDef):
            if chain and name in _NESTED_CONFIG_CLASSES:
                return []
            command = name == "Command" and ctx.is_management_command
            if command and not chain and _assigns_help_ast(node):
                return []
            start = statement_start(node, "class", lines)
            kind = "class"
        else:
            if _doc_exempt_decorators(_ast_decorator_names(node), ctx):
                return []
            parent = chain[-1] if chain else None
            info = _class_info_ast(parent) if isinstance(parent, ast.ClassDef) else None
            if _is_hook_override(name, info, ctx):
                return []
            start = _def_start(node, lines)
            kind = "method" if chain else "function"
        if start is None:
            return None
        return [cls.ast_finding(*start, kind=kind, name=name)]

    def _is_public(self, name: str) -> bool:
        if not _public(name):
            return False
        if not self.scopes:
            facts = _FACTS.get(self.ctx)
            exported = facts.dunder_all if facts is not None else None
            return exported is None or name in exported
        parent = self.scopes[-1]
        return parent.is_class and parent.public

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Report an undocumented public class."""
        name = node.name.value
        public = self._is_public(name)
        self.scopes.append(_DocScope(True, public, _class_info(node)))
        if not public or has_docstring(node):
            return
        if len(self.scopes) > 1 and name in _NESTED_CONFIG_CLASSES:
            return
        if (
            len(self.scopes) == 1
            and name == "Command"
            and self.ctx.is_management_command
            and _assigns_help(node)
        ):
            return
        self.report(node, kind="class", name=name)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        """Leave the class."""
        self.scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Report an undocumented public function or method."""
        name = node.name.value
        public = self._is_public(name)
        parent = self.scopes[-1] if self.scopes else None
        self.scopes.append(_DocScope(False, False))
        if not public:
            return
        tree = self.ast_node(node)  # the docstring, also of a body left out of the parse
        in_ast = isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef))
        if _has_docstring_ast(tree) if in_ast else has_docstring(node):  # type: ignore[arg-type]
            return
        if _doc_exempt_decorators(_decorator_names(node), self.ctx):
            return
        if _is_hook_override(name, parent.info if parent is not None else None, self.ctx):
            return
        self.report(node, kind="method" if parent is not None else "function", name=name)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Leave the function."""
        self.scopes.pop()


# ---------------------------------------------------------------------------------------
# DJG405 generic-exception-raised / DJG406 exception-without-message
# ---------------------------------------------------------------------------------------

_GENERIC = frozenset({"Exception", "BaseException"})


def _generic_name(name: str | None, ctx: FileContext) -> str | None:
    """``Exception``/``BaseException`` when ``name`` is the builtin (not a class of the
    same name that the module imports or defines)."""
    if name is None:
        return None
    qualified = ctx.info.qualify(name)
    if qualified in ("builtins.Exception", "builtins.BaseException"):
        return qualified.removeprefix("builtins.")
    if name in _GENERIC and name not in ctx.info.imports and name not in ctx.info.top_level_names:
        return name
    return None


def _raised_name_ast(exc: ast.expr | None) -> str | None:
    if isinstance(exc, ast.Call):
        exc = exc.func
    return ast_dotted_name(exc)


def _raised_name(exc: cst.BaseExpression | None) -> str | None:
    if isinstance(exc, cst.Call):
        exc = exc.func
    return dotted_name(exc)


def _generic_raise_ast(node: ast.Raise, ctx: FileContext) -> bool:
    return _generic_name(_raised_name_ast(node.exc), ctx) is not None


class GenericExceptionRaised(Rule):
    """Checks for ``raise Exception(...)`` and ``raise BaseException(...)``."""

    CODE = "DJG405"
    NAME = "generic-exception-raised"
    MESSAGE = (
        "`raise {name}` raises a generic exception; raise a specific one (a built-in such as "
        "`ValueError`, or a project exception class)"
    )
    RATIONALE = (
        "Callers can only catch a generic `Exception` with `except Exception`, which also "
        "swallows every bug; a specific class says what went wrong and lets callers and "
        "DRF exception handlers react to it."
    )
    GUIDE = "004: Error handling: use typed exceptions with descriptive messages"
    NOTES = (
        'Bare (`raise Exception`) and called (`raise Exception("...")`) forms are reported, '
        "with or without `from`, at the `raise` statement, in all code but migrations (test "
        "helpers can raise `RuntimeError`). Re-raising (`raise`, `raise exc`) and names that "
        "the module imports or defines itself are left alone."
    )
    VALID = [
        Valid("def f(post: Post) -> None:\n    raise PostNotPublishedError(post.pk)\n"),
        Valid("try:\n    pay()\nexcept PaymentError:\n    raise\n"),
        Valid("from myapp.errors import Exception\n\nraise Exception('x')\n"),
    ]
    INVALID = [
        Invalid("def f(order: Order) -> None:\n    raise Exception('Payment failed')\n", 2, 4),
        Invalid("raise BaseException\n", 1, 0),
    ]
    TEXT_HINTS = ("Exception",)
    # Never looks into a function body that holds none of its trigger nodes, so an engine
    # with function-scoped parsing may leave such bodies out (DJG402 needs them: not set).
    TRIGGER_SCOPE = "function"
    AST_TRIGGERS = {ast.Raise: _generic_raise_ast}

    def visit_Raise(self, node: cst.Raise) -> None:
        """Report ``raise Exception``/``raise BaseException``."""
        name = _generic_name(_raised_name(node.exc), self.ctx)
        if name is not None:
            shown = f"{name}(...)" if isinstance(node.exc, cst.Call) else name
            self.report(node, name=shown)


#: Exceptions that are complete without a message (they carry their own meaning or a
#: default message): control flow, HTTP shortcuts, Channels and Celery signals, DRF's
#: exceptions with a status-specific ``default_detail``.
# fmt: off
MESSAGE_OPTIONAL = frozenset((
    # control flow and interpreter signals
    "NotImplementedError", "NotImplemented", "StopIteration", "StopAsyncIteration",
    "GeneratorExit", "SystemExit", "KeyboardInterrupt", "CancelledError",
    # Django: HTTP shortcuts and control flow
    "Http404", "PermissionDenied", "MiddlewareNotUsed", "RequestAborted", "EmptyResultSet",
    "FullResultSet",
    # Channels and Celery signals
    "DenyConnection", "StopConsumer", "AcceptConnection", "Ignore",
    # DRF: status-specific default_detail, and field control flow
    "NotAuthenticated", "AuthenticationFailed", "NotFound", "Throttled", "ParseError",
    "NotAcceptable", "UnsupportedMediaType", "SkipField",
))
# fmt: on
_MESSAGE_ATTRIBUTES = frozenset({"default_detail", "default_message", "message", "msg"})


def _looks_like_class(name: str) -> bool:
    """CapWords (``ValidationError``, ``HTTPError``); not a constant (``ERROR``)."""
    return name[:1].isupper() and any(c.islower() for c in name)


def _messageless_target_ast(exc: ast.expr | None) -> str | None:
    if isinstance(exc, ast.Call):
        if exc.args or exc.keywords:
            return None
        exc = exc.func
    return ast_dotted_name(exc)


def _messageless_target(exc: cst.BaseExpression | None) -> str | None:
    if isinstance(exc, cst.Call):
        if exc.args:
            return None
        exc = exc.func
    return dotted_name(exc)


def _without_message(name: str | None, ctx: FileContext) -> bool:
    if name is None:
        return False
    last = name.rsplit(".", 1)[-1]
    if not _looks_like_class(last) or last in MESSAGE_OPTIONAL:
        return False
    return last not in ctx.settings.list("message-optional-exceptions")


def _messageless_raise_ast(node: ast.Raise, ctx: FileContext) -> bool:
    return _without_message(_messageless_target_ast(node.exc), ctx)


def _record_message_class(node: ast.ClassDef, ctx: FileContext) -> bool:
    """Remember classes of this file that supply a default message."""
    if node is not ctx.current_statement:
        return False
    facts = _facts(ctx)
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name in (
            "__init__",
            "__str__",
        ):
            facts.message_classes.add(node.name)
            return False
        targets: list[ast.expr] = []
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign):
            targets = [statement.target]
        if any(isinstance(t, ast.Name) and t.id in _MESSAGE_ATTRIBUTES for t in targets):
            facts.message_classes.add(node.name)
            return False
    for base in _base_names_ast(node):
        if base in facts.message_classes:
            facts.message_classes.add(node.name)
            return False
    return False


class ExceptionWithoutMessage(Rule):
    """Checks for exceptions raised without a message."""

    CODE = "DJG406"
    NAME = "exception-without-message"
    MESSAGE = "`{name}` is raised without a message; pass one that says what went wrong"
    RATIONALE = (
        "An exception without a message shows up in logs and Sentry as a bare class name; "
        "the message is what tells the reader which record, value or state was wrong."
    )
    GUIDE = "004: Error handling: use typed exceptions with descriptive messages"
    OPT_IN = True
    OPTIONS = ("message-optional-exceptions",)
    NOTES = (
        "Reported at the `raise` statement when a class (a CapWords name: `ValueError`, "
        "`exceptions.ValidationError`) is raised bare or called with no argument at all "
        "(any positional or keyword argument counts as a message), with or without `from`. "
        "Re-raising (`raise`) and raising a variable (`raise exc`, lower-case or CONSTANT "
        "names) are left alone, and so are classes that are complete without a message: "
        + ", ".join(f"`{n}`" for n in sorted(MESSAGE_OPTIONAL))
        + " (DRF's have a status-specific `default_detail`), the names in the option "
        "`message-optional-exceptions`, and classes defined in the same module (or derived "
        "from one) that set `default_detail`/`default_message`/`message`/`msg` or define "
        "`__init__`/`__str__`."
    )
    VALID = [
        Valid("raise ValidationError(_('The title is required.'), code='required')\n"),
        Valid("def get_object(self):\n    raise Http404\n"),
        Valid("def f():\n    raise NotImplementedError\n"),
        Valid("try:\n    pay()\nexcept PaymentError as exc:\n    raise exc\n"),
        Valid(
            "class PostLocked(APIException):\n    status_code = 423\n"
            "    default_detail = 'This post is locked.'\n\n\ndef f():\n    raise PostLocked()\n"
        ),
    ]
    INVALID = [
        Invalid("def clean(self):\n    raise ValidationError()\n", 2, 4),
        Invalid("def f(post):\n    if post.locked:\n        raise PermissionError\n", 3, 8),
    ]
    TEXT_HINTS = ("raise",)
    # Never looks into a function body that holds none of its trigger nodes, so an engine
    # with function-scoped parsing may leave such bodies out (DJG402 needs them: not set).
    TRIGGER_SCOPE = "function"
    AST_TRIGGERS = {ast.Raise: _messageless_raise_ast, ast.ClassDef: _record_message_class}

    def visit_Raise(self, node: cst.Raise) -> None:
        """Report a class raised with no argument."""
        name = _messageless_target(node.exc)
        if not _without_message(name, self.ctx):
            return
        assert name is not None
        facts = _FACTS.get(self.ctx)
        if facts is not None and name in facts.message_classes:
            return
        self.report(node, name=name)
