"""A copy of valid code that libcst can parse, and the map from that copy back to the code.

libcst's tokenizer refuses some indentation CPython accepts (libcst issues #829 and #951): a
nested block whose indentation string does not extend the outer one's (`" "` then `"\\t "`,
which CPython compares as columns, a tab reaching the next multiple of 8), and a statement
that starts with a backslash continuation (`\\` alone on a line, then `def f():`). For such a
file the copy re-writes the indentation of every line that starts a statement (and of blank
and comment lines) with spaces, by CPython's own column rule, and turns a line that is only
`\\` at a statement start into an empty line. Nothing else changes: the copy has the same
lines, and a position or an edit in it maps back to the original exactly, or not at all.

Fix edits computed on the copy are mapped back; new lines they bring get the indentation the
file itself uses at that depth, taken from a neighbouring statement of the same block. An edit
that starts or ends inside re-written indentation, or a new line whose indentation no
neighbour has, cannot be mapped: its fix is withheld.
"""

from __future__ import annotations

import bisect
import io
import re
import tokenize
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from .diagnostics import Edit, Position
from .locate import LineIndex

TAB_SIZE = 8  # CPython's tokenizer: a tab moves to the next multiple of 8
_LONE_CR = re.compile(r"\r(?!\n)")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_LEADING = re.compile(r"[ \t\f]*")
_CONTENT_INDENT = re.compile(r"(\r\n|\r|\n)([ \t]+)")


