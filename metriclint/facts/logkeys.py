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
from .arguments import UNKNOWN, Binding, Bound, bind, constructor_argument, keras_argument, parameter_binding
from .collect import CallSite
from .containers import elements
from .entries import TRAINING_CALLS
from .models import MetricRef, ModelInfo, model_info, model_key, setup_of_unknown_model
from ..project.specs import MODEL_FACTORY, CallbackSpec
from .values import ClassValue, External, ExternalElement, FunctionValue, Instance, Scope

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
    # A model with several outputs: the prefixes of their keys (`cls` in `val_cls_accuracy`), and
    # the prefix the other flavour would use where it differs (tf_keras's layer name for a dict
    # output's key) -> this flavour's
    prefixes: Tuple[str, ...] = ()
    other_prefixes: Dict[str, str] = field(default_factory=dict)

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

    def output_prefix(self, key: str) -> Optional[str]:
        """The output a key belongs to on a model with several (`val_cls_loss` -> `cls`)."""
        base = key[4:] if key.startswith("val_") else key
        for prefix in sorted(self.prefixes, key=len, reverse=True):
            if base.startswith(prefix + "_"):
                return prefix
        return None

    def k3_auto_mode_fails(self, key: str) -> bool:
        """Keras 3's auto mode finds a monitored key's direction among the compiled metric objects
        by name (`loss` aside): a key that names none, or one output's key (its metrics are kept per
        output), raises ValueError after epoch 1 (keras/src/callbacks/monitor_callback.py; measured)."""
        base = key[4:] if key.startswith("val_") else key
        return base != "loss" and (not self._base_known(base) or self.output_prefix(base) is not None)

    def other_flavour(self, base: str) -> Optional[str]:
        """`cls_layer_accuracy` on Keras 3 for a dict output `cls` made by layer `cls_layer`: the key
        this flavour would log for what the other flavour calls `base` (no `val_`), when it differs."""
        for other, prefix in sorted(self.other_prefixes.items(), key=lambda item: -len(item[0])):
            if base.startswith(other + "_") and not self._base_known(base):
                return prefix + base[len(other):]
        return None

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


def _metric_keys(ctx, ref: MetricRef, build: Optional[Scope] = None) -> Optional[List[Tuple[str, bool, KeySource]]]:
    """(key, is_pattern_base, source) for one compile metric; None when it cannot be known.
    `build`: the scope of the tuner build function that makes the model, if it does."""
    flavour = ctx.flavour
    spec = ref.spec
    if spec is not None and (spec.name is not None or spec.name_unknown):  # `AUC(name="prc")` elsewhere
        if spec.name_unknown:
            return None
        info = METRICS.get(spec.keras_class or "")
        return [(spec.name, False, KeySource(info.direction if info else None, "class"))]  # type: ignore[list-item]
    if spec is not None and spec.function is not None:
        return [(spec.function, False, KeySource(None, "function"))]
    if spec is not None and spec.local_class is not None:
        name = _subclass_name(ctx, ref, spec)
        return [(name, True, KeySource(None, "class"))] if name else None
    if ref.string is not None:
        entry = METRIC_STRINGS.get(ref.string)
        if entry is None or entry.key(flavour) is None:
            return None  # KM110's business; the run fails anyway
        info = METRICS.get(entry.metric_class)
        return [(entry.key(flavour), False, KeySource(info.direction if info else None, "string"))]  # type: ignore[list-item]
    if ref.keras_class is not None:
        info = METRICS.get(ref.keras_class)
        constructor = ref.constructor
        if info is None:
            return None
        if constructor is None:  # another module's unnamed instance: the default name
            default = info.default_name(flavour)
            return [(default, True, KeySource(info.direction, "class"))] if default is not None and spec is not None else None
        site = ctx.facts.site_of.get(constructor)
        if site is None:
            return None
        given = constructor_argument(ctx.resolver, constructor, site.scope, f"metrics.{ref.keras_class}", "name", flavour)
        source = KeySource(info.direction, "class")
        if given is UNKNOWN:
            return None
        if given is not None:
            name = ctx.resolver.string_value(given.value, given.scope)
            return [(name, False, source)] if name is not None else None
        default = info.default_name(flavour)
        if default is None:
            return None
        # Unnamed instances get `_1`, `_2`, ... when the name is taken (per process on Keras 3,
        # per model on Keras 2): accept the default and any numbered form. Keras Tuner clears the
        # session before each build, so the build function's only instance of a class is always
        # named by the default (fixtures/KM207_tuner_objective_auc_1).
        return [(default, not _only_one_in_build(ctx, site, build, ref.keras_class), source)]
    if ref.function is not None:
        return [(ref.function.node.name.value, False, KeySource(None, "function"))]
    if ref.keras_function is not None:
        leaf = ref.keras_function.split(".")[-1]
        leaf = _FUNCTION_NAMES.get(leaf, leaf)  # the key is the function's `__name__`
        return [(leaf, False, KeySource(None, "function"))]
    return None


