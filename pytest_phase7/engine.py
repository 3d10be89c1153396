"""Run the gates over the resolved targets and turn their results into a :class:`RunResult`.

Static gates (ruff, mypy, docstrings, custom ones with ``needs_session = False``) are looked up
in the cache when :meth:`Engine.start` is called: at session start, or for the built-in ones at
start-up, by an engine whose gates the session's engine then takes over (:meth:`Engine.adopt`).
Those with no cached answer start in background threads and run while the tests run. Session
gates (coverage) may prepare in a background thread meanwhile, and run in :meth:`Engine.finish`
once the session's data exists.
A gate that raises is an ERROR for all its targets, never a crash of the session.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pytest_phase7.gates.base import (
    Gate,
    GateRequest,
    GateResult,
    GateRun,
    GateStatus,
    SessionData,
    error_run,
)
from pytest_phase7.gates.cache import (
    NOT_CACHED,
    CacheLookup,
    FileDigests,
    ResultStore,
    cached_run,
    last_results,
    lookup,
    policy_of,
    remember,
    storable,
)
from pytest_phase7.gates.tools import kill_running
from pytest_phase7.gcpause import paused
from pytest_phase7.model import Manifest, PlanStatus, WorkItem
from pytest_phase7.resolve.selection import Suite
from pytest_phase7.resolve.targets import Resolution, Target
from pytest_phase7.settings import Settings

if TYPE_CHECKING:
    from pytest_phase7.resolve.diffcov import ChangedLines
    from pytest_phase7.status.rules import Baseline, ItemOutcome, Verdict

_T = TypeVar("_T")

#: Extra seconds to wait for a gate thread beyond its own timeout before giving up on it.
JOIN_GRACE_SECONDS = 30.0

#: How long :meth:`Engine.close` keeps killing the tools of gates that are still running.
KILL_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class RunResult:
    """Everything one ``pytest --phase7`` run found: per item, per gate, and the verdict."""

    manifest: Manifest
    rootdir: str
    gates: tuple[str, ...]
    gate_titles: tuple[tuple[str, str], ...]
    outcomes: tuple[ItemOutcome, ...]
    gate_runs: tuple[GateRun, ...]
    verdict: Verdict
    tests_failed: int = 0
    notes: tuple[str, ...] = ()
    #: The suite the session's coverage came from (None when not known: ``phase7 gate``).
    suite: Suite | None = None
    #: Changed-only mode: what the pull request changed (None otherwise, and in a reloaded report).
    diff: ChangedLines | None = None

    @cached_property
    def by_batch(self) -> Mapping[int, tuple[ItemOutcome, ...]]:
        """Outcomes grouped by batch number, in order (computed once: reports ask per batch)."""
        groups: dict[int, list[ItemOutcome]] = {}
        for outcome in self.outcomes:
            groups.setdefault(outcome.item.batch, []).append(outcome)
        return {number: tuple(group) for number, group in groups.items()}

    def title_of(self, gate: str) -> str:
        """The report title of a gate."""
        return dict(self.gate_titles).get(gate, gate)


StatusOverride = Callable[["ItemOutcome"], "PlanStatus | None"]


@dataclass(frozen=True)
class StaticPlan:
    """A static gate's run as planned at session start (see :meth:`Engine._plan_static`)."""

    request: GateRequest
    carried: Mapping[str, GateResult]
    looked_up: CacheLookup | None

    @property
    def needs_tool(self) -> bool:
        """True when the tool must run: targets to check and no cached answer for them."""
        return bool(self.request.targets) and (self.looked_up is None or self.looked_up.hit is None)


