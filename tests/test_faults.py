"""Faults: a gate that cannot measure is ERROR (never PASS), and nothing is left behind.

* the tools missing, crashing, printing garbage or changing their output format (fake
  executables: ruff found first on PATH, mypy and the interrogate worker through the gates'
  ``python_executable`` seams);
* tools that hang: the timeout kills them and their children;
* coverage data missing or corrupt;
* a session interrupted (KeyboardInterrupt) while tools run or before the baseline is written;
* two runs updating the same baseline at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import coverage
import pytest

from pytest_phase7 import atomic
from pytest_phase7.engine import Engine, GateThreads
from pytest_phase7.errors import ManifestError
from pytest_phase7.gates import cache as cache_module
from pytest_phase7.gates import docstrings as docstrings_module
from pytest_phase7.gates import mypy as mypy_module
from pytest_phase7.gates.base import (
    Gate,
    GateRequest,
    GateResult,
    GateRun,
    GateStatus,
    SessionData,
)
from pytest_phase7.gates.cache import ToolInputs
from pytest_phase7.gates.coverage import CoverageGate
from pytest_phase7.gates.coverage_static import file_digest
from pytest_phase7.gates.docstrings import DocstringsGate
from pytest_phase7.gates.mypy import MypyGate
from pytest_phase7.gates.ruff import RuffGate
from pytest_phase7.gates.tool_inputs import ruff_inputs
from pytest_phase7.gates.tools import run_tool
from pytest_phase7.insights.history import HistoryEntry, append_entry, load_history
from pytest_phase7.manifest import MAX_MANIFEST_BYTES, load_manifest
from pytest_phase7.report.json import load_report
from pytest_phase7.report.markdown import append_step_summary
from pytest_phase7.resolve.targets import Target, TargetKind, resolve_items
from pytest_phase7.settings import Settings
from pytest_phase7.status.baseline import load_baseline, write_baseline

TARGET = Target(TargetKind.FILE, "core/a.py", ("core/a.py",))

PLAN = """# Plan

### Batch 1: Unit Tests
**Items:** 1-1

| # | Module | File | Status |
|---|--------|------|--------|
| 1 | Core | a.py | QUEUED |
"""

#: The top of every fake tool: its arguments and the files after ``--``.
PREAMBLE = """\
import json, os, signal, subprocess, sys, time
argv = sys.argv[1:]
files = argv[argv.index("--") + 1 :] if "--" in argv else []
"""


def fake_program(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{sys.executable}\n{PREAMBLE}{textwrap.dedent(body)}")
    path.chmod(0o755)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "core").mkdir(parents=True)
    (root / "core" / "a.py").write_text('"""A module."""\n\nX = 1\n')
    return root


@pytest.fixture
def fake_ruff_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """Put a fake ``ruff`` first on PATH, with the ruff package hidden (so PATH is searched)."""
    monkeypatch.setitem(sys.modules, "ruff", None)

    def install(body: str) -> Path:
        folder = tmp_path / "bin"
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
        return fake_program(folder / "ruff", body)

    return install


@pytest.fixture
def fake_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Path]:
    """Point the mypy or docstrings gate's Python at a fake one."""

    def install(gate: str, body: str) -> Path:
        path = fake_program(tmp_path / "fake-python" / f"python-{gate}", body)
        module = mypy_module if gate == "mypy" else docstrings_module
        monkeypatch.setattr(module, "python_executable", lambda: str(path))
        return path

    return install


def run_gate(gate: Gate, root: Path) -> GateResult:
    return gate.run(GateRequest(root, (TARGET,), Settings())).results[TARGET.ref]


def assert_error(result: GateResult, reason: str) -> None:
    """ERROR with the expected one-line reason and a hint; never a figure that could pass."""
    assert result.status is GateStatus.ERROR, result
    assert re.search(reason, result.reason), result.reason
    assert "\n" not in result.reason
    assert result.hint
    assert result.metric is None


# --- tools that crash, print garbage or change their output format ---------------------------

RUFF_VERSION = 'if "--version" in argv:\n    print("ruff 9.9.9")\n    sys.exit(0)\n'
RUFF_LISTS_FILES = (
    'if "--show-files" in argv:\n'
    '    print("\\n".join(os.path.abspath(f) for f in files))\n'
    "    sys.exit(0)\n"
)

#: The fields of a ruff JSON record besides its filename.
RUFF_RECORD = 'location={"row": 1, "column": 1}, message="unused", code="F401"'

