"""Owners and Trends sections, end to end in-process with a deterministic gate."""

from __future__ import annotations

import json
import re

import pytest
from test_plugin_inprocess import CONFTEST, run, section

PLAN = """# Plan

### Batch 1: Unit Tests (Critical)
**Items:** 1-2

| # | Module | File | Est. Time | Status | Owner |
|---|--------|------|-----------|--------|-------|
| 1 | Core | small.py | 2h | QUEUED | ann |
| 2 | Core | large.py | 3h | QUEUED | <b>bob</b> |
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", pyproject='[tool.phase7]\nmanifest = "PLAN.md"\ngates = ["size"]\n')
    pytester.makefile(".md", PLAN=PLAN)
    (pytester.path / "core").mkdir()
    (pytester.path / "core" / "small.py").write_text("x = 1\n")
    (pytester.path / "core" / "large.py").write_text("a = 1\n" * 6)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_it="def test_it():\n    pass\n")
    return pytester


def test_owners_section_with_quality_and_cost(project: pytest.Pytester):
    lines = section(run(project, "--phase7", "--phase7-hourly-rate=40"))
    start = lines.index(next(line for line in lines if "Owners" in line))
    assert lines[start + 1] == (
        "| Owner | Done | Success | Hours done | Quality | In progress since | Cost done / total |"
    )
    # ann's item passes (100); bob's fails a gate without a known threshold (0).
    # Sorted by name ("<" before "a"); the HTML in bob's name arrives as text.
    assert lines[start + 3] == "| &lt;b&gt;bob&lt;/b&gt; | 0/1 | 0% | 0/3 | 0 | - | 0.00 / 120.00 |"
    assert lines[start + 4] == "| ann | 1/1 | 100% | 2/2 | 100 | - | 80.00 / 80.00 |"


def test_history_records_runs_and_trends_show_changes(project: pytest.Pytester):
    history = project.path / "history.jsonl"
    first = section(run(project, "--phase7", "--phase7-history=history.jsonl"))
    assert "First recorded run: changes show from the next run on." in first
    (project.path / "core" / "large.py").write_text("a = 1\n" * 2)
    second = run(project, "--phase7", "--phase7-history=history.jsonl", "--phase7-md=r.md")
    lines = section(second)
    assert "- Item 2 large.py: size ▼ 4" in lines
    assert "Items done: 1 → 2 of 2; hours done: 2 → 5 of 5." in lines
    assert not any("mermaid" in line for line in lines)
    entries = [json.loads(line) for line in history.read_text().splitlines()]
    assert [e["done_items"] for e in entries] == [1, 2]
    assert entries[1]["items"]["2"] == {"status": "DONE", "hours": 3.0, "metrics": {"size": 2.0}}
    markdown = (project.path / "r.md").read_text()
    assert "```mermaid\nxychart-beta" in markdown
    assert "    line [1, 2]" in markdown


def test_the_first_recorded_run_is_where_an_item_started(project: pytest.Pytester):
    # large.py: 6 lines, size gate failing (at most 3). A count with no start has not moved.
    def status_of_item_2(result: pytest.RunResult) -> str:
        row = next(line for line in section(result) if line.split()[:1] == ["2"])
        return " ".join(row.split()[-2:])

    first = run(project, "--phase7", "--phase7-history=history.jsonl")
    assert status_of_item_2(first).endswith("QUEUED")
    (project.path / "core" / "large.py").write_text("a = 1\n" * 5)
    second = run(project, "--phase7", "--phase7-history=history.jsonl")
    assert status_of_item_2(second) == "IN PROGRESS"  # 6 -> 5 lines since the first run
    # Without the history, nothing says where it started.
    assert status_of_item_2(run(project, "--phase7")).endswith("QUEUED")


def test_unreadable_history_is_a_usage_error(project: pytest.Pytester):
    (project.path / "history.jsonl").mkdir()
    result = run(project, "--phase7", "--phase7-history=history.jsonl")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # Refused before the tests run: a folder is no history file to read or append to.
    assert "phase7: --phase7-history=history.jsonl: is a folder" in result.stderr.str()


def test_corrupt_history_line_is_a_warning_not_fatal(project: pytest.Pytester):
    (project.path / "history.jsonl").write_text('{"format": 1, "tim')
    result = run(project, "--phase7", "--phase7-history=history.jsonl")
    assert result.ret == 0
    lines = section(result)
    assert any("skipped a corrupt history line" in line for line in lines)
    # The new entry starts on its own line and is readable next time.
    second = section(run(project, "--phase7", "--phase7-history=history.jsonl"))
    assert "No metric changed since the previous run." in second


def test_no_sections_without_owner_column_or_history(project: pytest.Pytester):
    (project.path / "PLAN.md").write_text(
        PLAN.replace(" Owner |", "")
        .replace(" ann |", "")
        .replace(" <b>bob</b> |", "")
        .replace("|-------|\n", "|\n")
    )
    lines = section(run(project, "--phase7"))
    assert not any("Owners" in line or "Trends" in line for line in lines)


def test_hostile_owner_cells_reach_the_markdown_report_as_text(project: pytest.Pytester):
    hostile = ["@octocat", "#12", "[x](javascript:alert(1))", "![i](https://evil/p.png)"]
    (project.path / "PLAN.md").write_text(
        PLAN.replace("| ann |", f"| {hostile[0]} {hostile[1]} |").replace(
            "| <b>bob</b> |", f"| {hostile[2]} {hostile[3]} |"
        )
    )
    assert run(project, "--phase7", "--phase7-md=r.md", "--phase7-history=h.jsonl").ret == 0
    report = (project.path / "r.md").read_text(encoding="utf-8")
    owners = report[report.index("### Owners") : report.index("### Trends")]
    assert "octocat" in owners
    assert "javascript" in owners
    assert not re.search(r"[@#]\w", owners), owners
    assert not re.search(r"(?<!\\)\]\(", owners), owners
    assert "![" not in owners
