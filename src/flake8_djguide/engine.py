"""The engine: decide cheaply, parse once, walk once, locate lazily.

For each file:

1. Rules are dropped by flake8's select/ignore decision (done once, in the
   plugin) and by file context (:meth:`Rule.applies_to`).
2. Each remaining rule's ``TEXT_HINTS`` are tested on the source text.
3. One pass over flake8's ``ast`` tree gathers the imports and runs the rules'
   ``AST_TRIGGERS``; a rule none of whose triggers holds is dropped. When no
   rule is left, libcst is never imported or invoked.
4. Only the top-level statements in which a trigger held are parsed with
   libcst (or the whole file, when a rule needs it all or most of the file
   is needed), and each parsed chunk is walked once for all active rules.
5. Positions are resolved only for chunks that have findings, with libcst's
   PositionProvider on that chunk alone, offset by the chunk's first line.

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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flake8_djguide.context import FileContext, ModuleInfo
from flake8_djguide.rule import Finding, Rule

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.config import Settings

#: When the statements to parse cover more than this share of the file's
#: lines, one parse of the whole file is cheaper than many small ones.
WHOLE_FILE_SHARE = 0.6

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
    message = f"DJG000 flake8-djguide could not check this file{where} ({detail})"
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
                text = f"{rule.CODE} {message}"
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

    def __init__(self, rules: Sequence[type[Rule]], ctx: FileContext) -> None:
        self.ctx = ctx
        self.table: dict[type[ast.AST], list[tuple[type[Rule], Any]]] = {}
        for rule in rules:
            for node_type, predicate in (rule.AST_TRIGGERS or {}).items():
                self.table.setdefault(node_type, []).append((rule, predicate))
        #: ``(line, operands)`` of and/or chains too long for libcst (a check that never fires)
        self.hazards: list[tuple[int, int]] = []
        self.table.setdefault(ast.BoolOp, []).append((Rule, self._long_chain))

    def _long_chain(self, node: ast.BoolOp, ctx: FileContext) -> bool:
        if len(node.values) > MAX_BOOL_OPERANDS:
            self.hazards.append((node.lineno, len(node.values)))
        return False

    def run(self, tree: ast.Module) -> list[tuple[tuple[int, int], set[type[Rule]]]]:
        """For each top-level statement: its line span and the rules triggered in it."""
        table = self.table
        info = self.ctx.info
        ctx = self.ctx
        result = []
        import_types = (ast.Import, ast.ImportFrom)
        for statement in tree.body:
            fired: set[type[Rule]] = set()
            ctx.current_statement = statement
            for node in ast.walk(statement):
                if isinstance(node, import_types):
                    info.add_import(node)
                entries = table.get(type(node))
                if entries:
                    for rule, predicate in entries:
                        if rule not in fired and predicate(node, ctx):
                            fired.add(rule)
            result.append((_statement_span(statement), fired))
        return result


def _plan_chunks(
    spans: Iterable[tuple[tuple[int, int], bool]], total_lines: int
) -> list[Chunk] | None:
    """Merge the needed statements into chunks; ``None`` means parse the whole file."""
    chunks: list[Chunk] = []
    for (first, last), needed in spans:
        if chunks and first <= chunks[-1].last:
            # statements sharing a line (``a = 1; b = 2``) are parsed together
            chunks[-1].last = max(chunks[-1].last, last)
            continue
        if needed:
            chunks.append(Chunk(first, last))
    needed_lines = sum(c.last - c.first + 1 for c in chunks)
    if total_lines and needed_lines > WHOLE_FILE_SHARE * total_lines:
        return None
    return chunks


def _merge_spans(
    spans: list[tuple[tuple[int, int], bool]],
) -> list[tuple[tuple[int, int], bool]]:
    """Make statements that share a line one span, needed if any of them is."""
    merged: list[tuple[tuple[int, int], bool]] = []
    for (first, last), needed in spans:
        if merged and first <= merged[-1][0][1]:
            (m_first, m_last), m_needed = merged[-1]
            merged[-1] = ((m_first, max(m_last, last)), m_needed or needed)
        else:
            merged.append(((first, last), needed))
    return merged


class Engine:
    """Runs a fixed set of rule classes over files."""

    def __init__(self, rules: Sequence[type[Rule]]) -> None:
        self.rules = list(rules)

    def check(
        self,
        lines: Sequence[str],
        filename: str,
        settings: Settings,
        tree: ast.AST | None = None,
        whole_file: bool = False,
    ) -> Result:
        """Lint one file given as lines (as flake8 passes them)."""
        too_deep: TooDeeplyNestedError | None = None
        if tree is None:
            try:
                tree = ast.parse("".join(lines))
            except (SyntaxError, ValueError):
                tree = None  # libcst may still parse it; otherwise DJG000
            except (RecursionError, MemoryError) as error:
                tree = None  # nested too deep for ast: libcst would take minutes, or crash
                too_deep = TooDeeplyNestedError(f"ast.parse raised {type(error).__name__}")
        info = ModuleInfo.from_tree(tree)
        ctx = FileContext(
            filename, settings, info, tree=tree if isinstance(tree, ast.Module) else None
        )
        limit = settings.get("max-file-lines")
        if limit and len(lines) > limit:
            return Result([], [], False)
        rules = [r for r in self.rules if r.applies_to(ctx)]
        by_path = path_findings(rules, ctx)
        rules = [r for r in rules if not r.PATH_ONLY]
        result = self._check_source(lines, ctx, tree, rules, whole_file, too_deep)
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
        too_deep: TooDeeplyNestedError | None = None,
    ) -> Result:
        """Run the rules that read the code: text hints, ast triggers, libcst walk."""
        if not rules:
            return Result([], [], False)
        source = "".join(lines)
        rules = [r for r in rules if not r.TEXT_HINTS or any(h in source for h in r.TEXT_HINTS)]
        if not rules:
            return Result([], [], False)

        chunks: list[Chunk] | None
        hazards: list[tuple[int, int]] = []
        if isinstance(tree, ast.Module):
            triggers = _Triggers(rules, ctx)
            per_statement = triggers.run(tree)
            hazards = triggers.hazards
            fired: set[type[Rule]] = set()
            for _span, rule_set in per_statement:
                fired |= rule_set
            needs_all = [r for r in rules if r.AST_TRIGGERS is None]
            rules = [r for r in rules if r.AST_TRIGGERS is None or r in fired]
            if not rules:
                return Result([], [], False)
            spans = _merge_spans([(span, bool(rule_set)) for span, rule_set in per_statement])
            chunks = None if needs_all or whole_file else _plan_chunks(spans, len(lines))
        else:
            chunks = None
            problem = too_deep or text_hazard(source)
            if problem is not None:
                return Result([error_finding(problem)], [], False)
        if chunks is None:
            chunks = [Chunk(1, len(lines))]
        for line, operands in hazards:
            if any(chunk.first <= line <= chunk.last for chunk in chunks):
                problem = TooDeeplyNestedError(
                    f"line {line}: an `and`/`or` chain of {operands} operands; libcst is not "
                    f"run on chains of more than {MAX_BOOL_OPERANDS}"
                )
                return Result([error_finding(problem)], [], False)
        run = _Run(rules, ctx)
        with _recursion_limit(RECURSION_LIMIT):
            if isinstance(tree, ast.Module):
                return run.run(lines, chunks)
            # source that ast rejected: nothing bounds how deep it nests
            return _in_big_stack(lambda: run.run(lines, chunks))


class _Run:
    """One file's walk: rule instances, dispatch tables, error isolation."""

    def __init__(self, rules: Sequence[type[Rule]], ctx: FileContext) -> None:
        self.ctx = ctx
        self.instances = [rule(ctx) for rule in rules]
        self.errors: list[Finding] = []
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

    def run(self, lines: Sequence[str], chunks: list[Chunk]) -> Result:
        import libcst as cst

        from flake8_djguide.walker import walk

        self.visit_ref = self.visit
        self.leave_ref = self.leave
        for index, chunk in enumerate(chunks):
            text = "".join(lines[chunk.first - 1 : chunk.last])
            try:
                chunk.module = cst.parse_module(text)
            except Exception as error:
                return Result([error_finding(error)], chunks, True)
            for instance in self.instances:
                instance.begin_chunk(index)
            try:
                walk(chunk.module, self.visit_ref, self.leave_ref, self._on_error)
            except RecursionError as error:
                return Result([error_finding(error)], chunks, True)
        findings: list[Finding] = []
        for instance in list(self.instances):
            try:
                instance.end_file()
            except Exception as error:
                self._on_error(instance.end_file, error)
                continue
            findings.extend(instance.findings)
        try:
            locate(findings, chunks)
        except Exception as error:
            return Result([error_finding(error)], chunks, True)
        findings.sort(key=lambda f: (f.line, f.col, f.code))
        return Result(self.errors + findings, chunks, True)


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


def locate(findings: list[Finding], chunks: list[Chunk]) -> None:
    """Fill in line and column of findings, resolving positions per chunk."""
    from libcst.metadata import MetadataWrapper, PositionProvider

    by_chunk: dict[int, list[Finding]] = {}
    for finding in findings:
        if finding.node is not None and finding.chunk >= 0:
            by_chunk.setdefault(finding.chunk, []).append(finding)
    for index, chunk_findings in by_chunk.items():
        chunk = chunks[index]
        assert chunk.module is not None
        positions = MetadataWrapper(chunk.module, unsafe_skip_copy=True).resolve(PositionProvider)
        for finding in chunk_findings:
            position = positions.get(finding.node)
            if position is None:
                finding.line, finding.col = chunk.first, 0
            else:
                finding.line = position.start.line + chunk.first - 1
                finding.col = position.start.column
