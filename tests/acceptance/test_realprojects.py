"""The acceptance tier's own logic, without the network: the data file, parsing, the comparison.

Not marked ``acceptance``: these run in every quick loop, so a broken ``projects.toml`` or a
comparison that cannot fail is caught without downloading anything.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from realprojects import (
    HARNESS_DIR,
    MAX_CONFIG_LINES,
    AcceptanceError,
    CoverageFile,
    Project,
    Row,
    ToolFigures,
    compare,
    expected_coverage,
    file_digests,
    junit_failures,
    junit_name,
    load_projects,
    make_checkout,
    parse_interrogate_total,
    run_env,
    target_files,
    venv_key,
)

PROJECTS = load_projects()

FEATURES = {
    "src layout": "src layout",
    "flat layout without testpaths": "no testpaths",
    "ini addopts with -m": "addopts",
    "coverage branch": "branch = true",
    "coverage parallel": "parallel = true",
    "coverage patch subprocess": "patch = ['subprocess']",
    "coverage source_pkgs": "source_pkgs",
    ".coveragerc": ".coveragerc",
    "setup.cfg": "setup.cfg",
    "two packages in one repo": "two packages",
    ".pyi stubs": ".pyi stubs",
    "[tool.phase7.targets]": "[tool.phase7.targets]",
    "-n 2": "-n 2",
}


@pytest.mark.parametrize("project", [pytest.param(p, id=p.name) for p in PROJECTS])
def test_project_is_pinned_and_adds_at_most_three_config_lines(project: Project) -> None:
    assert len(project.sha256) == 64
    int(project.sha256, 16)
    assert project.sdist.endswith(".tar.gz")
    assert project.version in project.sdist
    assert len(project.config_lines) <= MAX_CONFIG_LINES
    assert project.plan.is_file()
    assert all("==" in requirement for requirement in project.requirements)
    assert project.targets
    assert project.exercises
    ids = [case.id for case in project.cases]
    assert ids
    assert len(ids) == len(set(ids))


def test_the_tier_covers_every_required_feature() -> None:
    exercised = " ".join(e for p in PROJECTS for e in p.exercises)
    missing = [name for name, phrase in FEATURES.items() if phrase not in exercised]
    assert not missing
    assert len(PROJECTS) >= 5
    modes = {case.args[:2] == ("-n", "2") for p in PROJECTS for case in p.cases}
    assert modes == {True, False}


def test_targets_table_is_used_for_colliding_basenames() -> None:
    lines = [line for p in PROJECTS for line in p.config_lines]
    assert "[tool.phase7.targets]" in lines


def test_interrogate_total_row_is_parsed() -> None:
    output = (
        "| Name             |        Total |        Miss |        Cover |        Cover% |\n"
        "|------------------|--------------|-------------|--------------|---------------|\n"
        "| core.py          |          166 |          70 |           96 |           58% |\n"
        "| TOTAL            |          202 |          89 |          113 |         55.9% |\n"
    )
    assert parse_interrogate_total(output) == (113, 202)
    with pytest.raises(AcceptanceError, match="no TOTAL row"):
        parse_interrogate_total("RESULT: PASSED")


def test_junit_names_match_pytest_junitxml(tmp_path: Path) -> None:
    assert junit_name("tests/test_converters.py::TestPipe::test_wrapped_annotation") == (
        "tests.test_converters.TestPipe",
        "test_wrapped_annotation",
    )
    assert junit_name("test_six.py::test_x[a-b]") == ("test_six", "test_x[a-b]")
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="a.B" name="ok"/>'
        '<testcase classname="a.B" name="bad"><failure message="x"/></testcase>'
        '<testcase classname="" name="a"><error message="collection"/></testcase>'
        '<testcase classname="a.B" name="skipped"><skipped/></testcase>'
        "</testsuite></testsuites>"
    )
    assert junit_failures(report) == [("a.B", "bad"), ("", "a")]


def _figures(**coverage: CoverageFile) -> ToolFigures:
    return ToolFigures(
        coverage={k.replace("__", "/") + ".py": v for k, v in coverage.items()},
        coverage_precision=0,
        branch=True,
        ruff={"pkg/a.py": 2},
        mypy={"pkg/b.py": 1},
        interrogate={"pkg/": (3, 4)},
    )


def _report(ref: str, coverage: dict[str, object], ruff: float, mypy: float) -> dict[str, object]:
    return {
        "items": [
            {
                "number": 1,
                "target": {"state": "resolved", "ref": ref},
                "results": [
                    {
                        "gate": "coverage",
                        "metric": coverage.pop("metric"),
                        "display": coverage.pop("display"),
                        "extra": coverage,
                    },
                    {"gate": "ruff", "metric": ruff},
                    {"gate": "mypy", "metric": mypy},
                    {"gate": "docstrings", "metric": 75.0, "extra": {"covered": 3.0, "total": 4.0}},
                ],
            }
        ]
    }


def test_a_package_target_sums_its_files_and_every_figure_is_compared(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    for name in ("a.py", "b.py"):
        (tmp_path / "pkg" / name).write_text("x = 1\n")
    figures = _figures(
        pkg__a=CoverageFile(10, 5, 4, 2, 2, "50"), pkg__b=CoverageFile(10, 0, 0, 0, 0, "100")
    )
    assert target_files(tmp_path, "pkg/") == ["pkg/a.py", "pkg/b.py"]
    expected = expected_coverage(figures, tmp_path, "pkg/")
    assert expected is not None
    # (15 lines + 2 branches) / (20 + 4), the way coverage.py's Numbers computes it.
    assert expected["metric"] == pytest.approx(100 * 17 / 24)
    assert expected["display"] == "71%"
    agreeing = {**expected}
    rows = compare(_report("pkg/", agreeing, 2.0, 1.0), figures, tmp_path)
    assert rows
    assert all(row.equal for row in rows), rows
    assert {row.gate for row in rows} == {"coverage", "ruff", "mypy", "docstrings"}
    wrong = {**expected, "missing": 6.0}
    rows = compare(_report("pkg/", wrong, 3.0, 1.0), figures, tmp_path)
    assert {(r.gate, r.figure) for r in rows if not r.equal} == {
        ("coverage", "missing"),
        ("ruff", "count"),
    }


def test_a_target_missing_from_coverage_json_is_a_difference(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("")
    figures = _figures()
    report = _report("pkg/", {"metric": 0.0, "display": "0%"}, 0.0, 0.0)
    differing = [r for r in compare(report, figures, tmp_path) if not r.equal]
    assert Row("pkg/", "coverage", "present in coverage json", True, False) in differing


def _sdist(tmp_path: Path, files: dict[str, str]) -> Path:
    path = tmp_path / "demo-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _project(tmp_path: Path, lines: tuple[str, ...]) -> Project:
    plan = tmp_path / "plan.md"
    plan.write_text("# plan\n")
    return Project(
        name="demo",
        version="1.0",
        sdist="demo-1.0.tar.gz",
        sha256="0" * 64,
        exercises=("x",),
        import_paths=(),
        requirements=(),
        plan=plan,
        plan_as="PHASE7_EXECUTION_PLAN.md",
        config_file="pyproject.toml",
        config_lines=lines,
        targets={1: "demo.py"},
        may_fail={},
        cases=(),
    )


def test_a_checkout_is_the_sdist_plus_the_plan_and_the_config_lines(tmp_path: Path) -> None:
    sdist = _sdist(
        tmp_path, {"demo-1.0/pyproject.toml": "[project]\nname = 'demo'", "demo-1.0/demo.py": ""}
    )
    lines = ("[tool.phase7.targets]", '1 = "demo.py"')
    root = make_checkout(_project(tmp_path, lines), sdist, tmp_path / "out")
    assert root == tmp_path / "out" / "demo-1.0"
    assert (root / "PHASE7_EXECUTION_PLAN.md").read_text() == "# plan\n"
    assert (root / "pyproject.toml").read_text() == (
        "[project]\nname = 'demo'\n\n[tool.phase7.targets]\n1 = \"demo.py\"\n"
    )
    before = file_digests(root)
    for generated in (".pytest_cache/v/x", "pkg/__pycache__/a.pyc", ".coverage", "htmlcov/i.html"):
        (root / generated).parent.mkdir(parents=True, exist_ok=True)
        (root / generated).write_text("")
    assert file_digests(root) == before
    (root / "demo.py").write_text("changed = 1\n")
    assert file_digests(root) != before


@pytest.mark.parametrize("name", ["../evil.py", "/abs.py"])
def test_an_sdist_member_outside_its_folder_is_refused(tmp_path: Path, name: str) -> None:
    sdist = _sdist(tmp_path, {name: ""})
    with pytest.raises(AcceptanceError):
        make_checkout(_project(tmp_path, ()), sdist, tmp_path / "out")


def test_the_venv_key_changes_with_the_requirements() -> None:
    assert venv_key(["a==1"]) == venv_key(["a==1"])
    assert venv_key(["a==1"]) != venv_key(["a==2"])
    assert len(venv_key([])) == 16


def test_every_harness_plugin_is_a_module_of_the_harness_put_last_on_the_path(
    tmp_path: Path,
) -> None:
    with_plugins = [p for p in PROJECTS if p.harness_plugins]
    assert with_plugins  # attrs' Hypothesis deadline
    for project in with_plugins:
        for name in project.harness_plugins:
            assert (HARNESS_DIR / f"{name}.py").is_file(), name
        path = run_env(tmp_path, project, tmp_path)["PYTHONPATH"].split(os.pathsep)
        assert path[-1] == str(HARNESS_DIR)
        assert path[:-1] == [str(tmp_path / p) for p in project.import_paths]
    without = next(p for p in PROJECTS if not p.harness_plugins and not p.import_paths)
    assert "PYTHONPATH" not in run_env(tmp_path, without, tmp_path)


HYPOTHESIS_CONFTEST = """
from hypothesis import settings

