"""`metriclint server` end to end: a real LSP client (pytest-lsp) drives this tree's server over stdio.

Each test starts the server in a project of its own (a temporary directory with a pyproject.toml)
and compares what the editor would see and apply with what `metriclint check` and `fix` report
and write for the same text.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pytest
import pytest_lsp  # in the test extra: without it these tests fail, as the runtime tests do without Keras
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features
from tree import metriclint_command, tree_env

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")

WAIT = 60  # seconds: a loaded CI machine can be slow to start a process, never that slow
PYPROJECT = '[tool.metriclint]\ntarget-keras = "3"\n'
BAD = (
    "from tensorflow import keras\n"
    "\n"
    "metric = keras.metrics.Mean()\n"
    "metric.update_state([1.0, 2.0])\n"
    "metric.reset_states()\n"
)
GOOD = BAD.replace("reset_states()", "reset_state()")
# A layer computing with TensorFlow ops (KM105's fix keeps a tracker in its `call()`: it runs on the
# TensorFlow backend only anyway)
UNSAFE = (
    "import tensorflow as tf\n"
    "import keras\n"
    "class ActivityLogger(keras.layers.Layer):\n"
    "    def __init__(self, **kwargs):\n"
    "        super().__init__(**kwargs)\n"
    "        self.scale = 2.0\n"
    "    def call(self, x):\n"
    "        self.add_metric(tf.reduce_mean(x), name='activity_mean')\n"
    "        return x\n"
)


class RecordingClient(LanguageClient):
    """pytest-lsp's client, keeping every publishDiagnostics (with its version) and registration."""

    def __init__(self) -> None:
        super().__init__(converter_factory=default_converter)
        self.published: List[types.PublishDiagnosticsParams] = []
        self.registrations: List[types.Registration] = []
        self.initialized_with: Optional[types.InitializeResult] = None
        self.arrived = asyncio.Event()

    async def diagnostics_for(self, uri: str, version: Optional[int] = None,
                              after: int = 0) -> List[types.Diagnostic]:
        """The first diagnostics published for `uri` (at `version`) after the `after`-th message."""
        async def found() -> List[types.Diagnostic]:
            while True:
                for params in self.published[after:]:
                    if params.uri == uri and (version is None or params.version == version):
                        return list(params.diagnostics)
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(found(), WAIT)


def _make_client() -> RecordingClient:
    client = RecordingClient()

    def publish(params: types.PublishDiagnosticsParams) -> None:
        client.diagnostics[params.uri] = params.diagnostics
        client.published.append(params)
        client.arrived.set()

    def register(params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)

    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish
    features[types.CLIENT_REGISTER_CAPABILITY] = register
    register_lsp_features(client, features)
    return client


def _capabilities() -> types.ClientCapabilities:
    """VS Code's, with LSP 3.17 notebook sync (the recorded VS Code predates it)."""
    capabilities = client_capabilities("visual-studio-code")
    capabilities.notebook_document = types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities(dynamic_registration=False))
    return capabilities


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project of the test's own: its files, its pyproject.toml (the nearest config wins)."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    return tmp_path


_SERVER = ClientServerConfig(server_command=metriclint_command("server"), server_env=tree_env(),
                             client_factory=_make_client)


async def _initialize(client: RecordingClient, root: Path) -> None:
    client.initialized_with = await client.initialize_session(types.InitializeParams(
        capabilities=_capabilities(), root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="root")]))


# One server for the tests that leave the editor's settings alone (starting one costs about a
# second); each test opens its own files in its own project.
@pytest_lsp.fixture(scope="module", config=_SERVER)
async def client(lsp_client: RecordingClient, tmp_path_factory: pytest.TempPathFactory):
    await _initialize(lsp_client, tmp_path_factory.mktemp("workspace"))
    yield
    await lsp_client.shutdown_session()


# A server of its own for a test that changes the editor's settings.
@pytest_lsp.fixture(config=_SERVER)
async def own_client(lsp_client: RecordingClient, project: Path):
    await _initialize(lsp_client, project)
    yield
    await lsp_client.shutdown_session()


shared_server = pytest.mark.asyncio(loop_scope="module")


# --- helpers ----------------------------------------------------------------------------------------
def _open(client: LanguageClient, path: Path, text: str, version: int = 1, language: str = "python") -> str:
    path.write_text(text, encoding="utf-8")
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language, version=version, text=text)))
    return uri


