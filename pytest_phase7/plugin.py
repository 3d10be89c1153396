"""pytest hooks of pytest-phase7. Options and hooks only; the work lives in plain modules.

Without ``--phase7`` (or ``phase7 = true`` in the ini file, ``enabled = true`` in the phase7
table) nothing beyond the option definitions (:mod:`pytest_phase7.settings`) and the on/off
decision (:mod:`pytest_phase7.activation`) is imported and no hook does any work.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_phase7.plainimport import plain_imports

with plain_imports():  # every pytest run imports these: not through pytest's slow rewriter
    from pytest_phase7.activation import (
        INJECTED_KEY,
        WORKER_COVERAGE_ENV,
        coverage_settings_problem,
        early_on,
        is_enabled,
        wants_coverage_injection,
    )
    from pytest_phase7.settings import OPTIONS

if TYPE_CHECKING:
    from pytest_phase7.engine import Engine, RunResult
    from pytest_phase7.helper import HelperRun
    from pytest_phase7.session import LocalRun

#: Where other plugins find this run's engine and, after the test loop, its result.
ENGINE_KEY: pytest.StashKey[Engine] = pytest.StashKey()
RESULT_KEY: pytest.StashKey[RunResult] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``phase7`` option group: each option's flag and its typed ini twin.

    An unset ini key reads as None (``default=None``), so that ``false`` or an empty value set
    in the file still counts as set and wins over ``[tool.phase7]``.
    """
    group = parser.getgroup("phase7", "Phase 7 quality gates (pytest-phase7)")
    for option in OPTIONS:
        group.addoption(option.cli, **option.argparse_kwargs(option.dest))
        parser.addini(
            option.ini,
            help=option.help_text(),
            type=option.ini_type_on(pytest.version_tuple),  # type: ignore[arg-type, unused-ignore]
            default=None,
        )


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Register phase7's own hooks (see :mod:`pytest_phase7.hookspecs`)."""
    with plain_imports():
        from pytest_phase7 import hookspecs  # noqa: PLC0415

    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> Generator[None, None, None]:
    """Switch pytest-cov on for ``--phase7`` when the user did not ask for coverage themselves.

    This must happen before pytest-cov's own ``pytest_load_initial_conftests`` (hence a wrapper),
    which is where pytest-cov decides whether to measure. ``--no-cov`` is respected. pytest-cov's
    whole-source terminal report is left out (the status table has the targets' figures, and
    that report costs more than the rest of a warm run), unless ``--cov-report`` asks for one.
    A declared suite (``--phase7-suite``) becomes the test paths when none are given.
    """
    namespace = early_config.known_args_namespace
    injected = wants_coverage_injection(early_config, namespace)
    if injected:
        early_config.stash[INJECTED_KEY] = True
        namespace.cov_source = [True]
        if not getattr(namespace, "cov_report", None):
            namespace.cov_report = {"": None}
    if early_on(early_config, namespace):
        with plain_imports():  # the run's modules, imported here (pytest's rewriter is slow)
            from pytest_phase7.helper import start_work  # noqa: PLC0415

            start_work(early_config, parser, args)
    given = {
        "fail_under": getattr(namespace, "cov_fail_under", None),
        "precision": getattr(namespace, "cov_precision", None),
    }
    try:
        answer = yield
    except Exception as exc:
        if early_on(early_config, namespace):  # a conftest failed to import, say
            from pytest_phase7.helper import stop_work  # noqa: PLC0415

            stop_work(early_config)
        # pytest-cov lets coverage.py's config errors (precision = "x") out as a traceback;
        # phase7 turned measurement on, so it says what is wrong instead.
        if injected and type(exc).__module__.startswith("coverage"):
            raise _coverage_usage_error(str(exc)) from None
        raise
    if injected or getattr(namespace, "phase7", False):
        problem = coverage_settings_problem(given)
        if problem:
            raise _coverage_usage_error(problem)
    return answer


