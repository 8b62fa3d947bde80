"""Adopting metriclint on a large existing codebase (tracker issue #12).

`check --add-noqa`, KM001 (unused noqa), file-level `# metriclint: noqa`, `--force-exclude` and
the pre-commit hooks, `--show-fixes`, `--statistics`, the exit codes of `fix`, `rules --output-format
json`; and, end to end on copies of real Keras package sources (tests/data/keras_sample), the
way a new user would adopt it: add the directives, check is clean, every file still compiles,
removing one directive brings back exactly its diagnostic, and KM001 finds the stale ones.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import nbformat
import pytest
from click.testing import CliRunner
from nbformat import v4

from metriclint import DOCS_URL
from metriclint.cli import main
from metriclint.engine import apply_edits, lint_text
from metriclint.rules import TOOL_CODES, all_rules
from metriclint.settings import Settings
from metriclint.suppression import add_noqa, file_exemption

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "keras_sample"

HEAD = "from tensorflow import keras\nmodel = keras.Sequential()\nmodel.compile(loss=\"mse\", metrics=[\"mae\"])\n"
NB_EPOCH = "KM101 [*] `Model.fit()` does not take `nb_epoch=` (TypeError)"
METRIC = "m = keras.metrics.Mean()\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "metriclint.toml").write_text('target-keras = "3"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()  # click >= 8.2 keeps stderr apart


def run(*args: str, input: Optional[bytes] = None) -> Tuple[int, str, str]:
    result = _runner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, text: str, newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def found(*args: str) -> List[Tuple[str, int, str]]:
    """(file, line, code) of every diagnostic `check` reports."""
    code, out, _ = run("check", "--no-cache", "--output-format", "json", *args)
    assert code in (0, 1, 2)
    return [(d["filename"], d["location"]["row"], d["code"]) for d in json.loads(out)]


def cached(*args: str) -> List[Tuple[str, int, str]]:
    """As `found`, with the result cache on (results are keyed by content: unchanged files are not linted again)."""
    code, out, _ = run("check", "--output-format", "json", *args)
    assert code in (0, 1)
    return [(d["filename"], d["location"]["row"], d["code"]) for d in json.loads(out)]


def compiles(text: str) -> bool:
    try:
        compile(text, "<test>", "exec", dont_inherit=True)
    except SyntaxError:
        return False
    return True


# --- check --add-noqa ------------------------------------------------------------------------------
def test_add_noqa_comments_every_reported_line_and_a_second_run_adds_nothing(project):
    source = (
        HEAD
        + "model.fit(x, y, nb_epoch=3)   \n"  # trailing whitespace: replaced by the comment
        + "model.fit(x, y, nb_epoch=3)  # type: ignore\n"  # another comment: the directive follows it
        + "model.fit(x, y, nb_epoch=3)  # noqa: E501\n"  # another tool's directive: extended
        + "model.fit(x, y, nb_epoch=3)  # NOQA:E501 long line\n"
        + METRIC
        + "m.reset_states(); model.fit(x, nb_epoch=2)\n"  # two codes on one line, sorted
        + "model.fit(\n    x,\n    nb_epoch=3,\n)\n"  # the line the diagnostic points at
        + "model.fit(x, y, nb_epoch=3)"  # no newline at the end
    )
    path = write(project / "train.py", source)
    assert len(found("train.py")) == 8
    code, out, err = run("check", "--add-noqa", "train.py")
    assert code == 0, out + err
    assert out == ""
    assert err == "Added 7 noqa directives.\n"
    assert read(path) == (
        HEAD
        + "model.fit(x, y, nb_epoch=3)  # noqa: KM101\n"
        + "model.fit(x, y, nb_epoch=3)  # type: ignore  # noqa: KM101\n"
        + "model.fit(x, y, nb_epoch=3)  # noqa: E501, KM101\n"
        + "model.fit(x, y, nb_epoch=3)  # NOQA:E501, KM101 long line\n"
        + METRIC
        + "m.reset_states(); model.fit(x, nb_epoch=2)  # noqa: KM101, KM103\n"
        + "model.fit(\n    x,\n    nb_epoch=3,  # noqa: KM101\n)\n"
        + "model.fit(x, y, nb_epoch=3)  # noqa: KM101"
    )
    assert compiles(read(path))
    assert run("check", "train.py") == (0, "All checks passed!\n", "")
    before = path.read_bytes()
    assert run("check", "--add-noqa", "train.py") == (0, "", "Added 0 noqa directives.\n")
    assert path.read_bytes() == before


def test_add_noqa_keeps_encoding_bom_line_endings_and_mode(project):
    path = project / "train.py"
    text = "# -*- coding: utf-8 -*-\n# é\n" + HEAD + "model.fit(x, y, nb_epoch=3)\nprint('ü')\n"
    path.write_bytes(codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode("utf-8"))
    os.chmod(path, 0o640)
    code, _, err = run("check", "--add-noqa", "train.py")
    assert code == 0 and err == "Added 1 noqa directive.\n"
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    assert data[len(codecs.BOM_UTF8):].decode("utf-8") == text.replace(
        "nb_epoch=3)\n", "nb_epoch=3)  # noqa: KM101\n").replace("\n", "\r\n")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert not list(project.glob(".metriclint-*"))  # no temporary file left behind


def test_add_noqa_leaves_files_without_findings_alone(project):
    clean = write(project / "clean.py", HEAD + "model.fit(x, y, epochs=3)\n")
    before = os.stat(clean)
    write(project / "train.py", HEAD + "model.fit(x, y, nb_epoch=3)\n")
    assert run("check", "--add-noqa", ".")[0] == 0
    after = os.stat(clean)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_add_noqa_cannot_comment_inside_a_multiline_string_or_after_a_backslash(project):
    source = (
        HEAD
        + 'model.fit(x, y, nb_epoch=3, callbacks=cb("""a\nb"""))\n'  # line 4 ends inside a string
        + "model.fit(x, y, \\\n          nb_epoch=3)\n"  # the diagnostic's line is the second: fine
        + "model.fit(x, nb_epoch=3, y=y) if x else \\\n    None\n"  # line 8 continues with `\`
        + "model.fit(x, y, nb_epoch=4)\n"
    )
    path = write(project / "train.py", source)
    code, out, err = run("check", "--add-noqa", "train.py")
    assert code == 1
    assert [line.split(": ")[0] for line in out.splitlines()[:-1]] == ["train.py:4:17", "train.py:8:14"]
    assert err.splitlines() == [
        "metriclint: train.py: 2 diagnostics not suppressed: no comment can go at the end of their line (it ends "
        "inside a multi-line string or continues with a backslash); use `# metriclint: noqa: CODE` at the top "
        "of the file or `per-file-ignores` instead",
        "Added 2 noqa directives.",
    ]
    text = read(path)
    assert compiles(text)
    assert text == source.replace("nb_epoch=3)\n", "nb_epoch=3)  # noqa: KM101\n").replace(
        "nb_epoch=4)\n", "nb_epoch=4)  # noqa: KM101\n")
    # the strings are untouched, and what remains is what could not be suppressed
    assert found("train.py") == [("train.py", 4, "KM101"), ("train.py", 8, "KM101")]
    # the file-level directive is the way out (and it makes the line-level ones unused: KM001)
    write(path, "# metriclint: noqa: KM101\n" + source)
    assert run("check", "train.py") == (0, "All checks passed!\n", "")
    write(path, "# metriclint: noqa: KM101\n" + text)
    assert [code for _, _, code in found("train.py")] == ["KM001", "KM001"]


def test_add_noqa_does_not_touch_tool_diagnostics(project):
    broken = write(project / "broken.py", "from tensorflow import keras\nmodel.fit(x, nb_epoch=3\n")
    (project / "latin.py").write_bytes(b"from tensorflow import keras\n# \xff\n")
    code, out, err = run("check", "--add-noqa", ".")
    assert code == 1
    assert [line.split(": ")[1].split()[0] for line in out.splitlines()[:-1]] == ["E999", "E902"]
    assert err == "Added 0 noqa directives.\n"
    assert read(broken) == "from tensorflow import keras\nmodel.fit(x, nb_epoch=3\n"


def test_add_noqa_is_refused_for_stdin_and_unsafe_fixes(project):
    code, _, err = run("check", "--add-noqa", "-", input=b"x = 1\n")
    assert code == 2 and "`--add-noqa` writes files" in err
    code, _, err = run("check", "--add-noqa", "--unsafe-fixes", ".")
    assert code == 2 and "--unsafe-fixes" in err


def test_add_noqa_refuses_a_file_changed_on_disk(project, monkeypatch):
    """Writes are atomic and checked, as `fix`'s are (source.write_atomic)."""
    from metriclint import runner

    path = write(project / "train.py", HEAD + "model.fit(x, y, nb_epoch=3)\n")
    real = runner.lint_text

    def lint_and_edit(text, path_, settings, project=None):
        out = real(text, path_, settings, project)
        if "noqa" not in text:
            Path(path_).write_text(text + "# edited meanwhile\n", encoding="utf-8")
        return out

    monkeypatch.setattr(runner, "lint_text", lint_and_edit)
    code, out, err = run("check", "--add-noqa", "--no-cache", "train.py")
    assert code == 1
    assert "train.py: not written: changed on disk while metriclint was running" in err
    assert out.startswith(f"train.py:4:17: {NB_EPOCH}")
    assert read(path).endswith("# edited meanwhile\n")


