"""KM302: metrics that force eager execution (`run_eagerly=True`, `.numpy()` or NumPy in a metric)."""

from __future__ import annotations

from typing import Iterator, List, Optional, Set

import libcst as cst

from ..diagnostics import Safety
from ..facts.arguments import Bound
from ..facts.collect import dotted_name
from ..facts.entries import ANY_FUNCTION, COMPILE_METRICS, UPDATE_STATE_DEFS, AllOf, AnyOf, Passes, Words
from ..facts.models import model_facts
from ..facts.values import Dotted
from ..facts.walk import Walker, find_all
from ..keras.backend_ops import STATIC_SHAPE_FUNCTIONS, STATIC_TENSOR_ATTRIBUTES
from ..keras.symbols import EAGER_PYTHON_OPS, METRIC
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import classes_of_kind, methods, remove_arg

# bench/metric_cost.py: run_eagerly and numpy_metric_eager against no metrics, per training step
_EAGER = ("on metriclint's benchmark model (bench/metric_cost.py) `run_eagerly=True` made each training step 27x "
          "slower on Keras 3 (23x on Keras 2)")
_EAGER_COST = ("the `run_eagerly=True` it needs made each training step 27x slower on Keras 3 (24x on Keras 2) on "
               "metriclint's benchmark model (bench/metric_cost.py)")
_NUMPY_ERROR = "`AttributeError: 'SymbolicTensor' object has no attribute 'numpy'`"

_RUN_EAGERLY = Passes("compile", "run_eagerly")
# What the check reports: `compile(run_eagerly=True)` with metrics, or NumPy/scikit-learn (or `.numpy()`)
# in a `Metric.update_state` or in a function of this file given to `compile(metrics=...)`.
_EAGER_METRICS = AnyOf((
    AllOf((_RUN_EAGERLY, COMPILE_METRICS)),
    AllOf((Words(frozenset({"numpy", "sklearn"})), AnyOf((UPDATE_STATE_DEFS, AllOf((COMPILE_METRICS, ANY_FUNCTION)))))),
))


class EagerMetrics(Rule):
    code = "KM302"
    name = "eager-metrics"
    summary = "Metrics that need eager execution: `compile(run_eagerly=True)`, `.numpy()` or NumPy inside a metric"
    fix_safety = Safety.UNSAFE
    needs = (_EAGER_METRICS,)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        eager_needed = list(self._eager_metric_code(ctx))
        yield from eager_needed
        for model in model_facts(ctx).values():
            for info in model.compiles:
                given = _RUN_EAGERLY.bind(ctx.resolver, info.site.node, info.site.scope, ctx.flavour)
                if not isinstance(given, Bound) or not (isinstance(given.value, cst.Name) and given.value.value == "True"):
                    continue
                if info.has_metrics is not True or _in_test_function(info.site.scope):
                    continue
                arg = given.arg
                fix = None
                if arg is not None and not eager_needed and not _file_uses_numpy_conversion(ctx):
                    fix = FixPlan(Safety.UNSAFE, "Remove `run_eagerly=True`", remove_arg(info.site.node, arg))
                where = arg.keyword if arg is not None and arg.keyword is not None else given.value
                yield Finding(where, f"`compile(run_eagerly=True)` runs every training step in Python. Metrics "  # type: ignore[arg-type]
                              f"included: {_EAGER}; remove it once the metrics run in graph mode", fix)

    def _eager_metric_code(self, ctx: RuleContext) -> Iterator[Finding]:
        """`.numpy()` / NumPy calls inside compiled metric functions and `Metric.update_state`."""
        bodies: List[tuple] = []
        for model in model_facts(ctx).values():
            for info in model.compiles:
                for ref in info.metrics:
                    if ref.function is not None:
                        bodies.append((ref.function.node, ref.function.body, f"metric function `{ref.function.node.name.value}`"))
        for cls in classes_of_kind(ctx, METRIC):
            update = methods(cls).get("update_state")
            if update is not None:
                scope = ctx.facts.scope_of_function.get(update)
                bodies.append((update, scope, f"`{cls.node.name.value}.update_state`"))
        seen = set()
        for function, scope, what in bodies:
            if function in seen or scope is None:
                continue
            seen.add(function)
            culprit = _eager_call(ctx, function, scope)
            if culprit is not None:
                node, text = culprit
                error = (_NUMPY_ERROR if text == "`.numpy()`" else
                         "`NotImplementedError: Cannot convert a symbolic tf.Tensor ... to a numpy array`")
                yield Finding(node, f"{what} calls {text}, which only works eagerly. In graph mode it raises "
                              f"{error}, and {_EAGER_COST}; use `keras.ops`/`tf` operations instead")


