"""The coverage gate: per-target percent from this session's coverage.py data.

Numbers come from coverage.py itself. The data is what ``coverage report`` would read after this
session: pytest-cov's combined data, or under ``coverage run -m pytest`` the running measurement
with the parallel data files of its subprocesses combined in (in memory), ``[paths]`` applied.
Each target file is analysed as ``Coverage._analyze`` analyses it for ``coverage report``,
filtered by ``[report] include/omit`` as the report filters, summed into
``coverage.results.Numbers`` for package targets, displayed with ``display_covered`` and judged
with ``should_fail_under`` at the project's ``precision``. That is exactly what ``coverage
report`` prints and gates, for the target files only. The coverage.py internals this uses are
in :mod:`pytest_phase7.gates.coverage_api`; without them the figures come from
``Coverage.json_report``.

The expensive part of that analysis, parsing each file, does not depend on the tests: the gate
has it done while the tests run and caches it per file (:meth:`CoverageGate.prepare`,
:mod:`pytest_phase7.gates.coverage_static`), so after the tests only the measured lines are
combined with it. When a file's bytes and its measured data are both what they were in the last
run, the figures are too: they come from :mod:`pytest_phase7.gates.coverage_memo` without any
analysis, and only the files that changed (or ran differently) are analysed.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_phase7.gates import coverage_api
from pytest_phase7.gates.base import (
    GateRequest,
    GateResult,
    GateRun,
    GateStatus,
    error_run,
)
from pytest_phase7.gates.coverage_api import UnsupportedCoverageError
from pytest_phase7.gates.coverage_memo import (
    FiguresMemo,
    FileFigures,
    file_stat,
    measured_key,
)
from pytest_phase7.gates.coverage_static import (
    StaticAnalysis,
    StaticSpec,
    analyse_file,
    file_digest,
    load_cached,
    make_reporter,
    save_cached,
    spec_for,
)
from pytest_phase7.gates.tools import (
    BACKGROUND_NICENESS,
    SAFE_PATH_ENV,
    Deadline,
    ToolMissing,
    run_tool,
)

if TYPE_CHECKING:
    from pathlib import Path

    from coverage import Coverage, CoverageData
    from coverage.results import Analysis, Numbers

    from pytest_phase7.gates.cache import ResultStore

NO_DATA_HINT = "run pytest --phase7 without --no-cov (pytest-cov measures the session)"
NO_MEASUREMENT_HINT = (
    "check that pytest-cov (or coverage run) measures the tests; delete a stale .coverage file"
)
WORKER = "pytest_phase7.gates._coverage_worker"


class CoverageGate:
    """Coverage >= ``coverage_min`` (and branches >= ``branch_min``) per target."""

    name = "coverage"
    title = "Coverage"
    needs_session = True

    def __init__(self) -> None:
        """No static analysis prepared yet."""
        self._prepared: dict[str, StaticAnalysis] = {}
        self._prepared_spec = ""
        self._prepared_memo: FiguresMemo | None = None
        self._lock = threading.Lock()
        self._expected: Coverage | None = None

    def expect(self, cov: Coverage) -> None:
        """Prepare for ``cov``'s settings where nothing measures in this process (the helper).

        ``cov`` is not started: :meth:`prepare` only reads its configuration.
        """
        self._expected = cov

    def prepare(self, request: GateRequest) -> None:
        """While the tests run: load or compute the static analysis of every target file.

        Called by the engine in a background thread at session start. Only an optimisation:
        whatever is not ready (or was prepared under other coverage settings) is computed by
        :meth:`run` itself, with the same figures.
        """
        import coverage  # noqa: PLC0415

        cov = coverage.Coverage.current() or self._expected
        if cov is None:
            return  # nothing measures yet (e.g. --no-cov): nothing to prepare for
        spec = spec_for(cov)
        # A file that looks as it did when the last run remembered its figures (a stat, not a
        # read: this runs next to the tests) will most likely be answered by the memo; its
        # analysis is loaded after the tests only if the memo cannot answer after all.
        memo = FiguresMemo(request.store, spec.key)
        prepared: dict[str, StaticAnalysis] = {}
        missing: list[str] = []
        for path in _absolute_files(request):
            try:
                if memo.looks_unchanged(path, file_stat(path)):
                    continue
                digest = file_digest(path)
            except OSError:
                continue  # run() reports it
            cached = load_cached(request.store, path, spec)
            if cached is not None and cached.usable_for(digest, needs_arcs=spec.arcs):
                prepared[path] = cached
            else:
                missing.append(path)
        if missing:
            # A worker that fails costs time, not figures: run() parses what is missing.
            for path, analysis in _run_worker(request, spec, missing).items():
                prepared[path] = analysis
                save_cached(request.store, path, spec, analysis)
        with self._lock:
            self._prepared, self._prepared_spec = prepared, spec.key
            self._prepared_memo = memo

    def run(self, request: GateRequest) -> GateRun:
        """Read this session's coverage data for every target."""
        started = time.perf_counter()
        unmeasured = unmeasured_session(self.name, request)
        if unmeasured is not None:
            return unmeasured
        targets = request.targets
        measured = request.session.coverage  # type: ignore[union-attr]  # checked just above
        try:
            return self._measure(measured, request, started)  # type: ignore[arg-type]
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
        combine = request.session is not None and request.session.uncombined
        with coverage_api.reporting_data(cov, combine=combine) as data:
            measured = MeasuredFiles(data.measured_files())
            if not measured:
                # `coverage report` refuses this too ("No data to report"): a measurement that
                # recorded no file at all is a broken one (data missing, erased or unreadable),
                # and reporting every target as 0% would pass that breakage off as a figure.
                return error_run(
                    self.name,
                    request.targets,
                    "coverage.py recorded no data in this session (no file was measured)",
                    NO_MEASUREMENT_HINT,
                )
            try:
                analyses = self._analyse(cov, data, request)
            except UnsupportedCoverageError as exc:
                analyses = self._analyse_public(cov, data, request, str(exc))
        filtered = bool(cov.get_option("run:source") or cov.get_option("run:source_pkgs"))
        run_section = config_section(cov, "run", request.rootdir)

        results: dict[str, GateResult] = {}
        for target in request.targets:
            numbers: list[Numbers] = []
            details: list[str] = []
            problem = hint = ""
            for rel in target.files:
                path = os.path.abspath(request.rootdir / rel)
                figures = analyses.get(path)
                if isinstance(figures, str):
                    problem = f"{rel}: {figures}"
                    break
                if figures is None:
                    problem = f"{rel} is left out of coverage's report by its omit/include settings"
                    hint = "drop it from omit (or add it to include) in " + config_section(
                        cov, "report", request.rootdir
                    )
                    break
                imported = measured.contains(path)
                if not imported and filtered:
                    problem = f"{rel} is outside coverage's measured source"
                    hint = f"add it to --cov or to source in {run_section}, or drop it from omit"
                    break
                numbers.append(figures.numbers(precision))
                if figures.missing:
                    details.append(f"{rel}: missing {figures.missing}")
                if not imported:
                    details.append(f"{rel}: never imported by the tests")
            if problem:
                results[target.ref] = GateResult(
                    self.name,
                    GateStatus.ERROR,
                    reason=problem,
                    hint=hint,
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
                branch_hint=f"set branch = true in {run_section}, or pass --cov-branch",
            )
        return GateRun(
            self.name,
            results,
            tool_version=coverage.__version__,
            seconds=time.perf_counter() - started,
        )

    def _analyse(
        self, cov: Coverage, data: CoverageData, request: GateRequest
    ) -> dict[str, FileFigures | str | None]:
        """Each target file's figures, from coverage.py's own analysis of ``data``.

        None when ``[report] include/omit`` leaves a file out; a one-line reason when coverage.py
        cannot analyse it. Python files whose bytes and measured data are those of the last run
        are answered by the memo; the others are analysed by coverage.py, from the prepared
        static analysis where there is one. Raises ``UnsupportedCoverageError`` (before any
        file is analysed) when this coverage.py lacks the internals this path uses.
        """
        analyse = coverage_api.analyser(cov, data)
        data_name = coverage_api.data_name(cov)
        reported = coverage_api.report_filter(cov)
        reporter_of = coverage_api.file_reporter
        spec = spec_for(cov)
        needs_arcs = data.has_arcs()
        with self._lock:
            same_spec = self._prepared_spec == spec.key
            prepared = self._prepared if same_spec else {}
            # The memo the preparation read serves this run once; otherwise read it now.
            memo = (self._prepared_memo if same_spec else None) or FiguresMemo(
                request.store, spec.key
            )
            self._prepared_memo = None
        found: dict[str, FileFigures | str | None] = {}
        with coverage_api.one_connection(data):
            for path in _absolute_files(request):
                reporter = reporter_of(cov, path)
                if not reported(reporter.filename):
                    found[path] = None
                    continue
                try:
                    if not coverage_api.is_python_reporter(reporter):
                        found[path] = FileFigures.from_analysis(analyse(reporter))
                        continue
                    stat = file_stat(path)  # before the bytes: a later edit then looks changed
                    digest = file_digest(path)
                    name = data_name(reporter.filename)  # the name the data knows the file by
                    recorded = data.arcs(name) if needs_arcs else data.lines(name)
                    key = measured_key(spec.key, digest, needs_arcs, recorded or ())
                    figures = memo.get(path, key)
                    if figures is None:
                        static = self._static(
                            request.store, path, spec, prepared, needs_arcs, digest=digest
                        )
                        if static is not None:
                            reporter = make_reporter(reporter, static)
                        figures = FileFigures.from_analysis(analyse(reporter))
                    memo.put(path, key, figures, stat)
                    found[path] = figures
                except Exception as exc:  # noqa: BLE001 - coverage's NotPython, NoSource, ...
                    found[path] = f"coverage.py cannot analyse it: {type(exc).__name__}: {exc}"
        memo.save()
        return found

    @staticmethod
    def _analyse_public(
        cov: Coverage, data: CoverageData, request: GateRequest, missing: str
    ) -> dict[str, FileFigures | str | None]:
        """Each target file's figures from ``Coverage.json_report``: slower, the same figures.

        The report reads ``cov``'s own data, so this path is taken only when that is ``data``
        (with ``[paths]`` applied by the report itself): not for a ``coverage run`` whose
        parallel files or ``[paths]`` the gate had to combine in memory.
        """
        files = _absolute_files(request)
        if data is not cov.get_data() and request.session and request.session.uncombined:
            reason = (
                f"{missing}: under coverage run with parallel data files or [paths], phase7 "
                "cannot combine them exactly with this coverage.py (run pytest --cov instead)"
            )
            return dict.fromkeys(files, reason)
        entries = coverage_api.public_figures(cov, files)
        found: dict[str, FileFigures | str | None] = {}
        for path in files:
            entry = entries.get(path)
            if entry is None or isinstance(entry, str):
                found[path] = entry
            else:
                found[path] = coverage_api.figures_from_report(entry)
        return found

    @staticmethod
    def _static(
        store: ResultStore | None,
        path: str,
        spec: StaticSpec,
        prepared: dict[str, StaticAnalysis],
        needs_arcs: bool,
        *,
        digest: str,
    ) -> StaticAnalysis | None:
        """The file's static analysis: prepared, cached or computed now (None: not supported).

        ``digest`` is the SHA-256 of the file's bytes as the caller read them.
        """
        static = prepared.get(path)
        if static is not None and static.usable_for(digest, needs_arcs=needs_arcs):
            return static
        static = load_cached(store, path, spec)  # not prepared (phase7 gate, a late file)
        if static is not None and static.usable_for(digest, needs_arcs=needs_arcs):
            return static
        wanted = StaticSpec(
            spec.exclude, spec.partial, needs_arcs, spec.coverage_version, spec.python
        )
        try:
            static = analyse_file(path, wanted)
        except UnsupportedCoverageError:
            return None  # coverage.py parses it itself, the slow way
        save_cached(store, path, spec, static)
        return static


