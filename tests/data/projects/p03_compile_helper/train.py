from tensorflow import keras

from utils import compile_model, make_callbacks

model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(10, activation="softmax")])
compile_model(model)
model.fit(x, y, validation_data=(xv, yv), callbacks=make_callbacks())
