"""The output formats (text, JSON, JSON lines, SARIF, GitHub annotations, GitLab code quality,
JUnit XML), through the real CLI on real files.

Each format is checked against what its consumer accepts (sources in tests/data/README.md): SARIF
against the official OASIS 2.1.0 schema, JSON and JSON lines against our documented schema and
the shape of ruff's own JSON, GitLab's report against the schema GitLab validates each issue with,
JUnit XML against the XSD Jenkins uses (and junitparser as a reader), GitHub annotations by the
Actions runner's own parsing and unescaping rules.
"""

from __future__ import annotations

import codecs
import copy
import json
import re
from pathlib import Path
from typing import Dict, List, Tuple
from urllib.parse import urlparse
from urllib.request import url2pathname

import jsonschema
import pytest
from click.testing import CliRunner

from metriclint import DOCS_URL
from metriclint.cli import main

DATA = Path(__file__).parent / "data"

# Three KM101 findings with fixes of every shape: a safe one-edit rename on a line with
# non-ASCII text before it (columns count characters: the emoji is one), an unsafe
# two-edit fix (a multi-line replacement plus an insertion on another line), and a
# safe replacement of a whole call.
KERAS_FIT = """\
from tensorflow import keras
model = keras.Sequential()
model.compile(loss="mse", metrics=["mae"])
label = "é→ü😀"; model.fit(x, y, nb_epoch=3)
model.fit(
    x,
    y,
    validation_metrics=["mse"],
)
model.fit_generator(gen, 10, 2, workers=4)
"""
NB_EPOCH_HEADLINE = "`Model.fit()` does not take `nb_epoch=` (TypeError)"
NB_EPOCH_MESSAGE = NB_EPOCH_HEADLINE + ". Keras 1 name of `epochs`"
# A syntax error in a file that mentions Keras (E999), and an undecodable file (E902).
BROKEN = "from tensorflow import keras\nmodel.fit(x, nb_epoch=3\n"
UNDECODABLE = b"from tensorflow import keras\n# \xff\xfe model.fit\n"
CLEAN = "from tensorflow import keras\nmodel = keras.Sequential()\nmodel.fit(x, y, epochs=3)\n"


