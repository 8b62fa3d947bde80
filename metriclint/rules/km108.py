"""KM108: `model.metrics_names` read as Keras 2 filled it (`zip` with results, `[1]`, `.index("accuracy")`):
on Keras 3 it is `['loss', 'compile_metrics']`."""

from __future__ import annotations

from typing import Iterator, List, Optional, Set

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import CallSite, find_keyword, positional_args
from ..facts.entries import Attributes, Calls
from ..facts.logkeys import compiled_metric_names
from ..facts.models import model_info
from ..facts.values import Instance, Scope
from ..facts.walk import find_all
from ..keras.symbols import MODEL
from ..locate import Locator
from .base import KERAS3_ONLY, Example, Finding, FixPlan, Rule, RuleContext
from .common import add_keyword, string_value

# `evaluate(x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict, ...)`:
# positional arguments up to `callbacks` leave room for the keyword (both flavours).
_EVALUATE_POSITIONALS_BEFORE_RETURN_DICT = 7

_WHY = (
    "Zipping `metrics_names` with `evaluate()` results mislabels them on Keras 3. `metrics_names` is "
    "`['loss', 'compile_metrics']` there (all compiled metrics sit in one container), so zipping it with the result list labels the first metric `compile_metrics` and drops "
    "the others: reading a metric by its name then raises KeyError (with several outputs the labels "
    "shift onto the wrong values)"
)

_ZIP_CALLS = Calls(("zip",))  # `dict(zip(...))` is a zip call too
_METRICS_NAMES = Attributes(("metrics_names",))


class MetricsNamesZip(Rule):
    code = "KM108"
    name = "metrics-names-zip"
    summary = "`model.metrics_names` zipped with results, indexed or searched: `['loss', 'compile_metrics']` on Keras 3"
    flavours = KERAS3_ONLY
    fix_safety = Safety.SAFE
    needs = (_METRICS_NAMES,)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        yield from _positions(ctx)
        if _builtin_rebound(ctx, "zip"):
            return
        wrapped: Set[cst.Call] = set()
        if not _builtin_rebound(ctx, "dict"):
            for site in ctx.facts.method_calls("dict"):
                inner = _single_zip_argument(site.node)
                if inner is None:
                    continue
                zip_site = ctx.facts.site_of.get(inner)
                if zip_site is None or _metrics_names_owner(ctx, zip_site) is None:
                    continue
                wrapped.add(inner)
                yield self._dict_finding(ctx, site, zip_site)
        for site in _ZIP_CALLS.sites(ctx.facts):
            if site.node in wrapped or _metrics_names_owner(ctx, site) is None:
                continue
            yield Finding(
                site.node,
                f"{_WHY}; read the results by name with `evaluate(..., return_dict=True)` instead",
            )

    def _dict_finding(self, ctx: RuleContext, dict_site: CallSite, zip_site: CallSite) -> Finding:
        message = f"{_WHY}; `evaluate(..., return_dict=True)` returns the dict with every key (both flavours)"
        dict_call = dict_site.node
        names, values = zip_site.node.args[0].value, zip_site.node.args[1].value
        evaluate = _evaluate_call(ctx, names, values, zip_site.scope)
        if evaluate is not None:  # dict(zip(model.metrics_names, model.evaluate(...)))
            def build(loc: Locator):
                # drop `dict(zip(model.metrics_names, ` and `))` around the call: it keeps its text
                start, end = loc.span(dict_call)
                inner_start, inner_end = loc.span(evaluate)
                # a line break before the call's own brackets (`model.evaluate\n(...)`) needs the ones
                # around it to stay: keep a pair
                _, func_end = loc.span(evaluate.func)
                opening = loc.lines.text.index("(", func_end)
                head = loc.lines.text[inner_start:opening]
                keep = "\n" in head or "\r" in head
                return [Edit(start, inner_start, "(" if keep else ""), Edit(inner_end, end, ")" if keep else ""),
                        *_with_return_dict(loc, evaluate)]

            return Finding(
                zip_site.node, message, FixPlan(Safety.SAFE, "Use `evaluate(..., return_dict=True)`", build)
            )
        evaluate = _evaluate_through_name(ctx, names, values, zip_site.scope)
        if evaluate is None:
            return Finding(zip_site.node, message)
        # scores = model.evaluate(...); ... dict(zip(model.metrics_names, scores)): `scores` is read only here
        assert isinstance(values, cst.Name)
        variable = values.value

        def build(loc: Locator):  # type: ignore[no-redef]
            return [*_with_return_dict(loc, evaluate), loc.replace(dict_call, variable)]

        return Finding(
            zip_site.node, message, FixPlan(Safety.SAFE, "Use `evaluate(..., return_dict=True)`", build)
        )


