"""A module's summary: what each of its top-level names exports, read with the facts and the
resolver the rules use (so what is known here is what a rule would know in the module itself).

Functions that build and compile a model, functions that compile the model they are given,
lists of metrics and callbacks (and functions that return them), metric functions (with whether
they divide batch sums), `Metric`/`Callback`/`Model` subclasses, string constants, and names the
module re-exports from another project module. Anything not known stays out.
"""

from __future__ import annotations

import ast
import warnings
from typing import Dict, List, Optional, Tuple

import libcst as cst

from ..facts.arguments import UNKNOWN, Bound, bind, constructor_argument
from ..facts.collect import collect_facts
from ..facts.containers import elements
from ..facts.logkeys import opaque_model
from ..facts.metric_functions import is_batchwise_ratio
from ..facts.models import CompileInfo, MetricRef, ModelInfo, compile_info, default_metric_name, metric_ref, model_info
from ..facts.resolve import Resolver
from ..facts.templates import template_pieces
from ..facts.values import Binding, ClassValue, FunctionValue, Instance
from ..keras import symbols
from . import specs

_MONITORED = ("callbacks.EarlyStopping", "callbacks.ModelCheckpoint", "callbacks.ReduceLROnPlateau")


class _Context:
    """What `model_facts` and the log-key code read (a RuleContext without rules)."""

    def __init__(self, module: cst.Module, resolver: Resolver, flavour: str, path: str,
                 tree: Optional[ast.Module]) -> None:
        self.module = module
        self.tree = tree  # CPython's, for line numbers (its top-level statements are libcst's)
        self.facts = resolver.facts
        self.resolver = resolver
        self.flavour = flavour
        self.path = path
        self.cache: dict = {}


def parse_module(text: str) -> Optional[cst.Module]:
    """libcst's module, or its re-indented copy's (valid code libcst refuses); None otherwise."""
    from ..normalise import normalise_indentation

    try:
        return cst.parse_module(text)
    except Exception:  # noqa: BLE001 - any failure: try the copy, else unknown
        pass
    normalised = normalise_indentation(text)
    if normalised is None:
        return None
    try:
        return cst.parse_module(normalised.text)
    except Exception:  # noqa: BLE001
        return None


def _python_tree(text: str) -> Optional[ast.Module]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def module_flavour(text: str, configured: str) -> str:
    """The flavour a module runs on, as the engine judges it (its imports and code, then the settings)."""
    from ..engine import summary_flavour
    from ..prefilter import summarize

    tree = _python_tree(text)
    return summary_flavour(summarize(tree), configured) if tree is not None else configured


def summarize_module(text: str, name: str, path: str, project, flavour: str) -> specs.ModuleSummary:
    """The summary of module `name` (its text at `path`); `project` resolves its own imports."""
    module = parse_module(text)
    if module is None:
        return specs.ModuleSummary(name, path)
    try:
        facts = collect_facts(module)
    except RecursionError:
        return specs.ModuleSummary(name, path)
    resolver = Resolver(facts, project)
    ctx = _Context(module, resolver, flavour, path, _python_tree(text))
    exports: Dict[str, specs.Export] = {}
    for binding_name, bindings in facts.root.bindings.items():
        if binding_name.startswith("__") or not bindings:
            continue
        try:
            export = _export(ctx, bindings)
        except RecursionError:
            export = None
        if export is not None:
            exports[binding_name] = export
    return specs.ModuleSummary(name, path, exports)


def _line(ctx: _Context, node: Optional[cst.CSTNode]) -> int:
    """The line of the top-level statement that holds `node` (its own line when it is one)."""
    index = ctx.facts.top_statement.get(id(node)) if node is not None else None
    if index is None or ctx.tree is None or index >= len(ctx.tree.body):
        return 0
    return ctx.tree.body[index].lineno


def _export(ctx: _Context, bindings: List[Binding]) -> Optional[specs.Export]:
    binding = bindings[-1]
    if len(bindings) > 1 and not all(b.how == "function" for b in bindings):
        return None  # rebound at module level: which value an importer sees is not one answer
    if binding.how == "import":
        dotted = binding.dotted or ""
        if symbols.split_keras(dotted.lstrip(".")) is not None:
            return None
        return specs.Export(specs.ALIAS, target=dotted)
    if binding.how == "function" and isinstance(binding.node, cst.FunctionDef):
        return _function_export(ctx, binding.node)
    if binding.how == "class" and isinstance(binding.node, cst.ClassDef):
        cls = ctx.resolver._class_by_node.get(binding.node)
        return _class_export(ctx, cls) if cls is not None else None
    if binding.how == "value" and binding.node is not None:
        return _value_export(ctx, binding.node, binding.scope)  # type: ignore[arg-type]
    return None


