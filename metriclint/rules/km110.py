"""KM110: a metric string in `compile(metrics=...)` that the flavour does not know (typos, `"auc"` on tf_keras)."""

from __future__ import annotations

import difflib
from typing import Iterator, Optional, Tuple

import libcst as cst

from ..diagnostics import Safety
from ..facts.arguments import Bound
from ..facts.containers import metric_elements
from ..facts.values import ExternalElement
from ..facts.entries import COMPILE_ANY_METRICS, COMPILE_CALLS
from ..facts.values import Dotted
from ..keras import symbols
from ..keras.metric_strings import (
    CASE_INSENSITIVE,
    METRIC_STRINGS,
    NEEDS_ARGUMENTS,
    NOT_LABEL_METRICS,
    MetricString,
    accepted,
    lookup,
)
from ..keras.metrics import METRICS
from ..keras.symbols import MODEL
from ..locate import Locator
from .base import Example, Finding, FixPlan, Rule, RuleContext
from .common import edit_distance, insert_line_after, keras_module_reference

_FLAVOUR = {"3": "Keras 3", "2": "tf_keras"}
# What an unknown string raises, measured by tests/runtime/test_metric_strings.py (first `fit` step).
_ERROR_NAME = {"3": "ValueError", "2": "TypeError"}
_ERROR = {
    "3": "ValueError: Could not interpret metric identifier",
    "2": "TypeError: 'str' object is not callable",
}
# Names that register custom objects: tf_keras then finds strings Keras itself does not know.
_CUSTOM_OBJECT_APIS = ("get_custom_objects", "custom_object_scope", "CustomObjectScope", "register_keras_serializable")
# A model class overriding these may never build the compiled metrics (or reads `metrics=` itself).
_TRAIN_OVERRIDES = ("train_step", "test_step", "compute_metrics", "compile")
_KNOWN_NAMES = tuple(sorted(set(METRIC_STRINGS) | NEEDS_ARGUMENTS | NOT_LABEL_METRICS))


