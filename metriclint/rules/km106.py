"""KM106: `add_weight("total", ...)` with the name positional, or Keras 2-only keywords, under Keras 3."""

from __future__ import annotations

from typing import Callable, Iterator, List, Optional, Tuple

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.entries import STRING_NODES, AnyOf, Keywords, StringFirst
from ..keras.symbols import LAYER, METRIC, MODEL
from ..locate import Locator
from .base import KERAS3_ONLY, Example, Finding, FixPlan, Rule, RuleContext
from .common import name_argument, remove_args

# Keras 2 positional order of add_weight (tf_keras 2.21), per class family.
_K2_ORDER = {
    METRIC: ("name", "shape", "aggregation", "synchronization", "initializer", "dtype"),
    LAYER: ("name", "shape", "dtype", "initializer", "regularizer", "trainable", "constraint",
            "use_resource", "synchronization", "aggregation"),
}
# Keywords Keras 3's add_weight rejects (TypeError), per family.
_K3_DROPPED = {
    METRIC: frozenset({"aggregation", "synchronization"}),
    LAYER: frozenset({"synchronization", "use_resource"}),
}
_STRINGS = STRING_NODES
# Keras 3's Layer.add_weight takes `aggregation` only as a string: `tf.VariableAggregation.MEAN`
# raises ValueError ("Invalid value for argument `aggregation`"), the string works.
_AGGREGATION_STRINGS = {"NONE": "none", "SUM": "sum", "MEAN": "mean", "ONLY_FIRST_REPLICA": "only_first_replica"}

# What `_problem` reports: a positional string name, Keras 2-only keywords, an enum `aggregation`.
_STRING_NAME = StringFirst("add_weight")
_CANDIDATES = AnyOf((_STRING_NAME, Keywords("add_weight", frozenset({"aggregation"}).union(*_K3_DROPPED.values()))))


class AddWeightPositionalName(Rule):
    code = "KM106"
    name = "add-weight-positional-name"
    summary = "`add_weight` with a positional name, or with Keras 2-only keywords (`aggregation=`/`synchronization=` in a `Metric`), fails on Keras 3"
    flavours = KERAS3_ONLY
    fix_safety = Safety.SAFE
    needs = (_CANDIDATES,)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for site in _CANDIDATES.sites(ctx.facts):
            func = site.node.func
            if not isinstance(func, cst.Attribute):
                continue
            owner = ctx.resolver.instance(func.value, site.scope, METRIC, LAYER, MODEL)
            if owner is None:
                continue
            family = METRIC if owner.kind == METRIC else LAYER
            if owner.local_class is not None and ctx.resolver.class_defines(owner.local_class, "add_weight"):
                continue
            problem = _problem(site.node, family)
            if problem is None:
                continue
            build = _keyword_fix(site.node, family)
            if build is None:
                yield Finding(func.attr, problem)
                continue
            yield Finding(
                func.attr,
                problem,
                FixPlan(Safety.SAFE, "Pass every argument by keyword and drop (or convert) the Keras 2-only ones", build),
            )


def _problem(call: cst.Call, family: str) -> Optional[str]:
    """What Keras 3 raises for this call, first things first: a keyword its signature lacks fails
    when the call binds its arguments (TypeError), before a positional name can fail in the body
    (ValueError). Measured on Keras 3.15 (tests/runtime/test_km106_errors.py)."""
    dropped = sorted(a.keyword.value for a in call.args if a.keyword is not None and a.keyword.value in _K3_DROPPED[family])
    also = " (and the positional name fails next: pass `name=` by keyword)" if _STRING_NAME.matches(call) else ""
    if dropped and family == METRIC:
        return (f"`Metric.add_weight()` does not take `{dropped[0]}=` on Keras 3 (TypeError). "
                f"It is raised when the call runs; Keras 3 metric variables need no aggregation settings{also}")
    if dropped:
        return (f"`Layer.add_weight()` does not take `{dropped[0]}=` on Keras 3 (TypeError). "
                f"It is raised when the call runs; drop it (Keras 3 manages variable synchronization itself){also}")
    if _STRING_NAME.matches(call):
        if family == METRIC:
            return ("`Metric.add_weight()` on Keras 3 fails with a positional name (ValueError). It takes `shape` "
                    "first (ValueError: Cannot convert 'name' to a shape); pass `name=` by keyword")
        return ("`Layer.add_weight()` on Keras 3 requires `name=` by keyword (ValueError). "
                "ValueError: `name` must be passed as a keyword argument")
    aggregation = _aggregation_enum(call) if family == LAYER else None
    if aggregation is not None:
        return (f"`Layer.add_weight()` on Keras 3 takes `aggregation` as a string (ValueError). It rejects "
                f"`VariableAggregation.{aggregation}`; use `aggregation=\"{_AGGREGATION_STRINGS[aggregation]}\"` "
                "(tf_keras rejects the string: the file must run on Keras 3 only)")
    return None


