"""KM209: one metric object shared by two models' `compile`, or by `compile` and a manual loop."""

from __future__ import annotations

from typing import Dict, Iterator, List, Tuple

import libcst as cst

from ..diagnostics import Safety
from ..facts.collect import find_keyword
from ..facts.entries import COMPILE_METRICS
from ..facts.models import CompileInfo, MetricRef, model_facts
from ..facts.walk import Walker
from ..keras.metrics import METRICS
from ..keras.symbols import METRIC
from ..locate import Locator
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import call_text_with_keywords, moved_text


class SharedMetricInstance(Rule):
    code = "KM209"
    name = "shared-metric-instance"
    summary = "One metric object in two models' `compile` (or `compile` and a manual loop) pools their counts"
    fix_safety = Safety.SAFE
    needs = (COMPILE_METRICS,)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        uses: Dict[cst.Call, List[Tuple[object, CompileInfo, MetricRef]]] = {}
        for key, model in model_facts(ctx).items():
            for info in model.compiles:
                for ref in info.metrics:
                    if ref.constructor is not None and ref.node is not ref.constructor:
                        uses.setdefault(ref.constructor, []).append((key, info, ref))
        branches = None
        for constructor, found in uses.items():
            first_model, first_info, _ = found[0]
            for model, info, ref in found[1:]:
                if model is first_model:
                    continue
                if branches is None:
                    branches = _Branches(ctx.module)
                if branches.exclusive(first_info.site.node, info.site.node):
                    continue  # `if ...: a.compile(...) else: b.compile(...)`: one model per run
                yield self._shared_compile(ctx, constructor, ref)
        yield from self._manual_updates(ctx, uses)

    def _shared_compile(self, ctx: RuleContext, constructor: cst.Call, ref: MetricRef) -> Finding:
        info = METRICS.get(ref.keras_class or "")
        default = info.default_name(ctx.flavour) if info else None
        extra = [("name", f'"{default}"')] if find_keyword(constructor, "name") is None and default is not None else []

        def build(loc: Locator):
            # the constructor's own text (with `name=` so the key stays), indented for where it goes
            fresh = call_text_with_keywords(loc, constructor, extra)
            return [loc.replace(ref.node, moved_text(loc, constructor, fresh, ref.node))]

        return Finding(
            ref.node,
            "This metric object is already compiled into another model. Both models update and reset the "
            "same state, so each logs the pooled value (in metriclint's test program the second model read 0.590 where its own value was 0.832); "
            "give each model its own instance",
            FixPlan(Safety.SAFE, "Use a fresh instance (same name)", build),
        )

    def _manual_updates(self, ctx: RuleContext, uses) -> Iterator[Finding]:
        for site in ctx.facts.method_calls("update_state"):
            func = site.node.func
            if not isinstance(func, cst.Attribute):
                continue
            metric = ctx.resolver.instance(func.value, site.scope, METRIC)
            if metric is None or not isinstance(metric.origin, cst.Call) or metric.origin not in uses:
                continue
            yield Finding(
                func.attr,
                "This metric object is also compiled into a model. `fit`/`evaluate` reset and update it "
                "too, so the manual loop reads a mix of both (in metriclint's test program 0.336 where its own value was 0.923); use a "
                "separate instance here",
            )


class _Branches(Walker):
    """For each call, the `if`/`else` branches it sits in, to tell calls that never both run."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__()
        self._path: List[Tuple[int, int]] = []
        self.paths: Dict[int, Tuple[Tuple[int, int], ...]] = {}
        self.walk(module)

    def visit_If(self, node: cst.If) -> bool:
        self.walk(node.test)
        self._path.append((id(node), 0))
        self.walk(node.body)
        self._path.pop()
        if node.orelse is not None:
            self._path.append((id(node), 1))
            self.walk(node.orelse)
            self._path.pop()
        return False

    def visit_Call(self, node: cst.Call) -> None:
        self.paths[id(node)] = tuple(self._path)

    def exclusive(self, a: cst.Call, b: cst.Call) -> bool:
        branch_a = dict(self.paths.get(id(a), ()))
        return any(branch_a.get(node, branch) != branch for node, branch in self.paths.get(id(b), ()))


_HEAD = (
    "import keras\n"
    "auc = keras.metrics.AUC()\n"
    "a = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
    "b = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
)

SharedMetricInstance.valid = (
    Example("import keras\na = keras.Sequential()\nb = keras.Sequential()\n"
            "a.compile(loss='bce', metrics=[keras.metrics.AUC()])\nb.compile(loss='bce', metrics=[keras.metrics.AUC()])\n"),
    # the same model compiled twice keeps one state: fine
    Example(_HEAD + "a.compile(loss='bce', metrics=[auc])\na.compile(loss='mse', metrics=[auc])\n"),
    # models built in exclusive branches: only one is compiled per run
    Example(_HEAD + "if small:\n    a.compile(loss='bce', metrics=[auc])\nelif medium:\n    pass\n"
            "else:\n    b.compile(loss='bce', metrics=[auc])\n"),
    # a separate metric for the manual loop
    Example(_HEAD + "a.compile(loss='bce', metrics=[auc])\nm = keras.metrics.AUC()\nm.update_state(y, p)\n"),
)

SharedMetricInstance.invalid = (
    Example(
        _HEAD + "a.compile(loss='bce', metrics=[auc])\nb.compile(loss='bce', metrics=[auc])\n",
        fixed=_HEAD + "a.compile(loss='bce', metrics=[auc])\nb.compile(loss='bce', metrics=[keras.metrics.AUC(name=\"auc\")])\n",
        safety="safe",
    ),
    Example(
        _HEAD.replace("keras.metrics.AUC()", "keras.metrics.Precision(name='p')")
        + "a.compile(loss='bce', metrics=['accuracy', auc])\nb.compile(loss='bce', metrics=[auc])\n",
        fixed=_HEAD.replace("keras.metrics.AUC()", "keras.metrics.Precision(name='p')")
        + "a.compile(loss='bce', metrics=['accuracy', auc])\nb.compile(loss='bce', metrics=[keras.metrics.Precision(name='p')])\n",
        safety="safe",
    ),
    Example(
        _HEAD + "a.compile(loss='bce', metrics=[auc])\nfor xb, yb in ds:\n    auc.update_state(yb, a(xb))\n",
        safety="none",
    ),
)
