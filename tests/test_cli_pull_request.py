"""``phase7 gate`` in a pull request: the PR settings of ``pytest --phase7``, from saved data.

On the bundled example made a git repository with an untested function on a branch (the fixture
of :mod:`test_pull_request`), ``pytest --phase7`` runs the tests once; then the real ``phase7
gate`` (its console script, in a subprocess) gates the same coverage data file with
``--changed-since``, ``--diff-coverage-min``, ``--sarif``, ``--codeclimate``, ``--annotations``
and ``--baseline-update``, and must say what pytest said: the same New lines figure (diff-cover's),
the same SARIF log and Code Quality report, the same annotations, the same blocked merge, the
same baseline file; and a pull request never moves the baseline.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from gate_helpers import sarif_schema
from test_pull_request import (
    TARGET,
    diff_cover,
    environment,
    item_result,
    pull_request,
    run,
)

from pytest_phase7.cli import main

__all__ = ["pull_request"]  # the fixture, used by name

pytestmark = pytest.mark.slow

PHASE7 = str(Path(sys.executable).parent / "phase7")


def phase7_gate(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PHASE7, "gate", "--coverage-file", ".coverage", "--no-cache", *args],
        cwd=repo,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def gate_in_process(
    repo: Path, monkeypatch: pytest.MonkeyPatch, *args: str, **env: str
) -> tuple[int, str]:
    """``phase7 gate`` through :func:`pytest_phase7.cli.main` (measured where the suite is)."""
    monkeypatch.chdir(repo)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    code = main(["gate", "--coverage-file", ".coverage", "--no-cache", *args], out=out)
    return code, out.getvalue()


def without_run_details(document: Any) -> Any:
    """A report without what differs between two runs on the same data: timings, cache flags."""
    if isinstance(document, dict):
        return {
            k: without_run_details(v)
            for k, v in document.items()
            if k not in {"seconds", "cached", "suite", "generated"}
        }
    if isinstance(document, list):
        return [without_run_details(v) for v in document]
    return document


def annotations(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("::")]


PR_FLAGS = ("changed-since=main", "diff-coverage-min=80", "annotations=github")


def test_gate_in_a_pull_request_says_what_pytest_said(pull_request: Path):
    repo = pull_request
    ran = run(
        repo,
        "--phase7",
        "-p",
        "no:cacheprovider",
        *(f"--phase7-{flag}" for flag in PR_FLAGS),
        "--phase7-json=pytest.json",
        "--phase7-sarif=pytest.sarif",
        "--phase7-codeclimate=pytest-cq.json",
    )
    assert ran.returncode == 1, ran.stdout[-3000:]
    gated = phase7_gate(
        repo,
        *(f"--{flag}" for flag in PR_FLAGS),
        "--json=gate.json",
        "--sarif=gate.sarif",
        "--codeclimate=gate-cq.json",
    )
    # Blocked, for the same reason.
    assert gated.returncode == 1, gated.stdout[-3000:] + gated.stderr
    verdict = next(line for line in gated.stdout.splitlines() if line.startswith("phase7: merge"))
    assert f"new lines below 80% covered in 1 file ({TARGET})" in verdict
    assert verdict in ran.stdout

    # The New lines figure is diff-cover's, as pytest's is.
    report = json.loads((repo / "gate.json").read_text(encoding="utf-8"))
    ours = item_result(report, 1, "new_lines")
    theirs = diff_cover(repo)
    assert ours["extra"]["statements"] == theirs["total_num_lines"] == 6
    assert ours["extra"]["missing"] == theirs["total_num_violations"] == 5
    assert ours["metric"] == pytest.approx(theirs["total_percent_covered"], abs=0.01)
    assert ours["display"] == "1/6 \u00b7 17%"

    # The same report, SARIF log, Code Quality report and annotations as pytest's.
    from_pytest = json.loads((repo / "pytest.json").read_text(encoding="utf-8"))
    assert without_run_details(report) == without_run_details(from_pytest)
    log = json.loads((repo / "gate.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    pytest_log = json.loads((repo / "pytest.sarif").read_text(encoding="utf-8"))
    assert [r["results"] for r in log["runs"]] == [r["results"] for r in pytest_log["runs"]]
    assert any(r["ruleId"] == "uncovered-line" for run_ in log["runs"] for r in run_["results"])
    gate_cq = json.loads((repo / "gate-cq.json").read_text(encoding="utf-8"))
    assert gate_cq == json.loads((repo / "pytest-cq.json").read_text(encoding="utf-8"))
    assert any(i["check_name"] == "ruff/F401" for i in gate_cq)
    pytest_annotations = [
        line.replace("pytest.", "gate.").replace("pytest-cq", "gate-cq")
        for line in annotations(ran.stdout)
    ]
    assert annotations(gated.stdout) == pytest_annotations
    assert any(f"file={TARGET}," in a and "uncovered-line" in a for a in pytest_annotations)


def test_annotations_follow_github_actions_as_pytest_s_do(
    pull_request: Path, monkeypatch: pytest.MonkeyPatch
):
    run(pull_request, "--phase7", "-p", "no:cacheprovider")
    _, on = gate_in_process(
        pull_request, monkeypatch, "--changed-since=main", GITHUB_ACTIONS="true"
    )
    assert any(line.startswith("::error ") for line in on.splitlines()), on
    _, off = gate_in_process(
        pull_request,
        monkeypatch,
        "--changed-since=main",
        "--annotations=none",
        GITHUB_ACTIONS="true",
    )
    assert not annotations(off), off
    assert not annotations(gate_in_process(pull_request, monkeypatch, "--changed-since=main")[1])


def test_gate_raises_the_baseline_as_pytest_does_but_never_in_a_pull_request(
    pull_request: Path, monkeypatch: pytest.MonkeyPatch
):
    repo = pull_request
    ran = run(repo, "--phase7", "-p", "no:cacheprovider", "--phase7-baseline-update")
    assert (repo / "phase7-baseline.json").is_file(), ran.stdout[-2000:]
    from_pytest = (repo / "phase7-baseline.json").read_text(encoding="utf-8")
    (repo / "phase7-baseline.json").unlink()
    code, out = gate_in_process(repo, monkeypatch, "--baseline-update")
    assert code in (0, 1), out
    assert (repo / "phase7-baseline.json").read_text(encoding="utf-8") == from_pytest

    # A pull request: the baseline stays as it is, and the run says so.
    before = (repo / "phase7-baseline.json").stat().st_mtime_ns
    _, in_pr = gate_in_process(
        repo, monkeypatch, "--baseline-update", "--changed-since=main", "--baseline=other.json"
    )
    assert "baseline not updated: a pull request (--changed-since)" in in_pr
    assert not (repo / "other.json").exists()
    assert (repo / "phase7-baseline.json").stat().st_mtime_ns == before


def test_a_floor_above_the_figure_only_because_covered_code_went_is_no_regression(
    pull_request: Path,
):
    """The baseline's counts decide, in phase7 gate as in pytest (it read the floors only)."""
    repo = pull_request
    run(repo, "--phase7", "-p", "no:cacheprovider", "--phase7-json=first.json")
    assert phase7_gate(repo, "--baseline-update").returncode in (0, 1)
    baseline = json.loads((repo / "phase7-baseline.json").read_text(encoding="utf-8"))
    # As if an earlier commit had more covered lines in service.py (item 3, 49%): a higher
    # floor, the same count of missed lines. Not a regression: covered code went, none was lost.
    service = "src/tta/agent_orchestration/service.py"
    coverage = baseline["metrics"][service]["coverage"]
    baseline["metrics"][service]["coverage"] = coverage + 5
    (repo / "phase7-baseline.json").write_text(json.dumps(baseline), encoding="utf-8")
    common = ("fail-on=regression", "baseline=phase7-baseline.json")
    run(
        repo,
        "--phase7",
        "-p",
        "no:cacheprovider",
        "--phase7-json=pytest.json",
        *(f"--phase7-{flag}" for flag in common),
    )
    phase7_gate(repo, "--json=gate.json", *(f"--{flag}" for flag in common))
    from_pytest = json.loads((repo / "pytest.json").read_text(encoding="utf-8"))
    from_gate = json.loads((repo / "gate.json").read_text(encoding="utf-8"))
    assert from_pytest["items"][2]["target"]["ref"] == service
    assert from_pytest["items"][2]["regression"] is False
    assert from_gate["items"][2]["regression"] is False
    assert without_run_details(from_gate) == without_run_details(from_pytest)


