"""Metric functions a `compile(metrics=[...])` list may hold, judged by what their body computes.

Shared by KM203 and by the project index (another module's `f1_m` is judged where it is defined).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Set

import libcst as cst

from .collect import dotted_name, find_keyword, positional_args
from .values import FunctionValue
from .walk import find_all

if TYPE_CHECKING:  # pragma: no cover
    from .resolve import Resolver

BATCH_SUMS = frozenset({"sum", "reduce_sum", "count_nonzero"})
_DIVIDES = frozenset({"divide", "truediv", "divide_no_nan"})


def _call_name(call: cst.Call) -> str:
    name = dotted_name(call.func)
    return name.split(".")[-1] if name else ""


def _sums_over_batch(call: cst.Call) -> bool:
    """Whether a sum reduces the batch axis: no axis (everything), `axis=None` or an axis with 0.

    `K.sum(x, axis=-1)` or `tf.reduce_sum(x, axis=[1, 2, 3])` keep one value per sample (a
    per-sample Dice or Jaccard); Keras averages those over samples correctly. An axis the
    file does not spell out (a variable) is not known to reduce the batch: silent.
    """
    keyword = find_keyword(call, "axis")
    positional = positional_args(call)
    axis = keyword.value if keyword is not None else (positional[1].value if len(positional) > 1 else None)
    if axis is None:
        return True
    if isinstance(axis, cst.Name):
        return axis.value == "None"
    if isinstance(axis, cst.Integer):
        return int(axis.value) == 0
    if isinstance(axis, (cst.List, cst.Tuple)):
        return any(isinstance(e.value, cst.Integer) and int(e.value.value) == 0 for e in axis.elements)
    return False


def is_batchwise_ratio(resolver: "Resolver", function: FunctionValue, memo: Dict, active: Set) -> bool:
    """Whether the function divides by a batch sum (directly, through locals, or via helpers)."""
    node = function.node
    if node in memo:
        return memo[node]
    if node in active:
        return False
    active.add(node)
    assigned: Dict[str, cst.BaseExpression] = {}
    for assign in find_all(node.body, cst.Assign):
        for target in assign.targets:
            if isinstance(target.target, cst.Name):
                assigned[target.target.value] = assign.value

    def involves_batch_sum(expr: cst.CSTNode, depth: int = 0) -> bool:
        if depth > 6:
            return False
        for call in find_all(expr, cst.Call):
            if _call_name(call) in BATCH_SUMS and _sums_over_batch(call):
                return True
            helper = resolver.resolve(call.func, function.body)
            if isinstance(helper, FunctionValue) and is_batchwise_ratio(resolver, helper, memo, active):
                return True
        for name in find_all(expr, cst.Name):
            value = assigned.get(name.value)
            if value is not None and value is not expr and involves_batch_sum(value, depth + 1):
                return True
        return False

    result = False
    for operation in find_all(node.body, cst.BinaryOperation):
        if isinstance(operation.operator, cst.Divide) and involves_batch_sum(operation.right):
            result = True
            break
    if not result:
        for call in find_all(node.body, cst.Call):
            if _call_name(call) in _DIVIDES and len(call.args) >= 2 and involves_batch_sum(call.args[1].value):
                result = True
                break
    active.discard(node)
    memo[node] = result
    return result
