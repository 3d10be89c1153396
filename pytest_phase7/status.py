"""From gate results to item statuses, and from statuses to the merge verdict.

The rule (also in the README, with worked examples):

* An item whose target is ambiguous or escapes the rootdir, or any of whose gates is ERROR, is
  FAILED. So is an item whose target does not exist, except in a code-generation batch, where a
  missing target simply has not been generated yet (QUEUED).
* An item is DONE when every applicable gate passes (SKIP gates do not count).
* An item the plan records as DONE that no longer passes, or whose metric got worse than its
  baseline, has regressed: FAILED.
* Otherwise IN PROGRESS when a *primary* metric of the batch's kind (:data:`PRIMARY_GATES`) has
  moved from its starting point toward its target (:func:`starting_point`, :func:`moved`), or
  when the plan records the item IN PROGRESS; else QUEUED. In a code-generation batch the
  target existing is the progress. An unmapped item (no target named yet), or one no gate
  checked (every gate SKIP), keeps the status the plan records.

Merge policies (``fail_on``): ``regression`` blocks on any regression or ERROR; ``incomplete``
blocks unless every item is DONE; ``never`` only reports. Items of a batch marked ``required``
must be DONE under every policy but ``never``, and so must a merge gate's own reasons (the pull
request's new lines below ``--phase7-diff-coverage-min``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.model import BatchKind, CoverageGoal, Manifest, PlanStatus, WorkItem
from pytest_phase7.resolve import Resolution, ResolutionState

#: The order statuses are counted and listed in.
REPORT_ORDER = (PlanStatus.DONE, PlanStatus.IN_PROGRESS, PlanStatus.QUEUED, PlanStatus.FAILED)

#: Baseline metrics: target ref -> gate name -> metric.
Baseline = Mapping[str, Mapping[str, float]]

#: Gates whose metric is "higher is better" (percentages); the others count problems.
HIGHER_IS_BETTER = frozenset({"coverage", "docstrings", "new_lines"})

#: Per kind of batch, the gates whose movement is progress on what the batch is about. A
#: code-generation batch has none: there the progress is that the target exists at all.
PRIMARY_GATES: Mapping[BatchKind, tuple[str, ...]] = {
    BatchKind.TESTS: ("coverage",),
    BatchKind.REFACTOR: ("ruff", "mypy"),
    BatchKind.DOCS: ("docstrings",),
    BatchKind.CODEGEN: (),
}


@dataclass(frozen=True)
class Start:
    """Where one gate's metric started for one item, and what says so (for messages)."""

    value: float
    source: str


def starting_point(
    gate: str,
    before: Mapping[str, float],
    goal: CoverageGoal | None,
    first_run: Mapping[str, float],
) -> Start | None:
    """Where ``gate``'s metric started: the baseline, else the plan's "from", else the history.

    ``before`` is the target's baseline, ``goal`` the batch's ``Target Coverage`` (its "from"
    applies to the coverage gate), ``first_run`` the item's metrics as the first run in the
    history recorded them. A "from" range such as ``5-27%`` does not say where this item
    started: the history does, when it has the item; else the top of the range, so that only a
    figure above every start the plan admits counts as moved.
    """
    if gate in before:
        return Start(before[gate], "baseline")
    history = Start(first_run[gate], "the first recorded run") if gate in first_run else None
    if gate == "coverage" and goal is not None:
        low, high = goal.from_low, goal.from_high
        ranged = low is not None and high is not None and low != high
        start = high if high is not None else low
        if start is not None and not (ranged and history is not None):
            return Start(start, "the plan's Target Coverage")
    return history


def moved(gate: str, metric: float, start: Start | None) -> bool:
    """Whether ``metric`` has moved from ``start`` toward the gate's target.

    Without a starting point a percentage above zero has moved (zero is where it can start at
    worst); a count (ruff, mypy, custom gates) has not: with no record of where it started, a
    count of problems, even zero, says nothing about work done.
    """
    if start is None:
        return gate in HIGHER_IS_BETTER and metric > 0
    return metric > start.value if gate in HIGHER_IS_BETTER else metric < start.value


def _figure(gate: str, value: float) -> str:
    return f"{value:g}%" if gate in HIGHER_IS_BETTER else f"{value:g}"


def figure_text(gate: str, value: float) -> str:
    """A metric rounded for a one-line message: ``49.06%`` for a percentage, ``3`` for a count."""
    return _figure(gate, round(value, 2))


#: Per gate, the counts of what is missing that a regression must have grown (with the
#: percentage gone down): coverage's missed statements and branches, undocumented names.
MISSED_COUNTS: Mapping[str, tuple[str, ...]] = {
    "coverage": ("missing", "missing_branches"),
    "docstrings": ("missing",),
}


