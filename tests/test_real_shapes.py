"""The shapes real code takes (issue 19), each found, each with a silent twin.

Arguments bound as Python binds them, values through names, helpers, loops and dicts, receivers
known by their use, Keras Tuner and the file's own callbacks: one program per shape, checked on
each flavour the rule fires on, and a twin of the same shape whose value is correct or cannot be
known, which must stay silent.
"""

from __future__ import annotations

from typing import List, Tuple

import pytest

from metriclint.engine import fix_text, lint_text
from metriclint.settings import Settings

HEAD = (
    "from tensorflow import keras\n"
    "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
)

# name -> (program, flavours, expected [(code, line)], a silent twin or None)
SHAPES = {
    "positional compile and fit (Keras 2 binds metrics third)": (
        HEAD + "model.compile('adam', 'binary_crossentropy', ['accuracy'])\n"
        "es = keras.callbacks.EarlyStopping('val_acc')\n"
        "model.fit(x, y, 32, 10, 1, [es], 0.2)\n",
        ("2",), [("KM207", 4)],
        HEAD + "model.compile('adam', 'binary_crossentropy', ['accuracy'])\n"
        "es = keras.callbacks.EarlyStopping('val_accuracy')\n"
        "model.fit(x, y, 32, 10, 1, [es], 0.2)\n",
    ),
    "**options dicts for the callback and fit": (
        "from tensorflow import keras\nSTOP = {'monitor': 'val_acc', 'patience': 3}\nFIT = dict(epochs=3, validation_split=0.2)\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
        "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"
        "model.fit(x, y, callbacks=[keras.callbacks.EarlyStopping(**STOP)], **FIT)\n",
        ("3", "2"), [("KM207", 2)],
        # options from elsewhere: whether they pass validation data is unknown
        "from tensorflow import keras\nfrom config import FIT\nSTOP = {'monitor': 'val_accuracy'}\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
        "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"
        "model.fit(x, y, callbacks=[keras.callbacks.EarlyStopping(**STOP)], **FIT)\n",
    ),
    "a keyword default, a module constant and a helper returning the history": (
        "from tensorflow import keras\nMETRICS = ['acc', keras.metrics.AUC(name='auc')]\n"
        "def build():\n    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
        "def train(model, metrics=METRICS, epochs=3):\n"
        "    model.compile(optimizer='adam', loss='binary_crossentropy', metrics=metrics)\n"
        "    return model.fit(x, y, epochs=epochs, validation_split=0.2)\n"
        "history = train(build())\nprint(history.history['val_accuracy'])\n",
        ("3", "2"), [("KM207", 9)],
        # the constant changes at run time: its elements are unknown
        "from tensorflow import keras\nMETRICS = ['acc']\nMETRICS.append(keras.metrics.AUC(name='auc'))\n"
        "def build():\n    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
        "def train(model, metrics=METRICS):\n"
        "    model.compile(optimizer='adam', loss='binary_crossentropy', metrics=metrics)\n"
        "    return model.fit(x, y, validation_split=0.2)\n"
        "history = train(build())\nprint(history.history['val_accuracy'])\n",
    ),
    "a model from a library, compiled here; callbacks and metrics from helpers": (
        "import segmentation_models as sm\nfrom tensorflow import keras\n"
        "def make_callbacks():\n    return [keras.callbacks.EarlyStopping(monitor='val_acc')]\n"
        "def get_metrics():\n    return ['accuracy', keras.metrics.AUC(name='auc')]\n"
        "model = sm.Unet('resnet34', classes=1, activation='sigmoid')\n"
        "model.compile('Adam', loss='binary_crossentropy', metrics=get_metrics())\n"
        "model.fit(x, y, validation_data=(xv, yv), callbacks=make_callbacks())\n",
        ("3", "2"), [("KM207", 4)],
        # deepchem's own fit on an object that is never compiled Keras-style: not a Keras model
        "import deepchem as dc\nfrom tensorflow import keras\nmodel = dc.models.GraphConvModel(2, mode='classification')\n"
        "model.fit(dataset, nb_epoch=10, callbacks=[keras.callbacks.EarlyStopping(monitor='val_acc')])\n",
    ),
    "a helper that compiles the model it is given; keys read in a loop": (
        "from tensorflow import keras\n"
        "def compile_model(model, lr=1e-3):\n"
        "    model.compile(optimizer=keras.optimizers.Adam(lr), loss='binary_crossentropy', metrics=['accuracy'])\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
        "compile_model(model)\nh = model.fit(x, y, validation_split=0.1)\n"
        "for key in ('acc', 'val_acc'):\n    print(h.history[key])\n",
        ("3", "2"), [("KM207", 7), ("KM207", 7)],
        # the helper compiles two different models: which keys a caller's model has is not one answer
        "from tensorflow import keras\n"
        "def compile_model(model, metrics):\n"
        "    model.compile(optimizer='adam', loss='binary_crossentropy', metrics=metrics)\n"
        "a = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
        "b = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
        "compile_model(a, ['acc'])\ncompile_model(b, ['accuracy'])\nh = a.fit(x, y)\n"
        "for key in ('acc', key_from_config):\n    print(h.history[key])\n",
    ),
    "Keras Tuner: callbacks given to search; the file's own callback reading logs": (
        "import keras_tuner as kt\nfrom tensorflow import keras\n"
        "def build_model(hp):\n"
        "    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
        "    model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"
        "    return model\n"
        "class Report(keras.callbacks.Callback):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n        print(epoch, logs['val_acc'])\n"
        "tuner = kt.Hyperband(build_model, objective='val_accuracy', max_epochs=5)\n"
        "tuner.search(x, y, validation_split=0.2, callbacks=[keras.callbacks.EarlyStopping(monitor='val_acc'), Report()])\n",
        ("3", "2"), [("KM207", 9), ("KM207", 11)],
        "import keras_tuner as kt\nfrom tensorflow import keras\n"
        "def build_model(hp):\n"
        "    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
        "    model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"
        "    return model\n"
        "class Report(keras.callbacks.Callback):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n        print(epoch, logs['val_accuracy'])\n"
        "tuner = kt.Hyperband(build_model, objective='val_accuracy', max_epochs=5)\n"
        "tuner.search(x, y, validation_split=0.2, callbacks=[keras.callbacks.EarlyStopping(monitor='val_accuracy'), Report()])\n",
    ),
    "metrics reset in a loop over a list built with +": (
        "import keras\nloss_tracker = keras.metrics.Mean(name='loss')\n"
        "metrics = [keras.metrics.AUC(), keras.metrics.Precision()]\n"
        "for epoch in range(3):\n    for m in [loss_tracker] + metrics:\n        m.reset_states()\n",
        ("3",), [("KM103", 6)],
        "import keras\nmetrics = [keras.layers.LSTM(4, stateful=True), keras.metrics.AUC()]\n"
        "for m in metrics:\n    m.reset_states()\n",
    ),
    "AUC(10000): num_thresholds by position, through a list": (
        "import keras\nmodel = keras.Sequential()\nMETRICS = [keras.metrics.AUC(10000)]\n"
        "model.compile(loss='binary_crossentropy', metrics=METRICS)\nmodel.fit(x, y)\n",
        ("3", "2"), [("KM303", 3)],
        "import keras\nmodel = keras.Sequential()\nMETRICS = [keras.metrics.AUC(200)]\n"
        "model.compile(loss='binary_crossentropy', metrics=METRICS)\nmodel.fit(x, y)\n",
    ),
    "a metric string tf_keras does not know, passed by position": (
        HEAD.replace("from tensorflow import keras", "import tf_keras as keras")
        + "model.compile('adam', 'binary_crossentropy', ['accuracy', 'auc'])\n",
        ("2",), [("KM110", 3)],
        HEAD.replace("from tensorflow import keras", "import tf_keras as keras")
        + "model.compile('adam', 'binary_crossentropy', ['accuracy', 'AUC'])\n",
    ),
    "a helper returning one of two models that log the same keys": (
        "from tensorflow import keras\n" + 'def build(kind):\n    if kind == "small":\n        small = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])\n        small.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])\n        return small\n    large = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1, activation="sigmoid")])\n    large.compile(optimizer="adam", loss="binary_crossentropy", metrics=[LAST])\n    return large\nmodel = build("small")\nmodel.fit(x, y, validation_split=0.1, callbacks=[keras.callbacks.EarlyStopping(monitor="val_acc")])\n'.replace("LAST", '"accuracy"'),
        ("3", "2"), [("KM207", 11)],
        # the two models log different keys (`acc` and `accuracy`): which one runs is not known
        "from tensorflow import keras\n" + 'def build(kind):\n    if kind == "small":\n        small = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])\n        small.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])\n        return small\n    large = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1, activation="sigmoid")])\n    large.compile(optimizer="adam", loss="binary_crossentropy", metrics=[LAST])\n    return large\nmodel = build("small")\nmodel.fit(x, y, validation_split=0.1, callbacks=[keras.callbacks.EarlyStopping(monitor="val_acc")])\n'.replace("LAST", '"acc"'),
    ),
}


