"""KM202: thresholded metrics (accuracy, precision, recall, AUC) on binary logits."""

from __future__ import annotations

from typing import Iterator, Optional

from ..diagnostics import Safety
from ..facts.collect import find_keyword, positional_args
from ..facts.entries import COMPILE_METRICS, Words
from ..facts.models import MetricRef, group_logits_reason, metric_groups, model_facts
from ..keras.metrics import ACCURACY_STRINGS
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import add_keyword, keras_module_reference

# class -> (keyword that moves the decision boundary to logit 0, its value, its position in
# the signature: the same on Keras 3 and tf_keras, e.g. `Precision(0.5)` is `thresholds=0.5`)
_LOGIT_ARGUMENT = {
    "BinaryAccuracy": ("threshold", "0.0", 2),
    "Precision": ("thresholds", "0.0", 0),
    "Recall": ("thresholds", "0.0", 0),
    "AUC": ("from_logits", "True", 9),
}
_STRINGS = ACCURACY_STRINGS | {"binary_accuracy"}


class ThresholdOnLogits(Rule):
    code = "KM202"
    name = "threshold-on-logits"
    summary = "Accuracy/precision/recall/AUC threshold at 0.5, but the binary model outputs logits"
    fix_safety = Safety.SAFE
    needs = (COMPILE_METRICS, Words(frozenset({"from_logits"})))  # `logits_reason` reads `from_logits=True`

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for model in model_facts(ctx).values():
            for info in model.compiles:
                for group in metric_groups(model, info):  # one per output the metrics are given to
                    why = group_logits_reason(group)
                    if why is None:
                        continue
                    for metric in group.metrics:
                        finding = self._finding(ctx, metric, why)
                        if finding is not None:
                            yield finding

    def _finding(self, ctx: RuleContext, metric: MetricRef, why: str) -> Optional[Finding]:
        head = f"thresholds at 0.5, but the model outputs logits. Logits: {why}"
        if metric.string in _STRINGS:
            reference = keras_module_reference(ctx)
            message = f"`\"{metric.string}\"` {head}; use `BinaryAccuracy(threshold=0.0)`"
            if reference is None:
                return Finding(metric.node, message)
            replacement = f'{reference}.metrics.BinaryAccuracy(threshold=0.0, name="{metric.string}")'
            return Finding(metric.node, message, FixPlan(
                Safety.SAFE, "Threshold at 0.0 (logit of 0.5), keeping the key",
                lambda loc, node=metric.node: [loc.replace(node, replacement)]))
        if metric.keras_class in ("F1Score", "FBetaScore"):
            return Finding(metric.node, f"`{metric.keras_class}` {head}; it cannot take `threshold=0.0` "
                           "(ValueError): add a sigmoid output or compute it after `keras.activations.sigmoid`")
        argument = _LOGIT_ARGUMENT.get(metric.keras_class or "")
        constructor = metric.constructor
        if argument is None or constructor is None:
            return None
        keyword, value, position = argument
        if find_keyword(constructor, keyword) is not None or len(positional_args(constructor)) > position:
            return None  # thresholds=0.0 / from_logits=True: code done right (or deliberate)
        if metric.keras_class == "AUC":
            head = (f"spreads its thresholds over [0, 1], but the model outputs logits. Logits: {why}; every "
                    "negative logit lands in one bucket")
        return Finding(metric.node, f"`{metric.keras_class}()` {head}; pass `{keyword}={value}`", FixPlan(
            Safety.SAFE, f"Add `{keyword}={value}`",
            lambda loc, call=constructor: add_keyword(loc, call, keyword, value)))


_HEAD = "import keras\n"
_LOGITS = "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
_BCE = "loss=keras.losses.BinaryCrossentropy(from_logits=True)"

_TWO = (
    "inp = keras.Input((4,))\n"
    "a = keras.layers.Dense(1, name='cls')(inp)\n"
    "b = keras.layers.Dense(1, name='reg')(inp)\n"
    "model = keras.Model(inp, {'cls': a, 'reg': b})\n"
)

