"""What a ruff user expects from the command line (issue 20): the `full` and `concise` reports,
`[*]` on what `fix` would fix, colour only in a terminal or when asked, ruff's spellings
(`check --fix`, `--diff`, `-q`, `-s`, `-e`, `-o`, `--color`), no success line after an error, a
progress bar that ends at the total and erases itself, and `noqa` comments that survive a run
with a one-off `--ignore`."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest
from click.testing import CliRunner

from metriclint.cli import main
from metriclint.progress import ProgressBar, wanted
from metriclint.report.style import use_color
from tree import metriclint_command, tree_env

FIT = """\
from tensorflow import keras
model = keras.Sequential()
model.compile(loss="mse", metrics=["mae"])
model.fit(x, y, nb_epoch=3)
model.fit(x, y, validation_metrics=["auc"])
"""
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "metriclint.toml").write_text('target-keras = "3"\n', encoding="utf-8")
    (tmp_path / "train.py").write_text(FIT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, env: Optional[Dict[str, Optional[str]]] = None, input: Optional[bytes] = None) -> Tuple[int, str, str]:
    # The suite sets METRICLINT_OUTPUT_FORMAT=concise (conftest.py); these tests see the real default.
    environ = {"METRICLINT_OUTPUT_FORMAT": None, "NO_COLOR": None, "FORCE_COLOR": None, "CI": None}
    environ.update(env or {})
    result = CliRunner().invoke(main, list(args), env=environ, input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# --- full, the default ----------------------------------------------------------------------------
FULL = """\
KM101 [*] `Model.fit()` does not take `nb_epoch=` (TypeError)
 --> train.py:4:17
  |
2 | model = keras.Sequential()
3 | model.compile(loss="mse", metrics=["mae"])
4 | model.fit(x, y, nb_epoch=3)
  |                 ^^^^^^^^
5 | model.fit(x, y, validation_metrics=["auc"])
  |
info: Keras 1 name of `epochs`
help: Rename `nb_epoch=` to `epochs=`

KM101 `Model.fit()` does not take `validation_metrics=` (TypeError)
 --> train.py:5:17
  |
3 | model.compile(loss="mse", metrics=["mae"])
4 | model.fit(x, y, nb_epoch=3)
5 | model.fit(x, y, validation_metrics=["auc"])
  |                 ^^^^^^^^^^^^^^^^^^
  |
info: Keras computes `val_*` for every metric given to `compile`; there is no separate validation
      list
help: Remove `validation_metrics=` and move its metrics into `compile(metrics=...)` (an unsafe fix: `metriclint fix --unsafe-fixes` applies it)

