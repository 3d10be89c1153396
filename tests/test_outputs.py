"""Where reports, history and baseline may be written (:mod:`pytest_phase7.outputs`).

Nothing phase7 writes may replace the plan, a target, a configuration file or any file that is
not its own; paths from the repository's configuration stay inside the rootdir. Each refusal
leaves every file of the project as it was, and comes before the tests run.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pytest_phase7 import codeclimate, sarif
from pytest_phase7.baseline import SCHEMA_VERSION, write_baseline
from pytest_phase7.cli import EXIT_OK, EXIT_USAGE, main
from pytest_phase7.errors import ConfigError
from pytest_phase7.history import entry_to_json, snapshot
from pytest_phase7.outputs import (
    OutputKind,
    OutputRequest,
    check_outputs,
    is_own_file,
    protected_files,
)
from pytest_phase7.report import terminal_lines, to_text
from pytest_phase7.report_json import dumps, load_report
from pytest_phase7.report_md import render_markdown

GOLDEN = Path(__file__).parent / "golden"

PLAN = """# Plan

### Batch 1: Unit Tests
**Items:** 1-2

| # | Module | File | Status |
|---|--------|------|--------|
| 1 | Core | mod.py | QUEUED |
| 2 | Core | new.py | QUEUED |
"""


def digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (caches aside) and its content hash."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith((".pytest", "__pycache__")) for part in p.parts)
    }


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    pytester.makefile(".toml", pyproject='[tool.phase7]\nmanifest = "PLAN.md"\n')
    pytester.makefile(".md", PLAN=PLAN)
    (pytester.path / "core").mkdir()
    (pytester.path / "core" / "mod.py").write_text("x = 1\n")
    pytester.makepyfile(test_it="def test_it():\n    pass\n")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(
        "--no-cov", "-p", "no:randomly", "-p", "no:cacheprovider", "--phase7",
        "--phase7-gates=coverage", "--phase7-fail-on=never", *args,
    )  # fmt: skip


def set_table(project: pytest.Pytester, lines: str) -> None:
    project.makefile(".toml", pyproject=f'[tool.phase7]\nmanifest = "PLAN.md"\n{lines}\n')


# --- pytest --phase7 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "reason"),
    [
        ("--phase7-json=PLAN.md", "is the plan (PLAN.md)"),
        ("--phase7-md=PLAN.md", "is the plan (PLAN.md)"),
        ("--phase7-history=PLAN.md", "is the plan (PLAN.md)"),
        ("--phase7-md=core/mod.py", "is a target of the plan (item 1)"),
        ("--phase7-json=core/new.py", "is a Python source file"),
        ("--phase7-md=test_it.py", "is a Python source file"),
        ("--phase7-json=pyproject.toml", "is the pytest configuration file"),
        ("--phase7-md=tox.ini", "is a configuration file a run reads"),
        ("--phase7-md=core/conftest.py", "is a configuration file a run reads"),
        ("--phase7-history=.coveragerc", "is the coverage configuration file"),
        ("--phase7-history=setup.cfg", "is a configuration file a run reads"),
        ("--phase7-md=notes.txt", "is an existing file that is not a phase7 Markdown report"),
        ("--phase7-json=notes.txt", "is an existing file that is not a phase7 JSON report"),
        ("--phase7-history=notes.txt", "is an existing file that is not a phase7 history file"),
        ("--phase7-md=core", "is a folder"),
        ("--phase7-md=missing/r.md", "cannot write: no folder"),
    ],
)
def test_pytest_refuses_to_write_over_what_is_not_its_own(
    project: pytest.Pytester, arg: str, reason: str
) -> None:
    (project.path / "notes.txt").write_text("my notes\n")
    before = digest(project.path)
    result = run(project, arg)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines[0].startswith(f"ERROR: phase7: {arg}: {reason}"), result.errlines
    assert not result.outlines or "passed" not in result.outlines[-1]  # no test ran
    assert digest(project.path) == before


def test_a_baseline_update_never_replaces_the_plan(project: pytest.Pytester) -> None:
    before = digest(project.path)
    result = run(project, "--phase7-baseline=PLAN.md", "--phase7-baseline-update")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--phase7-baseline=PLAN.md: is the plan" in result.stderr.str()
    assert digest(project.path) == before


def test_two_outputs_may_not_share_a_file(project: pytest.Pytester) -> None:
    result = run(project, "--phase7-md=r.out", "--phase7-json=r.out")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--phase7-json=r.out: is also where --phase7-md=r.out writes" in result.stderr.str()
    assert not (project.path / "r.out").exists()


def test_own_files_are_replaced_and_an_empty_file_is_taken(project: pytest.Pytester) -> None:
    (project.path / "r.md").write_text("")
    args = ("--phase7-md=r.md", "--phase7-json=r.json", "--phase7-history=h.jsonl")
    assert run(project, *args).ret == 0
    assert "First recorded run" in (project.path / "r.md").read_text()
    # The second run replaces its own reports and appends to its own history.
    assert run(project, *args).ret == 0
    assert "No metric changed since the previous run" in (project.path / "r.md").read_text()
    assert len((project.path / "h.jsonl").read_text().splitlines()) == 2
    json.loads((project.path / "r.json").read_text())


def test_a_baseline_update_replaces_its_own_baseline(project: pytest.Pytester) -> None:
    assert run(project, "--phase7-baseline-update").ret == 0
    assert run(project, "--phase7-baseline-update").ret == 0
    written = json.loads((project.path / "phase7-baseline.json").read_text())
    assert written["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize(
    ("lines", "shown"),
    [
        ('md = "../outside.md"', "pyproject.toml:3: md = '../outside.md': resolves outside"),
        ('json = "/tmp/phase7-outside.json"', "pyproject.toml:3: json = '/tmp/phase7-outside"),
        ('history = "../h.jsonl"', "pyproject.toml:3: history = '../h.jsonl': resolves outside"),
        ('baseline = "../b.json"', "pyproject.toml:3: baseline = '../b.json': resolves outside"),
        ('md = "link/r.md"', "pyproject.toml:3: md = 'link/r.md': resolves outside"),
        ('md = ".git/hooks/pre-commit"', "md = '.git/hooks/pre-commit': is inside the .git folder"),
        ('md = "PLAN.md"', "pyproject.toml:3: md = 'PLAN.md': is the plan"),
    ],
)
def test_paths_from_the_repository_stay_inside_the_rootdir(
    project: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory, lines: str, shown: str
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (project.path / "link").symlink_to(outside)
    (project.path / ".git" / "hooks").mkdir(parents=True)
    set_table(project, lines)
    before = digest(project.path)
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert shown in result.stderr.str()
    assert digest(project.path) == before
    assert list(outside.iterdir()) == []
    assert not (project.path.parent / "outside.md").exists()


def test_ini_paths_and_ini_addopts_are_the_repository_s(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nphase7_md = ../outside.md\n")
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "tox.ini:2: phase7_md = ../outside.md: resolves outside the rootdir" in (
        result.stderr.str()
    )
    project.makeini("[pytest]\naddopts = --phase7-json=../outside.json\n")
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--phase7-json=../outside.json (addopts): resolves outside" in result.stderr.str()
    project.makeini("[pytest]\naddopts = -o phase7_history=../outside.jsonl\n")
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "phase7_history = ../outside.jsonl: resolves outside" in result.stderr.str()
    assert not (project.path.parent / "outside.json").exists()
    assert not (project.path.parent / "outside.jsonl").exists()


def test_the_command_line_may_write_anywhere(
    project: pytest.Pytester,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outside = tmp_path_factory.mktemp("reports")
    set_table(project, f'md = "{outside / "table.md"}"')
    result = run(
        project, f"--phase7-md={outside / 'r.md'}", "-o", f"phase7_json={outside / 'r.json'}"
    )
    assert result.ret == 0, result.stderr.str()
    assert (outside / "r.md").is_file()
    assert (outside / "r.json").is_file()
    assert not (outside / "table.md").exists()  # the command line won over the table
    monkeypatch.setenv("PYTEST_ADDOPTS", f"--phase7-history={outside / 'h.jsonl'}")
    assert run(project).ret == pytest.ExitCode.USAGE_ERROR  # the table's md is outside
    set_table(project, "")
    assert run(project).ret == 0
    assert (outside / "h.jsonl").is_file()


def test_the_step_summary_is_the_environment_s(
    project: pytest.Pytester,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary = tmp_path_factory.mktemp("runner") / "step_summary"
    summary.write_text("another step's summary\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert run(project).ret == 0
    assert summary.read_text().startswith("another step's summary\n\n<!-- phase7-report -->")


# --- the phase7 command --------------------------------------------------------------------


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["gate", "--gates", "ruff", "--md", "PLAN.md"], "--md PLAN.md: is the plan"),
        (["gate", "--gates", "ruff", "--json", "core/mod.py"], "--json core/mod.py: is a Python"),
        (["gate", "--gates", "ruff", "--md", "r.md", "--json", "r.md"], "is also where --md r.md"),
        (["baseline", "--gates", "ruff", "-o", "PLAN.md"], "-o PLAN.md: is the plan"),
        (["baseline", "--gates", "ruff", "-o", "pyproject.toml"], "is a configuration file"),
        (["report", str(GOLDEN / "example_tta.json"), "-o", "PLAN.md"], "is an existing file"),
        (["report", str(GOLDEN / "example_tta.json"), "-o", "x.py"], "is a Python source file"),
        (
            ["report", str(GOLDEN / "example_tta.json"), "--format", "md", "-o", "notes.txt"],
            "-o notes.txt: is an existing file that is not a phase7 Markdown report",
        ),
    ],
)
def test_the_command_refuses_to_write_over_what_is_not_its_own(
    project: pytest.Pytester, argv: list[str], reason: str
) -> None:
    (project.path / "notes.txt").write_text("my notes\n")
    before = digest(project.path)
    code, out = cli(*argv)
    assert code == EXIT_USAGE
    assert reason in out
    assert digest(project.path) == before


def test_the_command_keeps_table_paths_inside_the_rootdir(project: pytest.Pytester) -> None:
    set_table(project, 'md = "../outside.md"')
    code, out = cli("gate", "--gates", "ruff")
    assert code == EXIT_USAGE
    assert "pyproject.toml:3: md = '../outside.md': resolves outside the rootdir" in out
    set_table(project, 'baseline = "../b.json"')
    code, out = cli("baseline", "--from-report", str(GOLDEN / "example_tta.json"))
    assert code == EXIT_USAGE
    assert "baseline = '../b.json': resolves outside the rootdir" in out
    assert not (project.path.parent / "outside.md").exists()
    assert not (project.path.parent / "b.json").exists()


def test_the_command_replaces_its_own_files(
    project: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("anywhere")
    report = str(GOLDEN / "example_tta.json")
    for fmt in ("md", "json", "term"):
        target = str(outside / f"r.{fmt}")
        assert cli("report", report, "--format", fmt, "-o", target)[0] == EXIT_OK
        assert cli("report", report, "--format", fmt, "-o", target) == (EXIT_OK, "")
    assert cli("baseline", "--from-report", report, "-o", str(outside / "b.json"))[0] == EXIT_OK
    assert cli("baseline", "--from-report", report, "-o", str(outside / "b.json"))[0] == EXIT_OK
    # One kind is not another: a JSON report is no Markdown report, a baseline no JSON report.
    code, out = cli("report", report, "--format", "md", "-o", str(outside / "r.json"))
    assert code == EXIT_USAGE
    assert "is an existing file that is not a phase7 Markdown report" in out


# --- the policy itself ---------------------------------------------------------------------


def request(value: str, kind: OutputKind, base: Path, *, repo: bool = False) -> OutputRequest:
    return OutputRequest(value, kind, f"--x={value}", base, repo)


def test_every_file_phase7_writes_is_recognised_as_its_own(tmp_path: Path) -> None:
    data = load_report(GOLDEN / "example_tta.json")
    history_line = entry_to_json(snapshot(data.result, datetime.now(timezone.utc), None))
    written = {
        OutputKind.MARKDOWN: render_markdown(data),
        OutputKind.JSON: dumps(data),
        OutputKind.TEXT: to_text(terminal_lines(data)),
        OutputKind.HISTORY: history_line + "\n" + history_line + "\n",
        OutputKind.PLAN: PLAN,
        OutputKind.SARIF: sarif.dumps(data.result),
        OutputKind.CODE_QUALITY: codeclimate.dumps(data.result),
    }
    for kind, text in written.items():
        (tmp_path / kind.name).write_text(text, encoding="utf-8")
    write_baseline(tmp_path / "BASELINE", {"src/m.py": {"coverage": 50.0}})
    for kind in OutputKind:
        for other in OutputKind:
            assert is_own_file(tmp_path / other.name, kind) is (kind is other), (kind, other)


def test_nothing_else_is_taken_for_phase7_s_own(tmp_path: Path) -> None:
    samples = {
        "plan.md": PLAN,
        "config.json": '{"schema_version": 1, "name": "other tool"}\n',
        "events.jsonl": '{"event": "format", "format": 1}\n',
        "readme.md": "# Read me\n\n<!-- phase7-report -->\n",
        "log.txt": "a log\nphase7: somewhere in the middle\nthe end\n",
    }
    for name, text in samples.items():
        (tmp_path / name).write_text(text)
        kinds = [k for k in OutputKind if is_own_file(tmp_path / name, k)]
        assert kinds == ([OutputKind.PLAN] if name == "plan.md" else []), name
    assert not is_own_file(tmp_path / "absent", OutputKind.JSON)


def test_a_fifo_or_device_is_never_an_output(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "fifo")
    for value in (str(tmp_path / "fifo"), "/dev/null"):
        with pytest.raises(ConfigError, match="is not a regular file"):
            check_outputs([request(value, OutputKind.HISTORY, tmp_path)], tmp_path)


def test_a_read_only_baseline_is_only_confined(tmp_path: Path) -> None:
    plan = tmp_path / "PLAN.md"
    plan.write_text(PLAN)
    reading = OutputRequest("PLAN.md", OutputKind.BASELINE, "b", tmp_path, True, writes=False)
    protected = protected_files(tmp_path, "PLAN.md")
    assert check_outputs([reading], tmp_path, protected) == [plan]
    outside = OutputRequest("../b.json", OutputKind.BASELINE, "b", tmp_path, True, writes=False)
    with pytest.raises(ConfigError, match="resolves outside the rootdir"):
        check_outputs([outside], tmp_path, protected)


def test_unresolvable_paths_are_refused_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    for value in ("bad\0name", "loop/r.md"):
        with pytest.raises(ConfigError, match=r"--x=.*: (cannot be used|cannot write)"):
            check_outputs([request(value, OutputKind.MARKDOWN, tmp_path)], tmp_path)


def test_a_plan_outside_the_rootdir_is_written_back_only_on_the_user_s_say_so(
    project: pytest.Pytester,
) -> None:
    # The repository names a plan outside the rootdir: read, but never written back.
    outer = project.path.parent / f"{project.path.name}-PLAN.md"
    outer.write_text(PLAN)
    project.makefile(
        ".toml",
        pyproject=f'[tool.phase7]\nmanifest = "../{outer.name}"\nupdate_manifest = true\n',
    )
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"pyproject.toml:2: manifest = '../{outer.name}': resolves outside" in (
        result.stderr.str()
    )
    code, out = cli("gate", "--gates", "ruff")
    assert code == EXIT_USAGE
    assert "resolves outside the rootdir" in out
    assert outer.read_text() == PLAN
    # Read only, it is fine; named on the command line, it is updated.
    project.makefile(".toml", pyproject=f'[tool.phase7]\nmanifest = "../{outer.name}"\n')
    assert run(project).ret == 0
    given = f"--phase7-manifest=../{outer.name}"
    assert run(project, given, "--phase7-update-manifest-force").ret == 0
    assert outer.read_text() != PLAN