def _change(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


def _offset(text: str, position: types.Position) -> int:
    lines = text.splitlines(keepends=True)
    return sum(len(line) for line in lines[:position.line]) + position.character


def _apply(text: str, edits: Sequence[types.TextEdit]) -> str:
    """The client's side of a text edit (ASCII texts: UTF-16 units are characters)."""
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = _offset(text, edit.range.start), _offset(text, edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text


def _edits_by_uri(edit: types.WorkspaceEdit) -> Dict[str, List[types.TextEdit]]:
    out: Dict[str, List[types.TextEdit]] = {}
    for change in edit.document_changes or []:
        assert isinstance(change, types.TextDocumentEdit)
        out.setdefault(change.text_document.uri, []).extend(change.edits)  # type: ignore[arg-type]
    for uri, edits in (edit.changes or {}).items():
        out.setdefault(uri, []).extend(edits)
    return out


async def _actions(client: LanguageClient, uri: str, where: types.Range,
                   only: Optional[List[str]] = None) -> List[types.CodeAction]:
    result = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=where,
        context=types.CodeActionContext(diagnostics=[], only=only)))
    return [action for action in result or [] if isinstance(action, types.CodeAction)]


def _cli(*args: str, cwd: Path) -> str:
    """`metriclint ARGS` in `cwd` (in this process: this tree's code, as tests/test_tree.py checks), its stdout."""
    from click.testing import CliRunner

    from metriclint.cli import main

    paths = [str(cwd / arg) if arg.endswith((".py", ".ipynb")) else arg for arg in args]
    return CliRunner().invoke(main, paths, catch_exceptions=False).stdout


# --- tests --------------------------------------------------------------------------------------------
@shared_server
async def test_initialize_advertises_what_the_server_does(client: RecordingClient):
    assert client.initialized_with is not None
    result = client.initialized_with.capabilities
    sync = result.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions) and sync.change == types.TextDocumentSyncKind.Full
    assert sync.open_close and sync.save
    assert result.notebook_document_sync is not None
    options = result.code_action_provider
    assert isinstance(options, types.CodeActionOptions) and options.resolve_provider
    assert set(options.code_action_kinds or ()) == {"quickfix", "source.fixAll.metriclint",
                                                     "notebook.source.fixAll.metriclint"}
    # the file watchers that reload the config and the project index
    await asyncio.wait_for(_until(lambda: client.registrations), WAIT)
    watchers = client.registrations[0].register_options["watchers"]  # type: ignore[index]
    patterns = {watcher["globPattern"] for watcher in watchers}
    assert {"**/pyproject.toml", "**/metriclint.toml", "**/*.py"} <= patterns


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.02)


@shared_server
async def test_a_bad_file_gets_the_diagnostic_and_a_fixed_one_loses_it(client: RecordingClient, project: Path):
    uri = _open(client, project / "train.py", BAD)
    [diagnostic] = await client.diagnostics_for(uri, version=1)
    cli = json.loads(_cli("check", "--no-cache", "--output-format", "json", "train.py", cwd=project))
    assert [d["code"] for d in cli] == ["KM103"]
    assert diagnostic.code == "KM103" and diagnostic.source == "metriclint"
    # the whole message: JSON's first sentence and its explanation
    assert diagnostic.message == ". ".join(filter(None, (cli[0]["message"], cli[0]["explanation"])))
    # LSP lines and columns are 0-based, the CLI's 1-based: the same place
    assert (diagnostic.range.start.line + 1, diagnostic.range.start.character + 1) == (cli[0]["location"]["row"],
                                                                                   cli[0]["location"]["column"])
    assert (diagnostic.range.end.line + 1, diagnostic.range.end.character + 1) == (cli[0]["end_location"]["row"],
                                                                               cli[0]["end_location"]["column"])
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert diagnostic.code_description is not None and diagnostic.code_description.href == cli[0]["url"]
    assert list(diagnostic.tags or ()) == [types.DiagnosticTag.Deprecated]  # reset_states() is gone from Keras 3
    count = len(client.published)
    _change(client, uri, GOOD, 2)
    assert await client.diagnostics_for(uri, version=2, after=count) == []
    # a syntax error is an error, and does not stop the server
    _change(client, uri, BAD + "def broken(:\n", 3)
    [error] = await client.diagnostics_for(uri, version=3)
    assert error.code == "E999" and error.severity == types.DiagnosticSeverity.Error
    assert error.range.start.line == 5
    # columns in UTF-16 code units, LSP's default: "😀" is one character and two units
    _change(client, uri, BAD.replace("metric.reset_states()", 'note = "é😀"; metric.reset_states()'), 4)
    [moved] = await client.diagnostics_for(uri, version=4)
    assert moved.code == "KM103" and moved.range.start.character == len('note = "é😀"; metric.') + 1


