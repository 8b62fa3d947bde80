"""Positions computed statement by statement equal libcst's positions for the whole module."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from metriclint.facts.collect import collect_facts
from metriclint.locate import Locator

TRICKY = [
    "# header comment\n\nimport a; import b\nx = 1\n",
    "import keras\n\n# before\n@decorator\n# between\n@other(1)\ndef f(\n    a,\n):\n    return a\n",
    "class A:\n    '''doc'''\n\n    def m(self):  # c\n        pass\n\n\n# trailing\n",
    "if x:\n    y = [\n        1,\n        2,\n    ]\nelse:\n    z = f(a)(b)\n",
    "x = 1\r\ny = g(\r\n    2)\r\n",
    "s = '''\nmulti\nline'''\nt = (1 +\n     2)\n\n\n@d\nclass C: pass\n",
]


def _all_nodes(module: cst.Module, facts) -> list:
    found = []

    class Visitor(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if id(node) in facts.top_statement:
                found.append(node)
            return True

    module.visit(Visitor())
    return found


def _check(text: str) -> int:
    module = cst.parse_module(text)
    facts = collect_facts(module)
    whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    locator = Locator(module, text, ast.parse(text), facts.top_statement)
    assert locator._first_lines is not None
    nodes = _all_nodes(module, facts)
    for node in nodes:
        expected = whole[node]
        got = locator._range(node)
        assert (got.start.line, got.start.column, got.end.line, got.end.column) == (
            expected.start.line, expected.start.column, expected.end.line, expected.end.column
        ), (type(node).__name__, module.code_for_node(node)[:40])
    return len(nodes)


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_layouts(text):
    assert _check(text) > 0


def _keras_sources():
    spec = importlib.util.find_spec("keras")
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(list(spec.submodule_search_locations)[0])
    names = ["src/metrics/confusion_metrics.py", "src/callbacks/early_stopping.py", "src/trainers/trainer.py"]
    return [root / n for n in names if (root / n).exists()]


@pytest.mark.parametrize("path", _keras_sources(), ids=lambda p: p.name)
def test_real_keras_sources(path):
    assert _check(path.read_text(encoding="utf-8")) > 100
