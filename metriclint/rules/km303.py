"""KM303: `AUC(num_thresholds=...)` far above the default 200 (a per-batch cost for every step)."""

from __future__ import annotations

from typing import Iterator, Set

import libcst as cst

from ..diagnostics import Safety
from ..facts.arguments import Bound, constructor_argument
from ..facts.containers import metric_elements
from ..facts.entries import COMPILE_METRICS, Calls, Words
from ..facts.values import Instance
from ..keras.symbols import METRIC
from .base import Example, Finding, FixPlan, Rule, RuleContext

DEFAULT_THRESHOLDS = 200
_COST = ("on metriclint's benchmark model (bench/metric_cost.py), with Precision and Recall it made each training "
         "step 1.58x slower than no metrics on Keras 3 (1.31x on Keras 2), the default 1.15x (1.12x)")
# Flag only far above the default (bench/metric_cost.py: AUC(10000) + Precision + Recall vs
# AUC() + Precision + Recall, see _COST).
HEAVY_THRESHOLDS = 2000
_THRESHOLD_METRICS = frozenset({
    "metrics.AUC", "metrics.PrecisionAtRecall", "metrics.RecallAtPrecision",
    "metrics.SensitivityAtSpecificity", "metrics.SpecificityAtSensitivity",
})
_TRAINING = Calls(("fit", "fit_generator", "train_on_batch"))  # a compiled metric that only runs in evaluate() costs little


class HeavyThresholdMetric(Rule):
    code = "KM303"
    name = "heavy-threshold-metric"
    summary = "`AUC(num_thresholds=...)` far above the default 200 slows every training step"
    fix_safety = Safety.UNSAFE
    # the metric is named in code (`AUC(10000)` passes `num_thresholds` by position)
    needs = (_TRAINING, COMPILE_METRICS, Words(frozenset(name.split(".")[-1] for name in _THRESHOLD_METRICS)))

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        if not _TRAINING.sites(ctx.facts):
            return  # nothing trains here: a compiled metric only runs in evaluate(), once
        for call in _compiled_metric_calls(ctx):
            site = ctx.facts.site_of.get(call)
            metric = ctx.resolver.instance(call, site.scope, METRIC) if site is not None else None
            if metric is None or metric.keras_class not in _THRESHOLD_METRICS:
                continue
            given = constructor_argument(ctx.resolver, call, site.scope, metric.keras_class, "num_thresholds", ctx.flavour)
            if not isinstance(given, Bound) or not isinstance(given.value, cst.Integer):
                continue
            value = int(given.value.value)
            if value <= HEAVY_THRESHOLDS:
                continue  # a metric updated by hand (once, after training) is the recommended pattern
            name = metric.keras_class.split(".")[-1]
            node = given.value
            yield Finding(
                node,
                f"`{name}(num_thresholds={value})` updates {value} thresholds on every batch. Compiled for "
                f"training: {_COST}; train with the default {DEFAULT_THRESHOLDS} and compute a fine-grained AUC "
                "once after training",
                FixPlan(Safety.UNSAFE, f"Use the default {DEFAULT_THRESHOLDS} thresholds",
                        lambda loc, node=node: [loc.replace(node, str(DEFAULT_THRESHOLDS))]),
            )


def _compiled_metric_calls(ctx: RuleContext) -> Set[cst.Call]:
    """Calls that build a metric given to some `compile(metrics=...)`: in the list or dict, or through names."""
    found: Set[cst.Call] = set()
    for _, given in COMPILE_METRICS.sites(ctx.facts, ctx.resolver, ctx.flavour):
        for node, scope in metric_elements(ctx.resolver, given.value, given.scope) or ():
            if isinstance(node, cst.Call):
                found.add(node)
                continue
            value = ctx.resolver.resolve(node, scope)
            if isinstance(value, Instance) and isinstance(value.origin, cst.Call):
                found.add(value.origin)
    return found


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
