"""KM105: `add_metric(...)` on a Keras layer or model: removed in Keras 3 (NotImplementedError)."""

from __future__ import annotations

import builtins
import io
import tokenize
from typing import Callable, Iterator, List, Optional

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import CallSite, find_keyword, positional_args
from ..facts.entries import Calls
from ..facts.values import ClassValue, Dotted, Scope
from ..facts.walk import find_all
from ..keras import symbols
from ..keras.symbols import LAYER, METRIC, MODEL
from ..locate import Locator
from .base import KERAS3_ONLY, Example, Finding, FixPlan, Rule, RuleContext
from .common import delete_statement, insert_line_after, is_identifier, methods, remove_args, string_value

_MESSAGE = (
    "`add_metric()` was removed in Keras 3 (NotImplementedError). It raises even behind a `hasattr` guard; "
    "track the value with a `keras.metrics.Mean(name=...)` attribute made in the model's `__init__` and "
    "call its `update_state()` in the model's `compute_loss` (a tracker updated in `call()` works on the "
    "TensorFlow backend but raises TypeError on JAX)"
)
# `Trainer.compute_loss` of Keras 3.3+ (3.15.1's signature); the override passes everything on.
_COMPUTE_LOSS = "compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True)"
_COMPUTE_LOSS_PARAMETERS = frozenset({"x", "y", "y_pred", "sample_weight", "training"})
_SUPER_COMPUTE_LOSS = "super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)"
# What a model subclass may already define that the fix's `compute_loss` would clash with.
_TRAINING_OVERRIDES = ("compute_loss", "train_step", "test_step")

_ADD_METRIC_CALLS = Calls(("add_metric",))  # defining it (Keras's own Layer) is not calling it


class AddMetricRemoved(Rule):
    code = "KM105"
    name = "add-metric-removed"
    summary = "`layer.add_metric()` / `model.add_metric()` raises NotImplementedError on Keras 3"
    flavours = KERAS3_ONLY
    fix_safety = Safety.UNSAFE
    rewrites = {
        "compute_loss": "a model's `self.add_metric(value, name=...)` in `call` -> a `Mean` tracker updated in `compute_loss`",
        "layer_tracker": "a layer's `self.add_metric(tf_value, name=...)` -> a `Mean` tracker updated in `call` (TensorFlow code)",
    }
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
        """`self.add_metric(x, name="n")` in a subclass with `__init__` -> a Mean tracker attribute,
        updated where the Keras team updates trackers on every backend: the model's `compute_loss`.
        A layer has none; its tracker is updated in `call()` only when the value is computed with
        TensorFlow ops (the layer runs on the TensorFlow backend alone anyway: on JAX, a tracker
        updated in `call()` raises TypeError, and so does a TensorFlow op)."""
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
        tracker = None if exists else f"self.{attr_name} = {keras_ref}.metrics.Mean(name={{name}})"
        if ctx.resolver.class_kind(cls) == MODEL:
            moved = _compute_loss_fix(ctx, site, cls, attr_name, tracker, super_statement, name_arg)
            if moved is not None:
                return FixPlan(Safety.UNSAFE, f"Track `{metric_name}` with a `Mean` metric updated in `compute_loss`", moved)
        if not _uses_tensorflow(ctx, args[0].value, site.scope):
            return None  # a tracker updated in `call()` would fail on the JAX backend: report only

        def build(loc: Locator) -> List[Edit]:
            # `self.add_metric(x, name="n")` -> `self.n.update_state(x)`: the value keeps its text
            edits = [loc.replace(func.attr, f"{attr_name}.update_state")]
            edits.extend(remove_args(loc, call, [a for a in call.args if a.keyword is not None]))
            if tracker is not None:
                edits.append(insert_line_after(loc, super_statement, tracker.format(name=loc.code(name_arg.value))))
            return edits

        return FixPlan(Safety.UNSAFE, f"Track `{metric_name}` with a `Mean` metric attribute", build)


