import keras


def build_classifier(classes=3):
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(classes, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
    return model
