"""The project's other modules: found from a file's place, summarised once, cached as JSON.

A file's imports are looked up where Python would find them when the project runs: the file's
own directory (a script's `sys.path[0]`), the directory above its top package, and the project
root (the config file's directory, the directory that declares dependencies) with its `src/`.
Only `.py` files under those are modules of the project; notebooks are not import targets, and
nothing is imported or run. A module that cannot be found, read or parsed is unknown.

Linting a file is a function of its text, the settings and the summaries of the project modules
it imports. Those summaries depend on the modules' text and, in turn, on what they import; the
`dependency_key` of a file hashes that closure (read off its import lines, without parsing), so
a result or summary cached under it is reused exactly when nothing it depends on changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..source import SourceError, read_source
from . import specs

_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(.*)|import[ \t]+(.*))$", re.M)
_NOT_PROJECT = frozenset({"keras", "tensorflow", "tf_keras", "numpy", "os", "sys", "typing", "__future__"})
_MAX_ALIAS_HOPS = 8
SUMMARY_FORMAT = 1  # bump when what a summary holds changes


class ProjectIndex:
    """Every lookup of one process, memoised: module files by search path, summaries by file."""

    def __init__(self, cache_dir: Optional[str] = None) -> None:
        self.cache_dir = cache_dir  # where summaries are stored as JSON (None: not stored)
        self._summaries: Dict[tuple, Optional[specs.ModuleSummary]] = {}
        self._busy: Set[tuple] = set()
        self._texts: Dict[str, Optional[str]] = {}
        self._keys: Dict[Tuple[str, Tuple[str, ...]], str] = {}
        self._found: Dict[Tuple[Tuple[str, ...], str], Optional[str]] = {}
        self._imports: Dict[Tuple[str, Tuple[str, ...]], List[str]] = {}
        self._roots: Dict[Tuple[str, str], Tuple[str, ...]] = {}

    def view(self, path: str, settings) -> "ProjectView":
        """The project as the file at `path` (checked with `settings`) sees it."""
        return ProjectView(self, path, self.roots(path, settings.root), settings.flavour)

    def roots(self, path: str, config_root: str) -> Tuple[str, ...]:
        """The project roots for a file: its config file's directory and the nearest directory
        above it that declares dependencies (when there is one)."""
        directory = os.path.dirname(os.path.abspath(path))
        key = (directory, config_root)
        if key not in self._roots:
            from ..flavour import project_dir

            found = [os.path.abspath(config_root)]
            declared = project_dir(directory)
            if declared is not None and declared not in found:
                found.append(declared)
            self._roots[key] = tuple(found)
        return self._roots[key]

    # --- where modules are -----------------------------------------------------------------
    def search_path(self, path: str, roots: Iterable[str] = ()) -> Tuple[str, ...]:
        """The directories absolute imports of the file at `path` are looked up in, in order."""
        directory = os.path.dirname(os.path.abspath(path))
        found = [directory]
        package = directory
        while os.path.isfile(os.path.join(package, "__init__.py")):
            package = os.path.dirname(package)
        found.append(package)
        for root in roots:
            root = os.path.abspath(root)
            found += [root, os.path.join(root, "src")]
        out: List[str] = []
        for entry in found:
            if entry not in out and os.path.isdir(entry):
                out.append(entry)
        return tuple(out)

    def module_file(self, parts: Sequence[str], search: Sequence[str]) -> Optional[str]:
        """`a/b/c.py` or `a/b/c/__init__.py` under the first search directory that has it."""
        key = (tuple(search), ".".join(parts))
        if key not in self._found:
            self._found[key] = None
            if parts and parts[0] not in _NOT_PROJECT and all(p.isidentifier() for p in parts):
                for directory in search:
                    base = os.path.join(directory, *parts)
                    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
                        if os.path.isfile(candidate):
                            self._found[key] = os.path.abspath(candidate)
                            break
                    if self._found[key] is not None:
                        break
        return self._found[key]

    def resolve(self, dotted: str, importer: str, search: Sequence[str]) -> Optional[Tuple[str, List[str]]]:
        """(the module file, the member path in it) a dotted name of `importer`'s imports names:
        `models.build_model` -> (`.../models.py`, ["build_model"]); relative names from the
        importer's directory (`.metrics.f1_m`, `..config.X`)."""
        if dotted.startswith("."):
            level = len(dotted) - len(dotted.lstrip("."))
            base = os.path.dirname(os.path.abspath(importer))
            for _ in range(level - 1):
                base = os.path.dirname(base)
            parts = [p for p in dotted[level:].split(".") if p]
            search = (base,)
        else:
            parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            found = self.module_file(parts[:cut], search)
            if found is not None and found != os.path.abspath(importer):
                return found, parts[cut:]
        return None

    # --- summaries ---------------------------------------------------------------------------
    def lookup(self, dotted: str, importer: str, roots: Tuple[str, ...], flavour: str,
               hops: int = 0) -> Optional[Tuple[specs.Export, str]]:
        """The export a dotted name of `importer`'s names, following re-exports (`from .models
        import build_model` in a package's `__init__.py`)."""
        found = self.resolve(dotted, importer, self.search_path(importer, roots))
        if found is None or len(found[1]) != 1:
            return None
        path, (member,) = found
        summary = self.summary(path, roots, flavour)
        export = summary.exports.get(member) if summary is not None else None
        if export is None:
            return None
        if export.kind == specs.ALIAS and export.target:
            if hops >= _MAX_ALIAS_HOPS:
                return None
            return self.lookup(export.target, path, roots, flavour, hops + 1)
        return export, summary.module  # type: ignore[union-attr]

    def summary(self, path: str, roots: Tuple[str, ...], flavour: str) -> Optional[specs.ModuleSummary]:
        """The module's summary: from memory, from the store, or computed (None while it is being
        computed further up an import cycle, or when the file cannot be read)."""
        key = (path, roots, flavour)
        if key in self._summaries:
            return self._summaries[key]
        if key in self._busy:
            return None
        text = self._text(path)
        if text is None:
            self._summaries[key] = None
            return None
        stored = self._load(path, roots, flavour)
        if stored is not None:
            self._summaries[key] = stored
            return stored
        self._busy.add(key)
        try:
            from .summary import module_flavour, summarize_module

            view = ProjectView(self, path, roots, flavour)
            name = os.path.splitext(os.path.basename(path))[0]
            result = summarize_module(text, name, path, view, module_flavour(text, flavour))
        finally:
            self._busy.discard(key)
        self._summaries[key] = result
        self._store(path, roots, flavour, result)
        return result

    def _text(self, path: str) -> Optional[str]:
        if path not in self._texts:
            try:
                self._texts[path] = read_source(path).text
            except (SourceError, OSError):
                self._texts[path] = None
        return self._texts[path]

    # --- what a file depends on ----------------------------------------------------------------
    def imported_modules(self, path: str, roots: Tuple[str, ...], text: Optional[str] = None) -> List[str]:
        """The project module files a file's import lines name (read without parsing: an import
        inside a string is counted too, which can only cost a re-check)."""
        key = (os.path.abspath(path), roots)
        if key not in self._imports:
            text = self._text(path) if text is None else text
            search = self.search_path(path, roots)
            found: Set[str] = set()
            for dotted in _imported_names(text or ""):
                hit = self.resolve(dotted + ".*", path, search)  # the module itself, or the module of a member
                if hit is not None:
                    found.add(hit[0])
            self._imports[key] = sorted(found)
        return self._imports[key]

    def dependency_key(self, path: str, roots: Tuple[str, ...], text: Optional[str] = None,
                       active: Optional[Set[str]] = None) -> str:
        """A hash of what a file's summary or result depends on in the project: the text of each
        project module it imports, and theirs, recursively (an import cycle is cut where it closes)."""
        path = os.path.abspath(path)
        key = (path, roots)
        if key in self._keys and text is None:
            return self._keys[key]
        active = set() if active is None else active
        active.add(path)
        parts = []
        for module in self.imported_modules(path, roots, text):
            if module in active:
                continue
            content = (self._text(module) or "").encode("utf-8", "replace")
            parts.append(module + ":" + hashlib.sha256(content).hexdigest())
            parts.append(self.dependency_key(module, roots, None, active))
        active.discard(path)
        digest = hashlib.sha256("|".join(parts).encode("utf-8", "replace")).hexdigest()
        if text is None:
            self._keys[key] = digest
        return digest

    # --- the store -----------------------------------------------------------------------------------
    def _store_path(self, path: str, roots: Tuple[str, ...], flavour: str) -> Optional[str]:
        if self.cache_dir is None:
            return None
        from ..cache import code_fingerprint

        text = self._text(path) or ""
        key = hashlib.sha256("|".join((
            code_fingerprint(), str(SUMMARY_FORMAT), flavour, path, "|".join(roots), text,
            self.dependency_key(path, roots),
        )).encode("utf-8", "replace")).hexdigest()
        return os.path.join(self.cache_dir, "summaries", key[:2], key + ".json")

    def _load(self, path: str, roots: Tuple[str, ...], flavour: str) -> Optional[specs.ModuleSummary]:
        location = self._store_path(path, roots, flavour)
        if location is None or os.path.islink(location) or not os.path.isfile(location):
            return None
        try:
            with open(location, encoding="utf-8") as handle:
                return specs.ModuleSummary.from_json(json.load(handle))
        except (OSError, ValueError, TypeError, KeyError, RecursionError):
            return None  # damaged: computed again

    def _store(self, path: str, roots: Tuple[str, ...], flavour: str, summary: specs.ModuleSummary) -> None:
        location = self._store_path(path, roots, flavour)
        if location is None:
            return
        from ..cache import write_json_atomic

        write_json_atomic(location, summary.to_json())


