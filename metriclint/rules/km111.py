"""KM111: a flat `metrics=[...]` list on a model with several outputs (Keras 3: ValueError)."""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst

from ..diagnostics import Safety
from ..facts.collect import find_keyword, positional_args
from ..facts.arguments import Bound
from ..facts.containers import elements
from ..facts.entries import COMPILE_ANY_METRICS, Words
from ..facts.models import CompileInfo, ModelInfo, metric_ref, model_facts
from ..facts.values import Instance, Scope
from ..keras import symbols
from ..keras.metric_strings import lookup
from ..keras.metrics import BINARY, CATEGORICAL, LOSS_FAMILY, REGRESSION, SPARSE
from ..locate import Locator
from .base import KERAS3_ONLY, Example, Finding, FixPlan, Rule, RuleContext

CLASSIFICATION, REGRESSION_TASK = "classification", "regression"
# The task a built-in metric class is for (metrics that fit either, like `CosineSimilarity`,
# `Poisson` or `KLDivergence`, are absent: the rule does not guess for them).
_METRIC_TASK: Dict[str, str] = {
    **{c: CLASSIFICATION for c in (
        "Accuracy BinaryAccuracy CategoricalAccuracy SparseCategoricalAccuracy TopKCategoricalAccuracy "
        "SparseTopKCategoricalAccuracy AUC Precision Recall F1Score FBetaScore TruePositives TrueNegatives "
        "FalsePositives FalseNegatives BinaryIoU IoU MeanIoU OneHotIoU OneHotMeanIoU PrecisionAtRecall "
        "RecallAtPrecision SensitivityAtSpecificity SpecificityAtSensitivity BinaryCrossentropy "
        "CategoricalCrossentropy SparseCategoricalCrossentropy Hinge SquaredHinge CategoricalHinge").split()},
    **{c: REGRESSION_TASK for c in (
        "MeanAbsoluteError MeanSquaredError RootMeanSquaredError MeanAbsolutePercentageError "
        "MeanSquaredLogarithmicError LogCoshError R2Score PearsonCorrelation ConcordanceCorrelation").split()},
}
_LOSS_TASK = {BINARY: CLASSIFICATION, CATEGORICAL: CLASSIFICATION, SPARSE: CLASSIFICATION, REGRESSION: REGRESSION_TASK}
_PROBABILITY_ACTIVATIONS = frozenset({"sigmoid", "softmax"})


class Output:
    def __init__(self, name: Optional[str], activation: Optional[str]) -> None:
        self.name = name
        self.activation = activation
        self.task: Optional[str] = None