@shared_server
async def test_quick_fix_and_noqa_are_what_the_cli_writes(client: RecordingClient, project: Path):
    uri = _open(client, project / "train.py", BAD)
    [diagnostic] = await client.diagnostics_for(uri, version=1)
    actions = await _actions(client, uri, diagnostic.range)
    titles = [action.title for action in actions]
    fix = next(a for a in actions if a.title.startswith("Fix KM103"))
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    assert fix.diagnostics and fix.diagnostics[0].code == "KM103"
    assert fix.edit is not None
    [(edited_uri, edits)] = _edits_by_uri(fix.edit).items()
    assert edited_uri == uri and len(edits) == 1  # the rule's own edit, not the whole file
    fixed = _apply(BAD, edits)
    copy = project / "by_cli.py"
    copy.write_text(BAD, encoding="utf-8")
    _cli("fix", "--no-cache", "by_cli.py", cwd=project)
    assert fixed == copy.read_text(encoding="utf-8") == GOOD

    noqa = next(a for a in actions if "noqa" in a.title)
    assert noqa.kind == types.CodeActionKind.QuickFix and not noqa.is_preferred, titles
    suppressed = _apply(BAD, _edits_by_uri(noqa.edit)[uri])  # type: ignore[arg-type]
    copy.write_text(BAD, encoding="utf-8")
    _cli("check", "--no-cache", "--add-noqa", "by_cli.py", cwd=project)
    assert suppressed == copy.read_text(encoding="utf-8") == BAD.replace("reset_states()", "reset_states()  # noqa: KM103")
    count = len(client.published)
    _change(client, uri, suppressed, 2)
    assert await client.diagnostics_for(uri, version=2, after=count) == []
    # away from the finding: no quick fix
    assert await _actions(client, uri, types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
                          only=[types.CodeActionKind.QuickFix]) == []


@shared_server
async def test_unsafe_fixes_are_labelled(client: RecordingClient, project: Path):
    uri = _open(client, project / "layer.py", UNSAFE)
    [diagnostic] = await client.diagnostics_for(uri, version=1)
    assert diagnostic.code == "KM105" and diagnostic.data == {"fix": "unsafe"}
    actions = await _actions(client, uri, diagnostic.range)
    fix = next(a for a in actions if a.title.startswith("Fix KM105"))
    assert "unsafe" in fix.title and not fix.is_preferred
    copy = project / "by_cli.py"
    copy.write_text(UNSAFE, encoding="utf-8")
    _cli("fix", "--no-cache", "--unsafe-fixes", "by_cli.py", cwd=project)
    assert _apply(UNSAFE, _edits_by_uri(fix.edit)[uri]) == copy.read_text(encoding="utf-8") != UNSAFE  # type: ignore[arg-type]
    # "fix all" takes safe fixes only, as `metriclint fix` does: nothing here
    assert await _actions(client, uri, diagnostic.range, only=["source.fixAll"]) == []


@shared_server
async def test_fix_all_is_metriclint_fix(client: RecordingClient, project: Path):
    text = BAD + "other = keras.metrics.Mean()\nother.reset_states()\n" + UNSAFE.replace("import keras\n", "")
    uri = _open(client, project / "train.py", text)
    found = await client.diagnostics_for(uri, version=1)
    assert sorted(d.code for d in found) == ["KM103", "KM103", "KM105"]
    whole = types.Range(start=types.Position(0, 0), end=types.Position(0, 0))
    [action] = await _actions(client, uri, whole, only=["source.fixAll"])
    assert action.kind == "source.fixAll.metriclint"
    assert action.edit is None  # VS Code resolves the edit when it is chosen
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is not None
    fixed = _apply(text, _edits_by_uri(resolved.edit)[uri])
    copy = project / "by_cli.py"
    copy.write_text(text, encoding="utf-8")
    _cli("fix", "--no-cache", "by_cli.py", cwd=project)
    assert fixed == copy.read_text(encoding="utf-8")
    assert fixed.count("reset_state()") == 2 and "add_metric" in fixed  # the unsafe fix is not applied


