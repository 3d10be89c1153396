"""Hooks pytest-phase7 adds to pytest (registered from ``pytest_addhooks``).

Implement them in a ``conftest.py`` or a plugin, like any pytest hook. The built-in gates are
themselves shipped as an ordinary implementation of :func:`pytest_phase7_add_gates`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_phase7.engine import RunResult
    from pytest_phase7.gates.base import Gate
    from pytest_phase7.model import PlanStatus
    from pytest_phase7.status.rules import ItemOutcome


@pytest.hookspec
def pytest_phase7_add_gates(config: pytest.Config) -> list[Gate]:  # type: ignore[empty-body]
    """Return gates to run on every applicable target.

    Each gate implements :class:`pytest_phase7.gates.base.Gate`: a unique ``name``, a ``title``
    for reports, ``needs_session`` (True to run after the tests with the session's data, False to
    run concurrently with the tests) and ``run(request) -> GateRun``. Results are collected from
    every implementation; a gate name given twice is a usage error.

    .. versionadded:: 0.1
    """


@pytest.hookspec(firstresult=True)
def pytest_phase7_item_status(outcome: ItemOutcome) -> PlanStatus | None:
    """Override the status phase7 derived for one item; return None to keep it.

    ``outcome`` carries the item, its resolved target, every gate result and the derived status.
    The first non-None result wins.

    .. versionadded:: 0.1
    """


@pytest.hookspec
def pytest_phase7_report_sections(result: RunResult) -> list[tuple[str, str]]:  # type: ignore[empty-body]
    """Return extra report sections as ``(title, markdown_text)`` pairs.

    They are printed after the status table in the terminal and appended to the Markdown report.
    The title is escaped; the text is trusted Markdown, included as it is (a hook is code the
    project chose to run). Text taken from the plan, the repository or a tool is not: pass it
    through :func:`pytest_phase7.report.markdown.escape` (or ``cell`` for a table cell), as the
    built-in Owners and Trends sections do, so that it pings nobody and loads no image.

    .. versionadded:: 0.1
    """
