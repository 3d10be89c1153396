"""What a Phase 7 report says, shared by every renderer, and its terminal rendering.

:class:`ReportData` is the one structure the renderers read: a
:class:`~pytest_phase7.engine.RunResult` plus what the run knew besides it (the baseline, tool
versions, report sections contributed by hooks). ``pytest --phase7`` builds it live;
``phase7 report`` rebuilds it from a JSON report (:mod:`pytest_phase7.report_json`), so the
terminal, Markdown and JSON renderings of a saved result are those of the live run.

The summaries every renderer shows are computed here once: progress per batch, per phase and in
total (items done / total, hours done / total), and the plan's success criteria evaluated against
the gate results. The terminal renderer returns lines of ``(text, markup)`` segments, so it is
testable as plain data; the plugin writes them with pytest's terminal writer (which honours
``--color`` and ``NO_COLOR``) and the ``phase7`` command with :func:`to_text`.
"""

from __future__ import annotations

import math
import os
import platform
import re
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_phase7 import __version__
from pytest_phase7.engine import RunResult
from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.gcpause import gc_paused
from pytest_phase7.manifest.values import infer_kind
from pytest_phase7.model import Batch, Criterion, Manifest, Phase, PlanStatus
from pytest_phase7.resolve import ResolutionState
from pytest_phase7.selection import describe
from pytest_phase7.status import HIGHER_IS_BETTER, REPORT_ORDER, ItemOutcome

#: The widest the table may be.
MAX_WIDTH = 100

#: At ``-v``: gate details shown per item (the rest is counted) and characters per detail line
#: (a file with hundreds of missing ranges is one line). ``-vv`` shows everything, as pytest
#: itself truncates at ``-v`` and shows all at ``-vv``; the JSON report always has everything.
MAX_TERMINAL_DETAILS = 10
MAX_DETAIL_CHARS = 2 * MAX_WIDTH

#: Short gate titles for table headers.
SHORT_TITLES = {"coverage": "Cov", "ruff": "Ruff", "mypy": "Mypy", "docstrings": "Docs"}

STATUS_MARKUP: dict[PlanStatus, dict[str, bool]] = {
    PlanStatus.DONE: {"green": True, "bold": True},
    PlanStatus.IN_PROGRESS: {"yellow": True},
    PlanStatus.QUEUED: {},
    PlanStatus.FAILED: {"red": True, "bold": True},
}

#: The glyph the plan writes before each status (the real emoji, never a mangled form).
STATUS_GLYPHS: dict[PlanStatus, str] = {
    PlanStatus.DONE: "\u2705",  # white heavy check mark
    PlanStatus.IN_PROGRESS: "\U0001f504",  # anticlockwise arrows
    PlanStatus.QUEUED: "\u23f3",  # hourglass with flowing sand
    PlanStatus.FAILED: "\u274c",  # cross mark
}

Segment = tuple[str, dict[str, bool]]
Line = list[Segment]


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


# --- terminal ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A table column: header, the most characters it may take, and alignment."""

    header: str
    limit: int
    right: bool = False


