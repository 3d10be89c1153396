"""The status rule and the merge policies, on plain data."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.model import Batch, BatchKind, CoverageGoal, Manifest, PlanStatus, WorkItem
from pytest_phase7.resolve.targets import Resolution, ResolutionState, Target, TargetKind
from pytest_phase7.status.rules import (
    ItemOutcome,
    Start,
    decide,
    derive_outcome,
    moved,
    starting_point,
)

TARGET = Target(TargetKind.FILE, "src/m.py", ("src/m.py",))
P, F, E, S = GateStatus.PASS, GateStatus.FAIL, GateStatus.ERROR, GateStatus.SKIP


def resolved(status: PlanStatus | None = None, number: int = 1, batch: int = 1) -> Resolution:
    item = WorkItem(number=number, batch=batch, file="m.py", status=status)
    return Resolution(item, ResolutionState.RESOLVED, target=TARGET)


def results(*statuses: GateStatus, metrics: tuple[float, ...] = ()) -> list[GateResult]:
    names = ["coverage", "ruff", "mypy", "docstrings"]
    return [
        GateResult(names[i], s, metric=metrics[i] if i < len(metrics) else None, reason="r")
        for i, s in enumerate(statuses)
    ]


def test_all_pass_is_done():
    outcome = derive_outcome(resolved(), results(P, P, P, P), BatchKind.TESTS)
    assert outcome.status is PlanStatus.DONE


def test_skip_does_not_count():
    assert (
        derive_outcome(resolved(), results(P, S, S, S), BatchKind.TESTS).status is PlanStatus.DONE
    )


def test_only_skips_is_not_done():
    assert derive_outcome(resolved(), results(S, S), BatchKind.TESTS).status is PlanStatus.QUEUED


def test_other_gates_passing_is_not_progress():
    # 0% coverage and 0% docstrings with clean ruff and mypy: nothing of a tests batch is done.
    outcome = derive_outcome(
        resolved(), results(F, P, P, F, metrics=(0.0, 0.0, 0.0, 0.0)), BatchKind.TESTS
    )
    assert outcome.status is PlanStatus.QUEUED
    assert outcome.reason == "failing: coverage, docstrings"


def test_nothing_passes_is_queued():
    assert derive_outcome(resolved(), results(F, F), BatchKind.TESTS).status is PlanStatus.QUEUED


# --- progress: a primary metric moved from its starting point toward its target -------------

GOAL = CoverageGoal(5.0, 5.0, 70.0)  # **Target Coverage:** 5% -> 70%


def gate(name: str, status: GateStatus, metric: float, reason: str = "") -> GateResult:
    return GateResult(name, status, metric=metric, reason=reason)


def example(coverage: float, ruff: float = 0.0, recorded: PlanStatus | None = None) -> ItemOutcome:
    """An item of the bundled example's batch 1 (tests, 5% -> 70%), docstrings and mypy clean."""
    return derive_outcome(
        resolved(recorded),
        [
            gate("coverage", P if coverage >= 70 else F, coverage, f"{coverage:g}% < 70%"),
            gate("ruff", P if ruff == 0 else F, ruff, f"{ruff:g} violations > 0 allowed"),
            gate("mypy", P, 0.0),
            gate("docstrings", P, 100.0),
        ],
        BatchKind.TESTS,
        goal=GOAL,
    )


def test_the_bundled_examples_statuses():
    # player_experience_manager.py: 0% coverage, every other gate clean, plan QUEUED.
    assert example(0.0).status is PlanStatus.QUEUED
    # service.py: 49%, up from the plan's 5%.
    service = example(49.0)
    assert service.status is PlanStatus.IN_PROGRESS
    assert service.reason == (
        "failing: coverage; moved: coverage 5% \u2192 49% (the plan's Target Coverage)"
    )
    # auth.py: coverage met, ruff failing.
    assert example(100.0, ruff=2.0).status is PlanStatus.IN_PROGRESS