class FlatMetricsMultiOutput(Rule):
    code = "KM111"
    name = "flat-metrics-multi-output"
    summary = "A flat `metrics=[...]` list on a model with several outputs: ValueError on Keras 3"
    flavours = KERAS3_ONLY
    fix_safety = Safety.UNSAFE
    needs = (COMPILE_ANY_METRICS, Words(frozenset({"Model"})))  # a functional model: several outputs

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for model in model_facts(ctx).values():
            if model.output_count is None or model.output_count < 2 or not isinstance(model.key, cst.Call):
                continue
            outputs = _outputs(ctx, model.key)
            for info in model.compiles:
                for entry in COMPILE_ANY_METRICS.options:
                    keyword = entry.parameter
                    given = entry.bind(ctx.resolver, info.site.node, info.site.scope, ctx.flavour)
                    if not isinstance(given, Bound) or isinstance(given.value, cst.Dict):
                        continue
                    found = elements(ctx.resolver, given.value, given.scope)
                    if found is None:
                        continue
                    values = [value for value, _ in found]
                    if not values:
                        continue  # `metrics=[]`: no metrics, valid on both flavours
                    if any(isinstance(v, (cst.List, cst.Tuple, cst.Dict)) or _is_none(v) for v in values):
                        continue  # one entry per output (list of lists), not a flat list
                    if len(values) == model.output_count:
                        continue  # Keras 3 reads a list as long as the outputs as one metric per output
                    literal = given.value if isinstance(given.value, (cst.List, cst.Tuple)) and given.arg is not None else None
                    yield self._finding(ctx, model, info, keyword, literal or given.value, values, outputs,
                                        fixable=literal is not None)

    def _finding(self, ctx: RuleContext, model: ModelInfo, info: CompileInfo, keyword: str,
                 listed: cst.BaseExpression, values: List[cst.BaseExpression],
                 outputs: Optional[List[Output]], fixable: bool = True) -> Finding:
        count = model.output_count
        if outputs is not None and all(o.name for o in outputs):
            which = ", ".join(f"`{o.name}`" for o in outputs)
            where = f"its outputs {which}"
        else:
            where = f"its {count} outputs"
        message = (
            f"`{keyword}=` is one flat list for {count} outputs (ValueError on Keras 3). Keras 3 raises "
            f"it for a model with {count} outputs when `fit` starts (it wants a dict keyed by output name or one list per output), and tf_keras applied every "
            f"metric to every output, regression outputs included; give a dict for {where}"
        )
        plan = _per_output_plan(ctx, info, listed, values, outputs) if fixable else None
        if plan is None:
            return Finding(listed, message)
        code, build = plan
        return Finding(listed, f"{message}: `{code}`", FixPlan(
            Safety.UNSAFE, "Key the metrics by the output each one fits", build))


# --- the outputs of a functional model ------------------------------------------------------------
def _outputs(ctx: RuleContext, origin: cst.Call) -> Optional[List[Output]]:
    """Name and activation of each output of `Model(inputs, [a, b])`, in order, when the list is literal."""
    site = ctx.facts.site_of.get(origin)
    if site is None:
        return None
    keyword = find_keyword(origin, "outputs")
    args = positional_args(origin)
    node = keyword.value if keyword is not None else (args[1].value if len(args) > 1 else None)
    if isinstance(node, cst.Dict):
        out = []
        for element in node.elements:
            if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
                return None
            key = element.key.evaluated_value
            out.append(Output(key if isinstance(key, str) else None, None))
        return out
    if not isinstance(node, (cst.List, cst.Tuple)):
        return None
    out = []
    for element in node.elements:
        if isinstance(element, cst.StarredElement):
            return None
        layer = _producing_layer(ctx, element.value, site.scope, 0)
        if layer is None:
            out.append(Output(None, None))
            continue
        out.append(Output(_string_keyword(layer[1], "name"), _activation(layer[0], layer[1])))
    return out


def _producing_layer(ctx: RuleContext, node: cst.BaseExpression, scope: Scope, depth: int) -> Optional[Tuple[str, cst.Call]]:
    """(canonical layer class, its constructor call) for a tensor `Dense(1, name="a")(x)`, through names."""
    if depth > 8:
        return None
    if isinstance(node, cst.Name):
        values = ctx.resolver.assigned_values(node, scope)
        if values is None or len(values) != 1:
            return None
        return _producing_layer(ctx, values[0][0], values[0][1], depth + 1)  # type: ignore[arg-type]
    if isinstance(node, cst.Call):
        value = ctx.resolver.resolve(node.func, scope)
        if isinstance(value, Instance) and value.kind == symbols.LAYER and value.keras_class and isinstance(value.origin, cst.Call):
            return value.keras_class, value.origin
    return None


def _string_keyword(call: cst.Call, name: str) -> Optional[str]:
    arg = find_keyword(call, name)
    if arg is not None and isinstance(arg.value, cst.SimpleString):
        value = arg.value.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _activation(keras_class: str, call: cst.Call) -> Optional[str]:
    if keras_class == "layers.Softmax":
        return "softmax"
    if keras_class == "layers.Activation":
        args = positional_args(call)
        arg = find_keyword(call, "activation")
        node = arg.value if arg is not None else (args[0].value if args else None)
    elif keras_class == "layers.Dense":
        args = positional_args(call)
        arg = find_keyword(call, "activation")
        node = arg.value if arg is not None else (args[1].value if len(args) > 1 else None)
        if node is None:
            return "linear"
    else:
        return None
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return node.evaluated_value
    return None


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


