"""Changed-only mode: which files changed (real git), and which targets the gates re-check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gate_helpers import git

from pytest_phase7.errors import ConfigError
from pytest_phase7.resolve.changed import changed_files

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / ".gitignore").write_text("ignored.py\n")
    (tmp_path / "sub").mkdir()
    for name in ("a.py", "b.py", "sub/c.py"):
        (tmp_path / name).write_text("x = 1\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def test_nothing_changed(repo: Path):
    assert changed_files(repo, "main") == frozenset()


def test_committed_staged_unstaged_and_untracked_changes(repo: Path):
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "a.py").write_text("x = 2\n")
    git(repo, "commit", "-q", "-am", "change a")
    (repo / "b.py").write_text("x = 3\n")
    git(repo, "add", "b.py")
    (repo / "sub" / "c.py").write_text("x = 4\n")
    (repo / "new.py").write_text("")
    (repo / "ignored.py").write_text("")
    assert changed_files(repo, "main") == {"a.py", "b.py", "sub/c.py", "new.py"}


def test_paths_are_relative_to_the_rootdir(repo: Path):
    (repo / "sub" / "c.py").write_text("x = 5\n")
    (repo / "a.py").write_text("x = 5\n")
    assert changed_files(repo / "sub", "main") == {"c.py"}


def test_merge_base_not_the_tip_of_the_ref(repo: Path):
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "a.py").write_text("x = 2\n")
    git(repo, "commit", "-q", "-am", "feature change")
    git(repo, "checkout", "-q", "main")
    (repo / "b.py").write_text("x = 9\n")
    git(repo, "commit", "-q", "-am", "main moved on")
    git(repo, "checkout", "-q", "feature")
    # b.py changed on main after the branch point: not part of this branch's diff.
    assert changed_files(repo, "main") == {"a.py"}


@pytest.mark.parametrize("ref", ["no-such-branch", "--output=x"])
def test_bad_ref_is_a_config_error(repo: Path, ref: str):
    with pytest.raises(ConfigError):
        changed_files(repo, ref)


def test_not_a_repository(tmp_path: Path):
    with pytest.raises(ConfigError, match="git rev-parse"):
        changed_files(tmp_path, "main")


PLAN = """# P

### Batch 1: Refactoring
**Items:** 1-2

| # | Module | File | Status |
|---|---|---|---|
| 1 | | a.py | QUEUED |
| 2 | | b.py | QUEUED |
"""

CONFTEST = """
from pytest_phase7.gates.base import GateResult, GateRun, GateStatus


class LogGate:
    name = "log"
    title = "Log"
    needs_session = False

    def run(self, request):
        with open(request.rootdir / "checked.log", "a") as log:
            log.write(" ".join(t.ref for t in request.targets) + "\\n")
        return GateRun("log", {
            t.ref: GateResult("log", GateStatus.PASS, metric=1, display="1")
            for t in request.targets
        })


def pytest_phase7_add_gates(config):
    return [LogGate()]
"""


def test_changed_only_rechecks_only_changed_targets(pytester: pytest.Pytester):
    pytester.makefile(".toml", pyproject='[tool.phase7]\nmanifest = "PLAN.md"\ngates = ["log"]\n')
    pytester.makefile(".md", PLAN=PLAN)
    pytester.makepyfile(a="x = 1\n", b="y = 1\n", test_x="def test_x():\n    pass\n")
    pytester.makeconftest(CONFTEST)
    (pytester.path / ".gitignore").write_text("checked.log\n.pytest_cache/\n")
    git(pytester.path, "init", "-q", "-b", "main")
    git(pytester.path, "add", "-A")
    git(pytester.path, "commit", "-q", "-m", "base")
    log = pytester.path / "checked.log"

    def checked(*args: str) -> str:
        log.write_text("")
        result = pytester.runpytest_inprocess("--no-cov", "--phase7", *args)
        assert result.ret == 0, result.stdout.str()
        return log.read_text().strip()

    # No earlier results: everything is checked even in changed-only mode (fail closed).
    assert checked("--phase7-changed-since=main") == "a.py b.py"
    # Nothing changed: nothing is re-checked; both carry their last result.
    assert checked("--phase7-changed-since=main") == ""
    (pytester.path / "b.py").write_text("y = 2\n")
    assert checked("--phase7-changed-since=main") == "b.py"
    # Every report says which results were carried over rather than re-checked.
    result = pytester.runpytest_inprocess(
        "--no-cov", "--phase7", "--phase7-changed-since=main", "--phase7-md=r.md"
    )
    rows = {line.split()[0]: line for line in result.outlines if line[:1] in {"1", "2"}}
    assert rows["1"].split()[-2:] == ["1*", "DONE"]  # a.py unchanged: carried
    assert rows["2"].split()[-2:] == ["1", "DONE"]  # b.py changed: re-checked
    assert "* not re-checked: unchanged since the --phase7-changed-since ref" in (
        result.stdout.str()
    )
    assert (pytester.path / "r.md").read_text().count("(not re-checked)") == 1
    # A full run still checks everything.
    assert checked() == "a.py b.py"


def test_changed_since_bad_ref_is_usage_error(pytester: pytest.Pytester):
    pytester.makefile(".toml", pyproject='[tool.phase7]\nmanifest = "PLAN.md"\ngates = ["log"]\n')
    pytester.makefile(".md", PLAN=PLAN)
    pytester.makepyfile(a="x = 1\n", b="y = 1\n")
    pytester.makeconftest(CONFTEST)
    git(pytester.path, "init", "-q", "-b", "main")
    result = pytester.runpytest_inprocess("--no-cov", "--phase7", "--phase7-changed-since=nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "phase7: git merge-base HEAD failed: fatal: Not a valid object name" in (
        result.stderr.str()
    )
