import tensorflow as tf

from models import make_model

model = make_model(12)
model.fit(train_dataset, nb_epoch=10, callbacks=[tf.keras.callbacks.EarlyStopping(monitor="val_acc")])
