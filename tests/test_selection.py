"""Whether a session ran the project's whole suite: the rule on plain data, then pytest itself.

The in-process runs use a tool-free conftest gate and ``--no-cov``: the suite the JSON report
names (and whether the run was all of it) does not depend on coverage. Runs that check what
coverage does with a partial run are subprocesses, as in test_plugin_e2e.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pytest_phase7.errors import ConfigError
from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.model import BatchKind, PlanStatus, WorkItem
from pytest_phase7.report.json import schema
from pytest_phase7.resolve.selection import (
    BY_DESELECT,
    BY_KEYWORD,
    BY_LAST_FAILED,
    BY_MARK,
    BY_PROJECT,
    BY_STEPWISE,
    INTERRUPTED,
    ORIGIN_ROOTDIR,
    STOPPED,
    Choices,
    Facts,
    Invocation,
    Suite,
    classify,
    compare_paths,
    describe,
    expand_paths,
    fails_closed,
    judge,
    listing,
)
from pytest_phase7.resolve.targets import Resolution, ResolutionState, Target, TargetKind
from pytest_phase7.settings import resolve
from pytest_phase7.status.rules import derive_outcome

# --- the rule, on plain data ---------------------------------------------------------------


def invocation(
    ini: Choices | None = None, env: Choices | None = None, cli: Choices | None = None
) -> Invocation:
    """What pytest ends up with when these three sources are read in its order."""
    sources = [s for s in (ini, env, cli) if s is not None]

    def last(name: str) -> str:
        return next((getattr(s, name) for s in reversed(sources) if getattr(s, name)), "")

    def added(name: str) -> tuple[str, ...]:
        return tuple(v for s in sources for v in getattr(s, name))

    final = Choices(
        keyword=last("keyword"),
        markexpr=last("markexpr"),
        deselect=added("deselect"),
        ignore=added("ignore"),
        ignore_glob=added("ignore_glob"),
        override_ini=added("override_ini"),
        phase7=any(s.phase7 for s in sources),
    )
    return Invocation(final, ini or Choices(), env or Choices(), cli or Choices())


@pytest.mark.parametrize(
    ("ini", "env", "cli", "expected"),
    [
        # The project's own addopts are its suite.
        (Choices(markexpr="not stress"), None, None, ""),
        (Choices(keyword="not slow", deselect=("t.py::a",), ignore=("t/x",)), None, None, ""),
        (Choices(ignore_glob=("*_big.py",)), None, None, ""),
        # Saying the same again is still the suite; -o for other keys changes no selection.
        (Choices(markexpr="not stress"), None, Choices(markexpr="not stress"), ""),
        (Choices(deselect=("t.py::a",)), None, Choices(deselect=("t.py::a",)), ""),
        (None, None, Choices(override_ini=("xfail_strict=true",)), ""),
        # What this invocation adds narrows it.
        (None, None, Choices(markexpr="fast"), "tests were selected with -m 'fast'"),
        (
            Choices(markexpr="not stress"),
            None,
            Choices(markexpr="stress"),
            "-m 'stress' replaces the project's -m 'not stress'",
        ),
        (
            None,
            Choices(keyword="one"),
            None,
            "tests were selected with -k 'one' (in PYTEST_ADDOPTS)",
        ),
        (
            Choices(deselect=("t.py::a",)),
            None,
            Choices(deselect=("t.py::b", "t.py::c")),
            "tests were deselected with --deselect t.py::b and 1 more",
        ),
        (None, None, Choices(ignore=("tests/b",)), "tests were ignored with --ignore tests/b"),
        (
            None,
            Choices(ignore_glob=("*b.py",)),
            None,
            "tests were ignored with --ignore-glob *b.py (in PYTEST_ADDOPTS)",
        ),
        (
            None,
            None,
            Choices(override_ini=("testpaths=tests/unit",)),
            "-o testpaths=tests/unit replaces the project's testpaths",
        ),
        (
            Choices(markexpr="not stress"),
            Choices(override_ini=("addopts=",)),
            None,
            "-o addopts= (in PYTEST_ADDOPTS) replaces the project's addopts",
        ),
        (
            None,
            None,
            Choices(override_ini=(" norecursedirs = x",)),
            "-o  norecursedirs = x replaces the project's norecursedirs",
        ),
    ],
)
def test_what_the_invocation_adds(
    ini: Choices | None, env: Choices | None, cli: Choices | None, expected: str
):
    assert invocation(ini, env, cli).narrowing() == expected


def test_explicit_means_this_invocation_asked_for_phase7():
    assert not invocation(Choices(phase7=True)).explicit  # addopts in the project's config
    assert invocation(None, Choices(phase7=True)).explicit
    assert invocation(None, None, Choices(phase7=True)).explicit
    assert invocation(None, None, Choices(override_ini=("phase7=true",))).explicit
    assert not invocation(None, None, Choices(override_ini=("phase7_gates=ruff",))).explicit


@pytest.mark.parametrize(
    ("environ", "explicit", "closed"),
    [
        ({}, False, False),
        ({"CI": ""}, False, False),  # pytest ignores an empty CI too
        ({"CI": "true"}, False, True),
        ({"BUILD_NUMBER": "7"}, False, True),
        ({}, True, True),
    ],
)
def test_fails_closed_under_ci_or_when_asked(environ: dict[str, str], explicit: bool, closed: bool):
    asked = invocation(None, None, Choices(phase7=explicit))
    assert fails_closed(asked, environ) is closed


def never(*_: object) -> str:
    raise AssertionError("the paths are compared only when nothing else decided")


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (Facts(stopped=STOPPED, collected=3), STOPPED),
        (Facts(last_failed=True, collected=3), "--lf ran only the last failures"),
        (Facts(collected=3, deselected={BY_LAST_FAILED: 2}), "--lf ran only the last failures"),
        (
            Facts(collected=3, deselected={BY_STEPWISE: 1}),
            "--stepwise skipped 1 test that passed before",
        ),
        (
            Facts(collected=3, deselected={"plugin pytest_split": 1200}),
            "the plugin pytest_split deselected 1,200 tests",
        ),
    ],
)
def test_what_the_session_did_decides_before_the_paths(facts: Facts, expected: str):
    assert judge(invocation(), facts, never) == (expected, 0)


def test_the_suites_own_deselections_are_counted_not_held_against_it():
    facts = Facts(
        collected=5, deselected={BY_MARK: 31000, BY_KEYWORD: 2, BY_DESELECT: 1, BY_PROJECT: 4}
    )
    assert judge(invocation(Choices(markexpr="not stress")), facts, lambda: "") == ("", 31007)
    assert judge(invocation(), facts, lambda: "paths differ") == ("paths differ", 0)
    assert judge(invocation(), Facts(collected=0), lambda: "") == ("no tests ran", 0)


class FakeCollector:
    """pytest's default rules in miniature: test_*.py files, no folders named 'skip*'."""

    def ignored(self, path: Path) -> bool:
        return path.name.startswith("skip")

    def collects(self, path: Path) -> bool:
        return path.name.startswith("test_") and path.suffix == ".py"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel in (
        "tests/test_a.py",
        "tests/unit/test_b.py",
        "tests/unit/helper.py",
        "src/pkg/mod.py",
        "skipped/test_old.py",
        "docs/conf.py",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    return tmp_path


@pytest.mark.parametrize(
    ("args", "roots", "expected"),
    [
        # Everything a bare run collects lives under tests/ (skipped/ is ignored).
        (["tests"], ["."], ""),
        (["tests/test_a.py", "tests/unit"], ["tests"], ""),
        (["."], ["tests"], ""),
        (["tests"], ["tests"], ""),
        (
            ["tests/unit"],
            ["."],
            "only tests/unit of the suite was selected; tests/test_a.py is left out",
        ),
        (
            ["tests/test_a.py", "tests/unit/helper.py"],
            ["tests"],
            "only tests/test_a.py, tests/unit/helper.py of the suite were selected; "
            "tests/unit/test_b.py is left out",
        ),
        (
            ["tests"],
            ["tests/test_a.py"],
            "the run also collects tests/unit/test_b.py, which is not in the suite",
        ),
        # A path given to pytest is collected whatever its name.
        (
            ["tests", "docs/conf.py"],
            ["tests"],
            "the run also collects docs/conf.py, which is not in the suite",
        ),
        (
            ["tests/test_a.py::test_x"],
            ["tests"],
            "only the tests 'tests/test_a.py::test_x' were selected",
        ),
    ],
)
def test_paths_are_compared_by_what_they_collect(
    tree: Path, args: list[str], roots: list[str], expected: str
):
    found = compare_paths(args, tree, [(tree / r).resolve() for r in roots], FakeCollector(), tree)
    assert found == expected


def test_a_symlink_loop_ends(tree: Path):
    (tree / "tests" / "unit" / "loop").symlink_to(tree / "tests", target_is_directory=True)
    assert compare_paths(["tests"], tree, [tree.resolve()], FakeCollector(), tree) == ""


def test_declared_paths_expand_and_stay_inside_the_rootdir(tree: Path):
    assert expand_paths(["tests/unit", "tests/test_*.py"], tree, tree, confined=True) == [
        (tree / "tests" / "unit").resolve(),
        (tree / "tests" / "test_a.py").resolve(),
    ]
    with pytest.raises(ValueError, match=r"'tests/nope.py' does not exist \(relative to "):
        expand_paths(["tests/nope.py"], tree, tree, confined=True)
    with pytest.raises(ValueError, match=r"'tests/x\*\.py' does not exist"):
        expand_paths(["tests/x*.py"], tree, tree, confined=True)
    with pytest.raises(ValueError, match=r"'\.\./tests' is outside the rootdir"):
        expand_paths(["../tests"], tree / "src", tree / "src", confined=True)
    # From the command line, the user's own say-so: anywhere.
    assert expand_paths(["../tests"], tree / "src", tree / "src", confined=False) == [
        (tree / "tests").resolve()
    ]


@pytest.mark.parametrize(
    ("module", "function", "filename", "expected"),
    [
        ("_pytest.mark", "deselect_by_keyword", "/x/_pytest/mark/__init__.py", BY_KEYWORD),
        ("_pytest.mark", "deselect_by_mark", "/x/_pytest/mark/__init__.py", BY_MARK),
        ("_pytest.main", "pytest_collection_modifyitems", "/x/_pytest/main.py", BY_DESELECT),
        ("_pytest.cacheprovider", "pytest_collection_modifyitems", "/x/c.py", BY_LAST_FAILED),
        ("_pytest.stepwise", "pytest_collection_modifyitems", "/x/s.py", BY_STEPWISE),
        ("conftest", "pytest_collection_modifyitems", "/repo/tests/conftest.py", BY_PROJECT),
        ("tools.plug", "pytest_collection_modifyitems", "/repo/tools/plug.py", BY_PROJECT),
        ("testmon.plugin", "f", "/venv/lib/site-packages/testmon/plugin.py", "plugin testmon"),
        # Installed into a virtualenv inside the repository: still an installed plugin.
        ("pytest_split.plugin", "f", "/repo/.venv/lib/site-packages/x.py", "plugin pytest_split"),
        ("_pytest.other", "f", "/repo/_pytest/other.py", "plugin _pytest"),
    ],
)
def test_deselections_are_told_apart_by_who_made_them(
    module: str, function: str, filename: str, expected: str
):
    assert classify(module, function, filename, Path("/repo")) == expected


def test_reports_say_which_suite_or_why_none():
    suite = Suite(("tests",), "testpaths", deselected=31000)
    assert describe(suite) == (
        "coverage from the whole suite: tests (testpaths); 31,000 tests deselected by the "
        "project's own configuration"
    )
    assert describe(Suite((".",), ORIGIN_ROOTDIR)) == (
        "coverage from the whole suite: every test under the rootdir (no testpaths)"
    )
    partial = Suite(("a.py", "b.py", "c.py", "d.py"), "--phase7-suite", "-k 'x'")
    assert describe(partial) == (
        "coverage not measured: the run was partial; the suite is a.py, b.py and 2 more "
        "(--phase7-suite)"
    )
    ungated = Suite(("tests",), "testpaths", "-k 'x'", gated=False)
    assert describe(ungated) == (
        "coverage not gated (the run was partial: -k 'x'); the suite is tests (testpaths)"
    )
    assert listing(["a", "b", "c"]) == "a, b, c"


def test_suite_setting_takes_a_list_or_comma_separated_text():
    def suite(**sources: object) -> object:
        return resolve(
            {"suite": sources.get("cli")}, {"suite": sources.get("ini")}, sources.get("table", {})
        ).suite  # type: ignore[arg-type]

    assert suite() is None
    assert suite(cli="tests/a.py, tests/b.py") == ("tests/a.py", "tests/b.py")
    assert suite(ini="tests/a.py,\n  tests/unit") == ("tests/a.py", "tests/unit")
    assert suite(table={"suite": ["tests/unit"]}) == ("tests/unit",)
    with pytest.raises(ConfigError, match="--phase7-suite: expected at least one test path"):
        suite(cli=" , ")


def test_an_item_no_gate_checked_keeps_its_status():
    target = Target(TargetKind.FILE, "m.py", ("m.py",))
    item = WorkItem(number=1, batch=1, file="m.py", status=PlanStatus.DONE)
    skipped = [GateResult("coverage", GateStatus.SKIP, reason="not gated: -k 'x'")]
    outcome = derive_outcome(
        Resolution(item, ResolutionState.RESOLVED, target=target), skipped, BatchKind.TESTS
    )
    assert (outcome.status, outcome.regression, outcome.error) == (PlanStatus.DONE, False, False)


# --- pytest itself -------------------------------------------------------------------------

PLAN = """# Plan

### Batch 1: Unit Tests (Critical)
**Items:** 1-1

| # | Module | File | Status |
|---|--------|------|--------|
| 1 | Core | small.py | QUEUED |
"""

#: A tool-free gate, and a test recording each gate run (to see that --collect-only runs none).
CONFTEST = """
from pytest_phase7.gates.base import GateResult, GateRun, GateStatus


class NullGate:
    name = "null"
    title = "Null"
    needs_session = False

    def run(self, request):
        (request.rootdir / "gate-ran").write_text("yes")
        passed = GateResult("null", GateStatus.PASS, metric=0)
        return GateRun("null", {t.ref: passed for t in request.targets})


def pytest_phase7_add_gates(config):
    return [NullGate()]
"""

TEST_A = "def test_one():\n    pass\n\n\ndef test_two():\n    pass\n"
TEST_B = (
    "import pytest\n\n\ndef test_three():\n    pass\n\n\n"
    "@pytest.mark.stress\ndef test_heavy():\n    pass\n"
)


def make(pytester: pytest.Pytester, ini: str = "", table: str = "") -> Path:
    pytester.makefile(
        ".toml",
        pyproject=f'[tool.pytest.ini_options]\nmarkers = ["stress: long"]\n{ini}\n'
        f'[tool.phase7]\nmanifest = "PLAN.md"\n{table}\n',
    )
    pytester.makefile(".md", PLAN=PLAN)
    (pytester.path / "core").mkdir()
    (pytester.path / "core" / "small.py").write_text("x = 1\n")
    pytester.makeconftest(CONFTEST)
    tests = pytester.path / "tests"
    tests.mkdir()
    (tests / "test_a.py").write_text(TEST_A)
    (tests / "test_b.py").write_text(TEST_B)
    return tests


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, object]]:
    """Run in-process with --phase7; the JSON report's ``suite``."""
    report = pytester.path / "report.json"
    report.unlink(missing_ok=True)
    result = pytester.runpytest_inprocess(
        "--no-cov",
        "-p",
        "no:randomly",
        "--phase7",
        "--phase7-gates=null",
        f"--phase7-json={report}",
        *args,
    )
    document = json.loads(report.read_text(encoding="utf-8"))
    jsonschema.validate(document, schema())
    suite: dict[str, object] = document["suite"]
    return result, suite


