"""The critical path of a cold ``pytest --phase7`` on real projects, and the floors under it.

Usage (the projects of ``realrun.py``; run it on a quiet machine)::

    .venv/bin/python benchmarks/critical.py --projects toolz,idna,typeguard [--repeat 3]

Per repetition and project (the checkout and venv ``realrun.py`` prepares), alternating:

====  ==========================================================================================
E0    ``pytest --cov --cov-report=`` with a probe stamping start-up
      (``pytest_load_initial_conftests``: the earliest moment a plugin knows its configuration,
      its plan, its targets) and ``pytest_configure``
M     ``mypy T`` alone, cold, over the mypy gate's targets
E|M   E0 and ``mypy T`` started together, no phase7: what the tests and mypy cost each other
      on the machine's cores
A     ``pytest --phase7`` cold with the probe: when the mypy gate's process starts and ends,
      when the tests end, when the process ends
====  ==========================================================================================

It prints, per project, the medians, what phase7 adds on the test process's own path (before
the tests start and after they end, against E0), and three floors no scheduling of the same
work can beat: **mypy floor** = E0's time to start-up (``pytest_load_initial_conftests``, the
first hook that sees the whole configuration) + mypy's wall in E|M (mypy cannot start before
pytest has read its configuration, and runs as long as next to the tests at best: the same
measurement with M alone is shown too); **tests floor**
= E0's wall in E|M (the tests next to a running mypy, no phase7 involved); **CPU floor** = A's
CPU seconds (process tree) / the number of cores. Section ``critical:TAG`` of ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from common import median, update_section
from realrun import ALL_CACHES, Prepared, all_projects, clear, prepare

PROBE = """
import atexit, json, os, sys, time
import pytest

STAMPS = {}
RUNS = []


def _stamp(name):
    STAMPS.setdefault(name, time.time())


if "--phase7" in sys.argv:  # A; E0 imports nothing of phase7. Before the gates can start.
    from pytest_phase7.gates import mypy as gate
    original = gate.run_tool

    def run_tool(argv, *args, **kwargs):
        started = time.time()
        try:
            return original(argv, *args, **kwargs)
        finally:
            # A line per run, written at once: the tools may run in phase7's helper process,
            # which leaves without running atexit.
            run = (" ".join(str(a) for a in argv[1:4]), started, time.time())
            with open(os.environ["PHASE7_CRITICAL_OUT"] + ".runs", "a", encoding="utf-8") as out:
                out.write(json.dumps(run) + "\\n")

    gate.run_tool = run_tool


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    _stamp("start-up")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    _stamp("configure")


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtestloop(session):
    _stamp("tests start")
    try:
        return (yield)
    finally:
        _stamp("tests done")


@atexit.register
def _write():
    _stamp("exit")
    runs_file = os.environ["PHASE7_CRITICAL_OUT"] + ".runs"
    if os.path.exists(runs_file):
        with open(runs_file, encoding="utf-8") as lines:
            RUNS.extend(json.loads(line) for line in lines if line.strip())
        os.remove(runs_file)
    with open(os.environ["PHASE7_CRITICAL_OUT"], "w", encoding="utf-8") as out:
        json.dump({"stamps": STAMPS, "runs": RUNS}, out)
"""


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: Sequence[str], prepared: Prepared, env: dict[str, str], log: Path) -> float:
    """Start ``argv``; return its start time (``time.time()``) once it has ended."""
    with log.open("ab") as out:
        started = time.time()
        subprocess.run(list(argv), cwd=prepared.root, env=env, stdout=out, stderr=out, check=False)
    return started


def _together(
    commands: dict[str, list[str]], prepared: Prepared, env: dict[str, str], log: Path
) -> dict[str, tuple[float, float]]:
    """Start the commands at once; each one's (wall, CPU of its process tree)."""
    found: dict[str, tuple[float, float]] = {}
    with log.open("ab") as out:
        started = time.perf_counter()
        processes = {
            name: subprocess.Popen(argv, cwd=prepared.root, env=env, stdout=out, stderr=out)
            for name, argv in commands.items()
        }

        def wait(name: str, process: subprocess.Popen[bytes]) -> None:
            _, _, usage = os.wait4(process.pid, 0)
            process.returncode = 0
            found[name] = (time.perf_counter() - started, usage.ru_utime + usage.ru_stime)

        threads = [threading.Thread(target=wait, args=item) for item in processes.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return found


def measure(
    prepared: Prepared, repeat: int, logdir: Path, probe_dir: Path
) -> dict[str, list[float]]:
    """Every configuration of one project, ``repeat`` times, alternating."""
    out_file = probe_dir / "stamps.json"
    env = dict(prepared.env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(probe_dir), env.get("PYTHONPATH")]))
    env["PHASE7_CRITICAL_OUT"] = str(out_file)
    commands = prepared.commands()
    e0 = [*commands["E"][0][0], "-p", "phase7_critical_probe"]
    mypy = commands["M"][0][0]
    a = [*commands["A"][0][0], "-p", "phase7_critical_probe"]
    log = logdir / f"{prepared.project.name}-critical.log"
    values: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        values.setdefault(name, []).append(value)

    for _ in range(repeat):
        add("load", os.getloadavg()[0])
        clear(prepared.root, (".coverage",))
        cpu = _cpu_children()
        started = _run(e0, prepared, env, log)
        stamps = json.loads(out_file.read_text(encoding="utf-8"))["stamps"]
        add("E0 to start-up", stamps["start-up"] - started)
        add("E0 to configure", stamps["configure"] - started)
        add("E0 to tests", stamps["tests start"] - started)
        add("E0 after tests", stamps["exit"] - stamps["tests done"])
        add("E0 wall", stamps["exit"] - started)
        add("E0 CPU", _cpu_children() - cpu)

        clear(prepared.root, (".mypy_cache",))
        begun = time.perf_counter()
        _run(mypy, prepared, env, log)
        add("M wall", time.perf_counter() - begun)

        clear(prepared.root, (".mypy_cache", ".coverage"))
        both = _together({"E": commands["E"][0][0], "M": mypy}, prepared, env, log)
        add("E wall beside M", both["E"][0])
        add("E CPU beside M", both["E"][1])
        add("M wall beside E", both["M"][0])

        clear(prepared.root, ALL_CACHES)
        cpu = _cpu_children()
        begun = time.perf_counter()
        started = _run(a, prepared, env, log)
        add("A wall", time.perf_counter() - begun)
        add("A CPU", _cpu_children() - cpu)
        record = json.loads(out_file.read_text(encoding="utf-8"))
        stamps, runs = record["stamps"], record["runs"]
        add("A to configure", stamps["configure"] - started)
        add("A to tests", stamps["tests start"] - started)
        add("A tests done", stamps["tests done"] - started)
        add("A after tests", stamps["exit"] - stamps["tests done"])
        checks = [r for r in runs if r[0].startswith("-m mypy -O")]
        if checks:
            add("A mypy start", checks[0][1] - started)
            add("A mypy end", checks[0][2] - started)
        print(
            f"   {prepared.project.name}: "
            + ", ".join(f"{k} {v[-1]:.2f}" for k, v in values.items()),
            flush=True,
        )
    return values


