"""Speed of `metriclint check` against its peers, on the keras 3.15.1 + tf-keras 2.21.0 sources.

    python bench/speed.py                                  # fetch the corpus, run, print, write JSON
    python bench/speed.py --repeats 5 --peers-bin /path/to/venv/bin --out bench/speed.json

Every command runs as a whole process, in the directory it checks (so a cache lands there, as it
would for a user); runs are interleaved (A B C A B C ...) so a drift in the machine's speed hits
all commands alike, and figures are medians. Memory: the largest single process (`os.wait4`) and
the whole process tree (parent and workers, from /proc, sampled every 20 ms). Peers (ruff,
flake8, fixit, torchfix) are used when found in `--peers-bin` or on PATH; the slow ones run
`--peer-repeats` times. Only ratios measured in the same run mean anything on a shared machine.
metriclint's own modules are byte-compiled first, as `pip install` does.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

PACKAGES = ["keras==3.15.1", "tf-keras==2.21.0"]
SMALL_FILE = '''\
import numpy as np
from tensorflow import keras

x = np.random.rand(64, 4)
y = (x.sum(axis=1) > 2).astype("float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
print(history.history["val_accuracy"][-1])
'''
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def fetch_corpus(directory: Path) -> Path:
    corpus = directory / "src"
    if corpus.is_dir() and any(corpus.rglob("*.py")):
        return corpus
    wheels = directory / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    "-d", str(wheels), *PACKAGES], check=True)
    for wheel in sorted(wheels.glob("*.whl")):
        target = corpus / wheel.stem
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.endswith(".py"):
                    archive.extract(name, target)
    return corpus


def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants (Linux /proc; 0 elsewhere)."""
    children: Dict[int, List[int]] = {}
    rss: Dict[int, int] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(entry), int(fields[1])
        children.setdefault(parent, []).append(pid)
        rss[pid] = int(fields[21]) * PAGE
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total


def run_once(argv: List[str], cwd: Path) -> Dict[str, float]:
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_tree = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak_tree[0] = max(peak_tree[0], _tree_rss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "max_rss_mb": usage.ru_maxrss / 1024,
            "tree_rss_mb": peak_tree[0] / 2**20, "exit": process.returncode}


