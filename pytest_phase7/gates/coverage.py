"""The coverage gate: per-target percent from this session's coverage.py data.

Numbers come from coverage.py itself: ``Coverage.json_report`` restricted to the target files
(so only they are analysed, not the whole ``source``), summed into ``coverage.results.Numbers``
for package targets, displayed with ``display_covered`` and judged with ``should_fail_under`` at
the project's ``precision``. That is exactly what ``coverage report`` prints and gates.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_phase7.gates.base import (
    GateRequest,
    GateResult,
    GateRun,
    GateStatus,
    error_run,
)

if TYPE_CHECKING:
    from coverage import Coverage
    from coverage.results import Numbers

NO_DATA_HINT = "run pytest --phase7 without --no-cov (pytest-cov measures the session)"
NO_MEASUREMENT_HINT = (
    "check that pytest-cov (or coverage run) measures the tests; delete a stale .coverage file"
)


class CoverageGate:
    """Coverage >= ``coverage_min`` (and branches >= ``branch_min``) per target."""

    name = "coverage"
    title = "Coverage"
    needs_session = True

    def run(self, request: GateRequest) -> GateRun:
        """Read this session's coverage data for every target."""
        started = time.perf_counter()
        session = request.session
        targets = request.targets
        if session is None or session.coverage is None:
            reason = session.problem if session and session.problem else "no coverage data"
            hint = session.hint if session and session.hint else NO_DATA_HINT
            return error_run(self.name, targets, reason, hint)
        if session.problem:
            return error_run(self.name, targets, session.problem, session.hint)
        try:
            return self._measure(session.coverage, request, started)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - any coverage failure is an ERROR, not a crash
            return error_run(
                self.name,
                targets,
                f"coverage.py failed: {type(exc).__name__}: {exc}",
                "check the coverage configuration and data file",
            )

    def _measure(self, cov: Coverage, request: GateRequest, started: float) -> GateRun:
        import coverage  # noqa: PLC0415 - imported only when the gate runs
        from coverage.results import Numbers  # noqa: PLC0415

        settings = request.settings
        configured = cov.get_option("report:precision")
        precision = configured if isinstance(configured, int) else 0
        branch_measured = bool(cov.get_option("run:branch"))
        files = sorted({f for t in request.targets for f in t.files})
        absolute = {f: os.path.abspath(request.rootdir / f) for f in files}
        per_file = self._report(cov, list(absolute.values()))
        measured = {os.path.realpath(p) for p in cov.get_data().measured_files()}
        if not measured:
            # `coverage report` refuses this too ("No data to report"): a measurement that
            # recorded no file at all is a broken one (data missing, erased or unreadable), and
            # reporting every target as 0% would pass that breakage off as a figure.
            return error_run(
                self.name,
                request.targets,
                "coverage.py recorded no data in this session (no file was measured)",
                NO_MEASUREMENT_HINT,
            )
        filtered = bool(cov.get_option("run:source") or cov.get_option("run:source_pkgs"))

        results: dict[str, GateResult] = {}
        for target in request.targets:
            numbers: list[Numbers] = []
            details: list[str] = []
            problem = ""
            for rel in target.files:
                data = per_file.get(os.path.realpath(absolute[rel]))
                if data is None:
                    problem = f"{rel} is left out of coverage's report by its omit/include settings"
                    break
                if os.path.realpath(absolute[rel]) not in measured and filtered:
                    problem = f"{rel} is outside coverage's measured source"
                    break
                summary = data["summary"]
                numbers.append(
                    Numbers(
                        precision=precision,
                        n_files=1,
                        n_statements=summary["num_statements"],
                        n_excluded=summary["excluded_lines"],
                        n_missing=summary["missing_lines"],
                        n_branches=summary.get("num_branches", 0),
                        n_partial_branches=summary.get("num_partial_branches", 0),
                        n_missing_branches=summary.get("missing_branches", 0),
                    )
                )
                missing = _missing_text(data)
                if missing:
                    details.append(f"{rel}: missing {missing}")
                if os.path.realpath(absolute[rel]) not in measured:
                    details.append(f"{rel}: never imported by the tests")
            if problem:
                results[target.ref] = GateResult(
                    self.name,
                    GateStatus.ERROR,
                    reason=problem,
                    hint="add the target to --cov / [coverage:run] source, or drop it from omit",
                )
                continue
            total = sum(numbers, Numbers(precision=precision))
            results[target.ref] = _judge(
                self.name,
                total,
                settings.coverage_min,
                settings.branch_min,
                branch_measured=branch_measured,
                details=tuple(details),
            )
        return GateRun(
            self.name,
            results,
            tool_version=coverage.__version__,
            seconds=time.perf_counter() - started,
        )

    @staticmethod
    def _report(cov: Coverage, morfs: list[str]) -> Mapping[str, dict[str, Any]]:
        if not morfs:
            return {}
        from coverage.exceptions import NoDataError  # noqa: PLC0415

        with tempfile.TemporaryDirectory(prefix="phase7-cov-") as tmp:
            out = Path(tmp) / "coverage.json"
            try:
                cov.json_report(morfs=morfs, outfile=str(out))
            except NoDataError:
                # Every target was filtered out by [report] omit/include: each is reported so.
                return {}
            report = json.loads(out.read_text(encoding="utf-8"))
        files = report.get("files")
        if not isinstance(files, dict):
            raise ValueError("coverage JSON report has no 'files' table")
        # Keys are coverage's own relative names; compute them the way coverage does.
        from coverage.files import canonical_filename, relative_filename  # noqa: PLC0415

        keyed = {}
        for morf in morfs:
            data = files.get(relative_filename(canonical_filename(morf)))
            if data is not None:
                keyed[os.path.realpath(morf)] = data
        return keyed


