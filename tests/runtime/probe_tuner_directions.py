"""Dump the direction keras-tuner infers for every Keras metric and loss name, for
tests/runtime/test_tuner_directions.py. Prints one `METRICLINT_RESULT {json}` line."""

import json
import re
import sys

import keras
import keras_tuner
from keras.src import losses, metrics
from keras_tuner.src.engine.metrics_tracking import infer_metric_direction

names = set(metrics.ALL_OBJECTS_DICT) | set(losses.ALL_OBJECTS_DICT) | set(sys.argv[1:])
for module in (keras.metrics, keras.losses):
    for name in dir(module):
        if not name.startswith("_"):
            names |= {name, re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()}
directions, raises = {}, []
for name in sorted(names):
    try:
        directions[name] = infer_metric_direction(name)
    except TypeError:
        raises.append(name)
print("METRICLINT_RESULT " + json.dumps({"version": keras_tuner.__version__, "directions": directions, "raises": raises}))
