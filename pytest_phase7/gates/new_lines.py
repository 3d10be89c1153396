"""The new-lines gate: coverage of the lines a pull request adds or changes, per target and file.

A session gate, present only with ``--phase7-changed-since``. It reads the same session data as
the coverage gate, through the same analysis (:func:`pytest_phase7.gates.coverage.file_analyses`),
and counts only the changed lines (:mod:`pytest_phase7.resolve.diffcov`): ``12/15 · 80%`` in the
``New lines`` column. ``--phase7-diff-coverage-min`` gates it, as coverage.py's ``fail_under``
would (its ``should_fail_under`` at the project's ``precision``).

It is a *merge gate*: it applies to every target whatever a batch's ``**Gates:**`` say, and also
to every changed Python file the plan does not name (those results are keyed by the file's path
and listed apart in the reports). A file or target below the minimum blocks the merge by itself
(:attr:`~pytest_phase7.gates.base.GateRun.blocking`), whatever its item's status: a pull request
into an item already DONE, or into no item at all, must still test what it adds.

Why a gate of its own rather than more figures of the coverage gate: its threshold, its verdict
and its column are separate from the module's, it exists only in pull requests (the coverage
gate's results are the same with or without a diff), and the engine then treats it like any
gate: its results carry the figure, its findings become annotations, its failures block.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pytest_phase7.gates.base import (
    Finding,
    GateRequest,
    GateResult,
    GateRun,
    GateStatus,
    error_run,
)
from pytest_phase7.gates.coverage import (
    ReportedFile,
    config_section,
    file_analyses,
    unmeasured_session,
)
from pytest_phase7.resolve.diffcov import GATE, NewLines, Totals, line_ranges, new_lines
from pytest_phase7.wording import counted, shown_list

if TYPE_CHECKING:
    from coverage import Coverage

    from pytest_phase7.resolve.diffcov import ChangedLines

OMITTED = "left out of coverage's report by its omit/include settings"


class NewLinesGate:
    """Coverage of each target's (and each changed file's) new lines >= ``diff_coverage_min``."""

    name = GATE
    title = "New lines"
    needs_session = True
    #: Applies to every target, whatever a batch narrows: see the module docstring.
    merge_gate = True

    def run(self, request: GateRequest) -> GateRun:
        """Count the changed lines' coverage in this session's data."""
        targets = request.targets
        diff = request.diff
        if diff is None:
            skipped = GateResult(self.name, GateStatus.SKIP, reason="not a pull-request run")
            return GateRun(self.name, {t.ref: skipped for t in targets})
        unmeasured = unmeasured_session(self.name, request)
        if unmeasured is not None:
            return unmeasured
        measured = request.session.coverage  # type: ignore[union-attr]  # checked just above
        started = time.perf_counter()
        try:
            run = self._measure(measured, request, diff)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - any coverage failure is an ERROR, not a crash
            return error_run(
                self.name,
                targets,
                f"coverage.py failed: {type(exc).__name__}: {exc}",
                "check the coverage configuration and data file",
            )
        import coverage  # noqa: PLC0415

        return GateRun(
            self.name,
            run.results,
            tool_version=coverage.__version__,
            seconds=time.perf_counter() - started,
            blocking=run.blocking,
        )

    def _measure(self, cov: Coverage, request: GateRequest, diff: ChangedLines) -> GateRun:
        configured = cov.get_option("report:precision")
        precision = configured if isinstance(configured, int) else 0
        minimum = request.settings.diff_coverage_min
        planned = {f for t in request.targets for f in t.files}
        changed = sorted(diff.lines)
        combine = request.session is not None and request.session.uncombined
        reported = file_analyses(cov, request.rootdir, changed, combine=combine)
        figures: dict[str, NewLines | str] = {}
        for path in changed:
            found = reported[path]
            if isinstance(found, ReportedFile):
                figures[path] = new_lines(path, found.analysis, diff.of(path), arcs=found.arcs)
            else:
                figures[path] = found if isinstance(found, str) else OMITTED
        results: dict[str, GateResult] = {}
        for target in request.targets:
            files = [f for f in target.files if diff.of(f)]
            if not files:
                results[target.ref] = GateResult(
                    self.name, GateStatus.SKIP, reason="not changed by the pull request"
                )
                continue
            results[target.ref] = self._judge([(f, figures[f]) for f in files], precision, minimum)
        for path in changed:
            if path in planned:
                continue
            found = reported[path]
            if isinstance(found, ReportedFile) and not found.measured:
                results[path] = GateResult(
                    self.name,
                    GateStatus.SKIP,
                    reason="not measured by coverage: " + _why_unmeasured(cov, request, path),
                )
            else:
                results[path] = self._judge([(path, figures[path])], precision, minimum)
        return GateRun(self.name, results, blocking=_blocking(results, planned, minimum))

    def _judge(
        self, files: Sequence[tuple[str, NewLines | str]], precision: int, minimum: float | None
    ) -> GateResult:
        """One target's (or file's) result from its changed files' figures."""
        from coverage.results import display_covered, should_fail_under  # noqa: PLC0415

        measured: list[NewLines] = []
        for path, figure in files:
            if isinstance(figure, str):
                status = GateStatus.SKIP if figure == OMITTED else GateStatus.ERROR
                hint = "" if figure == OMITTED else "check the coverage configuration and data"
                return GateResult(self.name, status, reason=f"{path}: {figure}", hint=hint)
            measured.append(figure)
        totals = Totals.of(measured)
        if not totals.measurable:
            return GateResult(
                self.name, GateStatus.SKIP, reason="no executable line changed", threshold=minimum
            )
        percent = totals.percent()
        failed = minimum is not None and should_fail_under(percent, minimum, precision)
        details: list[str] = []
        findings: list[Finding] = []
        for figure in measured:
            details += _details(figure)
            findings += _findings(figure)
        extra = [
            ("statements", float(totals.statements)),
            ("missing", float(totals.missing)),
            ("line_percent", totals.line_percent()),
        ]
        if totals.branches:
            extra += [
                ("branches", float(totals.branches)),
                ("missing_branches", float(totals.missing_branches)),
            ]
        return GateResult(
            self.name,
            GateStatus.FAIL if failed else GateStatus.PASS,
            metric=percent,
            display=totals.display(precision),
            threshold=minimum,
            reason=(
                f"{display_covered(percent, precision)}% < {minimum:g}%"
                if failed and minimum is not None
                else ""
            ),
            details=tuple(details),
            extra=tuple(extra),
            findings=tuple(findings),
        )


