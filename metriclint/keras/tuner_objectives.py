"""The objective names whose direction Keras Tuner infers, and which way.

A plain-string tuner objective (`kt.RandomSearch(build, objective="val_auc")`) gets its direction
from `keras_tuner/src/engine/metrics_tracking.py` `infer_metric_direction` (keras-tuner 1.4.8 on
keras 3.15.1): after dropping `val_` and then `weighted_`, `loss`/`crossentropy`/`ce` are "min",
`acc` is "max", and any other name must deserialize as a Keras metric or loss: "max" for the
accuracy, AUC, precision/recall and true-positive/negative families, "min" for the rest (F1Score
and R2Score included). Any other name (`val_f1`, `val_auc_1`, `val_fbeta_score`, a custom
metric's key) raises ValueError when the tuner is constructed; the metrics whose constructor
needs arguments (IoU, PrecisionAtRecall, ...) make the lookup raise TypeError instead.
`tests/runtime/test_tuner_directions.py` re-derives both tables from the installed keras-tuner.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Optional

_MAX = """
    AUC Accuracy BinaryAccuracy CategoricalAccuracy Precision Recall
    SparseCategoricalAccuracy SparseTopKCategoricalAccuracy TopKCategoricalAccuracy TrueNegatives TruePositives acc
    accuracy auc binary_accuracy categorical_accuracy precision recall
    sparse_categorical_accuracy sparse_top_k_categorical_accuracy top_k_categorical_accuracy true_negatives true_positives
""".split()
_MIN = """
    BCE BinaryCrossentropy BinaryFocalCrossentropy BinaryIoU CTC CategoricalCrossentropy
    CategoricalFocalCrossentropy CategoricalGeneralizedCrossEntropy CategoricalHinge Circle ConcordanceCorrelation CosineSimilarity
    Dice F1Score FBetaScore FalseNegatives FalsePositives Hinge
    Huber KLDivergence LogCosh LogCoshError Loss MAE
    MAPE MSE MSLE Mean MeanAbsoluteError MeanAbsolutePercentageError
    MeanSquaredError MeanSquaredLogarithmicError Metric PearsonCorrelation Poisson R2Score
    RootMeanSquaredError SparseCategoricalCrossentropy SquaredHinge Sum Tversky bce
    binary_crossentropy binary_focal_crossentropy binary_io_u categorical_crossentropy categorical_focal_crossentropy categorical_generalized_cross_entropy
    categorical_hinge ce circle concordance_correlation cosine_similarity crossentropy
    ctc deserialize dice f1_score f_beta_score false_negatives
    false_positives get hinge huber kl_divergence log_cosh
    log_cosh_error loss mae mape mean mean_absolute_error
    mean_absolute_percentage_error mean_squared_error mean_squared_logarithmic_error metric mse msle
    pearson_correlation poisson r2_score root_mean_squared_error serialize sparse_categorical_crossentropy
    squared_hinge sum tversky
""".split()
INFERRED_DIRECTIONS: Dict[str, str] = {**{name: "min" for name in _MIN}, **{name: "max" for name in _MAX}}
# Names whose lookup raises TypeError (the metric cannot be built without arguments).
INFERENCE_RAISES: FrozenSet[str] = frozenset("""
    IoU MeanIoU MeanMetricWrapper OneHotIoU OneHotMeanIoU
    PrecisionAtRecall RecallAtPrecision SensitivityAtSpecificity SpecificityAtSensitivity io_u
    mean_io_u mean_metric_wrapper one_hot_io_u one_hot_mean_io_u precision_at_recall
    recall_at_precision sensitivity_at_specificity specificity_at_sensitivity
""".split())


def inferred_direction(objective: str) -> Optional[str]:
    """The direction Keras Tuner infers for a plain-string objective; None when it cannot
    (construction then raises)."""
    name = objective[len("val_"):] if objective.startswith("val_") else objective
    name = name[len("weighted_"):] if name.startswith("weighted_") else name
    return INFERRED_DIRECTIONS.get(name)