def _only_one_in_build(ctx, site: CallSite, build: Optional[Scope], keras_class: str) -> bool:
    """Whether `site` is in the tuner build function's own body and is the one metric of its
    class constructed there."""
    if build is None or site.scope is not build:
        return False
    same = [other for other in ctx.facts.site_of.values()
            if other.scope is build and _metric_class(ctx, other) == f"metrics.{keras_class}"]
    return len(same) == 1


def _metric_class(ctx, site: CallSite) -> Optional[str]:
    instance = ctx.resolver.instance(site.node, site.scope, symbols.METRIC)
    return instance.keras_class if instance is not None and instance.origin is site.node else None


def _subclass_name(ctx, ref: MetricRef, spec) -> Optional[str]:
    """The key of a `Metric` subclass's instance: the `name` its constructor call passes (by
    keyword, or by position through the class's own `__init__`), else the class's default."""
    call = ref.constructor
    if call is None:
        return spec.default_name
    site = ctx.facts.site_of.get(call)
    if site is None:
        return None
    instance = ctx.resolver.instance(call, site.scope, symbols.METRIC)
    cls = instance.local_class if instance is not None else None
    init = None
    if cls is not None:
        init = next((b.node for b in cls.body.bindings.get("__init__", ()) if b.how == "function"), None)
    param = None
    if isinstance(init, cst.FunctionDef):
        param = next((p for p in list(init.params.posonly_params) + list(init.params.params)
                      + list(init.params.kwonly_params) if p.name.value == "name"), None)
    if param is not None:
        given = parameter_binding(ctx.resolver, call, site.scope, init, param, skip_first=True)  # type: ignore[arg-type]
    elif init is None and any(arg.keyword is None for arg in call.args):
        return None  # positional arguments to an `__init__` the file does not show
    else:
        given = bind(ctx.resolver, call, site.scope, "name", None)
    if isinstance(given, Bound):
        if param is not None and given.value is param.default:
            return spec.default_name
        return ctx.resolver.string_value(given.value, given.scope)
    return spec.default_name if given is None else None


def keys_for_fit(ctx, site: CallSite) -> KeySet:
    cache = ctx.cache.setdefault("keys_for_fit", {})
    if site.node not in cache:
        cache[site.node] = _keys_for_fit(ctx, site)
    return cache[site.node]


def trained_model(ctx, site: CallSite) -> Optional[Instance]:
    """The model a `fit` call trains, or the one a tuner's `search` trains: what the tuner's build
    function returns (`kt.Hyperband(build_model, ...)`)."""
    func = site.node.func
    if not isinstance(func, cst.Attribute):
        return None
    if func.attr.value != "search":
        return ctx.resolver.instance(func.value, site.scope, symbols.MODEL)
    build = _tuner_build(ctx, site)
    if isinstance(build, External) and build.export.kind == MODEL_FACTORY and build.export.model is not None:
        tuner = ctx.resolver.instance(func.value, site.scope, symbols.TUNER)
        origin = tuner.origin if tuner is not None else None
        return Instance(symbols.MODEL, origin=origin, external=build.export.model)  # another module's builder
    if not isinstance(build, FunctionValue):
        return None  # a HyperModel subclass, or a build function the project does not show
    returns = [(r, ctx.facts.scope_of_function[build.node]) for r in ctx.facts.returns.get(build.node, [])]
    models = [ctx.resolver.instance(r, scope, symbols.MODEL) for r, scope in returns]
    return models[0] if len(models) == 1 and models[0] is not None else None


