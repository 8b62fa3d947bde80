"""The metric catalogue in `metriclint/keras/metrics.py` must match the installed Keras 3 and tf_keras.

One subprocess per flavour (probe_metric_catalogue.py) builds every public class of
`keras.metrics` once with its defaults (plus the arguments it cannot do without, such as
`MeanIoU(num_classes=2)`), and records its default `name` and constructor parameters; it also
checks the `LOSS_FAMILY` keys against `keras.losses`. The tests compare that with
`METRICS`, `LOSS_FAMILY`, `LOSS_ONLY_ON` and `symbols.METRIC_CLASSES`, so the default log
keys, threshold parameters and `from_logits` support the rules rely on cannot drift from Keras.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from metriclint.keras import metrics as catalogue
from metriclint.keras import symbols

pytestmark = pytest.mark.runtime

PROBE = Path(__file__).resolve().parent / "probe_metric_catalogue.py"
FLAVOURS = ("3", "2")
MAJOR = {"3": "3.", "2": "2."}
THRESHOLD_PARAMS = ("threshold", "thresholds")  # the order a class with both would be read in

_REQUEST = json.dumps(
    {
        "losses": sorted(key.split(".", 1)[1] for key in catalogue.LOSS_FAMILY if key.startswith("losses.")),
        "loss_strings": sorted(key for key in catalogue.LOSS_FAMILY if "." not in key),
    }
)


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
            run = self._run_program(PROBE, flavour, cwd, args=[flavour, _REQUEST])
            assert run.returncode == 0, run.describe()
            run.check_flavour()
            self._data[flavour] = run.result()
        return self._data[flavour]


@pytest.fixture(scope="module")
def probes(run_program, tmp_path_factory) -> _Probes:
    return _Probes(run_program, tmp_path_factory.mktemp("catalogue"))


@pytest.fixture(params=FLAVOURS, ids=lambda f: f"k{f}")
def dump(request, probes):
    """(flavour, probe output) for each flavour."""
    return request.param, probes[request.param]


def _metric_classes(data: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Public `Metric` subclasses of the flavour's `keras.metrics`, the abstract base excluded."""
    return {name: entry for name, entry in data["metrics"].items() if entry["is_metric"] and name != "Metric"}


def test_probe_ran_the_right_keras(dump):
    flavour, data = dump
    assert data["version"].startswith(MAJOR[flavour]), data["version"]


def test_table_covers_the_same_classes_as_symbols():
    assert set(catalogue.METRICS) == symbols.METRIC_CLASSES - {"Metric"}, (
        f"in METRICS only: {sorted(set(catalogue.METRICS) - symbols.METRIC_CLASSES)}; "
        f"in METRIC_CLASSES only: {sorted(symbols.METRIC_CLASSES - {'Metric'} - set(catalogue.METRICS))}"
    )


def test_classes_exist_where_the_table_has_a_name(dump):
    """A class has a default name on a flavour exactly when that flavour's keras.metrics has it."""
    flavour, data = dump
    real = set(_metric_classes(data))
    named = {name for name, info in catalogue.METRICS.items() if info.default_name(flavour) is not None}
    assert named == real, (
        f"Keras {data['version']}: named in the table but missing: {sorted(named - real)}; "
        f"present but None in the table: {sorted(real - named)}"
    )


def test_default_names(dump):
    flavour, data = dump
    problems = []
    for name, entry in sorted(_metric_classes(data).items()):
        info = catalogue.METRICS.get(name)
        if info is None:
            continue  # test_classes_exist_where_the_table_has_a_name reports it
        if entry.get("name") is None:
            problems.append(f"{name}: could not be built: {entry.get('error')}")
        elif entry["name"] != info.default_name(flavour):
            problems.append(f"{name}: default name {entry['name']!r}, table says {info.default_name(flavour)!r}")
    assert not problems, f"Keras {data['version']}:\n" + "\n".join(problems)


def _threshold_param(params) -> Optional[str]:
    return next((p for p in THRESHOLD_PARAMS if p in params), None)


def test_threshold_and_logits_parameters(dump):
    flavour, data = dump
    problems = []
    for name, entry in sorted(_metric_classes(data).items()):
        info = catalogue.METRICS.get(name)
        if info is None:
            continue
        params = entry["params"]
        assert params is not None, f"{name}: no signature: {entry.get('signature_error')}"
        if _threshold_param(params) != info.threshold_param:
            problems.append(f"{name}: constructor has {_threshold_param(params)!r}, table says {info.threshold_param!r}")
        if ("from_logits" in params) != info.from_logits:
            problems.append(f"{name}: from_logits in constructor: {'from_logits' in params}, table: {info.from_logits}")
    assert not problems, f"Keras {data['version']}:\n" + "\n".join(problems)


def test_loss_family_entries_exist(dump):
    """`losses.X` keys are attributes of keras.losses, strings work with `keras.losses.get`,
    on both flavours unless `LOSS_ONLY_ON` names the one flavour that has them."""
    flavour, data = dump
    problems = []
    for key in sorted(catalogue.LOSS_FAMILY):
        only = catalogue.LOSS_ONLY_ON.get(key)
        wanted = only is None or only == flavour
        if key.startswith("losses."):
            present, detail = data["losses"][key.split(".", 1)[1]], ""
        else:
            error = data["loss_strings"][key]
            present, detail = error is None, f" ({error['type']}: {error['message']})" if error else ""
        if present != wanted:
            where = "both flavours" if only is None else f"Keras {only} only"
            problems.append(f"{key}: {'present' if present else 'missing'} on Keras {flavour}{detail}, table says {where}")
    assert not problems, f"Keras {data['version']}:\n" + "\n".join(problems)


def test_loss_only_on_names_real_keys():
    assert set(catalogue.LOSS_ONLY_ON) <= set(catalogue.LOSS_FAMILY)
    assert set(catalogue.LOSS_ONLY_ON.values()) <= set(FLAVOURS)


def test_loss_classes_are_loss_classes(probes):
    """Every class entry (`losses.CapitalName`) is on both flavours: rules resolve them by class."""
    for flavour in FLAVOURS:
        data = probes[flavour]
        for key in catalogue.LOSS_FAMILY:
            leaf = key.split(".", 1)[-1]
            if key.startswith("losses.") and leaf[:1].isupper():
                assert data["losses"][leaf], f"{key} missing on Keras {flavour}"
