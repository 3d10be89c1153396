"""Loading a plan whose batches list every item as a table row: linear, and capped.

Usage::

    .venv/bin/python benchmarks/manifest_rows.py [--sizes 10000,100000,150000] [--repeat 3]

For each size one Markdown plan with a single batch whose table has that many rows (``| n |
Area | mod_n.py | Simple | 2h | QUEUED |``) is written to a temporary folder, with its TOML twin
(``phase7.toml``, one ``[[batches.items]]`` table per row). Timed (best of ``--repeat``):

* ``load md`` / ``load toml``: ``manifest.load_manifest`` of each file;
* ``validate``: ``phase7 validate`` in-process on the Markdown plan (load, then resolve when
  the plan has no error; the modules do not exist, so every item is a "not found" problem).

Plans of more than ``manifest.values.MAX_ITEMS`` rows stop being read at the first row too many
(one error), so loading them costs about what loading ``MAX_ITEMS`` rows costs. Writes the
table, with the git revision and the machine's load, to ``benchmarks/RESULTS.md`` (section
``manifest-rows``) unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from common import REPO, update_section

from pytest_phase7.cli import main as phase7
from pytest_phase7.manifest import load_manifest


def plan(rows: int) -> str:
    """A one-batch Markdown plan with ``rows`` item rows."""
    lines = [
        "# Rows",
        "",
        "### Batch 1: Unit Tests",
        "",
        "| # | Module | File | Complexity | Est. Time | Status |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {n} | Area | mod_{n}.py | Simple | 2h | QUEUED |" for n in range(1, rows + 1)]
    return "\n".join(lines) + "\n"


def toml_plan(rows: int) -> str:
    """The same plan as a TOML manifest."""
    parts = ['title = "Rows"', "", "[[batches]]", "number = 1", 'title = "Unit Tests"']
    for n in range(1, rows + 1):
        parts += [
            "",
            "[[batches.items]]",
            f"number = {n}",
            'module = "Area"',
            f'file = "mod_{n}.py"',
            'status = "QUEUED"',
        ]
    return "\n".join(parts) + "\n"


def best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """The fastest of ``repeat`` runs: wall seconds, and CPU seconds (less noisy when loaded)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def measure(rows: int, repeat: int) -> dict[str, object]:
    """The timings for one size, and how many items and problems the load gave."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        md = root / "PHASE7_EXECUTION_PLAN.md"
        md.write_text(plan(rows), encoding="utf-8")
        toml = root / "twin" / "phase7.toml"
        toml.parent.mkdir()
        toml.write_text(toml_plan(rows), encoding="utf-8")
        loaded = load_manifest(md)
        return {
            "items": len(loaded.items),
            "errors": len(loaded.errors),
            "load md": best(lambda: load_manifest(md), repeat),
            "load toml": best(lambda: load_manifest(toml), repeat),
            "validate": best(
                lambda: phase7(["validate", "--rootdir", str(root)], out=io.StringIO()), repeat
            ),
        }


def table(results: dict[int, dict[str, object]]) -> str:
    """The results as a Markdown table: wall seconds (CPU seconds)."""
    stages = ("load md", "load toml", "validate")
    lines = [
        "| rows | items loaded | errors | "
        + " | ".join(f"{s}: wall (CPU) s" for s in stages)
        + " |",
        "|---:|---:|---:|" + "---:|" * len(stages),
    ]
    for rows, r in results.items():
        cells = [f"{r[s][0]:.2f} ({r[s][1]:.2f})" for s in stages]  # type: ignore[index]
        lines.append(f"| {rows:,} | {r['items']:,} | {r['errors']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print, and record the section in RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,150000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    results = {int(size): measure(int(size), args.repeat) for size in args.sizes.split(",")}
    revision = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    text = (
        f"{table(results)}\n\nAt git {revision}, best of {args.repeat}, {os.cpu_count()} cores "
        f"with a load average of {load:.1f} when it started (CPU seconds compare across loads; "
        "wall seconds do not)."
    )
    print(text)
    if not args.no_write:
        update_section("manifest-rows", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
