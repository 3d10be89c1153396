"""The coverage gate's static analysis (parsed while the tests run, cached) against coverage.py.

Every figure is compared with coverage.py's own analysis of the same file and data: the
``Analysis`` that ``Coverage._analyze`` builds with coverage's ``PythonFileReporter`` (what
``coverage report`` uses), and ``coverage report`` itself for the gate's displayed percent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import coverage
import pytest
from gate_helpers import DictStore, file_target, write

from pytest_phase7.gates import coverage_api, coverage_memo, coverage_static
from pytest_phase7.gates.base import GateRequest, GateStatus, SessionData
from pytest_phase7.gates.cache import CachePolicy
from pytest_phase7.gates.coverage import WORKER, CoverageGate
from pytest_phase7.gates.coverage_static import (
    StaticAnalysis,
    analyse_file,
    file_digest,
    load_cached,
    make_reporter,
    save_cached,
    spec_for,
)
from pytest_phase7.settings import Settings

pytestmark = pytest.mark.slow


def with_blocks_have_a_fast_path() -> bool:
    """Whether this coverage.py's ``with`` fixes can be cached (see ``coverage_api``)."""
    from coverage.parser import PythonParser

    parser = PythonParser(text="with a:\n    pass\nb = 1\n")
    parser.parse_source()
    parser.arcs()
    try:
        coverage_api.jump_fixers(parser)
    except coverage_api.UnsupportedCoverageError:
        return False
    return True


#: TRICKY has `with` blocks: under branch coverage on coverage.py 7.6-7.16 coverage.py parses
#: it itself (same figures, no static analysis), so the tests of the caching are not for them.
WITH_FAST_PATH = with_blocks_have_a_fast_path()
needs_with_fast_path = pytest.mark.skipif(
    not WITH_FAST_PATH, reason="coverage.py 7.6-7.16: no static analysis of `with` blocks"
)


def test_the_fast_path_versions_are_the_documented_ones():
    # README: the static analysis is used for every file on coverage.py 7.5 and 7.17+, and for
    # files without `with` blocks (or without branch coverage) on 7.6-7.16.
    assert WITH_FAST_PATH is not ((7, 6) <= coverage.version_info[:2] < (7, 17))


#: Every construct whose lines or arcs coverage.py translates: multi-line statements, `with`
#: blocks (the 3.10+ jump fixes), excluded blocks, `pragma: no branch`, loops with else,
#: try/finally, match, comprehensions, lambdas, async code and decorators.
TRICKY = """\
import contextlib


def multi(a,
          b):
    total = (a +
             b)
    if (total >
            10):
        return "big"
    return "small"


def withs(path):
    with contextlib.suppress(ValueError):
        x = int(path)
        if x:
            return x
    with open(os.devnull) as f, contextlib.nullcontext():
        for line in f:
            break
        else:
            pass
    return 0


def excluded():  # pragma: no cover
    return 1


def partial(n):
    if n:  # pragma: no branch
        n += 1
    while n < 3:
        n += 1
    else:
        n = -n
    try:
        return n
    finally:
        n = 0


def matcher(value):
    match value:
        case [x, y]:
            return x + y
        case {"k": v}:
            return v
        case _:
            return None


squares = [i * i for i in range(3) if i]
# A code object that starts on a continuation line: its entry/exit arcs (negative line numbers)
# translate to the statement's first line.
squashed = (0 +
            (lambda: 1)())
pick = lambda v: (v
                  if v else None)


@contextlib.contextmanager
def managed():
    yield 1


async def coro(n):
    if n:
        return n
    return 0


import os
"""

DRIVER = """\
import asyncio
import tricky
tricky.multi(1, 2)
tricky.withs("0")
tricky.withs("x")
tricky.partial(5)
tricky.matcher([1, 2])
tricky.matcher(3)
tricky.pick(1)
with tricky.managed():
    pass
asyncio.run(tricky.coro(1))
"""


def measured(tmp_path: Path, branch: bool, config: str = "") -> Path:
    write(tmp_path, {"tricky.py": TRICKY, "driver.py": DRIVER})
    (tmp_path / ".coveragerc").write_text(f"[run]\nbranch = {branch}\n{config}")
    subprocess.run([sys.executable, "-m", "coverage", "run", "driver.py"], cwd=tmp_path, check=True)
    return tmp_path


