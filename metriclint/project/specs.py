"""What another module of the project exports, as far as the rules need it: plain, frozen data.

A module's summary maps each top-level name to an `Export`: a function that builds and
compiles a model (`build_model`), one that compiles the model it is given (`compile_model`),
lists of metrics and callbacks (`METRICS`, `make_callbacks()`), metric functions (`f1_m`, with
whether it divides batch sums), `Metric`/`Callback` subclasses, string constants. Everything is
JSON (the summaries are cached like results); an unknown part is None, never a guess.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, Optional, Tuple, Type, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class MetricSpec:
    """One metric of a `compile(metrics=...)` list. Every field None: a metric nothing is known of."""

    string: Optional[str] = None  # "accuracy"
    keras_class: Optional[str] = None  # "AUC" (a `keras.metrics` class, by its leaf name)
    name: Optional[str] = None  # its `name=`, when given as a string
    name_unknown: bool = False  # `name=` given, but not as a string the module shows
    function: Optional[str] = None  # a metric function of that module, by name (its log key)
    ratio: bool = False  # that function divides sums over the batch (KM203)
    keras_function: Optional[str] = None  # a Keras metric function, canonical: "metrics.binary_accuracy"
    local_class: Optional[str] = None  # the module's own `Metric` subclass, by name
    default_name: Optional[str] = None  # that subclass's default `name`

    @property
    def known(self) -> bool:
        return any((self.string, self.keras_class, self.function, self.keras_function, self.local_class))


@dataclass(frozen=True)
class CompileSpec:
    loss_family: Optional[str] = None  # metrics.BINARY | CATEGORICAL | SPARSE | REGRESSION | None
    from_logits: Optional[bool] = None
    metrics: Optional[Tuple[MetricSpec, ...]] = ()  # None: not known; (): none
    weighted: bool = False  # `weighted_metrics=` given, or maybe given (keys not known then)
    per_output_loss: bool = False  # a loss per output (a dict or list)


@dataclass(frozen=True)
class ModelSpec:
    compiles: Tuple[CompileSpec, ...] = ()
    output_count: Optional[int] = None
    final_activation: Optional[str] = None
    final_units: Optional[int] = None
    opaque: bool = False  # its log keys are not what `compile` says (own train_step, add_metric, ...)


@dataclass(frozen=True)
class CallbackSpec:
    keras_class: str  # canonical: "callbacks.EarlyStopping"
    monitor: Optional[str] = None  # the key it monitors; None: the default; "": not known
    mode: Optional[str] = None  # "auto" when not given; "": not known
    save_best_only: Optional[bool] = False
    filepath_keys: Tuple[str, ...] = ()  # the `{fields}` of a ModelCheckpoint file name
    line: int = 0  # where the callback is made in its module


# What an export is (`Export.kind`).
MODEL = "model"  # a model object made at import
MODEL_FACTORY = "model_factory"  # a function returning a (compiled) model
COMPILER = "compiler"  # a function that compiles the model it is given (`compile_model(model)`)
METRICS = "metrics"  # a list of metrics
METRICS_FACTORY = "metrics_factory"  # a function returning one
CALLBACKS = "callbacks"
CALLBACKS_FACTORY = "callbacks_factory"
METRIC = "metric"  # one metric object, or a metric function (`metric.function`)
CALLBACK = "callback"
METRIC_CLASS = "metric_class"  # a `Metric` subclass
CALLBACK_CLASS = "callback_class"  # a `Callback` subclass
STRING = "string"
ALIAS = "alias"  # a name the module imports from another project module (`target`)


@dataclass(frozen=True)
class Export:
    kind: str
    model: Optional[ModelSpec] = None
    compile: Optional[CompileSpec] = None
    parameter: int = 0  # COMPILER: the position of the model among the function's parameters
    parameter_name: str = ""  # COMPILER: and its name
    metrics: Tuple[MetricSpec, ...] = ()
    callbacks: Tuple[CallbackSpec, ...] = ()
    metric: Optional[MetricSpec] = None
    string: Optional[str] = None
    target: Optional[str] = None  # ALIAS: the dotted name it imports
    line: int = 0  # where it is defined in its module


@dataclass(frozen=True)
class ModuleSummary:
    module: str  # its dotted name
    path: str
    exports: Dict[str, Export] = field(default_factory=dict)

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "ModuleSummary":
        return cls(data["module"], data["path"], {k: _load(Export, v) for k, v in data["exports"].items()})


_NESTED = {
    "model": ModelSpec, "compile": CompileSpec, "metric": MetricSpec,
    "compiles": CompileSpec, "metrics": MetricSpec, "callbacks": CallbackSpec,
}


def _load(cls: Type[T], data: Any) -> T:
    """A spec back from `asdict` JSON (tuples came back as lists); a wrong shape raises."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: not an object")
    values = {}
    for item in fields(cls):  # type: ignore[arg-type]
        if item.name not in data:
            continue
        value = data[item.name]
        nested = _NESTED.get(item.name)
        if nested is not None and value is not None:
            value = tuple(_load(nested, v) for v in value) if isinstance(value, list) else _load(nested, value)
        elif isinstance(value, list):
            value = tuple(value)
        values[item.name] = value
    return cls(**values)  # type: ignore[call-arg]
