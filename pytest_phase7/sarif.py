"""The run's findings as SARIF 2.1.0 (``--phase7-sarif``), for GitHub code scanning.

One run per tool that ran (ruff, mypy, interrogate, coverage for the pull request's new lines,
and any custom gate's tool), a run with no result included: an upload that says a tool found
nothing closes that tool's old alerts. Each run lists the rules its results use, with help text
and, where the tool documents its rules, a link. Locations are relative to the repository's root
through ``originalUriBaseIds`` (``SRCROOT``), so code scanning resolves them whatever folder the
run was in. ``partialFingerprints`` are stable across runs
(:func:`pytest_phase7.findings.fingerprints`). Levels: a failing gate's findings are ``error``,
a passing gate's ``warning``, a tool's notes ``note``.

Unlike the annotations, SARIF carries every finding: code scanning itself shows what a pull
request changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_phase7 import __version__
from pytest_phase7.engine import RunResult
from pytest_phase7.findings import (
    GATE_TOOLS,
    Reported,
    collect,
    fingerprints,
    repository_path,
    repository_root,
)

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

#: The key of phase7's own fingerprint in ``partialFingerprints``.
FINGERPRINT_KEY = "phase7FindingHash/v1"

_LEVELS = {"error": "error", "warning": "warning", "notice": "note"}

#: What each built-in tool is and where its rules are documented.
TOOL_URIS = {
    "ruff": "https://docs.astral.sh/ruff/",
    "mypy": "https://mypy.readthedocs.io/",
    "interrogate": "https://interrogate.readthedocs.io/",
    "coverage": "https://coverage.readthedocs.io/",
}

_MYPY_CODES = "https://mypy.readthedocs.io/en/stable/error_code_list.html"

#: Help of phase7's own rules (those not from a tool's rule list).
OWN_RULES = {
    ("coverage", "uncovered-line"): (
        "New line not covered",
        "A line the pull request adds or changes that no test runs. Add a test that runs it: "
        "the new-lines gate counts the pull request's changed statements as coverage.py counts "
        "statements, and --phase7-diff-coverage-min gates them.",
        "https://coverage.readthedocs.io/en/latest/cmd.html#reporting",
    ),
    ("coverage", "uncovered-branch"): (
        "New branch not taken",
        "A line the pull request adds or changes runs, but one of the ways out of it (an if, a "
        "loop) is never taken by the tests. Add a test for that case: with branch coverage on, "
        "the new-lines gate counts each branch of a changed line, as coverage.py does.",
        "https://coverage.readthedocs.io/en/latest/branch.html",
    ),
    ("interrogate", "undocumented"): (
        "Missing docstring",
        "A module, class or function that interrogate counts has no docstring. Add one: the "
        "docstrings gate measures the share of documented names per target, as interrogate does.",
        "https://interrogate.readthedocs.io/en/latest/#usage",
    ),
}


def _rule(tool: str, code: str, example: Reported) -> dict[str, Any]:
    """A rule descriptor: id, a name, a short description, help text and a link."""
    own = OWN_RULES.get((tool, code))
    if own is not None:
        title, help_text, uri = own
    elif tool == "ruff":
        url = example.finding.url
        name = url.rstrip("/").rsplit("/", 1)[-1] if url else code
        title = name.replace("-", " ").capitalize()
        help_text = (
            f"ruff rule {code} ({name}). See {url or TOOL_URIS['ruff']} for why it matters and "
            "how to fix it."
        )
        uri = url or TOOL_URIS["ruff"]
    elif tool == "mypy":
        title = f"mypy [{code}]" if code else "mypy error"
        help_text = (
            f"A mypy type error with error code [{code}]. The mypy documentation describes "
            f"every error code and how to fix it: {_MYPY_CODES}"
        )
        uri = _MYPY_CODES
    else:
        title = f"{tool} {code}".strip()
        help_text = f"A finding of {tool}'s rule {code or '(unnamed)'}: {example.finding.message}"
        uri = TOOL_URIS.get(tool, "")
    rule: dict[str, Any] = {
        "id": code or tool,
        "name": title,
        "shortDescription": {"text": title},
        "fullDescription": {"text": help_text},
        "help": {"text": help_text},
    }
    if uri:
        rule["helpUri"] = uri
    return rule


def _region(item: Reported) -> dict[str, int]:
    finding = item.finding
    region = {"startLine": finding.line}
    if finding.column:
        region["startColumn"] = finding.column
    if finding.end_line > finding.line:
        region["endLine"] = finding.end_line
    if finding.end_column and (
        finding.end_line > finding.line or finding.end_column > finding.column
    ):
        region["endColumn"] = finding.end_column
    return region


def document(result: RunResult) -> dict[str, Any]:
    """The SARIF log of ``result`` as JSON-able data (see the module docstring)."""
    rootdir = Path(result.rootdir)
    root = repository_root(rootdir)
    reported = collect(result)
    prints = fingerprints(reported, rootdir)
    versions = {run.gate: run.tool_version for run in result.gate_runs}
    tools: dict[str, str] = {}
    for run in result.gate_runs:
        if run.results:
            tool = GATE_TOOLS.get(run.gate, run.gate)
            tools.setdefault(tool, versions.get(run.gate, ""))
    by_tool: dict[str, list[tuple[Reported, str]]] = {tool: [] for tool in tools}
    for item, fingerprint in zip(reported, prints, strict=True):
        by_tool.setdefault(item.tool, []).append((item, fingerprint))
    runs = [
        _run(tool, tools.get(tool, ""), items, rootdir, root) for tool, items in by_tool.items()
    ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "properties": {"generator": f"pytest-phase7 {__version__}"},
        "runs": runs,
    }


def _run(
    tool: str,
    version: str,
    items: list[tuple[Reported, str]],
    rootdir: Path,
    root: Path,
) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    for item, _ in items:
        rules.setdefault(item.finding.code or tool, _rule(tool, item.finding.code, item))
    order = {rule_id: index for index, rule_id in enumerate(rules)}
    driver: dict[str, Any] = {"name": tool, "rules": list(rules.values())}
    if version:
        driver["version"] = version
    if tool in TOOL_URIS:
        driver["informationUri"] = TOOL_URIS[tool]
    results = []
    for item, fingerprint in items:
        finding = item.finding
        rule_id = finding.code or tool
        location: dict[str, Any] = {
            "artifactLocation": {
                "uri": repository_path(rootdir, root, finding.path),
                "uriBaseId": "SRCROOT",
            }
        }
        if finding.line:
            location["region"] = _region(item)
        results.append(
            {
                "ruleId": rule_id,
                "ruleIndex": order[rule_id],
                "level": _LEVELS[item.level],
                "message": {"text": finding.message or rule_id},
                "locations": [{"physicalLocation": location}],
                "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
            }
        )
    return {
        "tool": {"driver": driver},
        "automationDetails": {"id": f"phase7/{tool}/"},
        "originalUriBaseIds": {"SRCROOT": {"uri": root.as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }


def dumps(result: RunResult) -> str:
    """The SARIF log as JSON text."""
    return json.dumps(document(result), indent=2, ensure_ascii=False) + "\n"


def counts(log: Mapping[str, Any]) -> dict[str, int]:
    """How many results each run of a SARIF log holds, by tool (for messages and tests)."""
    return {run["tool"]["driver"]["name"]: len(run["results"]) for run in log["runs"]}
