"""KM203: a metric function in `compile` that is a ratio of batch sums (batch-wise F1/precision/recall)."""

from __future__ import annotations

from typing import Dict, FrozenSet, Iterator, Optional, Set

import libcst as cst

from ..diagnostics import Safety
from ..facts.collect import dotted_name, find_keyword, positional_args
from ..facts.models import model_facts
from ..facts.values import FunctionValue
from ..facts.walk import find_all
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import keras_module_reference

_SUMS = {"sum", "reduce_sum", "count_nonzero"}
_DIVIDES = {"divide", "truediv", "divide_no_nan"}


class BatchwiseRatioMetric(Rule):
    code = "KM203"
    name = "batchwise-ratio-metric"
    summary = "A metric function that divides batch sums (F1, precision, recall) is averaged per batch: wrong and batch-size dependent"
    fix_safety = Safety.UNSAFE

    @classmethod
    def triggers(cls) -> FrozenSet[str]:
        return frozenset(_SUMS)

    @classmethod
    def could_fire(cls, summary) -> bool:
        return ("compile", "metrics") in summary.method_keywords and super().could_fire(summary)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        memo: Dict[cst.FunctionDef, bool] = {}
        reported: Set[int] = set()
        for model in model_facts(ctx).values():
            for info in model.compiles:
                for metric in info.metrics:
                    function = metric.function
                    if function is None or id(metric.node) in reported:
                        continue
                    if not _is_ratio_function(ctx, function, memo, set()):
                        continue
                    reported.add(id(metric.node))
                    yield self._finding(ctx, metric.node, function)

    def _finding(self, ctx: RuleContext, node: cst.BaseExpression, function: FunctionValue) -> Finding:
        name = function.node.name.value
        replacement = _replacement(name)
        message = (
            f"`{name}` divides sums over one batch; Keras logs the mean of the per-batch ratios, "
            "which is not the ratio over the data and changes with the batch size "
            "(F1 0.687 at batch 8, 0.730 at 32, 0.727 over the data)"
        )
        reference = keras_module_reference(ctx)
        if replacement is None or reference is None:
            return Finding(node, message + "; use `keras.metrics.Precision()`, `Recall()` or `F1Score()`")
        cls, args = replacement
        text = f'{reference}.metrics.{cls}({args}name="{name}")'
        extra = " (on Keras 3 F1Score needs `y` of shape (n, 1))" if cls == "F1Score" else ""
        return Finding(
            node,
            f"{message}; use `{cls}`, which accumulates counts over the epoch{extra}",
            FixPlan(Safety.UNSAFE, f"Use `keras.metrics.{cls}` (same key `{name}`)", lambda loc: [loc.replace(node, text)]),
        )


def _replacement(name: str) -> Optional[tuple]:
    lowered = name.lower()
    if "f1" in lowered:
        return "F1Score", 'average="micro", threshold=0.5, '
    if "prec" in lowered:
        return "Precision", ""
    if "recall" in lowered or lowered.startswith("rec") or "sensitiv" in lowered:
        return "Recall", ""
    return None


def _call_name(call: cst.Call) -> str:
    name = dotted_name(call.func)
    return name.split(".")[-1] if name else ""


def _sums_over_batch(call: cst.Call) -> bool:
    """Whether a sum reduces the batch axis: no axis (everything), `axis=None` or an axis with 0.

    `K.sum(x, axis=-1)` or `tf.reduce_sum(x, axis=[1, 2, 3])` keep one value per sample (a
    per-sample Dice or Jaccard); Keras averages those over samples correctly. An axis the
    file does not spell out (a variable) is not known to reduce the batch: silent.
    """
    keyword = find_keyword(call, "axis")
    positional = positional_args(call)
    axis = keyword.value if keyword is not None else (positional[1].value if len(positional) > 1 else None)
    if axis is None:
        return True
    if isinstance(axis, cst.Name):
        return axis.value == "None"
    if isinstance(axis, cst.Integer):
        return int(axis.value) == 0
    if isinstance(axis, (cst.List, cst.Tuple)):
        return any(isinstance(e.value, cst.Integer) and int(e.value.value) == 0 for e in axis.elements)
    return False


def _is_ratio_function(ctx: RuleContext, function: FunctionValue, memo: Dict, active: Set) -> bool:
    """Whether the function divides by a batch sum (directly, through locals, or via helpers)."""
    node = function.node
    if node in memo:
        return memo[node]
    if node in active:
        return False
    active.add(node)
    assigned: Dict[str, cst.BaseExpression] = {}
    for assign in find_all(node.body, cst.Assign):
        for target in assign.targets:
            if isinstance(target.target, cst.Name):
                assigned[target.target.value] = assign.value

    def involves_batch_sum(expr: cst.CSTNode, depth: int = 0) -> bool:
        if depth > 6:
            return False
        for call in find_all(expr, cst.Call):
            if _call_name(call) in _SUMS and _sums_over_batch(call):
                return True
            helper = ctx.resolver.resolve(call.func, function.body)
            if isinstance(helper, FunctionValue) and _is_ratio_function(ctx, helper, memo, active):
                return True
        for name in find_all(expr, cst.Name):
            value = assigned.get(name.value)
            if value is not None and value is not expr and involves_batch_sum(value, depth + 1):
                return True
        return False

    result = False
    for operation in find_all(node.body, cst.BinaryOperation):
        if isinstance(operation.operator, cst.Divide) and involves_batch_sum(operation.right):
            result = True
            break
    if not result:
        for call in find_all(node.body, cst.Call):
            if _call_name(call) in _DIVIDES and len(call.args) >= 2 and involves_batch_sum(call.args[1].value):
                result = True
                break
    active.discard(node)
    memo[node] = result
    return result


