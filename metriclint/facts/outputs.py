"""A model's output, as the rules about losses and metrics need it: the final activation and the
size of the last axis (`Dense(5, activation="sigmoid")` -> sigmoid, 5 units).

Read from the layers the file shows: the last layer of a `Sequential` list or of its `add()` calls,
or the layer applied last to a functional model's output tensor; an `Activation`/`Softmax` layer
there takes its units from the layer before it. A model another module builds gives what its
summary says. Several outputs, a subclassed model, a factory of another library: unknown (None),
and the rules that need the output stay silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import libcst as cst

from ..keras import symbols
from ..keras.layers import ACTIVATION_LAYERS
from .collect import find_keyword, positional_args
from .layers import LayerOutput, layer_output
from .models import ModelInfo, model_key
from .values import Instance, Scope

_MAX_DEPTH = 8
Expression = Tuple[cst.BaseExpression, Scope]


@dataclass(frozen=True)
class OutputHead:
    activation: Optional[str]  # "sigmoid", "softmax", "linear", ...; None: not known
    units: Optional[int]  # the size of the last axis; None: not known


def output_head(ctx, model: ModelInfo) -> Optional[OutputHead]:
    """The one output of `model`, when the file (or the module that builds it) shows its final
    activation; None for several outputs or when nothing is known. Cached per file."""
    cache = ctx.cache.setdefault("output_heads", {})
    key = id(model)
    if key not in cache:
        cache[key] = _head(ctx, model)
    return cache[key]


def _head(ctx, model: ModelInfo) -> Optional[OutputHead]:
    if model.output_count not in (None, 1):
        return None
    origin = model.key
    if model.final_layer is None and model.external is not None:
        spec = model.external
        if spec.output_count in (None, 1) and spec.final_activation is not None:
            return OutputHead(spec.final_activation, spec.final_units)
        return None
    if not isinstance(origin, cst.Call):
        return None
    site = ctx.facts.site_of.get(origin)
    if site is None:
        return None
    chain = _last_layers(ctx, origin, site.scope)
    if not chain:
        return None
    last = chain[0]
    if last.activation is None:
        return None
    units = last.units
    if units is None and len(chain) > 1 and last is not chain[1]:
        units = chain[1].units  # `Dense(3)` then `Activation("softmax")`
    return OutputHead(last.activation, units)


def _last_layers(ctx, origin: cst.Call, scope: Scope) -> List[LayerOutput]:
    """What the last layer outputs and, when it only applies an activation, what the one before
    it outputs (for the units). Empty when the last layer is not known."""
    resolver = ctx.resolver
    name = resolver.keras_name(origin.func, scope)
    if name == "Sequential":
        layers = _sequential_layers(ctx, origin, scope)
        if layers is None or not layers:
            return []
        out = []
        for node, inner in reversed(layers[-2:]):
            found = _layer(ctx, node, inner)
            if found is None:
                break
            out.append(found[1])
            if found[0] not in ACTIVATION_LAYERS:
                break
        return out
    if name == "Model":
        keyword = find_keyword(origin, "outputs")
        args = positional_args(origin)
        node = keyword.value if keyword is not None else (args[1].value if len(args) > 1 else None)
        if node is None:
            return []
        return _tensor_chain(ctx, node, scope)
    return []


def _sequential_layers(ctx, origin: cst.Call, scope: Scope) -> Optional[List[Expression]]:
    """The layer expressions of a `Sequential`, in order: its list, then its `add()` calls."""
    keyword = find_keyword(origin, "layers")
    args = positional_args(origin)
    listed = keyword.value if keyword is not None else (args[0].value if args else None)
    layers: List[Expression] = []
    if isinstance(listed, (cst.List, cst.Tuple)):
        if any(isinstance(e, cst.StarredElement) for e in listed.elements):
            return None
        layers = [(e.value, scope) for e in listed.elements]
    elif listed is not None:
        return None  # a list built elsewhere
    for site in ctx.facts.method_calls("add"):
        func = site.node.func
        if not isinstance(func, cst.Attribute):
            continue
        instance = ctx.resolver.instance(func.value, site.scope, symbols.MODEL)
        if instance is None or model_key(instance) is not origin:
            continue
        added = positional_args(site.node)
        if len(added) != 1:
            return None
        layers.append((added[0].value, site.scope))
    return layers


def _tensor_chain(ctx, node: cst.BaseExpression, scope: Scope, depth: int = 0) -> List[LayerOutput]:
    """For a functional output tensor: what the layer that made it outputs, and the layer before
    when that one only applies an activation."""
    if depth > _MAX_DEPTH:
        return []
    if isinstance(node, (cst.List, cst.Tuple)) and len(node.elements) == 1:
        element = node.elements[0]
        return [] if isinstance(element, cst.StarredElement) else _tensor_chain(ctx, element.value, scope, depth + 1)
    if isinstance(node, cst.Name):
        found = ctx.resolver.single_value(node, scope)
        return _tensor_chain(ctx, found[0], found[1], depth + 1) if found is not None else []
    if not (isinstance(node, cst.Call) and isinstance(node.func, (cst.Call, cst.Name, cst.Attribute))):
        return []
    found = _layer(ctx, node.func, scope)
    if found is None:
        return []
    keras_class, output = found
    if keras_class not in ACTIVATION_LAYERS:
        return [output]
    inputs = positional_args(node)
    before = _tensor_chain(ctx, inputs[0].value, scope, depth + 1)[:1] if len(inputs) == 1 else []
    return [output, *before]


def _layer(ctx, node: cst.BaseExpression, scope: Scope) -> Optional[Tuple[str, LayerOutput]]:
    value = ctx.resolver.resolve(node, scope)
    if not (isinstance(value, Instance) and value.kind == symbols.LAYER and value.keras_class):
        return None
    call = value.origin if isinstance(value.origin, cst.Call) else None
    site = ctx.facts.site_of.get(call) if call is not None else None
    if call is None or site is None:
        return None
    return value.keras_class, layer_output(value.keras_class, call, site.scope, ctx.resolver)
