"""KM214: `"accuracy"` on a multi-label sigmoid output: Keras computes an arg-max accuracy there."""

from __future__ import annotations

from typing import Iterator, Set

from ..diagnostics import Safety
from ..facts.entries import COMPILE_ANY_METRICS, COMPILE_LOSS, Words
from ..facts.models import model_facts
from ..facts.outputs import output_head
from ..keras.metrics import ACCURACY_SPELLINGS, BINARY
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import compile_metric_refs, keras_module_reference, literal_metric_string


class AccuracyOnMultiLabel(Rule):
    code = "KM214"
    name = "accuracy-on-multi-label"
    summary = '`"accuracy"` on several sigmoid outputs is an arg-max accuracy, not the share of right labels'
    fix_safety = Safety.UNSAFE
    needs = (COMPILE_ANY_METRICS, COMPILE_LOSS, Words(ACCURACY_SPELLINGS))

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        seen: Set[int] = set()
        for model in model_facts(ctx).values():
            head = output_head(ctx, model)
            if head is None or head.activation != "sigmoid" or head.units is None or head.units < 2:
                continue
            for info in model.compiles:
                loss = info.loss
                if loss is None or loss.family != BINARY or info.per_output_loss:
                    continue
                for metric in compile_metric_refs(ctx, info):
                    text = literal_metric_string(ctx, metric)
                    if text not in ACCURACY_SPELLINGS or id(metric.node) in seen:
                        continue
                    seen.add(id(metric.node))
                    message = (f'`"{text}"` on {head.units} sigmoid outputs (multi-label). Trained with binary '
                               "cross-entropy, Keras picks `CategoricalAccuracy` from the shapes, which only checks "
                               "the single most likely label (0.4825 in metriclint's test program, where the share "
                               "of right labels was 0.858); use `BinaryAccuracy` (if each sample has exactly one "
                               "label, use softmax and `categorical_crossentropy` instead)")
                    reference = keras_module_reference(ctx)
                    if reference is None:
                        yield Finding(metric.node, message)
                        continue
                    replacement = f'{reference}.metrics.BinaryAccuracy(name="{text}")'
                    yield Finding(metric.node, message, FixPlan(
                        Safety.UNSAFE, "Use `BinaryAccuracy` (every label at 0.5), keeping the key",
                        lambda loc, node=metric.node: [loc.replace(node, replacement)]))


_HEAD = "import keras\n"
_MULTI = "model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(5, activation='sigmoid')])\n"
_BCE = "loss='binary_crossentropy'"

AccuracyOnMultiLabel.valid = (
    # one sigmoid unit: "accuracy" is BinaryAccuracy, right
    Example(_HEAD + "model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation='sigmoid')])\n"
            f"model.compile({_BCE}, metrics=['accuracy'])\n"),
    Example(_HEAD + _MULTI + f"model.compile({_BCE}, metrics=[keras.metrics.BinaryAccuracy(name='accuracy')])\n"),
    # softmax: arg-max accuracy is right
    Example(_HEAD + "model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(5, activation='softmax')])\n"
            "model.compile(loss='categorical_crossentropy', metrics=['accuracy'])\n"),
    # the output's units are not known
    Example(_HEAD + "model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(N, activation='sigmoid')])\n"
            f"model.compile({_BCE}, metrics=['accuracy'])\n"),
    # a loss the file does not reveal
    Example(_HEAD + _MULTI + "model.compile(loss=focal_loss, metrics=['accuracy'])\n"),
    # logits (a linear output with `from_logits=True`): KM202's business
    Example(_HEAD + "model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(5)])\n"
            "model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=['accuracy'])\n"),
)

AccuracyOnMultiLabel.invalid = (
    Example(
        _HEAD + _MULTI + f"model.compile({_BCE}, metrics=['accuracy'])\n",
        fixed=_HEAD + _MULTI + f"model.compile({_BCE}, metrics=[keras.metrics.BinaryAccuracy(name=\"accuracy\")])\n",
        safety="unsafe",
    ),
    # functional, `Dense(5)` then a sigmoid `Activation`, `"acc"`, tf.keras
    Example(
        "import tensorflow as tf\ninputs = tf.keras.Input((8,))\nscores = tf.keras.layers.Dense(5)(inputs)\n"
        "probs = tf.keras.layers.Activation('sigmoid')(scores)\nmodel = tf.keras.Model(inputs, probs)\n"
        "model.compile(optimizer='adam', loss=tf.keras.losses.BinaryCrossentropy(), metrics=['acc'])\n",
        fixed="import tensorflow as tf\ninputs = tf.keras.Input((8,))\nscores = tf.keras.layers.Dense(5)(inputs)\n"
        "probs = tf.keras.layers.Activation('sigmoid')(scores)\nmodel = tf.keras.Model(inputs, probs)\n"
        "model.compile(optimizer='adam', loss=tf.keras.losses.BinaryCrossentropy(), "
        "metrics=[tf.keras.metrics.BinaryAccuracy(name=\"acc\")])\n",
        safety="unsafe",
    ),
    # tf_keras, `add()`, the number of labels in a constant
    Example(
        "import tf_keras as keras\nNUM_TAGS = 12\nmodel = keras.Sequential()\nmodel.add(keras.layers.Dense(32, activation='relu'))\n"
        "model.add(keras.layers.Dense(NUM_TAGS, activation='sigmoid'))\nmodel.compile('adam', 'binary_crossentropy', ['accuracy'])\n",
        fixed="import tf_keras as keras\nNUM_TAGS = 12\nmodel = keras.Sequential()\nmodel.add(keras.layers.Dense(32, activation='relu'))\n"
        "model.add(keras.layers.Dense(NUM_TAGS, activation='sigmoid'))\n"
        "model.compile('adam', 'binary_crossentropy', [keras.metrics.BinaryAccuracy(name=\"accuracy\")])\n",
        flavour="2",
        safety="unsafe",
    ),
)