class UnknownMetricString(Rule):
    code = "KM110"
    name = "unknown-metric-string"
    summary = "A `compile(metrics=...)` string the Keras flavour does not know: a typo, or `\"auc\"` on tf_keras"
    fix_safety = Safety.SAFE
    needs = (COMPILE_ANY_METRICS,)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        custom = _registers_custom_objects(ctx)
        for site in COMPILE_CALLS.sites(ctx.facts):
            func = site.node.func
            if not isinstance(func, cst.Attribute):
                continue
            model = ctx.resolver.instance(func.value, site.scope, MODEL)
            if model is None:
                continue
            if model.local_class is not None and any(
                ctx.resolver.class_defines(model.local_class, m) for m in _TRAIN_OVERRIDES
            ):
                continue
            for entry in COMPILE_ANY_METRICS.options:
                given = entry.bind(ctx.resolver, site.node, site.scope, ctx.flavour)
                if not isinstance(given, Bound):
                    continue
                for literal, _ in metric_elements(ctx.resolver, given.value, given.scope) or ():
                    if isinstance(literal, ExternalElement):
                        finding = self._elsewhere(ctx, literal, custom)
                    elif isinstance(literal, cst.SimpleString):
                        finding = self._finding(ctx, literal, custom)
                    else:
                        continue
                    if finding is not None:
                        yield finding

    def _elsewhere(self, ctx: RuleContext, element: ExternalElement, custom: bool) -> Optional[Finding]:
        """A string in another module's metrics list: judged as here, reported where the list is
        used (no fix: the string is in that module)."""
        text = getattr(element.spec, "string", None)
        if not isinstance(text, str) or (custom and ctx.flavour == "2"):
            return None
        entry = lookup(text)
        if entry is not None and entry.key(ctx.flavour) is not None:
            return None
        meant = _intended(text) if entry is None else None
        hint = f"; did you mean `\"{meant}\"`?" if meant is not None else _suggestions(text, ctx.flavour)
        return Finding(element.anchor, f"`\"{text}\"` is not a metric string {_FLAVOUR[ctx.flavour]} knows "
                       f"({_ERROR_NAME[ctx.flavour]}). It is in `{element.module}`'s metrics: "
                       f"{_ERROR[ctx.flavour]} when `fit` starts{hint}")

    def _finding(self, ctx: RuleContext, literal: cst.SimpleString, custom: bool) -> Optional[Finding]:
        text = literal.evaluated_value
        if not isinstance(text, str):
            return None
        flavour = ctx.flavour
        entry = lookup(text)
        if entry is not None and entry.key(flavour) is not None:
            return None
        if custom and flavour == "2":
            return None  # tf_keras also looks strings up among registered custom objects
        shown = f'`"{text}"`'
        if entry is not None:
            return self._other_flavour(ctx, literal, text, entry, shown)
        info = METRICS.get(text)
        if info is not None and info.default_name(flavour) is None:
            return Finding(literal, f"{shown} is a metric class {_FLAVOUR[flavour]} does not have "
                           f"({_ERROR_NAME[flavour]}). As a string it fails on both flavours ({_ERROR[flavour]} here)")
        if text in NEEDS_ARGUMENTS:
            return Finding(literal, f"{shown} names a metric class that needs constructor arguments. As a string it "
                           "fails on both flavours when `fit` starts; pass an instance with its arguments")
        if text in NOT_LABEL_METRICS:
            return Finding(literal, f"{shown} names a metric that does not compare labels with predictions. "
                           "It is generic: as a compile string it fails on both flavours when `fit` starts; use a metric that takes "
                           "`(y_true, y_pred)`")
        return self._unknown(ctx, literal, text, shown, custom)

    def _other_flavour(self, ctx: RuleContext, literal: cst.SimpleString, text: str, entry: MetricString,
                       shown: str) -> Finding:
        flavour = ctx.flavour
        other = "2" if flavour == "3" else "3"
        message = (f"{shown} is a {_FLAVOUR[other]} metric string unknown to {_FLAVOUR[flavour]} "
                   f"({_ERROR_NAME[flavour]}). {_ERROR[flavour]} when `fit` starts")
        replacement = _class_replacement(ctx, literal, text, entry)
        if replacement is None:
            return Finding(literal, message + _suggestions(text, flavour))
        code, build = replacement
        return Finding(literal, f"{message}; use `{code}` (same metric, same log key)",
                       FixPlan(Safety.SAFE, f"Use `{code}`", build))

    def _unknown(self, ctx: RuleContext, literal: cst.SimpleString, text: str, shown: str,
                 custom: bool) -> Finding:
        flavour = ctx.flavour
        message = (f"{shown} is not a metric string {_FLAVOUR[flavour]} knows ({_ERROR_NAME[flavour]}). "
                   f"{_ERROR[flavour]} when `fit` starts")
        if custom:  # flavour 3 here
            message += "; Keras 3 does not look metric strings up among custom objects: pass the function itself"
            return Finding(literal, message + _suggestions(text, flavour))
        meant = _intended(text)
        if meant is None:
            return Finding(literal, message + _suggestions(text, flavour))
        entry = lookup(meant)
        if entry is None:  # a class that needs arguments or takes no labels
            return Finding(literal, f"{message}; did you mean `\"{meant}\"` (a class that needs arguments)?")
        if entry.key(flavour) is not None:
            new = _requote(literal, meant)
            return Finding(literal, f"{message}; did you mean `\"{meant}\"`?", FixPlan(
                Safety.UNSAFE, f"Use `\"{meant}\"`", lambda loc: [loc.replace(literal, new)]))
        replacement = _class_replacement(ctx, literal, meant, entry)
        if replacement is None:
            return Finding(literal, message + _suggestions(text, flavour))
        code, build = replacement
        return Finding(literal, f"{message}; did you mean `\"{meant}\"`, which is `{code}` here?",
                       FixPlan(Safety.UNSAFE, f"Use `{code}`", build))


