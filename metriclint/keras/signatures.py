"""Keyword arguments each Keras model method accepts, per flavour, and what old keywords became.

Read off `inspect.signature` of keras 3.15.1 ("3") and tf_keras 2.21.0 ("2"), plus the
keys each method takes through `**kwargs` (read in its source). The runtime test
`tests/runtime/test_keras_tables.py` compares these tables with the installed packages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional, Tuple

from ..diagnostics import Safety


def _words(text: str) -> FrozenSet[str]:
    return frozenset(text.split())


_FIT_COMMON = _words(
    """x y batch_size epochs verbose callbacks validation_split validation_data shuffle
    class_weight sample_weight initial_epoch steps_per_epoch validation_steps
    validation_batch_size validation_freq"""
)
_DATA_WORKERS = _words("max_queue_size workers use_multiprocessing")

MODEL_METHOD_KEYWORDS: Dict[str, Dict[str, FrozenSet[str]]] = {
    "3": {
        "fit": _FIT_COMMON,
        "evaluate": _words("x y batch_size verbose sample_weight steps callbacks return_dict"),
        "predict": _words("x batch_size verbose steps callbacks"),
        "compile": _words(
            """optimizer loss loss_weights metrics weighted_metrics run_eagerly
            steps_per_execution jit_compile auto_scale_loss"""
        ),
        "train_on_batch": _words("x y sample_weight class_weight return_dict"),
        "test_on_batch": _words("x y sample_weight return_dict"),
        "predict_on_batch": _words("x"),
    },
    "2": {
        "fit": _FIT_COMMON | _DATA_WORKERS,
        "evaluate": _words("x y batch_size verbose sample_weight steps callbacks return_dict")
        | _DATA_WORKERS,
        "predict": _words("x batch_size verbose steps callbacks") | _DATA_WORKERS,
        "compile": _words(
            """optimizer loss metrics loss_weights weighted_metrics run_eagerly
            steps_per_execution jit_compile pss_evaluation_shards"""
        )
        # taken through **kwargs by Model._validate_compile (and compile itself, with a warning)
        | _words("cloning experimental_run_tf_function distribute target_tensors sample_weight_mode")
        | _words("experimental_steps_per_execution"),
        "train_on_batch": _words("x y sample_weight class_weight reset_metrics return_dict"),
        "test_on_batch": _words("x y sample_weight reset_metrics return_dict"),
        "predict_on_batch": _words("x"),
        "fit_generator": _words(
            """generator steps_per_epoch epochs verbose callbacks validation_data
            validation_steps validation_freq class_weight max_queue_size workers
            use_multiprocessing shuffle initial_epoch"""
        ),
        "evaluate_generator": _words(
            "generator steps callbacks max_queue_size workers use_multiprocessing verbose"
        ),
        "predict_generator": _words(
            "generator steps callbacks max_queue_size workers use_multiprocessing verbose"
        ),
    },
}

# Methods whose unknown keywords Keras reports as ValueError instead of TypeError (K3 evaluate
# takes **kwargs and rejects leftovers itself).
VALUE_ERROR_METHODS = {("3", "evaluate")}

# Accepted by name but rejected for any value but None (tf_keras 2.21 runs eagerly, TF 2).
KERAS2_NONE_ONLY: Dict[Tuple[str, str], str] = {
    ("compile", "target_tensors"): "ValueError: `target_tensors` argument is not supported when executing eagerly",
    ("compile", "distribute"): "ValueError: `distribute` argument in compile is not available in TF 2.0",
}

# Keras 2's TF1 graph-mode engine, by canonical module name (`tf_keras.src.engine.training_v1`,
# `tensorflow.python.keras.engine.training_v1`). With eager execution off every Keras 2 model is a
# `training_v1.Model`, whose `compile` takes `target_tensors=` and `distribute=`: a file that imports
# these modules is that engine or drives it, so KERAS2_NONE_ONLY does not hold there.
KERAS2_GRAPH_MODE_MODULES: FrozenSet[str] = _words(
    """training_v1 training_utils_v1 training_arrays_v1 training_generator_v1 training_distributed_v1
    training_eager_v1 base_layer_v1 distribute.distributed_training_utils_v1"""
)

# Keras 3 removed these; Keras 2 keeps them (deprecated). The replacement takes the same data.
REMOVED_GENERATOR_METHODS: Dict[str, str] = {
    "fit_generator": "fit",
    "evaluate_generator": "evaluate",
    "predict_generator": "predict",
}


@dataclass(frozen=True)
class KeywordMigration:
    """What an old or wrong keyword should become. `new=None` means remove it."""

    new: Optional[str]
    safety: Optional[Safety]  # None: report only, no fix
    why: str


KEYWORD_MIGRATIONS: Dict[str, KeywordMigration] = {
    "nb_epoch": KeywordMigration("epochs", Safety.SAFE, "Keras 1 name of `epochs`"),
    # Keras 2's own converter warned: "Similarly `nb_val_samples`->`validation_steps` ... have changed".
    "nb_val_samples": KeywordMigration(
        "validation_steps",
        Safety.UNSAFE,
        "Keras 1 counted samples; `validation_steps` counts batches, so divide the value by the batch size",
    ),
    "samples_per_epoch": KeywordMigration(
        "steps_per_epoch",
        Safety.UNSAFE,
        "Keras 1 counted samples; `steps_per_epoch` counts batches, so divide the value by the batch size",
    ),
    "experimental_steps_per_execution": KeywordMigration(
        "steps_per_execution", Safety.SAFE, "the name `steps_per_execution` had before TensorFlow 2.4"
    ),
    "nb_worker": KeywordMigration("workers", None, "Keras 1 name of `workers`"),
    "pickle_safe": KeywordMigration("use_multiprocessing", None, "Keras 1 name of `use_multiprocessing`"),
    "max_q_size": KeywordMigration("max_queue_size", None, "Keras 1 name of `max_queue_size`"),
    "show_accuracy": KeywordMigration(
        None, None, "Keras 0 option; pass `metrics=[\"accuracy\"]` to `compile` instead"
    ),
    "validation_metrics": KeywordMigration(
        None,
        Safety.SAFE,  # downgraded to unsafe by the rule when compile lacks a named metric
        "Keras computes `val_*` for every metric given to `compile`; there is no separate validation list",
    ),
}

# On Keras 3 the data-loading options moved to `keras.utils.PyDataset`; dropping them from
# `fit`/`evaluate`/`predict` keeps what the call computes.
KERAS3_DROPPED_DATA_OPTIONS = _DATA_WORKERS

# Positional order of the Keras 2 generator methods: when `fit_generator(gen, 100, 10)` becomes
# `fit(...)`, every argument after the data must become a keyword (fit's order differs).
GENERATOR_POSITIONAL_ORDER: Dict[str, tuple] = {
    "fit_generator": (
        "generator steps_per_epoch epochs verbose callbacks validation_data validation_steps "
        "validation_freq class_weight max_queue_size workers use_multiprocessing shuffle initial_epoch"
    ).split(),
    "evaluate_generator": "generator steps callbacks max_queue_size workers use_multiprocessing verbose".split(),
    "predict_generator": "generator steps callbacks max_queue_size workers use_multiprocessing verbose".split(),
}


def _order(text: str) -> Tuple[str, ...]:
    return tuple(text.split())


# Parameters each model method binds positionally, in order (read off `inspect.signature` like the
# keyword tables above). The flavours differ: Keras 3's `compile` takes `loss_weights` third, so
# `compile("adam", "mse", ["mae"])` gives `["mae"]` to `loss_weights` there and to `metrics` on tf_keras.
MODEL_METHOD_PARAMETERS: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "3": {
        "compile": _order("optimizer loss loss_weights metrics weighted_metrics run_eagerly steps_per_execution "
                          "jit_compile auto_scale_loss"),
        "fit": _order("x y batch_size epochs verbose callbacks validation_split validation_data shuffle class_weight "
                      "sample_weight initial_epoch steps_per_epoch validation_steps validation_batch_size validation_freq"),
        "evaluate": _order("x y batch_size verbose sample_weight steps callbacks return_dict"),
        "predict": _order("x batch_size verbose steps callbacks"),
        "train_on_batch": _order("x y sample_weight class_weight return_dict"),
        "test_on_batch": _order("x y sample_weight return_dict"),
        "predict_on_batch": _order("x"),
    },
    "2": {
        "compile": _order("optimizer loss metrics loss_weights weighted_metrics run_eagerly steps_per_execution "
                          "jit_compile pss_evaluation_shards"),
        "fit": _order("x y batch_size epochs verbose callbacks validation_split validation_data shuffle class_weight "
                      "sample_weight initial_epoch steps_per_epoch validation_steps validation_batch_size validation_freq "
                      "max_queue_size workers use_multiprocessing"),
        "evaluate": _order("x y batch_size verbose sample_weight steps callbacks max_queue_size workers "
                           "use_multiprocessing return_dict"),
        "predict": _order("x batch_size verbose steps callbacks max_queue_size workers use_multiprocessing"),
        "train_on_batch": _order("x y sample_weight class_weight reset_metrics return_dict"),
        "test_on_batch": _order("x y sample_weight reset_metrics return_dict"),
        "predict_on_batch": _order("x"),
        "fit_generator": tuple(GENERATOR_POSITIONAL_ORDER["fit_generator"]),
        "evaluate_generator": tuple(GENERATOR_POSITIONAL_ORDER["evaluate_generator"]),
        "predict_generator": tuple(GENERATOR_POSITIONAL_ORDER["predict_generator"]),
    },
}


def parameter_position(flavour: str, method: str, parameter: str) -> Optional[int]:
    """The 0-based position `parameter` binds to in `method`'s signature on `flavour`, if any."""
    order = MODEL_METHOD_PARAMETERS.get(flavour, {}).get(method)
    if order is None:  # a method only the other flavour has (`fit_generator`): its own signature
        order = next((table[method] for table in MODEL_METHOD_PARAMETERS.values() if method in table), None)
    if order is None or parameter not in order:
        return None
    return order.index(parameter)
