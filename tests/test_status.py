"""The status rule and the merge policies, on plain data."""

from __future__ import annotations

import pytest

from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.model import Batch, BatchKind, Manifest, PlanStatus, WorkItem
from pytest_phase7.resolve import Resolution, ResolutionState, Target, TargetKind
from pytest_phase7.status import decide, derive_outcome

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


def test_some_pass_is_in_progress():
    outcome = derive_outcome(resolved(), results(F, P, P, P), BatchKind.TESTS)
    assert outcome.status is PlanStatus.IN_PROGRESS
    assert outcome.reason == "failing: coverage"


def test_nothing_passes_is_queued():
    assert derive_outcome(resolved(), results(F, F), BatchKind.TESTS).status is PlanStatus.QUEUED


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
