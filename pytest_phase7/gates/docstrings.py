"""The docstrings gate: interrogate's docstring coverage per target.

interrogate runs in a subprocess (:mod:`pytest_phase7.gates._interrogate_worker`) so that parsing
the target files does not compete with the tests for the GIL. The worker reads the project's
``[tool.interrogate]`` through interrogate's own command-line parser, so the numbers are those of
``interrogate FILE...`` run in the rootdir, with ``interrogate_args`` applied as command-line
options on top (unknown options are an ERROR, as they are for interrogate).

Per target: percent = covered / total x 100 over the target's files (a package sums the counts of
its files), 100 when nothing is counted, as interrogate says. Pass/fail is interrogate's own rule:
the percent is rounded to as many decimals as the threshold has (``str(float(threshold))``: so
66.67% passes 66 and 66.7 and fails 67), then ``threshold > rounded`` fails. The display is
interrogate's per-file table cell: the percent rounded to a whole number.

The threshold is ``docstrings_min`` when set, else interrogate's own ``fail-under`` (from
``interrogate_args -f``, else ``[tool.interrogate] fail-under``, else interrogate's default, 80).

Files named explicitly are always measured by interrogate; ``ignore-init-module`` and ``exclude``
only apply when it walks a folder. So a file target is measured whatever the config says, while a
package target leaves out the files interrogate's folder walk would skip, as
``interrogate package/`` does (and is an ERROR when that leaves nothing, as interrogate fails with
"No Python files found").
"""

from __future__ import annotations

import decimal
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_phase7.gates.base import (
    Finding,
    GateRequest,
    GateResult,
    GateRun,
    GateStatus,
    error_run,
)
from pytest_phase7.gates.cache import CachePolicy
from pytest_phase7.gates.tool_inputs import interrogate_inputs, option_values
from pytest_phase7.gates.tools import (
    BACKGROUND_NICENESS,
    SAFE_PATH_ENV,
    Deadline,
    ToolMissing,
    ToolOutput,
    missing_files,
    python_executable,
    run_tool,
)
from pytest_phase7.resolve import Target, TargetKind

WORKER = "pytest_phase7.gates._interrogate_worker"
INSTALL_HINT = "pip install interrogate (and pytest-phase7) into the Python that runs pytest"
ARGS_HINT = "fix --phase7-interrogate-args / interrogate_args or [tool.interrogate]"
TIMEOUT_HINT = "raise --phase7-timeout"


def interrogate_fails(percent: float, threshold: float) -> bool:
    """Interrogate's fail-under rule (``InterrogateCoverage._get_coverage``).

    The percent is rounded to the number of decimals of ``str(threshold)`` (a float, as
    interrogate's CLI makes it, so at least one decimal) and fails when below the threshold.
    """
    threshold = float(threshold)
    exponent = decimal.Decimal(str(threshold)).as_tuple().exponent
    round_to = -exponent if isinstance(exponent, int) else 0
    return threshold > round(percent, round_to)


def percent_covered(covered: int, total: int) -> float:
    """Interrogate's ``perc_covered``: 100 when nothing is counted."""
    if total == 0:
        return 100.0
    return (float(covered) / float(total)) * 100


class WorkerOutputError(ValueError):
    """The worker's output is not the JSON document it promises."""


