"""The ``phase7`` command.

Exit codes (also in ``phase7 --help`` and the README):

* 0: success (``validate``: the manifest loads and every mapped item resolves);
* 1: problems found (``validate``: errors in the manifest or unresolvable targets);
* 2: usage error (bad arguments, unreadable configuration).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from pytest_phase7 import __version__
from pytest_phase7.errors import Phase7Error
from pytest_phase7.model import Manifest, Problem, Severity
from pytest_phase7.resolve import Resolution, ResolutionState

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2

EPILOG = """exit codes:
  0  success
  1  problems found (manifest errors, unresolvable targets)
  2  usage error (bad arguments or configuration)
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``phase7`` command."""
    parser = argparse.ArgumentParser(
        prog="phase7",
        description="Validate and report on a Phase 7 work-item manifest.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    validate = commands.add_parser(
        "validate",
        help="load and resolve a manifest, print its problems",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument(
        "manifest",
        nargs="?",
        default=None,
        help="manifest to check (default: as pytest --phase7 finds it in the rootdir)",
    )
    validate.add_argument(
        "--rootdir",
        default=".",
        help="the repository the targets live in (default: .)",
    )
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the ``phase7`` command; returns its exit code."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    if args.command == "validate":
        return validate(args.manifest, Path(args.rootdir), out)
    return EXIT_USAGE  # pragma: no cover - argparse rejects unknown commands


def validate(manifest_arg: str | None, rootdir: Path, out: TextIO) -> int:
    """``phase7 validate``: load, check and resolve; print every problem, then a summary."""
    from pytest_phase7.project import find_manifest  # noqa: PLC0415
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
    except Phase7Error as exc:
        out.write(f"{exc}\n")
        return EXIT_PROBLEMS
    problems = list(manifest.problems)
    resolutions = resolve_items(manifest, rootdir, settings.modules) if not manifest.errors else ()
    problems += [_resolution_problem(manifest, r) for r in resolutions if _is_problem(r)]
    for problem in problems:
        out.write(f"{problem}\n")
    errors = sum(1 for p in problems if p.severity is Severity.ERROR)
    warnings = len(problems) - errors
    out.write(_summary(manifest, resolutions, errors, warnings) + "\n")
    return EXIT_PROBLEMS if errors else EXIT_OK


def _is_problem(resolution: Resolution) -> bool:
    return resolution.state in {
        ResolutionState.MISSING,
        ResolutionState.AMBIGUOUS,
        ResolutionState.ESCAPES,
    }


def _resolution_problem(manifest: Manifest, resolution: Resolution) -> Problem:
    item = resolution.item
    message = f"item {item.number}: {resolution.message}"
    if resolution.searched and resolution.state is ResolutionState.MISSING:
        message += " (searched: " + ", ".join(resolution.searched) + ")"
    return Problem(Severity.ERROR, manifest.path, item.line, message)


def _summary(
    manifest: Manifest, resolutions: Sequence[Resolution], errors: int, warnings: int
) -> str:
    items = manifest.items
    mapped = sum(1 for item in items if item.mapped)
    resolved = sum(1 for r in resolutions if r.ok)
    return (
        f"{manifest.path}: {len(manifest.batches)} batches, {len(items)} items "
        f"({mapped} mapped, {resolved} resolved), {len(manifest.phases)} phases, "
        f"{len(manifest.criteria)} criteria; {errors} errors, {warnings} warnings"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
