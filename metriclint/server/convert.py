"""metriclint's positions, diagnostics and edits as LSP has them.

metriclint counts 1-based lines split at `\\r\\n`, `\\r` or `\\n` (as Python's tokenizer and LSP
do) and 1-based columns in characters; LSP counts 0-based lines and columns in the code units of
the encoding negotiated at initialisation (UTF-16 unless the client offers another).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from lsprotocol import types

from .. import DOCS_URL
from ..diagnostics import Diagnostic, Edit
from ..locate import LineIndex
from ..suppression import UNUSED_NOQA

SOURCE = "metriclint"
# Codes that mean the file was not (fully) checked, or that metriclint itself failed.
_ERRORS = frozenset({"E999", "E902", "E000"})
# Rules whose every finding is a use of an API Keras 3 removed: clients strike it through.
_REMOVED_API = frozenset({"KM103", "KM105", "KM107", "KM109"})


UTF8, UTF16, UTF32 = (types.PositionEncodingKind.Utf8.value, types.PositionEncodingKind.Utf16.value,
                      types.PositionEncodingKind.Utf32.value)


def encoding_name(encoding: object) -> str:
    """`utf-8`, `utf-16` or `utf-32` (lsprotocol's enum members print as their names)."""
    return str(getattr(encoding, "value", encoding) or UTF16)


class DocumentText:
    """One document's text, for converting between offsets, metriclint positions and LSP positions."""

    def __init__(self, text: str, encoding: str = UTF16) -> None:
        self.text = text
        self.lines = LineIndex(text)
        self.encoding = encoding_name(encoding)

    def _units(self, chars: str) -> int:
        if chars.isascii() or self.encoding == UTF32:
            return len(chars)
        if self.encoding == UTF8:
            return len(chars.encode("utf-8", "surrogatepass"))
        return len(chars.encode("utf-16-le", "surrogatepass")) // 2

    def position(self, line: int, column: int) -> types.Position:
        """1-based line and character column -> LSP position (clamped to the text)."""
        line = min(max(line, 1), len(self.lines.starts))
        content = self.lines.line_text(line)
        column = min(max(column - 1, 0), len(content))
        return types.Position(line=line - 1, character=self._units(content[:column]))

    def char_offset(self, line: int, column: int) -> int:
        """1-based line and character column -> offset into the text (clamped to the text)."""
        if line > len(self.lines.starts):
            return len(self.text)
        line = max(line, 1)
        return self.lines.starts[line - 1] + min(max(column - 1, 0), len(self.lines.line_text(line)))

    def offset_position(self, offset: int) -> types.Position:
        where = self.lines.position(min(max(offset, 0), len(self.text)))
        return self.position(where.line, where.column)

    def offset(self, position: types.Position) -> int:
        """LSP position -> offset into the text (past the end of a line: its end)."""
        if position.line >= len(self.lines.starts):
            return len(self.text)
        line = max(position.line, 0) + 1
        content = self.lines.line_text(line)
        if content.isascii() or self.encoding == UTF32:
            column = min(position.character, len(content))
        else:
            column, units = 0, 0
            while column < len(content) and units < position.character:
                units += self._units(content[column])
                column += 1
        return self.lines.starts[line - 1] + column

    def edit(self, edit: Edit) -> types.TextEdit:
        return types.TextEdit(
            range=types.Range(start=self.offset_position(edit.start), end=self.offset_position(edit.end)),
            new_text=edit.content,
        )


def severity(code: str) -> types.DiagnosticSeverity:
    """Errors for a file that was not checked (or a crash); warnings for findings, as linters do."""
    return types.DiagnosticSeverity.Error if code in _ERRORS else types.DiagnosticSeverity.Warning


def tags(code: str) -> Optional[List[types.DiagnosticTag]]:
    if code == UNUSED_NOQA:
        return [types.DiagnosticTag.Unnecessary]  # a comment that does nothing: clients fade it
    if code in _REMOVED_API:
        return [types.DiagnosticTag.Deprecated]
    return None


def diagnostic(diag: Diagnostic, document: DocumentText) -> types.Diagnostic:
    start = document.position(diag.start.line, diag.start.column)
    end = document.position(diag.end.line, diag.end.column)
    if (end.line, end.character) < (start.line, start.character):
        end = start
    fixable = diag.fix.safety.value if diag.fix is not None else None
    return types.Diagnostic(
        range=types.Range(start=start, end=end),
        message=diag.message,
        severity=severity(diag.code),
        code=diag.code,
        code_description=types.CodeDescription(href=DOCS_URL.format(code=diag.code)),
        source=SOURCE,
        tags=tags(diag.code),
        data={"fix": fixable} if fixable else None,
    )


def workspace_edit(edits: Dict[str, List[Edit]], texts: Dict[str, DocumentText],
                   versions: Dict[str, Optional[int]], document_changes: bool) -> types.WorkspaceEdit:
    """Edits of several documents (a notebook's cells) as one workspace edit; versioned
    (`documentChanges`) where the client supports it, so it refuses edits of a changed document."""
    converted = {uri: [texts[uri].edit(edit) for edit in sorted(items)] for uri, items in edits.items()}
    if not document_changes:
        return types.WorkspaceEdit(changes=converted)
    changes: Sequence[types.TextDocumentEdit] = [
        types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=versions.get(uri)),
            edits=list(items),
        )
        for uri, items in converted.items()
    ]
    return types.WorkspaceEdit(document_changes=list(changes))
