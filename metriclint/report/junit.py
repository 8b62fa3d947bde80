"""JUnit XML, as CI systems read test results: one test case per checked file.

A file without findings is a passing test case; each finding is a `<failure>` of its file's test
case (`type` is the code), and a file that could not be read or parsed (E902, E903, E999) or made a
rule crash (E000) gets an `<error>` instead, because it was not really checked. Notebook
findings name their cell.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..rules import TOOL_CODES
from . import Report
from .text import location

# Characters XML 1.0 cannot hold, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def render(report: Report) -> str:
    tests = failures = errors = 0
    suite = ET.Element("testsuite", name="metriclint")
    for result in report.results:
        tests += 1
        case = ET.SubElement(suite, "testcase", name=_clean(result.path), classname="metriclint", file=_clean(result.path))
        for diag in result.diagnostics:
            kind = "error" if diag.code in TOOL_CODES else "failure"
            if kind == "error":
                errors += 1
            else:
                failures += 1
            where = location(result.path, diag)
            element = ET.SubElement(case, kind, message=_clean(f"{diag.code} {diag.message}"), type=diag.code)
            element.text = _clean(f"{where}: {diag.code} {diag.message}")
    counts = {"tests": str(tests), "failures": str(failures), "errors": str(errors), "skipped": "0"}
    suite.attrib.update(counts)
    root = ET.Element("testsuites", name="metriclint", **{k: v for k, v in counts.items() if k != "skipped"})
    root.append(suite)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
