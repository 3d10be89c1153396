"""The mypy gate: type errors per target from one mypy run over all target files.

mypy runs in the rootdir, so the project's own configuration (``mypy.ini``, ``.mypy.ini``,
``pyproject.toml`` or ``setup.cfg``: ``strict``, per-module overrides, plugins) and its own
``.mypy_cache`` are used; warm runs are incremental and fast. Files named on the command line are
checked even when the config's ``files``/``exclude`` would leave them out, as with a hand-run
``mypy path.py``.

Results can depend on which files are checked together (a module passed explicitly is checked
fully, an imported one may only be followed, and the modules' import graph decides what mypy
infers), so all targets are checked in **one** invocation and each error is charged to the target
file it is reported in. mypy follows imports and reports errors in other files too; those are not
charged to any target but are counted in ``GateRun.context``.

mypy runs in a subprocess (``python -m mypy``), not via ``mypy.api.run`` in-process: the gate runs
in a thread while the test session runs, and mypy in-process would hold the GIL for seconds and
mutate global state (``sys.path``, ``sys.modules``, stdout) under the tests' feet.

Output is ``-O json`` (mypy >= 1.11, which this plugin requires): one JSON record per line with
``file``, ``line``, ``column``, ``message``, ``hint``, ``code`` and ``severity``. Exit codes: 0
clean, 1 errors found, 2 mypy stopped (a blocking error such as a syntax error or a duplicate
module, bad usage, a crash): an ERROR for every target, since mypy did not check them.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import time
from collections import Counter, defaultdict
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
from pytest_phase7.gates.tool_inputs import mypy_inputs
from pytest_phase7.gates.tools import (
    SAFE_PATH_ENV,
    Deadline,
    ToolMissing,
    ToolOutput,
    forbidden_flag,
    missing_files,
    python_executable,
    realpath_key,
    run_tool,
    tool_version,
)
from pytest_phase7.wording import counted

if TYPE_CHECKING:
    from pytest_phase7.resolve import Target

INSTALL_HINT = "pip install mypy (into the environment that runs pytest)"
TIMEOUT_HINT = "raise --phase7-timeout (a cold mypy cache is slow), or check what makes mypy hang"
FAILED_HINT = "run mypy on the target files yourself to see why"

#: ``mypy_args`` that would change the output format or what is checked, or never return.
FORBIDDEN_ARGS = (
    "-O",
    "--output",
    "-h",
    "--help",
    "-V",
    "--version",
    "-m",
    "--module",
    "-p",
    "--package",
    "-c",
    "--command",
    "--install-types",
)

#: How many non-target files to name in the context line.
_NAMED_OTHERS = 5

#: ``mypy --version`` answers, per Python executable (only successes are kept).
_VERSIONS: dict[str, str] = {}


@dataclass(frozen=True)
class MypyRecord:
    """One mypy JSON record, reduced to what the gate needs."""

    file: str
    line: int
    message: str
    code: str
    severity: str
    #: Columns counted from 1, as a finding counts them (0: not given); the end column is the
    #: one just past the last character.
    column: int = 0
    end_line: int = 0
    end_column: int = 0

    def finding(self, path: str) -> Finding:
        """This record as a :class:`Finding` in ``path`` (the target file's name)."""
        return Finding(
            path,
            self.line,
            self.message,
            code=self.code,
            tool="mypy",
            severity="error" if self.severity == "error" else "notice",
            end_line=self.end_line,
            column=self.column,
            end_column=self.end_column,
        )


class MypyParseError(ValueError):
    """A line of mypy's output looks like JSON but is not a record we understand."""


class MypyGate:
    """At most ``mypy_max`` mypy errors per target (with the project's mypy config)."""

    name = "mypy"
    title = "Mypy"
    needs_session = False
    cache_policy = CachePolicy(("mypy",), whole_project=True, inputs=mypy_inputs)

    def __init__(self) -> None:
        """No executable found yet."""
        self._python: str | None = None

    def find_tools(self) -> None:
        """Choose the Python that runs mypy now, on the main thread, for the next :meth:`run`."""
        self._python = python_executable()

    def run(self, request: GateRequest) -> GateRun:
        """Type-check every target file in one mypy run and charge errors to targets."""
        python, self._python = self._python or python_executable(), None
        started = time.perf_counter()
        targets = request.targets
        settings = request.settings
        rootdir = request.rootdir
        forbidden = forbidden_flag(settings.mypy_args, FORBIDDEN_ARGS)
        if forbidden:
            return error_run(
                self.name,
                targets,
                f"mypy_args may not contain {forbidden} (the gate reads mypy's JSON output for "
                "the target files)",
                "remove it from --phase7-mypy-args / mypy_args",
            )
        gone = missing_files(rootdir, [f for t in targets for f in t.files])
        files = sorted({f for t in targets for f in t.files} - gone)
        deadline = Deadline(settings.timeout)
        version = _VERSIONS.get(python, "") or _installed_version(python)
        try:
            if not version:
                answer = run_tool(
                    [python, "-m", "mypy", "--version"],
                    rootdir,
                    deadline.remaining(),
                    env=SAFE_PATH_ENV,
                )
                if _not_installed(answer):
                    return error_run(
                        self.name,
                        targets,
                        "mypy is not installed",
                        INSTALL_HINT,
                        started=started,
                    )
                version = tool_version(answer)
                if version:
                    _VERSIONS[python] = version
            output = None
            if files:
                output = run_tool(
                    [python, "-m", "mypy", "-O", "json", *settings.mypy_args, "--", *files],
                    rootdir,
                    deadline.remaining(),
                    env=SAFE_PATH_ENV,
                )
        except ToolMissing as exc:
            return error_run(
                self.name,
                targets,
                f"mypy cannot run: {exc}",
                "check the Python executable running pytest",
                tool_version=version,
                started=started,
            )
        records: list[MypyRecord] = []
        context: list[str] = []
        if output is not None:
            if output.timed_out:
                return error_run(
                    self.name,
                    targets,
                    f"mypy timed out after {settings.timeout:g}s",
                    TIMEOUT_HINT,
                    tool_version=version,
                    started=started,
                )
            if _not_installed(output):
                return error_run(
                    self.name,
                    targets,
                    "mypy is not installed",
                    INSTALL_HINT,
                    tool_version=version,
                    started=started,
                )
            try:
                records, other = parse_mypy_json(output.stdout)
            except MypyParseError as exc:
                return error_run(
                    self.name,
                    targets,
                    f"could not parse mypy's output: {exc}",
                    FAILED_HINT,
                    tool_version=version,
                    started=started,
                )
            problem = _failure(output, records)
            if problem:
                return error_run(
                    self.name, targets, problem, FAILED_HINT, tool_version=version, started=started
                )
            context.extend(f"mypy: {line}" for line in other)
            context.extend(
                f"mypy: {line.strip()}" for line in output.stderr.splitlines() if line.strip()
            )
        target_keys = {realpath_key(rootdir, f) for t in targets for f in t.files}
        errors: dict[str, list[MypyRecord]] = defaultdict(list)
        outside: Counter[str] = Counter()
        for record in records:
            if record.severity != "error":
                continue
            key = realpath_key(rootdir, record.file)
            if key in target_keys:
                errors[key].append(record)
            else:
                outside[record.file] += 1
        if outside:
            named = ", ".join(sorted(outside)[:_NAMED_OTHERS])
            extra = len(outside) - _NAMED_OTHERS
            more = f" and {extra} more" if extra > 0 else ""
            context.insert(
                0,
                f"{counted(sum(outside.values()), 'error')} in non-target files (not charged): "
                f"{named}{more}",
            )
        results = {t.ref: self._judge(t, rootdir, settings.mypy_max, errors, gone) for t in targets}
        return GateRun(
            self.name,
            results,
            tool_version=version,
            seconds=time.perf_counter() - started,
            context=tuple(context),
        )

    def _judge(
        self,
        target: Target,
        rootdir: Path,
        mypy_max: int,
        errors: Mapping[str, Sequence[MypyRecord]],
        gone: set[str],
    ) -> GateResult:
        count = 0
        details: list[str] = []
        findings: list[Finding] = []
        for rel in target.files:
            if rel in gone:
                return GateResult(
                    self.name,
                    GateStatus.ERROR,
                    threshold=float(mypy_max),
                    reason=f"{rel} does not exist",
                    hint="fix the target's path",
                )
            found = sorted(errors.get(realpath_key(rootdir, rel), ()), key=lambda r: r.line)
            count += len(found)
            details.extend(
                f"{rel}:{r.line}: {r.message}" + (f"  [{r.code}]" if r.code else "") for r in found
            )
            findings.extend(r.finding(rel) for r in found)
        return count_result(self.name, count, mypy_max, "error", details, findings=findings)


def parse_mypy_json(stdout: str) -> tuple[list[MypyRecord], list[str]]:
    """Split ``mypy -O json`` output into records and other lines (config notes, summaries).

    A line that starts with ``{`` must be a complete record; anything else is kept verbatim.
    """
    records: list[MypyRecord] = []
    other: list[str] = []
    for number, raw in enumerate(stdout.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("{"):
            other.append(line)
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise MypyParseError(f"line {number} is not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise MypyParseError(f"line {number} is not a JSON object")
        file, lineno, message = data.get("file"), data.get("line"), data.get("message")
        severity, code = data.get("severity"), data.get("code")
        if not (
            isinstance(file, str)
            and isinstance(message, str)
            and isinstance(severity, str)
            and isinstance(lineno, int)
            and not isinstance(lineno, bool)
            and (code is None or isinstance(code, str))
        ):
            raise MypyParseError(f"line {number} lacks file/line/message/severity")
        # mypy's JSON counts columns from 0 (-1 when it has none) and ends them exclusively: a
        # finding counts from 1, inclusively. Positions are optional; odd ones are dropped.
        column, end_line, end_column = (
            _position(data.get(key)) for key in ("column", "end_line", "end_column")
        )
        records.append(
            MypyRecord(
                file,
                lineno,
                " ".join(message.split()),
                code or "",
                severity,
                column + 1 if column >= 0 else 0,
                end_line if end_line >= lineno else 0,
                end_column + 1 if end_column >= 0 and end_line >= lineno else 0,
            )
        )
    return records, other


def _position(value: object) -> int:
    """A position from a mypy record: the number, or -1 when absent or not a number."""
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def _failure(output: ToolOutput, records: Sequence[MypyRecord]) -> str:
    """Why mypy's answer cannot be used, or ``""`` when it can."""
    errors = sum(1 for r in records if r.severity == "error")
    if output.returncode == 0:
        if errors:  # the status and the findings disagree: neither can be trusted
            return f"mypy exited 0 (clean) but reported {errors} errors"
        return ""
    if output.returncode == 1:
        if errors:
            return ""
        # Only notes (or nothing readable): exit 1 says there were errors we did not see.
        if records:
            note = records[0]
            return (
                f"mypy exited 1 but reported no errors, only {len(records)} notes "
                f"({note.file}:{note.line}: {note.message})"
            )
        first = output.first_line()
        return f"mypy exited 1 but reported no errors we could read: {first or 'no output'}"
    blocking = next((r for r in records if r.severity == "error"), None)
    if blocking is not None:
        why = f"{blocking.file}:{blocking.line}: {blocking.message}"
    else:
        why = output.first_line() or "no output"
    return f"mypy stopped (exit {output.returncode}): {why}"


def _installed_version(python: str) -> str:
    """The installed mypy version when the gate runs pytest's own Python, else "".

    Saves starting Python and importing mypy once per session just to ask ``mypy --version``;
    a mypy that is not importable is still reported by the run itself.
    """
    if python != sys.executable:
        return ""
    try:
        return importlib.metadata.version("mypy")
    except importlib.metadata.PackageNotFoundError:
        return ""


def _not_installed(output: ToolOutput) -> bool:
    return output.returncode != 0 and "No module named mypy" in output.stderr
