"""KM104: a `Metric` subclass overrides `reset_states` but not `reset_state` (never called on Keras 3)."""

from __future__ import annotations

from typing import FrozenSet, Iterator, List

import libcst as cst

from ..diagnostics import Edit, Safety
from ..keras.symbols import METRIC
from ..locate import Locator
from .base import KERAS3_ONLY, Example, Finding, FixPlan, Rule, RuleContext
from .common import classes_of_kind, methods


class ResetStatesOverride(Rule):
    code = "KM104"
    name = "metric-reset-states-override"
    summary = "`Metric` subclass defines `reset_states` but not `reset_state`: Keras 3 never calls it"
    flavours = KERAS3_ONLY
    fix_safety = Safety.SAFE

    @classmethod
    def triggers(cls) -> FrozenSet[str]:
        return frozenset({"reset_states"})

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for cls in classes_of_kind(ctx, METRIC):
            own = methods(cls)
            definition = own.get("reset_states")
            if definition is None or ctx.resolver.class_defines(cls, "reset_state"):
                continue
            # `super().reset_states()` inside must follow the rename: Keras 3's Metric lacks it.
            super_calls = [
                site.node.func
                for site in ctx.facts.method_calls("reset_states")
                if site.scope.node is definition and _is_super_call(site.node)
            ]

            def build(loc: Locator, definition=definition, super_calls=super_calls) -> List[Edit]:
                edits = [loc.replace(definition.name, "reset_state")]
                edits.extend(loc.replace(func.attr, "reset_state") for func in super_calls)
                return edits

            yield Finding(
                definition.name,
                f"`{cls.node.name.value}.reset_states()` is never called by Keras 3, which resets metrics "
                "through `reset_state()`: the default one sets every state variable to 0, so a start value "
                "other than 0 (a running minimum) and anything else this method resets are lost at the first "
                "reset (the second epoch of `fit`, every `evaluate`); rename it to `reset_state`",
                FixPlan(Safety.SAFE, "Rename the method to `reset_state`", build),
            )


def _is_super_call(call: cst.Call) -> bool:
    func = call.func
    return (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Call)
        and isinstance(func.value.func, cst.Name)
        and func.value.func.value == "super"
    )


_HEAD = "import keras\n"
_CLS = "class RunningMin(keras.metrics.Metric):\n    def update_state(self, y_true, y_pred, sample_weight=None):\n        pass\n"

ResetStatesOverride.valid = (
    Example(_HEAD + _CLS + "    def reset_state(self):\n        pass\n"),
    # both names (libraries keep an alias)
    Example(_HEAD + _CLS + "    def reset_state(self):\n        pass\n    def reset_states(self):\n        self.reset_state()\n"),
    # layers and models define reset_states legitimately
    Example(_HEAD + "class L(keras.layers.Layer):\n    def reset_states(self):\n        pass\n"),
    Example(_HEAD + "class Agent:\n    def reset_states(self):\n        pass\n"),
    # Keras 2 calls reset_states (with a warning)
    Example("import tf_keras as keras\n" + _CLS + "    def reset_states(self):\n        pass\n", flavour="2"),
)

ResetStatesOverride.invalid = (
    Example(
        _HEAD + _CLS + "    def reset_states(self):\n        self.v.assign(0.0)\n",
        fixed=_HEAD + _CLS + "    def reset_state(self):\n        self.v.assign(0.0)\n",
        safety="safe",
    ),
    Example(
        _HEAD + _CLS + "    def reset_states(self):\n        super().reset_states()\n        self.n = 0\n",
        fixed=_HEAD + _CLS + "    def reset_state(self):\n        super().reset_state()\n        self.n = 0\n",
        safety="safe",
    ),
    Example(
        "from tensorflow.keras.metrics import Metric\nclass Base(Metric):\n    pass\n"
        "class M(Base):\n    def reset_states(self):\n        pass\n",
        fixed="from tensorflow.keras.metrics import Metric\nclass Base(Metric):\n    pass\n"
        "class M(Base):\n    def reset_state(self):\n        pass\n",
        safety="safe",
    ),
)