RUFF_FAULTS = {
    "crash": (
        'sys.stderr.write("ruff failed\\n  Cause: Failed to parse pyproject.toml\\n")\nsys.exit(2)',
        r"^ruff failed \(exit 2\): Failed to parse pyproject\.toml$",
    ),
    "panic": (
        "sys.stderr.write(\"thread 'main' panicked at src/main.rs:1:1\\n\")\nsys.exit(101)",
        r"^ruff failed \(exit 101\): thread 'main' panicked",
    ),
    "killed": ("os.kill(os.getpid(), signal.SIGKILL)", r"^ruff failed \(exit -9\)"),
    "garbage": (
        'sys.stdout.write("\\x00\\x01 <html>not json</html>")',
        r"^could not parse ruff's output: not JSON",
    ),
    "silent": ("sys.exit(0)", r"^could not parse ruff's output: not JSON"),
    "text-format": (
        'print("core/a.py:1:1: F401 `os` imported but unused")\nsys.exit(1)',
        r"^could not parse ruff's output: not JSON",
    ),
    "object-format": (
        'print(json.dumps({"violations": []}))',
        r"^could not parse ruff's output: expected a JSON list, got dict$",
    ),
    "renamed-fields": (
        'print(json.dumps([{"filename": os.path.abspath(files[0]), "start": {"row": 1}, '
        '"message": "x", "code": "F401"}]))\nsys.exit(1)',
        r"^could not parse ruff's output: record 1 lacks filename/location/message$",
    ),
    # Exit status and findings must agree, and every finding must be of a checked file.
    "exit-1-no-records": ('print("[]")\nsys.exit(1)', r"^ruff exited 1 \(violations found\)"),
    "exit-0-with-records": (
        f"print(json.dumps([dict(filename=os.path.abspath(files[0]), {RUFF_RECORD})]))",
        r"^ruff exited 0 \(clean\) but its output lists 1 violations$",
    ),
    "bare-basename": (
        f"print(json.dumps([dict(filename=os.path.basename(files[0]), {RUFF_RECORD})]))"
        "\nsys.exit(1)",
        r"^ruff reported 'a\.py', which is none of the files it checked$",
    ),
    "file-uri": (
        f"print(json.dumps([dict(filename='file://' + os.path.abspath(files[0]), {RUFF_RECORD})]))"
        "\nsys.exit(1)",
        r"^ruff reported 'file://\S*core/a\.py', which is none of the files it checked$",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(RUFF_FAULTS))
def test_fake_ruff_first_on_path_is_an_error(
    project: Path, fake_ruff_on_path: Callable[[str], Path], fault: str
) -> None:
    body, reason = RUFF_FAULTS[fault]
    fake_ruff_on_path(RUFF_VERSION + RUFF_LISTS_FILES + body)
    assert_error(run_gate(RuffGate(), project), reason)


@pytest.mark.slow
def test_ruff_listing_files_in_a_new_format_is_an_error(
    project: Path, fake_ruff_on_path: Callable[[str], Path]
) -> None:
    # --show-files answers in a format the gate does not know: it cannot tell that ruff linted
    # the target, so a clean JSON answer must not make it PASS.
    fake_ruff_on_path(
        RUFF_VERSION
        + 'if "--show-files" in argv:\n    print(json.dumps({"files": files}))\n    sys.exit(0)\n'
        + 'print("[]")\n'
    )
    assert_error(run_gate(RuffGate(), project), r"ruff's configuration excludes core/a\.py")


MYPY_VERSION = 'if "--version" in argv:\n    print("mypy 9.9.9")\n    sys.exit(0)\n'

#: The fields of a mypy JSON record besides its severity.
MYPY_RECORD = "'file': 'core/a.py', 'line': 1, 'column': 0, 'message': 'see here', 'code': None"

MYPY_FAULTS = {
    "crash": (
        'sys.stderr.write("Traceback (most recent call last):\\nAssertionError: INTERNAL ERROR\\n")'
        "\nsys.exit(2)",
        r"^mypy stopped \(exit 2\): Traceback",
    ),
    "killed": ("os.kill(os.getpid(), signal.SIGKILL)", r"^mypy stopped \(exit -9\): no output$"),
    "garbage": ('print("{garbage")', r"^could not parse mypy's output: line 1 is not JSON"),
    "text-format": (
        "print(\"core/a.py:1: error: Name 'y' is not defined  [name-defined]\")\n"
        'print("Found 1 error in 1 file")\nsys.exit(1)',
        r"^mypy exited 1 but reported no errors we could read: core/a\.py:1: error",
    ),
    "renamed-fields": (
        'print(json.dumps({"path": "core/a.py", "row": 1, "text": "x", "level": "error"}))'
        "\nsys.exit(1)",
        r"^could not parse mypy's output: line 1 lacks file/line/message/severity$",
    ),
    "json-array": (
        'print(json.dumps([{"file": "core/a.py", "line": 1, "message": "x"}]))\nsys.exit(1)',
        r"^mypy exited 1 but reported no errors we could read",
    ),
    "exit-1-only-notes": (
        f"print(json.dumps({{{MYPY_RECORD}, 'severity': 'note'}}))\nsys.exit(1)",
        r"^mypy exited 1 but reported no errors, only 1 notes \(core/a\.py:1: see here\)$",
    ),
    "exit-0-with-errors": (
        f"print(json.dumps({{{MYPY_RECORD}, 'severity': 'error'}}))\nsys.exit(0)",
        r"^mypy exited 0 \(clean\) but reported 1 errors$",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(MYPY_FAULTS))
def test_fake_mypy_is_an_error(
    project: Path, fake_python: Callable[[str, str], Path], fault: str
) -> None:
    body, reason = MYPY_FAULTS[fault]
    fake_python("mypy", MYPY_VERSION + body)
    assert_error(run_gate(MypyGate(), project), reason)


INTERROGATE_FAULTS = {
    "crash": (
        'sys.stderr.write("Traceback (most recent call last):\\nRuntimeError: boom\\n")'
        "\nsys.exit(1)",
        r"^interrogate failed \(exit 1\): RuntimeError: boom$",
    ),
    "killed": (
        "os.kill(os.getpid(), signal.SIGKILL)",
        r"^interrogate failed \(exit -9\): no output$",
    ),
    "garbage": ('print("100%")', r"^could not parse interrogate's output: 100%$"),
    "no-files-table": (
        'print(json.dumps({"version": "9.9.9", "fail_under": 80}))',
        r"^could not parse interrogate's output: no files table$",
    ),
    "counts-as-text": (
        'print(json.dumps({"version": "9", "fail_under": 80, "files": {f: {"error": "", '
        '"walk_skipped": "", "covered": "1", "total": "1", "missing": []} for f in files}}))',
        r"^could not parse interrogate's output: bad counts for core/a\.py$",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(INTERROGATE_FAULTS))
def test_fake_interrogate_is_an_error(
    project: Path, fake_python: Callable[[str, str], Path], fault: str
) -> None:
    body, reason = INTERROGATE_FAULTS[fault]
    fake_python("docstrings", body)
    assert_error(run_gate(DocstringsGate(), project), reason)


# --- tools not installed ---------------------------------------------------------------------


def test_ruff_not_installed_anywhere_is_an_error(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ruff", None)  # no ruff package ...
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # ... and no ruff on PATH
    assert_error(run_gate(RuffGate(), project), r"^ruff is not installed$")


@pytest.mark.slow
def test_mypy_not_installed_is_an_error(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real Python without its site-packages: "No module named mypy", as in a bare venv.
    python = tmp_path / "bare-python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    python.chmod(0o755)
    monkeypatch.setattr(mypy_module, "python_executable", lambda: str(python))
    assert_error(run_gate(MypyGate(), project), r"^mypy is not installed$")


@pytest.mark.slow
def test_interrogate_not_installed_is_an_error(
    project: Path, fake_python: Callable[[str, str], Path]
) -> None:
    # The real worker, in a Python where importing interrogate fails.
    fake_python(
        "docstrings",
        'sys.modules["interrogate"] = None\n'
        "import runpy\n"
        "sys.argv = [argv[1], *argv[2:]]\n"
        'runpy.run_module(argv[1], run_name="__main__", alter_sys=True)\n',
    )
    assert_error(run_gate(DocstringsGate(), project), r"^interrogate is not installed \(")


# --- hangs: killed with their children --------------------------------------------------------

#: A tool that answers --version, then hangs with a child and a grandchild, recording all pids.
#: Each process that outlives its sleep appends its name to ``<pids>.finished``: a run that
#: waited for them instead of killing them leaves that file behind.
HANG = r"""
if "--version" in argv:
    print("NAME 9.9.9")
    sys.exit(0)
pids = os.environ["PHASE7_FAKE_PIDS"]


def sleeper(who):
    # Sleeps, then records that it was not killed.
    record = f"open(sys.argv[1] + '.finished', 'a').write({who + chr(10)!r})"
    return f"import sys, time; time.sleep(300); {record}"


CHILD = (
    "import os, subprocess, sys\n"
    f"g = subprocess.Popen([sys.executable, '-c', {sleeper('grandchild')!r}, sys.argv[1]])\n"
    "open(sys.argv[1], 'a').write('%d %d\\n' % (os.getpid(), g.pid))\n"
    + sleeper("child")
    + "\n"
)
subprocess.Popen([sys.executable, "-c", CHILD, pids])
with open(pids, "a") as out:
    out.write("%d\n" % os.getpid())
time.sleep(300)
open(pids + ".finished", "a").write("tool\n")
"""


def finished(pid_file: Path) -> list[str]:
    """The fake tool's processes that ran to their end instead of being killed."""
    marker = pid_file.with_name(pid_file.name + ".finished")
    return marker.read_text().split() if marker.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a recycled pid owned by someone else
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie is dead, merely not reaped yet


def recorded_pids(path: Path, count: int, seconds: float = 10.0) -> list[int]:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pids = [int(p) for p in path.read_text().split()] if path.exists() else []
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"the fake tool did not start its children: {path}")


def assert_all_dead(pids: list[int], seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    assert [pid for pid in pids if alive(pid)] == [], "processes left behind"


@pytest.fixture
def pid_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "pids"
    monkeypatch.setenv("PHASE7_FAKE_PIDS", str(path))
    yield path
    for pid in [int(p) for p in path.read_text().split()] if path.exists() else []:
        if alive(pid):  # pragma: no cover - only when a test above failed
            os.kill(pid, signal.SIGKILL)


def phase7_project(pytester: pytest.Pytester) -> None:
    pytester.makefile(".md", PHASE7_EXECUTION_PLAN=PLAN)
    (pytester.path / "core").mkdir()
    (pytester.path / "core" / "a.py").write_text('"""A module."""\n\nX = 1\n')


def install_hanging(
    gate: str,
    fake_ruff_on_path: Callable[[str], Path],
    fake_python: Callable[[str, str], Path],
) -> None:
    if gate == "ruff":
        fake_ruff_on_path(HANG.replace("NAME", "ruff"))
    else:
        fake_python(gate, HANG.replace("NAME", "mypy"))


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
@pytest.mark.parametrize(
    ("gate", "tool"), [("ruff", "ruff"), ("mypy", "mypy"), ("docstrings", "interrogate")]
)
def test_hanging_tool_is_killed_with_its_children_and_the_run_blocks(
    pytester: pytest.Pytester,
    fake_ruff_on_path: Callable[[str], Path],
    fake_python: Callable[[str, str], Path],
    pid_file: Path,
    gate: str,
    tool: str,
) -> None:
    phase7_project(pytester)
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    install_hanging(gate, fake_ruff_on_path, fake_python)
    result = pytester.runpytest_inprocess(
        "--phase7",
        "--no-cov",
        "-p",
        "no:cacheprovider",
        f"--phase7-gates={gate}",
        "--phase7-timeout=3",
    )
    out = result.stdout.str()
    assert result.ret == 1, out
    assert f"ERROR {gate}: {tool} timed out after 3s (hint: raise --phase7-timeout" in out
    assert result.outlines[-2].startswith("phase7: merge BLOCKED (fail-on=regression): 1 item")
    assert any(line.split()[:1] == ["1"] and line.endswith("FAILED") for line in result.outlines)
    assert_all_dead(recorded_pids(pid_file, 3))
    assert finished(pid_file) == []


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_interrupted_session_kills_running_tools_at_once(
    pytester: pytest.Pytester,
    fake_ruff_on_path: Callable[[str], Path],
    pid_file: Path,
) -> None:
    # Ctrl-C while ruff runs: the session must not wait for ruff's timeout (600 s here), and
    # neither ruff nor its children may outlive it.
    phase7_project(pytester)
    fake_ruff_on_path(HANG.replace("NAME", "ruff"))
    pytester.makepyfile(
        test_interrupt=f"""
        import time
        from pathlib import Path


        def test_interrupt():
            pids = Path({str(pid_file)!r})
            for _ in range(400):  # until ruff and its children run (at most 20 s)
                if pids.exists() and len(pids.read_text().split()) >= 3:
                    break
                time.sleep(0.05)
            raise KeyboardInterrupt
        """
    )
    result = pytester.runpytest_inprocess(
        "--phase7",
        "--no-cov",
        "-p",
        "no:cacheprovider",
        "--phase7-gates=ruff",
        "--phase7-timeout=600",
        no_reraise_ctrlc=True,
    )
    pids = recorded_pids(pid_file, 3)
    assert_all_dead(pids)
    assert finished(pid_file) == []  # killed at once, not waited for (nor for the timeout)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert "phase7: not evaluated: the test session did not run to the end" in result.stdout.str()


SLEEPY_TOOL = (
    "import os, sys, time; open(sys.argv[1], 'a').write(f'{os.getpid()}\\n'); time.sleep(300); "
    "open(sys.argv[1] + '.finished', 'a').write('tool\\n')"
)


class ThreeToolsGate:
    """A static gate that runs three tools one after the other, as the ruff gate does."""

    name = "three"
    title = "Three"
    needs_session = False

    def __init__(self, pids: Path) -> None:
        self.pids = pids
        self.exits: list[int] = []  # each tool's exit status, once it has ended

    def run(self, request: GateRequest) -> GateRun:
        for _ in range(3):
            argv = [sys.executable, "-c", SLEEPY_TOOL, str(self.pids)]
            self.exits.append(run_tool(argv, request.rootdir, 600).returncode)
        return GateRun(self.name, {})


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_closing_an_interrupted_run_kills_the_tools_a_gate_starts_next(
    project: Path, pid_file: Path
) -> None:
    plan = project / "PLAN.md"
    plan.write_text(PLAN, encoding="utf-8")
    manifest = load_manifest(plan)
    gate = ThreeToolsGate(pid_file)
    engine = Engine(Settings(), manifest, resolve_items(manifest, project), project, [gate])
    engine.start()
    recorded_pids(pid_file, 1)
    engine.close()  # what pytest_unconfigure does after Ctrl-C
    # The first tool was killed, and so were the two the gate started after it (each may die
    # before it gets to record its pid, so their exit statuses tell).
    assert gate.exits == [-signal.SIGKILL] * 3
    assert_all_dead(recorded_pids(pid_file, 1))
    assert finished(pid_file) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_manifest_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "PLAN.md"
    os.mkfifo(fifo)  # nobody ever writes to it: reading it would block forever
    with pytest.raises(ManifestError, match="is not a regular file"):
        load_manifest(fifo)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
@pytest.mark.parametrize("target", ["core/a.py", "core/"])
def test_a_fifo_target_is_an_error_naming_the_item_not_a_hang(
    pytester: pytest.Pytester, target: str
) -> None:
    # The coverage gate's preparation read the FIFO and the engine waited for it: forever,
    # past --phase7-timeout. Now the item is FAILED, naming what the target is.
    (pytester.path / "core").mkdir()
    os.mkfifo(pytester.path / "core" / "a.py")
    pytester.makefile(
        ".md", PHASE7_EXECUTION_PLAN=PLAN.replace("| Core | a.py |", f"| | {target} |")
    )
    pytester.makepyfile(test_it="def test_it():\n    pass\n")
    result = pytester.runpytest_subprocess("--phase7", "--phase7-timeout=5", timeout=120)
    result.stdout.fnmatch_lines(
        [
            "  #1: 'core/a.py' is a FIFO, not a Python file",
            "phase7: merge BLOCKED (fail-on=regression): 1 item has a target no gate can read (#1)",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_gate_threads_are_not_traced_by_the_sessions_measurement() -> None:
    """coverage.py traces new threads (threading.settrace): a gate thread turns that off."""

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        return tracer

    before = threading.gettrace()
    threading.settrace(tracer)
    try:
        plain = threading.Thread(target=lambda: seen.append(sys.gettrace()))
        seen: list[object] = []
        plain.start()
        plain.join(10)
        gate = GateThreads().submit(sys.gettrace).result(timeout=10)
    finally:
        threading.settrace(before)
    assert seen == [tracer]  # the probe works: other threads are traced
    assert gate is None


STUCK_GATE = """
import time
from pytest_phase7 import engine
from pytest_phase7.gates.base import GateRun

engine.JOIN_GRACE_SECONDS = 0.5  # the test waits for the process, not for the grace period


class Stuck:
    name, title, needs_session = "stuck", "Stuck", False

    def run(self, request):
        time.sleep(10**6)  # in Python, no tool to kill
        return GateRun(self.name, {})


def pytest_phase7_add_gates(config):
    return [Stuck()]
"""


@pytest.mark.slow
def test_a_gate_stuck_for_good_is_an_error_and_pytest_still_exits(
    pytester: pytest.Pytester,
) -> None:
    # Gate threads were a ThreadPoolExecutor's, which the interpreter joins at exit: forever.
    pytester.makeconftest(STUCK_GATE)
    pytester.makefile(".md", PHASE7_EXECUTION_PLAN=PLAN.replace("| Core | a.py |", "| | a.py |"))
    pytester.makepyfile(a="X = 1\n", test_it="def test_it():\n    pass\n")
    result = pytester.runpytest_subprocess(
        "--phase7", "--no-cov", "--phase7-gates=stuck", "--phase7-timeout=1", timeout=120
    )
    result.stdout.fnmatch_lines(["ERROR stuck: stuck did not finish in time*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def no_hang(call: Callable[[], object], seconds: float = 10.0) -> object:
    """``call()``'s result (or the exception it raised), failing if it blocks for ``seconds``."""
    outcome: list[object] = []

    def work() -> None:
        try:
            outcome.append(call())
        except Exception as exc:  # noqa: BLE001 - the exception is the result here
            outcome.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked on the FIFO"
    return outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
@pytest.mark.parametrize(
    "reader",
    [
        "cache digest",
        "coverage digest",
        "history append",
        "history load",
        "baseline load",
        "json report load",
        "step summary",
        "ruff extend target",
    ],
)
def test_no_reader_blocks_on_a_fifo(tmp_path: Path, reader: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # nobody ever writes to it (or reads it)
    calls: dict[str, Callable[[], object]] = {
        "cache digest": lambda: cache_module.FileDigests().of(fifo),
        "coverage digest": lambda: file_digest(str(fifo)),
        "history append": lambda: append_entry(fifo, HistoryEntry("t", None, {}, 0, 0.0, 0, 0.0)),
        "history load": lambda: load_history(fifo),
        "baseline load": lambda: load_baseline(fifo, "fifo"),
        "json report load": lambda: load_report(fifo),
        "step summary": lambda: append_step_summary(None, fifo),  # type: ignore[arg-type]
        "ruff extend target": lambda: ruff_extending(tmp_path, "fifo"),
    }
    answer = no_hang(calls[reader])
    if reader == "cache digest":
        assert answer == b"<unreadable: 22: is a FIFO, not a regular file>"
    elif reader == "history load":  # the Trends section says it, the run goes on
        assert answer == ([], [f"cannot read the history {fifo}: is a FIFO, not a regular file"])
    elif reader == "ruff extend target":  # not followed, keyed as unreadable
        assert answer == ToolInputs(files=(fifo,), facts=answer.facts)  # type: ignore[union-attr]
    else:
        assert isinstance(answer, Exception), answer
        assert "is a FIFO, not a regular file" in str(answer), answer


def ruff_extending(root: Path, name: str) -> ToolInputs:
    """Ruff's cache inputs when its config extends ``name``."""
    (root / "pyproject.toml").write_text(f'[tool.ruff]\nextend = "{name}"\n')
    (root / "m.py").write_text("")
    request = GateRequest(root, (Target(TargetKind.FILE, "m.py", ("m.py",)),), Settings())
    return ruff_inputs(request, cache_module.FileDigests())


def test_a_huge_manifest_is_refused_before_it_is_read(tmp_path: Path) -> None:
    plan = tmp_path / "PLAN.md"
    with plan.open("wb") as out:
        out.truncate(MAX_MANIFEST_BYTES + 1)  # sparse: costs no disk, would cost the memory
    with pytest.raises(ManifestError, match=rf"is {MAX_MANIFEST_BYTES + 1} bytes; a manifest"):
        load_manifest(plan)


# --- coverage data missing or corrupt --------------------------------------------------------


def coverage_result(project: Path, data_file: Path) -> GateResult:
    """The gate on a session whose data is ``data_file``, loaded as far as it loads."""
    cov = coverage.Coverage(data_file=str(data_file), config_file=False)
    with contextlib.suppress(coverage.exceptions.DataError):
        cov.load()
    request = GateRequest(project, (TARGET,), Settings(), SessionData(cov))
    return CoverageGate().run(request).results[TARGET.ref]


@pytest.mark.parametrize(
    "content",
    [None, b"", b"garbage" * 100, b"SQLite format 3\x00" + b"\x00" * 200],
    ids=["missing", "empty", "garbage", "torn-sqlite-header"],
)
def test_coverage_without_usable_data_is_an_error(
    project: Path, tmp_path: Path, content: bytes | None
) -> None:
    data_file = tmp_path / "data" / ".coverage"
    data_file.parent.mkdir()
    if content is not None:
        data_file.write_bytes(content)
    assert_error(coverage_result(project, data_file), r"^coverage\.py ")


def test_coverage_data_of_other_files_still_gives_a_figure(project: Path, tmp_path: Path) -> None:
    # The contrast: real data that merely lacks the target is a figure (0%), not an ERROR.
    data_file = tmp_path / ".coverage"
    data = coverage.CoverageData(basename=str(data_file))
    data.add_lines({str(project / "other.py"): [1]})
    data.write()
    result = coverage_result(project, data_file)
    assert result.status is GateStatus.FAIL
    assert result.display == "0%"


@pytest.mark.slow
def test_no_coverage_plugin_is_an_error_end_to_end(pytester: pytest.Pytester) -> None:
    phase7_project(pytester)
    pytester.makepyfile(test_a="from core import a\n\n\ndef test_a():\n    assert a.X == 1\n")
    pytester.makeini("[pytest]\npythonpath = .\n")
    result = pytester.runpytest_subprocess(
        "--phase7", "--phase7-gates=coverage", "-p", "no:pytest_cov", "-p", "no:cacheprovider"
    )
    out = result.stdout.str()
    assert (
        "ERROR coverage: nothing measured coverage: pytest-cov is disabled (-p no:pytest_cov) "
        "(hint: drop -p no:pytest_cov, or run under coverage run -m pytest)"
    ) in out.splitlines()
    assert result.ret == 1


#: Runs pytest with phase7 but without pytest-cov, which this Python then cannot import.
WITHOUT_PYTEST_COV = """
import sys
sys.modules["pytest_cov"] = None
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            WITHOUT_PYTEST_COV,
            "nothing measured coverage: pytest-cov is not installed "
            "(hint: pip install pytest-cov, or run under coverage run -m pytest)",
        ),
        (
            "import sys, pytest\nsys.exit(pytest.main(sys.argv[1:]))\n",
            "nothing measured coverage: pytest-cov is installed but not loaded "
            "(PYTEST_DISABLE_PLUGIN_AUTOLOAD is set) "
            "(hint: add -p pytest_cov, or run under coverage run -m pytest)",
        ),
    ],
)
def test_pytest_cov_not_installed_or_not_loaded_says_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, code: str, message: str
) -> None:
    phase7_project(pytester)
    pytester.makepyfile(test_a="from core import a\n\n\ndef test_a():\n    assert a.X == 1\n")
    pytester.makeini("[pytest]\npythonpath = .\n")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.run(
        sys.executable,
        "-c",
        code,
        "-p",
        "pytest_phase7.plugin",
        "--phase7",
        "--phase7-gates=coverage",
        "-p",
        "no:cacheprovider",
    )
    assert f"ERROR coverage: {message}" in result.stdout.lines
    assert result.ret == 1


@pytest.mark.slow
def test_stale_corrupt_coverage_file_does_not_poison_the_run(pytester: pytest.Pytester) -> None:
    phase7_project(pytester)
    pytester.makepyfile(test_a="from core import a\n\n\ndef test_a():\n    assert a.X == 1\n")
    pytester.makeini("[pytest]\npythonpath = .\n")
    (pytester.path / ".coverage").write_bytes(b"garbage" * 100)
    result = pytester.runpytest_subprocess(
        "--phase7", "--phase7-gates=coverage", "-p", "no:cacheprovider"
    )
    assert result.ret == 0, result.stdout.str()
    assert result.outlines[-2] == "phase7: OK (fail-on=regression): 1 DONE"


@pytest.mark.slow
def test_appending_to_corrupt_coverage_data_never_passes(pytester: pytest.Pytester) -> None:
    # pytest-cov itself fails to load the data to append to; whatever the failure looks like,
    # the run must not report the gate as passing.
    phase7_project(pytester)
    pytester.makepyfile(test_a="from core import a\n\n\ndef test_a():\n    assert a.X == 1\n")
    pytester.makeini("[pytest]\npythonpath = .\n")
    (pytester.path / ".coverage").write_bytes(b"garbage" * 100)
    result = pytester.runpytest_subprocess(
        "--phase7", "--phase7-gates=coverage", "--cov", "--cov-append", "-p", "no:cacheprovider"
    )
    assert result.ret != 0
    assert "phase7: OK" not in result.stdout.str()


# --- the baseline: interrupted, failing and concurrent writes --------------------------------

SIZE_GATE = """
import os

from pytest_phase7.gates.base import GateResult, GateRun, GateStatus


class SizeGate:
    name = "size"
    title = "Size"
    needs_session = False

    def run(self, request):
        value = float(os.environ.get("PHASE7_FAKE_SIZE", "1"))
        return GateRun(
            "size",
            {t.ref: GateResult("size", GateStatus.PASS, metric=value) for t in request.targets},
        )


def pytest_phase7_add_gates(config):
    return [SizeGate()]
"""

OLD_BASELINE = b'{\n  "schema_version": 1,\n  "metrics": {"core/a.py": {"size": 5.0}}\n}\n'


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_interrupted_session_leaves_the_baseline_as_it_was(pytester: pytest.Pytester) -> None:
    phase7_project(pytester)
    pytester.makeconftest(SIZE_GATE)
    baseline = pytester.path / "phase7-baseline.json"
    baseline.write_bytes(OLD_BASELINE)
    pytester.makepyfile(test_x="def test_x():\n    raise KeyboardInterrupt\n")
    result = pytester.runpytest_inprocess(
        "--phase7",
        "--no-cov",
        "-p",
        "no:cacheprovider",
        "--phase7-gates=size",
        "--phase7-baseline=phase7-baseline.json",
        "--phase7-baseline-update",
        no_reraise_ctrlc=True,
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert baseline.read_bytes() == OLD_BASELINE
    assert leftovers(pytester.path) == []


@pytest.mark.parametrize("failure", [KeyboardInterrupt(), OSError(28, "No space left on device")])
def test_a_write_failing_midway_keeps_the_old_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    path = tmp_path / "phase7-baseline.json"
    path.write_bytes(OLD_BASELINE)

    def fail(fd: int) -> None:
        raise failure

    monkeypatch.setattr(atomic.os, "fsync", fail)
    with pytest.raises(type(failure)):
        write_baseline(path, {"core/a.py": {"size": 1.0}})
    assert path.read_bytes() == OLD_BASELINE
    assert leftovers(tmp_path) == []


WRITER = """
import sys
from pathlib import Path
from pytest_phase7.status.baseline import write_baseline

path, value = Path(sys.argv[1]), float(sys.argv[2])
metrics = {f"src/mod{n}.py": {"coverage": value, "ruff": value} for n in range(200)}
for _ in range(40):
    write_baseline(path, metrics)
"""


@pytest.mark.slow
def test_concurrent_baseline_writers_never_tear_the_file(tmp_path: Path) -> None:
    path = tmp_path / "phase7-baseline.json"
    write_baseline(path, {})
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), value]) for value in ("1", "2")
    ]
    reads = set()
    while any(w.poll() is None for w in writers):
        metrics = load_baseline(path, "baseline")  # a torn file would not parse
        assert len(metrics) in (0, 200)
        reads.add(frozenset(v["coverage"] for v in metrics.values()))
    assert [w.wait() for w in writers] == [0, 0]
    assert reads <= {frozenset(), frozenset({1.0}), frozenset({2.0})}
    final = load_baseline(path, "baseline")
    assert {v["coverage"] for v in final.values()} in ({1.0}, {2.0})
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_two_runs_updating_one_baseline_leave_one_complete_run(pytester: pytest.Pytester) -> None:
    phase7_project(pytester)
    pytester.makeconftest(SIZE_GATE)
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    # fail-on=never: a run that starts after the other has written sees its figure as the
    # baseline (a regression for the larger one); only the file is at stake here.
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--phase7",
        "--no-cov",
        "-p",
        "no:cacheprovider",
        "--phase7-gates=size",
        "--phase7-baseline-update",
        "--phase7-fail-on=never",
    ]
    runs = [
        subprocess.Popen(
            command,
            cwd=pytester.path,
            env={**os.environ, "PHASE7_FAKE_SIZE": size},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for size in ("2", "3")
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    written = json.loads((pytester.path / "phase7-baseline.json").read_text())
    assert written in (
        {"schema_version": 2, "metrics": {"core/a.py": {"size": 2.0}}, "counts": {}, "lowered": []},
        {"schema_version": 2, "metrics": {"core/a.py": {"size": 3.0}}, "counts": {}, "lowered": []},
    )
    assert leftovers(pytester.path) == []
