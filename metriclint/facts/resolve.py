"""Resolve an expression to what it is known to hold, or None when unsure.

Flow-insensitive and conservative: a name resolves only when every binding of it in its
scope resolves to the same kind of thing. Anything else (parameters, tuple unpacking,
values from unknown libraries) stays unknown, and rules stay silent on unknown receivers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Tuple

import libcst as cst

from ..keras import symbols
from .collect import ModuleFacts, dotted_name
from .entries import FIT_CALLS
from ..project import specs
from .values import Binding, ClassValue, Derived, Dotted, External, ExternalElement, FunctionValue, Instance, Scope, Value

if TYPE_CHECKING:  # pragma: no cover
    from ..project.index import ProjectView

_MISSING = object()
OBJECT = "object"  # an instance of a user class that is not a Keras subclass (its attributes still resolve)


class Resolver:
    def __init__(self, facts: ModuleFacts, project: Optional["ProjectView"] = None) -> None:
        self.facts = facts
        # the project's other modules, as this file imports them (None: this file alone)
        self.project = project
        # (id(expr), id(scope)) -> (expr, value); keeping `expr` alive keeps its id unique even
        # when a caller resolves a node that is not part of the tree.
        self._memo: Dict[Tuple[int, int], Tuple[cst.CSTNode, Optional[Value]]] = {}
        self._active: set = set()
        self._class_by_node = {c.node: c for c in facts.classes}
        self._function_by_node = {f.node: f for f in facts.functions}
        self._call_sites: Optional[Dict[cst.FunctionDef, List[Tuple[cst.Call, Scope, bool]]]] = None
        self._mutated: Optional[frozenset] = None
        self._compiled: Optional[set] = None  # ids of binding lists that `.compile(...)` is called on, Keras-style

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

    def single_value(self, name: cst.Name, scope: Scope) -> Optional[Tuple[cst.BaseExpression, Scope]]:
        """The one expression a name holds: a name assigned once, or a parameter every caller in
        the file (or its default) gives the same expression. None otherwise."""
        bindings = self._lookup(name.value, scope)
        if not bindings or len(bindings) != 1:
            return None
        binding = bindings[0]
        if binding.how == "value" and binding.node is not None:
            return binding.node, binding.scope  # type: ignore[return-value]
        if binding.how == "parameter" and isinstance(binding.node, cst.Param):
            given = self._arguments_for(binding)
            if given and all(value is given[0][0] for value, _ in given):
                return given[0]
        return None

    def string_value(self, node: cst.BaseExpression, scope: Scope) -> Optional[str]:
        """The text of a string literal, directly or through names that hold one (another module's
        string constant too)."""
        literal = self.string_literal(node, scope)
        if literal is None:
            if isinstance(node, (cst.Name, cst.Attribute)):
                value = self.resolve(node, scope)
                if isinstance(value, External) and value.export.kind == specs.STRING:
                    return value.export.string
            return None
        value = literal.evaluated_value
        return value if isinstance(value, str) else None

    def string_literal(self, node: cst.BaseExpression, scope: Scope) -> Optional[cst.BaseString]:
        """The string literal an expression is, directly or through names assigned once."""
        return self.literal(node, scope, (cst.SimpleString, cst.ConcatenatedString))  # type: ignore[return-value]

    def literal(self, node: cst.BaseExpression, scope: Scope, kinds: Tuple[type, ...]) -> Optional[cst.BaseExpression]:
        """The literal of one of `kinds` an expression is, directly or through names assigned once."""
        for _ in range(8):
            if isinstance(node, kinds):
                return node
            if not isinstance(node, cst.Name):
                return None
            found = self.single_value(node, scope)
            if found is None:
                return None
            node, scope = found
        return None

    def attribute_value(self, node: cst.Attribute, scope: Scope) -> Optional[Tuple[cst.BaseExpression, Scope]]:
        """The one value `self.x` (or `obj.x` of a local class's instance) is assigned in the class."""
        owner = self.resolve(node.value, scope)
        if not (isinstance(owner, Instance) and owner.local_class is not None):
            return None
        bindings = self._self_attribute(owner.local_class, node.attr.value, set())
        if not bindings or len(bindings) != 1 or bindings[0].how != "value" or bindings[0].node is None:
            return None
        return bindings[0].node, bindings[0].scope  # type: ignore[return-value]

    def returned_expressions(self, call: cst.Call, scope: Scope) -> Optional[List[Tuple[cst.BaseExpression, Scope]]]:
        """The `return` expressions of the local function or method `call` calls (in its body's scope)."""
        function = self.called_function(call, scope)
        if function is None:
            return None
        returns = self.facts.returns.get(function[0], [])
        body = self.facts.scope_of_function[function[0]]
        return [(r, body) for r in returns] if returns else None

    def called_function(self, call: cst.Call, scope: Scope) -> Optional[Tuple[cst.FunctionDef, bool]]:
        """(the local function or method a call runs, whether the call passes `self` implicitly)."""
        func = self.resolve(call.func, scope)
        if isinstance(func, FunctionValue):
            return func.node, False
        if isinstance(func, Derived) and func.what == "method":
            method = self._method(func.owner, func.name)
            if method is not None:
                return method, True
        return None

    def loop_elements(self, binding: Binding) -> Optional[List[Tuple[cst.BaseExpression, Scope]]]:
        """What a `for` target (or comprehension target) takes, when its iterable is known."""
        from .containers import elements

        if binding.how != "element" or binding.node is None:
            return None
        return elements(self, binding.node, binding.scope)  # type: ignore[arg-type]

    def name_values(self, name: cst.Name, scope: Scope) -> Optional[List[Tuple[cst.BaseExpression, Scope]]]:
        """Every expression a name may hold: its one assignment, or each element a `for` loop
        gives it. None when any of them is unknown."""
        bindings = self._lookup(name.value, scope)
        if not bindings or len(bindings) != 1:
            return None
        if bindings[0].how == "element":
            return self.loop_elements(bindings[0])
        found = self.single_value(name, scope)
        return [found] if found is not None else None

    def rebound(self, name: str, scope: Scope) -> bool:
        """Whether the file binds a builtin's name itself (`list = ...`)."""
        return bool(self._lookup(name, scope))

    def mutated_names(self) -> frozenset:
        if self._mutated is None:
            from .containers import mutated_names

            self._mutated = mutated_names(self.facts)
        return self._mutated

    def scope_outside(self, function: cst.FunctionDef) -> Scope:
        """The scope a function is defined in (where its parameters' defaults are evaluated)."""
        value = self._function_by_node.get(function)
        return value.scope if value is not None else self.facts.root

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
            dotted = binding.dotted or ""
            external = self._external(dotted, binding.node)
            return external if external is not None else Dotted(dotted)
        if how == "value" and binding.node is not None:
            return self.resolve(binding.node, binding.scope)
        if how == "element" and binding.node is not None:
            container = self.resolve(binding.node, binding.scope)
            if isinstance(container, Derived) and container.what == "metrics_list":
                return Instance(symbols.METRIC)
            found = self.loop_elements(binding)
            if found:
                return self._merge(self.resolve(e, inner) for e, inner in found)
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
        if how == "parameter":
            given = self._arguments_for(binding)
            if not given:
                return None
            return self._merge(self.resolve(value, inner) for value, inner in given)
        return None

    # --- the project's other modules ---------------------------------------------------------------
    def _external(self, dotted: str, origin: Optional[cst.CSTNode]) -> Optional[Value]:
        """What a dotted name of the project's other modules holds, by their summaries."""
        if self.project is None or not dotted or symbols.split_keras(dotted.lstrip(".")) is not None:
            return None
        found = self.project.lookup(dotted)
        if found is None:
            return None
        export, module = found
        kind = export.kind
        if kind == specs.MODEL and export.model is not None:
            return Instance(symbols.MODEL, origin=origin, external=export.model)
        if kind == specs.METRIC and export.metric is not None and export.metric.keras_class:
            return Instance(symbols.METRIC, keras_class=f"metrics.{export.metric.keras_class}", origin=origin,
                            external=export.metric)
        return External(export, module)

    def _external_call(self, func: External, call: cst.Call) -> Optional[Value]:
        export = func.export
        if export.kind == specs.MODEL_FACTORY and export.model is not None:
            return Instance(symbols.MODEL, origin=call, external=export.model)
        if export.kind == specs.METRIC_CLASS and export.metric is not None:
            return Instance(symbols.METRIC, origin=call, external=export.metric)
        if export.kind == specs.CALLBACK_CLASS:
            return Instance(symbols.CALLBACK, origin=call)
        return None

    def external_elements(self, node: cst.BaseExpression, scope: Scope) -> Optional[List[Tuple[object, Scope]]]:
        """The elements of a list another module exports (`METRICS`), or returns (`get_metrics()`),
        each as an `ExternalElement` anchored at `node`."""
        value = self.resolve(node.func if isinstance(node, cst.Call) else node, scope)
        if not isinstance(value, External):
            return None
        export = value.export
        if isinstance(node, cst.Call):
            lists = {specs.METRICS_FACTORY: export.metrics, specs.CALLBACKS_FACTORY: export.callbacks}
        else:
            lists = {specs.METRICS: export.metrics, specs.CALLBACKS: export.callbacks}
        if export.kind not in lists:
            return None
        return [(ExternalElement(spec, node, value.module), scope) for spec in lists[export.kind]]

    def _element_value(self, element: ExternalElement) -> Optional[Value]:
        spec = element.spec
        if isinstance(spec, specs.CallbackSpec):
            return Instance(symbols.CALLBACK, keras_class=spec.keras_class, external=spec)
        if isinstance(spec, specs.MetricSpec) and (spec.keras_class or spec.local_class):
            keras_class = f"metrics.{spec.keras_class}" if spec.keras_class else None
            return Instance(symbols.METRIC, keras_class=keras_class, external=spec)
        return None

    # --- receivers known by their use ------------------------------------------------------------
    def _model_by_use(self, bindings: List[Binding]) -> Optional[Value]:
        """A name (or `self.` attribute) assigned once from code the file cannot see (a model zoo's
        constructor, another module's builder) is a Keras model when the file compiles it with
        Keras-shaped arguments: `model.compile(optimizer="adam", loss="binary_crossentropy")`."""
        if len(bindings) != 1 or bindings[0].how != "value" or bindings[0].node is None:
            return None
        if id(bindings) not in self._keras_compiled():
            return None
        made = bindings[0].node
        if isinstance(made, cst.Call):
            maker = self.resolve(made.func, bindings[0].scope)
            if isinstance(maker, Dotted) and symbols.split_keras(maker.path) is not None:
                return None  # a Keras class the tables do not list as a plain model (`Distiller` logs its own keys)
        return Instance(symbols.MODEL, origin=made, by_use=True)

    def _keras_compiled(self) -> set:
        if self._compiled is None:
            self._compiled = set()  # while it is built, nothing is a model by use (no cycles)
            found = set()
            for site in self.facts.calls_by_method.get("compile", ()):
                func = site.node.func
                if not isinstance(func, cst.Attribute) or not self._keras_shaped_compile(site.node, site.scope):
                    continue
                if isinstance(func.value, cst.Name):
                    bindings = self._lookup(func.value.value, site.scope)
                elif isinstance(func.value, cst.Attribute):
                    owner = self.resolve(func.value.value, site.scope)
                    bindings = (self._self_attribute(owner.local_class, func.value.attr.value, set())
                                if isinstance(owner, Instance) and owner.local_class is not None else None)
                else:
                    bindings = None
                if bindings:
                    found.add(id(bindings))
            self._compiled = found
        return self._compiled

    def _keras_shaped_compile(self, call: cst.Call, scope: Scope) -> bool:
        """`compile` given an optimizer, loss or metric Keras knows (by name or object)."""
        from .arguments import Bound, bind

        for parameter, position in (("optimizer", 0), ("loss", 1), ("metrics", None)):
            given = bind(self, call, scope, parameter, position)
            if not isinstance(given, Bound):
                continue
            nodes = [(given.value, given.scope)]
            if parameter == "metrics":
                from .containers import elements

                nodes = elements(self, given.value, given.scope) or []
            for node, inner in nodes:
                text = self.string_value(node, inner)
                if text is not None:
                    known = symbols.KERAS_COMPILE_STRINGS[parameter]
                    if text in known or (parameter == "optimizer" and text.lower() in known):
                        return True
                    continue
                value = self.resolve(node.func if isinstance(node, cst.Call) else node, inner)
                if isinstance(value, Dotted) and symbols.split_keras(value.path) is not None:
                    return True
                if isinstance(value, Instance) and value.keras_class is not None:
                    return True
        return False

    # --- parameters: what the file's own calls pass ----------------------------------------------
    def _arguments_for(self, binding: Binding) -> Optional[List[Tuple[cst.BaseExpression, Scope]]]:
        """What every call of the parameter's function in this file passes it (its default where a
        call leaves it out). None when a call may pass something unseen (`*args`, `**kwargs`), or
        when nothing in the file calls the function (its callers are elsewhere: unknown)."""
        from .arguments import Bound, parameter_binding

        param = binding.node
        function = binding.scope.node
        if not isinstance(param, cst.Param) or not isinstance(function, cst.FunctionDef):
            return None
        sites = self._sites_calling(function)
        if not sites:
            return None
        out = []
        for call, scope, skip_first in sites:
            found = parameter_binding(self, call, scope, function, param, skip_first)
            if not isinstance(found, Bound):
                return None
            out.append((found.value, found.scope))
        return out

    def _sites_calling(self, function: cst.FunctionDef) -> List[Tuple[cst.Call, Scope, bool]]:
        """Calls of each local function and method in the file, found without resolving values
        (no parameter can depend on itself through this index): `f(...)` where every binding of
        `f` is a local `def`, and `self.m(...)` on a method of the enclosing class or its bases."""
        if self._call_sites is None:
            index: Dict[cst.FunctionDef, List[Tuple[cst.Call, Scope, bool]]] = {}
            for site in self.facts.calls:
                found = self._callee(site.node.func, site.scope)
                if found is not None:
                    index.setdefault(found[0], []).append((site.node, site.scope, found[1]))
            self._call_sites = index
        return self._call_sites.get(function, [])

    def _callee(self, func: cst.BaseExpression, scope: Scope) -> Optional[Tuple[cst.FunctionDef, bool]]:
        if isinstance(func, cst.Name):
            bindings = self._lookup(func.value, scope) or []
            nodes = {id(b.node): b.node for b in bindings if b.how == "function"}
            if bindings and len(nodes) == len(bindings) == 1:
                return next(iter(nodes.values())), False  # type: ignore[return-value]
            return None
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            bindings = self._lookup(func.value.value, scope) or []
            if len(bindings) == 1 and bindings[0].how == "self":
                value = self._resolve_binding(bindings[0])  # the enclosing class: no parameter involved
                if isinstance(value, Instance):
                    method = self._method(value, func.attr.value)
                    if method is not None:
                        return method, True
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
                    alternatives=(result.alternatives or (result,)) + (value.alternatives or (value,)),
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
                if symbols.external_model_factory(value.path):
                    return Instance(symbols.MODEL, origin=origin)
                tuner = symbols.tuner_class(value.path)
                return Instance(symbols.TUNER, keras_class=tuner, origin=origin) if tuner is not None else None
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
        if isinstance(expr, ExternalElement):
            return self._element_value(expr)
        if isinstance(expr, cst.Name):
            bindings = self._lookup(expr.value, scope)
            if not bindings:
                return None
            value = self._merge(self._resolve_binding(b) for b in bindings)
            return value if value is not None else self._model_by_use(bindings)
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
            path = f"{owner.path}.{attr}"
            external = self._external(path, None)  # `import models` ... `models.build_model`
            return external if external is not None else Dotted(path)
        if isinstance(owner, Instance):
            if owner.kind in (symbols.MODEL, symbols.LAYER) and attr == "metrics":
                return Derived("metrics_list", owner)
            if owner.kind == symbols.CALLBACK and attr == "model" and not (
                owner.local_class is not None and self._self_attribute(owner.local_class, attr, set())
            ):
                return Instance(symbols.MODEL)  # the model a Keras callback is attached to
            if owner.local_class is not None:
                bindings = self._self_attribute(owner.local_class, attr, set())
                if bindings:
                    value = self._merge(self._resolve_binding(b) for b in bindings)
                    return value if value is not None else self._model_by_use(bindings)
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
        if isinstance(func, External):
            return self._external_call(func, call)
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
