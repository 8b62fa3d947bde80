"""Property-based: a fix changes only the tokens it must; the layout around them stays as written.

For every rule with a fix, a template holds the rule's trigger as a call (or a signature) whose
arguments hypothesis lays out in every common style: all on one line, one per line with a
hanging indent (closing parenthesis on its own line or after the last argument), aligned with
the opening parenthesis, all on one hanging line; with or without a trailing comma, with
comments after arguments and on lines of their own. Calls nest (`K.expand_dims(K.expand_dims(x,
-1), -1)`, `dict(zip(names, model.evaluate(...)))`), each nested call with a layout of its own.
The statements sit in 0 to 4 nested blocks (functions, methods of classes, `if`/`for`/`with`)
indented with 2, 4 or 8 spaces or a tab; a rule that fires on both flavours is tried on tf_keras
with `--target-keras 2` too. `fix --unsafe-fixes` (in-process, `fix_text`) must:

* fix it: the rule's fix is applied at least once, and no fix of the rule is left over (a
  template the generator does not hit is a failure, not a skipped example);
* leave a program that compiles;
* change only the tokens the fix names: in a token diff of the two texts, every removed token
  and every added token is one of the template's, a comment goes only with the argument it
  stands after (when that argument is removed), and between two tokens that are kept and stay
  next to each other the text (blanks, line breaks, indentation, comments) is byte-identical.
  That is: every line outside the changed tokens keeps its text and indentation.
"""

from __future__ import annotations

import dataclasses
import io
import os
import tokenize
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple, Union

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from metriclint.engine import fix_text
from metriclint.rules import all_rules
from metriclint.settings import Settings

# --- the program model: statements holding calls whose layout is drawn -------------------------------

STYLES = ("flat", "hanging", "hanging_close_same", "aligned", "hanging_one_line")


@dataclass(frozen=True)
class Layout:
    style: str = "flat"
    trailing_comma: bool = False
    comment_after: Tuple[bool, ...] = ()  # a comment after argument i (when a line break follows it)
    comment_before: Tuple[bool, ...] = ()  # a comment line before argument i (one per line styles)


@dataclass
class Call:
    """`head(args)`; an argument is source text or a nested call."""

    head: str
    args: Sequence[Union[str, "Call", "Div"]] = ()
    tail: str = ""  # what follows the closing parenthesis (`]` of `metrics=[Metric(...)]`)
    layout: Layout = field(default_factory=Layout)


@dataclass
class Div:
    """`(left / right)`, split over two lines in the multi-line styles."""

    left: str
    right: str
    layout: Layout = field(default_factory=Layout)


@dataclass
class Statement:
    """`prefix` + call + `suffix`; a compound statement (`def ...:`) has a body."""

    prefix: str
    call: Optional[Union[Call, Div]] = None
    suffix: str = ""
    body: Sequence["Statement"] = ()


def label(arg: Union[str, Call, Div]) -> str:
    """What a comment next to an argument names (so a test can tell whose comment it is)."""
    if isinstance(arg, Call):
        return arg.head.split(".")[-1]
    if isinstance(arg, Div):
        return "division"
    return arg.split("=")[0].strip().replace("#", "")


class Emitter:
    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.lines: List[str] = [""]

    def write(self, text: str) -> None:
        self.lines[-1] += text

    def newline(self, indent: str) -> None:
        self.lines.append(indent)

    def indent(self) -> str:
        line = self.lines[-1]
        return line[: len(line) - len(line.lstrip(" \t"))]

    def emit(self, node: Union[str, Call, Div]) -> None:
        if isinstance(node, str):
            self.write(node)
        elif isinstance(node, Div):
            self._division(node)
        else:
            self._call(node)

    def _division(self, node: Div) -> None:
        if node.layout.style == "flat":
            self.write(f"({node.left} / {node.right})")
            return
        base = self.indent()
        self.write(f"({node.left} /")
        if node.layout.comment_after[:1] == (True,):
            self.write("  # after division")
        self.newline(base + self.unit)
        self.write(f"{node.right})")

    def _call(self, node: Call) -> None:
        layout = node.layout
        args = list(node.args)
        self.write(node.head + "(")
        if not args:
            if layout.style in ("hanging", "hanging_one_line"):
                self.newline(self.indent())
            self.write(")" + node.tail)
            return
        base = self.indent()
        if layout.style == "aligned":
            cont = base + " " * (len(self.lines[-1]) - len(base))
        else:
            cont = base + self.unit
        one_per_line = layout.style in ("hanging", "hanging_close_same", "aligned")
        if layout.style in ("hanging", "hanging_close_same", "hanging_one_line"):
            self.newline(cont)
        for index, arg in enumerate(args):
            last = index == len(args) - 1
            if one_per_line and index > 0 and layout.comment_before[index]:
                self.write(f"# before {label(arg)}")
                self.newline(cont)
            self.emit(arg)
            if not last or layout.trailing_comma:
                self.write(",")
            if not one_per_line:
                if not last:
                    self.write(" ")
                continue
            if not last or layout.style == "hanging":
                if layout.comment_after[index]:
                    self.write(f"  # after {label(arg)}")
            if not last:
                self.newline(cont)
        if layout.style in ("hanging", "hanging_one_line"):
            self.newline(base)
        self.write(")" + node.tail)