NOTEBOOK_CELLS: Tuple[Tuple[str, str], ...] = (
    ("markdown", "# Training\nA model and its metrics."),
    ("code", "%matplotlib inline\nfrom tensorflow import keras\n!pip list"),
    ("code", "    metric = keras.metrics.Mean()\n    metric.update_state([1.0])"),
    ("markdown", "Reset between datasets:"),
    ("code", "%time metric.update_state([2.0])\nmetric.reset_states()"),
)


def _notebook_json(cells: Sequence[Tuple[str, str]]) -> str:
    return json.dumps({
        "cells": [{"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True),
                   **({"execution_count": None, "outputs": []} if kind == "code" else {})}
                  for kind, source in cells],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }, indent=1) + "\n"


def _open_notebook(client: LanguageClient, path: Path, cells: Sequence[Tuple[str, str]]) -> List[str]:
    path.write_text(_notebook_json(cells), encoding="utf-8")
    uri = path.as_uri()
    cell_uris = [f"vscode-notebook-cell:{path}#cell{index}" for index in range(len(cells))]
    client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(
            uri=uri, notebook_type="jupyter-notebook", version=1,
            cells=[types.NotebookCell(kind=types.NotebookCellKind.Code if kind == "code" else types.NotebookCellKind.Markup,
                                      document=cell_uri) for (kind, _), cell_uri in zip(cells, cell_uris)]),
        cell_text_documents=[types.TextDocumentItem(uri=cell_uri, language_id="python" if kind == "code" else "markdown",
                                                    version=1, text=source)
                             for (kind, source), cell_uri in zip(cells, cell_uris)]))
    return cell_uris


@shared_server
async def test_notebook_diagnostics_are_per_cell_as_the_cli_reports_them(client: RecordingClient, project: Path):
    cell_uris = _open_notebook(client, project / "train.ipynb", NOTEBOOK_CELLS)
    [diagnostic] = await client.diagnostics_for(cell_uris[4], version=1)
    for clean in (cell_uris[1], cell_uris[2]):
        assert await client.diagnostics_for(clean, version=1) == []
    assert not any(params.uri in (cell_uris[0], cell_uris[3]) for params in client.published)  # markdown
    [cli] = json.loads(_cli("check", "--no-cache", "--output-format", "json", "train.ipynb", cwd=project))
    assert cli["cell"] == 5 and cli["code"] == diagnostic.code == "KM103"
    assert (diagnostic.range.start.line + 1, diagnostic.range.start.character + 1) == (cli["location"]["row"],
                                                                                   cli["location"]["column"])
    # the quick fix edits the cell, and the notebook is then what `metriclint fix` writes
    actions = await _actions(client, cell_uris[4], diagnostic.range)
    fix = next(a for a in actions if a.title.startswith("Fix KM103"))
    [(uri, edits)] = _edits_by_uri(fix.edit).items()  # type: ignore[arg-type]
    assert uri == cell_uris[4]
    fixed_cell = _apply(NOTEBOOK_CELLS[4][1], edits)
    _cli("fix", "--no-cache", "train.ipynb", cwd=project)
    written = json.loads((project / "train.ipynb").read_text(encoding="utf-8"))
    assert "".join(written["cells"][4]["source"]) == fixed_cell == "%time metric.update_state([2.0])\nmetric.reset_state()"
    # the edit, sent back as the editor would: the cell is clean
    count = len(client.published)
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(uri=(project / "train.ipynb").as_uri(), version=2),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[
            types.NotebookDocumentCellContentChanges(
                document=types.VersionedTextDocumentIdentifier(uri=cell_uris[4], version=2),
                changes=[types.TextDocumentContentChangeWholeDocument(text=fixed_cell)])]))))
    assert await client.diagnostics_for(cell_uris[4], version=2, after=count) == []


