"""Write-back of derived statuses into the plan: only the Status cells change, byte for byte."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import stat
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from pytest_phase7.engine import RunResult
from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.manifest import load_manifest
from pytest_phase7.model import Manifest, PlanStatus
from pytest_phase7.report.json import schema
from pytest_phase7.report.writeback import (
    WriteBackError,
    format_date,
    refusal,
    rewrite_markdown,
    update_manifest,
)
from pytest_phase7.resolve.targets import Resolution, ResolutionState, Target, TargetKind
from pytest_phase7.status.rules import ItemOutcome, decide

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = datetime.date(2026, 3, 5)

#: How the shared fixture writes QUEUED: an hourglass emoji whose UTF-8 was decoded as Mac Roman.
MANGLED_QUEUED = "\u23f3".encode().decode("mac_roman") + " QUEUED"


def result_for(
    manifest: Manifest,
    rootdir: Path,
    statuses: dict[int, PlanStatus] | None = None,
    *,
    error: frozenset[int] = frozenset(),
    gate: GateStatus = GateStatus.PASS,
) -> RunResult:
    """A result deriving ``statuses`` (default: what the plan records) for the manifest's items."""
    statuses = statuses or {}
    outcomes = []
    for item in manifest.items:
        status = statuses.get(item.number, item.status or PlanStatus.QUEUED)
        if not item.mapped:
            resolution = Resolution(item, ResolutionState.UNMAPPED)
            results: tuple[GateResult, ...] = ()
        else:
            ref = f"src/{item.file or item.number}"
            resolution = Resolution(
                item, ResolutionState.RESOLVED, Target(TargetKind.FILE, ref, ())
            )
            status_of_gate = GateStatus.ERROR if item.number in error else gate
            results = (GateResult("size", status_of_gate, metric=1.0, reason="r"),)
        outcomes.append(
            ItemOutcome(
                item,
                resolution,
                results,
                PlanStatus.FAILED if item.number in error else status,
                reason="size: r" if item.number in error else "",
                error=item.number in error,
            )
        )
    return RunResult(
        manifest=manifest,
        rootdir=str(rootdir),
        gates=("size",),
        gate_titles=(("size", "Size"),),
        outcomes=tuple(outcomes),
        gate_runs=(),
        verdict=decide(manifest, outcomes, "never"),
    )


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    path = tmp_path / "PHASE7_EXECUTION_PLAN.md"
    shutil.copy(FIXTURES / "PHASE7_EXECUTION_PLAN.md", path)
    return path


def load(path: Path) -> Manifest:
    return load_manifest(path, display=path.name)


# --- the shared fixture --------------------------------------------------------------------


def test_unchanged_plan_stays_byte_identical_and_is_not_rewritten(plan: Path):
    before = plan.read_bytes()
    stamp = plan.stat().st_mtime_ns
    os.utime(plan, ns=(stamp - 10**9, stamp - 10**9))
    outcome = update_manifest(result_for(load(plan), plan.parent), today=TODAY)
    assert not outcome.written
    assert outcome.changes == ()
    assert outcome.message == "phase7: PHASE7_EXECUTION_PLAN.md: no status changed"
    assert plan.read_bytes() == before
    assert plan.stat().st_mtime_ns == stamp - 10**9  # not even replaced by the same bytes


def test_changed_status_rewrites_only_that_cell_and_last_updated(plan: Path):
    before = plan.read_text(encoding="utf-8")
    outcome = update_manifest(
        result_for(load(plan), plan.parent, {1: PlanStatus.DONE, 3: PlanStatus.IN_PROGRESS}),
        today=TODAY,
    )
    assert outcome.written
    assert [(c.item, c.before, c.after) for c in outcome.changes] == [
        (1, MANGLED_QUEUED, "\u2705 DONE"),
        (3, MANGLED_QUEUED, "\U0001f504 IN PROGRESS"),
    ]
    expected = (
        before.replace(
            f"| 1 | Agent Orchestration | adapters.py | Simple | 2h | {MANGLED_QUEUED} |",
            "| 1 | Agent Orchestration | adapters.py | Simple | 2h | \u2705 DONE |",
        )
        .replace(
            f"| 3 | Agent Orchestration | service.py | Moderate | 3h | {MANGLED_QUEUED} |",
            "| 3 | Agent Orchestration | service.py | Moderate | 3h | \U0001f504 IN PROGRESS |",
        )
        .replace("**Last Updated:** October 25, 2025", "**Last Updated:** March 5, 2026")
    )
    assert plan.read_text(encoding="utf-8") == expected
    # Read back, the plan now records what was derived; the rest of it is unchanged.
    again = load(plan)
    assert [i.status for i in again.items[:3]] == [
        PlanStatus.DONE,
        PlanStatus.QUEUED,
        PlanStatus.IN_PROGRESS,
    ]
    original = load_manifest(FIXTURES / "PHASE7_EXECUTION_PLAN.md")
    assert [replace(i, status=None) for i in again.items] == [
        replace(i, status=None) for i in original.items
    ]
    assert (again.phases, again.criteria, again.front_matter) == (
        original.phases,
        original.criteria,
        original.front_matter,
    )
    assert outcome.message == (
        "phase7: PHASE7_EXECUTION_PLAN.md: 2 statuses updated (1 \u2705 DONE, "
        "3 \U0001f504 IN PROGRESS)"
    )


