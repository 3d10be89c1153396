"""Glue between pytest's objects and phase7's plain modules (used by :mod:`plugin` hooks).

Everything that reads ``pytest.Config`` or ``pytest.Session`` lives here, so the modules behind it
(manifest, resolve, gates, status, report) never see pytest and can be tested on plain data.
"""

from __future__ import annotations

import atexit
import glob
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_phase7.activation import WORKER_KEY, outer_coverage, read_settings
from pytest_phase7.engine import Engine, RunResult
from pytest_phase7.errors import ConfigError, Phase7Error
from pytest_phase7.gates.base import Gate, SessionData
from pytest_phase7.model import Manifest, PlanStatus
from pytest_phase7.report.outputs import (
    OutputKind,
    OutputRequest,
    Outputs,
    check_outputs,
    protected_files,
)
from pytest_phase7.resolve.selection import (
    INTERRUPTED,
    ORIGIN_ADDOPTS,
    ORIGIN_ROOTDIR,
    ORIGIN_TESTPATHS,
    STOPPED,
    Choices,
    Facts,
    Invocation,
    Suite,
    compare_paths,
    display,
    expand_paths,
    fails_closed,
    judge,
)
from pytest_phase7.resolve.targets import Resolution
from pytest_phase7.settings import Settings
from pytest_phase7.status.rules import ItemOutcome

#: This run's checked output paths (:func:`run_outputs`), from set-up to the end of the run.
OUTPUTS_KEY = pytest.StashKey["Outputs"]()

FULL_RUN_HINT = (
    "run the whole suite, declare the part you gate on with --phase7-suite, or leave coverage "
    "out with --phase7-gates"
)


def build_engine(config: pytest.Config) -> Engine:
    """Load settings, manifest and targets, and collect the gates; usage errors, not tracebacks."""
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
        store=getattr(config, "cache", None),
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
    from pytest_phase7.cachedir import CacheDirStore  # noqa: PLC0415
    from pytest_phase7.gates import builtin_gates  # noqa: PLC0415

    if (
        getattr(namespace, "collectonly", False)
        or getattr(namespace, "cacheclear", False)
        or config.pluginmanager.is_blocked("cacheprovider")
        or settings.changed_since
    ):
        return
    gates = [
        gate
        for gate in builtin_gates()
        if not gate.needs_session and (settings.gates is None or gate.name in settings.gates)
    ]
    try:
        manifest, resolutions, project_files = load_plan(
            config, settings, table, label, from_cli=namespace
        )
        # Where pytest's cache provider puts config.cache, the same way.
        folder = os.path.expandvars(os.path.expanduser(str(config.getini("cache_dir"))))
    except (Phase7Error, ValueError, OSError):
        return
    early = Engine(
        settings,
        manifest,
        resolutions,
        config.rootpath,
        gates,
        store=CacheDirStore(config.rootpath / folder),
        project_files=project_files,
    )
    # Whatever ends the session before pytest_configure takes the gates over kills their tools:
    # the session's clean-up, or (a usage error stops pytest before it configures) the exit.
    config.add_cleanup(lambda: stop_static_early(config))
    atexit.register(early.close)
    early.start()
    config.stash[EARLY_KEY] = early


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


