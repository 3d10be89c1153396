"""The README and CHANGELOG stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from pytest_phase7.settings import OPTIONS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_exactly_two_commands():
    before_rule = README.split("\n---\n", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", before_rule, flags=re.DOTALL)
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert "pytest --phase7" in commands[0]
    assert "examples/tta" in commands[0]
    assert "'.[test]'" in commands[1]


def test_readme_example_table_is_the_golden_run_at_80_columns():
    after = README.split("The example run ends with this table", 1)[1]
    table = re.search(r"```\n(.*?)```", after, flags=re.DOTALL)
    assert table is not None
    golden = (ROOT / "tests" / "golden" / "example_tta.80.txt").read_text(encoding="utf-8")
    assert table.group(1) == f"{' Phase 7 status '.center(80, '=')}\n{golden}"


def test_ci_runs_the_readme_test_command():
    before_rule = README.split("\n---\n", 1)[0]
    test_command = re.findall(r"```bash\n(.*?)\n```", before_rule, flags=re.DOTALL)[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    # Past the venv and the install, every step is a line of .ci/run (an environment variable
    # set in front of it aside): CI runs the README's command, nothing weaker.
    for step in [step.strip() for step in test_command.split("&&")][2:]:
        assert any(line == step or line.endswith(f" {step}") for line in ci), step


#: The README's options table lies between these two lines.
TABLE_START = "<!-- options table: generated from pytest_phase7/settings.py OPTIONS -->"
TABLE_END = "<!-- end of options table -->"

#: ``[tool.phase7]`` keys that are no option (no flag, no ini key), after the options.
TABLE_ONLY_ROWS = (
    '| `modules` | | | | none | a table `"Area" = "folder"`: where a plan\'s module areas live |',
    '| `targets` | | | | none | a table `N = "path"`: item number = its target |',
)


def _phase7_flags(name: str) -> str:
    from pytest_phase7.cli import BASELINE_SETTINGS, GATE_SETTINGS, INIT_SETTINGS

    commands = [
        command
        for command, names in (
            ("gate", GATE_SETTINGS),
            ("baseline", BASELINE_SETTINGS),
            ("init", INIT_SETTINGS),
        )
        if name in names
    ]
    flag = "--" + name.replace("_", "-")
    return f"`{flag}` ({', '.join(commands)})" if commands else ""


def options_table() -> str:
    """The README's options table, as the option table defines it (every column)."""
    rows = [
        "| `[tool.phase7]` | pytest flag | ini key (type) | `phase7` flag | default "
        "| what it does |",
        "|---|---|---|---|---|---|",
    ]
    for option in OPTIONS:
        flag = option.cli + (f"={option.metavar}" if option.metavar else "")
        default = option.default_text or ("off" if option.flag else "none")
        meaning = option.help + (f" (one of {', '.join(option.choices)})" if option.choices else "")
        ini = f"`{option.ini}` ({option.ini_type_on((9, 0))})"
        cells = [f"`{option.name}`", f"`{flag}`", ini, _phase7_flags(option.name), default, meaning]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([*rows, *TABLE_ONLY_ROWS])


def test_readme_options_table_is_the_option_table():
    # Every column: key, pytest flag, ini key and type, phase7 flag, default and help.
    assert TABLE_START in README
    assert TABLE_END in README
    shown = README.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()
    expected = options_table()
    assert shown == expected, (
        f"README.md's options table is out of date; put this between its markers:\n{expected}"
    )


def test_readme_options_table_names_every_setting_once():
    keys = [line.split("|")[1].strip().strip("`") for line in options_table().splitlines()[2:]]
    assert sorted(keys) == sorted([o.name for o in OPTIONS] + ["modules", "targets"])


def test_readme_documents_every_hook():
    hookspecs = (ROOT / "pytest_phase7" / "hookspecs.py").read_text(encoding="utf-8")
    for name in re.findall(r"^def (pytest_phase7_\w+)", hookspecs, flags=re.MULTILINE):
        assert f"`{name}(" in README, name


def test_changelog_has_unreleased_section():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert "keepachangelog.com" in changelog


def test_changelog_has_a_dated_section_for_this_version_and_links_for_every_section():
    from pytest_phase7 import __version__

    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", changelog, re.M)
    assert sections[0] == ("Unreleased", "")  # first, for the next release's entries
    released = dict(sections[1:])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", released[__version__])
    links = dict(re.findall(r"^\[([^\]]+)\]: (https://\S+)$", changelog, re.M))
    assert set(links) == {name for name, _ in sections}
    assert links["Unreleased"].endswith(f"/compare/v{__version__}...HEAD")


def test_readme_toml_examples_are_valid_toml():
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    blocks = re.findall(r"```toml\n(.*?)```", README, flags=re.DOTALL)
    assert blocks
    for block in blocks:
        tomllib.loads(block)  # raises on the first invalid one