def unmeasured_session(gate: str, request: GateRequest) -> GateRun | None:
    """The run of a gate that reads this session's coverage data when there is none to read.

    ``None`` when the session measured; else every target SKIPs (a run that is not gated, such
    as a partial selection) or is an ERROR with the reason and a hint (no data, a problem).
    """
    session = request.session
    targets = request.targets
    if session is not None and session.problem and not session.gated:
        skipped = GateResult(gate, GateStatus.SKIP, reason=f"not gated: {session.problem}")
        return GateRun(gate, {target.ref: skipped for target in targets})
    if session is None or session.coverage is None:
        reason = session.problem if session and session.problem else "no coverage data"
        hint = session.hint if session and session.hint else NO_DATA_HINT
        return error_run(gate, targets, reason, hint)
    if session.problem:
        return error_run(gate, targets, session.problem, session.hint)
    return None


def config_section(cov: Coverage, section: str, rootdir: Path) -> str:
    """Where this project configures coverage.py's ``[section]``, for hints.

    ``[tool.coverage.run] in pyproject.toml``, ``[run] in .coveragerc``, ``[coverage:run] in
    setup.cfg`` (or tox.ini), named after the file coverage.py itself read its settings from
    (``config.config_file``); without one, the project's ``pyproject.toml`` if it has one, else
    ``.coveragerc``.
    """
    used = getattr(cov.config, "config_file", None)
    name = os.path.basename(used) if used else ""
    if not name:
        name = "pyproject.toml" if (rootdir / "pyproject.toml").is_file() else ".coveragerc"
    if name == "pyproject.toml":
        header = f"tool.coverage.{section}"
    elif name in {"setup.cfg", "tox.ini"}:
        header = f"coverage:{section}"
    else:  # .coveragerc, .coveragerc.toml, or the file --cov-config / COVERAGE_RCFILE names
        header = section
    return f"[{header}] in {name}"