@pytest.mark.parametrize(
    ("ini", "args", "deselected"),
    [
        # The project's addopts deselect, ignore and pick by keyword: that is its suite.
        ("addopts = \"-m 'not stress'\"", [], 1),
        ("addopts = \"-m 'not stress'\"", ["-m", "not stress"], 1),
        ("addopts = \"-k 'not two' --deselect tests/test_b.py::test_heavy\"", [], 2),
        ('addopts = "--ignore=tests/test_b.py"', [], 0),
        ('addopts = "--ignore-glob=*_b.py"', ["tests"], 0),
        # No testpaths, every test under tests/: `pytest tests` is a bare run written out.
        ("", ["tests"], 0),
        ("", ["tests/test_a.py", "tests/test_b.py"], 0),
        ('testpaths = ["tests"]', ["tests"], 0),
        ('testpaths = ["tests/test_*.py"]', ["tests"], 0),
        # --ff and --nf only reorder; --sw with nothing recorded runs everything.
        ("", ["--ff"], 0),
        ("", ["--nf"], 0),
        ("", ["--sw"], 0),
        # -o for a key that selects nothing.
        ("", ["-o", "xfail_strict=true"], 0),
    ],
)
def test_the_projects_own_suite_is_complete(
    pytester: pytest.Pytester, ini: str, args: list[str], deselected: int
):
    make(pytester, ini)
    result, suite = run(pytester, *args)
    assert result.ret == 0
    assert suite["partial"] == ""
    assert suite["complete"] is True
    assert suite["deselected"] == deselected


