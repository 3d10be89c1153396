"""Settings: one table of defaults, precedence CLI > ini > [tool.phase7], clear errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pytest_phase7.activation import read_settings
from pytest_phase7.errors import ConfigError
from pytest_phase7.settings import DEFAULTS, OPTIONS, Settings, load_table, resolve
from pytest_phase7.settings import option as option_of


def test_defaults_come_from_the_dataclass():
    assert resolve({}, {}, {}) == DEFAULTS == Settings()
    assert DEFAULTS.coverage_min == 70.0
    assert DEFAULTS.fail_on == "regression"


def test_every_option_is_a_settings_field_with_cli_and_ini_names():
    names = {o.name for o in OPTIONS}
    assert names <= set(Settings.__dataclass_fields__)
    for option in OPTIONS:
        assert option.cli.startswith("--phase7")
        assert option.ini.startswith("phase7")


def test_precedence_cli_over_ini_over_table():
    table = {"coverage_min": 50, "ruff_max": 3, "mypy_max": 4}
    ini = {"coverage_min": "60", "ruff_max": "2"}
    cli = {"coverage_min": "80"}
    settings = resolve(cli, ini, table)
    assert settings.coverage_min == 80
    assert settings.ruff_max == 2
    assert settings.mypy_max == 4


def test_flags_false_on_cli_do_not_override_table():
    assert resolve({"enabled": False}, {}, {"enabled": True}).enabled is True
    assert resolve({"enabled": True}, {}, {}).enabled is True


@pytest.mark.parametrize(
    ("raw", "message"),
    [("150", "not a percentage"), ("-5", "not a percentage"), ("abc", "expected a number")],
)
def test_bad_thresholds_name_their_source(raw: str, message: str):
    with pytest.raises(ConfigError, match=f"--phase7-coverage-min: .*{message}"):
        resolve({"coverage_min": raw}, {}, {})
    with pytest.raises(ConfigError, match=f"ini option phase7_coverage_min: .*{message}"):
        resolve({}, {"coverage_min": raw}, {})


def test_bad_table_value_names_the_table():
    with pytest.raises(ConfigError, match=r"pyproject.toml \[tool.phase7\] fail_on: expected one"):
        resolve({}, {}, {"fail_on": "sometimes"}, table_path="pyproject.toml [tool.phase7]")


def test_unknown_table_key():
    with pytest.raises(ConfigError, match="unknown setting 'coverage_minimum'"):
        resolve({}, {}, {"coverage_minimum": 70})


def test_args_are_split_without_a_shell():
    settings = resolve({"ruff_args": "--select 'E,F' ; rm -rf /"}, {}, {"mypy_args": ["--strict"]})
    assert settings.ruff_args == ("--select", "E,F", ";", "rm", "-rf", "/")
    assert settings.mypy_args == ("--strict",)


def test_gates_list():
    assert resolve({"gates": "coverage, ruff"}, {}, {}).gates == ("coverage", "ruff")


def test_modules_mapped_twice_is_an_error():
    with pytest.raises(ConfigError, match="mapped twice"):
        resolve({}, {}, {"modules": {"Agent Orchestration": "a", "agent  orchestration": "b"}})


def test_modules_kept_in_order():
    settings = resolve({}, {}, {"modules": {"A": "src/a", "B": "src/b"}})
    assert settings.modules == (("A", "src/a"), ("B", "src/b"))


def test_load_table_prefers_phase7_toml(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.phase7]\ncoverage_min = 10\n")
    assert load_table(tmp_path)[0] == {"coverage_min": 10}
    (tmp_path / "phase7.toml").write_text("coverage_min = 20\n")
    table, label = load_table(tmp_path)
    assert table == {"coverage_min": 20}
    assert label.endswith("phase7.toml")


def test_load_table_bad_toml_names_line(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.phase7]\ncoverage_min = = 1\n")
    with pytest.raises(ConfigError) as info:
        load_table(tmp_path)
    assert info.value.line == 2
    assert "invalid TOML" in str(info.value)


# --- typed ini keys, read by pytest itself ---------------------------------------------------


def _settings_of(pytester: pytest.Pytester, *args: str) -> Settings:
    # The options as pytest parses them: pytest.ini / pyproject.toml of pytester.path, then args.
    config = pytester.parseconfig(*args)
    return read_settings(config)[0]


def test_bool_ini_keys_are_read_by_pytest_as_booleans(pytester: pytest.Pytester):
    pytester.makeini(
        "[pytest]\nphase7_update_manifest = true\nphase7_baseline_update = yes\n"
        "phase7_step_summary = off\n"
    )
    config = pytester.parseconfig()
    assert config.getini("phase7_update_manifest") is True
    assert config.getini("phase7_step_summary") is False
    assert config.getini("phase7_update_manifest_force") is None  # unset: not False
    settings = read_settings(config)[0]
    assert settings.update_manifest is True
    assert settings.baseline_update is True
    assert settings.step_summary is False


def test_args_ini_keys_are_split_by_pytest_with_shell_quoting(pytester: pytest.Pytester):
    pytester.makeini(
        '[pytest]\nphase7_mypy_args = --config-file "my config.ini" --strict\n'
        "phase7_gates = coverage, ruff\nphase7_suite = tests/unit,tests/e2e 'tests/with space'\n"
    )
    config = pytester.parseconfig()
    assert config.getini("phase7_mypy_args") == ["--config-file", "my config.ini", "--strict"]
    settings = read_settings(config)[0]
    assert settings.mypy_args == ("--config-file", "my config.ini", "--strict")
    assert settings.gates == ("coverage", "ruff")
    assert settings.suite == ("tests/unit", "tests/e2e", "tests/with space")


def test_an_ini_false_wins_over_the_table_and_an_unset_key_does_not(pytester: pytest.Pytester):
    pytester.makepyprojecttoml(
        "[tool.phase7]\nstep_summary = true\nupdate_manifest = true\ncoverage_min = 50\n"
    )
    assert _settings_of(pytester).update_manifest is True  # no ini key: the table's value
    pytester.makeini("[pytest]\nphase7_step_summary = false\nphase7_coverage_min = 60\n")
    settings = _settings_of(pytester)
    assert settings.step_summary is False  # ini > table, even for "false"
    assert settings.update_manifest is True
    assert settings.coverage_min == 60
    assert _settings_of(pytester, "--phase7-coverage-min=80").coverage_min == 80  # CLI > ini


def test_a_bad_typed_ini_value_names_the_line_unless_the_command_line_overrides_it(
    pytester: pytest.Pytester,
):
    pytester.makeini("[pytest]\nphase7_update_manifest = perhaps\nphase7_ruff_max = x\n")
    with pytest.raises(ConfigError) as info:
        _settings_of(pytester)
    assert info.value.line == 3
    assert str(info.value).startswith(f"{pytester.path / 'tox.ini'}:3: ini option phase7_ruff_max")
    pytester.makeini("[pytest]\nphase7_update_manifest = perhaps\n")
    with pytest.raises(
        ConfigError, match=r"tox.ini:2: ini option phase7_update_manifest: .*perhaps"
    ):
        _settings_of(pytester)
    assert _settings_of(pytester, "--phase7-update-manifest").update_manifest is True


@pytest.mark.skipif(pytest.version_tuple < (9,), reason="native TOML configuration is pytest 9+")
def test_native_toml_configuration_takes_numbers_booleans_and_lists(pytester: pytest.Pytester):
    # [tool.pytest] (not ini_options) keeps TOML's types; a string-typed key would refuse them.
    pytester.makepyprojecttoml(
        "[tool.pytest]\nphase7_coverage_min = 85\nphase7_ruff_max = 2\nphase7_update_manifest = "
        'true\nphase7_ruff_args = ["--select", "E"]\nphase7_gates = ["ruff"]\n'
    )
    settings = _settings_of(pytester)
    assert settings.coverage_min == 85
    assert settings.ruff_max == 2
    assert settings.update_manifest is True
    assert settings.ruff_args == ("--select", "E")
    assert settings.gates == ("ruff",)


def test_command_line_values_arrive_parsed_and_resolve_takes_them_as_they_are():
    # argparse has applied Option.from_command_line; resolve parses again, to the same value.
    for option in OPTIONS:
        if option.flag:
            continue
        sample = {
            "gates": "ruff",
            "fail_on": "NEVER",
            "annotations": "GitHub",
            "step_summary": "false",
            "suite": "tests",
        }.get(option.name, "12" if option.ini_kind in {"int", "float"} else "--x y")
        given = option.from_command_line(sample)
        assert option.convert(given) == given, option.name
    assert option_of("fail_on").from_command_line("NEVER") == "never"
    assert option_of("ruff_args").from_command_line("") is None  # empty: not given


def test_choices_are_checked_wherever_the_value_comes_from():
    with pytest.raises(ConfigError, match=r"ini option phase7_fail_on: expected one of regression"):
        resolve({}, {"fail_on": "sometimes"}, {})
    assert resolve({}, {"fail_on": " Never "}, {}).fail_on == "never"
    with pytest.raises(argparse.ArgumentTypeError, match="not a percentage"):
        option_of("coverage_min").from_command_line("101")


def test_load_table_nested_too_deeply_is_a_config_error(tmp_path: Path):
    # tomllib recurses per nesting level: a RecursionError must not escape as a traceback.
    (tmp_path / "phase7.toml").write_text("coverage_min = 50\nx = " + "[" * 100_000 + "\n")
    with pytest.raises(ConfigError, match="invalid TOML: nested too deeply"):
        load_table(tmp_path)


def test_bad_entries_name_their_toml_line(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.phase7]\ncoverage_min = 50\n\n[tool.phase7.modules]\n"A" = 3\n\n'
        '[tool.phase7.targets]\n2 = "a.py"\nx = "b.py"\n'
    )
    table, label = load_table(tmp_path)
    with pytest.raises(ConfigError) as info:
        resolve({}, {}, {**table, "targets": {}}, table_path=label)
    assert info.value.line == 5  # modules."A", in its own section
    with pytest.raises(ConfigError) as info:
        resolve({}, {}, {**table, "modules": {}}, table_path=label)
    assert info.value.line == 9  # targets.x
    inline = tmp_path / "phase7.toml"
    inline.write_text('fail_on = "x"\nmodules = { A = 1 }\n')
    table, label = load_table(tmp_path)
    with pytest.raises(ConfigError) as info:
        resolve({}, {}, table, table_path=label)
    assert info.value.line == 1
    with pytest.raises(ConfigError) as info:
        resolve({}, {}, {"modules": table["modules"]}, table_path=label)
    assert info.value.line == 2  # an inline table: its key's line
