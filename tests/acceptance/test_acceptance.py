"""The acceptance tier: ``pytest --phase7`` on pinned real projects, first try.

Every case runs the project's own suite with ``pytest --phase7`` in a fresh checkout (the sdist
plus the plan and at most three config lines), then runs coverage.py, ruff, mypy and interrogate
directly on the same checkout and requires every figure phase7 reported to equal the tool's own.
Marked ``acceptance`` (and ``slow``): the project's ``addopts`` (``-m "not acceptance"``) leave
the tier out, ``-m acceptance`` runs it. See tests/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from realprojects import (
    Case,
    Project,
    compare,
    fetch_sdist,
    file_digests,
    format_rows,
    junit_name,
    load_projects,
    make_checkout,
    project_venv,
    run,
    run_env,
    run_phase7,
    tool_figures,
    venv_tool,
)

pytestmark = [
    pytest.mark.acceptance,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="the acceptance tier runs on POSIX"),
]

PROJECTS = load_projects()


def _cases() -> list[object]:
    return [
        pytest.param(project, case, id=f"{project.name}-{case.id}")
        for project in PROJECTS
        for case in project.cases
    ]


def _checkout(project: Project, tmp_path: Path) -> tuple[Path, Path]:
    """The project's venv and a fresh checkout of it."""
    sdist = fetch_sdist(project)
    venv = project_venv(project)
    return venv, make_checkout(project, sdist, tmp_path / "checkout")


@pytest.mark.parametrize(("project", "case"), _cases())
def test_phase7_figures_equal_the_tools(project: Project, case: Case, tmp_path: Path) -> None:
    venv, root = _checkout(project, tmp_path)
    before = file_digests(root)
    out = tmp_path / "out"
    out.mkdir()
    result = run_phase7(venv, project, root, out, case.args)
    output = result.completed.stdout
    problems: list[str] = []

    # The run: the project's own tests pass (but for known upstream failures), nothing crashes.
    allowed = {junit_name(nodeid) for nodeid in project.may_fail}
    unexpected = sorted(set(result.failures) - allowed)
    if unexpected:
        problems.append(f"tests failed that the project's suite passes: {unexpected}")
    if "INTERNALERROR" in output:
        problems.append("pytest printed INTERNALERROR")
    if "Phase 7 status" not in output:
        problems.append("no Phase 7 status section in the terminal output")
    report = result.report
    if report is None:
        pytest.fail(
            "\n".join(
                [*problems, "no --phase7-json report was written", result.completed.describe()]
            )
        )
    if result.completed.returncode != (1 if result.failures else 0):
        problems.append(f"pytest exited {result.completed.returncode}")

    # Every item resolves to its target as the plan (and config) name it.
    numbers = {item["number"] for item in report["items"]}
    if numbers != set(project.targets):
        problems.append(f"plan items {sorted(numbers)}, expected {sorted(project.targets)}")
    for item in report["items"]:
        target = item.get("target") or {}
        want = project.targets.get(item["number"])
        if target.get("state") != "resolved" or target.get("ref") != want:
            problems.append(
                f"item {item['number']}: {target.get('state')} {target.get('ref')!r} "
                f"(expected {want!r}): {target.get('message', '')}"
            )

    # Every gate measured: no ERROR, nothing skipped but what the plan narrows away, the merge
    # not blocked.
    for item in report["items"]:
        for gate in item["results"]:
            narrowed = gate["status"] == "SKIP" and gate["reason"] == "not applicable"
            if gate["status"] not in ("PASS", "FAIL") and not narrowed:
                problems.append(
                    f"item {item['number']} {gate['gate']}: {gate['status']}: {gate['reason']}"
                    + (f" (hint: {gate['hint']})" if gate["hint"] else "")
                )
    if report["verdict"]["blocked"]:
        problems.append(f"merge blocked: {report['verdict']['summary']}")

    # pytest-cov combines every data file it measured into one; none is left behind.
    leftovers = sorted(p.name for p in root.glob(".coverage.*"))
    if leftovers:
        problems.append(f"uncombined coverage data files left: {leftovers}")

    # Every figure equals the tool's own, run directly on the same checkout.
    refs = sorted(
        {
            item["target"]["ref"]
            for item in report["items"]
            if (item.get("target") or {}).get("state") == "resolved"
        }
    )
    rows = []
    if refs:
        figures = tool_figures(venv, project, root, out, refs)
        rows = compare(report, figures, root)
        if any(not row.equal for row in rows):
            problems.append("figures differ from the tools' own:\n" + format_rows(rows))

    # phase7 changed none of the project's files (the plan and config included).
    after = file_digests(root)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed:
        problems.append(f"files of the project changed or appeared: {changed}")

    print(format_rows(rows))  # shown with -rP: the figures compared
    assert not problems, "\n\n".join([*problems, result.completed.describe()])


@pytest.mark.parametrize("project", [pytest.param(p, id=p.name) for p in PROJECTS])
def test_plan_validates(project: Project, tmp_path: Path) -> None:
    """``phase7 validate`` loads the plan and resolves every item, without running the tests."""
    venv, root = _checkout(project, tmp_path)
    done = run([venv_tool(venv, "phase7"), "validate"], cwd=root, env=run_env(venv, project, root))
    assert done.returncode == 0, done.describe()
