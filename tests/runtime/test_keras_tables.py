"""The Keras tables in `metriclint/keras/` must match the installed Keras 3 and tf_keras.

One subprocess per flavour (probe_keras_tables.py) dumps `inspect.signature` of the model
methods, the public metric and callback classes, what an unknown keyword raises, and the
keywords tf_keras's `compile` documents for its `**kwargs`. The tests compare that with
`signatures.MODEL_METHOD_KEYWORDS`, `symbols.METRIC_CLASSES` / `CALLBACK_CLASSES` and the
other tables, so they cannot drift from Keras.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest

from metriclint.keras import signatures, symbols

pytestmark = pytest.mark.runtime

PROBE = Path(__file__).resolve().parent / "probe_keras_tables.py"
FLAVOURS = ("3", "2")
# Expected major version of the Keras each flavour imports.
MAJOR = {"3": "3.", "2": "2."}


class _Probes:
    """Runs the probe once per flavour (per test process), on first use."""

    def __init__(self, run_program, directory: Path):
        self._run_program = run_program
        self._directory = directory
        self._data: Dict[str, Dict[str, Any]] = {}

    def __getitem__(self, flavour: str) -> Dict[str, Any]:
        if flavour not in self._data:
            cwd = self._directory / f"k{flavour}"
            cwd.mkdir(exist_ok=True)
            run = self._run_program(PROBE, flavour, cwd, args=[flavour])
            assert run.returncode == 0, run.describe()
            run.check_flavour()
            self._data[flavour] = run.result()
        return self._data[flavour]


@pytest.fixture(scope="module")
def probes(run_program, tmp_path_factory) -> _Probes:
    return _Probes(run_program, tmp_path_factory.mktemp("probe"))


@pytest.fixture(params=FLAVOURS, ids=lambda f: f"k{f}")
def dump(request, probes):
    """(flavour, probe output) for each flavour."""
    return request.param, probes[request.param]


def test_probe_ran_the_right_keras(dump):
    flavour, data = dump
    assert data["version"].startswith(MAJOR[flavour]), data["version"]
    # fixtures import `from tensorflow import keras`: under this environment it is the same Keras
    assert data["tf_keras_same_model"]
    assert data["tf_keras_same_metrics"]
    assert data["tf_keras_same_callbacks"]


def test_model_method_keywords_match_signatures(dump):
    flavour, data = dump
    table = signatures.MODEL_METHOD_KEYWORDS[flavour]
    assert set(table) == set(data["methods"]), "methods in the table vs methods the Model has"
    documented = data["documented_kwargs"]
    problems = []
    for method, params in data["methods"].items():
        real = set(params["named"]) | set(documented.get(method, {}))
        if table[method] != real:
            problems.append(
                f"{method}: table lacks {sorted(real - table[method])}, "
                f"table has extra {sorted(table[method] - real)}"
            )
    assert not problems, f"Keras {data['version']}:\n" + "\n".join(problems)


def test_documented_kwargs_are_accepted(dump):
    """Keys the table takes from `**kwargs` documentation are really accepted (with None)."""
    flavour, data = dump
    for method, names in data["documented_kwargs"].items():
        for name, error in names.items():
            assert error is None, f"{method}({name}=None) raised {error}"
    if flavour == "2":
        assert set(data["documented_kwargs"].get("compile", {})) == {
            "cloning",
            "experimental_run_tf_function",
            "distribute",
            "target_tensors",
            "sample_weight_mode",
            "experimental_steps_per_execution",
        }
        none_only = data["none_only_errors"]
        for (method, name), message in signatures.KERAS2_NONE_ONLY.items():
            error = none_only[name]
            assert error is not None, f"{method}({name}=[x]) did not raise"
            assert message.startswith(error["type"] + ": "), (message, error)
            assert message.split(": ", 1)[1] in error["message"], (message, error)


def test_graph_mode_engine_takes_the_none_only_keywords(probes):
    """KM101 leaves `target_tensors=`/`distribute=` alone in files of tf_keras's TF1 graph-mode engine."""
    data = probes["2"]
    assert signatures.KERAS2_GRAPH_MODE_MODULES <= set(data["graph_mode_modules"])
    for method, name in signatures.KERAS2_NONE_ONLY:
        assert method == "compile" and name in data["graph_mode_compile"], name


def test_unknown_keyword_error_types(dump):
    """What Keras raises for a keyword a method lacks: backs `VALUE_ERROR_METHODS` and the messages."""
    flavour, data = dump
    errors = data["bogus_keyword_error"]
    if flavour == "3":  # the facts KM101's messages state, independent of the tables
        assert errors["evaluate"]["type"] == "ValueError"
        assert errors["evaluate"]["message"].startswith("Arguments not recognized")
        assert errors["fit"]["type"] == "TypeError"
        assert "unexpected keyword argument" in errors["fit"]["message"]
    table = signatures.MODEL_METHOD_KEYWORDS[flavour]
    for method, error in errors.items():
        assert error is not None, f"{method}(bogus=1) did not raise"
        if method not in table:  # removed in this flavour
            assert method in signatures.REMOVED_GENERATOR_METHODS and flavour == "3"
            assert error["type"] == "AttributeError", error
            continue
        wanted = "ValueError" if (flavour, method) in signatures.VALUE_ERROR_METHODS else "TypeError"
        assert error["type"] == wanted, f"Keras {flavour} {method}: {error}"
    # every (flavour, method) the table marks as ValueError is one
    for table_flavour, method in signatures.VALUE_ERROR_METHODS:
        if table_flavour == flavour:
            assert data["bogus_keyword_error"][method]["type"] == "ValueError"


