"""Suppression comments: `# noqa` on a line, `# metriclint: noqa` for a file, and their upkeep.

Line level, as in ruff: a bare `# noqa` suppresses everything on its line; `# noqa: CODES` only
the codes named (a code may be a prefix with at least one digit, `KM2`); codes are separated by
commas and/or spaces and the list ends at the first word that is not a code
(`# noqa: KM101 reason`). `# noqa:` followed by no code at all is not a valid directive and
suppresses nothing. The comment must be on the line the diagnostic points at (its start line).

File level: `# metriclint: noqa` (everything) or `# metriclint: noqa: KM2, KM101` in the file's
leading comment block (the comments before the first line of code; for a notebook, the top of
its first code cell). The tool codes E902, E999 and E000 say that a file was not checked (or
that metriclint crashed) and are never suppressed; E903 (valid code libcst cannot parse) is
suppressed like a rule's code.

This module also keeps suppressions tidy: `Suppressions` records which directive suppressed
what, so `unused_directives` can report KM001 (codes that suppress nothing, with a fix that
removes them), and `add_noqa` writes `# noqa: CODES` comments for `check --add-noqa`.
"""

from __future__ import annotations

import bisect
import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from .diagnostics import Diagnostic, Edit, Fix, Position, Safety

UNUSED_NOQA = "KM001"

_CODE = r"[A-Za-z]+[0-9]+"
_CODE_LIST = _CODE + r"(?:(?:\s*,\s*|\s+)" + _CODE + r"(?![\w-]))*"
_NOQA = re.compile(
    r"#\s*noqa(?![\w-])(?:(?P<colon>\s*:)\s*(?P<codes>" + _CODE_LIST + r")?)?",
    re.IGNORECASE,
)
_FILE_NOQA = re.compile(
    r"^#\s*metriclint\s*:\s*noqa(?![\w-])(?:(?P<colon>\s*:)\s*(?P<codes>" + _CODE_LIST + r")?)?",
    re.IGNORECASE,
)
_ONE_CODE = re.compile(_CODE)
_LONE_CR = re.compile(r"\r(?!\n)")
_NEWLINE = re.compile(r"\r\n|\r|\n")
HINT = re.compile(r"#.*noqa", re.IGNORECASE)

# line -> None (bare noqa: everything) or the code prefixes it names
NoqaMap = Dict[int, Optional[FrozenSet[str]]]


def parse_noqa(comment: str) -> Optional[FrozenSet[str]]:
    """None when the comment holds no (valid) noqa; else the codes it names (empty for a bare `# noqa`)."""
    match = _directive_match(comment)
    if match is None:
        return None
    codes = match.group("codes")
    if not codes:
        return frozenset()  # bare noqa: the empty set means "all"
    return frozenset(c.upper() for c in _ONE_CODE.findall(codes))


def _directive_match(comment: str) -> "Optional[re.Match[str]]":
    for match in _NOQA.finditer(comment):
        if match.group("codes") or match.group("colon") is None:
            return match
        # `# noqa:` without codes: not a directive; look for another one further on
    return None


def build_noqa_map(comments: Iterable[tuple]) -> NoqaMap:
    """From (line, comment text) pairs."""
    out: NoqaMap = {}
    for line, text in comments:
        codes = parse_noqa(text)
        if codes is None:
            continue
        if line in out and not out[line]:
            continue  # a bare noqa on this line already covers everything
        out[line] = codes if not codes else (out.get(line) or frozenset()) | codes
    return out


def is_suppressed(noqa: NoqaMap, line: int, code: str) -> bool:
    if line not in noqa:
        return False
    codes = noqa[line]
    if not codes:
        return True
    return any(code.startswith(prefix) for prefix in codes)


# --- reading comments -------------------------------------------------------------------------
@dataclass(frozen=True)
class Comment:
    line: int  # 1-based
    start: int  # character offset of its `#` in the text
    text: str


@dataclass
class _Scan:
    comments: Dict[int, Comment] = field(default_factory=dict)  # line -> its comment (one per line)
    # Lines whose end is a place where a comment may go: not inside a string, no backslash continuation.
    open_ends: Set[int] = field(default_factory=set)
    complete: bool = True  # False when the tokenizer gave up part way


def _scan(text: str) -> _Scan:
    """Comments and comment-friendly line ends, from Python's tokenizer (so `"# noqa"` in a string is no comment)."""
    out = _Scan()
    starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
    # A lone `\r` ends a line for Python but not for `readline`; `\n` in its place keeps every offset.
    readable = _LONE_CR.sub("\n", text)
    try:
        for token in tokenize.generate_tokens(io.StringIO(readable).readline):
            if token.type == tokenize.COMMENT:
                line, column = token.start
                if line <= len(starts):
                    out.comments[line] = Comment(line, starts[line - 1] + column, token.string)
                out.open_ends.add(line)
            elif token.type in (tokenize.NEWLINE, tokenize.NL):
                out.open_ends.add(token.start[0])
    except (tokenize.TokenError, SyntaxError, IndentationError):
        out.complete = False  # keep what was read; libcst accepted the file, so this is rare
    return out


