"""Jupyter notebooks: cell positions, facts across cells, IPython magics, and fixes that touch
nothing but the changed cells' `source`.

Every notebook here is made by nbformat (the library Jupyter itself writes with), with outputs,
metadata, ids, attachments, markdown, raw and empty cells, then written in the layout under
test (nbformat's own: indent 1, sorted keys, raw UTF-8; or indent 2/4, tabs, key order as
found, `\\u` escapes, CRLF). A fix must leave the file byte for byte as it was outside the
changed sources: the tests compare the raw text, not only the parsed JSON.
"""

from __future__ import annotations

import ast
import copy
import json
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import jsonschema
import nbformat
import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st
from nbformat import v4

from metriclint import notebook as nb
from metriclint.cli import main

DATA = Path(__file__).parent / "data"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "version": "3.11.7", "mimetype": "text/x-python", "file_extension": ".py"}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

KM101 = "KM101 [*] `Model.fit()` does not take `nb_epoch=` (TypeError)"
SETUP = "from tensorflow import keras\nmodel = keras.Sequential()"


# --- helpers ------------------------------------------------------------------------------------
@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "metriclint.toml").write_text('target-keras = "3"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2 mixes stderr into stdout by default
    except TypeError:  # click >= 8.2 always keeps them apart
        return CliRunner()


def run(*args: str, input: Optional[bytes] = None) -> Tuple[int, str, str]:
    result = _runner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def json_report(*args: str, command: str = "check") -> List[Dict[str, Any]]:
    _, out, _ = run(command, "--output-format", "json", *args)
    return json.loads(out)


def notebook(*cells, kernel: bool = True, **metadata) -> nbformat.NotebookNode:
    book = v4.new_notebook(cells=list(cells))
    if kernel:
        book.metadata["kernelspec"] = dict(KERNELSPEC)
        book.metadata["language_info"] = dict(LANGUAGE_INFO)
    book.metadata.update(metadata)
    return book


def code(source: str, **kwargs) -> nbformat.NotebookNode:
    return v4.new_code_cell(source, **kwargs)


def markdown(source: str, **kwargs) -> nbformat.NotebookNode:
    return v4.new_markdown_cell(source, **kwargs)


def _reorder(value: Any) -> Any:
    """The same JSON with every object's keys in reverse order (a layout nbformat never writes)."""
    if isinstance(value, dict):
        return {key: _reorder(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reorder(item) for item in value]
    return value


def dumps(book, *, indent: Any = 1, sort_keys: bool = True, ensure_ascii: bool = False,
          split_lines: bool = True, newline: str = "\n", reorder: bool = False) -> str:
    """The notebook as `nbformat.write` writes it, or in another layout."""
    text = nbformat.writes(book, split_lines=split_lines) + "\n"
    if (indent, sort_keys, ensure_ascii, reorder) != (1, True, False, False):
        data = json.loads(text)
        if reorder:
            data = _reorder(data)
        text = json.dumps(data, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii) + "\n"
    return text.replace("\n", newline)


def save(path: Path, book, **layout) -> str:
    text = dumps(book, **layout)
    path.write_bytes(text.encode("utf-8"))
    return text


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def sources(text: str) -> List[Optional[str]]:
    return [nb.cell_source(cell) for cell in json.loads(text)["cells"]]


def without_sources(data: Dict[str, Any]) -> Dict[str, Any]:
    data = copy.deepcopy(data)
    for cell in data["cells"]:
        cell.pop("source", None)
    return data


def assert_only_replaced(before: str, after: str, *replacements: Tuple[str, str]) -> None:
    """`after` is `before` with exactly these substrings (each found once) replaced: byte for byte."""
    expected = before
    for old, new in replacements:
        assert expected.count(old) == 1, (old, expected)
        expected = expected.replace(old, new)
    assert after == expected
    nbformat.validate(nbformat.reads(after, as_version=4))
    # and, parsed: nothing but `source` values differs
    assert without_sources(json.loads(after)) == without_sources(json.loads(before))


def column(source: str, line: int, needle: str) -> int:
    return source.split("\n")[line - 1].index(needle) + 1


# --- the notebook most tests use ----------------------------------------------------------------
CELL_IMPORTS = "%matplotlib inline\nimport numpy as np\nfrom tensorflow import keras"
CELL_MODEL = (
    "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
    "model.compile(loss='binary_crossentropy', metrics=['accuracy'])"
)
CELL_CALLBACK = (
    "x = np.zeros((8, 4)); y = np.zeros((8, 1))\n"
    "stop = keras.callbacks.EarlyStopping(monitor='val_acc', patience=2)"
)
CELL_FIT = "history = model.fit(x, y, nb_epoch=3, validation_split=0.25, callbacks=[stop])"
KM207_COL = column(CELL_CALLBACK, 2, "'val_acc'")
KM101_COL = column(CELL_FIT, 1, "nb_epoch")


def training_notebook() -> nbformat.NotebookNode:
    """Markdown with an attachment, outputs of every kind, cell metadata, raw and empty cells."""
    attachment = {"plot.png": {"image/png": PNG}}
    return notebook(
        markdown("# Training – a *tiny* model\nÜberblick: 精度 ✓", metadata={"tags": ["intro"]}),
        code(CELL_IMPORTS, execution_count=1, metadata={"tags": ["setup"], "collapsed": False}),
        code(CELL_MODEL, execution_count=2, outputs=[
            v4.new_output("stream", name="stderr", text="2024-01-01 W tensorflow: oneDNN ✓\n"),
        ]),
        markdown("![plot](attachment:plot.png)", attachments=attachment),
        code(CELL_CALLBACK, execution_count=3, outputs=[
            v4.new_output("execute_result", data={"text/plain": "<keras.callbacks.EarlyStopping at 0x7f>"},
                          execution_count=3),
        ]),
        code(CELL_FIT, execution_count=4, metadata={"scrolled": True}, outputs=[
            v4.new_output("stream", name="stdout", text="Epoch 1/3\n\x1b[1m1/1\x1b[0m ━━━━ 0s\n"),
            v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}, metadata={"needs_background": "light"}),
            v4.new_output("error", ename="TypeError", evalue="fit() got an unexpected keyword argument 'nb_epoch'",
                          traceback=["\x1b[0;31m---------\x1b[0m", "\x1b[0;31mTypeError\x1b[0m: nb_epoch"]),
        ]),
        v4.new_raw_cell("model.fit(x, y, nb_epoch=3)  # raw cells are not code"),
        code(""),
        markdown("```python\nmodel.fit(x, y, nb_epoch=3)\n```"),
    )


