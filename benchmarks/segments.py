"""Where a phase7 run's extra time goes, phase by phase, against the bare measurement.

Usage (on a project ``run.py`` generated; the first run fills phase7's cache)::

    .venv/bin/python benchmarks/segments.py --workdir /tmp/phase7-bench/medium [--repeat 8]
    .venv/bin/python benchmarks/segments.py --workdir /tmp/phase7-bench/large --repeat 3 \\
        --phase7-args="--phase7-changed-since=HEAD"

Runs ``pytest --phase7`` (warm, plus ``--phase7-args``) and ``pytest --cov --cov-report=`` (E0)
alternately. A small plugin, loaded with ``-p``, stamps ``time.perf_counter()`` at each phase
boundary: import, ``pytest_configure``, session start (first and last hook), collection
finished, test loop (start, end of the innermost wrapper), terminal summary, unconfigure, exit.
It prints the median of each segment for both commands and their difference, which says
whether phase7's cost is in its own hooks (configure, session start, after the test loop,
summary) or in the tests themselves (a background thread or extra objects slowing them).
Nothing is written to RESULTS.md; the numbers quoted there say which command produced them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import child_env

PROBE = """
import atexit, json, os, time
import pytest

T0 = time.perf_counter()
STAMPS = {"import": 0.0}


def _stamp(name):
    STAMPS.setdefault(name, time.perf_counter() - T0)


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
    with open(os.environ["PHASE7_SEGMENTS_OUT"], "a", encoding="utf-8") as out:
        out.write(json.dumps(STAMPS) + "\\n")
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

PLAIN = ["-q", "-p", "no:hypothesispytest", "-p", "no:mypy", "-p", "no:ruff"]


def main(argv: list[str] | None = None) -> int:
    """Run both commands alternately and print the segment medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a generated project")
    parser.add_argument("--repeat", type=int, default=8, help="runs of each command")
    parser.add_argument("--phase7-args", default="", help="extra options for the phase7 run")
    args = parser.parse_args(argv)
    commands = {
        "phase7": ["--phase7", *shlex.split(args.phase7_args)],
        "E0": ["--cov", "--cov-report="],
    }
    with tempfile.TemporaryDirectory() as probe_dir:
        (Path(probe_dir) / "phase7_segments_probe.py").write_text(PROBE, encoding="utf-8")
        env = child_env()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [probe_dir, env.get("PYTHONPATH")]))
        warm = [sys.executable, "-m", "pytest", *PLAIN, *commands["phase7"]]
        subprocess.run(warm, cwd=args.workdir, env=env, capture_output=True, check=False)
        stamps: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
        walls: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, extra in commands.items():
                out = Path(probe_dir) / f"{name}.jsonl"
                env["PHASE7_SEGMENTS_OUT"] = str(out)
                argv_ = [sys.executable, "-m", "pytest", *PLAIN, "-p", "phase7_segments_probe"]
                started = time.perf_counter()
                subprocess.run(
                    [*argv_, *extra], cwd=args.workdir, env=env, capture_output=True, check=False
                )
                walls[name].append(time.perf_counter() - started)
                stamps[name].append(json.loads(out.read_text(encoding="utf-8").splitlines()[-1]))
    print(f"phase7 run: pytest {' '.join(commands['phase7'])}; E0: pytest --cov --cov-report=")
    print(f"{args.repeat} alternating runs each, medians in ms\n")
    print("| segment | phase7 | E0 | difference |\n|---|---:|---:|---:|")
    for before, after in itertools.pairwise(BOUNDARIES):
        medians = [
            statistics.median(s[after] - s[before] for s in stamps[name]) * 1000
            for name in commands
        ]
        print(
            f"| {before} -> {after} | {medians[0]:.1f} | {medians[1]:.1f} | "
            f"{medians[0] - medians[1]:+.1f} |"
        )
    wall = [statistics.median(walls[name]) for name in commands]
    print(
        f"| **wall** | {wall[0] * 1000:.0f} | {wall[1] * 1000:.0f} | "
        f"{(wall[0] - wall[1]) * 1000:+.0f} (ratio {wall[0] / wall[1]:.3f}) |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
