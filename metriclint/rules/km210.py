"""KM210: `Metric.result()` divides by a state variable that is zero before any update."""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import dotted_name
from ..facts.entries import Calls, Defines
from ..facts.values import Dotted
from ..facts.walk import find_all
from ..keras.symbols import METRIC
from ..locate import Locator
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import classes_of_kind, methods, self_attributes_used, skip_trivia

_GUARD_CALLS = {"epsilon", "maximum", "clip", "clip_by_value", "divide_no_nan", "max"}
_DIVIDE_CALLS = {"divide", "truediv", "true_divide"}
_NAN_TESTS = {"is_nan", "isnan", "is_finite", "isfinite", "nan_to_num"}
_STATE_FACTORIES = {"add_weight", "add_variable"}  # `Metric.add_variable` is Keras 3's name


class UnguardedResultDivision(Rule):
    code = "KM210"
    name = "unguarded-result-division"
    summary = "`Metric.result()` divides by a state that is 0 before any update (or with no positives): NaN"
    fix_safety = Safety.SAFE
    needs = (Defines(("result",)), Calls(tuple(sorted(_STATE_FACTORIES))))  # `result()` over `add_weight` states

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        safe_divide = _safe_divide(ctx)
        for cls in classes_of_kind(ctx, METRIC):
            own = methods(cls)
            result = own.get("result")
            if result is None:
                continue
            states = _states(own)
            if _is_r_squared(result, own.get("update_state"), states):
                continue  # R² of no samples is undefined: NaN is the answer (Keras's R2Score gives NaN too)
            if _tests_for_nan(result):
                continue  # it catches the NaN itself (tfa's CohenKappa: `cond(is_nan(d), 0.0, ...)`)
            guarded = _guarded_states(result)
            for operation, numerator, denominator in _divisions(result):
                risky = self_attributes_used(denominator) & states
                if not risky or risky & guarded or _has_guard(denominator):
                    continue
                bare = denominator.with_changes(lpar=[], rpar=[]) if getattr(denominator, "lpar", None) else denominator
                divisor = cst.Module(body=[]).code_for_node(bare).strip()
                if len(divisor) > 60 or "\n" in divisor:
                    divisor = f"self.{sorted(risky)[0]}"
                message = (
                    f"`result()` divides by `{divisor}`, which can be 0 (NaN). It is 0 before the first update (and "
                    "whenever nothing was counted): the metric reads NaN where Keras's own metrics read 0.0, and a NaN "
                    "is never an improvement for EarlyStopping or ModelCheckpoint"
                )
                if safe_divide is None:
                    yield Finding(operation, message + "; guard the division (`divide_no_nan`)")
                    continue
                yield Finding(operation, message + f"; use `{safe_divide}`", FixPlan(
                    Safety.SAFE, f"Use `{safe_divide}`",
                    lambda loc, op=operation: _guarded(loc, op, safe_divide)))


def _guarded(loc: Locator, operation: cst.CSTNode, safe_divide: str) -> List[Edit]:
    """`a / b` -> `safe_divide(a, b)` (only `/`, the operands' own parentheses and what goes around
    change, so the operands and the line breaks between them keep their text);
    `tf.math.divide(a, b)` -> `safe_divide(a, b)`."""
    if isinstance(operation, cst.Call):
        return [loc.replace(operation.func, safe_divide)]
    assert isinstance(operation, cst.BinaryOperation)
    text = loc.lines.text
    start, end = loc.span(operation)
    left_start, left_end = loc.span(operation.left)
    right_start, _ = loc.span(operation.right)
    slash = left_end
    closing: List[int] = []  # the left operand's closing parentheses
    while True:
        slash = skip_trivia(text, slash, end)
        if text[slash] != ")":
            break
        closing.append(slash)
        slash += 1
    assert text[slash] == "/"
    edits = [Edit(start, start, f"{safe_divide}("), Edit(end, end, ")")]
    comment = "#" in text[left_end:slash]  # a line break inside parentheses: keep it and its comment
    if _bare_parentheses(operation.left):  # `(a + b) / c`: the call's parentheses are enough
        edits.append(Edit(start, left_start, ""))
        if comment:
            edits.extend([Edit(closing[-1], closing[-1] + 1, ""), Edit(slash, slash + 1, ",")])
        else:
            edits.append(Edit(closing[-1], slash + 1, ","))
    else:
        before = slash
        while not comment and text[before - 1] in " \t\f":
            before -= 1
        edits.append(Edit(before, slash + 1, ","))
    if _bare_parentheses(operation.right):
        edits.append(Edit(skip_trivia(text, slash + 1, right_start), right_start, ""))
        edits.append(Edit(end - 1, end, ""))
    return sorted(edits)


