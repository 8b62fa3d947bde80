"""KM105's fix runs on every Keras 3 backend: proven on JAX, where the obvious fix fails.

A `Mean` tracker updated in a layer's or model's `call()` works on the TensorFlow backend but
raises TypeError on JAX (keras-team/keras#21639: the JAX trainer maps metric variables only
around `compute_loss`). So KM105 updates trackers in `compute_loss`, as Keras's own
`Trainer.compute_loss` docstring does, and only reports backend-neutral layers. The fixture's
programs run here on JAX (test_fixtures.py runs them on TensorFlow).
"""

from __future__ import annotations

import os
import shutil
from importlib import metadata
from pathlib import Path

import pytest

from keras_stack import SKIP_RUNTIME_VARIABLE, require_keras_stack

pytestmark = [pytest.mark.runtime, pytest.mark.keras_stack]

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "KM105_model_compute_loss"

# The obvious fix of a backend-neutral layer: a tracker updated in `call()`.
_LAYER_TRACKER_IN_CALL = '''
import json

import keras
import numpy as np

x = (np.random.default_rng(0).integers(0, 8, size=(64, 4)) / 4).astype("float32")
y = (x.sum(axis=1) > 6).astype("float32")[:, None]


class ActivityLogger(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.activity_mean = keras.metrics.Mean(name="activity_mean")

    def call(self, inputs):
        self.activity_mean.update_state(keras.ops.mean(inputs))
        return inputs


model = keras.Sequential([keras.Input((4,)), ActivityLogger(), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy")
history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
print("METRICLINT_RESULT " + json.dumps({"reported": history.history["activity_mean"], "expected": [float(x.mean())]}))
'''


def _jax() -> None:
    """Like the rest of the Keras stack, jax is required (the same explicit opt-out skips)."""
    require_keras_stack()
    try:
        metadata.version("jax")
    except metadata.PackageNotFoundError:
        if os.environ.get(SKIP_RUNTIME_VARIABLE) == "1":
            pytest.skip(f"{SKIP_RUNTIME_VARIABLE}=1 and jax not installed")
        pytest.fail("jax is not installed: the test extra pins jax and jaxlib (the CPU build)", pytrace=False)


def _copy(src: Path, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(src, directory / src.name))


def test_bad_program_fails_on_jax(tmp_path, run_on_backend):
    _jax()
    run = run_on_backend(_copy(FIXTURE / "bad.py", tmp_path / "bad"), "jax", tmp_path)
    run.check_backend("jax")
    found = run.exception()
    assert run.returncode != 0 and found is not None, run.describe()
    kind, message = found
    # JAX builds the model symbolically first; the add_metric NotImplementedError comes wrapped
    assert kind == "RuntimeError" and "Layer `add_metric()` method is deprecated" in message, run.describe()


def test_fixed_program_is_right_on_jax(tmp_path, run_on_backend):
    """fixed.py is what `metriclint fix --unsafe-fixes` writes (test_fixtures.py checks that)."""
    _jax()
    run = run_on_backend(_copy(FIXTURE / "fixed.py", tmp_path / "fixed"), "jax", tmp_path)
    run.check_backend("jax")
    assert run.returncode == 0, run.describe()
    result = run.result()
    assert result["reported"] == result["expected"] == [0.908203125, 1.9375], run.describe()


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_tracker_in_call_works_on_tensorflow_only(tmp_path, run_on_backend, backend):
    """Why KM105 leaves backend-neutral layers unfixed: the tracker-in-`call()` shape."""
    _jax()
    program = tmp_path / "layer_tracker.py"
    program.write_text(_LAYER_TRACKER_IN_CALL, encoding="utf-8")
    run = run_on_backend(program, backend, tmp_path)
    run.check_backend(backend)
    if backend == "tensorflow":
        assert run.returncode == 0, run.describe()
        result = run.result()
        assert result["reported"] == result["expected"], run.describe()
        return
    found = run.exception()
    assert found is not None and found[0] == "TypeError" and "'NoneType' object is not callable" in found[1], run.describe()
