"""KM112: a `Metric.update_state` without a `sample_weight` parameter (and no `**kwargs`)."""

from __future__ import annotations

from typing import Iterator, List, Optional, Set, Union

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import find_keyword
from ..facts.entries import Flag
from ..facts.values import ClassValue, Instance
from ..facts.walk import Walker
from ..keras.symbols import METRIC
from ..locate import Locator
from ..prefilter import UPDATE_STATE_WITHOUT_SAMPLE_WEIGHT
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import classes_of_kind, edit_distance, has_star_kwargs, is_abstract, methods, parameter_names

_PARAM = "sample_weight=None"
_Last = Union[cst.Param, cst.ParamSlash, cst.ParamStar]


class UpdateStateWithoutSampleWeight(Rule):
    code = "KM112"
    name = "update-state-without-sample-weight"
    summary = "`Metric.update_state` without a `sample_weight` parameter: `fit`/`evaluate` raise TypeError"
    fix_safety = Safety.SAFE
    needs = (Flag(UPDATE_STATE_WITHOUT_SAMPLE_WEIGHT, "update_state"),)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        compiled: Optional[Set[int]] = None
        by_hand: Optional[Set[int]] = None
        for cls in classes_of_kind(ctx, METRIC):
            update = methods(cls).get("update_state")
            if update is None or "sample_weight" in parameter_names(update) or has_star_kwargs(update):
                continue
            if not _takes_y_true_and_y_pred(update) or is_abstract(update):
                continue
            name = cls.node.name.value
            if compiled is None:
                compiled = _compiled_classes(ctx)
            if id(cls) in compiled:
                why = f"`{name}` goes to `compile()` here, and Keras calls"
            else:
                # Not compiled in this file: a metric for `compile()` elsewhere, unless the file
                # shows it is a helper updated by hand (or a base whose subclasses take the weights).
                if by_hand is None:
                    by_hand = _updated_by_hand(ctx)
                if id(cls) in by_hand or _overridden_below(ctx, cls):
                    continue
                why = "in `compile(metrics=[...])` Keras calls"
            misspelt = _misspelt_sample_weight(update)
            if misspelt is not None:
                yield self._misspelling(name, why, update, misspelt)
                continue
            required = _required_extra(update)
            if required is not None:
                # `update_state(self, y_true, y_pred, weights)`: adding `sample_weight=None` leaves
                # `weights` unfilled (TypeError still); what it is for is the author's call
                yield Finding(update.name, f"`{name}.update_state` takes no `sample_weight` (TypeError). {why[:1].upper()}{why[1:]} "
                              "`update_state(y_true, y_pred, sample_weight=...)`, so `fit`/`evaluate` raise "
                              f"TypeError, and Keras never fills its required `{required}`: make the signature "
                              "`update_state(self, y_true, y_pred, sample_weight=None)`")
                continue
            yield Finding(
                update.name,
                f"`{name}.update_state` takes no `sample_weight` (TypeError). {why[:1].upper()}{why[1:]} "
                "`update_state(y_true, y_pred, sample_weight=...)` (`None` when no weights are given), so "
                "`fit`/`evaluate` raise `TypeError: ... got an unexpected keyword argument 'sample_weight'`; "
                "add `sample_weight=None` (and weight the values with it)",
                FixPlan(Safety.SAFE, "Add `sample_weight=None` to the signature",
                        lambda loc, function=update: _add_parameter(loc, function)),
            )

    def _misspelling(self, name: str, why: str, update: cst.FunctionDef, param: cst.Param) -> Finding:
        wrong = param.name.value
        message = (f"`{name}.update_state` takes `{wrong}`, not `sample_weight` (TypeError). {why[:1].upper()}{why[1:]} "
                   "`update_state(y_true, y_pred, sample_weight=...)`, so `fit`/`evaluate` raise TypeError "
                   f"(unexpected keyword argument 'sample_weight'); rename `{wrong}` to `sample_weight`")
        uses = _renamable_uses(update, wrong)
        if uses is None:  # the name is rebound in a nested scope, or read through locals(): by hand
            return Finding(param.name, message)
        return Finding(param.name, message, FixPlan(
            Safety.SAFE, f"Rename `{wrong}` to `sample_weight`",
            lambda loc: [loc.replace(node, "sample_weight") for node in [param.name, *uses]]))


