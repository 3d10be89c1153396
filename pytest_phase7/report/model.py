"""What a Phase 7 report says: the data every renderer reads, and the summaries it shows.

:class:`ReportData` is the one structure the renderers read: a
:class:`~pytest_phase7.engine.RunResult` plus what the run knew besides it (the baseline, tool
versions, report sections contributed by hooks). ``pytest --phase7`` builds it live;
``phase7 report`` rebuilds it from a JSON report (:mod:`pytest_phase7.report.json`), so the
terminal, Markdown and JSON renderings of a saved result are those of the live run.

The summaries every renderer shows are computed here once: progress per batch, per phase and in
total (items done / total, hours done / total), the plan's success criteria evaluated against
the gate results, and the rows and details of an item table. The renderers import this module;
it imports none of them.
"""

from __future__ import annotations

import math
import platform
import re
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pytest_phase7 import __version__
from pytest_phase7.engine import RunResult
from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.manifest.values import infer_kind
from pytest_phase7.model import Batch, Criterion, Manifest, Phase, PlanStatus
from pytest_phase7.resolve.selection import describe
from pytest_phase7.resolve.targets import ResolutionState
from pytest_phase7.status.rules import HIGHER_IS_BETTER, REPORT_ORDER, ItemOutcome

#: The glyph the plan writes before each status (the real emoji, never a mangled form).
STATUS_GLYPHS: dict[PlanStatus, str] = {
    PlanStatus.DONE: "\u2705",  # white heavy check mark
    PlanStatus.IN_PROGRESS: "\U0001f504",  # anticlockwise arrows
    PlanStatus.QUEUED: "\u23f3",  # hourglass with flowing sand
    PlanStatus.FAILED: "\u274c",  # cross mark
}


def status_badge(status: PlanStatus) -> str:
    """The canonical way a plan writes a status: ``✅ DONE``, ``🔄 IN PROGRESS``, ..."""
    return f"{STATUS_GLYPHS[status]} {status.label}"


# --- the shared report data ----------------------------------------------------------------


@dataclass(frozen=True)
class ReportData:
    """A run's result and what the renderers need besides it.

    ``baseline`` maps target ref -> gate -> the baseline metric (the "from" of ``5% -> 70%``);
    ``versions`` are ``(name, version)`` pairs of Python, pytest, phase7 and every gate's tool;
    ``sections`` are ``(title, markdown)`` pairs from ``pytest_phase7_report_sections``.
    """

    result: RunResult
    baseline: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    versions: tuple[tuple[str, str], ...] = ()
    sections: tuple[tuple[str, str], ...] = ()

    def baseline_of(self, outcome: ItemOutcome, gate: str) -> float | None:
        """The baseline metric of one item's target for one gate, if there is one."""
        target = outcome.resolution.target
        if target is None:
            return None
        return self.baseline.get(target.ref, {}).get(gate)


def report_data(
    result: RunResult,
    baseline: Mapping[str, Mapping[str, float]] | None = None,
    sections: Sequence[tuple[str, str]] = (),
) -> ReportData:
    """Build the :class:`ReportData` of a live run (tool versions read from this process)."""
    return ReportData(
        result=result,
        baseline={ref: dict(gates) for ref, gates in (baseline or {}).items()},
        versions=tool_versions(result),
        sections=tuple((str(title), str(text)) for title, text in sections),
    )


def tool_versions(result: RunResult) -> tuple[tuple[str, str], ...]:
    """Python, pytest and phase7 versions, then each gate's tool version as it reported it."""
    import pytest  # noqa: PLC0415 - pytest is a dependency, imported only when reporting

    versions = [
        ("python", platform.python_version()),
        ("pytest", pytest.__version__),
        ("pytest-phase7", __version__),
    ]
    versions += [(run.gate, run.tool_version) for run in result.gate_runs if run.tool_version]
    return tuple(versions)


# --- progress ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Items and hours done out of a total, for a batch, a phase or the whole plan.

    ``hours_known`` is False when no item has an estimate (the hours then mean nothing).
    """

    items_done: int
    items_total: int
    hours_done: float
    hours_total: float
    hours_known: bool
    counts: tuple[tuple[PlanStatus, int], ...]

    @property
    def percent(self) -> float:
        """Items done as a percentage of all items (100 when there are no items to do)."""
        if not self.items_total:
            return 100.0
        return 100.0 * self.items_done / self.items_total


def item_hours(outcome: ItemOutcome, batch: Batch | None) -> float | None:
    """An item's estimate; in a batch that estimates no item, an even share of its duration."""
    item = outcome.item
    if item.estimate_hours is not None:
        return item.estimate_hours
    if (
        batch is not None
        and batch.duration_hours is not None
        and batch.items
        and all(i.estimate_hours is None for i in batch.items)
    ):
        return batch.duration_hours / len(batch.items)
    return None


#: The last manifest's batch table (see :func:`_batch_shares`), held weakly.
_SHARES: tuple[weakref.ref[Manifest], Mapping[int, float | None]] | None = None