def report(results: dict[str, dict[str, list[float]]], command: str, cores: int) -> str:
    """The Markdown section: medians per project, then the floors and A against them."""
    lines = [
        f"Command: `{command}` ({time.strftime('%Y-%m-%d %H:%M')}; medians in seconds; "
        f"{cores} cores)",
        "",
        "| project | E0 to start-up / `pytest_configure` | E0 | M | E beside M (CPU) | M beside E "
        "| A: mypy starts / ends | A: tests start / end | A | A CPU | before / after the tests: "
        "A - E0 | mypy floor (with M alone) | tests floor | CPU floor | A / max(E0, M) "
        "| A / highest floor | load |",
        "|---|" + "---:|" * 15 + "---|",
    ]
    for name, values in results.items():
        m = {k: median(v) for k, v in values.items() if k != "load"}
        alone_floor = m["E0 to start-up"] + m["M wall"]
        mypy_floor = m["E0 to start-up"] + m["M wall beside E"]
        tests_floor = m["E wall beside M"]
        cpu_floor = m["A CPU"] / cores
        floor = max(mypy_floor, tests_floor, cpu_floor)
        loads = values["load"]
        cells = [
            f"{m['E0 to start-up']:.2f} / {m['E0 to configure']:.2f}",
            f"{m['E0 wall']:.2f}",
            f"{m['M wall']:.2f}",
            f"{m['E wall beside M']:.2f} ({m['E CPU beside M']:.2f})",
            f"{m['M wall beside E']:.2f}",
            f"{m.get('A mypy start', float('nan')):.2f} / {m.get('A mypy end', float('nan')):.2f}",
            f"{m['A to tests']:.2f} / {m['A tests done']:.2f}",
            f"{m['A wall']:.2f}",
            f"{m['A CPU']:.2f}",
            f"{m['A to tests'] - m['E0 to tests']:+.2f} / "
            f"{m['A after tests'] - m['E0 after tests']:+.2f}",
            f"{mypy_floor:.2f} ({alone_floor:.2f})",
            f"{tests_floor:.2f}",
            f"{cpu_floor:.2f}",
            f"{m['A wall'] / max(m['E0 wall'], m['M wall']):.3f}",
            f"{m['A wall'] / floor:.3f}",
            f"{min(loads):.1f}-{max(loads):.1f}",
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", default="toolz,idna,typeguard")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "phase7-crit")
    parser.add_argument("--tag", default="latest", help="section critical:TAG")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    args = parser.parse_args(argv)
    known = all_projects()
    names = [n.strip() for n in args.projects.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown project(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    workdir = args.workdir.resolve()
    logdir = workdir / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    prepared = {name: prepare(known[name], workdir, logdir) for name in names}
    results: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    probe_dir = workdir / "probe"
    probe_dir.mkdir(exist_ok=True)
    (probe_dir / "phase7_critical_probe.py").write_text(PROBE, encoding="utf-8")
    for _ in range(args.repeat):
        for name in names:
            for key, value in measure(prepared[name], 1, logdir, probe_dir).items():
                results[name].setdefault(key, []).extend(value)
    command = (
        f"python benchmarks/critical.py --projects {','.join(names)} --repeat {args.repeat} "
        f"--tag {args.tag}"
    )
    section = report(results, command, os.cpu_count() or 1)
    print()
    print(section)
    if not args.no_write:
        update_section(f"critical:{args.tag}", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