def render(module: Sequence[str], headers: Sequence[Tuple[int, str]], body: Sequence[Statement], depth: int,
           unit: str) -> str:
    """Module lines, block headers (depth, text), then `body` at `depth`, indented with `unit`."""
    emitter = Emitter(unit)
    emitter.lines = list(module) + [unit * d + header for d, header in headers]

    def statements(items: Sequence[Statement], level: int) -> None:
        for item in items:
            emitter.lines.append(unit * level + item.prefix)
            if item.call is not None:
                emitter.emit(item.call)
            emitter.write(item.suffix)
            statements(item.body, level + 1)

    statements(body, depth)
    return "\n".join(emitter.lines) + "\n"


# --- the templates: each rule's trigger ------------------------------------------------------------------


@dataclass
class Template:
    code: str
    name: str
    module: Sequence[str]  # module-level lines (imports, definitions)
    body: Sequence[Statement]  # the statements in the innermost block
    removed: str  # source text whose tokens the fix may remove
    added: str  # source text whose tokens the fix may add
    flavour: str = "3"
    # blocks the template brings itself (a class and its method), inside any drawn outer blocks
    own_blocks: Sequence[str] = ()
    outer_blocks: bool = True  # whether drawn blocks may go around `own_blocks`
    inner_blocks: bool = True  # whether drawn blocks may go around `body` (not around a method)
    # comments that may go: `# after X` / `# before X` of an argument labelled X, or the exact text
    comments_removed: FrozenSet[str] = frozenset()
    comments_copied: bool = False  # the fix copies code with its comments (KM209's fresh instance)


def S(prefix: str, call=None, suffix: str = "", body=()) -> Statement:
    return Statement(prefix, call, suffix, tuple(body))


_SEQ = "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])"
_COMPILE = "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])"

