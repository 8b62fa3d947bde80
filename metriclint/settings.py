"""Configuration: `[tool.metriclint]` in pyproject.toml or a metriclint.toml, plus CLI overrides.

Each checked file uses the nearest config found from its directory upward (as ruff does);
CLI options are applied on top. Unknown keys and bad values are errors that name the key.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple


class TomlError(ValueError):
    """A TOML text that cannot be read, with a one-line reason."""


def parse_toml(raw: bytes) -> Dict[str, Any]:
    """bytes -> TOML table. Every way tomllib fails (its own errors, a nesting deep enough to
    exhaust the stack, an integer over Python's digit limit, bad UTF-8) is one `TomlError`."""
    if sys.version_info >= (3, 11):  # imported here: most runs read no TOML file
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11
        import tomli as tomllib

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TomlError(f"not UTF-8 ({exc.reason})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlError(str(exc)) from None
    except RecursionError:
        raise TomlError("nested too deeply") from None
    except ValueError:  # int(): more digits than sys.get_int_max_str_digits() allows
        limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        match = re.search(r"^\s*([^=\s]+)\s*=[^\n]*?\d{%d}" % (limit + 1), text, re.M)
        line = text.count("\n", 0, match.start(1)) + 1 if match else 0
        where = f" (`{match.group(1)}` on line {line})" if match else ""
        raise TomlError(f"a number has more than {limit} digits{where}") from None


DEFAULT_EXCLUDE: Tuple[str, ...] = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache",
    ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox",
    ".venv", ".vscode", "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules",
    "site-packages", "venv", ".metriclint_cache",
)

CONFIG_KEYS = {
    "select", "ignore", "extend-select", "per-file-ignores", "exclude", "extend-exclude",
    "target-keras", "respect-gitignore", "include-notebooks",
}


class ConfigError(Exception):
    """A configuration or usage problem; the message is shown as is and the exit code is 2."""


@dataclass(frozen=True)
class Settings:
    select: Tuple[str, ...] = ("KM",)
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: Tuple[str, ...] = ()
    target_keras: Optional[str] = None  # "2" | "3"; None: inferred from the project, else "3"
    target_source: str = "default"  # where target_keras came from, for --show-settings
    # The project pins Keras before 2.3 (or TensorFlow 1): what it declares. Its code is judged as a
    # migration to Keras 3 ("3") and no fix is offered: each would fail on the pinned version.
    legacy_keras: Optional[str] = None
    respect_gitignore: bool = True
    include_notebooks: bool = True
    root: str = "."  # the directory patterns are relative to (the config file's directory)
    config_path: Optional[str] = None
    # Rule selections applied after the config's own, in order (the command line's): each is
    # (select or None, extend-select, ignore). A layer with `select` starts over, as in ruff.
    selections: Tuple[Selection, ...] = ()

    @property
    def flavour(self) -> str:
        return self.target_keras or "3"

    @property
    def layers(self) -> Tuple[Selection, ...]:
        return ((self.select, self.extend_select, self.ignore),) + self.selections

    def enabled_codes(self, codes: Iterable[str]) -> FrozenSet[str]:
        return _resolve_selection(frozenset(codes), self.layers)

    def configured_codes(self, codes: Iterable[str]) -> FrozenSet[str]:
        """The codes the configuration enables, before the command line's selections. A rule
        turned off only for one run (`--ignore`, `--select`) did not run: KM001 cannot judge
        a `noqa` naming it, and `fix` must not delete that `noqa`."""
        return _resolve_selection(frozenset(codes), self.layers[:1])

    def is_enabled(self, code: str) -> bool:
        return code in self.enabled_codes((code,))

    def reports(self, tool_code: str, path: str) -> bool:
        """Whether a tool code that can be silenced (E903) is reported for this file. Tool codes
        are on whatever `select` says; a layer's `ignore` turns one off, its `select` or
        `extend-select` on again (the more specific selector wins, on a tie `ignore`), and
        `per-file-ignores` off for the files it names."""
        on = True
        for select, extend, ignore in self.layers:
            chosen = [_specificity(x) for x in tuple(select or ()) + tuple(extend) if _matches(tool_code, x)]
            dropped = [_specificity(x) for x in ignore if _matches(tool_code, x)]
            if chosen or dropped:
                on = max(chosen, default=-1) > max(dropped, default=-1)
        return on and not any(_matches(tool_code, prefix) for prefix in self.ignored_for(path))

    def ignored_for(self, path: str) -> FrozenSet[str]:
        """Code prefixes ignored for this file by `per-file-ignores`."""
        if not self.per_file_ignores:
            return frozenset()
        rel = _relative(path, self.root)
        out = set()
        for pattern, codes in self.per_file_ignores:
            if _spec(pattern).match_file(rel):
                out.update(codes)
        return frozenset(out)

    def cache_key(self) -> str:
        """What about the settings changes results (for the cache)."""
        return repr((self.layers, self.per_file_ignores, self.flavour, self.legacy_keras))


Selection = Tuple[Optional[Tuple[str, ...]], Tuple[str, ...], Tuple[str, ...]]


def _specificity(selector: str) -> int:
    return 0 if selector == "ALL" else len(selector)


@lru_cache(maxsize=1024)
def _resolve_selection(codes: FrozenSet[str], layers: Tuple[Selection, ...]) -> FrozenSet[str]:
    """The enabled codes after applying each layer of (select, extend-select, ignore), as ruff does.

    Within a layer, the more specific selector wins and on a tie `ignore` wins. A layer with
    `select` starts over from its own selection; a layer without it changes the set before it.
    So `--ignore KM1` on the command line turns off a `KM101` the config selected, and
    `--select KM101` turns it on again even if the config ignores it.
    """
    enabled: set = set()
    carried: Tuple[str, ...] = ()
    for select, extend, ignore in layers:
        updates: Dict[str, bool] = {}
        chosen = tuple(select or ()) + tuple(extend)
        dropped = tuple(ignore) + carried
        carried = ()
        for level in sorted({_specificity(x) for x in chosen + dropped}):
            for selector in chosen:
                if _specificity(selector) == level:
                    updates.update((code, True) for code in codes if _matches(code, selector))
            for selector in dropped:
                if _specificity(selector) == level:
                    updates.update((code, False) for code in codes if _matches(code, selector))
        if select is not None:
            enabled = {code for code, on in updates.items() if on}
            if not select and not extend and ignore:
                carried = tuple(ignore)  # `select = []` + ignore: the ignores carry over
        else:
            for code, on in updates.items():
                (enabled.add if on else enabled.discard)(code)
    return frozenset(enabled)


def _matches(code: str, selector: str) -> bool:
    return selector == "ALL" or code.startswith(selector)


@lru_cache(maxsize=256)
def _spec(pattern: str):
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines([pattern])


def _relative(path: str, root: str) -> str:
    try:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    except ValueError:  # another drive on Windows
        rel = path
    return rel.replace(os.sep, "/")


# --- reading config files -------------------------------------------------------------------
def find_config(directory: str, cache: Optional[Dict[str, Optional[str]]] = None) -> Optional[str]:
    """The nearest metriclint.toml or pyproject.toml with [tool.metriclint], from `directory` up."""
    current = os.path.abspath(directory)
    visited = []
    found = None
    while True:
        if cache is not None and current in cache:
            found = cache[current]
            break
        visited.append(current)
        found = _config_in(current)
        if found is not None:
            break
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    if cache is not None:
        for place in visited:
            cache[place] = found
    return found


def _config_in(directory: str) -> Optional[str]:
    candidate = os.path.join(directory, "metriclint.toml")
    if os.path.isfile(candidate):
        return candidate
    if os.path.lexists(candidate):  # a directory, a dangling link: a config meant to be read
        raise ConfigError(f"cannot read config {candidate}: not a regular file")
    candidate = os.path.join(directory, "pyproject.toml")
    if os.path.isfile(candidate):
        try:
            with open(candidate, "rb") as handle:
                raw = handle.read()
        except OSError:
            return None
        try:
            data = parse_toml(raw)
        except TomlError as exc:
            if re.search(rb"^\s*\[\s*tool\s*\.\s*metriclint\b|^\s*tool\s*\.\s*metriclint\b", raw, re.M):
                raise ConfigError(f"invalid TOML in {candidate}: {exc}") from None
            return None  # not ours to judge: a broken pyproject.toml without our table is skipped
        tool = data.get("tool")
        if isinstance(tool, dict) and "metriclint" in tool:
            return candidate
    return None


def load_config(path: str) -> Dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    try:
        data = parse_toml(raw)
    except TomlError as exc:
        raise ConfigError(f"invalid TOML in {path}: {exc}") from None
    tool = data.get("tool")
    if os.path.basename(path) == "pyproject.toml":
        table = tool.get("metriclint", {}) if isinstance(tool, dict) else {}
    elif isinstance(tool, dict) and "metriclint" in tool and len(data) == 1:
        table = tool["metriclint"]  # a metriclint.toml written like a pyproject section
    else:
        table = data  # metriclint.toml: keys at the top level (like ruff.toml)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.metriclint] must be a table")
    return table


def settings_from_table(table: Mapping[str, Any], path: Optional[str], known_codes: FrozenSet[str]) -> Settings:
    where = path or "configuration"
    unknown = sorted(set(table) - CONFIG_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key `{unknown[0]}` in [tool.metriclint] (known: {', '.join(sorted(CONFIG_KEYS))})"
        )
    base = Settings(root=os.path.dirname(os.path.abspath(path)) if path else os.getcwd(), config_path=path)
    changes: Dict[str, Any] = {}
    for key in ("select", "ignore", "extend-select"):
        if key in table:
            changes[key.replace("-", "_")] = tuple(validate_selectors(
                _str_list(table[key], key, where), known_codes, f"{where}: `{key}`", ignoring=key == "ignore"))
    for key in ("exclude", "extend-exclude"):
        if key in table:
            changes[key.replace("-", "_")] = tuple(_str_list(table[key], key, where))
    if "per-file-ignores" in table:
        value = table["per-file-ignores"]
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: `per-file-ignores` must be a table of glob = [codes]")
        pairs = []
        for pattern, codes in value.items():
            codes = validate_selectors(_str_list(codes, f"per-file-ignores.{pattern}", where), known_codes,
                                       f"{where}: `per-file-ignores.{pattern}`", ignoring=True)
            pairs.append((pattern, tuple(codes)))
        changes["per_file_ignores"] = tuple(pairs)
    if "target-keras" in table:
        changes["target_keras"] = parse_target(table["target-keras"], f"{where}: `target-keras`")
        changes["target_source"] = f"`target-keras` in {where}"
    for key in ("respect-gitignore", "include-notebooks"):
        if key in table:
            if not isinstance(table[key], bool):
                raise ConfigError(f"{where}: `{key}` must be true or false, not {table[key]!r}")
            changes[key.replace("-", "_")] = table[key]
    return replace(base, **changes)


def parse_target(value: Any, where: str) -> str:
    text = str(value).strip()
    if text in ("2", "3"):
        return text
    raise ConfigError(f"{where} must be \"2\" or \"3\", not {value!r}")


def _str_list(value: Any, key: str, where: str) -> List[str]:
    if isinstance(value, str):
        raise ConfigError(f"{where}: `{key}` must be a list of strings, not a string (write [{json.dumps(value)}])")
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where}: `{key}` must be a list of strings, not {value!r}")


