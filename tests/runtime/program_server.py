"""A long-lived process that runs fixture programs one after another under one Keras flavour.

Started by `conftest.ProgramServer` with the flavour's environment (`flavour_env`). It imports
TensorFlow and Keras once (about 85 % of a fresh run's time), then serves requests: one JSON
line on its stdin per program, `{"path", "cwd", "args"}`, answered by one JSON line on its own
stdout, `{"returncode", "stdout", "stderr", "loaded", "dirty"}`. Per program it

- runs the file with `runpy.run_path` as `__main__`, with its own argv, `sys.path[0]` and
  working directory, stdin from /dev/null, and file descriptors 1 and 2 redirected to files
  (so prints, Python warnings and native logs are all captured, each for its own program);
- turns an uncaught exception into exit code 1 and the traceback Python would print (through
  `sys.__excepthook__`; `SystemExit` into its code), so `final_exception` reads it as it reads
  a fresh run's. The frames differ (runpy here, the bootstrap there): TensorFlow's "Detected
  at node ... defined at" lists them inside its message;
- starts from the same state every time: `clear_session()` (also resets unnamed-object
  numbering such as `auc_1`), the warning filters and "once" registries, Python/NumPy/TF
  seeds, and drops every module the program imported that was not loaded at start-up;
- answers `dirty: [...]` when the program left process-wide state behind that this reset does
  not undo (Keras config, dtype policy, eager mode, environment, working directory ...);
  the client then restarts the process before the next program.

Nothing here is imported by the tests; it only runs as `python program_server.py FLAVOUR`.
"""

from __future__ import annotations

import gc
import json
import os
import random
import runpy
import sys
import tempfile
import warnings

FLAVOUR = sys.argv[1]

# The channel to the client: private copies of fd 0/1, so that a program's prints and reads
# (fd 1, fd 0) can never be taken for a response or a request.
_requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
_responses = os.fdopen(os.dup(1), "w", encoding="utf-8")
_devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(_devnull, 0)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402  (Keras 3, or tf_keras with TF_USE_LEGACY_KERAS=1)
from tensorflow.python.framework import config as _tf_config  # noqa: E402

keras.metrics.AUC()  # load the lazily imported metric / variable machinery now, not in a program
keras.backend.clear_session()
gc.collect()

_BASE_MODULES = frozenset(sys.modules)
_BASE_PATH = list(sys.path)
_BASE_CWD = os.getcwd()
_BASE_ENV = dict(os.environ)
_BASE_FILTERS = list(warnings.filters)


def _config() -> dict:
    """Process-wide settings a program may change and clear_session does not restore."""
    if FLAVOUR == "3":
        config = {
            "floatx": keras.config.floatx(),
            "epsilon": keras.config.epsilon(),
            "image_data_format": keras.config.image_data_format(),
            "dtype_policy": keras.config.dtype_policy().name,
            "traceback_filtering": keras.config.is_traceback_filtering_enabled(),
            "interactive_logging": keras.config.is_interactive_logging_enabled(),
            "backend": keras.config.backend(),
        }
    else:
        config = {
            "floatx": keras.backend.floatx(),
            "epsilon": keras.backend.epsilon(),
            "image_data_format": keras.backend.image_data_format(),
            "dtype_policy": keras.mixed_precision.global_policy().name,
        }
    config.update(
        functions_run_eagerly=tf.config.functions_run_eagerly(),
        executing_eagerly=tf.executing_eagerly(),
        soft_device_placement=tf.config.get_soft_device_placement(),
        op_determinism=_tf_config.is_op_determinism_enabled(),  # no public getter
        tensor_float_32=tf.config.experimental.tensor_float_32_execution_enabled(),
        # the other flavour's package imported (e.g. `import keras` under TF_USE_LEGACY_KERAS=1)
        stack_modules=sorted(name for name in ("keras", "tf_keras") if name in sys.modules),
    )
    return config


_BASE_CONFIG = _config()


def _loaded_keras() -> dict:
    loaded = {}
    for name in ("keras", "tf_keras"):
        module = sys.modules.get(name)
        loaded[name] = getattr(module, "__version__", "?") if module is not None else None
    return loaded


def _reset() -> None:
    """The state every program starts from (as far as one process can give it)."""
    keras.backend.clear_session()
    warnings.filters[:] = _BASE_FILTERS
    warnings.resetwarnings()
    warnings.filters[:] = _BASE_FILTERS  # resetwarnings() empties them; this also bumps the registries' version
    random.seed(0)
    np.random.seed(0)
    tf.random.set_seed(0)
    gc.collect()


def _drop_new_modules() -> None:
    for name in [name for name in sys.modules if name not in _BASE_MODULES]:
        top = name.partition(".")[0]
        if top in ("tensorflow", "keras", "tf_keras", "numpy"):
            continue  # lazily loaded parts of the stack itself: reloading them would duplicate classes
        del sys.modules[name]


def _dirt() -> list:
    """What the program changed that _reset() cannot undo."""
    found = []
    config = _config()
    found += [f"{key}: {_BASE_CONFIG[key]!r} -> {config[key]!r}" for key in config if config[key] != _BASE_CONFIG[key]]
    if dict(os.environ) != _BASE_ENV:
        changed = sorted(set(os.environ.items()) ^ set(_BASE_ENV.items()))
        found.append(f"environment changed: {sorted({key for key, _ in changed})}")
    return found


def _run(path: str, cwd: str, args: list) -> dict:
    _reset()
    out = tempfile.TemporaryFile(mode="w+b")
    err = tempfile.TemporaryFile(mode="w+b")
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(out.fileno(), 1)
    os.dup2(err.fileno(), 2)
    saved_argv, saved_path = list(sys.argv), list(sys.path)
    returncode = 0
    try:
        os.chdir(cwd)
        sys.argv = [path, *args]
        sys.path[:] = [os.path.dirname(os.path.abspath(path))] + _BASE_PATH[1:]  # as `python path` has it
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit as stop:
            code = stop.code
            if code is None:
                returncode = 0
            elif isinstance(code, int):
                returncode = code
            else:
                print(code, file=sys.stderr)
                returncode = 1
        except BaseException:  # noqa: BLE001 - any uncaught exception ends a fresh run with exit 1
            # the interpreter's own display (it adds "Did you mean ...?" where Python 3.11's
            # traceback module does not), to the program's stderr
            sys.__excepthook__(*sys.exc_info())
            returncode = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        sys.argv, sys.path[:] = saved_argv, saved_path
        os.chdir(_BASE_CWD)
    dirty = _dirt()
    loaded = _loaded_keras()
    _drop_new_modules()
    out.seek(0)
    err.seek(0)
    result = {
        "returncode": returncode,
        "stdout": out.read().decode("utf-8", "replace"),
        "stderr": err.read().decode("utf-8", "replace"),
        "loaded": loaded,
        "dirty": dirty,
    }
    out.close()
    err.close()
    return result


def main() -> None:
    _responses.write(json.dumps({"ready": True, "loaded": _loaded_keras(), "pid": os.getpid()}) + "\n")
    _responses.flush()
    for line in _requests:
        request = json.loads(line)
        response = _run(request["path"], request["cwd"], request.get("args", []))
        _responses.write(json.dumps(response) + "\n")
        _responses.flush()


if __name__ == "__main__":
    main()