def _normalised(name: str) -> str:
    return name.lower().replace("_", "")


def _misspelt_sample_weight(function: cst.FunctionDef) -> Optional[cst.Param]:
    """The parameter after `y_true, y_pred` that is `sample_weight` misspelt (`sample_weights`,
    `sample_weigth`, `sampleWeight`): one edit away once case and underscores are dropped."""
    params = function.params
    candidates = (list(params.posonly_params) + list(params.params))[3:] + list(params.kwonly_params)
    found = [p for p in candidates if edit_distance(_normalised(p.name.value), "sampleweight") <= 1]
    return found[0] if len(found) == 1 else None


def _required_extra(function: cst.FunctionDef) -> Optional[str]:
    """A parameter beyond `self, y_true, y_pred` without a default (Keras never fills it)."""
    params = function.params
    extra = (list(params.posonly_params) + list(params.params))[3:] + list(params.kwonly_params)
    return next((p.name.value for p in extra if p.default is None), None)


class _NameUses(Walker):
    """Reads of a name in a function body: not attribute names (`self.x`), not keywords (`f(x=1)`).
    `clash` when a nested scope may rebind it or `locals()`/`vars()` reads it by name."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.uses: List[cst.Name] = []
        self.clash = False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name:
            self.uses.append(node)
        elif node.value in ("locals", "vars", "eval", "exec"):
            self.clash = True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self.walk(node.value)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        self.walk(node.value)
        return False

    def _nested(self, node: cst.CSTNode) -> bool:
        inner = _NameUses(self.name)
        for child in node.children:
            inner.walk(child)
        if inner.uses or inner.clash:
            self.clash = True
        return False

    visit_FunctionDef = visit_Lambda = visit_ClassDef = _nested
    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _nested

    def visit_Global(self, node: cst.Global) -> None:
        self.clash = True

    visit_Nonlocal = visit_Global


def _renamable_uses(function: cst.FunctionDef, name: str) -> Optional[List[cst.Name]]:
    """The uses of parameter `name` in the body when renaming them all is safe, else None."""
    walker = _NameUses(name)
    walker.walk(function.body)
    return None if walker.clash else walker.uses


def _takes_y_true_and_y_pred(function: cst.FunctionDef) -> bool:
    """Whether Keras's `update_state(y_true, y_pred, ...)` call fits: `self` plus two positionals (or `*args`)."""
    params = function.params
    positional = list(params.posonly_params) + list(params.params)
    return len(positional) >= 3 or isinstance(params.star_arg, cst.Param)


def _defining_class(ctx: RuleContext, cls: ClassValue, seen: Optional[set] = None) -> Optional[ClassValue]:
    """The local class whose `update_state` an instance of `cls` runs (itself or a local base)."""
    seen = set() if seen is None else seen
    if id(cls) in seen:
        return None
    seen.add(id(cls))
    if "update_state" in methods(cls):
        return cls
    for base in ctx.resolver.local_bases(cls):
        if isinstance(base, ClassValue):
            found = _defining_class(ctx, base, seen)
            if found is not None:
                return found
    return None


def _metric_elements(value: cst.BaseExpression) -> List[cst.BaseExpression]:
    """Metric expressions in a `metrics=`/`weighted_metrics=` value: a list, or a dict of lists per output."""
    if isinstance(value, (cst.List, cst.Tuple)):
        return [e.value for e in value.elements if not isinstance(e, cst.StarredElement)]
    if isinstance(value, cst.Dict):
        out: List[cst.BaseExpression] = []
        for element in value.elements:
            if isinstance(element, cst.DictElement):
                inner = element.value
                out.extend(_metric_elements(inner) if isinstance(inner, (cst.List, cst.Tuple)) else [inner])
        return out
    return [value]


def _compiled_classes(ctx: RuleContext) -> Set[int]:
    """ids of the local classes whose `update_state` runs for a metric given to a `compile()` here."""
    found: Set[int] = set()
    for site in ctx.facts.method_calls("compile"):
        for keyword in ("metrics", "weighted_metrics"):
            arg = find_keyword(site.node, keyword)
            if arg is None:
                continue
            for element in _metric_elements(arg.value):
                value = ctx.resolver.resolve(element, site.scope)
                if isinstance(value, Instance) and value.local_class is not None:
                    owner = _defining_class(ctx, value.local_class)
                    if owner is not None:
                        found.add(id(owner))
    return found


