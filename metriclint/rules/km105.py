"""KM105: `add_metric(...)` on a Keras layer or model: removed in Keras 3 (NotImplementedError)."""

from __future__ import annotations

from typing import Iterator, List, Optional

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import CallSite, find_keyword, positional_args
from ..facts.entries import Calls
from ..facts.values import ClassValue
from ..keras import symbols
from ..keras.symbols import LAYER, METRIC, MODEL
from ..locate import Locator
from .base import KERAS3_ONLY, Example, Finding, FixPlan, Rule, RuleContext
from .common import insert_line_after, is_identifier, methods, remove_args, string_value

_MESSAGE = (
    "`add_metric()` was removed in Keras 3 (NotImplementedError). It raises even behind a `hasattr` guard; "
    "track the value with a `keras.metrics.Mean(name=...)` attribute and call its `update_state()`"
)

_ADD_METRIC_CALLS = Calls(("add_metric",))  # defining it (Keras's own Layer) is not calling it


class AddMetricRemoved(Rule):
    code = "KM105"
    name = "add-metric-removed"
    summary = "`layer.add_metric()` / `model.add_metric()` raises NotImplementedError on Keras 3"
    flavours = KERAS3_ONLY
    fix_safety = Safety.UNSAFE
    needs = (_ADD_METRIC_CALLS,)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for site in _ADD_METRIC_CALLS.sites(ctx.facts):
            func = site.node.func
            if not isinstance(func, cst.Attribute):
                continue
            owner = ctx.resolver.instance(func.value, site.scope, LAYER, MODEL)
            if owner is None:
                continue  # profilers, Prometheus clients, unknown objects
            if owner.local_class is not None and ctx.resolver.class_defines(owner.local_class, "add_metric"):
                continue
            yield Finding(func.attr, _MESSAGE, self._tracker_fix(ctx, site, owner.local_class))

    def _tracker_fix(self, ctx: RuleContext, site: CallSite, cls: Optional[ClassValue]) -> Optional[FixPlan]:
        """`self.add_metric(x, name="n")` in a subclass with `__init__` -> a Mean tracker attribute."""
        call = site.node
        func = call.func
        if cls is None or not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return None
        args = positional_args(call)
        name_arg = find_keyword(call, "name")
        aggregation = find_keyword(call, "aggregation")
        if len(args) != 1 or name_arg is None or len(call.args) != 2 + (aggregation is not None):
            return None
        if aggregation is not None and string_value(aggregation.value) != "mean":
            return None
        metric_name = string_value(name_arg.value)
        init = methods(cls).get("__init__")
        keras_ref = _keras_reference(ctx)
        if metric_name is None or init is None or keras_ref is None:
            return None
        super_statement = _super_init_statement(init)
        if super_statement is None:
            return None
        attribute = _attribute_name(ctx, cls, metric_name)
        if attribute is None:
            return None
        attr_name, exists = attribute

        def build(loc: Locator) -> List[Edit]:
            # `self.add_metric(x, name="n")` -> `self.n.update_state(x)`: the value keeps its text
            edits = [loc.replace(func.attr, f"{attr_name}.update_state")]
            edits.extend(remove_args(loc, call, [a for a in call.args if a.keyword is not None]))
            if not exists:
                line = f"self.{attr_name} = {keras_ref}.metrics.Mean(name={loc.code(name_arg.value)})"
                edits.append(insert_line_after(loc, super_statement, line))
            return edits

        return FixPlan(Safety.UNSAFE, f"Track `{metric_name}` with a `Mean` metric attribute", build)


def _keras_reference(ctx: RuleContext) -> Optional[str]:
    """How module-level code names the Keras package (`keras`, `tf.keras`), read off its imports.

    Same answer as `common.keras_module_reference`, without resolving temporary `cst.Name`
    nodes: `Resolver.resolve` memoises by `id(node)`, so a freed temporary's id, reused by the
    next one, returns a stale value (every name then resolves like the first one tried).
    """
    candidates: List[str] = []
    for name, bindings in ctx.facts.root.bindings.items():
        paths = [b.dotted for b in bindings if b.how == "import" and b.dotted]
        if not paths or len(paths) != len(bindings):
            continue
        splits = [symbols.split_keras(path) for path in paths]
        if all(split is not None and split[0] == "" for split in splits):
            candidates.append(name)
        elif all(path == "tensorflow" for path in paths):
            candidates.append(f"{name}.keras")
    if "keras" in candidates:
        return "keras"
    return sorted(candidates, key=len)[0] if candidates else None