def test_removing_one_directive_brings_back_exactly_its_diagnostic(project):
    source = HEAD + "".join(f"model.fit(x, y, nb_epoch={n})\n" for n in range(1, 6))
    path = write(project / "train.py", source)
    before = found("train.py")
    run("check", "--add-noqa", "train.py")
    assert found("train.py") == []
    lines = read(path).splitlines(keepends=True)
    lines[5] = lines[5].replace("  # noqa: KM101", "")
    write(path, "".join(lines))
    assert found("train.py") == [before[2]] == [("train.py", 6, "KM101")]


def test_add_noqa_unit_positions():
    text = "a = 1\nb = (\n    2,\n)\nc = '''x\ny'''\n"
    added = add_noqa(text, {1: {"KM101"}, 3: {"KM2", "KM101"}, 5: {"KM101"}, 6: {"KM101"}})
    assert added.text == "a = 1  # noqa: KM101\nb = (\n    2,  # noqa: KM101, KM2\n)\nc = '''x\ny'''  # noqa: KM101\n"
    assert added.lines == [1, 3, 6] and added.impossible == {5}
    # lone `\r` line breaks count as Python counts them
    cr = "a = 1\rb = 2\r"
    assert add_noqa(cr, {2: {"KM101"}}).text == "a = 1\rb = 2  # noqa: KM101\r"


