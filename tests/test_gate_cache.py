"""The static-gate cache: a hit only when nothing that can change the answer changed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from gate_helpers import DictStore, VanishingEnviron

from pytest_phase7.gates import cache as cache_module
from pytest_phase7.gates.base import GateRequest, GateResult, GateRun, GateStatus
from pytest_phase7.gates.cache import CachePolicy, cached_run, run_from_json, run_to_json
from pytest_phase7.resolve.targets import Target, TargetKind
from pytest_phase7.settings import ConfiguredTarget, Settings

if TYPE_CHECKING:
    from pytest_phase7.engine import Engine


class CountingGate:
    name = "count"
    title = "Count"
    needs_session = False

    def __init__(self, whole_project: bool = False, status: GateStatus = GateStatus.PASS) -> None:
        self.cache_policy = CachePolicy(("pytest",), whole_project=whole_project)
        self.status = status
        self.calls = 0

    def run(self, request: GateRequest) -> GateRun:
        self.calls += 1
        return GateRun(
            self.name,
            {
                t.ref: GateResult(self.name, self.status, metric=1.0, details=("d",))
                for t in request.targets
            },
            tool_version="1.0",
            seconds=0.5,
        )


def direct(gate: CountingGate, request: GateRequest) -> GateRun:
    return gate.run(request)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\n")
    (tmp_path / "target.py").write_text("x = 1\n")
    (tmp_path / "other.py").write_text("y = 2\n")
    return tmp_path


def request_for(repo: Path, **settings: object) -> GateRequest:
    target = Target(TargetKind.FILE, "target.py", ("target.py",))
    return GateRequest(repo, (target,), Settings(**settings))  # type: ignore[arg-type]


def run_twice(gate: CountingGate, repo: Path, change, **settings: object) -> int:
    store = DictStore()
    files = ("other.py", "target.py")
    cached_run(gate, request_for(repo, **settings), store, files, direct)
    change()
    second = cached_run(gate, request_for(repo, **settings), store, files, direct)
    assert all(r.cached for r in second.results.values()) == (gate.calls == 1)
    return gate.calls


def test_unchanged_is_a_hit(repo: Path):
    gate = CountingGate()
    assert run_twice(gate, repo, lambda: None) == 1


def test_target_content_change_is_a_miss(repo: Path):
    assert run_twice(CountingGate(), repo, lambda: (repo / "target.py").write_text("x = 2\n")) == 2


def test_config_change_is_a_miss(repo: Path):
    change = lambda: (repo / "pyproject.toml").write_text("[tool.ruff]\nline-length = 1\n")  # noqa: E731
    assert run_twice(CountingGate(), repo, change) == 2


def test_new_config_file_in_a_parent_folder_is_a_miss(repo: Path):
    sub = repo / "pkg"
    sub.mkdir()
    (sub / "target.py").write_text("x = 1\n")
    target = Target(TargetKind.FILE, "pkg/target.py", ("pkg/target.py",))
    gate, store = CountingGate(), DictStore()
    request = GateRequest(repo, (target,), Settings())
    cached_run(gate, request, store, (), direct)
    (sub / "ruff.toml").write_text("line-length = 10\n")
    cached_run(gate, request, store, (), direct)
    assert gate.calls == 2


def test_other_file_matters_only_for_whole_project_gates(repo: Path):
    assert run_twice(CountingGate(), repo, lambda: (repo / "other.py").write_text("y = 3\n")) == 1
    whole = CountingGate(whole_project=True)
    assert run_twice(whole, repo, lambda: (repo / "other.py").write_text("y = 4\n")) == 2


def test_tool_version_change_is_a_miss(repo: Path, monkeypatch: pytest.MonkeyPatch):
    change = lambda: monkeypatch.setattr(cache_module, "_version", lambda d: "99.0")  # noqa: E731
    assert run_twice(CountingGate(), repo, change) == 2


def test_setting_change_is_a_miss(repo: Path):
    gate, store = CountingGate(), DictStore()
    cached_run(gate, request_for(repo, ruff_max=0), store, (), direct)
    cached_run(gate, request_for(repo, ruff_max=3), store, (), direct)
    assert gate.calls == 2


def test_report_only_settings_share_the_cached_result(repo: Path):
    gate, store = CountingGate(), DictStore()
    cached_run(gate, request_for(repo), store, (), direct)
    outputs = {
        "md": "a.md",
        "json": "a.json",
        "fail_on": "never",
        "history": "h.jsonl",
        "update_manifest": True,
        "gates": ("count",),
        "hourly_rate": 80.0,
        "targets": (ConfiguredTarget(1, "target.py", "/elsewhere/pyproject.toml", 12),),
        "suite": ("tests/unit",),
    }
    second = cached_run(gate, request_for(repo, **outputs), store, (), direct)
    assert gate.calls == 1
    assert all(r.cached for r in second.results.values())
    # Everything else is in the key: every setting is either report-only or changes it.
    from dataclasses import fields

    from pytest_phase7.settings import Settings

    names = {f.name for f in fields(Settings)}
    assert names >= cache_module.REPORT_ONLY_SETTINGS
    assert {n for n, _ in cache_module.gate_settings(Settings())} == (
        names - cache_module.REPORT_ONLY_SETTINGS
    )


def test_env_change_is_a_miss(repo: Path, monkeypatch: pytest.MonkeyPatch):
    change = lambda: monkeypatch.setenv("MYPYPATH", "/elsewhere")  # noqa: E731
    assert run_twice(CountingGate(), repo, change) == 2


def test_the_key_is_computed_while_a_variable_is_removed(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = CountingGate()
    request = request_for(repo)
    before = cache_module.fingerprint(gate, gate.cache_policy, request, ("target.py",))
    monkeypatch.setattr(cache_module.os, "environ", VanishingEnviron(dict(os.environ)))
    during = cache_module.fingerprint(gate, gate.cache_policy, request, ("target.py",))
    assert during == before


def test_error_runs_are_not_stored(repo: Path):
    gate = CountingGate(status=GateStatus.ERROR)
    assert run_twice(gate, repo, lambda: None) == 2


def test_no_store_or_no_policy_always_runs(repo: Path):
    gate = CountingGate()
    cached_run(gate, request_for(repo), None, (), direct)
    cached_run(gate, request_for(repo), None, (), direct)
    assert gate.calls == 2
    gate.cache_policy = None  # type: ignore[assignment]
    store = DictStore()
    cached_run(gate, request_for(repo), store, (), direct)
    cached_run(gate, request_for(repo), store, (), direct)
    assert gate.calls == 4
    assert store.data == {}


def test_corrupt_cache_entry_is_recomputed(repo: Path):
    gate, store = CountingGate(), DictStore()
    cached_run(gate, request_for(repo), store, (), direct)
    entry = store.data["phase7/gates/count"]
    assert isinstance(entry, dict)
    entry["run"] = {"gate": "count", "results": {"target.py": {"status": "MAYBE"}}}
    fresh = cached_run(gate, request_for(repo), store, (), direct)
    assert gate.calls == 2
    assert not any(r.cached for r in fresh.results.values())


def test_json_round_trip():
    run = GateRun(
        "g",
        {
            "a.py": GateResult(
                "g", GateStatus.FAIL, 3.0, "3", 0.0, "r", "h", ("x",), (("k", 1.5),), 0.1
            )
        },
        tool_version="1",
        seconds=0.2,
        context=("c",),
    )
    assert run_from_json(run_to_json(run)) == run


CONFTEST_PROJECT = """
[tool.phase7]
manifest = "PLAN.md"
gates = ["ruff"]
"""

PLAN = """# P

