"""The elements of lists and the items of dicts, as real code builds them.

`metrics=METRICS`, `metrics=base + [AUC()]`, `[mean_loss] + metrics`, `list(METRICS)`,
`[*base, AUC()]`, `METRICS_BY_OUTPUT.values()`, a helper's `return [...]`, a parameter's
default: each is read down to its element expressions. Anything else (a list grown by
`.append`, built in a loop, from another library) is unknown: None, and rules stay silent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Tuple

import libcst as cst

from .collect import dotted_name
from .values import Scope

if TYPE_CHECKING:  # pragma: no cover
    from .resolve import Resolver

Element = Tuple[cst.BaseExpression, Scope]
Item = Tuple[str, cst.BaseExpression, Scope, Optional[cst.DictElement]]
_MAX_DEPTH = 8
# Methods that change a list in place: a list a file changes so is not a constant.
_MUTATORS = frozenset({"append", "extend", "insert", "remove", "pop", "clear", "__setitem__", "__iadd__"})


def elements(resolver: "Resolver", node: cst.BaseExpression, scope: Scope, depth: int = 0) -> Optional[List[Element]]:
    """The element expressions (with the scope each is evaluated in) of a list or tuple value, in
    order; None when they cannot be known."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, (cst.List, cst.Tuple)):
        out: List[Element] = []
        for element in node.elements:
            if isinstance(element, cst.StarredElement):
                inner = elements(resolver, element.value, scope, depth + 1)
                if inner is None:
                    return None
                out.extend(inner)
            else:
                out.append((element.value, scope))
        return out
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left = elements(resolver, node.left, scope, depth + 1)
        right = elements(resolver, node.right, scope, depth + 1) if left is not None else None
        return None if right is None else left + right  # type: ignore[operator]
    if isinstance(node, cst.Call):
        return _call_elements(resolver, node, scope, depth)
    if isinstance(node, cst.Name):
        found = resolver.single_value(node, scope)
        if found is None:
            return resolver.external_elements(node, scope)  # `from config import METRICS`
        if _mutated(resolver, node, scope):
            return None
        return elements(resolver, found[0], found[1], depth + 1)
    if isinstance(node, cst.Attribute):
        found = resolver.attribute_value(node, scope)
        if found is None:
            return resolver.external_elements(node, scope)  # `config.METRICS`
        return elements(resolver, found[0], found[1], depth + 1)
    return None


def _call_elements(resolver: "Resolver", call: cst.Call, scope: Scope, depth: int) -> Optional[List[Element]]:
    func = call.func
    # list(x), tuple(x)
    if isinstance(func, cst.Name) and func.value in ("list", "tuple") and not resolver.rebound(func.value, scope):
        if len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star:
            return elements(resolver, call.args[0].value, scope, depth + 1)
        return [] if not call.args else None
    # d.values() of a dict whose items are known
    if isinstance(func, cst.Attribute) and func.attr.value == "values" and not call.args:
        found = items(resolver, func.value, scope, depth + 1)
        return [(value, inner) for _, value, inner, _ in found] if found is not None else None
    # a local function's `return [...]` (every return must agree)
    returned = resolver.returned_expressions(call, scope)
    if returned is not None and len(returned) == 1:
        return elements(resolver, returned[0][0], returned[0][1], depth + 1)
    return resolver.external_elements(call, scope)  # another module's `get_metrics()`


def items(resolver: "Resolver", node: cst.BaseExpression, scope: Scope, depth: int = 0) -> Optional[List[Item]]:
    """(key, value expression, scope, the dict element or None) of a dict with string keys: a
    literal, `dict(a=...)`, a name assigned once, `{**base, "x": ...}`, a helper's return. None
    when a key is not a string or anything is unknown."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, cst.Dict):
        out: List[Item] = []
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                inner = items(resolver, element.value, scope, depth + 1)
                if inner is None:
                    return None
                out.extend(inner)
                continue
            key = element.key
            if not (isinstance(key, cst.SimpleString) and isinstance(key.evaluated_value, str)):
                return None
            out.append((key.evaluated_value, element.value, scope, element))
        return _last_wins(out)
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Name) and func.value == "dict" and not resolver.rebound("dict", scope):
            out = []
            for arg in node.args:
                if arg.keyword is not None:
                    out.append((arg.keyword.value, arg.value, scope, None))
                elif arg.star in ("**", ""):  # `dict(base, ...)`, `dict(**base, ...)`
                    inner = items(resolver, arg.value, scope, depth + 1)
                    if inner is None:
                        return None
                    out.extend(inner)
                else:
                    return None
            return _last_wins(out)
        returned = resolver.returned_expressions(node, scope)
        if returned is not None and len(returned) == 1:
            return items(resolver, returned[0][0], returned[0][1], depth + 1)
        return None
    if isinstance(node, cst.Name):
        found = resolver.single_value(node, scope)
        if found is None or _mutated(resolver, node, scope):
            return None
        return items(resolver, found[0], found[1], depth + 1)
    if isinstance(node, cst.Attribute):
        found = resolver.attribute_value(node, scope)
        return items(resolver, found[0], found[1], depth + 1) if found is not None else None
    return None


def _last_wins(found: List[Item]) -> List[Item]:
    """A later key replaces an earlier one, as in the dict itself."""
    out: dict = {}
    for item in found:
        out.pop(item[0], None)
        out[item[0]] = item
    return list(out.values())


def _mutated(resolver: "Resolver", name: cst.Name, scope: Scope) -> bool:
    """Whether the file changes this list or dict in place (`METRICS.append(...)`, `d["k"] = v`):
    flow-insensitive, any such change anywhere makes the value unknown."""
    return name.value in resolver.mutated_names()


def mutated_names(facts) -> frozenset:
    """Names the module changes in place: receivers of list/dict mutators, subscript targets."""
    names = set()
    for method in _MUTATORS | {"update", "setdefault"}:
        for site in facts.calls_by_method.get(method, ()):
            func = site.node.func
            if isinstance(func, cst.Attribute):
                root = dotted_name(func.value)
                if root is not None and "." not in root:
                    names.add(root)
    names.update(facts.subscript_targets)
    return frozenset(names)


def metric_elements(resolver: "Resolver", node: cst.BaseExpression, scope: Scope) -> Optional[List[Element]]:
    """Every metric expression in a `metrics=`/`weighted_metrics=` value: a list, one list (or
    metric) per output in a dict keyed by output name, or a list of such lists. None when unknown."""
    keyed = items(resolver, node, scope) if _maybe_dict(node) else None
    if keyed is not None:
        per_output: List[Element] = [(value, inner) for _, value, inner, _ in keyed]
    else:
        per_output = elements(resolver, node, scope)  # type: ignore[assignment]
        if per_output is None:
            return None
    out: List[Element] = []
    pending = list(reversed(per_output))
    while pending:
        value, inner = pending.pop()
        nested = elements(resolver, value, inner) if isinstance(value, (cst.List, cst.Tuple)) else None
        if nested is not None:
            pending.extend(reversed(nested))  # a list per output, or lists in lists
        elif isinstance(value, cst.Name) and value.value == "None":
            continue  # no metric for that output
        else:
            out.append((value, inner))
    return out


def _maybe_dict(node: cst.BaseExpression) -> bool:
    return not isinstance(node, (cst.List, cst.Tuple, cst.BinaryOperation))