# --- notebooks ---------------------------------------------------------------------------------------
def notebook(*cells) -> nbformat.NotebookNode:
    book = v4.new_notebook(cells=list(cells))
    book.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    for index, cell in enumerate(book.cells):
        cell["id"] = f"cell-{index}"
    return book


def save(path: Path, book) -> str:
    nbformat.write(book, str(path))
    return read(path)


def test_add_noqa_in_a_notebook_edits_only_the_cell_sources(project):
    path = project / "train.ipynb"
    output = v4.new_output("stream", name="stdout", text="ok\n")
    before = save(path, notebook(
        v4.new_markdown_cell("# Train"),
        v4.new_code_cell("%matplotlib inline\nfrom tensorflow import keras\nmodel = keras.Sequential()"),
        v4.new_code_cell(
            "model.fit(x, y, nb_epoch=1)\n%time model.fit(x, y, nb_epoch=2)\nmodel.fit(x, y, nb_epoch=3)  # why",
            outputs=[output], execution_count=3,
        ),
    ))
    assert [(c, line) for c, line, _ in _cells("train.ipynb")] == [(3, 1), (3, 2), (3, 3)]
    code, _, err = run("check", "--add-noqa", "train.ipynb")
    assert code == 0 and err == "Added 3 noqa directives.\n"
    after = read(path)
    book = nbformat.reads(after, as_version=4)
    assert book.cells[2].source == (
        "model.fit(x, y, nb_epoch=1)  # noqa: KM101\n"
        "%time model.fit(x, y, nb_epoch=2)  # noqa: KM101\n"
        "model.fit(x, y, nb_epoch=3)  # why  # noqa: KM101"
    )
    # nothing else changed: the same JSON once the new source is put back
    original = nbformat.reads(before, as_version=4)
    original.cells[2].source = book.cells[2].source
    assert after == nbformat.writes(original) + "\n"
    assert _cells("train.ipynb") == []
    assert run("check", "--add-noqa", "train.ipynb") == (0, "", "Added 0 noqa directives.\n")
    assert read(path) == after


def test_add_noqa_leaves_a_notebook_it_cannot_rewrite_exactly(project):
    path = project / "train.ipynb"
    text = save(path, notebook(v4.new_code_cell("from tensorflow import keras\nmodel = keras.Sequential()\n"
                                                "model.fit(x, y, nb_epoch=1)")))
    odd = text.replace('"cells": [', '"cells" : [')  # a layout json.dumps does not reproduce
    path.write_text(odd, encoding="utf-8")
    code, out, err = run("check", "--add-noqa", "train.ipynb")
    assert code == 1
    assert out.startswith("train.ipynb:cell 1:3:17: KM101")
    assert "train.ipynb: not written: its JSON layout cannot be reproduced exactly" in err
    assert err.endswith("Added 0 noqa directives.\n")
    assert read(path) == odd


def test_add_noqa_machine_output_when_everything_was_suppressed(project):
    write(project / "train.py", HEAD + "model.fit(x, y, nb_epoch=3)\n")
    assert run("check", "--add-noqa", "--output-format", "json", "train.py") == (0, "[]\n", "Added 1 noqa directive.\n")


def _cells(name: str) -> List[Tuple[int, int, str]]:
    code, out, _ = run("check", "--no-cache", "--output-format", "json", name)
    return [(d["cell"], d["location"]["row"], d["code"]) for d in json.loads(out)]


