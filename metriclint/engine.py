"""Lint and fix one text: prefilter, one libcst parse, one facts pass, the rules, suppressions.

Pure functions of (text, settings): no I/O here, so results can be cached and computed in
worker processes. Reading and writing files is `runner.py`'s job.
"""

from __future__ import annotations

import ast
import bisect
import re
import traceback
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, FrozenSet, List, NamedTuple, Optional, Set, Tuple

import libcst as cst

from .deepstack import call_with_deep_stack
from .diagnostics import Diagnostic, Edit, Fix, Position, Safety
from .facts.collect import collect_facts
from .facts.resolve import Resolver
from .locate import LineIndex, Locator
from .keras.symbols import file_flavour
from .prefilter import LEGACY_KERAS_ENVIRONMENT, Summary, nesting_deeper_than, summarize
from .rules import TOOL_CODES, all_rules, known_codes
from .rules.base import Finding, Rule, RuleContext
from .settings import Settings
from .suppression import Suppressions, is_ours

MAX_FIX_PASSES = 10
# Deeper than this, libcst's parse takes seconds to minutes (prefilter.nesting_deeper_than).
MAX_NESTING = 1500


@lru_cache(maxsize=64)
def _trigger_pattern(codes: FrozenSet[str]) -> "re.Pattern[str]":
    rules = all_rules()
    words = sorted({word for code in codes for word in rules[code].triggers()})
    return re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b")


def might_fire(text: str, codes: FrozenSet[str]) -> bool:
    """Cheap text test: every rule needs a Keras import and one of its trigger identifiers."""
    if not codes or "keras" not in text:
        return False
    return _trigger_pattern(codes).search(text) is not None


def _rules_for(settings: Settings, path: str) -> FrozenSet[str]:
    ignored = settings.ignored_for(path)
    return frozenset(
        code for code in settings.enabled_codes(all_rules())
        if not any(code.startswith(prefix) for prefix in ignored)
    )


_PYTHON2 = re.compile(
    r"^\s*(print\s+[^\s(=]|exec\s+[\"']|raise\s+\w+(\.\w+)*\s*,)"  # print "x", exec "x", raise E, msg
    r"|except\s+[\w.]+\s*,\s*\w+\s*:"  # except E, e:
    r"|`[^`]*`|<>|\bur[\"']|\b0[0-7]+\b"  # backticks, <>, ur"", 0777
)


