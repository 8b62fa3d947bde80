"""Infer the Keras flavour a project targets from its declared dependencies.

Keras 2 when the project pins `tensorflow`/`tensorflow-cpu` below 2.16, asks for `keras<3`,
or depends on `tf-keras`; otherwise Keras 3. Only declarations are read; nothing is imported.
"""

from __future__ import annotations

import configparser
import glob
import os
import re
import sys
from typing import Iterable, List, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_SPEC = re.compile(r"(===|==|~=|<=|>=|!=|<|>)\s*([0-9][0-9a-zA-Z.*+!-]*)")
_TENSORFLOW = {"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-macos", "tf-nightly"}


def _version(text: str) -> Tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


def _caps_below(specs: List[Tuple[str, str]], limit: Tuple[int, ...]) -> bool:
    """Whether the specifiers allow no version >= `limit`."""
    for op, raw in specs:
        version = _version(raw)
        if op == "<" and version <= limit:
            return True
        if op == "<=" and version < limit:
            return True
        if op in ("==", "===", "~=") and version and version < limit:
            if op == "~=" and len(version) == 2 and version[0] < limit[0]:
                return False  # ~=2.10 allows any 2.x >= 2.10, i.e. also 2.16
            return True
    return False


def classify_requirement(line: str) -> Optional[str]:
    """"2" when this requirement pins Keras 2, "3" when it asks for Keras 3, else None."""
    line = line.split("#", 1)[0].split(";", 1)[0].strip()
    match = _NAME.match(line)
    if match is None or line.startswith("-"):
        return None
    name = match.group(1).lower().replace("_", "-")
    specs = _SPEC.findall(line[match.end():])
    if name == "tf-keras":
        return "2"
    if name in _TENSORFLOW and _caps_below(specs, (2, 16)):
        return "2"
    if name == "keras":
        if _caps_below(specs, (3,)):
            return "2"
        if any(op in (">=", ">", "==", "~=") and _version(v) >= (3,) for op, v in specs):
            return "3"
    return None


def _requirements_in(root: str) -> Iterable[Tuple[str, str]]:
    """(where, requirement line) pairs declared in the project at `root`."""
    pyproject = os.path.join(root, "pyproject.toml")
    if os.path.isfile(pyproject):
        try:
            with open(pyproject, "rb") as handle:
                data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError):
            data = {}
        project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
        for req in project.get("dependencies", []) or []:
            if isinstance(req, str):
                yield "pyproject.toml [project] dependencies", req
        optional = project.get("optional-dependencies", {}) or {}
        if isinstance(optional, dict):
            for group, reqs in optional.items():
                for req in reqs or []:
                    if isinstance(req, str):
                        yield f"pyproject.toml optional group `{group}`", req
    for path in sorted(glob.glob(os.path.join(root, "requirements*.txt"))):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    yield os.path.basename(path), line
        except OSError:
            continue
    setup_cfg = os.path.join(root, "setup.cfg")
    if os.path.isfile(setup_cfg):
        parser = configparser.ConfigParser()
        try:
            parser.read(setup_cfg, encoding="utf-8")
            raw = parser.get("options", "install_requires", fallback="")
        except (configparser.Error, UnicodeDecodeError):
            raw = ""
        for line in raw.splitlines():
            yield "setup.cfg install_requires", line


def infer_target(root: str) -> Optional[Tuple[str, str]]:
    """(flavour, reason) from the project's declared dependencies, or None when nothing says."""
    verdict: Optional[Tuple[str, str]] = None
    for where, line in _requirements_in(root):
        flavour = classify_requirement(line)
        if flavour == "2":
            return "2", f"{where} declares `{line.strip()}`"
        if flavour == "3" and verdict is None:
            verdict = ("3", f"{where} declares `{line.strip()}`")
    return verdict
