"""`metriclint fix` must never lose anything: bytes, encoding, BOM, line endings, mode, symlinks,
files it does not change, edits made by someone else meanwhile, or a parseable file."""

from __future__ import annotations

import codecs
import os
import stat
import tempfile
from pathlib import Path
from typing import Optional, Tuple

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import metriclint.rules.km101 as km101
import metriclint.runner as runner
import metriclint.source as source_module
from metriclint.cli import main
from metriclint.source import SourceError, decode_source, encode_text, read_source, write_atomic

FIT = """\
from tensorflow import keras
model = keras.Sequential()
model.compile(loss="mse", metrics=["mae"])
model.fit(x, y, nb_epoch=3)
"""
FIXED = FIT.replace("nb_epoch=3", "epochs=3")
CLEAN = "from tensorflow import keras\nmodel = keras.Sequential()\nmodel.fit(x, y, epochs=3)\n"


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
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def snapshot(path: Path):
    st_ = os.lstat(path)
    return (path.read_bytes(), st_.st_ino, st_.st_mtime_ns, stat.S_IMODE(st_.st_mode))


def leftovers(directory: Path):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".metriclint-"))


# --- files fix does not change -----------------------------------------------------------------------------
def test_untouched_files_are_not_rewritten(project):
    clean = write(project / "clean.py", CLEAN)
    other = write(project / "notes.py", "x = 1\n")
    suppressed = write(project / "quiet.py", FIT.replace("nb_epoch=3)", "nb_epoch=3)  # noqa"))
    unfixable = write(project / "typo.py", FIT.replace("nb_epoch", "epoch"))
    fixable = write(project / "train.py", FIT)
    before = {p: snapshot(p) for p in (clean, other, suppressed, unfixable)}
    code, out, _ = run("fix", ".")
    assert code == 1  # typo.py keeps its (unfixable) finding
    assert out.splitlines()[-1] == "Found 2 errors (1 fixed, 1 remaining)."
    for path, shot in before.items():
        assert snapshot(path) == shot, path.name
    assert fixable.read_text(encoding="utf-8") == FIXED
    assert leftovers(project) == []


def test_second_fix_changes_nothing(project):
    path = write(project / "train.py", FIT)
    assert run("fix", "train.py")[0] == 0
    shot = snapshot(path)
    code, out, _ = run("fix", "train.py")
    assert (code, out) == (0, "All checks passed!\n")
    assert snapshot(path) == shot


# --- encoding, BOM, line endings, mode ---------------------------------------------------------------------
def test_latin1_cookie_is_kept(project):
    data = ("# -*- coding: latin-1 -*-\n" + FIT + 'label = "café ±"\n').encode("latin-1")
    path = write(project / "train.py", data)
    assert run("fix", "train.py")[0] == 0
    assert path.read_bytes() == data.replace(b"nb_epoch=3", b"epochs=3")
    assert b"caf\xe9 \xb1" in path.read_bytes()  # still latin-1 bytes, not UTF-8


def test_cookie_on_the_second_line_and_other_codecs(project):
    data = ("#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\n" + FIT + 'q = "€"\n').encode("cp1252")
    path = write(project / "train.py", data)
    assert run("fix", "train.py")[0] == 0
    assert path.read_bytes() == data.replace(b"nb_epoch=3", b"epochs=3")


def test_utf8_bom_and_crlf_are_kept(project):
    data = codecs.BOM_UTF8 + FIT.replace("\n", "\r\n").encode("utf-8")
    path = write(project / "train.py", data)
    assert run("fix", "train.py")[0] == 0
    assert path.read_bytes() == codecs.BOM_UTF8 + FIXED.replace("\n", "\r\n").encode("utf-8")


def test_mixed_and_old_mac_line_endings_are_kept(project):
    mixed = b"from tensorflow import keras\r\nmodel = keras.Sequential()\nmodel.fit(x, y, nb_epoch=3)\r\nz = 1\rw = 2\n"
    path = write(project / "mixed.py", mixed)
    cr_only = FIT.replace("\n", "\r").encode()
    path_cr = write(project / "cr.py", cr_only)
    assert run("fix", ".")[0] == 0
    assert path.read_bytes() == mixed.replace(b"nb_epoch", b"epochs")
    assert path_cr.read_bytes() == cr_only.replace(b"nb_epoch", b"epochs")


