"""Where a rule's check starts, readable from the libcst facts and from the prefilter's summary.

A rule states what it needs as entries (`Rule.needs`: every one must be present) and its check
enumerates its candidates through those same entries. The prefilter asks `present(summary)` of
the stdlib-`ast` summary and the check asks `sites(facts)` of the libcst facts: one table for
both, so the prefilter cannot skip a file the check would report on, whatever else is selected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, FrozenSet, List, Optional, Tuple

import libcst as cst

from ..keras.signatures import parameter_position
from .collect import AttributeSite, CallSite, ModuleFacts
from .values import Scope

if TYPE_CHECKING:  # pragma: no cover
    from ..prefilter import Summary
    from .arguments import Binding, Bound
    from .resolve import Resolver


@dataclass(frozen=True)
class Calls:
    """Calls `x.<name>(...)` or `<name>(...)` of any of `names`."""

    names: Tuple[str, ...]

    def present(self, summary: "Summary") -> bool:
        return not summary.called.isdisjoint(self.names)

    def sites(self, facts: ModuleFacts) -> List[CallSite]:
        return facts.method_calls(*self.names)

    def words(self) -> FrozenSet[str]:
        return frozenset(self.names)


@dataclass(frozen=True)
class Passes:
    """Calls of a model method that pass `parameter`: by keyword, by position (bound by the
    flavour's signature), or possibly through `*args`/`**kwargs`."""

    method: str
    parameter: str

    def present(self, summary: "Summary") -> bool:
        if (self.method, self.parameter) in summary.method_keywords or self.method in summary.starred_calls:
            return True
        position = parameter_position(summary.flavour, self.method, self.parameter)
        return position is not None and summary.positional.get(self.method, 0) > position

    def bind(self, resolver: "Resolver", call: cst.Call, scope: Scope, flavour: str) -> "Binding":
        """What this call passes to the parameter: `Bound`, None (certainly not) or UNKNOWN."""
        from .arguments import keras_argument

        return keras_argument(resolver, call, scope, self.method, self.parameter, flavour)

    def sites(self, facts: ModuleFacts, resolver: "Resolver", flavour: str) -> List[Tuple[CallSite, "Bound"]]:
        """(call site, what it passes to the parameter) for every call that certainly passes it."""
        from .arguments import Bound

        found = []
        for site in facts.method_calls(self.method):
            given = self.bind(resolver, site.node, site.scope, flavour)
            if isinstance(given, Bound):
                found.append((site, given))
        return found

    def words(self) -> FrozenSet[str]:
        return frozenset({self.method})


@dataclass(frozen=True)
class Keywords:
    """Calls of `x.<method>(...)` passing any of the keywords `names` by name."""

    method: str
    names: FrozenSet[str]

    def present(self, summary: "Summary") -> bool:
        return any((self.method, name) in summary.method_keywords for name in self.names)

    def matches(self, call: cst.Call) -> bool:
        return any(a.keyword is not None and a.keyword.value in self.names for a in call.args)

    def sites(self, facts: ModuleFacts) -> List[CallSite]:
        return [site for site in facts.method_calls(self.method) if self.matches(site.node)]

    def words(self) -> FrozenSet[str]:
        return frozenset({self.method})


STRING_NODES = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)  # the summary's `string_first`


@dataclass(frozen=True)
class StringFirst:
    """Calls of `x.<method>(...)` whose first argument is a string literal (an f-string too)."""

    method: str

    def present(self, summary: "Summary") -> bool:
        return self.method in summary.string_first

    @staticmethod
    def matches(call: cst.Call) -> bool:
        args = call.args
        return bool(args) and args[0].keyword is None and not args[0].star and isinstance(args[0].value, STRING_NODES)

    def sites(self, facts: ModuleFacts) -> List[CallSite]:
        return [site for site in facts.method_calls(self.method) if self.matches(site.node)]

    def words(self) -> FrozenSet[str]:
        return frozenset({self.method})


@dataclass(frozen=True)
class Attributes:
    """`x.<name>` read or written, for any of `names`."""

    names: Tuple[str, ...]

    def present(self, summary: "Summary") -> bool:
        return not summary.tokens.isdisjoint(self.names)  # tokens hold every attribute name

    def sites(self, facts: ModuleFacts) -> List[AttributeSite]:
        return [site for name in self.names for site in facts.attributes.get(name, ())]

    def words(self) -> FrozenSet[str]:
        return frozenset(self.names)


@dataclass(frozen=True)
class Defines:
    """A function or method definition named any of `names`."""

    names: Tuple[str, ...]

    def present(self, summary: "Summary") -> bool:
        return not summary.defs.isdisjoint(self.names)

    def words(self) -> FrozenSet[str]:
        return frozenset(self.names)


@dataclass(frozen=True)
class Flag:
    """A shape the prefilter's summary notes for one rule (`prefilter.summarize` says how)."""

    name: str
    word: str  # an identifier every file with the shape contains

    def present(self, summary: "Summary") -> bool:
        return self.name in summary.flags

    def words(self) -> FrozenSet[str]:
        return frozenset({self.word})


@dataclass(frozen=True)
class AnyFunction:
    """Some `def` in the file (a metric function given to `compile` is one of its own)."""

    def present(self, summary: "Summary") -> bool:
        return bool(summary.defs)

    def words(self) -> FrozenSet[str]:
        return frozenset({"def"})  # the text prefilter searches the raw text, where `def` is a word


