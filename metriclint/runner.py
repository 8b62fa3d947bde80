"""Run check or fix over many files: read, lint or fix, write back; in worker processes when it pays."""

from __future__ import annotations

import ast
import multiprocessing
import os
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

from .diagnostics import Diagnostic, FileResult, Position
from .engine import _rules_for, fix_text, lint_text, might_fire, syntax_error_diagnostic
from .settings import Settings
from .source import SourceError, SourceFile, decode_source, read_source, write_atomic

# Below this many files a process pool costs more than it saves.
POOL_THRESHOLD = 16


@dataclass(frozen=True)
class Job:
    path: str
    settings: Settings
    fix: bool = False
    unsafe: bool = False
    write: bool = True  # False for `fix --diff`


def io_error(path: str, message: str) -> Diagnostic:
    return Diagnostic("E902", message, Position(1, 1), Position(1, 1), source_line=1)


def _python_parses(text: str, path: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            ast.parse(text, filename=path)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def syntax_check(text: str, path: str) -> Optional[Diagnostic]:
    """E999 when the text is not Python 3 (for files the prefilter kept from the engine), else None.

    The stdlib parser is the fast first look; libcst has the last word and gives the E999 (the
    engine's `syntax_error_diagnostic`), so the message is the same as for a file the engine
    parsed, and syntax newer than the running interpreter is not reported.
    """
    if _python_parses(text, path):
        return None
    import libcst as cst

    try:
        cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        return syntax_error_diagnostic(exc, text)
    except RecursionError:
        return Diagnostic("E999", "SyntaxError: too deeply nested to parse", Position(1, 1), Position(1, 1), source_line=1)
    return None


def _skipped_by_prefilter(job: Job, text: str) -> bool:
    return not might_fire(text, _rules_for(job.settings, job.path))


def process_source(job: Job, source: SourceFile) -> FileResult:
    if job.path.endswith(".ipynb"):
        return process_notebook(job, source)
    result = FileResult(path=job.path, original_text=source.text)
    if _skipped_by_prefilter(job, source.text):
        error = syntax_check(source.text, job.path)
        if error is not None:
            result.diagnostics = [error]
        return result
    if not job.fix:
        output = lint_text(source.text, job.path, job.settings)
        result.diagnostics = output.diagnostics
        result.internal_error = output.internal_error
        return result
    fixed = fix_text(source.text, job.path, job.settings, job.unsafe)
    result.diagnostics = fixed.diagnostics
    result.internal_error = fixed.internal_error
    result.fixed = fixed.fixed
    result.rejected = fixed.rejected
    if fixed.text != source.text:
        result.new_text = fixed.text
        if job.write and source.path != "-":
            try:
                write_atomic(source, fixed.text)
            except SourceError as exc:
                # Nothing changed on disk: report what the file on disk still has.
                result.write_error = str(exc)
                result.fixed = {}
                result.new_text = None
                original = lint_text(source.text, job.path, job.settings)
                result.diagnostics = original.diagnostics
                result.internal_error = result.internal_error or original.internal_error
    return result


def process_notebook(job: Job, source: SourceFile) -> FileResult:
    """Lint or fix a notebook through its virtual module; diagnostics point at cells."""
    from . import notebook as nb

    result = FileResult(path=job.path)
    try:
        book = nb.read_notebook(source.text)
    except nb.NotebookError as exc:
        result.diagnostics = [io_error(job.path, str(exc))]
        return result
    if book.language not in (None, "python", "python3", "ipython", "ipython3"):
        result.notes.append(f"skipped: not a Python notebook (kernel language: {book.language})")
        return result
    module = nb.build_module(book)
    result.original_text = module.text
    result.line_map = module.line_map
    if not job.fix:
        output = lint_text(module.text, job.path, job.settings)
        result.diagnostics = module.broken + [nb.map_diagnostic(d, module.line_map) for d in output.diagnostics]
        result.internal_error = output.internal_error
        return result
    fixed = fix_text(module.text, job.path, job.settings, job.unsafe)
    fixed_map = nb.line_map_of(fixed.text)
    result.diagnostics = module.broken + [nb.map_diagnostic(d, fixed_map) for d in fixed.diagnostics]
    result.internal_error = fixed.internal_error
    result.rejected = fixed.rejected
    if fixed.text == module.text:
        return result
    old_sources = {n: nb.cell_source(book.cells[n - 1]) for n in module.code_cells}
    new_sources = nb.split_cells(fixed.text, module)
    result.diff_parts = [
        (f"cell {n}", old_sources[n], new_sources[n]) for n in module.code_cells
        if n in new_sources and new_sources[n] != old_sources[n]
    ]
    result.fixed = fixed.fixed
    result.new_text = fixed.text
    result.line_map = fixed_map
    if not job.write or not result.diff_parts:
        return result
    if not nb.round_trips(book):
        result.write_error = ("its JSON layout cannot be reproduced exactly, so fixes were not written "
                              "(save it once with Jupyter or nbformat to normalise it)")
    else:
        rendered = nb.render(book, new_sources)
        try:
            if rendered is not None:
                write_atomic(source, rendered)
        except SourceError as exc:
            result.write_error = str(exc)
    if result.write_error:
        result.fixed, result.new_text, result.diff_parts = {}, None, []
        result.line_map = module.line_map
        original = lint_text(module.text, job.path, job.settings)
        result.diagnostics = module.broken + [nb.map_diagnostic(d, module.line_map) for d in original.diagnostics]
    return result


def internal_error(path: str) -> FileResult:
    """A crash outside the rules (which the engine guards): reported, and the run goes on."""
    trace = traceback.format_exc(limit=-3)
    message = "internal error while processing this file; please report it at https://github.com/metriclint/metriclint/issues"
    return FileResult(
        path=path,
        diagnostics=[Diagnostic("E000", message, Position(1, 1), Position(1, 1), source_line=1, extra={"traceback": trace})],
        internal_error=True,
    )


def process_file(job: Job) -> FileResult:
    try:
        try:
            source = read_source(job.path)
        except SourceError as exc:
            return FileResult(path=job.path, diagnostics=[io_error(job.path, str(exc))])
        return process_source(job, source)
    except Exception:  # one file's crash must not stop the run (nor kill the worker pool)
        return internal_error(job.path)


def process_stdin(job: Job, raw: bytes) -> Tuple[FileResult, Optional[SourceFile]]:
    """The result, and the decoded source (None when stdin is not readable Python text)."""
    try:
        source = decode_source(raw, "-")
    except SourceError as exc:
        return FileResult(path=job.path, diagnostics=[io_error(job.path, str(exc))]), None
    try:
        return process_source(job, source), source
    except Exception:
        return internal_error(job.path), source


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_jobs(jobs: List[Job], workers: Optional[int] = None) -> Iterator[FileResult]:
    """Results in the order of `jobs`, whatever the number of workers."""
    workers = workers or default_jobs()
    if workers <= 1 or len(jobs) < POOL_THRESHOLD:
        for job in jobs:
            yield process_file(job)
        return
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - platforms without fork
        context = multiprocessing.get_context()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        chunk = max(1, min(32, len(jobs) // (workers * 8)))
        yield from pool.map(process_file, jobs, chunksize=chunk)
