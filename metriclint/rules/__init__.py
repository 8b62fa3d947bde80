"""The rule registry: every module `kmNNN.py` in this package defines one rule class.

Adding a rule is one module here, one page in `rules/`, one folder in `fixtures/`.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from functools import lru_cache
from typing import Dict, FrozenSet

from .base import Rule

_RULE_MODULE = re.compile(r"^km\d{3}$")


@lru_cache(maxsize=1)
def all_rules() -> Dict[str, Rule]:
    """Code -> rule instance, in code order."""
    found: Dict[str, Rule] = {}
    for info in pkgutil.iter_modules(__path__):
        if not _RULE_MODULE.match(info.name):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Rule) and cls is not Rule and cls.__module__ == module.__name__:
                if cls.code in found:
                    raise RuntimeError(f"two rules claim {cls.code}")
                found[cls.code] = cls()
    return dict(sorted(found.items()))


# Codes the tool itself reports; they have pages in `rules/` too. They do not depend on the rule
# selection: E902, E999 and E000 are always reported, E903 unless it is ignored (or suppressed).
TOOL_CODES: Dict[str, str] = {
    "E902": "io-error: the file could not be read (missing, unreadable, not text, bad encoding)",
    "E903": "unparsable-valid-code: valid Python that metriclint's parser (libcst) cannot parse; not checked",
    "E999": "syntax-error: the file could not be parsed as Python",
    "E000": "internal-error: a rule crashed on this file; please report it",
}

# Tool codes that no `ignore`, `per-file-ignores` or `noqa` can hide, and why: each says that a
# file was not checked for a reason the user must see (or that metriclint itself is broken).
# Files that should not be checked at all belong in `exclude`.
NEVER_SILENCED: Dict[str, str] = {
    "E902": "it reports a file that could not be read, so it was not checked",
    "E999": "it reports a file that does not parse as Python, so it was not checked",
    "E000": "it reports a crash in metriclint itself (please report it)",
}
UNPARSABLE = "E903"


def known_codes() -> FrozenSet[str]:
    return frozenset(all_rules()) | frozenset(TOOL_CODES)
