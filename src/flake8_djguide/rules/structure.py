"""Django and DRF structure (DJG6xx), from guides 000, 001 and 004.

DRF views are protected with DRF permission classes and paginated with DRF
pagination classes, nested serializers are read-only unless the serializer
writes them itself, management commands let errors propagate, and each kind
of component lives in its conventional module.

Which classes of a file are DRF views, serializers, models, ... is decided
from flake8's ``ast`` tree of the whole file (:class:`FileFacts`), so that a
subclass of a view defined earlier in the same file counts even when the
engine parses only the statement that holds the finding. Names are resolved
through the file's imports (absolute and relative) the way a Django
developer writes them: ``viewsets.ModelViewSet`` after
``from rest_framework import viewsets``, ``ModelViewSet`` after
``from rest_framework.viewsets import ModelViewSet``, and aliases.
"""

from __future__ import annotations

import ast
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flake8_djguide.helpers import (
    ast_dotted_name,
    ast_nodes,
    call_arg,
    dotted_name,
    small_statements,
)
from flake8_djguide.rule import Invalid, Rule, Valid

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
else:
    from flake8_djguide._lazy import cst

# -- names --------------------------------------------------------------------------------

AUTH_DECORATORS = {
    "django.contrib.auth.decorators.login_required": "login_required",
    "django.contrib.auth.decorators.permission_required": "permission_required",
    "django.contrib.auth.decorators.user_passes_test": "user_passes_test",
}
AUTH_MIXINS = {
    "django.contrib.auth.mixins.LoginRequiredMixin": "LoginRequiredMixin",
    "django.contrib.auth.mixins.PermissionRequiredMixin": "PermissionRequiredMixin",
    "django.contrib.auth.mixins.UserPassesTestMixin": "UserPassesTestMixin",
}
AUTH_NAMES = frozenset({*AUTH_DECORATORS.values(), *AUTH_MIXINS.values()})
METHOD_DECORATOR = "django.utils.decorators.method_decorator"
API_VIEW = "rest_framework.decorators.api_view"
PAGINATOR = "django.core.paginator.Paginator"
MODEL_BASES = frozenset(
    {
        "django.db.models.Model",
        "django.contrib.gis.db.models.Model",
        "django.contrib.auth.models.AbstractUser",
        "django.contrib.auth.models.AbstractBaseUser",
        "django.contrib.auth.base_user.AbstractBaseUser",
        "django.contrib.auth.models.User",
        "django.contrib.auth.models.Group",
    }
)
_SAVE_METHODS = frozenset({"create", "update"})


# -- per-file facts from the ast tree --------------------------------------------------------


@dataclass
class ClassFacts:
    """What one top-level class of the file is, from its bases and methods."""

    name: str
    bases: list[str]
    methods: set[str]
    drf_view: bool = False
    django_view: bool = False
    serializer: bool = False
    model_serializer: bool = False
    saves: bool = False  # defines create()/update(), itself or through same-file bases
    nested_writer: bool = False  # a drf-writable-nested style base handles nested writes
    custom_internal: bool = False  # defines to_internal_value(), itself or through bases
    model: bool = False
    permission: bool = False
    filterset: bool = False
    auth_mixin: str | None = None  # the Django auth mixin it inherits, if any


@dataclass
class FileFacts:
    """Imports and top-level classes of one file, gathered once from its ``ast`` tree.

    ``imports`` maps a local name to its dotted origin; relative imports keep
    their leading dots (``from .serializers import A`` -> ``.serializers.A``).
    """

    imports: dict[str, str] = field(default_factory=dict)
    star_modules: set[str] = field(default_factory=set)
    classes: dict[str, ClassFacts] = field(default_factory=dict)
    functions: set[str] = field(default_factory=set)

    @classmethod
    def from_tree(cls, tree: ast.Module | None) -> FileFacts:
        """Scan the module body (and its ``if``/``try``/``with`` blocks) once."""
        facts = cls()
        if tree is None:
            return facts
        for node in _module_level(tree.body):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                facts._add_import(node)
            elif isinstance(node, ast.ClassDef):
                bases = _ast_bases(node)
                methods = {
                    s.name
                    for s in node.body
                    if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                }
                facts.classes[node.name] = facts._classify(ClassFacts(node.name, bases, methods))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                facts.functions.add(node.name)
        return facts

    def _add_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.imports[alias.asname] = alias.name
                else:
                    head = alias.name.split(".", 1)[0]
                    self.imports[head] = head
            return
        prefix = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                self.star_modules.add(prefix)
            else:
                joiner = "." if node.module else ""
                self.imports[alias.asname or alias.name] = f"{prefix}{joiner}{alias.name}"

    def resolve(self, dotted: str | None) -> str:
        """``dotted`` with its first component resolved through the imports."""
        if not dotted:
            return ""
        head, _, rest = dotted.partition(".")
        if head in self.classes:
            return dotted
        origin = self.imports.get(head)
        if origin is None:
            return dotted
        return f"{origin}.{rest}" if rest else origin

    def is_imported(self, dotted: str) -> bool:
        """Whether the first component of ``dotted`` comes from an import."""
        head = dotted.partition(".")[0]
        return head in self.imports and head not in self.classes

    # -- what a base class expression names ------------------------------------------------

    def local(self, dotted: str) -> ClassFacts | None:
        """The same-file class ``dotted`` names, if any."""
        return self.classes.get(dotted)

    def is_drf_view_base(self, dotted: str) -> bool:
        """``APIView``, ``GenericAPIView``, ``generics.*APIView``, any ``*ViewSet``."""
        local = self.local(dotted)
        if local is not None:
            return local.drf_view
        resolved = self.resolve(dotted)
        last = resolved.rsplit(".", 1)[-1]
        if last.endswith("ViewSet"):
            return True
        return resolved.startswith("rest_framework") and last.endswith("APIView")

    def is_django_view_base(self, dotted: str) -> bool:
        """Django's class-based views (``View``, ``TemplateView``, ``generic.ListView``...)."""
        local = self.local(dotted)
        if local is not None:
            return local.django_view
        resolved = self.resolve(dotted)
        return resolved.startswith(("django.views.", "django.contrib.auth.views.")) and (
            resolved.endswith("View")
        )

    def is_serializer_base(self, dotted: str) -> bool:
        """A serializer class: DRF's or any imported name ending in ``Serializer``."""
        local = self.local(dotted)
        if local is not None:
            return local.serializer
        resolved = self.resolve(dotted)
        return resolved.endswith("Serializer") and not resolved.startswith("django.")

    def is_model_serializer_base(self, dotted: str) -> bool:
        """DRF's ``ModelSerializer``/``HyperlinkedModelSerializer`` (or a same-file subclass)."""
        local = self.local(dotted)
        if local is not None:
            return local.model_serializer
        resolved = self.resolve(dotted)
        return resolved.startswith("rest_framework.") and resolved.endswith("ModelSerializer")

    def is_model_base(self, dotted: str) -> bool:
        """``models.Model``, Django's user models, ``<pkg>.models.<Name>Model`` bases."""
        local = self.local(dotted)
        if local is not None:
            return local.model
        resolved = self.resolve(dotted)
        if resolved in MODEL_BASES:
            return True
        module, _, last = resolved.rpartition(".")
        return (
            not resolved.startswith("django.")
            and self.is_imported(dotted)
            and module.rsplit(".", 1)[-1] == "models"
            and last.endswith("Model")
        )

    def is_permission_base(self, dotted: str) -> bool:
        """DRF permission classes (``BasePermission``, ``IsAuthenticated``, ...)."""
        local = self.local(dotted)
        if local is not None:
            return local.permission
        resolved = self.resolve(dotted)
        return resolved.startswith("rest_framework") and ".permissions." in resolved

    def is_filterset_base(self, dotted: str) -> bool:
        """django-filter's ``FilterSet`` (any name ending in ``FilterSet``)."""
        local = self.local(dotted)
        if local is not None:
            return local.filterset
        return self.resolve(dotted).endswith("FilterSet")

    def auth_mixin(self, dotted: str) -> str | None:
        """The Django auth mixin a base names, directly or through a same-file class."""
        local = self.local(dotted)
        if local is not None:
            return local.auth_mixin
        return AUTH_MIXINS.get(self.resolve(dotted))

    def auth_decorator(self, dotted: str | None) -> str | None:
        """``login_required``, ... when ``dotted`` names one of Django's auth decorators."""
        return AUTH_DECORATORS.get(self.resolve(dotted)) if dotted else None

    def is_api_view(self, dotted: str | None) -> bool:
        """Whether ``dotted`` is DRF's ``api_view`` decorator."""
        if not dotted:
            return False
        if self.resolve(dotted) == API_VIEW:
            return True
        return (
            dotted == "api_view"
            and dotted not in self.imports
            and dotted not in self.functions
            and "rest_framework.decorators" in self.star_modules
        )

    # -- what a class is ---------------------------------------------------------------------

    def is_drf_view_class(self, bases: Iterable[str]) -> bool:
        """A class with these bases is a DRF view."""
        return any(self.is_drf_view_base(b) for b in bases)

    def _classify(self, info: ClassFacts) -> ClassFacts:
        bases = info.bases
        info.drf_view = self.is_drf_view_class(bases)
        info.django_view = any(self.is_django_view_base(b) for b in bases)
        info.serializer = any(self.is_serializer_base(b) for b in bases)
        info.model_serializer = any(self.is_model_serializer_base(b) for b in bases)
        info.model = any(self.is_model_base(b) for b in bases)
        info.permission = any(self.is_permission_base(b) for b in bases)
        info.filterset = any(self.is_filterset_base(b) for b in bases)
        locals_ = [c for c in (self.local(b) for b in bases) if c is not None]
        info.saves = bool(info.methods & _SAVE_METHODS) or any(c.saves for c in locals_)
        info.custom_internal = "to_internal_value" in info.methods or any(
            c.custom_internal for c in locals_
        )
        info.nested_writer = any(
            "Nested" in self.resolve(b).rsplit(".", 1)[-1] for b in bases
        ) or any(c.nested_writer for c in locals_)
        for base in bases:
            mixin = self.auth_mixin(base)
            if mixin is not None:
                info.auth_mixin = mixin
                break
        return info

    def serializer_parent(self, bases: Sequence[str], methods: Iterable[str]) -> bool:
        """Whether a class with these bases and methods rejects writable nested fields:
        a ``ModelSerializer`` that defines neither ``create`` nor ``update``."""
        if not any(self.is_model_serializer_base(b) for b in bases):
            return False
        if set(methods) & _SAVE_METHODS:
            return False
        for base in bases:
            local = self.local(base)
            if local is not None and (local.saves or local.nested_writer):
                return False
            if local is None and "Nested" in self.resolve(base).rsplit(".", 1)[-1]:
                return False
        return True

    def nested_serializer(self, dotted: str | None) -> bool:
        """Whether calling ``dotted`` makes a nested serializer field: a serializer class of
        this file, or an imported name ending in ``Serializer`` (not DRF's own classes)."""
        if not dotted:
            return False
        local = self.local(dotted)
        if local is not None:
            return local.serializer and not local.custom_internal
        if not self.is_imported(dotted):
            return False
        resolved = self.resolve(dotted)
        return resolved.endswith("Serializer") and not resolved.startswith(
            ("rest_framework.", "django.")
        )