# --- helpers ------------------------------------------------------------------------------------
@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory (made the working directory) with its own config, so nothing above leaks in."""
    (tmp_path / "metriclint.toml").write_text('target-keras = "3"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def findings(project):
    """keras_fit.py (3 x KM101), broken.py (E999), latin.py (E902)."""
    (project / "keras_fit.py").write_text(KERAS_FIT, encoding="utf-8", newline="")
    (project / "broken.py").write_text(BROKEN, encoding="utf-8", newline="")
    (project / "latin.py").write_bytes(UNDECODABLE)
    return project


def run(*args: str) -> Tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def read_text(path: Path) -> str:
    """The decoded text metriclint works on: BOM dropped, line endings kept."""
    return codecs.decode(path.read_bytes(), "utf-8-sig")


def line_starts(text: str) -> List[int]:
    # The line breaks Python's tokenizer knows: \r\n, \r, \n.
    return [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]


def offset_of(text: str, line: int, column: int) -> int:
    """1-based line and column (in characters) -> 0-based offset, independently of metriclint."""
    starts = line_starts(text)
    assert 1 <= line <= len(starts), (line, len(starts))
    offset = starts[line - 1] + column - 1
    line_end = starts[line] if line < len(starts) else len(text)
    assert starts[line - 1] <= offset <= line_end, (line, column)
    return offset


def apply(text: str, edits: List[Tuple[int, int, str]]) -> str:
    out, last = [], 0
    for start, end, content in sorted(edits):
        assert start >= last, "edits overlap"
        out.append(text[last:start])
        out.append(content)
        last = end
    out.append(text[last:])
    return "".join(out)


def by_code(diagnostics: List[Dict]) -> Dict[str, List[Dict]]:
    out: Dict[str, List[Dict]] = {}
    for diag in diagnostics:
        out.setdefault(diag["code"], []).append(diag)
    return out


def load_schema(name: str) -> Dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def validator(schema: Dict) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_valid(schema: Dict, document) -> None:
    errors = sorted(validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def assert_absolute_uri(uri: str) -> None:
    parsed = urlparse(uri)
    assert parsed.scheme in ("http", "https") and parsed.netloc, uri
    assert not re.search(r"[\s<>\"{}|\\^`]", uri), uri


# --- SARIF --------------------------------------------------------------------------------------
SARIF_SCHEMA = load_schema("sarif-schema-2.1.0.json")


def sarif(*args: str) -> Dict:
    code, out, _ = run("check", "--output-format", "sarif", *args)
    assert code in (0, 1)
    return json.loads(out)


def test_vendored_schema_is_the_official_sarif_2_1_0_schema():
    assert SARIF_SCHEMA["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert SARIF_SCHEMA["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    assert SARIF_SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]
    assert jsonschema.validators.validator_for(SARIF_SCHEMA) is jsonschema.Draft4Validator
    assert len((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")) == 112768


def test_sarif_report_is_valid_and_complete(findings):
    log = sarif(".")
    assert_valid(SARIF_SCHEMA, log)
    assert log["version"] == "2.1.0"
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    (run_,) = log["runs"]
    assert run_["columnKind"] == "unicodeCodePoints"
    driver = run_["tool"]["driver"]
    assert driver["name"] == "metriclint"
    assert_absolute_uri(driver["informationUri"])

    rules = driver["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids))
    assert {"KM101", "E902", "E999", "E000"} <= set(ids)
    for rule in rules:
        assert rule["name"] and re.fullmatch(r"[a-z0-9-]+", rule["name"]), rule
        assert rule["shortDescription"]["text"].strip(), rule
        assert rule["helpUri"] == DOCS_URL.format(code=rule["id"])
        assert_absolute_uri(rule["helpUri"])
    km101 = rules[ids.index("KM101")]
    assert km101["name"] == "unknown-model-keyword"
    assert rules[ids.index("E999")]["name"] == "syntax-error"
    assert rules[ids.index("E902")]["name"] == "io-error"

    results = run_["results"]
    assert [r["ruleId"] for r in results] == ["E999", "KM101", "KM101", "KM101", "E902"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "error"
        assert result["message"]["text"]
        (location,) = result["locations"]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        assert urlparse(uri).scheme == "file"
        assert Path(url2pathname(urlparse(uri).path)).parent == findings.resolve()

    # The tool diagnostics: where they are, and no fix.
    e999, e902 = results[0], results[-1]
    assert e999["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (findings / "broken.py").resolve().as_uri()
    assert e999["message"]["text"].startswith("SyntaxError: ")
    assert e902["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (findings / "latin.py").resolve().as_uri()
    assert e902["locations"][0]["physicalLocation"]["region"] == {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1}
    assert "utf-8" in e902["message"]["text"]
    assert "fixes" not in e999 and "fixes" not in e902

    # The rename: the region is exactly `nb_epoch`, counted in code points (the emoji is one).
    rename = results[1]
    assert rename["message"]["text"] == NB_EPOCH_MESSAGE
    region = rename["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 4, "startColumn": 33, "endLine": 4, "endColumn": 41}
    line4 = KERAS_FIT.splitlines()[3]
    assert line4[region["startColumn"] - 1 : region["endColumn"] - 1] == "nb_epoch"
    (fix,) = rename["fixes"]
    assert fix["description"]["text"] == "Rename `nb_epoch=` to `epochs=` (safe)"
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"]["uri"] == (findings / "keras_fit.py").resolve().as_uri()
    assert change["replacements"] == [
        {
            "deletedRegion": {"startLine": 4, "startColumn": 33, "endLine": 4, "endColumn": 41},
            "insertedContent": {"text": "epochs"},
        }
    ]

    # The unsafe two-edit fix: an insertion into `compile(metrics=...)` and the removed argument's line.
    moved = results[2]
    (fix,) = moved["fixes"]
    assert fix["description"]["text"].endswith("(unsafe)")
    replacements = fix["artifactChanges"][0]["replacements"]
    assert len(replacements) == 2
    edits = []
    for replacement in replacements:
        deleted = replacement["deletedRegion"]
        start = offset_of(KERAS_FIT, deleted["startLine"], deleted["startColumn"])
        end = offset_of(KERAS_FIT, deleted["endLine"], deleted["endColumn"])
        edits.append((start, end, replacement["insertedContent"]["text"]))
    assert replacements[0]["deletedRegion"]["startLine"] == replacements[0]["deletedRegion"]["endLine"] == 3
    assert replacements[1]["deletedRegion"] == {"startLine": 8, "startColumn": 1, "endLine": 9, "endColumn": 1}
    assert apply(KERAS_FIT, edits) == KERAS_FIT.replace('["mae"]', '["mae", "mse"]').replace(
        '    y,\n    validation_metrics=["mse"],\n)', "    y,\n)"
    )


def test_sarif_schema_check_is_not_vacuous(findings):
    """The validator really rejects broken logs: the checks above can fail."""
    log = sarif(".")
    broken = copy.deepcopy(log)
    del broken["runs"][0]["results"][1]["message"]
    assert list(validator(SARIF_SCHEMA).iter_errors(broken))
    broken = copy.deepcopy(log)
    broken["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startColumn"] = 0
    assert list(validator(SARIF_SCHEMA).iter_errors(broken))
    broken = copy.deepcopy(log)
    broken["runs"][0]["results"][1]["level"] = "fatal"
    assert list(validator(SARIF_SCHEMA).iter_errors(broken))


def test_sarif_empty_report(project):
    (project / "clean.py").write_text(CLEAN, encoding="utf-8")
    code, out, _ = run("check", "--output-format", "sarif", ".")
    assert code == 0
    log = json.loads(out)
    assert_valid(SARIF_SCHEMA, log)
    (run_,) = log["runs"]
    assert run_["results"] == []
    assert "KM101" in [rule["id"] for rule in run_["tool"]["driver"]["rules"]]


def test_sarif_artifact_uri_of_an_awkward_path(project):
    name = "my dir%20ü/x #1.py"
    path = project / name
    path.parent.mkdir()
    path.write_text(BROKEN, encoding="utf-8")
    log = sarif(".")
    assert_valid(SARIF_SCHEMA, log)
    (result,) = log["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert " " not in uri and "#" not in uri and "ü" not in uri
    assert Path(url2pathname(urlparse(uri).path)) == path.resolve()


# --- JSON ---------------------------------------------------------------------------------------
JSON_SCHEMA = load_schema("metriclint-json.schema.json")
# ruff's own `--output-format json` (its CLI snapshot, tests/data/README.md): our objects carry every
# key it has, with values of the same JSON types, so tools written for ruff read ours.
RUFF_JSON = load_schema("ruff-output-format-json.json")
DIAGNOSTIC_KEYS = {"cell", "code", "end_location", "explanation", "filename", "fix", "location", "message", "name",
                   "noqa_row", "severity", "url"}
FIX_KEYS = {"applicability", "message", "edits"}
EDIT_KEYS = {"content", "location", "end_location", "start_offset", "end_offset"}


def json_report(*args: str, command: str = "check") -> List[Dict]:
    code, out, _ = run(command, "--output-format", "json", *args)
    assert code in (0, 1)
    return json.loads(out)


def full_message(diag: Dict) -> str:
    """The whole message: JSON's `message` is its first sentence, `explanation` the rest."""
    return f"{diag['message']}. {diag['explanation']}" if diag["explanation"] else diag["message"]


