"""The hooks in `.pre-commit-hooks.yaml`, run by the real pre-commit tool.

`pre-commit try-repo REPO HOOK --all-files` installs metriclint into a fresh
virtual environment exactly as a user's pre-commit would (pip install of the
repository, dependencies from the package index) and runs the hook on a
throwaway git repository.

REPO is not this checkout itself but a committed snapshot of its working tree
(tracked files plus untracked, not ignored ones). `try-repo` on a dirty checkout
only carries over changes to tracked files, so a new, not yet committed hook or
module would silently be missing; the snapshot tests what is on disk.

`try-repo` keeps its store in a temporary directory of its own, so every call
builds its own hook environment (a few seconds with a warm pip cache).
PRE_COMMIT_HOME points at one directory per session so that nothing is written
to the user's ~/.cache/pre-commit.

The README's snippet is tested as a user runs it: its `.pre-commit-config.yaml`, word for word
but for `repo:`, which points at the snapshot (pre-commit clones a local path like a URL, so
nothing is fetched from GitHub), then `pre-commit run --all-files`, then the README's
`pre-commit autoupdate --freeze`. Building a hook environment is pre-commit's own `pip install`
of the snapshot into a fresh virtualenv: its dependencies come from the package index the
machine's pip is configured for (PyPI, or a local mirror or wheel cache via pip's config and
`PIP_*` variables, which pass through), never from GitHub.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

REPO_ROOT = Path(__file__).parents[1]

BAD = (
    "from tensorflow import keras\n"
    "model = keras.Sequential()\n"
    'model.compile(loss="mse")\n'
    "model.fit(x, y, nb_epoch=3)\n"
)
CLEAN = BAD.replace("nb_epoch=3", "epochs=3")
# The same code as a notebook (nbformat 4, as Jupyter writes it), with a magic and an output.
NOTEBOOK = json.dumps({
    "cells": [
        {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": ["# Train"]},
        {"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {},
         "outputs": [{"name": "stdout", "output_type": "stream", "text": ["ok\n"]}],
         "source": ["%matplotlib inline\n"] + BAD.splitlines(keepends=True)},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

# What a source checkout may hold that is not part of the project (used when it
# is not a git checkout, e.g. an unpacked sdist).
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", "__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".venv", ".tox", ".nox",
    ".pytest_cache", ".metriclint_cache", ".hypothesis",
)


def _isolated_env(home: Path) -> Dict[str, str]:
    """The environment minus anything that would leak an outer git or pre-commit run."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GIT_", "PRE_COMMIT"))
    }
    empty = home / "gitconfig"
    empty.touch()
    env.update(
        PRE_COMMIT_HOME=str(home / "pre-commit"),
        # no user or system git configuration (signing, hooks, templates ...)
        GIT_CONFIG_GLOBAL=str(empty),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="metriclint tests",
        GIT_AUTHOR_EMAIL="tests@metriclint.invalid",
        GIT_COMMITTER_NAME="metriclint tests",
        GIT_COMMITTER_EMAIL="tests@metriclint.invalid",
        GIT_TERMINAL_PROMPT="0",
    )
    return env


def _git(cwd: Path, env: Dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"git {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def _source_files(root: Path) -> List[str]:
    """Files of the checkout, as git sees them; [] when that is not possible."""
    try:
        done = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, text=True, timeout=120,
        )
    except OSError:
        return []
    if done.returncode != 0:
        return []
    return [name for name in done.stdout.split("\0") if name and (root / name).is_file()]


@pytest.fixture(scope="session")
def precommit_env(tmp_path_factory) -> Dict[str, str]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed (pre-commit needs it)")
    return _isolated_env(tmp_path_factory.mktemp("precommit-home"))


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory, precommit_env) -> Path:
    """A one-commit git repository holding this checkout's current files."""
    snapshot = tmp_path_factory.mktemp("metriclint-snapshot") / "metriclint"
    names = _source_files(REPO_ROOT)
    if names:
        for name in names:
            target = snapshot / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, target)
    else:
        shutil.copytree(REPO_ROOT, snapshot, ignore=_NOT_SOURCE)
    assert (snapshot / ".pre-commit-hooks.yaml").is_file(), "no .pre-commit-hooks.yaml in the repository"
    # `main`, the published repository's default branch: the README's snippet names it
    _git(snapshot, precommit_env, "init", "-q", "-b", "main")
    _git(snapshot, precommit_env, "add", "-A")
    _git(snapshot, precommit_env, "commit", "-q", "--no-verify", "-m", "snapshot")
    return snapshot


def _try_repo(repo: Path, hook: str, project: Path, env: Dict[str, str]) -> Tuple[int, str]:
    """Exit code and output of `pre-commit try-repo REPO HOOK --all-files` in `project`."""
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(repo), hook,
         "--all-files", "--color=never", "--verbose"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.slow
