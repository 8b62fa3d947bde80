"""Run check or fix over many files: read, lint or fix, write back; in worker processes when it pays."""

from __future__ import annotations

import gc
import os
import re
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Dict, Iterator, List, Optional, Set, TYPE_CHECKING, Tuple

from .diagnostics import Diagnostic, FileResult, Position
from .engine import fix_text, lint_text
from .settings import Settings
from .source import SourceError, SourceFile, decode_source, read_bytes, read_source, size_limit, too_large, write_atomic

# Below this many files a process pool costs more than it saves.
POOL_THRESHOLD = 16


if TYPE_CHECKING:  # pragma: no cover
    from .project.index import ProjectIndex, ProjectView


@dataclass(frozen=True)
class Job:
    path: str
    settings: Settings
    fix: bool = False
    unsafe: bool = False
    write: bool = True  # False for `fix --diff`
    add_noqa: bool = False  # `check --add-noqa`: suppress what is found with `# noqa: CODES` comments
    cached: bool = False  # the run has a result cache: give each result its key
    # where the project's module summaries are cached (None: computed in memory for this run only)
    summary_cache: Optional[str] = None


_INDEXES: Dict[Optional[str], "ProjectIndex"] = {}


def project_index(summary_cache: Optional[str]) -> "ProjectIndex":
    """One index of the project's modules per process (and cache directory): what is read and
    summarised once serves every file this process checks."""
    from .project.index import ProjectIndex

    if summary_cache not in _INDEXES:
        _INDEXES[summary_cache] = ProjectIndex(summary_cache)
    return _INDEXES[summary_cache]


def forget_project_index() -> None:
    """Drop what this process read of the project (a new run in the same process must see edits)."""
    _INDEXES.clear()


def project_view(job: "Job") -> "ProjectView":
    return project_index(job.summary_cache).view(job.path, job.settings)


def io_error(path: str, message: str) -> Diagnostic:
    return Diagnostic("E902", message, Position(1, 1), Position(1, 1), source_line=1)


def process_source(job: Job, source: SourceFile) -> FileResult:
    if job.path.endswith(".ipynb"):
        return process_notebook(job, source)
    if job.add_noqa:
        return process_add_noqa(job, source)
    result = FileResult(path=job.path, original_text=source.text)
    if not job.fix:
        output = lint_text(source.text, job.path, job.settings, project_view(job))
        result.diagnostics = output.diagnostics
        result.internal_error = output.internal_error
        return result
    fixed = fix_text(source.text, job.path, job.settings, job.unsafe, project_view(job))
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
                original = lint_text(source.text, job.path, job.settings, project_view(job))
                result.diagnostics = original.diagnostics
                result.internal_error = result.internal_error or original.internal_error
    return result


_PYTHON_LANGUAGES = (None, "python", "python3", "ipython", "ipython3")
_REJECTED_AT = re.compile(r"\bfix at (\d+):(\d+)")


def notebook_settings(module, settings: Settings) -> Settings:
    """The settings a notebook is checked with: `%env TF_USE_LEGACY_KERAS=1` in a cell makes the
    kernel's `tf.keras` tf_keras for the whole notebook."""
    from . import notebook as nb

    if nb.sets_legacy_keras(module) and settings.flavour != "2":
        return replace(settings, target_keras="2", legacy_keras=None,
                       target_source="the notebook sets TF_USE_LEGACY_KERAS with %env")
    return settings


