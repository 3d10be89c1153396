"""The Markdown plan loader: the real (mojibake) plan, the liberal format, and every error."""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from deterministic import executed_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_phase7.errors import ManifestError
from pytest_phase7.manifest import (
    load_manifest,
    parse_markdown,
    parse_toml,
    raise_for_errors,
    to_toml,
)
from pytest_phase7.model import (
    BatchKind,
    CellSpan,
    CoverageGoal,
    Manifest,
    PlanStatus,
    Problem,
    Severity,
    WorkItem,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

FIXTURE = Path(__file__).parent / "fixtures" / "PHASE7_EXECUTION_PLAN.md"


def mangled(glyph: str) -> str:
    """What the plan's tooling made of a glyph: its UTF-8 bytes read as Mac Roman."""
    return glyph.encode("utf-8").decode("mac_roman")


HOURGLASS = mangled("\u23f3")  # the fixture's status cells
CHECK = mangled("\u2705")  # the fixture's success criteria
ARROW = mangled("\u2192")  # the fixture's coverage goals


@pytest.fixture(scope="module")
def plan() -> Manifest:
    return load_manifest(FIXTURE)


def parse(body: str) -> Manifest:
    return parse_markdown(body, "plan.md")


def only(problems: tuple[Problem, ...]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def error(manifest: Manifest) -> Problem:
    return only(manifest.errors)


def warning(manifest: Manifest) -> Problem:
    return only(manifest.warnings)


# --- the real plan ---------------------------------------------------------------------------


def test_fixture_uses_the_mangled_glyphs() -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    assert f"| {HOURGLASS} QUEUED |" in text
    assert f"5% {ARROW} 70%" in text
    assert f"{CHECK} **Unit Tests:**" in text


def test_fixture_front_matter_and_title(plan: Manifest) -> None:
    assert plan.format == "markdown"
    assert plan.path == str(FIXTURE)
    assert plan.front_matter == (
        ("title", "Phase 7: Production Deployment - Execution Plan"),
        ("tags", "#TTA"),
        ("status", "Active"),
        ("repo", "theinterneti/TTA"),
        ("path", "PHASE7_EXECUTION_PLAN.md"),
        ("created", "2025-10-26"),
        ("updated", "2025-10-25"),
    )
    assert plan.title == "TTA/Status/Phase 7: Production Deployment - Execution Plan"
    assert plan.total_items == 47
    assert plan.total_items_line == 14


def test_fixture_batches(plan: Manifest) -> None:
    summary = [
        (b.number, b.title, b.priority_note, b.priority, b.kind, b.item_range, b.duration_hours)
        for b in plan.batches
    ]
    assert summary == [
        (
            1,
            "Tier 1 Unit Tests",
            "Critical - High Impact",
            "CRITICAL",
            BatchKind.TESTS,
            (1, 6),
            18.0,
        ),
        (2, "Tier 2 Unit Tests", "High Priority", "HIGH", BatchKind.TESTS, (7, 12), 22.0),
        (3, "Code Refactoring", "Medium Priority", "NORMAL", BatchKind.REFACTOR, (19, 30), 22.0),
        (4, "Documentation", "Medium Priority", "NORMAL", BatchKind.DOCS, (31, 40), 14.0),
        (5, "Code Generation", "Lower Priority", "LOW", BatchKind.CODEGEN, (41, 47), 9.0),
    ]
    assert [b.line for b in plan.batches] == [22, 37, 43, 49, 55]
    assert [b.coverage_goal for b in plan.batches] == [
        CoverageGoal(5.0, 5.0, 70.0),
        CoverageGoal(5.0, 27.0, 70.0),
        None,
        None,
        None,
    ]
    assert [b.focus for b in plan.batches] == [
        "",
        "",
        "Error handling, SOLID principles, type hints",
        "READMEs, API docs, architecture docs",
        "Utilities, validators, config helpers",
    ]
    assert all(b.gates is None and not b.required for b in plan.batches)
    assert plan.batches[0].keys == (
        ("Items", "1-6"),
        ("Duration", "18 hours"),
        ("Priority", "CRITICAL"),
        ("Target Coverage", f"5% {ARROW} 70%"),
    )
    assert plan.batches[0].heading == "Batch 1: Tier 1 Unit Tests"


def test_fixture_batch_one_items(plan: Manifest) -> None:
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    items = plan.batches[0].items
    assert [(i.number, i.module, i.file, i.complexity, i.estimate_hours) for i in items] == [
        (1, "Agent Orchestration", "adapters.py", "Simple", 2.0),
        (2, "Agent Orchestration", "agents.py", "Moderate", 3.0),
        (3, "Agent Orchestration", "service.py", "Moderate", 3.0),
        (4, "Player Experience", "auth.py", "Moderate", 3.0),
        (5, "Player Experience", "characters.py", "Moderate", 3.0),
        (6, "Player Experience", "player_experience_manager.py", "Complex", 4.0),
    ]
    assert [i.line for i in items] == [30, 31, 32, 33, 34, 35]
    for item in items:
        assert item.batch == 1
        assert item.status is PlanStatus.QUEUED
        assert item.status_text == f"{HOURGLASS} QUEUED"
        assert item.estimate_text == f"{int(item.estimate_hours or 0)}h"
        assert item.target is None
        assert item.gates is None
        assert item.extra == ()
        assert item.mapped
        span = item.status_span
        assert span is not None
        assert span.line == item.line
        raw = lines[span.line - 1]
        assert raw[span.start : span.end] == f"{HOURGLASS} QUEUED"
        assert raw[: span.start].endswith("| ")
        assert raw[span.end :] == " |"
    assert items[0].status_span == CellSpan(30, 56, 66)


def test_fixture_unmapped_items(plan: Manifest) -> None:
    assert len(plan.items) == 41
    assert [len(b.items) for b in plan.batches] == [6, 6, 12, 10, 7]
    second = plan.batches[1].items
    assert [i.number for i in second] == [7, 8, 9, 10, 11, 12]
    assert second[0] == WorkItem(number=7, batch=2)
    assert {i.line for i in second} == {38}
    assert not any(i.mapped for b in plan.batches[1:] for i in b.items)
    assert [i.number for i in plan.batches[2].items] == list(range(19, 31))


def test_fixture_phases(plan: Manifest) -> None:
    assert [(p.ident, p.title, p.batches, p.duration_hours, p.line) for p in plan.phases] == [
        ("7.1", "Quick Wins", (1, 5), 27.0, 65),
        ("7.2", "High-Impact Refactoring", (2, 3), 44.0, 70),
        ("7.3", "Documentation & Polish", (4,), 14.0, 75),
    ]
    assert plan.phases[0].keys == (
        ("Duration", "27 hours"),
        ("Cost Savings", "$67.50-90"),
        ("Expected Completion", "2-3 days"),
    )


def test_fixture_criteria(plan: Manifest) -> None:
    assert [(c.label, c.text, c.met, c.line) for c in plan.criteria] == [
        ("Unit Tests", "70%+ coverage for all modules", True, 84),
        ("Refactoring", "0 linting violations, all type checks pass", True, 85),
        ("Documentation", "All public APIs documented", True, 86),
        ("Code Generation", "All utilities follow TTA patterns", True, 87),
        ("Quality", "All results pass validation rules", True, 88),
    ]


def test_fixture_problems(plan: Manifest) -> None:
    assert plan.errors == ()
    assert plan.warnings == (
        Problem(
            Severity.WARNING,
            str(FIXTURE),
            14,
            "plan declares 47 work items but its batches cover 41; items 13-18 belong to no batch",
        ),
        # The plan's own hours: 77 declared, 18+22+22+14+9 in its batches (its phases agree).
        Problem(
            Severity.WARNING,
            str(FIXTURE),
            15,
            "plan declares 77 hours but its batches add up to 85 (18+22+22+14+9)",
        ),
    )
    assert plan.duration_hours == 77
    raise_for_errors(plan)


def test_crlf_parses_identically(tmp_path: Path, plan: Manifest) -> None:
    crlf = tmp_path / "plan.md"
    crlf.write_bytes(FIXTURE.read_bytes().replace(b"\n", b"\r\n"))
    loaded = load_manifest(crlf, display=str(FIXTURE))
    assert loaded == plan
    assert loaded.problems == plan.problems
    assert [i.status_span for i in loaded.items] == [i.status_span for i in plan.items]
    assert [(i.line, i.status_text) for i in loaded.items] == [
        (i.line, i.status_text) for i in plan.items
    ]
    assert [b.line for b in loaded.batches] == [b.line for b in plan.batches]


def test_utf8_bom_is_accepted(tmp_path: Path, plan: Manifest) -> None:
    bom = tmp_path / "plan.md"
    bom.write_bytes(b"\xef\xbb\xbf" + FIXTURE.read_bytes())
    loaded = load_manifest(bom)
    assert loaded == plan
    assert loaded.total_items_line == 14


def big_plan(count: int) -> str:
    rows = "\n".join(
        f"| {n} | Area {n % 7} | mod_{n}.py | Simple | 2h | {'DONE' if n % 2 else 'QUEUED'} |"
        for n in range(1, count + 1)
    )
    return (
        f"# Big\n**Total Work Items:** {count}\n### Batch 1: Unit Tests\n**Items:** 1-{count}\n\n"
        "| # | Module | File | Complexity | Est. Time | Status |\n|---|---|---|---|---|---|\n"
        f"{rows}\n"
    )


def added_lines(parse_rows: Callable[[int], object], rows: int) -> int:
    """Lines executed by parsing ``rows + 500`` rows beyond parsing ``rows``."""
    return executed_lines(lambda: parse_rows(rows + 500)) - executed_lines(lambda: parse_rows(rows))


def test_ten_thousand_items_parse_and_round_trip() -> None:
    manifest = parse(big_plan(10_000))
    assert len(manifest.items) == 10_000
    assert manifest.problems == ()
    source = to_toml(manifest)
    assert parse_toml(tomllib.loads(source), "big.toml", source) == manifest


def toml_rows(count: int) -> tuple[dict[str, object], str]:
    source = to_toml(parse(big_plan(count)))
    return tomllib.loads(source), source


@pytest.mark.parametrize("form", ["markdown", "toml"])
def test_parsing_does_the_same_work_per_row_at_any_size(form: str) -> None:
    # Counted, not timed (benchmarks/overhead.py times 1k to 100k items): the 500 rows after
    # 2,000 cost the lines the 500 after 500 did; work that grew with the plan would show.
    if form == "markdown":
        plans = {n: big_plan(n) for n in (500, 1_000, 2_000, 2_500)}

        def parse_rows(count: int) -> object:
            return parse(plans[count])
    else:
        tables = {n: toml_rows(n) for n in (500, 1_000, 2_000, 2_500)}

        def parse_rows(count: int) -> object:
            table, source = tables[count]
            return parse_toml(table, "big.toml", source)

    early, late = added_lines(parse_rows, 500), added_lines(parse_rows, 2_000)
    assert early > 500 * 50  # the count sees the parser's work
    assert late <= early * 1.05


def test_rows_are_capped_like_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cap, made small: a plan of 150,000 rows stops being read at row 100,001.
    from pytest_phase7.manifest import checks, markdown

    monkeypatch.setattr(markdown, "MAX_ITEMS", 500)
    monkeypatch.setattr(checks, "MAX_ITEMS", 500)
    text = big_plan(5_000).replace("**Items:** 1-5000\n", "")
    manifest = parse(text)
    assert len(manifest.items) == 500
    problem = error(manifest)
    assert problem.line == 7 + 500  # the first row too many
    assert problem.message == (
        "the plan lists more than 500 item rows (at most 500 are allowed); the rows from here "
        "on are not read"
    )
    # Rows beyond the cap are skipped, not read: a fraction of the work of reading them.
    capped = executed_lines(lambda: parse(text))
    monkeypatch.setattr(markdown, "MAX_ITEMS", 10_000)
    monkeypatch.setattr(checks, "MAX_ITEMS", 10_000)
    assert capped < executed_lines(lambda: parse(text)) / 3
    monkeypatch.setattr(checks, "MAX_ITEMS", 500)
    # The same cap in a TOML manifest, spread over two batches.
    table = {
        "batches": [
            {"number": 1, "items": [{"number": n} for n in range(1, 301)]},
            {"number": 2, "items": [{"number": n} for n in range(301, 701)]},
        ]
    }
    toml_manifest = parse_toml(table, "p.toml")
    assert len(toml_manifest.items) == 500
    assert [p.message for p in toml_manifest.errors] == [problem.message]


# --- load_manifest: files that cannot be read ------------------------------------------------


def load_error(path: Path) -> ManifestError:
    with pytest.raises(ManifestError) as info:
        load_manifest(path, display="shown.md")
    assert info.value.path == "shown.md"
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    exc = load_error(tmp_path / "nope.md")
    assert (exc.message, exc.line) == ("manifest file not found", 0)
    assert str(exc) == "shown.md: manifest file not found"


def test_directory(tmp_path: Path) -> None:
    assert load_error(tmp_path).message == "is a directory, not a manifest file"


@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n", b"\xef\xbb\xbf\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "plan.md"
    path.write_bytes(content)
    assert load_error(path).message == "manifest file is empty"


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.md"
    path.write_bytes(b"# Plan\n\nabc\x00def\n")
    exc = load_error(path)
    assert (exc.message, exc.line) == ("binary file (NUL byte), not a text manifest", 3)


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.md"
    path.write_bytes(b"# Plan\r\n\r\n### Batch 1: Tests\r\n| 1 | caf\xe9 |\r\n")
    exc = load_error(path)
    assert exc.line == 4
    assert exc.message == "not UTF-8 text (byte 0xE9 at line 4); save it as UTF-8"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_is_refused(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "plan.md"
    path.write_bytes("\ufeff# Plan\n### Batch 1: Tests\n".encode(encoding))
    assert load_error(path).message == "UTF-16 encoded; save it as UTF-8"


def test_no_batches(tmp_path: Path) -> None:
    path = tmp_path / "plan.md"
    path.write_text("# Plan\n\n## Batch processing notes\n\nNothing here.\n", encoding="utf-8")
    exc = load_error(path)
    assert exc.message == "no batches found (expected headings like '### Batch 1: Title')"
    assert exc.line == 0


def test_unknown_suffix_is_read_as_markdown(tmp_path: Path) -> None:
    path = tmp_path / "PLAN.txt"
    path.write_text("### Batch 1: Tests\n**Items:** 1-2\n", encoding="utf-8")
    assert [i.number for i in load_manifest(path).items] == [1, 2]


# --- raise_for_errors -------------------------------------------------------------------------


def test_raise_for_errors_reports_the_first_and_counts_the_rest() -> None:
    manifest = parse(
        "### Batch 1: Tests\n**Items:** 6-1\n"
        "### Batch 1: Tests again\n"
        "### Batch 2: Tests\n**Kind:** poetry\n**Required:** maybe\n"
    )
    assert len(manifest.errors) == 4
    with pytest.raises(ManifestError) as info:
        raise_for_errors(manifest)
    assert info.value.line == 2
    assert info.value.message == (
        "batch 1: reversed item range 6-1 (write 1-6) (and 3 more errors)"
    )
    assert str(info.value) == (
        "plan.md:2: batch 1: reversed item range 6-1 (write 1-6) (and 3 more errors)"
    )


def test_raise_for_errors_single_error_and_warnings_only() -> None:
    with pytest.raises(ManifestError) as info:
        raise_for_errors(parse("### Batch 1: Tests\n**Items:** 6-1\n"))
    assert info.value.message == "batch 1: reversed item range 6-1 (write 1-6)"
    raise_for_errors(parse("### Batch 1: Cleanup\n"))  # only a warning


# --- headings, sections and keys --------------------------------------------------------------


def test_front_matter_is_liberal() -> None:
    manifest = parse(
        "---\ntitle: 'Quoted: yes'\nnot a pair\n# a comment\n\nempty:\n---\n### Batch 1: Tests\n"
    )
    assert manifest.front_matter == (("title", "Quoted: yes"), ("not a pair", ""), ("empty", ""))


def test_leading_thematic_break_is_not_front_matter() -> None:
    manifest = parse("---\n# Plan\n### Batch 1: Tests\n**Items:** 1\n---\nmore\n")
    assert manifest.front_matter == ()
    assert manifest.title == "Plan"
    assert [i.number for i in manifest.items] == [1]


def test_unclosed_front_matter_is_body() -> None:
    manifest = parse("---\ntitle: x\n### Batch 1: Tests\n")
    assert manifest.front_matter == ()
    assert manifest.batches[0].line == 3


def test_title_is_the_first_h1_without_wiki_links() -> None:
    manifest = parse("# Plan for [[Some/Page|the app]] ##\n# Second\n### Batch 1: Tests\n")
    assert manifest.title == "Plan for the app"
    assert parse("## Not a title\n### Batch 1: Tests\n").title == ""


@pytest.mark.parametrize("hashes", ["##", "###", "####"])
def test_batch_heading_levels(hashes: str) -> None:
    manifest = parse(f"{hashes} Batch 3 - Docs refresh\n**Items:** 4\n")
    batch = manifest.batches[0]
    assert (batch.number, batch.title, batch.kind, batch.item_range) == (
        3,
        "Docs refresh",
        BatchKind.DOCS,
        (4, 4),
    )
    assert batch.priority_note == ""


def test_deeper_headings_are_not_batches() -> None:
    with pytest.raises(ManifestError):
        parse("##### Batch 1: Tests\n")


def test_section_ends_at_same_level_heading() -> None:
    manifest = parse(
        "## Batch 1: Tests\n**Items:** 1-2\n### Details\n**Duration:** 3h\n## Other\n**Focus:** x\n"
    )
    batch = manifest.batches[0]
    assert batch.duration_hours == 3.0
    assert batch.focus == ""


def test_fenced_code_is_ignored() -> None:
    manifest = parse(
        "### Batch 1: Tests\n**Items:** 1\n```markdown\n### Batch 2: Tests\n**Items:** 9\n```\n"
        "~~~\n| # | File |\n~~~\n"
    )
    assert [b.number for b in manifest.batches] == [1]
    assert manifest.problems == ()


TABLE = "| # | Module | File | Status |\n|---|---|---|---|\n"


def test_an_unclosed_fence_or_comment_is_a_warning_naming_what_it_hides() -> None:
    for opening, close in (("```python", "```"), ("~~~~", "```"), ("<!-- draft", "-->")):
        manifest = parse(
            f"### Batch 1: Tests\n**Items:** 1\n{opening}\nx\n### Batch 2: Tests\n"
            "### Batch 3: Tests\n"
        )
        assert [b.number for b in manifest.batches] == [1]
        problem = warning(manifest)
        assert problem.line == 3
        what = "HTML comment" if opening.startswith("<") else "code fence"
        assert problem.message == (
            f"{what} opened here is never closed: the rest of the file is not read as the plan, "
            f"hiding the batch headings at lines 5, 6; close it with {close}"
        )
    # Unclosed at the very end, it hides nothing but is still said.
    assert warning(parse("### Batch 1: Tests\n```\n")).message.startswith(
        "code fence opened here is never closed: the rest of the file is not read as the plan;"
    )


def test_html_comments_are_not_read() -> None:
    manifest = parse(
        "### Batch 1: Tests\n**Items:** 1-2\n<!-- **Items:** 7 -->\n" + TABLE
        + "| 1 | Core | a.py | DONE |\n\n<!--\n" + TABLE + "| 2 | Core | b.py | DONE |\n-->\n"
        "<!-- one line --> | 9 | x |\n"
    )  # fmt: skip
    assert [(i.number, i.status) for i in manifest.items] == [(1, PlanStatus.DONE), (2, None)]
    assert manifest.problems == ()


def test_quoted_tables_and_batch_headings_are_warnings() -> None:
    manifest = parse(
        "### Batch 1: Tests\n**Items:** 1\n\n> Note:\n> " + TABLE.replace("\n|", "\n> |")
        + "> | 1 | Core | a.py | DONE |\n\n>> #### Batch 2: Docs\n> | just | a quote |\n"
    )  # fmt: skip
    assert [(i.number, i.status) for i in manifest.items] == [(1, None)]
    assert [(p.line, p.message) for p in manifest.problems] == [
        (5, "a work-item table inside a > quote is ignored; take it out of the quote"),
        (9, "batch 2's heading is inside a > quote and is ignored; take it out of the quote"),
    ]


def test_work_item_tables_outside_batches_are_warnings_other_tables_are_not() -> None:
    manifest = parse(
        "# Plan\n\n| Phase | Hours |\n|---|---|\n| 7.1 | 3 |\n\n### Batch 1: Tests\n**Items:** 1\n"
        "## Later\n\n" + TABLE + "| 2 | Core | b.py | QUEUED |\n| 3 | Core | c.py | QUEUED |\n"
    )  # fmt: skip
    assert [i.number for i in manifest.items] == [1]
    assert [(p.line, p.message) for p in manifest.problems] == [
        (11, "a work-item table outside any batch is ignored: put it under a "
         "'### Batch N: Title' heading"),
    ]  # fmt: skip


def test_setext_and_emoji_batch_headings_are_batches() -> None:
    manifest = parse(
        "### Batch 1: Tests\n**Items:** 1\n\nBatch 2: Docs\n---\n**Items:** 2\n\n"
        f"### {mangled(chr(0x1F9EA))} Batch 3: Refactoring\n**Items:** 3\n"
        "\n**Focus:** stays a key line\n---\n"
    )
    assert [(b.number, b.title, b.item_range) for b in manifest.batches] == [
        (1, "Tests", (1, 1)),
        (2, "Docs", (2, 2)),
        (3, "Refactoring", (3, 3)),
    ]
    assert manifest.batches[2].focus == "stays a key line"
    assert manifest.problems == ()


@pytest.mark.parametrize(
    "heading", ["# Batch 2: Docs", "##### Batch 2: Docs", "Batch 2: Docs\n==="]
)
def test_batch_headings_at_other_levels_are_warnings(heading: str) -> None:
    manifest = parse(f"# Plan\n### Batch 1: Tests\n**Items:** 1\n{heading}\n")
    level = 5 if heading.startswith("#####") else 1
    assert [(p.line, p.message) for p in manifest.problems] == [
        (4, f"batch heading at level {level} is ignored: batches are headings of level 2 to 4 "
         "(### Batch 2: Title)"),
    ]  # fmt: skip
    # The first level-1 heading is the title, whatever it says.
    assert parse("# Batch 9: the plan\n### Batch 1: Tests\n").problems == ()


def test_a_pipeless_table_whose_header_starts_with_hash_is_a_warning() -> None:
    manifest = parse("### Batch 1: Tests\n**Items:** 1\n# | File\n---|---\n1 | a.py\n")
    assert [(p.line, p.message) for p in manifest.problems] == [
        (3, "a table header row starting with '#' is a heading, so the table below it is "
         "ignored: begin the row with '|'"),
    ]  # fmt: skip
    manifest = parse("### Batch 1: Tests\n**Items:** 1\n\n---|---\n1 | a.py\n")
    assert warning(manifest).message.startswith("a |---| separator row without a table header")
    # Without the '#' first, a table without outer pipes is a table.
    manifest = parse("### Batch 1: Tests\n**Items:** 1\nNo | File\n---|---\n1 | a.py\n")
    assert [(i.number, i.file) for i in manifest.items] == [(1, "a.py")]


def test_a_header_repeated_inside_a_table_starts_a_new_table() -> None:
    manifest = parse(
        "### Batch 1: Tests\n**Items:** 1-2\n" + TABLE + "| 1 | Core | a.py | DONE |\n"
        "| # | Status | Module | File |\n|---|---|---|---|\n| 2 | QUEUED | Core | b.py |\n"
    )  # fmt: skip
    assert [(i.number, i.file, i.status) for i in manifest.items] == [
        (1, "a.py", PlanStatus.DONE),
        (2, "b.py", PlanStatus.QUEUED),
    ]
    assert [(p.line, p.message) for p in manifest.problems] == [
        (6, "a new table header without a blank line before it (GitHub shows it as rows of the "
         "table above); read as a new table"),
    ]  # fmt: skip


@pytest.mark.parametrize(("separator", "cells"), [("|---|---|", 2), ("|---|---|---|---|---|", 5)])
def test_a_separator_row_must_match_its_header(separator: str, cells: int) -> None:
    manifest = parse(f"### Batch 1: Tests\n| # | Module | File | Status |\n{separator}\n| 1 |\n")
    assert manifest.items == ()
    problem = error(manifest)
    assert (problem.line, problem.message) == (
        3,
        f"table separator row has {cells} cells but its header (line 2) has 4; the table is "
        "ignored",
    )


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("Integration TESTS", BatchKind.TESTS),
        ("Refactoring round", BatchKind.REFACTOR),
        ("API Docs", BatchKind.DOCS),
        ("Code Generation", BatchKind.CODEGEN),
        ("Codegen helpers", BatchKind.CODEGEN),
    ],
)
def test_kind_inferred_from_title(title: str, kind: BatchKind) -> None:
    manifest = parse(f"### Batch 1: {title}\n")
    assert manifest.batches[0].kind is kind
    assert manifest.problems == ()


def test_kind_not_inferable_is_a_warning() -> None:
    manifest = parse("# P\n\n### Batch 4: Cleanup (Low)\n")
    assert manifest.batches[0].kind is BatchKind.TESTS
    problem = warning(manifest)
    assert problem.line == 3
    assert problem.message.startswith("batch 4: cannot tell the kind of work from the title")


def test_kinds_assumed_for_several_batches_are_one_warning() -> None:
    manifest = parse(
        "# P\n\n### Batch 4: Cleanup\n\n### Batch 5: Polish\n\n### Batch 6: More\n"
        "**Kind:** docs\n\n### Batch 7: Last\n"
    )
    assert [b.kind for b in manifest.batches] == [BatchKind.TESTS] * 2 + [
        BatchKind.DOCS,
        BatchKind.TESTS,
    ]
    problem = warning(manifest)
    assert problem.line == 3
    assert problem.message == (
        "batches 4, 5 and 7: cannot tell the kind of work from the titles; "
        "assuming tests (say **Kind:** tests, refactor, docs or codegen)"
    )


def test_explicit_kind_and_keys() -> None:
    manifest = parse(
        "### Batch 2: Cleanup\n"
        "- **Kind:** Refactor\n"
        "- **Gates:** Ruff, mypy custom-gate\n"
        "- **Required:** yes\n"
        "- **Duration:** 1.5 h\n"
        "**Target Coverage**: 5% -> 70%\n"
        "**Owner:** someone\n"
    )
    batch = manifest.batches[0]
    assert batch.kind is BatchKind.REFACTOR
    assert batch.gates == ("ruff", "mypy", "custom-gate")
    assert batch.required is True
    assert batch.duration_hours == 1.5
    assert batch.coverage_goal == CoverageGoal(5.0, 5.0, 70.0)
    assert batch.keys[-2:] == (("Target Coverage", "5% -> 70%"), ("Owner", "someone"))
    assert manifest.problems == ()


def test_unknown_kind_is_an_error() -> None:
    manifest = parse("### Batch 2: Unit tests\n\n**Kind:** poetry\n")
    problem = error(manifest)
    assert problem.line == 3
    assert problem.message == (
        "batch 2: unknown kind 'poetry' (expected tests, refactor, docs or codegen)"
    )
    assert manifest.batches[0].kind is BatchKind.TESTS


def test_unreadable_required_is_an_error() -> None:
    problem = error(parse("### Batch 2: Tests\n**Required:** maybe\n"))
    assert (problem.line, problem.message) == (
        2,
        "batch 2: cannot read Required 'maybe' (expected yes or no)",
    )


def test_repeated_key_keeps_the_first() -> None:
    manifest = parse("### Batch 1: Tests\n**Items:** 1-2\n**Items:** 5-9\n")
    assert manifest.batches[0].item_range == (1, 2)
    problem = warning(manifest)
    assert (problem.line, problem.message) == (
        3,
        "**Items:** is given twice (lines 2 and 3); using the first",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", (7, 7)),
        ("7-12", (7, 12)),
        ("7 - 12", (7, 12)),
        ("7\u201312", (7, 12)),
        ("7 \u2014 12", (7, 12)),
        (f"7{mangled(chr(0x2013))}12", (7, 12)),
        ("#7-#12 (six modules)", (7, 12)),
    ],
)
def test_item_range_forms(text: str, expected: tuple[int, int]) -> None:
    assert parse(f"### Batch 1: Tests\n**Items:** {text}\n").batches[0].item_range == expected


