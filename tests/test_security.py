"""Security: linted code is never run or imported; the cache is plain JSON that cannot change
results when damaged; nothing is written outside the fixed files and the cache directory.

metriclint runs in a subprocess here whose working directory is not the project (`python -m`
puts the working directory on `sys.path`, which would import a project's `click.py`: that is
Python's doing, not metriclint's; the console script and pre-commit hook do not).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Dict, Tuple

import pytest
from tree import metriclint_command, tree_env

REPO = Path(__file__).resolve().parents[1]
FIT = """\
from tensorflow import keras
model = keras.Sequential()
model.compile(loss="mse", metrics=["mae"])
model.fit(x, y, nb_epoch=3)
"""
FIXED = FIT.replace("nb_epoch", "epochs")


def metriclint(*args: str, cwd: Path, env: Dict[str, str] = None, timeout: float = 300) -> Tuple[int, str, str]:
    full = tree_env(env)
    done = subprocess.run(metriclint_command(*args), cwd=cwd, env=full, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


# --- linted code is never executed or imported ---------------------------------------------------------
def _payload(marker: Path, name: str) -> str:
    return (
        f"import pathlib\npathlib.Path({str(marker)!r}, {name!r}).write_text('executed')\n"
        f"__import__('os').system('touch {marker / (name + '.sh')}')\n"
    )


@pytest.mark.parametrize("command", [["check"], ["fix"], ["fix", "--unsafe-fixes"], ["fix", "--diff"], ["check", "--add-noqa"]])
def test_linted_code_is_never_executed_or_imported(tmp_path, command):
    project, marker, elsewhere = tmp_path / "project", tmp_path / "markers", tmp_path / "cwd"
    for directory in (project, marker, elsewhere):
        directory.mkdir()
    (project / "metriclint.toml").write_text('target-keras = "3"\n', encoding="utf-8")
    # Names Python or a tool would run: setup scripts, test hooks, site hooks, package entry
    # points, and modules that shadow metriclint's own dependencies.
    names = ["conftest", "setup", "__init__", "__main__", "sitecustomize", "usercustomize", "noxfile",
             "keras", "tensorflow", "libcst", "click", "pathspec", "json", "train"]
    for name in names:
        (project / f"{name}.py").write_text(_payload(marker, name) + FIT, encoding="utf-8")
    (project / "types.pyi").write_text(_payload(marker, "pyi") + FIT, encoding="utf-8")
    (project / "hook.pth").write_text(f"import pathlib; pathlib.Path({str(marker)!r}, 'pth').write_text('x')\n", encoding="utf-8")
    cells = [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": _payload(marker, "notebook") + FIT},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": f"!touch {marker / 'shell'}\n%run conftest.py\n%%bash\ntouch {marker / 'cellmagic'}\n"},
    ]
    (project / "analysis.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
                                            encoding="utf-8")
    code, out, err = metriclint(*command, str(project), cwd=elsewhere)
    assert code in (0, 1), err
    assert "Traceback" not in err
    assert sorted(os.listdir(marker)) == []
    if command[:1] == ["check"] and "--add-noqa" not in command:
        assert out.count("KM101") >= len(names)  # every file was read and analysed


# --- the cache is plain JSON; damage only costs time ------------------------------------------------------
CACHE_FILES = {
    "a_fixable.py": FIT,
    "b_clean.py": "from tensorflow import keras\nmodel = keras.Sequential()\nmodel.fit(x, y, epochs=3)\n",
    "c_unrelated.py": "print('hello')\n",
    "d_two.py": FIT + "m = keras.metrics.Mean()\nm.reset_states()\n",
}


def _cache_file(project: Path) -> Path:
    (found,) = (project / ".metriclint_cache").glob("v*/results.json")
    return found


def _damage(kind: str, path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    if kind == "garbage":
        path.write_bytes(os.urandom(512))
    elif kind == "truncated":
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    elif kind == "not_an_object":
        path.write_text("[1, 2, 3]", encoding="utf-8")
    elif kind == "pickle":
        import pickle

        path.write_bytes(pickle.dumps({"x": 1}))
    else:
        for key in data:
            entry = data[key]
            if kind == "entry_not_an_object":
                data[key] = "x"
            elif kind == "diagnostics_not_a_list":
                entry["diagnostics"] = {"code": "KM101"}
            elif kind == "diagnostic_missing_keys":
                entry["diagnostics"] = [{"code": "KM101"}]
            elif kind == "diagnostic_wrong_types":
                entry["diagnostics"] = [{"code": ["KM101"], "message": {"a": 1}, "start": {"line": "one", "column": None},
                                         "end": [], "fix": "no", "source_line": -5}]
            elif kind == "fix_out_of_range":
                for diag in entry["diagnostics"]:
                    if diag.get("fix"):
                        for edit in diag["fix"]["edits"]:
                            edit["start"], edit["end"] = 10**9, -3
            elif kind == "unknown_fields":
                entry["__class__"] = "os.system"
                for diag in entry["diagnostics"]:
                    diag["__reduce__"] = ["os.system", "touch /tmp/x"]
        path.write_text(json.dumps(data), encoding="utf-8")


DAMAGE = ["garbage", "truncated", "not_an_object", "pickle", "entry_not_an_object", "diagnostics_not_a_list",
          "diagnostic_missing_keys", "diagnostic_wrong_types", "fix_out_of_range", "unknown_fields"]
@pytest.mark.parametrize("kind", DAMAGE)
@pytest.mark.parametrize("output", ["text", "json"])
def test_damaged_cache_gives_the_results_of_a_clean_run(tmp_path, kind, output):
    project = tmp_path / "project"
    project.mkdir()
    (project / "metriclint.toml").write_text('target-keras = "3"\nselect = ["KM101", "KM103"]\n', encoding="utf-8")
    for name, text in CACHE_FILES.items():
        (project / name).write_text(text, encoding="utf-8")
    clean = metriclint("check", "--no-cache", "--output-format", output, ".", cwd=project)
    assert clean[0] == 1
    assert metriclint("check", "--output-format", output, ".", cwd=project) == clean  # cold cache
    cache = _cache_file(project)
    json.loads(cache.read_text(encoding="utf-8"))  # plain JSON
    assert metriclint("check", "--output-format", output, ".", cwd=project) == clean  # warm cache
    _damage(kind, cache)
    assert metriclint("check", "--output-format", output, ".", cwd=project) == clean
    # and `fix` on a damaged cache fixes exactly what a clean run fixes
    _damage(kind, cache) if cache.exists() else None
    code, _, err = metriclint("fix", ".", cwd=project)
    assert code == 0 and "Traceback" not in err
    assert (project / "a_fixable.py").read_text(encoding="utf-8") == FIXED
    assert (project / "b_clean.py").read_text(encoding="utf-8") == CACHE_FILES["b_clean.py"]


def test_cache_entry_is_keyed_by_content_not_by_name_or_time(tmp_path):
    # Two files with the same bytes share an entry; a changed byte is a new key: an entry can
    # never describe other bytes than the ones it was computed from.
    project = tmp_path / "project"
    project.mkdir()
    (project / "metriclint.toml").write_text('target-keras = "3"\nselect = ["KM101"]\n', encoding="utf-8")
    (project / "a.py").write_text(FIT, encoding="utf-8")
    (project / "b.py").write_text(FIT, encoding="utf-8")
    metriclint("check", ".", cwd=project)
    assert len(json.loads(_cache_file(project).read_text(encoding="utf-8"))) == 1
    (project / "b.py").write_text(FIT.replace("nb_epoch=3", "nb_epoch=4"), encoding="utf-8")
    code, out, _ = metriclint("check", ".", cwd=project)
    assert len(json.loads(_cache_file(project).read_text(encoding="utf-8"))) == 2
    assert out == metriclint("check", "--no-cache", ".", cwd=project)[1]


# --- nothing is written outside the fixed files and the cache --------------------------------------------
def _snapshot(root: Path) -> Dict[str, Tuple[str, str]]:
    out = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                out[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                out[rel] = ("dir", oct(os.stat(path).st_mode))
            else:
                with open(path, "rb") as handle:
                    st = os.stat(path)
                    out[rel] = ("file", hashlib.sha256(handle.read()).hexdigest() + oct(st.st_mode))
    return out


@pytest.mark.parametrize("command", [["fix"], ["fix", "--unsafe-fixes"], ["check"], ["fix", "--diff"],
                                     ["fix", "--no-cache"], ["check", "--add-noqa"]])
def test_nothing_is_written_outside_the_fixed_files_and_the_cache(tmp_path, command):
    root = tmp_path
    project, home, tmp, outside, cwd = (root / n for n in ("project", "home", "tmp", "outside", "cwd"))
    for directory in (project / "pkg" / "sub", home, tmp, outside, cwd):
        directory.mkdir(parents=True)
    (project / "metriclint.toml").write_text('target-keras = "3"\n', encoding="utf-8")
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\ndependencies = ['keras>=3']\n", encoding="utf-8")
    (project / "requirements.txt").write_text("keras>=3\n", encoding="utf-8")
    (project / ".gitignore").write_text("ignored/\n", encoding="utf-8")
    (project / ".git").mkdir()
    (project / "pkg" / "train.py").write_text(FIT, encoding="utf-8")
    (project / "pkg" / "sub" / "clean.py").write_text("import os\n", encoding="utf-8")
    (project / "pkg" / "notes.txt").write_text("not python\n", encoding="utf-8")
    (project / "ignored").mkdir()
    (project / "ignored" / "train.py").write_text(FIT, encoding="utf-8")
    (outside / "shared.py").write_text(FIT, encoding="utf-8")  # reached through a symlinked directory
    os.symlink(str(outside), project / "linked")
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": FIT}]
    (project / "nb.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n",
                                      encoding="utf-8")
    env = dict(os.environ, HOME=str(home), TMPDIR=str(tmp), XDG_CACHE_HOME=str(home / ".cache"),
               XDG_CONFIG_HOME=str(home / ".config"), PYTHONDONTWRITEBYTECODE="1")
    before = _snapshot(root)
    code, out, err = metriclint(*command, str(project), cwd=cwd, env=env)
    assert code in (0, 1), err
    after = _snapshot(root)
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    fixing = command[0] == "fix" and "--diff" not in command
    allowed = {"project/pkg/train.py", "project/nb.ipynb", "outside/shared.py"} if fixing else set()
    if command == ["check", "--add-noqa"]:
        allowed = {"project/pkg/train.py", "project/nb.ipynb", "outside/shared.py"}
    unexpected = [p for p in changed if p not in allowed and not p.startswith("project/.metriclint_cache")]
    assert unexpected == [], unexpected
    if fixing:
        assert (project / "pkg" / "train.py").read_text(encoding="utf-8") == FIXED
    if "--no-cache" in command:
        assert not (project / ".metriclint_cache").exists()
    assert (project / "ignored" / "train.py").read_text(encoding="utf-8") == FIT


# --- the cache directory is never written through a symlink ------------------------------------------------
@pytest.mark.parametrize("linked", [".metriclint_cache", ".metriclint_cache/v*"])
def test_symlinked_cache_is_not_written_through(tmp_path, linked):
    # A `.metriclint_cache` committed as a link (or a link inside it) would make metriclint write where
    # it points: outside the project. Such a cache is not used; results are the same.
    from metriclint import __version__

    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (project / "metriclint.toml").write_text('target-keras = "3"\n', encoding="utf-8")
    (project / "train.py").write_text(FIT, encoding="utf-8")
    if linked == ".metriclint_cache":
        os.symlink(str(outside), project / ".metriclint_cache")
    else:
        (project / ".metriclint_cache").mkdir()
        os.symlink(str(outside), project / ".metriclint_cache" / f"v{__version__}")
    expected = metriclint("check", "--no-cache", ".", cwd=project)
    for _ in range(2):
        assert metriclint("check", ".", cwd=project) == expected
    assert os.listdir(outside) == []
    code, out, err = metriclint("clean", ".", cwd=project)
    assert (code, err) == (0, "")
    assert os.listdir(outside) == [] and outside.is_dir()  # `clean` removes the link, not its target


def test_cache_file_replaced_by_a_fifo_or_a_link_is_ignored(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "metriclint.toml").write_text('target-keras = "3"\n', encoding="utf-8")
    (project / "train.py").write_text(FIT, encoding="utf-8")
    expected = metriclint("check", "--no-cache", ".", cwd=project)
    assert metriclint("check", ".", cwd=project) == expected
    cache = _cache_file(project)
    cache.unlink()
    os.mkfifo(cache)  # opening it for reading would wait for a writer forever
    assert metriclint("check", ".", cwd=project, timeout=60) == expected
    secret = tmp_path / "secret.json"
    secret.write_text("{}", encoding="utf-8")
    os.unlink(cache) if cache.exists() or os.path.lexists(cache) else None
    os.symlink(str(secret), cache)
    assert metriclint("check", ".", cwd=project) == expected
    assert secret.read_text(encoding="utf-8") == "{}"  # the link was replaced, its target untouched


@pytest.mark.parametrize("damage", ["deep", "used_not_a_number"])
def test_hostile_cache_contents_are_ignored(tmp_path, damage, monkeypatch):
    # In-process: a cache nested deep enough to exhaust the stack, and entries whose `used` stamp is
    # not a number when the cache is trimmed to MAX_ENTRIES.
    import metriclint.cache as cache_module

    monkeypatch.setattr(cache_module, "MAX_ENTRIES", 2)
    cache = cache_module.ResultCache(str(tmp_path))
    os.makedirs(os.path.dirname(cache.path))
    if damage == "deep":
        Path(cache.path).write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    else:
        entries = {"a": {"diagnostics": [], "used": "yesterday"}, "b": {"diagnostics": [], "used": 10 ** 400},
                   "c": {"diagnostics": [], "used": True}, "d": [], "e": {"diagnostics": [], "used": 5.0}}
        Path(cache.path).write_text(json.dumps(entries), encoding="utf-8")
    cache = cache_module.ResultCache(str(tmp_path))
    cache.put("new", [])
    cache.save()
    saved = json.loads(Path(cache.path).read_text(encoding="utf-8"))
    assert "new" in saved and len(saved) == (1 if damage == "deep" else 2)
    if damage != "deep":
        assert set(saved) == {"new", "e"}  # the entries with a real time stamp are kept