def write_outputs(config: pytest.Config, engine: Engine, result: RunResult) -> None:
    """Files a complete run writes, each when asked for.

    The updated baseline; the JSON and Markdown reports (each replaced atomically, so concurrent
    runs never leave a torn file); the Markdown appended to ``$GITHUB_STEP_SUMMARY`` when that is
    set and the ``step_summary`` setting is on; the derived statuses written back into the plan,
    except after a partial or ERROR-only run unless forced (:mod:`pytest_phase7.report.writeback`).
    """
    from pytest_phase7.report.write import step_summary_path  # noqa: PLC0415

    settings = engine.settings
    outputs = config.stash[OUTPUTS_KEY]
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
        _say(
            config,
            "phase7: baseline not updated: a pull request (--phase7-changed-since) never moves "
            "the baseline it is measured against; the main branch's job updates it",
            yellow=True,
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
            _say(config, ratchet.kept_message(), yellow=True)
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
                _say(config, line)
    if settings.update_manifest or settings.update_manifest_force:
        _write_back(config, result, force=settings.update_manifest_force)


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


def annotation_lines(config: pytest.Config, result: RunResult) -> list[str]:
    """The run's GitHub annotations, when ``annotations`` asks for them (else none)."""
    from pytest_phase7.report.github import annotations_kind  # noqa: PLC0415

    engine = getattr(config.pluginmanager.get_plugin("phase7-run"), "engine", None)
    if not isinstance(engine, Engine) or annotations_kind(engine.settings.annotations) != "github":
        return []
    from pytest_phase7.report.annotations import annotation_commands  # noqa: PLC0415

    outputs = config.stash.get(OUTPUTS_KEY, None)
    written = [
        str(path)
        for path in (
            (outputs.sarif, outputs.json, outputs.codeclimate, outputs.md) if outputs else ()
        )
        if path is not None
    ]
    return annotation_commands(result, engine.settings, written)


def _write_back(config: pytest.Config, result: RunResult, *, force: bool) -> None:
    """Update the plan's Status cells and say what happened (a failure is said, not raised)."""
    from pytest_phase7.report.writeback import WriteBackError, update_manifest  # noqa: PLC0415

    session = config.pluginmanager.get_plugin("session")
    run = config.pluginmanager.get_plugin("phase7-run")
    partial = ""
    if isinstance(session, pytest.Session):
        partial = partial_selection(config, session, getattr(run, "deselected", {}))
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


#: This run's judgement of its test selection, made once after the test loop (finish_run).
SUITE_KEY = pytest.StashKey[Suite]()
#: The parser of pytest's arguments, kept to tell what each source of arguments set.
PARSER_KEY = pytest.StashKey[pytest.Parser]()
#: The suite the project declares (``phase7_suite``): its resolved paths and where it is set.
DECLARED_KEY = pytest.StashKey[tuple[tuple[Path, ...], str]]()


def import_run_modules() -> None:
    """Import the modules every run uses, before pytest-cov starts coverage.py.

    Once coverage.py traces, every Python call pays for its trace function, including the calls
    that execute phase7's modules at import, although coverage.py measures none of them: the
    same imports then take about half as long again. Only modules that every run imports later
    anyway are imported here: the plan's readers, target resolution, the built-in gates
    (:func:`pytest_phase7.gates.builtin_gates` makes all of them) and the report.
    """
    import pytest_phase7.gates.coverage  # noqa: PLC0415
    import pytest_phase7.gates.docstrings  # noqa: PLC0415
    import pytest_phase7.gates.mypy  # noqa: PLC0415
    import pytest_phase7.gates.ruff  # noqa: PLC0415
    import pytest_phase7.insights.sections  # noqa: PLC0415
    import pytest_phase7.manifest  # noqa: PLC0415
    import pytest_phase7.report.terminal  # noqa: PLC0415
    import pytest_phase7.report.write  # noqa: PLC0415
    import pytest_phase7.resolve.project  # noqa: PLC0415, F401


def declare_suite(config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """At start-up (phase7 on): keep the parser; collect the declared suite if no path is given.

    Runs before pytest's last parse of ``args`` and before it loads the initial conftests, which
    it finds from the test paths: both get the suite's paths. They go first in ``args``, where no
    option with an optional value (``--cov``) can take them for its own. The built-in static
    gates start here too (:func:`start_static_early`), and the run's modules are imported
    (:func:`import_run_modules`).
    """
    config.stash[PARSER_KEY] = parser
    namespace = config.known_args_namespace
    if getattr(namespace, "help", False) or getattr(namespace, "version", False):
        return
    try:
        settings, table, label = read_settings(config, namespace)
    except Phase7Error:
        return  # pytest_configure reports it
    if not config.stash.get(WORKER_KEY, False):  # an xdist worker does none of phase7's work
        # mypy first: what the gates do not need to start is imported while it runs.
        start_static_early(config, namespace, settings, table, label)
        import_run_modules()
    if settings.suite is None:
        return
    if getattr(namespace, "phase7_suite", None):
        origin, base = "--phase7-suite", config.invocation_params.dir
    elif config.getini("phase7_suite"):
        origin, base = "phase7_suite", config.rootpath
    else:
        origin = ("[tool.phase7]" if label.endswith("]") else Path(label).name) + " suite"
        base = config.rootpath
    confined = origin != "--phase7-suite"  # the repository's say-so stays inside the rootdir
    try:
        paths = expand_paths(settings.suite, base, config.rootpath, confined=confined)
    except ValueError as exc:
        raise pytest.UsageError(f"phase7: {_suite_error(config, origin, label, exc)}") from None
    config.stash[DECLARED_KEY] = (tuple(paths), origin)
    if not getattr(namespace, "file_or_dir", None):
        namespace.file_or_dir = [str(path) for path in paths]
        args[:0] = namespace.file_or_dir


def _suite_error(config: pytest.Config, origin: str, label: str, exc: ValueError) -> Phase7Error:
    from pytest_phase7.settings import _ini_line, _table_error  # noqa: PLC0415

    if origin == "--phase7-suite":
        return ConfigError(f"--phase7-suite: {exc}")
    if origin == "phase7_suite" and config.inipath is not None:
        line = _ini_line(config.inipath, "phase7_suite")
        return ConfigError(f"ini option phase7_suite: {exc}", str(config.inipath), line)
    return _table_error(label, ("suite",), f"suite: {exc}")


def judge_selection(
    config: pytest.Config,
    session: pytest.Session,
    deselected: Mapping[str, int],
    *,
    stopped: bool = False,
) -> Suite:
    """Whether this session ran the whole suite (:mod:`pytest_phase7.resolve.selection`); kept."""
    invocation = _invocation(config)
    roots, origin = _suite_roots(config, invocation)
    option = config.option
    facts = Facts(
        stopped=_stopped(session, stopped),
        last_failed=bool(
            getattr(option, "lf", False)
            and config.cache is not None
            and config.cache.get("cache/lastfailed", {})
        ),
        collected=session.testscollected,
        deselected=dict(deselected),
    )

    def paths() -> str:
        if config.args_source is pytest.Config.ArgsSource.TESTPATHS and origin == ORIGIN_TESTPATHS:
            return ""  # pytest collects the testpaths themselves
        if getattr(option, "pyargs", False) and origin == ORIGIN_TESTPATHS:
            return "test paths named by --pyargs cannot be compared with the testpaths"
        return compare_paths(
            config.args, config.invocation_params.dir, roots, _Collector(session), config.rootpath
        )

    partial, own = judge(invocation, facts, paths)
    if origin in invocation.overridden():  # pytest no longer says what the project's own was
        origin += " as replaced with -o"
    suite = Suite(
        tuple(display(root, config.rootpath) for root in roots),
        origin,
        partial,
        gated=not partial or fails_closed(invocation, os.environ),
        deselected=own,
    )
    config.stash[SUITE_KEY] = suite
    return suite


def _stopped(session: pytest.Session, interrupted: bool) -> str:
    """Why the session ended before its last test ('' when it did not)."""
    if session.shouldfail:
        return STOPPED
    if session.shouldstop:  # --sw, or a plugin: pytest's reason says which
        why = session.shouldstop
        return f"the session stopped early ({why})" if isinstance(why, str) else STOPPED
    # pytest.Session.Interrupted without shouldstop: collection errors (or pytest.exit).
    return INTERRUPTED if interrupted else ""


def partial_selection(
    config: pytest.Config,
    session: pytest.Session,
    deselected: Mapping[str, int],
    *,
    stopped: bool = False,
) -> str:
    """Why this session ran only part of the suite ('' when it ran it all)."""
    suite = config.stash.get(SUITE_KEY, None)
    if suite is None:
        suite = judge_selection(config, session, deselected, stopped=stopped)
    return suite.partial


def _invocation(config: pytest.Config) -> Invocation:
    """The options in force, and what the ini's addopts, PYTEST_ADDOPTS and the command line set.

    Without the parser (phase7 turned on after start-up) the sources cannot be told apart:
    everything counts as given on the command line, so that nothing is forgiven.
    """
    final = Choices.of(config.option)
    parser = config.stash.get(PARSER_KEY, None)
    if parser is None:
        return Invocation(final, cli=final)

    def parsed(args: Sequence[str]) -> Choices:
        return Choices.of(parser.parse_known_args(list(args)))

    try:
        return Invocation(
            final,
            ini=parsed(config.getini("addopts")),
            env=parsed(shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))),
            cli=parsed([str(arg) for arg in config.invocation_params.args]),
        )
    except (pytest.UsageError, ValueError):  # pytest parsed all of these already
        return Invocation(final, cli=final)


