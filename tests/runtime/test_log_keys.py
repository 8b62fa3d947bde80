"""The log keys metriclint predicts for a `fit` (`metriclint.facts.logkeys`) against what Keras logs.

KM207 (missing log key) and KM208 (mode against direction) stand on `keys_for_fit`: a key it
wrongly leaves out becomes a false report, a key it wrongly adds a missed bug. Each spec below is
a tiny program; metriclint predicts its keys statically (per flavour), and `probe_log_keys.py`
really compiles and fits every spec in one subprocess per flavour and dumps `history.history`'s
keys. Checked per spec and flavour:

- every real key is accepted (`KeySet.produces(key)` is True, or None when the set is incomplete);
- where the prediction is complete, it is exact: `exact` (+ the `val_` twins when `fit` gets
  validation data) equals the real keys, numbered duplicates (`auc_1`) folded onto their base;
- a program the flavour rejects (`"auc"` on tf_keras) has an incomplete prediction, so no rule
  builds on it.

The measured key formats (multi-output models, numbering, function metrics) are asserted too,
so the facts RULES.md quotes cannot drift from the installed Keras.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, List, Tuple

import libcst as cst
import pytest

from metriclint.facts.collect import collect_facts
from metriclint.facts.logkeys import KeySet, keys_for_fit
from metriclint.facts.resolve import Resolver
from metriclint.rules.base import RuleContext

pytestmark = pytest.mark.runtime

PROBE = Path(__file__).resolve().parent / "probe_log_keys.py"
FLAVOURS = ("3", "2")
MAJOR = {"3": "3.", "2": "2."}

_HEAD = """\
import numpy as np
import tensorflow as tf
from tensorflow import keras

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")
"""

_FUNCTIONS = """\
def hit_rate(y_true, y_pred):
    return tf.reduce_mean(tf.cast(y_pred > 0.5, "float32"))