def _batch_shares(manifest: Manifest) -> Mapping[int, float | None]:
    """Per batch number, what :func:`item_hours` gives an item without an estimate.

    Reports ask for the progress of every batch and phase: building this table per call made
    them quadratic in the number of batches, so it is built once per manifest (which is frozen)
    and kept for the last manifest seen.
    """
    global _SHARES  # noqa: PLW0603 - a one-entry cache keyed by the manifest's identity
    cached = _SHARES
    if cached is not None and cached[0]() is manifest:
        return cached[1]
    # The last batch of a number wins, as in a dict built from the batches in order.
    batches = {batch.number: batch for batch in manifest.batches}
    shares: dict[int, float | None] = {}
    for number, batch in batches.items():
        share = None
        if (
            batch.duration_hours is not None
            and batch.items
            and all(i.estimate_hours is None for i in batch.items)
        ):
            share = batch.duration_hours / len(batch.items)
        shares[number] = share
    _SHARES = (weakref.ref(manifest), shares)
    return shares


def outcome_hours(result: RunResult, outcome: ItemOutcome) -> float | None:
    """:func:`item_hours` of one outcome of ``result`` in its batch (the batch's share cached)."""
    hours = outcome.item.estimate_hours
    if hours is None:
        hours = _batch_shares(result.manifest).get(outcome.item.batch)
    return hours


def progress_of(result: RunResult, outcomes: Sequence[ItemOutcome]) -> Progress:
    """Sum up ``outcomes`` (items of ``result``)."""
    shares = _batch_shares(result.manifest)
    done = hours_done = hours_total = 0.0
    known = False
    for outcome in outcomes:
        # item_hours(outcome, its batch), with the batch's share computed once per batch.
        hours = outcome.item.estimate_hours
        if hours is None:
            hours = shares.get(outcome.item.batch)
        finished = outcome.status is PlanStatus.DONE
        done += finished
        if hours is not None:
            known = True
            hours_total += hours
            hours_done += hours if finished else 0.0
    counts = Counter(o.status for o in outcomes)
    return Progress(
        items_done=int(done),
        items_total=len(outcomes),
        hours_done=hours_done,
        hours_total=hours_total,
        hours_known=known,
        counts=tuple((status, counts.get(status, 0)) for status in REPORT_ORDER),
    )


def batch_progress(result: RunResult, batch: Batch) -> Progress:
    """Progress of one batch."""
    return progress_of(result, list(result.by_batch.get(batch.number, ())))


def phase_progress(result: RunResult, phase: Phase) -> Progress:
    """Progress of one phase: the items of all its batches."""
    wanted = set(phase.batches)
    return progress_of(result, [o for o in result.outcomes if o.item.batch in wanted])


def total_progress(result: RunResult) -> Progress:
    """Progress of the whole plan."""
    return progress_of(result, result.outcomes)


def hours_text(hours: float) -> str:
    """``18``, ``1.5``, ``0.33``: hours as a plan writes them."""
    return f"{round(hours, 2):g}"


def progress_text(progress: Progress) -> str:
    """``1/6 done, 2/18 h``: the subtotal shown after a batch's title."""
    text = f"{progress.items_done}/{progress.items_total} done"
    if progress.hours_known:
        text += f", {hours_text(progress.hours_done)}/{hours_text(progress.hours_total)} h"
    return text


# --- success criteria ----------------------------------------------------------------------

#: Words in a criterion that name a gate: ``70%+ coverage`` -> coverage, ``linting`` -> ruff.
CRITERION_GATES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("coverage", re.compile(r"\bcoverage\b", re.IGNORECASE)),
    ("ruff", re.compile(r"\blint|\bruff\b", re.IGNORECASE)),
    ("mypy", re.compile(r"\btype[- ]?check|\btyping\b|\btypes?\b|\bmypy\b", re.IGNORECASE)),
    ("docstrings", re.compile(r"\bdocument|\bdocstring", re.IGNORECASE)),
)


@dataclass(frozen=True)
class CriterionResult:
    """One success criterion of the plan, evaluated against this run.

    ``met`` is None when nothing this run measured bears on it; ``figure`` is the number behind
    the verdict (``5/7 targets >= 70%``); ``basis`` names the gates or items it was judged on.
    """

    criterion: Criterion
    met: bool | None
    figure: str
    basis: tuple[str, ...] = ()


def evaluate_criteria(result: RunResult) -> tuple[CriterionResult, ...]:
    """Judge every success criterion of the plan by what it names.

    A criterion naming gates (coverage, linting, type checks, documentation) is met when every
    target those gates checked passes them. Otherwise one whose label names a kind of batch
    (``Code Generation``) is met when every item of such batches is DONE, and any other when
    every item of the plan is DONE.
    """
    return tuple(_evaluate(result, criterion) for criterion in result.manifest.criteria)


