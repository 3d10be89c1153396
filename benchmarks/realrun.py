"""``pytest --phase7`` against the tools it runs, on pinned real projects (issue 16).

Usage (from the repository root, with the project's venv)::

    PHASE7_ACCEPTANCE_CACHE=/work/cache/acceptance \\
    .venv/bin/python benchmarks/realrun.py --projects toolz,click,typeguard [--repeat 5] \\
        [--warmup 1] [--only E,M,C,A,B] [--tag NAME]

The projects are the acceptance tier's (``tests/acceptance/projects.toml``) and this folder's
``realprojects.toml``, named by their ``name``: pinned sdists downloaded on first use (sha256
checked), one venv per requirement set (this checkout installed from a wheel, the gated tools at the
versions this venv has), all through ``tests/acceptance/realprojects.py``. Each project is
unpacked into a fresh folder under ``--workdir`` with its plan; its bytecode is compiled and one
``pytest --phase7`` run (untimed) tells which files each gate checks.

Then, per repetition, every configuration runs once, in this order (alternating: a slow period
of the shared machine hits all of them), each command measured by ``measure.py`` (wall, CPU of
the whole process tree):

====  ==========================================================================================
E     ``pytest --cov --cov-report=``: the tests under coverage, measurement only
M     ``mypy T`` alone, cold (no ``.mypy_cache``), over the mypy gate's target files
C     the tools one by one: E, then ``ruff check --no-fix T``, ``mypy T``, ``interrogate -v T``
      (cold tool caches)
A     ``pytest --phase7`` cold: no ``.pytest_cache``, ``.mypy_cache``, ``.ruff_cache``,
      ``.coverage``
B     ``pytest --phase7`` warm: right after a phase7 run, nothing changed
====  ==========================================================================================

The targets of issue 16: **A <= 1.05 x max(E, M)** and **B / E <= 1.05**. Results go to
``benchmarks/results/real-<tag>.json`` and the section ``real:<tag>`` of ``RESULTS.md``; command
output to ``<workdir>/logs/``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from common import HERE, REPO, median, spread, update_machine, update_section
from measure import Measurement, run_measured

sys.path.insert(0, str(REPO / "tests" / "acceptance"))

import realprojects as rp

BENCH_PROJECTS = HERE / "realprojects.toml"
ORDER = ("E", "M", "C", "A", "B")
ALL_CACHES = (".pytest_cache", ".mypy_cache", ".ruff_cache", ".coverage")
TOOL_CACHES = (".mypy_cache", ".ruff_cache", ".coverage")
TITLES = {
    "E": "pytest --cov --cov-report=",
    "M": "mypy T (alone, cold)",
    "C": "E; ruff; mypy; interrogate (one by one, cold)",
    "A": "pytest --phase7, cold",
    "B": "pytest --phase7, warm",
}
#: Issue 16's limits: A / max(E, M) and B / E.
LIMIT = 1.05


def all_projects() -> dict[str, rp.Project]:
    """The acceptance tier's projects and this folder's, by name."""
    found = {p.name: p for p in rp.load_projects()}
    found.update({p.name: p for p in rp.load_projects(BENCH_PROJECTS)})
    return found


@dataclass
class Samples:
    """The measurements of one configuration of one project (one entry per repetition)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    returncodes: list[list[int]] = field(default_factory=list)

    def add(self, parts: Sequence[Measurement]) -> None:
        """Record one repetition: the sum of its commands."""
        self.wall.append(sum(p.wall for p in parts))
        self.cpu.append(sum(p.cpu for p in parts))
        self.returncodes.append([p.returncode for p in parts])


