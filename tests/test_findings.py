"""Findings where reviewers look: GitHub annotations (escaping, limits), SARIF, Code Quality."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from gate_helpers import sarif_schema

from pytest_phase7.engine import RunResult
from pytest_phase7.gates.base import (
    Finding,
    GateResult,
    GateStatus,
    finding_from_json,
    finding_to_json,
    result_from_json,
    result_to_json,
)
from pytest_phase7.report import codeclimate, sarif
from pytest_phase7.report.annotations import (
    MAX_PER_LEVEL,
    annotations_kind,
    command,
    escape_data,
    escape_property,
    github_commands,
)
from pytest_phase7.report.findings import Reported, collect, fingerprints
from pytest_phase7.report.json import load_report
from pytest_phase7.report.outputs import OutputKind, is_own_file
from pytest_phase7.resolve.diffcov import ChangedLines

GOLDEN = Path(__file__).parent / "golden"


def golden() -> RunResult:
    return load_report(GOLDEN / "example_tta.json").result


def without_findings(result: RunResult) -> RunResult:
    """``result`` with every gate result's findings taken away."""
    return replace(
        result,
        outcomes=tuple(
            replace(o, results=tuple(replace(r, findings=()) for r in o.results))
            for o in result.outcomes
        ),
    )


def with_results(result: RunResult, number: int, *results: GateResult) -> RunResult:
    """``result`` with item ``number``'s gate results replaced (others kept)."""
    outcomes = []
    for outcome in result.outcomes:
        if outcome.item.number == number:
            kept = [r for r in outcome.results if r.gate not in {n.gate for n in results}]
            outcomes.append(replace(outcome, results=(*results, *kept)))
        else:
            outcomes.append(outcome)
    return replace(result, outcomes=tuple(outcomes))


def finding(line: int, code: str = "F401", tool: str = "ruff", **kw: Any) -> Finding:
    return Finding("src/tta/agent_orchestration/service.py", line, f"m{line}", code, tool, **kw)


def test_findings_round_trip_through_the_shared_json_form():
    f = Finding("a.py", 3, "msg", "E1", "ruff", "warning", 4, 2, 9, "https://x")
    assert finding_from_json(finding_to_json(f)) == f
    result = GateResult("ruff", GateStatus.FAIL, metric=1.0, findings=(f,))
    assert result_from_json(result_to_json(result)) == result
    old = result_to_json(result)
    del old["findings"]  # a report from before findings existed
    assert result_from_json(old).findings == ()
    with pytest.raises(ValueError, match="severity"):
        finding_from_json({**finding_to_json(f), "severity": "fatal"})
    with pytest.raises(ValueError, match="counts"):
        finding_from_json({**finding_to_json(f), "line": -1})


def test_workflow_command_values_are_escaped_as_github_reads_them():
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    item = Reported(
        Finding("dir,x/a:b.py", 3, "bad\nthing: 100%", "E1", "ruff", end_line=5, column=2),
        "ruff",
        "error",
        True,
    )
    assert command(item, "dir,x/a:b.py") == (
        "::error file=dir%2Cx/a%3Ab.py,line=3,endLine=5,col=2,title=ruff E1::bad%0Athing: 100%25"
    )


def test_annotations_are_on_for_github_actions_only_unless_set():
    assert annotations_kind(None, {"GITHUB_ACTIONS": "true"}) == "github"
    assert annotations_kind(None, {}) == "none"
    assert annotations_kind("none", {"GITHUB_ACTIONS": "true"}) == "none"
    assert annotations_kind("github", {}) == "github"


