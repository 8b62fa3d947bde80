"""Per-model facts: compile calls (loss, metrics), the final layer, fit calls.

Built once per file on first use (rules share it through `model_facts(ctx)`), from the
facts pass's call sites: nothing walks the tree again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import libcst as cst

from ..keras import symbols
from ..keras.metrics import BINARY, LOSS_FAMILY
from .collect import CallSite, ModuleFacts, find_keyword, positional_args
from ..project import specs
from .arguments import UNKNOWN, Binding, Bound, bind
from .containers import elements
from .entries import COMPILE_LOSS, COMPILE_METRICS, COMPILE_WEIGHTED_METRICS, MODEL_SETUP_CALLS
from .walk import find_all
from .resolve import Resolver
from .values import ClassValue, Dotted, External, ExternalElement, FunctionValue, Instance, Scope
from .layers import layer_output


@dataclass
class LossInfo:
    node: Optional[cst.BaseExpression]  # None: written in another module
    family: Optional[str]  # metrics.BINARY | CATEGORICAL | SPARSE | REGRESSION | None
    from_logits: Optional[bool]  # None: unknown


@dataclass
class MetricRef:
    """One element of `compile(metrics=[...])`."""

    node: cst.BaseExpression
    scope: Optional[Scope] = None  # where `node` is evaluated (a module-level `METRICS` list's elements: there)
    direct: bool = True  # written inside the compile call itself (not reached through a name or a helper)
    string: Optional[str] = None  # "accuracy"
    keras_class: Optional[str] = None  # "AUC" for keras.metrics.AUC(...)
    constructor: Optional[cst.Call] = None  # the call that made it (maybe elsewhere, via a variable)
    function: Optional[FunctionValue] = None  # a metric function defined in this file
    keras_function: Optional[str] = None  # "metrics.binary_accuracy" passed as a function
    spec: Optional[specs.MetricSpec] = None  # a metric another module of the project defines


@dataclass
class CompileInfo:
    site: Optional[CallSite]  # None: a compile another module of the project does (`compile_model(model)`)
    loss: Optional[LossInfo]
    metrics: List[MetricRef]  # the elements of `metrics=` that are known
    metrics_given: Binding  # what `metrics=` is: Bound, None (not passed) or UNKNOWN (`**options` unseen)
    metrics_complete: bool  # every element is known (a list through names, helpers and `+`)
    weighted: Optional[bool] = False  # `weighted_metrics=` given (None: maybe, through `**options`)
    per_output_loss: bool = False  # one loss per output (a dict or list)

    @property
    def has_metrics(self) -> Optional[bool]:
        """Whether `compile` gets any metric: None when that cannot be known."""
        if self.metrics_given is UNKNOWN or (self.metrics_given is not None and not self.metrics_complete):
            return None if not self.metrics else True
        return bool(self.metrics)


@dataclass
class LayerInfo:
    keras_class: str  # canonical, e.g. "layers.Dense"
    call: cst.Call
    activation: Optional[str]  # "sigmoid", "softmax", "linear", ...; None: unknown


@dataclass
class ModelInfo:
    key: object
    compiles: List[CompileInfo] = field(default_factory=list)  # the compile calls of this file
    final_layer: Optional[LayerInfo] = None
    output_count: Optional[int] = None
    external: Optional[specs.ModelSpec] = None  # built by another module of the project
    # compiles another module does (its builder's, or `compile_model(model)`'s): their findings are
    # that module's; only what they log is read here
    elsewhere: List[CompileInfo] = field(default_factory=list)

    @property
    def all_compiles(self) -> List[CompileInfo]:
        return self.elsewhere + self.compiles

    @property
    def final_activation(self) -> Optional[str]:
        if self.final_layer is None and self.external is not None:
            return self.external.final_activation
        return self.final_layer.activation if self.final_layer else None

    @property
    def final_units(self) -> Optional[int]:
        if self.final_layer is None and self.external is not None:
            return self.external.final_units
        if self.final_layer is None or self.final_layer.keras_class != "layers.Dense":
            return None
        call = self.final_layer.call
        units = find_keyword(call, "units")
        args = positional_args(call)
        value = units.value if units is not None else (args[0].value if args else None)
        if isinstance(value, cst.Integer):
            return int(value.value)
        return None


def model_key(instance: Instance) -> Optional[object]:
    return instance.origin if instance.origin is not None else instance.local_class


def model_info(ctx, instance: Instance) -> Optional[ModelInfo]:
    """What the file (or, for a model another module builds, its summary) knows of a model."""
    key = model_key(instance)
    if key is None:
        return None
    found = model_facts(ctx).get(key)
    if found is None and isinstance(instance.external, specs.ModelSpec):
        found = external_model(key, instance.external)
    return found


def external_model(key: object, spec: specs.ModelSpec, compiled_here: bool = False) -> ModelInfo:
    """A model another module builds: its compiles, unless this file compiles it again (the last
    compile is the one that counts, and this file's runs after the builder's)."""
    elsewhere = [] if compiled_here else [_spec_compile(c) for c in spec.compiles]
    return ModelInfo(key, [], None, spec.output_count, spec, elsewhere)


_ELSEWHERE = object()  # `metrics=` given in another module (not a Bound: there is no expression here)


def _spec_compile(spec: specs.CompileSpec) -> CompileInfo:
    metrics = [MetricRef(None, string=m.string, keras_class=m.keras_class, keras_function=m.keras_function,  # type: ignore[arg-type]
                         spec=m, direct=False) for m in spec.metrics or ()]
    given: Binding = None if spec.metrics == () else (UNKNOWN if spec.metrics is None else _ELSEWHERE)  # type: ignore[assignment]
    loss = LossInfo(None, spec.loss_family, spec.from_logits)
    return CompileInfo(None, loss, metrics, given, spec.metrics is not None, None if spec.weighted else False,
                       spec.per_output_loss)


def model_facts(ctx) -> Dict[object, ModelInfo]:
    """Model key (creating call or the user's Model subclass) -> ModelInfo. Cached per file."""
    cached = ctx.cache.get("models")
    if cached is None:
        cached = ctx.cache["models"] = _build(ctx.facts, ctx.resolver, ctx.flavour)
    return cached


def model_of(ctx, receiver: cst.BaseExpression, scope: Scope) -> Optional[ModelInfo]:
    instance = ctx.resolver.instance(receiver, scope, symbols.MODEL)
    if instance is None:
        return None
    key = model_key(instance)
    return model_facts(ctx).get(key) if key is not None else None


def _build(facts: ModuleFacts, resolver: Resolver, flavour: str) -> Dict[object, ModelInfo]:
    models: Dict[object, ModelInfo] = {}
    adds: Dict[object, List[CallSite]] = {}
    for site in MODEL_SETUP_CALLS.sites(facts):
        func = site.node.func
        if not isinstance(func, cst.Attribute):
            continue
        instance = resolver.instance(func.value, site.scope, symbols.MODEL)
        key = model_key(instance) if instance is not None else None
        if key is None:
            continue
        if key not in models and isinstance(instance.external, specs.ModelSpec):  # type: ignore[union-attr]
            models[key] = external_model(key, instance.external, compiled_here=func.attr.value == "compile")  # type: ignore[union-attr]
        info = models.setdefault(key, ModelInfo(key))
        if func.attr.value == "compile":
            info.compiles.append(compile_info(site, resolver, flavour))
        else:
            adds.setdefault(key, []).append(site)
    _compiled_elsewhere(facts, resolver, models)
    for key, info in models.items():
        if isinstance(key, cst.Call) and info.external is None:
            info.final_layer, info.output_count = _architecture(key, adds.get(key, []), facts, resolver)
    return models


def _compiled_elsewhere(facts: ModuleFacts, resolver: Resolver, models: Dict[object, ModelInfo]) -> None:
    """`compile_model(model)` where another module's function compiles the model it is given: the
    compile belongs to this file's model."""
    if resolver.project is None:
        return
    for site in facts.calls:
        func = resolver.resolve(site.node.func, site.scope) if isinstance(site.node.func, (cst.Name, cst.Attribute)) else None
        if not isinstance(func, External) or func.export.kind != specs.COMPILER or func.export.compile is None:
            continue
        given = bind(resolver, site.node, site.scope, func.export.parameter_name, func.export.parameter)
        if not isinstance(given, Bound):
            continue
        instance = resolver.instance(given.value, given.scope, symbols.MODEL)
        key = model_key(instance) if instance is not None else None
        if key is None:
            continue
        if key not in models and isinstance(instance.external, specs.ModelSpec):  # type: ignore[union-attr]
            models[key] = external_model(key, instance.external, compiled_here=True)  # type: ignore[union-attr]
        models.setdefault(key, ModelInfo(key)).elsewhere.append(_spec_compile(func.export.compile))


# --- compile --------------------------------------------------------------------------------------
def compile_info(site: CallSite, resolver: Resolver, flavour: str) -> CompileInfo:
    call = site.node
    loss_given = COMPILE_LOSS.bind(resolver, call, site.scope, flavour)
    loss = _loss_info(loss_given.value, loss_given.scope, resolver) if isinstance(loss_given, Bound) else None
    weighted_given = COMPILE_WEIGHTED_METRICS.bind(resolver, call, site.scope, flavour)
    weighted = None if weighted_given is UNKNOWN else weighted_given is not None
    per_output_loss = isinstance(loss_given, Bound) and isinstance(loss_given.value, (cst.Dict, cst.List))
    given = COMPILE_METRICS.bind(resolver, call, site.scope, flavour)
    metrics: List[MetricRef] = []
    complete = given is None
    if isinstance(given, Bound):
        found = elements(resolver, given.value, given.scope)
        complete = found is not None
        inside = set(map(id, find_all(call, cst.CSTNode))) if found else set()
        for node, scope in found or ():
            ref = metric_ref(node, scope, resolver)
            ref.direct = id(node) in inside
            metrics.append(ref)
    return CompileInfo(site, loss, metrics, given, complete, weighted, per_output_loss)


def _external_ref(node: cst.BaseExpression, scope: Scope, spec: specs.MetricSpec, direct: bool) -> MetricRef:
    if not isinstance(spec, specs.MetricSpec):
        return MetricRef(node, scope, direct=direct)
    return MetricRef(node, scope, direct=direct, string=spec.string, keras_class=spec.keras_class,
                     keras_function=spec.keras_function, spec=spec)


def _bool_keyword(call: cst.Call, name: str) -> Optional[bool]:
    arg = find_keyword(call, name)
    if arg is None:
        return False  # Keras's default for from_logits
    if isinstance(arg.value, cst.Name) and arg.value.value in ("True", "False"):
        return arg.value.value == "True"
    return None


def _loss_info(node: cst.BaseExpression, scope: Scope, resolver: Resolver) -> LossInfo:
    text = resolver.string_value(node, scope)
    if text is not None:
        return LossInfo(node, LOSS_FAMILY.get(text), False)
    value = resolver.resolve(node, scope)
    if isinstance(value, Instance) and value.kind == symbols.LOSS and value.keras_class:
        from_logits = _bool_keyword(value.origin, "from_logits") if isinstance(value.origin, cst.Call) else None
        return LossInfo(node, LOSS_FAMILY.get(value.keras_class), from_logits)
    if isinstance(value, Dotted):
        split = symbols.split_keras(value.path)
        if split is not None:
            return LossInfo(node, LOSS_FAMILY.get(split[0]), False)
    return LossInfo(node, None, None)


def metric_ref(node: cst.BaseExpression, scope: Scope, resolver: Resolver) -> MetricRef:
    if isinstance(node, ExternalElement):  # an element of another module's list: never edited here
        return _external_ref(node.anchor, scope, node.spec, direct=False)
    text = resolver.string_value(node, scope)
    if text is not None:
        return MetricRef(node, scope, string=text)
    value = resolver.resolve(node, scope)
    if isinstance(value, External) and value.export.kind == specs.METRIC and value.export.metric is not None:
        return _external_ref(node, scope, value.export.metric, direct=True)  # `from .metrics import f1_m`
    if isinstance(value, Instance) and isinstance(value.external, specs.MetricSpec):
        ref = _external_ref(node, scope, value.external, direct=True)
        ref.constructor = value.origin if isinstance(value.origin, cst.Call) else None
        return ref
    if isinstance(value, Instance) and value.kind == symbols.METRIC and value.local_class is not None and value.keras_class is None:
        # the file's own `Metric` subclass: its key is its `name=`, else its class's default
        spec = specs.MetricSpec(local_class=value.local_class.node.name.value,
                                default_name=default_metric_name(value.local_class))
        return MetricRef(node, scope, constructor=value.origin if isinstance(value.origin, cst.Call) else None, spec=spec)
    if isinstance(value, Instance) and value.kind == symbols.METRIC:
        leaf = value.keras_class.split(".")[-1] if value.keras_class else None
        constructor = value.origin if isinstance(value.origin, cst.Call) else None
        return MetricRef(node, scope, keras_class=leaf, constructor=constructor)
    if isinstance(value, FunctionValue):
        return MetricRef(node, scope, function=value)
    if isinstance(value, Dotted):
        split = symbols.split_keras(value.path)
        if split is not None:
            return MetricRef(node, scope, keras_function=split[0])
    return MetricRef(node, scope)


# --- architecture ---------------------------------------------------------------------------------
def _architecture(
    origin: cst.Call, adds: List[CallSite], facts: ModuleFacts, resolver: Resolver
) -> Tuple[Optional[LayerInfo], Optional[int]]:
    site = facts.site_of.get(origin)
    if site is None:
        return None, None
    name = resolver.keras_name(origin.func, site.scope)
    if name == "Sequential":
        layers: List[Tuple[cst.BaseExpression, Scope]] = []
        args = positional_args(origin)
        keyword = find_keyword(origin, "layers")
        listed = keyword.value if keyword is not None else (args[0].value if args else None)
        if isinstance(listed, (cst.List, cst.Tuple)) and listed.elements:
            layers = [(listed.elements[-1].value, site.scope)]
        if adds:
            last = adds[-1].node
            add_args = positional_args(last)
            if add_args:
                layers = [(add_args[0].value, adds[-1].scope)]
        if not layers:
            return None, 1
        return _layer_info(layers[-1][0], layers[-1][1], resolver), 1
    if name == "Model":
        outputs = find_keyword(origin, "outputs")
        args = positional_args(origin)
        node = outputs.value if outputs is not None else (args[1].value if len(args) > 1 else None)
        if node is None:
            return None, None
        if isinstance(node, cst.Name):  # outs = [a, b]; keras.Model(inputs, outs)
            assigned = resolver.assigned_values(node, site.scope)
            if assigned is not None and len(assigned) == 1 and isinstance(assigned[0][0], (cst.List, cst.Tuple, cst.Dict)):
                node = assigned[0][0]  # type: ignore[assignment]
        if isinstance(node, (cst.List, cst.Tuple)):
            return None, len(node.elements)
        if isinstance(node, cst.Dict):
            return None, len(node.elements)
        layer = _tensor_layer(node, site.scope, resolver, 0)
        return layer, (1 if layer is not None else None)
    return None, None


def _tensor_layer(node: cst.BaseExpression, scope: Scope, resolver: Resolver, depth: int) -> Optional[LayerInfo]:
    """The layer that produced a functional tensor: `Dense(1, activation="sigmoid")(x)`."""
    if depth > 8:
        return None
    if isinstance(node, cst.Name):
        values = resolver.assigned_values(node, scope)
        if values is None or len(values) != 1:
            return None
        return _tensor_layer(values[0][0], values[0][1], resolver, depth + 1)  # type: ignore[arg-type]
    if isinstance(node, cst.Call) and isinstance(node.func, (cst.Call, cst.Name, cst.Attribute)):
        return _layer_info(node.func, scope, resolver)
    return None


def _layer_info(node: cst.BaseExpression, scope: Scope, resolver: Resolver) -> Optional[LayerInfo]:
    value = resolver.resolve(node, scope)
    if not (isinstance(value, Instance) and value.kind == symbols.LAYER and value.keras_class):
        return None
    call = value.origin if isinstance(value.origin, cst.Call) else None
    if call is None:
        return None
    return LayerInfo(value.keras_class, call, _activation(value.keras_class, call, scope, resolver))


def _activation(keras_class: str, call: cst.Call, scope: Scope, resolver: Resolver) -> Optional[str]:
    return layer_output(keras_class, call, scope, resolver).activation


def logits_reason(model: ModelInfo, info: CompileInfo) -> Optional[str]:
    """Why the model's output is a logit, or None.

    Only `from_logits=True` says so. Measured on both flavours (the fixture's data and model,
    10 epochs), against the catalogue's "final linear Dense(1)" reading:
    - a linear `Dense(1)` trained with plain `"binary_crossentropy"` is trained as a
      probability (the loss clips it to [eps, 1 - eps]): 0.5 is its boundary, accuracy at 0.5
      0.8475 vs 0.6925 at 0.0 (K3), 0.8375 vs 0.6675 (tf_keras). Not logits: silent.
    - a `sigmoid` output with `from_logits=True` (a double sigmoid; Keras 3 warns): the 0.5
      metrics equal numpy on `predict() > 0.5`, while `threshold=0.0` would call everything
      positive. Not logits either: silent.
    """
    loss = info.loss
    if loss is None or loss.family != BINARY:
        return None  # sparse/categorical CE with logits and "accuracy" is right (argmax)
    if loss.from_logits is not True:
        return None
    if model.final_activation in ("sigmoid", "softmax"):
        return None
    return "`from_logits=True`"


def default_metric_name(cls: "ClassValue") -> Optional[str]:
    """The name a `Metric` subclass logs under when made without `name=`: the default of its
    `__init__`'s `name` parameter, or the `name=` it passes to `super().__init__` as a string."""
    init = next((b.node for b in cls.body.bindings.get("__init__", ()) if b.how == "function"), None)
    if not isinstance(init, cst.FunctionDef):
        return None
    for param in list(init.params.params) + list(init.params.kwonly_params):
        if param.name.value == "name":
            default = param.default
            if isinstance(default, cst.SimpleString) and isinstance(default.evaluated_value, str):
                return default.evaluated_value
            return None
    for call in find_all(init.body, cst.Call):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "__init__":
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == "name" and isinstance(arg.value, cst.SimpleString):
                    value = arg.value.evaluated_value
                    return value if isinstance(value, str) else None
    return None