def test_unreadable_range_is_an_error() -> None:
    manifest = parse("### Batch 1: Tests\n**Items:** 7, 9-12\n")
    problem = error(manifest)
    assert (problem.line, problem.message) == (
        2,
        "batch 1: cannot read item range '7, 9-12' (expected N or N-M)",
    )
    assert manifest.batches[0].item_range is None


@pytest.mark.parametrize(
    ("text", "hours"), [("18 hours", 18.0), ("18h", 18.0), ("1.5 h", 1.5), ("2 hrs", 2.0)]
)
def test_duration_forms(text: str, hours: float) -> None:
    assert parse(f"### Batch 1: Tests\n**Duration:** {text}\n").batches[0].duration_hours == hours


def test_unreadable_duration_is_a_warning() -> None:
    manifest = parse("### Batch 1: Tests\n**Duration:** 2-3 days\n")
    assert manifest.batches[0].duration_hours is None
    assert warning(manifest).message == ("batch 1: cannot read duration '2-3 days' (e.g. 18 hours)")


@pytest.mark.parametrize(
    ("text", "goal"),
    [
        (f"5% {ARROW} 70%", CoverageGoal(5.0, 5.0, 70.0)),
        (f"5-27% {ARROW} 70%", CoverageGoal(5.0, 27.0, 70.0)),
        ("5% -> 70%", CoverageGoal(5.0, 5.0, 70.0)),
        ("5% \u2192 70%", CoverageGoal(5.0, 5.0, 70.0)),
        ("12.5% => 80.5% (stretch)", CoverageGoal(12.5, 12.5, 80.5)),
        ("70%", CoverageGoal(None, None, 70.0)),
    ],
)
def test_coverage_goal_reads_numbers_not_glyphs(text: str, goal: CoverageGoal) -> None:
    manifest = parse(f"### Batch 1: Tests\n**Target Coverage:** {text}\n")
    assert manifest.batches[0].coverage_goal == goal


