"""Jupyter notebooks as one program: the code cells in order, magics masked, mapped back to cells.

The virtual module puts each code cell's source after a boundary comment, so facts flow
across cells (compile in cell 3, callbacks in cell 5) and a fix can be split back into
cells. IPython syntax (`%magic`, `!shell`, `?help`, cell magics) becomes a masked line
that is restored byte for byte when the cell is written back. Only the `source` of cells
that changed is rewritten; outputs, metadata, ids, key order and indentation stay.

A cell is read as IPython reads it (`IPython/core/inputtransformer2.py` and, for automagics, its
prefilter), so that a cell Jupyter runs is Python here too: the indentation common to all its
lines is stripped (IPython's `leading_indent`, which is `textwrap.dedent`) and put back on every
line when the cell is written; a one-line cell that is not Python but starts with a line magic
or shell alias IPython calls without `%` (`ls ./data/`, `cd ..`, `pip install x`: automagics)
is masked like `%ls ./data/`. In a cell of several lines IPython applies no automagic, and such
a line is a syntax error there too. Cells pasted with `>>>` or `In [1]:` prompts, which IPython
also strips, are not read (they are E999).

Layout of the virtual module, per code cell (markdown and raw cells are left out):

    # metriclint-cell N\n
    <the cell's source, its common indentation stripped, IPython lines masked>\n
                                                      (the last newline is metriclint's own)

A masked line keeps its line and indentation, so positions map straight back to the cell (plus
the cell's stripped common indentation, `column_shifts`, on each line that is not blank).
Only a line at the start of a statement is IPython (`'%d' \n % x` in brackets is Python): at
the top level it becomes `#metriclint-magic:K`, inside a block `pass  #metriclint-magic:K`
(a statement, so a block that holds only a magic still parses); `%time STMT` and
`%timeit STMT` become `if 1:STMT  #metriclint-magic:K`, padded to the same width, so the
statement is linted and fixed in place. The continuation lines of a magic and the body of a
non-Python cell magic (`%%bash`, ...) become `#metriclint-magic:K` comments.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .diagnostics import Diagnostic, Position, split_message
from .suppression import futile_directive, futile_note

_BOUNDARY = "# metriclint-cell {}"
_BOUNDARY_RE = re.compile(r"^# metriclint-cell (\d+)$")
_BOUNDARY_LINE = re.compile(r"^# metriclint-cell (\d+)\n", re.MULTILINE)
_MASK_TAG = "#metriclint-magic:{}"
_MASK_TAIL = re.compile(r"#metriclint-magic:(\d+)$")
# A masked line's tag with the whitespace before it: a `# noqa` added to the line goes before it.
MASK_TAG_AT_END = re.compile(r"[ \t]*#metriclint-magic:\d+$")
# Line breaks as the Python tokenizer (and `locate.LineIndex`) counts them.
_NEWLINE = re.compile(r"\r\n|\r|\n")
# Cell magics whose body is Python; any other cell magic (%%bash, %%writefile, ...) masks the cell.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug", "tensorflow_version"}
# IPython syntax at the start of a statement: `%magic`, `!shell`, `?help`, autocall escapes
# (`/f x`, `,f x`, `;f x`), `obj?` / `obj??`, `x = !cmd` / `x = %magic`. None of it is Python.
_LINE_MAGIC = re.compile(r"^\s*[%!?/,;]|^\s*[\w.*]+\?\??\s*$|^\s*[\w.]+\s*=\s*[%!]")
# `%time STMT` / `%timeit STMT` (no options): STMT is Python and is kept, behind `if 1:`.
_TIMED = re.compile(r"^(?P<indent>\s*)(?P<magic>%(?:time|timeit)\s+)(?=[^\s-])(?P<stmt>.*)$")


# IPython's `split_user_input`: leading space, an escape, the "function part", the rest.
_USER_INPUT = re.compile(r"^(\s*)([,;/%]|!!?|\?\??)?\s*(%{0,2}[\w.*]*)(.*?$|$)")
# Names IPython runs as magics when a one-line cell starts with them and is not Python (automagic
# is on by default): IPython 9's line magics and their aliases, ipykernel's, and the shell aliases
# IPython defines on POSIX and Windows. A builtin or keyword would shadow one; none of these is.
AUTOMAGICS = frozenset("""
    aimport alias alias_magic autoawait autocall automagic autoreload autosave bookmark cd clear
    cls code_wrap colors conda config connect_info debug dhist dirs doctest_mode ed edit env gui
    hist history killbgscripts less load load_ext loadpy logoff logon logstart logstate logstop
    lsmagic macro magic mamba man matplotlib micromamba more notebook page pastebin pdb pdef pdoc
    pfile pinfo pinfo2 pip popd pprint precision prun psearch psource pushd pwd pycat pylab
    qtconsole quickref recall rehashx reload_ext rep rerun reset reset_selective run save sc
    set_env store subshell sx system tb time timeit unalias unload_ext uv who who_ls whos xdel
    xmode
    cat cp ldir lf lk ll ls lx mkdir mv rm rmdir
    copy ddir echo ren