### Batch 1: Refactoring
**Items:** 1

| # | Module | File | Status |
|---|---|---|---|
| 1 | | mod.py | QUEUED |
"""


@pytest.mark.slow
def test_real_ruff_gate_is_cached_between_runs(pytester: pytest.Pytester):
    pytester.makefile(".toml", pyproject=CONFTEST_PROJECT)
    pytester.makefile(".md", PLAN=PLAN)
    pytester.makepyfile(mod="import os\n", test_x="def test_x():\n    pass\n")

    def timing(*args: str) -> str:
        result = pytester.runpytest_inprocess("--no-cov", "--phase7", "-v", *args)
        return next(line for line in result.outlines if line.startswith("gate times:"))

    assert "(cached)" not in timing()
    assert "(cached)" in timing()
    assert "(cached)" not in timing("--cache-clear")
    assert "(cached)" in timing()
    assert "(cached)" not in timing("-p", "no:cacheprovider")
    (pytester.path / "mod.py").write_text("import sys\n")
    assert "(cached)" not in timing()


def test_installing_a_package_is_a_miss_for_whole_project_gates(
    repo: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
):
    site = tmp_path_factory.mktemp("site-packages")
    monkeypatch.syspath_prepend(str(site))
    assert (
        run_twice(CountingGate(whole_project=True), repo, (site / "new-1.0.dist-info").mkdir) == 2
    )
    upgrade = lambda: (site / "new-1.0.dist-info").rename(site / "new-2.0.dist-info")  # noqa: E731
    assert run_twice(CountingGate(whole_project=True), repo, upgrade) == 2
    # Targets-only gates do not depend on what is installed beyond their own tool.
    assert run_twice(CountingGate(), repo, (site / "more-1.0.dist-info").mkdir) == 1


def test_config_next_to_a_symlinked_targets_real_file_counts(tmp_path: Path):
    real = tmp_path / "elsewhere"
    real.mkdir()
    (real / "impl.py").write_text("x = 1\n")
    (tmp_path / "target.py").symlink_to(real / "impl.py")
    assert real / "ruff.toml" not in cache_module.config_files(tmp_path, ["target.py"])
    (real / "ruff.toml").write_text("line-length = 80\n")
    assert real / "ruff.toml" in cache_module.config_files(tmp_path, ["target.py"])


class WriteCountingStore(DictStore):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.reads = 0

    def get(self, key: str, default: object) -> object:
        self.reads += 1
        return super().get(key, default)

    def set(self, key: str, value: object) -> None:
        self.writes += 1
        super().set(key, value)


def test_remember_writes_only_what_is_new(repo: Path):
    store = WriteCountingStore()
    gate = CountingGate()
    run = gate.run(request_for(repo))
    cache_module.remember(store, run)
    assert store.writes == 1
    cache_module.remember(store, run)  # the same results again (a cache hit): nothing to write
    assert store.writes == 1
    changed = GateRun(gate.name, {"target.py": GateResult(gate.name, GateStatus.FAIL, metric=2.0)})
    cache_module.remember(store, changed)
    assert store.writes == 2
    assert cache_module.last_results(store, gate.name)["target.py"].status is GateStatus.FAIL


def engine_session(repo: Path, gate: CountingGate, store: DictStore) -> tuple[Engine, GateRun]:
    """One session's engine over a one-item plan for ``target.py``: started, then finished."""
    from pytest_phase7.engine import Engine
    from pytest_phase7.gates.base import SessionData
    from pytest_phase7.manifest import load_manifest
    from pytest_phase7.resolve.targets import resolve_items

    (repo / "PLAN.md").write_text(PLAN.replace("mod.py", "target.py"))
    manifest = load_manifest(repo / "PLAN.md")
    engine = Engine(Settings(), manifest, resolve_items(manifest, repo), repo, [gate], store=store)
    engine.start()
    (run,) = engine.finish(SessionData(None)).gate_runs
    return engine, run


