"""The helper process: phase7's work beside the tests, with the test process's own answer.

End to end, a ``pytest --phase7`` subprocess forks the helper and must print, write and exit
exactly as the same run with ``--phase7-in-process`` does, while importing none of the engine;
where the helper cannot give that answer (a conftest implements phase7's hooks or changes a
setting, the helper dies) the work is done in the test process. In this process, a thread
stands in for the forked child (coverage.py measures no forked child), so that the helper's
side is exercised here too.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import re
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_phase7 import helper as helper_module
from pytest_phase7.helper import (
    Channel,
    Helper,
    HelperLost,
    StartUp,
    third_party_hooks,
    why_not_helper,
)
from pytest_phase7.settings import Settings

PLAN = """# Plan

### Batch 1: Unit Tests
**Items:** 1-2

| # | Module | File | Status |
|---|--------|------|--------|
| 1 | Core | core.py | QUEUED |
| 2 | Core | half.py | QUEUED |
"""

CORE = '"""Core."""\n\n\ndef add(a: int, b: int) -> int:\n    """Add."""\n    return a + b\n'
HALF = (
    '"""Half."""\n\n\ndef sign(x: int) -> str:\n    """Sign."""\n    if x > 0:\n'
    '        return "+"\n    if x < 0:\n        return "-"\n    return "0"\n'
)
TESTS = (
    "import core\nimport half\n\n\ndef test_add():\n    assert core.add(1, 2) == 3\n\n\n"
    "def test_sign():\n    assert half.sign(1) == '+'\n"
)

#: Records, at the end of the run, which of phase7's modules this process imported.
RECORDER = """
import json, os, sys


def pytest_unconfigure(config):
    with open(os.path.join(str(config.rootpath), "parent.json"), "w") as out:
        json.dump(sorted(name for name in sys.modules if name.startswith("pytest_phase7")), out)
"""

#: What the test process imports when the helper does the work: the plugin, the options, the
#: session's facts and the client; none of the engine, the plan's readers, gates or reports.
TEST_PROCESS_MODULES = [
    "pytest_phase7",
    "pytest_phase7.activation",
    "pytest_phase7.errors",
    "pytest_phase7.files",
    "pytest_phase7.helper",
    "pytest_phase7.hookspecs",
    "pytest_phase7.plainimport",
    "pytest_phase7.plugin",
    "pytest_phase7.resolve",
    "pytest_phase7.resolve.selection",
    "pytest_phase7.settings",
    "pytest_phase7.testrun",
    "pytest_phase7.tomltext",
    "pytest_phase7.wording",
]


def project(root: Path, conftest: str = RECORDER) -> Path:
    """A two-item project: core.py fully covered, half.py half (coverage blocks the merge)."""
    root.mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[tool.phase7]\nmanifest = "PLAN.md"\ncoverage_min = 60\nfail_on = "incomplete"\n',
        encoding="utf-8",
    )
    (root / "PLAN.md").write_text(PLAN, encoding="utf-8")
    (root / "core.py").write_text(CORE, encoding="utf-8")
    (root / "half.py").write_text(HALF, encoding="utf-8")
    (root / "test_core.py").write_text(TESTS, encoding="utf-8")
    (root / "conftest.py").write_text(conftest, encoding="utf-8")
    return root


def run(root: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """``pytest --phase7 FLAGS`` in ``root``, in a subprocess that no tracer measures."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV", "PYTEST_"))}
    env["COLUMNS"] = "120"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--phase7", "-p", "no:randomly", *flags],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def table(output: str) -> str:
    """The run's output from the status table on, without pytest's timing."""
    start = output.index("Phase 7 status")
    return re.sub(r" in [0-9.]+s", "", output[start:])


def imported(root: Path) -> list[str]:
    """phase7's modules the test process of the last run in ``root`` imported."""
    modules: list[str] = json.loads((root / "parent.json").read_text(encoding="utf-8"))
    return modules


def engine_imported(root: Path) -> bool:
    return "pytest_phase7.engine" in imported(root)