# --- the fix: a dict keyed by the output each metric fits -------------------------------------------
def _output_losses(ctx: RuleContext, info: CompileInfo, outputs: List[Output]) -> Optional[List[Optional[str]]]:
    """The loss family of each output (from a per-output loss list or dict), None where unknown."""
    call = info.site.node
    arg = find_keyword(call, "loss")
    if arg is None:
        return None
    node = arg.value
    strings: List[Optional[str]] = [None] * len(outputs)
    if isinstance(node, (cst.List, cst.Tuple)) and len(node.elements) == len(outputs):
        for index, element in enumerate(node.elements):
            strings[index] = _loss_family(ctx, element.value, info.site.scope)
        return strings
    if isinstance(node, cst.Dict):
        by_name: Dict[str, Optional[str]] = {}
        for element in node.elements:
            if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                key = element.key.evaluated_value
                if isinstance(key, str):
                    by_name[key] = _loss_family(ctx, element.value, info.site.scope)
        return [by_name.get(o.name) if o.name else None for o in outputs]
    return None  # one loss for every output: says nothing about which output is which


def _loss_family(ctx: RuleContext, node: cst.BaseExpression, scope: Scope) -> Optional[str]:
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return LOSS_FAMILY.get(node.evaluated_value)
    value = ctx.resolver.instance(node, scope, symbols.LOSS)
    if value is not None and value.keras_class:
        return LOSS_FAMILY.get(value.keras_class)
    name = ctx.resolver.keras_name(node, scope)
    return LOSS_FAMILY.get(name) if name else None


def _metric_task(ctx: RuleContext, node: cst.BaseExpression, scope: Scope) -> Tuple[Optional[str], bool]:
    """(task the metric is for, whether it is a string that Keras makes afresh for each output)."""
    ref = metric_ref(node, scope, ctx.resolver)
    if ref.string is not None:
        entry = lookup(ref.string)
        return (_METRIC_TASK.get(entry.metric_class) if entry else None), True
    if ref.keras_class is not None:
        return _METRIC_TASK.get(ref.keras_class), False
    return None, False


def _per_output_plan(ctx: RuleContext, info: CompileInfo, listed: cst.BaseExpression,
                     values: List[cst.BaseExpression], outputs: Optional[List[Output]]):
    """The dict when the intent is evident: every output named, every output's task known (its loss, or
    a sigmoid/softmax activation), every metric's task known, and each metric going to the outputs of its
    task (an object, unlike a string, only to one output: Keras 3 would pool one instance's state)."""
    if outputs is None or not all(o.name for o in outputs):
        return None
    losses = _output_losses(ctx, info, outputs)
    for index, output in enumerate(outputs):
        family = losses[index] if losses else None
        if family is not None:
            output.task = _LOSS_TASK.get(family)
        elif output.activation in _PROBABILITY_ACTIVATIONS:
            output.task = CLASSIFICATION
        if output.task is None:
            return None
    scope = info.site.scope
    assigned: Dict[str, List[cst.BaseExpression]] = {o.name: [] for o in outputs}  # type: ignore[misc]
    for value in values:
        task, fresh = _metric_task(ctx, value, scope)
        targets = [o for o in outputs if task is not None and o.task == task]
        if not targets or (len(targets) > 1 and not fresh):
            return None
        for output in targets:
            assigned[output.name].append(value)  # type: ignore[index]
    quote = next((v.quote for v in values if isinstance(v, cst.SimpleString) and v.quote in ("'", '"')), '"')

    def render(loc: Locator) -> str:
        parts = []
        for output in outputs:
            metrics = assigned[output.name]  # type: ignore[index]
            if metrics:
                parts.append(f"{quote}{output.name}{quote}: [{', '.join(loc.code(m) for m in metrics)}]")
        return "{" + ", ".join(parts) + "}"

    preview = "{" + ", ".join(
        f"{quote}{o.name}{quote}: [{', '.join(cst.Module([]).code_for_node(m) for m in assigned[o.name])}]"  # type: ignore[index]
        for o in outputs if assigned[o.name]  # type: ignore[index]
    ) + "}"
    return preview, lambda loc: [loc.replace(listed, render(loc))]


