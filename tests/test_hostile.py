"""Hostile input: huge files, absurd nesting, NUL bytes, bad UTF-8, broken notebooks and configs,
devices and FIFOs named on the command line, symlink loops. Each gets a clear one-line message, no
traceback, no hang and no crash, and the rest of the run goes on.

Bounded time per file: files over `MAX_SOURCE_BYTES` (4 MiB; notebooks 64 MiB) are not read (E902,
see README, "bad input"), only regular files are read, and nesting beyond what CPython accepts is a
syntax error. metriclint runs in a subprocess here, with a timeout as a safety net, so a crash or a
hang fails the test instead of killing or blocking the test run. No test here measures time.

Covered elsewhere, not repeated: NUL bytes, undecodable bytes, bad encodings, symlink loops, broken
links and FIFOs found by the walk (tests/test_bad_input.py); notebook JSON that does not parse or is
not a notebook (tests/test_notebooks.py); config keys of the wrong type (tests/test_config.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest

import metriclint.source as source_module
from metriclint.runner import Job, process_file
from metriclint.settings import Settings
from metriclint.source import SourceError, read_bytes
from tree import metriclint_command, tree_env

REPO = Path(__file__).resolve().parents[1]
FIT = """\
from tensorflow import keras
model = keras.Sequential()
model.compile(loss="mse", metrics=["mae"])
model.fit(x, y, nb_epoch=3)
"""
NB_EPOCH = "KM101 [*] `Model.fit()` does not take `nb_epoch=` (TypeError)"
GOOD_LINE = f"good.py:4:17: {NB_EPOCH}"
CONFIG = 'target-keras = "3"\nselect = ["KM101"]\n'


def metriclint(*args: str, cwd: Path, timeout: float = 300, input: bytes = None) -> Tuple[int, str, str]:
    done = subprocess.run(
        metriclint_command(*args), cwd=cwd, env=tree_env(), input=input,
        stdin=None if input is not None else subprocess.DEVNULL, capture_output=True, timeout=timeout,
    )
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "metriclint.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "good.py").write_text(FIT, encoding="utf-8")
    return tmp_path


def about(out: str, name: str) -> List[str]:
    return [line for line in out.splitlines() if line.startswith(name + ":")]


def assert_clean_exit(code: int, err: str) -> None:
    assert code in (0, 1, 2), f"metriclint died (exit {code}):\n{err[-2000:]}"
    assert "Traceback" not in err, err[-2000:]


# --- size -------------------------------------------------------------------------------------------------
def test_a_10_mb_file_is_not_read(project):
    line = "model.fit(x, y, nb_epoch=3)  # " + "x" * 60 + "\n"
    (project / "huge.py").write_text(FIT + line * (10 * 1024 * 1024 // len(line)), encoding="utf-8")
    for command in ("check", "fix"):
        code, out, err = metriclint(command, "--no-cache", ".", cwd=project)
        assert_clean_exit(code, err)
        assert about(out, "huge.py") == ["huge.py:1:1: E902 file is too large to check (10.0 MiB; the limit is 4.0 MiB); not read"]
    assert (project / "huge.py").read_text(encoding="utf-8").count("nb_epoch=3") > 1000  # not fixed either
    assert (project / "good.py").read_text(encoding="utf-8") == FIT.replace("nb_epoch", "epochs")  # the run went on


def test_a_10_mb_stdin_is_not_read(project):
    data = FIT.encode() + b"# filler\n" * (10 * 1024 * 1024 // 9)
    code, out, err = metriclint("check", "-", "--stdin-filename", "big.py", cwd=project, input=data)
    assert (code, err) == (1, "")
    assert out.splitlines()[0] == "big.py:1:1: E902 file is too large to check (10.0 MiB; the limit is 4.0 MiB); not read"
    # `fix -` gives the input back unchanged, as for any input it cannot read
    code, out, err = metriclint("fix", "-", "--stdin-filename", "big.py", cwd=project, input=data)
    assert code == 1 and out == data.decode()


def test_size_limit_boundary(tmp_path, monkeypatch):
    monkeypatch.setattr(source_module, "MAX_SOURCE_BYTES", 100)
    (tmp_path / "at.py").write_bytes(b"#" * 99 + b"\n")
    (tmp_path / "over.py").write_bytes(b"#" * 100 + b"\n")
    assert len(read_bytes(str(tmp_path / "at.py"))) == 100
    with pytest.raises(SourceError, match=r"too large to check \(0\.0 MiB; the limit is 0\.0 MiB\)"):
        read_bytes(str(tmp_path / "over.py"))
    # notebooks have their own (larger) limit: their outputs are not code
    (tmp_path / "nb.ipynb").write_bytes(b" " * 200)
    assert len(read_bytes(str(tmp_path / "nb.ipynb"))) == 200


# --- devices and FIFOs named on the command line -----------------------------------------------------------
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_named_on_the_command_line_is_not_read(project):
    # Reading /dev/zero never ends: only regular files are read.
    os.symlink("/dev/zero", project / "zero.py")
    code, out, err = metriclint("check", "--no-cache", "zero.py", "good.py", cwd=project, timeout=120)
    assert_clean_exit(code, err)
    assert about(out, "zero.py") == ["zero.py:1:1: E902 not a regular file (a device, FIFO or socket); not read"]
    assert GOOD_LINE in out.splitlines()
    # found by the walk it is skipped silently, as FIFOs are (tests/test_bad_input.py)
    code, out, err = metriclint("check", ".", cwd=project, timeout=120)
    assert (code, about(out, "zero.py"), err) == (1, [], "")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("cache", [[], ["--no-cache"]])
def test_a_fifo_named_on_the_command_line_is_not_read(project, cache):
    os.mkfifo(project / "pipe.py")  # no writer: opening it for reading would block forever
    code, out, err = metriclint("check", *cache, "pipe.py", "good.py", cwd=project, timeout=120)
    assert_clean_exit(code, err)
    assert about(out, "pipe.py") == ["pipe.py:1:1: E902 not a regular file (a device, FIFO or socket); not read"]
    assert GOOD_LINE in out.splitlines()


# --- nesting -------------------------------------------------------------------------------------------------
# Each program is deeply nested somewhere and ends with a fixable finding. CPython rejects brackets
# nested deeper than 200 and chains of thousands of operators; libcst's parser (native code) crashes
# the process on the deepest ones, and the analysis recurses. The expected outcome for each file:
# its finding or one E999 line, never E000 (internal error) nor a dead process.
def _nest(open_: str, close: str, inner: str = "1") -> Callable[[int], str]:
    return lambda n: "x = " + open_ * n + inner + close * n + "\n"


NESTINGS: Dict[str, Callable[[int], str]] = {
    "parentheses": _nest("(", ")"),
    "lists": _nest("[", "]"),
    "dicts": _nest("{1: ", "}"),
    "calls": _nest("f(", ")"),
    "fit_calls": lambda n: "model.fit(" * n + "x, nb_epoch=3" + ")" * n + "\n",
    "subscripts": lambda n: "x = a" + "[0]" * n + "\n",
    "attributes": lambda n: "x = a" + ".b" * n + "\n",
    "additions": lambda n: "x = 1" + " + 1" * n + "\n",
    "not": lambda n: "x = " + "not " * n + "1\n",
    "minus": lambda n: "x = " + "-" * n + "1\n",
    "lambdas": lambda n: "x = " + "lambda: " * n + "1\n",
    "conditionals": lambda n: "x = " + "1 if a else " * n + "1\n",
    "powers": lambda n: "x = 2" + " ** 2" * n + "\n",
    "blocks": lambda n: "".join(" " * i + "if x:\n" for i in range(min(n, 1000))) + " " * min(n, 1000) + "pass\n",
}
DEPTHS = (150, 1000, 100_000)

def _nesting_cases():
    for depth in DEPTHS:
        for name in NESTINGS:
            yield pytest.param(name, depth, marks=[pytest.mark.slow], id=f"{name}-{depth}")


@pytest.fixture(scope="module")
def nesting_runs(tmp_path_factory) -> Dict[Tuple[str, int, str], Tuple[int, List[str], str, bytes, bytes]]:
    """One `check` and one `fix` per depth over all the programs (with workers, so that a crash
    costs only its file): (name, depth, command) -> (exit code, the file's lines, stderr, before, after)."""
    runs = {}
    for depth in DEPTHS:
        root = tmp_path_factory.mktemp(f"nesting{depth}")
        (root / "metriclint.toml").write_text(CONFIG, encoding="utf-8")
        header = "from tensorflow import keras\nmodel = keras.Sequential()\n"
        sources = {name: (header + make(depth) + "model.fit(x, y, nb_epoch=3)\n").encode() for name, make in NESTINGS.items()}
        for name, data in sources.items():
            (root / f"{name}.py").write_bytes(data)
        for index in range(16 - len(sources) + 2):  # enough files for the worker pool
            (root / f"pad{index}.py").write_text(FIT, encoding="utf-8")
        for command in ("check", "fix"):
            code, out, err = metriclint(command, "-j", "2", "--no-cache", ".", cwd=root, timeout=600)
            for name in NESTINGS:
                after = (root / f"{name}.py").read_bytes()
                runs[(name, depth, command)] = (code, about(out, f"{name}.py"), err, sources[name], after)
    return runs


def _compiles(data: bytes) -> bool:
    try:
        compile(data, "<test>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


@pytest.mark.parametrize("name,depth", list(_nesting_cases()))
def test_deep_nesting_is_a_finding_or_a_syntax_error(nesting_runs, name, depth):
    for command in ("check", "fix"):
        code, lines, err, before, after = nesting_runs[(name, depth, command)]
        assert_clean_exit(code, err)
        if command == "fix" and not lines:  # everything was fixed: fix reports only what remains
            assert after != before and _compiles(after), f"fix: nothing reported and nothing fixed in {name}.py"
            continue
        assert lines, f"{command}: nothing reported for {name}.py"
        assert not any(": E000 " in line for line in lines), lines
        codes = {line.split(": ")[1].split()[0] for line in lines}
        assert codes <= {"E999", "KM101"}, lines
        if "E999" in codes:
            assert len(lines) == 1
        if command == "fix":
            if "E999" in codes or not _compiles(before):
                assert after == before  # an unparsable file is never written
            else:
                assert _compiles(after)


@pytest.mark.parametrize("shape", ["subscripts", "attributes", "conditionals"])
def test_nesting_cpython_accepts_but_libcst_would_take_minutes_is_not_checked(project, shape):
    # 2,500 chained subscripts are valid Python; libcst's parser needs minutes for them (its time
    # grows with the cube of the depth). One clear line, at once, for check and fix alike.
    source = "from tensorflow import keras\nmodel = keras.Sequential()\n" + NESTINGS[shape](2500) + "model.fit(x, nb_epoch=3)\n"
    compile(source, "<deep>", "exec")
    (project / "deep.py").write_text(source, encoding="utf-8")
    for command in ("check", "fix"):
        started = time.monotonic()
        code, out, err = metriclint(command, "--no-cache", "deep.py", "good.py", cwd=project, timeout=120)
        assert time.monotonic() - started < 30
        assert_clean_exit(code, err)
        lines = about(out, "deep.py")
        assert len(lines) == 1 and re.fullmatch(
            r"deep\.py:1:1: E902 code nested 2,50\d levels deep, more than metriclint checks \(1,500\); not checked", lines[0]), lines
        assert (project / "deep.py").read_text(encoding="utf-8") == source
    assert GOOD_LINE not in out.splitlines()  # `fix` fixed good.py


# --- notebooks -----------------------------------------------------------------------------------------------
def _notebook(*sources: str) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": s} for s in sources]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


HOSTILE_NOTEBOOKS = {
    "nested_json.ipynb": ("[" * 100_000 + "]" * 100_000, "nb:1:1: E902 not valid notebook JSON: nested too deeply"),
    "invalid_utf8.ipynb": (_notebook("import keras\n").replace("import", "imp\udcffort"), "nb:1:1: E902 cannot decode as utf-8: invalid byte 0xff on line "),
    "utf16.ipynb": (None, None),
    "nul_in_cell.ipynb": (_notebook("from tensorflow import keras\nx = 1\x00\n"), None),
    "cells_not_objects.ipynb": ('{"cells": [5, "x", null, []], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', None),
    "source_not_text.ipynb": ('{"cells": [{"cell_type": "code", "source": 5}, {"cell_type": null, "source": [1, null]}], "metadata": {}, "nbformat": 4}', None),
    "metadata_not_objects.ipynb": ('{"cells": [], "metadata": {"kernelspec": 5, "language_info": "x"}, "nbformat": 4}', None),
    "huge_number.ipynb": ('{"cells": [], "metadata": {}, "nbformat": ' + "9" * 5000 + "}",
                          "nb:1:1: E902 not valid notebook JSON: a number has too many digits"),
    "lone_surrogate.ipynb": (_notebook('x = "\ud800"\nfrom tensorflow import keras\n'), None),
}


@pytest.mark.parametrize("name", list(HOSTILE_NOTEBOOKS))
@pytest.mark.parametrize("command", ["check", "fix"])
def test_hostile_notebook_is_one_clear_line(project, name, command):
    text, expected = HOSTILE_NOTEBOOKS[name]
    path = project / name
    if name == "utf16.ipynb":
        data = _notebook("from tensorflow import keras\n").encode("utf-16")
    else:
        data = text.encode("utf-8", "surrogateescape" if name == "invalid_utf8.ipynb" else "surrogatepass")
    path.write_bytes(data)
    code, out, err = metriclint(command, "--no-cache", name, "good.py", cwd=project, timeout=120)
    assert_clean_exit(code, err)
    assert code in (0, 1)  # 2 would be an internal error
    lines = about(out, name)
    assert len(lines) <= 1 and not any(": E000 " in line for line in lines), lines
    if expected is not None:
        assert len(lines) == 1 and lines[0].startswith(expected.replace("nb:", f"{name}:", 1)), lines
    assert path.read_bytes() == data
    if command == "check":
        assert GOOD_LINE in out.splitlines()


# --- configs -------------------------------------------------------------------------------------------------
HOSTILE_CONFIGS = {
    "nul": (b'select = ["KM101"]\x00\n', "invalid TOML in"),
    "invalid_utf8": (b'select = ["KM1\xff01"]\n', "not UTF-8"),
    "binary": (bytes(range(256)) * 8, "not UTF-8"),
    "utf16": ('select = ["KM101"]\n'.encode("utf-16"), ""),
    "deep_arrays": (("x = " + "[" * 100_000 + "]" * 100_000 + "\n").encode(), "invalid TOML in"),
    "deep_tables": (("x = " + "{a = " * 10_000 + "1" + "}" * 10_000 + "\n").encode(), "invalid TOML in"),
    "huge_integer": (("\ntarget-keras = " + "9" * 5000 + "\n").encode(), "a number has more than 4300 digits (`target-keras` on line 2)"),
    "directory": (None, "not a regular file"),
}


@pytest.mark.parametrize("name", list(HOSTILE_CONFIGS))
def test_hostile_config_is_one_clear_error(project, name):
    data, message = HOSTILE_CONFIGS[name]
    if data is None:
        (project / "metriclint.toml").unlink()
        (project / "metriclint.toml").mkdir()
    else:
        (project / "metriclint.toml").write_bytes(data)
    code, out, err = metriclint("check", "--no-cache", ".", cwd=project, timeout=120)
    assert_clean_exit(code, err)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and err.startswith("metriclint: error: "), err
    assert "internal error" not in err, err
    assert str(project / "metriclint.toml") in err and message in err


def test_gitignore_with_hostile_lines_is_read_as_git_reads_it(project):
    # Bad bytes are replaced, invalid patterns (`!` alone, a trailing backslash) skipped: git does
    # the same, and an invalid line must not stop the run (it was an internal error).
    (project / ".git").mkdir()
    (project / ".gitignore").write_bytes(
        b"ignored.py\n\xff\xfe\x00junk\n!\n\\\nfoo\\\n[\n" + b"a" + b"*" * 5_000 + b"z\n\x00\n"
    )
    (project / "ignored.py").write_text(FIT, encoding="utf-8")
    (project / "also_good.py").write_text(FIT, encoding="utf-8")
    code, out, err = metriclint("check", "--no-cache", ".", cwd=project, timeout=120)
    assert (code, err) == (1, "")
    assert out.splitlines() == [f"also_{GOOD_LINE}", GOOD_LINE, "Found 2 errors (2 fixable with `metriclint fix`)."]


def test_gitignore_patterns_that_would_backtrack_for_minutes(project):
    # `*` becomes `[^/]*` in pathspec's regular expressions: ten stars in a row, or a handful
    # separated by letters, made one file name take minutes. Runs of stars are one star (git's
    # rule); patterns with more than `MAX_WILDCARDS` stars are skipped.
    (project / ".git").mkdir()
    (project / ".gitignore").write_text("a**********z\n*a*a*a*a*a*a*a*a*b\nb***.py\n", encoding="utf-8")
    name = "a" * 120 + ".py"
    (project / name).write_text(FIT, encoding="utf-8")
    (project / "bxyz.py").write_text(FIT, encoding="utf-8")  # b***.py means b*.py: ignored
    code, out, err = metriclint("check", "--no-cache", ".", cwd=project, timeout=120)
    assert (code, err) == (1, "")
    assert out.splitlines() == [f"{name}:4:17: {NB_EPOCH}", GOOD_LINE, "Found 2 errors (2 fixable with `metriclint fix`)."]


@pytest.mark.parametrize("option", ["--exclude", "--extend-exclude"])
@pytest.mark.parametrize("pattern,why", [("!", "invalid pattern"), ("*a*a*a*a*a*b", "more than 4 `*`")])
def test_unusable_exclude_pattern_is_a_usage_error(tmp_path, option, pattern, why):
    (tmp_path / "good.py").write_text(FIT, encoding="utf-8")
    code, out, err = metriclint("check", "--no-cache", option, pattern, ".", cwd=tmp_path, timeout=120)
    assert (code, out) == (2, "")
    assert err == f"metriclint: error: `exclude`/`extend-exclude`: {why} {pattern!r}\n"
    (tmp_path / "metriclint.toml").write_text(f"extend-exclude = [{json.dumps(pattern)}]\n", encoding="utf-8")
    code, out, err = metriclint("check", "--no-cache", ".", cwd=tmp_path, timeout=120)
    assert (code, out) == (2, "")
    assert err == f"metriclint: error: `exclude`/`extend-exclude` in {tmp_path / 'metriclint.toml'}: {why} {pattern!r}\n"


# --- symlink loops while fixing ---------------------------------------------------------------------------------
def test_fix_through_symlink_loops_terminates_and_writes_only_the_fix(project):
    (project / "a" / "b").mkdir(parents=True)
    os.symlink("../..", project / "a" / "b" / "up")  # a loop two levels deep
    os.symlink("../a", project / "a" / "b" / "again")  # and one through a sibling
    os.symlink("loop.py", project / "loop.py")
    (project / "a" / "b" / "deep.py").write_text(FIT, encoding="utf-8")
    code, out, err = metriclint("fix", "--no-cache", ".", cwd=project, timeout=120)
    assert_clean_exit(code, err)
    assert code == 1  # the loops are reported
    assert "loop.py:1:1: E902 symlink loop; not followed" in out.splitlines()
    assert (project / "a" / "b" / "deep.py").read_text(encoding="utf-8") == FIT.replace("nb_epoch", "epochs")
    assert (project / "good.py").read_text(encoding="utf-8") == FIT.replace("nb_epoch", "epochs")
    assert os.readlink(project / "loop.py") == "loop.py"


# --- many tiny problems at once ---------------------------------------------------------------------------------
def test_pathological_tokens_do_not_crash(tmp_path):
    # In-process: the reading and decoding layer, on bytes that have broken other tools.
    cases = {
        "cr_only.py": b"from tensorflow import keras\rmodel = keras.Sequential()\rmodel.fit(x, nb_epoch=3)\r",
        "form_feed.py": b"\x0cfrom tensorflow import keras\n\x0cmodel = keras.Sequential()\n\x0c\x0cmodel.fit(x, nb_epoch=3)\n",
        "bom_and_cookie.py": b"\xef\xbb\xbf# -*- coding: utf-8 -*-\nfrom tensorflow import keras\n",
        "unterminated.py": b"from tensorflow import keras\nx = '''\n",
        "backslash_eof.py": b"from tensorflow import keras\nx = 1 \\",
        "only_bom.py": b"\xef\xbb\xbf",
        "many_lines.py": b"from tensorflow import keras\n" + b"\n" * 500_000,
        "unicode_names.py": "from tensorflow import keras\nмодель = keras.Sequential()\nмодель.fit(x, nb_epoch=3)\n".encode(),
        "surrogate_escape.py": b"from tensorflow import keras\nx = '\\ud800'\n",
    }
    settings = Settings(select=("KM101",), target_keras="3")
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        for fix in (False, True):
            result = process_file(Job(str(tmp_path / name), settings, fix=fix, write=False))
            assert not result.internal_error, (name, [d.message for d in result.diagnostics])
