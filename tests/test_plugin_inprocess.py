"""The plugin's hooks run in-process (pytester), with a deterministic conftest gate.

These runs never involve coverage measurement (``--no-cov`` and no coverage gate), so they can
share the process with the outer test session; coverage-related runs are in test_plugin_e2e.py.
"""

from __future__ import annotations

import json

import pytest

from pytest_phase7.model import PlanStatus

PLAN = """# Plan

**Total Work Items:** 3

### Batch 1: Unit Tests (Critical)
**Items:** 1-2
**Priority:** CRITICAL

| # | Module | File | Complexity | Est. Time | Status |
|---|--------|------|-----------|-----------|--------|
| 1 | Core | small.py | Simple | 1h | {s1} |
| 2 | Core | large.py | Simple | 1h | QUEUED |

### Batch 2: Documentation (Normal)
**Items:** 3
"""

CONFTEST = '''
from pytest_phase7.gates.base import GateResult, GateRun, GateStatus


class SizeGate:
    """Passes files of at most 3 lines: deterministic and tool-free."""

    name = "size"
    title = "Size"
    needs_session = False

    def run(self, request):
        results = {}
        for target in request.targets:
            count = sum(len((request.rootdir / f).read_text().splitlines()) for f in target.files)
            status = GateStatus.PASS if count <= 3 else GateStatus.FAIL
            results[target.ref] = GateResult(
                "size", status, metric=count, display=str(count), details=(f"{count} lines",)
            )
        return GateRun("size", results, tool_version="1")


def pytest_phase7_add_gates(config):
    return [SizeGate()]
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", pyproject='[tool.phase7]\nmanifest = "PLAN.md"\n')
    pytester.makefile(".md", PLAN=PLAN.format(s1="QUEUED"))
    core = pytester.path / "core"
    core.mkdir()
    (core / "small.py").write_text("x = 1\n")
    (core / "large.py").write_text("a = 1\nb = 2\nc = 3\nd = 4\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_it="def test_it():\n    assert True\n")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("--no-cov", "-p", "no:randomly", *args)


def section(result: pytest.RunResult) -> list[str]:
    """The Phase 7 section: from its header to the verdict (or the next header)."""
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "Phase 7 status" in line)
    for end in range(start + 1, len(lines)):
        if lines[end].startswith("phase7: "):
            return lines[start + 1 : end + 1]
        if lines[end].startswith("===="):
            return lines[start + 1 : end]
    return lines[start + 1 :]


def test_table_and_verdict(project: pytest.Pytester):
    result = run(project, "--phase7", "--phase7-gates=size")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    lines = section(result)
    assert lines[0] == "Batch 1: Unit Tests [CRITICAL]  (1/2 done, 1/2 h)"
    assert lines[1].split() == ["#", "Module", "File", "Target", "(in", "core/)", "Size", "Status"]
    assert lines[2].split() == ["1", "Core", "small.py", "./", "1", "DONE"]
    assert lines[3].split() == ["2", "Core", "large.py", "./", "4", "✗", "QUEUED"]
    assert lines[4] == "Batch 2: Documentation  (0/1 done)"
    assert lines[-1] == "phase7: OK (fail-on=regression): 1 DONE, 2 QUEUED"


def test_quiet_hides_done_items_and_verbose_shows_details(project: pytest.Pytester):
    quiet = section(run(project, "--phase7", "--phase7-gates=size", "-q"))
    assert not any(line.split()[:1] == ["1"] for line in quiet)
    verbose = section(run(project, "--phase7", "--phase7-gates=size", "-v"))
    assert "      size: 4 lines" in verbose


def test_incomplete_policy_blocks_with_exit_1(project: pytest.Pytester):
    result = run(project, "--phase7", "--phase7-gates=size", "--phase7-fail-on=incomplete")
    result.assert_outcomes(passed=1)
    assert result.ret == 1
    assert section(result)[-1] == (
        "phase7: merge BLOCKED (fail-on=incomplete): 2 items are not DONE (#2, #3)"
    )


def test_ini_enables_and_configures(project: pytest.Pytester):
    project.makeini("[pytest]\nphase7 = true\nphase7_gates = size\nphase7_fail_on = incomplete\n")
    result = run(project)
    assert result.ret == 1
    assert "fail-on=incomplete" in section(result)[-1]


def test_cli_overrides_ini(project: pytest.Pytester):
    project.makeini("[pytest]\nphase7 = true\nphase7_gates = size\nphase7_fail_on = incomplete\n")
    result = run(project, "--phase7-fail-on=never")
    assert result.ret == 0
    assert section(result)[-1].startswith("phase7: OK (fail-on=never)")


def test_gate_narrowed_by_batch_is_skipped(project: pytest.Pytester):
    plan = project.path / "PLAN.md"
    plan.write_text(plan.read_text().replace("**Priority:** CRITICAL", "**Gates:** coverage"))
    lines = section(run(project, "--phase7", "--phase7-gates=size"))
    assert lines[2].split() == ["1", "Core", "small.py", "./", "-", "QUEUED"]


def test_status_override_and_report_section_hooks(project: pytest.Pytester):
    project.makeconftest(
        CONFTEST
        + """

def pytest_phase7_item_status(outcome):
    from pytest_phase7.model import PlanStatus
    return PlanStatus.DONE if outcome.item.number == 2 else None


def pytest_phase7_report_sections(result):
    return [("Owners", f"{len(result.outcomes)} items, no owners")]
"""
    )
    result = run(project, "--phase7", "--phase7-gates=size")
    lines = section(result)
    assert lines[3].split()[-1] == "DONE"
    assert "3 items, no owners" in lines
    assert lines[-1] == "phase7: OK (fail-on=regression): 2 DONE, 1 QUEUED"
    assert PlanStatus.DONE.label == "DONE"


def test_unknown_gate_name_is_usage_error(project: pytest.Pytester):
    result = run(project, "--phase7", "--phase7-gates=size,nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown gate(s) nope in --phase7-gates (available: *size*)*"])


def test_duplicate_gate_name_is_usage_error(project: pytest.Pytester):
    project.makeconftest(
        CONFTEST + "\n\ndef pytest_phase7_add_gates(config):\n    return [SizeGate(), SizeGate()]\n"
    )
    result = run(project, "--phase7")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*two gates are named 'size'*"])


def test_crashing_gate_is_error_not_crash(project: pytest.Pytester):
    project.makeconftest(
        CONFTEST.replace("        results = {}\n", "        raise RuntimeError('boom')\n", 1)
    )
    result = run(project, "--phase7", "--phase7-gates=size")
    lines = section(result)
    assert (
        "ERROR size: size gate crashed: RuntimeError: boom "
        "(hint: report this to the gate's authors)" in lines
    )
    assert result.ret == 1


def test_collection_error_still_reports_static_gates(project: pytest.Pytester):
    project.makepyfile(test_broken="import nonexistent_module_xyz\n")
    result = run(project, "--phase7", "--phase7-gates=size")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert section(result)[-1] == "phase7: OK (fail-on=regression): 1 DONE, 2 QUEUED"


def test_disabled_without_flag(project: pytest.Pytester):
    result = run(project)
    assert "Phase 7" not in result.stdout.str()
    assert not project.path.joinpath(".coverage").exists()


def test_unmapped_and_missing_targets(project: pytest.Pytester):
    plan = project.path / "PLAN.md"
    plan.write_text(plan.read_text().replace("large.py", "gone.py"))
    result = run(project, "--phase7", "--phase7-gates=size")
    lines = section(result)
    assert lines[3].split() == ["2", "Core", "gone.py", "(not", "found)", "-", "FAILED"]
    assert any("#2: no match for 'gone.py'" in line for line in lines)
    assert result.ret == 1


def test_baseline_update_then_regression(project: pytest.Pytester):
    result = run(project, "--phase7", "--phase7-gates=size", "--phase7-baseline-update")
    assert result.ret == 0
    written = json.loads((project.path / "phase7-baseline.json").read_text())
    assert written == {
        "schema_version": 1,
        "metrics": {"core/large.py": {"size": 4.0}, "core/small.py": {"size": 1.0}},
    }
    # large.py grows: worse than its baseline, so FAILED and the merge is blocked.
    (project.path / "core" / "large.py").write_text("a = 1\n" * 6)
    result = run(
        project, "--phase7", "--phase7-gates=size", "--phase7-baseline=phase7-baseline.json"
    )
    lines = section(result)
    assert lines[3].split()[-1] == "FAILED"
    assert lines[-1] == "phase7: merge BLOCKED (fail-on=regression): 1 item regressed (#2)"
    assert result.ret == 1


def test_baseline_improvement_is_in_progress(project: pytest.Pytester):
    (project.path / "base.json").write_text(
        json.dumps({"schema_version": 1, "metrics": {"core/large.py": {"size": 9}}})
    )
    result = run(project, "--phase7", "--phase7-gates=size", "--phase7-baseline=base.json")
    assert section(result)[3].split()[-2:] == ["IN", "PROGRESS"]


def test_baseline_update_keeps_values_of_gates_that_errored(project: pytest.Pytester):
    (project.path / "base.json").write_text(
        json.dumps({"schema_version": 1, "metrics": {"core/small.py": {"size": 1, "old": 5}}})
    )
    project.makeconftest(
        CONFTEST.replace("        results = {}\n", "        raise RuntimeError('boom')\n", 1)
    )
    run(
        project,
        "--phase7",
        "--phase7-gates=size",
        "--phase7-baseline=base.json",
        "--phase7-baseline-update",
    )
    written = json.loads((project.path / "base.json").read_text())
    assert written["metrics"] == {"core/small.py": {"old": 5.0, "size": 1.0}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "base.json: baseline file not found"),
        ("{\n  nope", "base.json:2: invalid JSON"),
        ('{"schema_version": 7}', "not a phase7 baseline"),
        ('{"schema_version": 1, "metrics": {"a.py": {"size": "x"}}}', "must map gate names"),
    ],
)
def test_bad_baseline_is_usage_error(project: pytest.Pytester, content: str | None, message: str):
    if content is not None:
        (project.path / "base.json").write_text(content)
    result = run(project, "--phase7", "--phase7-gates=size", "--phase7-baseline=base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
