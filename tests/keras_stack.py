"""The Keras stack (TensorFlow, tf_keras, keras: the `test` extra) is required, not optional.

A test that needs it FAILS where it is missing, so a broken install can never turn CI green by
skipping the runtime proof. Someone who only works on the linter may opt out explicitly with
`METRICLINT_SKIP_RUNTIME=1` (CI never sets it): those tests are then skipped, each saying why.
"""

from __future__ import annotations

import importlib.util
import os
from typing import List

import pytest

KERAS_STACK = ("tensorflow", "tf_keras", "keras")
SKIP_RUNTIME_VARIABLE = "METRICLINT_SKIP_RUNTIME"


def missing_keras_stack() -> List[str]:
    """The Keras-stack packages that cannot be found (found without importing them)."""
    return [name for name in KERAS_STACK if importlib.util.find_spec(name) is None]


def require_keras_stack() -> None:
    """Fail (or, with the explicit opt-out, skip) the current test when the Keras stack is missing."""
    missing = missing_keras_stack()
    if not missing:
        return
    if os.environ.get(SKIP_RUNTIME_VARIABLE) == "1":
        pytest.skip(f"{SKIP_RUNTIME_VARIABLE}=1 and {', '.join(missing)} not installed")
    pytest.fail(
        f"{', '.join(missing)} not installed: the test extra is required (pip install '.[test]'); "
        f"to run without the runtime proof, set {SKIP_RUNTIME_VARIABLE}=1 explicitly",
        pytrace=False,
    )