def shorten(text: str, width: int) -> str:
    """Shorten ``text`` to ``width`` characters by cutting the middle (``agent_…ers.py``)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    head = (width - 1) // 2
    tail = width - 1 - head
    return text[:head] + "…" + text[len(text) - tail :]


#: Footnote for results carried over in changed-only mode (``--phase7-changed-since``).
CARRIED_NOTE = (
    "* not re-checked: unchanged since the --phase7-changed-since ref (last known result)"
)


def gate_cell(result: GateResult | None) -> str:
    """What a gate's cell shows: the tool's own figure, a mark for failures, or the state."""
    if result is None or result.status is GateStatus.SKIP:
        return "-"
    if result.status is GateStatus.ERROR:
        return "ERROR"
    shown = result.display or ("" if result.metric is None else f"{result.metric:g}")
    if result.carried:
        shown += "*"
    return shown if result.status is GateStatus.PASS else f"{shown} ✗"


#: Markup of plain cells. Shared (never mutated), like :data:`STATUS_MARKUP`: a table of 10k
#: rows built fresh dicts per cell, and the garbage collector then walked all of them.
_PLAIN: dict[str, bool] = {}

_GATE_MARKUP: dict[GateStatus, dict[str, bool]] = {
    GateStatus.PASS: {"green": True},
    GateStatus.FAIL: {"red": True},
    GateStatus.ERROR: {"red": True, "bold": True},
    GateStatus.SKIP: _PLAIN,
}


def _gate_markup(result: GateResult | None) -> dict[str, bool]:
    if result is None:
        return _PLAIN
    return _GATE_MARKUP[result.status]


#: The target column of an item without a target (built once, not per row).
_NO_TARGET = {
    ResolutionState.UNMAPPED: "(not mapped)",
    ResolutionState.MISSING: "(not found)",
    ResolutionState.AMBIGUOUS: "(ambiguous)",
    ResolutionState.ESCAPES: "(outside rootdir)",
    ResolutionState.RESOLVED: "",
}


def target_cell(outcome: ItemOutcome) -> str:
    """The target column: the resolved path, or why there is none."""
    resolution = outcome.resolution
    if resolution.target is not None:
        return resolution.target.ref
    return _NO_TARGET[resolution.state]


@dataclass(frozen=True, slots=True)
class Row:
    """One rendered table row and the outcome it shows."""

    outcome: ItemOutcome
    cells: tuple[str, ...]
    markups: tuple[dict[str, bool], ...]


def common_folder(refs: Sequence[str]) -> str:
    """The folder all target refs share (``src/tta/``), or '' when they share none."""
    folders = [ref.rstrip("/").split("/")[:-1] for ref in refs]
    if not folders:
        return ""
    # The longest prefix shared by all is the one the smallest and the largest share (in
    # sorted order everything between them starts with it too): two comparisons per ref,
    # where zip(*folders) built a tuple and a set of every ref's part for each level.
    first, last = min(folders), max(folders)
    shared: list[str] = []
    for mine, theirs in zip(first, last, strict=False):
        if mine != theirs:
            break
        shared.append(mine)
    return "/".join(shared) + "/" if shared else ""


@gc_paused
def render_terminal(result: RunResult, verbosity: int = 0) -> list[Line]:
    """The status table: a section per batch, then problems, then the verdict line last.

    Each batch's title line carries its subtotals (items done / total, hours done / total).
    ``verbosity`` < 0 (``-q``) shows only items that are not DONE; > 0 (``-v``) adds each gate's
    details (missing lines, violations, messages, undocumented names) under its item, bounded
    per item at ``-v`` and complete at ``-vv`` (:func:`terminal_details`). Targets are
    shown relative to the folder they all share, named once in the header, and as their folder
    alone when they end with the item's File cell. The table fits :data:`MAX_WIDTH` columns:
    long names are shortened in the middle.
    """
    gates = list(result.gates)
    refs = [o.resolution.target.ref for o in result.outcomes if o.resolution.target is not None]
    prefix = common_folder(refs)
    columns = [
        Column("#", 5, right=True),
        Column("Module", 24),
        Column("File", 32),
        Column(f"Target (in {prefix})" if prefix else "Target", 48),
        *[Column(SHORT_TITLES.get(g, result.title_of(g)), 10, right=True) for g in gates],
        Column("Status", 11),
    ]
    rows_by_batch: dict[int, list[Row]] = {}
    for outcome in result.outcomes:
        if verbosity < 0 and outcome.status is PlanStatus.DONE:
            continue
        target = target_cell(outcome)
        if prefix and target.startswith(prefix):
            target = target[len(prefix) :]
        # Next to the File column, the folder is all the target adds: show just that.
        file_name = outcome.item.file.strip("/")
        if file_name and (target == file_name or target.endswith("/" + file_name)):
            target = target[: -len(file_name)] or "./"
        cells = [str(outcome.item.number), outcome.item.module, outcome.item.file, target]
        markups: list[dict[str, bool]] = [_PLAIN, _PLAIN, _PLAIN, _PLAIN]
        for gate in gates:
            gate_result = outcome.result(gate)
            cells.append(gate_cell(gate_result))
            markups.append(_gate_markup(gate_result))
        cells.append(outcome.status.label)
        markups.append(STATUS_MARKUP[outcome.status])
        rows_by_batch.setdefault(outcome.item.batch, []).append(
            Row(outcome, tuple(cells), tuple(markups))
        )
    widths = _fit_widths(columns, [row.cells for rows in rows_by_batch.values() for row in rows])

    # Per column: its width, alignment, the separator before it, and whether it is padded
    # (the last is not); computed once for every row.
    last = len(columns) - 1
    layouts = [(widths[i], c.right, "  " if i else "", i < last) for i, c in enumerate(columns)]
    header = _join([c.header for c in columns], columns, widths)
    lines: list[Line] = []
    for batch in result.manifest.batches:
        outcomes = result.by_batch.get(batch.number, ())
        title = f"Batch {batch.number}: {batch.title}"
        if batch.priority:
            title += f" [{batch.priority}]"
        subtotal = f"  ({progress_text(batch_progress(result, batch))})"
        title = shorten(title, MAX_WIDTH - len(subtotal))
        lines.append([(title + subtotal, {"bold": True})])
        rows = rows_by_batch.get(batch.number, [])
        if not rows:
            lines.append([("  (all items DONE)" if outcomes else "  (no items)", {})])
            continue
        lines.append([(header, {})])
        for row in rows:
            lines.append(
                [
                    (_cell_text(cell, layout), markup)
                    for cell, layout, markup in zip(row.cells, layouts, row.markups, strict=True)
                ]
            )
            if verbosity > 0:
                details = terminal_details(row.outcome, verbosity)
                lines.extend([(f"      {detail}", {})] for detail in details)
    lines.extend(_problem_lines(result))
    if any(r.carried for o in result.outcomes for r in o.results):
        lines.append([(CARRIED_NOTE, {"yellow": True})])
    suite = suite_line(result)
    if suite:
        lines.append([(suite, {} if result.suite and result.suite.complete else {"yellow": True})])
    if verbosity > 0:
        lines.append([(timing_line(result), {})])
    verdict = result.verdict
    lines.append(
        [(verdict.summary, {"red": True, "bold": True} if verdict.blocked else {"green": True})]
    )
    return lines


def terminal_details(outcome: ItemOutcome, verbosity: int) -> list[str]:
    """An item's details for the terminal: all of them at ``-vv``, a bounded view at ``-v``.

    At ``-v`` at most :data:`MAX_TERMINAL_DETAILS` lines of at most :data:`MAX_DETAIL_CHARS`
    characters; what is left out is said, with how to see it.
    """
    details = item_details(outcome)
    if verbosity >= 2:
        return details
    # Folding a single line away would take a line to say so: show it instead.
    limit = len(details) if len(details) <= MAX_TERMINAL_DETAILS + 1 else MAX_TERMINAL_DETAILS
    shown = [
        detail if len(detail) <= MAX_DETAIL_CHARS else detail[: MAX_DETAIL_CHARS - 1] + "…"
        for detail in details[:limit]
    ]
    if len(details) > limit:
        shown.append(f"… and {len(details) - limit} more (-vv shows all)")
    return shown


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


def _problem_lines(result: RunResult) -> list[Line]:
    lines: list[Line] = []
    seen: set[str] = set()
    for outcome in result.outcomes:
        if outcome.status is not PlanStatus.FAILED:
            continue
        for gate_result in outcome.results:
            if gate_result.status is GateStatus.ERROR:
                text = f"ERROR {gate_result.gate}: {gate_result.reason}"
                if gate_result.hint:
                    text += f" (hint: {gate_result.hint})"
                if text not in seen:
                    seen.add(text)
                    lines.append([(text, {"red": True})])
        if not outcome.results and outcome.reason:
            lines.append([(f"#{outcome.item.number}: {outcome.reason}", {"red": True})])
    for problem in result.manifest.warnings:
        lines.append([(f"warning: {problem}", {"yellow": True})])
    lines.extend([(note, {"yellow": True})] for note in result.notes)
    return lines


#: Shrinking order for :func:`_fit_widths`: column index -> narrowest it may get, in two rounds
#: (first to a readable width, then as narrow as still useful).
_FLOORS = ({3: 20, 1: 12, 2: 16}, {3: 8, 1: 6, 2: 10})


def _fit_widths(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> list[int]:
    widths = [
        min(column.limit, max([len(column.header), *(len(row[i]) for row in rows)]))
        for i, column in enumerate(columns)
    ]
    # Shrink Target first, then Module, then File (never below their floors) to fit MAX_WIDTH.
    for floors in _FLOORS:
        for index, floor in floors.items():
            excess = sum(widths) + 2 * (len(widths) - 1) - MAX_WIDTH
            if excess <= 0:
                return widths
            widths[index] = max(min(floor, widths[index]), widths[index] - excess)
    return widths


def _cell_text(cell: str, layout: tuple[int, bool, str, bool]) -> str:
    """One table cell as shown: shortened to its column, padded unless last, separated."""
    width, right, separator, padded = layout
    text = shorten(cell, width)
    if padded:
        text = _pad(text, width, right)
    return separator + text


def _pad(text: str, width: int, right: bool) -> str:
    return text.rjust(width) if right else text.ljust(width)


def _join(cells: Sequence[str], columns: Sequence[Column], widths: Sequence[int]) -> str:
    return "  ".join(
        _pad(shorten(cell, widths[i]), widths[i], columns[i].right) for i, cell in enumerate(cells)
    ).rstrip()


def suite_line(result: RunResult) -> str:
    """Which suite the coverage came from ('' without a coverage gate or a known suite)."""
    if result.suite is None or "coverage" not in result.gates:
        return ""
    return describe(result.suite)


def timing_line(result: RunResult) -> str:
    """``gate times: ruff 0.05s (cached), mypy 1.20s``: what each gate cost."""
    parts = []
    for run in result.gate_runs:
        if not run.results:
            continue
        cached = all(r.cached for r in run.results.values())
        part = f"{run.gate} {run.seconds:.2f}s"
        if cached:
            part += " (cached)"
        parts.append(part)
    return "gate times: " + (", ".join(parts) if parts else "no gate ran")


def terminal_lines(data: ReportData, verbosity: int = 0) -> list[Line]:
    """The terminal report of :class:`ReportData`: the table, hook sections, the verdict last."""
    lines = render_terminal(data.result, verbosity)
    body, verdict = lines[:-1], lines[-1]
    for title, text in data.sections:
        body.append([(f"--- {title} ---", {"bold": True})])
        body.extend([(line, {})] for line in text.splitlines())
    return [*body, verdict]


_ANSI = {"bold": "1", "red": "31", "green": "32", "yellow": "33"}


def to_text(lines: Sequence[Line], *, color: bool = False) -> str:
    """Lines as text, with ANSI colours when ``color`` (for the ``phase7`` command)."""
    out = []
    for line in lines:
        parts = []
        for text, markup in line:
            codes = [_ANSI[name] for name, on in markup.items() if on and name in _ANSI]
            parts.append(f"\x1b[{';'.join(codes)}m{text}\x1b[0m" if color and codes else text)
        out.append("".join(parts))
    return "\n".join(out) + "\n"


def use_color(choice: str, isatty: bool, environ: Mapping[str, str] | None = None) -> bool:
    """Whether to colour output: ``yes``/``no``, or ``auto`` = a terminal and no ``NO_COLOR``.

    ``FORCE_COLOR`` (non-empty) turns colour on in ``auto`` mode, as pytest does.
    """
    env = os.environ if environ is None else environ
    if choice == "yes":
        return True
    if choice == "no":
        return False
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return isatty and env.get("TERM") != "dumb"


# --- writing report files ------------------------------------------------------------------

#: The environment variable GitHub Actions sets to the step's summary file.
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def write_reports(
    data: ReportData,
    *,
    md_path: Path | None = None,
    json_path: Path | None = None,
    step_summary: Path | None = None,
) -> list[str]:
    """Write the Markdown and JSON reports (atomically) and append to the step summary.

    Returns one line per file written, for the caller to show. ``OSError`` propagates.
    """
    from pytest_phase7.atomic import write_atomic  # noqa: PLC0415
    from pytest_phase7.report_json import dumps  # noqa: PLC0415
    from pytest_phase7.report_md import (  # noqa: PLC0415
        MAX_COMMENT_CHARS,
        append_step_summary,
        render_markdown,
    )

    written = []
    if json_path is not None:
        write_atomic(json_path, dumps(data).encode("utf-8"))
        written.append(f"phase7: JSON report written to {json_path}")
    if md_path is not None:
        # The Markdown file is what CI posts as a PR comment: it keeps to that limit.
        text = render_markdown(data, max_chars=MAX_COMMENT_CHARS)
        write_atomic(md_path, text.encode("utf-8"))
        written.append(f"phase7: Markdown report written to {md_path}")
    if step_summary is not None:
        append_step_summary(data, step_summary)
        written.append(f"phase7: Markdown report appended to {step_summary}")
    return written