TEMPLATES: List[Template] = [
    Template("KM001", "unused_noqa", ["import keras"], [
        S("x = ", Call("max", ["1", Call("min", ["2", "3"])]), "  # noqa: KM103")],
        removed="", added="", comments_removed=frozenset({"# noqa: KM103"})),
    Template("KM101", "renamed_keyword", ["import keras"], [
        S(_SEQ), S(_COMPILE),
        S("", Call("model.fit", ["x", "y", "nb_epoch=3", "verbose=0"]))],
        removed="nb_epoch", added="epochs"),
    Template("KM101", "fit_generator", ["import keras"], [
        S(_SEQ), S(_COMPILE),
        S("history = ", Call("model.fit_generator", ["gen", "10", "2", "workers=4", "verbose=0"]))],
        removed="fit_generator workers = 4 ,", added="fit steps_per_epoch = epochs =",
        comments_removed=frozenset({"workers"})),
    Template("KM101", "dropped_data_options", ["import keras"], [
        S(_SEQ), S(_COMPILE),
        S("", Call("model.fit", ["x", "y", "workers=2", "use_multiprocessing=True", "verbose=0"]))],
        removed="workers = 2 , use_multiprocessing = True ,", added="",
        comments_removed=frozenset({"workers", "use_multiprocessing"})),
    Template("KM101", "validation_metrics", ["import keras"], [
        S(_SEQ),
        S("", Call("model.compile", ["optimizer='adam'", "loss='mse'", "metrics=['mae']"])),
        S("", Call("model.fit", ["x", "y", "validation_metrics=['mse']", "verbose=0"]))],
        removed="validation_metrics = [ 'mse' ] ,", added=", 'mse'",
        comments_removed=frozenset({"validation_metrics"})),
    Template("KM102", "metrics_tensors", ["import tf_keras as keras"], [
        S("model = keras.Model(i, o)"),
        S("model.metrics_names.append('rec')"),
        S("", Call("model.metrics_tensors.append", ["loss_value"]))],
        removed="model . metrics_names . append ( 'rec' ) metrics_tensors . append", added="add_metric , name = 'rec'",
        flavour="2"),
    Template("KM103", "metric_reset_states", ["import keras"], [
        S("metric = keras.metrics.Mean()"),
        S("", Call("print", ["'reset'", Call("metric.reset_states")]))],
        removed="reset_states", added="reset_state"),
    Template("KM104", "reset_states_override", ["import keras"], [
        S("def ", Call("reset_states", ["self"]), ":", body=[S("self.v.assign(0.0)")])],
        own_blocks=["class RunningMin(keras.metrics.Metric):"], inner_blocks=False,
        removed="reset_states", added="reset_state"),
    # a layer computing with TensorFlow ops (TensorFlow backend only): its tracker is updated in call()
    Template("KM105", "add_metric", ["import keras", "import tensorflow as tf"], [
        S("self.add_metric(tf.reduce_max(x), name='activity_max')"),
        S("", Call("self.add_metric", [Call("tf.reduce_mean", ["x"]), "name='activity_mean'"]))],
        own_blocks=["class ActivityLogger(keras.layers.Layer):",
                    "    def __init__(self, **kwargs):",
                    "        super().__init__(**kwargs)",
                    "    def call(self, x):"],
        outer_blocks=False,
        removed="add_metric name = 'activity_mean' 'activity_max' ,",
        added="activity_mean activity_max . update_state self = keras metrics Mean ( name 'activity_mean' 'activity_max' )",
        comments_removed=frozenset({"name"})),
    Template("KM106", "metric_aggregation", ["import keras", "import tensorflow as tf"], [
        S("self.total = ", Call("self.add_weight", [
            "'total'", "initializer='zeros'", "aggregation=tf.VariableAggregation.SUM"]))],
        own_blocks=["class Total(keras.metrics.Metric):", "    def __init__(self, **kw):"],
        removed="aggregation = tf . VariableAggregation . SUM ,", added="name =",
        comments_removed=frozenset({"aggregation"})),
    Template("KM106", "layer_positional", ["import keras"], [
        S("self.w = ", Call("self.add_weight", [
            "'kernel'", "(shape[-1], 4)", "'float32'", "'glorot_uniform'", "use_resource=True"]))],
        own_blocks=["class Dense(keras.layers.Layer):", "    def build(self, shape):"],
        removed="use_resource = True ,", added="name = shape = dtype = initializer =",
        comments_removed=frozenset({"use_resource"})),
    Template("KM107", "nested_backend", ["import keras", "from keras import backend as K"], [
        S("y = ", Call("K.expand_dims", [Call("K.expand_dims", ["y_pred", "-1"]), "-1"])),
        S("m = ", Call("K.argmax", [Call("K.sum", ["p", "axis=1"])]))],
        removed="K . expand_dims argmax sum", added="keras . ops expand_dims argmax sum , axis = - 1"),
    Template("KM108", "metrics_names_zip", ["import keras"], [
        S(_SEQ), S(_COMPILE),
        S("scores = ", Call("dict", [Call("zip", ["model.metrics_names", Call("model.evaluate", ["x", "y", "verbose=0"])])]))],
        removed="dict ( zip model . metrics_names , ) )", added=", return_dict = True",
        comments_removed=frozenset({"model.metrics_names", "evaluate", "zip"})),
    Template("KM109", "model_reset_states", ["import keras"], [
        S("model = keras.Sequential([keras.Input((5, 2), batch_size=4), keras.layers.LSTM(8, stateful=True)])"),
        S("model.reset_states()")],
        removed="", added='for layer in model . layers : if getattr ( layer , "stateful" , False ) : layer . reset_states ( )'),
    Template("KM110", "metric_string_typo", ["import keras"], [
        S(_SEQ),
        S("", Call("model.compile", ["optimizer='adam'", "loss='binary_crossentropy'", "metrics=['accuarcy']"]))],
        removed="'accuarcy'", added="'accuracy'"),
    Template("KM111", "flat_metrics", ["import keras"], [
        S("inp = keras.Input((4,))"),
        S("cls = keras.layers.Dense(1, activation='sigmoid', name='cls')(inp)"),
        S("reg = keras.layers.Dense(1, name='reg')(inp)"),
        S("model = keras.Model(inp, [cls, reg])"),
        S("", Call("model.compile", ["optimizer='adam'", "loss={'cls': 'binary_crossentropy', 'reg': 'mse'}",
                                     "metrics=['accuracy']"]))],
        removed="[ 'accuracy' ]", added="{ 'cls' : [ 'accuracy' ] }"),
    Template("KM112", "update_state_signature", ["import keras"], [
        S("def __init__(self, **kw):", body=[
            S("super().__init__(**kw)"), S("self.total = self.add_weight(name='t', shape=(), initializer='zeros')")]),
        S("def ", Call("update_state", ["self", "y_true", "y_pred"]), ":", body=[S("self.total.assign_add(1.0)")])],
        own_blocks=["class Hits(keras.metrics.Metric):"], inner_blocks=False,
        removed="", added=", sample_weight = None"),
    Template("KM201", "accuracy_on_sigmoid", ["import keras"], [
        S(_SEQ),
        S("", Call("model.compile", ["loss='binary_crossentropy'", Call("metrics=[keras.metrics.Accuracy", ["dtype='float32'"], "]")]))],
        removed="Accuracy", added='BinaryAccuracy , name = "accuracy"'),
    Template("KM202", "threshold_on_logits", ["import keras"], [
        S("model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])"),
        S("", Call("model.compile", [
            "loss=keras.losses.BinaryCrossentropy(from_logits=True)",
            Call("metrics=[keras.metrics.Precision", ["name='precision'"], "]")]))],
        removed="", added=", thresholds = 0.0"),
    Template("KM203", "batchwise_f1", ["import keras", "from keras import backend as K",
                                       "def recall_m(y_true, y_pred):",
                                       "    tp = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))",
                                       "    return tp / (K.sum(K.round(K.clip(y_true, 0, 1))) + K.epsilon())"], [
        S("model = keras.Sequential()"),
        S("", Call("model.compile", ["loss='binary_crossentropy'", "metrics=['acc', recall_m]"]))],
        removed="recall_m", added='keras . metrics . Recall ( name = "recall_m" )'),
    Template("KM204", "loop_without_reset", ["import keras"], [
        S("acc = keras.metrics.BinaryAccuracy()"),
        S("for epoch in range(3):", body=[
            S("for x, y in ds:", body=[S("", Call("acc.update_state", ["y", Call("model", ["x"])]))]),
            S("", Call("print", [Call("acc.result")]))])],
        removed="", added="acc . reset_state ( )"),
    Template("KM207", "early_stopping_key", ["import keras"], [
        S(_SEQ), S(_COMPILE),
        S("es = ", Call("keras.callbacks.EarlyStopping", ["monitor='val_acc'", "patience=2"])),
        S("", Call("model.fit", ["x", "y", "validation_data=(x, y)", "callbacks=[es]"]))],
        removed="'val_acc'", added="'val_accuracy'"),
    Template("KM208", "keras2_auto_mode", ["import tf_keras as keras"], [
        S(_SEQ),
        S("model.compile(optimizer='adam', loss='binary_crossentropy', metrics=[keras.metrics.Precision()])"),
        S("cb = ", Call("keras.callbacks.EarlyStopping", ["monitor='val_precision'", "patience=2"])),
        S("", Call("model.fit", ["x", "y", "validation_data=(x, y)", "callbacks=[cb]"]))],
        removed="", added=', mode = "max"', flavour="2"),
    Template("KM209", "shared_metric", ["import keras"], [
        S("auc = ", Call("keras.metrics.AUC", ["num_thresholds=50", "curve='PR'"])),
        S("a = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])"),
        S("b = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])"),
        S("", Call("a.compile", ["loss='bce'", "metrics=[auc]"])),
        S("", Call("b.compile", ["loss='bce'", "metrics=[auc]"]))],
        removed="auc", added='keras . metrics . AUC ( num_thresholds = 50 , curve = \'PR\' , name = "auc" )',
        comments_copied=True),
    Template("KM210", "division_in_call", ["import tensorflow as tf", "import keras"], [
        S("return ", Call("tf.identity", [Div("self.total", "self.count")]))],
        own_blocks=["class MeanAbove(keras.metrics.Metric):",
                    "    def __init__(self, **kw):",
                    "        super().__init__(**kw)",
                    "        self.total = self.add_weight(name='total', initializer='zeros')",
                    "        self.count = self.add_weight(name='count', initializer='zeros')",
                    "    def result(self):"],
        outer_blocks=False,
        removed="/", added="tf . math . divide_no_nan ( , )"),
    Template("KM211", "f1_threshold", ["import keras"], [
        S(_SEQ),
        S("", Call("model.compile", ["loss='binary_crossentropy'", Call("metrics=[keras.metrics.F1Score", ["average='micro'"], "]")]))],
        removed="", added=", threshold = 0.5"),
    Template("KM301", "per_batch_predict", ["import keras"], [
        S("def ", Call("on_train_batch_end", ["self", "batch", "logs=None"]), ":", body=[
            S("p = ", Call("self.model.predict", ["self.x_val", "verbose=0"]))])],
        own_blocks=["class Eval(keras.callbacks.Callback):"], inner_blocks=False,
        removed="on_train_batch_end batch", added="on_epoch_end epoch"),
    Template("KM302", "run_eagerly", ["import keras"], [
        S("model = keras.Sequential()"),
        S("", Call("model.compile", ["loss='mse'", "metrics=['mae']", "run_eagerly=True"]))],
        removed="run_eagerly = True ,", added="", comments_removed=frozenset({"run_eagerly"})),
    Template("KM303", "huge_num_thresholds", ["import keras"], [
        S("model = keras.Sequential()"),
        S("", Call("model.compile", ["loss='bce'", Call("metrics=[keras.metrics.AUC", ["num_thresholds=10000", "curve='PR'"], "]")])),
        S("model.fit(x, y)")],
        removed="10000", added="200"),
]



