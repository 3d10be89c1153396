"""Writing a run's report files: the Markdown and JSON reports, and the GitHub step summary.

Kept apart from :mod:`pytest_phase7.report.model` so that the model imports no renderer: this
module calls the Markdown and JSON renderers; ``pytest --phase7`` (through the session) and
``phase7 gate`` call it.
"""

from __future__ import annotations

import os
from pathlib import Path

from pytest_phase7.report.github import MAX_COMMENT_CHARS, STEP_SUMMARY_ENV
from pytest_phase7.report.model import ReportData


def step_summary_path(enabled: bool) -> Path | None:
    """The job summary file to append the report to, if any.

    ``$GITHUB_STEP_SUMMARY`` when it is set, unless the ``step_summary`` setting (``enabled``) is
    off.
    """
    value = os.environ.get(STEP_SUMMARY_ENV, "")
    return Path(value) if enabled and value else None


def write_reports(
    data: ReportData,
    *,
    md_path: Path | None = None,
    json_path: Path | None = None,
    step_summary: Path | None = None,
) -> list[str]:
    """Write the Markdown and JSON reports (atomically) and append to the step summary.

    Returns one line per file written, for the caller to show. ``OSError`` propagates.
    """
    from pytest_phase7.atomic import write_atomic  # noqa: PLC0415
    from pytest_phase7.report.json import dumps  # noqa: PLC0415
    from pytest_phase7.report.markdown import append_step_summary, render_markdown  # noqa: PLC0415

    written = []
    if json_path is not None:
        write_atomic(json_path, dumps(data).encode("utf-8"))
        written.append(f"phase7: JSON report written to {json_path}")
    if md_path is not None:
        # The Markdown file is what CI posts as a PR comment: it keeps to that limit.
        text = render_markdown(data, max_chars=MAX_COMMENT_CHARS)
        write_atomic(md_path, text.encode("utf-8"))
        written.append(f"phase7: Markdown report written to {md_path}")
    if step_summary is not None:
        append_step_summary(data, step_summary)
        written.append(f"phase7: Markdown report appended to {step_summary}")
    return written
