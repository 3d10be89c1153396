"""The sharded path, tested at small scale: tests split over processes, one ``phase7 gate``.

Usage::

    .venv/bin/python benchmarks/sharded.py [--modules 20] [--shards 3] [--workdir DIR]

On a generated project (``generate.py``) it produces the phase7 JSON report (``--phase7-json``
/ ``phase7 gate --json``) five ways and checks that every item's status and every gate's status
and figure are the same as in the single run:

1. ``single``: ``pytest --phase7`` (the reference);
2. ``xdist``: ``pytest -n 2 --phase7`` (local workers; the gates run once, on the controller);
3. ``tx``: ``pytest --tx 2*popen//python=PY --dist load --phase7``: execnet gateways, the same
   mechanism as ``--tx ssh=host//python=...`` remote workers (remote workers need the project
   at the same path, or ``[tool.coverage.paths]`` to map theirs);
4. ``matrix``: CI-matrix shards: each shard runs ``pytest --cov --cov-report= <its test files>``
   with ``COVERAGE_FILE=.coverage.shard-N`` (on CI, each on its own machine, uploading that
   file as an artifact); then ``coverage combine`` and one ``phase7 gate`` over the combined
   data;
5. ``matrix-xdist``: the same shards, each also using ``-n 2``;
6. a negative control: ``phase7 gate`` over one shard's data alone must differ (the check works).

Timings are printed (and written to ``benchmarks/RESULTS.md``, section ``sharded``): for the
matrix, the critical path is the slowest shard + combine + gate, what a CI pipeline with one
machine per shard waits for. Exit status 1 if any report differs from the single run's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import child_env, update_section
from generate import plan_project, write_project
from measure import run_measured

#: Report keys that legitimately differ between runs (timings, cache flags, paths, versions).
VOLATILE = frozenset(
    {"seconds", "cached", "carried", "rootdir", "tool_versions", "notes", "tests_failed", "timing"}
)
QUIET = ("-q", "-p", "no:hypothesispytest", "-p", "no:mypy", "-p", "no:ruff")


def normalise(value: Any) -> Any:
    """The report without its volatile keys (recursively)."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def differences(reference: Any, other: Any, path: str = "") -> list[str]:
    """Where two normalised reports differ (at most a few, as ``path: a != b``)."""
    if isinstance(reference, dict) and isinstance(other, dict):
        found = []
        for key in sorted(set(reference) | set(other)):
            found += differences(reference.get(key), other.get(key), f"{path}.{key}")
        return found
    if isinstance(reference, list) and isinstance(other, list) and len(reference) == len(other):
        found = []
        for index, (a, b) in enumerate(zip(reference, other, strict=True)):
            found += differences(a, b, f"{path}[{index}]")
        return found
    return [] if reference == other else [f"{path}: {reference!r} != {other!r}"]


def compared(report: Path) -> dict[str, Any]:
    """The parts of a report that must not depend on how the tests were run."""
    data = json.loads(report.read_text(encoding="utf-8"))
    return {k: normalise(data.get(k)) for k in ("items", "verdict", "totals", "batches")}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=20)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    workdir = (args.workdir or Path(tempfile.gettempdir()) / "phase7-bench" / "sharded").resolve()
    write_project(plan_project(args.modules, args.modules * 3 // 2, seed=7), workdir)
    py = sys.executable
    phase7 = str(Path(py).parent / "phase7")
    env = child_env()
    logdir = workdir.parent / f"{workdir.name}-logs"
    shutil.rmtree(logdir, ignore_errors=True)
    logdir.mkdir(parents=True)
    log = logdir / "sharded.log"
    out = workdir / "reports"
    out.mkdir()
    pytest = [py, "-m", "pytest", *QUIET]
    # Warm bytecode and the static gates' cache, so every variant compares like with like.
    run_measured([*pytest, "--phase7"], workdir, env, log)
    timings: dict[str, float] = {}

    def fresh_coverage() -> None:
        for stale in workdir.glob(".coverage*"):
            stale.unlink()

    variants = {
        "single": [*pytest, "--phase7"],
        "xdist": [*pytest, "-n", "2", "--phase7"],
        "tx": [*pytest, "--tx", f"2*popen//python={py}", "--dist", "load", "--phase7"],
    }
    for name, argv_ in variants.items():
        fresh_coverage()
        cost = run_measured([*argv_, f"--phase7-json={out / name}.json"], workdir, env, log)
        timings[name] = cost.wall
    tests = sorted(str(p.relative_to(workdir)) for p in (workdir / "tests").glob("test_*.py"))
    for name, extra in (("matrix", []), ("matrix-xdist", ["-n", "2"])):
        fresh_coverage()
        shard_times = []
        for shard in range(args.shards):
            mine = tests[shard :: args.shards]
            shard_env = {**env, "COVERAGE_FILE": str(workdir / f".coverage.shard-{shard}")}
            cost = run_measured(
                [*pytest, "-p", "no:phase7", *extra, "--cov", "--cov-report=", *mine],
                workdir,
                shard_env,
                log,
            )
            shard_times.append(cost.wall)
        shards = sorted(str(p) for p in workdir.glob(".coverage.shard-*"))
        combine = run_measured(
            [py, "-m", "coverage", "combine", "--keep", *shards], workdir, env, log
        )
        gate = run_measured(
            [phase7, "gate", f"--json={out / name}.json"],
            workdir,
            env,
            log,
        )
        timings[name] = max(shard_times) + combine.wall + gate.wall
        timings[f"{name}: shards (sum)"] = sum(shard_times)
        timings[f"{name}: slowest shard"] = max(shard_times)
        timings[f"{name}: combine"] = combine.wall
        timings[f"{name}: phase7 gate"] = gate.wall
    # Negative control: one shard's data alone must NOT give the single run's report.
    run_measured(
        [phase7, "gate", "--coverage-file", shards[0], f"--json={out / 'control'}.json"],
        workdir,
        env,
        log,
    )
    reference = compared(out / "single.json")
    lines = [
        f"Command: `python benchmarks/sharded.py --modules {args.modules} --shards {args.shards}` "
        f"({time.strftime('%Y-%m-%d %H:%M')}, warm static-gate cache; wall seconds)",
        "",
        "| variant | wall s | same report as single |",
        "|---|---:|---|",
    ]
    failed = False
    for name in ("single", "xdist", "tx", "matrix", "matrix-xdist"):
        report = out / f"{name}.json"
        if not report.exists():
            failed = True
            lines.append(f"| {name} | {timings.get(name, 0):.2f} | **no report** (see {log}) |")
            continue
        diffs = differences(reference, compared(report))
        failed = failed or bool(diffs)
        verdict = "yes" if not diffs else f"**no**: {len(diffs)} differences, e.g. {diffs[0]}"
        lines.append(f"| {name} | {timings[name]:.2f} | {verdict} |")
    control = out / "control.json"
    if control.exists():
        diffs = differences(reference, compared(control))
        failed = failed or not diffs
        lines.append(
            f"| control: shard 0's data alone | - | {'no' if diffs else '**yes** (check broken)'}"
            f" ({len(diffs)} differences, as expected) |"
        )
    lines += ["", "Matrix detail:", ""]
    lines += [f"- {k}: {v:.2f} s" for k, v in timings.items() if ":" in k]
    text = "\n".join(lines)
    print(text)
    print(f"\nlogs: {log}")
    if not args.no_write:
        update_section(f"sharded:{args.modules}", text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
