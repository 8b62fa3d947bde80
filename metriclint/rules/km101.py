"""KM101: a keyword argument the Keras model method does not take (or a removed `*_generator` method)."""

from __future__ import annotations

import difflib
from typing import FrozenSet, Iterator, List, Optional

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import CallSite, find_keyword
from ..facts.containers import metric_elements
from ..facts.entries import Calls
from ..facts.values import Instance
from ..keras import signatures, symbols
from ..keras.symbols import MODEL
from ..locate import Locator
from .base import Finding, FixPlan, Rule, RuleContext
from .common import add_keyword, append_items, list_items, name_argument, remove_arg, remove_args

_ALL_METHODS = sorted({m for table in signatures.MODEL_METHOD_KEYWORDS.values() for m in table})
MODEL_METHOD_CALLS = Calls(tuple(_ALL_METHODS))
_FLAVOUR_NAMES = {"3": "Keras 3", "2": "tf_keras (Keras 2)"}


class UnknownModelKeyword(Rule):
    code = "KM101"
    name = "unknown-model-keyword"
    summary = "Keyword argument that Keras `fit`/`evaluate`/`predict`/`compile` does not take, or a removed `*_generator` method"
    fix_safety = Safety.SAFE
    needs = (MODEL_METHOD_CALLS,)
    rewrites = {
        "nb_epoch": "`nb_epoch=` -> `epochs=`",
        "nb_val_samples": "`nb_val_samples=` -> `validation_steps=` (unsafe)",
        "samples_per_epoch": "`samples_per_epoch=` -> `steps_per_epoch=` (unsafe)",
        "experimental_steps_per_execution": "`experimental_steps_per_execution=` -> `steps_per_execution=`",
        "validation_metrics": "`validation_metrics=` removed (`compile` has its metrics)",
        "validation_metrics_to_compile": "`validation_metrics=` removed, its missing metrics added to `compile` (unsafe)",
        "dropped_data_option": "Keras 3: `workers=`/`use_multiprocessing=`/`max_queue_size=` removed",
        "fit_generator": "Keras 3: `fit_generator(...)` -> `fit(...)`, arguments after the data as keywords",
        "evaluate_generator": "Keras 3: `evaluate_generator(...)` -> `evaluate(...)`",
        "predict_generator": "Keras 3: `predict_generator(...)` -> `predict(...)` (unsafe: bare-batch generators)",
        "compile_positional_metrics": "Keras 3: compile's third positional argument named (`metrics=`, `loss_weights=`)",
    }

    @classmethod
    def could_fire(cls, summary) -> bool:
        """Only when some model-method call passes a keyword the flavour does not take (or a None-only
        one), or calls a removed method: the tables `check` reads."""
        if not super().could_fire(summary):
            return False
        table = signatures.MODEL_METHOD_KEYWORDS[summary.flavour]
        if summary.flavour == "3" and not summary.called.isdisjoint(signatures.REMOVED_GENERATOR_METHODS):
            return True
        if summary.flavour == "3" and summary.positional.get("compile", 0) >= 3:
            return True  # the Keras 2 positional order of compile
        for method, keyword in summary.method_keywords:
            valid = table.get(method)
            if valid is not None and (keyword not in valid or (method, keyword) in signatures.KERAS2_NONE_ONLY):
                return True
        return False

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for site in MODEL_METHOD_CALLS.sites(ctx.facts):
            func = site.node.func
            if not isinstance(func, cst.Attribute):
                continue  # a plain function named `fit`
            method = func.attr.value
            model = ctx.resolver.instance(func.value, site.scope, MODEL)
            if model is None or model.by_use:
                continue  # not a model, or one whose class (and so its signatures) is unknown
            if model.local_class is not None and ctx.resolver.class_defines(model.local_class, method):
                continue  # the user's own override has its own signature
            table = signatures.MODEL_METHOD_KEYWORDS[ctx.flavour]
            if method not in table:
                if method in signatures.REMOVED_GENERATOR_METHODS and ctx.flavour == "3":
                    yield self._removed_generator(site, method)
                continue
            if method == "compile" and ctx.flavour == "3":
                finding = self._keras2_positional_order(ctx, site)
                if finding is not None:
                    yield finding
            yield from self._keywords(ctx, site, model, method, table[method])

    def _keras2_positional_order(self, ctx: RuleContext, site: CallSite) -> Optional[Finding]:
        """`compile("adam", "mse", ["mae"])`: tf_keras binds the third positional argument to
        `metrics`, Keras 3 to `loss_weights`. When that argument is a list of metrics the code was
        written for the Keras 2 order; naming the arguments keeps them where they were meant."""
        positional = [a for a in site.node.args if a.keyword is None]
        if any(a.star for a in positional) or len(positional) < 3:
            return None
        third = metric_elements(ctx.resolver, positional[2].value, site.scope)
        if not third or not all(_metric_like(ctx, node, scope) for node, scope in third):
            return None
        keras2 = signatures.MODEL_METHOD_PARAMETERS["2"]["compile"]
        named = [(arg, keras2[index]) for index, arg in enumerate(positional) if index >= 2]
        if len(named) > len(keras2) - 2:
            return None
        args = ", ".join(f"`{name}=`" for _, name in named)
        return Finding(
            positional[2].value,
            "`compile()` takes `loss_weights` third on Keras 3, not `metrics` (ValueError). tf_keras takes "
            "`metrics` third; on Keras 3 these metrics become loss weights, and `fit` fails on its first step "
            "(ValueError: dtype='string' is not a valid dtype)",
            FixPlan(Safety.SAFE, f"Pass them by name: {args}",
                    lambda loc: [name_argument(loc, arg, name) for arg, name in named]),
        )

    # --- removed *_generator methods (Keras 3) ------------------------------------------------
    def _removed_generator(self, site: CallSite, method: str) -> Finding:
        call = site.node
        replacement = signatures.REMOVED_GENERATOR_METHODS[method]
        func = call.func
        assert isinstance(func, cst.Attribute)

        def build(loc: Locator) -> List[Edit]:
            return _generator_call_to(loc, call, method, replacement)

        dropped = _dropped_data_options(call, method)
        removed = (f" and remove {', '.join(f'`{name}=`' for name in dropped)} (Keras 3 reads data through "
                   "`keras.utils.PyDataset`, whose `workers`/`use_multiprocessing`/`max_queue_size` replace them)"
                   if dropped else "")
        quiet = " with `verbose=0` (its default; Keras 3's is a progress bar)" if _keeps_quiet(call, method) else ""
        # Keras 2's `predict_generator` took generators of bare input batches; Keras 3's `predict`
        # wants tuples (ValueError: ... the generator must return a tuple): a human must look
        safety = Safety.UNSAFE if method == "predict_generator" else Safety.SAFE
        caveat = ("; `predict()` wants the generator to yield tuples `(x,)`, where `predict_generator` also "
                  "took bare batches" if method == "predict_generator" else "")
        return Finding(
            node=func.attr,
            message=(
                f"`Model.{method}()` was removed in Keras 3 (AttributeError). "
                f"`{replacement}()` takes generators and datasets directly{caveat}"
            ),
            fix=FixPlan(safety, f"Replace `{method}` with `{replacement}`{removed}{quiet}", build),
        )

    # --- keywords ----------------------------------------------------------------------------
    def _keywords(
        self, ctx: RuleContext, site: CallSite, model: Instance, method: str, valid: FrozenSet[str]
    ) -> Iterator[Finding]:
        call = site.node
        error = "ValueError" if (ctx.flavour, method) in signatures.VALUE_ERROR_METHODS else "TypeError"
        for arg in call.args:
            if arg.keyword is None:
                continue
            keyword = arg.keyword.value
            none_only = (signatures.KERAS2_NONE_ONLY.get((method, keyword))
                         if ctx.flavour == "2" and not _graph_mode_engine(ctx) else None)
            if none_only is not None and not (isinstance(arg.value, cst.Name) and arg.value.value == "None"):
                yield Finding(arg.keyword, f"`Model.{method}()` rejects `{keyword}=` on TensorFlow 2. {none_only}; remove it")
                continue
            if keyword in valid:
                continue
            other = "2" if ctx.flavour == "3" else "3"
            here = f" on {_FLAVOUR_NAMES[ctx.flavour]}" if keyword in signatures.MODEL_METHOD_KEYWORDS[other].get(method, ()) else ""
            prefix = f"`Model.{method}()` does not take `{keyword}=`{here} ({error})"
            migration = signatures.KEYWORD_MIGRATIONS.get(keyword)
            if ctx.flavour == "3" and keyword in signatures.KERAS3_DROPPED_DATA_OPTIONS:
                yield Finding(
                    arg.keyword,
                    f"{prefix}. Keras 3 moved data-loading options to `keras.utils.PyDataset`",
                    FixPlan(Safety.SAFE, f"Remove `{keyword}=`", remove_arg(call, arg)),
                )
            elif keyword == "validation_metrics":
                yield self._validation_metrics(ctx, site, model, arg, prefix)
            elif migration is not None and migration.new is not None and migration.new in valid:
                fix = None
                if migration.safety is not None and find_keyword(call, migration.new) is None:
                    fix = FixPlan(
                        migration.safety,
                        f"Rename `{keyword}=` to `{migration.new}=`",
                        _rename_keyword(arg, migration.new),
                    )
                yield Finding(arg.keyword, f"{prefix}. {migration.why}", fix)
            elif migration is not None:
                yield Finding(arg.keyword, f"{prefix}. {migration.why}")
            else:
                close = difflib.get_close_matches(keyword, sorted(valid), n=1, cutoff=0.75)
                hint = f"; did you mean `{close[0]}=`?" if close else ""
                yield Finding(arg.keyword, f"{prefix}{hint}")

    def _validation_metrics(
        self, ctx: RuleContext, site: CallSite, model: Instance, arg: cst.Arg, prefix: str
    ) -> Finding:
        """Remove `validation_metrics=`; what it named must be in `compile(metrics=...)` for `val_*`."""
        message = (
            f"{prefix}. Keras computes `val_*` for every metric given to `compile`; "
            "there is no separate validation list"
        )
        wanted = _elements(arg.value)
        compile_call = _compile_of(ctx, site, model)
        if compile_call is None or wanted is None:
            return Finding(
                arg.keyword,
                message,
                FixPlan(Safety.UNSAFE, "Remove `validation_metrics=` (check that `compile` has those metrics)",
                        remove_arg(site.node, arg)),
            )
        metrics_arg = find_keyword(compile_call, "metrics")
        have = _elements(metrics_arg.value) if metrics_arg is not None else []
        if have is None:
            missing: Optional[List[cst.BaseExpression]] = None
        else:
            have_code = {_code(e) for e in have}
            missing = [e for e in wanted if _code(e) not in have_code]
        if missing == []:
            return Finding(
                arg.keyword,
                message + " (`compile` already has these metrics)",
                FixPlan(Safety.SAFE, "Remove `validation_metrics=`", remove_arg(site.node, arg)),
            )
        fit_call = site.node

        def build(loc: Locator) -> List[Edit]:
            edits = remove_arg(fit_call, arg)(loc)
            if missing:
                edits.extend(_add_to_metrics(loc, compile_call, metrics_arg, missing))
            return edits

        what = "move its metrics into `compile(metrics=...)`" if missing else "remove it"
        return Finding(arg.keyword, message, FixPlan(Safety.UNSAFE, f"Remove `validation_metrics=` and {what}", build))


