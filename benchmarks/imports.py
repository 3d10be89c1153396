"""What a warm run's imports cost: phase7's modules, and the dataclasses they build.

Usage (a real project of ``realrun.py``, checked out fresh, or a generated one)::

    .venv/bin/python benchmarks/imports.py --project idna [--repeat 5]
    .venv/bin/python benchmarks/imports.py --workdir /tmp/phase7-bench/medium

Runs warm ``pytest --phase7`` and ``pytest --cov --cov-report=`` (E0) alternately, each with
``PYTHONPROFILEIMPORTTIME=1`` (Python's own per-module import times, "self" microseconds) and
a probe loaded with ``-p`` (it loads before any installed plugin, hence before phase7) that
times every ``@dataclass`` class Python builds, by the module defining it. It prints, as
medians: phase7's modules imported and their import time, the same for everything else the
phase7 run imports beyond E0's, and the dataclasses built (phase7's and the rest). Python
builds a dataclass's methods from source text at every import (``exec``, not the ``.pyc``),
so a frozen dataclass costs about as much as a small module. Import times under
``-X importtime`` include its own overhead: compare the two commands, not absolute figures.
Nothing is written to RESULTS.md; the numbers quoted there say which command produced them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

from segments import _target

PROBE = """
import atexit, dataclasses, json, os, time

_build = dataclasses._process_class
BUILT = []


def _timed(cls, *args, **kwargs):
    started = time.perf_counter()
    try:
        return _build(cls, *args, **kwargs)
    finally:
        BUILT.append((cls.__module__, cls.__qualname__, time.perf_counter() - started))


dataclasses._process_class = _timed


@atexit.register
def _write():
    with open(os.environ["PHASE7_IMPORTS_OUT"], "w", encoding="utf-8") as out:
        json.dump(BUILT, out)
"""

IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)")
OWN = "pytest_phase7"


def _imports(stderr: str) -> dict[str, int]:
    """Module -> self microseconds, from ``-X importtime`` output."""
    found: dict[str, int] = {}
    for line in stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            found[match.group(2)] = int(match.group(1))
    return found


def main(argv: list[str] | None = None) -> int:
    """Run both commands alternately and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, help="a generated project")
    parser.add_argument("--project", help="a real project (benchmarks/realrun.py's)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command")
    args = parser.parse_args(argv)
    root, pytest_cmd, env, plain = _target(args)
    commands = {"phase7": ["--phase7"], "E0": ["--cov", "--cov-report="]}
    samples: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in commands}
    top: dict[str, list[int]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as probe_dir:
        (Path(probe_dir) / "phase7_imports_probe.py").write_text(PROBE, encoding="utf-8")
        env = dict(env)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as users run: bytecode (and pytest's) cached
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [probe_dir, env.get("PYTHONPATH")]))
        out = Path(probe_dir) / "built.json"
        env["PHASE7_IMPORTS_OUT"] = str(out)
        warm = [*pytest_cmd, *plain, *commands["phase7"]]
        for _ in range(2):  # the cache, and every .pyc (pytest's rewritten ones too)
            subprocess.run(warm, cwd=root, env=env, capture_output=True, check=False)
        run_env = {**env, "PYTHONPROFILEIMPORTTIME": "1"}
        for _ in range(args.repeat):
            for name, extra in commands.items():
                argv_ = [*pytest_cmd, *plain, "-p", "phase7_imports_probe", *extra]
                out.unlink(missing_ok=True)  # a run that writes none must not reuse the last one's
                done = subprocess.run(
                    argv_, cwd=root, env=run_env, capture_output=True, text=True, check=False
                )
                if not out.is_file():
                    raise SystemExit(f"{name}: the probe wrote nothing (exit {done.returncode})")
                modules = _imports(done.stderr)
                built = json.loads(out.read_text(encoding="utf-8"))
                own = {m: us for m, us in modules.items() if m.split(".")[0] == OWN}
                record = samples[name]
                record["own modules"].append(len(own))
                record["own import ms"].append(sum(own.values()) / 1000)
                record["other modules"].append(len(modules) - len(own))
                record["other import ms"].append((sum(modules.values()) - sum(own.values())) / 1000)
                ours = [b for b in built if b[0].split(".")[0] == OWN]
                record["own dataclasses"].append(len(ours))
                record["own dataclass ms"].append(sum(b[2] for b in ours) * 1000)
                others = [b for b in built if b[0].split(".")[0] != OWN]
                record["other dataclasses"].append(len(others))
                record["other dataclass ms"].append(sum(b[2] for b in others) * 1000)
                if name == "phase7":
                    for module, us in own.items():
                        top[module].append(us)
    print(f"{root}: warm pytest --phase7 against pytest --cov --cov-report= (E0)")
    print(f"{args.repeat} alternating runs each, medians; bytecode cached, as users run\n")
    print("| | phase7 run | E0 | difference |\n|---|---:|---:|---:|")
    for key in samples["phase7"]:
        ours, base = (statistics.median(samples[n][key]) for n in ("phase7", "E0"))
        print(f"| {key} | {ours:.1f} | {base:.1f} | {ours - base:+.1f} |")
    print("\nphase7's slowest modules to import (self ms, median):\n")
    ranked = sorted(top.items(), key=lambda item: -statistics.median(item[1]))
    for module, values in ranked[:12]:
        print(f"- {module}: {statistics.median(values) / 1000:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