def report_without_times(path: Path) -> Any:
    """A JSON report without its clock readings (when, how long) and its folder."""
    text = re.sub(r'"(generated_at|duration_s|seconds)": [^,}\n]+', '"t": 0', path.read_text())
    report = json.loads(text)
    report.pop("rootdir")
    return report


@pytest.mark.slow
@pytest.mark.parametrize("flags", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_the_helper_answers_as_the_test_process_does(
    tmp_path: Path, flags: tuple[str, ...]
) -> None:
    outputs = ["--phase7-json=report.json", "--phase7-md=report.md", *flags]
    helped = run(project(tmp_path / "helped"), *outputs)
    local = run(project(tmp_path / "local"), "--phase7-in-process", *outputs)
    assert imported(tmp_path / "helped") == TEST_PROCESS_MODULES, helped.stdout
    assert engine_imported(tmp_path / "local")  # the control: the same recorder sees it
    assert helped.returncode == local.returncode == 1, helped.stdout + helped.stderr
    assert table(helped.stdout) == table(local.stdout)
    assert "half.py" in table(helped.stdout)
    markdown = [
        re.sub(r"\([0-9.]+ s\)", "", (tmp_path / side / "report.md").read_text())
        for side in ("helped", "local")
    ]
    assert markdown[0] == markdown[1]
    assert report_without_times(tmp_path / "helped" / "report.json") == report_without_times(
        tmp_path / "local" / "report.json"
    )


@pytest.mark.slow
def test_what_the_plan_refuses_is_the_same_usage_error(tmp_path: Path) -> None:
    helped, local = project(tmp_path / "helped"), project(tmp_path / "local")
    for root in (helped, local):
        (root / "PLAN.md").write_text(PLAN.replace("| 2 |", "| 1 |"), encoding="utf-8")
    got = run(helped, "-q")
    want = run(local, "-q", "--phase7-in-process")
    assert got.returncode == want.returncode == 4, got.stdout + got.stderr
    assert "phase7:" in got.stderr
    assert got.stderr == want.stderr


@pytest.mark.slow
def test_a_conftest_with_phase7_hooks_has_its_work_done_in_the_test_process(
    tmp_path: Path,
) -> None:
    hooks = RECORDER + (
        "\n\ndef pytest_phase7_report_sections(result):\n"
        "    return [('Custom', f'{len(result.outcomes)} outcomes')]\n"
    )
    root = project(tmp_path / "p", hooks)
    done = run(root)
    assert engine_imported(root)
    assert "2 outcomes" in done.stdout, done.stdout + done.stderr


@pytest.mark.slow
def test_a_setting_a_conftest_changes_is_the_one_the_run_uses(tmp_path: Path) -> None:
    changing = RECORDER + (
        "\n\nimport pytest\n\n\n@pytest.hookimpl(tryfirst=True)\ndef pytest_configure(config):\n"
        "    config.option.phase7_coverage_min = 40\n"
    )
    root = project(tmp_path / "p", changing)
    done = run(root)
    assert engine_imported(root)
    assert done.returncode == 0, done.stdout + done.stderr  # half.py's 60% passes 40


#: Kills the helper once the session starts: the test process must do the work itself.
KILLER = (
    RECORDER
    + """
import signal


def pytest_sessionstart(session):
    work = session.config.pluginmanager.get_plugin("phase7-run").work
    os.kill(work.helper.pid, signal.SIGKILL)
"""
)


@pytest.mark.slow
def test_a_helper_that_dies_costs_the_run_nothing_but_time(tmp_path: Path) -> None:
    killed = run(project(tmp_path / "killed", KILLER))
    local = run(project(tmp_path / "local"), "--phase7-in-process")
    assert killed.returncode == local.returncode == 1
    assert "the gates run in the test process instead" in killed.stdout
    assert table(killed.stdout) == table(local.stdout)


# --- in this process ---------------------------------------------------------------------------


def test_a_message_goes_through_whole_and_the_end_of_the_pipe_reads_none() -> None:
    reading, writing = os.pipe()
    channel = Channel(reading, writing)
    message = ("finished", True, [["text", {"red": True}]], "é" * 70000)  # more than a pipe holds
    sender = threading.Thread(target=channel.send, args=(message,))
    sender.start()
    assert channel.receive(ready=5) == message
    sender.join(10)
    os.close(writing)
    assert channel.receive() is None
    os.close(reading)


def test_a_message_cut_short_or_garbled_is_a_lost_helper() -> None:
    for payload in (b"\x00\x00\x00\x00\x00\x00\x00\x09[1", b"\x00\x00\x00\x00\x00\x00\x00\x03[1,"):
        reading, writing = os.pipe()
        os.write(writing, payload)
        os.close(writing)
        with pytest.raises(HelperLost):
            Channel(reading, writing).receive()
        os.close(reading)


def test_a_silent_helper_times_out_and_a_dead_one_is_lost() -> None:
    reading, writing = os.pipe()
    with pytest.raises(TimeoutError):
        Channel(reading, writing).receive(ready=0.01)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    helper = Helper(dead.pid, Channel(reading, writing), Settings())
    with pytest.raises(HelperLost, match="ended without answering"):
        helper.header()
    os.close(reading)
    os.close(writing)


def test_a_helper_that_answered_is_left_to_exit_on_its_own_and_reaped_later() -> None:
    """Its exit is not on the run's critical path: close() neither waits for it nor kills it."""
    from_child, answers = os.pipe()
    requests, to_child = os.pipe()
    still_exiting = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    helper = Helper(still_exiting.pid, Channel(from_child, to_child), Settings())
    Channel(requests, answers).send(("finished", True, [["said", {}]], [[], [], []], ""))
    try:
        blocked, said, _ = helper.finish({"suite": None})
        assert (blocked, said) == (True, [("said", {})])
        helper.close()
        # Not reaped, not killed: close() would have waited up to its grace, then killed it.
        assert os.waitpid(still_exiting.pid, os.WNOHANG) == (0, 0)
        assert still_exiting.pid in helper_module._EXITING
        still_exiting.kill()  # it exits: the next fork reaps it
        for _ in range(500):  # a bound on a hang, not a timing
            helper_module.reap_finished()
            if still_exiting.pid not in helper_module._EXITING:
                break
            time.sleep(0.01)
        assert still_exiting.pid not in helper_module._EXITING
        with pytest.raises(ChildProcessError):
            os.waitpid(still_exiting.pid, os.WNOHANG)  # reaped: no zombie left behind
    finally:
        still_exiting.kill()
        still_exiting.wait()
    for fd in (requests, answers):
        os.close(fd)


def test_the_objects_at_the_fork_are_frozen_and_a_program_gets_them_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The garbage collector walks none of them after the fork; a program's run gives them back."""
    monkeypatch.setattr(os, "fork", lambda: 2**22 + 1)  # the parent's side, and no child
    monkeypatch.setattr(os, "setpgid", lambda *args: None)
    start = StartUp(argparse.Namespace(), Settings(), {}, "")
    frozen = gc.get_freeze_count()
    helper = helper_module.fork_helper(None, start)  # type: ignore[arg-type]
    try:
        assert gc.get_freeze_count() > frozen
        monkeypatch.setattr(helper_module, "exits_after_run", lambda *args: True)
        helper_module.thaw()  # pytest on the command line: the process exits now
        assert gc.get_freeze_count() > frozen
        monkeypatch.setattr(helper_module, "exits_after_run", lambda *args: False)
        helper_module.thaw()  # pytest.main() called by a program, which goes on
        assert gc.get_freeze_count() == 0
    finally:
        helper.channel.close()
        gc.unfreeze()


def test_a_fork_the_system_refuses_leaves_the_work_in_the_test_process(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    monkeypatch.setattr(helper_module, "why_not_helper", lambda *args: "")
    gc.unfreeze()  # whatever this process froze before is the collector's again
    config = pytester.parseconfig()
    start = StartUp(argparse.Namespace(), Settings(), {}, "")
    assert helper_module.start_helper(config, start) is False
    assert helper_module.HELPER_KEY not in config.stash
    assert gc.get_freeze_count() == 0  # nothing stays frozen for a fork that did not happen


def test_a_run_exits_after_it_when_the_command_line_entry_called_it() -> None:
    def entry(depth: int) -> bool:
        return main(depth)

    def main(depth: int) -> bool:  # pytest.main: the innermost frame of it is this run's
        if depth:
            return pytester(depth - 1)
        return helper_module.exits_after_run({main.__code__}, {entry.__code__})

    def pytester(depth: int) -> bool:  # a run inside a run, as pytester's in-process runs are
        return main(depth)

    assert entry(0) is True
    assert entry(1) is False
    assert pytester(0) is False
    assert helper_module.exits_after_run({main.__code__}, {entry.__code__}) is False


#: A conftest recording whether the helper would take its run for pytest's command line's.
EXITS_RECORDER = (
    "import json\n\n\ndef pytest_sessionfinish(session):\n"
    "    from pytest_phase7.helper import _run_and_entry_points, exits_after_run\n"
    "    exits = exits_after_run(*_run_and_entry_points())\n"
    "    (session.config.rootpath / 'exits.json').write_text(json.dumps(exits))\n"
)


def test_pytest_on_the_command_line_exits_with_the_objects_frozen(
    pytester: pytest.Pytester,
) -> None:
    """This pytest's entry points as the helper sees them, on the command line and in a program."""
    pytester.makeconftest(EXITS_RECORDER)
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    exits = pytester.path / "exits.json"
    run = pytester.runpytest_subprocess("-p", "no:randomly")
    assert run.ret == 0, run.stdout.str()
    assert json.loads(exits.read_text(encoding="utf-8")) is True
    called = pytester.runpytest_inprocess("-p", "no:randomly")  # pytest.main() in a program
    assert called.ret == 0, called.stdout.str()
    assert json.loads(exits.read_text(encoding="utf-8")) is False


def test_the_helper_is_not_used_where_its_answer_could_differ(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each condition on its own: this process itself may run traced (coverage run).
    monkeypatch.setattr(helper_module, "outer_coverage", lambda: None)
    monkeypatch.setattr(helper_module, "_monitored", lambda: False)
    monkeypatch.setattr(sys, "gettrace", lambda: None)
    config = pytester.parseconfig()
    namespace = config.known_args_namespace
    assert why_not_helper(config, namespace, Settings()) == ""
    assert why_not_helper(config, namespace, Settings(in_process=True)) == "in_process is set"
    blocked = pytester.parseconfig("-p", "no:cacheprovider")
    assert "cache" in why_not_helper(blocked, blocked.known_args_namespace, Settings())
    monkeypatch.setattr(helper_module, "outer_coverage", object)
    assert "tracer" in why_not_helper(config, namespace, Settings())
    monkeypatch.setattr(helper_module, "outer_coverage", lambda: None)
    started, stop = threading.Event(), threading.Event()

    def idle() -> None:
        started.set()
        stop.wait(10)

    thread = threading.Thread(target=idle)
    thread.start()
    started.wait(10)
    try:
        assert why_not_helper(config, namespace, Settings()) == (
            "another thread runs in the test process"
        )
    finally:
        stop.set()
        thread.join()


def test_the_helper_reads_the_sessions_data_as_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import coverage

    source = tmp_path / "half.py"
    source.write_text(HALF, encoding="utf-8")
    data = coverage.CoverageData(basename=str(tmp_path / ".coverage"))
    data.add_lines({str(source): [4, 6, 7]})  # sign(1): its + branch only
    data.write()
    monkeypatch.chdir(tmp_path)
    spec = {
        "data_file": str(tmp_path / ".coverage"),
        "source": None,
        "branch": None,
        "config_file": False,
        "topdir": str(tmp_path),
        "problem": "",
        "hint": "",
    }
    session = helper_module.session_data_from(spec)
    cov: Any = session.coverage
    _, statements, _, missing, _ = cov.analysis2(str(source))
    assert (statements, missing) == ([4, 6, 7, 8, 9, 10], [8, 9, 10])
    nothing = helper_module.session_data_from({**spec, "data_file": "", "problem": "p"})
    assert (nothing.coverage, nothing.problem) == (None, "p")


#: What a stand-in for the forked child runs, given its channel and ``fork_helper``'s arguments.
ChildBody = Callable[[Channel, Any, StartUp], None]


def fork_in_a_thread(body: ChildBody, started: list[ThreadHelper]) -> Callable[..., Helper]:
    """A ``fork_helper`` whose child is ``body`` running in a thread of this process."""

    def fork(config: Any, start: StartUp) -> Helper:
        requests, to_child = os.pipe()
        from_child, answers = os.pipe()
        child = Channel(requests, answers)

        def run_child() -> None:
            try:
                body(child, config, start)
            finally:
                child.close()

        thread = threading.Thread(target=run_child, daemon=True)
        helper = ThreadHelper(thread, Channel(from_child, to_child), start.settings)
        thread.start()
        started.append(helper)
        return helper

    return fork


class ThreadHelper(Helper):
    """A helper whose "process" is a thread of this one (``serve`` runs as the child would)."""

    def __init__(self, thread: threading.Thread, channel: Channel, settings: Settings) -> None:
        super().__init__(os.getpid(), channel, settings)
        self.thread = thread

    def _running(self) -> bool:
        return self.thread.is_alive()

    def _kill(self) -> None:
        raise AssertionError("the helper's thread did not stop")


def test_the_helpers_side_serves_the_run_here_too(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_root = project(pytester.path)
    served: list[ThreadHelper] = []

    def serve(child: Channel, config: Any, start: StartUp) -> None:
        # A copy, as the forked child's config is: serve() sets its own config.option.
        helper_module.serve(child, copy.copy(config), start)

    monkeypatch.setattr(helper_module, "why_not_helper", lambda *args: "")
    monkeypatch.setattr(helper_module, "fork_helper", fork_in_a_thread(serve, served))
    # No coverage: this process may itself run under coverage run, which only it can read.
    result = pytester.runpytest_inprocess(
        "--phase7", "--no-cov", "-p", "no:randomly", "--phase7-json=report.json"
    )
    assert served, "the run did not start the helper"
    assert result.ret == 1, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "phase7: PLAN.md (2 items, 2 targets)*",
            "*Phase 7 status*",
            "*half.py  ERROR*",
            "ERROR coverage: coverage was disabled with --no-cov (hint: drop --no-cov)",
            "phase7: merge BLOCKED*",
        ]
    )
    assert "in the test process instead" not in result.stdout.str()
    report = json.loads((project_root / "report.json").read_text(encoding="utf-8"))
    assert report["verdict"]["blocked"] is True
    assert report["suite"]["complete"] is True


def test_phase7s_own_hook_implementations_are_not_anothers(pytester: pytest.Pytester) -> None:
    from pytest_phase7.gates import BuiltinGates

    config = pytester.parseconfig()
    config.pluginmanager.register(BuiltinGates(new_lines=False), "phase7-builtin-gates")
    assert third_party_hooks(config) == []
    theirs = types.ModuleType("their_plugin")
    theirs.pytest_phase7_item_status = lambda outcome: None  # type: ignore[attr-defined]
    config.pluginmanager.register(theirs, "theirs")
    assert third_party_hooks(config) == ["theirs"]


@pytest.mark.parametrize("dies", ["before planning", "after planning"])
def test_a_lost_helper_hands_the_work_to_the_test_process(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dies: str
) -> None:
    project(pytester.path)

    def answer_then_die(child: Channel, config: Any, start: StartUp) -> None:
        if dies == "after planning":
            child.send(("planned", "phase7: planned by a helper that will die", ""))
            child.receive()  # the session's facts: no answer to them

    monkeypatch.setattr(helper_module, "why_not_helper", lambda *args: "")
    monkeypatch.setattr(helper_module, "fork_helper", fork_in_a_thread(answer_then_die, []))
    result = pytester.runpytest_inprocess("--phase7", "--no-cov", "-p", "no:randomly")
    output = result.stdout.str()
    assert "the helper process ended without answering; the gates run in the test process" in (
        output
    )
    # The test process's own answer: --no-cov makes coverage an ERROR, which blocks the merge.
    result.stdout.fnmatch_lines(
        ["*Phase 7 status*", "*core.py  ERROR*", "phase7: merge BLOCKED (fail-on=incomplete)*"]
    )
    assert result.ret == 1, output
