"""Glue between pytest's objects and phase7's plain modules (used by :mod:`plugin` hooks).

Everything that reads ``pytest.Config`` or ``pytest.Session`` lives here, so the modules behind it
(manifest, resolve, gates, status, report) never see pytest and can be tested on plain data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_phase7.activation import outer_coverage, read_settings
from pytest_phase7.engine import Engine, RunResult
from pytest_phase7.errors import Phase7Error
from pytest_phase7.gates.base import Gate, SessionData
from pytest_phase7.model import PlanStatus
from pytest_phase7.settings import Settings
from pytest_phase7.status import ItemOutcome

FULL_RUN_HINT = (
    "run the whole test suite (no -k/-m/--lf/node ids), or narrow the gates with --phase7-gates"
)


def build_engine(config: pytest.Config) -> Engine:
    """Load settings, manifest and targets, and collect the gates; usage errors, not tracebacks."""
    from pytest_phase7.baseline import load_baseline  # noqa: PLC0415
    from pytest_phase7.changed import changed_files  # noqa: PLC0415
    from pytest_phase7.gates import BuiltinGates  # noqa: PLC0415
    from pytest_phase7.insights import InsightSections  # noqa: PLC0415
    from pytest_phase7.manifest import raise_for_errors  # noqa: PLC0415
    from pytest_phase7.project import display_path, find_manifest  # noqa: PLC0415
    from pytest_phase7.resolve import RepoIndex, resolve_items  # noqa: PLC0415

    try:
        settings, table, label = read_settings(config)
        from_cli = getattr(config.option, "phase7_manifest", None)
        manifest = find_manifest(
            config.rootpath,
            settings.manifest,
            table,
            label,
            base=config.invocation_params.dir if from_cli else config.rootpath,
        )
        raise_for_errors(manifest)
        if not config.pluginmanager.has_plugin("phase7-builtin-gates"):
            config.pluginmanager.register(BuiltinGates(), "phase7-builtin-gates")
        if not config.pluginmanager.has_plugin("phase7-insights"):
            history = _output_path(config, settings.history, "phase7_history")
            config.pluginmanager.register(InsightSections(settings, history), "phase7-insights")
        gates = select_gates(config.hook.pytest_phase7_add_gates(config=config), settings)
        index = RepoIndex(config.rootpath)
        resolutions = resolve_items(manifest, config.rootpath, settings.modules, index=index)
        changed = (
            changed_files(config.rootpath, settings.changed_since)
            if settings.changed_since
            else None
        )
        baseline_path = _baseline_path(config, settings)
        baseline = None
        if baseline_path is not None and (baseline_path.exists() or not settings.baseline_update):
            baseline = load_baseline(baseline_path, display_path(baseline_path, config.rootpath))
    except Phase7Error as exc:
        raise pytest.UsageError(f"phase7: {exc}") from None
    return Engine(
        settings,
        manifest,
        resolutions,
        config.rootpath,
        gates,
        baseline=baseline,
        store=getattr(config, "cache", None),
        project_files=index.all_python_files(),
        changed=changed,
    )


def _baseline_path(config: pytest.Config, settings: Settings) -> Path | None:
    """Where the baseline is read from and written to (None: no baseline in play)."""
    from pytest_phase7.baseline import DEFAULT_BASELINE  # noqa: PLC0415

    if settings.baseline:
        from_cli = getattr(config.option, "phase7_baseline", None)
        base = config.invocation_params.dir if from_cli else config.rootpath
        return (base / settings.baseline).resolve()
    if settings.baseline_update:
        return config.rootpath / DEFAULT_BASELINE
    return None


def write_outputs(config: pytest.Config, engine: Engine, result: RunResult) -> None:
    """Files a complete run writes, each when asked for.

    The updated baseline; the JSON and Markdown reports (each replaced atomically, so concurrent
    runs never leave a torn file); the Markdown appended to ``$GITHUB_STEP_SUMMARY`` when that is
    set; the derived statuses written back into the plan, except after a partial or ERROR-only
    run unless forced (:mod:`pytest_phase7.writeback`).
    """
    import os  # noqa: PLC0415 - session.py's imports are not this function's to change

    from pytest_phase7.baseline import updated_baseline, write_baseline  # noqa: PLC0415
    from pytest_phase7.report import STEP_SUMMARY_ENV, report_data, write_reports  # noqa: PLC0415

    settings = engine.settings
    history = _output_path(config, settings.history, "phase7_history")
    if history is not None:
        from pytest_phase7.insights import record_run  # noqa: PLC0415

        # First, so that the reports' Trends section includes this run.
        try:
            record_run(history, result, config.rootpath)
        except OSError as exc:
            raise pytest.UsageError(f"phase7: cannot append to history {history}: {exc}") from None
    path = _baseline_path(config, settings)
    if settings.baseline_update and path is not None:
        try:
            write_baseline(path, updated_baseline(result, engine.baseline))
        except OSError as exc:
            raise pytest.UsageError(f"phase7: cannot write baseline {path}: {exc}") from None
    md_path = _output_path(config, settings.md, "phase7_md")
    json_path = _output_path(config, settings.json, "phase7_json")
    summary = os.environ.get(STEP_SUMMARY_ENV, "")
    if md_path or json_path or summary:
        sections = [
            section
            for group in config.hook.pytest_phase7_report_sections(result=result)
            for section in group
        ]
        data = report_data(result, engine.baseline, sections)
        try:
            written = write_reports(
                data,
                md_path=md_path,
                json_path=json_path,
                step_summary=Path(summary) if summary else None,
            )
        except OSError as exc:
            raise pytest.UsageError(f"phase7: cannot write the report: {exc}") from None
        if config.get_verbosity() > 0:
            for line in written:
                _say(config, line)
    if settings.update_manifest or settings.update_manifest_force:
        _write_back(config, result, force=settings.update_manifest_force)


def _output_path(config: pytest.Config, value: str | None, dest: str) -> Path | None:
    """Where a report goes: given on the command line, relative to the invocation folder.

    Given in the ini file or ``[tool.phase7]``, relative to the rootdir (as the baseline is).
    """
    if not value:
        return None
    base = config.invocation_params.dir if getattr(config.option, dest, None) else config.rootpath
    return (base / value).resolve()


def _write_back(config: pytest.Config, result: RunResult, *, force: bool) -> None:
    """Update the plan's Status cells and say what happened (a failure is said, not raised)."""
    from pytest_phase7.writeback import WriteBackError, update_manifest  # noqa: PLC0415

    session = config.pluginmanager.get_plugin("session")
    run = config.pluginmanager.get_plugin("phase7-run")
    partial = ""
    if isinstance(session, pytest.Session):
        partial = partial_selection(config, session, getattr(run, "deselected", 0))
    try:
        outcome = update_manifest(result, force=force, partial=partial)
    except (OSError, WriteBackError) as exc:
        _say(config, f"phase7: plan not updated: {exc}", red=True)
        return
    _say(config, outcome.message, yellow=not outcome.written and bool(outcome.message))