class GateThreads:
    """Runs each gate's work in a thread of its own, a daemon thread.

    Not a ``ThreadPoolExecutor``: its threads are joined when the interpreter exits, with no
    bound, so a gate stuck for good (past its timeout, reported as ERROR) would keep pytest from
    ever exiting. Every wait for these threads has a bound instead (:meth:`Engine.finish`,
    :meth:`Engine.close`).
    """

    def submit(self, fn: Callable[..., _T], *args: object) -> concurrent.futures.Future[_T]:
        """Start ``fn(*args)`` now; its future."""
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()

        def work() -> None:
            # Untraced: coverage.py traces every thread started while it measures, and tracing
            # the gates' own work (parsing tool output, hashing, building results) would slow
            # it down next to the tests and add to the data lines that no test ran.
            sys.settrace(None)
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for it
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=work, name="phase7-gate", daemon=True).start()
        return future


def applicable_gates(
    item: WorkItem,
    batch_gates: tuple[str, ...] | None,
    available: Sequence[str],
    merge_gates: Sequence[str] = (),
) -> tuple[str, ...]:
    """The gates that apply to an item: the item's own list, else its batch's, else all.

    ``merge_gates`` (gates with ``merge_gate = True``: the pull request's new lines) apply to
    every item whatever the lists say: they judge the change, not the item's work.
    """
    narrowed = item.gates if item.gates is not None else batch_gates
    if narrowed is None:
        return tuple(available)
    return tuple(g for g in available if g in narrowed or g in merge_gates)


