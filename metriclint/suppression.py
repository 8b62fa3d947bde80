"""`# noqa` and `# noqa: KM101, KM2` on the line a diagnostic points at."""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Iterable, Optional

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]*(?:[\s,]+[A-Za-z]+[0-9]*)*))?", re.IGNORECASE)

# line -> None (bare noqa: everything) or the code prefixes it names
NoqaMap = Dict[int, Optional[FrozenSet[str]]]


def parse_noqa(comment: str) -> Optional[Optional[FrozenSet[str]]]:
    """None when the comment is no noqa; else the codes it names (empty for a bare `# noqa`)."""
    match = _NOQA.search(comment)
    if match is None:
        return None
    codes = match.group("codes")
    if not codes:
        return frozenset()  # bare noqa: the empty set means "all"
    return frozenset(c.upper() for c in re.split(r"[\s,]+", codes.strip()) if c)


def build_noqa_map(comments: Iterable[tuple]) -> NoqaMap:
    """From (line, comment text) pairs."""
    out: NoqaMap = {}
    for line, text in comments:
        codes = parse_noqa(text)
        if codes is None:
            continue
        if line in out and not out[line]:
            continue  # a bare noqa on this line already covers everything
        out[line] = codes if not codes else out.get(line, frozenset()) | codes
    return out


def is_suppressed(noqa: NoqaMap, line: int, code: str) -> bool:
    if line not in noqa:
        return False
    codes = noqa[line]
    if not codes:
        return True
    return any(code.startswith(prefix) for prefix in codes)
