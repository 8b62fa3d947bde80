"""KM211: `F1Score()`/`FBetaScore()` without `threshold` on a single sigmoid output unit."""

from __future__ import annotations

from typing import Iterator, Optional, Set

import libcst as cst

from ..diagnostics import Safety
from ..facts.collect import find_keyword, positional_args
from ..facts.entries import COMPILE_ANY_METRICS, Words
from ..facts.models import CompileInfo, MetricRef, ModelInfo, logits_reason, model_facts
from ..keras.metric_strings import METRIC_STRINGS
from ..keras.metrics import BINARY
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import add_keyword, compile_metric_refs, keras_module_reference

# class -> position of `threshold` in the constructor (the same on Keras 3 and tf_keras:
# `F1Score(average=None, threshold=None, name=..., dtype=None)`,
# `FBetaScore(average=None, beta=1.0, threshold=None, name=..., dtype=None)`)
_THRESHOLD_POSITION = {"F1Score": 1, "FBetaScore": 2}
# metric strings that build one of them with the default `threshold=None`
_STRINGS = {s: entry for s, entry in METRIC_STRINGS.items() if entry.metric_class in _THRESHOLD_POSITION}


class F1WithoutThreshold(Rule):
    code = "KM211"
    name = "f1-without-threshold"
    summary = "`F1Score()`/`FBetaScore()` without `threshold` on one sigmoid unit: every sample counts as positive"
    fix_safety = Safety.SAFE
    needs = (COMPILE_ANY_METRICS, Words(frozenset(_THRESHOLD_POSITION) | frozenset(_STRINGS)))

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        seen: Set[int] = set()
        for model in model_facts(ctx).values():
            for info in model.compiles:
                why = _single_probability(model, info)
                if why is None:
                    continue
                for metric in compile_metric_refs(ctx, info):
                    key = id(metric.constructor) if metric.constructor is not None else id(metric.node)
                    if key in seen:
                        continue
                    finding = self._finding(ctx, metric, why)
                    if finding is not None:
                        seen.add(key)
                        yield finding

    def _finding(self, ctx: RuleContext, metric: MetricRef, why: str) -> Optional[Finding]:
        def message(what: str) -> str:
            return (f"`{what}` has `threshold=None` on {why}. It marks the largest output of each row as "
                    "positive, and with one unit that is every sample, so it logs the F-score of predicting "
                    "all positives (in metriclint's test program 0.543 where the F1 at 0.5 was 0.826); pass `threshold=0.5`")

        if metric.string is not None:
            entry = _STRINGS.get(metric.string)
            key = entry.key(ctx.flavour) if entry is not None else None
            if entry is None or key is None:
                return None  # not an F-score, or a string this flavour rejects (KM110)
            text = f'"{metric.string}"'
            reference = keras_module_reference(ctx)
            if reference is None:
                return Finding(metric.node, message(text))
            replacement = f'{reference}.metrics.{entry.metric_class}(threshold=0.5, name="{key}")'
            return Finding(metric.node, message(text), FixPlan(
                Safety.SAFE, "Threshold at 0.5, keeping the key",
                lambda loc, node=metric.node: [loc.replace(node, replacement)]))
        position = _THRESHOLD_POSITION.get(metric.keras_class or "")
        call = metric.constructor
        if position is None or call is None or any(arg.star for arg in call.args):
            return None
        given = find_keyword(call, "threshold")
        if given is None and len(positional_args(call)) > position:
            given = positional_args(call)[position]
        what = f"{metric.keras_class}()"
        if given is None:
            return Finding(metric.node, message(what), FixPlan(
                Safety.SAFE, "Add `threshold=0.5`",
                lambda loc: add_keyword(loc, call, "threshold", "0.5")))
        if isinstance(given.value, cst.Name) and given.value.value == "None":
            return Finding(given, message(what), FixPlan(
                Safety.SAFE, "Set `threshold=0.5`",
                lambda loc, node=given.value: [loc.replace(node, "0.5")]))
        return None  # a threshold given: code done right (or deliberate)


def _single_probability(model: ModelInfo, info: CompileInfo) -> Optional[str]:
    """What says the model outputs one probability (a description for the message), or None.

    One `Dense(1)` unit, with a sigmoid, or linear/unknown but trained with a binary loss that
    does not say `from_logits=True` (Keras clips it to [eps, 1 - eps]: it is trained as a
    probability). Logits (KM202's business: it reports F1Score there, `threshold=0.0` raises)
    and softmax outputs (argmax over several units is right) are left alone.
    """
    if model.output_count not in (None, 1) or model.final_units != 1:
        return None
    if logits_reason(model, info) is not None:
        return None  # KM202 reports it
    if model.final_activation == "sigmoid":
        return "a single sigmoid unit"
    loss = info.loss
    if model.final_activation in (None, "linear") and loss is not None and loss.family == BINARY:
        if loss.from_logits is False:
            return "a single unit trained with binary cross-entropy"
    return None


_SIGMOID = "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1, activation='sigmoid')])\n"
_BCE = "loss='binary_crossentropy'"

