"""KM204: a metric read with `result()` and then updated again without `reset_state()` in between."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import CallSite
from ..facts.entries import Calls
from ..facts.values import ClassValue, Derived, FunctionValue, Instance
from ..keras.symbols import CALLBACK, LAYER, METRIC
from ..locate import Locator
from .base import Example, Finding, FixPlan, Rule, RuleContext

_UPDATE, _READ, _RESET = "update", "read", "reset"
_KINDS = {"update_state": _UPDATE, "result": _READ, "reset_state": _RESET, "reset_states": _RESET}


@dataclass(frozen=True)
class _Event:
    kind: str
    site: CallSite
    order: int
    receiver: Optional[cst.BaseExpression]  # the metric expression, for the inserted reset


class StaleMetricState(Rule):
    code = "KM204"
    name = "metric-not-reset"
    summary = "A metric read with `result()` keeps counting into the next epoch or dataset: no `reset_state()` in between"
    fix_safety = Safety.SAFE
    needs = (Calls(("update_state",)), Calls(("result",)))  # an update and a read of one metric

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        events = self._events(ctx)
        for origin, found in events.items():
            constructor = ctx.facts.site_of.get(origin)
            if constructor is None:
                continue
            finding = self._loop_finding(ctx, constructor, found) or self._sequence_finding(ctx, found)
            if finding is not None:
                yield finding

    # --- events ---------------------------------------------------------------------------------
    def _events(self, ctx: RuleContext) -> Dict[cst.Call, List[_Event]]:
        order = ctx.facts._order
        direct: Dict[cst.Call, List[_Event]] = {}
        # functions that update or reset a metric: a call to them (a `train_step`, a
        # `reset_metrics()` helper, a method) counts as that update or reset where it is called
        touched_by: Dict[cst.FunctionDef, Set[Tuple[str, Optional[cst.Call]]]] = {}
        anonymous_resets: List[CallSite] = []  # resets of something unresolved (`for m in metrics: m.reset_state()`)
        for site in ctx.facts.method_calls(*_KINDS, "reset_metrics"):
            func = site.node.func
            if not isinstance(func, cst.Attribute):
                continue
            in_function = site.scope.node if isinstance(site.scope.node, cst.FunctionDef) else None
            value = ctx.resolver.resolve(func.value, site.scope)
            metric = value if isinstance(value, Instance) and value.kind == METRIC else None
            if metric is None or not isinstance(metric.origin, cst.Call):
                # may reset any metric: a list element, a model's `reset_metrics()`, an unknown object
                # (but not a layer's or callback's own `reset_states`)
                if func.attr.value in ("reset_state", "reset_states", "reset_metrics") and not (
                    isinstance(value, Instance) and value.kind in (LAYER, CALLBACK)
                ):
                    anonymous_resets.append(site)
                    if in_function is not None:
                        touched_by.setdefault(in_function, set()).add((_RESET, None))
                continue
            if func.attr.value == "reset_metrics":
                continue
            kind = _KINDS[func.attr.value]
            direct.setdefault(metric.origin, []).append(_Event(kind, site, order[site.node], func.value))
            if kind in (_UPDATE, _RESET) and in_function is not None:
                touched_by.setdefault(in_function, set()).add((kind, metric.origin))
        if touched_by:
            for site in ctx.facts.calls:
                function = _called_function(ctx, site)
                for kind, origin in touched_by.get(function, ()) if function is not None else ():
                    if origin is None:
                        anonymous_resets.append(site)
                    else:
                        direct.setdefault(origin, []).append(_Event(kind, site, order[site.node], None))
        for site in anonymous_resets:
            for found in direct.values():
                found.append(_Event(_RESET, site, order[site.node], None))
        for found in direct.values():
            found.sort(key=lambda e: e.order)
        return direct

    # --- an epoch loop without reset ----------------------------------------------------------------
    def _loop_finding(self, ctx: RuleContext, constructor: CallSite, events: List[_Event]) -> Optional[Finding]:
        for loop in self._outer_loops(events):
            if loop in constructor.loops:
                continue  # the metric is made inside this loop: a fresh one each time
            inside = [e for e in events if loop in e.site.loops]
            kinds = {e.kind for e in inside}
            if not {_UPDATE, _READ} <= kinds:
                continue
            if not _epoch_loop(loop, inside):
                continue  # one pass with progress reads (`if step % 100 == 0: print(m.result())`)
            if _RESET in kinds:
                return None  # the outermost loop that updates and reads also resets: inner loops are its steps
            reader = next(e for e in inside if e.kind == _READ)
            receiver = reader.receiver
            if receiver is None or not isinstance(loop.body, cst.IndentedBlock) or not loop.body.body:
                return Finding(reader.site.node.func, self._message("each pass of the loop"))
            first = loop.body.body[0]
            return Finding(
                reader.site.node.func,
                self._message("each pass of the loop") + "; reset it at the start of the loop",
                FixPlan(Safety.SAFE, "Call `reset_state()` at the start of each pass",
                        lambda loc: [_insert_line_before(loc, first, f"{loc.code(receiver)}.reset_state()")]),
            )
        return None

    @staticmethod
    def _outer_loops(events: List[_Event]) -> List[cst.CSTNode]:
        seen: List[cst.CSTNode] = []
        for event in events:
            for loop in event.site.loops:  # outermost first
                if loop not in seen:
                    seen.append(loop)
        return seen

    # --- read, then more updates (a second dataset) ------------------------------------------------
    def _sequence_finding(self, ctx: RuleContext, events: List[_Event]) -> Optional[Finding]:
        read: Optional[_Event] = None
        looped = False  # the updates before the read were a pass over data (a loop)
        updates: List[_Event] = []  # since the last reset
        for event in events:
            if event.kind == _RESET:
                read = None
                updates = []
            elif event.kind == _READ:
                if read is None:
                    read = event
                    looped = any(len(u.site.loops) > len(read.site.loops) for u in updates)
            elif event.kind == _UPDATE and read is None:
                updates.append(event)
            elif event.kind == _UPDATE and read is not None:
                if event.site.scope is not read.site.scope or set(event.site.loops) & set(read.site.loops):
                    return None  # other scopes or loops: the loop check covers what can be judged
                if not looped or len(event.site.loops) <= len(read.site.loops):
                    # Straight-line `update; result(); update; result()` is how tests and
                    # docstrings show accumulation: only a pass over one dataset, a read, and a
                    # pass over the next one is the bug.
                    return None
                anchor = event.site.loops[len(read.site.loops)] if len(event.site.loops) > len(read.site.loops) else event.site.statement
                receiver = read.receiver
                message = self._message("the next data") + "; reset it before updating it again"
                if anchor is None or receiver is None or read.site.loops != event.site.loops[: len(read.site.loops)]:
                    return Finding(event.site.node.func, message)
                return Finding(event.site.node.func, message, FixPlan(
                    Safety.SAFE, "Call `reset_state()` before the next updates",
                    lambda loc: [_insert_line_before(loc, anchor, f"{loc.code(receiver)}.reset_state()")]))
        return None

    @staticmethod
    def _message(what: str) -> str:
        return (f"This metric is not reset after `result()`: later results mix old and new data. It keeps its "
                f"state into {what}, so later results "
                "mix old and new data (in metriclint's test program a second dataset read 0.630 where its own value was 0.485)")


def _epoch_loop(loop: cst.CSTNode, inside: List[_Event]) -> bool:
    """A loop over passes: its updates sit in a nested loop (the batches), or it counts epochs."""
    for event in inside:
        if event.kind == _UPDATE:
            loops = event.site.loops
            if loops.index(loop) < len(loops) - 1:
                return True
    target = loop.target if isinstance(loop, cst.For) else None
    return isinstance(target, cst.Name) and "epoch" in target.value.lower()


def _called_function(ctx: RuleContext, site: CallSite) -> Optional[cst.FunctionDef]:
    """The local function or method (of the user's class) a call runs, when it resolves."""
    value = ctx.resolver.resolve(site.node.func, site.scope)
    if isinstance(value, FunctionValue):
        return value.node
    if isinstance(value, Derived) and value.what == "method" and value.owner.local_class is not None:
        classes, seen = [value.owner.local_class], set()
        while classes:
            cls = classes.pop(0)
            if id(cls) in seen:
                continue
            seen.add(id(cls))
            for binding in cls.body.bindings.get(value.name, ()):
                if binding.how == "function" and isinstance(binding.node, cst.FunctionDef):
                    return binding.node
            classes.extend(b for b in ctx.resolver.local_bases(cls) if isinstance(b, ClassValue))
    return None


def _insert_line_before(loc: Locator, statement: cst.CSTNode, code: str) -> Edit:
    start = loc.start(statement)
    line_text = loc.lines.line_text(start.line)
    indent = line_text[: len(line_text) - len(line_text.lstrip())]
    offset = loc.lines.starts[start.line - 1]
    return Edit(offset, offset, f"{indent}{code}{loc.newline}")


_HEAD = "import keras\nacc = keras.metrics.BinaryAccuracy()\n"

StaleMetricState.valid = (
    # reset at the end of each epoch
    Example(_HEAD + "for epoch in range(3):\n    for x, y in ds:\n        acc.update_state(y, model(x))\n"
            "    print(acc.result())\n    acc.reset_state()\n"),
    # a fresh metric per epoch
    Example("import keras\nfor epoch in range(3):\n    acc = keras.metrics.BinaryAccuracy()\n"
            "    for x, y in ds:\n        acc.update_state(y, model(x))\n    print(acc.result())\n"),
    # progress reads inside the epoch, reset per epoch
    Example(_HEAD + "for epoch in range(3):\n    acc.reset_state()\n    for step, (x, y) in enumerate(ds):\n"
            "        acc.update_state(y, model(x))\n        if step % 10 == 0:\n            print(acc.result())\n"),
    # one dataset, one read
    Example(_HEAD + "for x, y in ds:\n    acc.update_state(y, model(x))\nprint(acc.result())\n"),
    # two datasets with a reset between
    Example(_HEAD + "for x, y in ds1:\n    acc.update_state(y, model(x))\nprint(acc.result())\nacc.reset_state()\n"
            "for x, y in ds2:\n    acc.update_state(y, model(x))\nprint(acc.result())\n"),
    # one pass over the data with progress reads: the running value is meant
    Example(_HEAD + "for step, (x, y) in enumerate(ds):\n    acc.update_state(y, model(x))\n"
            "    if step % 100 == 0:\n        print(step, acc.result())\n"),
    # resets the rule cannot attribute to one metric, through a helper, through a method
    Example(_HEAD + "loss = keras.metrics.Mean()\nfor epoch in range(5):\n    for m in [loss, acc]:\n        m.reset_state()\n"
            "    for x, y in ds:\n        acc.update_state(y, model(x))\n    print(acc.result())\n"),
    Example(_HEAD + "def reset_metrics():\n    acc.reset_state()\nfor epoch in range(5):\n    reset_metrics()\n"
            "    for x, y in ds:\n        acc.update_state(y, model(x))\n    print(acc.result())\n"),
    Example("import keras\nclass Trainer:\n    def __init__(self):\n        self.acc = keras.metrics.BinaryAccuracy()\n"
            "    def fit(self, ds):\n        for epoch in range(5):\n            for x, y in ds:\n"
            "                self.acc.update_state(y, model(x))\n            print(self.acc.result())\n"
            "            self.end_epoch()\n    def end_epoch(self):\n        self.acc.reset_state()\n"),
    # straight-line updates and reads: how tests and docstrings show that a metric accumulates
    Example(_HEAD + "acc.update_state(y[:2], p[:2])\nassert acc.result() == 1.0\n"
            "acc.update_state(y[2:], p[2:])\nassert acc.result() == 0.75\n"),
    # Keras resets what fit/evaluate use
    Example(_HEAD + "model.compile(metrics=[acc])\nmodel.evaluate(a)\nprint(acc.result())\nmodel.evaluate(b)\n"),
)

StaleMetricState.invalid = (
    Example(
        _HEAD + "for epoch in range(3):\n    for x, y in ds:\n        acc.update_state(y, model(x))\n    print(acc.result())\n",
        fixed=_HEAD + "for epoch in range(3):\n    acc.reset_state()\n    for x, y in ds:\n        acc.update_state(y, model(x))\n    print(acc.result())\n",
        safety="safe",
    ),
    Example(
        _HEAD + "for x, y in ds1:\n    acc.update_state(y, model(x))\nprint(acc.result())\n"
        "for x, y in ds2:\n    acc.update_state(y, model(x))\nprint(acc.result())\n",
        fixed=_HEAD + "for x, y in ds1:\n    acc.update_state(y, model(x))\nprint(acc.result())\nacc.reset_state()\n"
        "for x, y in ds2:\n    acc.update_state(y, model(x))\nprint(acc.result())\n",
        safety="safe",
    ),
    # the keras-io custom training loop, without the reset
    Example(
        "import tensorflow as tf\nfrom tensorflow import keras\n"
        "train_acc_metric = keras.metrics.SparseCategoricalAccuracy()\n"
        "@tf.function\ndef train_step(x, y):\n    logits = model(x, training=True)\n"
        "    train_acc_metric.update_state(y, logits)\n"
        "for epoch in range(2):\n    for step, (x, y) in enumerate(train_dataset):\n        train_step(x, y)\n"
        "    train_acc = train_acc_metric.result()\n    print(float(train_acc))\n",
        fixed="import tensorflow as tf\nfrom tensorflow import keras\n"
        "train_acc_metric = keras.metrics.SparseCategoricalAccuracy()\n"
        "@tf.function\ndef train_step(x, y):\n    logits = model(x, training=True)\n"
        "    train_acc_metric.update_state(y, logits)\n"
        "for epoch in range(2):\n    train_acc_metric.reset_state()\n    for step, (x, y) in enumerate(train_dataset):\n        train_step(x, y)\n"
        "    train_acc = train_acc_metric.result()\n    print(float(train_acc))\n",
        safety="safe",
    ),
)
