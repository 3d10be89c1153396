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
    from pytest_phase7.diffcov import ChangedLines
    from pytest_phase7.gates.cache import ResultStore
    from pytest_phase7.resolve import Target
    from pytest_phase7.settings import Settings


class GateStatus(enum.Enum):
    """A gate's verdict for one target."""

    PASS = "PASS"  # noqa: S105 - a status, not a password
    FAIL = "FAIL"
    ERROR = "ERROR"
    SKIP = "SKIP"


#: A finding's severity: what the tool says of it (``error`` blocks, ``warning`` is within an
#: allowance, ``notice`` informs). Annotations, SARIF levels and Code Quality severities map these.
SEVERITIES = ("error", "warning", "notice")


@dataclass(frozen=True)
class Finding:
    """One thing a gate found at a place in a file: what annotations, SARIF and Code Quality show.

    ``path`` is rootdir-relative (POSIX); lines and columns count from 1, and 0 means unknown
    (``line`` 0: the file as a whole; ``end_line`` 0: the same as ``line``). ``end_column`` is
    the column just past the last character, as ruff and SARIF count it. ``code`` is the
    tool's rule (``F401``, ``arg-type``, ``uncovered-line``), ``tool`` who found it, ``url`` the
    rule's documentation when the tool names one.
    """

    path: str
    line: int
    message: str
    code: str = ""
    tool: str = ""
    severity: str = "error"
    end_line: int = 0
    column: int = 0
    end_column: int = 0
    url: str = ""

    @property
    def last_line(self) -> int:
        """The last line the finding covers (``end_line``, else ``line``)."""
        return max(self.line, self.end_line)


def finding_to_json(finding: Finding) -> dict[str, Any]:
    """One finding as JSON-able data (the report and the cache share this form)."""
    return {
        "path": finding.path,
        "line": finding.line,
        "end_line": finding.end_line,
        "column": finding.column,
        "end_column": finding.end_column,
        "code": finding.code,
        "message": finding.message,
        "severity": finding.severity,
        "tool": finding.tool,
        "url": finding.url,
    }


def finding_from_json(raw: Mapping[str, Any]) -> Finding:
    """Rebuild a :class:`Finding` from :func:`finding_to_json` data (``ValueError`` if odd)."""
    numbers = [raw[key] for key in ("line", "end_line", "column", "end_column")]
    if not all(type(n) is int and n >= 0 for n in numbers):
        raise ValueError(f"a finding's lines and columns are counts, got {numbers!r}")
    severity = str(raw["severity"])
    if severity not in SEVERITIES:
        raise ValueError(f"unknown finding severity {severity!r}")
    line, end_line, column, end_column = numbers
    return Finding(
        path=str(raw["path"]),
        line=line,
        message=str(raw["message"]),
        code=str(raw["code"]),
        tool=str(raw["tool"]),
        severity=severity,
        end_line=end_line,
        column=column,
        end_column=end_column,
        url=str(raw["url"]),
    )


@dataclass(frozen=True)
class GateResult:
    """One gate's result for one target.

    ``metric`` is what the threshold is compared with (a percent for coverage and docstrings, a
    count for ruff and mypy); ``display`` is that metric as the tool itself would print it.
    ``details`` are what a reader needs to act: missing lines, violations, undocumented names.
    ``cached``: reused because nothing it depends on changed. ``carried``: not re-checked in
    changed-only mode (its files did not change); this is the last known result. ``findings``
    are the details with their place (file, lines, rule), for annotations, SARIF and Code
    Quality; never parsed back out of ``details``.
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
    findings: tuple[Finding, ...] = ()

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
    #: Changed-only mode (``--phase7-changed-since``): the lines the pull request added or
    #: changed, per file. None otherwise.
    diff: ChangedLines | None = None


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
    """A gate's results for all targets, keyed by target ref, plus facts about the run.

    ``blocking`` are reasons this run blocks the merge by itself, whatever the items' statuses
    (a merge gate: the pull request's new lines below ``--phase7-diff-coverage-min``, in a
    target or in a file the plan does not name). ``results`` may then hold more keys than the
    targets: the files outside the plan, by path.
    """

    gate: str
    results: Mapping[str, GateResult]
    tool_version: str = ""
    seconds: float = 0.0
    context: tuple[str, ...] = field(default=())
    blocking: tuple[str, ...] = ()


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
    gate: str,
    count: int,
    maximum: int,
    noun: str,
    details: Sequence[str],
    *,
    findings: Sequence[Finding] = (),
) -> GateResult:
    r"""A count gate's verdict: PASS with at most ``maximum`` ``noun``\ s, else FAIL.

    The count is the metric (ruff violations, mypy errors); ``details`` names each one, and
    ``findings`` locates each one for annotations, SARIF and Code Quality.
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
        findings=tuple(findings),
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
        "findings": [finding_to_json(f) for f in result.findings],
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
        # Reports written before findings existed have none.
        findings=tuple(finding_from_json(f) for f in raw.get("findings", ())),
    )
