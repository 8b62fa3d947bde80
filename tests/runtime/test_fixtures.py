"""Every rule is proven, not believed: run each `fixtures/<CODE>_<slug>/` for real.

See fixtures/README.md for the layout and the fixture.toml format. The programs run in one
long-lived process per flavour (`run_fixture_program`; tests/runtime/test_runner.py keeps it
honest against fresh processes). Per folder and flavour:
static (check flags bad.py with the code, not fixed.py; silent on other flavours), bad run
(the program really fails as stated), fix and run (the fix gives fixed.py byte for byte, and
that program trains and reports the right numbers; on a `report_only` flavour: the fix leaves
bad.py unchanged; with `manual_fix`: the fix leaves bad.py unchanged and the hand-written
fixed.py runs right).
"""

from __future__ import annotations

import difflib
import math
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.runtime

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ALL_FLAVOURS = ("3", "2")
OUTCOMES = ("raises", "wrong", "warns", "ok", "costly")
_FOLDER = re.compile(r"^(?P<code>[A-Z]+\d{3})_(?P<slug>[a-z0-9_]+)$")


@dataclass
class Fixture:
    folder: Path
    code: str
    flavours: Tuple[str, ...]
    unsafe_fixes: bool
    atol: float
    rtol: float
    other_codes: Tuple[str, ...]
    report_only: Tuple[str, ...] = ()  # target flavours where the rule reports but offers no fix
    manual_fix: bool = False  # report-only rule: fixed.py is the hand-written recommended pattern
    rewrites: Tuple[str, ...] = ()  # which of the rule's declared rewrites the fix performs here
    bad: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    fixed: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # [fixed.F]: cost of the fixed program

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def bad_py(self) -> Path:
        return self.folder / "bad.py"

    def fixed_py(self, flavour: str) -> Path:
        specific = self.folder / f"fixed_{flavour}.py"
        return specific if specific.exists() else self.folder / "fixed.py"

    def close(self, reported: Any, expected: Any) -> bool:
        return _close(reported, expected, self.atol, self.rtol)


def _load(folder: Path) -> Fixture:
    data = tomllib.loads((folder / "fixture.toml").read_text(encoding="utf-8"))
    return Fixture(
        folder=folder,
        code=data.get("code", ""),
        flavours=tuple(data.get("flavours", ())),
        unsafe_fixes=bool(data.get("unsafe_fixes", False)),
        atol=float(data.get("atol", 1e-6)),
        rtol=float(data.get("rtol", 0.0)),
        other_codes=tuple(data.get("other_codes", ())),
        report_only=tuple(data.get("report_only", ())),
        manual_fix=bool(data.get("manual_fix", False)),
        rewrites=tuple(data.get("rewrites", ())),
        bad=dict(data.get("bad", {})),
        fixed=dict(data.get("fixed", {})),
    )


def _folders() -> List[Path]:
    if not FIXTURES.is_dir():
        return []
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def _fixtures() -> List[Fixture]:
    found = []
    for folder in _folders():
        try:
            found.append(_load(folder))
        except (OSError, tomllib.TOMLDecodeError):
            continue  # test_layout reports it
    return found


def _params(which: str):
    for fx in _fixtures():
        for flavour in ALL_FLAVOURS:
            if which == "target" and flavour not in fx.flavours:
                continue
            if which == "bad_run" and flavour not in fx.bad:
                continue
            yield pytest.param(fx, flavour, id=f"{fx.name}-k{flavour}")


def _close(a: Any, b: Any, atol: float, rtol: float) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], atol, rtol) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y, atol, rtol) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, abs_tol=atol, rel_tol=rtol)
    return a == b


