"""The terminal table: golden output, subtotals, -q/-v, widths, wide characters, colour."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from _pytest._io.wcwidth import wcswidth  # an independent measure of display width

from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.manifest.markdown import parse_markdown
from pytest_phase7.model import BatchKind, Criterion, PlanStatus
from pytest_phase7.report.json import load_report
from pytest_phase7.report.model import (
    ReportData,
    batch_progress,
    evaluate_criteria,
    phase_progress,
    report_data,
    status_badge,
    total_progress,
)
from pytest_phase7.report.terminal import (
    DEFAULT_WIDTH,
    MAX_DETAIL_CHARS,
    MAX_TERMINAL_DETAILS,
    criteria_lines,
    display_width,
    render_terminal,
    shorten,
    terminal_lines,
    to_text,
    use_color,
)
from pytest_phase7.resolve.targets import Resolution, ResolutionState
from pytest_phase7.status.rules import derive_outcome

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
    assert lines[-1] == VERDICT


VERDICT = "phase7: OK (fail-on=regression): 2 DONE, 4 IN PROGRESS, 3 QUEUED"

#: A table row: its ``#`` cell (right-aligned, maybe a range ``8-9``), then the rest.
ROW = re.compile(r"\s*\d+(?:-\d+)? ")


def rows_of(lines: list[str]) -> list[str]:
    return [line for line in lines if ROW.match(line)]


def test_quiet_shows_only_items_not_done():
    lines = plain(render_terminal(golden().result, -1))
    assert [row.split()[0] for row in rows_of(lines)] == ["2", "3", "4", "5", "6", "8-9"]
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
    table = rows_of(plain(render_terminal(replace(result, outcomes=outcomes))))
    assert max(len(line) for line in table) <= DEFAULT_WIDTH
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
    rows = rows_of(lines)
    assert max(len(line) for line in rows) <= DEFAULT_WIDTH
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
        VERDICT,
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


# --- layout: the terminal's width, display width, what is never cut -------------------------


def shared() -> ReportData:
    return load_report(GOLDEN / "shared_plan.json")


def table_lines(lines: list[str]) -> list[str]:
    """Header and item rows: the lines laid out in columns."""
    return [line for line in lines if ROW.match(line) or line.lstrip().startswith("#  ")]


@pytest.mark.parametrize("width", [80, 100, 200])
def test_the_table_fits_the_width(width: int):
    for data in (golden(), shared()):
        lines = plain(render_terminal(data.result, 0, width))
        table = table_lines(lines)
        assert table
        assert max(display_width(line) for line in table) <= width
        # Aligned: every row's Status cell starts where the header's does.
        header = next(line for line in table if "Status" in line)
        column = header.index("Status")
        assert all(line[column - 2 : column] == "  " for line in table)
        assert all(line[column] != " " for line in rows_of(lines))


def test_with_room_nothing_is_cut():
    lines = plain(render_terminal(golden().result, 0, 200))
    table = table_lines(lines)
    assert not any("…" in line for line in table)
    assert "Agent Orchestration" in table[1]
    assert "player_experience_manager.py" in "\n".join(table)


def test_at_100_columns_the_module_the_target_repeats_makes_room():
    # "Agent Orchestration" is also the Target folder agent_orchestration/: rather than cut
    # it (or the file names), the table shows it once, in the Target column.
    table = table_lines(plain(render_terminal(golden().result, 0, 100)))
    assert not any("…" in line for line in table)
    assert "Module" not in table[0]
    assert "player_experience_manager.py" in "\n".join(table)


def test_a_module_the_target_does_not_repeat_is_kept_and_shortened():
    result = golden().result
    outcomes = tuple(
        replace(o, item=replace(o.item, module="Gameplay Services Area"))
        if o.item.number == 1
        else o
        for o in result.outcomes
    )
    table = table_lines(plain(render_terminal(replace(result, outcomes=outcomes), 0, 100)))
    assert "Module" in table[0]
    assert max(len(line) for line in table) <= 100
    assert any("…" in line for line in table)


@pytest.mark.parametrize("width", [30, 60, 80])
def test_headers_are_never_cut(width: int):
    lines = plain(render_terminal(golden().result, 0, width))
    header = next(line for line in lines if line.lstrip().startswith("#"))
    for name in ("File", "Target (in src/tta/)", "Cov", "Ruff", "Mypy", "Docs", "Status"):
        assert name in header


def with_files(result, files: dict[int, str]):
    return replace(
        result,
        outcomes=tuple(
            replace(o, item=replace(o.item, file=files[o.item.number]))
            if o.item.number in files
            else o
            for o in result.outcomes
        ),
    )


def test_a_file_cell_that_is_the_path_is_shown_once():
    result = golden().result
    paths = {
        o.item.number: o.resolution.target.ref
        for o in result.outcomes
        if o.resolution.target is not None
    }
    lines = plain(render_terminal(with_files(result, paths), 0, 200))
    table = table_lines(lines)
    assert "Target" not in table[0]  # the File column already says where
    assert "src/tta/player_experience/player_experience_manager.py" in "\n".join(table)
    assert "\n".join(table).count("player_experience_manager.py") == 1
    assert "(not mapped)" in "\n".join(table)  # said in the File column now
    # A File cell that is a path in one row: the others show their whole folder, no prefix.
    one = plain(render_terminal(with_files(result, {1: paths[1]}), 0, 200))
    header = next(line for line in one if line.lstrip().startswith("#"))
    assert "Target  " in header
    assert "(in " not in header
    row = next(line for line in rows_of(one) if line.split()[0] == "2")
    assert "src/tta/agent_orchestration/" in row


def test_display_width_counts_terminal_columns():
    assert display_width("abc") == 3
    assert display_width("日本語") == 6
    assert display_width("Cafe\u0301") == 4  # a combining accent takes no column
    assert display_width("\u2705 DONE") == 7  # the emoji is wide
    assert display_width("\u2764\ufe0f") == 1  # a variation selector takes none
    assert shorten("日本語のモジュール", 7) == "日…ール"  # the end gets the column 本 left
    assert display_width(shorten("日本語のモジュール", 7)) == 7
    assert shorten("Cafe\u0301 Cafe\u0301 Cafe\u0301", 5) == "Ca…fe\u0301"  # the accent kept
    assert shorten("xxxxb\u0301a", 3) == "x…a"  # not an accent on the ellipsis
    assert display_width(shorten("x" * 20 + "日", 6)) == 6


@pytest.mark.parametrize("width", [80, 100, 200])
def test_wide_and_combining_characters_keep_the_columns_aligned(width: int):
    result = golden().result
    names = {1: "エージェント調整", 2: "\U0001f680 Launch Pad", 3: "Cafe\u0301 Re\u0301sume\u0301"}
    outcomes = tuple(
        replace(o, item=replace(o.item, module=names[o.item.number]))
        if o.item.number in names
        else o
        for o in result.outcomes
    )
    lines = plain(render_terminal(replace(result, outcomes=outcomes), 0, width))
    table = table_lines(lines)[:7]  # batch 1: the header and its six rows
    assert any("エ" in line for line in table)
    # Measured with pytest's own writer's rule, not ours.
    assert max(wcswidth(line) for line in table) <= width
    # The Status cell starts at the same display column on every line.
    starts = {
        wcswidth(line[: line.rindex(word)])
        for line in table
        for word in ("Status", "DONE", "IN PROGRESS", "QUEUED")
        if line.rstrip().endswith(word)
    }
    assert len(starts) == 1


def test_unmapped_items_collapse_to_one_row_per_range():
    rows = rows_of(plain(render_terminal(shared().result)))
    assert [row.split()[0] for row in rows] == [
        *"123456",
        "7-12",
        "19-30",
        "31-40",
        "41-47",
    ]
    # Another status in the middle, or a gap in the numbers, breaks a range.
    result = shared().result
    outcomes = tuple(
        replace(o, status=PlanStatus.DONE) if o.item.number == 9 else o
        for o in result.outcomes
        if o.item.number != 33
    )
    rows = rows_of(plain(render_terminal(replace(result, outcomes=outcomes))))
    assert [row.split()[0] for row in rows][6:] == [
        "7-8",
        "9",
        "10-12",
        "19-30",
        "31-32",
        "34-40",
        "41-47",
    ]


def derived(outcome, recorded: PlanStatus):
    """The outcome again, as if the plan recorded ``recorded``."""
    item = replace(outcome.item, status=recorded)
    resolution = replace(outcome.resolution, item=item)
    return derive_outcome(resolution, outcome.results, BatchKind.TESTS)


def test_failed_items_say_why_under_their_batch():
    result = golden().result
    outcomes = tuple(
        derived(o, PlanStatus.DONE) if o.item.number in {3, 4} else o for o in result.outcomes
    )
    lines = plain(render_terminal(replace(result, outcomes=outcomes), 0, 200))
    start = lines.index(next(line for line in lines if line.startswith("Batch 2:")))
    assert lines[start - 2 : start] == [
        "  #3: recorded DONE, coverage 49% < 70%",
        "  #4: recorded DONE, ruff 2 violations > 0 allowed",
    ]
    # Items failing for the same reason share the line.
    same = tuple(
        replace(o, status=PlanStatus.FAILED, reason="ruff: ruff not found")
        if o.item.number in {2, 5}
        else o
        for o in result.outcomes
    )
    assert "  #2, #5: ruff: ruff not found" in plain(
        render_terminal(replace(result, outcomes=same))
    )


def test_a_missing_target_says_why_under_its_batch_once():
    result = golden().result
    first = result.outcomes[0]
    missing = derive_outcome(
        Resolution(first.item, ResolutionState.MISSING, message="adapters.py: no such file"),
        [],
        BatchKind.TESTS,
    )
    lines = plain(render_terminal(replace(result, outcomes=(missing, *result.outcomes[1:]))))
    assert lines.count("  #1: adapters.py: no such file") == 1
    assert not any(line.startswith("#1:") for line in lines)


def test_success_criteria_one_line_each():
    result = golden().result
    wide = plain(criteria_lines(result, 0, 200))
    assert wide[0] == "Success criteria"
    assert wide[1] == (
        "  \u2717 Unit Tests: 70%+ coverage for all modules \u2014 5/7 targets \u2265 70% "
        "coverage (lowest: src/tta/player_experience/player_experience_manager.py 0%)"
    )
    assert "  \u2713 Code Generation: All utilities follow TTA patterns \u2014 1/1 items" in wide[4]
    assert len(wide) == 1 + len(result.manifest.criteria)
    # Too narrow for the plan's wording: every line leaves it out, none loses its figure.
    narrow = plain(criteria_lines(result, 0, 100))
    assert narrow[1].startswith("  \u2717 Unit Tests \u2014 5/7 targets")
    assert narrow[4] == "  \u2713 Code Generation \u2014 1/1 items of Code Generation batches DONE"
    # -q: only what is not met.
    quiet = plain(criteria_lines(result, -1, 200))
    assert len(quiet) == 1 + 4
    assert not any("\u2713" in line for line in quiet)
    # In the table's output, before the verdict.
    lines = plain(render_terminal(result, 0, 200))
    assert wide[1] in lines
    assert lines.index(wide[1]) < len(lines) - 1


def test_plan_warnings_are_said_once_and_the_kind_assumption_not_under_quiet():
    manifest = parse_markdown(
        "# P\n\n### Batch 1: Cleanup\n**Items:** 1\n\n### Batch 2: Polish\n**Items:** 2\n", "P.md"
    )
    (problem,) = manifest.warnings
    assert str(problem) == (
        "P.md:3: warning: batches 1 and 2: cannot tell the kind of work from the titles; "
        "assuming tests (say **Kind:** tests, refactor, docs or codegen)"
    )
    result = replace(
        golden().result, manifest=replace(golden().result.manifest, problems=(problem,))
    )
    assert plain(render_terminal(result)).count(str(problem)) == 1
    assert str(problem) not in plain(render_terminal(result, -1))