def _module_level(body: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, including those in ``if``/``try``/``with`` blocks."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            yield from _module_level(node.body)  # type: ignore[attr-defined]
            for handler in node.handlers:  # type: ignore[attr-defined]
                yield from _module_level(handler.body)
            yield from _module_level(node.orelse)  # type: ignore[attr-defined]
            yield from _module_level(node.finalbody)  # type: ignore[attr-defined]
        elif isinstance(node, ast.With):
            yield from _module_level(node.body)


_FACTS: weakref.WeakKeyDictionary[FileContext, FileFacts] = weakref.WeakKeyDictionary()


def file_facts(ctx: FileContext) -> FileFacts:
    """The :class:`FileFacts` of the file being checked (computed once per file)."""
    facts = _FACTS.get(ctx)
    if facts is None:
        facts = FileFacts.from_tree(ctx.tree)
        _FACTS[ctx] = facts
    return facts


# -- small shared helpers ---------------------------------------------------------------------


def _cst_bases(node: cst.ClassDef) -> list[tuple[cst.Arg, str]]:
    """``(argument, dotted name)`` of each base; ``ModelSerializer[Post]`` (the generics of
    djangorestframework-stubs) names ``ModelSerializer``."""
    bases = []
    for arg in node.bases:
        if arg.keyword is not None or arg.star:
            continue
        value = arg.value.value if isinstance(arg.value, cst.Subscript) else arg.value
        name = dotted_name(value)
        if name:
            bases.append((arg, name))
    return bases


def _cst_methods(node: cst.ClassDef) -> set[str]:
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    return {s.name.value for s in body if isinstance(s, cst.FunctionDef)}


def _cst_decorated(expr: cst.BaseExpression) -> str | None:
    """The dotted name a decorator expression calls or names (libcst)."""
    return dotted_name(expr.func if isinstance(expr, cst.Call) else expr)


def _ast_decorated(expr: ast.expr) -> str | None:
    """The dotted name a decorator expression calls or names (``ast``)."""
    return ast_dotted_name(expr.func if isinstance(expr, ast.Call) else expr)


def cst_auth_names(expr: cst.BaseExpression, facts: FileFacts) -> list[str]:
    """Django auth decorators applied by one decorator expression (also through
    ``method_decorator(...)``, with one decorator or a list of them)."""
    if isinstance(expr, cst.Call) and facts.resolve(dotted_name(expr.func)) == METHOD_DECORATOR:
        argument = call_arg(expr, 0, "decorator")
        if argument is None:
            return []
        value = argument.value
        items = (
            [e.value for e in value.elements if isinstance(e, cst.Element)]
            if isinstance(value, (cst.List, cst.Tuple))
            else [value]
        )
        names = [facts.auth_decorator(_cst_decorated(item)) for item in items]
        return [n for n in names if n]
    name = facts.auth_decorator(_cst_decorated(expr))
    return [name] if name else []


def ast_auth_names(expr: ast.expr, facts: FileFacts) -> list[str]:
    """:func:`cst_auth_names` on flake8's ``ast`` tree (for the triggers)."""
    if isinstance(expr, ast.Call) and facts.resolve(ast_dotted_name(expr.func)) == METHOD_DECORATOR:
        if expr.args and not isinstance(expr.args[0], ast.Starred):
            value: ast.expr | None = expr.args[0]
        else:
            value = next((k.value for k in expr.keywords if k.arg == "decorator"), None)
        if value is None:
            return []
        items = list(value.elts) if isinstance(value, (ast.List, ast.Tuple)) else [value]
        names = [facts.auth_decorator(_ast_decorated(item)) for item in items]
        return [n for n in names if n]
    name = facts.auth_decorator(_ast_decorated(expr))
    return [name] if name else []


def _ast_bases(node: ast.ClassDef) -> list[str]:
    """The dotted names of a class's bases (see :func:`_cst_bases`)."""
    names = (ast_dotted_name(b.value if isinstance(b, ast.Subscript) else b) for b in node.bases)
    return [name for name in names if name]


def _ast_is_api_view(node: ast.FunctionDef | ast.AsyncFunctionDef, facts: FileFacts) -> bool:
    return any(facts.is_api_view(_ast_decorated(d)) for d in node.decorator_list)


_DrfScope = tuple[str, str]  # ("class" | "function", name) of the enclosing DRF view


class _DrfViewScopes(Rule):
    """Tracks whether the walk is inside a DRF view class or ``@api_view`` function."""

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.facts = file_facts(ctx)
        #: one entry per enclosing class/function: the DRF view it is, or ``None``.
        self.scopes: list[_DrfScope | None] = []

    def drf_view(self) -> _DrfScope | None:
        """The innermost enclosing DRF view, if any."""
        for scope in reversed(self.scopes):
            if scope is not None:
                return scope
        return None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Enter a class: a DRF view when one of its bases is."""
        bases = [name for _arg, name in _cst_bases(node)]
        is_view = self.facts.is_drf_view_class(bases)
        self.scopes.append(("class", node.name.value) if is_view else None)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        """Leave a class."""
        self.scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Enter a function: a DRF view when decorated with ``@api_view``."""
        is_view = any(self.facts.is_api_view(_cst_decorated(d.decorator)) for d in node.decorators)
        self.scopes.append(("function", node.name.value) if is_view else None)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Leave a function."""
        self.scopes.pop()


# -- DJG601 ----------------------------------------------------------------------------------

_PERMISSION_FOR = {
    "login_required": "IsAuthenticated",
    "LoginRequiredMixin": "IsAuthenticated",
}


def _remedy_601(names: Sequence[str], kind: str) -> str:
    """What to use instead: ``kind`` is ``class``, ``method`` or ``function``."""
    login_only = all(_PERMISSION_FOR.get(n) == "IsAuthenticated" for n in names)
    if kind == "function":
        if login_only:
            return "add `@permission_classes([IsAuthenticated])` below `@api_view`"
        return "add `@permission_classes([...])` with a DRF `BasePermission` subclass"
    what = "`IsAuthenticated`" if login_only else "a DRF `BasePermission` subclass"
    if kind == "method":
        return (
            f"use `permission_classes` with {what} "
            "(on the view, or `@action(permission_classes=[...])`)"
        )
    if login_only:
        return "set `permission_classes = [IsAuthenticated]` on the view"
    return f"set `permission_classes` to {what}"


def _ast_trigger_601_class(node: ast.ClassDef, ctx: FileContext) -> bool:
    facts = file_facts(ctx)
    bases = _ast_bases(node)
    if not facts.is_drf_view_class(bases):
        return False
    if any(facts.auth_mixin(b) for b in bases):
        return True
    decorators = list(node.decorator_list)
    for method in _ast_methods(node.body):
        decorators.extend(method.decorator_list)
    return any(ast_auth_names(d, facts) for d in decorators)


def _ast_methods(
    body: Iterable[ast.stmt],
) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions whose innermost enclosing scope is the class owning ``body`` (also
    those under ``if``/``try``/``with``/loops in the class body)."""
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield statement
        elif not isinstance(statement, ast.ClassDef):
            for child in ast.iter_child_nodes(statement):
                if isinstance(child, ast.stmt):
                    yield from _ast_methods([child])
                elif isinstance(getattr(child, "body", None), list):  # except / case
                    yield from _ast_methods(child.body)  # type: ignore[attr-defined]


def _ast_trigger_601_function(
    node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext
) -> bool:
    facts = file_facts(ctx)
    return _ast_is_api_view(node, facts) and any(
        ast_auth_names(d, facts) for d in node.decorator_list
    )


class DjangoAuthOnDrfView(_DrfViewScopes):
    """Checks for Django's auth decorators and mixins on DRF views."""

    CODE = "DJG601"
    NAME = "django-auth-on-drf-view"
    MESSAGE = "Django's `{name}`{via} on DRF view `{view}`; {remedy}"
    RATIONALE = (
        "Django's `login_required`, `permission_required`, `user_passes_test` and the auth "
        "mixins check `request.user` before DRF has authenticated the request, so token and "
        "JWT clients are redirected to the HTML login page instead of getting a 401/403, and "
        "DRF's permission machinery (OPTIONS, browsable API, schema generation) does not see "
        "the check. DRF views declare access with `permission_classes`."
    )
    GUIDE = "000: Permissions: Use DRF permission classes, not Django's built-in"
    NOTES = (
        "A DRF view is a class deriving from `APIView`, `GenericAPIView` or one of DRF's "
        "generic views (`generics.ListAPIView`, ...) resolved through the imports, from any "
        "class whose name ends in `ViewSet`, or from a class of the same file that is a DRF "
        "view; or a function decorated with `@api_view`. Imported project base classes whose "
        "name ends in `APIView` but that do not come from `rest_framework` are not assumed to "
        "be DRF views. Reported: the decorator (directly, or through `method_decorator(...)` "
        "with one decorator or a list) on the view class, on its methods, or on the "
        "`@api_view` function; and the base class expression of a Django auth mixin, also "
        "when it is inherited through a mixin class defined in the same file. Names must "
        "resolve to `django.contrib.auth`: a project's own `LoginRequiredMixin` (often a "
        "DRF-aware one) is left alone. Views wrapped in `login_required(...)` in `urls.py` "
        "are not checked."
    )
    VALID = [
        Valid(
            "from rest_framework.permissions import IsAuthenticated\n"
            "from rest_framework.views import APIView\n\n\n"
            "class ProfileView(APIView):\n"
            "    permission_classes = [IsAuthenticated]\n"
        ),
        Valid(
            "from django.contrib.auth.mixins import LoginRequiredMixin\n"
            "from django.views.generic import ListView\n\n\n"
            "class OrderListView(LoginRequiredMixin, ListView):\n"
            "    template_name = 'orders/list.html'\n"
        ),
        Valid(
            "from django.contrib.auth.decorators import login_required\n\n\n"
            "@login_required\n"
            "def dashboard(request):\n"
            "    return render(request, 'dashboard.html')\n"
        ),
    ]
    INVALID = [
        Invalid(
            "from django.contrib.auth.mixins import LoginRequiredMixin\n"
            "from rest_framework.views import APIView\n\n\n"
            "class ProfileView(LoginRequiredMixin, APIView):\n"
            "    pass\n",
            5,
            18,
        ),
        Invalid(
            "from django.contrib.auth.decorators import login_required\n"
            "from rest_framework.decorators import api_view\n\n\n"
            "@api_view(['GET'])\n"
            "@login_required\n"
            "def profile(request):\n"
            "    return Response({})\n",
            6,
            0,
        ),
        Invalid(
            "from django.contrib.auth.decorators import permission_required\n"
            "from django.utils.decorators import method_decorator\n"
            "from rest_framework import viewsets\n\n\n"
            "class OrderViewSet(viewsets.ModelViewSet):\n"
            "    @method_decorator(permission_required('shop.view_order'))\n"
            "    def list(self, request):\n"
            "        return super().list(request)\n",
            7,
            4,
        ),
    ]
    TEXT_HINTS = tuple(sorted(AUTH_NAMES))
    AST_TRIGGERS = {
        ast.ClassDef: _ast_trigger_601_class,
        ast.FunctionDef: _ast_trigger_601_function,
        ast.AsyncFunctionDef: _ast_trigger_601_function,
    }

    def _report_decorators(self, decorators: Sequence[cst.Decorator], view: str, kind: str) -> None:
        for decorator in decorators:
            names = list(dict.fromkeys(cst_auth_names(decorator.decorator, self.facts)))
            if names:
                shown = "`, `".join(names)
                remedy = _remedy_601(names, kind)
                self.report(decorator, name=shown, via="", view=view, remedy=remedy)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Report auth mixins among the bases and auth decorators on a DRF view class."""
        super().visit_ClassDef(node)
        if self.scopes[-1] is None:
            return
        view = node.name.value
        self._report_decorators(node.decorators, view, "class")
        for arg, base in _cst_bases(node):
            if self.facts.is_drf_view_base(base):
                continue  # a DRF view base carrying a mixin is reported where it is defined
            mixin = self.facts.auth_mixin(base)
            if mixin is None:
                continue
            via = "" if AUTH_MIXINS.get(self.facts.resolve(base)) else f" (through `{base}`)"
            remedy = _remedy_601([mixin], "class")
            self.report(arg.value, name=mixin, via=via, view=view, remedy=remedy)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Report auth decorators on ``@api_view`` functions and on DRF view methods."""
        enclosing = self.scopes[-1] if self.scopes else None
        super().visit_FunctionDef(node)
        if self.scopes[-1] is not None:
            self._report_decorators(node.decorators, node.name.value, "function")
        elif enclosing is not None and enclosing[0] == "class":
            self._report_decorators(node.decorators, enclosing[1], "method")


# -- DJG602 ----------------------------------------------------------------------------------


_TRY_TYPES: tuple[type[ast.AST], ...] = tuple(
    t for t in (ast.Try, getattr(ast, "TryStar", None)) if isinstance(t, type)
)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
# Exceptions that real commands catch as control flow, not as a failure: a look-up miss
# (`except Model.DoesNotExist:` then create it), an optional dependency, an object that
# already exists, and the user cancelling an interactive prompt.
_EXPECTED_EXCEPTIONS = frozenset(
    {
        "DoesNotExist",
        "ObjectDoesNotExist",
        "KeyError",
        "IndexError",
        "AttributeError",
        "StopIteration",
        "ImportError",
        "ModuleNotFoundError",
        "FileExistsError",
        "IntegrityError",
        "KeyboardInterrupt",
        "EOFError",
        "NotRunningInTTYException",
    }
)
_EXIT_CALLS = frozenset({"sys.exit", "exit", "quit", "os._exit", "SystemExit"})
_INTERACTIVE_CALLS = frozenset({"input", "getpass", "getpass.getpass"})
_REMOVAL_CALLS = frozenset({"remove", "unlink", "rmdir", "rmtree", "removedirs", "delete"})
_LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
)


