"""KM206: `Metric` state kept in plain Python attributes and updated in `update_state`."""

from __future__ import annotations

from typing import Dict, Iterator, List, Set

import libcst as cst

from ..facts.collect import dotted_name
from ..facts.entries import UPDATE_STATE_DEFS, Defines
from ..facts.walk import find_all
from ..keras.symbols import EAGER_PYTHON_OPS, METRIC
from .base import Example, Finding, Rule, RuleContext
from .common import classes_of_kind, methods

_PLAIN = (cst.Integer, cst.Float, cst.List, cst.Dict, cst.Tuple, cst.Set)


class PythonStateInMetric(Rule):
    code = "KM206"
    name = "python-state-in-metric"
    summary = "`Metric` state in plain Python attributes: counts traces in graph mode, never resets, breaks under tf.function"
    needs = (UPDATE_STATE_DEFS, Defines(("__init__",)))

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for cls in classes_of_kind(ctx, METRIC):
            if any((dotted_name(base.value) or "").split(".")[-1] == "PyMetric" for base in cls.node.bases):
                continue  # tf_keras's PyMetric runs update_state eagerly: Python state is its documented way
            own = methods(cls)
            init, update = own.get("__init__"), own.get("update_state")
            if init is None or update is None:
                continue
            plain = _plain_attributes(init)
            reset = own.get("reset_state") or own.get("reset_states")
            cleared = _assigned_self_attributes(reset) if reset is not None else set()
            # code that `tf.py_function` runs is eager, once per batch: Python state is right there
            eager = _eager_attributes(cls.node)
            for node, attr in _updates(update, plain, eager):
                never_reset = "" if attr in cleared else ", and `reset_state()` never clears it"
                yield Finding(
                    node,
                    f"`self.{attr}` is metric state in a plain Python value. It is updated in `update_state`: in graph mode "
                    "(`fit`, `evaluate`) that line runs once per trace, not per batch (in metriclint's "
                    "test program a counter read 1 after 8 batches of `evaluate`), and a tensor kept there raises InaccessibleTensorError "
                    f"(Keras 3) / TypeError (Keras 2){never_reset}; keep it in "
                    f"`self.{attr} = self.add_weight(name=\"{attr}\", shape=(), initializer=\"zeros\")` "
                    "and update it with `assign_add`",
                )


def _eager_attributes(cls: cst.ClassDef) -> Set[int]:
    """`id` of every attribute node in code of the class that `tf.py_function`-style ops run.

    Follows, by name within the class, what the op's callable reaches: functions defined there and
    values assigned there. keras-cv's `BoxCOCOMetrics.__new__` wraps `update_state` as
    `tf.py_function(func=self.update_state_on_cpu, ...)`, a nested function that calls
    `obj_update_state = obj.update_state`: the method itself then runs eagerly.
    """
    defs: Dict[str, List[cst.FunctionDef]] = {}
    for function in find_all(cls.body, cst.FunctionDef):
        defs.setdefault(function.name.value, []).append(function)
    assigned: Dict[str, List[cst.CSTNode]] = {}
    for assign in find_all(cls.body, cst.Assign):
        for target in assign.targets:
            node = target.target
            name = node.attr.value if isinstance(node, cst.Attribute) else node.value if isinstance(node, cst.Name) else None
            if name is not None:
                assigned.setdefault(name, []).append(assign.value)
    roots: List[cst.CSTNode] = []
    for call in find_all(cls.body, cst.Call):
        if (dotted_name(call.func) or "").split(".")[-1] not in EAGER_PYTHON_OPS:
            continue
        func = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "func"), None)
        if func is None and call.args and call.args[0].keyword is None and not call.args[0].star:
            func = call.args[0].value
        if func is not None:
            roots.append(func)  # a lambda runs eagerly too
    eager: List[cst.CSTNode] = list(roots)
    pending = [name for root in roots for name in _names(root)]
    seen: Set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for function in defs.get(name, ()):
            eager.append(function)
            pending.extend(_names(function.body))
        for value in assigned.get(name, ()):
            pending.extend(_names(value))
    return {id(node) for code in eager for node in find_all(code, cst.Attribute)}


def _names(node: cst.CSTNode) -> Set[str]:
    """Every name in `node`, attribute names included (`obj.update_state` gives `obj`, `update_state`)."""
    return {n.value for n in find_all(node, cst.Name)}


def _plain_attributes(init: cst.FunctionDef) -> Dict[str, cst.CSTNode]:
    """`self.x = 0` / `[]` / `{}` in `__init__` (and not reassigned to something else there)."""
    out: Dict[str, cst.CSTNode] = {}
    others = set()
    for assign in find_all(init.body, cst.Assign):
        for target in assign.targets:
            node = target.target
            if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
                value = assign.value
                if isinstance(value, cst.UnaryOperation):
                    value = value.expression
                if isinstance(value, _PLAIN):
                    out[node.attr.value] = assign
                else:
                    others.add(node.attr.value)
    return {k: v for k, v in out.items() if k not in others}


def _assigned_self_attributes(function: cst.FunctionDef) -> set:
    """`x` for every `self.x = ...` in `function`."""
    out = set()
    for assign in find_all(function.body, cst.Assign):
        for target in assign.targets:
            node = target.target
            if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
                out.add(node.attr.value)
    return out


def _is_self_attr(node: cst.CSTNode, names) -> bool:
    return (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
            and node.value.value == "self" and node.attr.value in names)