def test_cache_hits_are_answered_at_session_start_without_a_thread(repo: Path) -> None:
    gate, store = CountingGate(), DictStore()

    def session() -> tuple[Engine, GateRun]:
        return engine_session(repo, gate, store)

    cold_engine, cold = session()
    assert gate.calls == 1
    assert "count" not in cold_engine._ready  # the tool ran in a gate thread
    assert not cold.results["target.py"].cached
    warm_engine, warm = session()
    assert gate.calls == 1  # not run again
    assert "count" in warm_engine._ready  # answered in start(), before the tests
    assert not warm_engine._futures
    assert warm.results["target.py"].cached
    assert warm.results["target.py"].status is cold.results["target.py"].status


def test_fingerprints_of_one_run_share_file_digests(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real_read = cache_module.read_regular

    def counted(path: Path) -> bytes:
        reads.append(path.name)
        return real_read(path)

    monkeypatch.setattr(cache_module, "read_regular", counted)
    request = request_for(repo)
    files = ("other.py", "target.py")
    whole, targets = CountingGate(whole_project=True), CountingGate()
    alone = [cache_module.fingerprint(g, g.cache_policy, request, files) for g in (whole, targets)]
    reads.clear()
    digests = cache_module.FileDigests()
    shared = [
        cache_module.fingerprint(g, g.cache_policy, request, files, digests)
        for g in (whole, targets)
    ]
    assert shared == alone  # sharing changes the cost, never the key
    assert sorted(reads) == ["other.py", "pyproject.toml", "target.py"]  # each read once
    (repo / "target.py").write_text("x = 2\n")
    again = cache_module.fingerprint(targets, targets.cache_policy, request, files)
    assert again != alone[1]  # a new run reads the edited file again
    (repo / "target.py").unlink()
    gone = cache_module.FileDigests().of(repo / "target.py")
    assert gone.startswith(b"<unreadable: ")


def test_remember_skips_a_hit_merged_before_but_not_after_another_merge(repo: Path):
    store = WriteCountingStore()
    gate = CountingGate()
    run = gate.run(request_for(repo))
    cache_module.remember(store, run, "key-1")
    reads = store.reads
    cache_module.remember(store, run, "key-1")  # a cache hit of that run: one look, no parse
    assert (store.writes, store.reads - reads) == (1, 1)
    other = GateRun(gate.name, {"target.py": GateResult(gate.name, GateStatus.FAIL, metric=2.0)})
    cache_module.remember(store, other, "key-2")  # e.g. a changed-only run merged since
    assert cache_module.last_results(store, gate.name)["target.py"].status is GateStatus.FAIL
    cache_module.remember(store, run, "key-1")  # the file reverted: key-1 hits again, merged
    assert store.writes == 3
    assert cache_module.last_results(store, gate.name)["target.py"].status is GateStatus.PASS


def test_the_first_warm_run_after_a_cold_one_writes_no_last_results(repo: Path) -> None:
    # The cold run stores its fresh run and merges it under the stored key: the warm run's hit
    # of that stored run finds it merged, and writes nothing (as every later warm run).
    class LastWrites(WriteCountingStore):
        def set(self, key: str, value: object) -> None:
            if key.startswith("phase7/last/"):
                super().set(key, value)
            else:
                DictStore.set(self, key, value)

    store, gate = LastWrites(), CountingGate()
    engine_session(repo, gate, store)
    assert store.writes == 1  # the cold run's results merged
    _, warm = engine_session(repo, gate, store)
    assert warm.results["target.py"].cached
    assert store.writes == 1
    assert cache_module.last_results(store, "count")["target.py"].status is GateStatus.PASS


def test_a_run_that_could_not_measure_is_merged_when_the_tool_works_again(repo: Path) -> None:
    # Same inputs (same fingerprint) twice: first the tool fails (ERROR: neither cached nor
    # merged), then it works. The second, fresh run must reach the last known results even
    # though its key is the first run's.
    store = DictStore()
    for status in (GateStatus.ERROR, GateStatus.PASS):
        engine_session(repo, CountingGate(status=status), store)
    assert cache_module.last_results(store, "count")["target.py"].status is GateStatus.PASS


def test_a_fresh_run_that_changes_nothing_writes_nothing(repo: Path):
    store = WriteCountingStore()
    run = CountingGate().run(request_for(repo))
    cache_module.remember(store, run, "key-1")  # a cache hit's results, merged
    cache_module.remember(store, run)  # a fresh run with the same results
    assert store.writes == 1
    reads = store.reads
    cache_module.remember(store, run, "key-1")  # the hit's results are still merged: skipped
    assert (store.writes, store.reads - reads) == (1, 1)


@pytest.mark.parametrize(
    "distribution", ["ruff", "mypy", "interrogate", "pytest-cov", "pytest_cov"]
)
def test_tool_versions_in_the_key_are_the_installed_ones(distribution: str):
    import importlib.metadata

    assert cache_module._version(distribution) == importlib.metadata.version(distribution)


def test_tool_versions_come_from_dist_info_names_without_reading_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import importlib.metadata
    import sys

    def parse(name: str) -> str:
        raise AssertionError(f"METADATA of {name} parsed at session start")

    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (second / "Some_Tool-1.2.dist-info").mkdir()
    monkeypatch.setattr(sys, "path", [str(tmp_path / "absent"), str(first), str(second)])
    monkeypatch.setattr(importlib.metadata, "version", parse)
    assert cache_module._version("some-tool") == "1.2"
    assert cache_module._version("Some.Tool") == "1.2"
    (first / "some_tool-2.0.dist-info").mkdir()  # an upgrade earlier on the path: a new key
    assert cache_module._version("some-tool") == "2.0"


def test_tool_versions_not_in_a_dist_info_name_are_asked_of_importlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import importlib.metadata
    import sys

    asked: list[str] = []

    def version(name: str) -> str:
        asked.append(name)
        if name == "absent":
            raise importlib.metadata.PackageNotFoundError(name)
        return "from-metadata"

    (tmp_path / "tool.egg-info").mkdir()  # first on the path, and no version in its name
    later = tmp_path / "later"
    later.mkdir()
    (later / "tool-1.0.dist-info").mkdir()
    monkeypatch.setattr(sys, "path", [str(tmp_path), str(later)])
    monkeypatch.setattr(importlib.metadata, "version", version)
    assert cache_module._version("tool") == "from-metadata"
    assert cache_module._version("absent") == "missing"
    assert asked == ["tool", "absent"]
