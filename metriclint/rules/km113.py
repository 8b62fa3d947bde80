"""KM113: tensorflow-addons metrics where Keras 3 is the installed `keras` (the import fails)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import dotted_name, positional_args
from ..facts.entries import Reaches
from ..facts.values import Dotted
from ..facts.walk import find_all
from ..keras.constructors import CONSTRUCTOR_PARAMETERS
from ..locate import Locator
from .base import KERAS3_ONLY, Example, Finding, FixPlan, Rule, RuleContext
from .common import add_keyword, delete_statement, insert_line_after, keras_module_reference, name_argument, remove_args

_PACKAGE = "tensorflow_addons"
_METRICS = f"{_PACKAGE}.metrics"

_WHY = (
    "tensorflow-addons never supported Keras 3. Where Keras 3 is the installed `keras`, "
    "`import tensorflow_addons` raises ModuleNotFoundError (`No module named 'keras.src.engine'`), "
    "with `TF_USE_LEGACY_KERAS=1` too"
)


@dataclass(frozen=True)
class Twin:
    """The Keras metric that does what a tensorflow-addons one did, and how the call's arguments map."""

    keras_class: str
    tfa_positional: Tuple[str, ...]  # the addons class's positional parameters, in order
    keras_positional: Tuple[str, ...]  # the Keras 3 class's (keras/constructors.py)
    dropped: FrozenSet[str] = frozenset()  # addons-only parameters Keras infers (`num_classes`)
    renamed: Tuple[Tuple[str, str], ...] = ()  # addons keyword -> Keras keyword
    values: Tuple[str, ...] = ()  # the only literal values a renamed keyword may have to be fixed
    default_name: Optional[str] = None  # the addons default key, kept with `name=` when the defaults differ


def _keras(leaf: str) -> Tuple[str, ...]:
    return CONSTRUCTOR_PARAMETERS["3"][f"metrics.{leaf}"]


# The addons side is read off tensorflow-addons 0.23.0's sources (tests/runtime/test_tensorflow_addons.py).
TWINS: Dict[str, Twin] = {
    # tfa 0.23 `F1Score(num_classes, average=None, threshold=None, name="f1_score", dtype=None)`;
    # Keras 3 `F1Score(average=None, threshold=None, name="f1_score", dtype=None)`: the same order
    # once `num_classes` goes, and the same key.
    "F1Score": Twin("F1Score", ("num_classes", "average", "threshold", "name", "dtype"),
                    _keras("F1Score"), frozenset({"num_classes"})),
    "FBetaScore": Twin("FBetaScore", ("num_classes", "average", "beta", "threshold", "name", "dtype"),
                       _keras("FBetaScore"), frozenset({"num_classes"})),
    # tfa `RSquare(name="r_square", dtype=None, multioutput="uniform_average", num_regressors=0)`;
    # Keras `R2Score(class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None)`:
    # another order and another default key (`r_square` is kept with `name=`).
    "RSquare": Twin("R2Score", ("name", "dtype", "multioutput", "num_regressors"),
                    _keras("R2Score"), renamed=(("multioutput", "class_aggregation"),),
                    values=("uniform_average", "variance_weighted_average"), default_name="r_square"),
}

# Addons metrics Keras has no class for: what to do instead.
NO_TWIN: Dict[str, str] = {
    "CohenKappa": "Keras has no Cohen's kappa metric: compute it after `predict` (scikit-learn's "
                  "`cohen_kappa_score`) or write a `keras.metrics.Metric` subclass",
    "MatthewsCorrelationCoefficient": "Keras has no MCC metric: compute it after `predict` (scikit-learn's "
                                      "`matthews_corrcoef`) or write a `keras.metrics.Metric` subclass",
    "HammingLoss": "Keras has no Hamming loss metric; for multi-label outputs it is 1 - "
                   "`keras.metrics.BinaryAccuracy(threshold=...)`",
    "MultiLabelConfusionMatrix": "Keras has no multi-label confusion matrix metric: compute it after "
                                 "`predict` (scikit-learn's `multilabel_confusion_matrix`)",
}
_NO_TWIN_DEFAULT = "Keras has no twin for it: compute it after `predict`, or write a `keras.metrics.Metric` subclass"


