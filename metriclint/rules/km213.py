"""KM213: a categorical metric with the integer labels a sparse loss reads, and the reverse."""

from __future__ import annotations

from typing import Iterator, Optional, Set

from ..diagnostics import Safety
from ..facts.entries import COMPILE_ANY_METRICS, COMPILE_LOSS, Words
from ..facts.models import CompileInfo, MetricRef, model_facts
from ..keras.metric_strings import METRIC_STRINGS
from ..keras.metrics import CATEGORICAL, SPARSE
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import add_keywords, compile_metric_refs, keras_module_reference, literal_metric_string, rename_class

# metric class for one-hot labels -> its twin for integer labels (the same positional parameters:
# `(name, dtype)` and `(k, name, dtype)`, both flavours)
_SPARSE_TWIN = {"CategoricalAccuracy": "SparseCategoricalAccuracy",
                "TopKCategoricalAccuracy": "SparseTopKCategoricalAccuracy"}
_ONE_HOT_TWIN = {sparse: one_hot for one_hot, sparse in _SPARSE_TWIN.items()}
# metrics that compare labels and predictions element by element: one-hot labels only
_ELEMENTWISE = frozenset({"Precision", "Recall", "AUC", "F1Score", "FBetaScore"})
_KERAS_FUNCTIONS = {"metrics.categorical_accuracy": "CategoricalAccuracy",
                    "metrics.top_k_categorical_accuracy": "TopKCategoricalAccuracy",
                    "metrics.sparse_categorical_accuracy": "SparseCategoricalAccuracy",
                    "metrics.sparse_top_k_categorical_accuracy": "SparseTopKCategoricalAccuracy"}
_CLASSES = frozenset(_SPARSE_TWIN) | frozenset(_ONE_HOT_TWIN) | _ELEMENTWISE
_STRINGS = {text: entry for text, entry in METRIC_STRINGS.items() if entry.metric_class in _CLASSES}

# measured in fixtures/KM213_* and by hand (Keras 3.15.1 / tf_keras 2.21, 3 classes, 400 samples)
_ARGMAX_OF_LABEL = ("with integer labels it takes the arg-max of the label itself (always 0 for (n, 1) labels), so "
                    "it logs the share of predictions of class 0 (0.2575 in metriclint's test program, where the "
                    "accuracy was 0.555)")
_TOP_K = ("with integer labels it ranks the label's own arg-max (always 0 for (n, 1) labels), so it logs how often "
          "class 0 is among the top k (0.6725 in metriclint's test program, where the top-2 accuracy was 0.8325); "
          "Keras 3 fails on (n,) labels")
_REVERSE = ("with one-hot labels the first training step fails (InvalidArgumentError on Keras 3, ValueError on "
            "tf_keras)")
_ELEMENTWISE_EFFECT = ("it compares labels and predictions element by element, so it needs one-hot labels: with "
                       "integer labels the first training step fails on shapes (InvalidArgumentError on Keras 3, "
                       "ValueError on tf_keras; `F1Score`/`FBetaScore` on Keras 3 with (n, 1) labels: no error, a "
                       "meaningless value)")


