"""Code actions: each finding's fix, a `# noqa` for it, and "fix all safe" for the document.

Safe fixes are preferred quick fixes; unsafe ones say so in their title (they change names,
units or logged keys: `metriclint fix` applies them only with `--unsafe-fixes`). "Fix all" is
`metriclint fix` on the document: kind `source.fixAll.metriclint` (and
`notebook.source.fixAll.metriclint` for a whole notebook), so editors can run it on save.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from lsprotocol import types

from ..diagnostics import Safety
from ..project.index import ProjectIndex
from .checking import CheckResult, DocumentEdits, Finding, fix_all_edits, fix_edits, noqa_edits
from .convert import DocumentText, diagnostic, workspace_edit
from .documents import NotebookSnapshot

FIX_ALL = "source.fixAll.metriclint"
NOTEBOOK_FIX_ALL = "notebook.source.fixAll.metriclint"
KINDS = (types.CodeActionKind.QuickFix, FIX_ALL, NOTEBOOK_FIX_ALL)


@dataclass(frozen=True)
class Request:
    uri: str  # the document asked about: a file, or one cell of a notebook
    range: types.Range
    only: Optional[Sequence[str]]  # the kinds the client wants (None: all)
    encoding: str
    document_changes: bool  # the client takes versioned `documentChanges`
    resolve_edits: bool  # the client resolves an action's edit later (codeAction/resolve)


def wanted(kind: str, only: Optional[Sequence[str]]) -> bool:
    """Whether `kind` is one of `only` or below one (`source.fixAll` covers `source.fixAll.metriclint`)."""
    return only is None or any(kind == asked or kind.startswith(asked + ".") for asked in only)


def code_actions(result: CheckResult, request: Request, project: ProjectIndex) -> List[types.CodeAction]:
    texts = _texts(result, request.encoding)
    document = texts.get(request.uri)
    if document is None:
        return []
    start, end = document.offset(request.range.start), document.offset(request.range.end)
    actions: List[types.CodeAction] = []
    if wanted(types.CodeActionKind.QuickFix, request.only):
        for finding in result.findings:
            if finding.uri == request.uri and _touches(finding, document, start, end):
                actions.extend(_finding_actions(result, finding, texts, request))
    if any(_safe(f) for f in result.findings):
        for kind in _fix_all_kinds(result, request.only):
            action = types.CodeAction(title="Fix all safe metriclint findings", kind=kind,
                                      data={"uri": result.snapshot.uri, "version": result.version})
            if not request.resolve_edits:
                resolve_fix_all(action, result, request, project)
            if action.edit is not None or request.resolve_edits:
                actions.append(action)
    return actions


def _fix_all_kinds(result: CheckResult, only: Optional[Sequence[str]]) -> List[str]:
    """`source.fixAll.metriclint` (for a notebook's cell: the whole notebook, as the CLI fixes it),
    and for a notebook `notebook.source.fixAll.metriclint` when asked for by name."""
    if only is None:
        return [FIX_ALL]
    kinds = [FIX_ALL] + ([NOTEBOOK_FIX_ALL] if isinstance(result.snapshot, NotebookSnapshot) else [])
    return [kind for kind in kinds if wanted(kind, only)]


def resolve_fix_all(action: types.CodeAction, result: CheckResult, request: Request, project: ProjectIndex) -> None:
    """Set the action's edit: the document as `metriclint fix` would write it (no edit when nothing changes)."""
    edits = fix_all_edits(result, project)
    if edits is not None:
        action.edit = _workspace_edit(result, edits, _texts(result, request.encoding), request)


def _finding_actions(result: CheckResult, finding: Finding, texts: Dict[str, DocumentText],
                     request: Request) -> List[types.CodeAction]:
    shown = diagnostic(finding.shown, texts[finding.uri])
    actions = []
    fix = finding.linted.fix
    edits = fix_edits(result, finding)
    if fix is not None and edits is not None:
        safe = fix.safety is Safety.SAFE
        title = f"Fix {finding.shown.code}: {fix.message}" if safe else \
            f"Fix {finding.shown.code} (unsafe: review the change): {fix.message}"
        actions.append(types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix, diagnostics=[shown],
                                        is_preferred=safe, edit=_workspace_edit(result, edits, texts, request)))
    noqa = noqa_edits(result, finding)
    if noqa is not None:
        code = finding.shown.code
        actions.append(types.CodeAction(title=f"Suppress {code} on this line (`# noqa: {code}`)",
                                        kind=types.CodeActionKind.QuickFix, diagnostics=[shown],
                                        edit=_workspace_edit(result, noqa, texts, request)))
    return actions


def _touches(finding: Finding, document: DocumentText, start: int, end: int) -> bool:
    """Whether the finding's range meets the requested one (a cursor at either end counts)."""
    first = document.char_offset(finding.shown.start.line, finding.shown.start.column)
    last = max(first, document.char_offset(finding.shown.end.line, finding.shown.end.column))
    return first <= end and start <= last


def _safe(finding: Finding) -> bool:
    return finding.linted.fix is not None and finding.linted.fix.safety is Safety.SAFE


def _texts(result: CheckResult, encoding: str) -> Dict[str, DocumentText]:
    snapshot = result.snapshot
    if isinstance(snapshot, NotebookSnapshot):
        return {cell.uri: DocumentText(cell.text, encoding) for cell in snapshot.code_cells() if cell.text is not None}
    return {snapshot.uri: DocumentText(snapshot.text, encoding)}


def _versions(result: CheckResult) -> Dict[str, Optional[int]]:
    snapshot = result.snapshot
    if isinstance(snapshot, NotebookSnapshot):
        return {cell.uri: cell.version for cell in snapshot.cells}
    return {snapshot.uri: snapshot.version}


def _workspace_edit(result: CheckResult, edits: DocumentEdits, texts: Dict[str, DocumentText],
                    request: Request) -> types.WorkspaceEdit:
    return workspace_edit(edits, texts, _versions(result), request.document_changes)


def action_data(action: types.CodeAction) -> Optional[Dict[str, Any]]:
    data = action.data
    return data if isinstance(data, dict) and isinstance(data.get("uri"), str) else None
