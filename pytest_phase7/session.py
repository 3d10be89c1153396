"""Glue between pytest's objects and phase7's plain modules: the run's work, wherever it runs.

The test process runs this for a run whose work stays in it; the helper process
(:mod:`pytest_phase7.helper`) runs the same functions on its copy of pytest's config. What only
the test process can read (the session's selection and measurement) is in
:mod:`pytest_phase7.testrun`. The modules behind both (manifest, resolve, gates, status, report)
never see pytest and can be tested on plain data.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_phase7.activation import read_settings
from pytest_phase7.cachedir import CacheDirStore
from pytest_phase7.engine import Engine, RunResult
from pytest_phase7.errors import ConfigError, Phase7Error
from pytest_phase7.gates.base import Gate, SessionData
from pytest_phase7.gates.cache import ResultStore
from pytest_phase7.model import Manifest, PlanStatus
from pytest_phase7.resolve.selection import Suite
from pytest_phase7.resolve.targets import Resolution
from pytest_phase7.settings import Settings
from pytest_phase7.testrun import (
    FULL_RUN_HINT,
    Summary,
    cache_is_stable,
    judge_selection,
    partial_selection,
    say,
    session_coverage,
)

if TYPE_CHECKING:
    from pytest_phase7.report.outputs import OutputKind, OutputRequest, Outputs
    from pytest_phase7.status.rules import ItemOutcome

#: Writes one line on the terminal before the summary: the text and its markup.
Say = Callable[[str, Mapping[str, bool]], None]

#: This run's checked output paths (:func:`run_outputs`), from set-up to the end of the run.
OUTPUTS_KEY = pytest.StashKey["Outputs"]()


def build_engine(config: pytest.Config, store: ResultStore | None = None) -> Engine:
    """Load settings, manifest and targets, and collect the gates; usage errors, not tracebacks.

    The gates' answers are kept in ``store``, by default pytest's ``config.cache``.
    """
    from pytest_phase7.gates import BuiltinGates  # noqa: PLC0415
    from pytest_phase7.insights.sections import InsightSections  # noqa: PLC0415
    from pytest_phase7.resolve.project import display_path, target_fixes  # noqa: PLC0415

    try:
        settings, table, label = read_settings(config)
        early = config.stash.get(EARLY_KEY, None)
        if early is not None and early.settings == settings:
            manifest, resolutions = early.manifest, early.resolutions
            project_files: Sequence[str] = early.project_files
        else:
            manifest, resolutions, project_files = load_plan(
                config, settings, table, label, from_cli=config.option
            )
        # Checked before anything runs: a bad output path costs no test run.
        outputs = config.stash[OUTPUTS_KEY] = run_outputs(
            config, settings, label, manifest.path, resolutions
        )
        if not config.pluginmanager.has_plugin("phase7-builtin-gates"):
            builtin = BuiltinGates(new_lines=bool(settings.changed_since))
            config.pluginmanager.register(builtin, "phase7-builtin-gates")
        if not config.pluginmanager.has_plugin("phase7-insights"):
            insights = InsightSections(settings, outputs.history)
            config.pluginmanager.register(insights, "phase7-insights")
        gates = select_gates(config.hook.pytest_phase7_add_gates(config=config), settings)
        diff = None
        if settings.changed_since:
            from pytest_phase7.resolve.diffcov import changed_lines  # noqa: PLC0415

            diff = changed_lines(config.rootpath, settings.changed_since)
        baseline_path = outputs.baseline
        baseline = None
        if baseline_path is not None and (baseline_path.exists() or not settings.baseline_update):
            from pytest_phase7.status.baseline import load_baseline_file  # noqa: PLC0415

            baseline = load_baseline_file(
                baseline_path, display_path(baseline_path, config.rootpath)
            )
    except Phase7Error as exc:
        raise pytest.UsageError(f"phase7: {exc}") from None
    engine = Engine(
        settings,
        manifest,
        resolutions,
        config.rootpath,
        gates,
        baseline=baseline.metrics if baseline is not None else None,
        baseline_counts=baseline.counts if baseline is not None else None,
        store=store if store is not None else getattr(config, "cache", None),
        project_files=project_files,
        changed=diff.files if diff is not None else None,
        diff=diff,
        first_run=first_recorded(outputs.history),
        notes=target_fixes(resolutions, table, label),
    )
    if early is not None:
        del config.stash[EARLY_KEY]
        engine.adopt(early)
        atexit.unregister(early.close)
    return engine


def load_plan(
    config: pytest.Config,
    settings: Settings,
    table: Mapping[str, object],
    label: str,
    *,
    from_cli: object,
) -> tuple[Manifest, tuple[Resolution, ...], tuple[str, ...]]:
    """The plan, its items' targets and the project's Python files.

    ``from_cli`` is the command line's namespace: a ``--phase7-manifest`` there is relative to
    where pytest was started.
    """
    from pytest_phase7.manifest import raise_for_errors  # noqa: PLC0415
    from pytest_phase7.resolve.project import find_manifest  # noqa: PLC0415
    from pytest_phase7.resolve.targets import RepoIndex, resolve_items  # noqa: PLC0415

    given = getattr(from_cli, "phase7_manifest", None)
    manifest = find_manifest(
        config.rootpath,
        settings.manifest,
        table,
        label,
        base=config.invocation_params.dir if given else config.rootpath,
    )
    raise_for_errors(manifest)
    index = RepoIndex(config.rootpath)
    resolutions = resolve_items(
        manifest, config.rootpath, settings.modules, targets=settings.targets, index=index
    )
    return manifest, resolutions, tuple(index.all_python_files())


#: The engine that started the built-in static gates at start-up (:func:`start_static_early`),
#: until :func:`build_engine` takes them over.
EARLY_KEY = pytest.StashKey["Engine"]()


def start_static_early(
    config: pytest.Config,
    namespace: object,
    settings: Settings,
    table: Mapping[str, object],
    label: str,
) -> None:
    """Start the built-in static gates at start-up, before pytest-cov and the conftests load.

    mypy is the longest part of a run on most projects, and it needs only the settings and the
    plan, both known here: what pytest does before the session starts (starting coverage.py,
    importing the conftests, the plugins' ``pytest_configure``) then runs beside it, not
    before it. The session's engine takes these gates over if it would start the same gates on
    the same targets with the same settings (:meth:`Engine.adopt`); otherwise they are stopped
    and it starts its own. Nothing starts here when the answer could differ or pytest's cache
    could change under it (``--collect-only``, ``--cache-clear``, no cache provider, a pull
    request's changed-only run), or when reading the plan fails (``pytest_configure`` says why).
    """
    from pytest_phase7.gates import static_gates  # noqa: PLC0415

    if not cache_is_stable(config, namespace) or settings.changed_since:
        return
    gates = [g for g in static_gates() if settings.gates is None or g.name in settings.gates]
    try:
        manifest, resolutions, project_files = load_plan(
            config, settings, table, label, from_cli=namespace
        )
        store = cache_store(config)
    except (Phase7Error, ValueError, OSError):
        return
    early = Engine(
        settings,
        manifest,
        resolutions,
        config.rootpath,
        gates,
        store=store,
        project_files=project_files,
    )
    # Whatever ends the session before pytest_configure takes the gates over kills their tools:
    # the session's clean-up, or (a usage error stops pytest before it configures) the exit.
    config.add_cleanup(lambda: stop_static_early(config))
    atexit.register(early.close)
    early.start()
    config.stash[EARLY_KEY] = early


def cache_store(config: pytest.Config) -> CacheDirStore:
    """The gates' result store in pytest's cache folder, before pytest makes ``config.cache``."""
    # Where pytest's cache provider puts config.cache, the same way.
    folder = os.path.expandvars(os.path.expanduser(str(config.getini("cache_dir"))))
    return CacheDirStore(config.rootpath / folder)


def stop_static_early(config: pytest.Config) -> None:
    """Stop the gates :func:`start_static_early` started, if any (pytest stopped at start-up)."""
    early = config.stash.get(EARLY_KEY, None)
    if early is not None:
        del config.stash[EARLY_KEY]
        early.close()
        atexit.unregister(early.close)


def report_header(engine: Engine) -> str:
    """The one line pytest prints in its header: which plan, how much of it, which gates, policy."""
    from pytest_phase7.resolve.project import display_path  # noqa: PLC0415
    from pytest_phase7.wording import counted  # noqa: PLC0415

    items = len(engine.manifest.items)
    targets = len({r.target.ref for r in engine.resolutions if r.target is not None})
    gates = ", ".join(gate.name for gate in engine.gates) or "none"
    line = (
        f"phase7: {display_path(Path(engine.manifest.path), engine.rootdir)} "
        f"({counted(items, 'item')}, {counted(targets, 'target')}); gates: {gates}; "
        f"fail-on={engine.settings.fail_on}"
    )
    if engine.settings.changed_since:
        line += f"; changed since {engine.settings.changed_since}"
    return line


def first_recorded(history: Path | None) -> dict[int, dict[str, float]]:
    """Each item's metrics as the history first recorded them (none without a history)."""
    if history is None:
        return {}
    from pytest_phase7.insights.history import first_metrics  # noqa: PLC0415

    try:
        return first_metrics(history)
    except OSError as exc:
        raise pytest.UsageError(f"phase7: cannot read history {history}: {exc}") from None


def run_outputs(
    config: pytest.Config,
    settings: Settings,
    table_label: str,
    manifest_path: str,
    resolutions: Sequence[Resolution],
) -> Outputs:
    """The run's report, history and baseline paths, checked by :mod:`pytest_phase7.report.outputs`.

    Given on the command line, a path is relative to the invocation folder and may go anywhere;
    from the ini file (``addopts`` included) or ``[tool.phase7]``, it is relative to the rootdir
    and stays inside it. None of them may be the plan, a target or a configuration file.
    """
    from pytest_phase7.report.outputs import (  # noqa: PLC0415
        OutputKind,
        Outputs,
        check_outputs,
        protected_files,
    )
    from pytest_phase7.settings import DEFAULT_BASELINE  # noqa: PLC0415

    wanted: list[tuple[str, OutputRequest]] = []
    for name, kind in (
        ("md", OutputKind.MARKDOWN),
        ("json", OutputKind.JSON),
        ("sarif", OutputKind.SARIF),
        ("codeclimate", OutputKind.CODE_QUALITY),
        ("history", OutputKind.HISTORY),
        ("baseline", OutputKind.BASELINE),
        ("manifest", OutputKind.PLAN),
    ):
        value = getattr(settings, name)
        if name == "manifest" and not (settings.update_manifest or settings.update_manifest_force):
            continue  # the plan is read wherever it is, but written back only inside the rootdir
        # A pull request (changed-only mode) never moves the baseline it is measured against.
        updates = settings.baseline_update and not settings.changed_since
        writes = name not in {"baseline", "manifest"} or updates
        if name == "baseline" and not value and writes:
            value = DEFAULT_BASELINE
        if value:
            request = _output_request(config, name, value, kind, table_label, writes=writes)
            wanted.append((name, request))
    extra = {str(config.inipath): "the pytest configuration file"} if config.inipath else {}
    cov_config = getattr(config.option, "cov_config", None)
    if isinstance(cov_config, str) and cov_config:
        extra[str(config.invocation_params.dir / cov_config)] = "the coverage configuration file"
    protected = protected_files(config.rootpath, manifest_path, resolutions, extra)
    paths = check_outputs([request for _, request in wanted], config.rootpath, protected)
    return Outputs(
        **{name: path for (name, _), path in zip(wanted, paths, strict=True) if name != "manifest"}
    )


def _output_request(
    config: pytest.Config,
    name: str,
    value: str,
    kind: OutputKind,
    table_label: str,
    *,
    writes: bool,
) -> OutputRequest:
    """Who asked for output ``name`` (command line, ini file or table), hence how it is checked."""
    import os  # noqa: PLC0415
    import shlex  # noqa: PLC0415

    from pytest_phase7.report.outputs import OutputRequest  # noqa: PLC0415
    from pytest_phase7.settings import OPTIONS, setting_location  # noqa: PLC0415

    option = next(o for o in OPTIONS if o.name == name)
    inipath = str(config.inipath) if config.inipath else ""
    # What the user typed (or put in PYTEST_ADDOPTS); the ini file's addopts are not in it.
    try:
        typed = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    except ValueError:
        typed = list(config.invocation_params.args)
    if getattr(config.option, option.dest, None):
        if any(arg == option.cli or arg.startswith(option.cli + "=") for arg in typed):
            base = config.invocation_params.dir
            return OutputRequest(value, kind, f"{option.cli}={value}", base, False, writes)
        # Not typed by the user: the ini file's addopts, which is the repository's say-so.
        given = f"{option.cli}={value} (addopts)"
        file, line = inipath, 0
    elif config.getini(option.ini):
        overrides = getattr(config.option, "override_ini", None) or []
        overridden = any(entry.split("=", 1)[0].strip() == option.ini for entry in overrides)
        if overridden and any(f"{option.ini}=" in arg for arg in typed):
            given = f"-o {option.ini}={value}"
            return OutputRequest(value, kind, given, config.rootpath, False, writes)
        given = f"{option.ini} = {value}"
        file, line = setting_location(name, ini_path=inipath)
    else:
        given = f"{name} = {value!r}"
        file, line = setting_location(name, table_path=table_label)
    return OutputRequest(value, kind, given, config.rootpath, True, writes, file, line)


def write_outputs(
    config: pytest.Config, engine: Engine, result: RunResult, tell: Say | None = None
) -> None:
    """Files a complete run writes, each when asked for; ``tell`` says what happened (the terminal).

    The updated baseline; the JSON and Markdown reports (each replaced atomically, so concurrent
    runs never leave a torn file); the Markdown appended to ``$GITHUB_STEP_SUMMARY`` when that is
    set and the ``step_summary`` setting is on; the derived statuses written back into the plan,
    except after a partial or ERROR-only run unless forced (:mod:`pytest_phase7.report.writeback`).
    """
    from pytest_phase7.report.write import step_summary_path  # noqa: PLC0415

    settings = engine.settings
    outputs = config.stash[OUTPUTS_KEY]
    if tell is None:
        tell = lambda text, markup: say(config, text, markup)  # noqa: E731
    history = outputs.history
    if history is not None:
        from pytest_phase7.insights.sections import record_run  # noqa: PLC0415

        # First, so that the reports' Trends section includes this run.
        try:
            record_run(history, result, config.rootpath)
        except OSError as exc:
            raise pytest.UsageError(f"phase7: cannot append to history {history}: {exc}") from None
    path = outputs.baseline
    if settings.baseline_update and settings.changed_since:
        tell(
            "phase7: baseline not updated: a pull request (--phase7-changed-since) never moves "
            "the baseline it is measured against; the main branch's job updates it",
            {"yellow": True},
        )
    elif settings.baseline_update and path is not None:
        from pytest_phase7.status.baseline import load_existing, raised_baseline, write_baseline  # noqa: PLC0415

        try:
            ratchet = raised_baseline(result, load_existing(path, config.rootpath))
            write_baseline(path, ratchet.baseline)
        except OSError as exc:
            raise pytest.UsageError(f"phase7: cannot write baseline {path}: {exc}") from None
        except Phase7Error as exc:
            raise pytest.UsageError(f"phase7: {exc}") from None
        if ratchet.kept:
            tell(ratchet.kept_message(), {"yellow": True})
    _write_findings(outputs, result)
    md_path, json_path = outputs.md, outputs.json
    summary = step_summary_path(settings.step_summary)
    if md_path or json_path or summary:
        from pytest_phase7.report.model import report_data  # noqa: PLC0415
        from pytest_phase7.report.write import write_reports  # noqa: PLC0415

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
                step_summary=summary,
            )
        except OSError as exc:
            raise pytest.UsageError(f"phase7: cannot write the report: {exc}") from None
        if config.get_verbosity() > 0:
            for line in written:
                tell(line, {})
    if settings.update_manifest or settings.update_manifest_force:
        _write_back(result, tell, force=settings.update_manifest_force)


def _write_findings(outputs: Outputs, result: RunResult) -> None:
    """The SARIF file and the Code Quality report, each when asked for (replaced atomically)."""
    if outputs.sarif is None and outputs.codeclimate is None:
        return
    from pytest_phase7.atomic import write_atomic  # noqa: PLC0415
    from pytest_phase7.report import codeclimate, sarif  # noqa: PLC0415

    for path, render, what in (
        (outputs.sarif, sarif.dumps, "SARIF file"),
        (outputs.codeclimate, codeclimate.dumps, "Code Quality report"),
    ):
        if path is None:
            continue
        try:
            write_atomic(path, render(result).encode("utf-8"))
        except OSError as exc:
            raise pytest.UsageError(f"phase7: cannot write the {what} {path}: {exc}") from None


def annotation_lines(engine: Engine, outputs: Outputs | None, result: RunResult) -> list[str]:
    """The run's GitHub annotations, when ``annotations`` asks for them (else none)."""
    from pytest_phase7.report.github import annotations_kind  # noqa: PLC0415

    if annotations_kind(engine.settings.annotations) != "github":
        return []
    from pytest_phase7.report.annotations import annotation_commands  # noqa: PLC0415

    written = [
        str(path)
        for path in (
            (outputs.sarif, outputs.json, outputs.codeclimate, outputs.md) if outputs else ()
        )
        if path is not None
    ]
    return annotation_commands(result, engine.settings, written)


def _write_back(result: RunResult, tell: Say, *, force: bool) -> None:
    """Update the plan's Status cells and say what happened (a failure is said, not raised)."""
    from pytest_phase7.report.writeback import WriteBackError, update_manifest  # noqa: PLC0415

    partial = result.suite.partial if result.suite is not None else ""
    try:
        outcome = update_manifest(result, force=force, partial=partial)
    except (OSError, WriteBackError) as exc:
        tell(f"phase7: plan not updated: {exc}", {"red": True})
        return
    tell(outcome.message, {"yellow": not outcome.written and bool(outcome.message)})


def select_gates(contributed: Sequence[Sequence[Gate]], settings: Settings) -> list[Gate]:
    """Flatten the hook's gate lists, refuse duplicate names, apply ``--phase7-gates``."""
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


def import_run_modules() -> None:
    """Import the modules every run uses, before pytest-cov starts coverage.py.

    Once coverage.py traces, every Python call pays for its trace function, including the calls
    that execute phase7's modules at import, although coverage.py measures none of them: the
    same imports then take about half as long again. Only modules that every run imports later
    anyway are imported here: the plan's readers, target resolution, the built-in gates
    (:func:`pytest_phase7.gates.builtin_gates` makes all of them), the status rules, the output
    paths' checks and the report. (The static gates start before they are imported.)
    """
    import pytest_phase7.gates.coverage  # noqa: PLC0415
    import pytest_phase7.gates.docstrings  # noqa: PLC0415
    import pytest_phase7.gates.mypy  # noqa: PLC0415
    import pytest_phase7.gates.ruff  # noqa: PLC0415
    import pytest_phase7.insights.sections  # noqa: PLC0415
    import pytest_phase7.manifest  # noqa: PLC0415
    import pytest_phase7.report.outputs  # noqa: PLC0415
    import pytest_phase7.report.terminal  # noqa: PLC0415
    import pytest_phase7.report.write  # noqa: PLC0415
    import pytest_phase7.resolve.project  # noqa: PLC0415
    import pytest_phase7.status.rules  # noqa: PLC0415, F401


def session_data(
    config: pytest.Config,
    session: pytest.Session,
    deselected: Mapping[str, int],
    *,
    stopped: bool = False,
) -> SessionData:
    """This session's coverage data (from pytest-cov) and whether it can be trusted."""
    problem = partial_selection(config, session, deselected, stopped=stopped)
    cov, outer, why, hint = session_coverage(config)
    if cov is None:
        return SessionData(None, why, hint)
    return SessionData(cov, problem, FULL_RUN_HINT if problem else "", uncombined=outer)


def finish_run(
    engine: Engine,
    session: pytest.Session,
    deselected: Mapping[str, int],
    *,
    stopped: bool = False,
) -> RunResult:
    """Join the gates and derive the result after the test loop.

    ``deselected`` counts the deselected tests by who deselected them (``selection.deselector``).
    """
    config = session.config
    suite = judge_selection(config, session, deselected, stopped=stopped)
    data = session_data(config, session, deselected, stopped=stopped)
    return finish_with(engine, config, data, suite, session.testsfailed)


def finish_with(
    engine: Engine, config: pytest.Config, data: SessionData, suite: Suite, tests_failed: int
) -> RunResult:
    """The run's result from the session's data and its judged suite (here or in the helper)."""

    def override(outcome: ItemOutcome) -> PlanStatus | None:
        forced: PlanStatus | None = config.hook.pytest_phase7_item_status(outcome=outcome)
        return forced

    result = engine.finish(
        data if suite.gated else replace(data, gated=False),
        tests_failed=tests_failed,
        override=override,
    )
    return replace(result, suite=suite)


def summary_of(
    config: pytest.Config, engine: Engine, result: RunResult, verbosity: int, width: int
) -> Summary:
    """The summary the terminal shows for ``result``: ``width`` is the terminal's, in columns."""
    from pytest_phase7.report.terminal import render_terminal  # noqa: PLC0415

    lines = render_terminal(result, verbosity, width)
    sections = tuple(
        section
        for group in config.hook.pytest_phase7_report_sections(result=result)
        for section in group
    )
    annotations = annotation_lines(engine, config.stash.get(OUTPUTS_KEY, None), result)
    return Summary(tuple(annotations), tuple(lines), sections)


class LocalRun:
    """A run whose work is done in the test process (the plugin's ``work``): its engine's."""

    def __init__(self, engine: Engine) -> None:
        """Run ``engine``'s gates here."""
        self.engine = engine
        self.rootdir = engine.rootdir
        self.result: RunResult | None = None

    def start(self) -> None:
        """Start the static gates, so that they run while the tests run."""
        self.engine.start()

    def header(self) -> str:
        """The header line."""
        return report_header(self.engine)

    def ready(self) -> None:
        """Nothing to wait for: the plan was read at ``pytest_configure``."""

    def finish(
        self, session: pytest.Session, deselected: Mapping[str, int], *, stopped: bool
    ) -> bool:
        """Join the gates and write the files (not after ``-x``); True when the merge is blocked."""
        self.result = finish_run(self.engine, session, deselected, stopped=stopped)
        if stopped:
            return False
        write_outputs(session.config, self.engine, self.result)
        return self.result.verdict.blocked

    def summary(self, config: pytest.Config) -> Summary | None:
        """The summary to print (None when the session did not run to its end)."""
        if self.result is None:
            return None
        # The terminal's width as pytest's own writer knows it (COLUMNS honoured).
        width = config.get_terminal_writer().fullwidth
        return summary_of(config, self.engine, self.result, config.get_verbosity(), width)

    def close(self) -> None:
        """Stop waiting for gates that still run (an interrupted session)."""
        self.engine.close()
