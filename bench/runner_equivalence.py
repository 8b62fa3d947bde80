"""Does the long-lived program server give what fresh processes give? Every fixture program, both ways.

    PYTHONPATH=$PWD python bench/runner_equivalence.py [--jobs 2] [--order reversed]

For every program the runtime tests run (bad.py under each flavour with a [bad.F] table, the fixed
program under each fixable target flavour), runs it in a fresh process (as `run_program` does) and
in the flavour's program server (as `run_fixture_program` does, all programs of a flavour in one
process, in the order given), and compares: exit code, stdout byte for byte (so the
METRICLINT_RESULT numbers bit for bit), the final exception (type and message), the loaded Keras,
and for each `match` pattern whether it is found. Prints one line per difference and a summary;
exits 1 when anything differs. Figures recorded in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Optional, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "runtime"), str(REPO / "tests")]

import conftest as runtime  # noqa: E402  (tests/runtime/conftest.py)
from test_fixtures import _fixtures  # noqa: E402

Job = Tuple[str, Path, str, Optional[str]]  # (label, program, flavour, match pattern)


def jobs() -> List[Job]:
    found: List[Job] = []
    for fx in _fixtures():
        for flavour, spec in sorted(fx.bad.items()):
            found.append((f"{fx.name}/bad.py k{flavour}", fx.bad_py, flavour, spec.get("match")))
        for flavour in fx.flavours:
            if flavour in fx.report_only:
                continue
            found.append((f"{fx.name}/{fx.fixed_py(flavour).name} k{flavour}", fx.fixed_py(flavour), flavour, None))
    return found


def compare(fresh: runtime.ProgramRun, served: runtime.ProgramRun, pattern: Optional[str]) -> List[str]:
    differences = []
    if fresh.returncode != served.returncode:
        differences.append(f"exit {fresh.returncode} fresh, {served.returncode} served")
    if fresh.stdout != served.stdout:
        differences.append(f"stdout differs:\n  fresh:  {fresh.stdout[-300:]!r}\n  served: {served.stdout[-300:]!r}")
    if fresh.exception() != served.exception():
        differences.append(f"exception {fresh.exception()} fresh, {served.exception()} served")
    if fresh.loaded != served.loaded:
        differences.append(f"loaded {fresh.loaded} fresh, {served.loaded} served")
    if pattern is not None:
        found = [bool(re.search(pattern, run.stdout + run.stderr)) for run in (fresh, served)]
        if found[0] != found[1]:
            differences.append(f"match {pattern!r}: {found[0]} fresh, {found[1]} served")
    return differences


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2, help="fresh processes at once")
    parser.add_argument("--order", choices=("forward", "reversed"), default="forward")
    parser.add_argument("--fresh-cache", type=Path, help="JSON file: reuse (and store) the fresh runs")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="runner-equivalence-"))
    keras_home = work / "keras_home"
    keras_home.mkdir()
    todo = jobs()
    if options.order == "reversed":
        todo.reverse()

    cache = json.loads(options.fresh_cache.read_text()) if options.fresh_cache and options.fresh_cache.exists() else {}

    def fresh_run(index: int) -> runtime.ProgramRun:
        label, path, flavour, _ = todo[index]
        if label in cache:
            code, out, err, loaded = cache[label]
            return runtime.ProgramRun(path, flavour, code, out, err, loaded)
        cwd = work / f"fresh-{index}"
        cwd.mkdir()
        run = runtime._run_program(path, flavour, cwd, keras_home)
        cache[label] = [run.returncode, run.stdout, run.stderr, run.loaded]
        return run

    started = time.perf_counter()
    with ThreadPoolExecutor(options.jobs) as pool:
        fresh = list(pool.map(fresh_run, range(len(todo))))
    fresh_seconds = time.perf_counter() - started
    if options.fresh_cache:
        options.fresh_cache.write_text(json.dumps(cache))

    served: List[Optional[runtime.ProgramRun]] = [None] * len(todo)
    servers = {flavour: runtime.ProgramServer(flavour, keras_home, work) for flavour in runtime.FLAVOURS}

    def serve(flavour: str) -> None:
        for index, (label, path, job_flavour, _) in enumerate(todo):
            if job_flavour == flavour:
                cwd = work / f"served-{index}"
                cwd.mkdir()
                served[index] = servers[flavour].run(path, cwd)
        servers[flavour].close()

    started = time.perf_counter()
    threads = [threading.Thread(target=serve, args=(flavour,)) for flavour in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    served_seconds = time.perf_counter() - started

    failures = 0
    for (label, _, _, pattern), one, other in zip(todo, fresh, served):
        assert other is not None
        differences = compare(one, other, pattern)
        if differences:
            failures += 1
            print(f"DIFFERS {label}: " + "; ".join(differences))
    restarts = {flavour: server.starts for flavour, server in servers.items()}
    print(
        f"{len(todo)} programs: {len(todo) - failures} identical, {failures} differ; "
        f"fresh {fresh_seconds:.0f} s ({options.jobs} at once), served {served_seconds:.0f} s "
        f"(one server per flavour, in parallel; processes started per flavour: {restarts})"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
