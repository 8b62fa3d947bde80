"""KM207: a log key the run will not produce (`monitor=`, checkpoint file names, `history.history[...]`)."""

from __future__ import annotations

import string
from typing import FrozenSet, Iterator, List, Optional, Tuple

import libcst as cst

from ..diagnostics import Safety
from ..facts.collect import CallSite, find_keyword, positional_args
from ..facts.logkeys import CallbackUse, KeySet, callback_uses, keys_for_fit
from ..facts.values import ClassValue, Derived
from ..facts.walk import Walker
from ..keras import symbols
from .base import Example, Finding, FixPlan, Rule, RuleContext

# Callbacks with a `monitor` argument: class -> (its positional index, default)
MONITOR_CALLBACKS = {
    "callbacks.EarlyStopping": (0, "val_loss"),
    "callbacks.ModelCheckpoint": (1, "val_loss"),
    "callbacks.ReduceLROnPlateau": (0, "val_loss"),
}
# Spellings of one metric that old and new Keras log under different keys.
_ALIASES = {
    "acc": "accuracy",
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "lr": "learning_rate",
}
_FILEPATH_FIELDS_ALWAYS = frozenset({"epoch", "batch"})


def _normal(key: str) -> str:
    key = key.lower()
    return _ALIASES.get(key, key)


def intended_key(key: str, keys: KeySet) -> Optional[str]:
    """The produced key the author evidently meant (`val_acc` -> `val_accuracy`), if exactly one."""
    prefix = "val_" if key.startswith("val_") else ""
    base = key[len(prefix):]
    matches = sorted(k for k in keys.exact if _normal(k) == _normal(base) and k != base)
    if len(matches) != 1:
        return None
    candidate = prefix + matches[0]
    return candidate if keys.produces(candidate) else None


def monitor_argument(use: CallbackUse) -> Tuple[Optional[cst.BaseExpression], str]:
    """(the monitor expression or None for the default, the key it names or '' when not a literal)."""
    position, default = MONITOR_CALLBACKS[use.keras_class]
    arg = find_keyword(use.constructor, "monitor")
    if arg is None:
        args = positional_args(use.constructor)
        arg = args[position] if len(args) > position else None
    if arg is None:
        return None, default
    value = arg.value
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        return value, value.evaluated_value
    return value, ""


# Keras metric functions whose attribute name is not their `__name__` (the log key):
# `compile(metrics=[keras.metrics.mse])` logs `mean_squared_error` on both flavours (measured,
# tests/runtime/test_log_keys.py), while the key facts take the attribute's name.
_FUNCTION_ALIASES = frozenset({"mse", "mae", "mape", "msle"})


def _verdict(key: str, fits: List[CallSite], ctx: RuleContext) -> Optional[KeySet]:
    """The key set of the fit calls when none of them produces `key`; None when it is produced or unknowable."""
    last = None
    for site in fits:
        keys = keys_for_fit(ctx, site)
        produced = keys.produces(key)
        if produced is None or produced or _maybe_produced(ctx, site, key, keys):
            return None
        last = keys
    return last


def _maybe_produced(ctx: RuleContext, site: CallSite, key: str, keys: KeySet) -> bool:
    """Keys the facts do not see but Keras logs: metric objects a `Model` subclass holds in
    attributes (tracked and logged on both flavours), and a Keras metric function under an alias."""
    base = key[4:] if key.startswith("val_") else key
    for name, source in keys.sources.items():
        if source.kind == "function" and name in _FUNCTION_ALIASES and _normal(name) == _normal(base):
            return True
    func = site.node.func
    if not isinstance(func, cst.Attribute):
        return False
    instance = ctx.resolver.instance(func.value, site.scope, symbols.MODEL)
    return instance is not None and instance.local_class is not None and _holds_metrics(ctx, instance.local_class, set())


