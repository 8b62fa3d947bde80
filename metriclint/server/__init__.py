"""`metriclint server`: a Language Server Protocol server over stdio, for editors and notebooks.

It needs the `server` extra (`pip install 'metriclint[server]'`: pygls 2 and lsprotocol). Nothing
here is imported by `metriclint check` or `fix`: the CLI imports this package only for `server`.
"""

from __future__ import annotations

import sys
from typing import Optional

MISSING_EXTRA = ("metriclint: error: `metriclint server` needs the `server` extra: "
                 "pip install 'metriclint[server]' ({reason})")


def main() -> int:
    """Serve LSP on stdin/stdout until the client says exit; 2 when the extra is missing."""
    reason = _missing()
    if reason is not None:
        sys.stderr.write(MISSING_EXTRA.format(reason=reason) + "\n")
        return 2
    from .app import create_server

    create_server().start_io()
    return 0


def _missing() -> Optional[str]:
    """Why the extra cannot be used, or None."""
    try:
        import pygls  # noqa: F401
        import lsprotocol  # noqa: F401
    except ImportError as exc:
        return f"cannot import {exc.name or exc}"
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("pygls")
    except PackageNotFoundError:  # pragma: no cover - importable without metadata (vendored)
        return None
    if not found.split(".")[0].isdigit() or int(found.split(".")[0]) < 2:
        return f"pygls {found} is installed; metriclint needs pygls 2"
    return None