def test_metric_and_callback_classes_are_in_the_tables(dump):
    flavour, data = dump
    missing_metrics = sorted(set(data["metrics"]) - symbols.METRIC_CLASSES)
    missing_callbacks = sorted(set(data["callbacks"]) - symbols.CALLBACK_CLASSES)
    assert not missing_metrics, f"Keras {flavour} metrics missing from METRIC_CLASSES: {missing_metrics}"
    assert not missing_callbacks, f"Keras {flavour} callbacks missing from CALLBACK_CLASSES: {missing_callbacks}"


def test_tables_are_the_union_of_both_flavours(probes):
    data = {flavour: probes[flavour] for flavour in FLAVOURS}
    metrics = set(data["3"]["metrics"]) | set(data["2"]["metrics"])
    callbacks = set(data["3"]["callbacks"]) | set(data["2"]["callbacks"])
    assert symbols.METRIC_CLASSES == metrics, (
        f"in the table only: {sorted(symbols.METRIC_CLASSES - metrics)}; "
        f"in Keras only: {sorted(metrics - symbols.METRIC_CLASSES)}"
    )
    assert symbols.CALLBACK_CLASSES == callbacks, (
        f"in the table only: {sorted(symbols.CALLBACK_CLASSES - callbacks)}; "
        f"in Keras only: {sorted(callbacks - symbols.CALLBACK_CLASSES)}"
    )

    # Keras 3 dropped the data-loading options that tf_keras's fit/evaluate/predict take.
    for method in ("fit", "evaluate", "predict"):
        k2 = set(data["2"]["methods"][method]["named"])
        k3 = set(data["3"]["methods"][method]["named"])
        assert signatures.KERAS3_DROPPED_DATA_OPTIONS <= k2 - k3, method

    # `fit_generator(gen, 100, 5)` -> `fit(...)` names positionals by the tf_keras order.
    for method, order in signatures.GENERATOR_POSITIONAL_ORDER.items():
        assert list(order) == data["2"]["methods"][method]["named"], method
        assert method not in data["3"]["methods"]
        assert signatures.REMOVED_GENERATOR_METHODS[method] in data["3"]["methods"]

    # Old keywords are valid nowhere; what they become is valid somewhere.
    every = {
        name
        for flavour in FLAVOURS
        for params in data[flavour]["methods"].values()
        for name in params["named"]
    }
    for old, migration in signatures.KEYWORD_MIGRATIONS.items():
        assert old not in every, f"{old} is a real keyword"
        if migration.new is not None:
            assert migration.new in every, f"{old} -> {migration.new}: no method takes {migration.new}"


def test_positional_parameter_order_matches_signatures(dump):
    """Positional arguments are bound by `MODEL_METHOD_PARAMETERS` (compile's order differs between
    the flavours: `loss_weights` is third on Keras 3, `metrics` on tf_keras)."""
    flavour, data = dump
    table = signatures.MODEL_METHOD_PARAMETERS[flavour]
    assert set(table) == set(data["methods"])
    for method, params in data["methods"].items():
        assert table[method] == tuple(params["named"]), f"Keras {data['version']} {method}"


def test_constructor_parameters_match_signatures(dump):
    """`AUC(10000)` binds `num_thresholds`, `EarlyStopping("val_acc")` binds `monitor`: the order of
    every metric and callback constructor's positional parameters, per flavour."""
    from metriclint.keras.constructors import CONSTRUCTOR_PARAMETERS

    flavour, data = dump
    real = {name: tuple(params) for name, params in data["constructors"].items()
            if name.split(".", 1)[1] in symbols.METRIC_CLASSES | symbols.CALLBACK_CLASSES}
    assert CONSTRUCTOR_PARAMETERS[flavour] == real


def test_output_layer_table_matches_signatures(dump):
    """`Dense(3, "softmax")` binds `activation`, `Conv2D(3, 1, ...)` binds `filters`: where each
    output layer of `keras/layers.py` takes its activation and units, and that it defaults to linear."""
    from metriclint.keras.layers import ACTIVATION_LAYERS, OUTPUT_LAYERS

    flavour, data = dump
    problems = []
    for name, table in OUTPUT_LAYERS.items():
        real = data["layers"].get(name)
        if real is None:
            problems.append(f"{name}: no such layer")
            continue
        positional = real["positional"]
        if positional.index("activation") != table.activation_position:
            problems.append(f"{name}: activation at {positional.index('activation')}, table {table.activation_position}")
        if real["activation_default"] != "None":
            problems.append(f"{name}: activation defaults to {real['activation_default']}")
        if table.units is not None and positional.index(table.units) != table.units_position:
            problems.append(f"{name}: {table.units} at {positional.index(table.units)}, table {table.units_position}")
    assert not problems, f"Keras {data['version']}:\n" + "\n".join(problems)
    assert data["layers"]["layers.Activation"]["positional"][0] == "activation"
    assert set(ACTIVATION_LAYERS) <= set(data["layers"])
