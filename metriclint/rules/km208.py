"""KM208: a callback's `mode` against the monitored metric's direction (and Keras 2's `auto` guesses)."""

from __future__ import annotations

from typing import Iterator, List, Optional

import libcst as cst

from ..diagnostics import Safety
from ..facts.entries import COMPILE_CALLS, PROJECT_IMPORTS, TRAINING_CALLS, AnyOf, Words
from ..facts.arguments import UNKNOWN, Bound
from ..facts.collect import CallSite
from ..facts.logkeys import CallbackUse, KeySource, callback_uses, keys_for_fit
from ..facts.tuners import ObjectiveName, TunerUse, tuner_uses
from ..keras import symbols
from ..keras.tuner_objectives import inferred_direction
from ..locate import Locator
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import add_keyword
from .km207 import MONITOR_CALLBACKS, checkpoint_uses_monitor, monitor_argument, objective_fix

# Keras metric functions that are losses: Keras 3 wraps them with direction "down", so auto mode
# picks `min` for them (measured: `metrics=[keras.metrics.mse]` + auto -> `less`). Other function
# metrics (`keras.metrics.binary_accuracy`, the user's own) have no direction: ValueError.
_K3_LOSS_FUNCTIONS = frozenset(
    """binary_crossentropy binary_focal_crossentropy categorical_crossentropy categorical_focal_crossentropy
    categorical_hinge hinge huber kl_divergence log_cosh mean_absolute_error mean_absolute_percentage_error
    mean_squared_error mean_squared_logarithmic_error poisson sparse_categorical_crossentropy squared_hinge
    mse mae mape msle""".split()
)


_VERB = {"min": "minimises", "max": "maximises"}
_PARTICIPLE = {"min": "minimised", "max": "maximised"}
# fixtures/KM208_tuner_objective_f1_score
_TUNER_EVIDENCE = ("in metriclint's test program `val_f1_score` kept the trial with validation F1 0.065 of 3 "
                   "trials, the best had 0.923")


def keras2_auto_direction(keras_class: str, monitor: str) -> str:
    """What tf_keras 2.21 picks for mode="auto" (read in tf_keras/src/callbacks.py)."""
    if keras_class == "callbacks.EarlyStopping":
        return "max" if monitor.endswith(("acc", "accuracy", "auc")) else "min"
    if keras_class == "callbacks.ModelCheckpoint":
        return "max" if "acc" in monitor or monitor.startswith("fmeasure") else "min"
    return "max" if "acc" in monitor else "min"  # ReduceLROnPlateau


