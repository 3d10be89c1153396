"""The JSON report: every produced report validates against the shipped schema, and reads back."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.model import Problem, Severity
from pytest_phase7.report.json import (
    SCHEMA_PATH,
    SCHEMA_VERSION,
    ReportError,
    dumps,
    from_document,
    load_report,
    load_result,
    schema,
    to_document,
)
from pytest_phase7.report.markdown import render_markdown
from pytest_phase7.report.model import ReportData
from pytest_phase7.report.terminal import terminal_lines, to_text
from pytest_phase7.resolve.targets import Resolution, ResolutionState

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"


def validate(document: object) -> None:
    jsonschema.Draft202012Validator(schema()).validate(document)


def golden() -> ReportData:
    return load_report(GOLDEN / "example_tta.json")


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["properties"]["schema_version"] == {"const": SCHEMA_VERSION}


def test_golden_report_validates_and_round_trips():
    document = json.loads((GOLDEN / "example_tta.json").read_text(encoding="utf-8"))
    validate(document)
    data = from_document(document)
    assert json.loads(dumps(data)) == document


def test_a_report_from_before_the_plan_duration_still_loads():
    document = json.loads((GOLDEN / "example_tta.json").read_text(encoding="utf-8"))
    assert document["manifest"]["duration_hours"] == 23.0  # **Estimated Duration:** 23 hours
    del document["manifest"]["duration_hours"]
    validate(document)
    assert from_document(document).result.manifest.duration_hours is None


def test_report_carries_what_the_renderers_need():
    document = to_document(golden())
    item = document["items"][2]
    assert item["file"] == "service.py"
    assert item["target"]["ref"] == "src/tta/agent_orchestration/service.py"
    assert item["status"] == "IN PROGRESS"
    assert item["recorded_status"] == "QUEUED"
    coverage = item["results"][0]
    assert coverage["gate"] == "coverage"
    assert coverage["status"] == "FAIL"
    assert coverage["metric"] == pytest.approx(49.06, abs=0.01)
    assert coverage["threshold"] == 70.0
    assert coverage["details"][0].startswith("src/tta/agent_orchestration/service.py: missing")
    assert {"seconds", "cached", "carried", "baseline"} <= set(coverage)
    assert document["batches"][0]["progress"] == {
        "items_done": 1,
        "items_total": 6,
        "hours_done": 2.0,
        "hours_total": 18.0,
        "percent": pytest.approx(100 / 6),
        "counts": {"DONE": 1, "IN PROGRESS": 4, "QUEUED": 1, "FAILED": 0},
    }
    assert [p["ident"] for p in document["phases"]] == ["7.1", "7.2"]
    assert document["criteria"][3]["met"] is True
    assert document["verdict"]["summary"] == (
        "phase7: OK (fail-on=regression): 2 DONE, 4 IN PROGRESS, 3 QUEUED"
    )
    assert set(document["tool_versions"]) >= {"python", "pytest", "pytest-phase7", "ruff"}


def test_reloaded_report_renders_exactly_like_the_original():
    data = golden()
    again = from_document(json.loads(dumps(data)))
    assert render_markdown(again) == render_markdown(data)
    assert to_text(terminal_lines(again, 1)) == to_text(terminal_lines(data, 1))
    assert load_result(GOLDEN / "example_tta.json") == data.result


def error_variant() -> ReportData:
    """The example with an ERROR, a missing target, a baseline, a warning and odd metrics."""
    data = golden()
    result = data.result
    first, second, *rest = result.outcomes
    broken = GateResult("mypy", GateStatus.ERROR, reason="mypy crashed", hint="report it")
    first = replace(
        first,
        results=tuple(broken if r.gate == "mypy" else r for r in first.results),
        status=first.status,
        error=True,
    )
    second = replace(
        second,
        resolution=Resolution(second.item, ResolutionState.MISSING, message="no match"),
        results=(),
        error=True,
    )
    odd = GateResult("ruff", GateStatus.PASS, metric=math.nan, extra=(("x", math.inf),))
    third = replace(rest[0], results=(odd,))
    manifest = replace(
        result.manifest,
        problems=(Problem(Severity.WARNING, "PLAN.md", 3, "declared 10 items"),),
    )
    return replace(
        data,
        result=replace(
            result,
            manifest=manifest,
            outcomes=(first, second, third, *rest[1:]),
            notes=("a note",),
            tests_failed=2,
        ),
        baseline={"src/tta/agent_orchestration/adapters.py": {"coverage": 50.0}},
        sections=(("Owners", "text"),),
    )


def test_reports_with_errors_baselines_and_odd_metrics_validate():
    data = error_variant()
    document = json.loads(dumps(data))
    validate(document)
    first = document["items"][0]
    assert first["results"][0]["baseline"] == 50.0
    assert first["results"][2]["status"] == "ERROR"
    assert document["items"][1]["target"]["state"] == "missing"
    assert document["items"][2]["results"][0]["metric"] is None  # NaN is no figure
    assert document["items"][2]["results"][0]["extra"] == {}  # infinity is no figure either
    assert document["manifest"]["problems"][0]["message"] == "declared 10 items"
    again = from_document(document)
    assert json.loads(dumps(again)) == document
    assert again.baseline == data.baseline


def test_synthetic_large_report_validates():
    from test_report_md import data_of, make_result

    document = to_document(data_of(make_result(5, 20)))
    validate(document)
    assert len(document["items"]) == 100


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nope", "not JSON"),
        ("[]", "not a phase7 JSON report"),
        ('{"schema_version": 99}', "schema_version 99 is not supported"),
        ('{"schema_version": 1}', "malformed report: missing key 'items'"),
    ],
)
def test_unusable_reports_are_refused(tmp_path: Path, text: str, message: str):
    path = tmp_path / "r.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReportError, match=message):
        load_report(path)


def test_malformed_values_are_refused():
    document = json.loads((GOLDEN / "example_tta.json").read_text(encoding="utf-8"))
    document["items"][0]["results"][0]["metric"] = "lots"
    with pytest.raises(ReportError, match="expected a number, got 'lots'"):
        from_document(document)
    with pytest.raises(ReportError, match="cannot read the report"):
        load_report(GOLDEN / "missing.json")


@pytest.mark.slow
def test_schema_ships_in_the_wheel(tmp_path: Path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("pytest_phase7-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("pytest_phase7/schemas/report.schema.json")
    assert shipped == SCHEMA_PATH.read_bytes()
