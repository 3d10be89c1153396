"""Where a phase7 run's extra time goes, phase by phase, against the bare measurement.

Usage (on a project ``run.py`` generated, or a real one of ``realrun.py``, checked out fresh;
the first run fills phase7's cache)::

    .venv/bin/python benchmarks/segments.py --workdir /tmp/phase7-bench/medium [--repeat 8]
    .venv/bin/python benchmarks/segments.py --project toolz [--cold] [--repeat 8]
    .venv/bin/python benchmarks/segments.py --workdir /tmp/phase7-bench/large --repeat 3 \\
        --phase7-args="--phase7-changed-since=HEAD"

Runs ``pytest --phase7`` (warm, plus ``--phase7-args``) and ``pytest --cov --cov-report=`` (E0)
alternately. A small plugin, loaded with ``-p``, stamps ``time.perf_counter()`` at each phase
boundary (and ``time.process_time()``: the pytest process's CPU, all threads): import,
``pytest_configure``, session start (first and last hook), collection
finished, test loop (start, end of the innermost wrapper), terminal summary, unconfigure, exit.
It prints the median of each segment for both commands and their difference, which says
whether phase7's cost is in its own hooks (configure, session start, after the test loop,
summary) or in the tests themselves (a background thread or extra objects slowing them).
``--cold`` clears every cache before each phase7 run (A instead of B).
Nothing is written to RESULTS.md; the numbers quoted there say which command produced them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import child_env

PROBE = """
import atexit, json, os, resource, time
import pytest

T0 = time.perf_counter()
C0 = time.process_time()
STAMPS = {"import": 0.0}
CPU = {"import": 0.0}


def _stamp(name):
    if name not in STAMPS:
        STAMPS[name] = time.perf_counter() - T0
        # This process's CPU, all its threads (the gate threads included); not the tools'.
        CPU[name] = time.process_time() - C0


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    _stamp("configure")


class _SessionStart:
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session):
        _stamp("sessionstart")


class _SessionStarted:
    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session):
        _stamp("sessionstarted")


@pytest.hookimpl(trylast=True)
def pytest_plugin_registered(plugin, manager):
    if type(plugin).__name__ == "Session" and not manager.has_plugin("segments-start"):
        manager.register(_SessionStart(), "segments-start")
        manager.register(_SessionStarted(), "segments-started")


def pytest_collection_finish(session):
    _stamp("collected")


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtestloop(session):
    _stamp("tests")
    try:
        return (yield)
    finally:
        _stamp("tests done")


