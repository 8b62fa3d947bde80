"""KM107: math through standalone `keras.backend` (`K.sum`, `K.round`, …), gone in Keras 3."""

from __future__ import annotations

from typing import FrozenSet, Iterator, List, Optional

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import AttributeSite, dotted_name
from ..facts.values import Dotted
from ..keras.backend_ops import KERAS3_BACKEND_NAMES, NO_TWIN_ADVICE, OPS_TWINS, OpsTwin
from ..locate import Locator
from .base import KERAS3_ONLY, Example, Finding, FixPlan, Rule, RuleContext
from .common import insert_line_after

_STANDALONE_BACKEND = "keras.backend"


class StandaloneBackendMath(Rule):
    code = "KM107"
    name = "keras3-backend-math"
    summary = "`keras.backend` math (`K.sum`, `K.round`, …) does not exist in standalone Keras 3; use `keras.ops`"
    flavours = KERAS3_ONLY
    fix_safety = Safety.SAFE

    @classmethod
    def triggers(cls) -> FrozenSet[str]:
        return frozenset({"backend"})

    @classmethod
    def could_fire(cls, summary) -> bool:
        # standalone Keras's backend, imported by name or reached as `keras.backend` (`k.backend`
        # after `import keras as k`); Keras's own `from keras.src import backend` is another module
        return "backend" in summary.tokens and (
            "keras.backend" in summary.imports
            or any(i.startswith("keras.backend.") for i in summary.imports)
            or ("keras" in summary.imports and "keras.backend" in summary.module_attributes)
        )

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
        head = f"`keras.backend.{op}` does not exist in Keras 3 (AttributeError when traced)"
        twin = OPS_TWINS.get(op)
        if twin is None or call is None:
            advice = NO_TWIN_ADVICE.get(op, "rewrite it with `keras.ops`")
            return Finding(site.node, f"{head}; {advice}")
        if not _same_signature(call, twin):
            return Finding(site.node, f"{head}; use `keras.ops.{twin.name}` (check its arguments: they differ here)")
        reference, import_edit = _keras_reference(ctx, site)
        if reference is None:
            return Finding(site.node, f"{head}; use `keras.ops.{twin.name}`")
        new_call = _ops_call(call, twin, reference)

        def build(loc: Locator) -> List[Edit]:
            edits = [loc.replace(call, new_call)]
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


def _ops_call(call: cst.Call, twin: OpsTwin, reference: str) -> cst.Call:
    args = list(call.args)
    positional = [a for a in args if a.keyword is None]
    present = {a.keyword.value for a in args if a.keyword is not None}
    for keyword, value in twin.defaults:
        # the default applies only when neither a keyword nor the positional slot gives it
        if keyword in present or len(positional) >= 2:
            continue
        if args:
            last = args[-1]
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(
            cst.Arg(
                keyword=cst.Name(keyword),
                equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
                value=cst.parse_expression(value),
                comma=call.args[-1].comma if call.args else cst.MaybeSentinel.DEFAULT,
            )
        )
    return call.with_changes(func=cst.parse_expression(f"{reference}.ops.{twin.name}"), args=args)


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