class TensorflowAddonsMetric(Rule):
    code = "KM113"
    name = "tensorflow-addons-metric"
    summary = "tensorflow-addons metrics (`tfa.metrics.F1Score`, `RSquare`, …): `import tensorflow_addons` fails where Keras 3 is installed"
    flavours = KERAS3_ONLY
    fix_safety = Safety.SAFE
    needs = (Reaches(_PACKAGE),)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        called: Set[int] = set()
        for site in ctx.facts.calls:
            leaf = self._addons_metric(ctx, site.node.func, site.scope)
            if leaf is not None:
                called.add(id(site.node.func))
                yield self._finding(ctx, site.node, leaf)
        # references that are not called (`metrics=[tfa.metrics.F1Score]`), outermost chains only
        chains = [site.node for sites in ctx.facts.attributes.values() for site in sites
                  if self._addons_metric(ctx, site.node, site.scope) is not None]
        inner = {id(node.value) for node in chains}
        for node in chains:
            if id(node) not in inner and id(node) not in called:
                yield Finding(node, f"`{_code(node)}`: {_WHY}; {self._advice(node.attr.value)}")
        yield from self._unused_imports(ctx)

    @staticmethod
    def _addons_metric(ctx: RuleContext, node: cst.BaseExpression, scope) -> Optional[str]:
        """The leaf name when `node` is a tensorflow-addons metric (`tfa.metrics.F1Score`)."""
        if not isinstance(node, (cst.Name, cst.Attribute)):
            return None
        value = ctx.resolver.resolve(node, scope)
        if not (isinstance(value, Dotted) and value.path.startswith(_METRICS + ".")):
            return None
        return value.path.rsplit(".", 1)[-1]

    @staticmethod
    def _advice(leaf: str) -> str:
        twin = TWINS.get(leaf)
        if twin is not None:
            return f"use `keras.metrics.{twin.keras_class}`"
        return NO_TWIN.get(leaf, _NO_TWIN_DEFAULT)

    def _finding(self, ctx: RuleContext, call: cst.Call, leaf: str) -> Finding:
        what = f"`{_code(call.func)}`"
        twin = TWINS.get(leaf)
        if twin is None:
            return Finding(call.func, f"{what}: {_WHY}; {self._advice(leaf)}")
        message = f"{what}: {_WHY}; use `keras.metrics.{twin.keras_class}`"
        plan = _arguments(call, twin)
        if plan is None:
            return Finding(call.func, message + " (check its arguments: they differ here)")
        reference, import_edit = _keras_reference(ctx, call)
        if reference is None:
            return Finding(call.func, message)
        note = " (the same arguments; Keras infers the number of classes)" if twin.dropped else ""
        if twin.default_name is not None and plan.add_name:
            note = f" (named `{twin.default_name}`, the key it logged)"

        def build(loc: Locator) -> List[Edit]:
            edits = [loc.replace(call.func, f"{reference}.metrics.{twin.keras_class}")]
            edits.extend(remove_args(loc, call, plan.removed))
            edits.extend(name_argument(loc, arg, keyword) for arg, keyword in plan.named)
            edits.extend(loc.replace(arg.keyword, keyword) for arg, keyword in plan.renamed)  # type: ignore[arg-type]
            if plan.add_name:
                edits.extend(add_keyword(loc, call, "name", f'"{twin.default_name}"'))
            if import_edit is not None:
                edits.append(import_edit(loc))
            return edits

        return Finding(call.func, message + note,
                       FixPlan(Safety.SAFE, f"Use `keras.metrics.{twin.keras_class}`", build))

    def _unused_imports(self, ctx: RuleContext) -> Iterator[Finding]:
        """A module-level import of tensorflow-addons whose names nothing in the file reads (what is
        left once the metrics are replaced): it still fails on Keras 3, so it goes."""
        used = _names_read(ctx.module)
        for node, statement in ctx.facts.import_statement.items():
            if statement is None or ctx.facts.block_of.get(statement) is not ctx.module or len(statement.body) != 1:
                continue
            names = _addons_import_names(node)
            if not names or any(used.get(name, 0) for name in names) or any(len(ctx.facts.root.bindings.get(n) or ()) != 1 for n in names):
                continue
            yield Finding(node, f"`{_code(node)}`: {_WHY}, and nothing in this file uses it any more; remove it",
                          FixPlan(Safety.SAFE, "Remove the import", lambda loc, s=statement: [delete_statement(loc, s)]))


