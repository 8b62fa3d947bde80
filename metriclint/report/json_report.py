"""A JSON list, one object per diagnostic, readable by tools written for ruff's JSON.

The objects carry ruff's fields with ruff's meaning (`cell`, `code`, `end_location`, `filename`,
`fix` with `applicability`, `edits` (`content`, `location`, `end_location`) and `message`,
`location`, `message`, `name`, `noqa_row`, `severity`, `url`), plus metriclint's own:
`explanation` (the message after its first sentence) and each edit's `start_offset`/`end_offset`.
The schema is documented in the README and in tests/data/metriclint-json.schema.json.

`json-lines` prints the same objects, one per line (no list around them), for streaming tools.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from .. import DOCS_URL
from ..diagnostics import Diagnostic
from ..rules import NEVER_SILENCED
from . import Report, edit_positions
from .text import rule_name


def _location(line: int, column: int) -> Dict[str, int]:
    return {"column": column, "row": line}


def _noqa_row(diag: Diagnostic) -> Optional[int]:
    """The line a `# noqa` for this diagnostic goes on (in the cell, for notebooks); null for the
    tool codes nothing can suppress."""
    return None if diag.code in NEVER_SILENCED else diag.start.line


def diagnostic_objects(report: Report) -> List[Dict[str, Any]]:
    out = []
    for result, diag in report.items():
        fix = None
        if diag.fix is not None:
            edits = []
            for edit in diag.fix.edits:
                start, end = edit_positions(result, edit)
                edits.append({
                    "content": edit.content,
                    "end_location": _location(end.line, end.column),
                    "end_offset": edit.end,
                    "location": _location(start.line, start.column),
                    "start_offset": edit.start,
                })
            fix = {"applicability": diag.fix.safety.value, "edits": edits, "message": diag.fix.message}
        out.append({
            "cell": diag.cell,
            "code": diag.code,
            "end_location": _location(diag.end.line, diag.end.column),
            "explanation": diag.explanation,
            "filename": result.path,
            "fix": fix,
            "location": _location(diag.start.line, diag.start.column),
            "message": diag.headline,
            "name": rule_name(diag.code),
            "noqa_row": _noqa_row(diag),
            "severity": "error",
            "url": DOCS_URL.format(code=diag.code),
        })
    return out


def render(report: Report) -> str:
    return json.dumps(diagnostic_objects(report), indent=2, ensure_ascii=False) + "\n"


def render_lines(report: Report) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in diagnostic_objects(report))
