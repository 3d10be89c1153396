"""``--phase7-changed-since`` where HEAD and the ref share no commit: a shallow CI clone.

GitHub's ``actions/checkout`` fetches one commit by default; a job that then fetches the base
branch as shallowly has two commits and no merge-base. ``git merge-base`` exits 1 and says
nothing, so the message used to be ``git merge-base HEAD failed: 1``. It says what is wrong and
how to fix it now; an unknown ref keeps git's own reason.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gate_helpers import git

from pytest_phase7.errors import ConfigError
from pytest_phase7.resolve.changed import changed_files
from pytest_phase7.resolve.diffcov import changed_lines

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.py").write_text("x = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "a.py").write_text("x = 2\n")
    git(repo, "commit", "-q", "-am", "change")
    return repo


def test_a_shallow_clone_says_to_fetch_the_history(upstream: Path, tmp_path: Path):
    clone = tmp_path / "clone"
    git(
        tmp_path,
        "clone",
        "-q",
        "--depth",
        "1",
        "--no-local",
        "-b",
        "feature",
        upstream.as_uri(),
        str(clone),
    )
    git(clone, "fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main")
    for measure in (changed_files, changed_lines):
        with pytest.raises(ConfigError) as caught:
            measure(clone, "origin/main")
        message = str(caught.value)
        assert message.startswith("cannot compare with origin/main: this clone is shallow")
        assert "git fetch --unshallow" in message
        assert "fetch-depth: 0" in message
        assert "\n" not in message
    # Once the history is there, the comparison works.
    git(clone, "fetch", "-q", "--unshallow", "origin", "main:refs/remotes/origin/main")
    assert changed_files(clone, "origin/main") == {"a.py"}


def test_unrelated_histories_are_said_so(upstream: Path):
    git(upstream, "checkout", "-q", "--orphan", "other")
    git(upstream, "commit", "-q", "-m", "unrelated")
    with pytest.raises(
        ConfigError,
        match=r"^cannot compare with main: HEAD and main share no "
        r"commit \(unrelated histories\)",
    ):
        changed_files(upstream, "main")


def test_an_unknown_ref_keeps_git_s_reason(upstream: Path):
    with pytest.raises(ConfigError, match="git merge-base HEAD failed: fatal: Not a valid object"):
        changed_files(upstream, "origin/nope")
