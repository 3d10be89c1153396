"""The mypy gate against the real mypy on small projects, and its ERROR paths with fakes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from deterministic import SteppingClock
from gate_helpers import file_target, write

from pytest_phase7.gates import mypy as mypy_module
from pytest_phase7.gates.base import GateRequest, GateRun, GateStatus
from pytest_phase7.gates.mypy import MypyGate, parse_mypy_json
from pytest_phase7.gates.tools import run_tool
from pytest_phase7.resolve.targets import Target, TargetKind
from pytest_phase7.settings import Settings

PYPROJECT = """\
[project]
name = "demo"

[tool.mypy]
strict = true
"""

FILES = {
    "pyproject.toml": PYPROJECT,
    # Fine without strict; under strict: one no-untyped-def error.
    "untyped.py": '"""Untyped."""\n\n\ndef double(x):\n    return x * 2\n',
    "typed.py": '"""Typed."""\n\n\ndef double(x: int) -> int:\n    return x * 2\n',
    # A helper with an error of its own, imported by a clean module.
    "helper.py": 'VALUE: int = "not an int"\n',
    "user.py": "from helper import VALUE\n\nTWICE: int = VALUE * 2\n",
    "pkg/__init__.py": "",
    "pkg/one.py": 'A: int = "a"\n',
    "pkg/two.py": "B: str = 2\nC: str = 3\n",
}


def run_gate(root: Path, *targets: Target, **settings: object) -> GateRun:
    return MypyGate().run(GateRequest(root, tuple(targets), Settings(**settings)))  # type: ignore[arg-type]


def mypy_itself(root: Path, *files: str) -> dict[str, int]:
    """Errors per file from mypy's ordinary text output, run by hand on the same files."""
    out = run_tool([sys.executable, "-m", "mypy", *files], root, 120)
    assert out.returncode in (0, 1), out.stdout + out.stderr
    counts: dict[str, int] = {}
    for line in out.stdout.splitlines():
        match = re.match(r"^(.+?):\d+: error:", line)
        if match:
            counts[match[1]] = counts.get(match[1], 0) + 1
    return counts


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One project (and one warm .mypy_cache) for the read-only tests: a cold mypy run costs ~1 s.
    root = tmp_path_factory.mktemp("mypy-project")
    write(root, FILES)
    return root