def _max_diff(a: Any, b: Any) -> float:
    """Largest absolute difference between two same-shaped results (inf when shapes differ)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return math.inf
        return max((_max_diff(a[k], b[k]) for k in a), default=0.0)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return math.inf
        return max((_max_diff(x, y) for x, y in zip(a, b)), default=0.0)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) != math.isnan(b):
            return math.inf
        return 0.0 if math.isnan(a) else abs(a - b)
    return 0.0 if a == b else math.inf


def _copy(src: Path, directory: Path, name: str = "bad.py") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    dest = directory / name
    shutil.copyfile(src, dest)
    return dest


def _diff(expected: bytes, got: bytes, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            expected.decode("utf-8", "replace").splitlines(keepends=True),
            got.decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"{name} (committed)",
            tofile=f"{name} (metriclint fix output)",
        )
    )


def _check_costs(fx: Fixture, flavour: str) -> None:
    """A costly [bad.F] states `cost` (what bad.py measures) and [fixed.F] the fixed program's
    figures for the same keys, each strictly lower: the fix removes the costly mechanism."""
    bad_cost = fx.bad[flavour].get("cost")
    assert isinstance(bad_cost, dict) and bad_cost, f"[bad.{flavour}] costly needs a `cost` table"
    assert flavour in fx.flavours and flavour not in fx.report_only, "costly: the fix must run on this flavour"
    fixed_cost = fx.fixed.get(flavour, {}).get("cost")
    assert isinstance(fixed_cost, dict), f"costly [bad.{flavour}] needs [fixed.{flavour}] cost = {{...}}"
    assert fixed_cost.keys() == bad_cost.keys(), f"[fixed.{flavour}] cost must measure the same things"
    for key, value in bad_cost.items():
        assert fixed_cost[key] < value, f"{key}: the fixed program must do less ({fixed_cost[key]} vs {value})"


def _check_cost(fx: Fixture, flavour: str, result: Dict[str, Any], which: str, run) -> None:
    """The program's own measurement (`cost` in its result line) equals the declared one exactly."""
    table = fx.bad if which == "bad" else fx.fixed
    declared = table.get(flavour, {}).get("cost")
    if declared is None:
        return
    assert result.get("cost") == declared, (
        f"{which} program measured cost {result.get('cost')}, fixture.toml says {declared}\n" + run.describe()
    )


# --- layout -----------------------------------------------------------------------------------
@pytest.mark.parametrize("folder", _folders(), ids=lambda p: p.name)
def test_layout(folder: Path):
    """fixture.toml is complete and consistent with the folder name and the rule registry."""
    from metriclint.rules import all_rules

    match = _FOLDER.match(folder.name)
    assert match, f"folder name must be <CODE>_<slug> (slug in [a-z0-9_]): {folder.name}"
    for name in ("bad.py", "fixed.py", "fixture.toml"):
        assert (folder / name).is_file(), f"{folder.name}/{name} is missing"
    fx = _load(folder)
    assert fx.code == match.group("code"), f"fixture.toml code {fx.code!r} != folder prefix"
    rules = all_rules()
    assert fx.code in rules, f"{fx.code} is not a registered rule"
    assert fx.flavours and set(fx.flavours) <= set(ALL_FLAVOURS), f"flavours must be a subset of {ALL_FLAVOURS}"
    assert set(fx.flavours) <= set(rules[fx.code].flavours), (
        f"fixture targets {fx.flavours} but {fx.code} only fires on {sorted(rules[fx.code].flavours)}"
    )
    for flavour in fx.flavours:
        assert flavour in fx.bad, f"[bad.{flavour}] missing: what does bad.py do under Keras {flavour}?"
    assert set(fx.report_only) < set(fx.flavours), (
        "report_only must be a proper subset of flavours (fixed.py is the fix on the others)"
    )
    if fx.manual_fix:
        assert not fx.report_only and not fx.unsafe_fixes, (
            "manual_fix: the rule fixes nothing on any flavour; report_only/unsafe_fixes do not apply"
        )
    for flavour, spec in fx.bad.items():
        assert flavour in ALL_FLAVOURS, f"[bad.{flavour}]: unknown flavour"
        outcome = spec.get("outcome")
        assert outcome in OUTCOMES, f"[bad.{flavour}] outcome must be one of {OUTCOMES}"
        if outcome == "raises":
            assert spec.get("exception"), f"[bad.{flavour}] raises needs `exception`"
        if outcome == "warns":
            assert spec.get("match"), f"[bad.{flavour}] warns needs `match`"
        if outcome == "costly":
            _check_costs(fx, flavour)
        if flavour not in fx.flavours:
            assert outcome in ("ok", "warns"), (
                f"[bad.{flavour}]: the rule is silent on Keras {flavour}, so bad.py must run fine there"
            )
        if "match" in spec:
            re.compile(spec["match"])
    for flavour in fx.fixed:
        assert fx.bad.get(flavour, {}).get("outcome") == "costly", f"[fixed.{flavour}] belongs to a costly [bad.{flavour}]"
    declared = rules[fx.code].rewrites
    unknown = sorted(set(fx.rewrites) - set(declared))
    assert not unknown, f"rewrites {unknown} are not declared by {fx.code} (its `rewrites`: {sorted(declared)})"
    if fx.rewrites:
        assert not fx.manual_fix and set(fx.report_only) < set(fx.flavours), "a fixture's rewrites must really run"
    for extra in folder.glob("fixed_*.py"):
        stem = extra.stem[len("fixed_"):]
        assert stem in fx.flavours and stem not in fx.report_only, f"{extra.name}: not a fixable target flavour"
    text = fx.bad_py.read_text(encoding="utf-8")
    assert "METRICLINT_RESULT" in text, "bad.py must print a METRICLINT_RESULT line"


