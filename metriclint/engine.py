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
from typing import TYPE_CHECKING, Dict, FrozenSet, List, NamedTuple, Optional, Set, Tuple

import libcst as cst

from .deepstack import call_with_deep_stack
from .diagnostics import Diagnostic, Edit, Fix, Position, Safety, apply_edits, split_message
from .facts.collect import collect_facts
from .facts.resolve import Resolver
from .locate import LineIndex, Locator
from .keras.symbols import file_flavour
from .normalise import Normalised, normalise_indentation
from .prefilter import LEGACY_KERAS_ENVIRONMENT, Summary, nesting_deeper_than, summarize
from .rules import NEVER_SILENCED, TOOL_CODES, UNPARSABLE, all_rules, known_codes
from .rules.base import Finding, Rule, RuleContext
from .settings import Settings
from .suppression import Suppressions, futile_directive, futile_note, is_ours

if TYPE_CHECKING:  # pragma: no cover
    from .project.index import ProjectView

MAX_FIX_PASSES = 10
# Appended to the message of a finding whose fix was dropped because it could not be mapped back
# from the re-indented copy (normalise.py) without changing the file's own indentation.
WITHHELD = (" (no automatic fix here: it would have to write indentation in code that mixes tabs and "
            "spaces, and metriclint cannot match the file's own)")


def _withheld(message: str) -> str:
    """The message with WITHHELD added to its explanation (not to the first sentence, which stays
    short: the one-line report shows it; the missing `[*]` says there is no fix)."""
    first, rest = split_message(message)
    return f"{first}. {rest}{WITHHELD}" if rest else f"{first}.{WITHHELD}"
# Deeper than this, libcst's parse takes seconds to minutes (prefilter.nesting_deeper_than).
MAX_NESTING = 1500


@lru_cache(maxsize=64)
def _trigger_pattern(codes: FrozenSet[str]) -> "re.Pattern[str]":
    rules = all_rules()
    words = sorted({word for code in codes for word in rules[code].triggers()})
    return re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b")


def might_fire(text: str, codes: FrozenSet[str]) -> bool:
    """Cheap text test: every rule needs one of its trigger identifiers (Keras may be imported by a
    module of the project, not by the file itself)."""
    if not codes:
        return False
    return _trigger_pattern(codes).search(text) is not None


def _rules_for(settings: Settings, path: str) -> FrozenSet[str]:
    ignored = settings.ignored_for(path)
    if "ALL" in ignored:
        return frozenset()
    return frozenset(
        code for code in settings.enabled_codes(all_rules())
        if not any(code.startswith(prefix) for prefix in ignored)
    )


_PYTHON2 = re.compile(
    r"^\s*(print\s+[^\s(=]|exec\s+[\"']|raise\s+\w+(\.\w+)*\s*,)"  # print "x", exec "x", raise E, msg
    r"|except\s+[\w.]+\s*,\s*\w+\s*:"  # except E, e:
    r"|`[^`]*`|<>|\bur[\"']|\b0[0-7]+\b"  # backticks, <>, ur"", 0777
)


def syntax_error_diagnostic(exc: Exception, text: str) -> Diagnostic:
    """E999 at the error. CPython's own message and position are clearer than the CST parser's
    token lists, so they win when CPython rejects the text too (it always does: valid code that
    libcst cannot parse is E903)."""
    message = getattr(exc, "message", None)
    message = str(message).strip().splitlines()[0] if message else "invalid syntax"
    line, column = max(getattr(exc, "raw_line", 1), 1), max(getattr(exc, "raw_column", 0), 0) + 1
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
    # The hint belongs to the first sentence, the one a one-line report shows ("Missing
    # parentheses in call to 'print'. Did you mean print(...)?" has two).
    first, rest = split_message(message)
    return Diagnostic(
        code="E999",
        message=f"SyntaxError: {first}{hint}" + (f". {rest}" if rest else ""),
        start=Position(line, column),
        end=Position(line, column),
        source_line=line,
    )