# --- helpers ----------------------------------------------------------------------------------
def _metric_like(ctx: RuleContext, node, scope) -> bool:
    """A metric string, a Keras metric object or function, or a metric function of the file."""
    from ..facts.models import metric_ref

    ref = metric_ref(node, scope, ctx.resolver)
    return bool(ref.string or ref.keras_class or ref.keras_function or ref.function or ref.spec)


def _graph_mode_engine(ctx: RuleContext) -> bool:
    """Whether the file imports Keras 2's TF1 graph-mode engine (tf_keras's own `*_v1` modules)."""
    for path in ctx.facts.imported_paths:
        split = symbols.split_keras(path)
        if split is None:
            continue
        parts = split[0].split(".")
        if any(".".join(parts[:n]) in signatures.KERAS2_GRAPH_MODE_MODULES for n in (1, 2)):
            return True
    return False


def _code(node: cst.CSTNode) -> str:
    """A comparable form of a metric expression: string values, or code without whitespace."""
    if isinstance(node, cst.SimpleString):
        return repr(node.evaluated_value)
    return "".join(cst.Module([]).code_for_node(node).split())


def _elements(value: cst.BaseExpression) -> Optional[List[cst.BaseExpression]]:
    """Elements of a list/tuple literal; a single string counts as one; anything else: None."""
    if isinstance(value, (cst.List, cst.Tuple)):
        if any(isinstance(e, cst.StarredElement) for e in value.elements):
            return None
        return [e.value for e in value.elements]
    if isinstance(value, (cst.SimpleString, cst.Call, cst.Name, cst.Attribute)):
        return [value]
    return None