def test_limits_most_important_first_and_one_notice_for_the_rest():
    errors = [finding(n) for n in range(1, 26)]
    notices = [finding(100 + n, "note", "mypy", severity="notice") for n in range(12)]
    failing = GateResult("ruff", GateStatus.FAIL, metric=25.0, findings=tuple(errors))
    noted = GateResult("mypy", GateStatus.FAIL, metric=0.0, findings=tuple(notices))
    within = GateResult(
        "docstrings",
        GateStatus.PASS,
        metric=90.0,
        findings=(finding(7, "undocumented", "interrogate"),),
    )
    result = with_results(without_findings(golden()), 3, failing, noted, within)
    lines = github_commands(result, {}, "phase7.sarif")
    levels = [line.split(" ", 1)[0] for line in lines]
    assert levels.count("::error") == MAX_PER_LEVEL
    assert levels.count("::warning") == 1  # the passing gate's finding: a warning
    assert levels.count("::notice") == MAX_PER_LEVEL  # 9 findings + the sentence
    assert lines.index(next(c for c in lines if c.startswith("::warning"))) == MAX_PER_LEVEL
    assert (
        lines[0] == "::error file=src/tta/agent_orchestration/service.py,line=1,title=ruff F401::m1"
    )
    assert lines[-1] == (
        "::notice title=phase7::18 more findings are not annotated (15 errors, 3 notices): "
        "GitHub shows 10 of each kind per step. The full list: phase7.sarif"
    )


def test_only_failing_items_and_in_a_pull_request_only_changed_lines():
    passing = GateResult("ruff", GateStatus.PASS, metric=1.0, findings=(finding(5),))
    result = with_results(without_findings(golden()), 1, passing)  # item 1 is DONE
    assert github_commands(result, {}, "x") == []
    failing = GateResult("ruff", GateStatus.FAIL, metric=2.0, findings=(finding(5), finding(9)))
    result = with_results(without_findings(golden()), 3, failing)
    assert sum("title=ruff" in c for c in github_commands(result, {}, "x")) == 2
    diff = ChangedLines("main", "abc", lines={failing.findings[1].path: frozenset({9})})
    changed_only = github_commands(replace(result, diff=diff), {}, "x")
    assert [c for c in changed_only if "title=ruff" in c] == [
        f"::error file={failing.findings[1].path},line=9,title=ruff F401::m9"
    ]


def test_sarif_of_the_golden_run_validates_with_one_run_per_tool():
    log = sarif.document(golden())
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    # The coverage gate ran and found nothing to point at: an empty run for its tool.
    assert sarif.counts(log) == {"coverage": 0, "ruff": 2, "mypy": 1, "interrogate": 9}
    ruff_run = next(r for r in log["runs"] if r["tool"]["driver"]["name"] == "ruff")
    assert {rule["id"] for rule in ruff_run["tool"]["driver"]["rules"]} == {"F401", "E711"}
    assert all(
        r["helpUri"].startswith("https://docs.astral.sh/ruff/rules/")
        for r in ruff_run["tool"]["driver"]["rules"]
    )
    # The DONE and IN PROGRESS items' findings are all there: SARIF carries everything.
    assert {r["level"] for r in ruff_run["results"]} == {"error"}


def test_a_run_without_findings_is_an_empty_valid_log_and_an_empty_report(tmp_path: Path):
    clean = without_findings(golden())
    log = sarif.document(clean)
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    assert set(sarif.counts(log).values()) == {0}  # every tool that ran, with no result
    assert codeclimate.dumps(clean) == "[]\n"


def test_fingerprints_depend_on_the_line_s_text_not_its_number(tmp_path: Path):
    (tmp_path / "m.py").write_text("import os\nimport os\nx = 1\n")
    found = [
        Reported(Finding("m.py", n, "dup", "F811", "ruff"), "ruff", "error", True) for n in (1, 2)
    ]
    first = fingerprints(found, tmp_path)
    assert len(set(first)) == 2  # the same text twice: told apart by their order
    (tmp_path / "m.py").write_text("# new line\nimport os\nimport os\nx = 1\n")
    moved = [replace(r, finding=replace(r.finding, line=r.finding.line + 1)) for r in found]
    assert fingerprints(moved, tmp_path) == first
    (tmp_path / "m.py").write_text("# new line\nimport sys\nimport os\nx = 1\n")
    assert fingerprints(moved, tmp_path)[0] != first[0]


def test_code_quality_issues_have_what_gitlab_reads():
    issues = codeclimate.issues(golden())
    assert len(issues) == len(collect(golden())) == 12
    for issue in issues:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["location"]["lines"]["begin"] >= 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert {i["check_name"] for i in issues} >= {"ruff/F401", "interrogate/undocumented"}


