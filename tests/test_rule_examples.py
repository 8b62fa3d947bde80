"""One harness for every rule's own valid/invalid examples (the Fixit pattern)."""

from __future__ import annotations

import pytest

from metriclint.engine import fix_text, lint_text
from metriclint.rules import all_rules
from metriclint.settings import Settings


def _cases(kind):
    for code, rule in all_rules().items():
        for index, example in enumerate(getattr(rule, kind)):
            yield pytest.param(code, example, id=f"{code}-{kind}-{index}")


def _settings(code: str, flavour: str) -> Settings:
    return Settings(select=(code,), target_keras=flavour)


def test_every_rule_has_examples():
    for code, rule in all_rules().items():
        assert rule.valid, f"{code} has no valid examples"
        assert rule.invalid, f"{code} has no invalid examples"


@pytest.mark.parametrize("code,example", list(_cases("valid")))
def test_valid_example_is_silent(code, example):
    found = lint_text(example.code, "example.py", _settings(code, example.flavour)).diagnostics
    assert [d for d in found if d.code == code] == [], "\n" + example.code


@pytest.mark.parametrize("code,example", list(_cases("invalid")))
def test_invalid_example_is_reported_and_fixed(code, example):
    found = lint_text(example.code, "example.py", _settings(code, example.flavour)).diagnostics
    assert [d.code for d in found] == [code] * example.count, "\n" + example.code
    if example.fixed is not None:
        result = fix_text(example.code, "example.py", _settings(code, example.flavour), unsafe=True)
        assert result.text == example.fixed
        # a second fix changes nothing
        again = fix_text(result.text, "example.py", _settings(code, example.flavour), unsafe=True)
        assert again.text == result.text