# --- helpers ----------------------------------------------------------------------------------
def _builtin_rebound(ctx: RuleContext, name: str) -> bool:
    """Whether the module binds `name` itself (then `zip`/`dict` may not be the builtin)."""
    return bool(ctx.facts.root.bindings.get(name))


def _single_zip_argument(call: cst.Call) -> Optional[cst.Call]:
    if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return None
    value = call.args[0].value
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "zip":
        return value
    return None


def _metrics_names_owner(ctx: RuleContext, site: CallSite) -> Optional[Instance]:
    """For `zip(<model>.metrics_names, <values>)` (exactly two arguments): the model it reads."""
    call = site.node
    if not isinstance(call.func, cst.Name) or call.func.value != "zip":
        return None
    args = call.args
    if len(args) != 2 or any(a.keyword is not None or a.star for a in args):
        return None
    first = args[0].value
    if not (isinstance(first, cst.Attribute) and first.attr.value == "metrics_names"):
        return None
    if _is_metrics_names(args[1].value):
        return None  # zip(a.metrics_names, b.metrics_names): names against names
    owner = ctx.resolver.instance(first.value, site.scope, MODEL)
    if owner is None:
        return None
    if owner.local_class is not None and ctx.resolver.class_defines(owner.local_class, "metrics_names"):
        return None  # the user's model defines its own metrics_names
    return owner