def _bare_parentheses(node: cst.CSTNode) -> bool:
    """One pair of parentheses that an argument does not need (a tuple's, a generator's or a
    `yield`'s are needed)."""
    return len(getattr(node, "lpar", ())) == 1 and not isinstance(node, (cst.Tuple, cst.GeneratorExp, cst.Yield))


def _divisions(result: cst.FunctionDef) -> Iterator[Tuple[cst.CSTNode, cst.CSTNode, cst.CSTNode]]:
    """(node, numerator, denominator) for `a / b` and `tf.math.divide(a, b)`-style calls."""
    for operation in find_all(result.body, cst.BinaryOperation):
        if isinstance(operation.operator, cst.Divide):
            yield operation, operation.left, operation.right
    for call in find_all(result.body, cst.Call):
        name = dotted_name(call.func) or ""
        if name.split(".")[-1] not in _DIVIDE_CALLS or "." not in name:
            continue  # `tf.divide`, `tf.math.truediv`, `ops.divide`; a bare `divide(...)` is unknown
        if len(call.args) == 2 and all(a.keyword is None and a.star == "" for a in call.args):
            yield call, call.args[0].value, call.args[1].value


def _states(own) -> Set[str]:
    """`self.x = self.add_weight(...)` (Keras 3 also: `self.add_variable(...)`) anywhere in the class."""
    out = set()
    for function in own.values():
        for assign in find_all(function.body, cst.Assign):
            value = assign.value
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value in _STATE_FACTORIES:
                for target in assign.targets:
                    node = target.target
                    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
                        out.add(node.attr.value)
    return out


def _is_r_squared(result: cst.FunctionDef, update: Optional[cst.FunctionDef], states: Set[str]) -> bool:
    """Whether `result()` computes `1 - ss_res / ss_tot` with `ss_tot` a total sum of squares.

    That is R² (keras and tf_keras `R2Score`, tensorflow-addons `RSquare`): with no samples it is
    undefined, and Keras's own `R2Score` reads NaN there, not the 0.0 of its ratio metrics.
    Names assigned in `result()` are followed to their values (`total = sq_sum - sum * mean`).
    """
    local: Dict[str, List[cst.BaseExpression]] = {}
    for assign in find_all(result.body, cst.Assign):
        for target in assign.targets:
            if isinstance(target.target, cst.Name):
                local.setdefault(target.target.value, []).append(assign.value)
    accumulated = _accumulated(update, states)
    for operation in find_all(result.body, cst.BinaryOperation):
        if not (isinstance(operation.operator, cst.Subtract) and _is_one(operation.left)):
            continue
        for ratio in _values(operation.right, local):
            denominator = _denominator(ratio)
            if denominator is not None and _sum_of_squares(denominator, local, accumulated):
                return True
    return False


def _is_one(node: cst.CSTNode) -> bool:
    return isinstance(node, (cst.Integer, cst.Float)) and float(node.value) == 1.0


def _values(node: cst.BaseExpression, local: Dict[str, List[cst.BaseExpression]]) -> List[cst.BaseExpression]:
    """`node`, or what a local name holds."""
    if isinstance(node, cst.Name) and node.value in local:
        return local[node.value]
    return [node]


