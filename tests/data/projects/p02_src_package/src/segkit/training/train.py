import keras

from ..models import build_unet

model = build_unet()
checkpoint = keras.callbacks.ModelCheckpoint("unet-{epoch:02d}-{val_dice_coef:.3f}.keras", monitor="val_dice",
                                             mode="max", save_best_only=True)
stop = keras.callbacks.EarlyStopping(monitor="val_dice_score", mode="max", patience=5)
history = model.fit(images, masks, validation_split=0.1, callbacks=[checkpoint, stop])
print(max(history.history["val_dice"]))
