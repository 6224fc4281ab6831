"""The rule contract: one class per rule, self-describing and self-testing.

A rule is a libcst visitor. Its ``visit_<Node>``/``leave_<Node>`` methods are
called by the engine's single walk (see :mod:`flake8_djguide.engine`), and it
reports with :meth:`Rule.report`. Class attributes describe the rule for the
registry, the documentation generator and the tests.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from flake8_djguide.quoting import clean_message, quote_source

if TYPE_CHECKING:  # libcst is imported lazily: flake8 loads plugins on every run.
    import libcst as cst

    from flake8_djguide.context import FileContext


@dataclass(frozen=True)
class Valid:
    """Code that the rule must leave alone."""

    code: str
    path: str = "app/module.py"
    options: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Invalid:
    """Code that the rule must flag: at ``line``/``col`` (1-based line, 0-based column)."""

    code: str
    line: int = 1
    col: int = 0
    path: str = "app/module.py"
    expected: str | None = None  # the fixed code, for rules with a fix
    options: Mapping[str, object] = field(default_factory=dict)


@dataclass
class Finding:
    """One violation found in a file."""

    code: str
    message: str
    node: cst.CSTNode
    chunk: int
    fix: Callable[[], cst.CSTNode] | None = None
    fix_node: cst.CSTNode | None = None  # the node the fix replaces; defaults to ``node``
    unsafe_fix: bool = False  # the fix may change behaviour (applied only on request)
    line: int = 0
    col: int = 0


#: A cheap test on one node of flake8's ``ast`` tree: may the rule fire here?
AstTrigger = Callable[[Any, "FileContext"], bool]


class Rule:
    """Base class of every rule.

    Subclasses set the class attributes below and define ``visit_<Node>`` /
    ``leave_<Node>`` methods taking a libcst node. A new instance is made for
    every file, so instance attributes can hold per-file state.
    """

    CODE: ClassVar[str] = ""
    NAME: ClassVar[str] = ""
    #: ``str.format`` template filled by :meth:`report`; the code is prepended.
    MESSAGE: ClassVar[str] = ""
    #: Why the rule exists ("Why is this bad?").
    RATIONALE: ClassVar[str] = ""
    #: The guide line the rule comes from: ``"004: <quoted guideline>"``.
    GUIDE: ClassVar[str] = ""
    #: Off by default: runs only when its full code is selected (``extend-select = DJG502``;
    #: see :mod:`flake8_djguide.selection`).
    OPT_IN: ClassVar[bool] = False
    #: ``None`` (no fix), ``"safe"`` or ``"unsafe"``.
    FIX: ClassVar[str | None] = None
    #: Names of the options (see :mod:`flake8_djguide.config`) the rule reads.
    OPTIONS: ClassVar[tuple[str, ...]] = ()
    #: Decisions taken where the specification is silent, for the docs.
    NOTES: ClassVar[str] = ""
    VALID: ClassVar[list[Valid]] = []
    INVALID: ClassVar[list[Invalid]] = []

    #: The rule judges a file by its path alone: the engine calls :meth:`check_path`
    #: for every file the rule applies to, without parsing it (so it also fires on
    #: files with no statements), and never walks the rule over the code.
    PATH_ONLY: ClassVar[bool] = False

    #: Substrings of which at least one must occur in the source for the rule
    #: to possibly fire. Empty: no text pre-check.
    TEXT_HINTS: ClassVar[tuple[str, ...]] = ()
    #: ``{ast node type: predicate}``. When set, a top-level statement is parsed
    #: with libcst for this rule only when a predicate holds on one of its nodes.
    #: ``None`` means the rule needs every statement of the file.
    AST_TRIGGERS: ClassVar[Mapping[type[ast.AST], AstTrigger] | None] = None
    #: How much a trigger that holds makes the engine parse. ``"statement"``: the
    #: whole top-level statement holding the node. ``"function"``: in a statement
    #: where only such rules' triggers hold, the body of every function that holds
    #: none of their trigger nodes is left out of the parse (its decorators, ``def``
    #: line, parameters and docstring stay): for rules that look at definitions
    #: (annotations, docstrings) and never into the body of a function unless one of
    #: their triggers holds inside that body.
    TRIGGER_SCOPE: ClassVar[str] = "statement"
    #: With ``TRIGGER_SCOPE = "function"``: methods of the classes enclosing a
    #: trigger node whose bodies are parsed too (a rule that follows
    #: ``self.get_queryset()`` into the same class).
    TRIGGER_KEEPS_METHODS: ClassVar[frozenset[str]] = frozenset()
    #: The rule's findings are decided on flake8's ``ast`` tree (:meth:`report_ast`) in
    #: runs that need no fix (flake8, the check server): a statement is then parsed with
    #: libcst for this rule only where :meth:`report_ast` cannot place a finding exactly.
    #: The libcst visitor stays the reference: ``djguide fix`` (whole-file runs) and
    #: source ``ast`` rejected use it, and the fixture tests compare the two.
    REPORTS_FROM_AST: ClassVar[bool] = False

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self.findings: list[Finding] = []
        self.chunk = 0

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Whether the rule can apply to the file at all (by its context)."""
        return not ctx.is_migration

    def report(
        self,
        node: cst.CSTNode,
        fix: Callable[[], cst.CSTNode] | None = None,
        *,
        fix_node: cst.CSTNode | None = None,
        unsafe: bool = False,
        message: str | None = None,
        **kwargs: object,
    ) -> None:
        """Record a finding at ``node``; ``kwargs`` fill :attr:`MESSAGE`.

        ``fix`` builds the replacement of ``fix_node`` (default ``node``)
        lazily: it runs only when fixing, never in a flake8 run. ``unsafe``
        marks this fix unsafe even when the rule's fixes are safe in general.
        """
        self.findings.append(
            Finding(
                self.CODE,
                self.message_text(message, **kwargs),
                node,
                self.chunk,
                fix=fix,
                fix_node=fix_node,
                unsafe_fix=unsafe or self.FIX == "unsafe",
            )
        )

    @classmethod
    def message_text(cls, template: str | None = None, /, **kwargs: object) -> str:
        """The finding's text: the code, then ``template`` (default :attr:`MESSAGE`) filled
        with ``kwargs`` (strings quoted with :func:`quoting.quote_source`)."""
        template = template if template is not None else cls.MESSAGE
        fields = {k: quote_source(v) if isinstance(v, str) else v for k, v in kwargs.items()}
        return clean_message(f"{cls.CODE} {template.format(**fields)}")

    @classmethod
    def report_ast(cls, node: Any, ctx: FileContext, lines: Sequence[str]) -> list[Finding] | None:
        """For ``REPORTS_FROM_AST`` rules: every finding of the rule at ``node``, a node of
        flake8's ``ast`` tree on which one of its ``AST_TRIGGERS`` held, made with
        :meth:`ast_finding` (line and column as the libcst visitor would report them);
        ``None`` when that position cannot be told exactly without the libcst node (the
        engine then parses the statement and walks the rule over it).

        Called once every trigger of the file has run (``ctx.trigger_chain`` and
        ``ctx.current_statement`` set as for the trigger).
        """
        return None

    @classmethod
    def ast_finding(cls, line: int, col: int, /, **kwargs: object) -> Finding:
        """A finding made without libcst, at ``line`` (1-based) and ``col`` (0-based,
        in characters); ``kwargs`` fill :attr:`MESSAGE`."""
        text = cls.message_text(**kwargs)
        return Finding(cls.CODE, text, None, -1, line=line, col=col)  # type: ignore[arg-type]

    def begin_chunk(self, index: int) -> None:
        """Called before each parsed part of the file is walked."""
        self.chunk = index

    def ast_node(self, node: cst.CSTNode) -> ast.AST | None:
        """The node of flake8's ``ast`` tree for a libcst statement (a ``FunctionDef``,
        a small statement, an ``except`` clause), or ``None`` when unknown.

        For facts the ``ast`` tree states more cheaply or more completely: a
        ``TRIGGER_SCOPE = "function"`` rule sees the whole body of a function
        there, even when the engine left it out of the libcst parse.
        """
        lookup = self._ast_lookup
        return lookup(node) if lookup is not None else None

    _ast_lookup: Callable[[cst.CSTNode], ast.AST | None] | None = None

    def end_file(self) -> None:
        """Called once after the whole file was walked (for deferred reports)."""

    @classmethod
    def check_path(cls, ctx: FileContext) -> str | None:
        """For ``PATH_ONLY`` rules: the message (without the code) of the one finding,
        reported at 1:1, or ``None`` when the file is fine."""
        return None