def test_file_level_noqa_in_the_first_code_cell_of_a_notebook(project):
    path = project / "train.ipynb"
    first = "# metriclint: noqa: KM101\nfrom tensorflow import keras\nmodel = keras.Sequential()"
    save(path, notebook(v4.new_markdown_cell("# T"), v4.new_code_cell(first),
                        v4.new_code_cell("model.fit(x, y, nb_epoch=1)\nm = keras.metrics.Mean()\nm.reset_states()")))
    assert _cells("train.ipynb") == [(3, 3, "KM103")]
    # after a magic line too
    save(path, notebook(v4.new_code_cell("!pip install keras\n" + first),
                        v4.new_code_cell("model.fit(x, y, nb_epoch=1)")))
    assert _cells("train.ipynb") == []
    # but not in a later cell
    save(path, notebook(v4.new_code_cell("from tensorflow import keras\nmodel = keras.Sequential()"),
                        v4.new_code_cell("# metriclint: noqa\nmodel.fit(x, y, nb_epoch=1)")))
    assert _cells("train.ipynb") == [(2, 2, "KM101")]


# --- file-level suppression ----------------------------------------------------------------------
BODY = HEAD + "model.fit(x, y, nb_epoch=3)\n" + METRIC + "m.reset_states()\n"


@pytest.mark.parametrize("header,expected", [
    ("# metriclint: noqa\n", []),
    ("#!/usr/bin/env python\n# Copyright 2024\n#\n# metriclint: noqa: KM1\n", []),
    ("# metriclint: noqa: KM101\n", [5, "KM103"]),
    ("# metriclint: noqa: KM103, KM2\n", [4, "KM101"]),
    ("# METRICLINT: NOQA:KM101 legacy Keras 1 code\n", [5, "KM103"]),
    ("# metriclint: noqa:\n", "both"),  # a colon without codes is not a directive
    ("# metriclint:noqa-not\n", "both"),
    ('"""Docstring."""\n# metriclint: noqa\n', "both"),  # after code: not the leading block
])
def test_file_level_noqa(project, header, expected):
    path = write(project / "train.py", header + BODY)
    offset = header.count("\n")
    got = [(line - offset, code) for _, line, code in found("train.py")]
    if expected == "both":
        assert got == [(4, "KM101"), (6, "KM103")]
    elif expected:
        line, code = expected
        assert got == [(line + (1 if code == "KM103" else 0), code)]
    else:
        assert got == []
    assert path.exists()


def test_file_level_noqa_does_not_hide_tool_codes(project):
    write(project / "broken.py", "# metriclint: noqa\nfrom tensorflow import keras\nmodel.fit(x, nb_epoch=3\n")
    assert [code for _, _, code in found("broken.py")] == ["E999"]


def test_file_exemption_unit():
    assert file_exemption("x = 1\n") is None
    assert file_exemption("# metriclint: noqa\n").codes is None
    assert file_exemption("# metriclint: noqa: KM1, km205\n# metriclint: noqa: KM3\n").codes == {"KM1", "KM205", "KM3"}
    assert file_exemption("\n\n   # metriclint: noqa: KM1\nx = 1\n").codes == {"KM1"}
    assert file_exemption("x = 1\n# metriclint: noqa\n") is None


# --- KM001: unused noqa --------------------------------------------------------------------------
def km001(*args: str) -> List[Tuple[int, str]]:
    code, out, _ = run("check", "--no-cache", "--output-format", "json", *args)
    return [(d["location"]["row"], d["message"]) for d in json.loads(out) if d["code"] == "KM001"]


@pytest.mark.parametrize("comment,message", [
    ("  # noqa: KM103", "Unused `noqa` directive (unused: `KM103`)"),
    ("  # noqa: KM101, KM1", "Unused `noqa` directive (unused: `KM101`, `KM1`)"),
    ("  # noqa: KM999", "Unused `noqa` directive (unknown: `KM999`)"),
    ("  # noqa: KM9", "Unused `noqa` directive (unknown: `KM9`)"),
    ("  # noqa: E999", "Unused `noqa` directive (cannot be suppressed: `E999`)"),
    ("  # noqa: E903", "Unused `noqa` directive (unused: `E903`)"),
    ("  # noqa: KM103, KM103", "Unused `noqa` directive (unused: `KM103`; duplicated: `KM103`)"),
    ("  # noqa: E501, F401, E9, W605", None),  # other tools' codes: theirs
    ("  # noqa", None),  # bare: it serves other linters too
    ("  # noqa: KM103, KM001", None),  # KM001 is off for its own line
    ("  # noqa:", None),  # not a directive
])
def test_km001_reports_codes_that_suppress_nothing(project, comment, message):
    write(project / "train.py", HEAD + METRIC + "m.reset_state()" + comment + "\n")
    assert km001("train.py") == ([(5, message)] if message else [])


