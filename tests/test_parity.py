"""Parity: the same project gives the same answer however pytest is run, as the README documents.

* ``-n 2`` (pytest-xdist) prints the same Phase 7 section as a serial run, with every gate;
* ``-p no:cacheprovider`` turns the gate cache off (and writes no cache folder), ``--cache-clear``
  starts afresh; neither changes the table;
* ``--no-cov``: the coverage gate is ERROR, the static gates still measure;
* ``-p no:phase7``: the plugin is off, even when ``[tool.phase7]`` enables it;
* running from a subdirectory runs only its tests: the coverage gate is ERROR.

Runs that measure coverage are subprocesses (the outer session's own measurement must not mix
in); the others run in-process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PYPROJECT = """
[tool.pytest.ini_options]
pythonpath = ["src"]
testpaths = ["tests"]

[tool.coverage.run]
branch = true

[tool.phase7]
manifest = "PLAN.md"
{extra}
"""

PLAN = """# Plan

### Batch 1: Unit Tests (Critical)
**Items:** 1-3

| # | Module | File | Status |
|---|--------|------|--------|
| 1 | Core | good.py | QUEUED |
| 2 | Core | half.py | QUEUED |
| 3 | Core | lint.py | QUEUED |
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


def untested(x):
    return x
'''

LINT = """import os


def shout(text: str) -> int:
    return text.upper()
"""

TESTS = {
    "tests/unit/test_good.py": (
        "from core.good import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    ),
    "tests/unit/test_half.py": (
        "from core.half import sign\n\n\ndef test_pos():\n    assert sign(1) == '+'\n\n\n"
        "def test_neg():\n    assert sign(-1) == '-'\n"
    ),
    "tests/other/test_lint.py": "from core.lint import shout\n\n\ndef test_it():\n    shout\n",
}


def make_project(root: Path, extra: str = "") -> None:
    (root / "pyproject.toml").write_text(PYPROJECT.format(extra=extra))
    (root / "PLAN.md").write_text(PLAN)
    core = root / "src" / "core"
    core.mkdir(parents=True)
    (core / "__init__.py").write_text("")
    (core / "good.py").write_text(GOOD)
    (core / "half.py").write_text(HALF)
    (core / "lint.py").write_text(LINT)
    for rel, text in TESTS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def section(lines: list[str]) -> list[str]:
    """The Phase 7 section: from its header to the verdict line."""
    start = next(i for i, line in enumerate(lines) if "Phase 7 status" in line)
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("phase7: "))
    return lines[start + 1 : end + 1]


def row(lines: list[str], number: int) -> list[str]:
    return next(line.split() for line in lines if line.split()[:1] == [str(number)])


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_xdist_prints_the_same_section_as_a_serial_run_with_every_gate(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester.path)
    serial = pytest_in(pytester.path, "--phase7")
    parallel = pytest_in(pytester.path, "--phase7", "-n", "2")
    assert "2 workers [4 items]" in parallel.stdout
    lines = section(serial.stdout.splitlines())
    assert lines == section(parallel.stdout.splitlines())
    # Every gate measured something: no ERROR, real figures from all four tools.
    assert "ERROR" not in "\n".join(lines)
    assert row(lines, 1)[-5:] == ["100%", "0", "0", "100%", "DONE"]
    assert row(lines, 2)[-7:] == ["75%", "0", "0", "67%", "✗", "IN", "PROGRESS"]
    # Coverage above zero with no starting point has moved: IN PROGRESS (the status rule).
    assert row(lines, 3)[-10:] == ["67%", "✗", "1", "✗", "1", "✗", "0%", "✗", "IN", "PROGRESS"]
    assert serial.returncode == parallel.returncode == 0


def static_run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(
        "--phase7",
        "--no-cov",
        "--phase7-gates=ruff,docstrings",
        "--phase7-fail-on=never",
        "-v",
        *args,
    )


def gate_times(result: pytest.RunResult) -> str:
    return next(line for line in result.outlines if "gate times:" in line)


def test_cacheprovider_off_means_no_cache_and_the_same_table(pytester: pytest.Pytester) -> None:
    make_project(pytester.path)
    uncached = static_run(pytester, "-p", "no:cacheprovider")
    again = static_run(pytester, "-p", "no:cacheprovider")
    assert not (pytester.path / ".pytest_cache").exists()
    assert "(cached)" not in gate_times(uncached) + gate_times(again)
    first = static_run(pytester)
    cached = static_run(pytester)
    assert (pytester.path / ".pytest_cache").is_dir()
    assert "(cached)" not in gate_times(first)
    assert gate_times(cached).count("(cached)") == 2
    cleared = static_run(pytester, "--cache-clear")
    assert "(cached)" not in gate_times(cleared)
    # The same table and details every time; only the timings line differs.
    tables = [
        [line for line in section(r.outlines) if not line.startswith("gate times:")]
        for r in (uncached, again, first, cached, cleared)
    ]
    assert all(table == tables[0] for table in tables)
    assert row(tables[0], 3)[-5:] == ["1", "✗", "0%", "✗", "QUEUED"]


def test_no_cov_makes_coverage_an_error_and_keeps_the_static_gates(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester.path)
    result = pytester.runpytest_inprocess(
        "--phase7", "--no-cov", "-p", "no:cacheprovider", "--phase7-gates=coverage,ruff"
    )
    lines = section(result.outlines)
    assert row(lines, 1)[-3:] == ["ERROR", "0", "FAILED"]
    assert "ERROR coverage: coverage was disabled with --no-cov (hint: drop --no-cov)" in lines
    assert lines[-1].startswith("phase7: merge BLOCKED (fail-on=regression): 3 items could not")
    assert result.ret == 1
    assert not (pytester.path / ".coverage").exists()


def test_no_phase7_turns_the_plugin_off_even_when_the_table_enables_it(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester.path, extra="enabled = true")
    enabled = pytester.runpytest_inprocess(
        "--no-cov", "-p", "no:cacheprovider", "--phase7-gates=ruff"
    )
    assert "Phase 7 status" in enabled.stdout.str()
    off = pytester.runpytest_inprocess("-p", "no:phase7", "-p", "no:cacheprovider")
    off.assert_outcomes(passed=4)
    assert "Phase 7" not in off.stdout.str()
    assert not (pytester.path / ".coverage").exists()
    refused = pytester.runpytest_inprocess("-p", "no:phase7", "--phase7")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    assert "unrecognized arguments: --phase7" in refused.stderr.str()


@pytest.mark.slow
def test_a_subdirectory_runs_part_of_the_tests_so_coverage_is_an_error(
    pytester: pytest.Pytester,
) -> None:
    # The same project run from its rootdir: item 1 is 100% and DONE (the xdist test above).
    make_project(pytester.path)
    part = pytest_in(pytester.path / "tests" / "unit", "--phase7", "--phase7-gates=coverage")
    assert "3 passed" in part.stdout
    lines = section(part.stdout.splitlines())
    assert row(lines, 1)[-2:] == ["ERROR", "FAILED"]
    reason = next(line for line in lines if line.startswith("ERROR coverage: "))
    assert reason == (
        "ERROR coverage: only tests/unit of the suite was selected; tests/other/test_lint.py is "
        "left out (hint: run the whole suite, declare the part you gate on with --phase7-suite, "
        "or leave coverage out with --phase7-gates)"
    )
    assert part.returncode == 1


@pytest.mark.slow
def test_the_folder_holding_the_whole_suite_runs_all_of_it(pytester: pytest.Pytester) -> None:
    make_project(pytester.path)
    whole = pytest_in(pytester.path / "tests", "--phase7", "--phase7-gates=coverage")
    assert "4 passed" in whole.stdout
    lines = section(whole.stdout.splitlines())
    assert row(lines, 1)[-2:] == ["100%", "DONE"]
    assert "coverage from the whole suite: tests (testpaths)" in lines
