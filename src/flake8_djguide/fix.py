"""Apply the rules' fixes to source code: the machinery behind ``djguide fix``.

A rule offers a fix with ``self.report(node, fix=..., fix_node=..., unsafe=...)``
(see :mod:`flake8_djguide.rule`): a zero-argument callable that builds the
replacement of ``fix_node`` (default: the reported node). Fixing a file:

1. The engine lints the whole file (``whole_file=True``: one libcst module).
2. Findings silenced by ``# noqa`` (read exactly as flake8 reads it: its regular
   expression, its logical-line mapping, its code matching) are dropped, and so
   are unsafe fixes unless asked for. Findings recorded in the baseline are
   dropped as the plugin drops them (:func:`flake8_djguide.baseline.suppress`):
   neither fixed nor reported. A finding baselined before the first fix stays
   untouched in later passes even when a fix next to it changed its fingerprint
   (it is matched by code and line text); it is then reported, as flake8 would.
3. Every remaining fix is built and applied in one libcst transformer pass, by
   node identity. When fixes overlap, the outermost one wins and the inner ones
   wait for the next pass; two fixes of the same node: the first wins.
4. The new code must parse (with :mod:`ast` when the original did, else with
   libcst); when it does not, the fixes are tried one at a time and the ones
   that break the code are dropped and reported.
5. Lint again and repeat until no fix applies (at most :data:`MAX_PASSES`).

A fix that lengthens a one-line ``def`` (``-> None`` added) past ``line_length`` (the
project's ``max-line-length``) when it fitted before has its signature wrapped as ruff
format (and black) wrap it: the parameters on one indented line of their own
(:func:`wrap_signature`).

Bytes in, bytes out: :func:`decode_source` / :func:`encode_source` keep the
PEP 263 encoding and a UTF-8 BOM; line endings (``\\r\\n`` included) are kept
because the text is never newline-translated and libcst reproduces it exactly.
"""

from __future__ import annotations

import argparse
import io
import tokenize
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flake8_djguide.baseline import normalise, suppress
from flake8_djguide.engine import Engine
from flake8_djguide.parsing import parse_quietly
from flake8_djguide.rule import Finding, Rule

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.config import Settings

#: Lint-and-fix rounds per file before giving up on convergence.
MAX_PASSES = 10


class SourceError(ValueError):
    """The file's bytes cannot be decoded (bad coding cookie, invalid bytes)."""


def decode_source(data: bytes) -> tuple[str, str]:
    """``(text, encoding)`` of a Python file's bytes, as Python itself decodes them.

    The encoding comes from the BOM or the PEP 263 cookie (default UTF-8); a
    BOM gives ``utf-8-sig``, which strips it here and writes it back in
    :func:`encode_source`. Line endings are left untranslated.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding), encoding
    except (SyntaxError, UnicodeDecodeError, LookupError) as error:
        raise SourceError(str(error) or type(error).__name__) from None


def encode_source(text: str, encoding: str) -> bytes:
    """The bytes of ``text`` in ``encoding`` (raises :class:`SourceError` when impossible)."""
    try:
        return text.encode(encoding)
    except (UnicodeEncodeError, LookupError) as error:
        raise SourceError(str(error)) from None


def split_lines(text: str) -> list[str]:
    """Lines with their own endings (``\\n``, ``\\r\\n`` or ``\\r``), as Python counts lines.

    Unlike :meth:`str.splitlines`, form feeds and other Unicode line breaks do
    not end a line, so line numbers agree with :mod:`ast`, libcst and flake8.
    """
    return io.StringIO(text, newline="").readlines()


class NoqaIndex:
    """flake8's ``# noqa`` decisions for one version of a file, made by flake8's own code.

    A finding on line ``n`` is silenced when the text flake8 searches for
    ``n`` (every physical line of the logical line holding ``n``: a comment on
    any line of a multi-line statement counts) has ``# noqa``, or ``# noqa:``
    with a code that is a prefix of the finding's code. ``# flake8: noqa`` on a
    line of its own silences the whole file.
    """

    def __init__(self, lines: Sequence[str], disabled: bool = False) -> None:
        self.lines = list(lines)
        self.disabled = disabled
        self._processor: Any = None

    def file_ignored(self) -> bool:
        """Whether ``# flake8: noqa`` on a line of its own switches off the whole file."""
        from flake8.defaults import NOQA_FILE

        return not self.disabled and any(NOQA_FILE.match(line) for line in self.lines)

    def text_for(self, line: int) -> str:
        """The text flake8 searches for a ``# noqa`` comment for findings on ``line``."""
        if self._processor is None:
            from flake8.processor import FileProcessor

            options = argparse.Namespace(
                hang_closing=False,
                indent_size=4,
                max_line_length=79,
                max_doc_length=None,
                verbose=0,
            )
            self._processor = FileProcessor("-", options, lines=list(self.lines))
        text = self._processor.noqa_line_for(line)
        if text is None:  # flake8 then reads the physical line
            text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return str(text)

    def ignores(self, code: str, line: int) -> bool:
        """Whether flake8 would not report ``code`` on ``line`` because of ``# noqa``."""
        if self.disabled:
            return False
        from flake8.violation import Violation

        violation = Violation(code, "-", line, 0, "", self.text_for(line))
        return bool(violation.is_inline_ignored(False))