def test_no_final_newline_stays_that_way(project):
    path = write(project / "train.py", FIT.rstrip("\n"))
    assert run("fix", "train.py")[0] == 0
    assert path.read_bytes() == FIXED.rstrip("\n").encode()


AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.mark.parametrize("mode", [0o755, 0o600, 0o640] + ([0o444] if AS_ROOT else []))
def test_file_mode_is_kept(project, mode):
    path = write(project / "train.py", FIT)
    path.chmod(mode)
    code, _, err = run("fix", "train.py")
    assert code == 0, err
    assert path.read_text(encoding="utf-8") == FIXED
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.skipif(AS_ROOT, reason="root may write any file")
def test_read_only_file_is_not_written(project):
    # The atomic rename could replace a read-only file; metriclint refuses, as a plain write would.
    path = write(project / "train.py", FIT)
    path.chmod(0o444)
    before = snapshot(path)
    code, _, err = run("fix", "train.py")
    assert code == 1
    assert "train.py: not written: permission denied: the file is read-only" in err
    assert snapshot(path) == before


def test_read_only_file_simulated(project, monkeypatch):
    path = write(project / "train.py", FIT)
    before = snapshot(path)
    real_access = os.access

    def access(target, mode, *args, **kwargs):
        if str(target).endswith("train.py") and mode == os.W_OK:
            return False
        return real_access(target, mode, *args, **kwargs)

    monkeypatch.setattr(source_module.os, "access", access)
    code, _, err = run("fix", "train.py")
    monkeypatch.undo()
    assert code == 1
    assert "train.py: not written: permission denied: the file is read-only" in err
    assert snapshot(path) == before
    assert leftovers(project) == []


def test_symlinked_file_stays_a_symlink(project):
    target = write(project / "real" / "train.py", FIT)
    link = project / "link.py"
    os.symlink(os.path.join("real", "train.py"), link)
    code, _, _ = run("fix", "link.py")
    assert code == 0
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "train.py")
    assert target.read_text(encoding="utf-8") == FIXED
    assert leftovers(project) == [] and leftovers(project / "real") == []


def test_file_reached_twice_through_a_symlink_is_fixed_once(project):
    target = write(project / "real" / "train.py", FIT)
    os.symlink("real", project / "alias")
    code, out, _ = run("fix", ".")
    assert code == 0
    assert out.splitlines()[-1] == "Found 1 error (1 fixed, 0 remaining)."
    assert target.read_text(encoding="utf-8") == FIXED


# --- --diff writes nothing -----------------------------------------------------------------------------------
def test_diff_writes_nothing(project):
    paths = [write(project / "a.py", FIT), write(project / "b.py", codecs.BOM_UTF8 + FIT.replace("\n", "\r\n").encode())]
    before = [snapshot(p) for p in paths]
    code, out, _ = run("fix", "--diff", "--unsafe-fixes", ".")
    assert code == 1
    assert out.count("+model.fit(x, y, epochs=3)") == 2
    assert [snapshot(p) for p in paths] == before
    assert leftovers(project) == []


# --- races and failures ----------------------------------------------------------------------------------------
def test_file_changed_on_disk_meanwhile_is_not_overwritten(project, monkeypatch):
    path = write(project / "train.py", FIT)
    theirs = FIT + "# edited in the editor meanwhile\n"
    real_fix = runner.fix_text

    def fix_while_someone_edits(text, *args, **kwargs):
        result = real_fix(text, *args, **kwargs)
        path.write_text(theirs, encoding="utf-8")
        return result

    monkeypatch.setattr(runner, "fix_text", fix_while_someone_edits)
    code, out, err = run("fix", "train.py")
    assert path.read_text(encoding="utf-8") == theirs
    assert err.strip() == (
        "metriclint: error: train.py: not written: changed on disk while metriclint was running; not overwritten"
    )
    # the finding is still there (nothing was fixed), so the run is not clean
    assert code == 1
    assert out.splitlines() == [
        "train.py:4:17: KM101 [*] `Model.fit()` does not take `nb_epoch=` (TypeError)",
        "Found 1 error (0 fixed, 1 remaining).",
    ]
    assert leftovers(project) == []


