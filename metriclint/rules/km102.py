"""KM102: `model.metrics_tensors` (removed) and `model.metrics_names.append(...)` (no effect)."""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import AttributeSite, dotted_name
from ..facts.entries import AllOf, AnyOf, Attributes, Calls
from ..facts.values import Derived, Instance, Scope
from ..keras.symbols import CALLBACK, MODEL
from ..locate import Locator
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import add_keyword, delete_statement

# Attributes that only a Keras model has together (besides the two this rule is about): an
# unresolved receiver that is also used for one of these in the same function or class is a model.
_MODEL_ATTRIBUTES = frozenset(
    {"metrics_tensors", "metrics_names", "get_layer", "add_loss", "compile", "fit", "fit_generator",
     "train_on_batch", "test_on_batch", "layers", "outputs", "inputs"}
)

_MODERN = (
    "Log the value as a metric instead: a metric function in `compile(metrics=[...])` "
    "(key `<name>`, `val_<name>`) or a `keras.metrics.Mean(name=...)` tracker updated in `train_step`"
)

_TENSORS = Attributes(("metrics_tensors",))
_NAMES = Attributes(("metrics_names",))
_APPENDS = Calls(("append", "extend"))


class RemovedMetricsTensors(Rule):
    code = "KM102"
    name = "metrics-tensors"
    summary = "`model.metrics_tensors` no longer exists and `model.metrics_names.append()` does nothing"
    fix_safety = Safety.UNSAFE

    # reading `metrics_names` is fine; appending to it is not
    needs = (AnyOf((_TENSORS, AllOf((_NAMES, _APPENDS)))),)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        names_appends = self._names_appends(ctx)
        tensors = [site for site in _TENSORS.sites(ctx.facts) if _is_model(ctx, site)]
        fixes = self._pair_fixes(ctx, tensors, names_appends) if ctx.flavour == "2" else {}
        paired = {statement for _, statement in fixes.values()}
        for site in tensors:
            fix = fixes.get(id(site.node))
            yield Finding(
                site.node.attr,
                "`model.metrics_tensors` was removed in Keras 2.3 (AttributeError). It fails on Keras 2 and 3. "
                + ("Use `model.add_metric(tensor, name=...)`" if ctx.flavour == "2" else _MODERN),
                fix[0] if fix is not None else None,
            )
        for statement, (site, call) in names_appends.items():
            if statement in paired:
                continue
            yield Finding(
                site.node.attr,
                f"`model.metrics_names.{call.func.attr.value}()` has no effect. Keras rebuilds the list "  # type: ignore[attr-defined]
                f"on every access, so the name is never logged. {_MODERN}",
            )

    @staticmethod
    def _names_appends(ctx: RuleContext) -> Dict[cst.SimpleStatementLine, Tuple[AttributeSite, cst.Call]]:
        """`model.metrics_names.append(x)` / `.extend(xs)` statements on models, in source order."""
        out = {}
        by_receiver = {
            id(call.func.value): call
            for call in (c.node for c in _APPENDS.sites(ctx.facts))
            if isinstance(call.func, cst.Attribute)
        }
        for site in _NAMES.sites(ctx.facts):
            parent_call = by_receiver.get(id(site.node))
            if parent_call is None or site.statement is None:
                continue
            if not _is_model(ctx, site):
                continue
            out[site.statement] = (site, parent_call)
        return out

    @staticmethod
    def _pair_fixes(
        ctx: RuleContext, tensors: List[AttributeSite], names_appends
    ) -> Dict[int, Tuple[FixPlan, cst.SimpleStatementLine]]:
        """Mask R-CNN's pattern, on Keras 2: `m.metrics_names.append(name)` + `m.metrics_tensors.append(t)`
        in one block -> `m.add_metric(t, name=name)`. In a block with several (a VAE logging two
        losses), the n-th tensor goes with the n-th name; any other mix (`extend`, unequal counts,
        other statements of the pair on one line) is only reported. Keyed by `id` of the
        `metrics_tensors` attribute node."""
        groups: Dict[Tuple[int, str], Tuple[list, list]] = {}
        for site in tensors:
            call = _single_append(site)
            receiver = dotted_name(site.node.value)
            if call is not None and receiver is not None:
                key = (id(ctx.facts.block_of.get(site.statement)), receiver)
                groups.setdefault(key, ([], []))[0].append((site, call))
        for statement, (site, call) in names_appends.items():
            receiver = dotted_name(site.node.value)
            if _single_append(site) is call and receiver is not None:
                key = (id(ctx.facts.block_of.get(statement)), receiver)
                if key in groups:
                    groups[key][1].append((statement, call))
        out: Dict[int, Tuple[FixPlan, cst.SimpleStatementLine]] = {}
        for tensor_appends, name_appends in groups.values():
            if len(tensor_appends) != len(name_appends):
                continue
            for (site, call), (names_statement, names_call) in zip(tensor_appends, name_appends):
                name = names_call.args[0].value
                if not isinstance(name, (cst.Name, cst.SimpleString, cst.Attribute)):
                    continue  # a computed name would move: leave it to the user

                def build(loc: Locator, site=site, call=call, name=name, names_statement=names_statement) -> List[Edit]:
                    # edit only what changes (`metrics_tensors.append` and the new keyword), so the
                    # receiver, the tensor and comments inside the call stay as written
                    assert isinstance(call.func, cst.Attribute)
                    start, _ = loc.span(site.node.attr)
                    _, end = loc.span(call.func)
                    return [Edit(start, end, "add_metric"),
                            *add_keyword(loc, call, "name", loc.code(name)),
                            delete_statement(loc, names_statement)]

                plan = FixPlan(Safety.UNSAFE, "Log the tensor with `add_metric(tensor, name=...)`", build)
                out[id(site.node)] = (plan, names_statement)
        return out