def _denominator(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
        return node.right
    if isinstance(node, cst.Call) and (dotted_name(node.func) or "").split(".")[-1] in _DIVIDE_CALLS | {"divide_no_nan"}:
        if len(node.args) == 2:
            return node.args[1].value
    return None


def _squares(node: cst.CSTNode) -> bool:
    """`x ** 2`, `square(x)`, or `sq_sum - sum * mean` (the variance identity)."""
    for operation in find_all(node, cst.BinaryOperation):
        if isinstance(operation.operator, cst.Power) and isinstance(operation.right, cst.Integer) and operation.right.value == "2":
            return True
        if isinstance(operation.operator, cst.Subtract) and isinstance(operation.right, cst.BinaryOperation) \
                and isinstance(operation.right.operator, cst.Multiply):
            return True
    return any((dotted_name(c.func) or "").split(".")[-1] == "square" for c in find_all(node, cst.Call))


def _sum_of_squares(node: cst.BaseExpression, local: Dict[str, List[cst.BaseExpression]], accumulated: Set[str]) -> bool:
    """A sum of squares: squares in the expression (through one level of locals), or a state that accumulates them."""
    for value in _values(node, local):
        if _squares(value) or self_attributes_used(value) & accumulated:
            return True
        for name in find_all(value, cst.Name):
            if name.value in local and any(_squares(v) for v in local[name.value]):
                return True
    return False


def _accumulated(update: Optional[cst.FunctionDef], states: Set[str]) -> Set[str]:
    """States that `update_state` grows by squares (`self.ss_tot.assign_add(sum(square(y - mean)))`)."""
    out: Set[str] = set()
    if update is None:
        return out
    for call in find_all(update.body, cst.Call):
        func = call.func
        if (isinstance(func, cst.Attribute) and func.attr.value in ("assign_add", "assign")
                and isinstance(func.value, cst.Attribute) and isinstance(func.value.value, cst.Name)
                and func.value.value.value == "self" and func.value.attr.value in states
                and any(_squares(a.value) for a in call.args)):
            out.add(func.value.attr.value)
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


def _tests_for_nan(result: cst.FunctionDef) -> bool:
    """Whether `result()` tests a value for NaN (`is_nan`, `isnan`, `is_finite`, `nan_to_num`): then
    a 0 / 0 inside is caught there, and `divide_no_nan` would turn the NaN it tests into a 0 it
    does not (CohenKappa's 1 - 0 / 0 would read NaN instead of its 0.0)."""
    return any((dotted_name(c.func) or "").split(".")[-1] in _NAN_TESTS for c in find_all(result.body, cst.Call))


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


_TENSORFLOW = ("tensorflow", "tensorflow.compat.v2")  # both have `.math.divide_no_nan`
_KERAS3_OPS = ("keras.ops", "keras.src.ops")  # standalone Keras 3 only (tf_keras has no ops)


def _imported(ctx: RuleContext, name: str) -> Optional[str]:
    """The dotted module path a module-level name holds (`tf` -> `tensorflow`), if known."""
    value = ctx.resolver.resolve_name(name, ctx.facts.root)
    return value.path if isinstance(value, Dotted) else None


def _safe_divide(ctx: RuleContext) -> Optional[str]:
    imported = {name: _imported(ctx, name) for name in ctx.facts.root.bindings}
    for name, path in sorted(imported.items()):
        if path in _TENSORFLOW:
            return f"{name}.math.divide_no_nan"
    if ctx.flavour != "3":
        return None
    if imported.get("keras") == "keras":
        return "keras.ops.divide_no_nan"
    for name, path in sorted(imported.items()):
        if path in _KERAS3_OPS:
            return f"{name}.divide_no_nan"  # `from keras import ops`
    return None


_HEAD = (
    "import tensorflow as tf\nimport keras\n"
    "class MeanAbove(keras.metrics.Metric):\n"
    "    def __init__(self, **kw):\n        super().__init__(**kw)\n"
    "        self.total = self.add_weight(name='total', initializer='zeros')\n"
    "        self.count = self.add_weight(name='count', initializer='zeros')\n"
)

_R2_HEAD = (
    "import tensorflow as tf\nimport keras\nclass R2Score(keras.metrics.Metric):\n"
    "    def __init__(self, **kw):\n        super().__init__(**kw)\n"
    + "".join(f"        self.{n} = self.add_weight(name='{n}', initializer='zeros')\n"
              for n in ("sum", "squared_sum", "total_mse", "count"))
)

UnguardedResultDivision.valid = (
    # the NaN is caught after the division (tensorflow-addons `CohenKappa.result`): it reads 0.0
    Example(_HEAD + "    def result(self):\n        share = self.total / tf.reduce_sum(self.count)\n"
            "        return tf.cond(tf.math.is_nan(share), true_fn=lambda: 0.0, false_fn=lambda: 1 - share)\n"),
    Example(_HEAD + "    def result(self):\n        return tf.math.divide_no_nan(self.total, self.count)\n"),
    Example(_HEAD + "    def result(self):\n        return self.total / (self.count + keras.backend.epsilon())\n"),
    Example(_HEAD + "    def result(self):\n        if self.count == 0:\n            return 0.0\n        return self.total / self.count\n"),
    Example(_HEAD + "    def result(self):\n        return self.total / 2.0\n"),
    Example(_HEAD + "    def result(self):\n        return self.total / tf.maximum(self.count, 1.0)\n"),
    Example(_HEAD + "    def result(self):\n        return tf.math.divide(self.total, tf.maximum(self.count, 1.0))\n"),
    # not a state: a constructor argument kept in Python
    Example(_HEAD + "    def result(self):\n        return self.total / self.num_classes\n"),
    # R² (keras/tf_keras `R2Score`, tensorflow-addons `RSquare`): undefined with no samples, NaN as in Keras
    Example(_R2_HEAD + "    def result(self):\n        mean = self.sum / self.count\n"
            "        total = self.squared_sum - self.sum * mean\n        raw_scores = 1 - (self.total_mse / total)\n"
            "        return tf.where(tf.math.is_inf(raw_scores), 0.0, raw_scores)\n"),
    # a user's R²: the denominator is a state that update_state grows by squares
    Example(_R2_HEAD + "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        self.total_mse.assign_add(tf.reduce_sum(tf.square(y_true - y_pred)))\n"
            "        self.squared_sum.assign_add(tf.reduce_sum(tf.square(y_true - tf.reduce_mean(y_true))))\n"
            "    def result(self):\n        return 1.0 - self.total_mse / self.squared_sum\n"),
)

UnguardedResultDivision.invalid = (
    Example(
        _HEAD + "    def result(self):\n        return self.total / self.count\n",
        fixed=_HEAD + "    def result(self):\n        return tf.math.divide_no_nan(self.total, self.count)\n",
        safety="safe",
    ),
    Example(
        _HEAD.replace("import tensorflow as tf\n", "") + "    def result(self):\n        p = self.total / (self.total + self.count)\n        return p\n",
        fixed=_HEAD.replace("import tensorflow as tf\n", "") + "    def result(self):\n        p = keras.ops.divide_no_nan(self.total, self.total + self.count)\n        return p\n",
        safety="safe",
    ),
    # Keras 3's `add_variable` state, `from keras import ops`: the fix uses that name
    Example(
        "from keras import metrics, ops\nclass R(metrics.Metric):\n    def __init__(self, **kw):\n        super().__init__(**kw)\n"
        "        self.count = self.add_variable(name='count', shape=(), initializer='zeros')\n"
        "        self.sum = self.add_variable(name='sum', shape=(), initializer='zeros')\n"
        "    def result(self):\n        return self.sum / self.count\n",
        fixed="from keras import metrics, ops\nclass R(metrics.Metric):\n    def __init__(self, **kw):\n        super().__init__(**kw)\n"
        "        self.count = self.add_variable(name='count', shape=(), initializer='zeros')\n"
        "        self.sum = self.add_variable(name='sum', shape=(), initializer='zeros')\n"
        "    def result(self):\n        return ops.divide_no_nan(self.sum, self.count)\n",
        safety="safe",
    ),
    # the call form, and TensorFlow imported as `tensorflow.compat.v2` (tf_keras's own style)
    Example(
        _HEAD.replace("import tensorflow as tf\n", "import tensorflow.compat.v2 as tf\n")
        + "    def result(self):\n        return tf.math.divide(self.total, self.count)\n",
        fixed=_HEAD.replace("import tensorflow as tf\n", "import tensorflow.compat.v2 as tf\n")
        + "    def result(self):\n        return tf.math.divide_no_nan(self.total, self.count)\n",
        safety="safe",
    ),
    # `1 - ratio` that is not R² (an error rate over a count): still reported
    Example(
        _HEAD + "    def result(self):\n        return 1.0 - self.total / self.count\n",
        fixed=_HEAD + "    def result(self):\n        return 1.0 - tf.math.divide_no_nan(self.total, self.count)\n",
        safety="safe",
    ),
    # the same states, but `result()` is a plain mean, not `1 - ss_res / ss_tot`: still reported
    Example(
        _R2_HEAD + "    def result(self):\n        return self.total_mse / self.count\n",
        fixed=_R2_HEAD + "    def result(self):\n        return tf.math.divide_no_nan(self.total_mse, self.count)\n",
        safety="safe",
    ),
    # Keras 2: no `keras.ops`, and no TensorFlow import to borrow `divide_no_nan` from: report only
    Example(
        "import tf_keras as keras\nclass M(keras.metrics.Metric):\n    def __init__(self, **kw):\n        super().__init__(**kw)\n"
        "        self.n = self.add_weight(name='n', initializer='zeros')\n"
        "    def result(self):\n        return 1.0 / self.n\n",
        flavour="2",
        safety="none",
    ),
)
