"""The critical path of a cold ``pytest --phase7`` on real projects, and the floors under it.

Usage (the projects of ``realrun.py``; run it on a quiet machine)::

    .venv/bin/python benchmarks/critical.py --projects toolz,idna,typeguard [--repeat 3]

Per repetition and project (the checkout and venv ``realrun.py`` prepares), alternating:

====  ==========================================================================================
E0    ``pytest --cov --cov-report=`` with a probe stamping start-up (a ``tryfirst`` wrapper of
      ``pytest_load_initial_conftests``: the earliest moment a plugin knows its configuration,
      before pytest-cov starts coverage.py), the tests' start and end, and the terminal summary
M     ``mypy T`` alone, cold, over the mypy gate's targets
E|M   E0 and ``mypy T`` started together, no phase7: what the tests and mypy cost each other
      on the machine's cores
A     ``pytest --phase7`` cold with the probe: when phase7 starts (forks its helper), when the
      mypy gate's process starts and ends, when the tests start and end, when the test process
      has the helper's answer, when the process ends
====  ==========================================================================================

Every wall time is the process's, from its start to its end. It prints, per project, the
medians, then three floors no scheduling of the same work can beat: **mypy floor** = E0's time
to start-up + mypy's wall in E|M + E0's exit (from its terminal summary to its end): mypy cannot
start before a plugin knows its configuration, runs as long as next to the tests at best, and
the verdict is printed in the summary after its answer, pytest's exit still to come;
**tests floor** = E0's wall in E|M (the tests next to a running mypy, no phase7 involved);
**CPU floor** = A's CPU seconds (process tree) / the number of cores. Against the mypy floor,
A's excess is taken apart: phase7's planning before mypy starts, mypy's run inside A against
its run next to the tests alone, A's time after mypy ends beyond pytest's exit, and phase7
starting later than E0's start-up. A third table gives mypy's process alone, beside the tests
and inside A, wall and CPU seconds (``wait4``'s count as it is reaped), so that mypy running
slower inside A reads as more work (CPU) or as waiting for a core (wall beyond CPU). Section
``critical:TAG`` of ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from common import median, update_section
from measure import adopt_orphans, cpu_children, reap_orphans
from realrun import ALL_CACHES, Prepared, all_projects, clear, prepare

PROBE = """
import atexit, json, os, sys, time
import pytest

STAMPS = {}
OUT = os.environ["PHASE7_CRITICAL_OUT"]


def _stamp(name):
    STAMPS.setdefault(name, time.time())


def _line(record):
    # A line per event, written at once: the helper process leaves without running atexit.
    with open(OUT + ".runs", "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\\n")


def _timed_tools():
    # In the process that runs the gates (the helper, or pytest itself): each tool's run, and
    # the CPU seconds of mypy's process as the kernel counts them when it is reaped.
    import resource
    import subprocess

    from pytest_phase7.gates import mypy as gate

    original = gate.run_tool
    popen_init, commands = subprocess.Popen.__init__, {}

    def init(self, args, *rest, **kwargs):
        popen_init(self, args, *rest, **kwargs)
        commands[self.pid] = " ".join(str(a) for a in args[1:4])

    def reap(pid, options):
        found, status, usage = os.wait4(pid, options)
        if found in commands:
            own = resource.getrusage(resource.RUSAGE_SELF)  # the helper's, since its fork
            cpu = usage.ru_utime + usage.ru_stime
            _line(["cpu", commands.pop(found), cpu, own.ru_utime + own.ru_stime])
        return found, status

    subprocess.Popen.__init__, os.waitpid = init, reap

    def run_tool(argv, *args, **kwargs):
        started = time.time()
        try:
            return original(argv, *args, **kwargs)
        finally:
            _line([" ".join(str(a) for a in argv[1:4]), started, time.time()])

    gate.run_tool = run_tool


if "--phase7" in sys.argv:  # A; E0 imports nothing of phase7.
    from pytest_phase7 import helper

    forked, served, answered = helper.fork_helper, helper.serve, helper.Helper.finish

    def fork_helper(*args, **kwargs):
        _stamp("phase7 starts")
        return forked(*args, **kwargs)

    def serve(*args, **kwargs):
        _timed_tools()  # in the helper: the test process imports none of the gates
        return served(*args, **kwargs)

    def finish(self, *args, **kwargs):
        try:
            return answered(self, *args, **kwargs)
        finally:
            _stamp("answer")

    helper.fork_helper, helper.serve, helper.Helper.finish = fork_helper, serve, finish


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # The earliest a plugin sees its configuration (phase7's own wrapper runs here, in A just
    # before this one), before pytest-cov starts coverage.py.
    _stamp("start-up")
    return (yield)


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


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    _stamp("summary")  # from here on, what pytest does whatever its plugins found
    return (yield)


