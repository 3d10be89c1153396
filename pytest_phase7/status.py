"""From gate results to item statuses, and from statuses to the merge verdict.

The rule (also in the README, with an example):

* An item whose target is ambiguous or escapes the rootdir, or any of whose gates is ERROR, is
  FAILED. So is an item whose target does not exist, except in a code-generation batch, where a
  missing target simply has not been generated yet (QUEUED).
* An item is DONE when every applicable gate passes (SKIP gates do not count).
* An item the plan records as DONE that no longer passes, or whose metric got worse than its
  baseline, has regressed: FAILED.
* Otherwise IN PROGRESS when some gate passes or some metric improved over the baseline; else
  QUEUED. An unmapped item (no target named yet), or one no gate checked (every gate SKIP),
  keeps the status the plan records.

Merge policies (``fail_on``): ``regression`` blocks on any regression or ERROR; ``incomplete``
blocks unless every item is DONE; ``never`` only reports. Items of a batch marked ``required``
must be DONE under every policy but ``never``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.model import BatchKind, Manifest, PlanStatus, WorkItem
from pytest_phase7.resolve import Resolution, ResolutionState

#: The order statuses are counted and listed in.
REPORT_ORDER = (PlanStatus.DONE, PlanStatus.IN_PROGRESS, PlanStatus.QUEUED, PlanStatus.FAILED)

#: Baseline metrics: target ref -> gate name -> metric.
Baseline = Mapping[str, Mapping[str, float]]

#: Gates whose metric is "higher is better" (percentages); the others count problems.
HIGHER_IS_BETTER = frozenset({"coverage", "docstrings"})


@dataclass(frozen=True)
class ItemOutcome:
    """One work item after the gates: its target, results, derived status and why."""

    item: WorkItem
    resolution: Resolution
    results: tuple[GateResult, ...]
    status: PlanStatus
    reason: str = ""
    regression: bool = False
    improved: bool = False
    error: bool = False

    @property
    def recorded(self) -> PlanStatus | None:
        """The status the plan records for the item."""
        return self.item.status

    def result(self, gate: str) -> GateResult | None:
        """This item's result for one gate, if the gate applied."""
        for result in self.results:
            if result.gate == gate:
                return result
        return None


@dataclass(frozen=True)
class Verdict:
    """Whether the merge is blocked, under which policy, and why."""

    policy: str
    blocked: bool
    reasons: tuple[str, ...]
    counts: tuple[tuple[str, int], ...]

    @property
    def summary(self) -> str:
        """One line: ``phase7: BLOCKED (policy): reason; reason`` or ``phase7: OK ...``."""
        counts = ", ".join(f"{n} {label}" for label, n in self.counts if n)
        if self.blocked:
            return f"phase7: merge BLOCKED (fail-on={self.policy}): " + "; ".join(self.reasons)
        return f"phase7: OK (fail-on={self.policy}): {counts or 'no items'}"


def _worse(gate: str, now: float, before: float) -> bool:
    return now < before if gate in HIGHER_IS_BETTER else now > before