ThresholdOnLogits.valid = (
    # several outputs: the metric belongs to the output whose loss takes probabilities
    Example(_HEAD + _TWO + "model.compile(loss={'cls': keras.losses.BinaryCrossentropy(from_logits=True), 'reg': 'binary_crossentropy'},"
            " metrics={'reg': ['accuracy']})\n"),
    # metrics given to an output the file does not show (a name that is not an output): unknown
    Example(_HEAD + _TWO + "model.compile(loss={'cls': keras.losses.BinaryCrossentropy(from_logits=True), 'reg': 'mse'},"
            " metrics={'other': ['accuracy']})\n"),
    # sparse categorical CE on logits with "accuracy" is right: argmax
    Example(_HEAD + "model = keras.Sequential()\nmodel.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])\n"),
    Example(_HEAD + _LOGITS + f"model.compile({_BCE}, metrics=[keras.metrics.BinaryAccuracy(threshold=0.0), keras.metrics.AUC(from_logits=True)])\n"),
    Example(_HEAD + "model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\nmodel.compile(loss='binary_crossentropy', metrics=['accuracy'])\n"),
    Example(_HEAD + "model = keras.Sequential()\nmodel.compile(loss=keras.losses.BinaryCrossentropy(from_logits=False), metrics=['accuracy'])\n"),
    # a linear Dense(1) with plain binary cross-entropy is trained as a probability (the loss
    # clips it): 0.5 is its boundary (measured 0.8475 at 0.5 vs 0.6925 at 0.0). Not logits.
    Example("import tensorflow as tf\nmodel = tf.keras.Sequential()\nmodel.add(tf.keras.layers.Dense(1))\n"
            "model.compile(loss='binary_crossentropy', metrics=['acc', tf.keras.metrics.AUC()])\n"),
    # sigmoid output and from_logits=True (double sigmoid): the 0.5 metrics match predict() > 0.5;
    # threshold=0.0 would call everything positive
    Example(_HEAD + "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
            f"model.compile({_BCE}, metrics=['accuracy', keras.metrics.Precision()])\n"),
    # a threshold given positionally (`Precision(0.0)` is `thresholds=0.0`): given, left alone
    Example(_HEAD + _LOGITS + f"model.compile({_BCE}, metrics=[keras.metrics.Precision(0.0), keras.metrics.Recall([0.0])])\n"),
    # logits handled already: thresholds=0.0 on precision/recall, named accuracy class
    Example(_HEAD + _LOGITS + f"model.compile({_BCE}, metrics=[keras.metrics.Precision(thresholds=0.0), "
            "keras.metrics.Recall(thresholds=[0.0]), keras.metrics.BinaryAccuracy(name='acc', threshold=0.0)])\n"),
)

ThresholdOnLogits.invalid = (
    Example(
        _HEAD + _TWO + "model.compile(loss={'cls': keras.losses.BinaryCrossentropy(from_logits=True), 'reg': 'mse'}, metrics={'cls': ['accuracy']})\n",
        fixed=_HEAD + _TWO + "model.compile(loss={'cls': keras.losses.BinaryCrossentropy(from_logits=True), 'reg': 'mse'}, "
        "metrics={'cls': [keras.metrics.BinaryAccuracy(threshold=0.0, name=\"accuracy\")]})\n",
        safety="safe",
    ),
    Example(
        _HEAD + _LOGITS + f"model.compile({_BCE}, metrics=['accuracy'])\n",
        fixed=_HEAD + _LOGITS + f"model.compile({_BCE}, metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name=\"accuracy\")])\n",
        safety="safe",
    ),
    Example(
        _HEAD + _LOGITS + f"model.compile({_BCE}, metrics=[keras.metrics.AUC(name='auc'), keras.metrics.Precision(), keras.metrics.Recall()])\n",
        fixed=_HEAD + _LOGITS + f"model.compile({_BCE}, metrics=[keras.metrics.AUC(name='auc', from_logits=True), "
        "keras.metrics.Precision(thresholds=0.0), keras.metrics.Recall(thresholds=0.0)])\n",
        count=3,
        safety="safe",
    ),
    # tf.keras, `Dense(1)` added later, the loss as a keyword-less class
    Example(
        "import tensorflow as tf\nmodel = tf.keras.Sequential()\nmodel.add(tf.keras.layers.Dense(1))\n"
        "model.compile('adam', tf.keras.losses.BinaryCrossentropy(from_logits=True), metrics=['acc'])\n",
        fixed="import tensorflow as tf\nmodel = tf.keras.Sequential()\nmodel.add(tf.keras.layers.Dense(1))\n"
        "model.compile('adam', tf.keras.losses.BinaryCrossentropy(from_logits=True), "
        "metrics=[tf.keras.metrics.BinaryAccuracy(threshold=0.0, name=\"acc\")])\n",
        safety="safe",
    ),
    # other imports before `from tensorflow import keras` (the fixture's shape): still fixed
    Example(
        "import json\n\nimport numpy as np\nfrom tensorflow import keras\n\n" + _LOGITS + f"model.compile({_BCE}, metrics=['accuracy'])\n",
        fixed="import json\n\nimport numpy as np\nfrom tensorflow import keras\n\n" + _LOGITS
        + f"model.compile({_BCE}, metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name=\"accuracy\")])\n",
        safety="safe",
    ),
    # F1Score: report only
    Example(_HEAD + _LOGITS + f"model.compile({_BCE}, metrics=[keras.metrics.F1Score()])\n",
            fixed=_HEAD + _LOGITS + f"model.compile({_BCE}, metrics=[keras.metrics.F1Score()])\n",
            safety="none",),
    # functional model and a loss object in a variable
    Example(
        _HEAD + "inputs = keras.Input((4,))\noutputs = keras.layers.Dense(1)(inputs)\nmodel = keras.Model(inputs, outputs)\n"
        "bce = keras.losses.BinaryCrossentropy(from_logits=True)\nauc = keras.metrics.AUC()\nmodel.compile(loss=bce, metrics=[auc])\n",
        fixed=_HEAD + "inputs = keras.Input((4,))\noutputs = keras.layers.Dense(1)(inputs)\nmodel = keras.Model(inputs, outputs)\n"
        "bce = keras.losses.BinaryCrossentropy(from_logits=True)\nauc = keras.metrics.AUC(from_logits=True)\nmodel.compile(loss=bce, metrics=[auc])\n",
        safety="safe",
    ),
)