def test_unreadable_coverage_goal_is_a_warning() -> None:
    manifest = parse("### Batch 1: Tests\n**Target Coverage:** high\n")
    assert manifest.batches[0].coverage_goal is None
    assert warning(manifest).line == 2


# --- item tables ------------------------------------------------------------------------------


def test_table_columns_in_any_order_with_aliases_and_extras() -> None:
    manifest = parse(
        "### Batch 1: Unit tests\n"
        "**Items:** 1-3\n"
        "\n"
        "| Owner | Status | Estimate | ID | Area | Path | Gates | Notes |\n"
        "|:------|:------:|---:|---|---|---|---|---|\n"
        "| ann | DONE | 1.5h | 2 | Core | `pkg.core` | Coverage, ruff | a \\| b |\n"
        "  | bob | in progress | | 1 | Core | src/pkg/x.py | | |  \n"
    )
    assert manifest.problems == ()
    first, second, third = manifest.batches[0].items
    assert first == WorkItem(
        number=1,
        batch=1,
        module="Core",
        target="src/pkg/x.py",
        status=PlanStatus.IN_PROGRESS,
        extra=(("Owner", "bob"), ("Notes", "")),
    )
    assert first.line == 7
    assert second.target == "pkg.core"
    assert second.gates == ("coverage", "ruff")
    assert second.estimate_hours == 1.5
    assert second.extra == (("Owner", "ann"), ("Notes", "a | b"))
    assert second.extra_value("owner") == "ann"
    assert second.status_span == CellSpan(6, 8, 12)
    assert third == WorkItem(number=3, batch=1)
    assert third.line == 2


