"""``pytest --help``, ``phase7 --help`` and every subcommand's ``--help``, end to end.

Help texts never spell a default by hand: each comes from :data:`~pytest_phase7.settings.DEFAULTS`
(or the constant behind it), so these tests read the defaults shown and compare them with the
settings' own.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_phase7.cli import (
    BASELINE_SETTINGS,
    GATE_SETTINGS,
    INIT_SETTINGS,
    OLD_FORCE_FLAG,
    build_parser,
)
from pytest_phase7.settings import DEFAULTS, OPTIONS, Option
from pytest_phase7.settings import option as option_named

pytestmark = pytest.mark.slow

GROUP_TITLE = "Phase 7 quality gates (pytest-phase7):"


PHASE7 = str(Path(sys.executable).parent / "phase7")


def _run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    # A wide terminal keeps every help on one line; an empty rootdir keeps this repo's config out.
    env = {**os.environ, "COLUMNS": "500"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        list(argv),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _entries(text: str, heads: dict[str, str]) -> dict[str, str]:
    """name -> its help on one line, from an argparse-formatted listing.

    ``heads`` maps each name to how its entry starts (``--phase7-gates=NAMES``,
    ``phase7_gates (string):``); wrapped lines are joined.
    """
    entries: dict[str, str] = {}
    name = ""
    for line in text.splitlines():
        stripped = line.strip()
        starts = [n for n, head in heads.items() if stripped.split(" ", 1)[0] == head.split(" ")[0]]
        if line.startswith("  ") and not line.startswith("   ") and starts:
            name = starts[0]
            entries[name] = stripped[len(heads[name]) :].strip()
        elif line.startswith("   ") and name:
            entries[name] = (entries[name] + " " + stripped).strip()
        else:
            name = ""
    return entries


def _shown_default(help_line: str) -> str:
    match = re.search(r"[(;] ?default: (.*)\)$", help_line)
    return match.group(1) if match else ""


def _shown_choices(help_line: str) -> tuple[str, ...]:
    match = re.search(r"\(one of ([^;)]*)[;)]", help_line)
    return tuple(match.group(1).split(", ")) if match else ()


def _expected_default(option: Option) -> str:
    # What the default is, stated independently of Option.default_text.
    value = getattr(DEFAULTS, option.name)
    if option.default_note:
        return option.default_note
    if option.flag or value is None or value == ():
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return format(value, "g") if isinstance(value, float) else str(value)


@pytest.fixture(scope="module")
def pytest_help(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("help")
    (root / "pytest.ini").write_text("[pytest]\n")
    done = _run(root, sys.executable, "-m", "pytest", "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    return done.stdout


def test_pytest_help_exits_0_and_shows_the_phase7_group(pytest_help: str):
    assert GROUP_TITLE in pytest_help


def test_pytest_help_shows_every_option_with_the_settings_default(pytest_help: str):
    heads = {o.cli: o.cli + (f"={o.metavar}" if o.metavar else "") for o in OPTIONS}
    lines = _entries(pytest_help.split(GROUP_TITLE, 1)[1].split("\n\n", 1)[0], heads)
    for option in OPTIONS:
        assert option.cli in lines, option.cli
        shown = lines[option.cli]
        assert shown.startswith(option.help), (option.cli, shown)
        assert _shown_default(shown) == _expected_default(option), (option.cli, shown)
        assert _shown_choices(shown) == option.choices, (option.cli, shown)
    # The thresholds' defaults, spelled out: a regression in the derivation shows here.
    assert lines["--phase7-coverage-min"].endswith(f"(default: {DEFAULTS.coverage_min:g})")
    assert lines["--phase7-fail-on"].endswith(
        "(one of regression, incomplete, never; default: regression)"
    )
    assert lines["--phase7-timeout"].endswith(f"(default: {DEFAULTS.timeout:g})")


def test_pytest_help_prints_percent_signs_once_in_both_sections(pytest_help: str):
    # argparse %-formats option help (so the text holds %%); pytest prints ini help as it is.
    baseline = next(o for o in OPTIONS if o.name == "baseline")
    assert "%" in baseline.help
    flat = " ".join(pytest_help.split())
    assert flat.count(baseline.help) == 2, "once for --phase7-baseline, once for phase7_baseline"
    assert "%%" not in flat


#: Each option's ini type, stated here rather than derived from the table.
EXPECTED_INI_TYPES = {
    "enabled": "bool",
    "baseline_update": "bool",
    "update_manifest": "bool",
    "update_manifest_force": "bool",
    "step_summary": "bool",
    "in_process": "bool",
    "gates": "args",
    "ruff_args": "args",
    "mypy_args": "args",
    "interrogate_args": "args",
    "suite": "args",
    "coverage_min": "float",
    "branch_min": "float",
    "docstrings_min": "float",
    "timeout": "float",
    "hourly_rate": "float",
    "baseline_tolerance": "float",
    "diff_coverage_min": "float",
    "ruff_max": "int",
    "mypy_max": "int",
}


def _registered_ini_type(option: Option) -> str:
    # pytest 8.0-8.3 know no int or float ini keys: those are strings there.
    kind = EXPECTED_INI_TYPES.get(option.name, "string")
    if kind in {"int", "float"} and pytest.version_tuple[:2] < (8, 4):
        return "string"
    return kind


def test_every_option_has_the_ini_type_its_values_have():
    for option in OPTIONS:
        assert option.ini_type_on(pytest.version_tuple) == _registered_ini_type(option)
        assert option.ini_type_on((8, 0, 0)) in {"string", "bool", "args"}, option.name
        assert option.ini_type_on((9, 0, 0)) == EXPECTED_INI_TYPES.get(option.name, "string")


def test_pytest_help_lists_every_ini_key_with_its_type_and_default(pytest_help: str):
    heads = {o.ini: f"{o.ini} ({_registered_ini_type(o)}):" for o in OPTIONS}
    entries = _entries(pytest_help.split("[pytest] configuration options", 1)[1], heads)
    for option in OPTIONS:
        assert entries.get(option.ini) == option.help_text(), option.ini
        assert _shown_default(entries[option.ini]) == _expected_default(option), option.ini
        assert _shown_choices(entries[option.ini]) == option.choices, option.ini


def test_phase7_help_and_every_subcommand_help_exit_0(tmp_path: Path):
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(commands) >= {"validate", "gate", "report", "baseline", "init"}
    for argv in ([], *([name] for name in commands)):
        done = _run(tmp_path, PHASE7, *argv, "--help")
        assert done.returncode == 0, (argv, done.stderr)
        assert done.stdout.startswith("usage: phase7"), argv
        assert "%(" not in done.stdout, argv
        assert "%%" not in done.stdout, argv


def test_phase7_help_takes_defaults_from_the_parser_and_the_settings():
    # A subcommand's own default is argparse's %(default)s; a flag mirroring a setting has the
    # setting's help; nothing spells a default value by hand.
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    mirrored = {o.help_text(for_argparse=True) for o in OPTIONS}
    for name, sub in commands.items():
        for action in sub._actions:
            help_text = action.help or ""
            if isinstance(action.default, (str, int)) and not isinstance(action.default, bool):
                if str(action.default) in help_text.replace("%(default)s", ""):
                    pytest.fail(f"phase7 {name} {action.dest}: default written by hand")
                if action.default not in ("", ".") and "(default: " in help_text:
                    assert "%(default)s" in help_text, (name, action.dest)
            if action.dest in {o.name for o in OPTIONS} and help_text != argparse.SUPPRESS:
                assert help_text in mirrored, (name, action.dest)


SUBCOMMAND_SETTINGS = {
    "gate": GATE_SETTINGS,
    "baseline": BASELINE_SETTINGS,
    "init": INIT_SETTINGS,
    "validate": (),
    "report": (),
}


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    return dict(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


@pytest.mark.parametrize("command", sorted(SUBCOMMAND_SETTINGS))
def test_phase7_setting_flags_are_the_tables_options(command: str):
    # Every flag of a subcommand that names a setting is that option: the same stem, help,
    # default text, choices, metavar and parser as --phase7-*; no other flag shadows one.
    sub = _subcommands()[command]
    by_flag = {flag: action for action in sub._actions for flag in action.option_strings}
    names = SUBCOMMAND_SETTINGS[command]
    for name in names:
        setting = option_named(name)
        action = by_flag[setting.command_flag]
        pytest_flag = setting.argparse_kwargs(setting.dest)
        assert action.dest == name
        assert action.help == pytest_flag["help"] == setting.help_text(for_argparse=True)
        assert action.default == pytest_flag["default"]
        assert action.choices == pytest_flag.get("choices")
        assert action.metavar == pytest_flag.get("metavar")
        assert getattr(action, "type", None) == pytest_flag.get("type")
    settings_dests = {o.name for o in OPTIONS}
    for action in sub._actions:
        if action.dest in settings_dests and action.option_strings:
            assert action.dest in names, (command, action.option_strings)


def test_phase7_help_shows_the_tables_choices_and_defaults(tmp_path: Path):
    done = _run(tmp_path, PHASE7, "gate", "--help")
    assert done.returncode == 0, done.stderr
    heads = {
        option_named(n).command_flag: option_named(n).command_flag
        + (f" {option_named(n).metavar}" if option_named(n).metavar else "")
        for n in GATE_SETTINGS
    }
    lines = _entries(done.stdout, heads)
    for name in GATE_SETTINGS:
        setting = option_named(name)
        shown = lines[setting.command_flag]
        assert shown == setting.help_text(), (name, shown)
        assert _shown_default(shown) == _expected_default(setting), name
        assert _shown_choices(shown) == setting.choices, name
    assert OLD_FORCE_FLAG not in done.stdout  # the old spelling works, but is not advertised


def test_pytest_bad_choice_is_argparses_usage_error_naming_the_choices(tmp_path: Path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    done = _run(tmp_path, sys.executable, "-m", "pytest", "--phase7-fail-on=bogus")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "error: argument --phase7-fail-on: invalid choice: 'bogus'" in done.stderr
    assert all(choice in done.stderr.split("invalid choice", 1)[1] for choice in DEFAULTS_CHOICES)
    assert "Traceback" not in done.stderr


DEFAULTS_CHOICES = option_named("fail_on").choices


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--phase7-coverage-min=150", "argument --phase7-coverage-min: 150 is not a percentage"),
        ("--phase7-ruff-max=-1", "argument --phase7-ruff-max: expected a whole number >= 0"),
        ("--phase7-step-summary=maybe", "argument --phase7-step-summary: expected true or false"),
    ],
)
def test_pytest_bad_values_are_argparse_usage_errors(tmp_path: Path, flag: str, message: str):
    # The table's parser is the flag's argparse type (pytest-randomly's ArgumentTypeError).
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    done = _run(tmp_path, sys.executable, "-m", "pytest", flag)
    assert done.returncode == 4, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
