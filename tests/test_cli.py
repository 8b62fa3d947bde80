"""The command line, end to end through click: output lines, summaries, exit codes, options.

Every test runs the real `metriclint` command in a fresh project directory (made the working
directory). The project has a `metriclint.toml` so nothing above the temporary directory leaks in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import pytest
from click.testing import CliRunner

from metriclint.cli import main
from metriclint.suppression import build_noqa_map, is_suppressed, parse_noqa
from tree import REPO, tree_env

FIT = """\
from tensorflow import keras
model = keras.Sequential()
model.compile(loss="mse", metrics=["mae"])
model.fit(x, y, nb_epoch=3)
"""
FIT_FIXED = FIT.replace("nb_epoch=3", "epochs=3")
NB_EPOCH = "KM101 [*] `Model.fit()` does not take `nb_epoch=` (TypeError)"
VALIDATION_METRICS = "KM101 `Model.fit()` does not take `validation_metrics=` (TypeError)"
UNSAFE = """\
from tensorflow import keras
model = keras.Sequential()
model.compile(loss="mse", metrics=["mae"])
model.fit(x, y, validation_metrics=["auc"])
"""
UNSAFE_FIXED = """\
from tensorflow import keras
model = keras.Sequential()
model.compile(loss="mse", metrics=["mae", "auc"])
model.fit(x, y)
"""
GENERATOR = "from tensorflow import keras\nmodel = keras.Model(i, o)\nmodel.fit_generator(gen, 10)\n"
CLEAN = "from tensorflow import keras\nmodel = keras.Sequential()\nmodel.fit(x, y, epochs=3)\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "metriclint.toml").write_text('target-keras = "3"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, input: Optional[bytes] = None) -> Tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def run_bytes(*args: str, input: Optional[bytes] = None) -> Tuple[int, bytes, str]:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout_bytes, result.stderr


def lines(text: str) -> List[str]:
    return text.splitlines()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- check: lines, summary, exit codes ------------------------------------------------------------
def test_check_prints_path_line_col_code_message_and_summary(project):
    write(project / "train.py", FIT)
    code, out, err = run("check", "train.py")
    assert code == 1
    assert lines(out) == [f"train.py:4:17: {NB_EPOCH}", "Found 1 error (1 fixable with `metriclint fix`)."]
    assert err == ""


def test_clean_file_passes_with_exit_zero(project):
    write(project / "train.py", CLEAN)
    code, out, err = run("check", "train.py")
    assert (code, lines(out), err) == (0, ["All checks passed!"], "")


def test_default_path_is_the_current_directory_recursively(project):
    write(project / "pkg" / "sub" / "deep.py", FIT)
    write(project / "top.py", CLEAN)
    code, out, _ = run("check")
    assert code == 1
    assert lines(out)[0] == f"pkg/sub/deep.py:4:17: {NB_EPOCH}"
    assert len(lines(out)) == 2


def test_pyi_files_are_checked_and_other_suffixes_are_not(project):
    write(project / "stub.pyi", FIT)
    write(project / "notes.txt", FIT)
    write(project / "script", FIT)
    code, out, _ = run("check", ".")
    assert code == 1
    assert [line.split(":")[0] for line in lines(out)[:-1]] == ["stub.pyi"]


def test_explicitly_named_file_is_read_whatever_its_suffix(project):
    write(project / "script", FIT)
    code, out, _ = run("check", "script")
    assert code == 1
    assert lines(out)[0] == f"script:4:17: {NB_EPOCH}"


def test_summary_counts_several_errors_and_hidden_unsafe_fixes(project):
    write(project / "a.py", FIT)
    write(project / "b.py", UNSAFE)
    code, out, _ = run("check", ".")
    assert code == 1
    assert lines(out) == [
        f"a.py:4:17: {NB_EPOCH}",
        f"b.py:4:17: {VALIDATION_METRICS}",
        "Found 2 errors (1 fixable with `metriclint fix`).",
        "1 hidden fix can be enabled with `metriclint fix --unsafe-fixes`.",
    ]


def test_results_are_sorted_by_path_whatever_the_argument_order(project):
    write(project / "b.py", FIT)
    write(project / "a.py", FIT)
    write(project / "a" / "z.py", FIT)
    _, out, _ = run("check", "b.py", "a.py", "a")
    assert [line.split(":")[0] for line in lines(out)[:-1]] == ["a/z.py", "a.py", "b.py"]


def test_exit_zero_keeps_the_report(project):
    write(project / "train.py", FIT)
    code, out, _ = run("check", "--exit-zero", "train.py")
    assert code == 0
    assert lines(out)[0] == f"train.py:4:17: {NB_EPOCH}"


def test_statistics(project):
    write(project / "a.py", FIT)
    write(project / "b.py", FIT)
    code, out, _ = run("check", "--statistics", "--select", "KM101", ".")
    assert code == 1
    assert lines(out) == ["    2  KM101  unknown-model-keyword        [*] 2 fixable"]


def test_json_output(project):
    write(project / "train.py", FIT)
    code, out, _ = run("check", "--output-format", "json", "train.py")
    assert code == 1
    (item,) = json.loads(out)
    assert (item["filename"], item["code"], item["location"], item["end_location"]) == (
        "train.py", "KM101", {"row": 4, "column": 17}, {"row": 4, "column": 25},
    )
    assert item["fix"]["applicability"] == "safe"
    assert item["fix"]["edits"][0]["content"] == "epochs"


def test_bad_output_format_is_a_usage_error(project):
    write(project / "train.py", FIT)
    code, out, err = run("check", "--output-format", "xml", "train.py")
    assert code == 2 and out == ""
    assert "--output-format" in err


# --- rule selection ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options,reported",
    [
        ([], True),
        (["--select", "KM101"], True),
        (["--select", "KM1"], True),
        (["--select", "km1"], True),  # codes are not case-sensitive
        (["--select", "KM102,KM101"], True),  # comma-separated
        (["--select", "KM102", "--select", "KM101"], True),  # repeated
        (["--select", "KM102"], False),
        (["--ignore", "KM101"], False),
        (["--ignore", "KM1"], False),
        (["--ignore", "KM102, KM101"], False),
        (["--select", "KM102", "--extend-select", "KM101"], True),
        (["--select", "KM1", "--ignore", "KM101"], False),
        (["--select", "KM101", "--ignore", "KM1"], True),  # the more specific selector wins
        (["--select", "KM101", "--ignore", "KM101"], False),  # on a tie, ignore wins (ruff)
        (["--select", "ALL"], True),
    ],
)
def test_select_ignore_extend_select(project, options, reported):
    write(project / "train.py", FIT)
    code, out, err = run("check", *options, "train.py")
    assert err == ""
    if reported:
        assert code == 1 and lines(out)[0] == f"train.py:4:17: {NB_EPOCH}"
    else:
        assert code == 0 and lines(out) == ["All checks passed!"]


@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select"])
def test_unknown_selector_is_a_usage_error_naming_it(project, option):
    write(project / "train.py", FIT)
    code, out, err = run("check", option, "KM101,XY9", "train.py")
    assert code == 2 and out == ""
    assert err.strip() == f"metriclint: error: {option}: unknown rule selector `XY9` (see `metriclint rules`)"


# --- target flavour ---------------------------------------------------------------------------------
def test_target_keras_option(project):
    write(project / "gen.py", GENERATOR)
    code3, out3, _ = run("check", "--target-keras", "3", "gen.py")
    code2, out2, _ = run("check", "--target-keras", "2", "gen.py")
    assert code3 == 1 and lines(out3)[0].startswith("gen.py:3:7: KM101 [*] `Model.fit_generator()` was removed in Keras 3")
    assert (code2, lines(out2)) == (0, ["All checks passed!"])


def test_target_keras_bad_value(project):
    code, _, err = run("check", "--target-keras", "4", ".")
    assert code == 2 and "--target-keras" in err


# --- missing paths and errors -------------------------------------------------------------------------
def test_missing_path_exits_2_but_other_paths_are_checked(project):
    write(project / "train.py", FIT)
    code, out, err = run("check", "missing.py", "train.py", "gone/")
    assert code == 2
    assert lines(out) == [f"train.py:4:17: {NB_EPOCH}", "Found 1 error (1 fixable with `metriclint fix`)."]
    assert lines(err) == [
        "metriclint: error: missing.py: no such file or directory",
        "metriclint: error: gone/: no such file or directory",
    ]


def test_missing_path_with_exit_zero_is_still_an_error(project):
    code, _, err = run("check", "--exit-zero", "missing.py")
    assert code == 2 and "missing.py" in err


def test_no_python_files_warns(project):
    (project / "empty").mkdir()
    code, out, err = run("check", "empty")
    assert code == 0 and lines(out) == ["All checks passed!"]
    assert "no Python files found" in err


def test_internal_error_in_one_file_exits_2_and_the_run_goes_on(project, monkeypatch):
    import metriclint.runner as runner

    real = runner.lint_text

    def crashing(text, path, settings, project=None):
        if path.endswith("crash.py"):
            raise RuntimeError("boom")
        return real(text, path, settings, project)

    monkeypatch.setattr(runner, "lint_text", crashing)
    write(project / "crash.py", FIT)
    write(project / "train.py", FIT)
    code, out, _ = run("check", "-j", "1", ".")
    assert code == 2
    out_lines = lines(out)
    assert out_lines[0].startswith("crash.py:1:1: E000 internal error while processing this file")
    assert out_lines[1] == f"train.py:4:17: {NB_EPOCH}"


def test_unexpected_crash_outside_files_exits_2_without_traceback(project, monkeypatch):
    import metriclint.files as files

    def boom(*args, **kwargs):
        raise RuntimeError("discovery exploded")

    monkeypatch.setattr(files, "discover", boom)
    code, out, err = run("check", ".")
    assert code == 2 and out == ""
    assert err.startswith("metriclint: error: internal error: RuntimeError: discovery exploded")
    assert "Traceback" not in err


def test_many_files_in_worker_processes_keep_the_order(project):
    for index in range(20):
        write(project / f"m{index:02d}.py", FIT if index % 3 else CLEAN)
    serial = run("check", "-j", "1", ".")
    parallel = run("check", "-j", "2", ".")
    assert serial == parallel
    assert serial[0] == 1
    assert len(lines(serial[1])) == 13 + 1  # 13 of the 20 have a finding, then the summary


# --- fix ---------------------------------------------------------------------------------------------
def test_fix_writes_the_safe_fix(project):
    path = write(project / "train.py", FIT)
    code, out, err = run("fix", "train.py")
    assert (code, lines(out), err) == (0, ["Found 1 error (1 fixed, 0 remaining)."], "")
    assert path.read_text(encoding="utf-8") == FIT_FIXED


def test_fix_leaves_unsafe_fixes_without_the_option(project):
    path = write(project / "train.py", UNSAFE)
    code, out, _ = run("fix", "train.py")
    assert code == 1
    assert lines(out) == [
        f"train.py:4:17: {VALIDATION_METRICS}",
        "Found 1 error (0 fixed, 1 remaining).",
        "1 hidden fix can be enabled with `--unsafe-fixes`.",
    ]
    assert path.read_text(encoding="utf-8") == UNSAFE


def test_fix_with_unsafe_fixes(project):
    path = write(project / "train.py", UNSAFE)
    code, out, _ = run("fix", "--unsafe-fixes", "train.py")
    assert (code, lines(out)) == (0, ["Found 1 error (1 fixed, 0 remaining).", ])
    assert path.read_text(encoding="utf-8") == UNSAFE_FIXED


def test_fix_reports_what_remains(project):
    path = write(project / "train.py", FIT + "model.fit(x, y, epoch=3)\n")
    code, out, _ = run("fix", "train.py")
    assert code == 1
    assert lines(out)[-1] == "Found 2 errors (1 fixed, 1 remaining)."
    assert lines(out)[0].startswith("train.py:5:17: KM101 `Model.fit()` does not take `epoch=`")
    assert path.read_text(encoding="utf-8") == FIT_FIXED + "model.fit(x, y, epoch=3)\n"


def test_fix_diff_prints_a_diff_writes_nothing_and_exits_1(project):
    path = write(project / "train.py", FIT)
    before = path.stat()
    code, out, err = run("fix", "--diff", "train.py")
    assert code == 1
    assert out == (
        "--- a/train.py\n"
        "+++ b/train.py\n"
        "@@ -1,4 +1,4 @@\n"
        " from tensorflow import keras\n"
        " model = keras.Sequential()\n"
        ' model.compile(loss="mse", metrics=["mae"])\n'
        "-model.fit(x, y, nb_epoch=3)\n"
        "+model.fit(x, y, epochs=3)\n"
    )
    assert err.strip() == "Would fix 1 error in 1 file."
    after = path.stat()
    assert path.read_text(encoding="utf-8") == FIT
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)


def test_fix_diff_without_changes_exits_0_even_with_unfixable_findings(project):
    # As ruff: with --diff the exit code says whether anything would change.
    write(project / "train.py", UNSAFE)
    code, out, err = run("fix", "--diff", "train.py")
    assert (code, out) == (0, "")
    assert err.strip() == "No errors would be fixed."


def test_fix_diff_with_exit_zero(project):
    write(project / "train.py", FIT)
    code, out, _ = run("fix", "--diff", "--exit-zero", "train.py")
    assert code == 0 and "+model.fit(x, y, epochs=3)" in out


def test_fix_diff_marks_a_missing_final_newline(project):
    write(project / "train.py", FIT.rstrip("\n"))
    code, out, _ = run("fix", "--diff", "train.py")
    assert code == 1
    assert out.endswith("-model.fit(x, y, nb_epoch=3)\n\\ No newline at end of file\n"
                        "+model.fit(x, y, epochs=3)\n\\ No newline at end of file\n")


# --- stdin ---------------------------------------------------------------------------------------------
def test_check_stdin_uses_the_stdin_filename(project):
    code, out, _ = run("check", "-", "--stdin-filename", "pkg/train.py", input=FIT.encode())
    assert code == 1
    assert lines(out)[0] == f"pkg/train.py:4:17: {NB_EPOCH}"


def test_check_stdin_without_a_name_is_dash(project):
    code, out, _ = run("check", "-", input=FIT.encode())
    assert code == 1
    assert lines(out)[0] == f"-:4:17: {NB_EPOCH}"


def test_stdin_filename_alone_reads_stdin(project):
    # As ruff: `--stdin-filename` without paths means stdin, not `.`.
    write(project / "other.py", FIT)
    code, out, _ = run("check", "--stdin-filename", "s.py", input=CLEAN.encode())
    assert (code, lines(out)) == (0, ["All checks passed!"])


def test_fix_stdin_writes_the_fixed_code_to_stdout_and_the_report_to_stderr(project):
    code, out, err = run_bytes("fix", "-", "--stdin-filename", "train.py", input=FIT.encode())
    assert code == 0
    assert out == FIT_FIXED.encode()
    assert lines(err) == ["Found 1 error (1 fixed, 0 remaining)."]


def test_fix_stdin_keeps_the_input_encoding(project):
    source = ("# -*- coding: latin-1 -*-\n" + FIT + 'name = "café"\n').encode("latin-1")
    code, out, _ = run_bytes("fix", "-", input=source)
    assert code == 0
    assert out == source.replace(b"nb_epoch=3", b"epochs=3")


def test_fix_stdin_echoes_input_it_cannot_read(project):
    # An editor piping its buffer through `metriclint fix -` must never get an empty buffer back.
    source = b"from tensorflow import keras\nx = '\xff'\n"
    code, out, err = run_bytes("fix", "-", "--stdin-filename", "t.py", input=source)
    assert code == 1
    assert out == source
    assert "t.py:1:1: E902 cannot decode as utf-8: invalid byte 0xff on line 2" in err


def test_fix_stdin_echoes_unparsable_input(project):
    source = b"from tensorflow import keras\nmodel.fit(x, nb_epoch=3\n"
    code, out, err = run_bytes("fix", "-", input=source)
    assert code == 1 and out == source
    assert "-:" in err and "E999" in err


def test_fix_stdin_diff(project):
    code, out, _ = run("fix", "-", "--diff", "--stdin-filename", "t.py", input=FIT.encode())
    assert code == 1
    assert "-model.fit(x, y, nb_epoch=3)\n+model.fit(x, y, epochs=3)\n" in out


def test_stdin_mixed_with_paths_is_a_usage_error(project):
    write(project / "a.py", FIT)
    code, out, err = run("check", "-", "a.py", input=FIT.encode())
    assert code == 2 and out == ""
    assert "`-` (stdin) cannot be mixed with other paths" in err


# --- rule, rules, version ------------------------------------------------------------------------------
def test_rule_prints_the_page(project):
    code, out, _ = run("rule", "KM101")
    assert code == 0 and lines(out)[0] == "# KM101: unknown-model-keyword"
    assert run("rule", "km101")[1] == out


def test_rule_pages_exist_for_tool_codes(project):
    for code_name in ("E902", "E999"):
        code, out, _ = run("rule", code_name)
        assert code == 0 and out.startswith(f"# {code_name}")


def test_unknown_rule_exits_2(project):
    code, out, err = run("rule", "KM999")
    assert (code, out) == (2, "")
    assert err.strip() == "metriclint: error: unknown rule code `KM999` (see `metriclint rules`)"


def test_rules_lists_every_rule(project):
    code, out, _ = run("rules")
    assert code == 0
    (km101,) = [line for line in lines(out) if line.startswith("KM101 ")]
    assert "unknown-model-keyword" in km101 and "fix: safe" in km101
    assert any(line.startswith("E999 ") for line in lines(out))
    code, out, _ = run("rules", "--output-format", "json")
    rows = {row["code"]: row for row in json.loads(out)}
    assert rows["KM101"]["name"] == "unknown-model-keyword" and rows["KM101"]["fix"] == "safe"


def test_python_dash_m_metriclint(project):
    write(project / "train.py", FIT)
    env = tree_env()  # `python -m` itself, as users type it; the tree's copy first on the path
    where = subprocess.run([sys.executable, "-c", "import metriclint; print(metriclint.__file__)"],
                           capture_output=True, text=True, env=env, cwd=project)
    assert Path(where.stdout.strip()).resolve() == REPO / "metriclint" / "__init__.py", where.stderr
    version = subprocess.run([sys.executable, "-m", "metriclint", "--version"], capture_output=True, text=True, env=env)
    assert version.returncode == 0 and "0.1.0" in version.stdout
    checked = subprocess.run(
        [sys.executable, "-m", "metriclint", "check", "--select", "KM101", "train.py"],
        capture_output=True, text=True, env=env, cwd=project,
    )
    assert checked.returncode == 1
    assert checked.stdout.splitlines()[0] == f"train.py:4:17: {NB_EPOCH}"


def test_unknown_command_and_option_exit_2(project):
    assert run("lint")[0] == 2
    assert run("check", "--no-such-option")[0] == 2


# --- noqa ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "comment,suppressed",
    [
        ("  # noqa", True),
        ("  #noqa", True),
        ("  # NOQA", True),
        ("  # noqa: KM101", True),
        ("  # noqa:KM101", True),
        ("  # noqa: KM1", True),
        ("  # noqa: KM2, KM101", True),
        ("  # noqa: KM2 KM101", True),
        ("  # noqa: KM101 -- a deliberate Keras 1 call", True),
        ("  # type: ignore  # noqa: KM101", True),
        ("  # noqa: KM102", False),
        ("  # noqa: KM2", False),
        ("  # noqa:", False),  # a colon without codes is not a directive (ruff)
        ("  # noqa: see the docs", False),
        ("  # noqaxyz", False),
        ("  # this is not noqa", False),
    ],
)
def test_noqa_on_the_diagnostic_line(project, comment, suppressed):
    write(project / "train.py", FIT.replace("nb_epoch=3)\n", "nb_epoch=3)" + comment + "\n"))
    code, out, _ = run("check", "--ignore", "KM001", "train.py")  # KM001 (unused codes): tests/test_adoption.py
    if suppressed:
        assert (code, lines(out)) == (0, ["All checks passed!"])
    else:
        assert code == 1 and lines(out)[0] == f"train.py:4:17: {NB_EPOCH}"


def test_noqa_on_another_line_does_not_suppress(project):
    source = FIT.replace("model.fit(x, y, nb_epoch=3)\n", "model.fit(  # noqa: KM101\n    x, y, nb_epoch=3)\n")
    write(project / "train.py", source)
    code, out, _ = run("check", "--ignore", "KM001", "train.py")
    assert code == 1 and lines(out)[0].startswith("train.py:5:11: KM101")


def test_noqa_suppresses_only_its_line(project):
    source = FIT + "model.fit(x, y, nb_epoch=4)  # noqa\n"
    write(project / "train.py", source)
    code, out, _ = run("check", "train.py")
    assert code == 1
    assert lines(out) == [f"train.py:4:17: {NB_EPOCH}", "Found 1 error (1 fixable with `metriclint fix`)."]


def test_fix_skips_suppressed_diagnostics(project):
    source = FIT.replace("nb_epoch=3)", "nb_epoch=3)  # noqa: KM101")
    path = write(project / "train.py", source)
    code, _, _ = run("fix", "train.py")
    assert code == 0 and path.read_text(encoding="utf-8") == source


def test_parse_noqa_units():
    assert parse_noqa("# noqa") == frozenset()
    assert parse_noqa("# noqa: km101,KM2") == {"KM101", "KM2"}
    assert parse_noqa("# noqa: KM101 because KM2 is fine") == {"KM101"}
    assert parse_noqa("# noqa:") is None
    assert parse_noqa("# noqa: because") is None
    assert parse_noqa("# unrelated") is None
    noqa = build_noqa_map([(3, "# noqa: KM1"), (3, "# noqa: E9"), (5, "# noqa"), (5, "# noqa: KM2")])
    assert is_suppressed(noqa, 3, "KM101") and is_suppressed(noqa, 3, "E999")
    assert not is_suppressed(noqa, 3, "KM201") and not is_suppressed(noqa, 4, "KM101")
    assert is_suppressed(noqa, 5, "KM201")  # a bare noqa on the line covers everything


# --- show-settings -------------------------------------------------------------------------------------
def test_show_settings(project):
    (project / "metriclint.toml").write_text('target-keras = "2"\nignore = ["KM102"]\n', encoding="utf-8")
    code, out, _ = run("check", "--show-settings", "--extend-select", "KM101", ".")
    assert code == 0
    text = lines(out)
    assert f"config file:    {project / 'metriclint.toml'}" in text
    assert f"target keras:   2 (`target-keras` in {project / 'metriclint.toml'})" in text
    assert "ignore:         KM102" in text
    assert "command line:   --extend-select KM101" in text
    enabled = next(line for line in text if line.startswith("enabled rules:"))
    assert "KM101" in enabled and "KM102" not in enabled