Found 2 errors (1 fixable with `metriclint fix`).
1 hidden fix can be enabled with `metriclint fix --unsafe-fixes`.
"""


def test_default_format_is_full_as_in_ruff(project):
    code, out, err = run("check")
    assert (code, out, err) == (1, FULL, "")
    assert run("check", "--output-format", "full") == (1, FULL, "")


def test_concise_is_one_line_per_finding_with_a_mark_on_what_fix_fixes(project):
    code, out, _ = run("check", "--output-format", "concise")
    assert code == 1
    assert out.splitlines() == [
        "train.py:4:17: KM101 [*] `Model.fit()` does not take `nb_epoch=` (TypeError)",
        "train.py:5:17: KM101 `Model.fit()` does not take `validation_metrics=` (TypeError)",
        "Found 2 errors (1 fixable with `metriclint fix`).",
        "1 hidden fix can be enabled with `metriclint fix --unsafe-fixes`.",
    ]
    # with --unsafe-fixes the unsafe fix is one `fix` would apply: it gets the mark too
    _, out, _ = run("check", "--output-format", "concise", "--unsafe-fixes")
    assert [line.split(": ", 1)[1][:9] for line in out.splitlines()[:2]] == ["KM101 [*]", "KM101 [*]"]
    # `text`, the old name, is the one-line format; METRICLINT_OUTPUT_FORMAT chooses, as RUFF_OUTPUT_FORMAT does
    assert run("check", "--output-format", "text") == run("check", "--output-format", "concise")
    assert run("check", env={"METRICLINT_OUTPUT_FORMAT": "concise"})[1] == run("check", "--output-format", "concise")[1]
    assert run("check", env={"METRICLINT_OUTPUT_FORMAT": "nonsense"})[0] == 2


def test_full_shows_a_notebook_cell_with_cell_line_numbers(project):
    cell = ["from tensorflow import keras\n", "model = keras.Sequential()\n", "%time model.fit(x, y, nb_epoch=3)"]
    book = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# T"]},
                      {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": cell}],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}
    (project / "train.py").unlink()
    (project / "nb.ipynb").write_text(json.dumps(book), encoding="utf-8")
    code, out, _ = run("check")
    assert code == 1
    assert out.splitlines()[:8] == [
        "KM101 [*] `Model.fit()` does not take `nb_epoch=` (TypeError)",
        " --> nb.ipynb:cell 2:3:23",
        "  |",
        "1 | from tensorflow import keras",
        "2 | model = keras.Sequential()",
        "3 | %time model.fit(x, y, nb_epoch=3)",  # the cell as Jupyter shows it, magic included
        "  |                       ^^^^^^^^",
        "  |",
    ]


def test_full_frame_shows_tabs_as_spaces_and_no_control_characters(project):
    (project / "train.py").write_text(
        "from tensorflow import keras\nmodel = keras.Sequential()\nif 1:\n\tmodel.fit(x, y, nb_epoch=3)  # \x1b[31mred\n",
        encoding="utf-8")
    _, out, _ = run("check", "--no-cache")
    assert "4 |     model.fit(x, y, nb_epoch=3)  # \u241b[31mred" in out.splitlines()
    assert "  |                     ^^^^^^^^" in out.splitlines()
    assert "\x1b" not in out


def test_full_without_the_text_shows_no_frame(project):
    (project / "train.py").write_bytes(b"from tensorflow import keras\n# \xff\xfe\n")
    code, out, _ = run("check")
    assert code == 1
    head, arrow, blank = out.splitlines()[:3]
    assert head.startswith("E902 ") and arrow == " --> train.py:1:1" and blank == ""


# --- colour ---------------------------------------------------------------------------------------
def test_no_colour_in_a_pipe_unless_asked(project):
    for fmt in ("full", "concise"):
        _, out, _ = run("check", "--output-format", fmt)
        assert not ANSI.search(out)
        _, coloured, _ = run("check", "--output-format", fmt, "--color", "always")
        assert ANSI.search(coloured) and ANSI.sub("", coloured) == out
        assert run("check", "--output-format", fmt, env={"FORCE_COLOR": "1"})[1] == coloured
        assert run("check", "--output-format", fmt, "--color", "never", env={"FORCE_COLOR": "1"})[1] == out
    assert "\x1b[31m\x1b[1mKM101\x1b[0m \x1b[36m[*]\x1b[0m" in run("check", "--color", "always")[1]
    # before the command too, as ruff's global options
    assert ANSI.search(run("--color", "always", "check")[1])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_in_a_terminal_but_not_with_no_color_or_in_ci():
    terminal, pipe = _Terminal(), io.StringIO()
    assert use_color(None, terminal, {}) and use_color("auto", terminal, {})
    assert not use_color(None, pipe, {})
    assert not use_color(None, terminal, {"NO_COLOR": "1"})
    assert not use_color(None, terminal, {"CI": "true"})
    assert use_color(None, pipe, {"FORCE_COLOR": "1"}) and not use_color(None, pipe, {"FORCE_COLOR": ""})
    assert use_color("always", pipe, {"NO_COLOR": "1"}) and not use_color("never", terminal, {"FORCE_COLOR": "1"})


def run_in_terminal(cwd: Path, *args: str, env: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
    """Exit code and what a terminal shows (stdout and stderr as they interleave) of this tree's
    metriclint run with both streams on a pseudo-terminal, as a user at a shell runs it."""
    pty = pytest.importorskip("pty")  # POSIX only
    environ = tree_env()
    for key in ("METRICLINT_OUTPUT_FORMAT", "NO_COLOR", "FORCE_COLOR", "CI"):
        environ.pop(key, None)
    environ.update(env or {})
    master, slave = pty.openpty()
    try:
        child = subprocess.Popen(metriclint_command(*args), cwd=cwd, env=environ,
                                 stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    finally:
        os.close(slave)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end of the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    code = child.wait(timeout=300)
    # the terminal turns each "\n" into "\r\n"; the progress bar's "\r" stands alone
    return code, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
def test_colour_in_a_real_terminal_unless_no_color_ci_or_never(project):
    _, plain, _ = run("check", "--output-format", "concise")
    for fmt in ("concise", "full"):
        code, shown = run_in_terminal(project, "check", "--output-format", fmt, "--no-cache")
        assert code == 1 and ANSI.search(shown), shown  # a terminal gets colour by default
        assert ANSI.sub("", shown) == run("check", "--output-format", fmt)[1]  # and the same text
        assert run_in_terminal(project, "check", "--output-format", fmt, "--color", "auto")[1] == shown
        assert run("check", "--output-format", fmt, "--color", "auto")[1] == ANSI.sub("", shown)  # a pipe: none
    for env, args in (({"NO_COLOR": "1"}, ()), ({"CI": "true"}, ()), ({}, ("--color", "never")),
                      ({"FORCE_COLOR": "1"}, ("--color", "never"))):
        code, shown = run_in_terminal(project, "check", "--output-format", "concise", "--no-cache", *args, env=env)
        assert (code, shown) == (1, plain), (env, args)


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
def test_progress_bar_in_a_terminal_counts_to_the_total_then_leaves_only_the_report(project):
    for index in range(199):
        (project / f"m{index:03}.py").write_text("x = 1\n", encoding="utf-8")
    _, report, _ = run("check", "--output-format", "concise", "--no-cache")
    assert report.startswith("train.py:4:17: KM101") and report.count("\n") == 4
    for cache in ("written", "read"):  # a cold run that fills the cache, then one answered from it
        code, shown = run_in_terminal(project, "check", "--output-format", "concise", "-j", "1")
        assert code == 1
        bar, erase, rest = shown.rpartition("\r\x1b[2K")
        assert erase and ANSI.sub("", rest) == report, (cache, shown[-600:])  # nothing of the bar is left
        frames = bar.split("\r\x1b[2K")
        assert frames[0] == "" and "\n" not in bar, cache  # drawn in place, on one line
        assert frames[-1] == "Checking  [" + "#" * 30 + "]  200/200", cache  # ends at the total
        counts = [int(frame.rsplit(" ", 1)[1].split("/")[0]) for frame in frames[1:]]
        assert counts == sorted(counts) and counts[0] == 0, cache
    # with --quiet, or with fewer than 200 files, no bar at all
    code, shown = run_in_terminal(project, "check", "--output-format", "concise", "-q")
    assert "Checking" not in shown and "\x1b[2K" not in shown
    (project / "m000.py").unlink()
    code, shown = run_in_terminal(project, "check", "--output-format", "concise")
    assert "Checking" not in shown and "\x1b[2K" not in shown and ANSI.sub("", shown) == report


# --- ruff's spellings -----------------------------------------------------------------------------
def test_check_fix_is_fix(project, tmp_path_factory):
    code, out, err = run("check", "--fix", "--output-format", "concise")
    assert code == 1, err
    assert (project / "train.py").read_text(encoding="utf-8") == FIT.replace("nb_epoch=3", "epochs=3")
    assert out.splitlines()[-2:] == ["Found 2 errors (1 fixed, 1 remaining).",
                                     "1 hidden fix can be enabled with `--unsafe-fixes`."]
    code, out, _ = run("check", "--fix", "--unsafe-fixes", "--output-format", "concise")
    assert code == 0 and out == "Found 1 error (1 fixed, 0 remaining).\n"
    assert "validation_metrics" not in (project / "train.py").read_text(encoding="utf-8")


def test_check_diff_is_fix_diff(project):
    code, out, err = run("check", "--diff")
    assert code == 1
    assert "-model.fit(x, y, nb_epoch=3)\n+model.fit(x, y, epochs=3)\n" in out
    assert err == "Would fix 1 error in 1 file.\n"
    assert (project / "train.py").read_text(encoding="utf-8") == FIT  # nothing written
    assert run("check", "--diff", "-q")[2] == ""


def test_check_add_noqa_with_fix_is_refused(project):
    code, _, err = run("check", "--add-noqa", "--fix")
    assert code == 2 and "cannot be combined" in err


def test_quiet_prints_the_findings_and_nothing_else(project):
    code, out, err = run("check", "-q", "--output-format", "concise")
    assert code == 1 and err == ""
    assert [line.split(":")[0] for line in out.splitlines()] == ["train.py", "train.py"]
    assert run("-q", "check", "--output-format", "concise") == (code, out, err)
    assert run("check", "--quiet") == (1, FULL.split("Found ")[0], "")
    (project / "train.py").write_text("x = 1\n", encoding="utf-8")
    assert run("check", "--quiet") == (0, "", "")  # no "All checks passed!"


def test_silent_prints_nothing_but_the_exit_code_says_it(project):
    assert run("check", "-s") == (1, "", "")
    assert run("check", "--silent", "--output-format", "json") == (1, "", "")
    assert run("-s", "check", "nope.py")[0] == 2  # an error is still an error
    assert "nope.py" in run("-s", "check", "nope.py")[2]


def test_exit_zero_short_option(project):
    code, out, _ = run("check", "-e")
    assert code == 0 and out == FULL


def test_output_file_gets_the_report(project):
    code, out, err = run("check", "-o", "reports/out.json", "--output-format", "json")
    assert (code, out, err) == (1, "", "")
    report = json.loads((project / "reports" / "out.json").read_text(encoding="utf-8"))
    assert [d["location"]["row"] for d in report] == [4, 5]
    code, out, _ = run("check", "--output-file", "report.txt")
    assert out == "" and (project / "report.txt").read_text(encoding="utf-8") == FULL  # no colour in a file
    run("check", "-o", "report.txt", "--color", "always")
    assert ANSI.search((project / "report.txt").read_text(encoding="utf-8"))  # unless asked
    code, _, err = run("check", "-o", str(project / "train.py" / "x"))
    assert code == 2 and "cannot write the report" in err


def test_fix_stdin_with_an_output_file_keeps_stdout_for_the_code(project):
    code, out, err = run("fix", "-", "--stdin-filename", "train.py", "-o", "report.txt", "--output-format", "concise",
                         input=FIT.encode("utf-8"))
    assert out == FIT.replace("nb_epoch=3", "epochs=3") and err == ""
    assert (project / "report.txt").read_text(encoding="utf-8").startswith("train.py:5:17: KM101 ")


# --- no success after an error ----------------------------------------------------------------------
def test_missing_path_never_reads_as_success(project):
    (project / "train.py").write_text("x = 1\n", encoding="utf-8")
    for fmt in ("full", "concise"):
        code, out, err = run("check", "nope.py", "train.py", "--output-format", fmt)
        assert code == 2
        assert "All checks passed!" not in out + err
        assert err == "metriclint: error: nope.py: no such file or directory\n"
    assert run("check", "train.py")[1] == "All checks passed!\n"
    # findings in the paths that exist are still reported, with their summary
    (project / "bad.py").write_text(FIT, encoding="utf-8")
    code, out, _ = run("check", "nope.py", "bad.py", "--output-format", "concise")
    assert code == 2 and out.splitlines()[-2].startswith("Found 2 errors")


# --- progress bar -----------------------------------------------------------------------------------
def test_progress_bar_ends_at_the_total_and_erases_itself():
    stream = _Terminal()
    ticks = iter(range(1000))
    with ProgressBar(460, stream, clock=lambda: next(ticks) * 0.01) as advance:
        for _ in range(460):
            advance(1)
        last_line = stream.getvalue().rsplit("\r\x1b[2K", 1)[-1]
        assert last_line.endswith("460/460") and "[" + "#" * 30 + "]" in last_line
    assert stream.getvalue().endswith("\r\x1b[2K")  # nothing left above the results
    assert "\n" not in stream.getvalue()


def test_progress_bar_only_for_long_runs_in_a_terminal(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert wanted(200, _Terminal(), quiet=False)
    assert not wanted(199, _Terminal(), quiet=False)
    assert not wanted(500, io.StringIO(), quiet=False)
    assert not wanted(500, _Terminal(), quiet=True)
    monkeypatch.setenv("CI", "true")
    assert not wanted(500, _Terminal(), quiet=False)


@pytest.mark.parametrize("workers", [1, 2])
def test_run_jobs_counts_every_file_once(tmp_path, workers):
    from metriclint.runner import Job, run_jobs
    from metriclint.settings import Settings

    paths = []
    for index in range(40):
        path = tmp_path / f"m{index}.py"
        path.write_text(FIT if index % 2 else "x = 1\n", encoding="utf-8")
        paths.append(str(path))
    counted = []
    results = run_jobs([Job(p, Settings(target_keras="3")) for p in paths], workers, progress=counted.append)
    assert len(results) == 40 and sum(counted) == 40  # the last file counts too (the bar reaches 40/40)


# --- KM001 and one-off selections -------------------------------------------------------------------
def test_fix_with_a_one_off_ignore_keeps_the_noqa_baseline(project):
    baseline = FIT.replace("nb_epoch=3)", "nb_epoch=3)  # noqa: KM101")
    (project / "train.py").write_text(baseline.replace('["auc"])', '["auc"])  # noqa: KM101'), encoding="utf-8")
    assert run("check", "--output-format", "concise")[:2] == (0, "All checks passed!\n")
    before = (project / "train.py").read_text(encoding="utf-8")
    for args in (["--ignore", "KM101"], ["--select", "KM001,KM2"], ["--ignore", "KM1"]):
        code, out, _ = run("fix", *args, "--output-format", "concise")
        assert (project / "train.py").read_text(encoding="utf-8") == before, args
        assert "KM001" not in out
    assert run("check", "--output-format", "concise")[:2] == (0, "All checks passed!\n")


def test_km001_still_reports_a_noqa_for_a_rule_the_config_turns_off(project):
    (project / "metriclint.toml").write_text('target-keras = "3"\nignore = ["KM101"]\n', encoding="utf-8")
    (project / "train.py").write_text("x = 1  # noqa: KM101\n", encoding="utf-8")
    code, out, _ = run("check", "--output-format", "concise")
    assert code == 1 and out.splitlines()[0] == "train.py:1:8: KM001 [*] Unused `noqa` directive (non-enabled: `KM101`)"
    # and a code the command line turns back on is judged: here it suppresses nothing
    code, out, _ = run("check", "--extend-select", "KM101", "--output-format", "concise")
    assert out.splitlines()[0] == "train.py:1:8: KM001 [*] Unused `noqa` directive (unused: `KM101`)"


# --- the README shows what the tool prints ------------------------------------------------------------
README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_shows_the_real_full_and_concise_reports(project):
    blocks = re.findall(r"```text\n(.*?)```", README, re.S)
    full = next(b for b in blocks if b.startswith("KM101 [*]"))
    concise = next(b for b in blocks if b.startswith("train.py:4:17:"))
    assert run("check") == (1, full, "")
    assert run("check", "--output-format", "concise") == (1, concise, "")


def test_readme_shows_the_real_json_object(project):
    # the README's one JSON finding (its other JSON blocks are editor settings)
    (shown,) = [o for o in (json.loads(b) for b in re.findall(r"```json\n(.*?)```", README, re.S)) if "filename" in o]
    code, out, _ = run("check", "--output-format", "json")
    assert json.loads(out)[0] == shown
    # and its field table names every field
    table = README.split("| field | meaning |", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)?", table, re.M))
    assert {name for pair in named for name in pair if name} == set(shown)


def test_readme_says_to_make_a_virtual_environment_first():
    setup = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    assert "python3 -m venv .venv && . .venv/bin/activate" in setup and "PEP 668" in setup
    assert setup.index("python3 -m venv") < setup.index("```sh")
