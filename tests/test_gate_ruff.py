"""The ruff gate against the real ruff on small projects, and its ERROR paths with fakes."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from deterministic import SteppingClock
from gate_helpers import file_target, write

from pytest_phase7.gates import ruff as ruff_module
from pytest_phase7.gates.base import GateRequest, GateRun, GateStatus
from pytest_phase7.gates.ruff import RuffGate, parse_ruff_json, ruff_binary
from pytest_phase7.gates.tools import BACKGROUND_NICENESS, run_tool
from pytest_phase7.resolve.targets import Target, TargetKind
from pytest_phase7.settings import Settings

PYPROJECT = """\
[project]
name = "demo"
requires-python = ">=3.10"

[tool.ruff]
fix = true
line-length = 60

[tool.ruff.lint]
select = ["F", "I", "E"]
ignore = ["E501"]
"""

CLEAN = '"""Clean."""\n\nVALUE = 1\n'
DIRTY = (
    "import sys\nimport os\n\n"
    "LONG = 'this line is much longer than the sixty characters that the config allows'\n"
    "x = undefined_name\n"
)


def run_gate(root: Path, *targets: Target, **settings: object) -> GateRun:
    return RuffGate().run(GateRequest(root, tuple(targets), Settings(**settings)))  # type: ignore[arg-type]


def ruff_itself(root: Path, *files: str) -> list[dict[str, object]]:
    """What ruff says when run by hand on the same files (with --no-fix so nothing changes)."""
    binary = ruff_binary()
    assert binary is not None
    out = run_tool([binary, "check", "--output-format", "json", "--no-fix", *files], root, 60)
    assert out.returncode in (0, 1), out.stderr
    records = json.loads(out.stdout)
    assert isinstance(records, list)
    return records


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(
        tmp_path,
        {
            "pyproject.toml": PYPROJECT,
            "clean.py": CLEAN,
            "dirty.py": DIRTY,
            "pkg/__init__.py": "import json\n",
            "pkg/mod.py": "import os\n",
        },
    )
    return tmp_path


def test_ruff_runs_at_background_priority(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Quick, and wanted after the tests: ruff takes no CPU from the tests and mypy.
    nicenesses: list[int] = []

    def recording(argv: list[str], *args: object, niceness: int = 0, **kwargs: object) -> object:
        nicenesses.append(niceness)
        return run_tool(argv, *args, niceness=niceness, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ruff_module, "run_tool", recording)
    run = run_gate(project, file_target("clean.py"))
    assert run.results["clean.py"].status is GateStatus.PASS
    assert nicenesses == [BACKGROUND_NICENESS] * 3  # --version, --show-files, check


@pytest.mark.slow
def test_clean_passes_and_dirty_fails_with_ruffs_own_count(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SteppingClock(2.5)
    monkeypatch.setattr(ruff_module, "time", clock)
    run = run_gate(project, file_target("clean.py"), file_target("dirty.py"))
    clean, dirty = run.results["clean.py"], run.results["dirty.py"]
    assert clean.status is GateStatus.PASS
    assert (clean.metric, clean.display, clean.threshold) == (0.0, "0", 0.0)
    own = ruff_itself(project, "dirty.py")
    assert len(own) == 4  # I001, two F401, F821: E501 is ignored by the project
    assert dirty.status is GateStatus.FAIL
    assert dirty.metric == len(own)
    assert dirty.display == str(len(own))
    assert sorted(d.split()[1] for d in dirty.details) == sorted(str(r["code"]) for r in own)
    assert "dirty.py:5:5 F821 Undefined name `undefined_name`" in dirty.details
    assert run.tool_version
    assert (run.seconds, clock.readings) == (2.5, 2)  # the gate's own time, start to end


@pytest.mark.slow
def test_project_ignore_is_honoured(project: Path) -> None:
    dirty = run_gate(project, file_target("dirty.py")).results["dirty.py"]
    assert not any(" E501 " in line for line in dirty.details)
    (project / "pyproject.toml").write_text(PYPROJECT.replace('ignore = ["E501"]', "ignore = []"))
    again = run_gate(project, file_target("dirty.py")).results["dirty.py"]
    assert again.metric == dirty.metric + 1 == len(ruff_itself(project, "dirty.py"))


@pytest.mark.slow
def test_fix_true_in_the_project_config_never_changes_files(project: Path) -> None:
    before = (project / "dirty.py").read_bytes()
    run_gate(project, file_target("dirty.py"))
    assert (project / "dirty.py").read_bytes() == before


@pytest.mark.parametrize("args", [("-oout.txt",), ("-o", "out.txt"), ("--output-file=x",)])
def test_output_file_in_ruff_args_is_refused_however_written(
    project: Path, args: tuple[str, ...]
) -> None:
    # ruff takes a short option's value glued on (-oout.txt), as mypy does (-Ojson).
    run = run_gate(project, file_target("dirty.py"), ruff_args=args)
    result = run.results["dirty.py"]
    assert result.status is GateStatus.ERROR
    assert "may not contain -o" in result.reason or "--output-file" in result.reason
    assert not (project / "out.txt").exists()


@pytest.mark.slow
def test_fix_in_ruff_args_is_refused(project: Path) -> None:
    before = (project / "dirty.py").read_bytes()
    run = run_gate(project, file_target("dirty.py"), ruff_args=("--fix",))
    result = run.results["dirty.py"]
    assert result.status is GateStatus.ERROR
    assert "--fix" in result.reason
    assert (project / "dirty.py").read_bytes() == before


@pytest.mark.slow
def test_ruff_args_and_max_are_applied(project: Path) -> None:
    run = run_gate(project, file_target("dirty.py"), ruff_args=("--select", "F401"), ruff_max=2)
    result = run.results["dirty.py"]
    assert (result.status, result.metric, result.threshold) == (GateStatus.PASS, 2.0, 2.0)


@pytest.mark.slow
def test_package_target_sums_its_files(project: Path) -> None:
    pkg = Target(TargetKind.PACKAGE, "pkg/", ("pkg/__init__.py", "pkg/mod.py"))
    result = run_gate(project, pkg, file_target("pkg/mod.py")).results
    own = ruff_itself(project, "pkg/__init__.py", "pkg/mod.py")
    assert result["pkg/"].metric == len(own) == 2
    assert result["pkg/mod.py"].metric == 1
    assert {d.split(":")[0] for d in result["pkg/"].details} == {"pkg/__init__.py", "pkg/mod.py"}


@pytest.mark.slow
def test_syntax_errors_count_like_ruff_counts_them(project: Path) -> None:
    write(project, {"broken.py": "def f(:\n    pass\n"})
    result = run_gate(project, file_target("broken.py")).results["broken.py"]
    assert result.status is GateStatus.FAIL
    assert result.metric == len(ruff_itself(project, "broken.py")) >= 1


@pytest.mark.slow
def test_file_excluded_by_force_exclude_is_an_error_not_a_pass(project: Path) -> None:
    write(project, {"vendored/lib.py": "import os\n"})
    extra = 'fix = true\nforce-exclude = true\nextend-exclude = ["vendored"]'
    text = PYPROJECT.replace("fix = true", extra)
    (project / "pyproject.toml").write_text(text)
    assert ruff_itself(project, "vendored/lib.py") == []  # ruff itself silently says nothing
    run = run_gate(project, file_target("vendored/lib.py"), file_target("dirty.py"))
    assert run.results["vendored/lib.py"].status is GateStatus.ERROR
    assert "excludes vendored/lib.py" in run.results["vendored/lib.py"].reason
    assert run.results["dirty.py"].status is GateStatus.FAIL


@pytest.mark.slow
def test_missing_file_is_an_error_for_its_target_only(project: Path) -> None:
    run = run_gate(project, file_target("gone.py"), file_target("clean.py"))
    assert run.results["gone.py"].status is GateStatus.ERROR
    assert "gone.py does not exist" in run.results["gone.py"].reason
    assert run.results["clean.py"].status is GateStatus.PASS


@pytest.mark.slow
def test_broken_ruff_config_is_an_error(project: Path) -> None:
    broken = PYPROJECT + "\n[tool.ruff.lint.isort]\nno-such-option = 1\n"
    (project / "pyproject.toml").write_text(broken)
    run = run_gate(project, file_target("clean.py"))
    result = run.results["clean.py"]
    assert result.status is GateStatus.ERROR
    assert result.reason.startswith("ruff failed (exit 2)")


# --- ERROR paths with a missing or fake ruff -------------------------------------------------

FAKE_HEAD = """
args = sys.argv[1:]
if args == ["--version"]:
    print("ruff 9.9.9")
    sys.exit(0)
