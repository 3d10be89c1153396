"""The terminal report: the Phase 7 status table, criteria, problems and the verdict line.

The renderer returns lines of ``(text, markup)`` segments, so it is testable as plain data; the
plugin writes them with pytest's terminal writer (which honours ``--color`` and ``NO_COLOR``)
and the ``phase7`` command with :func:`to_text`. Widths are display widths (a CJK character or
an emoji takes two columns), and a table wider than the terminal shrinks its text columns, never
its figures.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pytest_phase7.engine import RunResult
from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.gates.cache import NOT_CACHED
from pytest_phase7.gcpause import gc_paused
from pytest_phase7.manifest.checks import KIND_ASSUMED
from pytest_phase7.model import PlanStatus
from pytest_phase7.report.model import (
    ReportData,
    batch_progress,
    collapse_unmapped,
    evaluate_criteria,
    item_details,
    progress_text,
    suite_line,
)
from pytest_phase7.resolve.targets import ResolutionState, snake_case
from pytest_phase7.status.rules import ItemOutcome

#: The table's width when no terminal says otherwise (a test, a file).
DEFAULT_WIDTH = 100

#: At ``-v``: gate details shown per item (the rest is counted) and characters per detail line
#: (a file with hundreds of missing ranges is one line). ``-vv`` shows everything, as pytest
#: itself truncates at ``-v`` and shows all at ``-vv``; the JSON report always has everything.
MAX_TERMINAL_DETAILS = 10
MAX_DETAIL_CHARS = 200

#: Short gate titles for table headers.
SHORT_TITLES = {"coverage": "Cov", "ruff": "Ruff", "mypy": "Mypy", "docstrings": "Docs"}

#: The new-lines gate's name (:data:`pytest_phase7.resolve.diffcov.GATE`, whose module a run
#: outside a pull request does not import).
NEW_LINES = "new_lines"

#: The most columns a gate's cell takes (others: :data:`GATE_CELL_LIMIT`); the new lines'
#: figure is ``12/15 · 3/4 br · 79% ✗``.
GATE_CELL_LIMITS = {NEW_LINES: 24}
GATE_CELL_LIMIT = 10

STATUS_MARKUP: dict[PlanStatus, dict[str, bool]] = {
    PlanStatus.DONE: {"green": True, "bold": True},
    PlanStatus.IN_PROGRESS: {"yellow": True},
    PlanStatus.QUEUED: {},
    PlanStatus.FAILED: {"red": True, "bold": True},
}

Segment = tuple[str, dict[str, bool]]
Line = list[Segment]


# --- terminal ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A table column: header, the most columns it may take (None: any), and alignment.

    A column is never narrower than its header: headers are not cut.
    """

    header: str
    limit: int | None = None
    right: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        """A column is named by its header unless told otherwise (``Target (in src/)``)."""
        if not self.name:
            object.__setattr__(self, "name", self.header)


def char_width(char: str) -> int:
    """How many terminal columns one character takes: 0, 1 or 2.

    Combining marks, variation selectors and zero-width characters take none; East Asian wide
    and fullwidth characters (CJK, most emoji) take two. The same rule as pytest's own writer.
    """
    if unicodedata.combining(char) or unicodedata.category(char) in {"Mn", "Me", "Cf"}:
        return 0
    return 2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1


def display_width(text: str) -> int:
    """The columns ``text`` takes on a terminal (not ``len``: see :func:`char_width`)."""
    if text.isascii():
        return len(text)
    return sum(char_width(char) for char in text)


def _take(text: str, width: int) -> str:
    """The longest start of ``text`` that fits ``width`` columns (its marks kept with it)."""
    used = 0
    for index, char in enumerate(text):
        used += char_width(char)
        if used > width:
            return text[:index]
    return text