def test_sharded_ci_combines_then_gates_as_the_readme_shows(pull_request: Path):
    # README "Sharded CI": each shard runs part of the tests under coverage, the job combines
    # the data files and runs `phase7 gate --changed-since=...` on the whole: the figure equals
    # diff-cover's on the combined data, as it does for one pytest run.
    repo = pull_request
    tests = sorted(p.relative_to(repo).as_posix() for p in (repo / "tests").glob("test_*.py"))
    for shard, part in enumerate((tests[::2], tests[1::2]), start=1):
        ran = run(repo, "--cov", "--cov-report=", *part, COVERAGE_FILE=f".coverage.shard{shard}")
        assert ran.returncode == 0, ran.stdout[-3000:]
    combined = subprocess.run(
        [sys.executable, "-m", "coverage", "combine"],
        cwd=repo,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert combined.returncode == 0, combined.stdout + combined.stderr
    gated = phase7_gate(repo, "--changed-since=main", "--diff-coverage-min=80", "--json=gate.json")
    assert gated.returncode == 1, gated.stdout[-3000:] + gated.stderr
    report = json.loads((repo / "gate.json").read_text(encoding="utf-8"))
    ours = item_result(report, 1, "new_lines")
    theirs = diff_cover(repo)
    assert ours["extra"]["statements"] == theirs["total_num_lines"] == 6
    assert ours["extra"]["missing"] == theirs["total_num_violations"] == 5
    assert ours["display"] == "1/6 \u00b7 17%"
