"""The baseline is a ratchet: floors only go up, lowering one is explicit and on the record."""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from gate_helpers import git

from pytest_phase7.cli import EXIT_OK, EXIT_USAGE, main
from pytest_phase7.errors import ConfigError
from pytest_phase7.gates.base import GateResult, GateStatus
from pytest_phase7.report.json import load_report
from pytest_phase7.status.baseline import (
    SCHEMA_VERSION,
    BaselineFile,
    load_baseline_file,
    raised_baseline,
)
from pytest_phase7.status.rules import regressed

GOLDEN = Path(__file__).parent / "golden"
SERVICE = "src/tta/agent_orchestration/service.py"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out, err=out)
    return code, out.getvalue()


def report_with_service_coverage(tmp_path: Path, name: str, percent: float, missing: int) -> Path:
    """The golden report with service.py's coverage set to ``percent`` and ``missing`` lines."""
    document: dict[str, Any] = json.loads((GOLDEN / "example_tta.json").read_text("utf-8"))
    document = copy.deepcopy(document)
    item = next(i for i in document["items"] if i["target"]["ref"] == SERVICE)
    coverage = next(r for r in item["results"] if r["gate"] == "coverage")
    coverage["metric"] = percent
    coverage["extra"]["missing"] = float(missing)
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def rootdir(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    if shutil.which("git"):
        git(root, "init", "-q", "-b", "main")
        (root / "README").write_text("x\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "start")
    return root


def baseline(root: Path, report: Path, *extra: str) -> tuple[int, str]:
    return run("baseline", "--rootdir", str(root), "--from-report", str(report), "-o",
               str(root / "b.json"), *extra)  # fmt: skip


def floor(root: Path) -> float:
    document = json.loads((root / "b.json").read_text(encoding="utf-8"))
    value: float = document["metrics"][SERVICE]["coverage"]
    return value


def test_floors_only_go_up_and_lowering_is_on_the_record(rootdir: Path, tmp_path: Path):
    code, out = baseline(rootdir, GOLDEN / "example_tta.json")
    assert code == EXIT_OK, out
    written = json.loads((rootdir / "b.json").read_text(encoding="utf-8"))
    assert written["schema_version"] == SCHEMA_VERSION == 2
    start = floor(rootdir)
    assert start == pytest.approx(49.06, abs=0.01)
    assert written["counts"][SERVICE]["coverage"]["missing"] == 54
    assert written["counts"]["src/tta/player_experience/auth.py"]["ruff"] == {"violations": 2.0}
    assert written["lowered"] == []

    # A run below the floor: the floor stays, and the command says so and how to lower it.
    worse = report_with_service_coverage(tmp_path, "worse.json", 40.0, 64)
    code, out = baseline(rootdir, worse)
    assert code == EXIT_OK, out
    assert floor(rootdir) == start
    assert "kept 1 floor this run is below" in out
    assert f"{SERVICE} coverage 49.06% (now 40%)" in out
    assert "--allow-lower --reason TEXT" in out

    # Lowering needs a reason, and a reason needs --allow-lower.
    code, out = baseline(rootdir, worse, "--allow-lower")
    assert code == EXIT_USAGE
    assert "--allow-lower needs --reason TEXT" in out
    code, out = baseline(rootdir, worse, "--reason", "split")
    assert code == EXIT_USAGE
    assert floor(rootdir) == start

    code, out = baseline(rootdir, worse, "--allow-lower", "--reason", "split the service module")
    assert code == EXIT_OK, out
    assert "0 floors raised, 1 lowered, the reason recorded" in out
    written = json.loads((rootdir / "b.json").read_text(encoding="utf-8"))
    assert floor(rootdir) == 40.0
    (entry,) = written["lowered"]
    assert entry["target"] == SERVICE
    assert entry["gate"] == "coverage"
    assert entry["old"] == start
    assert entry["new"] == 40.0
    assert entry["reason"] == "split the service module"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", entry["date"])
    if shutil.which("git"):
        assert entry["commit"] == git(rootdir, "rev-parse", "HEAD")

    # A better run raises the floor again; the record of the lowering stays in the file.
    better = report_with_service_coverage(tmp_path, "better.json", 60.0, 42)
    code, out = baseline(rootdir, better)
    assert code == EXIT_OK
    assert "1 floor raised" in out
    assert floor(rootdir) == 60.0
    assert len(json.loads((rootdir / "b.json").read_text("utf-8"))["lowered"]) == 1


def test_a_version_1_baseline_is_still_read_and_becomes_version_2(rootdir: Path):
    (rootdir / "b.json").write_text(
        json.dumps({"schema_version": 1, "metrics": {SERVICE: {"coverage": 80.0}}})
    )
    read = load_baseline_file(rootdir / "b.json", "b.json")
    assert read == BaselineFile({SERVICE: {"coverage": 80.0}})
    code, out = baseline(rootdir, GOLDEN / "example_tta.json")
    assert code == EXIT_OK
    assert "kept 1 floor" in out  # 49% is below the version 1 floor of 80%
    written = json.loads((rootdir / "b.json").read_text(encoding="utf-8"))
    assert written["schema_version"] == 2
    assert written["metrics"][SERVICE]["coverage"] == 80.0


def test_a_malformed_record_of_lowerings_is_a_config_error(tmp_path: Path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"schema_version": 2, "metrics": {}, "lowered": [{"gate": "x"}]}))
    with pytest.raises(ConfigError, match="'lowered' entries need target"):
        load_baseline_file(path, "b.json")
    path.write_text(json.dumps({"schema_version": 2, "metrics": {}, "counts": {"a": {"c": -1}}}))
    with pytest.raises(ConfigError, match="counts"):
        load_baseline_file(path, "b.json")


