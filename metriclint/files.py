"""Find the files to lint: walk directories, honour `.gitignore` and `exclude`, follow symlinks once."""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple

if TYPE_CHECKING:  # pragma: no cover
    import pathspec

from .settings import ConfigError, Settings, SettingsResolver

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


def _spec(lines: List[str]) -> pathspec.PathSpec:
    import pathspec  # imported here: checking named files (pre-commit) needs no pattern

    return pathspec.GitIgnoreSpec.from_lines(lines)


_EXCLUDE_SPECS: Dict[Tuple[str, ...], pathspec.PathSpec] = {}


def _exclude_spec(settings: Settings) -> pathspec.PathSpec:
    patterns = settings.exclude + settings.extend_exclude
    spec = _EXCLUDE_SPECS.get(patterns)
    if spec is None:
        normalised = [_normalise(pattern) for pattern in patterns]
        for pattern, line in zip(patterns, normalised):
            if _bad_pattern(line):
                where = f" in {settings.config_path}" if settings.config_path else ""
                why = f"more than {MAX_WILDCARDS} `*`" if _wildcards(line) > MAX_WILDCARDS else "invalid pattern"
                raise ConfigError(f"`exclude`/`extend-exclude`{where}: {why} {pattern!r}")
        spec = _EXCLUDE_SPECS[patterns] = _spec(normalised)
    return spec


# pathspec turns each `*` into `[^/]*`; Python's regex engine backtracks over them, so a pattern
# such as `a**********z` or `*a*a*a*a*a*a*b` takes minutes to reject one file name. Runs of stars
# inside a segment mean one star (git's rule), so they are collapsed; patterns with more stars
# than this are not used.
MAX_WILDCARDS = 4
_STARS = re.compile(r"\*{2,}")


def _normalise(line: str) -> str:
    """`a***b` -> `a*b` (the same set of names); a whole segment of stars stays `**`."""
    def collapse(match: "re.Match[str]") -> str:
        before = line[match.start() - 1] if match.start() > 0 else "/"
        after = line[match.end()] if match.end() < len(line) else "/"
        return "**" if before == "/" and after == "/" else "*"

    return _STARS.sub(collapse, line) if "**" in line else line


def _wildcards(line: str) -> int:
    return sum(1 for segment in line.split("/") if segment != "**" for _ in range(segment.count("*")))


def _bad_pattern(line: str) -> bool:
    """Whether the line cannot be used: pathspec rejects it (`!` alone, a trailing backslash,
    ...) or it has so many wildcards that matching could take minutes."""
    if _wildcards(line) > MAX_WILDCARDS:
        return True
    try:
        _spec([line])
    except ValueError:
        return True
    return False


def _gitignore_spec(lines: List[str]) -> pathspec.PathSpec:
    """As git reads a `.gitignore`, except that a line that is not a usable pattern is skipped."""
    lines = [_normalise(line) for line in lines]
    return _spec([line for line in lines if not _bad_pattern(line)])


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


def _check(spec: pathspec.PathSpec, rel: str) -> Tuple[Optional[bool], Optional[int]]:
    """(verdict, index of the deciding pattern): True ignored, False re-included by `!pattern`, None no match."""
    check = getattr(spec, "check_file", None)
    if check is not None:
        result = check(rel)
        return result.include, result.index
    verdict, index = None, None  # pathspec < 0.12: the last matching pattern decides
    for position, pattern in enumerate(spec.patterns):
        if pattern.include is not None and pattern.match_file(rel) is not None:
            verdict, index = pattern.include, position
    return verdict, index


def _verdict(spec: pathspec.PathSpec, rel: str) -> Optional[bool]:
    return _check(spec, rel)[0]


class _Gitignores:
    """`.gitignore` files from the git root down to the directory being walked, as git reads them.

    The deepest `.gitignore` with a matching pattern decides (so a `!keep.py` next to the file
    re-includes what a parent ignores); `.git/info/exclude` comes last.
    """

    def __init__(self) -> None:
        self._specs: Dict[str, Optional[pathspec.PathSpec]] = {}

    def _load(self, path: str) -> Optional[pathspec.PathSpec]:
        if path not in self._specs:
            spec = None
            if os.path.isfile(path):
                try:
                    with open(path, encoding="utf-8", errors="replace") as handle:
                        spec = _gitignore_spec(handle.read().splitlines())
                except OSError:
                    spec = None
            self._specs[path] = spec
        return self._specs[path]

    def ignored(self, path: str, is_dir: bool, top: str, given: Optional[str] = None) -> bool:
        """Whether git ignores `path` (`top`: the git root; `given`: the directory the user named).

        A directory the user names is walked even when git ignores it (as ruff does): patterns
        that only match what is inside it because they match the directory itself are skipped.
        """
        path = os.path.abspath(path)
        given = os.path.abspath(given) if given is not None else None
        suffix = "/" if is_dir else ""

        def decide(spec: pathspec.PathSpec, base: str) -> Optional[bool]:
            verdict, index = _check(spec, os.path.relpath(path, base).replace(os.sep, "/") + suffix)
            if verdict and given is not None and given != base and _inside(given, base):
                given_verdict, given_index = _check(spec, os.path.relpath(given, base).replace(os.sep, "/") + "/")
                if given_verdict and given_index == index:
                    return None  # only ignored as part of the directory the user named
            return verdict

        directory = os.path.dirname(path)
        while True:
            spec = self._load(os.path.join(directory, ".gitignore"))
            if spec is not None:
                verdict = decide(spec, directory)
                if verdict is not None:
                    return verdict
            if directory == top or os.path.dirname(directory) == directory:
                break
            directory = os.path.dirname(directory)
        spec = self._load(os.path.join(top, ".git", "info", "exclude"))
        if spec is not None:
            return bool(decide(spec, top))
        return False


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


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
        if exc.errno == errno.ELOOP:
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
                if settings.respect_gitignore and gitignores.ignored(path, True, git_top, top):
                    continue
                visit(path, ancestors)
            elif _wanted(entry.name, settings):
                try:
                    if not entry.is_file():  # FIFOs, sockets, devices: reading could block forever
                        continue
                except OSError:
                    continue
                if is_excluded(path, settings):
                    continue
                if settings.respect_gitignore and gitignores.ignored(path, False, git_top, top):
                    continue
                add(path)

    visit(top, ())
