"""KM212: `MeanIoU`/`IoU` fed probabilities: they cast `y_pred` to class ids instead of taking the argmax."""

from __future__ import annotations

from typing import Iterator, Optional, Set

import libcst as cst

from ..diagnostics import Safety
from ..facts.arguments import Bound, constructor_argument
from ..facts.entries import COMPILE_ANY_METRICS, Words
from ..facts.models import CompileInfo, MetricRef, ModelInfo, model_facts
from ..facts.outputs import OutputHead, output_head
from ..keras import symbols
from ..keras.layers import PROBABILITY_ACTIVATIONS
from ..keras.metrics import BINARY, CATEGORICAL, METRICS, REGRESSION, SPARSE
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import add_keywords, class_import, compile_metric_refs, rename_class

# class -> its one-hot twin (the same positional parameters up to `ignore_class`, both flavours)
_ONE_HOT = {"MeanIoU": "OneHotMeanIoU", "IoU": "OneHotIoU"}
# the parameters a call may pass for the binary rewrite to `BinaryIoU(target_class_ids, threshold, name)`
_BINARY_PARAMETERS = {"MeanIoU": ("num_classes", "name"), "IoU": ("num_classes", "target_class_ids", "name")}
_CROSS_ENTROPY = (BINARY, CATEGORICAL, SPARSE)
# What the cast does, by the labels the loss implies; measured in fixtures/KM212_* (Keras 3.15.1,
# tf_keras 2.21 alike)
_EFFECT = {
    CATEGORICAL: "with one-hot labels it logs the same constant every epoch (0.3333 in metriclint's test "
                 "program, where the mean IoU of the arg-max was 0.447)",
    SPARSE: "with integer labels the flattened shapes differ and the first training step fails (ValueError, or "
            "InvalidArgumentError when the batch size is only known at run time)",
    BINARY: "it logs the same constant every epoch, half the share of negative labels (0.2994 in metriclint's "
            "test program, where the IoU at 0.5 was 0.524)",
    None: "it logs a constant (one-hot labels) or fails on shapes (integer labels)",
}