def test_folders_the_project_leaves_out_are_not_missing(pytester: pytest.Pytester):
    tests = make(pytester, 'norecursedirs = ["fixtures"]')
    for folder in ("scripts", "fixtures"):
        (pytester.path / folder).mkdir()
        (pytester.path / folder / "test_other.py").write_text("def test_x():\n    pass\n")
    (pytester.path / "conftest.py").write_text(CONFTEST + '\ncollect_ignore = ["scripts"]\n')
    _, suite = run(pytester, "tests")
    assert suite["partial"] == ""
    # Without the conftest's collect_ignore, scripts/ is part of a bare run.
    (pytester.path / "conftest.py").write_text(CONFTEST)
    _, suite = run(pytester, str(tests))
    assert suite["partial"] == (
        "only tests of the suite was selected; scripts/test_other.py is left out"
    )


def test_a_conftest_deselecting_tests_is_the_projects_suite(pytester: pytest.Pytester):
    make(pytester)
    (pytester.path / "conftest.py").write_text(
        CONFTEST + "\n\ndef pytest_collection_modifyitems(config, items):\n"
        "    gone = [i for i in items if 'heavy' in i.name]\n"
        "    items[:] = [i for i in items if i not in gone]\n"
        "    config.hook.pytest_deselected(items=gone)\n"
    )
    result, suite = run(pytester)
    result.assert_outcomes(passed=3, deselected=1)
    assert (suite["partial"], suite["deselected"]) == ("", 1)


