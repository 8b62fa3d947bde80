"""KM203: a metric function in `compile` that is a ratio of batch sums (batch-wise F1/precision/recall)."""

from __future__ import annotations

from typing import Dict, Iterator, Optional, Set

import libcst as cst

from ..diagnostics import Safety
from ..facts.entries import COMPILE_METRICS, PROJECT_IMPORTS, AnyOf, Words
from ..facts.metric_functions import BATCH_SUMS, is_batchwise_ratio
from ..facts.models import model_facts
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import keras_module_reference



class BatchwiseRatioMetric(Rule):
    code = "KM203"
    name = "batchwise-ratio-metric"
    summary = "A metric function that divides batch sums (F1, precision, recall) is averaged per batch: wrong and batch-size dependent"
    fix_safety = Safety.UNSAFE
    # the function's sums are in this file, or in a module it imports (the project index judges it)
    needs = (COMPILE_METRICS, AnyOf((Words(BATCH_SUMS), PROJECT_IMPORTS)))

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        memo: Dict[cst.FunctionDef, bool] = {}
        reported: Set[int] = set()
        for model in model_facts(ctx).values():
            for info in model.compiles:
                for metric in info.metrics:
                    if metric.node is None or id(metric.node) in reported:
                        continue
                    if metric.function is not None:
                        if not is_batchwise_ratio(ctx.resolver, metric.function, memo, set()):
                            continue
                        name = metric.function.node.name.value
                    elif metric.spec is not None and metric.spec.ratio and metric.spec.function and metric.direct:
                        name = metric.spec.function  # `from .metrics import f1_m`: judged in its module
                    else:
                        continue
                    reported.add(id(metric.node))
                    yield self._finding(ctx, metric.node, name)

    def _finding(self, ctx: RuleContext, node: cst.BaseExpression, name: str) -> Finding:
        replacement = _replacement(name)
        message = (
            f"`{name}` is averaged over batches, not computed over the data. It divides sums over one batch; "
            "Keras logs the mean of the per-batch ratios, "
            "which is not the ratio over the data and changes with the batch size "
            "(in metriclint's test program F1 read 0.687 with batches of 8 and 0.730 with 32, where it was 0.727 "
            "over the data)"
        )
        reference = keras_module_reference(ctx)
        if _is_iou(name):
            return Finding(node, message + "; use `keras.metrics.BinaryIoU(target_class_ids=[1], threshold=0.5)` "
                           "(or `IoU`/`MeanIoU` for several classes), which accumulates over the epoch")
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


def _is_iou(name: str) -> bool:
    """A Jaccard / intersection-over-union function: the IoU metrics are its twins, not F1."""
    lowered = name.lower()
    return "iou" in lowered or "jaccard" in lowered or "intersection" in lowered


def _replacement(name: str) -> Optional[tuple]:
    lowered = name.lower()
    if "f1" in lowered:
        return "F1Score", 'average="micro", threshold=0.5, '
    if "prec" in lowered:
        return "Precision", ""
    if "recall" in lowered or lowered.startswith("rec") or "sensitiv" in lowered:
        return "Recall", ""
    return None


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
    # a batch-wise Jaccard index: the IoU metrics are its twins (report only, no F1 rewrite)
    Example(
        "import tensorflow as tf\nfrom tensorflow import keras\n"
        "def jaccard_index(y_true, y_pred):\n    inter = tf.reduce_sum(y_true * y_pred)\n"
        "    return inter / (tf.reduce_sum(y_true) + tf.reduce_sum(y_pred) - inter)\n"
        "model = keras.Sequential()\nmodel.compile(loss='binary_crossentropy', metrics=[jaccard_index])\n",
        safety="none",
    ),
)