def shorten(text: str, width: int) -> str:
    """Shorten ``text`` to ``width`` columns by cutting the middle (``agent_…ers.py``)."""
    if display_width(text) <= width:
        return text
    if width <= 1:
        return _take(text, width)
    start = _take(text, (width - 1) // 2)
    # The end gets what the start left: a wide character that did not fit gives its column.
    end = _take(text[::-1], width - 1 - display_width(start))[::-1]
    while end and not char_width(end[0]):  # a mark whose character was cut goes with it
        end = end[1:]
    # A wide character that did not fit leaves a column over: pad, so the cell keeps its width.
    return start + "…" + end + " " * (width - 1 - display_width(start) - display_width(end))


def terminal_width() -> int:
    """The width the ``phase7`` command lays the table out for, as pytest's writer decides it.

    ``COLUMNS``, else the terminal's width, else 80 (not a terminal); under 40, 80. So
    ``phase7 gate`` prints the table ``pytest --phase7`` prints.
    """
    import shutil  # noqa: PLC0415 - only the command asks

    width = shutil.get_terminal_size((80, 24)).columns
    return width if width >= 40 else 80


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
    ResolutionState.INVALID: "(invalid target)",
    ResolutionState.RESOLVED: "",
}


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
def render_terminal(
    result: RunResult, verbosity: int = 0, width: int = DEFAULT_WIDTH
) -> list[Line]:
    """The status table: a section per batch, the success criteria, problems, the verdict last.

    Each batch's title line carries its subtotals (items done / total, hours done / total), and
    each FAILED item of a batch says why on a line under its table. ``verbosity`` < 0 (``-q``)
    shows only items that are not DONE and criteria not met; > 0 (``-v``) adds each gate's
    details (missing lines, violations, messages, undocumented names) under its item, bounded
    per item at ``-v`` and complete at ``-vv`` (:func:`terminal_details`).

    The table is laid out for ``width`` terminal columns (display width: wide characters take
    two, combining marks none). Targets are shown as the folder they add to the File cell,
    relative to the folder they all share (named once in the header); when the File cell is the
    whole path the Target column is left out. Items not mapped to a target collapse to one row
    per range. Only when the table does not fit are long names shortened in the middle; headers
    never are.
    """
    gates = list(result.gates)
    pending = collapse_unmapped(
        [o for o in result.outcomes if verbosity >= 0 or o.status is not PlanStatus.DONE]
    )
    parts = [_target_part(group[0]) for _, group in pending]
    known = [part for part in parts if part is not None]
    # A File cell that is the whole path leaves nothing to share: path = prefix + cell + File.
    prefix = "" if "" in known else common_folder(known)
    columns = [
        Column("#", right=True),
        Column("Module"),
        Column("File"),
        Column(f"Target (in {prefix})" if prefix else "Target", name="Target"),
        *[
            Column(
                SHORT_TITLES.get(g, result.title_of(g)),
                GATE_CELL_LIMITS.get(g, GATE_CELL_LIMIT),
                right=True,
            )
            for g in gates
        ],
        Column("Status"),
    ]
    rows_by_batch: dict[int, list[Row]] = {}
    repeated = True  # does every row's Target name its Module (agent_orchestration/)?
    for (number, group), part in zip(pending, parts, strict=True):
        outcome = group[0]
        module = outcome.item.module
        if module and repeated:
            ref = outcome.resolution.target.ref if outcome.resolution.target else ""
            repeated = snake_case(module) in ref.split("/")
        if part is None:
            target = _NO_TARGET[outcome.resolution.state]
        else:
            target = part[len(prefix) :] if part.startswith(prefix) else part
        cells = [number, outcome.item.module, outcome.item.file, target]
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
    unmapped = _NO_TARGET[ResolutionState.UNMAPPED]
    if all(row.cells[3] in {"", unmapped} for rows in rows_by_batch.values() for row in rows):
        # Every File cell is its whole path: the Target column would only say "(not mapped)",
        # which the empty File cell of such a row can say as well.
        for rows in rows_by_batch.values():
            rows[:] = [
                Row(row.outcome, (*row.cells[:2], unmapped, "", *row.cells[4:]), row.markups)
                if row.cells[3]
                else row
                for row in rows
            ]
    all_rows = [row.cells for rows in rows_by_batch.values() for row in rows]
    # Columns nobody filled in (no Module anywhere; File the whole path) are left out; so is
    # Module when the table is too wide and every Target names it: rather than cut a name that
    # another column repeats, it is shown once.
    kept = [
        i
        for i, column in enumerate(columns)
        if column.name not in _OPTIONAL or any(cells[i] for cells in all_rows)
    ]
    if repeated and _natural_width([columns[i] for i in kept], all_rows, kept) > width:
        kept = [i for i in kept if columns[i].name != "Module"]
    if len(kept) < len(columns):
        columns = [columns[i] for i in kept]
        for batch_number, rows in rows_by_batch.items():
            rows_by_batch[batch_number] = [
                Row(
                    row.outcome,
                    tuple(row.cells[i] for i in kept),
                    tuple(row.markups[i] for i in kept),
                )
                for row in rows
            ]
        all_rows = [tuple(cells[i] for i in kept) for cells in all_rows]
    widths, gap = _fit_widths(columns, all_rows, width)

    # Per column: its width, alignment, the separator before it, and whether it is padded
    # (the last is not); computed once for every row.
    last = len(columns) - 1
    layouts = [(widths[i], c.right, gap if i else "", i < last) for i, c in enumerate(columns)]
    header = _join([c.header for c in columns], columns, widths, gap)
    lines: list[Line] = []
    for batch in result.manifest.batches:
        outcomes = result.by_batch.get(batch.number, ())
        title = f"Batch {batch.number}: {batch.title}"
        if batch.priority:
            title += f" [{batch.priority}]"
        subtotal = f"  ({progress_text(batch_progress(result, batch))})"
        title = shorten(title, max(8, width - display_width(subtotal)))
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
        lines.extend(_reason_lines(rows))
    lines.extend(criteria_lines(result, verbosity, width))
    lines.extend(outside_plan_lines(result, verbosity))
    lines.extend(_problem_lines(result, verbosity))
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


