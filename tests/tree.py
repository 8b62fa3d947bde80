"""Run this tree's metriclint in a subprocess, and prove that it was this tree's copy.

`python -m metriclint` resolves `metriclint` through `sys.path`: from a temporary working
directory that is whatever copy is installed, which may be older than the tree under test
(a broken fix in the tree then passed its runtime test). Every subprocess test goes through
`metriclint_command` and `tree_env`: the repository root comes first on `PYTHONPATH`, and a
small bootstrap imports `metriclint`, refuses to go on (exit code `WRONG_COPY_EXIT`) unless
`metriclint.__file__` lies under this repository, then runs `metriclint` as `python -m` would.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Optional

REPO = Path(__file__).resolve().parents[1]
WRONG_COPY_EXIT = 97  # metriclint's own exit codes are 0, 1 and 2
WRONG_COPY_MESSAGE = "METRICLINT_WRONG_COPY"

_BOOTSTRAP = r"""
import os, runpy, sys
import metriclint
here = os.path.realpath(os.path.dirname(metriclint.__file__))
want = os.path.realpath(os.path.join(__REPO__, "metriclint"))
if here != want:
    sys.stderr.write(__MESSAGE__ + ": imported metriclint from " + here + ", not the tree under test " + want + "\n")
    sys.exit(__EXIT__)
runpy.run_module("metriclint", run_name="__main__", alter_sys=True)
"""
_BOOTSTRAP = (
    _BOOTSTRAP.replace("__REPO__", repr(str(REPO)))
    .replace("__MESSAGE__", repr(WRONG_COPY_MESSAGE))
    .replace("__EXIT__", str(WRONG_COPY_EXIT))
)


def tree_env(base: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """`base` (default: os.environ) with this repository first on PYTHONPATH, no METRICLINT_DEBUG."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("METRICLINT_DEBUG", None)
    return env


def metriclint_command(*args: str) -> List[str]:
    """argv for `python -m metriclint ARGS` that runs this tree's metriclint, or exits 97 saying why not."""
    return [sys.executable, "-c", _BOOTSTRAP, *args]
