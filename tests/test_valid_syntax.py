"""E999 only for code CPython rejects. Valid code libcst refuses (a space then tabs in the
indentation, a statement that starts with a backslash line) is checked on a re-indented copy,
with positions and fixes mapped back to the file; what libcst still cannot parse is E903 "not
checked", which can be silenced. Tool codes do not depend on which rules are selected."""

from __future__ import annotations

import io
import json
import tokenize
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import libcst
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings as hyp_settings, strategies as st

from metriclint import engine
from metriclint.cli import main
from metriclint.diagnostics import Edit, Position
from metriclint.normalise import Normalised, column_of, normalise_indentation
from metriclint.rules import all_rules
from metriclint.settings import Settings

HEAD = "from tensorflow import keras\nmodel = keras.Sequential()\n"
NB_EPOCH = "KM101 [*] `Model.fit()` does not take `nb_epoch=` (TypeError)"
# Valid Python (CPython 3.8+ compiles each) that libcst 1.9 refuses, with a Keras finding inside.
LIBCST_REFUSES = {
    # libcst #829: the inner block's indentation does not start with the outer one's
    "tab-space": HEAD + "def train(x):\n\t with x:\n\t\t model.fit(x, nb_epoch=3)\n",
    # libcst #951: " " then "\t " (column 9 by CPython's rule: a tab reaches the next multiple of 8)
    "space-then-tab": HEAD + "if x:\n if y:\n\t model.fit(x, nb_epoch=3)\n",
    # libcst #951: a statement that starts with a line holding only a backslash
    "backslash-line": HEAD + "def e():\n r\n\\\ndef r():\n model.fit(x, nb_epoch=3)\n",
}
# (line, column) of the finding in each
WHERE = {"tab-space": (5, 17), "space-then-tab": (5, 16), "backslash-line": (7, 15)}


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "metriclint.toml").write_text('target-keras = "3"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> Tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _libcst_parses(text: str) -> bool:
    try:
        libcst.parse_module(text)
    except Exception:
        return False
    return True


# --- valid code libcst refuses is checked ----------------------------------------------------------
@pytest.mark.parametrize("case", list(LIBCST_REFUSES))
def test_the_shapes_are_valid_python_that_libcst_refuses(case):
    compile(LIBCST_REFUSES[case], case, "exec")
    assert not _libcst_parses(LIBCST_REFUSES[case])
    assert _libcst_parses(normalise_indentation(LIBCST_REFUSES[case]).text)


@pytest.mark.parametrize("case", list(LIBCST_REFUSES))
def test_valid_code_libcst_refuses_is_checked_and_fixed_in_place(project, case):
    source = LIBCST_REFUSES[case]
    path = write(project / "train.py", source)
    line, column = WHERE[case]
    code, out, err = run("check", "train.py")
    assert (code, err) == (1, "")
    assert out.splitlines() == [f"train.py:{line}:{column}: {NB_EPOCH}", "Found 1 error (1 fixable with `metriclint fix`)."]
    assert source.splitlines()[line - 1][column - 1:].startswith("nb_epoch=")
    code, out, err = run("fix", "train.py")
    assert (code, err) == (0, ""), out
    assert read(path) == source.replace("nb_epoch=", "epochs=")  # every tab and space where it was
    assert run("check", "train.py")[0] == 0


def test_a_fix_that_adds_a_line_takes_the_indentation_of_its_block(project):
    source = ("import keras\nacc = keras.metrics.BinaryAccuracy()\ndef train(ds):\n\t for epoch in range(3):\n"
              "\t\t for x, y in ds:\n\t\t\t acc.update_state(y, model(x))\n\t\t print(acc.result())\n")
    assert not _libcst_parses(source)
    path = write(project / "train.py", source)
    code, out, _ = run("check", "--output-format", "json", "train.py")
    (diag,) = json.loads(out)
    assert (diag["code"], diag["location"], diag["end_location"]) == ("KM204", {"row": 7, "column": 10}, {"row": 7, "column": 20})
    (edit,) = diag["fix"]["edits"]
    assert edit["content"] == "\t\t acc.reset_state()\n"  # the file's own "\t\t ", not 17 spaces
    assert run("fix", "train.py")[0] == 0
    assert read(path) == source.replace("\t\t for x", "\t\t acc.reset_state()\n\t\t for x")


def test_the_fix_loop_reparses_with_the_same_normalisation():
    """`fix_text` re-parses each candidate; without the re-indented copy no fix could apply here."""
    source = LIBCST_REFUSES["tab-space"]
    assert engine._parses(source)
    assert not engine._parses("if x:\n\tpass\n        pass\n")  # a TabError: CPython rejects it
    result = engine.fix_text(source, "x.py", Settings(target_keras="3"), unsafe=False)
    assert result.fixed == {"KM101": 1} and result.rejected == []


def test_a_fix_that_cannot_keep_the_indentation_is_withheld_and_says_so(project, monkeypatch):
    monkeypatch.setattr(Normalised, "edit", lambda self, edit: None)
    source = LIBCST_REFUSES["tab-space"]
    path = write(project / "train.py", source)
    code, out, _ = run("check", "--show-fixes", "train.py")
    assert code == 1
    first = out.splitlines()[0]
    assert first == f"train.py:5:17: {NB_EPOCH.replace(' [*]', '')}"  # no `[*]`: nothing to fix
    assert "1 fixable" not in out and "--fix" not in out
    # the explanation says why (`full` shows it under the code frame)
    (diag,) = json.loads(run("check", "--output-format", "json", "train.py")[1])
    assert diag["fix"] is None and diag["explanation"] == "Keras 1 name of `epochs`" + engine.WITHHELD
    assert "info: Keras 1 name of `epochs` (no automatic fix here" in run("check", "--output-format", "full", "train.py")[1]
    assert run("fix", "train.py")[0] == 1
    assert read(path) == source


def test_normalised_copy_maps_positions_and_edits_back():
    source = "if x:\n if y:\n\t z = (1,\n\t\t2)\n\t w = 3\n"
    copy = normalise_indentation(source)
    assert copy.text == "if x:\n if y:\n         z = (1,\n\t\t2)\n         w = 3\n"  # continuation lines untouched
    assert copy.shifts == {3: (2, 9), 5: (2, 9)}
    assert copy.position(Position(3, 10)) == Position(3, 3)
    assert copy.position(Position(4, 3)) == Position(4, 3)
    lines = copy.text.split("\n")
    w = len("\n".join(lines[:4])) + 1 + 9
    assert copy.edit(Edit(w, w + 1, "v")) == Edit(source.index("w ="), source.index("w =") + 1, "v")
    assert copy.edit(Edit(w - 4, w, "")) is None  # starts inside re-written indentation
    line_start = w - 9
    inserted = copy.edit(Edit(line_start, line_start, "         u = 0\n"))
    assert inserted == Edit(source.index("\t w ="), source.index("\t w ="), "\t u = 0\n")
    deeper = copy.edit(Edit(line_start, line_start, "         if u:\n             v = 1\n"))
    assert deeper.content == "\t if u:\n\t     v = 1\n"  # a new block: the enclosing statement's, extended
    assert normalise_indentation("if x:\n    y = 1\n") is None  # nothing to re-write
    assert [column_of(ws) for ws in ("", " \t", "\t ", "  \f\t", "\t\t ")] == [0, 8, 9, 8, 17]


# --- E903: valid code libcst cannot parse even re-indented -----------------------------------------
FSTRING = HEAD + "model.fit(x, nb_epoch=3)\nnote = fr\"\\\n\"\n"  # a backslash-newline inside an f-string
LIBCST_CRASH = HEAD + "model.fit(x, nb_epoch=3)\ny = () if 0 else(lambda:())\n"  # a TypeError inside libcst


@pytest.mark.parametrize("source,reason", [
    (FSTRING, "tokenizer error: unterminated string literal"),
    (LIBCST_CRASH, "TypeError: super(type, obj): obj must be an instance or subtype of type"),
])
def test_valid_code_libcst_cannot_parse_is_e903_not_e999(project, source, reason):
    compile(source, "x", "exec")
    write(project / "odd.py", source)
    code, out, err = run("check", "odd.py")
    assert (code, err) == (1, "")
    assert out.splitlines()[0] == (
        "odd.py:1:1: E903 not checked: Python accepts this file, but libcst (the parser metriclint reads code "
        f"with) cannot parse it: {reason}")
    path = project / "odd.py"
    assert run("fix", "odd.py")[0] == 1 and read(path) == source


@pytest.mark.parametrize("header", ["# metriclint: noqa: E903\n", "# metriclint: noqa\n", "# noqa: E903\n"])
def test_e903_can_be_suppressed_in_the_file(project, header):
    write(project / "odd.py", header + FSTRING)
    assert run("check", "odd.py")[:2] == (0, "All checks passed!\n")


def test_a_bare_noqa_on_line_1_does_not_hide_e903(project):
    """E903 is about the whole file; it sits on line 1 only to have a place."""
    write(project / "odd.py", "from tensorflow import keras  # noqa\n" + FSTRING)
    assert run("check", "odd.py")[1].startswith("odd.py:1:1: E903 not checked: ")
    write(project / "odd.py", FSTRING.replace("nb_epoch=3)", "nb_epoch=3)  # noqa: E903, KM101"))
    assert run("check", "odd.py")[1].splitlines()[0].endswith(
        "unterminated string literal (the `# noqa` naming E903 on line 3 does not hide it: put it in the file's "
        "leading comments as `# metriclint: noqa: E903`)")


def test_e903_only_where_a_rule_could_apply(project):
    """Like the parse itself: a file in which no rule could fire is not parsed, so not reported."""
    write(project / "util.py", 'note = fr"\\\n"\n')
    assert run("check", "util.py")[:2] == (0, "All checks passed!\n")


# --- tool codes do not depend on the rule selection ----------------------------------------------------
FILES = {
    "tabs.py": LIBCST_REFUSES["tab-space"],
    "odd.py": FSTRING,
    "broken.py": HEAD + "model.fit(x, nb_epoch=3\n",
    "py2.py": "import keras\nprint 'training'\n",
    "deep.py": HEAD + "y = x" + "[0]" * 1600 + "\nmodel.fit(x, nb_epoch=3)\n",
    "noqa.py": HEAD + "model.fit(x, epochs=3)  # noqa: E999\n",
    "train.py": HEAD + "model.fit(x, nb_epoch=3)\nm = keras.metrics.Mean()\nm.reset_states()\n",
}
TOOL = ("E902", "E903", "E999", "E000")


@pytest.mark.parametrize("selection", [
    (), ("--select", "KM101"), ("--select", "KM207"), ("--select", "KM001"), ("--select", "KM103,KM001"),
    ("--ignore", "KM1"), ("--select", "E999"), ("--extend-select", "KM001", "--ignore", "KM101"),
])
def test_tool_codes_are_the_same_whatever_rules_are_selected(project, selection):
    for name, source in FILES.items():
        write(project / name, source)
    _, out, _ = run("check", "--no-cache", "--output-format", "json", *selection, ".")
    found = sorted((d["filename"], d["code"], d["location"]["row"], d["location"]["column"])
                   for d in json.loads(out) if d["code"] in TOOL)
    assert [(f, c) for f, c, _, _ in found] == [
        ("broken.py", "E999"), ("deep.py", "E902"), ("odd.py", "E903"), ("py2.py", "E999")]
    noqa = [d for d in json.loads(out) if d["filename"] == "noqa.py"]
    if "KM001" in " ".join(selection) or not selection or selection[0] == "--ignore":
        assert [(d["code"], d["message"]) for d in noqa] == [
            ("KM001", "Unused `noqa` directive (cannot be suppressed: `E999`)")]


# --- noqa naming a code that is never silenced ----------------------------------------------------------
def test_a_noqa_on_the_line_of_a_syntax_error_is_named_as_doing_nothing(project):
    write(project / "broken.py", HEAD + "model.fit(x, nb_epoch=3  # noqa: E999\n")
    code, out, _ = run("check", "broken.py")
    assert code == 1
    assert out.splitlines()[0].endswith(
        " (`noqa` cannot hide E999: it reports a file that does not parse as Python, so it was not checked; "
        "to skip the file, list it in `exclude`)")
    write(project / "broken.py", "# metriclint: noqa: E999\n" + HEAD + "model.fit(x, nb_epoch=3\n")
    assert "(`noqa` cannot hide E999" in run("check", "broken.py")[1]
    write(project / "broken.py", "# metriclint: noqa: KM101\n" + HEAD + "model.fit(x, nb_epoch=3\n")
    assert "noqa" not in run("check", "broken.py")[1]


def test_a_file_level_noqa_naming_e999_is_reported_and_fixed(project):
    path = write(project / "train.py", "# metriclint: noqa: KM103, E999 legacy\n" + HEAD + "model.fit(x, epochs=3)\n")
    code, out, _ = run("check", "train.py")
    assert out.splitlines()[0] == "train.py:1:1: KM001 [*] Unused `noqa` directive (cannot be suppressed: `E999`)"
    assert run("fix", "train.py")[0] == 0
    assert read(path) == "# metriclint: noqa: KM103 legacy\n" + HEAD + "model.fit(x, epochs=3)\n"
    path = write(project / "train.py", "# metriclint: noqa: E902\n" + HEAD + "model.fit(x, epochs=3)\n")
    assert run("fix", "train.py")[0] == 0
    assert read(path) == HEAD + "model.fit(x, epochs=3)\n"


# --- property: mixed tab/space programs give the findings of the same program indented with spaces ------
def _statement_indents(text: str) -> Dict[int, Tuple[int, int]]:
    """Line -> (block depth, length of its indentation) for the lines that start a statement."""
    out: Dict[int, Tuple[int, int]] = {}
    depth, at_start = 0, True
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.INDENT:
            depth += 1
        elif token.type == tokenize.DEDENT:
            depth -= 1
        elif token.type == tokenize.NEWLINE:
            at_start = True
        elif token.type not in (tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER) and at_start:
            out[token.start[0]] = (depth, token.start[1])
            at_start = False
    return out


def reindent(text: str, indent: Callable[[int], str]) -> str:
    lines = text.splitlines(keepends=True)
    for line, (depth, width) in _statement_indents(text).items():
        lines[line - 1] = indent(depth) + lines[line - 1][width:]
    return "".join(lines)


def _examples() -> List[Tuple[str, str, str]]:
    """(code, flavour, rule) of the rules' own examples of findings, those with nested blocks."""
    out = []
    for code, rule in all_rules().items():
        for example in rule.invalid:
            if any(depth >= 1 for depth, _ in _statement_indents(example.code).values()):
                out.append((example.code, example.flavour, code))
    return out


EXAMPLES = _examples()


@st.composite
def drawn_indentations(draw) -> List[str]:
    """Indentation strings for depths 0..6 that CPython accepts in one program: both the column with
    tabs at 8 and the one with tabs at 1 grow with the depth (CPython's TabError check). Where the
    drawn string would not grow, the one above plus a space does."""
    levels = [""]
    tabs = 0
    for _ in range(6):
        tabs += draw(st.integers(0, 2))
        spaces = draw(st.integers(0, 7))
        text = " " * spaces + "\t" * tabs if draw(st.booleans()) else "\t" * tabs + " " * spaces
        above = levels[-1]
        if not (column_of(text) > column_of(above) and len(text) > len(above)):
            text = above + " "
        tabs = text.count("\t")
        levels.append(text)
    return levels


# The shapes of libcst #829/#951 (a level that does not extend the one above), half the time.
indentations = st.one_of(
    st.sampled_from([
        ["\t" * depth + " " * bool(depth) for depth in range(7)],  # "\t ", "\t\t ", ...
        ["\t" * depth + " " * depth for depth in range(7)],  # "\t ", "\t\t  ", "\t\t\t   ", ...
        ["", " "] + ["\t" * (depth - 1) + " " for depth in range(2, 7)],  # " ", "\t ", "\t\t ", ...
    ]),
    drawn_indentations(),
)


def _mapped(diagnostics, source: str, mixed: str) -> List[Tuple[str, int, int, int, int]]:
    """Diagnostics of the spaces program with their columns moved to the mixed program's."""
    shift = {line: len(b) - len(a) for line, (a, b) in enumerate(zip(source.split("\n"), mixed.split("\n")), start=1)
             if a.lstrip() == b.lstrip()}
    return [(d.code, d.start.line, d.start.column + shift.get(d.start.line, 0), d.end.line,
             d.end.column + shift.get(d.end.line, 0)) for d in diagnostics]


@hyp_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(example=st.sampled_from(EXAMPLES), levels=indentations)
def test_mixed_indentation_gives_the_findings_and_fixes_of_spaces(example, levels):
    source, flavour, _ = example
    mixed = reindent(source, lambda depth: levels[depth])
    compile(mixed, "mixed", "exec")  # the generator only makes valid programs
    settings = Settings(target_keras=flavour)
    expected = engine.lint_text(source, "x.py", settings).diagnostics
    got = engine.lint_text(mixed, "x.py", settings).diagnostics
    assert not [d for d in got if d.code in TOOL], [d.message for d in got]
    assert [(d.code, d.start.line, d.start.column, d.end.line, d.end.column) for d in got] == _mapped(expected, source, mixed)

    fixed = engine.fix_text(mixed, "x.py", settings, unsafe=True)
    compile(fixed.text, "fixed", "exec")
    assert fixed.rejected == []
    reference = engine.fix_text(source, "x.py", settings, unsafe=True)
    if _libcst_parses(mixed):
        return  # the rules' own fixes on code libcst reads: not this test's subject
    withheld = any(engine.WITHHELD in d.message for d in got)
    if not withheld:
        assert fixed.fixed == reference.fixed
        # the same program as the fixed spaces one, statement by statement ...
        assert [(depth, line.strip()) for depth, line in _statements(fixed.text)] == \
            [(depth, line.strip()) for depth, line in _statements(reference.text)]
    # ... and every line no fix touched keeps its own indentation characters
    untouched = set(mixed.splitlines()) & set(fixed.text.splitlines())
    for line in mixed.splitlines():
        stripped = line.lstrip()
        twins = [other for other in fixed.text.splitlines() if other.lstrip() == stripped and stripped]
        if line in untouched or not twins:
            continue
        assert line in twins, (line, twins)


def _statements(text: str) -> List[Tuple[int, str]]:
    lines = text.splitlines()
    return [(depth, lines[line - 1]) for line, (depth, _) in sorted(_statement_indents(text).items())]
