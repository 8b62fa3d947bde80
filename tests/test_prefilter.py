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