class DocstringsGate:
    """Docstring coverage (interrogate) >= ``docstrings_min`` per target."""

    name = "docstrings"
    title = "Docs"
    needs_session = False
    cache_policy = CachePolicy(("interrogate",), inputs=interrogate_inputs)

    def __init__(self) -> None:
        """No executable found yet."""
        self._python: str | None = None

    def find_tools(self) -> None:
        """Choose the Python that runs interrogate now, on the main thread, for the next run."""
        self._python = python_executable()

    def run(self, request: GateRequest) -> GateRun:
        """Measure every target file in one worker process and judge each target."""
        python, self._python = self._python or python_executable(), None
        started = time.perf_counter()
        targets = request.targets
        settings = request.settings
        rootdir = request.rootdir
        if "--" in settings.interrogate_args:
            return error_run(
                self.name,
                targets,
                "interrogate_args may not contain '--'",
                ARGS_HINT,
                started=started,
            )
        gone = missing_files(rootdir, [f for t in targets for f in t.files])
        files = sorted({f for t in targets for f in t.files} - gone)
        if not files:
            return GateRun(
                self.name,
                {t.ref: self._missing(t, gone) for t in targets},
                seconds=time.perf_counter() - started,
            )
        argv = [python, "-m", WORKER, *settings.interrogate_args, "--", *files]
        try:
            output = run_tool(
                argv,
                rootdir,
                Deadline(settings.timeout).remaining(),
                env=SAFE_PATH_ENV,
                niceness=BACKGROUND_NICENESS,
            )
        except ToolMissing as exc:
            return error_run(
                self.name,
                targets,
                f"cannot run the interrogate worker: {exc}",
                "check the Python executable running pytest",
                started=started,
            )
        if output.timed_out:
            return error_run(
                self.name,
                targets,
                f"interrogate timed out after {settings.timeout:g}s",
                TIMEOUT_HINT,
                started=started,
            )
        try:
            document = _parse(output, files)
        except WorkerOutputError as exc:
            return error_run(self.name, targets, str(exc), ARGS_HINT, started=started)
        except _WorkerMissing as exc:
            return error_run(self.name, targets, str(exc), INSTALL_HINT, started=started)
        fail_under = float(document["fail_under"])
        threshold = settings.docstrings_min if settings.docstrings_min is not None else fail_under
        source = "interrogate fail-under"
        if settings.docstrings_min is not None:
            source = "docstrings_min"
        config = document.get("config") or "none (interrogate's defaults)"
        if not 0 <= threshold <= 100:
            # interrogate itself accepts it; a fully documented module would then fail.
            given = option_values(settings.interrogate_args, "--fail-under", "-f")
            where = "interrogate_args"
            if not given:
                where = f"[tool.interrogate] of {document['config']}"
                if not document.get("config"):
                    where = "interrogate's configuration"
            return error_run(
                self.name,
                targets,
                f"interrogate fail-under = {threshold:g} ({where}) is not a percentage "
                "between 0 and 100",
                ARGS_HINT,
                started=started,
            )
        results = {t.ref: self._judge(t, document["files"], threshold, gone) for t in targets}
        return GateRun(
            self.name,
            results,
            tool_version=str(document["version"]),
            seconds=time.perf_counter() - started,
            context=(f"interrogate config: {config}; threshold {threshold:g}% from {source}",),
        )

    def _judge(
        self,
        target: Target,
        files: Mapping[str, Mapping[str, Any]],
        threshold: float,
        gone: set[str],
    ) -> GateResult:
        if any(rel in gone for rel in target.files):
            return self._missing(target, gone)
        covered = total = 0
        details: list[str] = []
        findings: list[Finding] = []
        skipped: list[str] = []
        for rel in target.files:
            entry = files[rel]
            if entry["error"]:
                return GateResult(
                    self.name,
                    GateStatus.ERROR,
                    threshold=threshold,
                    reason=f"{rel}: {entry['error']}",
                    hint="fix the file so Python can parse it",
                )
            if target.kind is TargetKind.PACKAGE and entry["walk_skipped"]:
                skipped.append(rel)
                details.append(
                    f"{rel}: not counted (interrogate skips it in folders: {entry['walk_skipped']})"
                )
                continue
            covered += int(entry["covered"])
            total += int(entry["total"])
            details.extend(f"{rel}:{line} {name}" for line, name in entry["missing"])
            findings.extend(
                Finding(
                    rel,
                    int(line),
                    f"{name} has no docstring",
                    code="undocumented",
                    tool="interrogate",
                )
                for line, name in entry["missing"]
            )
        if skipped and len(skipped) == len(target.files):
            return GateResult(
                self.name,
                GateStatus.ERROR,
                threshold=threshold,
                reason=f"interrogate skips every file of {target.ref} (ignore-init-module/exclude)",
                hint="target the files themselves, or change [tool.interrogate]",
                details=tuple(details),
            )
        if total == 0:
            # interrogate calls nothing counted 100%; a gate over nothing is not a pass.
            return GateResult(
                self.name,
                GateStatus.ERROR,
                threshold=threshold,
                reason=f"0 names checked: interrogate's configuration counts no name in "
                f"{target.ref} (whitelist-regex, ignore-* settings)",
                hint="change [tool.interrogate] or interrogate_args so that it counts the "
                "target's names, or drop the docstrings gate for it",
                details=tuple(details),
                extra=(("covered", 0.0), ("total", 0.0)),
            )
        percent = percent_covered(covered, total)
        shown = f"{percent:.0f}%"
        failed = interrogate_fails(percent, threshold)
        return GateResult(
            self.name,
            GateStatus.FAIL if failed else GateStatus.PASS,
            metric=percent,
            display=shown,
            threshold=threshold,
            reason=f"{percent:.1f}% < {threshold:g}%" if failed else "",
            details=tuple(details),
            extra=(("covered", float(covered)), ("total", float(total))),
            findings=tuple(findings),
        )

    def _missing(self, target: Target, gone: set[str]) -> GateResult:
        absent = next((rel for rel in target.files if rel in gone), target.ref)
        return GateResult(
            self.name,
            GateStatus.ERROR,
            reason=f"{absent} does not exist",
            hint="fix the target's path",
        )


