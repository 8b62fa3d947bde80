"""Positions and text edits for the nodes a rule reports.

Positions are computed only for reported nodes: from the stdlib `ast` tree where it has the
node's twin, else by libcst's code generation of the one top-level statement that holds it.
"""

from __future__ import annotations

import ast
import bisect
import re
from typing import Dict, List, Mapping, Optional, Tuple

import libcst as cst

from .astpos import Pairs, pair_statement
from .diagnostics import Edit, Position

_NEWLINE = re.compile(r"\r\n|\r|\n")
LineRange = Tuple[int, int, int, int]


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

    def column(self, line: int, utf8_offset: int) -> int:
        """0-based column in characters of a UTF-8 byte offset into a line (as `ast` counts)."""
        text = self.line_text(line)
        if text.isascii():
            return utf8_offset
        return len(text.encode("utf-8", "surrogatepass")[:utf8_offset].decode("utf-8", "surrogatepass"))

    def line_text(self, line: int) -> str:
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")


class Locator:
    """Positions of reported nodes. With the file's stdlib `ast` tree and the facts' map of
    nodes to top-level statements, a node's position is read off its `ast` twin when it has
    one (`astpos.py`); otherwise only the top-level statement that holds it is rendered by
    libcst (a class of 300 lines, not a file of 3,000), or without the tree the whole module."""

    def __init__(self, module: cst.Module, text: str, tree: Optional[ast.Module] = None,
                 top_statement: Optional[Dict[int, int]] = None) -> None:
        self.module = module
        self.lines = LineIndex(text)
        self._top = top_statement or {}
        self._twins = _statement_twins(module, tree) if tree is not None and self._top else None
        self._pairs: Dict[int, Pairs] = {}
        self._by_statement: Dict[int, Tuple[Mapping, int]] = {}
        self._whole: Optional[Mapping] = None

    def _range(self, node: cst.CSTNode) -> LineRange:
        """(line, column, end line, end column): lines 1-based, columns 0-based characters."""
        index = self._top.get(id(node)) if self._twins is not None else None
        if index is not None:
            pairs = self._pairs.get(index)
            if pairs is None:
                pairs = self._pairs[index] = pair_statement(self.module.body[index], self._twins[index])  # type: ignore[index]
            paired = pairs.get(id(node))
            if paired is not None:
                line, column, end_line, end_column = paired
                return (line, self.lines.column(line, column), end_line, self.lines.column(end_line, end_column))
            positions, delta = self._statement_positions(index)
            found = positions.get(node)
            if found is not None:
                return (found.start.line + delta, found.start.column, found.end.line + delta, found.end.column)
        if self._whole is None:
            from libcst.metadata import MetadataWrapper, PositionProvider  # costly import: only when needed

            self._whole = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
        found = self._whole[node]
        return (found.start.line, found.start.column, found.end.line, found.end.column)

    def _statement_positions(self, index: int) -> Tuple[Mapping, int]:
        cached = self._by_statement.get(index)
        if cached is None:
            statement = self.module.body[index]
            alone = self.module.with_changes(body=[statement], header=[], footer=[])
            from libcst.metadata import MetadataWrapper, PositionProvider

            positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            delta = _first_line(self._twins[index][0]) - _first_code_line(statement)  # type: ignore[index]
            cached = self._by_statement[index] = (positions, delta)
        return cached

    def span(self, node: cst.CSTNode) -> Tuple[int, int]:
        """Character offsets of the node's own text (parentheses and trailing commas excluded)."""
        line, column, end_line, end_column = self._range(node)
        return self.lines.offset(line, column), self.lines.offset(end_line, end_column)

    def start(self, node: cst.CSTNode) -> Position:
        line, column, _, _ = self._range(node)
        return Position(line, column + 1)

    def end(self, node: cst.CSTNode) -> Position:
        _, _, end_line, end_column = self._range(node)
        return Position(end_line, end_column + 1)

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


def _first_code_line(statement: cst.CSTNode) -> int:
    """Line of the statement's first code line when it is rendered alone (after its comments)."""
    leading = len(getattr(statement, "leading_lines", ()))
    decorators = getattr(statement, "decorators", ())
    if decorators:
        leading += len(decorators[0].leading_lines)
    return leading + 1


def _first_line(statement: ast.stmt) -> int:
    """File line of a statement's first code line (its first decorator's)."""
    decorators = getattr(statement, "decorator_list", None)
    return min(d.lineno for d in decorators) if decorators else statement.lineno


def _statement_twins(module: cst.Module, tree: ast.Module) -> Optional[List[List[ast.stmt]]]:
    """The `ast` statements of each top-level libcst statement: a libcst line of `a; b` holds
    two. None when the two trees disagree."""
    out: List[List[ast.stmt]] = []
    body = tree.body
    index = 0
    for statement in module.body:
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        if index + count > len(body):
            return None
        out.append(body[index:index + count])
        index += count
    return out if index == len(body) else None
