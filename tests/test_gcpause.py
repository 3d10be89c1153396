"""The garbage-collector pause around phase7's bulk work restores the collector's state."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pytest_phase7.gcpause import gc_paused, paused


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_disables_and_restores(collector_on: None) -> None:
    with paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_paused_restores_after_an_exception(collector_on: None) -> None:
    with pytest.raises(ValueError, match="boom"), paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_nested_pause_keeps_the_outer_one(collector_on: None) -> None:
    with paused():
        with paused():
            pass
        assert not gc.isenabled()  # the inner pause must not re-enable it early
    assert gc.isenabled()


def test_a_collector_the_user_turned_off_stays_off(collector_on: None) -> None:
    gc.disable()
    with paused():
        pass
    assert not gc.isenabled()


def test_decorated_function_runs_paused_and_keeps_its_name(collector_on: None) -> None:
    @gc_paused
    def state(flag: int) -> tuple[bool, int]:
        """Report the collector's state."""
        return gc.isenabled(), flag

    assert state(3) == (False, 3)
    assert state.__name__ == "state"
    assert state.__doc__ == "Report the collector's state."
    assert gc.isenabled()
