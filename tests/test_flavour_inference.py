"""The Keras flavour a project targets, inferred from its declared dependencies.

`tensorflow<2.16` (any TensorFlow distribution), `tf-keras` or `keras<3` mean Keras 2; anything
else Keras 3. `target-keras` in the config and `--target-keras` win over inference, and
`check --show-settings` says which flavour is used and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

import pytest
from click.testing import CliRunner

from metriclint.cli import main
from metriclint.flavour import caps_below, classify_requirement, infer_target, project_dir

GENERATOR = "from tensorflow import keras\nmodel = keras.Model(i, o)\nmodel.fit_generator(gen, 10)\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project root (the working directory) with `.git`, so inference never looks above it."""
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    monkeypatch.chdir(root)
    return root


def run(*args: str) -> Tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def target_line(*args: str) -> str:
    code, out, err = run("check", "--show-settings", *args)
    assert code == 0, err
    (line,) = [line for line in out.splitlines() if line.startswith("target keras:")]
    return line


# --- one requirement ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "requirement,flavour",
    [
        ("tensorflow<2.16", "2"),
        ("tensorflow<2.16.0", "2"),
        ("tensorflow < 2.16", "2"),
        ("tensorflow<=2.15.1", "2"),
        ("tensorflow==2.15.0", "2"),
        ("tensorflow==2.15.*", "2"),
        ("tensorflow~=2.15.0", "2"),  # ~=2.15.0 means 2.15.x
        ("tensorflow>=2.10,<2.16", "2"),
        ("tensorflow >= 2.12, < 2.16 ; python_version < '3.12'", "2"),
        ("tensorflow<2.16.0rc0", "2"),
        ("TensorFlow_CPU<2.16", "2"),
        ("tensorflow-macos==2.15.0", "2"),
        ("tensorflow-gpu<2.12", "2"),
        ("tf-nightly<2.16", "2"),
        ("tensorflow[and-cuda]<2.16", "2"),
        ("tf-keras", "2"),
        ("tf_keras>=2.15", "2"),
        ("tf-keras @ git+https://github.com/keras-team/tf-keras#egg=tf-keras", "2"),
        ("keras<3", "2"),
        ("keras<3.0.0", "2"),
        ("keras==2.15.0", "2"),
        ("keras~=2.13", "2"),  # ~=2.13 means >=2.13, ==2.*
        ("keras>=3", "3"),
        ("keras==3.*", "3"),
        ("keras>=3.0.0", "3"),
        ("tensorflow>=2.16", "3"),
        ("tensorflow==2.16.1", "3"),
        ("tensorflow~=2.15", None),  # ~=2.15 allows 2.16 and later: nothing pinned
        ("tensorflow==2.*", None),
        ("tensorflow<2.17", None),
        ("tensorflow<=2.16", None),
        ("tensorflow>2.15", None),
        ("tensorflow", None),
        ("keras", None),
        ("keras>=2.4", None),
        ("keras!=3.0.0", None),
        ("numpy<2", None),
        ("tensorflow-probability<0.24", None),  # not TensorFlow itself
        # standalone Keras before 2.3 and TensorFlow 1: another API, judged as a migration
        ("keras==2.2.4", "legacy"),
        ("keras<2.3", "legacy"),
        ("keras==1.2.2", "legacy"),
        ("Keras>=2.0,<2.3", "legacy"),
        ("keras==2.3.1", "2"),
        ("tensorflow==1.15.5", "legacy"),
        ("tensorflow-gpu<2", "legacy"),
        ("tensorflow<2.0", "legacy"),
        ("# tensorflow<2.16", None),
        ("-r requirements-base.txt", None),
        ("--index-url https://example.com", None),
        ("", None),
    ],
)
def test_classify_requirement(requirement, flavour):
    assert classify_requirement(requirement) == flavour


def test_caps_below_units():
    assert caps_below([("<", "2.16")], (2, 16))
    assert not caps_below([("<", "2.16.1")], (2, 16))
    assert caps_below([("<=", "2.15.99")], (2, 16))
    assert not caps_below([(">=", "2.0")], (2, 16))
    assert caps_below([("~=", "2.15.3")], (2, 16))
    assert not caps_below([("~=", "2.15")], (2, 16))


