"""End to end: items find their targets as real plans write them (pytester, subprocesses).

* a File cell holding a path (``| 1 | Core | src/click/core.py |``) is that path;
* an area with no folder of its name searches the whole rootdir;
* ``[tool.phase7.targets]`` fixes ambiguous items without editing the plan, and a bad entry is a
  usage error naming the config file and line;
* the shared plan (``tests/fixtures/PHASE7_EXECUTION_PLAN.md``, unedited) resolves on a tree
  shaped like the repository it was written for, with exactly two ``[tool.phase7.targets]`` lines.

The coverage figures are compared with ``coverage report`` on the same data.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from test_plugin_e2e import coverage_report_percent, phase7_section, table_row

from pytest_phase7.cli import EXIT_OK, EXIT_PROBLEMS, main

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures"

CORE = '''"""Core."""


def run(flag: bool) -> str:
    """Run."""
    if flag:
        return "yes"
    return "no"
'''

UTIL = '''"""Util."""


def twice(x: int) -> int:
    """Twice."""
    return 2 * x
'''

TESTS = """
from click_like.core import run
from click_like.util import twice


def test_run():
    assert run(True) == "yes"


def test_twice():
    assert twice(2) == 4
"""

PLAN = """# Plan

### Batch 1: Unit Tests
**Items:** 1-3

| # | Module | File | Complexity | Est. Time | Status |
|---|--------|------|-----------|-----------|--------|
| 1 | Core | src/click_like/core.py | Simple | 1h | QUEUED |
| 2 | Helpers | util.py | Simple | 1h | QUEUED |
| 3 | Click Like | __init__.py | Simple | 1h | QUEUED |
"""

PYPROJECT = """
[tool.pytest.ini_options]
pythonpath = ["src"]