# --- what the literal stands for ------------------------------------------------------------------
def _registers_custom_objects(ctx: RuleContext) -> bool:
    facts = ctx.facts
    return any(
        name in facts.calls_by_method or name in facts.attributes or name in facts.root.bindings
        for name in _CUSTOM_OBJECT_APIS
    )


def _intended(text: str) -> Optional[str]:
    """The one known name a misspelling clearly stands for: the unique nearest at distance 1 (names of
    6-7 characters) or 2 (8 and more). Short names are left alone: `rmse` is one edit from `mse`."""
    if len(text) < 6:
        return None
    limit = 1 if len(text) < 8 else 2
    scored = sorted((edit_distance(text, name), name) for name in _KNOWN_NAMES)
    best = [name for d, name in scored if d == scored[0][0]]
    if scored[0][0] > limit or len(best) != 1:
        return None
    return best[0]


def _suggestions(text: str, flavour: str) -> str:
    """Up to three accepted strings that look like `text` (lower-case spellings preferred)."""
    by_lower = {}
    for name in sorted(accepted(flavour), key=lambda n: (n != n.lower(), n)):
        by_lower.setdefault(name.lower(), name)
    low = text.lower()
    close = [n for n in sorted(by_lower) if len(low) >= 2 and n.startswith(low)][:3]
    close += [n for n in difflib.get_close_matches(low, list(by_lower), n=3, cutoff=0.6) if n not in close]
    if not close:
        return "; see `keras.metrics` for the names"
    return "; close names: " + ", ".join(f'`"{by_lower[c]}"`' for c in close[:3])


def _requote(literal: cst.SimpleString, value: str) -> str:
    quote = literal.quote
    return f"{literal.prefix}{quote}{value}{quote}"


# --- the class that does what the string does elsewhere ---------------------------------------------
def _class_replacement(ctx: RuleContext, literal: cst.SimpleString, text: str, entry: MetricString):
    """(code, edit builder) for `<keras>.metrics.<Class>(name="<key>")`, the metric `text` gives on the
    other flavour under the same log key; None when no single class is meant or it cannot be named."""
    if text.lower() in CASE_INSENSITIVE:
        return None  # tf_keras's "crossentropy"/"ce" pick binary/categorical/sparse from the labels
    flavour = ctx.flavour
    other = "2" if flavour == "3" else "3"
    key = entry.key(other)
    cls = entry.metric_class
    info = METRICS.get(cls)
    if key is None or info is None or info.default_name(flavour) is None or cls in NEEDS_ARGUMENTS:
        return None
    quote = literal.quote if literal.quote in ("'", '"') else '"'
    arguments = f"(name={quote}{key}{quote})"
    reference = _module_reference(ctx)
    if reference is not None:
        code = f"{reference}.metrics.{cls}{arguments}"
        return code, lambda loc: [loc.replace(literal, code)]
    imported = _metrics_import(ctx, cls)
    if imported is None:
        return None
    statement, line = imported
    code = f"{cls}{arguments}"

    def build(loc: Locator):
        edits = [loc.replace(literal, code)]
        if statement is not None:
            edits.append(insert_line_after(loc, statement, line))
        return edits

    return code, build


def _module_reference(ctx: RuleContext) -> Optional[str]:
    """The file's name for the Keras package; in a `tf_keras` file, its `tf_keras` name (a `keras` 3
    class would not work in a tf_keras model)."""
    if ctx.facts.implied_flavour != "2":
        return keras_module_reference(ctx)
    names = []
    for name in ctx.facts.root.bindings:
        value = ctx.resolver.resolve_name(name, ctx.facts.root)
        if isinstance(value, Dotted) and symbols.split_keras(value.path) == ("", "2"):
            names.append(name)
    return min(names, key=len) if names else None


