"""The built-in static gates start at start-up, before pytest loads the conftests.

mypy is the longest part of most runs and needs only the settings and the plan: it starts while
pytest starts coverage.py, imports the conftests and configures its plugins. The session's
engine takes over what started early only when it would have started the very same gates; a
difference stops them and the session's own start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

from pytest_phase7 import engine as engine_module
from pytest_phase7.engine import Engine
from pytest_phase7.gates.base import GateRequest, GateResult, GateRun, GateStatus, SessionData
from pytest_phase7.gates.docstrings import DocstringsGate
from pytest_phase7.gates.mypy import MypyGate
from pytest_phase7.gates.ruff import RuffGate
from pytest_phase7.manifest import load_manifest
from pytest_phase7.plugin import RESULT_KEY
from pytest_phase7.resolve.targets import resolve_items
from pytest_phase7.settings import Settings

PLAN = """# Plan

### Batch 1: Unit Tests
**Items:** 1-1

| # | Module | File | Status |
|---|--------|------|--------|
| 1 | Core | core.py | QUEUED |
"""


class BlockingGate:
    """A static gate whose tool runs until ``release`` is set; counts its runs."""

    name = "static"
    title = "Static"
    needs_session = False

    def __init__(self, release: threading.Event, label: str) -> None:
        self.release = release
        self.label = label
        self.runs = 0

    def run(self, request: GateRequest) -> GateRun:
        self.runs += 1
        assert self.release.wait(30), "never released"
        result = GateResult(self.name, GateStatus.PASS, details=(self.label,))
        return GateRun(self.name, {t.ref: result for t in request.targets})


class OtherGate(BlockingGate):
    """Another class under the same name."""


def engine_over(root: Path, gate: Any, settings: Settings | None = None) -> Engine:
    (root / "core.py").write_text('"""Core."""\n', encoding="utf-8")
    (root / "PLAN.md").write_text(PLAN, encoding="utf-8")
    manifest = load_manifest(root / "PLAN.md")
    return Engine(settings or Settings(), manifest, resolve_items(manifest, root), root, [gate])


def finish(engine: Engine) -> tuple[str, ...]:
    (run,) = engine.finish(SessionData(None)).gate_runs
    return run.results["core.py"].details


def test_the_session_takes_over_the_same_gates_started_early(tmp_path: Path) -> None:
    release = threading.Event()
    early_gate, late_gate = BlockingGate(release, "early"), BlockingGate(release, "late")
    early = engine_over(tmp_path, early_gate)
    early.start()
    late = engine_over(tmp_path, late_gate)
    assert late.adopt(early)
    late.start()
    release.set()
    assert finish(late) == ("early",)
    assert (early_gate.runs, late_gate.runs) == (1, 0)
    early.close()  # nothing of it is left to stop: the session's engine owns its gates now
    assert early._futures == {}


@pytest.mark.parametrize(
    ("late_settings", "late_class"),
    [
        pytest.param(Settings(ruff_max=3), BlockingGate, id="other settings"),
        pytest.param(Settings(), OtherGate, id="another gate of that name"),
    ],
)
def test_anything_different_stops_the_early_gates_and_runs_the_sessions_own(
    tmp_path: Path, late_settings: Settings, late_class: type[BlockingGate]
) -> None:
    release = threading.Event()
    early_gate, late_gate = BlockingGate(release, "early"), late_class(release, "late")
    early = engine_over(tmp_path, early_gate)
    early.start()
    late = engine_over(tmp_path, late_gate, late_settings)
    assert not late.adopt(early)
    assert early._pool is None  # stopped: its tools were killed, its threads left alone
    release.set()
    late.start()
    assert finish(late) == ("late",)
    assert late_gate.runs == 1


# --- in a real session ---------------------------------------------------------------------

STATIC = ("ruff", "mypy", "docstrings")
#: In this process: the helper process has tests of its own (test_helper.py).
FLAGS = ("--no-cov", "--phase7", "--phase7-in-process", "--phase7-gates=" + ",".join(STATIC))

#: Imported by pytest after the plugins' start-up: it marks that moment in the log.
CONFTEST = """
import phase7_probe

phase7_probe.log.append("conftest")
"""

#: A conftest that changes a setting once pytest configures: the early gates were asked otherwise.
CHANGING = (
    CONFTEST
    + """
import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.option.phase7_ruff_max = 5
"""
)


@pytest.fixture
def log(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the session did, in order: each static gate planned, each tool run, the conftest."""
    events: list[str] = []
    probe = types.ModuleType("phase7_probe")
    probe.log = events  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "phase7_probe", probe)
    real_plan = engine_module.Engine._plan_static

    def plan(self: Engine, gate: Any, *args: Any) -> Any:
        events.append(f"plan {gate.name}")
        return real_plan(self, gate, *args)

    def fake_run(name: str) -> Any:
        def run(self: Any, request: GateRequest) -> GateRun:
            # The tool's answer depends on a setting, as a real tool's does.
            events.append(f"run {name}")
            detail = f"ruff_max={request.settings.ruff_max}"
            result = GateResult(name, GateStatus.PASS, details=(detail,))
            return GateRun(name, {t.ref: result for t in request.targets})

        return run

    monkeypatch.setattr(engine_module.Engine, "_plan_static", plan)
    for gate in (RuffGate, MypyGate, DocstringsGate):
        monkeypatch.setattr(gate, "run", fake_run(gate.name))
    pytester.makefile(".md", PHASE7_EXECUTION_PLAN=PLAN)
    pytester.makepyfile(core='"""Core."""\n', test_core="def test_x():\n    pass\n")
    return events


