from tensorflow import keras


def build_model(hp):
    model = keras.Sequential([
        keras.Input((20,)),
        keras.layers.Dense(hp.Int("units", 16, 64, step=16), activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
                  loss="binary_crossentropy", metrics=[keras.metrics.AUC(name="auc")])
    return model