class LabelEncodingMismatch(Rule):
    code = "KM213"
    name = "label-encoding-mismatch"
    summary = "A categorical metric with the integer labels of a sparse loss (or the reverse): wrong values or a crash"
    fix_safety = Safety.SAFE
    rewrites = {
        "string_twin": '`"categorical_accuracy"` -> `SparseCategoricalAccuracy(name="categorical_accuracy")` (top-k too)',
        "class_twin": "`CategoricalAccuracy()` -> `SparseCategoricalAccuracy(name=...)` (top-k too)",
    }
    needs = (COMPILE_ANY_METRICS, COMPILE_LOSS,
             Words(_CLASSES | frozenset(_STRINGS) | frozenset(f.split(".")[-1] for f in _KERAS_FUNCTIONS)))

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        seen: Set[int] = set()
        for model in model_facts(ctx).values():
            if model.output_count not in (None, 1):
                continue
            for info in model.compiles:
                family = info.loss.family if info.loss is not None and not info.per_output_loss else None
                if family not in (SPARSE, CATEGORICAL):
                    continue
                for metric in compile_metric_refs(ctx, info):
                    if id(metric.node) in seen:
                        continue
                    finding = self._finding(ctx, info, metric, family)
                    if finding is not None:
                        seen.add(id(metric.node))
                        yield finding

    def _finding(self, ctx: RuleContext, info: CompileInfo, metric: MetricRef, family: str) -> Optional[Finding]:
        loss = "`sparse_categorical_crossentropy` (integer labels)" if family == SPARSE else \
            "`categorical_crossentropy` (one-hot labels)"
        text = literal_metric_string(ctx, metric)
        if text is not None:
            entry = _STRINGS.get(text)
            key = entry.key(ctx.flavour) if entry is not None else None
            if entry is None or key is None:
                return None  # not one of ours, or a string this flavour rejects (KM110)
            return self._judge(ctx, metric, entry.metric_class, f'"{text}"', key, loss, family)
        if metric.spec is not None:
            return None
        if metric.keras_class in _CLASSES and metric.constructor is not None:
            return self._judge(ctx, metric, metric.keras_class, f"{metric.keras_class}()", None, loss, family)
        cls = _KERAS_FUNCTIONS.get(metric.keras_function or "")
        if cls is not None:
            return self._judge(ctx, metric, cls, f"`{metric.keras_function}`", None, loss, family, function=True)
        return None

    def _judge(self, ctx: RuleContext, metric: MetricRef, cls: str, what: str, key: Optional[str], loss: str,
               family: str, function: bool = False) -> Optional[Finding]:
        what = what if what.startswith("`") else f"`{what}`"
        if family == CATEGORICAL:
            twin = _ONE_HOT_TWIN.get(cls)
            if twin is None:
                return None
            return Finding(metric.node, f"{what} with {loss}. It reads integer labels: {_REVERSE}; "
                           f"use `{twin}` (if the labels are integers, the loss is the one to change)")
        if cls in _ELEMENTWISE:
            return Finding(metric.node, f"{what} with {loss}. {_ELEMENTWISE_EFFECT[:1].upper()}{_ELEMENTWISE_EFFECT[1:]}; give it one-hot labels "
                           "(with `categorical_crossentropy`)")
        twin = _SPARSE_TWIN.get(cls)
        if twin is None:
            return None
        effect = _TOP_K if cls == "TopKCategoricalAccuracy" else _ARGMAX_OF_LABEL
        message = f"{what} with {loss}. It reads one-hot labels: {effect}; use `{twin}`"
        if function:
            return Finding(metric.node, message + f" (`{twin}(name=...)` keeps the key)")
        if key is not None:  # a string: the class, named as the string logged
            reference = keras_module_reference(ctx)
            if reference is None:
                return Finding(metric.node, message)
            replacement = f'{reference}.metrics.{twin}(name="{key}")'
            return Finding(metric.node, message + " (the fix keeps the key)", FixPlan(
                Safety.SAFE, f"Use `{twin}`, keeping the key",
                lambda loc, node=metric.node: [loc.replace(node, replacement)]))
        call = metric.constructor
        assert call is not None
        if any(arg.star for arg in call.args):
            return Finding(metric.node, message)
        rename = rename_class(ctx, call, twin)
        if rename is None:
            return Finding(metric.node, message)
        position = 1 if cls == "TopKCategoricalAccuracy" else 0  # `name`'s position, both flavours
        named = any(arg.keyword is not None and arg.keyword.value == "name" for arg in call.args) or \
            sum(1 for arg in call.args if arg.keyword is None) > position
        default = "top_k_categorical_accuracy" if cls == "TopKCategoricalAccuracy" else "categorical_accuracy"
        extra = [] if named else [("name", f'"{default}"')]
        return Finding(metric.node, message + " (the fix keeps the key)", FixPlan(
            Safety.SAFE, f"Use `{twin}`, keeping the key",
            lambda loc: [*rename(loc), *add_keywords(loc, call, extra)]))


_HEAD = "import keras\n"
_SOFTMAX = "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='softmax')])\n"
_SPARSE_LOSS = "loss='sparse_categorical_crossentropy'"