def session_result(reprec: Any) -> Any:
    config = reprec.getcalls("pytest_unconfigure")[0].config
    return config.stash[RESULT_KEY]


def planned(log: list[str]) -> list[str]:
    return [event for event in log if not event.startswith("run ")]


def test_the_static_gates_start_before_the_conftests_load(
    pytester: pytest.Pytester, log: list[str]
) -> None:
    pytester.makeconftest(CONFTEST)
    reprec = pytester.inline_run(*FLAGS)
    # mypy first: its answer depends on the whole project, it takes longest.
    assert planned(log) == ["plan mypy", "plan ruff", "plan docstrings", "conftest"]
    assert sorted(event for event in log if event.startswith("run ")) == [
        "run docstrings",
        "run mypy",
        "run ruff",
    ]
    runs = session_result(reprec).gate_runs
    assert [run.gate for run in runs] == list(STATIC)
    assert all(run.results["core.py"].status is GateStatus.PASS for run in runs)


def test_a_setting_changed_after_start_up_is_the_one_the_gates_run_with(
    pytester: pytest.Pytester, log: list[str]
) -> None:
    pytester.makeconftest(CHANGING)
    reprec = pytester.inline_run(*FLAGS)
    # Planned at start-up, stopped when pytest configured, planned again with the new setting.
    each = ["plan mypy", "plan ruff", "plan docstrings"]
    assert planned(log) == [*each, "conftest", *each]
    runs = session_result(reprec).gate_runs
    assert {run.results["core.py"].details for run in runs} == {("ruff_max=5",)}


@pytest.mark.parametrize(
    "flags",
    [
        pytest.param(("--cache-clear",), id="cache-clear"),
        pytest.param(("-p", "no:cacheprovider"), id="no-cacheprovider"),
        pytest.param(("--phase7-changed-since=HEAD",), id="pull-request"),
    ],
)
def test_nothing_starts_early_where_the_cache_or_the_targets_may_change_under_it(
    pytester: pytest.Pytester, log: list[str], flags: tuple[str, ...]
) -> None:
    pytester.makeconftest(CONFTEST)
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "plan"]):
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *argv]
        subprocess.run(git, cwd=pytester.path, check=True, timeout=60)
    pytester.inline_run(*FLAGS, *flags)
    # The gates were planned, once, when the session started.
    assert planned(log) == ["conftest", "plan mypy", "plan ruff", "plan docstrings"]


def test_collect_only_starts_no_gate(pytester: pytest.Pytester, log: list[str]) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.inline_run(*FLAGS, "--collect-only")
    assert log == ["conftest"]


@pytest.mark.parametrize("cache_dir", [".pytest_cache", "build/$PHASE7_TEST_CACHE", "~/phase7-c"])
def test_the_early_gates_use_the_folder_pytest_caches_in(
    pytester: pytest.Pytester,
    log: list[str],
    monkeypatch: pytest.MonkeyPatch,
    cache_dir: str,
) -> None:
    monkeypatch.setenv("PHASE7_TEST_CACHE", "from-env")
    monkeypatch.setenv("HOME", str(pytester.path / "home"))
    stores: list[Any] = []
    real_adopt = engine_module.Engine.adopt

    def adopt(self: Engine, early: Engine) -> bool:
        stores.append(early.store)
        return real_adopt(self, early)

    monkeypatch.setattr(engine_module.Engine, "adopt", adopt)
    reprec = pytester.inline_run(*FLAGS, "-o", f"cache_dir={cache_dir}")
    config = reprec.getcalls("pytest_unconfigure")[0].config
    (store,) = stores
    assert store.cache_dir == config.cache._cachedir


#: A stand-in for ``python -m mypy``: says its version, else runs for a while and marks that it
#: finished (unless it is killed first).
FAKE_MYPY = """
import pathlib, sys, time

if "--version" in sys.argv:
    print("mypy 1.15.0 (compiled: no)")
    sys.exit(0)
marks = pathlib.Path(__file__).parent.parent
time.sleep(4)
(marks / "finished").write_text("")
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "trouble",
    [
        pytest.param({"args": ["--no-such-option"]}, id="a usage error"),
        pytest.param({"conftest": "raise ImportError('broken')\n"}, id="a broken conftest"),
    ],
)
def test_a_session_that_stops_at_start_up_kills_the_early_tools(
    tmp_path: Path, trouble: dict[str, Any]
) -> None:
    fake = tmp_path / "fake" / "mypy"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("", encoding="utf-8")
    (fake / "__main__.py").write_text(FAKE_MYPY, encoding="utf-8")
    root = tmp_path / "project"
    root.mkdir()
    (root / "core.py").write_text('"""Core."""\n', encoding="utf-8")
    (root / "PHASE7_EXECUTION_PLAN.md").write_text(PLAN, encoding="utf-8")
    if "conftest" in trouble:
        (root / "conftest.py").write_text(trouble["conftest"], encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV", "PYTEST_"))}
    env["PYTHONPATH"] = str(tmp_path / "fake")
    argv = [sys.executable, "-m", "pytest", "--phase7", "--phase7-gates=mypy", "--no-cov"]
    proc = subprocess.run(
        [*argv, *trouble.get("args", [])],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERRUPTED), (
        proc.stdout + proc.stderr
    )
    # Started at start-up (maybe killed before it could even mark that), the fake would have
    # finished by now had it outlived pytest.
    time.sleep(6)
    assert not (tmp_path / "fake" / "finished").exists()
