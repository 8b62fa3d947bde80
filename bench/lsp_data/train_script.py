"""Train a binary classifier on tabular data, with the metric code real training scripts have.

The latency benchmark of `metriclint server` (bench/lsp_latency.py) edits this file: 300 lines of
an ordinary Keras training script (data, a custom metric, a model factory, callbacks, a custom
training loop, evaluation and reporting) with a few of the bugs metriclint reports. It is read,
never run.
"""

import argparse
import json
import os
import time

import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import backend as K

SEED = 1234
FEATURES = 32
HIDDEN = (128, 64, 32)
BATCH_SIZE = 64
EPOCHS = 40
LEARNING_RATE = 1e-3
OUTPUT_DIR = "runs"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="data/train.npz")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    parser.add_argument("--output", default=OUTPUT_DIR)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--eager", action="store_true")
    return parser.parse_args()


def load_arrays(path):
    """Features and labels from an .npz file, or synthetic data when it does not exist."""
    if os.path.exists(path):
        with np.load(path) as data:
            return data["x"].astype("float32"), data["y"].astype("float32")
    rng = np.random.default_rng(SEED)
    weights = rng.normal(size=(FEATURES,))
    x = rng.normal(size=(4096, FEATURES)).astype("float32")
    noise = rng.normal(scale=0.5, size=4096)
    y = (x @ weights + noise > 0).astype("float32").reshape(-1, 1)
    return x, y


def split(x, y, validation_share=0.2):
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(x))
    cut = int(len(x) * (1 - validation_share))
    train, valid = order[:cut], order[cut:]
    return (x[train], y[train]), (x[valid], y[valid])


def standardise(train_x, *others):
    mean = train_x.mean(axis=0, keepdims=True)
    std = train_x.std(axis=0, keepdims=True) + 1e-6
    return [(a - mean) / std for a in (train_x,) + others]


def make_dataset(x, y, batch_size, shuffle):
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=SEED, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def recall_m(y_true, y_pred):
    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
    possible_positives = K.sum(K.round(K.clip(y_true, 0, 1)))
    return true_positives / (possible_positives + K.epsilon())


def precision_m(y_true, y_pred):
    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
    predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))
    return true_positives / (predicted_positives + K.epsilon())


def f1_m(y_true, y_pred):
    precision = precision_m(y_true, y_pred)
    recall = recall_m(y_true, y_pred)
    return 2 * ((precision * recall) / (precision + recall + K.epsilon()))


class BalancedAccuracy(keras.metrics.Metric):
    """Mean of the true positive rate and the true negative rate."""

    def __init__(self, threshold=0.5, name="balanced_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.threshold = threshold
        self.true_positives = self.add_weight(name="tp", shape=(), initializer="zeros")
        self.true_negatives = self.add_weight(name="tn", shape=(), initializer="zeros")
        self.positives = self.add_weight(name="p", shape=(), initializer="zeros")
        self.negatives = self.add_weight(name="n", shape=(), initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = tf.cast(tf.reshape(y_true, [-1]) > 0.5, "float32")
        y_pred = tf.cast(tf.reshape(y_pred, [-1]) > self.threshold, "float32")
        self.true_positives.assign_add(tf.reduce_sum(y_true * y_pred))
        self.true_negatives.assign_add(tf.reduce_sum((1 - y_true) * (1 - y_pred)))
        self.positives.assign_add(tf.reduce_sum(y_true))
        self.negatives.assign_add(tf.reduce_sum(1 - y_true))

    def result(self):
        tpr = tf.math.divide_no_nan(self.true_positives, self.positives)
        tnr = tf.math.divide_no_nan(self.true_negatives, self.negatives)
        return (tpr + tnr) / 2

    def reset_state(self):
        for variable in self.variables:
            variable.assign(0.0)

    def get_config(self):
        config = super().get_config()
        config.update({"threshold": self.threshold})
        return config


def build_model(dropout):
    inputs = keras.Input((FEATURES,), name="features")
    x = inputs
    for index, units in enumerate(HIDDEN):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{index}")(x)
        x = keras.layers.BatchNormalization(name=f"norm_{index}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout_{index}")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    return keras.Model(inputs, outputs, name="classifier")


def compile_model(model, learning_rate, eager):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc"), BalancedAccuracy(), f1_m],
        run_eagerly=eager,
    )
    return model


class Timer(keras.callbacks.Callback):
    """Wall time per epoch, written to the logs."""

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self.started


def make_callbacks(output, patience):
    os.makedirs(output, exist_ok=True)
    checkpoint = keras.callbacks.ModelCheckpoint(
        os.path.join(output, "best.keras"),
        monitor="val_auc",
        mode="max",
        save_best_only=True,
    )
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_acc",
        patience=patience,
        restore_best_weights=True,
    )
    reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, mode="min")
    csv = keras.callbacks.CSVLogger(os.path.join(output, "history.csv"))
    return [checkpoint, early_stopping, reduce_lr, csv, Timer()]


