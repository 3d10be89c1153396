"""The lines a pull request added or changed, and how much of them the tests ran.

``--phase7-changed-since=REF`` compares the working tree with the merge-base of ``HEAD`` and
``REF``, as the pull request's diff does: committed, staged and unstaged changes in one
``git diff <merge-base>``, and untracked (not ignored) files as added whole. git runs with an
argument list, without external diff drivers or text conversion, with ``-U0`` (only the changed
lines), rename detection and fixed ``a/`` ``b/`` prefixes whatever the user's git configuration
says; the patch is parsed by its hunk headers, so no line of content can pass for a header.

Coverage of those lines counts what ``coverage report`` counts: executable statements only (a
changed comment, blank line or the second line of a statement is not one), from coverage.py's own
analysis of the file (:func:`pytest_phase7.gates.coverage.file_analyses`). With branch coverage on,
the branches leaving changed lines count too, as coverage.py counts them: the percentage is
(executed statements + taken branches) / (statements + branches) over the changed lines. Without
branches, it is the figure diff-cover reports for the same diff and data (executed changed
statements / changed statements); diff-cover counts lines only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_phase7.changed import git_output, in_rootdir, merge_base, untracked_files
from pytest_phase7.files import read_regular

if TYPE_CHECKING:
    from coverage.results import Analysis

    from pytest_phase7.engine import RunResult
    from pytest_phase7.gates.base import GateResult

#: Which changed files count as Python sources (what coverage.py measures).
PYTHON_SUFFIXES = (".py",)

#: ``git diff`` as diff-cover runs it, made independent of the user's configuration: no
#: colour, no external diff or textconv driver, no context lines, renames followed.
DIFF_ARGS = (
    "diff",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--find-renames",
    "-U0",
)

_HUNK = re.compile(r"@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


@dataclass(frozen=True)
class ChangedLines:
    """What a pull request changed: every file, and the added or changed lines of its sources.

    ``files`` are rootdir-relative POSIX paths of every changed file (deleted ones too);
    ``lines`` maps each changed Python source that still exists to its added or changed line
    numbers (as the file reads now), untracked files to all their lines. ``ref`` is what was
    compared with, ``base`` the merge-base commit.
    """

    ref: str
    base: str
    files: frozenset[str] = frozenset()
    lines: Mapping[str, frozenset[int]] = field(default_factory=dict)

    def of(self, path: str) -> frozenset[int]:
        """The changed lines of ``path`` (rootdir-relative), none when it did not change."""
        return self.lines.get(path, frozenset())

    def touches(self, path: str, first: int, last: int) -> bool:
        """Whether the pull request changed any line from ``first`` to ``last`` of ``path``."""
        changed = self.lines.get(path)
        if not changed or first <= 0:
            return False
        if last - first < len(changed):
            return any(line in changed for line in range(first, max(first, last) + 1))
        return any(first <= line <= last for line in changed)


def changed_lines(rootdir: Path, ref: str) -> ChangedLines:
    """The files and lines changed since the merge-base of ``HEAD`` and ``ref``.

    git failing (not a repository, an unknown ref) is a :class:`~pytest_phase7.errors.ConfigError`
    with git's own reason: never a silent "nothing changed".
    """
    toplevel, base = merge_base(rootdir, ref)
    real_root = Path(os.path.realpath(rootdir))
    names = git_output(["diff", "--name-only", "-z", base, "--"], toplevel).split("\0")
    untracked = untracked_files(toplevel)
    patch = git_output(["-c", "core.quotePath=true", *DIFF_ARGS, base, "--"], toplevel)
    files: set[str] = set()
    for name in (*filter(None, names), *untracked):
        rel = in_rootdir(real_root, toplevel, name)
        if rel is not None:
            files.add(rel)
    lines: dict[str, frozenset[int]] = {}
    for name, numbers in parse_patch(patch).items():
        rel = in_rootdir(real_root, toplevel, name)
        if rel is not None and rel.endswith(PYTHON_SUFFIXES) and numbers:
            lines[rel] = frozenset(numbers)
    for name in untracked:
        rel = in_rootdir(real_root, toplevel, name)
        if rel is not None and rel.endswith(PYTHON_SUFFIXES):
            count = _line_count(toplevel / name)
            if count:
                lines[rel] = frozenset(range(1, count + 1))
    return ChangedLines(ref, base, frozenset(files), dict(sorted(lines.items())))


def _line_count(path: Path) -> int:
    """How many lines a file has (0 when it cannot be read: a FIFO, a folder, gone)."""
    try:
        data = read_regular(path)
    except OSError:
        return 0
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def parse_patch(patch: str) -> dict[str, set[int]]:
    """The added or changed line numbers per file (new side) of a ``git diff -U0`` patch.

    Each hunk header ``@@ -a,b +c,d @@`` says which lines of the new file it adds (``c`` to
    ``c+d-1``) and how many lines of content follow it: those are skipped by count, so content
    that looks like a header (an added line ``++ b/x``) is never read as one. Deleted files
    (``+++ /dev/null``) and binary files have no added lines.
    """
    found: dict[str, set[int]] = {}
    current: set[int] | None = None
    pending = 0  # content lines of the current hunk still to skip
    for line in patch.split("\n"):
        if pending > 0:
            if line[:1] in {"+", "-", " "}:
                pending -= 1
                continue
            if line.startswith("\\"):  # "\ No newline at end of file"
                continue
            pending = 0  # a malformed hunk: read on as headers
        if line.startswith(("diff --git ", "diff --cc ")):
            current = None
        elif line.startswith("+++ "):
            name = line[4:].rstrip("\t")
            if name == "/dev/null":
                current = None
                continue
            name = unquote(name)
            current = found.setdefault(name[2:] if name.startswith("b/") else name, set())
        elif line.startswith("@@"):
            match = _HUNK.match(line)
            if match is None:
                continue
            old, start, new = match.groups()
            old_count = 1 if old is None else int(old)
            new_count = 1 if new is None else int(new)
            pending = old_count + new_count
            if current is not None and new_count:
                first = int(start)
                current.update(range(first, first + new_count))
    return found


def unquote(name: str) -> str:
    r"""A path as git writes it: C-quoted (``"a/t\303\251st.py"``) when it has odd characters."""
    if not (len(name) >= 2 and name.startswith('"') and name.endswith('"')):
        return name
    body = name[1:-1]
    out = bytearray()
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\" or index + 1 >= len(body):
            out += char.encode("utf-8", "surrogateescape")
            index += 1
            continue
        following = body[index + 1]
        octal = body[index + 1 : index + 4]
        if len(octal) == 3 and all(c in "01234567" for c in octal):
            out.append(int(octal, 8))
            index += 4
        else:
            out.append(_ESCAPES.get(following, ord(following)))
            index += 2
    return out.decode("utf-8", "surrogateescape")


# --- coverage of the changed lines ---------------------------------------------------------


@dataclass(frozen=True)
class NewLines:
    """The coverage of one file's changed lines, counted as coverage.py counts statements.

    ``statements`` are the changed executable lines, ``missing`` those the tests never ran;
    ``branches`` the exits from changed lines that are branches (0 without branch coverage),
    ``missing_branches`` those never taken, each listed in ``missing_arcs`` as (line,
    destination; a negative destination leaves the function).
    """

    path: str
    statements: tuple[int, ...] = ()
    missing: tuple[int, ...] = ()
    branches: int = 0
    missing_branches: int = 0
    missing_arcs: tuple[tuple[int, int], ...] = ()

    @property
    def measurable(self) -> int:
        """Statements and branches together: what the percentage is out of."""
        return len(self.statements) + self.branches

    @property
    def covered(self) -> int:
        """Executed statements and taken branches together."""
        return self.measurable - len(self.missing) - self.missing_branches


def new_lines(path: str, analysis: Analysis, changed: Iterable[int], *, arcs: bool) -> NewLines:
    """The changed lines of one file, from coverage.py's ``Analysis`` of it.

    ``arcs`` says whether the data has branch coverage (``CoverageData.has_arcs``).
    """
    wanted = set(changed)
    statements = sorted(wanted & set(analysis.statements))
    missing = sorted(set(statements) & set(analysis.missing))
    branches = missed = 0
    missing_arcs: list[tuple[int, int]] = []
    if arcs:
        missing_by_line = analysis.missing_branch_arcs()
        for line, (exits, taken) in sorted(analysis.branch_stats().items()):
            if line in wanted:
                branches += exits
                missed += exits - taken
                missing_arcs += [(line, to) for to in sorted(missing_by_line.get(line, ()))]
    return NewLines(path, tuple(statements), tuple(missing), branches, missed, tuple(missing_arcs))


@dataclass(frozen=True)
class Totals:
    """:class:`NewLines` summed over the files of a target (or any group of files)."""

    statements: int = 0
    missing: int = 0
    branches: int = 0
    missing_branches: int = 0

    @classmethod
    def of(cls, files: Sequence[NewLines]) -> Totals:
        """The sum over ``files``."""
        return cls(
            sum(len(f.statements) for f in files),
            sum(len(f.missing) for f in files),
            sum(f.branches for f in files),
            sum(f.missing_branches for f in files),
        )

    @property
    def measurable(self) -> int:
        """Statements and branches together."""
        return self.statements + self.branches

    def percent(self) -> float:
        """coverage.py's percentage of these counts (100 when there is nothing to count)."""
        from coverage.results import Numbers  # noqa: PLC0415

        numbers = Numbers(
            n_statements=self.statements,
            n_missing=self.missing,
            n_branches=self.branches,
            n_missing_branches=self.missing_branches,
        )
        return float(numbers.pc_covered)

    def line_percent(self) -> float:
        """The statements alone, as diff-cover counts: covered / changed executable lines."""
        if not self.statements:
            return 100.0
        return 100.0 * (self.statements - self.missing) / self.statements

    def display(self, precision: int) -> str:
        """``12/15 · 80%``, with the branches when there are any: ``12/15 · 3/4 br · 79%``."""
        from coverage.results import display_covered  # noqa: PLC0415

        text = f"{self.statements - self.missing}/{self.statements}"
        if self.branches:
            text += f" \u00b7 {self.branches - self.missing_branches}/{self.branches} br"
        return f"{text} \u00b7 {display_covered(self.percent(), precision)}%"