def process_notebook(job: Job, source: SourceFile) -> FileResult:
    """Lint or fix a notebook through its virtual module; diagnostics point at cells.

    `original_text`/`new_text` and `line_map` are the virtual module's (so fix edits in JSON and
    SARIF map to cell lines), `diff_parts` the per-cell changes; only for stdin is `new_text`
    the fixed notebook JSON, which the CLI writes to stdout.
    """
    from . import notebook as nb

    result = FileResult(path=job.path)
    try:
        book = nb.read_notebook(source.text)
    except nb.NotebookError as exc:
        result.diagnostics = [io_error(job.path, str(exc))]
        return result
    if book.language not in _PYTHON_LANGUAGES:
        result.notes.append(f"skipped: not a Python notebook (kernel language: {book.language})")
        return result
    module = nb.build_module(book)
    job = replace(job, settings=notebook_settings(module, job.settings))
    result.original_text = module.text
    result.line_map, result.column_shifts = module.line_map, nb.column_shifts(module.text, module)
    if job.add_noqa:
        return _add_noqa_to_notebook(job, source, book, module, result)

    def mapped(diagnostics, line_map, text):
        shifts = nb.column_shifts(text, module)
        out = module.broken + [nb.map_diagnostic(d, line_map, shifts) for d in diagnostics]
        return sorted(out, key=lambda d: d.sort_key)

    def unfixed(message: Optional[str] = None) -> FileResult:
        """Nothing is (or would be) written: report what the notebook on disk still has."""
        if message is not None:
            result.write_error = message
        result.fixed, result.new_text, result.diff_parts = {}, None, []
        result.line_map, result.column_shifts = module.line_map, nb.column_shifts(module.text, module)
        original = lint_text(module.text, job.path, job.settings, project_view(job))
        result.diagnostics = mapped(original.diagnostics, module.line_map, module.text)
        result.internal_error = result.internal_error or original.internal_error
        return result

    if not job.fix:
        output = lint_text(module.text, job.path, job.settings, project_view(job))
        result.diagnostics = mapped(output.diagnostics, module.line_map, module.text)
        result.internal_error = output.internal_error
        return result
    fixed = fix_text(module.text, job.path, job.settings, job.unsafe, project_view(job))
    fixed_map = nb.line_map_of(fixed.text)
    result.diagnostics = mapped(fixed.diagnostics, fixed_map, fixed.text)
    result.internal_error = fixed.internal_error
    result.rejected = [_REJECTED_AT.sub(lambda m: _cell_position(m, module.line_map), r) for r in fixed.rejected]
    if fixed.text == module.text:
        return result
    try:
        new_sources = nb.split_cells(fixed.text, module)
    except nb.NotebookError as exc:
        return unfixed(str(exc))
    if not new_sources:
        return unfixed()  # pragma: no cover - a fix that changed nothing in any cell
    result.diff_parts = [
        (f"cell {n}", nb.cell_source(book.cells[n - 1]), new_sources[n]) for n in module.code_cells if n in new_sources
    ]
    result.fixed = fixed.fixed
    result.new_text = fixed.text
    result.line_map, result.column_shifts = fixed_map, nb.column_shifts(fixed.text, module)
    stdin = source.path == "-"
    if not stdin and not job.write:
        return result  # `fix --diff`
    if not nb.round_trips(book):
        return unfixed("its JSON layout cannot be reproduced exactly, so fixes were not written "
                       "(save it once with Jupyter or nbformat to normalise it)")
    rendered = nb.render(book, new_sources)
    if rendered is None:  # pragma: no cover - split_cells only returns changed cells
        return unfixed()
    if stdin:
        # The CLI writes `new_text` to stdout: that must be the notebook, not the virtual module.
        result.original_text, result.new_text, result.line_map, result.column_shifts = source.text, rendered, None, None
        return result
    try:
        write_atomic(source, rendered)
    except SourceError as exc:
        return unfixed(str(exc))
    return result


# --- check --add-noqa ---------------------------------------------------------------------------
_IMPOSSIBLE = ("{subject} not suppressed: no comment can go at the end of {its} line (it ends inside a "
               "multi-line string or continues with a backslash); use `# metriclint: noqa: CODE` at the top "
               "of the file or `per-file-ignores` instead")


def _noqa_targets(diagnostics) -> Dict[int, Set[str]]:
    """Line (of the linted text) -> the rule codes to name there; tool codes and KM001 are left out."""
    from .rules import TOOL_CODES
    from .suppression import UNUSED_NOQA

    wanted: Dict[int, Set[str]] = {}
    for diag in diagnostics:
        if diag.code in TOOL_CODES or diag.code == UNUSED_NOQA or diag.source_line < 1:
            continue
        wanted.setdefault(diag.source_line, set()).add(diag.code)
    return wanted


def _add_noqa_text(job: Job, text: str, protected=None):
    """(lint output before, the text with directives, lines edited, lines where none could go, lint output after)."""
    from .suppression import add_noqa

    before = lint_text(text, job.path, job.settings, project_view(job))
    added = add_noqa(text, _noqa_targets(before.diagnostics), protected)
    if added.text == text:
        return before, text, [], added.impossible, before
    if not _compiles(added.text):  # pragma: no cover - a comment at a line end cannot break code
        raise SourceError("adding noqa comments would make the file invalid; not written")
    after = lint_text(added.text, job.path, job.settings, project_view(job))
    return before, added.text, added.lines, added.impossible, after


def _compiles(text: str) -> bool:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<noqa>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    except (RecursionError, MemoryError):  # pragma: no cover - the lint already parsed it
        return True
    return True


