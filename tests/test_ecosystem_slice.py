"""A slice of `bench/ecosystem.py` for CI: real Keras sources, copied from the installed `keras`
and `tf_keras` packages (test dependencies; never imported here) into a temporary directory.

On them: no internal error, identical results with one worker and with two, without and with
the cache (cold and warm); `fix --unsafe-fixes` leaves every file it changed compiling, and a
second fix changes nothing. The full run over ~40 packages is `python bench/ecosystem.py`
(figures in bench/ECOSYSTEM.md).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from tree import metriclint_command, tree_env

REPO = Path(__file__).resolve().parents[1]
# Directories with metrics, callbacks and training code (where the rules fire, including fixes),
# plus single files the full run found findings in.
SLICE = {
    "keras": ["src/metrics", "src/callbacks", "src/trainers", "src/layers/layer_test.py", "src/backend/common"],
    "tf_keras": ["src/metrics", "src/callbacks.py", "src/callbacks_v1.py", "src/distribute/distributed_training_utils_v1.py",
                 "src/engine/training_v1.py", "src/engine/compile_utils.py"],
}

pytestmark = [pytest.mark.slow, pytest.mark.keras_stack]  # keras_stack: fails where keras/tf_keras are missing


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # finds the package without importing it
    assert spec is not None and spec.submodule_search_locations, f"{name} is not installed (a test dependency)"
    return Path(list(spec.submodule_search_locations)[0])


@pytest.fixture(scope="module")
def real_sources(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("slice")
    for package, parts in SLICE.items():
        base = _package_dir(package)
        for part in parts:
            source = base / part
            target = root / package / part
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so"))
            elif source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    files = [p for p in root.rglob("*.py")]
    assert len(files) > 40, "the slice is too small to mean anything"
    return root


def metriclint(*args: str, cwd: Path) -> Tuple[int, str, str]:
    done = subprocess.run(metriclint_command(*args), cwd=cwd, env=tree_env(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=1800)
    return done.returncode, done.stdout, done.stderr


def _tree(root: Path) -> Dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*") if p.is_file() and ".metriclint_cache" not in p.parts
    }


def _compiles(data: bytes) -> bool:
    try:
        compile(data, "<fixed>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def test_check_is_the_same_with_any_workers_and_cache(real_sources, tmp_path):
    work = tmp_path / "check"
    shutil.copytree(real_sources, work)
    runs: List[Tuple[int, str, str]] = [
        metriclint("check", "--no-cache", "-j", "1", "--output-format", "json", ".", cwd=work),
        metriclint("check", "--no-cache", "-j", "2", "--output-format", "json", ".", cwd=work),
        metriclint("check", "-j", "2", "--output-format", "json", ".", cwd=work),  # cold cache
        metriclint("check", "-j", "1", "--output-format", "json", ".", cwd=work),  # warm cache
    ]
    first = runs[0]
    assert first[0] in (0, 1), first[2]
    diagnostics = json.loads(first[1])
    assert [d for d in diagnostics if d["code"] == "E000"] == []
    for other in runs[1:]:
        assert other == first
    assert (work / ".metriclint_cache").is_dir()


def test_fix_leaves_valid_code_and_a_second_fix_changes_nothing(real_sources, tmp_path):
    work = tmp_path / "fix"
    shutil.copytree(real_sources, work)
    before = _tree(work)
    originals = {rel: (work / rel).read_bytes() for rel in before}
    code, out, err = metriclint("fix", "--unsafe-fixes", "--no-cache", "--output-format", "json", ".", cwd=work)
    assert code in (0, 1), err
    assert [d for d in json.loads(out) if d["code"] == "E000"] == []
    assert "would make the file invalid" not in err
    after = _tree(work)
    assert set(after) == set(before)  # no file appeared or vanished
    changed = [rel for rel in after if after[rel] != before[rel]]
    assert changed, "the slice has fixable findings; nothing was fixed"
    for rel in changed:
        assert rel.endswith(".py")
        if _compiles(originals[rel]):
            assert _compiles((work / rel).read_bytes()), rel
    code, out, err = metriclint("fix", "--unsafe-fixes", "--no-cache", ".", cwd=work)
    assert code in (0, 1), err
    assert _tree(work) == after
