"""One answer whatever is selected: `--select R` reports exactly the default run's findings of R.

The prefilter decides from each rule's `needs` (facts/entries.py) whether to parse a file; the
check enumerates its candidates through the same entries. These tests hold the two together:

- every rule's examples and every fixture program, under each flavour: `select=[R]` gives the
  default run's R findings (and the same tool codes), and so does a run with the prefilter off;
- the same on variants of those programs in shapes real code takes (the model trained with
  `fit_generator`, code inside functions and methods, other import spellings, f-strings, ...),
  which is how the `fit_generator` gap of KM207 was found: the rule read it, the prefilter did not;
- the command line, on the script of the report: `check --select KM207` finds what `check` finds.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from metriclint import engine
from metriclint.rules import all_rules
from metriclint.settings import Settings

REPO = Path(__file__).resolve().parents[1]
RULE_CODES = sorted(code for code, rule in all_rules().items() if not rule.from_suppressions)


def _key(diagnostic) -> tuple:
    return (diagnostic.code, diagnostic.start.line, diagnostic.start.column, diagnostic.message)


def _texts() -> Iterator[Tuple[str, str, str]]:
    """(name, text, flavour) of every rule example and fixture program."""
    for code, rule in all_rules().items():
        for kind in ("valid", "invalid"):
            for index, example in enumerate(getattr(rule, kind)):
                yield f"{code}-{kind}-{index}", example.code, example.flavour
    for path in sorted((REPO / "fixtures").glob("*/*.py")):
        for flavour in ("3", "2"):
            yield f"{path.parent.name}/{path.name}@k{flavour}", path.read_text(encoding="utf-8"), flavour


def _without_prefilter(monkeypatch) -> None:
    original = engine._prefilter

    def everything(text, codes, flavour):
        found = original(text, codes, flavour)
        return found._replace(verdict=None if found.verdict is None else True)

    monkeypatch.setattr(engine, "_prefilter", everything)


def _differences(text: str, flavour: str, reference) -> List[str]:
    """Rules whose `select=[R]` findings (or tool codes) differ from `reference`'s.

    Only the rules the reference reports are run alone (and every rule when it reports a tool
    code): rules are pure functions of the parsed file, so a rule run alone can only lose
    findings to the prefilter, never gain one the full run lacks."""
    out = []
    tools = sorted(_key(d) for d in reference if d.code[0] == "E")
    reported = {d.code for d in reference}
    for code in (RULE_CODES if tools else [c for c in RULE_CODES if c in reported]):
        alone = engine.lint_text(text, "x.py", Settings(select=(code,), target_keras=flavour)).diagnostics
        want = sorted(_key(d) for d in reference if d.code == code)
        got = sorted(_key(d) for d in alone if d.code == code)
        if got != want:
            out.append(f"{code}: select gives {len(got)}, the full run {len(want)}")
        got_tools = sorted(_key(d) for d in alone if d.code[0] == "E")
        if got_tools != tools:
            out.append(f"{code}: tool codes {got_tools} vs {tools}")
    return out


def test_select_gives_the_default_runs_findings():
    checked = 0
    problems = []
    for name, text, flavour in _texts():
        default = engine.lint_text(text, "x.py", Settings(target_keras=flavour)).diagnostics
        checked += 1
        problems += [f"{name}: {p}" for p in _differences(text, flavour, default)]
    assert checked > 500
    assert not problems, "\n".join(problems)


# --- shapes real code takes ----------------------------------------------------------------------
def _indent(body: str, prefix: str) -> str:
    return "".join(prefix + line if line.strip() else line for line in body.splitlines(keepends=True))


def _split_imports(text: str) -> Tuple[str, str]:
    lines = text.splitlines(keepends=True)
    index = 0
    while index < len(lines) and (lines[index].startswith(("import ", "from ")) or not lines[index].strip()):
        index += 1
    return "".join(lines[:index]), "".join(lines[index:])


_IMPORT_SPELLINGS = (
    ("import keras\n", "import keras.layers\n"),
    ("import keras\n", "from tensorflow import keras\n"),
    ("import keras\n", "import tensorflow as tf\nkeras = tf.keras\n"),
    ("import keras\n", "import tensorflow.keras as keras\n"),
    ("import keras\n", "import keras as k2\nkeras = k2\n"),
    ("from tensorflow import keras\n", "import keras\n"),
)


def variants(text: str) -> Iterator[Tuple[str, str]]:
    """(what changed, program) for shapes a rule must see the same way whatever is selected."""
    for old, new in ((".fit(", ".fit_generator("), (".evaluate(", ".evaluate_generator("),
                     (".predict(", ".predict_generator(")):
        if old in text:
            yield f"{old} -> {new}", text.replace(old, new)
    head, body = _split_imports(text)
    if body.strip():
        yield "in a function", head + "def main():\n" + _indent(body, "    ") + "\nmain()\n"
        yield "in a method", head + "class Trainer:\n    def run(self):\n" + _indent(body, "        ")
    for old, new in _IMPORT_SPELLINGS:
        if old in text:
            yield f"import: {new.strip()}", text.replace(old, new)
    fstrings = re.sub(r"(?<![\w'\"])'([A-Za-z_]\w*)'", r"f'\1'", text)
    if fstrings != text:
        yield "f-strings", fstrings
    history = re.sub(r"(\w+)\.fit\(", r"history = \1.fit(", text)
    if history != text:
        yield "history =", history


def _variant_cases():
    for code, rule in all_rules().items():
        if rule.from_suppressions:
            continue
        for index, example in enumerate(rule.invalid):
            yield pytest.param(example.code, example.flavour, id=f"{code}-invalid-{index}")
    for path in sorted((REPO / "fixtures").glob("*/bad.py")):
        for flavour in ("3", "2"):
            yield pytest.param(path.read_text(encoding="utf-8"), flavour, id=f"{path.parent.name}@k{flavour}")


@pytest.mark.parametrize("text,flavour", list(_variant_cases()))
def test_select_is_invariant_on_variants(text, flavour, monkeypatch):
    """Each variant: every rule's `select=[R]` findings equal its findings with the prefilter off."""
    problems = []
    for what, program in variants(text):
        with monkeypatch.context() as patch:
            _without_prefilter(patch)
            everything = engine.lint_text(program, "x.py", Settings(select=("ALL",), target_keras=flavour)).diagnostics
        problems += [f"{what}: {p}" for p in _differences(program, flavour, everything)]
    assert not problems, "\n".join(problems)