def test_check_hook_fails_fix_hook_repairs(hook_repo, precommit_env, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text(BAD, encoding="utf-8")
    (project / "clean.py").write_text(CLEAN, encoding="utf-8")
    (project / "train.ipynb").write_text(NOTEBOOK, encoding="utf-8")
    _git(project, precommit_env, "init", "-q")
    _git(project, precommit_env, "add", "-A")

    # 1. the check hook fails and names the rule and the file
    status, output = _try_repo(hook_repo, "metriclint", project, precommit_env)
    assert status != 0, output
    assert "KM101" in output, output
    reported = [line for line in output.splitlines() if "KM101" in line and ".py:" in line]
    assert reported and all(line.startswith("train.py:4:") for line in reported), output
    # notebooks are hooked too (`types_or: [python, jupyter]`), reported by cell
    assert any(line.startswith("train.ipynb:cell 2:5:17: KM101") for line in output.splitlines()), output
    assert (project / "train.py").read_text(encoding="utf-8") == BAD  # check never writes
    assert (project / "train.ipynb").read_text(encoding="utf-8") == NOTEBOOK

    # 2. the fix hook rewrites the keyword and leaves the clean file alone
    status, output = _try_repo(hook_repo, "metriclint-fix", project, precommit_env)
    fixed = (project / "train.py").read_text(encoding="utf-8")
    assert "model.fit(x, y, epochs=3)\n" in fixed, output
    assert "nb_epoch" not in fixed, output
    assert fixed == BAD.replace("nb_epoch=3", "epochs=3"), fixed
    assert (project / "clean.py").read_text(encoding="utf-8") == CLEAN
    assert (project / "train.ipynb").read_text(encoding="utf-8") == NOTEBOOK.replace("nb_epoch=3", "epochs=3")
    # pre-commit fails a hook that modified files, whatever its exit code
    assert status != 0, output
    assert "files were modified by this hook" in output, output

    # 3. after the fix, the check hook passes
    _git(project, precommit_env, "add", "-A")
    status, output = _try_repo(hook_repo, "metriclint", project, precommit_env)
    assert status == 0, output
    assert "KM101" not in output, output


# --- the README's snippet, as a user runs it -----------------------------------------------------
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
PUBLIC_REPO = "https://github.com/metriclint/metriclint"


def readme_precommit_config() -> str:
    section = README.split("\n## pre-commit\n", 1)[1].split("\n## ", 1)[0]
    (config,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    return config


def readme_precommit_commands() -> list:
    section = README.split("\n## pre-commit\n", 1)[1].split("\n## ", 1)[0]
    (commands,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [line.split() for line in commands.splitlines() if line.strip()]


def _precommit(project: Path, env: Dict[str, str], *args: str) -> Tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", *args, "--color=never"], cwd=project, env=env,
        capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
    )
    return done.returncode, done.stdout + done.stderr


def test_readme_snippet_is_a_whole_config_naming_the_hooks_this_repository_has():
    import yaml

    config = yaml.safe_load(readme_precommit_config())
    (repo,) = config["repos"]
    assert repo["repo"] == PUBLIC_REPO
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [h["id"] for h in repo["hooks"]] == ["metriclint-fix", "metriclint"]
    assert {h["id"] for h in repo["hooks"]} <= {h["id"] for h in hooks}
    # the commands the README gives after it: pin the rev, install the git hook
    assert readme_precommit_commands() == [
        ["pre-commit", "autoupdate", "--freeze", "--repo", PUBLIC_REPO], ["pre-commit", "install"]]


@pytest.mark.slow
def test_readme_snippet_installs_and_runs_as_written(hook_repo, precommit_env, tmp_path):
    env = dict(precommit_env)
    env.pop("METRICLINT_OUTPUT_FORMAT", None)  # what a user sees: the default report
    project = tmp_path / "project"
    project.mkdir()
    config = readme_precommit_config()
    assert config.count(PUBLIC_REPO) == 1
    (project / ".pre-commit-config.yaml").write_text(config.replace(PUBLIC_REPO, str(hook_repo)), encoding="utf-8")
    (project / "train.py").write_text(BAD, encoding="utf-8")
    (project / "clean.py").write_text(CLEAN, encoding="utf-8")
    _git(project, env, "init", "-q")
    _git(project, env, "add", "-A")

    # as written (`rev: main`): it installs and runs; the fix hook fixes, the check hook then passes
    status, output = _precommit(project, env, "run", "--all-files")
    assert "did not match" not in output and "InvalidManifestError" not in output, output
    assert status == 1, output  # pre-commit fails a run whose hook modified files
    assert re.search(r"^metriclint-fix\.+Failed$", output, re.M), output
    assert "files were modified by this hook" in output, output
    assert "Found 1 error (1 fixed, 0 remaining)." in output, output
    assert re.search(r"^metriclint\.+Passed$", output, re.M), output  # what remained: nothing
    assert (project / "train.py").read_text(encoding="utf-8") == BAD.replace("nb_epoch=3", "epochs=3")
    assert (project / "clean.py").read_text(encoding="utf-8") == CLEAN

    # the README's next step pins `rev` to the commit `main` points at
    for command in readme_precommit_commands():
        assert command[0] == "pre-commit"
        args = [str(hook_repo) if arg == PUBLIC_REPO else arg for arg in command[1:]]
        status, output = _precommit(project, env, *args)
        assert status == 0, (command, output)
    head = _git(hook_repo, env, "rev-parse", "HEAD").strip()
    pinned = (project / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert re.search(rf"^\s+rev: {head}\b", pinned, re.M), pinned
    assert (project / ".git" / "hooks" / "pre-commit").is_file()

    # with the pinned rev: a staged bad file fails the commit's check, a clean one passes
    _git(project, env, "add", "-A")
    status, output = _precommit(project, env, "run", "--all-files")
    assert status == 0, output
    (project / "train.py").write_text(BAD.replace("nb_epoch=3", "validation_metrics=['mae']"), encoding="utf-8")
    _git(project, env, "add", "train.py")
    status, output = _precommit(project, env, "run", "--all-files")
    assert status == 1 and re.search(r"^metriclint\.+Failed$", output, re.M), output
    assert "KM101 `Model.fit()` does not take `validation_metrics=`" in output, output  # the default report
    assert " --> train.py:4:17" in output and "  |                 ^^^^^^^^^^^^^^^^^^" in output, output
    assert "mutable reference" not in output, output  # pinned: pre-commit no longer warns
