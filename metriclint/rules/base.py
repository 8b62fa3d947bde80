"""The rule interface: a rule reads a file's facts and yields findings; that is all it does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ClassVar, FrozenSet, Iterator, List, Mapping, Optional, Sequence, Tuple

import libcst as cst

from ..diagnostics import Edit, Safety
from ..facts.collect import ModuleFacts
from ..facts.entries import Entry, all_present, trigger_words
from ..facts.resolve import Resolver
from ..locate import Locator
from ..prefilter import Summary

BOTH_FLAVOURS: FrozenSet[str] = frozenset({"2", "3"})
KERAS3_ONLY: FrozenSet[str] = frozenset({"3"})


@dataclass(frozen=True)
class FixPlan:
    """A fix whose edits are built once positions are known (only for files with findings)."""

    safety: Safety
    message: str
    build: Callable[[Locator], List[Edit]]


@dataclass(frozen=True)
class Finding:
    node: cst.CSTNode  # where the diagnostic points
    message: str
    fix: Optional[FixPlan] = None


@dataclass
class RuleContext:
    """What a rule may read: the parsed module, its facts, and the file's Keras flavour."""

    module: cst.Module
    facts: ModuleFacts
    resolver: Resolver
    flavour: str  # "2" or "3"
    path: str
    cache: dict = field(default_factory=dict)  # per-file memo shared by rules (derived facts)


@dataclass(frozen=True)
class Example:
    """A rule's own test case (as in Fixit): one harness runs every rule's examples.

    For an invalid example, `count` diagnostics of the rule's code are expected, and `safety`
    says what the fix does: "none" (no fix: even `fix --unsafe-fixes` leaves `code` as it is;
    `fixed` is None or `code`), "safe" (`fix` alone turns `code` into exactly `fixed`) or
    "unsafe" (`fix` leaves `code` as it is, `fix --unsafe-fixes` turns it into exactly `fixed`).
    A valid example states neither.
    """

    code: str
    fixed: Optional[str] = None
    flavour: str = "3"
    count: int = 1
    safety: Optional[str] = None  # "none" | "safe" | "unsafe", required on an invalid example


class Rule:
    """Subclass per rule. Class attributes are the rule's metadata; `check` is its logic."""

    code: ClassVar[str]
    name: ClassVar[str]  # kebab-case, like ruff's rule names
    summary: ClassVar[str]  # one line: what it finds
    flavours: ClassVar[FrozenSet[str]] = BOTH_FLAVOURS
    fix_safety: ClassVar[Optional[Safety]] = None  # the best fix it can offer; None: report only
    # True for KM001: the engine computes it from the suppression comments, after the other rules
    from_suppressions: ClassVar[bool] = False
    # The distinct rewrites the rule's fixes perform (name -> what it does), for a rule with
    # several: tests/runtime/test_fixtures.py requires a fixture that runs each one.
    rewrites: ClassVar[Mapping[str, str]] = {}
    valid: ClassVar[Sequence[Example]] = ()  # must stay silent
    invalid: ClassVar[Sequence[Example]] = ()  # must be reported (and fixed as given)
    # What the check starts from (facts/entries.py), every one necessary for a finding. The check
    # enumerates its candidates through these same entries, and the prefilter asks whether each
    # is present in a file's summary: the two cannot drift apart.
    needs: ClassVar[Tuple[Entry, ...]] = ()

    @classmethod
    def triggers(cls) -> FrozenSet[str]:
        """Identifiers, at least one of which must appear in a file for this rule to fire: the
        words of one of its needs (the cheap text test before the `ast` summary)."""
        words = trigger_words(cls.needs)
        if words is None:
            raise NotImplementedError(f"{cls.__name__} declares no needs")
        return words

    @classmethod
    def could_fire(cls, summary: "Summary") -> bool:
        """From a file's structural summary (stdlib `ast`): could this rule fire here? False
        skips the libcst parse when no enabled rule could. Every need must be present."""
        return all_present(cls.needs, summary)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        raise NotImplementedError
