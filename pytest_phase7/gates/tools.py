"""Running a quality tool in a subprocess, safely and with a deadline.

The static gates run in threads while the test session runs, so every tool runs out of process
(no GIL contention, no shared global state). Each process gets its own session (process group) so
that a timeout can kill the tool *and* everything it spawned: a hung ``mypy`` daemon child or a
worker pool must not outlive the gate. Commands are argument lists, never shell strings.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Environment for ``python -m tool`` runs in the rootdir: ``-m`` would put the rootdir first on
#: ``sys.path``, so a project's own ``click.py`` or ``typing_extensions.py`` would shadow the
#: tool's dependencies. Python 3.11+ honours this (like the tools' console scripts, which do not
#: see the current directory); 3.10 ignores it.
SAFE_PATH_ENV: Mapping[str, str] = {"PYTHONSAFEPATH": "1"}

#: What coverage.py (``patch = ["subprocess"]``, ``COVERAGE_PROCESS_START``) and pytest-cov
#: before 7.0 set to measure the test session's subprocesses. A gate's tool is not the tests'
#: code: measured, it would write a parallel data file as it exits, after pytest-cov combined the
#: session's data (a ``.coverage.*`` file left behind), and run slower.
MEASUREMENT_ENV = frozenset(
    {
        "COVERAGE_PROCESS_START",
        "COVERAGE_PROCESS_CONFIG",
        "COV_CORE_SOURCE",
        "COV_CORE_CONFIG",
        "COV_CORE_DATAFILE",
    }
)

#: Niceness of helper processes that are off the critical path (ruff, the interrogate and
#: coverage workers): the lowest priority, so that they run on CPU the tests and mypy (the usual
#: longest gate) leave idle. At a middling niceness they still took a share of both cores next
#: to the tests and mypy on a 2-core machine, lengthening the run by what they took; their
#: results are wanted only once the tests are over, when a core is free.
BACKGROUND_NICENESS = 19

#: How long to wait for a killed process group to close its pipes before giving up on them.
_DRAIN_SECONDS = 5.0

#: Tool processes that are running now (started by :func:`run_tool`, not yet reaped).
_RUNNING: set[subprocess.Popen[bytes]] = set()
_RUNNING_LOCK = threading.Lock()


def environ_now() -> dict[str, str]:
    """A copy of ``os.environ`` that another thread setting or removing a variable cannot break.

    pytest sets and removes ``PYTEST_CURRENT_TEST`` around every test while the gates run in
    threads beside them. Copying ``os.environ`` (``dict()``, ``.items()``, ``.copy()``) lists its
    keys first and reads each value after, so a variable removed in between raises ``KeyError``;
    a variable gone by the time it is read is left out instead.
    """
    copy = {}
    for key in list(os.environ):
        value = os.environ.get(key)
        if value is not None:
            copy[key] = value
    return copy


def python_executable() -> str:
    """The Python that runs ``python -m TOOL``: the one running pytest.

    Each gate module imports this name: a test points one gate at another Python by patching
    that module's ``python_executable``.
    """
    return sys.executable


def forbidden_flag(args: Sequence[str], forbidden: Sequence[str]) -> str:
    """The first of ``forbidden`` that ``args`` passes to a tool, else "".

    A flag counts however it is written: ``--output text``, ``--output=text``, and a short one
    with its value glued on (``-Ojson``, ``-ofile``).
    """
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag in forbidden:
            return flag
        if len(arg) > 2 and arg[0] == "-" and arg[1] != "-" and arg[:2] in forbidden:
            return arg[:2]
    return ""


class ToolMissing(Exception):
    """The tool's executable cannot be started (not installed, not executable)."""

    def __init__(self, executable: str, reason: str) -> None:
        """Remember which executable failed to start and why."""
        self.executable = executable
        self.reason = reason
        super().__init__(f"{executable}: {reason}")


@dataclass(frozen=True)
class ToolOutput:
    """What one tool process did: exit code, decoded output, wall time, whether it timed out.

    ``returncode`` is negative (the signal number) for a killed process, as in ``subprocess``.
    """

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False

    def first_line(self) -> str:
        """Return the first non-empty line of stderr, else of stdout (a one-line reason)."""
        for text in (self.stderr, self.stdout):
            for line in text.splitlines():
                if line.strip():
                    return line.strip()
        return ""


