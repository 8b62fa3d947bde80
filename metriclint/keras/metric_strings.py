"""Metric strings `compile(metrics=[...])` accepts, per flavour, and the log key each produces.

Measured on keras 3.15.1 ("3") and tf_keras 2.21.0 ("2") by compiling and fitting a model with
each string (`tests/runtime/test_metric_strings.py` re-checks the table). None: the flavour rejects
the string (K3 `ValueError: Could not interpret metric identifier`, K2 `TypeError: 'str' object is
not callable` inside `fit`). Keras 3 logs a string under the string itself; Keras 2 turns class-name
strings into an instance with its default name (`"AUC"` -> `auc`).
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional


class MetricString(NamedTuple):
    key3: Optional[str]  # log key on Keras 3; None: rejected there
    key2: Optional[str]  # log key on tf_keras; None: rejected there
    metric_class: str  # the catalogue class it computes (for direction, thresholds)

    def key(self, flavour: str) -> Optional[str]:
        return self.key3 if flavour == "3" else self.key2


METRIC_STRINGS: Dict[str, MetricString] = {
    "AUC": MetricString("AUC", "auc", "AUC"),
    "BCE": MetricString("BCE", None, "BinaryCrossentropy"),
    "Accuracy": MetricString("Accuracy", "Accuracy", "Accuracy"),
    "BinaryAccuracy": MetricString("BinaryAccuracy", "binary_accuracy", "BinaryAccuracy"),
    "BinaryCrossentropy": MetricString("BinaryCrossentropy", "binary_crossentropy", "BinaryCrossentropy"),
    "BinaryIoU": MetricString("BinaryIoU", "binary_io_u", "BinaryIoU"),
    "CategoricalAccuracy": MetricString("CategoricalAccuracy", "categorical_accuracy", "CategoricalAccuracy"),
    "CategoricalCrossentropy": MetricString("CategoricalCrossentropy", "categorical_crossentropy", "CategoricalCrossentropy"),
    "CategoricalHinge": MetricString("CategoricalHinge", "categorical_hinge", "CategoricalHinge"),
    "ConcordanceCorrelation": MetricString("ConcordanceCorrelation", None, "ConcordanceCorrelation"),
    "CosineSimilarity": MetricString("CosineSimilarity", "cosine_similarity", "CosineSimilarity"),
    "F1Score": MetricString("F1Score", "f1_score", "F1Score"),
    "FBetaScore": MetricString("FBetaScore", "fbeta_score", "FBetaScore"),
    "FalseNegatives": MetricString("FalseNegatives", "false_negatives", "FalseNegatives"),
    "FalsePositives": MetricString("FalsePositives", "false_positives", "FalsePositives"),
    "Hinge": MetricString("Hinge", "hinge", "Hinge"),
    "KLDivergence": MetricString("KLDivergence", "kullback_leibler_divergence", "KLDivergence"),
    "LogCoshError": MetricString("LogCoshError", "logcosh", "LogCoshError"),
    "MAE": MetricString("MAE", "MAE", "MeanAbsoluteError"),
    "MAPE": MetricString("MAPE", "MAPE", "MeanAbsolutePercentageError"),
    "MSE": MetricString("MSE", "MSE", "MeanSquaredError"),
    "MSLE": MetricString("MSLE", "MSLE", "MeanSquaredLogarithmicError"),
    "MeanAbsoluteError": MetricString("MeanAbsoluteError", "mean_absolute_error", "MeanAbsoluteError"),
    "MeanAbsolutePercentageError": MetricString("MeanAbsolutePercentageError", "mean_absolute_percentage_error", "MeanAbsolutePercentageError"),
    "MeanSquaredError": MetricString("MeanSquaredError", "mean_squared_error", "MeanSquaredError"),
    "MeanSquaredLogarithmicError": MetricString("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", "MeanSquaredLogarithmicError"),
    "PearsonCorrelation": MetricString("PearsonCorrelation", None, "PearsonCorrelation"),
    "Poisson": MetricString("Poisson", "poisson", "Poisson"),
    "Precision": MetricString("Precision", "precision", "Precision"),
    "R2Score": MetricString("R2Score", "r2_score", "R2Score"),
    "Recall": MetricString("Recall", "recall", "Recall"),
    "RootMeanSquaredError": MetricString("RootMeanSquaredError", "root_mean_squared_error", "RootMeanSquaredError"),
    "SparseCategoricalAccuracy": MetricString("SparseCategoricalAccuracy", "sparse_categorical_accuracy", "SparseCategoricalAccuracy"),
    "SparseCategoricalCrossentropy": MetricString("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"),
    "SparseTopKCategoricalAccuracy": MetricString("SparseTopKCategoricalAccuracy", "sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy"),
    "SquaredHinge": MetricString("SquaredHinge", "squared_hinge", "SquaredHinge"),
    "TopKCategoricalAccuracy": MetricString("TopKCategoricalAccuracy", "top_k_categorical_accuracy", "TopKCategoricalAccuracy"),
    "TrueNegatives": MetricString("TrueNegatives", "true_negatives", "TrueNegatives"),
    "TruePositives": MetricString("TruePositives", "true_positives", "TruePositives"),
    "acc": MetricString("acc", "acc", "Accuracy"),
    "accuracy": MetricString("accuracy", "accuracy", "Accuracy"),
    "auc": MetricString("auc", None, "AUC"),
    "bce": MetricString("bce", None, "BinaryCrossentropy"),
    "binary_accuracy": MetricString("binary_accuracy", "binary_accuracy", "BinaryAccuracy"),
    "binary_crossentropy": MetricString("binary_crossentropy", "binary_crossentropy", "BinaryCrossentropy"),
    "binary_io_u": MetricString("binary_io_u", None, "BinaryIoU"),
    "categorical_accuracy": MetricString("categorical_accuracy", "categorical_accuracy", "CategoricalAccuracy"),
    "categorical_crossentropy": MetricString("categorical_crossentropy", "categorical_crossentropy", "CategoricalCrossentropy"),
    "categorical_hinge": MetricString("categorical_hinge", "categorical_hinge", "CategoricalHinge"),
    "ce": MetricString(None, "ce", "CategoricalCrossentropy"),
    "concordance_correlation": MetricString("concordance_correlation", None, "ConcordanceCorrelation"),
    "cosine_proximity": MetricString(None, "cosine_proximity", "CosineSimilarity"),
    "cosine_similarity": MetricString("cosine_similarity", "cosine_similarity", "CosineSimilarity"),
    "crossentropy": MetricString(None, "crossentropy", "CategoricalCrossentropy"),
    "f1_score": MetricString("f1_score", None, "F1Score"),
    "f_beta_score": MetricString("f_beta_score", None, "FBetaScore"),
    "false_negatives": MetricString("false_negatives", None, "FalseNegatives"),
    "false_positives": MetricString("false_positives", None, "FalsePositives"),
    "hinge": MetricString("hinge", "hinge", "Hinge"),
    "kl_divergence": MetricString("kl_divergence", None, "KLDivergence"),
    "kullback_leibler_divergence": MetricString(None, "kullback_leibler_divergence", "KLDivergence"),
    "log_cosh": MetricString(None, "log_cosh", "LogCoshError"),
    "log_cosh_error": MetricString("log_cosh_error", None, "LogCoshError"),
    "logcosh": MetricString(None, "logcosh", "LogCoshError"),
    "mae": MetricString("mae", "mae", "MeanAbsoluteError"),
    "mape": MetricString("mape", "mape", "MeanAbsolutePercentageError"),
    "mean_absolute_error": MetricString("mean_absolute_error", "mean_absolute_error", "MeanAbsoluteError"),
    "mean_absolute_percentage_error": MetricString("mean_absolute_percentage_error", "mean_absolute_percentage_error", "MeanAbsolutePercentageError"),
    "mean_squared_error": MetricString("mean_squared_error", "mean_squared_error", "MeanSquaredError"),
    "mean_squared_logarithmic_error": MetricString("mean_squared_logarithmic_error", "mean_squared_logarithmic_error", "MeanSquaredLogarithmicError"),
    "mse": MetricString("mse", "mse", "MeanSquaredError"),
    "msle": MetricString("msle", "msle", "MeanSquaredLogarithmicError"),
    "pearson_correlation": MetricString("pearson_correlation", None, "PearsonCorrelation"),
    "poisson": MetricString("poisson", "poisson", "Poisson"),
    "precision": MetricString("precision", None, "Precision"),
    "r2_score": MetricString("r2_score", None, "R2Score"),
    "recall": MetricString("recall", None, "Recall"),
    "root_mean_squared_error": MetricString("root_mean_squared_error", None, "RootMeanSquaredError"),
    "sparse_categorical_accuracy": MetricString("sparse_categorical_accuracy", "sparse_categorical_accuracy", "SparseCategoricalAccuracy"),
    "sparse_categorical_crossentropy": MetricString("sparse_categorical_crossentropy", "sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"),
    "sparse_top_k_categorical_accuracy": MetricString("sparse_top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy"),
    "squared_hinge": MetricString("squared_hinge", "squared_hinge", "SquaredHinge"),
    "top_k_categorical_accuracy": MetricString("top_k_categorical_accuracy", "top_k_categorical_accuracy", "TopKCategoricalAccuracy"),
    "true_negatives": MetricString("true_negatives", None, "TrueNegatives"),
    "true_positives": MetricString("true_positives", None, "TruePositives"),
}

# Known metric classes that need constructor arguments: as strings they fail on both flavours
# (K3 `TypeError: ... missing 1 required positional argument`, K2 `TypeError: Error when
# deserializing class ...` or, for names tf_keras does not look up, `'str' object is not callable`),
# which is not a typo.
NEEDS_ARGUMENTS = frozenset(
    """IoU MeanIoU OneHotIoU OneHotMeanIoU PrecisionAtRecall RecallAtPrecision SensitivityAtSpecificity
    SpecificityAtSensitivity io_u mean_io_u one_hot_io_u one_hot_mean_io_u precision_at_recall
    recall_at_precision sensitivity_at_specificity specificity_at_sensitivity
    MeanMetricWrapper mean_metric_wrapper MeanRelativeError""".split()
)

# Known metric classes that do not compare labels with predictions: `compile` builds them, then
# the first `fit` step fails on both flavours (`Mean`/`Sum`: `TypeError: ... update_state() got
# multiple values for argument 'sample_weight'`; `Metric` is abstract). Not typos either.
NOT_LABEL_METRICS = frozenset("Mean Sum mean sum MeanTensor Metric metric".split())

# Keras itself turns these names, in any letter case, into the accuracy (both flavours) or the
# crossentropy (tf_keras only) that fits the labels and the output, logged under the string as written.
CASE_INSENSITIVE = {"accuracy": ("3", "2"), "acc": ("3", "2"), "crossentropy": ("2",), "ce": ("2",)}


def lookup(string: str) -> Optional[MetricString]:
    """The table's entry for a metric string, with Keras's case-insensitive names; None: unknown."""
    entry = METRIC_STRINGS.get(string)
    if entry is not None:
        return entry
    flavours = CASE_INSENSITIVE.get(string.lower())
    if flavours is None:
        return None
    metric_class = "Accuracy" if "3" in flavours else "CategoricalCrossentropy"
    return MetricString(string if "3" in flavours else None, string, metric_class)


def accepted(flavour: str) -> Dict[str, str]:
    """Every string of the table the flavour accepts -> the log key it produces."""
    out = {}
    for string, entry in METRIC_STRINGS.items():
        key = entry.key(flavour)
        if key is not None:
            out[string] = key
    return out