def json_type(value) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null"}[type(value)]


def assert_shaped_like(ours, theirs, where: str = "") -> None:
    """Every key of ruff's object is in ours with a value of the same JSON type (recursively;
    null in ruff's stands for any value, as ruff writes null where we write a URL)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), where
        for key, value in theirs.items():
            assert key in ours, f"{where}.{key} missing"
            if value is not None and ours[key] is not None:
                assert_shaped_like(ours[key], value, f"{where}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), where
        for item in ours:
            assert_shaped_like(item, theirs[0], f"{where}[]")
    else:
        assert json_type(ours) == json_type(theirs), (where, ours, theirs)


def test_json_report_matches_the_documented_schema(findings):
    diagnostics = json_report(".")
    assert_valid(JSON_SCHEMA, diagnostics)
    assert [(d["filename"], d["code"]) for d in diagnostics] == [
        ("broken.py", "E999"),
        ("keras_fit.py", "KM101"),
        ("keras_fit.py", "KM101"),
        ("keras_fit.py", "KM101"),
        ("latin.py", "E902"),
    ]
    for diag in diagnostics:
        assert set(diag) == DIAGNOSTIC_KEYS
        assert set(diag["location"]) == set(diag["end_location"]) == {"row", "column"}
        assert diag["cell"] is None and diag["severity"] == "error"
        assert diag["url"] == DOCS_URL.format(code=diag["code"])
        if diag["fix"] is not None:
            assert set(diag["fix"]) == FIX_KEYS
            for edit in diag["fix"]["edits"]:
                assert set(edit) == EDIT_KEYS
                assert set(edit["location"]) == set(edit["end_location"]) == {"row", "column"}

    e999, rename, moved, generator, e902 = diagnostics
    assert e999["fix"] is None and e902["fix"] is None
    assert e999["message"].startswith("SyntaxError: ")
    assert e902["location"] == e902["end_location"] == {"row": 1, "column": 1}
    assert e999["noqa_row"] is None and e902["noqa_row"] is None  # nothing suppresses them
    assert (e999["name"], e902["name"]) == ("syntax-error", "io-error")
    assert rename == {
        "cell": None,
        "code": "KM101",
        "end_location": {"row": 4, "column": 41},
        "explanation": "Keras 1 name of `epochs`",
        "filename": "keras_fit.py",
        "fix": {
            "applicability": "safe",
            "edits": [
                {
                    "content": "epochs",
                    "end_location": {"row": 4, "column": 41},
                    "end_offset": KERAS_FIT.index("nb_epoch") + len("nb_epoch"),
                    "location": {"row": 4, "column": 33},
                    "start_offset": KERAS_FIT.index("nb_epoch"),
                }
            ],
            "message": "Rename `nb_epoch=` to `epochs=`",
        },
        "location": {"row": 4, "column": 33},
        "message": NB_EPOCH_HEADLINE,
        "name": "unknown-model-keyword",
        "noqa_row": 4,
        "severity": "error",
        "url": DOCS_URL.format(code="KM101"),
    }
    assert full_message(rename) == NB_EPOCH_MESSAGE
    assert moved["fix"]["applicability"] == "unsafe" and len(moved["fix"]["edits"]) == 2
    assert generator["fix"]["applicability"] == "safe"
    # only the tokens that change: the method name, two keywords, the dropped `workers=4`
    assert [e["content"] for e in generator["fix"]["edits"]] == ["fit", "steps_per_epoch=", "epochs=", ""]
    assert apply(KERAS_FIT, [(e["start_offset"], e["end_offset"], e["content"]) for e in generator["fix"]["edits"]]) == \
        KERAS_FIT.replace("model.fit_generator(gen, 10, 2, workers=4)", "model.fit(gen, steps_per_epoch=10, epochs=2)")


def test_json_report_has_ruffs_fields_with_ruffs_types(findings):
    assert len(RUFF_JSON) == 3 and RUFF_JSON[0]["fix"]["edits"]  # the reference has a fix with an edit
    diagnostics = json_report(".")
    assert any(d["fix"] for d in diagnostics)
    for ours in diagnostics:
        for theirs in RUFF_JSON:
            assert_shaped_like(ours, theirs)
    # what a ruff reader does with an item works here too: place it and apply its fix
    rename = diagnostics[1]
    start = offset_of(KERAS_FIT, rename["location"]["row"], rename["location"]["column"])
    end = offset_of(KERAS_FIT, rename["end_location"]["row"], rename["end_location"]["column"])
    assert KERAS_FIT[start:end] == "nb_epoch"
    edits = [(offset_of(KERAS_FIT, e["location"]["row"], e["location"]["column"]),
              offset_of(KERAS_FIT, e["end_location"]["row"], e["end_location"]["column"]), e["content"])
             for e in rename["fix"]["edits"]]
    assert apply(KERAS_FIT, edits) == KERAS_FIT.replace("nb_epoch=3", "epochs=3")


def test_json_noqa_row_is_where_a_noqa_silences_the_finding(project):
    (project / "a.py").write_text(
        "from tensorflow import keras\nmodel = keras.Sequential()\nmodel.fit(\n    x,\n    nb_epoch=3,\n)\n",
        encoding="utf-8")
    (diag,) = json_report("a.py")
    assert diag["noqa_row"] == 5
    lines = (project / "a.py").read_text(encoding="utf-8").splitlines()
    lines[diag["noqa_row"] - 1] += "  # noqa: KM101"
    (project / "a.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert json_report("a.py") == []


def test_json_schema_check_is_not_vacuous(findings):
    diagnostics = json_report(".")
    for mutate in (
        lambda d: d[1].pop("url"),
        lambda d: d[1].update(extra={}),
        lambda d: d[1]["fix"].update(applicability="maybe"),
        lambda d: d[1]["fix"]["edits"][0].pop("content"),
        lambda d: d[1]["location"].update(column=0),
        lambda d: d[0].update(cell="1"),
        lambda d: d[1].pop("noqa_row"),
        lambda d: d[1].update(filename=""),
    ):
        broken = copy.deepcopy(diagnostics)
        mutate(broken)
        assert list(validator(JSON_SCHEMA).iter_errors(broken))


def test_json_empty_report(project):
    (project / "clean.py").write_text(CLEAN, encoding="utf-8")
    code, out, _ = run("check", "--output-format", "json", ".")
    assert code == 0
    assert json.loads(out) == []
    assert_valid(JSON_SCHEMA, [])


def _expected_fix(text: str, diagnostics: List[Dict], unsafe: bool) -> Tuple[str, str]:
    """The fixed text, built from the reported edits twice: by offsets, and by line/column."""
    chosen = [d["fix"] for d in diagnostics if d["fix"] and (unsafe or d["fix"]["applicability"] == "safe")]
    assert chosen
    edits = [e for fix in chosen for e in fix["edits"]]
    by_offset = apply(text, [(e["start_offset"], e["end_offset"], e["content"]) for e in edits])
    by_position = apply(
        text,
        [
            (
                offset_of(text, e["location"]["row"], e["location"]["column"]),
                offset_of(text, e["end_location"]["row"], e["end_location"]["column"]),
                e["content"],
            )
            for e in edits
        ],
    )
    return by_offset, by_position


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
@pytest.mark.parametrize(
    "newline,bom", [("\n", False), ("\r\n", True)], ids=["lf", "crlf-bom"]
)
def test_json_edits_reproduce_what_fix_writes(project, unsafe, newline, bom):
    path = project / "keras_fit.py"
    data = KERAS_FIT.replace("\n", newline).encode("utf-8")
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + data)
    text = read_text(path)
    flags = ["--unsafe-fixes"] if unsafe else []

    diagnostics = json_report(*flags, "keras_fit.py")
    assert len(diagnostics) == 3
    for diag in diagnostics:  # every reported span is the keyword or method it names
        start = offset_of(text, diag["location"]["row"], diag["location"]["column"])
        end = offset_of(text, diag["end_location"]["row"], diag["end_location"]["column"])
        assert re.search(rf"`(Model\.)?{re.escape(text[start:end])}[(=]", diag["message"]), (text[start:end], diag)
    by_offset, by_position = _expected_fix(text, diagnostics, unsafe)
    assert by_offset == by_position != text

    code, _, _ = run("fix", *flags, "keras_fit.py")
    written = path.read_bytes()
    assert written.startswith(codecs.BOM_UTF8) == bom
    assert read_text(path) == by_offset
    if newline == "\r\n":
        assert b"\n" not in written.replace(b"\r\n", b"")


def test_json_positions_after_fix_refer_to_the_fixed_text(project):
    path = project / "a.py"
    path.write_text(
        "from tensorflow import keras\nmodel = keras.Sequential()\n"
        "model.fit(x, y, nb_epoch=3, epoch=2)\n",
        encoding="utf-8",
    )
    (remaining,) = json_report("a.py", command="fix")
    fixed = path.read_text(encoding="utf-8")
    assert fixed.endswith("model.fit(x, y, epochs=3, epoch=2)\n")
    assert remaining["fix"] is None
    assert remaining["location"] == {"row": 3, "column": 27}
    start = offset_of(fixed, remaining["location"]["row"], remaining["location"]["column"])
    end = offset_of(fixed, remaining["end_location"]["row"], remaining["end_location"]["column"])
    assert fixed[start:end] == "epoch"


def test_json_edits_after_fix_refer_to_the_fixed_text(project):
    """`fix` leaves the unsafe fix; its edits must apply to the file as `fix` left it."""
    path = project / "keras_fit.py"
    path.write_text(KERAS_FIT, encoding="utf-8", newline="")
    (remaining,) = json_report("keras_fit.py", command="fix")
    after_safe = read_text(path)
    assert "nb_epoch" not in after_safe and "validation_metrics" in after_safe
    assert remaining["fix"]["applicability"] == "unsafe"
    by_offset, by_position = _expected_fix(after_safe, [remaining], unsafe=True)
    assert by_offset == by_position
    run("fix", "--unsafe-fixes", "keras_fit.py")
    assert read_text(path) == by_offset


# --- GitHub annotations -------------------------------------------------------------------------
# How the Actions runner reads a workflow command (actions/runner, src/Runner.Common/ActionCommand.cs,
# `TryParseV2`; also GitHub's documentation of workflow commands): the command name up to the first
# space, properties split at `,` and each at its first `=` (empty pairs dropped), the data after the
# second `::`; then it undoes the escapes in this order: data `%0D`, `%0A`, `%25`; properties `%0D`,
# `%0A`, `%3A`, `%2C`, `%25`.
_DATA_ESCAPES = (("\r", "%0D"), ("\n", "%0A"), ("%", "%25"))
_PROPERTY_ESCAPES = (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25"))
_REGISTERED = {"error", "warning", "notice"}


def _unescape(text: str, mappings) -> str:
    for token, replacement in mappings:
        text = text.replace(replacement, token)
    return text


def parse_annotation(line: str) -> Tuple[str, Dict[str, str], str]:
    """The runner's parse of one line: (command, properties, data); fails like the runner would not."""
    message = line.lstrip()
    assert message.startswith("::"), line
    end = message.find("::", 2)
    assert end >= 0, line
    info = message[2:end]
    name, space, props_text = info.partition(" ")
    assert name in _REGISTERED, line
    props: Dict[str, str] = {}
    for part in filter(None, props_text.strip().split(",")) if space else ():
        pair = [p for p in part.split("=", 1) if p]
        if len(pair) == 2:
            props[pair[0]] = _unescape(pair[1], _PROPERTY_ESCAPES)
    return name, props, _unescape(message[end + 2:], _DATA_ESCAPES)


