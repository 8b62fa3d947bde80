"""The server's state and its one worker: what is open, what was published, the settings, the project.

Checks run off the event loop in one worker thread (the engine is CPU-bound; one thread keeps
the project index and the settings cache free of races), so the editor's messages are always
read. Changes are debounced on both edges: a change after a quiet moment is checked at once
(typing, one key at a time), changes that follow each other within `DEBOUNCE_SECONDS` (key
repeat, a burst of edits) are checked once, that long after the last of them. A newer version of
a document cancels the check of the older one, or drops its result when it is already running,
so at most one check per document runs and one waits. A document that fails is logged and skipped.
"""

from __future__ import annotations

import asyncio
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Mapping, Optional, Set, TypeVar

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.lsp.server import LanguageServer

from ..project.index import ProjectIndex
from ..runner import no_cycle_collection
from ..settings import ConfigError, SettingsResolver
from . import documents
from .checking import CheckResult, check
from .config import ClientSettings, client_settings, resolver, section
from .convert import DocumentText, diagnostic, encoding_name
from .documents import NotebookSnapshot, Snapshot

# Changes closer together than this are a burst, checked once after its last change. Key repeat
# sends one every ~33 ms; people type a key every 100-300 ms, and each of those is checked at once.
DEBOUNCE_SECONDS = 0.05
T = TypeVar("T")


@dataclass
class Tracked:
    """One open document (a notebook for its cells)."""

    pending: Optional["asyncio.Task[None]"] = None
    changed_at: float = float("-inf")  # event-loop time of the last change
    result: Optional[CheckResult] = None  # the last one published
    published: FrozenSet[str] = field(default_factory=frozenset)  # uris that were sent diagnostics