def test_file_deleted_meanwhile_is_not_recreated(project, monkeypatch):
    path = write(project / "train.py", FIT)
    real_fix = runner.fix_text

    def fix_while_someone_deletes(text, *args, **kwargs):
        result = real_fix(text, *args, **kwargs)
        path.unlink()
        return result

    monkeypatch.setattr(runner, "fix_text", fix_while_someone_deletes)
    code, _, err = run("fix", "train.py")
    assert code == 1 and not path.exists()
    assert "train.py: not written: deleted while metriclint was running" in err


def test_failed_write_keeps_the_original_and_leaves_no_temporary_file(project, monkeypatch):
    path = write(project / "train.py", FIT)
    before = snapshot(path)

    def no_rename(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(source_module.os, "replace", no_rename)
    code, out, err = run("fix", "train.py")
    monkeypatch.undo()
    assert code == 1
    assert "train.py: not written: cannot write: No space left on device" in err
    assert snapshot(path) == before
    assert leftovers(project) == []


def test_fix_that_would_break_the_file_is_not_applied(project, monkeypatch):
    def broken_rename(arg, new):
        def build(loc):
            return [loc.replace(arg.keyword, new + "=(")]  # a rule bug: unbalanced parenthesis
        return build

    monkeypatch.setattr(km101, "_rename_keyword", broken_rename)
    path = write(project / "train.py", FIT)
    before = snapshot(path)
    code, out, err = run("fix", "train.py")
    assert code == 1
    assert snapshot(path) == before
    assert "train.py: KM101 fix at 4:17 would make the file invalid; not applied" in err
    assert out.splitlines()[-1] == "Found 1 error (0 fixed, 1 remaining)."


def test_unencodable_result_is_refused(project):
    path = write(project / "t.py", "# coding: latin-1\nx = 1\n".encode("latin-1"))
    source = read_source(str(path))
    with pytest.raises(SourceError, match="cannot be written in the file's encoding"):
        write_atomic(source, "# coding: latin-1\nx = '€'\n")
    assert path.read_bytes() == b"# coding: latin-1\nx = 1\n"
    assert leftovers(project) == []


def test_write_atomic_replaces_through_a_rename(project):
    path = write(project / "t.py", "x = 1\n")
    inode = path.stat().st_ino
    write_atomic(read_source(str(path)), "x = 2\n")
    assert path.read_text() == "x = 2\n"
    assert path.stat().st_ino != inode  # a new file renamed over the old one: readers never see half of it
    assert leftovers(project) == []


# --- round trips (property-based) ------------------------------------------------------------------------------
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufeff"), max_size=40
)
_NEWLINE = st.sampled_from(["\n", "\r\n", "\r"])


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.tuples(_TEXT, _NEWLINE), max_size=6), bom=st.booleans())
def test_utf8_decode_encode_round_trip(lines, bom):
    text = "".join(t.replace("\r", "").replace("\n", "") + nl for t, nl in lines)
    raw = (codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8")
    try:
        source = decode_source(raw)
    except SourceError:
        # only a first/second line that looks like a coding cookie can make UTF-8 text undecodable
        assert "coding" in text
        return
    assert encode_text(source, source.text) == raw


@settings(max_examples=100, deadline=None)
@given(
    body=st.lists(st.tuples(st.text(alphabet="abcé±ßx =\"'#", max_size=20), _NEWLINE), max_size=5),
    newline=_NEWLINE,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252"]),
    mode=st.sampled_from([0o644, 0o755, 0o600]),
)
def test_fix_changes_exactly_the_fixed_bytes(body, newline, encoding, mode):
    extra = "".join("# " + t.replace("\r", "").replace("\n", "") + nl for t, nl in body)
    text = FIT.replace("\n", newline) + extra
    if encoding in ("latin-1", "cp1252"):
        text = f"# -*- coding: {encoding} -*-{newline}" + text
    data = text.encode(encoding)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "metriclint.toml").write_text('target-keras = "3"\nselect = ["KM101"]\n')
        path = root / "train.py"
        path.write_bytes(data)
        path.chmod(mode)
        result = runner.process_file(runner.Job(str(path), _settings_for(root), fix=True))
        assert result.write_error is None and result.fixed == {"KM101": 1}
        assert path.read_bytes() == data.replace(b"nb_epoch=3", b"epochs=3")
        assert stat.S_IMODE(path.stat().st_mode) == mode
        assert leftovers(root) == []


def _settings_for(root: Path):
    from metriclint.rules import known_codes
    from metriclint.settings import Overrides, SettingsResolver

    return SettingsResolver(Overrides(), known_codes()).for_file(str(root / "train.py"))
