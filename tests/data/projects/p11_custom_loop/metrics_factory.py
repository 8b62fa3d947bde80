import keras


def make_metrics():
    return [keras.metrics.BinaryAccuracy(), keras.metrics.AUC(), keras.metrics.Mean(name="loss")]