# --- 1. static --------------------------------------------------------------------------------
@pytest.mark.parametrize("fx,flavour", list(_params("all")))
def test_static(fx: Fixture, flavour: str, tmp_path: Path, metriclint):
    bad = _copy(fx.bad_py, tmp_path / "bad")
    base = ["check", "--output-format", "json", "--extend-select", fx.code, "--target-keras", flavour]
    run = metriclint(*base, str(bad), cwd=tmp_path)
    codes = run.codes()
    if flavour not in fx.flavours:
        assert fx.code not in codes, f"{fx.code} must be silent on Keras {flavour}\n" + run.describe()
        return
    assert run.returncode == 1, run.describe()
    assert fx.code in codes, f"bad.py is not flagged with {fx.code}\n" + run.describe()
    unexpected = sorted(set(codes) - {fx.code} - set(fx.other_codes))
    assert not unexpected, f"bad.py also reports {unexpected}\n" + run.describe()
    if flavour in fx.report_only:
        return  # no fix on this flavour: test_fix_and_run checks that bad.py is left as it is

    fixed = _copy(fx.fixed_py(flavour), tmp_path / "fixed")
    run = metriclint(*base, str(fixed), cwd=tmp_path)
    codes = run.codes()
    assert fx.code not in codes, f"{fx.fixed_py(flavour).name} is still flagged\n" + run.describe()
    unexpected = sorted(set(codes) - set(fx.other_codes))
    assert not unexpected, f"{fx.fixed_py(flavour).name} reports {unexpected}\n" + run.describe()
    assert run.returncode == (1 if codes else 0), run.describe()


# --- 2. the bad program really fails ----------------------------------------------------------
@pytest.mark.parametrize("fx,flavour", list(_params("bad_run")))
def test_bad_program(fx: Fixture, flavour: str, tmp_path: Path, run_fixture_program):
    spec = fx.bad[flavour]
    outcome = spec["outcome"]
    pattern: Optional[str] = spec.get("match")
    run = run_fixture_program(fx.bad_py, flavour, tmp_path)
    run.check_flavour()
    if outcome == "raises":
        assert run.returncode != 0, f"expected {spec['exception']}, but it ran\n" + run.describe()
        found = run.exception()
        assert found is not None, "no traceback in stderr\n" + run.describe()
        kind, message = found
        wanted = spec["exception"]
        assert kind == wanted or kind.endswith("." + wanted), (
            f"raised {kind}, expected {wanted}\n" + run.describe()
        )
        if pattern:
            assert re.search(pattern, message), f"{kind} message does not match {pattern!r}\n" + run.describe()
        return
    assert run.returncode == 0, run.describe()
    if pattern:
        assert re.search(pattern, run.stdout + run.stderr), f"{pattern!r} not in the output\n" + run.describe()
    result = run.result()
    reported, expected = result["reported"], result["expected"]
    if outcome == "wrong":
        min_diff = spec.get("min_diff")
        if min_diff is None:
            assert not fx.close(reported, expected), (
                f"bad.py reports the right numbers ({reported} vs {expected})\n" + run.describe()
            )
        else:
            assert _max_diff(reported, expected) >= float(min_diff), (
                f"bad.py's numbers differ by less than {min_diff} ({reported} vs {expected})\n" + run.describe()
            )
    else:  # ok, warns, costly
        assert fx.close(reported, expected), f"reported {reported} != expected {expected}\n" + run.describe()
        _check_cost(fx, flavour, result, "bad", run)


