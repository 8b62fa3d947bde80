"""How long `metriclint server` takes from a change in the editor to its diagnostics (issue #22).

    python bench/lsp_latency.py --out bench/lsp_latency.json

Starts this tree's `metriclint server` with pygls's LSP client over stdio (the same transport an
editor uses), in a temporary project holding `bench/lsp_data/train_script.py` (a 300-line
training script) and a 50-cell notebook made of the same code (26 code cells, 24 markdown,
magics included). After a warm-up (the first check imports the rules), it sends `--edits`
changes one after another, each waiting for its diagnostics: the time from writing the
`didChange` notification to reading the `publishDiagnostics` for that version, debounce
included. Each change flips one call between `reset_states()` and `reset_state()`, so the
diagnostics really change every time. Per change it also reads, from Linux's schedstat of the
server's threads, the CPU time the server used and the time its threads waited for a core (on a
machine other processes keep busy, that wait is what the wall time has on top). For comparison
it times the check alone (`engine.lint_text`) on the same texts in this process. Prints medians
and writes every sample to `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "lsp_data" / "train_script.py"
PYPROJECT = '[tool.metriclint]\ntarget-keras = "3"\n'
NOTEBOOK_CELLS = 50
FLIP = re.compile(r"accuracy_metric\.reset_states?\(\)")


def notebook_cells(script: str) -> List[Tuple[str, str]]:
    """The script as a notebook of exactly 50 cells: its top-level blocks as code cells (a few
    with magics), a markdown cell before every other one."""
    blocks = [block.strip("\n") for block in re.split(r"\n\n\n", script) if block.strip()]
    blocks[0] = "%matplotlib inline\n" + blocks[0]
    blocks.insert(1, "!pip list | grep -i keras")
    code = len(blocks)
    markdown = NOTEBOOK_CELLS - code
    if markdown < 0:
        raise SystemExit(f"the script has {code} top-level blocks, more than {NOTEBOOK_CELLS} cells")
    cells: List[Tuple[str, str]] = []
    for index, block in enumerate(blocks):
        if markdown and index % 2 == 0:
            cells.append(("markdown", f"## Step {index // 2 + 1}\nWhat the next cell does."))
            markdown -= 1
        cells.append(("code", block))
    cells.extend(("markdown", "Notes.") for _ in range(markdown))
    assert len(cells) == NOTEBOOK_CELLS
    return cells


@dataclass
class Sample:
    wall: float  # seconds from sending didChange to reading its publishDiagnostics
    cpu: float  # seconds the server's threads ran meanwhile
    waited: float  # seconds they were ready to run but waited for a core


def scheduler_times(pid: int) -> Tuple[float, float]:
    """(run time, run-queue wait) of all threads of process `pid`, in seconds (Linux schedstat)."""
    run = wait = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "schedstat").read_text().split()
        except OSError:  # a thread that just ended
            continue
        run, wait = run + int(fields[0]), wait + int(fields[1])
    return run / 1e9, wait / 1e9


class Bench:
    def __init__(self) -> None:
        self.client = LanguageClient("metriclint-bench", "1")
        self.pid = 0
        self.arrivals: Dict[Tuple[str, Optional[int]], float] = {}
        self.diagnostics: Dict[Tuple[str, Optional[int]], List[types.Diagnostic]] = {}
        self.event = asyncio.Event()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            key = (params.uri, params.version)
            self.arrivals.setdefault(key, time.perf_counter())
            self.diagnostics[key] = list(params.diagnostics)
            self.event.set()

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def logged(params: types.LogMessageParams) -> None:
            if params.type == types.MessageType.Error:
                print(f"server error: {params.message}", file=sys.stderr)

    async def wait(self, uri: str, version: int, timeout: float = 60) -> float:
        async def arrived() -> float:
            while (uri, version) not in self.arrivals:
                self.event.clear()
                await self.event.wait()
            return self.arrivals[(uri, version)]

        return await asyncio.wait_for(arrived(), timeout)

    async def start(self, project: Path) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        await self.client.start_io(sys.executable, "-m", "metriclint", "server", cwd=str(project), env=env)
        server = self.client._server  # drain its stderr, so that a chatty server never blocks
        assert server is not None
        self.pid = server.pid
        if server.stderr is not None:
            asyncio.ensure_future(server.stderr.read())
        await self.client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(
                notebook_document=types.NotebookDocumentClientCapabilities(
                    synchronization=types.NotebookDocumentSyncClientCapabilities())),
            root_uri=project.as_uri()))
        self.client.initialized(types.InitializedParams())

    async def measure(self, send, uri: str, version: int) -> Sample:
        """Send one change (`send()`) and wait for the diagnostics of `version` of `uri`."""
        run, wait = scheduler_times(self.pid)
        sent = time.perf_counter()
        send()
        arrived = await self.wait(uri, version)
        run_after, wait_after = scheduler_times(self.pid)
        return Sample(arrived - sent, run_after - run, wait_after - wait)

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def flip(text: str) -> str:
    return FLIP.sub(lambda m: "accuracy_metric.reset_state()" if m.group().endswith("states()")
                    else "accuracy_metric.reset_states()", text, count=1)


async def script_latencies(bench: Bench, path: Path, edits: int, pause: float) -> List[Sample]:
    text = path.read_text(encoding="utf-8")
    uri = path.as_uri()
    bench.client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    await bench.wait(uri, 1)
    samples = []
    for version in range(2, edits + 2):
        text = flip(text)
        await asyncio.sleep(pause)
        samples.append(await bench.measure(lambda: bench.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)])), uri, version))
        expected = 4 if "accuracy_metric.reset_states()" in text else 3
        assert len(bench.diagnostics[(uri, version)]) == expected, bench.diagnostics[(uri, version)]
    return samples


async def notebook_latencies(bench: Bench, path: Path, cells: List[Tuple[str, str]], edits: int,
                             pause: float) -> List[Sample]:
    uri = path.as_uri()
    cell_uris = [f"vscode-notebook-cell:{path}#cell{index}" for index in range(len(cells))]
    bench.client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(
            uri=uri, notebook_type="jupyter-notebook", version=1,
            cells=[types.NotebookCell(kind=types.NotebookCellKind.Code if kind == "code" else types.NotebookCellKind.Markup,
                                      document=cell_uri) for (kind, _), cell_uri in zip(cells, cell_uris)]),
        cell_text_documents=[types.TextDocumentItem(uri=cell_uri, language_id="python" if kind == "code" else "markdown",
                                                    version=1, text=source)
                             for (kind, source), cell_uri in zip(cells, cell_uris)]))
    target = next(index for index, (kind, source) in enumerate(cells) if kind == "code" and FLIP.search(source))
    await bench.wait(cell_uris[target], 1)
    source = cells[target][1]
    samples = []
    for version in range(2, edits + 2):
        source = flip(source)
        await asyncio.sleep(pause)
        samples.append(await bench.measure(lambda: bench.client.notebook_document_did_change(
            types.DidChangeNotebookDocumentParams(
                notebook_document=types.VersionedNotebookDocumentIdentifier(uri=uri, version=version),
                change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[
                    types.NotebookDocumentCellContentChanges(
                        document=types.VersionedTextDocumentIdentifier(uri=cell_uris[target], version=version),
                        changes=[types.TextDocumentContentChangeWholeDocument(text=source)])])))),
            cell_uris[target], version))
        expected = 2 if "accuracy_metric.reset_states()" in source else 1
        assert len(bench.diagnostics[(cell_uris[target], version)]) == expected
    return samples


def engine_times(text: str, path: Path, repeats: int) -> List[Tuple[float, float]]:
    """The check alone, in this process, as the server's worker runs it (cycle collector paused):
    (wall time, CPU time of this thread) per run."""
    sys.path.insert(0, str(ROOT))
    from metriclint.project.index import ProjectIndex
    from metriclint.runner import no_cycle_collection
    from metriclint.engine import lint_text
    from metriclint.settings import Settings

    settings, index = Settings(target_keras="3"), ProjectIndex()
    lint_text(text, str(path), settings, index.view(str(path), settings))
    samples = []
    for _ in range(repeats):
        with no_cycle_collection():
            start, start_cpu = time.perf_counter(), time.thread_time()
            lint_text(text, str(path), settings, index.view(str(path), settings))
            samples.append((time.perf_counter() - start, time.thread_time() - start_cpu))
    return samples


def summary(samples: List[float]) -> Dict[str, Any]:
    ordered = sorted(samples)
    return {
        "n": len(samples),
        "median_ms": round(statistics.median(samples) * 1000, 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 1),
        "min_ms": round(ordered[0] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "samples_ms": [round(s * 1000, 2) for s in samples],
    }


async def run(args: argparse.Namespace) -> Dict[str, Any]:
    script = SCRIPT.read_text(encoding="utf-8")
    cells = notebook_cells(script)
    with tempfile.TemporaryDirectory(prefix="metriclint-lsp-bench-") as tmp:
        project = Path(tmp)
        (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
        (project / "train.py").write_text(script, encoding="utf-8")
        bench = Bench()
        await bench.start(project)
        try:
            script_samples = await script_latencies(bench, project / "train.py", args.edits, args.pause)
            notebook_samples = await notebook_latencies(bench, project / "train.ipynb", cells, args.edits, args.pause)
        finally:
            await bench.stop()
        from metriclint.notebook import module_of_cells

        module = module_of_cells([{"cell_type": kind, "source": source} for kind, source in cells])
        engine_script = engine_times(script, project / "train.py", args.edits)
        engine_notebook = engine_times(module.text, project / "train.ipynb", args.edits)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cpu": _cpu(), "cores": os.cpu_count(), "python": platform.python_version(),
                    "load_average": os.getloadavg()},
        "edits": args.edits, "pause_s": args.pause,
        "script_lines": script.count("\n"), "notebook_cells": len(cells),
        "notebook_code_cells": sum(1 for kind, _ in cells if kind == "code"),
        "didChange_to_publishDiagnostics": {"script": summary([s.wall for s in script_samples]),
                                            "notebook": summary([s.wall for s in notebook_samples])},
        "server_cpu_per_change": {"script": summary([s.cpu for s in script_samples]),
                                  "notebook": summary([s.cpu for s in notebook_samples])},
        "server_waiting_for_a_core_per_change": {"script": summary([s.waited for s in script_samples]),
                                                 "notebook": summary([s.waited for s in notebook_samples])},
        "check_alone": {"script": summary([wall for wall, _ in engine_script]),
                        "notebook": summary([wall for wall, _ in engine_notebook])},
        "check_alone_cpu": {"script": summary([cpu for _, cpu in engine_script]),
                            "notebook": summary([cpu for _, cpu in engine_notebook])},
    }


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=60, help="changes per document (default 60)")
    parser.add_argument("--pause", type=float, default=0.2,
                        help="seconds between a result and the next change, as between keystrokes (default 0.2)")
    parser.add_argument("--out", help="write the figures and every sample as JSON here")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    result = asyncio.run(run(args))
    for name in ("script", "notebook"):
        lsp = result["didChange_to_publishDiagnostics"][name]
        alone = result["check_alone"][name]
        cpu, waited = result["server_cpu_per_change"][name], result["server_waiting_for_a_core_per_change"][name]
        print(f"{name:<9} didChange -> publishDiagnostics: median {lsp['median_ms']} ms, p90 {lsp['p90_ms']} ms, "
              f"min {lsp['min_ms']} ms, max {lsp['max_ms']} ms ({lsp['n']} changes); server CPU median "
              f"{cpu['median_ms']} ms, waiting for a core median {waited['median_ms']} ms; "
              f"check alone: median {alone['median_ms']} ms "
              f"({result['check_alone_cpu'][name]['median_ms']} ms CPU)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
