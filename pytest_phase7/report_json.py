"""The JSON report (``--phase7-json``): everything a run found, for machines, and back again.

The document is versioned (``schema_version``) and described by the JSON Schema shipped in the
package (``pytest_phase7/schemas/report.schema.json``, :func:`schema`). It holds the items with
their resolved targets and per-gate status, metric, threshold, baseline, details and timing; the
batches, phases and criteria with their progress; the verdict; and the tool versions.

It is also complete: :func:`load_report` rebuilds the :class:`~pytest_phase7.report.ReportData`
the renderers read, so ``phase7 report RESULT.json`` prints the same table and Markdown as the
run that wrote it. Derived figures (progress, criteria, hours) are written for readers and
recomputed on load, never trusted from the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_phase7 import __version__
from pytest_phase7.diffcov import GATE as NEW_LINES
from pytest_phase7.diffcov import outside_plan
from pytest_phase7.engine import RunResult
from pytest_phase7.errors import Phase7Error
from pytest_phase7.files import read_regular
from pytest_phase7.gates.base import (
    GateResult,
    GateRun,
    GateStatus,
    optional_float,
    result_from_json,
    result_to_json,
)
from pytest_phase7.gcpause import gc_paused
from pytest_phase7.model import (
    Batch,
    BatchKind,
    CoverageGoal,
    Criterion,
    Manifest,
    Phase,
    PlanStatus,
    Problem,
    Severity,
    WorkItem,
)
from pytest_phase7.report import (
    Progress,
    ReportData,
    batch_progress,
    evaluate_criteria,
    outcome_hours,
    phase_progress,
    total_progress,
)
from pytest_phase7.resolve import Resolution, ResolutionState, Target, TargetKind
from pytest_phase7.selection import Suite
from pytest_phase7.status import REPORT_ORDER, ItemOutcome, Verdict

#: The version of the document's shape; bumped on any incompatible change.
SCHEMA_VERSION = 1

#: The JSON Schema of the document, shipped inside the package.
SCHEMA_PATH = Path(__file__).parent / "schemas" / "report.schema.json"


class ReportError(Phase7Error):
    """A JSON report cannot be read: not JSON, another schema version, or malformed."""


def schema() -> dict[str, Any]:
    """The report's JSON Schema (draft 2020-12) as data."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


# --- writing -------------------------------------------------------------------------------


def _number(value: float | None) -> float | None:
    # JSON has no NaN or infinity: a gate that produced one reported no usable figure.
    if value is None or not math.isfinite(value):
        return None
    return value


@gc_paused
def to_document(data: ReportData) -> dict[str, Any]:
    """The report as JSON-able data (see the module docstring and the schema)."""
    result = data.result
    manifest = result.manifest
    # Per gate, the results of the targets it checked, as the items carry them (what a reloaded
    # report rebuilds its gate runs from, so the figures survive a round trip).
    checked: dict[str, dict[str, GateResult]] = {}
    for outcome in result.outcomes:
        target = outcome.resolution.target
        for r in outcome.results:
            if target is not None and r.status is not GateStatus.SKIP:
                checked.setdefault(r.gate, {})[target.ref] = r
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"pytest-phase7 {__version__}",
        "rootdir": result.rootdir,
        "manifest": {
            "path": manifest.path,
            "format": manifest.format,
            "title": manifest.title,
            "front_matter": [list(pair) for pair in manifest.front_matter],
            "total_items": manifest.total_items,
            "duration_hours": manifest.duration_hours,
            "problems": [
                {
                    "severity": p.severity.value,
                    "path": p.path,
                    "line": p.line,
                    "message": p.message,
                }
                for p in manifest.problems
            ],
        },
        "gates": [
            {
                "name": run.gate,
                "title": result.title_of(run.gate),
                "tool_version": run.tool_version,
                "seconds": run.seconds,
                "targets": len(checked.get(run.gate, {})),
                "cached": bool(checked.get(run.gate))
                and all(r.cached for r in checked[run.gate].values()),
                "context": list(run.context),
            }
            for run in result.gate_runs
        ],
        "items": [
            _item(data, outcome, outcome_hours(result, outcome)) for outcome in result.outcomes
        ],
        "batches": [_batch(result, batch) for batch in manifest.batches],
        "phases": [
            {
                "ident": phase.ident,
                "title": phase.title,
                "line": phase.line,
                "batches": list(phase.batches),
                "duration_hours": phase.duration_hours,
                "progress": _progress(phase_progress(result, phase)),
            }
            for phase in manifest.phases
        ],
        "criteria": [
            {
                "label": c.criterion.label,
                "text": c.criterion.text,
                "line": c.criterion.line,
                "recorded_met": c.criterion.met,
                "met": c.met,
                "figure": c.figure,
                "basis": list(c.basis),
            }
            for c in evaluate_criteria(result)
        ],
        "totals": _progress(total_progress(result)),
        "verdict": {
            "policy": result.verdict.policy,
            "blocked": result.verdict.blocked,
            "reasons": list(result.verdict.reasons),
            "counts": dict(result.verdict.counts),
            "summary": result.verdict.summary,
        },
        "tests_failed": result.tests_failed,
        "notes": list(result.notes),
        "suite": _suite(result.suite),
        "sections": [{"title": title, "text": text} for title, text in data.sections],
        "tool_versions": dict(data.versions),
        "outside_plan": [
            {"path": path, "result": _result(r, None)} for path, r in outside_plan(result)
        ],
    }


