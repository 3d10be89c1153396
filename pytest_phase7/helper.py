"""The helper process: phase7's work beside the tests, on a core of its own.

At start-up the test process forks (:func:`start_helper`). The child, a copy of pytest as it
stands before the conftests load, does what the test process would otherwise do itself: it reads
the plan, resolves the targets, checks the output paths, starts the static gates (or finds their
answers in the cache) and waits. After the tests, the test process sends what only it knows
(which suite ran, where pytest-cov's data is, how many tests failed, the terminal's width); the
helper computes the figures, writes the files, and answers with the verdict and the lines of
the summary (:class:`pytest_phase7.testrun.Summary`). The test process imports none of the
engine, the gates or the reports: their imports, the plan, the cache lookups and the coverage
figures leave the tests' critical path for the core the tests leave idle.

The helper is used only where its answer is the test process's own, and is not started (or is
stopped, and the work done in the test process) otherwise: on a platform without ``fork``;
with ``in_process`` set; when another thread runs (forking it is unsafe) or a tracer does
(``coverage run -m pytest``, a debugger: the child would run traced, and phase7 reads that
measurement in the test process); when pytest's cache may change under it (``--cache-clear``,
no cache provider) or no gate runs (``--collect-only``); when a plugin or a conftest implements
one of phase7's hooks (they run in the test process); when a conftest changes a setting. A helper
that dies, or cannot read the session's data, costs the run nothing but time: the test process
then does the work itself, and says so.

Messages are JSON arrays of plain values, each preceded by its length.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import select
import signal
import sys
import time
from collections.abc import Mapping
from types import CodeType, FrameType, ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

import pytest

from pytest_phase7.activation import WORKER_KEY, outer_coverage, read_settings
from pytest_phase7.errors import Phase7Error
from pytest_phase7.settings import Settings
from pytest_phase7.testrun import (
    FULL_RUN_HINT,
    PARSER_KEY,
    Summary,
    cache_is_stable,
    declare_suite,
    judge_selection,
    say,
    session_coverage,
)

if TYPE_CHECKING:
    from pytest_phase7.engine import Engine, RunResult
    from pytest_phase7.gates.base import SessionData
    from pytest_phase7.session import LocalRun

#: A message between the two processes: its kind first, then plain values.
Message = tuple[Any, ...]
#: A line the helper asks the test process to say: its text and markup.
Said = tuple[str, dict[str, bool]]

#: The helper this run forked at start-up, until ``pytest_configure`` takes it (or stops it).
HELPER_KEY = pytest.StashKey["Helper"]()

#: phase7's own hooks: an implementation of any of them outside phase7 runs in the test process.
PHASE7_HOOKS = (
    "pytest_phase7_add_gates",
    "pytest_phase7_item_status",
    "pytest_phase7_report_sections",
)

#: How long the helper may take to plan beyond the tools' timeout (it fingerprints the project).
PLAN_GRACE_SECONDS = 120.0

#: How long a stopped helper may take to kill its tools and exit before it is killed.
EXIT_GRACE_SECONDS = 10.0

#: How often a wait for the helper checks that it still runs.
POLL_SECONDS = 0.5

_LENGTH = 8  # bytes of a message's length prefix, big-endian


class StartUp(NamedTuple):
    """What start-up knows and the helper plans with (``start_static_early``'s arguments)."""

    namespace: argparse.Namespace  #: pytest's options, as parsed before the conftests load
    settings: Settings
    table: Mapping[str, object]  #: the ``[tool.phase7]`` table the settings came from
    label: str  #: where that table is, for messages


class HelperLost(Exception):
    """The helper died, broke the protocol or did not answer in time: do the work here."""


def start_work(config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """At start-up (phase7 on): declare the suite, and start phase7's work, here or in the helper.

    In this process, mypy starts first (:func:`pytest_phase7.session.start_static_early`): what
    the gates do not need to start is imported while it runs.
    """
    config.stash[PARSER_KEY] = parser
    namespace = config.known_args_namespace
    if getattr(namespace, "help", False) or getattr(namespace, "version", False):
        return
    try:
        settings, table, label = read_settings(config, namespace)
    except Phase7Error:
        return  # pytest_configure reports it
    declare_suite(config, namespace, settings, label, args)
    if config.stash.get(WORKER_KEY, False):  # an xdist worker does none of phase7's work
        return
    start = StartUp(namespace, settings, table, label)
    if start_helper(config, start):
        return
    from pytest_phase7.session import import_run_modules, start_static_early  # noqa: PLC0415

    start_static_early(config, *start)
    import_run_modules()


def stop_work(config: pytest.Config) -> None:
    """Stop what :func:`start_work` started (pytest stopped at start-up: a conftest failed)."""
    helper = config.stash.get(HELPER_KEY, None)
    if helper is not None:
        del config.stash[HELPER_KEY]
        helper.close()
    elif "pytest_phase7.session" in sys.modules:  # the work started in this process
        from pytest_phase7.session import stop_static_early  # noqa: PLC0415

        stop_static_early(config)


def start_helper(config: pytest.Config, start: StartUp) -> bool:
    """Fork the helper when it can do this run's work; False when the test process must do it."""
    if why_not_helper(config, start.namespace, start.settings):
        return False
    try:
        helper = config.stash[HELPER_KEY] = fork_helper(config, start)
    except OSError:  # no process to spare (EAGAIN, ENOMEM): the work stays here
        return False
    config.add_cleanup(thaw)  # last, after the helper is stopped
    # However the run ends (a usage error before pytest_configure too), the helper is stopped.
    config.add_cleanup(helper.close)
    return True


def fork_helper(config: pytest.Config, start: StartUp) -> Helper:
    """Fork the helper process and connect to it; ``OSError`` when the system cannot fork."""
    reap_finished()
    sys.stdout.flush()  # what is buffered is the test process's to write, not the child's too
    sys.stderr.flush()
    requests, to_child = os.pipe()
    from_child, answers = os.pipe()
    # After the fork, a page either process writes is first copied while the other still shares
    # it (over 10 us a page on a virtual machine), and the garbage collector writes to every
    # object it walks: the objects that exist now are put out of its reach, as Python's docs
    # advise before a fork, so that neither process copies pages only to collect (see thaw).
    gc.freeze()
    try:
        pid = os.fork()
    except OSError:
        gc.unfreeze()
        for fd in (requests, to_child, from_child, answers):
            os.close(fd)
        raise
    if pid == 0:  # pragma: no cover - the child; test_helper.py also runs serve() in a thread
        os.close(to_child)
        os.close(from_child)
        channel = Channel(requests, answers)
        _child_main(channel, config, start)
    with contextlib.suppress(OSError):  # as the child does: whichever runs first
        os.setpgid(pid, pid)
    os.close(requests)
    os.close(answers)
    return Helper(pid, Channel(from_child, to_child), start.settings)


def thaw() -> None:
    """Give the objects frozen at the fork back to the garbage collector, unless pytest exits now.

    At the end of ``pytest`` on the command line the interpreter's exit would walk them once
    more, copying the pages the helper may still share, to free memory the system takes back
    anyway: they stay frozen (cyclic garbage among them is then not finalized at exit, which
    Python never promises). Where a program called ``pytest.main()`` and goes on, they are
    collected as before.
    """
    runs, entries = _run_and_entry_points()
    if not exits_after_run(runs, entries):
        gc.unfreeze()


def _run_and_entry_points() -> tuple[set[CodeType], set[CodeType]]:
    """The code of pytest's run (``pytest.main``) and of its command-line entry points.

    From pytest 9.1 both ``pytest.main`` and the entry point ``_console_main`` call ``_main``;
    before, ``console_main`` called ``main``.
    """
    from _pytest import config  # noqa: PLC0415 - where they are defined

    def codes(*names: str) -> set[CodeType]:
        return {getattr(config, name).__code__ for name in names if hasattr(config, name)}

    return codes("_main", "main"), codes("_console_main", "console_main")


def exits_after_run(runs: set[CodeType], entries: set[CodeType]) -> bool:
    """Whether the innermost frame running one of ``runs`` was called by one of ``entries``.

    A run inside another (``pytester``'s in-process runs) has the outer run's entry point
    further out on the stack, not as its caller: that process goes on.
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code not in runs:
        frame = frame.f_back
    caller = frame.f_back if frame is not None else None
    return caller is not None and caller.f_code in entries


#: Helpers that answered and were left to exit on their own, not reaped yet (by process id).
_EXITING: set[int] = set()


def reap_finished() -> None:
    """Reap the helpers of earlier runs in this process that have exited since (no zombies)."""
    for pid in list(_EXITING):
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                continue
        _EXITING.discard(pid)


def why_not_helper(config: pytest.Config, namespace: object, settings: Settings) -> str:
    """Why this run's work cannot go to a helper process ('' when it can)."""
    if settings.in_process:
        return "in_process is set"
    if not hasattr(os, "fork") or sys.platform in ("win32", "emscripten", "wasi"):
        return "this platform cannot fork"
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return "another thread runs in the test process"
    if sys.gettrace() is not None or outer_coverage() is not None or _monitored():
        return "a tracer runs in the test process (coverage run, a debugger)"
    if not cache_is_stable(config, namespace):
        return "pytest's cache may change before the session, or no gate runs"
    if third_party_hooks(config):
        return "a plugin implements phase7's hooks"
    return ""


def _monitored() -> bool:
    """True when a tool uses ``sys.monitoring`` (Python 3.12+: coverage.py's sysmon core)."""
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is None:
        return False
    return any(monitoring.get_tool(tool) is not None for tool in range(6))


def third_party_hooks(config: pytest.Config) -> list[str]:
    """The plugins, other than phase7's own, that implement one of phase7's hooks."""
    found = []
    for name in PHASE7_HOOKS:
        caller = getattr(config.hook, name, None)
        if caller is None:
            continue
        for impl in caller.get_hookimpls():
            plugin = impl.plugin
            module = getattr(plugin, "__name__", "") if isinstance(plugin, ModuleType) else ""
            if not (module or type(plugin).__module__).startswith("pytest_phase7."):
                found.append(impl.plugin_name)
    return found


class Channel:
    """Length-prefixed JSON messages over a pair of pipe ends (tuples arrive as lists)."""

    def __init__(self, reading: int, writing: int) -> None:
        """Read from file descriptor ``reading``, write to ``writing``; this object owns both."""
        self.reading = reading
        self.writing = writing

    def send(self, message: Message) -> None:
        """Write one message (``BrokenPipeError`` when the other side is gone)."""
        payload = json.dumps(message).encode("utf-8")
        data = memoryview(len(payload).to_bytes(_LENGTH, "big") + payload)
        while data:
            data = data[os.write(self.writing, data) :]

    def receive(self, ready: float | None = None) -> object:
        """Read one message; None at end of file. ``ready``: wait that long at most for it."""
        if ready is not None:
            readable, _, _ = select.select([self.reading], [], [], ready)
            if not readable:
                raise TimeoutError
        head = self._read(_LENGTH)
        if head is None:
            return None
        body = self._read(int.from_bytes(head, "big"))
        if body is None:
            raise HelperLost("the helper's message was cut short")
        try:
            message = json.loads(body)
        except ValueError as exc:
            raise HelperLost(f"the helper's message cannot be read: {exc}") from None
        return tuple(message) if isinstance(message, list) else message

    def _read(self, size: int) -> bytes | None:
        chunks: list[bytes] = []
        left = size
        while left:
            chunk = os.read(self.reading, min(left, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        """Close both ends (the other side reads end of file)."""
        for fd in (self.reading, self.writing):
            with contextlib.suppress(OSError):
                os.close(fd)


class Helper:
    """The test process's side of the helper: its process, its channel, what it was told."""

    def __init__(self, pid: int, channel: Channel, settings: Settings) -> None:
        """Talk over ``channel`` to process ``pid``, forked with ``settings``."""
        self.pid = pid
        self.channel = channel
        self.settings = settings
        self._header: str | None = None
        self._closed = False
        self._answered = False  # the helper's work is over: it has nothing left to stop

    def ask(self, deadline: float) -> Message:
        """The helper's next answer, waiting until ``deadline`` (``time.monotonic()``) at most."""
        while True:
            if self._closed:
                raise HelperLost("the helper was stopped")
            try:
                answer = self.channel.receive(ready=POLL_SECONDS)
            except TimeoutError:
                if not self._running():
                    raise HelperLost("the helper process ended without answering") from None
                if time.monotonic() > deadline:
                    raise HelperLost("the helper did not answer in time") from None
                continue
            except OSError as exc:
                raise HelperLost(f"cannot read from the helper: {exc}") from None
            if not isinstance(answer, tuple) or not answer:
                raise HelperLost("the helper process ended without answering")
            if answer[0] == "crashed":
                raise HelperLost(f"the helper failed: {_last_line(str(answer[1]))}")
            return answer

    def _running(self) -> bool:
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return False
        return pid == 0

    def header(self) -> str:
        """The header line of the planned run; ``pytest.UsageError`` for what the plan refuses."""
        if self._header is None:
            answer = self.ask(time.monotonic() + self.settings.timeout + PLAN_GRACE_SECONDS)
            if answer[0] != "planned" or len(answer) != 3:
                raise HelperLost(f"the helper answered {answer[0]!r} to the plan")
            _, header, error = answer
            if error:
                raise pytest.UsageError(str(error))
            self._header = str(header)
        return self._header

    def finish(self, request: Mapping[str, object]) -> tuple[bool, list[Said], Summary]:
        """Send the session's facts; the verdict (blocked?), what to say, and the summary."""
        try:
            self.channel.send(("finish", dict(request)))
        except OSError as exc:
            raise HelperLost(f"cannot write to the helper: {exc}") from None
        # The gates' own timeouts bound the helper's work; this bounds a helper that hangs.
        answer = self.ask(time.monotonic() + self.settings.timeout + PLAN_GRACE_SECONDS)
        if answer[0] != "finished" or len(answer) != 5:
            raise HelperLost(f"the helper answered {answer[0]!r} to the session's end")
        _, blocked, said, summary, error = answer
        self._answered = True
        if error:
            raise pytest.UsageError(str(error))
        annotations, lines, sections = summary
        return (
            bool(blocked),
            [(str(text), dict(markup)) for text, markup in said],
            Summary(tuple(annotations), tuple(lines), tuple(sections)),
        )

    def stop(self) -> None:
        """Tell the helper to stop (it kills its tools and exits); do not wait for it."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            self.channel.send(("stop",))
        self.channel.close()

    def close(self) -> None:
        """Stop the helper and reap it; kill it and its tools if it does not exit in time.

        A helper that has answered the session's end runs no tool any more: it is told to stop
        and left to exit on its own (its exit is not the run's to wait for), reaped if it has.
        """
        self.stop()
        if self._answered:
            if self._running():
                _EXITING.add(self.pid)
            return
        deadline = time.monotonic() + EXIT_GRACE_SECONDS
        while self._running():
            if time.monotonic() > deadline:
                self._kill()
                return
            time.sleep(0.01)

    def _kill(self) -> None:
        # The helper leads its own process group, which its tools are in too.
        with contextlib.suppress(ProcessLookupError, ChildProcessError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no reason given"


def helper_run(config: pytest.Config) -> HelperRun | None:
    """This run's work in its helper, at ``pytest_configure``; None to do it in this process.

    A conftest may have implemented one of phase7's hooks or changed a setting since start-up:
    the helper is then stopped.
    """
    helper = config.stash.get(HELPER_KEY, None)
    if helper is None:
        return None
    del config.stash[HELPER_KEY]
    try:
        same = read_settings(config)[0] == helper.settings
    except Phase7Error:
        same = False  # the session's engine says what is wrong
    if not same or third_party_hooks(config):
        helper.stop()  # reaped when pytest unconfigures (config.add_cleanup)
        return None
    return HelperRun(helper, config)


class HelperRun:
    """A run whose work is in the helper (the plugin's ``work``), or here once that fails."""

    def __init__(self, helper: Helper, config: pytest.Config) -> None:
        """Drive ``helper`` for the session of ``config``."""
        self.helper = helper
        self.config = config
        self.rootdir = config.rootpath
        self.local: LocalRun | None = None
        self._summary: Summary | None = None

    @property
    def result(self) -> RunResult | None:
        """The run's result object, which only a run done in this process has."""
        return self.local.result if self.local is not None else None

    def _fall_back(self, lost: HelperLost) -> LocalRun:
        """Do the work in this process from here on (the helper's is lost), and say why."""
        from pytest_phase7.session import LocalRun, build_engine  # noqa: PLC0415

        self.helper.close()
        say(
            self.config,
            f"phase7: {lost}; the gates run in the test process instead",
            {"yellow": True},
        )
        self.local = LocalRun(build_engine(self.config))
        self.local.start()
        return self.local

    def start(self) -> None:
        """Nothing to start: the helper started the gates at start-up."""

    def header(self) -> str:
        """The header line; usage errors of the plan, settings and outputs as pytest's."""
        if self.local is not None:
            return self.local.header()
        try:
            return self.helper.header()
        except HelperLost as lost:
            return self._fall_back(lost).header()

    def ready(self) -> None:
        """Before the tests: the plan's usage errors, when the header did not show them."""
        self.header()

    def finish(
        self, session: pytest.Session, deselected: Mapping[str, int], *, stopped: bool
    ) -> bool:
        """After the tests: the helper's verdict, files and summary; True when blocked."""
        if self.local is None:
            try:
                request = finish_request(session, deselected, stopped=stopped)
                blocked, said, self._summary = self.helper.finish(request)
            except HelperLost as lost:
                self._fall_back(lost)
            else:
                self.helper.stop()  # it has answered: reaped at clean-up, or at the next fork
                for text, markup in said:
                    say(self.config, text, markup)
                return blocked and not stopped
        assert self.local is not None
        return self.local.finish(session, deselected, stopped=stopped)

    def summary(self, config: pytest.Config) -> Summary | None:
        """The summary to print (None when the session did not run to its end)."""
        if self.local is not None:
            return self.local.summary(config)
        return self._summary

    def close(self) -> None:
        """Stop the helper (and the gates this process runs, after a fallback)."""
        self.helper.close()
        if self.local is not None:
            self.local.close()


def finish_request(
    session: pytest.Session, deselected: Mapping[str, int], *, stopped: bool
) -> dict[str, object]:
    """What the helper needs from the test process after the tests, as plain values.

    Raises :class:`HelperLost` when the helper cannot read this session's data (no file of it).
    """
    config = session.config
    suite = judge_selection(config, session, deselected, stopped=stopped)
    cov, outer, why, hint = session_coverage(config)
    coverage: dict[str, object] = {"data_file": "", "problem": why, "hint": hint}
    if cov is not None:
        if outer:  # pragma: no cover - no helper is forked under a tracer
            raise HelperLost("the session was measured by coverage run")
        controller = getattr(config.pluginmanager.getplugin("_cov"), "cov_controller", None)
        coverage = {
            "data_file": data_file_of(cov),
            "source": getattr(controller, "cov_source", None),
            "branch": getattr(controller, "cov_branch", None),
            "config_file": getattr(controller, "cov_config", True),
            "topdir": str(getattr(controller, "topdir", "") or os.getcwd()),
            "problem": suite.partial,
            "hint": FULL_RUN_HINT if suite.partial else "",
        }
    reporter = config.pluginmanager.has_plugin("terminalreporter")
    writer = config.get_terminal_writer() if reporter else None
    return {
        "suite": (suite.paths, suite.origin, suite.partial, suite.gated, suite.deselected),
        "coverage": coverage,
        "tests_failed": session.testsfailed,
        "stopped": stopped,
        "verbosity": config.get_verbosity(),
        "width": writer.fullwidth if writer is not None else 80,
    }


def data_file_of(cov: object) -> str:
    """The file holding ``cov``'s combined data, as pytest-cov saved it.

    A report may have replaced the data object with an in-memory one (coverage.py does, to remap
    ``[paths]``); the file saved before is then the configured data file, and the helper's
    report remaps it the same way.
    """
    for name in (
        cov.get_data().data_filename(),  # type: ignore[attr-defined]
        getattr(getattr(cov, "config", None), "data_file", ""),
    ):
        if name and os.path.isfile(name):
            return os.path.abspath(name)
    raise HelperLost("pytest-cov's data is not in a file the helper can read")


# --- the helper's side -------------------------------------------------------------------------


def _child_main(  # pragma: no cover - runs in the forked child only
    channel: Channel, config: pytest.Config, start: StartUp
) -> NoReturn:
    """The forked child: serve, and leave without running anything of pytest's (no ``atexit``)."""
    code = 0
    try:
        # A process group of its own, with its tools: Ctrl-C is the test process's to handle
        # (it tells the helper to stop), and a helper that will not stop is killed with them.
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # the terminal is the test process's
        serve(channel, config, start)
    except BaseException:  # noqa: BLE001 - whatever happens, the test process is told
        code = 1
        import traceback  # noqa: PLC0415

        with contextlib.suppress(BaseException):  # the test process is gone: nothing to tell
            channel.send(("crashed", traceback.format_exc()))
    os._exit(code)


def serve(channel: Channel, config: pytest.Config, start: StartUp) -> None:
    """Plan the run, answer with its header, then finish it when asked (the helper's whole job)."""
    from pytest_phase7 import session as run  # noqa: PLC0415

    # pytest fills config.option only after the conftests; what it will hold is parsed already.
    config.option = argparse.Namespace(**vars(start.namespace))
    engine: Engine | None = None
    try:
        try:
            run.start_static_early(config, *start)
            engine = run.build_engine(config, store=run.cache_store(config))
        except pytest.UsageError as exc:
            channel.send(("planned", "", str(exc)))
            channel.receive()  # the test process stops with the error; wait for it to tell
            return
        channel.send(("planned", run.report_header(engine), ""))
        expect_measurement(engine, start.namespace)
        engine.start()
        message = channel.receive()
        if isinstance(message, tuple) and message[0] == "finish" and len(message) == 2:
            channel.send(_finished(config, engine, message[1]))
            channel.receive()
    finally:  # whatever happened, no tool outlives the helper
        if engine is not None:
            engine.close()
        run.stop_static_early(config)  # gates started early that no engine took over


def expect_measurement(engine: Engine, namespace: argparse.Namespace) -> None:
    """Tell the coverage gate how pytest-cov will measure, so that it prepares during the tests.

    The gate prepares with the measuring ``coverage.Coverage`` where one runs; here none does, so
    it gets one configured as pytest-cov's will be. Only an optimisation: the gate's figures come
    from the session's data, whatever it prepared.
    """
    if getattr(namespace, "no_cov", False) or not getattr(namespace, "cov_source", None):
        return
    import coverage  # noqa: PLC0415

    from pytest_phase7.gates.coverage import CoverageGate  # noqa: PLC0415

    gates = [gate for gate in engine.gates if isinstance(gate, CoverageGate)]
    if not gates:
        return
    try:
        cov = coverage.Coverage(
            branch=getattr(namespace, "cov_branch", None),
            config_file=getattr(namespace, "cov_config", True),
        )
    except Exception:  # noqa: BLE001 - pytest-cov says what is wrong with its configuration
        return
    for gate in gates:
        gate.expect(cov)


def _finished(config: pytest.Config, engine: Engine, request: object) -> Message:
    """The answer to the session's end: the verdict, what to say, the summary, or a usage error."""
    from pytest_phase7 import session  # noqa: PLC0415
    from pytest_phase7.resolve.selection import Suite  # noqa: PLC0415

    asked: dict[str, Any] = dict(request)  # type: ignore[call-overload]
    paths, *judged = asked["suite"]
    suite = Suite(tuple(paths), *judged)
    data = session_data_from(asked["coverage"])
    result = session.finish_with(engine, config, data, suite, int(asked["tests_failed"]))
    said: list[Said] = []
    try:
        if not asked["stopped"]:
            session.write_outputs(
                config, engine, result, lambda text, markup: said.append((text, dict(markup)))
            )
    except pytest.UsageError as exc:
        return ("finished", False, said, ((), (), ()), str(exc))
    summary = session.summary_of(
        config, engine, result, int(asked["verbosity"]), int(asked["width"])
    )
    lines = tuple(tuple((text, dict(markup)) for text, markup in line) for line in summary.lines)
    return (
        "finished",
        result.verdict.blocked,
        said,
        (summary.annotations, lines, summary.sections),
        "",
    )


def session_data_from(spec: Mapping[str, Any]) -> SessionData:
    """The helper's ``SessionData``: pytest-cov's saved data, read as pytest-cov was configured."""
    from pytest_phase7.gates.base import SessionData  # noqa: PLC0415

    data_file = str(spec.get("data_file") or "")
    if not data_file:
        return SessionData(None, str(spec["problem"]), str(spec["hint"]))
    import coverage  # noqa: PLC0415

    # pytest-cov works from its top folder; coverage.py reads relative settings from there.
    os.chdir(str(spec["topdir"]))
    cov = coverage.Coverage(
        data_file=data_file,
        source=spec["source"],
        branch=spec["branch"],
        config_file=spec["config_file"],
    )
    cov.load()
    return SessionData(cov, str(spec["problem"]), str(spec["hint"]))
