from config import CALLBACKS
from model import build

history = build().fit(x, y, validation_split=0.2, callbacks=CALLBACKS)
print(history.history["val_auc"], history.history["accuracy"])
