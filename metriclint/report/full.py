"""`full` (the default, as ruff's): each diagnostic as ruff shows it, a header with the code and
the message's first sentence, where it is, the lines around it with a caret under the span, then
the rest of the message (`info:`) and the fix on offer (`help:`):

    KM101 [*] `Model.fit()` does not take `nb_epoch=` (TypeError at run time)
     --> train.py:4:17
      |
    2 | model = keras.Sequential()
    3 | model.compile(loss="mse")
    4 | model.fit(x, y, nb_epoch=3)
      |                 ^^^^^^^^
      |
    info: Keras 1 name of `epochs`.
    help: Rename `nb_epoch=` to `epochs=`

A notebook shows the lines of the diagnostic's cell; a file that could not be read shows no lines.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from typing import Dict, List, Optional, Tuple

from ..diagnostics import Diagnostic, FileResult
from . import Report, source_text
from .style import Style
from .text import headline, styled_location

CONTEXT = 2  # lines shown before and after the diagnostic's line
WRAP = 100  # columns the explanation is wrapped to
_TAB = "    "
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line breaks Python's tokenizer knows
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def render(report: Report) -> str:
    style = Style(report.color)
    sources: Dict[int, Optional[str]] = {}
    blocks = []
    for result, diag in report.items():
        blocks.append(_block(report, result, diag, style, sources))
    return "".join(block + "\n\n" for block in blocks)


def _block(report: Report, result: FileResult, diag: Diagnostic, style: Style, sources) -> str:
    lines = [headline(report, diag, style)]
    frame = _frame(report, result, diag, sources)
    width = len(str(frame[-1][0])) if frame else 1
    lines.append(f"{' ' * width}{style.gutter('-->')} {styled_location(result.path, diag, style)}")
    if frame:
        bar = style.gutter("|")
        lines.append(f"{' ' * width} {bar}")
        for number, text in frame:
            lines.append(f"{style.gutter(str(number).rjust(width))} {bar} {_display(text)}".rstrip())
            if number == diag.start.line:
                start, length = _underline(text, diag)
                lines.append(f"{' ' * width} {bar} {' ' * start}{style.marker('^' * length)}")
        lines.append(f"{' ' * width} {bar}")
    if diag.explanation:
        wrapped = textwrap.fill("info: " + diag.explanation, WRAP, subsequent_indent=" " * 6,
                                break_long_words=False, break_on_hyphens=False)
        lines.append(style.strong("info:") + wrapped[len("info:"):])
    if diag.fix is not None:
        note = "" if report.applies(diag) else " (an unsafe fix: `metriclint fix --unsafe-fixes` applies it)"
        lines.append(f"{style.label('help:')} {diag.fix.message}{note}")
    return "\n".join(lines)


def _frame(report: Report, result: FileResult, diag: Diagnostic, sources) -> List[Tuple[int, str]]:
    """(line number, text) of the diagnostic's line and its context; [] when the text is unknown."""
    lines = _source_lines(report, result, diag, sources)
    if lines is None or not 1 <= diag.start.line <= len(lines):
        return []
    first = max(1, diag.start.line - CONTEXT)
    last = min(len(lines), diag.start.line + CONTEXT)
    return [(number, lines[number - 1]) for number in range(first, last + 1)]


def _source_lines(report: Report, result: FileResult, diag: Diagnostic, sources) -> Optional[List[str]]:
    if diag.cell is None:
        key = id(result)
        if key not in sources:
            sources[key] = source_text(result)
        text = sources[key]
    else:
        text = _cell_text(report, result, diag.cell, sources)
    if text is None:
        return None
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _cell_text(report: Report, result: FileResult, cell: int, sources) -> Optional[str]:
    """A notebook cell's source as the notebook on disk has it now (after `fix`, the fixed cell);
    unknown for stdin, which has no file to read."""
    if report.stdin:
        return None
    key = ("notebook", id(result))
    if key not in sources:
        from .. import notebook as nb
        from ..source import SourceError, read_source

        try:
            sources[key] = nb.read_notebook(read_source(result.path).text)
        except (SourceError, nb.NotebookError):
            sources[key] = None
    book = sources[key]
    if book is None or not 1 <= cell <= len(book.cells):
        return None
    from .. import notebook as nb

    return nb.cell_source(book.cells[cell - 1])


def _width(char: str) -> int:
    if char == "\t":
        return len(_TAB)
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _display(text: str) -> str:
    """The line as a terminal should show it: tabs as spaces, control characters as their
    visible pictures (a file's escape sequences never reach the terminal)."""
    text = _CONTROL.sub(lambda m: chr(0x2400 + ord(m.group())) if m.group() != "\x7f" else "\u2421", text)
    return text.replace("\t", _TAB)


def _underline(text: str, diag: Diagnostic) -> Tuple[int, int]:
    """(display columns before the span, carets under it) on the diagnostic's first line; a span
    that goes on to later lines is underlined to the end of this one, an empty one gets one caret."""
    start = min(max(diag.start.column - 1, 0), len(text))
    end = diag.end.column - 1 if diag.end.line == diag.start.line else len(text)
    end = min(max(end, start), len(text))
    before = sum(_width(c) for c in text[:start])
    return before, max(1, sum(_width(c) for c in text[start:end]))