class Engine:
    """One run of the gates for one session."""

    def __init__(
        self,
        settings: Settings,
        manifest: Manifest,
        resolutions: Sequence[Resolution],
        rootdir: Path,
        gates: Sequence[Gate],
        *,
        baseline: Baseline | None = None,
        baseline_counts: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
        store: ResultStore | None = None,
        project_files: Sequence[str] = (),
        changed: frozenset[str] | None = None,
        first_run: Mapping[int, Mapping[str, float]] | None = None,
        notes: Sequence[str] = (),
        diff: ChangedLines | None = None,
    ) -> None:
        """Prepare which gate checks which targets; nothing runs yet.

        ``changed`` (changed-only mode) are the files changed since the ref, ``diff`` the lines
        (:mod:`pytest_phase7.resolve.diffcov`): both from the same comparison. ``first_run`` is, per
        item number, the metrics the history first recorded for it
        (:func:`pytest_phase7.insights.history.first_metrics`): a starting point for the status
        rule.
        ``notes`` are known before the run (how to fix unresolved targets) and lead the result's.
        ``baseline_counts`` are the counts behind the baseline's floors, per target and gate.
        """
        self.settings = settings
        self.manifest = manifest
        self.resolutions = tuple(resolutions)
        self.rootdir = rootdir
        self.gates = tuple(gates)
        self.baseline = baseline
        self.baseline_counts = baseline_counts or {}
        self.store = store
        self.project_files = tuple(project_files)
        self.changed = changed
        self.first_run = first_run or {}
        self.notes = tuple(notes)
        self.diff = diff
        batches = {b.number: b.gates for b in manifest.batches}
        names = [g.name for g in self.gates]
        merge = [g.name for g in self.gates if getattr(g, "merge_gate", False) is True]
        self.applicable: dict[int, tuple[str, ...]] = {
            r.item.number: applicable_gates(r.item, batches.get(r.item.batch), names, merge)
            for r in self.resolutions
        }
        self._targets: dict[str, list[Target]] = {name: [] for name in names}
        seen: dict[str, set[str]] = {name: set() for name in names}
        for resolution in self.resolutions:
            if resolution.target is None:
                continue
            for name in self.applicable[resolution.item.number]:
                if resolution.target.ref not in seen[name]:
                    seen[name].add(resolution.target.ref)
                    self._targets[name].append(resolution.target)
        self._pool: GateThreads | None = None
        self._futures: dict[str, concurrent.futures.Future[GateRun]] = {}
        self._preparing: dict[str, concurrent.futures.Future[None]] = {}
        self._ready: dict[str, GateRun] = {}

    def start(self) -> None:
        """Start the static gates, and session gates' preparation, in background threads.

        Call at session start. A session gate may define ``prepare(request)`` to do the part of
        its work that does not need the session's data while the tests run (the coverage gate
        parses its target files); :meth:`finish` waits for it before running the gate.
        """
        started = self._futures.keys() | self._ready.keys()  # taken over (see adopt)
        static = [
            g
            for g in self.gates
            if not g.needs_session and self._targets[g.name] and g.name not in started
        ]
        preparing = [
            g
            for g in self.gates
            if g.needs_session and self._targets[g.name] and callable(getattr(g, "prepare", None))
        ]
        if not static and not preparing:
            return
        for gate in (*preparing, *static):
            problem = _find_tools(gate)
            if problem is not None:  # that gate is answered now, and starts no thread
                self._ready[gate.name] = error_run(
                    gate.name,
                    self._targets[gate.name],
                    problem,
                    "report this to the gate's authors",
                )
        # A gate whose answer depends on the whole project (mypy follows imports) takes longest:
        # it is planned and started first, the others behind it (a stable sort keeps their order).
        static = sorted(
            (g for g in static if g.name not in self._ready), key=lambda g: not _whole_project(g)
        )
        preparing = [g for g in preparing if g.name not in self._ready]
        if not static and not preparing:
            return
        if self._pool is None:
            self._pool = GateThreads()
        digests = FileDigests()  # the gates' fingerprints share their files: hash each once
        for gate in static:
            plan = self._plan_static(gate, self._request(gate, None), digests)
            if plan.needs_tool:
                self._futures[gate.name] = self._pool.submit(self._complete_static, gate, plan)
            else:
                # A cache hit (or nothing to re-check) is answered here, before the tests start:
                # hashing hundreds of files in a thread would fight the tests for the GIL.
                self._ready[gate.name] = self._complete_static(gate, plan)
        # Then the preparations: their results are wanted only after the tests, while a static
        # gate's tool (mypy, often the longest) is the critical path from the moment it starts;
        # a preparation's thread started first would compete with the planning above.
        for gate in preparing:
            self._preparing[gate.name] = self._pool.submit(
                gate.prepare,  # type: ignore[attr-defined]
                self._request(gate, None),
            )

    def adopt(self, early: Engine) -> bool:
        """Take over the static gates ``early`` started if this engine would start them; True if so.

        Otherwise ``early`` is stopped. All or nothing: stopping a gate kills every running tool,
        so either each gate ``early`` started is one of this engine's, of the same class, asked
        the same (same targets, settings, rootdir; the cache may be another object over the same
        folder), or ``early`` is stopped whole and :meth:`start` starts this engine's own.
        """
        mine = {gate.name: gate for gate in self.gates}
        started = [g for g in early.gates if g.name in early._futures or g.name in early._ready]
        same = all(
            gate.name in mine
            and type(mine[gate.name]) is type(gate)
            and replace(self._request(mine[gate.name], None), store=None)
            == replace(early._request(gate, None), store=None)
            for gate in started
        )
        if not same or self._pool is not None:
            early.close()
            return False
        self._pool, early._pool = early._pool, None
        self._futures.update(early._futures)
        self._ready.update(early._ready)
        early._futures, early._ready = {}, {}
        return True

    def finish(
        self,
        session: SessionData | None,
        *,
        tests_failed: int = 0,
        override: StatusOverride | None = None,
        notes: Sequence[str] = (),
    ) -> RunResult:
        """Run the session gates, join the static ones, derive statuses and the verdict."""
        runs: dict[str, GateRun] = {}
        for gate in self.gates:
            targets = self._targets[gate.name]
            if not targets:
                runs[gate.name] = GateRun(gate.name, {})
            elif gate.name in self._ready:
                runs[gate.name] = self._ready[gate.name]
            elif gate.needs_session:
                self._wait_for_preparation(gate.name)
                runs[gate.name] = _safe_run(gate, self._request(gate, session))
            elif gate.name not in self._futures:
                runs[gate.name] = self._run_static(gate, self._request(gate, None))
        for name, future in self._futures.items():
            try:
                runs[name] = future.result(timeout=self.settings.timeout + JOIN_GRACE_SECONDS)
            except concurrent.futures.TimeoutError:
                runs[name] = error_run(
                    name,
                    self._targets[name],
                    f"{name} did not finish in time",
                    "raise --phase7-timeout",
                )
        self.close()
        with paused():  # one outcome per item: see pytest_phase7.gcpause
            return self._outcomes(runs, tests_failed=tests_failed, override=override, notes=notes)

    def _outcomes(
        self,
        runs: dict[str, GateRun],
        *,
        tests_failed: int,
        override: StatusOverride | None,
        notes: Sequence[str],
    ) -> RunResult:
        """Derive every item's outcome from the gate runs, and the verdict."""
        # Imported here, not at start-up: the static gates start before anything is derived.
        from pytest_phase7.status.rules import batch_kinds, decide, derive_outcome  # noqa: PLC0415

        kinds = batch_kinds(self.manifest)
        goals = {batch.number: batch.coverage_goal for batch in self.manifest.batches}
        outcomes = []
        for resolution in self.resolutions:
            item = resolution.item
            results = self._results_for(resolution, runs)
            outcome = derive_outcome(
                resolution,
                results,
                kinds[item.batch],
                self.baseline,
                goal=goals.get(item.batch),
                first_run=self.first_run.get(item.number),
                floor_counts=self.baseline_counts.get(resolution.target.ref)
                if resolution.target is not None
                else None,
                tolerance=self.settings.baseline_tolerance,
            )
            if override is not None:
                forced = override(outcome)
                if forced is not None and forced is not outcome.status:
                    outcome = replace(
                        outcome, status=forced, reason=f"set by a plugin: {forced.label}"
                    )
            outcomes.append(outcome)
        blocking = [reason for g in self.gates for reason in runs[g.name].blocking]
        verdict: Verdict = decide(self.manifest, outcomes, self.settings.fail_on, blocking=blocking)
        return RunResult(
            manifest=self.manifest,
            rootdir=str(self.rootdir),
            gates=tuple(g.name for g in self.gates),
            gate_titles=tuple((g.name, g.title) for g in self.gates),
            outcomes=tuple(outcomes),
            gate_runs=tuple(runs[g.name] for g in self.gates),
            verdict=verdict,
            tests_failed=tests_failed,
            notes=(*self.notes, *notes),
            diff=self.diff,
        )

    def _wait_for_preparation(self, name: str) -> None:
        """Let a session gate's ``prepare`` finish; a failed or late one is simply not used."""
        future = self._preparing.get(name)
        if future is None:
            return
        # The gate computes whatever its preparation did not: an exception here costs time,
        # never a figure. The wait is bounded like any gate's.
        with contextlib.suppress(Exception):
            future.result(timeout=self.settings.timeout + JOIN_GRACE_SECONDS)

    def _run_static(self, gate: Gate, request: GateRequest) -> GateRun:
        """Run a static gate through the cache; in changed-only mode, only on changed targets."""
        return self._complete_static(gate, self._plan_static(gate, request))

    def _plan_static(
        self, gate: Gate, request: GateRequest, digests: FileDigests | None = None
    ) -> StaticPlan:
        """What a static gate run needs: which targets to check, what is carried, the cache.

        Unchanged targets (changed-only mode) carry their last known result (marked
        ``carried``); a target with no known result is checked, so nothing passes without
        having been measured once.
        """
        carried: dict[str, GateResult] = {}
        if self.changed is not None:
            last = last_results(self.store, gate.name)
            fresh = []
            for target in request.targets:
                if target.ref in last and not any(f in self.changed for f in target.files):
                    carried[target.ref] = replace(last[target.ref], carried=True, cached=False)
                else:
                    fresh.append(target)
            request = replace(request, targets=tuple(fresh))
        looked_up = None
        if request.targets:
            looked_up = lookup(gate, request, self.store, self.project_files, digests)
        return StaticPlan(request, carried, looked_up)

    def _complete_static(self, gate: Gate, plan: StaticPlan) -> GateRun:
        """Finish a planned static run: the cache hit or the tool, plus the carried results."""
        if plan.request.targets:
            run = cached_run(
                gate,
                plan.request,
                self.store,
                self.project_files,
                _safe_run,
                looked_up=plan.looked_up,
            )
            # Only a cache hit is known to be merged already: a fresh run's results (an ERROR
            # left out, a tool that works again) must always be merged. A fresh run the cache
            # stored is merged under its key, so the next run's hit of it writes nothing.
            found = plan.looked_up
            hit = found is not None and found.hit is not None
            remember(
                self.store,
                run,
                found.key if found and hit else None,
                stored_as=found.key if found and not hit and storable(run) else None,
            )
            if found is not None and found.uncached:
                run = replace(run, context=(*run.context, NOT_CACHED + found.uncached))
        else:
            run = GateRun(gate.name, {})
        return replace(run, results={**plan.carried, **run.results}) if plan.carried else run

    def close(self) -> None:
        """Stop the gate threads; tools still running (an interrupted session) are killed."""
        if self._pool is None:
            return
        self._pool = None
        futures: list[concurrent.futures.Future[object]] = [
            *self._futures.values(),  # type: ignore[list-item] # Future is invariant; only waited on
            *self._preparing.values(),  # type: ignore[list-item]
        ]
        pending = [future for future in futures if not future.done()]
        # A gate may start its next tool just after a kill: keep killing until its thread ends.
        deadline = time.monotonic() + KILL_GRACE_SECONDS
        while pending and time.monotonic() < deadline:
            kill_running()
            pending = list(concurrent.futures.wait(pending, timeout=0.1).not_done)

    def _request(self, gate: Gate, session: SessionData | None) -> GateRequest:
        return GateRequest(
            rootdir=self.rootdir,
            targets=tuple(self._targets[gate.name]),
            settings=self.settings,
            session=session,
            store=self.store,
            diff=self.diff,
        )

    def _results_for(
        self, resolution: Resolution, runs: dict[str, GateRun]
    ) -> tuple[GateResult, ...]:
        if resolution.target is None:
            return ()
        wanted = self.applicable[resolution.item.number]
        results = []
        for gate in self.gates:
            if gate.name not in wanted:
                results.append(GateResult(gate.name, GateStatus.SKIP, reason="not applicable"))
                continue
            result = runs[gate.name].results.get(resolution.target.ref)
            if result is None:
                result = GateResult(
                    gate.name,
                    GateStatus.ERROR,
                    reason=f"{gate.name} returned no result",
                    hint="a gate must return one result per target",
                )
            results.append(result)
        return tuple(results)