def test_km001_non_enabled_codes_and_selection(project):
    source = HEAD + "model.fit(x, y, nb_epoch=3)  # noqa: KM101, KM205\n"
    write(project / "train.py", source)
    assert km001("train.py") == [(4, "Unused `noqa` directive (unused: `KM205`)")]
    # a code the command line turns off for one run did not run: its noqa is not judged (issue 20)
    assert km001("--ignore", "KM205", "train.py") == []
    assert km001("--extend-select", "KM001", "--ignore", "KM2", "train.py") == []
    # a code the configuration turns off is "non-enabled"
    (project / "metriclint.toml").write_text('target-keras = "3"\nignore = ["KM2"]\n', encoding="utf-8")
    assert km001("train.py") == [(4, "Unused `noqa` directive (non-enabled: `KM205`)")]
    assert km001("--extend-select", "KM205", "train.py") == [(4, "Unused `noqa` directive (unused: `KM205`)")]
    (project / "metriclint.toml").write_text('target-keras = "3"\n', encoding="utf-8")
    # off when not selected, or ignored
    assert km001("--select", "KM101", "train.py") == []
    assert km001("--ignore", "KM001", "train.py") == []
    # `--select KM001` alone runs neither KM101 nor KM205: nothing to judge, nothing reported
    assert found("--select", "KM001", "train.py") == []
    assert found("--select", "KM001,KM101,KM205", "train.py") == [("train.py", 4, "KM001")]
    (project / "metriclint.toml").write_text('target-keras = "3"\nignore = ["KM001"]\n', encoding="utf-8")
    assert km001("train.py") == []
    (project / "metriclint.toml").write_text(
        'target-keras = "3"\n[per-file-ignores]\n"train.py" = ["KM0"]\n', encoding="utf-8")
    assert km001("train.py") == []


def test_km001_in_files_no_rule_looks_at(project):
    """The prefilter skips the rules there, but a stale directive is still found."""
    write(project / "util.py", "import os\nx = os.sep  # noqa: KM101\ny = 1  # noqa: F401\n")
    assert km001("util.py") == [(2, "Unused `noqa` directive (unused: `KM101`)")]
    write(project / "util.py", "# metriclint: noqa\nx = 1  # noqa: KM101\n")
    assert km001("util.py") == []
    write(project / "util.py", "x = (1  # noqa: KM101\n")  # a syntax error: no KM001
    assert found("util.py") == [("util.py", 1, "E999")]


def test_km001_fix_removes_the_stale_codes_and_keeps_the_rest_of_the_line(project):
    source = (
        HEAD + METRIC
        + "m.reset_state()  # noqa: KM103\n"
        + "m.reset_state()  # noqa: E501, KM103\n"
        + "m.reset_state()  # noqa: KM103  # type: ignore\n"
        + "m.reset_state()  # noqa: KM103 -- Keras 2 only\n"
        + "m.reset_state()  # pylint: disable=x  # noqa: KM103\n"
        + "    # noqa: KM103\n"
        + "m.reset_states()  # noqa: KM103, KM999\n"
    )
    path = write(project / "train.py", source)
    code, out, _ = run("fix", "train.py")
    assert code == 0, out
    assert read(path) == (
        HEAD + METRIC
        + "m.reset_state()\n"
        + "m.reset_state()  # noqa: E501\n"
        + "m.reset_state()  # type: ignore\n"
        + "m.reset_state()  # -- Keras 2 only\n"
        + "m.reset_state()  # pylint: disable=x\n"
        + "m.reset_states()  # noqa: KM103\n"
    )
    assert run("check", "train.py") == (0, "All checks passed!\n", "")


def test_km001_after_a_fix_makes_a_directive_stale(project):
    """The adoption loop: a suppressed finding gets fixed by hand; KM001 then removes its comment."""
    path = write(project / "train.py", HEAD + "model.fit(x, y, nb_epoch=3)\n")
    run("check", "--add-noqa", "train.py")
    write(path, read(path).replace("nb_epoch=3", "epochs=3"))
    code, out, _ = run("check", "train.py")
    assert code == 1
    assert out.splitlines() == [
        "train.py:4:28: KM001 [*] Unused `noqa` directive (unused: `KM101`)",
        "Found 1 error (1 fixable with `metriclint fix`).",
    ]
    assert run("fix", "train.py")[0] == 0
    assert read(path) == HEAD + "model.fit(x, y, epochs=3)\n"


