"""The one walk over a module: scopes, bindings, imports, calls, classes and functions.

Nothing is resolved here; `Resolver` reads these records lazily, so a rule pays only for
the expressions it asks about.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst

from ..keras.symbols import implied_flavour, split_keras
from .values import Binding, ClassValue, FunctionValue, Scope
from .walk import Walker, find_all

_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"__future__"}


def dotted_name(node: cst.CSTNode) -> Optional[str]:
    """`a.b.c` as a string, for Name/Attribute chains; None for anything else."""
    parts: List[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


@dataclass(frozen=True)
class CallSite:
    node: cst.Call
    scope: Scope
    statement: Optional[cst.SimpleStatementLine] = None  # the statement line the call is in
    loops: Tuple[cst.CSTNode, ...] = ()  # enclosing for/while loops in the same function, outermost first


@dataclass(frozen=True)
class AttributeSite:
    node: cst.Attribute
    scope: Scope
    statement: Optional[cst.SimpleStatementLine] = None


@dataclass
class ModuleFacts:
    module: cst.Module
    root: Scope
    calls: List[CallSite] = field(default_factory=list)
    calls_by_method: Dict[str, List[CallSite]] = field(default_factory=dict)
    site_of: Dict[cst.Call, CallSite] = field(default_factory=dict)
    classes: List[ClassValue] = field(default_factory=list)
    functions: List[FunctionValue] = field(default_factory=list)
    returns: Dict[cst.FunctionDef, List[cst.BaseExpression]] = field(default_factory=dict)
    # self.<attr> = value, per class scope
    self_attributes: Dict[Scope, Dict[str, List[Binding]]] = field(default_factory=dict)
    imported_paths: List[str] = field(default_factory=list)
    scope_of_function: Dict[cst.FunctionDef, Scope] = field(default_factory=dict)
    # statement line -> the body (Module or IndentedBlock) that holds it, for rules that edit statements
    block_of: Dict[cst.SimpleStatementLine, cst.CSTNode] = field(default_factory=dict)
    # Import/ImportFrom node -> its statement line (to add an import next to it)
    import_statement: Dict[cst.CSTNode, Optional[cst.SimpleStatementLine]] = field(default_factory=dict)
    # `x.history[...]` subscripts (History dict reads), with their scope
    history_subscripts: List[Tuple[cst.Subscript, Scope]] = field(default_factory=list)
    # id(node) -> index of the top-level statement that holds it (positions are computed per statement)
    top_statement: Dict[int, int] = field(default_factory=dict)
    # every `x.attr` read or written, by attribute name
    attributes: Dict[str, List["AttributeSite"]] = field(default_factory=dict)
    # names assigned through a subscript (`d["k"] = v`, `m[0] = x`): their values change in place
    subscript_targets: set = field(default_factory=set)
    relative_imports: int = 0  # `from .x import y` statements

    @property
    def imports_keras(self) -> bool:
        # `import tensorflow as tf` reaches Keras as `tf.keras`
        return any(split_keras(p) is not None or p.split(".")[0] == "tensorflow" for p in self.imported_paths)

    @property
    def imports_elsewhere(self) -> bool:
        """Imports something that may be a module of the project (relative imports included):
        Keras objects may come from there without `keras` in this file."""
        return bool(self.relative_imports) or any(
            p.split(".")[0] not in _STDLIB for p in self.imported_paths if split_keras(p) is None)

    @property
    def implied_flavour(self) -> Optional[str]:
        """"2" when the file imports a Keras-2-only spelling (`tf_keras`), else None."""
        return implied_flavour(self.imported_paths)

    def method_calls(self, *names: str) -> List[CallSite]:
        out: List[CallSite] = []
        for name in names:
            out.extend(self.calls_by_method.get(name, ()))
        out.sort(key=lambda site: self._order.get(site.node, 0))
        return out

    _order: Dict[cst.Call, int] = field(default_factory=dict)


class _Collector(Walker):
    def __init__(self, module: cst.Module) -> None:
        super().__init__()
        self.root = Scope("module", module, None)
        self.facts = ModuleFacts(module=module, root=self.root)
        self.scope = self.root
        self.function_stack: List[cst.FunctionDef] = []
        self.blocks: List[cst.CSTNode] = [module]
        self.loops: Tuple[cst.CSTNode, ...] = ()
        self.statement: Optional[cst.SimpleStatementLine] = None
        self.top = 0
        self._top_of = self.facts.top_statement

    def walk(self, node: cst.CSTNode) -> None:
        self._top_of[id(node)] = self.top
        super().walk(node)

    def _mark(self, *nodes: Optional[cst.CSTNode]) -> None:
        """Record the top-level statement of parts the walk skips (names, parameters, imports):
        rules report them too, and without it their position costs a render of the whole module."""
        for node in nodes:
            if node is not None:
                for part in find_all(node, cst.CSTNode):
                    self._top_of[id(part)] = self.top

    # --- scopes -------------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> Optional[bool]:
        body = Scope("class", node, self.scope)
        value = ClassValue(node=node, scope=self.scope, body=body)
        self.scope.bind(node.name.value, Binding("class", node, self.scope))
        self.facts.classes.append(value)
        self.facts.self_attributes[body] = {}
        self._class_values[node] = value
        self._mark(node.name)
        # Bases and decorators belong to the outer scope; visit them there.
        for arg in node.bases:
            self.walk(arg)
        for arg in node.keywords:
            self.walk(arg)
        for decorator in node.decorators:
            self.walk(decorator)
        self.scope = body
        self.walk(node.body)
        self.scope = body.parent  # type: ignore[assignment]
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> Optional[bool]:
        self.scope.bind(node.name.value, Binding("function", node, self.scope))
        self._mark(node.name, node.params, node.returns)
        for decorator in node.decorators:
            self.walk(decorator)
        body = Scope("function", node, self.scope)
        self.facts.functions.append(FunctionValue(node=node, scope=self.scope, body=body))
        self.facts.scope_of_function[node] = body
        self.facts.returns[node] = []
        is_method = self.scope.kind == "class" and not any(
            dotted_name(d.decorator) in ("staticmethod", "classmethod") for d in node.decorators
        )
        params = list(node.params.posonly_params) + list(node.params.params)
        for index, param in enumerate(params + list(node.params.kwonly_params)):
            if index == 0 and is_method and params:
                body.bind(param.name.value, Binding("self", node, body))
            elif param.annotation is not None:
                body.bind(param.name.value, Binding("annotation", param.annotation.annotation, self.scope))
            else:  # what the function's callers in this file pass (`Resolver` reads them)
                body.bind(param.name.value, Binding("parameter", param, body))
        for star in (node.params.star_arg, node.params.star_kwarg):
            if isinstance(star, cst.Param):
                body.bind(star.name.value, Binding("unknown", None, body))
        for param in params + list(node.params.kwonly_params):
            if param.default is not None:
                self.walk(param.default)
        self.scope = body
        self.function_stack.append(node)
        outer_loops, self.loops = self.loops, ()
        self.walk(node.body)
        self.loops = outer_loops
        self.function_stack.pop()
        self.scope = body.parent  # type: ignore[assignment]
        return False

    def visit_Lambda(self, node: cst.Lambda) -> Optional[bool]:
        return True  # parameters shadow nothing we track; the body is one expression

    def visit_Return(self, node: cst.Return) -> Optional[bool]:
        if self.function_stack and node.value is not None:
            self.facts.returns[self.function_stack[-1]].append(node.value)
        return True

    # --- bindings -----------------------------------------------------------------------
    def _bind_target(self, target: cst.BaseExpression, how: str, value: Optional[cst.CSTNode]) -> None:
        if isinstance(target, cst.Name):
            self.scope.bind(target.value, Binding(how, value, self.scope))
        elif isinstance(target, cst.Attribute):
            if isinstance(target.value, cst.Name):
                cls_scope = self.scope.enclosing_class()
                binding = self.scope.bindings.get(target.value.value, [])
                if cls_scope is not None and binding and binding[0].how == "self":
                    attrs = self.facts.self_attributes.setdefault(cls_scope, {})
                    attrs.setdefault(target.attr.value, []).append(Binding(how, value, self.scope))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                inner = element.value
                if isinstance(inner, cst.StarredElement):
                    inner = inner.value
                self._bind_target(inner, "unknown", None)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, "unknown", None)
        elif isinstance(target, cst.Subscript):
            root = dotted_name(target.value)
            if root is not None:
                self.facts.subscript_targets.add(root.split(".")[0])

    def visit_Assign(self, node: cst.Assign) -> Optional[bool]:
        for target in node.targets:
            self._bind_target(target.target, "value", node.value)
        return True

    def visit_AnnAssign(self, node: cst.AnnAssign) -> Optional[bool]:
        if node.value is not None:
            self._bind_target(node.target, "value", node.value)
        else:
            self._bind_target(node.target, "annotation", node.annotation.annotation)
        return True

    def visit_AugAssign(self, node: cst.AugAssign) -> Optional[bool]:
        self._bind_target(node.target, "unknown", None)
        return True

    def visit_NamedExpr(self, node: cst.NamedExpr) -> Optional[bool]:
        self._bind_target(node.target, "value", node.value)
        return True

    def visit_For(self, node: cst.For) -> Optional[bool]:
        self._bind_target(node.target, "element", node.iter)
        self.walk(node.iter)  # the iterable is evaluated once, outside the loop
        self.loops = self.loops + (node,)
        self.walk(node.target)
        self.walk(node.body)
        self.loops = self.loops[:-1]
        if node.orelse is not None:
            self.walk(node.orelse)
        return False

    def visit_While(self, node: cst.While) -> Optional[bool]:
        self.loops = self.loops + (node,)
        self.walk(node.test)
        self.walk(node.body)
        self.loops = self.loops[:-1]
        if node.orelse is not None:
            self.walk(node.orelse)
        return False

    def visit_CompFor(self, node: cst.CompFor) -> Optional[bool]:
        self._bind_target(node.target, "element", node.iter)
        return True

    def visit_WithItem(self, node: cst.WithItem) -> Optional[bool]:
        if node.asname is not None:
            self._bind_target(node.asname.name, "unknown", None)
        return True

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> Optional[bool]:
        if node.name is not None:
            self._bind_target(node.name.name, "unknown", None)
        return True

    def visit_Global(self, node: cst.Global) -> Optional[bool]:
        self._mark(node)
        return False

    # --- imports ------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> Optional[bool]:
        self.facts.import_statement[node] = self.statement
        self._mark(node)
        for alias in node.names:
            full = dotted_name(alias.name)
            if full is None:
                continue
            self.facts.imported_paths.append(full)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.scope.bind(alias.asname.name.value, Binding("import", node, self.scope, full))
            else:
                top = full.split(".")[0]
                self.scope.bind(top, Binding("import", node, self.scope, top))
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> Optional[bool]:
        self.facts.import_statement[node] = self.statement
        self._mark(node)
        if node.relative or node.module is None:
            # relative imports: the project's own modules (never Keras); the project index reads them
            self.facts.relative_imports += 1
            dots = "." * len(node.relative)
            package = dotted_name(node.module) if node.module is not None else ""
            names = node.names if not isinstance(node.names, cst.ImportStar) else []
            for alias in names:
                target = alias.asname.name if alias.asname is not None else alias.name
                name = dotted_name(alias.name)
                if isinstance(target, cst.Name) and name is not None:
                    full = f"{dots}{package}.{name}" if package else f"{dots}{name}"
                    self.scope.bind(target.value, Binding("import", node, self.scope, full))
            return False
        module = dotted_name(node.module)
        if module is None:
            return False
        if isinstance(node.names, cst.ImportStar):
            self.facts.imported_paths.append(module)
            self.scope.star_imports.append(module)
            return False
        for alias in node.names:
            name = dotted_name(alias.name)
            if name is None:
                continue
            full = f"{module}.{name}"
            self.facts.imported_paths.append(full)
            target = alias.asname.name if alias.asname is not None else alias.name
            if isinstance(target, cst.Name):
                self.scope.bind(target.value, Binding("import", node, self.scope, full))
        return False

    # --- statements -------------------------------------------------------------------
    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> Optional[bool]:
        self.blocks.append(node)
        return True

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self.blocks.pop()

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> Optional[bool]:
        self.statement = node
        self.facts.block_of[node] = self.blocks[-1]
        return True

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        self.statement = None

    def visit_Subscript(self, node: cst.Subscript) -> Optional[bool]:
        if isinstance(node.value, cst.Attribute) and node.value.attr.value == "history":
            self.facts.history_subscripts.append((node, self.scope))
        return True

    def visit_Attribute(self, node: cst.Attribute) -> Optional[bool]:
        self.facts.attributes.setdefault(node.attr.value, []).append(AttributeSite(node, self.scope, self.statement))
        return True

    # --- calls --------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> Optional[bool]:
        site = CallSite(node, self.scope, self.statement, self.loops)
        self.facts._order[node] = len(self.facts.calls)
        self.facts.calls.append(site)
        self.facts.site_of[node] = site
        if isinstance(node.func, cst.Attribute):
            self.facts.calls_by_method.setdefault(node.func.attr.value, []).append(site)
        elif isinstance(node.func, cst.Name):
            self.facts.calls_by_method.setdefault(node.func.value, []).append(site)
        return True

    _class_values: Dict[cst.ClassDef, ClassValue]


def collect_facts(module: cst.Module) -> ModuleFacts:
    collector = _Collector(module)
    collector._class_values = {}
    for index, statement in enumerate(module.body):
        collector.top = index
        collector.walk(statement)
    return collector.facts


def keyword_args(call: cst.Call) -> List[Tuple[str, cst.Arg]]:
    return [(arg.keyword.value, arg) for arg in call.args if arg.keyword is not None]


def find_keyword(call: cst.Call, name: str) -> Optional[cst.Arg]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional_args(call: cst.Call) -> Sequence[cst.Arg]:
    return [arg for arg in call.args if arg.keyword is None and not arg.star]
