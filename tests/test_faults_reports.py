"""Faults of the plan write-back and of the reports, and JSON parity under ``-n 2``.

* the write-back failing midway (a disk error in :mod:`pytest_phase7.atomic`) or refused by the
  file system: the plan stays byte-identical, no temp file is left, the failure is one line;
* a session interrupted (KeyboardInterrupt) writes no report and leaves old ones as they were;
* two runs writing the same ``--phase7-json`` at once leave one complete, valid report;
* the JSON report's write failing midway keeps the previous report;
* ``-n 2`` writes the same JSON report as a serial run, apart from the gates' timings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_phase7 import atomic

SCHEMA = json.loads(
    (Path(atomic.__file__).parent / "schemas" / "report.schema.json").read_text("utf-8")
)

PLAN = """# Plan

**Total Work Items:** 3

### Batch 1: Unit Tests (Critical)
**Items:** 1-2
**Priority:** CRITICAL

| # | Module | File | Complexity | Est. Time | Status |
|---|--------|------|-----------|-----------|--------|
| 1 | Core | small.py | Simple | 1h | QUEUED |
| 2 | Core | large.py | Simple | 1h | QUEUED |

### Batch 2: Documentation (Normal)
**Items:** 3
"""

#: A deterministic, tool-free gate; ``PHASE7_FAKE_LIMIT`` changes its verdicts between runs.
CONFTEST = """
import os

from pytest_phase7.gates.base import GateResult, GateRun, GateStatus


class SizeGate:
    name = "size"
    title = "Size"
    needs_session = False

    def run(self, request):
        limit = int(os.environ.get("PHASE7_FAKE_LIMIT", "3"))
        results = {}
        for target in request.targets:
            count = sum(len((request.rootdir / f).read_text().splitlines()) for f in target.files)
            status = GateStatus.PASS if count <= limit else GateStatus.FAIL
            results[target.ref] = GateResult("size", status, metric=count, display=str(count))
        return GateRun("size", results, tool_version="1")


def pytest_phase7_add_gates(config):
    return [SizeGate()]
