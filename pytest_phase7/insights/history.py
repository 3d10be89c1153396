"""Trends over runs: ``--phase7-history=PATH`` appends one JSON line per run.

Each line: ``{"format": 1, "time": ISO-8601, "commit": sha or null, "items": {"3": {"status":
"IN PROGRESS", "hours": 3.0, "metrics": {"coverage": 49.0}}}, "done_items": 2, "done_hours": 3.0,
"total_items": 9, "total_hours": 23.0}``. Reports show each item's change against the previous
run (``▲ 12.5 pts``) and the completion over time. A corrupt or truncated line (a run killed
mid-write) is skipped with a warning, never fatal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pytest_phase7.engine import RunResult
from pytest_phase7.files import open_append, read_regular, reason
from pytest_phase7.gates.base import GateStatus
from pytest_phase7.model import PlanStatus

HISTORY_FORMAT = 1


@dataclass(frozen=True)
class ItemSnapshot:
    """One item in one run: its status, estimated hours and measured metrics."""

    status: str
    hours: float
    metrics: Mapping[str, float]


@dataclass(frozen=True)
class HistoryEntry:
    """One run as recorded in the history file."""

    time: str
    commit: str | None
    items: Mapping[int, ItemSnapshot]
    done_items: int
    done_hours: float
    total_items: int
    total_hours: float


def snapshot(result: RunResult, when: datetime, commit: str | None) -> HistoryEntry:
    """This run as a history entry (metrics of gates that could not measure are left out)."""
    items: dict[int, ItemSnapshot] = {}
    for outcome in result.outcomes:
        metrics = {
            r.gate: r.metric
            for r in outcome.results
            if r.metric is not None and r.status not in {GateStatus.ERROR, GateStatus.SKIP}
        }
        items[outcome.item.number] = ItemSnapshot(
            outcome.status.label, outcome.item.estimate_hours or 0.0, metrics
        )
    done = [s for s in items.values() if s.status == PlanStatus.DONE.label]
    return HistoryEntry(
        time=when.astimezone(timezone.utc).isoformat(timespec="seconds"),
        commit=commit,
        items=items,
        done_items=len(done),
        done_hours=sum(s.hours for s in done),
        total_items=len(items),
        total_hours=sum(s.hours for s in items.values()),
    )


def entry_to_json(entry: HistoryEntry) -> str:
    """One history line (no newline)."""
    return json.dumps(
        {
            "format": HISTORY_FORMAT,
            "time": entry.time,
            "commit": entry.commit,
            "items": {
                str(n): {"status": s.status, "hours": s.hours, "metrics": dict(s.metrics)}
                for n, s in sorted(entry.items.items())
            },
            "done_items": entry.done_items,
            "done_hours": entry.done_hours,
            "total_items": entry.total_items,
            "total_hours": entry.total_hours,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def append_entry(path: Path, entry: HistoryEntry) -> None:
    """Append one line with a single ``write`` on an ``O_APPEND`` descriptor.

    Concurrent runs each add a whole line; a killed run leaves at most one truncated line, which
    :func:`load_history` skips. A file not ending in a newline gets one first.
    """
    data = (entry_to_json(entry) + "\n").encode("utf-8")
    fd = open_append(path, readable=True)  # a FIFO would block the run: refused
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        os.write(fd, data)
    finally:
        os.close(fd)


def _entry_from_json(data: object) -> HistoryEntry:
    if not isinstance(data, dict) or data.get("format") != HISTORY_FORMAT:
        raise ValueError("not a phase7 history entry")
    items = {}
    for number, item in data["items"].items():
        metrics = {str(k): float(v) for k, v in item["metrics"].items()}
        items[int(number)] = ItemSnapshot(str(item["status"]), float(item["hours"]), metrics)
    commit = data.get("commit")
    return HistoryEntry(
        time=str(data["time"]),
        commit=None if commit is None else str(commit),
        items=items,
        done_items=int(data["done_items"]),
        done_hours=float(data["done_hours"]),
        total_items=int(data["total_items"]),
        total_hours=float(data["total_hours"]),
    )


def load_history(path: Path) -> tuple[list[HistoryEntry], list[str]]:
    """All readable entries, oldest first, and a warning per line that had to be skipped."""
    try:
        raw = read_regular(path)
    except FileNotFoundError:
        return [], []
    except OSError as exc:  # a folder, a FIFO, a name too long: the trends say so
        return [], [f"cannot read the history {path}: {reason(exc)}"]
    entries: list[HistoryEntry] = []
    warnings: list[str] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            entries.append(_entry_from_json(json.loads(line.decode("utf-8"))))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            warnings.append(f"{path}:{number}: skipped a corrupt history line ({exc})")
    return entries, warnings


def first_metrics(path: Path) -> dict[int, dict[str, float]]:
    """Per item and gate, the metric as the history at ``path`` first recorded it.

    That is where the item started, for the status rule. Per gate, so that a gate added after
    the first run starts where it was first measured. Corrupt lines are skipped (the Trends
    section says so); a missing file has no entries; ``OSError`` propagates.
    """
    entries, _ = load_history(path)
    first: dict[int, dict[str, float]] = {}
    for entry in entries:
        for number, snap in entry.items.items():
            known = first.setdefault(number, {})
            for gate, value in snap.metrics.items():
                known.setdefault(gate, value)
    return {number: metrics for number, metrics in first.items() if metrics}


def deltas(previous: HistoryEntry | None, current: HistoryEntry) -> dict[int, dict[str, float]]:
    """Per item and gate: how much the metric moved since the previous run (non-zero only)."""
    if previous is None:
        return {}
    moved: dict[int, dict[str, float]] = {}
    for number, now in current.items.items():
        before = previous.items.get(number)
        if before is None:
            continue
        changes = {
            gate: round(value - before.metrics[gate], 6)
            for gate, value in now.metrics.items()
            if gate in before.metrics and value != before.metrics[gate]
        }
        if changes:
            moved[number] = changes
    return moved


def delta_text(change: float) -> str:
    """``▲ 12.5`` / ``▼ 3`` for a metric change, to one decimal (the unit is the metric's own)."""
    arrow = "▲" if change > 0 else "▼"
    return f"{arrow} {round(abs(change), 1):g}"


def first_seen(entries: Sequence[HistoryEntry], number: int, status: str) -> str | None:
    """When an item was first recorded with ``status`` in its current unbroken streak."""
    since: str | None = None
    for entry in entries:
        snap = entry.items.get(number)
        in_streak = snap is not None and snap.status == status
        since = (since or entry.time) if in_streak else None
    return since
