"""The plugin's own work on 1k / 10k / 100k-item manifests, measured in-process.

Usage::

    .venv/bin/python benchmarks/overhead.py [--sizes 1000,10000,100000] [--repeat 5]

For each size a stub project is generated (``generate.py --stub``: ``K / 5`` one-line modules,
a Markdown plan with ``K`` items, and the same plan as ``phase7.toml`` in a second folder), then
each stage is timed (median of ``--repeat`` runs, ``gc.collect()`` before each) with no tool
running:

* ``load``: ``manifest.load_manifest`` of the Markdown plan (``load toml``: of ``phase7.toml``);
* ``resolve``: ``resolve.RepoIndex`` (one walk of the repo) + ``resolve.resolve_items``;
* ``engine``: ``engine.Engine(...)`` construction (which target each gate checks);
* ``status``: ``engine.Engine.finish`` with gates that return synthetic ``GateResult`` s at once:
  every item's outcome (``status.derive_outcome``) and the verdict (``status.decide``, policy
  ``regression``), as the plugin does after the tests;
* ``render``: ``report.render_terminal`` of an ``engine.RunResult``;
* ``total``: the sum of load + resolve + engine + status + render (the issue's target: <= 1 s at
  10k items, growing linearly);
* ``decide incomplete``: ``status.decide`` under ``--phase7-fail-on=incomplete`` (``, required``:
  with every batch marked ``**Required:** yes``);
* ``fingerprint``: the cache keys of the ruff, mypy and docstrings gates (``gates.cache``), i.e.
  what a warm run pays before it can reuse results (stub files are one line: real projects
  hash more bytes, see ``run.py``);
* ``off: table check``: what ``pytest`` *without* ``--phase7`` pays to decide that phase7 is
  off when the manifest is ``phase7.toml`` (``settings.TableSource(...).may_enable()``: the file
  is read once and scanned for the key ``enabled``, not parsed);
* ``off: load_table``: for comparison, parsing that table whole (``settings.load_table``), which
  the off path did twice before it was made cheap, and which a run with phase7 on does once.

Writes the table to ``benchmarks/RESULTS.md`` (section ``overhead``) unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import itertools
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from common import child_env, update_machine, update_section
from generate import plan_project, write_project

STAGES = ("load", "resolve", "engine", "status", "render")
EXTRA = (
    "load toml",
    "decide incomplete",
    "decide incomplete, required",
    "fingerprint",
    "off: table check",
    "off: load_table",
)


class FakeGate:
    """A gate that returns a prepared run at once (the tools' own time is not phase7's)."""

    def __init__(self, name: str, title: str, *, needs_session: bool) -> None:
        """A named gate; ``prepared`` is set once the synthetic results exist."""
        self.name = name
        self.title = title
        self.needs_session = needs_session
        self.prepared: Any = None

    def run(self, request: Any) -> Any:
        """The prepared run."""
        return self.prepared


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of ``fn()`` over ``repeat`` runs, and its last result."""
    times = []
    result: Any = None
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def synthetic_results(resolutions: Sequence[Any], gates: Sequence[str]) -> dict[str, Any]:
    """One GateResult per resolved target and gate: PASS / FAIL with plausible metrics."""
    from pytest_phase7.gates.base import GateResult, GateStatus

    rng = random.Random(1)
    table: dict[str, Any] = {}
    for resolution in resolutions:
        if resolution.target is None or resolution.target.ref in table:
            continue
        row = []
        for gate in gates:
            if gate in ("coverage", "docstrings"):
                metric = round(rng.uniform(0, 100), 1)
                ok = metric >= (70 if gate == "coverage" else 80)
                display = f"{metric:.1f}%"
            else:
                metric = float(rng.choice((0, 0, 0, 1, 3)))
                ok = metric == 0
                display = f"{metric:g}"
            status = GateStatus.PASS if ok else GateStatus.FAIL
            row.append(GateResult(gate, status, metric=metric, display=display, threshold=70.0))
        table[resolution.target.ref] = row
    return table


#: A stage whose previous size, scaled quadratically to this one, would take longer is skipped.
BUDGET_SECONDS = 120.0


