"""The baseline: a committed JSON snapshot of per-target metrics, the "from" of ``5% -> 70%``.

Format (``schema_version`` 1)::

    {"schema_version": 1, "metrics": {"src/pkg/mod.py": {"coverage": 42.5, "ruff": 3}}}

A target whose metric is worse than its baseline has regressed. Updating merges: metrics of gates
that could not measure (ERROR) keep their previous baseline value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

from pytest_phase7.atomic import write_atomic
from pytest_phase7.engine import RunResult
from pytest_phase7.errors import ConfigError
from pytest_phase7.files import read_regular
from pytest_phase7.gates.base import GateStatus
from pytest_phase7.status import HIGHER_IS_BETTER, Baseline

SCHEMA_VERSION = 1

#: Built-in gates whose metric counts problems (custom gates' metrics may be any number).
COUNTED = frozenset({"ruff", "mypy"})


def load_baseline(path: Path, display: str) -> dict[str, dict[str, float]]:
    """Read a baseline file; a bad one is a :class:`ConfigError` naming file and line."""
    try:
        text = read_regular(path).decode("utf-8")  # a FIFO or device: refused, not a hang
    except FileNotFoundError:
        raise ConfigError(
            "baseline file not found (write it with --phase7-baseline-update)", display
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read baseline: {exc}", display) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", display, exc.lineno) from None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise ConfigError(f"not a phase7 baseline (schema_version {SCHEMA_VERSION})", display)
    metrics = data.get("metrics")
    if not isinstance(metrics, dict):
        raise ConfigError("baseline has no 'metrics' table", display)
    baseline: dict[str, dict[str, float]] = {}
    for ref, gates in metrics.items():
        if not isinstance(gates, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in gates.values()
        ):
            raise ConfigError(
                f"baseline metrics for {ref!r} must map gate names to numbers", display
            )
        for gate, value in gates.items():
            problem = _metric_problem(str(gate), float(value))
            if problem:
                raise ConfigError(f"baseline metric {gate} of {ref!r}: {problem}", display)
        baseline[str(ref)] = {str(g): float(v) for g, v in gates.items()}
    return baseline


def _metric_problem(gate: str, value: float) -> str:
    """Why a baseline figure cannot be compared with (NaN never compares worse), or ""."""
    if not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if gate in HIGHER_IS_BETTER and not 0 <= value <= 100:
        return f"{value:g} is not a percentage between 0 and 100"
    if gate in COUNTED and value < 0:
        return f"{value:g} is not a count (0 or more)"
    return ""


def updated_baseline(result: RunResult, previous: Baseline | None) -> dict[str, dict[str, float]]:
    """The previous baseline with every metric this run measured (ERROR results excluded)."""
    merged = {ref: dict(gates) for ref, gates in (previous or {}).items()}
    for outcome in result.outcomes:
        target = outcome.resolution.target
        if target is None:
            continue
        for gate_result in outcome.results:
            if gate_result.status in {GateStatus.ERROR, GateStatus.SKIP}:
                continue
            if gate_result.metric is not None:
                merged.setdefault(target.ref, {})[gate_result.gate] = gate_result.metric
    return merged


def write_baseline(path: Path, metrics: Mapping[str, Mapping[str, float]]) -> None:
    """Write the baseline atomically, sorted so that diffs stay small."""
    document = {
        "schema_version": SCHEMA_VERSION,
        "metrics": {ref: dict(sorted(metrics[ref].items())) for ref in sorted(metrics)},
    }
    write_atomic(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