class IoUOnProbabilities(Rule):
    code = "KM212"
    name = "iou-on-probabilities"
    summary = "`MeanIoU`/`IoU` cast probabilities to class ids (all 0): a constant value, or a shape error"
    fix_safety = Safety.SAFE
    rewrites = {
        "one_hot_twin": "one-hot labels: `OneHotMeanIoU`/`OneHotIoU` with `name=` keeping the key",
        "sparse_y_pred": "integer labels: `sparse_y_pred=False`",
        "binary_iou": "binary labels: `BinaryIoU(target_class_ids=..., threshold=..., name=...)`",
    }
    needs = (COMPILE_ANY_METRICS, Words(frozenset(_ONE_HOT)))

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        seen: Set[int] = set()
        for model in model_facts(ctx).values():
            if model.output_count not in (None, 1):
                continue  # several outputs: which one a metric sees is not this rule's to guess
            for info in model.compiles:
                why = _probabilities(info, output_head(ctx, model))
                if why is None:
                    continue
                for metric in compile_metric_refs(ctx, info):
                    call = metric.constructor
                    if metric.keras_class not in _ONE_HOT or call is None or metric.spec is not None:
                        continue
                    if id(call) in seen or _argmax_given(ctx, metric) or _updated_by_hand(ctx, call):
                        continue
                    seen.add(id(call))
                    yield self._finding(ctx, model, info, metric, why)

    def _finding(self, ctx: RuleContext, model: ModelInfo, info: CompileInfo, metric: MetricRef, why: str) -> Finding:
        cls = metric.keras_class or ""
        call = metric.constructor
        assert call is not None
        family = info.loss.family if info.loss is not None else None
        sigmoid = _sigmoid_output(ctx, model)
        effect = _EFFECT.get(BINARY if sigmoid and family != CATEGORICAL else family, _EFFECT[None])
        head = (f"`{cls}` casts `y_pred` to class ids, but this model does not output them. It does not take the "
                f"arg-max, and {why}: every prediction "
                f"below 1.0 becomes class 0, so {effect}")
        simple = not any(arg.star for arg in call.args)
        if family == SPARSE:
            if _passes(ctx, call, cls, "sparse_y_true"):
                return Finding(metric.node, head + "; with integer labels pass `sparse_y_pred=False`")
            plan = FixPlan(Safety.SAFE, "Pass `sparse_y_pred=False` (arg-max of the probabilities)",
                           lambda loc: add_keywords(loc, call, [("sparse_y_pred", "False")])) if simple else None
            return Finding(metric.node, head + "; pass `sparse_y_pred=False` (it then takes the arg-max)", plan)
        if family == CATEGORICAL:
            return self._one_hot(ctx, metric, cls, call, head, simple)
        if family == BINARY or (family != CATEGORICAL and sigmoid):
            logits = family == BINARY and info.loss.from_logits is True and not sigmoid  # type: ignore[union-attr]
            threshold = "0.0" if logits else "0.5"
            advice = f"; use `BinaryIoU(target_class_ids=[0, 1], threshold={threshold})`, keeping the key with `name=`"
            plan = self._binary(ctx, metric, cls, call, threshold) if family == BINARY and simple else None
            return Finding(metric.node, head + advice, plan)
        return Finding(metric.node, head + f"; for one-hot labels use `{_ONE_HOT[cls]}(...)`, for integer labels "
                       "pass `sparse_y_pred=False`, keeping the key with `name=`")

    def _one_hot(self, ctx: RuleContext, metric: MetricRef, cls: str, call: cst.Call, head: str, simple: bool) -> Finding:
        twin = _ONE_HOT[cls]
        keras_class = f"metrics.{cls}"
        sparse_true = constructor_argument(ctx.resolver, call, _scope(ctx, call), keras_class, "sparse_y_true", ctx.flavour)
        if isinstance(sparse_true, Bound) and _is_false(sparse_true.value):
            # `MeanIoU(..., sparse_y_true=False)` already reads one-hot labels: it only lacks the arg-max
            plan = FixPlan(Safety.SAFE, "Pass `sparse_y_pred=False` (arg-max of the probabilities)",
                           lambda loc: add_keywords(loc, call, [("sparse_y_pred", "False")])) if simple else None
            return Finding(metric.node, head + "; pass `sparse_y_pred=False` (it then takes the arg-max)", plan)
        message = head + f"; with one-hot labels use `{twin}(...)`, which takes the arg-max of both (the fix keeps the key)"
        if sparse_true is not None or not simple or _positional_beyond(call, 3):
            return Finding(metric.node, message)  # `sparse_y_true` (which the twin lacks), `*args`, ...
        rename = rename_class(ctx, call, twin)
        if rename is None:
            return Finding(metric.node, message)
        extra = [] if _passes(ctx, call, cls, "name") else [("name", f'"{_default_name(cls, ctx.flavour)}"')]
        return Finding(metric.node, message, FixPlan(
            Safety.SAFE, f"Use `{twin}`, keeping the key",
            lambda loc: [*rename(loc), *add_keywords(loc, call, extra)]))

    def _binary(self, ctx: RuleContext, metric: MetricRef, cls: str, call: cst.Call, threshold: str) -> Optional[FixPlan]:
        """`MeanIoU(num_classes=2)` -> `BinaryIoU(target_class_ids=[0, 1], threshold=0.5, name="mean_io_u")`:
        the same mean over both classes, of the thresholded predictions. Only for calls that pass
        nothing else (the argument lists differ)."""
        scope = _scope(ctx, call)
        keras_class = f"metrics.{cls}"
        allowed = _BINARY_PARAMETERS[cls]
        given = {}
        for parameter in ("num_classes", "target_class_ids", "name", "dtype", "ignore_class", "sparse_y_true", "axis"):
            bound = constructor_argument(ctx.resolver, call, scope, keras_class, parameter, ctx.flavour)
            if bound is None:
                continue
            if parameter not in allowed or not isinstance(bound, Bound) or bound.arg is None:
                return None
            given[parameter] = bound.value
        if len(given) != sum(1 for arg in call.args):
            return None  # an argument this rewrite does not carry over
        classes = given.get("num_classes")
        if not (isinstance(classes, cst.Integer) and classes.value == "2"):
            return None
        func = call.func
        if isinstance(func, cst.Attribute):
            def prefix(loc):
                return loc.code(func.value) + ".BinaryIoU"
            add_import = None
        elif isinstance(func, cst.Name):
            imported = class_import(ctx, func, "BinaryIoU")
            if imported is None:
                return None
            name, add_import = imported

            def prefix(loc):
                return name
        else:
            return None
        ids = given.get("target_class_ids")
        key = given.get("name")

        def build(loc):
            ids_text = loc.code(ids) if ids is not None else "[0, 1]"
            name_text = loc.code(key) if key is not None else f'"{_default_name(cls, ctx.flavour)}"'
            text = f"{prefix(loc)}(target_class_ids={ids_text}, threshold={threshold}, name={name_text})"
            edits = [loc.replace(call, text)]
            if add_import is not None:
                edits.append(add_import(loc))
            return edits

        return FixPlan(Safety.SAFE, "Use `BinaryIoU`, keeping the key", build)


