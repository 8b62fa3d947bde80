"""`concise`: `path:line:col: CODE [*] message`, one line per diagnostic (the message's first
sentence; `[*]` when `metriclint fix` would fix it), then the summary, statistics and
`--show-fixes` listings that every text format shares."""

from __future__ import annotations

from typing import Any, Dict, List

from ..diagnostics import Diagnostic, Safety
from . import Report
from .style import Style

FIXABLE = "[*]"


def location(path: str, diag: Diagnostic) -> str:
    if diag.cell is not None:
        return f"{path}:cell {diag.cell}:{diag.start.line}:{diag.start.column}"
    return f"{path}:{diag.start.line}:{diag.start.column}"


def styled_location(path: str, diag: Diagnostic, style: Style) -> str:
    colon = style.separator(":")
    parts = [style.path(path)] + ([f"cell {diag.cell}"] if diag.cell is not None else []) + [
        str(diag.start.line), str(diag.start.column)]
    return colon.join(parts)


def headline(report: Report, diag: Diagnostic, style: Style) -> str:
    """`CODE [*] first sentence` (ruff's shape; `[*]` only when `fix` would apply the fix)."""
    mark = style.fixable(FIXABLE) + " " if report.applies(diag) else ""
    return f"{style.code(diag.code)} {mark}{diag.headline}"


def render(report: Report) -> str:
    style = Style(report.color)
    lines: List[str] = [f"{styled_location(r.path, d, style)}{style.separator(':')} {headline(report, d, style)}"
                        for r, d in report.items()]
    return "\n".join(lines) + ("\n" if lines else "")


def plural(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word}{'es' if word.endswith(('x', 's', 'sh', 'ch')) else 's'}"


def summary(report: Report, errors: bool = False) -> str:
    """The closing lines, as ruff prints them. `errors`: the run reported an error (a path that
    does not exist, a crash): then nothing that reads as success is said."""
    remaining = [d for _, d in report.items()]
    fixed = sum(r.fixed_count for r in report.results)
    if errors and not remaining and not fixed:
        return ""
    safe = sum(1 for d in remaining if d.fix and d.fix.safety is Safety.SAFE)
    unsafe = sum(1 for d in remaining if d.fix and d.fix.safety is Safety.UNSAFE)
    if report.fix_mode:
        if not remaining and not fixed:
            return "All checks passed!"
        text = f"Found {plural(fixed + len(remaining), 'error')} ({fixed} fixed, {len(remaining)} remaining)."
        if unsafe and not report.unsafe_fixes:
            text += f"\n{plural(unsafe, 'hidden fix')} can be enabled with `--unsafe-fixes`."
        return text
    if not remaining:
        return "All checks passed!"
    fixable = safe + (unsafe if report.unsafe_fixes else 0)
    text = f"Found {plural(len(remaining), 'error')}"
    if fixable:
        option = " --unsafe-fixes" if report.unsafe_fixes and unsafe else ""
        text += f" ({fixable} fixable with `metriclint fix{option}`)"
    text += "."
    if unsafe and not report.unsafe_fixes:
        text += f"\n{plural(unsafe, 'hidden fix')} can be enabled with `metriclint fix --unsafe-fixes`."
    return text


def rule_name(code: str) -> str:
    from ..rules import TOOL_CODES, all_rules

    rules = all_rules()
    return rules[code].name if code in rules else TOOL_CODES.get(code, "").split(":")[0]


def statistics_rows(report: Report) -> List[Dict[str, Any]]:
    """Per code: how many diagnostics, and how many of them `metriclint fix` (with the same
    `--unsafe-fixes` choice) would fix; most frequent first."""
    counts: Dict[str, int] = {}
    fixable: Dict[str, int] = {}
    for _, diag in report.items():
        counts[diag.code] = counts.get(diag.code, 0) + 1
        # Fixable as the summary counts it: unsafe fixes only when `--unsafe-fixes` is on.
        if diag.fix is not None and (diag.fix.safety is Safety.SAFE or report.unsafe_fixes):
            fixable[diag.code] = fixable.get(diag.code, 0) + 1
    return [
        {"code": code, "name": rule_name(code), "count": count, "fixable": fixable.get(code, 0)}
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def statistics(report: Report) -> str:
    rows = []
    for row in statistics_rows(report):
        mark = f"[*] {row['fixable']} fixable" if row["fixable"] else ""
        rows.append(f"{row['count']:5d}  {row['code']}  {row['name']:<28} {mark}".rstrip())
    return "\n".join(rows)


def show_fixes(report: Report) -> str:
    """`--show-fixes`. After `fix`: what was fixed, per file and code (as ruff prints it). After
    `check`: every fix on offer, per file, with its place, message and safety."""
    if report.fix_mode:
        fixed = [r for r in report.results if r.fixed_count]
        if not fixed:
            return "No errors fixed."
        total = sum(r.fixed_count for r in fixed)
        lines = [f"Fixed {plural(total, 'error')}:"]
        for result in fixed:
            lines.append(f"- {result.path}:")
            for code, count in sorted(result.fixed.items()):
                lines.append(f"    {count} \u00d7 {code} ({rule_name(code)})")
        return "\n".join(lines)
    offered = [(r, d) for r, d in report.items() if d.fix is not None]
    if not offered:
        return "No fixes available."
    safe = sum(1 for _, d in offered if d.fix.safety is Safety.SAFE)
    lines = [f"Fixes available ({safe} safe, {len(offered) - safe} unsafe; unsafe ones need `--unsafe-fixes`):"]
    current = None
    for result, diag in offered:
        if result.path != current:
            current = result.path
            lines.append(f"- {result.path}:")
        where = location(result.path, diag)[len(result.path) + 1:]
        lines.append(f"    {where} {diag.code} {diag.fix.message} ({diag.fix.safety.value})")
    return "\n".join(lines)