[tool.phase7]
manifest = "PLAN.md"
gates = ["coverage"]
{extra}"""


def click_like(pytester: pytest.Pytester, extra: str = "") -> Path:
    """A src-layout library whose plan writes paths and areas no folder is named after."""
    pytester.makefile(".toml", pyproject=PYPROJECT.format(extra=extra))
    pytester.makefile(".md", PLAN=PLAN)
    src = pytester.path / "src" / "click_like"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text('"""Package."""\n')
    (src / "core.py").write_text(CORE)
    (src / "util.py").write_text(UTIL)
    tests = pytester.path / "tests"
    tests.mkdir()
    (tests / "__init__.py").write_text("")
    (tests / "test_click_like.py").write_text(TESTS)
    return pytester.path


def validate(rootdir: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["validate", *args, "--rootdir", str(rootdir)], out=out)
    return code, out.getvalue()


def test_file_cell_path_and_area_without_folder_resolve_and_are_gated(pytester: pytest.Pytester):
    root = click_like(pytester)
    result = pytester.runpytest_subprocess("--phase7", "-p", "no:randomly")
    out = result.stdout.str()
    section = phase7_section(out)
    assert section[1].split() == ["#", "Module", "File", "Target", "Cov", "Status"]
    # Item 1: the File cell is a path (no folder is named "core"); item 2: the area "Helpers"
    # names no folder, so the whole rootdir is searched and util.py is found.
    percent = coverage_report_percent(root, "src/click_like/core.py")
    # A File cell that is the whole path is shown once: no Target cell repeats it.
    assert table_row(out, 1).split()[:3] == ["1", "Core", "src/click_like/core.py"]
    assert f"{percent}%" in table_row(out, 1).split()
    assert table_row(out, 2).split()[:4] == ["2", "Helpers", "util.py", "src/click_like/"]
    assert f"{coverage_report_percent(root, 'src/click_like/util.py')}%" in table_row(out, 2)
    assert "(not found)" not in out
    code, listing = validate(root, "-v")
    assert code == EXIT_OK, listing
    assert listing.splitlines()[:3] == [
        "item 1: src/click_like/core.py (via the File cell (a path))",
        "item 2: src/click_like/util.py (via the whole rootdir)",
        "item 3: src/click_like/__init__.py (via folders named 'click_like')",
    ]


def test_ambiguous_item_says_what_to_paste_and_the_lines_fix_it(pytester: pytest.Pytester):
    root = click_like(pytester)
    (root / "tests" / "util.py").write_text("")  # a second util.py: item 2 is ambiguous
    result = pytester.runpytest_subprocess("--phase7", "-p", "no:randomly")
    out = result.stdout.str()
    assert result.ret == 1
    assert "(ambiguous)" in table_row(out, 2)
    section = phase7_section(out)
    fix = section.index("to choose each target, add to pyproject.toml (keep the right path):")
    assert section[fix - 1] == (
        "  #2: 'util.py' matches 2 files in the whole rootdir: "
        "src/click_like/util.py, tests/util.py"
    )
    assert section[fix + 1 : fix + 3] == [
        "  [tool.phase7.targets]",
        '  2 = "src/click_like/util.py"  # or tests/util.py',
    ]
    assert section[-1] == (
        "phase7: merge BLOCKED (fail-on=regression): 1 item has an ambiguous target (#2)"
    )
    code, text = validate(root)
    assert code == EXIT_PROBLEMS
    assert "  [tool.phase7.targets]" in text.splitlines()
    # Pasting the proposed lines is all it takes.
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + "\n" + "\n".join(section[fix + 1 : fix + 3]) + "\n"
    )
    fixed = pytester.runpytest_subprocess("--phase7", "-p", "no:randomly")
    assert fixed.ret == 0, fixed.stdout.str()
    fixed_row = table_row(fixed.stdout.str(), 2).split()
    assert fixed_row[:4] == ["2", "Helpers", "util.py", "src/click_like/"]
    assert validate(root)[0] == EXIT_OK


def test_bad_targets_entry_is_a_usage_error_naming_the_line(pytester: pytest.Pytester):
    root = click_like(
        pytester, '\n[tool.phase7.targets]\n2 = "src/click_like/util.py"\n9 = "x.py"\n'
    )
    result = pytester.runpytest_subprocess("--phase7", "-p", "no:randomly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    line = (root / "pyproject.toml").read_text().splitlines().index('9 = "x.py"') + 1
    expected = (
        f"{root / 'pyproject.toml'}:{line}: [tool.phase7.targets] 9 = 'x.py': PLAN.md has no item 9"
    )
    assert f"ERROR: phase7: {expected}" in result.stderr.lines
    assert "Traceback" not in result.stderr.str()
    assert validate(root) == (EXIT_PROBLEMS, expected + "\n")


# --- the shared plan on a tree shaped like its repository ---------------------------------

#: The Python files of theinterneti/TTA (c1258bc) that the shared plan's six File cells can match,
#: with the folders named like its two areas, and a sample of the rest of the tree.
TTA_FILES = (
    "src/agent_orchestration/__init__.py",
    "src/agent_orchestration/adapters.py",
    "src/agent_orchestration/agents.py",
    "src/agent_orchestration/service.py",
    "src/agent_orchestration/safety_monitoring/__init__.py",
    "src/agent_orchestration/safety_monitoring/service.py",
    "src/components/player_experience/__init__.py",
    "src/player_experience/__init__.py",
    "src/player_experience/api/auth.py",
    "src/player_experience/api/routers/auth.py",
    "src/player_experience/api/routers/characters.py",
    "src/player_experience/managers/player_experience_manager.py",
    "src/player_experience/models/auth.py",
    "packages/tta-ai-framework/src/tta_ai/orchestration/adapters.py",
    "packages/tta-ai-framework/src/tta_ai/orchestration/agents.py",
    "packages/tta-ai-framework/src/tta_ai/orchestration/service.py",
    "packages/tta-ai-framework/src/tta_ai/orchestration/safety_monitoring/service.py",
    "tests/agent_orchestration/test_service.py",
    "tests/player_experience/test_auth.py",
)

TTA_TARGETS = """
[tool.phase7.targets]
3 = "src/agent_orchestration/service.py"
4 = "src/player_experience/api/routers/auth.py"
"""


@pytest.fixture
def tta(tmp_path: Path) -> Path:
    for rel in TTA_FILES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text('"""Module."""\n')
    shutil.copy(FIXTURES / "PHASE7_EXECUTION_PLAN.md", tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "tta"\n')
    return tmp_path


def test_shared_plan_on_its_repository_names_the_two_collisions(tta: Path):
    code, out = validate(tta)
    assert code == EXIT_PROBLEMS
    lines = out.splitlines()
    # The plan's own figures come first (its hours: 77 declared, 85 in its batches).
    assert lines[1].endswith(
        ":15: warning: plan declares 77 hours but its batches add up to 85 (18+22+22+14+9)"
    )
    assert lines[2].endswith(
        ":32: error: item 3: 'service.py' matches 2 files in folders named 'agent_orchestration': "
        "src/agent_orchestration/service.py, src/agent_orchestration/safety_monitoring/service.py"
    )
    assert lines[3].endswith(
        ":33: error: item 4: 'auth.py' matches 3 files in folders named 'player_experience': "
        "src/player_experience/api/auth.py, src/player_experience/api/routers/auth.py, "
        "src/player_experience/models/auth.py"
    )
    assert lines[4:7] == [
        "to choose each target, add to pyproject.toml (keep the right path):",
        "  [tool.phase7.targets]",
        '  3 = "src/agent_orchestration/service.py"  '
        "# or src/agent_orchestration/safety_monitoring/service.py",
    ]
    assert (
        lines[7] == '  4 = "src/player_experience/api/auth.py"  # or one of the 2 other candidates'
    )
    assert lines[-1].endswith("(6 mapped, 4 resolved), 3 phases, 5 criteria; 2 errors, 2 warnings")


def test_shared_plan_unedited_resolves_with_two_target_lines(tta: Path):
    pyproject = tta / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + TTA_TARGETS)
    code, out = validate(tta, "-v")
    assert code == EXIT_OK, out
    lines = out.splitlines()
    assert lines[:6] == [
        "item 1: src/agent_orchestration/adapters.py (via folders named 'agent_orchestration')",
        "item 2: src/agent_orchestration/agents.py (via folders named 'agent_orchestration')",
        "item 3: src/agent_orchestration/service.py (via [tool.phase7.targets])",
        "item 4: src/player_experience/api/routers/auth.py (via [tool.phase7.targets])",
        "item 5: src/player_experience/api/routers/characters.py "
        "(via folders named 'player_experience')",
        "item 6: src/player_experience/managers/player_experience_manager.py "
        "(via folders named 'player_experience')",
    ]
    # Batches 2-5 give only item ranges: the plan names no target for items 7-12 and 19-47 yet.
    unmapped = [line for line in lines[6:] if line.startswith("item ")]
    assert len(unmapped) == 35
    assert all(line.endswith(": not mapped: the plan names no target yet") for line in unmapped)
    # The only problems left are the plan's own: it declares 47 items, its batches cover 41;
    # it declares 77 hours, its batches add up to 85.
    problems = [line for line in lines if ": warning: " in line or ": error: " in line]
    assert [line.split(": ", 1)[1] for line in problems] == [
        "warning: plan declares 47 work items but its batches cover 41; "
        "items 13-18 belong to no batch",
        "warning: plan declares 77 hours but its batches add up to 85 (18+22+22+14+9)",
    ]
    assert lines[-1].endswith("(6 mapped, 6 resolved), 3 phases, 5 criteria; 0 errors, 2 warnings")


def test_shared_plan_gated_on_its_repository(
    tta: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("COLUMNS", "120")  # room for every Target folder, uncut
    pyproject = tta / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + TTA_TARGETS)
    (tta / "tests" / "test_smoke.py").write_text("def test_smoke():\n    assert True\n")
    pytester.chdir()
    result = pytester.runpytest_subprocess(
        "--phase7", "--phase7-gates=ruff", "-p", "no:randomly", "--rootdir", str(tta), str(tta)
    )
    out = result.stdout.str()
    assert result.ret == 0, out
    assert "Target (in src/)" in out
    refs = {n: table_row(out, n).split()[-3] for n in range(1, 7)}
    assert refs == {
        1: "agent_orchestration/",
        2: "agent_orchestration/",
        3: "agent_orchestration/",
        4: "player_experience/api/routers/",
        5: "player_experience/api/routers/",
        6: "player_experience/managers/",
    }
    assert "ambiguous" not in out
    assert "to choose each target" not in out
