"""Benchmark ``pytest --phase7`` against running the tools by hand, side by side, as ratios.

Usage (from the repository root, with the project's venv)::

    .venv/bin/python benchmarks/run.py --size medium [--repeat 5] [--warmup 1] [--only A,B,E]
    .venv/bin/python benchmarks/run.py --projects toolz,idna,typeguard [--repeat 5] [--baseline DIR]

The second form measures real projects (pinned sdists, downloaded on first use) and is
``realrun.py``'s: see that module.

Generates the synthetic project (``benchmarks/generate.py``) into ``--workdir`` (default
``/tmp/phase7-bench/<size>``), then, for each repetition, runs every selected configuration once,
in order (A, B, C, ... then again: alternating spreads the noise of a shared machine over all of
them). Warm-up repetitions are not counted. Each configuration first puts the project into its
cache state (not timed), then each of its commands is measured (``benchmarks/measure.py``).

Configurations (all pytest runs get ``-p no:hypothesispytest`` and, except D, ``-p no:mypy
-p no:ruff``, so that plugins installed for other purposes do not load):

====  ==========================================================================================
A     ``pytest --phase7`` cold: no ``.pytest_cache``, ``.mypy_cache``, ``.ruff_cache``
B     ``pytest --phase7`` warm: nothing changed since the last phase7 run
C     by hand, one after the other: ``pytest --cov``; ``ruff check``; ``mypy``; ``interrogate -v``
      on the phase7 targets of each gate (cold tool caches)
D     ``pytest --cov --mypy --ruff tests <targets>`` (pytest-mypy, pytest-ruff), then
      ``interrogate -v`` (cold caches)
E     ``pytest --cov`` (its default terminal report analyses the whole ``source``)
E0    ``pytest --cov --cov-report=`` (measurement only: the strict floor)
Fr    ``ruff check`` alone (cold)
Fm    ``mypy`` alone (cold)
Fi    ``interrogate -v`` alone
Fc    phase7's coverage gate alone, over this session's data (``CoverageGate.run``, in a fresh
      process): the per-target figures
Fa    ``coverage json`` over the whole ``source`` (the figure Fc must beat)
G1    ``pytest`` with phase7 installed but not enabled
G0    ``pytest -p no:phase7``
H     ``pytest --phase7 --phase7-changed-since=HEAD`` warm, in a git repository with nothing
      changed: a pull request that touches no target (issue 7: phase7's work beyond the tests,
      H - E0, must be well under a second)
====  ==========================================================================================

Prints medians and ratios against the targets of issue 6 and writes them, with the machine and
the exact commands, to ``benchmarks/RESULTS.md`` (section ``run:<size>``) and all samples to
``benchmarks/results/<size>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from common import HERE, child_env, median, spread, update_machine, update_section
from generate import plan_project, write_project
from measure import Measurement, run_measured

if TYPE_CHECKING:
    from pytest_phase7.resolve.targets import Target

#: size -> (modules, items, default repeat, default warmup)
SIZES: dict[str, tuple[int, int, int, int]] = {
    "small": (20, 30, 5, 1),
    "medium": (200, 300, 5, 1),
    "large": (2000, 10000, 1, 0),
}
ORDER = ("A", "B", "C", "D", "E", "E0", "Fr", "Fm", "Fi", "Fc", "Fa", "G1", "G0", "H")
ALL_CACHES = (".pytest_cache", ".mypy_cache", ".ruff_cache", ".coverage")
TOOL_CACHES = (".mypy_cache", ".ruff_cache", ".coverage")
QUIET_PLUGINS = ("-p", "no:hypothesispytest")
OTHER_GATE_PLUGINS = ("-p", "no:mypy", "-p", "no:ruff")


@dataclass
class Config:
    """One configuration: how to prepare the project and which commands to time."""

    key: str
    title: str
    steps: list[list[str]]
    clear: tuple[str, ...] = ()
    needs: str = ""  # "phase7-cache" or "coverage-data": what must exist before it runs


@dataclass
class Samples:
    """All measurements of one configuration (one entry per counted repetition)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_tree_kb: list[int] = field(default_factory=list)
    rss_proc_kb: list[int] = field(default_factory=list)
    returncodes: list[list[int]] = field(default_factory=list)
    inner: list[float] = field(default_factory=list)
    rss_root_kb: list[int] = field(default_factory=list)

    def add(self, parts: Sequence[Measurement], inner: float | None) -> None:
        """Record one repetition (the sum of its steps; memory: the largest step)."""
        self.wall.append(sum(p.wall for p in parts))
        self.cpu.append(sum(p.cpu for p in parts))
        self.rss_tree_kb.append(max(p.rss_tree_kb for p in parts))
        self.rss_proc_kb.append(max(p.rss_proc_kb for p in parts))
        self.rss_root_kb.append(max(p.rss_root_kb for p in parts))
        self.returncodes.append([p.returncode for p in parts])
        if inner is not None:
            self.inner.append(inner)


