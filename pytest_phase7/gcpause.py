"""Pause Python's cyclic garbage collector while phase7 builds or renders large structures.

A 100,000-item plan allocates millions of small objects (items, targets, outcomes, table cells)
that live on. CPython runs a collection every few hundred allocations and the oldest generation
walks the whole heap, so without a pause the cost of loading, resolving and rendering grows
faster than the plan; with it, linearly (figures in ``benchmarks/RESULTS.md``).
The pause only covers phase7's own work, when no test runs: the collector is re-enabled (if it
was on) as soon as the work is done, and collects any cycles made meanwhile then.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Disable the cyclic garbage collector for the block; restore its previous state after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def gc_paused(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate ``function`` to run with the garbage collector paused (see the module docs)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with paused():
            return function(*args, **kwargs)

    return wrapper