files = args[args.index("--") + 1:]
if "--show-files" in args:
    for f in files:
        print(os.path.abspath(f))
    sys.exit(0)
"""


def fake_ruff(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    body: str,
    name: str = "ruff",
) -> Path:
    path = tmp_path / "bin" / name
    path.parent.mkdir(exist_ok=True)
    head = f"#!{sys.executable}\nimport json, os, subprocess, sys, time\n"
    path.write_text(f"{head}{FAKE_HEAD}{body}\n")
    path.chmod(0o755)
    monkeypatch.setattr(ruff_module, "ruff_binary", lambda: str(path))
    return path


def test_ruff_not_installed(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ruff_module, "ruff_binary", lambda: None)
    run = run_gate(project, file_target("clean.py"), file_target("dirty.py"))
    for result in run.results.values():
        assert result.status is GateStatus.ERROR
        assert result.reason == "ruff is not installed"
        assert "pip install ruff" in result.hint


def test_ruff_binary_that_does_not_exist(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ruff_module, "ruff_binary", lambda: str(project / "no-ruff"))
    result = run_gate(project, file_target("clean.py")).results["clean.py"]
    assert result.status is GateStatus.ERROR
    assert "ruff is not installed or cannot run" in result.reason
    assert "pip install ruff" in result.hint


def test_ruff_binary_falls_back_to_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "ruff"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setitem(sys.modules, "ruff", None)  # the package is not importable
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ruff_binary() == str(fake)


def test_ruff_crashing_is_an_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ruff(
        project,
        monkeypatch,
        'print("ruff failed", file=sys.stderr)\n'
        'print("  Cause: something broke", file=sys.stderr)\nsys.exit(2)',
    )
    run = run_gate(project, file_target("clean.py"), file_target("dirty.py"))
    assert run.tool_version == "9.9.9"
    for result in run.results.values():
        assert result.status is GateStatus.ERROR
        assert result.reason == "ruff failed (exit 2): something broke"


@pytest.mark.parametrize(
    ("stdout", "why"),
    [
        ("dirty.py:1:1: F401 `sys` imported but unused", "not JSON"),
        ('{"filename": "x"}', "expected a JSON list"),
        ('[{"filename": "dirty.py", "code": "F401"}]', "lacks filename/location/message"),
        (
            '[{"filename": "dirty.py", "code": "F401", "message": "m", '
            '"location": {"row": "1", "column": 1}}]',
            "wrong type",
        ),
        ("", "not JSON"),
    ],
)
def test_unparsable_output_is_an_error_not_a_pass(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    stdout: str,
    why: str,
) -> None:
    fake_ruff(project, monkeypatch, f"print({stdout!r})\nsys.exit(1)")
    result = run_gate(project, file_target("clean.py")).results["clean.py"]
    assert result.status is GateStatus.ERROR
    assert result.reason.startswith("could not parse ruff's output")
    assert why in result.reason


def test_failed_to_lint_warning_is_an_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ruff(
        project,
        monkeypatch,
        'print("warning: Failed to lint dirty.py: Permission denied (os error 13)", '
        "file=sys.stderr)\nprint('[]')",
    )
    run = run_gate(project, file_target("clean.py"), file_target("dirty.py"))
    assert run.results["clean.py"].status is GateStatus.PASS
    assert run.results["dirty.py"].status is GateStatus.ERROR
    assert "Permission denied" in run.results["dirty.py"].reason


def test_violations_are_attributed_by_real_path(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (project / "alias.py").symlink_to(project / "dirty.py")
    record = {
        "filename": str(project / "dirty.py"),
        "code": None,
        "name": "invalid-syntax",
        "message": "bad",
        "location": {"row": 2, "column": 3},
    }
    fake_ruff(project, monkeypatch, f"print(json.dumps([{record!r}]))\nsys.exit(1)")
    result = run_gate(project, file_target("alias.py")).results["alias.py"]
    assert result.status is GateStatus.FAIL
    assert result.details == ("alias.py:2:3 invalid-syntax bad",)


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_timeout_kills_ruff_and_its_children(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pids = project / "pids"
    fake_ruff(
        project,
        monkeypatch,
        f"""
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
time.sleep(60)
""",
    )
    # Timed out, not finished: the children sleep a minute, so alive until killed.
    result = run_gate(project, file_target("clean.py"), timeout=1.0).results["clean.py"]
    assert result.status is GateStatus.ERROR
    assert result.reason == "ruff timed out after 1s"
    for pid in map(int, pids.read_text().split()):
        assert _wait_dead(pid), f"process {pid} survived the timeout"


def _wait_dead(pid: int) -> bool:
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return True  # dead, waiting for init to reap it
        time.sleep(0.05)
    return False


def test_parse_ruff_json_accepts_an_empty_list(tmp_path: Path) -> None:
    assert parse_ruff_json("[]", tmp_path) == []
