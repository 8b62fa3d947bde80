"""KM201's second part: the strings `"accuracy"`/`"acc"` with a regression loss on a regression
output. Keras picks the accuracy from the shapes, never from the loss: one linear unit gets
`BinaryAccuracy` (`y == (y_pred > 0.5)`, about 0 on real targets), several get
`CategoricalAccuracy` (the position of the largest value, nothing about the error).

Kept apart from km201.py, which is about `metrics.Accuracy()`: this part only reads the loss, the
output head and the metric strings, and offers no fix (removing the metric drops its key).
"""

from __future__ import annotations

from typing import Iterator, Set

from ..facts.models import CompileInfo, ModelInfo, model_facts
from ..facts.outputs import output_head
from ..keras.layers import REGRESSION_ACTIVATIONS
from ..keras.metrics import ACCURACY_SPELLINGS, REGRESSION
from .base import Example, Finding, RuleContext
from .common import compile_metric_refs, literal_metric_string


def accuracy_strings_on_regression(ctx: RuleContext) -> Iterator[Finding]:
    seen: Set[int] = set()  # a metrics list two compiles share: reported once
    for model in model_facts(ctx).values():
        for info in model.compiles:
            for finding in _findings(ctx, model, info):
                if id(finding.node) not in seen:
                    seen.add(id(finding.node))
                    yield finding


def _findings(ctx: RuleContext, model: ModelInfo, info: CompileInfo) -> Iterator[Finding]:
    """A sigmoid/softmax output (classification trained with MSE), an unknown output and a loss
    that is not a known regression loss stay silent."""
    loss = info.loss
    if loss is None or loss.family != REGRESSION or info.per_output_loss:
        return
    head = output_head(ctx, model)
    if head is None or head.activation not in REGRESSION_ACTIVATIONS:
        return
    for metric in compile_metric_refs(ctx, info):
        text = literal_metric_string(ctx, metric)
        if text not in ACCURACY_SPELLINGS:
            continue
        if head.units == 1:
            picked = ("`BinaryAccuracy`, which counts `y == (y_pred > 0.5)`: on real-valued targets that is "
                      "about never, so it reads about 0 (0.0 in metriclint's test program, where R2 was 0.975; "
                      "if the targets are 0/1 labels, a sigmoid output says so)")
        elif head.units is not None:
            picked = (f"`CategoricalAccuracy` for the {head.units} outputs, which only checks that the largest "
                      "predicted value is in the same place as the largest target: it says nothing about the error")
        else:
            picked = ("`BinaryAccuracy` (one output) or `CategoricalAccuracy` (several), neither of which "
                      "measures a regression error")
        yield Finding(metric.node, f"`\"{text}\"` with a regression loss on a {head.activation} output. Keras picks "
                      f"{picked}; use a regression metric such as `\"mae\"` or `R2Score()`")


_HEAD = "import keras\n"
_LINEAR = "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation='relu'), keras.layers.Dense(1)])\n"

VALID = (
    # classification trained with MSE: the sigmoid says the targets are 0/1, and "accuracy" fits
    Example(_HEAD + "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
            "model.compile(loss='mse', metrics=['accuracy'])\n"),
    Example(_HEAD + "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='softmax')])\n"
            "model.compile(loss='mean_squared_error', metrics=['acc'])\n"),
    # a regression metric already
    Example(_HEAD + _LINEAR + "model.compile(loss='mse', metrics=['mae', keras.metrics.R2Score()])\n"),
    # the project's own loss: the targets are not known
    Example(_HEAD + _LINEAR + "model.compile(loss=my_loss, metrics=['accuracy'])\n"),
    # an output the file does not show (a model from a factory of another library)
    Example(_HEAD + "model = build_model()\nmodel.compile(loss='mse', metrics=['accuracy'])\n"),
    # a loss per output: which metric meets which output is not this part's guess
    Example(_HEAD + "inputs = keras.Input((4,))\na = keras.layers.Dense(1)(inputs)\n"
            "b = keras.layers.Dense(3, activation='softmax')(inputs)\nmodel = keras.Model(inputs, [a, b])\n"
            "model.compile(loss=['mse', 'categorical_crossentropy'], metrics=[[], ['accuracy']])\n"),
    # an unknown receiver
    Example("def train(regressor):\n    regressor.compile(loss='mse', metrics=['accuracy'])\n"),
)

INVALID = (
    # one linear unit: BinaryAccuracy at 0.5 on real targets (0.0 on both flavours, fixtures/KM201_accuracy_string_on_regression)
    Example(_HEAD + _LINEAR + "model.compile(optimizer='adam', loss='mse', metrics=['accuracy'])\n", safety="none"),
    # three linear units, the loss as a class, `"acc"` in weighted_metrics, tf.keras
    Example("import tensorflow as tf\ninputs = tf.keras.Input((4,))\nout = tf.keras.layers.Dense(3)(inputs)\n"
            "model = tf.keras.Model(inputs, out)\n"
            "model.compile(loss=tf.keras.losses.MeanAbsoluteError(), weighted_metrics=['acc'])\n", safety="none"),
    # tf_keras, `add()`, a relu output, huber by name, the metric list in a constant
    Example("import tf_keras as keras\nMETRICS = ['mae', 'accuracy']\nmodel = keras.Sequential()\n"
            "model.add(keras.layers.Dense(8))\nmodel.add(keras.layers.Dense(1, activation='relu'))\n"
            "model.compile('adam', 'huber', METRICS)\n", flavour="2", safety="none"),
)
