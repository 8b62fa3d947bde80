"""Output layers: where a layer's constructor takes its activation and the size of its last axis.

Read off `inspect.signature(cls.__init__)` of keras 3.15.1 and tf_keras 2.21.0 (the same on both
for every class here); `tests/runtime/test_keras_tables.py` compares this table with the installed
packages. Every class here defaults to `activation=None` (linear). Recurrent layers are left out:
their `activation` is the cell's (default `tanh`), not a plain output activation.
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional


class OutputLayer(NamedTuple):
    activation_position: int  # 0-based position of `activation` among the positional parameters
    units: Optional[str]  # the parameter that sets the last axis (`units`, `filters`); None: none does
    units_position: Optional[int] = 0


def _conv(position: int = 7) -> OutputLayer:
    return OutputLayer(position, "filters", 0)


OUTPUT_LAYERS: Dict[str, OutputLayer] = {
    "layers.Dense": OutputLayer(1, "units", 0),
    "layers.EinsumDense": OutputLayer(2, None, None),
    "layers.Conv1D": _conv(),
    "layers.Conv2D": _conv(),
    "layers.Conv3D": _conv(),
    "layers.Convolution1D": _conv(),
    "layers.Convolution2D": _conv(),
    "layers.Convolution3D": _conv(),
    "layers.Conv1DTranspose": _conv(),
    "layers.Conv2DTranspose": _conv(),
    "layers.Conv3DTranspose": _conv(),
    "layers.Convolution1DTranspose": _conv(),
    "layers.Convolution2DTranspose": _conv(),
    "layers.Convolution3DTranspose": _conv(),
    "layers.SeparableConv1D": _conv(),
    "layers.SeparableConv2D": _conv(),
    "layers.SeparableConvolution1D": _conv(),
    "layers.SeparableConvolution2D": _conv(),
    "layers.DepthwiseConv1D": OutputLayer(6, None, None),
    "layers.DepthwiseConv2D": OutputLayer(6, None, None),
}

# Layers that only apply an activation: the last axis is their input's.
ACTIVATION_LAYERS: Dict[str, Optional[str]] = {
    "layers.Activation": None,  # the activation is its first argument
    "layers.Softmax": "softmax",
}

# Activations that squash outputs into probabilities.
PROBABILITY_ACTIVATIONS = frozenset({"sigmoid", "softmax"})

# Activations of regression outputs: unbounded (or only bounded below), never probabilities.
REGRESSION_ACTIVATIONS = frozenset({"linear", "relu", "elu", "selu", "softplus", "exponential", "leaky_relu"})
