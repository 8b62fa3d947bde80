"""A notebook round trip under Keras 3: run its code, `metriclint fix` it, run it again.

The notebook (made by nbformat, with magics, markdown, outputs and a `%%bash` cell) trains a
tiny model with two bugs in different cells: `fit(..., nb_epoch=...)` (KM101) in a `%%time`
cell, and `EarlyStopping(monitor="val_acc")` (KM207) in another cell while the compile in a
third cell logs `val_accuracy`. Its code cells are executed as Jupyter would run them, in
order, in one process (the IPython-only lines are left out: line magics, `!` commands, the
`%%time` line; a `%%bash` cell is not Python and is skipped).

1. as written, it raises TypeError at `fit` (nb_epoch);
2. with only KM101 fixed, it raises ValueError after epoch 1 (EarlyStopping cannot resolve `val_acc`);
3. after `metriclint fix`, it trains, stops at the epoch EarlyStopping's rule gives on the
   validation accuracy numpy computes, and `evaluate` reports the accuracy numpy computes.
The fixed notebook differs from the original only in the two fixed pieces of cell source.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

pytestmark = pytest.mark.runtime

CELLS = [
    ("markdown", "# Early stopping on validation accuracy\nA tiny logistic model – ✓"),
    ("code", "%matplotlib inline\n%load_ext autoreload\nimport json\n\nimport numpy as np\nfrom tensorflow import keras\n!echo ready"),
    ("code", (
        "keras.utils.set_random_seed(0)\n"
        "rng = np.random.default_rng(0)\n"
        "w = np.array([1.0, -2.0, 0.5, 1.5], dtype='float32')\n"
        "x = rng.normal(size=(256, 4)).astype('float32')\n"
        "y = (x @ w + rng.normal(size=256) > 0).astype('float32')\n"
        "xv = rng.normal(size=(128, 4)).astype('float32')\n"
        "yv = (xv @ w + rng.normal(size=128) > 0).astype('float32')\n"
        "MAX_EPOCHS, PATIENCE = 30, 3"
    )),
    ("markdown", "The model starts from the wrong weights, learns, then plateaus."),
    ("code", (
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
        "model.layers[0].set_weights([-w[:, None], np.zeros(1, dtype='float32')])\n"
        "model.compile(optimizer=keras.optimizers.Adam(0.05), loss='binary_crossentropy', metrics=['accuracy'])"
    )),
    ("code", (
        "class NumpyValAccuracy(keras.callbacks.Callback):\n"
        "    def on_train_begin(self, logs=None):\n"
        "        self.values = []\n"
        "\n"
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        predicted = self.model.predict(xv, verbose=0).reshape(-1) > 0.5\n"
        "        self.values.append(float(np.mean(predicted == yv)))\n"
        "\n"
        "numpy_val = NumpyValAccuracy()\n"
        "stop = keras.callbacks.EarlyStopping(monitor='val_acc', patience=PATIENCE)"
    )),
    ("code", (
        "%%time\n"
        "history = model.fit(x, y, nb_epoch=MAX_EPOCHS, batch_size=32, verbose=0,\n"
        "                    validation_data=(xv, yv), callbacks=[numpy_val, stop])"
    )),
    ("code", (
        "best, wait, should_run = -np.inf, 0, MAX_EPOCHS\n"
        "for epoch, value in enumerate(numpy_val.values):\n"
        "    wait += 1\n"
        "    if value > best:\n"
        "        best, wait = value, 0\n"
        "    elif wait >= PATIENCE and epoch > 0:\n"
        "        should_run = epoch + 1\n"
        "        break\n"
        "reported_accuracy = float(model.evaluate(xv, yv, verbose=0, return_dict=True)['accuracy'])\n"
        "numpy_accuracy = float(np.mean((model.predict(xv, verbose=0).reshape(-1) > 0.5) == yv))\n"
        "print('METRICLINT_RESULT ' + json.dumps({\n"
        "    'epochs_run': len(history.history['loss']), 'epochs_expected': should_run,\n"
        "    'accuracy': reported_accuracy, 'numpy_accuracy': numpy_accuracy,\n"
        "    'keys': sorted(history.history)}))"
    )),
    ("code", "%%bash\necho \"done: $(date)\""),
]
# Cell 6 line 10 and cell 7 line 2, as a reader counts them.
KM207_AT = (6, 10, "stop = keras.callbacks.EarlyStopping(monitor=".__len__() + 1)
KM101_AT = (7, 2, "history = model.fit(x, y, ".__len__() + 1)
# Cells whose first line is one of these cell magics run their body as Python.
PYTHON_CELL_MAGICS = ("%%time", "%%timeit", "%%capture")


def make_notebook() -> nbformat.NotebookNode:
    book = v4.new_notebook()
    book.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    book.metadata["language_info"] = {"name": "python"}
    for count, (kind, source) in enumerate(CELLS, start=1):
        if kind == "markdown":
            book.cells.append(v4.new_markdown_cell(source))
        else:
            book.cells.append(v4.new_code_cell(source, execution_count=count, outputs=[
                v4.new_output("stream", name="stdout", text=f"output of cell {count}\n"),
            ]))
    return book


def notebook_program(path: Path) -> str:
    """The notebook's code as one Python program, in cell order, without the IPython-only lines."""
    book = nbformat.read(str(path), as_version=4)
    parts = []
    for number, cell in enumerate(book.cells, start=1):
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        if lines and lines[0].startswith("%%"):
            if not lines[0].startswith(PYTHON_CELL_MAGICS):
                continue  # %%bash and the like: not Python
            lines = lines[1:]
        kept = [line for line in lines if not line.lstrip().startswith(("%", "!"))]
        parts.append(f"# --- cell {number}\n" + "\n".join(kept) + "\n")
    return "".join(parts)