def test_github_annotations_exact_format(findings):
    code, out, _ = run("check", "--output-format", "github", ".")
    assert code == 1
    assert out.endswith("\n")
    lines = out.splitlines()
    assert len(lines) == 5
    assert lines[1] == (
        "::error title=metriclint (KM101),file=keras_fit.py,line=4,col=33,endLine=4,endColumn=41::"
        "keras_fit.py:4:33: KM101 " + NB_EPOCH_MESSAGE
    )
    assert lines[4] == (
        "::error title=metriclint (E902),file=latin.py,line=1,col=1,endLine=1,endColumn=1::"
        "latin.py:1:1: E902 " + full_message(json_report(".")[4])
    )
    # Each annotation says what the JSON report says, as the runner reads it.
    for line, diag in zip(lines, json_report(".")):
        level, props, data = parse_annotation(line)
        assert level == "error"
        assert list(props) == ["title", "file", "line", "col", "endLine", "endColumn"]
        assert props == {
            "title": f"metriclint ({diag['code']})",
            "file": diag["filename"],
            "line": str(diag["location"]["row"]),
            "col": str(diag["location"]["column"]),
            "endLine": str(diag["end_location"]["row"]),
            "endColumn": str(diag["end_location"]["column"]),
        }
        assert data == (f"{diag['filename']}:{diag['location']['row']}:{diag['location']['column']}: "
                        f"{diag['code']} {full_message(diag)}")