class Deadline:
    """A time budget shared by the several processes one gate may start."""

    def __init__(self, seconds: float) -> None:
        """Start the clock with ``seconds`` to spend."""
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left (never below a small positive floor, so a call can still time out)."""
        return max(self._end - time.monotonic(), 0.01)


def run_tool(
    argv: Sequence[str],
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    *,
    niceness: int = 0,
) -> ToolOutput:
    """Run ``argv`` in ``cwd``, killing its whole process group after ``timeout`` seconds.

    ``env`` adds to (overrides) the current environment, less :data:`MEASUREMENT_ENV`. Output
    is decoded as UTF-8, replacing undecodable bytes. Raises :class:`ToolMissing` when the
    executable cannot be started.
    ``niceness`` > 0 lowers the process's CPU priority (POSIX), for work that is not on the
    session's critical path: it then uses the CPU the tests and the slowest tool leave idle.
    """
    command = [str(part) for part in argv]
    environment = {k: v for k, v in environ_now().items() if k not in MEASUREMENT_ENV}
    environment.update(env or {})
    started = time.perf_counter()
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # Its own session: on timeout we kill the group, i.e. the tool and its children.
            start_new_session=sys.platform != "win32",
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        raise ToolMissing(command[0], exc.strerror or type(exc).__name__) from None
    except OSError as exc:  # e.g. ENOEXEC: a file that is not a program
        raise ToolMissing(command[0], exc.strerror or str(exc)) from None
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    try:
        if niceness > 0 and hasattr(os, "setpriority"):
            _lower_priority(process.pid, niceness)
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        out, err = _drain(process)
        return ToolOutput(
            process.returncode if process.returncode is not None else -signal.SIGKILL,
            _decode(out),
            _decode(err),
            time.perf_counter() - started,
            timed_out=True,
        )
    except BaseException:
        # KeyboardInterrupt or a failing thread: never leave the tool running behind us.
        _kill_group(process)
        _drain(process)
        raise
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)
    return ToolOutput(process.returncode, _decode(out), _decode(err), time.perf_counter() - started)


def _lower_priority(pid: int, niceness: int) -> None:
    """Lower a tool's CPU priority by ``niceness`` below pytest's own (best effort).

    The tool leads a session of its own (see :func:`run_tool`), and where Linux groups the
    processes of a session for scheduling (``/proc/sys/kernel/sched_autogroup_enabled``), the
    groups share the CPU equally whatever their processes' niceness: the group's own niceness
    (``/proc/PID/autogroup``) is lowered too, or the tool would still take as much CPU as the
    tests.
    """
    # The process may already have exited, or the platform may refuse: the tool runs anyway.
    with contextlib.suppress(OSError):
        ours = os.getpriority(os.PRIO_PROCESS, 0)  # relative to pytest's own priority
        os.setpriority(os.PRIO_PROCESS, pid, min(ours + niceness, 19))
    if sys.platform.startswith("linux"):
        # Containers and sandboxes may show the file with other contents (or none): no group
        # niceness is read there, and none is written.
        with contextlib.suppress(OSError, ValueError):
            ours_group = autogroup_niceness(
                Path(AUTOGROUP_FILE.format(os.getpid())).read_text(encoding="ascii")
            )
            if ours_group is not None:
                Path(AUTOGROUP_FILE.format(pid)).write_text(
                    str(min(ours_group + niceness, 19)), encoding="ascii"
                )


#: Where Linux shows (and takes) a process's scheduler autogroup niceness.
AUTOGROUP_FILE = "/proc/{}/autogroup"

_AUTOGROUP_NICENESS = re.compile(r"\bnice\s+(-?\d+)\s*$")


def autogroup_niceness(text: str) -> int | None:
    """The niceness in a ``/proc/PID/autogroup`` text (``/autogroup-42 nice 0``), or ``None``."""
    found = _AUTOGROUP_NICENESS.search(text)
    return int(found.group(1)) if found else None


def kill_running() -> int:
    """Kill every tool process still running, with its process group; return how many.

    For a session that ends before its gates do (Ctrl-C, a gate past its join deadline): the
    gate threads see their tool die and return, instead of keeping pytest alive until the tools'
    own timeouts while the tools outlive it.
    """
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for process in running:
        _kill_group(process)
    return len(running)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    if sys.platform != "win32":
        # The group may already be gone (or never have been ours); the leader is killed anyway.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()


def _drain(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    # A grandchild that left our process group could keep the pipes open forever: read for a
    # bounded time, then close them and move on.
    try:
        return process.communicate(timeout=_DRAIN_SECONDS)
    except subprocess.TimeoutExpired:
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        # Killed already; a process stuck in the kernel (a dead network mount) is left behind
        # rather than waited for without end.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=_DRAIN_SECONDS)
        return b"", b""


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def tool_version(output: ToolOutput) -> str:
    """Return the version in a ``--version`` answer (``ruff 0.5.0`` -> ``0.5.0``), else ``""``.

    Only the first line counts; the first word that starts with a digit is the version.
    """
    if output.timed_out or output.returncode != 0:
        return ""
    lines = output.stdout.strip().splitlines()
    for word in lines[0].split() if lines else ():
        if word[:1].isdigit():
            return word
    return ""


def missing_files(rootdir: Path, files: Sequence[str]) -> set[str]:
    """Return those of ``files`` (rootdir-relative) that are not regular files (any more)."""
    return {rel for rel in files if not (rootdir / rel).is_file()}


def realpath_key(rootdir: Path, path: str) -> str:
    """Return a comparable key for a path a tool printed (absolute, or relative to ``rootdir``)."""
    return os.path.realpath(os.path.join(rootdir, path))