def _suite_roots(config: pytest.Config, invocation: Invocation) -> tuple[list[Path], str]:
    """The suite's test paths, and where they are set (the declared suite first)."""
    declared = config.stash.get(DECLARED_KEY, None)
    if declared is not None:
        return list(declared[0]), declared[1]
    if invocation.ini.paths:
        base = config.invocation_params.dir
        return [(base / path).resolve() for path in invocation.ini.paths], ORIGIN_ADDOPTS
    testpaths = [str(path) for path in config.getini("testpaths")]
    if testpaths and getattr(config.option, "pyargs", False):
        return [config.rootpath / path for path in testpaths], ORIGIN_TESTPATHS
    found = [
        Path(match).resolve()
        for path in testpaths
        for match in sorted(glob.glob(str(config.rootpath / path), recursive=True))
    ]
    if found:
        return found, ORIGIN_TESTPATHS
    return [config.rootpath.resolve()], ORIGIN_ROOTDIR


class _Collector:
    """pytest's own ignore and collect hooks, asked per path (:class:`selection.Collector`)."""

    def __init__(self, session: pytest.Session) -> None:
        self.session = session

    def ignored(self, path: Path) -> bool:
        hook, config = self.session.gethookproxy(path.parent), self.session.config
        try:
            return bool(hook.pytest_ignore_collect(collection_path=path, config=config))
        except Exception:  # noqa: BLE001 - a broken hook: look inside, as pytest would fail
            return False

    def collects(self, path: Path) -> bool:
        hook = self.session.gethookproxy(path.parent)
        try:
            return bool(hook.pytest_collect_file(file_path=path, parent=self.session))
        except Exception:  # noqa: BLE001 - cannot tell: count it, so nothing is forgiven
            return True