@dataclass
class FixPass:
    """One applied round of fixes (recorded only when asked, for tests)."""

    before: str
    after: str
    #: 1-based, inclusive line ranges in ``before`` of the nodes that were replaced.
    spans: list[tuple[int, int]]


@dataclass
class FixResult:
    """What fixing one file did."""

    original: str
    source: str
    applied: Counter[str] = field(default_factory=Counter)
    #: findings left in ``source`` (those not silenced by noqa comments)
    remaining: list[Finding] = field(default_factory=list)
    #: findings left whose (unsafe) fix was not applied because it was not asked for
    unsafe_available: int = 0
    #: findings in the original source that the baseline records (neither fixed nor reported)
    baselined: int = 0
    #: fixes that failed or broke the code and were left out, and convergence trouble
    problems: list[str] = field(default_factory=list)
    #: why the file was not fixed at all (it cannot be parsed), else ``None``
    error: str | None = None
    passes: list[FixPass] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the fixed source differs from the original."""
        return self.source != self.original


def is_fixable(finding: Finding, unsafe: bool) -> bool:
    """Whether ``finding`` has a fix that may be applied (unsafe ones only when asked)."""
    return finding.fix is not None and (unsafe or not finding.unsafe_fix)


def fix_source(
    source: str,
    filename: str,
    rules: Sequence[type[Rule]],
    settings: Settings,
    *,
    unsafe: bool = False,
    disable_noqa: bool = False,
    max_passes: int = MAX_PASSES,
    record: bool = False,
    line_length: int | None = None,
) -> FixResult:
    """Apply every allowed fix of ``rules`` to ``source`` (linted as ``filename``).

    ``line_length``: the project's ``max-line-length``; a signature a fix lengthens past it
    is wrapped (see the module doc). ``None``: never wrap.
    """
    result = FixResult(original=source, source=source)
    if NoqaIndex(split_lines(source), disable_noqa).file_ignored():
        return result
    engine = Engine(rules)
    text = source
    previous: tuple[str, list[Finding], Counter[str]] | None = None
    #: (code, line text) of the findings the baseline recorded before any fix
    protected: Counter[tuple[str, str]] | None = None
    check_with_ast: bool | None = None
    for number in range(max_passes + 1):
        lines = split_lines(text)
        checked = engine.check(lines, filename, settings, whole_file=True)
        errors = [f for f in checked.findings if f.code == "DJG000"]
        if errors:
            if previous is None:
                result.error = errors[0].message
                result.remaining = errors
                return result
            # The last round's fixes made a rule fail or libcst reject the code: undo it.
            text, result.remaining, undone = previous
            result.applied -= undone
            if record and result.passes:
                result.passes.pop()
            result.problems.append(
                "fixes undone: after them, the file could not be checked "
                f"({errors[0].message.split(' ', 1)[1]})"
            )
            break
        noqa = NoqaIndex(lines, disable_noqa)
        findings = [f for f in checked.findings if not noqa.ignores(f.code, f.line)]
        reported = suppress(findings, lines, filename, settings)
        kept = {id(f) for f in reported}
        still = Counter(_key(f, lines) for f in findings if id(f) not in kept)
        if protected is None:
            protected = still
            result.baselined = sum(still.values())
        result.remaining = reported
        left_alone = protected - still
        fixable = []
        for finding in reported:
            key = _key(finding, lines)
            if left_alone[key] > 0:
                left_alone[key] -= 1
            elif is_fixable(finding, unsafe):
                fixable.append(finding)
        findings = reported
        if not fixable:
            break
        if number == max_passes:
            codes = ", ".join(sorted({f.code for f in fixable}))
            result.problems.append(
                f"fixes did not settle after {max_passes} passes ({codes}); "
                "the last fixes are applied, please report this"
            )
            break
        module = checked.chunks[0].module
        assert module is not None and len(checked.chunks) == 1
        if check_with_ast is None:
            check_with_ast = _parses_with_ast(source)
        applied = apply_fixes(
            module, fixable, check_with_ast=check_with_ast, record=record, line_length=line_length
        )
        result.problems.extend(p for p in applied.problems if p not in result.problems)
        if not applied.findings or applied.code == text:
            break
        done = Counter(f.code for f in applied.findings)
        previous = (text, findings, done)
        result.applied += done
        if record:
            result.passes.append(FixPass(text, applied.code, applied.spans))
        text = applied.code
    result.source = _with_final_ending(text, source) if text != source else text
    result.unsafe_available = sum(
        1 for f in result.remaining if f.fix is not None and f.unsafe_fix and not unsafe
    )
    return result


def _key(finding: Finding, lines: Sequence[str]) -> tuple[str, str]:
    """A finding's code and its line's text, blanks normalised (what a fix next to it keeps)."""
    text = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
    return finding.code, normalise(text)


def _final_ending(text: str) -> str:
    if text.endswith("\r\n"):
        return "\r\n"
    return text[-1] if text.endswith(("\n", "\r")) else ""


def _with_final_ending(text: str, original: str) -> str:
    """``text`` ending as ``original`` ends (libcst drops the last ``\\r`` of a CR-only file)."""
    ending = _final_ending(original)
    if not text or _final_ending(text) == ending:
        return text
    return text[: len(text) - len(_final_ending(text))] + ending


@dataclass
class Applied:
    """The outcome of one transformer pass."""

    code: str
    findings: list[Finding]
    problems: list[str]
    spans: list[tuple[int, int]] = field(default_factory=list)


def _where(finding: Finding) -> str:
    return f"{finding.code} at {finding.line}:{finding.col + 1}"


def apply_fixes(
    module: cst.Module,
    findings: Sequence[Finding],
    *,
    check_with_ast: bool = True,
    record: bool = False,
    line_length: int | None = None,
) -> Applied:
    """Apply the fixes of ``findings`` (nodes of ``module``) in one pass; see the module doc."""
    problems: list[str] = []
    entries: dict[int, tuple[Any, Any, Finding]] = {}
    for finding in sorted(findings, key=lambda f: (f.line, f.col, f.code)):
        target = finding.fix_node if finding.fix_node is not None else finding.node
        if finding.fix is None or target is None or id(target) in entries:
            continue
        try:
            replacement = finding.fix()
            if _same_code(module, target, replacement):
                continue
            if line_length is not None:
                replacement = wrap_signature(module, target, replacement, finding.col, line_length)
        except Exception as error:
            problems.append(f"{_where(finding)}: the fix failed ({type(error).__name__}: {error})")
            continue
        entries[id(target)] = (target, replacement, finding)
    if not entries:
        return Applied(module.code, [], problems)

    outcome = _transform(module, entries, check_with_ast)
    if outcome is None:
        # Some fix breaks the code: keep the ones that do not, alone and then together.
        good: dict[int, tuple[Any, Any, Finding]] = {}
        for key, entry in entries.items():
            if _transform(module, {key: entry}, check_with_ast) is None:
                problems.append(f"{_where(entry[2])}: the fix produced invalid code; not applied")
            else:
                good[key] = entry
        outcome = _transform(module, good, check_with_ast) if good else None
        if outcome is None and good:
            first = next(iter(good))
            outcome = _transform(module, {first: good[first]}, check_with_ast)
        if outcome is None:
            return Applied(module.code, [], problems)
    code, done = outcome
    applied = [entries[key][2] for key in done]
    spans = _spans(module, [entries[key][0] for key in done]) if record else []
    return Applied(code, applied, problems, spans)


def _header(module: cst.Module, node: cst.FunctionDef) -> str | None:
    """A function's ``def`` line up to its colon, or ``None`` when it spans several lines."""
    from flake8_djguide._lazy import cst

    stub = node.with_changes(
        leading_lines=(),
        decorators=(),
        body=cst.SimpleStatementSuite(body=[cst.Pass()]),
    )
    code = module.code_for_node(stub)
    tail = " pass" + module.default_newline
    if not code.endswith(tail) or "\n" in code[: -len(tail)] or "\r" in code[: -len(tail)]:
        return None
    return code[: -len(tail)]