def _eager_call(ctx: RuleContext, function: cst.FunctionDef, scope) -> Optional[tuple]:
    """The first `.numpy()`, or NumPy/scikit-learn call on the function's tensors (not constants like `np.log(10.0)`)."""
    tensors = _tensor_names(function)
    for call in _own_calls(function):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "numpy" and not call.args:
            return func.attr, "`.numpy()`"
        value = ctx.resolver.resolve(func, scope)
        if isinstance(value, Dotted) and value.path.split(".")[0] in ("numpy", "sklearn"):
            if any(_mentions(arg.value, tensors) for arg in call.args):
                return func, f"`{value.path}()`"
    return None


class _OwnCalls(Walker):
    """Calls in a function body, not in nested functions or lambdas (e.g. the body of a `tf.numpy_function`)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: List[cst.Call] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        self.found.append(node)


def _own_calls(function: cst.FunctionDef) -> List[cst.Call]:
    walker = _OwnCalls()
    walker.walk(function.body)
    return walker.found


class _TensorNames(Walker):
    """Names read in an expression, except in static values: `x.shape`, `x.get_shape()`, `x.dtype`,
    `x.ndim`, `K.int_shape(x)` are Python values at trace time, fine in graph mode."""

    def __init__(self) -> None:
        super().__init__()
        self.found: Set[str] = set()

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if node.attr.value in STATIC_TENSOR_ATTRIBUTES:
            return False
        self.walk(node.value)  # not the attribute name itself
        return False

    def visit_Call(self, node: cst.Call) -> bool:
        return (dotted_name(node.func) or "").split(".")[-1] not in STATIC_SHAPE_FUNCTIONS

    def visit_Name(self, node: cst.Name) -> None:
        self.found.add(node.value)


def _mentions(node: cst.CSTNode, names: Set[str]) -> bool:
    walker = _TensorNames()
    walker.walk(node)
    return bool(walker.found & names)


def _tensor_names(function: cst.FunctionDef) -> Set[str]:
    """The parameters (but `self`) and the names assigned from expressions that use them, in source order."""
    names = {p.name.value for p in function.params.params if p.name.value != "self"}
    names |= {p.name.value for p in function.params.kwonly_params}
    for assign in find_all(function.body, cst.Assign):
        if _mentions(assign.value, names):
            for target in assign.targets:
                names |= {n.value for n in find_all(target.target, cst.Name)}
    return names


def _in_test_function(scope) -> bool:
    """Inside `def test_...`: a test pins `run_eagerly=True` to exercise the eager path; speed is not its point."""
    while scope is not None:
        if scope.kind == "function" and isinstance(scope.node, cst.FunctionDef) and scope.node.name.value.startswith("test"):
            return True
        scope = scope.parent
    return False


def _file_uses_numpy_conversion(ctx: RuleContext) -> bool:
    return any(ctx.facts.calls_by_method.get(name) for name in ("numpy", *sorted(EAGER_PYTHON_OPS)))


_HEAD = "import numpy as np\nimport keras\nmodel = keras.Sequential()\n"

EagerMetrics.valid = (
    Example(_HEAD + "model.compile(loss='mse', metrics=['mae'])\n"),
    Example(_HEAD + "model.compile(loss='mse', run_eagerly=True)\n"),  # no metrics: not this rule
    Example(_HEAD + "def rel(y_true, y_pred):\n    return keras.ops.mean(keras.ops.abs(y_true - y_pred))\n"
            "model.compile(loss='mse', metrics=[rel])\n"),
    # a test pins eager execution on purpose (Keras's own trainer tests)
    Example(_HEAD + "class T:\n    def test_eager_counts(self):\n"
            "        model.compile(optimizer='sgd', loss='mse', metrics=['mse'], run_eagerly=True)\n"),
    # NumPy on constants only builds a constant; the tensors stay in graph mode
    Example(_HEAD + "def psnr(y_true, y_pred):\n    mse = keras.ops.mean(keras.ops.square(y_true - y_pred))\n"
            "    return 10.0 * keras.ops.log(1.0 / mse) / np.log(10.0)\n"
            "model.compile(loss='mse', metrics=[psnr])\n"),
    # NumPy on a static shape
    Example(_HEAD + "def per_pixel(y_true, y_pred):\n    n = np.prod(y_pred.shape[1:])\n"
            "    return keras.ops.sum(keras.ops.abs(y_true - y_pred)) / n\n"
            "model.compile(loss='mse', metrics=[per_pixel])\n"),
    # NumPy on a static axis count (tf-models-official `PerClassIoUV2`): `self.axis`, `get_shape()`
    Example("import numpy as np\nimport tensorflow as tf\nclass PerClassIoU(tf.keras.metrics.Metric):\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        one_hot_axis = self.axis if self.axis >= 0 else (\n"
            "            len(y_true.get_shape().as_list()) + self.axis)\n"
            "        current = tf.math.count_nonzero(y_pred & y_true, axis=np.arange(one_hot_axis), dtype=tf.float32)\n"
            "        self.intersection_per_class.assign_add(current)\n"),
    Example("import numpy as np\nimport keras\nfrom keras import backend as K\nclass Area(keras.metrics.Metric):\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        pixels = np.prod(K.int_shape(y_pred)[1:])\n"
            "        self.total.assign_add(keras.ops.sum(y_pred) / pixels)\n"),
    # NumPy inside the function that `tf.numpy_function` runs (eagerly, by design)
    Example("import numpy as np\nimport tensorflow as tf\nimport keras\nmodel = keras.Sequential()\n"
            "def med(y_true, y_pred):\n    def _median(a, b):\n        return np.median(np.abs(a - b)).astype('float32')\n"
            "    return tf.numpy_function(_median, [y_true, y_pred], tf.float32)\n"
            "model.compile(loss='mse', metrics=[med])\n"),
    # numpy outside any metric
    Example(_HEAD + "x = np.zeros(3)\nmodel.compile(loss='mse', metrics=['mae'])\nprint(model.predict(x).numpy())\n"),
)

EagerMetrics.invalid = (
    Example(
        _HEAD + "model.compile(loss='mse', metrics=['mae'], run_eagerly=True)\n",
        fixed=_HEAD + "model.compile(loss='mse', metrics=['mae'])\n",
        safety="unsafe",
    ),
    Example(
        _HEAD + "def med(y_true, y_pred):\n    return np.median(np.abs(y_true.numpy() - y_pred.numpy()))\n"
        "model.compile(loss='mse', metrics=[med], run_eagerly=True)\n",
        fixed=_HEAD + "def med(y_true, y_pred):\n    return np.median(np.abs(y_true.numpy() - y_pred.numpy()))\n"
        "model.compile(loss='mse', metrics=[med], run_eagerly=True)\n",
        count=2,
        safety="none",
    ),
    # NumPy on the tensors themselves, next to static shape reads
    Example("import numpy as np\nimport keras\nclass M(keras.metrics.Metric):\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        n = len(y_true.get_shape().as_list())\n"
            "        self.total.assign_add(np.mean(y_true, axis=n - 1))\n",
    safety="none",),
    Example("import numpy as np\nimport keras\nclass M(keras.metrics.Metric):\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        self.total.assign_add(np.sum(y_pred.numpy() > 0.5))\n",
    safety="none",),
    # `len()` of a tensor is not a static value (graph mode raises on it)
    Example("import numpy as np\nimport keras\nclass M(keras.metrics.Metric):\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        self.total.assign_add(np.arange(len(y_true)).sum())\n",
    safety="none",),
    Example(
        "import keras\nfrom sklearn.metrics import f1_score\n"
        "class F1(keras.metrics.Metric):\n    def update_state(self, y_true, y_pred, sample_weight=None):\n"
        "        self.v.assign(f1_score(y_true, y_pred))\n",
        safety="none",
    ),
)
