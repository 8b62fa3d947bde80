"""Jupyter notebooks as one program: the code cells in order, magics masked, mapped back to cells.

The virtual module puts each code cell's source after a boundary comment, so facts flow
across cells (compile in cell 3, callbacks in cell 5) and a fix can be split back into
cells. IPython syntax (`%magic`, `!shell`, `?help`, cell magics) becomes a masked comment
that is restored byte for byte when the cell is written back. Only the `source` of cells
that changed is rewritten; outputs, metadata, ids, key order and indentation stay.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .diagnostics import Diagnostic, Position

_BOUNDARY = "# metriclint-cell {}"
_BOUNDARY_RE = re.compile(r"^# metriclint-cell (\d+)$")
_MASK = "#metriclint-magic:{}"
_MASK_RE = re.compile(r"^(\s*)#metriclint-magic:(\d+)$")
# Cell magics whose body is Python; any other cell magic (%%bash, %%writefile, ...) masks the cell.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug", "tensorflow_version"}
_LINE_MAGIC = re.compile(r"^\s*(%|!|\?)|^\s*[\w.]+\?\??\s*$|^\s*[\w.]+\s*=\s*[%!]")


class NotebookError(Exception):
    """The file is not a notebook metriclint can read; the message is one line."""


@dataclass
class Notebook:
    data: Dict[str, Any]
    raw_text: str
    indent: Optional[int]
    ensure_ascii: bool
    trailing_newline: bool
    cells: List[Dict[str, Any]]
    language: Optional[str]


@dataclass
class VirtualModule:
    text: str
    # virtual line (1-based) -> (cell number 1-based over all cells, line in cell 1-based)
    line_map: Dict[int, Tuple[int, int]] = field(default_factory=dict)
    masks: Dict[int, str] = field(default_factory=dict)  # mask id -> original line
    code_cells: List[int] = field(default_factory=list)  # cell numbers in the module
    broken: List[Diagnostic] = field(default_factory=list)  # E999 per cell that does not parse


def read_notebook(text: str) -> Notebook:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not valid notebook JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("not a Jupyter notebook: no `cells` list (nbformat 4 is supported)")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    language = None
    kernelspec = metadata.get("kernelspec")
    info = metadata.get("language_info")
    if isinstance(kernelspec, dict) and isinstance(kernelspec.get("language"), str):
        language = kernelspec["language"].lower()
    elif isinstance(info, dict) and isinstance(info.get("name"), str):
        language = info["name"].lower()
    return Notebook(
        data=data,
        raw_text=text,
        indent=_detect_indent(text),
        ensure_ascii=not any(ord(c) > 127 for c in text) and "\\u" in text,
        trailing_newline=text.endswith("\n"),
        cells=data["cells"],
        language=language,
    )


def _detect_indent(text: str) -> Optional[int]:
    match = re.match(r"\{\s*?\n( *)\"", text)
    if match:
        return len(match.group(1))
    return None


def cell_source(cell: Dict[str, Any]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _mask_cell(source: str, masks: Dict[int, str]) -> List[str]:
    lines = source.split("\n")
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        name = first[2:].split()[0] if first[2:].split() else ""
        keep_body = name in _PYTHON_CELL_MAGICS
        out = []
        for index, line in enumerate(lines):
            if index == 0 or not keep_body:
                out.append(_mask_line(line, masks))
            else:
                out.append(line)
        return out
    out = []
    continuation = False
    for line in lines:
        if continuation or _LINE_MAGIC.match(line):
            out.append(_mask_line(line, masks))
            continuation = line.rstrip().endswith("\\")
        else:
            out.append(line)
            continuation = False
    return out


def _mask_line(line: str, masks: Dict[int, str]) -> str:
    if not line.strip():
        return line
    ident = len(masks)
    masks[ident] = line
    indent = line[: len(line) - len(line.lstrip())]
    return indent + _MASK.format(ident)


def build_module(notebook: Notebook) -> VirtualModule:
    import ast

    module = VirtualModule(text="")
    parts: List[str] = []
    line = 1
    for number, cell in enumerate(notebook.cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        lines = _mask_cell(cell_source(cell), module.masks)
        body = "\n".join(lines)
        try:
            ast.parse(body)
        except SyntaxError as exc:
            cell_line = max(exc.lineno or 1, 1)
            module.broken.append(Diagnostic(
                "E999", f"SyntaxError in this cell: {exc.msg}; the cell is skipped",
                Position(cell_line, max(exc.offset or 1, 1)), Position(cell_line, max(exc.offset or 1, 1)),
                cell=number, source_line=cell_line,
            ))
            lines = [""]
        except (ValueError, RecursionError):
            lines = [""]
        parts.append(_BOUNDARY.format(number))
        module.line_map[line] = (number, 0)
        line += 1
        for index, text in enumerate(lines, start=1):
            parts.append(text)
            module.line_map[line] = (number, index)
            line += 1
        module.code_cells.append(number)
    module.text = "\n".join(parts) + "\n"
    module.line_map = line_map_of(module.text)
    return module


def line_map_of(text: str) -> Dict[int, Tuple[int, int]]:
    """Virtual line -> (cell, line in cell), read off the boundary comments (valid after fixes too)."""
    out: Dict[int, Tuple[int, int]] = {}
    cell, in_cell = 0, 0
    for number, line in enumerate(text.split("\n"), start=1):
        boundary = _BOUNDARY_RE.match(line)
        if boundary:
            cell, in_cell = int(boundary.group(1)), 0
        else:
            in_cell += 1
        out[number] = (cell, in_cell)
    return out


def map_diagnostic(diag: Diagnostic, line_map: Dict[int, Tuple[int, int]]) -> Diagnostic:
    cell, line = line_map.get(diag.start.line, (None, diag.start.line))
    end_cell, end_line = line_map.get(diag.end.line, (cell, diag.end.line))
    if end_cell != cell:
        end_line = line
    return Diagnostic(
        code=diag.code,
        message=diag.message,
        start=Position(max(line, 1), diag.start.column),
        end=Position(max(end_line, 1), diag.end.column),
        fix=diag.fix,
        cell=cell or None,
        source_line=diag.source_line,
        extra=diag.extra,
    )


def split_cells(text: str, module: VirtualModule) -> Dict[int, str]:
    """Fixed virtual text -> {cell number: new source}, with the magics put back."""
    out: Dict[int, List[str]] = {}
    current: Optional[int] = None
    for line in text.split("\n"):
        boundary = _BOUNDARY_RE.match(line)
        if boundary:
            current = int(boundary.group(1))
            out[current] = []
            continue
        if current is None:
            continue  # text a fix put before the first cell cannot be placed
        mask = _MASK_RE.match(line)
        if mask:
            line = module.masks[int(mask.group(2))]
        out[current].append(line)
    result = {}
    for number, lines in out.items():
        if lines and lines[-1] == "":
            lines = lines[:-1]  # the newline the module added after every cell
        result[number] = "\n".join(lines)
    return result


def _as_source(old: Any, new: str) -> Any:
    if isinstance(old, list):
        lines = new.splitlines(keepends=True)
        return lines
    return new


def render(notebook: Notebook, new_sources: Dict[int, str]) -> Optional[str]:
    """The notebook text with the changed cells' sources, or None when nothing changed."""
    changed = False
    for number, source in new_sources.items():
        cell = notebook.cells[number - 1]
        if cell_source(cell) != source:
            cell["source"] = _as_source(cell.get("source"), source)
            changed = True
    if not changed:
        return None
    text = json.dumps(notebook.data, indent=notebook.indent, ensure_ascii=notebook.ensure_ascii)
    return text + ("\n" if notebook.trailing_newline else "")


def round_trips(notebook: Notebook) -> bool:
    """Whether writing the unchanged notebook back reproduces its text (so a rewrite disturbs nothing else)."""
    text = json.dumps(notebook.data, indent=notebook.indent, ensure_ascii=notebook.ensure_ascii)
    return text + ("\n" if notebook.trailing_newline else "") == notebook.raw_text