@dataclass(frozen=True)
class Words:
    """Any of `names` as an identifier in code: a name, attribute, keyword, definition, import or
    short string constant (`summary.tokens`); never in a comment or docstring."""

    names: FrozenSet[str]

    def present(self, summary: "Summary") -> bool:
        return not summary.tokens.isdisjoint(self.names)

    def words(self) -> FrozenSet[str]:
        return self.names


@dataclass(frozen=True)
class Reaches:
    """Code that may reach the module `module` (or a member of it): an import of it or of a member
    (`import keras.backend as K`, `from keras import backend`), or an import of a package above it
    and a read of the next step down. Where the package's name is only ever the base of attribute
    reads (`keras.backend.sum`), that read must be `keras.backend` itself. Where the name is also
    used otherwise (`k = keras`, `f(keras)`, rebound), the resolver may carry the module along
    assignments, loop elements and `self.` attributes, so any attribute named `backend` counts.
    This holds for every way `Resolver` can arrive at the module."""

    module: str

    def present(self, summary: "Summary") -> bool:
        module = self.module
        star = any(path.endswith(".*") for path in summary.imports)
        for path in (*summary.imports, *summary.aliases.values()):
            if path == module or path.startswith(module + "."):
                return True
            if module.startswith(path + "."):
                step = module[len(path) + 1:].split(".")[0]
                names = [name for name, bound in summary.aliases.items() if bound == path]
                if star or not names or any(name in summary.bare_names for name in names):
                    if step in summary.attributes:  # the module may travel through other names
                        return True
                elif f"{path}.{step}" in summary.module_attributes:  # only ever `keras.backend...` itself
                    return True
        return False

    def words(self) -> FrozenSet[str]:
        return frozenset({self.module.split(".")[-1]})


@dataclass(frozen=True)
class AnyOf:
    """At least one of several entries."""

    options: Tuple[object, ...]

    def present(self, summary: "Summary") -> bool:
        return any(option.present(summary) for option in self.options)  # type: ignore[attr-defined]

    def sites(self, facts: ModuleFacts) -> List[CallSite]:
        """The call sites of every option, each once, in source order."""
        seen = {}
        for option in self.options:
            for site in option.sites(facts):  # type: ignore[attr-defined]
                seen.setdefault(id(site.node), site)
        return sorted(seen.values(), key=lambda site: facts._order.get(site.node, 0))

    def words(self) -> FrozenSet[str]:
        return frozenset().union(*(option.words() for option in self.options))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AllOf:
    """Every one of several entries."""

    parts: Tuple[object, ...]

    def present(self, summary: "Summary") -> bool:
        return all(part.present(summary) for part in self.parts)  # type: ignore[attr-defined]

    def words(self) -> FrozenSet[str]:
        return trigger_words(self.parts)  # type: ignore[return-value]


Entry = object  # Calls | Passes | Keywords | StringFirst | Attributes | Defines | Flag | Words | Reaches | AnyOf | AllOf


def all_present(needs: Tuple[Entry, ...], summary: "Summary") -> bool:
    return all(entry.present(summary) for entry in needs)  # type: ignore[attr-defined]


def trigger_words(needs: Tuple[Entry, ...]) -> Optional[FrozenSet[str]]:
    """Words one of which every file the rule could report on contains: those of the entry with
    the fewest (each entry is necessary, so any one entry's words will do)."""
    sets = [entry.words() for entry in needs]  # type: ignore[attr-defined]
    sets = [words for words in sets if words]
    # fewest words, then the longest ones (`metrics_names` is rarer in text than `zip`)
    return min(sets, key=lambda words: (len(words), -sum(map(len, words)))) if sets else None


@dataclass(frozen=True)
class ProjectImports:
    """An import of something that may be a module of the project: a relative import, or an
    absolute one of neither Keras/TensorFlow nor the standard library (the project index follows it)."""

    def present(self, summary: "Summary") -> bool:
        return summary.foreign_imports

    def words(self) -> FrozenSet[str]:
        return frozenset({"import"})  # a word of every import statement


# Entries several rules and facts share.
PROJECT_IMPORTS = ProjectImports()
RESET_STATES_CALLS = Calls(("reset_states",))
# The calls that train a model and return its History (`fit_generator` is Keras 2's, and old code's).
FIT_CALLS = Calls(("fit", "fit_generator"))
COMPILE_CALLS = Calls(("compile",))
# What callbacks are given to: `fit`, and Keras Tuner's `search`, which calls `fit` on every model
# its build function makes.
TRAINING_CALLS = Calls(("fit", "fit_generator", "search"))
ANY_FUNCTION = AnyFunction()
UPDATE_STATE_DEFS = Defines(("update_state",))  # a `Metric` subclass's own update
MODEL_SETUP_CALLS = Calls(("compile", "add"))  # what the per-model facts (facts/models.py) read
# `compile(metrics=...)` / `compile(weighted_metrics=...)`, however they are passed.
COMPILE_METRICS = Passes("compile", "metrics")
COMPILE_WEIGHTED_METRICS = Passes("compile", "weighted_metrics")
COMPILE_ANY_METRICS = AnyOf((COMPILE_METRICS, COMPILE_WEIGHTED_METRICS))
COMPILE_LOSS = Passes("compile", "loss")
# Weights given to training or evaluation (KM215): the loss is weighted, the metrics only if
# `compile(weighted_metrics=...)` names them. A 3-tuple `validation_data` carries weights too.
WEIGHTS_GIVEN = AnyOf(tuple(Passes(method, parameter) for method, parameter in (
    ("fit", "sample_weight"), ("fit", "class_weight"), ("fit", "validation_data"), ("evaluate", "sample_weight"),
    ("train_on_batch", "sample_weight"), ("train_on_batch", "class_weight"), ("test_on_batch", "sample_weight"))))
