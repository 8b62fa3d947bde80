"""What one Keras layer constructor call says about the tensor the layer outputs: its activation
and the size of its last axis (`Dense(3, activation="softmax")` -> softmax, 3)."""

from __future__ import annotations

from typing import NamedTuple, Optional

import libcst as cst

from ..keras.layers import ACTIVATION_LAYERS, OUTPUT_LAYERS
from .collect import find_keyword, positional_args
from .resolve import Resolver
from .values import Dotted, Scope

# Activation functions other libraries spell (`tf.nn.softmax`, `keras.ops.sigmoid`), by dotted prefix.
_ACTIVATION_MODULES = ("tensorflow.nn.", "tensorflow.math.", "tensorflow.", "keras.ops.", "keras.activations.",
                       "tensorflow.keras.activations.", "tf_keras.activations.")


class LayerOutput(NamedTuple):
    activation: Optional[str]  # "softmax", "sigmoid", "linear", ...; None: not known
    units: Optional[int]  # the size of the last axis; None: not known (or set by the input)


UNKNOWN_OUTPUT = LayerOutput(None, None)


def layer_output(keras_class: str, call: cst.Call, scope: Scope, resolver: Resolver) -> LayerOutput:
    """The activation and last-axis size a layer made by `call` outputs, as far as the call says."""
    starred = any(arg.star for arg in call.args)  # `Dense(3, **config)`: anything may be in there
    if keras_class in ACTIVATION_LAYERS:
        fixed = ACTIVATION_LAYERS[keras_class]
        if fixed is not None:
            return LayerOutput(fixed, None)
        node = _argument(call, "activation", 0)
        return LayerOutput(activation_name(node, scope, resolver) if node is not None else None, None)
    table = OUTPUT_LAYERS.get(keras_class)
    if table is None:
        return UNKNOWN_OUTPUT
    node = _argument(call, "activation", table.activation_position)
    if node is not None:
        activation = activation_name(node, scope, resolver)
    else:
        activation = None if starred else "linear"  # the default, `activation=None`
    units = None
    if table.units is not None:
        given = _argument(call, table.units, table.units_position)
        units = _int_value(given, scope, resolver) if given is not None else None
    return LayerOutput(activation, units)


def activation_name(node: cst.BaseExpression, scope: Scope, resolver: Resolver) -> Optional[str]:
    """`"softmax"`, `keras.activations.softmax`, `tf.nn.softmax`, `None` -> a name; None: not known."""
    if isinstance(node, cst.Name) and node.value == "None":
        return "linear"
    text = resolver.string_value(node, scope)
    if text is not None:
        return text
    name = resolver.keras_name(node, scope)
    if name is not None and name.startswith("activations."):
        return name.split(".")[-1]
    value = resolver.resolve(node, scope)
    if isinstance(value, Dotted):
        for prefix in _ACTIVATION_MODULES:
            if value.path.startswith(prefix) and "." not in value.path[len(prefix):]:
                return value.path[len(prefix):]
    return None


def _argument(call: cst.Call, name: str, position: Optional[int]) -> Optional[cst.BaseExpression]:
    keyword = find_keyword(call, name)
    if keyword is not None:
        return keyword.value
    args = positional_args(call)
    if position is not None and len(args) > position and not any(arg.star == "*" for arg in call.args):
        return args[position].value
    return None


def _int_value(node: cst.BaseExpression, scope: Scope, resolver: Resolver) -> Optional[int]:
    literal = resolver.literal(node, scope, (cst.Integer,))
    return int(literal.value) if isinstance(literal, cst.Integer) else None
