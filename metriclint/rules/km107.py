"""KM107: math through standalone `keras.backend` (`K.sum`, `K.round`, …), gone in Keras 3."""

from __future__ import annotations

from typing import Iterator, List, Optional

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import AttributeSite, dotted_name
from ..facts.entries import Reaches
from ..facts.values import Dotted
from ..keras.backend_ops import KERAS3_BACKEND_NAMES, NO_TWIN_ADVICE, NO_TWIN_DEFAULT, OPS_TWINS, OpsTwin
from ..locate import Locator
from .base import KERAS3_ONLY, Example, Finding, FixPlan, Rule, RuleContext
from .common import add_keywords, insert_line_after

_STANDALONE_BACKEND = "keras.backend"


class StandaloneBackendMath(Rule):
    code = "KM107"
    name = "keras3-backend-math"
    summary = "`keras.backend` math (`K.sum`, `K.round`, …) does not exist in standalone Keras 3; use `keras.ops`"
    flavours = KERAS3_ONLY
    fix_safety = Safety.SAFE
    needs = (Reaches(_STANDALONE_BACKEND),)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        calls = {site.node.func: site.node for site in ctx.facts.calls}
        for name, sites in ctx.facts.attributes.items():
            if name in KERAS3_BACKEND_NAMES or name.startswith("_"):
                continue
            for site in sites:
                if dotted_name(site.node.value) is None:
                    continue
                owner = ctx.resolver.resolve(site.node.value, site.scope)
                if not (isinstance(owner, Dotted) and owner.path == _STANDALONE_BACKEND):
                    continue
                yield self._finding(ctx, site, name, calls.get(site.node))

    def _finding(self, ctx: RuleContext, site: AttributeSite, op: str, call: Optional[cst.Call]) -> Finding:
        head = f"`keras.backend.{op}` does not exist in Keras 3 (AttributeError). It fails when this line runs"
        twin = OPS_TWINS.get(op)
        if twin is None or call is None:
            advice = NO_TWIN_ADVICE.get(op, NO_TWIN_DEFAULT)
            return Finding(site.node, f"{head}; {advice}")
        if not _same_signature(call, twin):
            return Finding(site.node, f"{head}; use `keras.ops.{twin.name}` (check its arguments: they differ here)")
        reference, import_edit = _keras_reference(ctx, site)
        if reference is None:
            return Finding(site.node, f"{head}; use `keras.ops.{twin.name}`")

        def build(loc: Locator) -> List[Edit]:
            edits = _ops_call(loc, call, twin, reference)
            if import_edit is not None:
                edits.append(import_edit(loc))
            return edits

        return Finding(site.node, f"{head}; use `keras.ops.{twin.name}`",
                       FixPlan(Safety.SAFE, f"Replace with `keras.ops.{twin.name}`", build))


def _same_signature(call: cst.Call, twin: OpsTwin) -> bool:
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star for a in call.args) or len(positional) > twin.max_args:
        return False
    if any(a.keyword is not None and a.keyword.value not in twin.keywords for a in call.args):
        return False
    if twin.name == "where" and any(isinstance(a.value, cst.Lambda) for a in call.args):
        return False  # K.switch takes callables; keras.ops.where does not
    return True


def _keras_reference(ctx: RuleContext, site: AttributeSite):
    """(`keras`, optional edit builder adding `import keras`) or (None, None) when unsure."""
    keras_bindings = ctx.facts.root.bindings.get("keras") or []
    # read off the import bindings (not `common.names_standalone_keras`: it resolves a temporary
    # `cst.Name`, and `Resolver.resolve` memoises by `id(node)`, so a reused id gives a stale value)
    if keras_bindings and all(b.how == "import" and b.dotted == "keras" for b in keras_bindings):
        return "keras", None
    if keras_bindings:
        return None, None  # `keras` means something else here
    # Add `import keras` right after the module-level import that made the backend name.
    head = dotted_name(site.node.value).split(".")[0]  # type: ignore[union-attr]
    bindings = ctx.facts.root.bindings.get(head) or []
    imports = [b for b in bindings if b.how == "import" and b.node is not None]
    if not imports:
        return None, None
    statement = ctx.facts.import_statement.get(imports[0].node)
    if statement is None:
        return None, None
    return "keras", lambda loc: insert_line_after(loc, statement, "import keras")


def _ops_call(loc: Locator, call: cst.Call, twin: OpsTwin, reference: str) -> List[Edit]:
    """Rename the callee and add the twin's defaults; the arguments (a nested `K.` call the other
    fix rewrites among them) stay as they are."""
    positional = [a for a in call.args if a.keyword is None]
    present = {a.keyword.value for a in call.args if a.keyword is not None}
    # the default applies only when neither a keyword nor the positional slot gives it
    defaults = [(k, v) for k, v in twin.defaults if k not in present and len(positional) < 2]
    edits = [loc.replace(call.func, f"{reference}.ops.{twin.name}")]
    return edits + add_keywords(loc, call, defaults)


StandaloneBackendMath.valid = (
    # tf.keras.backend and tf_keras.backend keep the Keras 2 set
    Example("import tensorflow as tf\nK = tf.keras.backend\ny = K.sum(x)\n"),
    Example("from tensorflow.keras import backend as K\ny = K.round(K.clip(x, 0, 1))\n"),
    Example("import tf_keras.backend as K\ny = K.sum(x)\n", flavour="2"),
    # what Keras 3's backend still has
    Example("from keras import backend as K\ne = K.epsilon()\nf = K.floatx()\nK.clear_session()\n"),
    # Keras 2 target: standalone keras 2 has the math
    Example("from keras import backend as K\ny = K.sum(x)\n", flavour="2"),
    # another library's backend
    Example("import keras\nfrom mylib import backend as K\ny = K.sum(x)\n"),
)

StandaloneBackendMath.invalid = (
    Example(
        "from keras import backend as K\ny = K.sum(K.round(K.clip(x, 0, 1)))\n",
        fixed="from keras import backend as K\nimport keras\ny = keras.ops.sum(keras.ops.round(keras.ops.clip(x, 0, 1)))\n",
        count=3,
        safety="safe",
    ),
    Example(
        "import keras\nimport keras.backend as K\ny = K.argmax(p)\nz = K.mean(x, axis=1)\n",
        fixed="import keras\nimport keras.backend as K\ny = keras.ops.argmax(p, axis=-1)\nz = keras.ops.mean(x, axis=1)\n",
        count=2,
        safety="safe",
    ),
    Example(
        "import keras\ndef f1(y_true, y_pred):\n    tp = keras.backend.sum(y_true * y_pred)\n    return tp / (keras.backend.sum(y_pred) + keras.backend.epsilon())\n",
        fixed="import keras\ndef f1(y_true, y_pred):\n    tp = keras.ops.sum(y_true * y_pred)\n    return tp / (keras.ops.sum(y_pred) + keras.backend.epsilon())\n",
        count=2,
        safety="safe",
    ),
    # no same-signature twin: reported, not fixed
    Example("import keras\nfrom keras import backend as K\nn = K.int_shape(x)\n",
            fixed="import keras\nfrom keras import backend as K\nn = K.int_shape(x)\n",
            safety="none",),
    Example("import keras\nfrom keras import backend as K\ny = K.switch(c, lambda: a, lambda: b)\n",
            fixed="import keras\nfrom keras import backend as K\ny = K.switch(c, lambda: a, lambda: b)\n",
            safety="none",),
)