def _updated_by_hand(ctx: RuleContext) -> Set[int]:
    """ids of the local classes whose `update_state` the file calls itself: `m.update_state(...)`, `m(...)`."""
    found: Set[int] = set()
    for site in ctx.facts.calls:
        func = site.node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "update_state":
            receiver: cst.BaseExpression = func.value
        else:
            receiver = func
        value = ctx.resolver.resolve(receiver, site.scope)
        if isinstance(value, Instance) and value.local_class is not None:
            owner = _defining_class(ctx, value.local_class)
            if owner is not None:
                found.add(id(owner))
    return found


def _overridden_below(ctx: RuleContext, cls: ClassValue) -> bool:
    """A local subclass defines its own `update_state`: `cls` is a base (it may be called via `super()`)."""
    for other in ctx.facts.classes:
        if other is cls or "update_state" not in methods(other):
            continue
        if any(base is cls for base in ctx.resolver.local_bases(other)):
            return True
    return False


def _last_parameter(params: cst.Parameters) -> Optional[_Last]:
    ordered: List[_Last] = list(params.posonly_params)
    if isinstance(params.posonly_ind, cst.ParamSlash):
        ordered.append(params.posonly_ind)
    ordered.extend(params.params)
    if isinstance(params.star_arg, (cst.Param, cst.ParamStar)):
        ordered.append(params.star_arg)
    ordered.extend(params.kwonly_params)
    return ordered[-1] if ordered else None


def _end_of(loc: Locator, param: _Last) -> int:
    """Where a parameter's text ends: libcst's position of a `Param` covers only its name, so
    take the furthest of the name, the annotation and the default (with its parentheses)."""
    parts: List[cst.CSTNode] = [param]
    if isinstance(param, cst.Param):
        parts.append(param.name)
        if param.annotation is not None:
            parts.append(param.annotation.annotation)
        if param.default is not None:
            parts.append(param.default)
            parts.extend(getattr(param.default, "rpar", ()))
    return max(loc.span(part)[1] for part in parts)


def _add_parameter(loc: Locator, function: cst.FunctionDef) -> List[Edit]:
    """Append `sample_weight=None` after the last parameter, in the signature's own layout.

    One line: `, sample_weight=None` (after a trailing comma: ` sample_weight=None,`). One
    parameter per line (the closing parenthesis on its own line): a new line with the same
    indentation (after any comment on the last parameter's line), with a trailing comma when
    the signature has one.
    """
    last = _last_parameter(function.params)
    if last is None:  # `def update_state():` is not a method Keras can call; kept for safety
        start, _ = loc.span(function.params)
        return [Edit(start, start, _PARAM)]
    last_end = _end_of(loc, last)
    close_line = loc.end(function.params).line
    last_line = loc.lines.position(last_end).line
    multiline = close_line > last_line
    start_line = loc.start(last).line
    line_text = loc.lines.line_text(start_line)
    indent = line_text[: len(line_text) - len(line_text.lstrip())]
    own_line = loc.start(last).column - 1 == len(indent)  # nothing but indentation before it
    comma = getattr(last, "comma", cst.MaybeSentinel.DEFAULT)
    has_comma = isinstance(comma, cst.Comma)
    backslashes = "\\" in loc.lines.text[loc.span(function.params)[0]:loc.span(function.params)[1] + 1]
    if multiline and own_line and not backslashes:  # (lines joined by `\` take the parameter on the line)
        offset = loc.lines.starts[last_line]  # the start of the line after the last parameter
        new_line = Edit(offset, offset, f"{indent}{_PARAM}{',' if has_comma else ''}{loc.newline}")
        return [new_line] if has_comma else [Edit(last_end, last_end, ","), new_line]
    if has_comma:
        _, comma_end = loc.span(comma)
        return [Edit(comma_end, comma_end, f" {_PARAM},")]
    return [Edit(last_end, last_end, f", {_PARAM}")]


_HEAD = (
    "class Hits(keras.metrics.Metric):\n    def __init__(self, **kw):\n        super().__init__(**kw)\n"
    "        self.total = self.add_weight(name='t', shape=(), initializer='zeros')\n"
)
_BODY = "        self.total.assign_add(1.0)\n"
_COMPILE = "model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\nmodel.compile(loss='binary_crossentropy', metrics=[Hits()])\n"

