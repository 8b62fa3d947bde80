"""Rule pages (`rules/KM101.md`): shipped inside the wheel as `metriclint/_rule_docs/`."""

from __future__ import annotations

import os
from typing import Optional

_HERE = os.path.dirname(os.path.abspath(__file__))
_PLACES = (
    os.path.join(_HERE, "_rule_docs"),  # installed wheel
    os.path.join(os.path.dirname(_HERE), "rules"),  # source checkout / editable install
)


def page_path(code: str) -> Optional[str]:
    for place in _PLACES:
        path = os.path.join(place, f"{code.upper()}.md")
        if os.path.isfile(path):
            return path
    return None


def read_page(code: str) -> Optional[str]:
    path = page_path(code)
    if path is None:
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()
