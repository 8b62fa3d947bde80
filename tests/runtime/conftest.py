"""Helpers for the runtime tests: run a Python program under one Keras flavour, run metriclint.

Flavours:
- "3": `from tensorflow import keras` is Keras 3 (TensorFlow >= 2.16 default).
- "2": the same import is tf_keras 2.x, selected by `TF_USE_LEGACY_KERAS=1` (checked on
  TF 2.21: `tensorflow.keras` then resolves to `tf_keras.api._v2.keras`, and the Keras 3
  package is not even imported). `tf_keras.api._v2.keras` has no `__version__`; read
  `tf_keras.__version__` instead.

Every program is started through a small bootstrap that, at exit (also after an uncaught
exception), prints to stderr which Keras packages were loaded, so each run proves it really
ran under the flavour it was meant for.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import pytest

from tree import WRONG_COPY_EXIT, metriclint_command, tree_env

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
FLAVOURS = ("3", "2")

PROGRAM_TIMEOUT = 300  # seconds; a run takes ~5 s alone, more with xdist workers competing
METRICLINT_TIMEOUT = 120

RESULT_PREFIX = "METRICLINT_RESULT "
LOADED_PREFIX = "METRICLINT_KERAS_LOADED "

_BOOTSTRAP = r"""
import atexit, json, os, runpy, sys

def _report_loaded_keras():
    loaded = {}
    for name in ("keras", "tf_keras"):
        module = sys.modules.get(name)
        loaded[name] = getattr(module, "__version__", "?") if module is not None else None
    try:  # the backend Keras 3 really ran on (KERAS_BACKEND, unless a keras.json overrode it)
        loaded["backend"] = sys.modules["keras"].config.backend() if loaded["keras"] is not None else None
    except Exception:
        loaded["backend"] = None
    sys.stderr.write(PREFIX + json.dumps(loaded) + "\n")
    sys.stderr.flush()