def measure_size(
    items: int, repeat: int, workdir: Path, previous: dict[str, float] | None = None
) -> dict[str, float]:
    """All stages for one manifest size (``previous``: the results of the size before)."""
    from pytest_phase7 import engine as engine_mod
    from pytest_phase7.gates.base import GateRun, GateStatus
    from pytest_phase7.gates.cache import CachePolicy, fingerprint
    from pytest_phase7.manifest import load_manifest
    from pytest_phase7.model import BUILTIN_GATES
    from pytest_phase7.report.terminal import render_terminal
    from pytest_phase7.resolve.targets import RepoIndex, resolve_items
    from pytest_phase7.settings import Settings, TableSource, load_table
    from pytest_phase7.status.rules import decide

    modules = max(20, items // 5)
    project = plan_project(modules, items, seed=11)
    md_dir, toml_dir = workdir / f"md-{items}", workdir / f"toml-{items}"
    write_project(project, md_dir, stub=True, fmt="md")
    write_project(project, toml_dir, stub=True, fmt="toml")
    settings = Settings()
    out: dict[str, float] = {}

    out["load"], manifest = timed(
        lambda: load_manifest(md_dir / "PHASE7_EXECUTION_PLAN.md"), repeat
    )
    out["load toml"], _ = timed(lambda: load_manifest(toml_dir / "phase7.toml"), repeat)
    out["off: table check"], may = timed(lambda: TableSource(toml_dir).may_enable(), repeat)
    assert may is False, "the generated phase7.toml should not look like it enables phase7"
    out["off: load_table"], _ = timed(lambda: load_table(toml_dir), repeat)

    def resolve() -> tuple[Any, Any]:
        index = RepoIndex(md_dir)
        return index, resolve_items(manifest, md_dir, index=index)

    out["resolve"], (index, resolutions) = timed(resolve, repeat)
    gates = [
        FakeGate("coverage", "Coverage", needs_session=True),
        FakeGate("ruff", "Ruff", needs_session=False),
        FakeGate("mypy", "Mypy", needs_session=False),
        FakeGate("docstrings", "Docs", needs_session=False),
    ]

    def build() -> Any:
        return engine_mod.Engine(settings, manifest, resolutions, md_dir, gates)

    out["engine"], engine = timed(build, repeat)
    by_ref = synthetic_results(resolutions, BUILTIN_GATES)

    for index_of, gate in enumerate(gates):
        gate.prepared = GateRun(gate.name, {ref: row[index_of] for ref, row in by_ref.items()})

    # What the plugin does after the tests: collect the gates' runs, derive every item's
    # outcome, decide the verdict (Engine.finish, with gates that answer at once).
    out["status"], result = timed(lambda: engine.finish(None), repeat)
    outcomes = list(result.outcomes)
    out["decide incomplete"], _ = timed(lambda: decide(manifest, outcomes, "incomplete"), repeat)
    required = dataclasses.replace(
        manifest, batches=tuple(dataclasses.replace(b, required=True) for b in manifest.batches)
    )
    before = (previous or {}).get("decide incomplete, required")
    scale = items / (previous or {}).get("_items", items)
    if before is not None and before * scale**2 > BUDGET_SECONDS:
        out["decide incomplete, required"] = float("nan")  # quadratic: would take minutes
    else:
        out["decide incomplete, required"], _ = timed(
            lambda: decide(required, outcomes, "incomplete"), repeat
        )
    out["render"], lines = timed(lambda: render_terminal(result, 0), repeat)
    assert lines, "render_terminal returned nothing"

    def fingerprints() -> list[str]:
        from pytest_phase7.gates.base import GateRequest

        keys = []
        for name, policy in (
            ("ruff", CachePolicy(("ruff",))),
            ("mypy", CachePolicy(("mypy",), whole_project=True)),
            ("docstrings", CachePolicy(("interrogate",))),
        ):
            gate = next(g for g in gates if g.name == name)
            request = GateRequest(md_dir, tuple(engine._targets[name]), settings)
            keys.append(fingerprint(gate, policy, request, index.all_python_files()))
        return keys

    try:
        out["fingerprint"], _ = timed(fingerprints, repeat)
    except (TypeError, AttributeError) as exc:  # the cache API moved: report, do not crash
        print(f"fingerprint not measured: {exc}", file=sys.stderr)
        out["fingerprint"] = float("nan")
    out["total"] = sum(out[s] for s in STAGES)
    out["_items"] = float(items)
    errors = sum(1 for o in outcomes if o.status.name == "FAILED")
    assert all(r.status is not GateStatus.ERROR for row in by_ref.values() for r in row)
    resolved = sum(1 for r in resolutions if r.target is not None)
    print(
        f"{items:>7} items ({modules} modules, {resolved} resolved, {errors} FAILED): "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in out.items() if k != "_items"),
        flush=True,
    )
    return out


