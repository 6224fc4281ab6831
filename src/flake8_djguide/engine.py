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
at 1:1 that names the error; the other rules' findings are kept.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
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
        if tree is None:
            try:
                tree = ast.parse("".join(lines))
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                tree = None  # libcst may still parse it; otherwise DJG000
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
        result = self._check_source(lines, ctx, tree, rules, whole_file)
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
    ) -> Result:
        """Run the rules that read the code: text hints, ast triggers, libcst walk."""
        if not rules:
            return Result([], [], False)
        source = "".join(lines)
        rules = [r for r in rules if not r.TEXT_HINTS or any(h in source for h in r.TEXT_HINTS)]
        if not rules:
            return Result([], [], False)

        chunks: list[Chunk] | None
        if isinstance(tree, ast.Module):
            per_statement = _Triggers(rules, ctx).run(tree)
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
        if chunks is None:
            chunks = [Chunk(1, len(lines))]
        return _Run(rules, ctx).run(lines, chunks)


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