def _updates(update: cst.FunctionDef, plain: Dict[str, cst.CSTNode], eager: Set[int]) -> List[tuple]:
    found = []
    seen = set()
    for aug in find_all(update.body, cst.AugAssign):
        if _is_self_attr(aug.target, plain):
            found.append((aug.target, aug.target.attr.value))
    for assign in find_all(update.body, cst.Assign):
        for target in assign.targets:
            if _is_self_attr(target.target, plain):
                found.append((target.target, target.target.attr.value))
    for call in find_all(update.body, cst.Call):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("append", "extend", "update") and _is_self_attr(func.value, plain):
            found.append((func.value, func.value.attr.value))
    out = []
    for node, attr in found:
        if id(node) in eager:
            continue
        if attr not in seen:  # once per attribute, at its first update
            seen.add(attr)
            out.append((node, attr))
    return out


_HEAD = "import keras\nclass Count(keras.metrics.Metric):\n    def __init__(self, **kw):\n        super().__init__(**kw)\n"

_TF_HEAD = ("import numpy as np\nimport tensorflow as tf\nimport keras\nclass Collect(keras.metrics.Metric):\n"
            "    def __init__(self, **kw):\n        super().__init__(**kw)\n        self.values = []\n        self.batches = 0\n")

PythonStateInMetric.valid = (
    Example(_HEAD + "        self.n = self.add_weight(name='n', initializer='zeros')\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n        self.n.assign_add(1.0)\n"),
    # configuration kept in Python, never updated
    Example(_HEAD + "        self.threshold = 0.5\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n        self.v.assign_add(keras.ops.sum(y_pred > self.threshold))\n"),
    Example("import keras\nclass Tracker:\n    def __init__(self):\n        self.n = 0\n    def update_state(self, x):\n        self.n += 1\n"),
    # tf_keras's PyMetric runs update_state eagerly, outside the graph: Python state is how it works
    Example("import tensorflow as tf\nclass Jaccard(tf.keras.metrics.experimental.PyMetric):\n"
            "    def __init__(self, **kw):\n        super().__init__(**kw)\n        self.count = 0\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n        self.count += 1\n",
            flavour="2"),
    # keras-cv's BoxCOCOMetrics: `__new__` wraps `update_state` in `tf.py_function`, so it runs eagerly per batch
    Example("import types\nimport tensorflow as tf\nimport keras\nclass BoxCOCOMetrics(keras.metrics.Metric):\n"
            "    def __init__(self, **kw):\n        super().__init__(**kw)\n"
            "        self.ground_truths = []\n        self._eval_step_count = 0\n"
            "    def __new__(cls, *args, **kwargs):\n        obj = super(keras.metrics.Metric, cls).__new__(cls)\n"
            "        obj_update_state = obj.update_state\n"
            "        def update_state_on_cpu(y_true, y_pred, sample_weight=None):\n"
            "            with tf.device('/cpu:0'):\n                return obj_update_state(y_true, y_pred, sample_weight)\n"
            "        obj.update_state_on_cpu = update_state_on_cpu\n"
            "        def update_state_fn(self, y_true, y_pred, sample_weight=None):\n"
            "            return tf.py_function(func=self.update_state_on_cpu, inp=[y_true, y_pred], Tout=[])\n"
            "        obj.update_state = types.MethodType(update_state_fn, obj)\n        return obj\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        self._eval_step_count += 1\n        self.ground_truths.append(y_true)\n"),
    # the Python part is the function `tf.numpy_function` runs
    Example(_TF_HEAD + "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        def _collect(p):\n            self.values.append(p)\n            return np.float32(0.0)\n"
            "        tf.numpy_function(_collect, [y_pred], tf.float32)\n"),
)

PythonStateInMetric.invalid = (
    Example(_HEAD + "        self.batches = 0\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n        self.batches += 1\n",
    safety="none",),
    Example(_HEAD + "        self.values = []\n        self.total = 0.0\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        self.values.append(y_pred)\n        self.total = self.total + keras.ops.sum(y_pred)\n",
            count=2,
            safety="none",),
    # cleared in reset_state, still counts traces in graph mode (fixtures/KM206_python_batch_counter)
    Example(_HEAD + "        self.total = self.add_weight(name='total', shape=(), initializer='zeros')\n        self.batches = 0\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        self.total.assign_add(keras.ops.mean(keras.ops.abs(y_true - y_pred)))\n        self.batches += 1\n"
            "    def result(self):\n        return self.total / max(self.batches, 1)\n"
            "    def reset_state(self):\n        self.total.assign(0.0)\n        self.batches = 0\n",
    safety="none",),
    # `tf.py_function` elsewhere in the class does not make `update_state` eager
    Example(_TF_HEAD + "    def update_state(self, y_true, y_pred, sample_weight=None):\n        self.values.append(y_pred)\n"
            "    def _compute(self):\n        return np.float32(len(self.values))\n"
            "    def result(self):\n        return tf.py_function(self._compute, [], tf.float32)\n",
    safety="none",),
    # only the part `tf.numpy_function` runs is eager: the counter next to it counts traces
    Example(_TF_HEAD + "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        self.batches += 1\n"
            "        tf.numpy_function(lambda p: self.values.append(p) or np.float32(0.0), [y_pred], tf.float32)\n",
    safety="none",),
)