class ProjectView:
    """The project as one file sees it: lookups of the names it imports."""

    def __init__(self, index: ProjectIndex, path: str, roots: Tuple[str, ...], flavour: str) -> None:
        self.index = index
        self.path = os.path.abspath(path)
        self.roots = roots
        self.flavour = flavour

    def lookup(self, dotted: str) -> Optional[Tuple[specs.Export, str]]:
        return self.index.lookup(dotted, self.path, self.roots, self.flavour)


def _imported_names(text: str) -> Iterable[str]:
    """Dotted names import lines mention: `from a.b import c, d` -> `a.b.c`, `a.b.d`;
    `import a.b as c` -> `a.b`; a parenthesised list over several lines is followed."""
    for match in _IMPORT.finditer(text):
        module, names, plain = match.group(1), match.group(2), match.group(3)
        if plain is not None:
            for part in plain.split(","):
                name = part.strip().split(" ")[0]
                if name:
                    yield name
            continue
        if names.strip().startswith("(") and ")" not in names:
            end = text.find(")", match.end())
            names = names + text[match.end():end if end >= 0 else len(text)]
        names = names.replace("(", " ").replace(")", " ").replace("\\", " ")
        yield module
        for part in names.split(","):
            name = part.strip().split(" ")[0].split("#")[0]
            if name and name != "*" and name.isidentifier():
                yield f"{module}.{name}" if not module.endswith(".") else f"{module}{name}"
