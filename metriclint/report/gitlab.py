"""GitLab code quality report: a JSON array of Code Climate issues (`artifacts:reports:codequality`).

Each issue has `description` (the code and the message's first sentence), `check_name`,
`fingerprint`, `severity` and `location.path` / `location.lines.begin` (the fields GitLab reads),
and `content.body` with the rest of the message (Code Climate's field for it). The fingerprint identifies an issue across
commits, so it does not use the line number: it hashes the path, the code and the stripped text
of the line; the same finding on two identical lines gets a counter, because GitLab keeps one
issue per fingerprint. Paths are relative to `CI_PROJECT_DIR` (the repository root in a GitLab
job), else to the working directory, with `/` separators.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, List, Set

from . import Report, line_content, source_text


def severity(code: str) -> str:
    if code in ("E902", "E999", "E000"):
        return "critical"  # the file was not (fully) checked
    if code.startswith("KM0"):
        return "info"  # suppression upkeep
    if code.startswith("KM1"):
        return "major"  # fails at run time (TypeError, AttributeError, ...)
    return "minor"  # wrong numbers and cost (KM2xx, KM3xx)


def report_path(path: str) -> str:
    if path == "-":
        return path
    root = os.environ.get("CI_PROJECT_DIR") or os.getcwd()
    try:
        rel = os.path.relpath(os.path.abspath(path), root)
    except ValueError:  # another drive on Windows
        rel = path
    if rel.startswith(".."):
        rel = path
    return rel.replace(os.sep, "/")


def issues(report: Report) -> List[Dict[str, Any]]:
    out = []
    seen: Set[str] = set()
    texts: Dict[int, Any] = {}
    for result, diag in report.items():
        key = id(result)
        if key not in texts:
            texts[key] = source_text(result)
        path = report_path(result.path)
        content = line_content(result, diag, texts[key])
        salt = 0
        while True:
            digest = hashlib.sha256(f"{path}\0{diag.code}\0{content}\0{salt}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
            if digest not in seen:
                break
            salt += 1
        seen.add(digest)
        where = f"cell {diag.cell}: " if diag.cell is not None else ""
        issue = {
            "type": "issue",
            "check_name": diag.code,
            "description": f"{where}{diag.code} {diag.headline}",
            "categories": ["Bug Risk"],
            "severity": severity(diag.code),
            "fingerprint": digest,
            "location": {"path": path, "lines": {"begin": diag.start.line, "end": diag.end.line}},
        }
        if diag.explanation:
            issue["content"] = {"body": diag.explanation}  # Code Climate's long description (Markdown)
        out.append(issue)
    return out


def render(report: Report) -> str:
    return json.dumps(issues(report), indent=2, ensure_ascii=False) + "\n"