def test_plan_recording_in_progress_counts():
    outcome = example(0.0, recorded=PlanStatus.IN_PROGRESS)
    assert outcome.status is PlanStatus.IN_PROGRESS
    assert outcome.reason.endswith("the plan records it IN PROGRESS")


def test_recorded_done_says_which_gate_and_why():
    outcome = example(49.0, recorded=PlanStatus.DONE)
    assert outcome.status is PlanStatus.FAILED
    assert outcome.reason == "recorded DONE, coverage 49% < 70%"


def coverage_outcome(
    metric: float,
    *,
    baseline: float | None = None,
    goal: CoverageGoal | None = None,
    first: float | None = None,
) -> ItemOutcome:
    return derive_outcome(
        resolved(),
        [gate("coverage", F, metric)],
        BatchKind.TESTS,
        {"src/m.py": {"coverage": baseline}} if baseline is not None else None,
        goal=goal,
        first_run={"coverage": first} if first is not None else None,
    )


@pytest.mark.parametrize(
    ("metric", "where", "expected"),
    [
        # The baseline comes first: 49% is not progress from a 49% baseline, whatever the plan.
        (49.0, {"baseline": 49.0, "goal": GOAL}, PlanStatus.QUEUED),
        (50.0, {"baseline": 49.0, "goal": GOAL}, PlanStatus.IN_PROGRESS),
        # Then the plan's "from", before the history.
        (30.0, {"goal": GOAL, "first": 30.0}, PlanStatus.IN_PROGRESS),
        (5.0, {"goal": GOAL, "first": 1.0}, PlanStatus.QUEUED),
        # Then the first recorded run.
        (30.0, {"first": 30.0}, PlanStatus.QUEUED),
        (35.0, {"first": 30.0}, PlanStatus.IN_PROGRESS),
        # A "from" range does not say where this item started: the history does; else its top.
        (20.0, {"goal": CoverageGoal(5.0, 27.0, 70.0)}, PlanStatus.QUEUED),
        (28.0, {"goal": CoverageGoal(5.0, 27.0, 70.0)}, PlanStatus.IN_PROGRESS),
        (20.0, {"goal": CoverageGoal(5.0, 27.0, 70.0), "first": 10.0}, PlanStatus.IN_PROGRESS),
        # No starting point at all: a percentage above zero has moved.
        (1.0, {}, PlanStatus.IN_PROGRESS),
        (0.0, {}, PlanStatus.QUEUED),
    ],
)
def test_starting_points(metric: float, where: dict[str, Any], expected: PlanStatus):
    assert coverage_outcome(metric, **where).status is expected


def test_refactor_batch_counts_move_only_from_a_known_start():
    ruff_3, mypy_0 = gate("ruff", F, 3.0), gate("mypy", P, 0.0)
    # No start: a count of problems (even a clean mypy) says nothing about work done.
    unknown = derive_outcome(resolved(), [ruff_3, mypy_0], BatchKind.REFACTOR)
    assert unknown.status is PlanStatus.QUEUED
    fewer = derive_outcome(
        resolved(), [ruff_3, mypy_0], BatchKind.REFACTOR, first_run={"ruff": 5.0, "mypy": 0.0}
    )
    assert fewer.status is PlanStatus.IN_PROGRESS
    assert fewer.reason.endswith("ruff 5 \u2192 3 (the first recorded run)")
    # Coverage is not what a refactoring batch is about.
    coverage = derive_outcome(resolved(), [gate("coverage", F, 60.0), ruff_3], BatchKind.REFACTOR)
    assert coverage.status is PlanStatus.QUEUED


def test_docs_batch_progress_is_docstrings():
    docs = [gate("coverage", F, 60.0), gate("docstrings", F, 0.0)]
    assert derive_outcome(resolved(), docs, BatchKind.DOCS).status is PlanStatus.QUEUED
    some = [gate("coverage", F, 0.0), gate("docstrings", F, 40.0)]
    assert derive_outcome(resolved(), some, BatchKind.DOCS).status is PlanStatus.IN_PROGRESS


