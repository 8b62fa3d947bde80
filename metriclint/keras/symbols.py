"""Which dotted names are Keras, what their canonical name is, and what kind of object they make.

A canonical name drops the package spelling: `tensorflow.keras.metrics.AUC`,
`keras.metrics.AUC`, `tf_keras.metrics.AUC` and `keras.src.metrics.AUC` are all
`metrics.AUC`. Rules only ever see canonical names.
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Iterable, Optional, Tuple

from .metric_strings import METRIC_STRINGS
from .metrics import LOSS_FAMILY

# Package prefixes that are Keras, longest first, with the flavour the spelling itself implies
# (None: the file's configured/inferred target decides).
KERAS_ROOTS: Tuple[Tuple[str, Optional[str]], ...] = (
    ("tensorflow.compat.v1.keras", None),
    ("tensorflow.compat.v2.keras", None),
    ("tensorflow.python.keras", "2"),
    ("tensorflow.keras", None),
    ("tf_keras", "2"),
    ("keras", None),
)

# Internal package paths that users sometimes import from; the public name is what matters.
_INTERNAL_SEGMENTS = ("src", "api", "_v2", "_v1", "engine", "saving_api")

METRIC_CLASSES = frozenset(
    """AUC Accuracy BinaryAccuracy BinaryCrossentropy BinaryIoU CategoricalAccuracy
    CategoricalCrossentropy CategoricalHinge ConcordanceCorrelation CosineSimilarity F1Score
    FBetaScore FalseNegatives FalsePositives Hinge IoU KLDivergence LogCoshError Mean
    MeanAbsoluteError MeanAbsolutePercentageError MeanIoU MeanMetricWrapper MeanRelativeError
    MeanSquaredError MeanSquaredLogarithmicError MeanTensor Metric OneHotIoU OneHotMeanIoU
    PearsonCorrelation Poisson Precision PrecisionAtRecall R2Score Recall RecallAtPrecision
    RootMeanSquaredError SensitivityAtSpecificity SparseCategoricalAccuracy
    SparseCategoricalCrossentropy SparseTopKCategoricalAccuracy SpecificityAtSensitivity
    SquaredHinge Sum TopKCategoricalAccuracy TrueNegatives TruePositives""".split()
)

CALLBACK_CLASSES = frozenset(
    """BackupAndRestore BaseLogger CSVLogger Callback CallbackList EarlyStopping History
    LambdaCallback LearningRateScheduler ModelCheckpoint OrbaxCheckpoint ProgbarLogger
    ReduceLROnPlateau RemoteMonitor SidecarEvaluatorModelExport SwapEMAWeights TensorBoard
    TerminateOnNaN""".split()
)

MODEL_CLASSES = frozenset({"Model", "Sequential"})

# TensorFlow ops that run a Python callable eagerly, once per call, even inside a graph
# (`tf.py_function`, `tf.numpy_function`, `tf.compat.v1.py_func`); the callable is their first
# argument or `func=`. Python state updated there counts real calls, not traces.
EAGER_PYTHON_OPS = frozenset({"py_function", "numpy_function", "py_func", "eager_py_func"})

# Functions that return a model.
MODEL_FACTORIES = frozenset(
    {"models.load_model", "models.clone_model", "models.model_from_json", "saving.load_model"}
)

# Other libraries' model constructors that return Keras models: (dotted prefix, class-name pattern).
# `keras_hub.models.BertClassifier(...)` and `...BertClassifier.from_preset("bert_base_en")` both
# make one; their tokenizers and preprocessors (layers) do not match.
_TASKS = re.compile(r"(Backbone|Classifier|CausalLM|MaskedLM|Seq2SeqLM|ObjectDetector|ImageSegmenter|TextToImage"
                    r"|ImageToImage|Inpaint|DepthEstimator)$")
EXTERNAL_MODEL_FACTORIES: Tuple[Tuple[str, "re.Pattern[str]"], ...] = (
    ("keras_hub.models", _TASKS),
    ("keras_nlp.models", _TASKS),
    ("keras_cv.models", re.compile(r"(Backbone|Classifier|Detector|DeepLabV3Plus|SegFormer|BASNet)$")),
    ("segmentation_models", re.compile(r"^(Unet|FPN|Linknet|PSPNet)$")),
    ("efficientnet.keras", re.compile(r"^EfficientNet(B[0-7]|L2)$")),
    ("efficientnet.tfkeras", re.compile(r"^EfficientNet(B[0-7]|L2)$")),
    ("keras_unet_collection.models", re.compile(r"_2d$")),
)


def external_model_factory(dotted: str) -> bool:
    """Whether calling this dotted name of another library makes a Keras model."""
    if dotted.endswith(".from_preset"):
        dotted = dotted[: -len(".from_preset")]
    for prefix, pattern in EXTERNAL_MODEL_FACTORIES:
        if dotted.startswith(prefix + "."):
            return pattern.search(dotted.rsplit(".", 1)[-1]) is not None
    return False


# Strings `compile` takes that only Keras takes: what makes a `.compile(...)` call Keras's.
KERAS_COMPILE_STRINGS: Dict[str, FrozenSet[str]] = {
    "optimizer": frozenset("adam sgd rmsprop adagrad adadelta adamax nadam adamw ftrl lion adafactor lamb".split()),
    "loss": frozenset(k for k in LOSS_FAMILY if "." not in k) | frozenset(
        "hinge squared_hinge categorical_hinge kl_divergence kld poisson cosine_similarity".split()),
    "metrics": frozenset(METRIC_STRINGS),
}

# Kinds of Keras objects a rule may ask about.
MODEL, LAYER, METRIC, CALLBACK, LOSS = "model", "layer", "metric", "callback", "loss"
TUNER = "tuner"  # a Keras Tuner tuner: `search(...)` trains the models its build function returns

# Keras Tuner's tuners (`keras_tuner`, and the old package name `kerastuner`), by their leaf name.
TUNER_CLASSES = frozenset({"Hyperband", "RandomSearch", "BayesianOptimization", "GridSearch"})
_TUNER_PACKAGES = ("keras_tuner", "kerastuner")


def tuner_class(dotted: str) -> Optional[str]:
    """`keras_tuner.Hyperband`, `keras_tuner.tuners.RandomSearch`, ... -> the tuner's leaf name."""
    parts = dotted.split(".")
    if parts[0] in _TUNER_PACKAGES and parts[-1] in TUNER_CLASSES:
        return parts[-1]
    return None


