"""KM303: `AUC(num_thresholds=...)` far above the default 200 (a per-batch cost for every step)."""

from __future__ import annotations

from typing import FrozenSet, Iterator

import libcst as cst

from ..diagnostics import Safety
from ..facts.collect import find_keyword
from ..keras.symbols import METRIC
from .base import Example, Finding, FixPlan, Rule, RuleContext

DEFAULT_THRESHOLDS = 200
# Flag only far above the default: 10000 cost 1.73x (Keras 3) / 1.52x (Keras 2) with P and R;
# default AUC() is <= 1.07x.
HEAVY_THRESHOLDS = 2000
_THRESHOLD_METRICS = frozenset({
    "metrics.AUC", "metrics.PrecisionAtRecall", "metrics.RecallAtPrecision",
    "metrics.SensitivityAtSpecificity", "metrics.SpecificityAtSensitivity",
})


class HeavyThresholdMetric(Rule):
    code = "KM303"
    name = "heavy-threshold-metric"
    summary = "`AUC(num_thresholds=...)` far above the default 200 slows every training step"
    fix_safety = Safety.UNSAFE

    @classmethod
    def triggers(cls) -> FrozenSet[str]:
        return frozenset({"num_thresholds"})

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for site in ctx.facts.calls:
            arg = find_keyword(site.node, "num_thresholds")
            if arg is None or not isinstance(arg.value, cst.Integer):
                continue
            value = int(arg.value.value)
            if value <= HEAVY_THRESHOLDS:
                continue
            metric = ctx.resolver.instance(site.node, site.scope, METRIC)
            if metric is None or metric.keras_class not in _THRESHOLD_METRICS:
                continue
            name = metric.keras_class.split(".")[-1]
            yield Finding(
                arg.value,
                f"`{name}(num_thresholds={value})` updates {value} confusion-matrix buckets on every batch: "
                f"with Precision and Recall it made each step 1.73x slower on Keras 3 (1.52x on Keras 2); train "
                f"with the default {DEFAULT_THRESHOLDS} and compute a fine-grained AUC once after training with `evaluate()`",
                FixPlan(Safety.UNSAFE, f"Use the default {DEFAULT_THRESHOLDS} thresholds",
                        lambda loc, node=arg.value: [loc.replace(node, str(DEFAULT_THRESHOLDS))]),
            )


HeavyThresholdMetric.valid = (
    Example("import keras\nm = keras.metrics.AUC()\n"),
    Example("import keras\nm = keras.metrics.AUC(num_thresholds=1000)\n"),
    Example("import keras\nfrom mylib import Curve\nm = Curve(num_thresholds=100000)\n"),
)

HeavyThresholdMetric.invalid = (
    Example(
        "import keras\nmodel = keras.Sequential()\nmodel.compile(loss='bce', metrics=[keras.metrics.AUC(num_thresholds=10000)])\n",
        fixed="import keras\nmodel = keras.Sequential()\nmodel.compile(loss='bce', metrics=[keras.metrics.AUC(num_thresholds=200)])\n",
    ),
    Example("from tensorflow.keras.metrics import PrecisionAtRecall\nm = PrecisionAtRecall(0.9, num_thresholds=50000)\n"),
)