def outside_plan_lines(result: RunResult, verbosity: int = 0) -> list[Line]:
    """Changed Python files no target holds, with their new lines' figure (pull requests).

    ``-q`` lists only those below ``--phase7-diff-coverage-min`` (or not measurable).
    """
    if not any(run.gate == NEW_LINES for run in result.gate_runs):
        return []  # no pull request: nothing to import the diff's module for
    from pytest_phase7.resolve.diffcov import outside_plan  # noqa: PLC0415

    rows = [
        (path, r)
        for path, r in outside_plan(result)
        if verbosity >= 0 or r.status in {GateStatus.FAIL, GateStatus.ERROR}
    ]
    if not rows:
        return []
    width = max(display_width(path) for path, _ in rows)
    lines: list[Line] = [[("Changed files outside the plan (new lines)", {"bold": True})]]
    for path, r in rows:
        shown = gate_cell(r) if r.status is not GateStatus.SKIP else f"- ({r.reason})"
        lines.append([(f"  {_pad(path, width, False)}  ", {}), (shown, _gate_markup(r))])
        if verbosity > 0:
            lines.extend([(f"      {detail}", {})] for detail in r.details)
    return lines


#: Columns left out of the table when no row fills them in.
_OPTIONAL = frozenset({"Module", "File", "Target"})


def _target_part(outcome: ItemOutcome) -> str | None:
    """What the target adds to the File cell: its folder ('' when File is the whole path).

    The whole ref when the File cell does not end it; None when there is no target.
    """
    target = outcome.resolution.target
    if target is None:
        return None
    ref = target.ref.rstrip("/")
    file_name = outcome.item.file.strip().strip("/")
    if file_name and (ref == file_name or ref.endswith("/" + file_name)):
        return ref[: len(ref) - len(file_name)]
    return target.ref


def _reason_lines(rows: Sequence[Row]) -> list[Line]:
    """Why each FAILED item of a batch failed: ``#3: recorded DONE, coverage 49% < 70%``.

    Items failing for the same reason (a tool that could not run) share one line.
    """
    by_reason: dict[str, list[str]] = {}
    for row in rows:
        outcome = row.outcome
        if outcome.status is PlanStatus.FAILED:
            by_reason.setdefault(outcome.reason or "FAILED", []).append(f"#{outcome.item.number}")
    return [
        [(f"  {', '.join(numbers)}: {reason}", {"red": True})]
        for reason, numbers in by_reason.items()
    ]


_CRITERION_MARKS: dict[bool | None, tuple[str, dict[str, bool]]] = {
    True: ("\u2713", {"green": True}),
    False: ("\u2717", {"red": True}),
    None: ("?", {"yellow": True}),
}


def criteria_lines(result: RunResult, verbosity: int = 0, width: int = DEFAULT_WIDTH) -> list[Line]:
    """The plan's success criteria, evaluated: one line each (``-q``: those not met).

    ``✗ Unit Tests: 70%+ coverage for all modules — 5/7 targets ≥ 70% coverage``; when the
    lines do not fit ``width``, the plan's own wording is left out, never the figure.
    """
    evaluated = [c for c in evaluate_criteria(result) if verbosity >= 0 or c.met is not True]
    if not evaluated:
        return []
    full = [
        (f"  {mark} {c.criterion.label}", f": {c.criterion.text}", f" \u2014 {c.figure}", markup)
        for c in evaluated
        for mark, markup in [_CRITERION_MARKS[c.met]]
    ]
    # The plan has the wording: when a line does not fit, every line leaves it out alike.
    wording = all(display_width(head + text + tail) <= width for head, text, tail, _ in full)
    lines: list[Line] = [[("Success criteria", {"bold": True})]]
    for head, text, tail, markup in full:
        lines.append([(head + (text if wording else "") + tail, markup)])
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


