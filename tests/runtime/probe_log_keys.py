"""Run small Keras programs and dump the log keys each `fit` really produced.

Usage: python probe_log_keys.py specs.json  (under the flavour's environment: TF_USE_LEGACY_KERAS=1
for Keras 2). `specs.json` maps a spec name to a program text that leaves the value of its last
`fit(...)` in a variable called `history`. All programs run in this one process, in order, each
in a fresh namespace (so Keras's per-process name counters, `auc_1`, `auc_2`, ..., carry over as
they do in real scripts). Prints one `METRICLINT_RESULT {json}` line:
`{"version": ..., "specs": {name: {"keys": [sorted history keys]} | {"error": "Type: message"}}}`.
"""

import json
import sys
import traceback

with open(sys.argv[1], encoding="utf-8") as handle:
    specs = json.load(handle)

from tensorflow import keras  # the flavour is the environment's (TF_USE_LEGACY_KERAS)

if "tf_keras" in sys.modules:  # Keras 2: `tensorflow.keras` is tf_keras, which has the version
    version = sys.modules["tf_keras"].__version__
else:
    version = getattr(keras, "__version__", "?")

results = {}
for name, text in specs.items():
    namespace = {"__name__": "__main__"}
    try:
        exec(compile(text, f"<spec {name}>", "exec"), namespace)
        history = namespace["history"]
        results[name] = {"keys": sorted(history.history)}
    except Exception as exc:  # the flavour rejects the program: record what it says
        results[name] = {"error": f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"}
        traceback.print_exc()

print("METRICLINT_RESULT " + json.dumps({"version": version, "specs": results}))