def result_counts(result: GateResult) -> dict[str, float]:
    """The counts behind a result's metric, as the baseline stores them (none for other gates).

    Coverage: statements and missed ones (with branches: branches, partial and missed ones);
    docstrings: covered, total and missing names; ruff violations, mypy errors.
    """
    extra = dict(result.extra)
    if result.gate == "coverage" and "statements" in extra:
        names = {
            "statements": "statements",
            "missing": "missing",
            "branches": "branches",
            "partial": "partial_branches",
            "missing_branches": "missing_branches",
        }
        return {name: extra[key] for name, key in names.items() if key in extra}
    if result.gate == "docstrings" and "total" in extra:
        return {
            "covered": extra["covered"],
            "total": extra["total"],
            "missing": extra["total"] - extra["covered"],
        }
    if result.gate in {"ruff", "mypy"} and result.metric is not None:
        return {"violations" if result.gate == "ruff" else "errors": result.metric}
    return {}


def worse_figure(gate: str, now: float, before: float) -> bool:
    """Whether ``now`` is worse than ``before`` by arithmetic alone (lower %, more problems)."""
    return now < before if gate in HIGHER_IS_BETTER else now > before


def regressed(
    result: GateResult,
    floor: float,
    floor_counts: Mapping[str, float] | None = None,
    tolerance: float = 0.0,
) -> bool:
    """Whether a result is worse than its baseline floor: judged on what got worse.

    A percentage regressed when it is more than ``tolerance`` points below its floor *and* what
    it misses grew (:data:`MISSED_COUNTS`, against ``floor_counts``, the counts of the run that
    set the floor): a module whose percentage dropped only because covered code was deleted has
    not regressed. Without counts on either side, the percentage alone decides. A count (ruff,
    mypy, custom gates) regressed when it is above its floor.
    """
    now = result.metric
    if now is None:
        return False
    if result.gate not in HIGHER_IS_BETTER:
        return now > floor
    if now >= floor - tolerance:
        return False
    missed = MISSED_COUNTS.get(result.gate, ())
    counts = result_counts(result)
    compared = [name for name in missed if name in counts and name in (floor_counts or {})]
    if not compared or floor_counts is None:
        return True
    return any(counts[name] > floor_counts[name] for name in compared)


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


def derive_outcome(
    resolution: Resolution,
    results: Sequence[GateResult],
    kind: BatchKind,
    baseline: Baseline | None = None,
    *,
    goal: CoverageGoal | None = None,
    first_run: Mapping[str, float] | None = None,
    floor_counts: Mapping[str, Mapping[str, float]] | None = None,
    tolerance: float = 0.0,
) -> ItemOutcome:
    """Apply the status rule (module docstring) to one item.

    ``goal`` is the batch's ``Target Coverage`` and ``first_run`` the item's metrics in the
    first run of the history: with the baseline, where :func:`starting_point` looks.
    ``floor_counts`` (per gate) and ``tolerance`` (points) refine what is worse than the
    baseline (:func:`regressed`).
    """
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
        r
        for r in applicable
        if r.gate in before
        and regressed(r, before[r.gate], (floor_counts or {}).get(r.gate), tolerance)
    ]
    improved = any(
        r.metric is not None
        and r.gate in before
        and r.metric != before[r.gate]
        and not worse_figure(r.gate, r.metric, before[r.gate])
        for r in applicable
    )
    all_pass = bool(applicable) and all(r.passed for r in applicable)

    def outcome(status: PlanStatus, reason: str = "", **flags: bool) -> ItemOutcome:
        return ItemOutcome(
            item, resolution, tuple(results), status, reason=reason, improved=improved, **flags
        )

    if errors:
        return outcome(
            PlanStatus.FAILED, "; ".join(f"{r.gate}: {r.reason}" for r in errors), error=True
        )
    if worse:
        changes = ", ".join(
            f"{r.gate} {_figure(r.gate, before[r.gate])} \u2192 {_figure(r.gate, r.metric or 0)}"
            for r in worse
        )
        return outcome(PlanStatus.FAILED, "worse than baseline: " + changes, regression=True)
    if all_pass:
        return outcome(PlanStatus.DONE)
    failing = [r for r in applicable if not r.passed]
    if item.status is PlanStatus.DONE:
        why = ", ".join(f"{r.gate} {r.reason}" if r.reason else f"{r.gate} fails" for r in failing)
        return outcome(PlanStatus.FAILED, f"recorded DONE, {why}", regression=True)
    reason = "failing: " + ", ".join(r.gate for r in failing)
    progress = _progress(kind, applicable, before, goal, first_run or {})
    if progress:
        return outcome(PlanStatus.IN_PROGRESS, f"{reason}; {progress}")
    if item.status is PlanStatus.IN_PROGRESS:
        return outcome(PlanStatus.IN_PROGRESS, f"{reason}; the plan records it IN PROGRESS")
    return outcome(PlanStatus.QUEUED, reason)


