"""Is phase7 on for this run? Decided in every pytest run, so it imports almost nothing.

Only :mod:`pytest_phase7.settings` and :mod:`pytest_phase7.errors` are imported here: a run without
``--phase7`` must not pay for the engine, the gates, the resolver or ``coverage``. The phase7
table file is read once per run (kept in ``config.stash``) and parsed only when its text could
turn phase7 on.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

import pytest

from pytest_phase7.errors import Phase7Error
from pytest_phase7.settings import OPTIONS, Settings, TableSource, resolve

#: This run's phase7 table file, read once (the early coverage check, ``pytest_configure`` and
#: the engine's set-up all need it).
TABLE_KEY = pytest.StashKey[TableSource]()

#: Whether this process switched pytest-cov on for ``--phase7`` (read when xdist starts workers).
INJECTED_KEY = pytest.StashKey[bool]()

#: Set by the controller in each xdist worker's environment: "1" when the controller switched
#: pytest-cov on (the worker must do so too), "0" when it did not. A worker cannot decide alone:
#: under ``patch = ["subprocess"]`` it runs under a coverage.py measurement that looks like
#: ``coverage run``, and under ``coverage run -m pytest -n N`` pytest-cov has no controller side.
WORKER_COVERAGE_ENV = "PYTEST_PHASE7_WORKER_COV"

#: True in an xdist worker of a phase7 run: its controller set :data:`WORKER_COVERAGE_ENV`.
#: (``PYTEST_XDIST_WORKER`` cannot tell: the pytest runs a worker's tests start inherit it.)
WORKER_KEY = pytest.StashKey[bool]()


def table_source(config: pytest.Config) -> TableSource:
    """This run's phase7 table file, read on first use and kept in ``config.stash``."""
    source = config.stash.get(TABLE_KEY, None)
    if source is None:
        source = config.stash[TABLE_KEY] = TableSource(config.rootpath)
    return source


def read_settings(
    config: pytest.Config, namespace: argparse.Namespace | None = None
) -> tuple[Settings, dict[str, object], str]:
    """Resolve the settings of this run (CLI > ini > ``[tool.phase7]`` > defaults).

    Returns the settings, the raw phase7 table and its label (for manifest loading). The
    command line is ``config.option``, or ``namespace`` before pytest has filled that in.
    """
    table, label = table_source(config).table()
    given = config.option if namespace is None else namespace
    cli = {option.name: getattr(given, option.dest, None) for option in OPTIONS}
    ini = {option.name: ini_value(config, option.ini) for option in OPTIONS}
    inipath = str(config.inipath) if config.inipath else ""
    return resolve(cli, ini, table, table_path=label, ini_path=inipath), table, label


def ini_value(config: pytest.Config, key: str) -> object:
    """The ini key as pytest types it (None when unset), or the ``ValueError`` reading it raised.

    pytest checks a typed key's value only when it is read, and says what is wrong without
    where: :func:`~pytest_phase7.settings.resolve` turns the error into one naming the ini
    file's line, and only if no command-line flag overrides the key.
    """
    try:
        return config.getini(key)
    except (ValueError, TypeError, pytest.UsageError) as exc:
        # pytest 9 says "FILE: config option 'KEY' expects ...": resolve names both itself.
        message = str(exc).removeprefix(f"{config.inipath}: ")
        return ValueError(message.removeprefix(f"config option '{key}' "))


def _ini_enabled(config: pytest.Config) -> bool | None:
    """The ini key ``phase7``: True, False, or None when it is unset (a bad value is False)."""
    value = ini_value(config, "phase7")
    if isinstance(value, ValueError):
        return False  # the settings fail on it: off either way, reported when --phase7 asks
    return value if isinstance(value, bool) else None


