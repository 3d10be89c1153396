"""What a warm ``pytest --phase7`` run pays in-process, step by step, on a generated project.

Usage (after ``run.py`` generated the project and a test run left its ``.coverage``)::

    .venv/bin/python benchmarks/warmpath.py --workdir /tmp/phase7-bench/medium [--repeat 5]

Measured in this process, one step at a time (no tests running, so no GIL contention), median of
``--repeat`` runs:

* ``index + resolve``: ``RepoIndex`` (one walk) and ``resolve_items``;
* ``fingerprint <gate>``: the cache key of each static gate (``gates.cache.fingerprint``: hashes
  the targets, for mypy every project file and the installed distributions, and the config
  files up to ``/``);
* ``cache hit <gate>``: ``gates.cache.cached_run`` when the key matches (fingerprint + read +
  rebuild of the stored results); the tool must not run;
* ``remember <gate>``: ``gates.cache.remember`` (what the engine does after every static run,
  cached or not), with the store ``phase7 gate`` uses (pytest's cache layout and JSON);
* ``coverage gate``: ``CoverageGate.run`` over this session's ``.coverage`` (per-target figures),
  and ``coverage json (all)``: ``Coverage.json_report`` over the whole ``source``.

The tools are run once, untimed, to fill the store. Prints a Markdown table and writes it to
``benchmarks/RESULTS.md`` (section ``warmpath:<folder name>``) unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from common import update_section

from pytest_phase7.cachedir import CacheDirStore


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median seconds of ``fn()``."""
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(project: Path, repeat: int) -> dict[str, float]:
    """Every step (see the module docstring), in seconds."""
    import coverage

    from pytest_phase7.engine import Engine
    from pytest_phase7.gates.base import GateRequest, SessionData
    from pytest_phase7.gates.cache import cached_run, fingerprint, remember
    from pytest_phase7.gates.coverage import CoverageGate
    from pytest_phase7.gates.docstrings import DocstringsGate
    from pytest_phase7.gates.mypy import MypyGate
    from pytest_phase7.gates.ruff import RuffGate
    from pytest_phase7.manifest import load_manifest
    from pytest_phase7.resolve.targets import RepoIndex, resolve_items
    from pytest_phase7.settings import load_table, resolve

    os.chdir(project)
    out: dict[str, float] = {}
    table, label = load_table(project)
    settings = resolve({}, {}, table, table_path=label)
    manifest = load_manifest(project / "PHASE7_EXECUTION_PLAN.md")

    def index_and_resolve() -> tuple[Any, Any]:
        index = RepoIndex(project)
        return index, resolve_items(manifest, project, index=index)

    out["index + resolve"] = timed(index_and_resolve, repeat)
    index, resolutions = index_and_resolve()
    gates: list[Any] = [CoverageGate(), RuffGate(), MypyGate(), DocstringsGate()]
    engine = Engine(settings, manifest, resolutions, project, gates)
    files = index.all_python_files()
    with tempfile.TemporaryDirectory(prefix="phase7-store-") as tmp:
        store = CacheDirStore(Path(tmp))  # pytest's layout and JSON, as config.cache

        def refuse(gate: Any, request: Any) -> Any:
            raise AssertionError(f"{gate.name} ran although its result is cached")

        def really_run(gate: Any, request: Any) -> Any:
            return gate.run(request)

        for gate in gates[1:]:
            request = GateRequest(project, tuple(engine._targets[gate.name]), settings)
            policy = gate.cache_policy
            out[f"fingerprint {gate.name}"] = timed(
                functools.partial(fingerprint, gate, policy, request, files), repeat
            )
            run = cached_run(gate, request, store, files, really_run)  # fills the store
            out[f"cache hit {gate.name}"] = timed(
                functools.partial(cached_run, gate, request, store, files, refuse), repeat
            )
            out[f"remember {gate.name}"] = timed(functools.partial(remember, store, run), repeat)

    def coverage_gate() -> None:
        cov = coverage.Coverage()
        cov.load()
        request = GateRequest(
            project, tuple(engine._targets["coverage"]), settings, session=SessionData(cov)
        )
        CoverageGate().run(request)

    def json_all(outfile: str) -> None:
        cov = coverage.Coverage()
        cov.load()
        cov.json_report(outfile=outfile)

    # Alternate the two, each with a fresh Coverage object (load included in both).
    gate_times, all_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(max(1, repeat // 2)):
            gate_times.append(timed(coverage_gate, 1))
            all_times.append(timed(lambda: json_all(str(Path(tmp) / "all.json")), 1))
    out["coverage gate"] = statistics.median(gate_times)
    out["coverage json (all)"] = statistics.median(all_times)
    for gate in gates:
        out[f"({gate.name} targets)"] = float(len(engine._targets[gate.name]))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a generated project")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    project = args.workdir.resolve()
    if not (project / ".coverage").exists():
        parser.error(f"{project}/.coverage is missing: run the tests first (run.py --only E0)")
    out = measure(project, args.repeat)
    lines = [
        f"Command: `python benchmarks/warmpath.py --workdir {project} --repeat {args.repeat}` "
        f"({time.strftime('%Y-%m-%d %H:%M')})",
        "",
        "| step | ms |",
        "|---|---:|",
    ]
    for step, value in out.items():
        shown = f"{value:.0f}" if step.startswith("(") else f"{value * 1000:.1f}"
        lines.append(f"| {step} | {shown} |")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        update_section(f"warmpath:{project.name}", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