# --- 3. the fix gives fixed.py, and fixed.py is right -----------------------------------------
@pytest.mark.parametrize("fx,flavour", list(_params("target")))
def test_fix_and_run(fx: Fixture, flavour: str, tmp_path: Path, metriclint, run_fixture_program):
    base = ["fix", "--extend-select", fx.code, "--target-keras", flavour]
    if flavour in fx.report_only:  # reported, never fixed: even --unsafe-fixes leaves bad.py alone
        work = _copy(fx.bad_py, tmp_path / "fix")
        run = metriclint(*base, "--unsafe-fixes", str(work), cwd=tmp_path)
        assert work.read_bytes() == fx.bad_py.read_bytes(), (
            f"report_only on Keras {flavour}, but `metriclint {' '.join(run.args)}` changed bad.py:\n"
            + _diff(fx.bad_py.read_bytes(), work.read_bytes(), "bad.py")
            + "\n"
            + run.describe()
        )
        return

    if fx.manual_fix:  # report-only rule: fix leaves bad.py alone; the hand-written fixed.py runs right
        work = _copy(fx.bad_py, tmp_path / "fix")
        run = metriclint(*base, "--unsafe-fixes", str(work), cwd=tmp_path)
        assert work.read_bytes() == fx.bad_py.read_bytes(), (
            f"manual_fix, but `metriclint {' '.join(run.args)}` changed bad.py:\n"
            + _diff(fx.bad_py.read_bytes(), work.read_bytes(), "bad.py")
            + "\n"
            + run.describe()
        )
        program = run_fixture_program(_copy(fx.fixed_py(flavour), tmp_path / "manual"), flavour, tmp_path)
        program.check_flavour()
        assert program.returncode == 0, "the hand-written fixed program fails\n" + program.describe()
        result = program.result()
        assert fx.close(result["reported"], result["expected"]), (
            f"hand-written {fx.fixed_py(flavour).name}: reported {result['reported']} != expected "
            f"{result['expected']} (atol={fx.atol}, rtol={fx.rtol})\n" + program.describe()
        )
        _check_cost(fx, flavour, result, "fixed", program)
        return

    want_path = fx.fixed_py(flavour)
    want = want_path.read_bytes()

    if fx.unsafe_fixes:  # the fix is classified unsafe: without the flag it must not happen
        safe_only = _copy(fx.bad_py, tmp_path / "safe_only")
        metriclint(*base, str(safe_only), cwd=tmp_path)
        assert safe_only.read_bytes() != want, (
            "unsafe_fixes = true, but the safe fixes alone already give " + want_path.name
        )

    work = _copy(fx.bad_py, tmp_path / "fix")
    run = metriclint(*base, *(["--unsafe-fixes"] if fx.unsafe_fixes else []), str(work), cwd=tmp_path)
    got = work.read_bytes()
    assert got == want, (
        f"`metriclint {' '.join(run.args)}` differs from {want_path.name}:\n"
        + _diff(want, got, want_path.name)
        + "\n"
        + run.describe()
    )

    program = run_fixture_program(work, flavour, tmp_path)
    program.check_flavour()
    assert program.returncode == 0, "the fixed program fails\n" + program.describe()
    result = program.result()
    assert fx.close(result["reported"], result["expected"]), (
        f"fixed program: reported {result['reported']} != expected {result['expected']} "
        f"(atol={fx.atol}, rtol={fx.rtol})\n" + program.describe()
    )
    _check_cost(fx, flavour, result, "fixed", program)