@shared_server
async def test_notebook_noqa_and_fix_all_are_what_the_cli_writes(client: RecordingClient, project: Path):
    cells = NOTEBOOK_CELLS + (("code", "other = keras.metrics.Mean()\n%time other.reset_states()"),)
    notebook = project / "train.ipynb"
    cell_uris = _open_notebook(client, notebook, cells)
    [diagnostic] = await client.diagnostics_for(cell_uris[5], version=1)
    assert diagnostic.range.start.line == 1 and diagnostic.range.start.character == len("%time other.")
    # `# noqa` on a `%time` line: at its end, as `check --add-noqa` puts it
    noqa = next(a for a in await _actions(client, cell_uris[5], diagnostic.range) if "noqa" in a.title)
    suppressed = _apply(cells[5][1], _edits_by_uri(noqa.edit)[cell_uris[5]])  # type: ignore[arg-type]
    _cli("check", "--no-cache", "--add-noqa", "train.ipynb", cwd=project)
    written = json.loads(notebook.read_text(encoding="utf-8"))
    assert suppressed == "".join(written["cells"][5]["source"]) == \
        "other = keras.metrics.Mean()\n%time other.reset_states()  # noqa: KM103"
    # "fix all" from any cell: the whole notebook, as `metriclint fix` writes it
    notebook.write_text(_notebook_json(cells), encoding="utf-8")
    whole = types.Range(start=types.Position(0, 0), end=types.Position(0, 0))
    [action] = await _actions(client, cell_uris[2], whole, only=["notebook.source.fixAll"])
    assert action.kind == "notebook.source.fixAll.metriclint"
    resolved = await client.code_action_resolve_async(action)
    edits = _edits_by_uri(resolved.edit)  # type: ignore[arg-type]
    assert set(edits) == {cell_uris[4], cell_uris[5]}
    _cli("fix", "--no-cache", "train.ipynb", cwd=project)
    written = json.loads(notebook.read_text(encoding="utf-8"))
    for index in (4, 5):
        assert _apply(cells[index][1], edits[cell_uris[index]]) == "".join(written["cells"][index]["source"])
    assert "".join(written["cells"][5]["source"]).endswith("%time other.reset_state()")


@pytest.mark.asyncio
async def test_config_changes_and_client_settings_apply(own_client: RecordingClient, project: Path):
    client = own_client
    (project / "pyproject.toml").write_text(PYPROJECT + 'ignore = ["KM103"]\n', encoding="utf-8")
    uri = _open(client, project / "train.py", BAD)
    assert await client.diagnostics_for(uri, version=1) == []
    # the config changes on disk; the client's file watcher says so
    count = len(client.published)
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=(project / "pyproject.toml").as_uri(), type=types.FileChangeType.Changed)]))
    [diagnostic] = await client.diagnostics_for(uri, version=1, after=count)
    assert diagnostic.code == "KM103"
    # the editor's own settings, on top of the config (as command-line options are)
    count = len(client.published)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"metriclint": {"ignore": ["KM1"]}}))
    assert await client.diagnostics_for(uri, version=1, after=count) == []
    # a bad setting is said, and the others still apply
    count = len(client.published)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"metriclint": {"ignore": ["KM999X"], "targetKeras": "3"}}))
    [diagnostic] = await client.diagnostics_for(uri, version=1, after=count)
    assert diagnostic.code == "KM103"
    await asyncio.wait_for(_until(lambda: any("KM999X" in m.message for m in client.messages)), WAIT)
    # a broken config: the user is told, the server goes on
    count = len(client.published)
    (project / "pyproject.toml").write_text("[tool.metriclint]\nselect = \n", encoding="utf-8")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=(project / "pyproject.toml").as_uri(), type=types.FileChangeType.Changed)]))
    assert await client.diagnostics_for(uri, version=1, after=count) == []
    await asyncio.wait_for(_until(lambda: any("invalid TOML" in m.message for m in client.messages)), WAIT)
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    count = len(client.published)
    _change(client, uri, BAD + "\n", 2)
    assert [d.code for d in await client.diagnostics_for(uri, version=2, after=count)] == ["KM103"]