def _holds_metrics(ctx: RuleContext, cls: ClassValue, seen: set) -> bool:
    if id(cls) in seen:
        return False
    seen.add(id(cls))
    for bindings in ctx.facts.self_attributes.get(cls.body, {}).values():
        for binding in bindings:
            if binding.how == "value" and binding.node is not None and ctx.resolver.instance(
                binding.node, binding.scope, symbols.METRIC
            ) is not None:
                return True
    return any(_holds_metrics(ctx, base, seen) for base in ctx.resolver.local_bases(cls) if isinstance(base, ClassValue))


class _Guards(Walker):
    """Reads the program already guards: `if "acc" in history.history`, `try: ... except KeyError`."""

    _CATCHES = frozenset({"KeyError", "LookupError", "Exception", "BaseException"})

    def __init__(self) -> None:
        super().__init__()
        self.tested: set = set()  # string literals tested with `in` / `not in`
        self.guarded: set = set()  # ids of string literals inside a try that catches KeyError
        self._depth = 0

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if isinstance(node.left, cst.SimpleString) and any(
            isinstance(t.operator, (cst.In, cst.NotIn)) for t in node.comparisons
        ):
            self.tested.add(node.left.evaluated_value)

    def visit_Try(self, node: cst.Try) -> bool:
        catches = any(h.type is None or _handler_names(h.type) & self._CATCHES for h in node.handlers)
        if catches:
            self._depth += 1
            self.walk(node.body)
            self._depth -= 1
            for part in (*node.handlers, node.orelse, node.finalbody):
                if part is not None:
                    self.walk(part)
            return False
        return True

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if self._depth:
            self.guarded.add(id(node))


def _handler_names(node: cst.BaseExpression) -> set:
    if isinstance(node, cst.Tuple):
        return {n for e in node.elements for n in _handler_names(e.value)}
    if isinstance(node, cst.Name):
        return {node.value}
    if isinstance(node, cst.Attribute):
        return {node.attr.value}
    return set()


def _guards(ctx: RuleContext) -> _Guards:
    guards = ctx.cache.get("km207_guards")
    if guards is None:
        guards = _Guards()
        guards.walk(ctx.module)
        ctx.cache["km207_guards"] = guards
    return guards


def checkpoint_uses_monitor(use: CallbackUse) -> bool:
    """ModelCheckpoint compares `monitor` values only with `save_best_only=True`."""
    arg = find_keyword(use.constructor, "save_best_only")
    if arg is None:
        args = positional_args(use.constructor)
        arg = args[3] if len(args) > 3 else None
    return arg is not None and isinstance(arg.value, cst.Name) and arg.value.value == "True"


def _explicit_mode(use: CallbackUse) -> bool:
    arg = find_keyword(use.constructor, "mode")
    return arg is not None and not (isinstance(arg.value, cst.SimpleString) and arg.value.evaluated_value == "auto")


