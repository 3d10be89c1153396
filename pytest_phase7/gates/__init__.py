"""The built-in gates, shipped as an ordinary ``pytest_phase7_add_gates`` implementation.

The third stage of the pipeline (manifest -> resolve -> gates -> status -> report): every gate
checks all its targets in one go and returns a result per target. Custom gates are added the
same way, from a ``conftest.py`` or a plugin (see :mod:`pytest_phase7.hookspecs`).

* ``base``: the gate interface (``Gate``, ``GateRequest``, ``GateResult``, ...), a public path.
* ``coverage``: per-target coverage from the session's coverage.py data.
* ``ruff``, ``mypy``, ``docstrings``: one run of the tool (interrogate for docstrings) over all
  targets.
* ``new_lines``: coverage of the lines a pull request adds or changes.
* ``tools``: running a tool in a subprocess, safely and with a deadline.
* ``cache``: static gate results kept across runs, keyed by everything that can change them.
* ``tool_inputs``: what each tool reads besides the targets, for the cache key.
* ``coverage_api``: every coverage.py internal the coverage gate uses, each with its fallback.
* ``coverage_static``, ``coverage_memo``: coverage.py's static analysis and per-file figures,
  computed once and remembered.
* ``_coverage_worker``, ``_interrogate_worker``: the subprocesses that do that work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

from pytest_phase7.gates.base import Gate, GateRequest, GateResult, GateRun, GateStatus

if TYPE_CHECKING:
    import pytest

__all__ = ["BuiltinGates", "Gate", "GateRequest", "GateResult", "GateRun", "GateStatus"]

#: ``pytest.hookimpl`` itself, without importing pytest: the gates' worker processes
#: (``python -m pytest_phase7.gates._coverage_worker``) import this package first, and importing
#: pytest there would cost each of them more than the work it starts for.
_hookimpl = pluggy.HookimplMarker("pytest")


class BuiltinGates:
    """Contributes coverage, ruff, mypy and docstrings, in that order.

    In a pull request (``new_lines``: ``--phase7-changed-since`` is set) also the new-lines gate,
    after coverage.
    """

    def __init__(self, *, new_lines: bool = False) -> None:
        """``new_lines``: contribute the new-lines gate too."""
        self.new_lines = new_lines

    @_hookimpl(trylast=True)
    def pytest_phase7_add_gates(self, config: pytest.Config) -> list[Gate]:
        """The built-in gates (imported only when phase7 runs)."""
        return builtin_gates(new_lines=self.new_lines)


def builtin_gates(*, new_lines: bool = False) -> list[Gate]:
    """Fresh instances of the built-in gates (the new-lines gate only when asked for)."""
    from pytest_phase7.gates.coverage import CoverageGate  # noqa: PLC0415

    gates: list[Gate] = [CoverageGate(), *static_gates()]
    if new_lines:
        from pytest_phase7.gates.new_lines import NewLinesGate  # noqa: PLC0415

        gates.insert(1, NewLinesGate())
    return gates


def static_gates() -> list[Gate]:
    """Fresh instances of the built-in gates that need no session: ruff, mypy, docstrings.

    What starts at start-up, before the tests: the coverage gate's modules are not imported.
    """
    from pytest_phase7.gates.docstrings import DocstringsGate  # noqa: PLC0415
    from pytest_phase7.gates.mypy import MypyGate  # noqa: PLC0415
    from pytest_phase7.gates.ruff import RuffGate  # noqa: PLC0415

    return [RuffGate(), MypyGate(), DocstringsGate()]
