"""The deep-stack retry: deep recursion works there, errors come back, and nothing is left changed."""

from __future__ import annotations

import sys
import threading

import pytest

from metriclint import deepstack
from metriclint.deepstack import call_with_deep_stack


def _depth(n: int) -> int:
    return 0 if n == 0 else 1 + _depth(n - 1)


def test_recursion_too_deep_for_the_default_stack_runs_there():
    limit = sys.getrecursionlimit()
    with pytest.raises(RecursionError):
        _depth(limit * 20)
    assert call_with_deep_stack(lambda: _depth(limit * 20)) == limit * 20
    assert sys.getrecursionlimit() == limit
    assert threading.stack_size() == 0


def test_exceptions_reach_the_caller():
    def fail():
        raise KeyError("inside")

    with pytest.raises(KeyError, match="inside"):
        call_with_deep_stack(fail)
    assert threading.stack_size() == 0


def test_no_thread_possible_runs_on_the_ordinary_stack(monkeypatch):
    # A low `ulimit -v` refuses big stacks ("can't start new thread"): smaller ones are tried,
    # then the call runs where it is (a RecursionError is then reported by the engine as before).
    tried = []

    def refuse(self):
        tried.append(threading.stack_size())
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    assert call_with_deep_stack(lambda: _depth(10)) == 10
    assert tried == list(deepstack.STACK_BYTES)
    assert threading.stack_size() == 0