def _compile_of(ctx: RuleContext, site: CallSite, model: Instance) -> Optional[cst.Call]:
    """The single `compile(...)` call on the same model object, if the file has exactly one."""
    if model.origin is None:
        return None
    found = []
    for other in ctx.facts.method_calls("compile"):
        func = other.node.func
        if not isinstance(func, cst.Attribute):
            continue
        value = ctx.resolver.instance(func.value, other.scope, MODEL)
        if value is not None and value.origin is model.origin:
            found.append(other.node)
    return found[0] if len(found) == 1 else None


def _rename_keyword(arg: cst.Arg, new: str):
    def build(loc: Locator) -> List[Edit]:
        assert arg.keyword is not None
        return [loc.replace(arg.keyword, new)]

    return build


def _add_to_metrics(
    loc: Locator, compile_call: cst.Call, metrics_arg: Optional[cst.Arg], missing: List[cst.BaseExpression]
) -> List[Edit]:
    texts = ", ".join(loc.code(e) for e in missing)
    if metrics_arg is None:  # compile(...) without metrics: add `metrics=[...]` as its last argument
        return add_keyword(loc, compile_call, "metrics", f"[{texts}]")
    value = metrics_arg.value
    if isinstance(value, cst.List):
        return append_items(list_items(loc, value), [loc.code(e) for e in missing])
    if isinstance(value, cst.Tuple) and value.elements:
        return [loc.insert_after(value.elements[-1].value, ", " + texts)]
    return [loc.replace(value, f"[{loc.code(value)}, {texts}]")]