@pytest.mark.parametrize("name", ["odd%,:\nname.py", "a::b=c%3A%25.py", "x\r,y%0A.py", "t=1,u=2.py"])
def test_github_annotations_escape_properties_and_data(project, name):
    # `%`, `,`, `:`, `=`, line breaks and text that looks escaped already, in the file name, which is
    # both a property and part of the message.
    (project / name).write_text(BROKEN, encoding="utf-8")
    code, out, _ = run("check", "--output-format", "github", ".")
    assert code == 1
    (line,) = out.splitlines()
    (diag,) = json_report(".")
    assert diag["filename"] == name and diag["code"] == "E999"
    level, props, data = parse_annotation(line)
    assert (level, props["file"], props["title"]) == ("error", name, "metriclint (E999)")
    assert props["line"] == str(diag["location"]["row"])
    assert data == f"{name}:{diag['location']['row']}:{diag['location']['column']}: E999 {full_message(diag)}"


def test_github_annotations_empty(project):
    (project / "clean.py").write_text(CLEAN, encoding="utf-8")
    assert run("check", "--output-format", "github", ".") == (0, "", "")


# --- text ---------------------------------------------------------------------------------------
def test_text_lines_and_summary(findings):
    code, out, _ = run("check", ".")
    assert code == 1
    diagnostics = json_report(".")
    mark = {id(d): "[*] " if d["fix"] and d["fix"]["applicability"] == "safe" else "" for d in diagnostics}
    expected = [f"{d['filename']}:{d['location']['row']}:{d['location']['column']}: {d['code']} {mark[id(d)]}{d['message']}"
                for d in diagnostics]
    assert expected[1] == "keras_fit.py:4:33: KM101 [*] " + NB_EPOCH_HEADLINE
    assert out == "\n".join(
        expected
        + [
            "Found 5 errors (2 fixable with `metriclint fix`).",
            "1 hidden fix can be enabled with `metriclint fix --unsafe-fixes`.",
        ]
    ) + "\n"

    code, out, _ = run("check", "--unsafe-fixes", ".")
    assert code == 1
    assert out.splitlines()[-1] == "Found 5 errors (3 fixable with `metriclint fix --unsafe-fixes`)."


