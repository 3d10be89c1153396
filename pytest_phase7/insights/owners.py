"""Per-owner results: for plans with an ``Owner``, ``Assignee`` or ``Model`` column.

Quality score of an item (0-100), the mean over its applicable gates of:

* ERROR: 0;
* a percentage gate (coverage, docstrings): 100 when it passes, else ``100 x metric / threshold``;
* a counting gate (ruff, mypy): 100 when it passes, else ``100 x (max + 1) / (count + 1)``
  (one violation over a maximum of 0 scores 50, three score 25);
* any other gate: 100 when it passes, else 0.

An item with no applicable gate has no score. Hours are the plan's estimates; with an hourly rate
they become cost figures, as the plan's own cost lines do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pytest_phase7.engine import RunResult
from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.insights.history import HistoryEntry, first_seen
from pytest_phase7.model import PlanStatus
from pytest_phase7.report.markdown import cell
from pytest_phase7.status.rules import HIGHER_IS_BETTER, ItemOutcome

#: Gates whose metric counts problems against a maximum.
COUNTING_GATES = frozenset({"ruff", "mypy"})


def gate_score(result: GateResult) -> float | None:
    """One gate's contribution to the quality score (None for SKIP)."""
    if result.status is GateStatus.SKIP:
        return None
    if result.status is GateStatus.ERROR:
        return 0.0
    if result.status is GateStatus.PASS:
        return 100.0
    metric, threshold = result.metric, result.threshold
    if metric is None or threshold is None:
        return 0.0
    if result.gate in HIGHER_IS_BETTER:
        return 0.0 if threshold <= 0 else max(0.0, min(100.0, 100.0 * metric / threshold))
    if result.gate in COUNTING_GATES:
        return 100.0 * (threshold + 1) / (metric + 1) if metric >= 0 else 0.0
    return 0.0


def quality_score(outcome: ItemOutcome) -> float | None:
    """The item's quality score (module docstring), rounded to one decimal."""
    scores = [s for s in (gate_score(r) for r in outcome.results) if s is not None]
    if not scores:
        return None
    return round(sum(scores) / len(scores), 1)


@dataclass(frozen=True)
class OwnerSummary:
    """What one owner's items add up to."""

    owner: str
    items_total: int
    items_done: int
    hours_total: float
    hours_done: float
    quality: float | None
    in_progress_since: str | None
    cost_total: float | None
    cost_done: float | None

    @property
    def success_rate(self) -> float:
        """Share of the owner's items that are DONE, in percent."""
        return 100.0 * self.items_done / self.items_total if self.items_total else 0.0


def summarize_owners(
    result: RunResult,
    history: Sequence[HistoryEntry] = (),
    hourly_rate: float | None = None,
) -> list[OwnerSummary]:
    """One summary per owner (sorted by name); empty when the plan has no owner column."""
    groups: dict[str, list[ItemOutcome]] = {}
    for outcome in result.outcomes:
        owner = outcome.item.owner
        if owner is not None:
            groups.setdefault(owner, []).append(outcome)
    summaries = []
    for owner, outcomes in sorted(groups.items()):
        done = [o for o in outcomes if o.status is PlanStatus.DONE]
        hours_total = sum(o.item.estimate_hours or 0.0 for o in outcomes)
        hours_done = sum(o.item.estimate_hours or 0.0 for o in done)
        scores = [s for s in (quality_score(o) for o in outcomes) if s is not None]
        started = [
            since
            for o in outcomes
            if o.status is PlanStatus.IN_PROGRESS
            and (since := first_seen(history, o.item.number, PlanStatus.IN_PROGRESS.label))
        ]
        summaries.append(
            OwnerSummary(
                owner=owner,
                items_total=len(outcomes),
                items_done=len(done),
                hours_total=hours_total,
                hours_done=hours_done,
                quality=round(sum(scores) / len(scores), 1) if scores else None,
                in_progress_since=min(started) if started else None,
                cost_total=None if hourly_rate is None else hours_total * hourly_rate,
                cost_done=None if hourly_rate is None else hours_done * hourly_rate,
            )
        )
    return summaries


def owners_markdown(summaries: Sequence[OwnerSummary]) -> str:
    """The per-owner table as Markdown.

    Owner names come from the plan and dates from the history file, which a PR author
    controls: both go through the report's escaper (:func:`pytest_phase7.report.markdown.cell`), so
    ``@name`` pings nobody, ``#12`` links nothing and ``![i](url)`` loads no image.
    """
    with_cost = any(s.cost_total is not None for s in summaries)
    header = "| Owner | Done | Success | Hours done | Quality | In progress since |"
    rule = "|---|---:|---:|---:|---:|---|"
    if with_cost:
        header += " Cost done / total |"
        rule += "---:|"
    rows = [header, rule]
    for s in summaries:
        row = (
            f"| {cell(s.owner)} | {s.items_done}/{s.items_total} | {s.success_rate:.0f}% | "
            f"{s.hours_done:g}/{s.hours_total:g} | "
            f"{'-' if s.quality is None else f'{s.quality:g}'} | "
            f"{cell(s.in_progress_since or '-')} |"
        )
        if with_cost:
            row += f" {s.cost_done or 0:,.2f} / {s.cost_total or 0:,.2f} |"
        rows.append(row)
    return "\n".join(rows)