def _own_nodes(statements: Sequence[ast.AST]) -> Iterator[ast.AST]:
    """The nodes of ``statements``, not descending into nested functions and classes."""
    stack = list(statements)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _SCOPES):
                stack.append(child)


def _call_name(node: ast.AST) -> str | None:
    return ast_dotted_name(node.func) if isinstance(node, ast.Call) else None


def _fails(statements: Sequence[ast.AST]) -> bool:
    """Whether ``statements`` raise or exit with a non-zero status somewhere."""
    for node in _own_nodes(statements):
        if isinstance(node, ast.Raise):
            return True
        if _call_name(node) in _EXIT_CALLS:
            assert isinstance(node, ast.Call)
            arg = node.args[0] if node.args else None
            if not (arg is None or (isinstance(arg, ast.Constant) and not arg.value)):
                return True
    return False


def _exception_names(handler: ast.ExceptHandler) -> list[str]:
    kind = handler.type
    items = kind.elts if isinstance(kind, ast.Tuple) else [kind] if kind is not None else []
    return [(ast_dotted_name(item) or "").rsplit(".", 1)[-1] for item in items]


def _reports_or_counts(statements: Sequence[ast.AST]) -> bool:
    """Whether a handler reports the error (output, log, traceback) or counts it."""
    for node in _own_nodes(statements):
        if isinstance(node, ast.AugAssign):
            return True
        name = _call_name(node)
        if name is None:
            continue
        head, _, last = name.rpartition(".")
        if (
            name == "print"
            or last == "append"
            or head.startswith("traceback")
            or head.endswith(("stderr", "stdout"))
            or (last in _LOG_METHODS and "log" in head.lower())
        ):
            return True
    return False


