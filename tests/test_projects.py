"""Multi-module projects (issue 19): the project index follows imports of the project's own modules.

Each folder of tests/data/projects is a small project in a layout real repositories use
(scripts side by side, a `src/` package with relative imports and a re-exporting `__init__`, a
notebook importing a module, Keras Tuner, a Keras 2 project, unknowable and cyclic imports,
another library's `fit`, ...). Its `expected.toml` lists, per flavour, every finding as
`file:line:CODE` (notebooks: `file:cell N:line:CODE`). The tests run the command line on a copy,
as a user would, and also check that the cache, stdin, `fix` and `--add-noqa` give one answer:
a fix in one file never edits another, and editing an imported module re-checks its importers.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List

import pytest
from click.testing import CliRunner

from metriclint.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROJECTS = Path(__file__).resolve().parent / "data" / "projects"


def _projects() -> List[Path]:
    return sorted(p for p in PROJECTS.iterdir() if (p / "expected.toml").is_file())


def _expected(project: Path) -> Dict[str, List[str]]:
    data = tomllib.loads((project / "expected.toml").read_text(encoding="utf-8"))
    return {flavour: table["findings"] for flavour, table in data["flavours"].items()}


def _copy(project: Path, tmp_path: Path) -> Path:
    target = tmp_path / project.name
    shutil.copytree(project, target, ignore=shutil.ignore_patterns("expected.toml", ".metriclint_cache", "__pycache__"))
    return target


def _run(cwd: Path, *args: str, stdin: str = None):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    finally:
        os.chdir(old)


def _findings(output: str) -> Counter:
    found = Counter()
    for item in json.loads(output):
        location = item.get("location") or item.get("start")
        line = location.get("row", location.get("line"))
        path = Path(item.get("filename") or item.get("file"))
        name = path.as_posix()
        cell = item.get("cell")
        found[f"{name}:cell {cell}:{line}:{item['code']}" if cell else f"{name}:{line}:{item['code']}"] += 1
    return found


def _relative(found: Counter, root: Path) -> Counter:
    out = Counter()
    for key, count in found.items():
        name, rest = key.split(":", 1)
        path = Path(name)
        shown = path.relative_to(root).as_posix() if path.is_absolute() else path.as_posix()
        out[f"{shown}:{rest}"] += count
    return out


def _cases():
    for project in _projects():
        for flavour in _expected(project):
            yield pytest.param(project, flavour, id=f"{project.name}-k{flavour}")


@pytest.mark.parametrize("project,flavour", list(_cases()))
def test_project_findings(project: Path, flavour: str, tmp_path: Path):
    root = _copy(project, tmp_path)
    result = _run(root, "check", "--no-cache", "--target-keras", flavour, "--output-format", "json", ".")
    assert result.exit_code in (0, 1), result.output
    assert _relative(_findings(result.stdout), root) == Counter(_expected(project)[flavour]), result.stdout


@pytest.mark.parametrize("project,flavour", list(_cases()))
def test_cache_gives_the_same_answer(project: Path, flavour: str, tmp_path: Path):
    root = _copy(project, tmp_path)
    args = ("check", "--target-keras", flavour, "--output-format", "json", ".")
    cold, warm = _run(root, *args), _run(root, *args)
    assert _findings(cold.stdout) == _findings(warm.stdout) == _findings(
        _run(root, "check", "--no-cache", *args[1:]).stdout)
    assert (root / ".metriclint_cache").is_dir()


def test_editing_an_imported_module_rechecks_its_importers(tmp_path: Path):
    root = _copy(PROJECTS / "p01_scripts", tmp_path)
    args = ("check", "--target-keras", "3", "--output-format", "json", "train.py")
    before = _findings(_run(root, *args).stdout)
    assert before["train.py:13:KM207"] == 1  # history["acc"] where `accuracy` is compiled
    config = root / "config.py"
    config.write_text(config.read_text(encoding="utf-8").replace('["accuracy"', '["acc"'), encoding="utf-8")
    after = _findings(_run(root, *args).stdout)  # the cached result of train.py must not be reused
    assert after["train.py:13:KM207"] == 0 and after["train.py:10:KM207"] == 0  # `val_acc` is logged now
    config.write_text(config.read_text(encoding="utf-8").replace('["acc"', '["accuracy"'), encoding="utf-8")
    assert _findings(_run(root, *args).stdout) == before


def test_stdin_is_placed_in_its_project(tmp_path: Path):
    root = _copy(PROJECTS / "p01_scripts", tmp_path)
    text = (root / "train.py").read_text(encoding="utf-8")
    result = _run(root, "check", "--no-cache", "--target-keras", "3", "--output-format", "json",
                  "-", "--stdin-filename", "train.py", stdin=text)
    found = {k.split(":", 1)[1] for k in _findings(result.stdout)}
    assert {"10:KM207", "11:KM207", "13:KM207", "16:KM203"} <= found


def test_fix_never_edits_another_file(tmp_path: Path):
    root = _copy(PROJECTS / "p03_compile_helper", tmp_path)
    before = {p.name: p.read_bytes() for p in root.glob("*.py")}
    result = _run(root, "fix", "--unsafe-fixes", "--no-cache", "--target-keras", "3", ".")
    assert result.exit_code == 1, result.output  # reported where the callbacks reach fit; fixed nowhere
    assert {p.name: p.read_bytes() for p in root.glob("*.py")} == before
    root = _copy(PROJECTS / "p01_scripts", tmp_path / "second")
    before = {p.name: p.read_bytes() for p in root.glob("*.py")}
    _run(root, "fix", "--no-cache", "--target-keras", "2", ".")
    after = {p.name: p.read_bytes() for p in root.glob("*.py")}
    assert [name for name in before if before[name] != after[name]] == ["train.py"]
    assert b'monitor="val_accuracy"' in after["train.py"] and after["config.py"] == before["config.py"]


def test_add_noqa_across_modules(tmp_path: Path):
    root = _copy(PROJECTS / "p01_scripts", tmp_path)
    result = _run(root, "check", "--add-noqa", "--no-cache", "--target-keras", "2", ".")
    assert result.exit_code == 0, result.output
    assert "# noqa: KM207" in (root / "train.py").read_text(encoding="utf-8")
    assert _run(root, "check", "--no-cache", "--target-keras", "2", ".").exit_code == 0


def test_every_project_is_a_real_layout():
    """At least 12 projects, each with a train-like entry point importing another module."""
    projects = _projects()
    assert len(projects) >= 12
    for project in projects:
        sources = list(project.rglob("*.py")) + list(project.rglob("*.ipynb"))
        assert len(sources) >= 2, project.name