def test_codegen_target_existing_is_progress():
    outcome = derive_outcome(resolved(), [gate("ruff", F, 2.0)], BatchKind.CODEGEN)
    assert outcome.status is PlanStatus.IN_PROGRESS
    assert outcome.reason == "failing: ruff; generated"


def test_gates_narrowed_to_no_primary_gate_make_the_kept_gates_primary():
    # A tests batch with **Gates:** ruff: the ruff count is what it is about.
    outcome = derive_outcome(
        resolved(),
        [gate("coverage", S, 0.0), gate("ruff", F, 3.0)],
        BatchKind.TESTS,
        first_run={"ruff": 4.0},
    )
    assert outcome.status is PlanStatus.IN_PROGRESS


@pytest.mark.parametrize(
    ("gate_name", "metric", "start", "expected"),
    [
        ("coverage", 10.0, None, True),
        ("coverage", 0.0, None, False),
        ("docstrings", 50.0, Start(50.0, "s"), False),
        ("docstrings", 51.0, Start(50.0, "s"), True),
        ("ruff", 0.0, None, False),
        ("ruff", 2.0, Start(3.0, "s"), True),
        ("mypy", 3.0, Start(3.0, "s"), False),
        ("lines", 4.0, Start(3.0, "s"), False),
    ],
)
def test_moved(gate_name: str, metric: float, start: Start | None, expected: bool):
    assert moved(gate_name, metric, start) is expected


def test_starting_point_sources():
    assert starting_point("coverage", {"coverage": 9.0}, GOAL, {"coverage": 1.0}) == Start(
        9.0, "baseline"
    )
    assert starting_point("coverage", {}, GOAL, {}) == Start(5.0, "the plan's Target Coverage")
    assert starting_point("docstrings", {}, GOAL, {}) is None  # the goal is about coverage
    assert starting_point("ruff", {}, None, {"ruff": 2.0}) == Start(2.0, "the first recorded run")
    assert starting_point("coverage", {}, CoverageGoal(None, None, 70.0), {}) is None


def test_error_is_failed():
    outcome = derive_outcome(resolved(), results(P, E, P, P), BatchKind.TESTS)
    assert outcome.status is PlanStatus.FAILED
    assert outcome.error
    assert outcome.reason == "ruff: r"


def test_recorded_done_that_fails_is_a_regression():
    outcome = derive_outcome(resolved(PlanStatus.DONE), results(F, P), BatchKind.TESTS)
    assert outcome.status is PlanStatus.FAILED
    assert outcome.regression
    assert "recorded DONE" in outcome.reason


def test_worse_than_baseline_is_a_regression():
    baseline = {"src/m.py": {"coverage": 60.0}}
    outcome = derive_outcome(resolved(), results(F, metrics=(55.0,)), BatchKind.TESTS, baseline)
    assert outcome.status is PlanStatus.FAILED
    assert outcome.regression


def test_improved_over_baseline_is_in_progress():
    baseline = {"src/m.py": {"coverage": 40.0, "ruff": 5.0}}
    outcome = derive_outcome(
        resolved(), results(F, F, metrics=(55.0, 5.0)), BatchKind.TESTS, baseline
    )
    assert outcome.status is PlanStatus.IN_PROGRESS
    assert outcome.improved


def test_fewer_violations_is_an_improvement_more_is_worse():
    baseline = {"src/m.py": {"ruff": 5.0}}
    better = derive_outcome(resolved(), results(S, F, metrics=(0, 3.0)), BatchKind.TESTS, baseline)
    worse = derive_outcome(resolved(), results(S, F, metrics=(0, 6.0)), BatchKind.TESTS, baseline)
    assert better.status is PlanStatus.IN_PROGRESS
    assert worse.status is PlanStatus.FAILED