""".split())
# textwrap.dedent's own reading of a text's lines (IPython's `leading_indent` is `dedent`).
_WHITESPACE_ONLY = re.compile(r"^[ \t]+$", re.MULTILINE)
_LEADING_WHITESPACE = re.compile(r"(^[ \t]*)(?:[^ \t\n])", re.MULTILINE)


class NotebookError(Exception):
    """The file is not a notebook metriclint can read; the message is one line."""


@dataclass
class Notebook:
    data: Dict[str, Any]
    raw_text: str
    indent: Any  # int, a string of whitespace (tabs), or None for compact JSON
    ensure_ascii: bool
    trailing_newline: bool
    cells: List[Dict[str, Any]]
    language: Optional[str]
    newline: str = "\n"  # "\r\n" for a notebook saved with Windows line breaks


@dataclass
class _Mask:
    original: str  # the line as the cell has it (no line break)
    masked: str  # the line as the virtual module has it
    # `%time STMT`: the masked line is `head + STMT + tail`; a fix may change STMT, and the
    # line is restored as `original_head + STMT`
    head: Optional[str] = None
    original_head: str = ""
    tail: str = ""


@dataclass
class VirtualModule:
    text: str
    # virtual line (1-based) -> (cell number 1-based over all cells, line in cell 1-based)
    line_map: Dict[int, Tuple[int, int]] = field(default_factory=dict)
    masks: Dict[int, _Mask] = field(default_factory=dict)  # mask id -> the line before and after masking
    code_cells: List[int] = field(default_factory=list)  # cell numbers in the module, in order
    cell_text: Dict[int, str] = field(default_factory=dict)  # cell number -> its masked text in the module
    broken: List[Diagnostic] = field(default_factory=list)  # E999 per cell that does not parse
    skipped: List[int] = field(default_factory=list)  # cells left out (syntax errors): never rewritten
    # cell number -> the indentation common to its lines, stripped in the module (IPython strips it too)
    margins: Dict[int, str] = field(default_factory=dict)


_LEGACY_KERAS_ENV = re.compile(r"^\s*%(?:env|set_env)\s+TF_USE_LEGACY_KERAS(?:\s*=\s*|\s+)[\"']?(1|true|True)[\"']?\s*$")


def sets_legacy_keras(module: VirtualModule) -> bool:
    """Whether a cell runs `%env TF_USE_LEGACY_KERAS=1` (or `%set_env`): then the kernel's
    `tf.keras` is tf_keras, as TensorFlow reads the variable when `tf.keras` is first used."""
    return any(_LEGACY_KERAS_ENV.match(mask.original) for mask in module.masks.values())


def read_notebook(text: str) -> Notebook:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not valid notebook JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise NotebookError("not valid notebook JSON: nested too deeply") from None
    except ValueError:  # int(): more digits than sys.get_int_max_str_digits() allows
        raise NotebookError("not valid notebook JSON: a number has too many digits") from None
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
    newline = "\r\n" if "\r\n" in text else "\n"
    book = Notebook(
        data=data,
        raw_text=text,
        indent=_detect_indent(text),
        ensure_ascii=not any(ord(c) > 127 for c in text) and "\\u" in text,
        trailing_newline=text.endswith("\n"),
        cells=data["cells"],
        language=language,
        newline=newline,
    )
    if not round_trips(book) and not any(ord(c) > 127 for c in text):
        # ASCII text: it may have been written either way; take the one that reproduces it.
        book.ensure_ascii = not book.ensure_ascii
        if not round_trips(book):
            book.ensure_ascii = not book.ensure_ascii
    return book


def _detect_indent(text: str) -> Any:
    match = re.match(r"\{[ \t]*\r?\n([ \t]*)\"", text)
    if match:
        indent = match.group(1)
        return len(indent) if set(indent) <= {" "} else indent
    return None


def cell_source(cell: Dict[str, Any]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _split_lines(text: str) -> List[Tuple[str, str]]:
    """(line, its line break) pairs; the last pair's break is '' (it may be an empty line)."""
    out: List[Tuple[str, str]] = []
    last = 0
    for match in _NEWLINE.finditer(text):
        out.append((text[last:match.start()], match.group()))
        last = match.end()
    out.append((text[last:], ""))
    return out


