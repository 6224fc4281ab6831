"""The engine: decide cheaply, parse once, walk once, locate lazily.

For each file:

1. Rules are dropped by flake8's select/ignore decision (done once, in the
   plugin) and by file context (:meth:`Rule.applies_to`).
2. Each remaining rule's ``TEXT_HINTS`` are tested on the source text.
3. One pass over flake8's ``ast`` tree gathers the imports and runs the rules'
   ``AST_TRIGGERS``; a rule none of whose triggers holds is dropped. When no
   rule is left, libcst is never imported or invoked.
4. Only the top-level statements in which a trigger held are parsed with
   libcst, one statement at a time (the whole file when a rule needs it all,
   or for the fixer). Inside statements where only ``TRIGGER_SCOPE =
   "function"`` rules' triggers held, function bodies holding none of their
   trigger nodes are left out (replaced by one name and empty lines, so no
   line or column moves). A class with more than :data:`PART_LINES` lines left
   to parse is parsed as its outline plus each long method on its own, and a
   longer assignment or expression statement (a table) as its outline plus each
   long item of its value, put together into the same tree (libcst's parser
   needs 10 KiB of memory or more per line it parses in one call). Node
   validation is skipped: Python's parser already accepted the code.
5. Each parsed chunk is walked once for all active rules (see
   :mod:`flake8_djguide.walker`).
6. Findings are located by generating code from their statement's position,
   known from the ``ast`` tree, up to the reported node; never with libcst's
   PositionProvider (see :mod:`flake8_djguide.positions`). In flake8 runs each
   chunk's tree is dropped once its findings are located.

Any exception while parsing or inside a rule becomes one ``DJG000`` finding
at 1:1 that names the error; the other rules' findings are kept. Input that
would crash libcst's native parser (which no ``except`` can catch) is not
handed to it: see :data:`MAX_BOOL_OPERANDS` and :func:`text_hazard`.
"""

from __future__ import annotations

import ast
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flake8_djguide.context import FileContext, ModuleInfo
from flake8_djguide.parsing import parse_quietly, quiet_parsing
from flake8_djguide.quoting import clean_message
from flake8_djguide.rule import Finding, Rule

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.config import Settings

#: Checks one file's source with the given rules somewhere else: the findings, or
#: ``None`` to check it here (see :mod:`flake8_djguide.server`).
Remote = Callable[[Sequence[str], FileContext, "list[type[Rule]]"], "list[Finding] | None"]

#: libcst's native parser overflows its stack (a segmentation fault, which kills
#: the flake8 process, or hangs ``flake8 -j`` forever) on an ``and``/``or`` chain
#: of about 7,000 operands, which ``ast`` accepts as one flat node. A statement
#: holding a longer chain than this is never parsed: the file gets one ``DJG000``.
MAX_BOOL_OPERANDS = 1000
#: Source that ``ast`` rejected is handed to libcst only when its brackets nest at
#: most this deep and no longer run of prefix operators occurs (``ast`` allows 200
#: nested brackets; libcst crashes at about 3,000).
MAX_TEXT_NESTING = 1000
#: The recursion limit while libcst trees are parsed, walked and located (on
#: Python 3.11+, where Python-to-Python calls do not use the C stack): nesting
#: that ``ast`` accepts (up to about 3,000 levels) would otherwise exceed the
#: default limit of 1,000 in libcst's recursive visitors and become a ``DJG000``.
RECURSION_LIMIT = 15000
#: The stack of the thread that checks source ``ast`` rejected (only the pages
#: touched are used): libcst's parser recurses natively and crashes on the 8 MiB
#: main-thread stack at about 10,000 nested unary operators.
PARSE_THREAD_STACK = 256 * 1024 * 1024


class TooDeeplyNestedError(Exception):
    """Source nested beyond what libcst can parse without crashing."""