class Session:
    def __init__(self, server: LanguageServer) -> None:
        self.server = server
        self.client = ClientSettings()
        self.resolver: SettingsResolver = resolver(self.client)
        self.project = ProjectIndex()  # in memory only: the editor never writes into the project
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metriclint-check")
        self.tracked: Dict[str, Tracked] = {}
        self._said: Set[str] = set()  # messages shown to the user (each once until settings change)
        self._initial: Dict[str, Any] = {}  # the editor's settings from initializationOptions
        self._latest: Dict[str, Any] = {}  # and from its configuration since

    # --- the client ---------------------------------------------------------------------------
    @property
    def encoding(self) -> str:
        return encoding_name(self.server.workspace.position_encoding)

    def supports(self, capability: str) -> bool:
        return bool(get_capability(self.server.client_capabilities, capability, False))

    def resolves_edits(self) -> bool:
        properties = get_capability(self.server.client_capabilities, "text_document.code_action.resolve_support.properties", [])
        return "edit" in (properties or [])

    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self.server.window_log_message(types.LogMessageParams(type=kind, message=message))

    def say_once(self, message: str, kind: types.MessageType) -> None:
        """Show a message to the user once (and log it)."""
        self.log(message, kind)
        if message not in self._said:
            self._said.add(message)
            self.server.window_show_message(types.ShowMessageParams(type=kind, message=message))

    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """A failure in handling one message is logged; the server goes on."""
        try:
            yield
        except Exception:
            self.log(f"metriclint: {what} failed:\n{traceback.format_exc(limit=-4)}", types.MessageType.Error)

    # --- settings -----------------------------------------------------------------------------
    def apply_settings(self, raw: Any, recheck: bool = True, initial: bool = False) -> None:
        """The editor's settings: `initializationOptions` (`initial`), then what it sends or answers
        later, key by key on top of them (None: nothing new)."""
        raw = section(raw)
        if raw is None:
            return
        if not isinstance(raw, Mapping):
            self.say_once(f"metriclint: settings must be an object, not {type(raw).__name__}", types.MessageType.Warning)
            return
        if initial:
            self._initial = dict(raw)
        else:
            self._latest = dict(raw)
        settings = client_settings({**self._initial, **self._latest})
        for problem in settings.problems:
            self.say_once(f"metriclint: setting not used: {problem}", types.MessageType.Warning)
        if settings.overrides != self.client.overrides:
            self.client = settings
            self.reload(recheck)

    def reload(self, recheck: bool = True) -> None:
        """Read configs and the project again (a config, a dependency file or the editor's settings changed)."""
        self.resolver = resolver(self.client)
        self.project = ProjectIndex()
        self._said.clear()
        if recheck:
            self.schedule_all(DEBOUNCE_SECONDS)

    def refresh_project(self) -> None:
        """A module of the project changed on disk: what other documents import may have changed."""
        self.project = ProjectIndex()
        self.schedule_all(DEBOUNCE_SECONDS)

    # --- checking -----------------------------------------------------------------------------
    def schedule(self, uri: str, delay: float) -> None:
        """Check the document at `uri` (as it will be after `delay`) and publish, replacing a
        check of an older version that is still waiting or running."""
        tracked = self.tracked.setdefault(uri, Tracked())
        if tracked.pending is not None:
            tracked.pending.cancel()
        tracked.pending = asyncio.get_running_loop().create_task(self._check_and_publish(uri, delay))

    def changed(self, uri: str) -> None:
        """The document at `uri` changed: check it now, or after the burst it is part of."""
        tracked = self.tracked.setdefault(uri, Tracked())
        now = asyncio.get_running_loop().time()
        burst = now - tracked.changed_at < DEBOUNCE_SECONDS
        tracked.changed_at = now
        self.schedule(uri, DEBOUNCE_SECONDS if burst else 0)

    def schedule_all(self, delay: float) -> None:
        for uri in list(self.tracked):
            self.schedule(uri, delay)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in the worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, _paused_collection, function, args)

    def snapshot(self, uri: str) -> Optional[Snapshot]:
        return documents.snapshot(self.server.workspace, uri)

    async def check(self, snapshot: Snapshot) -> Optional[CheckResult]:
        """The snapshot checked in the worker; None (and the user told) when its config is broken."""
        try:
            return await self.run(_check, snapshot, self.resolver, self.project)
        except ConfigError as exc:
            self.say_once(f"metriclint: {exc}", types.MessageType.Error)
            return None

    async def current(self, uri: str) -> Optional[CheckResult]:
        """The result for the document as it is now: the published one, or a new check."""
        tracked = self.tracked.get(uri)
        version = documents.current_version(self.server.workspace, uri)
        if tracked is not None and tracked.result is not None and tracked.result.version == version:
            return tracked.result
        snapshot = self.snapshot(uri)
        return await self.check(snapshot) if snapshot is not None else None

    async def _check_and_publish(self, uri: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        snapshot = self.snapshot(uri)
        if snapshot is None:
            return
        try:
            result = await self.check(snapshot)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.log(f"metriclint: checking {snapshot.path} failed; it is skipped:\n"
                     f"{traceback.format_exc(limit=-4)}", types.MessageType.Error)
            return
        if documents.current_version(self.server.workspace, uri) != snapshot.version:
            return  # a newer version arrived meanwhile: its own check publishes
        self.publish(uri, result, snapshot)

    def publish(self, uri: str, result: Optional[CheckResult], snapshot: Snapshot) -> None:
        """Send the diagnostics of every document the snapshot shows (each cell of a notebook), and
        empty lists where earlier ones are gone (None: the document could not be checked)."""
        tracked = self.tracked.setdefault(uri, Tracked())
        grouped: Dict[str, List[types.Diagnostic]] = {}
        versions: Dict[str, Optional[int]] = {}
        texts: Dict[str, DocumentText] = {}
        if isinstance(snapshot, NotebookSnapshot):
            for cell in snapshot.code_cells():
                grouped[cell.uri], versions[cell.uri] = [], cell.version
                texts[cell.uri] = DocumentText(cell.text or "", self.encoding)
        else:
            grouped[snapshot.uri], versions[snapshot.uri] = [], snapshot.version
            texts[snapshot.uri] = DocumentText(snapshot.text, self.encoding)
        for finding in result.findings if result is not None else ():
            if finding.uri in grouped:
                grouped[finding.uri].append(diagnostic(finding.shown, texts[finding.uri]))
        for gone in tracked.published - set(grouped):
            grouped[gone], versions[gone] = [], None
        for target, items in grouped.items():
            self.server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=target, diagnostics=items, version=versions[target]))
        tracked.result = result
        tracked.published = frozenset(target for target, items in grouped.items() if versions[target] is not None)

    def forget(self, uri: str, shown: Optional[List[str]] = None) -> None:
        """A document was closed: stop checking it and clear what was shown for it."""
        tracked = self.tracked.pop(uri, None)
        if tracked is None:
            return
        if tracked.pending is not None:
            tracked.pending.cancel()
        for target in sorted(tracked.published | set(shown or ())):
            self.server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=target, diagnostics=[]))

    def close(self) -> None:
        for tracked in self.tracked.values():
            if tracked.pending is not None:
                tracked.pending.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)


def _check(snapshot: Snapshot, settings: SettingsResolver, project: ProjectIndex) -> CheckResult:
    return check(snapshot, settings.for_file(snapshot.path), project)


def _paused_collection(function: Callable[..., T], args: Any) -> T:
    with no_cycle_collection():  # as the CLI does per file: the cycle collector costs a quarter of a check
        return function(*args)