@dataclass
class _ArgumentPlan:
    removed: List[cst.Arg]
    named: List[Tuple[cst.Arg, str]]  # positional arguments that become keywords
    renamed: List[Tuple[cst.Arg, str]]  # keyword arguments whose keyword changes
    add_name: bool


def _arguments(call: cst.Call, twin: Twin) -> Optional[_ArgumentPlan]:
    """How the addons call's arguments become the Keras call's, or None when one has no twin."""
    if any(arg.star for arg in call.args):
        return None
    removed: List[cst.Arg] = []
    named: List[Tuple[cst.Arg, str]] = []
    renamed: List[Tuple[cst.Arg, str]] = []
    given: Set[str] = set()
    positional = positional_args(call)
    if len(positional) > len(twin.tfa_positional):
        return None
    keras_position = 0
    for arg, parameter in zip(positional, twin.tfa_positional):
        given.add(parameter)
        if parameter in twin.dropped:
            removed.append(arg)
            continue
        if parameter in dict(twin.renamed) or parameter not in twin.keras_positional:
            return None
        if twin.keras_positional.index(parameter) != keras_position:
            named.append((arg, parameter))  # another position on Keras: pass it by name
        keras_position += 1
    renames = dict(twin.renamed)
    allowed = set(twin.tfa_positional)
    for arg in call.args:
        if arg.keyword is None:
            continue
        keyword = arg.keyword.value
        if keyword not in allowed or keyword in given:
            return None
        given.add(keyword)
        if keyword in twin.dropped:
            removed.append(arg)
        elif keyword in renames:
            value = arg.value.evaluated_value if isinstance(arg.value, cst.SimpleString) else None
            if value not in twin.values:
                return None  # `multioutput="raw_values"` is `class_aggregation=None`: another value
            renamed.append((arg, renames[keyword]))
    # a positional argument after one that became a keyword would be a syntax error
    if named and positional.index(named[0][0]) + len(named) != len(positional):
        return None
    return _ArgumentPlan(removed, named, renamed, twin.default_name is not None and "name" not in given)


def _keras_reference(ctx: RuleContext, call: cst.Call):
    """(how the file names Keras, optional edit builder adding `import keras`) or (None, None)."""
    reference = keras_module_reference(ctx)
    if reference is not None:
        return reference, None
    if ctx.facts.root.bindings.get("keras"):
        return None, None  # `keras` means something else here
    # add `import keras` after the addons import the metric comes from
    root = dotted_name(call.func)
    bindings = ctx.facts.root.bindings.get(root.split(".")[0]) if root else None
    imports = [b for b in bindings or () if b.how == "import" and b.node is not None]
    statement = ctx.facts.import_statement.get(imports[0].node) if imports else None
    if statement is None:
        return None, None
    return "keras", lambda loc: insert_line_after(loc, statement, "import keras")


def _addons_import_names(node: cst.CSTNode) -> List[str]:
    """The names an import of tensorflow-addons (only) binds; [] for any other import."""
    names = []
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = dotted_name(alias.name) or ""
            if full != _PACKAGE and not full.startswith(_PACKAGE + "."):
                return []
            target = alias.asname.name if alias.asname is not None else None
            names.append(target.value if isinstance(target, cst.Name) else full.split(".")[0])
        return names
    if isinstance(node, cst.ImportFrom) and not node.relative and node.module is not None:
        module = dotted_name(node.module) or ""
        if (module != _PACKAGE and not module.startswith(_PACKAGE + ".")) or isinstance(node.names, cst.ImportStar):
            return []
        for alias in node.names:
            target = alias.asname.name if alias.asname is not None else alias.name
            if not isinstance(target, cst.Name):
                return []
            names.append(target.value)
    return names


def _names_read(module: cst.Module) -> Dict[str, int]:
    """How often each name occurs as a name in code (not as an attribute, a keyword or in an import)."""
    skip: Set[int] = set()
    for node in find_all(module, cst.Attribute, cst.Arg, cst.Import, cst.ImportFrom):
        if isinstance(node, cst.Attribute):
            skip.add(id(node.attr))
        elif isinstance(node, cst.Arg):
            if node.keyword is not None:
                skip.add(id(node.keyword))
        else:
            skip.update(id(n) for n in find_all(node, cst.Name))
    counts: Dict[str, int] = {}
    for name in find_all(module, cst.Name):
        if id(name) not in skip:
            counts[name.value] = counts.get(name.value, 0) + 1
    return counts


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


