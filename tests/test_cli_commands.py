"""``phase7 gate``, ``report`` and ``baseline``, in-process (pytest itself runs in subprocesses).

``phase7 gate`` must give the same result as ``pytest --phase7`` on the same coverage data: the
sharded-CI path (shards run the tests, ``coverage combine``, one ``phase7 gate``) may not disagree
with a single run.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_phase7.cli import (
    BASELINE_SETTINGS,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    GATE_SETTINGS,
    INIT_SETTINGS,
    OLD_FORCE_FLAG,
    build_parser,
    main,
)
from pytest_phase7.cli import _settings as cli_settings
from pytest_phase7.report_json import schema
from pytest_phase7.settings import OPTIONS, option, resolve

GOLDEN = Path(__file__).parent / "golden"

PLAN = """# Plan

### Batch 1: Unit Tests (Critical)
**Items:** 1-3
**Priority:** CRITICAL

| # | Module | File | Complexity | Est. Time | Status |
|---|--------|------|-----------|-----------|--------|
| 1 | Core | good.py | Simple | 1h | QUEUED |
| 2 | Core | half.py | Simple | 1h | QUEUED |
| 3 | Core | unused.py | Simple | 2h | QUEUED |

**Last Updated:** 2025-01-01
"""

GOOD = '"""Good."""\n\n\ndef add(a: int, b: int) -> int:\n    """Add."""\n    return a + b\n'
HALF = (
    '"""Half."""\n\n\ndef sign(x: int) -> str:\n    """Sign."""\n    if x > 0:\n'
    '        return "+"\n    if x < 0:\n        return "-"\n    return "0"\n'
)
UNUSED = '"""Unused."""\nimport os\n\n\ndef nothing() -> None:\n    """Nothing."""\n'
TESTS = (
    "from core.good import add\nfrom core.half import sign\n\n\n"
    "def test_add():\n    assert add(1, 2) == 3\n\n\ndef test_sign():\n    assert sign(1) == '+'\n"
)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    pytester.makefile(
        ".toml",
        pyproject='[tool.pytest.ini_options]\npythonpath = ["src"]\n\n'
        '[tool.phase7]\nmanifest = "PLAN.md"\n\n[tool.coverage.run]\nbranch = true\n',
    )
    pytester.makefile(".md", PLAN=PLAN)
    src = pytester.path / "src" / "core"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "good.py").write_text(GOOD)
    (src / "half.py").write_text(HALF)
    (src / "unused.py").write_text(UNUSED)
    pytester.makepyfile(test_core=TESTS)
    return pytester.path


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def without_timings(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: without_timings(v) for k, v in document.items() if k != "seconds"}
    if isinstance(document, list):
        return [without_timings(v) for v in document]
    return document


@pytest.mark.slow
def test_gate_gives_the_same_result_as_pytest_on_the_same_data(
    pytester: pytest.Pytester, project: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("COLUMNS", "120")  # both lay the table out for the same terminal
    ran = pytester.runpytest_subprocess(
        "--phase7",
        "--phase7-gates=coverage,ruff",
        "-p",
        "no:cacheprovider",
        "--phase7-json=pytest.json",
        "--phase7-md=pytest.md",
    )
    ran.assert_outcomes(passed=2)
    code, out = run(
        "gate",
        "--rootdir",
        str(project),
        "--coverage-file",
        str(project / ".coverage"),
        "--gates",
        "coverage,ruff",
        "--json",
        "gate.json",
        "--md",
        "gate.md",
    )
    assert code == EXIT_OK, out
    from_pytest = json.loads((project / "pytest.json").read_text(encoding="utf-8"))
    from_gate = json.loads((project / "gate.json").read_text(encoding="utf-8"))
    # Only pytest knows which suite the coverage came from; a data file does not say.
    suite = "coverage from the whole suite: every test under the rootdir (no testpaths)"
    assert from_pytest.pop("suite")["complete"] is True
    assert from_gate.pop("suite") is None
    assert without_timings(from_gate) == without_timings(from_pytest)
    jsonschema.validate(from_gate, schema())
    jsonschema.validate(from_pytest, schema())
    timing = re.compile(r"\(\d+\.\d\d s\)")
    pytest_md = timing.sub("", (project / "pytest.md").read_text(encoding="utf-8"))
    assert f"\n{suite[0].upper()}{suite[1:]}.\n" in pytest_md
    assert timing.sub("", (project / "gate.md").read_text(encoding="utf-8")) == pytest_md.replace(
        f"{suite[0].upper()}{suite[1:]}.\n\n", ""
    )
    # The same table as the pytest run printed, line for line.
    lines = ran.stdout.lines
    start = lines.index(next(line for line in lines if "Phase 7 status" in line))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("phase7: "))
    assert out.splitlines() == [line for line in lines[start + 1 : end + 1] if line != suite]
    assert "1  Core    good.py" in out
    assert from_gate["items"][2]["results"][0]["metric"] == 0.0  # never imported: 0%


def gate_results(project: Path, name: str) -> dict[str, dict[str, Any]]:
    """Per gate, the results of item 2 (half.py) in a JSON report."""
    document = json.loads((project / name).read_text(encoding="utf-8"))
    return {r["gate"]: r for r in document["items"][1]["results"]}


@pytest.mark.slow
def test_gate_shares_pytests_cache(pytester: pytest.Pytester, project: Path):
    ran = pytester.runpytest_subprocess(
        "--phase7", "--phase7-gates=coverage,ruff", "--phase7-json=pytest.json"
    )
    ran.assert_outcomes(passed=2)
    # Run as pytest ran (pytester puts the project on PYTHONPATH, which keys mypy and ruff).
    phase7 = str(Path(sys.executable).parent / "phase7")
    common = [phase7, "gate", "--gates", "coverage,ruff"]
    assert pytester.run(*common, "--json", "warm.json").ret == EXIT_OK
    warm = gate_results(project, "warm.json")
    assert warm["ruff"]["cached"]  # what pytest --phase7 cached, in pytest's own folder
    assert pytester.run(*common, "--no-cache", "--json", "cold.json").ret == EXIT_OK
    cold = gate_results(project, "cold.json")
    assert not cold["ruff"]["cached"]
    from_pytest = gate_results(project, "pytest.json")
    for results in (warm, cold):
        assert results["coverage"]["metric"] == from_pytest["coverage"]["metric"]
        assert results["ruff"]["metric"] == from_pytest["ruff"]["metric"]


def test_gate_makes_a_cache_folder_as_pytest_would_and_reuses_it(project: Path):
    common = ["gate", "--rootdir", str(project), "--gates", "ruff", "--coverage-file", "x"]
    assert not (project / ".pytest_cache").exists()
    run(*common, "--json", "first.json")
    cache = project / ".pytest_cache"
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (cache / "CACHEDIR.TAG").read_bytes().startswith(b"Signature: 8a477f597d28d172789f06")
    assert (cache / "v" / "phase7" / "gates" / "ruff").is_file()
    run(*common, "--json", "second.json")
    assert not gate_results(project, "first.json")["ruff"]["cached"]
    assert gate_results(project, "second.json")["ruff"]["cached"]
    elsewhere = project / "elsewhere"
    run(*common, "--cache-dir", str(elsewhere), "--json", "third.json")
    assert not gate_results(project, "third.json")["ruff"]["cached"]
    assert (elsewhere / "v" / "phase7" / "gates" / "ruff").is_file()


def test_a_cache_that_cannot_be_written_costs_the_cache_only(
    project: Path, capsys: pytest.CaptureFixture[str]
):
    blocker = project / "not-a-folder"
    blocker.write_text("a file where the cache folder would go\n")
    common = ["gate", "--rootdir", str(project), "--gates", "ruff", "--coverage-file", "x"]
    code, out = run(*common, "--cache-dir", str(blocker), "--json", "blocked.json")
    warning = capsys.readouterr().err
    assert warning.startswith(f"phase7: warning: cannot write the cache in {blocker}: ")
    assert warning.count("\n") == 1  # one line, however many values failed
    uncached_code, uncached_out = run(*common, "--no-cache", "--json", "uncached.json")
    # Exactly what a run without a cache reports: the figures, the table, the exit code.
    assert (code, out) == (uncached_code, uncached_out)
    blocked, uncached = (
        without_timings(json.loads((project / name).read_text(encoding="utf-8")))
        for name in ("blocked.json", "uncached.json")
    )
    assert blocked == uncached
    assert blocker.read_text() == "a file where the cache folder would go\n"


def test_cache_keys_stay_inside_the_folder(tmp_path: Path):
    from pytest_phase7.cachedir import CacheDirStore

    store = CacheDirStore(tmp_path / "cache")
    store.set("phase7/a", {"x": [1, "é"]})
    assert store.get("phase7/a", None) == {"x": [1, "é"]}
    assert store.get("phase7/missing", "default") == "default"
    (tmp_path / "cache" / "v" / "phase7" / "torn").write_text("{not json")
    assert store.get("phase7/torn", "default") == "default"
    for key in ("../outside", "phase7/../../x", "/abs", "a//b"):
        with pytest.raises(ValueError, match="would leave the cache folder"):
            store.set(key, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


@pytest.mark.slow
def test_gate_updates_the_plan_and_appends_the_step_summary(
    pytester: pytest.Pytester, project: Path, monkeypatch: pytest.MonkeyPatch
):
    pytester.runpytest_subprocess("--phase7", "--phase7-gates=coverage", "-p", "no:cacheprovider")
    summary = project / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out = run("gate", "--rootdir", str(project), "--gates", "coverage", "--update-manifest")
    assert code == EXIT_OK
    # half.py is partly covered: with no starting point, above zero is progress.
    assert "phase7: PLAN.md: 2 statuses updated (1 \u2705 DONE, 2 \U0001f504 IN PROGRESS)" in out
    assert "| 1 | Core | good.py | Simple | 1h | \u2705 DONE |" in (project / "PLAN.md").read_text()
    assert "<!-- phase7-report -->" in summary.read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", ["", "step_summary = false\n"])
def test_gate_appends_the_step_summary_unless_the_project_says_no(
    project: Path, monkeypatch: pytest.MonkeyPatch, setting: str
):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("[tool.phase7]\n", "[tool.phase7]\n" + setting)
    )
    summary = project / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out = run("gate", "--rootdir", str(project), "--gates", "ruff", "--coverage-file", "x")
    assert code == EXIT_OK, out
    assert summary.exists() is (setting == "")


def test_gate_blocked_is_exit_1_and_static_gates_need_no_coverage(project: Path):
    # Only ruff: no coverage data is needed (the file named does not exist).
    code, out = run("gate", "--rootdir", str(project), "--gates", "ruff", "--coverage-file", "x")
    assert code == EXIT_OK, out
    assert out.splitlines()[-2].split() == ["3", "Core", "unused.py", "core/", "1", "✗", "QUEUED"]
    assert out.splitlines()[-1] == "phase7: OK (fail-on=regression): 2 DONE, 1 QUEUED"
    code, out = run(
        "gate", "--rootdir", str(project), "--gates", "ruff", "--fail-on", "incomplete", "-q"
    )
    assert code == EXIT_PROBLEMS
    assert out.splitlines()[-1] == (
        "phase7: merge BLOCKED (fail-on=incomplete): 1 item is not DONE (#3)"
    )
    assert not any(line.startswith("1  ") for line in out.splitlines())  # -q: DONE hidden


@pytest.mark.slow
def test_gate_reads_the_targets_table_and_prints_the_fix_lines(project: Path):
    # As pytest --phase7 does: [tool.phase7.targets] applies, and an ambiguous item gets its fix.
    (project / "src" / "core" / "old").mkdir()
    (project / "src" / "core" / "old" / "half.py").write_text(HALF)
    code, out = run("gate", "--rootdir", str(project), "--gates", "ruff", "--coverage-file", "x")
    assert code == EXIT_PROBLEMS
    lines = out.splitlines()
    fix = lines.index("to choose each target, add to pyproject.toml (keep the right path):")
    assert lines[fix + 1 : fix + 3] == [
        "  [tool.phase7.targets]",
        '  2 = "src/core/half.py"  # or src/core/old/half.py',
    ]
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.phase7.targets]\n2 = "src/core/half.py"\n'
    )
    code, out = run("gate", "--rootdir", str(project), "--gates", "ruff", "--coverage-file", "x")
    assert code == EXIT_OK, out
    assert "to choose each target" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--coverage-file", "nope/.coverage"], "coverage data file not found: nope/.coverage"),
        (["--manifest", "MISSING.md"], "MISSING.md: manifest file not found"),
        (["--gates", "nope"], "unknown gate(s) nope"),
    ],
)
def test_gate_usage_errors_exit_2(project: Path, args: list[str], message: str):
    code, out = run("gate", "--rootdir", str(project), *args)
    assert code == EXIT_USAGE
    assert message in out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-on", "sometimes"], "argument --fail-on: invalid choice: 'sometimes'"),
        (["--coverage-min", "150"], "argument --coverage-min: 150 is not a percentage"),
        (["--gates="], "argument --gates: expected at least one gate name"),
        (["--step-summary", "maybe"], "argument --step-summary: expected true or false"),
    ],
)
def test_gate_bad_setting_flags_are_argparse_usage_errors(
    project: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
):
    # The option table's parser is the flag's argparse type: the error names the gate's own
    # flag (not the pytest one) and comes before any file is read.
    with pytest.raises(SystemExit) as info:
        run("gate", "--rootdir", str(project), *args)
    assert info.value.code == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_gate_corrupt_coverage_data_is_a_usage_error(project: Path):
    (project / ".coverage").write_text("not a database")
    code, out = run(
        "gate", "--rootdir", str(project), "--coverage-file", str(project / ".coverage")
    )
    assert code == EXIT_USAGE
    assert "cannot read coverage data" in out


def test_gate_rootdir_must_exist(tmp_path: Path):
    code, out = run("gate", "--rootdir", str(tmp_path / "nope"))
    assert code == EXIT_USAGE
    assert "is not a folder" in out


# --- report --------------------------------------------------------------------------------


def test_report_rerenders_a_saved_result(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "100")
    golden = str(GOLDEN / "example_tta.json")
    code, out = run("report", golden, "--format", "md")
    assert code == EXIT_OK
    assert out == (GOLDEN / "example_tta.md").read_text(encoding="utf-8")
    code, out = run("report", golden, "--format", "term", "-v", "--color", "no")
    assert out == (GOLDEN / "example_tta.txt").read_text(encoding="utf-8")
    code, out = run("report", golden, "--format", "json")
    assert out == (GOLDEN / "example_tta.json").read_text(encoding="utf-8")
    code, out = run("report", golden, "--color", "yes")
    assert "\x1b[" in out


@pytest.mark.parametrize("columns", [80, 200])
def test_report_term_uses_the_terminals_width(monkeypatch: pytest.MonkeyPatch, columns: int):
    monkeypatch.setenv("COLUMNS", str(columns))
    code, out = run("report", str(GOLDEN / "example_tta.json"), "--format", "term")
    assert code == EXIT_OK
    assert out == (GOLDEN / f"example_tta.{columns}.txt").read_text(encoding="utf-8")


def test_report_to_a_file_and_size_limit(tmp_path: Path):
    target = tmp_path / "comment.md"
    code, out = run(
        "report",
        str(GOLDEN / "example_tta.json"),
        "--format",
        "md",
        "--max-chars",
        "3000",
        "-o",
        str(target),
    )
    assert code == EXIT_OK
    assert out == ""
    text = target.read_text(encoding="utf-8")
    assert len(text) <= 3000
    assert "this report leaves out" in text
    code, out = run("report", str(GOLDEN / "example_tta.json"), "-o", str(tmp_path / "no" / "x"))
    assert code == EXIT_USAGE
    assert "cannot write" in out


def test_report_of_a_bad_file_exits_2(tmp_path: Path):
    bad = tmp_path / "r.json"
    bad.write_text('{"schema_version": 2}')
    err = io.StringIO()
    code = main(["report", str(bad)], out=io.StringIO(), err=err)
    assert code == EXIT_USAGE
    assert "schema_version 2 is not supported" in err.getvalue()


# --- baseline ------------------------------------------------------------------------------


def test_baseline_from_a_saved_report_merges(tmp_path: Path):
    target = tmp_path / "base.json"
    target.write_text(
        json.dumps({"schema_version": 1, "metrics": {"gone.py": {"coverage": 1.0}}}),
        encoding="utf-8",
    )
    code, out = run(
        "baseline",
        "--rootdir",
        str(tmp_path),
        "--from-report",
        str(GOLDEN / "example_tta.json"),
        "-o",
        str(target),
    )
    assert code == EXIT_OK
    assert out == f"phase7: baseline written to {target} (8 targets; 0 floors raised)\n"
    metrics = json.loads(target.read_text(encoding="utf-8"))["metrics"]
    assert metrics["gone.py"] == {"coverage": 1.0}
    assert metrics["src/tta/player_experience/auth.py"]["ruff"] == 2.0


def test_baseline_by_running_the_gates_to_the_default_path(project: Path):
    code, out = run("baseline", "--rootdir", str(project), "--gates", "ruff")
    assert code == EXIT_OK, out
    written = json.loads((project / "phase7-baseline.json").read_text(encoding="utf-8"))
    assert written["metrics"]["src/core/unused.py"] == {"ruff": 1.0}


def test_baseline_configured_path_and_write_failure(project: Path):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'manifest = "PLAN.md"\n', 'manifest = "PLAN.md"\nbaseline = "qa/base.json"\n'
        )
    )
    code, out = run(
        "baseline", "--rootdir", str(project), "--from-report", str(GOLDEN / "example_tta.json")
    )
    assert code == EXIT_USAGE
    assert "pyproject.toml:6: baseline = 'qa/base.json': cannot write: no folder" in out
    (project / "qa").mkdir()
    code, out = run(
        "baseline", "--rootdir", str(project), "--from-report", str(GOLDEN / "example_tta.json")
    )
    assert code == EXIT_OK
    assert (project / "qa" / "base.json").is_file()


@pytest.mark.parametrize("command", ["validate", "gate", "report", "baseline"])
def test_every_command_documents_the_exit_codes(command: str, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "0  success" in text
    assert "1  problems found" in text
    assert "2  usage error" in text


#: A command-line value for each setting flag of the phase7 subcommands, and what it resolves to.
FLAG_VALUES: dict[str, tuple[str, object]] = {
    "manifest": ("OTHER.md", "OTHER.md"),
    "gates": ("ruff,mypy", ("ruff", "mypy")),
    "coverage_min": ("85", 85.0),
    "branch_min": ("60", 60.0),
    "ruff_max": ("3", 3),
    "mypy_max": ("4", 4),
    "docstrings_min": ("90", 90.0),
    "ruff_args": ("--select E", ("--select", "E")),
    "mypy_args": ("--strict", ("--strict",)),
    "interrogate_args": ("-v", ("-v",)),
    "timeout": ("30", 30.0),
    "fail_on": ("Never", "never"),
    "baseline": ("b.json", "b.json"),
    "md": ("r.md", "r.md"),
    "json": ("r.json", "r.json"),
    "step_summary": ("false", False),
}


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (command, name)
        for command, names in (
            ("gate", GATE_SETTINGS),
            ("baseline", BASELINE_SETTINGS),
            ("init", INIT_SETTINGS),
        )
        for name in names
    ],
)
def test_every_setting_flag_overrides_the_table(tmp_path: Path, command: str, name: str):
    setting = option(name)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.phase7]\nstep_summary = true\nfail_on = 'incomplete'\ncoverage_min = 10\n"
    )
    if setting.flag:
        argv, expected = [setting.command_flag], True
    else:
        text, expected = FLAG_VALUES[name]
        argv = [f"{setting.command_flag}={text}"]
    args = build_parser().parse_args([command, "--rootdir", str(tmp_path), *argv])
    settings = cli_settings(args, tmp_path)[0]
    assert getattr(settings, name) == expected
    others = resolve({}, {}, {"step_summary": True, "fail_on": "incomplete", "coverage_min": 10})
    for other in OPTIONS:
        if other.name != name:
            assert getattr(settings, other.name) == getattr(others, other.name), other.name


def test_gate_force_is_the_old_spelling_of_update_manifest_force(tmp_path: Path):
    for flag in ("--update-manifest-force", OLD_FORCE_FLAG):
        args = build_parser().parse_args(["gate", "--rootdir", str(tmp_path), flag])
        settings = cli_settings(args, tmp_path)[0]
        assert settings.update_manifest_force is True, flag
        assert settings.update_manifest is False, flag
    # init's --force keeps its own meaning: overwrite an existing plan.
    args = build_parser().parse_args(["init", "--force"])
    assert args.force is True
    assert not hasattr(args, "update_manifest_force")