# --- values -----------------------------------------------------------------------------------------
def _value_export(ctx: _Context, node: cst.BaseExpression, scope) -> Optional[specs.Export]:
    text = ctx.resolver.string_value(node, scope)
    if text is not None:
        return specs.Export(specs.STRING, string=text)
    value = ctx.resolver.resolve(node, scope)
    if isinstance(value, Instance):
        if value.kind == symbols.MODEL:
            model = model_info(ctx, value)
            return specs.Export(specs.MODEL, model=_model_spec(ctx, value, model)) if model is not None else None
        if value.kind == symbols.METRIC:
            return specs.Export(specs.METRIC, metric=metric_spec(ctx, metric_ref(node, scope, ctx.resolver)))
    found = elements(ctx.resolver, node, scope)
    if found:
        return _list_export(ctx, found, specs.METRICS, specs.CALLBACKS)
    return None


def _list_export(ctx: _Context, found, metrics_kind: str, callbacks_kind: str) -> Optional[specs.Export]:
    """A list all of whose elements are callbacks (Keras's), or none of which is."""
    callbacks = [callback_spec(ctx, node, scope) for node, scope in found]
    if all(c is not None for c in callbacks):
        return specs.Export(callbacks_kind, callbacks=tuple(callbacks))  # type: ignore[arg-type]
    if any(c is not None for c in callbacks):
        return None
    metrics = tuple(metric_spec(ctx, metric_ref(node, scope, ctx.resolver)) for node, scope in found)
    if not any(m.known for m in metrics):
        return None  # a list of something else
    return specs.Export(metrics_kind, metrics=metrics)


def callback_spec(ctx: _Context, node, scope) -> Optional[specs.CallbackSpec]:
    """A Keras callback object, with what KM207/KM208 read of it."""
    value = ctx.resolver.resolve(node, scope)
    if not (isinstance(value, Instance) and value.kind == symbols.CALLBACK and value.keras_class):
        return None
    if isinstance(value.external, specs.CallbackSpec):
        return value.external
    call = value.origin
    if not isinstance(call, cst.Call) or value.keras_class not in _MONITORED:
        return specs.CallbackSpec(value.keras_class, monitor="")
    site = ctx.facts.site_of.get(call)
    if site is None:
        return None

    def text_of(parameter: str, default: Optional[str]) -> Optional[str]:
        given = constructor_argument(ctx.resolver, call, site.scope, value.keras_class, parameter, ctx.flavour)
        if given is None:
            return default
        if given is UNKNOWN:
            return ""
        return ctx.resolver.string_value(given.value, given.scope) or ""

    save = constructor_argument(ctx.resolver, call, site.scope, value.keras_class, "save_best_only", ctx.flavour)
    save_best = None if save is UNKNOWN else (
        isinstance(save, Bound) and isinstance(save.value, cst.Name) and save.value.value == "True")
    keys: Tuple[str, ...] = ()
    if value.keras_class == "callbacks.ModelCheckpoint":
        path = constructor_argument(ctx.resolver, call, site.scope, value.keras_class, "filepath", ctx.flavour)
        if isinstance(path, Bound):
            keys = tuple(key for piece in template_pieces(ctx.resolver, path.value, path.scope) for key in piece.keys())
    return specs.CallbackSpec(value.keras_class, monitor=text_of("monitor", None), mode=text_of("mode", "auto"),
                              save_best_only=save_best, filepath_keys=keys, line=_line(ctx, call))


def metric_spec(ctx: _Context, ref: MetricRef) -> specs.MetricSpec:
    if ref.spec is not None and ref.constructor is None:
        return ref.spec
    if ref.string is not None:
        return specs.MetricSpec(string=ref.string)
    if ref.function is not None:
        ratio = is_batchwise_ratio(ctx.resolver, ref.function, {}, set())
        return specs.MetricSpec(function=ref.function.node.name.value, ratio=ratio)
    if ref.keras_function is not None:
        return specs.MetricSpec(keras_function=ref.keras_function)
    if ref.spec is not None and ref.constructor is not None:  # another module's class, made here
        return specs.MetricSpec(**{**ref.spec.__dict__, **_constructor_name(ctx, ref.constructor, None)})
    if ref.keras_class is not None and ref.constructor is not None:
        return specs.MetricSpec(keras_class=ref.keras_class, **_constructor_name(ctx, ref.constructor, f"metrics.{ref.keras_class}"))
    return specs.MetricSpec()