def _parameter_texts(module: cst.Module, params: cst.Parameters) -> list[str]:
    """The source of each parameter and marker (``/``, ``*``) of a signature, in order."""
    from flake8_djguide._lazy import cst

    def bare(param: cst.Param) -> str:
        plain = param.with_changes(
            comma=cst.MaybeSentinel.DEFAULT, whitespace_after_param=cst.SimpleWhitespace("")
        )
        return module.code_for_node(plain).strip()

    parts = [bare(param) for param in params.posonly_params]
    if isinstance(params.posonly_ind, cst.ParamSlash):
        parts.append("/")
    parts.extend(bare(param) for param in params.params)
    if isinstance(params.star_arg, cst.Param):
        parts.append(bare(params.star_arg))
    elif isinstance(params.star_arg, cst.ParamStar):
        parts.append("*")
    parts.extend(bare(param) for param in params.kwonly_params)
    if isinstance(params.star_kwarg, cst.Param):
        parts.append(bare(params.star_kwarg))
    return parts


def wrap_signature(
    module: cst.Module, target: Any, replacement: Any, column: int, line_length: int
) -> Any:
    """``replacement`` with its signature wrapped when the fix made it too long.

    Only for a function whose ``def`` line fitted in ``line_length`` before the fix
    (``column`` is where ``def`` starts) and no longer does. As ruff format: the
    parameters on one line of their own, indented one level (they fit there, since they
    fitted on the longer ``def`` line), and the closing parenthesis with what follows
    (``) -> None:``) on a line of its own.
    """
    from flake8_djguide._lazy import cst

    if not isinstance(replacement, cst.FunctionDef) or not isinstance(target, cst.FunctionDef):
        return replacement
    new = _header(module, replacement)
    old = _header(module, target)
    if new is None or old is None:
        return replacement
    if column + len(new) <= line_length or column + len(old) > line_length:
        return replacement
    parts = _parameter_texts(module, replacement.params)
    if not parts:
        return replacement
    indent, nl = module.default_indent, module.default_newline
    # The parameters fit on one line: they fitted on the longer ``def`` line before.
    inside = f"{nl}{indent}{', '.join(parts)}{nl}"
    try:
        parsed = cst.parse_statement(f"def f({inside}): pass{nl}", config=module.config_for_parsing)
    except Exception:
        return replacement
    if not isinstance(parsed, cst.FunctionDef):  # pragma: no cover - always a def
        return replacement
    return replacement.with_changes(
        params=parsed.params, whitespace_before_params=parsed.whitespace_before_params
    )