def _suite(suite: Suite | None) -> dict[str, Any] | None:
    if suite is None:
        return None
    return {
        "paths": list(suite.paths),
        "origin": suite.origin,
        "complete": suite.complete,
        "partial": suite.partial,
        "gated": suite.gated,
        "deselected": suite.deselected,
    }


def _item(data: ReportData, outcome: ItemOutcome, hours: float | None) -> dict[str, Any]:
    item = outcome.item
    resolution = outcome.resolution
    target = resolution.target
    return {
        "number": item.number,
        "batch": item.batch,
        "line": item.line,
        "module": item.module,
        "file": item.file,
        "plan_target": item.target,
        "complexity": item.complexity,
        "estimate_hours": item.estimate_hours,
        "estimate_text": item.estimate_text,
        "hours": hours,
        "recorded_status": item.status.label if item.status else None,
        "recorded_status_text": item.status_text,
        "gates": list(item.gates) if item.gates is not None else None,
        "extra": [list(pair) for pair in item.extra],
        "target": {
            "state": resolution.state.value,
            "kind": target.kind.value if target else None,
            "ref": target.ref if target else None,
            "files": list(target.files) if target else [],
            "message": resolution.message,
            "candidates": list(resolution.candidates),
            "searched": list(resolution.searched),
        },
        "status": outcome.status.label,
        "reason": outcome.reason,
        "regression": outcome.regression,
        "improved": outcome.improved,
        "error": outcome.error,
        "results": [_result(r, data.baseline_of(outcome, r.gate)) for r in outcome.results],
    }


def _batch(result: RunResult, batch: Batch) -> dict[str, Any]:
    goal = batch.coverage_goal
    return {
        "number": batch.number,
        "title": batch.title,
        "line": batch.line,
        "kind": batch.kind.value,
        "priority": batch.priority,
        "priority_note": batch.priority_note,
        "item_range": list(batch.item_range) if batch.item_range else None,
        "duration_hours": batch.duration_hours,
        "coverage_goal": (
            {"from_low": goal.from_low, "from_high": goal.from_high, "to": goal.to}
            if goal
            else None
        ),
        "focus": batch.focus,
        "gates": list(batch.gates) if batch.gates is not None else None,
        "required": batch.required,
        "keys": [list(pair) for pair in batch.keys],
        "items": [item.number for item in batch.items],
        "progress": _progress(batch_progress(result, batch)),
    }


def _progress(progress: Progress) -> dict[str, Any]:
    return {
        "items_done": progress.items_done,
        "items_total": progress.items_total,
        "hours_done": progress.hours_done if progress.hours_known else None,
        "hours_total": progress.hours_total if progress.hours_known else None,
        "percent": progress.percent,
        "counts": {status.label: count for status, count in progress.counts},
    }