def loaded(root: Path) -> Any:
    old = Path.cwd()
    os.chdir(root)  # coverage reads its config from the current directory, as in a session
    try:
        cov = coverage.Coverage()
        cov.load()
    finally:
        os.chdir(old)
    return cov


def facts(analysis: Any) -> dict[str, object]:
    return {
        "statements": analysis.statements,
        "excluded": analysis.excluded,
        "executed": analysis.executed,
        "missing": analysis.missing,
        "arc_possibilities": analysis.arc_possibilities,
        "arcs_executed": analysis.arcs_executed,
        "exit_counts": analysis.exit_counts,
        "no_branch": analysis.no_branch,
        "numbers": (
            analysis.numbers.n_statements,
            analysis.numbers.n_excluded,
            analysis.numbers.n_missing,
            analysis.numbers.n_branches,
            analysis.numbers.n_partial_branches,
            analysis.numbers.n_missing_branches,
        ),
        "missing_formatted": analysis.missing_formatted(branches=True),
    }


@pytest.mark.parametrize("branch", [False, True])
def test_static_reporter_gives_coverage_own_analysis(tmp_path: Path, branch: bool):
    root = measured(tmp_path, branch, "[report]\nexclude_also =\n    return None\n")
    cov = loaded(root)
    path = str(root / "tricky.py")
    own = cov._analyze(path)
    try:
        static = analyse_file(path, spec_for(cov))
    except coverage_api.UnsupportedCoverageError:
        # Only where coverage.py keeps the `with` fixes in another form (see coverage_api).
        assert branch
        assert not WITH_FAST_PATH
        pytest.skip(f"coverage.py {coverage.__version__} has no fast path for `with` blocks")
    # Through the JSON form too: that is what the worker and the cache hand over.
    restored = StaticAnalysis.from_json(json.loads(json.dumps(static.to_json())))
    assert restored == static
    reporter = make_reporter(cov._get_file_reporter(path), restored)
    ours = coverage_api.analyser(cov, cov.get_data())(reporter)
    assert facts(ours) == facts(own)
    assert own.numbers.n_statements > 30  # the file was really analysed
    if branch:
        assert own.numbers.n_missing_branches > 0  # and it has partial branches to get right


