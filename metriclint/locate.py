"""Positions and text edits for the nodes a rule reports.

Positions cost a full code-generation pass in libcst, so they are computed once per
file and only when a rule has reported something there.
"""

from __future__ import annotations

import ast
import bisect
import re
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Tuple

import libcst as cst

if TYPE_CHECKING:  # pragma: no cover
    from libcst.metadata import CodeRange

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
    """Positions of reported nodes. With the file's stdlib `ast` tree and the facts' map of
    nodes to top-level statements, only the statements that hold reported nodes are
    rendered (a class of 300 lines, not a file of 3,000); otherwise the whole module is."""

    def __init__(self, module: cst.Module, text: str, tree: Optional[ast.Module] = None,
                 top_statement: Optional[Dict[int, int]] = None) -> None:
        self.module = module
        self.lines = LineIndex(text)
        self._top = top_statement or {}
        self._first_lines = _statement_first_lines(module, tree) if tree is not None and self._top else None
        self._by_statement: Dict[int, Tuple[Mapping, int]] = {}
        self._whole: Optional[Mapping] = None

    def _range(self, node: cst.CSTNode) -> "CodeRange":
        index = self._top.get(id(node)) if self._first_lines is not None else None
        if index is not None:
            positions, delta = self._statement_positions(index)
            found = positions.get(node)
            if found is not None:
                if not delta:
                    return found
                from libcst.metadata import CodeRange

                return CodeRange((found.start.line + delta, found.start.column), (found.end.line + delta, found.end.column))
        if self._whole is None:
            from libcst.metadata import MetadataWrapper, PositionProvider  # costly import: only when needed

            self._whole = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
        return self._whole[node]

    def _statement_positions(self, index: int) -> Tuple[Mapping, int]:
        cached = self._by_statement.get(index)
        if cached is None:
            statement = self.module.body[index]
            alone = self.module.with_changes(body=[statement], header=[], footer=[])
            from libcst.metadata import MetadataWrapper, PositionProvider

            positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            delta = self._first_lines[index] - _first_code_line(statement)  # type: ignore[index]
            cached = self._by_statement[index] = (positions, delta)
        return cached

    def span(self, node: cst.CSTNode) -> Tuple[int, int]:
        """Character offsets of the node's own text (parentheses and trailing commas excluded)."""
        code_range = self._range(node)
        start = self.lines.offset(code_range.start.line, code_range.start.column)
        end = self.lines.offset(code_range.end.line, code_range.end.column)
        return start, end

    def start(self, node: cst.CSTNode) -> Position:
        code_range = self._range(node)
        return Position(code_range.start.line, code_range.start.column + 1)

    def end(self, node: cst.CSTNode) -> Position:
        code_range = self._range(node)
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


def _first_code_line(statement: cst.CSTNode) -> int:
    """Line of the statement's first code line when it is rendered alone (after its comments)."""
    leading = len(getattr(statement, "leading_lines", ()))
    decorators = getattr(statement, "decorators", ())
    if decorators:
        leading += len(decorators[0].leading_lines)
    return leading + 1


def _statement_first_lines(module: cst.Module, tree: ast.Module) -> Optional[List[int]]:
    """File line of each top-level libcst statement's first code line, from the `ast` tree.

    A libcst line of `a; b` holds two `ast` statements. None when the two trees disagree."""
    out: List[int] = []
    body = tree.body
    index = 0
    for statement in module.body:
        if index >= len(body):
            return None
        first = body[index]
        decorators = getattr(first, "decorator_list", None)
        out.append(min(d.lineno for d in decorators) if decorators else first.lineno)
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    return out if index == len(body) else None
