"""Reporters: turn file results into text, JSON, SARIF or GitHub annotations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List

from ..diagnostics import Diagnostic, Edit, FileResult, Position
from ..locate import LineIndex


@dataclass(frozen=True)
class Report:
    """What every reporter gets: the results in file order, and how the run was made."""

    results: List[FileResult]
    fix_mode: bool = False
    unsafe_fixes: bool = False

    def items(self):
        for result in self.results:
            for diag in result.diagnostics:
                yield result, diag


def edit_positions(result: FileResult, edit: Edit):
    """Start and end (1-based line/column) of an edit, in the text the diagnostics refer to.

    For notebooks the lines are relative to the cell (the diagnostic carries the cell number)."""
    text = result.new_text if result.new_text is not None else (result.original_text or "")
    index = LineIndex(text)
    start, end = index.position(edit.start), index.position(edit.end)
    if result.line_map:
        start = Position(result.line_map.get(start.line, (0, start.line))[1], start.column)
        end = Position(result.line_map.get(end.line, (0, end.line))[1], end.column)
    return start, end


def _registry() -> Dict[str, Callable[[Report], str]]:
    from . import github, json_report, sarif, text

    return {
        "text": text.render,
        "json": json_report.render,
        "sarif": sarif.render,
        "github": github.render,
    }


FORMATS = ("text", "json", "sarif", "github")


def render(fmt: str, report: Report) -> str:
    return _registry()[fmt](report)


__all__ = ["Report", "render", "FORMATS", "edit_positions", "Diagnostic", "Position"]
