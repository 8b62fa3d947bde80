"""Positions computed statement by statement, and those read off `ast` twins, equal libcst's
positions for the whole module."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from metriclint.astpos import pair_statement
from metriclint.facts.collect import collect_facts
from metriclint.locate import Locator, _statement_twins

TRICKY = [
    "# header comment\n\nimport a; import b\nx = 1\n",
    "import keras\n\n# before\n@decorator\n# between\n@other(1)\ndef f(\n    a,\n):\n    return a\n",
    "class A:\n    '''doc'''\n\n    def m(self):  # c\n        pass\n\n\n# trailing\n",
    "if x:\n    y = [\n        1,\n        2,\n    ]\nelse:\n    z = f(a)(b)\n",
    "x = 1\r\ny = g(\r\n    2)\r\n",
    "s = '''\nmulti\nline'''\nt = (1 +\n     2)\n\n\n@d\nclass C: pass\n",
    # Shapes where `ast` and libcst draw ranges differently: parenthesised tuples and arguments,
    # a generator as the only argument (`ast` gives it the call's parentheses), multi-byte text.
    "x = \"é\" + f(ü=1, **k)  # é\ny = (\"ä\", *z)[0].b\nf((a, b), (c))\nf(x for x in y)\ng(())\nh(a) . b\n",
    "if a: b = c; d(e)\nasync def g():\n    async with h() as (i, j):\n        await k(l)\n    return [*m, n]\n",
    "@dec(1)\nclass C(B, metaclass=M):\n    z: 'ü' = {**d, 'a': [1, 2][0]}\n    def m(self) -> 'R':\n"
    "        assert x, 'm'\n        raise E from F\n        for a, b in c.items():\n"
    "            while not d: e -= f or g and h\n        try: pass\n        except (A, B) as e: print(e)\n"
    "        else: y = lambda q: q if q else -q\n        finally: del x\n",
    "x = a < b <= c\nr'\\x' 'abc' f'{x}'\nz = (yield)\n",
    # parameters of every kind (paired by name), with annotations, defaults and non-ASCII names
    "def f(a, /, b: 'ü' = 1, *args: int, c, d=(2), ü: \"é\" = f(x), **kw) -> None:\n    return a\n"
    "class K:\n    def m(self, x=None, *, y):\n        pass\n    async def n(self, *, z: int = 3): pass\n"
    "def g(\n    p,\n    q=[\n        1,\n    ],\n    *,\n    r,\n): pass\n",
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


def _check_twins(text: str, module: cst.Module, whole) -> None:
    """Every node paired with an `ast` twin has libcst's own position."""
    lines = Locator(module, text).lines
    twins = _statement_twins(module, ast.parse(text))
    assert twins is not None
    nodes = {}

    class Visitor(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            nodes[id(node)] = node
            return True

    module.visit(Visitor())
    for statement, statement_twins in zip(module.body, twins):
        for key, (line, column, end_line, end_column) in pair_statement(statement, statement_twins).items():
            expected = whole[nodes[key]]
            got = (line, lines.column(line, column), end_line, lines.column(end_line, end_column))
            assert got == (expected.start.line, expected.start.column, expected.end.line, expected.end.column), (
                type(nodes[key]).__name__, module.code_for_node(nodes[key])[:40])


def _check(text: str) -> int:
    module = cst.parse_module(text)
    facts = collect_facts(module)
    whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    _check_twins(text, module, whole)
    locator = Locator(module, text, ast.parse(text), facts.top_statement)
    assert locator._twins is not None
    nodes = _all_nodes(module, facts)
    for node in nodes:
        expected = whole[node]
        got = locator._range(node)
        assert got == (expected.start.line, expected.start.column, expected.end.line, expected.end.column), (
            type(node).__name__, module.code_for_node(node)[:40])
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