# --- declarations in a project directory ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,content,flavour,where",
    [
        ("pyproject.toml", '[project]\nname = "x"\ndependencies = ["numpy", "tensorflow<2.16"]\n', "2",
         "pyproject.toml [project] dependencies declares `tensorflow<2.16`"),
        ("pyproject.toml", '[project]\nname = "x"\ndependencies = ["keras>=3.0"]\n', "3",
         "pyproject.toml [project] dependencies declares `keras>=3.0`"),
        ("pyproject.toml", '[project]\nname = "x"\n[project.optional-dependencies]\nlegacy = ["tf-keras"]\n', "2",
         "pyproject.toml optional dependencies `legacy` declares `tf-keras`"),
        ("pyproject.toml", '[dependency-groups]\ndev = ["keras<3"]\n', "2",
         "pyproject.toml dependency group `dev` declares `keras<3`"),
        ("pyproject.toml", '[tool.poetry.dependencies]\npython = "^3.9"\ntensorflow = "~2.15"\n', "2",
         'pyproject.toml [tool.poetry] dependencies declares `tensorflow = "~2.15"`'),
        ("pyproject.toml", '[tool.poetry.dependencies]\ntensorflow = {version = ">=2.10,<2.16", extras = ["and-cuda"]}\n',
         "2", 'pyproject.toml [tool.poetry] dependencies declares `tensorflow = ">=2.10,<2.16"`'),
        ("requirements.txt", "numpy==1.26\ntensorflow==2.15.1  # pinned for tf.keras\n", "2",
         "requirements.txt declares `tensorflow==2.15.1  # pinned for tf.keras`"),
        ("requirements-dev.txt", "keras>=3\n", "3", "requirements-dev.txt declares `keras>=3`"),
        ("requirements/base.txt", "tf-keras==2.15.0\n", "2", "requirements/base.txt declares `tf-keras==2.15.0`"),
        ("setup.cfg", "[metadata]\nname = x\n[options]\ninstall_requires =\n    numpy\n    tensorflow>=2.10,<2.16\n",
         "2", "setup.cfg install_requires declares `tensorflow>=2.10,<2.16`"),
        ("setup.cfg", "[options.extras_require]\ngpu = tensorflow[and-cuda]<2.16\n", "2",
         "setup.cfg extras_require `gpu` declares `tensorflow[and-cuda]<2.16`"),
    ],
)
def test_infer_target_from_each_kind_of_declaration(project, name, content, flavour, where):
    write(project / name, content)
    assert infer_target(str(project)) == (flavour, where)


@pytest.mark.parametrize(
    "name,content",
    [
        ("pyproject.toml", '[project]\nname = "x"\ndependencies = ["numpy", "tensorflow"]\n'),
        ("pyproject.toml", '[tool.poetry.dependencies]\ntensorflow = "^2.15"\n'),  # ^2.15 allows 2.16
        ("pyproject.toml", "[project\nbroken = "),  # unreadable: ignored
        ("pyproject.toml", '[project]\ndependencies = "tensorflow<2.16"\n'),  # wrong type: ignored
        ("requirements.txt", "tensorflow\nkeras\n"),
        ("setup.cfg", "[options]\ninstall_requires = %(broken\n"),
    ],
)
def test_nothing_pinned_means_no_inference(project, name, content):
    write(project / name, content)
    assert infer_target(str(project)) is None


def test_keras_2_declaration_wins_over_keras_3(project):
    write(project / "requirements.txt", "keras>=3\n")
    write(project / "requirements-legacy.txt", "tensorflow<2.16\n")
    assert infer_target(str(project)) == ("2", "requirements-legacy.txt declares `tensorflow<2.16`")


def test_project_dir_walks_up_to_the_declarations_and_stops_at_the_git_root(project, tmp_path):
    write(tmp_path / "requirements.txt", "tensorflow<2.16\n")  # above the git root: not this project
    (project / "src" / "pkg").mkdir(parents=True)
    assert project_dir(str(project / "src" / "pkg")) is None
    write(project / "setup.py", "")
    assert project_dir(str(project / "src" / "pkg")) == str(project)


# --- through the CLI --------------------------------------------------------------------------------------------
def test_inferred_keras_2_silences_keras_3_only_findings(project):
    write(project / "gen.py", GENERATOR)
    assert run("check", ".")[0] == 1  # nothing declared: Keras 3
    write(project / "requirements.txt", "tensorflow==2.15.0\n")
    assert run("check", ".")[:2] == (0, "All checks passed!\n")


def test_show_settings_says_what_was_inferred_and_why(project):
    write(project / "requirements.txt", "tensorflow<2.16\n")
    assert target_line() == "target keras:   2 (requirements.txt declares `tensorflow<2.16`)"


def test_show_settings_default(project):
    assert target_line() == "target keras:   3 (default: no project dependencies found)"
    write(project / "pyproject.toml", '[project]\nname = "x"\ndependencies = ["numpy"]\n')
    assert target_line() == f"target keras:   3 (default: no Keras version declared in {project})"


def test_show_settings_keras_3_declared(project):
    write(project / "pyproject.toml", '[project]\nname = "x"\ndependencies = ["keras>=3.2"]\n')
    assert target_line() == "target keras:   3 (pyproject.toml [project] dependencies declares `keras>=3.2`)"


def test_config_target_wins_over_inference_and_the_option_over_both(project):
    write(project / "pyproject.toml",
          '[project]\nname = "x"\ndependencies = ["tensorflow<2.16"]\n[tool.metriclint]\ntarget-keras = "3"\n')
    write(project / "gen.py", GENERATOR)
    assert target_line() == f"target keras:   3 (`target-keras` in {project / 'pyproject.toml'})"
    assert run("check", ".")[0] == 1
    assert target_line("--target-keras", "2") == "target keras:   2 (--target-keras)"
    assert run("check", "--target-keras", "2", ".")[0] == 0