def comments(text: str) -> List[Tuple[int, str]]:
    """(line, text) of every comment."""
    return [(c.line, c.text) for c in _scan(text).comments.values()]


# --- directives with positions -----------------------------------------------------------------
@dataclass
class Directive:
    """One `# noqa` directive: where it is, and the codes it names as written."""

    line: int
    start: int  # offset of the directive's `#`
    end: int  # offset just past the directive (its last code, or `noqa` for a bare one)
    codes: Optional[List[Tuple[str, int, int]]]  # (code as written, start, end); None: bare `# noqa`
    comment: Comment
    matched: Set[str] = field(default_factory=set)  # codes of the diagnostics it suppressed

    def covers(self, code: str) -> bool:
        if self.codes is None:
            return True
        return any(code.startswith(written.upper()) for written, _, _ in self.codes)


def _directive(comment: Comment) -> Optional[Directive]:
    match = _directive_match(comment.text)
    if match is None:
        return None
    base = comment.start
    codes = None
    end = match.end()
    if match.group("codes"):
        offset = match.start("codes")
        codes = [(m.group(), base + offset + m.start(), base + offset + m.end())
                 for m in _ONE_CODE.finditer(match.group("codes"))]
        end = match.end("codes")
    else:
        end = match.start() + len(re.match(r"#\s*noqa", match.group(), re.IGNORECASE).group())
    return Directive(comment.line, base + match.start(), base + end, codes, comment)


@dataclass(frozen=True)
class FileExemption:
    """`# metriclint: noqa` (codes None: everything) or `# metriclint: noqa: CODES`."""

    codes: Optional[FrozenSet[str]]

    def covers(self, code: str) -> bool:
        return self.codes is None or any(code.startswith(prefix) for prefix in self.codes)


_CELL_BOUNDARY = re.compile(r"^# metriclint-cell \d+$")
_MASKED_MAGIC = re.compile(r"^\s*(?:pass\s+)?#metriclint-magic:\d+$")


