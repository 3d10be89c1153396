"""What the test session selected and measured, read from pytest's objects; the summary's printing.

The test process needs these wherever phase7's work runs, in it or in the helper process
(:mod:`pytest_phase7.helper`): they read ``pytest.Config`` and ``pytest.Session``, which only the
test process has. So that a run whose work is in the helper imports little, nothing here imports
the engine, the gates or the reports.
"""

from __future__ import annotations

import argparse
import glob
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_phase7.activation import outer_coverage
from pytest_phase7.errors import ConfigError, Phase7Error
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
from pytest_phase7.settings import Settings

FULL_RUN_HINT = (
    "run the whole suite, declare the part you gate on with --phase7-suite, or leave coverage "
    "out with --phase7-gates"
)

#: This run's judgement of its test selection, made once after the test loop (finish_run).
SUITE_KEY = pytest.StashKey[Suite]()
#: The parser of pytest's arguments, kept to tell what each source of arguments set.
PARSER_KEY = pytest.StashKey[pytest.Parser]()
#: The suite the project declares (``phase7_suite``): its resolved paths and where it is set.
DECLARED_KEY = pytest.StashKey[tuple[tuple[Path, ...], str]]()


def declare_suite(
    config: pytest.Config,
    namespace: argparse.Namespace,
    settings: Settings,
    label: str,
    args: list[str],
) -> None:
    """At start-up (phase7 on): collect the declared suite if no test path is given.

    Runs before pytest's last parse of ``args`` and before it loads the initial conftests, which
    it finds from the test paths: both get the suite's paths. They go first in ``args``, where no
    option with an optional value (``--cov``) can take them for its own.
    """
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


def cache_is_stable(config: pytest.Config, namespace: object) -> bool:
    """Whether pytest's cache at start-up is the one the session will see: it answers the same.

    Not with ``--collect-only`` (no gate runs), ``--cache-clear`` (pytest empties the cache
    when it configures) or with no cache provider.
    """
    return not (
        getattr(namespace, "collectonly", False)
        or getattr(namespace, "cacheclear", False)
        or config.pluginmanager.is_blocked("cacheprovider")
    )


def session_coverage(config: pytest.Config) -> tuple[object | None, bool, str, str]:
    """The ``coverage.Coverage`` that measured this session and whether it is ``coverage run``'s.

    With none that can be used, the object is None and the last two say why, and the fix.
    """
    if getattr(config.option, "no_cov", False):
        return None, False, "coverage was disabled with --no-cov", "drop --no-cov"
    cov_plugin = config.pluginmanager.getplugin("_cov")
    controller = getattr(cov_plugin, "cov_controller", None)
    cov = getattr(controller, "cov", None)
    outer = outer_coverage() if cov is None else None
    if outer is not None and config.pluginmanager.has_plugin("dsession"):
        # The tests ran in xdist workers: this process's measurement holds none of them, and
        # the workers' own (patch = subprocess) data files are written only as they exit.
        return (
            None,
            False,
            "coverage run -m pytest -n: the xdist workers' coverage is not in this measurement",
            "run pytest --cov -n N (pytest-cov combines the workers' data), or drop -n",
        )
    cov = cov or outer
    if cov is None:
        return None, False, *_why_nothing_measured(config)
    return cov, outer is not None, "", ""


def _why_nothing_measured(config: pytest.Config) -> tuple[str, str]:
    """Why no coverage.py measured this session, and the fix: pytest-cov absent, off, or unasked."""
    import importlib.util  # noqa: PLC0415 - only when nothing measured

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


#: One line of the status table: its cells' text and markup (``{"red": True}``).
Line = Sequence[tuple[str, Mapping[str, bool]]]


@dataclass(frozen=True)
class Summary:
    """The run's summary as the terminal shows it: GitHub commands, the table, report sections.

    ``lines`` are the table's, its verdict last; ``sections`` are (title, text) pairs from
    ``pytest_phase7_report_sections``, printed between the table and the verdict.
    """

    annotations: tuple[str, ...]
    lines: tuple[Line, ...]
    sections: tuple[tuple[str, str], ...]


def write_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config, summary: Summary | None
) -> None:
    """Write the status table (or why there is none) to the terminal."""
    if summary is None and getattr(config.option, "collectonly", False):
        terminalreporter.write_line("phase7: no gates run with --collect-only (it runs no tests)")
        return
    if summary is not None:
        for command in summary.annotations:  # workflow commands: GitHub hides them
            terminalreporter.write_line(command)
    terminalreporter.write_sep("=", "Phase 7 status")
    if summary is None:
        terminalreporter.write_line(
            "phase7: not evaluated: the test session did not run to the end "
            "(collection errors or interrupted)",
            red=True,
            bold=True,
        )
        return
    for line in summary.lines[:-1]:
        _write_line(terminalreporter, line)
    for title, text in summary.sections:
        terminalreporter.write_sep("-", title)
        terminalreporter.write_line(_without_charts(text))
    # The verdict is always the last line of the summary.
    _write_line(terminalreporter, summary.lines[-1])


def say(config: pytest.Config, text: str, markup: Mapping[str, bool]) -> None:
    """One line on the terminal, before the summary (nothing without a terminal reporter)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()  # after the progress dots, not on their line
        reporter.write_line(text, **markup)


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


def _write_line(terminalreporter: pytest.TerminalReporter, line: Line) -> None:
    # One write per run of equally marked-up cells, not per cell: a 10k-item table is 90k cells.
    merged: list[tuple[str, Mapping[str, bool]]] = []
    for text, markup in line:
        if merged and merged[-1][1] == markup:
            merged[-1] = (merged[-1][0] + text, markup)
        else:
            merged.append((text, markup))
    for text, markup in merged:
        terminalreporter.write(text, **markup)
    terminalreporter.line("")