def _progress(
    kind: BatchKind,
    applicable: Sequence[GateResult],
    before: Mapping[str, float],
    goal: CoverageGoal | None,
    first_run: Mapping[str, float],
) -> str:
    """How a primary metric moved toward its target ('' when none did)."""
    if kind is BatchKind.CODEGEN:
        return "generated"
    wanted = PRIMARY_GATES[kind]
    # A batch whose **Gates:** narrow away every primary gate is about the gates it kept.
    primary = [r for r in applicable if r.gate in wanted] or list(applicable)
    moves = []
    for r in primary:
        if r.metric is None:
            continue
        start = starting_point(r.gate, before, goal, first_run)
        if moved(r.gate, r.metric, start):
            now = _figure(r.gate, r.metric)
            moves.append(
                f"{r.gate} {now} (above zero)"
                if start is None
                else f"{r.gate} {_figure(r.gate, start.value)} \u2192 {now} ({start.source})"
            )
    return "moved: " + ", ".join(moves) if moves else ""


def decide(
    manifest: Manifest,
    outcomes: Sequence[ItemOutcome],
    policy: str,
    *,
    blocking: Sequence[str] = (),
) -> Verdict:
    """Apply the merge policy to the outcomes.

    ``blocking`` are reasons gates give for blocking the merge by themselves (merge gates:
    :attr:`~pytest_phase7.gates.base.GateRun.blocking`); every policy but ``never`` honours them.
    """
    counts = Counter(o.status for o in outcomes)
    ordered = tuple((s.label, counts.get(s, 0)) for s in REPORT_ORDER)
    if policy == "never":
        return Verdict(policy, False, (), ordered)
    reasons: list[str] = []
    regressed = [o for o in outcomes if o.regression]
    errored = [o for o in outcomes if o.error and not o.regression]
    if regressed:
        reasons.append(_items_phrase(regressed, "regressed"))
    reasons += _error_phrases(errored)
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
    reasons += dict.fromkeys(blocking)
    return Verdict(policy, bool(reasons), tuple(reasons), ordered)


#: How an item whose target did not resolve is named in the verdict (one item, several).
_TARGET_PHRASES = {
    ResolutionState.AMBIGUOUS: ("has an ambiguous target", "have an ambiguous target"),
    ResolutionState.MISSING: (
        "has a target that was not found",
        "have targets that were not found",
    ),
    ResolutionState.ESCAPES: (
        "has a target outside the rootdir",
        "have targets outside the rootdir",
    ),
    ResolutionState.INVALID: (
        "has a target no gate can read",
        "have targets no gate can read",
    ),
}


def _error_phrases(errored: Sequence[ItemOutcome]) -> list[str]:
    """What blocked, told apart: targets that did not resolve (by why), gates that were ERROR."""
    phrases = []
    for state, words in _TARGET_PHRASES.items():
        unresolved = [o for o in errored if o.resolution.state is state]
        if unresolved:
            phrases.append(_items_phrase(unresolved, words))
    unchecked = [o for o in errored if o.resolution.state not in _TARGET_PHRASES]
    if unchecked:
        gates = dict.fromkeys(
            r.gate for o in unchecked for r in o.results if r.status is GateStatus.ERROR
        )
        what = f"{', '.join(gates)} ERROR" if gates else "ERROR"
        phrases.append(_items_phrase(unchecked, f"could not be checked ({what})"))
    return phrases


def _items_phrase(outcomes: Sequence[ItemOutcome], what: str | tuple[str, str]) -> str:
    numbers = [f"#{o.item.number}" for o in outcomes]
    shown = ", ".join(numbers[:8]) + (f" and {len(numbers) - 8} more" if len(numbers) > 8 else "")
    one = len(numbers) == 1
    verb = what if isinstance(what, str) else what[0 if one else 1]
    return f"{len(numbers)} {'item' if one else 'items'} {verb} ({shown})"


def batch_kinds(manifest: Manifest) -> Mapping[int, BatchKind]:
    """Batch number -> kind, for :func:`derive_outcome`."""
    return {batch.number: batch.kind for batch in manifest.batches}
