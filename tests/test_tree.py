"""The guards of the suite itself: subprocesses run this tree's metriclint, and a missing Keras
stack fails the runtime tests instead of skipping them."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

import keras_stack
from tree import REPO, WRONG_COPY_EXIT, WRONG_COPY_MESSAGE, metriclint_command, tree_env


def test_subprocess_runs_this_trees_metriclint(tmp_path):
    done = subprocess.run(metriclint_command("--version"), cwd=tmp_path, env=tree_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "0.1.0" in done.stdout
    assert str(REPO) in tree_env()["PYTHONPATH"].split(":")[0]


def test_subprocess_refuses_another_copy_of_metriclint(tmp_path):
    """A stale copy first on the path (as an installed one would be) is caught, not tested."""
    other = tmp_path / "elsewhere" / "metriclint"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("", encoding="utf-8")
    (other / "__main__.py").write_text("print('stale copy ran')\n", encoding="utf-8")
    env = tree_env()
    env["PYTHONPATH"] = f"{other.parent}:{env['PYTHONPATH']}"
    done = subprocess.run(metriclint_command("--version"), cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == WRONG_COPY_EXIT
    assert WRONG_COPY_MESSAGE in done.stderr and str(other) in done.stderr
    assert "stale copy ran" not in done.stdout


def test_missing_keras_stack_fails_unless_explicitly_skipped(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tf_keras" else real(name, *a))
    monkeypatch.delenv(keras_stack.SKIP_RUNTIME_VARIABLE, raising=False)
    with pytest.raises(pytest.fail.Exception, match="tf_keras not installed"):
        keras_stack.require_keras_stack()
    monkeypatch.setenv(keras_stack.SKIP_RUNTIME_VARIABLE, "yes")  # only the exact opt-in counts
    with pytest.raises(pytest.fail.Exception):
        keras_stack.require_keras_stack()
    monkeypatch.setenv(keras_stack.SKIP_RUNTIME_VARIABLE, "1")
    with pytest.raises(pytest.skip.Exception, match="tf_keras"):
        keras_stack.require_keras_stack()


def test_ci_never_opts_out_of_the_runtime_proof():
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert keras_stack.SKIP_RUNTIME_VARIABLE not in script


def test_in_process_metriclint_is_this_trees_code():
    """The tests that import metriclint run this tree's code: the tree itself (PYTHONPATH), or an
    installed copy (CI's `pip install '.[test]'`) whose modules are byte for byte the tree's."""
    import metriclint

    imported = Path(metriclint.__file__).resolve().parent
    tree = REPO / "metriclint"
    if imported == tree:
        return
    mine = {p.relative_to(tree): p.read_bytes() for p in tree.rglob("*.py")}
    theirs = {p.relative_to(imported): p.read_bytes() for p in imported.rglob("*.py")}
    stale = sorted(str(name) for name in set(mine) | set(theirs) if mine.get(name) != theirs.get(name))
    assert not stale, f"metriclint imported from {imported} differs from the tree in {stale[:10]}"