# --- examples (run by tests/test_rule_examples.py) ---------------------------------------------
_TWO = (
    "import keras\n"
    "inp = keras.Input((4,))\n"
    "h = keras.layers.Dense(8, activation='relu')(inp)\n"
    "cls = keras.layers.Dense(1, activation='sigmoid', name='cls')(h)\n"
    "reg = keras.layers.Dense(1, name='reg')(h)\n"
    "model = keras.Model(inp, [cls, reg])\n"
)
_LOSSES = "loss={'cls': 'binary_crossentropy', 'reg': 'mse'}"

FlatMetricsMultiOutput.valid = (
    Example(_TWO + f"model.compile(optimizer='adam', {_LOSSES}, metrics={{'cls': ['accuracy'], 'reg': ['mae']}})\n"),
    Example(_TWO + f"model.compile(optimizer='adam', {_LOSSES}, metrics=[['accuracy'], ['mae']])\n"),
    # as many entries as outputs: Keras 3 takes one per output
    Example(_TWO + f"model.compile(optimizer='adam', {_LOSSES}, metrics=['accuracy', 'mae'])\n"),
    Example(_TWO + f"model.compile(optimizer='adam', {_LOSSES}, metrics=['accuracy', None])\n"),
    # no metrics at all: valid on Keras 3 (8 of 12 findings on real trees were this)
    Example(_TWO + f"model.compile(optimizer='adam', {_LOSSES}, metrics=[])\n"),
    Example(_TWO + f"model.compile(optimizer='adam', {_LOSSES}, weighted_metrics=())\n"),
    # one output
    Example("import keras\nmodel = keras.Sequential([keras.layers.Dense(1)])\nmodel.compile(loss='mse', metrics=['mae', 'mse'])\n"),
    Example(
        "import keras\ninp = keras.Input((4,))\nout = keras.layers.Dense(1)(inp)\nmodel = keras.Model(inp, out)\n"
        "model.compile(loss='mse', metrics=['mae', 'mse', 'mape'])\n"
    ),
    # Keras 2 applies the list to every output and runs
    Example(_TWO.replace("import keras", "import tf_keras as keras") + "model.compile(loss='mse', metrics=['mae'])\n", flavour="2"),
    # outputs the file does not show
    Example("import keras\nmodel = keras.models.load_model('m.keras')\nmodel.compile(loss='mse', metrics=['mae'])\n"),
    Example("import keras\nouts = build_heads(x)\nmodel = keras.Model(inp, outs)\nmodel.compile(loss='mse', metrics=['mae'])\n"),
)

