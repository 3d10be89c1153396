"""The baseline: committed floors per target, a ratchet that only goes up.

Format (``schema_version`` 2; version 1 files, which hold ``metrics`` only, are still read)::

    {
      "schema_version": 2,
      "metrics": {"src/pkg/mod.py": {"coverage": 42.5, "ruff": 3}},
      "counts": {"src/pkg/mod.py": {"coverage": {"statements": 40, "missing": 23},
                                    "ruff": {"violations": 3}}},
      "lowered": [{"target": "src/pkg/mod.py", "gate": "coverage", "old": 50.0, "new": 42.5,
                   "reason": "...", "date": "2026-01-31T12:00:00+00:00", "commit": "abc123..."}]
    }

``metrics`` are the floors: the starting point of the status rule (the "from" of ``5% -> 70%``)
and what a regression is judged against (:func:`pytest_phase7.status.regressed`, which reads
``counts``: a percentage that dropped only because covered code was deleted is no regression).
``counts`` are those of the run that set each floor.

Updating (``--phase7-baseline-update``, ``phase7 baseline``) raises floors and never lowers one:
a figure below its floor keeps the floor (and is said). Lowering is explicit,
``phase7 baseline --allow-lower --reason TEXT``, and each lowered floor is recorded in
``lowered`` with the reason, the date, the commit and the old value, so that a review sees it
in the diff. Metrics of gates that could not measure (ERROR) keep their floors; the pull
request's new lines are no floor (they depend on the compared ref).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_phase7.atomic import write_atomic
from pytest_phase7.engine import RunResult
from pytest_phase7.errors import ConfigError
from pytest_phase7.files import read_regular
from pytest_phase7.gates.base import GateStatus
from pytest_phase7.status import HIGHER_IS_BETTER, result_counts, worse_figure

SCHEMA_VERSION = 2

#: The versions this phase7 reads (1: ``metrics`` only).
READABLE_VERSIONS = (1, 2)

#: Built-in gates whose metric counts problems (custom gates' metrics may be any number).
COUNTED = frozenset({"ruff", "mypy"})

#: Gates whose figures are no floor: the pull request's new lines depend on the compared ref.
NOT_BASELINED = frozenset({"new_lines"})


@dataclass(frozen=True)
class Lowering:
    """One floor lowered on purpose (``phase7 baseline --allow-lower --reason``)."""

    target: str
    gate: str
    old: float
    new: float
    reason: str
    date: str
    commit: str = ""

    def to_json(self) -> dict[str, Any]:
        """As the baseline file records it."""
        return {
            "target": self.target,
            "gate": self.gate,
            "old": self.old,
            "new": self.new,
            "reason": self.reason,
            "date": self.date,
            "commit": self.commit,
        }


@dataclass(frozen=True)
class BaselineFile:
    """A baseline file's content: floors, the counts behind them, the record of lowerings."""

    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    counts: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    lowered: tuple[Lowering, ...] = ()


def load_baseline(path: Path, display: str) -> dict[str, dict[str, float]]:
    """The floors of a baseline file (:func:`load_baseline_file`'s ``metrics``)."""
    return load_baseline_file(path, display).metrics


def load_existing(path: Path, rootdir: Path) -> BaselineFile | None:
    """The baseline file at ``path`` when there is one (None when there is none yet)."""
    from pytest_phase7.project import display_path  # noqa: PLC0415

    if not path.exists():
        return None
    return load_baseline_file(path, display_path(path, rootdir))


def load_baseline_file(path: Path, display: str) -> BaselineFile:
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
    if not isinstance(data, dict) or data.get("schema_version") not in READABLE_VERSIONS:
        raise ConfigError(
            f"not a phase7 baseline (schema_version {' or '.join(map(str, READABLE_VERSIONS))})",
            display,
        )
    metrics = data.get("metrics")
    if not isinstance(metrics, dict):
        raise ConfigError("baseline has no 'metrics' table", display)
    baseline: dict[str, dict[str, float]] = {}
    for ref, gates in metrics.items():
        if not isinstance(gates, dict) or not all(_is_number(v) for v in gates.values()):
            raise ConfigError(
                f"baseline metrics for {ref!r} must map gate names to numbers", display
            )
        for gate, value in gates.items():
            problem = _metric_problem(str(gate), float(value))
            if problem:
                raise ConfigError(f"baseline metric {gate} of {ref!r}: {problem}", display)
        baseline[str(ref)] = {str(g): float(v) for g, v in gates.items()}
    counts = _counts(data.get("counts", {}), display)
    lowered = _lowered(data.get("lowered", []), display)
    return BaselineFile(baseline, counts, lowered)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _counts(raw: object, display: str) -> dict[str, dict[str, dict[str, float]]]:
    if not isinstance(raw, dict):
        raise ConfigError("baseline 'counts' must be a table of targets", display)
    counts: dict[str, dict[str, dict[str, float]]] = {}
    for ref, gates in raw.items():
        if not isinstance(gates, dict):
            raise ConfigError(f"baseline counts for {ref!r} must map gate names", display)
        for gate, numbers in gates.items():
            if not isinstance(numbers, dict) or not all(
                _is_number(v) and math.isfinite(v) and v >= 0 for v in numbers.values()
            ):
                raise ConfigError(
                    f"baseline counts {gate} of {ref!r} must map names to counts (0 or more)",
                    display,
                )
            counts.setdefault(str(ref), {})[str(gate)] = {
                str(k): float(v) for k, v in numbers.items()
            }
    return counts