@dataclass(frozen=True)
class Prepared:
    """A project ready to be measured: its venv, checkout, environment and gate targets."""

    project: rp.Project
    venv: Path
    root: Path
    env: dict[str, str]
    targets: dict[str, tuple[str, ...]]  # gate -> target files

    def tool(self, name: str) -> str:
        """A console script of the project's venv."""
        return rp.venv_tool(self.venv, name)

    def commands(self) -> dict[str, tuple[list[list[str]], tuple[str, ...]]]:
        """Configuration -> (its commands, the caches cleared before it)."""
        py = str(rp.venv_python(self.venv))
        pytest = [py, "-m", "pytest", "-q"]
        e = [*pytest, "--cov", "--cov-report="]
        mypy = [self.tool("mypy"), "--", *self.targets["mypy"]]
        ruff = [self.tool("ruff"), "check", "--no-fix", "--", *self.targets["ruff"]]
        interrogate = [self.tool("interrogate"), "-v", *self.targets["docstrings"]]
        phase7 = [*pytest, "--phase7"]
        return {
            "E": ([e], (".coverage",)),
            "M": ([mypy], (".mypy_cache",)),
            "C": ([e, ruff, mypy, interrogate], TOOL_CACHES),
            "A": ([phase7], ALL_CACHES),
            "B": ([phase7], (".coverage",)),
        }


def measured_env(venv: Path, project: rp.Project, root: Path) -> dict[str, str]:
    """The project's run environment (``realprojects.run_env``), plain output.

    ``run_env`` drops every ``PYTHON*`` variable of ours, ``PYTHONDONTWRITEBYTECODE`` included:
    with it every run recompiles every module, which is not how developers run.
    """
    env = rp.run_env(venv, project, root)
    env.update({"PY_COLORS": "0", "NO_COLOR": "1", "COLUMNS": "100"})
    return env


def clear(root: Path, names: Sequence[str]) -> None:
    """Delete caches (folders or files) in the checkout."""
    for name in names:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def gate_targets(report: Mapping[str, object], root: Path) -> dict[str, tuple[str, ...]]:
    """Each gate's target files, from a ``--phase7-json`` report (the gates that applied)."""
    found: dict[str, set[str]] = {}
    for item in report["items"]:  # type: ignore[attr-defined]
        target = item.get("target") or {}
        if target.get("state") != "resolved":
            continue
        for result in item["results"]:
            if result["status"] == "SKIP" and result.get("reason") == "not applicable":
                continue
            found.setdefault(result["gate"], set()).update(rp.target_files(root, target["ref"]))
    return {gate: tuple(sorted(files)) for gate, files in found.items()}


def project_venv(project: rp.Project, checkout: Path | None = None) -> Path:
    """The project's venv with ``checkout`` (default: this one) of pytest-phase7 installed.

    Installed from a wheel, as users install it: an editable install would put the checkout's
    folder on ``sys.path``, and mypy's cache key covers the Python files of such folders.
    """
    if checkout is None:
        return rp.project_venv(project, editable=False)
    ours = rp.CHECKOUT
    rp.CHECKOUT = checkout.resolve()  # part of the venv's key
    try:
        return rp.project_venv(project, editable=False)
    finally:
        rp.CHECKOUT = ours


def prepare(
    project: rp.Project, workdir: Path, logdir: Path, checkout: Path | None = None, label: str = ""
) -> Prepared:
    """Download (once), build the venv (once), unpack a fresh checkout, find the targets.

    ``checkout`` is another checkout of pytest-phase7 to measure (``--baseline``), ``label``
    its name in folders and logs.
    """
    sdist = rp.fetch_sdist(project)
    venv = project_venv(project, checkout)
    dest = workdir / label / project.name if label else workdir / project.name
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    root = rp.make_checkout(project, sdist, dest)
    env = measured_env(venv, project, root)
    py = str(rp.venv_python(venv))
    log = logdir / f"{project.name}{label and '-' + label}-prep.log"
    # Bytecode (and pytest's rewritten test modules) as a developer's checkout has it.
    run_measured([py, "-m", "compileall", "-q", "."], root, env, log)
    report = dest / "phase7-report.json"
    done = run_measured(
        [py, "-m", "pytest", "-q", "--phase7", f"--phase7-json={report}"], root, env, log
    )
    if not report.is_file():
        raise SystemExit(
            f"{project.name}: pytest --phase7 wrote no report (exit {done.returncode})"
        )
    data = json.loads(report.read_text(encoding="utf-8"))
    targets = gate_targets(data, root)
    for gate in ("ruff", "mypy", "docstrings"):
        targets.setdefault(gate, ())
    return Prepared(project, venv, root, env, targets)


