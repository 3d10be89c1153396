"""Experiment: how cheap can the per-target coverage figures be? (input for the coverage gate)

Usage (in a generated project that has a ``.coverage`` from a test run)::

    .venv/bin/python benchmarks/covcache_experiment.py --workdir /tmp/phase7-bench/medium

Compares, on the coverage gate's target files, with a fresh ``Coverage`` object each time:

1. ``json_report(morfs=targets)`` + reading the JSON back: what the gate does today;
2. ``coverage.results.analysis_from_file_reporter`` per file: the same analysis without the JSON
   report (which also computes function/class regions) and without the JSON round trip;
3. the same with each file's ``PythonParser`` restored from a pickle made by an earlier run: what
   a cache of coverage.py's *static* analysis (keyed by the file's content, coverage's version and
   its exclusion settings) would cost on a warm run. The static analysis does not depend on what
   the tests executed, so it can be cached across runs, or computed while the tests run.

Checks that the three give the same statements / missing / branches / percent per file. Uses
coverage.py internals (``Coverage._get_file_reporter``, ``PythonFileReporter._parser``): this is
a measurement, not a proposed implementation.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from common import update_section


def _numbers(n: Any) -> tuple[int, int, int, int, str]:
    return (n.n_statements, n.n_missing, n.n_branches, n.n_missing_branches, n.pc_covered_str)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    import coverage
    from coverage.results import analysis_from_file_reporter
    from run import resolved_targets

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    project = args.workdir.resolve()
    os.chdir(project)
    targets = resolved_targets(project)["coverage"]
    files = sorted({os.path.abspath(f) for t in targets.values() for f in t.files})

    def fresh() -> Any:
        cov = coverage.Coverage()
        cov.load()
        return cov

    def via_json() -> dict[str, tuple[int, int, int, int, str]]:
        cov = fresh()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "c.json"
            cov.json_report(morfs=files, outfile=str(out))
            report = json.loads(out.read_text())
        from coverage.results import Numbers

        found = {}
        for name, data in report["files"].items():
            s = data["summary"]
            n = Numbers(
                precision=cov.config.precision,
                n_files=1,
                n_statements=s["num_statements"],
                n_excluded=s["excluded_lines"],
                n_missing=s["missing_lines"],
                n_branches=s.get("num_branches", 0),
                n_partial_branches=s.get("num_partial_branches", 0),
                n_missing_branches=s.get("missing_branches", 0),
            )
            found[os.path.abspath(name)] = _numbers(n)
        return found

    def via_analysis(parsers: dict[str, bytes] | None = None) -> dict[str, Any]:
        cov = fresh()
        data = cov.get_data()
        found = {}
        for path in files:
            reporter = cov._get_file_reporter(path)
            if parsers is not None:
                reporter._parser = pickle.loads(parsers[path])
            analysis = analysis_from_file_reporter(
                data, cov.config.precision, reporter, reporter.filename
            )
            found[path] = _numbers(analysis.numbers)
        return found

    def make_cache() -> dict[str, bytes]:
        cov = fresh()
        blobs = {}
        for path in files:
            reporter = cov._get_file_reporter(path)
            parsed = reporter.parser
            parsed.arcs()
            reporter.exit_counts()
            blobs[path] = pickle.dumps(parsed)
        return blobs

    def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
        times, result = [], None
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - started)
        return statistics.median(times), result

    t_json, r_json = timed(via_json)
    t_analysis, r_analysis = timed(via_analysis)
    t_make, cache = timed(make_cache)
    t_cached, r_cached = timed(lambda: via_analysis(cache))
    same = r_json == r_analysis == r_cached
    size = sum(len(b) for b in cache.values())
    text = "\n".join(
        [
            f"Command: `python benchmarks/covcache_experiment.py --workdir {project}` "
            f"({len(files)} target files; median of {args.repeat}; "
            f"{time.strftime('%Y-%m-%d %H:%M')})",
            "",
            "| way to compute the per-target figures | s |",
            "|---|---:|",
            f"| 1. `json_report(morfs=targets)` + read back (the gate today) | {t_json:.2f} |",
            f"| 2. `analysis_from_file_reporter` per file (no JSON, no regions) "
            f"| {t_analysis:.2f} |",
            f"| 3. as 2, parsers restored from a cache ({size / 1e6:.1f} MB pickled) "
            f"| {t_cached:.2f} |",
            f"| (building that cache: parse + arcs + pickle) | {t_make:.2f} |",
            "",
            f"Same statements / missing / branches / percent for every file: **{same}**.",
        ]
    )
    print(text)
    if not args.no_write:
        update_section(f"covcache:{project.name}", text)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