def test_text_one_error_without_fix(project):
    (project / "broken.py").write_text(BROKEN, encoding="utf-8")
    code, out, _ = run("check", ".")
    assert code == 1
    first, summary = out.splitlines()
    assert re.fullmatch(r"broken\.py:2:\d+: E999 SyntaxError: .+", first), first
    assert summary == "Found 1 error."


def test_text_all_checks_passed(project):
    (project / "clean.py").write_text(CLEAN, encoding="utf-8")
    assert run("check", ".") == (0, "All checks passed!\n", "")
    assert run("fix", ".") == (0, "All checks passed!\n", "")
    assert (project / "clean.py").read_text(encoding="utf-8") == CLEAN


def test_text_fix_summary(project):
    path = project / "a.py"
    path.write_text(
        "from tensorflow import keras\nmodel = keras.Sequential()\n"
        "model.fit(x, y, nb_epoch=3, epoch=2)\nmodel.evaluate_generator(gen, 5)\n",
        encoding="utf-8",
    )
    code, out, _ = run("fix", ".")
    assert code == 1
    assert out.splitlines() == [
        "a.py:3:27: KM101 `Model.fit()` does not take `epoch=` (TypeError); did you mean `epochs=`?",
        "Found 3 errors (2 fixed, 1 remaining).",
    ]
    assert path.read_text(encoding="utf-8").endswith("epochs=3, epoch=2)\nmodel.evaluate(gen, verbose=0, steps=5)\n")


def test_statistics(findings):
    code, out, _ = run("check", "--statistics", ".")
    assert code == 1
    assert out.splitlines() == [
        "    3  KM101  unknown-model-keyword        [*] 2 fixable",
        "    1  E902  io-error",
        "    1  E999  syntax-error",
    ]
    code, out, _ = run("check", "--statistics", "--unsafe-fixes", ".")
    assert out.splitlines()[0] == "    3  KM101  unknown-model-keyword        [*] 3 fixable"


def test_statistics_clean(project):
    (project / "clean.py").write_text(CLEAN, encoding="utf-8")
    assert run("check", "--statistics", ".") == (0, "", "")


# --- JSON lines ---------------------------------------------------------------------------------
def test_json_lines_are_the_json_objects_one_per_line(findings):
    code, out, _ = run("check", "--output-format", "json-lines", ".")
    assert code == 1
    assert out.endswith("\n") and "\n\n" not in out
    objects = [json.loads(line) for line in out.splitlines()]
    assert objects == json_report(".")
    # each line is one item of the documented JSON schema
    item_schema = {"$schema": JSON_SCHEMA["$schema"], "$ref": "#/definitions/diagnostic",
                   "definitions": JSON_SCHEMA["definitions"]}
    for item in objects:
        assert_valid(item_schema, item)
    assert any(item["fix"] and item["fix"]["edits"] for item in objects)  # fixes are carried
    # after `fix` too, with the remaining unsafe fix
    code, out, _ = run("fix", "--output-format", "json-lines", "keras_fit.py")
    (remaining,) = [json.loads(line) for line in out.splitlines()]
    assert remaining["fix"]["applicability"] == "unsafe"


def test_json_lines_empty_report(project):
    (project / "clean.py").write_text(CLEAN, encoding="utf-8")
    assert run("check", "--output-format", "json-lines", ".") == (0, "", "")


# --- JUnit XML ----------------------------------------------------------------------------------
# The XSD Jenkins' JUnit tooling validates against (tests/data/jenkins-junit.xsd, see its README).
JUNIT_XSD = DATA / "jenkins-junit.xsd"


