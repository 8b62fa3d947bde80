"""KM215: sample or class weights given to training or evaluation, metrics compiled unweighted."""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst

from ..facts.arguments import Bound
from ..facts.collect import CallSite
from ..facts.entries import COMPILE_METRICS, WEIGHTS_GIVEN
from ..facts.models import CompileInfo, model_of
from .base import Example, Finding, Rule, RuleContext

_TRAINING_METHODS = ("fit", "fit_generator", "train_on_batch")


class UnweightedMetrics(Rule):
    code = "KM215"
    name = "unweighted-metrics-with-weights"
    summary = "`sample_weight`/`class_weight` weigh the loss only: `compile(metrics=...)` without `weighted_metrics=` stays unweighted"
    needs = (COMPILE_METRICS, WEIGHTS_GIVEN)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        weighted_uses: Dict[int, Tuple[CompileInfo, List[str]]] = {}
        for option in WEIGHTS_GIVEN.options:
            for site, given in option.sites(ctx.facts, ctx.resolver, ctx.flavour):  # type: ignore[attr-defined]
                what = _weights(ctx, option.method, option.parameter, given)  # type: ignore[attr-defined]
                if what is None:
                    continue
                info = _single_compile(ctx, site)
                if info is None:
                    continue
                found = weighted_uses.setdefault(id(info.site.node), (info, []))  # type: ignore[union-attr]
                found[1].append(f"`{option.method}({what})`")  # type: ignore[attr-defined]
        for info, uses in weighted_uses.values():
            given = info.metrics_given
            where = given.arg if isinstance(given, Bound) and given.arg is not None else info.site.node.func  # type: ignore[union-attr]
            shown = ", ".join(dict.fromkeys(uses))
            yield Finding(where, (
                f"{shown} weighs the loss only. The metrics of this `compile(metrics=...)` stay unweighted "
                "(tf_keras warns once in `evaluate`, Keras 3 says nothing); for weighted values pass them as "
                "`weighted_metrics=[...]` (logged under the same names; with both, the weighted ones get a "
                "`weighted_` prefix), or `weighted_metrics=[]` to say unweighted is meant"))


def _weights(ctx: RuleContext, method: str, parameter: str, given: Bound) -> Optional[str]:
    """How the call passes weights (for the message), or None when it passes none."""
    value = given.value
    if isinstance(value, cst.Name) and value.value == "None":
        return None
    if parameter == "validation_data":
        # `validation_data=(x_val, y_val, w_val)`: weighted validation metrics
        node = value
        if isinstance(node, cst.Name):
            found = ctx.resolver.single_value(node, given.scope)
            node = found[0] if found is not None else node
        if not (isinstance(node, cst.Tuple) and len(node.elements) == 3
                and not any(isinstance(e, cst.StarredElement) for e in node.elements)):
            return None
        return "validation_data=(x, y, sample_weight)"
    if isinstance(value, (cst.Dict, cst.List, cst.Tuple)) and not getattr(value, "elements", True):
        return None  # `class_weight={}`
    return f"{parameter}=..."


def _single_compile(ctx: RuleContext, site: CallSite) -> Optional[CompileInfo]:
    """The one compile of this file that sets up the model the call trains or evaluates, when its
    metrics are given and certainly unweighted; None otherwise."""
    func = site.node.func
    if not isinstance(func, cst.Attribute):
        return None
    model = model_of(ctx, func.value, site.scope)
    if model is None or len(model.all_compiles) != 1 or not model.compiles:
        return None  # not known, compiled in another module, or compiled more than once
    info = model.compiles[0]
    if info.weighted is not False or info.has_metrics is not True:
        return None
    return info


_MODEL = (
    "import keras\n"
    "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
)
_COMPILE = "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"

UnweightedMetrics.valid = (
    # weighted_metrics given (`[]` says unweighted is meant: it also silences tf_keras's warning)
    Example(_MODEL + "model.compile(loss='binary_crossentropy', weighted_metrics=['accuracy'])\n"
            "model.fit(x, y, sample_weight=w)\n"),
    Example(_MODEL + "model.compile(loss='binary_crossentropy', metrics=['accuracy'], weighted_metrics=[])\n"
            "model.fit(x, y, class_weight={0: 1.0, 1: 3.0})\n"),
    # no weights
    Example(_MODEL + _COMPILE + "model.fit(x, y, sample_weight=None, class_weight={})\nmodel.evaluate(x, y)\n"),
    Example(_MODEL + _COMPILE + "model.fit(x, y, validation_data=(x_val, y_val))\n"),
    # no metrics: nothing to weigh
    Example(_MODEL + "model.compile(optimizer='adam', loss='binary_crossentropy')\nmodel.fit(x, y, sample_weight=w)\n"),
    # unknown model, or one compiled twice, or weighted_metrics maybe passed through **options
    Example("import keras\ndef train(model):\n    model.compile(loss='mse', metrics=['mae'])\n    model.fit(x, y, sample_weight=w)\n"),
    Example(_MODEL + _COMPILE + "model.compile(loss='mse', metrics=['mae'], weighted_metrics=['mae'])\nmodel.fit(x, y, sample_weight=w)\n"),
    Example(_MODEL + "model.compile(loss='mse', metrics=['mae'], **opts)\nmodel.fit(x, y, sample_weight=w)\n"),
    # another library's fit
    Example(_MODEL + _COMPILE + "from sklearn.linear_model import LogisticRegression\nclf = LogisticRegression()\n"
            "clf.fit(x, y, sample_weight=w)\nmodel.fit(x, y)\n"),
)

UnweightedMetrics.invalid = (
    Example(_MODEL + _COMPILE + "model.fit(x, y, sample_weight=w, epochs=5)\n", safety="none"),
    Example(_MODEL + _COMPILE + "model.fit(x, y, class_weight={0: 1.0, 1: 3.0})\nmodel.evaluate(x, y, sample_weight=w)\n",
            safety="none"),
    # weighted validation data
    Example(_MODEL + _COMPILE + "val = (x_val, y_val, w_val)\nmodel.fit(x, y, validation_data=val)\n", safety="none"),
    # tf_keras, positional arguments, train_on_batch
    Example("import tf_keras as keras\nmodel = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
            "model.compile('adam', 'binary_crossentropy', [keras.metrics.AUC()])\n"
            "model.train_on_batch(x, y, w)\n", flavour="2", safety="none"),
)
