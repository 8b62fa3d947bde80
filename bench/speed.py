"""Speed of `metriclint check` against its peers, on the keras 3.15.1 + tf-keras 2.21.0 sources.

    python bench/speed.py                 # fetch the corpus (pip download), run, print, write JSON
    python bench/speed.py --repeats 7 --out bench/speed.json --peers-bin /path/to/venv/bin

Every command runs as a whole process; runs are interleaved (A B C A B C ...) so a drift in
the machine's speed hits all commands alike, and figures are medians. Peak memory is the
largest resident set of the process tree, from `os.wait4`. Peers (ruff, flake8, fixit,
torchfix) are used when found on PATH or in `--peers-bin`; the slow ones run `--peer-repeats`
times. Only ratios measured in the same run mean anything on a shared machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
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


def run_once(argv: List[str], cwd: Optional[Path] = None) -> Dict[str, float]:
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "max_rss_mb": usage.ru_maxrss / 1024,
            "exit": process.returncode}


def find(tool: str, extra: Optional[str]) -> Optional[str]:
    if extra:
        candidate = Path(extra) / tool
        if candidate.exists():
            return str(candidate)
    return shutil.which(tool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus-dir", default=str(Path(__file__).with_name(".corpus")))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peer-repeats", type=int, default=1, help="runs of the slow peers (flake8, fixit, torchfix)")
    parser.add_argument("--peers-bin", help="a bin directory holding ruff/flake8/fixit/torchfix")
    parser.add_argument("--out", default=str(Path(__file__).with_name("speed.json")))
    args = parser.parse_args()

    corpus = fetch_corpus(Path(args.corpus_dir))
    files = list(corpus.rglob("*.py"))
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    work = Path(tempfile.mkdtemp(prefix="metriclint-bench-"))
    small = work / "small.py"
    small.write_text(SMALL_FILE)
    metriclint = [sys.executable, "-m", "metriclint", "check", "--exit-zero", "--target-keras", "3"]
    warm_cache = work / "warm"
    shutil.copytree(corpus, warm_cache)
    commands: Dict[str, List[str]] = {
        "metriclint cold": metriclint + ["--no-cache", str(corpus)],
        "metriclint cold -j1": metriclint + ["--no-cache", "--jobs", "1", str(corpus)],
        "metriclint warm": metriclint + [str(warm_cache)],
        "metriclint one file": metriclint + ["--no-cache", str(small)],
        "python -c import libcst, click": [sys.executable, "-c", "import libcst, click"],
    }
    ruff = find("ruff", args.peers_bin)
    if ruff:
        commands["ruff --select ALL --no-cache"] = [ruff, "check", "--select", "ALL", "--no-cache", "--exit-zero",
                                                    "-q", str(corpus)]
    slow: Dict[str, List[str]] = {}
    for tool, argv in (("flake8", ["--exit-zero"]), ("fixit", ["lint"]), ("torchfix", [])):
        path = find(tool, args.peers_bin)
        if path:
            slow[tool] = [path, *argv, str(corpus)]

    subprocess.run(commands["metriclint warm"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # prime
    runs: Dict[str, List[Dict[str, float]]] = {name: [] for name in list(commands) + list(slow)}
    for repeat in range(args.repeats):
        for name, argv in commands.items():
            runs[name].append(run_once(argv))
        if repeat < args.peer_repeats:
            for name, argv in slow.items():
                runs[name].append(run_once(argv))
        print(f"round {repeat + 1}/{args.repeats} done", file=sys.stderr)

    medians = {name: {k: statistics.median(r[k] for r in results) for k in ("wall", "cpu", "max_rss_mb")}
               for name, results in runs.items() if results}
    ruff_wall = medians.get("ruff --select ALL --no-cache", {}).get("wall")
    base = medians["python -c import libcst, click"]["wall"]
    cold = medians["metriclint cold"]["wall"]
    targets = {
        "cold <= 5x ruff": (cold / ruff_wall) if ruff_wall else None,
        "fixit / cold >= 10": (medians["fixit"]["wall"] / cold) if "fixit" in medians else None,
        "warm / ruff cold < 1": (medians["metriclint warm"]["wall"] / ruff_wall) if ruff_wall else None,
        "one file / import libcst,click <= 1.5": medians["metriclint one file"]["wall"] / base,
        "peak memory MB < 500": max(medians[n]["max_rss_mb"] for n in ("metriclint cold", "metriclint cold -j1")),
        "-j1 / -j2 >= 1.7": medians["metriclint cold -j1"]["wall"] / cold,
    }
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "corpus": {"packages": PACKAGES, "files": len(files), "lines": lines},
        "repeats": args.repeats,
        "medians": medians,
        "targets": targets,
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"corpus: {len(files)} files, {lines} lines; medians of {args.repeats} interleaved runs")
    print(f"{'command':38} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}")
    for name, m in medians.items():
        print(f"{name:38} {m['wall']:8.2f} {m['cpu']:8.2f} {m['max_rss_mb']:8.0f}")
    for name, value in targets.items():
        print(f"{name:40} {value if value is None else round(value, 2)}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