def test_rows_without_outer_pipes_and_blank_rows() -> None:
    manifest = parse(
        "### Batch 1: Tests\nNo | File | Status\n--|--|--\n"
        "4 | a.py |  |\n | | \n5 | b.py | \u2705\n"
    )
    items = manifest.batches[0].items
    assert [(i.number, i.file, i.status) for i in items] == [
        (4, "a.py", None),
        (5, "b.py", PlanStatus.DONE),
    ]
    assert items[0].status_span == CellSpan(4, 11, 11)
    assert manifest.problems == ()


def test_escaped_pipe_keeps_spans_exact() -> None:
    line = "| 1 | a\\|b.py | WIP |"
    manifest = parse(f"### Batch 1: Tests\n| # | File | Status |\n|---|---|---|\n{line}\n")
    item = manifest.batches[0].items[0]
    assert item.file == "a|b.py"
    assert item.status_span is not None
    assert line[item.status_span.start : item.status_span.end] == "WIP"


def test_missing_number_column_is_an_error() -> None:
    manifest = parse("### Batch 1: Tests\n\n| Module | File |\n|---|---|\n| A | a.py |\n")
    problem = error(manifest)
    assert problem.line == 3
    assert problem.message == (
        "work-item table has no '#' column (columns: Module, File); the table is ignored"
    )
    assert manifest.batches[0].items == ()