def test_our_default_layout_is_nbformats(project):
    book = training_notebook()
    assert dumps(book) == nbformat.writes(book) + "\n"
    path = project / "nb.ipynb"
    nbformat.write(book, str(path))
    assert read(path) == dumps(book)


# --- positions in every output format -----------------------------------------------------------
def test_check_text_reports_cell_and_line_in_cell(project):
    save(project / "nb.ipynb", training_notebook())
    code_, out, err = run("check", "nb.ipynb")
    assert code_ == 1, err
    lines = out.splitlines()
    assert lines[0].startswith(f"nb.ipynb:cell 5:2:{KM207_COL}: KM207 [*] `EarlyStopping` monitors `val_acc`"), out
    assert lines[1] == f"nb.ipynb:cell 6:1:{KM101_COL}: {KM101}"
    assert lines[2:] == ["Found 2 errors (2 fixable with `metriclint fix`)."]
    assert (KM207_COL, KM101_COL) == (46, 27)  # the numbers a reader would count in the cells


def test_check_json_positions_are_inside_the_cell(project):
    book = training_notebook()
    save(project / "nb.ipynb", book)
    report = json_report("nb.ipynb")
    schema = json.loads((DATA / "metriclint-json.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, schema)
    assert [(d["code"], d["cell"]) for d in report] == [("KM207", 5), ("KM101", 6)]
    for diag in report:
        lines = book.cells[diag["cell"] - 1].source.split("\n")
        assert diag["location"]["row"] == diag["end_location"]["row"]
        text = lines[diag["location"]["row"] - 1][diag["location"]["column"] - 1:diag["end_location"]["column"] - 1]
        assert text == {"KM207": "'val_acc'", "KM101": "nb_epoch"}[diag["code"]]
        (edit,) = diag["fix"]["edits"]
        assert (edit["location"], edit["end_location"]) == (diag["location"], diag["end_location"])


def test_check_sarif_carries_the_cell(project):
    save(project / "nb.ipynb", training_notebook())
    _, out, _ = run("check", "--output-format", "sarif", "nb.ipynb")
    log = json.loads(out)
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["properties"]["cell"]) for r in results] == [("KM207", 5), ("KM101", 6)]
    region = results[1]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 1, "startColumn": KM101_COL, "endLine": 1, "endColumn": KM101_COL + len("nb_epoch")}
    assert results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("/nb.ipynb")


def test_check_github_names_the_cell(project):
    save(project / "nb.ipynb", training_notebook())
    _, out, _ = run("check", "--output-format", "github", "nb.ipynb")
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[1] == (
        f"::error title=metriclint (KM101),file=nb.ipynb,line=1,col={KM101_COL},endLine=1,"
        f"endColumn={KM101_COL + 8}::nb.ipynb:cell 6:1:{KM101_COL}: {KM101.replace(' [*]', '')}. Keras 1 name of `epochs`"
    )  # an annotation has room for the whole message
    assert lines[0].startswith(f"::warning title=metriclint (KM207),file=nb.ipynb,line=2,col={KM207_COL},")
    assert f"::nb.ipynb:cell 5:2:{KM207_COL}: KM207 " in lines[0]


def test_statistics_counts_notebook_findings(project):
    save(project / "nb.ipynb", training_notebook())
    code_, out, _ = run("check", "--statistics", "nb.ipynb")
    assert code_ == 1
    assert [line.split()[:2] for line in out.splitlines()] == [["1", "KM101"], ["1", "KM207"]]


# --- facts flow across cells --------------------------------------------------------------------
def test_facts_flow_across_cells(project):
    """The compile (cell 3) decides the keys the fit (cell 6) logs; the callback (cell 5) is checked
    against them. Cut the compile cell out and there is nothing to check against."""
    save(project / "nb.ipynb", training_notebook())
    assert [(d["code"], d["cell"]) for d in json_report("nb.ipynb")] == [("KM207", 5), ("KM101", 6)]
    book = training_notebook()
    book.cells[2].source = "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])"
    save(project / "nb.ipynb", book)
    assert [(d["code"], d["cell"]) for d in json_report("nb.ipynb")] == [("KM101", 6)]


def test_a_fact_from_an_earlier_cell_decides_a_later_finding(project):
    """The compile in cell 2 logs no accuracy, so the monitor in cell 4 (after markdown) watches a
    key that never comes; the same monitor after a compile with `metrics=['accuracy']` is fine."""
    def book(metrics: str):
        return notebook(
            code("from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])"),
            code(f"model.compile(loss='binary_crossentropy'{metrics})"),
            markdown("Train:"),
            code("stop = keras.callbacks.EarlyStopping(monitor='val_accuracy')\n"
                 "model.fit(x, y, validation_split=0.2, callbacks=[stop])"),
        )
    save(project / "nb.ipynb", book(""))
    report = json_report("nb.ipynb")
    assert [(d["code"], d["cell"], d["location"]["row"], d["location"]["column"]) for d in report] == [("KM207", 4, 1, 46)]
    save(project / "nb.ipynb", book(", metrics=['accuracy']"))
    assert json_report("nb.ipynb") == []


