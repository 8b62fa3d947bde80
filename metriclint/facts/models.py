"""Per-model facts: compile calls (loss, metrics), the final layer, fit calls.

Built once per file on first use (rules share it through `model_facts(ctx)`), from the
facts pass's call sites: nothing walks the tree again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import libcst as cst

from ..keras import symbols
from ..keras.metrics import BINARY, LOSS_FAMILY
from .collect import CallSite, ModuleFacts, find_keyword, positional_args
from .entries import COMPILE_LOSS, COMPILE_METRICS, MODEL_SETUP_CALLS
from .resolve import Resolver
from .values import Dotted, FunctionValue, Instance, Scope


@dataclass
class LossInfo:
    node: cst.BaseExpression
    family: Optional[str]  # metrics.BINARY | CATEGORICAL | SPARSE | REGRESSION | None
    from_logits: Optional[bool]  # None: unknown


@dataclass
class MetricRef:
    """One element of `compile(metrics=[...])`."""

    node: cst.BaseExpression
    string: Optional[str] = None  # "accuracy"
    keras_class: Optional[str] = None  # "AUC" for keras.metrics.AUC(...)
    constructor: Optional[cst.Call] = None  # the call that made it (maybe elsewhere, via a variable)
    function: Optional[FunctionValue] = None  # a metric function defined in this file
    keras_function: Optional[str] = None  # "metrics.binary_accuracy" passed as a function


@dataclass
class CompileInfo:
    site: CallSite
    loss: Optional[LossInfo]
    metrics: List[MetricRef]
    metrics_arg: Optional[cst.Arg]


@dataclass
class LayerInfo:
    keras_class: str  # canonical, e.g. "layers.Dense"
    call: cst.Call
    activation: Optional[str]  # "sigmoid", "softmax", "linear", ...; None: unknown


@dataclass
class ModelInfo:
    key: object
    compiles: List[CompileInfo] = field(default_factory=list)
    final_layer: Optional[LayerInfo] = None
    output_count: Optional[int] = None

    @property
    def final_activation(self) -> Optional[str]:
        return self.final_layer.activation if self.final_layer else None

    @property
    def final_units(self) -> Optional[int]:
        if self.final_layer is None or self.final_layer.keras_class != "layers.Dense":
            return None
        call = self.final_layer.call
        units = find_keyword(call, "units")
        args = positional_args(call)
        value = units.value if units is not None else (args[0].value if args else None)
        if isinstance(value, cst.Integer):
            return int(value.value)
        return None


def model_key(instance: Instance) -> Optional[object]:
    return instance.origin if instance.origin is not None else instance.local_class


def model_facts(ctx) -> Dict[object, ModelInfo]:
    """Model key (creating call or the user's Model subclass) -> ModelInfo. Cached per file."""
    cached = ctx.cache.get("models")
    if cached is None:
        cached = ctx.cache["models"] = _build(ctx.facts, ctx.resolver, ctx.flavour)
    return cached


def model_of(ctx, receiver: cst.BaseExpression, scope: Scope) -> Optional[ModelInfo]:
    instance = ctx.resolver.instance(receiver, scope, symbols.MODEL)
    if instance is None:
        return None
    key = model_key(instance)
    return model_facts(ctx).get(key) if key is not None else None


def _build(facts: ModuleFacts, resolver: Resolver, flavour: str) -> Dict[object, ModelInfo]:
    models: Dict[object, ModelInfo] = {}
    adds: Dict[object, List[CallSite]] = {}
    for site in MODEL_SETUP_CALLS.sites(facts):
        func = site.node.func
        if not isinstance(func, cst.Attribute):
            continue
        instance = resolver.instance(func.value, site.scope, symbols.MODEL)
        key = model_key(instance) if instance is not None else None
        if key is None:
            continue
        info = models.setdefault(key, ModelInfo(key))
        if func.attr.value == "compile":
            info.compiles.append(_compile_info(site, resolver, flavour))
        else:
            adds.setdefault(key, []).append(site)
    for key, info in models.items():
        if isinstance(key, cst.Call):
            info.final_layer, info.output_count = _architecture(key, adds.get(key, []), facts, resolver)
    return models


# --- compile --------------------------------------------------------------------------------------
def _compile_info(site: CallSite, resolver: Resolver, flavour: str) -> CompileInfo:
    call = site.node
    loss_arg = COMPILE_LOSS.bound(call, flavour)
    loss = _loss_info(loss_arg.value, site.scope, resolver) if loss_arg is not None else None
    metrics_arg = COMPILE_METRICS.bound(call, flavour)
    metrics: List[MetricRef] = []
    if metrics_arg is not None and isinstance(metrics_arg.value, (cst.List, cst.Tuple)):
        for element in metrics_arg.value.elements:
            if not isinstance(element, cst.StarredElement):
                metrics.append(metric_ref(element.value, site.scope, resolver))
    return CompileInfo(site, loss, metrics, metrics_arg)


def _string(node: cst.CSTNode) -> Optional[str]:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _bool_keyword(call: cst.Call, name: str) -> Optional[bool]:
    arg = find_keyword(call, name)
    if arg is None:
        return False  # Keras's default for from_logits
    if isinstance(arg.value, cst.Name) and arg.value.value in ("True", "False"):
        return arg.value.value == "True"
    return None


def _loss_info(node: cst.BaseExpression, scope: Scope, resolver: Resolver) -> LossInfo:
    text = _string(node)
    if text is not None:
        return LossInfo(node, LOSS_FAMILY.get(text), False)
    value = resolver.resolve(node, scope)
    if isinstance(value, Instance) and value.kind == symbols.LOSS and value.keras_class:
        from_logits = _bool_keyword(value.origin, "from_logits") if isinstance(value.origin, cst.Call) else None
        return LossInfo(node, LOSS_FAMILY.get(value.keras_class), from_logits)
    if isinstance(value, Dotted):
        split = symbols.split_keras(value.path)
        if split is not None:
            return LossInfo(node, LOSS_FAMILY.get(split[0]), False)
    return LossInfo(node, None, None)


def metric_ref(node: cst.BaseExpression, scope: Scope, resolver: Resolver) -> MetricRef:
    text = _string(node)
    if text is not None:
        return MetricRef(node, string=text)
    value = resolver.resolve(node, scope)
    if isinstance(value, Instance) and value.kind == symbols.METRIC:
        leaf = value.keras_class.split(".")[-1] if value.keras_class else None
        constructor = value.origin if isinstance(value.origin, cst.Call) else None
        return MetricRef(node, keras_class=leaf, constructor=constructor)
    if isinstance(value, FunctionValue):
        return MetricRef(node, function=value)
    if isinstance(value, Dotted):
        split = symbols.split_keras(value.path)
        if split is not None:
            return MetricRef(node, keras_function=split[0])
    return MetricRef(node)


# --- architecture ---------------------------------------------------------------------------------
def _architecture(
    origin: cst.Call, adds: List[CallSite], facts: ModuleFacts, resolver: Resolver
) -> Tuple[Optional[LayerInfo], Optional[int]]:
    site = facts.site_of.get(origin)
    if site is None:
        return None, None
    name = resolver.keras_name(origin.func, site.scope)
    if name == "Sequential":
        layers: List[Tuple[cst.BaseExpression, Scope]] = []
        args = positional_args(origin)
        keyword = find_keyword(origin, "layers")
        listed = keyword.value if keyword is not None else (args[0].value if args else None)
        if isinstance(listed, (cst.List, cst.Tuple)) and listed.elements:
            layers = [(listed.elements[-1].value, site.scope)]
        if adds:
            last = adds[-1].node
            add_args = positional_args(last)
            if add_args:
                layers = [(add_args[0].value, adds[-1].scope)]
        if not layers:
            return None, 1
        return _layer_info(layers[-1][0], layers[-1][1], resolver), 1
    if name == "Model":
        outputs = find_keyword(origin, "outputs")
        args = positional_args(origin)
        node = outputs.value if outputs is not None else (args[1].value if len(args) > 1 else None)
        if node is None:
            return None, None
        if isinstance(node, cst.Name):  # outs = [a, b]; keras.Model(inputs, outs)
            assigned = resolver.assigned_values(node, site.scope)
            if assigned is not None and len(assigned) == 1 and isinstance(assigned[0][0], (cst.List, cst.Tuple, cst.Dict)):
                node = assigned[0][0]  # type: ignore[assignment]
        if isinstance(node, (cst.List, cst.Tuple)):
            return None, len(node.elements)
        if isinstance(node, cst.Dict):
            return None, len(node.elements)
        layer = _tensor_layer(node, site.scope, resolver, 0)
        return layer, (1 if layer is not None else None)
    return None, None


def _tensor_layer(node: cst.BaseExpression, scope: Scope, resolver: Resolver, depth: int) -> Optional[LayerInfo]:
    """The layer that produced a functional tensor: `Dense(1, activation="sigmoid")(x)`."""
    if depth > 8:
        return None
    if isinstance(node, cst.Name):
        values = resolver.assigned_values(node, scope)
        if values is None or len(values) != 1:
            return None
        return _tensor_layer(values[0][0], values[0][1], resolver, depth + 1)  # type: ignore[arg-type]
    if isinstance(node, cst.Call) and isinstance(node.func, (cst.Call, cst.Name, cst.Attribute)):
        return _layer_info(node.func, scope, resolver)
    return None


def _layer_info(node: cst.BaseExpression, scope: Scope, resolver: Resolver) -> Optional[LayerInfo]:
    value = resolver.resolve(node, scope)
    if not (isinstance(value, Instance) and value.kind == symbols.LAYER and value.keras_class):
        return None
    call = value.origin if isinstance(value.origin, cst.Call) else None
    if call is None:
        return None
    return LayerInfo(value.keras_class, call, _activation(value.keras_class, call, scope, resolver))


def _activation(keras_class: str, call: cst.Call, scope: Scope, resolver: Resolver) -> Optional[str]:
    if keras_class == "layers.Activation":
        args = positional_args(call)
        keyword = find_keyword(call, "activation")
        node = keyword.value if keyword is not None else (args[0].value if args else None)
    elif keras_class == "layers.Dense":
        keyword = find_keyword(call, "activation")
        args = positional_args(call)
        node = keyword.value if keyword is not None else (args[1].value if len(args) > 1 else None)
        if node is None:
            return "linear"
    elif keras_class == "layers.Softmax":
        return "softmax"
    else:
        return None
    if node is None:
        return None
    if isinstance(node, cst.Name) and node.value == "None":
        return "linear"
    text = _string(node)
    if text is not None:
        return text
    name = resolver.keras_name(node, scope)  # keras.activations.sigmoid
    if name is not None and name.startswith("activations."):
        return name.split(".")[-1]
    return None


def logits_reason(model: ModelInfo, info: CompileInfo) -> Optional[str]:
    """Why the model's output is a logit, or None.

    Only `from_logits=True` says so. Measured on both flavours (the fixture's data and model,
    10 epochs), against the catalogue's "final linear Dense(1)" reading:
    - a linear `Dense(1)` trained with plain `"binary_crossentropy"` is trained as a
      probability (the loss clips it to [eps, 1 - eps]): 0.5 is its boundary, accuracy at 0.5
      0.8475 vs 0.6925 at 0.0 (K3), 0.8375 vs 0.6675 (tf_keras). Not logits: silent.
    - a `sigmoid` output with `from_logits=True` (a double sigmoid; Keras 3 warns): the 0.5
      metrics equal numpy on `predict() > 0.5`, while `threshold=0.0` would call everything
      positive. Not logits either: silent.
    """
    loss = info.loss
    if loss is None or loss.family != BINARY:
        return None  # sparse/categorical CE with logits and "accuracy" is right (argmax)
    if loss.from_logits is not True:
        return None
    if model.final_activation in ("sigmoid", "softmax"):
        return None
    return "`from_logits=True`"
