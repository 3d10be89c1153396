"""Every coverage configuration, every run mode: the gate's figures are coverage.py's.

Each test builds a small project, runs its test suite once in a subprocess with ``--phase7`` (and
the JSON report), then asks coverage.py itself about the same data: ``coverage json`` with the
same configuration file, after ``coverage combine`` when the run left parallel data files (what a
user does after ``coverage run``). Every target's percent, displayed percent, statements, missing
lines, branches and missing branches must be equal. After a pytest-cov run no ``.coverage.*`` file
may be left behind (pytest-cov leaves none).

Run modes: serial (``pytest --phase7``, pytest-cov switched on by phase7 or by ``--cov``),
``-n 2`` (pytest-xdist) and ``coverage run -m pytest --phase7`` (serial). The projects group the
configurations so that one run checks several at once:

========== ============ ===================================================================
project    config file  what it exercises
========== ============ ===================================================================
subprocess pyproject    ``branch``, ``parallel``, ``source_pkgs``, ``patch = ["subprocess"]``
                        (tests that spawn Python), ``concurrency = ["thread",
                        "multiprocessing"]`` (tests that use both), ``exclude_also``,
                        ``partial_branches``
remapped   .coveragerc  ``relative_files``, ``[paths]`` remapping (the tests import a copy of
                        the package, as from site-packages), ``precision``, and
                        ``--cov-context=test`` in the pytest modes
include    setup.cfg    ``include``/``omit`` without ``source`` (a target that is omitted, one
                        never imported), ``--cov-append`` (``coverage run --append``) over an
                        older data file
contexts   tox.ini      ``source`` (a directory), ``dynamic_context = "test_function"``
rcfile     ci/cov.ini   ``--cov-config`` (``coverage run --rcfile``) naming a file that is not
                        one coverage.py reads by default; the default file says otherwise
quick      pyproject    ``patch = ["subprocess"]`` with every gate: the tools' processes (still
                        running when pytest-cov combines) must not be measured
========== ============ ===================================================================

Combinations that mean nothing, hence not run:

* ``dynamic_context = "test_function"`` with ``-n``: pytest-cov itself refuses it (its
  ``DistCovError``) before any test runs; ``--cov-context=test`` is its replacement there.
* ``coverage run --append`` with ``parallel = true``: coverage.py refuses it ("Can't append to
  data files in parallel mode").
* ``--cov-context`` under ``coverage run`` without pytest-cov: it is a pytest-cov option.

Refused by phase7 (an ERROR with a message, never a figure): ``coverage run -m pytest -n N``.
The tests then run in xdist workers, which that measurement does not reach (without
``patch = ["subprocess"]``) or whose data files are written after the session ends (with it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from gate_helpers import write

pytestmark = pytest.mark.slow

SERIAL = "serial"
XDIST = "xdist"
COVERAGE_RUN = "coverage-run"

#: Environment variables of an outer measurement that must not reach the inner runs.
OUTER_ENV = (
    "COVERAGE_PROCESS_START",
    "COVERAGE_PROCESS_CONFIG",
    "COVERAGE_RCFILE",
    "COVERAGE_FILE",
    "COVERAGE_RUN",
    "COV_CORE_SOURCE",
    "COV_CORE_CONFIG",
    "COV_CORE_DATAFILE",
    "GITHUB_STEP_SUMMARY",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
    "PYTEST_PHASE7_WORKER_COV",
)

# ---------------------------------------------------------------------------------------------
# Sources shared by the projects. Each has branches, a `with` block (coverage.py rewrites the
# arcs that leave it), a multi-line statement and something the tests leave unexecuted.

CORE = '''\
"""Core: branches, a with block, excluded and partial-branch lines."""
import os

DEBUG = False


def classify(n):
    with open(os.devnull) as handle:
        handle.read(0)
    if n > 10:
        return "big"
    if n > 0:  # pragma: maybe
        return "small"
    total = (n +
             1)
    return "none" if total else "zero"


def debug_only():
    if DEBUG:
        raise RuntimeError("debug")
    return 1


def never():
    return 2
'''

SUB = '''\
"""Run as a subprocess by the tests."""


def main(argv):
    total = 0
    for arg in argv:
        if arg.isdigit():
            total += int(arg)
    return total


if __name__ == "__main__":
    import sys

    print(main(sys.argv[1:]))
'''

THREADS = '''\
"""Executed only in a thread."""
import threading


def work(out):
    for i in range(3):
        if i % 2:
            out.append(i)


def run():
    out = []
    thread = threading.Thread(target=work, args=(out,))
    thread.start()
    thread.join()
    return out
'''

PROCS = '''\
"""Executed only in a multiprocessing child."""
import multiprocessing


def child(queue):
    value = 0
    for i in range(4):
        if i > 1:
            value += i
    queue.put(value)


def run():
    queue = multiprocessing.Queue()
    proc = multiprocessing.Process(target=child, args=(queue,))
    proc.start()
    value = queue.get(timeout=60)
    proc.join(60)
    return value
'''

NEVER = '''\
"""Never imported by the tests."""


def nothing():
    return None
'''

TEST_CORE = """\
from {pkg}.core import classify, debug_only