def _scan(buffer: List[str]) -> Tuple[bool, int]:
    """(whether the Python lines in `buffer` end inside a bracket, a string or after a backslash,
    index of the first line of the statement in progress: the lines before it are complete)."""
    start = 0
    while start < len(buffer):
        done = 0  # lines of `buffer[start:]` that end complete statements
        try:
            for token in tokenize.generate_tokens(io.StringIO("".join(buffer[start:])).readline):
                if token.type == tokenize.NEWLINE:
                    done = token.end[0]
        except tokenize.TokenError as exc:
            message = str(exc.args[0]) if exc.args else ""
            return "EOF" in message or "unterminated triple-quoted" in message, start + done
        except IndentationError as exc:
            # A dedent to a level this fragment never saw: the line starts a statement; go on from it.
            row = exc.lineno or 0
            if row <= 1:
                return False, len(buffer)
            start += row - 1
            continue
        except (SyntaxError, ValueError):  # not ours to judge: the cell's parse will say
            return False, len(buffer)
        return False, start + done
    return False, len(buffer)


class _Masker:
    def __init__(self, masks: Dict[int, _Mask]) -> None:
        self.masks = masks

    def _add(self, original: str, masked: str) -> str:
        ident = len(self.masks)
        tagged = masked + _MASK_TAG.format(ident)
        self.masks[ident] = _Mask(original, tagged)
        return tagged

    def _add_timed(self, original: str, head: str, original_head: str, stmt: str) -> str:
        ident = len(self.masks)
        tail = "  " + _MASK_TAG.format(ident)
        masked = head + stmt + tail
        self.masks[ident] = _Mask(original, masked, head=head, original_head=original_head, tail=tail)
        return masked

    def comment(self, line: str) -> str:
        """A line that is not Python at all (continuation, `%%bash` body): a comment."""
        if not line.strip():
            return line
        indent = line[: len(line) - len(line.lstrip())]
        return self._add(line, indent)

    def statement(self, line: str) -> str:
        """A magic at the start of a statement: a statement of the same indentation."""
        timed = _TIMED.match(line)
        if timed and not line.rstrip().endswith("\\"):
            stmt = timed.group("stmt")
            pad = len(timed.group("magic")) - len("if 1:")
            if pad >= 0 and _simple_statement(stmt):
                indent = timed.group("indent")
                return self._add_timed(line, indent + "if 1:" + " " * pad, indent + timed.group("magic"), stmt)
        indent = line[: len(line) - len(line.lstrip())]
        if not indent:
            # At the top level a comment will do, and keeps a later `from __future__` import valid.
            return self._add(line, "")
        return self._add(line, indent + "pass  ")

    def mask_lines(self, lines: List[str]) -> List[str]:
        """Mask the IPython lines of Python code (token-aware: only at the start of a statement)."""
        out: List[str] = []
        # The Python lines since the last known start of a statement. They are only tokenized
        # when a line looks like IPython (rare), so a long cell costs nothing here.
        buffer: List[str] = []
        continuation = False  # the previous magic line ended with a backslash
        for line in lines:
            if continuation:
                out.append(self.comment(line))
                continuation = line.rstrip().endswith("\\")
                continue
            if _LINE_MAGIC.match(line):
                still_open, first = _scan(buffer)
                buffer = buffer[first:]  # only the statement in progress needs a look next time
                if not still_open:
                    out.append(self.statement(line))
                    continuation = line.rstrip().endswith("\\")
                    buffer = []
                    continue
            buffer.append(line + "\n")
            out.append(line)
        return out