atexit.register(_report_loaded_keras)
path = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(path))  # as `python path` would have it
runpy.run_path(path, run_name="__main__")
""".replace("PREFIX", repr(LOADED_PREFIX))

# Module names whose presence in sys.modules shows which Keras a program really used.
_FLAVOUR_MODULE = {"3": "keras", "2": "tf_keras"}


def flavour_env(flavour: str, keras_home: Optional[Path] = None, backend: str = "tensorflow") -> Dict[str, str]:
    """The environment a program runs in under `flavour` ("2" or "3"); Keras 3 on `backend`."""
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown flavour {flavour!r}")
    env = dict(os.environ)
    env.pop("TF_USE_LEGACY_KERAS", None)
    env.update(
        CUDA_VISIBLE_DEVICES="",
        TF_CPP_MIN_LOG_LEVEL="3",
        KERAS_BACKEND=backend,
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONIOENCODING="utf-8",
    )
    if keras_home is not None:  # a clean keras.json: no user backend/floatx settings leak in
        env["KERAS_HOME"] = str(keras_home)
    if flavour == "2":
        env["TF_USE_LEGACY_KERAS"] = "1"
    return env


@dataclass
class ProgramRun:
    path: Path
    flavour: str
    returncode: int
    stdout: str
    stderr: str
    loaded: Optional[Dict[str, Optional[str]]]

    def describe(self) -> str:
        return (
            f"{self.path} under Keras {self.flavour}: exit {self.returncode}\n"
            f"--- stdout (last 2000 chars) ---\n{self.stdout[-2000:]}\n"
            f"--- stderr (last 4000 chars) ---\n{self.stderr[-4000:]}"
        )

    def result(self) -> Dict[str, Any]:
        """The last `METRICLINT_RESULT {json}` line the program printed."""
        found = [line[len(RESULT_PREFIX):] for line in self.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
        assert found, f"no {RESULT_PREFIX.strip()} line\n" + self.describe()
        return json.loads(found[-1])

    def exception(self) -> Optional[tuple]:
        """(type name, message) of the uncaught exception, read off the final traceback."""
        return final_exception(self.stderr)

    def check_flavour(self) -> None:
        assert self.loaded is not None, "the bootstrap did not report the loaded Keras\n" + self.describe()
        wanted = _FLAVOUR_MODULE[self.flavour]
        other = _FLAVOUR_MODULE["2" if self.flavour == "3" else "3"]
        assert self.loaded[wanted] is not None, f"{wanted} was not imported\n" + self.describe()
        assert self.loaded[other] is None, f"{other} was imported under Keras {self.flavour}\n" + self.describe()

    def check_backend(self, backend: str) -> None:
        """Keras 3 ran on `backend` (flavour checked too)."""
        self.check_flavour()
        assert self.loaded is not None and self.loaded.get("backend") == backend, (
            f"Keras 3 ran on the {self.loaded and self.loaded.get('backend')!r} backend, not {backend!r}\n"
            + self.describe()
        )


def _run_program(
    path: Path, flavour: str, cwd: Path, keras_home: Optional[Path] = None, args: Sequence[str] = (),
    backend: str = "tensorflow",
) -> ProgramRun:
    """Run a Python file for real under a Keras flavour (cwd: where it may write files)."""
    proc = subprocess.run(
        [sys.executable, "-c", _BOOTSTRAP, str(path), *args],
        cwd=cwd,
        env=flavour_env(flavour, keras_home, backend),
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=PROGRAM_TIMEOUT,
        check=False,
    )
    loaded = None
    stderr_lines = []
    for line in proc.stderr.splitlines(keepends=True):
        if line.startswith(LOADED_PREFIX):
            loaded = json.loads(line[len(LOADED_PREFIX):])
        else:
            stderr_lines.append(line)
    return ProgramRun(path, flavour, proc.returncode, proc.stdout, "".join(stderr_lines), loaded)


SERVER_SCRIPT = Path(__file__).resolve().parent / "program_server.py"
SERVER_START_TIMEOUT = 300  # importing TensorFlow with xdist workers competing


class ProgramServer:
    """Runs programs under one flavour in one long-lived process (tests/runtime/program_server.py).

    Importing TensorFlow is most of a fresh run's time; the server pays it once per flavour and
    xdist worker. Results are the same as `_run_program`'s (tests/runtime/test_runner.py checks
    that against fresh processes). The server is restarted when a program left process-wide
    state behind, timed out, or the server died; the two flavours never share a process.
    """

    def __init__(self, flavour: str, keras_home: Optional[Path], workdir: Path) -> None:
        self.flavour = flavour
        self._keras_home = keras_home
        self._workdir = workdir
        self._proc: Optional[subprocess.Popen] = None
        self._log: Optional[Path] = None
        self.starts = 0  # how many processes this server has started (the tests look at it)

    def _start(self) -> None:
        self.starts += 1
        self._log = self._workdir / f"server-k{self.flavour}-{self.starts}.log"
        log = open(self._log, "wb")
        self._proc = subprocess.Popen(
            [sys.executable, str(SERVER_SCRIPT), self.flavour],
            cwd=self._workdir,
            env=flavour_env(self.flavour, self._keras_home),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            encoding="utf-8",
        )
        log.close()
        ready = self._receive(SERVER_START_TIMEOUT)
        assert ready.get("ready"), f"program server did not start: {ready}"

    def _receive(self, timeout: float) -> Dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        readable, _, _ = select.select([self._proc.stdout], [], [], timeout)
        line = self._proc.stdout.readline() if readable else ""
        if not line:
            self.close()
            reason = "timed out" if not readable else "died"
            log = self._log.read_text(encoding="utf-8", errors="replace")[-4000:] if self._log else ""
            raise AssertionError(f"program server (Keras {self.flavour}) {reason}\n--- its stderr ---\n{log}")
        return json.loads(line)

    def run(self, path: Path, cwd: Path, args: Sequence[str] = ()) -> ProgramRun:
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        assert self._proc is not None and self._proc.stdin is not None
        request = {"path": str(path), "cwd": str(cwd), "args": list(args)}
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        answer = self._receive(PROGRAM_TIMEOUT)
        if answer["dirty"]:  # state a reset cannot undo: the next program gets a new process
            self.close()
        return ProgramRun(path, self.flavour, answer["returncode"], answer["stdout"], answer["stderr"], answer["loaded"])

    def close(self) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        if proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$")


def final_exception(stderr: str) -> Optional[tuple]:
    """The exception that ended a program: the unindented line after the last traceback that went
    through the program's module level (a library may print the tracebacks of exceptions it
    caught, or put one in a message: keras-tuner's RuntimeError after 3 failed trials)."""
    lines = stderr.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last):")]
    if not starts:
        return None
    ends = starts[1:] + [len(lines)]
    uncaught = [start for start, end in zip(starts, ends)
                if any(line.startswith("  File ") and line.endswith(", in <module>") for line in lines[start:end])]
    last = uncaught[-1] if uncaught else starts[-1]
    for index in range(last + 1, len(lines)):
        line = lines[index]
        if not line or line[0].isspace():
            continue
        match = _EXCEPTION_LINE.match(line)
        if match:
            message = "\n".join([match.group("message") or ""] + lines[index + 1 :])
            return match.group("type"), message
    return None


