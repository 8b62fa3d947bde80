"""Room for deep recursion, for the rare file that needs it.

libcst's visitors and code generator, and our own walks, recurse once or more per nesting
level: valid code that CPython accepts (150 calls nested in one another, say) can exhaust
Python's default recursion limit. Rather than rewrite every walk as a loop, such a file is
processed again in a thread with a large stack and a high recursion limit. Only that file pays.
"""

from __future__ import annotations

import sys
import threading
from typing import Callable, List, TypeVar

T = TypeVar("T")

# CPython's own parser refuses code nested deeper than a few thousand levels (200 brackets);
# a few dozen frames per level fit in these bounds. The stack is reserved, not committed; where
# the system refuses that much (a low `ulimit -v`), smaller ones are tried, then none.
RECURSION_LIMIT = 200_000
STACK_BYTES = (1024 * 1024 * 1024, 256 * 1024 * 1024, 64 * 1024 * 1024)


def call_with_deep_stack(function: Callable[[], T]) -> T:
    """`function()` in a thread whose stack and recursion limit allow deep recursion.

    Exceptions propagate to the caller. The recursion limit is process-wide, so it is raised
    only while the call runs (metriclint runs one file at a time per process)."""
    outcome: List[object] = []

    def run() -> None:
        previous_limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(previous_limit, RECURSION_LIMIT))
        try:
            outcome.append((True, function()))
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.append((False, exc))
        finally:
            sys.setrecursionlimit(previous_limit)

    previous_size = threading.stack_size()
    for size in STACK_BYTES:
        try:
            threading.stack_size(size)
            worker = threading.Thread(target=run, name="metriclint-deep-stack", daemon=True)
            worker.start()
            break
        except (RuntimeError, ValueError, MemoryError):  # "can't start new thread", size refused
            continue
        finally:
            threading.stack_size(previous_size)
    else:
        return function()  # on the ordinary stack: running out of recursion is then reported
    worker.join()
    ok, value = outcome[0]  # type: ignore[misc]
    if not ok:
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]