def _say(config: pytest.Config, text: str, **markup: bool) -> None:
    """One line on the terminal, before the summary (nothing without a terminal reporter)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()  # after the progress dots, not on their line
        reporter.write_line(text, **markup)


def select_gates(contributed: Sequence[Sequence[Gate]], settings: Settings) -> list[Gate]:
    """Flatten the hook's gate lists, refuse duplicate names, apply ``--phase7-gates``."""
    from pytest_phase7.errors import ConfigError  # noqa: PLC0415

    gates: list[Gate] = []
    seen: set[str] = set()
    # Hook results come last-registered first; built-ins register first, so reverse for order.
    for group in reversed(contributed):
        for gate in group:
            if gate.name in seen:
                raise ConfigError(f"two gates are named {gate.name!r}")
            seen.add(gate.name)
            gates.append(gate)
    if settings.gates is not None:
        unknown = [name for name in settings.gates if name not in seen]
        if unknown:
            raise ConfigError(
                f"unknown gate(s) {', '.join(unknown)} in --phase7-gates "
                f"(available: {', '.join(sorted(seen))})"
            )
        gates = [g for g in gates if g.name in settings.gates]
    return gates


def partial_selection(
    config: pytest.Config, session: pytest.Session, deselected: int, *, stopped: bool = False
) -> str:
    """Why this session ran only part of the tests ('' when it ran them all)."""
    option = config.option
    if stopped:
        return "the session stopped early (-x / --maxfail)"
    if getattr(option, "collectonly", False):
        return "--collect-only ran no tests"
    if getattr(option, "keyword", ""):
        return f"tests were selected with -k {option.keyword!r}"
    if getattr(option, "markexpr", ""):
        return f"tests were selected with -m {option.markexpr!r}"
    if (
        getattr(option, "lf", False)
        and config.cache is not None
        and config.cache.get("cache/lastfailed", {})
    ):
        return "--lf ran only the last failures"
    if getattr(option, "stepwise", False):
        return "--stepwise ran part of the tests"
    if getattr(option, "deselect", None):
        return "tests were deselected with --deselect"
    if deselected:
        return f"{deselected} tests were deselected"
    if session.shouldstop or session.shouldfail:
        return "the session stopped early (-x / --maxfail)"
    # Run from a subdirectory without arguments, pytest collects that directory only (testpaths
    # apply in the rootdir alone): as partial as naming it on the command line.
    if config.args_source in (
        pytest.Config.ArgsSource.ARGS,
        pytest.Config.ArgsSource.INVOCATION_DIR,
    ):
        partial = _partial_args(config)
        if partial:
            return partial
    if session.testscollected == 0:
        return "no tests ran"
    return ""


