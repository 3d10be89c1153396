"""The TOML manifest: phase7.toml, [tool.phase7], the manifest redirect, and to_toml."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pytest_phase7.errors import ManifestError
from pytest_phase7.manifest import load_manifest, parse_markdown, parse_toml, to_toml
from pytest_phase7.model import (
    Batch,
    BatchKind,
    CoverageGoal,
    Criterion,
    Manifest,
    Phase,
    PlanStatus,
    Problem,
    Severity,
    WorkItem,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

FIXTURES = Path(__file__).parent / "fixtures"
MARKDOWN = FIXTURES / "PHASE7_EXECUTION_PLAN.md"
TOML = FIXTURES / "phase7_plan.toml"


def toml(source: str) -> Manifest:
    return parse_toml(tomllib.loads(source), "phase7.toml", source)


def round_trip(manifest: Manifest) -> Manifest:
    return parse_toml(tomllib.loads(to_toml(manifest)), "again.toml")


def only_error(manifest: Manifest) -> Problem:
    assert len(manifest.errors) == 1, manifest.problems
    return manifest.errors[0]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the fixture ------------------------------------------------------------------------------


def test_toml_fixture_equals_markdown_fixture() -> None:
    markdown = load_manifest(MARKDOWN)
    from_toml = load_manifest(TOML)
    assert from_toml.format == "toml"
    assert from_toml == markdown
    assert from_toml.batches == markdown.batches
    assert len(from_toml.items) == 41
    assert [p.message for p in from_toml.problems] == [p.message for p in markdown.problems]
    assert from_toml.errors == ()


def test_toml_fixture_line_numbers() -> None:
    manifest = load_manifest(TOML)
    assert manifest.total_items_line == 5
    assert manifest.duration_line == 6
    assert [b.line for b in manifest.batches] == [17, 74, 83, 92, 101]
    assert [i.line for i in manifest.batches[0].items] == [26, 34, 42, 50, 58, 66]
    assert {i.line for i in manifest.batches[1].items} == {78}
    assert [p.line for p in manifest.phases] == [111, 117, 123]
    assert [c.line for c in manifest.criteria] == [129, 134, 139, 144, 149]
    assert [w.line for w in manifest.warnings] == [5, 6]


@pytest.mark.parametrize("path", [MARKDOWN, TOML])
def test_to_toml_round_trips_the_fixtures(path: Path) -> None:
    manifest = load_manifest(path)
    assert round_trip(manifest) == manifest
    assert to_toml(round_trip(manifest)) == to_toml(manifest)


def test_to_toml_output_is_readable() -> None:
    text = to_toml(load_manifest(MARKDOWN))
    assert text.startswith(
        'title = "TTA/Status/Phase 7: Production Deployment - Execution Plan"\n'
        "total_items = 47\nduration_hours = 77.0\n\n[front_matter]\n"
    )
    assert '[[batches]]\nnumber = 1\ntitle = "Tier 1 Unit Tests"\nkind = "tests"\n' in text
    assert 'item_range = "1-6"\n' in text
    assert 'items = "7-12"\n' in text
    assert "target_coverage = { from = [5.0, 27.0], to = 70.0 }\n" in text
    assert text.count("[[batches.items]]") == 6  # unmapped items come back from the ranges
    assert 'status = "QUEUED"' in text
    assert text.endswith("met = true\n")


# --- pyproject.toml and the manifest redirect -------------------------------------------------

PYPROJECT = """\
[project]
name = "demo"

[tool.phase7]
coverage_min = 80
fail_on = "never"
title = "Demo"
total_items = 2

[[tool.phase7.batches]]
number = 1
title = "Unit tests"
item_range = "1-2"

