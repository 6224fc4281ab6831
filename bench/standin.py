"""Stand-in rules shaped like DJG401/DJG402/DJG404, for ``bench/run.py --standin``.

The typing and docstring rules (DJG4xx) fire on most unannotated files, so
they decide how much of a code base the engine must parse with libcst. Until
the real ones are installed, these stand-ins (codes DJG491, DJG494, never
registered in the plugin) let the benchmark show what such rules cost. They
are written the way a real rule is: libcst visitors with ``ast`` triggers.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from flake8_djguide.rule import Invalid, Rule, Valid

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
else:
    from flake8_djguide._lazy import cst

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _missing_annotation(node: Any, ctx: FileContext) -> bool:
    arguments = node.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return node.returns is None or any(a.annotation is None for a in every)


def _has_docstring(body: list[ast.stmt]) -> bool:
    first = body[0] if body else None
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def _missing_docstring(node: Any, ctx: FileContext) -> bool:
    return not node.name.startswith("_") and not _has_docstring(node.body)


class _NotInTests(Rule):
    TRIGGER_SCOPE = "function"

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        return not ctx.is_test and not ctx.is_migration


class MissingAnnotation(_NotInTests):
    """Stand-in for DJG401/DJG402: unannotated parameters and returns."""

    CODE = "DJG491"
    NAME = "standin-missing-annotation"
    MESSAGE = "`{name}` has no {what} annotation; annotate it"
    RATIONALE = GUIDE = "stand-in"
    VALID = [Valid("def f(a: int) -> None:\n    pass\n")]
    INVALID = [Invalid("def f(a: int):\n    pass\n", 1, 4)]
    AST_TRIGGERS = {
        ast.FunctionDef: _missing_annotation,
        ast.AsyncFunctionDef: _missing_annotation,
    }

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.scopes: list[bool] = []  # True: a class body

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.append(True)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        method = bool(self.scopes) and self.scopes[-1]
        self.scopes.append(False)
        if node.returns is None:
            self.report(node.name, name=node.name.value, what="return")
        params = node.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        for extra in (params.star_arg, params.star_kwarg):
            if isinstance(extra, cst.Param):
                every.append(extra)
        for index, param in enumerate(every):
            if param.annotation is None and not (method and index == 0):
                self.report(param, name=param.name.value, what="argument")

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.pop()


class MissingDocstring(_NotInTests):
    """Stand-in for DJG404: public classes and functions without a docstring."""

    CODE = "DJG494"
    NAME = "standin-missing-docstring"
    MESSAGE = "public `{name}` has no docstring; add one"
    RATIONALE = GUIDE = "stand-in"
    VALID = [Valid('def f():\n    """Do it."""\n')]
    INVALID = [Invalid("def f():\n    pass\n", 1, 4)]
    AST_TRIGGERS = {
        ast.FunctionDef: _missing_docstring,
        ast.AsyncFunctionDef: _missing_docstring,
        ast.ClassDef: _missing_docstring,
    }

    def _check(self, node: cst.FunctionDef | cst.ClassDef) -> None:
        if node.name.value.startswith("_") or node.name.value == "Meta":
            return
        if node.get_docstring(clean=False) is None:
            self.report(node.name, name=node.name.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._check(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._check(node)


RULES: tuple[type[Rule], ...] = (MissingAnnotation, MissingDocstring)