def coverage(percent: float, statements: int, missing: int) -> GateResult:
    extra = (("statements", float(statements)), ("missing", float(missing)))
    return GateResult("coverage", GateStatus.PASS, metric=percent, extra=extra)


def test_a_regression_is_what_got_worse_not_arithmetic():
    floor_counts = {"statements": 100.0, "missing": 10.0}
    # 90% of 100 statements; covered code deleted: 80% of 50, still 10 missed: no regression.
    assert not regressed(coverage(80.0, 50, 10), 90.0, floor_counts)
    # One more missed line: the percentage dropped because something is no longer tested.
    assert regressed(coverage(89.1, 101, 11), 90.0, floor_counts)
    # Without counts (a version 1 baseline), the percentage alone decides.
    assert regressed(coverage(80.0, 50, 10), 90.0, None)
    # The tolerance, in points.
    assert not regressed(coverage(89.5, 101, 11), 90.0, floor_counts, tolerance=0.5)
    assert regressed(coverage(89.4, 101, 11), 90.0, floor_counts, tolerance=0.5)
    # Counts: more problems than the floor is a regression, whatever the tolerance.
    ruff = GateResult("ruff", GateStatus.FAIL, metric=3.0)
    assert regressed(ruff, 2.0, None, tolerance=5.0)
    assert not regressed(ruff, 3.0, None)


def test_raising_keeps_errors_and_new_lines_out_of_the_floors():
    result = load_report(GOLDEN / "example_tta.json").result
    outcome = next(o for o in result.outcomes if o.resolution.target is not None)
    ref = outcome.resolution.target.ref  # type: ignore[union-attr]
    broken = GateResult("mypy", GateStatus.ERROR, reason="crashed")
    fresh = GateResult("new_lines", GateStatus.FAIL, metric=10.0, display="1/10 · 10%")
    outcome = type(outcome)(outcome.item, outcome.resolution, (broken, fresh), outcome.status)
    changed = type(result)(
        result.manifest, result.rootdir, result.gates, result.gate_titles, (outcome,),
        result.gate_runs, result.verdict,
    )  # fmt: skip
    ratchet = raised_baseline(changed, BaselineFile({ref: {"mypy": 1.0}}))
    assert ratchet.baseline.metrics == {ref: {"mypy": 1.0}}