def _constructor_name(ctx: _Context, call: cst.Call, keras_class: Optional[str]) -> dict:
    site = ctx.facts.site_of.get(call)
    if site is None:
        return {"name_unknown": True}
    if keras_class is not None:
        given = constructor_argument(ctx.resolver, call, site.scope, keras_class, "name", ctx.flavour)
    else:
        given = bind(ctx.resolver, call, site.scope, "name", None)
    if given is None:
        return {}
    name = ctx.resolver.string_value(given.value, given.scope) if isinstance(given, Bound) else None
    return {"name": name} if name is not None else {"name_unknown": True}


# --- models -------------------------------------------------------------------------------------------
def _model_spec(ctx: _Context, instance: Instance, model: ModelInfo) -> specs.ModelSpec:
    if model.external is not None and not model.compiles and not model.elsewhere:
        return model.external  # built and compiled in a third module: pass it on
    return specs.ModelSpec(
        compiles=tuple(_compile_spec(ctx, info) for info in model.all_compiles),
        output_count=model.output_count,
        final_activation=model.final_activation,
        final_units=model.final_units,
        opaque=opaque_model(ctx, instance),
    )


def _compile_spec(ctx: _Context, info: CompileInfo) -> specs.CompileSpec:
    if info.metrics_given is UNKNOWN or (info.metrics_given is not None and not info.metrics_complete):
        metrics: Optional[Tuple[specs.MetricSpec, ...]] = None
    else:
        metrics = tuple(metric_spec(ctx, ref) for ref in info.metrics)
    loss = info.loss
    return specs.CompileSpec(
        loss_family=loss.family if loss else None,
        from_logits=loss.from_logits if loss else None,
        metrics=metrics,
        weighted=info.weighted is not False,
        per_output_loss=info.per_output_loss,
    )


# --- functions and classes --------------------------------------------------------------------------
def _function_export(ctx: _Context, function: cst.FunctionDef) -> Optional[specs.Export]:
    body = ctx.facts.scope_of_function.get(function)
    returns = ctx.facts.returns.get(function, [])
    if body is not None and returns:
        models = [ctx.resolver.instance(r, body, symbols.MODEL) for r in returns]
        if models[0] is not None and all(m is not None and m.origin is models[0].origin for m in models):
            model = model_info(ctx, models[0])  # type: ignore[arg-type]
            if model is not None:
                return specs.Export(specs.MODEL_FACTORY, model=_model_spec(ctx, models[0], model), line=_line(ctx, function))
    compiler = _compiler_export(ctx, function, body)
    if compiler is not None:
        return compiler
    if body is not None and len(returns) == 1:
        found = elements(ctx.resolver, returns[0], body)
        if found:
            return _list_export(ctx, found, specs.METRICS_FACTORY, specs.CALLBACKS_FACTORY)
    params = list(function.params.posonly_params) + list(function.params.params)
    if len(params) >= 2 and not function.decorators:  # `(y_true, y_pred)`: a metric function
        value = ctx.resolver._function_by_node.get(function)
        if isinstance(value, FunctionValue):
            ratio = is_batchwise_ratio(ctx.resolver, value, {}, set())
            return specs.Export(specs.METRIC, metric=specs.MetricSpec(function=function.name.value, ratio=ratio),
                                line=_line(ctx, function))
    return None


def _compiler_export(ctx: _Context, function: cst.FunctionDef, body) -> Optional[specs.Export]:
    """A function that compiles one of its parameters: `def compile_model(model): model.compile(...)`."""
    if body is None:
        return None
    params = list(function.params.posonly_params) + list(function.params.params)
    found = []
    for site in ctx.facts.method_calls("compile"):
        func = site.node.func
        if site.scope is not body or not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
            continue
        position = next((i for i, p in enumerate(params) if p.name.value == func.value.value), None)
        bindings = body.bindings.get(func.value.value, [])
        if position is not None and len(bindings) == 1 and bindings[0].how == "parameter":
            found.append((position, params[position].name.value, compile_info(site, ctx.resolver, ctx.flavour)))
    if len(found) != 1:
        return None
    position, name, info = found[0]
    return specs.Export(specs.COMPILER, compile=_compile_spec(ctx, info), parameter=position, parameter_name=name,
                        line=_line(ctx, function))


def _class_export(ctx: _Context, cls: ClassValue) -> Optional[specs.Export]:
    kind = ctx.resolver.class_kind(cls)
    if kind == symbols.METRIC:
        spec = specs.MetricSpec(local_class=cls.node.name.value, default_name=default_metric_name(cls))
        return specs.Export(specs.METRIC_CLASS, metric=spec, line=_line(ctx, cls.node))
    if kind == symbols.CALLBACK:
        return specs.Export(specs.CALLBACK_CLASS, line=_line(ctx, cls.node))
    return None