def _unsuppressible(diagnostics, impossible: Set[int]) -> int:
    targets = _noqa_targets(diagnostics)
    return sum(1 for d in diagnostics if d.source_line in impossible and d.code in targets.get(d.source_line, ()))


def _impossible_notes(count: int) -> List[str]:
    if not count:
        return []
    if count == 1:
        return [_IMPOSSIBLE.format(subject="1 diagnostic", its="its")]
    return [_IMPOSSIBLE.format(subject=f"{count} diagnostics", its="their")]


def process_add_noqa(job: Job, source: SourceFile) -> FileResult:
    result = FileResult(path=job.path, original_text=source.text)
    try:
        before, new_text, lines, impossible, after = _add_noqa_text(job, source.text)
    except SourceError as exc:  # pragma: no cover - see _add_noqa_text
        result.write_error = str(exc)
        output = lint_text(source.text, job.path, job.settings, project_view(job))
        result.diagnostics, result.internal_error = output.diagnostics, output.internal_error
        return result
    result.diagnostics = after.diagnostics
    result.internal_error = after.internal_error
    skipped = _unsuppressible(after.diagnostics, impossible)
    result.notes.extend(_impossible_notes(skipped))
    if new_text != source.text:
        try:
            write_atomic(source, new_text)
        except SourceError as exc:
            result.write_error = str(exc)
            result.diagnostics = before.diagnostics
            result.internal_error = before.internal_error
            return result
        result.noqa_added = len(lines)
        result.original_text = new_text
    return result


def _add_noqa_to_notebook(job: Job, source: SourceFile, book, module, result: FileResult) -> FileResult:
    from . import notebook as nb

    def mapped(diagnostics, line_map, text):
        shifts = nb.column_shifts(text, module)
        out = module.broken + [nb.map_diagnostic(d, line_map, shifts) for d in diagnostics]
        return sorted(out, key=lambda d: d.sort_key)

    before, new_text, lines, impossible, after = _add_noqa_text(job, module.text, nb.MASK_TAG_AT_END)
    result.internal_error = after.internal_error
    result.diagnostics = mapped(before.diagnostics, module.line_map, module.text)
    if new_text == module.text:
        skipped = _unsuppressible(before.diagnostics, impossible)
        result.notes.extend(_impossible_notes(skipped))
        return result
    try:
        new_sources = nb.split_cells(new_text, module)
    except nb.NotebookError as exc:  # pragma: no cover - comments at line ends stay in their cell
        result.write_error = str(exc)
        return result
    if not nb.round_trips(book):
        result.write_error = ("its JSON layout cannot be reproduced exactly, so noqa comments were not written "
                              "(save it once with Jupyter or nbformat to normalise it)")
        return result
    rendered = nb.render(book, new_sources)
    if rendered is not None:
        try:
            write_atomic(source, rendered)
        except SourceError as exc:
            result.write_error = str(exc)
            return result
    new_map = nb.line_map_of(new_text)
    result.diagnostics = mapped(after.diagnostics, new_map, new_text)
    result.original_text, result.line_map = new_text, new_map
    result.column_shifts = nb.column_shifts(new_text, module)
    result.noqa_added = len(lines)
    skipped = _unsuppressible(after.diagnostics, impossible)
    result.notes.extend(_impossible_notes(skipped))
    return result


def _cell_position(match: "re.Match[str]", line_map) -> str:
    cell, line = line_map.get(int(match.group(1)), (0, 0))
    if not cell:
        return match.group(0)
    return f"fix at cell {cell}:{line}:{match.group(2)}"


def internal_error(path: str) -> FileResult:
    """A crash outside the rules (which the engine guards): reported, and the run goes on."""
    trace = traceback.format_exc(limit=-3)
    message = "internal error while processing this file; please report it at https://github.com/metriclint/metriclint/issues"
    return FileResult(
        path=path,
        diagnostics=[Diagnostic("E000", message, Position(1, 1), Position(1, 1), source_line=1, extra={"traceback": trace})],
        internal_error=True,
    )


def cache_key(job: Job, raw: bytes) -> str:
    """The file's bytes, the settings, and what it depends on in the project (the text of the
    project modules it imports, transitively): editing `metrics.py` re-checks its importers."""
    from .cache import ResultCache

    kind = "notebook" if job.path.endswith(".ipynb") else "python"
    index = project_index(job.summary_cache)
    text = _import_text(raw, kind)
    depends = index.dependency_key(job.path, index.roots(job.path, job.settings.root), text)
    return ResultCache.key(raw, job.settings.cache_key() + "\0" + depends, sorted(job.settings.ignored_for(job.path)), kind)