def run_project(
    variants: Mapping[str, Prepared], keys: Sequence[str], repeat: int, warmup: int, logdir: Path
) -> tuple[dict[str, dict[str, Samples]], list[float]]:
    """The configurations of one project, alternating (and alternating the checkouts measured).

    ``variants`` maps a row label to a prepared checkout; returns samples per label and the
    load averages at the start of each repetition.
    """
    samples = {label: {key: Samples() for key in keys} for label in variants}
    loads = []
    for rep in range(warmup + repeat):
        counted = rep >= warmup
        load = os.getloadavg()[0]
        loads.append(load)
        label = f"repetition {rep - warmup + 1}/{repeat}" if counted else f"warm-up {rep + 1}"
        print(f"-- {', '.join(variants)} {label} (load {load:.1f})", flush=True)
        for row, prepared in variants.items():
            commands = prepared.commands()
            for key in keys:
                steps, caches = commands[key]
                log = logdir / f"{row.replace(' ', '_')}-{key}.log"
                if key == "B" and not (prepared.root / ".pytest_cache" / "v" / "phase7").exists():
                    run_measured(commands["A"][0][0], prepared.root, prepared.env, log)
                clear(prepared.root, caches)
                parts = [run_measured(step, prepared.root, prepared.env, log) for step in steps]
                codes = ",".join(str(p.returncode) for p in parts)
                print(
                    f"   {row:24} {key} {sum(p.wall for p in parts):7.2f}s wall "
                    f"{sum(p.cpu for p in parts):7.2f}s CPU  exit {codes}",
                    flush=True,
                )
                if counted:
                    samples[row][key].add(parts)
    return samples, loads


def _median(samples: Mapping[str, Samples], key: str, metric: str) -> float | None:
    smp = samples.get(key)
    if smp is None or not smp.wall:
        return None
    return median(smp.cpu if metric == "cpu" else smp.wall)


def ratios(samples: Mapping[str, Samples], metric: str = "wall") -> dict[str, float]:
    """A / max(E, M), B / E and A / C on wall (or CPU) medians, where measured."""
    a, b, c, e, m = (_median(samples, k, metric) for k in ("A", "B", "C", "E", "M"))
    out = {}
    if a is not None and e is not None and m is not None:
        out["A / max(E, M)"] = a / max(e, m)
    if b is not None and e:
        out["B / E"] = b / e
    if a is not None and c:
        out["A / C"] = a / c
    return out


def _cell(samples: Mapping[str, Samples], key: str) -> str:
    smp = samples.get(key)
    if smp is None or not smp.wall:
        return "-"
    return f"{median(smp.wall):.2f} ({spread(smp.wall)}; CPU {median(smp.cpu):.2f})"


def _ratio_cell(wall: Mapping[str, float], cpu: Mapping[str, float], name: str) -> str:
    if name not in wall:
        return "-"
    mark = "" if name == "A / C" or wall[name] <= LIMIT else " **over**"
    return f"{wall[name]:.3f}{mark} (CPU {cpu[name]:.2f})"


def shown(argv: Sequence[str], prepared: Prepared) -> str:
    """A command as typed in the checkout: venv tools by name, target lists as ``T``."""
    words = [Path(a).name if a.startswith(str(prepared.venv)) else a for a in argv]
    if words[0].startswith("python"):
        words[0] = "python"
    own = {"mypy": "mypy", "ruff": "ruff", "interrogate": "docstrings"}.get(words[0], "")
    for gate, files in sorted(prepared.targets.items(), key=lambda kv: kv[0] != own):
        n = len(files)
        for start in range(len(words) - n + 1):
            if n and tuple(words[start : start + n]) == files:
                return " ".join([*words[:start], f"$T_{gate}", *words[start + n :]])
    return " ".join(words)