[[tool.phase7.batches.items]]
number = 1
file = "a.py"
status = "nah"
"""


def test_pyproject_uses_tool_phase7(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", PYPROJECT)
    manifest = load_manifest(path, display="pyproject.toml")
    assert manifest.title == "Demo"
    assert manifest.total_items_line == 8
    assert manifest.batches[0].line == 10
    assert [(i.number, i.file, i.line) for i in manifest.items] == [(1, "a.py", 15), (2, "", 13)]
    problem = only_error(manifest)
    assert problem == Problem(
        Severity.ERROR,
        "pyproject.toml",
        18,
        "item 1: unknown status 'nah' (expected QUEUED, IN PROGRESS, DONE or FAILED)",
    )


def test_pyproject_without_tool_phase7(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n')
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.message == "has no [tool.phase7] table"


def test_settings_only_table_has_no_batches(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", "[tool.phase7]\ncoverage_min = 80\n")
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.message == "no batches found (expected [[tool.phase7.batches]] tables)"


def test_phase7_toml_without_batches(tmp_path: Path) -> None:
    path = write(tmp_path, "phase7.toml", 'title = "x"\nbatches = []\n')
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert (info.value.message, info.value.line) == (
        "no batches found (expected [[batches]] tables)",
        2,
    )


def test_batches_of_the_wrong_type_are_fatal() -> None:
    with pytest.raises(ManifestError) as info:
        toml('batches = "all of them"\n')
    assert info.value.message == (
        "batches must be an array of tables ([[batches]]), got 'all of them'"
    )


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "phase7.toml", "[[batches]]\r\nnumber = 1\r\ntitle = \r\n")
    with pytest.raises(ManifestError) as info:
        load_manifest(path, display="phase7.toml")
    assert info.value.line == 3
    assert info.value.message.startswith("invalid TOML: ")
    assert str(info.value).startswith("phase7.toml:3: invalid TOML: ")


def test_deeply_nested_toml_is_a_manifest_error(tmp_path: Path) -> None:
    path = write(tmp_path, "phase7.toml", "x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ManifestError):
        load_manifest(path)


def test_manifest_redirect_loads_the_markdown_plan(tmp_path: Path) -> None:
    plan = tmp_path / "docs" / "PLAN.md"
    plan.parent.mkdir()
    plan.write_bytes(MARKDOWN.read_bytes())
    path = write(tmp_path, "pyproject.toml", '[tool.phase7]\nmanifest = "docs/PLAN.md"\n')
    manifest = load_manifest(path, display="pyproject.toml", root=tmp_path)
    assert manifest.format == "markdown"
    assert manifest.path == str(Path("docs") / "PLAN.md")
    assert manifest == load_manifest(MARKDOWN)
    assert manifest.problems[0].path == manifest.path


def test_manifest_redirect_with_batches_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path, "phase7.toml", 'title = "x"\nmanifest = "PLAN.md"\n[[batches]]\nnumber = 1\n'
    )
    with pytest.raises(ManifestError) as info:
        load_manifest(path, display="phase7.toml")
    assert info.value.line == 2
    assert info.value.message == (
        "manifest = 'PLAN.md' names the plan, so this table may not also define batches, title"
    )


@pytest.mark.parametrize("value", ["/etc/PLAN.md", "../outside/PLAN.md"])
def test_manifest_redirect_may_not_escape_the_rootdir(tmp_path: Path, value: str) -> None:
    root = tmp_path / "project"
    write(tmp_path, "outside/PLAN.md", MARKDOWN.read_text(encoding="utf-8"))
    path = write(root, "phase7.toml", f'coverage_min = 70\nmanifest = "{value}"\n')
    with pytest.raises(ManifestError) as info:
        load_manifest(path, display="phase7.toml", root=root)
    assert "escapes the rootdir" in info.value.message
    assert info.value.line == 2


def test_manifest_redirect_through_a_symlink_out_of_the_rootdir(tmp_path: Path) -> None:
    root = tmp_path / "project"
    outside = write(tmp_path, "outside/PLAN.md", MARKDOWN.read_text(encoding="utf-8"))
    root.mkdir()
    (root / "PLAN.md").symlink_to(outside)
    path = write(root, "phase7.toml", 'manifest = "PLAN.md"\n')
    with pytest.raises(ManifestError) as info:
        load_manifest(path, root=root)
    assert info.value.message == f"manifest = 'PLAN.md' escapes the rootdir {root}"
    assert load_manifest(path) == load_manifest(MARKDOWN)  # no root given: no fence


def test_manifest_redirect_to_a_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "phase7.toml", 'manifest = "PLAN.md"\n')
    with pytest.raises(ManifestError) as info:
        load_manifest(path, display="phase7.toml", root=tmp_path)
    assert (info.value.path, info.value.message) == ("PLAN.md", "manifest file not found")


def test_manifest_redirect_only_once(tmp_path: Path) -> None:
    write(tmp_path, "other.toml", 'manifest = "PLAN.md"\n')
    path = write(tmp_path, "phase7.toml", 'manifest = "other.toml"\n')
    with pytest.raises(ManifestError) as info:
        load_manifest(path, display="phase7.toml")
    assert info.value.path == "other.toml"
    assert info.value.line == 1
    assert "cannot redirect twice" in info.value.message


def test_manifest_redirect_must_be_a_string(tmp_path: Path) -> None:
    path = write(tmp_path, "phase7.toml", "manifest = 3\n")
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.message == "manifest must be a path string, got 3"


# --- schema -----------------------------------------------------------------------------------


def test_full_schema() -> None:
    manifest = toml(
        """
