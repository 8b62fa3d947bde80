"""Infer the Keras flavour a project targets from its declared dependencies.

Keras 2 when the project pins `tensorflow` (any of its distributions) below 2.16, asks for
`keras<3`, or depends on `tf-keras`; otherwise Keras 3. Only declarations are read
(pyproject.toml `[project]` dependencies and optional dependencies, `[dependency-groups]`,
Poetry dependencies, `requirements*.txt` and `requirements/*.txt`, setup.cfg
`install_requires`/`extras_require`); nothing is imported.
"""

from __future__ import annotations

import configparser
import glob
import os
import re
import sys
from typing import Any, Iterable, List, Optional, Tuple

from .settings import TomlError, parse_toml

_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_SPEC = re.compile(r"(===|==|~=|<=|>=|!=|<|>)\s*([0-9][0-9a-zA-Z.*+!-]*)")
_TENSORFLOW = {
    "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-macos", "tensorflow-intel",
    "tensorflow-aarch64", "tensorflow-cpu-aws", "intel-tensorflow", "tf-nightly", "tf-nightly-cpu",
    "tf-nightly-gpu",
}
KERAS2_TENSORFLOW_BELOW = (2, 16)  # tf.keras is Keras 3 from TensorFlow 2.16 on
# Standalone Keras before 2.3 (and TensorFlow 1's `tf.keras`) are another API: `nb_epoch` is fit's
# keyword in Keras 1, `metrics=["accuracy"]` logs `acc`, there is no `add_metric`. Code pinned
# there is judged as a migration to Keras 3, with no fixes (they would fail on the pinned version).
LEGACY_KERAS_BELOW = (2, 3)
LEGACY_TENSORFLOW_BELOW = (2,)
LEGACY = "legacy"
Specs = List[Tuple[str, str]]


def _normalise_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _version(text: str) -> Tuple[int, ...]:
    """The release numbers of a version, trailing zeros dropped (2.16.0 == 2.16)."""
    parts = []
    for piece in text.split("."):
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
        if digits.end() != len(piece):
            break  # 2.16.0rc1: the release part ends here
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _bump(release: Tuple[int, ...]) -> Tuple[int, ...]:
    """The first release after every release that starts with `release` (2.15 -> 2.16)."""
    return release[:-1] + (release[-1] + 1,) if release else (sys.maxsize,)


def _upper_bound(op: str, raw: str) -> Optional[Tuple[Tuple[int, ...], bool]]:
    """(bound, inclusive) when this one specifier caps the version from above, else None."""
    if op in ("==", "==="):
        if raw.endswith(".*"):
            prefix = tuple(int(p) for p in raw[:-2].split(".") if p.isdigit())
            return _bump(prefix), False
        return _version(raw), True
    if op == "~=":
        release = [p for p in raw.split(".")]
        numbers = tuple(int(re.match(r"\d*", p).group() or 0) for p in release)
        if len(numbers) < 2:
            return None
        return _bump(numbers[:-1]), False
    if op == "<":
        return _version(raw), False
    if op == "<=":
        return _version(raw), True
    return None


def caps_below(specs: Specs, limit: Tuple[int, ...]) -> bool:
    """Whether the specifiers (all must hold) allow no version >= `limit`."""
    for op, raw in specs:
        bound = _upper_bound(op, raw)
        if bound is None:
            continue
        version, inclusive = bound
        if version < limit or (version == limit and not inclusive):
            return True
    return False


def _lower_bound_at_least(specs: Specs, limit: Tuple[int, ...]) -> bool:
    """Whether the specifiers allow no version below `limit`."""
    for op, raw in specs:
        if raw.endswith(".*"):
            raw = raw[:-2]
        if op in (">=", "==", "===", "~=", ">") and _version(raw) >= limit:
            return True
    return False


def _classify(name: str, specs: Specs) -> Optional[str]:
    name = _normalise_name(name)
    if name == "tf-keras":
        return "2"
    if name in _TENSORFLOW:
        if caps_below(specs, LEGACY_TENSORFLOW_BELOW):
            return LEGACY
        if caps_below(specs, KERAS2_TENSORFLOW_BELOW):
            return "2"
        if _lower_bound_at_least(specs, KERAS2_TENSORFLOW_BELOW):
            return "3"
    if name == "keras":
        if caps_below(specs, LEGACY_KERAS_BELOW):
            return LEGACY
        if caps_below(specs, (3,)):
            return "2"
        if _lower_bound_at_least(specs, (3,)):
            return "3"
    return None


def classify_requirement(line: str) -> Optional[str]:
    """"2" when this PEP 508 requirement pins Keras 2, "legacy" when it pins Keras before 2.3 (or
    TensorFlow 1), "3" when it asks for Keras 3, else None."""
    line = line.split(" #", 1)[0].split(";", 1)[0].strip()
    if line.startswith("#"):
        return None
    match = _NAME.match(line)
    if match is None or line.startswith("-"):
        return None
    return _classify(match.group(1), _SPEC.findall(line[match.end():]))


_POETRY = re.compile(r"(\^|~=|~|===|==|!=|<=|>=|<|>)?\s*([0-9][0-9A-Za-z.*+!-]*|\*)")