def _metrics_import(ctx: RuleContext, cls: str) -> Optional[Tuple[Optional[cst.SimpleStatementLine], str]]:
    """Where to import `cls` from when the file names Keras only through `from ... import` lines:
    (the import statement to add a line after, or None when `cls` is already imported; the line)."""
    root_bindings = ctx.facts.root.bindings
    existing = root_bindings.get(cls) or []
    if existing:
        same = all(b.how == "import" and b.dotted and (symbols.split_keras(b.dotted) or ("",))[0] == f"metrics.{cls}"
                   for b in existing)
        return (None, "") if same else None  # already imported, or the name means something else
    for bindings in root_bindings.values():
        for binding in bindings:
            if binding.how != "import" or not binding.dotted or binding.node is None:
                continue
            root = _keras_root(binding.dotted)
            if root is None:
                continue
            statement = ctx.facts.import_statement.get(binding.node)
            if statement is None:
                continue
            return statement, f"from {root}.metrics import {cls}"
    return None


def _keras_root(dotted: str) -> Optional[str]:
    for root, _ in symbols.KERAS_ROOTS:
        if dotted == root or dotted.startswith(root + "."):
            return root
    return None


# --- examples (run by tests/test_rule_examples.py) ---------------------------------------------
_SEQ = "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"


def _compile(metrics: str) -> str:
    return f"model.compile(optimizer='adam', loss='binary_crossentropy', metrics={metrics})\n"


UnknownMetricString.valid = (
    Example("import keras\n" + _SEQ + _compile("['accuracy', 'auc', 'precision', 'AUC']")),
    Example("import keras\n" + _SEQ + _compile("['ACC', 'Accuracy', 'mse', 'binary_io_u']")),
    # tf_keras: class-name strings and crossentropy in any case
    Example("import tf_keras as keras\n" + _SEQ + _compile("['acc', 'AUC', 'Precision', 'CE', 'logcosh']"), flavour="2"),
    # tf_keras finds registered custom objects by name
    Example(
        "from tensorflow import keras\nkeras.utils.get_custom_objects()['f1'] = f1\n" + _SEQ + _compile("['f1']"),
        flavour="2",
    ),
    # not a Keras model: another library's compile
    Example("import keras\nimport torchmetrics\nt = Trainer()\nt.compile(metrics=['accuarcy'])\n"),
    Example("import keras\ndef setup(model):\n    model.compile(loss='mse', metrics=['accuarcy'])\n"),
    # a model with its own train_step may never build the compiled metrics
    Example(
        "import keras\nclass GAN(keras.Model):\n    def train_step(self, data):\n        return {}\n"
        "gan = GAN()\ngan.compile(optimizer='adam', metrics=['d_loss'])\n"
    ),
    # functions and instances are not strings
    Example("import keras\n" + _SEQ + _compile("[f1_m, keras.metrics.AUC()]")),
    Example("import keras\n" + _SEQ + "# model.compile(metrics=['accuarcy'])\ns = \"metrics=['accuarcy']\"\n"),
)

