"""Configuration: `[tool.metriclint]` in pyproject.toml or metriclint.toml, nearest to each file;
bad configs are clear errors (exit 2); command-line options layered on top as in ruff."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import pytest
from click.testing import CliRunner

from metriclint.cli import main
from metriclint.rules import known_codes
from metriclint.settings import (
    DEFAULT_EXCLUDE,
    ConfigError,
    Overrides,
    Settings,
    SettingsResolver,
    _resolve_selection,
)

FIT = """\
from tensorflow import keras
model = keras.Sequential()
model.compile(loss="mse", metrics=["mae"])
model.fit(x, y, nb_epoch=3)
"""
GENERATOR = "from tensorflow import keras\nmodel = keras.Model(i, o)\nmodel.fit_generator(gen, 10)\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project (the working directory), with a `.git` so nothing above it is inferred."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    return root


def run(*args: str, input: Optional[bytes] = None) -> Tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def reported(out: str) -> List[str]:
    """The files with a diagnostic, in output order."""
    return [line.split(":")[0] for line in out.splitlines() if ": KM" in line or ": E9" in line]


# --- where the config comes from ---------------------------------------------------------------------
def test_pyproject_tool_metriclint(project):
    write(project / "pyproject.toml", '[project]\nname = "x"\n\n[tool.metriclint]\nignore = ["KM101"]\n')
    write(project / "train.py", FIT)
    assert run("check", ".")[:2] == (0, "All checks passed!\n")


def test_metriclint_toml_with_top_level_keys(project):
    write(project / "metriclint.toml", 'ignore = ["KM101"]\n')
    write(project / "train.py", FIT)
    assert run("check", ".")[0] == 0


def test_metriclint_toml_written_as_a_tool_section(project):
    write(project / "metriclint.toml", '[tool.metriclint]\nignore = ["KM101"]\n')
    write(project / "train.py", FIT)
    assert run("check", ".")[0] == 0


def test_metriclint_toml_wins_over_pyproject_in_the_same_directory(project):
    # As ruff: the tool's own file first (ruff.toml before pyproject.toml).
    write(project / "pyproject.toml", '[tool.metriclint]\nignore = ["KM101"]\n')
    write(project / "metriclint.toml", 'select = ["KM101"]\n')
    write(project / "train.py", FIT)
    code, out, _ = run("check", ".")
    assert code == 1 and reported(out) == ["train.py"]


def test_nearest_config_from_each_file_upward(project):
    write(project / "pyproject.toml", '[tool.metriclint]\nignore = ["KM101"]\n')
    write(project / "quiet.py", FIT)
    write(project / "loud" / "metriclint.toml", 'select = ["KM1"]\n')
    write(project / "loud" / "deeper" / "train.py", FIT)
    write(project / "quiet_too" / "train.py", FIT)
    code, out, _ = run("check", ".")
    assert code == 1
    assert reported(out) == ["loud/deeper/train.py"]


def test_pyproject_without_our_table_is_skipped_for_the_one_above(project):
    write(project / "pyproject.toml", '[tool.metriclint]\nignore = ["KM101"]\n')
    write(project / "pkg" / "pyproject.toml", '[project]\nname = "pkg"\n[tool.black]\nline-length = 100\n')
    write(project / "pkg" / "train.py", FIT)
    assert run("check", ".")[0] == 0


def test_config_of_the_file_not_of_the_working_directory(project, monkeypatch):
    write(project / "a" / "metriclint.toml", 'ignore = ["KM101"]\n')
    write(project / "a" / "train.py", FIT)
    write(project / "b" / "train.py", FIT)
    monkeypatch.chdir(project / "b")
    code, out, _ = run("check", "../a/train.py", "train.py")
    assert code == 1 and reported(out) == ["train.py"]


def test_explicit_config_is_used_for_every_file(project):
    write(project / "metriclint.toml", 'ignore = ["KM101"]\n')
    write(project / "strict.toml", 'select = ["KM101"]\n')
    write(project / "train.py", FIT)
    assert run("check", ".")[0] == 0
    code, out, _ = run("check", "--config", "strict.toml", ".")
    assert code == 1 and reported(out) == ["train.py"]


def test_explicit_config_missing_or_a_directory(project):
    write(project / "train.py", FIT)
    code, out, err = run("check", "--config", "nope.toml", ".")
    assert (code, out) == (2, "") and "config file not found: nope.toml" in err
    (project / "confdir").mkdir()
    code, out, err = run("check", "--config", "confdir", ".")
    assert code == 2 and out == "" and "confdir" in err


def test_config_edits_between_runs_in_one_process_are_seen(project):
    # No process-wide cache: an editor integration or a test suite runs the CLI many times.
    write(project / "train.py", FIT)
    write(project / "metriclint.toml", 'ignore = ["KM101"]\n')
    assert run("check", ".")[0] == 0
    write(project / "metriclint.toml", 'select = ["KM101"]\n')
    assert run("check", ".")[0] == 1
    (project / "metriclint.toml").unlink()
    write(project / "pyproject.toml", '[tool.metriclint]\nignore = ["KM1"]\n')
    assert run("check", ".")[0] == 0


def test_stdin_filename_picks_the_config_and_per_file_ignores(project):
    write(project / "metriclint.toml", '[per-file-ignores]\n"legacy/*.py" = ["KM101"]\n')
    assert run("check", "-", "--stdin-filename", "legacy/old.py", input=FIT.encode())[0] == 0
    assert run("check", "-", "--stdin-filename", "new/old.py", input=FIT.encode())[0] == 1
    write(project / "sub" / "metriclint.toml", 'ignore = ["KM101"]\n')
    assert run("check", "-", "--stdin-filename", "sub/x.py", input=FIT.encode())[0] == 0


# --- select / ignore / per-file-ignores ----------------------------------------------------------------
def test_per_file_ignores_relative_to_the_config_directory(project, monkeypatch):
    write(project / "pyproject.toml",
          '[tool.metriclint.per-file-ignores]\n"tests/*.py" = ["KM1"]\n"__init__.py" = ["KM101"]\n')
    write(project / "tests" / "test_x.py", FIT)
    write(project / "pkg" / "__init__.py", FIT)
    write(project / "pkg" / "train.py", FIT)
    write(project / "other" / "tests" / "test_y.py", FIT)  # `tests/*.py` is anchored at the config
    code, out, _ = run("check", ".")
    assert reported(out) == ["other/tests/test_y.py", "pkg/train.py"]
    monkeypatch.chdir(project / "pkg")  # the working directory does not move the patterns
    code, out, _ = run("check", "..")
    assert reported(out) == ["../other/tests/test_y.py", "../pkg/train.py"]


@pytest.mark.parametrize(
    "config,options,on",
    [
        # ruff's layering: the command line is a later layer; a layer with `select` starts over
        ('ignore = ["KM101"]', ["--select", "KM101"], True),
        ('ignore = ["KM101"]', ["--select", "KM1"], True),
        ('ignore = ["KM101"]', ["--extend-select", "KM101"], True),
        ('select = ["KM101"]', ["--ignore", "KM1"], False),
        ('select = ["KM101"]', ["--ignore", "KM101"], False),
        ('select = ["KM102"]', [], False),
        ('select = ["KM102"]', ["--extend-select", "KM101"], True),
        ('select = ["KM102"]\nextend-select = ["KM101"]', [], True),
        ('select = ["KM102"]\nextend-select = ["KM101"]', ["--select", "KM102"], False),
        ('ignore = ["KM1"]\nextend-select = ["KM101"]', [], True),  # the more specific one wins
        ('select = ["KM101"]\nignore = ["KM1"]', [], True),
        ('select = ["KM1"]\nignore = ["KM101"]', [], False),
        ('select = ["KM101"]\nignore = ["KM101"]', [], False),  # a tie: ignore wins
        ('select = []', [], False),
        ('select = ["ALL"]\nignore = ["KM102"]', [], True),
    ],
)
def test_selection_layers(project, config, options, on):
    write(project / "metriclint.toml", config + "\n")
    write(project / "train.py", FIT)
    code, out, err = run("check", *options, ".")
    assert err == ""
    assert (code, reported(out)) == ((1, ["train.py"]) if on else (0, []))


def test_resolve_selection_units():
    codes = frozenset({"KM101", "KM102", "KM201"})
    default = (("KM",), (), ())
    assert _resolve_selection(codes, (default,)) == codes
    assert _resolve_selection(codes, (default, (None, (), ("KM1",)))) == {"KM201"}
    assert _resolve_selection(codes, (default, (("KM101",), (), ()))) == {"KM101"}
    assert _resolve_selection(codes, ((("KM",), (), ("KM1",)), (None, ("KM102",), ()))) == {"KM102", "KM201"}
    # `select = []` with an ignore: the ignore carries over to the next layer (ruff)
    assert _resolve_selection(codes, (((), (), ("KM102",)), (None, ("KM1",), ()))) == {"KM101"}
    assert Settings(select=("KM1",), ignore=("KM102",)).enabled_codes(codes) == {"KM101"}
    assert Settings(select=("KM1",)).is_enabled("KM101") and not Settings(select=("KM1",)).is_enabled("KM201")


# --- exclude -------------------------------------------------------------------------------------------
def test_default_excludes(project):
    for folder in (".git", ".venv", "venv", "build", "dist", "node_modules", ".tox", "site-packages"):
        write(project / folder / "train.py", FIT)
    write(project / "src" / "build" / "train.py", FIT)  # `build` anywhere
    write(project / "src" / "train.py", FIT)
    code, out, _ = run("check", "--select", "KM101", ".")
    assert reported(out) == ["src/train.py"]
    assert "build" in DEFAULT_EXCLUDE and ".venv" in DEFAULT_EXCLUDE


def test_extend_exclude_keeps_the_defaults(project):
    write(project / "metriclint.toml", 'extend-exclude = ["generated", "*_pb2.py"]\n')
    for name in ("build/a.py", "generated/b.py", "pkg/c_pb2.py", "pkg/d.py"):
        write(project / name, FIT)
    assert reported(run("check", ".")[1]) == ["pkg/d.py"]


def test_exclude_replaces_the_defaults(project):
    # As ruff: `exclude` is the whole list; `extend-exclude` is what people usually want.
    write(project / "metriclint.toml", 'exclude = ["generated"]\n')
    for name in ("build/a.py", "generated/b.py", "pkg/d.py"):
        write(project / name, FIT)
    assert reported(run("check", ".")[1]) == ["build/a.py", "pkg/d.py"]


def test_exclude_patterns_are_relative_to_the_config(project):
    write(project / "metriclint.toml", 'extend-exclude = ["/pkg/skip.py", "docs/"]\n')
    for name in ("pkg/skip.py", "other/pkg/skip.py", "docs/a.py", "pkg/docs/b.py", "pkg/keep.py"):
        write(project / name, FIT)
    assert reported(run("check", ".")[1]) == ["other/pkg/skip.py", "pkg/keep.py"]


def test_command_line_excludes(project):
    for name in ("gen/a.py", "build/b.py", "pkg/c.py"):
        write(project / name, FIT)
    assert reported(run("check", "--extend-exclude", "gen", ".")[1]) == ["pkg/c.py"]
    assert reported(run("check", "--exclude", "gen", ".")[1]) == ["build/b.py", "pkg/c.py"]


def test_explicitly_named_excluded_file_is_still_read(project):
    write(project / "metriclint.toml", 'extend-exclude = ["skip.py"]\n')
    write(project / "skip.py", FIT)
    assert reported(run("check", ".")[1]) == []
    assert reported(run("check", "skip.py")[1]) == ["skip.py"]


def test_gitignore_is_honoured(project):
    write(project / ".gitignore", "ignored/\n*_gen.py\n!keep_gen.py\n")
    write(project / "sub" / ".gitignore", "local.py\n")
    write(project / "sub" / "inner" / ".gitignore", "!local.py\n")  # a deeper file re-includes
    for name in ("ignored/a.py", "x_gen.py", "keep_gen.py", "sub/local.py", "sub/inner/local.py", "sub/ok.py"):
        write(project / name, FIT)
    assert reported(run("check", ".")[1]) == ["keep_gen.py", "sub/inner/local.py", "sub/ok.py"]
    # explicitly named files are always read
    assert reported(run("check", "x_gen.py")[1]) == ["x_gen.py"]


def test_gitignore_of_the_repository_applies_below_the_checked_directory(project, monkeypatch):
    write(project / ".gitignore", "pkg/gen/\n")
    write(project / "pkg" / "gen" / "a.py", FIT)
    write(project / "pkg" / "b.py", FIT)
    monkeypatch.chdir(project / "pkg")
    assert reported(run("check", ".")[1]) == ["b.py"]


def test_a_gitignored_directory_named_on_the_command_line_is_checked(project):
    # As ruff: naming the directory is asking for it; other patterns still apply inside it.
    write(project / ".gitignore", "generated/\n*_pb2.py\n")
    write(project / "generated" / "a.py", FIT)
    write(project / "generated" / "sub" / "b.py", FIT)
    write(project / "generated" / "c_pb2.py", FIT)
    assert reported(run("check", ".")[1]) == []
    assert reported(run("check", "generated")[1]) == ["generated/a.py", "generated/sub/b.py"]
    assert reported(run("check", "generated/sub")[1]) == ["generated/sub/b.py"]


def test_git_info_exclude(project):
    write(project / ".git" / "info" / "exclude", "secret.py\n")
    write(project / "secret.py", FIT)
    write(project / "public.py", FIT)
    assert reported(run("check", ".")[1]) == ["public.py"]


def test_respect_gitignore_false(project):
    write(project / "metriclint.toml", "respect-gitignore = false\n")
    write(project / ".gitignore", "ignored.py\n")
    write(project / "ignored.py", FIT)
    assert reported(run("check", ".")[1]) == ["ignored.py"]


# --- target-keras ----------------------------------------------------------------------------------------
def test_target_keras_in_config_and_command_line_override(project):
    write(project / "metriclint.toml", 'target-keras = "2"\n')
    write(project / "gen.py", GENERATOR)
    assert run("check", ".")[0] == 0
    assert run("check", "--target-keras", "3", ".")[0] == 1
    write(project / "metriclint.toml", "target-keras = 3\n")  # an integer is accepted too
    assert run("check", ".")[0] == 1


# --- bad configs: one clear error naming the key, exit 2 ------------------------------------------------
@pytest.mark.parametrize(
    "config,message",
    [
        ('selcet = ["KM1"]', "unknown key `selcet` in [tool.metriclint]"),
        ('select = ["KM9"]', "`select`: unknown rule selector `KM9`"),
        ('select = "KM101"', "`select` must be a list of strings, not a string"),
        ("ignore = [1]", "`ignore` must be a list of strings, not [1]"),
        ('extend-select = ["XX"]', "`extend-select`: unknown rule selector `XX`"),
        ('target-keras = "4"', "`target-keras` must be \"2\" or \"3\", not '4'"),
        ("target-keras = true", "`target-keras` must be \"2\" or \"3\", not True"),
        ("exclude = 3", "`exclude` must be a list of strings, not 3"),
        ("extend-exclude = [true]", "`extend-exclude` must be a list of strings"),
        ('per-file-ignores = ["a.py"]', "`per-file-ignores` must be a table of glob = [codes]"),
        ('[per-file-ignores]\n"a.py" = "KM101"', "`per-file-ignores.a.py` must be a list of strings"),
        ('[per-file-ignores]\n"a.py" = ["NOPE1"]', "`per-file-ignores.a.py`: unknown rule selector `NOPE1`"),
        ('respect-gitignore = "yes"', "`respect-gitignore` must be true or false, not 'yes'"),
        ("tool = 1", "unknown key `tool`"),
        ("select = [", "invalid TOML in"),
        # tool codes that are never silenced: ignoring one could only do nothing
        ('ignore = ["E999"]', "`ignore`: `E999` cannot be ignored: it reports a file that does not parse as Python, "
                              "so it was not checked. To skip such files, list them in `exclude` or `extend-exclude`"),
        ('ignore = ["e902"]', "`ignore`: `e902` cannot be ignored: it reports a file that could not be read"),
        ('ignore = ["E000"]', "`ignore`: `E000` cannot be ignored: it reports a crash in metriclint itself"),
        ('ignore = ["E9"]', "`ignore`: `E9` cannot be ignored: it covers E902, E999, which are never silenced "
                            "(E902: it reports a file that could not be read, so it was not checked; E999: it reports "
                            "a file that does not parse as Python, so it was not checked); to ignore E903, name it alone"),
        ('ignore = ["E"]', "`E` cannot be ignored: it covers E902, E999, E000"),
        ('[per-file-ignores]\n"a.py" = ["KM1", "E999"]', "`per-file-ignores.a.py`: `E999` cannot be ignored"),
    ],
)
def test_bad_metriclint_toml(project, config, message):
    write(project / "metriclint.toml", config + "\n")
    write(project / "train.py", FIT)
    code, out, err = run("check", ".")
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("metriclint: error: ")
    assert str(project / "metriclint.toml") in err
    assert message in err


def test_bad_key_in_pyproject_names_the_file_and_key(project):
    write(project / "pyproject.toml", "[tool.metriclint]\nignroe = [\"KM101\"]\n")
    write(project / "train.py", FIT)
    code, out, err = run("check", "train.py")
    assert (code, out) == (2, "")
    assert f"{project / 'pyproject.toml'}: unknown key `ignroe` in [tool.metriclint]" in err


def test_tool_metriclint_must_be_a_table(project):
    write(project / "pyproject.toml", 'tool = {metriclint = 3}\n')
    write(project / "train.py", FIT)
    code, _, err = run("check", ".")
    assert code == 2 and "[tool.metriclint] must be a table" in err


def test_broken_pyproject_with_our_table_is_an_error(project):
    write(project / "pyproject.toml", "[tool.metriclint]\nselect = [\n")
    write(project / "train.py", FIT)
    code, out, err = run("check", ".")
    assert (code, out) == (2, "")
    assert f"invalid TOML in {project / 'pyproject.toml'}" in err


def test_broken_pyproject_without_our_table_is_not_ours(project):
    write(project / "pyproject.toml", "[project\nname = 'x'\n")
    write(project / "train.py", FIT)
    code, out, err = run("check", "--select", "KM101", ".")
    assert code == 1 and reported(out) == ["train.py"] and err == ""


def test_bad_config_in_a_subdirectory_stops_the_run(project):
    write(project / "ok.py", FIT)
    write(project / "sub" / "metriclint.toml", "nope = 1\n")
    write(project / "sub" / "x.py", FIT)
    code, out, err = run("check", ".")
    assert (code, out) == (2, "")
    assert "unknown key `nope`" in err and str(project / "sub" / "metriclint.toml") in err


def test_resolver_api(project):
    write(project / "metriclint.toml", 'select = ["KM1"]\nignore = ["KM102"]\ntarget-keras = "2"\n')
    resolver = SettingsResolver(Overrides(ignore=("KM101",)), known_codes())
    settings = resolver.for_file(str(project / "x.py"))
    assert settings.config_path == str(project / "metriclint.toml")
    assert settings.root == str(project)
    assert settings.flavour == "2"
    assert not settings.is_enabled("KM101") and not settings.is_enabled("KM102")
    with pytest.raises(ConfigError):
        SettingsResolver(Overrides(), known_codes(), str(project / "missing.toml"))


# --- tool codes in selections ----------------------------------------------------------------------------
BROKEN = "from tensorflow import keras\nmodel.fit(x, nb_epoch=3\n"
# valid Python libcst cannot parse (a backslash-newline inside an f-string): E903
UNPARSABLE = FIT + 'note = fr"\\\n"\n'


@pytest.mark.parametrize("option", ["E999", "E902", "E000", "E9", "e99"])
def test_ignoring_a_never_silenced_tool_code_on_the_command_line_is_a_usage_error(project, option):
    write(project / "broken.py", BROKEN)
    code, out, err = run("check", "--ignore", f"KM1,{option}", ".")
    assert (code, out) == (2, "")
    assert err.startswith(f"metriclint: error: --ignore: `{option}` cannot be ignored: ")
    assert err.rstrip().endswith("To skip such files, list them in `exclude` or `extend-exclude`")


def test_selecting_tool_codes_is_allowed_and_turns_the_rules_off(project):
    """Tool codes are always on: `--select E999` reports them (and no rule), it does not hide them."""
    write(project / "broken.py", BROKEN)
    write(project / "odd.py", UNPARSABLE)
    write(project / "train.py", FIT)
    for selection in ("E999", "E903", "E9", "E999,E902,E000"):
        code, out, err = run("check", "--select", selection, ".")
        assert (code, err) == (1, "")
        assert [line.split(": ")[1].split()[0] for line in out.splitlines()[:-1]] == ["E999", "E903"], selection
    assert run("check", "--extend-select", "E999", "train.py")[1].startswith("train.py:4:17: KM101")


@pytest.mark.parametrize("config,options,reported", [
    ("", (), True),
    ('ignore = ["E903"]', (), False),
    ('ignore = ["ALL"]\nextend-select = ["KM101"]', (), False),  # ALL: every code that can be ignored
    ("", ("--ignore", "E903"), False),
    ('ignore = ["E903"]', ("--extend-select", "E903"), True),  # a later layer wins
    ('ignore = ["E903"]', ("--select", "KM101"), False),  # selecting rules does not touch tool codes
    ('select = ["KM101"]', (), True),  # nor does selecting none of them
    ('[per-file-ignores]\n"odd.py" = ["E903"]', (), False),
    ('[per-file-ignores]\n"other.py" = ["E903"]', (), True),
    ('[per-file-ignores]\n"odd.py" = ["ALL"]', (), False),
    ('extend-exclude = ["odd.py"]', (), False),
])
def test_e903_is_silenced_by_ignore_per_file_ignores_and_exclude(project, config, options, reported):
    write(project / "metriclint.toml", 'target-keras = "3"\n' + config + "\n")
    write(project / "odd.py", UNPARSABLE)
    write(project / "clean.py", "x = 1\n")
    code, out, err = run("check", *options, ".")
    assert err == ""
    assert reported == ("odd.py:1:1: E903 not checked: " in out), out
    assert code == (1 if reported else 0)


def test_per_file_ignores_all_ignores_every_rule(project):
    """`ALL` in per-file-ignores used to match no code at all (`code.startswith("ALL")`)."""
    write(project / "metriclint.toml", '[per-file-ignores]\n"legacy/*" = ["ALL"]\n')
    write(project / "legacy" / "train.py", FIT)
    write(project / "train.py", FIT)
    assert reported(run("check", ".")[1]) == ["train.py"]


def test_settings_reports_unit():
    on = Settings()
    assert on.reports("E903", "x.py")
    assert not Settings(ignore=("E903",)).reports("E903", "x.py")
    assert not Settings(ignore=("ALL",)).reports("E903", "x.py")
    assert Settings(ignore=("ALL",), extend_select=("E903",)).reports("E903", "x.py")  # more specific wins
    assert not Settings(select=("E903",), ignore=("E903",)).reports("E903", "x.py")  # on a tie, ignore
    layered = Settings(ignore=("E903",), selections=((None, ("E903",), ()),))
    assert layered.reports("E903", "x.py")