def tuner_objective_class(dotted: str) -> bool:
    """`keras_tuner.Objective` (also `keras_tuner.engine.objective.Objective`, `kerastuner.Objective`)."""
    parts = dotted.split(".")
    return parts[0] in _TUNER_PACKAGES and parts[-1] == "Objective"


def split_keras(dotted: str) -> Optional[Tuple[str, Optional[str]]]:
    """`tensorflow.keras.metrics.AUC` -> (`metrics.AUC`, None); non-Keras names -> None.

    The root alone (`tensorflow.keras`) canonicalises to "".
    """
    for root, flavour in KERAS_ROOTS:
        if dotted == root:
            return "", flavour
        if dotted.startswith(root + "."):
            rest = [p for p in dotted[len(root) + 1 :].split(".")]
            while rest and rest[0] in _INTERNAL_SEGMENTS:
                rest = rest[1:]
            if rest and rest[0] == "keras":  # keras.api._v2.keras.metrics
                rest = rest[1:]
            return _normalise(".".join(rest)), flavour
    return None


def implied_flavour(imported: "Iterable[str]") -> Optional[str]:
    """"2" when one of these imported dotted names is a Keras-2-only spelling (`tf_keras`,
    `tensorflow.python.keras`), else None. The prefilter and the facts both ask this."""
    for path in imported:
        split = split_keras(path)
        if split is not None and split[1] == "2":
            return "2"
    return None