UnknownMetricString.invalid = (
    # a typo: one close name (unsafe: the intent is read off the spelling)
    Example(
        "import keras\n" + _SEQ + _compile("['accuarcy']"),
        fixed="import keras\n" + _SEQ + _compile("['accuracy']"),
        safety="unsafe",
    ),
    Example(
        "import keras\nimport tf_keras\nmodel = tf_keras.Sequential()\nmodel.compile(loss='bce', metrics=['recall'])\n",
        fixed="import keras\nimport tf_keras\nmodel = tf_keras.Sequential()\n"
        "model.compile(loss='bce', metrics=[tf_keras.metrics.Recall(name='recall')])\n",
        flavour="2",
        safety="safe",
    ),
    Example(
        "import tf_keras as keras\n" + _SEQ + _compile('["binary_acuracy"]'),
        fixed="import tf_keras as keras\n" + _SEQ + _compile('["binary_accuracy"]'),
        flavour="2",
        safety="unsafe",
    ),
    # "auc" on tf_keras: the class under the same key (safe)
    Example(
        "from tensorflow import keras\n" + _SEQ + _compile('["accuracy", "auc"]'),
        fixed="from tensorflow import keras\n" + _SEQ + _compile('["accuracy", keras.metrics.AUC(name="auc")]'),
        flavour="2",
        safety="safe",
    ),
    Example(
        "import tensorflow as tf\nmodel = tf.keras.Sequential()\nmodel.compile(loss='mse', metrics=['mae', 'root_mean_squared_error'])\n",
        fixed="import tensorflow as tf\nmodel = tf.keras.Sequential()\n"
        "model.compile(loss='mse', metrics=['mae', tf.keras.metrics.RootMeanSquaredError(name='root_mean_squared_error')])\n",
        flavour="2",
        safety="safe",
    ),
    # a tf_keras string on Keras 3
    Example(
        "import keras\n" + _SEQ + _compile("['logcosh']"),
        fixed="import keras\n" + _SEQ + _compile("[keras.metrics.LogCoshError(name='logcosh')]"),
        safety="safe",
    ),
    # only from-imports: the class is imported next to them
    Example(
        "from tensorflow.keras.models import Sequential\nmodel = Sequential()\n"
        "model.compile(loss='binary_crossentropy', metrics=['precision', 'recall'])\n",
        fixed="from tensorflow.keras.models import Sequential\nfrom tensorflow.keras.metrics import Recall\n"
        "from tensorflow.keras.metrics import Precision\nmodel = Sequential()\n"
        "model.compile(loss='binary_crossentropy', metrics=[Precision(name='precision'), Recall(name='recall')])\n",
        flavour="2",
        count=2,
        safety="safe",
    ),
    # report only: no single name is meant, a class needing arguments, crossentropy on Keras 3
    Example(
        "import keras\n" + _SEQ + _compile("['f1']"),
        fixed="import keras\n" + _SEQ + _compile("['f1']"),
        safety="none",
    ),
    Example(
        "import keras\n" + _SEQ + _compile("['rmse']"),
        fixed="import keras\n" + _SEQ + _compile("['rmse']"),
        safety="none",
    ),
    Example(
        "from keras import Model\nmodel = Model(i, o)\nmodel.compile(loss='mse', metrics=['mean_io_u'])\n",
        safety="none",
    ),
    Example(
        "from keras import Model\nmodel = Model(i, o)\nmodel.compile(loss='mse', metrics=['Mean'])\n",
        safety="none",
    ),
    Example(
        "import keras\n" + _SEQ + _compile("['crossentropy']"),
        fixed="import keras\n" + _SEQ + _compile("['crossentropy']"),
        safety="none",
    ),
    # per-output dicts, nested lists, weighted metrics, a list in a variable
    Example(
        "import keras\nmodel = keras.Model(inp, [a, b])\n"
        "model.compile(loss=['bce', 'mse'], metrics={'a': ['accuracy', 'aucc'], 'b': [['maee']]})\n",
        count=2,
        safety="none",
    ),
    Example(
        "import keras\n" + _SEQ + "model.compile(loss='bce', weighted_metrics=['acuracy'])\n",
        fixed="import keras\n" + _SEQ + "model.compile(loss='bce', weighted_metrics=['accuracy'])\n",
        safety="unsafe",
    ),
    Example(
        "import keras\n" + _SEQ + "metrics = ['accuracy', 'precission']\nmodel.compile(loss='bce', metrics=metrics)\n",
        fixed="import keras\n" + _SEQ + "metrics = ['accuracy', 'precision']\nmodel.compile(loss='bce', metrics=metrics)\n",
        safety="unsafe",
    ),
    # Keras 3 never looks metric strings up among custom objects
    Example(
        "import keras\nkeras.utils.get_custom_objects()['f1_metric'] = f1\n" + _SEQ + _compile("['f1_metric']"),
        fixed="import keras\nkeras.utils.get_custom_objects()['f1_metric'] = f1\n" + _SEQ + _compile("['f1_metric']"),
        safety="none",
    ),
)
