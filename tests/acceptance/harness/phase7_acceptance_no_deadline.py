"""A plugin of the acceptance tier's harness: Hypothesis deadlines off for the project's run.

A Hypothesis deadline fails a test whose single example takes longer than a set time. That is
a timing assertion, and the tier runs a project's suite on a loaded two-core CI machine, under
coverage and beside the gates' tools, where an example can stall well past a deadline meant for a
developer's idle machine. None of the figures the tier compares depends on it.

Loaded with ``-p`` (see ``harness_plugins`` in projects.toml). Every other setting of the
profile the project's own conftest loaded is kept: only ``deadline`` changes. It changes after
the initial conftests' ``pytest_configure`` (before a test module's ``@settings`` copies the
defaults) and again once collection has loaded every conftest, in each xdist worker as in a
serial run.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

PROFILE = "phase7-acceptance-no-deadline"


def lift_deadline() -> None:
    """Load the profile in force with its deadline lifted."""
    settings.register_profile(PROFILE, parent=settings(), deadline=None)
    settings.load_profile(PROFILE)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """After the initial conftests have loaded their profile."""
    lift_deadline()


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """After the conftests collection found have loaded theirs."""
    lift_deadline()