class MissingLogKey(Rule):
    code = "KM207"
    name = "missing-log-key"
    summary = "A callback, checkpoint file name or `history` read uses a log key the run does not produce (`val_acc` vs `val_accuracy`)"
    fix_safety = Safety.SAFE

    @classmethod
    def triggers(cls) -> FrozenSet[str]:
        return frozenset({"monitor", "history", "ModelCheckpoint", "EarlyStopping", "ReduceLROnPlateau"})

    @classmethod
    def could_fire(cls, summary) -> bool:
        return {"fit", "compile"} <= summary.called and super().could_fire(summary)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for use in callback_uses(ctx):
            if use.keras_class not in MONITOR_CALLBACKS:
                continue
            yield from self._monitor(ctx, use)
            if use.keras_class == "callbacks.ModelCheckpoint":
                yield from self._filepath(ctx, use)
        yield from self._history(ctx)

    def _monitor(self, ctx: RuleContext, use: CallbackUse) -> Iterator[Finding]:
        node, key = monitor_argument(use)
        if not key:
            return
        keys = _verdict(key, use.fits, ctx)
        if keys is None:
            return
        name = use.keras_class.split(".")[-1]
        consequence = "K3 raises ValueError after epoch 1 in auto mode, else it warns every epoch and never acts"
        if use.keras_class == "callbacks.ModelCheckpoint" and not checkpoint_uses_monitor(use):
            # Without save_best_only the monitored value is never compared. Only Keras 3's auto
            # mode still looks the metric up (after epoch 1) and raises when no compiled metric
            # has that name; `loss` and the names of compiled metrics are found.
            base = key[4:] if key.startswith("val_") else key
            if ctx.flavour != "3" or _explicit_mode(use) or base == "loss" or keys.produces(base):
                return
            consequence = "K3 raises ValueError after epoch 1 in auto mode, even without save_best_only"
        where = node if node is not None else use.constructor.func
        what = f"`{name}` monitors `{key}`" + (" (the default)" if node is None else "")
        yield self._finding(what, key, keys, node if isinstance(node, cst.SimpleString) else None, where, consequence)

    def _filepath(self, ctx: RuleContext, use: CallbackUse) -> Iterator[Finding]:
        arg = find_keyword(use.constructor, "filepath")
        if arg is None:
            args = positional_args(use.constructor)
            arg = args[0] if args else None
        if arg is None or not isinstance(arg.value, cst.SimpleString):
            return
        text = arg.value.evaluated_value
        if not isinstance(text, str):
            return
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(text) if f]
        except ValueError:
            return
        for field in fields:
            key = field.split(".")[0].split("[")[0]
            if not key or key in _FILEPATH_FIELDS_ALWAYS:
                continue
            keys = _verdict(key, use.fits, ctx)
            if keys is None:
                continue
            literal = arg.value
            new_key = intended_key(key, keys)
            message = (f"`ModelCheckpoint` file name uses `{{{key}}}`, a log key the run does not produce "
                       f"(KeyError when the first checkpoint is written)")
            if new_key is None:
                yield Finding(literal, message + _known(keys))
                continue
            new_code = literal.value.replace("{" + key, "{" + new_key)
            yield Finding(literal, f"{message}; the run logs `{new_key}`", FixPlan(
                Safety.SAFE, f"Use `{new_key}`", lambda loc, lit=literal, code=new_code: [loc.replace(lit, code)]))

    def _history(self, ctx: RuleContext) -> Iterator[Finding]:
        reads: List[Tuple[cst.SimpleString, CallSite]] = []
        for subscript, scope in ctx.facts.history_subscripts:
            literal = _single_string(subscript)
            fit = _history_fit(ctx, subscript.value, scope)
            if literal is not None and fit is not None:
                reads.append((literal, fit))
        for site in ctx.facts.method_calls("get"):
            func = site.node.func
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Attribute) and func.value.attr.value == "history":
                args = positional_args(site.node)
                fit = _history_fit(ctx, func.value, site.scope)
                if args and isinstance(args[0].value, cst.SimpleString) and fit is not None and len(args) == 1:
                    reads.append((args[0].value, fit))
        guards = _guards(ctx)
        for literal, fit in reads:
            key = literal.evaluated_value
            if not isinstance(key, str) or key in guards.tested or id(literal) in guards.guarded:
                continue
            keys = _verdict(key, [fit], ctx)
            if keys is None:
                continue
            yield self._finding(f"`history.history[{literal.value}]`", key, keys, literal, literal, "KeyError")

    def _finding(self, what: str, key: str, keys: KeySet, literal: Optional[cst.SimpleString],
                 where: cst.CSTNode, consequence: str) -> Finding:
        base = key[4:] if key.startswith("val_") else key
        if key.startswith("val_") and keys.produces(base) and not keys.validation:
            return Finding(where, f"{what}, but `fit` gets no `validation_data`/`validation_split`, so there is "
                           f"no `{key}` ({consequence}); add validation data or use `{base}`")
        new_key = intended_key(key, keys)
        message = f"{what}, a key this run does not log ({consequence})"
        if new_key is None or literal is None:
            return Finding(where, message + _known(keys))
        quote = literal.quote
        prefix = literal.prefix
        replacement = f"{prefix}{quote}{new_key}{quote}"
        return Finding(where, f"{message}; it logs `{new_key}`", FixPlan(
            Safety.SAFE, f"Use `{new_key}`", lambda loc: [loc.replace(literal, replacement)]))