F1WithoutThreshold.valid = (
    Example("import keras\n" + _SIGMOID + f"model.compile({_BCE}, metrics=[keras.metrics.F1Score(threshold=0.5)])\n"),
    # given positionally: F1Score(average, threshold), FBetaScore(average, beta, threshold)
    Example("import keras\n" + _SIGMOID + f"model.compile({_BCE}, metrics=[keras.metrics.F1Score('micro', 0.4), "
            "keras.metrics.FBetaScore(None, 2.0, 0.3)])\n"),
    # softmax over several units: argmax is right
    Example("import keras\nmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='softmax')])\n"
            "model.compile(loss='categorical_crossentropy', metrics=[keras.metrics.F1Score(average='macro')])\n"),
    # logits: KM202 reports F1Score there
    Example("import keras\nmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
            "model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=[keras.metrics.F1Score()])\n"),
    # one linear unit trained for regression
    Example("import keras\nmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
            "model.compile(loss='mse', metrics=[keras.metrics.F1Score()])\n"),
    # several sigmoid units (multi-label): not this rule
    Example("import keras\nmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation='sigmoid')])\n"
            f"model.compile({_BCE}, metrics=[keras.metrics.F1Score()])\n"),
    # an unknown model
    Example("import keras\ndef go(model):\n    model.compile(loss='binary_crossentropy', metrics=[keras.metrics.F1Score()])\n"),
    # the string on Keras 2 is a KM110 error, not this rule
    Example("import tf_keras as keras\n" + _SIGMOID + f"model.compile({_BCE}, metrics=['f1_score'])\n", flavour="2"),
    # tensorflow_addons' F1Score is not Keras's
    Example("import keras\nimport tensorflow_addons as tfa\n" + _SIGMOID
            + f"model.compile({_BCE}, metrics=[tfa.metrics.F1Score(num_classes=1)])\n"),
)

F1WithoutThreshold.invalid = (
    Example(
        "import keras\n" + _SIGMOID + f"model.compile({_BCE}, metrics=[keras.metrics.F1Score()])\n",
        fixed="import keras\n" + _SIGMOID + f"model.compile({_BCE}, metrics=[keras.metrics.F1Score(threshold=0.5)])\n",
        safety="safe",
    ),
    # tf.keras, FBetaScore with arguments, model built with add()
    Example(
        "import tensorflow as tf\nmodel = tf.keras.Sequential()\nmodel.add(tf.keras.layers.Dense(1, activation=tf.keras.activations.sigmoid))\n"
        "model.compile('adam', 'binary_crossentropy', metrics=[tf.keras.metrics.FBetaScore(beta=2.0, name='f2')])\n",
        fixed="import tensorflow as tf\nmodel = tf.keras.Sequential()\nmodel.add(tf.keras.layers.Dense(1, activation=tf.keras.activations.sigmoid))\n"
        "model.compile('adam', 'binary_crossentropy', metrics=[tf.keras.metrics.FBetaScore(beta=2.0, name='f2', threshold=0.5)])\n",
        safety="safe",
    ),
    # from-imports, functional model, a metric in a variable, explicit threshold=None
    Example(
        "from tensorflow.keras import Input, Model, layers\nfrom tensorflow.keras.metrics import F1Score\n"
        "inputs = Input((4,))\noutputs = layers.Dense(1, activation='sigmoid')(inputs)\nmodel = Model(inputs, outputs)\n"
        "f1 = F1Score(threshold=None)\nmodel.compile(loss='binary_crossentropy', metrics=[f1])\n",
        fixed="from tensorflow.keras import Input, Model, layers\nfrom tensorflow.keras.metrics import F1Score\n"
        "inputs = Input((4,))\noutputs = layers.Dense(1, activation='sigmoid')(inputs)\nmodel = Model(inputs, outputs)\n"
        "f1 = F1Score(threshold=0.5)\nmodel.compile(loss='binary_crossentropy', metrics=[f1])\n",
        safety="safe",
    ),
    # tf_keras (Keras 2), a linear unit trained with binary cross-entropy, weighted_metrics
    Example(
        "import tf_keras\nmodel = tf_keras.Sequential([tf_keras.layers.Dense(1)])\n"
        "model.compile(loss=tf_keras.losses.BinaryCrossentropy(), weighted_metrics=[tf_keras.metrics.F1Score()])\n",
        fixed="import tf_keras\nmodel = tf_keras.Sequential([tf_keras.layers.Dense(1)])\n"
        "model.compile(loss=tf_keras.losses.BinaryCrossentropy(), weighted_metrics=[tf_keras.metrics.F1Score(threshold=0.5)])\n",
        flavour="2",
        safety="safe",
    ),
    # the Keras 3 string builds F1Score(): replaced, keeping the key
    Example(
        "from tensorflow import keras\n" + _SIGMOID + f"model.compile({_BCE}, metrics=['accuracy', 'f1_score'])\n",
        fixed="from tensorflow import keras\n" + _SIGMOID
        + f"model.compile({_BCE}, metrics=['accuracy', keras.metrics.F1Score(threshold=0.5, name=\"f1_score\")])\n",
        safety="safe",
    ),
)