def _dropped_data_options(call: cst.Call, method: str) -> List[str]:
    """The data-loading options a `*_generator` call passes (by keyword or position) that Keras 3's
    `fit`/`evaluate`/`predict` do not take: the fix removes them, and says so."""
    order = signatures.GENERATOR_POSITIONAL_ORDER[method]
    positional = [order[i] for i, arg in enumerate(a for a in call.args if a.keyword is None and not a.star)
                  if i < len(order)]
    named = [arg.keyword.value for arg in call.args if arg.keyword is not None]
    return [name for name in positional + named if name in signatures.KERAS3_DROPPED_DATA_OPTIONS]


def _generator_call_to(loc: Locator, call: cst.Call, method: str, replacement: str) -> List[Edit]:
    """`fit_generator(gen, 100, 10, workers=4)` -> `fit(gen, steps_per_epoch=100, epochs=10)`: the method
    renamed, positional arguments after the first named, the dropped data options removed."""
    order = signatures.GENERATOR_POSITIONAL_ORDER[method]
    dropped = signatures.KERAS3_DROPPED_DATA_OPTIONS
    func = call.func
    assert isinstance(func, cst.Attribute)
    edits = [loc.replace(func.attr, replacement)]
    removed: List[cst.Arg] = []
    positional_index = 0
    for arg in call.args:
        if arg.keyword is None and not arg.star:
            name = order[positional_index] if positional_index < len(order) else None
            positional_index += 1
            if positional_index > 1 and name is not None:
                if name in dropped:
                    removed.append(arg)
                else:
                    edits.append(name_argument(loc, arg, name))
        elif arg.keyword is not None:
            if arg.keyword.value in dropped:
                removed.append(arg)
            elif arg.keyword.value == "generator":
                edits.append(loc.replace(arg.keyword, "x"))
    if _keeps_quiet(call, method):  # `verbose=0` right after the data, whatever else moves
        first = call.args[0]
        _, end = loc.span(first.value)
        edits.append(Edit(end, end, ", verbose=0"))
    return edits + remove_args(loc, call, removed)


def _keeps_quiet(call: cst.Call, method: str) -> bool:
    """`evaluate_generator`/`predict_generator` default to `verbose=0`; Keras 3's `evaluate`/`predict`
    to a progress bar: the fix passes `verbose=0` when the call leaves it out (and has the data first)."""
    if method not in ("evaluate_generator", "predict_generator") or not call.args:
        return False
    order = signatures.GENERATOR_POSITIONAL_ORDER[method]
    positional = sum(1 for a in call.args if a.keyword is None and not a.star)
    given = any(a.keyword is not None and a.keyword.value == "verbose" for a in call.args)
    first = call.args[0]
    return (not given and positional <= order.index("verbose") and first.keyword is None and not first.star
            and not any(a.star for a in call.args))


# --- examples (run by tests/test_rule_examples.py) ---------------------------------------------
from .base import Example  # noqa: E402

_MODEL = """\
import keras
model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
"""

