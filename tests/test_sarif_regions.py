"""SARIF regions are ruff's own: the same start and end as ``ruff check --output-format sarif``.

Found on attrs in the acceptance tier (``select = ["ALL"]``): ruff reports a missing copyright
notice (CPY001) as the empty range 1:1-1:1; a region without its ``endColumn`` would mean the
whole first line instead.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_phase7.gates.ruff import parse_ruff_json, ruff_binary
from pytest_phase7.report import sarif
from pytest_phase7.report.findings import Reported

pytestmark = pytest.mark.slow

SOURCE = """import os


def pick(d, *keys):
    if not keys:
        return {}
    return {k: d[k] for k in keys if k in d}
"""


def _ruff(tmp_path: Path, output_format: str) -> str:
    binary = ruff_binary()
    if binary is None:
        pytest.skip("ruff is not installed")
    done = subprocess.run(
        [
            binary,
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            "CPY001,F401,E501,D103",
            "--line-length",
            "30",
            "--output-format",
            output_format,
            "--no-fix",
            "m.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    return done.stdout


def test_regions_equal_ruff_s_own_sarif(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE, encoding="utf-8")
    theirs: dict[tuple[str, int], dict[str, Any]] = {}
    for result in json.loads(_ruff(tmp_path, "sarif"))["runs"][0]["results"]:
        region = result["locations"][0]["physicalLocation"]["region"]
        # SARIF's defaults: endLine is startLine.
        if region.get("endLine") == region["startLine"]:
            del region["endLine"]
        theirs[result["ruleId"], region["startLine"]] = region
    ours = {}
    for violation in parse_ruff_json(_ruff(tmp_path, "json"), tmp_path):
        finding = violation.finding("m.py")
        ours[finding.code, finding.line] = sarif._region(Reported(finding, "ruff", "error", True))
    assert ("CPY001", 1) in ours  # the empty range
    assert ours == theirs
