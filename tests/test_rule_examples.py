"""One harness for every rule's own valid/invalid examples (the Fixit pattern).

Every invalid example states the result of the fix and its safety class, and both are checked:
"none" -> `fix --unsafe-fixes` changes nothing; "safe" -> `fix` alone gives exactly `fixed`;
"unsafe" -> `fix` alone changes nothing and `fix --unsafe-fixes` gives exactly `fixed`.
A second fix of the result changes nothing; valid examples stay silent.
"""

from __future__ import annotations

import pytest

from metriclint.diagnostics import Safety
from metriclint.engine import fix_text, lint_text
from metriclint.rules import all_rules
from metriclint.settings import Settings

SAFETIES = ("none", "safe", "unsafe")


def _cases(kind):
    for code, rule in all_rules().items():
        for index, example in enumerate(getattr(rule, kind)):
            yield pytest.param(code, example, id=f"{code}-{kind}-{index}")


def _settings(code: str, flavour: str) -> Settings:
    return Settings(select=(code,), target_keras=flavour)


def _fix(code: str, example, text: str, unsafe: bool) -> str:
    return fix_text(text, "example.py", _settings(code, example.flavour), unsafe=unsafe).text


def test_every_rule_has_examples():
    for code, rule in all_rules().items():
        assert rule.valid, f"{code} has no valid examples"
        assert rule.invalid, f"{code} has no invalid examples"


@pytest.mark.parametrize("code,example", list(_cases("valid")))
def test_valid_example_is_silent(code, example):
    assert example.safety is None and example.fixed is None, "a valid example has no fix to state"
    found = lint_text(example.code, "example.py", _settings(code, example.flavour)).diagnostics
    assert [d for d in found if d.code == code] == [], "\n" + example.code


@pytest.mark.parametrize("code,example", list(_cases("invalid")))
def test_invalid_example_is_reported_and_fixed(code, example):
    found = lint_text(example.code, "example.py", _settings(code, example.flavour)).diagnostics
    assert [d.code for d in found] == [code] * example.count, "\n" + example.code

    assert example.safety in SAFETIES, f"state the fix's result: safety= one of {SAFETIES}"
    rule_safety = all_rules()[code].fix_safety
    if example.safety == "safe":
        assert rule_safety is Safety.SAFE, f"{code} declares fix_safety={rule_safety}, the example a safe fix"
    if example.safety == "unsafe":
        assert rule_safety is not None, f"{code} declares no fix, the example an unsafe one"
    want = example.code if example.fixed is None else example.fixed
    safe_only = _fix(code, example, example.code, unsafe=False)
    with_unsafe = _fix(code, example, example.code, unsafe=True)
    if example.safety == "none":
        assert want == example.code, "safety='none' but `fixed` differs from the code"
        assert with_unsafe == example.code, "safety='none', but fix --unsafe-fixes changes the code:\n" + with_unsafe
        assert safe_only == example.code
        return
    assert want != example.code, f"safety={example.safety!r} needs the `fixed` text"
    assert with_unsafe == want
    if example.safety == "safe":
        assert safe_only == want, "safety='safe', but the safe fixes alone do not give `fixed`:\n" + safe_only
    else:
        assert safe_only == example.code, "safety='unsafe', but the safe fixes alone change the code:\n" + safe_only
    # a second fix changes nothing
    assert _fix(code, example, with_unsafe, unsafe=True) == with_unsafe
