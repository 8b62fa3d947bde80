"""The editor's settings for metriclint, and which files changing means the settings must be read again.

Files are checked with the settings `metriclint check` would use for them: the nearest
`metriclint.toml` or `pyproject.toml` (`[tool.metriclint]`), the Keras flavour inferred from the
project's declared dependencies. The editor's own settings (`select`, `extendSelect`, `ignore`,
`targetKeras`) are applied on top, as the command line's options are.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import Any, List, Mapping, Tuple

from ..rules import known_codes
from ..settings import ConfigError, Overrides, SettingsResolver, parse_target, validate_selectors

SECTION = "metriclint"
# Files whose change changes some file's settings: configs, and the dependency declarations the
# Keras flavour is inferred from (flavour.py).
SETTINGS_FILES = ("pyproject.toml", "metriclint.toml", "setup.cfg", "setup.py", "requirements*.txt")
# What the server asks the client to watch: those, and the project's modules (the project index).
WATCHED = ("**/pyproject.toml", "**/metriclint.toml", "**/setup.cfg", "**/setup.py", "**/requirements*.txt",
           "**/requirements/*.txt", "**/*.py")
_KEYS = {
    "select": "select", "extendSelect": "extend_select", "extend-select": "extend_select",
    "ignore": "ignore", "targetKeras": "target_keras", "target-keras": "target_keras",
}


@dataclass(frozen=True)
class ClientSettings:
    overrides: Overrides = Overrides()
    problems: Tuple[str, ...] = field(default=())  # one line per setting that was not used, and why


def section(raw: Any) -> Any:
    """The editor's settings for metriclint: `raw` itself, or its `"metriclint"` member."""
    if isinstance(raw, Mapping) and isinstance(raw.get(SECTION), Mapping):
        return raw[SECTION]
    return raw


def client_settings(raw: Any) -> ClientSettings:
    """The editor's settings: `{"select": [...], "extendSelect": [...], "ignore": [...],
    "targetKeras": "3"}`. A bad value is left out, and the problem says why."""
    if raw is None or (isinstance(raw, Mapping) and not raw):
        return ClientSettings()
    if not isinstance(raw, Mapping):
        return ClientSettings(problems=(f"settings must be an object, not {type(raw).__name__}",))
    codes = known_codes()
    values: dict = {}
    problems: List[str] = []
    for key, value in raw.items():
        name = _KEYS.get(key)
        if name is None:
            problems.append(f"unknown setting `{key}` (known: select, extendSelect, ignore, targetKeras)")
            continue
        try:
            if name == "target_keras":
                values[name] = None if value in (None, "") else parse_target(value, f"`{key}`")
            else:
                values[name] = tuple(validate_selectors(_strings(value, key), codes, f"`{key}`",
                                                        ignoring=name == "ignore"))
        except ConfigError as exc:
            problems.append(str(exc))
    return ClientSettings(Overrides(**values), tuple(problems))


def _strings(value: Any, key: str) -> List[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ConfigError(f"`{key}` must be a list of rule codes, not {value!r}")


def resolver(settings: ClientSettings) -> SettingsResolver:
    """A fresh resolver: it caches what it read per directory, so a changed config needs a new one."""
    return SettingsResolver(settings.overrides, known_codes())


def changes_settings(path: str) -> bool:
    name = os.path.basename(path)
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in SETTINGS_FILES):
        return True
    return os.path.basename(os.path.dirname(path)) == "requirements" and name.endswith(".txt")


def is_module(path: str) -> bool:
    return path.endswith(".py")