_FUNCS = (
    "from keras import backend as K\nimport keras\n"
    "def recall_m(y_true, y_pred):\n"
    "    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n"
    "    possible_positives = K.sum(K.round(K.clip(y_true, 0, 1)))\n"
    "    return true_positives / (possible_positives + K.epsilon())\n"
    "def precision_m(y_true, y_pred):\n"
    "    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n"
    "    predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))\n"
    "    precision = true_positives / (predicted_positives + K.epsilon())\n"
    "    return precision\n"
    "def f1_m(y_true, y_pred):\n"
    "    precision = precision_m(y_true, y_pred)\n"
    "    recall = recall_m(y_true, y_pred)\n"
    "    return 2 * ((precision * recall) / (precision + recall + K.epsilon()))\n"
    "model = keras.Sequential()\n"
)

BatchwiseRatioMetric.valid = (
    # per-sample metric functions average correctly
    Example("import keras\ndef mean_pred(y_true, y_pred):\n    return keras.ops.mean(y_pred)\n"
            "model = keras.Sequential()\nmodel.compile(loss='mse', metrics=[mean_pred])\n"),
    Example("import keras\nimport tensorflow as tf\ndef rel(y_true, y_pred):\n    return tf.abs(y_true - y_pred) / tf.abs(y_true)\n"
            "model = keras.Sequential()\nmodel.compile(loss='mse', metrics=[rel])\n"),
    # per-sample ratios (sums along the class or pixel axes) are averaged correctly over samples
    Example("from tensorflow import keras\nfrom tensorflow.keras import backend as K\n"
            "def jaccard(y_true, y_pred, smooth=100):\n"
            "    intersection = K.sum(K.abs(y_true * y_pred), axis=-1)\n"
            "    total = K.sum(K.abs(y_true) + K.abs(y_pred), axis=-1)\n"
            "    return (intersection + smooth) / (total - intersection + smooth)\n"
            "model = keras.Sequential()\nmodel.compile(loss='binary_crossentropy', metrics=[jaccard])\n"),
    Example("import tensorflow as tf\nfrom tensorflow import keras\n"
            "def dice_per_image(y_true, y_pred):\n"
            "    inter = tf.reduce_sum(y_true * y_pred, axis=[1, 2, 3])\n"
            "    return 2 * inter / (tf.reduce_sum(y_true, axis=[1, 2, 3]) + tf.reduce_sum(y_pred, axis=[1, 2, 3]) + 1e-7)\n"
            "model = keras.Sequential()\nmodel.compile(loss='binary_crossentropy', metrics=[dice_per_image])\n"),
    # Keras's own metric classes accumulate over the epoch
    Example("import keras\nmodel = keras.Sequential()\n"
            "model.compile(loss='binary_crossentropy', metrics=[keras.metrics.F1Score(threshold=0.5), keras.metrics.Precision()])\n"),
    # defined but not compiled in
    Example(_FUNCS + "model.compile(loss='binary_crossentropy', metrics=['accuracy'])\n"),
)

BatchwiseRatioMetric.invalid = (
    Example(
        _FUNCS + "model.compile(loss='binary_crossentropy', metrics=['acc', f1_m, precision_m, recall_m])\n",
        fixed=_FUNCS + "model.compile(loss='binary_crossentropy', metrics=['acc', "
        'keras.metrics.F1Score(average="micro", threshold=0.5, name="f1_m"), '
        'keras.metrics.Precision(name="precision_m"), keras.metrics.Recall(name="recall_m")])\n',
        count=3,
        safety="unsafe",
    ),
    # the fixture's shape: other imports first, `tensorflow.keras.backend`, a sum over axis 0
    Example(
        "import json\n\nimport numpy as np\nfrom tensorflow import keras\nfrom tensorflow.keras import backend as K\n"
        "def recall(y_true, y_pred):\n"
        "    tp = K.sum(K.round(y_true * y_pred), axis=0)\n"
        "    return tp / (K.sum(y_true, axis=0) + K.epsilon())\n"
        "model = keras.Sequential()\nmodel.compile(loss='binary_crossentropy', metrics=[recall])\n",
        fixed="import json\n\nimport numpy as np\nfrom tensorflow import keras\nfrom tensorflow.keras import backend as K\n"
        "def recall(y_true, y_pred):\n"
        "    tp = K.sum(K.round(y_true * y_pred), axis=0)\n"
        "    return tp / (K.sum(y_true, axis=0) + K.epsilon())\n"
        "model = keras.Sequential()\nmodel.compile(loss='binary_crossentropy', metrics=[keras.metrics.Recall(name=\"recall\")])\n",
        safety="unsafe",
    ),
    Example(
        "import tensorflow as tf\nfrom tensorflow import keras\n"
        "def dice(y_true, y_pred):\n    inter = tf.reduce_sum(y_true * y_pred)\n"
        "    return 2 * inter / (tf.reduce_sum(y_true) + tf.reduce_sum(y_pred))\n"
        "model = keras.Sequential()\nmodel.compile(loss='binary_crossentropy', metrics=[dice])\n",
        safety="none",
    ),
)