def test_duplicated_column_is_an_error() -> None:
    manifest = parse(
        "### Batch 1: Tests\n| # | File | Est. Time | Hours |\n|---|---|---|---|\n"
        "| 1 | a | 1h | 2h |\n"
    )
    problem = error(manifest)
    assert problem.line == 2
    assert problem.message == (
        "column 'Hours' appears twice in the table header (also as 'Est. Time'); "
        "the table is ignored"
    )


def test_duplicated_extra_column_is_an_error() -> None:
    manifest = parse("### Batch 1: Tests\n| # | Owner | owner |\n|---|---|---|\n| 1 | a | b |\n")
    assert error(manifest).message.startswith("column 'owner' appears twice")


def test_row_with_wrong_cell_count_is_an_error() -> None:
    manifest = parse(
        "### Batch 1: Tests\n\n| # | File | Status |\n|---|---|---|\n"
        "| 1 | a.py |\n| 2 | b.py | DONE |\n"
    )
    problem = error(manifest)
    assert problem.line == 5
    assert problem.message == "table row has 2 cells but its header (line 3) has 3"
    assert [i.number for i in manifest.items] == [2]


def test_non_numeric_number_is_an_error() -> None:
    manifest = parse("### Batch 1: Tests\n| # | File |\n|---|---|\n| one | a.py |\n| #2 | b.py |\n")
    problem = error(manifest)
    assert (problem.line, problem.message) == (4, "item number 'one' is not a whole number")
    assert [i.number for i in manifest.items] == [2]