class ModeAgainstDirection(Rule):
    code = "KM208"
    name = "monitor-mode-direction"
    summary = ("Callback `mode` (or Keras 2's `auto` guess), or the direction Keras Tuner infers for a string "
               "objective, minimises a metric that should grow, or the reverse")
    fix_safety = Safety.SAFE
    # the callbacks it reads (`callback_uses`) and the tuners (`tuner_uses`), both found from training calls
    needs = (TRAINING_CALLS, AnyOf((COMPILE_CALLS, PROJECT_IMPORTS)),
             AnyOf((Words(frozenset(name.split(".")[-1] for name in MONITOR_CALLBACKS) | symbols.TUNER_CLASSES),
                    PROJECT_IMPORTS)))

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for use in callback_uses(ctx):
            if use.keras_class not in MONITOR_CALLBACKS:
                continue
            if use.spec is not None:
                finding = self._made_elsewhere(ctx, use)
                if finding is not None:
                    yield finding
                continue
            _, key, _ = monitor_argument(ctx, use)
            if not key:
                continue
            source = self._source(ctx, use, key)
            if source is None:
                continue
            finding = self._check_mode(ctx, use, key, source, self._per_output(ctx, use, key))
            if finding is not None:
                yield finding
        # keras-tuner 1.4.8 imports `keras`: its inferred directions are measured on Keras 3 only
        for tuner in tuner_uses(ctx) if ctx.flavour == "3" else ():
            for objective in tuner.objectives:
                finding = self._objective(ctx, tuner, objective)
                if finding is not None:
                    yield finding

    def _objective(self, ctx: RuleContext, tuner: TunerUse, objective: ObjectiveName) -> Optional[Finding]:
        """A plain-string objective whose direction, as Keras Tuner infers it from the name, is not
        the direction of the metric that logs the key (`"val_f1_score"`: "min" for an F1 score)."""
        inferred = inferred_direction(objective.key)
        if not objective.plain or inferred is None:
            return None  # spelt out, or no direction at all (KM207: ValueError at construction)
        source = self._key_source(ctx, tuner.searches, objective.key)
        if source is None or source.direction is None or source.direction == inferred:
            return None
        key, direction = objective.key, source.direction
        keys = keys_for_fit(ctx, tuner.searches[0])
        fix = objective_fix(tuner, objective, key, keys)
        call = f'{tuner.objective_call() or "keras_tuner.Objective"}("{key}", direction="{direction}")'
        return Finding(
            objective.literal,
            f"`{tuner.tuner_class}` {_VERB[inferred]} objective `{key}`, which should be {_PARTICIPLE[direction]}. "
            f"Keras Tuner infers \"{inferred}\" from a plain string's name, so the search silently keeps the worst "
            f"trial ({_TUNER_EVIDENCE}); use `{call}`",
            fix,
        )

    @staticmethod
    def _source(ctx: RuleContext, use: CallbackUse, key: str) -> Optional[KeySource]:
        return ModeAgainstDirection._key_source(ctx, use.fits, key)

    @staticmethod
    def _key_source(ctx: RuleContext, sites: List[CallSite], key: str) -> Optional[KeySource]:
        """The metric that logs `key` in every one of the runs; None when unsure."""
        found = None
        for site in sites:
            keys = keys_for_fit(ctx, site)
            if not keys.produces(key):
                return None  # unknowable, or KM207's business
            source = keys.source(key)
            if source is None or (found is not None and source != found):
                return None
            found = source
        return found

    @staticmethod
    def _per_output(ctx: RuleContext, use: CallbackUse, key: str) -> bool:
        """The key is one output's (`val_cls_accuracy`) in every run the callback is given to."""
        return bool(use.fits) and all(keys_for_fit(ctx, site).output_prefix(key) is not None for site in use.fits)

    def _made_elsewhere(self, ctx: RuleContext, use: CallbackUse) -> Optional[Finding]:
        """A callback another module makes: its `mode` against the direction of the key it
        monitors in this run (reported where it reaches `fit`; the fix is that module's)."""
        spec = use.spec
        if spec is None or spec.monitor == "" or spec.mode in ("", None):
            return None
        key = spec.monitor if spec.monitor is not None else MONITOR_CALLBACKS[use.keras_class]
        source = self._source(ctx, use, key)
        if source is None or source.direction is None:
            return None
        name = use.keras_class.split(".")[-1]
        compares = use.keras_class != "callbacks.ModelCheckpoint" or spec.save_best_only
        if not compares:
            return None
        if spec.mode in ("min", "max"):
            if spec.mode == source.direction:
                return None
            return Finding(use.anchor, f"`{name}(monitor=\"{key}\", mode=\"{spec.mode}\")` keeps the worst epoch. "
                           f"It is made in `{use.module}`; `{key}` should be "
                           f"{'maximised' if source.direction == 'max' else 'minimised'}; set `mode=\"{source.direction}\"` there")
        if ctx.flavour == "2":
            guess = keras2_auto_direction(use.keras_class, key)
            if guess != source.direction:
                return Finding(use.anchor, f"`{name}` on Keras 2 picks `mode=\"{guess}\"` for `{key}`, which should be "
                               f"`{source.direction}`. It is made in `{use.module}`; Keras 2 guesses the direction "
                               f"from the name; "
                               f"set `mode=\"{source.direction}\"` there")
        return None

    def _check_mode(self, ctx: RuleContext, use: CallbackUse, key: str, source: KeySource,
                    per_output: bool) -> Optional[Finding]:
        name = use.keras_class.split(".")[-1]
        given = use.argument(ctx, "mode")
        if given is UNKNOWN:
            return None
        mode_value = ctx.resolver.string_literal(given.value, given.scope) if isinstance(given, Bound) else None
        if isinstance(given, Bound) and not isinstance(mode_value, cst.SimpleString):
            return None
        mode = mode_value.evaluated_value if mode_value is not None else "auto"
        direction = source.direction
        compares = use.keras_class != "callbacks.ModelCheckpoint" or checkpoint_uses_monitor(ctx, use)
        if compares is None:
            return None
        mode_arg = mode_value
        if mode in ("min", "max") and compares:
            if direction is None or mode == direction:
                return None
            return Finding(
                mode_value,  # type: ignore[arg-type]
                f"`{name}(monitor=\"{key}\", mode=\"{mode}\")` keeps the worst epoch. `{key}` should be "
                f"{'maximised' if direction == 'max' else 'minimised'} "
                "(in metriclint's test program EarlyStopping with mode=\"min\" on accuracy stopped at epoch 3 and restored "
                "weights scoring 0.470 instead of 0.870)",
                _set_mode(use.constructor, mode_arg, direction),
            )
        if mode != "auto":
            return None
        if ctx.flavour == "3" and per_output:
            # Keras 3 looks the key up among the compiled metric objects, which a model with several
            # outputs keeps per output: not found, even for `val_<output>_loss` (measured, fixture
            # KM208_multi_output_auto_mode); every monitoring callback does, save_best_only or not
            where = mode_value if mode_value is not None else use.constructor.func
            message = (f"`{name}` in auto mode on `{key}`, one output's key. Keras 3 cannot find its direction "
                       "(the metrics of a model with several outputs are kept per output) and raises ValueError "
                       "at the end of the first epoch")
            if direction is None:
                return Finding(where, message + "; pass `mode=\"max\"` or `mode=\"min\"`")
            return Finding(where, f"{message}; `{key}` should be {'maximised' if direction == 'max' else 'minimised'}",
                           _set_mode(use.constructor, mode_arg, direction))
        if ctx.flavour == "2" and compares:
            guess = keras2_auto_direction(use.keras_class, key)
            if direction is None or guess == direction:
                return None
            return Finding(
                mode_value if mode_value is not None else use.constructor.func,
                f"`{name}` on Keras 2 picks `mode=\"{guess}\"` for `{key}`, which should be `{direction}`. "
                f"Keras 2 guesses the direction from the name; set `mode=\"{direction}\"`",
                _set_mode(use.constructor, mode_arg, direction),
            )
        if ctx.flavour == "3" and source.kind == "function" and _k3_cannot_tell(ctx, key):
            return Finding(
                mode_value if mode_value is not None else use.constructor.func,
                f"`{name}` in auto mode cannot tell the direction of `{key}` (ValueError). It is a custom "
                "metric function, so Keras 3 cannot tell whether it should grow or shrink: Keras 3 raises ValueError at the end of the first epoch; pass `mode=\"max\"` or `mode=\"min\"`",
            )
        return None