@pytest.mark.parametrize(
    ("ini", "args", "env", "partial"),
    [
        ("", ["-k", "one"], "", "tests were selected with -k 'one'"),
        (
            "addopts = \"-m 'not stress'\"",
            ["-m", "stress"],
            "",
            "-m 'stress' replaces the project's -m 'not stress'",
        ),
        ("", ["--ignore=tests/test_b.py"], "", "tests were ignored with --ignore tests/test_b.py"),
        ("", ["--ignore-glob=*_b.py"], "", "tests were ignored with --ignore-glob *_b.py"),
        (
            'addopts = "--deselect tests/test_b.py::test_heavy"',
            ["--deselect", "tests/test_a.py::test_one"],
            "",
            "tests were deselected with --deselect tests/test_a.py::test_one",
        ),
        (
            "",
            [],
            "--deselect tests/test_a.py::test_one",
            "tests were deselected with --deselect tests/test_a.py::test_one (in PYTEST_ADDOPTS)",
        ),
        (
            "",
            ["-o", "testpaths=tests/test_a.py"],
            "",
            "-o testpaths=tests/test_a.py replaces the project's testpaths",
        ),
        (
            "addopts = \"-m 'not stress'\"",
            ["-o", "addopts="],
            "",
            "-o addopts= replaces the project's addopts",
        ),
        (
            "",
            ["tests/test_a.py::test_one"],
            "",
            "only the tests 'tests/test_a.py::test_one' were selected",
        ),
        (
            "",
            ["tests/test_a.py"],
            "",
            "only tests/test_a.py of the suite was selected; tests/test_b.py is left out",
        ),
        (
            'testpaths = ["tests/test_a.py"]',
            ["tests"],
            "",
            "the run also collects tests/test_b.py, which is not in the suite",
        ),
    ],
)
def test_narrowings_are_caught(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    ini: str,
    args: list[str],
    env: str,
    partial: str,
):
    make(pytester, ini)
    if env:
        monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest " + env)
    _, suite = run(pytester, *args)
    assert suite["partial"] == partial
    assert suite["complete"] is False