@atexit.register
def _write():
    _stamp("exit")
    runs = []
    if os.path.exists(OUT + ".runs"):
        with open(OUT + ".runs", encoding="utf-8") as lines:
            runs = [json.loads(line) for line in lines if line.strip()]
        os.remove(OUT + ".runs")
    with open(OUT, "w", encoding="utf-8") as out:
        json.dump({"stamps": STAMPS, "runs": runs}, out)
"""


def _run(
    argv: Sequence[str], prepared: Prepared, env: dict[str, str], log: Path
) -> tuple[float, float]:
    """Run ``argv``; its start and end times (``time.time()``)."""
    with log.open("ab") as out:
        started = time.time()
        subprocess.run(list(argv), cwd=prepared.root, env=env, stdout=out, stderr=out, check=False)
        ended = time.time()
    reap_orphans()  # the helper, which A leaves to exit: its CPU is A's
    return started, ended


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
    reap_orphans()
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
        cpu = cpu_children()
        started, ended = _run(e0, prepared, env, log)
        add("E0 CPU", cpu_children() - cpu)
        stamps = json.loads(out_file.read_text(encoding="utf-8"))["stamps"]
        add("E0 to start-up", stamps["start-up"] - started)
        add("E0 to tests", stamps["tests start"] - started)
        add("E0 wall", ended - started)
        add("E0 exit", ended - stamps["summary"])

        clear(prepared.root, (".mypy_cache",))
        alone = _together({"M": mypy}, prepared, env, log)
        add("M wall", alone["M"][0])
        add("M CPU", alone["M"][1])

        clear(prepared.root, (".mypy_cache", ".coverage"))
        both = _together({"E": commands["E"][0][0], "M": mypy}, prepared, env, log)
        add("E wall beside M", both["E"][0])
        add("E CPU beside M", both["E"][1])
        add("M wall beside E", both["M"][0])
        add("M CPU beside E", both["M"][1])

        clear(prepared.root, ALL_CACHES)
        cpu = cpu_children()
        started, ended = _run(a, prepared, env, log)
        add("A CPU", cpu_children() - cpu)
        add("A wall", ended - started)
        record = json.loads(out_file.read_text(encoding="utf-8"))
        stamps, runs = record["stamps"], record["runs"]
        # Without a helper (in-process), phase7 starts in its start-up wrapper, as the probe's.
        add("A phase7 starts", stamps.get("phase7 starts", stamps["start-up"]) - started)
        add("A to tests", stamps["tests start"] - started)
        add("A tests done", stamps["tests done"] - started)
        add("A answer", stamps.get("answer", stamps["summary"]) - started)
        checks = [r for r in runs if r[0].startswith("-m mypy -O")]
        if checks:
            add("A mypy start", checks[0][1] - started)
            add("A mypy end", checks[0][2] - started)
        cpu_of_mypy = [r for r in runs if r[0] == "cpu" and r[1].startswith("-m mypy -O")]
        if cpu_of_mypy:
            add("A mypy CPU", cpu_of_mypy[0][2])
            add("A helper CPU to mypy end", cpu_of_mypy[0][3])
        others = [r[2] for r in runs if r[0] == "cpu" and not r[1].startswith("-m mypy -O")]
        add("A other tools CPU", sum(others))
        print(
            f"   {prepared.project.name}: "
            + ", ".join(f"{k} {v[-1]:.2f}" for k, v in values.items()),
            flush=True,
        )
    return values


def report(results: dict[str, dict[str, list[float]]], command: str, cores: int) -> str:
    """The Markdown section: the medians, then the floors, A against them and what A adds.

    The mypy floor is what a run that checks with mypy cannot beat: pytest's start until a
    plugin sees its configuration, mypy's run next to the tests, and pytest's own exit from its
    terminal summary on (the verdict is printed there, after mypy's answer). A's excess over it,
    taken apart: phase7's planning before mypy starts, mypy's run inside A against its run next
    to the tests alone, and what A does after mypy ends beyond pytest's exit. Last, mypy's own
    process, wall and CPU seconds (the kernel's count when it is reaped), alone, beside the
    tests and inside A: more CPU inside A is mypy doing more or running slower per instruction
    (caches, memory), more wall than CPU is mypy waiting for a core.
    """
    lines = [
        f"Command: `{command}` ({time.strftime('%Y-%m-%d %H:%M')}; medians in seconds; "
        f"{cores} cores)",
        "",
        "| project | E0: start-up / tests start / exit | E0 (CPU) | M | E beside M (CPU) "
        "| M beside E | A: phase7 starts / mypy starts / mypy ends | A: tests start / end "
        "| A: answer | A (CPU) | load |",
        "|---|" + "---:|" * 9 + "---|",
    ]
    floors = [
        "",
        "| project | mypy floor | tests floor | CPU floor | highest floor / max(E0, M) "
        "| A / max(E0, M) | A / highest floor | A - mypy floor: planning + mypy slower "
        "+ after mypy + later start |",
        "|---|" + "---:|" * 6 + "---|",
    ]
    mypy_rows = [
        "",
        "| project | mypy alone: wall (CPU) | beside the tests | inside A "
        "| inside A - beside the tests: wall = CPU + waiting "
        "| A: the helper's CPU until mypy ends | A: the other tools' CPU (nice 19) |",
        "|---|" + "---:|" * 3 + "---|" + "---:|" * 2,
    ]
    nan = float("nan")
    for name, values in results.items():
        m = {k: median(v) for k, v in values.items() if k != "load"}
        mypy_floor = m["E0 to start-up"] + m["M wall beside E"] + m["E0 exit"]
        tests_floor = m["E wall beside M"]
        cpu_floor = m["A CPU"] / cores
        floor = max(mypy_floor, tests_floor, cpu_floor)
        larger = max(m["E0 wall"], m["M wall"])
        start, end = m.get("A mypy start", nan), m.get("A mypy end", nan)
        loads = values["load"]
        cells = [
            f"{m['E0 to start-up']:.2f} / {m['E0 to tests']:.2f} / {m['E0 exit']:.2f}",
            f"{m['E0 wall']:.2f} ({m['E0 CPU']:.2f})",
            f"{m['M wall']:.2f}",
            f"{m['E wall beside M']:.2f} ({m['E CPU beside M']:.2f})",
            f"{m['M wall beside E']:.2f}",
            f"{m['A phase7 starts']:.2f} / {start:.2f} / {end:.2f}",
            f"{m['A to tests']:.2f} / {m['A tests done']:.2f}",
            f"{m['A answer']:.2f}",
            f"{m['A wall']:.2f} ({m['A CPU']:.2f})",
            f"{min(loads):.1f}-{max(loads):.1f}",
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        parts = (
            start - m["A phase7 starts"],
            (end - start) - m["M wall beside E"],
            (m["A wall"] - end) - m["E0 exit"],
            m["A phase7 starts"] - m["E0 to start-up"],
        )
        floors.append(
            f"| {name} | {mypy_floor:.2f} | {tests_floor:.2f} | {cpu_floor:.2f} "
            f"| {floor / larger:.3f} | {m['A wall'] / larger:.3f} | {m['A wall'] / floor:.3f} "
            f"| {m['A wall'] - mypy_floor:+.2f} = "
            + " ".join(f"{part:+.2f}" for part in parts)
            + " |"
        )
        inside = (end - start, m.get("A mypy CPU", nan))
        beside = (m["M wall beside E"], m["M CPU beside E"])
        more_cpu = inside[1] - beside[1]
        mypy_rows.append(
            f"| {name} | {m['M wall']:.2f} ({m['M CPU']:.2f}) | {beside[0]:.2f} ({beside[1]:.2f}) "
            f"| {inside[0]:.2f} ({inside[1]:.2f}) "
            f"| {inside[0] - beside[0]:+.2f} = {more_cpu:+.2f} "
            f"{(inside[0] - beside[0]) - more_cpu:+.2f} "
            f"| {m.get('A helper CPU to mypy end', nan):.2f} | {m['A other tools CPU']:.2f} |"
        )
    return "\n".join(lines + floors + mypy_rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", default="toolz,idna,typeguard")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "phase7-crit")
    parser.add_argument("--tag", default="latest", help="section critical:TAG")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout of pytest-phase7, measured alternately"
    )
    args = parser.parse_args(argv)
    known = all_projects()
    names = [n.strip() for n in args.projects.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown project(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    adopt_orphans()  # A's helper outlives pytest: its CPU is A's
    workdir = args.workdir.resolve()
    logdir = workdir / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    prepared = {name: prepare(known[name], workdir, logdir) for name in names}
    if args.baseline is not None:
        for name in names:
            prepared[f"{name} @ baseline"] = prepare(
                known[name], workdir, logdir, args.baseline, "baseline"
            )
    results: dict[str, dict[str, list[float]]] = {name: {} for name in prepared}
    probe_dir = workdir / "probe"
    probe_dir.mkdir(exist_ok=True)
    (probe_dir / "phase7_critical_probe.py").write_text(PROBE, encoding="utf-8")
    for _ in range(args.repeat):
        for name, checkout in prepared.items():
            for key, value in measure(checkout, 1, logdir, probe_dir).items():
                results[name].setdefault(key, []).extend(value)
    command = (
        f"python benchmarks/critical.py --projects {','.join(names)} --repeat {args.repeat} "
        f"--tag {args.tag}" + (f" --baseline {args.baseline}" if args.baseline else "")
    )
    section = report(results, command, os.cpu_count() or 1)
    print()
    print(section)
    if not args.no_write:
        update_section(f"critical:{args.tag}", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
