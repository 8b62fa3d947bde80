"""JUnit XML, as ruff writes it and CI systems (Jenkins, GitLab) count it: one `<testsuite>` per
file with findings, one `<testcase>` per finding, so the counts CI shows are the findings.

A rule's finding is a `<failure>` (`type` is the code, `message` the first sentence, the text the
location and the whole message); a file that could not be read or parsed (E902, E903, E999) or
made a rule crash (E000) is an `<error>`, because it was not really checked. A run without
findings is one passing test case, as ruff's "No errors found". The document is valid against
the JUnit XSD Jenkins uses (tests/data/jenkins-junit.xsd): no attributes beyond it.
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


def _classname(path: str) -> str:
    """The file's path without its suffix, as ruff names the class (Jenkins splits at the last dot)."""
    stem, dot, suffix = path.rpartition(".")
    return stem if dot and "/" not in suffix and stem not in ("", ".") else path


def render(report: Report) -> str:
    root = ET.Element("testsuites", name="metriclint")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for result in report.results:
        if not result.diagnostics:
            continue
        counts = {"tests": 0, "failures": 0, "errors": 0}
        suite = ET.SubElement(root, "testsuite", name=_clean(result.path))
        for diag in result.diagnostics:
            kind = "error" if diag.code in TOOL_CODES else "failure"
            counts["tests"] += 1
            counts["errors" if kind == "error" else "failures"] += 1
            where = location(result.path, diag)
            case = ET.SubElement(suite, "testcase", name=_clean(f"{diag.code} {where[len(result.path) + 1:]}"),
                                 classname=_clean(_classname(result.path)))
            element = ET.SubElement(case, kind, message=_clean(diag.headline), type=diag.code)
            element.text = _clean(f"{where}: {diag.code} {diag.message}")
        suite.attrib.update({key: str(value) for key, value in counts.items()})
        suite.set("package", "metriclint")
        for key in totals:
            totals[key] += counts[key]
    if not totals["tests"]:
        suite = ET.SubElement(root, "testsuite", name="metriclint", tests="1", failures="0", errors="0",
                              package="metriclint")
        ET.SubElement(suite, "testcase", name="No errors found", classname="metriclint")
        totals["tests"] = 1
    root.attrib.update({key: str(value) for key, value in totals.items()})
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
