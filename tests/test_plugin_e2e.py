"""End to end: ``pytest --phase7`` in a subprocess on small real projects (pytester).

Every run that involves coverage is a subprocess, so the outer session's own coverage measurement
cannot interfere. Each project has its own ``pyproject.toml``, isolating it from this repo's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]

PYPROJECT = """
[tool.pytest.ini_options]
pythonpath = ["src"]

[tool.phase7]
manifest = "PLAN.md"
{extra}
"""

PLAN = """# Plan

**Total Work Items:** 3

### Batch 1: Unit Tests (Critical)
**Items:** 1-3
**Priority:** CRITICAL

| # | Module | File | Complexity | Est. Time | Status |
|---|--------|------|-----------|-----------|--------|
| 1 | Core | good.py | Simple | 1h | {s1} |
| 2 | Core | half.py | Simple | 1h | QUEUED |
| 3 | Core | unused.py | Simple | 1h | QUEUED |
"""

GOOD = '''"""Good module."""


def add(a: int, b: int) -> int:
    """Add."""
    return a + b
'''

HALF = '''"""Half-covered module."""


def sign(x: int) -> str:
    """Sign of x."""
    if x > 0:
        return "+"
    if x < 0:
        return "-"
    return "0"


def unused() -> int:
    """Never called."""
    value = 1
    value += 1
    return value
'''

UNUSED = '''"""Never imported by the tests."""


def nothing() -> None:
    """Do nothing."""
    return None
'''

TESTS = """
from core.good import add
from core.half import sign


def test_add():
    assert add(1, 2) == 3


def test_sign():
    assert sign(1) == "+"