def _evaluate(result: RunResult, criterion: Criterion) -> CriterionResult:
    words = f"{criterion.label} {criterion.text}"
    named = [gate for gate, pattern in CRITERION_GATES if pattern.search(words)]
    if named:
        ran = [gate for gate in named if gate in result.gates]
        if not ran:
            return CriterionResult(
                criterion, None, f"not measured: {', '.join(named)} did not run", tuple(named)
            )
        parts = [_gate_figure(result, gate) for gate in ran]
        figures = [figure for _, figure in parts]
        verdicts = [met for met, _ in parts]
        met = None if any(v is None for v in verdicts) else all(verdicts)
        return CriterionResult(criterion, met, "; ".join(figures), tuple(ran))
    kind = infer_kind(criterion.label) if criterion.label else None
    numbers = {b.number for b in result.manifest.batches if kind is not None and b.kind is kind}
    if numbers:
        outcomes = [o for o in result.outcomes if o.item.batch in numbers]
        where = f"items of {criterion.label} batches"
    else:
        outcomes = list(result.outcomes)
        where = "items"
    done = sum(1 for o in outcomes if o.status is PlanStatus.DONE)
    met = bool(outcomes) and done == len(outcomes)
    return CriterionResult(criterion, met, f"{done}/{len(outcomes)} {where} DONE", ("items",))


def _finite(metric: float | None) -> bool:
    # A custom gate may report NaN or infinity: no figure to sum or compare.
    return metric is not None and math.isfinite(metric)


def _gate_figure(result: RunResult, gate: str) -> tuple[bool | None, str]:
    by_ref: dict[str, GateResult] = {}
    for outcome in result.outcomes:
        gate_result = outcome.result(gate)
        target = outcome.resolution.target
        if gate_result is None or target is None or gate_result.status is GateStatus.SKIP:
            continue
        by_ref.setdefault(target.ref, gate_result)
    if not by_ref:
        return None, f"{gate}: no target checked"
    measured = {ref: r for ref, r in by_ref.items() if r.status is not GateStatus.ERROR}
    errors = len(by_ref) - len(measured)
    passed = sum(1 for r in measured.values() if r.passed)
    total = len(by_ref)
    if gate in HIGHER_IS_BETTER:
        thresholds = Counter(r.threshold for r in measured.values() if r.threshold is not None)
        bound = f" \u2265 {thresholds.most_common(1)[0][0]:g}%" if thresholds else ""
        text = f"{passed}/{total} targets{bound} {gate}"
        lowest = min(
            (item for item in measured.items() if _finite(item[1].metric)),
            key=lambda item: (item[1].metric, item[0]),
            default=None,
        )
        if lowest is not None and not lowest[1].passed:
            shown = lowest[1].display or f"{lowest[1].metric:g}"
            text += f" (lowest: {lowest[0]} {shown})"
    elif gate in {"ruff", "mypy"}:
        counts = [r.metric for r in measured.values() if r.metric is not None and _finite(r.metric)]
        found = int(sum(counts))
        offenders = sum(1 for count in counts if count)
        noun = "violation" if gate == "ruff" else "error"
        text = f"{gate}: {found} {noun}{'' if found == 1 else 's'}"
        text += f" in {offenders} of {total} targets"
    else:
        text = f"{gate}: {passed}/{total} targets pass"
    if errors:
        text += f", {errors} could not be measured"
    return passed == total, text


def collapse_unmapped(outcomes: Sequence[ItemOutcome]) -> list[tuple[str, list[ItemOutcome]]]:
    """The rows a table shows: each its ``#`` cell and its items (several: a collapsed range).

    Consecutive items of a batch with no target named yet, numbered one after the other and
    with the same status, are one row ``7-12``: a plan of 41 items with 6 mapped is not 35
    empty rows.
    """
    pending: list[tuple[str, list[ItemOutcome]]] = []
    previous: ItemOutcome | None = None
    for outcome in outcomes:
        if (
            previous is not None
            and outcome.resolution.state is ResolutionState.UNMAPPED
            and previous.resolution.state is ResolutionState.UNMAPPED
            and outcome.item.batch == previous.item.batch
            and outcome.item.number == previous.item.number + 1
            and outcome.status is previous.status
        ):
            group = pending[-1][1]
            group.append(outcome)
            pending[-1] = (f"{group[0].item.number}-{outcome.item.number}", group)
        else:
            pending.append((str(outcome.item.number), [outcome]))
        previous = outcome
    return pending


def item_details(outcome: ItemOutcome) -> list[str]:
    """What a reader needs to act on one item: each gate's reason and details, or why not checked.

    ``gate: text`` lines: missing line ranges, ruff codes, mypy messages, undocumented names.
    """
    details = []
    for gate_result in outcome.results:
        if gate_result.status is GateStatus.SKIP:
            continue
        if gate_result.reason:
            details.append(f"{gate_result.gate}: {gate_result.reason}")
        details.extend(f"{gate_result.gate}: {d}" for d in gate_result.details)
    if outcome.reason and not outcome.results:
        details.append(outcome.reason)
    return details


def suite_line(result: RunResult) -> str:
    """Which suite the coverage came from ('' without a coverage gate or a known suite)."""
    if result.suite is None or "coverage" not in result.gates:
        return ""
    return describe(result.suite)
