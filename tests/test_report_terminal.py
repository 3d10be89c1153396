"""The terminal table: golden output, subtotals, -q/-v, 100 columns, colour (plain data)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.model import Criterion, PlanStatus
from pytest_phase7.report import (
    MAX_DETAIL_CHARS,
    MAX_TERMINAL_DETAILS,
    MAX_WIDTH,
    ReportData,
    batch_progress,
    evaluate_criteria,
    phase_progress,
    render_terminal,
    report_data,
    shorten,
    status_badge,
    terminal_lines,
    to_text,
    total_progress,
    use_color,
)
from pytest_phase7.report_json import load_report

GOLDEN = Path(__file__).parent / "golden"


def golden() -> ReportData:
    return load_report(GOLDEN / "example_tta.json")


def plain(lines: list[list[tuple[str, dict[str, bool]]]]) -> list[str]:
    return to_text(lines).splitlines()


def test_terminal_golden_verbose():
    text = to_text(terminal_lines(golden(), 1))
    assert text == (GOLDEN / "example_tta.txt").read_text(encoding="utf-8")


def test_batch_titles_carry_subtotals_and_verdict_is_last():
    lines = plain(render_terminal(golden().result))
    assert lines[0] == "Batch 1: Tier 1 Unit Tests [CRITICAL]  (1/6 done, 2/18 h)"
    assert "Batch 2: Code Generation [LOW]  (1/1 done, 1/1 h)" in lines
    # Batch 3 gives a duration but no estimates: its items share the 4 hours.
    assert "Batch 3: Documentation [NORMAL]  (0/2 done, 0/4 h)" in lines
    assert lines[-1] == "phase7: OK (fail-on=regression): 2 DONE, 5 IN PROGRESS, 2 QUEUED"


def test_quiet_shows_only_items_not_done():
    lines = plain(render_terminal(golden().result, -1))
    rows = [line for line in lines if re.match(r"\d+ ", line)]
    assert [row.split()[0] for row in rows] == ["2", "3", "4", "5", "6", "8", "9"]
    assert "  (all items DONE)" in lines


def test_verbose_adds_each_gates_details():
    text = to_text(render_terminal(golden().result, 1))
    assert "      coverage: src/tta/agent_orchestration/service.py: missing 87, 91-97" in text
    assert "F401 `typing.Optional` imported but unused" in text
    assert "[return-value]" in text
    assert "agents.py:17 tokenize" in text
    assert "gate times: coverage 0.00s" in text


def test_verbose_details_are_bounded_and_very_verbose_shows_all():
    result = golden().result
    many = tuple(f"src/x.py:{n}: E501 line too long" for n in range(1, 31))
    long_missing = "src/x.py: missing " + ", ".join(f"{n}-{n + 1}" for n in range(1, 900, 3))
    first, *rest = result.outcomes
    noisy = GateResult("ruff", GateStatus.FAIL, metric=31.0, details=(long_missing, *many))
    changed = replace(result, outcomes=(replace(first, results=(noisy,)), *rest))
    verbose = plain(render_terminal(changed, 1))
    shown = [line for line in verbose if line.startswith("      ruff: src/x.py")]
    assert len(shown) == MAX_TERMINAL_DETAILS
    assert len(shown[0].strip()) == MAX_DETAIL_CHARS
    assert shown[0].endswith("…")
    assert "      … and 21 more (-vv shows all)" in verbose
    very = plain(render_terminal(changed, 2))
    assert [line.strip() for line in very if line.startswith("      ruff: src/x.py")] == [
        f"ruff: {detail}" for detail in (long_missing, *many)
    ]
    assert not any("more (-vv shows all)" in line for line in very)


def test_progress_and_criteria_of_the_example():
    result = golden().result
    first = result.manifest.batches[0]
    progress = batch_progress(result, first)
    assert (progress.items_done, progress.items_total) == (1, 6)
    assert (progress.hours_done, progress.hours_total) == (2.0, 18.0)
    total = total_progress(result)
    assert (total.items_done, total.items_total, total.hours_total) == (2, 9, 23.0)
    phases = {p.ident: phase_progress(result, p) for p in result.manifest.phases}
    assert phases["7.1"].items_total == 7
    assert phases["7.2"].hours_total == 4.0
    figures = {c.criterion.label: (c.met, c.figure) for c in evaluate_criteria(result)}
    assert figures["Unit Tests"][0] is False
    assert figures["Unit Tests"][1].startswith("5/7 targets \u2265 70% coverage (lowest: ")
    assert figures["Refactoring"] == (
        False,
        "ruff: 2 violations in 1 of 7 targets; mypy: 1 error in 1 of 7 targets",
    )
    assert figures["Code Generation"] == (True, "1/1 items of Code Generation batches DONE")
    assert figures["Quality"] == (False, "2/9 items DONE")


def test_criteria_about_gates_that_did_not_run_are_not_judged():
    result = golden().result
    only_ruff = replace(
        result,
        gates=("ruff",),
        manifest=replace(
            result.manifest,
            criteria=(
                Criterion("Docs", "All public APIs documented"),
                Criterion("Lint", "0 linting violations"),
            ),
        ),
    )
    docs, lint = evaluate_criteria(only_ruff)
    assert docs.met is None
    assert docs.figure == "not measured: docstrings did not run"
    assert lint.met is False


def test_criterion_counts_errors_as_not_met():
    result = golden().result
    outcome = result.outcomes[0]
    broken = GateResult("ruff", GateStatus.ERROR, reason="ruff crashed")
    outcomes = (
        replace(outcome, results=tuple(broken if r.gate == "ruff" else r for r in outcome.results)),
        *result.outcomes[1:],
    )
    lint = Criterion("Lint", "0 linting violations")
    changed = replace(
        result, outcomes=outcomes, manifest=replace(result.manifest, criteria=(lint,))
    )
    (judged,) = evaluate_criteria(changed)
    assert judged.met is False
    assert judged.figure.endswith(", 1 could not be measured")


def test_long_names_are_shortened_to_fit_100_columns():
    data = golden()
    result = data.result
    long = "Very Long Module Area Name That Goes On And On"
    outcomes = tuple(
        replace(o, item=replace(o.item, module=long, file="x" * 80 + ".py"))
        for o in result.outcomes
    )
    lines = plain(render_terminal(replace(result, outcomes=outcomes)))
    table = [line for line in lines if not line.startswith(("phase7:", "warning"))]
    assert max(len(line) for line in table) <= MAX_WIDTH
    assert any("…" in line for line in table)


def test_many_wide_gate_columns_still_fit():
    result = golden().result
    wide = GateResult("extra", GateStatus.FAIL, metric=1.0, display="100.0% of x")
    outcomes = tuple(
        replace(
            o,
            item=replace(o.item, module="M" * 30, file="f" * 40),
            results=(*o.results, replace(wide, gate="a"), replace(wide, gate="b")),
        )
        for o in result.outcomes
    )
    lines = plain(
        render_terminal(
            replace(
                result,
                outcomes=outcomes,
                gates=(*result.gates, "a", "b"),
                gate_titles=(*result.gate_titles, ("a", "Alpha"), ("b", "Beta")),
            )
        )
    )
    rows = [line for line in lines if re.match(r"\d+ ", line)]
    assert max(len(line) for line in rows) <= MAX_WIDTH
    assert "100.…f x ✗" in rows[0]  # shortened in the middle, the mark kept


def test_shorten_cuts_the_middle():
    assert shorten("player_experience_manager.py", 12) == "playe…ger.py"
    assert shorten("short", 12) == "short"
    assert shorten("abc", 1) == "a"


def test_colour_markup_and_choices():
    lines = render_terminal(golden().result)
    coloured = to_text(lines, color=True)
    assert "\x1b[32m" in coloured  # green for passing figures
    assert "\x1b[" not in to_text(lines)
    assert use_color("yes", False)
    assert not use_color("no", True)
    assert use_color("auto", True, {})
    assert not use_color("auto", True, {"NO_COLOR": "1"})
    assert use_color("auto", False, {"FORCE_COLOR": "1"})
    assert not use_color("auto", True, {"TERM": "dumb"})


def test_hook_sections_come_before_the_verdict():
    data = replace(golden(), sections=(("Owners", "alice: 3 items"),))
    lines = plain(terminal_lines(data))
    assert lines[-3:] == [
        "--- Owners ---",
        "alice: 3 items",
        "phase7: OK (fail-on=regression): 2 DONE, 5 IN PROGRESS, 2 QUEUED",
    ]


def test_report_data_of_a_live_run_names_the_tools():
    data = report_data(golden().result, {"a.py": {"coverage": 1.0}}, [("t", "x")])
    names = [name for name, _ in data.versions]
    assert names[:3] == ["python", "pytest", "pytest-phase7"]
    assert "ruff" in names
    assert data.sections == (("t", "x"),)


@pytest.mark.parametrize(
    ("status", "badge"),
    [
        (PlanStatus.DONE, "\u2705 DONE"),
        (PlanStatus.IN_PROGRESS, "\U0001f504 IN PROGRESS"),
        (PlanStatus.QUEUED, "\u23f3 QUEUED"),
        (PlanStatus.FAILED, "\u274c FAILED"),
    ],
)
def test_status_badges_are_real_emoji(status: PlanStatus, badge: str):
    assert status_badge(status) == badge