@dataclass(frozen=True)
class Targets:
    """The files each gate checks, as phase7 resolves the manifest."""

    coverage: tuple[str, ...]
    ruff: tuple[str, ...]
    mypy: tuple[str, ...]
    docstrings: tuple[str, ...]


def resolved_targets(project: Path) -> dict[str, dict[str, Target]]:
    """Resolve the project's manifest with phase7 itself: gate -> target ref -> target."""
    from pytest_phase7.engine import applicable_gates
    from pytest_phase7.manifest import load_manifest
    from pytest_phase7.model import BUILTIN_GATES
    from pytest_phase7.resolve.targets import resolve_items

    plan = project / "PHASE7_EXECUTION_PLAN.md"
    if not plan.exists():
        plan = project / "phase7.toml"
    manifest = load_manifest(plan)
    batches = {b.number: b.gates for b in manifest.batches}
    found: dict[str, dict[str, Target]] = {g: {} for g in BUILTIN_GATES}
    for resolution in resolve_items(manifest, project):
        if resolution.target is None:
            continue
        for gate in applicable_gates(
            resolution.item, batches.get(resolution.item.batch), BUILTIN_GATES
        ):
            found[gate][resolution.target.ref] = resolution.target
    return found


def gate_targets(project: Path) -> Targets:
    """The files each gate checks."""
    found = resolved_targets(project)

    def files(gate: str) -> tuple[str, ...]:
        return tuple(sorted({f for t in found[gate].values() for f in t.files}))

    return Targets(files("coverage"), files("ruff"), files("mypy"), files("docstrings"))


def configs(project: Path, targets: Targets) -> dict[str, Config]:
    """Every configuration, with absolute tool paths (the venv running this script)."""
    py = sys.executable
    bindir = Path(py).parent
    pytest = [py, "-m", "pytest", "-q", *QUIET_PLUGINS]
    plain = [*pytest, *OTHER_GATE_PLUGINS]
    ruff = [str(bindir / "ruff"), "check", "--no-fix", *targets.ruff]
    mypy = [str(bindir / "mypy"), *targets.mypy]
    interrogate = [str(bindir / "interrogate"), "-v", *targets.docstrings]
    static = sorted(set(targets.ruff) | set(targets.mypy))
    helper = [py, str(HERE / "run.py"), "--coverage-cost", "--workdir", str(project)]
    return {
        "A": Config("A", "pytest --phase7, cold", [[*plain, "--phase7"]], ALL_CACHES),
        "B": Config(
            "B",
            "pytest --phase7, warm",
            [[*plain, "--phase7"]],
            (".coverage",),
            needs="phase7-cache",
        ),
        "C": Config(
            "C",
            "pytest --cov; ruff; mypy; interrogate",
            [[*plain, "--cov"], ruff, mypy, interrogate],
            TOOL_CACHES,
        ),
        "D": Config(
            "D",
            "pytest --cov --mypy --ruff; interrogate",
            [[*pytest, "--cov", "--mypy", "--ruff", "tests", *static], interrogate],
            (*TOOL_CACHES, ".pytest_cache/v/ruff"),
        ),
        "E": Config("E", "pytest --cov", [[*plain, "--cov"]], (".coverage",)),
        "E0": Config(
            "E0", "pytest --cov --cov-report=", [[*plain, "--cov", "--cov-report="]], (".coverage",)
        ),
        "Fr": Config("Fr", "ruff check (alone)", [ruff], (".ruff_cache",)),
        "Fm": Config("Fm", "mypy (alone)", [mypy], (".mypy_cache",)),
        "Fi": Config("Fi", "interrogate -v (alone)", [interrogate]),
        "Fc": Config("Fc", "phase7 coverage gate (alone)", [helper], needs="coverage-data"),
        "Fa": Config(
            "Fa",
            "coverage json, whole source",
            [[py, "-m", "coverage", "json", "-q", "-o", "cov-all.json"]],
            needs="coverage-data",
        ),
        "G1": Config("G1", "pytest, phase7 installed, off", [plain]),
        "G0": Config("G0", "pytest -p no:phase7", [[*plain, "-p", "no:phase7"]]),
        "H": Config(
            "H",
            "pytest --phase7 --phase7-changed-since=HEAD, warm (a PR touching no target)",
            [[*plain, "--phase7", "--phase7-changed-since=HEAD"]],
            (".coverage",),
            needs="phase7-cache+git",
        ),
    }