class _WorkerMissing(Exception):
    """interrogate (or the worker) cannot be imported by the Python that runs it."""


def _parse(output: ToolOutput, files: Sequence[str]) -> dict[str, Any]:
    """Return the worker's JSON document, checked; raise on errors and malformed output."""
    text = output.stdout.strip()
    document: Any = None
    if text:
        try:
            document = json.loads(text.splitlines()[-1])
        except ValueError:
            document = None
    if isinstance(document, dict) and "error" in document:
        if document.get("missing"):
            raise _WorkerMissing(f"interrogate is not installed ({document['error']})")
        raise WorkerOutputError(str(document["error"]))
    if output.returncode != 0:
        # A traceback's last line names the exception; otherwise the first line says it all.
        why = _last_line(output.stderr) if "Traceback" in output.stderr else output.first_line()
        if "No module named" in output.stderr:
            raise _WorkerMissing(f"the interrogate worker cannot run: {why}")
        raise WorkerOutputError(
            f"interrogate failed (exit {output.returncode}): {why or 'no output'}"
        )
    if not isinstance(document, dict):
        raise WorkerOutputError(
            f"could not parse interrogate's output: {output.first_line() or 'no output'}"
        )
    problems = _check(document, files)
    if problems:
        raise WorkerOutputError(f"could not parse interrogate's output: {problems}")
    return document


def _check(document: Mapping[str, Any], files: Sequence[str]) -> str:
    if not isinstance(document.get("version"), str):
        return "no version"
    fail_under = document.get("fail_under")
    if not isinstance(fail_under, (int, float)) or isinstance(fail_under, bool):
        return "no fail_under"
    table = document.get("files")
    if not isinstance(table, dict):
        return "no files table"
    for rel in files:
        entry = table.get(rel)
        if not isinstance(entry, dict) or "error" not in entry or "walk_skipped" not in entry:
            return f"no entry for {rel}"
        if entry["error"]:
            continue
        if not all(_is_count(entry.get(k)) for k in ("covered", "total")):
            return f"bad counts for {rel}"
        missing = entry.get("missing")
        if not isinstance(missing, list) or not all(
            isinstance(m, list) and len(m) == 2 and _is_count(m[0]) and isinstance(m[1], str)
            for m in missing
        ):
            return f"bad missing list for {rel}"
    return ""


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
