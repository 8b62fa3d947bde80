"""Dump the installed Keras's metric classes and losses, for tests/runtime/test_metric_catalogue.py.

Usage: python probe_metric_catalogue.py 3|2 '<json: {"losses": [...], "loss_strings": [...]}>'
(under the matching environment: TF_USE_LEGACY_KERAS=1 for "2"). Prints one
`METRICLINT_RESULT {json}` line:

- "metrics": for every public class in `keras.metrics`: its constructor parameters and the
  `name` of an instance built with defaults (plus the arguments in REQUIRED when the class
  needs some), or the error building it raised;
- "losses": which of the given `keras.losses` attributes exist;
- "loss_strings": for each given string, the error `keras.losses.get(s)` raises (None: it works).

Each class is built once, in this fresh process: tf_keras numbers a repeated default name
(`mean_metric_wrapper_1`), so a second instance would not show the default.
"""

import inspect
import json
import sys

flavour = sys.argv[1]
request = json.loads(sys.argv[2])
if flavour == "3":
    import keras
else:
    import tf_keras as keras


def _fn(y_true, y_pred):
    return y_true


# Constructor arguments without a default, for the classes that need them.
REQUIRED = {
    "IoU": {"num_classes": 2, "target_class_ids": [0]},
    "MeanIoU": {"num_classes": 2},
    "OneHotIoU": {"num_classes": 2, "target_class_ids": [0]},
    "OneHotMeanIoU": {"num_classes": 2},
    "PrecisionAtRecall": {"recall": 0.5},
    "RecallAtPrecision": {"precision": 0.5},
    "SensitivityAtSpecificity": {"specificity": 0.5},
    "SpecificityAtSensitivity": {"sensitivity": 0.5},
    "MeanRelativeError": {"normalizer": [1.0]},
    "MeanMetricWrapper": {"fn": _fn},
}
_VAR = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def error(exc):
    return {"type": type(exc).__name__, "message": str(exc)[:300]}


metrics = {}
for name in sorted(dir(keras.metrics)):
    cls = getattr(keras.metrics, name)
    if name.startswith("_") or not inspect.isclass(cls):
        continue
    entry = {"is_metric": issubclass(cls, keras.metrics.Metric)}
    try:
        signature = inspect.signature(cls.__init__)
        entry["params"] = [p.name for p in signature.parameters.values() if p.kind not in _VAR and p.name != "self"]
    except (TypeError, ValueError) as exc:
        entry["params"] = None
        entry["signature_error"] = error(exc)
    if name != "Metric":
        try:
            entry["name"] = cls(**REQUIRED.get(name, {})).name
        except Exception as exc:  # noqa: BLE001 - recorded for the test to report
            entry["name"] = None
            entry["error"] = error(exc)
    metrics[name] = entry

losses = {attr: hasattr(keras.losses, attr) for attr in request["losses"]}
loss_strings = {}
for string in request["loss_strings"]:
    try:
        keras.losses.get(string)
        loss_strings[string] = None
    except Exception as exc:  # noqa: BLE001
        loss_strings[string] = error(exc)

out = {"version": keras.__version__, "metrics": metrics, "losses": losses, "loss_strings": loss_strings}
print("METRICLINT_RESULT " + json.dumps(out))