def _details(figure: NewLines) -> list[str]:
    """``src/x.py: new lines missing 12-14, 20; branches 16->18`` (nothing when all covered)."""
    parts = []
    ranges = line_ranges(figure.missing, figure.statements)
    if ranges:
        parts.append("new lines missing " + ", ".join(_span(a, b) for a, b in ranges))
    if figure.missing_arcs:
        shown = ", ".join(f"{a}->{b if b > 0 else 'exit'}" for a, b in figure.missing_arcs)
        parts.append(f"branches never taken {shown}")
    return [f"{figure.path}: {'; '.join(parts)}"] if parts else []


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _findings(figure: NewLines) -> list[Finding]:
    """An uncovered range of new lines, or a branch of a new line never taken: one finding each."""
    findings = []
    for first, last in line_ranges(figure.missing, figure.statements):
        where = f"line {first} is" if first == last else f"lines {first}-{last} are"
        findings.append(
            Finding(
                figure.path,
                first,
                f"{where} new and not covered by the tests",
                code="uncovered-line",
                tool="coverage",
                end_line=last if last != first else 0,
            )
        )
    for line, to in figure.missing_arcs:
        if line in figure.missing:
            continue  # the line itself is reported as not run
        where = f"to line {to}" if to > 0 else "out of the function"
        findings.append(
            Finding(
                figure.path,
                line,
                f"line {line} is new and its branch {where} is never taken by the tests",
                code="uncovered-branch",
                tool="coverage",
            )
        )
    return findings


def _blocking(
    results: Mapping[str, GateResult], planned: set[str], minimum: float | None
) -> tuple[str, ...]:
    """Why the pull request's new lines block the merge: targets and files below the minimum."""
    if minimum is None:
        return ()
    below = [ref for ref, r in results.items() if r.status is GateStatus.FAIL]
    broken = [
        ref for ref, r in results.items() if r.status is GateStatus.ERROR and ref not in planned
    ]
    reasons = []
    if below:
        reasons.append(
            f"new lines below {minimum:g}% covered in {counted(len(below), 'file')} "
            f"({shown_list(below)})"
        )
    if broken:
        reasons.append(f"new lines of {shown_list(broken)} could not be measured")
    return tuple(reasons)


def _why_unmeasured(cov: Coverage, request: GateRequest, path: str) -> str:
    """Why coverage.py has no data for a changed file: ``[run] omit``, its source, or no import.

    ``[run] omit`` is matched as coverage.py matches it (patterns not starting with a wildcard
    are taken relative to the current directory); a coverage.py without those helpers gets the
    general reason.
    """
    section = config_section(cov, "run", request.rootdir)
    omit = cov.get_option("run:omit")
    if isinstance(omit, list) and omit:
        try:
            from coverage.files import GlobMatcher, prep_patterns  # noqa: PLC0415

            omitted = GlobMatcher(prep_patterns(omit), "omit").match(str(request.rootdir / path))
        except (ImportError, TypeError, ValueError):
            omitted = False
        if omitted:
            return f"omit in {section} leaves it out"
    if cov.get_option("run:source") or cov.get_option("run:source_pkgs"):
        return f"outside source in {section}, or never imported by the tests"
    return "never imported by the tests"
