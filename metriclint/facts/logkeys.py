"""The log keys a `fit(...)` call produces, and the callbacks it is given.

From the model's single `compile` call and the `fit` call: `loss`, each metric's name
(strings per flavour, `name=`, class defaults with their `_N` suffixes, function names),
and `val_` twins when `fit` gets validation data. When anything is not knowable (a
subclass with its own `train_step`, metrics built at run time, several outputs, a
recompile) the set is marked incomplete and rules stay silent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from ..keras import symbols
from ..keras.metric_strings import METRIC_STRINGS
from ..keras.metrics import METRICS
from .collect import CallSite, bound_argument, find_keyword
from .entries import FIT_CALLS
from .models import MetricRef, ModelInfo, model_facts, model_key
from .values import Scope

# Keras metric functions exported under a short alias: the log key is the function's `__name__`
# (measured on both flavours, tests/runtime/test_log_keys.py).
_FUNCTION_NAMES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
}
# Keys callbacks add to the logs themselves (learning-rate schedulers).
CALLBACK_KEYS = frozenset({"lr", "learning_rate"})
_TRAIN_OVERRIDES = ("train_step", "test_step", "compute_metrics", "metrics")


@dataclass
class KeySet:
    complete: bool
    exact: Set[str] = field(default_factory=set)  # keys without the val_ prefix
    patterns: List["re.Pattern[str]"] = field(default_factory=list)
    validation: Optional[bool] = None  # None: cannot tell
    # key (no val_) -> the metric that produces it, for direction
    sources: Dict[str, "KeySource"] = field(default_factory=dict)

    def _base_known(self, base: str) -> bool:
        return base in self.exact or base in CALLBACK_KEYS or any(p.fullmatch(base) for p in self.patterns)

    def produces(self, key: str) -> Optional[bool]:
        """True/False when knowable, None when not."""
        if not self.complete:
            return None
        if key.startswith("val_"):
            base = key[4:]
            if not self._base_known(base):
                return False if not self._base_known(key) else True
            if self.validation is None:
                return None
            return self.validation
        return self._base_known(key)

    def all_keys(self) -> List[str]:
        keys = sorted(self.exact)
        if self.validation:
            keys += ["val_" + k for k in sorted(self.exact)]
        return keys

    def source(self, key: str) -> Optional["KeySource"]:
        base = key[4:] if key.startswith("val_") else key
        if base in self.sources:
            return self.sources[base]
        for pattern_key, source in self.sources.items():
            if re.fullmatch(re.escape(pattern_key) + r"_\d+", base):
                return source
        return None


@dataclass(frozen=True)
class KeySource:
    direction: Optional[str]  # "max" | "min" | None (unknown: a custom function)
    kind: str  # "loss" | "class" | "string" | "function"


def _metric_keys(ref: MetricRef, flavour: str) -> Optional[List[Tuple[str, bool, KeySource]]]:
    """(key, is_pattern_base, source) for one compile metric; None when it cannot be known."""
    if ref.string is not None:
        entry = METRIC_STRINGS.get(ref.string)
        if entry is None or entry.key(flavour) is None:
            return None  # KM110's business; the run fails anyway
        info = METRICS.get(entry.metric_class)
        return [(entry.key(flavour), False, KeySource(info.direction if info else None, "string"))]  # type: ignore[list-item]
    if ref.keras_class is not None:
        info = METRICS.get(ref.keras_class)
        constructor = ref.constructor
        if info is None or constructor is None:
            return None
        name_arg = find_keyword(constructor, "name")
        source = KeySource(info.direction, "class")
        if name_arg is not None:
            if isinstance(name_arg.value, cst.SimpleString) and isinstance(name_arg.value.evaluated_value, str):
                return [(name_arg.value.evaluated_value, False, source)]
            return None
        default = info.default_name(flavour)
        if default is None:
            return None
        # Unnamed instances get `_1`, `_2`, ... when the name is taken (per process on Keras 3,
        # per model on Keras 2): accept the default and any numbered form.
        return [(default, True, source)]
    if ref.function is not None:
        return [(ref.function.node.name.value, False, KeySource(None, "function"))]
    if ref.keras_function is not None:
        leaf = ref.keras_function.split(".")[-1]
        leaf = _FUNCTION_NAMES.get(leaf, leaf)  # the key is the function's `__name__`
        return [(leaf, False, KeySource(None, "function"))]
    return None


def keys_for_fit(ctx, site: CallSite) -> KeySet:
    cache = ctx.cache.setdefault("keys_for_fit", {})
    if site.node not in cache:
        cache[site.node] = _keys_for_fit(ctx, site)
    return cache[site.node]


def _keys_for_fit(ctx, site: CallSite) -> KeySet:
    func = site.node.func
    if not isinstance(func, cst.Attribute):
        return KeySet(False)
    instance = ctx.resolver.instance(func.value, site.scope, symbols.MODEL)
    if instance is None:
        return KeySet(False)
    if instance.local_class is not None and any(
        ctx.resolver.class_defines(instance.local_class, m) for m in _TRAIN_OVERRIDES
    ):
        return KeySet(False)
    key = model_key(instance)
    model: Optional[ModelInfo] = model_facts(ctx).get(key) if key is not None else None
    if model is None or len(model.compiles) != 1 or (model.output_count not in (None, 1)):
        return KeySet(False)
    if model.output_count is None and isinstance(key, cst.Call):
        site_of_origin = ctx.facts.site_of.get(key)
        if site_of_origin is not None and ctx.resolver.keras_name(key.func, site_of_origin.scope) == "Model":
            return KeySet(False)  # a functional model whose outputs cannot be counted
    if _layers_hold_metrics(ctx):
        return KeySet(False)  # metric objects in attributes of a Layer/Model subclass are tracked and logged
    if ctx.facts.calls_by_method.get("add_metric"):
        return KeySet(False)  # `add_metric(name=...)` logs keys compile does not show
    compile_info = model.compiles[0]
    call = compile_info.site.node
    if find_keyword(call, "weighted_metrics") is not None or any(a.star for a in call.args):
        return KeySet(False)
    if isinstance(compile_info.loss.node if compile_info.loss else None, (cst.Dict, cst.List)):
        return KeySet(False)  # one loss per output
    keys = KeySet(True, exact={"loss"}, sources={"loss": KeySource("min", "loss")})
    metrics_arg = compile_info.metrics_arg
    if metrics_arg is not None:
        if not isinstance(metrics_arg.value, (cst.List, cst.Tuple)):
            return KeySet(False)
        if any(isinstance(e, cst.StarredElement) for e in metrics_arg.value.elements):
            return KeySet(False)
        for ref in compile_info.metrics:
            produced = _metric_keys(ref, ctx.flavour)
            if produced is None:
                return KeySet(False)
            for name, numbered, source in produced:
                keys.exact.add(name)
                keys.sources[name] = source
                if numbered:
                    keys.patterns.append(re.compile(re.escape(name) + r"_\d+"))
    keys.validation = _has_validation(site.node, ctx.flavour)
    return keys


def _layers_hold_metrics(ctx) -> bool:
    """Whether a Layer or Model subclass in the file keeps metric objects in attributes (Keras
    then logs them under their names, from whichever model holds the layer)."""
    cached = ctx.cache.get("layers_hold_metrics")
    if cached is None:
        cached = False
        for cls in ctx.facts.classes:
            if ctx.resolver.class_kind(cls) not in (symbols.LAYER, symbols.MODEL):
                continue
            for bindings in ctx.facts.self_attributes.get(cls.body, {}).values():
                if any(b.how == "value" and b.node is not None and ctx.resolver.instance(b.node, b.scope, symbols.METRIC)
                       for b in bindings):
                    cached = True
        ctx.cache["layers_hold_metrics"] = cached
    return cached


def _has_validation(call: cst.Call, flavour: str) -> Optional[bool]:
    if any(a.star for a in call.args) or not isinstance(call.func, cst.Attribute):
        return None
    method = call.func.attr.value
    for name in ("validation_split", "validation_data"):
        arg = bound_argument(call, method, name, flavour)
        if arg is not None:
            value = arg.value
            if isinstance(value, cst.Name) and value.value == "None":
                continue
            if isinstance(value, (cst.Integer, cst.Float)) and float(value.value) == 0.0:
                continue
            return True
    return False


# --- callbacks ------------------------------------------------------------------------------------
@dataclass
class CallbackUse:
    constructor: cst.Call
    scope: Scope
    keras_class: str  # canonical, e.g. "callbacks.EarlyStopping"
    fits: List[CallSite] = field(default_factory=list)


def callback_uses(ctx) -> List[CallbackUse]:
    """Every Keras callback object built in the file and the resolved-model `fit` calls it reaches."""
    cached = ctx.cache.get("callback_uses")
    if cached is not None:
        return cached
    uses: Dict[cst.Call, CallbackUse] = {}
    for site in FIT_CALLS.sites(ctx.facts):
        func = site.node.func
        if not isinstance(func, cst.Attribute) or ctx.resolver.instance(func.value, site.scope, symbols.MODEL) is None:
            continue
        arg = bound_argument(site.node, func.attr.value, "callbacks", ctx.flavour)
        if arg is None:
            continue
        for element, scope in _elements(ctx, arg.value, site.scope):
            instance = ctx.resolver.instance(element, scope, symbols.CALLBACK)
            if instance is None or not isinstance(instance.origin, cst.Call) or instance.keras_class is None:
                continue
            constructor = instance.origin
            origin_site = ctx.facts.site_of.get(constructor)
            if origin_site is None:
                continue
            use = uses.setdefault(constructor, CallbackUse(constructor, origin_site.scope, instance.keras_class))
            use.fits.append(site)
    result = list(uses.values())
    ctx.cache["callback_uses"] = result
    return result


def _elements(ctx, value: cst.BaseExpression, scope: Scope, depth: int = 0):
    if depth > 4:
        return
    if isinstance(value, (cst.List, cst.Tuple)):
        for element in value.elements:
            if not isinstance(element, cst.StarredElement):
                yield element.value, scope
    elif isinstance(value, cst.Name):
        assigned = ctx.resolver.assigned_values(value, scope)
        if assigned is not None and len(assigned) == 1:
            node, inner = assigned[0]
            yield from _elements(ctx, node, inner, depth + 1)  # type: ignore[arg-type]
    elif isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
        yield from _elements(ctx, value.left, scope, depth + 1)
        yield from _elements(ctx, value.right, scope, depth + 1)