def _single_append(site: AttributeSite) -> Optional[cst.Call]:
    """The call when `site`'s statement line is exactly `<receiver>.<attr>.append(x)`."""
    statement = site.statement
    if statement is None or len(statement.body) != 1:
        return None
    expr = statement.body[0]
    if not (isinstance(expr, cst.Expr) and isinstance(expr.value, cst.Call)):
        return None
    call = expr.value
    if (isinstance(call.func, cst.Attribute) and call.func.value is site.node and call.func.attr.value == "append"
            and len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star):
        return call
    return None


def _is_model(ctx: RuleContext, site: AttributeSite) -> bool:
    """Whether the receiver of `<receiver>.metrics_tensors` / `.metrics_names` is a Keras model.

    Resolved: a model, or a callback's `self.model`. Unresolved (Mask R-CNN builds its model in
    a method, `self.keras_model = self.build(...)`, and may wrap it in a class from another
    module): the same receiver, spelled the same way, is also used for another model-only
    attribute (`get_layer`, `compile`, `metrics_names`, ...) in the same function, or for
    `self.<attr>` receivers anywhere in the same class. A bare `self` must resolve: Keras's
    own engine defines `self.metrics_tensors`.
    """
    receiver = site.node.value
    value = ctx.resolver.resolve(receiver, site.scope)
    if isinstance(value, Instance):
        return value.kind == MODEL
    if isinstance(value, Derived):
        if value.what == "method" and value.owner.kind == CALLBACK and value.name == "model":
            return True  # `self.model` inside a Keras callback
        if value.what != "method":
            return False
    elif value is not None:
        return False
    name = dotted_name(receiver)
    if name is None or name == "self" or not ctx.facts.imports_keras:
        return False
    own_class = _class_of(site.scope) if name.startswith("self.") else None
    for attr in _MODEL_ATTRIBUTES - {site.node.attr.value}:
        for other in ctx.facts.attributes.get(attr, ()):
            if dotted_name(other.node.value) != name:
                continue
            if other.scope is site.scope or (own_class is not None and _class_of(other.scope) is own_class):
                return True
    return False


def _class_of(scope: Scope) -> Optional[Scope]:
    """The class a method (or a function nested in one) belongs to."""
    current: Optional[Scope] = scope
    while current is not None and current.kind == "function":
        cls = current.enclosing_class()
        if cls is not None:
            return cls
        current = current.parent
    return None


_K2 = "import tf_keras as keras\nmodel = keras.Model(i, o)\n"

_MRCNN = (
    "import tensorflow as tf\nimport keras.models as KM\n"
    "class MaskRCNN:\n"
    "    def __init__(self, config):\n        self.keras_model = self.build(config)\n"
    "    def build(self, config):\n        model = KM.Model(i, o)\n"
    "        if config.GPU_COUNT > 1:\n            model = ParallelModel(model, config.GPU_COUNT)\n"
    "        return model\n"
    "    def compile(self):\n"
    "        self.keras_model.compile(optimizer='sgd', loss=[None] * len(self.keras_model.outputs))\n"
    "        for name in loss_names:\n"
    "            if name in self.keras_model.metrics_names:\n                continue\n"
    "            layer = self.keras_model.get_layer(name)\n"
)