def junit_schema():
    import xmlschema

    return xmlschema.XMLSchema(str(JUNIT_XSD))


def junit(*args: str):
    import xml.etree.ElementTree as ET

    from junitparser import JUnitXml

    code, out, _ = run("check", "--output-format", "junit", *args)
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(out.encode("utf-8"))  # well-formed XML, as any consumer first needs
    errors = list(junit_schema().iter_errors(out))
    assert not errors, "\n".join(str(e) for e in errors[:3])
    return code, root, JUnitXml.fromstring(out)


def test_junit_xsd_is_the_one_jenkins_uses_and_it_rejects_what_it_should():
    text = JUNIT_XSD.read_text(encoding="utf-8")
    assert len(text) == 6108 and "dtkit-junit-model" in text and "junit-4.xsd" in text
    schema = junit_schema()
    assert schema.is_valid('<testsuites><testsuite name="a" tests="1"><testcase name="x"/></testsuite></testsuites>')
    assert not schema.is_valid('<testsuites><testsuite name="a"><testcase name="x"/></testsuite></testsuites>')  # no tests=
    assert not schema.is_valid('<testsuites><testsuite name="a" tests="1"><testcase name="x" line="3"/></testsuite></testsuites>')
    assert not schema.is_valid('<testsuites><testsuite name="a" tests="1"><testcase name="x"><failure/><error/>'
                               '</testcase></testsuite></testsuites>')  # errors come before failures


def test_junit_report_one_test_case_per_finding_grouped_by_file(findings):
    from junitparser import Error, Failure

    (findings / "clean.py").write_text(CLEAN, encoding="utf-8")
    code, root, xml = junit(".")
    assert code == 1
    diagnostics = json_report(".")
    # The counts CI shows are the findings: 5 test cases, 3 failures (rules), 2 errors (files not checked).
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "3", "2")
    suites = list(root)
    assert [suite.get("name") for suite in suites] == ["broken.py", "keras_fit.py", "latin.py"]  # clean.py has none
    for suite in suites:
        cases = list(suite)
        assert {c.tag for c in cases} == {"testcase"}
        assert suite.get("tests") == str(len(cases))
        assert suite.get("failures") == str(sum(1 for c in cases for r in c if r.tag == "failure"))
        assert suite.get("errors") == str(sum(1 for c in cases for r in c if r.tag == "error"))
        assert all(len(list(case)) == 1 for case in cases)  # each case is one finding
    assert sum(int(suite.get("tests")) for suite in suites) == len(diagnostics) == 5

    # What junitparser, as a consumer, makes of it.
    parsed = {suite.name: suite for suite in xml}
    assert [(s.tests, s.failures, s.errors) for s in parsed.values()] == [(1, 0, 1), (3, 3, 0), (1, 0, 1)]
    (e999,) = list(parsed["broken.py"])
    (result,) = e999.result
    assert isinstance(result, Error) and result.type == "E999" and result.message.startswith("SyntaxError: ")
    assert e999.classname == "broken"
    cases = list(parsed["keras_fit.py"])
    by_file = [d for d in diagnostics if d["filename"] == "keras_fit.py"]
    for case, diag in zip(cases, by_file):
        (result,) = case.result
        assert isinstance(result, Failure) and result.type == "KM101"
        where = f"{diag['location']['row']}:{diag['location']['column']}"
        assert case.name == f"KM101 {where}" and case.classname == "keras_fit"
        assert result.message == diag["message"]
        assert result.text == f"keras_fit.py:{where}: {diag['code']} {full_message(diag)}"


def test_junit_escapes_and_cleans_what_xml_cannot_hold(project):
    name = "a&b <c> \"d\"\x1bé.py"
    (project / name).write_text(BROKEN, encoding="utf-8")
    code, root, xml = junit(".")
    assert code == 1
    (suite,) = list(xml)
    assert suite.name == "a&b <c> \"d\"\ufffdé.py"  # ESC is not allowed in XML 1.0: replaced, not dropped
    (case,) = list(suite)
    assert case.classname == "a&b <c> \"d\"\ufffdé"
    (error,) = case.result
    assert error.text.startswith("a&b <c> \"d\"\ufffdé.py:2:")


def test_junit_notebook_names_the_cell(project):
    book = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# T"]},
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
             "source": ["from tensorflow import keras\n", "model = keras.Sequential()\n", "model.fit(x, nb_epoch=3)"]},
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (project / "nb.ipynb").write_text(json.dumps(book, indent=1), encoding="utf-8")
    _, _, xml = junit(".")
    (case,) = list(list(xml)[0])
    (failure,) = case.result
    assert failure.text.startswith("nb.ipynb:cell 2:3:14: KM101 ")


def test_junit_empty_report(project):
    (project / "clean.py").write_text(CLEAN, encoding="utf-8")
    code, root, xml = junit(".")
    assert code == 0
    (suite,) = list(xml)
    assert (suite.tests, suite.failures, suite.errors) == (1, 0, 0)  # as ruff: one passing case
    (case,) = list(suite)
    assert case.name == "No errors found" and case.is_passed
    code, root, xml = junit("--extend-exclude", "clean.py", ".")
    assert code == 0 and root.get("tests") == "1"