def _partial_args(config: pytest.Config) -> str:
    invocation = config.invocation_params.dir
    chosen = []
    for arg in config.args:
        if "::" in arg:
            return f"only the tests {arg!r} were selected"
        chosen.append((invocation / arg).resolve())
    testpaths = [config.rootpath / p for p in config.getini("testpaths")] or [config.rootpath]
    for testpath in testpaths:
        full = testpath.resolve()
        if not any(full == c or c in full.parents for c in chosen):
            return "only part of the tests were selected: " + " ".join(config.args)
    return ""


def session_data(
    config: pytest.Config, session: pytest.Session, deselected: int, *, stopped: bool = False
) -> SessionData:
    """This session's coverage data (from pytest-cov) and whether it can be trusted."""
    problem = partial_selection(config, session, deselected, stopped=stopped)
    if getattr(config.option, "no_cov", False):
        return SessionData(None, "coverage was disabled with --no-cov", "drop --no-cov")
    cov_plugin = config.pluginmanager.getplugin("_cov")
    controller = getattr(cov_plugin, "cov_controller", None)
    cov = getattr(controller, "cov", None)
    outer = outer_coverage() if cov is None else None
    if outer is not None and config.pluginmanager.has_plugin("dsession"):
        # The tests ran in xdist workers: this process's measurement holds none of them, and
        # the workers' own (patch = subprocess) data files are written only as they exit.
        return SessionData(
            None,
            "coverage run -m pytest -n: the xdist workers' coverage is not in this measurement",
            "run pytest --cov -n N (pytest-cov combines the workers' data), or drop -n",
        )
    cov = cov or outer
    if cov is None:
        return SessionData(
            None,
            "nothing measured coverage in this session",
            "keep pytest-cov enabled (no -p no:pytest_cov) or run under coverage run -m pytest",
        )
    return SessionData(
        cov, problem, FULL_RUN_HINT if problem else "", uncombined=outer is not None
    )


def finish_run(
    engine: Engine, session: pytest.Session, deselected: int, *, stopped: bool = False
) -> RunResult:
    """Join the gates and derive the result after the test loop."""
    config = session.config

    def override(outcome: ItemOutcome) -> PlanStatus | None:
        forced: PlanStatus | None = config.hook.pytest_phase7_item_status(outcome=outcome)
        return forced

    return engine.finish(
        session_data(config, session, deselected, stopped=stopped),
        tests_failed=session.testsfailed,
        override=override,
    )


def write_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config, result: RunResult | None
) -> None:
    """Write the status table (or why there is none) to the terminal."""
    from pytest_phase7.report import render_terminal  # noqa: PLC0415

    terminalreporter.write_sep("=", "Phase 7 status")
    if result is None:
        terminalreporter.write_line(
            "phase7: not evaluated: the test session did not run to the end "
            "(collection errors or interrupted)",
            red=True,
            bold=True,
        )
        return
    lines = render_terminal(result, config.get_verbosity())
    sections = [
        section
        for group in config.hook.pytest_phase7_report_sections(result=result)
        for section in group
    ]
    for line in lines[:-1]:
        _write_line(terminalreporter, line)
    for title, text in sections:
        terminalreporter.write_sep("-", title)
        terminalreporter.write_line(_without_charts(text))
    # The verdict is always the last line of the summary.
    _write_line(terminalreporter, lines[-1])


def _without_charts(text: str) -> str:
    """Section text for the terminal: Mermaid charts only render in Markdown, so drop them."""
    kept: list[str] = []
    in_chart = False
    for line in text.splitlines():
        if line.strip() == "```mermaid":
            in_chart = True
        elif in_chart and line.strip() == "```":
            in_chart = False
        elif not in_chart:
            kept.append(line)
    return "\n".join(kept).rstrip()


def _write_line(
    terminalreporter: pytest.TerminalReporter, line: list[tuple[str, dict[str, bool]]]
) -> None:
    # One write per run of equally marked-up cells, not per cell: a 10k-item table is 90k cells.
    merged: list[tuple[str, dict[str, bool]]] = []
    for text, markup in line:
        if merged and merged[-1][1] == markup:
            merged[-1] = (merged[-1][0] + text, markup)
        else:
            merged.append((text, markup))
    for text, markup in merged:
        terminalreporter.write(text, **markup)
    terminalreporter.line("")