def _clear(project: Path, names: Sequence[str]) -> None:
    for name in names:
        path = project / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _prepare(cfg: Config, project: Path, all_configs: dict[str, Config], log: Path) -> None:
    """Put the project into the configuration's cache state (not timed)."""
    env = child_env()
    if cfg.needs.endswith("+git") and not (project / ".git").exists():
        _git_commit_all(project, log)
    if cfg.needs.startswith("phase7-cache") and not (project / ".pytest_cache/v/phase7").exists():
        run_measured(all_configs["A"].steps[0], project, env, log)
    if cfg.needs == "coverage-data" and not (project / ".coverage").exists():
        run_measured(all_configs["E0"].steps[0], project, env, log)
    _clear(project, cfg.clear)


def _git_commit_all(project: Path, log: Path) -> None:
    """Make the project a git repository with everything committed (for changed-only runs)."""
    (project / ".gitignore").write_text("\n".join([*ALL_CACHES, "cov-all.json", ""]))
    who = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    with log.open("a") as out:
        for argv in (
            ["git", "init", "-q"],
            ["git", "add", "-A"],
            ["git", *who, "commit", "-qm", "x"],
        ):
            subprocess.run(argv, cwd=project, check=True, stdout=out, stderr=out)


def _inner_seconds(log: Path) -> float | None:
    """The ``inner=SECONDS`` line the coverage-cost helper prints last, if any."""
    lines = log.read_text(errors="replace").strip().splitlines()
    for line in reversed(lines[-5:]):
        if line.startswith("inner="):
            return float(line.split("=", 1)[1])
    return None


def _check_phase7_log(log: Path, key: str) -> list[str]:
    """Problems in a phase7 run's output: no verdict line, or gates that could not measure."""
    text = log.read_text(errors="replace")
    last_run = text[text.rfind("\n$ ") :]
    problems = []
    if "phase7:" not in last_run:
        problems.append(f"{key}: no phase7 verdict in the output (see {log})")
    errors = [line for line in last_run.splitlines() if line.startswith("ERROR ")]
    if errors:
        problems.append(f"{key}: gate ERRORs: {errors[0]}")
    return problems


