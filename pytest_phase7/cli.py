"""The ``phase7`` command: validate a manifest, gate from saved coverage data, re-render reports.

* ``phase7 validate [MANIFEST]``: load and resolve the manifest, print every problem.
* ``phase7 gate --coverage-file .coverage``: run the gates and print the table from an existing
  coverage data file, without running tests: how sharded CI uses phase7 (the shards run
  ``pytest``, ``coverage combine`` merges their data, one ``phase7 gate`` judges it).
* ``phase7 report RESULT.json --format md|term|json``: re-render a saved JSON report.
* ``phase7 baseline``: raise the baseline's floors, from a saved report or from coverage data
  (``--allow-lower --reason`` lowers them, on the record).
* ``phase7 init``: scaffold a plan from the repository as it is (:mod:`pytest_phase7.scaffold`).

Exit codes (also in ``phase7 --help`` and the README):

* 0: success (``gate``: the merge is not blocked);
* 1: problems found (``validate``: errors in the manifest or unresolvable targets) or the merge
  is blocked (``gate``);
* 2: usage error (bad arguments, unreadable configuration, manifest or report, no coverage data).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pytest_phase7 import __version__
from pytest_phase7.errors import Phase7Error
from pytest_phase7.model import Manifest, Problem, Severity
from pytest_phase7.resolve import Resolution, ResolutionState
from pytest_phase7.wording import counted, shown_list

if TYPE_CHECKING:
    from pytest_phase7.cachedir import CacheDirStore
    from pytest_phase7.engine import RunResult
    from pytest_phase7.gates.base import Gate
    from pytest_phase7.gates.cache import ResultStore
    from pytest_phase7.outputs import OutputKind, OutputRequest
    from pytest_phase7.report import ReportData
    from pytest_phase7.settings import Settings
    from pytest_phase7.status import Baseline

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2

EPILOG = """exit codes:
  0  success (gate: the merge is not blocked)
  1  problems found (manifest errors, unresolvable targets) or the merge is blocked
  2  usage error (bad arguments, configuration, manifest, report or coverage data)