def _import_text(raw: bytes, kind: str) -> str:
    """Text whose lines hold the file's imports: the file, or a notebook's code cells."""
    text = raw.decode("utf-8", "replace")
    if kind != "notebook":
        return text
    try:
        import json

        cells = json.loads(text).get("cells", [])
        return "\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list) else str(c.get("source", ""))
                         for c in cells if isinstance(c, dict) and c.get("cell_type") == "code")
    except (ValueError, AttributeError, TypeError, RecursionError):
        return text


def process_file(job: Job) -> FileResult:
    try:
        try:
            source = read_source(job.path)
        except SourceError as exc:
            return FileResult(path=job.path, diagnostics=[io_error(job.path, str(exc))])
        with no_cycle_collection():
            result = process_source(job, source)
        if job.cached:
            result.cache_key = cache_key(job, source.raw)
        return result
    except Exception:  # one file's crash must not stop the run (nor kill the worker pool)
        return internal_error(job.path)


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector runs every few hundred allocations and walks every live object:
    while a file's libcst tree (hundreds of thousands of nodes, none in a cycle) is alive, that is
    a quarter of the run. It is paused for one file; what that file left in cycles is collected
    after it, so memory stays bounded by one file's garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _cacheable(job: Job, result: FileResult) -> bool:
    if result.internal_error or result.write_error or result.notes or result.new_text is not None or result.cache_key is None:
        return False
    if result.noqa_added:
        return False  # the key is of the bytes before the comments were added
    if any(d.code == "E902" for d in result.diagnostics):
        return False  # read errors depend on the file system, not on the content
    # notebooks: only clean results (their diagnostics need the cell map to report edits)
    return not (job.path.endswith(".ipynb") and result.diagnostics)


def _from_cache(job: Job, cache) -> Optional[FileResult]:
    try:
        raw = read_bytes(job.path)  # not a plain read: a FIFO or device must not block the run
    except SourceError:
        return None  # reported when the file is processed
    diagnostics = cache.get(cache_key(job, raw))
    if diagnostics is None:
        return None
    if job.fix and any(d.fix is not None and (job.unsafe or d.fix.safety.value == "safe") for d in diagnostics):
        return None  # there is something to fix: do it for real
    if job.add_noqa and diagnostics:
        return None  # there may be comments to add: do it for real
    result = FileResult(path=job.path, diagnostics=diagnostics)
    length = None
    if any(d.fix is not None for d in diagnostics):
        try:
            result.original_text = decode_source(raw, job.path).text  # reporters place the edits with it
        except SourceError:
            return None
        length = len(result.original_text)
    if not all(_plausible(d, length) for d in diagnostics):
        return None  # a damaged (or hand-edited) entry: compute the result again
    return result


def _plausible(diag: Diagnostic, length: Optional[int]) -> bool:
    """Whether a cached diagnostic could have come from metriclint for a text of `length`."""
    def position(p) -> bool:
        return type(p.line) is int and type(p.column) is int and p.line >= 1 and p.column >= 1

    if not (isinstance(diag.code, str) and isinstance(diag.message, str) and position(diag.start) and position(diag.end)):
        return False
    if diag.fix is None:
        return True
    return length is not None and all(
        type(e.start) is int and type(e.end) is int and 0 <= e.start <= e.end <= length and isinstance(e.content, str)
        for e in diag.fix.edits
    )


def process_stdin(job: Job, raw: bytes) -> Tuple[FileResult, Optional[SourceFile]]:
    """The result, and the decoded source (None when stdin is not readable Python text)."""
    limit = size_limit(job.path)
    try:
        if len(raw) > limit:
            raise too_large(len(raw), limit)
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


def run_jobs(jobs: List[Job], workers: Optional[int] = None, cache=None, progress=None) -> List[FileResult]:
    """Results in the order of `jobs`, whatever the number of workers and whether the cache is on."""
    results: List[Optional[FileResult]] = [None] * len(jobs)
    pending: List[int] = []
    for index, job in enumerate(jobs):
        hit = _from_cache(job, cache) if cache is not None else None
        if hit is not None:
            results[index] = hit
            if progress is not None:
                progress(1)
        else:
            pending.append(index)
    # `_compute` yields exactly one result per pending job; counting here (not inside the
    # generator, which `zip` never resumes after its last result) makes the bar reach the total.
    for index, result in zip(pending, _compute([jobs[i] for i in pending], workers)):
        results[index] = result
        if progress is not None:
            progress(1)
        if cache is not None and _cacheable(jobs[index], result):
            cache.put(result.cache_key, result.diagnostics)
    if cache is not None:
        cache.save()
    return results  # type: ignore[return-value]