def _super_init_statement(init: cst.FunctionDef) -> Optional[cst.SimpleStatementLine]:
    body = init.body
    if not isinstance(body, cst.IndentedBlock):
        return None
    for statement in body.body:
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            expr = statement.body[0]
            if isinstance(expr, cst.Expr) and isinstance(expr.value, cst.Call):
                func = expr.value.func
                if (isinstance(func, cst.Attribute) and func.attr.value == "__init__"
                        and isinstance(func.value, cst.Call) and isinstance(func.value.func, cst.Name)
                        and func.value.func.value == "super"):
                    return statement
    return None


def _attribute_name(ctx: RuleContext, cls: ClassValue, metric_name: str):
    """(attribute, already_defined) for the tracker, or None when no clean name is free."""
    attrs = ctx.facts.self_attributes.get(cls.body, {})
    for candidate in (metric_name, f"{metric_name}_tracker"):
        if not is_identifier(candidate) or candidate in methods(cls):
            continue
        bindings = attrs.get(candidate)
        if not bindings:
            return candidate, False
        # reuse a tracker an earlier fix (or the user) made
        if all(b.how == "value" and ctx.resolver.instance(b.node, b.scope, METRIC) for b in bindings):
            return candidate, True
    return None


_LAYER = (
    "import keras\n"
    "class ActivityLogger(keras.layers.Layer):\n"
    "    def __init__(self, **kwargs):\n"
    "        super().__init__(**kwargs)\n"
    "        self.scale = 2.0\n"
    "    def call(self, x):\n"
    "        {call}\n"
    "        return x\n"
)

AddMetricRemoved.valid = (
    Example("import keras\nfrom prometheus_client import Registry\nr = Registry()\nr.add_metric('latency', 1)\n"),
    Example("import keras\ndef f(profiler):\n    profiler.add_metric('x', 1)\n"),
    Example("import tf_keras as keras\nm = keras.Model(i, o)\nm.add_metric(t, name='t')\n", flavour="2"),
    Example(_LAYER.format(call="self.activity.update_state(keras.ops.mean(x))")),
)

AddMetricRemoved.invalid = (
    Example(
        _LAYER.format(call="self.add_metric(keras.ops.mean(x), name='activity_mean')"),
        fixed=_LAYER.replace("        self.scale = 2.0\n", "        self.activity_mean = keras.metrics.Mean(name='activity_mean')\n        self.scale = 2.0\n")
        .format(call="self.activity_mean.update_state(keras.ops.mean(x))"),
        safety="unsafe",
    ),
    Example(
        _LAYER.format(call="self.add_metric(keras.ops.mean(x), name='scale', aggregation='mean')"),
        fixed=_LAYER.replace("        self.scale = 2.0\n", "        self.scale_tracker = keras.metrics.Mean(name='scale')\n        self.scale = 2.0\n")
        .format(call="self.scale_tracker.update_state(keras.ops.mean(x))"),
        safety="unsafe",
    ),
    # not the simple shape: reported only
    Example("import keras\nmodel = keras.Model(i, o)\nmodel.add_metric(t, name='t')\n",
            fixed="import keras\nmodel = keras.Model(i, o)\nmodel.add_metric(t, name='t')\n",
            safety="none",),
    Example(
        "from tensorflow import keras\nclass M(keras.Model):\n    def call(self, x):\n        self.add_metric(x, name=n)\n        return x\n",
        fixed="from tensorflow import keras\nclass M(keras.Model):\n    def call(self, x):\n        self.add_metric(x, name=n)\n        return x\n",
        safety="none",
    ),
)
