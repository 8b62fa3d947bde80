"""What the editor has open, frozen at one version: a Python file, or a notebook's cells.

A snapshot is taken on the event loop and handed to the worker thread, so the check never reads
the workspace while the editor changes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union
from urllib.parse import unquote

from lsprotocol import types
from pygls.uris import to_fs_path
from pygls.workspace import Workspace, TextDocument

PYTHON_SUFFIXES = (".py", ".pyi")
NOTEBOOK_TYPE = "jupyter-notebook"  # VS Code's type for .ipynb files (LSP leaves the names to clients)


@dataclass(frozen=True)
class TextSnapshot:
    uri: str
    path: str  # where settings and the project are looked up from (a name in the root when unsaved)
    version: Optional[int]
    text: str


@dataclass(frozen=True)
class CellSnapshot:
    uri: str
    number: int  # 1-based over all cells, markdown included, as `metriclint check` numbers them
    text: Optional[str]  # None: not a code cell, or a cell whose text the client does not sync
    version: Optional[int]

    def as_nbformat(self) -> Dict[str, Any]:
        if self.text is None:
            return {"cell_type": "markdown", "source": ""}
        return {"cell_type": "code", "source": self.text}


@dataclass(frozen=True)
class NotebookSnapshot:
    uri: str
    path: str
    version: int
    cells: Tuple[CellSnapshot, ...]

    def code_cells(self) -> List[CellSnapshot]:
        return [cell for cell in self.cells if cell.text is not None]

    def cell(self, number: int) -> Optional[CellSnapshot]:
        return self.cells[number - 1] if 1 <= number <= len(self.cells) else None


Snapshot = Union[TextSnapshot, NotebookSnapshot]


def file_path(uri: str, root: Optional[str], default_name: str) -> str:
    """The file a document is (an unsaved one: `default_name` in the workspace root, so that the
    root's config applies to it)."""
    path = to_fs_path(uri) if uri.startswith("file:") else None
    if path:
        return os.path.abspath(path)
    return os.path.join(os.path.abspath(root or os.getcwd()), default_name)


def is_python(uri: str, language_id: Optional[str]) -> bool:
    """Python source the client sent (jupyterlab-lsp sends a notebook's cells as one Python document)."""
    return language_id == "python" or uri.endswith(PYTHON_SUFFIXES)


def _document(workspace: Workspace, uri: str) -> Optional[TextDocument]:
    return workspace.text_documents.get(unquote(uri))  # pygls keys documents by the unquoted uri


def text_snapshot(workspace: Workspace, uri: str) -> Optional[TextSnapshot]:
    document = _document(workspace, uri)
    if document is None or workspace.get_notebook_document(cell_uri=uri) is not None:
        return None
    if not is_python(uri, document.language_id):
        return None
    return TextSnapshot(uri, file_path(uri, workspace.root_path, "untitled.py"), document.version, document.source)


def notebook_snapshot(workspace: Workspace, uri: str) -> Optional[NotebookSnapshot]:
    notebook = workspace.get_notebook_document(notebook_uri=uri)
    if notebook is None:
        return None
    cells = []
    for number, cell in enumerate(notebook.cells, start=1):
        document = _document(workspace, cell.document) if cell.kind == types.NotebookCellKind.Code else None
        if document is None:
            cells.append(CellSnapshot(cell.document, number, None, None))
        else:
            cells.append(CellSnapshot(cell.document, number, document.source, document.version))
    return NotebookSnapshot(uri, file_path(uri, workspace.root_path, "untitled.ipynb"), notebook.version, tuple(cells))


def snapshot(workspace: Workspace, uri: str) -> Optional[Snapshot]:
    """The document at `uri` (a notebook's uri for a notebook) as it is now; None when it is closed
    or not something metriclint reads."""
    return notebook_snapshot(workspace, uri) or text_snapshot(workspace, uri)


def current_version(workspace: Workspace, uri: str) -> Optional[int]:
    notebook = workspace.get_notebook_document(notebook_uri=uri)
    if notebook is not None:
        return notebook.version
    document = _document(workspace, uri)
    return document.version if document is not None else None


def owner(workspace: Workspace, uri: str) -> str:
    """The document a uri's diagnostics belong to: its notebook for a cell, else itself."""
    notebook = workspace.get_notebook_document(cell_uri=uri)
    return notebook.uri if notebook is not None else uri