def column_of(whitespace: str) -> int:
    """The indentation column CPython computes for leading whitespace (form feed resets it)."""
    column = 0
    for char in whitespace:
        if char == " ":
            column += 1
        elif char == "\t":
            column = (column // TAB_SIZE + 1) * TAB_SIZE
        elif char == "\f":
            column = 0
    return column


@dataclass(frozen=True)
class _Indent:
    line: int
    width: int  # CPython's column
    text: str  # the original indentation characters


class Normalised:
    """The re-indented copy (`text`) of `original`, with the map back."""

    def __init__(self, original: str, text: str, shifts: Dict[int, Tuple[int, int]], indents: List[_Indent]) -> None:
        self.original = original
        self.text = text
        # line -> (characters of the original line's start that were replaced, characters that replaced them)
        self.shifts = shifts
        self._indents = indents  # of the statement lines, in line order
        self._old = LineIndex(original)
        self._new = LineIndex(text)

    # --- positions ------------------------------------------------------------------------
    def _column(self, line: int, column: int) -> Optional[int]:
        """0-based column in the copy -> in the original; None inside re-written indentation."""
        shift = self.shifts.get(line)
        if shift is None:
            return column
        old, new = shift
        if column >= new:
            return column - new + old
        return 0 if column == 0 else None

    def position(self, position: Position) -> Position:
        """A diagnostic's position (1-based column) in the original. Positions point at code, never
        inside indentation; should one, it goes to the first character after the indentation."""
        column = self._column(position.line, position.column - 1)
        if column is None:
            column = self.shifts[position.line][0]
        return Position(position.line, column + 1)

    def offset(self, offset: int) -> Optional[int]:
        position = self._new.position(offset)
        column = self._column(position.line, position.column - 1)
        if column is None or position.line > len(self._old.starts):
            return None
        return self._old.starts[position.line - 1] + column

    # --- edits --------------------------------------------------------------------------------
    def edit(self, edit: Edit) -> Optional[Edit]:
        """The edit on the original text, or None when it cannot keep the file's indentation."""
        start, end = self.offset(edit.start), self.offset(edit.end)
        if start is None or end is None:
            return None
        at_line_start = start == self._old.starts[self._old.position(start).line - 1]
        content = self._content(edit.content, self._old.position(start).line, at_line_start)
        if content is None:
            return None
        return Edit(start, end, content)

    def _content(self, content: str, line: int, at_line_start: bool) -> Optional[str]:
        """`content` with the indentation of each new line it starts written as the file writes it there."""
        if "\n" not in content and "\r" not in content and not at_line_start:
            return content
        before, after = (line - 1, line) if at_line_start else (line, line + 1)
        out: List[str] = []
        last = 0
        if at_line_start:
            lead = _lead(content)
            if lead:
                own = self._indent_near(lead, before, after)
                if own is None:
                    return None
                out.append(own)
                last = len(lead)
        for match in _CONTENT_INDENT.finditer(content, last):
            own = self._indent_near(match.group(2), before, after)
            if own is None:
                return None
            out.append(content[last:match.end(1)])
            out.append(own)
            last = match.end()
        out.append(content[last:])
        return "".join(out)

    def _indent_near(self, lead: str, before: int, after: int) -> Optional[str]:
        """The original indentation for `lead` (the copy's) at a new line between the lines
        `before` and `after`, or None when the file has none to match:

        - `lead` itself, when a neighbour the copy did not re-write starts with it (a
          continuation line, or a statement the file already indents with spaces);
        - the indentation of the nearest statement line of the same width in the same block,
          looking up from `before`, then down from `after`, not past a line indented less;
        - for a line deeper than any there (the body of a new block), the indentation of the
          statement that encloses it, extended with spaces to the width: its own characters
          first, so CPython's tab-consistency check and libcst both accept it.
        """
        for line in (before, after):
            if 1 <= line <= len(self._old.starts) and line not in self.shifts:
                own = self._old.line_text(line)
                if own[:len(own) - len(own.lstrip(" \t\f"))] == lead:
                    return lead
        width = column_of(lead)
        if width == 0:
            return lead
        lines = [indent.line for indent in self._indents]
        enclosing: Optional[_Indent] = None
        index = bisect.bisect_right(lines, before) - 1
        while index >= 0:
            indent = self._indents[index]
            if indent.width == width:
                return indent.text
            if indent.width < width:
                enclosing = indent
                break
            index -= 1
        index = bisect.bisect_left(lines, after)
        while index < len(self._indents):
            indent = self._indents[index]
            if indent.width == width:
                return indent.text
            if indent.width < width:
                break
            index += 1
        if enclosing is None:
            return None
        return enclosing.text + " " * (width - enclosing.width)


def _lead(line: str) -> str:
    return _LEADING.match(line).group()  # type: ignore[union-attr]


def _statement_lines(text: str) -> Optional[List[int]]:
    """Lines (1-based) where a logical line, a blank line or a comment line may start: not inside
    brackets, a string or after a backslash. None when the tokenizer fails."""
    starts = [1]
    depth = 0
    readable = _LONE_CR.sub("\n", text)  # a lone `\r` ends a line for Python; keep every offset
    try:
        for token in tokenize.generate_tokens(io.StringIO(readable).readline):
            if token.type == tokenize.OP:
                if token.string in "([{":
                    depth += 1
                elif token.string in ")]}":
                    depth = max(depth - 1, 0)
            elif token.type == tokenize.NEWLINE or (token.type == tokenize.NL and depth == 0):
                starts.append(token.end[0] + 1)
    except (tokenize.TokenError, SyntaxError):
        return None
    return starts


def normalise_indentation(text: str) -> Optional[Normalised]:
    """The re-indented copy of `text` (which CPython accepts), or None when there is nothing to
    re-write or Python's tokenizer cannot read it."""
    starts = _statement_lines(text)
    if starts is None:
        return None
    pieces: List[Tuple[str, str]] = []  # (line, its line break)
    last = 0
    for match in _NEWLINE.finditer(text):
        pieces.append((text[last:match.start()], match.group()))
        last = match.end()
    pieces.append((text[last:], ""))
    lines = [line for line, _ in pieces]
    shifts: Dict[int, Tuple[int, int]] = {}
    indents: List[_Indent] = []
    new_lines = list(lines)
    for start in sorted(set(starts)):
        if start > len(lines) or start in shifts:
            continue
        lead = _lead(lines[start - 1])
        width = column_of(lead)
        number = start
        # `\` alone at a statement start: the statement goes on on the next line, at this line's
        # indentation. The line becomes empty, the next one gets the indentation.
        while number < len(lines) and lines[number - 1][len(_lead(lines[number - 1])):] == "\\":
            shifts[number] = (len(lines[number - 1]), 0)
            new_lines[number - 1] = ""
            number += 1
        if number != start:
            lead = _lead(lines[number - 1])
        rest = lines[number - 1][len(lead):]
        spaces = " " * width
        if lead != spaces:
            shifts[number] = (len(lead), width)
            new_lines[number - 1] = spaces + rest
        if rest and not rest.startswith("#") and number == start:
            indents.append(_Indent(start, width, lead))
    if not shifts:
        return None
    copy = "".join(line + brk for line, (_, brk) in zip(new_lines, pieces))
    return Normalised(text, copy, shifts, indents)
