"""Faults while running: a crash or Ctrl-C between writing and renaming, a full disk, permission
errors, files that vanish, workers that die, rules that raise. The original file is always intact
(or fully fixed), no temporary file is left behind, the message is one clear line, and the run
goes on where it can.

Covered elsewhere, not repeated here (tests/test_fix_safety.py): a file changed or deleted on disk
after it was read is not overwritten (`test_file_changed_on_disk_meanwhile_is_not_overwritten`,
`test_file_deleted_meanwhile_is_not_recreated`), a read-only file is not written
(`test_read_only_file_*`), an OSError from the rename keeps the original
(`test_failed_write_keeps_the_original_and_leaves_no_temporary_file`); unreadable files and
directories: tests/test_bad_input.py; a crash outside the rules: tests/test_cli.py.
"""

from __future__ import annotations

import errno
import faulthandler
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from click.testing import CliRunner

import metriclint.files as files_module
import metriclint.runner as runner
import metriclint.source as source_module
from metriclint.cli import main
from metriclint.rules import all_rules
from tree import metriclint_command, tree_env

REPO = Path(__file__).resolve().parents[1]
FIT = """\
from tensorflow import keras
model = keras.Sequential()
model.compile(loss="mse", metrics=["mae"])
model.fit(x, y, nb_epoch=3)
"""
FIXED = FIT.replace("nb_epoch=3", "epochs=3")
NB_EPOCH = "KM101 [*] `Model.fit()` does not take `nb_epoch=` (TypeError)"
BOTH = FIT + "m = keras.metrics.Mean()\nm.reset_states()\n"  # KM101 and KM103
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "metriclint.toml").write_text('target-keras = "3"\nselect = ["KM101"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> Tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, data: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8"))
    return path


def leftovers(root: Path) -> List[str]:
    """Temporary files of metriclint's writes or of the cache, anywhere under `root`."""
    out = []
    for directory, _, names in os.walk(root):
        for name in names:
            if name.startswith((".metriclint-", ".results-")) or name.endswith(".tmp"):
                out.append(os.path.relpath(os.path.join(directory, name), root))
    return sorted(out)


def states(paths: List[Path]) -> Dict[str, str]:
    """Each file is either untouched or completely fixed: never anything in between."""
    out = {}
    for path in paths:
        data = path.read_text(encoding="utf-8")
        out[path.name] = "original" if data == FIT else "fixed" if data == FIXED else "BROKEN"
    return out


# --- a crash between writing and renaming ----------------------------------------------------------------
def test_ctrl_c_at_the_rename_keeps_the_original(project, monkeypatch):
    path = write(project / "train.py", FIT)

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(source_module.os, "replace", interrupted)
    code, out, err = run("fix", "train.py")
    monkeypatch.undo()
    assert code == 2
    assert err.strip() == "metriclint: error: interrupted"
    assert path.read_text(encoding="utf-8") == FIT
    assert leftovers(project) == []


@pytest.mark.parametrize("when", ["writing", "renaming"])
def test_ctrl_c_while_saving_the_cache_leaves_no_temporary_file(project, monkeypatch, when):
    import metriclint.cache as cache_module

    write(project / "train.py", FIT)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_module.json, "dump", interrupted) if when == "writing" else \
        monkeypatch.setattr(cache_module.os, "replace", interrupted)
    code, out, err = run("check", "train.py")
    monkeypatch.undo()
    assert code == 2 and err.strip() == "metriclint: error: interrupted"
    assert leftovers(project) == []
    assert (project / "train.py").read_text(encoding="utf-8") == FIT


@pytest.mark.parametrize("stage", ["write", "fsync", "chmod"])
@pytest.mark.parametrize(
    "error",
    [
        (errno.ENOSPC, "No space left on device"),
        (errno.EDQUOT, "Disk quota exceeded"),
        (errno.EIO, "Input/output error"),
    ],
)
def test_failure_while_writing_the_temporary_file(project, monkeypatch, stage, error):
    full = write(project / "a_full.py", FIT)
    fine = write(project / "b_fine.py", FIT)

    def fail(*args, **kwargs):
        raise OSError(error[0], error[1])

    real_fdopen = source_module.os.fdopen
    # Only the first write fails: a_full.py's (files are processed in order with one job).
    calls = {"n": 0}

    def first_only(real):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 1:
                fail()
            return real(*args, **kwargs)
        return wrapper

    if stage == "write":
        monkeypatch.setattr(source_module.os, "fdopen", lambda fd, *a, **k: _failing_once(real_fdopen(fd, *a, **k), calls, fail))
    elif stage == "fsync":
        monkeypatch.setattr(source_module.os, "fsync", first_only(os.fsync))
    else:
        monkeypatch.setattr(source_module.os, "chmod", first_only(os.chmod))
    code, out, err = run("fix", "-j", "1", ".")
    monkeypatch.undo()
    assert code == 1
    assert err.strip() == f"metriclint: error: a_full.py: not written: cannot write: {error[1]}"
    assert full.read_text(encoding="utf-8") == FIT  # intact
    assert fine.read_text(encoding="utf-8") == FIXED  # the run went on
    assert out.splitlines() == [f"a_full.py:4:17: {NB_EPOCH}", "Found 2 errors (1 fixed, 1 remaining)."]
    assert leftovers(project) == []


