"""KM001: `# noqa` codes of metriclint's that suppress nothing (computed by the engine, not from facts)."""

from __future__ import annotations

from typing import FrozenSet, Iterator

from ..diagnostics import Safety
from ..suppression import UNUSED_NOQA
from .base import Example, Finding, Rule, RuleContext


class UnusedNoqa(Rule):
    """Reported by `engine.lint_text` after suppression, when it knows which directives were used.

    The rule class is here for the registry (selection, `metriclint rules`, SARIF metadata, docs)
    and for its examples; it never fires from facts.
    """

    code = UNUSED_NOQA
    name = "unused-noqa"
    summary = "`# noqa` codes of metriclint's that suppress nothing (unused, non-enabled, duplicated or unknown)"
    fix_safety = Safety.SAFE
    from_suppressions = True

    @classmethod
    def triggers(cls) -> FrozenSet[str]:
        return frozenset()

    @classmethod
    def could_fire(cls, summary) -> bool:
        return False

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        return iter(())


_HEAD = "import keras\nmetric = keras.metrics.Mean()\n"

UnusedNoqa.valid = (
    # a bare noqa also serves other linters: never reported
    Example(_HEAD + "metric.reset_state()  # noqa\n"),
    # other tools' codes are theirs
    Example(_HEAD + "metric.reset_state()  # noqa: E501, F401\n"),
    Example(_HEAD + "x = '# noqa: KM103'\n"),
    # `# noqa: KM001` turns the check off for its line
    Example(_HEAD + "metric.reset_state()  # noqa: KM103, KM001\n"),
    # a file-level `# metriclint: noqa` covers KM001 too
    Example("# metriclint: noqa\n" + _HEAD + "metric.reset_state()  # noqa: KM103\n"),
)

UnusedNoqa.invalid = (
    Example(
        _HEAD + "metric.reset_state()  # noqa: KM103\n",
        fixed=_HEAD + "metric.reset_state()\n",
        safety="safe",
    ),
    Example(
        _HEAD + "metric.reset_state()  # noqa: E501, KM103\n",
        fixed=_HEAD + "metric.reset_state()  # noqa: E501\n",
        safety="safe",
    ),
    Example(_HEAD + "metric.reset_state()  # noqa: KM999  # type: ignore\n",
            fixed=_HEAD + "metric.reset_state()  # type: ignore\n",
            safety="safe",),
    Example(_HEAD + "metric.reset_state()  # noqa: KM103 -- Keras 2 only\n",
            fixed=_HEAD + "metric.reset_state()  # -- Keras 2 only\n",
            safety="safe",),
    Example(
        _HEAD + "# noqa: KM2\nmetric.reset_state()\n",
        fixed=_HEAD + "metric.reset_state()\n",
        safety="safe",
    ),
    Example("x = 1  # noqa: KM101, km101\n", fixed="x = 1\n", safety="safe"),
)
