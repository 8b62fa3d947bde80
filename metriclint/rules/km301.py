"""KM301: a callback runs the model or a full-data metric on every batch."""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Set

import libcst as cst

from ..diagnostics import Safety
from ..facts.collect import dotted_name
from ..facts.entries import Defines
from ..facts.values import ClassValue, Dotted
from ..facts.walk import Walker, find_all
from ..keras.symbols import CALLBACK
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import classes_of_kind, methods

BATCH_HOOKS = frozenset({
    "on_batch_end", "on_batch_begin", "on_train_batch_end", "on_train_batch_begin",
    "on_test_batch_end", "on_test_batch_begin", "on_predict_batch_end", "on_predict_batch_begin",
})
_MODEL_RUNS = frozenset({"predict", "evaluate", "fit"})


class PerBatchModelRun(Rule):
    code = "KM301"
    name = "per-batch-model-run"
    summary = "A callback runs `model.predict`/`evaluate` or a full-data metric in a per-batch hook (100x+ slower)"
    fix_safety = Safety.UNSAFE
    needs = (Defines(tuple(sorted(BATCH_HOOKS))),)  # a callback class defining a batch hook

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for cls in classes_of_kind(ctx, CALLBACK):
            own = methods(cls)
            for hook in sorted(BATCH_HOOKS & set(own)):
                culprit = _costly_call(ctx, cls, own, own[hook], set())
                if culprit is None:
                    continue
                definition = own[hook]
                message = (
                    f"`{hook}` runs {culprit} on every batch. On metriclint's benchmark model (bench/metric_cost.py) "
                    "predicting the validation data per batch made each training step 139x slower on Keras 3 "
                    "(157x on Keras 2), once per epoch of 200 steps 1.60x (1.83x); compute it in `on_epoch_end`"
                )
                fix = None
                if "on_epoch_end" not in own and hook.endswith("_end"):
                    fix = FixPlan(Safety.UNSAFE, "Move it to `on_epoch_end`",
                                  lambda loc, d=definition: _move_to_epoch_end(loc, d))
                yield Finding(definition.name, message, fix)


def _move_to_epoch_end(loc, definition: cst.FunctionDef) -> list:
    """Rename the hook; its `batch` parameter becomes `epoch` when the body never reads either name."""
    edits = [loc.replace(definition.name, "on_epoch_end")]
    params = definition.params.params
    if len(params) >= 2 and params[1].name.value == "batch":
        used = {name.value for name in find_all(definition.body, cst.Name)}
        if not used & {"batch", "epoch"}:
            edits.append(loc.replace(params[1].name, "epoch"))
    return edits


def _costly_call(ctx: RuleContext, cls: ClassValue, own: Dict[str, cst.FunctionDef],
                 function: cst.FunctionDef, seen: Set[str]) -> Optional[str]:
    """A description of the first model run or full-data metric in `function` (or a `self.` helper)."""
    scope = ctx.facts.scope_of_function.get(function)
    for call in _per_batch_calls(function):
        func = call.func
        name = dotted_name(func) or ""
        if isinstance(func, cst.Attribute) and func.attr.value in _MODEL_RUNS and name.startswith("self.model."):
            return f"`{name}()`"
        if scope is not None:
            value = ctx.resolver.resolve(func, scope)
            if isinstance(value, Dotted) and value.path.startswith("sklearn.metrics."):
                return f"scikit-learn's `{value.path.split('.')[-1]}()`"
        if name.startswith("self.") and name.count(".") == 1:
            helper = own.get(name.split(".")[1])
            if helper is not None and helper.name.value not in seen:
                seen.add(helper.name.value)
                found = _costly_call(ctx, cls, own, helper, seen)
                if found is not None:
                    return found
    return None


class _PerBatchCalls(Walker):
    """Calls in a hook body, except under `if <...> % <n> ...:` (work done every n-th batch)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: List[cst.Call] = []

    def visit_If(self, node: cst.If) -> Optional[bool]:
        periodic = any(isinstance(op.operator, cst.Modulo) for op in find_all(node.test, cst.BinaryOperation))
        return False if periodic else None

    def visit_Call(self, node: cst.Call) -> Optional[bool]:
        self.found.append(node)
        return None


def _per_batch_calls(function: cst.FunctionDef) -> List[cst.Call]:
    walker = _PerBatchCalls()
    walker.walk(function.body)
    return walker.found


_HEAD = "import keras\nfrom sklearn.metrics import roc_auc_score\n"

PerBatchModelRun.valid = (
    Example(_HEAD + "class Eval(keras.callbacks.Callback):\n    def on_epoch_end(self, epoch, logs=None):\n"
            "        p = self.model.predict(self.x_val, verbose=0)\n        logs['val_auc'] = roc_auc_score(self.y_val, p)\n"),
    # light per-batch work
    Example(_HEAD + "class Log(keras.callbacks.Callback):\n    def on_train_batch_end(self, batch, logs=None):\n"
            "        self.losses.append(logs['loss'])\n"),
    Example(_HEAD + "class NotKeras:\n    def on_batch_end(self, batch, logs=None):\n        self.model.predict(x)\n"),
    # every n-th batch: the cost is spread over n steps
    Example(_HEAD + "class Every(keras.callbacks.Callback):\n    def on_train_batch_end(self, batch, logs=None):\n"
            "        if batch % 500 == 0:\n            p = self.model.predict(self.x_val, verbose=0)\n"),
    # scikit-learn, but not a metric
    Example("import keras\nfrom sklearn.utils import shuffle\nclass Mix(keras.callbacks.Callback):\n"
            "    def on_train_batch_end(self, batch, logs=None):\n        self.order = shuffle(self.order)\n"),
    # changing the learning rate per batch is light
    Example(_HEAD + "class Warmup(keras.callbacks.Callback):\n    def on_train_batch_begin(self, batch, logs=None):\n"
            "        self.model.optimizer.learning_rate.assign(self.schedule(batch))\n"),
)

PerBatchModelRun.invalid = (
    Example(
        _HEAD + "class Eval(keras.callbacks.Callback):\n    def on_train_batch_end(self, batch, logs=None):\n"
        "        p = self.model.predict(self.x_val, verbose=0)\n",
        fixed=_HEAD + "class Eval(keras.callbacks.Callback):\n    def on_epoch_end(self, epoch, logs=None):\n"
        "        p = self.model.predict(self.x_val, verbose=0)\n",
        safety="unsafe",
    ),
    # the body reads `batch`: the hook moves, the parameter keeps its name
    Example(
        _HEAD + "class Eval(keras.callbacks.Callback):\n    def on_batch_end(self, batch, logs=None):\n"
        "        self.seen[batch] = self.model.evaluate(self.x_val, self.y_val, verbose=0)\n",
        fixed=_HEAD + "class Eval(keras.callbacks.Callback):\n    def on_epoch_end(self, batch, logs=None):\n"
        "        self.seen[batch] = self.model.evaluate(self.x_val, self.y_val, verbose=0)\n",
        safety="unsafe",
    ),
    Example(
        _HEAD + "class Eval(keras.callbacks.Callback):\n    def on_batch_end(self, batch, logs=None):\n        self.score()\n"
        "    def score(self):\n        logs = roc_auc_score(self.y, self.p)\n    def on_epoch_end(self, epoch, logs=None):\n        pass\n",
        safety="none",
    ),
)
