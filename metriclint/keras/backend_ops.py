"""Keras 2 `keras.backend` math and its Keras 3 `keras.ops` twin.

Standalone Keras 3's `keras.backend` keeps only the names in `KERAS3_BACKEND_NAMES`; every
other `K.<op>` raises AttributeError when the line runs (at import for module-level code, when
a metric function is traced for one inside it). `tf.keras.backend` and
`tf_keras.backend` still have the full Keras 2 set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Tuple

# dir(keras.backend) in keras 3.15.1 (public names)
KERAS3_BACKEND_NAMES: FrozenSet[str] = frozenset(
    """backend clear_session epsilon floatx get_uid image_data_format is_float_dtype is_int_dtype
    is_keras_tensor result_type set_epsilon set_floatx set_image_data_format standardize_dtype""".split()
)


@dataclass(frozen=True)
class OpsTwin:
    """`keras.ops.<name>` computes what `K.<op>` did when called with the same arguments.

    `defaults`: keywords to add when the call leaves them out, because the two defaults differ
    (`K.argmax` reduces the last axis, `keras.ops.argmax` flattens). `keywords`: keyword
    arguments both accept under the same name; a call using any other keyword is left alone.
    `max_args`: calls with more positional arguments are left alone (different parameters).
    """

    name: str
    defaults: Tuple[Tuple[str, str], ...] = ()
    keywords: FrozenSet[str] = field(default_factory=frozenset)
    max_args: int = 3


def _twin(name: str, *keywords: str, defaults: Tuple[Tuple[str, str], ...] = (), max_args: int = 3) -> OpsTwin:
    return OpsTwin(name, defaults, frozenset(keywords), max_args)


_REDUCE = ("axis", "keepdims")

OPS_TWINS: Dict[str, OpsTwin] = {
    "sum": _twin("sum", *_REDUCE),
    "mean": _twin("mean", *_REDUCE),
    "max": _twin("max", *_REDUCE),
    "min": _twin("min", *_REDUCE),
    "prod": _twin("prod", *_REDUCE),
    "std": _twin("std", *_REDUCE),
    "var": _twin("var", *_REDUCE),
    "any": _twin("any", *_REDUCE),
    "all": _twin("all", *_REDUCE),
    "argmax": _twin("argmax", "axis", defaults=(("axis", "-1"),), max_args=2),
    "argmin": _twin("argmin", "axis", defaults=(("axis", "-1"),), max_args=2),
    "cumsum": _twin("cumsum", "axis", defaults=(("axis", "0"),), max_args=2),
    "cumprod": _twin("cumprod", "axis", defaults=(("axis", "0"),), max_args=2),
    "round": _twin("round", max_args=1),
    "clip": _twin("clip", max_args=3),
    "sqrt": _twin("sqrt", max_args=1),
    "square": _twin("square", max_args=1),
    "abs": _twin("abs", max_args=1),
    "exp": _twin("exp", max_args=1),
    "log": _twin("log", max_args=1),
    "sign": _twin("sign", max_args=1),
    "pow": _twin("power", max_args=2),
    "maximum": _twin("maximum", max_args=2),
    "minimum": _twin("minimum", max_args=2),
    "equal": _twin("equal", max_args=2),
    "not_equal": _twin("not_equal", max_args=2),
    "greater": _twin("greater", max_args=2),
    "greater_equal": _twin("greater_equal", max_args=2),
    "less": _twin("less", max_args=2),
    "less_equal": _twin("less_equal", max_args=2),
    "cast": _twin("cast", "dtype", max_args=2),
    "reshape": _twin("reshape", max_args=2),
    "transpose": _twin("transpose", max_args=1),
    "stack": _twin("stack", "axis", max_args=2),
    "concatenate": _twin("concatenate", "axis", defaults=(("axis", "-1"),), max_args=2),
    "expand_dims": _twin("expand_dims", "axis", defaults=(("axis", "-1"),), max_args=2),
    "zeros_like": _twin("zeros_like", "dtype", max_args=2),
    "ones_like": _twin("ones_like", "dtype", max_args=2),
    "sigmoid": _twin("sigmoid", max_args=1),
    "tanh": _twin("tanh", max_args=1),
    "softplus": _twin("softplus", max_args=1),
    "relu": _twin("relu", max_args=1),
    "softmax": _twin("softmax", "axis", max_args=2),
    "switch": _twin("where", max_args=3),
    "binary_crossentropy": _twin("binary_crossentropy", "from_logits", max_args=3),
    "categorical_crossentropy": _twin("categorical_crossentropy", "from_logits", "axis", max_args=4),
    "sparse_categorical_crossentropy": _twin("sparse_categorical_crossentropy", "from_logits", "axis", max_args=4),
}

# What to suggest for common backend helpers that have no same-signature `keras.ops` twin.
NO_TWIN_ADVICE: Dict[str, str] = {
    "int_shape": "use `tuple(x.shape)`",
    "shape": "use `keras.ops.shape(x)` (it returns a tuple, not a tensor)",
    "get_value": "use `keras.ops.convert_to_numpy(v)` or `v.numpy()`",
    "set_value": "use `v.assign(value)`",
    "batch_get_value": "use `[keras.ops.convert_to_numpy(v) for v in variables]`",
    "variable": "use `keras.Variable(...)`",
    "constant": "use `keras.ops.convert_to_tensor(...)`",
    "dot": "use `keras.ops.matmul` (or `keras.ops.dot` for 2-D inputs)",
    "flatten": "use `keras.ops.reshape(x, (-1,))`",
    "get_session": "Keras 3 has no sessions: remove it (TensorFlow 2 runs eagerly)",
    "set_session": "Keras 3 has no sessions: remove it (TensorFlow 2 runs eagerly)",
    "learning_phase": "pass `training=` to the layer call instead",
    "set_learning_phase": "pass `training=` to the layer call instead",
    "in_train_phase": "pass `training=` to the layer call and branch on it",
    "in_test_phase": "pass `training=` to the layer call and branch on it",
    # no `keras.ops` function does these: the Keras 3 way is another API
    "function": "Keras 3 has no backend functions: call the model or a sub-model (`keras.Model(inputs, outputs)`)",
    "gradients": "Keras 3 has no symbolic gradients: use `tf.GradientTape` (TensorFlow backend)",
    "placeholder": "Keras 3 has no placeholders: use `keras.Input(shape=...)`",
    "random_normal": "use `keras.random.normal(shape, mean=..., stddev=...)`",
    "random_uniform": "use `keras.random.uniform(shape, minval=..., maxval=...)`",
    "truncated_normal": "use `keras.random.truncated_normal(shape, ...)`",
    "random_bernoulli": "use `keras.random.uniform(shape) < p`",
    "zeros": "use `keras.ops.zeros(shape, dtype=...)` (no `name=`)",
    "ones": "use `keras.ops.ones(shape, dtype=...)` (no `name=`)",
    "eval": "use `keras.ops.convert_to_numpy(x)`",
    "update": "use `variable.assign(value)`",
    "update_add": "use `variable.assign_add(value)`",
    "update_sub": "use `variable.assign_sub(value)`",
    "count_params": "use `model.count_params()` or `layer.count_params()`",
    "l2_normalize": "use `keras.ops.normalize(x, axis=..., order=2)`",
    "bias_add": "add the bias: `x + bias`",
    "ctc_batch_cost": "use `keras.ops.ctc_loss`",
    "image_dim_ordering": "use `keras.backend.image_data_format()`",
}
# For any other name: Keras 3 may or may not have a counterpart.
NO_TWIN_DEFAULT = "find its counterpart in `keras.ops` (not every backend helper has one)"

# What a tensor tells at trace time as plain Python values (fine for NumPy in graph mode):
# `x.shape`, `x.get_shape()` (TensorFlow's older name), `x.dtype`, `x.ndim`, and
# `keras.backend.int_shape(x)` (a tuple of ints and None).
STATIC_TENSOR_ATTRIBUTES: FrozenSet[str] = frozenset({"shape", "get_shape", "dtype", "ndim"})
STATIC_SHAPE_FUNCTIONS: FrozenSet[str] = frozenset({"int_shape"})