@pytest.mark.asyncio
async def test_each_file_uses_its_nearest_config_reloaded_when_it_changes(own_client: RecordingClient, project: Path):
    client = own_client
    sub = project / "experiments"
    sub.mkdir()
    (sub / "metriclint.toml").write_text('target-keras = "3"\nignore = ["KM103"]\n', encoding="utf-8")
    top = _open(client, project / "train.py", BAD)
    nested = _open(client, sub / "train.py", BAD)
    assert [d.code for d in await client.diagnostics_for(top, version=1)] == ["KM103"]
    assert await client.diagnostics_for(nested, version=1) == []  # experiments/metriclint.toml ignores it
    # the nearer config is edited and saved in the editor (a client without file watching)
    count = len(client.published)
    (sub / "metriclint.toml").write_text('target-keras = "3"\n', encoding="utf-8")
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=(sub / "metriclint.toml").as_uri())))
    assert [d.code for d in await client.diagnostics_for(nested, version=1, after=count)] == ["KM103"]
    # removed: the file falls back to the root's pyproject.toml, whose change reaches both files
    (sub / "metriclint.toml").unlink()
    (project / "pyproject.toml").write_text(PYPROJECT + 'ignore = ["KM103"]\n', encoding="utf-8")
    count = len(client.published)
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=(sub / "metriclint.toml").as_uri(), type=types.FileChangeType.Deleted),
        types.FileEvent(uri=(project / "pyproject.toml").as_uri(), type=types.FileChangeType.Changed)]))
    assert await client.diagnostics_for(nested, version=1, after=count) == []
    assert await client.diagnostics_for(top, version=1, after=count) == []


@pytest.mark.asyncio
async def test_pulled_settings_go_on_top_of_initialization_options(project: Path):
    """`initializationOptions` (the only settings of VS Code's generic clients), then what the
    client answers `workspace/configuration` with (Neovim's `settings`) or pushes, key by key."""
    client = _make_client()
    client.set_configuration({"extendSelect": ["KM1"]}, section="metriclint")
    await client.start_io(*metriclint_command("server"), env=tree_env())
    try:
        capabilities = _capabilities()  # a client that counts columns in UTF-8 bytes (as Neovim can)
        capabilities.general = types.GeneralClientCapabilities(position_encodings=["utf-8", "utf-16"])
        started = await client.initialize_session(types.InitializeParams(
            capabilities=capabilities, root_uri=project.as_uri(),
            initialization_options={"metriclint": {"ignore": ["KM105"]}}))
        assert started.capabilities.position_encoding == "utf-8"
        text = BAD.replace("metric.reset_states()", 'note = "é😀"; metric.reset_states()') + UNSAFE.replace("import keras\n", "")
        uri = _open(client, project / "train.py", text)
        [diagnostic] = await client.diagnostics_for(uri, version=1)
        assert diagnostic.code == "KM103" and diagnostic.range.start.character == len('note = "é😀"; metric.'.encode())
        count = len(client.published)
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"metriclint": {"ignore": []}}))
        assert [d.code for d in await client.diagnostics_for(uri, version=1, after=count)] == ["KM103", "KM105"]
        await client.shutdown_session()  # shutdown, then exit: the server process ends, exit code 0
        assert client._server is not None and client._server.returncode == 0
    finally:
        await client.stop()


BATCHWISE_F1 = (
    "from keras import backend as K\n\n\n"
    "def f1_m(y_true, y_pred):\n"
    "    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n"
    "    predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))\n"
    "    return true_positives / (predicted_positives + K.epsilon())\n"
)


@shared_server
async def test_project_index_follows_saved_modules(client: RecordingClient, project: Path):
    metrics = project / "metrics.py"
    metrics.write_text(BATCHWISE_F1, encoding="utf-8")
    text = ("from tensorflow import keras\n\nfrom metrics import f1_m\n\n"
            "model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation='sigmoid')])\n"
            "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=[f1_m])\n")
    uri = _open(client, project / "train.py", text)
    [diagnostic] = await client.diagnostics_for(uri, version=1)
    assert diagnostic.code == "KM203"  # what f1_m computes is known only from metrics.py
    # metrics.py is edited in the editor and saved: train.py is checked again against it
    count = len(client.published)
    metrics.write_text("import keras\n\n\ndef f1_m(y_true, y_pred):\n    return keras.ops.mean(y_pred)\n",
                       encoding="utf-8")
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=metrics.as_uri())))
    assert await client.diagnostics_for(uri, version=1, after=count) == []
    # changed on disk by another program (a checkout): the file watcher says so
    count = len(client.published)
    metrics.write_text(BATCHWISE_F1, encoding="utf-8")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=metrics.as_uri(), type=types.FileChangeType.Changed)]))
    assert [d.code for d in await client.diagnostics_for(uri, version=1, after=count)] == ["KM203"]


