"""The run's findings as a GitLab Code Quality report (``--phase7-codeclimate``).

GitLab's merge-request widget reads a JSON array of Code Climate issues from the job's
``codequality`` report artifact (``gates/gitlab/phase7.gitlab-ci.yml`` declares it). Each issue
has what GitLab needs: ``description``, ``check_name`` (``tool/rule``), a ``fingerprint``
(unique in the report and stable across runs, :func:`pytest_phase7.findings.fingerprints`, so
the widget tells new issues from fixed ones), a ``severity`` and ``location.path`` (relative to
the repository's root) with ``location.lines.begin``. The Code Climate ``type`` and
``categories`` are given too, and ``engine_name`` says phase7 wrote the issue (how phase7 knows
its own report when asked to replace a file).

Severities: a failing gate's finding is ``major``, a passing gate's ``minor``, a tool's note
``info``. Every finding is in the report, as in SARIF.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_phase7.engine import RunResult
from pytest_phase7.findings import (
    collect,
    fingerprints,
    repository_path,
    repository_root,
)

ENGINE_NAME = "pytest-phase7"

_SEVERITIES = {"error": "major", "warning": "minor", "notice": "info"}

#: Code Climate categories per tool.
_CATEGORIES = {
    "ruff": "Style",
    "mypy": "Bug Risk",
    "interrogate": "Clarity",
    "coverage": "Bug Risk",
}


def issues(result: RunResult) -> list[dict[str, Any]]:
    """The report's issues (see the module docstring)."""
    rootdir = Path(result.rootdir)
    root = repository_root(rootdir)
    reported = collect(result)
    found = []
    for item, fingerprint in zip(reported, fingerprints(reported, rootdir), strict=True):
        finding = item.finding
        lines: dict[str, int] = {"begin": max(finding.line, 1)}
        if finding.end_line > finding.line:
            lines["end"] = finding.end_line
        check = f"{item.tool}/{finding.code}" if finding.code else item.tool
        found.append(
            {
                "engine_name": ENGINE_NAME,
                "type": "issue",
                "check_name": check,
                "description": f"{check}: {finding.message}" if finding.message else check,
                "categories": [_CATEGORIES.get(item.tool, "Bug Risk")],
                "severity": _SEVERITIES[item.level],
                "fingerprint": fingerprint,
                "location": {
                    "path": repository_path(rootdir, root, finding.path),
                    "lines": lines,
                },
            }
        )
    return found


def dumps(result: RunResult) -> str:
    """The report as JSON text (an array; ``[]`` when nothing was found)."""
    return json.dumps(issues(result), indent=2, ensure_ascii=False) + "\n"