def validate_selectors(selectors: Iterable[str], known_codes: FrozenSet[str], where: str,
                       ignoring: bool = False) -> List[str]:
    """The selectors, upper-cased. Unknown ones are an error; so is, with `ignoring` (`ignore`,
    `per-file-ignores`), one that names a tool code that is never silenced (`E999`, or a prefix
    such as `E9`): it could only do nothing. `ALL` there means every code that can be ignored."""
    out = []
    for raw in selectors:
        selector = raw.strip().upper()
        if not selector:
            continue
        if selector != "ALL" and not any(code.startswith(selector) for code in known_codes):
            raise ConfigError(f"{where}: unknown rule selector `{raw}` (see `metriclint rules`)")
        if ignoring and selector != "ALL":
            _refuse_never_silenced(raw, selector, where)
        out.append(selector)
    return out


def _refuse_never_silenced(raw: str, selector: str, where: str) -> None:
    from .rules import NEVER_SILENCED, UNPARSABLE

    named = [code for code in NEVER_SILENCED if code.startswith(selector)]
    if not named:
        return
    if named == [selector]:
        why = NEVER_SILENCED[selector]
        head = f"`{raw}` cannot be ignored: {why}"
    else:
        head = (f"`{raw}` cannot be ignored: it covers {', '.join(named)}, which are never silenced "
                f"({'; '.join(f'{code}: {NEVER_SILENCED[code]}' for code in named)})")
        if UNPARSABLE.startswith(selector):
            head += f"; to ignore {UNPARSABLE}, name it alone"
    raise ConfigError(f"{where}: {head}. To skip such files, list them in `exclude` or `extend-exclude`")