@dataclass
class Chunk:
    """A part of the file parsed on its own: lines ``first``..``last`` (1-based)."""

    first: int
    last: int
    module: cst.Module | None = None
    #: the top-level ``ast`` statements of the chunk (to locate findings)
    statements: list[ast.stmt] = field(default_factory=list)
    #: line number -> the text parsed instead (bodies left out, see ``TRIGGER_SCOPE``)
    replaced: dict[int, str] = field(default_factory=dict)
    #: id of an ``ast`` function whose body was left out -> (the body's first line, its
    #: indentation)
    elided: dict[int, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    """What the engine found in one file."""

    findings: list[Finding]
    chunks: list[Chunk]
    parsed: bool  # whether libcst was invoked at all


def error_finding(error: BaseException, rule: str | None = None) -> Finding:
    """The single ``DJG000`` finding for an internal error or unparsable input."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    detail = f"{type(error).__name__}: {text}" if text else type(error).__name__
    where = f" in rule {rule}" if rule else ""
    message = clean_message(f"DJG000 flake8-djguide could not check this file{where} ({detail})")
    return Finding("DJG000", message, None, -1, line=1, col=0)  # type: ignore[arg-type]


def path_findings(rules: Iterable[type[Rule]], ctx: FileContext) -> list[Finding]:
    """The findings of ``PATH_ONLY`` rules, judged from the file's path alone (at 1:1).

    They need no parse, so they also fire on files with no statements at all
    (an empty ``__init__.py``), where no ast trigger can hold.
    """
    found = []
    for rule in rules:
        if rule.PATH_ONLY:
            message = rule.check_path(ctx)
            if message is not None:
                text = clean_message(f"{rule.CODE} {message}")
                found.append(Finding(rule.CODE, text, None, -1, line=1, col=0))  # type: ignore[arg-type]
    return found


@contextmanager
def _recursion_limit(limit: int) -> Iterator[None]:
    """Raise the recursion limit for the block (Python 3.11+ only), then restore it."""
    old = sys.getrecursionlimit()
    if old >= limit or sys.version_info < (3, 11):
        yield
        return
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _in_big_stack(function: Callable[[], Result]) -> Result:
    """Run ``function`` in a thread with a :data:`PARSE_THREAD_STACK` stack, if one can be made."""
    outcome: list[Result] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(function())
        except BaseException as error:  # re-raised in the calling thread
            failure.append(error)

    try:
        old = threading.stack_size(PARSE_THREAD_STACK)
    except (ValueError, RuntimeError):  # a platform where the stack size cannot be set
        return function()
    try:
        thread = threading.Thread(target=target, name="flake8-djguide-check", daemon=True)
        thread.start()
    finally:
        threading.stack_size(old)
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


_BOOL_WORD = re.compile(r"\b(?:and|or)\b")
_PREFIX_RUN = re.compile(
    r"(?:(?:\bnot\b|\bawait\b|\blambda\b[^:\n]*:|[-+~])\s*){" + str(MAX_TEXT_NESTING + 1) + ",}"
)


def text_hazard(source: str) -> TooDeeplyNestedError | None:
    """Why source that ``ast`` rejected must not be handed to libcst, if it must not.

    A rough scan (strings and comments are not told apart from code): the deepest
    bracket nesting, the longest run of prefix operators, and the most ``and``/``or``
    words in one logical line (a line continued while brackets are open or after
    a backslash).
    """
    depth = deepest = 0
    start = 0
    logical_lines = []
    previous = ""
    for index, char in enumerate(source):
        if char in "([{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif char in ")]}":
            if depth:
                depth -= 1
        elif char == "\n" and not depth and previous != "\\":
            logical_lines.append((start, index))
            start = index + 1
        previous = char
    logical_lines.append((start, len(source)))
    if deepest > MAX_TEXT_NESTING:
        return TooDeeplyNestedError(
            f"brackets nested {deepest} deep; libcst is not run beyond {MAX_TEXT_NESTING}"
        )
    if _PREFIX_RUN.search(source):
        return TooDeeplyNestedError(
            f"more than {MAX_TEXT_NESTING} prefix operators (`not`, `-`, `await`, `lambda:`) "
            "in a row; libcst is not run beyond that"
        )
    for first, last in logical_lines:
        if last - first > 4 * MAX_BOOL_OPERANDS:
            words = len(_BOOL_WORD.findall(source, first, last))
            if words + 1 > MAX_BOOL_OPERANDS:
                line = source.count("\n", 0, first) + 1
                return TooDeeplyNestedError(
                    f"line {line}: {words} `and`/`or` operators in one logical line; libcst "
                    f"is not run on chains of more than {MAX_BOOL_OPERANDS} operands"
                )
    return None


def _statement_span(node: ast.stmt) -> tuple[int, int]:
    first = node.lineno
    for decorator in getattr(node, "decorator_list", ()):
        first = min(first, decorator.lineno)
    last = getattr(node, "end_lineno", None) or node.lineno
    return first, last


class _Triggers:
    """The ast pass: imports into ``info``, and which rules may fire where."""

    def __init__(
        self,
        rules: Sequence[type[Rule]],
        ctx: FileContext,
        lines: Sequence[str] | None = None,
    ) -> None:
        self.ctx = ctx
        #: the file's lines when ``REPORTS_FROM_AST`` rules report here (no fix needed)
        self.lines = lines
        #: rules whose findings :meth:`run` decides from the ``ast`` tree
        self.from_ast = {r for r in rules if r.REPORTS_FROM_AST} if lines is not None else set()
        self.reported = {r.CODE for r in self.from_ast}
        #: findings of those rules (:meth:`Rule.report_ast`)
        self.findings: list[Finding] = []
        #: per such rule, the ids of the top-level statements parsed for it instead, where
        #: :meth:`Rule.report_ast` could not place a finding (its libcst findings there
        #: are kept, the others dropped: see :meth:`keep_finding`)
        self.fallback: dict[str, set[int]] = {}
        self.table: dict[type[ast.AST], list[tuple[type[Rule], Any]]] = {}
        for rule in rules:
            for node_type, predicate in (rule.AST_TRIGGERS or {}).items():
                self.table.setdefault(node_type, []).append((rule, predicate))
        #: per top-level statement: its functions (for ``TRIGGER_SCOPE = "function"``)
        self.functions: list[list[ast.AST]] = []
        #: ids of the functions whose bodies hold a trigger node of such a rule
        self.keep: set[int] = set()
        #: indexes of the statements where a ``"statement"``-scope trigger holds
        self.whole: set[int] = set()

    def run(self, tree: ast.Module) -> list[tuple[tuple[int, int], set[type[Rule]]]]:
        """For each top-level statement: its line span and the rules triggered in it.

        One walk collects the imports and the nodes of the trigger types; the
        predicates run afterwards, so that they see every import of the file
        (as the rules do), wherever it is. For rules with ``TRIGGER_SCOPE =
        "function"`` it also notes, per statement, the functions whose bodies
        hold a trigger node (:attr:`keep`) and every function (:attr:`functions`).
        """
        table = self.table
        info = self.ctx.info
        ctx = self.ctx
        scoped = {r for entries in table.values() for r, _ in entries if _function_scope(r)}
        from_ast = self.from_ast
        #: trigger nodes of ``from_ast`` rules, by rule: (statement index, node, chain)
        hits: dict[type[Rule], list[tuple[int, ast.AST, tuple[ast.AST, ...]]]] = {}
        candidates: list[tuple[int, ast.AST, tuple[ast.AST, ...]]] = []
        # Without expression triggers, the walk enters statement bodies only.
        statements_only = all(issubclass(t, ast.stmt) for t in table)
        node_base = ast.AST
        function_types = (ast.FunctionDef, ast.AsyncFunctionDef)
        stmt_fields = ("body", "orelse", "finalbody", "handlers", "cases")
        skip = _SCALAR_FIELDS
        if not any(issubclass(t, _NO_CHILD_NODES) for t in table):
            skip = skip | {"ctx", "op", "ops"}  # operators and contexts: no trigger there
        fields_of: dict[type, tuple[str, ...]] = {ast.Constant: ()}
        no_chain: tuple[ast.AST, ...] = ()
        for index, statement in enumerate(tree.body):
            functions: list[ast.AST] = []
            stack: list[tuple[Any, tuple[ast.AST, ...]]] = [(statement, no_chain)]
            while stack:
                node, chain = stack.pop()
                node_type = type(node)
                if node_type is ast.Import or node_type is ast.ImportFrom:
                    info.add_import(node)
                if node_type in table:
                    candidates.append((index, node, chain))
                inner = chain
                if scoped or from_ast:
                    if node_type in function_types:
                        functions.append(node)
                        inner = (*chain, node)
                    elif node_type is ast.ClassDef:
                        inner = (*chain, node)  # for ``TRIGGER_KEEPS_METHODS``
                if statements_only:
                    fields = stmt_fields
                else:
                    fields = fields_of.get(node_type)  # type: ignore[assignment]
                    if fields is None:
                        fields = tuple(f for f in node._fields if f not in skip)
                        fields_of[node_type] = fields
                for name in fields:
                    value = getattr(node, name, None)
                    below = inner if name == "body" else chain
                    if type(value) is list:
                        stack.extend((v, below) for v in value if isinstance(v, node_base))
                    elif isinstance(value, node_base):
                        stack.append((value, below))
            self.functions.append(functions)
        fired_by_statement: list[set[type[Rule]]] = [set() for _ in tree.body]
        for index, node, chain in candidates:
            fired = fired_by_statement[index]
            ctx.current_statement = tree.body[index]
            ctx.trigger_chain = chain
            for rule, predicate in table[type(node)]:
                if rule in from_ast:
                    if predicate(node, ctx):
                        hits.setdefault(rule, []).append((index, node, chain))
                elif rule in scoped:
                    if predicate(node, ctx):
                        fired.add(rule)
                        self.keep.update(id(f) for f in chain)
                        methods = rule.TRIGGER_KEEPS_METHODS
                        if methods:
                            for owner in chain:
                                if type(owner) is ast.ClassDef:
                                    self.keep.update(
                                        id(s)
                                        for s in owner.body
                                        if type(s) in function_types and s.name in methods  # type: ignore[attr-defined]
                                    )
                elif rule not in fired and predicate(node, ctx):
                    fired.add(rule)
                    self.whole.add(index)
        for rule, rule_hits in hits.items():
            self._report_from_ast(rule, rule_hits, tree, fired_by_statement)
        ctx.current_statement = None
        ctx.trigger_chain = no_chain
        return [
            (_statement_span(statement), fired)
            for statement, fired in zip(tree.body, fired_by_statement)
        ]

    def _report_from_ast(
        self,
        rule: type[Rule],
        hits: list[tuple[int, ast.AST, tuple[ast.AST, ...]]],
        tree: ast.Module,
        fired_by_statement: list[set[type[Rule]]],
    ) -> None:
        """The findings of a ``REPORTS_FROM_AST`` rule at its trigger nodes, once every
        predicate has run (facts that span the file, such as ``__all__``, are known).

        In a statement where :meth:`Rule.report_ast` cannot place one of them, the
        rule's ``ast`` findings are dropped and the statement is parsed for the rule
        as for any triggered rule (its function bodies kept as a trigger keeps them).
        """
        ctx = self.ctx
        lines = self.lines
        assert lines is not None
        by_statement: dict[int, list[Finding]] = {}
        failed: set[int] = set()
        for index, node, chain in hits:
            if index in failed:
                continue
            ctx.current_statement = tree.body[index]
            ctx.trigger_chain = chain
            found = rule.report_ast(node, ctx, lines)
            if found is None:
                failed.add(index)
                by_statement.pop(index, None)
            else:
                by_statement.setdefault(index, []).extend(found)
        for found in by_statement.values():
            self.findings.extend(found)
        if not failed:
            return
        self.fallback[rule.CODE] = {id(tree.body[index]) for index in failed}
        scoped = _function_scope(rule)
        for index, _node, chain in hits:
            if index in failed:
                fired_by_statement[index].add(rule)
                if scoped:
                    self.keep.update(id(f) for f in chain)
                else:
                    self.whole.add(index)

    def keep_finding(self, finding: Finding, chunks: Sequence[Chunk]) -> bool:
        """Whether a libcst finding stays: those of a ``REPORTS_FROM_AST`` rule only in
        the statements parsed for it (:attr:`fallback`)."""
        if finding.code not in self.reported:
            return True
        statements = self.fallback.get(finding.code, set())
        return 0 <= finding.chunk < len(chunks) and any(
            id(s) in statements for s in chunks[finding.chunk].statements
        )


#: ``ast`` fields that never hold a node (skipped by the trigger walk; not ``name``:
#: a ``TypeAlias`` name is a node).
_SCALAR_FIELDS = frozenset(
    {"id", "attr", "arg", "module", "level", "kind", "type_comment", "is_async", "simple"}
    | {"conversion"}
)
#: Node types without child nodes whose fields the walk skips unless a trigger needs them.
_NO_CHILD_NODES = (ast.expr_context, ast.operator, ast.boolop, ast.cmpop, ast.unaryop)

#: The statement that stands for a function body left out of the parse (a name, so
#: that no rule takes the function for a stub: ``...``, ``pass``).
ELIDED = "__djguide_elided__"


def _function_scope(rule: type[Rule]) -> bool:
    return getattr(rule, "TRIGGER_SCOPE", "statement") == "function"


def _elide_bodies(chunk: Chunk, lines: Sequence[str], triggers: _Triggers, index: int) -> None:
    """Leave out of ``chunk`` the bodies of functions no trigger needs (``TRIGGER_SCOPE``).

    Each left-out body (its docstring included: rules that need it read it from
    the ``ast`` tree, see ``Rule.ast_node``) becomes one :data:`ELIDED`
    statement followed by empty lines, so that every line and column outside
    the bodies stays where it was. One-line bodies are kept.
    """
    if index in triggers.whole or len(chunk.statements) != 1:
        return
    done_until = 0
    for function in sorted(triggers.functions[index], key=lambda f: f.lineno):  # type: ignore[attr-defined]
        if id(function) in triggers.keep or function.lineno <= done_until:  # type: ignore[attr-defined]
            continue
        region = _body_region(function, lines)  # type: ignore[arg-type]
        if region is None:
            continue
        region_first, region_last, placeholder = region
        if region_first == region_last and len(function.body) == 1:  # type: ignore[attr-defined]
            continue  # one line (``pass``, ``...``, ``return x``): kept, stubs stay stubs
        chunk.replaced[region_first] = placeholder
        for number in range(region_first + 1, region_last + 1):
            chunk.replaced[number] = _ending(lines[number - 1])
        chunk.elided[id(function)] = (region_first, function.body[0].col_offset)  # type: ignore[attr-defined]
        done_until = region_last


def _body_region(
    function: ast.FunctionDef | ast.AsyncFunctionDef, lines: Sequence[str]
) -> tuple[int, int, str] | None:
    """``(first line, last line, placeholder line)`` of ``function``'s body, when the
    body can be replaced by the one statement :data:`ELIDED` at its indentation: it
    starts on a line of its own, after indentation only, and no line of it holds a
    lone carriage return. ``None`` otherwise.
    """
    body = function.body
    first = _statement_span(body[0])[0]
    last = body[-1].end_lineno or body[-1].lineno
    text = lines[first - 1]
    indent = text[: len(text) - len(text.lstrip(" \t"))]
    column = body[0].col_offset
    if (
        first <= function.lineno
        or text[:column].strip()
        or len(indent) != column
        or any("\r" in line.rstrip("\r\n") for line in lines[first - 1 : last])
    ):
        return None
    return first, last, indent + ELIDED + _ending(text)


def _ending(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith(("\n", "\r")):
        return line[-1]
    return ""


def _plan_chunks(
    spans: Iterable[tuple[tuple[int, int], bool]], statements: Sequence[ast.stmt]
) -> list[Chunk]:
    """One chunk per needed top-level statement (statements sharing a line go together).

    Parsing statement by statement costs no more than parsing the whole file
    at once (measured on Django), and keeps the trees small: a chunk's tree is
    dropped once it is walked and its findings are located.
    """
    chunks: list[Chunk] = []
    previous: Chunk | None = None  # the span of the previous statement, needed or not
    for ((first, last), needed), statement in zip(spans, statements):
        if previous is not None and first <= previous.last:
            # statements sharing a line (``a = 1; b = 2``) are parsed together
            previous.last = max(previous.last, last)
            previous.statements.append(statement)
            if needed and (not chunks or chunks[-1] is not previous):
                chunks.append(previous)
            continue
        previous = Chunk(first, last, statements=[statement])
        if needed:
            chunks.append(previous)
    return chunks


class Engine:
    """Runs a fixed set of rule classes over files."""

    def __init__(self, rules: Sequence[type[Rule]]) -> None:
        self.rules = list(rules)
        #: Checks a file elsewhere (the check server) once it needs libcst; ``None``
        #: from it, or no ``remote``, checks the file in this process.
        self.remote: Remote | None = None

    def check(
        self,
        lines: Sequence[str],
        filename: str,
        settings: Settings,
        tree: ast.AST | None = None,
        whole_file: bool = False,
        release_trees: bool = False,
    ) -> Result:
        """:meth:`_check`, without the warnings parsing the file's literals prints
        (libcst's ``evaluated_value`` compiles them: ``"\\d"`` warns)."""
        with quiet_parsing(), _young_collections_spaced():
            return self._check(lines, filename, settings, tree, whole_file, release_trees)

    def _check(
        self,
        lines: Sequence[str],
        filename: str,
        settings: Settings,
        tree: ast.AST | None = None,
        whole_file: bool = False,
        release_trees: bool = False,
    ) -> Result:
        """Lint one file given as lines (as flake8 passes them).

        ``whole_file`` parses the whole file as one chunk (the fixer needs it);
        ``release_trees`` drops each chunk's tree once its findings are located
        (flake8 runs, which need only line and column), which keeps memory low.
        """
        too_deep: TooDeeplyNestedError | None = None
        if tree is None:
            try:
                tree = parse_quietly("".join(lines))
            except (SyntaxError, ValueError):
                tree = None  # libcst may still parse it; otherwise DJG000
            except (RecursionError, MemoryError) as error:
                tree = None  # nested too deep for ast: libcst would take minutes, or crash
                too_deep = TooDeeplyNestedError(f"ast.parse raised {type(error).__name__}")
        info = ModuleInfo.from_tree(tree)
        ctx = FileContext(
            filename,
            settings,
            info,
            tree=tree if isinstance(tree, ast.Module) else None,
            shebang=bool(lines) and lines[0].startswith("#!"),
        )
        limit = settings.get("max-file-lines")
        if limit and len(lines) > limit:
            return Result([], [], False)
        rules = [r for r in self.rules if r.applies_to(ctx)]
        by_path = path_findings(rules, ctx)
        rules = [r for r in rules if not r.PATH_ONLY]
        result = self._check_source(lines, ctx, tree, rules, whole_file, release_trees, too_deep)
        if by_path:
            return Result(by_path + result.findings, result.chunks, result.parsed)
        return result

    def _check_source(
        self,
        lines: Sequence[str],
        ctx: FileContext,
        tree: ast.AST | None,
        rules: list[type[Rule]],
        whole_file: bool,
        release_trees: bool,
        too_deep: TooDeeplyNestedError | None = None,
    ) -> Result:
        """Run the rules that read the code: text hints, ast triggers, libcst walk."""
        if not rules:
            return Result([], [], False)
        source = "".join(lines)
        ctx.__dict__["_djguide_source"] = source  # for the triggers' text checks
        rules = [r for r in rules if not r.TEXT_HINTS or any(h in source for h in r.TEXT_HINTS)]
        if not rules:
            return Result([], [], False)
        if self.remote is not None:
            # The server runs the ast triggers too: some read the model index,
            # which this process then need not build.
            found = self.remote(lines, ctx, rules)
            if found is not None:
                return Result(found, [], True)

        chunks: list[Chunk] | None
        triggers: _Triggers | None = None
        if isinstance(tree, ast.Module):
            # A whole-file run (the fixer) needs every finding's libcst node for its fix.
            triggers = _Triggers(rules, ctx, lines=None if whole_file else lines)
            per_statement = triggers.run(tree)
            fired: set[type[Rule]] = set()
            for _span, rule_set in per_statement:
                fired |= rule_set
            needs_all = [r for r in rules if r.AST_TRIGGERS is None]
            rules = [r for r in rules if r.AST_TRIGGERS is None or r in fired]
            if not rules:
                return Result(_sorted(triggers.findings), [], False)
            spans = [(span, bool(rule_set)) for span, rule_set in per_statement]
            if needs_all or whole_file:
                chunks = [Chunk(1, len(lines), statements=list(tree.body))]
            else:
                chunks = _plan_chunks(spans, tree.body)
                if any(triggers.functions):
                    positions = {id(statement): i for i, statement in enumerate(tree.body)}
                    for chunk in chunks:
                        _elide_bodies(chunk, lines, triggers, positions[id(chunk.statements[0])])
        else:
            chunks = None
            problem = too_deep or text_hazard(source)
            if problem is not None:
                return Result([error_finding(problem)], [], False)
        if chunks is None:
            chunks = [Chunk(1, len(lines))]
        hazard = _long_chain(chunks, lines)
        if hazard is not None:
            return Result([error_finding(hazard)], [], False)
        run = _Run(rules, ctx)
        with _recursion_limit(RECURSION_LIMIT):
            if triggers is None:
                # source that ast rejected: nothing bounds how deep it nests
                return _in_big_stack(lambda: run.run(lines, chunks, release_trees=release_trees))
            result = run.run(lines, chunks, release_trees=release_trees)
        if not triggers.reported or run.failed:
            return result
        kept = [f for f in result.findings if triggers.keep_finding(f, chunks)]
        errors = [f for f in kept if f.code == "DJG000"]
        others = [f for f in kept if f.code != "DJG000"]
        return Result(errors + _sorted(others + triggers.findings), result.chunks, result.parsed)


#: The garbage collector's youngest-generation threshold while a file is checked.
YOUNG_THRESHOLD = 20000


@contextmanager
def _young_collections_spaced() -> Iterator[None]:
    """Collect the youngest generation after every :data:`YOUNG_THRESHOLD` allocations,
    not CPython's 700, while one file is checked; the process's thresholds are restored
    after it.

    A check allocates libcst trees and the ORM analysis's values by the hundred
    thousand. They live until the file is done and are then freed by reference
    counting, as they hold no cycles; with the default threshold each was traversed by
    a young collection first, and again when it was moved to the middle generation.
    A collector the user turned off (threshold 0) or set higher is left alone.
    """
    import gc

    old = gc.get_threshold()
    if not old[0] or old[0] >= YOUNG_THRESHOLD:
        yield
        return
    gc.set_threshold(YOUNG_THRESHOLD, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


#: Whether this process has frozen the objects of its first libcst import.
_FROZE_PARSER = [False]


def freeze_long_lived() -> None:
    """Move every object alive now out of the garbage collector's view (``gc.freeze()``).

    Called once the model index is loaded and once libcst is imported: objects that
    live until flake8 exits. Each full collection of the run
    otherwise traverses them all again: with the index of an application (about
    100,000 objects), the full collections took as much CPU as a fifth of the
    plugin's work. Freezing leaves the index out of those traversals (and out of the
    pages a forked worker's collections would touch).
    """
    import gc

    gc.freeze()
    if "libcst" in sys.modules:
        _FROZE_PARSER[0] = True  # done for libcst (a worker forked from here inherits it)


def _sorted(findings: list[Finding]) -> list[Finding]:
    findings.sort(key=lambda f: (f.line, f.col, f.code))
    return findings


def _long_chain(chunks: Sequence[Chunk], lines: Sequence[str]) -> TooDeeplyNestedError | None:
    """An ``and``/``or`` chain too long for libcst in a statement about to be parsed.

    Checked only on the statements that will be parsed (the trigger pass does not
    walk expressions when no rule needs it), and walked only when their text has
    that many ``and``/``or`` at all.
    """
    for chunk in chunks:
        text = "".join(lines[chunk.first - 1 : chunk.last])
        if text.count("and") + text.count("or") < MAX_BOOL_OPERANDS:
            continue
        for statement in chunk.statements:
            for node in ast.walk(statement):
                if type(node) is ast.BoolOp and len(node.values) > MAX_BOOL_OPERANDS:
                    return TooDeeplyNestedError(
                        f"line {node.lineno}: an `and`/`or` chain of {len(node.values)} "
                        f"operands; libcst is not run on chains of more than {MAX_BOOL_OPERANDS}"
                    )
    return None


class _Run:
    """One file's walk: rule instances, dispatch tables, error isolation."""

    def __init__(self, rules: Sequence[type[Rule]], ctx: FileContext) -> None:
        self.ctx = ctx
        self.instances = [rule(ctx) for rule in rules]
        self.errors: list[Finding] = []
        #: whether :meth:`run` gave up on the file (its result is the one ``DJG000``)
        self.failed = False
        self.visit: dict[type, list[Any]] = {}
        self.leave: dict[type, list[Any]] = {}
        self._build_dispatch()

    def _build_dispatch(self, broken: Rule | None = None) -> None:
        self.visit = {}
        self.leave = {}
        for instance in self.instances:
            if instance is broken:
                continue
            for node_type, method, is_leave in _callbacks_of(type(instance)):
                table = self.leave if is_leave else self.visit
                table.setdefault(node_type, []).append(getattr(instance, method))

    def _on_error(self, callback: Any, error: BaseException) -> None:
        rule = getattr(callback, "__self__", None)
        if isinstance(rule, Rule):
            self.instances = [i for i in self.instances if i is not rule]
            self._build_dispatch()
            self.visit_ref.clear()
            self.visit_ref.update(self.visit)
            self.leave_ref.clear()
            self.leave_ref.update(self.leave)
            if not self.errors:
                self.errors.append(error_finding(error, type(rule).CODE))

    def _failed(self, error: BaseException, chunks: list[Chunk]) -> Result:
        """The file could not be checked (libcst could not parse or locate): one ``DJG000``."""
        self.failed = True
        return Result([error_finding(error)], chunks, True)

    def run(self, lines: Sequence[str], chunks: list[Chunk], release_trees: bool = False) -> Result:
        """Parse, walk and locate chunk by chunk."""
        from flake8_djguide.walker import walk

        if not _FROZE_PARSER[0]:
            freeze_long_lived()  # libcst's node classes live as long as the process

        self.visit_ref = self.visit
        self.leave_ref = self.leave
        # the file's text, for a rule reading another top-level statement of it
        self.ctx.__dict__["_djguide_lines"] = lines
        # Rules reporting from end_file() may report nodes of any chunk: keep the trees.
        deferred = any(type(i).end_file is not Rule.end_file for i in self.instances)
        release = release_trees and not deferred
        findings: list[Finding] = []
        for index, chunk in enumerate(chunks):
            try:
                chunk.module = parse_chunk(chunk, lines)
            except Exception as error:
                return self._failed(error, chunks)
            counts = []
            lookup = _AstLookup(chunk, lines)
            for instance in self.instances:
                instance.begin_chunk(index)
                instance._ast_lookup = lookup
                counts.append((instance, len(instance.findings)))
            try:
                walk(chunk.module, self.visit_ref, self.leave_ref, self._on_error)
            except RecursionError as error:
                return self._failed(error, chunks)
            if release:
                new = [f for instance, count in counts for f in instance.findings[count:]]
                try:
                    locate(new, chunks, lines)
                except Exception as error:
                    return self._failed(error, chunks)
                chunk.module = None
                for finding in new:  # located: let the tree go (a reported class holds it all)
                    finding.node = finding.fix_node = finding.fix = None  # type: ignore[assignment]
        for instance in list(self.instances):
            try:
                instance.end_file()
            except Exception as error:
                self._on_error(instance.end_file, error)
                continue
            findings.extend(instance.findings)
        try:
            locate([f for f in findings if not f.line], chunks, lines)
        except Exception as error:
            return self._failed(error, chunks)
        findings.sort(key=lambda f: (f.line, f.col, f.code))
        return Result(self.errors + findings, chunks, True)


class _AstLookup:
    """``Rule.ast_node`` for one chunk: its statements paired with ``ast`` on first use."""

    def __init__(self, chunk: Chunk, lines: Sequence[str]) -> None:
        self.chunk = chunk
        self.lines = lines
        self.nodes: dict[int, ast.AST] | None = None

    def __call__(self, node: cst.CSTNode) -> ast.AST | None:
        if self.nodes is None:
            from flake8_djguide.positions import Anchors

            self.nodes = {}
            module = self.chunk.module
            if module is not None and self.chunk.statements:
                anchors = Anchors(self.lines, self.chunk.elided)
                if anchors.pair(module.body, self.chunk.statements):
                    self.nodes = anchors.nodes
        return self.nodes.get(id(node))


def chunk_text(chunk: Chunk, lines: Sequence[str], numbers: Iterable[int] | None = None) -> str:
    """The text parsed for ``chunk`` (or for its lines ``numbers``): left-out bodies replaced."""
    replaced = chunk.replaced
    if numbers is None:
        if not replaced:
            return "".join(lines[chunk.first - 1 : chunk.last])
        numbers = range(chunk.first, chunk.last + 1)
    return "".join(replaced.get(n, lines[n - 1]) for n in numbers)


def parse_chunk(chunk: Chunk, lines: Sequence[str]) -> cst.Module:
    """The libcst tree of ``chunk``: a big class (:func:`_parse_in_parts`) or a big
    assignment or expression statement (:func:`_parse_values_in_parts`) in parts."""
    if (
        len(chunk.statements) == 1
        and chunk.last - chunk.first + 1 - len(chunk.replaced) > PART_LINES
    ):
        statement_type = type(chunk.statements[0])
        module = None
        if statement_type is ast.ClassDef:
            module = _parse_in_parts(chunk, lines)
        elif statement_type in _VALUE_STATEMENTS and not chunk.replaced:
            module = _parse_values_in_parts(chunk, lines)
        if module is not None:
            return module
    return parse_module(chunk_text(chunk, lines), validate=not chunk.statements)


#: A class with more lines to parse than this is parsed in parts (:func:`_parse_in_parts`).
PART_LINES = 150
#: In such a class, a method body of at least this many lines is parsed on its own.
MIN_PART_LINES = 10
_FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef)


def _parse_in_parts(chunk: Chunk, lines: Sequence[str]) -> cst.Module | None:
    """Parse a big top-level class as its outline plus each long method body on its own.

    libcst's native parser needs about 10 KiB of memory per line it parses at
    once (tokens and its own tree, beside the Python nodes), so parsing a
    2,000-line class in one call sets the peak memory of a whole flake8 run.
    Here the class is parsed with each long method body replaced by one
    statement, then each such method is parsed alone (as the only method of a
    class ``_``, so it keeps its lines and columns) and its body put in place
    of that statement, keeping the outline's footer (the comments after the
    body). The tree prints to the same code as a parse in one call. ``None``
    when something does not match up (the caller then parses in one call).
    """
    import libcst as cst

    statement = chunk.statements[0]
    if not isinstance(statement, ast.ClassDef) or not _ending(lines[chunk.last - 1]):
        return None  # no newline at the end of the file: the outline would add one
    #: position in the class body -> (method, its first line, its body's first and last)
    parts: dict[int, tuple[ast.FunctionDef | ast.AsyncFunctionDef, int, int, int]] = {}
    placeholders: dict[int, str] = {}  # first line of a part's body -> the line parsed instead
    for position, method in enumerate(statement.body):
        if not isinstance(method, _FUNCTION_TYPES) or id(method) in chunk.elided:
            continue
        region = _body_region(method, lines)
        if region is None:
            continue
        first, last, placeholder = region
        if last - first + 1 < MIN_PART_LINES or first in chunk.replaced:
            continue
        parts[position] = (method, _statement_span(method)[0], first, last)
        placeholders[first] = placeholder
    if not parts:
        return None
    skipped: set[int] = set()
    for _method, _start, first, last in parts.values():
        skipped.update(range(first + 1, last + 1))
    outline = [
        placeholders.get(number) or chunk.replaced.get(number, lines[number - 1])
        for number in range(chunk.first, chunk.last + 1)
        if number not in skipped
    ]
    module = parse_module("".join(outline), validate=False)
    if len(module.body) != 1 or not isinstance(module.body[0], cst.ClassDef):
        return None
    node = module.body[0]
    block = node.body
    if not isinstance(block, cst.IndentedBlock):
        return None
    elements = list(block.body)
    index = 0
    for position, element in enumerate(elements):
        if isinstance(element, cst.SimpleStatementLine):
            index += len(element.body)
            continue
        part = parts.get(index)
        index += 1
        if part is None:
            continue
        method, start, first, last = part
        if not isinstance(element, cst.FunctionDef) or element.name.value != method.name:
            return None
        header = "class _:" + _ending(lines[start - 1])
        piece = parse_module(
            header + chunk_text(chunk, lines, range(start, last + 1)), validate=False
        )
        if (
            piece.default_indent != module.default_indent
            or piece.default_newline != module.default_newline
            or len(piece.body) != 1
        ):
            return None
        wrapper = piece.body[0]
        if not isinstance(wrapper, cst.ClassDef) or not isinstance(wrapper.body, cst.IndentedBlock):
            return None
        inner = wrapper.body.body
        if (
            len(inner) != 1
            or not isinstance(inner[0], cst.FunctionDef)
            or not isinstance(inner[0].body, cst.IndentedBlock)
            or not isinstance(element.body, cst.IndentedBlock)
        ):
            return None
        block_of_part = inner[0].body.with_changes(footer=element.body.footer)
        elements[position] = element.with_changes(body=block_of_part)
    if index != len(statement.body):
        return None
    node = node.with_changes(body=block.with_changes(body=elements))
    return module.with_changes(body=[node])


#: Top-level statements whose big value (a literal table, a call with long arguments) is
#: parsed in parts (:func:`_parse_values_in_parts`).
_VALUE_STATEMENTS = frozenset({ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr})
#: Expressions whose items :func:`_value_parts` may parse on their own.
_CONTAINERS = (ast.Call, ast.Tuple, ast.List, ast.Set, ast.Dict)
#: Items that are never a part (their text is not the libcst expression's, or is not an
#: expression on its own: ``*rows``, ``f(x for x in y)``, ``(y := 1)``, ``await``).
_NOT_PARTS = (ast.Starred, ast.GeneratorExp, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)
#: An item of at most this many lines is a part; a longer container is split further.
MAX_VALUE_PART_LINES = 40


def _value_parts(statement: ast.stmt) -> list[ast.expr]:
    """The items of ``statement``'s value parsed on their own by
    :func:`_parse_values_in_parts`, in source order: in a container (call arguments,
    tuple, list, set and dict items) longer than :data:`MAX_VALUE_PART_LINES`, each item
    of two lines or more, the items of a longer item that is a container itself."""
    value = getattr(statement, "value", None)
    if not isinstance(value, _CONTAINERS):
        return []
    parts: list[ast.expr] = []
    stack: list[ast.expr] = [value]
    while stack:
        node = stack.pop()
        items: list[ast.expr | None]
        if isinstance(node, ast.Call):
            items = [*node.args, *(k.value for k in node.keywords)]
        elif isinstance(node, ast.Dict):
            items = [*node.keys, *node.values]
        else:
            items = list(node.elts)  # type: ignore[attr-defined]
        for item in items:
            if item is None or isinstance(item, _NOT_PARTS):
                continue
            size = (item.end_lineno or item.lineno) - item.lineno + 1
            if size > MAX_VALUE_PART_LINES and isinstance(item, _CONTAINERS):
                stack.append(item)
            elif size >= 2:
                parts.append(item)
    parts.sort(key=lambda item: (item.lineno, item.col_offset))
    return parts


def _column(line: str, offset: int) -> int:
    """The column in characters of ``ast``'s ``offset`` in UTF-8 bytes on ``line``."""
    if line.isascii():
        return offset
    return len(line.encode("utf-8")[:offset].decode("utf-8", "replace"))


def _parse_values_in_parts(chunk: Chunk, lines: Sequence[str]) -> cst.Module | None:
    """Parse a big top-level assignment or expression statement (a table of hundreds of
    lines: ``VARIABLES = OrderedDict((("name", {..., "evaluate": lambda ...}), ...))``)
    as its outline, each long item of its value (:func:`_value_parts`) replaced by one
    name, plus each such item on its own, put in place of its name.

    libcst's parser needs tens of KiB of memory per line of nested brackets it parses in
    one call (20 MiB for a 455-line table of dictionaries and lambdas). An item inside
    brackets parses alone to the same nodes (the indentation of a top-level statement is
    empty in both), its parentheses outside the ``ast`` item's text kept from the
    outline. ``None`` when something does not match up, or when the tree put together
    does not print the chunk's text (the caller then parses in one call).
    """
    import libcst as cst

    text = chunk_text(chunk, lines)
    if ELIDED in text:
        return None
    parts = _value_parts(chunk.statements[0])
    if not parts:
        return None
    newline = _ending(lines[chunk.first - 1]) or "\n"
    pieces: list[str] = []
    outline: list[str] = []
    line, column = chunk.first, 0  # the outline's text is taken up to here
    for part in parts:
        end_line = part.end_lineno or part.lineno
        first = _column(lines[part.lineno - 1], part.col_offset)
        last = _column(lines[end_line - 1], part.end_col_offset or 0)
        if (part.lineno, first) < (line, column):
            return None
        segment = _text_between(lines, (part.lineno, first), (end_line, last))
        pieces.append(segment)
        outline.append(_text_between(lines, (line, column), (part.lineno, first)))
        outline.append(ELIDED)
        line, column = end_line, last
    outline.append(_text_between(lines, (line, column), (chunk.last + 1, 0)))
    try:
        module = parse_module("".join(outline), validate=False)
        values = [_parse_item(segment, newline, module.default_newline) for segment in pieces]
    except Exception:  # libcst cannot parse a piece: the caller parses in one call
        return None
    if any(value is None for value in values):
        return None
    filler = _filler_class()([v for v in values if v is not None])
    whole = module.visit(filler)
    if filler.left or not isinstance(whole, cst.Module) or whole.code != text:
        return None
    return whole


def _parse_item(segment: str, newline: str, module_newline: str) -> cst.BaseExpression | None:
    """The expression ``segment`` (an item inside brackets) parsed alone, in parentheses of
    its own (which allow its line breaks, as its brackets do) that are then dropped."""
    import libcst as cst

    piece = parse_module(f"_ = ({segment}){newline}", validate=False)
    statement = piece.body[0] if len(piece.body) == 1 else None
    if (
        piece.default_newline != module_newline
        or not isinstance(statement, cst.SimpleStatementLine)
        or len(statement.body) != 1
        or not isinstance(statement.body[0], cst.Assign)
    ):
        return None
    value = statement.body[0].value
    if not value.lpar or not value.rpar:
        return None
    return value.with_changes(lpar=value.lpar[1:], rpar=value.rpar[:-1])


def _text_between(lines: Sequence[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    """The text from ``start`` to ``end`` (``(line, column)``, lines 1-based, the end left out)."""
    (first_line, first_column), (last_line, last_column) = start, end
    if first_line == last_line:
        return lines[first_line - 1][first_column:last_column]
    return "".join(
        [
            lines[first_line - 1][first_column:],
            *lines[first_line : last_line - 1],
            lines[last_line - 1][:last_column] if last_line <= len(lines) else "",
        ]
    )


_FILLER: list[type] = []


def _filler_class() -> type:
    """A ``CSTTransformer`` putting the items parsed alone in place of the outline's
    :data:`ELIDED` names, in order (made on first use: importing the engine imports no
    libcst)."""
    if not _FILLER:
        import libcst as cst

        class Filler(cst.CSTTransformer):
            def __init__(self, values: list[cst.BaseExpression]) -> None:
                super().__init__()
                self.values = values
                self.left = len(values)

            def leave_Name(
                self, original_node: cst.Name, updated_node: cst.Name
            ) -> cst.BaseExpression:
                if updated_node.value != ELIDED or not self.left:
                    return updated_node
                value = self.values[len(self.values) - self.left]
                self.left -= 1
                return value.with_changes(
                    lpar=[*updated_node.lpar, *value.lpar], rpar=[*value.rpar, *updated_node.rpar]
                )

        _FILLER.append(Filler)
    return _FILLER[0]


def _skip_validation(node: object) -> None:
    return None


def parse_module(text: str, validate: bool = True) -> cst.Module:
    """``libcst.parse_module``; with ``validate=False``, without libcst's node validation.

    Every node libcst builds runs ``_validate()`` (checks meant for trees built
    by hand: balanced parentheses, whitespace shapes), which costs 15-25 % of a
    parse. Code that Python's own parser accepted (flake8's ``ast`` tree exists)
    yields valid nodes, so the engine skips it there; the tree is identical.
    """
    import libcst as cst

    if validate:
        return cst.parse_module(text)
    base = cst.CSTNode
    original = base.__dict__["__post_init__"]
    base.__post_init__ = _skip_validation  # type: ignore[method-assign,assignment]
    try:
        return cst.parse_module(text)
    finally:
        base.__post_init__ = original  # type: ignore[method-assign]


_CALLBACKS: dict[type, list[tuple[type, str, bool]]] = {}


def _callbacks_of(rule: type[Rule]) -> list[tuple[type, str, bool]]:
    """``(node type, method name, is_leave)`` for every visitor method of ``rule``."""
    found = _CALLBACKS.get(rule)
    if found is None:
        import libcst as cst

        found = []
        for name in dir(rule):
            for prefix, is_leave in (("visit_", False), ("leave_", True)):
                if name.startswith(prefix):
                    node_type = getattr(cst, name[len(prefix) :], None)
                    if not isinstance(node_type, type) or not issubclass(node_type, cst.CSTNode):
                        raise TypeError(f"{rule.__name__}.{name}: no libcst node {name}")
                    found.append((node_type, name, is_leave))
        _CALLBACKS[rule] = found
    return found


def locate(
    findings: list[Finding],
    chunks: Sequence[Chunk],
    lines: Sequence[str] = (),
    owners: Sequence[dict[int, Any]] = (),
) -> None:
    """Fill in line and column of findings (see :mod:`flake8_djguide.positions`).

    Each reported node's innermost statement is found by a walk of its chunk that
    stops at the last reported node (``owners[i]``, when given, maps the nodes of
    chunk ``i`` to it instead); code is generated from that statement's start,
    known from the ``ast`` tree, up to the reported node. Findings that cannot be
    located that way are located by generating their chunk from its start.
    """
    from flake8_djguide.positions import Anchors, generate, owners_of

    by_chunk: dict[int, list[Finding]] = {}
    for finding in findings:
        if finding.node is not None and 0 <= finding.chunk < len(chunks):
            by_chunk.setdefault(finding.chunk, []).append(finding)
    for index, chunk_findings in by_chunk.items():
        chunk = chunks[index]
        module = chunk.module
        if module is None:
            for finding in chunk_findings:
                finding.line, finding.col = chunk.first, 0
            continue
        found: dict[int, tuple[int, int]] = {}
        if lines and chunk.statements:
            chunk_owners = owners[index] if index < len(owners) else {}
            if not chunk_owners:
                chunk_owners = owners_of(module, {id(f.node) for f in chunk_findings})
            anchors = Anchors(lines, chunk.elided)
            if anchors.pair(module.body, chunk.statements):
                by_anchor: dict[int, tuple[Any, list[int]]] = {}
                for finding in chunk_findings:
                    owner = chunk_owners.get(id(finding.node))
                    if owner is not None and anchors.start_of(owner) is not None:
                        by_anchor.setdefault(id(owner), (owner, []))[1].append(id(finding.node))
                for owner, wanted in by_anchor.values():
                    start = anchors.start_of(owner)
                    assert start is not None
                    line, column, indent = start
                    is_elif = id(owner) in anchors.elifs
                    found.update(generate(module, owner, wanted, (line, column), indent, is_elif))
        missing = [id(f.node) for f in chunk_findings if id(f.node) not in found]
        if missing:
            for key, (line, column) in generate(module, module, missing, None).items():
                found[key] = (line + chunk.first - 1, column)
        for finding in chunk_findings:
            position = found.get(id(finding.node))
            if position is None:
                finding.line, finding.col = chunk.first, 0
            else:
                finding.line, finding.col = position