_HEAD = "import tensorflow as tf\nimport tensorflow_addons as tfa\n"
_MODEL = "model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3, activation='softmax')])\n"

TensorflowAddonsMetric.valid = (
    # Keras's own metrics
    Example("import keras\nmodel.compile(loss='mse', metrics=[keras.metrics.F1Score(average='macro'), keras.metrics.R2Score()])\n"),
    # Keras 2 code: tensorflow-addons works there
    Example("import tf_keras as keras\nimport tensorflow_addons as tfa\nm = tfa.metrics.F1Score(num_classes=3)\n", flavour="2"),
    Example(_HEAD + "m = tfa.metrics.F1Score(num_classes=3)\n", flavour="2"),
    # other libraries' F1Score, and names that are not tensorflow-addons
    Example("import keras\nfrom torchmetrics import F1Score\nm = F1Score(num_classes=3)\n"),
    Example("import keras\ndef f(tfa):\n    return tfa.metrics.F1Score(num_classes=3)\n"),
    # an import guarded for environments without addons: `tfa` has two values, unknown
    Example("import keras\ntry:\n    import tensorflow_addons as tfa\nexcept ImportError:\n    tfa = None\n"
            "m = tfa.metrics.F1Score(num_classes=3)\n"),
    # other parts of addons: the import fails too, but it is not about metrics
    Example(_HEAD + "opt = tfa.optimizers.AdamW(weight_decay=1e-4)\n"),
    # text only
    Example("import keras\n# tfa.metrics.F1Score(num_classes=3)\ns = 'tfa.metrics.RSquare()'\n"),
)

TensorflowAddonsMetric.invalid = (
    Example(
        _HEAD + _MODEL + "model.compile(loss='categorical_crossentropy', metrics=[tfa.metrics.F1Score(num_classes=3, average='macro')])\n",
        fixed="import tensorflow as tf\n" + _MODEL
        + "model.compile(loss='categorical_crossentropy', metrics=[tf.keras.metrics.F1Score(average='macro')])\n",
        count=1,
        safety="safe",
    ),
    # positional arguments keep their order once `num_classes` goes
    Example(
        "import keras\nimport tensorflow_addons as tfa\nf2 = tfa.metrics.FBetaScore(3, 'micro', 2.0, name='f2')\n",
        fixed="import keras\nf2 = keras.metrics.FBetaScore('micro', 2.0, name='f2')\n",
        safety="safe",
    ),
    # RSquare: another class name, another default key (kept), `name` first positionally
    Example(
        "from tensorflow import keras\nfrom tensorflow_addons.metrics import RSquare\nr2 = RSquare()\nr2b = RSquare('r2', multioutput='variance_weighted_average')\n",
        fixed="from tensorflow import keras\nr2 = keras.metrics.R2Score(name=\"r_square\")\n"
        "r2b = keras.metrics.R2Score(name='r2', class_aggregation='variance_weighted_average')\n",
        count=2,
        safety="safe",
    ),
    # no Keras reference in the file: `import keras` is added
    Example(
        "import tensorflow_addons as tfa\nm = tfa.metrics.F1Score(num_classes=2, threshold=0.5)\n",
        fixed="import keras\nm = keras.metrics.F1Score(threshold=0.5)\n",
        safety="safe",
    ),
    # no twin: reported; the import stays (still used)
    Example(
        _HEAD + "kappa = tfa.metrics.CohenKappa(num_classes=3)\nm = tfa.metrics.F1Score(3)\n",
        fixed="import tensorflow as tf\nimport tensorflow_addons as tfa\nkappa = tfa.metrics.CohenKappa(num_classes=3)\nm = tf.keras.metrics.F1Score()\n",
        count=2,
        safety="safe",
    ),
    Example(
        _HEAD + "mcc = tfa.metrics.MatthewsCorrelationCoefficient(num_classes=2)\nr = tfa.metrics.RSquare(multioutput='raw_values')\n",
        fixed=_HEAD + "mcc = tfa.metrics.MatthewsCorrelationCoefficient(num_classes=2)\nr = tfa.metrics.RSquare(multioutput='raw_values')\n",
        count=2,
        safety="none",
    ),
    # an import nothing uses: it fails all the same
    Example(
        "import keras\nimport tensorflow_addons as tfa\nm = keras.metrics.F1Score()\n",
        fixed="import keras\nm = keras.metrics.F1Score()\n",
        safety="safe",
    ),
)