@shared_server
async def test_stale_versions_are_never_published_after_newer_ones(client: RecordingClient, project: Path):
    uri = _open(client, project / "train.py", BAD)
    await client.diagnostics_for(uri, version=1)
    count = len(client.published)
    for version in range(2, 12):  # typing: one change after another, faster than a check
        _change(client, uri, "x = 1\n" * version + BAD, version)  # the finding moves down a line each time
    [last] = await client.diagnostics_for(uri, version=11, after=count)
    assert last.code == "KM103"
    await asyncio.sleep(0.5)  # anything still in flight would arrive now
    published = [params for params in client.published[count:] if params.uri == uri]
    versions = [params.version for params in published]
    assert versions == sorted(versions) and versions[-1] == 11
    assert len(versions) < 10  # the debounce merged changes that came together
    # each result is published with the version it was computed from
    assert [params.diagnostics[0].range.start.line for params in published] == [4 + v for v in versions]  # type: ignore[operator]


@shared_server
async def test_checks_run_off_the_event_loop_and_a_running_one_is_dropped(client: RecordingClient, project: Path):
    """A change read while an older version is being checked: that older result is never shown.
    (Were checks run on the event loop, the change would be read only after the check, and the old
    result would be published first.)"""
    slow = BAD + "".join(f"m{i} = keras.metrics.Mean()\nm{i}.update_state([{i}.0])\nm{i}.reset_states()\n"
                         for i in range(1000))  # 3,000 lines, 1,001 findings: about a second of checking
    count = len(client.published)
    uri = _open(client, project / "slow.py", slow)
    await asyncio.sleep(0.2)  # its check is running now
    _change(client, uri, GOOD, 2)
    assert await client.diagnostics_for(uri, version=2, after=count) == []
    await asyncio.sleep(0.5)
    assert [params.version for params in client.published[count:] if params.uri == uri] == [2]


@shared_server
async def test_closing_clears_and_other_documents_are_left_alone(client: RecordingClient, project: Path):
    uri = _open(client, project / "train.py", BAD)
    assert len(await client.diagnostics_for(uri, version=1)) == 1
    other = _open(client, project / "notes.txt", BAD, language="plaintext")
    excluded = project / "build"
    excluded.mkdir()
    skipped = _open(client, excluded / "gen.py", BAD)  # `build` is in the default `exclude`
    assert await client.diagnostics_for(skipped, version=1) == []
    count = len(client.published)
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    assert await client.diagnostics_for(uri, after=count) == []
    assert not any(params.uri == other for params in client.published)  # not Python: not checked


@pytest.mark.asyncio
async def test_a_file_that_fails_is_logged_and_skipped(project: Path, tmp_path_factory: pytest.TempPathFactory):
    """A check that raises (here: made to, for files named boom.py) is logged; the other files are
    still checked and the server answers."""
    site = tmp_path_factory.mktemp("site")
    (site / "sitecustomize.py").write_text(
        "import metriclint.engine as engine\n"
        "_real = engine.lint_text\n"
        "def lint_text(text, path, *args, **kwargs):\n"
        "    if path.endswith('boom.py'):\n"
        "        raise RuntimeError('injected failure')\n"
        "    return _real(text, path, *args, **kwargs)\n"
        "engine.lint_text = lint_text\n", encoding="utf-8")
    env = tree_env()
    env["PYTHONPATH"] = f"{env['PYTHONPATH']}:{site}"
    client = _make_client()
    await client.start_io(*metriclint_command("server"), env=env)
    try:
        await _initialize(client, project)
        boom = _open(client, project / "boom.py", BAD)
        await asyncio.wait_for(_until(lambda: any("injected failure" in m.message for m in client.log_messages)), WAIT)
        failure = next(m for m in client.log_messages if "injected failure" in m.message)
        assert failure.type == types.MessageType.Error and "boom.py" in failure.message
        uri = _open(client, project / "train.py", BAD)
        [diagnostic] = await client.diagnostics_for(uri, version=1)
        assert diagnostic.code == "KM103"
        assert await _actions(client, uri, diagnostic.range)  # still answering requests
        assert await _actions(client, boom, diagnostic.range) == []  # nothing to offer for the failed file
        assert not any(params.uri == boom for params in client.published)
        await client.shutdown_session()
    finally:
        await client.stop()


