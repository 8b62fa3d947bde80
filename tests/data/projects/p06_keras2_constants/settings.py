METRICS = ["accuracy", "auc"]
BEST = "val_accuracy"
