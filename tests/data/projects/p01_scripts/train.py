from tensorflow import keras

from config import EPOCHS, MONITOR
from metrics import f1_m
from models import build_model

model = build_model()
history = model.fit(
    x, y, epochs=EPOCHS, validation_split=0.2,
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_acc", patience=3),
               keras.callbacks.ReduceLROnPlateau(monitor=MONITOR)],
)
print(history.history["val_auc"][-1], history.history["acc"][-1])

baseline = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
baseline.compile(optimizer="adam", loss="binary_crossentropy", metrics=[f1_m])
