"""What metrics cost per training step: the numbers quoted by rules KM301-KM303.

Trains the same small MLP (synthetic binary data, batch 64, CPU) under several metric
configurations, on Keras 3 (TensorFlow's default) and on tf_keras 2 (`TF_USE_LEGACY_KERAS=1`).

- Every (repetition, flavour, configuration) runs in a fresh subprocess, so no configuration
  inherits another's traced functions or caches. Repetitions are interleaved: round 1 runs
  every configuration once, then round 2, and so on.
- Inside that process a second model, compiled without metrics, is the baseline: the two
  models train one epoch each in turn (after one untimed warm-up epoch each), so every
  configuration epoch has a baseline epoch measured next to it, under the same machine load.
  The configuration "none" pairs two baseline models: its ratio shows the noise floor.
- A callback times each epoch from `on_epoch_begin` to `on_epoch_end` (it is the last
  callback, so the epoch-end work of the others is included), in wall time and in process
  CPU time (all threads).
- Slow configurations run fewer steps per epoch, so the comparison is per training step:
  ratio = median over all pairs of (configuration step time / baseline step time).

    python bench/metric_cost.py --out bench/metric_cost.json

A full run is 48 training processes, mostly importing TensorFlow: about 10 minutes on 2
cores; `--reps 1` is a quick look.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

# name -> (steps per epoch, timed epochs, description). The configurations that are ~20-300x
# slower per step run fewer and shorter epochs, so that a full run stays within minutes.
CONFIGS: Dict[str, tuple] = {
    "none": (200, 5, "no metrics (a second baseline model: the noise floor)"),
    "accuracy": (200, 5, 'metrics=["accuracy"]'),
    "auc_default_pr": (200, 5, "AUC() + Precision() + Recall() (default 200 thresholds)"),
    "auc_10000_pr": (200, 5, "AUC(num_thresholds=10000) + Precision() + Recall()"),
    "predict_per_epoch": (200, 5, 'metrics=["accuracy"], a callback running model.predict(x_val) in on_epoch_end'),
    "predict_per_batch": (6, 3, 'metrics=["accuracy"], the same callback work in on_train_batch_end'),
    "run_eagerly": (20, 3, 'metrics=["accuracy"], compile(run_eagerly=True)'),
    "numpy_metric_eager": (20, 3, "a NumPy metric function (y.numpy()), which needs compile(run_eagerly=True)"),
}
FLAVOURS = {"3": "Keras 3", "2": "tf_keras 2 (TF_USE_LEGACY_KERAS=1)"}
BASE_STEPS = 200  # steps per epoch of the baseline model
BATCH = 64
FEATURES = 32
VALIDATION = 2048  # samples the callbacks predict on


# --- the worker: one configuration, one flavour, one fresh process ------------------------------
def worker(config: str) -> Dict[str, Any]:
    import numpy as np
    from tensorflow import keras

    steps, timed, _ = CONFIGS[config]
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    w = rng.normal(size=(FEATURES,)).astype("float32")
    x = rng.normal(size=(max(steps, BASE_STEPS) * BATCH, FEATURES)).astype("float32")
    y = (x @ w + rng.normal(scale=2.0, size=len(x)) > 0).astype("float32").reshape(-1, 1)
    x_val = rng.normal(size=(VALIDATION, FEATURES)).astype("float32")

    def numpy_mae(y_true, y_pred):
        return np.mean(np.abs(y_true.numpy() - y_pred.numpy()))

    def build(metrics: List[Any], run_eagerly: bool = False):
        model = keras.Sequential(
            [
                keras.Input((FEATURES,)),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=metrics, run_eagerly=run_eagerly)
        return model

    class PredictPerBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.predict(x_val, verbose=0)

    class PredictPerEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.predict(x_val, verbose=0)

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.start_cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.wall = time.perf_counter() - self.start
            self.cpu = time.process_time() - self.start_cpu

    metrics: List[Any] = ["accuracy"]
    run_eagerly = False
    extra: List[Any] = []
    if config == "none":
        metrics = []
    elif config == "auc_default_pr":
        metrics = [keras.metrics.AUC(), keras.metrics.Precision(), keras.metrics.Recall()]
    elif config == "auc_10000_pr":
        metrics = [keras.metrics.AUC(num_thresholds=10000), keras.metrics.Precision(), keras.metrics.Recall()]
    elif config == "run_eagerly":
        run_eagerly = True
    elif config == "numpy_metric_eager":
        metrics, run_eagerly = [numpy_mae], True
    elif config == "predict_per_batch":
        extra = [PredictPerBatch()]
    elif config == "predict_per_epoch":
        extra = [PredictPerEpoch()]

    base, model = build([]), build(metrics, run_eagerly)
    n_base, n_model = BASE_STEPS * BATCH, steps * BATCH
    keys: List[str] = []

    def epoch(which) -> Tuple[float, float]:
        nonlocal keys
        timer = EpochTimer()
        if which is base:
            base.fit(x[:n_base], y[:n_base], batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[timer])
        else:  # the timer is last: its on_epoch_end sees the others' epoch-end work done
            history = model.fit(
                x[:n_model], y[:n_model], batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[*extra, timer]
            )
            keys = sorted(history.history)
        return timer.wall, timer.cpu

    epoch(base), epoch(model)  # warm-up: tracing, building, the first predict
    pairs = []
    for index in range(timed):  # alternate which model goes first
        order = (base, model) if index % 2 == 0 else (model, base)
        measured = {id(which): epoch(which) for which in order}
        pairs.append({"base": measured[id(base)], "config": measured[id(model)]})
    return {"config": config, "steps": steps, "base_steps": BASE_STEPS, "pairs": pairs, "keys": keys}


def _versions() -> Dict[str, Any]:
    import numpy as np
    import tensorflow as tf

    found: Dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__, "tensorflow": tf.__version__}
    if os.environ.get("TF_USE_LEGACY_KERAS") == "1":
        import tf_keras

        found["tf_keras"] = tf_keras.__version__
    else:
        import keras

        found["keras"] = keras.__version__
    return found


# --- the driver ---------------------------------------------------------------------------------
def _env(flavour: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("TF_USE_LEGACY_KERAS", None)
    env.update(CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", PYTHONHASHSEED="0")
    if flavour == "2":
        env["TF_USE_LEGACY_KERAS"] = "1"
    return env


def _run(args: List[str], flavour: str) -> Dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=_env(flavour), capture_output=True, text=True, check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"worker {args} under Keras {flavour} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def _ratios(pairs: List[Dict[str, Any]], steps: int, which: int) -> List[float]:
    """Per pair: configuration step time / baseline step time (which: 0 wall, 1 CPU)."""
    return [(p["config"][which] / steps) / (p["base"][which] / BASE_STEPS) for p in pairs]


def _machine() -> Dict[str, Any]:
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "cpu": model,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="bench/metric_cost.json", help="JSON file to write")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (fresh processes) per configuration")
    parser.add_argument("--flavours", default="3,2", help="3 (Keras 3), 2 (tf_keras) or 3,2")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of " + ", ".join(CONFIGS))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--versions", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.versions:
        print(json.dumps(_versions()))
        return 0
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return 0

    flavours = [f for f in args.flavours.split(",") if f]
    configs = [c for c in args.configs.split(",") if c]
    for name in configs:
        if name not in CONFIGS:
            parser.error(f"unknown configuration {name!r}")
    for flavour in flavours:
        if flavour not in FLAVOURS:
            parser.error(f"unknown flavour {flavour!r}")

    started = time.time()
    report: Dict[str, Any] = {
        "benchmark": "bench/metric_cost.py",
        "command": "python bench/metric_cost.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
        "settings": {
            "model": f"MLP {FEATURES}-64-64-1 (relu, sigmoid), binary_crossentropy, adam, CPU",
            "batch_size": BATCH,
            "baseline": f"a model compiled without metrics, {BASE_STEPS} steps per epoch, same process",
            "epochs": "1 untimed warm-up epoch per model, then timed epochs alternating with the baseline's",
            "repetitions": args.reps,
            "validation_samples_predicted_by_callbacks": VALIDATION,
            "ratio": "median over all (configuration, baseline) epoch pairs of configuration step time / baseline "
                     "step time (wall clock)",
            "cpu_ratio": "the same with process CPU time (all threads)",
        },
        "configs": {
            name: {"steps_per_epoch": CONFIGS[name][0], "timed_epochs": CONFIGS[name][1], "description": CONFIGS[name][2]}
            for name in configs
        },
        "flavours": {},
    }
    raw: Dict[str, Dict[str, List[Dict[str, Any]]]] = {f: {c: [] for c in configs} for f in flavours}
    for flavour in flavours:
        report["flavours"][flavour] = {"name": FLAVOURS[flavour], "versions": _run(["--versions"], flavour)}
    for rep in range(args.reps):
        for flavour in flavours:
            for name in configs:
                result = _run(["--worker", name], flavour)
                raw[flavour][name].append(result)
                ratios = _ratios(result["pairs"], result["steps"], 0)
                step_ms = 1000 * statistics.median(p["config"][0] for p in result["pairs"]) / result["steps"]
                print(f"rep {rep + 1}/{args.reps}  Keras {flavour}  {name:<20} {step_ms:8.2f} ms/step "
                      f"{statistics.median(ratios):8.2f}x", file=sys.stderr, flush=True)

    for flavour in flavours:
        results: Dict[str, Any] = {}
        for name in configs:
            runs = raw[flavour][name]
            steps = CONFIGS[name][0]
            pairs = [pair for run in runs for pair in run["pairs"]]
            epochs = [pair["config"][0] for pair in pairs]
            base_epochs = [pair["base"][0] for pair in pairs]
            results[name] = {
                "ratio": round(statistics.median(_ratios(pairs, steps, 0)), 2),
                "cpu_ratio": round(statistics.median(_ratios(pairs, steps, 1)), 2),
                "median_epoch_s": round(statistics.median(epochs), 5),
                "median_step_ms": round(1000 * statistics.median(epochs) / steps, 4),
                "baseline_median_step_ms": round(1000 * statistics.median(base_epochs) / BASE_STEPS, 4),
                "epoch_pairs_s": [[[round(p["config"][0], 5), round(p["base"][0], 5)] for p in run["pairs"]] for run in runs],
                "log_keys": runs[0]["keys"],
            }
        report["flavours"][flavour]["results"] = results
    report["wall_time_s"] = round(time.time() - started, 1)
    report["machine"]["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    print("per-step time; ratio = median of per-step time / paired no-metrics baseline (cpu: the same in CPU time)")
    print(f"{'configuration':<20}" + "".join(f"{'K' + f + ' ms/step':>14}{'ratio':>9}{'cpu':>9}" for f in flavours))
    for name in configs:
        row = f"{name:<20}"
        for flavour in flavours:
            res = report["flavours"][flavour]["results"][name]
            row += f"{res['median_step_ms']:>14.2f}{res['ratio']:>8.2f}x{res['cpu_ratio']:>8.2f}x"
        print(row)
    print(f"wrote {out} ({report['wall_time_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
