"""A warm run's cost beyond the bare measurement, paired: B - E per repetition, two checkouts.

Usage (a real project of ``realrun.py``; a quiet machine)::

    .venv/bin/python benchmarks/paired.py --project idna --baseline /tmp/phase7-old [--repeat 12]

Wall times on a small project spread by more than what phase7 adds to a warm run, and the
spread is the machine's (its speed drifts over minutes), so a difference of medians taken
minutes apart says little. This script runs, per repetition, E (``pytest --cov
--cov-report=``) and B (warm ``pytest --phase7``) of this checkout and of ``--baseline``, one
right after the other, each checkout in its own folder with its own venv (a shared folder would
invalidate the other's cache at every run), and reports the medians of B - E: CPU seconds of
the process tree (what phase7 costs, whatever else the machine does) and wall seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import adopt_orphans, cpu_children, reap_orphans
from realrun import Prepared, all_projects, clear, prepare


def timed(argv: list[str], prepared: Prepared) -> tuple[float, float]:
    """Run ``argv`` in the checkout; its wall seconds and its process tree's CPU seconds.

    The tree includes what outlives the command (phase7's helper, left to exit after its answer).
    """
    adopt_orphans()
    before = cpu_children()
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=prepared.root,
        env=prepared.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, _ = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    reap_orphans()
    return wall, cpu_children() - before


def main() -> int:
    """Measure, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default="idna")
    parser.add_argument("--baseline", type=Path, required=True, help="another checkout")
    parser.add_argument("--repeat", type=int, default=12)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "phase7-pair")
    args = parser.parse_args()
    project = all_projects()[args.project]
    logdir = args.workdir / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    sides = {
        "after": prepare(project, args.workdir, logdir),
        "before": prepare(project, args.workdir, logdir, args.baseline, "baseline"),
    }
    differences: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for prepared in sides.values():  # warm: the first B fills the caches
        commands = prepared.commands()
        timed(commands["B"][0][0], prepared)
    for repetition in range(args.repeat):
        for name, prepared in sides.items():
            commands = prepared.commands()
            clear(prepared.root, (".coverage",))
            e_wall, e_cpu = timed(commands["E"][0][0], prepared)
            clear(prepared.root, (".coverage",))
            b_wall, b_cpu = timed(commands["B"][0][0], prepared)
            differences[name].append((b_wall - e_wall, b_cpu - e_cpu))
            print(
                f"{repetition + 1:2d} {name:6s} E {e_wall:.3f} s (CPU {e_cpu:.3f}) "
                f"B {b_wall:.3f} s (CPU {b_cpu:.3f})",
                flush=True,
            )
    for name, values in differences.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print(f"{args.project} {name}: B - E median CPU {cpu:+.3f} s, wall {wall:+.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
