"""Check one open document as `metriclint check` would, and turn fixes into edits of the editor's documents.

No LSP types here: a snapshot goes in, metriclint diagnostics come out, each placed in the
document the editor shows it in (the file, or one cell of a notebook). A notebook is read exactly
as the CLI reads it: one virtual module of its code cells (notebook.py), mapped back per cell.
Every edit offered is text the CLI would write: a fix's own edits, the fixed text of `fix`, or
the comment `check --add-noqa` adds, split back into cells for a notebook.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..diagnostics import Diagnostic, Edit, Safety
from ..engine import apply_edits, fix_text, lint_text, parses_as_fixed
from ..files import is_excluded
from ..notebook import MASK_TAG_AT_END, NotebookError, VirtualModule, column_shifts, map_diagnostic, module_of_cells, split_cells
from ..project.index import ProjectIndex
from ..rules import TOOL_CODES
from ..runner import notebook_settings
from ..settings import Settings
from ..suppression import UNUSED_NOQA, add_noqa
from .documents import NotebookSnapshot, Snapshot, TextSnapshot

# uri -> edits of that document's text (offsets into it), as the client will apply them
DocumentEdits = Dict[str, List[Edit]]


@dataclass(frozen=True)
class Finding:
    uri: str  # the document the editor shows it in: the file, or the notebook's cell
    shown: Diagnostic  # positions in that document
    linted: Diagnostic  # positions and fix edits in the text that was linted (the file, or the virtual module)


@dataclass
class CheckResult:
    snapshot: Snapshot
    settings: Settings
    text: str  # the text that was linted: the file's, or the notebook's virtual module
    module: Optional[VirtualModule] = None  # notebooks
    findings: List[Finding] = field(default_factory=list)
    skipped: Optional[str] = None  # why nothing was checked (excluded by the config)

    @property
    def version(self) -> Optional[int]:
        return self.snapshot.version

    def document_text(self, uri: str) -> Optional[str]:
        """The text of one of the snapshot's documents (the file, or a code cell)."""
        if isinstance(self.snapshot, TextSnapshot):
            return self.snapshot.text if uri == self.snapshot.uri else None
        return next((cell.text for cell in self.snapshot.cells if cell.uri == uri), None)


def check(snapshot: Snapshot, settings: Settings, project: ProjectIndex) -> CheckResult:
    """The diagnostics `metriclint check` reports for the snapshot's text (`--force-exclude`:
    a file the config excludes is not checked)."""
    if is_excluded(snapshot.path, settings):
        return CheckResult(snapshot, settings, "", skipped="excluded by `exclude` or `extend-exclude`")
    if isinstance(snapshot, TextSnapshot):
        output = lint_text(snapshot.text, snapshot.path, settings, project.view(snapshot.path, settings))
        findings = [Finding(snapshot.uri, diag, diag) for diag in output.diagnostics]
        return CheckResult(snapshot, settings, snapshot.text, findings=findings)
    if not settings.include_notebooks:
        return CheckResult(snapshot, settings, "", skipped="`include-notebooks = false`")
    return _check_notebook(snapshot, settings, project)


def _check_notebook(snapshot: NotebookSnapshot, settings: Settings, project: ProjectIndex) -> CheckResult:
    module = module_of_cells([cell.as_nbformat() for cell in snapshot.cells])
    settings = notebook_settings(module, settings)
    output = lint_text(module.text, snapshot.path, settings, project.view(snapshot.path, settings))
    shifts = column_shifts(module.text, module)
    findings = []
    for diag in module.broken:  # E999 per cell that does not parse: already in the cell's lines
        findings.extend(_in_cell(snapshot, diag, diag))
    for diag in output.diagnostics:
        findings.extend(_in_cell(snapshot, map_diagnostic(diag, module.line_map, shifts), diag))
    return CheckResult(snapshot, settings, module.text, module, findings)