def line_ranges(lines: Sequence[int], statements: Sequence[int]) -> list[tuple[int, int]]:
    """``lines`` (a subset of ``statements``) as ranges that no other statement interrupts.

    As ``coverage report`` writes missing lines: 10, 11 and 14 are one range 10-14 when lines
    12 and 13 are no statements of ``statements``.
    """
    wanted = set(lines)
    ranges: list[tuple[int, int]] = []
    start = end = 0
    for line in sorted(statements):
        if line in wanted:
            if not start:
                start = line
            end = line
        elif start:
            ranges.append((start, end))
            start = end = 0
    if start:
        ranges.append((start, end))
    return ranges


# --- what the reports list -----------------------------------------------------------------

#: The name of the gate that measures the pull request's new lines.
GATE = "new_lines"


def outside_plan(result: RunResult) -> list[tuple[str, GateResult]]:
    """Changed Python files no target of the plan holds, with their new-lines result, by path."""
    run = next((run for run in result.gate_runs if run.gate == GATE), None)
    if run is None:
        return []
    planned = {
        file
        for outcome in result.outcomes
        if outcome.resolution.target is not None
        for file in (outcome.resolution.target.ref, *outcome.resolution.target.files)
    }
    return sorted((path, r) for path, r in run.results.items() if path not in planned)
