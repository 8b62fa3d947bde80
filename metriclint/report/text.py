"""`path:line:col: CODE message`, one line per diagnostic, then a summary."""

from __future__ import annotations

from typing import List

from ..diagnostics import Diagnostic, Safety
from . import Report


def location(path: str, diag: Diagnostic) -> str:
    if diag.cell is not None:
        return f"{path}:cell {diag.cell}:{diag.start.line}:{diag.start.column}"
    return f"{path}:{diag.start.line}:{diag.start.column}"


def render(report: Report) -> str:
    lines: List[str] = [f"{location(r.path, d)}: {d.code} {d.message}" for r, d in report.items()]
    return "\n".join(lines) + ("\n" if lines else "")


def plural(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word}{'es' if word.endswith(('x', 's', 'sh', 'ch')) else 's'}"


def summary(report: Report) -> str:
    """The closing lines, as ruff prints them."""
    remaining = [d for _, d in report.items()]
    fixed = sum(r.fixed_count for r in report.results)
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


def statistics(report: Report) -> str:
    from ..rules import TOOL_CODES, all_rules

    counts = {}
    fixable = {}
    for _, diag in report.items():
        counts[diag.code] = counts.get(diag.code, 0) + 1
        # Fixable as the summary counts it: unsafe fixes only when `--unsafe-fixes` is on.
        if diag.fix is not None and (diag.fix.safety is Safety.SAFE or report.unsafe_fixes):
            fixable[diag.code] = fixable.get(diag.code, 0) + 1
    rules = all_rules()
    rows = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        name = rules[code].name if code in rules else TOOL_CODES.get(code, "").split(":")[0]
        mark = f"[*] {fixable[code]} fixable" if code in fixable else ""
        rows.append(f"{count:5d}  {code}  {name:<28} {mark}".rstrip())
    return "\n".join(rows)