@dataclass(frozen=True)
class Overrides:
    """Options given on the command line; they win over config files."""

    select: Optional[Tuple[str, ...]] = None
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    target_keras: Optional[str] = None
    exclude: Optional[Tuple[str, ...]] = None
    extend_exclude: Tuple[str, ...] = ()

    def apply(self, settings: Settings) -> Settings:
        changes: Dict[str, Any] = {}
        if self.select is not None or self.extend_select or self.ignore:
            layer: Selection = (self.select, self.extend_select, self.ignore)
            changes["selections"] = settings.selections + (layer,)
        if self.target_keras is not None:
            changes["target_keras"] = self.target_keras
            changes["target_source"] = "--target-keras"
        if self.exclude is not None:
            changes["exclude"] = self.exclude
        if self.extend_exclude:
            changes["extend_exclude"] = settings.extend_exclude + self.extend_exclude
        return replace(settings, **changes)


class SettingsResolver:
    """Settings per file: nearest config (or --config), CLI overrides on top. Cached per directory.

    Without `target-keras` (config or command line), the flavour is inferred from the
    dependencies declared in the nearest project directory: the config file's directory
    upward, or the checked file's directory upward when there is no config file.
    """

    def __init__(self, overrides: Overrides, known_codes: FrozenSet[str], config_path: Optional[str] = None) -> None:
        self.overrides = overrides
        self.known_codes = known_codes
        self.fixed_config = os.path.abspath(config_path) if config_path is not None else None
        self._tables: Dict[Optional[str], Settings] = {}
        self._settings: Dict[Tuple[Optional[str], Optional[str]], Settings] = {}
        self._by_dir: Dict[str, Settings] = {}
        self._config_cache: Dict[str, Optional[str]] = {}
        self._project_cache: Dict[str, Optional[str]] = {}
        if config_path is not None:
            if os.path.isdir(config_path):
                raise ConfigError(f"config file is a directory: {config_path}")
            if not os.path.isfile(config_path):
                raise ConfigError(f"config file not found: {config_path}")
            self._table_settings(self.fixed_config)  # fail early on a bad explicit config

    def _table_settings(self, path: Optional[str]) -> Settings:
        if path not in self._tables:
            table = load_config(path) if path else {}
            self._tables[path] = settings_from_table(table, path, self.known_codes)
        return self._tables[path]

    def _project(self, start: str) -> Optional[str]:
        from .flavour import project_dir

        if start not in self._project_cache:
            self._project_cache[start] = project_dir(start)
        return self._project_cache[start]

    def for_config(self, path: Optional[str], start: Optional[str] = None) -> Settings:
        """Settings from the config file at `path` (None: defaults) for files under `start`."""
        base = self._table_settings(path)
        needs_inference = base.target_keras is None and self.overrides.target_keras is None
        project = None
        if needs_inference:
            project = self._project(os.path.dirname(path) if path else os.path.abspath(start or os.getcwd()))
        key = (path, project)
        if key not in self._settings:
            settings = base
            if project is not None:
                from .flavour import LEGACY, infer_target

                inferred = infer_target(project)
                if inferred is not None and inferred[0] == LEGACY:
                    settings = replace(settings, target_keras="3", legacy_keras=inferred[1], target_source=(
                        f"{inferred[1]}: Keras before 2.3, judged as a migration to Keras 3 with no fixes offered"))
                elif inferred is not None:
                    settings = replace(settings, target_keras=inferred[0], target_source=inferred[1])
                else:
                    settings = replace(settings, target_source=f"default: no Keras version declared in {project}")
            elif needs_inference:
                settings = replace(settings, target_source="default: no project dependencies found")
            self._settings[key] = self.overrides.apply(settings)
        return self._settings[key]

    def for_directory(self, directory: str) -> Settings:
        key = os.path.abspath(directory)
        if key not in self._by_dir:
            path = self.fixed_config or find_config(key, self._config_cache)
            self._by_dir[key] = self.for_config(path, key)
        return self._by_dir[key]

    def for_file(self, path: str) -> Settings:
        return self.for_directory(os.path.dirname(os.path.abspath(path)) or ".")
