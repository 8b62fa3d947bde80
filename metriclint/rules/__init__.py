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


# Codes the tool itself reports; they are always on and have pages in `rules/` too.
TOOL_CODES: Dict[str, str] = {
    "E902": "io-error: the file could not be read (missing, unreadable, not text, bad encoding)",
    "E999": "syntax-error: the file could not be parsed as Python",
    "E000": "internal-error: a rule crashed on this file; please report it",
}


def known_codes() -> FrozenSet[str]:
    return frozenset(all_rules()) | frozenset(TOOL_CODES)
