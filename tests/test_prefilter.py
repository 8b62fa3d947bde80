"""The prefilter only saves time: with it or without it, every file gets the same diagnostics."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from metriclint import engine
from metriclint.rules import all_rules
from metriclint.settings import Settings


def _sources():
    out = []
    for package in ("keras", "tf_keras"):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        root = Path(list(spec.submodule_search_locations)[0]) / "src"
        for sub in ("metrics", "callbacks"):
            out.extend(sorted((root / sub).glob("*.py")))
    return out


def _examples():
    for rule in all_rules().values():
        for example in list(rule.valid) + list(rule.invalid):
            yield example.code, example.flavour


def test_prefilter_hides_no_finding(monkeypatch):
    texts = [(p.read_text(encoding="utf-8"), "3") for p in _sources()] + list(_examples())
    assert len(texts) > 100
    with_prefilter = [engine.lint_text(t, "x.py", Settings(target_keras=f)).diagnostics for t, f in texts]
    original = engine._prefilter

    def everything(text, codes, flavour):
        found = original(text, codes, flavour)
        return found._replace(verdict=None if found.verdict is None else True)

    monkeypatch.setattr(engine, "_prefilter", everything)
    without = [engine.lint_text(t, "x.py", Settings(target_keras=f)).diagnostics for t, f in texts]
    for (text, _), a, b in zip(texts, with_prefilter, without):
        assert [(d.code, d.start) for d in a] == [(d.code, d.start) for d in b], text[:200]


@pytest.mark.parametrize("code", sorted(c for c, r in all_rules().items() if not r.from_suppressions))
def test_every_rule_has_a_trigger(code):
    assert all_rules()[code].triggers(), f"{code} declares no trigger identifiers"


KM107_ROUTES = {
    # `keras` only ever read as `keras.<attr>`: only `keras.backend` itself reaches the module
    "import keras\nfrom keras.src import backend\nx = backend.backend()\ny = keras.ops.sum(z)\n": False,
    "import keras\ndef f(y):\n    return keras.backend.sum(y)\n": True,
    # the module travels through a name, a call, a rebinding: any `.backend` may reach it
    "import keras\nk = keras\ndef f(y):\n    return k.backend.sum(y)\n": True,
    "import keras\ndef f(m, y):\n    return m.backend.sum(y)\nf(keras, 1)\n": True,
    # a star import binds no name the resolver follows: neither the prefilter nor the rule sees it
    "from keras import *\nx = backend.sum(y)\n": False,
}


@pytest.mark.parametrize("text", sorted(KM107_ROUTES))
def test_reaching_a_module_follows_where_its_name_goes(text):
    """The prefilter's `Reaches` is narrow only where the import's name is never used but as an
    attribute base; where the name flows on, any attribute of that name may be the module."""
    assert bool(engine.could_fire(text, frozenset({"KM107"}), "3")) is KM107_ROUTES[text]
    if KM107_ROUTES[text] is False:  # and then the rule, run on the file anyway, agrees
        found = engine.lint_text(text, "x.py", Settings(target_keras="3"), None)
        assert not [d for d in found.diagnostics if d.code == "KM107"]
