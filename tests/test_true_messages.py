"""Messages true for the code at hand (issue 18, sections 4 and 6): what a fix removes, which
flavour a keyword fails on, where a number comes from, what replaces a name with no twin."""

from __future__ import annotations

import re

from metriclint.engine import lint_text
from metriclint.rules import all_rules
from metriclint.settings import Settings


def _lint(code: str, flavour: str = "3", select: str = "KM"):
    return lint_text(code, "x.py", Settings(select=(select,), target_keras=flavour)).diagnostics


_MODEL = "import keras\nmodel = keras.Sequential()\nmodel.compile(loss='mse')\n"


def test_fit_generator_fix_names_what_it_removes():
    found = _lint(_MODEL + "model.fit_generator(gen, 100, 5, 1, None, None, None, 1, None, 10, workers=4)\n")
    (diagnostic,) = [d for d in found if d.code == "KM101"]
    assert "remove `max_queue_size=`, `workers=`" in diagnostic.fix.message
    plain = _lint(_MODEL + "model.fit_generator(gen, 100, 5)\n")
    assert [d.fix.message for d in plain if d.code == "KM101"] == ["Replace `fit_generator` with `fit`"]


def test_keyword_the_other_flavour_takes_says_which_flavour():
    on_k3 = _lint(_MODEL + "model.fit(x, y, workers=4)\n")
    assert "does not take `workers=` on Keras 3 (TypeError" in on_k3[0].message
    neither = _lint(_MODEL + "model.fit(x, y, nb_epoch=4)\n")
    assert "does not take `nb_epoch=` (TypeError" in neither[0].message
    on_k2 = _lint(_MODEL.replace("import keras", "import tf_keras as keras")
                  + "model.compile(loss='mse', auto_scale_loss=True)\n", flavour="2")
    assert "does not take `auto_scale_loss=` on tf_keras (Keras 2)" in on_k2[0].message


_METRIC = ("import keras\nclass M(keras.metrics.Metric):\n    def __init__(self):\n        super().__init__()\n"
           "        self.v = self.add_weight(name='v', shape=(), initializer='zeros')\n")


def test_reset_states_that_only_zeroes_is_dead_code_not_lost_state():
    zeroes = _lint(_METRIC + "    def reset_states(self):\n        self.v.assign(0.0)\n"
                   "        keras.backend.batch_set_value([(w, 0) for w in self.variables])\n", select="KM104")
    assert len(zeroes) == 1 and "nothing is lost today" in zeroes[0].message and "lost at" not in zeroes[0].message
    running_min = _lint(_METRIC + "    def reset_states(self):\n        self.v.assign(1e9)\n", select="KM104")
    assert len(running_min) == 1 and "are lost at the first reset" in running_min[0].message


def test_a_rejected_keyword_fails_before_a_positional_name():
    found = _lint(_METRIC.replace("name='v', shape=()", "'v', shape=()") .replace(
        "initializer='zeros')", "initializer='zeros', aggregation='sum')"), select="KM106")
    assert len(found) == 1 and "(TypeError). It is raised when the call runs" in found[0].message
    assert "Cannot convert" not in found[0].message


def test_backend_names_without_a_twin_get_their_keras3_replacement():
    code = ("from keras import backend as K\nf = K.function([i], [o])\ng = K.gradients(loss, w)\n"
            "p = K.placeholder((None, 4))\nK.clear_session()\nr = K.random_normal((2,))\nK.manual_variable_initialization(True)\n")
    messages = {m.group(1): d.message for d in _lint(code, select="KM107")
                for m in [re.search(r"`keras\.backend\.(\w+)`", d.message)]}
    assert "keras.Model(inputs, outputs)" in messages["function"]
    assert "tf.GradientTape" in messages["gradients"]
    assert "keras.Input" in messages["placeholder"]
    assert "not every backend helper has one" in messages["manual_variable_initialization"]
    assert "clear_session" not in messages  # Keras 3's backend keeps it
    assert "keras.random.normal" in messages["random_normal"]
    assert all("when this line runs" in m and "keras.ops.function" not in m for m in messages.values())


def test_jaccard_function_is_pointed_at_the_iou_metrics():
    code = ("from tensorflow import keras\nfrom tensorflow.keras import backend as K\n"
            "def jaccard(y_true, y_pred):\n    i = K.sum(y_true * y_pred)\n    return i / (K.sum(y_true) + K.sum(y_pred) - i)\n"
            "model = keras.Sequential()\nmodel.compile(loss='binary_crossentropy', metrics=[jaccard])\n")
    (found,) = _lint(code, select="KM203")
    assert "BinaryIoU" in found.message and "F1Score" not in found.message and found.fix is None


def test_numbers_in_messages_say_where_they_come_from():
    """A number measured on metriclint's own programs must not read as the user's."""
    number = re.compile(r"\b\d\.\d{2,}\b|\b\d+x\b")
    offenders = []
    for code, rule in all_rules().items():
        for example in rule.invalid:
            for d in _lint(example.code, example.flavour, select=code):
                if number.search(d.message) and not re.search(r"test program|benchmark model", d.message):
                    offenders.append(f"{code}: {d.message}")
    assert not offenders, "\n".join(offenders)


def test_tf1_session_code_is_not_judged_as_keras3():
    """`K.set_session`/`tf.compat.v1.Session` code is TensorFlow 1 code: Keras-3-only rules (and
    their fixes, such as `reset_state`, which TF 1 lacks) stay silent there."""
    code = ("import tensorflow as tf\nfrom tensorflow import keras\nsess = tf.compat.v1.Session()\n"
            "m = keras.metrics.Mean()\nm.reset_states()\n")
    assert _lint(code) == []
    assert [d.code for d in _lint(code.replace("sess = tf.compat.v1.Session()\n", ""))] == ["KM103"]
