"""KM207: a log key the run will not produce (`monitor=`, checkpoint file names, `history.history[...]`)."""

from __future__ import annotations

import re
from typing import Iterator, List, Optional, Tuple

import libcst as cst

from ..diagnostics import Safety
from ..facts.arguments import UNKNOWN, Bound
from ..facts.collect import CallSite, positional_args
from ..facts.entries import COMPILE_CALLS, PROJECT_IMPORTS, TRAINING_CALLS, AnyOf, Words
from ..facts.logkeys import CallbackUse, KeySet, callback_uses, keys_for_fit
from ..facts.tuners import ObjectiveName, TunerUse, tuner_uses
from ..facts.templates import template_pieces
from ..facts.values import ClassValue, Derived
from ..facts.walk import Walker, find_all
from ..keras import symbols
from ..keras.tuner_objectives import INFERENCE_RAISES, inferred_direction
from .base import Example, Finding, FixPlan, Rule, RuleContext

# Callbacks with a `monitor` argument: class -> its default
MONITOR_CALLBACKS = {
    "callbacks.EarlyStopping": "val_loss",
    "callbacks.ModelCheckpoint": "val_loss",
    "callbacks.ReduceLROnPlateau": "val_loss",
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
_LOGS_HOOK = "on_epoch_end"  # the hook whose `logs` hold every epoch key, `val_` ones included


def _normal(key: str) -> str:
    key = key.lower()
    return _ALIASES.get(key, key)


def _normal_key(key: str, prefixes) -> str:
    """`_normal` after the output's prefix of a model with several outputs (`cls_acc` -> `cls_accuracy`)."""
    for prefix in sorted(prefixes, key=len, reverse=True):
        if key.startswith(prefix + "_"):
            return prefix + "_" + _normal(key[len(prefix) + 1:])
    return _normal(key)


def intended_key(key: str, keys: KeySet) -> Optional[str]:
    """The produced key the author evidently meant (`val_acc` -> `val_accuracy`; the other
    flavour's name of an output: `val_cls_layer_accuracy` -> `val_cls_accuracy`), if exactly one."""
    prefix = "val_" if key.startswith("val_") else ""
    base = key[len(prefix):]
    wanted = _normal_key(keys.other_flavour(base) or base, keys.prefixes)
    matches = sorted(k for k in keys.exact if _normal_key(k, keys.prefixes) == wanted and k != base)
    numbered = re.fullmatch(r"(.*[^\d_])_\d+", base)
    if not matches and numbered and numbered.group(1) in keys.exact:
        matches = [numbered.group(1)]  # `auc_1` where only `auc` is logged (a tuner's build: a fresh session)
    if len(matches) != 1:
        return None
    candidate = prefix + matches[0]
    return candidate if keys.produces(candidate) else None


def monitor_argument(ctx: RuleContext, use: CallbackUse) -> Tuple[Optional[cst.BaseExpression], str,
                                                                   Optional[cst.SimpleString]]:
    """(the monitor expression or None for the default, the key it names or '' when unknown, the
    string literal that names it, directly or through a name assigned once)."""
    given = use.argument(ctx, "monitor")
    if given is UNKNOWN:
        return None, "", None
    if given is None:
        return None, MONITOR_CALLBACKS[use.keras_class], None
    literal = ctx.resolver.string_literal(given.value, given.scope)
    key = ctx.resolver.string_value(given.value, given.scope) or ""
    return given.value, key, literal if isinstance(literal, cst.SimpleString) else None


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

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        """`h.history.get("acc") or h.history["accuracy"]`: code written for both spellings, each
        read only when the other is missing."""
        if isinstance(node.operator, cst.Or) and any(_is_history_get(side) for side in (node.left, node.right)):
            self.guarded.update(id(string) for string in find_all(node, cst.SimpleString))

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if self._depth:
            self.guarded.add(id(node))


def _is_history_get(node: cst.BaseExpression) -> bool:
    """`<x>.history.get(...)`."""
    func = node.func if isinstance(node, cst.Call) else None
    return (isinstance(func, cst.Attribute) and func.attr.value == "get" and isinstance(func.value, cst.Attribute)
            and func.value.attr.value == "history")


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


def checkpoint_uses_monitor(ctx: RuleContext, use: CallbackUse) -> Optional[bool]:
    """ModelCheckpoint compares `monitor` values only with `save_best_only=True` (None: unknown)."""
    given = use.argument(ctx, "save_best_only")
    if given is UNKNOWN:
        return None
    return isinstance(given, Bound) and isinstance(given.value, cst.Name) and given.value.value == "True"


def _explicit_mode(ctx: RuleContext, use: CallbackUse) -> bool:
    """A `mode` other than "auto" (or one the file does not show) is given."""
    given = use.argument(ctx, "mode")
    if given is None:
        return False
    return not (isinstance(given, Bound) and ctx.resolver.string_value(given.value, given.scope) == "auto")

# Where the check reads keys: the monitoring callbacks (`callback_uses`) and `history` reads.
# and the tuners whose objective names a key.
_KEY_READS = Words(frozenset({"history", _LOGS_HOOK} | {name.split(".")[-1] for name in MONITOR_CALLBACKS}
                             | symbols.TUNER_CLASSES))
_TUNER_FAILS = ("every trial trains in full, then its lookup raises KeyError; after 3 consecutive failed trials "
                "the search raises RuntimeError")


class MissingLogKey(Rule):
    code = "KM207"
    name = "missing-log-key"
    summary = ("A callback, checkpoint file name, `history` read or Keras Tuner objective uses a log key the run does "
               "not produce (`val_acc` vs `val_accuracy`)")
    fix_safety = Safety.SAFE
    # the model is compiled here, or by a module of the project this file imports
    # (and the callbacks, or the keys read, may come from such a module)
    needs = (TRAINING_CALLS, AnyOf((COMPILE_CALLS, PROJECT_IMPORTS)), AnyOf((_KEY_READS, PROJECT_IMPORTS)))

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        reported: set = set()  # (template piece, key): a file name two checkpoints share is reported once
        for use in callback_uses(ctx):
            if use.local_class is not None:
                yield from self._callback_logs(ctx, use, reported)
            if use.keras_class not in MONITOR_CALLBACKS:
                continue
            if use.spec is not None:
                yield from self._made_elsewhere(ctx, use)
                continue
            yield from self._monitor(ctx, use)
            if use.keras_class == "callbacks.ModelCheckpoint":
                yield from self._filepath(ctx, use, reported)
        yield from self._history(ctx)
        # keras-tuner 1.4.8 imports `keras`: its objectives are proven on Keras 3 only (fixtures/KM207_tuner_*)
        for tuner in tuner_uses(ctx) if ctx.flavour == "3" else ():
            for objective in tuner.objectives:
                yield from self._objective(ctx, tuner, objective)

    def _objective(self, ctx: RuleContext, tuner: TunerUse, objective: ObjectiveName) -> Iterator[Finding]:
        """A tuner's objective: a key its searches' models do not log, or a plain string whose
        direction Keras Tuner cannot infer (it raises when the tuner is constructed)."""
        all_keys = [keys_for_fit(ctx, site) for site in tuner.searches]
        if not all_keys or any(not keys.complete for keys in all_keys):
            return
        key = objective.key
        what = f"`{tuner.tuner_class}` objective `{key}`"
        missing = _verdict(key, tuner.searches, ctx)
        keys = missing if missing is not None else all_keys[0]
        target = intended_key(key, keys) if missing is not None else key
        if len(all_keys) > 1 and target is not None and any(not k.produces(target) for k in all_keys):
            target = None
        fix = objective_fix(tuner, objective, target, keys)
        if objective.plain and inferred_direction(key) is None:
            error = "TypeError" if _objective_base(key) in INFERENCE_RAISES else "ValueError"
            direction = _true_direction(keys, target) if target is not None else None
            if target is not None and inferred_direction(target) is not None and direction in (None, inferred_direction(target)):
                suggestion = f'`"{target}"`'  # a key Keras Tuner infers the right direction for
            else:
                name = f'"{target}"' if target else ("<a key it logs>" if missing is not None else f'"{key}"')
                suggestion = (f'`{tuner.objective_call() or "keras_tuner.Objective"}({name}, '
                              f'direction="{direction or "max"}")`' + ("" if direction else ' (or "min")'))
            message = (f"{what} is a string Keras Tuner infers no direction for. {error} when the tuner "
                       f"is constructed; use {suggestion}")
            if missing is not None:
                message += f"; the run does not log `{key}` either" + (f", it logs `{target}`" if target else _known(keys))
            yield Finding(objective.literal, message, fix)
            return
        if missing is None:
            return
        base = key[4:] if key.startswith("val_") else key
        if key.startswith("val_") and keys.produces(base) and not keys.validation:
            yield Finding(objective.literal, f"{what}, but `search` gets no validation data. Without "
                                             f"`validation_data`/`validation_split` there is no `{key}` ({_TUNER_FAILS}); "
                                             f"add validation data or use `{base}`")
            return
        message = f"{what}, a key this run does not log. {_TUNER_FAILS[:1].upper()}{_TUNER_FAILS[1:]}" + _flavour_note(base, keys)
        if target is None:
            yield Finding(objective.literal, message + _known(keys))
            return
        yield Finding(objective.literal, f"{message}; it logs `{target}`", fix)

    def _made_elsewhere(self, ctx: RuleContext, use: CallbackUse) -> Iterator[Finding]:
        """A callback another module of the project makes (`from config import CALLBACKS`): its
        keys are read in its summary, the finding points where it reaches this `fit`, and the
        fix is that module's to make (a fix in one file never edits another)."""
        spec = use.spec
        name = use.keras_class.split(".")[-1]
        where = f"{name}` (made in `{use.module}`" + (f", line {spec.line})" if spec.line else ")")
        if spec.monitor != "":
            key = spec.monitor if spec.monitor is not None else MONITOR_CALLBACKS[use.keras_class]
            keys = _verdict(key, use.fits, ctx)
            compares = True if use.keras_class != "callbacks.ModelCheckpoint" else spec.save_best_only
            # without save_best_only only Keras 3's auto mode looks the key up (as for `_monitor`)
            looked_up = ctx.flavour == "3" and spec.mode == "auto" and keys is not None and keys.k3_auto_mode_fails(key)
            if keys is not None and compares is not None and (compares or looked_up):
                consequence = ("Keras 3 raises ValueError after epoch 1 (auto mode)" if looked_up
                               else "it warns every epoch and never acts")
                yield self._finding(f"`{where} monitors `{key}`", key, keys, None, use.anchor, consequence)
        for key in spec.filepath_keys:
            if key in _FILEPATH_FIELDS_ALWAYS:
                continue
            keys = _verdict(key, use.fits, ctx)
            if keys is not None:
                yield Finding(use.anchor, f"`{where}'s file name uses `{{{key}}}`, a key the run does not log "
                                          f"(KeyError). It is raised when the first checkpoint is written" + _known(keys))

    def _callback_logs(self, ctx: RuleContext, use: CallbackUse, reported: set) -> Iterator[Finding]:
        """`logs["val_acc"]` in the `on_epoch_end` of the file's own callback: the logs are those of
        the models it is given to."""
        hook = _own_or_inherited(ctx, use.local_class, _LOGS_HOOK)
        if hook is None:
            return
        params = list(hook.params.posonly_params) + list(hook.params.params)
        if len(params) < 3:
            return  # (self, epoch, logs)
        logs = params[2].name.value
        guards = _guards(ctx)
        for literal in _logs_reads(hook, logs):
            key = literal.evaluated_value
            if not isinstance(key, str) or key in guards.tested or id(literal) in guards.guarded or id(literal) in reported:
                continue
            keys = _verdict(key, use.fits, ctx)
            if keys is None:
                continue
            reported.add(id(literal))
            yield self._finding(f"`{_LOGS_HOOK}` reads `{logs}[{literal.value}]`", key, keys, literal, literal,
                                "KeyError at the end of the first epoch")

    def _monitor(self, ctx: RuleContext, use: CallbackUse) -> Iterator[Finding]:
        node, key, literal = monitor_argument(ctx, use)
        if not key:
            return
        keys = _verdict(key, use.fits, ctx)
        if keys is None:
            return
        name = use.keras_class.split(".")[-1]
        explicit = _explicit_mode(ctx, use)
        if ctx.flavour == "3" and not explicit and keys.k3_auto_mode_fails(key):
            consequence = "Keras 3 raises ValueError after epoch 1 (auto mode)"
        else:
            consequence = "it warns every epoch and never acts"
        compares = checkpoint_uses_monitor(ctx, use) if use.keras_class == "callbacks.ModelCheckpoint" else True
        if compares is None:
            return
        if not compares:
            # Without save_best_only the monitored value is never compared. Only Keras 3's auto
            # mode still looks the metric up (after epoch 1) and raises when no compiled metric
            # has that name; `loss` and the names of compiled metrics are found.
            if ctx.flavour != "3" or explicit or not keys.k3_auto_mode_fails(key):
                return
            consequence = "Keras 3 raises ValueError after epoch 1 in auto mode, even without save_best_only"
        where = node if node is not None else use.constructor.func
        what = f"`{name}` monitors `{key}`" + (" (the default)" if node is None else "")
        yield self._finding(what, key, keys, literal, where, consequence)

    def _filepath(self, ctx: RuleContext, use: CallbackUse, reported: set) -> Iterator[Finding]:
        given = use.argument(ctx, "filepath")
        if not isinstance(given, Bound):
            return
        for piece in template_pieces(ctx.resolver, given.value, given.scope):
            for key in piece.keys():
                if key in _FILEPATH_FIELDS_ALWAYS or (id(piece.node), key) in reported:
                    continue
                keys = _verdict(key, use.fits, ctx)
                if keys is None:
                    continue
                reported.add((id(piece.node), key))
                message = (f"`ModelCheckpoint` file name uses `{{{key}}}`, a key the run does not "
                           f"log (KeyError). It is raised when the first checkpoint is written")
                new_key = intended_key(key, keys)
                if new_key is None:
                    yield Finding(piece.node, message + _known(keys))
                    continue
                yield Finding(piece.node, f"{message}; the run logs `{new_key}`", FixPlan(
                    Safety.SAFE, f"Use `{new_key}`",
                    lambda loc, piece=piece, key=key, new=new_key: [loc.replace(piece.node, piece.renamed(key, new))]))

    def _history(self, ctx: RuleContext) -> Iterator[Finding]:
        reads: List[Tuple[cst.SimpleString, CallSite]] = []
        for subscript, scope in ctx.facts.history_subscripts:
            fit = _history_fit(ctx, subscript.value, scope)
            if fit is not None:
                reads.extend((literal, fit) for literal in _key_literals(ctx, subscript, scope))
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
            return Finding(where, f"{what}, but `fit` gets no validation data. Without `validation_data`/"
                           f"`validation_split` there is no `{key}` ({consequence}); add validation data or use `{base}`")
        new_key = intended_key(key, keys)
        message = (f"{what}, a key this run does not log. {consequence[:1].upper()}{consequence[1:]}"
                   + _flavour_note(base, keys))
        if new_key is None or literal is None:
            return Finding(where, message + _known(keys))
        quote = literal.quote
        prefix = literal.prefix
        replacement = f"{prefix}{quote}{new_key}{quote}"
        return Finding(where, f"{message}; it logs `{new_key}`", FixPlan(
            Safety.SAFE, f"Use `{new_key}`", lambda loc: [loc.replace(literal, replacement)]))


def _objective_base(key: str) -> str:
    """The name Keras Tuner looks up to infer an objective's direction."""
    name = key[4:] if key.startswith("val_") else key
    return name[len("weighted_"):] if name.startswith("weighted_") else name


def _true_direction(keys: KeySet, key: str) -> Optional[str]:
    source = keys.source(key)
    return source.direction if source is not None else None


def objective_fix(tuner: TunerUse, objective: ObjectiveName, target: Optional[str], keys: KeySet) -> Optional[FixPlan]:
    """Rename the objective to the key the run logs, when that is all it takes; a plain string Keras
    Tuner would infer no direction for (or the wrong one) becomes `kt.Objective(key, direction=...)`,
    when the metric's direction is known and the string is written in the tuner call."""
    if target is None:
        return None
    literal = objective.literal
    quote, prefix = literal.quote, literal.prefix
    truth = _true_direction(keys, target)
    inferred = inferred_direction(target)
    if not objective.plain or (inferred is not None and truth in (None, inferred)):
        if target == objective.key:
            return None
        return FixPlan(Safety.SAFE, f"Use `{target}`",
                       lambda loc: [loc.replace(literal, f"{prefix}{quote}{target}{quote}")])
    call = tuner.objective_call()
    if truth is None or call is None or not objective.direct:
        return None
    text = f"{call}({prefix}{quote}{target}{quote}, direction={quote}{truth}{quote})"
    return FixPlan(Safety.SAFE, f"Use `{text}`", lambda loc: [loc.replace(literal, text)])


def _flavour_note(base: str, keys: KeySet) -> str:
    """Why a key of a dict output differs between the flavours, when `base` is the other's."""
    translated = keys.other_flavour(base)
    if translated is None or not (keys.produces(translated) or intended_key(base, keys)):
        return ""
    return "; Keras 3 names a dict output's keys after its dict key, tf_keras after the layer that makes it"


def _known(keys: KeySet) -> str:
    shown = keys.all_keys()
    return f"; it logs {', '.join(f'`{k}`' for k in shown[:8])}" if shown else ""


def _own_or_inherited(ctx: RuleContext, cls, name: str) -> Optional[cst.FunctionDef]:
    seen = set()
    while cls is not None and id(cls) not in seen:
        seen.add(id(cls))
        for binding in cls.body.bindings.get(name, ()):
            if binding.how == "function" and isinstance(binding.node, cst.FunctionDef):
                return binding.node
        bases = [b for b in ctx.resolver.local_bases(cls) if isinstance(b, ClassValue)]
        cls = bases[0] if len(bases) == 1 else None
    return None


def _logs_reads(function: cst.FunctionDef, logs: str) -> List[cst.SimpleString]:
    """`logs["key"]` and `logs.get("key")` in a hook, where `logs` is its parameter."""
    out = []
    for node in find_all(function.body, cst.Subscript, cst.Call):
        if isinstance(node, cst.Subscript):
            if isinstance(node.value, cst.Name) and node.value.value == logs and len(node.slice) == 1:
                index = node.slice[0].slice
                if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
                    out.append(index.value)
        elif (isinstance(node.func, cst.Attribute) and node.func.attr.value == "get"
              and isinstance(node.func.value, cst.Name) and node.func.value.value == logs
              and len(node.args) == 1 and isinstance(node.args[0].value, cst.SimpleString)):
            out.append(node.args[0].value)
    return out


def _key_literals(ctx: RuleContext, subscript: cst.Subscript, scope) -> List[cst.SimpleString]:
    """The key strings a `history.history[...]` read reads: a literal, or a name that holds one or
    takes each string of a loop over a literal tuple (`for k in ("acc", "val_acc")`)."""
    if len(subscript.slice) != 1:
        return []
    index = subscript.slice[0].slice
    if not isinstance(index, cst.Index):
        return []
    if isinstance(index.value, cst.SimpleString):
        return [index.value]
    if not isinstance(index.value, cst.Name):
        return []
    values = ctx.resolver.name_values(index.value, scope)
    if values is None:
        return []
    literals = [ctx.resolver.string_literal(value, inner) for value, inner in values]
    if any(not isinstance(literal, cst.SimpleString) for literal in literals):
        return []  # a loop over keys some of which are not known: the others are not reliable either
    return literals  # type: ignore[return-value]


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

_TWO = (
    "import keras\n"
    "inp = keras.Input((4,))\n"
    "a = keras.layers.Dense(1, activation='sigmoid', name='cls_layer')(inp)\n"
    "b = keras.layers.Dense(1, name='reg_layer')(inp)\n"
    "model = keras.Model(inp, {'cls': a, 'reg': b})\n"
    "model.compile(optimizer='adam', loss={'cls': 'binary_crossentropy', 'reg': 'mse'}, metrics={'cls': ['accuracy']})\n"
)

# A helper returning one of two models, each compiled in its branch (LAST: the second one's metric)
_BRANCHES = (
    "from tensorflow import keras\n"
    "def build(kind):\n"
    "    if kind == 'small':\n"
    "        small = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
    "        small.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"
    "        return small\n"
    "    large = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1, activation='sigmoid')])\n"
    "    large.compile(optimizer='adam', loss='binary_crossentropy', metrics=[LAST])\n"
    "    return large\n"
    "model = build('small')\n"
)

MissingLogKey.valid = (
    # a Keras model class with trackers of its own (keras's Distiller logs `total_loss`, `student_loss`)
    Example("import keras\nfrom keras.src.distillation.distiller import Distiller\n"
            "distiller = Distiller(teacher=teacher, student=student)\n"
            "distiller.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
            "history = distiller.fit(x, y, epochs=2)\nprint(history.history['total_loss'])\n"),
    # one of two models that log different keys (`acc`, `accuracy`): which one trains is not known
    Example(_BRANCHES.replace("LAST", "'acc'") + "model.fit(x, y, validation_split=0.1, callbacks=[keras.callbacks.EarlyStopping(monitor='val_acc')])\n"),
    # one of two models, compiled again here: which one the new compile changes is not known
    Example(_BRANCHES.replace("LAST", "'accuracy'") + "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['acc'])\n"
            "model.fit(x, y, validation_split=0.1, callbacks=[keras.callbacks.EarlyStopping(monitor='val_acc')])\n"),
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
    # file names the rule cannot read: a name assigned twice, a template filled by `.format`
    Example(_HEAD + "path = 'a-{val_acc:.2f}.keras'\nif fast:\n    path = 'b.keras'\n"
            "model.fit(x, y, validation_split=0.1, callbacks=[keras.callbacks.ModelCheckpoint(path)])\n"),
    Example(_HEAD + "path = 'run-{}-{{epoch:02d}}.keras'.format(run)\n"
            "model.fit(x, y, callbacks=[keras.callbacks.ModelCheckpoint(path)])\n"),
    # reads the program guards itself
    Example(_HEAD + "h = model.fit(x, y)\nif 'acc' in h.history:\n    print(h.history['acc'])\n"
            "acc = h.history['acc'] if 'acc' in h.history else h.history['accuracy']\n"),
    Example(_HEAD + "h = model.fit(x, y)\ntry:\n    acc = h.history['acc']\nexcept KeyError:\n    acc = h.history['accuracy']\n"),
    # several outputs: each output's keys, named as the flavour names them
    Example(_TWO + "es = keras.callbacks.EarlyStopping(monitor='val_cls_accuracy', mode='max')\n"
            "h = model.fit(x, ys, validation_split=0.2, callbacks=[es])\nprint(h.history['reg_loss'])\n"),
    Example(_TWO.replace("import keras", "import tf_keras as keras") + "es = keras.callbacks.EarlyStopping(monitor='val_cls_layer_accuracy')\n"
            "h = model.fit(x, ys, validation_split=0.2, callbacks=[es])\nprint(h.history['reg_layer_loss'])\n", flavour="2"),
    # outputs made by layers without `name=`: their automatic names cannot be known
    Example(_TWO.replace(", name='cls_layer'", "").replace("{'cls': a, 'reg': b}", "[a, b]")
            .replace("{'cls': 'binary_crossentropy', 'reg': 'mse'}", "['binary_crossentropy', 'mse']")
            .replace("{'cls': ['accuracy']}", "[['accuracy'], []]") + "h = model.fit(x, ys)\nprint(h.history['dense_accuracy'])\n"),
    # code written for both spellings: each read only when the other key is missing
    Example(_HEAD + "h = model.fit(x, y, validation_split=0.2)\n"
            "acc = h.history.get('acc') or h.history['accuracy']\n"
            "val = h.history.get('val_acc', None) or h.history.get('val_accuracy')\n"),
)

MissingLogKey.invalid = (
    # a helper returns one of two models; both log `val_accuracy`
    Example(
        _BRANCHES.replace("LAST", "'accuracy'") + "model.fit(x, y, validation_split=0.1, callbacks=[keras.callbacks.EarlyStopping(monitor='val_acc')])\n",
        fixed=_BRANCHES.replace("LAST", "'accuracy'") + "model.fit(x, y, validation_split=0.1, callbacks=[keras.callbacks.EarlyStopping(monitor='val_accuracy')])\n",
        safety="safe",
    ),
    # a dict output's keys: tf_keras's name (the layer's) on Keras 3, and the reverse
    Example(
        _TWO + "es = keras.callbacks.EarlyStopping(monitor='val_cls_layer_accuracy', mode='max')\n"
        "model.fit(x, ys, validation_split=0.2, callbacks=[es])\n",
        fixed=_TWO + "es = keras.callbacks.EarlyStopping(monitor='val_cls_accuracy', mode='max')\n"
        "model.fit(x, ys, validation_split=0.2, callbacks=[es])\n",
        safety="safe",
    ),
    Example(
        _TWO.replace("import keras", "import tf_keras as keras") + "h = model.fit(x, ys, validation_split=0.2)\nprint(h.history['val_cls_acc'])\n",
        fixed=_TWO.replace("import keras", "import tf_keras as keras") + "h = model.fit(x, ys, validation_split=0.2)\nprint(h.history['val_cls_layer_accuracy'])\n",
        safety="safe",
        flavour="2",
    ),
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
    # the file name template in a variable, with the monitor: every place the run reads the key
    Example(
        _HEAD + "filepath = 'w-{epoch:02d}-{val_acc:.2f}.hdf5'\n"
        "cb = keras.callbacks.ModelCheckpoint(filepath, monitor='val_acc', save_best_only=True)\n"
        "model.fit(x, y, validation_split=0.1, callbacks=[cb])\n",
        fixed=_HEAD + "filepath = 'w-{epoch:02d}-{val_accuracy:.2f}.hdf5'\n"
        "cb = keras.callbacks.ModelCheckpoint(filepath, monitor='val_accuracy', save_best_only=True)\n"
        "model.fit(x, y, validation_split=0.1, callbacks=[cb])\n",
        count=2,
        safety="safe",
    ),
    # an f-string whose literal text is the template, and a joined path
    Example(
        _HEAD + "cb = keras.callbacks.ModelCheckpoint(f'{out_dir}/w-{{epoch:02d}}-{{val_acc:.2f}}.keras')\n"
        "model.fit(x, y, validation_split=0.1, callbacks=[cb])\n",
        fixed=_HEAD + "cb = keras.callbacks.ModelCheckpoint(f'{out_dir}/w-{{epoch:02d}}-{{val_accuracy:.2f}}.keras')\n"
        "model.fit(x, y, validation_split=0.1, callbacks=[cb])\n",
        safety="safe",
    ),
    Example(
        "import os\n" + _HEAD + "name = os.path.join(out_dir, 'model-{epoch:03d}-{acc:.3f}.keras')\n"
        "model.fit(x, y, callbacks=[keras.callbacks.ModelCheckpoint(name)])\n",
        fixed="import os\n" + _HEAD + "name = os.path.join(out_dir, 'model-{epoch:03d}-{accuracy:.3f}.keras')\n"
        "model.fit(x, y, callbacks=[keras.callbacks.ModelCheckpoint(name)])\n",
        safety="safe",
    ),
)

_TUNER = (
    "import keras\nimport keras_tuner as kt\n"
    "def build(hp):\n"
    "    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int('units', 2, 8)), keras.layers.Dense(1, activation='sigmoid')])\n"
    "    model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy', keras.metrics.AUC()])\n"
    "    return model\n"
)

_F1_TUNER = _TUNER.replace("keras.metrics.AUC()", "f1").replace(
    "def build", "def f1(y_true, y_pred):\n    return keras.ops.mean(y_pred)\ndef build")

MissingLogKey.valid += (
    # objectives naming keys the build function's model logs (the build's only AUC logs `auc`)
    Example(_TUNER + "tuner = kt.RandomSearch(build, objective='val_accuracy', max_trials=2)\n"
            "tuner.search(x, y, epochs=1, validation_split=0.2)\n"),
    Example(_TUNER + "tuner = kt.Hyperband(build, [kt.Objective('val_auc', 'max'), 'val_loss'], max_epochs=2)\n"
            "tuner.search(x, y, validation_data=(xv, yv))\n"),
    # a HyperModel subclass the rule cannot see into
    Example("import keras_tuner as kt\nfrom mylib import MyHyperModel\n"
            "tuner = kt.RandomSearch(MyHyperModel(), objective=kt.Objective('val_f1', direction='max'))\n"
            "tuner.search(x, y, validation_data=(xv, yv))\n"),
    # validation data that may come through `**options`: unsure, silent
    Example(_TUNER + "tuner = kt.RandomSearch(build, objective=kt.Objective('val_auc', direction='max'))\n"
            "tuner.search(x, y, **options)\n"),
    # an AUC made outside the build function, or two unnamed ones in it: `auc_1` may be logged
    Example(_TUNER.replace("keras.metrics.AUC()", "SHARED_AUC") + "SHARED_AUC = keras.metrics.AUC()\n"
            "tuner = kt.RandomSearch(build, objective=kt.Objective('val_auc_1', 'max'))\n"
            "tuner.search(x, y, validation_split=0.2)\n"),
    Example(_TUNER.replace("keras.metrics.AUC()", "keras.metrics.AUC(), keras.metrics.AUC(curve='PR')")
            + "tuner = kt.RandomSearch(build, objective=kt.Objective('val_auc_1', 'max'))\n"
            "tuner.search(x, y, validation_split=0.2)\n"),
    # keras-tuner imports Keras 3: its objectives are proven there only
    Example(_TUNER.replace("import keras\n", "import tf_keras as keras\n")
            + "tuner = kt.RandomSearch(build, objective='val_acc')\ntuner.search(x, y, validation_split=0.2)\n", flavour="2"),
)

MissingLogKey.invalid += (
    Example(
        _TUNER + "tuner = kt.RandomSearch(build, objective='val_acc', max_trials=2)\ntuner.search(x, y, validation_split=0.2)\n",
        fixed=_TUNER + "tuner = kt.RandomSearch(build, objective='val_accuracy', max_trials=2)\ntuner.search(x, y, validation_split=0.2)\n",
        safety="safe",
    ),
    # the tuner clears the session before each build: `auc`, never `auc_1`; and a plain `val_auc_1`
    # has no direction Keras Tuner can infer (ValueError at construction)
    Example(
        _TUNER + "tuner = kt.BayesianOptimization(build, 'val_auc_1')\ntuner.search(x, y, validation_data=(xv, yv))\n",
        fixed=_TUNER + "tuner = kt.BayesianOptimization(build, 'val_auc')\ntuner.search(x, y, validation_data=(xv, yv))\n",
        safety="safe",
    ),
    Example(
        _TUNER + "tuner = kt.GridSearch(build, objective=[kt.Objective(name='val_acc', direction='max')])\n"
        "tuner.search(x, y, validation_split=0.1)\n",
        fixed=_TUNER + "tuner = kt.GridSearch(build, objective=[kt.Objective(name='val_accuracy', direction='max')])\n"
        "tuner.search(x, y, validation_split=0.1)\n",
        safety="safe",
    ),
    # a custom metric's key as a plain string: ValueError at construction; its direction is unknown: report
    Example(
        _F1_TUNER + "tuner = kt.RandomSearch(build, objective='val_f1')\n"
        "tuner.search(x, y, validation_split=0.2)\n",
        fixed=_F1_TUNER + "tuner = kt.RandomSearch(build, objective='val_f1')\n"
        "tuner.search(x, y, validation_split=0.2)\n",
        safety="none",
    ),
    # a known direction the name does not give Keras Tuner: the objective is spelt out
    Example(
        _TUNER.replace("keras.metrics.AUC()", "keras.metrics.AUC(name='prc', curve='PR')")
        + "tuner = kt.RandomSearch(build, objective='val_prc')\ntuner.search(x, y, validation_split=0.2)\n",
        fixed=_TUNER.replace("keras.metrics.AUC()", "keras.metrics.AUC(name='prc', curve='PR')")
        + "tuner = kt.RandomSearch(build, objective=kt.Objective('val_prc', direction='max'))\ntuner.search(x, y, validation_split=0.2)\n",
        safety="safe",
    ),
    # `val_` without validation data in `search`: report
    Example(
        _TUNER + "tuner = kt.Hyperband(build, objective='val_accuracy')\ntuner.search(x, y, epochs=2)\n",
        fixed=_TUNER + "tuner = kt.Hyperband(build, objective='val_accuracy')\ntuner.search(x, y, epochs=2)\n",
        safety="none",
    ),
)