def test_phase7_knows_its_own_sarif_and_code_quality_files(tmp_path: Path):
    own = tmp_path / "own.sarif"
    own.write_text(sarif.dumps(golden()))
    quality = tmp_path / "cq.json"
    quality.write_text(codeclimate.dumps(golden()))
    empty = tmp_path / "empty.json"
    empty.write_text("[]\n")
    other = tmp_path / "other.sarif"
    other.write_text(
        '{"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", '
        '"runs": []}'
    )
    array = tmp_path / "array.json"
    array.write_text('[{"check_name": "x"}]')
    assert is_own_file(own, OutputKind.SARIF)
    assert is_own_file(quality, OutputKind.CODE_QUALITY)
    assert is_own_file(empty, OutputKind.CODE_QUALITY)
    assert not is_own_file(other, OutputKind.SARIF)
    assert not is_own_file(array, OutputKind.CODE_QUALITY)
    assert not is_own_file(quality, OutputKind.SARIF)
    assert not is_own_file(own, OutputKind.CODE_QUALITY)


PLAN = """# P

### Batch 1: Unit Tests
**Items:** 1-1

| # | Module | File | Status |
|---|---|---|---|
| 1 | | m.py | QUEUED |
"""


@pytest.mark.parametrize(
    ("option", "refused"),
    [
        ("--phase7-sarif=pyproject.toml", "is the pytest configuration file"),
        ("--phase7-sarif=ruff.toml", "is a configuration file a run reads"),
        ("--phase7-codeclimate=m.py", "is a target of the plan"),
        ("--phase7-sarif=PLAN.md", "is the plan"),
        (
            "--phase7-codeclimate=notes.json",
            "is an existing file that is not a phase7 Code Quality",
        ),
        ("--phase7-sarif=notes.json", "is an existing file that is not a phase7 SARIF file"),
    ],
)
def test_sarif_and_code_quality_paths_follow_the_output_policy(
    pytester: pytest.Pytester, option: str, refused: str
):
    pytester.makefile(".toml", pyproject='[tool.phase7]\nmanifest = "PLAN.md"\n')
    pytester.makefile(".md", PLAN=PLAN)
    pytester.makepyfile(m="x = 1\n", test_m="def test_m():\n    pass\n")
    (pytester.path / "notes.json").write_text('{"mine": true}\n')
    result = pytester.runpytest_inprocess("--no-cov", "--phase7", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert refused in result.stderr.str()
    assert (pytester.path / "notes.json").read_text() == '{"mine": true}\n'


def test_changed_files_outside_the_plan_survive_a_saved_report(tmp_path: Path):
    from pytest_phase7.report.json import dumps, from_document
    from pytest_phase7.report.markdown import render_markdown
    from pytest_phase7.report.model import report_data
    from pytest_phase7.report.terminal import terminal_lines, to_text
    from pytest_phase7.resolve.diffcov import outside_plan

    result = golden()
    extra = GateResult(
        "new_lines",
        GateStatus.FAIL,
        metric=50.0,
        display="3/6 \u00b7 50%",
        threshold=80.0,
        reason="50% < 80%",
        findings=(Finding("src/tta/cli.py", 4, "line 4 is new", "uncovered-line", "coverage"),),
    )
    run = replace(result.gate_runs[0], gate="new_lines", results={"src/tta/cli.py": extra})
    result = replace(
        result,
        gates=(*result.gates, "new_lines"),
        gate_titles=(*result.gate_titles, ("new_lines", "New lines")),
        gate_runs=(*result.gate_runs, run),
    )
    assert outside_plan(result) == [("src/tta/cli.py", extra)]
    data = report_data(result)
    again = from_document(json.loads(dumps(data)))
    assert outside_plan(again.result) == [("src/tta/cli.py", extra)]
    text = to_text(terminal_lines(again))
    assert (
        "Changed files outside the plan (new lines)\n  src/tta/cli.py  3/6 \u00b7 50% \u2717"
        in text
    )
    assert "| src/tta/cli.py | \u274c 3/6 \u00b7 50% (\u2265 80%) |" in render_markdown(again)
    assert [i["check_name"] for i in codeclimate.issues(again.result)].count(
        "coverage/uncovered-line"
    ) == 1
