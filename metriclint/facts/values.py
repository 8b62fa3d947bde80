"""What a name or expression can be known to hold: the small value lattice of the resolver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

import libcst as cst


@dataclass(eq=False)
class Scope:
    """A module, class or function body: the names bound there, in source order."""

    kind: str  # "module" | "class" | "function"
    node: cst.CSTNode
    parent: Optional["Scope"]
    bindings: Dict[str, List["Binding"]] = field(default_factory=dict)
    star_imports: List[str] = field(default_factory=list)

    def bind(self, name: str, binding: "Binding") -> None:
        self.bindings.setdefault(name, []).append(binding)

    def enclosing_class(self) -> Optional["Scope"]:
        """For a method body: the class scope it belongs to."""
        if self.kind == "function" and self.parent is not None and self.parent.kind == "class":
            return self.parent
        return None


@dataclass(frozen=True, eq=False)
class Binding:
    """One place a name gets a value: `how` says how to read `node` to get it."""

    how: str  # "value" | "element" | "import" | "annotation" | "self" | "parameter" | "unknown" | "class" | "function"
    node: Optional[cst.CSTNode]
    scope: Scope
    dotted: Optional[str] = None  # for imports: the full dotted path bound


@dataclass(frozen=True)
class Dotted:
    """A module or module member, by its full dotted path (`tensorflow.keras.metrics.AUC`)."""

    path: str


@dataclass(frozen=True, eq=False)
class ClassValue:
    node: cst.ClassDef
    scope: Scope  # the scope the class statement is in
    body: Scope  # the class's own scope


@dataclass(frozen=True, eq=False)
class FunctionValue:
    node: cst.FunctionDef
    scope: Scope
    body: Scope


@dataclass(frozen=True)
class Instance:
    """An object of a Keras kind (model, layer, metric, callback)."""

    kind: str
    keras_class: Optional[str] = None  # canonical Keras class, e.g. "metrics.AUC"
    local_class: Optional[ClassValue] = field(default=None, repr=False)  # the user's subclass, when it is one
    origin: Optional[cst.CSTNode] = field(default=None, repr=False)  # the expression that created it, when it is one
    # made by another module of the project: its spec there (ModelSpec, MetricSpec, CallbackSpec)
    external: Optional[Any] = field(default=None, repr=False, compare=False)
    # A model that is one of several (a helper returning one of two built models): each of them,
    # so that what they all agree on (their log keys) is still known
    alternatives: Tuple["Instance", ...] = field(default=(), repr=False, compare=False)
    # A Keras model only by its use (compiled Keras-style, made by code metriclint cannot read): its
    # class is unknown and may define its own `fit`/`compile` (an RL agent, a library's Model subclass)
    by_use: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Derived:
    """Something read off a Keras object: `model.metrics`, the History `fit` returns, a bound method."""

    what: str  # "metrics_list" | "history" | "history_dict" | "method"
    owner: Instance
    name: str = ""
    site: Optional[cst.Call] = None  # for "history"/"history_dict": the `fit(...)` call


Value = Union[Dotted, ClassValue, FunctionValue, Instance, Derived, "External"]


@dataclass(frozen=True, eq=False)
class External:
    """What a name imported from another module of the project holds (its summary's export)."""

    export: Any  # project.specs.Export
    module: str  # the module it comes from (dotted), for messages


@dataclass(frozen=True, eq=False)
class ExternalElement:
    """An element of a list another module defines (`METRICS`, what `get_metrics()` returns), in
    place of the expression this file does not have. `anchor` is what brought it here: the name or
    call in this file, where a finding about it points (never edited: the element is elsewhere)."""

    spec: Any  # project.specs.MetricSpec | CallbackSpec
    anchor: cst.CSTNode
    module: str