def _tuner_build(ctx, site: CallSite):
    """What a tuner's `search` call builds its models with: the value given as `hypermodel`."""
    func = site.node.func
    if not isinstance(func, cst.Attribute) or func.attr.value != "search":
        return None
    tuner = ctx.resolver.instance(func.value, site.scope, symbols.TUNER)
    if tuner is None or not isinstance(tuner.origin, cst.Call):
        return None
    origin = ctx.facts.site_of.get(tuner.origin)
    if origin is None:
        return None
    hypermodel = bind(ctx.resolver, tuner.origin, origin.scope, "hypermodel", 0)
    if not isinstance(hypermodel, Bound):
        return None
    return ctx.resolver.resolve(hypermodel.value, hypermodel.scope)


def _build_scope(ctx, site: CallSite) -> Optional[Scope]:
    """The scope of the build function a tuner's `search` call builds its models with."""
    build = _tuner_build(ctx, site)
    return ctx.facts.scope_of_function.get(build.node) if isinstance(build, FunctionValue) else None


def _keys_for_fit(ctx, site: CallSite) -> KeySet:
    func = site.node.func
    if not isinstance(func, cst.Attribute):
        return KeySet(False)
    instance = trained_model(ctx, site)
    if instance is None:
        return KeySet(False)
    build = _build_scope(ctx, site)
    if model_key(instance) is None and instance.alternatives:
        keys = _agreed_keys(ctx, instance.alternatives, build)
    else:
        keys = _keys_of_model(ctx, instance, build)
    if keys.complete:
        keys.validation = _has_validation(ctx, site)
    return keys


def _agreed_keys(ctx, models: Tuple[Instance, ...], build: Optional[Scope]) -> KeySet:
    """The keys of a model that is one of several (`return small` or `return large`): known when
    every one of them logs the same keys, and nothing in the file compiles one of them unseen."""
    if setup_of_unknown_model(ctx):
        return KeySet(False)
    found = [_keys_of_model(ctx, model, build) for model in models]
    first = found[0]
    if not all(keys.complete and _same_keys(keys, first) for keys in found):
        return KeySet(False)
    return first


def _same_keys(a: KeySet, b: KeySet) -> bool:
    return (a.exact == b.exact and a.sources == b.sources and a.prefixes == b.prefixes
            and a.other_prefixes == b.other_prefixes
            and [p.pattern for p in a.patterns] == [p.pattern for p in b.patterns])


def _keys_of_model(ctx, instance: Instance, build: Optional[Scope]) -> KeySet:
    """The keys a model logs (without `val_` twins: those depend on the `fit` call); `build`: the
    scope of the tuner build function that makes it, if it does."""
    if instance.local_class is not None and any(
        ctx.resolver.class_defines(instance.local_class, m) for m in _TRAIN_OVERRIDES
    ):
        return KeySet(False)
    key = model_key(instance)
    model: Optional[ModelInfo] = model_info(ctx, instance)
    if model is None or len(model.all_compiles) != 1:
        return KeySet(False)
    several = model.output_count is not None and model.output_count > 1
    if model.external is not None and model.external.opaque:
        return KeySet(False)  # its module shows that it logs more than compile says
    if model.output_count is None and model.external is None and isinstance(key, cst.Call):
        site_of_origin = ctx.facts.site_of.get(key)
        if site_of_origin is not None and ctx.resolver.keras_name(key.func, site_of_origin.scope) == "Model":
            return KeySet(False)  # a functional model whose outputs cannot be counted
    if _layers_hold_metrics(ctx):
        return KeySet(False)  # metric objects in attributes of a Layer/Model subclass are tracked and logged
    if ctx.facts.calls_by_method.get("add_metric"):
        return KeySet(False)  # `add_metric(name=...)` logs keys compile does not show
    compile_info = model.all_compiles[0]
    if compile_info.weighted is not False:
        return KeySet(False)  # passed, or maybe passed through `**options`
    keys = KeySet(True, exact={"loss"}, sources={"loss": KeySource("min", "loss")})
    if compile_info.metrics_given is UNKNOWN:
        return KeySet(False)
    if compile_info.metrics_given is not None and not compile_info.metrics_complete:
        return KeySet(False)
    if several:
        if not _output_keys(ctx, model, compile_info, keys, build):
            return KeySet(False)
    else:
        if compile_info.per_output_loss or compile_info.metrics_by_output is not None or compile_info.metrics_mixed:
            return KeySet(False)  # one loss or metric list per output of a model whose outputs are not seen
        for ref in compile_info.metrics:
            if not _add_metric_keys(ctx, ref, "", keys, build):
                return KeySet(False)
    return keys