class MeasuredFiles:
    """The files coverage.py measured, for "was this file imported?" questions.

    coverage.py usually stores real absolute paths, so a file's realpath is looked up as it is;
    only when that misses (``relative_files``, symlinked folders) are all measured names
    resolved, once.
    """

    def __init__(self, names: Iterable[str]) -> None:
        """Remember the names as coverage.py stored them."""
        self._names = set(names)
        self._resolved: set[str] | None = None

    def __bool__(self) -> bool:
        """True when anything was measured."""
        return bool(self._names)

    def contains(self, path: str) -> bool:
        """Whether ``path`` (absolute) was measured."""
        if path in self._names:  # the usual case; realpath costs a system call per folder
            return True
        real = os.path.realpath(path)
        if real in self._names:
            return True
        if self._resolved is None:
            self._resolved = {os.path.realpath(name) for name in self._names}
        return real in self._resolved


def _absolute_files(request: GateRequest) -> list[str]:
    files = sorted({f for t in request.targets for f in t.files})
    return [os.path.abspath(request.rootdir / f) for f in files]


def _run_worker(
    request: GateRequest, spec: StaticSpec, files: Sequence[str]
) -> dict[str, StaticAnalysis]:
    """Parse ``files`` in the worker process; the analyses it produced (none if it failed)."""
    argv = [sys.executable, "-m", WORKER, *spec.to_argv(), "--", *files]
    try:
        output = run_tool(
            argv,
            request.rootdir,
            Deadline(request.settings.timeout).remaining(),
            SAFE_PATH_ENV,
            niceness=BACKGROUND_NICENESS,
        )
    except ToolMissing:
        return {}
    if output.timed_out or output.returncode != 0:
        return {}
    try:
        document = json.loads(output.stdout)
        if document["spec"] != spec.key:
            return {}  # another coverage.py or Python answered: its analyses would not fit
        computed = {}
        for path, raw in document["files"].items():
            if "error" not in raw:
                computed[path] = StaticAnalysis.from_json(raw)
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}
    return computed


