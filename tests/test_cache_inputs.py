"""Issue 13: cached gate results are never stale, and gate threads share no process-wide state.

Every input a tool reads is in the gate's cache key: change it, and the result is computed
again. An input phase7 cannot know keeps the gate out of the cache (and ``-v`` says why). Tool
executables are found on the main thread before any gate thread starts, and no file phase7
writes flips the process-wide umask.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from pytest_phase7 import atomic
from pytest_phase7.cachedir import CacheDirStore
from pytest_phase7.engine import Engine
from pytest_phase7.gates import docstrings as docstrings_module
from pytest_phase7.gates import mypy as mypy_module
from pytest_phase7.gates import ruff as ruff_module
from pytest_phase7.gates.base import Gate, GateStatus
from pytest_phase7.gates.docstrings import DocstringsGate
from pytest_phase7.gates.mypy import MypyGate
from pytest_phase7.gates.ruff import RuffGate
from pytest_phase7.manifest import parse_toml
from pytest_phase7.resolve import resolve_items
from pytest_phase7.settings import Settings


def engine_for(root: Path, gates: Sequence[Gate], **settings: object) -> Engine:
    """An engine over one item whose target is ``mod.py`` in ``root``."""
    table = {"batches": [{"number": 1, "title": "B", "items": [{"number": 1, "path": "mod.py"}]}]}
    manifest = parse_toml(table, "phase7.toml")
    resolutions = resolve_items(manifest, root)
    return Engine(Settings(**settings), manifest, resolutions, root, gates)  # type: ignore[arg-type]


@pytest.fixture
def umask_027() -> Iterator[int]:
    """Run with umask 027 (group may read, others nothing), restored afterwards."""
    previous = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(previous)


def no_umask_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(mask: int) -> int:
        raise AssertionError(f"os.umask({mask:#o}) changes the mask of every thread")

    monkeypatch.setattr(os, "umask", refuse)


def test_a_new_file_gets_its_mode_from_the_umask_without_setting_it(
    tmp_path: Path, umask_027: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_umask_calls(monkeypatch)
    path = tmp_path / "report.json"
    atomic.write_atomic(path, b"{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask_027
    assert path.read_bytes() == b"{}"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_replaced_file_keeps_its_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_umask_calls(monkeypatch)
    path = tmp_path / "plan.md"
    path.write_bytes(b"old")
    path.chmod(0o604)
    atomic.write_atomic(path, b"new")
    assert (stat.S_IMODE(path.stat().st_mode), path.read_bytes()) == (0o604, b"new")


def test_the_cache_folder_gets_its_modes_from_the_umask_without_setting_it(
    tmp_path: Path, umask_027: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_umask_calls(monkeypatch)
    store = CacheDirStore(tmp_path / ".pytest_cache")
    store.set("phase7/gates/ruff", {"a": 1})
    assert store.problem == ""
    assert store.get("phase7/gates/ruff", None) == {"a": 1}
    folder = tmp_path / ".pytest_cache"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask_027
    value = folder / "v" / "phase7" / "gates" / "ruff"
    assert stat.S_IMODE(value.stat().st_mode) == 0o666 & ~umask_027
    assert stat.S_IMODE((folder / "README.md").stat().st_mode) == 0o666 & ~umask_027
    assert [p.name for p in tmp_path.iterdir()] == [".pytest_cache"]  # no staging folder left


def test_every_tool_is_found_on_the_main_thread_before_any_gate_thread_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ruff.find_ruff_bin reads sysconfig, which is not safe while another thread initialises it.
    (tmp_path / "mod.py").write_text('"""Doc."""\n')
    found_on: dict[str, str] = {}

    def finder(name: str, answer: str) -> Callable[[], str]:
        def find() -> str:
            found_on.setdefault(name, threading.current_thread().name)
            return answer

        return find

    monkeypatch.setattr(ruff_module, "ruff_binary", finder("ruff", "/nonexistent/ruff"))
    monkeypatch.setattr(mypy_module, "python_executable", finder("mypy", "/nonexistent/python"))
    monkeypatch.setattr(
        docstrings_module, "python_executable", finder("docstrings", "/nonexistent/python")
    )
    gates = [RuffGate(), MypyGate(), DocstringsGate()]
    run = engine_for(tmp_path, gates)
    run.start()
    result = run.finish(None)
    assert found_on == dict.fromkeys(("ruff", "mypy", "docstrings"), "MainThread")
    # The executables found there are the ones the gates ran.
    reasons = {r.gate: r.reason for o in result.outcomes for r in o.results}
    assert all("/nonexistent/" in reason for reason in reasons.values()), reasons


def test_a_gate_whose_tool_finder_crashes_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text("x = 1\n")

    class Broken(RuffGate):
        def find_tools(self) -> None:
            raise RuntimeError("no PATH")

    run = engine_for(tmp_path, [Broken()])
    run.start()
    (outcome,) = run.finish(None).outcomes
    assert outcome.results[0].status is GateStatus.ERROR
    assert "crashed finding its tools: RuntimeError: no PATH" in outcome.results[0].reason