def test_crlf_bom_and_mode_are_kept(plan: Path):
    original = plan.read_bytes()
    crlf = b"\xef\xbb\xbf" + original.replace(b"\n", b"\r\n")
    plan.write_bytes(crlf)
    plan.chmod(0o640)
    update_manifest(result_for(load(plan), plan.parent, {2: PlanStatus.DONE}), today=TODAY)
    after = plan.read_bytes()
    mangled = MANGLED_QUEUED.encode("utf-8")
    expected = crlf.replace(
        b"| agents.py | Moderate | 3h | " + mangled + b" |\r\n",
        "| agents.py | Moderate | 3h | \u2705 DONE |\r\n".encode(),
    ).replace(b"**Last Updated:** October 25, 2025\r\n", b"**Last Updated:** March 5, 2026\r\n")
    assert after == expected
    assert after.startswith(b"\xef\xbb\xbf")
    assert stat.S_IMODE(plan.stat().st_mode) == 0o640


def test_same_meaning_is_not_rewritten(tmp_path: Path):
    plan = tmp_path / "PLAN.md"
    plan.write_text(
        "# P\n\n### Batch 1: Unit Tests\n**Items:** 1-3\n\n"
        "| # | Module | File | Status |\n|---|---|---|---|\n"
        "| 1 | M | a.py | done |\n| 2 | M | b.py |  ✔  |\n| 3 | M | c.py | |\n"
        "\n**Last Updated:** 2025-01-02\n",
        encoding="utf-8",
    )
    manifest = load(plan)
    result = result_for(manifest, tmp_path, {1: PlanStatus.DONE, 2: PlanStatus.DONE})
    outcome = update_manifest(result, today=TODAY)
    # Items 1 and 2 already say DONE in their own words; the empty cell 3 gets QUEUED.
    assert [(c.item, c.before, c.after) for c in outcome.changes] == [(3, "", "\u23f3 QUEUED")]
    text = plan.read_text(encoding="utf-8")
    assert (
        "| 1 | M | a.py | done |\n| 2 | M | b.py |  ✔  |\n| 3 | M | c.py | \u23f3 QUEUED |" in text
    )
    assert text.endswith("**Last Updated:** 2026-03-05\n")


def test_plan_changed_since_it_was_read_is_not_touched(plan: Path):
    result = result_for(load(plan), plan.parent, {1: PlanStatus.DONE})
    edited = plan.read_text(encoding="utf-8").replace(
        f"| adapters.py | Simple | 2h | {MANGLED_QUEUED} |", "| adapters.py | Simple | 2h | WIP |"
    )
    plan.write_text(edited, encoding="utf-8")
    with pytest.raises(WriteBackError, match="the plan changed since phase7 read it"):
        update_manifest(result, today=TODAY)
    assert plan.read_text(encoding="utf-8") == edited


def test_rewrite_refuses_lines_that_vanished(plan: Path):
    result = result_for(load(plan), plan.parent, {1: PlanStatus.DONE})
    with pytest.raises(WriteBackError, match="line 30 is gone"):
        rewrite_markdown(b"# short\n", [(result.outcomes[0], PlanStatus.DONE)], TODAY, plan)


# --- when not to write ---------------------------------------------------------------------


