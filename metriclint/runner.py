"""Run check or fix over many files: read, lint or fix, write back; in worker processes when it pays."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Iterator, List, Optional

from .diagnostics import Diagnostic, FileResult, Position
from .engine import fix_text, lint_text
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


def process_source(job: Job, source: SourceFile) -> FileResult:
    result = FileResult(path=job.path, original_text=source.text)
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
                result.write_error = str(exc)
                result.fixed = {}
    return result


def process_file(job: Job) -> FileResult:
    try:
        source = read_source(job.path)
    except SourceError as exc:
        return FileResult(path=job.path, diagnostics=[io_error(job.path, str(exc))])
    return process_source(job, source)


def process_stdin(job: Job, raw: bytes) -> FileResult:
    try:
        source = decode_source(raw, "-")
    except SourceError as exc:
        return FileResult(path=job.path, diagnostics=[io_error(job.path, str(exc))])
    return process_source(job, source)


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