def test_classify():
    assert classify(20) == "big"
    assert classify(5) == "small"


def test_debug_only():
    assert debug_only() == 1
"""

TEST_SUB = """\
import subprocess
import sys


def test_subprocess():
    out = subprocess.run(
        [sys.executable, "-m", "{pkg}.sub", "1", "x", "2"],
        capture_output=True, text=True, check=True, timeout=120,
    )
    assert out.stdout.strip() == "3"
"""

TEST_CONCURRENCY = """\
from {pkg} import procs, threads


def test_thread():
    assert threads.run() == [1]


def test_process():
    assert procs.run() == 5
"""


def plan(targets: Sequence[str]) -> str:
    """A phase7.toml whose items are ``targets`` (one item each)."""
    lines = [
        'title = "matrix"',
        "[[batches]]",
        "number = 1",
        'title = "Unit Tests"',
        'priority = "CRITICAL"',
        f'item_range = "1-{len(targets)}"',
    ]
    for number, target in enumerate(targets, 1):
        lines += ["[[batches.items]]", f"number = {number}", f'path = "{target}"']
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Project:
    """A project of the matrix: its files, its targets and how coverage.py is configured."""

    name: str
    files: dict[str, str]
    targets: tuple[str, ...]
    #: Extra pytest arguments for the pytest-cov modes.
    pytest_args: tuple[str, ...] = ()
    #: ``coverage run`` options (``--rcfile=...``, ``--append``).
    coverage_run_args: tuple[str, ...] = ()
    #: The file ``coverage json`` must read (None: coverage.py's default search).
    rcfile: str | None = None
    #: Targets phase7 must report as an ERROR (reason regex), not as a figure.
    errors: dict[str, str] = field(default_factory=dict)
    #: A script run with ``coverage run`` before the tests, making an older data file.
    older_data: str = ""
    modes: tuple[str, ...] = (SERIAL, XDIST, COVERAGE_RUN)
    #: Run every gate, not only coverage.
    all_gates: bool = False

    def build(self, root: Path) -> None:
        """Write the project under ``root``."""
        write(root, {**self.files, "phase7.toml": plan(self.targets)})


def package(pkg: str, *, concurrency: bool = True, sub: bool = True) -> dict[str, str]:
    """The package ``pkg`` and its tests."""
    files = {
        f"{pkg}/__init__.py": "",
        f"{pkg}/core.py": CORE,
        f"{pkg}/never.py": NEVER,
        "tests/test_core.py": TEST_CORE.format(pkg=pkg),
    }
    if sub:
        files[f"{pkg}/sub.py"] = SUB
        files["tests/test_sub.py"] = TEST_SUB.format(pkg=pkg)
    if concurrency:
        files[f"{pkg}/threads.py"] = THREADS
        files[f"{pkg}/procs.py"] = PROCS
        files["tests/test_concurrency.py"] = TEST_CONCURRENCY.format(pkg=pkg)
    return files


SUBPROCESS = Project(
    "subprocess",
    {
        **package("pkg"),
        "pyproject.toml": """\
