"""`metriclint/keras/tuner_objectives.py` must match the installed keras-tuner.

The probe asks keras-tuner's own `infer_metric_direction` about every Keras metric and loss name
(and every name of the table): the table must give the same direction, and None exactly where
keras-tuner infers none (the tuner constructor then raises ValueError), TypeError included.
"""

from __future__ import annotations

from pathlib import Path

from metriclint.keras.metric_strings import METRIC_STRINGS
from metriclint.keras.tuner_objectives import INFERENCE_RAISES, INFERRED_DIRECTIONS, inferred_direction

import pytest

pytestmark = pytest.mark.runtime

PROBE = Path(__file__).resolve().parent / "probe_tuner_directions.py"
# log keys users pick as objectives that are not Keras names (keras-tuner must infer none)
_NOT_KERAS = ("f1", "prc", "auc_1", "fbeta_score", "r2")


def test_table_matches_keras_tuner(run_program, tmp_path):
    keys = {entry.key3 for entry in METRIC_STRINGS.values() if entry.key3} | set(METRIC_STRINGS)
    names = sorted(set(INFERRED_DIRECTIONS) | INFERENCE_RAISES | keys | set(_NOT_KERAS))
    run = run_program(PROBE, "3", tmp_path, args=names)
    assert run.returncode == 0, run.describe()
    data = run.result()
    assert data["version"] == "1.4.8"
    real = {name: direction for name, direction in data["directions"].items() if direction is not None}
    assert real == INFERRED_DIRECTIONS, (
        f"missing {sorted(set(real.items()) - set(INFERRED_DIRECTIONS.items()))}, "
        f"extra {sorted(set(INFERRED_DIRECTIONS.items()) - set(real.items()))}"
    )
    assert set(data["raises"]) == INFERENCE_RAISES
    assert all(inferred_direction(f"val_{name}") is None for name in _NOT_KERAS)
    assert inferred_direction("val_weighted_acc") == "max" and inferred_direction("val_loss") == "min"
