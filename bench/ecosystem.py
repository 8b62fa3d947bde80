"""Ecosystem check: run metriclint over the sources of real Keras-heavy packages from PyPI.

    python bench/ecosystem.py                      # every package below (tensorflow included)
    python bench/ecosystem.py --packages keras,deepchem --cache-dir /tmp/eco

For each package: `pip download --no-deps` its wheel (or its sdist when there is no wheel)
into the cache directory, unpack the Python sources (.py, .pyi, .ipynb and the files that
declare dependencies), then on copies of them:

  * `metriclint check` three times: `--no-cache` with the default workers, `--jobs 1` with a
    cold cache, and again with the warm cache; the three results must be identical;
  * `metriclint check --no-cache` with the prefilter off (every file parsed and every rule run):
    the result must be identical too, so the prefilter only ever saves time;
  * for each rule R the default run reports, `metriclint check --select R` on the files it reports
    R in (and on every file with a tool code): the same findings of R and the same tool codes, so
    what is selected never changes an answer;
  * `metriclint fix --unsafe-fixes`; every file it changed must still `compile()` (and parse
    with libcst) when the original did; no other file may change and no stray file appear;
    no line of its diff may change only in whitespace (a fix changes only the tokens it must:
    a removed line and an added line of one hunk that are equal without their whitespace
    count as one such line, e.g. a continuation line re-indented);
  * `metriclint fix --unsafe-fixes` a second time: it must change nothing.

Reports per package: files, lines, internal errors (E000 diagnostics, and runs that died: must be 0),
diagnostics per rule, fixed files, broken fixes (must be 0), lines of the fixes' diff that change
only in whitespace (must be 0), files a second fix changes (must be 0), differences between runs,
with the prefilter off and with `--select R` (must be 0).
Prints a table and writes a JSON summary,
the diagnostics of each package (for the precision review) and the fixes as a diff to
`--out` (default: CACHE_DIR/results). Exit status 1 when a must-be-zero figure is not 0.

Nothing downloaded is imported or run by this script or by metriclint (pip itself runs an
sdist's build backend to read its metadata; only packages without a wheel are fetched that way).
"""

from __future__ import annotations

import argparse
import ast
import datetime
import difflib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Pinned, so the figures in bench/ECOSYSTEM.md can be reproduced. `keras-nlp` 0.15+ is a
# re-export of keras-hub: 0.14.4 is its last release with code of its own.
PACKAGES: Tuple[Tuple[str, str, str], ...] = (
    # (name, version, why it is here)
    ("keras", "3.15.1", "Keras 3 itself: the API, engine and its own tests' shapes"),
    ("tf-keras", "2.21.0", "Keras 2 as tf_keras"),
    ("keras-hub", "0.32.0", "Keras 3 pretrained models and tasks"),
    ("keras-nlp", "0.14.4", "Keras 3 NLP models (last standalone release)"),
    ("keras-cv", "0.9.0", "Keras 3 vision models and metrics"),
    ("keras-tuner", "1.4.8", "hyperparameter search: fit/callbacks/objectives"),
    ("autokeras", "3.0.0", "AutoML on Keras 3"),
    ("keras-rs", "0.4.0", "Keras 3 recommenders"),
    ("tensorflow-cpu", "2.21.0", "TensorFlow's Python sources (tf.keras docstrings, legacy keras)"),
    ("tensorflow-addons", "0.23.0", "tfa.metrics: hand-written Metric classes"),
    ("tensorflow-probability", "0.25.0", "Keras layers and callbacks in TFP"),
    ("tensorflow-model-optimization", "0.8.1", "pruning/quantisation wrappers and callbacks"),
    ("tensorflow-recommenders", "0.7.7", "tfrs: custom train_step and metrics"),
    ("tensorflow-similarity", "0.17.1", "metric learning: custom metrics and callbacks"),
    ("tf-models-official", "2.20.0", "TF Model Garden: trainers, tasks, metrics"),
    ("deepchem", "2.8.0", "KerasModel with fit(nb_epoch=...) of its own: must stay silent"),
    ("deepctr", "0.9.4", "CTR models on tf.keras"),
    ("spektral", "1.3.1", "graph neural networks on Keras"),
    ("stellargraph", "1.2.1", "graph ML on tf.keras"),
    ("segmentation-models", "1.0.1", "segmentation metrics and losses (keras and tf.keras)"),
    ("efficientnet", "1.1.1", "model zoo (keras and tf.keras)"),
    ("keras-cv-attention-models", "1.4.3", "large tf.keras model zoo with training scripts"),
    ("keras-unet-collection", "0.1.13", "U-Net variants and losses"),
    ("keras-tcn", "3.5.7", "TCN layer"),
    ("keras-ocr", "0.9.3", "OCR pipeline with training code"),
    ("keras-rl2", "1.0.5", "RL agents: reset_states on agents and processes"),
    ("keras-rl", "0.4.2", "RL agents on Keras 2 (sdist)"),
    ("larq", "0.14.0", "binarised networks: layers, metrics, callbacks"),
    ("qkeras", "0.9.0", "quantised Keras layers"),
    ("tf-explain", "0.3.1", "interpretability callbacks"),
    ("tf-keras-vis", "0.8.7", "visualisation on tf.keras"),
    ("keras-vis", "0.4.1", "visualisation on old Keras"),
    ("keras-metrics", "1.1.0", "old batch-wise metric functions"),
    ("livelossplot", "0.6.1", "training plots from Keras logs (log keys)"),
    ("talos", "2.0.10", "parameter sweeps around model.fit"),
    ("ktrain", "0.41.4", "tf.keras application wrapper: fit, callbacks, history (sdist)"),
    ("keras-retinanet", "1.0.0", "object detection training code, old Keras (sdist)"),
    ("keras-maskrcnn", "0.2.2", "Mask R-CNN on Keras (sdist)"),
    ("keras-bert", "0.89.0", "BERT on Keras (sdist)"),
    ("keras-self-attention", "0.51.0", "attention layers (sdist)"),
)