[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.coverage.run]
branch = true
parallel = true
source_pkgs = ["pkg"]
patch = ["subprocess"]
concurrency = ["thread", "multiprocessing"]

[tool.coverage.report]
exclude_also = ["if DEBUG:"]
partial_branches = ["pragma: maybe"]
""",
    },
    ("pkg/core.py", "pkg/sub.py", "pkg/threads.py", "pkg/procs.py", "pkg/never.py", "pkg/"),
)

REMAPPED_FILES = package("pkg2", concurrency=False)
REMAPPED = Project(
    "remapped",
    {
        # The tests import the copy under build/lib (as from site-packages); the targets are the
        # sources under src/, which [paths] maps the measured copy onto.
        **{f"src/{rel}": text for rel, text in REMAPPED_FILES.items() if rel.startswith("pkg2/")},
        **{f"build/lib/{rel}": text for rel, text in REMAPPED_FILES.items()},
        "tests/conftest.py": "",
        "pytest.ini": "[pytest]\ntestpaths = build/lib/tests\npythonpath = build/lib\n",
        ".coveragerc": """\
[run]
branch = true
relative_files = true
source_pkgs = pkg2

[paths]
source =
    src/
    build/lib/

[report]
precision = 2
""",
    },
    ("src/pkg2/core.py", "src/pkg2/sub.py", "src/pkg2/never.py"),
    pytest_args=("--cov-context=test",),
)

INCLUDE = Project(
    "include",
    {
        **package("pkg3", concurrency=False, sub=False),
        "pkg3/omitted.py": "def gone():\n    return 1\n",
        "pkg3/unreported.py": "def hidden():\n    return 1\n",
        "pkg3/older.py": "def old(flag):\n    if flag:\n        return 1\n    return 0\n",
        "tests/test_omitted.py": "from pkg3.omitted import gone\n"
        "from pkg3.unreported import hidden\n\n\n"
        "def test_gone():\n    assert gone() == hidden() == 1\n",
        "setup.cfg": """\
[tool:pytest]
testpaths = tests

