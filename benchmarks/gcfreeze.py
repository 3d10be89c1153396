"""What freezing the objects at the fork saves: ``pytest --phase7`` with and without it, paired.

Usage (a real project of ``realrun.py``; a quiet machine)::

    .venv/bin/python benchmarks/gcfreeze.py --project idna [--repeat 16] [--cold]

The same checkout and venv, three commands alternating in each repetition (their order reversed
every other one): E0 (``pytest --cov --cov-report=``), ``pytest --phase7`` as shipped, and
``pytest --phase7`` with a ``-p`` plugin that turns ``gc.freeze`` into a no-op, so that the two
phase7 runs differ in that call alone. Warm by default (the first run fills the caches; only the
coverage data is removed before each run), ``--cold`` clears every cache before the phase7 runs.
Prints the medians of wall and CPU seconds (the process tree's) and the medians of the paired
differences. Nothing is written to RESULTS.md.
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

from realrun import ALL_CACHES, Prepared, all_projects, clear, prepare

#: Loaded with ``-p`` in every run; turns ``gc.freeze`` into a no-op where asked.
PROBE = """
import gc, os

if os.environ.get("PHASE7_BENCH_NO_FREEZE"):
    gc.freeze = lambda: None
"""

COMMANDS = ("E0", "frozen", "not frozen")


def timed(argv: list[str], prepared: Prepared, env: dict[str, str]) -> tuple[float, float]:
    """Run ``argv`` in the checkout; its wall seconds and its process tree's CPU seconds."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=prepared.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, _, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def main() -> int:
    """Measure, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default="idna")
    parser.add_argument("--repeat", type=int, default=16)
    parser.add_argument("--cold", action="store_true", help="clear every cache before phase7 runs")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "phase7-gcfreeze"
    )
    args = parser.parse_args()
    logdir = args.workdir / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    prepared = prepare(all_projects()[args.project], args.workdir, logdir)
    (args.workdir / "phase7_freeze_probe.py").write_text(PROBE, encoding="utf-8")
    env = dict(prepared.env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(args.workdir), env.get("PYTHONPATH")]))
    no_freeze = {**env, "PHASE7_BENCH_NO_FREEZE": "1"}
    pytest = [str(prepared.tool("python")), "-m", "pytest", "-q", "-p", "phase7_freeze_probe"]
    runs = {
        "E0": ([*pytest, "--cov", "--cov-report="], env),
        "frozen": ([*pytest, "--phase7"], env),
        "not frozen": ([*pytest, "--phase7"], no_freeze),
    }
    timed(runs["frozen"][0], prepared, env)  # fills the caches
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for repetition in range(args.repeat):
        order = COMMANDS if repetition % 2 == 0 else tuple(reversed(COMMANDS))
        for name in order:
            cold = args.cold and name != "E0"
            clear(prepared.root, ALL_CACHES if cold else (".coverage",))
            argv, run_env = runs[name]
            samples[name].append(timed(argv, prepared, run_env))
        print(
            f"{repetition + 1:2d} "
            + "  ".join(f"{name} {samples[name][-1][0]:.3f} s" for name in COMMANDS),
            flush=True,
        )
    for name in COMMANDS:
        wall = statistics.median(s[0] for s in samples[name])
        cpu = statistics.median(s[1] for s in samples[name])
        print(f"{args.project} {name}: wall {wall:.3f} s, CPU {cpu:.3f} s")
    for name in ("frozen", "not frozen"):
        paired = statistics.median(
            b[0] - e[0] for e, b in zip(samples["E0"], samples[name], strict=True)
        )
        print(f"{args.project} {name} - E0: wall {paired:+.3f} s (paired median)")
    saved = statistics.median(
        f[0] - n[0] for f, n in zip(samples["frozen"], samples["not frozen"], strict=True)
    )
    print(f"{args.project} frozen - not frozen: wall {saved:+.3f} s (paired median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