def _file_directives(text: str) -> List[Directive]:
    """The file-level directives in the leading comment block, with their positions.

    The block is the comment and blank lines before the first line of code. In a notebook's
    virtual module that is the first code cell's top (its masked IPython lines do not end it).
    `# metriclint: noqa:` without codes is not a directive (as for line-level noqa).
    """
    out: List[Directive] = []
    boundaries = 0
    starts = _line_starts(text)
    for number, line in enumerate(_NEWLINE.split(text), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if _CELL_BOUNDARY.match(stripped):
            boundaries += 1
            if boundaries > 1:
                break  # only the first code cell of a notebook
            continue
        if _MASKED_MAGIC.match(line):
            continue
        if not stripped.startswith("#"):
            break
        match = _FILE_NOQA.match(stripped)
        if match is None or (not match.group("codes") and match.group("colon") is not None):
            continue
        base = starts[number - 1] + len(line) - len(line.lstrip())
        comment = Comment(number, base, stripped)
        if match.group("codes"):
            offset = base + match.start("codes")
            codes = [(m.group(), offset + m.start(), offset + m.end()) for m in _ONE_CODE.finditer(match.group("codes"))]
            out.append(Directive(number, base, base + match.end("codes"), codes, comment))
        else:
            out.append(Directive(number, base, base + match.end(), None, comment))
    return out


def file_exemption(text: str) -> Optional[FileExemption]:
    """The file-level directives in the leading comment block, merged; None when there is none."""
    return _exemption(_file_directives(text))


def _exemption(directives: Sequence[Directive]) -> Optional[FileExemption]:
    if not directives:
        return None
    if any(d.codes is None for d in directives):
        return FileExemption(None)
    return FileExemption(frozenset(written.upper() for d in directives for written, _, _ in d.codes or ()))


def futile_directive(text: str, line: int, code: str, file_level: bool = True) -> bool:
    """Whether a `noqa` on `line`, or (with `file_level`) the file's `# metriclint: noqa`, names
    (or, bare, covers) `code`: for a code that is never silenced, such a directive does nothing.
    Read off the text, not the tokens, because the file may not tokenize."""
    if not HINT.search(text):
        return False
    exemption = file_exemption(text) if file_level else None
    if exemption is not None and exemption.covers(code):
        return True
    starts = _line_starts(text)
    if not 1 <= line <= len(starts):
        return False
    _, end, _ = _line_bounds(text, starts[line - 1])
    own = text[starts[line - 1]:end]
    hash_at = own.find("#")
    codes = parse_noqa(own[hash_at:]) if hash_at >= 0 else None
    return codes is not None and (not codes or any(code.startswith(prefix) for prefix in codes))


def futile_note(code: str) -> str:
    """What a diagnostic of a never-silenced tool code adds when a `noqa` names it (futile_directive)."""
    from .rules import NEVER_SILENCED

    return f" (`noqa` cannot hide {code}: {NEVER_SILENCED[code]}; to skip the file, list it in `exclude`)"


class Suppressions:
    """The file's directives; `suppresses` answers for one diagnostic and remembers the answer."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.directives: Dict[int, Directive] = {}
        self.file_directives: List[Directive] = []
        self.exemption: Optional[FileExemption] = None
        if HINT.search(text):
            self.file_directives = _file_directives(text)
            self.exemption = _exemption(self.file_directives)
            for line, comment in _scan(text).comments.items():
                directive = _directive(comment)
                if directive is not None:
                    self.directives[line] = directive

    def suppresses(self, line: int, code: str) -> bool:
        if self.exemption is not None and self.exemption.covers(code):
            return True
        directive = self.directives.get(line)
        if directive is not None and directive.covers(code):
            directive.matched.add(code)
            return True
        return False

    def unused(self, enabled: FrozenSet[str], known: FrozenSet[str], ours, keep: FrozenSet[str] = frozenset(),
               never: FrozenSet[str] = frozenset()) -> List[Diagnostic]:
        """KM001 for each directive naming codes of ours that suppressed nothing.

        `enabled`: the codes on for this file; `known`: every code metriclint has; `ours(code)`:
        whether a code belongs to metriclint (others are left alone); `keep`: codes whose rule
        could not run (crashed), which count as used; `never`: tool codes no directive can
        silence. Bare `# noqa` is never reported: it also serves every other linter on the line.
        File-level directives are reported only for the codes in `never`: those can do nothing.
        """
        if self.exemption is not None and self.exemption.covers(UNUSED_NOQA):
            return []
        out = []
        for directive in sorted(self.directives.values(), key=lambda d: d.start):
            if directive.codes is None:
                continue
            if any(written.upper() == UNUSED_NOQA for written, _, _ in directive.codes):
                continue  # `# noqa: KM001` turns the check off for its own line (ruff's RUF100 too)
            diagnostic = _unused_in(directive, self.text, enabled, known, ours, keep, never)
            if diagnostic is not None:
                out.append(diagnostic)
        for directive in self.file_directives:
            if directive.codes is not None and any(written.upper() in never for written, _, _ in directive.codes):
                diagnostic = _unused_in(directive, self.text, enabled, known, lambda code: code in never, keep, never,
                                        prefix=FILE_NOQA_PREFIX)
                if diagnostic is not None:
                    out.append(diagnostic)
        return out


FILE_NOQA_PREFIX = "# metriclint: noqa: "


def _unused_in(directive: Directive, text: str, enabled, known, ours, keep, never: FrozenSet[str] = frozenset(),
               prefix: str = "# noqa: ") -> Optional[Diagnostic]:
    unused: List[str] = []
    disabled: List[str] = []
    duplicated: List[str] = []
    unknown: List[str] = []
    futile: List[str] = []
    kept: List[str] = []
    seen: Set[str] = set()
    for written, _, _ in directive.codes or ():
        code = written.upper()
        if code in seen:
            duplicated.append(written)
            continue
        seen.add(code)
        if not ours(code) or any(m.startswith(code) for m in directive.matched) \
                or any(k.startswith(code) for k in keep):
            kept.append(written)
        elif code in never:
            futile.append(written)
        elif not any(k.startswith(code) for k in known):
            unknown.append(written)
        elif not any(e.startswith(code) for e in enabled):
            disabled.append(written)
        else:
            unused.append(written)
    if not (unused or disabled or duplicated or unknown or futile):
        return None
    reasons = []
    for label, codes in (("unused", unused), ("non-enabled", disabled), ("duplicated", duplicated), ("unknown", unknown),
                         ("cannot be suppressed", futile)):
        if codes:
            reasons.append(f"{label}: {', '.join(f'`{c}`' for c in codes)}")
    message = f"Unused `noqa` directive ({'; '.join(reasons)})"
    if kept:
        edit = Edit(directive.start, directive.end, prefix + ", ".join(kept))
        fix_message = "Remove unused codes from the `noqa` directive"
    else:
        edit = _delete_directive(directive, text)
        fix_message = "Remove the unused `noqa` directive"
    lines = _line_starts(text)
    return Diagnostic(
        UNUSED_NOQA,
        message,
        _position(lines, directive.start),
        _position(lines, directive.end),
        fix=Fix(edits=(edit,), safety=Safety.SAFE, message=fix_message),
        source_line=directive.line,
    )


def _line_starts(text: str) -> List[int]:
    return [0] + [m.end() for m in _NEWLINE.finditer(text)]


def _position(starts: List[int], offset: int) -> Position:
    line = bisect.bisect_right(starts, offset)
    return Position(line, offset - starts[line - 1] + 1)


def _line_bounds(text: str, offset: int) -> Tuple[int, int, int]:
    """(start of the line, end of its content, end including its line break) around `offset`."""
    start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1
    match = _NEWLINE.search(text, offset)
    if match is None:
        return start, len(text), len(text)
    return start, match.start(), match.end()


def _delete_directive(directive: Directive, text: str) -> Edit:
    """The edit that removes a directive and keeps the rest of the line (ruff's `delete_comment`)."""
    line_start, line_end, full_end = _line_bounds(text, directive.start)
    before = text[line_start:directive.start]
    after = text[directive.end:line_end]
    lead = len(before) - len(before.rstrip())
    trail = len(after) - len(after.lstrip())
    if not before.strip() and not after.strip():
        return Edit(line_start, full_end, "")  # `# noqa: KM101` alone on its line: drop the line
    if not after.strip():
        return Edit(directive.start - lead, line_end, "")  # `x = 1  # noqa: KM101`
    if after.lstrip().startswith("#"):
        return Edit(directive.start, directive.end + trail, "")  # `x = 1  # noqa: KM101  # other`
    # `x = 1  # noqa: KM101 because ...`: keep the explanation as a comment
    return Edit(directive.start + 1, directive.end + trail, " ")


# --- adding directives (`check --add-noqa`) ---------------------------------------------------------
@dataclass
class AddedNoqa:
    text: str
    lines: List[int]  # lines that got a new or extended directive
    impossible: Set[int]  # lines where no comment can go (they end inside a string or continue with `\`)


def add_noqa(text: str, wanted: Dict[int, Set[str]], protected: Optional["re.Pattern[str]"] = None) -> AddedNoqa:
    """Add `# noqa: CODES` to the end of each line in `wanted` (line -> codes).

    An existing directive on the line gets the codes appended (`# noqa: E501` -> `# noqa: E501,
    KM101`); another comment gets the directive after it; otherwise it goes after the code, past
    trailing whitespace, which it replaces. `protected` matches a tail of the line (with its leading
    whitespace) that must stay last: the notebook mask tag of a `%time` line.
    """
    if not wanted:
        return AddedNoqa(text, [], set())
    scan = _scan(text)
    starts = _line_starts(text)
    edits: List[Edit] = []
    lines: List[int] = []
    impossible: Set[int] = set()
    for line in sorted(wanted):
        codes = sorted(wanted[line])
        if not codes:
            continue
        if line < 1 or line > len(starts) or line not in scan.open_ends:
            impossible.add(line)
            continue
        start = starts[line - 1]
        _, content_end, _ = _line_bounds(text, start)
        comment = scan.comments.get(line)
        tail_start = content_end
        if protected is not None:
            tail = protected.search(text, start, content_end)
            if tail is not None and tail.end() == content_end:
                tail_start = tail.start()
        if comment is not None and comment.start < tail_start:
            own = Comment(line, comment.start, text[comment.start:tail_start])
            directive = _directive(own)
            if directive is not None and directive.codes is None:
                impossible.add(line)  # a bare noqa already covers everything: nothing we can add
                continue
            if directive is not None:
                present = {c.upper() for c, _, _ in directive.codes or ()}
                new = [c for c in codes if c not in present]
                if new:
                    edits.append(Edit(directive.end, directive.end, ", " + ", ".join(new)))
                    lines.append(line)
                continue
            end = comment.start + len(own.text.rstrip())
            edits.append(Edit(end, tail_start, "  # noqa: " + ", ".join(codes)))
            lines.append(line)
            continue
        code_end = start + len(text[start:tail_start].rstrip(" \t\f"))
        separator = "  " if code_end > start else ""
        edits.append(Edit(code_end, tail_start, separator + "# noqa: " + ", ".join(codes)))
        lines.append(line)
    out, last = [], 0
    for edit in sorted(edits):
        out.append(text[last:edit.start])
        out.append(edit.content)
        last = edit.end
    out.append(text[last:])
    return AddedNoqa("".join(out), lines, impossible)


def is_ours(code: str, tool_codes: Sequence[str]) -> bool:
    """Whether a code in a noqa belongs to metriclint (`KM...`, or one of its tool codes)."""
    return code.upper().startswith("KM") or code.upper() in tool_codes
