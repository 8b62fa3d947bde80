"""Dump what the installed Keras really accepts, for tests/runtime/test_keras_tables.py.

Usage: python probe_keras_tables.py 3|2  (under the matching environment: TF_USE_LEGACY_KERAS=1
for "2", so that `tensorflow.keras` is the same Keras). Prints one `METRICLINT_RESULT {json}` line.
"""

import inspect
import json
import re
import sys

import numpy as np

flavour = sys.argv[1]
if flavour == "3":
    import keras
else:
    import tf_keras as keras
import tensorflow as tf

METHODS = (
    "fit evaluate predict compile train_on_batch test_on_batch predict_on_batch "
    "fit_generator evaluate_generator predict_generator"
).split()
BOGUS = "metriclint_bogus_keyword"
_VAR = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def parameters(fn):
    sig = inspect.signature(fn)
    return {
        "named": [p.name for p in sig.parameters.values() if p.kind not in _VAR and p.name != "self"],
        "var_keyword": any(p.kind == inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()),
    }


def public_classes(module):
    return sorted(n for n in dir(module) if not n.startswith("_") and inspect.isclass(getattr(module, n)))


def error_of(call, **kwargs):
    try:
        call(**kwargs)
    except Exception as exc:  # noqa: BLE001 - the type is what we record
        return {"type": type(exc).__name__, "message": str(exc)}
    return None


out = {
    "version": keras.__version__,
    "tf_keras_same_model": tf.keras.Model is keras.Model,
    "tf_keras_same_metrics": public_classes(tf.keras.metrics) == public_classes(keras.metrics),
    "tf_keras_same_callbacks": public_classes(tf.keras.callbacks) == public_classes(keras.callbacks),
    "methods": {m: parameters(getattr(keras.Model, m)) for m in METHODS if hasattr(keras.Model, m)},
    "metrics": public_classes(keras.metrics),
    "callbacks": public_classes(keras.callbacks),
}

keras.utils.set_random_seed(0)
x = np.zeros((4, 2), "float32")
y = np.zeros((4, 1), "float32")
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
model.compile(loss="mse")


def batches():
    while True:
        yield x, y


calls = {
    "fit": lambda **kw: model.fit(x, y, verbose=0, **kw),
    "evaluate": lambda **kw: model.evaluate(x, y, verbose=0, **kw),
    "predict": lambda **kw: model.predict(x, verbose=0, **kw),
    "compile": lambda **kw: model.compile(loss="mse", **kw),
    "train_on_batch": lambda **kw: model.train_on_batch(x, y, **kw),
    "test_on_batch": lambda **kw: model.test_on_batch(x, y, **kw),
    "predict_on_batch": lambda **kw: model.predict_on_batch(x, **kw),
    "fit_generator": lambda **kw: model.fit_generator(batches(), steps_per_epoch=1, verbose=0, **kw),
    "evaluate_generator": lambda **kw: model.evaluate_generator(batches(), steps=1, **kw),
    "predict_generator": lambda **kw: model.predict_generator((x for _ in range(1)), steps=1, **kw),
}
# What a keyword the method does not take raises (AttributeError: the method is gone).
out["bogus_keyword_error"] = {m: error_of(call, **{BOGUS: 1}) for m, call in calls.items()}

# Keywords Keras says it takes through **kwargs (compile on tf_keras lists them in its error),
# and whether each is really accepted (with the value None: real values of `distribute` and
# `target_tensors` raise ValueError in eager mode).
documented = {}
message = (out["bogus_keyword_error"]["compile"] or {}).get("message", "")
if "Valid keyword arguments include" in message:
    names = re.findall(r'"(\w+)"', message.split("Valid keyword arguments include", 1)[1])
    documented["compile"] = {name: error_of(calls["compile"], **{name: None}) for name in names}
    # compile pops this one itself (with a logged warning) before validating the rest
    documented["compile"]["experimental_steps_per_execution"] = error_of(
        calls["compile"], experimental_steps_per_execution=1
    )
    # accepted by name, but a real value raises in eager TF 2 (backs KERAS2_NONE_ONLY)
    out["none_only_errors"] = {
        name: error_of(calls["compile"], **{name: [x]}) for name in ("target_tensors", "distribute")
    }
out["documented_kwargs"] = documented

if flavour == "2":  # the TF1 graph-mode engine (backs KERAS2_GRAPH_MODE_MODULES)
    import pkgutil

    from tf_keras.src import distribute as _distribute
    from tf_keras.src import engine as _engine
    from tf_keras.src.engine import training_v1

    out["graph_mode_modules"] = sorted(
        [m.name for m in pkgutil.iter_modules(_engine.__path__) if m.name.endswith("_v1")]
        + [f"distribute.{m.name}" for m in pkgutil.iter_modules(_distribute.__path__) if m.name.endswith("_v1")]
    )
    out["graph_mode_compile"] = parameters(training_v1.Model.compile)["named"]

# positional parameters of the metric and callback constructors (backs keras/constructors.py)
out["constructors"] = {}
for package in ("metrics", "callbacks"):
    module = getattr(keras, package)
    for name in public_classes(module):
        signature = inspect.signature(getattr(module, name).__init__)
        out["constructors"][f"{package}.{name}"] = [
            p.name for p in signature.parameters.values()
            if p.name != "self" and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        ]

# positional parameters and the `activation` default of output layers (backs keras/layers.py)
out["layers"] = {}
for name in public_classes(keras.layers):
    signature = inspect.signature(getattr(keras.layers, name).__init__)
    activation = signature.parameters.get("activation")
    out["layers"][f"layers.{name}"] = {
        "positional": [
            p.name for p in signature.parameters.values()
            if p.name != "self" and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        ],
        "activation_default": repr(activation.default) if activation is not None else None,
    }

print("METRICLINT_RESULT " + json.dumps(out))