def test_fix_inserting_an_import_lands_in_the_import_cell(project):
    """KM107 adds `import keras` after the import in cell 1 while it rewrites cell 3."""
    book = notebook(
        code("import numpy as np\nfrom keras import backend as K"),
        markdown("The metric:"),
        code("def recall_m(y_true, y_pred):\n    return K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))",
             outputs=[v4.new_output("stream", name="stdout", text="ok\n")]),
    )
    before = save(project / "nb.ipynb", book)
    report = json_report("nb.ipynb")
    assert {(d["code"], d["cell"], d["location"]["row"]) for d in report} == {("KM107", 3, 2)}
    for diag in report:  # schema: lines are >= 1 even for the insertion into another cell
        for edit in diag["fix"]["edits"]:
            assert edit["location"]["row"] >= 1
    code_, _, err = run("fix", "nb.ipynb")
    after = read(project / "nb.ipynb")
    assert sources(after) == [
        "import numpy as np\nfrom keras import backend as K\nimport keras",
        "The metric:",
        "def recall_m(y_true, y_pred):\n    return keras.ops.sum(keras.ops.round(keras.ops.clip(y_true * y_pred, 0, 1)))",
    ]
    assert without_sources(json.loads(after)) == without_sources(json.loads(before))
    nbformat.validate(nbformat.reads(after, as_version=4))


# --- fix: only the changed sources change, byte for byte ----------------------------------------
FIXED = (("nb_epoch=3, validation", "epochs=3, validation"), ("'val_acc'", "'val_accuracy'"))


def test_fix_changes_only_the_fixed_sources(project):
    path = project / "nb.ipynb"
    before = save(path, training_notebook())
    code_, out, err = run("fix", "nb.ipynb")
    assert (code_, out, err) == (0, "Found 2 errors (2 fixed, 0 remaining).\n", "")
    after = read(path)
    assert_only_replaced(before, after, *FIXED)
    assert sources(after)[4].endswith("monitor='val_accuracy', patience=2)")
    assert sources(after)[5] == CELL_FIT.replace("nb_epoch", "epochs")
    # raw and markdown cells that look like code are not code
    assert "nb_epoch=3" in sources(after)[6] and "nb_epoch=3" in sources(after)[8]


def test_second_fix_changes_nothing(project):
    path = project / "nb.ipynb"
    save(path, training_notebook())
    run("fix", "nb.ipynb")
    once = path.read_bytes()
    code_, out, err = run("fix", "nb.ipynb")
    assert (code_, out, err) == (0, "All checks passed!\n", "")
    assert path.read_bytes() == once
    assert run("check", "nb.ipynb")[:2] == (0, "All checks passed!\n")