def _in_cell(snapshot: NotebookSnapshot, shown: Diagnostic, linted: Diagnostic) -> List[Finding]:
    cell = snapshot.cell(shown.cell or 0)
    if cell is None or cell.text is None:
        return []  # pragma: no cover - every line of the module belongs to a code cell
    return [Finding(cell.uri, shown, linted)]


# --- edits ----------------------------------------------------------------------------------------
def fix_edits(result: CheckResult, finding: Finding) -> Optional[DocumentEdits]:
    """The finding's own fix as edits; None when it has none, or when applied alone it would not
    leave a file `metriclint fix` writes (it does not parse, or moves code across cells)."""
    fix = finding.linted.fix
    if fix is None:
        return None
    fixed = apply_edits(result.text, list(fix.edits))
    if not parses_as_fixed(fixed):
        return None
    if isinstance(result.snapshot, TextSnapshot):
        return {result.snapshot.uri: sorted(fix.edits)}
    return _notebook_edits(result, fixed)


def fix_all_edits(result: CheckResult, project: ProjectIndex) -> Optional[DocumentEdits]:
    """What `metriclint fix` (safe fixes only) would write, as edits; None when nothing changes."""
    if result.skipped is not None or not any(_safe_fix(f) for f in result.findings):
        return None
    view = project.view(result.snapshot.path, result.settings)
    fixed = fix_text(result.text, result.snapshot.path, result.settings, False, view).text
    return _edits_to(result, fixed)


def noqa_edits(result: CheckResult, finding: Finding) -> Optional[DocumentEdits]:
    """The `# noqa: CODE` comment `check --add-noqa` would add for this finding; None for the codes
    it never names (tool codes, KM001) and where no comment can go."""
    diag = finding.linted
    if diag.code in TOOL_CODES or diag.code == UNUSED_NOQA or diag.source_line < 1:
        return None
    protected = MASK_TAG_AT_END if result.module is not None else None
    added = add_noqa(result.text, {diag.source_line: {diag.code}}, protected)
    if not added.lines:
        return None
    return _edits_to(result, added.text)


def _safe_fix(finding: Finding) -> bool:
    return finding.linted.fix is not None and finding.linted.fix.safety is Safety.SAFE


def _edits_to(result: CheckResult, new_text: str) -> Optional[DocumentEdits]:
    if new_text == result.text:
        return None
    if isinstance(result.snapshot, TextSnapshot):
        return {result.snapshot.uri: text_edits(result.text, new_text)}
    return _notebook_edits(result, new_text)


def _notebook_edits(result: CheckResult, new_module_text: str) -> Optional[DocumentEdits]:
    """Edits of the cells whose code changed, or None when the change cannot be split back into
    cells (it moved code across a boundary or touched a masked IPython line)."""
    assert result.module is not None and isinstance(result.snapshot, NotebookSnapshot)
    try:
        sources = split_cells(new_module_text, result.module)
    except NotebookError:
        return None
    edits: DocumentEdits = {}
    for number, source in sources.items():
        cell = result.snapshot.cell(number)
        if cell is None or cell.text is None:
            return None  # pragma: no cover - split_cells only names the module's code cells
        edits[cell.uri] = text_edits(cell.text, source)
    return edits or None


def text_edits(old: str, new: str) -> List[Edit]:
    """Small edits that turn `old` into `new`: changed runs of lines, trimmed to the characters
    that differ (so the cursor and the rest of the line stay put)."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    starts = [0]
    for line in old_lines:
        starts.append(starts[-1] + len(line))
    edits = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end = starts[i1], starts[i2]
        before, after = old[start:end], "".join(new_lines[j1:j2])
        head = _common_prefix(before, after)
        tail = _common_prefix(before[head:][::-1], after[head:][::-1])
        edits.append(Edit(start + head, end - tail, after[head:len(after) - tail]))
    return edits


def _common_prefix(a: str, b: str) -> int:
    size = 0
    for x, y in zip(a, b):
        if x != y:
            break
        size += 1
    return size
