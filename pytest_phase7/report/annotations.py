r"""Findings as GitHub annotations: workflow commands that mark lines in the pull request's diff.

``--phase7-annotations=github`` (the default when ``GITHUB_ACTIONS=true``) prints one
``::error file=…,line=…,endLine=…,col=…,title=…::message`` command per finding of an item that
fails (any of its gates fails) or of a changed file outside the plan below
``--phase7-diff-coverage-min``: ruff and mypy findings, undocumented names, uncovered new lines.
In changed-only mode (``--phase7-changed-since``) only findings on lines the pull request added
or changed are annotated.

GitHub shows at most 10 error, 10 warning and 10 notice annotations per step (50 per job) and
drops the rest without a word. So the most important come first (errors, then warnings, then
notices; by tool: new lines, mypy, ruff, interrogate; then by place), each level is cut at 10,
and when anything was left out the last notice says how many and where the full list is. A
message is kept under :data:`MAX_MESSAGE_CHARS` and a title under :data:`MAX_TITLE_CHARS`.
Values are escaped as the runner reads them: ``%``, ``\r`` and ``\n`` everywhere, and ``:``
and ``,`` in properties too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_phase7.engine import RunResult
from pytest_phase7.report.findings import (
    LEVELS,
    Reported,
    collect,
    importance,
    repository_path,
    repository_root,
)
from pytest_phase7.report.github import annotations_kind

if TYPE_CHECKING:
    from pytest_phase7.settings import Settings

#: Annotations GitHub shows per level and step, and per job.
MAX_PER_LEVEL = 10
MAX_PER_JOB = 50

#: Our bounds on one annotation (GitHub's API takes 64 KB messages and 255-character titles).
MAX_MESSAGE_CHARS = 4000
MAX_TITLE_CHARS = 255


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as the runner unescapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (``file=``, ``title=``), escaped."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def command(item: Reported, path: str) -> str:
    """One finding as a workflow command (``path`` as the repository names the file)."""
    finding = item.finding
    properties = [f"file={escape_property(path)}"]
    if finding.line:
        properties.append(f"line={finding.line}")
        if finding.end_line > finding.line:
            properties.append(f"endLine={finding.end_line}")
        if finding.column:
            properties.append(f"col={finding.column}")
            same_line = finding.end_line in {0, finding.line}
            if finding.end_column > finding.column and same_line:
                properties.append(f"endColumn={finding.end_column}")
    title = f"{item.tool} {finding.code}".strip() if finding.code else item.tool
    properties.append(f"title={escape_property(_cut(title, MAX_TITLE_CHARS))}")
    message = _cut(finding.message, MAX_MESSAGE_CHARS)
    return f"::{item.level} {','.join(properties)}::{escape_data(message)}"


def chosen(result: RunResult) -> list[Reported]:
    """The findings annotations are about, most important first (the module docstring)."""
    diff = result.diff
    wanted = [
        item
        for item in collect(result)
        if item.failing
        and (
            diff is None
            or diff.touches(item.finding.path, item.finding.line, item.finding.last_line)
        )
    ]
    unique = list(dict.fromkeys(wanted))  # two items sharing a file report it once
    return sorted(unique, key=importance)


def github_commands(result: RunResult, paths: dict[str, str], full_list: str) -> list[str]:
    """The workflow commands to print: within GitHub's limits, the left-out ones counted.

    ``paths`` maps a finding's rootdir-relative path to the repository's name for it;
    ``full_list`` says where every finding is (a report file, or the table's details).
    """
    shown: list[Reported] = []
    per_level: Counter[str] = Counter()
    left_out: Counter[str] = Counter()
    candidates = chosen(result)
    notices = sum(1 for c in candidates if c.level == "notice")
    overflow = notices > MAX_PER_LEVEL or any(
        sum(1 for c in candidates if c.level == level) > MAX_PER_LEVEL for level in LEVELS
    )
    for item in candidates:
        # One notice is kept for the sentence about what was left out.
        room = MAX_PER_LEVEL - (1 if overflow and item.level == "notice" else 0)
        if per_level[item.level] < room:
            per_level[item.level] += 1
            shown.append(item)
        else:
            left_out[item.level] += 1
    lines = [command(item, paths.get(item.finding.path, item.finding.path)) for item in shown]
    if left_out:
        parts = ", ".join(f"{left_out[level]} {level}s" for level in LEVELS if left_out[level])
        total = sum(left_out.values())
        message = (
            f"{total} more findings are not annotated ({parts}): GitHub shows "
            f"{MAX_PER_LEVEL} of each kind per step. The full list: {full_list}"
        )
        lines.append(f"::notice title=phase7::{escape_data(message)}")
    return lines[:MAX_PER_JOB]


def full_list_where(paths: Sequence[str]) -> str:
    """Where a reader finds every finding: the first report file written, else the table."""
    if paths:
        return ", ".join(paths)
    return "the Phase 7 table's details (pytest -v), or --phase7-sarif / --phase7-json"


def annotation_commands(result: RunResult, settings: Settings, written: Sequence[str]) -> list[str]:
    """The run's annotations when the ``annotations`` setting asks for them (else none).

    Paths are the repository's (GitHub's) names for the findings' files; ``written`` are the
    report files this run wrote, where the full list is.
    """
    if annotations_kind(settings.annotations) != "github":
        return []
    rootdir = Path(result.rootdir)
    root = repository_root(rootdir)
    paths = {
        item.finding.path: repository_path(rootdir, root, item.finding.path)
        for item in collect(result)
    }
    return github_commands(result, paths, full_list_where(written))