def test_a_plugin_deselecting_tests_narrows_the_suite(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
):
    make(pytester)
    site = tmp_path_factory.mktemp("site")
    (site / "pick_some.py").write_text(
        "def pytest_collection_modifyitems(config, items):\n"
        "    gone = [i for i in items if 'three' in i.name]\n"
        "    items[:] = [i for i in items if i not in gone]\n"
        "    config.hook.pytest_deselected(items=gone)\n"
    )
    monkeypatch.syspath_prepend(str(site))
    _, suite = run(pytester, "-p", "pick_some")
    assert suite["partial"] == "the plugin pick_some deselected 1 test"


def test_last_failed_and_stepwise_with_a_recorded_failure_narrow_it(pytester: pytest.Pytester):
    tests = make(pytester)
    (tests / "test_a.py").write_text(TEST_A.replace("pass", "assert False", 1))
    pytester.runpytest_inprocess("--no-cov", "-p", "no:randomly", "--sw")
    _, suite = run(pytester, "--lf")
    assert suite["partial"] == "--lf ran only the last failures"
    (tests / "test_a.py").write_text(TEST_A)
    _, suite = run(pytester, "--sw")
    # test_one failed last time: the tests before it are skipped (there are none), none after.
    assert suite["partial"] == ""
    (tests / "test_a.py").write_text(
        TEST_A.replace("def test_two():\n    pass", "def test_two():\n    assert False")
    )
    pytester.runpytest_inprocess("--no-cov", "-p", "no:randomly", "--sw")
    (tests / "test_a.py").write_text(TEST_A)
    _, suite = run(pytester, "--sw")
    assert suite["partial"] == "--stepwise skipped 1 test that passed before"