"""

ARGS = ("--phase7", "--no-cov", "-p", "no:cacheprovider", "-p", "no:randomly")
ARGS += ("--phase7-gates=size",)


def make_project(root: Path) -> None:
    (root / "pyproject.toml").write_text('[tool.phase7]\nmanifest = "PLAN.md"\n')
    (root / "PLAN.md").write_text(PLAN)
    (root / "core").mkdir()
    (root / "core" / "small.py").write_text("x = 1\n")
    (root / "core" / "large.py").write_text("a = 1\nb = 2\nc = 3\nd = 4\n")
    (root / "conftest.py").write_text(CONFTEST)
    (root / "test_it.py").write_text("def test_a():\n    pass\n\n\ndef test_b():\n    pass\n")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    make_project(pytester.path)
    return pytester


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


class FailingOs:
    """``os`` as :mod:`pytest_phase7.atomic` sees it, with one call failing like a full disk."""

    def __init__(self, failing: str) -> None:
        self.failing = failing

    def __getattr__(self, name: str) -> Any:
        if name == self.failing:
            return self.fail
        return getattr(os, name)

    @staticmethod
    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")


def no_traceback(result: pytest.RunResult) -> None:
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text
    assert "INTERNALERROR" not in text


# --- the write-back ---------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_write_back_failing_midway_keeps_the_plan(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    plan = project.path / "PLAN.md"
    before = plan.read_bytes()
    monkeypatch.setattr(atomic, "os", FailingOs(failing))
    result = project.runpytest_inprocess(*ARGS, "--phase7-update-manifest")
    assert plan.read_bytes() == before
    assert leftovers(project.path) == []
    assert "phase7: plan not updated: [Errno 28] No space left on device" in result.outlines
    no_traceback(result)
    result.assert_outcomes(passed=2)


def test_a_read_only_plan_is_replaced_whole_and_stays_read_only(project: pytest.Pytester) -> None:
    # Documented: the file is replaced atomically (a rename, which the folder allows) and keeps
    # its mode; a read-only plan is therefore updated, never half-written.
    plan = project.path / "PLAN.md"
    plan.chmod(0o444)
    result = project.runpytest_inprocess(*ARGS, "--phase7-update-manifest")
    assert "phase7: PLAN.md: 1 status updated (1 ✅ DONE)" in result.outlines
    assert (plan.stat().st_mode & 0o777) == 0o444
    assert "| 1 | Core | small.py | Simple | 1h | ✅ DONE |" in plan.read_text("utf-8")
    assert leftovers(project.path) == []


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root writes into read-only folders"
)
def test_a_plan_in_a_read_only_folder_is_left_alone(project: pytest.Pytester) -> None:
    plan = project.path / "PLAN.md"
    before = plan.read_bytes()
    plan.chmod(0o444)
    project.path.chmod(0o555)
    try:
        result = project.runpytest_inprocess(*ARGS, "--phase7-update-manifest")
    finally:
        project.path.chmod(0o755)
    assert plan.read_bytes() == before
    assert leftovers(project.path) == []
    assert any(line.startswith("phase7: plan not updated: ") for line in result.outlines)
    assert any("Permission denied" in line for line in result.outlines)
    no_traceback(result)


# --- the reports ------------------------------------------------------------------------------

# Reports an earlier run wrote (only those may be replaced).
OLD_JSON = b'{\n  "schema_version": 1,\n  "generator": "pytest-phase7 0.0.9",\n  "old": 1\n}\n'
OLD_MD = b"<!-- phase7-report -->\n# old report\n"


@pytest.mark.parametrize("existed", [False, True], ids=["absent", "previous"])
def test_an_interrupted_session_writes_no_report(project: pytest.Pytester, existed: bool) -> None:
    md, js = project.path / "phase7.md", project.path / "phase7.json"
    if existed:
        md.write_bytes(OLD_MD)
        js.write_bytes(OLD_JSON)
    project.makepyfile(test_it="def test_x():\n    raise KeyboardInterrupt\n")
    result = project.runpytest_inprocess(
        *ARGS, "--phase7-md=phase7.md", "--phase7-json=phase7.json", no_reraise_ctrlc=True
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    if existed:
        assert (md.read_bytes(), js.read_bytes()) == (OLD_MD, OLD_JSON)
    else:
        assert not md.exists()
        assert not js.exists()
    assert leftovers(project.path) == []


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_json_report_write_failing_midway_keeps_the_previous_report(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    js = project.path / "phase7.json"
    js.write_bytes(OLD_JSON)
    monkeypatch.setattr(atomic, "os", FailingOs(failing))
    result = project.runpytest_inprocess(*ARGS, "--phase7-json=phase7.json")
    assert js.read_bytes() == OLD_JSON
    assert leftovers(project.path) == []
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: phase7: cannot write the report: [[]Errno 28[]] No space left on device"]
    )
    no_traceback(result)


def pytest_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", *ARGS, *args]


def quiet_env(**extra: str) -> dict[str, str]:
    """The environment of an inner run: no hypothesis plugin (slow to load), no job summary."""
    env = {**os.environ, "PYTEST_ADDOPTS": "-p no:hypothesispytest", **extra}
    env.pop("GITHUB_STEP_SUMMARY", None)
    return env


@pytest.mark.slow
def test_two_runs_writing_one_json_report_leave_one_complete_report(
    project: pytest.Pytester,
) -> None:
    js = project.path / "phase7.json"
    # The two runs differ (limit 3: item 1 DONE; limit 10: both items DONE).
    runs = [
        subprocess.Popen(
            pytest_command("--phase7-json=phase7.json", "--phase7-fail-on=never"),
            cwd=project.path,
            env=quiet_env(PHASE7_FAKE_LIMIT=limit),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for limit in ("3", "10")
    ]
    seen = []
    while any(run.poll() is None for run in runs):
        time.sleep(0.02)  # leave the CPUs to the runs
        try:
            data = js.read_bytes()
        except FileNotFoundError:
            continue
        seen.append(json.loads(data))  # a torn file would not parse
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    report = json.loads(js.read_bytes())
    jsonschema.validate(report, SCHEMA)
    for earlier in seen:
        jsonschema.validate(earlier, SCHEMA)
    statuses = [item["status"] for item in report["items"]]
    assert statuses in (["DONE", "QUEUED", "QUEUED"], ["DONE", "DONE", "QUEUED"])
    assert leftovers(project.path) == []


def normalised(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what legitimately differs between runs: the gates' wall-clock time."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "seconds"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(report)


@pytest.mark.slow
def test_xdist_writes_the_same_json_report_as_a_serial_run(project: pytest.Pytester) -> None:
    # Coverage (measured in the workers, combined in the controller) and ruff as well as size.
    (project.path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\npythonpath = ["."]\n\n[tool.phase7]\nmanifest = "PLAN.md"\n'
    )
    (project.path / "core" / "__init__.py").write_text("")
    project.makepyfile(
        test_it="from core import small\n\n\ndef test_a():\n    assert small.x == 1\n\n\n"
        "def test_b():\n    pass\n"
    )
    gates = ("--phase7", "-p", "no:cacheprovider", "-p", "no:randomly")
    gates += ("--phase7-gates=size,coverage,ruff", "--phase7-fail-on=never")
    runs = {}
    for name, extra in (("serial", ()), ("parallel", ("-n", "2"))):
        done = subprocess.run(
            [sys.executable, "-m", "pytest", *gates, f"--phase7-json={name}.json", *extra],
            cwd=project.path,
            env=quiet_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        runs[name] = json.loads((project.path / f"{name}.json").read_text("utf-8"))
        jsonschema.validate(runs[name], SCHEMA)
    assert "2 workers [2 items]" in done.stdout  # xdist really ran
    assert normalised(runs["parallel"]) == normalised(runs["serial"])
    items = runs["serial"]["items"]
    # Item 2 (large.py) is never imported: 0% coverage is no progress in a tests batch.
    assert [item["status"] for item in items] == ["DONE", "QUEUED", "QUEUED"]
    metrics = {r["gate"]: r["metric"] for r in items[0]["results"]}
    assert metrics == {"size": 1, "coverage": 100, "ruff": 0}
