"""KM201: `keras.metrics.Accuracy()` (exact equality) on probabilities or regression outputs."""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

import libcst as cst

from ..diagnostics import Safety
from ..facts.collect import find_keyword, positional_args
from ..facts.entries import COMPILE_ANY_METRICS, Words
from ..facts.models import MetricGroup, MetricRef, metric_groups, model_facts
from ..keras.metrics import ACCURACY_FOR_FAMILY, ACCURACY_SPELLINGS, BINARY, CATEGORICAL, REGRESSION, SPARSE
from ..locate import Locator
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import add_keywords, class_import, string_value
from . import regression_accuracy
from .regression_accuracy import accuracy_strings_on_regression

_PROBABILITY_ACTIVATIONS = {"sigmoid": BINARY, "softmax": None}
# measured in fixtures/KM201_* (Keras 3.15; tf_keras alike)
_EVIDENCE = {
    BINARY: "on probabilities it reads about 0 (in metriclint's test program a sigmoid model logged 0.0025 where its "
    "accuracy was 0.9475)",
    CATEGORICAL: "on probabilities it reads about 0 (in metriclint's test program a softmax model with one-hot labels "
    "logged 0.0 where its accuracy was 0.8075)",
    SPARSE: "with integer labels and probability rows it fails in the first training step (incompatible "
    "shapes: InvalidArgumentError on Keras 3, ValueError on tf_keras)",
}


class ExactAccuracyOnProbabilities(Rule):
    code = "KM201"
    name = "accuracy-on-probabilities"
    summary = "`metrics.Accuracy()` compares values for equality: it reads ~0 on probabilities and regression outputs"
    fix_safety = Safety.SAFE
    # `Accuracy()` in `metrics=`; the accuracy strings in `metrics=` or `weighted_metrics=`
    needs = (COMPILE_ANY_METRICS, Words(frozenset({"Accuracy"}) | ACCURACY_SPELLINGS))

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        yield from accuracy_strings_on_regression(ctx)  # the `"accuracy"` strings: regression_accuracy.py
        for model in model_facts(ctx).values():
            for compile_info in model.compiles:
                for group in metric_groups(model, compile_info):  # one per output the metrics are given to
                    for metric in group.metrics:
                        if metric.keras_class == "Accuracy" and metric.constructor is not None:
                            finding = self._finding(ctx, group, metric)
                            if finding is not None:
                                yield finding

    def _finding(self, ctx: RuleContext, group: MetricGroup, metric: MetricRef) -> Optional[Finding]:
        loss = group.loss
        family = loss.family if loss is not None else None
        activation = group.activation
        if family == REGRESSION and activation in _PROBABILITY_ACTIVATIONS:
            # sigmoid/softmax trained with MSE (old tutorials): still probabilities; the labels'
            # encoding is not known for sure, so no fix
            wanted = "BinaryAccuracy" if activation == "sigmoid" else "CategoricalAccuracy"
            return Finding(
                metric.node,
                f"`Accuracy()` on a {activation} output reads about 0. It checks `y_pred == y_true` exactly; on "
                f"this output (probabilities, here trained with a regression loss) it reads about 0; use `{wanted}(name=\"accuracy\")`",
            )
        if family == REGRESSION:
            return Finding(
                metric.node,
                "`Accuracy()` on a regression output reads about 0. It counts exact matches, which regression "
                "outputs almost never are; use `MeanAbsoluteError()` (or another regression metric)",
            )
        if family not in ACCURACY_FOR_FAMILY and activation not in _PROBABILITY_ACTIVATIONS:
            return None
        message = "`Accuracy()` checks `y_pred == y_true` exactly. Used that way, " + _EVIDENCE.get(
            family or ("binary" if activation == "sigmoid" else "categorical"), _EVIDENCE[CATEGORICAL])
        target = ACCURACY_FOR_FAMILY.get(family) if family else None
        if target is None:
            return Finding(metric.node, message + "; use the accuracy class that matches your labels")
        constructor = metric.constructor
        assert constructor is not None
        logits = family == BINARY and loss is not None and loss.from_logits is True
        message += f"; use `{target}` (the fix keeps the `{_key(constructor)}` key)"
        extra = _extra_arguments(constructor, logits)
        func = constructor.func
        if isinstance(func, cst.Attribute):  # keras.metrics.Accuracy -> keras.metrics.BinaryAccuracy
            plan = FixPlan(Safety.SAFE, f"Use `{target}`, keeping the key", lambda loc: [
                loc.replace(func.attr, target), *add_keywords(loc, constructor, extra)])
            return Finding(metric.node, message, plan)
        imported = class_import(ctx, func, target) if isinstance(func, cst.Name) else None
        if imported is None:
            return Finding(metric.node, message)
        name, add_import = imported

        def build(loc: Locator):
            edits = [loc.replace(func, name), *add_keywords(loc, constructor, extra)]
            if add_import is not None:
                edits.append(add_import(loc))
            return edits

        return Finding(metric.node, message, FixPlan(Safety.SAFE, f"Use `{target}`, keeping the key", build))