def _judge(
    gate: str,
    total: Numbers,
    coverage_min: float,
    branch_min: float | None,
    *,
    branch_measured: bool,
    details: tuple[str, ...],
    branch_hint: str = "",
) -> GateResult:
    """PASS/FAIL exactly as coverage.py's fail_under would decide, at its precision."""
    from coverage.results import display_covered, should_fail_under  # noqa: PLC0415

    precision = total.precision
    percent = float(total.pc_covered)
    line_percent, branch_percent = coverage_api.percents(total)
    shown = f"{display_covered(percent, precision)}%"
    extra: list[tuple[str, float]] = [
        ("statements", float(total.n_statements)),
        ("missing", float(total.n_missing)),
        ("line_percent", line_percent),
    ]
    if branch_measured:
        extra += [
            ("branches", float(total.n_branches)),
            ("partial_branches", float(total.n_partial_branches)),
            ("missing_branches", float(total.n_missing_branches)),
            ("branch_percent", branch_percent),
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
                hint=branch_hint,
                details=details,
                extra=tuple(extra),
            )
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


@dataclass(frozen=True)
class ReportedFile:
    """coverage.py's own analysis of one file, as ``coverage report`` makes it.

    ``measured``: the session's data has the file (imported by the tests, or inside ``source``);
    ``arcs``: the data has branch coverage.
    """

    analysis: Analysis
    measured: bool
    arcs: bool


def file_analyses(
    cov: Coverage, rootdir: Path, paths: Sequence[str], *, combine: bool = False
) -> dict[str, ReportedFile | str | None]:
    """The ``Analysis`` of each rootdir-relative path, for gates that need more than counts.

    The same analysis as the coverage gate's (the data ``coverage report`` would report,
    :func:`coverage_api.reporting_data`; ``[report] include/omit`` applied), without its memo:
    the new-lines gate asks it for the few files a pull request changed. ``combine`` as for
    :class:`SessionData` ``uncombined``. A path maps to None when ``include``/``omit`` leave it
    out of coverage's report, to a one-line reason when coverage.py cannot analyse it.
    """
    found: dict[str, ReportedFile | str | None] = {}
    with coverage_api.reporting_data(cov, combine=combine) as data:
        try:
            analyse = coverage_api.analyser(cov, data)
            reported = coverage_api.report_filter(cov)
        except coverage_api.UnsupportedCoverageError as exc:
            return dict.fromkeys(paths, f"this coverage.py cannot analyse changed lines: {exc}")
        measured = MeasuredFiles(data.measured_files())
        arcs = data.has_arcs()
        for rel in paths:
            path = os.path.abspath(rootdir / rel)
            try:
                reporter = coverage_api.file_reporter(cov, path)
                if not reported(reporter.filename):
                    found[rel] = None
                    continue
                found[rel] = ReportedFile(analyse(reporter), measured.contains(path), arcs)
            except Exception as exc:  # noqa: BLE001 - coverage's NotPython, NoSource, ...
                found[rel] = f"coverage.py cannot analyse it: {type(exc).__name__}: {exc}"
    return found