def _records(statements: Sequence[ast.AST]) -> bool:
    """Whether a handler records the failure in a variable (assignment, count, list)."""
    for node in _own_nodes(statements):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            return True
        name = _call_name(node)
        if name is not None and name.rsplit(".", 1)[-1] in {"append", "add", "extend"}:
            return True
    return False


def _is_fallback(statements: Sequence[ast.AST]) -> bool:
    """``except OSError: size = 0``: the handler only gives a name a default value."""
    return all(isinstance(s, (ast.Assign, ast.AnnAssign, ast.Pass)) for s in statements) and any(
        isinstance(s, (ast.Assign, ast.AnnAssign)) for s in statements
    )


def _is_best_effort_removal(body: Sequence[ast.AST], handler: ast.ExceptHandler) -> bool:
    """``try: os.rmdir(path)`` / ``except OSError: pass``: a clean-up allowed to fail."""
    if len(body) != 1 or not isinstance(body[0], ast.Expr):
        return False
    name = _call_name(body[0].value)
    return (
        name is not None
        and name.rsplit(".", 1)[-1] in _REMOVAL_CALLS
        and all(isinstance(s, ast.Pass) for s in handler.body)
        and handler.type is not None
        and not ({"Exception", "BaseException"} & set(_exception_names(handler)))
    )


def _returns_to_caller(statements: Sequence[ast.stmt], names: Sequence[str]) -> bool:
    """In a helper of the command: the handler returns a value that tells the caller
    (``return False``, ``return {"valid": False, ...}``, ``return "; ".join(e.messages)``),
    or, for a named exception, returns nothing after assigning defaults (a missing
    directory lists no files)."""
    returns = [node for node in _own_nodes(statements) if isinstance(node, ast.Return)]
    if not returns:
        return False
    if any(r.value is not None and not _is_none(r.value) for r in returns):
        return True
    broad = not names or bool({"Exception", "BaseException"} & set(names))
    return not broad and all(
        isinstance(s, (ast.Return, ast.Pass, ast.Assign, ast.AnnAssign)) for s in statements
    )


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _handler_swallows(
    node: ast.AST,
    handler: ast.ExceptHandler,
    in_loop: bool,
    block_rest: Sequence[ast.stmt],
    following: Sequence[ast.stmt],
    function: str | None,
) -> bool:
    """Whether ``handler`` lets the command go on (and exit 0) after a failure."""
    body = handler.body
    if _fails(body):
        return False
    names = _exception_names(handler)
    if names and all(n in _EXPECTED_EXCEPTIONS or n.endswith("DoesNotExist") for n in names):
        return False
    calls = {_call_name(n) for n in _own_nodes(body)}
    if calls & _INTERACTIVE_CALLS:
        return False
    if in_loop and any(c is not None and c.rsplit(".", 1)[-1] == "sleep" for c in calls):
        return False  # a retry loop waiting for a service
    if in_loop and _reports_or_counts(body):
        return False  # a batch reports (or counts) the failed item and goes on
    if _is_fallback(body) or _is_best_effort_removal(getattr(node, "body", []), handler):
        return False
    if function not in (None, "handle") and _returns_to_caller(body, names):
        return False
    # The code after the ``try`` fails the command anyway, or fails it when the handler
    # recorded the failure (``errors += 1`` ... ``if errors: raise CommandError(...)``).
    if any(_fails([s]) for s in block_rest if isinstance(s, (ast.Raise, ast.Expr))):
        return False
    return not (_records(body) and _fails(following))