def _judge(
    gate: str,
    total: Numbers,
    coverage_min: float,
    branch_min: float | None,
    *,
    branch_measured: bool,
    details: tuple[str, ...],
) -> GateResult:
    """PASS/FAIL exactly as coverage.py's fail_under would decide, at its precision."""
    from coverage.results import display_covered, should_fail_under  # noqa: PLC0415

    precision = total.precision
    percent = float(total.pc_covered)
    shown = f"{display_covered(percent, precision)}%"
    extra: list[tuple[str, float]] = [
        ("statements", float(total.n_statements)),
        ("missing", float(total.n_missing)),
        ("line_percent", float(total.pc_statements)),
    ]
    if branch_measured:
        extra += [
            ("branches", float(total.n_branches)),
            ("missing_branches", float(total.n_missing_branches)),
            ("branch_percent", float(total.pc_branches)),
        ]
    failures = []
    if should_fail_under(percent, coverage_min, precision):
        failures.append(f"{shown} < {coverage_min:g}%")
    if branch_min is not None:
        if not branch_measured:
            return GateResult(
                gate,
                GateStatus.ERROR,
                metric=percent,
                display=shown,
                threshold=coverage_min,
                reason="branch_min is set but branch coverage was not measured",
                hint="set [coverage:run] branch = true or pass --cov-branch",
                details=details,
                extra=tuple(extra),
            )
        branch_percent = float(total.pc_branches)
        if should_fail_under(branch_percent, branch_min, precision):
            failures.append(
                f"branches {display_covered(branch_percent, precision)}% < {branch_min:g}%"
            )
    return GateResult(
        gate,
        GateStatus.FAIL if failures else GateStatus.PASS,
        metric=percent,
        display=shown,
        threshold=coverage_min,
        reason="; ".join(failures),
        details=details,
        extra=tuple(extra),
    )


def _missing_text(data: Mapping[str, Any]) -> str:
    from coverage.results import format_lines  # noqa: PLC0415

    executed = data.get("executed_lines", [])
    missing = data.get("missing_lines", [])
    if not missing and not data.get("missing_branches"):
        return ""
    arcs: dict[int, list[int]] = defaultdict(list)
    for start, end in data.get("missing_branches", []):
        arcs[start].append(end)
    statements: Iterable[int] = sorted(set(executed) | set(missing))
    return str(format_lines(statements, missing, arcs=sorted(arcs.items()) or None))