def _same_code(module: cst.Module, target: Any, replacement: Any) -> bool:
    """Whether the replacement would not change the code (a no-op fix)."""
    import libcst

    if replacement is target:
        return True
    if not isinstance(replacement, libcst.CSTNode):
        return False
    return bool(module.code_for_node(replacement) == module.code_for_node(target))


def _transform(
    module: cst.Module, entries: dict[int, tuple[Any, Any, Finding]], check_with_ast: bool
) -> tuple[str, list[int]] | None:
    """The module's code with ``entries`` applied, and the keys applied; ``None`` if invalid."""
    import libcst

    class Replacer(libcst.CSTTransformer):
        def __init__(self) -> None:
            super().__init__()
            self.done: list[int] = []

        def on_visit(self, node: libcst.CSTNode) -> bool:
            # A replaced node's children are not entered: fixes inside it wait a pass.
            entry = entries.get(id(node))
            return entry is None or entry[0] is not node

        def on_leave(self, original_node: Any, updated_node: Any) -> Any:
            entry = entries.get(id(original_node))
            if entry is not None and entry[0] is original_node:
                self.done.append(id(original_node))
                return entry[1]
            return updated_node

    replacer = Replacer()
    try:
        new_module = module.visit(replacer)
        code = new_module.code
    except Exception:
        return None
    if not _parses(code, check_with_ast):
        return None
    return code, replacer.done


def _parses_with_ast(source: str) -> bool:
    try:
        parse_quietly(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _parses(code: str, check_with_ast: bool) -> bool:
    if check_with_ast:
        return _parses_with_ast(code)
    import libcst

    try:
        libcst.parse_module(code)
    except Exception:
        return False
    return True


def _spans(module: cst.Module, nodes: Sequence[Any]) -> list[tuple[int, int]]:
    """1-based inclusive line ranges of ``nodes`` in ``module``."""
    from libcst.metadata import MetadataWrapper, PositionProvider

    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    spans = []
    for node in nodes:
        position = positions.get(node)
        if position is not None:
            spans.append((position.start.line, position.end.line))
    return sorted(spans)
