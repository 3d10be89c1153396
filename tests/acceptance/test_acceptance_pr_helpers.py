"""The pull-request tier's comparison, without the network: it must notice every difference."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from test_acceptance_pr import PULL_REQUESTS, compare_new_lines, in_unit, new_lines_results


def _result(statements: int, missing: int, metric: float, status: str) -> dict[str, Any]:
    return {
        "gate": "new_lines",
        "status": status,
        "metric": metric,
        "extra": {
            "statements": float(statements),
            "missing": float(missing),
            "line_percent": 100.0 * (statements - missing) / statements,
        },
    }


REPORT: dict[str, Any] = {
    "items": [
        {
            "target": {"ref": "pkg/", "state": "resolved"},
            "results": [_result(7, 4, 300 / 7, "FAIL")],
        },
        {"target": {"ref": "pkg/other.py", "state": "resolved"}, "results": []},
    ],
    "outside_plan": [
        {"path": "tests/test_new.py", "result": _result(4, 0, 100.0, "PASS")},
        {"path": "omitted.py", "result": {"status": "SKIP", "extra": {}, "metric": None}},
    ],
}

DIFF_COVER: dict[str, Any] = {
    "src_stats": {
        "pkg/__init__.py": {"covered_lines": [3, 4], "violation_lines": [9, 10, 11]},
        "pkg/more.py": {"covered_lines": [1], "violation_lines": [2]},
        "tests/test_new.py": {"covered_lines": [1, 2, 5, 6], "violation_lines": []},
    },
    "total_num_lines": 11,
    "total_num_violations": 4,
    "total_percent_covered": 63.64,
}


def test_equal_figures_compare_equal(tmp_path: Path):
    rows = compare_new_lines(REPORT, DIFF_COVER, tmp_path, tmp_path / "none.json", False)
    assert all(row.equal for row in rows), rows
    assert set(new_lines_results(REPORT)) == {"pkg/", "tests/test_new.py"}


def test_every_difference_is_noticed(tmp_path: Path):
    changes = [
        ("missing", lambda r: r["items"][0]["results"][0]["extra"].update(missing=3.0)),
        ("statements", lambda r: r["items"][0]["results"][0]["extra"].update(statements=6.0)),
        ("percent", lambda r: r["items"][0]["results"][0].update(metric=50.0)),
        ("status", lambda r: r["outside_plan"][0]["result"].update(status="FAIL")),
        ("files", lambda r: r["outside_plan"].pop(0)),
    ]
    for figure, change in changes:
        report = copy.deepcopy(REPORT)
        change(report)
        rows = compare_new_lines(report, DIFF_COVER, tmp_path, tmp_path / "none.json", False)
        assert any(not row.equal for row in rows if row.figure == figure), figure


def test_branches_come_from_coverage_json(tmp_path: Path):
    files = {
        "pkg/__init__.py": {"executed_branches": [[3, 4], [20, 21]], "missing_branches": [[3, 9]]},
        "pkg/more.py": {"executed_branches": [], "missing_branches": []},
        "tests/test_new.py": {"executed_branches": [], "missing_branches": []},
    }
    (tmp_path / "coverage.json").write_text(json.dumps({"files": files}), encoding="utf-8")
    report = copy.deepcopy(REPORT)
    target = report["items"][0]["results"][0]
    target["extra"].update(branches=2.0, missing_branches=1.0)
    target["metric"] = 100 * (3 + 1) / (7 + 2)  # 3 of 7 statements, 1 of 2 branches
    rows = compare_new_lines(report, DIFF_COVER, tmp_path, tmp_path / "coverage.json", True)
    assert all(row.equal for row in rows), rows
    target["extra"].update(branches=3.0)
    rows = compare_new_lines(report, DIFF_COVER, tmp_path, tmp_path / "coverage.json", True)
    assert any(not row.equal for row in rows if row.figure == "branches")


def test_units_and_the_pull_requests():
    assert in_unit("pkg/a.py", "pkg/")
    assert in_unit("pkg/a.py", "pkg/a.py")
    assert not in_unit("pkg/a.py", "pkg/b.py")
    assert not in_unit("pkgs/a.py", "pkg/")
    for change in PULL_REQUESTS.values():
        assert change.old != change.new
        assert "import os" in change.added  # the ruff finding every case looks for