def syntax_error_diagnostic(exc: cst.ParserSyntaxError, text: str) -> Diagnostic:
    """E999 at the error. CPython's own message and position are clearer than the CST parser's
    token lists, so they win when CPython rejects the text too."""
    message = str(exc.message).strip().splitlines()[0] if exc.message else "invalid syntax"
    line, column = max(exc.raw_line, 1), max(exc.raw_column, 0) + 1
    try:
        compile(text, "<file>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as err:
        if err.lineno:
            line, column, message = err.lineno, max(err.offset or 1, 1), err.msg
    except (ValueError, RecursionError, MemoryError):
        pass
    lines = LineIndex(text)
    line = min(line, len(lines.starts))
    hint = ""
    if _PYTHON2.search(lines.line_text(line)):
        hint = " (this looks like Python 2 code; metriclint reads Python 3)"
    return Diagnostic(
        code="E999",
        message=f"SyntaxError: {message}{hint}",
        start=Position(line, column),
        end=Position(line, column),
        source_line=line,
    )


@dataclass
class LintOutput:
    diagnostics: List[Diagnostic] = field(default_factory=list)
    internal_error: bool = False


def _python_tree(text: str) -> Optional[ast.AST]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            return ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def _too_deep(text: str) -> Optional[Diagnostic]:
    """E999 for nesting CPython itself refuses as too deep: libcst's native parser must never see
    such input (at 100,000 nested parentheses it crashes the process)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (RecursionError, MemoryError):
        return Diagnostic("E999", "SyntaxError: too deeply nested to parse", Position(1, 1), Position(1, 1), source_line=1)
    except SyntaxError as err:
        message = err.msg or ""
        if "too many nested" in message or "too deeply nested" in message or "too many statically nested" in message:
            line = err.lineno or 1
            return Diagnostic("E999", f"SyntaxError: {message}", Position(line, max(err.offset or 1, 1)),
                              Position(line, max(err.offset or 1, 1)), source_line=line)
    except ValueError:
        return None
    return None


def summary_flavour(summary: Summary, configured: str) -> str:
    """The flavour the rules check this file against (see `symbols.file_flavour`)."""
    return file_flavour(summary.imports, summary.module_attributes, LEGACY_KERAS_ENVIRONMENT in summary.flags,
                        configured)[0]


def could_fire(text: str, codes: FrozenSet[str], flavour: str = "3") -> Optional[bool]:
    """Whether any of `codes` could fire here: False/True, or None when CPython cannot parse the
    text (then libcst decides: a syntax error, or syntax newer than this interpreter)."""
    return _prefilter(text, codes, flavour).verdict


class Prefiltered(NamedTuple):
    verdict: Optional[bool]  # None: CPython cannot parse the text
    tree: Optional[ast.AST]
    summary: Optional[Summary]  # with its `flavour` set; None when the text tests stopped early


def _prefilter(text: str, codes: FrozenSet[str], flavour: str) -> Prefiltered:
    tree = _python_tree(text)
    if tree is None:
        return Prefiltered(None, None, None)
    if not might_fire(text, codes):
        return Prefiltered(False, tree, None)
    summary = summarize(tree)
    summary.flavour = summary_flavour(summary, flavour)
    if not summary.imports_keras:
        return Prefiltered(False, tree, summary)
    rules = all_rules()
    verdict = any(rules[code].could_fire(summary) for code in codes if summary.flavour in rules[code].flavours)
    return Prefiltered(verdict, tree, summary)


def lint_text(text: str, path: str, settings: Settings) -> LintOutput:
    try:
        return _lint_text(text, path, settings, deep=False)
    except RecursionError:  # valid code nested deeper than the default stack allows
        return call_with_deep_stack(lambda: _lint_text(text, path, settings, deep=True))


def _lint_text(text: str, path: str, settings: Settings, deep: bool) -> LintOutput:
    """`deep`: this is the run on the deep stack, so running out of recursion is final here."""
    codes = _rules_for(settings, path)
    rules = all_rules()
    # KM001 (unused noqa) comes from the suppression comments, after the other rules ran.
    noqa_codes = frozenset(code for code in codes if rules[code].from_suppressions)
    codes = codes - noqa_codes
    verdict, tree, summary = _prefilter(text, codes, settings.flavour)
    if verdict is False:
        return _suppress(LintOutput(), [], None, text, settings, noqa_codes)
    if verdict is None:
        too_deep = _too_deep(text)
        if too_deep is not None:
            return LintOutput([too_deep])
    elif tree is not None:
        depth = nesting_deeper_than(tree, MAX_NESTING)
        if depth is not None:
            return LintOutput([Diagnostic(
                "E902", f"code nested {depth:,} levels deep, more than metriclint checks ({MAX_NESTING:,}); not checked",
                Position(1, 1), Position(1, 1), source_line=1)])
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        return LintOutput([syntax_error_diagnostic(exc, text)])
    except RecursionError:
        if not deep:
            raise
        return LintOutput([Diagnostic("E999", "SyntaxError: too deeply nested to parse", Position(1, 1), Position(1, 1), source_line=1)])
    try:
        facts = collect_facts(module)
    except RecursionError:
        if not deep:
            raise
        return LintOutput([Diagnostic("E999", "SyntaxError: too deeply nested to analyse", Position(1, 1), Position(1, 1), source_line=1)])
    if not facts.imports_keras or not codes:
        return _suppress(LintOutput(), [], None, text, settings, noqa_codes)
    ctx = RuleContext(
        module=module,
        facts=facts,
        resolver=Resolver(facts),
        flavour=_flavour(summary, tree, facts, settings),
        path=path,
    )
    found: List[Tuple[Rule, Finding]] = []
    crashed: List[Tuple[str, str]] = []
    for code in sorted(codes):
        rule = rules[code]
        if ctx.flavour not in rule.flavours:
            continue
        try:
            found.extend((rule, finding) for finding in rule.check(ctx))
        except Exception as exc:  # a bug in a rule must not stop the other rules or files
            if isinstance(exc, RecursionError) and not deep:
                raise
            crashed.append((code, traceback.format_exc(limit=-3)))
    output = LintOutput(internal_error=bool(crashed))
    for code, trace in crashed:
        output.diagnostics.append(
            Diagnostic(
                "E000",
                f"internal error in rule {code}; the other rules ran. Please report this at "
                "https://github.com/metriclint/metriclint/issues with the file",
                Position(1, 1), Position(1, 1), source_line=1, extra={"rule": code, "traceback": trace},
            )
        )
    locator = Locator(module, text, tree if isinstance(tree, ast.Module) else None, facts.top_statement) if found else None
    return _suppress(output, found, locator, text, settings, noqa_codes, frozenset(code for code, _ in crashed), deep)


def _flavour(summary: Optional[Summary], tree: Optional[ast.AST], facts, settings: Settings) -> str:
    """The file's flavour, as the prefilter judged it; without CPython's tree (syntax newer than
    this interpreter) from the imports the facts saw."""
    if summary is None and tree is not None:
        summary = summarize(tree)
        summary.flavour = summary_flavour(summary, settings.flavour)
    if summary is not None:
        return summary.flavour
    return facts.implied_flavour or settings.flavour


def _suppress(output: LintOutput, found: List[Tuple[Rule, Finding]], locator: Optional[Locator], text: str,
              settings: Settings, noqa_codes: FrozenSet[str], crashed: FrozenSet[str] = frozenset(),
              deep: bool = False) -> LintOutput:
    """Drop the findings a `# noqa` (or the file's `# metriclint: noqa`) suppresses, build the
    others' diagnostics and fixes, then report the directives that suppressed nothing (KM001)."""
    if not found and not noqa_codes:
        return output
    suppressions = Suppressions(text)
    for rule, finding in found:
        assert locator is not None
        start = locator.start(finding.node)
        if suppressions.suppresses(start.line, rule.code):
            continue
        fix = None
        if finding.fix is not None and settings.legacy_keras is None:  # legacy Keras: fixes would fail there
            try:
                edits = tuple(sorted(finding.fix.build(locator)))
            except Exception as exc:
                if isinstance(exc, RecursionError) and not deep:
                    raise
                output.internal_error = True
                output.diagnostics.append(
                    Diagnostic("E000", f"internal error while building the fix for {rule.code}; please report it",
                               start, start, source_line=start.line, extra={"rule": rule.code, "traceback": traceback.format_exc(limit=-3)})
                )
                edits = ()
            if edits:
                fix = Fix(edits=edits, safety=finding.fix.safety, message=finding.fix.message)
        output.diagnostics.append(
            Diagnostic(rule.code, finding.message, start, locator.end(finding.node), fix=fix, source_line=start.line)
        )
    if noqa_codes and suppressions.directives:
        # Tool codes count as enabled: a noqa naming one is unused (they are never suppressed).
        enabled = settings.enabled_codes(all_rules()) | frozenset(TOOL_CODES)
        unused = suppressions.unused(enabled, known_codes(), lambda code: is_ours(code, TOOL_CODES), keep=crashed)
        output.diagnostics.extend(d for d in unused if d.code in noqa_codes)
    output.diagnostics.sort(key=lambda d: d.sort_key)
    return output


# --- fixing -----------------------------------------------------------------------------------
def apply_edits(text: str, edits: List[Edit]) -> str:
    out, last = [], 0
    for edit in sorted(edits):
        out.append(text[last:edit.start])
        out.append(edit.content)
        last = edit.end
    out.append(text[last:])
    return "".join(out)


def _parses(text: str) -> bool:
    try:
        cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return False
    try:
        compile(text, "<fixed>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)  # catches what the CST grammar allows but Python does not
    except (SyntaxError, ValueError):
        return False
    return True


def _crossing(spans: List[Tuple[int, int]]) -> bool:
    """Whether two of one fix's edits share text (a fix has a few edits: pairwise is fine)."""
    return any(a[0] < b[1] and b[0] < a[1] for i, a in enumerate(spans) for b in spans[i + 1:])


class _TakenSpans:
    """The spans of the edits chosen in one fix pass. They never overlap, so kept sorted they end
    in order too, and testing a new span is a binary search (a pairwise test was quadratic: 24
    million comparisons for a file with 8,000 fixes)."""

    def __init__(self) -> None:
        self._spans: List[Tuple[int, int]] = []

    def overlaps(self, span: Tuple[int, int]) -> bool:
        start, end = span
        spans = self._spans
        index = bisect.bisect_left(spans, span)
        if index < len(spans) and spans[index] == span:
            return True  # two insertions at one offset overlap too: their order would be arbitrary
        before = bisect.bisect_left(spans, (end, -1))  # the spans that start before this one ends
        return before > 0 and start < spans[before - 1][1]

    def add(self, span: Tuple[int, int]) -> None:
        bisect.insort(self._spans, span)


@dataclass
class FixOutput:
    text: str
    diagnostics: List[Diagnostic]  # what remains after fixing
    fixed: Dict[str, int]
    rejected: List[str]  # fixes dropped because their result did not parse
    internal_error: bool = False


def fix_text(text: str, path: str, settings: Settings, unsafe: bool) -> FixOutput:
    fixed: Dict[str, int] = {}
    rejected: List[str] = []
    bad: Set[Tuple[str, Tuple[Edit, ...]]] = set()
    for _ in range(MAX_FIX_PASSES):
        output = lint_text(text, path, settings)
        chosen: List[Diagnostic] = []
        taken = _TakenSpans()
        for diag in output.diagnostics:
            fix = diag.fix
            if fix is None or (fix.safety is Safety.UNSAFE and not unsafe) or (diag.code, fix.edits) in bad:
                continue
            fix_spans = [(e.start, e.end) for e in fix.edits]
            if _crossing(fix_spans):
                continue  # edits of one fix that share text cannot all apply (a rule's bug): never
            if any(taken.overlaps(span) for span in fix_spans):
                continue  # next pass
            chosen.append(diag)
            for span in fix_spans:
                taken.add(span)
        if not chosen:
            return FixOutput(text, output.diagnostics, fixed, rejected, output.internal_error)
        candidate = apply_edits(text, [e for d in chosen for e in d.fix.edits])  # type: ignore[union-attr]
        if not _parses(candidate):
            # Find the culprits one by one; keep the fixes that are fine on their own.
            good = []
            for diag in chosen:
                if _parses(apply_edits(text, list(diag.fix.edits))):  # type: ignore[union-attr]
                    good.append(diag)
                else:
                    bad.add((diag.code, diag.fix.edits))  # type: ignore[union-attr]
                    rejected.append(
                        f"{diag.code} fix at {diag.start.line}:{diag.start.column} would make the file invalid; not applied"
                    )
            chosen = good[:1]  # the survivors may still conflict together: take one per pass
            if not chosen:
                continue
            candidate = apply_edits(text, list(chosen[0].fix.edits))  # type: ignore[union-attr]
        for diag in chosen:
            fixed[diag.code] = fixed.get(diag.code, 0) + 1
        text = candidate
    output = lint_text(text, path, settings)
    return FixOutput(text, output.diagnostics, fixed, rejected, output.internal_error)
