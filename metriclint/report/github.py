"""GitHub Actions workflow commands: one `::error` or `::warning` annotation per diagnostic."""

from __future__ import annotations

from . import Report


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def level(code: str) -> str:
    return "warning" if code.startswith(("KM0", "KM2", "KM3")) else "error"


def render(report: Report) -> str:
    lines = []
    for result, diag in report.items():
        where = f"cell {diag.cell}:" if diag.cell is not None else ""
        props = ",".join(
            [
                f"title={_escape_property(f'metriclint ({diag.code})')}",
                f"file={_escape_property(result.path)}",
                f"line={diag.start.line}",
                f"col={diag.start.column}",
                f"endLine={diag.end.line}",
                f"endColumn={diag.end.column}",
            ]
        )
        message = f"{result.path}:{where}{diag.start.line}:{diag.start.column}: {diag.code} {diag.message}"
        lines.append(f"::{level(diag.code)} {props}::{_escape_data(message)}")
    return "\n".join(lines) + ("\n" if lines else "")