def _swallowing_tries(ctx: FileContext) -> dict[int, ast.ExceptHandler]:
    """The ``try`` statements of the file (by ``id`` of the ``ast`` node) with a handler
    that swallows a failure, and that handler."""
    cache: dict[int, ast.ExceptHandler] | None = ctx.__dict__.get("_djguide_swallowing")
    if cache is not None:
        return cache
    found: dict[int, ast.ExceptHandler] = {}

    def walk(
        body: Sequence[ast.stmt], in_loop: bool, after: list[ast.stmt], function: str | None
    ) -> None:
        for index, statement in enumerate(body):
            rest = body[index + 1 :]
            following = [*rest, *after]
            if isinstance(statement, _TRY_TYPES):
                for handler in getattr(statement, "handlers", []):
                    if _handler_swallows(statement, handler, in_loop, rest, following, function):
                        found[id(statement)] = handler
                        break
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                walk(statement.body, False, [], statement.name)
                continue
            if isinstance(statement, ast.ClassDef):
                walk(statement.body, False, [], None)
                continue
            inner_loop = in_loop or isinstance(statement, _LOOPS)
            for name in ("body", "orelse", "finalbody"):
                block = getattr(statement, name, None)
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    walk(block, inner_loop, following, function)
            for handler in getattr(statement, "handlers", []):
                walk(handler.body, inner_loop, following, function)
            for case in getattr(statement, "cases", []):
                walk(case.body, inner_loop, following, function)

    tree = ctx.tree
    if isinstance(tree, ast.Module):
        walk(tree.body, False, [], None)
    ctx.__dict__["_djguide_swallowing"] = found
    return found


class ExceptionHandlingInCommand(Rule):
    """Checks for ``try`` statements that swallow a failure in management commands."""

    CODE = "DJG602"
    NAME = "exception-handling-in-command"
    MESSAGE = (
        "`try` statement in management command `{command}` swallows the error in `{handler}` "
        "and the command still exits 0; let the exception propagate, or raise `CommandError` "
        "from it, so the command fails with a non-zero exit status"
    )
    RATIONALE = (
        "A management command that catches exceptions and prints a message hides the "
        "traceback and exits with status 0, so cron jobs, deploy scripts and CI report "
        "success for a failed run. Uncaught exceptions already make `manage.py` print the "
        "error and exit non-zero, and `raise CommandError(...)` is Django's way to fail "
        "with a message."
    )
    GUIDE = "004: Never use exception checking in management commands"
    OPTIONS = ("command-patterns",)
    OPT_IN = True
    NOTES = (
        "Opt-in: on real management commands most `try` statements are the documented way "
        "to fail (`raise CommandError(...)`), retry loops, look-up misses used as control "
        "flow or per-item errors of batch commands, and even among the handlers that do "
        "swallow a failure, whether exiting 0 is wrong is a judgement call (a command that "
        "ignores another command's error on purpose, a helper that reports a failed delete "
        "and lets the batch go on): the rule is not right 9 times in 10 there, so it runs "
        "only for teams that select it by its full code. "
        "The guide line is about exception handling that hides a failed run, so only a "
        "`try` with an `except` clause that swallows the failure is reported (at the `try`). "
        "A handler is left alone when it re-raises (`raise`, `raise CommandError(...)`) or "
        "exits with a non-zero status (`sys.exit(1)`, `SystemExit`); when it catches only "
        "expected misses used as control flow (`Model.DoesNotExist`, `ObjectDoesNotExist`, "
        "`KeyError`, `IndexError`, `AttributeError`, `StopIteration`, `ImportError` of an "
        "optional dependency, `FileExistsError`, `IntegrityError` of an object that already "
        "exists, `KeyboardInterrupt`/`EOFError`/`NotRunningInTTYException` of an interactive "
        "prompt); when it asks the user (`input()`, `getpass()`); when, inside a loop, it "
        "sleeps (a retry loop waiting for a service) or reports or counts the failed item "
        "and goes on (a batch command: `self.stderr.write(...)`, a log call, `print`, "
        "`errors += 1`); when it only gives a name a fallback value (`except OSError: "
        "size = 0`); for a best-effort removal (`try: os.rmdir(path)` / `except OSError: "
        "pass`); and when the code after the `try` fails the command anyway (a `raise` or "
        "non-zero exit right after it in the same block, or one anywhere after it when the "
        "handler recorded the failure in a variable). `try`/`finally` without `except` "
        "swallows nothing. Modules in `management/commands/` whose name starts with `_` "
        "(helpers Django does not load as commands) and `__init__.py` are not command "
        "modules and are left alone, as are tests."
    )
    VALID = [
        Valid(
            "from django.core.management.base import BaseCommand, CommandError\n\n\n"
            "class Command(BaseCommand):\n"
            "    def handle(self, *args, **options):\n"
            "        try:\n"
            "            import_posts(options['path'])\n"
            "        except FileNotFoundError as error:\n"
            "            raise CommandError(error)\n",
            path="blog/management/commands/import_posts.py",
        ),
        Valid(
            "from django.core.management.base import BaseCommand\n\n\n"
            "class Command(BaseCommand):\n"
            "    def handle(self, *args, **options):\n"
            "        import_posts(options['path'])\n",
            path="blog/management/commands/import_posts.py",
        ),
        Valid(
            "def read_rows(path):\n    try:\n        return load(path)\n    except OSError:\n"
            "        return []\n",
            path="blog/services.py",
        ),
        Valid(
            "def read_csv(path):\n    try:\n        return load(path)\n    except OSError:\n"
            "        return []\n",
            path="blog/management/commands/_csv.py",
        ),
    ]
    INVALID = [
        Invalid(
            "from django.core.management.base import BaseCommand\n\n\n"
            "class Command(BaseCommand):\n"
            "    def handle(self, *args, **options):\n"
            "        try:\n"
            "            import_posts(options['path'])\n"
            "        except FileNotFoundError as error:\n"
            "            self.stderr.write(f'No such file: {error}')\n",
            6,
            8,
            path="blog/management/commands/import_posts.py",
        ),
    ]
    TEXT_HINTS = ("try",)
    AST_TRIGGERS = {
        node_type: (lambda node, ctx: id(node) in _swallowing_tries(ctx))
        for node_type in _TRY_TYPES
    }
    # Looks only at the trigger node and its enclosing statements: other bodies may be left out.
    TRIGGER_SCOPE = "function"

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Command modules only (not ``_helpers.py``, ``__init__.py``, tests, migrations)."""
        return (
            ctx.is_management_command
            and not ctx.basename.startswith("_")
            and not ctx.is_test
            and not ctx.is_migration
        )

    def _command(self) -> str:
        base = self.ctx.basename
        return base[:-3] if base.endswith(".py") else base

    def _check(self, node: cst.Try | cst.TryStar) -> None:
        tree = self.ast_node(node)
        handler = _swallowing_tries(self.ctx).get(id(tree)) if tree is not None else None
        if handler is None:
            return
        kind = f"except {ast.unparse(handler.type)}" if handler.type is not None else "except"
        self.report(node, command=self._command(), handler=kind)

    def visit_Try(self, node: cst.Try) -> None:
        """Report the ``try`` whose handler swallows a failure."""
        self._check(node)

    def visit_TryStar(self, node: cst.TryStar) -> None:
        """Report the ``try`` of ``try``/``except*`` whose handler swallows a failure."""
        self._check(node)


# -- DJG603 ----------------------------------------------------------------------------------


def _ast_trigger_603(node: ast.AST, ctx: FileContext) -> bool:
    if isinstance(node, ast.Attribute):
        named = node.attr == "Paginator"
    elif isinstance(node, ast.Name):
        named = node.id == "Paginator" or ctx.info.imports.get(node.id, "").endswith(".Paginator")
    else:
        return False
    return named and _statement_has_drf_view(ctx)


def _statement_has_drf_view(ctx: FileContext) -> bool:
    """Whether the current top-level statement holds a DRF view class or ``@api_view``
    function (only there is a ``Paginator`` reported)."""
    statement = ctx.current_statement
    if statement is None:
        return False
    cache: dict[int, bool] = ctx.__dict__.setdefault("_djguide_drf_view", {})
    found = cache.get(id(statement))
    if found is None:
        facts = file_facts(ctx)
        found = False
        for node in ast_nodes(statement):
            if isinstance(node, ast.ClassDef):
                found = facts.is_drf_view_class(_ast_bases(node))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found = _ast_is_api_view(node, facts)
            if found:
                break
        cache[id(statement)] = found
    return found


class DjangoPaginatorInDrf(_DrfViewScopes):
    """Checks for Django's ``Paginator`` used inside DRF views."""

    CODE = "DJG603"
    NAME = "django-paginator-in-drf"
    MESSAGE = (
        "Django's `Paginator` in DRF view `{view}`; use a DRF pagination class "
        "(`pagination_class` on generic views and viewsets, "
        "`PageNumberPagination().paginate_queryset(...)` elsewhere)"
    )
    RATIONALE = (
        "DRF's pagination classes produce the standard paginated response (`count`, `next`, "
        "`previous`, `results`), read the page from the query string with validation and "
        "404 handling, appear in the schema and browsable API, and are configured once in "
        "`REST_FRAMEWORK`. A hand-rolled Django `Paginator` in a view repeats all of that "
        "differently in every view."
    )
    GUIDE = "000: Pagination: Use DRF pagination classes"
    NOTES = (
        "Any use of `django.core.paginator.Paginator` (resolved through the imports, aliases "
        "included) inside a DRF view class (see DJG601 for what counts as one) or an "
        "`@api_view` function is reported, at the call or at the name. Helper functions at "
        "module level that views call are not views and are left alone, as are plain Django "
        "views and DRF pagination classes (which wrap Django's `Paginator` by design). "
        "Detail endpoints are left alone: a `Paginator` in a `retrieve()` method or an "
        "`@action(detail=True)` (`@detail_route`) method pages a list nested in one object "
        "(a post's comments inside the post's response), which DRF's pagination classes do "
        "not serve (they page the view's top-level list and raise 404 for a page out of "
        "range, where such code usually falls back to the first or last page). So is any "
        "method of the view that pages within the one object its URL names: it calls "
        '`self.get_object()` or reads the `pk` URL keyword (`self.kwargs["pk"]`), as a '
        "helper that `retrieve()` calls does (a `<parent>_pk` keyword of a nested route "
        "names a parent of a list, and stays reported). List "
        "endpoints (`list()`, `get()` of a list view, `@action(detail=False)`, `@api_view` "
        "functions) are reported."
    )
    VALID = [
        Valid(
            "from rest_framework import generics\n\n\n"
            "class PostList(generics.ListAPIView):\n"
            "    queryset = Post.objects.all()\n"
            "    serializer_class = PostSerializer\n"
            "    pagination_class = PageNumberPagination\n"
        ),
        Valid(
            "from django.core.paginator import Paginator\n\n\n"
            "def post_list(request):\n"
            "    page = Paginator(Post.objects.all(), 20).get_page(request.GET.get('page'))\n"
            "    return render(request, 'blog/list.html', {'page': page})\n"
        ),
    ]
    INVALID = [
        Invalid(
            "from django.core.paginator import Paginator\n"
            "from rest_framework.decorators import api_view\n\n\n"
            "@api_view(['GET'])\n"
            "def post_list(request):\n"
            "    paginator = Paginator(Post.objects.all(), 20)\n"
            "    return Response(paginator.page(1).object_list)\n",
            7,
            16,
        ),
    ]
    TEXT_HINTS = ("aginator",)
    AST_TRIGGERS = {ast.Name: _ast_trigger_603, ast.Attribute: _ast_trigger_603}

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        #: ids of nodes of the chunk being walked that are not a use of ``Paginator``
        self.skip: set[int] = set()
        self.imports = 0
        #: one entry per enclosing function: whether it is a detail endpoint of a view class
        self.details: list[bool] = []
        #: one entry per enclosing function: the function when it is a method of a view class
        self.methods: list[cst.FunctionDef | None] = []

    def begin_chunk(self, index: int) -> None:
        """Forget the previous chunk's nodes: its tree is released once walked (in flake8
        runs), and a node of this chunk can get the id of one of them."""
        super().begin_chunk(index)
        self.skip.clear()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Enter a function: note detail endpoints (``retrieve()``, detail actions)."""
        super().visit_FunctionDef(node)
        in_class = len(self.scopes) > 1 and self.scopes[-2] is not None
        self.details.append(in_class and _is_detail_endpoint(node))
        self.methods.append(node if in_class else None)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Leave a function."""
        super().leave_FunctionDef(node)
        self.details.pop()
        self.methods.pop()

    def _is_paginator(self, node: cst.BaseExpression) -> bool:
        name = dotted_name(node)
        if name is None:
            return False
        head = name.partition(".")[0]
        if head in self.facts.classes or head in self.facts.functions:
            return False  # the module's own ``Paginator``
        # function-level imports are only in ``ctx.info``; relative ones only in the facts
        return self.facts.resolve(name) == PAGINATOR or self.ctx.info.qualify(name) == PAGINATOR

    def _check(self, node: cst.CSTNode, expr: cst.BaseExpression) -> None:
        view = self.drf_view()
        if view is None or self.imports or id(expr) in self.skip or any(self.details):
            return
        if not self._is_paginator(expr):
            return
        if any(m is not None and _looks_up_one_object(m) for m in self.methods):
            return
        self.skip.add(id(expr))
        self.report(node, view=view[1])

    def visit_Import(self, node: cst.Import) -> None:
        """Names in imports are not uses."""
        self.imports += 1

    def leave_Import(self, node: cst.Import) -> None:
        """Leave an import."""
        self.imports -= 1

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        """Names in imports are not uses."""
        self.imports += 1

    def leave_ImportFrom(self, node: cst.ImportFrom) -> None:
        """Leave an import."""
        self.imports -= 1

    def visit_Arg(self, node: cst.Arg) -> None:
        """A keyword name is not a use."""
        if node.keyword is not None:
            self.skip.add(id(node.keyword))

    def visit_Call(self, node: cst.Call) -> None:
        """``Paginator(queryset, 20)``: report at the call."""
        self._check(node, node.func)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        """``paginator.Paginator`` used without a call."""
        self.skip.add(id(node.attr))
        self._check(node, node)

    def visit_Name(self, node: cst.Name) -> None:
        """``Paginator`` used without a call (``pagination_class = Paginator``)."""
        self._check(node, node)