def test_table_without_separator_is_a_warning() -> None:
    manifest = parse("### Batch 1: Tests\n| # | File |\n| 1 | a.py |\n")
    problem = warning(manifest)
    assert problem.line == 2
    assert "separator" in problem.message
    assert manifest.items == ()


def test_unparsable_estimate_is_a_warning() -> None:
    manifest = parse(
        "### Batch 1: Tests\n| # | Est. Time |\n|---|---|\n| 1 | a while |\n| 2 | - |\n"
    )
    problem = warning(manifest)
    assert (problem.line, problem.message) == (
        4,
        "item 1: cannot read estimate 'a while' (e.g. 2h)",
    )
    first, second = manifest.items
    assert (first.estimate_hours, first.estimate_text) == (None, "a while")
    assert second.estimate_hours is None


@pytest.mark.parametrize(
    ("cell", "status"),
    [
        ("QUEUED", PlanStatus.QUEUED),
        ("todo", PlanStatus.QUEUED),
        ("To Do", PlanStatus.QUEUED),
        ("pending", PlanStatus.QUEUED),
        ("Not started", PlanStatus.QUEUED),
        ("IN PROGRESS", PlanStatus.IN_PROGRESS),
        ("in-progress", PlanStatus.IN_PROGRESS),
        ("WIP", PlanStatus.IN_PROGRESS),
        ("Started", PlanStatus.IN_PROGRESS),
        ("**Done**", PlanStatus.DONE),
        ("complete", PlanStatus.DONE),
        ("COMPLETED", PlanStatus.DONE),
        ("passed", PlanStatus.DONE),
        ("FAILED", PlanStatus.FAILED),
        ("Blocked", PlanStatus.FAILED),
        # Words win over glyphs, however wrong the glyph.
        ("\u2705 QUEUED", PlanStatus.QUEUED),
        (f"{HOURGLASS} DONE", PlanStatus.DONE),
        # A lone glyph is read, real or mangled.
        ("\u2705", PlanStatus.DONE),
        (CHECK, PlanStatus.DONE),
        ("\u23f3", PlanStatus.QUEUED),
        (HOURGLASS, PlanStatus.QUEUED),
        ("\U0001f504", PlanStatus.IN_PROGRESS),
        (mangled("\U0001f504"), PlanStatus.IN_PROGRESS),
        ("\u274c", PlanStatus.FAILED),
        (mangled("\u274c"), PlanStatus.FAILED),
        ("\u23f3\ufe0f", PlanStatus.QUEUED),
        # Around one status: marks, markup, emoji, a note; struck-out text is taken back.
        ("Done!", PlanStatus.DONE),
        ("\u2705 DONE \U0001f389", PlanStatus.DONE),
        ("_in_progress_", PlanStatus.IN_PROGRESS),
        ("DONE (2025-01-02)", PlanStatus.DONE),
        ("~~QUEUED~~ DONE", PlanStatus.DONE),
        ("\u2705 ~~QUEUED~~", PlanStatus.DONE),
    ],
)
def test_status_cells(cell: str, status: PlanStatus) -> None:
    manifest = parse(f"### Batch 1: Tests\n| # | Status |\n|---|---|\n| 1 | {cell} |\n")
    item = manifest.items[0]
    assert item.status is status
    assert item.status_text == cell
    assert manifest.problems == ()