def _found(code: str, flavour: str) -> List[Tuple[str, int]]:
    diagnostics = lint_text(code, "shape.py", Settings(target_keras=flavour)).diagnostics
    return sorted((d.code, d.start.line) for d in diagnostics if d.code.startswith("KM"))


def _cases():
    for name, (code, flavours, expected, twin) in SHAPES.items():
        for flavour in flavours:
            yield pytest.param(code, flavour, expected, twin, id=f"{name} (k{flavour})")


@pytest.mark.parametrize("code,flavour,expected,twin", list(_cases()))
def test_shape_is_found_and_its_twin_is_silent(code, flavour, expected, twin):
    assert _found(code, flavour) == sorted(expected), code
    if twin is not None:
        assert _found(twin, flavour) == [], twin


@pytest.mark.parametrize("code,flavour,expected,twin", list(_cases()))
def test_fixing_a_shape_leaves_nothing_of_it(code, flavour, expected, twin):
    """What `fix` can fix in these shapes it fixes where the value is written, and the program then
    reads only keys it logs: a second check finds none of the findings that had a fix."""
    settings = Settings(target_keras=flavour)
    fixable = {(d.code, d.start.line) for d in lint_text(code, "shape.py", settings).diagnostics if d.fix is not None}
    result = fix_text(code, "shape.py", settings, unsafe=True)
    compile(result.text, "shape.py", "exec")
    remaining = {(d.code, d.start.line) for d in result.diagnostics}
    assert not (fixable & remaining), result.text
