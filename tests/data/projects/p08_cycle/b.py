from a import build

METRICS = ["accuracy"]
model = build()
history = model.fit(x, y, validation_split=0.2)
print(history.history["val_acc"])
