"""Bad input: every problem file gets exactly one clear line naming it and the reason, and the run
goes on. Unreadable files are E902, unparsable ones E999 (exit 1); only usage errors and missing
paths exit 2."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import List, Optional, Tuple

import pytest
from click.testing import CliRunner

import metriclint.files as files_module
import metriclint.source as source_module
from metriclint.cli import main
from metriclint.runner import Job, process_file
from metriclint.settings import Settings
from metriclint.source import SourceError, decode_source
from tree import metriclint_command, tree_env

FIT = """\
from tensorflow import keras
model = keras.Sequential()
model.compile(loss="mse", metrics=["mae"])
model.fit(x, y, nb_epoch=3)
"""
NB_EPOCH = "KM101 [*] `Model.fit()` does not take `nb_epoch=` (TypeError)"
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "metriclint.toml").write_text('target-keras = "3"\nselect = ["KM101"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, input: Optional[bytes] = None) -> Tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def about(out: str, name: str) -> List[str]:
    return [line for line in out.splitlines() if line.startswith(name + ":")]


def single_line(name: str, data, *args: str) -> Tuple[int, str]:
    """Check `name` (holding `data`) next to a good file; return the exit code and the one line about it."""
    write(Path(name), data)
    write(Path("good.py"), FIT)
    code, out, err = run("check", *args, ".")
    (line,) = about(out, name)
    assert about(out, "good.py") == [f"good.py:4:17: {NB_EPOCH}"]  # the run went on
    assert err == ""
    return code, line


# --- unparsable: E999 ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "source",
    [
        "def f(:\n    pass\n",  # no Keras in it: reported all the same (as ruff does)
        "from tensorflow import keras\nmodel.fit(x, nb_epoch=3\n",
        "if x:\n\tif y:\n        z = 1\n\tw = 2\n",  # inconsistent tabs
        "x = 1\n  y = 2\n",
        "x = `1`\n",  # Python 2 too; the engine's hint does not know these shapes
        "raise ValueError, 'message'\n",
    ],
)
def test_syntax_error_is_one_e999_line(project, source):
    code, line = single_line("broken.py", source)
    assert code == 1
    assert line.startswith("broken.py:") and ": E999 SyntaxError: " in line


@pytest.mark.parametrize(
    "source",
    [
        'print "hello"\n',
        "import keras\nprint 'training'\n",
        "exec 'x = 1'\n",
    ],
)
def test_python_2_file_says_so(project, source):
    code, line = single_line("old.py", source)
    assert code == 1
    assert ": E999 SyntaxError: " in line
    assert line.endswith("(this looks like Python 2 code; metriclint reads Python 3)")


def test_syntax_newer_than_the_running_python_is_not_an_error(project):
    # libcst reads every Python 3 grammar; the interpreter running metriclint may be older.
    # (`except A, B:` is Python 3.14's unparenthesised tuple of exception types, PEP 758.)
    source = "type Vector = list[float]\n\nclass Box[T]:\n    pass\n\ntry:\n    pass\nexcept ValueError, TypeError:\n    pass\n"
    write(project / "modern.py", source)
    assert run("check", "modern.py")[:2] == (0, "All checks passed!\n")


def test_fix_leaves_an_unparsable_file_alone(project):
    source = b"from tensorflow import keras\nmodel.fit(x, nb_epoch=3\n"
    path = write(project / "broken.py", source)
    before = path.stat()
    code, out, _ = run("fix", "broken.py")
    assert code == 1 and "E999" in out
    assert path.read_bytes() == source and path.stat().st_mtime_ns == before.st_mtime_ns


# --- unreadable as text: E902 ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data,reason",
    [
        (b"import keras\nx = '\xff\xfe'\n", "cannot decode as utf-8: invalid byte 0xff on line 2"),
        (b"\xff\xfeimport keras\n", "cannot decode as utf-8: invalid byte 0xff on line 1"),
        (b"import keras\n\nx = 1\x00\n", "file contains a NUL byte (line 3); it is not Python source"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "file contains a NUL byte (line 3); it is not Python source"),
        (b"# -*- coding: klingon -*-\nx = 1\n", "unknown encoding 'klingon' in the coding declaration"),
        (b"# coding: ascii\nx = '\xc3\xa9'\n", "cannot decode as ascii: invalid byte 0xc3 on line 2"),
        (b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", "the file starts with a UTF-8 BOM but declares coding 'latin-1'"),
    ],
)
def test_undecodable_file_is_one_e902_line(project, data, reason):
    code, line = single_line("bad.py", data)
    assert code == 1
    assert line == f"bad.py:1:1: E902 {reason}"


def test_decode_source_units():
    assert decode_source(b"\xef\xbb\xbfx = 1\n").encoding == "utf-8-sig"
    assert decode_source(b"\xef\xbb\xbfx = 1\n").text == "x = 1\n"
    assert decode_source(b"# coding: latin-1\nx = '\xe9'\n").text.endswith("x = '\xe9'\n")
    assert decode_source(b"a\r\nb\rc\n").text == "a\r\nb\rc\n"  # line endings are kept as they are
    with pytest.raises(SourceError, match="NUL"):
        decode_source(b"\x00")


@pytest.mark.parametrize("data", [b"", b"\n\n", b"# just a comment\n", b"\xef\xbb\xbf", b"   \n\t\n"])
def test_empty_and_trivial_files_are_clean(project, data):
    # Nothing to say about them (as ruff): no line, exit 0.
    write(project / "empty.py", data)
    assert run("check", "empty.py")[:2] == (0, "All checks passed!\n")


@pytest.mark.skipif(AS_ROOT, reason="root reads files whatever their mode; see the simulated test below")
def test_unreadable_file_chmod_000(project):
    path = write(project / "secret.py", FIT)
    path.chmod(0)
    try:
        write(project / "good.py", FIT)
        code, out, err = run("check", ".")
        assert about(out, "secret.py") == ["secret.py:1:1: E902 permission denied"]
        assert code == 1 and err == ""
    finally:
        path.chmod(0o644)


def test_unreadable_file_simulated(project, monkeypatch):
    # Tests may run as root, where chmod 000 does not stop reads: make `open` refuse instead.
    real_open = open

    def guarded_open(path, *args, **kwargs):
        if os.path.basename(str(path)) == "secret.py":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(source_module, "open", guarded_open, raising=False)
    code, line = single_line("secret.py", FIT)
    assert code == 1
    assert line == "secret.py:1:1: E902 permission denied"


def test_unreadable_directory_simulated(project, monkeypatch):
    real_scandir = os.scandir

    def guarded_scandir(path="."):
        if os.path.basename(os.fspath(path)) == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(files_module.os, "scandir", guarded_scandir)
    write(project / "locked" / "a.py", FIT)
    write(project / "good.py", FIT)
    code, out, err = run("check", ".")
    assert code == 1 and err == ""
    assert about(out, "locked") == ["locked:1:1: E902 cannot read directory: Permission denied"]
    assert about(out, "good.py") == [f"good.py:4:17: {NB_EPOCH}"]


@pytest.mark.skipif(AS_ROOT, reason="root lists directories whatever their mode")
def test_unreadable_directory_chmod_000(project):
    locked = project / "locked"
    write(locked / "a.py", FIT)
    locked.chmod(0)
    try:
        code, out, _ = run("check", ".")
        assert about(out, "locked") == ["locked:1:1: E902 cannot read directory: Permission denied"]
        assert code == 1
    finally:
        locked.chmod(0o755)


# --- directories, missing paths, symlinks ---------------------------------------------------------------------
def test_directory_named_like_a_python_file_is_walked(project):
    write(project / "pkg.py" / "inner.py", FIT)
    code, out, err = run("check", "pkg.py")
    assert (code, err) == (1, "")
    assert out.splitlines()[0] == f"pkg.py/inner.py:4:17: {NB_EPOCH}"
    code, out, _ = run("check", ".")
    assert about(out, "pkg.py/inner.py") == [f"pkg.py/inner.py:4:17: {NB_EPOCH}"]


def test_a_file_that_became_a_directory_is_e902(project):
    (project / "was_a_file.py").mkdir()
    settings = Settings(select=("KM101",), target_keras="3")
    result = process_file(Job("was_a_file.py", settings))
    assert [(d.code, d.message) for d in result.diagnostics] == [("E902", "is a directory, not a file")]


def test_path_through_a_file_is_a_missing_path(project):
    write(project / "train.py", FIT)
    code, out, err = run("check", "train.py/", "train.py")
    assert code == 2
    assert err.strip() == "metriclint: error: train.py/: not a directory"
    assert out.splitlines()[0] == f"train.py:4:17: {NB_EPOCH}"


def test_missing_paths_exit_2_and_the_run_goes_on(project):
    write(project / "good.py", FIT)
    code, out, err = run("check", "nope.py", "good.py", "nodir/x.py")
    assert code == 2
    assert out.splitlines() == [f"good.py:4:17: {NB_EPOCH}", "Found 1 error (1 fixable with `metriclint fix`)."]
    assert err.splitlines() == [
        "metriclint: error: nope.py: no such file or directory",
        "metriclint: error: nodir/x.py: no such file or directory",
    ]


def test_symlink_loops_and_broken_links(project):
    os.symlink("self.py", project / "self.py")  # a link to itself
    os.symlink("ping.py", project / "pong.py")
    os.symlink("pong.py", project / "ping.py")
    (project / "sub").mkdir()
    os.symlink("..", project / "sub" / "up")  # a directory loop
    os.symlink("nowhere.py", project / "dangling.py")
    os.symlink("nowhere", project / "dangling_dir")  # not a Python file: nothing to say
    write(project / "good.py", FIT)
    code, out, err = run("check", ".")
    assert code == 1 and err == ""
    assert about(out, "self.py") == ["self.py:1:1: E902 symlink loop; not followed"]
    assert about(out, "ping.py") == ["ping.py:1:1: E902 symlink loop; not followed"]
    assert about(out, "pong.py") == ["pong.py:1:1: E902 symlink loop; not followed"]
    assert about(out, "sub/up") == ["sub/up:1:1: E902 symlink loop; not followed"]
    assert about(out, "dangling.py") == ["dangling.py:1:1: E902 broken symlink (No such file or directory)"]
    assert about(out, "dangling_dir") == []
    assert about(out, "good.py") == [f"good.py:4:17: {NB_EPOCH}"]
    assert out.splitlines()[-1].startswith("Found 6 errors")


def test_symlink_loop_named_on_the_command_line(project):
    os.symlink("loop.py", project / "loop.py")
    code, out, err = run("check", "loop.py")
    assert (code, err) == (1, "")
    assert out.splitlines()[0] == "loop.py:1:1: E902 symlink loop; not followed"


def test_symlinked_directory_is_followed_once(project):
    write(project / "real" / "a.py", FIT)
    os.symlink("real", project / "alias")
    code, out, _ = run("check", ".")
    assert code == 1
    # the same file through two names is read once
    assert len([line for line in out.splitlines() if "KM101" in line]) == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_named_like_python_is_skipped_not_read(tmp_path):
    # Reading a FIFO without a writer blocks forever: discovery skips non-regular files.
    (tmp_path / "metriclint.toml").write_text('select = ["KM101"]\n', encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "good.py").write_text(FIT, encoding="utf-8")
    done = subprocess.run(
        metriclint_command("check", "."),
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env=tree_env(),
    )
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == f"good.py:4:17: {NB_EPOCH}"
    assert "pipe.py" not in done.stdout


# --- everything at once ----------------------------------------------------------------------------------------
def test_one_run_over_every_kind_of_bad_input(project):
    write(project / "a_good.py", FIT)
    write(project / "b_syntax.py", "def f(:\n")
    write(project / "c_py2.py", 'print "x"\n')
    write(project / "d_undecodable.py", b"x = '\xff'\n")
    write(project / "e_nul.py", b"x\x00\n")
    write(project / "f_empty.py", b"")
    os.symlink("g_loop.py", project / "g_loop.py")
    write(project / "z_good.py", FIT)
    code, out, err = run("check", ".", "missing.py")
    assert code == 2  # the missing path
    assert err.strip() == "metriclint: error: missing.py: no such file or directory"
    names = [line.split(":")[0] for line in out.splitlines()[:-1]]
    assert names == ["a_good.py", "b_syntax.py", "c_py2.py", "d_undecodable.py", "e_nul.py", "g_loop.py", "z_good.py"]
    codes = [line.split(": ")[1].split()[0] for line in out.splitlines()[:-1]]
    assert codes == ["KM101", "E999", "E999", "E902", "E902", "E902", "KM101"]
    assert out.splitlines()[-1] == "Found 7 errors (2 fixable with `metriclint fix`)."


def test_fix_over_bad_input_changes_only_the_good_files(project):
    bad = {
        "syntax.py": b"from tensorflow import keras\nmodel.fit(x, nb_epoch=3\n",
        "undecodable.py": b"from tensorflow import keras\nx = '\xff'\n",
        "nul.py": b"from tensorflow import keras\x00\n",
    }
    for name, data in bad.items():
        write(project / name, data)
    good = write(project / "good.py", FIT)
    code, out, _ = run("fix", ".")
    assert code == 1
    assert out.splitlines()[-1] == "Found 4 errors (1 fixed, 3 remaining)."
    assert good.read_text(encoding="utf-8") == FIT.replace("nb_epoch", "epochs")
    for name, data in bad.items():
        assert (project / name).read_bytes() == data


def test_stdin_bad_input(project):
    code, out, _ = run("check", "-", "--stdin-filename", "s.py", input=b"x = 1\x00\n")
    assert code == 1
    assert out.splitlines()[0] == "s.py:1:1: E902 file contains a NUL byte (line 1); it is not Python source"
    code, out, _ = run("check", "-", input=b'print "x"\n')
    assert code == 1 and out.startswith("-:1:") and "E999" in out
