"""Built-in report sections: per-owner results and trends over runs.

Shipped as an ordinary ``pytest_phase7_report_sections`` implementation, the hook third parties
use too. The Trends section ends with a Mermaid chart in a fenced block, which GitHub renders in
the Markdown report and the terminal leaves out.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_phase7.engine import RunResult
    from pytest_phase7.insights.history import HistoryEntry
    from pytest_phase7.settings import Settings

# The history, owners and Markdown modules are imported when a run has something to say with
# them: this class is registered on every run, most of which have neither a history nor owners.

#: How many runs the completion chart shows at most (the most recent ones).
CHART_RUNS = 30


def record_run(path: Path, result: RunResult, rootdir: Path) -> None:
    """Append this run to the history file (with the commit when the rootdir is in git)."""
    from datetime import datetime, timezone  # noqa: PLC0415

    from pytest_phase7.errors import ConfigError  # noqa: PLC0415
    from pytest_phase7.insights.history import append_entry, snapshot  # noqa: PLC0415
    from pytest_phase7.resolve.changed import git_output  # noqa: PLC0415

    try:
        commit: str | None = git_output(["rev-parse", "HEAD"], rootdir).strip() or None
    except ConfigError:
        commit = None
    append_entry(path, snapshot(result, datetime.now(timezone.utc), commit))


def trends_markdown(result: RunResult, entries: list[HistoryEntry], warnings: list[str]) -> str:
    """The Trends section: per-item changes since the previous run and completion over runs.

    File names (from the plan) and warnings (naming the history file) are escaped as the main
    tables are; the chart holds only numbers.
    """
    from pytest_phase7.insights.history import delta_text, deltas  # noqa: PLC0415
    from pytest_phase7.report.markdown import escape  # noqa: PLC0415

    # Paragraphs are separated by blank lines so Markdown keeps them apart.
    lines: list[str] = [f"warning: {escape(w)}\n" for w in warnings]
    if len(entries) < 2:
        lines.append("First recorded run: changes show from the next run on.")
        return "\n".join(lines)
    previous, current = entries[-2], entries[-1]
    moved = deltas(previous, current)
    names = {o.item.number: o.item.file or (o.item.target or "") for o in result.outcomes}
    if moved:
        for number in sorted(moved):
            changes = ", ".join(
                f"{escape(gate)} {delta_text(change)}"
                + (" pts" if gate in {"coverage", "docstrings"} else "")
                for gate, change in sorted(moved[number].items())
            )
            # "Item 3", not "#3": in a PR comment "#3" links issue 3.
            lines.append(f"- Item {number} {escape(names.get(number, ''))}: {changes}")
        lines.append("")
    else:
        lines.append("No metric changed since the previous run.\n")
    lines.append(
        f"Items done: {previous.done_items} → {current.done_items} of {current.total_items}; "
        f"hours done: {previous.done_hours:g} → {current.done_hours:g} of "
        f"{current.total_hours:g}."
    )
    recent = entries[-CHART_RUNS:]
    done = ", ".join(str(e.done_items) for e in recent)
    hours = ", ".join(f"{e.done_hours:g}" for e in recent)
    top = max(1, *(e.total_items for e in recent), *(e.total_hours for e in recent))
    lines += [
        "",
        "```mermaid",
        "xychart-beta",
        '    title "Completion over runs"',
        f"    x-axis [{', '.join(str(i) for i in range(1, len(recent) + 1))}]",
        f'    y-axis "Items / hours done" 0 --> {top:g}',
        f"    line [{done}]",
        f"    line [{hours}]",
        "```",
    ]
    return "\n".join(lines)


class InsightSections:
    """Adds the Owners and Trends sections when the plan and settings call for them."""

    def __init__(self, settings: Settings, history_path: Path | None) -> None:
        """Remember what to report on."""
        self.settings = settings
        self.history_path = history_path

    @pytest.hookimpl(trylast=True)
    def pytest_phase7_report_sections(self, result: RunResult) -> list[tuple[str, str]]:
        """Owners (plans with an Owner/Assignee/Model column) and Trends (with a history)."""
        sections: list[tuple[str, str]] = []
        entries: list[HistoryEntry] = []
        warnings: list[str] = []
        if self.history_path is not None:
            from pytest_phase7.insights.history import load_history  # noqa: PLC0415

            entries, warnings = load_history(self.history_path)
        if any(outcome.item.owner is not None for outcome in result.outcomes):
            from pytest_phase7.insights.owners import owners_markdown, summarize_owners  # noqa: PLC0415

            owners = summarize_owners(result, entries, self.settings.hourly_rate)
            if owners:
                sections.append(("Owners", owners_markdown(owners)))
        if self.history_path is not None:
            sections.append(("Trends", trends_markdown(result, entries, warnings)))
        return sections