def _coverage_usage_error(problem: str) -> pytest.UsageError:
    return pytest.UsageError(
        f"phase7: coverage.py refuses its configuration: {problem} "
        "(fix that setting, or run with --no-cov)"
    )


def pytest_configure(config: pytest.Config) -> None:
    """Load the manifest, resolve targets and register the run, when phase7 is enabled.

    The work is in the helper process forked at start-up when it can be
    (:mod:`pytest_phase7.helper`), else in this process.
    """
    if not is_enabled(config) or hasattr(config, "workerinput"):
        return
    with plain_imports():
        from pytest_phase7.helper import helper_run  # noqa: PLC0415

        work: HelperRun | LocalRun | None = helper_run(config)
    if work is None:
        from pytest_phase7.session import LocalRun, build_engine  # noqa: PLC0415

        engine = build_engine(config)
        config.stash[ENGINE_KEY] = engine
        work = LocalRun(engine)
    config.pluginmanager.register(Phase7Plugin(work), "phase7-run")


class Phase7Plugin:
    """The run's hooks; registered only when phase7 is enabled, on the controller only."""

    def __init__(self, work: HelperRun | LocalRun) -> None:
        """Hold what does the work: the helper process, or the engine in this process."""
        self.work = work
        self.deselected: dict[str, int] = {}

    @property
    def result(self) -> RunResult | None:
        """The run's result, after the test loop (only when the work ran in this process)."""
        return self.work.result

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Start the static gates so they run while the tests run (none with --collect-only)."""
        if not session.config.option.collectonly:
            self.work.start()

    def pytest_report_header(self, config: pytest.Config) -> str:
        """One header line: the plan, its items and targets, the gates and the merge policy."""
        return self.work.header()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_setupnodes(self, config: pytest.Config, specs: list[Any]) -> None:
        """Tell each xdist worker whether to switch pytest-cov on, as this process did."""
        injected = "1" if config.stash.get(INJECTED_KEY, False) else "0"
        for spec in specs:
            spec.env[WORKER_COVERAGE_ENV] = injected

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Count deselected tests by who deselected them: the project's config or this run."""
        from pytest_phase7.resolve.selection import deselector  # noqa: PLC0415

        source = deselector(self.work.rootdir)
        self.deselected[source] = self.deselected.get(source, 0) + len(items)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        """Gate after pytest-cov has stopped and combined its data, and fail the run if blocked.

        ``tryfirst`` makes this the outermost wrapper, so pytest-cov's own wrapper (which saves
        and combines the data) has finished when the code after ``yield`` runs.
        """
        if session.config.option.collectonly:
            return (yield)  # no test ran: no gate, and pytest's exit status stays its own
        self.work.ready()  # what the plan refuses, before any test runs
        try:
            outcome = yield
        except (pytest.Session.Failed, pytest.Session.Interrupted):
            # -x / --maxfail: the static gates still report; coverage is partial, hence ERROR.
            self.work.finish(session, self.deselected, stopped=True)
            self._keep_result(session.config)
            raise
        except Exception as exc:
            if type(exc).__module__.startswith("coverage"):  # pytest-cov's report, say
                self.work.close()
                raise _coverage_usage_error(str(exc)) from None
            raise
        blocked = self.work.finish(session, self.deselected, stopped=False)
        self._keep_result(session.config)
        if blocked:
            session.testsfailed += 1
        return outcome

    def _keep_result(self, config: pytest.Config) -> None:
        if self.work.result is not None:
            config.stash[RESULT_KEY] = self.work.result

    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter, config: pytest.Config
    ) -> None:
        """Print the Phase 7 status table; its last line is the verdict."""
        from pytest_phase7.testrun import write_summary  # noqa: PLC0415

        write_summary(terminalreporter, config, self.work.summary(config))

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Stop waiting for gates that are still running (interrupted sessions)."""
        self.work.close()