"""


def make_project(pytester: pytest.Pytester, status1: str = "QUEUED", extra: str = "") -> None:
    pytester.makefile(".toml", pyproject=PYPROJECT.format(extra=extra))
    pytester.makefile(".md", PLAN=PLAN.format(s1=status1))
    src = pytester.path / "src" / "core"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "good.py").write_text(GOOD)
    (src / "half.py").write_text(HALF)
    (src / "unused.py").write_text(UNUSED)
    pytester.makepyfile(test_core=TESTS)


def coverage_report_percent(cwd: Path, rel: str) -> str:
    """What ``coverage report`` itself prints for one file, from the session's data file."""
    proc = subprocess.run(
        [sys.executable, "-m", "coverage", "report", "--format=total", rel],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def phase7_section(output: str) -> list[str]:
    """The lines of the Phase 7 summary section (between its header and the next one)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "Phase 7 status" in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("====")), len(lines))
    return lines[start + 1 : end]


def table_row(output: str, number: int) -> str:
    for line in output.splitlines():
        if line.lstrip().startswith(f"{number}  "):
            return line
    raise AssertionError(f"no row for item {number} in:\n{output}")


def test_without_phase7_nothing_happens(pytester: pytest.Pytester):
    make_project(pytester)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=2)
    assert "Phase 7" not in result.stdout.str()
    assert not (pytester.path / ".coverage").exists()


def test_phase7_prints_table_with_coverage_equal_to_coverage_report(pytester: pytest.Pytester):
    make_project(pytester)
    result = pytester.runpytest_subprocess("--phase7", "--phase7-gates=coverage")
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    out = result.stdout.str()
    assert "Phase 7 status" in out
    assert "Batch 1: Unit Tests [CRITICAL]  (1/3 done, 1/3 h)" in out
    for number, rel in (
        (1, "src/core/good.py"),
        (2, "src/core/half.py"),
        (3, "src/core/unused.py"),
    ):
        expected = coverage_report_percent(pytester.path, rel)
        assert f" {expected}%" in table_row(out, number), (rel, expected)
    assert "100%" in table_row(out, 1)
    assert table_row(out, 1).rstrip().endswith("DONE")
    # 40%, up from nothing (no starting point: above zero has moved); 0% has not moved.
    assert table_row(out, 2).rstrip().endswith("IN PROGRESS")
    assert " 0% ✗" in table_row(out, 3)
    assert table_row(out, 3).rstrip().endswith("QUEUED")
    assert phase7_section(out)[-1] == (
        "phase7: OK (fail-on=regression): 1 DONE, 1 IN PROGRESS, 1 QUEUED"
    )


def test_verdict_blocks_when_a_done_item_regresses(pytester: pytest.Pytester):
    make_project(pytester)
    plan = pytester.path / "PLAN.md"
    plan.write_text(
        plan.read_text().replace(
            "| half.py | Simple | 1h | QUEUED", "| half.py | Simple | 1h | DONE"
        )
    )
    result = pytester.runpytest_subprocess("--phase7", "--phase7-gates=coverage")
    result.assert_outcomes(passed=2)
    assert result.ret == 1
    assert phase7_section(result.stdout.str())[-1] == (
        "phase7: merge BLOCKED (fail-on=regression): 1 item regressed (#2)"
    )
    assert table_row(result.stdout.str(), 2).rstrip().endswith("FAILED")


def test_fail_on_never_reports_only(pytester: pytest.Pytester):
    make_project(pytester, status1="DONE", extra='fail_on = "never"')
    plan = pytester.path / "PLAN.md"
    plan.write_text(
        plan.read_text().replace(
            "| half.py | Simple | 1h | QUEUED", "| half.py | Simple | 1h | DONE"
        )
    )
    result = pytester.runpytest_subprocess("--phase7", "--phase7-gates=coverage")
    assert result.ret == 0
    assert "phase7: OK (fail-on=never)" in result.stdout.str()


def test_the_header_names_the_plan_its_size_the_gates_and_the_policy(pytester: pytest.Pytester):
    make_project(pytester, extra='fail_on = "never"')
    result = pytester.runpytest_subprocess("--phase7", "--phase7-gates=coverage,ruff")
    header = result.stdout.str().split("collected", 1)[0]
    line = "phase7: PLAN.md (3 items, 3 targets); gates: coverage, ruff; fail-on=never"
    assert [row for row in header.splitlines() if row.startswith("phase7:")] == [line]
    # Without --phase7 the header has no phase7 line.
    off = pytester.runpytest_subprocess()
    assert "phase7:" not in off.stdout.str().split("collected", 1)[0]


def test_cli_threshold_beats_table(pytester: pytest.Pytester):
    make_project(pytester, extra="coverage_min = 10")
    result = pytester.runpytest_subprocess(
        "--phase7", "--phase7-gates=coverage", "--phase7-coverage-min=100"
    )
    out = result.stdout.str()
    assert "✗" in table_row(out, 2)
    result = pytester.runpytest_subprocess("--phase7", "--phase7-gates=coverage")
    assert "✗" not in table_row(result.stdout.str(), 2)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["-k", "add"], "tests were selected with -k 'add'"),
        (["-m", "not slow"], "tests were selected with -m 'not slow'"),
        (["test_core.py::test_add"], "only the tests 'test_core.py::test_add' were selected"),
        (["--no-cov"], "coverage was disabled with --no-cov"),
    ],
)
def test_coverage_cannot_measure_is_error_never_pass(
    pytester: pytest.Pytester, args: list[str], reason: str
):
    make_project(pytester)
    result = pytester.runpytest_subprocess("--phase7", "--phase7-gates=coverage", *args)
    out = result.stdout.str()
    assert "ERROR" in table_row(out, 1)
    assert f"ERROR coverage: {reason}" in out
    assert "hint:" in out
    assert result.ret == 1
    assert "could not be checked (coverage ERROR)" in out


def test_stop_early_is_partial(pytester: pytest.Pytester):
    make_project(pytester)
    pytester.makepyfile(test_fail="def test_boom():\n    assert False\n")
    result = pytester.runpytest_subprocess(
        "--phase7", "--phase7-gates=coverage", "-x", "-p", "no:randomly"
    )
    out = result.stdout.str()
    assert "ERROR coverage: the session stopped early (-x / --maxfail)" in out


def test_bad_manifest_is_usage_error_without_traceback(pytester: pytest.Pytester):
    make_project(pytester)
    (pytester.path / "PLAN.md").write_text(PLAN.format(s1="SOMETIMES"))
    result = pytester.runpytest_subprocess("--phase7")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "PLAN.md:11:" in err
    assert "unknown status" in err
    assert "Traceback" not in err + result.stdout.str()


def test_bad_setting_is_usage_error(pytester: pytest.Pytester):
    make_project(pytester, extra="coverage_min = 150")
    result = pytester.runpytest_subprocess("--phase7")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "coverage_min: 150 is not a percentage between 0 and 100" in result.stderr.str()


def test_missing_manifest_is_usage_error(pytester: pytest.Pytester):
    pytester.makefile(".toml", pyproject="[tool.pytest.ini_options]\n")
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("--phase7")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "no work-item manifest" in result.stderr.str()


def test_custom_gate_from_conftest(pytester: pytest.Pytester):
    make_project(pytester)
    pytester.makeconftest(
        """
from pytest_phase7.gates.base import GateResult, GateRun, GateStatus


class LinesGate:
    name = "lines"
    title = "Lines"
    needs_session = False

    def run(self, request):
        results = {}
        for target in request.targets:
            count = sum(
                len((request.rootdir / f).read_text().splitlines()) for f in target.files
            )
            status = GateStatus.PASS if count <= 10 else GateStatus.FAIL
            results[target.ref] = GateResult("lines", status, metric=count, display=str(count))
        return GateRun("lines", results, tool_version="1")


def pytest_phase7_add_gates(config):
    return [LinesGate()]
"""
    )
    result = pytester.runpytest_subprocess("--phase7", "--phase7-gates=coverage,lines")
    out = result.stdout.str()
    assert "Lines" in out
    row = table_row(out, 2)
    assert "17 ✗" in row


def test_status_override_hook(pytester: pytest.Pytester):
    make_project(pytester)
    pytester.makeconftest(
        """
from pytest_phase7.model import PlanStatus


def pytest_phase7_item_status(outcome):
    if outcome.item.number == 3:
        return PlanStatus.DONE
    return None
"""
    )
    result = pytester.runpytest_subprocess("--phase7", "--phase7-gates=coverage")
    assert table_row(result.stdout.str(), 3).rstrip().endswith("DONE")


def test_bundled_example_prints_a_mixed_table(tmp_path: Path):
    example = tmp_path / "tta"
    shutil.copytree(REPO / "examples" / "tta", example)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--phase7", "-p", "no:cacheprovider"],
        cwd=example,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = proc.stdout
    assert "Phase 7 status" in out, out + proc.stderr
    statuses = {
        line.split()[-1]
        for line in out.splitlines()
        if line.rstrip().endswith(("DONE", "QUEUED", "PROGRESS", "FAILED"))
    }
    assert {"DONE", "PROGRESS", "QUEUED"} <= statuses, out
    expected = coverage_report_percent(example, "src/tta/agent_orchestration/service.py")
    assert f" {expected}% ✗" in table_row(out, 3)


def test_phase7_command_version():
    from pytest_phase7 import __version__

    proc = subprocess.run(
        [sys.executable, "-m", "pytest_phase7.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == f"phase7 {__version__}"


def test_xdist_gives_the_same_table_as_serial(pytester: pytest.Pytester):
    make_project(pytester, extra="[tool.coverage.run]\nbranch = true")
    pytester.makepyfile(
        test_more="from core.half import sign\n\n\ndef test_neg():\n    assert sign(-1) == '-'\n"
    )
    serial = pytester.runpytest_subprocess("--phase7", "--phase7-gates=coverage,ruff")
    parallel = pytester.runpytest_subprocess("--phase7", "--phase7-gates=coverage,ruff", "-n", "2")
    parallel.assert_outcomes(passed=3)
    assert phase7_section(serial.stdout.str()) == phase7_section(parallel.stdout.str())
    expected = coverage_report_percent(pytester.path, "src/core/half.py")
    assert f" {expected}%" in table_row(parallel.stdout.str(), 2)


def test_cov_append_accumulates_like_coverage(pytester: pytest.Pytester):
    make_project(pytester)
    pytester.makepyfile(
        test_core="from core.half import sign\n\n\ndef test_pos():\n    assert sign(1) == '+'\n"
    )
    first = pytester.runpytest_subprocess(
        "--phase7", "--phase7-gates=coverage", "--cov", "--cov-report="
    )
    (pytester.path / "test_core.py").write_text(
        "from core.half import sign\n\n\ndef test_neg():\n    assert sign(-1) == '-'\n"
    )
    second = pytester.runpytest_subprocess(
        "--phase7", "--phase7-gates=coverage", "--cov", "--cov-append", "--cov-report="
    )
    before = table_row(first.stdout.str(), 2).split()[4]
    after = table_row(second.stdout.str(), 2).split()[4]
    assert before != after
    assert after == coverage_report_percent(pytester.path, "src/core/half.py") + "%"


def test_coverage_run_measurement_is_used(pytester: pytest.Pytester):
    make_project(pytester)
    result = pytester.run(
        sys.executable,
        "-m",
        "coverage",
        "run",
        "-m",
        "pytest",
        "--phase7",
        "--phase7-gates=coverage",
    )
    out = result.stdout.str()
    for number, rel in ((1, "src/core/good.py"), (2, "src/core/half.py")):
        expected = coverage_report_percent(pytester.path, rel)
        assert f" {expected}%" in table_row(out, number), out


PATHS_CONFIG = "[run]\nsource = src\nbranch = true\n[paths]\nsource =\n    src/\n    */src/\n"


@pytest.mark.parametrize("runner", ["coverage run", "pytest-cov"])
def test_paths_remapping_measures_and_leaves_the_saved_data_alone(
    pytester: pytest.Pytester, runner: str
):
    # [paths] makes coverage.py report through a remapped copy of the data. The gate must map a
    # copy of its own: replacing the data of the Coverage object that is still measuring
    # (coverage run) made it ERROR and broke coverage.py's own save at exit.
    make_project(pytester)
    (pytester.path / ".coveragerc").write_text(PATHS_CONFIG)
    # Each runner as it is used: `coverage run -m pytest`, or pytest-cov's `pytest --cov`.
    if runner == "coverage run":
        command, measure = [sys.executable, "-m", "coverage", "run", "-m", "pytest"], []
    else:
        command, measure = [sys.executable, "-m", "pytest"], ["--cov"]
    plain = pytester.run(*command, "-p", "no:phase7", *measure)
    assert plain.ret == 0, plain.stdout.str()
    saved_without_phase7 = report_text(pytester.path)
    # A clean checkout: with no data file yet, nothing is flushed when the gate reads the data.
    (pytester.path / ".coverage").unlink()
    result = pytester.run(*command, "--phase7", *measure)
    out = result.stdout.str() + result.stderr.str()
    assert "No data was collected" not in out
    assert "Can't touch files" not in out
    assert "ERROR" not in "\n".join(phase7_section(result.stdout.str())), out
    for number, rel in (
        (1, "src/core/good.py"),
        (2, "src/core/half.py"),
        (3, "src/core/unused.py"),
    ):
        assert f" {coverage_report_percent(pytester.path, rel)}%" in table_row(out, number), out
    # What the run saved is what it saves without phase7 (the never-imported file included).
    assert report_text(pytester.path) == saved_without_phase7
    assert "src/core/unused.py" in saved_without_phase7


def report_text(cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "coverage", "report", "--show-missing"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def test_users_own_cov_report_is_printed_and_none_by_default(pytester: pytest.Pytester):
    make_project(pytester)
    # phase7 switches measurement on without pytest-cov's whole-source report (it is slow and
    # the table has the targets' figures); a report the user asks for is theirs to have.
    asked = pytester.runpytest_subprocess(
        "--phase7", "--phase7-gates=coverage", "--cov-report=term-missing"
    )
    out = asked.stdout.str()
    assert "coverage: platform" in out, out
    assert re.search(r"^src/core/half\.py\s+\d+\s+\d+\s+\d+%\s+\S", out, re.MULTILINE), out
    assert "Phase 7 status" in out
    default = pytester.runpytest_subprocess("--phase7", "--phase7-gates=coverage")
    assert "coverage: platform" not in default.stdout.str()
    assert "Phase 7 status" in default.stdout.str()


def test_user_cov_options_are_honoured(pytester: pytest.Pytester):
    make_project(pytester)
    result = pytester.runpytest_subprocess(
        "--phase7", "--phase7-gates=coverage", "--cov=src", "--cov-branch", "--cov-report="
    )
    proc = subprocess.run(
        [sys.executable, "-m", "coverage", "report", "--format=total", "src/core/half.py"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f" {proc.stdout.strip()}%" in table_row(result.stdout.str(), 2)
    # With --cov=src, a file outside src/ would be "outside the measured source": here all are in.
    assert "ERROR" not in phase7_section(result.stdout.str())[-1]