def train(model, train_data, valid_data, epochs, callbacks):
    history = model.fit(
        train_data,
        validation_data=valid_data,
        epochs=epochs,
        callbacks=callbacks,
        verbose=2,
    )
    return history


def fine_tune(model, train_x, train_y, epochs, batch_size):
    """A custom training loop at a lower learning rate, with its own metrics."""
    optimizer = keras.optimizers.Adam(1e-4)
    loss_fn = keras.losses.BinaryCrossentropy()
    loss_metric = keras.metrics.Mean(name="loss")
    accuracy_metric = keras.metrics.BinaryAccuracy(name="accuracy")
    dataset = make_dataset(train_x, train_y, batch_size, shuffle=True)
    for epoch in range(epochs):
        for batch_x, batch_y in dataset:
            with tf.GradientTape() as tape:
                predictions = model(batch_x, training=True)
                loss = loss_fn(batch_y, predictions)
            gradients = tape.gradient(loss, model.trainable_weights)
            optimizer.apply_gradients(zip(gradients, model.trainable_weights))
            loss_metric.update_state(loss)
            accuracy_metric.update_state(batch_y, predictions)
        print(
            f"fine-tune epoch {epoch + 1}: loss {float(loss_metric.result()):.4f}, "
            f"accuracy {float(accuracy_metric.result()):.4f}"
        )
        loss_metric.reset_states()
        accuracy_metric.reset_states()
    return model


def evaluate(model, valid_x, valid_y, batch_size):
    scores = model.evaluate(valid_x, valid_y, batch_size=batch_size, verbose=0)
    named = dict(zip(model.metrics_names, scores))
    probabilities = model.predict(valid_x, batch_size=batch_size, verbose=0).reshape(-1)
    predicted = probabilities > 0.5
    truth = valid_y.reshape(-1) > 0.5
    confusion = {
        "tp": int(np.sum(predicted & truth)),
        "fp": int(np.sum(predicted & ~truth)),
        "tn": int(np.sum(~predicted & ~truth)),
        "fn": int(np.sum(~predicted & truth)),
    }
    return named, confusion


def best_epoch(history, key="val_accuracy"):
    values = history.history.get(key, [])
    if not values:
        return None
    return int(np.argmax(values)) + 1


def summarise(history):
    lines = []
    for epoch, (loss, val_loss) in enumerate(zip(history.history["loss"], history.history["val_loss"]), start=1):
        accuracy = history.history["accuracy"][epoch - 1]
        val_accuracy = history.history["val_acc"][epoch - 1]
        lines.append(f"{epoch:3d}  {loss:.4f}  {val_loss:.4f}  {accuracy:.4f}  {val_accuracy:.4f}")
    return "\n".join(lines)


def save_report(output, args, history, scores, confusion):
    report = {
        "arguments": vars(args),
        "epochs_run": len(history.history["loss"]),
        "best_epoch": best_epoch(history),
        "scores": {name: float(value) for name, value in scores.items()},
        "confusion": confusion,
    }
    with open(os.path.join(output, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    return report


def print_table(report):
    print("final scores")
    for name, value in sorted(report["scores"].items()):
        print(f"  {name:<20} {value:.4f}")
    print("confusion matrix")
    confusion = report["confusion"]
    print(f"  tp {confusion['tp']:6d}  fp {confusion['fp']:6d}")
    print(f"  fn {confusion['fn']:6d}  tn {confusion['tn']:6d}")


def set_seeds(seed):
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def class_weights(train_y):
    positives = float(np.sum(train_y))
    negatives = float(len(train_y) - positives)
    total = positives + negatives
    return {0: total / (2 * max(negatives, 1.0)), 1: total / (2 * max(positives, 1.0))}


def main():
    args = parse_args()
    set_seeds(SEED)
    x, y = load_arrays(args.data)
    (train_x, train_y), (valid_x, valid_y) = split(x, y)
    train_x, valid_x = standardise(train_x, valid_x)
    train_data = make_dataset(train_x, train_y, args.batch_size, shuffle=True)
    valid_data = make_dataset(valid_x, valid_y, args.batch_size, shuffle=False)
    model = compile_model(build_model(args.dropout), args.learning_rate, args.eager)
    callbacks = make_callbacks(args.output, args.patience)
    history = train(model, train_data, valid_data, args.epochs, callbacks)
    print(summarise(history))
    model = fine_tune(model, train_x, train_y, epochs=3, batch_size=args.batch_size)
    scores, confusion = evaluate(model, valid_x, valid_y, args.batch_size)
    report = save_report(args.output, args, history, scores, confusion)
    print_table(report)
    print(f"class weights for a rerun: {class_weights(train_y)}")
    model.save(os.path.join(args.output, "final.keras"))


if __name__ == "__main__":
    main()