def _k3_cannot_tell(ctx: RuleContext, key: str) -> bool:
    """Keras 3 auto mode raises for a function metric unless it is one of Keras's loss functions."""
    base = key[4:] if key.startswith("val_") else key
    local = any(function.name.value == base for function in ctx.facts.scope_of_function)
    return local or base not in _K3_LOSS_FUNCTIONS


def _set_mode(call: cst.Call, literal: Optional[cst.SimpleString], direction: str) -> FixPlan:
    """Rewrite the `mode` string where it is written, or add `mode=` to a call that has none."""
    def build(loc: Locator):
        if literal is not None:
            return [loc.replace(literal, f"{literal.prefix}{literal.quote}{direction}{literal.quote}")]
        return add_keyword(loc, call, "mode", f'"{direction}"')

    return FixPlan(Safety.SAFE, f"Set `mode=\"{direction}\"`", build)


def _program(metrics: str, callback: str, fit: str = "validation_data=(x, y)", head: str = "import keras\n") -> str:
    return (
        head
        + "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
        + f"model.compile(optimizer='adam', loss='binary_crossentropy', metrics={metrics})\n"
        + f"cb = {callback}\n"
        + f"model.fit(x, y, {fit}, callbacks=[cb])\n"
    )


_TWO = (
    "import keras\n"
    "inp = keras.Input((4,))\n"
    "a = keras.layers.Dense(1, activation='sigmoid', name='cls')(inp)\n"
    "b = keras.layers.Dense(1, name='reg')(inp)\n"
    "model = keras.Model(inp, [a, b])\n"
    "model.compile(optimizer='adam', loss=['binary_crossentropy', 'mse'], metrics=[['accuracy'], []])\n"
)