def _on_keras2(template: Template) -> Template:
    """The same program on tf_keras (`import tf_keras as keras`), fixed with `--target-keras 2`."""
    module = [line.replace("import keras", "import tf_keras as keras").replace("from keras import", "from tf_keras import")
              for line in template.module]
    return dataclasses.replace(template, name=template.name + "_keras2", flavour="2", module=module)


# Every template of a rule that fires on both flavours, on Keras 2 too (`fit_generator` and the
# data-loading keywords are Keras 3 removals).
TEMPLATES += [
    _on_keras2(t) for t in list(TEMPLATES)
    if t.flavour == "3" and "2" in all_rules()[t.code].flavours and t.name not in ("fit_generator", "dropped_data_options")
]

# --- drawing a program -------------------------------------------------------------------------------------
UNITS = ("  ", "    ", "        ", "\t")
OUTER = ("def f{n}():", "class C{n}:|def m{n}(self):", "if flag{n}:", "for _{n} in range(1):", "with ctx{n}:")
INNER = ("if flag{n}:", "for _{n} in range(1):", "with ctx{n}:", "while flag{n}:")


@st.composite
def layouts(draw, count: int) -> Layout:
    return Layout(
        style=draw(st.sampled_from(STYLES)),
        trailing_comma=count > 0 and draw(st.booleans()),
        comment_after=tuple(draw(st.lists(st.booleans(), min_size=count, max_size=count))),
        comment_before=tuple(draw(st.lists(st.booleans(), min_size=count, max_size=count))),
    )


def _with_layouts(draw, node):
    if isinstance(node, Call):
        args = [_with_layouts(draw, a) for a in node.args]
        return Call(node.head, args, node.tail, draw(layouts(len(args))))
    if isinstance(node, Div):
        return Div(node.left, node.right, draw(layouts(1)))
    if isinstance(node, Statement):
        call = _with_layouts(draw, node.call) if node.call is not None else None
        return Statement(node.prefix, call, node.suffix, tuple(_with_layouts(draw, b) for b in node.body))
    return node


def _blocks(draw, choices: Sequence[str], most: int) -> List[str]:
    headers: List[str] = []
    for n, choice in enumerate(draw(st.lists(st.sampled_from(choices), max_size=most))):
        headers.extend(choice.format(n=n).split("|"))
    return headers


