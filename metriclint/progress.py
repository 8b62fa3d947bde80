"""A progress bar on stderr for long runs in a terminal: it ends at the total and erases itself,
so nothing of it is left above the results."""

from __future__ import annotations

import os
import time
from typing import Callable, Optional, TextIO

# Below this many files a run is over before a bar would help.
MIN_FILES = 200
_WIDTH = 30
_ERASE_LINE = "\r\x1b[2K"


def wanted(total: int, stream: TextIO, quiet: bool) -> bool:
    """Only for long runs, in a terminal, outside CI, and not with `--quiet`/`--silent`."""
    isatty = getattr(stream, "isatty", None)
    return total >= MIN_FILES and not quiet and bool(isatty and isatty()) and not os.environ.get("CI")


class ProgressBar:
    """`with ProgressBar(total, stream) as advance: advance(1)`. Redraws at most every 0.1 s,
    and always at the total; on exit (also on Ctrl-C) the line is erased."""

    def __init__(self, total: int, stream: TextIO, label: str = "Checking",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.stream = stream
        self.label = label
        self.clock = clock
        self.done = 0
        self._drawn: Optional[float] = None

    def __enter__(self) -> Callable[[int], None]:
        self._draw()
        return self.advance

    def advance(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        now = self.clock()
        if self.done == self.total or self._drawn is None or now - self._drawn >= 0.1:
            self._draw(now)

    def line(self) -> str:
        filled = _WIDTH * self.done // self.total if self.total else _WIDTH
        return f"{self.label}  [{'#' * filled}{'-' * (_WIDTH - filled)}]  {self.done}/{self.total}"

    def _draw(self, now: Optional[float] = None) -> None:
        self._drawn = self.clock() if now is None else now
        self.stream.write(_ERASE_LINE + self.line())
        self.stream.flush()

    def __exit__(self, *exc) -> None:
        self.stream.write(_ERASE_LINE)
        self.stream.flush()
