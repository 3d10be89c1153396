"""The coverage gate against coverage.py itself.

Coverage data is produced by a real ``coverage run`` in a subprocess; the gate then reads it
in-process through the ``coverage.Coverage`` API (as it does in a session) and every figure is
compared with what ``coverage report`` prints for the same file and configuration.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import coverage
import pytest
from gate_helpers import file_target

from pytest_phase7.gates.base import GateRequest, GateStatus, SessionData
from pytest_phase7.gates.coverage import CoverageGate
from pytest_phase7.resolve.targets import Target, TargetKind
from pytest_phase7.settings import Settings

pytestmark = pytest.mark.slow

BRANCHY = """\
def classify(n):
    if n > 10:
        return "big"
    if n > 0:
        return "small"
    return "none"


def unused():
    x = 1
    return x
"""

DRIVER = """\
import pkg.branchy as b
import pkg.other as o
b.classify(20)
b.classify(5)
o.ping()
"""

OTHER = """\
def ping():
    return "pong"


def never():
    return 1
"""


def project(
    tmp_path: Path, config: str = "", driver: str = DRIVER, config_file: str = ".coveragerc"
) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "branchy.py").write_text(BRANCHY)
    (tmp_path / "pkg" / "other.py").write_text(OTHER)
    (tmp_path / "pkg" / "empty.py").write_text("# no statements\n")
    (tmp_path / "pkg" / "unimported.py").write_text("def f():\n    return 1\n")
    (tmp_path / "driver.py").write_text(driver)
    (tmp_path / config_file).write_text(config)
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", "driver.py"],
        cwd=tmp_path,
        check=True,
    )
    return tmp_path


def report_total(root: Path, *files: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "coverage", "report", "--format=total", *files],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def gate_run(root: Path, targets: list[Target], **settings: object):
    old = Path.cwd()
    os.chdir(root)  # coverage reads its config from the current directory, as in a session
    try:
        cov = coverage.Coverage()
        cov.load()
        request = GateRequest(
            root,
            tuple(targets),
            Settings(**settings),
            SessionData(cov),  # type: ignore[arg-type]
        )
        return CoverageGate().run(request)
    finally:
        os.chdir(old)


@pytest.mark.parametrize("branch", [False, True])
def test_percent_equals_coverage_report(tmp_path: Path, branch: bool):
    root = project(tmp_path, f"[run]\nbranch = {branch}\n")
    files = ["pkg/branchy.py", "pkg/other.py", "pkg/empty.py"]
    run = gate_run(root, [file_target(f) for f in files])
    assert run.tool_version == coverage.__version__
    for rel in files:
        result = run.results[rel]
        assert result.display == report_total(root, rel) + "%", rel
    assert run.results["pkg/empty.py"].metric == 100.0
    assert run.results["pkg/empty.py"].status is GateStatus.PASS


def test_branch_figures_and_missing_lines(tmp_path: Path):
    root = project(tmp_path, "[run]\nbranch = true\n")
    result = gate_run(root, [file_target("pkg/branchy.py")]).results["pkg/branchy.py"]
    extra = dict(result.extra)
    # classify(20) and classify(5): line 6 and the unused() body are missed; 4->6 is partial.
    assert extra["statements"] == 9
    assert extra["missing"] == 3
    assert extra["branches"] == 4
    assert extra["missing_branches"] == 1
    proc = subprocess.run(
        [sys.executable, "-m", "coverage", "report", "--show-missing", "pkg/branchy.py"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    row = next(line for line in proc.stdout.splitlines() if line.startswith("pkg/branchy.py"))
    missing_column = row.split("%", 1)[1].strip()
    assert result.details == (f"pkg/branchy.py: missing {missing_column}",)


def test_branch_min_is_separate(tmp_path: Path):
    root = project(tmp_path, "[run]\nbranch = true\n")
    target = [file_target("pkg/branchy.py")]
    passing = gate_run(root, target, coverage_min=50.0, branch_min=75.0).results["pkg/branchy.py"]
    assert passing.status is GateStatus.PASS
    failing = gate_run(root, target, coverage_min=50.0, branch_min=76.0).results["pkg/branchy.py"]
    assert failing.status is GateStatus.FAIL
    assert failing.reason == "branches 75% < 76%"


def test_branch_min_without_branch_data_is_error(tmp_path: Path):
    root = project(tmp_path)
    result = gate_run(root, [file_target("pkg/branchy.py")], branch_min=50.0).results[
        "pkg/branchy.py"
    ]
    assert result.status is GateStatus.ERROR
    assert "branch coverage was not measured" in result.reason
    assert result.hint == "set branch = true in [run] in .coveragerc, or pass --cov-branch"


@pytest.mark.parametrize(
    ("config_file", "config", "section"),
    [
        ("pyproject.toml", "[tool.coverage.run]\nbranch = false\n", "[tool.coverage.run]"),
        ("setup.cfg", "[coverage:run]\nbranch = false\n", "[coverage:run]"),
        ("tox.ini", "[coverage:run]\nbranch = false\n", "[coverage:run]"),
        (".coveragerc", "[run]\nbranch = false\n", "[run]"),
        ("README.txt", "", "[tool.coverage.run]"),  # no coverage config, a pyproject.toml
    ],
)
def test_hints_name_the_file_and_section_coverage_reads(
    tmp_path: Path, config_file: str, config: str, section: str
):
    if config_file == "README.txt":
        (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    root = project(tmp_path, config, config_file=config_file)
    where = f"{section} in {'pyproject.toml' if config_file == 'README.txt' else config_file}"
    result = gate_run(root, [file_target("pkg/branchy.py")], branch_min=50.0)
    assert result.results["pkg/branchy.py"].hint == (
        f"set branch = true in {where}, or pass --cov-branch"
    )


def test_package_target_aggregates_like_coverage(tmp_path: Path):
    root = project(tmp_path, "[run]\nbranch = true\n")
    files = ("pkg/__init__.py", "pkg/branchy.py", "pkg/empty.py", "pkg/other.py")
    package = Target(TargetKind.PACKAGE, "pkg/", files)
    result = gate_run(root, [package]).results["pkg/"]
    assert result.display == report_total(root, *files) + "%"


def test_unimported_file_is_zero_not_dropped(tmp_path: Path):
    root = project(tmp_path)
    result = gate_run(root, [file_target("pkg/unimported.py")]).results["pkg/unimported.py"]
    assert result.metric == 0.0
    assert result.display == "0%"
    assert result.status is GateStatus.FAIL
    assert "pkg/unimported.py: never imported by the tests" in result.details


def test_omitted_target_is_error(tmp_path: Path):
    root = project(tmp_path, "[report]\nomit = pkg/other.py\n")
    result = gate_run(root, [file_target("pkg/other.py")]).results["pkg/other.py"]
    assert result.status is GateStatus.ERROR
    assert "omit/include" in result.reason
    assert result.hint == "drop it from omit (or add it to include) in [report] in .coveragerc"


def test_target_outside_measured_source_is_error(tmp_path: Path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "thing.py").write_text("def t():\n    return 1\n")
    root = project(tmp_path, "[run]\nsource = pkg\n", driver=DRIVER + "import lib.thing\n")
    result = gate_run(root, [file_target("lib/thing.py")]).results["lib/thing.py"]
    assert result.status is GateStatus.ERROR
    assert "outside coverage's measured source" in result.reason
    assert result.hint == (
        "add it to --cov or to source in [run] in .coveragerc, or drop it from omit"
    )


def test_in_source_but_never_imported_is_zero(tmp_path: Path):
    root = project(tmp_path, "[run]\nsource = pkg\n")
    result = gate_run(root, [file_target("pkg/unimported.py")]).results["pkg/unimported.py"]
    assert result.display == report_total(root, "pkg/unimported.py") + "%" == "0%"


def boundary_module(executed: int, missed: int) -> str:
    lines = [f"a{i} = {i}" for i in range(executed - 1)]
    lines.append("def never_called():")
    lines += [f"    b{i} = {i}" for i in range(missed)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("precision", "threshold", "status"),
    [
        (0, 70.0, GateStatus.PASS),  # 69.5 rounds to 70 at precision 0
        (1, 70.0, GateStatus.FAIL),  # 69.5 < 70 at precision 1
        (0, 69.5, GateStatus.PASS),  # the threshold's own decimals count
        (2, 69.51, GateStatus.FAIL),
        (0, 100.0, GateStatus.FAIL),  # 100 means exactly 100
    ],
)
def test_rounding_follows_coverage_fail_under(
    tmp_path: Path, precision: int, threshold: float, status: GateStatus
):
    (tmp_path / "edge.py").write_text(boundary_module(executed=139, missed=61))
    root = project(
        tmp_path, f"[report]\nprecision = {precision}\n", driver=DRIVER + "import edge\n"
    )
    result = gate_run(root, [file_target("edge.py")], coverage_min=threshold).results["edge.py"]
    assert result.metric == pytest.approx(69.5)
    assert result.display == report_total(root, "edge.py") + "%"
    assert result.status is status
    from coverage.results import should_fail_under

    assert (status is GateStatus.FAIL) == should_fail_under(69.5, threshold, precision)


def test_exclusions_from_config_are_honoured(tmp_path: Path):
    config = "[report]\nexclude_also =\n    def unused\n"
    root = project(tmp_path, config)
    result = gate_run(root, [file_target("pkg/branchy.py")]).results["pkg/branchy.py"]
    # unused() is excluded: 6 statements remain, 5 of them run.
    assert dict(result.extra)["statements"] == 6
    assert result.display == report_total(root, "pkg/branchy.py") + "%" == "83%"


def test_no_data_is_error_with_hint(tmp_path: Path):
    request = GateRequest(tmp_path, (file_target("x.py"),), Settings(), SessionData(None))
    result = CoverageGate().run(request).results["x.py"]
    assert result.status is GateStatus.ERROR
    assert result.reason == "no coverage data"
    assert result.hint


def test_partial_selection_is_error(tmp_path: Path):
    root = project(tmp_path)
    cov = coverage.Coverage(data_file=str(root / ".coverage"))
    cov.load()
    request = GateRequest(
        root,
        (file_target("pkg/other.py"),),
        Settings(),
        SessionData(cov, "tests were selected with -k 'x'", "run them all"),
    )
    result = CoverageGate().run(request).results["pkg/other.py"]
    assert result.status is GateStatus.ERROR
    assert result.reason == "tests were selected with -k 'x'"
    assert result.hint == "run them all"


def test_broken_coverage_object_is_error(tmp_path: Path):
    class Broken:
        def get_option(self, name: str) -> object:
            raise RuntimeError("corrupt data file")

    request = GateRequest(tmp_path, (file_target("x.py"),), Settings(), SessionData(Broken()))
    result = CoverageGate().run(request).results["x.py"]
    assert result.status is GateStatus.ERROR
    assert "coverage.py failed: RuntimeError: corrupt data file" in result.reason


def test_paths_remapping_is_applied_before_asking_what_was_measured(tmp_path: Path):
    # Data recorded in another checkout (a CI shard), read here through [paths]: coverage report
    # remaps it, and so must every part of the gate ("never imported" included).
    (tmp_path / "shard").mkdir()
    elsewhere = project(tmp_path / "shard", "[run]\nsource = pkg\n")
    here = tmp_path / "here"
    shutil.copytree(elsewhere, here)
    shutil.rmtree(elsewhere)  # that checkout is gone; its paths live on in the data only
    (here / ".coveragerc").write_text(
        f"[run]\nsource = pkg\n[paths]\nsource =\n    {here}/pkg\n    {elsewhere}/pkg\n"
    )
    run = gate_run(here, [file_target("pkg/branchy.py")])
    result = run.results["pkg/branchy.py"]
    assert result.status is not GateStatus.ERROR, result.reason
    assert result.display == report_total(here, "pkg/branchy.py") + "%"
    assert not any("never imported" in d for d in result.details)
