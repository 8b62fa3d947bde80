"""KM103: `reset_states()` on a Keras metric; Keras 3 only has `reset_state()`."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ..diagnostics import Safety
from ..facts.entries import RESET_STATES_CALLS
from ..keras.symbols import METRIC
from .base import KERAS3_ONLY, Example, Finding, FixPlan, Rule, RuleContext


class MetricResetStates(Rule):
    code = "KM103"
    name = "metric-reset-states"
    summary = "`metric.reset_states()` raises AttributeError on Keras 3; the method is `reset_state()`"
    flavours = KERAS3_ONLY
    fix_safety = Safety.SAFE
    needs = (RESET_STATES_CALLS,)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for site in RESET_STATES_CALLS.sites(ctx.facts):
            func = site.node.func
            if not isinstance(func, cst.Attribute):
                continue
            metric = ctx.resolver.instance(func.value, site.scope, METRIC)
            if metric is None:
                continue  # RNN layers, models (KM109), agents, processes: not ours
            if metric.local_class is not None and ctx.resolver.class_defines(metric.local_class, "reset_states"):
                continue  # the user's metric defines reset_states itself (KM104 handles the definition)
            attr = func.attr
            yield Finding(
                attr,
                "`reset_states()` does not exist on Keras 3 metrics (AttributeError). Use `reset_state()`, "
                "which Keras 2 has too",
                FixPlan(Safety.SAFE, "Rename to `reset_state()`", lambda loc, attr=attr: [loc.replace(attr, "reset_state")]),
            )


_HEAD = "import keras\n"

MetricResetStates.valid = (
    # stateful RNN layers and models keep reset_states
    Example(_HEAD + "lstm = keras.layers.LSTM(4, stateful=True)\nlstm.reset_states()\n"),
    Example(_HEAD + "model = keras.Sequential()\nmodel.reset_states()\n"),
    # agents, processes and unknown objects
    Example(_HEAD + "agent = make_agent()\nagent.reset_states()\n"),
    Example(_HEAD + "def f(m):\n    m.reset_states()\n"),
    # Keras 2 has reset_states on metrics
    Example("import tf_keras as keras\nm = keras.metrics.Mean()\nm.reset_states()\n", flavour="2"),
    Example("from tensorflow import keras\nm = keras.metrics.Mean()\nm.reset_states()\n", flavour="2"),
    # a Metric subclass that defines reset_states itself
    Example(
        _HEAD
        + "class M(keras.metrics.Metric):\n"
        "    def reset_state(self):\n        pass\n"
        "    def reset_states(self):\n        self.reset_state()\n"
        "m = M()\nm.reset_states()\n"
    ),
    # comments and strings
    Example(_HEAD + "m = keras.metrics.Mean()\n# m.reset_states()\nx = 'm.reset_states()'\n"),
    Example(_HEAD + "m = keras.metrics.Mean()\nm.reset_state()\n"),
)

MetricResetStates.invalid = (
    Example(
        _HEAD + "acc = keras.metrics.SparseCategoricalAccuracy()\nacc.reset_states()\n",
        fixed=_HEAD + "acc = keras.metrics.SparseCategoricalAccuracy()\nacc.reset_state()\n",
        safety="safe",
    ),
    Example(
        "import tensorflow as tf\ntrain_loss = tf.keras.metrics.Mean(name='train_loss')\n"
        "for epoch in range(3):\n    train_loss.reset_states()\n",
        fixed="import tensorflow as tf\ntrain_loss = tf.keras.metrics.Mean(name='train_loss')\n"
        "for epoch in range(3):\n    train_loss.reset_state()\n",
        safety="safe",
    ),
    Example(
        "from tensorflow.keras.metrics import AUC as A\nm = A()\nm.reset_states()\n",
        fixed="from tensorflow.keras.metrics import AUC as A\nm = A()\nm.reset_state()\n",
        safety="safe",
    ),
    Example(
        "from keras.metrics import *\nm = Precision()\nm.reset_states()\n",
        fixed="from keras.metrics import *\nm = Precision()\nm.reset_state()\n",
        safety="safe",
    ),
    Example(
        _HEAD + "m = keras.metrics.get('auc')\nm.reset_states()\n",
        fixed=_HEAD + "m = keras.metrics.get('auc')\nm.reset_state()\n",
        safety="safe",
    ),
    Example(
        _HEAD + "model = keras.Sequential()\nfor m in model.metrics:\n    m.reset_states()\n",
        fixed=_HEAD + "model = keras.Sequential()\nfor m in model.metrics:\n    m.reset_state()\n",
        safety="safe",
    ),
    Example(
        _HEAD + "model = keras.Sequential()\nmodel.metrics[0].reset_states()\n",
        fixed=_HEAD + "model = keras.Sequential()\nmodel.metrics[0].reset_state()\n",
        safety="safe",
    ),
    Example(
        _HEAD
        + "class Trainer:\n"
        "    def __init__(self):\n        self.loss_tracker = keras.metrics.Mean()\n"
        "    def epoch(self):\n        self.loss_tracker.reset_states()\n",
        fixed=_HEAD
        + "class Trainer:\n"
        "    def __init__(self):\n        self.loss_tracker = keras.metrics.Mean()\n"
        "    def epoch(self):\n        self.loss_tracker.reset_state()\n",
        safety="safe",
    ),
    Example(
        _HEAD
        + "class Base(keras.metrics.Metric):\n    pass\n"
        "class F1(Base):\n    def reset_state(self):\n        pass\n"
        "f1 = F1()\nf1.reset_states()\n",
        fixed=_HEAD
        + "class Base(keras.metrics.Metric):\n    pass\n"
        "class F1(Base):\n    def reset_state(self):\n        pass\n"
        "f1 = F1()\nf1.reset_state()\n",
        safety="safe",
    ),
)
