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
    assert lines[1].split() == ["#", "Module", "File", "Target", "Size", "Status"]
    assert lines[2].split() == ["1", "Core", "small.py", "core/", "1", "DONE"]
    assert lines[3].split() == ["2", "Core", "large.py", "core/", "4", "✗", "QUEUED"]
    assert lines[4] == "Batch 2: Documentation  (0/1 done)"
    assert lines[-1] == "phase7: OK (fail-on=regression): 1 DONE, 2 QUEUED"


@pytest.mark.parametrize("columns", [30, 80, 200])
def test_the_table_uses_the_terminals_width(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, columns: int
):
    long_name = "a_module_with_a_rather_long_name_for_its_file.py"
    (project.path / "core" / long_name).write_text("x = 1\n")
    plan = (project.path / "PLAN.md").read_text().replace("small.py", long_name)
    (project.path / "PLAN.md").write_text(plan)
    monkeypatch.setenv("COLUMNS", str(columns))  # what pytest's terminal writer reads
    lines = section(run(project, "--phase7", "--phase7-gates=size"))
    # pytest's own writer takes 80 for a terminal narrower than 40: so does the table.
    width = columns if columns >= 40 else 80
    row = next(line for line in lines if line.split()[:1] == ["1"])
    assert len(row) <= width
    assert long_name in row  # the file name is not cut
    # Module "Core" is repeated by the Target folder core/: with no room, it is shown once.
    assert lines[1].split() == [
        "#",
        *(["Module"] if width > 100 else []),
        "File",
        "Target",
        "Size",
        "Status",
    ]


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
    assert lines[2].split() == ["1", "Core", "small.py", "core/", "-", "QUEUED"]


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
    assert any("#2: no 'gone.py' in folders named" in line for line in lines)
    assert result.ret == 1


PARTIAL_CONFTEST = """
from pytest_phase7.session import partial_selection


def pytest_sessionfinish(session):
    plugin = session.config.pluginmanager.get_plugin("phase7-run")
    deselected = plugin.deselected if plugin else {}
    print("PARTIAL:", repr(partial_selection(session.config, session, deselected)))
"""


def test_partial_selection_of_many_paths_counts_them(pytester: pytest.Pytester):
    # One ERROR line once quoted 14 test paths (~980 characters): the first three, then a count.
    pytester.makefile(".toml", pyproject='[tool.phase7]\nmanifest = "PLAN.md"\n')
    pytester.makefile(".md", PLAN=PLAN.format(s1="QUEUED"))
    (pytester.path / "core").mkdir()
    (pytester.path / "core" / "small.py").write_text("x = 1\n")
    (pytester.path / "core" / "large.py").write_text("x = 1\n")
    tests = pytester.path / "tests"
    tests.mkdir()
    (tests / "test_left_out.py").write_text("def test_it():\n    pass\n")
    chosen = [f"tests/test_{i:02}.py" for i in range(14)]
    for rel in chosen:
        (pytester.path / rel).write_text("def test_it():\n    pass\n")
    pytester.makeconftest(CONFTEST + PARTIAL_CONFTEST)
    result = run(pytester, "--phase7", "--phase7-gates=size", "-s", *chosen)
    (line,) = [line for line in result.stdout.lines if "PARTIAL: " in line]
    assert "tests/test_00.py, tests/test_01.py and 12 more of the suite were selected" in line
    assert len(line) < 200


def test_baseline_update_then_regression(project: pytest.Pytester):
    result = run(project, "--phase7", "--phase7-gates=size", "--phase7-baseline-update")
    assert result.ret == 0
    written = json.loads((project.path / "phase7-baseline.json").read_text())
    assert written == {
        "schema_version": 2,
        "metrics": {"core/large.py": {"size": 4.0}, "core/small.py": {"size": 1.0}},
        "counts": {},
        "lowered": [],
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


# --- the job summary ($GITHUB_STEP_SUMMARY) --------------------------------------------------


@pytest.mark.parametrize(
    ("where", "appended"),
    [
        ("default", True),
        ("cli false", False),
        ("cli true over table false", True),
        ("ini false", False),
        ("table false", False),
    ],
)
def test_step_summary_setting_decides_whether_the_job_summary_gets_the_report(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, where: str, appended: bool
):
    summary = project.path / "summary.md"
    summary.write_text("## Earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    args = ["--phase7", "--phase7-gates=size"]
    if where.startswith("cli"):
        args.append(f"--phase7-step-summary={where.split()[1]}")
    if where == "ini false":
        project.makeini("[pytest]\nphase7_step_summary = false\n")
    if where in {"table false", "cli true over table false"}:
        project.makefile(
            ".toml", pyproject='[tool.phase7]\nmanifest = "PLAN.md"\nstep_summary = false\n'
        )
    result = run(project, *args)
    assert result.ret == 0, result.stdout.str()
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## Earlier step\n")
    assert ("<!-- phase7-report -->" in text) is appended


def test_step_summary_needs_true_or_false(project: pytest.Pytester):
    result = run(project, "--phase7", "--phase7-step-summary=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--phase7-step-summary: expected true or false, got 'sometimes'" in result.stderr.str()


def test_pytest_help_lists_every_option_and_ini_key(project: pytest.Pytester):
    from pytest_phase7.settings import OPTIONS

    result = run(project, "--help")
    assert result.ret == 0, result.stderr.str()
    text = result.stdout.str()
    for option in OPTIONS:
        assert option.cli in text, option.cli
        assert f"  {option.ini} (" in text, option.ini
    words = " ".join(text.split())
    assert "(the 'from' of 5% -> 70%)" in words  # a % in a help text reaches the screen as is