def _is_metrics_names(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value == "metrics_names"


def _evaluate_call(ctx: RuleContext, names: cst.BaseExpression, values: cst.BaseExpression,
                   scope: Scope) -> Optional[cst.Call]:
    """The `<same model>.evaluate(...)` call zipped with the names, when `return_dict=True` can go in."""
    if not (isinstance(values, cst.Call) and isinstance(values.func, cst.Attribute)):
        return None
    if values.func.attr.value != "evaluate":
        return None
    assert isinstance(names, cst.Attribute)
    if not _same_model(ctx, names.value, values.func.value, scope):
        return None
    if any(a.star for a in values.args) or find_keyword(values, "return_dict") is not None:
        return None
    if len(positional_args(values)) > _EVALUATE_POSITIONALS_BEFORE_RETURN_DICT:
        return None
    return values


def _evaluate_through_name(ctx: RuleContext, names: cst.BaseExpression, values: cst.BaseExpression,
                           scope: Scope) -> Optional[cst.Call]:
    """For `zip(model.metrics_names, scores)`: the `model.evaluate(...)` call `scores` holds, when it
    is assigned once, in the same scope, and read nowhere else (so it can become the dict)."""
    if not isinstance(values, cst.Name):
        return None
    assigned = ctx.resolver.assigned_values(values, scope)
    if assigned is None or len(assigned) != 1 or assigned[0][1] is not scope:
        return None
    bindings = scope.bindings.get(values.value) or []
    if len(bindings) != 1:
        return None
    evaluate = _evaluate_call(ctx, names, assigned[0][0], scope)  # type: ignore[arg-type]
    if evaluate is None:
        return None
    uses = sum(1 for n in find_all(scope.node, cst.Name) if n.value == values.value)
    return evaluate if uses == 2 else None  # the assignment and the zip


def _same_model(ctx: RuleContext, a: cst.BaseExpression, b: cst.BaseExpression, scope: Scope) -> bool:
    code = cst.Module([]).code_for_node
    if code(a) == code(b):
        return True
    first = ctx.resolver.instance(a, scope, MODEL)
    second = ctx.resolver.instance(b, scope, MODEL)
    return (
        first is not None and second is not None and first.origin is not None and first.origin is second.origin
    )


def _with_return_dict(loc: Locator, call: cst.Call) -> List[Edit]:
    return add_keyword(loc, call, "return_dict", "True")


# --- metrics_names[i], metrics_names.index("name") --------------------------------------------------
_INDEX_WHY = (
    "`metrics_names` is `['loss', 'compile_metrics']` on Keras 3 once the model is compiled (tf_keras lists "
    "`loss` and every metric's name once the model has run)"
)


def _positions(ctx: RuleContext) -> Iterator[Finding]:
    """`<model>.metrics_names[i]` (i >= 1 or negative) and `<model>.metrics_names.index("name")`."""
    sites = {id(site.node): site for site in _METRICS_NAMES.sites(ctx.facts)}
    if not sites:
        return
    subscripts = find_all(ctx.module, cst.Subscript)
    # `V[<model>.metrics_names.index("k")]`: the index call -> its subscript
    holder = {id(index): sub for sub in subscripts if (index := _single_index(sub)) is not None}
    groups: dict = {}
    found: List[tuple] = []
    for sub in subscripts:
        site = sites.get(id(sub.value))
        index = _single_index(sub)
        if site is None or not isinstance(index, (cst.Integer, cst.UnaryOperation)):
            continue
        position = _integer(index)
        owner = _model(ctx, sub.value, site.scope)  # type: ignore[arg-type]
        if position is None or position == 0 or owner is None:
            continue
        names = compiled_metric_names(ctx, owner)
        if names is None and _without_metrics(ctx, owner):
            continue  # `['loss']` on both flavours: an IndexError everywhere, not Keras 3's
        if names is not None and not -len(names) <= position < len(names):
            continue  # out of range on Keras 2 as well
        found.append(("label", sub, position, names))
    for site in ctx.facts.method_calls("index"):
        func = site.node.func
        if not (isinstance(func, cst.Attribute) and id(func.value) in sites) or len(site.node.args) != 1:
            continue
        name = string_value(site.node.args[0].value)
        owner = _model(ctx, func.value, site.scope)
        if name is None or name == "loss" or owner is None:
            continue
        names = compiled_metric_names(ctx, owner)
        if (names is not None and None not in names and name not in names) or (names is None and _without_metrics(ctx, owner)):
            continue  # a ValueError on Keras 2 too (KM207's business when the key is wrong)
        sub = holder.get(id(site.node))
        variable = _evaluate_variable(ctx, sub, func.value, site.scope) if sub is not None else None
        if variable is not None:
            groups.setdefault(variable[0], (variable[1], variable[2], []))[2].append((sub, name))
        found.append(("index", site.node, name, variable[0] if variable is not None else None))
    for kind, node, detail, extra in found:
        if kind == "label":
            yield _label_finding(node, detail, extra)
        else:
            yield _index_finding(node, detail, groups.get(extra) if extra is not None else None)


def _label_finding(sub: cst.Subscript, position: int, names: Optional[List[Optional[str]]]) -> Finding:
    code = cst.Module([]).code_for_node(sub)
    if position == 1 or position == -1:
        what = f"`{code}` is `'compile_metrics'` on Keras 3, not a metric's name"
    else:
        what = f"`{code}` raises IndexError on Keras 3"
    message = f"{what}. {_INDEX_WHY[:1].upper()}{_INDEX_WHY[1:]}"
    label = names[position] if names is not None else None
    if label is None:
        return Finding(sub, message + "; read results by name with `evaluate(..., return_dict=True)`")
    return Finding(sub, f"{message}; the metric there is `{label}`", FixPlan(
        Safety.SAFE, f'Use the name `"{label}"`', lambda loc: [loc.replace(sub, f'"{label}"')]))


def _index_finding(call: cst.Call, name: str, group) -> Finding:
    message = (f"`metrics_names.index({name!r})` raises ValueError on Keras 3 ({name!r} is not in the list). "
               f"{_INDEX_WHY[:1].upper()}{_INDEX_WHY[1:]}; read results by name with `evaluate(..., return_dict=True)`")
    if group is None:
        return Finding(call, message)
    evaluate, variable, reads = group

    def build(loc: Locator) -> List[Edit]:
        edits = list(_with_return_dict(loc, evaluate))
        for sub, key in reads:
            edits.append(loc.replace(sub, f'{variable}["{key}"]'))
        return edits

    return Finding(call, message, FixPlan(Safety.SAFE, "Use `evaluate(..., return_dict=True)` and its keys", build))


def _single_index(sub: cst.Subscript) -> Optional[cst.BaseExpression]:
    if len(sub.slice) != 1 or not isinstance(sub.slice[0].slice, cst.Index):
        return None
    return sub.slice[0].slice.value


def _integer(node: cst.BaseExpression) -> Optional[int]:
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) and isinstance(node.expression, cst.Integer):
        return -int(node.expression.value, 0)
    return None