def _is_detail_endpoint(node: cst.FunctionDef) -> bool:
    """A view method serving one object: ``retrieve()``, ``@action(detail=True)`` or
    ``@detail_route(...)`` (DRF before 3.10)."""
    if node.name.value == "retrieve":
        return True
    for decorator in node.decorators:
        call = decorator.decorator
        if not isinstance(call, cst.Call):
            continue
        name = (dotted_name(call.func) or "").rsplit(".", 1)[-1]
        if name == "detail_route":
            return True
        if name == "action" and any(
            arg.keyword is not None
            and arg.keyword.value == "detail"
            and isinstance(arg.value, cst.Name)
            and arg.value.value == "True"
            for arg in call.args
        ):
            return True
    return False


def _looks_up_one_object(method: cst.FunctionDef) -> bool:
    """Whether a view method works on the one object its URL names: it calls
    ``self.get_object()`` or reads the ``pk`` URL keyword (``self.kwargs["pk"]``,
    ``self.kwargs.get("pk")``, ``kwargs["pk"]``). Only run when a finding is due."""
    stack: list[cst.CSTNode] = [method.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call):
            name = dotted_name(node.func)
            if name == "self.get_object":
                return True
            if (
                name in ("self.kwargs.get", "kwargs.get")
                and node.args
                and _is_pk_string(node.args[0].value)
            ):
                return True
        elif isinstance(node, cst.Subscript) and _is_pk_subscript(node):
            return True
        stack.extend(node.children)
    return False


