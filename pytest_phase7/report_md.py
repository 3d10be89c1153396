"""The Markdown report (``--phase7-md``, and the GitHub step summary): the plan, with live numbers.

The document has the plan's shape: a section per batch with its title and priority and the table
``# | Module | File | Complexity | Est. Time | Coverage | Ruff | Mypy | Docs | Status`` (one column
per gate that ran), statuses written ``✅ DONE``, ``🔄 IN PROGRESS``, ``⏳ QUEUED``, ``❌ FAILED``.
Metric cells show ``baseline → now`` with a pass/fail mark, and the target when it is missed.
Above the batches: the verdict, progress per phase and in total (items and hours done, a bar),
the plan's success criteria evaluated with the figure behind each, and a Mermaid pie of the
statuses, which GitHub renders.

Every piece of text that comes from the plan, the repository or a tool (module names, messages,
paths) goes through :func:`escape` (or :func:`escape_html` inside HTML tags): a ``|`` cannot
break a table, ``<script>`` arrives as text, ``![i](url)`` loads no image, ``@name``, ``#12``,
``GH-12`` (and GitLab's ``!12``, ``&12``, ``%12``, ``~label``) ping nobody and link nothing. The
built-in Owners and Trends sections escape the same way; sections from other
``pytest_phase7_report_sections`` hooks are Markdown written by code (a conftest or plugin) and
are included as they are.

The document stays under GitHub's limits (:data:`MAX_COMMENT_CHARS` for a PR comment,
:data:`MAX_STEP_SUMMARY_BYTES` for a step summary): large plans fold each batch's table into a
``<details>`` section, and when the text is still too long, less detail is shown, step by step,
and the document says what it left out.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_phase7.files import open_append
from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.gcpause import gc_paused
from pytest_phase7.github import MAX_STEP_SUMMARY_BYTES
from pytest_phase7.model import Batch, CoverageGoal, PlanStatus
from pytest_phase7.report import (
    STATUS_GLYPHS,
    Progress,
    ReportData,
    batch_progress,
    collapse_unmapped,
    evaluate_criteria,
    hours_text,
    item_details,
    phase_progress,
    status_badge,
    suite_line,
    total_progress,
)
from pytest_phase7.resolve import ResolutionState
from pytest_phase7.status import HIGHER_IS_BETTER, ItemOutcome

#: The hidden marker a sticky PR comment is found by.
MARKER = "<!-- phase7-report -->"

#: Plans with more items than this fold each batch's table into a ``<details>`` section.
FOLD_ITEMS = 100

#: Gate details shown per item (the rest is counted), and characters per table cell.
MAX_DETAILS_PER_ITEM = 20
MAX_CELL_CHARS = 120

#: Characters of the progress bar.
BAR_WIDTH = 20

#: Column titles of the built-in gates, as the plan writes them.
GATE_HEADERS = {"coverage": "Coverage", "ruff": "Ruff", "mypy": "Mypy", "docstrings": "Docs"}

_MARKS = {
    GateStatus.PASS: "\u2705",  # white heavy check mark
    GateStatus.FAIL: "\u274c",  # cross mark
    GateStatus.ERROR: "\u26a0\ufe0f",  # warning sign
}
_ARROW = "\u2192"
_DASH = "\u2014"
_DOT = " \u00b7 "

# --- escaping ------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")
# "@name" mentions people, "#12" and "GH-12" link an issue (GitLab: "!12" a merge request, "&12"
# an epic, "%12" a milestone, "$12" a snippet, "~x" a label): a zero-width space stops each.
_PING = re.compile(r"[@#!$%&~](?=\w)|(?<=\bGH)(?=-\d)", re.IGNORECASE)


def _plain(text: str) -> str:
    # Newlines, tabs, other control and format characters (bidi overrides) become spaces.
    # Most text has none: one C-level check of the whole string spares a loop per character.
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else " " for ch in text)


def escape_html(text: str) -> str:
    """Text for inside an HTML element (``<summary>``, ``<sub>``): entities, one line."""
    flat = _PING.sub(lambda sign: sign.group() + "\u200b", _plain(text))
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    r"""Untrusted text for Markdown (a table cell, a list item): it renders as the same text.

    HTML is neutralised as entities, Markdown syntax (`` ` * _ [ ] | ~ \ ``) is
    backslash-escaped, line breaks and control characters become spaces.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escape_html(text))


def cell(text: str) -> str:
    """Untrusted text for a table cell, shortened in the middle to :data:`MAX_CELL_CHARS`."""
    flat = " ".join(_plain(text).split())
    if len(flat) > MAX_CELL_CHARS:
        head = (MAX_CELL_CHARS - 1) // 2
        flat = flat[:head] + "\u2026" + flat[len(flat) - (MAX_CELL_CHARS - 1 - head) :]
    return escape(flat)


# --- building blocks -----------------------------------------------------------------------


def progress_bar(progress: Progress) -> str:
    """``████░░░░ 22%``: items done as a bar; 100% only when everything is done."""
    percent = progress.percent
    filled = round(BAR_WIDTH * percent / 100)
    shown = round(percent)
    if progress.items_done < progress.items_total:
        # Never "100%" (nor a full bar) before the last item is done, nor "0%" after the first.
        filled = min(filled, BAR_WIDTH - 1)
        shown = min(shown, 99)
    if progress.items_done:
        filled, shown = max(filled, 1), max(shown, 1)
    return "\u2588" * filled + "\u2591" * (BAR_WIDTH - filled) + f" {shown}%"


def _hours(progress: Progress) -> str:
    if not progress.hours_known:
        return _DASH
    return f"{hours_text(progress.hours_done)}/{hours_text(progress.hours_total)} h"


def _goal_text(goal: CoverageGoal) -> str:
    to = f"{goal.to:g}%"
    if goal.from_low is None:
        return to
    start = f"{goal.from_low:g}"
    if goal.from_high is not None and goal.from_high != goal.from_low:
        start += f"\u2013{goal.from_high:g}"
    return f"{start}% {_ARROW} {to}"


def _bound(gate: str, threshold: float) -> str:
    if gate in HIGHER_IS_BETTER:
        return f"\u2265 {threshold:g}%"
    if gate in {"ruff", "mypy"}:
        return f"\u2264 {threshold:g}"
    return f"target {threshold:g}"


def _metric(gate: str, value: float) -> str:
    return f"{value:g}%" if gate in HIGHER_IS_BETTER else f"{value:g}"


def metric_cell(result: GateResult | None, baseline: float | None) -> str:
    """A gate's cell: ``✅ 100%``, ``❌ 42% → 49% (≥ 70%)``, ``⚠️ ERROR``, or a dash."""
    if result is None or result.status is GateStatus.SKIP:
        return _DASH
    mark = _MARKS[result.status]
    if result.status is GateStatus.ERROR:
        return f"{mark} ERROR"
    now = result.display or ("" if result.metric is None else _metric(result.gate, result.metric))
    text = cell(now)
    if baseline is not None and result.metric is not None and baseline != result.metric:
        text = f"{_metric(result.gate, baseline)} {_ARROW} {text}"
    if result.status is GateStatus.FAIL and result.threshold is not None:
        text += f" ({_bound(result.gate, result.threshold)})"
    if result.carried:
        text += " (not re-checked)"
    return f"{mark} {text}"


def _status_cell(outcome: ItemOutcome) -> str:
    text = status_badge(outcome.status)
    recorded = outcome.item.status
    if recorded is not None and recorded is not outcome.status:
        text += f" (plan: {status_badge(recorded)})"
    return text


def _item_row(data: ReportData, outcome: ItemOutcome, gates: Sequence[str]) -> str:
    item = outcome.item
    estimate = item.estimate_text or (
        f"{hours_text(item.estimate_hours)}h" if item.estimate_hours is not None else ""
    )
    cells = [
        str(item.number),
        cell(item.module),
        cell(item.file or item.target or ""),
        cell(item.complexity),
        cell(estimate),
        *[metric_cell(outcome.result(g), data.baseline_of(outcome, g)) for g in gates],
        _status_cell(outcome),
    ]
    return "| " + " | ".join(cells) + " |"


def _table(data: ReportData, outcomes: Sequence[ItemOutcome]) -> list[str]:
    result = data.result
    gates = list(result.gates)
    headers = [
        "#",
        "Module",
        "File",
        "Complexity",
        "Est. Time",
        *[cell(GATE_HEADERS.get(g, result.title_of(g))) for g in gates],
        "Status",
    ]
    aligns = ["---:", "---", "---", "---", "---:", *["---:" for _ in gates], "---"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(aligns) + "|"]
    for number, group in collapse_unmapped(outcomes):
        row = _item_row(data, group[0], gates)
        # Items with no target yet, one after the other: one row for the range (``| 7-12 |``).
        lines.append(row if len(group) == 1 else f"| {number} |" + row.split("|", 2)[2])
    return lines


def _detail_lines(outcomes: Sequence[ItemOutcome]) -> list[str]:
    lines = []
    for outcome in outcomes:
        details = item_details(outcome)
        if not details:
            continue
        item = outcome.item
        name = item.file or item.target or item.module
        head = f"- **Item {item.number}**"
        if name:
            head += f" {escape(name)}"
        lines.append(f"{head} ({status_badge(outcome.status)})")
        shown = details[:MAX_DETAILS_PER_ITEM]
        lines += [f"  - {escape(detail)}" for detail in shown]
        if len(details) > len(shown):
            lines.append(f"  - \u2026 and {len(details) - len(shown)} more")
    return lines


# --- the document --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Level:
    """How much a document shows; each level leaves out more than the one before."""

    details: bool = True
    rows: Callable[[ItemOutcome], bool] | None = None
    tables: bool = True
    left_out: str = ""


_LEVELS = (
    _Level(),
    _Level(details=False, left_out="the per-item gate details"),
    _Level(
        details=False,
        rows=lambda o: o.status is not PlanStatus.DONE,
        left_out="the per-item gate details and the rows of DONE items",
    ),
    _Level(
        details=False,
        rows=lambda o: o.status is PlanStatus.FAILED,
        left_out="the per-item gate details and every row but the FAILED items",
    ),
    _Level(details=False, tables=False, left_out="the item tables (batch totals only)"),
)


@gc_paused
def render_markdown(
    data: ReportData, *, max_chars: int | None = None, max_bytes: int | None = None
) -> str:
    """The Markdown report, within ``max_chars`` characters and ``max_bytes`` UTF-8 bytes.

    The fullest form that fits is returned; what a shorter form leaves out is said at its top
    (the JSON report always has everything).
    """

    def fits(text: str) -> bool:
        return (max_chars is None or len(text) <= max_chars) and (
            max_bytes is None or len(text.encode("utf-8")) <= max_bytes
        )

    text = ""
    for level in _LEVELS:
        text = _document(data, level, _limit_phrase(max_chars, max_bytes))
        if fits(text):
            return text
    return _truncate(text, max_chars, max_bytes)


def _limit_phrase(max_chars: int | None, max_bytes: int | None) -> str:
    if max_chars is not None and (max_bytes is None or max_chars <= max_bytes):
        return f"{max_chars:,} characters"
    if max_bytes is not None:
        return f"{max_bytes:,} bytes"
    return "the size limit"  # pragma: no cover - only reached with a limit


def _truncate(text: str, max_chars: int | None, max_bytes: int | None) -> str:
    """Cut at a line boundary so that the text and a closing note fit (a last resort)."""
    note = "\n\n_\u2026 the report is cut here to fit; the JSON report has everything._\n"
    budget = max_chars if max_chars is not None else len(text)
    if max_bytes is not None:
        budget = min(budget, max_bytes)
    budget -= len(note.encode("utf-8"))
    kept: list[str] = []
    used = 0
    for line in text.split("\n"):
        size = len(line.encode("utf-8")) + 1
        if used + size > budget:
            break
        kept.append(line)
        used += size
    return "\n".join(kept) + note


def _document(data: ReportData, level: _Level, limit: str) -> str:
    result = data.result
    manifest = result.manifest
    out: list[str] = [MARKER]
    title = "Phase 7 status"
    if manifest.title:
        title += f": {escape(manifest.title)}"
    out += [f"## {title}", "", _verdict_line(data), ""]
    if result.tests_failed:
        plural = "s" if result.tests_failed != 1 else ""
        out += [f"\u26a0\ufe0f {result.tests_failed} test{plural} failed in this run.", ""]
    suite = suite_line(result)
    if suite:
        out += [escape(suite[:1].upper() + suite[1:]) + ".", ""]
    out += _summary_table(data)
    out += _criteria(data)
    out += _chart(data)
    folded = len(result.outcomes) > FOLD_ITEMS
    notes = []
    if level.left_out:
        notes.append(
            f"To stay within GitHub's limit of {limit}, this report leaves out "
            f"{level.left_out}; the JSON report has everything."
        )
    if folded and level.tables:
        notes.append(
            f"This plan has {len(result.outcomes):,} items: each batch's table is folded "
            "into a collapsed section below."
        )
    out += [f"> {note}" for note in notes]
    if notes:
        out.append("")
    for batch in manifest.batches:
        out += _batch_section(data, batch, level, folded)
    out += _outside_plan(data)
    out += _problems(data)
    for section_title, text in data.sections:
        out += [f"### {escape(section_title)}", "", text.rstrip(), ""]
    out.append(_footer(data))
    return "\n".join(out) + "\n"


def _verdict_line(data: ReportData) -> str:
    verdict = data.result.verdict
    if verdict.blocked:
        reasons = "; ".join(escape(reason) for reason in verdict.reasons)
        return f"\u274c **Merge blocked** (fail-on={escape(verdict.policy)}): {reasons}"
    counts = ", ".join(f"{n} {label}" for label, n in verdict.counts if n) or "no items"
    return f"\u2705 **OK** (fail-on={escape(verdict.policy)}): {counts}"


def _summary_table(data: ReportData) -> list[str]:
    result = data.result
    rows = [("**All batches**", total_progress(result))]
    for phase in result.manifest.phases:
        name = f"Phase {escape(phase.ident)}"
        if phase.title:
            name += f": {escape(phase.title)}"
        rows.append((name, phase_progress(result, phase)))
    lines = ["| | Items done | Hours done | Progress |", "|---|---:|---:|---|"]
    lines += [
        f"| {name} | {p.items_done}/{p.items_total} | {_hours(p)} | {progress_bar(p)} |"
        for name, p in rows
    ]
    thresholds = _thresholds(data)
    if thresholds:
        lines += ["", "**Targets:** " + _DOT.join(thresholds)]
    return [*lines, ""]


def _thresholds(data: ReportData) -> list[str]:
    result = data.result
    shown = []
    for gate in result.gates:
        found = Counter(
            r.threshold
            for o in result.outcomes
            for r in o.results
            if r.gate == gate and r.threshold is not None
        )
        if found:
            header = GATE_HEADERS.get(gate, result.title_of(gate))
            shown.append(f"{escape(header)} {_bound(gate, found.most_common(1)[0][0])}")
    return shown


def _criteria(data: ReportData) -> list[str]:
    evaluated = evaluate_criteria(data.result)
    if not evaluated:
        return []
    lines = ["### Success criteria", "", "| | Criterion | Measured |", "|---|---|---|"]
    for c in evaluated:
        mark = {True: "\u2705", False: "\u274c", None: _DASH}[c.met]
        label = f"**{escape(c.criterion.label)}:** " if c.criterion.label else ""
        lines.append(f"| {mark} | {label}{cell(c.criterion.text)} | {cell(c.figure)} |")
    return [*lines, ""]


def _chart(data: ReportData) -> list[str]:
    counts = [(status, n) for status, n in total_progress(data.result).counts if n]
    if not counts:
        return []
    # Labels are phase7's own words: nothing from the plan reaches the Mermaid source.
    lines = ["```mermaid", "pie showData title Items by status"]
    lines += [f'    "{status.label}" : {n}' for status, n in counts]
    return [*lines, "```", ""]


def _batch_section(data: ReportData, batch: Batch, level: _Level, folded: bool) -> list[str]:
    result = data.result
    outcomes = list(result.by_batch.get(batch.number, ()))
    progress = batch_progress(result, batch)
    heading = f"### Batch {batch.number}: {escape(batch.title)}"
    if batch.priority_note:
        heading += f" ({escape(batch.priority_note)})"
    facts = []
    if batch.priority:
        facts.append(f"**Priority:** {escape(batch.priority)}")
    if batch.coverage_goal is not None:
        facts.append(f"**Target Coverage:** {_goal_text(batch.coverage_goal)}")
    if batch.required:
        facts.append("**Required:** yes")
    facts.append(f"**Items done:** {progress.items_done}/{progress.items_total}")
    if progress.hours_known:
        facts.append(f"**Hours done:** {_hours(progress)}")
    lines = [heading, "", _DOT.join(facts), "", progress_bar(progress), ""]
    if not level.tables or not outcomes:
        return lines
    shown = [o for o in outcomes if level.rows is None or level.rows(o)]
    body: list[str] = []
    if shown:
        body += [*_table(data, shown), ""]
    hidden = len(outcomes) - len(shown)
    if hidden:
        body += [f"_{hidden} more items not listed ({_hidden_statuses(outcomes, shown)})._", ""]
    if level.details:
        details = _detail_lines(
            [
                o
                for o in shown
                if o.status is not PlanStatus.DONE
                and o.resolution.state is not ResolutionState.UNMAPPED
            ]
        )
        if details:
            body += [
                "<details><summary>Gate details</summary>",
                "",
                *details,
                "",
                "</details>",
                "",
            ]
    if folded:
        glyphs = " ".join(
            f"{STATUS_GLYPHS[status]} {n}" for status, n in progress.counts if n
        ).strip()
        summary = escape_html(f"Batch {batch.number}: {batch.title}") + f" \u2014 {glyphs}"
        body = [f"<details><summary>{summary}</summary>", "", *body, "</details>", ""]
    return lines + body


def _outside_plan(data: ReportData) -> list[str]:
    """Changed Python files no target holds, with their new lines' figure (pull requests)."""
    from pytest_phase7.diffcov import outside_plan  # noqa: PLC0415

    rows = outside_plan(data.result)
    if not rows:
        return []
    lines = ["### Changed files outside the plan", "", "| File | New lines |", "|---|---:|"]
    for path, result in rows:
        shown = metric_cell(result, None)
        if result.status is GateStatus.SKIP:
            shown += f" {cell(result.reason)}"
        lines.append(f"| {cell(path)} | {shown} |")
    return [*lines, ""]


def _hidden_statuses(outcomes: Sequence[ItemOutcome], shown: Sequence[ItemOutcome]) -> str:
    listed = {id(o) for o in shown}
    counts = Counter(o.status for o in outcomes if id(o) not in listed)
    return ", ".join(f"{n} {status.label}" for status, n in counts.items())


#: Problem lines listed before the rest are counted.
MAX_PROBLEMS = 50


def _problems(data: ReportData) -> list[str]:
    result = data.result
    found: list[str] = []
    for outcome in result.outcomes:
        for gate_result in outcome.results:
            if gate_result.status is GateStatus.ERROR:
                text = f"{gate_result.gate}: {gate_result.reason}"
                if gate_result.hint:
                    text += f" (hint: {gate_result.hint})"
                found.append(f"ERROR {text}")
        if outcome.error and not outcome.results and outcome.reason:
            found.append(f"Item {outcome.item.number}: {outcome.reason}")
    found += [str(problem) for problem in result.manifest.warnings]
    found += list(result.notes)
    unique = list(dict.fromkeys(found))
    if not unique:
        return []
    lines = ["### Problems", ""]
    for text in unique[:MAX_PROBLEMS]:
        first, *rest = text.split("\n")
        lines.append(f"- {escape(first)}")
        lines += _code_block(rest, indent="  ") if rest else []
    if len(unique) > MAX_PROBLEMS:
        lines.append(f"- \u2026 and {len(unique) - MAX_PROBLEMS} more")
    return [*lines, ""]


def _code_block(texts: Sequence[str], *, indent: str = "") -> list[str]:
    """Untrusted lines as a fenced code block, to copy as they are.

    The fence is longer than any backtick run in them, so nothing in them can close it early.
    """
    plain = [_plain(text) for text in texts]
    runs = [len(run) for text in plain for run in re.findall(r"`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return [f"{indent}{fence}", *(f"{indent}{text}" for text in plain), f"{indent}{fence}"]


def _footer(data: ReportData) -> str:
    seconds = {run.gate: run.seconds for run in data.result.gate_runs if run.results}
    parts = []
    for name, version in data.versions:
        text = f"{name} {version}"
        if name in seconds:
            text += f" ({seconds[name]:.2f} s)"
        parts.append(text)
    # Text inside <sub> on a line of its own is still Markdown: the full escaping.
    return "<sub>" + escape(_DOT.join(parts)) + "</sub>" if parts else ""


# --- the step summary ----------------------------------------------------------------------


def append_step_summary(data: ReportData, path: Path) -> None:
    """Append the report to a GitHub step summary file, within what is left of its 1 MiB.

    The file is only ever appended to (one write, ``O_APPEND``), never truncated: other steps'
    and tools' summaries in it stay.
    """
    handle = open_append(path)  # a FIFO would block the run: refused
    try:
        used = os.fstat(handle).st_size
        separator = "\n" if used else ""
        budget = MAX_STEP_SUMMARY_BYTES - used - len(separator)
        if budget <= 0:
            return
        text = render_markdown(data, max_bytes=budget)
        payload = (separator + text).encode("utf-8")
        if len(payload) > MAX_STEP_SUMMARY_BYTES - used:
            return
        os.write(handle, payload)
    finally:
        os.close(handle)
