"""Deterministic stand-ins for wall-clock measurements in tests.

Speed is measured in ``benchmarks/``, side by side and as ratios. A test asserts only what does
not depend on how loaded the machine is: how much work a call did (:func:`executed_lines`), and
what a clock would have said (:class:`SteppingClock`). ``test_deterministic.py`` keeps it so.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any


def executed_lines(function: Callable[[], object]) -> int:
    """How many Python lines ``function()`` executes, its callees' included.

    The same code on the same input always executes the same lines, however busy the machine
    is, so a count can show that work grows linearly where a timing only hints at it. Work done
    inside one C call (a regex, ``x in some_list``) is one line here: ``benchmarks/overhead.py``
    measures time. The tracer that was there (coverage.py's) is put back afterwards, which
    leaves only ``function``'s own lines unmeasured by it.
    """
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Callable[..., Any]:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def call(frame: FrameType, event: str, arg: Any) -> Callable[..., Any]:
        return local

    previous = sys.gettrace()
    sys.settrace(call)
    try:
        function()
    finally:
        sys.settrace(previous)
    return count


class SteppingClock:
    """A stand-in for one module's ``time``: ``perf_counter()`` advances ``step`` per call.

    Everything else is the real :mod:`time`. Install it with
    ``monkeypatch.setattr(module, "time", SteppingClock(2.5))``: a duration that module measures
    between two readings is then exactly ``step``.
    """

    def __init__(self, step: float) -> None:
        """Start at 1000 s; each reading adds ``step``."""
        self.step = step
        self.readings = 0

    def perf_counter(self) -> float:
        """The next reading."""
        self.readings += 1
        return 1000.0 + self.readings * self.step

    def __getattr__(self, name: str) -> Any:
        """The real :mod:`time` for everything else (``sleep``, ``monotonic``, ...)."""
        return getattr(time, name)
