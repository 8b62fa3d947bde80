"""A content-addressed cache of check results: plain JSON, never code.

Key: metriclint's version, the settings that change results, the per-file ignores, the
file kind, and the SHA-256 of the file's bytes. Value: the diagnostics as JSON. An entry
that does not have the expected shape is ignored (and recomputed), so a corrupt or
tampered cache can only cost time. The directory holds a `.gitignore` of `*`.
"""

from __future__ import annotations

import json
import os
import stat
import time
from functools import lru_cache
from typing import Any, Dict, List, Optional

from . import __version__
from .diagnostics import Diagnostic

CACHE_DIR = ".metriclint_cache"
MAX_ENTRIES = 50_000


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The version plus the size and mtime of metriclint's own modules, so results computed by
    other code (an edited checkout, an upgrade without a version bump) are never reused; and the
    Python and libcst versions, which decide what parses (E999, E903)."""
    import hashlib
    import sys

    package = os.path.dirname(os.path.abspath(__file__))
    parts = [__version__, sys.version, _libcst_version()]
    for directory, _, names in sorted(os.walk(package)):
        for name in sorted(names):
            if name.endswith(".py"):
                st = os.stat(os.path.join(directory, name))
                parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _libcst_version() -> str:
    """libcst's version, read from its package without importing it (a cache hit never needs it)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("libcst")
        if spec is None or spec.origin is None:
            return ""
        with open(os.path.join(os.path.dirname(spec.origin), "_version.py"), encoding="utf-8") as handle:
            return handle.read()
    except (OSError, ImportError, ValueError):
        return ""


class ResultCache:
    def __init__(self, root: str) -> None:
        self.directory = os.path.join(root, CACHE_DIR)
        self.path = os.path.join(self.directory, f"v{__version__}", "results.json")
        self._entries: Dict[str, Dict[str, Any]] = self._load()
        self._dirty = False

    def _load(self) -> Dict[str, Dict[str, Any]]:
        # Not through a symlink, and never blocking on a FIFO put in its place.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self.path, flags)
        except OSError:
            return {}
        try:
            with os.fdopen(fd, encoding="utf-8") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    return {}
                data = json.load(handle)
        except (OSError, ValueError, RecursionError):  # unreadable, not JSON, nested to exhaust the stack
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def key(raw: bytes, settings_key: str, ignored: List[str], kind: str) -> str:
        import hashlib

        digest = hashlib.sha256()
        digest.update(f"{code_fingerprint()}\0{settings_key}\0{','.join(sorted(ignored))}\0{kind}\0".encode())
        digest.update(raw)
        return digest.hexdigest()

    def get(self, key: str) -> Optional[List[Diagnostic]]:
        entry = self._entries.get(key)
        if not isinstance(entry, dict):
            return None
        try:
            diagnostics = [Diagnostic.from_json(d) for d in entry["diagnostics"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            self._entries.pop(key, None)  # corrupt or tampered: recompute
            return None
        entry["used"] = time.time()
        self._dirty = True
        return diagnostics

    def put(self, key: str, diagnostics: List[Diagnostic]) -> None:
        self._entries[key] = {"diagnostics": [d.to_json() for d in diagnostics], "used": time.time()}
        self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        # Merge with what other runs saved meanwhile (a pre-commit hook and an editor, say).
        entries = {**self._load(), **self._entries}
        if len(entries) > MAX_ENTRIES:
            keep = sorted(entries, key=lambda k: _last_used(entries[k]))
            entries = {k: entries[k] for k in keep[-MAX_ENTRIES:]}
        try:
            folder = os.path.dirname(self.path)
            if not (_real_directory(self.directory) and _real_directory(folder)):
                return  # a symlinked cache would write outside the project: go without
            _create_exclusive(os.path.join(self.directory, ".gitignore"),
                              "# Created by metriclint; the cache is safe to delete (`metriclint clean`).\n*\n")
            import tempfile

            fd, tmp = tempfile.mkstemp(prefix=".results-", suffix=".tmp", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(entries, handle, separators=(",", ":"))
                os.replace(tmp, self.path)  # replaces a symlink named results.json, never its target
            finally:  # an error or Ctrl-C between the two leaves no temporary file behind
                if os.path.lexists(tmp):
                    os.unlink(tmp)
        except OSError:
            pass  # a cache that cannot be written only costs time next run


def write_json_atomic(location: str, data: Any) -> None:
    """Write JSON through a temporary file and a rename, into real directories of the cache only
    (made as needed; a symlink anywhere on the way means: go without). Errors only cost time."""
    import tempfile

    folder = os.path.dirname(location)
    chain = []
    current = folder
    while os.path.basename(current) != CACHE_DIR:
        if os.path.dirname(current) == current:
            return  # not inside a metriclint cache: never written
        chain.append(current)
        current = os.path.dirname(current)
    chain.append(current)
    try:
        for directory in reversed(chain):
            if not _real_directory(directory):
                return
        _create_exclusive(os.path.join(current, ".gitignore"),
                          "# Created by metriclint; the cache is safe to delete (`metriclint clean`).\n*\n")
        fd, tmp = tempfile.mkstemp(prefix=".summary-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, separators=(",", ":"))
            os.replace(tmp, location)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
    except OSError:
        pass


def _last_used(entry: Any) -> float:
    used = entry.get("used") if isinstance(entry, dict) else None
    if isinstance(used, bool):
        return 0.0
    try:
        return float(used)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # a damaged entry sorts first: it goes first
        return 0.0


def _real_directory(path: str) -> bool:
    """Make `path` a directory if it is missing; False when it is a symlink or not a directory."""
    if not os.path.lexists(path):
        os.mkdir(path)
    return not os.path.islink(path) and os.path.isdir(path)


def _create_exclusive(path: str, text: str) -> None:
    """Write a new file, never through a symlink; an existing file (or link) is left as it is."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def clean(root: str) -> bool:
    """Remove the cache directory under `root`; True when there was one."""
    import shutil

    directory = os.path.join(root, CACHE_DIR)
    if os.path.islink(directory):
        os.unlink(directory)  # the link only: what it points at is not ours
        return True
    if not os.path.isdir(directory):
        return False
    shutil.rmtree(directory)
    return True