def test_check_never_imports_the_server_and_server_says_what_is_missing(tmp_path: Path):
    """`metriclint check` works without the extra; `metriclint server` says how to get it."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "train.py").write_text(BAD, encoding="utf-8")
    blocker = tmp_path / "site" / "sitecustomize.py"
    blocker.parent.mkdir()
    blocker.write_text(
        "import sys\n"
        "class _Missing:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pygls', 'lsprotocol'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _Missing())\n", encoding="utf-8")
    env = tree_env()
    env["PYTHONPATH"] = f"{env['PYTHONPATH']}:{blocker.parent}"
    probe = ("import runpy, sys\nsys.argv = ['metriclint', 'check', '--no-cache', 'train.py']\n"
             "try:\n    runpy.run_module('metriclint', run_name='__main__')\nexcept SystemExit as exit:\n"
             "    print('exit', exit.code, sorted(m for m in sys.modules if m.startswith(('pygls', 'metriclint.server'))))\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "KM103" in done.stdout and done.stdout.strip().endswith("exit 1 []"), done.stdout + done.stderr
    served = subprocess.run(metriclint_command("server"), cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    assert served.returncode == 2
    assert served.stderr.strip() == ("metriclint: error: `metriclint server` needs the `server` extra: "
                                     "pip install 'metriclint[server]' (cannot import pygls)"), served.stderr


def test_server_subcommand_is_listed(tmp_path: Path):
    listing = _cli("--help", cwd=tmp_path)
    assert any(line.split()[:1] == ["server"] and "language server" in line for line in listing.splitlines())


# --- the pure parts, without a client ---------------------------------------------------------------
def test_positions_count_code_units_of_the_negotiated_encoding():
    from metriclint.server.convert import DocumentText

    text = 'x = "é😀"; y\r\nz\rw\n'
    for encoding, units in (("utf-32", 10), ("utf-16", 11), ("utf-8", 14)):
        document = DocumentText(text, encoding)
        assert document.position(1, 11) == types.Position(line=0, character=units)  # `y`
        assert document.offset(types.Position(line=0, character=units)) == 10
        assert document.position(2, 1) == types.Position(line=1, character=0)  # after \r\n
        assert document.position(3, 1) == types.Position(line=2, character=0)  # after a lone \r, as Python and LSP count
        assert document.offset(types.Position(line=2, character=0)) == text.index("w")
        assert document.position(9, 9) == types.Position(line=3, character=0)  # past the end: clamped
    assert DocumentText(text, types.PositionEncodingKind.Utf8).position(1, 11).character == 14


def test_edits_of_a_changed_text_touch_only_what_changed():
    from metriclint.engine import apply_edits
    from metriclint.server.checking import text_edits

    old = "a = 1\nmetric.reset_states()\nb = 2\n"
    new = old.replace("reset_states", "reset_state") + "c = 3\n"
    edits = text_edits(old, new)
    assert apply_edits(old, edits) == new
    assert [(old[e.start:e.end], e.content) for e in edits] == [("s", ""), ("", "c = 3\n")]
    assert text_edits(old, old) == []


def test_editor_settings_are_read_like_command_line_options():
    from metriclint.server.config import client_settings

    settings = client_settings({"select": ["km1"], "extendSelect": "KM2, KM3", "ignore": ["KM105"],
                                "targetKeras": 2})
    assert settings.problems == ()
    overrides = settings.overrides
    assert (overrides.select, overrides.extend_select, overrides.ignore, overrides.target_keras) == (
        ("KM1",), ("KM2", "KM3"), ("KM105",), "2")
    bad = client_settings({"ignore": ["E999"], "targetKeras": "4", "colour": "red", "select": ["KM1"]})
    assert bad.overrides.select == ("KM1",) and bad.overrides.ignore == () and bad.overrides.target_keras is None
    assert len(bad.problems) == 3 and any("E999" in p and "cannot be ignored" in p for p in bad.problems)
    assert client_settings(None).overrides == client_settings({}).overrides
