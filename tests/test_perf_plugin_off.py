"""phase7 off costs nothing: the "is it on?" check reads the table once and imports little.

Each decision is compared with the way it was made before it was made cheap (the whole phase7
table parsed, then every setting resolved), over tables that could and could not turn phase7
on; a subprocess checks what a plain ``pytest`` run imports.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from pytest_phase7 import activation, settings
from pytest_phase7.errors import Phase7Error
from pytest_phase7.settings import OPTIONS, TableSource, load_table, resolve

#: Tables (file name, bytes) covering every way the table can say, or fail to say, "enabled".
TABLES: dict[str, tuple[str, bytes] | None] = {
    "none": None,
    "enabled": ("phase7.toml", b"enabled = true\n"),
    "disabled": ("phase7.toml", b"enabled = false\n"),
    "quoted key": ("phase7.toml", b'"enabled" = true\n'),
    "escaped key": ("phase7.toml", b'"\\u0065nabled" = true\n'),
    "enabled as text": ("phase7.toml", b'enabled = "yes"\n'),
    "other settings": ("phase7.toml", b"coverage_min = 50\n"),
    "bad value": ("phase7.toml", b"enabled = true\ncoverage_min = 500\n"),
    "bad TOML, enabled": ("phase7.toml", b"enabled = true\n[[[\n"),
    "bad TOML": ("phase7.toml", b"coverage_min = \n"),
    "UTF-16": ("phase7.toml", "enabled = true\n".encode("utf-16")),
    "not UTF-8": ("phase7.toml", b'title = "\xff"\nenabled = true\n'),
    "pyproject": ("pyproject.toml", b"[tool.phase7]\nenabled = true\n"),
    "pyproject dotted": ("pyproject.toml", b"[tool]\nphase7.enabled = true\n"),
    "pyproject other tool": ("pyproject.toml", b"[tool.other]\nenabled = true\n"),
    "pyproject without phase7": ("pyproject.toml", b"[project]\nname = 'x'\n"),
    "pyproject phase7 not a table": ("pyproject.toml", b"[tool]\nphase7 = 1\nenabled = 1\n"),
}

#: The words pytest reads as a ``bool`` ini key's true and false.
TRUE_WORDS = frozenset({"y", "yes", "t", "true", "on", "1"})
FALSE_WORDS = frozenset({"n", "no", "f", "false", "off", "0"})

#: Values of the ini option ``phase7`` ("" = not set).
INI_VALUES = ("", "true", " Yes ", "on", "1", "false", "no", "maybe")


class FakeConfig:
    """What the plugin's checks read of a ``pytest.Config``: options, ini, rootpath, stash."""

    def __init__(
        self, rootpath: Path, ini: dict[str, str], *, cli_phase7: bool = False, typed: bool = True
    ) -> None:
        """A config whose ini options are ``ini`` (others unset) and whose CLI sets nothing.

        ``typed``: ``getini`` reads as pytest reads phase7's typed keys; else every key is a
        string, "" when unset (as they were registered before they had types).
        """
        self.rootpath = rootpath
        self.inipath = None
        self.stash = pytest.Stash()
        self._ini = ini
        self._typed = typed
        self.option = argparse.Namespace(**{option.dest: None for option in OPTIONS})
        self.option.phase7 = cli_phase7

    def getini(self, name: str) -> object:
        """The ini value: as pytest types it (None when unset), or the string ("" when unset)."""
        if not self._typed:
            return self._ini.get(name, "")
        if name not in self._ini:
            return None
        value, kind = self._ini[name], next(o.ini_kind for o in OPTIONS if o.ini == name)
        if kind == "bool":  # pytest's _strtobool
            word = value.strip().lower()
            if word not in TRUE_WORDS | FALSE_WORDS:
                raise ValueError(f"invalid truth value {word!r}")
            return word in TRUE_WORDS
        return shlex.split(value) if kind == "args" else value