def _aggregation_enum(call: cst.Call) -> Optional[str]:
    """`X` of an `aggregation=tf.VariableAggregation.X` keyword, if the call has one."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "aggregation":
            return _aggregation_member(arg.value)
    return None


def _aggregation_member(value: cst.BaseExpression) -> Optional[str]:
    """`X` of `<...>.VariableAggregation.X` / `VariableAggregation.X`, else None."""
    if not (isinstance(value, cst.Attribute) and value.attr.value in _AGGREGATION_STRINGS):
        return None
    owner = value.value
    owner_name = owner.attr.value if isinstance(owner, cst.Attribute) else owner.value if isinstance(owner, cst.Name) else None
    return value.attr.value if owner_name in ("VariableAggregation", "VariableAggregationV2") else None


def _keyword_fix(call: cst.Call, family: str) -> Optional[Callable[[Locator], List[Edit]]]:
    """Edits passing every argument by keyword (Keras 2 positional order), dropping the Keras 3-rejected
    keywords and converting a `VariableAggregation` member to its string; the rest of the call stays.

    None (report only) when positional arguments are there but the first is not a literal name:
    then they may already be in Keras 3's `(shape, initializer, dtype)` order, or a variable
    holding the name, and the Keras 2 order cannot be assumed.
    """
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if positional and not isinstance(positional[0].value, _STRINGS):
        return None
    order = _K2_ORDER[family]
    named: List[Tuple[cst.Arg, str]] = []  # positional arguments and the keyword they become
    dropped: List[cst.Arg] = []
    converted: List[Tuple[cst.BaseExpression, str]] = []
    index = 0
    for arg in call.args:
        name: Optional[str] = arg.keyword.value if arg.keyword is not None else None
        if arg.keyword is None and not arg.star:
            name = order[index] if index < len(order) else None
            index += 1
            if name is not None and name not in _K3_DROPPED[family]:
                named.append((arg, name))
        if name in _K3_DROPPED[family]:
            dropped.append(arg)
        elif name == "aggregation" and family == LAYER:
            enum = _aggregation_member(arg.value)
            if enum is not None:
                converted.append((arg.value, f'"{_AGGREGATION_STRINGS[enum]}"'))

    def build(loc: Locator) -> List[Edit]:
        edits = [name_argument(loc, arg, name) for arg, name in named]
        edits.extend(loc.replace(value, text) for value, text in converted)
        return edits + remove_args(loc, call, dropped)

    return build


_HEAD = "import keras\n"
_METRIC = "class Total(keras.metrics.Metric):\n    def __init__(self, **kw):\n        super().__init__(**kw)\n"

AddWeightPositionalName.valid = (
    Example(_HEAD + _METRIC + "        self.total = self.add_weight(name='total', initializer='zeros')\n"),
    Example(_HEAD + _METRIC + "        self.total = self.add_weight(shape=(), initializer='zeros', name='total')\n"),
    # Keras 3 Layer: aggregation is a real keyword there
    Example(_HEAD + "class L(keras.layers.Layer):\n    def build(self, s):\n        self.w = self.add_weight(name='w', shape=(2,), aggregation='mean')\n"),
    # Keras 2 accepts the positional name
    Example("import tf_keras as keras\n" + _METRIC + "        self.total = self.add_weight('total', initializer='zeros')\n", flavour="2"),
    # Keras 3 Layer: positional (shape, initializer, dtype) is its own order
    Example(_HEAD + "class L(keras.layers.Layer):\n    def build(self, s):\n        self.w = self.add_weight((2,), 'zeros', 'float32')\n"),
    # not a Keras object
    Example(_HEAD + "class Store:\n    def __init__(self):\n        self.add_weight('total')\n"),
    Example(_HEAD + "def f(layer):\n    layer.add_weight('w', (2,))\n"),
)

AddWeightPositionalName.invalid = (
    Example(
        _HEAD + _METRIC + "        self.total = self.add_weight('total', initializer='zeros')\n",
        fixed=_HEAD + _METRIC + "        self.total = self.add_weight(name='total', initializer='zeros')\n",
        safety="safe",
    ),
    Example(
        _HEAD + _METRIC + "        self.total = self.add_weight('total', (), initializer='zeros', aggregation=tf.VariableAggregation.SUM)\n",
        fixed=_HEAD + _METRIC + "        self.total = self.add_weight(name='total', shape=(), initializer='zeros')\n",
        safety="safe",
    ),
    Example(
        _HEAD + _METRIC + "        self.n = self.add_weight(name='n', initializer='zeros', synchronization=s)\n",
        fixed=_HEAD + _METRIC + "        self.n = self.add_weight(name='n', initializer='zeros')\n",
        safety="safe",
    ),
    Example(
        _HEAD + "class Dense(keras.layers.Layer):\n    def build(self, shape):\n"
        "        self.w = self.add_weight('kernel', (shape[-1], 4), 'float32', 'glorot_uniform')\n",
        fixed=_HEAD + "class Dense(keras.layers.Layer):\n    def build(self, shape):\n"
        "        self.w = self.add_weight(name='kernel', shape=(shape[-1], 4), dtype='float32', initializer='glorot_uniform')\n",
        safety="safe",
    ),
    # Keras 3 Layer: synchronization= / use_resource= raise TypeError, a VariableAggregation raises ValueError
    Example(
        _HEAD + "import tensorflow as tf\nclass L(keras.layers.Layer):\n    def build(self, s):\n"
        "        self.m = self.add_weight(name='m', shape=(2,), synchronization=tf.VariableSynchronization.ON_READ,\n"
        "                                 aggregation=tf.VariableAggregation.MEAN, trainable=False)\n",
        fixed=_HEAD + "import tensorflow as tf\nclass L(keras.layers.Layer):\n    def build(self, s):\n"
        "        self.m = self.add_weight(name='m', shape=(2,),\n"
        "                                 aggregation=\"mean\", trainable=False)\n",
        safety="safe",
    ),
    Example(
        _HEAD + "class L(keras.layers.Layer):\n    def build(self, s):\n        self.w = self.add_weight('w', (2,), use_resource=True)\n",
        fixed=_HEAD + "class L(keras.layers.Layer):\n    def build(self, s):\n        self.w = self.add_weight(name='w', shape=(2,))\n",
        safety="safe",
    ),
    # positionals that may be Keras 3's (shape, initializer) order: reported, not fixed
    Example(
        _HEAD + _METRIC + "        self.n = self.add_weight((), 'zeros', aggregation='sum')\n",
        fixed=_HEAD + _METRIC + "        self.n = self.add_weight((), 'zeros', aggregation='sum')\n",
        safety="none",
    ),
    Example(
        "from tensorflow.keras.metrics import Metric\nclass M(Metric):\n    def __init__(self):\n"
        "        super().__init__()\n        self.c = self.add_weight('c')\n",
        fixed="from tensorflow.keras.metrics import Metric\nclass M(Metric):\n    def __init__(self):\n"
        "        super().__init__()\n        self.c = self.add_weight(name='c')\n",
        safety="safe",
    ),
)
