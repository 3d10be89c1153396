"""The ruff gate: violations per target from one ``ruff check`` over all target files.

Ruff runs in the rootdir, so the project's own configuration (``pyproject.toml``, ``ruff.toml``,
``.ruff.toml``, including ``requires-python`` and per-file ignores) decides which rules fire, as
it does when the developer runs ``ruff check`` by hand. ``--no-fix`` always comes last so that a
project's ``fix = true`` (or a ``--fix`` smuggled in through ``ruff_args``) can never rewrite the
user's files. Ruff's JSON output is parsed; output that cannot be parsed is an ERROR, never a pass
(diff-cover once reported zero violations for every file when ruff's text format changed).

Exit codes: 0 clean, 1 violations found, anything else means ruff itself failed (ERROR).

Ruff silently skips a file that its configuration excludes when ``force-exclude`` is on, and only
warns (exit 0) about a file it cannot read, so a second, cheap ``ruff check --show-files`` tells
which target files ruff really lints; a target with a file ruff does not lint is an ERROR.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_phase7.gates.base import (
    Finding,
    GateRequest,
    GateResult,
    GateRun,
    GateStatus,
    count_result,
    error_run,
)
from pytest_phase7.gates.cache import CachePolicy
from pytest_phase7.gates.tool_inputs import ruff_inputs
from pytest_phase7.gates.tools import (
    BACKGROUND_NICENESS,
    Deadline,
    ToolMissing,
    ToolOutput,
    forbidden_flag,
    missing_files,
    realpath_key,
    run_tool,
    tool_version,
)

if TYPE_CHECKING:
    from pytest_phase7.resolve.targets import Target

INSTALL_HINT = "pip install ruff (or put a ruff executable on PATH)"
TIMEOUT_HINT = "raise --phase7-timeout, or check what makes ruff hang"

#: ``ruff_args`` that would change files, change the output format or never return.
FORBIDDEN_ARGS = (
    "--fix",
    "--fix-only",
    "--add-noqa",
    "--diff",
    "--watch",
    "-w",
    "--output-format",
    "--output-file",
    "-o",
    "--show-files",
    "--show-settings",
    "--statistics",
)

#: Last on ``ruff check``'s command line. ``--no-cache``: ruff's own cache does not know that
#: its first-party detection changed (a new top-level module): it keeps the old answer.
CHECK_ARGS = ("--output-format", "json", "--no-cache", "--no-fix")

_FAILED_TO_LINT = re.compile(r"Failed to lint (?P<path>.+?): (?P<why>.*)$")


def ruff_binary() -> str | None:
    """Return the ruff executable: the installed ``ruff`` package's binary, else ``ruff`` on PATH.

    Tests monkeypatch this to point the gate at a fake or missing executable.
    """
    try:
        # Imported by name: the ruff package ships no type information.
        package = importlib.import_module("ruff")
        return str(package.find_ruff_bin())
    except (ImportError, AttributeError, FileNotFoundError):
        return shutil.which("ruff")


@dataclass(frozen=True)
class Violation:
    """One ruff record, reduced to what the report needs."""

    key: str
    row: int
    column: int
    code: str
    message: str
    filename: str = ""
    end_row: int = 0
    end_column: int = 0
    url: str = ""

    def finding(self, path: str) -> Finding:
        """This violation as a :class:`Finding` in ``path`` (the target file's name)."""
        return Finding(
            path,
            self.row,
            self.message,
            code=self.code,
            tool="ruff",
            end_line=self.end_row,
            column=self.column,
            end_column=self.end_column,
            url=self.url,
        )


class RuffParseError(ValueError):
    """Ruff's output is not the JSON list of records we expect."""


class RuffGate:
    """At most ``ruff_max`` ruff violations per target (with the project's ruff config)."""

    name = "ruff"
    title = "Ruff"
    needs_session = False
    cache_policy = CachePolicy(("ruff",), inputs=ruff_inputs)

    def __init__(self) -> None:
        """No executable found yet."""
        self._found: tuple[str | None] | None = None

    def find_tools(self) -> None:
        """Find the ruff executable now, on the main thread, for the next :meth:`run`.

        ``ruff.find_ruff_bin`` reads ``sysconfig``, which another thread may be initialising
        (on CPython 3.11 a half-initialised ``EXE`` is None: a ``TypeError`` at random).
        """
        self._found = (ruff_binary(),)

    def run(self, request: GateRequest) -> GateRun:
        """Lint every target file in one ``ruff check`` and charge violations to targets."""
        found, self._found = self._found, None
        started = time.perf_counter()
        targets = request.targets
        settings = request.settings
        forbidden = forbidden_flag(settings.ruff_args, FORBIDDEN_ARGS)
        if forbidden:
            return error_run(
                self.name,
                targets,
                f"ruff_args may not contain {forbidden} (the gate never changes files and "
                "reads ruff's JSON output)",
                "remove it from --phase7-ruff-args / ruff_args",
            )
        binary = found[0] if found is not None else ruff_binary()
        if binary is None:
            return error_run(self.name, targets, "ruff is not installed", INSTALL_HINT)
        rootdir = request.rootdir
        gone = missing_files(rootdir, [f for t in targets for f in t.files])
        files = sorted({f for t in targets for f in t.files} - gone)
        deadline = Deadline(settings.timeout)
        version = ""
        listed: set[str] = set()
        violations: list[Violation] = []
        warnings: dict[str, str] = {}
        try:
            # Background priority: ruff is quick, and its answer is wanted after the tests;
            # started at session start, it would take CPU from the tests and mypy.
            version = tool_version(
                run_tool(
                    [binary, "--version"],
                    rootdir,
                    deadline.remaining(),
                    niceness=BACKGROUND_NICENESS,
                )
            )
            if files:
                args = list(settings.ruff_args)
                shown = run_tool(
                    [binary, "check", "--show-files", *args, "--no-fix", "--", *files],
                    rootdir,
                    deadline.remaining(),
                    niceness=BACKGROUND_NICENESS,
                )
                problem = _failure(shown, settings.timeout)
                if problem:
                    return _errors(self.name, targets, problem, version, started)
                listed = {
                    realpath_key(rootdir, line.strip())
                    for line in shown.stdout.splitlines()
                    if line.strip()
                }
                checked = run_tool(
                    [binary, "check", *args, *CHECK_ARGS, "--", *files],
                    rootdir,
                    deadline.remaining(),
                    niceness=BACKGROUND_NICENESS,
                )
                problem = _failure(checked, settings.timeout)
                if problem:
                    return _errors(self.name, targets, problem, version, started)
                violations = parse_ruff_json(checked.stdout, rootdir)
                warnings = _lint_warnings(checked.stderr, rootdir)
                problem = _disagreement(checked.returncode, violations, rootdir, files)
                if problem:
                    return _errors(self.name, targets, problem, version, started)
        except ToolMissing as exc:
            return _errors(
                self.name,
                targets,
                f"ruff is not installed or cannot run: {exc}",
                version,
                started,
                hint=INSTALL_HINT,
            )
        except RuffParseError as exc:
            return _errors(
                self.name,
                targets,
                f"could not parse ruff's output: {exc}",
                version,
                started,
                hint="check that --phase7-ruff-args does not change the output; report a bug",
            )
        by_file: dict[str, list[Violation]] = defaultdict(list)
        for violation in violations:
            by_file[violation.key].append(violation)
        results = {
            target.ref: self._judge(
                target,
                rootdir=rootdir,
                ruff_max=settings.ruff_max,
                by_file=by_file,
                listed=listed,
                warnings=warnings,
                gone=gone,
            )
            for target in targets
        }
        return GateRun(
            self.name,
            results,
            tool_version=version,
            seconds=time.perf_counter() - started,
        )

    def _judge(
        self,
        target: Target,
        *,
        rootdir: Path,
        ruff_max: int,
        by_file: Mapping[str, Sequence[Violation]],
        listed: set[str],
        warnings: Mapping[str, str],
        gone: set[str],
    ) -> GateResult:
        details: list[str] = []
        findings: list[Finding] = []
        count = 0
        for rel in target.files:
            key = realpath_key(rootdir, rel)
            problem = ""
            if rel in gone:
                problem = f"{rel} does not exist"
            elif key in warnings:
                problem = f"ruff could not lint {rel}: {warnings[key]}"
            elif key not in listed:
                problem = f"ruff's configuration excludes {rel} (exclude with force-exclude)"
            if problem:
                return GateResult(
                    self.name,
                    GateStatus.ERROR,
                    reason=problem,
                    threshold=float(ruff_max),
                    hint="fix the path, or stop ruff from excluding the target file",
                )
            found = sorted(by_file.get(key, ()), key=lambda v: (v.row, v.column, v.code))
            count += len(found)
            details.extend(f"{rel}:{v.row}:{v.column} {v.code} {v.message}" for v in found)
            findings.extend(v.finding(rel) for v in found)
        return count_result(self.name, count, ruff_max, "violation", details, findings=findings)


def parse_ruff_json(text: str, rootdir: Path) -> list[Violation]:
    """Parse ``ruff check --output-format json`` output; raise :class:`RuffParseError` if odd.

    Syntax errors come as records whose ``code`` is null in some ruff versions; they count (ruff
    counts them too), under the record's ``name`` or ``syntax-error``.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        snippet = " ".join(text.split())[:80]
        raise RuffParseError(f"not JSON ({exc.msg}): {snippet!r}") from None
    if not isinstance(data, list):
        raise RuffParseError(f"expected a JSON list, got {type(data).__name__}")
    violations = []
    for number, record in enumerate(data, 1):
        try:
            filename = record["filename"]
            location = record["location"]
            row, column = location["row"], location["column"]
            message = record["message"]
            code = record.get("code") or record.get("name") or "syntax-error"
        except (KeyError, TypeError, AttributeError):
            raise RuffParseError(f"record {number} lacks filename/location/message") from None
        if not (
            isinstance(filename, str)
            and isinstance(message, str)
            and isinstance(code, str)
            and _is_int(row)
            and _is_int(column)
        ):
            raise RuffParseError(f"record {number} has fields of the wrong type")
        end = record.get("end_location") if isinstance(record, dict) else None
        end_row = _count_or_zero(end.get("row") if isinstance(end, dict) else None)
        end_column = _count_or_zero(end.get("column") if isinstance(end, dict) else None)
        url = record.get("url")
        violations.append(
            Violation(
                realpath_key(rootdir, filename),
                row,
                column,
                code,
                " ".join(message.split()),
                filename,
                end_row if end_row >= row else 0,
                end_column,
                url if isinstance(url, str) else "",
            )
        )
    return violations


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count_or_zero(value: object) -> int:
    """An optional position of a record (its end): the number, or 0 when absent or odd."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _failure(output: ToolOutput, timeout: float) -> str:
    """Why a ruff process did not produce a usable answer, or ``""`` when it did."""
    if output.timed_out:
        return f"ruff timed out after {timeout:g}s"
    if output.returncode in (0, 1):
        return ""
    # Ruff explains a failure as "ruff failed" followed by "Cause:" lines; clap usage errors
    # start with "error:".
    causes = [
        line.strip()[len("Cause:") :].strip()
        for line in output.stderr.splitlines()
        if line.strip().startswith("Cause:")
    ]
    why = ": ".join(causes) if causes else output.first_line()
    return f"ruff failed (exit {output.returncode}): {why or 'no output'}"


def _disagreement(
    returncode: int, violations: Sequence[Violation], rootdir: Path, files: Sequence[str]
) -> str:
    """Why ruff's exit status and its findings do not agree, or ``""`` when they do.

    Exit 1 means violations, exit 0 none; a record for a file ruff was not asked to check (a
    bare name, a ``file://`` URI) cannot be charged to any target. Either way the output is
    not understood, and passing on it would pass every target.
    """
    checked = {realpath_key(rootdir, rel) for rel in files}
    stray = next((v for v in violations if v.key not in checked), None)
    if stray is not None:
        return f"ruff reported {stray.filename!r}, which is none of the files it checked"
    if returncode == 1 and not violations:
        return "ruff exited 1 (violations found) but its output lists none"
    if returncode == 0 and violations:
        return f"ruff exited 0 (clean) but its output lists {len(violations)} violations"
    return ""


def _lint_warnings(stderr: str, rootdir: Path) -> dict[str, str]:
    """Files ruff only warned about ("Failed to lint x: ..."): they were not checked."""
    found: dict[str, str] = {}
    for line in stderr.splitlines():
        match = _FAILED_TO_LINT.search(line)
        if match:
            found[realpath_key(rootdir, match["path"])] = match["why"].strip()
    return found


def _errors(
    gate: str,
    targets: Sequence[Target],
    reason: str,
    version: str,
    started: float,
    *,
    hint: str = "",
) -> GateRun:
    if not hint:
        hint = TIMEOUT_HINT if "timed out" in reason else "run ruff check yourself to see why"
    return error_run(gate, targets, reason, hint, tool_version=version, started=started)
