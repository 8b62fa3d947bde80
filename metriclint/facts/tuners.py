"""Keras Tuner tuners the file builds and searches with, and the objectives they are given.

A tuner (`kt.RandomSearch(build, objective="val_accuracy")`) is found from its `search(...)`
calls; its `objective` is read from the constructor (keyword, or position 1 as in the real
signatures of RandomSearch, Hyperband, BayesianOptimization and GridSearch): a string,
`kt.Objective(name, direction)` or a list of them. An objective that cannot be read whole is
left out (rules stay silent on it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import libcst as cst

from ..keras import symbols
from .arguments import Bound, bind
from .collect import CallSite
from .containers import elements
from .entries import TRAINING_CALLS
from .values import Dotted, Scope

_OBJECTIVE_POSITION = 1  # (hypermodel, objective, ...) in every tuner's `__init__` (keras-tuner 1.4.8)


@dataclass(frozen=True)
class ObjectiveName:
    key: str  # the log key the tuner reads
    literal: cst.SimpleString  # the string literal that names it (directly, or a name assigned once)
    plain: bool  # a plain string: Keras Tuner infers the direction from the name
    direct: bool  # the literal is written in the tuner call itself (not through a name)


@dataclass
class TunerUse:
    constructor: cst.Call
    scope: Scope
    tuner_class: str  # "RandomSearch", ...
    searches: List[CallSite] = field(default_factory=list)
    objectives: List[ObjectiveName] = field(default_factory=list)

    def objective_call(self) -> Optional[str]:
        """`kt.Objective` when the tuner is named through a module alias (`kt.RandomSearch`), the
        text a fix can use to build an objective; None otherwise."""
        func = self.constructor.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            return f"{func.value.value}.Objective"
        return None


def tuner_uses(ctx) -> List[TunerUse]:
    """Every tuner the file constructs and calls `search` on, with its readable objectives."""
    cached = ctx.cache.get("tuner_uses")
    if cached is not None:
        return cached
    uses: Dict[cst.Call, TunerUse] = {}
    for site in TRAINING_CALLS.sites(ctx.facts):
        func = site.node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "search":
            continue
        tuner = ctx.resolver.instance(func.value, site.scope, symbols.TUNER)
        if tuner is None or not isinstance(tuner.origin, cst.Call) or tuner.keras_class is None:
            continue
        origin = ctx.facts.site_of.get(tuner.origin)
        if origin is None:
            continue
        use = uses.get(tuner.origin)
        if use is None:
            use = uses[tuner.origin] = TunerUse(tuner.origin, origin.scope, tuner.keras_class)
            use.objectives = _objectives(ctx, tuner.origin, origin.scope)
        use.searches.append(site)
    result = list(uses.values())
    ctx.cache["tuner_uses"] = result
    return result


def _objectives(ctx, call: cst.Call, scope: Scope) -> List[ObjectiveName]:
    given = bind(ctx.resolver, call, scope, "objective", _OBJECTIVE_POSITION)
    if not isinstance(given, Bound):
        return []  # not given (Keras Tuner's default: `val_loss`/`loss`), or not knowable
    found = _objective(ctx, given.value, given.scope, direct=True)
    if found is not None:
        return [found]
    out = []
    for element, inner in elements(ctx.resolver, given.value, given.scope) or ():
        one = _objective(ctx, element, inner, direct=element in _listed(given.value))
        if one is not None:
            out.append(one)
    return out


def _listed(node: cst.BaseExpression) -> List[cst.BaseExpression]:
    """The elements written in a list or tuple literal."""
    if isinstance(node, (cst.List, cst.Tuple)):
        return [e.value for e in node.elements]
    return []


def _objective(ctx, node: cst.BaseExpression, scope: Scope, direct: bool) -> Optional[ObjectiveName]:
    """One objective: a string, or `kt.Objective(name, direction)` with a string name."""
    literal = ctx.resolver.string_literal(node, scope)
    if isinstance(literal, cst.SimpleString) and isinstance(literal.evaluated_value, str):
        return ObjectiveName(literal.evaluated_value, literal, plain=True, direct=direct and literal is node)
    if not isinstance(node, cst.Call) or not _is_objective_class(ctx, node.func, scope):
        return None
    name = bind(ctx.resolver, node, scope, "name", 0)
    if not isinstance(name, Bound):
        return None
    literal = ctx.resolver.string_literal(name.value, name.scope)
    if isinstance(literal, cst.SimpleString) and isinstance(literal.evaluated_value, str):
        return ObjectiveName(literal.evaluated_value, literal, plain=False, direct=literal is name.value)
    return None


def _is_objective_class(ctx, func: cst.BaseExpression, scope: Scope) -> bool:
    value = ctx.resolver.resolve(func, scope)
    return isinstance(value, Dotted) and symbols.tuner_objective_class(value.path)
