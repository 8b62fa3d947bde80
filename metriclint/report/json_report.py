"""A JSON list, one object per diagnostic; the schema is stable (see README, "Output formats").

`json-lines` prints the same objects, one per line (no list around them), for streaming tools.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

from .. import DOCS_URL
from . import Report, edit_positions


def diagnostic_objects(report: Report) -> List[Dict[str, Any]]:
    out = []
    for result, diag in report.items():
        fix = None
        if diag.fix is not None:
            edits = []
            for edit in diag.fix.edits:
                start, end = edit_positions(result, edit)
                edits.append(
                    {
                        "content": edit.content,
                        "start": {"line": start.line, "column": start.column},
                        "end": {"line": end.line, "column": end.column},
                        "start_offset": edit.start,
                        "end_offset": edit.end,
                    }
                )
            fix = {"applicability": diag.fix.safety.value, "message": diag.fix.message, "edits": edits}
        out.append(
            {
                "file": result.path,
                "code": diag.code,
                "message": diag.message,
                "start": {"line": diag.start.line, "column": diag.start.column},
                "end": {"line": diag.end.line, "column": diag.end.column},
                "cell": diag.cell,
                "fix": fix,
                "url": DOCS_URL.format(code=diag.code),
            }
        )
    return out


def render(report: Report) -> str:
    return json.dumps(diagnostic_objects(report), indent=2, ensure_ascii=False) + "\n"


def render_lines(report: Report) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in diagnostic_objects(report))