SOURCE_SUFFIXES = (".py", ".pyi", ".ipynb")
DEPENDENCY_FILES = ("pyproject.toml", "setup.cfg", "metriclint.toml")  # plus requirements*.txt
MUST_BE_ZERO = ("internal_errors", "internal_errors_fix", "crashed_runs", "broken_fixes", "whitespace_only_lines",
                "refixed_files", "run_differences", "prefilter_differences", "select_differences", "stray_changes")
# `metriclint check` with the prefilter saying "could fire" for every file that parses (as
# tests/test_prefilter.py does in-process); the worker processes are forked, so they have it too.
_NO_PREFILTER = (
    "import sys, metriclint.engine as engine\n"
    "original = engine._prefilter\n"
    "def everything(text, codes, flavour):\n"
    "    found = original(text, codes, flavour)\n"
    "    return found._replace(verdict=None if found.verdict is None else True)\n"
    "engine._prefilter = everything\n"
    "from metriclint.cli import main\n"
    "sys.argv[0] = 'metriclint'\n"
    "main()\n"
)


@dataclass
class PackageResult:
    name: str
    version: str
    dist: str = ""
    files: int = 0
    lines: int = 0
    internal_errors: int = 0  # E000 diagnostics of `check`
    internal_errors_fix: int = 0  # E000 diagnostics left by the two `fix` runs
    crashed_runs: int = 0  # runs that died, timed out or printed no report
    diagnostics: Dict[str, int] = field(default_factory=dict)
    files_with_diagnostics: int = 0
    fixes_applied: int = 0
    fixed_files: int = 0
    broken_fixes: int = 0
    broken_files: List[str] = field(default_factory=list)
    fix_hunks: int = 0
    whitespace_only_lines: int = 0  # lines of the fix diff whose only change is whitespace
    whitespace_only: List[str] = field(default_factory=list)  # the first few, for the report
    rejected_fixes: int = 0
    not_written: int = 0
    refixed_files: int = 0
    refixed: List[str] = field(default_factory=list)
    run_differences: int = 0
    prefilter_differences: int = 0  # diagnostics that differ when every file is parsed
    select_differences: int = 0  # diagnostics of rule R that differ between `--select R` and the default run
    select_runs: int = 0
    stray_changes: int = 0  # files changed or created by fix that are not fixed Python sources
    stray: List[str] = field(default_factory=list)
    seconds: Dict[str, float] = field(default_factory=dict)
    error: Optional[str] = None
    problems: List[str] = field(default_factory=list)  # stderr lines that look like trouble

    @property
    def ok(self) -> bool:
        return self.error is None and all(getattr(self, key) == 0 for key in MUST_BE_ZERO)