[coverage:run]
branch = true
include = pkg3/*
omit = pkg3/omitted.py

[coverage:report]
omit = pkg3/unreported.py
""",
    },
    ("pkg3/core.py", "pkg3/older.py", "pkg3/omitted.py", "pkg3/unreported.py", "pkg3/never.py"),
    pytest_args=("--cov-append",),
    coverage_run_args=("--append",),
    errors={"pkg3/unreported.py": "left out of coverage's report by its omit/include settings"},
    older_data="import pkg3.older\npkg3.older.old(True)\n",
)

CONTEXTS = Project(
    "contexts",
    {
        **package("pkg4", concurrency=False, sub=False),
        "tox.ini": """\
[pytest]
testpaths = tests

[coverage:run]
branch = true
source = pkg4
dynamic_context = test_function
""",
    },
    ("pkg4/core.py", "pkg4/never.py"),
    modes=(SERIAL, COVERAGE_RUN),  # -n with dynamic_context: pytest-cov refuses it
)

RCFILE = Project(
    "rcfile",
    {
        **package("pkg5", concurrency=False),
        # The default file measures nothing useful; only the named one is right.
        ".coveragerc": "[run]\nsource = nothing_here\n",
        "ci/cov.ini": """\
[run]
branch = true
source_pkgs = pkg5
parallel = true
patch = subprocess

[report]
exclude_also =
    if DEBUG:
    def never
""",
        "pytest.ini": "[pytest]\ntestpaths = tests\n",
    },
    ("pkg5/core.py", "pkg5/sub.py", "pkg5/never.py"),
    pytest_args=("--cov", "--cov-config=ci/cov.ini", "--cov-report="),
    coverage_run_args=("--rcfile=ci/cov.ini",),
    rcfile="ci/cov.ini",
)

#: Tests that end long before mypy does: the gates' tools (mypy, the interrogate and coverage
#: workers) are still running when pytest-cov combines the data. Measured as subprocesses
#: (patch = subprocess), they would each write a data file after that, left behind.
QUICK = Project(
    "quick",
    {
        "pkg6/__init__.py": "",
        "pkg6/core.py": CORE,
        "tests/test_core.py": TEST_CORE.format(pkg="pkg6"),
        "pyproject.toml": """\
[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.coverage.run]
branch = true
source_pkgs = ["pkg6"]
patch = ["subprocess"]
""",
    },
    ("pkg6/core.py",),
    modes=(SERIAL, XDIST),
    all_gates=True,
)

PROJECTS = (SUBPROCESS, REMAPPED, INCLUDE, CONTEXTS, RCFILE, QUICK)


def clean_env() -> dict[str, str]:
    """This process's environment without an outer measurement or xdist worker markers."""
    env = {k: v for k, v in os.environ.items() if k not in OUTER_ENV}
    env["PYTEST_ADDOPTS"] = "-p no:hypothesispytest -p no:randomly"
    return env


def run(root: Path, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def phase7_run(root: Path, project: Project, mode: str) -> subprocess.CompletedProcess[str]:
    """Run the project's tests once in ``mode`` with phase7 (its JSON report: phase7.json)."""
    phase7 = ["--phase7", "--phase7-json=phase7.json"]
    if not project.all_gates:
        phase7.append("--phase7-gates=coverage")
    if mode == COVERAGE_RUN:
        argv = ["-m", "coverage", "run", *project.coverage_run_args, "-m", "pytest", *phase7]
    else:
        argv = ["-m", "pytest", *phase7, *project.pytest_args]
        if mode == XDIST:
            argv += ["-n", "2"]
    return run(root, argv)


def parallel_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob(".coverage.*"))


def coverage_json(root: Path, project: Project, files: Sequence[str]) -> dict[str, dict]:
    """What ``coverage json FILE...`` reports for ``files`` from the run's data, by file.

    Files are named on the command line, as ``coverage report FILE`` would: coverage.py then
    reports a file it did not measure at 0%, and leaves out what ``[report] omit`` omits.
    """
    rc = [f"--rcfile={project.rcfile}"] if project.rcfile else []
    if parallel_files(root):
        done = run(root, ["-m", "coverage", "combine", "--keep", *rc])
        assert done.returncode == 0, done.stdout + done.stderr
    done = run(root, ["-m", "coverage", "json", "-o", "coverage.json", *rc, *files])
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((root / "coverage.json").read_text())
    return {
        os.path.relpath(os.path.join(root, name), root): data["summary"]
        for name, data in report["files"].items()
    }


def summed(summaries: list[dict]) -> dict[str, float]:
    """coverage.py's figures for one target: one file's summary, or a package's files summed."""
    from coverage.results import Numbers

    total = Numbers(precision=0)
    for s in summaries:
        total += Numbers(
            n_files=1,
            n_statements=s["num_statements"],
            n_excluded=s["excluded_lines"],
            n_missing=s["missing_lines"],
            n_branches=s.get("num_branches", 0),
            n_partial_branches=s.get("num_partial_branches", 0),
            n_missing_branches=s.get("missing_branches", 0),
        )
    return {
        "metric": total.pc_covered,
        "statements": float(total.n_statements),
        "missing": float(total.n_missing),
        "branches": float(total.n_branches),
        "missing_branches": float(total.n_missing_branches),
    }


def phase7_figures(root: Path) -> dict[str, tuple[dict, list[str]]]:
    """Each target's coverage result in phase7's JSON report, and the target's files."""
    report = json.loads((root / "phase7.json").read_text())
    found = {}
    for item in report["items"]:
        (result,) = [r for r in item["results"] if r["gate"] == "coverage"]
        found[item["plan_target"]] = (result, item["target"]["files"])
    return found


@pytest.mark.parametrize(
    ("project", "mode"),
    [pytest.param(p, m, id=f"{p.name}-{m}") for p in PROJECTS for m in p.modes],
)
def test_figures_equal_coverage_report(tmp_path: Path, project: Project, mode: str) -> None:
    project.build(tmp_path)
    if project.older_data:
        (tmp_path / "older.py").write_text(project.older_data)
        rc = [f"--rcfile={project.rcfile}"] if project.rcfile else []
        done = run(tmp_path, ["-m", "coverage", "run", *rc, "older.py"])
        assert done.returncode == 0, done.stderr
    done = phase7_run(tmp_path, project, mode)
    output = done.stdout + done.stderr
    assert (tmp_path / "phase7.json").exists(), output
    assert "Traceback" not in output, output
    if mode != COVERAGE_RUN:
        assert parallel_files(tmp_path) == [], output  # pytest-cov combined everything
    if mode == XDIST:
        assert "2 workers" in output, output
    figures = phase7_figures(tmp_path)
    files = sorted({f for _, target_files in figures.values() for f in target_files})
    expected = coverage_json(tmp_path, project, files)
    for target in project.targets:
        result, target_files = figures[target]
        if target in project.errors:
            assert result["status"] == "ERROR", (target, result)
            assert project.errors[target] in result["reason"], (target, result)
            assert not set(target_files) & set(expected), (target, "coverage.py reports it")
            continue
        assert result["status"] in ("PASS", "FAIL"), (target, result, output)
        summaries = [expected[f] for f in target_files]
        want = summed(summaries)
        got = {"metric": result["metric"]}
        got.update({k: result["extra"].get(k, 0.0) for k in want if k != "metric"})
        assert got == want, (target, mode, output)
        if len(summaries) == 1:
            assert result["display"] == summaries[0]["percent_covered_display"] + "%"


@pytest.mark.parametrize("project", [SUBPROCESS, CONTEXTS], ids=["patch-subprocess", "plain"])
def test_coverage_run_with_xdist_is_refused(tmp_path: Path, project: Project) -> None:
    project.build(tmp_path)
    argv = ["-m", "coverage", "run", "-m", "pytest", "--phase7", "--phase7-gates=coverage"]
    done = run(tmp_path, [*argv, "--phase7-json=phase7.json", "-n", "2"])
    output = done.stdout + done.stderr
    assert "INTERNALERROR" not in output, output
    assert "2 workers" in output, output
    for target, (result, _) in phase7_figures(tmp_path).items():
        assert result["status"] == "ERROR", (target, result)
        assert result["reason"] == (
            "coverage run -m pytest -n: the xdist workers' coverage is not in this measurement"
        )
        assert "pytest --cov -n N" in result["hint"]


def test_tool_processes_are_not_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_phase7.gates.tools import MEASUREMENT_ENV, run_tool

    for name in MEASUREMENT_ENV:
        monkeypatch.setenv(name, "set by the measurement")
    monkeypatch.setenv("PHASE7_KEPT", "kept")
    watched = sorted(MEASUREMENT_ENV | {"PHASE7_KEPT", "PHASE7_ADDED"})
    probe = f"import os; print(sorted(k for k in os.environ if k in {watched!r}))"
    output = run_tool([sys.executable, "-c", probe], Path.cwd(), 60, {"PHASE7_ADDED": "1"})
    assert output.stdout.strip() == "['PHASE7_ADDED', 'PHASE7_KEPT']"
    assert "COVERAGE_PROCESS_CONFIG" in MEASUREMENT_ENV
