"""`# noqa` and `# noqa: KM101, KM2` on the line a diagnostic points at.

As in ruff: a bare `# noqa` suppresses everything on its line; `# noqa: CODES` only the codes
named (a code may be a prefix with at least one digit, `KM2`); codes are separated by commas
and/or spaces and the list ends at the first word that is not a code (`# noqa: KM101 reason`).
`# noqa:` followed by no code at all is not a valid directive and suppresses nothing.
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Iterable, Optional

_CODE = r"[A-Za-z]+[0-9]+"
_NOQA = re.compile(
    r"#\s*noqa(?![\w-])"
    r"(?:(?P<colon>\s*:)\s*(?P<codes>" + _CODE + r"(?:(?:\s*,\s*|\s+)" + _CODE + r"(?![\w-]))*)?)?",
    re.IGNORECASE,
)

# line -> None (bare noqa: everything) or the code prefixes it names
NoqaMap = Dict[int, Optional[FrozenSet[str]]]


def parse_noqa(comment: str) -> Optional[FrozenSet[str]]:
    """None when the comment holds no (valid) noqa; else the codes it names (empty for a bare `# noqa`)."""
    for match in _NOQA.finditer(comment):
        codes = match.group("codes")
        if codes:
            return frozenset(c.upper() for c in re.split(r"[\s,]+", codes.strip()) if c)
        if match.group("colon") is None:
            return frozenset()  # bare noqa: the empty set means "all"
        # `# noqa:` without codes: not a directive; look for another one further on
    return None


def build_noqa_map(comments: Iterable[tuple]) -> NoqaMap:
    """From (line, comment text) pairs."""
    out: NoqaMap = {}
    for line, text in comments:
        codes = parse_noqa(text)
        if codes is None:
            continue
        if line in out and not out[line]:
            continue  # a bare noqa on this line already covers everything
        out[line] = codes if not codes else (out.get(line) or frozenset()) | codes
    return out


def is_suppressed(noqa: NoqaMap, line: int, code: str) -> bool:
    if line not in noqa:
        return False
    codes = noqa[line]
    if not codes:
        return True
    return any(code.startswith(prefix) for prefix in codes)
