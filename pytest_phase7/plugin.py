"""pytest hooks of pytest-phase7. Options and hooks only; the work lives in plain modules.

Without ``--phase7`` (or ``phase7 = true`` in the ini file, ``enabled = true`` in the phase7
table) nothing beyond the option definitions (:mod:`pytest_phase7.settings`) is imported and no
hook does any work: deciding that phase7 is off reads the phase7 table file once, parses it only
if its text could turn phase7 on, and leaves ``coverage`` unimported.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Generator
from typing import TYPE_CHECKING

import pytest

from pytest_phase7.errors import Phase7Error
from pytest_phase7.settings import OPTIONS, Settings, TableSource, resolve

if TYPE_CHECKING:
    from pytest_phase7.engine import Engine, RunResult

#: Where other plugins find this run's engine and, after the test loop, its result.
ENGINE_KEY = pytest.StashKey["Engine"]()
RESULT_KEY = pytest.StashKey["RunResult"]()

#: This run's phase7 table file, read once (the early coverage check, ``pytest_configure`` and
#: the engine's set-up all need it).
TABLE_KEY = pytest.StashKey[TableSource]()

#: What the ini option ``phase7`` must say to turn phase7 on (as ``settings._bool`` reads it).
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


# --- is phase7 on? (imports nothing beyond settings: this runs in every pytest run) --------


def table_source(config: pytest.Config) -> TableSource:
    """This run's phase7 table file, read on first use and kept in ``config.stash``."""
    source = config.stash.get(TABLE_KEY, None)
    if source is None:
        source = config.stash[TABLE_KEY] = TableSource(config.rootpath)
    return source


def read_settings(config: pytest.Config) -> tuple[Settings, dict[str, object], str]:
    """Resolve the settings of this run (CLI > ini > ``[tool.phase7]`` > defaults).

    Returns the settings, the raw phase7 table and its label (for manifest loading).
    """
    table, label = table_source(config).table()
    cli = {option.name: getattr(config.option, option.dest, None) for option in OPTIONS}
    ini = {option.name: config.getini(option.ini) for option in OPTIONS}
    inipath = str(config.inipath) if config.inipath else ""
    return resolve(cli, ini, table, table_path=label, ini_path=inipath), table, label


def is_enabled(config: pytest.Config) -> bool:
    """True when ``--phase7``, ``phase7 = true`` (ini) or ``enabled = true`` (table) is set.

    A broken configuration counts as enabled when the command line asks for phase7, so that the
    error is reported; otherwise a project whose table is broken is not punished on plain runs.
    """
    if getattr(config.option, "phase7", False):
        return True
    raw = config.getini("phase7")
    if raw:
        # Anything but a true word makes the settings say "off" or fail: off either way.
        if str(raw).strip().lower() not in _TRUE_WORDS:
            return False
    elif not table_source(config).may_enable():
        return False  # the table cannot set enabled: off, whatever else it holds
    try:
        return read_settings(config)[0].enabled
    except Phase7Error:
        return False


def wants_coverage_injection(config: pytest.Config, namespace: argparse.Namespace) -> bool:
    """True when phase7 is on and the user neither asked for coverage nor turned it off."""
    if not hasattr(namespace, "cov_source") or getattr(namespace, "no_cov", False):
        return False
    if namespace.cov_source or outer_coverage() is not None:
        return False
    if getattr(namespace, "phase7", False):
        return True
    try:
        return _early_enabled(config)
    except Exception:  # noqa: BLE001 - any problem is reported later, in pytest_configure
        return False


def _early_enabled(config: pytest.Config) -> bool:
    raw = config.getini("phase7")
    if raw:
        return str(raw).strip().lower() in _TRUE_WORDS
    source = table_source(config)
    return source.may_enable() and source.table()[0].get("enabled") is True


def outer_coverage() -> object | None:
    """The coverage.py measurement this process already runs under (``coverage run -m pytest``).

    pytest-cov starts measuring after plugins are imported; ``coverage run`` measures from the
    start. phase7 uses such a measurement as it is, rather than nesting a second one inside it.
    A measurement implies that ``coverage`` is imported: when it is not, there is none, and
    importing it just to ask would cost every pytest run (phase7 on or off) ~60 ms.
    """
    coverage = sys.modules.get("coverage")
    current = getattr(getattr(coverage, "Coverage", None), "current", None)
    return current() if current is not None else None


# --- hooks ---------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``phase7`` option group; every option has an ini twin."""
    group = parser.getgroup("phase7", "Phase 7 quality gates (pytest-phase7)")
    for option in OPTIONS:
        if option.flag:
            group.addoption(
                option.cli, action="store_true", default=False, dest=option.dest, help=option.help
            )
        else:
            group.addoption(
                option.cli,
                action="store",
                default=None,
                dest=option.dest,
                metavar=option.metavar or None,
                help=option.help,
            )
        parser.addini(option.ini, help=option.help, type="string", default="")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Register phase7's own hooks (see :mod:`pytest_phase7.hookspecs`)."""
    from pytest_phase7 import hookspecs  # noqa: PLC0415

    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> Generator[None, None, None]:
    """Switch pytest-cov on for ``--phase7`` when the user did not ask for coverage themselves.

    This must happen before pytest-cov's own ``pytest_load_initial_conftests`` (hence a wrapper),
    which is where pytest-cov decides whether to measure. ``--no-cov`` is respected.
    """
    namespace = early_config.known_args_namespace
    if wants_coverage_injection(early_config, namespace):
        namespace.cov_source = [True]
        namespace.cov_report = {"": None}
    return (yield)


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
        self.deselected = 0
        self.result: RunResult | None = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Start the static gates so they run while the tests run."""
        self.engine.start()

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Count deselected tests: a partial selection cannot be trusted for coverage."""
        self.deselected += len(items)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        """Gate after pytest-cov has stopped and combined its data, and fail the run if blocked.

        ``tryfirst`` makes this the outermost wrapper, so pytest-cov's own wrapper (which saves
        and combines the data) has finished when the code after ``yield`` runs.
        """
        from pytest_phase7.session import finish_run, write_outputs  # noqa: PLC0415

        try:
            outcome = yield
        except (pytest.Session.Failed, pytest.Session.Interrupted):
            # -x / --maxfail: the static gates still report; coverage is partial, hence ERROR.
            self.result = finish_run(self.engine, session, self.deselected, stopped=True)
            session.config.stash[RESULT_KEY] = self.result
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