@st.composite
def programs(draw, template: Template) -> Tuple[str, str]:
    """(the program's text, a one-line description of how it was drawn)."""
    unit = draw(st.sampled_from(UNITS))
    outer = _blocks(draw, OUTER, 4) if template.outer_blocks or not template.own_blocks else []
    inner = _blocks(draw, INNER, 2) if template.inner_blocks else []
    own = [(len(line) - len(line.lstrip(" ")), line.lstrip(" ")) for line in template.own_blocks]
    headers = [(depth, line) for depth, line in enumerate(outer)]
    base = len(outer)
    headers += [(base + spaces // 4, line) for spaces, line in own]
    depth = (headers[-1][0] + 1) if headers else 0
    for header in inner:
        headers.append((depth, header))
        depth += 1
    body = [_with_layouts(draw, statement) for statement in template.body]
    text = render(template.module, headers, body, depth, unit)
    return text, f"unit={unit!r} blocks={[h for _, h in headers]}"


# --- the check ------------------------------------------------------------------------------------------------
_LAYOUT_TOKENS = (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)


def _tokens(text: str) -> Tuple[List[Tuple[int, str]], List[Tuple[int, int]]]:
    """The tokens that are not layout ((type, string)) and their character offsets."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    keys, spans = [], []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in _LAYOUT_TOKENS:
            continue
        keys.append((tok.type, tok.string))
        spans.append((starts[tok.start[0] - 1] + tok.start[1], starts[tok.end[0] - 1] + tok.end[1]))
    return keys, spans


def opcodes(a: Sequence, b: Sequence, score=lambda i, j: 1, together=lambda i, j: 0) -> List[Tuple[str, int, int, int, int]]:
    """`SequenceMatcher.get_opcodes()` of the heaviest common subsequence: pairing `a[i]` with an
    equal `b[j]` scores `score(i, j)`, and pairing `a[i + 1]` with `b[j + 1]` too adds
    `together(i, j)` (a bonus, or a penalty when the text between them changed).

    difflib's matcher is greedy: it can pair a token with a far-away twin and report its
    neighbours as changed. Plain longest common subsequences are ambiguous: of those of
    `fit_generator(gen, 10, 2, workers=4)` and `fit(gen, steps_per_epoch=10, epochs=2)` one keeps
    the `=` of `workers=` and loses the `2`; of those of `dict(zip(n, f(x,)),)` and
    `f(x, r=1,)` one pairs `,)` of `zip(...),)` with `,)` of `f`. The scores make the pairing
    a reader sees the heaviest."""
    n, m = len(a), len(b)
    none = float("-inf")
    # best[i][j]: of a[i:] and b[j:]; paired[i][j]: the same with a[i] paired with b[j]
    best = [[0.0] * (m + 2) for _ in range(n + 2)]
    paired = [[none] * (m + 2) for _ in range(n + 2)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if a[i] == b[j]:
                apart = max(best[i + 2][j + 1], best[i + 1][j + 2])  # a[i + 1], b[j + 1] not paired
                paired[i][j] = score(i, j) + max(apart, paired[i + 1][j + 1] + together(i, j))
            best[i][j] = max(best[i + 1][j], best[i][j + 1], paired[i][j])
    pairs: List[Tuple[int, int]] = []
    i = j = 0
    pair = False  # whether a[i] is paired with b[j] (the choice made at the pair before)
    while i < n and j < m:
        if not pair:
            if paired[i][j] > none and paired[i][j] == best[i][j]:
                pair = True
            elif best[i][j] == best[i + 1][j]:
                i += 1
            else:
                j += 1
            continue
        pairs.append((i, j))
        rest = paired[i][j] - score(i, j)
        if paired[i + 1][j + 1] > none and paired[i + 1][j + 1] + together(i, j) == rest:
            i, j = i + 1, j + 1
        elif best[i + 2][j + 1] == rest:
            i, j, pair = i + 2, j + 1, False
        else:
            i, j, pair = i + 1, j + 2, False
    out: List[Tuple[str, int, int, int, int]] = []
    i = j = 0
    for pi, pj in pairs + [(n, m)]:
        if i < pi or j < pj:
            out.append(("replace" if i < pi and j < pj else "delete" if i < pi else "insert", i, pi, j, pj))
        if pi < n:
            if out and out[-1][0] == "equal" and out[-1][2] == pi and out[-1][4] == pj:
                out[-1] = ("equal", out[-1][1], pi + 1, out[-1][3], pj + 1)
            else:
                out.append(("equal", pi, pi + 1, pj, pj + 1))
        i, j = pi + 1, pj + 1
    return out


def layout_violations(template: Template, before: str, after: str) -> List[str]:
    """What the fix changed beyond the template's tokens, or around tokens it kept."""
    old_keys, old_spans = _tokens(before)
    new_keys, new_spans = _tokens(after)
    removed_ok = set(template.removed.split())
    added_ok = set(template.added.split())
    comments_ok = set(template.comments_removed) | {
        f"# {where} {name}" for name in template.comments_removed for where in ("after", "before")}
    problems = []
    touchable = removed_ok | added_ok

    def gap(text: str, spans: List[Tuple[int, int]], k: int) -> str:
        return text[spans[k - 1][1]:spans[k][0]] if k else text[:spans[0][0]]

    def score(i: int, j: int) -> int:
        return 1 if old_keys[i][1] in touchable else 10  # tokens a fix may not touch weigh more

    def together(i: int, j: int) -> int:
        """Neighbours kept with the text between them: a bonus; with that text changed: a penalty
        (so the `,` `)` of a removed wrapper are not paired with a kept `,` `)` if they need not be)."""
        if i + 1 >= len(old_keys) or j + 1 >= len(new_keys):
            return 0
        return 2 if gap(before, old_spans, i + 1) == gap(after, new_spans, j + 1) else -5

    for tag, i1, i2, j1, j2 in opcodes(old_keys, new_keys, score, together):
        if tag == "equal":
            for k in range(i1, i2 - 1):  # kept tokens that stay neighbours: the text between is kept
                m = j1 + (k - i1)
                old_gap = before[old_spans[k][1]:old_spans[k + 1][0]]
                new_gap = after[new_spans[m][1]:new_spans[m + 1][0]]
                if old_gap != new_gap:
                    problems.append(f"between {old_keys[k][1]!r} and {old_keys[k + 1][1]!r}: {old_gap!r} became {new_gap!r}")
            continue
        for kind, string in old_keys[i1:i2]:
            allowed = string in comments_ok if kind == tokenize.COMMENT else string in removed_ok
            if not allowed:
                problems.append(f"removed {string!r}")
        for kind, string in new_keys[j1:j2]:
            if (kind == tokenize.COMMENT and not template.comments_copied) or (kind != tokenize.COMMENT and string not in added_ok):
                problems.append(f"added {string!r}")
    return problems


def _settings(template: Template) -> Settings:
    return Settings(select=(template.code,), target_keras=template.flavour)


@pytest.mark.parametrize("template", TEMPLATES, ids=[f"{t.code}-{t.name}" for t in TEMPLATES])
@settings(max_examples=int(os.environ.get("METRICLINT_LAYOUT_EXAMPLES", "25")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_fix_changes_only_its_tokens(template: Template, data) -> None:
    text, how = data.draw(programs(template))
    compile(text, "<generated>", "exec")  # the generator itself writes valid programs
    result = fix_text(text, "example.py", _settings(template), unsafe=True)
    fixed = result.fixed.get(template.code, 0)
    event(f"{template.code}-{template.name}: fixed" if fixed else f"{template.code}-{template.name}: MISSED")
    assert fixed >= 1, f"the rule was not hit ({how}):\n{text}"
    left = [d for d in result.diagnostics if d.code == template.code and d.fix is not None]
    assert not left, f"fixes left over: {[d.message for d in left]}\n{result.text}"
    compile(result.text, "<fixed>", "exec")
    problems = layout_violations(template, text, result.text)
    assert not problems, f"{how}\\n{problems}\n--- before\n{text}--- after\n{result.text}"


# --- the checker itself ---------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(a=st.lists(st.sampled_from("abc"), max_size=6), b=st.lists(st.sampled_from("abc"), max_size=6),
       weights=st.lists(st.integers(1, 10), min_size=36, max_size=36),
       bonuses=st.lists(st.integers(-5, 3), min_size=36, max_size=36))
def test_aligner_finds_the_heaviest_pairing(a, b, weights, bonuses):
    """`opcodes` against every pairing, on small lists: its opcodes rebuild `b` from `a`, and no
    other pairing scores more."""
    score = lambda i, j: weights[i * 6 + j]  # noqa: E731
    together = lambda i, j: bonuses[i * 6 + j]  # noqa: E731
    ops = opcodes(a, b, score, together)
    rebuilt = []
    for tag, i1, i2, j1, j2 in ops:
        assert tag != "equal" or a[i1:i2] == b[j1:j2]
        rebuilt += b[j1:j2]
    assert rebuilt == b

    def value(pairs):
        taken = set(pairs)
        return sum(score(i, j) for i, j in pairs) + sum(together(i, j) for i, j in pairs if (i + 1, j + 1) in taken)

    found = [(i1 + k, j1 + k) for tag, i1, i2, j1, _ in ops if tag == "equal" for k in range(i2 - i1)]
    candidates = [(i, j) for i in range(len(a)) for j in range(len(b)) if a[i] == b[j]]
    best = 0

    def search(start, chosen):
        nonlocal best
        best = max(best, value(chosen))
        for index in range(start, len(candidates)):
            i, j = candidates[index]
            if not chosen or (i > chosen[-1][0] and j > chosen[-1][1]):
                search(index + 1, chosen + [(i, j)])

    search(0, [])
    assert value(found) == best


_NESTED = next(t for t in TEMPLATES if t.name == "nested_backend")
_BEFORE = (
    "import keras\nfrom keras import backend as K\nclass C:\n    def m(self, x):\n"
    "        y = K.expand_dims(x,  # the input\n"
    "                          dim)\n"
)


@pytest.mark.parametrize("after,found", [
    # libcst's rendering of a nested call: the continuation line lost the method's indentation
    (_BEFORE.replace("K.expand_dims(x,", "keras.ops.expand_dims(x,").replace("                          dim)", "                  dim)"),
     "between '# the input' and 'dim'"),
    # a comment dropped
    (_BEFORE.replace("K.expand_dims(x,  # the input", "keras.ops.expand_dims(x,"), "removed '# the input'"),
    # a token the fix does not name
    (_BEFORE.replace("K.expand_dims(x,", "keras.ops.expand_dims(x + 0,"), "added '+'"),
])
def test_layout_check_is_not_vacuous(after, found):
    problems = layout_violations(_NESTED, _BEFORE, after)
    assert any(found in p for p in problems), problems
    assert layout_violations(_NESTED, _BEFORE, _BEFORE.replace("K.expand_dims(x,", "keras.ops.expand_dims(x,")) == []


# --- the shapes issue 18 named, as fixed -------------------------------------------------------------------------
def _fixed(code: str, text: str) -> str:
    result = fix_text(text, "example.py", Settings(select=(code,), target_keras="3"), unsafe=True)
    assert result.fixed.get(code), result.diagnostics
    return result.text


def test_add_weight_in_a_method_keeps_its_layout():
    before = (
        "import keras\nimport tensorflow as tf\n\n\n"
        "class Total(keras.metrics.Metric):\n"
        "    def __init__(self, name=\"total\", **kwargs):\n"
        "        super().__init__(name=name, **kwargs)\n"
        "        with tf.name_scope(name):\n"
        "            self.total = self.add_weight(\n"
        "                \"total\",  # the state\n"
        "                shape=(),\n"
        "                initializer=\"zeros\",\n"
        "                aggregation=tf.VariableAggregation.SUM,\n"
        "                synchronization=tf.VariableSynchronization.ON_READ,\n"
        "            )\n"
        "            self.count = self.add_weight(\"count\", (),\n"
        "                                         initializer=\"zeros\",\n"
        "                                         aggregation=tf.VariableAggregation.SUM)\n"
    )
    after = (
        "import keras\nimport tensorflow as tf\n\n\n"
        "class Total(keras.metrics.Metric):\n"
        "    def __init__(self, name=\"total\", **kwargs):\n"
        "        super().__init__(name=name, **kwargs)\n"
        "        with tf.name_scope(name):\n"
        "            self.total = self.add_weight(\n"
        "                name=\"total\",  # the state\n"
        "                shape=(),\n"
        "                initializer=\"zeros\",\n"
        "            )\n"
        "            self.count = self.add_weight(name=\"count\", shape=(),\n"
        "                                         initializer=\"zeros\")\n"
    )
    assert _fixed("KM106", before) == after


def test_nested_backend_calls_in_a_method_keep_their_layout():
    before = (
        "import keras\nfrom keras import backend as K\n\n\n"
        "class CRF(keras.layers.Layer):\n"
        "    def step(self, inputs, states):\n"
        "        if len(states) > 3:\n"
        "            m = states[3]\n"
        "            chain_energy = states[1] * K.expand_dims(\n"
        "                K.expand_dims(m[:, 0] * m[:, 1]))\n"
        "            energy = K.expand_dims(K.expand_dims(inputs,\n"
        "                                                 -1),\n"
        "                                   -1)\n"
        "            return K.max(chain_energy,\n"
        "                         axis=1) + energy\n"
    )
    after = (
        "import keras\nfrom keras import backend as K\n\n\n"
        "class CRF(keras.layers.Layer):\n"
        "    def step(self, inputs, states):\n"
        "        if len(states) > 3:\n"
        "            m = states[3]\n"
        "            chain_energy = states[1] * keras.ops.expand_dims(\n"
        "                keras.ops.expand_dims(m[:, 0] * m[:, 1], axis=-1), axis=-1)\n"
        "            energy = keras.ops.expand_dims(keras.ops.expand_dims(inputs,\n"
        "                                                 -1),\n"
        "                                   -1)\n"
        "            return keras.ops.max(chain_energy,\n"
        "                         axis=1) + energy\n"
    )
    assert _fixed("KM107", before) == after


def test_fit_generator_in_a_method_keeps_its_layout():
    before = (
        "import keras\n\n\n"
        "class Trainer:\n"
        "    def __init__(self):\n"
        "        self.model = keras.Sequential([keras.layers.Dense(1)])\n"
        "        self.model.compile(loss=\"mse\")\n\n"
        "    def train(self, train_generator, val_generator, epochs):\n"
        "        for stage in range(2):\n"
        "            history = self.model.fit_generator(\n"
        "                train_generator,\n"
        "                100,  # steps per epoch\n"
        "                epochs,\n"
        "                callbacks=[],\n"
        "                validation_data=val_generator,\n"
        "                validation_steps=10,\n"
        "                max_queue_size=100,\n"
        "                workers=4,\n"
        "                use_multiprocessing=True,\n"
        "            )\n"
        "            self.model.fit_generator(train_generator, 50, epochs, verbose=0,\n"
        "                                     workers=4)\n"
        "        return history\n"
    )
    after = (
        "import keras\n\n\n"
        "class Trainer:\n"
        "    def __init__(self):\n"
        "        self.model = keras.Sequential([keras.layers.Dense(1)])\n"
        "        self.model.compile(loss=\"mse\")\n\n"
        "    def train(self, train_generator, val_generator, epochs):\n"
        "        for stage in range(2):\n"
        "            history = self.model.fit(\n"
        "                train_generator,\n"
        "                steps_per_epoch=100,  # steps per epoch\n"
        "                epochs=epochs,\n"
        "                callbacks=[],\n"
        "                validation_data=val_generator,\n"
        "                validation_steps=10,\n"
        "            )\n"
        "            self.model.fit(train_generator, steps_per_epoch=50, epochs=epochs, verbose=0)\n"
        "        return history\n"
    )
    assert _fixed("KM101", before) == after


# The other rules whose fixes changed calls: each edit in place, the rest of the call as written.
_MORE_SHAPES = [
    pytest.param(
        'KM105',
        (
            'import keras\n'
            'import tensorflow as tf\n'
            '\n'
            '\n'
            'class ActivityLogger(keras.layers.Layer):\n'
            '    def __init__(self, **kwargs):\n'
            '        super().__init__(**kwargs)\n'
            '\n'
            '    def call(self, x):\n'
            '        if self.trainable:\n'
            '            self.add_metric(\n'
            '                tf.reduce_mean(x),  # batch mean\n'
            '                name="activity_mean",\n'
            '                aggregation="mean",\n'
            '            )\n'
            '        return x\n'
        ),
        (
            'import keras\n'
            'import tensorflow as tf\n'
            '\n'
            '\n'
            'class ActivityLogger(keras.layers.Layer):\n'
            '    def __init__(self, **kwargs):\n'
            '        super().__init__(**kwargs)\n'
            '        self.activity_mean = keras.metrics.Mean(name="activity_mean")\n'
            '\n'
            '    def call(self, x):\n'
            '        if self.trainable:\n'
            '            self.activity_mean.update_state(\n'
            '                tf.reduce_mean(x),  # batch mean\n'
            '            )\n'
            '        return x\n'
        ),
        id='KM105',
    ),
    # a model: the statement moves into compute_loss with the value's lines and comments as written
    pytest.param(
        'KM105',
        (
            'import keras\n'
            '\n'
            '\n'
            'class Net(keras.Model):\n'
            '    def __init__(self, **kwargs):\n'
            '        super().__init__(**kwargs)\n'
            '        self.dense = keras.layers.Dense(1)\n'
            '\n'
            '    def call(self, inputs, training=None):\n'
            '        self.add_metric(keras.ops.mean(\n'
            '            keras.ops.abs(inputs),  # magnitude\n'
            '        ), name="activity_mean")  # logged per epoch\n'
            '        return self.dense(inputs)\n'
            '\n'
            '    def get_config(self):\n'
            '        return {}\n'
        ),
        (
            'import keras\n'
            '\n'
            '\n'
            'class Net(keras.Model):\n'
            '    def __init__(self, **kwargs):\n'
            '        super().__init__(**kwargs)\n'
            '        self.activity_mean = keras.metrics.Mean(name="activity_mean")\n'
            '        self.dense = keras.layers.Dense(1)\n'
            '\n'
            '    def call(self, inputs, training=None):\n'
            '        return self.dense(inputs)\n'
            '\n'
            '    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):\n'
            '        self.activity_mean.update_state(keras.ops.mean(\n'
            '            keras.ops.abs(x),  # magnitude\n'
            '        ))  # logged per epoch\n'
            '        return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)\n'
            '\n'
            '    def get_config(self):\n'
            '        return {}\n'
        ),
        id='KM105-compute_loss',
    ),
    pytest.param(
        'KM108',
        (
            'import keras\n'
            '\n'
            '\n'
            'def report(x, y):\n'
            '    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])\n'
            '    model.compile(loss="binary_crossentropy", metrics=["accuracy"])\n'
            '    if x is not None:\n'
            '        scores = dict(zip(model.metrics_names,\n'
            '                          model.evaluate(x, y,\n'
            '                                         batch_size=32,\n'
            '                                         verbose=0)))\n'
            '        return scores\n'
        ),
        (
            'import keras\n'
            '\n'
            '\n'
            'def report(x, y):\n'
            '    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])\n'
            '    model.compile(loss="binary_crossentropy", metrics=["accuracy"])\n'
            '    if x is not None:\n'
            '        scores = model.evaluate(x, y,\n'
            '                                         batch_size=32,\n'
            '                                         verbose=0,\n'
            '                                         return_dict=True)\n'
            '        return scores\n'
        ),
        id='KM108',
    ),
    pytest.param(
        'KM209',
        (
            'import keras\n'
            '\n'
            '\n'
            'def train():\n'
            '    auc = keras.metrics.AUC(\n'
            '        num_thresholds=50,  # enough\n'
            "        curve='PR',\n"
            '    )\n'
            "    a = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
            "    b = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
            "    a.compile(loss='bce', metrics=[auc])\n"
            '    if True:\n'
            '        b.compile(\n'
            "            loss='bce',\n"
            '            metrics=[auc],\n'
            '        )\n'
        ),
        (
            'import keras\n'
            '\n'
            '\n'
            'def train():\n'
            '    auc = keras.metrics.AUC(\n'
            '        num_thresholds=50,  # enough\n'
            "        curve='PR',\n"
            '    )\n'
            "    a = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
            "    b = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
            "    a.compile(loss='bce', metrics=[auc])\n"
            '    if True:\n'
            '        b.compile(\n'
            "            loss='bce',\n"
            '            metrics=[keras.metrics.AUC(\n'
            '                num_thresholds=50,  # enough\n'
            "                curve='PR',\n"
            '                name="auc",\n'
            '            )],\n'
            '        )\n'
        ),
        id='KM209',
    ),
    pytest.param(
        'KM210',
        (
            'import tensorflow as tf\n'
            'import keras\n'
            '\n'
            '\n'
            'class MeanAbove(keras.metrics.Metric):\n'
            '    def __init__(self, **kw):\n'
            '        super().__init__(**kw)\n'
            '        self.total = self.add_weight(name="total", initializer="zeros")\n'
            '        self.count = self.add_weight(name="count", initializer="zeros")\n'
            '\n'
            '    def result(self):\n'
            '        return tf.identity((self.total  # the sum\n'
            '                            + 0.0) /\n'
            '                           self.count)\n'
        ),
        (
            'import tensorflow as tf\n'
            'import keras\n'
            '\n'
            '\n'
            'class MeanAbove(keras.metrics.Metric):\n'
            '    def __init__(self, **kw):\n'
            '        super().__init__(**kw)\n'
            '        self.total = self.add_weight(name="total", initializer="zeros")\n'
            '        self.count = self.add_weight(name="count", initializer="zeros")\n'
            '\n'
            '    def result(self):\n'
            '        return tf.identity(tf.math.divide_no_nan(self.total  # the sum\n'
            '                            + 0.0,\n'
            '                           self.count))\n'
        ),
        id='KM210',
    ),
]


@pytest.mark.parametrize("code,before,after", _MORE_SHAPES)
def test_more_fixes_keep_the_layout(code, before, after):
    assert _fixed(code, before) == after