@pytest.hookimpl(tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    _stamp("summary")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    _stamp("unconfigured")


@atexit.register
def _write():
    _stamp("exit")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    record = {"wall": STAMPS, "cpu": CPU, "children": children.ru_utime + children.ru_stime}
    with open(os.environ["PHASE7_SEGMENTS_OUT"], "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\\n")
"""

#: Phase boundaries in order; a segment is the time between two neighbours.
BOUNDARIES = (
    "import",
    "configure",
    "sessionstart",
    "sessionstarted",
    "collected",
    "tests",
    "tests done",
    "summary",
    "unconfigured",
    "exit",
)

COLD_CACHES = (".pytest_cache", ".mypy_cache", ".ruff_cache", ".coverage")

PLAIN = ["-q", "-p", "no:hypothesispytest", "-p", "no:mypy", "-p", "no:ruff"]


def _target(args: argparse.Namespace) -> tuple[Path, list[str], dict[str, str], list[str]]:
    """The project folder, its pytest command, environment and options every run gets."""
    if args.project:
        from realrun import all_projects, prepare  # noqa: I001 - first: it puts realprojects on the path
        from realprojects import venv_python

        known = all_projects()
        if args.project not in known:
            raise SystemExit(f"unknown project {args.project}; choose from {', '.join(known)}")
        workdir = Path(tempfile.gettempdir()) / "phase7-segments"
        logdir = workdir / "logs"
        logdir.mkdir(parents=True, exist_ok=True)
        prepared = prepare(known[args.project], workdir, logdir)
        python = str(venv_python(prepared.venv))
        return prepared.root, [python, "-m", "pytest"], prepared.env, ["-q"]
    if args.workdir is None:
        raise SystemExit("give --workdir (a generated project) or --project (a real one)")
    return args.workdir, [sys.executable, "-m", "pytest"], child_env(), PLAIN


def _clear_caches(root: Path) -> None:
    for name in COLD_CACHES:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def main(argv: list[str] | None = None) -> int:
    """Run both commands alternately and print the segment medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, help="a generated project")
    parser.add_argument(
        "--project", help="a real project (benchmarks/realrun.py's), fresh checkout"
    )
    parser.add_argument("--repeat", type=int, default=8, help="runs of each command")
    parser.add_argument("--phase7-args", default="", help="extra options for the phase7 run")
    parser.add_argument(
        "--cold", action="store_true", help="clear every cache before each phase7 run (A, not B)"
    )
    args = parser.parse_args(argv)
    root, pytest_cmd, env, plain = _target(args)
    commands = {
        "phase7": ["--phase7", *shlex.split(args.phase7_args)],
        "E0": ["--cov", "--cov-report="],
    }
    with tempfile.TemporaryDirectory() as probe_dir:
        (Path(probe_dir) / "phase7_segments_probe.py").write_text(PROBE, encoding="utf-8")
        env = dict(env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [probe_dir, env.get("PYTHONPATH")]))
        warm = [*pytest_cmd, *plain, *commands["phase7"]]
        subprocess.run(warm, cwd=root, env=env, capture_output=True, check=False)
        records: dict[str, list[dict[str, object]]] = {name: [] for name in commands}
        walls: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, extra in commands.items():
                if args.cold and name == "phase7":
                    _clear_caches(root)
                out = Path(probe_dir) / f"{name}.jsonl"
                env["PHASE7_SEGMENTS_OUT"] = str(out)
                argv_ = [*pytest_cmd, *plain, "-p", "phase7_segments_probe"]
                started = time.perf_counter()
                subprocess.run(
                    [*argv_, *extra], cwd=root, env=env, capture_output=True, check=False
                )
                walls[name].append(time.perf_counter() - started)
                record = json.loads(out.read_text(encoding="utf-8").splitlines()[-1])
                records[name].append(record)
    state = "cold: every cache cleared before each run" if args.cold else "warm"
    print(
        f"{root}: phase7 run: pytest {' '.join(commands['phase7'])} ({state}); "
        "E0: pytest --cov --cov-report="
    )
    print(
        f"{args.repeat} alternating runs each, medians in ms; CPU is the pytest process's own "
        "(all its threads), not the tools it starts; load average "
        f"{os.getloadavg()[0]:.1f} at the end\n"
    )
    print(
        "| segment | phase7 wall | E0 wall | difference | phase7 CPU | E0 CPU | difference |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )

    def row(label: str, values: dict[str, list[float]]) -> None:
        w = [statistics.median(values[f"{n}:wall"]) * 1000 for n in commands]
        c = [statistics.median(values[f"{n}:cpu"]) * 1000 for n in commands]
        print(
            f"| {label} | {w[0]:.0f} | {w[1]:.0f} | {w[0] - w[1]:+.0f} "
            f"| {c[0]:.0f} | {c[1]:.0f} | {c[0] - c[1]:+.0f} |"
        )

    for before, after in itertools.pairwise(BOUNDARIES):
        values: dict[str, list[float]] = {}
        for name in commands:
            recs = records[name]
            values[f"{name}:wall"] = [_delta(r, "wall", before, after) for r in recs]
            values[f"{name}:cpu"] = [_delta(r, "cpu", before, after) for r in recs]
        row(f"{before} -> {after}", values)
    outside: dict[str, list[float]] = {}
    for name in commands:
        stamps = [r["wall"]["exit"] for r in records[name]]  # type: ignore[index]
        outside[f"{name}:wall"] = [w - s for w, s in zip(walls[name], stamps, strict=True)]
        outside[f"{name}:cpu"] = [0.0 for _ in stamps]
    row("outside the probe (interpreter start, early imports, exit)", outside)
    totals: dict[str, list[float]] = {}
    for name in commands:
        totals[f"{name}:wall"] = walls[name]
        totals[f"{name}:cpu"] = [float(r["children"]) for r in records[name]]  # type: ignore[arg-type]
    row("**whole run** (CPU: the tools it waited for)", totals)
    wall = [statistics.median(walls[name]) for name in commands]
    print(f"\nwall ratio phase7 / E0: {wall[0] / wall[1]:.3f}")
    return 0


def _delta(record: dict[str, object], kind: str, before: str, after: str) -> float:
    stamps = record[kind]
    assert isinstance(stamps, dict)
    return float(stamps[after]) - float(stamps[before])


if __name__ == "__main__":
    raise SystemExit(main())
