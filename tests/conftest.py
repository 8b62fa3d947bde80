"""Suite-wide rules. Loading this file puts tests/ on sys.path, so every test module (tests/runtime/
included) can import the shared helpers `tree` and `keras_stack`.

Every test under tests/runtime/ and every test marked `keras_stack` needs TensorFlow, tf_keras and
keras, and fails without them (see keras_stack.py for the explicit opt-out).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from keras_stack import require_keras_stack

_RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"


def pytest_configure(config):
    # Most tests read the one-line report (`path:line:col: CODE message`), whatever they test;
    # the default (`full`, several lines per finding) is tested where it is the subject
    # (test_output.py unsets this). Subprocesses inherit it, so every metriclint run the suite
    # starts prints one line per finding unless a test asks for another format.
    os.environ["METRICLINT_OUTPUT_FORMAT"] = "concise"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _RUNTIME_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.keras_stack)


def pytest_runtest_setup(item):
    if item.get_closest_marker("keras_stack") is not None:
        require_keras_stack()
