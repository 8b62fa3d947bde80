"""Resolve an expression to what it is known to hold, or None when unsure.

Flow-insensitive and conservative: a name resolves only when every binding of it in its
scope resolves to the same kind of thing. Anything else (parameters, tuple unpacking,
values from unknown libraries) stays unknown, and rules stay silent on unknown receivers.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

import libcst as cst

from ..keras import symbols
from .collect import ModuleFacts, dotted_name
from .entries import FIT_CALLS
from .values import Binding, ClassValue, Derived, Dotted, FunctionValue, Instance, Scope, Value

_MISSING = object()
OBJECT = "object"  # an instance of a user class that is not a Keras subclass (its attributes still resolve)


class Resolver:
    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        # (id(expr), id(scope)) -> (expr, value); keeping `expr` alive keeps its id unique even
        # when a caller resolves a node that is not part of the tree.
        self._memo: Dict[Tuple[int, int], Tuple[cst.CSTNode, Optional[Value]]] = {}
        self._active: set = set()
        self._class_by_node = {c.node: c for c in facts.classes}
        self._function_by_node = {f.node: f for f in facts.functions}

    # --- public API -----------------------------------------------------------------------
    def resolve(self, expr: cst.CSTNode, scope: Scope) -> Optional[Value]:
        key = (id(expr), id(scope))
        cached = self._memo.get(key, _MISSING)
        if cached is not _MISSING:
            return cached[1]  # type: ignore[index]
        if key in self._active:
            return None  # a cycle (x = x + 1): unknown
        self._active.add(key)
        try:
            value = self._resolve(expr, scope)
        finally:
            self._active.discard(key)
        self._memo[key] = (expr, value)
        return value

    def resolve_name(self, name: str, scope: Scope) -> Optional[Value]:
        """What a bare name holds in `scope` (for names that are not nodes of the tree)."""
        bindings = self._lookup(name, scope)
        if not bindings:
            return None
        return self._merge(self._resolve_binding(b) for b in bindings)

    def instance(self, expr: cst.CSTNode, scope: Scope, *kinds: str) -> Optional[Instance]:
        value = self.resolve(expr, scope)
        if isinstance(value, Instance) and (not kinds or value.kind in kinds):
            return value
        return None

    def keras_name(self, expr: cst.CSTNode, scope: Scope) -> Optional[str]:
        """Canonical Keras name of a class or function reference (`tf.keras.metrics.AUC` -> `metrics.AUC`)."""
        value = self.resolve(expr, scope)
        if isinstance(value, Dotted):
            split = symbols.split_keras(value.path)
            if split is not None:
                return split[0]
        return None

    def assigned_values(self, name: cst.Name, scope: Scope) -> Optional[List[Tuple[cst.CSTNode, Scope]]]:
        """The expressions a name is assigned from (all of its bindings), or None if any is not an assignment."""
        bindings = self._lookup(name.value, scope)
        if not bindings or any(b.how != "value" or b.node is None for b in bindings):
            return None
        return [(b.node, b.scope) for b in bindings]  # type: ignore[misc]

    def class_kind(self, cls: ClassValue) -> Optional[str]:
        """The Keras kind a local class is a subclass of (through local intermediate classes)."""
        return self._class_kind(cls, set())

    def class_defines(self, cls: ClassValue, method: str) -> bool:
        """Whether a local class or one of its local bases defines `method`."""
        return self._class_defines(cls, method, set())

    def local_bases(self, cls: ClassValue) -> List[Value]:
        out = []
        for arg in cls.node.bases:
            value = self.resolve(arg.value, cls.scope)
            if value is not None:
                out.append(value)
        return out

    # --- internals ------------------------------------------------------------------------
    def _class_kind(self, cls: ClassValue, seen: set) -> Optional[str]:
        if id(cls) in seen:
            return None
        seen.add(id(cls))
        for base in self.local_bases(cls):
            if isinstance(base, Dotted):
                split = symbols.split_keras(base.path)
                if split is not None:
                    kind = symbols.kind_of_class(split[0])
                    if kind is not None:
                        return kind
            elif isinstance(base, ClassValue):
                kind = self._class_kind(base, seen)
                if kind is not None:
                    return kind
        return None

    def _class_defines(self, cls: ClassValue, method: str, seen: set) -> bool:
        if id(cls) in seen:
            return False
        seen.add(id(cls))
        if method in cls.body.bindings:
            return True
        return any(
            self._class_defines(base, method, seen)
            for base in self.local_bases(cls)
            if isinstance(base, ClassValue)
        )

    def _lookup(self, name: str, scope: Scope) -> Optional[List[Binding]]:
        current: Optional[Scope] = scope
        first = True
        while current is not None:
            # Class bodies are not visible from the methods inside them (Python scoping).
            if first or current.kind != "class":
                found = current.bindings.get(name)
                if found:
                    return found
                if current.star_imports:
                    for module in current.star_imports:
                        if self._star_provides(module, name):
                            return [Binding("import", None, current, f"{module}.{name}")]
            first = False
            current = current.parent
        return None

    @staticmethod
    def _star_provides(module: str, name: str) -> bool:
        split = symbols.split_keras(f"{module}.{name}")
        if split is None:
            return False
        canonical = split[0]
        return symbols.kind_of_class(canonical) is not None or symbols.kind_of_call_result(canonical) is not None

    def _resolve_binding(self, binding: Binding) -> Optional[Value]:
        how = binding.how
        if how == "import":
            return Dotted(binding.dotted or "")
        if how == "value" and binding.node is not None:
            return self.resolve(binding.node, binding.scope)
        if how == "element" and binding.node is not None:
            container = self.resolve(binding.node, binding.scope)
            if isinstance(container, Derived) and container.what == "metrics_list":
                return Instance(symbols.METRIC)
            elements = self._literal_elements(binding.node, binding.scope)
            if elements:
                return self._merge(self.resolve(e, binding.scope) for e in elements)
            return None
        if how == "annotation" and binding.node is not None:
            annotated = self.resolve(binding.node, binding.scope)
            return self._instantiate(annotated, None)
        if how == "self" and binding.node is not None:
            cls_scope = binding.scope.enclosing_class()
            if cls_scope is None:
                return None
            cls = self._class_by_node.get(cls_scope.node)  # type: ignore[arg-type]
            if cls is None:
                return None
            return Instance(self.class_kind(cls) or OBJECT, local_class=cls)
        if how == "class":
            return self._class_by_node.get(binding.node)  # type: ignore[arg-type]
        if how == "function":
            return self._function_by_node.get(binding.node)  # type: ignore[arg-type]
        return None

    def _literal_elements(self, node: cst.CSTNode, scope: Scope) -> Optional[List[cst.CSTNode]]:
        """Elements of a list/tuple literal, directly or through a name assigned once."""
        if isinstance(node, cst.Name):
            assigned = self.assigned_values(node, scope)
            if assigned is None or len(assigned) != 1 or assigned[0][1] is not scope:
                return None
            node = assigned[0][0]
        if isinstance(node, (cst.List, cst.Tuple)) and node.elements and not any(
            isinstance(e, cst.StarredElement) for e in node.elements
        ):
            return [e.value for e in node.elements]
        return None

    def _merge(self, values: Iterable[Optional[Value]]) -> Optional[Value]:
        result: Optional[Value] = None
        for index, value in enumerate(values):
            if value is None:
                return None
            if index == 0:
                result = value
                continue
            if value == result:
                continue
            if isinstance(value, Instance) and isinstance(result, Instance) and value.kind == result.kind:
                result = Instance(
                    value.kind,
                    keras_class=value.keras_class if value.keras_class == result.keras_class else None,
                    local_class=value.local_class if value.local_class is result.local_class else None,
                )
                continue
            if isinstance(value, Dotted) and isinstance(result, Dotted):
                a, b = symbols.split_keras(value.path), symbols.split_keras(result.path)
                if a is not None and b is not None and a[0] == b[0]:
                    continue  # `tf_keras` or `tensorflow.keras`: the same Keras symbol
            return None
        return result

    def _instantiate(self, value: Optional[Value], origin: Optional[cst.CSTNode]) -> Optional[Value]:
        """What calling `value` (a class or function reference) gives."""
        if isinstance(value, Dotted):
            split = symbols.split_keras(value.path)
            if split is None:
                return None
            canonical = split[0]
            kind = symbols.kind_of_class(canonical)
            if kind is not None:
                return Instance(kind, keras_class=canonical, origin=origin)
            kind = symbols.kind_of_call_result(canonical)
            if kind is not None:
                return Instance(kind, origin=origin)
            return None
        if isinstance(value, ClassValue):
            return Instance(self.class_kind(value) or OBJECT, local_class=value, origin=origin)
        return None

    def _resolve(self, expr: cst.CSTNode, scope: Scope) -> Optional[Value]:
        if isinstance(expr, cst.Name):
            bindings = self._lookup(expr.value, scope)
            if not bindings:
                return None
            return self._merge(self._resolve_binding(b) for b in bindings)
        if isinstance(expr, cst.Attribute):
            return self._attribute(self.resolve(expr.value, scope), expr.attr.value, scope)
        if isinstance(expr, cst.Call):
            return self._call(expr, scope)
        if isinstance(expr, cst.Subscript):
            container = self.resolve(expr.value, scope)
            if isinstance(container, Derived) and container.what == "metrics_list":
                return Instance(symbols.METRIC)
            return None
        return None

    def _attribute(self, owner: Optional[Value], attr: str, scope: Scope) -> Optional[Value]:
        if isinstance(owner, Dotted):
            return Dotted(f"{owner.path}.{attr}")
        if isinstance(owner, Instance):
            if owner.kind == symbols.MODEL and attr == "metrics":
                return Derived("metrics_list", owner)
            if owner.kind == symbols.CALLBACK and attr == "model" and not (
                owner.local_class is not None and self._self_attribute(owner.local_class, attr, set())
            ):
                return Instance(symbols.MODEL)  # the model a Keras callback is attached to
            if owner.local_class is not None:
                bindings = self._self_attribute(owner.local_class, attr, set())
                if bindings:
                    return self._merge(self._resolve_binding(b) for b in bindings)
            return Derived("method", owner, attr)
        if isinstance(owner, Derived) and owner.what == "history" and attr == "history":
            return Derived("history_dict", owner.owner, site=owner.site)
        return None

    def _self_attribute(self, cls: ClassValue, attr: str, seen: set) -> Optional[List[Binding]]:
        if id(cls) in seen:
            return None
        seen.add(id(cls))
        found = self.facts.self_attributes.get(cls.body, {}).get(attr)
        if found:
            return found
        for base in self.local_bases(cls):
            if isinstance(base, ClassValue):
                found = self._self_attribute(base, attr, seen)
                if found:
                    return found
        return None

    def _call(self, call: cst.Call, scope: Scope) -> Optional[Value]:
        func = self.resolve(call.func, scope)
        if isinstance(func, Derived) and func.what == "method":
            if func.owner.kind == symbols.MODEL and func.name in FIT_CALLS.names:
                return Derived("history", func.owner, site=call)
            method = self._method(func.owner, func.name)
            return self._returns(method) if method is not None else None
        if isinstance(func, FunctionValue):
            return self._returns(func.node)
        return self._instantiate(func, call)

    def _returns(self, function: cst.FunctionDef) -> Optional[Value]:
        """What a local function or method returns, when every `return` agrees."""
        returns = self.facts.returns.get(function, [])
        if not returns:
            return None
        body = self.facts.scope_of_function[function]
        return self._merge(self.resolve(r, body) for r in returns)

    def _method(self, owner: Instance, name: str) -> Optional[cst.FunctionDef]:
        """A method the user's class (or a local base) defines, for `self.build(...)`-style calls."""
        cls = owner.local_class
        seen: set = set()
        while cls is not None and id(cls) not in seen:
            seen.add(id(cls))
            for binding in cls.body.bindings.get(name, ()):
                if binding.how == "function" and isinstance(binding.node, cst.FunctionDef):
                    return binding.node
            bases = [b for b in self.local_bases(cls) if isinstance(b, ClassValue)]
            cls = bases[0] if len(bases) == 1 else None
        return None


def call_method_name(call: cst.Call) -> Optional[str]:
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else None


def describe(expr: cst.CSTNode) -> str:
    """A short source-like name for messages: `model`, `self.model`."""
    name = dotted_name(expr)
    return name if name is not None else "the object"