def session_data(
    config: pytest.Config,
    session: pytest.Session,
    deselected: Mapping[str, int],
    *,
    stopped: bool = False,
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
        return SessionData(None, *_why_nothing_measured(config))
    return SessionData(cov, problem, FULL_RUN_HINT if problem else "", uncombined=outer is not None)


def _why_nothing_measured(config: pytest.Config) -> tuple[str, str]:
    """Why no coverage.py measured this session, and the fix: pytest-cov absent, off, or unasked."""
    import importlib.util  # noqa: PLC0415 - only when nothing measured
    import os  # noqa: PLC0415

    plugins = config.pluginmanager
    also = "or run under coverage run -m pytest"
    if plugins.is_blocked("pytest_cov"):
        return (
            "nothing measured coverage: pytest-cov is disabled (-p no:pytest_cov)",
            f"drop -p no:pytest_cov, {also}",
        )
    if not plugins.has_plugin("pytest_cov"):
        try:
            installed = importlib.util.find_spec("pytest_cov") is not None
        except ValueError:  # imported without a spec: there, if oddly
            installed = True
        if not installed:
            return (
                "nothing measured coverage: pytest-cov is not installed",
                f"pip install pytest-cov, {also}",
            )
        autoload_off = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
        why = " (PYTEST_DISABLE_PLUGIN_AUTOLOAD is set)" if autoload_off else ""
        return (
            f"nothing measured coverage: pytest-cov is installed but not loaded{why}",
            f"add -p pytest_cov, {also}",
        )
    return "nothing measured coverage in this session", f"pass --cov, {also}"


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

    def override(outcome: ItemOutcome) -> PlanStatus | None:
        forced: PlanStatus | None = config.hook.pytest_phase7_item_status(outcome=outcome)
        return forced

    data = session_data(config, session, deselected, stopped=stopped)
    result = engine.finish(
        data if suite.gated else replace(data, gated=False),
        tests_failed=session.testsfailed,
        override=override,
    )
    return replace(result, suite=suite)


def write_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config, result: RunResult | None
) -> None:
    """Write the status table (or why there is none) to the terminal."""
    from pytest_phase7.report.terminal import render_terminal  # noqa: PLC0415

    if result is None and getattr(config.option, "collectonly", False):
        terminalreporter.write_line("phase7: no gates run with --collect-only (it runs no tests)")
        return
    if result is not None:
        for command in annotation_lines(config, result):  # workflow commands: GitHub hides them
            terminalreporter.write_line(command)
    terminalreporter.write_sep("=", "Phase 7 status")
    if result is None:
        terminalreporter.write_line(
            "phase7: not evaluated: the test session did not run to the end "
            "(collection errors or interrupted)",
            red=True,
            bold=True,
        )
        return
    # The terminal's width as pytest's own writer knows it (COLUMNS honoured).
    width = config.get_terminal_writer().fullwidth
    lines = render_terminal(result, config.get_verbosity(), width)
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