def run_benchmark(
    project: Path, keys: Sequence[str], repeat: int, warmup: int, logdir: Path
) -> tuple[dict[str, Samples], list[str]]:
    """Run the selected configurations, alternating, and collect their samples."""
    targets = gate_targets(project)
    all_configs = configs(project, targets)
    samples = {key: Samples() for key in keys}
    problems: list[str] = []
    loads: list[float] = []
    env = child_env()
    # Bytecode (and pytest's rewritten test modules) as a developer's checkout has it: not timed.
    py = sys.executable
    run_measured([py, "-m", "compileall", "-q", "src", "tests"], project, env, logdir / "prep.log")
    run_measured(
        [py, "-m", "pytest", "-q", "--co", *QUIET_PLUGINS], project, env, logdir / "prep.log"
    )
    for rep in range(warmup + repeat):
        counted = rep >= warmup
        label = f"repetition {rep - warmup + 1}/{repeat}" if counted else f"warm-up {rep + 1}"
        load = os.getloadavg()[0]
        loads.append(load)
        print(f"-- {label} (load average {load:.1f} on {os.cpu_count()} CPUs)", flush=True)
        for key in keys:
            cfg = all_configs[key]
            log = logdir / f"{key}.log"
            _prepare(cfg, project, all_configs, log)
            parts = [run_measured(step, project, env, log) for step in cfg.steps]
            total = sum(p.wall for p in parts)
            codes = ",".join(str(p.returncode) for p in parts)
            print(f"   {key:3} {total:7.2f}s  exit {codes}", flush=True)
            if key in ("A", "B", "H"):
                problems += _check_phase7_log(log, key)
            if counted:
                samples[key].add(parts, _inner_seconds(log) if key == "Fc" else None)
    if loads:
        problems.append(
            f"1-minute load average at the start of each repetition: "
            f"{', '.join(f'{x:.1f}' for x in loads)} (on {os.cpu_count()} CPUs; other jobs share "
            "the machine)"
        )
    return samples, sorted(set(problems))


# --------------------------------------------------------------------------------------------
# Ratios against the targets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One target: the ratio measured, the limit, and whether it is met."""

    name: str
    value: float
    limit: float
    met: bool
    detail: str


def checks(s: dict[str, Samples], metric: str = "wall") -> list[Check]:
    """The issue's targets, evaluated on the medians of wall (or CPU) time that were measured."""

    def wall(key: str) -> float | None:
        if key not in s or not s[key].wall:
            return None
        return median(s[key].cpu if metric == "cpu" else s[key].wall)

    def rss(key: str, attr: str) -> float | None:
        return median(getattr(s[key], attr)) if key in s and s[key].wall else None

    out: list[Check] = []

    def add(
        name: str,
        num: float | None,
        den: float | None,
        limit: float,
        detail: str,
        compare: Callable[[float, float], bool] = lambda v, lim: v <= lim,
    ) -> None:
        if num is None or den is None or den == 0:
            return
        value = num / den
        out.append(Check(name, value, limit, compare(value, limit), detail))

    a, b, c, e, e0 = wall("A"), wall("B"), wall("C"), wall("E"), wall("E0")
    fr, fm, fi, fc = wall("Fr"), wall("Fm"), wall("Fi"), wall("Fc")
    if None not in (a, e, fr, fm, fi):
        f_max = max(e or 0, fr or 0, fm or 0, fi or 0)
        add(
            "A / max(F)  [F tests = E: pytest --cov]",
            a,
            f_max,
            1.10,
            f"A {a:.2f}s, max(E {e:.2f}, ruff {fr:.2f}, mypy {fm:.2f}, interrogate {fi:.2f})",
        )
    if None not in (a, e0, fr, fm, fi):
        f0 = max(e0 or 0, fr or 0, fm or 0, fi or 0)
        add(
            "A / max(F0) [F tests = E0: measurement only]",
            a,
            f0,
            1.10,
            f"A {a:.2f}s, max(E0 {e0:.2f}, ruff {fr:.2f}, mypy {fm:.2f}, interrogate {fi:.2f})",
        )
    if None not in (a, c):
        add("A / C  (A < C always)", a, c, 1.0, f"A {a:.2f}s, C {c:.2f}s", lambda v, lim: v < lim)
        cond = f"cold mypy / test run under coverage = {fm / e0:.2f}" if fm and e0 else ""
        add("A / C  (<= 0.7 when mypy >= 0.5 x tests)", a, c, 0.7, cond)
    if fc is not None and wall("Fa") is not None:
        inner = median(s["Fc"].inner) if s["Fc"].inner else None
        add(
            "per-target coverage (Fc) / coverage json whole source (Fa)",
            fc,
            wall("Fa"),
            1.0,
            f"Fc {fc:.2f}s (gate itself {inner or 0:.2f}s), Fa {wall('Fa'):.2f}s",
            lambda v, lim: v < lim,
        )
    if None not in (b, e):
        add("B / E   [E: pytest --cov]", b, e, 1.10, f"B {b:.2f}s, E {e:.2f}s")
    if None not in (b, e0):
        add("B / E0  [E0: pytest --cov --cov-report=]", b, e0, 1.10, f"B {b:.2f}s, E0 {e0:.2f}s")
    for base in ("E", "E0"):
        if "A" not in s or base not in s:
            continue
        for attr, what in (
            ("rss_tree_kb", "process tree"),
            ("rss_proc_kb", "largest process"),
            ("rss_root_kb", "pytest process alone"),
        ):
            ra, rb = rss("A", attr), rss(base, attr)
            add(
                f"peak RSS A / {base} ({what})",
                ra,
                rb,
                1.2,
                f"A {(ra or 0) / 1024:.0f} MiB, {base} {(rb or 0) / 1024:.0f} MiB",
            )
    g1, g0 = wall("G1"), wall("G0")
    if None not in (g1, g0):
        noise = (max(s["G0"].wall) - min(s["G0"].wall)) / (g0 or 1)
        add(
            "G1 / G0 (phase7 installed, off / not loaded)",
            g1,
            g0,
            1.0 + max(noise, 0.02),
            f"G1 {g1:.3f}s, G0 {g0:.3f}s; G0's own spread {noise:.1%} (the limit)",
        )
    h = wall("H")
    if None not in (h, e0):
        # Issue 7: "a PR that touches no target finishes its phase7 work in well under a second
        # beyond the tests": an absolute budget, so a difference rather than a ratio.
        extra = (h or 0) - (e0 or 0)
        out.append(
            Check(
                "H - E0 (changed-only run, no target touched: seconds beyond the tests)",
                extra,
                1.0,
                extra < 1.0,
                f"H {h:.2f}s, E0 {e0:.2f}s",
            )
        )
    if None not in (a, wall("D")):
        add(
            "A / D (informative)",
            a,
            wall("D"),
            1.0,
            f"A {a:.2f}s, D {wall('D'):.2f}s",
            lambda v, lim: v < lim,
        )
    return out