def _model(ctx: RuleContext, names: cst.Attribute, scope: Scope) -> Optional[Instance]:
    owner = ctx.resolver.instance(names.value, scope, MODEL)
    if owner is None or (owner.local_class is not None and ctx.resolver.class_defines(owner.local_class, "metrics_names")):
        return None
    return owner


def _without_metrics(ctx: RuleContext, owner: Instance) -> bool:
    """The model's one compile is known and certainly has no metrics."""
    model = model_info(ctx, owner)
    return model is not None and len(model.all_compiles) == 1 and model.all_compiles[0].has_metrics is False


def _evaluate_variable(ctx: RuleContext, sub: cst.Subscript, names: cst.Attribute, scope: Scope):
    """For `score[model.metrics_names.index("k")]`: (`score`, the `model.evaluate(...)` call it holds,
    its name) when `score` is assigned once from it in this scope and read only through such subscripts."""
    values = sub.value
    if not isinstance(values, cst.Name):
        return None
    assigned = ctx.resolver.assigned_values(values, scope)
    if assigned is None or len(assigned) != 1 or assigned[0][1] is not scope or len(scope.bindings.get(values.value) or []) != 1:
        return None
    evaluate = _evaluate_call(ctx, names, assigned[0][0], scope)  # type: ignore[arg-type]
    if evaluate is None:
        return None
    reads = [n for n in find_all(scope.node, cst.Name) if n.value == values.value]
    indexed = [s for s in find_all(scope.node, cst.Subscript)
               if isinstance(s.value, cst.Name) and s.value.value == values.value and _is_names_index(_single_index(s))]
    if len(reads) != 1 + len(indexed):
        return None  # read some other way too (`score[1]`, `print(score)`)
    return (id(evaluate), evaluate, values.value)


def _is_names_index(node: Optional[cst.BaseExpression]) -> bool:
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "index"
            and _is_metrics_names(node.func.value) and len(node.args) == 1 and string_value(node.args[0].value) is not None)


# --- examples (run by tests/test_rule_examples.py) ---------------------------------------------
_MODEL = """\
import keras
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", keras.metrics.AUC()])
"""

