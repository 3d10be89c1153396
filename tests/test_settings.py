"""Settings: one table of defaults, precedence CLI > ini > [tool.phase7], clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_phase7.errors import ConfigError
from pytest_phase7.settings import DEFAULTS, OPTIONS, Settings, load_table, resolve


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