def table(results: dict[int, dict[str, float]]) -> str:
    """The Markdown table: ms per stage per size, and growth per 10x."""
    sizes = sorted(results)
    head = "| stage | " + " | ".join(f"{s:,} items ms" for s in sizes) + " | growth per 10x |"
    lines = [head, "|---|" + "---:|" * (len(sizes) + 1)]
    for stage in (*STAGES, "total", *EXTRA):
        cells = [
            "skipped" if math.isnan(results[s][stage]) else f"{results[s][stage] * 1000:.1f}"
            for s in sizes
        ]
        growth = []
        for small, big in itertools.pairwise(sizes):
            a, b = results[small][stage], results[big][stage]
            usable = a > 0 and not math.isnan(a) and not math.isnan(b)
            growth.append(f"{b / a * 10 * small / big:.1f}x" if usable else "-")
        name = f"**{stage}**" if stage == "total" else stage
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {' / '.join(growth)} |")
    return "\n".join(lines)


OFF_PATH_SNIPPET = """
import sys, time
import pytest  # already imported when pytest loads its plugins: not phase7's cost
started = time.perf_counter()
import pytest_phase7.plugin
plugin = time.perf_counter()
heavy = [m for m in ("pytest_phase7.session", "coverage") if m in sys.modules]
import pytest_phase7.session
print(plugin - started, time.perf_counter() - plugin, ",".join(heavy) or "-")
"""


def off_path(repeat: int) -> str:
    """What phase7 costs a pytest run that does not enable it: the imports, in fresh processes.

    ``plugin`` (with ``settings`` and ``errors``) is imported by pytest's entry point, and is all
    a run without phase7 imports: the hooks decide "off" with it alone. ``session`` (with
    ``engine``, ``gates``, ``resolve``, ``status``, ``model``) is timed for comparison: the
    ``pytest_load_initial_conftests`` hook imported it, and ``coverage``, also when phase7 was
    off (``tests/test_perf_plugin_off.py`` checks that a plain run no longer does).
    """
    plugin_s, session_s = [], []
    heavy = set()
    for _ in range(repeat * 2):
        out = subprocess.run(
            [sys.executable, "-c", OFF_PATH_SNIPPET],
            capture_output=True,
            text=True,
            check=True,
            env=child_env(),
        ).stdout.split()
        plugin_s.append(float(out[0]))
        session_s.append(float(out[1]))
        heavy.add(out[2])
    return (
        f"Plugin off (`pytest` without `--phase7`), fresh processes, median of {repeat * 2}: "
        f"importing `pytest_phase7.plugin` (with `settings`, `errors`) "
        f"{statistics.median(plugin_s) * 1000:.1f} ms, which imports "
        f"{'nothing else' if heavy == {'-'} else ', '.join(sorted(heavy))}; the hooks decide "
        "that phase7 is off with it alone, reading the phase7 table file once and parsing it "
        "only if its text could enable phase7 (`off: table check` above). For comparison, "
        f"`pytest_phase7.session`, which the off path imported before (with `coverage`), takes "
        f"{statistics.median(session_s) * 1000:.1f} ms more."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1000,10000,100000", help='"" measures only the plugin-off imports'
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="phase7-overhead-") as tmp:
        for items in sizes:
            repeat = args.repeat if items <= 10000 else 1
            previous = results[max(results)] if results else None
            results[items] = measure_size(items, repeat, Path(tmp), previous)
    off = off_path(args.repeat)
    print(off)
    if not args.no_write:
        update_section("overhead:off", off)
    if not sizes:
        return 0
    body = table(results)
    at_10k = results.get(10000, {}).get("total")
    verdict = ""
    if at_10k is not None:
        verdict = (
            f"\n\nTarget (load + resolve + engine + status + render <= 1 s at 10k items): "
            f"{at_10k:.2f} s, **{'met' if at_10k <= 1 else 'missed'}**. Growth per 10x is the "
            "time ratio for 10x the items (10.0x = linear); `skipped`: the 10x smaller size "
            f"scaled quadratically would exceed {BUDGET_SECONDS:.0f} s."
        )
    command = f"python benchmarks/overhead.py --sizes {args.sizes} --repeat {args.repeat}"
    section = (
        f"Command: `{command}` (median of {args.repeat} runs; 1 run above 10k items; "
        f"{time.strftime('%Y-%m-%d %H:%M')})\n\n{body}{verdict}"
    )
    print(section)
    if not args.no_write:
        update_machine()
        update_section("overhead", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