"""


def _subcommand(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


#: The settings each subcommand takes as flags, generated from the option table
#: (:data:`pytest_phase7.settings.OPTIONS`): the setting's name with dashes (``fail_on`` is
#: ``--fail-on``), with its parser, choices, help and default. They override the phase7 table,
#: as the pytest flags do.
TOOL_SETTINGS = ("ruff_args", "mypy_args", "interrogate_args", "timeout")
GATE_SETTINGS = (
    "manifest",
    "gates",
    "coverage_min",
    "branch_min",
    "ruff_max",
    "mypy_max",
    "docstrings_min",
    *TOOL_SETTINGS,
    "fail_on",
    "baseline",
    "md",
    "json",
    "step_summary",
    "update_manifest",
    "update_manifest_force",
)
BASELINE_SETTINGS = ("manifest", "gates", *TOOL_SETTINGS, "fail_on", "baseline")
INIT_SETTINGS = ("coverage_min", *TOOL_SETTINGS)

#: The spelling ``phase7 gate`` had for ``--update-manifest-force``; kept for scripts.
OLD_FORCE_FLAG = "--force"


def _add_settings(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    """Add the flags of the settings ``names``, as the option table defines them."""
    from pytest_phase7.settings import option  # noqa: PLC0415

    for name in names:
        setting = option(name)
        parser.add_argument(setting.command_flag, **setting.argparse_kwargs(name))
    parser.set_defaults(setting_flags=tuple(names))


def _given_settings(args: argparse.Namespace) -> dict[str, object]:
    """The settings given as flags of this subcommand (None or False when not given)."""
    return {name: getattr(args, name) for name in getattr(args, "setting_flags", ())}


def _add_rootdir(
    parser: argparse.ArgumentParser, what: str = "the repository the targets live in"
) -> None:
    parser.add_argument("--rootdir", default=".", help=what + " (default: %(default)s)")


def _add_gate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--coverage-file",
        default=".coverage",
        help="coverage.py data file, combined from all shards (default: %(default)s)",
    )
    from pytest_phase7.cachedir import DEFAULT_CACHE_DIR  # noqa: PLC0415

    parser.add_argument(
        "--cache-dir",
        default=None,
        help=f"pytest's cache folder, shared with pytest --phase7 (default: ROOTDIR/"
        f"{DEFAULT_CACHE_DIR}; give pytest's cache_dir here if your configuration changes it)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="neither read nor write cached results"
    )


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="count", default=0, help="add per-gate details")
    parser.add_argument("-q", "--quiet", action="count", default=0, help="only items not DONE")
    parser.add_argument(
        "--color", choices=("auto", "yes", "no"), default="auto", help="colour the table"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``phase7`` command."""
    parser = argparse.ArgumentParser(
        prog="phase7",
        description="Validate, gate and report on a Phase 7 work-item manifest.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    validate = _subcommand(commands, "validate", "load and resolve a manifest, print its problems")
    from pytest_phase7.settings import option  # noqa: PLC0415

    manifest = option("manifest")
    validate.add_argument(
        "manifest",
        nargs="?",
        default=None,
        type=manifest.from_command_line,
        help=manifest.help_text(for_argparse=True),
    )
    _add_rootdir(validate)
    validate.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print every item with the target it resolved to, or why it has none",
    )

    gate = _subcommand(
        commands,
        "gate",
        "run the gates on an existing coverage data file and print the status table "
        "(no tests are run)",
    )
    _add_rootdir(gate)
    _add_gate_options(gate)
    _add_settings(gate, GATE_SETTINGS)
    gate.add_argument(
        OLD_FORCE_FLAG, action="store_true", dest="update_manifest_force", help=argparse.SUPPRESS
    )
    _add_output_options(gate)

    report = _subcommand(commands, "report", "re-render a saved JSON report")
    report.add_argument("result", help="a JSON report written by --phase7-json or phase7 gate")
    report.add_argument(
        "--format", choices=("term", "md", "json"), default="term", help="output format"
    )
    report.add_argument("-o", "--output", default=None, help="write here instead of stdout")
    from pytest_phase7.github import MAX_COMMENT_CHARS  # noqa: PLC0415

    report.add_argument(
        "--max-chars",
        type=int,
        default=MAX_COMMENT_CHARS,
        help="md: fit the document in this many characters (default: %(default)s, a PR "
        "comment; 0: no limit)",
    )
    _add_output_options(report)

    baseline = _subcommand(commands, "baseline", "write the baseline file of per-target metrics")
    _add_rootdir(baseline)
    _add_gate_options(baseline)
    _add_settings(baseline, BASELINE_SETTINGS)
    baseline.add_argument(
        "--from-report",
        default=None,
        help="take the metrics from a saved JSON report instead of running the gates",
    )
    from pytest_phase7.settings import DEFAULT_BASELINE  # noqa: PLC0415

    baseline.add_argument(
        "-o",
        "--output",
        default=None,
        help=f"baseline file (default: the baseline setting, else {DEFAULT_BASELINE})",
    )
    baseline.add_argument(
        "--allow-lower",
        action="store_true",
        help="lower the floors this run is below (floors otherwise only go up); needs --reason",
    )
    baseline.add_argument(
        "--reason",
        default=None,
        metavar="TEXT",
        help="with --allow-lower: why, recorded in the baseline file with the date, the commit "
        "and the old value",
    )
    init = _subcommand(
        commands,
        "init",
        "scaffold a Phase 7 plan from the repository as it is (measures every "
        "module; those below target become items)",
    )
    _add_rootdir(init, "the repository")
    init.add_argument(
        "--source",
        action="append",
        default=None,
        metavar="DIR",
        help="folder of the code to plan for (repeatable; default: src/ if it exists, else the "
        "rootdir); test files are left out",
    )
    measure = init.add_mutually_exclusive_group()
    measure.add_argument(
        "--coverage-file",
        default=".coverage",
        help="coverage data measured by a full test run (default: %(default)s in the rootdir)",
    )
    measure.add_argument(
        "--run-tests",
        action="store_true",
        help="run the tests once under coverage (python -m pytest) to measure them",
    )
    init.add_argument(
        "-o",
        "--output",
        default="PHASE7_EXECUTION_PLAN.md",
        help="plan to write, .md or .toml (default: %(default)s)",
    )
    init.add_argument(
        "--project", default=None, help="project name in the title (default: the rootdir's name)"
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing plan")
    _add_settings(init, INIT_SETTINGS)
    return parser


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the ``phase7`` command; returns its exit code."""
    out = out or sys.stdout
    err = err or (out if out is not sys.stdout else sys.stderr)
    args = build_parser().parse_args(argv)
    if args.command == "validate":
        return validate(args.manifest, Path(args.rootdir), out, verbose=args.verbose)
    try:
        if args.command == "gate":
            return gate_command(args, out)
        if args.command == "report":
            return report_command(args, out)
        if args.command == "baseline":
            return baseline_command(args, out)
        if args.command == "init":
            return init_command(args, out)
    except Phase7Error as exc:
        err.write(f"phase7: {exc}\n")
        return EXIT_USAGE
    return EXIT_USAGE  # pragma: no cover - argparse rejects unknown commands


def validate(manifest_arg: str | None, rootdir: Path, out: TextIO, *, verbose: bool = False) -> int:
    """``phase7 validate``: load, check and resolve; print every problem, then a summary.

    ``verbose``: first every item with its target (or why it has none).
    """
    from pytest_phase7.project import find_manifest, target_fixes  # noqa: PLC0415
    from pytest_phase7.resolve import resolve_items  # noqa: PLC0415
    from pytest_phase7.settings import load_table, resolve  # noqa: PLC0415

    rootdir = rootdir.resolve()
    try:
        table, label = load_table(rootdir)
        settings = resolve({}, {}, table, table_path=label)
        manifest = find_manifest(
            rootdir,
            manifest_arg or settings.manifest,
            table,
            label,
            base=Path.cwd() if manifest_arg else rootdir,
        )
        resolutions = (
            resolve_items(manifest, rootdir, settings.modules, targets=settings.targets)
            if not manifest.errors
            else ()
        )
    except Phase7Error as exc:
        out.write(f"{exc}\n")
        return EXIT_PROBLEMS
    if verbose:
        for resolution in resolutions:
            out.writelines(f"{line}\n" for line in _mapping_lines(resolution))
    problems = list(manifest.problems)
    problems += [_resolution_problem(manifest, r) for r in resolutions if _is_problem(r)]
    for problem in problems:
        out.write(f"{problem}\n")
    out.writelines(f"{note}\n" for note in target_fixes(resolutions, table, label))
    errors = sum(1 for p in problems if p.severity is Severity.ERROR)
    warnings = len(problems) - errors
    out.write(_summary(manifest, resolutions, errors, warnings) + "\n")
    return EXIT_PROBLEMS if errors else EXIT_OK


def _mapping_lines(resolution: Resolution) -> list[str]:
    """``phase7 validate -v``: an item and its target, or its state and why (every candidate)."""
    number = resolution.item.number
    if resolution.target is not None:
        return [f"item {number}: {resolution.target.ref} (via {resolution.via})"]
    state = resolution.state.value.replace("missing", "not found").replace("unmapped", "not mapped")
    lines = [f"item {number}: {state}: {resolution.message}"]
    if len(resolution.candidates) > 1:
        lines += [f"    candidate: {path}" for path in resolution.candidates]
    return lines


def _is_problem(resolution: Resolution) -> bool:
    return resolution.state in {
        ResolutionState.MISSING,
        ResolutionState.AMBIGUOUS,
        ResolutionState.ESCAPES,
        ResolutionState.INVALID,
    }


def _resolution_problem(manifest: Manifest, resolution: Resolution) -> Problem:
    item = resolution.item
    message = f"item {item.number}: {resolution.message}"
    if resolution.searched and resolution.state is ResolutionState.MISSING:
        message += f" (searched: {shown_list(resolution.searched)})"
    return Problem(Severity.ERROR, manifest.path, item.line, message)


def _summary(
    manifest: Manifest, resolutions: Sequence[Resolution], errors: int, warnings: int
) -> str:
    items = manifest.items
    mapped = sum(1 for item in items if item.mapped)
    resolved = sum(1 for r in resolutions if r.ok)
    return (
        f"{manifest.path}: {counted(len(manifest.batches), 'batch')}, "
        f"{counted(len(items), 'item')} "
        f"({mapped} mapped, {resolved} resolved), {counted(len(manifest.phases), 'phase')}, "
        f"{counted(len(manifest.criteria), 'criterion')}; {counted(errors, 'error')}, "
        f"{counted(warnings, 'warning')}"
    )


# --- gate ----------------------------------------------------------------------------------


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    """Run in ``path``: coverage.py reads its configuration and relative paths from there."""
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _settings(args: argparse.Namespace, rootdir: Path) -> tuple[Settings, dict[str, object], str]:
    from pytest_phase7.settings import load_table, resolve  # noqa: PLC0415

    table, label = load_table(rootdir)
    return resolve(_given_settings(args), {}, table, table_path=label), table, label


def _output_request(
    value: str,
    kind: OutputKind,
    *,
    flag: str | None,
    name: str,
    rootdir: Path,
    label: str,
    writes: bool = True,
) -> OutputRequest:
    """A path to write (or read): given with ``flag``, or from the phase7 table when it is None.

    On the command line it is relative to the current folder and may go anywhere; from the
    table it is relative to the rootdir and must stay inside it (:mod:`pytest_phase7.outputs`).
    """
    from pytest_phase7.outputs import OutputRequest  # noqa: PLC0415
    from pytest_phase7.settings import setting_location  # noqa: PLC0415

    if flag is not None:
        return OutputRequest(value, kind, f"{flag} {value}", Path.cwd(), False, writes)
    file, line = setting_location(name, table_path=label)
    return OutputRequest(value, kind, f"{name} = {value!r}", rootdir, True, writes, file, line)


def run_gates(
    args: argparse.Namespace, extra: Sequence[tuple[str, OutputRequest]] = ()
) -> tuple[RunResult, ReportData, Settings, dict[str, Path]]:
    """Load settings, manifest and coverage data as ``pytest --phase7`` would, and run the gates.

    The static gates run concurrently, as in the plugin; the coverage gate reads the data file.
    Only the built-in gates run (gates added by a ``conftest.py`` need pytest). The paths of
    ``--md``, ``--json``, ``--baseline`` and ``extra`` are checked before any gate runs
    (:mod:`pytest_phase7.outputs`) and returned by name.
    """
    from pytest_phase7.baseline import load_baseline  # noqa: PLC0415
    from pytest_phase7.errors import ConfigError  # noqa: PLC0415
    from pytest_phase7.gates.coverage import CoverageGate  # noqa: PLC0415
    from pytest_phase7.gates.docstrings import DocstringsGate  # noqa: PLC0415
    from pytest_phase7.gates.mypy import MypyGate  # noqa: PLC0415
    from pytest_phase7.gates.ruff import RuffGate  # noqa: PLC0415
    from pytest_phase7.manifest import raise_for_errors  # noqa: PLC0415
    from pytest_phase7.outputs import OutputKind, check_outputs, protected_files  # noqa: PLC0415
    from pytest_phase7.project import display_path, find_manifest, target_fixes  # noqa: PLC0415
    from pytest_phase7.report import report_data  # noqa: PLC0415
    from pytest_phase7.session import select_gates  # noqa: PLC0415

    rootdir = Path(args.rootdir).resolve()
    if not rootdir.is_dir():
        raise ConfigError(f"rootdir {args.rootdir} is not a folder")
    data_file = Path(args.coverage_file).resolve()
    settings, table, label = _settings(args, rootdir)
    manifest = find_manifest(
        rootdir, settings.manifest, table, label, base=Path.cwd() if args.manifest else rootdir
    )
    raise_for_errors(manifest)
    wanted = list(extra)
    for name, given, kind, writes in (
        ("md", getattr(args, "md", None), OutputKind.MARKDOWN, True),
        ("json", getattr(args, "json", None), OutputKind.JSON, True),
        ("baseline", args.baseline, OutputKind.BASELINE, False),
        ("manifest", args.manifest, OutputKind.PLAN, False),
    ):
        value = getattr(settings, name)
        # The plan is read wherever it is, but written back only inside the rootdir.
        if name == "manifest" and not (settings.update_manifest or settings.update_manifest_force):
            continue
        if value:
            flag = f"--{name}" if given else None
            request = _output_request(
                value, kind, flag=flag, name=name, rootdir=rootdir, label=label, writes=writes
            )
            wanted.append((name, request))
    checked = check_outputs(
        [request for _, request in wanted], rootdir, protected_files(rootdir, manifest.path)
    )
    paths = {name: path for (name, _), path in zip(wanted, checked, strict=True)}
    gates = select_gates([[CoverageGate(), RuffGate(), MypyGate(), DocstringsGate()]], settings)
    if any(g.needs_session for g in gates) and not data_file.is_file():
        raise ConfigError(
            f"coverage data file not found: {args.coverage_file} (run the tests under coverage, "
            "then coverage combine)"
        )
    baseline = None
    if "baseline" in paths:
        baseline = load_baseline(paths["baseline"], display_path(paths["baseline"], rootdir))
    first_run: dict[int, dict[str, float]] = {}
    if settings.history:
        from pytest_phase7.history import first_metrics  # noqa: PLC0415

        try:
            first_run = first_metrics((rootdir / settings.history).resolve())
        except OSError as exc:
            raise ConfigError(f"cannot read history {settings.history}: {exc}") from None
    store = _store(args, rootdir)
    result = gate_manifest(
        rootdir,
        manifest,
        settings,
        gates,
        data_file,
        baseline=baseline,
        store=store,
        first_run=first_run,
        notes=lambda resolutions: target_fixes(resolutions, table, label),
    )
    if store is not None and store.problem:
        sys.stderr.write(f"phase7: warning: {store.problem}\n")
    return result, report_data(result, baseline), settings, paths


def _store(args: argparse.Namespace, rootdir: Path) -> CacheDirStore | None:
    """The cache ``phase7 gate`` shares with ``pytest --phase7`` (None with ``--no-cache``)."""
    from pytest_phase7.cachedir import DEFAULT_CACHE_DIR, CacheDirStore  # noqa: PLC0415

    if getattr(args, "no_cache", False):
        return None
    given = getattr(args, "cache_dir", None)
    return CacheDirStore(Path(given).resolve() if given else rootdir / DEFAULT_CACHE_DIR)


def gate_manifest(
    rootdir: Path,
    manifest: Manifest,
    settings: Settings,
    gates: Sequence[Gate],
    data_file: Path,
    *,
    baseline: Baseline | None = None,
    store: ResultStore | None = None,
    first_run: Mapping[int, Mapping[str, float]] | None = None,
    notes: Callable[[Sequence[Resolution]], Sequence[str]] | None = None,
) -> RunResult:
    """Resolve the manifest and run ``gates`` on it with the coverage data in ``data_file``.

    ``store`` keeps results between runs, as pytest's cache does for ``pytest --phase7``;
    ``first_run`` is each item's first recorded metrics (the history's starting points);
    ``notes`` gives the result's notes from the resolutions (how to fix unresolved targets).
    """
    import coverage  # noqa: PLC0415

    from pytest_phase7.engine import Engine  # noqa: PLC0415
    from pytest_phase7.errors import ConfigError  # noqa: PLC0415
    from pytest_phase7.gates.base import SessionData  # noqa: PLC0415
    from pytest_phase7.resolve import RepoIndex, resolve_items  # noqa: PLC0415

    index = RepoIndex(rootdir)
    resolutions = resolve_items(
        manifest, rootdir, settings.modules, targets=settings.targets, index=index
    )
    engine = Engine(
        settings,
        manifest,
        resolutions,
        rootdir,
        gates,
        baseline=baseline,
        store=store,
        first_run=first_run,
        notes=notes(resolutions) if notes else (),
        project_files=index.all_python_files(),  # mypy's key: every file it may follow
    )
    with _working_directory(rootdir):
        try:
            cov = coverage.Coverage(data_file=str(data_file))
            cov.load()
        except coverage.CoverageException as exc:
            raise ConfigError(f"cannot read coverage data {data_file}: {exc}") from None
        engine.start()
        return engine.finish(SessionData(cov))


def _print_table(data: ReportData, args: argparse.Namespace, out: TextIO) -> None:
    from pytest_phase7.report import (  # noqa: PLC0415
        terminal_lines,
        terminal_width,
        to_text,
        use_color,
    )

    verbosity = args.verbose - args.quiet
    color = use_color(args.color, out.isatty())
    out.write(to_text(terminal_lines(data, verbosity, terminal_width()), color=color))


def gate_command(args: argparse.Namespace, out: TextIO) -> int:
    """``phase7 gate``: the ``pytest --phase7`` table and files, from saved coverage data."""
    from pytest_phase7.report import step_summary_path, write_reports  # noqa: PLC0415
    from pytest_phase7.writeback import WriteBackError, update_manifest  # noqa: PLC0415

    result, data, settings, paths = run_gates(args)
    _print_table(data, args, out)
    try:
        write_reports(
            data,
            md_path=paths.get("md"),
            json_path=paths.get("json"),
            step_summary=step_summary_path(settings.step_summary),
        )
    except OSError as exc:
        out.write(f"phase7: cannot write the report: {exc}\n")
        return EXIT_USAGE
    if settings.update_manifest or settings.update_manifest_force:
        try:
            outcome = update_manifest(result, force=settings.update_manifest_force)
        except (OSError, WriteBackError) as exc:
            out.write(f"phase7: plan not updated: {exc}\n")
            return EXIT_USAGE
        out.write(outcome.message + "\n")
    return EXIT_PROBLEMS if result.verdict.blocked else EXIT_OK


# --- report --------------------------------------------------------------------------------


def report_command(args: argparse.Namespace, out: TextIO) -> int:
    """``phase7 report``: re-render a saved JSON report as the terminal table, Markdown or JSON."""
    from pytest_phase7.atomic import write_atomic  # noqa: PLC0415
    from pytest_phase7.outputs import (  # noqa: PLC0415
        OutputKind,
        OutputRequest,
        check_outputs,
        protected_files,
    )
    from pytest_phase7.report import (  # noqa: PLC0415
        terminal_lines,
        terminal_width,
        to_text,
        use_color,
    )
    from pytest_phase7.report_json import dumps, load_report  # noqa: PLC0415
    from pytest_phase7.report_md import render_markdown  # noqa: PLC0415

    data = load_report(Path(args.result))
    if args.output:
        kinds = {"json": OutputKind.JSON, "md": OutputKind.MARKDOWN, "term": OutputKind.TEXT}
        request = OutputRequest(
            args.output, kinds[args.format], f"-o {args.output}", Path.cwd(), False
        )
        manifest = data.result.manifest.path
        check_outputs([request], Path.cwd(), protected_files(Path(data.result.rootdir), manifest))
    if args.format == "json":
        text = dumps(data)
    elif args.format == "md":
        text = render_markdown(data, max_chars=args.max_chars or None)
    else:
        verbosity = args.verbose - args.quiet
        color = args.output is None and use_color(args.color, out.isatty())
        text = to_text(terminal_lines(data, verbosity, terminal_width()), color=color)
    if args.output:
        try:
            write_atomic(Path(args.output), text.encode("utf-8"))
        except OSError as exc:
            out.write(f"phase7: cannot write {args.output}: {exc}\n")
            return EXIT_USAGE
    else:
        out.write(text)
    return EXIT_OK


# --- baseline ------------------------------------------------------------------------------


def baseline_command(args: argparse.Namespace, out: TextIO) -> int:
    """``phase7 baseline``: raise the baseline's floors to this run's figures (or a saved report's).

    Floors only go up: a figure below its floor keeps the floor, and says so. ``--allow-lower
    --reason TEXT`` lowers those floors instead, recording the reason, the date, the commit and
    the old value in the file. Metrics of gates that could not measure keep their floors.
    """
    from pytest_phase7.baseline import (  # noqa: PLC0415
        load_existing,
        lower_request,
        raised_baseline,
        write_baseline,
    )
    from pytest_phase7.errors import ConfigError  # noqa: PLC0415
    from pytest_phase7.outputs import OutputKind, check_outputs, protected_files  # noqa: PLC0415
    from pytest_phase7.report_json import load_report  # noqa: PLC0415
    from pytest_phase7.settings import DEFAULT_BASELINE  # noqa: PLC0415

    reason = " ".join((args.reason or "").split())
    if args.allow_lower and not reason:
        raise ConfigError(
            "--allow-lower needs --reason TEXT: why the floors go down, recorded in the baseline"
        )
    if reason and not args.allow_lower:
        raise ConfigError("--reason is only for --allow-lower (lowering floors on the record)")
    rootdir = Path(args.rootdir).resolve()
    settings, _, label = _settings(args, rootdir)
    value, flag = args.output, "-o"
    if not value:
        value, flag = settings.baseline or DEFAULT_BASELINE, args.baseline and "--baseline"
    request = _output_request(
        value, OutputKind.BASELINE, flag=flag or None, name="baseline", rootdir=rootdir, label=label
    )
    if args.from_report:
        result = load_report(Path(args.from_report)).result
        protected = protected_files(rootdir, result.manifest.path)
        path = check_outputs([request], rootdir, protected)[0]
    else:
        result, _, _, paths = run_gates(args, [("output", request)])
        path = paths["output"]
    previous = load_existing(path, rootdir)
    lower = lower_request(reason, rootdir) if args.allow_lower else None
    ratchet = raised_baseline(result, previous, lower)
    try:
        write_baseline(path, ratchet.baseline)
    except OSError as exc:
        out.write(f"phase7: cannot write baseline {path}: {exc}\n")
        return EXIT_USAGE
    targets = counted(len(ratchet.baseline.metrics), "target")
    changes = [f"{counted(len(ratchet.raised), 'floor')} raised"]
    if ratchet.lowered:
        changes.append(f"{len(ratchet.lowered)} lowered, the reason recorded")
    out.write(f"phase7: baseline written to {path} ({targets}; {', '.join(changes)})\n")
    if ratchet.kept:
        out.write(ratchet.kept_message() + "\n")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


# --- init ----------------------------------------------------------------------------------

#: Test files ``phase7 init`` leaves out of the plan.
TEST_FILE_PATTERNS = ("test_*.py", "*_test.py", "conftest.py")


def _is_test_file(rel: str) -> bool:
    from fnmatch import fnmatch  # noqa: PLC0415

    parts = rel.split("/")
    if any(part in {"tests", "test", "testing"} for part in parts[:-1]):
        return True
    return any(fnmatch(parts[-1], pattern) for pattern in TEST_FILE_PATTERNS)


def init_command(args: argparse.Namespace, out: TextIO) -> int:
    """``phase7 init``: measure every module and write a plan of the work left (scaffold.py)."""
    import subprocess  # noqa: PLC0415
    from datetime import date  # noqa: PLC0415

    from pytest_phase7.atomic import write_atomic  # noqa: PLC0415
    from pytest_phase7.errors import ConfigError  # noqa: PLC0415
    from pytest_phase7.files import is_regular, read_regular  # noqa: PLC0415
    from pytest_phase7.gates.coverage import CoverageGate  # noqa: PLC0415
    from pytest_phase7.gates.docstrings import DocstringsGate  # noqa: PLC0415
    from pytest_phase7.gates.mypy import MypyGate  # noqa: PLC0415
    from pytest_phase7.gates.ruff import RuffGate  # noqa: PLC0415
    from pytest_phase7.manifest import parse_markdown, to_toml  # noqa: PLC0415
    from pytest_phase7.model import Batch, BatchKind, WorkItem  # noqa: PLC0415
    from pytest_phase7.outputs import OutputKind, OutputRequest, check_outputs  # noqa: PLC0415
    from pytest_phase7.resolve import RepoIndex  # noqa: PLC0415
    from pytest_phase7.scaffold import draft_batches, render_plan  # noqa: PLC0415
    from pytest_phase7.settings import load_table, resolve  # noqa: PLC0415

    rootdir = Path(args.rootdir).resolve()
    if not rootdir.is_dir():
        raise ConfigError(f"rootdir {args.rootdir} is not a folder")
    output = (Path.cwd() / args.output).resolve()
    if output.suffix not in {".md", ".toml"}:
        raise ConfigError(f"{args.output}: the plan must be a .md or .toml file")
    if output.exists() and not args.force:
        raise ConfigError(f"{args.output} exists; pass --force to overwrite it")
    # With --force, too, only a plan is replaced: never pyproject.toml, a README, a folder.
    request = OutputRequest(args.output, OutputKind.PLAN, f"-o {args.output}", Path.cwd(), False)
    check_outputs([request], rootdir)
    sources = args.source or (["src"] if (rootdir / "src").is_dir() else ["."])
    prefixes = []
    for source in sources:
        folder = (rootdir / source).resolve()
        if not folder.is_dir() or (folder != rootdir and rootdir not in folder.parents):
            raise ConfigError(f"--source {source}: not a folder inside the rootdir")
        prefixes.append("" if folder == rootdir else folder.relative_to(rootdir).as_posix() + "/")
    modules = [
        rel
        for rel in RepoIndex(rootdir).all_python_files()
        if rel.endswith(".py")
        and any(rel.startswith(p) for p in prefixes)
        and not _is_test_file(rel)
        and is_regular(rootdir / rel)  # a FIFO named x.py would block the read below
    ]
    if not modules:
        raise ConfigError(f"no Python modules found under {', '.join(sources)}")
    data_file = (rootdir / ".coverage") if args.run_tests else (Path.cwd() / args.coverage_file)
    if args.run_tests:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:phase7", "--cov-report="]
        command += [f"--cov={rootdir / p}" if p else f"--cov={rootdir}" for p in prefixes]
        out.write("phase7 init: running the tests once under coverage...\n")
        subprocess.run(command, cwd=rootdir, check=False, stdout=subprocess.DEVNULL)
    if not data_file.is_file():
        raise ConfigError(
            f"coverage data file not found: {data_file} (measure a full test run first, or pass "
            "--run-tests)"
        )
    table, label = load_table(rootdir)
    # The plan's own items are not these: its manifest and item targets do not apply.
    settings = resolve(
        _given_settings(args),
        {},
        {k: v for k, v in table.items() if k not in {"manifest", "targets"}},
        table_path=label,
    )
    items = tuple(WorkItem(number=n, batch=1, target=rel) for n, rel in enumerate(modules, start=1))
    everything = Manifest(
        path="(every module)",
        format="toml",
        batches=(Batch(number=1, title="Every module", line=0, kind=BatchKind.TESTS, items=items),),
    )
    gates: list[Gate] = [CoverageGate(), RuffGate(), MypyGate(), DocstringsGate()]
    result = gate_manifest(rootdir, everything, settings, gates, data_file)
    texts = {rel: read_regular(rootdir / rel).decode("utf-8", "replace") for rel in modules}
    batches = draft_batches(result, texts)
    text = render_plan(batches, args.project or rootdir.name, date.today(), settings.coverage_min)
    if output.suffix == ".toml":
        text = to_toml(parse_markdown(text, output.name))
    write_atomic(output, text.encode("utf-8"))
    count = sum(len(b.items) for b in batches)
    hours = sum(i.hours for b in batches for i in b.items)
    out.write(
        f"wrote {args.output}: {counted(len(modules), 'module')} measured, "
        f"{counted(len(batches), 'batch')}, {counted(count, 'item')}, {hours:g} hours\n"
    )
    return EXIT_OK