def write_table(root: Path, key: str) -> None:
    """Write the table named ``key`` of :data:`TABLES` into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    table = TABLES[key]
    if table is not None:
        (root / table[0]).write_bytes(table[1])


def reference_is_enabled(config: Any) -> bool:
    """``is_enabled`` as it was: the whole table parsed and every setting resolved."""
    if getattr(config.option, "phase7", False):
        return True
    try:
        table, label = load_table(config.rootpath)
        cli = {option.name: getattr(config.option, option.dest, None) for option in OPTIONS}
        ini = {option.name: config.getini(option.ini) for option in OPTIONS}
        return resolve(cli, ini, table, table_path=label).enabled
    except Phase7Error:
        return False


def reference_early_enabled(config: Any) -> bool:
    """``early_enabled`` as it was (exceptions count as off, as its caller did)."""
    raw = config.getini("phase7")
    if raw:
        return str(raw).strip().lower() in {"1", "true", "yes", "on"}
    try:
        table, _ = load_table(config.rootpath)
    except Exception:  # noqa: BLE001 - the caller turned every exception into "off"
        return False
    return table.get("enabled") is True


@pytest.mark.parametrize("ini", INI_VALUES)
@pytest.mark.parametrize("key", list(TABLES))
def test_enabled_decisions_match_the_full_parse(tmp_path: Path, key: str, ini: str) -> None:
    write_table(tmp_path, key)
    ini_values = {"phase7": ini} if ini else {}
    expected = reference_is_enabled(FakeConfig(tmp_path, ini_values, typed=False))
    assert activation.is_enabled(FakeConfig(tmp_path, ini_values)) is expected
    early = reference_early_enabled(FakeConfig(tmp_path, ini_values, typed=False))
    try:
        got = activation.early_enabled(FakeConfig(tmp_path, ini_values))
    except Phase7Error:
        got = False  # wants_coverage_injection turns it into "off"
    assert got is early


def test_the_matrix_holds_both_answers(tmp_path: Path) -> None:
    # The comparison above is only worth something if both answers occur in it.
    answers = set()
    for key in ("enabled", "disabled", "bad value", "escaped key"):
        write_table(tmp_path / key, key)
        answers.add(reference_is_enabled(FakeConfig(tmp_path / key, {})))
    assert answers == {True, False}


def test_command_line_flag_wins_without_reading_anything(tmp_path: Path) -> None:
    write_table(tmp_path, "bad TOML")
    config = FakeConfig(tmp_path, {}, cli_phase7=True)
    assert activation.is_enabled(config) is True
    assert activation.TABLE_KEY not in config.stash


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every parse of a phase7 table file."""
    parsed: list[Path] = []
    real = settings._parse_toml

    def counting(path: Path, raw: bytes) -> dict[str, Any]:
        parsed.append(path)
        return real(path, raw)

    monkeypatch.setattr(settings, "_parse_toml", counting)
    return parsed


def early_namespace() -> argparse.Namespace:
    """pytest-cov's early options when the user asked for nothing."""
    return argparse.Namespace(cov_source=None, no_cov=False, phase7=False)