UpdateStateWithoutSampleWeight.valid = (
    Example("import keras\n" + _HEAD + "    def update_state(self, y_true, y_pred, sample_weight=None):\n" + _BODY + _COMPILE),
    # **kwargs takes the keyword
    Example("import keras\n" + _HEAD + "    def update_state(self, y_true, y_pred, **kwargs):\n" + _BODY + _COMPILE),
    # keyword-only sample_weight
    Example("import keras\n" + _HEAD + "    def update_state(self, y_true, y_pred, *, sample_weight=None):\n" + _BODY),
    # not a Keras metric
    Example("import keras\nclass Meter:\n    def update_state(self, y_true, y_pred):\n        self.n += 1\n"),
    # a tracker fed one value by hand (`Mean`-like): not a compile metric
    Example("import keras\n" + _HEAD + "    def update_state(self, values):\n" + _BODY
            + "tracker = Hits()\ntracker.update_state(3.0)\n"),
    # a metric this file only updates by hand (Keras's own metric_test.py `ExampleMetric`)
    Example("from keras.src.metrics.metric import Metric\nclass ExampleMetric(Metric):\n"
            "    def update_state(self, y_true, y_pred):\n        self.sum.assign(self.sum + 1)\n"
            "metric = ExampleMetric(name='mse')\nmetric.update_state([1.0], [0.5])\n"),
    # by hand through a `self.` attribute and through `__call__`
    Example("import tensorflow as tf\nclass Hits(tf.keras.metrics.Metric):\n"
            "    def update_state(self, y_true, y_pred):\n        pass\n"
            "class Trainer:\n    def __init__(self):\n        self.hits = Hits()\n"
            "    def step(self, y, p):\n        self.hits(y, p)\n"),
    # a base class whose subclass takes the weights and calls it through super()
    Example("import keras\nclass Base(keras.metrics.Metric):\n    def update_state(self, y_true, y_pred):\n        pass\n"
            "class Weighted(Base):\n    def update_state(self, y_true, y_pred, sample_weight=None):\n"
            "        super().update_state(y_true, y_pred)\n"),
    # abstract placeholder
    Example("import keras\nclass Base(keras.metrics.Metric):\n    def update_state(self, y_true, y_pred):\n"
            "        raise NotImplementedError\n"),
)

