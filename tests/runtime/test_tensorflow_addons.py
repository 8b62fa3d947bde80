"""KM113's table of tensorflow-addons metrics is read off the installed tensorflow-addons.

`import tensorflow_addons` fails where Keras 3 is installed (that is the rule), so its classes
are read from their source files, without importing them: each twin's addons parameters in
order, the metrics without a twin, and the import failure itself.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from keras_stack import require_keras_stack
from metriclint.rules.km113 import NO_TWIN, TWINS

pytestmark = pytest.mark.keras_stack


def _package() -> Path:
    require_keras_stack()
    spec = importlib.util.find_spec("tensorflow_addons")
    assert spec is not None and spec.origin, "tensorflow-addons is not installed (it is in the test extra)"
    return Path(spec.origin).parent


def _init_parameters(path: Path, cls: str) -> tuple:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    return tuple(a.arg for a in item.args.args[1:])
    raise AssertionError(f"{cls}.__init__ not found in {path}")


def test_version_is_the_last_release():
    _package()
    assert metadata.version("tensorflow-addons") == "0.23.0"


def test_twins_take_the_addons_parameters_in_order():
    metrics = _package() / "metrics"
    files = {"F1Score": "f_scores.py", "FBetaScore": "f_scores.py", "RSquare": "r_square.py"}
    assert set(files) == set(TWINS)
    for leaf, twin in TWINS.items():
        assert _init_parameters(metrics / files[leaf], leaf) == twin.tfa_positional, leaf


def test_metrics_without_twin_are_addons_metrics():
    exported = (_package() / "metrics" / "__init__.py").read_text(encoding="utf-8")
    for leaf in NO_TWIN:
        assert f" {leaf}" in exported, leaf


@pytest.mark.parametrize("legacy", ["0", "1"])
def test_import_fails_where_keras_3_is_installed(legacy: str):
    _package()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", TF_USE_LEGACY_KERAS=legacy)
    run = subprocess.run([sys.executable, "-c", "import tensorflow_addons"], env=env, capture_output=True,
                         text=True, timeout=300, check=False)
    assert run.returncode == 1, run.stderr[-2000:]
    assert run.stderr.rstrip().splitlines()[-1] == "ModuleNotFoundError: No module named 'keras.src.engine'"
