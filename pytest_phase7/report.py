"""Render a :class:`~pytest_phase7.engine.RunResult` as the Phase 7 status table (terminal).

The renderer returns lines of ``(text, markup)`` segments, so it is testable as plain data and
the plugin only writes them with pytest's terminal writer (which handles ``--color``/NO_COLOR).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pytest_phase7.engine import RunResult
from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.model import PlanStatus
from pytest_phase7.resolve import ResolutionState
from pytest_phase7.status import ItemOutcome

#: The widest the table may be.
MAX_WIDTH = 100

#: Short gate titles for table headers.
SHORT_TITLES = {"coverage": "Cov", "ruff": "Ruff", "mypy": "Mypy", "docstrings": "Docs"}

STATUS_MARKUP: dict[PlanStatus, dict[str, bool]] = {
    PlanStatus.DONE: {"green": True, "bold": True},
    PlanStatus.IN_PROGRESS: {"yellow": True},
    PlanStatus.QUEUED: {},
    PlanStatus.FAILED: {"red": True, "bold": True},
}

Segment = tuple[str, dict[str, bool]]
Line = list[Segment]


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


def gate_cell(result: GateResult | None) -> str:
    """What a gate's cell shows: the tool's own figure, a mark for failures, or the state."""
    if result is None or result.status is GateStatus.SKIP:
        return "-"
    if result.status is GateStatus.ERROR:
        return "ERROR"
    shown = result.display or ("" if result.metric is None else f"{result.metric:g}")
    return shown if result.status is GateStatus.PASS else f"{shown} ✗"


def _gate_markup(result: GateResult | None) -> dict[str, bool]:
    if result is None:
        return {}
    return {
        GateStatus.PASS: {"green": True},
        GateStatus.FAIL: {"red": True},
        GateStatus.ERROR: {"red": True, "bold": True},
        GateStatus.SKIP: {},
    }[result.status]


def target_cell(outcome: ItemOutcome) -> str:
    """The target column: the resolved path, or why there is none."""
    resolution = outcome.resolution
    if resolution.target is not None:
        return resolution.target.ref
    return {
        ResolutionState.UNMAPPED: "(not mapped)",
        ResolutionState.MISSING: "(not found)",
        ResolutionState.AMBIGUOUS: "(ambiguous)",
        ResolutionState.ESCAPES: "(outside rootdir)",
        ResolutionState.RESOLVED: "",
    }[resolution.state]


@dataclass(frozen=True)
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
    shared: list[str] = []
    for parts in zip(*folders, strict=False):
        if len(set(parts)) != 1:
            break
        shared.append(parts[0])
    return "/".join(shared) + "/" if shared else ""


def render_terminal(result: RunResult, verbosity: int = 0) -> list[Line]:
    """The status table: a section per batch, then problems, then the verdict line last.

    ``verbosity`` < 0 (``-q``) shows only items that are not DONE; > 0 (``-v``) adds each gate's
    details (missing lines, violations, messages, undocumented names) under its item. Targets are
    shown relative to the folder they all share, named once in the header, and as their folder
    alone when they end with the item's File cell.
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
        markups: list[dict[str, bool]] = [{}, {}, {}, {}]
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

    lines: list[Line] = []
    for batch in result.manifest.batches:
        outcomes = [o for o in result.outcomes if o.item.batch == batch.number]
        done = sum(1 for o in outcomes if o.status is PlanStatus.DONE)
        title = f"Batch {batch.number}: {batch.title}"
        if batch.priority:
            title += f" [{batch.priority}]"
        lines.append([(f"{title}  ({done}/{len(outcomes)} done)", {"bold": True})])
        rows = rows_by_batch.get(batch.number, [])
        if not rows:
            lines.append([("  (all items DONE)" if outcomes else "  (no items)", {})])
            continue
        lines.append([(_join([c.header for c in columns], columns, widths), {})])
        for row in rows:
            segments: Line = []
            for index, (cell, column) in enumerate(zip(row.cells, columns, strict=True)):
                text = shorten(cell, widths[index])
                if index < len(columns) - 1:
                    text = _pad(text, widths[index], column.right)
                segments.append((("  " if index else "") + text, row.markups[index]))
            lines.append(segments)
            if verbosity > 0:
                lines.extend([(f"      {detail}", {})] for detail in _details(row.outcome))
    lines.extend(_problem_lines(result))
    if verbosity > 0:
        lines.append([(timing_line(result), {})])
    verdict = result.verdict
    lines.append(
        [(verdict.summary, {"red": True, "bold": True} if verdict.blocked else {"green": True})]
    )
    return lines


def _details(outcome: ItemOutcome) -> list[str]:
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


def _fit_widths(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> list[int]:
    widths = [
        min(column.limit, max([len(column.header), *(len(row[i]) for row in rows)]))
        for i, column in enumerate(columns)
    ]
    # Shrink Target first, then Module, then File (never below their floors) to fit MAX_WIDTH.
    floors = {3: 20, 1: 12, 2: 16}
    for index, floor in floors.items():
        excess = sum(widths) + 2 * (len(widths) - 1) - MAX_WIDTH
        if excess <= 0:
            break
        widths[index] = max(floor, widths[index] - excess)
    return widths


def _pad(text: str, width: int, right: bool) -> str:
    return text.rjust(width) if right else text.ljust(width)


def _join(cells: Sequence[str], columns: Sequence[Column], widths: Sequence[int]) -> str:
    return "  ".join(
        _pad(shorten(cell, widths[i]), widths[i], columns[i].right) for i, cell in enumerate(cells)
    ).rstrip()


def timing_line(result: RunResult) -> str:
    """``gate times: ruff 0.05s (cached), mypy 1.20s (mypy 1.11.0)``: what each gate cost."""
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


def verdict_line(result: RunResult) -> str:
    """The last line of the summary."""
    return result.verdict.summary