def _name_argument(call: cst.Call) -> Optional[cst.BaseExpression]:
    """The `name` given to `Accuracy(...)`: keyword, or the first positional (`Accuracy("acc")`).

    `Accuracy`, `BinaryAccuracy`, `CategoricalAccuracy` and `SparseCategoricalAccuracy` all
    take `(name, dtype)` first, on both flavours, so positional arguments carry over as they are.
    """
    keyword = find_keyword(call, "name")
    if keyword is not None:
        return keyword.value
    positional = positional_args(call)
    return positional[0].value if positional else None


def _key(call: cst.Call) -> str:
    name = _name_argument(call)
    if name is None:
        return "accuracy"
    text = string_value(name)
    return text if text is not None else "name"


def _extra_arguments(call: cst.Call, logits: bool) -> List[Tuple[str, str]]:
    """The keyword arguments the accuracy class that replaces `Accuracy(...)` needs besides its own."""
    extra = []
    if logits and find_keyword(call, "threshold") is None:
        extra.append(("threshold", "0.0"))  # binary logits: the decision boundary is 0, not 0.5
    if _name_argument(call) is None:
        extra.append(("name", '"accuracy"'))  # keep the key: BinaryAccuracy() alone logs `binary_accuracy`
    return extra


_HEAD = "import keras\n"
_SEQ = "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"

ExactAccuracyOnProbabilities.valid = (
    # several outputs: `Accuracy()` on an output whose loss and layer say nothing (a custom loss)
    Example(_HEAD + "inp = keras.Input((4,))\na = keras.layers.Dense(3, name='kind')(inp)\nb = keras.layers.Dense(1, name='size')(inp)\n"
            "model = keras.Model(inp, [a, b])\nmodel.compile(loss=[my_loss, 'mse'], metrics=[[keras.metrics.Accuracy()], []])\n"),
    Example(_HEAD + _SEQ + "model.compile(loss='binary_crossentropy', metrics=[keras.metrics.BinaryAccuracy()])\n"),
    # Accuracy fed class indices by hand is right
    Example(_HEAD + "acc = keras.metrics.Accuracy()\nacc.update_state(y, keras.ops.argmax(p, axis=-1))\n"),
    # a model with an integer-valued output and an unknown loss: not ours to judge
    Example(_HEAD + "model = keras.Sequential()\nmodel.compile(loss=my_loss, metrics=[keras.metrics.Accuracy()])\n"),
    Example(_HEAD + _SEQ + "model.compile(loss='binary_crossentropy', metrics=['accuracy'])\n"),
    # thresholded by hand before the update: right
    Example(_HEAD + _SEQ + "acc = keras.metrics.Accuracy()\n"
            "acc.update_state(y, keras.ops.cast(model(x) > 0.5, 'float32'))\n"),
    # a custom loop feeding class indices, the model compiled without it
    Example("import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(3, activation='softmax')])\n"
            "model.compile(loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
            "val_acc = tf.keras.metrics.Accuracy()\nval_acc.update_state(y, tf.argmax(model(x), axis=-1))\n"),
    # the key classes already
    Example(_HEAD + "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='softmax')])\n"
            "model.compile(loss='sparse_categorical_crossentropy', metrics=[keras.metrics.SparseCategoricalAccuracy(name='accuracy')])\n"),
) + regression_accuracy.VALID

_TWO = (
    "inp = keras.Input((4,))\n"
    "a = keras.layers.Dense(3, activation='softmax', name='kind')(inp)\n"
    "b = keras.layers.Dense(1, name='size')(inp)\n"
    "model = keras.Model(inp, [a, b])\n"
)