def _compute(jobs: List[Job], workers: Optional[int]) -> Iterator[FileResult]:
    workers = workers or default_jobs()
    if workers <= 1 or len(jobs) < POOL_THRESHOLD:
        for job in jobs:
            yield process_file(job)
        return
    # Imported here: a run of a few files (pre-commit's) never starts a pool.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - platforms without fork
        context = multiprocessing.get_context()
    size = max(1, min(16, len(jobs) // (workers * 8)))
    chunks = [jobs[start:start + size] for start in range(0, len(jobs), size)]
    done = 0  # chunks whose results were yielded
    futures: list = []
    broken = False
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init)
    try:
        futures = [pool.submit(_process_chunk, chunk) for chunk in chunks]
        for future in futures:
            results = future.result()
            for result in results:
                yield result
            done += 1
    except BrokenProcessPool:
        broken = True
    finally:
        # Also on Ctrl-C: files not started are not started, the ones being processed finish or
        # stop cleanly (a write is a rename, so a file is either old or fixed, never half-written).
        pool.shutdown(wait=True, cancel_futures=True)
    if broken:
        # A worker died: a crash in native code (the parser) or killed for memory. The chunks
        # that finished keep their results; every other file is done again in a process of its
        # own, so that only a file that kills its process is lost, as an internal error.
        for chunk, future in zip(chunks[done:], futures[done:]):
            finished = future.done() and not future.cancelled() and future.exception() is None
            for index, job in enumerate(chunk):
                yield future.result()[index] if finished else _isolated(job, context)


_busy = False  # in a worker: whether it is processing files (Ctrl-C stops those, and only those)


def _worker_init() -> None:  # pragma: no cover - runs in the workers
    import signal

    signal.signal(signal.SIGINT, _worker_interrupted)
    signal.signal(signal.SIGTERM, _worker_terminated)


def _worker_interrupted(signum, frame) -> None:  # pragma: no cover - runs in the workers
    # Ctrl-C reaches every process of the terminal's group. A busy worker stops its file (the
    # exception unwinds through the atomic write, which removes its temporary file); an idle one
    # ignores it (else it would die with a traceback while the parent shuts the pool down).
    if _busy:
        raise KeyboardInterrupt


class _Terminated(BaseException):
    """Raised in a busy worker by SIGTERM so that the file being written is cleaned up."""


def _worker_terminated(signum, frame) -> None:  # pragma: no cover - runs in the workers
    # When one worker dies the pool terminates the others (SIGTERM). A worker in the middle of
    # an atomic write would leave its temporary file behind: unwind first, then exit for real
    # (surviving would leave the parent waiting for it forever).
    if _busy:
        raise _Terminated
    os._exit(128 + signum)


def _process_chunk(jobs: List[Job]) -> List[FileResult]:
    global _busy
    _busy = True
    try:
        return [process_file(job) for job in jobs]
    except _Terminated:
        os._exit(128 + 15)  # as if SIGTERM had killed it
    finally:
        _busy = False


def _isolated(job: Job, context) -> FileResult:
    """`process_file(job)` in a child process; an internal error if the child dies."""
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, args=(job, writer), daemon=True)
    child.start()
    writer.close()
    try:
        result = reader.recv()
    except EOFError:  # it died without an answer
        result = None
    finally:
        reader.close()
        child.join()
    if result is None:
        return crashed(job.path, child.exitcode)
    return result


def _child_main(job: Job, writer) -> None:  # pragma: no cover - runs in the child
    import signal

    global _busy
    _busy = True
    signal.signal(signal.SIGINT, _worker_interrupted)
    try:
        writer.send(process_file(job))
    except KeyboardInterrupt:
        pass  # the parent is interrupted too; no traceback from here
    finally:
        writer.close()


def crashed(path: str, exitcode: Optional[int]) -> FileResult:
    import signal

    how = f"exit code {exitcode}"
    if exitcode is not None and exitcode < 0:
        try:
            how = f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"signal {-exitcode}"
    message = (f"internal error: metriclint's process died while processing this file ({how}); the other "
               "files were checked. Please report it at https://github.com/metriclint/metriclint/issues")
    return FileResult(
        path=path,
        diagnostics=[Diagnostic("E000", message, Position(1, 1), Position(1, 1), source_line=1)],
        internal_error=True,
    )