UpdateStateWithoutSampleWeight.invalid = (
    # `sample_weight` misspelt: adding `sample_weight=None` would still fail; rename it, uses too
    Example(
        "import keras\n" + _HEAD + "    def update_state(self, y_true, y_pred, sample_weights=None):\n"
        "        if sample_weights is not None:\n            y_pred = y_pred * sample_weights\n"
        "        self.total.assign_add(keras.ops.sum(y_pred))\n" + _COMPILE,
        fixed="import keras\n" + _HEAD + "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
        "        if sample_weight is not None:\n            y_pred = y_pred * sample_weight\n"
        "        self.total.assign_add(keras.ops.sum(y_pred))\n" + _COMPILE,
        safety="safe",
    ),
    # misspelt and required; an attribute and a keyword of the same name are other names
    Example(
        "import keras\n" + _HEAD + "    def update_state(self, y_true, y_pred, sample_weigth):\n"
        "        self.sample_weigth = sample_weigth\n        f(sample_weigth=sample_weigth)\n" + _COMPILE,
        fixed="import keras\n" + _HEAD + "    def update_state(self, y_true, y_pred, sample_weight):\n"
        "        self.sample_weigth = sample_weight\n        f(sample_weigth=sample_weight)\n" + _COMPILE,
        safety="safe",
    ),
    # misspelt, but a nested function rebinds the name: renaming by hand; report only
    Example(
        "import keras\n" + _HEAD + "    def update_state(self, y_true, y_pred, sample_weights=None):\n"
        "        scale = lambda sample_weights: sample_weights * 2\n        self.total.assign_add(1.0)\n" + _COMPILE,
        safety="none",
    ),
    # another required parameter: `sample_weight=None` alone would leave it unfilled; report only
    Example("import keras\n" + _HEAD + "    def update_state(self, y_true, y_pred, weights):\n" + _BODY + _COMPILE,
            safety="none"),
    Example(
        "import keras\n" + _HEAD + "    def update_state(self, y_true, y_pred):\n" + _BODY + _COMPILE,
        fixed="import keras\n" + _HEAD + "    def update_state(self, y_true, y_pred, sample_weight=None):\n" + _BODY + _COMPILE,
        safety="safe",
    ),
    # tf.keras, compiled in another module (no compile here): fires on the signature
    Example(
        "import tensorflow as tf\nclass F1(tf.keras.metrics.Metric):\n    def update_state(self, y_true, y_pred):\n        pass\n",
        fixed="import tensorflow as tf\nclass F1(tf.keras.metrics.Metric):\n"
        "    def update_state(self, y_true, y_pred, sample_weight=None):\n        pass\n",
        safety="safe",
    ),
    # from-import, trailing comma, one parameter per line, comment kept
    Example(
        "from tensorflow.keras.metrics import Metric\nclass M(Metric):\n    def update_state(\n        self,\n"
        "        y_true,\n        y_pred,  # probabilities\n    ):\n        pass\n",
        fixed="from tensorflow.keras.metrics import Metric\nclass M(Metric):\n    def update_state(\n        self,\n"
        "        y_true,\n        y_pred,  # probabilities\n        sample_weight=None,\n    ):\n        pass\n",
        safety="safe",
    ),
    # tf_keras (Keras 2), multi-line without a trailing comma, compiled by weighted_metrics
    Example(
        "import tf_keras as keras\nclass M(keras.metrics.Metric):\n    def update_state(\n        self,\n"
        "        y_true,\n        y_pred\n    ):\n        pass\n"
        "model = keras.Sequential([keras.layers.Dense(1)])\nmodel.compile(loss='mse', weighted_metrics=[M()])\n",
        fixed="import tf_keras as keras\nclass M(keras.metrics.Metric):\n    def update_state(\n        self,\n"
        "        y_true,\n        y_pred,\n        sample_weight=None\n    ):\n        pass\n"
        "model = keras.Sequential([keras.layers.Dense(1)])\nmodel.compile(loss='mse', weighted_metrics=[M()])\n",
        flavour="2",
        safety="safe",
    ),
    # a one-line trailing comma, and a subclass that inherits the method, compiled through a variable
    Example(
        "from keras import metrics\nclass Base(metrics.Metric):\n    def update_state(self, y_true, y_pred,):\n        pass\n"
        "class Child(Base):\n    pass\nchild = Child()\nmodel.compile(metrics=[child])\nchild.update_state(1, 2)\n",
        fixed="from keras import metrics\nclass Base(metrics.Metric):\n"
        "    def update_state(self, y_true, y_pred, sample_weight=None,):\n        pass\n"
        "class Child(Base):\n    pass\nchild = Child()\nmodel.compile(metrics=[child])\nchild.update_state(1, 2)\n",
        safety="safe",
    ),
    # a keyword-only parameter with a default (libcst's position of a `Param` is its name only)
    Example(
        "import keras\nclass M(keras.metrics.Metric):\n    def update_state(self, y_true, y_pred, *, mask=None):\n        pass\n",
        fixed="import keras\nclass M(keras.metrics.Metric):\n"
        "    def update_state(self, y_true, y_pred, *, mask=None, sample_weight=None):\n        pass\n",
        safety="safe",
    ),
    # one per line without a trailing comma: the comment stays on its line
    Example(
        "import keras\nclass M(keras.metrics.Metric):\n    def update_state(\n        self,\n        y_true,\n"
        "        y_pred  # probabilities\n    ):\n        pass\n",
        fixed="import keras\nclass M(keras.metrics.Metric):\n    def update_state(\n        self,\n        y_true,\n"
        "        y_pred,  # probabilities\n        sample_weight=None\n    ):\n        pass\n",
        safety="safe",
    ),
    # *args only: the parameter becomes keyword-only (positional calls unchanged)
    Example(
        "import keras\nclass M(keras.metrics.Metric):\n    def update_state(self, *args):\n        pass\n",
        fixed="import keras\nclass M(keras.metrics.Metric):\n    def update_state(self, *args, sample_weight=None):\n        pass\n",
        safety="safe",
    ),
)