def dumps(data: ReportData) -> str:
    """The report as JSON text (UTF-8 friendly, indented, newline-terminated)."""
    return json.dumps(to_document(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# --- reading -------------------------------------------------------------------------------


def load_report(path: Path) -> ReportData:
    """Read a JSON report written by :func:`dumps` (``ReportError`` if it cannot be used)."""
    try:
        text = read_regular(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"cannot read the report: {exc}", str(path)) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"not JSON: {exc.msg}", str(path), exc.lineno) from None
    return from_document(document, str(path))


def load_result(path: Path) -> RunResult:
    """The :class:`~pytest_phase7.engine.RunResult` of a saved JSON report."""
    return load_report(path).result


def from_document(document: object, source: str = "report") -> ReportData:
    """Rebuild :class:`ReportData` from :func:`to_document` data (``ReportError`` if malformed)."""
    if not isinstance(document, dict) or "schema_version" not in document:
        raise ReportError("not a phase7 JSON report (no schema_version)", source)
    if document["schema_version"] != SCHEMA_VERSION:
        raise ReportError(
            f"report schema_version {document['schema_version']!r} is not supported "
            f"(this phase7 reads {SCHEMA_VERSION})",
            source,
        )
    try:
        return _read(document)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ReportError(f"malformed report: {detail}", source) from None


def _texts(values: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _pairs(values: Sequence[Sequence[Any]]) -> tuple[tuple[str, str], ...]:
    return tuple((str(key), str(value)) for key, value in values)


def _read(doc: Mapping[str, Any]) -> ReportData:
    items: list[tuple[WorkItem, Mapping[str, Any]]] = [
        (_work_item(raw), raw) for raw in doc["items"]
    ]
    by_batch: dict[int, list[WorkItem]] = {}
    for item, _ in items:
        by_batch.setdefault(item.batch, []).append(item)
    manifest = _manifest(doc, by_batch)
    baseline: dict[str, dict[str, float]] = {}
    outcomes = []
    for item, raw in items:
        resolution = _resolution(item, raw["target"])
        results = []
        for r in raw["results"]:
            gate_result = result_from_json(r)
            results.append(gate_result)
            base = optional_float(r["baseline"])
            if base is not None and resolution.target is not None:
                baseline.setdefault(resolution.target.ref, {})[gate_result.gate] = base
        outcomes.append(
            ItemOutcome(
                item=item,
                resolution=resolution,
                results=tuple(results),
                status=PlanStatus(raw["status"]),
                reason=str(raw["reason"]),
                regression=bool(raw["regression"]),
                improved=bool(raw["improved"]),
                error=bool(raw["error"]),
            )
        )
    gate_runs = []
    for gate in doc["gates"]:
        name = str(gate["name"])
        results_by_ref = {
            o.resolution.target.ref: r
            for o in outcomes
            if o.resolution.target is not None
            for r in o.results
            if r.gate == name and r.status is not GateStatus.SKIP
        }
        if name == NEW_LINES:  # the changed files outside the plan are this gate's results too
            for entry in doc.get("outside_plan", ()):
                results_by_ref[str(entry["path"])] = result_from_json(entry["result"])
        gate_runs.append(
            GateRun(
                gate=name,
                results=results_by_ref,
                tool_version=str(gate["tool_version"]),
                seconds=float(gate["seconds"]),
                context=_texts(gate["context"]),
            )
        )
    verdict = doc["verdict"]
    counts = {str(k): int(v) for k, v in verdict["counts"].items()}
    result = RunResult(
        manifest=manifest,
        rootdir=str(doc["rootdir"]),
        gates=tuple(str(g["name"]) for g in doc["gates"]),
        gate_titles=tuple((str(g["name"]), str(g["title"])) for g in doc["gates"]),
        outcomes=tuple(outcomes),
        gate_runs=tuple(gate_runs),
        verdict=Verdict(
            policy=str(verdict["policy"]),
            blocked=bool(verdict["blocked"]),
            reasons=_texts(verdict["reasons"]),
            counts=tuple((s.label, counts.get(s.label, 0)) for s in REPORT_ORDER),
        ),
        tests_failed=int(doc["tests_failed"]),
        notes=_texts(doc["notes"]),
        suite=_load_suite(doc.get("suite")),
    )
    return ReportData(
        result=result,
        baseline=baseline,
        versions=tuple((str(k), str(v)) for k, v in doc["tool_versions"].items()),
        sections=tuple((str(s["title"]), str(s["text"])) for s in doc["sections"]),
    )


def _load_suite(raw: Mapping[str, Any] | None) -> Suite | None:
    # Reports written before the field existed have no suite: not known, as with `phase7 gate`.
    if raw is None:
        return None
    return Suite(
        paths=_texts(raw["paths"]),
        origin=str(raw["origin"]),
        partial=str(raw["partial"]),
        gated=bool(raw["gated"]),
        deselected=int(raw["deselected"]),
    )


def _manifest(doc: Mapping[str, Any], by_batch: Mapping[int, list[WorkItem]]) -> Manifest:
    raw = doc["manifest"]
    batches = []
    for b in doc["batches"]:
        goal = b["coverage_goal"]
        item_range = b["item_range"]
        batches.append(
            Batch(
                number=int(b["number"]),
                title=str(b["title"]),
                line=int(b["line"]),
                kind=BatchKind(b["kind"]),
                priority=str(b["priority"]),
                priority_note=str(b["priority_note"]),
                item_range=(int(item_range[0]), int(item_range[1])) if item_range else None,
                duration_hours=optional_float(b["duration_hours"]),
                coverage_goal=(
                    CoverageGoal(
                        optional_float(goal["from_low"]),
                        optional_float(goal["from_high"]),
                        float(goal["to"]),
                    )
                    if goal
                    else None
                ),
                focus=str(b["focus"]),
                gates=_texts(b["gates"]) if b["gates"] is not None else None,
                required=bool(b["required"]),
                items=tuple(by_batch.get(int(b["number"]), ())),
                keys=_pairs(b["keys"]),
            )
        )
    total = raw["total_items"]
    return Manifest(
        path=str(raw["path"]),
        format=str(raw["format"]),
        title=str(raw["title"]),
        front_matter=_pairs(raw["front_matter"]),
        total_items=int(total) if total is not None else None,
        duration_hours=optional_float(raw.get("duration_hours")),
        batches=tuple(batches),
        phases=tuple(
            Phase(
                ident=str(p["ident"]),
                title=str(p["title"]),
                line=int(p["line"]),
                batches=tuple(int(n) for n in p["batches"]),
                duration_hours=optional_float(p["duration_hours"]),
            )
            for p in doc["phases"]
        ),
        criteria=tuple(
            Criterion(
                label=str(c["label"]),
                text=str(c["text"]),
                line=int(c["line"]),
                met=None if c["recorded_met"] is None else bool(c["recorded_met"]),
            )
            for c in doc["criteria"]
        ),
        problems=tuple(
            Problem(Severity(p["severity"]), str(p["path"]), int(p["line"]), str(p["message"]))
            for p in raw["problems"]
        ),
    )


def _work_item(raw: Mapping[str, Any]) -> WorkItem:
    recorded = raw["recorded_status"]
    gates = raw["gates"]
    return WorkItem(
        number=int(raw["number"]),
        batch=int(raw["batch"]),
        line=int(raw["line"]),
        module=str(raw["module"]),
        file=str(raw["file"]),
        target=None if raw["plan_target"] is None else str(raw["plan_target"]),
        complexity=str(raw["complexity"]),
        estimate_hours=optional_float(raw["estimate_hours"]),
        estimate_text=str(raw["estimate_text"]),
        status=None if recorded is None else PlanStatus(recorded),
        status_text=str(raw["recorded_status_text"]),
        gates=None if gates is None else _texts(gates),
        extra=_pairs(raw["extra"]),
    )


def _resolution(item: WorkItem, raw: Mapping[str, Any]) -> Resolution:
    target = None
    if raw["ref"] is not None:
        target = Target(TargetKind(raw["kind"]), str(raw["ref"]), _texts(raw["files"]))
    return Resolution(
        item=item,
        state=ResolutionState(raw["state"]),
        target=target,
        message=str(raw["message"]),
        candidates=_texts(raw["candidates"]),
        searched=_texts(raw["searched"]),
    )


def _result(result: GateResult, baseline: float | None) -> dict[str, Any]:
    # The shared form, with the baseline next to the threshold it is read against.
    ordered: dict[str, Any] = {}
    for key, value in result_to_json(result).items():
        ordered[key] = value
        if key == "threshold":
            ordered["baseline"] = _number(baseline)
    return ordered