class _failing_once:
    """A file object whose first write (over all instances) raises."""

    def __init__(self, handle, calls, fail):
        self.handle, self.calls, self.fail = handle, calls, fail

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def write(self, data):
        self.calls["n"] += 1
        if self.calls["n"] == 1:
            self.fail()
        return self.handle.write(data)

    def __getattr__(self, name):
        return getattr(self.handle, name)


def test_directory_not_writable_simulated(project, monkeypatch):
    # As root a read-only directory does not stop writes: make the temporary file refuse instead.
    locked = write(project / "locked" / "train.py", FIT)
    other = write(project / "open" / "train.py", FIT)
    import tempfile

    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and os.path.basename(dir) == "locked":
            raise PermissionError(errno.EACCES, "Permission denied", dir)
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    code, out, err = run("fix", ".")
    monkeypatch.undo()
    assert code == 1
    assert err.strip() == "metriclint: error: locked/train.py: not written: cannot write: Permission denied"
    assert locked.read_text(encoding="utf-8") == FIT
    assert other.read_text(encoding="utf-8") == FIXED
    assert leftovers(project) == []


@pytest.mark.skipif(AS_ROOT, reason="root writes into read-only directories; see the simulated test")
def test_directory_not_writable(project):
    locked = write(project / "locked" / "train.py", FIT)
    other = write(project / "open" / "train.py", FIT)
    (project / "locked").chmod(0o555)
    try:
        code, _, err = run("fix", ".")
    finally:
        (project / "locked").chmod(0o755)
    assert code == 1
    assert "locked/train.py: not written: cannot write: Permission denied" in err
    assert locked.read_text(encoding="utf-8") == FIT
    assert other.read_text(encoding="utf-8") == FIXED


# --- files that vanish mid-run ------------------------------------------------------------------------------
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_file_that_vanishes_after_discovery(project, monkeypatch, jobs):
    for index in range(20):  # enough for the worker pool
        write(project / f"m{index:02d}.py", FIT)
    real_discover = files_module.discover

    def discover_then_delete(*args, **kwargs):
        found = real_discover(*args, **kwargs)
        (project / "m07.py").unlink()
        os.rename(project / "m08.py", project / "renamed.py")
        return found

    monkeypatch.setattr(files_module, "discover", discover_then_delete)
    code, out, err = run("fix", "-j", jobs, ".")
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert "m07.py:1:1: E902 no such file" in lines
    assert "m08.py:1:1: E902 no such file" in lines
    assert lines[-1] == "Found 20 errors (18 fixed, 2 remaining)."
    assert not (project / "m07.py").exists()
    assert (project / "renamed.py").read_text(encoding="utf-8") == FIT  # not followed, not touched
    assert all((project / f"m{i:02d}.py").read_text(encoding="utf-8") == FIXED for i in range(20) if i not in (7, 8))


def test_directory_that_vanishes_during_the_walk(project, monkeypatch):
    write(project / "a" / "train.py", FIT)
    write(project / "b" / "train.py", FIT)
    real_scandir = os.scandir

    def scandir(path="."):
        if os.path.basename(os.fspath(path)) == "b":
            os.remove(os.path.join(path, "train.py"))
            os.rmdir(path)
        return real_scandir(path)

    monkeypatch.setattr(files_module.os, "scandir", scandir)
    code, out, err = run("check", ".")
    assert code == 1 and err == ""
    assert out.splitlines() == [
        f"a/train.py:4:17: {NB_EPOCH}",
        "b:1:1: E902 cannot read directory: No such file or directory",
        "Found 2 errors (1 fixable with `metriclint fix`).",
    ]


# --- Ctrl-C -----------------------------------------------------------------------------------------------
def test_ctrl_c_in_a_serial_run_leaves_every_file_whole(project, monkeypatch):
    paths = [write(project / f"m{index}.py", FIT) for index in range(6)]
    real_fix = runner.fix_text
    seen = []

    def fix_then_interrupt(text, path, *args, **kwargs):
        seen.append(path)
        if len(seen) == 4:
            raise KeyboardInterrupt
        return real_fix(text, path, *args, **kwargs)

    monkeypatch.setattr(runner, "fix_text", fix_then_interrupt)
    code, out, err = run("fix", "-j", "1", ".")  # with the cache on: it must not be left half-written
    assert code == 2
    assert err.strip() == "metriclint: error: interrupted"
    assert list(states(paths).values()) == ["fixed"] * 3 + ["original"] * 3
    assert leftovers(project) == []