def _probabilities(info: CompileInfo, head: Optional[OutputHead]) -> Optional[str]:
    """Why `y_pred` holds probabilities or per-class scores, or None."""
    loss = info.loss
    if info.per_output_loss:
        return None
    family = loss.family if loss is not None else None
    if family in _CROSS_ENTROPY:
        scores = "class scores (logits)" if loss.from_logits is True else "class probabilities"  # type: ignore[union-attr]
        return f"this model outputs {scores} (it is trained with a cross-entropy)"
    if head is not None and head.activation in PROBABILITY_ACTIVATIONS:
        return f"this model outputs probabilities (its output ends in a {head.activation})"
    if family != REGRESSION and head is not None and head.units is not None and head.units > 1:
        return f"this model outputs one score per class ({head.units} channels)"
    return None


def _sigmoid_output(ctx: RuleContext, model: ModelInfo) -> bool:
    head = output_head(ctx, model)
    return head is not None and head.activation == "sigmoid"


def _scope(ctx: RuleContext, call: cst.Call):
    site = ctx.facts.site_of.get(call)
    return site.scope if site is not None else ctx.facts.root


def _passes(ctx: RuleContext, call: cst.Call, cls: str, parameter: str) -> bool:
    """Whether the constructor passes `parameter` (or may, through `**options` the file does not show)."""
    return constructor_argument(ctx.resolver, call, _scope(ctx, call), f"metrics.{cls}", parameter, ctx.flavour) is not None


def _argmax_given(ctx: RuleContext, metric: MetricRef) -> bool:
    """`sparse_y_pred=` passed (either value: someone chose), or possibly passed."""
    call = metric.constructor
    return call is not None and _passes(ctx, call, metric.keras_class or "", "sparse_y_pred")


def _updated_by_hand(ctx: RuleContext, call: cst.Call) -> bool:
    """The same object also updated by the file's own code (`iou.update_state(y, argmax(p))`):
    whoever wrote that knows what it is fed."""
    for site in ctx.facts.method_calls("update_state"):
        func = site.node.func
        if isinstance(func, cst.Attribute):
            instance = ctx.resolver.instance(func.value, site.scope, symbols.METRIC)
            if instance is not None and instance.origin is call:
                return True
    return False


def _positional_beyond(call: cst.Call, last: int) -> bool:
    return sum(1 for arg in call.args if arg.keyword is None) > last + 1