def _simple_statement(code: str) -> bool:
    """Whether `code` is one simple statement (so `if 1:code` is valid Python)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    simple = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete, ast.Pass, ast.Raise,
              ast.Assert, ast.Import, ast.ImportFrom)
    return len(tree.body) == 1 and isinstance(tree.body[0], simple)


def common_margin(source: str) -> str:
    """The indentation IPython strips from a cell: textwrap.dedent's margin, the whitespace all
    lines that are not blank start with."""
    margin: Optional[str] = None
    for indent in _LEADING_WHITESPACE.findall(_WHITESPACE_ONLY.sub("", source)):
        if margin is None or margin.startswith(indent):
            margin = indent
        elif not indent.startswith(margin):
            for index, (old, new) in enumerate(zip(margin, indent)):
                if old != new:
                    margin = margin[:index]
                    break
    return margin or ""


def _is_blank(line: str) -> bool:
    return not line.strip(" \t")


def _automagic(line: str) -> bool:
    """Whether IPython runs this line (a one-line cell) as a magic without `%`: it is not Python,
    and it starts with a magic or alias name that is not assigned (`ls = 1` is Python)."""
    match = _USER_INPUT.match(line)
    if match is None or match.group(2) or match.group(3) not in AUTOMAGICS:
        return False
    if match.group(4).lstrip()[:1] in ("=", ","):
        return False
    return not _parses(line)


def _parses(code: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _one_line(lines: List[str]) -> Optional[int]:
    """The index of a cell's only line, as IPython counts lines after its own transformations
    (leading blank lines dropped, a trailing line break not a line); None for more lines."""
    first = next((i for i, line in enumerate(lines) if line and not line.isspace()), None)
    if first is None:
        return None
    rest = lines[first:]
    if len(rest) > 1 and rest[-1] == "":
        rest = rest[:-1]
    return first if len(rest) == 1 and len(rest[0].splitlines()) == 1 else None


def _mask_cell(source: str, masks: Dict[int, _Mask], margin: str = "") -> List[Tuple[str, str]]:
    """The cell's (line, line break) pairs with `margin` (its common indentation) stripped and its
    IPython lines masked."""
    pairs = _split_lines(source)
    lines = [line for line, _ in pairs]
    if margin:
        lines = [line[len(margin):] if line.startswith(margin) and not _is_blank(line) else line for line in lines]
    masker = _Masker(masks)
    # Our own markers in the user's code would confuse the split: mask them as comments too.
    lines = [masker.comment(line) if _BOUNDARY_RE.match(line) or _MASK_TAIL.search(line) else line
             for line in lines]
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        words = lines[first].lstrip()[2:].split()
        name = words[0] if words else ""
        head = lines[:first] + [masker.comment(lines[first])]
        body = lines[first + 1:]
        if name in _PYTHON_CELL_MAGICS:
            lines = head + masker.mask_lines(body)
        else:
            lines = head + [masker.comment(line) for line in body]
    else:
        only = _one_line(lines)
        if only is not None and _automagic(lines[only]):
            lines = lines[:only] + [masker.statement(lines[only])] + lines[only + 1:]
        else:
            lines = masker.mask_lines(lines)
    return [(line, brk) for line, (_, brk) in zip(lines, pairs)]


def _indent(text: str, margin: str) -> str:
    """A cell's text with its common indentation put back on every line that is not blank."""
    if not margin:
        return text
    return "".join((line if _is_blank(line) else margin + line) + brk for line, brk in _split_lines(text))