def _poetry_specs(constraint: str) -> Optional[Specs]:
    """Poetry's `^2.15`, `~2.15`, `2.15.*`, `>=2.10,<2.16` as PEP 440 specifiers (None: unknown)."""
    if "||" in constraint or "|" in constraint:
        return None  # an "or": not worth guessing
    specs: Specs = []
    for op, raw in _POETRY.findall(constraint):
        if raw == "*":
            continue
        if op == "^":
            release = _version(raw) or (0,)
            significant = next((i for i, n in enumerate(release) if n != 0), len(release) - 1)
            specs += [(">=", raw), ("<", ".".join(map(str, _bump(release[: significant + 1]))))]
        elif op == "~":
            release = tuple(int(p) for p in re.findall(r"\d+", raw)[:3])
            upper = _bump(release[:2]) if len(release) >= 2 else _bump(release[:1])
            specs += [(">=", raw), ("<", ".".join(map(str, upper)))]
        else:
            specs.append((op or "==", raw))
    return specs


def _display(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _pyproject_requirements(path: str) -> Iterable[Tuple[str, str, Optional[str]]]:
    """(where, requirement text, poetry constraint or None) from a pyproject.toml."""
    try:
        with open(path, "rb") as handle:
            data = parse_toml(handle.read())
    except (OSError, TomlError):
        return
    where = _display(path)

    def table(value: Any) -> dict:
        return value if isinstance(value, dict) else {}

    project = table(data.get("project"))
    deps = project.get("dependencies")
    for req in deps if isinstance(deps, list) else []:
        if isinstance(req, str):
            yield f"{where} [project] dependencies", req, None
    for group, reqs in table(project.get("optional-dependencies")).items():
        for req in reqs if isinstance(reqs, list) else []:
            if isinstance(req, str):
                yield f"{where} optional dependencies `{group}`", req, None
    for group, reqs in table(data.get("dependency-groups")).items():
        for req in reqs if isinstance(reqs, list) else []:
            if isinstance(req, str):
                yield f"{where} dependency group `{group}`", req, None
    poetry = table(table(data.get("tool")).get("poetry"))
    poetry_tables = [("dependencies", table(poetry.get("dependencies")))]
    poetry_tables += [(f"group `{g}`", table(table(v).get("dependencies"))) for g, v in table(poetry.get("group")).items()]
    for label, deps_table in poetry_tables:
        for name, value in deps_table.items():
            if isinstance(value, dict):
                value = value.get("version", "*")
            if isinstance(value, str):
                yield f"{where} [tool.poetry] {label}", name, value


def _requirements_in(root: str) -> Iterable[Tuple[str, str, Optional[str]]]:
    """(where, requirement, poetry constraint or None) declared in the project at `root`."""
    pyproject = os.path.join(root, "pyproject.toml")
    if os.path.isfile(pyproject):
        yield from _pyproject_requirements(pyproject)
    files = sorted(glob.glob(os.path.join(glob.escape(root), "requirements*.txt")))
    files += sorted(glob.glob(os.path.join(glob.escape(root), "requirements", "*.txt")))
    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    yield _display(path), line, None
        except OSError:
            continue
    setup_cfg = os.path.join(root, "setup.cfg")
    if os.path.isfile(setup_cfg):
        parser = configparser.RawConfigParser()
        try:
            parser.read(setup_cfg, encoding="utf-8")
            sections = [("install_requires", parser.get("options", "install_requires", fallback=""))]
            if parser.has_section("options.extras_require"):
                sections += [(f"extras_require `{k}`", v) for k, v in parser.items("options.extras_require")]
        except (configparser.Error, UnicodeDecodeError):
            sections = []
        for label, raw in sections:
            for line in raw.splitlines():
                yield f"{_display(setup_cfg)} {label}", line, None


def infer_target(root: str) -> Optional[Tuple[str, str]]:
    """(flavour, reason) from the dependencies declared in the directory `root`, or None.

    Legacy Keras wins over Keras 2, and Keras 2 over Keras 3 (a project that pins
    `tensorflow<2.16` and lists `keras` elsewhere still runs `tf.keras` 2).
    """
    verdict: Optional[Tuple[str, str]] = None
    keras2: Optional[Tuple[str, str]] = None
    for where, requirement, poetry in _requirements_in(root):
        if poetry is None:
            flavour = classify_requirement(requirement)
            shown = requirement.strip()
        else:
            specs = _poetry_specs(poetry)
            flavour = _classify(requirement, specs) if specs is not None else None
            shown = f"{requirement} = \"{poetry}\""
        if flavour == LEGACY:
            return LEGACY, f"{where} declares `{shown}`"
        if flavour == "2" and keras2 is None:
            keras2 = ("2", f"{where} declares `{shown}`")
        if flavour == "3" and verdict is None:
            verdict = ("3", f"{where} declares `{shown}`")
    return keras2 or verdict


_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", "requirements.txt")


def declares_dependencies(directory: str) -> bool:
    if any(os.path.isfile(os.path.join(directory, name)) for name in _MARKERS):
        return True
    return bool(glob.glob(os.path.join(glob.escape(directory), "requirements*.txt"))) or os.path.isdir(
        os.path.join(directory, "requirements")
    )


def project_dir(start: str) -> Optional[str]:
    """The nearest directory from `start` upward that declares dependencies (stops at a git root)."""
    current = os.path.abspath(start)
    while True:
        if declares_dependencies(current):
            return current
        parent = os.path.dirname(current)
        if parent == current or os.path.exists(os.path.join(current, ".git")):
            return None
        current = parent
