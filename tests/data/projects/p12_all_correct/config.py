from tensorflow import keras

METRICS = ["accuracy", keras.metrics.AUC(name="auc")]
CALLBACKS = [keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=3),
             keras.callbacks.ModelCheckpoint("m-{epoch:02d}-{val_accuracy:.3f}.keras", monitor="val_loss",
                                             save_best_only=True)]