def _compute_loss_fix(ctx: RuleContext, site: CallSite, cls: ClassValue, attr_name: str, tracker: Optional[str],
                      super_statement: cst.SimpleStatementLine, name_arg: cst.Arg,
                      ) -> Optional[Callable[[Locator], List[Edit]]]:
    """For `self.add_metric(<value of call's input>, name=...)`, a statement of its own in a model's
    `call(self, inputs, ...)`: an edit builder that removes it, makes the tracker in `__init__` and
    adds `compute_loss` updating it with the value computed from `x` (the same input). None when
    the value reads anything but the input and module-level imports, or the class already trains
    its own way."""
    statement = site.statement
    call_def = site.scope.node
    if (statement is None or len(statement.body) != 1 or not isinstance(statement.body[0], cst.Expr)
            or statement.body[0].value is not site.node or not isinstance(call_def, cst.FunctionDef)
            or call_def.name.value != "call" or site.scope.parent is not cls.body):
        return None
    body = call_def.body
    if not isinstance(body, cst.IndentedBlock) or statement not in body.body or len(body.body) < 2:
        return None
    if any(ctx.resolver.class_defines(cls, name) for name in _TRAINING_OVERRIDES):
        return None
    params = list(call_def.params.posonly_params) + list(call_def.params.params)
    if len(params) < 2:
        return None
    inputs = params[1].name.value
    if len(site.scope.bindings.get(inputs) or ()) != 1:
        return None  # the input is reassigned in `call`
    value = positional_args(site.node)[0].value
    comments = _comment_count(site.node)
    if comments is None or comments != _comment_count(value):
        return None  # a comment between the call's arguments would be lost with the statement
    renamed = []
    for name in _names_read(value):
        if name.value == inputs:
            renamed.append(name)
        elif (name.value in _COMPUTE_LOSS_PARAMETERS or name.value == "self" or site.scope.bindings.get(name.value)
              or not _module_import_or_builtin(ctx, name.value)):
            return None

    def build(loc: Locator) -> List[Edit]:
        start, end = loc.span(value)
        text = loc.lines.text
        pieces, last = [], start
        for name in renamed:
            name_start, name_end = loc.span(name)
            pieces += [text[last:name_start], "x"]
            last = name_end
        pieces.append(text[last:end])
        new_value = "".join(pieces)
        def_indent = _indentation_of(loc, call_def)
        body_indent = _indentation_of(loc, body.body[0])
        nl = loc.newline
        comment = statement.trailing_whitespace.comment  # moves with the statement, not lost
        moved_comment = f"  {comment.value}" if comment is not None else ""
        method = (f"{nl}{nl}{def_indent}def {_COMPUTE_LOSS}:{nl}"
                  f"{body_indent}self.{attr_name}.update_state({new_value}){moved_comment}{nl}"
                  f"{body_indent}return {_SUPER_COMPUTE_LOSS}")
        edits = [delete_statement(loc, statement), Edit(loc.span(call_def)[1], loc.span(call_def)[1], method)]
        if tracker is not None:
            edits.append(insert_line_after(loc, super_statement, tracker.format(name=loc.code(name_arg.value))))
        return edits

    return build


def _module_import_or_builtin(ctx: RuleContext, name: str) -> bool:
    """Whether `name` reads the same thing from any method: bound at module level by imports
    only, or a builtin bound nowhere in the module."""
    bindings = ctx.facts.root.bindings.get(name)
    if bindings:
        return all(b.how == "import" for b in bindings)
    return hasattr(builtins, name)


def _comment_count(node: cst.CSTNode) -> Optional[int]:
    """How many comments the node's source holds (libcst keeps them in whitespace, not as nodes)."""
    code = cst.Module([]).code_for_node(node)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(f"({code})").readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    return sum(token.type == tokenize.COMMENT for token in tokens)


def _names_read(node: cst.CSTNode) -> List[cst.Name]:
    """The names an expression reads (not attribute names, keywords or lambda parameters)."""
    skip = set()
    for inner in find_all(node, cst.Attribute, cst.Arg, cst.Lambda):
        if isinstance(inner, cst.Attribute):
            skip.add(id(inner.attr))
        elif isinstance(inner, cst.Arg) and inner.keyword is not None:
            skip.add(id(inner.keyword))
        elif isinstance(inner, cst.Lambda):
            return [cst.Name("self")]  # a lambda in a metric value: too clever to move
    return [n for n in find_all(node, cst.Name) if id(n) not in skip]