LabelEncodingMismatch.valid = (
    Example(_HEAD + _SOFTMAX + f"model.compile({_SPARSE_LOSS}, metrics=['accuracy', keras.metrics.SparseCategoricalAccuracy()])\n"),
    Example(_HEAD + _SOFTMAX + "model.compile(loss='categorical_crossentropy', metrics=['categorical_accuracy', "
            "keras.metrics.TopKCategoricalAccuracy(k=2), keras.metrics.Precision()])\n"),
    # the sparse twin named as the categorical key: code done right
    Example(_HEAD + _SOFTMAX + f"model.compile({_SPARSE_LOSS}, "
            "metrics=[keras.metrics.SparseCategoricalAccuracy(name='categorical_accuracy')])\n"),
    # a loss the file does not reveal: the labels' encoding is unknown
    Example(_HEAD + _SOFTMAX + "model.compile(loss=my_loss, metrics=['categorical_accuracy'])\n"),
    # an unknown receiver
    Example("def train(trainer):\n    trainer.compile(loss='sparse_categorical_crossentropy', metrics=['categorical_accuracy'])\n"),
    # a loss per output: which metric meets which labels is not this rule's guess
    Example(_HEAD + "inputs = keras.Input((4,))\na = keras.layers.Dense(3, activation='softmax', name='a')(inputs)\n"
            "b = keras.layers.Dense(3, activation='softmax', name='b')(inputs)\nmodel = keras.Model(inputs, [a, b])\n"
            "model.compile(loss=['sparse_categorical_crossentropy', 'categorical_crossentropy'], "
            "metrics=[['accuracy'], ['categorical_accuracy']])\n"),
    # "precision" is no string tf_keras knows (KM110's business)
    Example("import tf_keras as keras\n" + _SOFTMAX + f"model.compile({_SPARSE_LOSS}, metrics=['precision'])\n", flavour="2"),
)

LabelEncodingMismatch.invalid = (
    Example(
        _HEAD + _SOFTMAX + f"model.compile({_SPARSE_LOSS}, metrics=['categorical_accuracy'])\n",
        fixed=_HEAD + _SOFTMAX + f"model.compile({_SPARSE_LOSS}, "
        "metrics=[keras.metrics.SparseCategoricalAccuracy(name=\"categorical_accuracy\")])\n",
        safety="safe",
    ),
    # classes, imported by name and through the module, top-k with k given positionally
    Example(
        "import tensorflow as tf\nfrom tensorflow.keras.metrics import CategoricalAccuracy\n"
        "model = tf.keras.Sequential([tf.keras.layers.Dense(10, activation='softmax')])\n"
        "model.compile('adam', tf.keras.losses.SparseCategoricalCrossentropy(), "
        "metrics=[CategoricalAccuracy(), tf.keras.metrics.TopKCategoricalAccuracy(3, 'top3')])\n",
        fixed="import tensorflow as tf\nfrom tensorflow.keras.metrics import CategoricalAccuracy\n"
        "from tensorflow.keras.metrics import SparseCategoricalAccuracy\n"
        "model = tf.keras.Sequential([tf.keras.layers.Dense(10, activation='softmax')])\n"
        "model.compile('adam', tf.keras.losses.SparseCategoricalCrossentropy(), "
        "metrics=[SparseCategoricalAccuracy(name=\"categorical_accuracy\"), tf.keras.metrics.SparseTopKCategoricalAccuracy(3, 'top3')])\n",
        count=2,
        safety="safe",
    ),
    # tf_keras: the string logs `top_k_categorical_accuracy`
    Example(
        "import tf_keras\nmodel = tf_keras.Sequential([tf_keras.layers.Dense(3, activation='softmax')])\n"
        "model.compile(loss='sparse_categorical_crossentropy', metrics=['top_k_categorical_accuracy'])\n",
        fixed="import tf_keras\nmodel = tf_keras.Sequential([tf_keras.layers.Dense(3, activation='softmax')])\n"
        "model.compile(loss='sparse_categorical_crossentropy', "
        "metrics=[tf_keras.metrics.SparseTopKCategoricalAccuracy(name=\"top_k_categorical_accuracy\")])\n",
        flavour="2",
        safety="safe",
    ),
    # the reverse: reported (it raises)
    Example(_HEAD + _SOFTMAX + "model.compile(loss='categorical_crossentropy', metrics=['sparse_categorical_accuracy'])\n",
            safety="none"),
    # element-wise metrics with integer labels: reported
    Example(_HEAD + _SOFTMAX + f"model.compile({_SPARSE_LOSS}, metrics=[keras.metrics.Precision(), keras.metrics.AUC(), 'f1_score'])\n",
            count=3, safety="none"),
    # a Keras metric function: reported (`sparse_categorical_accuracy` would log under another key)
    Example(_HEAD + _SOFTMAX + f"model.compile({_SPARSE_LOSS}, metrics=[keras.metrics.categorical_accuracy])\n",
            safety="none"),
)