# --- fetch and unpack ------------------------------------------------------------------------------------
def _pip_download(spec: str, dest: str, binary_only: bool) -> bool:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
               "--ignore-requires-python", "-d", dest, spec]
    if binary_only:
        command.insert(5, "--only-binary=:all:")
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return done.returncode == 0


def fetch(name: str, version: str, cache_dir: str) -> str:
    """The path of the package's wheel or sdist, downloaded once into the cache."""
    dest = os.path.join(cache_dir, "dist", f"{name}-{version}")
    existing = [f for f in os.listdir(dest)] if os.path.isdir(dest) else []
    existing = [f for f in existing if f.endswith((".whl", ".tar.gz", ".zip", ".tar.bz2"))]
    if existing:
        return os.path.join(dest, sorted(existing)[0])
    os.makedirs(dest, exist_ok=True)
    spec = f"{name}=={version}" if version else name
    if not _pip_download(spec, dest, binary_only=True) and not _pip_download(spec, dest, binary_only=False):
        raise RuntimeError(f"pip download {spec} failed")
    found = sorted(f for f in os.listdir(dest) if f.endswith((".whl", ".tar.gz", ".zip", ".tar.bz2")))
    if not found:
        raise RuntimeError(f"pip download {spec} saved no distribution")
    return os.path.join(dest, found[0])


def _wanted_member(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    if name.endswith(SOURCE_SUFFIXES) or base in DEPENDENCY_FILES:
        return True
    return base.startswith("requirements") and base.endswith(".txt")


def _safe_relpath(name: str) -> Optional[str]:
    name = name.replace("\\", "/")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or name.startswith("/") or ".." in parts:
        return None
    return os.path.join(*parts)


def unpack(dist: str, cache_dir: str, key: str) -> str:
    """The directory holding the distribution's sources (only regular files; no links)."""
    target = os.path.join(cache_dir, "src", key)
    stamp = os.path.join(target, ".unpacked-v3")  # bump when what is unpacked changes
    if os.path.exists(stamp):
        return target
    if os.path.isdir(target):
        shutil.rmtree(target)
    os.makedirs(target)

    def put(rel: Optional[str], data: bytes) -> None:
        if rel is None:
            return
        path = os.path.join(target, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)

    if dist.endswith((".whl", ".zip")):
        with zipfile.ZipFile(dist) as archive:
            for info in archive.infolist():
                if not info.is_dir() and _wanted_member(info.filename):
                    put(_safe_relpath(info.filename), archive.read(info))
            # A wheel has no pyproject.toml: its declared dependencies become a requirements.txt,
            # so metriclint infers the Keras flavour the package targets, as in its repository.
            metadata = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            if metadata and not os.path.exists(os.path.join(target, "requirements.txt")):
                text = archive.read(metadata[0]).decode("utf-8", "replace")
                # extras too: metriclint reads optional dependencies (TensorFlow Addons declares
                # its TensorFlow range only as the extra `tensorflow`)
                requires = [line.split(":", 1)[1].split(";", 1)[0].strip() for line in text.splitlines()
                            if line.startswith("Requires-Dist:")]
                put("requirements.txt", ("\n".join(requires) + "\n").encode())
    else:
        with tarfile.open(dist) as archive:
            for member in archive.getmembers():
                if member.isfile() and _wanted_member(member.name):
                    handle = archive.extractfile(member)
                    if handle is not None:
                        put(_safe_relpath(member.name), handle.read())
    with open(stamp, "w", encoding="utf-8") as handle:
        handle.write(os.path.basename(dist) + "\n")
    return target


# --- running metriclint ----------------------------------------------------------------------------------
def metriclint(args: Sequence[str], cwd: str, log: str, timeout: float,
               entry: Sequence[str] = ("-m", "metriclint")) -> Tuple[int, str, str, float]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH")]))
    env.pop("METRICLINT_DEBUG", None)
    env["CI"] = "1"  # no progress bar
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, *entry, *args], cwd=cwd, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = -1, exc.stdout or "", (exc.stderr or "") + f"\nTIMEOUT after {timeout:.0f} s\n"
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        if isinstance(err, bytes):
            err = err.decode("utf-8", "replace")
    elapsed = time.perf_counter() - start
    with open(log, "w", encoding="utf-8") as handle:
        handle.write(f"$ metriclint {' '.join(args)}\n# exit {code}, {elapsed:.2f} s\n--- stderr\n{err}")
    return code, out, err, elapsed


