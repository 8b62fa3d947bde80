import tensorflow as tf

import settings

model = tf.keras.Sequential([tf.keras.Input((10,)), tf.keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=settings.METRICS)
saver = tf.keras.callbacks.ModelCheckpoint("best.h5", monitor=settings.BEST, save_best_only=True)
model.fit(x, y, validation_split=0.1, callbacks=[saver])