def unparsable_diagnostic(reason: str) -> Diagnostic:
    """E903 for code CPython accepts and libcst cannot parse, even re-indented: the file is not checked."""
    return Diagnostic(
        UNPARSABLE,
        f"not checked: Python accepts this file, but libcst (the parser metriclint reads code with) "
        f"cannot parse it: {reason}",
        Position(1, 1), Position(1, 1), source_line=1,
    )


def _libcst_reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply for it"
    message = getattr(exc, "message", None) if isinstance(exc, cst.ParserSyntaxError) else None
    if message:
        return str(message).strip().splitlines()[0]
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _with_futile_directive_note(diag: Diagnostic, text: str) -> Diagnostic:
    """A never-silenced tool code whose line (or the file's leading comments) has a `noqa` naming
    it: say that the directive does nothing, instead of ignoring it without a word."""
    if diag.code not in NEVER_SILENCED or not futile_directive(text, diag.source_line, diag.code):
        return diag
    return Diagnostic(diag.code, diag.message + futile_note(diag.code), diag.start, diag.end, diag.fix, diag.cell,
                      diag.source_line, diag.extra)


class _NotParsed(Exception):
    """libcst could not parse the text; `diagnostic` says why (E999, or E903 for valid code)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@dataclass
class _Parsed:
    module: cst.Module
    text: str  # the text libcst parsed: the file's, or its re-indented copy
    tree: Optional[ast.AST]  # CPython's tree of that same text (None when CPython rejects it)
    normalised: Optional[Normalised] = None  # set when `text` is the re-indented copy


def _parse(text: str, tree: Optional[ast.AST], deep: bool) -> _Parsed:
    """libcst's module of `text`. Where libcst refuses code CPython accepts (`tree` is CPython's
    tree), a re-indented copy is parsed instead (see normalise.py); only that rare file pays for
    it. Raises _NotParsed: E999 when CPython rejects the text too, else E903."""
    try:
        return _Parsed(cst.parse_module(text), text, tree)
    except RecursionError as exc:
        if not deep:
            raise
        failure: BaseException = exc
    except Exception as exc:  # ParserSyntaxError, and the odd TypeError from libcst's validation
        failure = exc
    if tree is None:
        if isinstance(failure, RecursionError):
            raise _NotParsed(Diagnostic("E999", "SyntaxError: too deeply nested to parse", Position(1, 1),
                                        Position(1, 1), source_line=1))
        raise _NotParsed(syntax_error_diagnostic(failure, text))  # type: ignore[arg-type]
    normalised = normalise_indentation(text)
    if normalised is not None:
        try:
            module = cst.parse_module(normalised.text)
        except RecursionError:
            if not deep:
                raise
        except Exception:
            pass
        else:
            return _Parsed(module, normalised.text, _python_tree(normalised.text), normalised)
    raise _NotParsed(unparsable_diagnostic(_libcst_reason(failure)))


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
    verdict, summary = _verdict(text, tree, codes, flavour)
    return Prefiltered(verdict, tree, summary)


def _verdict(text: str, tree: ast.AST, codes: FrozenSet[str], flavour: str) -> Tuple[bool, Optional[Summary]]:
    """(could one of `codes` fire, the summary with its `flavour` set or None when the text test
    stopped early)."""
    if not might_fire(text, codes):
        return False, None
    summary = summarize(tree)
    summary.flavour = summary_flavour(summary, flavour)
    if not (summary.imports_keras or summary.foreign_imports):  # Keras objects may come from project modules
        return False, summary
    rules = all_rules()
    return any(rules[code].could_fire(summary) for code in codes if summary.flavour in rules[code].flavours), summary


@lru_cache(maxsize=1)
def _checking_rules() -> FrozenSet[str]:
    """Every rule that reads code (KM001 reads the suppression comments)."""
    return frozenset(code for code, rule in all_rules().items() if not rule.from_suppressions)


def _any_rule_could_fire(text: str, tree: ast.AST, codes: FrozenSet[str], flavour: str) -> bool:
    """Whether a rule, selected or not, could fire here. Whether a file is parsed only to learn if
    it can be (E903, E902) must not depend on the selection (with every rule selected, the
    prefilter's verdict already answered)."""
    others = _checking_rules() - codes
    return bool(others) and _verdict(text, tree, others, flavour)[0]


def lint_text(text: str, path: str, settings: Settings, project: Optional["ProjectView"] = None) -> LintOutput:
    """`project`: the project's other modules as this file imports them (None: the file alone)."""
    try:
        return _lint_text(text, path, settings, project, deep=False)
    except RecursionError:  # valid code nested deeper than the default stack allows
        return call_with_deep_stack(lambda: _lint_text(text, path, settings, project, deep=True))


def _lint_text(text: str, path: str, settings: Settings, project: Optional["ProjectView"], deep: bool) -> LintOutput:
    """`deep`: this is the run on the deep stack, so running out of recursion is final here.

    The tool codes do not depend on the rule selection: E999 is reported when CPython rejects
    the code (then libcst is always asked), E902 (nesting) and E903 (valid code libcst cannot
    parse) wherever any rule could fire, whether or not it is selected; so a run with fewer
    rules may parse a file only to learn whether it can."""
    codes = _rules_for(settings, path)
    rules = all_rules()
    # KM001 (unused noqa) comes from the suppression comments, after the other rules ran.
    noqa_codes = frozenset(code for code in codes if rules[code].from_suppressions)
    codes = codes - noqa_codes
    verdict, tree, summary = _prefilter(text, codes, settings.flavour)
    if verdict is None:
        too_deep = _too_deep(text)
        if too_deep is not None:
            return LintOutput([_with_futile_directive_note(too_deep, text)])
    elif verdict is False and not _any_rule_could_fire(text, tree, codes, settings.flavour):  # type: ignore[arg-type]
        return _suppress(LintOutput(), [], None, text, settings, noqa_codes)
    if tree is not None:
        depth = nesting_deeper_than(tree, MAX_NESTING)
        if depth is not None:
            return LintOutput([_with_futile_directive_note(Diagnostic(
                "E902", f"code nested {depth:,} levels deep, more than metriclint checks ({MAX_NESTING:,}); not checked",
                Position(1, 1), Position(1, 1), source_line=1), text)])
    if verdict is False and not settings.reports(UNPARSABLE, path):
        return _suppress(LintOutput(), [], None, text, settings, noqa_codes)
    try:
        parsed = _parse(text, tree, deep)
    except _NotParsed as failure:
        return _not_checked(failure.diagnostic, text, path, settings)
    if verdict is False:  # parsed only to learn that it can be: none of the selected rules could fire
        return _suppress(LintOutput(), [], None, text, settings, noqa_codes)
    try:
        facts = collect_facts(parsed.module)
    except RecursionError:
        if not deep:
            raise
        return _not_checked(
            Diagnostic("E999", "SyntaxError: too deeply nested to analyse", Position(1, 1), Position(1, 1), source_line=1)
            if tree is None else unparsable_diagnostic("nested too deeply for metriclint to analyse"),
            text, path, settings)
    if not (facts.imports_keras or facts.imports_elsewhere) or not codes:
        return _suppress(LintOutput(), [], None, text, settings, noqa_codes)
    ctx = RuleContext(
        module=parsed.module,
        facts=facts,
        resolver=Resolver(facts, project),
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
    locator = None
    if found:
        twin = parsed.tree if isinstance(parsed.tree, ast.Module) else None
        locator = Locator(parsed.module, parsed.text, twin, facts.top_statement)
    return _suppress(output, found, locator, text, settings, noqa_codes, frozenset(code for code, _ in crashed), deep,
                     parsed.normalised)


def _not_checked(diag: Diagnostic, text: str, path: str, settings: Settings) -> LintOutput:
    """The one diagnostic of a file libcst could not parse. E999 is always reported; E903 unless
    it is ignored for this file, or the file's `# metriclint: noqa` covers it, or a `noqa` on its
    line (the first) names it: it is about the whole file, so a bare `# noqa` that happens to be
    on line 1 does not hide it."""
    if diag.code != UNPARSABLE:
        return LintOutput([_with_futile_directive_note(diag, text)])
    suppressions = Suppressions(text)
    directive = suppressions.directives.get(diag.source_line)
    named = directive is not None and directive.codes is not None and directive.covers(UNPARSABLE)
    exempt = suppressions.exemption is not None and suppressions.exemption.covers(UNPARSABLE)
    if not settings.reports(UNPARSABLE, path) or named or exempt:
        return LintOutput()
    elsewhere = [line for line, d in suppressions.directives.items() if d.codes is not None and d.covers(UNPARSABLE)]
    if elsewhere:  # said, not silently ignored: KM001 does not run in a file that was not checked
        diag = Diagnostic(diag.code, diag.message + f" (the `# noqa` naming {UNPARSABLE} on line {elsewhere[0]} does "
                          "not hide it: put it in the file's leading comments as `# metriclint: noqa: E903`)",
                          diag.start, diag.end, source_line=diag.source_line)
    return LintOutput([diag])


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
              deep: bool = False, normalised: Optional[Normalised] = None) -> LintOutput:
    """Drop the findings a `# noqa` (or the file's `# metriclint: noqa`) suppresses, build the
    others' diagnostics and fixes, then report the directives that suppressed nothing (KM001).

    With `normalised`, the locator works on the re-indented copy: positions and fix edits are
    mapped back to `text` (the same lines, so suppressions read `text` itself)."""
    if not found and not noqa_codes:
        return output
    suppressions = Suppressions(text)
    for rule, finding in found:
        assert locator is not None
        start = locator.start(finding.node)
        if normalised is not None:
            start = normalised.position(start)
        if suppressions.suppresses(start.line, rule.code):
            continue
        end = locator.end(finding.node)
        message = finding.message
        if normalised is not None:
            end = normalised.position(end)
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
            if edits and normalised is not None:
                mapped = [normalised.edit(edit) for edit in edits]
                if any(edit is None for edit in mapped):
                    edits = ()
                    message = _withheld(message)
                else:
                    edits = tuple(sorted(mapped))  # type: ignore[arg-type]
            if edits:
                fix = Fix(edits=edits, safety=finding.fix.safety, message=finding.fix.message)
        output.diagnostics.append(
            Diagnostic(rule.code, message, start, end, fix=fix, source_line=start.line)
        )
    if noqa_codes and (suppressions.directives or suppressions.file_directives):
        # Tool codes count as enabled; a noqa naming one that is never silenced is reported as such.
        enabled = settings.enabled_codes(all_rules()) | frozenset(TOOL_CODES)
        # Codes the config enables but this run's command line turned off did not run: their
        # directives are kept, like those of a rule that crashed (a one-run flag deletes nothing).
        off_this_run = settings.configured_codes(all_rules()) - enabled
        unused = suppressions.unused(enabled, known_codes(), lambda code: is_ours(code, TOOL_CODES),
                                     keep=crashed | off_this_run, never=frozenset(NEVER_SILENCED))
        output.diagnostics.extend(d for d in unused if d.code in noqa_codes)
    output.diagnostics.sort(key=lambda d: d.sort_key)
    return output


# --- fixing -----------------------------------------------------------------------------------


def _parses(text: str) -> bool:
    """Whether fixed text can be written: CPython compiles it (what the CST grammar allows but
    Python does not is caught here), and libcst parses it, or its re-indented copy where the
    file's indentation needs one (as `lint_text` will on the next pass)."""
    try:
        compile(text, "<fixed>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    try:
        cst.parse_module(text)
        return True
    except RecursionError:
        return False
    except Exception:
        pass
    normalised = normalise_indentation(text)
    if normalised is None:
        return False
    try:
        cst.parse_module(normalised.text)
    except (Exception, RecursionError):
        return False
    return True


def parses_as_fixed(text: str) -> bool:
    """Whether a fixed text is one `fix_text` would write (the language server offers a single fix
    only when it is)."""
    return _parses(text)


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


def fix_text(text: str, path: str, settings: Settings, unsafe: bool, project: Optional["ProjectView"] = None) -> FixOutput:
    fixed: Dict[str, int] = {}
    rejected: List[str] = []
    bad: Set[Tuple[str, Tuple[Edit, ...]]] = set()
    for _ in range(MAX_FIX_PASSES):
        output = lint_text(text, path, settings, project)
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
    output = lint_text(text, path, settings, project)
    return FixOutput(text, output.diagnostics, fixed, rejected, output.internal_error)