MetricsNamesZip.valid = (
    Example(_MODEL + "scores = model.evaluate(x, y, return_dict=True)\n"),
    # Keras 2 (tf_keras): metrics_names lists every metric
    Example(
        "import tf_keras as keras\nmodel = keras.Sequential()\n"
        "scores = dict(zip(model.metrics_names, model.evaluate(x, y)))\n",
        flavour="2",
    ),
    Example(
        "from tensorflow import keras\nmodel = keras.Sequential()\n"
        "scores = dict(zip(model.metrics_names, model.evaluate(x, y)))\n",
        flavour="2",
    ),
    # an unknown receiver (a parameter) is left alone
    Example("import keras\ndef report(model, x, y):\n    return dict(zip(model.metrics_names, model.evaluate(x, y)))\n"),
    # metrics_names read for display only
    Example(_MODEL + "print(model.metrics_names)\n"),
    # a user model that defines metrics_names itself
    Example(
        "import keras\nclass Net(keras.Model):\n    @property\n    def metrics_names(self):\n        return ['loss', 'acc']\n"
        "net = Net()\nd = dict(zip(net.metrics_names, net.evaluate(x, y)))\n"
    ),
    # zip rebound in the file
    Example(_MODEL + "from itertools import zip_longest as zip\nd = dict(zip(model.metrics_names, model.evaluate(x, y)))\n"),
    # text only
    Example(_MODEL + "# dict(zip(model.metrics_names, model.evaluate(x, y)))\ns = 'zip(model.metrics_names, r)'\n"),
)

MetricsNamesZip.invalid = (
    Example(
        _MODEL + "scores = dict(zip(model.metrics_names, model.evaluate(x, y, verbose=0)))\n",
        fixed=_MODEL + "scores = model.evaluate(x, y, verbose=0, return_dict=True)\n",
        safety="safe",
    ),
    Example(
        "import tensorflow as tf\nmodel = tf.keras.models.load_model('m.keras')\n"
        "print(dict(zip(model.metrics_names, model.evaluate(ds))))\n",
        fixed="import tensorflow as tf\nmodel = tf.keras.models.load_model('m.keras')\n"
        "print(model.evaluate(ds, return_dict=True))\n",
        safety="safe",
    ),
    # a multi-line call keeps its layout
    Example(
        "from tensorflow.keras.models import Sequential\nmodel = Sequential()\n"
        "results = dict(\n    zip(\n        model.metrics_names,\n        model.evaluate(\n            x_test,\n            y_test,\n        ),\n    )\n)\n",
        fixed="from tensorflow.keras.models import Sequential\nmodel = Sequential()\n"
        "results = model.evaluate(\n            x_test,\n            y_test,\n            return_dict=True,\n        )\n",
        safety="safe",
    ),
    # the result in a variable read only by the zip: the variable becomes the dict
    Example(
        "import keras\nmodel = keras.models.load_model('m.keras')\n"
        "result = model.evaluate(test_ds, batch_size=32)\nprint(dict(zip(model.metrics_names, result)))\n",
        fixed="import keras\nmodel = keras.models.load_model('m.keras')\n"
        "result = model.evaluate(test_ds, batch_size=32, return_dict=True)\nprint(result)\n",
        safety="safe",
    ),
    Example(
        "from tensorflow.keras.models import load_model\ndef main():\n    model = load_model('m.h5')\n"
        "    score = model.evaluate(x, y)\n    output = dict(zip(model.metrics_names, score))\n    return output\n",
        fixed="from tensorflow.keras.models import load_model\ndef main():\n    model = load_model('m.h5')\n"
        "    score = model.evaluate(x, y, return_dict=True)\n    output = score\n    return output\n",
        safety="safe",
    ),
    # read elsewhere too (score[1]): report only
    Example(
        _MODEL + "score = model.evaluate(x, y)\nprint(score[1])\nd = dict(zip(model.metrics_names, score))\n",
        fixed=_MODEL + "score = model.evaluate(x, y)\nprint(score[1])\nd = dict(zip(model.metrics_names, score))\n",
        safety="none",
    ),
    # zip in a loop: report only
    Example(
        "from keras.models import Model\nmodel = Model(inp, out)\nscores = model.evaluate(x, y)\n"
        "for name, value in zip(model.metrics_names, scores):\n    print(name, value)\n",
        fixed="from keras.models import Model\nmodel = Model(inp, out)\nscores = model.evaluate(x, y)\n"
        "for name, value in zip(model.metrics_names, scores):\n    print(name, value)\n",
        safety="none",
    ),
    Example(
        _MODEL + "logs = dict(zip(model.metrics_names, model.train_on_batch(x, y)))\n",
        fixed=_MODEL + "logs = dict(zip(model.metrics_names, model.train_on_batch(x, y)))\n",
        safety="none",
    ),
    # a callback's model
    Example(
        "import keras\nclass Report(keras.callbacks.Callback):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        print(dict(zip(self.model.metrics_names, self.model.evaluate(self.x, self.y, verbose=0))))\n",
        fixed="import keras\nclass Report(keras.callbacks.Callback):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        print(self.model.evaluate(self.x, self.y, verbose=0, return_dict=True))\n",
        safety="safe",
    ),
)