@pytest.mark.parametrize("key", ["enabled", "pyproject", "bad value"])
def test_a_run_parses_the_table_once(
    tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_table(tmp_path, key)
    parsed = count_parses(monkeypatch)
    monkeypatch.setattr(activation, "outer_coverage", lambda: None)
    config = FakeConfig(tmp_path, {})
    # What one run asks, in order: coverage injection, pytest_configure, the engine's set-up.
    activation.wants_coverage_injection(config, early_namespace())  # type: ignore[arg-type]
    if activation.is_enabled(config):  # type: ignore[arg-type]
        activation.read_settings(config)  # type: ignore[arg-type]
    assert len(parsed) == 1


@pytest.mark.parametrize("key", ["none", "other settings", "bad TOML", "pyproject without phase7"])
def test_an_off_run_parses_no_table(
    tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_table(tmp_path, key)
    parsed = count_parses(monkeypatch)
    monkeypatch.setattr(activation, "outer_coverage", lambda: None)
    config = FakeConfig(tmp_path, {})
    assert activation.wants_coverage_injection(config, early_namespace()) is False  # type: ignore[arg-type]
    assert activation.is_enabled(config) is False  # type: ignore[arg-type]
    assert parsed == []


def test_a_broken_table_raises_the_same_error_every_time(tmp_path: Path) -> None:
    write_table(tmp_path, "bad TOML, enabled")
    source = TableSource(tmp_path)
    messages = []
    for _ in range(2):
        with pytest.raises(Phase7Error) as info:
            source.table()
        messages.append(str(info.value))
    with pytest.raises(Phase7Error) as fresh:
        load_table(tmp_path)
    assert messages == [str(fresh.value)] * 2
    assert "invalid TOML" in messages[0]


def test_an_unreadable_table_is_off_and_reported_when_asked(tmp_path: Path) -> None:
    (tmp_path / "phase7.toml").mkdir()  # not a file: pyproject is looked at instead
    (tmp_path / "pyproject.toml").mkdir()
    assert TableSource(tmp_path).may_enable() is False
    assert load_table(tmp_path) == ({}, "[tool.phase7]")


def test_outer_coverage_does_not_import_coverage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "coverage", raising=False)
    assert activation.outer_coverage() is None
    assert "coverage" not in sys.modules


def test_outer_coverage_returns_the_running_measurement(monkeypatch: pytest.MonkeyPatch) -> None:
    running = object()
    fake = types.ModuleType("coverage")
    fake.Coverage = type("Coverage", (), {"current": staticmethod(lambda: running)})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "coverage", fake)
    assert activation.outer_coverage() is running


#: The TOML parser phase7 imports: the standard library's, or tomli before Python 3.11.
TOML = "tomllib" if sys.version_info >= (3, 11) else "tomli"

PROBE = f"""
import sys


def test_probe():
    heavy = ["pytest_phase7.session", "pytest_phase7.engine", "pytest_phase7.gates",
             "pytest_phase7.resolve", "pytest_phase7.manifest", "coverage", "{TOML}"]
    print("LOADED:", " ".join(name for name in heavy if name in sys.modules))
"""


def probe(path: Path, *flags: str) -> list[str]:
    """The heavy modules loaded when the tests of the project at ``path`` run."""
    # A subprocess of its own, measured by nothing (the outer session may run under coverage).
    env = {k: v for k, v in os.environ.items() if not k.startswith("COV")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", *flags],
        cwd=path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("LOADED:"):
            return line.split(":", 1)[1].split()
    raise AssertionError(proc.stdout + proc.stderr)


@pytest.mark.slow
def test_plain_pytest_imports_what_it_imports_without_phase7(pytester: pytest.Pytester) -> None:
    # A project whose table holds a plan but does not enable phase7; pytest's own ini is
    # pytest.ini (pytest would import tomllib itself to read a pyproject.toml).
    pytester.makeini("[pytest]\n")
    pytester.path.joinpath("phase7.toml").write_text(
        '[[batches]]\nnumber = 1\ntitle = "Unit Tests"\nitem_range = "1-1"\n\n'
        '[[batches.items]]\nnumber = 1\nmodule = ""\nfile = "probe.py"\nstatus = "QUEUED"\n',
        encoding="utf-8",
    )
    pytester.makepyfile(test_probe=PROBE)
    without = probe(pytester.path, "-p", "no:phase7")
    off = probe(pytester.path)
    on = probe(pytester.path, "--phase7", "--phase7-gates=ruff")
    assert off == without
    assert "pytest_phase7.session" not in off
    # The negative control: with phase7 on, the same probe sees the run's modules.
    assert {"pytest_phase7.session", "pytest_phase7.engine", TOML} <= set(on)
