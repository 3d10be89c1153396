"""The lines a pull request changed (real git), and their coverage counted as coverage.py counts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gate_helpers import git

from pytest_phase7.errors import ConfigError
from pytest_phase7.resolve.diffcov import (
    ChangedLines,
    NewLines,
    Totals,
    changed_lines,
    line_ranges,
    parse_patch,
    unquote,
)

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


# --- parsing a patch -----------------------------------------------------------------------


def test_hunk_headers_say_which_new_lines_are_added():
    patch = (
        "diff --git a/m.py b/m.py\n"
        "--- a/m.py\n"
        "+++ b/m.py\n"
        "@@ -3 +3,2 @@ def f():\n"
        "-    return 1\n"
        "+    x = 2\n"
        "+    return x\n"
        "@@ -10,2 +11,0 @@\n"
        "-gone\n"
        "-gone too\n"
        "@@ -20,0 +20 @@\n"
        "+one more\n"
    )
    assert parse_patch(patch) == {"m.py": {3, 4, 20}}


def test_content_that_looks_like_a_header_is_content():
    # An added line "++ b/evil.py" shows as "+++ b/evil.py" in the patch: it is counted as
    # content of its hunk, never read as the start of another file.
    patch = (
        "diff --git a/m.py b/m.py\n"
        "--- a/m.py\n"
        "+++ b/m.py\n"
        "@@ -0,0 +1,3 @@\n"
        "+++ b/evil.py\n"
        "+@@ -1 +99,5 @@\n"
        "+x = 1\n"
        "\\ No newline at end of file\n"
    )
    assert parse_patch(patch) == {"m.py": {1, 2, 3}}


def test_deleted_and_binary_files_add_nothing_and_quoted_names_are_unquoted():
    patch = (
        "diff --git a/old.py b/old.py\n"
        "deleted file mode 100644\n"
        "--- a/old.py\n"
        "+++ /dev/null\n"
        "@@ -1,2 +0,0 @@\n"
        "-a\n"
        "-b\n"
        "diff --git a/logo.png b/logo.png\n"
        "Binary files a/logo.png and b/logo.png differ\n"
        'diff --git "a/t\\303\\251st.py" "b/t\\303\\251st.py"\n'
        '--- "a/t\\303\\251st.py"\n'
        '+++ "b/t\\303\\251st.py"\n'
        "@@ -1 +1 @@\n"
        "-x\n"
        "+y\n"
    )
    assert parse_patch(patch) == {"tést.py": {1}}


def test_unquote_handles_git_escapes():
    assert unquote('"b/a\\tb\\"c\\\\d.py"') == 'b/a\tb"c\\d.py'
    assert unquote("b/plain.py") == "b/plain.py"


# --- from a real repository ----------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / ".gitignore").write_text("ignored.py\n")
    (tmp_path / "a.py").write_text("".join(f"a{n} = {n}\n" for n in range(1, 11)))
    (tmp_path / "b.py").write_text("b = 1\n")
    (tmp_path / "c.py").write_text("c = 1\n")
    (tmp_path / "moved.py").write_text("".join(f"m{n} = {n}\n" for n in range(1, 21)))
    (tmp_path / "notes.txt").write_text("x\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    git(tmp_path, "checkout", "-q", "-b", "feature")
    return tmp_path


@needs_git
def test_committed_staged_unstaged_untracked_and_renamed(repo: Path):
    text = (repo / "a.py").read_text().replace("a3 = 3\n", "a3 = 33\n")
    (repo / "a.py").write_text(text + "a11 = 11\n")
    git(repo, "commit", "-q", "-am", "committed")
    (repo / "b.py").write_text("b = 1\nb2 = 2\n")
    git(repo, "add", "b.py")  # staged
    (repo / "c.py").write_text("c = 2\n")  # unstaged
    (repo / "new.py").write_text("n = 1\nn2 = 2\nn3 = 3")  # untracked, no final newline
    (repo / "ignored.py").write_text("i = 1\n")
    git(repo, "mv", "moved.py", "renamed.py")
    renamed = (repo / "renamed.py").read_text().replace("m7 = 7\n", "m7 = 77\n")
    (repo / "renamed.py").write_text(renamed)
    (repo / "notes.txt").write_text("y\n")
    diff = changed_lines(repo, "main")
    assert diff.lines == {
        "a.py": {3, 11},
        "b.py": {2},
        "c.py": {1},
        "new.py": {1, 2, 3},  # untracked: added whole
        "renamed.py": {7},  # rename detected: only the changed line, not the whole file
    }
    assert {"notes.txt", "a.py", "new.py", "renamed.py"} <= diff.files
    assert "ignored.py" not in diff.files
    assert diff.touches("a.py", 2, 3)
    assert not diff.touches("a.py", 4, 10)


@needs_git
def test_paths_are_relative_to_the_rootdir_and_outside_files_are_left_out(repo: Path):
    (repo / "sub").mkdir()
    (repo / "sub" / "s.py").write_text("s = 1\n")
    (repo / "a.py").write_text("changed = 1\n")
    diff = changed_lines(repo / "sub", "main")
    assert dict(diff.lines) == {"s.py": {1}}


@needs_git
def test_user_git_configuration_cannot_change_the_patch(repo: Path):
    # noprefix, mnemonic prefixes, colour, and an external diff driver: none changes the lines.
    for key, value in (
        ("diff.noprefix", "true"),
        ("diff.mnemonicPrefix", "true"),
        ("color.diff", "always"),
        ("diff.external", "false"),
    ):
        git(repo, "config", key, value)
    (repo / "b.py").write_text("b = 1\nb2 = 2\n")
    assert dict(changed_lines(repo, "main").lines) == {"b.py": {2}}


@needs_git
def test_a_bad_ref_is_a_config_error(repo: Path):
    with pytest.raises(ConfigError):
        changed_lines(repo, "no-such-ref")


# --- counting ------------------------------------------------------------------------------


def test_totals_count_statements_and_branches_as_coverage_does():
    lines = NewLines("m.py", statements=(1, 2, 3, 5), missing=(5,), branches=4, missing_branches=1)
    totals = Totals.of([lines])
    assert (totals.statements, totals.missing, totals.measurable) == (4, 1, 8)
    assert totals.percent() == pytest.approx(100 * 6 / 8)
    assert totals.line_percent() == pytest.approx(75.0)
    assert totals.display(0) == "3/4 \u00b7 3/4 br \u00b7 75%"
    assert Totals.of([NewLines("m.py", (1, 2), (2,))]).display(1) == "1/2 \u00b7 50.0%"
    assert Totals().percent() == 100.0


def test_line_ranges_skip_lines_that_are_no_statements():
    assert line_ranges([10, 11, 14], [10, 11, 14, 20]) == [(10, 14)]
    assert line_ranges([10, 20], [10, 14, 20]) == [(10, 10), (20, 20)]


def test_touches_is_false_for_whole_file_findings_and_unchanged_files():
    diff = ChangedLines("main", "abc", frozenset({"m.py"}), {"m.py": frozenset({5})})
    assert diff.touches("m.py", 5, 5)
    assert diff.touches("m.py", 1, 900)
    assert not diff.touches("m.py", 0, 0)
    assert not diff.touches("other.py", 5, 5)