def _problem_lines(result: RunResult, verbosity: int = 0) -> list[Line]:
    # Why each FAILED item failed is said under its batch (_reason_lines); here what the whole
    # run shares: tools that could not run, the plan's own problems, notes.
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
    for problem in result.manifest.warnings:
        if verbosity < 0 and KIND_ASSUMED in problem.message:
            continue  # an assumption, not a problem: -q leaves it out
        lines.append([(str(problem), {"yellow": True})])  # path:line: warning: message
    lines.extend([(text, {"yellow": True})] for note in result.notes for text in note.split("\n"))
    return lines


#: Shrinking order for :func:`_fit_widths`: column name -> the narrowest it may get, in two
#: rounds (first to a readable width, then as narrow as still useful). Module goes first (the
#: Target folder usually repeats it), File last (it is what an item is about). No column gets
#: narrower than its header.
_FLOORS = ({"Module": 12, "Target": 20, "File": 16}, {"Module": 6, "Target": 8, "File": 10})


def _column_widths(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], indexes: Sequence[int] | None = None
) -> list[int]:
    """What each column needs: its widest cell (within its limit), at least its header.

    ``indexes`` says which cell of a row each column shows (default: one cell per column).
    """
    where = range(len(columns)) if indexes is None else indexes
    widths = []
    for column, i in zip(columns, where, strict=True):
        header = display_width(column.header)
        natural = max([header, *(display_width(row[i]) for row in rows)])
        if column.limit is not None:
            natural = min(natural, max(column.limit, header))
        widths.append(natural)
    return widths


def _natural_width(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], indexes: Sequence[int]
) -> int:
    """How wide the table is with nothing shortened."""
    return sum(_column_widths(columns, rows, indexes)) + 2 * (len(columns) - 1)


def _fit_widths(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int
) -> tuple[list[int], str]:
    """Each column's width and the separator between columns, to fit ``width`` if possible.

    Columns get what their widest cell needs; when that is too wide, Module, Target and File
    give up columns in turn (never below their floors or headers), then the separator narrows
    to one space. A table whose headers alone do not fit is wider than ``width``.
    """
    headers = [display_width(column.header) for column in columns]
    widths = _column_widths(columns, rows)
    index = {column.name: i for i, column in enumerate(columns)}
    gap = "  "
    for floors in _FLOORS:
        for name, floor in floors.items():
            excess = sum(widths) + len(gap) * (len(widths) - 1) - width
            if excess <= 0:
                return widths, gap
            if name in index:
                i = index[name]
                widths[i] = max(min(max(floor, headers[i]), widths[i]), widths[i] - excess)
    if sum(widths) + len(gap) * (len(widths) - 1) > width:
        gap = " "
    return widths, gap


def _cell_text(cell: str, layout: tuple[int, bool, str, bool]) -> str:
    """One table cell as shown: shortened to its column, padded unless last, separated."""
    width, right, separator, padded = layout
    text = shorten(cell, width)
    if padded:
        text = _pad(text, width, right)
    return separator + text


def _pad(text: str, width: int, right: bool) -> str:
    """``text`` padded to ``width`` terminal columns (its display width, not ``len``)."""
    fill = " " * (width - display_width(text))
    return fill + text if right else text + fill


def _join(cells: Sequence[str], columns: Sequence[Column], widths: Sequence[int], gap: str) -> str:
    return gap.join(
        _pad(shorten(cell, widths[i]), widths[i], columns[i].right) for i, cell in enumerate(cells)
    ).rstrip()


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
        # A gate kept out of the cache says why (an input phase7 cannot know).
        part += "".join(f" ({c})" for c in run.context if c.startswith(NOT_CACHED))
        parts.append(part)
    return "gate times: " + (", ".join(parts) if parts else "no gate ran")


def terminal_lines(data: ReportData, verbosity: int = 0, width: int = DEFAULT_WIDTH) -> list[Line]:
    """The terminal report of :class:`ReportData`: the table, hook sections, the verdict last."""
    lines = render_terminal(data.result, verbosity, width)
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