def report(
    size: str,
    project: Path,
    samples: dict[str, Samples],
    all_configs: dict[str, Config],
    repeat: int,
    warmup: int,
    problems: Sequence[str],
    command: str,
    when: str,
) -> str:
    """The Markdown section for one size."""
    lines = [
        f"### {size} ({_project_line(project)})",
        "",
        f"Command: `{command}` ({repeat} repetitions after {warmup} warm-up, alternating; "
        f"medians; {when})",
        "",
        "| | configuration | wall s (median) | wall min-max | CPU s | peak RSS tree MiB "
        "| largest process MiB | command's own process MiB | exit |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, smp in samples.items():
        if not smp.wall:
            continue
        codes = sorted({",".join(map(str, c)) for c in smp.returncodes})
        lines.append(
            f"| {key} | {all_configs[key].title} | {median(smp.wall):.2f} | {spread(smp.wall)} "
            f"| {median(smp.cpu):.2f} | {median(smp.rss_tree_kb) / 1024:.0f} "
            f"| {median(smp.rss_proc_kb) / 1024:.0f} "
            f"| {_mib(smp.rss_root_kb)} | {' / '.join(codes)} |"
        )
    lines += [
        "",
        "| target | ratio (wall) | limit | met | same ratio on CPU time | measured (wall) |",
        "|---|---:|---:|---|---:|---|",
    ]
    on_cpu = {c.name: c for c in checks(samples, "cpu")}
    for check in checks(samples):
        mark = "met" if check.met else "**missed**"
        cpu = on_cpu.get(check.name)
        cpu_text = f"{cpu.value:.2f}" if cpu and "RSS" not in check.name else "-"
        lines.append(
            f"| {check.name} | {check.value:.2f} | {check.limit:.2f} | {mark} | {cpu_text} "
            f"| {check.detail} |"
        )
    if problems:
        lines += ["", "Notes from the runs:", "", *(f"- {p}" for p in problems)]
    lines += [
        "",
        "<details><summary>Exact commands (run in the project folder; <code>targets-GATE.txt"
        "</code> are written by run.py: each gate's files as phase7 resolves them)</summary>",
        "",
    ]
    lists = _target_lists(project)
    for key in samples:
        for step in all_configs[key].steps:
            lines.append(f"- {key}: `{_shown(step, project, lists)}`")
    lines += ["", "</details>"]
    return "\n".join(lines)


def _mib(values: Sequence[int]) -> str:
    return f"{median(values) / 1024:.0f}" if values and max(values) else "-"


def _target_lists(project: Path) -> dict[str, list[str]]:
    """Write each gate's target files to ``targets-GATE.txt``; return the lists."""
    targets = gate_targets(project)
    lists = {}
    for gate in ("coverage", "ruff", "mypy", "docstrings"):
        files = list(getattr(targets, gate))
        (project / f"targets-{gate}.txt").write_text("\n".join(files) + "\n")
        lists[gate] = files
    lists["ruff+mypy"] = sorted(set(lists["ruff"]) | set(lists["mypy"]))
    (project / "targets-ruff+mypy.txt").write_text("\n".join(lists["ruff+mypy"]) + "\n")
    return lists


def _shown(step: Sequence[str], project: Path, lists: dict[str, list[str]]) -> str:
    """A command as a shell line: tool paths shortened, target lists as ``$(cat targets-X.txt)``."""
    args = [_short(arg, project) for arg in step]
    tool = {"ruff": "ruff", "mypy": "mypy", "interrogate": "docstrings"}.get(args[0], "ruff+mypy")

    def order(kv: tuple[str, list[str]]) -> tuple[int, int]:
        return (-len(kv[1]), kv[0] != tool)

    for name, files in sorted(lists.items(), key=order):
        n = len(files)
        for start in range(len(step) - n + 1):
            if n and list(step[start : start + n]) == files:
                return " ".join([*args[:start], f"$(cat targets-{name}.txt)", *args[start + n :]])
    return " ".join(args)


def _short(arg: str, project: Path) -> str:
    exe = Path(sys.executable)
    if arg == str(exe):
        return "python"
    if arg.startswith(str(exe.parent) + "/"):
        return Path(arg).name
    if arg.startswith(str(HERE)):
        return "benchmarks/" + arg[len(str(HERE)) + 1 :]
    if arg == str(project):
        return "."
    return arg


def _project_line(project: Path) -> str:
    info = project / "generated.json"
    if not info.exists():
        return ""
    data = json.loads(info.read_text())
    return (
        f"{data['modules']} modules, {data['tested']} with tests, {data['items']} items, "
        f"{data['lines']} source lines, {data['targets']} target files"
    )


# --------------------------------------------------------------------------------------------
# The coverage-cost helper (Fc) and the command line
# --------------------------------------------------------------------------------------------


def coverage_cost(project: Path) -> int:
    """Run phase7's coverage gate alone over the project's ``.coverage``; print its time."""
    import coverage

    from pytest_phase7.gates.base import GateRequest, SessionData
    from pytest_phase7.gates.coverage import CoverageGate
    from pytest_phase7.settings import Settings

    os.chdir(project)
    targets = resolved_targets(project)["coverage"]
    cov = coverage.Coverage()
    cov.load()
    started = time.perf_counter()
    request = GateRequest(project, tuple(targets.values()), Settings(), SessionData(cov))
    run = CoverageGate().run(request)
    inner = time.perf_counter() - started
    errors = sum(1 for r in run.results.values() if r.status.value == "ERROR")
    print(f"coverage gate: {len(run.results)} targets, {errors} ERROR")
    print(f"inner={inner:.4f}")
    return 0


def prepare_project(size: str, workdir: Path, *, reuse: bool, seed: int, work: int) -> Path:
    """Generate the project for a size (unless ``reuse`` and it exists)."""
    modules, items, _, _ = SIZES[size]
    if reuse and (workdir / "generated.json").exists():
        return workdir
    project = plan_project(modules, items, seed=seed, work=work)
    write_project(project, workdir)
    lines = sum(len(p.read_text().splitlines()) for p in (workdir / "src").rglob("*.py"))
    info = {
        "modules": modules,
        "items": items,
        "tested": sum(m.tested for m in project.modules),
        "lines": lines,
        "targets": len((workdir / "targets.txt").read_text().split()),
        "seed": seed,
        "work": work,
    }
    (workdir / "generated.json").write_text(json.dumps(info, indent=2))
    return workdir


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--repeat", type=int, help="counted repetitions (default per size)")
    parser.add_argument("--warmup", type=int, help="uncounted repetitions (default per size)")
    parser.add_argument("--only", help="comma-separated configurations, e.g. A,B,E")
    parser.add_argument("--workdir", type=Path, help="project folder (default /tmp/...)")
    parser.add_argument("--reuse", action="store_true", help="reuse an existing project")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=int, default=4000, help="crunch() steps per test module")
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument(
        "--tag", help="name of the results (results/TAG.json, section run:TAG; default: size)"
    )
    parser.add_argument(
        "--from-json", action="store_true", help="re-render results/<size>.json, run nothing"
    )
    parser.add_argument("--coverage-cost", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--projects",
        help="real projects instead of a generated one (comma-separated names of realrun.py): "
        "E, M, C, A, B and the ratios per project, run by realrun.py with these options and its "
        "own (--baseline)",
    )
    args, rest = parser.parse_known_args(argv)
    if args.projects is not None:
        from realrun import main as real_projects

        return real_projects(list(sys.argv[1:] if argv is None else argv))
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.coverage_cost:
        return coverage_cost(args.workdir.resolve())
    _, _, default_repeat, default_warmup = SIZES[args.size]
    repeat = args.repeat if args.repeat is not None else default_repeat
    warmup = args.warmup if args.warmup is not None else default_warmup
    keys = [k.strip() for k in args.only.split(",")] if args.only else list(ORDER)
    unknown = [k for k in keys if k not in ORDER]
    if unknown:
        parser.error(f"unknown configuration(s) {', '.join(unknown)}; choose from {ORDER}")
    keys = [k for k in ORDER if k in keys]
    workdir = (args.workdir or Path(tempfile.gettempdir()) / "phase7-bench" / args.size).resolve()
    project = prepare_project(
        args.size, workdir, reuse=args.reuse or args.from_json, seed=args.seed, work=args.work
    )
    print(f"project: {project} ({_project_line(project)})")
    logdir = project.parent / f"{project.name}-logs"
    tag = args.tag or args.size
    results = HERE / "results" / f"{tag}.json"
    if args.from_json:
        saved = json.loads(results.read_text())
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(results.stat().st_mtime))
        meta = saved.pop("_meta", {"repeat": repeat, "warmup": warmup, "problems": []})
        when = meta.get("when", stamp)
        samples = {k: Samples(**v) for k, v in saved.items()}
        repeat, warmup, problems = meta["repeat"], meta["warmup"], meta["problems"]
        keys = list(samples)
    else:
        shutil.rmtree(logdir, ignore_errors=True)
        logdir.mkdir(parents=True)
        samples, problems = run_benchmark(project, keys, repeat, warmup, logdir)
        when = time.strftime("%Y-%m-%d %H:%M")
    all_configs = configs(project, gate_targets(project))
    shown = [
        "python benchmarks/run.py",
        f"--size {args.size}",
        f"--repeat {repeat}",
        f"--warmup {warmup}",
    ]
    if args.only or keys != list(ORDER):
        shown.append(f"--only {','.join(keys)}")
    if args.tag:
        shown.append(f"--tag {args.tag}")
    section = report(
        tag, project, samples, all_configs, repeat, warmup, problems, " ".join(shown), when
    )
    print()
    print(section)
    print(f"\nlogs: {logdir}")
    if not args.no_write:
        if not args.from_json:
            results.parent.mkdir(exist_ok=True)
            dump: dict[str, object] = {k: asdict(v) for k, v in samples.items()}
            dump["_meta"] = {
                "repeat": repeat,
                "warmup": warmup,
                "problems": problems,
                "when": when,
            }
            results.write_text(json.dumps(dump, indent=1))
        update_machine()
        update_section(f"run:{tag}", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
