"""Colour for the text reports: on only in a terminal, or when asked (`--color always`,
`FORCE_COLOR`); never in pipes, files or CI logs otherwise. As ruff decides it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional, TextIO

import click

COLOR_CHOICES = ("auto", "always", "never")


def use_color(choice: Optional[str], stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """`--color always|never` wins; with `auto` (the default) a non-empty `FORCE_COLOR` turns
    colour on, `NO_COLOR` off, and otherwise only a terminal outside CI gets it."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("NO_COLOR") or environ.get("CI"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@dataclass(frozen=True)
class Style:
    """Paints the parts of a report; with `color=False` every method returns its text as is."""

    color: bool = False

    def _paint(self, text: str, **style) -> str:
        return click.style(text, **style) if self.color and text else text

    def code(self, text: str) -> str:
        return self._paint(text, fg="red", bold=True)

    def fixable(self, text: str) -> str:
        return self._paint(text, fg="cyan")

    def path(self, text: str) -> str:
        return self._paint(text, bold=True)

    def separator(self, text: str) -> str:
        return self._paint(text, fg="cyan")

    def gutter(self, text: str) -> str:
        return self._paint(text, fg="blue", bold=True)

    def marker(self, text: str) -> str:
        return self._paint(text, fg="red", bold=True)

    def label(self, text: str) -> str:
        return self._paint(text, fg="cyan", bold=True)

    def strong(self, text: str) -> str:
        return self._paint(text, bold=True)
