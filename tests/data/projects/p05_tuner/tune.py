import keras_tuner as kt
from tensorflow import keras

from hypermodel import build_model

tuner = kt.Hyperband(build_model, objective=kt.Objective("val_auc", direction="max"), max_epochs=10)
tuner.search(x, y, validation_split=0.2,
             callbacks=[keras.callbacks.EarlyStopping(monitor="val_acc", patience=2)])