def report(
    results: Mapping[str, Mapping[str, Samples]],
    info: Mapping[str, Mapping[str, object]],
    command: str,
    when: str,
) -> str:
    """The Markdown section: one row per project, then the exact commands and targets."""
    lines = [
        f"Command: `{command}` ({when}; medians of wall seconds, min-max, and CPU seconds of the "
        "process tree; every configuration once per repetition, alternating)",
        "",
        "| project | E tests under coverage | M cold mypy alone | C tools one by one "
        "| A `pytest --phase7` cold | B warm | A / max(E, M) | B / E (warm ratio) | A / C "
        "| load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, samples in results.items():
        wall, cpu = ratios(samples), ratios(samples, "cpu")
        loads = info[name]["loads"]
        assert isinstance(loads, list)
        load = f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"
        cells = [_cell(samples, key) for key in ("E", "M", "C", "A", "B")]
        cells += [_ratio_cell(wall, cpu, r) for r in ("A / max(E, M)", "B / E", "A / C")]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {load} |")
    lines += ["", "<details><summary>Exact commands, in each project's checkout</summary>", ""]
    for name in results:
        meta = info[name]
        if name.endswith("@ baseline"):
            continue  # the same commands, in the baseline's own checkout and venv
        lines.append(f"- **{name}** {meta['version']} ({meta['what']}):")
        commands = meta["commands"]
        assert isinstance(commands, dict)
        for key, steps in commands.items():
            lines.append(f"  - {key}: " + "; ".join(f"`{s}`" for s in steps))
        targets = meta["targets"]
        assert isinstance(targets, dict)
        for gate, files in targets.items():
            lines.append(f"  - `T_{gate}` = {' '.join(files) or '(none)'}")
    lines += [
        "",
        "Environment: the project's venv first on `PATH`, its `import_paths` on `PYTHONPATH`, "
        "no `PYTHONDONTWRITEBYTECODE`; bytecode compiled before the first run.",
        "",
        "</details>",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", default="toolz,click,typeguard")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--only", help=f"configurations, comma-separated (of {','.join(ORDER)})")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "phase7-real")
    parser.add_argument("--tag", default="latest", help="results/real-TAG.json, section real:TAG")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument("--from-json", action="store_true", help="re-render a saved result")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout of pytest-phase7 (e.g. `git archive` of an older commit), "
        "measured alternately with this one in the same repetitions: rows 'NAME @ baseline'",
    )
    args = parser.parse_args(argv)
    saved = HERE / "results" / f"real-{args.tag}.json"
    keys = [k for k in ORDER if not args.only or k in args.only.split(",")]
    names = [n.strip() for n in args.projects.split(",") if n.strip()]
    known = all_projects()
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown project(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    if args.from_json:
        data = json.loads(saved.read_text(encoding="utf-8"))
        results = {n: {k: Samples(**v) for k, v in s.items()} for n, s in data["results"].items()}
        info, command, when = data["info"], data["command"], data["when"]
    else:
        workdir = args.workdir.resolve()
        logdir = workdir / "logs"
        shutil.rmtree(logdir, ignore_errors=True)
        logdir.mkdir(parents=True)
        results, info = {}, {}
        dump: dict[str, object] = {}
        for name in names:
            variants = {name: prepare(known[name], workdir, logdir)}
            if args.baseline is not None:
                variants[f"{name} @ baseline"] = prepare(
                    known[name], workdir, logdir, args.baseline, "baseline"
                )
            samples, loads = run_project(variants, keys, args.repeat, args.warmup, logdir)
            for row, prepared in variants.items():
                results[row] = samples[row]
                info[row] = {
                    "version": prepared.project.version,
                    "what": prepared.project.exercises[0],
                    "loads": loads,
                    "targets": prepared.targets,
                    "commands": {
                        k: [shown(step, prepared) for step in steps]
                        for k, (steps, _) in prepared.commands().items()
                        if k in keys
                    },
                }
            dump["results"] = {
                n: {k: asdict(v) for k, v in smp.items()} for n, smp in results.items()
            }
            dump["info"] = info
            saved.parent.mkdir(exist_ok=True)
            saved.write_text(json.dumps(dump, indent=1), encoding="utf-8")  # after each project
        when = time.strftime("%Y-%m-%d %H:%M")
        command = (
            f"python benchmarks/realrun.py --projects {','.join(names)} --repeat {args.repeat} "
            f"--warmup {args.warmup}"
            + (f" --only {','.join(keys)}" if args.only else "")
            + (f" --baseline {args.baseline}" if args.baseline else "")
            + f" --tag {args.tag}"
        )
        dump.update({"command": command, "when": when})
        saved.write_text(json.dumps(dump, indent=1), encoding="utf-8")
    section = report(results, info, command, when)
    print()
    print(section)
    if not args.no_write:
        update_machine()
        update_section(f"real:{args.tag}", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
