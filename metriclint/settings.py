"""Configuration: `[tool.metriclint]` in pyproject.toml or a metriclint.toml, plus CLI overrides.

Each checked file uses the nearest config found from its directory upward (as ruff does);
CLI options are applied on top. Unknown keys and bad values are errors that name the key.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11
    import tomli as tomllib

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
    respect_gitignore: bool = True
    include_notebooks: bool = True
    root: str = "."  # the directory patterns are relative to (the config file's directory)
    config_path: Optional[str] = None

    @property
    def flavour(self) -> str:
        return self.target_keras or "3"

    def enabled_codes(self, codes: Iterable[str]) -> FrozenSet[str]:
        return frozenset(code for code in codes if self.is_enabled(code))

    def is_enabled(self, code: str) -> bool:
        return _selected(code, self.select + self.extend_select, self.ignore)

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
        return repr((self.select, self.extend_select, self.ignore, self.per_file_ignores, self.flavour))


def _selected(code: str, select: Tuple[str, ...], ignore: Tuple[str, ...]) -> bool:
    """The most specific matching selector wins; on a tie, ignore wins (as in ruff)."""
    best_select = max((len(s) for s in select if _matches(code, s)), default=-1)
    best_ignore = max((len(s) for s in ignore if _matches(code, s)), default=-1)
    return best_select >= 0 and best_select > best_ignore


def _matches(code: str, selector: str) -> bool:
    return selector == "ALL" or code.startswith(selector)


@lru_cache(maxsize=256)
def _spec(pattern: str):
    import pathspec

    return pathspec.PathSpec.from_lines("gitwildmatch", [pattern])


def _relative(path: str, root: str) -> str:
    try:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    except ValueError:  # another drive on Windows
        rel = path
    return rel.replace(os.sep, "/")


# --- reading config files -------------------------------------------------------------------
def find_config(directory: str) -> Optional[str]:
    """The nearest metriclint.toml or pyproject.toml with [tool.metriclint], from `directory` up."""
    current = os.path.abspath(directory)
    while True:
        found = _config_in(current)
        if found is not None:
            return found
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


@lru_cache(maxsize=1024)
def _config_in(directory: str) -> Optional[str]:
    candidate = os.path.join(directory, "metriclint.toml")
    if os.path.isfile(candidate):
        return candidate
    candidate = os.path.join(directory, "pyproject.toml")
    if os.path.isfile(candidate):
        try:
            with open(candidate, "rb") as handle:
                data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError):
            return None  # not ours to judge; a broken pyproject without our table is skipped
        if isinstance(data.get("tool"), dict) and "metriclint" in data["tool"]:
            return candidate
    return None


def load_config(path: str) -> Dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML in {path}: {exc}") from None
    if os.path.basename(path) == "pyproject.toml":
        table = data.get("tool", {}).get("metriclint", {})
    else:
        table = data.get("tool", {}).get("metriclint", data)
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
            changes[key.replace("-", "_")] = tuple(validate_selectors(_str_list(table[key], key, where), known_codes, f"{where}: `{key}`"))
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
                                       f"{where}: `per-file-ignores.{pattern}`")
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
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where}: `{key}` must be a list of strings, not {value!r}")


def validate_selectors(selectors: Iterable[str], known_codes: FrozenSet[str], where: str) -> List[str]:
    out = []
    for raw in selectors:
        selector = raw.strip().upper()
        if not selector:
            continue
        if selector != "ALL" and not any(code.startswith(selector) for code in known_codes):
            raise ConfigError(f"{where}: unknown rule selector `{raw}` (see `metriclint rules`)")
        out.append(selector)
    return out


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
        if self.select is not None:
            changes["select"] = self.select
        if self.extend_select:
            changes["extend_select"] = settings.extend_select + self.extend_select
        if self.ignore:
            changes["ignore"] = settings.ignore + self.ignore
        if self.target_keras is not None:
            changes["target_keras"] = self.target_keras
            changes["target_source"] = "--target-keras"
        if self.exclude is not None:
            changes["exclude"] = self.exclude
        if self.extend_exclude:
            changes["extend_exclude"] = settings.extend_exclude + self.extend_exclude
        return replace(settings, **changes)


class SettingsResolver:
    """Settings per file: nearest config (or --config), CLI overrides on top. Cached per directory."""

    def __init__(self, overrides: Overrides, known_codes: FrozenSet[str], config_path: Optional[str] = None) -> None:
        self.overrides = overrides
        self.known_codes = known_codes
        self.fixed_config = config_path
        self._by_config: Dict[Optional[str], Settings] = {}
        self._by_dir: Dict[str, Settings] = {}
        if config_path is not None:
            if not os.path.isfile(config_path):
                raise ConfigError(f"config file not found: {config_path}")
            self.for_config(config_path)  # fail early on a bad explicit config

    def for_config(self, path: Optional[str]) -> Settings:
        if path not in self._by_config:
            table = load_config(path) if path else {}
            settings = settings_from_table(table, path, self.known_codes)
            if settings.target_keras is None:
                from .flavour import infer_target

                inferred = infer_target(settings.root if path else os.getcwd())
                if inferred is not None:
                    settings = replace(settings, target_keras=inferred[0], target_source=inferred[1])
            self._by_config[path] = self.overrides.apply(settings)
        return self._by_config[path]

    def for_directory(self, directory: str) -> Settings:
        key = os.path.abspath(directory)
        if key not in self._by_dir:
            path = self.fixed_config or find_config(key)
            self._by_dir[key] = self.for_config(path)
        return self._by_dir[key]

    def for_file(self, path: str) -> Settings:
        return self.for_directory(os.path.dirname(os.path.abspath(path)) or ".")