_TRAINED = _MODEL + "score = model.evaluate(x, y, verbose=0)\n"

MetricsNamesZip.valid += (
    # index 0 is `loss` on both flavours
    Example(_TRAINED + "print(model.metrics_names[0], score[0])\nloss_at = model.metrics_names.index('loss')\n"),
    # no metrics compiled: `['loss']` on both flavours, [1] fails everywhere
    Example("import keras\nmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
            "model.compile(optimizer='adam', loss='mse')\nprint(model.metrics_names[1])\n"),
    # a list that is not a model's
    Example("import keras\nnames = ['loss', 'acc']\nprint(names[1], names.index('acc'))\n"),
    Example("import keras\ndef show(model):\n    print(model.metrics_names[1])\n"),
    # Keras 2
    Example("import tf_keras as keras\nmodel = keras.models.load_model('m.h5')\nprint(model.metrics_names[1])\n", flavour="2"),
)

MetricsNamesZip.invalid += (
    # the label: the name Keras 2 printed there
    Example(
        _TRAINED + "print('%s: %.2f%%' % (model.metrics_names[1], score[1] * 100))\n",
        fixed=_TRAINED + "print('%s: %.2f%%' % (\"accuracy\", score[1] * 100))\n",
        safety="safe",
    ),
    Example(
        _TRAINED.replace("keras.metrics.AUC()", "keras.metrics.AUC(name='auc')") + "print(model.metrics_names[2], score[2])\n",
        fixed=_TRAINED.replace("keras.metrics.AUC()", "keras.metrics.AUC(name='auc')") + "print(\"auc\", score[2])\n",
        safety="safe",
    ),
    # a loaded model: its metrics are not known here
    Example(
        "import keras\nmodel = keras.models.load_model('m.keras')\nprint(model.metrics_names[1])\n",
        fixed="import keras\nmodel = keras.models.load_model('m.keras')\nprint(model.metrics_names[1])\n",
        safety="none",
    ),
    # .index("accuracy"): the result read only by name becomes a dict
    Example(
        _TRAINED + "acc = score[model.metrics_names.index('accuracy')]\nauc = score[model.metrics_names.index('auc')]\n",
        fixed=_MODEL + "score = model.evaluate(x, y, verbose=0, return_dict=True)\nacc = score[\"accuracy\"]\nauc = score[\"auc\"]\n",
        count=2,
        safety="safe",
    ),
    # read by position too: report only
    Example(
        _TRAINED + "print(score[0], score[model.metrics_names.index('accuracy')])\n",
        fixed=_TRAINED + "print(score[0], score[model.metrics_names.index('accuracy')])\n",
        safety="none",
    ),
)
