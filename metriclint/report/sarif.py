"""SARIF 2.1.0, with rule metadata and fixes (validated against the official schema in the tests)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List

from .. import DOCS_URL, __version__
from . import Report, edit_positions
from .github import level

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _rules() -> List[Dict[str, Any]]:
    from ..rules import TOOL_CODES, all_rules

    out = []
    for code, rule in all_rules().items():
        out.append(
            {
                "id": code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "helpUri": DOCS_URL.format(code=code),
                "defaultConfiguration": {"level": level(code)},
                "properties": {
                    "fix": rule.fix_safety.value if rule.fix_safety else "none",
                    "flavours": sorted(rule.flavours),
                },
            }
        )
    for code, text in TOOL_CODES.items():
        name, _, description = text.partition(": ")
        out.append(
            {
                "id": code,
                "name": name,
                "shortDescription": {"text": description},
                "helpUri": DOCS_URL.format(code=code),
                "defaultConfiguration": {"level": "error"},
            }
        )
    return out


def _uri(path: str) -> str:
    if path == "-":
        return "stdin"
    return Path(os.path.abspath(path)).as_uri()


def render(report: Report) -> str:
    rules = _rules()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = []
    for result, diag in report.items():
        region = {
            "startLine": diag.start.line,
            "startColumn": diag.start.column,
            "endLine": diag.end.line,
            "endColumn": diag.end.column,
        }
        entry: Dict[str, Any] = {"ruleId": diag.code}
        if diag.code in index:  # every code has a descriptor; never point at the wrong one
            entry["ruleIndex"] = index[diag.code]
        entry.update({
            "level": level(diag.code),
            "message": {"text": diag.message},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": _uri(result.path)}, "region": region}}
            ],
        })
        if diag.cell is not None:
            entry["properties"] = {"cell": diag.cell}
        if diag.fix is not None:
            replacements = []
            for edit in diag.fix.edits:
                start, end = edit_positions(result, edit)
                replacements.append(
                    {
                        "deletedRegion": {
                            "startLine": start.line,
                            "startColumn": start.column,
                            "endLine": end.line,
                            "endColumn": end.column,
                        },
                        "insertedContent": {"text": edit.content},
                    }
                )
            entry["fixes"] = [
                {
                    "description": {"text": f"{diag.fix.message} ({diag.fix.safety.value})"},
                    "artifactChanges": [
                        {"artifactLocation": {"uri": _uri(result.path)}, "replacements": replacements}
                    ],
                }
            ]
        results.append(entry)
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "metriclint",
                        "version": __version__,
                        "informationUri": "https://github.com/metriclint/metriclint",
                        "rules": rules,
                    }
                },
                # Our columns count characters (code points), not SARIF's default UTF-16 code units.
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