"""


def _sequential(metrics: str, fit: str = "", defs: str = "") -> str:
    return (
        _HEAD
        + defs
        + 'model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])\n'
        + f'model.compile(optimizer="adam", loss="binary_crossentropy", metrics={metrics})\n'
        + f"history = model.fit(x, y, epochs=1, batch_size=32, verbose=0{fit})\n"
    )


_VAL = ", validation_data=(x, y)"
_SPLIT = ", validation_split=0.25"

# Two named outputs (functional): `<output>_<metric>`, `<output>_loss` next to `loss`; the output's
# name is its layer's, or for a dict output its dict key on Keras 3.
_TWO_OUTPUTS = (
    _HEAD
    + "inp = keras.Input((4,))\n"
    + 'out_a = keras.layers.Dense(1, activation="sigmoid", name="out_a")(inp)\n'
    + 'out_b = keras.layers.Dense(1, name="out_b")(inp)\n'
    + "model = keras.Model(inp, [out_a, out_b])\n"
    + 'model.compile(optimizer="adam", loss={"out_a": "binary_crossentropy", "out_b": "mse"},\n'
    + '              metrics={"out_a": ["accuracy", keras.metrics.AUC()], "out_b": ["mae"]})\n'
    + "history = model.fit(x, [y, x.sum(axis=1)], epochs=1, batch_size=32, verbose=0, validation_data=(x, [y, x.sum(axis=1)]))\n"
)
_TWO_OUTPUTS_FLAT = _TWO_OUTPUTS.replace(
    '{"out_a": ["accuracy", keras.metrics.AUC()], "out_b": ["mae"]}', '["accuracy"]'
)
_Y2 = "[y, x.sum(axis=1)]"


def _two_outputs(outputs: str, loss: str, metrics: str, y: str = _Y2, layers=('"cls_layer"', '"reg_layer"')) -> str:
    """A functional model with a sigmoid and a linear output, made by layers named `layers`."""
    named = [f", name={name}" if name else "" for name in layers]
    return (
        _HEAD
        + "inp = keras.Input((4,))\n"
        + f'a = keras.layers.Dense(1, activation="sigmoid"{named[0]})(inp)\n'
        + f"b = keras.layers.Dense(1{named[1]})(inp)\n"
        + f"model = keras.Model(inp, {outputs})\n"
        + f'model.compile(optimizer="adam", loss={loss}, metrics={metrics})\n'
        + f"history = model.fit(x, {y}, epochs=1, batch_size=32, verbose=0, validation_split=0.25)\n"
    )


_DICT_Y = '{"cls": y, "reg": x.sum(axis=1)}'
_LIST_LOSS = '["binary_crossentropy", "mse"]'

# name -> program. Every program's last statement is `history = model.fit(...)`.
SPECS: Dict[str, str] = {
    "str_accuracy": _sequential('["accuracy"]'),
    "str_acc": _sequential('["acc"]'),
    "str_mse": _sequential('["mse"]'),
    "str_mae_val": _sequential('["mae"]', _VAL),
    "str_AUC": _sequential('["AUC"]'),
    "str_auc": _sequential('["auc"]'),
    "str_binary_accuracy": _sequential('["binary_accuracy"]'),
    "str_precision": _sequential('["precision"]'),
    "str_MSE": _sequential('["MSE"]'),
    "class_AUC": _sequential("[keras.metrics.AUC()]"),
    "class_AUC_named_val": _sequential('[keras.metrics.AUC(name="prc", curve="PR")]', _VAL),
    "class_Precision_val": _sequential("[keras.metrics.Precision()]", _VAL),
    "class_BinaryAccuracy_var": _sequential(
        "[acc_metric]", defs="acc_metric = keras.metrics.BinaryAccuracy(threshold=0.4)\n"
    ),
    "class_two_AUC": _sequential("[keras.metrics.AUC(), keras.metrics.AUC()]"),
    "class_two_AUC_val": _sequential("[keras.metrics.AUC(), keras.metrics.AUC()]", _VAL),
    "function_local": _sequential("[hit_rate]", defs=_FUNCTIONS),
    "function_local_val": _sequential('["accuracy", hit_rate]', _SPLIT, defs=_FUNCTIONS),
    "function_keras_binary_accuracy": _sequential("[keras.metrics.binary_accuracy]"),
    "function_keras_mse_val": _sequential("[keras.metrics.mse]", _VAL),
    "mixed_val": _sequential(
        '["accuracy", "mse", keras.metrics.Precision(), keras.metrics.Recall(name="rec")]', _SPLIT
    ),
    "no_metrics_val": _sequential("None", _VAL).replace(", metrics=None", ""),
    "two_outputs_dict_val": _TWO_OUTPUTS,
    "two_outputs_flat_val": _TWO_OUTPUTS_FLAT,
    # dict outputs: Keras 3 names the keys after the dict keys, tf_keras after the layers
    "outputs_dict_keys": _two_outputs('{"cls": a, "reg": b}', '{"cls": "binary_crossentropy", "reg": "mse"}',
                                      '{"cls": ["acc", keras.metrics.AUC(name="prc")], "reg": "mae"}', _DICT_Y),
    "outputs_dict_single_loss": _two_outputs('{"cls": a, "reg": b}', '"mse"', '{"cls": "accuracy"}', _DICT_Y),
    "outputs_list_of_lists": _two_outputs("[a, b]", _LIST_LOSS, '[["accuracy"], ["mse", keras.metrics.AUC()]]'),
    "outputs_tuple_none": _two_outputs("(a, b)", _LIST_LOSS, '[None, ["mae"]]'),
    "outputs_by_layer_name": _two_outputs("[a, b]", '{"cls_layer": "binary_crossentropy", "reg_layer": "mse"}',
                                          '{"reg_layer": ["mae"]}'),
    "outputs_no_metrics": _two_outputs("[a, b]", '"mse"', "None").replace(", metrics=None", ""),
    # a flat list: tf_keras gives each output a copy of every element, Keras 3 one element each
    # (as many as outputs; else it rejects the list, as `two_outputs_flat_val`)
    "outputs_flat_strings": _two_outputs("[a, b]", _LIST_LOSS, '["mae", "acc"]'),
    # layers without `name=`: their automatic names depend on what was built before (incomplete)
    "outputs_unnamed": _two_outputs("[a, b]", _LIST_LOSS, '[["accuracy"], ["mae"]]', layers=(None, None)),
}

# Programs a flavour rejects (measured): the prediction must be incomplete there.
REJECTED = {
    "3": {"two_outputs_flat_val"},
    "2": {"str_auc", "str_precision"},
}

# Where metriclint's prediction is known to be wrong (measured; the fix belongs in
# metriclint/facts/logkeys.py). Strict xfail: once fixed, the XPASS says to drop the entry.
KNOWN_WRONG = {
    # `keras.metrics.mse` is the function `mean_squared_error` (its `__name__` is the key on both
    # flavours); logkeys takes the attribute's leaf, `mse`. Same for mae/mape/msle aliases.
}

# The key format of the two-output model, measured on both flavours (RULES.md KM207 "named
# outputs `out_a_accuracy`"): `<output>_<metric>` and `<output>_loss` next to the total `loss`.
# The AUC's numbered suffix (`out_a_auc_7`) is folded away before comparing.
TWO_OUTPUT_KEYS = {
    "3": ["loss", "out_a_accuracy", "out_a_auc", "out_a_loss", "out_b_loss", "out_b_mae"],
    "2": ["loss", "out_a_accuracy", "out_a_auc", "out_a_loss", "out_b_loss", "out_b_mae"],
}


# --- the static prediction ------------------------------------------------------------------------
def predict(text: str, flavour: str) -> KeySet:
    """`keys_for_fit` for the program's last `fit` call, with the engine's pieces (see engine.lint_text)."""
    module = cst.parse_module(text)
    facts = collect_facts(module)
    ctx = RuleContext(module=module, facts=facts, resolver=Resolver(facts),
                      flavour=facts.implied_flavour or flavour, path="spec.py")
    sites = facts.method_calls("fit")
    assert sites, "the spec has no fit call"
    return keys_for_fit(ctx, sites[-1])


def _fold(key: str, keys: KeySet) -> str:
    """`auc_1` -> `auc` when the prediction numbers that base; other keys unchanged."""
    for pattern in keys.patterns:
        if pattern.fullmatch(key):
            return pattern.pattern.rsplit("_", 1)[0].replace("\\", "")
    return key


def _split(real: List[str]) -> Tuple[set, set]:
    train = {k for k in real if not k.startswith("val_")}
    val = {k[4:] for k in real if k.startswith("val_")}
    return train, val


# --- the real run ---------------------------------------------------------------------------------
class _Probes:
    def __init__(self, run_program, directory: Path):
        self._run_program = run_program
        self._directory = directory
        self._data: Dict[str, dict] = {}

    def __getitem__(self, flavour: str) -> dict:
        if flavour not in self._data:
            cwd = self._directory / f"k{flavour}"
            cwd.mkdir(exist_ok=True)
            specs = cwd / "specs.json"
            specs.write_text(json.dumps(SPECS), encoding="utf-8")
            run = self._run_program(PROBE, flavour, cwd, args=[str(specs)])
            assert run.returncode == 0, run.describe()
            run.check_flavour()
            self._data[flavour] = run.result()
        return self._data[flavour]


@pytest.fixture(scope="module")
def probes(run_program, tmp_path_factory) -> _Probes:
    return _Probes(run_program, tmp_path_factory.mktemp("log_keys"))


@pytest.fixture(params=FLAVOURS, ids=lambda f: f"k{f}")
def measured(request, probes) -> Tuple[str, dict]:
    return request.param, probes[request.param]


def test_log_keys_probe_ran_the_right_keras(measured):
    flavour, data = measured
    assert data["version"].startswith(MAJOR[flavour]), data["version"]
    assert set(data["specs"]) == set(SPECS)


def test_log_keys_rejected_programs(measured):
    """Exactly the programs in REJECTED fail on the flavour, and metriclint predicts nothing for them."""
    flavour, data = measured
    failed = {name for name, result in data["specs"].items() if "error" in result}
    assert failed == REJECTED[flavour], {name: data["specs"][name] for name in failed ^ REJECTED[flavour]}
    for name in failed:
        assert not predict(SPECS[name], flavour).complete, f"{name}: Keras {flavour} rejects it, yet the keys are 'known'"


def _spec_params():
    for name in sorted(SPECS):
        marks = [pytest.mark.xfail(reason=KNOWN_WRONG[name], strict=True)] if name in KNOWN_WRONG else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", list(_spec_params()))
def test_log_keys_prediction_matches_the_run(measured, name):
    flavour, data = measured
    result = data["specs"][name]
    if "error" in result:
        return  # test_log_keys_rejected_programs
    real: List[str] = result["keys"]
    keys = predict(SPECS[name], flavour)
    refused = [k for k in real if keys.produces(k) is False]
    assert not refused, f"Keras {flavour} logged {refused}, which metriclint says the run does not produce: {real}"
    if not keys.complete:
        return
    assert all(keys.produces(k) for k in real)
    train, val = _split(real)
    folded_train = {_fold(k, keys) for k in train}
    assert folded_train == keys.exact, f"real {sorted(train)} vs predicted {sorted(keys.exact)}"
    if keys.validation:
        assert {_fold(k, keys) for k in val} == keys.exact, f"real val_ keys {sorted(val)} vs {sorted(keys.exact)}"
    else:
        assert keys.validation is False and not val, f"val_ keys without predicted validation: {sorted(val)}"


def test_log_keys_complete_where_expected():
    """Every spec but the unknowable ones is predicted completely on both flavours (else the test
    above proves little)."""
    unknowable = {"outputs_unnamed"}  # automatic layer names
    for flavour in FLAVOURS:
        incomplete = sorted(
            name for name in SPECS
            if name not in REJECTED[flavour] | unknowable and not predict(SPECS[name], flavour).complete
        )
        assert not incomplete, f"Keras {flavour}: no complete prediction for {incomplete}"
        for name in unknowable:
            assert not predict(SPECS[name], flavour).complete, f"{name}: must be incomplete"


# What each flavour calls the outputs of `outputs_dict_keys` (measured): Keras 3 the dict keys,
# tf_keras the layers' names.
DICT_OUTPUT_KEYS = {
    "3": ["cls_acc", "cls_loss", "cls_prc", "loss", "reg_loss", "reg_mae"],
    "2": ["cls_layer_acc", "cls_layer_loss", "cls_layer_prc", "loss", "reg_layer_loss", "reg_layer_mae"],
}


def test_log_keys_dict_output_names(measured):
    flavour, data = measured
    train, val = _split(data["specs"]["outputs_dict_keys"]["keys"])
    assert sorted(train) == DICT_OUTPUT_KEYS[flavour] and val == train


def test_log_keys_two_output_format(measured):
    """Named outputs log `<output>_<metric>` and `<output>_loss` (+ `val_` twins)."""
    flavour, data = measured
    real = [re.sub(r"^(val_)?(out_a_auc)_\d+$", r"\1\2", k) for k in data["specs"]["two_outputs_dict_val"]["keys"]]
    train, val = _split(real)
    assert sorted(train) == TWO_OUTPUT_KEYS[flavour], real
    assert val == train, real
    if flavour == "2":  # Keras 2 applies a flat list to every output, the regression output included
        flat = data["specs"]["two_outputs_flat_val"]["keys"]
        assert "out_b_accuracy" in flat and "out_a_accuracy" in flat, flat


def test_log_keys_numbering(measured):
    """Unnamed duplicates are numbered: what KM207 accepts as `<default>_<N>`."""
    _, data = measured
    specs = data["specs"]
    two = specs["class_two_AUC"]["keys"]
    assert len([k for k in two if re.fullmatch(r"auc(_\d+)?", k)]) == 2, two