@pytest.mark.parametrize(
    "cell",
    [
        "xyz",
        "\u2705 \u274c",
        "incomplete",
        "\u2705 yes",
        # A status word negated, or more words than one status: not that status.
        "NOT DONE",
        "not done \u274c",
        "\u2705 Not completed",
        "not in progress",
        "un-done",
        "Done by Ann",
        "Pending review",
        "DONE/QUEUED",
        "DONE 2025-01-02",
        "~~DONE~~",
    ],
)
def test_unknown_status_is_an_error(cell: str) -> None:
    manifest = parse(f"### Batch 1: Tests\n| # | Status |\n|---|---|\n| 1 | {cell} |\n")
    problem = error(manifest)
    assert problem.line == 4
    assert problem.message == (
        f"item 1: unknown status {cell!r} (expected QUEUED, IN PROGRESS, DONE or FAILED)"
    )
    assert manifest.items[0].status is None


# --- ranges, duplicates and totals ------------------------------------------------------------


def test_reversed_range_is_an_error() -> None:
    manifest = parse("### Batch 2: Tests\n\n**Items:** 12-7\n")
    problem = error(manifest)
    assert (problem.line, problem.message) == (3, "batch 2: reversed item range 12-7 (write 7-12)")
    assert manifest.batches[0].item_range is None
    assert manifest.items == ()


def test_absurd_range_is_an_error_and_allocates_nothing() -> None:
    tracemalloc.start()
    try:
        manifest = parse("### Batch 1: Tests\n**Items:** 1-10000000\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024  # a set of ten million numbers would take hundreds of MiB
    problem = error(manifest)
    assert problem.line == 2
    assert problem.message == (
        "batch 1: absurd range 1-10000000 (10000000 items; at most 100000 are allowed)"
    )
    assert manifest.items == ()


def test_ranges_adding_up_to_too_many_items_are_an_error() -> None:
    manifest = parse(
        "### Batch 1: Tests\n**Items:** 1-60000\n### Batch 2: Tests\n**Items:** 60001-120000\n"
    )
    problem = error(manifest)
    assert problem.line == 4
    assert "absurd range 60001-120000" in problem.message
    assert len(manifest.items) == 60000


def test_overlapping_ranges_name_both_lines() -> None:
    manifest = parse("### Batch 1: Tests\n**Items:** 1-6\n\n### Batch 2: Tests\n**Items:** 5-9\n")
    problem = error(manifest)
    assert problem.line == 5
    assert problem.message == "items 5-9 of batch 2 (line 5) overlap items 1-6 of batch 1 (line 2)"


def test_overlap_reported_at_the_later_line_whatever_the_order() -> None:
    manifest = parse("### Batch 2: Tests\n**Items:** 10-20\n### Batch 1: Tests\n**Items:** 1-30\n")
    problem = error(manifest)
    assert problem.line == 4
    assert problem.message == (
        "items 1-30 of batch 1 (line 4) overlap items 10-20 of batch 2 (line 2)"
    )


def test_duplicated_item_within_a_batch() -> None:
    manifest = parse("### Batch 1: Tests\n| # | File |\n|---|---|\n| 1 | a |\n| 1 | b |\n")
    problem = error(manifest)
    assert (problem.line, problem.message) == (5, "item 1 is listed twice (lines 4 and 5)")


def test_duplicated_item_across_batches() -> None:
    manifest = parse(
        "### Batch 1: Tests\n| # | File |\n|---|---|\n| 3 | a |\n\n"
        "### Batch 2: Tests\n| # | File |\n|---|---|\n| 3 | b |\n"
    )
    problem = error(manifest)
    assert (problem.line, problem.message) == (9, "item 3 is listed twice (lines 4 and 9)")


def test_row_outside_the_declared_range_is_an_error() -> None:
    manifest = parse(
        "### Batch 1: Tests\n**Items:** 1-2\n| # | File |\n|---|---|\n| 1 | a |\n| 9 | b |\n"
    )
    problem = error(manifest)
    assert (problem.line, problem.message) == (
        6,
        "item 9 is outside the range 1-2 of batch 1 (line 2)",
    )


def test_duplicated_batch_is_an_error() -> None:
    manifest = parse(
        "### Batch 1: Tests\n**Items:** 1-2\n\n### Batch 1: More tests\n**Items:** 3\n"
    )
    problem = error(manifest)
    assert (problem.line, problem.message) == (4, "batch 1 is defined twice (lines 1 and 4)")
    assert [b.title for b in manifest.batches] == ["Tests"]


def test_batches_cover_more_than_declared() -> None:
    manifest = parse("**Total Work Items:** 4\n### Batch 1: Tests\n**Items:** 1-6\n")
    problem = warning(manifest)
    assert (problem.line, problem.message) == (
        1,
        "plan declares 4 work items but its batches cover 6; items 5-6 lie outside 1-4",
    )


def test_missing_items_are_listed_compactly() -> None:
    manifest = parse(
        "**Total Work Items:** 20\n### Batch 1: Tests\n**Items:** 2-3\n"
        "### Batch 2: Tests\n**Items:** 5\n### Batch 3: Tests\n**Items:** 8-19\n"
    )
    assert warning(manifest).message == (
        "plan declares 20 work items but its batches cover 15; items 1, 4, 6-7, 20 "
        "belong to no batch"
    )


def test_huge_declared_total_costs_nothing() -> None:
    manifest = parse("**Total Work Items:** 999999999999\n### Batch 1: Tests\n**Items:** 3\n")
    assert warning(manifest).message.endswith("items 1-2, 4-999999999999 belong to no batch")


def test_total_counts_only_before_the_first_batch() -> None:
    manifest = parse("### Batch 1: Tests\n**Items:** 1\n## Notes\n**Total Work Items:** 9\n")
    assert manifest.total_items is None
    assert manifest.problems == ()


# --- phases and criteria ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "batches", "title"),
    [
        ("Phase 2: Core (Batches 2, 3)", (2, 3), "Core"),
        ("Phase 2 - Core (Batch 2 & 3)", (2, 3), "Core"),
        ("Phase 2.1: Core (Batch 3 + 2)", (3, 2), "Core"),
        ("Phase 2: Core (batches 1-3)", (1, 2, 3), "Core"),
        ("Phase 2: Core (small)", (), "Core (small)"),
    ],
)
def test_phase_headings(heading: str, batches: tuple[int, ...], title: str) -> None:
    body = "".join(f"### Batch {n}: Tests\n" for n in (1, 2, 3))
    manifest = parse(f"{body}## Timeline\n### {heading}\n- **Duration:** 5h\n")
    phase = manifest.phases[0]
    assert (phase.batches, phase.title, phase.duration_hours, phase.line) == (
        batches,
        title,
        5.0,
        5,
    )
    assert manifest.problems == ()


