"""KM205: a `Metric.update_state` that takes `sample_weight` and ignores it."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ..facts.entries import UPDATE_STATE_DEFS, Words
from ..keras.symbols import METRIC
from .base import Example, Finding, Rule, RuleContext
from .common import classes_of_kind, is_abstract, methods, names_used, parameter_names


class IgnoredSampleWeight(Rule):
    code = "KM205"
    name = "ignored-sample-weight"
    summary = "`update_state(..., sample_weight=None)` never uses `sample_weight`: weighted runs log unweighted values"
    needs = (UPDATE_STATE_DEFS, Words(frozenset({"sample_weight"})))  # a parameter named so

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for cls in classes_of_kind(ctx, METRIC):
            update = methods(cls).get("update_state")
            if update is None or "sample_weight" not in parameter_names(update):
                continue
            if is_abstract(update):
                continue  # a base class's placeholder: subclasses implement it
            if not _takes_two_inputs(update):
                continue  # not a `compile` metric (larq's `FlipRatio(values)`): no weights reach it
            used = names_used(update.body)
            if "sample_weight" in used or "locals" in used or "vars" in used:
                continue  # passed on, to a helper or to super(): that is a use
            param = next(p for p in list(update.params.params) + list(update.params.kwonly_params)
                         if p.name.value == "sample_weight")
            yield Finding(
                param.name,
                f"`{cls.node.name.value}.update_state` ignores `sample_weight`. In `weighted_metrics`, the "
                "weights of `fit`/`evaluate(sample_weight=...)` and `class_weight=` reach it and are dropped, "
                "so it logs the unweighted value (in metriclint's test program 0.551 where the weighted value was 0.619); weight the "
                "values before accumulating them",
            )


def _takes_two_inputs(update: cst.FunctionDef) -> bool:
    """Whether `update_state` can take `(y_true, y_pred)` positionally, as `compile` calls it.

    With one data parameter (`update_state(self, values, sample_weight=None)`) a `compile` metric
    raises TypeError (multiple values for `sample_weight`, Keras 3 and 2), so only a direct caller
    could pass weights, and it passes them by hand.
    """
    params = update.params
    if isinstance(params.star_arg, cst.Param):
        return True  # `*args`
    data = [p for p in list(params.posonly_params) + list(params.params)
            if p.name.value not in ("self", "sample_weight")]
    return len(data) >= 2


_HEAD = "import keras\nclass Hits(keras.metrics.Metric):\n    def __init__(self, **kw):\n        super().__init__(**kw)\n        self.total = self.add_weight(name='t', initializer='zeros')\n"

IgnoredSampleWeight.valid = (
    Example(_HEAD + "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        values = keras.ops.cast(y_true == y_pred, 'float32')\n"
            "        if sample_weight is not None:\n            values = values * sample_weight\n"
            "        self.total.assign_add(keras.ops.sum(values))\n"),
    # used through a helper
    Example(_HEAD + "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        self.total.assign_add(weighted(y_true, y_pred, sample_weight))\n"),
    # passed to the parent
    Example(_HEAD + "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        super().update_state(y_true, y_pred, sample_weight=sample_weight)\n"),
    # not a metric
    Example("import keras\nclass Meter:\n    def update_state(self, y, p, sample_weight=None):\n        self.n += 1\n"),
    # an abstract base: the subclasses implement it (tf_keras's `PyMetric`)
    Example("import keras\nclass PyMetric(keras.metrics.Metric):\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        \"\"\"Accumulates statistics for the metric.\"\"\"\n"
            "        raise NotImplementedError(\"Subclasses should implement `update_state`\")\n"),
    Example("import abc\nimport keras\nclass Base(keras.metrics.Metric):\n    @abc.abstractmethod\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n        pass\n"),
    # one input (larq's `FlipRatio`, updated with a layer's kernel): `compile` cannot call it as
    # `update_state(y_true, y_pred, sample_weight=...)`, so no weights reach it
    Example("import tensorflow as tf\nclass FlipRatio(tf.keras.metrics.Metric):\n"
            "    def update_state(self, values, sample_weight=None):\n"
            "        values = tf.cast(values, self.values_dtype)\n"
            "        self.total.assign_add(tf.reduce_mean(tf.cast(tf.equal(self._previous, values), self.dtype)))\n"
            "        return self._previous.assign(values)\n"),
    # no sample_weight parameter at all (KM112's business)
    Example(_HEAD + "    def update_state(self, y_true, y_pred, **kwargs):\n        self.total.assign_add(1.0)\n"),
)

IgnoredSampleWeight.invalid = (
    # keras_hub's Bleu / EditDistance / RougeBase shape: a real body, `sample_weight` never read
    Example("import keras\nimport tensorflow as tf\nclass EditDistance(keras.metrics.Metric):\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        def fix_rank(inputs):\n            return tf.ragged.constant(inputs)\n"
            "        y_true, y_pred = fix_rank(y_true), fix_rank(y_pred)\n"
            "        self._total.assign_add(tf.reduce_sum(tf.edit_distance(y_pred, y_true)))\n",
    safety="none",),
    Example(_HEAD + "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        self.total.assign_add(keras.ops.sum(keras.ops.cast(y_true == y_pred, 'float32')))\n",
    safety="none",),
    Example("from tensorflow.keras.metrics import Metric\nclass M(Metric):\n"
            "    def update_state(self, y_true, y_pred, *, sample_weight=None):\n        pass\n",
    safety="none",),
    # two inputs with a default, or `*args`: `compile` can still call it with weights
    Example("import keras\nclass M(keras.metrics.Metric):\n"
            "    def update_state(self, y_true, y_pred=None, sample_weight=None):\n        self.n.assign_add(1.0)\n",
    safety="none",),
    Example("import keras\nclass M(keras.metrics.Metric):\n"
            "    def update_state(self, *inputs, sample_weight=None):\n        self.n.assign_add(1.0)\n",
    safety="none",),
)