def _known(keys: KeySet) -> str:
    shown = keys.all_keys()
    return f"; it logs {', '.join(f'`{k}`' for k in shown[:8])}" if shown else ""


def _single_string(subscript: cst.Subscript) -> Optional[cst.SimpleString]:
    if len(subscript.slice) != 1:
        return None
    index = subscript.slice[0].slice
    if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
        return index.value
    return None


def _history_fit(ctx: RuleContext, node: cst.BaseExpression, scope) -> Optional[CallSite]:
    value = ctx.resolver.resolve(node, scope)
    if isinstance(value, Derived) and value.what == "history_dict" and value.site is not None:
        return ctx.facts.site_of.get(value.site)
    return None


_HEAD = (
    "import keras\n"
    "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
    "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"
)

MissingLogKey.valid = (
    Example(_HEAD + "es = keras.callbacks.EarlyStopping(monitor='val_accuracy')\nmodel.fit(x, y, validation_split=0.2, callbacks=[es])\n"),
    # "acc" compiled, "acc" read: consistent
    Example(_HEAD.replace("'accuracy'", "'acc'") + "h = model.fit(x, y)\nplt.plot(h.history['acc'])\n"),
    # custom names
    Example(_HEAD.replace("'accuracy'", "keras.metrics.AUC(name='prc')") + "cb = keras.callbacks.ModelCheckpoint('m.keras', monitor='val_prc', mode='max')\nmodel.fit(x, y, validation_data=(x, y), callbacks=[cb])\n"),
    # numbered unnamed instances
    Example(_HEAD.replace("'accuracy'", "keras.metrics.AUC()") + "h = model.fit(x, y)\nh.history['auc_1']\n"),
    # compile in another module: unknowable
    Example("import keras\nfrom mylib import model\nh = model.fit(x, y)\nh.history['acc']\n"),
    Example("import keras\nmodel = keras.models.load_model('m.keras')\nh = model.fit(x, y)\nh.history['acc']\n"),
    # learning-rate keys come from callbacks
    Example(_HEAD + "h = model.fit(x, y)\nh.history['lr']\n"),
    Example(_HEAD + "cb = keras.callbacks.ModelCheckpoint('w-{epoch:02d}-{val_accuracy:.2f}.keras')\nmodel.fit(x, y, validation_split=0.1, callbacks=[cb])\n"),
    # a metric function named `acc` logs `acc`
    Example("import keras\ndef acc(y_true, y_pred):\n    return keras.ops.mean(y_pred)\n"
            + _HEAD.replace("'accuracy'", "acc").replace("import keras\n", "")
            + "h = model.fit(x, y, validation_split=0.2)\nprint(h.history['val_acc'])\n"),
    # ModelCheckpoint without save_best_only never compares the monitored value (the default
    # `val_loss` without validation data is harmless)
    Example(_HEAD + "cb = keras.callbacks.ModelCheckpoint('m.keras')\nmodel.fit(x, y, epochs=3, callbacks=[cb])\n"),
    Example(_HEAD.replace("import keras", "import tf_keras as keras") + "cb = keras.callbacks.ModelCheckpoint('m.h5', monitor='val_acc')\n"
            "model.fit(x, y, validation_split=0.1, callbacks=[cb])\n", flavour="2"),
    # metric objects held by a Model subclass are tracked and logged
    Example("import keras\nclass Net(keras.Model):\n    def __init__(self):\n        super().__init__()\n"
            "        self.kl_tracker = keras.metrics.Mean(name='kl')\n        self.dense = keras.layers.Dense(1)\n"
            "    def call(self, x):\n        return self.dense(x)\nmodel = Net()\nmodel.compile(optimizer='adam', loss='mse')\n"
            "h = model.fit(x, y)\nprint(h.history['kl'])\n"),
    # `keras.metrics.mse` is the function `mean_squared_error`, its log key
    Example("import keras\nmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
            "model.compile(optimizer='adam', loss='mse', metrics=[keras.metrics.mse])\n"
            "h = model.fit(x, y, validation_split=0.2)\nprint(h.history['val_mean_squared_error'])\n"),
    # reads the program guards itself
    Example(_HEAD + "h = model.fit(x, y)\nif 'acc' in h.history:\n    print(h.history['acc'])\n"
            "acc = h.history['acc'] if 'acc' in h.history else h.history['accuracy']\n"),
    Example(_HEAD + "h = model.fit(x, y)\ntry:\n    acc = h.history['acc']\nexcept KeyError:\n    acc = h.history['accuracy']\n"),
)

