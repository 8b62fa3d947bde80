"""The metric-string table (`metriclint/keras/metric_strings.py`) against the installed Keras.

KM110 (metric string the flavour does not know) and KM207 (log keys) read that table. One
subprocess per flavour compiles and fits a tiny model with each string in `metrics=[...]` (the
table's strings, the known classes that fail as strings, case variants, a sample of typos and
every name the flavour's own metric lookup could find) and records the log key it produced or
the exception it raised. Checked per flavour:

- every string the table accepts compiles, fits, and logs exactly the key the table says;
- every string the table rejects (and every typo in the sample) fails in the first `fit` step with
  the flavour's error: Keras 3 `ValueError: Could not interpret metric identifier`, tf_keras
  `TypeError` (`'str' object is not callable` or `Could not locate function`);
- `NEEDS_ARGUMENTS` and `NOT_LABEL_METRICS` fail on both flavours;
- the table is complete: every name of the flavour's metric namespace that works is in it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest

from metriclint.keras import metric_strings
from metriclint.keras.metric_strings import METRIC_STRINGS, NEEDS_ARGUMENTS, NOT_LABEL_METRICS, lookup

pytestmark = pytest.mark.runtime

FLAVOURS = ("3", "2")

# Strings no Keras knows: typos and near-misses seen in real code. They fail on both flavours.
REJECTED_SAMPLE = (
    "accuarcy", "acuracy", "accuracy ", "Auc", "f1", "f1score", "precison", "recal", "rmse",
    "huber", "kld", "KLD", "iou", "mean_iou", "top_k", "sparse_accuracy", "val_accuracy", "loss",
    "Binary_Accuracy", "binary_focal_crossentropy", "categorical_focal_crossentropy",
)
# Keras compares these case-insensitively before looking anything up.
CASE_VARIANTS = ("ACC", "Acc", "ACCURACY", "Accuracy", "CE", "Crossentropy", "CrossEntropy")

# What a rejected string raises, per flavour (type, one of the message fragments).
REJECTION = {
    "3": ("ValueError", ("Could not interpret metric identifier",)),
    "2": ("TypeError", ("'str' object is not callable", "Could not locate function")),
}

_PROBE = r'''
"""Compile and fit a tiny model with each metric string; print what each logged or raised."""
import json
import sys
import warnings

import numpy as np
from tensorflow import keras

flavour, spec_path = sys.argv[1], sys.argv[2]
spec = json.load(open(spec_path))

if flavour == "3":
    from keras.src import metrics as namespace_module
    namespace = sorted(namespace_module.ALL_OBJECTS_DICT)
else:
    import tf_keras
    import tf_keras.src.metrics as namespace_module
    # tf_keras looks strings up in its metrics module's globals; add the public names too.
    namespace = sorted(
        {n for n, v in vars(namespace_module).items() if not n.startswith("_") and callable(v)}
        | {n for n in dir(tf_keras.metrics) if not n.startswith("_")}
    )

rng = np.random.default_rng(0)
x = rng.normal(size=(16, 4)).astype("float32")
y_binary = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
y_sparse = rng.integers(0, 3, size=(16,)).astype("int32")
y_onehot = np.eye(3, dtype="float32")[y_sparse]


def family(name):
    low = spec["classes"].get(name, name).lower()
    if "sparse" in low:
        return "sparse"
    if "categorical" in low or "top_k" in low or "topk" in low:
        return "categorical"
    return "binary"


def run(name):
    kind = family(name)
    if kind == "binary":
        head, loss, y = keras.layers.Dense(1, activation="sigmoid"), "binary_crossentropy", y_binary
    else:
        head = keras.layers.Dense(3, activation="softmax")
        loss, y = ("sparse_categorical_crossentropy", y_sparse) if kind == "sparse" else ("categorical_crossentropy", y_onehot)
    # a fresh model per string: tf_keras numbers repeated default names per model
    model = keras.Sequential([keras.Input((4,)), head])
    try:
        model.compile(optimizer="sgd", loss=loss, metrics=[name], run_eagerly=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    except Exception as exc:  # noqa: BLE001 - the type and message are what we record
        return {"error": type(exc).__name__, "message": str(exc)[:600]}
    keys = sorted(k for k in history.history if k != "loss")
    return {"keys": keys}


names = sorted(set(spec["strings"]) | set(namespace))
out = {"namespace": namespace, "results": {name: run(name) for name in names}}
print("METRICLINT_RESULT " + json.dumps(out))
'''


class _Probes:
    """Runs the probe once per flavour (per test process), on first use."""

    def __init__(self, run_program, directory: Path):
        self._run_program = run_program
        self._directory = directory
        self._data: Dict[str, Dict[str, Any]] = {}

    def __getitem__(self, flavour: str) -> Dict[str, Any]:
        if flavour not in self._data:
            cwd = self._directory / f"k{flavour}"
            cwd.mkdir(exist_ok=True)
            probe = cwd / "probe_metric_strings.py"
            probe.write_text(_PROBE, encoding="utf-8")
            strings = set(METRIC_STRINGS) | NEEDS_ARGUMENTS | NOT_LABEL_METRICS
            strings |= set(REJECTED_SAMPLE) | set(CASE_VARIANTS)
            spec = {
                "strings": sorted(strings),
                "classes": {s: e.metric_class for s, e in METRIC_STRINGS.items()},
            }
            (cwd / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
            run = self._run_program(probe, flavour, cwd, args=[flavour, str(cwd / "spec.json")])
            assert run.returncode == 0, run.describe()
            run.check_flavour()
            self._data[flavour] = run.result()
        return self._data[flavour]


@pytest.fixture(scope="module")
def probes(run_program, tmp_path_factory) -> _Probes:
    return _Probes(run_program, tmp_path_factory.mktemp("metric_strings"))


@pytest.fixture(params=FLAVOURS, ids=lambda f: f"k{f}")
def measured(request, probes):
    """(flavour, {string: {"keys": [...]} | {"error": type, "message": ...}}, namespace)."""
    data = probes[request.param]
    return request.param, data["results"], data["namespace"]


def _rejected_as_the_flavour_says(flavour: str, result: Dict[str, Any]) -> bool:
    kind, fragments = REJECTION[flavour]
    return result.get("error") == kind and any(f in result.get("message", "") for f in fragments)


def test_accepted_strings_log_the_tables_key(measured):
    flavour, results, _ = measured
    wrong = []
    for string, entry in sorted(METRIC_STRINGS.items()):
        key = entry.key(flavour)
        if key is None:
            continue
        got = results[string]
        if got.get("keys") != [key]:
            wrong.append(f"{string!r}: table says {key!r}, Keras gave {got}")
    assert not wrong, f"Keras {flavour}:\n" + "\n".join(wrong)


def test_rejected_strings_fail_with_the_flavours_error(measured):
    flavour, results, _ = measured
    rejected = [s for s, e in METRIC_STRINGS.items() if e.key(flavour) is None]
    assert rejected, "every flavour rejects some table strings"
    wrong = [f"{s!r}: {results[s]}" for s in sorted(rejected) + list(REJECTED_SAMPLE)
             if not _rejected_as_the_flavour_says(flavour, results[s])]
    assert not wrong, f"Keras {flavour}: these do not fail as {REJECTION[flavour]}:\n" + "\n".join(wrong)


def test_known_classes_that_are_no_strings_fail(measured):
    flavour, results, _ = measured
    for string in sorted(NEEDS_ARGUMENTS | NOT_LABEL_METRICS):
        assert "error" in results[string], f"Keras {flavour}: {string!r} worked: {results[string]}"
        assert lookup(string) is None, string


def test_case_variants_follow_lookup(measured):
    flavour, results, _ = measured
    for string in CASE_VARIANTS:
        entry = lookup(string)
        assert entry is not None, string
        key = entry.key(flavour)
        if key is None:
            assert _rejected_as_the_flavour_says(flavour, results[string]), (string, results[string])
        else:
            assert results[string].get("keys") == [key], (string, results[string])


def test_lookup_agrees_with_keras_on_every_probed_string(measured):
    """Complete: each name of the flavour's metric namespace, and each probed string, works
    exactly when `lookup` says so, with the key it says."""
    flavour, results, namespace = measured
    assert len(namespace) > 50, namespace
    wrong = []
    for string, result in sorted(results.items()):
        entry = lookup(string)
        key = entry.key(flavour) if entry is not None else None
        got = result.get("keys")
        if key is None and got is not None:
            wrong.append(f"{string!r}: Keras accepts it (keys {got}); the table does not")
        elif key is not None and got != [key]:
            wrong.append(f"{string!r}: table says {key!r}, Keras gave {result}")
    assert not wrong, f"Keras {flavour}:\n" + "\n".join(wrong)


def test_accepted_helper_matches_the_table():
    for flavour in FLAVOURS:
        table = metric_strings.accepted(flavour)
        assert table == {s: e.key(flavour) for s, e in METRIC_STRINGS.items() if e.key(flavour) is not None}
        assert "accuracy" in table and "acc" in table
    assert "auc" in metric_strings.accepted("3") and "auc" not in metric_strings.accepted("2")
