"""The long-lived program server (`run_fixture_program`) gives what a fresh process gives.

bench/runner_equivalence.py compares every fixture program both ways (figures in
bench/RESULTS.md); this is the cheap guard kept in the suite: two fixtures run both ways, the
reset between programs (unnamed metric numbering, seeds), and the restart after a program that
leaves process-wide state behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.runtime

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

# One program that raises, one that reports numbers (bit for bit: stdout is compared whole).
GUARDED = [
    ("KM101_removed_fit_generator/bad.py", "3"),
    ("KM201_accuracy_on_sigmoid/bad.py", "2"),
]


@pytest.mark.parametrize("program,flavour", GUARDED, ids=[f"{p.split('/')[0]}-k{f}" for p, f in GUARDED])
def test_served_run_equals_fresh_run(program, flavour, tmp_path, run_program, run_fixture_program):
    path = FIXTURES / program
    (tmp_path / "fresh").mkdir()
    (tmp_path / "served").mkdir()
    fresh = run_program(path, flavour, tmp_path / "fresh")
    served = run_fixture_program(path, flavour, tmp_path / "served")
    fresh.check_flavour()
    served.check_flavour()
    assert served.returncode == fresh.returncode, served.describe() + "\n" + fresh.describe()
    assert served.stdout == fresh.stdout
    assert served.exception() == fresh.exception()


NAMES = """\
import json
from tensorflow import keras
names = [keras.metrics.AUC().name, keras.metrics.AUC().name, keras.metrics.Precision().name]
print("METRICLINT_RESULT " + json.dumps({"reported": names, "expected": []}))
"""


@pytest.mark.parametrize("flavour", ["3", "2"])
def test_unnamed_metric_numbering_starts_afresh_for_each_program(flavour, tmp_path, run_program, run_fixture_program):
    """`auc`, `auc_1` ... are numbered per process; the server's clear_session resets that."""
    program = tmp_path / "names.py"
    program.write_text(NAMES, encoding="utf-8")
    fresh = run_program(program, flavour, tmp_path).result()["reported"]
    assert fresh == ["auc", "auc_1", "precision"]
    for _ in range(2):
        served = run_fixture_program(program, flavour, tmp_path)
        served.check_flavour()
        assert served.result()["reported"] == fresh, served.describe()


SEEDLESS = """\
import json, random
import numpy as np
import tensorflow as tf
values = [random.random(), float(np.random.rand()), float(tf.random.uniform(()))]
print("METRICLINT_RESULT " + json.dumps({"reported": values, "expected": []}))
"""


def test_each_program_starts_from_the_same_seeds(tmp_path, run_fixture_program):
    program = tmp_path / "seedless.py"
    program.write_text(SEEDLESS, encoding="utf-8")
    first = run_fixture_program(program, "3", tmp_path).result()["reported"]
    second = run_fixture_program(program, "3", tmp_path).result()["reported"]
    assert first == second


LEAVES_STATE = """\
import json
from tensorflow import keras
keras.config.set_floatx("float64")
print("METRICLINT_RESULT " + json.dumps({"reported": keras.config.floatx(), "expected": "float64"}))
"""
READS_STATE = """\
import json, os
from tensorflow import keras
print("METRICLINT_RESULT " + json.dumps({"reported": [keras.config.floatx(), os.getpid()], "expected": []}))
"""
EXITS = "import sys\nprint('before')\nsys.exit(3)\n"
RAISES = "from tensorflow import keras\nraise ValueError('a program error')\n"


def test_state_left_behind_restarts_the_server(tmp_path, run_fixture_program):
    (tmp_path / "leaves.py").write_text(LEAVES_STATE, encoding="utf-8")
    (tmp_path / "reads.py").write_text(READS_STATE, encoding="utf-8")
    before = run_fixture_program(tmp_path / "reads.py", "3", tmp_path).result()["reported"]
    assert run_fixture_program(tmp_path / "leaves.py", "3", tmp_path).result()["reported"] == "float64"
    after = run_fixture_program(tmp_path / "reads.py", "3", tmp_path).result()["reported"]
    assert before[0] == after[0] == "float32"
    assert before[1] != after[1], "a program that changed floatx must get the next one a new process"


def test_exit_codes_and_exceptions_are_those_of_a_fresh_run(tmp_path, run_program, run_fixture_program):
    (tmp_path / "exits.py").write_text(EXITS, encoding="utf-8")
    (tmp_path / "raises.py").write_text(RAISES, encoding="utf-8")
    for name in ("exits.py", "raises.py"):
        fresh = run_program(tmp_path / name, "3", tmp_path)
        served = run_fixture_program(tmp_path / name, "3", tmp_path)
        assert (served.returncode, served.stdout, served.exception()) == (
            fresh.returncode, fresh.stdout, fresh.exception()
        ), served.describe() + "\n" + fresh.describe()
    assert served.exception() == ("ValueError", "a program error")
