"""The Keras stack the runtime proof ran on is the one pinned in the `test` extra.

The fixtures' numbers, exception types and messages belong to exact releases: a test run on
another TensorFlow, tf-keras, keras or keras-tuner (or the tensorboard every trial imports) proves
nothing about the pinned ones, so it fails here.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path
from typing import Dict

import pytest

from keras_stack import require_keras_stack

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
PINNED = ("tensorflow", "tf-keras", "keras", "keras-tuner", "tensorboard", "jax", "jaxlib", "tensorflow-addons")


def _test_extra_pins() -> Dict[str, str]:
    """`name==version` requirements of the test extra, by distribution name."""
    extra = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["optional-dependencies"]["test"]
    pins = {}
    for requirement in extra:
        name, sep, version = requirement.partition("==")
        if sep:
            pins[name.strip().lower()] = version.strip()
    return pins


def test_keras_stack_is_pinned_exactly():
    pins = _test_extra_pins()
    assert set(PINNED) <= set(pins), f"the test extra must pin {PINNED} with ==, it pins {pins}"


@pytest.mark.keras_stack
@pytest.mark.parametrize("name", PINNED)
def test_installed_version_is_the_pin(name: str):
    require_keras_stack()
    assert metadata.version(name) == _test_extra_pins()[name], (
        f"{name} {metadata.version(name)} is installed, the test extra pins {_test_extra_pins()[name]}"
    )
