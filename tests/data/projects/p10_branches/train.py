from models import build, build_fixed

history = build(kind).fit(x, y, validation_split=0.2)
print(history.history["val_acc"])
fixed = build_fixed().fit(x, y, validation_split=0.2)
print(fixed.history["val_accuracy"])