_V1_ENGINE = """\
from tf_keras.src.engine import training_utils_v1
def _clone_and_build_model(model, mode, inputs=None, targets=None):
    from tf_keras.src import models
    cloned_model = models.clone_model(model, input_tensors=inputs)
    cloned_model.compile(optimizer, model.loss, sample_weight_mode=model.sample_weight_mode, target_tensors=targets)
    return cloned_model
"""

UnknownModelKeyword.valid = (
    # an object of a class metriclint cannot read, compiled Keras-style (keras-rl's agent): a Keras
    # model by its use, but its own `fit` takes `nb_steps`
    Example("from rl.agents.dqn import DQNAgent\nfrom tensorflow.keras.optimizers import Adam\n"
            "dqn = DQNAgent(model=model, nb_actions=2)\ndqn.compile(Adam(learning_rate=1e-3), metrics=['mae'])\n"
            "dqn.fit(env, nb_steps=1000, visualize=False)\n"),
    # every keyword the Keras 3 signature has
    Example(_MODEL + "model.fit(x, y, epochs=3, validation_data=(x, y), validation_freq=1)\n"),
    # workers= is fine on Keras 2 (tf_keras)
    Example("import tf_keras as keras\nmodel = keras.models.Sequential()\nmodel.fit(x, y, workers=2)\n", flavour="2"),
    # tf_keras accepts the pre-2.4 name (with a warning) and target_tensors=None
    Example("import tf_keras as keras\nm = keras.Sequential()\nm.compile(loss='mse', experimental_steps_per_execution=4, target_tensors=None)\n", flavour="2"),
    # fit_generator still exists on Keras 2
    Example("from tensorflow import keras\nmodel = keras.Model(i, o)\nmodel.fit_generator(gen, 10)\n", flavour="2"),
    # other libraries' fit(nb_epoch=...) (deepchem) and unknown receivers
    Example("import keras\nimport deepchem as dc\nm = dc.models.GraphConvModel(1)\nm.fit(ds, nb_epoch=10)\n"),
    Example("import keras\ndef train(model):\n    model.fit(x, nb_epoch=10)\n"),
    # a Model subclass with its own compile signature (keras-io GAN examples)
    Example(
        "import keras\n"
        "class GAN(keras.Model):\n"
        "    def compile(self, d_optimizer, g_optimizer, loss_fn):\n"
        "        super().compile()\n"
        "gan = GAN()\n"
        "gan.compile(d_optimizer=a, g_optimizer=b, loss_fn=c)\n"
    ),
    # a name rebound to something that is not a model is not known
    Example(_MODEL + "model = other.load()\nmodel.fit(x, nb_epoch=2)\n"),
    # text in strings and comments
    Example(_MODEL + "# model.fit(x, nb_epoch=3)\ns = 'model.fit(x, validation_metrics=[1])'\n"),
    # **kwargs are not checked
    Example(_MODEL + "model.fit(x, **options)\n"),
    # Keras 2's own TF1 graph-mode engine (tf_keras `distributed_training_utils_v1.py`): there every
    # model is a `training_v1.Model`, whose compile takes `target_tensors=`
    Example(_V1_ENGINE, flavour="2"),
    Example(_V1_ENGINE.replace("tf_keras.src.engine", "tensorflow.python.keras.engine")
            .replace("from tf_keras.src import models", "from tensorflow.python.keras import models")),
)