# TensorFlow 1 graph-mode APIs: a file that uses them is TF1-era code (sessions, placeholders),
# which runs on Keras 2 (`tf.keras` of TF 1.x, or tf_keras) and never on Keras 3. Metrics there
# lack Keras 3's names (`reset_state` arrived in TF 2.5), so Keras-3-only rules stay silent.
TF1_GRAPH_APIS = frozenset({
    "tensorflow.Session", "tensorflow.InteractiveSession", "tensorflow.placeholder",
    "tensorflow.compat.v1.Session", "tensorflow.compat.v1.InteractiveSession", "tensorflow.compat.v1.placeholder",
    "tensorflow.compat.v1.disable_eager_execution", "tensorflow.compat.v1.disable_v2_behavior",
    "tensorflow.compat.v1.keras.backend.get_session", "tensorflow.compat.v1.keras.backend.set_session",
    "tensorflow.keras.backend.get_session", "tensorflow.keras.backend.set_session",
    "keras.backend.get_session", "keras.backend.set_session",
})


def file_flavour(imported: "Iterable[str]", reads: "Iterable[str]", sets_legacy_keras: bool,
                 configured: str) -> Tuple[str, Optional[str]]:
    """(flavour, why it is not the configured one) for one file, from what its code shows: a
    Keras-2-only import, `TF_USE_LEGACY_KERAS` set for `tf.keras`, or TF1 graph-mode code.
    `reads` are the dotted names the code reads (`tf.compat.v1.Session` -> `tensorflow.compat.v1.Session`)."""
    imported = list(imported)
    if implied_flavour(imported) == "2":
        return "2", "it imports tf_keras"
    if sets_legacy_keras and any(path.split(".")[0] == "tensorflow" for path in imported):
        return "2", "it sets TF_USE_LEGACY_KERAS, so `tf.keras` is tf_keras"
    if not TF1_GRAPH_APIS.isdisjoint(imported) or not TF1_GRAPH_APIS.isdisjoint(reads):
        return "2", "it is TensorFlow 1 graph-mode code (sessions, placeholders)"
    return configured, None


def _normalise(name: str) -> str:
    parts = name.split(".")
    # keras.src.metrics.confusion_metrics.AUC -> metrics.AUC: keep the top package and the leaf.
    if len(parts) > 2 and parts[0] in ("metrics", "callbacks", "layers", "models", "losses", "optimizers"):
        parts = [parts[0], parts[-1]]
    if len(parts) == 2 and parts[0] == "models" and parts[1] in MODEL_CLASSES:
        return parts[1]
    if len(parts) == 2 and parts[0] == "training" and parts[1] == "Model":
        return "Model"
    return ".".join(parts)


def kind_of_class(canonical: str) -> Optional[str]:
    """The kind of object that calling this canonical Keras class makes, if it is a class we know."""
    if canonical in MODEL_CLASSES:
        return MODEL
    package, _, leaf = canonical.rpartition(".")
    if package == "metrics" and leaf in METRIC_CLASSES:
        return METRIC
    if package == "callbacks" and leaf in CALLBACK_CLASSES:
        return CALLBACK
    if package == "layers" and leaf[:1].isupper():
        return LAYER
    if package == "losses" and leaf[:1].isupper() and leaf != "Loss":
        return LOSS
    if canonical in ("Metric",):
        return METRIC
    if canonical in ("Layer",):
        return LAYER
    return None


def kind_of_call_result(canonical: str) -> Optional[str]:
    """What calling a Keras function (not a class) returns, when we know."""
    if canonical in MODEL_FACTORIES:
        return MODEL
    if canonical.startswith("applications.") and canonical.split(".")[-1][:1].isupper():
        return MODEL  # keras.applications.ResNet50(...)
    if canonical == "metrics.get":
        return METRIC
    return None
