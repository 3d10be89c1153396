"""A run imports the modules of the features it uses, not the others.

Importing phase7's modules is most of what a warm run costs beyond the tests themselves (their
frozen dataclasses are built at import), so a default run must not pay for the history, owners,
baseline, pull-request and findings modules it has no use for. A subprocess records what the
run imported by the time pytest unconfigures; the negative control turns those features on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

#: Modules every run uses (the gates' are built whichever gates it runs).
RUN_MODULES = (
    "pytest_phase7.manifest",
    "pytest_phase7.gates.coverage",
    "pytest_phase7.gates.ruff",
    "pytest_phase7.gates.mypy",
    "pytest_phase7.gates.docstrings",
    "pytest_phase7.report.terminal",
)

#: Modules of features a default run does not use.
OPTIONAL = (
    "pytest_phase7.insights.history",
    "pytest_phase7.insights.owners",
    "pytest_phase7.report.markdown",
    "pytest_phase7.report.sarif",
    "pytest_phase7.report.codeclimate",
    "pytest_phase7.report.annotations",
    "pytest_phase7.report.findings",
    "pytest_phase7.resolve.diffcov",
    "pytest_phase7.status.baseline",
    "pytest_phase7.gates.new_lines",
)

RECORDER = """
import json
import os
import sys

import coverage

# pytest imports this conftest after pytest-cov has started coverage.py.
TRACED = coverage.Coverage.current() is not None
EARLY = sorted(name for name in sys.modules if name.startswith("pytest_phase7"))


def pytest_unconfigure(config):
    loaded = sorted(name for name in sys.modules if name.startswith("pytest_phase7"))
    loaders = {name: type(sys.modules[name].__loader__).__name__ for name in loaded}
    finders = [type(finder).__name__ for finder in sys.meta_path]
    worker = getattr(config, "workerinput", {}).get("workerid", "")
    with open(os.environ["PHASE7_LOADED_OUT"] + worker, "w", encoding="utf-8") as out:
        json.dump(
            {"traced": TRACED, "early": EARLY, "loaded": loaded, "loaders": loaders,
             "finders": finders},
            out,
        )
"""

PLAN = """# Plan

### Batch 1: Unit Tests
**Items:** 1-1

| # | Module | File | {owner}Status |
|---|--------|------|{rule}--------|
| 1 | Core | core.py | {cell}QUEUED |
"""


def recorded(root: Path, *flags: str) -> dict[str, Any]:
    """What a ``pytest --phase7 FLAGS`` run in ``root`` had imported: ``early`` (when pytest
    imported the conftest), ``loaded`` (at the end); ``traced``: coverage.py was on by then."""
    out = root / "loaded.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV", "GITHUB_"))}
    env["PHASE7_LOADED_OUT"] = str(out)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--phase7", *flags],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert out.is_file(), proc.stdout + proc.stderr
    assert "Phase 7 status" in proc.stdout, proc.stdout + proc.stderr
    answer: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return answer


def loaded_modules(root: Path, *flags: str) -> set[str]:
    """The phase7 modules a ``pytest --phase7 FLAGS`` run in ``root`` had imported at its end."""
    return set(recorded(root, *flags)["loaded"])


def project(root: Path, *, owner: bool) -> Path:
    """A one-item project whose plan has an Owner column when ``owner``."""
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (root / "conftest.py").write_text(RECORDER, encoding="utf-8")
    (root / "core.py").write_text('"""Core."""\n\nX = 1\n', encoding="utf-8")
    (root / "test_core.py").write_text(
        "import core\n\n\ndef test_x():\n    assert core.X == 1\n", encoding="utf-8"
    )
    cells = {"owner": "Owner | ", "rule": "-------|", "cell": "ana | "} if owner else {}
    text = PLAN.format(**{"owner": "", "rule": "", "cell": "", **cells})
    (root / "PHASE7_EXECUTION_PLAN.md").write_text(text, encoding="utf-8")
    return root


@pytest.mark.slow
def test_a_default_run_imports_no_module_of_a_feature_it_does_not_use(tmp_path: Path) -> None:
    plain = loaded_modules(project(tmp_path / "plain", owner=False), "--phase7-gates=coverage")
    assert "pytest_phase7.engine" in plain
    assert plain.isdisjoint(OPTIONAL), sorted(plain & set(OPTIONAL))
    # The negative control: the same run with those features asked for imports them.
    used = loaded_modules(
        project(tmp_path / "used", owner=True),
        "--phase7-gates=coverage",
        "--phase7-history=history.jsonl",
        "--phase7-sarif=out.sarif",
        "--phase7-codeclimate=quality.json",
        "--phase7-annotations=github",
        "--phase7-baseline=baseline.json",
        "--phase7-baseline-update",
        "--phase7-md=report.md",
    )
    # The new-lines gate needs a pull request (--phase7-changed-since): its tests say so.
    assert set(OPTIONAL) - used == {"pytest_phase7.gates.new_lines"}


def test_the_terminal_names_the_new_lines_gate_as_the_diff_module_does() -> None:
    from pytest_phase7.report import terminal
    from pytest_phase7.resolve import diffcov

    assert terminal.NEW_LINES == diffcov.GATE


@pytest.mark.slow
def test_a_run_imports_its_modules_before_coverage_starts(tmp_path: Path) -> None:
    # Once coverage.py traces, executing a module costs more, measured or not.
    run = recorded(project(tmp_path / "p", owner=False))
    assert run["traced"], "the recorder's conftest must be imported with coverage.py on"
    late = set(run["loaded"]) - set(run["early"])
    assert set(RUN_MODULES) <= set(run["early"]), sorted(set(RUN_MODULES) - set(run["early"]))
    assert late == set(), sorted(late)


@pytest.mark.slow
def test_an_xdist_worker_imports_none_of_the_run_modules(tmp_path: Path) -> None:
    root = project(tmp_path / "p", owner=False)
    recorded(root, "-n", "2")
    workers = [json.loads(path.read_text(encoding="utf-8")) for path in root.glob("loaded.jsongw*")]
    assert len(workers) == 2
    for worker in workers:
        assert worker["traced"]
        assert set(RUN_MODULES).isdisjoint(worker["loaded"]), worker["loaded"]


@pytest.mark.slow
def test_phase7s_modules_are_imported_by_pythons_loader_not_pytests_rewriter(
    tmp_path: Path,
) -> None:
    # pytest rewrites the packages of pytest11 distributions; its cached path is ~5x slower.
    run = recorded(project(tmp_path / "p", owner=False))
    loaders = run["loaders"]
    # The control: what pytest imports itself (the entry point) goes through its rewriter, so
    # this environment does mark phase7's package for rewriting.
    assert loaders["pytest_phase7.plugin"] == "AssertionRewritingHook", loaders
    through_pytest = {name for name, loader in loaders.items() if loader != "SourceFileLoader"}
    assert through_pytest == {
        "pytest_phase7",
        "pytest_phase7.plugin",
        "pytest_phase7.plainimport",
    }, sorted(through_pytest)
    assert set(RUN_MODULES) <= set(loaders)
    assert "OwnModuleFinder" not in run["finders"], run["finders"]  # removed after start-up