def test_run_from_the_folder_holding_the_suite_is_complete(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    tests = make(pytester, 'testpaths = ["tests"]')
    monkeypatch.chdir(tests)
    _, suite = run(pytester)
    assert (suite["partial"], suite["paths"], suite["origin"]) == ("", ["tests"], "testpaths")


@pytest.mark.parametrize(
    ("ini", "table", "args", "origin"),
    [
        ("", "", ["--phase7-suite=tests/test_a.py"], "--phase7-suite"),
        ('phase7_suite = "tests/test_a.py"', "", [], "phase7_suite"),
        ("", 'suite = ["tests/test_a.py"]', [], "[tool.phase7] suite"),
        ("", 'suite = ["tests/test_a*.py"]', [], "[tool.phase7] suite"),
        # The same run written out.
        ("", 'suite = ["tests/test_a.py"]', ["tests/test_a.py"], "[tool.phase7] suite"),
        # After an option with an optional value, which must not take the suite's paths.
        pytest.param(
            "",
            'suite = ["tests/test_a.py"]',
            ["--cov"],
            "[tool.phase7] suite",
            marks=pytest.mark.filterwarnings("ignore::pytest_cov.CovDisabledWarning"),
        ),
    ],
)
def test_a_declared_suite_is_collected_and_complete(
    pytester: pytest.Pytester, ini: str, table: str, args: list[str], origin: str
):
    make(pytester, ini, table)
    result, suite = run(pytester, *args)
    result.assert_outcomes(passed=2)
    assert suite == {
        "paths": ["tests/test_a.py"],
        "origin": origin,
        "complete": True,
        "partial": "",
        "gated": True,
        "deselected": 0,
    }


def test_a_declared_suite_narrowed_further_is_partial(pytester: pytest.Pytester):
    make(pytester, table='suite = ["tests/test_a.py"]')
    _, suite = run(pytester, "-k", "one")
    assert suite["partial"] == "tests were selected with -k 'one'"
    _, suite = run(pytester, "tests")
    assert suite["partial"] == "the run also collects tests/test_b.py, which is not in the suite"


def test_a_declared_suite_from_a_subdirectory_is_the_rootdirs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    tests = make(pytester, table='suite = ["tests/test_a.py"]')
    monkeypatch.chdir(tests)
    result, suite = run(pytester)
    result.assert_outcomes(passed=2)
    assert suite["partial"] == ""


@pytest.mark.parametrize(
    ("ini", "table", "args", "message"),
    [
        (
            "",
            'suite = ["tests/nope.py"]',
            [],
            r"pyproject.toml:6: \[tool.phase7\] suite: 'tests/nope.py' does not exist",
        ),
        (
            "",
            'suite = ["../outside"]',
            [],
            r"pyproject.toml:6: \[tool.phase7\] suite: '../outside' is outside the rootdir",
        ),
        (
            'phase7_suite = "tests/nope.py"',
            "",
            [],
            r"pyproject.toml:3: ini option phase7_suite: 'tests/nope.py' does not exist",
        ),
        ("", "", ["--phase7-suite=nope"], r"--phase7-suite: 'nope' does not exist"),
    ],
)
def test_a_declared_suite_that_is_not_there_is_a_usage_error(
    pytester: pytest.Pytester, ini: str, table: str, args: list[str], message: str
):
    make(pytester, ini, table)
    (pytester.path.parent / "outside").mkdir(exist_ok=True)
    result = pytester.runpytest_inprocess("--no-cov", "--phase7", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.re_match_lines([rf"ERROR: phase7: .*{message}"])
    assert "Traceback" not in result.stderr.str()


def test_collect_only_runs_no_gate_and_keeps_the_exit_status(pytester: pytest.Pytester):
    make(pytester)
    # Run, the coverage gate would be ERROR (--no-cov) and block the merge.
    result = pytester.runpytest_inprocess(
        "--no-cov", "--phase7", "--phase7-gates=null,coverage", "--collect-only"
    )
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["phase7: no gates run with --collect-only (it runs no tests)"])
    assert "Phase 7 status" not in result.stdout.str()
    assert not (pytester.path / "gate-ran").exists()
    ran = pytester.runpytest_inprocess("--no-cov", "--phase7", "--phase7-gates=null,coverage")
    assert ran.ret == 1
    assert (pytester.path / "gate-ran").exists()  # the gate does record itself


# --- what coverage does with it (subprocesses: coverage measures them) ---------------------


def covered(pytester: pytest.Pytester, ini: str = "", table: str = "") -> None:
    tests = make(pytester, ini, table)
    (tests / "test_a.py").write_text("from core.small import x\n\n\n" + TEST_A)


def phase7_lines(result: pytest.RunResult) -> list[str]:
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "Phase 7 status" in line)
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("phase7: "))
    return lines[start + 1 : end + 1]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ini", "table"), [("phase7 = true", ""), ("", "enabled = true")], ids=["ini", "table"]
)
def test_enabled_by_config_a_partial_run_on_a_laptop_is_not_a_blocked_merge(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ini: str, table: str
):
    for name in ("CI", "BUILD_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    covered(pytester, ini, table)
    result = pytester.runpytest_subprocess("tests/test_a.py", "--phase7-gates=coverage,null")
    assert result.ret == 0
    lines = phase7_lines(result)
    # The other gates still report; coverage shows no figure.
    assert lines[2].split() == ["1", "Core", "small.py", "core/", "-", "0", "DONE"]
    assert lines[-2:] == [
        "coverage not gated (the run was partial: only tests/test_a.py of the suite was "
        "selected; tests/test_b.py is left out); the suite is every test under the rootdir "
        "(no testpaths)",
        "phase7: OK (fail-on=regression): 1 DONE",
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "args"), [({"CI": "true"}, []), ({"BUILD_NUMBER": "12"}, []), ({}, ["--phase7"])]
)
def test_under_ci_or_with_phase7_given_a_partial_run_fails_closed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], args: list[str]
):
    for name in ("CI", "BUILD_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    covered(pytester, "phase7 = true")
    result = pytester.runpytest_subprocess("tests/test_a.py", "--phase7-gates=coverage", *args)
    assert result.ret == 1
    lines = phase7_lines(result)
    assert lines[2].split()[-2:] == ["ERROR", "FAILED"]
    assert lines[3] == (
        "  #1: coverage: only tests/test_a.py of the suite was selected; "
        "tests/test_b.py is left out"
    )
    assert lines[4].startswith(
        "ERROR coverage: only tests/test_a.py of the suite was selected; tests/test_b.py is left "
        "out (hint: "
    )
    assert lines[-1] == (
        "phase7: merge BLOCKED (fail-on=regression): "
        "1 item could not be checked (coverage ERROR) (#1)"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "why", "origin"),
    [
        (
            ["--ignore=tests/test_b.py"],
            "tests were ignored with --ignore tests/test_b.py",
            "the rootdir",
        ),
        (
            ["-o", "testpaths=tests/test_a.py"],
            "-o testpaths=tests/test_a.py replaces the project's testpaths",
            "testpaths as replaced with -o",
        ),
    ],
)
def test_a_partial_run_gives_no_coverage_figure_and_leaves_the_plan_alone(
    pytester: pytest.Pytester, args: list[str], why: str, origin: str
):
    covered(pytester)
    plan = pytester.path / "PLAN.md"
    before = plan.read_bytes()
    common = ("--phase7", "--phase7-gates=coverage", "--phase7-update-manifest")
    result = pytester.runpytest_subprocess(*common, "--phase7-json=r.json", *args)
    result.stdout.fnmatch_lines([f"phase7: plan not updated: the run was partial ({why})*"])
    assert plan.read_bytes() == before
    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    (coverage,) = document["items"][0]["results"]
    assert (coverage["status"], coverage["metric"], coverage["display"]) == ("ERROR", None, "")
    assert (document["suite"]["partial"], document["suite"]["origin"]) == (why, origin)
    # The same run without the narrowing is whole: its figure and the write-back happen.
    whole = pytester.runpytest_subprocess(*common)
    assert "phase7: PLAN.md: 1 status updated (1 \u2705 DONE)" in whole.outlines


