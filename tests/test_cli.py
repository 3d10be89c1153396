"""The ``phase7`` command and manifest discovery (in-process, plain data)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from pytest_phase7.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main
from pytest_phase7.errors import ManifestError
from pytest_phase7.resolve.project import find_manifest

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tta"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_validate_shared_fixture_warns_about_undeclared_items(tmp_path: Path):
    code, out = run(
        "validate", str(FIXTURES / "PHASE7_EXECUTION_PLAN.md"), "--rootdir", str(tmp_path)
    )
    assert code == EXIT_PROBLEMS  # the six mapped targets do not exist in an empty rootdir
    lines = out.splitlines()
    assert lines[0].endswith(
        ":14: warning: plan declares 47 work items but its batches cover 41; "
        "items 13-18 belong to no batch"
    )
    assert lines[1].endswith(
        ":15: warning: plan declares 77 hours but its batches add up to 85 (18+22+22+14+9)"
    )
    # Batch 1's six files do not exist in an empty rootdir: each is reported, with the search.
    missing = [line for line in lines if "error: item" in line]
    assert len(missing) == 6
    assert missing[0].endswith(
        "PHASE7_EXECUTION_PLAN.md:30: error: item 1: no 'adapters.py' in the whole rootdir "
        "(and no folder is named 'agent_orchestration') (searched: ./**/adapters.py)"
    )
    assert lines[-1].endswith(
        "5 batches, 41 items (6 mapped, 0 resolved), 3 phases, 5 criteria; 6 errors, 2 warnings"
    )


def test_validate_bundled_example_is_clean():
    code, out = run("validate", "--rootdir", str(EXAMPLE))
    assert code == EXIT_OK, out
    assert out.splitlines() == [
        "PHASE7_EXECUTION_PLAN.md: 3 batches, 9 items (7 mapped, 7 resolved), 2 phases, "
        "5 criteria; 0 errors, 0 warnings"
    ]


def test_validate_broken_manifest_names_file_and_line(tmp_path: Path):
    plan = tmp_path / "PLAN.md"
    plan.write_text("# P\n\n### Batch 1: Unit Tests\n**Items:** 12-7\n")
    code, out = run("validate", str(plan), "--rootdir", str(tmp_path))
    assert code == EXIT_PROBLEMS
    assert "PLAN.md:4: error:" in out
    assert "Traceback" not in out


def test_validate_unreadable_manifest(tmp_path: Path):
    code, out = run("validate", str(tmp_path / "nope.md"), "--rootdir", str(tmp_path))
    assert code == EXIT_PROBLEMS
    assert "manifest file not found" in out


def test_validate_bad_config(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.phase7]\ncoverage_min = 'lots'\n")
    code, out = run("validate", "--rootdir", str(tmp_path))
    assert code == EXIT_PROBLEMS
    assert "coverage_min: expected a number, got 'lots'" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == EXIT_USAGE
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == EXIT_USAGE
    assert "usage: phase7" in capsys.readouterr().err


def test_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    help_text = capsys.readouterr().out
    assert "1  problems found" in help_text
    assert "2  usage error" in help_text


def test_find_manifest_order(tmp_path: Path):
    shutil.copy(FIXTURES / "PHASE7_EXECUTION_PLAN.md", tmp_path)
    found = find_manifest(tmp_path, None, {}, "[tool.phase7]")
    assert found.path == "PHASE7_EXECUTION_PLAN.md"
    shutil.copy(FIXTURES / "phase7_plan.toml", tmp_path / "phase7.toml")
    found = find_manifest(tmp_path, None, {}, "[tool.phase7]")
    assert found.path == "phase7.toml"
    assert found.format == "toml"


def test_find_manifest_inline_table(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[tool.phase7]\n\n[[tool.phase7.batches]]\nnumber = 1\ntitle = 'Unit Tests'\n"
        "items = '1-2'\n"
    )
    table = {"batches": [{"number": 1, "title": "Unit Tests", "items": "1-2"}]}
    found = find_manifest(tmp_path, None, table, f"{pyproject} [tool.phase7]")
    assert found.path == "pyproject.toml"
    assert [item.number for item in found.items] == [1, 2]
    assert found.batches[0].line == 3


def test_find_manifest_explicit_relative_to_base(tmp_path: Path):
    sub = tmp_path / "docs"
    sub.mkdir()
    shutil.copy(FIXTURES / "PHASE7_EXECUTION_PLAN.md", sub / "plan.md")
    found = find_manifest(tmp_path, "plan.md", {}, "[tool.phase7]", base=sub)
    assert found.path == "docs/plan.md"


def test_find_manifest_none(tmp_path: Path):
    with pytest.raises(ManifestError, match="no work-item manifest"):
        find_manifest(tmp_path, None, {}, "[tool.phase7]")