def _is_false(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def _default_name(cls: str, flavour: str) -> str:
    return METRICS[cls].default_name(flavour) or ""


_HEAD = "import keras\n"
_SOFTMAX = "model = keras.Sequential([keras.Input((8, 8, 2)), keras.layers.Conv2D(3, 1, activation='softmax')])\n"
_SIGMOID = "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"

IoUOnProbabilities.valid = (
    # the arg-max asked for already
    Example(_HEAD + _SOFTMAX + "model.compile(loss='sparse_categorical_crossentropy', "
            "metrics=[keras.metrics.MeanIoU(num_classes=3, sparse_y_pred=False)])\n"),
    Example(_HEAD + _SOFTMAX + "model.compile(loss='categorical_crossentropy', metrics=[keras.metrics.OneHotMeanIoU(num_classes=3)])\n"),
    # a subclass that takes the arg-max itself (the usual workaround): its own business
    Example(_HEAD + "class ArgmaxIoU(keras.metrics.MeanIoU):\n"
            "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        return super().update_state(keras.ops.argmax(y_true, -1), keras.ops.argmax(y_pred, -1), sample_weight)\n"
            + _SOFTMAX + "model.compile(loss='categorical_crossentropy', metrics=[ArgmaxIoU(num_classes=3)])\n"),
    # fed class ids by hand in a custom loop
    Example(_HEAD + _SOFTMAX + "iou = keras.metrics.MeanIoU(num_classes=3)\n"
            "iou.update_state(y, keras.ops.argmax(model(x), axis=-1))\n"),
    # a model that outputs class ids (a regression loss on one linear unit): nothing says probabilities
    Example(_HEAD + "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
            "model.compile(loss='mse', metrics=[keras.metrics.MeanIoU(num_classes=2)])\n"),
    # unknown model and loss
    Example(_HEAD + "def train(model):\n    model.compile(loss=dice_loss, metrics=[keras.metrics.MeanIoU(num_classes=3)])\n"),
    # BinaryIoU thresholds already
    Example(_HEAD + _SIGMOID + "model.compile(loss='binary_crossentropy', metrics=[keras.metrics.BinaryIoU(target_class_ids=[0, 1])])\n"),
    # several outputs: which output a metric sees is not this rule's guess
    Example(_HEAD + "inputs = keras.Input((4,))\na = keras.layers.Dense(3, activation='softmax')(inputs)\n"
            "b = keras.layers.Dense(1)(inputs)\nmodel = keras.Model(inputs, [a, b])\n"
            "model.compile(loss=['categorical_crossentropy', 'mse'], metrics=[[keras.metrics.MeanIoU(num_classes=3)], []])\n"),
)

IoUOnProbabilities.invalid = (
    # one-hot labels: the one-hot twin, keeping the key
    Example(
        _HEAD + _SOFTMAX + "model.compile(loss='categorical_crossentropy', metrics=[keras.metrics.MeanIoU(num_classes=3)])\n",
        fixed=_HEAD + _SOFTMAX + "model.compile(loss='categorical_crossentropy', "
        "metrics=[keras.metrics.OneHotMeanIoU(num_classes=3, name=\"mean_io_u\")])\n",
        safety="safe",
    ),
    # integer labels: sparse_y_pred=False
    Example(
        _HEAD + _SOFTMAX + "model.compile(loss='sparse_categorical_crossentropy', metrics=[keras.metrics.MeanIoU(3, name='miou')])\n",
        fixed=_HEAD + _SOFTMAX + "model.compile(loss='sparse_categorical_crossentropy', "
        "metrics=[keras.metrics.MeanIoU(3, name='miou', sparse_y_pred=False)])\n",
        safety="safe",
    ),
    # IoU imported by name, in a variable, with logits
    Example(
        "from tensorflow.keras import Input, Model, layers\nfrom tensorflow.keras.losses import CategoricalCrossentropy\n"
        "from tensorflow.keras.metrics import IoU\n"
        "inputs = Input((8, 8, 2))\nlogits = layers.Conv2D(4, 1)(inputs)\nmodel = Model(inputs, logits)\n"
        "iou = IoU(num_classes=4, target_class_ids=[1])\n"
        "model.compile(loss=CategoricalCrossentropy(from_logits=True), metrics=[iou])\n",
        fixed="from tensorflow.keras import Input, Model, layers\nfrom tensorflow.keras.losses import CategoricalCrossentropy\n"
        "from tensorflow.keras.metrics import IoU\nfrom tensorflow.keras.metrics import OneHotIoU\n"
        "inputs = Input((8, 8, 2))\nlogits = layers.Conv2D(4, 1)(inputs)\nmodel = Model(inputs, logits)\n"
        "iou = OneHotIoU(num_classes=4, target_class_ids=[1], name=\"io_u\")\n"
        "model.compile(loss=CategoricalCrossentropy(from_logits=True), metrics=[iou])\n",
        safety="safe",
    ),
    # one sigmoid unit: BinaryIoU over both classes, thresholded at 0.5
    Example(
        _HEAD + _SIGMOID + "model.compile(loss='binary_crossentropy', metrics=[keras.metrics.MeanIoU(num_classes=2)])\n",
        fixed=_HEAD + _SIGMOID + "model.compile(loss='binary_crossentropy', "
        "metrics=[keras.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.5, name=\"mean_io_u\")])\n",
        safety="safe",
    ),
    # softmax output, a loss the file does not reveal: report with both options
    Example(
        _HEAD + _SOFTMAX + "model.compile(loss=dice_loss, metrics=['accuracy', keras.metrics.MeanIoU(num_classes=3)])\n",
        safety="none",
    ),
    # `Dense(3)` then `Activation("softmax")`, tf_keras, one-hot labels given as `sparse_y_true=False`
    Example(
        "import tf_keras as keras\nmodel = keras.Sequential()\nmodel.add(keras.layers.Dense(3))\n"
        "model.add(keras.layers.Activation('softmax'))\n"
        "model.compile(loss=my_loss, metrics=[keras.metrics.MeanIoU(num_classes=3, sparse_y_true=False)])\n",
        flavour="2",
        safety="none",
    ),
    Example(
        "import tf_keras as keras\nmodel = keras.Sequential()\nmodel.add(keras.layers.Dense(3))\n"
        "model.add(keras.layers.Activation('softmax'))\n"
        "model.compile(loss='categorical_crossentropy', metrics=[keras.metrics.MeanIoU(num_classes=3, sparse_y_true=False)])\n",
        fixed="import tf_keras as keras\nmodel = keras.Sequential()\nmodel.add(keras.layers.Dense(3))\n"
        "model.add(keras.layers.Activation('softmax'))\n"
        "model.compile(loss='categorical_crossentropy', metrics=[keras.metrics.MeanIoU(num_classes=3, sparse_y_true=False, sparse_y_pred=False)])\n",
        flavour="2",
        safety="safe",
    ),
)