def test_partial_and_error_only_runs_are_refused_unless_forced(plan: Path):
    manifest = load(plan)
    before = plan.read_bytes()
    changed = result_for(manifest, plan.parent, {1: PlanStatus.DONE})
    outcome = update_manifest(changed, partial="tests were selected with -k 'x'", today=TODAY)
    assert not outcome.written
    assert "the run was partial (tests were selected with -k 'x')" in outcome.message
    assert "--phase7-update-manifest-force" in outcome.message
    errors = result_for(manifest, plan.parent, gate=GateStatus.ERROR)
    assert refusal(errors) == "no gate could measure anything (every result is ERROR)"
    assert not update_manifest(errors, today=TODAY).written
    assert plan.read_bytes() == before
    forced = update_manifest(changed, partial="-k", force=True, today=TODAY)
    assert forced.written
    assert refusal(changed) == ""


def test_items_that_could_not_be_checked_keep_their_status(plan: Path):
    manifest = load(plan)
    result = result_for(manifest, plan.parent, {2: PlanStatus.DONE}, error=frozenset({1}))
    outcome = update_manifest(result, today=TODAY)
    assert [c.item for c in outcome.changes] == [2]
    assert outcome.kept == ("item 1: could not be checked (size: r)",)
    forced = update_manifest(
        result_for(load(plan), plan.parent, error=frozenset({1})), force=True, today=TODAY
    )
    assert [(c.item, c.after) for c in forced.changes] == [(1, "\u274c FAILED")]


@pytest.mark.parametrize(
    ("like", "expected"),
    [
        ("October 25, 2025", "March 5, 2026"),
        ("Oct 25, 2025", "Mar 5, 2026"),
        ("Oct. 25, 2025", "Mar. 5, 2026"),
        ("25 October 2025", "5 March 2026"),
        ("2025-10-25", "2026-03-05"),
        ("last week", "2026-03-05"),
    ],
)
def test_dates_keep_the_plans_style(like: str, expected: str):
    assert format_date(TODAY, like) == expected


# --- TOML ----------------------------------------------------------------------------------


def test_toml_status_lines_are_edited_in_place(tmp_path: Path):
    path = tmp_path / "phase7.toml"
    shutil.copy(FIXTURES / "phase7_plan.toml", path)
    before = path.read_text(encoding="utf-8")
    unchanged = update_manifest(result_for(load(path), tmp_path), today=TODAY)
    assert not unchanged.written
    assert path.read_text(encoding="utf-8") == before
    outcome = update_manifest(result_for(load(path), tmp_path, {2: PlanStatus.DONE}), today=TODAY)
    assert [(c.item, c.before, c.after) for c in outcome.changes] == [(2, "QUEUED", "DONE")]
    after = path.read_text(encoding="utf-8")
    first = before.index('status = "QUEUED"', before.index('file = "agents.py"'))
    assert after == before[:first] + 'status = "DONE"' + before[first + len('status = "QUEUED"') :]
    assert load(path).items[1].status is PlanStatus.DONE


def test_toml_status_added_when_missing_and_inline_items_skipped(tmp_path: Path):
    path = tmp_path / "pyproject.toml"
    path.write_text(
        "[project]\nname = 'x'\n\n[tool.phase7]\ntotal_items = 3\r\n\r\n"
        "[[tool.phase7.batches]]\nnumber = 1\ntitle = 'Unit Tests'\nitem_range = '1-2'\n\n"
        "[[tool.phase7.batches.items]]\nnumber = 1\nfile = 'a.py'\ngates = [\n  'size',\n]\n"
        "# about item 2\n\n"
        "[[tool.phase7.batches.items]]\n  number = 2\n  file = 'b.py'\n  status = 'QUEUED' # x\n"
        "\n[[tool.phase7.batches]]\nnumber = 2\ntitle = 'Docs'\n"
        "items = [{ number = 3, file = 'c.py' }]\n",
        encoding="utf-8",
    )
    before = path.read_text(encoding="utf-8")
    result = result_for(
        load(path), tmp_path, {1: PlanStatus.DONE, 2: PlanStatus.DONE, 3: PlanStatus.DONE}
    )
    outcome = update_manifest(result, today=TODAY)
    assert [(c.item, c.before, c.after) for c in outcome.changes] == [
        (1, "", "DONE"),
        (2, "QUEUED", "DONE"),
    ]
    assert outcome.kept == ("item 3: not in its own [[batches.items]] table",)
    after = path.read_text(encoding="utf-8")
    assert after == before.replace(
        "gates = [\n  'size',\n]\n", "gates = [\n  'size',\n]\nstatus = \"DONE\"\n"
    ).replace("status = 'QUEUED' # x", "status = 'DONE' # x")
    assert [i.status for i in load(path).items] == [PlanStatus.DONE, PlanStatus.DONE, None]


