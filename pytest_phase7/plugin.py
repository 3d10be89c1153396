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

#: Where other plugins find this run's engine and, after the test loop, its result.
ENGINE_KEY = pytest.StashKey["Engine"]()
RESULT_KEY = pytest.StashKey["RunResult"]()


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
            from pytest_phase7.session import declare_suite  # noqa: PLC0415

            declare_suite(early_config, parser, args)
    given = {
        "fail_under": getattr(namespace, "cov_fail_under", None),
        "precision": getattr(namespace, "cov_precision", None),
    }
    try:
        answer = yield
    except Exception as exc:
        if early_on(early_config, namespace):  # a conftest failed to import, say
            from pytest_phase7.session import stop_static_early  # noqa: PLC0415

            stop_static_early(early_config)
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
    """Load the manifest, resolve targets and register the run, when phase7 is enabled."""
    if not is_enabled(config) or hasattr(config, "workerinput"):
        return
    from pytest_phase7.session import build_engine  # noqa: PLC0415

    engine = build_engine(config)
    config.stash[ENGINE_KEY] = engine
    config.pluginmanager.register(Phase7Plugin(engine), "phase7-run")


class Phase7Plugin:
    """The run's hooks; registered only when phase7 is enabled, on the controller only."""

    def __init__(self, engine: Engine) -> None:
        """Hold the engine that does the work."""
        self.engine = engine
        self.deselected: dict[str, int] = {}
        self.result: RunResult | None = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Start the static gates so they run while the tests run (none with --collect-only)."""
        if not session.config.option.collectonly:
            self.engine.start()

    def pytest_report_header(self, config: pytest.Config) -> str:
        """One header line: the plan, its items and targets, the gates and the merge policy."""
        from pytest_phase7.session import report_header  # noqa: PLC0415

        return report_header(self.engine)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_setupnodes(self, config: pytest.Config, specs: list[Any]) -> None:
        """Tell each xdist worker whether to switch pytest-cov on, as this process did."""
        injected = "1" if config.stash.get(INJECTED_KEY, False) else "0"
        for spec in specs:
            spec.env[WORKER_COVERAGE_ENV] = injected

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Count deselected tests by who deselected them: the project's config or this run."""
        from pytest_phase7.resolve.selection import deselector  # noqa: PLC0415

        source = deselector(self.engine.rootdir)
        self.deselected[source] = self.deselected.get(source, 0) + len(items)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        """Gate after pytest-cov has stopped and combined its data, and fail the run if blocked.

        ``tryfirst`` makes this the outermost wrapper, so pytest-cov's own wrapper (which saves
        and combines the data) has finished when the code after ``yield`` runs.
        """
        from pytest_phase7.session import finish_run, write_outputs  # noqa: PLC0415

        if session.config.option.collectonly:
            return (yield)  # no test ran: no gate, and pytest's exit status stays its own
        try:
            outcome = yield
        except (pytest.Session.Failed, pytest.Session.Interrupted):
            # -x / --maxfail: the static gates still report; coverage is partial, hence ERROR.
            self.result = finish_run(self.engine, session, self.deselected, stopped=True)
            session.config.stash[RESULT_KEY] = self.result
            raise
        except Exception as exc:
            if type(exc).__module__.startswith("coverage"):  # pytest-cov's report, say
                self.engine.close()
                raise _coverage_usage_error(str(exc)) from None
            raise
        self.result = finish_run(self.engine, session, self.deselected)
        session.config.stash[RESULT_KEY] = self.result
        write_outputs(session.config, self.engine, self.result)
        if self.result.verdict.blocked:
            session.testsfailed += 1
        return outcome

    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter, config: pytest.Config
    ) -> None:
        """Print the Phase 7 status table; its last line is the verdict."""
        from pytest_phase7.session import write_summary  # noqa: PLC0415

        write_summary(terminalreporter, config, self.result)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Stop waiting for gates that are still running (interrupted sessions)."""
        self.engine.close()
