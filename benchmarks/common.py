"""Shared helpers of the benchmark scripts: machine description, RESULTS.md sections, stats."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
REPO = HERE.parent

#: Distributions whose versions the results depend on.
TOOLS = (
    "pytest-phase7",
    "pytest",
    "pytest-cov",
    "coverage",
    "ruff",
    "mypy",
    "interrogate",
    "pytest-mypy",
    "pytest-ruff",
    "pytest-xdist",
    "py-spy",
    "pyinstrument",
)

SKELETON = """# pytest-phase7 benchmark results

Produced by the scripts in `benchmarks/` (see `benchmarks/README.md`); the sections between
`BEGIN`/`END` markers are rewritten by them, the rest is written by hand.

<!-- BEGIN machine -->
<!-- END machine -->
"""


def version(dist: str) -> str:
    """The installed version of a distribution, or ``-``."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def _shell(argv: Sequence[str]) -> str:
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, check=False, timeout=30
        ).stdout.rstrip()
    except (OSError, subprocess.SubprocessError):
        return "(unavailable)"


def machine_markdown() -> str:
    """The machine and tool versions, as a Markdown block."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    revision = _shell(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = _shell(["git", "-C", str(REPO), "status", "--porcelain", "--", "pytest_phase7"])
    lines = [
        f"- `nproc`: {_shell(['nproc'])} ({cpu}), {platform.system()} {platform.release()}",
        f"- `python -V`: {_shell([sys.executable, '-V'])} ({sys.executable})",
        f"- pytest-phase7 at git {revision}{' + uncommitted changes' if dirty else ''}",
        "- tools: " + ", ".join(f"{d} {version(d)}" for d in TOOLS),
        "",
        "`free -h`:",
        "",
        "```",
        _shell(["free", "-h"]),
        "```",
    ]
    return "\n".join(lines)


def update_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace the text between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` (or append)."""
    text = path.read_text(encoding="utf-8") if path.exists() else SKELETON
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def update_machine(path: Path = RESULTS) -> None:
    """Rewrite the machine section."""
    update_section("machine", machine_markdown(), path)


def median(values: Sequence[float]) -> float:
    """The median (0 for no values)."""
    return statistics.median(values) if values else 0.0


def spread(values: Sequence[float]) -> str:
    """``min-max`` of the values, for showing noise."""
    if not values:
        return "-"
    return f"{min(values):.2f}-{max(values):.2f}"


def child_env() -> dict[str, str]:
    """The environment for measured commands.

    ``PYTHONDONTWRITEBYTECODE`` is dropped (with it every run recompiles and re-rewrites every
    module, which is not how developers run pytest); colours are off.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PY_COLORS"] = "0"
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "100"
    return env
