"""``phase7 init``: scaffold a Phase 7 plan from the repository as it is.

Every module is measured by the gates; modules below target become items, in up to three batches:
Unit Tests (coverage below target, gated on coverage), Code Refactoring (ruff or mypy problems,
gated on ruff and mypy) and Documentation (docstring coverage below target, gated on docstrings).
Within a batch, items are sorted by impact: missing statements, problems, undocumented names.

Complexity and estimates come from the module's AST (see :func:`complexity` and
:func:`estimate_hours`; the README states the same formulas):

* ``size = statements / 25 + branches / 5 + functions / 4``: Simple below 4, Moderate below 12,
  Complex from 12;
* hours, rounded up to the next half hour: tests ``0.5 + missing statements / 15 + branches / 10``;
  refactoring ``0.5 + (ruff + mypy problems) / 4``; documentation ``0.5 + undocumented / 6``.

The plan is written in the shared plan's Markdown format, with a ``Path`` column so every item
resolves to exactly its module; it loads with ``phase7 validate`` and runs with ``pytest --phase7``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pytest_phase7.engine import RunResult
from pytest_phase7.gates.base import GateStatus
from pytest_phase7.status.rules import ItemOutcome

_BRANCH_NODES = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.IfExp, ast.ExceptHandler)
_FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class ModuleFacts:
    """What the AST says about one module."""

    statements: int
    branches: int
    functions: int
    classes: int


def ast_facts(source: str) -> ModuleFacts:
    """Count statements, branch points, functions and classes (a file that fails to parse: 0)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ModuleFacts(0, 0, 0, 0)
    statements = branches = functions = classes = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            statements += 1
        if isinstance(node, _BRANCH_NODES):
            branches += 1
        elif isinstance(node, ast.BoolOp):
            branches += len(node.values) - 1
        elif isinstance(node, ast.match_case):
            branches += 1
        if isinstance(node, _FUNCTION_NODES):
            functions += 1
        elif isinstance(node, ast.ClassDef):
            classes += 1
    return ModuleFacts(statements, branches, functions, classes)


def complexity(facts: ModuleFacts) -> str:
    """Simple / Moderate / Complex from ``statements / 25 + branches / 5 + functions / 4``."""
    size = facts.statements / 25 + facts.branches / 5 + facts.functions / 4
    if size < 4:
        return "Simple"
    if size < 12:
        return "Moderate"
    return "Complex"


def _half_hours(hours: float) -> float:
    return math.ceil(hours * 2) / 2


def estimate_hours(kind: str, facts: ModuleFacts, amount: float) -> float:
    """Hours for one item (module docstring); ``amount`` is what the work removes.

    ``amount``: missing statements (tests), ruff + mypy problems (refactor), undocumented names
    (docs).
    """
    if kind == "tests":
        return _half_hours(0.5 + amount / 15 + facts.branches / 10)
    if kind == "refactor":
        return _half_hours(0.5 + amount / 4)
    return _half_hours(0.5 + amount / 6)


@dataclass(frozen=True)
class DraftItem:
    """One item of the scaffolded plan."""

    path: str
    area: str
    file: str
    complexity: str
    hours: float
    impact: float
    current: float | None


@dataclass(frozen=True)
class DraftBatch:
    """One batch of the scaffolded plan."""

    kind: str
    title: str
    priority: str
    gates: tuple[str, ...]
    focus: str
    items: tuple[DraftItem, ...]


def _area(path: str) -> str:
    parent = Path(path).parent.name
    return " ".join(part.capitalize() for part in parent.split("_") if part) or "(root)"


def _metric(outcome: ItemOutcome, gate: str) -> tuple[GateStatus | None, float | None, float]:
    result = outcome.result(gate)
    if result is None:
        return None, None, 0.0
    details = float(len(result.details))
    return result.status, result.metric, details


