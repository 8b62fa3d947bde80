"""KM102: `model.metrics_tensors` (removed) and `model.metrics_names.append(...)` (no effect)."""

from __future__ import annotations

from typing import Dict, FrozenSet, Iterator, List, Optional, Tuple

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import AttributeSite, dotted_name
from ..keras.symbols import MODEL
from ..locate import Locator
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import delete_statement

_MODERN = (
    "log the value as a metric instead: a metric function in `compile(metrics=[...])` "
    "(key `<name>`, `val_<name>`) or a `keras.metrics.Mean(name=...)` tracker updated in `train_step`"
)


class RemovedMetricsTensors(Rule):
    code = "KM102"
    name = "metrics-tensors"
    summary = "`model.metrics_tensors` no longer exists and `model.metrics_names.append()` does nothing"
    fix_safety = Safety.UNSAFE

    @classmethod
    def triggers(cls) -> FrozenSet[str]:
        return frozenset({"metrics_tensors", "metrics_names"})

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        names_appends = self._names_appends(ctx)
        paired: set = set()
        for site in ctx.facts.attributes.get("metrics_tensors", []):
            if ctx.resolver.instance(site.node.value, site.scope, MODEL) is None:
                continue
            fix = self._pair_fix(ctx, site, names_appends) if ctx.flavour == "2" else None
            if fix is not None:
                paired.add(fix[1])
            yield Finding(
                site.node.attr,
                "`model.metrics_tensors` was removed in Keras 2.3 (AttributeError on Keras 2 and 3); "
                + ("use `model.add_metric(tensor, name=...)`" if ctx.flavour == "2" else _MODERN),
                fix[0] if fix is not None else None,
            )
        for statement, (site, call) in names_appends.items():
            if statement in paired:
                continue
            yield Finding(
                site.node.attr,
                f"`model.metrics_names.{call.func.attr.value}()` has no effect: Keras rebuilds the list "  # type: ignore[attr-defined]
                f"on every access, so the name is never logged; {_MODERN}",
            )

    @staticmethod
    def _names_appends(ctx: RuleContext) -> Dict[cst.SimpleStatementLine, Tuple[AttributeSite, cst.Call]]:
        """`model.metrics_names.append(x)` statements on resolved models."""
        out = {}
        by_receiver = {
            id(call.func.value): call
            for call in (c.node for c in ctx.facts.method_calls("append", "extend"))
            if isinstance(call.func, cst.Attribute)
        }
        for site in ctx.facts.attributes.get("metrics_names", []):
            parent_call = by_receiver.get(id(site.node))
            if parent_call is None or site.statement is None:
                continue
            if ctx.resolver.instance(site.node.value, site.scope, MODEL) is None:
                continue
            out[site.statement] = (site, parent_call)
        return out

    @staticmethod
    def _pair_fix(ctx, site: AttributeSite, names_appends) -> Optional[Tuple[FixPlan, cst.SimpleStatementLine]]:
        """Mask R-CNN's pattern, on Keras 2: `m.metrics_names.append(name)` + `m.metrics_tensors.append(t)`
        in one block -> `m.add_metric(t, name=name)`."""
        statement = site.statement
        if statement is None or len(statement.body) != 1:
            return None
        expr = statement.body[0]
        if not (isinstance(expr, cst.Expr) and isinstance(expr.value, cst.Call)):
            return None
        call = expr.value
        if not (isinstance(call.func, cst.Attribute) and call.func.value is site.node and call.func.attr.value == "append"
                and len(call.args) == 1 and call.args[0].keyword is None):
            return None
        receiver = dotted_name(site.node.value)
        block = ctx.facts.block_of.get(statement)
        for names_statement, (names_site, names_call) in names_appends.items():
            if (ctx.facts.block_of.get(names_statement) is block and dotted_name(names_site.node.value) == receiver
                    and len(names_call.args) == 1 and names_call.args[0].keyword is None
                    and len(names_statement.body) == 1):
                tensor, name = call.args[0].value, names_call.args[0].value

                def build(loc: Locator, call=call, tensor=tensor, name=name, names_statement=names_statement) -> List[Edit]:
                    new = f"{receiver}.add_metric({loc.code(tensor)}, name={loc.code(name)})"
                    return [loc.replace(call, new), delete_statement(loc, names_statement)]

                return FixPlan(Safety.UNSAFE, "Log the tensor with `add_metric(tensor, name=...)`", build), names_statement
        return None


_K2 = "import tf_keras as keras\nmodel = keras.Model(i, o)\n"

RemovedMetricsTensors.valid = (
    Example("import keras\nclass Network:\n    def build(self):\n        self.metrics_tensors = []\n        self.metrics_tensors.append(t)\n"),
    Example("import keras\nmodel = build()\nmodel.metrics_tensors.append(t)\n"),
    Example(_K2 + "# model.metrics_tensors.append(loss)\nif 'x' in model.metrics_names:\n    pass\n", flavour="2"),
    Example("import keras\nmodel = keras.Model(i, o)\nnames = list(model.metrics_names)\n"),
)

RemovedMetricsTensors.invalid = (
    # Mask R-CNN's loss-component pattern, Keras 2: fixed to add_metric
    Example(
        _K2 + "for name in loss_names:\n    layer = model.get_layer(name)\n"
        "    model.metrics_names.append(name)\n    loss = tf.reduce_mean(layer.output)\n"
        "    model.metrics_tensors.append(loss)\n",
        fixed=_K2 + "for name in loss_names:\n    layer = model.get_layer(name)\n"
        "    loss = tf.reduce_mean(layer.output)\n    model.add_metric(loss, name=name)\n",
        flavour="2",
    ),
    Example(
        "import keras.models as KM\nclass MaskRCNN:\n    def build(self):\n        self.keras_model = KM.Model(i, o)\n"
        "    def compile(self):\n        self.keras_model.metrics_tensors.append(loss)\n"
    ),
    Example("import keras\nmodel = keras.Model(i, o)\nmodel.metrics_names.append('bce_loss')\n"),
    Example("import keras\nmodel = keras.Model(i, o)\nn = len(model.metrics_tensors)\n"),
)
