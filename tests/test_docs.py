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


def test_readme_lists_every_option_with_its_three_names():
    for option in OPTIONS:
        row = f"| `{option.name}` | `{option.cli}"
        assert row in README, option.name
        assert f"`{option.ini}`" in README, option.ini


def test_readme_options_table_shows_the_settings_defaults():
    rows = {
        cells[0].strip("`"): cells[-1]
        for line in README.splitlines()
        if line.startswith("| `")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    for option in OPTIONS:
        if option.default_text and not option.default_note:
            assert rows[option.name].split()[0] == option.default_text, option.name


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