def is_enabled(config: pytest.Config) -> bool:
    """True when ``--phase7``, ``phase7 = true`` (ini) or ``enabled = true`` (table) is set.

    A broken configuration counts as enabled when the command line asks for phase7, so that the
    error is reported; otherwise a project whose table is broken is not punished on plain runs.
    """
    if getattr(config.option, "phase7", False):
        return True
    on = _ini_enabled(config)
    if on is False:
        return False
    if on is None and not table_source(config).may_enable():
        return False  # the table cannot set enabled: off, whatever else it holds
    try:
        return read_settings(config)[0].enabled
    except Phase7Error:
        return False


def wants_coverage_injection(config: pytest.Config, namespace: argparse.Namespace) -> bool:
    """True when phase7 is on and the user neither asked for coverage nor turned it off.

    In an xdist worker the controller's decision, passed in :data:`WORKER_COVERAGE_ENV`, is the
    answer. It is removed from the environment here, so that pytest runs started by the tests
    decide for themselves.
    """
    from_controller = os.environ.pop(WORKER_COVERAGE_ENV, None)
    config.stash[WORKER_KEY] = from_controller is not None
    if not hasattr(namespace, "cov_source") or getattr(namespace, "no_cov", False):
        return False
    if namespace.cov_source:
        return False
    if from_controller is not None:
        return from_controller == "1"
    if outer_coverage() is not None:
        return False
    return early_on(config, namespace)


def early_on(config: pytest.Config, namespace: argparse.Namespace) -> bool:
    """Whether phase7 is on, asked before pytest has parsed the whole command line."""
    if getattr(namespace, "phase7", False):
        return True
    try:
        return early_enabled(config)
    except Exception:  # noqa: BLE001 - any problem is reported later, in pytest_configure
        return False


def early_enabled(config: pytest.Config) -> bool:
    """Whether the ini option or the table turns phase7 on, before pytest-cov decides to measure.

    The full settings are not resolved yet at that point: only ``phase7`` (ini) and the table's
    ``enabled`` key count; a table that cannot set ``enabled`` is not parsed.
    """
    on = _ini_enabled(config)
    if on is not None:
        return on
    source = table_source(config)
    return source.may_enable() and source.table()[0].get("enabled") is True


def outer_coverage() -> object | None:
    """The coverage.py measurement this process already runs under (``coverage run -m pytest``).

    pytest-cov starts measuring after plugins are imported; ``coverage run`` measures from the
    start. phase7 uses such a measurement as it is, rather than nesting a second one inside it.
    A measurement implies that ``coverage`` is imported: when it is not, there is none, and
    importing it just to ask would slow down every pytest run, phase7 on or off.
    """
    coverage = sys.modules.get("coverage")
    current = getattr(getattr(coverage, "Coverage", None), "current", None)
    return current() if current is not None else None


def coverage_settings_problem(given: Mapping[str, object]) -> str:
    """What is wrong with the coverage measurement's thresholds, or "" (after pytest-cov started).

    ``given`` holds ``--cov-fail-under`` and ``--cov-precision`` as on the command line (None
    when not given), read before pytest-cov copies its config's values over them. pytest-cov
    checks these only when the tests are over, with a traceback; for a run phase7 turned
    coverage on for, that is a usage error, said up front.
    """
    config = getattr(outer_coverage(), "config", None)
    if config is None:
        return ""
    where = getattr(config, "config_file", None) or "the coverage configuration"
    checks = (
        ("fail_under", "--cov-fail-under", "is not a percentage between 0 and 100"),
        ("precision", "--cov-precision", "is not a number of decimals (0 or more)"),
    )
    for name, flag, meaning in checks:
        value = given.get(name)
        source = f"{flag} {value!r}"
        if value is None:
            value = getattr(config, name, None)
            source = f"{where}: {name} = {value!r}"
        if name == "fail_under":
            bad = not isinstance(value, (int, float)) or not 0 <= value <= 100
        else:
            bad = not isinstance(value, int) or value < 0
        if bad:
            return f"{source} {meaning}"
    return ""
