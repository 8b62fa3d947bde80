METRICS = ["acc"]