ModeAgainstDirection.valid = (
    # several outputs: one output's key with its mode given; tf_keras guesses from the name
    Example(_TWO + "cb = keras.callbacks.EarlyStopping(monitor='val_cls_accuracy', mode='max')\nmodel.fit(x, ys, validation_split=0.2, callbacks=[cb])\n"),
    Example(_TWO.replace("import keras", "import tf_keras as keras") + "cb = keras.callbacks.EarlyStopping(monitor='val_cls_accuracy')\n"
            "model.fit(x, ys, validation_split=0.2, callbacks=[cb])\n", flavour="2"),
    # the total loss is found in auto mode
    Example(_TWO + "cb = keras.callbacks.EarlyStopping(monitor='val_loss')\nmodel.fit(x, ys, validation_split=0.2, callbacks=[cb])\n"),
    Example(_program("['accuracy']", "keras.callbacks.EarlyStopping(monitor='val_accuracy', mode='max')")),
    Example(_program("['accuracy']", "keras.callbacks.EarlyStopping(monitor='val_loss', mode='min')")),
    Example(_program("['accuracy']", "keras.callbacks.EarlyStopping(monitor='val_accuracy')")),
    # Keras 3 reads the direction from the metric object
    Example(_program("[keras.metrics.Precision()]", "keras.callbacks.EarlyStopping(monitor='val_precision')")),
    # Keras 2 guesses right for names ending in accuracy/auc (EarlyStopping)
    Example(_program("[keras.metrics.AUC()]", "keras.callbacks.EarlyStopping(monitor='val_auc')", head="import tf_keras as keras\n"), flavour="2"),
    # unknown metric: no judgement
    Example(_program("[custom]", "keras.callbacks.EarlyStopping(monitor='val_custom', mode='max')")),
    # ModelCheckpoint compares monitored values only with save_best_only=True: mode is unused
    Example(_program("['accuracy']", "keras.callbacks.ModelCheckpoint('m.keras', monitor='val_accuracy', mode='min')")),
    Example(_program("[keras.metrics.Precision()]", "keras.callbacks.ModelCheckpoint('m.h5', monitor='val_precision')", head="import tf_keras as keras\n"), flavour="2"),
    # Keras 3 knows the direction of Keras's loss functions used as metrics
    Example(_program("[keras.metrics.mean_squared_error]", "keras.callbacks.EarlyStopping(monitor='val_mean_squared_error')")),
)

ModeAgainstDirection.invalid = (
    # Keras 3 auto mode cannot find one output's key among the per-output metric objects
    Example(
        _TWO + "cb = keras.callbacks.ReduceLROnPlateau(monitor='val_reg_loss', patience=2)\nmodel.fit(x, ys, validation_split=0.2, callbacks=[cb])\n",
        fixed=_TWO + "cb = keras.callbacks.ReduceLROnPlateau(monitor='val_reg_loss', patience=2, mode=\"min\")\nmodel.fit(x, ys, validation_split=0.2, callbacks=[cb])\n",
        safety="safe",
    ),
    Example(
        _program("['accuracy']", "keras.callbacks.EarlyStopping(monitor='val_accuracy', mode='min', patience=2)"),
        fixed=_program("['accuracy']", "keras.callbacks.EarlyStopping(monitor='val_accuracy', mode='max', patience=2)"),
        safety="safe",
    ),
    Example(
        _program("['mae']", "keras.callbacks.ModelCheckpoint('best.keras', save_best_only=True, mode='max')"),
        fixed=_program("['mae']", "keras.callbacks.ModelCheckpoint('best.keras', save_best_only=True, mode='min')"),
        safety="safe",
    ),
    # Keras 2 auto guesses min for precision/recall/f1 and numbered names
    Example(
        _program("[keras.metrics.Precision()]", "keras.callbacks.EarlyStopping(monitor='val_precision')", head="import tf_keras as keras\n"),
        fixed=_program("[keras.metrics.Precision()]", "keras.callbacks.EarlyStopping(monitor='val_precision', mode=\"max\")", head="import tf_keras as keras\n"),
        flavour="2",
        safety="safe",
    ),
    Example(
        _program("[keras.metrics.AUC()]", "keras.callbacks.ModelCheckpoint('m.h5', monitor='val_auc', save_best_only=True, mode='auto')", head="import tf_keras as keras\n"),
        fixed=_program("[keras.metrics.AUC()]", "keras.callbacks.ModelCheckpoint('m.h5', monitor='val_auc', save_best_only=True, mode='max')", head="import tf_keras as keras\n"),
        flavour="2",
        safety="safe",
    ),
    # Keras 3: auto on a custom function metric raises
    Example(
        "import keras\ndef hit_rate(y_true, y_pred):\n    return keras.ops.mean(y_pred)\n"
        + _program("[hit_rate]", "keras.callbacks.EarlyStopping(monitor='val_hit_rate')", head=""),
        safety="none",
    ),
    # ... and so on a Keras function that is not a loss; ModelCheckpoint looks the direction up
    # after epoch 1 even without save_best_only
    Example(
        _program("[keras.metrics.binary_accuracy]", "keras.callbacks.ModelCheckpoint('m.keras', monitor='val_binary_accuracy')"),
        safety="none",
    ),
)