@pytest.mark.slow
def test_counts_match_mypy_and_strict_config_is_honoured(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SteppingClock(2.5)
    monkeypatch.setattr(mypy_module, "time", clock)
    targets = [file_target(f) for f in ("untyped.py", "typed.py", "user.py")]
    run = run_gate(project, *targets)
    own = mypy_itself(project, "untyped.py", "typed.py", "user.py")
    typed, untyped = run.results["typed.py"], run.results["untyped.py"]
    assert typed.status is GateStatus.PASS
    assert (typed.metric, typed.display, typed.threshold) == (0.0, "0", 0.0)
    # no-untyped-def only fires because the project's config says strict = true.
    assert untyped.status is GateStatus.FAIL
    assert untyped.metric == own["untyped.py"] == 1
    assert untyped.details == (
        "untyped.py:4: Function is missing a type annotation  [no-untyped-def]",
    )
    # The version mypy itself reports (read from the package metadata, without a process).
    answer = subprocess.run(
        [sys.executable, "-m", "mypy", "--version"], capture_output=True, text=True, check=True
    )
    assert run.tool_version == answer.stdout.split()[1]
    assert (run.seconds, clock.readings) == (2.5, 2)  # the gate's own time, start to end


@pytest.mark.slow
def test_errors_in_imported_non_targets_are_not_charged(project: Path) -> None:
    run = run_gate(project, file_target("user.py"))
    own = mypy_itself(project, "user.py")
    assert own == {"helper.py": 1}  # mypy follows the import and reports the helper's error
    assert run.results["user.py"].status is GateStatus.PASS
    assert run.results["user.py"].metric == 0
    assert run.context[0].startswith("1 error in non-target files (not charged): helper.py")


@pytest.mark.slow
def test_package_target_sums_its_files_and_max_applies(project: Path) -> None:
    files = ("pkg/__init__.py", "pkg/one.py", "pkg/two.py")
    pkg = Target(TargetKind.PACKAGE, "pkg/", files)
    own = mypy_itself(project, *files)
    run = run_gate(project, pkg, file_target("pkg/two.py"), mypy_max=2)
    assert run.results["pkg/"].metric == sum(own.values()) == 3
    assert run.results["pkg/"].status is GateStatus.FAIL
    assert run.results["pkg/two.py"].metric == own["pkg/two.py"] == 2
    assert run.results["pkg/two.py"].status is GateStatus.PASS


@pytest.mark.slow
def test_mypy_args_are_applied(project: Path) -> None:
    run = run_gate(project, file_target("untyped.py"), mypy_args=("--allow-untyped-defs",))
    assert run.results["untyped.py"].status is GateStatus.PASS


@pytest.mark.slow
def test_missing_file_is_an_error_for_its_target_only(project: Path) -> None:
    run = run_gate(project, file_target("gone.py"), file_target("typed.py"))
    assert run.results["gone.py"].status is GateStatus.ERROR
    assert run.results["gone.py"].reason == "gone.py does not exist"
    assert run.results["typed.py"].status is GateStatus.PASS


@pytest.mark.slow
def test_blocking_syntax_error_is_an_error_for_every_target(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": PYPROJECT, "broken.py": "def f(:\n", "ok.py": "X = 1\n"})
    run = run_gate(tmp_path, file_target("broken.py"), file_target("ok.py"))
    for result in run.results.values():
        assert result.status is GateStatus.ERROR
        assert result.reason.startswith("mypy stopped (exit 2): broken.py:1:")


def test_forbidden_args(project: Path) -> None:
    for args in (("-O", "text"), ("--output=text",), ("-mpkg",), ("-p", "pkg")):
        run = run_gate(project, file_target("typed.py"), mypy_args=tuple(args))
        assert run.results["typed.py"].status is GateStatus.ERROR
        assert "may not contain" in run.results["typed.py"].reason


# --- ERROR paths with a missing or fake Python/mypy ------------------------------------------

FAKE_HEAD = """
args = sys.argv[1:]
if args == ["-m", "mypy", "--version"]:
    print("mypy 9.9.9 (compiled: no)")
    sys.exit(0)
"""


def fake_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    path = tmp_path / "bin" / "python"
    path.parent.mkdir(exist_ok=True)
    head = f"#!{sys.executable}\nimport json, os, subprocess, sys, time\n"
    path.write_text(f"{head}{FAKE_HEAD}{body}\n")
    path.chmod(0o755)
    monkeypatch.setattr(mypy_module, "python_executable", lambda: str(path))
    return path


@pytest.fixture
def small(tmp_path: Path) -> Path:
    write(tmp_path, {"a.py": "X = 1\n", "b.py": "Y = 2\n"})
    return tmp_path


def targets() -> tuple[Target, Target]:
    return file_target("a.py"), file_target("b.py")


def assert_all_error(run: GateRun, reason: str) -> None:
    assert set(run.results) == {"a.py", "b.py"}
    for result in run.results.values():
        assert result.status is GateStatus.ERROR
        assert reason in result.reason, result.reason
        assert result.hint


def test_python_missing(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mypy_module, "python_executable", lambda: str(small / "no-python"))
    assert_all_error(run_gate(small, *targets()), "mypy cannot run")


def test_mypy_not_installed(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = small / "bin" / "python"
    path.parent.mkdir()
    path.write_text(
        f"#!{sys.executable}\nimport sys\nprint(sys.executable + ': No module named "
        "mypy', file=sys.stderr)\nsys.exit(1)\n"
    )
    path.chmod(0o755)
    monkeypatch.setattr(mypy_module, "python_executable", lambda: str(path))
    run = run_gate(small, *targets())
    assert_all_error(run, "mypy is not installed")
    assert "pip install mypy" in run.results["a.py"].hint


def test_mypy_crash_is_an_error(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_python(
        small,
        monkeypatch,
        'print("Traceback (most recent call last):", file=sys.stderr)\nsys.exit(2)',
    )
    run = run_gate(small, *targets())
    assert_all_error(run, "mypy stopped (exit 2): Traceback (most recent call last):")
    assert run.tool_version == "9.9.9"


@pytest.mark.parametrize(
    ("stdout", "reason"),
    [
        ("{not json", "could not parse mypy's output: line 1 is not JSON"),
        (
            '{"file": "a.py", "line": "1", "message": "m", "severity": "error"}',
            "lacks file/line/message/severity",
        ),
        ("[1, 2]", "mypy exited 1 but reported no errors we could read"),
        ("", "mypy exited 1 but reported no errors we could read"),
        ("a.py:1: error: bad  [misc]", "mypy exited 1 but reported no errors we could read"),
    ],
)
def test_garbage_output_is_an_error_not_a_pass(
    small: Path,
    monkeypatch: pytest.MonkeyPatch,
    stdout: str,
    reason: str,
) -> None:
    fake_python(small, monkeypatch, f"print({stdout!r})\nsys.exit(1)")
    assert_all_error(run_gate(small, *targets()), reason)


def test_fake_records_are_charged_by_real_path(
    small: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = [
        {"file": "a.py", "line": 3, "message": "m1", "code": "misc", "severity": "error"},
        {
            "file": str(small / "a.py"),
            "line": 1,
            "message": "m2",
            "code": None,
            "severity": "error",
        },
        {"file": "a.py", "line": 4, "message": "just a note", "code": None, "severity": "note"},
        {"file": "other.py", "line": 1, "message": "m3", "code": "misc", "severity": "error"},
    ]
    lines = "\n".join(f"print(json.dumps({r!r}))" for r in records)
    fake_python(
        small, monkeypatch, f'print("pyproject.toml: note: unused section")\n{lines}\nsys.exit(1)'
    )
    run = run_gate(small, *targets())
    assert run.results["a.py"].metric == 2
    assert run.results["a.py"].details == ("a.py:1: m2", "a.py:3: m1  [misc]")
    assert run.results["b.py"].status is GateStatus.PASS
    assert run.context == (
        "1 error in non-target files (not charged): other.py",
        "mypy: pyproject.toml: note: unused section",
    )


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_timeout_kills_mypy_and_its_children(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pids = small / "pids"
    fake_python(
        small,
        monkeypatch,
        f"""
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
time.sleep(60)
""",
    )
    # Timed out, not finished: the children sleep a minute, so alive until killed.
    run = run_gate(small, *targets(), timeout=1.0)
    assert_all_error(run, "mypy timed out after 1s")
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


def test_parse_mypy_json_keeps_other_lines() -> None:
    records, other = parse_mypy_json(
        '\nFound 1 error\n{"file": "a.py", "line": 1, "message": "m", "hint": null, '
        '"code": "misc", "severity": "error"}\n'
    )
    assert [(r.file, r.line, r.code) for r in records] == [("a.py", 1, "misc")]
    assert other == ["Found 1 error"]
