from tensorflow import keras


def compile_model(model, learning_rate=1e-3):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy",
                  metrics=["acc", keras.metrics.TopKCategoricalAccuracy(k=3, name="top3")])


def make_callbacks(patience=5):
    return [
        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience),
        keras.callbacks.ModelCheckpoint("best.keras", monitor="val_top_3", mode="max", save_best_only=True),
    ]
