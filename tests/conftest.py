"""Shared test setup."""

from __future__ import annotations

import pytest


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """Inner pytest runs skip hypothesis's plugin: its terminal summary imports all of hypothesis.

    pytester clears ``PYTEST_ADDOPTS`` for isolation, so this is set after it; in-process runs
    also drop modules they imported, so without this every inner run re-imports hypothesis.
    """
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest")
    # Inner runs must not append to the real job summary when our own CI is GitHub Actions.
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return pytester