def build_module(notebook: Notebook) -> VirtualModule:
    return module_of_cells(notebook.cells)


def module_of_cells(cells: Sequence[Any]) -> VirtualModule:
    """The virtual module of a notebook's cells (nbformat cell dicts; only code cells' `source` is
    read, and every cell counts in the numbering)."""
    module = VirtualModule(text="")
    parts: List[str] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell_source(cell)
        margin = common_margin(source)
        if margin:
            module.margins[number] = margin
        pairs = _mask_cell(source, module.masks, margin)
        body = "".join(line + brk for line, brk in pairs)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escape sequences and the like
                ast.parse(body)
        except SyntaxError as exc:
            cell_line = max(exc.lineno or 1, 1)
            column = max(exc.offset or 1, 1)
            hint = ""
            if cell_line <= len(pairs):
                line = pairs[cell_line - 1][0]
                if margin and not _is_blank(line):
                    column += len(margin)
                if _automagic(line.lstrip()):
                    name = _USER_INPUT.match(line.lstrip()).group(3)  # type: ignore[union-attr]
                    hint = (f" (IPython runs `{name}` without `%` only in a cell of one line: "
                            f"write `%{name}`)")
            # a `noqa` in the cell (or, in the first code cell, a file-level one) cannot hide it
            if futile_directive(body, cell_line, "E999", file_level=not module.code_cells):
                hint += futile_note("E999")
            first, rest = split_message(exc.msg)  # the hints belong to the first sentence
            module.broken.append(Diagnostic(
                "E999", f"SyntaxError in this cell: {first}{hint}; the cell is skipped" + (f". {rest}" if rest else ""),
                Position(cell_line, column), Position(cell_line, column),
                cell=number, source_line=cell_line,
            ))
            body = ""
            module.skipped.append(number)
        except (ValueError, RecursionError, MemoryError):
            module.broken.append(Diagnostic(
                "E999", "SyntaxError in this cell: it cannot be parsed; the cell is skipped",
                Position(1, 1), Position(1, 1), cell=number, source_line=1,
            ))
            body = ""
            module.skipped.append(number)
        parts.append(_BOUNDARY.format(number) + "\n" + body + "\n")
        module.cell_text[number] = body
        module.code_cells.append(number)
    module.text = "".join(parts)
    module.line_map = line_map_of(module.text)
    return module


def line_map_of(text: str) -> Dict[int, Tuple[int, int]]:
    """Virtual line -> (cell, line in cell), read off the boundary comments (valid after fixes too)."""
    out: Dict[int, Tuple[int, int]] = {}
    cell, in_cell = 0, 0
    for number, line in enumerate(_NEWLINE.split(text), start=1):
        boundary = _BOUNDARY_RE.match(line)
        if boundary:
            # Diagnostics never start on a boundary; an edit there (an insertion at the start
            # of the line) appends to the previous cell, just past its last line.
            out[number] = (cell, in_cell + 1) if cell else (int(boundary.group(1)), 0)
            cell, in_cell = int(boundary.group(1)), 0
            continue
        in_cell += 1
        out[number] = (cell, in_cell)
    return out