def test_variants_reach_the_rules():
    """The variants are not vacuous: most of them still have findings."""
    total = with_findings = 0
    for code, rule in all_rules().items():
        for example in rule.invalid:
            for _, program in variants(example.code):
                total += 1
                found = engine.lint_text(program, "x.py", Settings(select=(code,), target_keras=example.flavour))
                with_findings += any(d.code == code for d in found.diagnostics)
    assert total > 1000
    assert with_findings / total > 0.6, (with_findings, total)


# --- the command line -------------------------------------------------------------------------------
_FIT_GENERATOR_SCRIPT = """\
from tensorflow import keras

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
checkpoint = keras.callbacks.ModelCheckpoint("best.h5", monitor="val_acc", save_best_only=True)
model.fit_generator(batches(), steps_per_epoch=10, validation_data=validation(), callbacks=[checkpoint])
"""


def _check(path: Path, *args: str) -> List[Tuple[str, int]]:
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from metriclint.cli import main; sys.argv[0] = 'metriclint'; main()",
         "check", "--no-cache", "--target-keras", "2", "--output-format", "json", *args, str(path)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return [(item["code"], item["location"]["row"] if "location" in item else item["start"]["line"])
            for item in json.loads(proc.stdout)]


def test_cli_select_finds_the_fit_generator_key(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(_FIT_GENERATOR_SCRIPT, encoding="utf-8")
    full = _check(script)
    assert ("KM207", 5) in full
    assert _check(script, "--select", "KM207") == [c for c in full if c[0] == "KM207"]