def _add_metric_keys(ctx, ref: MetricRef, prefix: str, keys: KeySet, build: Optional[Scope] = None) -> bool:
    produced = _metric_keys(ctx, ref, build)
    if produced is None:
        return False
    for name, numbered, source in produced:
        keys.exact.add(prefix + name)
        keys.sources[prefix + name] = source
        if numbered:
            keys.patterns.append(re.compile(re.escape(prefix + name) + r"_\d+"))
    return True


def _output_keys(ctx, model: ModelInfo, compile_info, keys: KeySet, build: Optional[Scope] = None) -> bool:
    """The keys of a functional model with several outputs: `loss`, then `<output>_loss` and
    `<output>_<metric>` for each output (measured on both flavours: tests/runtime/test_log_keys.py).
    False when an output's name, or which metrics it gets, is not known."""
    outputs = model.outputs
    if not outputs or len(outputs) != model.output_count:
        return False
    names = [output.log_name(ctx.flavour) for output in outputs]
    addresses = [output.address for output in outputs]
    if None in names or None in addresses or len(set(names)) != len(names):
        return False  # a layer without `name=`: its automatic name depends on what was built before
    position = {address: index for index, address in enumerate(addresses)}

    def output_of(address) -> Optional[int]:
        if isinstance(address, int):
            return address if address < len(outputs) else None
        return position.get(address)

    if compile_info.per_output_loss:
        losses = compile_info.losses_by_output
        if losses is None or sorted(output_of(a) for a, _ in losses if output_of(a) is not None) != list(range(len(outputs))):
            return False  # a loss for only some outputs, or for a name that is not an output
    for name in names:
        keys.exact.add(f"{name}_loss")
        keys.sources[f"{name}_loss"] = KeySource("min", "loss")
    keys.prefixes = tuple(names)  # type: ignore[arg-type]
    for output, name in zip(outputs, names):
        other = output.other_log_name(ctx.flavour)
        if other is not None and other != name:
            keys.other_prefixes[other] = name  # type: ignore[index]
    if compile_info.metrics_given is None or not compile_info.metrics:
        return not compile_info.metrics_mixed
    by_output = compile_info.metrics_by_output
    if by_output is None and compile_info.metrics_mixed:
        return False
    if by_output is None and ctx.flavour == "3":
        # A flat list: Keras 3 gives its elements to the outputs one each when there are as many,
        # else rejects it (KM111)
        if len(compile_info.metrics) != len(outputs):
            return False
        by_output = [(index, [ref]) for index, ref in enumerate(compile_info.metrics)]
    elif by_output is None:
        # tf_keras gives each output its own copy of every metric of a flat list (strings and
        # functions: `cls_accuracy`, `reg_accuracy`; objects: numbered copies, not predicted)
        if any(ref.string is None and ref.function is None for ref in compile_info.metrics):
            return False
        by_output = [(index, compile_info.metrics) for index in range(len(outputs))]
    elif all(isinstance(address, int) for address, _ in by_output) and len(by_output) != len(outputs):
        return False  # a list per output, but not one for each
    for address, refs in by_output:
        index = output_of(address)
        if index is None:
            return False  # Keras rejects a name that is not an output
        for ref in refs:
            if not _add_metric_keys(ctx, ref, f"{names[index]}_", keys, build):
                return False
    return True