def find(tool: str, extra: Optional[str]) -> Optional[str]:
    if extra:
        candidate = Path(extra) / tool
        if candidate.exists():
            return str(candidate)
    return shutil.which(tool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus-dir", default=str(Path(tempfile.gettempdir()) / "metriclint-speed-corpus"),
                        help="where the downloaded wheels and their sources are kept between runs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peer-repeats", type=int, default=1, help="runs of the slow peers (flake8, fixit, torchfix)")
    parser.add_argument("--peers-bin", help="a bin directory holding ruff/flake8/fixit/torchfix")
    parser.add_argument("--out", default=str(Path(__file__).with_name("speed.json")))
    args = parser.parse_args()

    import metriclint

    compileall.compile_dir(os.path.dirname(metriclint.__file__), quiet=1)  # as an installed wheel has it
    corpus = fetch_corpus(Path(args.corpus_dir))
    files = list(corpus.rglob("*.py"))
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    work = Path(tempfile.mkdtemp(prefix="metriclint-bench-"))
    cold, warm, single = work / "cold", work / "warm", work / "single"
    shutil.copytree(corpus, cold)
    shutil.copytree(corpus, warm)
    single.mkdir()
    (single / "train.py").write_text(SMALL_FILE)
    # A project of several modules (train.py imports its model, metrics and config): the file a
    # pre-commit hook checks after an edit, with the other modules' summaries in the cache.
    project = work / "project"
    shutil.copytree(Path(__file__).resolve().parent.parent / "tests" / "data" / "projects" / "p01_scripts", project)
    staged = project / "train.py"
    staged_text = staged.read_text()
    edits = iter(range(10**6))

    def edit_staged() -> None:  # a new text each run: its own result is never cached, the summaries are
        staged.write_text(staged_text + f"# edit {next(edits)}\n")
    metriclint_cmd = [sys.executable, "-m", "metriclint", "check", "--exit-zero", "--target-keras", "3"]
    # (name, argv, directory it runs in)
    commands: Dict[str, tuple] = {
        "metriclint cold": (metriclint_cmd + ["--no-cache", "."], cold),
        "metriclint cold -j1": (metriclint_cmd + ["--no-cache", "--jobs", "1", "."], cold),
        "metriclint warm": (metriclint_cmd + ["."], warm),
        "metriclint one file": (metriclint_cmd + ["--no-cache", "train.py"], single),
        "metriclint one file, cached": (metriclint_cmd + ["train.py"], single),
        "metriclint project file, edited": (metriclint_cmd + ["train.py"], project),
        "python -c import libcst, click": ([sys.executable, "-c", "import libcst, click"], single),
    }
    before = {"metriclint project file, edited": edit_staged}
    ruff = find("ruff", args.peers_bin)
    if ruff:
        commands["ruff --select ALL --no-cache"] = (
            [ruff, "check", "--select", "ALL", "--no-cache", "--exit-zero", "-q", "."], cold)
    slow: Dict[str, tuple] = {}
    for tool, argv in (("flake8", ["--exit-zero"]), ("fixit", ["lint"]), ("torchfix", [])):
        path = find(tool, args.peers_bin)
        if path:
            slow[tool] = ([path, *argv, "."], cold)

    for name in ("metriclint warm", "metriclint one file, cached", "metriclint project file, edited"):  # prime the caches
        argv, cwd = commands[name]
        subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    runs: Dict[str, List[Dict[str, float]]] = {name: [] for name in list(commands) + list(slow)}
    for repeat in range(args.repeats):
        for name, (argv, cwd) in commands.items():
            if name in before:
                before[name]()
            runs[name].append(run_once(argv, cwd))
        if repeat < args.peer_repeats:
            for name, (argv, cwd) in slow.items():
                runs[name].append(run_once(argv, cwd))
        print(f"round {repeat + 1}/{args.repeats} done", file=sys.stderr)

    figures = ("wall", "cpu", "max_rss_mb", "tree_rss_mb")
    medians = {name: {k: statistics.median(r[k] for r in results) for k in figures}
               for name, results in runs.items() if results}
    exits = {name: sorted({int(r["exit"]) for r in results}) for name, results in runs.items()}
    ruff_wall = medians.get("ruff --select ALL --no-cache", {}).get("wall")
    base = medians["python -c import libcst, click"]["wall"]
    cold_wall = medians["metriclint cold"]["wall"]
    peaks = [medians[n]["tree_rss_mb"] for n in ("metriclint cold", "metriclint cold -j1")]
    targets = {
        "cold / ruff cold <= 3": (cold_wall / ruff_wall) if ruff_wall else None,
        "fixit / cold >= 10": (medians["fixit"]["wall"] / cold_wall) if "fixit" in medians else None,
        "warm / ruff cold < 1": (medians["metriclint warm"]["wall"] / ruff_wall) if ruff_wall else None,
        "one file / import libcst,click <= 1.5": medians["metriclint one file"]["wall"] / base,
        "project file, edited / import libcst,click <= 1.5": medians["metriclint project file, edited"]["wall"] / base,
        "peak memory, whole process tree, MB < 500": max(peaks),
        "-j1 / -j2 >= 1.7": medians["metriclint cold -j1"]["wall"] / cold_wall,
    }
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_average_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None},
        "corpus": {"packages": PACKAGES, "files": len(files), "lines": lines},
        "repeats": args.repeats,
        "peer_repeats": args.peer_repeats,
        "medians": medians,
        "exit_codes": exits,
        "targets": targets,
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"corpus: {len(files)} files, {lines} lines; medians of {args.repeats} interleaved runs")
    print(f"{'command':38} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'tree MB':>8}  exit")
    for name, m in medians.items():
        print(f"{name:38} {m['wall']:8.2f} {m['cpu']:8.2f} {m['max_rss_mb']:8.0f} {m['tree_rss_mb']:8.0f}  {exits[name]}")
    for name, value in targets.items():
        print(f"{name:44} {value if value is None else round(value, 2)}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
