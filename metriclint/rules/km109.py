"""KM109: `model.reset_states()` on a Keras 3 model (the method is gone: AttributeError)."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ..diagnostics import Safety
from ..facts.collect import CallSite
from ..facts.entries import RESET_STATES_CALLS
from ..keras.symbols import MODEL
from ..locate import Locator
from .base import KERAS3_ONLY, Example, Finding, FixPlan, Rule, RuleContext
from .common import names_used

_LOOP_NAMES = ("layer", "stateful_layer", "model_layer")


class ModelResetStates(Rule):
    code = "KM109"
    name = "model-reset-states"
    summary = "`model.reset_states()` raises AttributeError on Keras 3; reset the stateful layers instead"
    flavours = KERAS3_ONLY
    fix_safety = Safety.UNSAFE
    needs = (RESET_STATES_CALLS,)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        if _probes_for_reset_states(ctx):
            return  # `if hasattr(model, "reset_states"):` compatibility code: it already copes
        for site in RESET_STATES_CALLS.sites(ctx.facts):
            func = site.node.func
            if not isinstance(func, cst.Attribute) or site.node.args:
                continue
            model = ctx.resolver.instance(func.value, site.scope, MODEL)
            if model is None or model.by_use:
                continue  # RNN layers, metrics (KM103), agents, processes, objects of unknown class: not ours
            if model.local_class is not None and ctx.resolver.class_defines(model.local_class, "reset_states"):
                continue  # the user's model defines reset_states itself
            yield self._finding(ctx, site, func)

    def _finding(self, ctx: RuleContext, site: CallSite, func: cst.Attribute) -> Finding:
        message = (
            "`Model.reset_states()` does not exist on Keras 3 (AttributeError). AttributeError: '...' object has "
            "no attribute 'reset_states'; reset the stateful layers: `for layer in model.layers: if getattr(layer, "
            "\"stateful\", False): layer.reset_states()` (works on tf_keras too)"
        )
        statement = site.statement
        if (
            statement is None
            or len(statement.body) != 1
            or not isinstance(statement.body[0], cst.Expr)
            or statement.body[0].value is not site.node
        ):
            return Finding(func.attr, message)  # inside an expression (a lambda, a condition): report only
        scope_node = site.scope.node
        taken = names_used(scope_node) | set(site.scope.bindings)
        loop_name = next((n for n in _LOOP_NAMES if n not in taken), None)
        if loop_name is None:
            return Finding(func.attr, message)
        receiver = func.value
        call = site.node
        unit = ctx.module.default_indent

        def build(loc: Locator):
            start = loc.start(call)
            line = loc.lines.line_text(start.line)
            indent = line[: len(line) - len(line.lstrip())]
            owner = loc.code(receiver)
            nl = loc.newline
            text = (
                f"for {loop_name} in {owner}.layers:{nl}"
                f"{indent}{unit}if getattr({loop_name}, \"stateful\", False):{nl}"
                f"{indent}{unit}{unit}{loop_name}.reset_states()"
            )
            # the whole expression statement: `(model.reset_states())` keeps no bracket around the loop
            return [loc.replace(statement.body[0], text)]

        return Finding(
            func.attr,
            message,
            FixPlan(Safety.UNSAFE, "Reset each stateful layer (nested models are not recursed into)", build),
        )


def _probes_for_reset_states(ctx: RuleContext) -> bool:
    """Whether the file asks `hasattr(x, "reset_states")` / `getattr(x, "reset_states", ...)`."""
    for site in ctx.facts.method_calls("hasattr", "getattr"):
        if not isinstance(site.node.func, cst.Name):
            continue
        args = site.node.args
        if len(args) >= 2 and isinstance(args[1].value, cst.SimpleString) and args[1].value.evaluated_value == "reset_states":
            return True
    return False


# --- examples (run by tests/test_rule_examples.py) ---------------------------------------------
_HEAD = "import keras\n"
_SEQ = (
    "model = keras.Sequential([keras.Input((5, 2), batch_size=4), keras.layers.LSTM(8, stateful=True),"
    " keras.layers.Dense(1)])\n"
)

ModelResetStates.valid = (
    # a model of a class metriclint cannot read, known only by its Keras-style compile: its class
    # may define reset_states
    Example("from tensorflow import keras\nfrom zoo import build_net\nnet = build_net()\n"
            "net.compile(optimizer='adam', loss='mse')\nnet.reset_states()\n"),
    # RNN layers keep reset_states (and tf_keras's RNN layers have no reset_state)
    Example(_HEAD + "lstm = keras.layers.LSTM(4, stateful=True)\nlstm.reset_states()\n"),
    # metrics are KM103's
    Example(_HEAD + "m = keras.metrics.Mean()\nm.reset_states()\n"),
    # Keras 2: Model.reset_states exists
    Example("import tf_keras as keras\nmodel = keras.Sequential()\nmodel.reset_states()\n", flavour="2"),
    Example("from tensorflow import keras\nmodel = keras.Sequential()\nmodel.reset_states()\n", flavour="2"),
    # unknown receivers: agents, parameters
    Example(_HEAD + "agent = make_agent()\nagent.reset_states()\n"),
    Example(_HEAD + "def run(model):\n    model.reset_states()\n"),
    # the user's model class defines reset_states
    Example(
        _HEAD + "class Net(keras.Model):\n    def reset_states(self):\n        pass\nnet = Net()\nnet.reset_states()\n"
    ),
    Example(_HEAD + _SEQ + "# model.reset_states()\ns = 'model.reset_states()'\n"),
    # compatibility code that checks first
    Example(_HEAD + _SEQ + "if hasattr(model, 'reset_states'):\n    model.reset_states()\n"),
    Example(_HEAD + _SEQ + "for layer in model.layers:\n    if getattr(layer, 'stateful', False):\n        layer.reset_states()\n"),
)

_LOOP = (
    "for layer in model.layers:\n"
    "    if getattr(layer, \"stateful\", False):\n"
    "        layer.reset_states()\n"
)

ModelResetStates.invalid = (
    Example(_HEAD + _SEQ + "model.reset_states()\n", fixed=_HEAD + _SEQ + _LOOP, safety="unsafe"),
    Example(
        "import tensorflow as tf\nmodel = tf.keras.models.load_model('m.keras')\n"
        "for seq in data:\n    model.reset_states()  # new sequence\n    model.predict(seq)\n",
        fixed="import tensorflow as tf\nmodel = tf.keras.models.load_model('m.keras')\n"
        "for seq in data:\n    for layer in model.layers:\n        if getattr(layer, \"stateful\", False):\n"
        "            layer.reset_states()  # new sequence\n    model.predict(seq)\n",
        safety="unsafe",
    ),
    Example(
        "from tensorflow.keras.models import Sequential\nfrom tensorflow.keras.layers import LSTM\n"
        "model = Sequential([LSTM(4, stateful=True)])\nlayer = 3\nmodel.reset_states()\nprint(layer)\n",
        fixed="from tensorflow.keras.models import Sequential\nfrom tensorflow.keras.layers import LSTM\n"
        "model = Sequential([LSTM(4, stateful=True)])\nlayer = 3\n"
        "for stateful_layer in model.layers:\n    if getattr(stateful_layer, \"stateful\", False):\n"
        "        stateful_layer.reset_states()\nprint(layer)\n",
        safety="unsafe",
    ),
    # a callback resetting its model each epoch
    Example(
        "from keras.callbacks import Callback\nclass Reset(Callback):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n        self.model.reset_states()\n",
        fixed="from keras.callbacks import Callback\nclass Reset(Callback):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n        for layer in self.model.layers:\n"
        "            if getattr(layer, \"stateful\", False):\n                layer.reset_states()\n",
        safety="unsafe",
    ),
    # inside a lambda: reported, not fixed
    Example(
        _HEAD + _SEQ + "cb = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: model.reset_states())\n",
        fixed=_HEAD + _SEQ + "cb = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: model.reset_states())\n",
        safety="none",
    ),
    Example(
        "from keras.models import Model\nmodel = Model(inputs, outputs)\nif stateful: model.reset_states()\n",
        safety="none",
    ),
)