@pytest.mark.parametrize(
    ("state", "kind", "recorded", "expected"),
    [
        (ResolutionState.MISSING, BatchKind.TESTS, None, PlanStatus.FAILED),
        (ResolutionState.MISSING, BatchKind.CODEGEN, None, PlanStatus.QUEUED),
        (ResolutionState.MISSING, BatchKind.CODEGEN, PlanStatus.DONE, PlanStatus.FAILED),
        (ResolutionState.AMBIGUOUS, BatchKind.CODEGEN, None, PlanStatus.FAILED),
        (ResolutionState.ESCAPES, BatchKind.TESTS, None, PlanStatus.FAILED),
        (ResolutionState.UNMAPPED, BatchKind.DOCS, None, PlanStatus.QUEUED),
        (ResolutionState.UNMAPPED, BatchKind.DOCS, PlanStatus.DONE, PlanStatus.DONE),
    ],
)
def test_unresolved_targets(state, kind, recorded, expected):
    item = WorkItem(number=1, batch=1, file="x.py", status=recorded)
    outcome = derive_outcome(Resolution(item, state, message="m"), [], kind)
    assert outcome.status is expected


def manifest(required: bool = False) -> Manifest:
    return Manifest(
        path="p",
        format="toml",
        batches=(Batch(number=1, title="T", line=1, required=required),),
    )


def outcomes(*pairs: tuple[PlanStatus | None, list[GateResult]]):
    return [
        derive_outcome(resolved(recorded, number=i + 1), res, BatchKind.TESTS)
        for i, (recorded, res) in enumerate(pairs)
    ]


def test_policy_regression_blocks_on_regression_and_error_only():
    ok = outcomes((None, results(F, P)), (None, results(F, F)), (None, results(P, P)))
    assert not decide(manifest(), ok, "regression").blocked
    bad = outcomes((PlanStatus.DONE, results(F, P)), (None, results(E)))
    verdict = decide(manifest(), bad, "regression")
    assert verdict.blocked
    assert verdict.reasons == (
        "1 item regressed (#1)",
        "1 item could not be checked (coverage ERROR) (#2)",
    )
    assert verdict.summary.startswith("phase7: merge BLOCKED (fail-on=regression): 1 item")


def test_verdict_tells_unresolved_targets_from_gate_errors():
    # Coverage ERROR on four items and two ambiguous targets: not "6 items could not be checked".
    checked = outcomes(*[(None, results(E, P)) for _ in range(4)])
    unresolved = [
        derive_outcome(
            Resolution(WorkItem(number=n, batch=1, file="x.py"), state, message="m"),
            [],
            BatchKind.TESTS,
        )
        for n, state in (
            (5, ResolutionState.AMBIGUOUS),
            (6, ResolutionState.AMBIGUOUS),
            (7, ResolutionState.MISSING),
            (8, ResolutionState.ESCAPES),
        )
    ]
    mixed = outcomes((None, results(P, E)), (None, results(E, E)))
    assert decide(manifest(), [*checked, *unresolved], "regression").reasons == (
        "2 items have an ambiguous target (#5, #6)",
        "1 item has a target that was not found (#7)",
        "1 item has a target outside the rootdir (#8)",
        "4 items could not be checked (coverage ERROR) (#1, #2, #3, #4)",
    )
    assert decide(manifest(), mixed, "regression").reasons == (
        "2 items could not be checked (ruff, coverage ERROR) (#1, #2)",
    )


def test_policy_incomplete_blocks_unless_all_done():
    partial = outcomes((None, results(P, P)), (None, results(F, P)))
    verdict = decide(manifest(), partial, "incomplete")
    assert verdict.blocked
    assert verdict.reasons == ("1 item is not DONE (#2)",)
    assert not decide(manifest(), outcomes((None, results(P))), "incomplete").blocked


def test_policy_never_never_blocks():
    bad = outcomes((PlanStatus.DONE, results(F)), (None, results(E)))
    verdict = decide(manifest(), bad, "never")
    assert not verdict.blocked
    assert dict(verdict.counts)["FAILED"] == 2


def test_required_batch_demands_done_under_regression_policy():
    partial = outcomes((None, results(F, P)))
    verdict = decide(manifest(required=True), partial, "regression")
    assert verdict.blocked
    assert verdict.reasons == ("1 item of a required batch is not DONE (#1)",)
