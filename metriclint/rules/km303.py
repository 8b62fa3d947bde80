"""KM303: `AUC(num_thresholds=...)` far above the default 200 (a per-batch cost for every step)."""

from __future__ import annotations

from typing import FrozenSet, Iterator, Set

import libcst as cst

from ..diagnostics import Safety
from ..facts.collect import find_keyword
from ..keras.symbols import METRIC
from .base import Example, Finding, FixPlan, Rule, RuleContext

DEFAULT_THRESHOLDS = 200
_COST = ("with Precision and Recall it made each training step 1.58x slower than no metrics on Keras 3 (1.31x on "
         "Keras 2), the default 1.15x (1.12x; bench/metric_cost.py)")
# Flag only far above the default (bench/metric_cost.py: AUC(10000) + Precision + Recall vs
# AUC() + Precision + Recall, see _COST).
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
        if not any(ctx.facts.calls_by_method.get(name) for name in _TRAINING_CALLS):
            return  # nothing trains here: a compiled metric only runs in evaluate(), once
        compiled = _compiled_metric_calls(ctx)
        for site in ctx.facts.calls:
            arg = find_keyword(site.node, "num_thresholds")
            if arg is None or not isinstance(arg.value, cst.Integer):
                continue
            value = int(arg.value.value)
            if value <= HEAVY_THRESHOLDS or site.node not in compiled:
                continue  # a metric updated by hand (once, after training) is the recommended pattern
            metric = ctx.resolver.instance(site.node, site.scope, METRIC)
            if metric is None or metric.keras_class not in _THRESHOLD_METRICS:
                continue
            name = metric.keras_class.split(".")[-1]
            yield Finding(
                arg.value,
                f"`{name}(num_thresholds={value})` compiled for training updates {value} thresholds on every "
                f"batch: {_COST}; train with the default {DEFAULT_THRESHOLDS} and compute a fine-grained AUC "
                "once after training",
                FixPlan(Safety.UNSAFE, f"Use the default {DEFAULT_THRESHOLDS} thresholds",
                        lambda loc, node=arg.value: [loc.replace(node, str(DEFAULT_THRESHOLDS))]),
            )


_TRAINING_CALLS = ("fit", "fit_generator", "train_on_batch")


def _compiled_metric_calls(ctx: RuleContext) -> Set[cst.Call]:
    """Calls that build a metric given to some `compile(metrics=...)`: in the list or dict, or through names."""
    found: Set[cst.Call] = set()
    for site in ctx.facts.method_calls("compile"):
        arg = find_keyword(site.node, "metrics")
        if arg is not None:
            _collect(ctx, arg.value, site.scope, found, 0)
    return found


def _collect(ctx: RuleContext, node: cst.CSTNode, scope, found: Set[cst.Call], depth: int) -> None:
    if depth > 4:
        return
    if isinstance(node, cst.Call):
        found.add(node)
    elif isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        for element in node.elements:
            _collect(ctx, element.value, scope, found, depth + 1)
    elif isinstance(node, cst.Dict):
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                _collect(ctx, element.value, scope, found, depth + 1)
    elif isinstance(node, cst.BinaryOperation):  # METRICS + [extra]
        _collect(ctx, node.left, scope, found, depth + 1)
        _collect(ctx, node.right, scope, found, depth + 1)
    elif isinstance(node, cst.Name):
        for value, where in ctx.resolver.assigned_values(node, scope) or ():
            _collect(ctx, value, where, found, depth + 1)


_MODEL = "import keras\nmodel = keras.Sequential()\n"

HeavyThresholdMetric.valid = (
    Example(_MODEL + "model.compile(loss='bce', metrics=[keras.metrics.AUC()])\nmodel.fit(x, y)\n"),
    Example(_MODEL + "model.compile(loss='bce', metrics=[keras.metrics.AUC(num_thresholds=1000)])\nmodel.fit(x, y)\n"),
    Example(_MODEL + "from mylib import Curve\nmodel.compile(loss='bce', metrics=[Curve(num_thresholds=100000)])\n"
            "model.fit(x, y)\n"),
    # the recommended pattern: a fine-grained AUC computed once, after training
    Example(_MODEL + "model.compile(loss='bce', metrics=[keras.metrics.AUC()])\nmodel.fit(x, y)\n"
            "auc = keras.metrics.AUC(num_thresholds=10000)\nauc.update_state(y_val, model.predict(x_val))\n"),
    # compiled for evaluation only: nothing in the file trains
    Example(_MODEL + "model.compile(loss='bce', metrics=[keras.metrics.AUC(num_thresholds=10000)])\n"
            "model.evaluate(x_val, y_val)\n"),
)

HeavyThresholdMetric.invalid = (
    Example(
        _MODEL + "model.compile(loss='bce', metrics=[keras.metrics.AUC(num_thresholds=10000)])\nmodel.fit(x, y)\n",
        fixed=_MODEL + "model.compile(loss='bce', metrics=[keras.metrics.AUC(num_thresholds=200)])\nmodel.fit(x, y)\n",
        safety="unsafe",
    ),
    # through a METRICS list, as in the TensorFlow imbalanced-data tutorial's shape
    Example(
        "from tensorflow import keras\nfrom tensorflow.keras.metrics import PrecisionAtRecall\n"
        "METRICS = [keras.metrics.AUC(num_thresholds=20000, name='prc', curve='PR'), PrecisionAtRecall(0.9)]\n"
        "model = keras.Sequential()\nmodel.compile(loss='bce', metrics=METRICS)\nmodel.fit(x, y)\n",
        fixed="from tensorflow import keras\nfrom tensorflow.keras.metrics import PrecisionAtRecall\n"
        "METRICS = [keras.metrics.AUC(num_thresholds=200, name='prc', curve='PR'), PrecisionAtRecall(0.9)]\n"
        "model = keras.Sequential()\nmodel.compile(loss='bce', metrics=METRICS)\nmodel.fit(x, y)\n",
        safety="unsafe",
    ),
    Example(
        "from tensorflow.keras.metrics import PrecisionAtRecall\nfrom tensorflow import keras\n"
        "m = PrecisionAtRecall(0.9, num_thresholds=50000)\nmodel = keras.Sequential()\n"
        "model.compile(loss='bce', metrics={'out': [m]})\nmodel.train_on_batch(x, y)\n",
        fixed="from tensorflow.keras.metrics import PrecisionAtRecall\nfrom tensorflow import keras\n"
        "m = PrecisionAtRecall(0.9, num_thresholds=200)\nmodel = keras.Sequential()\n"
        "model.compile(loss='bce', metrics={'out': [m]})\nmodel.train_on_batch(x, y)\n",
        safety="unsafe",
    ),
)
