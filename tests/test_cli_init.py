"""phase7 init end to end: measure the bundled example, write a plan, load and run it back."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_phase7.cli import EXIT_OK, EXIT_USAGE, main
from pytest_phase7.manifest import load_manifest
from pytest_phase7.model import BatchKind

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tta"


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "tta"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".coverage", "*_cache"))
    (root / "PHASE7_EXECUTION_PLAN.md").unlink()
    monkeypatch.chdir(root)
    return root


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_init_writes_a_plan_that_loads_and_runs(example: Path):
    code, out = run("init", "--run-tests", "--project", "tta")
    assert code == EXIT_OK, out
    assert out.splitlines()[-1] == (
        "wrote PHASE7_EXECUTION_PLAN.md: 11 modules measured, 3 batches, 5 items, 20.5 hours"
    )
    manifest = load_manifest(example / "PHASE7_EXECUTION_PLAN.md")
    assert manifest.problems == ()
    assert manifest.title == "Phase 7: tta - Execution Plan"
    assert [(b.kind, [i.target for i in b.items]) for b in manifest.batches] == [
        (
            BatchKind.TESTS,
            [
                "src/tta/player_experience/player_experience_manager.py",  # 0%: most missing lines
                "src/tta/agent_orchestration/service.py",
            ],
        ),
        (
            BatchKind.REFACTOR,
            [
                "src/tta/player_experience/auth.py",  # 2 ruff violations
                "src/tta/player_experience/characters.py",  # 1 mypy error
            ],
        ),
        (BatchKind.DOCS, ["src/tta/agent_orchestration/agents.py"]),
    ]
    assert len(manifest.criteria) == 3
    assert run("validate")[0] == EXIT_OK
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--phase7", "-q", "-p", "no:cacheprovider"],
        cwd=example,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
    assert "phase7: OK (fail-on=regression): 2 IN PROGRESS, 3 QUEUED" in proc.stdout


def test_init_as_toml_from_a_coverage_file(example: Path):
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:phase7", "--cov=src/tta", "--cov-report="],
        cwd=example,
        check=True,
        capture_output=True,
        timeout=300,
    )
    code, out = run("init", "-o", "phase7.toml")
    assert code == EXIT_OK, out
    toml_plan = load_manifest(example / "phase7.toml")
    assert toml_plan.problems == ()
    assert len(toml_plan.items) == 5


def test_init_refuses_to_overwrite_and_needs_data(example: Path):
    mine = "# Mine\n\n### Batch 1: Unit Tests\n**Items:** 1\n"
    (example / "PHASE7_EXECUTION_PLAN.md").write_text(mine)
    err = io.StringIO()
    assert main(["init"], out=io.StringIO(), err=err) == EXIT_USAGE
    assert "exists; pass --force" in err.getvalue()
    assert (example / "PHASE7_EXECUTION_PLAN.md").read_text() == mine
    err = io.StringIO()
    assert main(["init", "--force"], out=io.StringIO(), err=err) == EXIT_USAGE
    assert "coverage data file not found" in err.getvalue()


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("README.md", "is an existing file that is not a phase7 plan"),
        ("pyproject.toml", "is a configuration file a run reads"),
        ("src", "the plan must be a .md or .toml file"),
        ("docs.md/../README.md", "is an existing file that is not a phase7 plan"),
    ],
)
def test_init_force_replaces_only_a_plan(example: Path, output: str, reason: str):
    before = {p: p.read_bytes() for p in example.rglob("*") if p.is_file()}
    err = io.StringIO()
    assert main(["init", "--force", "-o", output], out=io.StringIO(), err=err) == EXIT_USAGE
    assert reason in err.getvalue()
    assert {p: p.read_bytes() for p in example.rglob("*") if p.is_file()} == before
