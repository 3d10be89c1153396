"""Profile ``pytest --phase7`` cold (A) and warm (B) with py-spy and list the plugin's hotspots.

Usage::

    .venv/bin/python benchmarks/profile.py --size medium [--rate 250] [--reuse]

Runs each configuration once under ``py-spy record --threads --idle --format raw`` (sampling every
thread of the pytest process, waiting ones included, so samples are wall time), then aggregates
the collapsed stacks:

* per thread group (the main thread; phase7's ``phase7-gate`` threads), the wall time spent
  inside each of pytest-phase7's own functions (inclusive: callees count);
* the *deepest* pytest-phase7 frame of every main-thread sample (the plugin function responsible
  for that time, with the library function it was calling), which is what to optimise.

Writes the findings to ``benchmarks/RESULTS.md`` (section ``profile:<size>``) and keeps the raw
stacks next to the generated project (``<workdir>-profile/{A,B}.raw``; open them with
speedscope or flamegraph.pl).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from common import child_env, update_section
from run import SIZES, _clear, configs, gate_targets, prepare_project

_FRAME = re.compile(r"^(?P<func>.*) \((?P<path>.*?)(?::(?P<line>\d+))?\)$")
_WAITING = ("wait", "select", "poll", "_communicate", "communicate", "acquire", "sleep", "join")


@dataclass
class Profile:
    """Aggregated samples of one run."""

    rate: int
    threads: Counter[str] = field(default_factory=Counter)
    inclusive: dict[str, Counter[str]] = field(default_factory=dict)
    deepest: Counter[tuple[str, str]] = field(default_factory=Counter)

    def ms(self, samples: int) -> float:
        """Samples to milliseconds."""
        return samples * 1000.0 / self.rate


def frame_name(frame: str) -> str:
    """``func (path:line)`` -> ``path:func`` with the path shortened to the package."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["path"]
    for marker in ("pytest_phase7/", "site-packages/", "lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "pytest_phase7/":
                path = "pytest_phase7/" + path
            break
    return f"{path}:{match['func']}"


def group_of(label: str) -> str:
    """Thread label -> group: ``main``, ``gates`` or ``other``."""
    if "MainThread" in label:
        return "main"
    if "phase7" in label:
        return "gates"
    return "other"


def aggregate(raw: Path, rate: int) -> Profile:
    """Read py-spy's raw (collapsed) output."""
    profile = Profile(rate)
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = stack.split(";")
        group = group_of(frames[0])
        profile.threads[group] += samples
        names = [frame_name(f) for f in frames[1:]]
        seen: set[str] = set()
        bucket = profile.inclusive.setdefault(group, Counter())
        for name in names:
            if name.startswith("pytest_phase7/") and name not in seen:
                seen.add(name)
                bucket[name] += samples
        if group == "main":
            own = [i for i, n in enumerate(names) if n.startswith("pytest_phase7/")]
            if own:
                deepest = own[-1]
                callee = names[deepest + 1] if deepest + 1 < len(names) else "(self)"
                leaf = names[-1].rsplit(":", 1)[-1]
                if leaf in _WAITING or leaf.endswith(("wait", "_wait_for_tstate_lock")):
                    callee = f"waiting ({callee})"
                profile.deepest[(names[deepest], callee)] += samples
    return profile


def record(
    argv: Sequence[str], cwd: Path, out: Path, rate: int, env: dict[str, str] | None = None
) -> float:
    """Run ``argv`` under py-spy (in ``env``, default ``child_env()``); return its wall time."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    command = [spy, "record", "--threads", "--idle", "-r", str(rate), "-f", "raw", "-o", str(out)]
    started = time.perf_counter()
    subprocess.run(
        [*command, "--", *argv],
        cwd=cwd,
        env=env if env is not None else child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - started


def section(key: str, title: str, profile: Profile, wall: float, top: int) -> str:
    """Markdown for one profiled run."""
    lines = [
        f"#### {key}: {title} ({wall:.1f} s under py-spy)",
        "",
        "Samples per thread group (wall time): "
        + ", ".join(f"{g} {profile.ms(n) / 1000:.2f} s" for g, n in profile.threads.most_common()),
        "",
        "Deepest pytest-phase7 frame of main-thread samples (what the plugin was doing, and the "
        "library function it had called):",
        "",
        "| # | plugin function | calling | ms |",
        "|---:|---|---|---:|",
    ]
    for rank, ((func, callee), n) in enumerate(profile.deepest.most_common(top), 1):
        lines.append(f"| {rank} | `{func}` | `{callee}` | {profile.ms(n):.0f} |")
    for group in ("main", "gates"):
        counter = profile.inclusive.get(group)
        if not counter:
            continue
        lines += [
            "",
            f"Inclusive time in plugin functions, {group} thread(s):",
            "",
            "| plugin function | ms |",
            "|---|---:|",
        ]
        lines += [f"| `{f}` | {profile.ms(n):.0f} |" for f, n in counter.most_common(top)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="medium")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--reuse", action="store_true", help="reuse an existing project")
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--project", help="a real project (benchmarks/realrun.py's) instead")
    args = parser.parse_args(argv)
    if args.project:
        return profile_real(args)
    workdir = (args.workdir or Path(tempfile.gettempdir()) / "phase7-bench" / args.size).resolve()
    project = prepare_project(args.size, workdir, reuse=args.reuse, seed=7, work=4000)
    outdir = project.parent / f"{project.name}-profile"
    outdir.mkdir(exist_ok=True)
    all_configs = configs(project, gate_targets(project))
    parts = [
        f"Command: `python benchmarks/profile.py --size {args.size} --rate {args.rate}` "
        f"({time.strftime('%Y-%m-%d %H:%M')}); py-spy samples all threads, idle included, so "
        "times are wall time (inflated by sampling)."
    ]
    # Warm the bytecode caches first, as in run.py's warm-up.
    subprocess.run(
        all_configs["E0"].steps[0], cwd=project, env=child_env(), capture_output=True, check=False
    )
    for key in ("A", "B"):
        cfg = all_configs[key]
        _clear(project, cfg.clear)
        raw = outdir / f"{key}.raw"
        wall = record(cfg.steps[0], project, raw, args.rate)
        profile = aggregate(raw, args.rate)
        text = section(key, cfg.title, profile, wall, args.top)
        print(text + "\n")
        parts.append(text)
    if not args.no_write:
        update_section(f"profile:{args.size}", "\n\n".join(parts))
    return 0


def profile_real(args: argparse.Namespace) -> int:
    """A and B of a real project (a fresh checkout, its own venv), section ``profile:NAME``."""
    from realrun import ALL_CACHES, all_projects, clear, prepare  # noqa: I001 - first: it puts realprojects on the path
    from realprojects import venv_python

    known = all_projects()
    if args.project not in known:
        raise SystemExit(f"unknown project {args.project}; choose from {', '.join(known)}")
    workdir = Path(tempfile.gettempdir()) / "phase7-profile"
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    prepared = prepare(known[args.project], workdir, workdir / "logs")
    command = [str(venv_python(prepared.venv)), "-m", "pytest", "-q", "--phase7"]
    parts = [
        f"Command: `python benchmarks/profile.py --project {args.project} --rate {args.rate}` "
        f"({time.strftime('%Y-%m-%d %H:%M')}); py-spy samples all threads, idle included, so "
        "times are wall time (inflated by sampling)."
    ]
    for key, title, caches in (
        ("A", "pytest --phase7, cold", ALL_CACHES),
        ("B", "pytest --phase7, warm", (".coverage",)),
    ):
        clear(prepared.root, caches)
        raw = workdir / f"{args.project}-{key}.raw"
        wall = record(command, prepared.root, raw, args.rate, prepared.env)
        text = section(key, title, aggregate(raw, args.rate), wall, args.top)
        print(text + "\n")
        parts.append(text)
    if not args.no_write:
        update_section(f"profile:{args.project}", "\n\n".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
