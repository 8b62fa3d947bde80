"""KM104: a `Metric` subclass overrides `reset_states` but not `reset_state` (never called on Keras 3)."""

from __future__ import annotations

from typing import Iterator, List

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import dotted_name
from ..facts.entries import Defines
from ..keras.symbols import METRIC
from ..locate import Locator
from .base import KERAS3_ONLY, Example, Finding, FixPlan, Rule, RuleContext
from .common import classes_of_kind, methods

_DEFINES_RESET_STATES = Defines(("reset_states",))


class ResetStatesOverride(Rule):
    code = "KM104"
    name = "metric-reset-states-override"
    summary = "`Metric` subclass defines `reset_states` but not `reset_state`: Keras 3 never calls it"
    flavours = KERAS3_ONLY
    fix_safety = Safety.SAFE
    needs = (_DEFINES_RESET_STATES,)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for cls in classes_of_kind(ctx, METRIC):
            own = methods(cls)
            definition = own.get(_DEFINES_RESET_STATES.names[0])
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

            name = cls.node.name.value
            if _only_zeroes(definition):
                message = (f"`{name}.reset_states()` is never called by Keras 3. Keras 3 resets metrics through "
                           "`reset_state()`; its default sets every state variable to 0, as this method does, so "
                           "nothing is lost today, but the method is dead code: rename it to `reset_state`")
            else:
                message = (f"`{name}.reset_states()` is never called by Keras 3. Keras 3 resets metrics "
                           "through `reset_state()`: the default one sets every state variable to 0, so a start "
                           "value other than 0 (a running minimum) and anything else this method resets are lost "
                           "at the first reset (the second epoch of `fit`, every `evaluate`); rename it to "
                           "`reset_state`")
            yield Finding(definition.name, message, FixPlan(Safety.SAFE, "Rename the method to `reset_state`", build))


_ZERO_FACTORIES = frozenset({"zeros", "zeros_like"})


def _is_zero(node: cst.BaseExpression) -> bool:
    """`0`, `0.0`, `tf.zeros(...)`, `np.zeros_like(...)`, `K.zeros(...)`."""
    if isinstance(node, (cst.Integer, cst.Float)):
        return float(node.value) == 0.0
    if isinstance(node, cst.Call):
        name = dotted_name(node.func) or ""
        return name.split(".")[-1] in _ZERO_FACTORIES
    return False


def _zeroes(statement: cst.CSTNode) -> bool:
    """A statement that sets metric state to zero: `v.assign(0.0)`, `K.set_value(v, 0)`,
    `K.batch_set_value([(v, 0) for v in self.variables])`, a loop of those, `super().reset_states()`
    (Keras 2's default zeroes every variable), `pass` or a docstring."""
    if isinstance(statement, cst.For):
        return all(_zeroes(inner) for inner in statement.body.body) and statement.orelse is None
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        if isinstance(small, cst.Pass) or (isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString)):
            continue
        if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)):
            return False
        call = small.value
        func = call.func
        method = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        args = [a.value for a in call.args if a.keyword is None]
        if _is_super_call(call):
            continue
        if method == "assign" and len(args) == 1 and _is_zero(args[0]):
            continue
        if method == "set_value" and len(args) == 2 and _is_zero(args[1]):
            continue
        if method == "batch_set_value" and len(args) == 1 and _pairs_to_zero(args[0]):
            continue
        return False
    return True


def _pairs_to_zero(node: cst.BaseExpression) -> bool:
    """`[(v, 0) for v in ...]` or `[(a, 0), (b, 0.0)]`."""
    if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
        elements = [node.elt]
    elif isinstance(node, (cst.List, cst.Tuple)):
        elements = [e.value for e in node.elements]
    else:
        return False
    return all(isinstance(e, cst.Tuple) and len(e.elements) == 2 and _is_zero(e.elements[1].value) for e in elements)


def _only_zeroes(definition: cst.FunctionDef) -> bool:
    body = definition.body
    return isinstance(body, cst.IndentedBlock) and all(_zeroes(statement) for statement in body.body)


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
