"""The built-in metric catalogue: default log names, thresholds, logits support, direction.

Default names and constructor parameters were read off keras 3.15.1 and tf_keras 2.21.0;
`tests/runtime/test_metric_catalogue.py` compares this table with the installed packages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

MAX, MIN = "max", "min"


@dataclass(frozen=True)
class MetricInfo:
    name3: Optional[str]  # default `name` on Keras 3 (None: the class does not exist there)
    name2: Optional[str]  # default `name` on tf_keras
    direction: Optional[str] = None  # "max" | "min" | None (no better/worse, e.g. Mean)
    threshold_param: Optional[str] = None  # "threshold" | "thresholds" when it thresholds predictions
    from_logits: bool = False  # takes `from_logits=`
    decomposable: bool = True  # the mean over batches equals the value over the data

    def default_name(self, flavour: str) -> Optional[str]:
        return self.name3 if flavour == "3" else self.name2


def _m(name: str, direction: Optional[str], name2: Optional[str] = "", **kw) -> MetricInfo:
    return MetricInfo(name, name if name2 == "" else name2, direction, **kw)


METRICS: Dict[str, MetricInfo] = {
    "AUC": _m("auc", MAX, threshold_param="thresholds", from_logits=True, decomposable=False),
    "Accuracy": _m("accuracy", MAX),
    "BinaryAccuracy": _m("binary_accuracy", MAX, threshold_param="threshold"),
    "BinaryCrossentropy": _m("binary_crossentropy", MIN, from_logits=True),
    "BinaryIoU": _m("binary_io_u", MAX, threshold_param="threshold", decomposable=False),
    "CategoricalAccuracy": _m("categorical_accuracy", MAX),
    "CategoricalCrossentropy": _m("categorical_crossentropy", MIN, from_logits=True),
    "CategoricalHinge": _m("categorical_hinge", MIN),
    "ConcordanceCorrelation": _m("concordance_correlation", MAX, None, decomposable=False),
    "CosineSimilarity": _m("cosine_similarity", MAX),
    "F1Score": _m("f1_score", MAX, threshold_param="threshold", decomposable=False),
    "FBetaScore": _m("fbeta_score", MAX, threshold_param="threshold", decomposable=False),
    "FalseNegatives": _m("false_negatives", MIN, threshold_param="thresholds"),
    "FalsePositives": _m("false_positives", MIN, threshold_param="thresholds"),
    "Hinge": _m("hinge", MIN),
    "IoU": _m("io_u", MAX, decomposable=False),
    "KLDivergence": _m("kl_divergence", MIN, "kullback_leibler_divergence"),
    "LogCoshError": _m("logcosh", MIN),
    "Mean": _m("mean", None),
    "MeanAbsoluteError": _m("mean_absolute_error", MIN),
    "MeanAbsolutePercentageError": _m("mean_absolute_percentage_error", MIN),
    "MeanIoU": _m("mean_io_u", MAX, decomposable=False),
    "MeanMetricWrapper": _m("mean_metric_wrapper", None),
    "MeanRelativeError": MetricInfo(None, "mean_relative_error", MIN),  # tf_keras only; needs `normalizer`
    "MeanSquaredError": _m("mean_squared_error", MIN),
    "MeanSquaredLogarithmicError": _m("mean_squared_logarithmic_error", MIN),
    "MeanTensor": MetricInfo(None, "mean_tensor", None),
    "OneHotIoU": _m("one_hot_io_u", MAX, decomposable=False),
    "OneHotMeanIoU": _m("one_hot_mean_io_u", MAX, decomposable=False),
    "PearsonCorrelation": _m("pearson_correlation", MAX, None, decomposable=False),
    "Poisson": _m("poisson", MIN),
    "Precision": _m("precision", MAX, threshold_param="thresholds", decomposable=False),
    "PrecisionAtRecall": _m("precision_at_recall", MAX, decomposable=False),
    "R2Score": _m("r2_score", MAX, decomposable=False),
    "Recall": _m("recall", MAX, threshold_param="thresholds", decomposable=False),
    "RecallAtPrecision": _m("recall_at_precision", MAX, decomposable=False),
    "RootMeanSquaredError": _m("root_mean_squared_error", MIN, decomposable=False),
    "SensitivityAtSpecificity": _m("sensitivity_at_specificity", MAX, decomposable=False),
    "SparseCategoricalAccuracy": _m("sparse_categorical_accuracy", MAX),
    "SparseCategoricalCrossentropy": _m("sparse_categorical_crossentropy", MIN, from_logits=True),
    "SparseTopKCategoricalAccuracy": _m("sparse_top_k_categorical_accuracy", MAX),
    "SpecificityAtSensitivity": _m("specificity_at_sensitivity", MAX, decomposable=False),
    "SquaredHinge": _m("squared_hinge", MIN),
    "Sum": _m("sum", None),
    "TopKCategoricalAccuracy": _m("top_k_categorical_accuracy", MAX),
    "TrueNegatives": _m("true_negatives", MAX, threshold_param="thresholds"),
    "TruePositives": _m("true_positives", MAX, threshold_param="thresholds"),
}

# Loss families, by canonical loss class or string, for the rules that need to know what the
# model outputs: probabilities of one binary label, of classes (one-hot or sparse), or values.
BINARY, CATEGORICAL, SPARSE, REGRESSION = "binary", "categorical", "sparse", "regression"

LOSS_FAMILY: Dict[str, str] = {
    # classes (canonical `losses.X`)
    "losses.BinaryCrossentropy": BINARY,
    "losses.BinaryFocalCrossentropy": BINARY,
    "losses.CategoricalCrossentropy": CATEGORICAL,
    "losses.CategoricalFocalCrossentropy": CATEGORICAL,
    "losses.SparseCategoricalCrossentropy": SPARSE,
    "losses.MeanSquaredError": REGRESSION,
    "losses.MeanAbsoluteError": REGRESSION,
    "losses.MeanAbsolutePercentageError": REGRESSION,
    "losses.MeanSquaredLogarithmicError": REGRESSION,
    "losses.Huber": REGRESSION,
    "losses.LogCosh": REGRESSION,
    # functions
    "losses.binary_crossentropy": BINARY,
    "losses.categorical_crossentropy": CATEGORICAL,
    "losses.sparse_categorical_crossentropy": SPARSE,
    "losses.mean_squared_error": REGRESSION,
    "losses.mean_absolute_error": REGRESSION,
    "losses.mse": REGRESSION,  # tf_keras only (Keras 3 has `losses.mean_squared_error` only)
    "losses.mae": REGRESSION,  # tf_keras only
    "losses.huber": REGRESSION,
    # strings
    "binary_crossentropy": BINARY,
    "bce": BINARY,
    "binary_focal_crossentropy": BINARY,
    "categorical_crossentropy": CATEGORICAL,
    "categorical_focal_crossentropy": CATEGORICAL,
    "sparse_categorical_crossentropy": SPARSE,
    "mse": REGRESSION,
    "mae": REGRESSION,
    "mape": REGRESSION,
    "msle": REGRESSION,
    "mean_squared_error": REGRESSION,
    "mean_absolute_error": REGRESSION,
    "mean_absolute_percentage_error": REGRESSION,
    "mean_squared_logarithmic_error": REGRESSION,
    "huber": REGRESSION,
    "huber_loss": REGRESSION,  # tf_keras only: Keras 3 `losses.get("huber_loss")` raises ValueError
    "log_cosh": REGRESSION,
    "logcosh": REGRESSION,  # tf_keras only, as "huber_loss"
}

# LOSS_FAMILY keys that only one flavour knows (every other key works on both): a `losses.X`
# attribute missing from the other flavour's `keras.losses`, or a string its `losses.get`
# rejects. Checked by tests/runtime/test_metric_catalogue.py.
LOSS_ONLY_ON: Dict[str, str] = {
    "losses.mse": "2",
    "losses.mae": "2",
    "huber_loss": "2",
    "logcosh": "2",
}

# Which accuracy class matches each probabilistic loss family (KM201's fix).
ACCURACY_FOR_FAMILY: Dict[str, str] = {
    BINARY: "BinaryAccuracy",
    CATEGORICAL: "CategoricalAccuracy",
    SPARSE: "SparseCategoricalAccuracy",
}

# Metric strings that become a thresholded binary accuracy on a binary-loss model.
ACCURACY_STRINGS = frozenset({"accuracy", "acc"})

# How code spells those strings: Keras reads "accuracy" and "acc" in any letter case
# (`metric_strings.CASE_INSENSITIVE`); these are the spellings rules look for (the prefilter's words).
ACCURACY_SPELLINGS = frozenset({"accuracy", "acc", "Accuracy", "Acc", "ACCURACY", "ACC"})