title = "Plan"
total_items = 9
front_matter = [["tag", "a"], ["tag", "b"]]
coverage_min = 80      # a setting: ignored here

[[batches]]
number = 3
title = "Cleanup"
kind = "Refactor"
priority = "HIGH"
priority_note = "soon"
item_range = [1, 3]
duration_hours = 1.5
target_coverage = { from = 5, to = 70 }
focus = "types"
gates = "Ruff, mypy"
required = true

[[batches.items]]
number = 2
module = "Core"
file = "core.py"
path = "pkg.core"
complexity = "Simple"
estimate = "2 h"
status = "\u2705"
gates = ["Coverage"]
owner = "ann"
extra = { path = "p", Notes = "n" }

[[batches]]
number = 4
title = "Docs"
items = 9
target_coverage = "5-27% -> 70%"

[[phases]]
ident = 7
batches = 3
duration_hours = 4

[[criteria]]
label = "All"
text = "done"
"""
    )
    assert manifest.problems == (
        Problem(
            Severity.WARNING,
            "phase7.toml",
            3,
            "plan declares 9 work items but its batches cover 4; items 4-8 belong to no batch",
        ),
        # Batch 3 gives 1.5 hours (its one estimate, of item 2 of 1-3, is not the whole batch).
        Problem(
            Severity.WARNING,
            "phase7.toml",
            38,
            "phase 7 declares 4 hours but its batches (3) add up to 1.5",
        ),
    )
    assert manifest.title == "Plan"
    assert manifest.front_matter == (("tag", "a"), ("tag", "b"))
    first, second = manifest.batches
    assert first == Batch(
        number=3,
        title="Cleanup",
        line=7,
        kind=BatchKind.REFACTOR,
        priority="HIGH",
        priority_note="soon",
        item_range=(1, 3),
        duration_hours=1.5,
        coverage_goal=CoverageGoal(5.0, 5.0, 70.0),
        focus="types",
        gates=("ruff", "mypy"),
        required=True,
        items=(
            WorkItem(number=1, batch=3),
            WorkItem(
                number=2,
                batch=3,
                module="Core",
                file="core.py",
                target="pkg.core",
                complexity="Simple",
                estimate_hours=2.0,
                status=PlanStatus.DONE,
                gates=("coverage",),
                extra=(("owner", "ann"), ("path", "p"), ("Notes", "n")),
            ),
            WorkItem(number=3, batch=3),
        ),
    )
    assert first.items[1].estimate_text == "2 h"
    assert first.items[1].status_text == "\u2705"
    assert first.items[0].line == 13  # unmapped: the line of item_range
    assert second.item_range == (9, 9)
    assert second.kind is BatchKind.DOCS
    assert second.coverage_goal == CoverageGoal(5.0, 27.0, 70.0)
    assert manifest.phases == (Phase(ident="7", title="", batches=(3,), duration_hours=4.0),)
    assert manifest.criteria == (Criterion(label="All", text="done", met=None),)
    assert round_trip(manifest) == manifest


@pytest.mark.parametrize(
    ("value", "expected"),
    [('"1-6"', (1, 6)), ('"6"', (6, 6)), ("6", (6, 6)), ("[1, 6]", (1, 6)), ("[6]", (6, 6))],
)
def test_item_range_forms(value: str, expected: tuple[int, int]) -> None:
    manifest = toml(f'[[batches]]\nnumber = 1\ntitle = "Tests"\nitems = {value}\n')
    assert manifest.batches[0].item_range == expected


def test_estimate_hours_and_inline_items() -> None:
    manifest = toml(
        '[[batches]]\nnumber = 1\ntitle = "Tests"\n'
        "items = [{ number = 1, estimate_hours = 2 }, { number = 2, estimate = 0.5 }]\n"
    )
    first, second = manifest.items
    assert (first.estimate_hours, first.line, second.estimate_hours) == (2.0, 1, 0.5)
    assert manifest.problems == ()


def test_inline_batches_fall_back_to_line_zero() -> None:
    manifest = toml('batches = [{ number = 1, title = "Tests", bogus = 1 }]\n')
    assert manifest.batches[0].line == 0
    assert only_error(manifest) == Problem(
        Severity.ERROR, "phase7.toml", 0, "batch 1: unknown key 'bogus'"
    )


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "line", "message"),
    [
        (
            '[[batches]]\nnumber = 1\ntitle = "Tests"\nbogus = 1\n',
            4,
            "batch 1: unknown key 'bogus'",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "Tests"\n[[batches.items]]\nnumber = 1\nowner = 2\n',
            6,
            "item 1: unknown key 'owner' (extra columns must be strings)",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\n[[phases]]\nident = "1"\nbatches = [1]\nx = 1\n',
            7,
            "phase 1: unknown key 'x'",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\n\n[[criteria]]\nlabel = "a"\nwhy = "b"\n',
            7,
            "criteria[0]: unknown key 'why'",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\n[batches.target_coverage]\nto = 70\nby = 1\n',
            6,
            "batch 1 target_coverage: unknown key 'by'",
        ),
    ],
)
def test_unknown_keys_are_errors(table: str, line: int, message: str) -> None:
    problem = only_error(toml(table))
    assert (problem.line, problem.message) == (line, message)


@pytest.mark.parametrize(
    ("table", "line", "message"),
    [
        (
            '[[batches]]\ntitle = "Tests"\nnumber = "abc"\n[[batches]]\nnumber = 2\ntitle = "T"\n',
            3,
            "batch number must be a whole number, got 'abc'",
        ),
        (
            '[[batches]]\ntitle = "Tests"\n[[batches]]\nnumber = 2\ntitle = "T"\n',
            1,
            "batch table has no number",
        ),
        (
            'batches = [3, { number = 2, title = "T" }]\n',
            0,
            "batches[0] must be a table, got 3",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\nitems = [{ module = "m" }]\n',
            1,
            "batch 1: item table has no number",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\nitem_range = "1-2"\nitems = "3"\n',
            5,
            "batch 1: items must be an array of item tables when item_range is given, got '3'",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\nkind = 3\n',
            4,
            "batch 1: kind must be a string, got 3",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\ntarget_coverage = 70\n',
            4,
            'batch 1: target_coverage must be a goal ("5% -> 70%" or { from = 5, to = 70 }), '
            "got 70",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\nduration_hours = 1' + "0" * 400 + "\n",
            4,
            "batch 1: duration_hours must be a number of hours, got 1" + "0" * 56 + "...",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\n[[batches.items]]\nnumber = 1\n'
            "extra = { a = 1 }\n",
            6,
            "item 1: extra must be a table of strings, got {'a': 1}",
        ),
        (
            'front_matter = [["a"]]\n[[batches]]\nnumber = 1\ntitle = "T"\n',
            1,
            'manifest: front_matter must be a table or a list of ["key", "value"] pairs, '
            "got [['a']]",
        ),
        (
            '[front_matter]\nlist = [1]\n[[batches]]\nnumber = 1\ntitle = "T"\n',
            1,
            "front_matter: list must be a string, got [1]",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\n[[phases]]\ntitle = "no ident"\n',
            4,
            "phase table has no ident",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\n[[batches.items]]\nmodule = "x"\nnumber = 1.5\n',
            6,
            "batch 1: item number must be a whole number, got 1.5",
        ),
        ("[[batches]]\nnumber = 1\ntitle = 5\n", 3, "batch 1: title must be a string, got 5"),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\nduration_hours = "long"\n',
            4,
            "batch 1: duration_hours must be a number of hours, got 'long'",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\nduration_hours = nan\n',
            4,
            "batch 1: duration_hours must be a number of hours, got nan",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\nrequired = "yes"\n',
            4,
            "batch 1: required must be true or false, got 'yes'",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\ngates = [1]\n',
            4,
            "batch 1: gates must be a list of gate names, got [1]",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\nkind = "poetry"\n',
            4,
            "batch 1: unknown kind 'poetry' (expected tests, refactor, docs or codegen)",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\nitems = "a-b"\n',
            4,
            "batch 1: cannot read item range 'a-b' (expected N or N-M)",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\nitems = [1, 2, 3]\n',
            4,
            'batch 1: items must be a range ("1-6", [1, 6] or 7) or an array of item tables, '
            "got [1, 2, 3]",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\ntarget_coverage = { from = "low", to = 70 }\n',
            4,
            "batch 1: target_coverage needs numbers: to = 70 and optionally from = 5 or "
            "from = [5, 27], got {'from': 'low', 'to': 70}",
        ),
        (
            'total_items = -1\n[[batches]]\nnumber = 1\ntitle = "T"\n',
            1,
            "manifest: total_items must be a whole number >= 0, got -1",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\n[[batches.items]]\nnumber = 1\n'
            'estimate = "2h"\nestimate_hours = 2\n',
            7,
            "item 1: give estimate or estimate_hours, not both",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\n[[batches.items]]\nnumber = 1\n'
            'path = "a"\ntarget = "b"\n',
            7,
            "item 1: give path or target, not both",
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\n[[phases]]\nident = true\n',
            5,
            'phase ident must be a string such as "7.1", got True',
        ),
        (
            '[[batches]]\nnumber = 1\ntitle = "T"\n[[phases]]\nident = "1"\nbatches = ["1"]\n',
            6,
            "phase 1: batches must be a list of batch numbers, got ['1']",
        ),
    ],
)
def test_wrong_types_are_errors_with_lines(table: str, line: int, message: str) -> None:
    problem = only_error(toml(table))
    assert (problem.line, problem.message) == (line, message)


def test_shared_checks_apply_to_toml() -> None:
    manifest = toml(
        '[[batches]]\nnumber = 1\ntitle = "Tests"\nitems = "1-6"\n\n'
        '[[batches]]\nnumber = 2\ntitle = "Tests"\nitems = "5-9"\n\n'
        '[[batches]]\nnumber = 2\ntitle = "Again"\n\n'
        '[[batches]]\nnumber = 3\ntitle = "Tests"\nitems = "12-7"\n\n'
        '[[phases]]\nident = "1"\nbatches = [8]\n'
    )
    assert [(p.line, p.message) for p in manifest.errors] == [
        (9, "items 5-9 of batch 2 (line 9) overlap items 1-6 of batch 1 (line 4)"),
        (11, "batch 2 is defined twice (lines 6 and 11)"),
        (18, "batch 3: reversed item range 12-7 (write 7-12)"),
        (20, "phase 1 names batch 8, which the plan does not define"),
    ]


def test_unknown_status_in_toml() -> None:
    problem = only_error(
        toml(
            '[[batches]]\nnumber = 1\ntitle = "T"\n[[batches.items]]\nnumber = 1\nstatus = "meh"\n'
        )
    )
    assert (problem.line, problem.message) == (
        6,
        "item 1: unknown status 'meh' (expected QUEUED, IN PROGRESS, DONE or FAILED)",
    )


def test_non_table_entries_are_errors() -> None:
    manifest = toml(
        'phases = [1]\ncriteria = "x"\n[[batches]]\nnumber = 1\ntitle = "T"\n'
        "[batches.inner]\nz = 1\n"
    )
    assert [(p.line, p.message) for p in manifest.errors] == [
        (1, "phases[0] must be a table"),
        (2, "manifest: criteria must be an array of tables ([[criteria]]), got 'x'"),
        (6, "batch 1: unknown key 'inner'"),
    ]


# --- to_toml ----------------------------------------------------------------------------------


def test_to_toml_escapes_everything() -> None:
    nasty = (
        'quote " backslash \\ tab \t newline \n cr \r nul \x00 del \x7f bell \x07 \u00e9\U0001f600'
    )
    manifest = Manifest(
        path="x",
        format="markdown",
        title=nasty,
        front_matter=((nasty, nasty), ("", "empty key"), ("a.b", "dotted")),
        batches=(
            Batch(
                number=1,
                title=nasty,
                line=1,
                items=(
                    WorkItem(
                        number=1,
                        batch=1,
                        file=nasty,
                        extra=((nasty, nasty), ("estimate_hours", "clash"), ("Owner", "")),
                    ),
                ),
            ),
        ),
        phases=(Phase(ident=nasty, title=nasty, batches=(1,)),),
        criteria=(Criterion(label=nasty, text=nasty, met=False),),
    )
    text = to_toml(manifest)
    assert "\x00" not in text
    assert "\x7f" not in text
    assert "extra = {" in text  # a clash with a real key moves the extras into a table
    assert round_trip(manifest) == manifest


def test_to_toml_negative_and_huge_numbers() -> None:
    manifest = Manifest(
        path="x",
        format="toml",
        total_items=10**25,
        batches=(
            Batch(
                number=-1,
                title="Tests",
                line=0,
                item_range=(-3, -2),
                items=(WorkItem(number=-3, batch=-1), WorkItem(number=-2, batch=-1)),
                gates=("coverage",),
                duration_hours=1e-05,
                coverage_goal=CoverageGoal(None, None, 99.5),
            ),
        ),
    )
    text = to_toml(manifest)
    assert "items = [-3, -2]" in text
    assert 'gates = ["coverage"]' in text
    assert round_trip(manifest) == manifest


def test_round_trip_keeps_erroneous_plans() -> None:
    manifest = parse_markdown(
        "### Batch 1: Tests\n**Items:** 1-3\n| # | File | Status |\n|---|---|---|\n"
        "| 2 | a.py | ??? |\n| 2 | b.py | DONE |\n| 9 | c.py | |\n"
        "### Batch 2: Tests\n**Items:** 3-4\n### Phase 1: X (Batch 7)\n",
        "plan.md",
    )
    assert len(manifest.errors) == 5
    again = round_trip(manifest)
    assert again == manifest
    assert [i.number for i in again.batches[0].items] == [1, 2, 2, 3, 9]


def test_a_table_whose_batches_are_all_unusable_is_fatal() -> None:
    with pytest.raises(ManifestError) as info:
        toml('[[batches]]\ntitle = "Tests"\n')
    assert (info.value.message, info.value.line) == (
        "no usable batches: batch table has no number",
        1,
    )


def test_front_matter_table_values_become_strings() -> None:
    manifest = toml(
        "[front_matter]\ncreated = 2025-10-26\nat = 10:30:00\nversion = 7\nratio = 0.5\n"
        '[[batches]]\nnumber = 1\ntitle = "Tests"\n'
    )
    assert manifest.front_matter == (
        ("created", "2025-10-26"),
        ("at", "10:30:00"),
        ("version", "7"),
        ("ratio", "0.5"),
    )


def test_unreadable_values_in_toml_are_warnings() -> None:
    manifest = toml(
        '[[batches]]\nnumber = 1\ntitle = "Tests"\ntarget_coverage = "lots"\n'
        '[[batches.items]]\nnumber = 1\nestimate = "a while"\n'
    )
    assert [(p.line, p.message) for p in manifest.warnings] == [
        (4, "batch 1: cannot read target coverage 'lots' (e.g. 5% -> 70%)"),
        (7, "item 1: cannot read estimate 'a while' (e.g. 2h)"),
    ]
    assert manifest.errors == ()


def test_tool_phase7_must_be_a_table(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", "[tool]\nphase7 = 3\n")
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.message == "[tool.phase7] must be a table, got 3"


def test_toml_error_at_end_of_file(tmp_path: Path) -> None:
    path = write(tmp_path, "phase7.toml", "[[batches]]\nnumber = 1\ntitle = 'x")
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.line == 3
    assert info.value.message.startswith("invalid TOML: ")


def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "phase7.toml", "x = 1\n")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read anything")
        with pytest.raises(ManifestError) as info:
            load_manifest(path)
        assert info.value.message == "cannot read: Permission denied"
    finally:
        path.chmod(0o644)


def test_plan_duration_is_checked_against_the_batches() -> None:
    source = """
title = "Plan"
duration_hours = 10

[[batches]]
number = 1
title = "Unit Tests"
items = "1-2"
duration_hours = 4

[[batches]]
number = 2
title = "Docs"
items = 3
duration_hours = 5
"""
    manifest = toml(source)
    assert (manifest.duration_hours, manifest.duration_line) == (10.0, 3)
    assert [(p.line, p.message) for p in manifest.warnings] == [
        (3, "plan declares 10 hours but its batches add up to 9 (4+5)")
    ]
    assert round_trip(manifest).duration_hours == 10.0
    bad = toml(source.replace("duration_hours = 10", 'duration_hours = "ten"'))
    assert bad.duration_hours is None
    assert [p.message for p in bad.errors] == [
        "manifest: duration_hours must be a number of hours, got 'ten'"
    ]
