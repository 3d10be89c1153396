"""Trends (history file) and per-owner results, on hand-made run results."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pytest_phase7.engine import RunResult
from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.insights.history import (
    append_entry,
    delta_text,
    deltas,
    entry_to_json,
    first_metrics,
    first_seen,
    load_history,
    snapshot,
)
from pytest_phase7.insights.owners import (
    OwnerSummary,
    gate_score,
    owners_markdown,
    quality_score,
    summarize_owners,
)
from pytest_phase7.model import Batch, BatchKind, Manifest, PlanStatus, WorkItem
from pytest_phase7.report.markdown import cell, escape
from pytest_phase7.resolve.targets import Resolution, ResolutionState, Target, TargetKind
from pytest_phase7.status.rules import decide, derive_outcome

P, F, E, S = GateStatus.PASS, GateStatus.FAIL, GateStatus.ERROR, GateStatus.SKIP
WHEN = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def outcome(number: int, owner: str | None, hours: float, *results: GateResult):
    extra = (("Owner", owner),) if owner is not None else ()
    item = WorkItem(number=number, batch=1, file=f"m{number}.py", estimate_hours=hours, extra=extra)
    target = Target(TargetKind.FILE, f"m{number}.py", (f"m{number}.py",))
    resolution = Resolution(item, ResolutionState.RESOLVED, target=target)
    return derive_outcome(resolution, list(results), BatchKind.TESTS)


def cov(status: GateStatus, metric: float) -> GateResult:
    return GateResult("coverage", status, metric=metric, threshold=70.0)


def ruff(status: GateStatus, count: float) -> GateResult:
    return GateResult("ruff", status, metric=count, threshold=0.0)


def result_of(*outcomes) -> RunResult:
    manifest = Manifest(path="p", format="markdown", batches=(Batch(number=1, title="T", line=1),))
    return RunResult(
        manifest=manifest,
        rootdir=".",
        gates=("coverage", "ruff"),
        gate_titles=(),
        outcomes=tuple(outcomes),
        gate_runs=(),
        verdict=decide(manifest, outcomes, "never"),
    )


def test_gate_scores_follow_the_documented_formula():
    assert gate_score(cov(P, 90)) == 100
    assert gate_score(cov(F, 35)) == 50
    assert gate_score(ruff(F, 1)) == 50
    assert gate_score(ruff(F, 3)) == 25
    assert gate_score(GateResult("mypy", E)) == 0
    assert gate_score(GateResult("mypy", S)) is None
    assert gate_score(GateResult("custom", F, metric=5, threshold=1)) == 0


def test_quality_score_is_the_mean_of_applicable_gates():
    assert quality_score(outcome(1, "ann", 2, cov(F, 35), ruff(P, 0))) == 75.0
    assert quality_score(outcome(2, "ann", 2, GateResult("x", S))) is None


def test_owner_summaries_and_cost():
    result = result_of(
        outcome(1, "ann", 2, cov(P, 80), ruff(P, 0)),
        outcome(2, "ann", 3, cov(F, 35), ruff(P, 0)),
        outcome(3, "bob", 4, cov(P, 90), ruff(F, 1)),
        outcome(4, None, 1, cov(P, 90), ruff(P, 0)),
    )
    ann, bob = summarize_owners(result, hourly_rate=2.5)
    assert (ann.owner, ann.items_done, ann.items_total, ann.hours_done, ann.hours_total) == (
        "ann",
        1,
        2,
        2.0,
        5.0,
    )
    assert ann.quality == 87.5
    assert ann.success_rate == 50.0
    assert (ann.cost_done, ann.cost_total) == (5.0, 12.5)
    assert bob.quality == 75.0
    table = owners_markdown([ann, bob])
    assert "| ann | 1/2 | 50% | 2/5 | 87.5 | - | 5.00 / 12.50 |" in table


def test_no_owner_column_no_summaries():
    assert summarize_owners(result_of(outcome(1, None, 1, cov(P, 80)))) == []


def test_owner_names_are_escaped():
    result = result_of(outcome(1, "<script>|x", 1, cov(P, 80)))
    table = owners_markdown(summarize_owners(result))
    assert "<script>" not in table
    assert "&lt;script&gt;\\|x" in table


#: Plan text that must reach a PR comment as text: no ping, no issue link, no link, no image.
HOSTILE = ["@octocat", "#12", "[x](javascript:alert(1))", "![i](https://evil/p.png)", "a\nb|c"]


@pytest.mark.parametrize("owner", HOSTILE)
def test_owner_cells_get_the_main_tables_escaping(owner: str):
    summary = summarize_owners(result_of(outcome(1, owner, 1, cov(F, 10))))[0]
    assert summary.owner == owner
    # In-progress dates come from the history file, which a PR may rewrite too.
    forged = OwnerSummary(**{**summary.__dict__, "in_progress_since": owner})
    row = owners_markdown([forged]).splitlines()[2]
    assert row.startswith(f"| {cell(owner)} | 0/1 |")
    assert row.endswith(f"| {cell(owner)} |")
    assert_inert(row)


def assert_inert(markdown: str) -> None:
    """Nothing in ``markdown`` pings, links an issue, links or shows an image."""
    assert not re.search(r"[@#]\w", markdown), markdown
    assert not re.search(r"(?<!\\)\]\(", markdown), markdown
    assert "![" not in markdown, markdown


def test_trends_escape_file_names_and_warnings_and_link_no_issue(tmp_path: Path):
    from pytest_phase7.insights.sections import trends_markdown

    hostile = "![i](https://evil/p.png)@octocat.py"
    earlier = result_of(outcome(12, None, 1, cov(F, 10)))
    now = result_of(
        derive_outcome(
            Resolution(
                WorkItem(number=12, batch=1, file=hostile, estimate_hours=1),
                ResolutionState.RESOLVED,
                target=Target(TargetKind.FILE, "m.py", ("m.py",)),
            ),
            [cov(F, 30)],
            BatchKind.TESTS,
        )
    )
    entries = [snapshot(earlier, WHEN, None), snapshot(now, WHEN, None)]
    text = trends_markdown(now, entries, [f"{tmp_path}/h_#1@x.jsonl:3: skipped [a](b)"])
    assert f"- Item 12 {escape(hostile)}: coverage ▲ 20 pts" in text.splitlines()
    assert_inert(text)


def test_history_round_trip_and_deltas(tmp_path: Path):
    path = tmp_path / "history.jsonl"
    first = snapshot(result_of(outcome(1, "ann", 2, cov(F, 40), ruff(F, 2))), WHEN, "abc123")
    second = snapshot(result_of(outcome(1, "ann", 2, cov(F, 52.5), ruff(F, 2))), WHEN, None)
    append_entry(path, first)
    append_entry(path, second)
    entries, warnings = load_history(path)
    assert warnings == []
    assert entries == [first, second]
    assert entries[0].commit == "abc123"
    assert deltas(entries[0], entries[1]) == {1: {"coverage": 12.5}}
    assert delta_text(12.5) == "▲ 12.5"
    assert delta_text(-3.0) == "▼ 3"
    assert delta_text(7.54717) == "▲ 7.5"
    assert deltas(None, second) == {}


def test_first_metrics_are_each_gates_first_recorded_value(tmp_path: Path):
    path = tmp_path / "history.jsonl"
    assert first_metrics(path) == {}
    append_entry(path, snapshot(result_of(outcome(1, None, 2, cov(F, 40))), WHEN, None))
    later = result_of(outcome(1, None, 2, cov(F, 52.5), ruff(F, 2)), outcome(2, None, 1))
    append_entry(path, snapshot(later, WHEN, None))
    # Coverage from the first run; ruff from the run that first measured it; item 2 nothing.
    assert first_metrics(path) == {1: {"coverage": 40.0, "ruff": 2.0}}


def test_error_metrics_are_not_recorded():
    entry = snapshot(
        result_of(outcome(1, None, 1, GateResult("coverage", E, metric=0.0))), WHEN, None
    )
    assert entry.items[1].metrics == {}
    assert entry.items[1].status == "FAILED"


def test_corrupt_or_truncated_lines_are_skipped_with_a_warning(tmp_path: Path):
    path = tmp_path / "history.jsonl"
    good = snapshot(result_of(outcome(1, None, 1, cov(P, 80))), WHEN, None)
    append_entry(path, good)
    with path.open("a") as out:
        out.write('{"format": 1, "time": "2026')  # a run killed mid-write
    entries, warnings = load_history(path)
    assert entries == [good]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{path}:2: skipped a corrupt history line")
    # The next run starts on a fresh line, so its entry is readable.
    append_entry(path, good)
    entries, warnings = load_history(path)
    assert entries == [good, good]
    assert len(warnings) == 1


def test_missing_history_is_empty(tmp_path: Path):
    assert load_history(tmp_path / "none.jsonl") == ([], [])


def test_entry_json_is_one_line():
    entry = snapshot(result_of(outcome(1, None, 1, cov(P, 80))), WHEN, None)
    line = entry_to_json(entry)
    assert "\n" not in line
    assert json.loads(line)["done_items"] == 1


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["QUEUED", "IN PROGRESS", "IN PROGRESS"], "t1"),
        (["IN PROGRESS", "QUEUED", "IN PROGRESS"], "t2"),
        (["IN PROGRESS", "DONE"], None),
    ],
)
def test_first_seen_in_current_streak(statuses: list[str], expected: str | None):
    from pytest_phase7.insights.history import HistoryEntry, ItemSnapshot

    entries = [
        HistoryEntry(f"t{i}", None, {1: ItemSnapshot(s, 1.0, {})}, 0, 0.0, 1, 1.0)
        for i, s in enumerate(statuses)
    ]
    assert first_seen(entries, 1, "IN PROGRESS") == expected
    assert PlanStatus.IN_PROGRESS.label == "IN PROGRESS"