def _is_pk_subscript(node: cst.Subscript) -> bool:
    """``self.kwargs["pk"]`` or ``kwargs["pk"]``."""
    return dotted_name(node.value) in ("self.kwargs", "kwargs") and any(
        isinstance(e.slice, cst.Index) and _is_pk_string(e.slice.value) for e in node.slice
    )


def _is_pk_string(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.SimpleString) and node.value[1:-1] == "pk"


# -- DJG604 ----------------------------------------------------------------------------------


def _ast_trigger_604(node: ast.ClassDef, ctx: FileContext) -> bool:
    facts = file_facts(ctx)
    methods = [s.name for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not facts.serializer_parent(_ast_bases(node), methods):
        return False
    for statement in node.body:
        value = statement.value if isinstance(statement, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, ast.Call) and facts.nested_serializer(ast_dotted_name(value.func)):
            return True
    return False


def _is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def _without_comments(
    whitespace: cst.BaseParenthesizableWhitespace,
) -> cst.BaseParenthesizableWhitespace:
    """The line break and indentation of ``whitespace``, without its comment or blank lines."""
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return whitespace.with_changes(
            first_line=cst.TrailingWhitespace(newline=whitespace.first_line.newline),
            empty_lines=[],
        )
    return whitespace


def add_read_only(call: cst.Call) -> cst.Call:
    """``call`` with ``read_only=True``: an existing ``read_only=`` argument is set to
    ``True``, otherwise the argument is appended after the others, following the call's
    layout (one argument per line stays one per line, a trailing comma stays, comments
    stay on their lines)."""
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == "read_only":
            args[index] = arg.with_changes(value=cst.Name("True"))
            return call.with_changes(args=args)
    new = cst.Arg(
        keyword=cst.Name("read_only"),
        value=cst.Name("True"),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""),
            whitespace_after=cst.SimpleWhitespace(""),
        ),
    )
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    # what separates two arguments in this call: the whitespace after the comma before
    # the last argument, or (one argument) the whitespace after the opening parenthesis
    if len(args) > 1 and isinstance(args[-2].comma, cst.Comma):
        between = _without_comments(args[-2].comma.whitespace_after)
    elif isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
        between = _without_comments(call.whitespace_before_args)
    else:
        between = cst.SimpleWhitespace(" ")
    if isinstance(last.comma, cst.Comma):
        trailing = last.comma.whitespace_after  # up to the closing parenthesis
        if isinstance(trailing, cst.ParenthesizedWhitespace) and isinstance(
            between, cst.ParenthesizedWhitespace
        ):
            # the last argument's end-of-line comment stays on its line
            separator: cst.BaseParenthesizableWhitespace = between.with_changes(
                first_line=trailing.first_line
            )
            closing = _without_comments(trailing).with_changes(empty_lines=trailing.empty_lines)
        else:
            separator, closing = between, trailing
        args[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=separator))
        new = new.with_changes(comma=cst.Comma(whitespace_after=closing))
    else:
        if not isinstance(last.whitespace_after_arg, cst.ParenthesizedWhitespace):
            between = cst.SimpleWhitespace(" ")
        args[-1] = last.with_changes(
            comma=cst.Comma(whitespace_after=between),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
        new = new.with_changes(whitespace_after_arg=last.whitespace_after_arg)
    return call.with_changes(args=[*args, new])


class WritableNestedSerializer(Rule):
    """Checks for nested serializer fields that are writable in serializers that cannot
    write them."""

    CODE = "DJG604"
    NAME = "writable-nested-serializer"
    MESSAGE = (
        "nested serializer `{field} = {serializer}(...)` is writable but `{parent}` defines "
        "neither `create()` nor `update()`; add `read_only=True` (write the relation through "
        "a primary-key field)"
    )
    RATIONALE = (
        "`ModelSerializer.create()` and `update()` refuse nested data: a request that sends "
        'the nested field fails with an `AssertionError` ("The `.create()` method does not '
        'support writable nested fields by default"), and one that omits it fails validation '
        "because the field is required. Nested serializers are for reading; relations are "
        "written through `*_id` / primary-key fields, or by a serializer that implements "
        "`create()`/`update()` itself."
    )
    GUIDE = "000: Nested serializers: Use `read_only=True` for read, `*_id` fields for write"
    FIX = "unsafe"
    NOTES = (
        "The parent must be a DRF `ModelSerializer`/`HyperlinkedModelSerializer` (directly "
        "or through classes of the same file) that defines neither `create` nor `update` "
        "itself or in a same-file base; serializers deriving from a project base imported "
        "from elsewhere, and drf-writable-nested style bases (a base whose name contains "
        "`Nested`), are left alone, since they may write nested data. A plain `Serializer` "
        "is left alone too: it is often used only to validate nested input, which needs the "
        "field writable. A field is a nested serializer when it calls a serializer class of "
        "the same file (unless that class defines `to_internal_value`, as NetBox-style "
        "primary-key nested serializers do) or an imported name ending in `Serializer` "
        "(`from users.serializers import UserSerializer`, `from .serializers import ...`, "
        "`user_serializers.ListUserSerializer` after `from users import serializers as "
        "user_serializers`); DRF's own classes (`ListSerializer`) are not. `read_only=False` "
        "is flagged; a non-literal `read_only=` value or `**kwargs` is left alone. The fix "
        "adds (or sets) `read_only=True` and keeps the other arguments; it is unsafe because "
        "the API stops accepting (and requiring) the nested data, which code that pops it "
        "from `validated_data` before `save()` relies on."
    )
    VALID = [
        Valid(
            "from rest_framework import serializers\n\n\n"
            "class PostSerializer(serializers.ModelSerializer):\n"
            "    author = UserSerializer(read_only=True)\n"
            "    comments = CommentSerializer(many=True, read_only=True)\n\n"
            "    class Meta:\n"
            "        model = Post\n"
            "        fields = ['id', 'title', 'author', 'comments']\n"
        ),
        Valid(
            "from rest_framework import serializers\n\n\n"
            "class TrackSerializer(serializers.ModelSerializer):\n"
            "    class Meta:\n"
            "        model = Track\n"
            "        fields = ['title']\n\n\n"
            "class AlbumSerializer(serializers.ModelSerializer):\n"
            "    tracks = TrackSerializer(many=True)\n\n"
            "    def create(self, validated_data):\n"
            "        tracks = validated_data.pop('tracks')\n"
            "        album = Album.objects.create(**validated_data)\n"
            "        for track in tracks:\n"
            "            Track.objects.create(album=album, **track)\n"
            "        return album\n"
        ),
    ]
    INVALID = [
        Invalid(
            "from rest_framework import serializers\n\n"
            "from users.serializers import UserSerializer\n\n\n"
            "class PostSerializer(serializers.ModelSerializer):\n"
            "    author = UserSerializer()\n\n"
            "    class Meta:\n"
            "        model = Post\n"
            "        fields = ['id', 'title', 'author']\n",
            7,
            13,
            expected="from rest_framework import serializers\n\n"
            "from users.serializers import UserSerializer\n\n\n"
            "class PostSerializer(serializers.ModelSerializer):\n"
            "    author = UserSerializer(read_only=True)\n\n"
            "    class Meta:\n"
            "        model = Post\n"
            "        fields = ['id', 'title', 'author']\n",
        ),
        Invalid(
            "from rest_framework import serializers\n\n\n"
            "class CommentSerializer(serializers.ModelSerializer):\n"
            "    class Meta:\n"
            "        model = Comment\n"
            "        fields = ['id', 'message']\n\n\n"
            "class ImageSerializer(serializers.ModelSerializer):\n"
            "    comments = CommentSerializer(\n"
            "        many=True,\n"
            "    )\n",
            11,
            15,
            expected="from rest_framework import serializers\n\n\n"
            "class CommentSerializer(serializers.ModelSerializer):\n"
            "    class Meta:\n"
            "        model = Comment\n"
            "        fields = ['id', 'message']\n\n\n"
            "class ImageSerializer(serializers.ModelSerializer):\n"
            "    comments = CommentSerializer(\n"
            "        many=True,\n"
            "        read_only=True,\n"
            "    )\n",
        ),
    ]
    TEXT_HINTS = ("Serializer",)
    AST_TRIGGERS = {ast.ClassDef: _ast_trigger_604}

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.facts = file_facts(ctx)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Check the class-level fields of a ``ModelSerializer`` without create/update."""
        bases = [name for _arg, name in _cst_bases(node)]
        if not self.facts.serializer_parent(bases, _cst_methods(node)):
            return
        for statement in small_statements(node.body):
            if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                target = statement.targets[0].target
            elif isinstance(statement, cst.AnnAssign):
                target = statement.target
            else:
                continue
            value = statement.value
            if not isinstance(target, cst.Name) or not isinstance(value, cst.Call):
                continue
            serializer = dotted_name(value.func)
            if not self.facts.nested_serializer(serializer):
                continue
            if any(arg.star == "**" for arg in value.args):
                continue
            read_only = call_arg(value, None, "read_only")
            if read_only is not None:
                if _is_true(read_only.value):
                    continue
                if not (isinstance(read_only.value, cst.Name) and read_only.value.value == "False"):
                    continue

            def fix(call: cst.Call = value) -> cst.CSTNode:
                return add_read_only(call)

            self.report(
                value,
                fix,
                field=target.value,
                serializer=serializer,
                parent=node.name.value,
            )


# -- DJG605 ----------------------------------------------------------------------------------

_VIEW_PLACE = (
    "`views.py`, `viewsets.py` or a `views/` package",
    ("views.py", "viewsets.py"),
    ("views", "viewsets"),
)
#: kind -> (where it belongs, for the message; accepted basenames; accepted packages)
_PLACES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "serializer": (
        "`serializers.py` or a `serializers/` package",
        ("serializers.py",),
        ("serializers",),
    ),
    "viewset": _VIEW_PLACE,
    "view": _VIEW_PLACE,
    "model": ("`models.py` or a `models/` package", ("models.py",), ("models",)),
    "permission class": (
        "`permissions.py` or a `permissions/` package",
        ("permissions.py",),
        ("permissions",),
    ),
    "filterset": ("`filters.py` or a `filters/` package", ("filters.py",), ("filters",)),
}


def component_kind(bases: Sequence[str], name: str, facts: FileFacts) -> str | None:
    """What kind of component a class with these bases is, or ``None``."""
    if facts.is_drf_view_class(bases):
        return (
            "viewset"
            if name.endswith("ViewSet") or any(facts.resolve(b).endswith("ViewSet") for b in bases)
            else "view"
        )
    if any(facts.is_django_view_base(b) for b in bases):
        return "view"
    if any(facts.is_serializer_base(b) for b in bases):
        return "serializer"
    if any(facts.is_model_base(b) for b in bases):
        return "model"
    if any(facts.is_permission_base(b) for b in bases):
        return "permission class"
    if any(facts.is_filterset_base(b) for b in bases):
        return "filterset"
    return None


def in_place(kind: str, ctx: FileContext) -> bool:
    """Whether the file is where a component of ``kind`` belongs."""
    _where, basenames, packages = _PLACES[kind]
    if ctx.basename in basenames:
        return True
    directories = ctx.path.split("/")[:-1]
    return any(package in directories for package in packages)


def _ast_trigger_605(node: ast.ClassDef, ctx: FileContext) -> bool:
    if node is not ctx.current_statement:
        return False
    kind = component_kind(_ast_bases(node), node.name, file_facts(ctx))
    return kind is not None and not in_place(kind, ctx)


class MisplacedComponent(Rule):
    """Checks for serializers, views, models, permissions and filtersets defined outside
    their conventional module."""

    CODE = "DJG605"
    NAME = "misplaced-component"
    MESSAGE = "{kind} `{name}` is defined in `{module}`; move it to {where}"
    RATIONALE = (
        "A team finds a serializer in `serializers.py`, a viewset in `views.py`/`viewsets.py` "
        "and a model in `models.py` without searching; components scattered across `urls.py`, "
        "`utils.py` or `api.py` make the app's structure unpredictable and invite circular "
        "imports."
    )
    GUIDE = (
        "001: apps/**/views.py DRF views, viewsets.py DRF viewsets, serializers.py DRF "
        "serializers, permissions.py custom permissions (000: Models in {app}/models.py, "
        "serializers in {app}/serializers.py, viewsets in {app}/views.py or viewsets.py)"
    )
    OPT_IN = True
    NOTES = (
        "Only module-level classes are checked, by their bases resolved through the imports "
        "or through classes of the same file: DRF views and viewsets (see DJG601) and "
        "Django class-based views (`django.views...`), serializers (bases ending in "
        "`Serializer`, outside `django.`), models (`models.Model`, Django's user models, and "
        "bases imported from a `models` module whose name ends in `Model`, such as "
        "`TimeStampedModel`), DRF permission classes, and django-filter `FilterSet`s. As the "
        "specification lists, a package is as good as the module: `serializers/`, `views/`, "
        "`models/`, `permissions/` and `filters/` (also `viewsets/`, the package form of "
        "`viewsets.py`). Function views are not checked. "
        "Tests and migrations are exempt."
    )
    VALID = [
        Valid(
            "from rest_framework import serializers\n\n\n"
            "class PostSerializer(serializers.ModelSerializer):\n"
            "    class Meta:\n"
            "        model = Post\n"
            "        fields = ['id', 'title']\n",
            path="blog/serializers.py",
        ),
        Valid(
            "from rest_framework import viewsets\n\n\n"
            "class PostViewSet(viewsets.ModelViewSet):\n"
            "    queryset = Post.objects.all()\n",
            path="blog/api/views/posts.py",
        ),
        Valid(
            "from rest_framework import serializers\n\n\n"
            "class PostSerializer(serializers.ModelSerializer):\n"
            "    pass\n",
            path="blog/tests/test_serializers.py",
        ),
    ]
    INVALID = [
        Invalid(
            "from rest_framework import serializers, viewsets\n\n\n"
            "class PostSerializer(serializers.ModelSerializer):\n"
            "    class Meta:\n"
            "        model = Post\n"
            "        fields = ['id', 'title']\n",
            4,
            0,
            path="blog/views.py",
        ),
        Invalid(
            "from rest_framework.permissions import BasePermission\n\n\n"
            "class IsAuthor(BasePermission):\n"
            "    def has_object_permission(self, request, view, obj):\n"
            "        return obj.author == request.user\n",
            4,
            0,
            path="blog/views.py",
        ),
    ]
    AST_TRIGGERS = {ast.ClassDef: _ast_trigger_605}

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Not in tests or migrations."""
        return not ctx.is_test and not ctx.is_migration

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.facts = file_facts(ctx)

    def visit_Module(self, node: cst.Module) -> None:
        """Check the module-level classes."""
        for statement in node.body:
            if not isinstance(statement, cst.ClassDef):
                continue
            name = statement.name.value
            bases = [base for _arg, base in _cst_bases(statement)]
            kind = component_kind(bases, name, self.facts)
            if kind is None or in_place(kind, self.ctx):
                continue
            self.report(
                statement,
                kind=kind[0].upper() + kind[1:],
                name=name,
                module=self.ctx.basename,
                where=_PLACES[kind][0],
            )
