"""The gate interface: what a gate is given, what it returns.

A gate checks every target in one go (one tool process for all targets, as the tools are fastest
that way) and returns one :class:`GateResult` per target. A gate that cannot measure returns ERROR
results with a one-line reason and a hint; it never returns PASS for something it did not see.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pytest_phase7.wording import counted

if TYPE_CHECKING:
    from pytest_phase7.gates.cache import ResultStore
    from pytest_phase7.resolve import Target
    from pytest_phase7.settings import Settings


class GateStatus(enum.Enum):
    """A gate's verdict for one target."""

    PASS = "PASS"  # noqa: S105 - a status, not a password
    FAIL = "FAIL"
    ERROR = "ERROR"
    SKIP = "SKIP"


@dataclass(frozen=True)
class GateResult:
    """One gate's result for one target.

    ``metric`` is what the threshold is compared with (a percent for coverage and docstrings, a
    count for ruff and mypy); ``display`` is that metric as the tool itself would print it.
    ``details`` are what a reader needs to act: missing lines, violations, undocumented names.
    ``cached``: reused because nothing it depends on changed. ``carried``: not re-checked in
    changed-only mode (its files did not change); this is the last known result.
    """

    gate: str
    status: GateStatus
    metric: float | None = None
    display: str = ""
    threshold: float | None = None
    reason: str = ""
    hint: str = ""
    details: tuple[str, ...] = ()
    extra: tuple[tuple[str, float], ...] = ()
    seconds: float = 0.0
    cached: bool = False
    carried: bool = False

    @property
    def passed(self) -> bool:
        """True for PASS."""
        return self.status is GateStatus.PASS


@dataclass(frozen=True)
class GateRequest:
    """Everything a gate needs to run: where, on what, with which settings."""

    rootdir: Path
    targets: tuple[Target, ...]
    settings: Settings
    session: SessionData | None = None
    #: pytest's cache (None with ``-p no:cacheprovider``), for what a gate keeps between runs.
    store: ResultStore | None = None


@dataclass(frozen=True)
class SessionData:
    """What the test session measured, for gates that need it (coverage).

    ``coverage`` is a ``coverage.Coverage`` object holding this session's (combined) data, or
    None when nothing was measured; ``problem`` says why the data cannot be trusted (a partial
    test selection, ``--no-cov``), with ``hint`` saying what to do. ``gated`` is False for a
    partial run that is not to be gated (a developer's run, phase7 enabled by the project's
    config): session gates then report SKIP with ``problem`` as the reason, not ERROR.
    ``uncombined`` is true for a measurement that is still running (``coverage run -m pytest``):
    the parallel data files other processes wrote are not in it yet, and the gate combines them
    as ``coverage combine`` would.
    """

    coverage: object | None
    problem: str = ""
    hint: str = ""
    gated: bool = True
    uncombined: bool = False


@dataclass(frozen=True)
class GateRun:
    """A gate's results for all targets, keyed by target ref, plus facts about the run."""

    gate: str
    results: Mapping[str, GateResult]
    tool_version: str = ""
    seconds: float = 0.0
    context: tuple[str, ...] = field(default=())


@runtime_checkable
class Gate(Protocol):
    """A quality gate; the built-in gates and custom ones (``pytest_phase7_add_gates``) are these.

    ``needs_session`` gates run after the tests (they read what the session measured); the others
    are static and start when the session starts, running while the tests run. A session gate
    may also define ``prepare(request) -> None``: it is called in a background thread when the
    session starts (``request.session`` is None) to do, while the tests run, whatever does not
    need the session's data. It is an optimisation only: ``run`` must give the same results
    whether ``prepare`` ran, failed or never finished. Any gate may define ``find_tools() -> None``:
    it is called on the main thread before any gate thread starts, to find the executables the
    next ``run`` (or ``prepare``) uses, since finding them reads process-wide state (``PATH``,
    ``sysconfig``) that is not safe to read while other threads initialise it.
    """

    name: str
    title: str
    needs_session: bool

    def run(self, request: GateRequest) -> GateRun:
        """Check every target of ``request``; one result per ``target.ref``."""
        ...  # pragma: no cover


def error_run(
    gate: str,
    targets: Sequence[Target],
    reason: str,
    hint: str = "",
    *,
    tool_version: str = "",
    started: float | None = None,
) -> GateRun:
    """A run where the gate could not measure: every target is ERROR with the same reason.

    ``started`` (a ``time.perf_counter()`` reading) makes the run's seconds count from then.
    """
    one_line = " ".join(reason.split())
    result = GateResult(gate, GateStatus.ERROR, reason=one_line, hint=hint)
    seconds = 0.0 if started is None else time.perf_counter() - started
    return GateRun(
        gate, {t.ref: result for t in targets}, tool_version=tool_version, seconds=seconds
    )


def count_result(
    gate: str, count: int, maximum: int, noun: str, details: Sequence[str]
) -> GateResult:
    r"""A count gate's verdict: PASS with at most ``maximum`` ``noun``\ s, else FAIL.

    The count is the metric (ruff violations, mypy errors); ``details`` names each one.
    """
    failed = count > maximum
    return GateResult(
        gate,
        GateStatus.FAIL if failed else GateStatus.PASS,
        metric=float(count),
        display=str(count),
        threshold=float(maximum),
        reason=f"{counted(count, noun)} > {maximum} allowed" if failed else "",
        details=tuple(details),
    )


def _finite(value: float | None) -> float | None:
    # JSON has no NaN or infinity: a gate that produced one reported no usable figure.
    return value if value is None or math.isfinite(value) else None


def optional_float(value: object) -> float | None:
    """A number read back from JSON (None stays None); ``ValueError`` for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def result_to_json(result: GateResult) -> dict[str, Any]:
    """One gate result as JSON-able data (the JSON report and the gate cache share this form)."""
    return {
        "gate": result.gate,
        "status": result.status.value,
        "metric": _finite(result.metric),
        "display": result.display,
        "threshold": _finite(result.threshold),
        "reason": result.reason,
        "hint": result.hint,
        "details": list(result.details),
        "extra": {name: value for name, value in result.extra if math.isfinite(value)},
        "seconds": result.seconds,
        "cached": result.cached,
        "carried": result.carried,
    }


def result_from_json(raw: Mapping[str, Any]) -> GateResult:
    """Rebuild a :class:`GateResult` from :func:`result_to_json` data.

    Malformed data raises ``KeyError``, ``TypeError``, ``ValueError`` or ``AttributeError``.
    """
    return GateResult(
        gate=str(raw["gate"]),
        status=GateStatus(raw["status"]),
        metric=optional_float(raw["metric"]),
        display=str(raw["display"]),
        threshold=optional_float(raw["threshold"]),
        reason=str(raw["reason"]),
        hint=str(raw["hint"]),
        details=tuple(str(d) for d in raw["details"]),
        extra=tuple((str(name), float(value)) for name, value in raw["extra"].items()),
        seconds=float(raw["seconds"]),
        cached=bool(raw["cached"]),
        carried=bool(raw["carried"]),
    )
