"""Settings shared by the training scripts."""
from tensorflow import keras

METRICS = ["accuracy", keras.metrics.AUC(name="auc")]
MONITOR = "val_acc"
EPOCHS = 20