# --- through pytest ------------------------------------------------------------------------

PLAN = """# Plan

### Batch 1: Unit Tests (Critical)
**Items:** 1-2

| # | Module | File | Complexity | Est. Time | Status |
|---|--------|------|-----------|-----------|--------|
| 1 | Core | small.py | Simple | 1h | ⏳ QUEUED |
| 2 | Core | large.py | Simple | 1h | QUEUED |

**Last Updated:** 2025-01-01
"""

CONFTEST = """
from pytest_phase7.gates.base import GateResult, GateRun, GateStatus


class SizeGate:
    name = "size"
    title = "Size"
    needs_session = False

    def run(self, request):
        results = {}
        for target in request.targets:
            count = sum(len((request.rootdir / f).read_text().splitlines()) for f in target.files)
            status = GateStatus.PASS if count <= 3 else GateStatus.FAIL
            results[target.ref] = GateResult(
                "size", status, metric=count, display=str(count), threshold=3
            )
        return GateRun("size", results, tool_version="1")


def pytest_phase7_add_gates(config):
    return [SizeGate()]
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    pytester.makefile(".toml", pyproject='[tool.phase7]\nmanifest = "PLAN.md"\n')
    pytester.makefile(".md", PLAN=PLAN)
    (pytester.path / "core").mkdir()
    (pytester.path / "core" / "small.py").write_text("x = 1\n")
    (pytester.path / "core" / "large.py").write_text("a = 1\nb = 2\nc = 3\nd = 4\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_it="def test_it():\n    pass\n\ndef test_two():\n    pass\n")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(
        "--no-cov", "-p", "no:randomly", "--phase7", "--phase7-gates=size", *args
    )


def test_pytest_updates_the_plan(project: pytest.Pytester):
    result = run(project, "--phase7-update-manifest")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["phase7: PLAN.md: 1 status updated (1 \u2705 DONE)"])
    text = (project.path / "PLAN.md").read_text(encoding="utf-8")
    assert "| 1 | Core | small.py | Simple | 1h | \u2705 DONE |" in text
    assert "| 2 | Core | large.py | Simple | 1h | QUEUED |" in text
    assert f"**Last Updated:** {datetime.date.today().isoformat()}" in text
    again = run(project, "--phase7-update-manifest")
    again.stdout.fnmatch_lines(["phase7: PLAN.md: no status changed"])


def test_pytest_partial_run_does_not_update_unless_forced(project: pytest.Pytester):
    before = (project.path / "PLAN.md").read_bytes()
    result = run(project, "--phase7-update-manifest", "-k", "two")
    result.stdout.fnmatch_lines(
        ["phase7: plan not updated: the run was partial (tests were selected with -k 'two')*"]
    )
    assert (project.path / "PLAN.md").read_bytes() == before
    forced = run(project, "--phase7-update-manifest-force", "-k", "two")
    forced.stdout.fnmatch_lines(["phase7: PLAN.md: 1 status updated*"])


def test_pytest_writes_reports_and_appends_the_step_summary(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    summary = project.path / "summary.md"
    summary.write_text("earlier\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    (project.path / "out").mkdir()
    result = run(project, "--phase7-md=out/r.md", "--phase7-json=out/r.json", "-v")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["phase7: JSON report written to *r.json"])
    md = (project.path / "out" / "r.md").read_text(encoding="utf-8")
    assert "| 2 | Core | large.py | Simple | 1h | \u274c 4 (target 3) | \u23f3 QUEUED |" in md
    document = json.loads((project.path / "out" / "r.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema())
    assert document["items"][1]["results"][0]["metric"] == 4
    assert summary.read_text(encoding="utf-8") == "earlier\n\n" + md


def test_report_write_failure_is_a_usage_error(project: pytest.Pytester):
    # Found before the tests run; a write failing later is in test_faults_reports.py.
    result = run(project, "--phase7-json=missing/dir/r.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "phase7: --phase7-json=missing/dir/r.json: cannot write: no folder" in (
        result.stderr.str()
    )