def _tuner(metrics: str, tuner: str, search: str = "tuner.search(x, y, validation_split=0.2)\n",
           head: str = "import keras\nimport keras_tuner as kt\n") -> str:
    return (
        head
        + "def build(hp):\n"
        "    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int('units', 2, 8)), keras.layers.Dense(1, activation='sigmoid')])\n"
        f"    model.compile(optimizer='adam', loss='binary_crossentropy', metrics={metrics})\n"
        "    return model\n"
        + f"tuner = {tuner}\n"
        + search
    )


_F1 = "[keras.metrics.F1Score(average='micro', threshold=0.5)]"

ModeAgainstDirection.valid += (
    # the direction spelt out; a string whose inferred direction is right
    Example(_tuner(_F1, "kt.RandomSearch(build, objective=kt.Objective('val_f1_score', direction='max'))")),
    Example(_tuner(_F1 + " + ['accuracy']", "kt.RandomSearch(build, objective='val_accuracy')")),
    Example(_tuner(_F1, "kt.Hyperband(build, objective='val_loss', max_epochs=2)")),
    # keys unknown: metrics from elsewhere, validation data maybe in `**options`
    Example(_tuner("METRICS", "kt.RandomSearch(build, objective='val_f1_score')")),
    Example(_tuner(_F1, "kt.RandomSearch(build, objective='val_f1_score')", "tuner.search(x, y, **options)\n")),
    # a custom metric named like a loss: its direction is unknown
    Example("import keras\ndef score_loss(y_true, y_pred):\n    return keras.ops.mean(y_pred)\n"
            + _tuner("[score_loss]", "kt.RandomSearch(build, objective='val_score_loss')", head="import keras_tuner as kt\n")),
    # keras-tuner imports Keras 3: measured there only
    Example(_tuner(_F1, "kt.RandomSearch(build, objective='val_f1_score')",
                   head="import tf_keras as keras\nimport keras_tuner as kt\n"), flavour="2"),
)

ModeAgainstDirection.invalid += (
    # Keras Tuner infers "min" for F1Score's and R2Score's keys
    Example(
        _tuner(_F1, "kt.RandomSearch(build, objective='val_f1_score', max_trials=3)"),
        fixed=_tuner(_F1, "kt.RandomSearch(build, objective=kt.Objective('val_f1_score', direction='max'), max_trials=3)"),
        safety="safe",
    ),
    Example(
        _tuner("[keras.metrics.R2Score()]", "kt.BayesianOptimization(build, ['r2_score'])"),
        fixed=_tuner("[keras.metrics.R2Score()]", "kt.BayesianOptimization(build, [kt.Objective('r2_score', direction='max')])"),
        safety="safe",
    ),
    # named elsewhere than the tuner call: reported, the fix is left to the user
    Example(
        _tuner(_F1, "kt.RandomSearch(build, objective=OBJECTIVE)").replace("def build", "OBJECTIVE = 'val_f1_score'\ndef build"),
        safety="none",
    ),
)