def test_km001_counts_the_codes_of_a_crashed_rule_as_used(project, monkeypatch):
    from metriclint.rules.km103 import MetricResetStates

    def crash(self, ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(MetricResetStates, "check", crash)
    write(project / "train.py", HEAD + METRIC + "m.reset_states()  # noqa: KM103\n")
    assert [code for _, _, code in found("train.py")] == ["E000"]


def test_km001_in_a_notebook_points_at_its_cell_and_is_fixed_there(project):
    path = project / "train.ipynb"
    save(path, notebook(
        v4.new_code_cell("from tensorflow import keras\nmodel = keras.Sequential()"),
        v4.new_code_cell("model.fit(x, y, epochs=1)  # noqa: KM101\n%time model.fit(x, y, epochs=2)  # noqa: KM101"),
    ))
    assert _cells("train.ipynb") == [(2, 1, "KM001"), (2, 2, "KM001")]
    run("fix", "train.ipynb")
    book = nbformat.reads(read(path), as_version=4)
    assert book.cells[1].source == "model.fit(x, y, epochs=1)\n%time model.fit(x, y, epochs=2)"


def test_km001_is_a_registered_rule_with_metadata(project):
    rule = all_rules()["KM001"]
    assert rule.name == "unused-noqa" and rule.fix_safety is not None and rule.fix_safety.value == "safe"
    code, out, _ = run("rules", "--output-format", "json")
    rows = {row["code"]: row for row in json.loads(out)}
    assert rows["KM001"]["name"] == "unused-noqa" and rows["KM001"]["fix"] == "safe"
    code, out, _ = run("rules")
    assert re.search(r"^KM001  unused-noqa\s+K2\+K3\s+fix: safe", out, re.M)
    code, out, _ = run("check", "--output-format", "sarif", ".")
    ids = [r["id"] for r in json.loads(out)["runs"][0]["tool"]["driver"]["rules"]]
    assert "KM001" in ids


def test_rules_json_lists_every_code(project):
    code, out, _ = run("rules", "--output-format", "json")
    assert code == 0
    rows = json.loads(out)
    assert [row["code"] for row in rows] == list(all_rules()) + list(TOOL_CODES)
    for row in rows:
        assert set(row) == {"code", "name", "summary", "fix", "flavours", "url"}
        assert re.fullmatch(r"[a-z0-9-]+", row["name"]) and row["summary"]
        assert row["fix"] in ("safe", "unsafe", "none")
        assert row["flavours"] and set(row["flavours"]) <= {"2", "3"}
        assert row["url"] == DOCS_URL.format(code=row["code"])
    by_code = {row["code"]: row for row in rows}
    assert by_code["KM103"]["flavours"] == ["3"] and by_code["KM103"]["fix"] == "safe"
    assert by_code["KM205"]["fix"] == "none"
    assert by_code["E999"] == {"code": "E999", "name": "syntax-error", "summary": "the file could not be parsed as Python",
                               "fix": "none", "flavours": ["2", "3"], "url": DOCS_URL.format(code="E999")}


# --- --force-exclude and pre-commit ----------------------------------------------------------------
def test_force_exclude_applies_exclude_to_named_files(project):
    (project / "metriclint.toml").write_text('target-keras = "3"\nextend-exclude = ["legacy/"]\n', encoding="utf-8")
    legacy = write(project / "legacy" / "old.py", HEAD + "model.fit(x, y, nb_epoch=3)\n")
    write(project / "new.py", HEAD + "model.fit(x, y, epochs=3)\n")
    # named explicitly: read, unless --force-exclude
    assert run("check", "legacy/old.py")[0] == 1
    assert run("check", "--force-exclude", "legacy/old.py", "new.py") == (0, "All checks passed!\n", "")
    # only excluded files (what pre-commit passes when a commit touches only them): quiet, exit 0
    assert run("check", "--force-exclude", "legacy/old.py") == (0, "All checks passed!\n", "")
    assert run("fix", "--force-exclude", "legacy/old.py")[0] == 0
    assert "nb_epoch" in read(legacy)
    # the command line's patterns count too
    assert run("check", "--force-exclude", "--extend-exclude", "new.py", "new.py") == (0, "All checks passed!\n", "")


def test_hooks_use_force_exclude_and_take_python_and_notebooks():
    from pre_commit.clientlib import load_manifest

    hooks = {hook["id"]: hook for hook in load_manifest(str(Path(__file__).parents[1] / ".pre-commit-hooks.yaml"))}
    assert set(hooks) == {"metriclint", "metriclint-fix"}
    assert hooks["metriclint"]["entry"] == "metriclint check --force-exclude"
    assert hooks["metriclint-fix"]["entry"] == "metriclint fix --force-exclude"
    for hook in hooks.values():
        assert hook["types_or"] == ["python", "jupyter"]
        assert hook["require_serial"] is True
        assert hook["pass_filenames"] is True and hook["always_run"] is False


@pytest.mark.slow
def test_precommit_skips_a_commit_without_python_and_honours_exclude(tmp_path):
    """With the real pre-commit: no Python file staged -> the hook is skipped (metriclint is never
    run, so it never checks `.`); an excluded file staged -> metriclint runs on it and passes."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed (pre-commit needs it)")
    import test_precommit as pc

    env = pc._isolated_env(tmp_path)
    snapshot = tmp_path / "metriclint"
    names = pc._source_files(pc.REPO_ROOT)
    if names:
        for name in names:
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(pc.REPO_ROOT / name, snapshot / name)
    else:
        shutil.copytree(pc.REPO_ROOT, snapshot, ignore=pc._NOT_SOURCE)
    pc._git(snapshot, env, "init", "-q")
    pc._git(snapshot, env, "add", "-A")
    pc._git(snapshot, env, "commit", "-q", "--no-verify", "-m", "snapshot")

    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("# docs only\n", encoding="utf-8")
    # a bad file elsewhere in the tree that is not staged must not be looked at
    (project / "untracked.py").write_text(pc.BAD, encoding="utf-8")
    pc._git(project, env, "init", "-q")
    pc._git(project, env, "add", "README.md")
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(snapshot), "metriclint", "--color=never", "--verbose"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "(no files to check)" in output and "Skipped" in output, output
    assert "KM101" not in output

    (project / "metriclint.toml").write_text('extend-exclude = ["vendor/"]\n', encoding="utf-8")
    (project / "vendor").mkdir()
    (project / "vendor" / "old.py").write_text(pc.BAD, encoding="utf-8")
    pc._git(project, env, "add", "metriclint.toml", "vendor/old.py")
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(snapshot), "metriclint", "--color=never", "--verbose"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Passed" in output and "KM101" not in output, output


# --- --show-fixes, --statistics, exit codes of fix -------------------------------------------------
MIXED = (
    HEAD
    + "model.fit(x, y, nb_epoch=3, epoch=2)\n"  # KM101 safe + KM101 no fix
    + "model.fit(x, y, validation_metrics=[\"auc\"])\n"  # KM101 unsafe
    + METRIC + "m.reset_states()\n"  # KM103 safe
)


def test_show_fixes_after_check_lists_what_fix_would_change(project):
    write(project / "train.py", MIXED)
    code, out, _ = run("check", "--show-fixes", "train.py")
    assert code == 1
    assert out.splitlines()[-5:] == [
        "Fixes available (2 safe, 1 unsafe; unsafe ones need `--unsafe-fixes`):",
        "- train.py:",
        "    4:17 KM101 Rename `nb_epoch=` to `epochs=` (safe)",
        "    5:17 KM101 Remove `validation_metrics=` and move its metrics into `compile(metrics=...)` (unsafe)",
        "    7:3 KM103 Rename to `reset_state()` (safe)",
    ]


def test_show_fixes_after_fix_lists_what_was_fixed(project):
    write(project / "train.py", MIXED)
    write(project / "other.py", HEAD + "model.fit(x, y, nb_epoch=3)\n")
    code, out, _ = run("fix", "--show-fixes", ".")
    assert code == 1
    assert out.splitlines()[-8:] == [
        "Found 5 errors (3 fixed, 2 remaining).",
        "1 hidden fix can be enabled with `--unsafe-fixes`.",
        "Fixed 3 errors:",
        "- other.py:",
        "    1 \u00d7 KM101 (unknown-model-keyword)",
        "- train.py:",
        "    1 \u00d7 KM101 (unknown-model-keyword)",
        "    1 \u00d7 KM103 (metric-reset-states)",
    ]
    code, out, _ = run("fix", "--show-fixes", ".")
    assert out.splitlines()[-1] == "No errors fixed."
    # machine-readable output stays parseable: the listing goes to stderr
    write(project / "other.py", HEAD + "model.fit(x, y, nb_epoch=3)\n")
    code, out, err = run("fix", "--show-fixes", "--output-format", "json", ".")
    assert len(json.loads(out)) == 2 and err.startswith("Fixed 1 error:")


def test_statistics_counts_and_fixable(project):
    write(project / "train.py", MIXED + "m.reset_states()  # noqa: KM101\n")
    code, out, _ = run("check", "--statistics", "train.py")
    assert code == 1
    assert out.splitlines() == [
        "    3  KM101  unknown-model-keyword        [*] 1 fixable",
        "    2  KM103  metric-reset-states          [*] 2 fixable",
        "    1  KM001  unused-noqa                  [*] 1 fixable",
    ]
    code, out, _ = run("check", "--statistics", "--unsafe-fixes", "--output-format", "json", "train.py")
    assert json.loads(out) == [
        {"code": "KM101", "name": "unknown-model-keyword", "count": 3, "fixable": 2},
        {"code": "KM103", "name": "metric-reset-states", "count": 2, "fixable": 2},
        {"code": "KM001", "name": "unused-noqa", "count": 1, "fixable": 1},
    ]
    # the counts are what the report holds
    assert len(found("train.py")) == 6


def test_fix_exit_codes(project):
    path = write(project / "train.py", HEAD + "model.fit(x, y, nb_epoch=3)\n")
    # everything fixed: 0 (as ruff), unless --exit-non-zero-on-fix
    assert run("fix", "train.py")[0] == 0
    write(path, HEAD + "model.fit(x, y, nb_epoch=3)\n")
    assert run("fix", "--exit-non-zero-on-fix", "train.py")[0] == 1
    assert run("fix", "--exit-non-zero-on-fix", "train.py")[0] == 0  # nothing left to fix
    # unfixable diagnostics remain: 1, with or without the flag
    write(path, HEAD + "model.fit(x, y, epoch=3)\n")
    assert run("fix", "train.py")[0] == 1
    assert run("fix", "--exit-zero", "train.py")[0] == 0
    write(path, HEAD + "model.fit(x, y, nb_epoch=3)\n")
    assert run("fix", "--exit-non-zero-on-fix", "--exit-zero", "train.py")[0] == 0  # --exit-zero wins, as in ruff


# --- end to end, on copies of real Keras sources -------------------------------------------------
def _copy_sample(root: Path) -> List[Path]:
    out = []
    for source in sorted(SAMPLE.rglob("*.py.txt")):
        target = root / source.relative_to(SAMPLE).with_suffix("")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        out.append(target)
    return out


def test_adopting_on_real_keras_sources(project):
    """A new user on a copy of real package code: check, --add-noqa, check again, then the upkeep."""
    files = _copy_sample(project)
    originals = {path: read(path) for path in files}
    before = cached("--target-keras", "3", ".")
    codes = {code for _, _, code in before}
    assert len(before) >= 4 and len(codes) >= 2, before  # real findings of several rules
    assert not codes & set(TOOL_CODES)

    code, out, err = run("check", "--target-keras", "3", "--add-noqa", ".")
    assert code == 0, out + err
    lines_with_findings = {(file, line) for file, line, _ in before}
    assert err == f"Added {len(lines_with_findings)} noqa directives.\n"
    for path in files:
        new, old = read(path), originals[path]
        assert compiles(new), path
        # only comments were added, at the ends of the reported lines; nothing else moved
        old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
        assert len(old_lines) == len(new_lines)
        for number, (a, b) in enumerate(zip(old_lines, new_lines), start=1):
            if a != b:
                assert (str(path.relative_to(project)), number) in lines_with_findings
                assert re.fullmatch(re.escape(a.rstrip()) + r"  # noqa: KM\d{3}(, KM\d{3})*\n", b), (a, b)
    assert run("check", "--target-keras", "3", ".") == (0, "All checks passed!\n", "")
    snapshot = {path: path.read_bytes() for path in files}
    assert run("check", "--target-keras", "3", "--add-noqa", ".") == (0, "", "Added 0 noqa directives.\n")
    assert {path: path.read_bytes() for path in files} == snapshot
    untouched = [path for path in files if str(path.relative_to(project)) not in {f for f, _, _ in before}]
    assert all(read(path) == originals[path] for path in untouched)

    # Removing one directive brings back exactly the diagnostics of its line.
    file, line, _ = before[len(before) // 2]
    path = project / file
    lines = read(path).splitlines(keepends=True)
    lines[line - 1] = re.sub(r"  # noqa: [^\n]*", "", lines[line - 1])
    path.write_text("".join(lines), encoding="utf-8")
    assert cached("--target-keras", "3", ".") == [d for d in before if d[:2] == (file, line)]
    path.write_bytes(snapshot[path])

    assert cached("--target-keras", "3", ".") == []

    # Fixing a suppressed finding by hand makes its directive stale: KM001 says so, `fix` tidies up.
    target = None
    for file, line, code in before:
        if all_rules()[code].fix_safety is None:
            continue
        original = originals[project / file]
        found_here = lint_text(original, file, Settings(select=(code,), target_keras="3")).diagnostics
        fixes = [d.fix for d in found_here if d.start.line == line and d.fix is not None]
        if not fixes:
            continue
        fixed = apply_edits(original, list(fixes[0].edits))  # this finding's fix alone
        old_lines, new_lines = original.splitlines(keepends=True), fixed.splitlines(keepends=True)
        changed = [n for n, (a, b) in enumerate(zip(old_lines, new_lines), start=1) if a != b]
        if len(old_lines) == len(new_lines) and changed == [line]:
            target = (file, line, code, new_lines[line - 1])
            break
    assert target is not None, "no one-line fix in the sample"
    file, line, code, fixed_line = target
    assert [c for f, n, c in before if (f, n) == (file, line)] == [code]
    path = project / file
    lines = read(path).splitlines(keepends=True)
    directive = re.search(r"  # noqa: [^\n]*", lines[line - 1]).group()
    lines[line - 1] = fixed_line.rstrip("\n") + directive + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    code_, out, _ = run("check", "--target-keras", "3", "--output-format", "json", ".")
    assert code_ == 1
    assert [(d["filename"], d["location"]["row"], d["code"], d["message"]) for d in json.loads(out)] == [
        (file, line, "KM001", f"Unused `noqa` directive (unused: `{code}`)")]
    assert run("fix", "--target-keras", "3", ".")[0] == 0
    assert read(path).splitlines(keepends=True)[line - 1] == fixed_line
    assert run("check", "--target-keras", "3", ".") == (0, "All checks passed!\n", "")
    assert all(compiles(read(p)) for p in files)


def test_sample_is_what_tests_data_readme_says():
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for source in sorted(SAMPLE.rglob("*.py.txt")):
        assert str(source.relative_to(SAMPLE)) in readme, source
    assert (SAMPLE / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")
