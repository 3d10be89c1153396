"""Measure one command: wall time, CPU time and peak memory of its whole process tree.

* **Wall**: ``time.perf_counter`` around the child's life.
* **CPU**: the delta of ``resource.getrusage(RUSAGE_CHILDREN)`` (user + system) across the run.
  The kernel adds a child's CPU time, *including that of every descendant it waited for*
  (pytest waits for mypy, ruff and the interrogate worker), when we reap it. A descendant left
  to exit on its own (``pytest --phase7``'s helper, after its answer) would be reparented to
  init and its CPU lost: this process adopts such orphans (:func:`adopt_orphans`, Linux) and
  reaps them after the command (:func:`reap_orphans`).
* **Peak RSS, tree**: every ``POLL_SECONDS`` the process tree is walked through
  ``/proc/<pid>/task/<tid>/children`` (children of *every thread*: phase7's gates start their
  tools from background threads) and the ``VmRSS`` of all its processes is summed; the largest
  sum is the tree's peak. Sampling can miss spikes shorter than the interval.
* **Peak RSS, largest process**: ``ru_maxrss`` from ``os.wait4`` for the child, which Linux
  reports as the largest peak of any single process in the tree (not a sum).
* **Peak RSS, the command's own process** (pytest itself, without the tools it starts): the last
  ``VmHWM`` read from ``/proc/<pid>/status`` while polling.

No psutil, no ``/usr/bin/time``: only the standard library and ``/proc`` (Linux).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.02


@dataclass(frozen=True)
class Measurement:
    """What one command cost."""

    wall: float
    cpu: float
    rss_tree_kb: int
    rss_proc_kb: int
    returncode: int
    rss_root_kb: int = 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
                found.extend(int(p) for p in text.split())
    return found


def _rss_kb(pid: int, field: str = "VmRSS:") -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def tree_rss_kb(root: int) -> int:
    """The summed resident memory of ``root`` and all its descendants, in KiB."""
    total = 0
    stack = [root]
    seen: set[int] = set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_kb(pid)
        stack.extend(_children(pid))
    return total


class _Poller(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.root_hwm = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, tree_rss_kb(self.pid))
            self.root_hwm = max(self.root_hwm, _rss_kb(self.pid, "VmHWM:"))
            self.done.wait(POLL_SECONDS)


def cpu_children() -> float:
    """User + system CPU seconds of this process's reaped children (and what they reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


#: ``prctl(2)``'s option making a process the reaper of its descendants' orphans (Linux).
_PR_SET_CHILD_SUBREAPER = 36

#: How long :func:`reap_orphans` waits for an adopted orphan still running.
ORPHAN_SECONDS = 30.0


def adopt_orphans() -> bool:
    """Become the reaper of this process's orphaned descendants (Linux), so that their CPU counts.

    Without it a descendant that outlives its parent (``pytest --phase7``'s helper is told to stop
    and left to exit) is reparented to init, and ``RUSAGE_CHILDREN`` never sees its CPU seconds.
    False where the platform has no such call.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_orphans(timeout: float = ORPHAN_SECONDS) -> None:
    """Wait for every child left to this process, adopted orphans included (CPU, not wall).

    Call it only when no other thread has a child it is about to wait for.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return  # a stuck descendant: its CPU is not counted, the run goes on
            time.sleep(0.005)


def run_measured(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
) -> Measurement:
    """Run ``argv`` in ``cwd`` with output to ``log`` and return what it cost."""
    adopt_orphans()
    cpu_before = cpu_children()
    with log.open("ab") as out:
        out.write(("\n$ " + " ".join(argv) + "\n").encode())
        out.flush()
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
        poller = _Poller(process.pid)
        poller.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        poller.done.set()
        poller.join()
        process.returncode = os.waitstatus_to_exitcode(status)
    reap_orphans()
    cpu = cpu_children() - cpu_before
    return Measurement(
        wall=wall,
        cpu=cpu,
        rss_tree_kb=max(poller.peak, usage.ru_maxrss),
        rss_proc_kb=usage.ru_maxrss,
        returncode=process.returncode,
        rss_root_kb=poller.root_hwm,
    )