UnknownModelKeyword.invalid = (
    Example(
        _MODEL + "model.fit(x, y, nb_epoch=3)\n",
        fixed=_MODEL + "model.fit(x, y, epochs=3)\n",
        safety="safe",
    ),
    # nb_val_samples counted samples, validation_steps counts batches: renamed, unsafe
    Example(
        _MODEL + "model.fit(x, y, epochs=3, nb_val_samples=10, validation_data=(x, y))\n",
        fixed=_MODEL + "model.fit(x, y, epochs=3, validation_steps=10, validation_data=(x, y))\n",
        safety="unsafe",
    ),
    # validation_metrics already in compile: removed (safe)
    Example(
        _MODEL + "model.fit(x, y, validation_metrics=['accuracy'], epochs=2)\n",
        fixed=_MODEL + "model.fit(x, y, epochs=2)\n",
        safety="safe",
    ),
    # validation_metrics naming a metric compile lacks: moved into compile (unsafe)
    Example(
        _MODEL + "model.fit(x, y, epochs=2, validation_metrics=[keras.metrics.AUC()])\n",
        fixed=_MODEL.replace('metrics=["accuracy"]', 'metrics=["accuracy", keras.metrics.AUC()]')
        + "model.fit(x, y, epochs=2)\n",
        safety="unsafe",
    ),
    # Keras 3: fit_generator is gone; positional arguments after the data become keywords
    Example(
        "from tensorflow import keras\nmodel = keras.models.load_model('m.keras')\n"
        "model.fit_generator(gen, 100, 5, workers=4, use_multiprocessing=True)\n",
        fixed="from tensorflow import keras\nmodel = keras.models.load_model('m.keras')\n"
        "model.fit(gen, steps_per_epoch=100, epochs=5)\n",
        safety="safe",
    ),
    # Keras 3: data-loading options are not fit() arguments
    Example(_MODEL + "model.fit(x, y, workers=4)\n", fixed=_MODEL + "model.fit(x, y)\n", safety="safe"),
    # samples_per_epoch -> steps_per_epoch changes units: unsafe, still offered with --unsafe-fixes
    Example(
        _MODEL + "model.fit(x, y, samples_per_epoch=1000)\n",
        fixed=_MODEL + "model.fit(x, y, steps_per_epoch=1000)\n",
        safety="unsafe",
    ),
    # typos are reported with a suggestion, not fixed
    Example(
        _MODEL + "model.fit(x, y, epoch=3)\n",
        fixed=_MODEL + "model.fit(x, y, epoch=3)\n",
        safety="none",
    ),
    # every import spelling and receiver shape
    Example(
        "import tensorflow as tf\nm = tf.keras.Sequential()\nm.evaluate(x, y, show_accuracy=True)\n",
        safety="none",
    ),
    Example(
        "from tensorflow.keras.models import Model as M\nm = M(i, o)\nm.predict(x, nb_worker=2)\n",
        safety="none",
    ),
    # `validation_metrics=` given to compile itself: its metrics become compile's own
    Example(
        "from keras.models import *\nm = Sequential()\nm.compile(loss='mse', validation_metrics=['mae'])\n",
        fixed="from keras.models import *\nm = Sequential()\nm.compile(loss='mse', metrics=['mae'])\n",
        safety="unsafe",
    ),
    Example(
        "import tf_keras\nm = tf_keras.Sequential()\nm.compile(loss='mse', target_tensors=[t], cloning=False, foo=1)\n",
        flavour="2",
        count=2,
        safety="none",
    ),
    # the same clone without the graph-mode engine runs eagerly on TF 2: target_tensors= raises
    Example(
        _V1_ENGINE.replace("from tf_keras.src.engine import training_utils_v1\n", "import tf_keras\n"),
        flavour="2",
        safety="none",
    ),
    # in the graph-mode engine, a keyword no compile takes is still one
    Example(
        _V1_ENGINE.replace("target_tensors=targets", "target_tensor=targets"),
        flavour="2",
        safety="none",
    ),
    Example(_MODEL + "model.compile(loss='mse', experimental_steps_per_execution=4)\n",
            fixed=_MODEL + "model.compile(loss='mse', steps_per_execution=4)\n",
            safety="safe",),
    Example(
        "import keras\n"
        "class Net(keras.Model):\n"
        "    def train(self, x):\n"
        "        self.fit(x, nb_epoch=3)\n",
        fixed="import keras\n"
        "class Net(keras.Model):\n"
        "    def train(self, x):\n"
        "        self.fit(x, epochs=3)\n",
        safety="safe",
    ),
    Example(
        "import keras\n"
        "def build():\n"
        "    m = keras.Sequential()\n"
        "    return m\n"
        "model = build()\n"
        "model.fit(x, nb_epoch=1)\n",
        fixed="import keras\n"
        "def build():\n"
        "    m = keras.Sequential()\n"
        "    return m\n"
        "model = build()\n"
        "model.fit(x, epochs=1)\n",
        safety="safe",
    ),
    Example(
        "import keras\n"
        "class Trainer:\n"
        "    def __init__(self):\n"
        "        self.model = keras.applications.ResNet50()\n"
        "    def run(self):\n"
        "        self.model.fit(x, nb_epoch=1)\n",
        fixed="import keras\n"
        "class Trainer:\n"
        "    def __init__(self):\n"
        "        self.model = keras.applications.ResNet50()\n"
        "    def run(self):\n"
        "        self.model.fit(x, epochs=1)\n",
        safety="safe",
    ),
)