@pytest.mark.slow
def test_every_report_names_the_suite_the_coverage_came_from(pytester: pytest.Pytester):
    covered(pytester, "addopts = \"-m 'not stress'\"")
    result = pytester.runpytest_subprocess(
        "--phase7", "--phase7-gates=coverage", "--phase7-md=r.md", "--phase7-json=r.json", "tests"
    )
    result.assert_outcomes(passed=3, deselected=1)
    line = (
        "coverage from the whole suite: every test under the rootdir (no testpaths); 1 test "
        "deselected by the project's own configuration"
    )
    lines = phase7_lines(result)
    assert lines[2].split()[-2:] == ["100%", "DONE"]
    assert lines[-2] == line
    md = (pytester.path / "r.md").read_text(encoding="utf-8")
    assert f"\n{line[0].upper()}{line[1:]}.\n" in md
    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema())
    assert document["suite"] == {
        "paths": ["."],
        "origin": "the rootdir",
        "complete": True,
        "partial": "",
        "gated": True,
        "deselected": 1,
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("broken", "args", "why"),
    [
        ("import nowhere_to_be_found\n", [], INTERRUPTED),
        ("def test_fails():\n    assert False\n", ["-x"], STOPPED),
        (
            "def test_fails():\n    assert False\n",
            ["--sw"],
            "the session stopped early (Test failed, continuing from this test next run.)",
        ),
    ],
    ids=["collection-error", "maxfail", "stepwise"],
)
def test_a_session_that_ends_early_says_why(
    pytester: pytest.Pytester, broken: str, args: list[str], why: str
):
    tests = make(pytester)
    (tests / "test_0.py").write_text(broken)
    result = pytester.runpytest_subprocess("--phase7", "--phase7-gates=coverage", *args)
    assert result.ret != 0
    assert f"ERROR coverage: {why} (hint: " in result.stdout.str()