def test_inference_with_a_config_that_does_not_set_the_target(project):
    write(project / "pyproject.toml",
          '[project]\nname = "x"\ndependencies = ["tf-keras"]\n[tool.metriclint]\nselect = ["KM1"]\n')
    write(project / "gen.py", GENERATOR)
    assert target_line() == "target keras:   2 (pyproject.toml [project] dependencies declares `tf-keras`)"
    assert run("check", ".")[0] == 0


def test_metriclint_toml_in_a_subdirectory_infers_from_the_project_above(project):
    write(project / "requirements.txt", "keras<3\n")
    write(project / "sub" / "metriclint.toml", 'select = ["KM101"]\n')
    write(project / "sub" / "gen.py", GENERATOR)
    assert target_line("sub") == "target keras:   2 (requirements.txt declares `keras<3`)"
    assert run("check", "sub")[0] == 0


def test_files_in_a_subdirectory_use_the_project_root_declarations(project):
    write(project / "setup.cfg", "[options]\ninstall_requires =\n    tensorflow==2.13.1\n")
    write(project / "src" / "pkg" / "gen.py", GENERATOR)
    assert run("check", "src/pkg/gen.py")[0] == 0
    assert target_line("src/pkg/gen.py") == "target keras:   2 (setup.cfg install_requires declares `tensorflow==2.13.1`)"


def test_each_project_in_one_run_gets_its_own_flavour(project, monkeypatch):
    for name, pin in (("old", "tensorflow<2.16"), ("new", "keras>=3")):
        (project / name / ".git").mkdir(parents=True)
        write(project / name / "requirements.txt", pin + "\n")
        write(project / name / "gen.py", GENERATOR)
    code, out, _ = run("check", "old", "new")
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()[:-1]] == ["new/gen.py"]


def test_tf_keras_import_is_keras_2_whatever_the_target(project):
    # The file's own imports win (the engine's rule): `tf_keras` is Keras 2.
    write(project / "gen.py", "import tf_keras as keras\nmodel = keras.Model(i, o)\nmodel.fit_generator(gen, 10)\n")
    assert run("check", "--target-keras", "3", ".")[0] == 0


# --- legacy Keras (before 2.3), and what the file itself shows -------------------------------------------------
LEGACY_SCRIPT = (
    "from keras.models import Sequential\nfrom keras.layers import Dense\n"
    "model = Sequential([Dense(1, activation='sigmoid', input_dim=4)])\n"
    "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"
    "history = model.fit(x, y, nb_epoch=3, validation_split=0.2)\nprint(history.history['val_acc'])\n"
)


def test_legacy_keras_is_judged_as_a_migration_without_fixes(project):
    write(project / "requirements.txt", "keras==2.2.4\ntheano\n")
    script = write(project / "train.py", LEGACY_SCRIPT)
    code, out, err = run("check", "--no-cache", ".")
    assert code == 1
    assert [line.split(" ")[1] for line in out.splitlines()[:2]] == ["KM101", "KM207"]
    assert "(0 fixable" not in out and "fixable" not in out.splitlines()[-1]
    notes = [line for line in err.splitlines() if "note:" in line]
    assert len(notes) == 1 and "`keras==2.2.4`" in notes[0] and "no fixes are offered" in notes[0]
    code, out, err = run("fix", "--unsafe-fixes", "--no-cache", ".")
    assert code == 1 and script.read_text(encoding="utf-8") == LEGACY_SCRIPT
    line = target_line()
    assert line.startswith("target keras:   3 (requirements.txt declares `keras==2.2.4`: Keras before 2.3")


def test_legacy_wins_over_keras_2_declarations(project):
    write(project / "requirements.txt", "tensorflow==2.15.0\nkeras==2.2.4\n")
    assert "Keras before 2.3" in target_line()


def test_explicit_target_is_not_legacy(project):
    write(project / "requirements.txt", "keras==2.2.4\n")
    write(project / "train.py", LEGACY_SCRIPT)
    code, out, err = run("check", "--no-cache", "--target-keras", "3", ".")
    assert "fixable with `metriclint fix`" in out and "note:" not in err


@pytest.mark.parametrize("setting", [
    "import os\nos.environ['TF_USE_LEGACY_KERAS'] = '1'\n",
    "import os\nos.environ.setdefault('TF_USE_LEGACY_KERAS', 'True')\n",
    "from os import environ\nenviron.update({'TF_USE_LEGACY_KERAS': 'true'})\n",
])
def test_tf_use_legacy_keras_in_the_file_is_keras_2(project, setting):
    body = "import tensorflow as tf\nmodel = tf.keras.Model(i, o)\nmodel.fit_generator(gen, 10)\n"
    write(project / "gen.py", setting + body)
    assert run("check", "--no-cache", "--target-keras", "3", ".")[0] == 0
    write(project / "gen.py", setting.replace("1'", "0'").replace("'True'", "'no'").replace("'true'", "'0'") + body)
    assert run("check", "--no-cache", "--target-keras", "3", ".")[0] == 1  # only 1/true/True switch TensorFlow