ExactAccuracyOnProbabilities.invalid = (
    # several outputs: the metric given to the softmax output, by position
    Example(
        _HEAD + _TWO + "model.compile(loss=['categorical_crossentropy', 'mse'], metrics=[[keras.metrics.Accuracy()], ['mae']])\n",
        fixed=_HEAD + _TWO + "model.compile(loss=['categorical_crossentropy', 'mse'], metrics=[[keras.metrics.CategoricalAccuracy(name=\"accuracy\")], ['mae']])\n",
        safety="safe",
    ),
    Example(
        _HEAD + _SEQ + "model.compile(loss='binary_crossentropy', metrics=[keras.metrics.Accuracy()])\n",
        fixed=_HEAD + _SEQ + "model.compile(loss='binary_crossentropy', metrics=[keras.metrics.BinaryAccuracy(name=\"accuracy\")])\n",
        safety="safe",
    ),
    Example(
        "import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(3, activation='softmax')])\n"
        "acc = tf.keras.metrics.Accuracy(name='acc')\nmodel.compile(loss='categorical_crossentropy', metrics=[acc])\n",
        fixed="import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(3, activation='softmax')])\n"
        "acc = tf.keras.metrics.CategoricalAccuracy(name='acc')\nmodel.compile(loss='categorical_crossentropy', metrics=[acc])\n",
        safety="safe",
    ),
    Example(
        _HEAD + "model = keras.Sequential()\nmodel.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=[keras.metrics.Accuracy()])\n",
        fixed=_HEAD + "model = keras.Sequential()\nmodel.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=[keras.metrics.SparseCategoricalAccuracy(name=\"accuracy\")])\n",
        safety="safe",
    ),
    Example(
        _HEAD + "model = keras.Sequential()\nmodel.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=[keras.metrics.Accuracy()])\n",
        fixed=_HEAD + "model = keras.Sequential()\nmodel.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name=\"accuracy\")])\n",
        safety="safe",
    ),
    # a name given positionally is kept as it is (`CategoricalAccuracy("acc", name=...)` would raise)
    Example(
        "from keras import layers, metrics\nfrom keras.models import Sequential\n"
        "model = Sequential([layers.Dense(5, activation='relu'), layers.Dense(3, activation='softmax')])\n"
        "model.compile(loss='categorical_crossentropy', optimizer='sgd', metrics=[metrics.Accuracy('acc')])\n",
        fixed="from keras import layers, metrics\nfrom keras.models import Sequential\n"
        "model = Sequential([layers.Dense(5, activation='relu'), layers.Dense(3, activation='softmax')])\n"
        "model.compile(loss='categorical_crossentropy', optimizer='sgd', metrics=[metrics.CategoricalAccuracy('acc')])\n",
        safety="safe",
    ),
    # sigmoid output trained with MSE: probabilities all the same; report only
    Example(
        _HEAD + _SEQ + "model.compile(loss='mse', metrics=[keras.metrics.Accuracy()])\n",
        fixed=_HEAD + _SEQ + "model.compile(loss='mse', metrics=[keras.metrics.Accuracy()])\n",
        safety="none",
    ),
    # regression: report only
    Example(
        _HEAD + "model = keras.Sequential()\nmodel.compile(loss='mse', metrics=[keras.metrics.Accuracy()])\n",
        fixed=_HEAD + "model = keras.Sequential()\nmodel.compile(loss='mse', metrics=[keras.metrics.Accuracy()])\n",
        safety="none",
    ),
    # softmax output, unknown loss: report, no fix
    Example(
        "from keras.models import Sequential\nfrom keras.layers import Dense\nfrom keras.metrics import Accuracy\n"
        "model = Sequential()\nmodel.add(Dense(3, activation='softmax'))\nmodel.compile(loss=my_loss, metrics=[Accuracy()])\n",
        safety="none",
    ),
    # the class imported by name: the replacement is imported next to it
    Example(
        "from tensorflow.keras.metrics import Accuracy\nfrom tensorflow.keras.models import Sequential\n"
        "model = Sequential()\nmodel.compile(loss='binary_crossentropy', metrics=[Accuracy()])\n",
        fixed="from tensorflow.keras.metrics import Accuracy\nfrom tensorflow.keras.metrics import BinaryAccuracy\n"
        "from tensorflow.keras.models import Sequential\n"
        "model = Sequential()\nmodel.compile(loss='binary_crossentropy', metrics=[BinaryAccuracy(name=\"accuracy\")])\n",
        safety="safe",
    ),
) + regression_accuracy.INVALID
