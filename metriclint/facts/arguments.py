"""What a call passes to a parameter, as Python binds it.

By keyword, by position (the Keras method's real signature for the flavour, or the local
function's own parameters), through `*args` of a list the file spells out, or through
`**options` of a dict it spells out (`fit(x, y, **FIT_OPTIONS)`). A `*`/`**` the file does not
show may or may not pass the parameter: that is `UNKNOWN`, not "not passed".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional, Union

import libcst as cst

from ..keras.signatures import parameter_position
from .containers import elements, items
from .values import Scope

if TYPE_CHECKING:  # pragma: no cover
    from .resolve import Resolver


@dataclass(frozen=True)
class Bound:
    """The expression a call passes to one parameter, and where it is written."""

    value: cst.BaseExpression
    scope: Scope  # where `value` is evaluated
    arg: Optional[cst.Arg] = None  # the call's own argument, when it is one (fixes edit it)
    element: Optional[cst.DictElement] = None  # else the `**options` dict entry it came from


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:  # `if bound:` means "certainly passed"
        return False


UNKNOWN = _Unknown()
Binding = Union[Bound, None, _Unknown]  # None: certainly not passed


def bind(resolver: "Resolver", call: cst.Call, scope: Scope, parameter: str, position: Optional[int]) -> Binding:
    """What `call` passes to `parameter` (at 0-based `position` among the positional ones, or only
    by keyword when `position` is None)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == parameter:
            return Bound(arg.value, scope, arg)
    unknown = False
    index = 0
    for arg in call.args:
        if arg.keyword is not None or arg.star == "**":
            continue
        if arg.star == "*":
            spread = elements(resolver, arg.value, scope)
            if spread is None:
                unknown = position is not None and index <= position
                break
            for value, inner in spread:
                if index == position:
                    return Bound(value, inner)
                index += 1
            continue
        if index == position:
            return Bound(arg.value, scope, arg)
        index += 1
    for arg in call.args:
        if arg.star != "**":
            continue
        found = items(resolver, arg.value, scope)
        if found is None:
            unknown = True
            continue
        for key, value, inner, element in found:
            if key == parameter:
                return Bound(value, inner, None, element)
    return UNKNOWN if unknown else None


def keras_argument(resolver: "Resolver", call: cst.Call, scope: Scope, method: str, parameter: str,
                   flavour: str) -> Binding:
    """What a call of the Keras model method `method` passes to `parameter` on `flavour`."""
    return bind(resolver, call, scope, parameter, parameter_position(flavour, method, parameter))


def positional_parameters(function: cst.FunctionDef) -> List[cst.Param]:
    return list(function.params.posonly_params) + list(function.params.params)


def parameter_binding(resolver: "Resolver", call: cst.Call, scope: Scope, function: cst.FunctionDef,
                      param: cst.Param, skip_first: bool) -> Binding:
    """What `call` (of the local `function`; `skip_first` for a bound method, whose `self` the
    call does not pass) gives the parameter `param`, its default included."""
    positional = positional_parameters(function)
    name = param.name.value
    position = None
    index = next((i for i, p in enumerate(positional) if p is param), None)
    if index is not None:
        position = index - (1 if skip_first else 0)
        if position < 0:
            return UNKNOWN
    found = bind(resolver, call, scope, name, position)
    if found is None and param.default is not None:
        return Bound(param.default, resolver.scope_outside(function))
    return found


def constructor_argument(resolver: "Resolver", call: cst.Call, scope: Scope, keras_class: str, parameter: str,
                         flavour: str) -> Binding:
    """What a call of the Keras class `keras_class` (canonical: `metrics.AUC`) passes to `parameter`."""
    from ..keras.constructors import constructor_position

    return bind(resolver, call, scope, parameter, constructor_position(flavour, keras_class, parameter))