def test_phase_batches_from_a_key_line() -> None:
    manifest = parse(
        "### Batch 1: Tests\n### Batch 2: Tests\n### Phase 1: All\n- **Batches:** 1, 2\n"
    )
    assert manifest.phases[0].batches == (1, 2)


def test_phase_naming_an_unknown_batch_is_an_error() -> None:
    manifest = parse("### Batch 1: Tests\n\n### Phase 7.1: Quick Wins (Batch 1 + 9)\n")
    problem = error(manifest)
    assert (problem.line, problem.message) == (
        3,
        "phase 7.1 names batch 9, which the plan does not define",
    )


def test_criteria_marks() -> None:
    manifest = parse(
        "### Batch 1: Tests\n## Success Criteria\n\n"
        "- [x] **Done:** yes\n"
        "- [ ] **Open:** no\n"
        "\u274c **Failed:** bad\n"
        f"{mangled(chr(0x274C))} **Mangled:** bad\n"
        "\u2705\ufe0f **Check:** good\n"
        "Plain line without a label\n"
        "---\n"
        "## Next\n- [x] not a criterion\n"
    )
    assert [(c.label, c.text, c.met, c.line) for c in manifest.criteria] == [
        ("Done", "yes", True, 4),
        ("Open", "no", False, 5),
        ("Failed", "bad", False, 6),
        ("Mangled", "bad", False, 7),
        ("Check", "good", True, 8),
        ("", "Plain line without a label", None, 9),
    ]


# --- robustness -------------------------------------------------------------------------------

_FRAGMENTS = [
    "### Batch 1: Tests",
    "### Batch 2: Cleanup (Low)",
    "## Batch 3 Docs",
    "### Phase 1: X (Batch 1 + 2)",
    "### Phase 2: Y (Batches 9-1)",
    "## Success Criteria",
    "**Items:** 1-6",
    "**Items:** 3",
    "**Items:** 9-2",
    "**Items:** 1-999999999",
    "**Kind:** docs",
    "**Kind:** ???",
    "**Gates:** ruff",
    "**Required:** maybe",
    "**Total Work Items:** 12",
    "**Target Coverage:** 5% -> 70%",
    "- **Duration:** 3h",
    "| # | File | Status | Owner |",
    "| # | # |",
    "|---|---|---|---|",
    "|---|",
    "| 1 | a.py | DONE | me |",
    "| 2 | b\\|c | ??? |",
    "| x | y | z | w |",
    f"| 3 | d.py | {HOURGLASS} | |",
    f"{CHECK} **Label:** text",
    "---",
    "```",
    "# Title [[a|b]]",
    "",
    "\u2705",
    "\t",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=30)), min_size=1, max_size=25),
    st.sampled_from(["\n", "\r\n"]),
)
def test_any_text_loads_or_raises_manifest_error_and_round_trips(
    parts: list[str], newline: str
) -> None:
    try:
        manifest = parse(newline.join(parts))
    except ManifestError:
        return
    assert parse_toml(tomllib.loads(to_toml(manifest)), "again.toml") == manifest


def test_unreadable_total_and_phase_duration_are_warnings() -> None:
    manifest = parse(
        "**Total Work Items:** many\n### Batch 1: Tests\n### Phase 1: X (Batch 1)\n"
        "- **Duration:** a week\n"
    )
    assert manifest.total_items is None
    assert [(p.line, p.message) for p in manifest.warnings] == [
        (1, "cannot read the total work items 'many'"),
        (4, "phase 1: cannot read duration 'a week'"),
    ]


def test_many_missing_items_are_elided() -> None:
    body = "".join(f"### Batch {n}: Tests\n**Items:** {2 * n}\n" for n in range(1, 13))
    manifest = parse(f"**Total Work Items:** 30\n{body}")
    assert warning(manifest).message == (
        "plan declares 30 work items but its batches cover 12; items 1, 3, 5, 7, 9, 11, 13, 15, "
        "17, 19, ... (3 more) belong to no batch"
    )


# --- the plan's own hours ----------------------------------------------------------------------

HOURS_PLAN = """# P
**Total Work Items:** 3
**Estimated Duration:** {plan}

### Batch 1: Unit Tests
**Items:** 1-2
**Duration:** {batch}

| # | File | Est. Time |
|---|------|-----------|
| 1 | a.py | 2h |
| 2 | b.py | {estimate} |

### Batch 2: Documentation
**Items:** 3
**Duration:** 4 hours

### Phase 7.1: Quick Wins (Batch 1 + 2)
- **Duration:** {phase}
"""


def hours_plan(plan="9 hours", batch="5 hours", estimate="3h", phase="9 hours") -> Manifest:
    return parse(HOURS_PLAN.format(plan=plan, batch=batch, estimate=estimate, phase=phase))


def test_hours_that_add_up_say_nothing() -> None:
    manifest = hours_plan()
    assert manifest.problems == ()
    assert (manifest.duration_hours, manifest.duration_line) == (9.0, 3)


@pytest.mark.parametrize(
    ("changes", "line", "message"),
    [
        ({"plan": "8 hours"}, 3, "plan declares 8 hours but its batches add up to 9 (5+4)"),
        (
            {"phase": "10 h"},
            18,
            "phase 7.1 declares 10 hours but its batches (1, 2) add up to 9 (5+4)",
        ),
        (
            {"estimate": "2.5h"},
            5,
            "batch 1 declares 5 hours but its items' estimates add up to 4.5 (2+2.5)",
        ),
    ],
)
def test_hours_that_differ_are_a_warning(changes: dict[str, str], line: int, message: str) -> None:
    problem = warning(hours_plan(**changes))
    assert (problem.line, problem.message) == (line, message)


def test_hours_with_an_unknown_part_are_not_compared() -> None:
    # Item 2 gives no estimate: the batch's 5 hours cannot be checked against 2.
    assert hours_plan(estimate="?").problems == ()
    # A batch with no hours at all: neither the plan's total nor the phase's is checked.
    text = HOURS_PLAN.format(plan="1 hour", batch="5 hours", estimate="3h", phase="1 hour")
    assert parse(text.replace("**Duration:** 4 hours\n", "")).problems == ()


def test_an_unreadable_plan_duration_is_a_warning() -> None:
    problem = warning(hours_plan(plan="about a week"))
    assert (problem.line, problem.message) == (
        3,
        "cannot read the duration 'about a week' (e.g. 77 hours)",
    )