def column_shifts(text: str, module: VirtualModule) -> Dict[int, int]:
    """Virtual line -> how many characters its cell line has before it: the common indentation
    of a cell IPython strips, which the module leaves out (valid after fixes too)."""
    if not module.margins:
        return {}
    out: Dict[int, int] = {}
    cell = 0
    for number, line in enumerate(_NEWLINE.split(text), start=1):
        boundary = _BOUNDARY_RE.match(line)
        if boundary:
            cell = int(boundary.group(1))
            continue
        margin = module.margins.get(cell)
        if margin and not _is_blank(line):
            out[number] = len(margin)
    return out


def map_diagnostic(diag: Diagnostic, line_map: Dict[int, Tuple[int, int]],
                   shifts: Optional[Dict[int, int]] = None) -> Diagnostic:
    shifts = shifts or {}
    cell, line = line_map.get(diag.start.line, (None, diag.start.line))
    end_cell, end_line = line_map.get(diag.end.line, (cell, diag.end.line))
    start_column = diag.start.column + shifts.get(diag.start.line, 0)
    end_column = diag.end.column + shifts.get(diag.end.line, 0)
    if end_cell != cell or end_line < 1:
        end_line, end_column = max(line, 1), start_column
    return Diagnostic(
        code=diag.code,
        message=diag.message,
        start=Position(max(line, 1), start_column),
        end=Position(end_line, end_column),
        fix=diag.fix,
        cell=cell or None,
        source_line=diag.source_line,
        extra=diag.extra,
    )


def _unmask(text: str, module: VirtualModule) -> str:
    out = []
    for line, brk in _split_lines(text):
        tail = _MASK_TAIL.search(line)
        if tail:
            mask = module.masks.get(int(tail.group(1)))
            if mask is None:
                raise NotebookError("a fix changed a masked IPython line; nothing was written")
            if mask.head is not None and line.startswith(mask.head) and line.endswith(mask.tail):
                line = mask.original_head + line[len(mask.head):len(line) - len(mask.tail)]
            elif mask.masked == line:
                line = mask.original
            else:
                raise NotebookError("a fix changed a masked IPython line; nothing was written")
        out.append(line + brk)
    return "".join(out)


def split_cells(text: str, module: VirtualModule) -> Dict[int, str]:
    """Fixed virtual text -> {cell number: new source} for the cells whose code changed, magics put back.

    Raises NotebookError when the fixed text no longer has the module's cell structure."""
    bounds = list(_BOUNDARY_LINE.finditer(text))
    numbers = [int(m.group(1)) for m in bounds]
    if numbers != module.code_cells or (bounds and bounds[0].start() != 0) or (not bounds and text):
        raise NotebookError("a fix moved code across cell boundaries; nothing was written")
    result: Dict[int, str] = {}
    for index, match in enumerate(bounds):
        end = bounds[index + 1].start() if index + 1 < len(bounds) else len(text)
        chunk = text[match.end():end]
        if not chunk.endswith("\n"):
            raise NotebookError("a fix moved code across cell boundaries; nothing was written")
        chunk = chunk[:-1]  # the newline the module added after the cell
        number = numbers[index]
        if chunk == module.cell_text[number]:
            continue
        if number in module.skipped:
            raise NotebookError(f"a fix changed cell {number}, which was skipped; nothing was written")
        result[number] = _indent(_unmask(chunk, module), module.margins.get(number, ""))
    return result


def _as_source(old: Any, new: str) -> Any:
    if isinstance(old, list):
        return new.splitlines(keepends=True)  # as nbformat stores multi-line sources
    return new


def _dump(notebook: Notebook) -> str:
    text = json.dumps(notebook.data, indent=notebook.indent, ensure_ascii=notebook.ensure_ascii)
    if notebook.newline != "\n":
        text = text.replace("\n", notebook.newline)  # JSON strings hold no raw line breaks
    return text + (notebook.newline if notebook.trailing_newline else "")


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
    return _dump(notebook)


def round_trips(notebook: Notebook) -> bool:
    """Whether writing the unchanged notebook back reproduces its text (so a rewrite disturbs nothing else)."""
    try:
        return _dump(notebook) == notebook.raw_text
    except (TypeError, ValueError, RecursionError):
        return False