def draft_batches(result: RunResult, sources: dict[str, str]) -> list[DraftBatch]:
    """Sort measured modules into batches by need; ``sources`` maps module path to its text."""
    tests: list[DraftItem] = []
    refactor: list[DraftItem] = []
    docs: list[DraftItem] = []
    for outcome in result.outcomes:
        target = outcome.resolution.target
        if target is None:
            continue
        path = target.ref
        facts = ast_facts(sources.get(path, ""))
        base = {
            "path": path,
            "area": _area(path),
            "file": Path(path).name,
            "complexity": complexity(facts),
        }
        status, metric, _ = _metric(outcome, "coverage")
        if status is GateStatus.FAIL:
            coverage = outcome.result("coverage")
            missing = dict(coverage.extra).get("missing", 0.0) if coverage else 0.0
            tests.append(
                DraftItem(
                    **base,
                    hours=estimate_hours("tests", facts, missing),
                    impact=missing,
                    current=metric,
                )
            )
        problems = 0.0
        for gate in ("ruff", "mypy"):
            gate_status, gate_metric, _ = _metric(outcome, gate)
            if gate_status is GateStatus.FAIL and gate_metric is not None:
                problems += gate_metric
        if problems:
            refactor.append(
                DraftItem(
                    **base,
                    hours=estimate_hours("refactor", facts, problems),
                    impact=problems,
                    current=problems,
                )
            )
        status, metric, undocumented = _metric(outcome, "docstrings")
        if status is GateStatus.FAIL:
            docs.append(
                DraftItem(
                    **base,
                    hours=estimate_hours("docs", facts, undocumented),
                    impact=undocumented,
                    current=metric,
                )
            )
    batches = [
        DraftBatch(
            "tests",
            "Unit Tests",
            "CRITICAL",
            ("coverage",),
            "Raise coverage of the least covered modules first",
            _by_impact(tests),
        ),
        DraftBatch(
            "refactor",
            "Code Refactoring",
            "NORMAL",
            ("ruff", "mypy"),
            "Lint violations and type errors",
            _by_impact(refactor),
        ),
        DraftBatch(
            "docs",
            "Documentation",
            "NORMAL",
            ("docstrings",),
            "Undocumented public APIs",
            _by_impact(docs),
        ),
    ]
    return [b for b in batches if b.items]


def _by_impact(items: list[DraftItem]) -> tuple[DraftItem, ...]:
    return tuple(sorted(items, key=lambda i: (-i.impact, i.path)))


def _md_cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def render_plan(
    batches: Sequence[DraftBatch], project: str, today: date, coverage_target: float
) -> str:
    """The plan as Markdown in the shared plan's format."""
    total_items = sum(len(b.items) for b in batches)
    total_hours = sum(i.hours for b in batches for i in b.items)
    day = f"{today:%B} {today.day}, {today.year}"
    lines = [
        "---",
        f"title: Phase 7: {project} - Execution Plan",
        "status: Active",
        f"created: {today.isoformat()}",
        f"updated: {today.isoformat()}",
        "---",
        f"# Phase 7: {project} - Execution Plan",
        "",
        "**Status:** ⏳ **PLANNED**",
        f"**Date:** {day}",
        f"**Total Work Items:** {total_items}",
        f"**Estimated Duration:** {total_hours:g} hours",
        "",
        "---",
        "",
        "## Execution Strategy",
    ]
    number = 0
    for index, batch in enumerate(batches, start=1):
        first = number + 1
        number += len(batch.items)
        hours = sum(i.hours for i in batch.items)
        lines += [
            "",
            f"### Batch {index}: {batch.title} ({batch.priority.capitalize()})",
            f"**Items:** {first}-{number}" if number > first else f"**Items:** {first}",
            f"**Duration:** {hours:g} hours",
            f"**Priority:** {batch.priority}",
            f"**Gates:** {', '.join(batch.gates)}",
        ]
        if batch.kind == "tests":
            lows = [i.current for i in batch.items if i.current is not None]
            if lows:
                low, high = min(lows), max(lows)
                span = f"{low:.0f}" if round(low) == round(high) else f"{low:.0f}-{high:.0f}"
                lines.append(f"**Target Coverage:** {span}% → {coverage_target:g}%")
        lines += [
            f"**Focus:** {batch.focus}",
            "",
            "| # | Module | File | Path | Complexity | Est. Time | Status |",
            "|---|--------|------|------|-----------|-----------|--------|",
        ]
        for offset, item in enumerate(batch.items):
            lines.append(
                f"| {first + offset} | {_md_cell(item.area)} | {_md_cell(item.file)} | "
                f"{_md_cell(item.path)} | {item.complexity} | {item.hours:g}h | ⏳ QUEUED |"
            )
    criteria = {
        "tests": f"{coverage_target:g}%+ coverage for all modules",
        "refactor": "0 linting violations, all type checks pass",
        "docs": "All public APIs documented",
    }
    lines += ["", "---", "", "## Success Criteria", ""]
    lines += [f"❌ **{b.title}:** {criteria[b.kind]}" for b in batches]
    lines += ["", "---", "", "## Document Status", "", f"**Last Updated:** {day}", ""]
    return "\n".join(lines)
