"""KM210: `Metric.result()` divides by a state variable that is zero before any update."""

from __future__ import annotations

from typing import FrozenSet, Iterator, List, Optional, Set

import libcst as cst

from ..diagnostics import Safety
from ..facts.collect import dotted_name
from ..facts.values import Dotted
from ..facts.walk import find_all
from ..keras.symbols import METRIC
from ..locate import Locator
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import classes_of_kind, methods, names_standalone_keras, self_attributes_used

_GUARD_CALLS = {"epsilon", "maximum", "clip", "clip_by_value", "divide_no_nan", "max"}
_DIVIDE_CALLS = {"divide", "truediv", "true_divide"}


class UnguardedResultDivision(Rule):
    code = "KM210"
    name = "unguarded-result-division"
    summary = "`Metric.result()` divides by a state that is 0 before any update (or with no positives): NaN"
    fix_safety = Safety.SAFE

    @classmethod
    def triggers(cls) -> FrozenSet[str]:
        return frozenset({"result"})

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        safe_divide = _safe_divide(ctx)
        for cls in classes_of_kind(ctx, METRIC):
            own = methods(cls)
            result = own.get("result")
            if result is None:
                continue
            states = _states(own)
            guarded = _guarded_states(result)
            for operation in find_all(result.body, cst.BinaryOperation):
                if not isinstance(operation.operator, cst.Divide):
                    continue
                risky = self_attributes_used(operation.right) & states
                if not risky or risky & guarded or _has_guard(operation.right):
                    continue
                state = sorted(risky)[0]
                message = (
                    f"`result()` divides by `self.{state}`, which is 0 before the first update (and whenever "
                    "nothing was counted): the metric reads NaN, and a monitored NaN stops EarlyStopping early"
                )
                if safe_divide is None:
                    yield Finding(operation, message + "; guard the division (`divide_no_nan`)")
                    continue
                yield Finding(operation, message + f"; use `{safe_divide}`", FixPlan(
                    Safety.SAFE, f"Use `{safe_divide}`",
                    lambda loc, op=operation: [loc.replace(op, f"{safe_divide}({loc.code(op.left)}, {loc.code(op.right)})")]))


def _states(own) -> Set[str]:
    """`self.x = self.add_weight(...)` anywhere in the class."""
    out = set()
    for function in own.values():
        for assign in find_all(function.body, cst.Assign):
            value = assign.value
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "add_weight":
                for target in assign.targets:
                    node = target.target
                    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
                        out.add(node.attr.value)
    return out


def _guarded_states(result: cst.FunctionDef) -> Set[str]:
    """States tested in an `if`/conditional/`where` in `result()` (e.g. `if self.n == 0: return 0.0`)."""
    out: Set[str] = set()
    for node in find_all(result.body, cst.If, cst.IfExp):
        out |= self_attributes_used(node.test)
    for call in find_all(result.body, cst.Call):
        name = dotted_name(call.func) or ""
        if name.split(".")[-1] in ("where", "cond", "switch") and call.args:
            out |= self_attributes_used(call.args[0].value)
    return out


def _has_guard(node: cst.CSTNode) -> bool:
    for call in find_all(node, cst.Call):
        name = dotted_name(call.func) or ""
        if name.split(".")[-1] in _GUARD_CALLS:
            return True
    for operation in find_all(node, cst.BinaryOperation):
        if isinstance(operation.operator, cst.Add) and (
            isinstance(operation.left, (cst.Float, cst.Integer)) or isinstance(operation.right, (cst.Float, cst.Integer))
        ):
            return True  # `count + 1e-7`
    return False


def _safe_divide(ctx: RuleContext) -> Optional[str]:
    for name, bindings in ctx.facts.root.bindings.items():
        value = ctx.resolver.resolve(cst.Name(name), ctx.facts.root)
        if isinstance(value, Dotted) and value.path == "tensorflow":
            return f"{name}.math.divide_no_nan"
    if ctx.flavour == "3" and names_standalone_keras(ctx, "keras"):
        return "keras.ops.divide_no_nan"
    return None


_HEAD = (
    "import tensorflow as tf\nimport keras\n"
    "class MeanAbove(keras.metrics.Metric):\n"
    "    def __init__(self, **kw):\n        super().__init__(**kw)\n"
    "        self.total = self.add_weight(name='total', initializer='zeros')\n"
    "        self.count = self.add_weight(name='count', initializer='zeros')\n"
)

UnguardedResultDivision.valid = (
    Example(_HEAD + "    def result(self):\n        return tf.math.divide_no_nan(self.total, self.count)\n"),
    Example(_HEAD + "    def result(self):\n        return self.total / (self.count + keras.backend.epsilon())\n"),
    Example(_HEAD + "    def result(self):\n        if self.count == 0:\n            return 0.0\n        return self.total / self.count\n"),
    Example(_HEAD + "    def result(self):\n        return self.total / 2.0\n"),
    Example(_HEAD + "    def result(self):\n        return self.total / tf.maximum(self.count, 1.0)\n"),
)

UnguardedResultDivision.invalid = (
    Example(
        _HEAD + "    def result(self):\n        return self.total / self.count\n",
        fixed=_HEAD + "    def result(self):\n        return tf.math.divide_no_nan(self.total, self.count)\n",
    ),
    Example(
        _HEAD.replace("import tensorflow as tf\n", "") + "    def result(self):\n        p = self.total / (self.total + self.count)\n        return p\n",
        fixed=_HEAD.replace("import tensorflow as tf\n", "") + "    def result(self):\n        p = keras.ops.divide_no_nan(self.total, self.total + self.count)\n        return p\n",
    ),
)