@dataclass
class LintRun:
    args: Sequence[str]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"metriclint {' '.join(self.args)}: exit {self.returncode}\n{self.stdout}\n{self.stderr}"

    def codes(self) -> List[str]:
        """Codes reported (needs `--output-format json`)."""
        return [item["code"] for item in json.loads(self.stdout)]


def _run_metriclint(*args: str, cwd: Path) -> LintRun:
    """This tree's metriclint (proven by the bootstrap of `tree.metriclint_command`) in a fresh process."""
    env = tree_env()
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run(
        metriclint_command(*args),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=METRICLINT_TIMEOUT,
        check=False,
    )
    run = LintRun(args, proc.returncode, proc.stdout, proc.stderr)
    assert run.returncode != WRONG_COPY_EXIT, run.describe()
    assert run.returncode != 2, "metriclint failed (usage or internal error)\n" + run.describe()
    return run


@pytest.fixture(scope="session")
def keras_home(tmp_path_factory) -> Path:
    """A private KERAS_HOME (clean keras.json) shared by the programs of one test process."""
    return tmp_path_factory.mktemp("keras_home")


@pytest.fixture(scope="session")
def run_program(keras_home):
    """`run_program(path, flavour, cwd, args=()) -> ProgramRun`: run a Python file for real under a flavour."""

    def run(path: Path, flavour: str, cwd: Path, args: Sequence[str] = ()) -> ProgramRun:
        return _run_program(path, flavour, cwd, keras_home, args)

    return run


@pytest.fixture(scope="session")
def run_on_backend(keras_home):
    """`run_on_backend(path, backend, cwd) -> ProgramRun`: run a Python file for real on Keras 3 with
    another backend (`KERAS_BACKEND`: "jax"), in a fresh process."""

    def run(path: Path, backend: str, cwd: Path) -> ProgramRun:
        return _run_program(path, "3", cwd, keras_home, backend=backend)

    return run


@pytest.fixture(scope="session")
def metriclint():
    """`metriclint(*args, cwd=...) -> LintRun`: this tree's metriclint in a fresh process."""
    return _run_metriclint


@pytest.fixture(scope="session")
def run_fixture_program(keras_home, tmp_path_factory):
    """`run_fixture_program(path, flavour, cwd) -> ProgramRun`: like run_program, in the flavour's
    long-lived program server (one per flavour and xdist worker)."""
    servers: Dict[str, ProgramServer] = {}
    workdir = tmp_path_factory.mktemp("program_servers")

    def run(path: Path, flavour: str, cwd: Path, args: Sequence[str] = ()) -> ProgramRun:
        if flavour not in servers:
            servers[flavour] = ProgramServer(flavour, keras_home, workdir)
        return servers[flavour].run(path, cwd, args)

    run.servers = servers  # type: ignore[attr-defined]
    yield run
    for server in servers.values():
        server.close()
