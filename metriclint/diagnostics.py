"""What a rule reports: diagnostics, their spans and their fixes (plain, serialisable data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional, Tuple


class Safety(str, Enum):
    """How much a fix can be trusted: safe fixes keep behaviour, unsafe ones need a human look."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True, order=True)
class Edit:
    """Replace text[start:end] (character offsets into the file's text) with `content`."""

    start: int
    end: int
    content: str

    def to_json(self) -> Dict[str, Any]:
        return {"start": self.start, "end": self.end, "content": self.content}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Edit":
        return cls(int(data["start"]), int(data["end"]), str(data["content"]))


def apply_edits(text: str, edits: List[Edit]) -> str:
    """`text` with non-overlapping `edits` applied."""
    out, last = [], 0
    for edit in sorted(edits):
        out.append(text[last:edit.start])
        out.append(edit.content)
        last = edit.end
    out.append(text[last:])
    return "".join(out)


@dataclass(frozen=True)
class Fix:
    edits: Tuple[Edit, ...]
    safety: Safety
    message: str  # what the fix does, e.g. "Rename `nb_epoch` to `epochs`"

    @property
    def span(self) -> Tuple[int, int]:
        return (min(e.start for e in self.edits), max(e.end for e in self.edits))

    def to_json(self) -> Dict[str, Any]:
        return {
            "message": self.message,
            "applicability": self.safety.value,
            "edits": [e.to_json() for e in self.edits],
        }

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Fix":
        return cls(
            edits=tuple(Edit.from_json(e) for e in data["edits"]),
            safety=Safety(data["applicability"]),
            message=str(data["message"]),
        )


@dataclass(frozen=True)
class Position:
    """1-based line, 1-based column (in characters), as editors and ruff show them."""

    line: int
    column: int


def split_message(message: str) -> Tuple[str, str]:
    """(first sentence, the rest) of a message. The first sentence is what one line of output
    shows (`concise`, the header of `full`, JSON's `message`); the rest is the explanation (what
    happens at run time, the evidence, the fix) that `full` prints under the code frame. The
    first sentence ends at the first `. ` outside backticks; its period is dropped, as ruff's
    messages have none."""
    inside = False
    for index, char in enumerate(message):
        if char == "`":
            inside = not inside
        elif char == "." and not inside and message[index + 1:index + 2] in (" ", "\n"):
            return message[:index], message[index + 1:].strip()
    return message, ""


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str  # first sentence (short: it is the one-line report), then the explanation
    start: Position
    end: Position
    fix: Optional[Fix] = None
    # For notebooks: 1-based cell number and the position inside that cell.
    cell: Optional[int] = None
    # The start line in the file's own text (for noqa lookup and fixes), before cell mapping.
    source_line: int = 0
    # Free-form extra data for reporters (e.g. the rule that crashed for internal errors).
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def headline(self) -> str:
        """The message's first sentence: what a one-line report shows."""
        return split_message(self.message)[0]

    @property
    def explanation(self) -> str:
        """The rest of the message ('' when it is one sentence)."""
        return split_message(self.message)[1]

    @property
    def sort_key(self) -> Tuple[int, int, int, str]:
        return (self.cell or 0, self.start.line, self.start.column, self.code)

    def to_json(self) -> Dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "start": {"line": self.start.line, "column": self.start.column},
            "end": {"line": self.end.line, "column": self.end.column},
            "cell": self.cell,
            "source_line": self.source_line,
            "fix": self.fix.to_json() if self.fix else None,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Diagnostic":
        return cls(
            code=data["code"],
            message=data["message"],
            start=Position(data["start"]["line"], data["start"]["column"]),
            end=Position(data["end"]["line"], data["end"]["column"]),
            fix=Fix.from_json(data["fix"]) if data.get("fix") else None,
            cell=data.get("cell"),
            source_line=int(data.get("source_line", 0)),
            extra=dict(data.get("extra") or {}),
        )


@dataclass
class FileResult:
    """Everything one file produced: diagnostics, plus fix bookkeeping for `fix`."""

    path: str
    diagnostics: List[Diagnostic] = field(default_factory=list)
    fixed: Dict[str, int] = field(default_factory=dict)  # code -> number of fixes applied
    new_text: Optional[str] = None  # set by fix when the text changed
    original_text: Optional[str] = None
    write_error: Optional[str] = None
    internal_error: bool = False
    rejected: List[str] = field(default_factory=list)  # fixes dropped because they broke the file
    notes: List[str] = field(default_factory=list)  # one-line remarks for stderr (e.g. skipped notebooks)
    # Notebooks: line of the virtual module -> (cell, line in cell); per-cell diffs for --diff
    line_map: Optional[Dict[int, Tuple[int, int]]] = None
    # Notebooks: line of the virtual module -> characters before it in its cell (a cell's common
    # indentation, which IPython strips and the virtual module leaves out)
    column_shifts: Optional[Dict[int, int]] = None
    diff_parts: List[Tuple[str, str, str]] = field(default_factory=list)
    cache_key: Optional[str] = None  # of the bytes this result was computed from
    noqa_added: int = 0  # `check --add-noqa`: lines that got a new or extended `# noqa` directive

    @property
    def fixed_count(self) -> int:
        return sum(self.fixed.values())