def _lowered(raw: object, display: str) -> tuple[Lowering, ...]:
    if not isinstance(raw, list):
        raise ConfigError("baseline 'lowered' must be a list", display)
    entries = []
    for entry in raw:
        try:
            entries.append(
                Lowering(
                    target=str(entry["target"]),
                    gate=str(entry["gate"]),
                    old=float(entry["old"]),
                    new=float(entry["new"]),
                    reason=str(entry["reason"]),
                    date=str(entry["date"]),
                    commit=str(entry.get("commit", "")),
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ConfigError(
                "baseline 'lowered' entries need target, gate, old, new, reason and date",
                display,
            ) from None
    return tuple(entries)


def _metric_problem(gate: str, value: float) -> str:
    """Why a baseline figure cannot be compared with (NaN never compares worse), or ""."""
    if not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if gate in HIGHER_IS_BETTER and not 0 <= value <= 100:
        return f"{value:g} is not a percentage between 0 and 100"
    if gate in COUNTED and value < 0:
        return f"{value:g} is not a count (0 or more)"
    return ""


@dataclass(frozen=True)
class LowerRequest:
    """``--allow-lower --reason TEXT``: lower floors this run is below, recorded thus."""

    reason: str
    date: str
    commit: str = ""


@dataclass(frozen=True)
class Ratchet:
    """What an update did: the new baseline, and the floors it raised, kept and lowered.

    ``raised`` and ``kept`` are ``(target, gate, floor, now)``: a kept floor is one this run is
    below, left where it was.
    """

    baseline: BaselineFile
    raised: tuple[tuple[str, str, float, float], ...] = ()
    kept: tuple[tuple[str, str, float, float], ...] = ()
    lowered: tuple[Lowering, ...] = ()

    def kept_message(self) -> str:
        """One line: which floors stayed above this run, and how to lower them on purpose."""
        from pytest_phase7.status import figure_text  # noqa: PLC0415
        from pytest_phase7.wording import counted, shown_list  # noqa: PLC0415

        shown = [
            f"{ref} {gate} {figure_text(gate, floor)} (now {figure_text(gate, now)})"
            for ref, gate, floor, now in self.kept
        ]
        return (
            f"phase7: kept {counted(len(self.kept), 'floor')} this run is below: "
            f"{shown_list(shown)}; floors only go up (phase7 baseline --allow-lower --reason TEXT "
            "lowers them, on the record)"
        )


def raised_baseline(
    result: RunResult, previous: BaselineFile | None, lower: LowerRequest | None = None
) -> Ratchet:
    """``previous`` with every floor this run is above raised to this run's figure.

    A figure below its floor keeps the floor, unless ``lower`` asks to lower it: then the floor
    is this run's figure and the change is recorded. ERROR and SKIP results change nothing.
    """
    before = previous or BaselineFile()
    metrics = {ref: dict(gates) for ref, gates in before.metrics.items()}
    counts = {ref: {g: dict(c) for g, c in gates.items()} for ref, gates in before.counts.items()}
    raised: list[tuple[str, str, float, float]] = []
    kept: list[tuple[str, str, float, float]] = []
    lowered: list[Lowering] = []
    seen: set[tuple[str, str]] = set()
    for outcome in result.outcomes:
        target = outcome.resolution.target
        if target is None:
            continue
        for gate_result in outcome.results:
            gate, now = gate_result.gate, gate_result.metric
            if (
                gate_result.status in {GateStatus.ERROR, GateStatus.SKIP}
                or now is None
                or not math.isfinite(now)
                or gate in NOT_BASELINED
                or (target.ref, gate) in seen
            ):
                continue
            seen.add((target.ref, gate))
            floor = metrics.get(target.ref, {}).get(gate)
            if floor is not None and worse_figure(gate, now, floor):
                if lower is None:
                    kept.append((target.ref, gate, floor, now))
                    continue
                lowered.append(
                    Lowering(target.ref, gate, floor, now, lower.reason, lower.date, lower.commit)
                )
            elif floor is not None and now != floor:
                raised.append((target.ref, gate, floor, now))
            metrics.setdefault(target.ref, {})[gate] = now
            numbers = result_counts(gate_result)
            if numbers:
                counts.setdefault(target.ref, {})[gate] = numbers
            else:
                counts.get(target.ref, {}).pop(gate, None)
    baseline = BaselineFile(
        metrics, {ref: c for ref, c in counts.items() if c}, (*before.lowered, *lowered)
    )
    return Ratchet(baseline, tuple(raised), tuple(kept), tuple(lowered))


def write_baseline(path: Path, content: BaselineFile | Mapping[str, Mapping[str, float]]) -> None:
    """Write the baseline atomically, sorted so that diffs stay small."""
    if not isinstance(content, BaselineFile):
        content = BaselineFile({ref: dict(g) for ref, g in content.items()})
    metrics, counts = content.metrics, content.counts
    document = {
        "schema_version": SCHEMA_VERSION,
        "metrics": {ref: dict(sorted(metrics[ref].items())) for ref in sorted(metrics)},
        "counts": {
            ref: {gate: dict(sorted(counts[ref][gate].items())) for gate in sorted(counts[ref])}
            for ref in sorted(counts)
        },
        "lowered": [entry.to_json() for entry in content.lowered],
    }
    write_atomic(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))


def lower_request(reason: str, rootdir: Path, when: str | None = None) -> LowerRequest:
    """The record of a lowering: the reason, now (UTC), and ``HEAD`` when in git."""
    from datetime import datetime, timezone  # noqa: PLC0415

    from pytest_phase7.changed import git_output  # noqa: PLC0415

    try:
        commit = git_output(["rev-parse", "--verify", "-q", "HEAD"], rootdir).strip()
    except ConfigError:
        commit = ""  # not in git, or no commit yet
    date = when or datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    return LowerRequest(" ".join(reason.split()), date, commit)