def _uses_tensorflow(ctx: RuleContext, value: cst.BaseExpression, scope: Scope) -> bool:
    """Whether the value calls TensorFlow itself (`tf.reduce_mean`, not `tf.keras.ops.mean`)."""
    for call in find_all(value, cst.Call):
        func = ctx.resolver.resolve(call.func, scope) if isinstance(call.func, (cst.Name, cst.Attribute)) else None
        if isinstance(func, Dotted) and func.path.startswith("tensorflow.") and symbols.split_keras(func.path) is None:
            return True
    return False


def _indentation_of(loc: Locator, node: cst.CSTNode) -> str:
    line = loc.lines.line_text(loc.start(node).line)
    return line[: len(line) - len(line.lstrip())]


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

_TF_LAYER = "import tensorflow as tf\n" + _LAYER.replace("import keras\n", "from tensorflow import keras\n")
_MODEL = (
    "import keras\n"
    "class Net(keras.Model):\n"
    "    def __init__(self, **kwargs):\n"
    "        super().__init__(**kwargs)\n"
    "        self.dense = keras.layers.Dense(1)\n"
    "\n"
    "    def call(self, inputs):\n"
    "{call}"
    "        return self.dense(inputs)\n"
)

AddMetricRemoved.invalid = (
    # a model: the tracker is updated in compute_loss, where every backend updates metrics
    Example(
        _MODEL.format(call="        self.add_metric(keras.ops.mean(inputs), name='activity_mean')\n"),
        fixed=_MODEL.replace("        self.dense = keras.layers.Dense(1)\n",
                             "        self.activity_mean = keras.metrics.Mean(name='activity_mean')\n"
                             "        self.dense = keras.layers.Dense(1)\n").format(call="")
        + "\n    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):\n"
        "        self.activity_mean.update_state(keras.ops.mean(x))\n"
        "        return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)\n",
        safety="unsafe",
    ),
    # a layer computing the value with TensorFlow ops runs on the TensorFlow backend only: the
    # tracker is updated in call()
    Example(
        _TF_LAYER.format(call="self.add_metric(tf.reduce_mean(x), name='activity_mean')"),
        fixed=_TF_LAYER.replace("        self.scale = 2.0\n", "        self.activity_mean = keras.metrics.Mean(name='activity_mean')\n        self.scale = 2.0\n")
        .format(call="self.activity_mean.update_state(tf.reduce_mean(x))"),
        safety="unsafe",
    ),
    Example(
        _TF_LAYER.format(call="self.add_metric(tf.reduce_mean(x), name='scale', aggregation='mean')"),
        fixed=_TF_LAYER.replace("        self.scale = 2.0\n", "        self.scale_tracker = keras.metrics.Mean(name='scale')\n        self.scale = 2.0\n")
        .format(call="self.scale_tracker.update_state(tf.reduce_mean(x))"),
        safety="unsafe",
    ),
    # a backend-neutral layer: a tracker updated in call() raises TypeError on JAX; reported only
    Example(
        _LAYER.format(call="self.add_metric(keras.ops.mean(x), name='activity_mean')"),
        fixed=_LAYER.format(call="self.add_metric(keras.ops.mean(x), name='activity_mean')"),
        safety="none",
    ),
    # builtins move with the value; a trailing comment moves with the statement
    Example(
        _MODEL.format(call="        self.add_metric(float(2) * keras.ops.mean(inputs), name='m')  # why\n"),
        fixed=_MODEL.replace("        self.dense = keras.layers.Dense(1)\n",
                             "        self.m = keras.metrics.Mean(name='m')\n"
                             "        self.dense = keras.layers.Dense(1)\n").format(call="")
        + "\n    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):\n"
        "        self.m.update_state(float(2) * keras.ops.mean(x))  # why\n"
        "        return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)\n",
        safety="unsafe",
    ),
    # a comment between the arguments would be lost with the moved statement: reported only
    Example(
        _MODEL.format(call="        self.add_metric(keras.ops.mean(inputs),  # batch mean\n                        name='m')\n"),
        fixed=_MODEL.format(call="        self.add_metric(keras.ops.mean(inputs),  # batch mean\n                        name='m')\n"),
        safety="none",
    ),
    # a model whose value reads an intermediate tensor: reported only
    Example(
        _MODEL.format(call="        h = self.dense(inputs)\n        self.add_metric(keras.ops.mean(h), name='h_mean')\n"),
        fixed=_MODEL.format(call="        h = self.dense(inputs)\n        self.add_metric(keras.ops.mean(h), name='h_mean')\n"),
        safety="none",
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