@needs_with_fast_path
def test_worker_output_equals_in_process_analysis(tmp_path: Path):
    root = measured(tmp_path, branch=True)
    (root / "broken.py").write_text("def f(:\n")
    spec = spec_for(loaded(root))
    proc = subprocess.run(
        [sys.executable, "-m", WORKER, *spec.to_argv(), "--", "tricky.py", "broken.py"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    document = json.loads(proc.stdout)
    assert document["spec"] == spec.key
    assert StaticAnalysis.from_json(document["files"]["tricky.py"]) == analyse_file(
        str(root / "tricky.py"), spec
    )
    assert "NotPython" in document["files"]["broken.py"]["error"]


def test_exclusion_settings_change_the_key(tmp_path: Path):
    root = measured(tmp_path, branch=False)
    plain = spec_for(loaded(root))
    (root / ".coveragerc").write_text("[report]\nexclude_also =\n    def matcher\n")
    stricter = spec_for(loaded(root))
    assert plain.key != stricter.key
    path = str(root / "tricky.py")
    assert analyse_file(path, stricter).excluded > analyse_file(path, plain).excluded


@needs_with_fast_path
def test_cache_entries_are_checked(tmp_path: Path):
    root = measured(tmp_path, branch=True)
    spec = spec_for(loaded(root))
    path = str(root / "tricky.py")
    static = analyse_file(path, spec)
    store = DictStore()
    save_cached(store, path, spec, static)
    assert load_cached(store, path, spec) == static
    assert load_cached(None, path, spec) is None
    other = coverage_static.StaticSpec("x", spec.partial, True, spec.coverage_version, "py")
    assert load_cached(store, path, other) is None
    (key,) = store.data
    store.data[key] = {"spec": spec.key, "analysis": {"digest": "x"}}  # damaged
    assert load_cached(store, path, spec) is None
    good = static.to_json()
    damaged = [
        {**good, "statements": [*good["statements"], "7"]},
        {**good, "excluded": [True]},
        {**good, "arcs": [*good["arcs"], [1, 2, 3]]},
        {**good, "arcs": [*good["arcs"], [1, "2"]]},
        {**good, "multiline": [[2, None]]},
        {**good, "exit_counts": [[1, 1.5]]},
        {**good, "jump_fixers": [[1, 2, "3", 4]]},
    ]
    for entry in damaged:
        store.data[key] = {"spec": spec.key, "analysis": entry}
        assert load_cached(store, path, spec) is None, entry
    store.data[key] = {"spec": spec.key, "analysis": good}
    assert load_cached(store, path, spec) == static
    assert static.usable_for(file_digest(path), needs_arcs=True)
    assert not static.usable_for("0" * 64, needs_arcs=False)
    no_arcs = analyse_file(path, spec_for(loaded(measured(tmp_path / "b", branch=False))))
    assert no_arcs.arcs is None
    assert not no_arcs.usable_for(no_arcs.digest, needs_arcs=True)


def test_file_changing_while_parsed_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = measured(tmp_path, branch=False)
    digests = iter(["a" * 64, "b" * 64])
    monkeypatch.setattr(coverage_static, "file_digest", lambda path: next(digests))
    with pytest.raises(coverage_static.ChangedWhileParsingError):
        analyse_file(str(root / "tricky.py"), spec_for(loaded(root)))


def report_total(root: Path, rel: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "coverage", "report", "--format=total", rel],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip() + "%"


def run_gate(
    root: Path,
    gate: CoverageGate,
    store: DictStore | None,
    monkeypatch: pytest.MonkeyPatch,
    *,
    prepare: bool = True,
) -> Any:
    cov = loaded(root)
    request = GateRequest(root, (file_target("tricky.py"),), Settings(), None, store)
    if prepare:
        # In a session the measuring Coverage object is the current one; here it is loaded.
        monkeypatch.setattr(coverage.Coverage, "current", classmethod(lambda cls: cov))
        gate.prepare(request)
    old = Path.cwd()
    os.chdir(root)
    try:
        return gate.run(GateRequest(root, request.targets, Settings(), SessionData(cov), store))
    finally:
        os.chdir(old)


def forget_figures(store: DictStore) -> None:
    """Drop the figures memo, so that a warm run needs the static analysis again."""
    del store.data[coverage_memo.MEMO_KEY]


class Spy:
    """Counts the coverage gate's parses: in the worker (files sent) and in-process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from pytest_phase7.gates import coverage as gate_module

        self.sent_to_worker: list[int] = []
        self.parsed_in_process = 0
        real_worker, real_parse = gate_module._run_worker, gate_module.analyse_file

        def worker(request: Any, spec: Any, files: Any) -> Any:
            self.sent_to_worker.append(len(files))
            return real_worker(request, spec, files)

        def parse(path: str, spec: Any) -> Any:
            self.parsed_in_process += 1
            return real_parse(path, spec)

        monkeypatch.setattr(gate_module, "_run_worker", worker)
        monkeypatch.setattr(gate_module, "analyse_file", parse)


@pytest.mark.parametrize("branch", [False, True])
def test_prepared_then_cached_figures_equal_coverage_report(
    tmp_path: Path, branch: bool, monkeypatch: pytest.MonkeyPatch
):
    if branch and not WITH_FAST_PATH:
        pytest.skip("coverage.py 7.6-7.16: no static analysis of `with` blocks")
    root = measured(tmp_path, branch)
    store = DictStore()
    cold_spy = Spy(monkeypatch)
    cold = run_gate(root, CoverageGate(), store, monkeypatch)
    # Parsed once, by the worker while "the tests ran"; nothing left to parse after them.
    assert (cold_spy.sent_to_worker, cold_spy.parsed_in_process) == ([1], 0)
    assert len([k for k in store.data if k.startswith(coverage_static.STORE_PREFIX)]) == 1
    forget_figures(store)  # the static cache, not the figures memo, must answer here
    warm_spy = Spy(monkeypatch)
    warm = run_gate(root, CoverageGate(), store, monkeypatch)
    assert (warm_spy.sent_to_worker, warm_spy.parsed_in_process) == ([], 0)  # from the cache
    unprepared = run_gate(root, CoverageGate(), None, monkeypatch, prepare=False)
    expected = report_total(root, "tricky.py")
    for run in (cold, warm, unprepared):
        assert run.results["tricky.py"].display == expected
        assert run.results["tricky.py"].details == unprepared.results["tricky.py"].details
    assert cold.results == warm.results  # how the analysis was obtained never shows


def test_file_edited_after_preparation_is_analysed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root = measured(tmp_path, branch=True)
    gate = CoverageGate()
    cov = loaded(root)
    monkeypatch.setattr(coverage.Coverage, "current", classmethod(lambda cls: cov))
    store = DictStore()
    gate.prepare(GateRequest(root, (file_target("tricky.py"),), Settings(), None, store))
    with (root / "tricky.py").open("a") as source:
        source.write("\n\ndef added():\n    return 1\n")
    result = run_gate(root, gate, store, monkeypatch, prepare=False).results["tricky.py"]
    assert result.display == report_total(root, "tricky.py")
    assert (
        dict(result.extra)["statements"]
        == cov._analyze(str(root / "tricky.py")).numbers.n_statements
    )


def test_failing_worker_costs_time_not_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = measured(tmp_path, branch=True)
    monkeypatch.setattr("pytest_phase7.gates.coverage.WORKER", "pytest_phase7.no_such_worker")
    spy = Spy(monkeypatch)
    run = run_gate(root, CoverageGate(), DictStore(), monkeypatch)
    assert (spy.sent_to_worker, spy.parsed_in_process) == ([1], 1)  # parsed again, after
    assert run.results["tricky.py"].display == report_total(root, "tricky.py")


def test_coverage_without_jump_table_falls_back_to_its_own_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root = measured(tmp_path, branch=True)

    def unsupported(parser: object) -> None:
        raise coverage_api.UnsupportedCoverageError("no table")

    monkeypatch.setattr(coverage_static, "jump_fixers", unsupported)
    run = run_gate(root, CoverageGate(), DictStore(), monkeypatch, prepare=False)
    assert run.results["tricky.py"].display == report_total(root, "tricky.py")


def test_unparsable_target_is_its_own_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = measured(tmp_path, branch=False)
    (root / "broken.py").write_text("def f(:\n")
    cov = loaded(root)
    targets = (file_target("tricky.py"), file_target("broken.py"))
    old = Path.cwd()
    os.chdir(root)
    try:
        run = CoverageGate().run(GateRequest(root, targets, Settings(), SessionData(cov)))
    finally:
        os.chdir(old)
    broken = run.results["broken.py"]
    assert broken.status is GateStatus.ERROR
    assert broken.reason.startswith("broken.py: coverage.py cannot analyse it: NotPython")
    assert run.results["tricky.py"].display == report_total(root, "tricky.py")


PLAN = """# Plan

### Batch 1: Unit Tests
**Items:** 1-1

| # | Module | File | Status |
|---|--------|------|--------|
| 1 | Core | a.py | QUEUED |
"""


class PreparingGate:
    """A session gate that records what its preparation saw; ``fail`` makes it raise."""

    name = "prep"
    title = "Prep"
    needs_session = True

    def __init__(self, *, fail: bool) -> None:
        self.fail = fail
        self.prepared: list[tuple[str, ...]] = []

    def prepare(self, request: GateRequest) -> None:
        if self.fail:
            raise RuntimeError("preparation broke")
        assert request.session is None  # preparation runs before the session has data
        self.prepared.append(tuple(t.ref for t in request.targets))

    def run(self, request: GateRequest) -> Any:
        from pytest_phase7.gates.base import GateResult, GateRun

        status = GateStatus.PASS if self.prepared else GateStatus.FAIL
        return GateRun(self.name, {t.ref: GateResult(self.name, status) for t in request.targets})


def run_engine(root: Path, gates: list[Any]) -> Any:
    """Start and finish an engine over the one-item PLAN (``core/a.py``) with ``gates``."""
    from pytest_phase7.engine import Engine
    from pytest_phase7.manifest import load_manifest
    from pytest_phase7.resolve.targets import resolve_items

    write(root, {"core/a.py": "X = 1\n", "PLAN.md": PLAN})
    manifest = load_manifest(root / "PLAN.md")
    engine = Engine(Settings(), manifest, resolve_items(manifest, root), root, gates)
    engine.start()
    return engine.finish(SessionData(None))


@pytest.mark.parametrize("fail", [False, True])
def test_engine_prepares_session_gates_and_survives_a_failed_preparation(
    tmp_path: Path, fail: bool
):
    gate = PreparingGate(fail=fail)
    result = run_engine(tmp_path, [gate])
    (run,) = result.gate_runs
    # Prepared before it ran; a broken preparation only means the gate works without it.
    assert run.results["core/a.py"].status is (GateStatus.FAIL if fail else GateStatus.PASS)
    assert gate.prepared == ([] if fail else [("core/a.py",)])


class StaticGate:
    """A static gate whose tool "runs" at once."""

    name = "static"
    title = "Static"
    needs_session = False

    def run(self, request: GateRequest) -> Any:
        from pytest_phase7.gates.base import GateResult, GateRun

        return GateRun(
            self.name, {t.ref: GateResult(self.name, GateStatus.PASS) for t in request.targets}
        )


def test_static_gates_start_before_session_gates_are_prepared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # A static gate's tool is on the critical path from its start; a preparation is not.
    from pytest_phase7 import engine as engine_module

    started: list[str] = []
    real_submit = engine_module.GateThreads.submit

    def submit(self: Any, fn: Any, *args: object) -> Any:
        started.append(fn.__name__)
        return real_submit(self, fn, *args)

    monkeypatch.setattr(engine_module.GateThreads, "submit", submit)
    # Registration order: the session gate first.
    result = run_engine(tmp_path, [PreparingGate(fail=False), StaticGate()])
    assert started == ["_complete_static", "prepare"]
    assert [run.results["core/a.py"].status for run in result.gate_runs] == [GateStatus.PASS] * 2


class WholeProjectGate(StaticGate):
    """A static gate whose answer depends on the whole project, as mypy's does."""

    name = "whole"
    title = "Whole"
    cache_policy = CachePolicy(("mypy",), whole_project=True)


def test_the_whole_project_gate_is_started_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # mypy (the whole project, following imports) is most often the longest tool: every other
    # gate's planning and start-up would delay it, on the run's critical path.
    from pytest_phase7 import engine as engine_module

    planned: list[str] = []
    real_plan = engine_module.Engine._plan_static

    def plan(self: Any, gate: Any, *args: Any) -> Any:
        planned.append(gate.name)
        return real_plan(self, gate, *args)

    monkeypatch.setattr(engine_module.Engine, "_plan_static", plan)
    result = run_engine(tmp_path, [StaticGate(), WholeProjectGate(), PreparingGate(fail=False)])
    assert planned == ["whole", "static"]
    # The results keep the registration order.
    assert [run.gate for run in result.gate_runs] == ["static", "whole", "prep"]


def test_worker_main_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from pytest_phase7.gates import _coverage_worker

    root = measured(tmp_path, branch=False)
    spec = spec_for(loaded(root))
    missing = str(root / "gone.py")
    assert _coverage_worker.main([*spec.to_argv(), "--", str(root / "tricky.py"), missing]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert StaticAnalysis.from_json(files[str(root / "tricky.py")]).statements
    assert files[missing]["error"].startswith("FileNotFoundError")
    with pytest.raises(SystemExit) as usage:
        _coverage_worker.main(["--", "x.py"])  # no --exclude/--partial
    assert usage.value.code == 2


@needs_with_fast_path
def test_unprepared_run_uses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # `phase7 gate` (no session, nothing prepared) still finds what an earlier run cached.
    root = measured(tmp_path, branch=True)
    store = DictStore()
    first = run_gate(root, CoverageGate(), store, monkeypatch, prepare=False)
    forget_figures(store)
    spy = Spy(monkeypatch)
    second = run_gate(root, CoverageGate(), store, monkeypatch, prepare=False)
    assert (spy.sent_to_worker, spy.parsed_in_process) == ([], 0)
    assert second.results == first.results


# --- the figures memo: a file whose bytes and measured data are unchanged is not analysed ----

#: Runs other code of ``tricky`` than DRIVER does: same file, different measured data.
OTHER_DRIVER = """\
import tricky
tricky.multi(20, 2)
tricky.partial(0)
tricky.matcher({"k": 1})
"""


class AnalysisSpy:
    """Counts coverage.py analyses and static-cache reads made by the coverage gate."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from pytest_phase7.gates import coverage as gate_module

        self.analysed = 0
        self.static_loads = 0
        real_analyser, real_load = coverage_api.analyser, gate_module.load_cached

        def analyser(cov: Any, data: Any) -> Any:
            analyse = real_analyser(cov, data)

            def counted(reporter: Any) -> Any:
                self.analysed += 1
                return analyse(reporter)

            return counted

        def load(*args: Any) -> Any:
            self.static_loads += 1
            return real_load(*args)

        monkeypatch.setattr(coverage_api, "analyser", analyser)
        monkeypatch.setattr(gate_module, "load_cached", load)


def rerun_coverage(root: Path, driver: str) -> None:
    (root / "driver.py").write_text(driver)
    subprocess.run([sys.executable, "-m", "coverage", "run", "driver.py"], cwd=root, check=True)


@pytest.mark.parametrize("branch", [False, True])
def test_warm_run_is_answered_by_the_memo(
    tmp_path: Path, branch: bool, monkeypatch: pytest.MonkeyPatch
):
    root = measured(tmp_path, branch)
    store = DictStore()
    cold = run_gate(root, CoverageGate(), store, monkeypatch)
    rerun_coverage(root, DRIVER)  # a new session that ran the same tests
    spy = AnalysisSpy(monkeypatch)
    warm = run_gate(root, CoverageGate(), store, monkeypatch)
    # Neither prepared (the memo was expected to answer) nor analysed after the tests.
    assert (spy.analysed, spy.static_loads) == (0, 0)
    assert warm.results == cold.results
    assert warm.results["tricky.py"].display == report_total(root, "tricky.py")


@pytest.mark.parametrize("branch", [False, True])
def test_tests_that_ran_differently_are_analysed_again(
    tmp_path: Path, branch: bool, monkeypatch: pytest.MonkeyPatch
):
    root = measured(tmp_path, branch)
    store = DictStore()
    first = run_gate(root, CoverageGate(), store, monkeypatch).results["tricky.py"]
    rerun_coverage(root, OTHER_DRIVER)  # same file, other lines and branches measured
    spy = AnalysisSpy(monkeypatch)
    second = run_gate(root, CoverageGate(), store, monkeypatch).results["tricky.py"]
    assert spy.analysed == 1
    assert second.display == report_total(root, "tricky.py") != first.display
    cov = loaded(root)
    own = cov._analyze(str(root / "tricky.py"))
    assert second.details == (f"tricky.py: missing {own.missing_formatted(branches=True)}",)


def test_edited_file_and_changed_settings_are_analysed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root = measured(tmp_path, branch=True)
    store = DictStore()
    run_gate(root, CoverageGate(), store, monkeypatch)
    with (root / "tricky.py").open("a") as source:
        source.write("\n\ndef added():\n    return 1\n")
    rerun_coverage(root, DRIVER)
    spy = AnalysisSpy(monkeypatch)
    edited = run_gate(root, CoverageGate(), store, monkeypatch).results["tricky.py"]
    assert spy.analysed == 1
    assert edited.display == report_total(root, "tricky.py")
    # Same bytes, same data, other exclusions: another spec, so another analysis.
    (root / ".coveragerc").write_text(
        "[run]\nbranch = True\n[report]\nexclude_also =\n    def multi\n"
    )
    spy = AnalysisSpy(monkeypatch)
    excluded = run_gate(root, CoverageGate(), store, monkeypatch).results["tricky.py"]
    assert spy.analysed == 1
    assert excluded.display == report_total(root, "tricky.py")
    assert dict(excluded.extra)["statements"] < dict(edited.extra)["statements"]


def test_damaged_memo_entries_are_analysed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = measured(tmp_path, branch=True)
    store = DictStore()
    good = run_gate(root, CoverageGate(), store, monkeypatch).results["tricky.py"]
    memo: Any = store.data[coverage_memo.MEMO_KEY]
    ((path, entry),) = memo["files"].items()
    key, figures, stat = entry
    damaged = [
        [key, [*figures[:6], 7], stat],  # missing lines not a string
        [key, [True, *figures[1:]], stat],  # a bool is no count
        [key, [-1, *figures[1:]], stat],
        [key, figures[:6], stat],
        [None, figures, stat],
        [key, figures, [stat[0], "1"]],
        [key, figures, [stat[0]]],
        [key, figures],
        "garbage",
    ]
    for value in damaged:
        store.data[coverage_memo.MEMO_KEY] = {**memo, "files": {path: value}}
        spy = AnalysisSpy(monkeypatch)
        result = run_gate(root, CoverageGate(), store, monkeypatch).results["tricky.py"]
        assert spy.analysed == 1, value
        assert result == good
    for document in ({**memo, "format": 0}, {**memo, "files": []}, [], None):
        store.data[coverage_memo.MEMO_KEY] = document
        spy = AnalysisSpy(monkeypatch)
        assert run_gate(root, CoverageGate(), store, monkeypatch).results["tricky.py"] == good
        assert spy.analysed == 1, document


@needs_with_fast_path
def test_stat_hint_decides_the_preparation_never_the_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root = measured(tmp_path, branch=True)
    rerun_coverage(root, OTHER_DRIVER)  # never runs withs(): its lines are not in the data
    store = DictStore()
    first = run_gate(root, CoverageGate(), store, monkeypatch).results["tricky.py"]
    source = root / "tricky.py"
    before = source.stat()
    # Other bytes, same size, same lines, same measured data, old modification time restored:
    # the hint says "unchanged", so nothing is prepared; the key (from the bytes) still misses.
    text = source.read_text()
    pragma = "  # pragma: no cover"
    edited = text.replace("        x = int(path)\n", f"        x = int(path){pragma}\n")
    comment = "# translate to the statement's first line.\n"
    edited = edited.replace(comment, comment[: -len(pragma) - 1] + "\n")
    assert len(edited) == len(text)
    assert edited.count("\n") == text.count("\n")
    source.write_text(edited)
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    rerun_coverage(root, OTHER_DRIVER)
    spy = AnalysisSpy(monkeypatch)
    gate = CoverageGate()
    fooled = run_gate(root, gate, store, monkeypatch).results["tricky.py"]
    assert gate._prepared == {}  # not prepared...
    assert spy.analysed == 1  # ...but analysed all the same
    assert fooled.display == report_total(root, "tricky.py")
    assert dict(fooled.extra)["statements"] == dict(first.extra)["statements"] - 1
    # Touched only (same bytes, new time): prepared, although the memo then answers.
    rerun_coverage(root, OTHER_DRIVER)
    source.touch()
    spy = AnalysisSpy(monkeypatch)
    gate = CoverageGate()
    touched = run_gate(root, gate, store, monkeypatch).results["tricky.py"]
    assert list(gate._prepared) == [str(source)]
    assert (spy.static_loads, spy.analysed) == (1, 0)  # loaded once, in the preparation
    assert touched == fooled


class CountingStore(DictStore):
    """A DictStore that counts writes of the figures memo."""

    def __init__(self) -> None:
        super().__init__()
        self.memo_writes = 0

    def set(self, key: str, value: object) -> None:
        self.memo_writes += key == coverage_memo.MEMO_KEY
        super().set(key, value)


def test_memo_holds_the_current_targets_and_is_written_only_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root = measured(tmp_path, branch=False)
    store = CountingStore()
    run_gate(root, CoverageGate(), store, monkeypatch)
    run_gate(root, CoverageGate(), store, monkeypatch)
    assert store.memo_writes == 1  # the warm run had nothing new to say
    (root / "other.py").write_text("X = 1\n")
    cov = loaded(root)
    old = Path.cwd()
    os.chdir(root)
    try:
        CoverageGate().run(
            GateRequest(root, (file_target("other.py"),), Settings(), SessionData(cov), store)
        )
    finally:
        os.chdir(old)
    memo: Any = store.data[coverage_memo.MEMO_KEY]
    assert list(memo["files"]) == [str(root / "other.py")]  # tricky.py is no target any more


def test_figures_and_keys():
    from coverage.results import Numbers

    figures = coverage_memo.FileFigures(10, 1, 2, 4, 1, 2, "3-4, 7->9")
    assert coverage_memo.FileFigures.from_json(figures.to_json()) == figures
    assert figures.numbers(2) == Numbers(
        precision=2,
        n_files=1,
        n_statements=10,
        n_excluded=1,
        n_missing=2,
        n_branches=4,
        n_partial_branches=1,
        n_missing_branches=2,
    )
    key = coverage_memo.measured_key
    assert key("s", "d", True, [(1, 2), (2, -1)]) == key("s", "d", True, [(2, -1), (1, 2)])
    variants = {
        key("s", "d", True, [(1, 2)]),
        key("t", "d", True, [(1, 2)]),
        key("s", "e", True, [(1, 2)]),
        key("s", "d", False, [(1, 2)]),
        key("s", "d", True, [(1, 3)]),
        key("s", "d", True, []),
    }
    assert len(variants) == 6


@pytest.mark.parametrize("worker", [WORKER, "pytest_phase7.gates._interrogate_worker"])
def test_gate_workers_do_not_import_pytest(worker: str):
    """A worker starts next to the tests in every cold run: importing pytest doubled its cost."""
    probe = f"import sys, {worker}; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = done.stdout.split()
    assert worker in loaded
    assert not [name for name in loaded if name.split(".")[0] in ("pytest", "_pytest")]