LAYOUTS = {
    "nbformat": {},
    "indent2": {"indent": 2},
    "indent4-key-order-kept": {"indent": 4, "sort_keys": False, "reorder": True},
    "tabs": {"indent": "\t"},
    "ascii-escapes": {"ensure_ascii": True},
    "crlf": {"newline": "\r\n"},
    "string-sources": {"split_lines": False},
    "indent2-string-sources-escapes": {"indent": 2, "split_lines": False, "ensure_ascii": True},
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_fix_keeps_the_notebooks_own_layout(project, layout):
    path = project / "nb.ipynb"
    before = save(path, training_notebook(), **LAYOUTS[layout])
    if LAYOUTS[layout].get("ensure_ascii"):
        assert "\\u00dc" in before and "Ü" not in before
    else:
        assert "Überblick" in before
    code_, out, _ = run("fix", "nb.ipynb")
    assert code_ == 0, out
    after = read(path)
    assert_only_replaced(before, after, *FIXED)
    split = LAYOUTS[layout].get("split_lines", True)
    for cell in json.loads(after)["cells"]:
        if cell["source"]:
            assert isinstance(cell["source"], list if split else str)


def test_fix_keeps_list_of_lines_per_line(project):
    path = project / "nb.ipynb"
    save(path, notebook(code(SETUP), code("x = 1\nmodel.fit(x, y, nb_epoch=3)\nprint(x)\n")))
    run("fix", "nb.ipynb")
    data = json.loads(read(path))
    assert data["cells"][1]["source"] == ["x = 1\n", "model.fit(x, y, epochs=3)\n", "print(x)\n"]


def test_cells_ending_with_a_newline_keep_it(project):
    """A cell whose source ends with a line break (not how Jupyter saves, but valid) is not
    rewritten when nothing in it changed, and keeps the break when it is fixed."""
    path = project / "nb.ipynb"
    before = save(path, notebook(code(SETUP + "\n"), code("\n"), code("model.fit(x, y, nb_epoch=3)\n\n")))
    assert run("check", "nb.ipynb")[1].startswith(f"nb.ipynb:cell 3:1:17: {KM101}")
    run("fix", "nb.ipynb")
    after = read(path)
    assert_only_replaced(before, after, ("nb_epoch=3", "epochs=3"))
    assert sources(after) == [SETUP + "\n", "\n", "model.fit(x, y, epochs=3)\n\n"]


def test_crlf_inside_cell_sources(project):
    path = project / "nb.ipynb"
    before = save(path, notebook(code(SETUP.replace("\n", "\r\n") + "\r\n"),
                                 code("x = 1\r\nmodel.fit(x, y, nb_epoch=3)\r\ny = 2")))
    assert run("check", "nb.ipynb")[1].splitlines()[0] == f"nb.ipynb:cell 2:2:17: {KM101}"
    run("fix", "nb.ipynb")
    assert_only_replaced(before, read(path), ("nb_epoch=3", "epochs=3"))


def test_future_import_in_a_later_cell_after_magics(project):
    """Jupyter compiles each cell alone: `from __future__` heads cell 2 after a magics-only cell."""
    path = project / "nb.ipynb"
    before = save(path, notebook(
        code("%load_ext autoreload\n%autoreload 2"),
        code("from __future__ import annotations\n" + SETUP),
        code("model.fit(x, y, nb_epoch=3)"),
    ))
    code_, out, err = run("fix", "nb.ipynb")
    assert (code_, err) == (0, ""), out
    assert_only_replaced(before, read(path), ("nb_epoch=3", "epochs=3"))


def test_top_level_await_does_not_block_fixes(project):
    path = project / "nb.ipynb"
    save(path, notebook(code("import asyncio\n" + SETUP), code("await asyncio.sleep(0)"),
                        code("model.fit(x, y, nb_epoch=3)")))
    assert run("check", "nb.ipynb")[1].splitlines()[0] == f"nb.ipynb:cell 3:1:17: {KM101}"
    code_, out, err = run("fix", "nb.ipynb")
    assert "epochs=3" in read(path), err


def test_non_ascii_columns_count_characters(project):
    source = "größe = 1  # Größe ✓\nverlauf = model.fit(x, y, nb_epoch=3)  # 训练"
    path = project / "nb.ipynb"
    before = save(path, notebook(code(SETUP), code(source), markdown("Ünïcödé – ✓")))
    _, out, _ = run("check", "nb.ipynb")
    assert out.splitlines()[0] == f"nb.ipynb:cell 2:2:{column(source, 2, 'nb_epoch')}: {KM101}"
    assert column(source, 2, "nb_epoch") == 27
    run("fix", "nb.ipynb")
    assert_only_replaced(before, read(path), ("nb_epoch=3", "epochs=3"))


# --- --diff --------------------------------------------------------------------------------------
def test_diff_is_per_cell_and_writes_nothing(project):
    path = project / "nb.ipynb"
    before = save(path, training_notebook())
    code_, out, err = run("fix", "--diff", "nb.ipynb")
    assert code_ == 1
    assert err == "Would fix 2 errors in 1 file.\n"
    assert read(path) == before
    headers = [line for line in out.splitlines() if line.startswith(("--- ", "+++ "))]
    assert headers == [
        "--- a/nb.ipynb:cell 5", "+++ b/nb.ipynb:cell 5",
        "--- a/nb.ipynb:cell 6", "+++ b/nb.ipynb:cell 6",
    ]
    changed = [line for line in out.splitlines() if line[:1] in "+-" and not line.startswith(("---", "+++"))]
    assert changed == [
        "-stop = keras.callbacks.EarlyStopping(monitor='val_acc', patience=2)",
        "+stop = keras.callbacks.EarlyStopping(monitor='val_accuracy', patience=2)",
        "-" + CELL_FIT,
        "+" + CELL_FIT.replace("nb_epoch", "epochs"),
    ]
    assert "metriclint-cell" not in out and "metriclint-magic" not in out


def test_diff_of_a_clean_notebook_is_empty(project):
    save(project / "nb.ipynb", notebook(code(SETUP), code("model.fit(x, y, epochs=3)")))
    assert run("fix", "--diff", "nb.ipynb") == (0, "", "No errors would be fixed.\n")


# --- IPython magics --------------------------------------------------------------------------------
# (cell source, where KM101 is reported in it as (line, column) or None, the fixed source)
MAGICS = {
    "line-magics": (
        "%matplotlib inline\n%load_ext autoreload\n%autoreload 2\n%env TF_CPP_MIN_LOG_LEVEL=3\n"
        "model.fit(x, y, nb_epoch=3)",
        (5, 17),
    ),
    "shell": (
        "!pip install -q tensorflow\n!!ls\nfiles = !ls *.csv\nlisting = %sx ls\nmodel.fit(x, y, nb_epoch=3)",
        (5, 17),
    ),
    "help": ("model?\n??model.fit\nmodel.fit??\n%pinfo model\nnp.*load*?\nmodel.fit(x, y, nb_epoch=3)", (6, 17)),
    "cell-magic-time-keeps-python": ("%%time\n!echo start\nmodel.fit(x, y, nb_epoch=3)", (3, 17)),
    "cell-magic-after-blank-lines": ("\n\n%%capture output\nmodel.fit(x, y, nb_epoch=3)", (4, 17)),
    "cell-magic-bash-masked-whole": (
        '%%bash\necho "model.fit(x, y, nb_epoch=3)"\nfor f in *.py; do\n    python "$f"\ndone', None,
    ),
    "cell-magic-writefile-masked-whole": ("%%writefile train.py\nmodel.fit(x, y, nb_epoch=3)\n  odd = (", None),
    "magics-in-indented-blocks": (
        "for run in range(2):\n    %time model.fit(x, y, nb_epoch=1)\n    !echo done\n"
        "if run:\n    !nvidia-smi\nelse:\n    %reset -f\n",
        (2, 27),
    ),
    "continuation-after-magic": (
        "!pip install -q \\\n    tensorflow \\\n        keras\n%config InlineBackend.figure_format = \\\n  'retina'\n"
        "model.fit(x, y, nb_epoch=3)",
        (6, 17),
    ),
    "line-magic-time-is-linted": ("%time model.fit(x, y, nb_epoch=3)  # time it", (1, 23)),
    "timeit-with-options": ("%timeit -n 1 -r 1 model.predict(x)\nmodel.fit(x, y, nb_epoch=3)", (2, 17)),
    "assigned-magic": ("t = %time model.predict(x)\nmodel.fit(x, y, nb_epoch=3)", (2, 17)),
    "python-that-looks-like-magic": (
        "msg = ('%d epochs'\n       % 3)\ndoc = '''\n!not a shell line\n%not a magic\nhelp?\n'''\n"
        "ok = (1\n      != 2)\nmodel.fit(x, y, nb_epoch=3)",
        (10, 17),
    ),
    "our-own-markers-in-code": ("# metriclint-cell 1\n#metriclint-magic:0\nmodel.fit(x, y, nb_epoch=3)", (3, 17)),
}


def _km101_fixed(source: str) -> str:
    return source.replace("nb_epoch=", "epochs=")


@pytest.mark.parametrize("case", list(MAGICS))
def test_magics_parse_are_not_linted_and_are_written_back(project, case):
    source, where = MAGICS[case]
    path = project / "nb.ipynb"
    before = save(path, notebook(code(SETUP), code(source), code("model.fit(x, y, nb_epoch=9)")))
    report = json_report("nb.ipynb")
    assert [d for d in report if d["code"].startswith("E")] == []
    found = [(d["cell"], d["location"]["row"], d["location"]["column"]) for d in report if d["cell"] == 2]
    assert found == ([(2, *where)] if where else [])
    if where:
        line = source.split("\n")[where[0] - 1]
        assert line[where[1] - 1:].startswith("nb_epoch=")
    assert [(d["code"], d["location"]["row"]) for d in report if d["cell"] == 3] == [("KM101", 1)]

    run("fix", "nb.ipynb")
    after = read(path)
    assert sources(after)[1] == (_km101_fixed(source) if where else source)
    replacements = [("nb_epoch=9", "epochs=9")]
    if where:
        # the one `nb_epoch=` in the cell that is Python is the one reported
        line = json.dumps(source.split("\n")[where[0] - 1])[1:-1]
        replacements.append((line, _km101_fixed(line)))
    assert_only_replaced(before, after, *replacements)


@pytest.mark.parametrize("case", list(MAGICS))
def test_virtual_module_of_magics_is_python_and_splits_back_unchanged(case):
    source, _ = MAGICS[case]
    book = nb.read_notebook(dumps(notebook(code(SETUP), markdown("x"), code(source))))
    module = nb.build_module(book)
    assert module.broken == []
    ast.parse(module.text)
    assert nb.split_cells(module.text, module) == {}
    # every line keeps its place and its indentation: virtual line -> the same line of the same cell
    source_lines = source.split("\n")
    for number, line in enumerate(module.text.split("\n"), start=1):
        cell, in_cell = module.line_map[number]
        if cell != 3 or line.startswith("# metriclint-cell") or in_cell > len(source_lines):
            continue
        original = source_lines[in_cell - 1]
        if original.strip():
            assert len(line) - len(line.lstrip()) == len(original) - len(original.lstrip()), (line, original)


def test_magic_lines_are_restored_byte_for_byte():
    source = "%time  model.fit(x, y, nb_epoch=3)   \n!ls -la  \nif 1:\n  !ls\n"
    book = nb.read_notebook(dumps(notebook(code(SETUP), code(source))))
    module = nb.build_module(book)
    fixed = module.text.replace("nb_epoch", "epochs")
    assert nb.split_cells(fixed, module) == {2: "%time  model.fit(x, y, epochs=3)   \n!ls -la  \nif 1:\n  !ls\n"}


def test_a_fix_that_breaks_the_cell_structure_is_refused():
    book = nb.read_notebook(dumps(notebook(code(SETUP), code("!ls\nmodel.fit(x, y, nb_epoch=3)"))))
    module = nb.build_module(book)
    with pytest.raises(nb.NotebookError, match="cell boundaries"):
        nb.split_cells(module.text.replace("# metriclint-cell 2\n", ""), module)
    with pytest.raises(nb.NotebookError, match="masked IPython line"):
        nb.split_cells(module.text.replace("#metriclint-magic:0", "x = 1  #metriclint-magic:0"), module)


# --- noqa ---------------------------------------------------------------------------------------------
def test_noqa_in_a_cell(project):
    path = project / "nb.ipynb"
    before = save(path, notebook(
        code(SETUP),
        code("model.fit(x, y, nb_epoch=1)  # noqa: KM101\nmodel.fit(x, y, nb_epoch=2)  # noqa: KM207"),
        code("%time model.fit(x, y, nb_epoch=3)  # noqa"),
        code("model.fit(x, y, nb_epoch=4)  # noqa"),
    ))
    # (`# noqa: KM207` suppresses nothing there: KM001 says so, and is off for this test)
    assert [(d["cell"], d["location"]["row"]) for d in json_report("--ignore", "KM001", "nb.ipynb")] == [(2, 2)]
    run("fix", "--ignore", "KM001", "nb.ipynb")
    assert_only_replaced(before, read(path), ("nb_epoch=2", "epochs=2"))


# --- files metriclint cannot or should not lint ---------------------------------------------------
GOOD = notebook(code(SETUP), code("model.fit(x, y, nb_epoch=3)"))


@pytest.mark.parametrize("text,message", [
    ('{"cells": [', "E902 not valid notebook JSON: Expecting value at line 1 column 12"),
    ("", "E902 not valid notebook JSON: Expecting value at line 1 column 1"),
    ('{"worksheets": [], "nbformat": 3}', "E902 not a Jupyter notebook: no `cells` list (nbformat 4 is supported)"),
    ("[1, 2]", "E902 not a Jupyter notebook: no `cells` list (nbformat 4 is supported)"),
])
@pytest.mark.parametrize("command", ["check", "fix"])
def test_broken_json_is_reported_and_the_run_goes_on(project, text, message, command):
    (project / "broken.ipynb").write_text(text, encoding="utf-8")
    save(project / "good.ipynb", GOOD)
    code_, out, err = run(command, "broken.ipynb", "good.ipynb")
    assert code_ == 1, err
    lines = out.splitlines()
    assert lines[0] == f"broken.ipynb:1:1: {message}"
    if command == "check":
        assert lines[1] == f"good.ipynb:cell 2:1:17: {KM101}"
    else:
        assert "epochs=3" in read(project / "good.ipynb")
    assert (project / "broken.ipynb").read_text(encoding="utf-8") == text


def test_non_python_kernel_is_skipped_with_a_note(project):
    r_book = notebook(
        code("library(keras)\nmodel %>% fit(x, y, nb_epoch = 3)"), kernel=False,
        kernelspec={"display_name": "R", "language": "R", "name": "ir"},
        language_info={"name": "R"},
    )
    before = save(project / "r.ipynb", r_book)
    save(project / "py.ipynb", GOOD)
    code_, out, err = run("check", "r.ipynb", "py.ipynb")
    assert code_ == 1
    assert err == "metriclint: r.ipynb: skipped: not a Python notebook (kernel language: r)\n"
    assert out.splitlines()[0] == f"py.ipynb:cell 2:1:17: {KM101}"
    code_, _, err = run("fix", "r.ipynb")
    assert code_ == 0 and "skipped: not a Python notebook" in err
    assert read(project / "r.ipynb") == before


def test_notebook_without_kernel_metadata_is_python(project):
    save(project / "nb.ipynb", notebook(code(SETUP), code("model.fit(x, y, nb_epoch=3)"), kernel=False))
    assert run("check", "nb.ipynb")[1].startswith(f"nb.ipynb:cell 2:1:17: {KM101}")


@pytest.mark.parametrize("broken", [
    'print "hello"',
    "def f(:\n    pass\n",
    "for i in range(3):\nprint(i)",
    "!ls\nx = (1,",
])
def test_cell_with_a_syntax_error_is_reported_and_skipped(project, broken):
    path = project / "nb.ipynb"
    before = save(path, notebook(
        code(SETUP), code(broken), markdown("next"), code("model.fit(x, y, nb_epoch=3)"),
    ))
    code_, out, _ = run("check", "nb.ipynb")
    assert code_ == 1
    lines = out.splitlines()
    assert lines[0].startswith("nb.ipynb:cell 2:") and ": E999 SyntaxError in this cell: " in lines[0]
    assert lines[0].endswith("; the cell is skipped")
    assert lines[1] == f"nb.ipynb:cell 4:1:17: {KM101}"
    code_, out, err = run("fix", "nb.ipynb")
    assert code_ == 1 and err == ""
    assert out.splitlines()[0].startswith("nb.ipynb:cell 2:")
    assert out.splitlines()[-1] == "Found 2 errors (1 fixed, 1 remaining)."
    assert_only_replaced(before, read(path), ("nb_epoch=3", "epochs=3"))


def test_syntax_error_position_is_in_the_cell(project):
    save(project / "nb.ipynb", notebook(code(SETUP), code("x = 1\ny = 2\nz = 3 3")))
    (diag,) = json_report("nb.ipynb")
    assert (diag["code"], diag["cell"], diag["location"]["row"]) == ("E999", 2, 3)


@pytest.mark.parametrize("cells", [[], [markdown("only text")], [code("")]], ids=["no-cells", "markdown-only", "empty-cell"])
def test_empty_notebook(project, cells):
    path = project / "nb.ipynb"
    before = save(path, notebook(*cells))
    assert run("check", "nb.ipynb") == (0, "All checks passed!\n", "")
    assert run("fix", "nb.ipynb") == (0, "All checks passed!\n", "")
    assert read(path) == before


HAND_WRITTEN = """{ "cells" : [
    { "cell_type": "code", "execution_count": null, "id": "a1b2c3", "metadata": { },
      "outputs": [ ], "source": [ "from tensorflow import keras\\n", "model = keras.Sequential()\\n",
                                  "model.fit(x, y, nb_epoch=3)" ] } ],
  "metadata": { "kernelspec": { "display_name": "Python 3", "language": "python", "name": "python3" } },
  "nbformat": 4, "nbformat_minor": 5 }
"""


def test_notebook_whose_layout_cannot_be_reproduced_is_not_written(project):
    nbformat.validate(nbformat.reads(HAND_WRITTEN, as_version=4))  # a valid notebook, odd spacing
    path = project / "odd.ipynb"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    assert run("check", "odd.ipynb")[1].splitlines()[0] == f"odd.ipynb:cell 1:3:17: {KM101}"
    code_, out, err = run("fix", "odd.ipynb")
    assert code_ == 1
    assert err == (
        "metriclint: error: odd.ipynb: not written: its JSON layout cannot be reproduced exactly, so fixes "
        "were not written (save it once with Jupyter or nbformat to normalise it)\n"
    )
    assert out.splitlines() == [f"odd.ipynb:cell 1:3:17: {KM101}", "Found 1 error (0 fixed, 1 remaining)."]
    assert path.read_text(encoding="utf-8") == HAND_WRITTEN
    # --diff still shows what the fix would be, and writes nothing either
    code_, out, _ = run("fix", "--diff", "odd.ipynb")
    assert code_ == 1 and "+model.fit(x, y, epochs=3)" in out
    assert path.read_text(encoding="utf-8") == HAND_WRITTEN


def test_failed_write_reports_what_is_on_disk(project, monkeypatch):
    from metriclint import runner
    from metriclint.source import SourceError

    def refuse(source, text):
        raise SourceError("changed on disk while metriclint was running; not overwritten")

    monkeypatch.setattr(runner, "write_atomic", refuse)
    path = project / "nb.ipynb"
    before = save(path, GOOD)
    code_, out, err = run("fix", "nb.ipynb")
    assert code_ == 1
    assert err == "metriclint: error: nb.ipynb: not written: changed on disk while metriclint was running; not overwritten\n"
    assert out.splitlines() == [f"nb.ipynb:cell 2:1:17: {KM101}", "Found 1 error (0 fixed, 1 remaining)."]
    assert read(path) == before


# --- discovery, config, stdin ------------------------------------------------------------------------
def test_directories_include_notebooks_unless_configured_off(project):
    (project / "notebooks").mkdir()
    save(project / "notebooks" / "train.ipynb", GOOD)
    (project / "notebooks" / ".ipynb_checkpoints").mkdir()
    save(project / "notebooks" / ".ipynb_checkpoints" / "train-checkpoint.ipynb", GOOD)
    code_, out, _ = run("check", ".")
    assert code_ == 1
    assert out.splitlines()[0] == f"notebooks/train.ipynb:cell 2:1:17: {KM101}"
    assert "checkpoint" not in out
    (project / "metriclint.toml").write_text('target-keras = "3"\ninclude-notebooks = false\n', encoding="utf-8")
    code_, _, err = run("check", ".")
    assert code_ == 0
    # a notebook named on the command line is always read
    assert run("check", "notebooks/train.ipynb")[0] == 1


def test_stdin_notebook(project):
    text = dumps(training_notebook())
    code_, out, _ = run("check", "-", "--stdin-filename", "nb.ipynb", input=text.encode("utf-8"))
    assert code_ == 1
    assert out.splitlines()[1] == f"nb.ipynb:cell 6:1:{KM101_COL}: {KM101}"
    # `fix -` writes the fixed notebook (not metriclint's own view of it) to stdout
    code_, out, err = run("fix", "-", "--stdin-filename", "nb.ipynb", input=text.encode("utf-8"))
    assert code_ == 0, err
    assert_only_replaced(text, out, *FIXED)
    assert err == "Found 2 errors (2 fixed, 0 remaining).\n"


def test_stdin_notebook_with_a_layout_that_cannot_be_reproduced_comes_back_unchanged(project):
    code_, out, err = run("fix", "-", "--stdin-filename", "odd.ipynb", input=HAND_WRITTEN.encode("utf-8"))
    assert out == HAND_WRITTEN
    assert "not written: its JSON layout cannot be reproduced" in err
    assert code_ == 1


# --- the reader itself ---------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_layout_round_trips(layout):
    text = dumps(training_notebook(), **LAYOUTS[layout])
    assert nb.round_trips(nb.read_notebook(text))


def test_compact_or_hand_spaced_json_does_not_round_trip():
    assert not nb.round_trips(nb.read_notebook(HAND_WRITTEN))
    compact = json.dumps(json.loads(dumps(GOOD)), separators=(",", ":"))
    assert not nb.round_trips(nb.read_notebook(compact))


def test_cell_numbers_count_every_cell():
    book = nb.read_notebook(dumps(training_notebook()))
    module = nb.build_module(book)
    assert module.code_cells == [2, 3, 5, 6, 8]
    assert "model.fit(x, y, nb_epoch=3)  # raw" not in module.text


# --- cells as IPython reads them: common indentation, automagics ----------------------------------------
INDENTED = "    x = 1\n    model.fit(x, y, nb_epoch=3)\n\n    if x:\n        %time model.fit(x, y, nb_epoch=1)\n        !ls\n"


def test_a_cell_indented_as_a_whole_is_python_and_keeps_its_indentation(project):
    """IPython strips the indentation all a cell's lines share (`leading_indent`); so does metriclint,
    and puts it back on every line it writes."""
    path = project / "nb.ipynb"
    before = save(path, notebook(code(SETUP), code(INDENTED)))
    report = json_report("nb.ipynb")
    assert [(d["code"], d["cell"], d["location"]["row"], d["location"]["column"]) for d in report] == [
        ("KM101", 2, 2, column(INDENTED, 2, "nb_epoch")), ("KM101", 2, 5, column(INDENTED, 5, "nb_epoch"))]
    for diag in report:  # the fix's edit is where the finding is, in the cell's own columns
        (edit,) = diag["fix"]["edits"]
        assert (edit["location"], edit["end_location"]) == (diag["location"], diag["end_location"])
    code_, out, err = run("fix", "nb.ipynb")
    assert (code_, err) == (0, ""), out
    after = read(path)
    assert sources(after)[1] == INDENTED.replace("nb_epoch=", "epochs=")
    assert_only_replaced(before, after, ("nb_epoch=3", "epochs=3"), ("nb_epoch=1", "epochs=1"))


def test_a_fix_that_adds_a_line_to_an_indented_cell_indents_it_too(project):
    path = project / "nb.ipynb"
    cell = ("  acc = keras.metrics.BinaryAccuracy()\n  for epoch in range(3):\n      for x, y in ds:\n"
            "          acc.update_state(y, model(x))\n      print(acc.result())")
    save(path, notebook(code(SETUP), code(cell)))
    assert run("fix", "nb.ipynb")[0] == 0
    fixed = sources(read(path))[1]
    assert fixed == cell.replace("      for x", "      acc.reset_state()\n      for x")


def test_syntax_error_in_an_indented_cell_points_into_the_cell(project):
    save(project / "nb.ipynb", notebook(code(SETUP), code("  x = 1\n  y = 2 2")))
    (diag,) = json_report("nb.ipynb")
    assert (diag["code"], diag["cell"], diag["location"]["row"], diag["location"]["column"]) == ("E999", 2, 2, 9)


def test_add_noqa_in_an_indented_cell(project):
    path = project / "nb.ipynb"
    save(path, notebook(code(SETUP), code("    model.fit(x, y, nb_epoch=3)\n    y = 1")))
    run("check", "--add-noqa", "nb.ipynb")
    assert sources(read(path))[1] == "    model.fit(x, y, nb_epoch=3)  # noqa: KM101\n    y = 1"
    assert run("check", "nb.ipynb")[0] == 0


@pytest.mark.parametrize("cell", [
    "ls ./data/", "cd ..", "cd /content/drive/MyDrive", "pwd", "pip install -q tensorflow-addons",
    "mkdir -p out/logs", "cat data/train.csv | head", "rm -rf logs/", "clear", "less train.py",
    "ls -la", "\n\nls ./data/", "  ls ./data/\n", "cp a.py b.py", "man ls", "conda install -y numpy",
])
def test_automagics_in_a_one_line_cell_are_ipython_not_syntax_errors(project, cell):
    path = project / "nb.ipynb"
    before = save(path, notebook(code(SETUP), code(cell), code("model.fit(x, y, nb_epoch=3)")))
    code_, out, _ = run("check", "nb.ipynb")
    assert out.splitlines()[0] == f"nb.ipynb:cell 3:1:17: {KM101}"
    assert "E999" not in out
    run("fix", "nb.ipynb")
    assert_only_replaced(before, read(path), ("nb_epoch=3", "epochs=3"))


@pytest.mark.parametrize("cell,hint", [
    ("import os\nls ./data/", " (IPython runs `ls` without `%` only in a cell of one line: write `%ls`)"),
    ("ls ./data/\n\n", " (IPython runs `ls` without `%` only in a cell of one line: write `%ls`)"),  # two lines
    ("cd ..\ncd data", " (IPython runs `cd` without `%` only in a cell of one line: write `%cd`)"),
    ("print ./data/", ""),  # `print` is a builtin, never a magic
    ("lss ./data/", ""),  # not a magic name
    ("ls = ./data/", ""),  # an assignment is Python to IPython
])
def test_what_ipython_rejects_stays_a_syntax_error(project, cell, hint):
    save(project / "nb.ipynb", notebook(code(SETUP), code(cell)))
    code_, out, _ = run("check", "nb.ipynb")
    (line,) = out.splitlines()[:-1]
    assert line.startswith("nb.ipynb:cell 2:") and ": E999 SyntaxError in this cell: " in line
    assert line.endswith(f"{hint}; the cell is skipped")


def test_python_that_looks_like_an_automagic_is_linted_as_python(project):
    save(project / "nb.ipynb", notebook(code(SETUP), code("ls = model.fit(x, y, nb_epoch=3)")))
    assert run("check", "nb.ipynb")[1].splitlines()[0] == f"nb.ipynb:cell 2:1:22: {KM101}"


def test_mixed_tab_space_indentation_in_a_cell(project):
    path = project / "nb.ipynb"
    cell = "def train(x):\n\t with x:\n\t\t model.fit(x, y, nb_epoch=3)"
    before = save(path, notebook(code(SETUP), code(cell)))
    assert run("check", "nb.ipynb")[1].splitlines()[0] == f"nb.ipynb:cell 2:3:{column(cell, 3, 'nb_epoch')}: {KM101}"
    assert column(cell, 3, "nb_epoch") == 20
    assert run("fix", "nb.ipynb")[0] == 0
    assert_only_replaced(before, read(path), ("nb_epoch=3", "epochs=3"))


@given(st.lists(st.sampled_from(["", " ", "  ", "\t", " \t", "\t ", "x", "  x", "\ty", " \t z", "    w", "\t\tq"]),
                min_size=1, max_size=6))
def test_common_margin_is_textwraps(lines):
    source = "\n".join(lines)
    margin = nb.common_margin(source)
    stripped = "\n".join("" if not line.strip(" \t") else line[len(margin):] for line in lines)
    assert all(line.startswith(margin) for line in lines if line.strip(" \t"))
    assert stripped == textwrap.dedent(source)


def test_a_noqa_in_a_cell_with_a_syntax_error_is_named_as_doing_nothing(project):
    save(project / "nb.ipynb", notebook(code("# metriclint: noqa: E999\n" + SETUP), code("x = (1,  # noqa: E999")))
    first, line = run("check", "nb.ipynb")[1].splitlines()[:-1]
    assert first == "nb.ipynb:cell 1:1:1: KM001 [*] Unused `noqa` directive (cannot be suppressed: `E999`)"
    assert line.startswith("nb.ipynb:cell 2:1:") and line.endswith(
        " (`noqa` cannot hide E999: it reports a file that does not parse as Python, so it was not checked; "
        "to skip the file, list it in `exclude`); the cell is skipped")


def test_env_magic_setting_legacy_keras_makes_the_notebook_keras_2(tmp_path):
    """`%env TF_USE_LEGACY_KERAS=1` in a cell: the kernel's `tf.keras` is tf_keras, so Keras-3-only
    rules stay silent there, whatever the target."""
    import nbformat

    cells = ["import tensorflow as tf\nm = tf.keras.metrics.Mean()\nm.reset_states()"]
    for first, expected in (("%env TF_USE_LEGACY_KERAS=1", 0), ("%set_env TF_USE_LEGACY_KERAS True", 0),
                            ("%env TF_USE_LEGACY_KERAS=0", 1), ("%env TF_CPP_MIN_LOG_LEVEL=1", 1)):
        book = nbformat.v4.new_notebook()
        book.cells = [nbformat.v4.new_code_cell(first)] + [nbformat.v4.new_code_cell(c) for c in cells]
        path = tmp_path / "env.ipynb"
        nbformat.write(book, str(path))
        result = CliRunner().invoke(main, ["check", "--no-cache", "--target-keras", "3", str(path)])
        assert result.exit_code == expected, (first, result.output)
