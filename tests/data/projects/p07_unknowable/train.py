from tensorflow import keras

from broken import build_model
from missing_module import make_callbacks
from stars import *

model = build_model()
history = model.fit(x, y, validation_split=0.2, callbacks=make_callbacks())
print(history.history["val_acc"])
other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
other.compile(optimizer="adam", loss="binary_crossentropy", metrics=METRICS)
print(other.fit(x, y).history["accuracy"])