# --- GitLab code quality ------------------------------------------------------------------------
# The schema GitLab validates each issue with when it ingests a report (tests/data/README.md).
GITLAB_ISSUE_SCHEMA = load_schema("gitlab-codeclimate.schema.json")
SEVERITIES = {"info", "minor", "major", "critical", "blocker"}  # GitLab's documented values


def gitlab(*args: str, env: Dict[str, str] = None) -> List[Dict]:
    result = CliRunner().invoke(main, ["check", "--output-format", "gitlab", *args], env=env, catch_exceptions=False)
    assert result.exit_code in (0, 1)
    return json.loads(result.stdout)


def assert_gitlab_accepts(issues: List[Dict]) -> None:
    """What GitLab needs: an array of issues each valid against its validator (its parser stops at
    the first invalid one), with a documented severity, a relative path and a line, and unique
    fingerprints (it keeps one issue per fingerprint)."""
    assert isinstance(issues, list)
    for issue in issues:
        assert_valid(GITLAB_ISSUE_SCHEMA, issue)
        assert issue["severity"] in SEVERITIES
        assert not issue["location"]["path"].startswith("/") and "\\" not in issue["location"]["path"]
        assert isinstance(issue["location"]["lines"]["begin"], int)
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(set(fingerprints)) == len(fingerprints)


def test_gitlab_report_is_valid_and_complete(findings):
    issues = gitlab(".")
    assert_gitlab_accepts(issues)
    diagnostics = json_report(".")
    assert len(issues) == len(diagnostics) == 5
    for issue, diag in zip(issues, diagnostics):
        assert issue["check_name"] == diag["code"]
        assert issue["description"] == f"{diag['code']} {diag['message']}"
        assert issue.get("content", {"body": ""})["body"] == diag["explanation"]
        assert issue["location"] == {
            "path": diag["filename"], "lines": {"begin": diag["location"]["row"], "end": diag["end_location"]["row"]}}
        assert re.fullmatch(r"[0-9a-f]{32}", issue["fingerprint"])
    assert [issue["severity"] for issue in issues] == ["critical", "major", "major", "major", "critical"]


def test_gitlab_schema_check_is_not_vacuous(findings):
    issues = gitlab(".")
    for mutate in (
        lambda i: i[0].pop("fingerprint"),
        lambda i: i[0].pop("description"),
        lambda i: i[0].update(severity=3),
        lambda i: i[0]["location"]["lines"].update(begin="4"),
        lambda i: i[0].update(location="broken.py"),
    ):
        broken = copy.deepcopy(issues)
        mutate(broken)
        assert list(validator(GITLAB_ISSUE_SCHEMA).iter_errors(broken[0]))
    for mutate in (
        lambda i: i[0].update(severity="error"),
        lambda i: i[0]["location"].update(path="/abs/path.py"),
        lambda i: i[1].update(fingerprint=i[0]["fingerprint"]),
    ):
        broken = copy.deepcopy(issues)
        mutate(broken)
        with pytest.raises(AssertionError):
            assert_gitlab_accepts(broken)


def test_gitlab_fingerprints_are_stable_when_lines_move(project):
    path = project / "keras_fit.py"
    path.write_text(KERAS_FIT, encoding="utf-8")
    first = {issue["fingerprint"]: issue for issue in gitlab(".")}
    path.write_text("# a new header line\n\n" + KERAS_FIT, encoding="utf-8")
    moved = {issue["fingerprint"]: issue for issue in gitlab(".")}
    assert set(first) == set(moved)
    for fingerprint, issue in first.items():
        assert moved[fingerprint]["location"]["lines"]["begin"] == issue["location"]["lines"]["begin"] + 2
    # the same finding on two identical lines: two issues, two fingerprints (stable too)
    path.write_text(KERAS_FIT + "model.fit(x, y, nb_epoch=3)\n" * 2, encoding="utf-8")
    twice = gitlab(".")
    assert len({issue["fingerprint"] for issue in twice}) == len(twice) == 5
    assert gitlab(".") == twice
    # and a cached result (no text kept) gives the same fingerprints
    assert gitlab(".") == gitlab("--no-cache", ".")


def test_gitlab_paths_are_relative_to_the_project(findings, tmp_path):
    sub = findings / "src"
    sub.mkdir()
    (sub / "train.py").write_text(BROKEN, encoding="utf-8")
    issues = gitlab(str(sub / "train.py"), env={"CI_PROJECT_DIR": str(findings)})
    assert [issue["location"]["path"] for issue in issues] == ["src/train.py"]
    issues = gitlab("src/train.py", env={"CI_PROJECT_DIR": ""})
    assert [issue["location"]["path"] for issue in issues] == ["src/train.py"]
    assert_gitlab_accepts(issues)


def test_gitlab_empty_report(project):
    (project / "clean.py").write_text(CLEAN, encoding="utf-8")
    assert gitlab(".") == []