def _diagnostics(out: str) -> List[dict]:
    try:
        data = json.loads(out)
    except ValueError:
        return []
    return data if isinstance(data, list) else []


def _identity(diag: dict) -> str:
    return json.dumps(diag, sort_keys=True)


def _tree(root: str) -> Dict[str, str]:
    """Relative path -> SHA-256 of every file under `root` (the result cache excluded)."""
    out = {}
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".metriclint_cache"]
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                out[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return out


def _compiles(data: bytes, name: str) -> bool:
    try:
        compile(data, name, "exec", dont_inherit=True, flags=ast.PyCF_ONLY_AST)
        compile(data, name, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _cst_parses(data: bytes) -> bool:
    import libcst

    try:
        libcst.parse_module(data)
    except Exception:  # noqa: BLE001 - any failure counts
        return False
    return True


def _notebook_compiles(data: bytes, name: str) -> bool:
    try:
        book = json.loads(data)
    except ValueError:
        return False
    for cell in book.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        lines = [("pass  # " + line) if line.lstrip().startswith(("%", "!", "?")) else line for line in source.splitlines()]
        if not _compiles("\n".join(lines).encode("utf-8"), name):
            return False
    return True


def whitespace_only_changes(diff_lines: Sequence[str]) -> List[Tuple[str, str]]:
    """(removed, added) pairs of lines of one hunk of a unified diff that differ only in whitespace.

    Within each hunk, every removed line is paired with the first unpaired added line that is
    equal to it once all whitespace is taken out (and different with it): a fix that re-indents
    a line it did not need to change shows up as one such pair.
    """
    pairs: List[Tuple[str, str]] = []
    removed: List[str] = []
    added: List[str] = []

    def close_hunk() -> None:
        pool: Dict[str, List[str]] = {}
        for line in added:
            pool.setdefault("".join(line.split()), []).append(line)
        for line in removed:
            candidates = pool.get("".join(line.split()), [])
            for index, candidate in enumerate(candidates):
                if candidate != line:
                    pairs.append((line, candidates.pop(index)))
                    break
        removed.clear()
        added.clear()

    for line in diff_lines:
        if line.startswith(("@@", "---", "+++")):
            close_hunk()
        elif line.startswith("-"):
            removed.append(line[1:].rstrip("\r\n"))
        elif line.startswith("+"):
            added.append(line[1:].rstrip("\r\n"))
    close_hunk()
    return pairs


def _interesting(stderr: str) -> List[str]:
    keys = ("internal error", "Traceback", "would make the file invalid", "not written", "TIMEOUT")
    return [line for line in stderr.splitlines() if any(k in line for k in keys)]


def run_package(name: str, version: str, cache_dir: str, work: str, out_dir: str, timeout: float) -> PackageResult:
    result = PackageResult(name=name, version=version)
    try:
        started = time.perf_counter()
        dist = fetch(name, version, cache_dir)
        result.dist = os.path.basename(dist)
        source = unpack(dist, cache_dir, f"{name}-{version}")
        result.seconds["fetch"] = round(time.perf_counter() - started, 2)
    except Exception as exc:  # noqa: BLE001 - report and go on with the next package
        result.error = f"fetch failed: {exc}"
        return result

    pkg_out = os.path.join(out_dir, name)
    os.makedirs(pkg_out, exist_ok=True)
    pkg_work = os.path.join(work, name)
    if os.path.exists(pkg_work):
        shutil.rmtree(pkg_work)
    check_tree = os.path.join(pkg_work, "check")
    fix_tree = os.path.join(pkg_work, "fix")
    ignore = shutil.ignore_patterns(".unpacked*")
    shutil.copytree(source, check_tree, ignore=ignore)
    shutil.copytree(source, fix_tree, ignore=ignore)

    for directory, _, files in os.walk(check_tree):
        for file in files:
            if file.endswith(SOURCE_SUFFIXES):
                result.files += 1
                with open(os.path.join(directory, file), "rb") as handle:
                    result.lines += handle.read().count(b"\n")

    common = ["--output-format", "json", "--exit-zero", "."]
    codes, runs = [], []
    for label, extra in (("check", ["--no-cache"]), ("check_j1_cold_cache", ["--jobs", "1"]), ("check_warm_cache", [])):
        code, out, err, seconds = metriclint(["check", *extra, *common], check_tree, os.path.join(pkg_out, f"{label}.log"), timeout)
        result.seconds[label] = round(seconds, 2)
        codes.append(code)
        runs.append(_diagnostics(out))
        result.problems.extend(f"{label}: {line}" for line in _interesting(err))
        if code not in (0, 1, 2) or not out.strip():
            result.crashed_runs += 1
    first = runs[0]
    with open(os.path.join(pkg_out, "check.json"), "w", encoding="utf-8") as handle:
        json.dump(first, handle, indent=1, ensure_ascii=False)
    def differences(other: List[dict]) -> int:
        a, b = Counter(map(_identity, first)), Counter(map(_identity, other))
        return sum(((a - b) + (b - a)).values())

    result.run_differences = sum(differences(other) for other in runs[1:])
    code, out, err, seconds = metriclint(["check", "--no-cache", *common], check_tree, os.path.join(pkg_out, "check_no_prefilter.log"),
                                         timeout, entry=("-c", _NO_PREFILTER))
    result.seconds["check_no_prefilter"] = round(seconds, 2)
    result.problems.extend(f"check_no_prefilter: {line}" for line in _interesting(err))
    if code not in (0, 1, 2) or not out.strip():
        result.crashed_runs += 1
    result.prefilter_differences = differences(_diagnostics(out))
    result.select_differences, result.select_runs = _select_differences(first, check_tree, pkg_out, timeout, result)
    result.internal_errors += sum(1 for d in first if d.get("code") == "E000")
    result.diagnostics = dict(sorted(Counter(d["code"] for d in first).items()))
    result.files_with_diagnostics = len({d["filename"] for d in first})

    # fix, on its own copy
    before = _tree(fix_tree)
    originals = {}
    for rel in before:
        if rel.endswith(SOURCE_SUFFIXES):
            with open(os.path.join(fix_tree, rel), "rb") as handle:
                originals[rel] = handle.read()
    code, out, err, seconds = metriclint(["fix", "--unsafe-fixes", "--no-cache", "--output-format", "json", "--exit-zero", "."],
                                         fix_tree, os.path.join(pkg_out, "fix.log"), timeout)
    result.seconds["fix"] = round(seconds, 2)
    remaining = _diagnostics(out)
    result.internal_errors_fix = sum(1 for d in remaining if d.get("code") == "E000")
    if code not in (0, 1, 2) or not out.strip():
        result.crashed_runs += 1
    result.rejected_fixes = sum(1 for line in err.splitlines() if "would make the file invalid" in line)
    result.not_written = sum(1 for line in err.splitlines() if ": not written:" in line)
    result.problems.extend(f"fix: {line}" for line in _interesting(err))
    after = _tree(fix_tree)
    changed = sorted(rel for rel in after if before.get(rel) != after[rel])
    diff_lines: List[str] = []
    for rel in changed:
        if rel not in originals:
            result.stray_changes += 1
            result.stray.append(rel)
            continue
        result.fixed_files += 1
        with open(os.path.join(fix_tree, rel), "rb") as handle:
            new = handle.read()
        old = originals[rel]
        if rel.endswith(".ipynb"):
            ok_before, ok_after = _notebook_compiles(old, rel), _notebook_compiles(new, rel)
        else:
            ok_before = _compiles(old, rel)
            ok_after = _compiles(new, rel) and _cst_parses(new)
        if ok_before and not ok_after:
            result.broken_fixes += 1
            result.broken_files.append(rel)
        elif not ok_before:
            # syntax newer than this interpreter (libcst reads it): worth a look, not a failure
            result.problems.append(f"fixed a file this Python cannot compile: {rel}")
        diff_lines.extend(difflib.unified_diff(
            old.decode("utf-8", "replace").splitlines(keepends=True), new.decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"a/{rel}", tofile=f"b/{rel}"))
    result.stray_changes += sum(1 for rel in before if rel not in after)
    result.stray.extend(f"{rel} (deleted)" for rel in before if rel not in after)
    with open(os.path.join(pkg_out, "fix.diff"), "w", encoding="utf-8") as handle:
        handle.writelines(line if line.endswith("\n") else line + "\n" for line in diff_lines)
    result.fixes_applied = sum(1 for line in diff_lines if line.startswith("-") and not line.startswith("---"))
    result.fix_hunks = sum(1 for line in diff_lines if line.startswith("@@"))
    reindented = whitespace_only_changes(diff_lines)
    result.whitespace_only_lines = len(reindented)
    result.whitespace_only = [f"{old.rstrip()!r} -> {new.rstrip()!r}" for old, new in reindented[:5]]

    # a second fix must be a no-op
    code, out, err, seconds = metriclint(["fix", "--unsafe-fixes", "--no-cache", "--output-format", "json", "--exit-zero", "."],
                                         fix_tree, os.path.join(pkg_out, "refix.log"), timeout)
    result.seconds["refix"] = round(seconds, 2)
    if code not in (0, 1, 2) or not out.strip():
        result.crashed_runs += 1
    result.internal_errors_fix += sum(1 for d in _diagnostics(out) if d.get("code") == "E000")
    again = _tree(fix_tree)
    result.refixed = sorted(rel for rel in again if after.get(rel) != again[rel])
    result.refixed_files = len(result.refixed)
    shutil.rmtree(pkg_work, ignore_errors=True)
    return result


def _rule_codes() -> List[str]:
    """Every rule's code but KM001's (whether a `# noqa` code is enabled depends on the selection)."""
    sys.path.insert(0, REPO)
    try:
        from metriclint.rules import all_rules
    finally:
        sys.path.remove(REPO)
    return [code for code, rule in all_rules().items() if not rule.from_suppressions]


def _select_differences(default: List[dict], tree: str, pkg_out: str, timeout: float,
                        result: PackageResult) -> Tuple[int, int]:
    """For each rule R the default run reports: `check --select R` on the files it reports R in
    must give exactly those diagnostics of R, and the same tool codes (E9xx) on every file with one.
    Files the default run reports no R in are not run: rules are pure functions of a parsed file,
    so a rule run alone can lose findings to the prefilter but never gain one."""
    tool_files = sorted({d["filename"] for d in default if d["code"].startswith("E")})
    rules = _rule_codes()
    codes = rules if tool_files else sorted({d["code"] for d in default if d["code"] in rules})
    differences = runs = 0
    for code in codes:
        files = sorted({d["filename"] for d in default if d["code"] == code} | set(tool_files))
        if not files:
            continue
        rc, out, err, _ = metriclint(["check", "--no-cache", "--select", code, "--output-format", "json", "--exit-zero",
                                      *files], tree, os.path.join(pkg_out, f"check_select_{code}.log"), timeout)
        runs += 1
        result.problems.extend(f"check --select {code}: {line}" for line in _interesting(err))
        if rc not in (0, 1, 2) or not out.strip():
            result.crashed_runs += 1
            continue
        wanted = Counter(_identity(d) for d in default if d["filename"] in files and (d["code"] == code or d["code"].startswith("E")))
        got = Counter(_identity(d) for d in _diagnostics(out) if d["code"] == code or d["code"].startswith("E"))
        differences += sum(((wanted - got) + (got - wanted)).values())
    return differences, runs


# --- report ----------------------------------------------------------------------------------------------
def machine() -> Dict[str, str]:
    try:
        cores = str(len(os.sched_getaffinity(0)))
    except AttributeError:
        cores = str(os.cpu_count())
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            memory = f"{int(handle.readline().split()[1]) / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from importlib import metadata

    from metriclint import __version__

    try:
        libcst_version = metadata.version("libcst")
    except metadata.PackageNotFoundError:
        libcst_version = "?"
    return {"cpu": cpu, "cores": cores, "memory": memory, "os": platform.platform(),
            "python": platform.python_version(), "libcst": libcst_version, "metriclint": __version__}


def table(results: List[PackageResult]) -> str:
    head = ("package", "version", "files", "lines", "E000", "diags", "fixed", "hunks", "broken", "wsonly", "refix",
            "rundiff", "prefilter", "select", "stray", "seconds")
    rows = []
    for r in results:
        if r.error:
            rows.append((r.name, r.version, "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", r.error[:40]))
            continue
        seconds = sum(v for k, v in r.seconds.items() if k != "fetch")
        rows.append((r.name, r.version, r.files, r.lines, r.internal_errors + r.internal_errors_fix + r.crashed_runs,
                     sum(r.diagnostics.values()), r.fixed_files, r.fix_hunks,
                     r.broken_fixes, r.whitespace_only_lines, r.refixed_files, r.run_differences, r.prefilter_differences,
                     r.select_differences,
                     r.stray_changes, f"{seconds:.1f}"))
    ok = [r for r in results if not r.error]
    rows.append(("TOTAL", "", sum(r.files for r in ok), sum(r.lines for r in ok),
                 sum(r.internal_errors + r.internal_errors_fix + r.crashed_runs for r in ok),
                 sum(sum(r.diagnostics.values()) for r in ok), sum(r.fixed_files for r in ok), sum(r.fix_hunks for r in ok),
                 sum(r.broken_fixes for r in ok), sum(r.whitespace_only_lines for r in ok), sum(r.refixed_files for r in ok),
                 sum(r.run_differences for r in ok), sum(r.prefilter_differences for r in ok),
                 sum(r.select_differences for r in ok), sum(r.stray_changes for r in ok),
                 f"{sum(sum(v for k, v in r.seconds.items() if k != 'fetch') for r in ok):.1f}"))
    return _markdown(head, rows)


def rule_table(results: List[PackageResult]) -> str:
    codes = sorted({code for r in results for code in r.diagnostics})
    if not codes:
        return "(no diagnostics)"
    rows = []
    for r in results:
        if r.diagnostics:
            rows.append((r.name, *[r.diagnostics.get(c, "") or "" for c in codes]))
    rows.append(("TOTAL", *[sum(r.diagnostics.get(c, 0) for r in results) for c in codes]))
    return _markdown(("package", *codes), rows)


def _markdown(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(map(str, head))] + [list(map(str, row)) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells[1:]]
    return "\n".join(lines)


def select(spec: Optional[str]) -> List[Tuple[str, str]]:
    known = {name: version for name, version, _ in PACKAGES}
    if not spec:
        return [(name, version) for name, version, _ in PACKAGES]
    chosen = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if "==" in item:
            name, version = item.split("==", 1)
        elif item in known:
            name, version = item, known[item]
        elif item == "tensorflow":
            name, version = "tensorflow-cpu", known["tensorflow-cpu"]
        else:
            name, version = item, ""  # not in the list: the newest release
        chosen.append((name, version))
    return chosen


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", help="comma-separated names (NAME or NAME==VERSION); default: all of --list")
    parser.add_argument("--cache-dir", default=os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "metriclint-ecosystem"),
                        help="downloads and unpacked sources are kept here (default: %(default)s)")
    parser.add_argument("--out", help="where the JSON summary, diagnostics and fix diffs go (default: CACHE_DIR/results)")
    parser.add_argument("--json", help="also write the JSON summary to this file")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per metriclint run (default: %(default)s)")
    parser.add_argument("--list", action="store_true", help="list the default packages and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, version, why in PACKAGES:
            print(f"{name}=={version:<10} {why}")
        return 0
    cache_dir = os.path.abspath(args.cache_dir)
    out_dir = os.path.abspath(args.out or os.path.join(cache_dir, "results"))
    os.makedirs(out_dir, exist_ok=True)
    sys.path.insert(0, REPO)
    results: List[PackageResult] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="metriclint-eco-") as work:
        for name, version in select(args.packages):
            print(f"== {name} {version}", file=sys.stderr, flush=True)
            result = run_package(name, version, cache_dir, work, out_dir, args.timeout)
            results.append(result)
            status = "ok" if result.ok else ("ERROR " + result.error if result.error else "FAILED")
            print(f"   {result.files} files, {sum(result.diagnostics.values())} diagnostics, {result.fixed_files} fixed: {status}",
                  file=sys.stderr, flush=True)
    summary = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "seconds": round(time.perf_counter() - started, 1),
        "packages": [dict(asdict(r), ok=r.ok) for r in results],
        "totals": {
            "files": sum(r.files for r in results), "lines": sum(r.lines for r in results),
            **{key: sum(getattr(r, key) for r in results) for key in MUST_BE_ZERO},
            "fixed_files": sum(r.fixed_files for r in results),
            "fix_hunks": sum(r.fix_hunks for r in results),
            "diagnostics": dict(sorted(sum((Counter(r.diagnostics) for r in results), Counter()).items())),
        },
    }
    text = json.dumps(summary, indent=1, ensure_ascii=False)
    with open(os.path.join(out_dir, "summary.json"), "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    print(table(results))
    print()
    print(rule_table(results))
    print()
    print(f"machine: {summary['machine']}; {summary['date']}; {summary['seconds']} s; details in {out_dir}")
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"FAILED {r.name}: " + (r.error or ", ".join(f"{k}={getattr(r, k)}" for k in MUST_BE_ZERO if getattr(r, k))))
        for item in r.broken_files + r.whitespace_only + r.refixed + r.stray + r.problems:
            print(f"    {item}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