def pytest_configure(config):
    settings.register_profile("strict", max_examples=2, deadline=1)
    settings.load_profile("strict")
"""

HYPOTHESIS_TESTS = """
import time
from hypothesis import given, settings, strategies as st

@given(st.none())
def test_default_settings(n):
    time.sleep(0.02)

@settings(max_examples=2)
@given(st.none())
def test_own_settings(n):
    time.sleep(0.02)

def test_profile_kept():
    assert settings().max_examples == 2
    assert settings().deadline is None
"""


@pytest.mark.parametrize("loaded", [True, False], ids=["with-plugin", "without"])
def test_the_no_deadline_plugin_lifts_the_conftest_deadline_and_keeps_the_rest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, loaded: bool
) -> None:
    pytester.makeconftest(HYPOTHESIS_CONFTEST)
    pytester.makepyfile(test_timing=HYPOTHESIS_TESTS)
    monkeypatch.setenv("PYTHONPATH", str(HARNESS_DIR))
    plugin = ["-p", "phase7_acceptance_no_deadline"] if loaded else []
    result = pytester.runpytest_subprocess(*plugin, "-p", "no:cacheprovider")
    if loaded:
        result.assert_outcomes(passed=3)
    else:
        # The 1 ms deadline the conftest set fails both sleeping tests, and the profile check.
        result.assert_outcomes(failed=3)
        result.stdout.fnmatch_lines(["*DeadlineExceeded*"])
