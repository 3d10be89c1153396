"""Issue 13: cached gate results are never stale, and gate threads share no process-wide state.

Every input a tool reads is in the gate's cache key: change it, and the result is computed
again. An input phase7 cannot know keeps the gate out of the cache (and ``-v`` says why). Tool
executables are found on the main thread before any gate thread starts, and no file phase7
writes flips the process-wide umask.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_phase7 import atomic
from pytest_phase7.cachedir import CacheDirStore


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
