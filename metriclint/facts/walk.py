"""A read-only walk over a libcst tree that is several times faster than `Module.visit`.

libcst's visitor rebuilds every node on the way back up, even for a read-only visitor, and
walks all whitespace. This walk reads the node fields that can hold code and skips
whitespace, punctuation and comments (suppression comments are found from the text).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Callable, Dict, Optional, Tuple

import libcst as cst

_SKIPPED_FIELDS = frozenset(
    """asynchronous colon comma dot equal first_colon second_colon footer header indent lbrace lbracket
    rbrace rbracket lpar rpar leading_lines lines_after_decorators newline operator semicolon
    trailing_whitespace comment empty_lines tokens default_indent default_newline encoding
    has_trailing_newline relative leading_whitespace""".split()
)


@lru_cache(maxsize=None)
def _code_fields(cls: type) -> Tuple[str, ...]:
    return tuple(
        f.name
        for f in dataclasses.fields(cls)
        if not f.name.startswith("whitespace") and f.name not in _SKIPPED_FIELDS
    )


class Walker:
    """Subclass and define `visit_<NodeType>` (return False to skip children) / `leave_<NodeType>`."""

    def __init__(self) -> None:
        self._visit: Dict[type, Optional[Callable]] = {}
        self._leave: Dict[type, Optional[Callable]] = {}

    def walk(self, node: cst.CSTNode) -> None:
        cls = type(node)
        try:
            visit = self._visit[cls]
            leave = self._leave[cls]
        except KeyError:
            visit = self._visit[cls] = getattr(self, "visit_" + cls.__name__, None)
            leave = self._leave[cls] = getattr(self, "leave_" + cls.__name__, None)
        if visit is None or visit(node) is not False:
            for name in _code_fields(cls):
                value = getattr(node, name)
                if isinstance(value, cst.CSTNode):
                    self.walk(value)
                elif isinstance(value, (tuple, list)):
                    for item in value:
                        if isinstance(item, cst.CSTNode):
                            self.walk(item)
        if leave is not None:
            leave(node)


class _Collect(Walker):
    def __init__(self, types: tuple) -> None:
        super().__init__()
        self.types = types
        self.found: list = []

    def walk(self, node: cst.CSTNode) -> None:
        if isinstance(node, self.types):
            self.found.append(node)
        super().walk(node)


def find_all(node: cst.CSTNode, *types: type) -> list:
    """Every node of the given types under `node` (itself included), in source order."""
    collector = _Collect(types)
    collector.walk(node)
    return collector.found