def opaque_model(ctx, instance: Instance) -> bool:
    """Whether a model logs keys its `compile` does not show: its class writes its own
    `train_step`/`metrics`, or the file's layers hold metric objects or call `add_metric`."""
    if instance.local_class is not None and any(
        ctx.resolver.class_defines(instance.local_class, m) for m in _TRAIN_OVERRIDES
    ):
        return True
    return _layers_hold_metrics(ctx) or bool(ctx.facts.calls_by_method.get("add_metric"))


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


def _has_validation(ctx, site: CallSite) -> Optional[bool]:
    """Whether the `fit` call gets validation data: None when `**options` may hide it."""
    call = site.node
    if not isinstance(call.func, cst.Attribute):
        return None
    method = "fit" if call.func.attr.value == "search" else call.func.attr.value  # `search` passes them to `fit`
    for name in ("validation_split", "validation_data"):
        given = keras_argument(ctx.resolver, call, site.scope, method, name, ctx.flavour)
        if given is UNKNOWN:
            return None
        if isinstance(given, Bound):
            value = given.value
            if isinstance(value, cst.Name) and value.value == "None":
                continue
            if isinstance(value, (cst.Integer, cst.Float)) and float(value.value) == 0.0:
                continue
            return True
    return False


# --- callbacks ------------------------------------------------------------------------------------
@dataclass
class CallbackUse:
    constructor: Optional[cst.Call]  # None: made in another module of the project (`spec`)
    scope: Scope
    keras_class: str  # canonical, e.g. "callbacks.EarlyStopping"; "" for a subclass of the file's own
    fits: List[CallSite] = field(default_factory=list)  # `fit` calls, and tuners' `search` calls
    local_class: Optional[ClassValue] = None  # the file's own `Callback` subclass
    spec: Optional[CallbackSpec] = None  # what the other module's summary says of it
    anchor: Optional[cst.CSTNode] = None  # then: what brought it here (`CALLBACKS`, `make_callbacks()`)
    module: str = ""  # and where it is made

    def argument(self, ctx, parameter: str) -> Binding:
        """What the constructor passes to `parameter` (by keyword, position or `**options`)."""
        return constructor_argument(ctx.resolver, self.constructor, self.scope, self.keras_class, parameter, ctx.flavour)


def callback_uses(ctx) -> List[CallbackUse]:
    """Every Keras callback object built in the file and the resolved-model `fit` calls it reaches."""
    cached = ctx.cache.get("callback_uses")
    if cached is not None:
        return cached
    uses: Dict[object, CallbackUse] = {}
    for site in TRAINING_CALLS.sites(ctx.facts):
        func = site.node.func
        if not isinstance(func, cst.Attribute) or trained_model(ctx, site) is None:
            continue
        method = "fit" if func.attr.value == "search" else func.attr.value  # `search` passes them to `fit`
        given = keras_argument(ctx.resolver, site.node, site.scope, method, "callbacks", ctx.flavour)
        if not isinstance(given, Bound):
            continue
        for position, (element, scope) in enumerate(elements(ctx.resolver, given.value, given.scope) or ()):
            if isinstance(element, ExternalElement) and isinstance(element.spec, CallbackSpec):
                external = uses.setdefault((id(element.anchor), position), CallbackUse(  # type: ignore[call-overload]
                    None, scope, element.spec.keras_class, spec=element.spec, anchor=element.anchor, module=element.module))
                external.fits.append(site)
                continue
            instance = ctx.resolver.instance(element, scope, symbols.CALLBACK)
            if instance is None or not isinstance(instance.origin, cst.Call):
                continue
            if instance.keras_class is None and instance.local_class is None:
                continue
            constructor = instance.origin
            origin_site = ctx.facts.site_of.get(constructor)
            if origin_site is None:
                continue
            use = uses.setdefault(constructor, CallbackUse(constructor, origin_site.scope, instance.keras_class or "",
                                                           local_class=instance.local_class))
            use.fits.append(site)
    result = list(uses.values())
    ctx.cache["callback_uses"] = result
    return result
