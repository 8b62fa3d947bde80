"""KM216: an F-score logged per class (`average=None`) monitored as if it were one number."""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

import libcst as cst

from ..diagnostics import Safety
from ..facts.arguments import UNKNOWN, Bound, bind, constructor_argument
from ..facts.collect import CallSite
from ..facts.entries import COMPILE_CALLS, TRAINING_CALLS, Words
from ..facts.logkeys import CallbackUse, callback_uses, metric_logging
from ..facts.models import MetricRef
from ..facts.templates import template_pieces
from ..keras import symbols
from ..keras.metric_strings import METRIC_STRINGS
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import add_keyword, keras_module_reference
from .km207 import checkpoint_uses_monitor, monitor_argument

_F_SCORES = ("F1Score", "FBetaScore")
# metric strings that build one of them with the default `average=None` (Keras 3's `"f1_score"`, ...)
_STRINGS = {s: entry for s, entry in METRIC_STRINGS.items() if entry.metric_class in _F_SCORES}
_AMBIGUOUS = "ValueError: The truth value of an array with more than one element is ambiguous"
_FIX = 'pass `average="macro"` (or `"micro"`, `"weighted"`) for one number under the same key'


class VectorMetricMonitored(Rule):
    code = "KM216"
    name = "vector-metric-monitored"
    summary = "`F1Score()`/`FBetaScore()` log one value per class by default: monitoring them raises or misleads"
    fix_safety = Safety.UNSAFE
    needs = (
        TRAINING_CALLS,
        COMPILE_CALLS,
        Words(frozenset(_F_SCORES) | frozenset(_STRINGS)),
        Words(frozenset({"EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint", "objective"})),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for use in callback_uses(ctx):
            if use.spec is not None or use.constructor is None:
                continue  # made in another module: its file is where a fix would go
            name = use.keras_class.split(".")[-1]
            if name in ("EarlyStopping", "ReduceLROnPlateau"):
                yield from self._monitor(ctx, use, name, (
                    f"both flavours raise `{_AMBIGUOUS}` when `{name}` compares it, at the end of the first epoch"))
            elif name == "ModelCheckpoint":
                if checkpoint_uses_monitor(ctx, use):
                    yield from self._monitor(ctx, use, name, (
                        "Keras 3 warns `Can save best model only when `monitor` is a scalar value` and saves every "
                        f"epoch (the \"best\" file is the last one), tf_keras raises `{_AMBIGUOUS}` after epoch 1"))
                yield from self._file_name(ctx, use)
        yield from self._objectives(ctx)

    def _monitor(self, ctx: RuleContext, use: CallbackUse, name: str, consequence: str) -> Iterator[Finding]:
        node, key, _ = monitor_argument(ctx, use)
        if node is None or not key:
            return
        found = self._vector_metric(ctx, key, use.fits)
        if found is not None:
            yield self._finding(ctx, node, f"`{name}` monitors `{key}`", found, consequence)

    def _file_name(self, ctx: RuleContext, use: CallbackUse) -> Iterator[Finding]:
        given = use.argument(ctx, "filepath")
        if not isinstance(given, Bound):
            return
        for piece in template_pieces(ctx.resolver, given.value, given.scope):
            for key in piece.keys():
                found = self._vector_metric(ctx, key, use.fits)
                if found is not None:
                    yield self._finding(ctx, piece.node, f"the `ModelCheckpoint` file name formats `{{{key}}}`", found, (
                        "both flavours raise `TypeError: unsupported format string passed to numpy.ndarray.__format__` "
                        "when the first checkpoint is written"))

    def _objectives(self, ctx: RuleContext) -> Iterator[Finding]:
        """Keras Tuner's `objective=` of a tuner whose `search` trains the build function's model."""
        for site in TRAINING_CALLS.sites(ctx.facts):
            func = site.node.func
            if not (isinstance(func, cst.Attribute) and func.attr.value == "search"):
                continue
            tuner = ctx.resolver.instance(func.value, site.scope, symbols.TUNER)
            origin = ctx.facts.site_of.get(tuner.origin) if tuner is not None and isinstance(tuner.origin, cst.Call) else None
            if origin is None:
                continue
            objective = bind(ctx.resolver, origin.node, origin.scope, "objective", 1)
            if not isinstance(objective, Bound):
                continue
            node, key = _objective_key(ctx, objective)
            if node is None or key is None:
                continue
            found = self._vector_metric(ctx, key, [site])
            if found is not None:
                yield self._finding(ctx, node, f"the tuner's objective is `{key}`", found, (
                    f"every trial trains one epoch and fails with `{_AMBIGUOUS}` (keras-tuner 1.4.8 on Keras 3; "
                    "three failed trials in a row abort the search)"))

    @staticmethod
    def _vector_metric(ctx: RuleContext, key: str, fits: List[CallSite]) -> Optional[Tuple[MetricRef, str]]:
        """(the metric, its class) when every run logs `key` from one F-score with `average=None`."""
        found: Optional[Tuple[MetricRef, str]] = None
        for fit in fits:
            ref = metric_logging(ctx, fit, key)
            leaf = _vector_class(ctx, ref) if ref is not None else None
            if leaf is None or (found is not None and found[0].node is not ref.node):  # type: ignore[union-attr]
                return None
            found = (ref, leaf)  # type: ignore[assignment]
        return found

    def _finding(self, ctx: RuleContext, where: cst.CSTNode, what: str, found: Tuple[MetricRef, str],
                 consequence: str) -> Finding:
        ref, leaf = found
        message = (f"{what}, which `{leaf}` logs per class. `average=None` is its default: "
                   f"{consequence}; {_FIX}")
        return Finding(where, message, _average_fix(ctx, ref, leaf))


def _vector_class(ctx: RuleContext, ref: MetricRef) -> Optional[str]:
    """`F1Score`/`FBetaScore` when the metric averages nothing (`average=None`), else None."""
    if ref.string is not None:
        entry = _STRINGS.get(ref.string)
        return entry.metric_class if entry is not None and entry.key(ctx.flavour) is not None else None
    if ref.keras_class not in _F_SCORES or ref.constructor is None:
        return None
    site = ctx.facts.site_of.get(ref.constructor)
    if site is None:
        return None
    given = constructor_argument(ctx.resolver, ref.constructor, site.scope, f"metrics.{ref.keras_class}", "average",
                                 ctx.flavour)
    if given is None or (isinstance(given, Bound) and isinstance(given.value, cst.Name) and given.value.value == "None"):
        return ref.keras_class
    return None  # an average given (or unknown)


def _average_fix(ctx: RuleContext, ref: MetricRef, leaf: str) -> Optional[FixPlan]:
    if ref.string is not None:
        reference = keras_module_reference(ctx)
        key = _STRINGS[ref.string].key(ctx.flavour)
        if reference is None or not ref.direct:
            return None
        replacement = f'{reference}.metrics.{leaf}(average="macro", name="{key}")'
        return FixPlan(Safety.UNSAFE, 'Average over classes (`average="macro"`), keeping the key',
                       lambda loc, node=ref.node: [loc.replace(node, replacement)])
    call = ref.constructor
    site = ctx.facts.site_of.get(call) if call is not None else None
    if call is None or site is None or any(arg.star for arg in call.args):
        return None
    given = constructor_argument(ctx.resolver, call, site.scope, f"metrics.{leaf}", "average", ctx.flavour)
    if given is UNKNOWN:
        return None
    if isinstance(given, Bound):
        if given.arg is None:
            return None  # from `**options`
        return FixPlan(Safety.UNSAFE, 'Set `average="macro"`',
                       lambda loc, node=given.value: [loc.replace(node, '"macro"')])
    return FixPlan(Safety.UNSAFE, 'Add `average="macro"`', lambda loc: add_keyword(loc, call, "average", '"macro"'))


def _objective_key(ctx: RuleContext, objective: Bound) -> Tuple[Optional[cst.CSTNode], Optional[str]]:
    """The string naming a tuner objective: `"val_f1_score"` or `kt.Objective("val_f1_score", ...)`."""
    value = objective.value
    text = ctx.resolver.string_value(value, objective.scope)
    if text is not None:
        return ctx.resolver.string_literal(value, objective.scope) or value, text
    if isinstance(value, cst.Call):
        target = ctx.resolver.resolve(value.func, objective.scope)
        path = getattr(target, "path", "")
        if path.split(".")[0] in ("keras_tuner", "kerastuner") and path.endswith(".Objective"):
            name = bind(ctx.resolver, value, objective.scope, "name", 0)
            if isinstance(name, Bound):
                literal = ctx.resolver.string_literal(name.value, name.scope)
                return literal, ctx.resolver.string_value(name.value, name.scope)
    return None, None


_MODEL = (
    "import keras\n"
    "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='softmax')])\n"
)


def _compile(metric: str) -> str:
    return f"model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=[{metric}])\n"


_FIT = "model.fit(x, y, validation_split=0.2, callbacks=[cb])\n"

VectorMetricMonitored.valid = (
    # averaged: one number
    Example(_MODEL + _compile("keras.metrics.F1Score(average='macro')")
            + "cb = keras.callbacks.EarlyStopping(monitor='val_f1_score', mode='max')\n" + _FIT),
    Example(_MODEL + _compile("keras.metrics.FBetaScore('micro', 2.0)")
            + "cb = keras.callbacks.ReduceLROnPlateau(monitor='val_fbeta_score', mode='max')\n" + _FIT),
    # logged only, never compared: ModelCheckpoint without save_best_only, another key monitored
    Example(_MODEL + _compile("keras.metrics.F1Score()") + "cb = keras.callbacks.ModelCheckpoint('m.keras', monitor='val_f1_score')\n" + _FIT),
    Example(_MODEL + _compile("keras.metrics.F1Score()") + "cb = keras.callbacks.EarlyStopping(monitor='val_loss')\n" + _FIT),
    # an average the file cannot read
    Example(_MODEL + _compile("keras.metrics.F1Score(average=AVERAGE)")
            + "cb = keras.callbacks.EarlyStopping(monitor='val_f1_score', mode='max')\n" + _FIT),
    # a model the file cannot resolve
    Example("import keras\ndef train(model):\n    model.compile(loss='mse', metrics=[keras.metrics.F1Score()])\n"
            "    model.fit(x, y, validation_split=0.2, callbacks=[keras.callbacks.EarlyStopping(monitor='val_f1_score')])\n"),
    # tf_keras has no "f1_score" string (KM110)
    Example("import tf_keras as keras\nmodel = keras.Sequential([keras.layers.Dense(3, activation='softmax')])\n"
            + _compile("'f1_score'") + "cb = keras.callbacks.EarlyStopping(monitor='val_f1_score', mode='max')\n" + _FIT,
            flavour="2"),
)

VectorMetricMonitored.invalid = (
    Example(
        _MODEL + _compile("keras.metrics.F1Score()") + "cb = keras.callbacks.EarlyStopping(monitor='val_f1_score', mode='max', patience=3)\n" + _FIT,
        fixed=_MODEL + _compile("keras.metrics.F1Score(average=\"macro\")") + "cb = keras.callbacks.EarlyStopping(monitor='val_f1_score', mode='max', patience=3)\n" + _FIT,
        safety="unsafe",
    ),
    # the metric in a variable, `average=None` said, ReduceLROnPlateau, tf_keras
    Example(
        "import tf_keras as keras\nmodel = keras.Sequential([keras.layers.Dense(3, activation='softmax')])\n"
        "f2 = keras.metrics.FBetaScore(average=None, beta=2.0, name='f2')\n" + _compile("f2")
        + "cb = keras.callbacks.ReduceLROnPlateau('val_f2', mode='max')\n" + _FIT,
        fixed="import tf_keras as keras\nmodel = keras.Sequential([keras.layers.Dense(3, activation='softmax')])\n"
        "f2 = keras.metrics.FBetaScore(average=\"macro\", beta=2.0, name='f2')\n" + _compile("f2")
        + "cb = keras.callbacks.ReduceLROnPlateau('val_f2', mode='max')\n" + _FIT,
        flavour="2",
        safety="unsafe",
    ),
    # ModelCheckpoint: the monitor with save_best_only, and the file name: one fix for both
    Example(
        _MODEL + _compile("'f1_score'")
        + "cb = keras.callbacks.ModelCheckpoint('m-{val_f1_score:.3f}.keras', monitor='val_f1_score', mode='max', save_best_only=True)\n" + _FIT,
        fixed=_MODEL + _compile("keras.metrics.F1Score(average=\"macro\", name=\"f1_score\")")
        + "cb = keras.callbacks.ModelCheckpoint('m-{val_f1_score:.3f}.keras', monitor='val_f1_score', mode='max', save_best_only=True)\n" + _FIT,
        count=2,
        safety="unsafe",
    ),
    # a Keras Tuner objective
    Example(
        "import keras\nimport keras_tuner as kt\n"
        "def build(hp):\n    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='softmax')])\n"
        "    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=[keras.metrics.F1Score()])\n"
        "    return model\n"
        "tuner = kt.RandomSearch(build, objective=kt.Objective('val_f1_score', direction='max'), max_trials=3)\n"
        "tuner.search(x, y, validation_split=0.2, epochs=5)\n",
        fixed="import keras\nimport keras_tuner as kt\n"
        "def build(hp):\n    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='softmax')])\n"
        "    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=[keras.metrics.F1Score(average=\"macro\")])\n"
        "    return model\n"
        "tuner = kt.RandomSearch(build, objective=kt.Objective('val_f1_score', direction='max'), max_trials=3)\n"
        "tuner.search(x, y, validation_split=0.2, epochs=5)\n",
        safety="unsafe",
    ),
)