def test_there_are_fixtures():
    assert _fixtures(), f"no fixture folders in {FIXTURES}"


# Rules a runtime fixture cannot prove: KM001 is about `# noqa` comments, not Keras.
NOT_KERAS_RULES = {"KM001"}


def test_every_keras_rule_has_a_fixture():
    from metriclint.rules import all_rules

    proven = {fx.code for fx in _fixtures()}
    missing = sorted(set(all_rules()) - NOT_KERAS_RULES - proven)
    assert not missing, f"rules without a fixtures/<CODE>_<slug>/ folder: {missing}"


def test_every_declared_rewrite_is_run_by_a_fixture():
    """Each rewrite a rule declares is named by a fixture whose fixed program runs (test_fix_and_run)."""
    from metriclint.rules import all_rules

    run: Dict[str, set] = {}
    for fx in _fixtures():
        if not fx.manual_fix and set(fx.report_only) < set(fx.flavours):
            run.setdefault(fx.code, set()).update(fx.rewrites)
    for code, rule in all_rules().items():
        missing = sorted(set(rule.rewrites) - run.get(code, set()))
        assert not missing, f"{code}: no fixture runs the rewrites {missing}"


def test_km101_declares_every_rewrite_of_its_tables():
    """KM101's fixes come from tables; a new table entry must be declared (and so run by a fixture)."""
    from metriclint.keras import signatures
    from metriclint.rules import all_rules

    renames = {k for k, m in signatures.KEYWORD_MIGRATIONS.items() if m.new is not None and m.safety is not None}
    from_tables = renames | set(signatures.REMOVED_GENERATOR_METHODS) | {
        "validation_metrics", "validation_metrics_to_compile", "dropped_data_option",
        "compile_positional_metrics",  # MODEL_METHOD_PARAMETERS: compile's positional orders differ
    }
    assert set(all_rules()["KM101"].rewrites) == from_tables


# --- 4. the message names the exception the bad program really raises ---------------------------
# (fixture, flavour) -> what the message says instead. Strict xfail: once the message names the
# exception, the XPASS fails the run and the entry must go.
MESSAGE_MISSES_EXCEPTION: dict = {}


def _raising_params():
    for fx in _fixtures():
        for flavour in fx.flavours:
            if fx.bad.get(flavour, {}).get("outcome") != "raises":
                continue
            known = MESSAGE_MISSES_EXCEPTION.get((fx.name, flavour))
            marks = [pytest.mark.xfail(strict=True, reason=known)] if known else []
            yield pytest.param(fx, flavour, id=f"{fx.name}-k{flavour}", marks=marks)


@pytest.mark.parametrize("fx,flavour", list(_raising_params()))
def test_message_names_the_exception_raised(fx: Fixture, flavour: str):
    """Where bad.py raises under F (test_bad_program proves which exception), the rule's message
    for bad.py under F names that exception class."""
    from metriclint.engine import lint_text
    from metriclint.settings import Settings

    exception = fx.bad[flavour]["exception"].rsplit(".", 1)[-1]
    settings = Settings(select=(fx.code,), target_keras=flavour)
    messages = [d.message for d in lint_text(fx.bad_py.read_text(encoding="utf-8"), "bad.py", settings).diagnostics
                if d.code == fx.code]
    assert messages, f"{fx.code} does not report bad.py on Keras {flavour}"
    assert any(re.search(rf"\b{re.escape(exception)}\b", message) for message in messages), (
        f"no {fx.code} message on bad.py names {exception} (Keras {flavour}):\n" + "\n".join(messages)
    )


def test_known_message_misses_are_real_fixtures():
    names = {(fx.name, flavour) for fx in _fixtures() for flavour in fx.flavours
             if fx.bad.get(flavour, {}).get("outcome") == "raises"}
    assert set(MESSAGE_MISSES_EXCEPTION) <= names
