"""Find the files to lint: walk directories, honour `.gitignore` and `exclude`, follow symlinks once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import pathspec

from .settings import Settings, SettingsResolver

PYTHON_SUFFIXES = (".py", ".pyi")
NOTEBOOK_SUFFIX = ".ipynb"


@dataclass
class Discovery:
    files: List[str] = field(default_factory=list)
    problems: List[Tuple[str, str]] = field(default_factory=list)  # (path, reason): reported as E902
    missing: List[str] = field(default_factory=list)  # paths that do not exist: usage errors


def _wanted(name: str, settings: Settings) -> bool:
    return name.endswith(PYTHON_SUFFIXES) or (settings.include_notebooks and name.endswith(NOTEBOOK_SUFFIX))


def _rel(path: str, root: str) -> str:
    rel = os.path.relpath(os.path.abspath(path), root)
    return rel.replace(os.sep, "/")


_EXCLUDE_SPECS: Dict[Tuple[str, ...], pathspec.PathSpec] = {}


def _exclude_spec(settings: Settings) -> pathspec.PathSpec:
    patterns = settings.exclude + settings.extend_exclude
    spec = _EXCLUDE_SPECS.get(patterns)
    if spec is None:
        spec = _EXCLUDE_SPECS[patterns] = pathspec.PathSpec.from_lines("gitwildmatch", patterns)
    return spec


def is_excluded(path: str, settings: Settings, is_dir: bool = False) -> bool:
    rel = _rel(path, settings.root)
    if rel.startswith("../"):
        rel = os.path.basename(os.path.abspath(path))  # outside the project: match on the name
    return _exclude_spec(settings).match_file(rel + ("/" if is_dir else ""))


def _git_root(start: str) -> Optional[str]:
    current = os.path.abspath(start)
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


class _Gitignores:
    """`.gitignore` files from the git root down to the directory being walked."""

    def __init__(self) -> None:
        self._specs: Dict[str, Optional[pathspec.PathSpec]] = {}

    def _spec(self, directory: str) -> Optional[pathspec.PathSpec]:
        if directory not in self._specs:
            path = os.path.join(directory, ".gitignore")
            spec = None
            if os.path.isfile(path):
                try:
                    with open(path, encoding="utf-8", errors="replace") as handle:
                        spec = pathspec.PathSpec.from_lines("gitwildmatch", handle)
                except OSError:
                    spec = None
            self._specs[directory] = spec
        return self._specs[directory]

    def ignored(self, path: str, is_dir: bool, top: str) -> bool:
        path = os.path.abspath(path)
        directory = os.path.dirname(path)
        while True:
            spec = self._spec(directory)
            if spec is not None:
                rel = os.path.relpath(path, directory).replace(os.sep, "/") + ("/" if is_dir else "")
                if spec.match_file(rel):
                    return True
            if directory == top or os.path.dirname(directory) == directory:
                return False
            directory = os.path.dirname(directory)


def discover(paths: List[str], resolver: SettingsResolver, force_exclude: bool = False) -> Discovery:
    result = Discovery()
    seen: Set[str] = set()
    gitignores = _Gitignores()

    def add(path: str) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            result.files.append(path)

    for given in paths:
        if not os.path.lexists(given):
            result.missing.append(given)
            continue
        if os.path.islink(given) and not os.path.exists(given):
            result.problems.append((given, _link_problem(given)))
            continue
        if os.path.isdir(given):
            _walk(given, resolver, gitignores, result, add)
            continue
        settings = resolver.for_file(given)
        if force_exclude and is_excluded(given, settings):
            continue
        add(given)  # explicitly named files are always read
    return result


def _link_problem(path: str) -> str:
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            return "symlink loop; not followed"
        return f"broken symlink ({exc.strerror})"
    return "broken symlink"


def _walk(top: str, resolver: SettingsResolver, gitignores: _Gitignores, result: Discovery, add) -> None:
    git_top = _git_root(top) or os.path.abspath(top)
    # Directories on the current path (by device and inode): a symlink back to one is a loop.
    def visit(directory: str, ancestors: Tuple[Tuple[int, int], ...]) -> None:
        try:
            st = os.stat(directory)
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            result.problems.append((directory, f"cannot read directory: {exc.strerror or exc}"))
            return
        ident = (st.st_dev, st.st_ino)
        if ident in ancestors:
            result.problems.append((directory, "symlink loop; not followed"))
            return
        ancestors = ancestors + (ident,)
        settings = resolver.for_directory(directory)
        for entry in entries:
            path = os.path.normpath(entry.path)  # `./a.py` -> `a.py`, as users write it
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:
                is_dir = False
            if entry.is_symlink() and not os.path.exists(path):
                if _wanted(entry.name, settings) or "loop" in _link_problem(path):
                    result.problems.append((path, _link_problem(path)))
                continue
            if is_dir:
                if is_excluded(path, settings, is_dir=True):
                    continue
                if settings.respect_gitignore and gitignores.ignored(path, True, git_top):
                    continue
                visit(path, ancestors)
            elif _wanted(entry.name, settings):
                if is_excluded(path, settings):
                    continue
                if settings.respect_gitignore and gitignores.ignored(path, False, git_top):
                    continue
                add(path)

    visit(top, ())
