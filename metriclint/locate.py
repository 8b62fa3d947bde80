"""Positions and text edits for the nodes a rule reports.

Positions cost a full code-generation pass in libcst, so they are computed once per
file and only when a rule has reported something there.
"""

from __future__ import annotations

import bisect
import re
from typing import List, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .diagnostics import Edit, Position

_NEWLINE = re.compile(r"\r\n|\r|\n")


class LineIndex:
    """Offsets of line starts, with the same line breaks as the Python tokenizer."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: List[int] = [0] + [m.end() for m in _NEWLINE.finditer(text)]

    def offset(self, line: int, column: int) -> int:
        """1-based line, 0-based column -> character offset."""
        return self.starts[line - 1] + column

    def position(self, offset: int) -> Position:
        """Character offset -> 1-based line and column."""
        line = bisect.bisect_right(self.starts, offset)
        return Position(line, offset - self.starts[line - 1] + 1)

    def line_text(self, line: int) -> str:
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")


class Locator:
    def __init__(self, module: cst.Module, text: str) -> None:
        self.module = module
        self.lines = LineIndex(text)
        self._positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)

    def span(self, node: cst.CSTNode) -> Tuple[int, int]:
        """Character offsets of the node's own text (parentheses and trailing commas excluded)."""
        code_range = self._positions[node]
        start = self.lines.offset(code_range.start.line, code_range.start.column)
        end = self.lines.offset(code_range.end.line, code_range.end.column)
        return start, end

    def start(self, node: cst.CSTNode) -> Position:
        code_range = self._positions[node]
        return Position(code_range.start.line, code_range.start.column + 1)

    def end(self, node: cst.CSTNode) -> Position:
        code_range = self._positions[node]
        return Position(code_range.end.line, code_range.end.column + 1)

    def code(self, node: cst.CSTNode) -> str:
        start, end = self.span(node)
        return self.lines.text[start:end]

    def render(self, node: cst.CSTNode) -> str:
        """Source text for a (new) node, shaped to drop into the span of the node it replaces."""
        if isinstance(node, cst.Arg):
            node = node.with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=cst.SimpleWhitespace(""))
        elif hasattr(node, "lpar") and getattr(node, "lpar"):
            node = node.with_changes(lpar=[], rpar=[])
        return self.module.code_for_node(node)

    def replace(self, old: cst.CSTNode, new: "cst.CSTNode | str") -> Edit:
        start, end = self.span(old)
        return Edit(start, end, new if isinstance(new, str) else self.render(new))

    def insert_before(self, node: cst.CSTNode, text: str) -> Edit:
        start, _ = self.span(node)
        return Edit(start, start, text)

    def insert_after(self, node: cst.CSTNode, text: str) -> Edit:
        _, end = self.span(node)
        return Edit(end, end, text)

    @property
    def newline(self) -> str:
        return self.module.default_newline