FlatMetricsMultiOutput.invalid = (
    # accuracy only fits the classification output
    Example(
        _TWO + f"model.compile(optimizer='adam', {_LOSSES}, metrics=['accuracy'])\n",
        fixed=_TWO + f"model.compile(optimizer='adam', {_LOSSES}, metrics={{'cls': ['accuracy']}})\n",
        safety="unsafe",
    ),
    Example(
        _TWO + "model.compile(optimizer='adam', loss=['binary_crossentropy', 'mse'], metrics=['accuracy', keras.metrics.AUC(), 'mae'])\n",
        fixed=_TWO + "model.compile(optimizer='adam', loss=['binary_crossentropy', 'mse'], "
        "metrics={'cls': ['accuracy', keras.metrics.AUC()], 'reg': ['mae']})\n",
        safety="unsafe",
    ),
    # two classification heads: a string goes to both (what tf_keras did)
    Example(
        "from tensorflow import keras\ninp = keras.Input((4,))\n"
        "a = keras.layers.Dense(3, activation='softmax', name='colour')(inp)\n"
        "b = keras.layers.Dense(1, activation='sigmoid', name='is_big')(inp)\n"
        "model = keras.Model(inputs=inp, outputs=[a, b])\n"
        "model.compile(optimizer='adam', loss=['sparse_categorical_crossentropy', 'binary_crossentropy'], metrics=[\"accuracy\"])\n",
        fixed="from tensorflow import keras\ninp = keras.Input((4,))\n"
        "a = keras.layers.Dense(3, activation='softmax', name='colour')(inp)\n"
        "b = keras.layers.Dense(1, activation='sigmoid', name='is_big')(inp)\n"
        "model = keras.Model(inputs=inp, outputs=[a, b])\n"
        "model.compile(optimizer='adam', loss=['sparse_categorical_crossentropy', 'binary_crossentropy'], "
        "metrics={\"colour\": [\"accuracy\"], \"is_big\": [\"accuracy\"]})\n",
        safety="unsafe",
    ),
    # report only: unnamed outputs, one loss for all, a metric fitting either, a custom function
    Example(
        "from keras.models import Model\nfrom keras.layers import Dense, Input\ninp = Input((4,))\n"
        "model = Model(inp, [Dense(1, activation='sigmoid')(inp), Dense(1)(inp)])\n"
        "model.compile(loss='mse', metrics=['accuracy'])\n",
        fixed="from keras.models import Model\nfrom keras.layers import Dense, Input\ninp = Input((4,))\n"
        "model = Model(inp, [Dense(1, activation='sigmoid')(inp), Dense(1)(inp)])\n"
        "model.compile(loss='mse', metrics=['accuracy'])\n",
        safety="none",
    ),
    Example(
        _TWO + "model.compile(optimizer='adam', loss='mse', metrics=['mae'])\n",
        fixed=_TWO + "model.compile(optimizer='adam', loss='mse', metrics=['mae'])\n",
        safety="none",
    ),
    Example(
        _TWO + f"model.compile(optimizer='adam', {_LOSSES}, metrics=['accuracy', 'cosine_similarity', f1])\n",
        fixed=_TWO + f"model.compile(optimizer='adam', {_LOSSES}, metrics=['accuracy', 'cosine_similarity', f1])\n",
        safety="none",
    ),
    # an object fitting two outputs: one instance cannot serve both
    Example(
        "import keras\ninp = keras.Input((4,))\na = keras.layers.Dense(1, activation='sigmoid', name='a')(inp)\n"
        "b = keras.layers.Dense(1, activation='sigmoid', name='b')(inp)\nc = keras.layers.Dense(1, name='c')(inp)\n"
        "model = keras.Model(inp, [a, b, c])\n"
        "model.compile(loss=['bce', 'bce', 'mse'], metrics=[keras.metrics.AUC()])\n",
        fixed="import keras\ninp = keras.Input((4,))\na = keras.layers.Dense(1, activation='sigmoid', name='a')(inp)\n"
        "b = keras.layers.Dense(1, activation='sigmoid', name='b')(inp)\nc = keras.layers.Dense(1, name='c')(inp)\n"
        "model = keras.Model(inp, [a, b, c])\n"
        "model.compile(loss=['bce', 'bce', 'mse'], metrics=[keras.metrics.AUC()])\n",
        safety="none",
    ),
    # dict outputs
    Example(
        "import keras\nmodel = keras.Model(inp, {'x': a, 'y': b})\nmodel.compile(loss='mse', metrics=['mae'])\n",
        safety="none",
    ),
    Example(
        _TWO + "model.compile(optimizer='adam', loss='mse', weighted_metrics=['mae', 'mse', 'mape'])\n",
        safety="none",
    ),
)