def derive_outcome(
    resolution: Resolution,
    results: Sequence[GateResult],
    kind: BatchKind,
    baseline: Baseline | None = None,
) -> ItemOutcome:
    """Apply the status rule (module docstring) to one item."""
    item = resolution.item
    state = resolution.state
    if state is ResolutionState.UNMAPPED:
        return ItemOutcome(
            item,
            resolution,
            (),
            item.status or PlanStatus.QUEUED,
            reason="no target named yet",
        )
    if state is ResolutionState.MISSING and kind is BatchKind.CODEGEN:
        if item.status is PlanStatus.DONE:
            return ItemOutcome(
                item,
                resolution,
                (),
                PlanStatus.FAILED,
                regression=True,
                error=True,
                reason="recorded DONE but the target does not exist: " + resolution.message,
            )
        return ItemOutcome(
            item,
            resolution,
            (),
            PlanStatus.QUEUED,
            reason="not generated yet",
        )
    if state is not ResolutionState.RESOLVED:
        return ItemOutcome(
            item,
            resolution,
            (),
            PlanStatus.FAILED,
            reason=resolution.message,
            error=True,
        )
    applicable = [r for r in results if r.status is not GateStatus.SKIP]
    if not applicable:
        # Nothing checked it (every gate narrowed away, or coverage not gated): no news.
        return ItemOutcome(
            item, resolution, tuple(results), item.status or PlanStatus.QUEUED, "no gate checked it"
        )
    errors = [r for r in applicable if r.status is GateStatus.ERROR]
    ref = resolution.target.ref if resolution.target else ""
    before = (baseline or {}).get(ref, {})
    worse = [
        r.gate
        for r in applicable
        if r.metric is not None and r.gate in before and _worse(r.gate, r.metric, before[r.gate])
    ]
    improved = any(
        r.metric is not None
        and r.gate in before
        and r.metric != before[r.gate]
        and not _worse(r.gate, r.metric, before[r.gate])
        for r in applicable
    )
    all_pass = bool(applicable) and all(r.passed for r in applicable)
    if errors:
        reason = "; ".join(f"{r.gate}: {r.reason}" for r in errors)
        return ItemOutcome(
            item,
            resolution,
            tuple(results),
            PlanStatus.FAILED,
            reason=reason,
            error=True,
            improved=improved,
        )
    if worse:
        return ItemOutcome(
            item,
            resolution,
            tuple(results),
            PlanStatus.FAILED,
            regression=True,
            reason="worse than baseline: " + ", ".join(worse),
            improved=improved,
        )
    if all_pass:
        return ItemOutcome(item, resolution, tuple(results), PlanStatus.DONE, improved=improved)
    failing = ", ".join(r.gate for r in applicable if not r.passed)
    if item.status is PlanStatus.DONE:
        return ItemOutcome(
            item,
            resolution,
            tuple(results),
            PlanStatus.FAILED,
            regression=True,
            reason=f"recorded DONE but {failing} no longer pass",
            improved=improved,
        )
    if improved or any(r.passed for r in applicable):
        return ItemOutcome(
            item,
            resolution,
            tuple(results),
            PlanStatus.IN_PROGRESS,
            reason=f"failing: {failing}",
            improved=improved,
        )
    return ItemOutcome(
        item,
        resolution,
        tuple(results),
        PlanStatus.QUEUED,
        reason=f"failing: {failing}",
        improved=improved,
    )


def decide(manifest: Manifest, outcomes: Sequence[ItemOutcome], policy: str) -> Verdict:
    """Apply the merge policy to the outcomes."""
    counts = Counter(o.status for o in outcomes)
    ordered = tuple((s.label, counts.get(s, 0)) for s in REPORT_ORDER)
    if policy == "never":
        return Verdict(policy, False, (), ordered)
    reasons: list[str] = []
    regressed = [o for o in outcomes if o.regression]
    errored = [o for o in outcomes if o.error and not o.regression]
    if regressed:
        reasons.append(_items_phrase(regressed, "regressed"))
    if errored:
        reasons.append(_items_phrase(errored, "could not be checked (ERROR)"))
    required = {b.number for b in manifest.batches if b.required}
    pending_required = [
        o
        for o in outcomes
        if o.item.batch in required
        and o.status is not PlanStatus.DONE
        and not o.error
        and not o.regression
    ]
    # Item numbers, not outcomes: membership in a list of dataclasses compares every field.
    pending_numbers = {o.item.number for o in pending_required}
    if pending_required:
        reasons.append(
            _items_phrase(
                pending_required,
                ("of a required batch is not DONE", "of required batches are not DONE"),
            )
        )
    if policy == "incomplete":
        incomplete = [
            o
            for o in outcomes
            if o.status is not PlanStatus.DONE
            and not o.error
            and not o.regression
            and o.item.number not in pending_numbers
        ]
        if incomplete:
            reasons.append(_items_phrase(incomplete, ("is not DONE", "are not DONE")))
    return Verdict(policy, bool(reasons), tuple(reasons), ordered)


def _items_phrase(outcomes: Sequence[ItemOutcome], what: str | tuple[str, str]) -> str:
    numbers = [f"#{o.item.number}" for o in outcomes]
    shown = ", ".join(numbers[:8]) + (f" and {len(numbers) - 8} more" if len(numbers) > 8 else "")
    one = len(numbers) == 1
    verb = what if isinstance(what, str) else what[0 if one else 1]
    return f"{len(numbers)} {'item' if one else 'items'} {verb} ({shown})"


def batch_kinds(manifest: Manifest) -> Mapping[int, BatchKind]:
    """Batch number -> kind, for :func:`derive_outcome`."""
    return {batch.number: batch.kind for batch in manifest.batches}
