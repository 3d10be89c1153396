"""The new-lines gate in-process, on coverage data from a real ``coverage run`` (a subprocess).

The pull request's diff is given as :class:`~pytest_phase7.resolve.diffcov.ChangedLines` (git
itself is tested in ``test_diffcov.py``, diff-cover's figures in ``test_pull_request.py``); here
the gate's own logic: which lines count, what passes, what blocks, what is skipped and why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import coverage
import pytest
from gate_helpers import file_target

from pytest_phase7.gates.base import GateRequest, GateRun, GateStatus, SessionData
from pytest_phase7.gates.new_lines import NewLinesGate
from pytest_phase7.resolve.diffcov import ChangedLines
from pytest_phase7.resolve.targets import Target
from pytest_phase7.settings import Settings

pytestmark = pytest.mark.slow

MODULE = """\
def covered(n):
    # a comment
    if n > 0:
        return 1
    return 2


def untested():
    x = 1
    return x
"""

EXTRA = """\
def ping():
    return "pong"


def never():
    return 1
"""

DRIVER = "import pkg.mod as m\nimport pkg.extra as e\nm.covered(5)\ne.ping()\n"


@pytest.fixture(scope="module", params=[False, True], ids=["lines", "branches"])
def measured(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("newlines")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text(MODULE)
    (root / "pkg" / "extra.py").write_text(EXTRA)
    (root / "pkg" / "skipped.py").write_text("s = 1\n")
    (root / "pkg" / "elsewhere.py").write_text("e = 1\n")
    (root / "driver.py").write_text(DRIVER)
    config = "[run]\nsource = pkg\n" + ("branch = true\n" if request.param else "")
    (root / ".coveragerc").write_text(config + "[report]\nomit = pkg/skipped.py\n")
    subprocess.run([sys.executable, "-m", "coverage", "run", "driver.py"], cwd=root, check=True)
    (root / "pkg" / "unmeasured.py").write_text("u = 1\n")  # created after the run
    return root


def run(
    root: Path, targets: list[Target], diff: ChangedLines | None, **settings: object
) -> GateRun:
    old = Path.cwd()
    os.chdir(root)
    try:
        cov = coverage.Coverage()
        cov.load()
        request = GateRequest(
            root, tuple(targets), Settings(**settings), SessionData(cov), diff=diff
        )
        return NewLinesGate().run(request)
    finally:
        os.chdir(old)


def changed(**lines: set[int]) -> ChangedLines:
    files = {f"pkg/{name}.py": frozenset(numbers) for name, numbers in lines.items()}
    return ChangedLines("main", "abc", frozenset(files), files)


def test_only_changed_statements_count_and_the_minimum_blocks(measured: Path):
    branches = (measured / ".coveragerc").read_text().count("branch = true") == 1
    # Lines 2 (a comment) and 3-4 changed in covered(); 8-10 (untested) added.
    diff = changed(mod={2, 3, 4, 8, 9, 10})
    gate = run(measured, [file_target("pkg/mod.py")], diff, diff_coverage_min=80.0)
    result = gate.results["pkg/mod.py"]
    extra = dict(result.extra)
    # Statements among them: 3, 4, 8, 9, 10 (the comment is none); the def on line 8 ran at
    # import, its body (9-10) never did.
    assert (extra["statements"], extra["missing"]) == (5.0, 2.0)
    assert extra["line_percent"] == pytest.approx(60.0)
    assert result.status is GateStatus.FAIL
    assert result.threshold == 80.0
    if branches:
        # The if on line 3 has two exits; the tests took one.
        assert (extra["branches"], extra["missing_branches"]) == (2.0, 1.0)
        assert result.display == "3/5 \u00b7 1/2 br \u00b7 57%"
        assert result.reason == "57% < 80%"
    else:
        assert "branches" not in extra
        assert result.display == "3/5 \u00b7 60%"
        assert result.reason == "60% < 80%"
    codes = [f.code for f in result.findings]
    assert codes.count("uncovered-line") == 1
    (uncovered,) = [f for f in result.findings if f.code == "uncovered-line"]
    assert (uncovered.line, uncovered.end_line, uncovered.tool) == (9, 10, "coverage")
    assert ("uncovered-branch" in codes) is branches
    assert result.details[0].startswith("pkg/mod.py: new lines missing 9-10")
    assert gate.blocking == ("new lines below 80% covered in 1 file (pkg/mod.py)",)


def test_without_a_minimum_the_figure_informs(measured: Path):
    gate = run(measured, [file_target("pkg/mod.py")], changed(mod={8, 9, 10}))
    result = gate.results["pkg/mod.py"]
    assert result.status is GateStatus.PASS
    assert result.threshold is None
    assert gate.blocking == ()


def test_changed_files_outside_the_plan_are_measured_and_can_block(measured: Path):
    diff = changed(mod={3}, extra={5, 6}, skipped={1}, unmeasured={1})
    gate = run(measured, [file_target("pkg/mod.py")], diff, diff_coverage_min=60.0)
    assert gate.results["pkg/mod.py"].status is GateStatus.PASS
    extra = gate.results["pkg/extra.py"]
    assert extra.status is GateStatus.FAIL
    assert extra.display == "1/2 \u00b7 50%"  # the def ran at import, its body not
    assert gate.results["pkg/skipped.py"].status is GateStatus.SKIP
    assert "omit/include" in gate.results["pkg/skipped.py"].reason
    unmeasured = gate.results["pkg/unmeasured.py"]
    assert unmeasured.status is GateStatus.SKIP
    assert unmeasured.reason == (
        "not measured by coverage: outside source in [run] in .coveragerc, "
        "or never imported by the tests"
    )
    assert gate.blocking == ("new lines below 60% covered in 1 file (pkg/extra.py)",)


def test_a_changed_file_run_omit_leaves_out_says_so(measured: Path):
    config = measured / ".coveragerc"
    before = config.read_text()
    config.write_text(before.replace("[report]", "omit = pkg/unmeasured.py\n[report]"))
    try:
        gate = run(measured, [file_target("pkg/mod.py")], changed(mod={3}, unmeasured={1}))
    finally:
        config.write_text(before)
    unmeasured = gate.results["pkg/unmeasured.py"]
    assert unmeasured.status is GateStatus.SKIP
    assert unmeasured.reason == (
        "not measured by coverage: omit in [run] in .coveragerc leaves it out"
    )


def test_unchanged_and_comment_only_targets_are_skipped(measured: Path):
    targets = [file_target("pkg/mod.py"), file_target("pkg/extra.py")]
    gate = run(measured, targets, changed(mod={2}), diff_coverage_min=90.0)
    assert gate.results["pkg/mod.py"].status is GateStatus.SKIP
    assert gate.results["pkg/mod.py"].reason == "no executable line changed"
    assert gate.results["pkg/extra.py"].reason == "not changed by the pull request"
    assert gate.blocking == ()


def test_no_diff_no_data_and_partial_runs(measured: Path):
    target = file_target("pkg/mod.py")
    assert run(measured, [target], None).results["pkg/mod.py"].status is GateStatus.SKIP
    diff = changed(mod={8})
    gate = NewLinesGate()
    settings = Settings()
    no_data = gate.run(GateRequest(measured, (target,), settings, SessionData(None), diff=diff))
    assert no_data.results["pkg/mod.py"].status is GateStatus.ERROR
    partial = SessionData(object(), problem="a partial run", hint="run all")
    errored = gate.run(GateRequest(measured, (target,), settings, partial, diff=diff))
    assert errored.results["pkg/mod.py"].reason == "a partial run"
    developer = SessionData(object(), problem="a partial run", gated=False)
    skipped = gate.run(GateRequest(measured, (target,), settings, developer, diff=diff))
    assert skipped.results["pkg/mod.py"].status is GateStatus.SKIP
    broken = gate.run(GateRequest(measured, (target,), settings, SessionData(object()), diff=diff))
    assert broken.results["pkg/mod.py"].status is GateStatus.ERROR
    assert broken.results["pkg/mod.py"].reason.startswith("coverage.py failed")