RemovedMetricsTensors.valid = (
    Example("import keras\nclass Network:\n    def build(self):\n        self.metrics_tensors = []\n        self.metrics_tensors.append(t)\n"),
    Example("import keras\nmodel = build()\nmodel.metrics_tensors.append(t)\n"),
    # unresolved receiver with no other model use, and a bare `self` (the engine itself)
    Example("import keras\ndef log(model, t):\n    model.metrics_tensors.append(t)\n    model.reporter.compile()\n"),
    Example("import keras\nclass Model(Network):\n    def compile(self):\n        self.metrics_tensors = []\n"
            "        self.metrics_names = ['loss']\n        self.metrics_names.append('acc')\n"),
    # no Keras in the file
    Example("class T:\n    def run(self):\n        self.job.metrics_names.append('x')\n        self.job.compile()\n"),
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
        safety="unsafe",
    ),
    Example(
        "import keras.models as KM\nclass MaskRCNN:\n    def build(self):\n        self.keras_model = KM.Model(i, o)\n"
        "    def compile(self):\n        self.keras_model.metrics_tensors.append(loss)\n",
        safety="none",
    ),
    Example(
        "import keras\nmodel = keras.Model(i, o)\nmodel.metrics_names.append('bce_loss')\n",
        safety="none",
    ),
    Example("import keras\nmodel = keras.Model(i, o)\nn = len(model.metrics_tensors)\n", safety="none"),
    # Mask R-CNN as written: the model comes from a method (maybe wrapped in ParallelModel from
    # another module); the receiver's other uses (`get_layer`, `compile`) show it is the model
    Example(
        _MRCNN + "            self.keras_model.metrics_names.append(name)\n"
        "            loss = tf.reduce_mean(layer.output, keepdims=True)\n"
        "            self.keras_model.metrics_tensors.append(loss)\n",
        fixed=_MRCNN + "            loss = tf.reduce_mean(layer.output, keepdims=True)\n"
        "            self.keras_model.add_metric(loss, name=name)\n",
        flavour="2",
        safety="unsafe",
    ),
    Example(_MRCNN + "            self.keras_model.metrics_names.append(name)\n"
            "            self.keras_model.metrics_tensors.append(tf.reduce_mean(layer.output))\n", count=2,
            safety="none",),
    # a VAE logging two losses: the n-th tensor goes with the n-th name
    Example(
        _K2 + "model.metrics_tensors.append(K.mean(rec))\nmodel.metrics_names.append('rec_loss')\n"
        "model.metrics_tensors.append(K.mean(kl))\nmodel.metrics_names.append('kl_loss')\n",
        fixed=_K2 + "model.add_metric(K.mean(rec), name='rec_loss')\nmodel.add_metric(K.mean(kl), name='kl_loss')\n",
        flavour="2",
        count=2,
        safety="unsafe",
    ),
    # the fix edits only what changes: comments, layout and parentheses inside the call stay
    Example(
        _K2 + "model.metrics_names.append('rec')\nmodel.metrics_tensors.append(\n    (rec + 0.0)  # mean reconstruction\n)\n",
        fixed=_K2 + "model.add_metric(\n    (rec + 0.0), name='rec'  # mean reconstruction\n)\n",
        flavour="2",
        safety="unsafe",
    ),
    # `extend` and unequal counts: reported, not fixed
    Example(
        _K2 + "model.metrics_tensors.extend([a, b])\nmodel.metrics_names.extend(['a', 'b'])\n",
        fixed=_K2 + "model.metrics_tensors.extend([a, b])\nmodel.metrics_names.extend(['a', 'b'])\n",
        flavour="2",
        count=2,
        safety="none",
    ),
    Example(
        _K2 + "model.metrics_tensors.append(a)\nmodel.metrics_tensors.append(b)\nmodel.metrics_names.append('a')\n",
        fixed=_K2 + "model.metrics_tensors.append(a)\nmodel.metrics_tensors.append(b)\nmodel.metrics_names.append('a')\n",
        flavour="2",
        count=3,
        safety="none",
    ),
    # a callback's `self.model`
    Example("import keras\nclass Log(keras.callbacks.Callback):\n    def on_train_begin(self, logs=None):\n"
            "        self.model.metrics_tensors += self.extra\n",
    safety="none",),
)
