"""The Markdown report: golden files from a real run, escaping, GitHub's size limits, the summary.

The golden files under ``tests/golden/`` are the output of a real run of the bundled example
(``examples/tta``) with only the timings set to zero (and the rootdir named ``examples/tta``):
``example_tta.*`` with its own plan, ``shared_plan.*`` with the shared plan
(``tests/fixtures/PHASE7_EXECUTION_PLAN.md``) in its place. The terminal files are rendered at
100 columns (``.txt``, with ``-v``) and at 80 and 200 (``.80.txt``, ``.200.txt``).
``PHASE7_REGEN_GOLDEN=1 pytest tests/test_report_md.py`` rewrites them from a fresh run.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_phase7.engine import RunResult
from pytest_phase7.gates.base import GateResult, GateRun, GateStatus
from pytest_phase7.model import Batch, Criterion, Manifest, Phase, PlanStatus, WorkItem
from pytest_phase7.report.github import MAX_COMMENT_CHARS, MAX_STEP_SUMMARY_BYTES
from pytest_phase7.report.json import from_document, load_report
from pytest_phase7.report.markdown import (
    MARKER,
    append_step_summary,
    escape,
    metric_cell,
    progress_bar,
    render_markdown,
)
from pytest_phase7.report.model import ReportData
from pytest_phase7.report.terminal import terminal_lines, to_text
from pytest_phase7.resolve.targets import Resolution, ResolutionState, Target, TargetKind
from pytest_phase7.status.rules import ItemOutcome, decide

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("PHASE7_REGEN_GOLDEN") == "1"


# --- golden files --------------------------------------------------------------------------


def normalise(document: Any, rootdir: str | None = None) -> Any:
    """A report with its timings set to zero and its rootdir named as in the repo."""
    if rootdir is None:
        rootdir = document["rootdir"]
    if isinstance(document, dict):
        return {k: (0.0 if k == "seconds" else normalise(v, rootdir)) for k, v in document.items()}
    if isinstance(document, list):
        return [normalise(v, rootdir) for v in document]
    if isinstance(document, str):
        return document.replace(rootdir, "examples/tta")
    return document


def normalise_md(text: str) -> str:
    return re.sub(r"\(\d+\.\d\d s\)", "(0.00 s)", text)


VERSION = "<version>"


def without_versions(document: Any) -> Any:
    """A report with every tool version replaced by a placeholder.

    A patch release of a gated tool must not turn the golden comparison into a skip (a test
    that stops checking when a dependency moves checks nothing): the figures are still compared,
    and a release that changes one fails, saying the versions differ.
    """
    if isinstance(document, dict):
        return {
            k: (
                VERSION
                if k == "tool_version" and v
                else dict.fromkeys(v, VERSION)
                if k == "tool_versions"
                else without_versions(v)
            )
            for k, v in document.items()
        }
    if isinstance(document, list):
        return [without_versions(v) for v in document]
    return document


def md_without_versions(text: str) -> str:
    """The Markdown report with the versions of its footer line replaced by a placeholder."""
    return re.sub(
        r"^<sub>.*</sub>$",
        lambda m: re.sub(r"(?<= )\d+(\.\w+)+", VERSION, m.group(0)),
        text,
        flags=re.MULTILINE,
    )


def golden_data(name: str = "example_tta") -> ReportData:
    return load_report(GOLDEN / f"{name}.json")


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGEN:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs; PHASE7_REGEN_GOLDEN=1"


#: The golden runs: name -> the plan put in the example's place (None: its own).
GOLDEN_RUNS = {
    "example_tta": None,
    "shared_plan": Path(__file__).parent / "fixtures" / "PHASE7_EXECUTION_PLAN.md",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GOLDEN_RUNS))
def test_golden_files_are_a_real_run_of_the_bundled_example(tmp_path: Path, name: str):
    example = tmp_path / "tta"
    shutil.copytree(REPO / "examples" / "tta", example)
    plan = GOLDEN_RUNS[name]
    if plan is not None:
        shutil.copyfile(plan, example / "PHASE7_EXECUTION_PLAN.md")
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--phase7",
            "-p",
            "no:cacheprovider",
            "--phase7-json=report.json",
            "--phase7-md=report.md",
        ],
        cwd=example,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    document = normalise(json.loads((example / "report.json").read_text(encoding="utf-8")))
    written_md = normalise_md((example / "report.md").read_text(encoding="utf-8"))
    data = from_document(document)
    # What the run wrote is what its JSON renders to: the JSON carries everything.
    assert render_markdown(data, max_chars=MAX_COMMENT_CHARS) == written_md
    as_json = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if REGEN:
        (GOLDEN / f"{name}.json").write_text(as_json, encoding="utf-8")
    golden = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    drift = (
        ""
        if golden["tool_versions"] == document["tool_versions"]
        else f" (golden made with {golden['tool_versions']}, run with "
        f"{document['tool_versions']}: if the new versions changed a figure, regenerate with "
        "PHASE7_REGEN_GOLDEN=1)"
    )
    assert without_versions(document) == without_versions(golden), "report differs" + drift
    if REGEN:
        (GOLDEN / f"{name}.md").write_text(written_md, encoding="utf-8")
    golden_md = (GOLDEN / f"{name}.md").read_text(encoding="utf-8")
    assert md_without_versions(written_md) == md_without_versions(golden_md), "md differs" + drift
    check_terminal_goldens(name, data)


def check_terminal_goldens(name: str, data: ReportData) -> None:
    """The terminal renderings of a golden run: at 100 columns with -v, and at 80 and 200."""
    check_golden(f"{name}.txt", to_text(terminal_lines(data, 1)))
    for width in (80, 200):
        check_golden(f"{name}.{width}.txt", to_text(terminal_lines(data, 0, width)))


def test_version_placeholders_hide_versions_only():
    document = {"tool_versions": {"coverage": "7.17.5"}, "gate_runs": [{"tool_version": "1.2"}]}
    assert without_versions(document) == {
        "tool_versions": {"coverage": VERSION},
        "gate_runs": [{"tool_version": VERSION}],
    }
    assert without_versions({"tool_version": "", "metric": 7.5}) == {
        "tool_version": "",
        "metric": 7.5,
    }
    footer = "<sub>python 3.11.7 · coverage 7.17.4 (0.00 s) · ruff 0.17.6 (0.00 s)</sub>"
    assert md_without_versions(f"| 71% |\n{footer}\n") == (
        f"| 71% |\n<sub>python {VERSION} · coverage {VERSION} (0.00 s) · ruff {VERSION} "
        "(0.00 s)</sub>\n"
    )


@pytest.mark.parametrize("name", sorted(GOLDEN_RUNS))
def test_markdown_and_terminal_goldens(name: str):
    data = golden_data(name)
    check_golden(f"{name}.md", render_markdown(data, max_chars=MAX_COMMENT_CHARS))
    check_terminal_goldens(name, data)


def test_golden_markdown_reads_like_the_plan():
    text = (GOLDEN / "example_tta.md").read_text(encoding="utf-8")
    assert text.startswith(MARKER + "\n")
    assert "### Batch 1: Tier 1 Unit Tests (Critical - High Impact)" in text
    assert "**Priority:** CRITICAL" in text
    assert "**Target Coverage:** 5% \u2192 70%" in text
    header = (
        "| # | Module | File | Complexity | Est. Time | Coverage | Ruff | Mypy | Docs | Status |"
    )
    assert text.count(header) == 3
    assert "| 1 | Agent Orchestration | adapters.py | Simple | 2h |" in text
    for badge in ("\u2705 DONE", "\U0001f504 IN PROGRESS", "\u23f3 QUEUED"):
        assert badge in text
    assert "\u274c 49% (\u2265 70%)" in text  # service.py misses its coverage target
    assert "\u274c 2 (\u2264 0)" in text  # auth.py's two ruff violations
    assert "Phase 7.1: Quick Wins | 2/7 | 3/19 h" in text
    assert "**All batches** | 2/9 | 3/23 h" in text
    assert "```mermaid\npie showData title Items by status" in text
    assert "\u274c | **Unit Tests:** 70%+ coverage for all modules" in text
    assert "\u2705 | **Code Generation:**" in text
    assert "\u201a\u00e8\u00b3" not in text  # no mojibake, ever


def table_rows(text: str) -> list[list[str]]:
    """Rows of every Markdown table, split on unescaped pipes."""
    tables: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("|"):
            tables.append(re.split(r"(?<!\\)\|", line)[1:-1])
    return tables


def check_valid_markdown(text: str) -> None:
    """The structural promises: tables rectangular, HTML blocks balanced, fences closed."""
    blocks: list[list[list[str]]] = [[]]
    for line in text.splitlines():
        if line.startswith("|"):
            blocks[-1].append(re.split(r"(?<!\\)\|", line)[1:-1])
        elif blocks[-1]:
            blocks.append([])
    for block in blocks:
        if block:
            assert len({len(row) for row in block}) == 1, block[:3]
    assert text.count("<details>") == text.count("</details>")
    assert text.count("```") % 2 == 0
    assert "<script" not in text.lower()


@pytest.mark.parametrize("name", sorted(GOLDEN_RUNS))
def test_golden_markdown_is_valid(name: str):
    check_valid_markdown((GOLDEN / f"{name}.md").read_text(encoding="utf-8"))


# --- synthetic results ---------------------------------------------------------------------

GATES = ("coverage", "ruff", "mypy", "docstrings")


def gate_result(gate: str, ok: bool, index: int) -> GateResult:
    if gate in {"coverage", "docstrings"}:
        metric = 90.0 if ok else float(index % 60)
        return GateResult(
            gate,
            GateStatus.PASS if ok else GateStatus.FAIL,
            metric=metric,
            display=f"{metric:g}%",
            threshold=70.0,
            reason="" if ok else f"{metric:g}% < 70%",
            details=() if ok else tuple(f"src/pkg/m{index}.py: missing {n}" for n in range(3)),
        )
    metric = 0.0 if ok else 2.0
    return GateResult(
        gate,
        GateStatus.PASS if ok else GateStatus.FAIL,
        metric=metric,
        display=f"{metric:g}",
        threshold=0.0,
        reason="" if ok else "2 violations > 0 allowed",
        details=() if ok else (f"src/pkg/m{index}.py:1:1 F401 unused", "E711 comparison"),
    )


def make_result(
    batches: int = 2,
    per_batch: int = 3,
    *,
    module: str = "Module",
    statuses: tuple[PlanStatus, ...] = (
        PlanStatus.DONE,
        PlanStatus.IN_PROGRESS,
        PlanStatus.QUEUED,
        PlanStatus.FAILED,
    ),
) -> RunResult:
    outcomes = []
    batch_list = []
    number = 0
    for b in range(1, batches + 1):
        items = []
        for _ in range(per_batch):
            number += 1
            status = statuses[(number - 1) % len(statuses)]
            item = WorkItem(
                number=number,
                batch=b,
                module=f"{module} {number}",
                file=f"m{number}.py",
                complexity="Simple",
                estimate_hours=2.0,
                estimate_text="2h",
                status=PlanStatus.QUEUED,
                status_text="QUEUED",
            )
            items.append(item)
            target = Target(TargetKind.FILE, f"src/pkg/m{number}.py", (f"src/pkg/m{number}.py",))
            results = tuple(
                gate_result(g, status is PlanStatus.DONE or g != "coverage", number) for g in GATES
            )
            outcomes.append(
                ItemOutcome(
                    item,
                    Resolution(item, ResolutionState.RESOLVED, target),
                    results,
                    status,
                    regression=status is PlanStatus.FAILED,
                )
            )
        batch_list.append(
            Batch(
                number=b,
                title=f"Batch title {b}",
                line=b,
                priority="HIGH",
                item_range=(items[0].number, items[-1].number),
                items=tuple(items),
            )
        )
    manifest = Manifest(
        path="PLAN.md",
        format="markdown",
        title="Generated plan",
        batches=tuple(batch_list),
        phases=(Phase("7.1", "All", batches=tuple(range(1, batches + 1))),),
        criteria=(Criterion("Unit Tests", "70%+ coverage for all modules", met=True),),
    )
    runs = tuple(
        GateRun(
            g,
            {
                o.resolution.target.ref: r
                for o in outcomes
                if o.resolution.target
                for r in o.results
                if r.gate == g
            },
            tool_version="1.0",
            seconds=0.5,
        )
        for g in GATES
    )
    return RunResult(
        manifest=manifest,
        rootdir="/repo",
        gates=GATES,
        gate_titles=tuple((g, g.title()) for g in GATES),
        outcomes=tuple(outcomes),
        gate_runs=runs,
        verdict=decide(manifest, outcomes, "regression"),
    )


def data_of(result: RunResult, **kwargs: Any) -> ReportData:
    return ReportData(result=result, versions=(("pytest-phase7", "0.1.0"),), **kwargs)


# --- escaping ------------------------------------------------------------------------------


def test_a_note_of_several_lines_is_a_code_block_no_path_can_close():
    # The fix lines for ambiguous targets are copied as they are; a path is repo data, so a
    # backtick run in it must not end the block early.
    note = (
        'to choose each target, add to pyproject.toml:\n  [tool.phase7.targets]\n  1 = "a```b.py"'
    )
    result = make_result(1, 1)
    text = render_markdown(data_of(dataclasses.replace(result, notes=(note,))))
    lines = text.splitlines()
    start = lines.index("- to choose each target, add to pyproject.toml:")
    assert lines[start + 1 : start + 5] == [
        "  ````",
        "    [tool.phase7.targets]",
        '    1 = "a```b.py"',
        "  ````",
    ]
    terminal = to_text(terminal_lines(data_of(dataclasses.replace(result, notes=(note,)))))
    assert "\n  [tool.phase7.targets]\n" in terminal


def test_untrusted_names_cannot_break_the_table_or_inject_html():
    result = make_result(
        1, 2, module="a|b<script>alert(1)</script>\n| x | @team #12 `code` __init__"
    )
    text = render_markdown(data_of(result))
    check_valid_markdown(text)
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "a\\|b" in text
    assert "@team" not in text  # "@\u200bteam": no mention
    assert "#12" not in text  # no issue link
    assert "\\`code\\`" in text
    assert "\\_\\_init\\_\\_" in text  # not bold "init"
    rows = [row for row in table_rows(text) if len(row) == 10]
    assert {len(row) for row in rows} == {10}


@given(st.text())
def test_escape_neutralises_any_text(text: str):
    escaped = escape(text)
    assert not set("\n\r<>") & set(escaped)
    assert re.search(r"(?<!\\)\|", escaped) is None
    assert re.search(r"(?<!\\)`", escaped) is None
    assert re.search(r"(?<!\\)[\[\]$]", escaped) is None  # no link, image or math
    assert REFERENCE.search(html.unescape(escaped)) is None


#: What GitHub and GitLab turn into a mention or a link to an issue, MR, epic, label...
REFERENCE = re.compile(r"[@#!$%&~]\w|\bGH-\d", re.IGNORECASE)


@pytest.mark.parametrize(
    "text",
    ["@octocat", "@org/team", "#12", "GH-12", "gh-7", "owner/repo#3", "!12", "&12", "%12", "$12",
     "~bug", "a@b.example"],
)  # fmt: skip
def test_references_ping_nobody_and_link_nothing(text: str):
    escaped = escape(text)
    assert REFERENCE.search(html.unescape(escaped)) is None
    assert escaped.replace("\u200b", "").replace("\\", "").replace("&amp;", "&") == text


def test_images_links_and_the_footer_arrive_as_text():
    hostile = "![i](https://evil/p.png) [x](javascript:alert(1)) <img src=x> @octocat"
    result = make_result(1, 1, module=hostile)
    data = ReportData(result=result, versions=(("pytest-phase7", "0.1.0"), ("lines", hostile)))
    text = render_markdown(data)
    assert "![" not in text
    assert re.search(r"(?<!\\)\]\(", text) is None
    assert "<img" not in text
    assert "@octocat" not in text
    assert text.rstrip().splitlines()[-1].startswith("<sub>pytest-phase7 0.1.0 \u00b7 lines !\\[i")


def test_verdict_reasons_are_escaped_and_blocked_says_so():
    text = render_markdown(data_of(make_result(1, 4)))
    assert "\u274c **Merge blocked** (fail-on=regression): 1 item regressed (#\u200b4)" in text


# --- cells, bars, charts ---------------------------------------------------------------------


def test_metric_cells_show_baseline_now_and_missed_target():
    failing = GateResult("coverage", GateStatus.FAIL, metric=49.0, display="49%", threshold=70.0)
    assert metric_cell(failing, 42.0) == "\u274c 42% \u2192 49% (\u2265 70%)"
    passing = GateResult("ruff", GateStatus.PASS, metric=0.0, display="0", threshold=0.0)
    assert metric_cell(passing, 3.0) == "\u2705 3 \u2192 0"
    assert metric_cell(passing, 0.0) == "\u2705 0"
    assert (
        metric_cell(GateResult("mypy", GateStatus.ERROR, reason="x"), None) == "\u26a0\ufe0f ERROR"
    )
    assert metric_cell(GateResult("mypy", GateStatus.SKIP), None) == "\u2014"
    assert metric_cell(None, None) == "\u2014"
    custom = GateResult("lines", GateStatus.FAIL, metric=17.0, display="17", threshold=10.0)
    assert metric_cell(custom, None) == "\u274c 17 (target 10)"


def test_baseline_appears_in_the_table():
    result = make_result(1, 2)
    text = render_markdown(data_of(result, baseline={"src/pkg/m2.py": {"coverage": 1.0}}))
    assert "\u274c 1% \u2192 2% (\u2265 70%)" in text


@pytest.mark.parametrize(
    ("done", "total", "expected"),
    [
        (0, 9, "\u2591" * 20 + " 0%"),
        (2, 9, "\u2588" * 4 + "\u2591" * 16 + " 22%"),
        (199, 200, "\u2588" * 19 + "\u2591" + " 99%"),
        (1, 1000, "\u2588" + "\u2591" * 19 + " 1%"),
        (3, 3, "\u2588" * 20 + " 100%"),
        (0, 0, "\u2588" * 20 + " 100%"),
    ],
)
def test_progress_bar_never_claims_done_early(done: int, total: int, expected: str):
    from pytest_phase7.report.model import Progress

    assert progress_bar(Progress(done, total, 0, 0, False, ())) == expected


def test_mermaid_pie_counts_statuses():
    text = render_markdown(data_of(make_result(2, 4)))
    assert '    "DONE" : 2\n    "IN PROGRESS" : 2\n    "QUEUED" : 2\n    "FAILED" : 2' in text


def test_hook_sections_are_appended():
    text = render_markdown(data_of(make_result(1, 1), sections=(("Owners", "| a | b |"),)))
    assert "### Owners\n\n| a | b |\n" in text


# --- size limits ---------------------------------------------------------------------------


#: A large plan well under way: half DONE, one item in twenty FAILED.
MOSTLY_DONE = (
    (PlanStatus.DONE,) * 10
    + (PlanStatus.IN_PROGRESS,) * 6
    + (PlanStatus.QUEUED,) * 3
    + (PlanStatus.FAILED,)
)


def test_two_thousand_items_fit_a_pr_comment_and_say_what_was_left_out():
    data = data_of(make_result(40, 50, statuses=MOSTLY_DONE))
    full = render_markdown(data)
    assert len(full) > MAX_COMMENT_CHARS  # the test means something
    assert full.count("\n| ") >= 2000
    comment = render_markdown(data, max_chars=MAX_COMMENT_CHARS)
    assert len(comment) <= MAX_COMMENT_CHARS
    check_valid_markdown(comment)
    assert "To stay within GitHub's limit of 65,536 characters, this report leaves out" in comment
    assert "the JSON report has everything" in comment
    assert "every row but the FAILED items" in comment
    assert "<details><summary>Batch 1: Batch title 1" in comment  # folded per batch
    assert "### Batch 40: Batch title 40" in comment  # every batch still has its totals
    assert comment.count("\u274c FAILED") == 100
    summary = render_markdown(data, max_bytes=MAX_STEP_SUMMARY_BYTES)
    assert len(summary.encode("utf-8")) <= MAX_STEP_SUMMARY_BYTES
    assert "each batch's table is folded" in summary
    assert summary == full  # 2,000 items fit a step summary whole


def test_two_thousand_failing_items_still_fit_with_batch_totals_only():
    data = data_of(make_result(40, 50, statuses=(PlanStatus.FAILED,)))
    comment = render_markdown(data, max_chars=MAX_COMMENT_CHARS)
    assert len(comment) <= MAX_COMMENT_CHARS
    assert "leaves out the item tables (batch totals only)" in comment
    assert comment.count("### Batch ") == 40
    check_valid_markdown(comment)


def test_levels_leave_out_more_and_more():
    data = data_of(make_result(4, 30))
    full = render_markdown(data)
    sizes = []
    phrases = [
        "leaves out the per-item gate details;",
        "the rows of DONE items",
        "every row but the FAILED items",
        "the item tables (batch totals only)",
    ]
    for phrase in phrases:
        # Just under the previous level's size (the notice's own figure may lose a digit).
        limit = (sizes[-1] if sizes else len(full)) - 10
        text = render_markdown(data, max_chars=limit)
        assert phrase in text, phrase
        check_valid_markdown(text)
        sizes.append(len(text))
    assert sizes == sorted(sizes, reverse=True)


def test_last_resort_truncates_at_a_line():
    text = render_markdown(data_of(make_result(3, 3)), max_chars=400)
    assert len(text) <= 400
    assert text.endswith(
        "_\u2026 the report is cut here to fit; the JSON report has everything._\n"
    )


# --- step summary --------------------------------------------------------------------------


def test_step_summary_is_appended_never_overwritten(tmp_path: Path):
    summary = tmp_path / "summary.md"
    summary.write_text("# Earlier step\n", encoding="utf-8")
    data = data_of(make_result(1, 2))
    append_step_summary(data, summary)
    append_step_summary(data, summary)
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# Earlier step\n\n" + MARKER)
    assert text.count(MARKER) == 2


def test_step_summary_keeps_within_what_is_left(tmp_path: Path):
    summary = tmp_path / "summary.md"
    summary.write_bytes(b"x" * (MAX_STEP_SUMMARY_BYTES - 30_000))
    append_step_summary(data_of(make_result(10, 30)), summary)
    size = summary.stat().st_size
    assert MAX_STEP_SUMMARY_BYTES - 30_000 < size <= MAX_STEP_SUMMARY_BYTES
    assert "To stay within GitHub's limit of" in summary.read_text(encoding="utf-8")
    summary.write_bytes(b"x" * MAX_STEP_SUMMARY_BYTES)
    append_step_summary(data_of(make_result(1, 1)), summary)
    assert summary.stat().st_size == MAX_STEP_SUMMARY_BYTES  # full: nothing appended


def test_step_summary_created_when_missing(tmp_path: Path):
    summary = tmp_path / "new.md"
    append_step_summary(data_of(make_result(1, 1)), summary)
    assert summary.read_text(encoding="utf-8").startswith(MARKER)
