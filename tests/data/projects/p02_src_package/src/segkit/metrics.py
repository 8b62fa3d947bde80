import keras


class DiceScore(keras.metrics.Metric):
    def __init__(self, name="dice", **kwargs):
        super().__init__(name=name, **kwargs)
        self.intersection = self.add_weight(name="intersection", shape=(), initializer="zeros")
        self.total = self.add_weight(name="total", shape=(), initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = keras.ops.cast(y_pred > 0.5, "float32")
        self.intersection.assign_add(keras.ops.sum(y_true * y_pred))
        self.total.assign_add(keras.ops.sum(y_true) + keras.ops.sum(y_pred))

    def result(self):
        return keras.ops.divide_no_nan(2.0 * self.intersection, self.total)
