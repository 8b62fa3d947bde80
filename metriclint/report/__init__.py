"""Reporters: turn file results into text, JSON (and JSON lines), SARIF, GitHub annotations,
GitLab code quality reports or JUnit XML."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from ..diagnostics import Diagnostic, Edit, FileResult, Position, Safety
from ..locate import LineIndex


@dataclass(frozen=True)
class Report:
    """What every reporter gets: the results in file order, and how the run was made."""

    results: List[FileResult]
    fix_mode: bool = False
    unsafe_fixes: bool = False
    color: bool = False  # the text formats may use colour (a terminal, or asked for)
    stdin: bool = False  # the one result was read from stdin (no file on disk to show lines from)

    def items(self):
        for result in self.results:
            for diag in result.diagnostics:
                yield result, diag

    def applies(self, diag: Diagnostic) -> bool:
        """Whether `metriclint fix` with this run's `--unsafe-fixes` choice would apply the
        diagnostic's fix (ruff's `[*]`)."""
        return diag.fix is not None and (diag.fix.safety is Safety.SAFE or self.unsafe_fixes)


def edit_positions(result: FileResult, edit: Edit):
    """Start and end (1-based line/column) of an edit, in the text the diagnostics refer to.

    For notebooks the lines are relative to the cell (the diagnostic carries the cell number)."""
    text = result.new_text if result.new_text is not None else (result.original_text or "")
    index = LineIndex(text)
    start, end = index.position(edit.start), index.position(edit.end)
    if result.line_map:
        shifts = result.column_shifts or {}
        # a column past the line's start moves by the cell's stripped indentation; the start stays
        start = Position(result.line_map.get(start.line, (0, start.line))[1],
                         start.column + (shifts.get(start.line, 0) if start.column > 1 else 0))
        end = Position(result.line_map.get(end.line, (0, end.line))[1],
                       end.column + (shifts.get(end.line, 0) if end.column > 1 else 0))
    return start, end


def source_text(result: FileResult) -> Optional[str]:
    """The text the result's positions refer to (the virtual module for notebooks).

    Results from the cache carry no text; it is read again (None when that fails)."""
    if result.new_text is not None and not (result.path.endswith(".ipynb") and result.line_map is None):
        return result.new_text
    if result.original_text is not None:
        return result.original_text
    if result.path == "-":
        return None
    from ..source import SourceError, read_source

    try:
        source = read_source(result.path)
    except SourceError:
        return None
    if not result.path.endswith(".ipynb"):
        return source.text
    from .. import notebook as nb

    try:
        return nb.build_module(nb.read_notebook(source.text)).text
    except nb.NotebookError:
        return None


def line_content(result: FileResult, diag: Diagnostic, text: Optional[str]) -> str:
    """The stripped text of the line a diagnostic starts on ('' when unknown)."""
    if text is None or diag.source_line < 1:
        return ""
    index = LineIndex(text)
    if diag.source_line > len(index.starts):
        return ""
    return index.line_text(diag.source_line).strip()


# Format -> (module in this package, its render function); only the one asked for is imported.
_RENDERERS: Dict[str, Tuple[str, str]] = {
    "full": ("full", "render"),
    "concise": ("text", "render"),
    "json": ("json_report", "render"),
    "json-lines": ("json_report", "render_lines"),
    "sarif": ("sarif", "render"),
    "github": ("github", "render"),
    "gitlab": ("gitlab", "render"),
    "junit": ("junit", "render"),
}
FORMATS = tuple(_RENDERERS)
TEXT_FORMATS = ("full", "concise")  # for people: a summary follows, colour in a terminal
# Older spellings still accepted: `text` was the one-line format before `full` and `concise`.
ALIASES = {"text": "concise"}
DEFAULT_FORMAT = "full"  # as ruff's default since 0.5


def render(fmt: str, report: Report) -> str:
    module, function = _RENDERERS[ALIASES.get(fmt, fmt)]
    renderer: Callable[[Report], str] = getattr(importlib.import_module(f".{module}", __name__), function)
    return renderer(report)


__all__ = ["Report", "render", "FORMATS", "TEXT_FORMATS", "ALIASES", "DEFAULT_FORMAT", "edit_positions", "source_text", "line_content", "Diagnostic", "Position"]
