"""phase7 init's logic: AST facts, the documented formulas, batches, and a plan that loads back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pytest_phase7.engine import RunResult
from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.manifest import parse_markdown
from pytest_phase7.model import Batch, BatchKind, Manifest, PlanStatus, WorkItem
from pytest_phase7.resolve.targets import (
    RepoIndex,
    Resolution,
    ResolutionState,
    Target,
    TargetKind,
    resolve_items,
)
from pytest_phase7.scaffold import (
    ModuleFacts,
    ast_facts,
    complexity,
    draft_batches,
    estimate_hours,
    render_plan,
)
from pytest_phase7.status.rules import decide, derive_outcome

SOURCE = """
class A:
    def m(self, x):
        if x and x > 1 or x < -1:
            return 1
        for i in range(3):
            pass
        try:
            pass
        except ValueError:
            pass
        return 2 if x else 3


async def f():
    while True:
        break
"""


def test_ast_facts():
    assert ast_facts(SOURCE) == ModuleFacts(statements=13, branches=7, functions=2, classes=1)
    assert ast_facts("def broken(:\n") == ModuleFacts(0, 0, 0, 0)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (ModuleFacts(statements=74, branches=0, functions=0, classes=0), "Simple"),  # 2.96
        (ModuleFacts(statements=25, branches=9, functions=4, classes=0), "Simple"),  # 3.8
        (ModuleFacts(statements=25, branches=10, functions=4, classes=0), "Moderate"),  # 4
        (ModuleFacts(statements=100, branches=0, functions=0, classes=0), "Moderate"),  # 4
        (ModuleFacts(statements=0, branches=59, functions=0, classes=0), "Moderate"),  # 11.8
        (ModuleFacts(statements=0, branches=60, functions=0, classes=0), "Complex"),  # 12
    ],
)
def test_complexity_thresholds(facts: ModuleFacts, expected: str):
    assert complexity(facts) == expected


def test_estimates_round_up_to_half_hours():
    facts = ModuleFacts(statements=40, branches=10, functions=3, classes=0)
    assert estimate_hours("tests", facts, 30) == 3.5  # 0.5 + 2 + 1 = 3.5
    assert estimate_hours("tests", facts, 31) == 4.0  # 3.57 -> 4
    assert estimate_hours("refactor", facts, 3) == 1.5  # 0.5 + 0.75 -> 1.5
    assert estimate_hours("docs", facts, 6) == 1.5  # 0.5 + 1


def measured(path: str, cov: float, missing: float, ruff: int, mypy: int, docs: float, undoc: int):
    item = WorkItem(number=hash(path) % 1000, batch=1, target=path)
    target = Target(TargetKind.FILE, path, (path,))
    results = [
        GateResult(
            "coverage",
            GateStatus.PASS if cov >= 70 else GateStatus.FAIL,
            metric=cov,
            threshold=70,
            extra=(("missing", missing),),
        ),
        GateResult(
            "ruff", GateStatus.PASS if not ruff else GateStatus.FAIL, metric=ruff, threshold=0
        ),
        GateResult(
            "mypy", GateStatus.PASS if not mypy else GateStatus.FAIL, metric=mypy, threshold=0
        ),
        GateResult(
            "docstrings",
            GateStatus.PASS if docs >= 80 else GateStatus.FAIL,
            metric=docs,
            threshold=80,
            details=tuple(f"n{i}" for i in range(undoc)),
        ),
    ]
    resolution = Resolution(item, ResolutionState.RESOLVED, target=target)
    return derive_outcome(resolution, results, BatchKind.TESTS)


def run_result(*outcomes) -> RunResult:
    manifest = Manifest(path="init", format="toml", batches=(Batch(number=1, title="All", line=1),))
    return RunResult(
        manifest,
        ".",
        ("coverage", "ruff", "mypy", "docstrings"),
        (),
        tuple(outcomes),
        (),
        decide(manifest, outcomes, "never"),
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for rel in (
        "src/app/core_utils/a.py",
        "src/app/core_utils/b.py",
        "src/app/web/c.py",
        "src/app/web/d.py",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(SOURCE)
    return tmp_path


def test_draft_batches_by_need_and_impact(project: Path):
    result = run_result(
        measured("src/app/core_utils/a.py", 40.0, 12, 0, 0, 100.0, 0),
        measured("src/app/core_utils/b.py", 10.0, 30, 2, 1, 50.0, 3),
        measured("src/app/web/c.py", 95.0, 1, 0, 0, 100.0, 0),
        measured("src/app/web/d.py", 80.0, 2, 0, 4, 60.0, 2),
    )
    sources = dict.fromkeys(("src/app/core_utils/a.py", "src/app/core_utils/b.py"), SOURCE)
    batches = draft_batches(result, sources)
    assert [b.kind for b in batches] == ["tests", "refactor", "docs"]
    tests, refactor, docs = batches
    assert [i.path for i in tests.items] == ["src/app/core_utils/b.py", "src/app/core_utils/a.py"]
    assert tests.items[0].area == "Core Utils"
    assert [(i.path, i.impact) for i in refactor.items] == [
        ("src/app/web/d.py", 4.0),
        ("src/app/core_utils/b.py", 3.0),
    ]
    assert [i.path for i in docs.items] == ["src/app/core_utils/b.py", "src/app/web/d.py"]


def test_rendered_plan_loads_back_and_resolves(project: Path):
    result = run_result(
        measured("src/app/core_utils/a.py", 40.0, 12, 0, 0, 100.0, 0),
        measured("src/app/web/d.py", 80.0, 2, 0, 4, 60.0, 2),
    )
    text = render_plan(draft_batches(result, {}), "app", date(2026, 11, 24), 70)
    manifest = parse_markdown(text, "PHASE7_EXECUTION_PLAN.md")
    assert manifest.errors == ()
    assert manifest.warnings == ()
    assert manifest.total_items == 3
    assert [(b.title, b.kind, b.gates) for b in manifest.batches] == [
        ("Unit Tests", BatchKind.TESTS, ("coverage",)),
        ("Code Refactoring", BatchKind.REFACTOR, ("ruff", "mypy")),
        ("Documentation", BatchKind.DOCS, ("docstrings",)),
    ]
    assert manifest.batches[0].coverage_goal is not None
    assert manifest.batches[0].coverage_goal.to == 70
    assert all(item.status is PlanStatus.QUEUED for item in manifest.items)
    resolutions = resolve_items(manifest, project, index=RepoIndex(project))
    assert [r.target.ref for r in resolutions if r.target] == [
        "src/app/core_utils/a.py",
        "src/app/web/d.py",
        "src/app/web/d.py",
    ]
    assert "❌ **Unit Tests:** 70%+ coverage for all modules" in text
    assert "**Last Updated:** November 24, 2026" in text


def test_nothing_to_do_gives_no_batches():
    result = run_result(measured("m.py", 100.0, 0, 0, 0, 100.0, 0))
    assert draft_batches(result, {}) == []
