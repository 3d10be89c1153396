"""The subprocess helper: output capture, missing executables, and killing a whole group."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from deterministic import SteppingClock
from gate_helpers import VanishingEnviron

from pytest_phase7.gates import tools as tools_module
from pytest_phase7.gates.tools import (
    BACKGROUND_NICENESS,
    Deadline,
    ToolMissing,
    ToolOutput,
    autogroup_niceness,
    environ_now,
    missing_files,
    realpath_key,
    run_tool,
    tool_version,
)


def fake_exe(path: Path, body: str) -> Path:
    path.write_text(f"#!{sys.executable}\nimport os, subprocess, sys, time\n{body}\n")
    path.chmod(0o755)
    return path


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a recycled pid owned by someone else
        return True
    # A zombie is dead, just not reaped yet (by init, once its parent is gone).
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def wait_dead(pid: int, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


SLEEPER = """
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
with open(sys.argv[1], "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
print("started", flush=True)
time.sleep(60)
"""


def test_captures_exit_code_and_both_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SteppingClock(2.5)
    monkeypatch.setattr(tools_module, "time", clock)
    out = run_tool(
        [
            sys.executable,
            "-c",
            "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)",
        ],
        tmp_path,
        30,
    )
    assert out.returncode == 3
    assert out.stdout.strip() == "out"
    assert out.stderr.strip() == "err"
    assert not out.timed_out
    assert (out.seconds, clock.readings) == (2.5, 2)  # from start to exit


def test_runs_in_cwd_with_extra_env(tmp_path: Path) -> None:
    code = (
        "import os; print(os.getcwd()); print(os.environ['PHASE7_X']); print('PATH' in os.environ)"
    )
    out = run_tool([sys.executable, "-c", code], tmp_path, 30, env={"PHASE7_X": "yes"})
    lines = out.stdout.splitlines()
    assert os.path.realpath(lines[0]) == os.path.realpath(tmp_path)
    assert lines[1:] == ["yes", "True"]


def test_no_stdin(tmp_path: Path) -> None:
    # A tool that reads stdin must see EOF at once, not hang on the terminal.
    code = "import sys; print(repr(sys.stdin.read()))"
    out = run_tool([sys.executable, "-c", code], tmp_path, 30)
    assert out.stdout.strip() == "''"


def test_undecodable_output_is_replaced(tmp_path: Path) -> None:
    out = run_tool(
        [sys.executable, "-c", "import sys; sys.stdout.buffer.write(b'a\\xffb')"], tmp_path, 30
    )
    assert out.stdout == "a\ufffdb"


def test_missing_executable_raises_tool_missing(tmp_path: Path) -> None:
    with pytest.raises(ToolMissing) as info:
        run_tool([str(tmp_path / "nope")], tmp_path, 30)
    assert info.value.executable == str(tmp_path / "nope")
    assert "No such file" in info.value.reason


def test_non_executable_file_raises_tool_missing(tmp_path: Path) -> None:
    script = tmp_path / "tool"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    with pytest.raises(ToolMissing, match="Permission denied"):
        run_tool([str(script)], tmp_path, 30)


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_timeout_kills_the_tool_and_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    tool = fake_exe(tmp_path / "sleeper", SLEEPER)
    # Timed out, not finished: both processes sleep a minute, so alive until killed.
    out = run_tool([str(tool), str(pids)], tmp_path, 1.0)
    assert out.timed_out
    assert out.returncode != 0
    assert "started" in out.stdout  # output written before the kill is kept
    parent, child = (int(p) for p in pids.read_text().split())
    assert wait_dead(parent)
    assert wait_dead(child), "the tool's child survived the timeout"


def test_first_line_prefers_stderr() -> None:
    assert ToolOutput(2, "out\n", "\n  boom  \nmore", 0.1).first_line() == "boom"
    assert ToolOutput(2, "\nout\n", "", 0.1).first_line() == "out"
    assert ToolOutput(2, "", "", 0.1).first_line() == ""


def test_tool_version() -> None:
    assert tool_version(ToolOutput(0, "ruff 0.5.7\n", "", 0.1)) == "0.5.7"
    assert tool_version(ToolOutput(0, "mypy 1.11.2 (compiled: yes)\n", "", 0.1)) == "1.11.2"
    assert tool_version(ToolOutput(0, "no version here\n", "", 0.1)) == ""
    assert tool_version(ToolOutput(1, "ruff 0.5.7\n", "", 0.1)) == ""
    assert tool_version(ToolOutput(0, "", "", 0.1)) == ""


def test_deadline_never_reaches_zero() -> None:
    deadline = Deadline(0.0)
    assert 0 < deadline.remaining() <= 0.01


def test_missing_files_and_realpath_key(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    (tmp_path / "link.py").symlink_to(tmp_path / "a.py")
    assert missing_files(tmp_path, ["a.py", "b.py", "link.py"]) == {"b.py"}
    assert realpath_key(tmp_path, "link.py") == realpath_key(tmp_path, str(tmp_path / "a.py"))


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX priorities")
def test_niceness_lowers_the_tools_priority(tmp_path: Path) -> None:
    # The priority is set just after the process starts: the tool waits (bounded) to see it.
    code = (
        "import os, time\n"
        "end = time.monotonic() + 10\n"
        "while os.getpriority(os.PRIO_PROCESS, 0) == BASE and time.monotonic() < end:\n"
        "    time.sleep(0.01)\n"
        "print(os.getpriority(os.PRIO_PROCESS, 0) - BASE)\n"
    )
    base = os.getpriority(os.PRIO_PROCESS, 0)
    niced = run_tool([sys.executable, "-c", f"BASE = {base}\n{code}"], tmp_path, 30, niceness=5)
    assert niced.stdout.strip() == "5"
    plain = run_tool(
        [sys.executable, "-c", f"BASE = {base}\n{code.replace('< end', '< end - 9.9')}"],
        tmp_path,
        30,
    )
    assert plain.stdout.strip() == "0"


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX priorities")
def test_background_workers_run_at_the_lowest_priority(tmp_path: Path) -> None:
    # The interrogate and coverage workers use only CPU the tests and mypy leave idle.
    code = (
        "import os, time\n"
        "end = time.monotonic() + 10\n"
        "while os.getpriority(os.PRIO_PROCESS, 0) != 19 and time.monotonic() < end:\n"
        "    time.sleep(0.01)\n"
        "print(os.getpriority(os.PRIO_PROCESS, 0))\n"
    )
    worker = run_tool([sys.executable, "-c", code], tmp_path, 30, niceness=BACKGROUND_NICENESS)
    assert worker.stdout.strip() == "19"


def _own_autogroup_niceness() -> int | None:
    try:
        return autogroup_niceness(Path("/proc/self/autogroup").read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None


@pytest.mark.skipif(_own_autogroup_niceness() is None, reason="Linux scheduler autogroups")
def test_background_workers_session_group_runs_at_the_lowest_priority(tmp_path: Path) -> None:
    # A tool leads a session of its own; with autogroups, the session's group shares the CPU
    # equally with pytest's unless its own niceness is lowered too.
    code = (
        "import time\n"
        "end = time.monotonic() + 10\n"
        "read = lambda: open('/proc/self/autogroup').read().split()[-1]\n"
        "while read() != '19' and time.monotonic() < end:\n"
        "    time.sleep(0.01)\n"
        "print(read())\n"
    )
    worker = run_tool([sys.executable, "-c", code], tmp_path, 30, niceness=BACKGROUND_NICENESS)
    assert worker.stdout.strip() == "19"
    plain = run_tool([sys.executable, "-c", code.replace("< end", "< end - 9.9")], tmp_path, 30)
    assert plain.stdout.strip() == str(_own_autogroup_niceness())


@pytest.mark.parametrize(
    ("text", "niceness"),
    [
        ("/autogroup-40386 nice 0\n", 0),
        ("/autogroup-7 nice -5\n", -5),
        ("/autogroup-7 nice 19", 19),
        ("", None),
        ("/autogroup-7\n", None),
        ("nice\n", None),
        ("/autogroup-7 nice zero\n", None),
    ],
)
def test_autogroup_niceness_is_read_only_from_the_format_linux_writes(
    text: str, niceness: int | None
) -> None:
    assert autogroup_niceness(text) == niceness


@pytest.mark.parametrize("ours", ["", "/autogroup-1\n", "unexpected nice\n"])
def test_a_tool_runs_where_the_autogroup_file_says_something_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ours: str
) -> None:
    # Sandboxes and containers show /proc/PID/autogroup with other contents: the tool still
    # runs (lowered as a process), and no group niceness is written for it.
    monkeypatch.setattr(tools_module, "AUTOGROUP_FILE", str(tmp_path / "autogroup-{}"))
    (tmp_path / f"autogroup-{os.getpid()}").write_text(ours, encoding="ascii")
    output = run_tool([sys.executable, "-c", "print('ran')"], tmp_path, 30, niceness=19)
    assert (output.returncode, output.stdout.strip()) == (0, "ran")
    written = sorted(path.name for path in tmp_path.glob("autogroup-*"))
    assert written == [f"autogroup-{os.getpid()}"]


def test_a_tools_group_niceness_is_ours_lowered_by_the_niceness_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tools_module, "AUTOGROUP_FILE", str(tmp_path / "autogroup-{}"))
    (tmp_path / f"autogroup-{os.getpid()}").write_text("/autogroup-1 nice 3\n", encoding="ascii")
    run_tool([sys.executable, "-c", "pass"], tmp_path, 30, niceness=10)
    written = {path.name: path.read_text() for path in tmp_path.glob("autogroup-*")}
    del written[f"autogroup-{os.getpid()}"]
    assert list(written.values()) == ["13"]


def test_a_variable_removed_while_the_environment_is_copied_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = VanishingEnviron({**os.environ, "KEPT": "1"})
    with pytest.raises(KeyError):
        dict(environ.items())  # what copying os.environ does: list the keys, then read each
    monkeypatch.setattr(os, "environ", environ)
    copy = environ_now()
    assert copy["KEPT"] == "1"
    assert "PYTEST_CURRENT_TEST" not in copy
    script = "import os; print(os.environ['KEPT'], 'PYTEST_CURRENT_TEST' in os.environ)"
    out = run_tool([sys.executable, "-c", script], tmp_path, timeout=60)
    assert (out.returncode, out.stdout.split()) == (0, ["1", "False"])