MissingLogKey.invalid = (
    Example(
        _HEAD + "es = keras.callbacks.EarlyStopping(monitor='val_acc', patience=2)\nmodel.fit(x, y, validation_data=(x, y), callbacks=[es])\n",
        fixed=_HEAD + "es = keras.callbacks.EarlyStopping(monitor='val_accuracy', patience=2)\nmodel.fit(x, y, validation_data=(x, y), callbacks=[es])\n",
        safety="safe",
    ),
    Example(
        _HEAD + "history = model.fit(x, y, epochs=3)\nprint(history.history[\"acc\"][-1])\n",
        fixed=_HEAD + "history = model.fit(x, y, epochs=3)\nprint(history.history[\"accuracy\"][-1])\n",
        safety="safe",
    ),
    Example(
        _HEAD + "cb = keras.callbacks.ModelCheckpoint('w-{epoch:02d}-{val_acc:.2f}.keras')\nmodel.fit(x, y, validation_split=0.1, callbacks=[cb])\n",
        fixed=_HEAD + "cb = keras.callbacks.ModelCheckpoint('w-{epoch:02d}-{val_accuracy:.2f}.keras')\nmodel.fit(x, y, validation_split=0.1, callbacks=[cb])\n",
        safety="safe",
    ),
    # val_ key without validation data: report only
    Example(
        _HEAD + "callbacks = [keras.callbacks.EarlyStopping(monitor='val_accuracy')]\nmodel.fit(x, y, callbacks=callbacks)\n",
        fixed=_HEAD + "callbacks = [keras.callbacks.EarlyStopping(monitor='val_accuracy')]\nmodel.fit(x, y, callbacks=callbacks)\n",
        safety="none",
    ),
    # Keras 3 looks a ModelCheckpoint's metric up after epoch 1 in auto mode, save_best_only or not
    Example(
        _HEAD + "cb = keras.callbacks.ModelCheckpoint('m.keras', monitor='val_acc')\nmodel.fit(x, y, validation_split=0.1, callbacks=[cb])\n",
        fixed=_HEAD + "cb = keras.callbacks.ModelCheckpoint('m.keras', monitor='val_accuracy')\nmodel.fit(x, y, validation_split=0.1, callbacks=[cb])\n",
        safety="safe",
    ),
    # a guard on another key does not hide this one
    Example(
        _HEAD + "h = model.fit(x, y)\nif 'loss' in h.history:\n    print(h.history['acc'])\n",
        fixed=_HEAD + "h = model.fit(x, y)\nif 'loss' in h.history:\n    print(h.history['accuracy'])\n",
        safety="safe",
    ),
    Example(
        "import tensorflow as tf\nmodel = tf.keras.Sequential()\nmodel.compile(loss='mse', metrics=['mae'])\n"
        "hist = model.fit(x, y, validation_split=0.2)\nhist.history.get('val_mean_absolute_error')\n",
        fixed="import tensorflow as tf\nmodel = tf.keras.Sequential()\nmodel.compile(loss='mse', metrics=['mae'])\n"
        "hist = model.fit(x, y, validation_split=0.2)\nhist.history.get('val_mae')\n",
        safety="safe",
    ),
)
