"""Per-model facts: compile calls (loss, metrics), the final layer, fit calls.

Built once per file on first use (rules share it through `model_facts(ctx)`), from the
facts pass's call sites: nothing walks the tree again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

import libcst as cst

from ..keras import symbols
from ..keras.metrics import BINARY, LOSS_FAMILY
from .collect import CallSite, ModuleFacts, find_keyword, positional_args
from ..project import specs
from .arguments import UNKNOWN, Binding, Bound, bind
from .containers import elements, items, metric_elements
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
    # The same metrics as `metrics`, by the output they are given to: a dict keyed by output name
    # or a list of lists (an int address). None: one flat list (or not known).
    metrics_by_output: Optional[List[Tuple[Union[str, int], List["MetricRef"]]]] = None
    metrics_mixed: bool = False  # lists and metrics side by side in one list: Keras rejects it
    # One loss per output (a dict by name, a list by position), when `per_output_loss`; None: not known
    losses_by_output: Optional[List[Tuple[Union[str, int], LossInfo]]] = None

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
class OutputInfo:
    """One output of a functional model with several."""

    dict_key: Optional[str]  # `keras.Model(inputs, {"cls": a, ...})`: "cls"; None for a list
    layer_name: Optional[str]  # the `name=` of the layer that makes it, when the file shows it
    layer: Optional[LayerInfo]

    @property
    def address(self) -> Optional[str]:
        """How `compile`'s dicts name it, on both flavours: a dict output by its key, a list's by its layer."""
        return self.dict_key if self.dict_key is not None else self.layer_name

    def log_name(self, flavour: str) -> Optional[str]:
        """The prefix of its log keys (`cls_loss`, `val_cls_accuracy`). Keras 3 names a dict
        output's keys after its dict key, tf_keras after its layer; both name a list's after the
        layer (measured on both flavours, tests/runtime/test_log_keys.py)."""
        if self.dict_key is not None and flavour == "3":
            return self.dict_key
        return self.layer_name

    def other_log_name(self, flavour: str) -> Optional[str]:
        return self.log_name("2" if flavour == "3" else "3")


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
    outputs: Optional[List[OutputInfo]] = None  # a functional model's several outputs, in order

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
        cached, ctx.cache["models_unattributed"] = _build(ctx.facts, ctx.resolver, ctx.flavour)
        ctx.cache["models"] = cached
    return cached


def setup_of_unknown_model(ctx) -> bool:
    """Whether the file compiles (or adds layers to) a model that may be one of several: that
    call changes one of them, and which one is not known."""
    model_facts(ctx)
    return ctx.cache["models_unattributed"]


def model_of(ctx, receiver: cst.BaseExpression, scope: Scope) -> Optional[ModelInfo]:
    instance = ctx.resolver.instance(receiver, scope, symbols.MODEL)
    if instance is None:
        return None
    key = model_key(instance)
    return model_facts(ctx).get(key) if key is not None else None


def _build(facts: ModuleFacts, resolver: Resolver, flavour: str) -> Tuple[Dict[object, ModelInfo], bool]:
    models: Dict[object, ModelInfo] = {}
    adds: Dict[object, List[CallSite]] = {}
    unattributed = False
    for site in MODEL_SETUP_CALLS.sites(facts):
        func = site.node.func
        if not isinstance(func, cst.Attribute):
            continue
        instance = resolver.instance(func.value, site.scope, symbols.MODEL)
        key = model_key(instance) if instance is not None else None
        if key is None:
            unattributed = unattributed or (instance is not None and bool(instance.alternatives))
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
            if info.output_count is not None and info.output_count > 1:
                info.outputs = _outputs(key, facts, resolver)
    return models, unattributed


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
    per_output_loss = isinstance(loss_given, Bound) and isinstance(loss_given.value, (cst.Dict, cst.List, cst.Tuple))
    losses = None
    if per_output_loss:
        value, scope = loss_given.value, loss_given.scope  # type: ignore[union-attr]
        keyed = items(resolver, value, scope) if isinstance(value, cst.Dict) else None
        listed = elements(resolver, value, scope) if not isinstance(value, cst.Dict) else None
        if keyed is not None:
            losses = [(key, _loss_info(node, inner, resolver)) for key, node, inner, _ in keyed]
        elif listed is not None:
            losses = [(position, _loss_info(node, inner, resolver)) for position, (node, inner) in enumerate(listed)]
    given = COMPILE_METRICS.bind(resolver, call, site.scope, flavour)
    metrics: List[MetricRef] = []
    complete = given is None
    by_output = None
    mixed = False
    if isinstance(given, Bound):
        found = metric_elements(resolver, given.value, given.scope)
        complete = found is not None
        inside = set(map(id, find_all(call, cst.CSTNode))) if found else set()
        refs: Dict[int, MetricRef] = {}
        for node, scope in found or ():
            ref = metric_ref(node, scope, resolver)
            ref.direct = id(node) in inside
            refs[id(node)] = ref
            metrics.append(ref)
        per_metric = _by_output(resolver, given.value, given.scope) if found else None
        if per_metric is not None:
            by_output = [(address, [refs[id(node)] for node, _ in nodes if id(node) in refs]) for address, nodes in per_metric]
        elif found is not None:
            mixed = _mixed(resolver, given.value, given.scope)
    return CompileInfo(site, loss, metrics, given, complete, weighted, per_output_loss, by_output, mixed, losses)


def _by_output(resolver: Resolver, node: cst.BaseExpression, scope: Scope
               ) -> Optional[List[Tuple[Union[str, int], List[Tuple[cst.BaseExpression, Scope]]]]]:
    """A `compile` argument given per output: a dict keyed by output name, or a list with a list
    (or `None`) per output. The values of each output, by its name or position; None when the
    value is one flat list, a single value, or not known."""
    if not isinstance(node, (cst.List, cst.Tuple, cst.BinaryOperation)):
        keyed = items(resolver, node, scope)
        if keyed is not None:
            return [(key, _per_output_values(resolver, value, inner)) for key, value, inner, _ in keyed]
    listed = elements(resolver, node, scope)
    if not listed or not all(_is_output_entry(value) for value, _ in listed):
        return None
    return [(position, _per_output_values(resolver, value, inner)) for position, (value, inner) in enumerate(listed)]


def _is_output_entry(value: cst.BaseExpression) -> bool:
    return isinstance(value, (cst.List, cst.Tuple)) or (isinstance(value, cst.Name) and value.value == "None")


def _per_output_values(resolver: Resolver, value: cst.BaseExpression, scope: Scope) -> List[Tuple[cst.BaseExpression, Scope]]:
    if isinstance(value, cst.Name) and value.value == "None":
        return []
    if isinstance(value, (cst.List, cst.Tuple)):
        return list(elements(resolver, value, scope) or ())
    return [(value, scope)]  # `{"cls": "accuracy"}`: one metric (or one loss) for that output


def _mixed(resolver: Resolver, node: cst.BaseExpression, scope: Scope) -> bool:
    """`[["accuracy"], "mae"]`: some elements lists, some not."""
    listed = elements(resolver, node, scope) or []
    return any(_is_output_entry(value) for value, _ in listed)


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


def _outputs(origin: cst.Call, facts: ModuleFacts, resolver: Resolver) -> Optional[List[OutputInfo]]:
    """The outputs of `keras.Model(inputs, [a, b])` or `keras.Model(inputs, {"cls": a, ...})`,
    each with the layer that makes it when the file shows it."""
    site = facts.site_of.get(origin)
    if site is None:
        return None
    keyword = find_keyword(origin, "outputs")
    args = positional_args(origin)
    node = keyword.value if keyword is not None else (args[1].value if len(args) > 1 else None)
    if node is None:
        return None
    keyed = items(resolver, node, site.scope) if not isinstance(node, (cst.List, cst.Tuple)) else None
    if keyed is not None:
        entries: List[Tuple[Optional[str], cst.BaseExpression, Scope]] = [(key, value, inner) for key, value, inner, _ in keyed]
    else:
        listed = elements(resolver, node, site.scope)
        if listed is None:
            return None
        entries = [(None, value, inner) for value, inner in listed]
    out = []
    for key, value, inner in entries:
        layer = _tensor_layer(value, inner, resolver, 0)
        name = None
        if layer is not None:
            given = find_keyword(layer.call, "name")
            layer_site = facts.site_of.get(layer.call)
            if given is not None and layer_site is not None:
                name = resolver.string_value(given.value, layer_site.scope)
        out.append(OutputInfo(key, name, layer))
    return out


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


@dataclass
class MetricGroup:
    """Metrics with what they are computed on: the loss and the output layer of their output."""

    loss: Optional[LossInfo]  # None: not known
    activation: Optional[str]  # of the output's last layer; None: not known
    metrics: List[MetricRef]


def metric_groups(model: ModelInfo, info: CompileInfo) -> List[MetricGroup]:
    """The compile's metrics grouped by output. One model output: one group with the compile's
    loss. Several: a group per output that `metrics=` addresses (a dict by output name, a list per
    output), with that output's loss (`loss=` per output, or the one loss they share) and last
    layer; what cannot be paired gets `None`, so rules stay silent on it."""
    several = model.output_count is not None and model.output_count > 1
    if not several and info.metrics_by_output is None and not info.per_output_loss:
        return [MetricGroup(info.loss, model.final_activation, info.metrics)]
    if not several or not model.outputs or info.metrics_by_output is None:
        return [MetricGroup(None, None, info.metrics)]
    outputs = model.outputs
    addresses = [output.address for output in outputs]

    def index_of(address: Union[str, int]) -> Optional[int]:
        if isinstance(address, int):
            return address if address < len(outputs) else None
        return addresses.index(address) if address in addresses else None

    losses: Dict[int, LossInfo] = {}
    for address, loss in info.losses_by_output or ():
        index = index_of(address)
        if index is not None:
            losses[index] = loss
    groups = []
    for address, refs in info.metrics_by_output:
        index = index_of(address)
        if index is None:
            groups.append(MetricGroup(None, None, refs))
            continue
        loss = losses.get(index) if info.per_output_loss else info.loss
        layer = outputs[index].layer
        groups.append(MetricGroup(loss, layer.activation if layer is not None else None, refs))
    return groups


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
    return group_logits_reason(MetricGroup(info.loss, model.final_activation, info.metrics))


def group_logits_reason(group: MetricGroup) -> Optional[str]:
    """`logits_reason` for one output's metrics."""
    loss = group.loss
    if loss is None or loss.family != BINARY:
        return None  # sparse/categorical CE with logits and "accuracy" is right (argmax)
    if loss.from_logits is not True:
        return None
    if group.activation in ("sigmoid", "softmax"):
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