def _subprocess_env() -> Dict[str, str]:
    return tree_env()


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs process groups")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_real_ctrl_c_leaves_every_file_whole(tmp_path, jobs):
    """SIGINT to the whole process group, as a terminal's Ctrl-C does (the workers get it too)."""
    (tmp_path / "metriclint.toml").write_text('target-keras = "3"\nselect = ["KM101"]\n', encoding="utf-8")
    # Files with some weight, so that the run is still going when the signal comes.
    filler = "".join(f"def step_{i}(x):\n    return [x + {i} for _ in range(3)]\n\n" for i in range(150))
    paths = [write(tmp_path / f"m{index:03d}.py", FIT + filler) for index in range(400)]
    child = subprocess.Popen(
        metriclint_command("fix", "-j", jobs, "."),
        cwd=tmp_path, env=_subprocess_env(), start_new_session=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        # Wait for the first fixed file, then press Ctrl-C.
        deadline = time.monotonic() + 120
        while child.poll() is None and time.monotonic() < deadline:
            if any(b"epochs=3" in p.read_bytes() for p in paths[:40]):
                break
            time.sleep(0.01)
        if child.poll() is not None:
            pytest.skip("the run finished before the interrupt")
        os.killpg(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=120)  # no hang: the safety net, not the assertion
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == 2, err
    assert err.strip().splitlines()[-1] == "metriclint: error: interrupted"
    assert "Traceback" not in err
    contents = [p.read_text(encoding="utf-8") for p in paths]
    assert all(c in (FIT + filler, FIXED + filler) for c in contents)
    assert any(c == FIXED + filler for c in contents)
    assert leftovers(tmp_path) == []


# --- a worker process that dies ----------------------------------------------------------------------------
def test_worker_killed_by_a_signal_costs_only_its_file(project, monkeypatch):
    # A crash in native code (say the parser on hostile input) kills the worker process: the
    # pool breaks, the files not reported yet are redone one process each, and only the file
    # that kills its process is lost, as E000. In the parent this would kill the test run: guard.
    parent = os.getpid()
    real = runner.process_file

    def process_file(job):
        if job.path.endswith("crash.py") and os.getpid() != parent:
            faulthandler.disable()  # pytest's, inherited: keep the test output quiet
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(job)

    monkeypatch.setattr(runner, "process_file", process_file)
    paths = [write(project / f"m{index:02d}.py", FIT) for index in range(24)]
    write(project / "crash.py", FIT)
    code, out, err = run("fix", "-j", "2", "--no-cache", ".")
    assert code == 2
    lines = out.splitlines()
    assert lines[0] == (
        "crash.py:1:1: E000 internal error: metriclint's process died while processing this file "
        "(signal SIGSEGV); the other files were checked"
    )  # (`full` and JSON's `explanation` add where to report it)
    assert lines[-1] == "Found 25 errors (24 fixed, 1 remaining)."
    assert set(states(paths).values()) == {"fixed"}
    assert leftovers(project) == []


# --- a rule that raises ----------------------------------------------------------------------------------
@pytest.fixture
def broken_km101(monkeypatch):
    rule = all_rules()["KM101"]

    def check(ctx):
        raise ValueError("bug in KM101")

    monkeypatch.setattr(rule, "check", check)  # the instance: inherited by forked workers too
    return rule


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_rule_that_raises_is_reported_and_the_rest_runs(project, broken_km101, jobs):
    (project / "metriclint.toml").write_text('target-keras = "3"\nselect = ["KM101", "KM103"]\n', encoding="utf-8")
    for index in range(20):
        write(project / f"m{index:02d}.py", BOTH)
    code, out, err = run("check", "-j", jobs, "--no-cache", ".")
    assert code == 2 and err == ""
    lines = out.splitlines()
    assert lines[-1] == "Found 40 errors (20 fixable with `metriclint fix`)."
    for index in range(20):
        mine = [line for line in lines if line.startswith(f"m{index:02d}.py:")]
        assert mine == [
            f"m{index:02d}.py:1:1: E000 internal error in rule KM101; the other rules ran",
            f"m{index:02d}.py:6:3: KM103 [*] `reset_states()` does not exist on Keras 3 metrics (AttributeError)",
        ]


def test_rule_that_raises_does_not_stop_the_other_fixes(project, broken_km101):
    (project / "metriclint.toml").write_text('target-keras = "3"\nselect = ["KM101", "KM103"]\n', encoding="utf-8")
    path = write(project / "train.py", BOTH)
    code, out, err = run("fix", "train.py")
    assert code == 2
    assert path.read_text(encoding="utf-8") == BOTH.replace("reset_states()", "reset_state()")
    assert out.splitlines()[0].startswith("train.py:1:1: E000 internal error in rule KM101")


def test_rule_that_raises_is_not_cached(project):
    (project / "metriclint.toml").write_text('target-keras = "3"\nselect = ["KM101", "KM103"]\n', encoding="utf-8")
    write(project / "train.py", BOTH)

    def check(ctx):
        raise ValueError("bug in KM101")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(all_rules()["KM101"], "check", check)
        assert run("check", "train.py")[0] == 2
    # the rule is fixed: the next run (with the cache) must not replay the crash
    code, out, _ = run("check", "train.py")
    assert code == 1
    assert [line.split(": ")[1].split()[0] for line in out.splitlines()[:-1]] == ["KM101", "KM103"]