def run_notebook(path: Path, run_program, tmp_path: Path, name: str):
    program = tmp_path / f"{name}.py"
    program.write_text(notebook_program(path), encoding="utf-8")
    run = run_program(program, "3", tmp_path)
    run.check_flavour()
    return run


def test_notebook_fix_round_trip_under_keras_3(tmp_path, run_program, metriclint):
    (tmp_path / "metriclint.toml").write_text('target-keras = "3"\n', encoding="utf-8")
    path = tmp_path / "train.ipynb"
    nbformat.write(make_notebook(), str(path))
    original = path.read_text(encoding="utf-8")

    # the static report points into the cells
    check = metriclint("check", "--output-format", "json", "train.ipynb", cwd=tmp_path)
    found = sorted((d["code"], d["cell"], d["location"]["row"], d["location"]["column"]) for d in json.loads(check.stdout))
    assert found == [("KM101", *KM101_AT), ("KM207", *KM207_AT)], check.describe()

    # 1. as written: fit does not take nb_epoch
    bad = run_notebook(path, run_program, tmp_path, "bad")
    assert bad.returncode != 0, bad.describe()
    kind, message = bad.exception()
    assert kind == "TypeError" and "nb_epoch" in message, bad.describe()

    # 2. KM101 fixed only: EarlyStopping cannot resolve `val_acc` after epoch 1
    only_km101 = metriclint("fix", "--select", "KM101", "train.ipynb", cwd=tmp_path)
    assert only_km101.returncode == 0, only_km101.describe()
    half = run_notebook(path, run_program, tmp_path, "half")
    assert half.returncode != 0, half.describe()
    kind, message = half.exception()
    assert kind == "ValueError" and "monitor=val_acc" in message, half.describe()

    # 3. everything fixed: the run stops where it should and reports the right accuracy
    fixed_run = metriclint("fix", "train.ipynb", cwd=tmp_path)
    assert fixed_run.returncode == 0, fixed_run.describe()
    assert metriclint("check", "train.ipynb", cwd=tmp_path).returncode == 0
    good = run_notebook(path, run_program, tmp_path, "good")
    assert good.returncode == 0, good.describe()
    result = good.result()
    assert "val_accuracy" in result["keys"] and "val_acc" not in result["keys"]
    assert result["epochs_run"] == result["epochs_expected"] < 30, result
    assert result["accuracy"] == pytest.approx(result["numpy_accuracy"], abs=1e-6), result

    # the fixed notebook is the original with exactly the two fixes, outputs and all
    fixed = path.read_text(encoding="utf-8")
    expected = original
    for old, new in (("nb_epoch=MAX_EPOCHS", "epochs=MAX_EPOCHS"), ("monitor='val_acc'", "monitor='val_accuracy'")):
        assert expected.count(old) == 1
        expected = expected.replace(old, new)
    assert fixed == expected
    nbformat.validate(nbformat.reads(fixed, as_version=4))
    assert '"%%time\\n",' in fixed and '"!echo ready"' in fixed and "output of cell 7" in fixed
