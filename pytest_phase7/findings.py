"""A run's findings, ready for where reviewers look: annotations, SARIF, GitLab Code Quality.

Every gate result carries its findings (:class:`~pytest_phase7.gates.base.Finding`); this module
gathers them from a :class:`~pytest_phase7.engine.RunResult` once per target and gate (two items
sharing a target report its findings once), with the files outside the plan that the new-lines
gate measured, and says for each:

* its *level*: what the gate's verdict makes of it. The findings of a failing gate are errors
  (a tool's notes stay notices); those of a gate that passes (ruff violations within
  ``ruff_max``, new lines of a pull request without ``--phase7-diff-coverage-min``) warnings;
* whether its item *fails* (any of its gates fails), which annotations need;
* a *fingerprint* that stays the same across runs while the finding does: the tool, the rule,
  the file, the text of the line it points at and how many identical ones come before it, but
  not its line number (a line added above a finding does not make it a new one);
* its path relative to the repository's root (the git top folder, else the rootdir), which is
  what code scanning and GitLab resolve paths against.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_phase7.diffcov import GATE as NEW_LINES
from pytest_phase7.diffcov import outside_plan
from pytest_phase7.files import read_regular
from pytest_phase7.gates.base import Finding, GateResult, GateStatus

if TYPE_CHECKING:
    from pytest_phase7.engine import RunResult

#: Levels from most to least important.
LEVELS = ("error", "warning", "notice")

#: The order tools are shown in when levels tie: what blocks the merge (the pull request's new
#: lines), then what breaks code (types), then style, then documentation.
TOOL_ORDER = ("coverage", "mypy", "ruff", "interrogate")

#: The tool behind each built-in gate (custom gates name their own, or are their own).
GATE_TOOLS = {
    "coverage": "coverage",
    NEW_LINES: "coverage",
    "ruff": "ruff",
    "mypy": "mypy",
    "docstrings": "interrogate",
}


@dataclass(frozen=True)
class Reported:
    """One finding as a report shows it (see the module docstring)."""

    finding: Finding
    gate: str
    level: str
    failing: bool

    @property
    def tool(self) -> str:
        """The tool that found it."""
        return self.finding.tool or GATE_TOOLS.get(self.gate, self.gate)


def level_of(finding: Finding, result: GateResult) -> str:
    """A finding's level under its gate's verdict (module docstring)."""
    if finding.severity == "notice":
        return "notice"
    return finding.severity if result.status is GateStatus.FAIL else "warning"


def collect(result: RunResult) -> list[Reported]:
    """Every finding of the run, once per target and gate, in the order the plan lists them."""
    found: list[Reported] = []
    seen: set[tuple[str, str]] = set()
    for outcome in result.outcomes:
        target = outcome.resolution.target
        if target is None:
            continue
        failing = any(r.status is GateStatus.FAIL for r in outcome.results)
        for gate_result in outcome.results:
            if (gate_result.gate, target.ref) in seen:
                continue
            seen.add((gate_result.gate, target.ref))
            found += _reported(gate_result, failing)
    for _, gate_result in outside_plan(result):
        found += _reported(gate_result, gate_result.status is GateStatus.FAIL)
    return found


def _reported(result: GateResult, failing: bool) -> Iterator[Reported]:
    for finding in result.findings:
        yield Reported(finding, result.gate, level_of(finding, result), failing)


def importance(reported: Reported) -> tuple[int, int, str, int]:
    """A sort key, most important first: level, then tool (:data:`TOOL_ORDER`), then place."""
    tool = reported.tool
    rank = TOOL_ORDER.index(tool) if tool in TOOL_ORDER else len(TOOL_ORDER)
    return LEVELS.index(reported.level), rank, reported.finding.path, reported.finding.line


def repository_root(rootdir: Path) -> Path:
    """The git top folder holding ``rootdir`` (its symlinks resolved), else ``rootdir`` itself."""
    from pytest_phase7.changed import git_output  # noqa: PLC0415
    from pytest_phase7.errors import ConfigError  # noqa: PLC0415

    try:
        return Path(os.path.realpath(git_output(["rev-parse", "--show-toplevel"], rootdir).strip()))
    except ConfigError:
        return Path(os.path.realpath(rootdir))


def repository_path(rootdir: Path, root: Path, path: str) -> str:
    """A rootdir-relative ``path`` relative to the repository's ``root`` (POSIX)."""
    absolute = os.path.realpath(rootdir / path)
    try:
        return Path(absolute).relative_to(root).as_posix()
    except ValueError:  # outside the repository (a symlink out): as the rootdir names it
        return path


def fingerprints(reported: Sequence[Reported], rootdir: Path) -> list[str]:
    """One stable fingerprint per finding, in order (see the module docstring)."""
    texts: dict[str, list[str]] = {}
    seen: Counter[tuple[str, ...]] = Counter()
    prints = []
    for item in reported:
        finding = item.finding
        if finding.path not in texts:
            texts[finding.path] = _lines(rootdir / finding.path)
        lines = texts[finding.path]
        text = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        key = (item.tool, finding.code, finding.path, " ".join(text.split()))
        seen[key] += 1
        digest = hashlib.sha256("\0".join((*key, str(seen[key]))).encode("utf-8", "replace"))
        prints.append(digest.hexdigest()[:32])
    return prints


def _lines(path: Path) -> list[str]:
    try:
        return read_regular(path).decode("utf-8", "replace").splitlines()
    except OSError:
        return []
