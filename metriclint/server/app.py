"""`metriclint server`: the Language Server Protocol messages it answers, on pygls.

Documents are synced whole (`TextDocumentSyncKind.Full`): the engine re-reads the whole text
anyway, and applying an incremental change is where line-break conventions go wrong. Notebooks
use LSP 3.17 notebook sync (Jupyter notebooks, their Python cells).
"""

from __future__ import annotations

from typing import List, Optional

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__
from .actions import KINDS, Request, action_data, code_actions, resolve_fix_all
from .config import SECTION, WATCHED, changes_settings, is_module
from .documents import NOTEBOOK_TYPE, owner
from .session import Session


class MetriclintServer(LanguageServer):
    """The server object: pygls's, plus the one `Session` that holds metriclint's state."""

    def __init__(self) -> None:
        super().__init__(
            "metriclint", __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Full,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[types.NotebookDocumentFilterWithNotebook(
                    notebook=NOTEBOOK_TYPE, cells=[types.NotebookCellLanguage(language="python")])],
                save=True,
            ),
        )
        self.session = Session(self)

    def report_server_error(self, error: Exception, source) -> None:  # type: ignore[override]
        """pygls's own errors (a message it cannot read) go to the log, not to a pop-up."""
        self.session.log(f"metriclint: {type(error).__name__}: {error}", types.MessageType.Error)


def create_server() -> MetriclintServer:
    server = MetriclintServer()
    session = server.session

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        with session.guard("reading initializationOptions"):
            session.apply_settings(params.initialization_options, recheck=False, initial=True)

    @server.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        with session.guard("registering file watchers"):
            if session.supports("workspace.did_change_watched_files.dynamic_registration"):
                watchers = [types.FileSystemWatcher(glob_pattern=pattern) for pattern in WATCHED]
                await server.client_register_capability_async(types.RegistrationParams(registrations=[
                    types.Registration(id="metriclint-watched-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                       register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers))]))
        await _pull_settings()

    async def _pull_settings() -> None:
        if not session.supports("workspace.configuration"):
            return
        with session.guard("reading the editor's settings"):
            values = await server.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)]))
            session.apply_settings(values[0] if values else None)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and SECTION in settings:  # pushed (Neovim, jupyterlab-lsp)
            with session.guard("reading the editor's settings"):
                session.apply_settings(settings[SECTION])
        else:  # "something changed": ask (VS Code)
            await _pull_settings()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        with session.guard("reacting to changed files"):
            paths = [to_fs_path(change.uri) or "" for change in params.changes]
            if any(changes_settings(path) for path in paths):
                session.reload()
            elif any(is_module(path) for path in paths):
                session.refresh_project()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        with session.guard("didOpen"):
            session.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        with session.guard("didChange"):
            session.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        with session.guard("didSave"):
            path = to_fs_path(params.text_document.uri) or ""
            if changes_settings(path):
                session.reload()  # a config edited in the editor (clients without file watching)
            elif is_module(path):
                session.refresh_project()  # the other open documents may import it
            session.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        with session.guard("didClose"):
            session.forget(params.text_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_did_open(params: types.DidOpenNotebookDocumentParams) -> None:
        with session.guard("notebookDocument/didOpen"):
            session.schedule(params.notebook_document.uri, 0)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_did_change(params: types.DidChangeNotebookDocumentParams) -> None:
        with session.guard("notebookDocument/didChange"):
            session.changed(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_did_save(params: types.DidSaveNotebookDocumentParams) -> None:
        with session.guard("notebookDocument/didSave"):
            session.schedule(params.notebook_document.uri, 0)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_did_close(params: types.DidCloseNotebookDocumentParams) -> None:
        with session.guard("notebookDocument/didClose"):
            session.forget(params.notebook_document.uri, [cell.uri for cell in params.cell_text_documents])

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=list(KINDS), resolve_provider=True))
    async def code_action(params: types.CodeActionParams) -> Optional[List[types.CodeAction]]:
        with session.guard("codeAction"):
            uri = params.text_document.uri
            result = await session.current(owner(server.workspace, uri))
            if result is None:
                return None
            request = Request(uri, params.range, params.context.only, session.encoding,
                              session.supports("workspace.workspace_edit.document_changes"), session.resolves_edits())
            return await session.run(code_actions, result, request, session.project) or None
        return None

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(action: types.CodeAction) -> types.CodeAction:
        with session.guard("codeAction/resolve"):
            data = action_data(action)
            if data is None or action.edit is not None:
                return action
            result = await session.current(data["uri"])
            if result is None or result.version != data.get("version"):
                return action  # the document changed since: no edit (the client asks again)
            request = Request(data["uri"], types.Range(start=types.Position(0, 0), end=types.Position(0, 0)), None,
                              session.encoding, session.supports("workspace.workspace_edit.document_changes"), False)
            await session.run(resolve_fix_all, action, result, request, session.project)
        return action

    @server.feature(types.SHUTDOWN)
    def shutdown(params: None) -> None:
        session.close()

    return server