def _whole_project(gate: Gate) -> bool:
    """Whether the gate's cache policy says files beyond its targets can change its answer."""
    policy = policy_of(gate)
    return policy is not None and policy.whole_project


def _find_tools(gate: Gate) -> str | None:
    """Let a gate find its executables on this (the main) thread; why it failed, or None.

    Finding a tool reads process-wide state (``sysconfig``, ``PATH``) that is not safe to read
    while other threads first initialise it, so it happens before any gate thread starts.
    """
    find = getattr(gate, "find_tools", None)
    if not callable(find):
        return None
    try:
        find()
    except Exception as exc:  # noqa: BLE001 - a broken gate is an ERROR, not a crashed session
        return f"{gate.name} gate crashed finding its tools: {type(exc).__name__}: {exc}"
    return None


def _safe_run(gate: Gate, request: GateRequest) -> GateRun:
    started = time.perf_counter()
    try:
        run = gate.run(request)
    except Exception as exc:  # noqa: BLE001 - a broken gate is an ERROR, not a crashed session
        return error_run(
            gate.name,
            request.targets,
            f"{gate.name} gate crashed: {type(exc).__name__}: {exc}",
            "report this to the gate's authors",
        )
    if not run.seconds:
        run = replace(run, seconds=time.perf_counter() - started)
    return run
