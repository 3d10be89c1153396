"""Subprocess worker of the docstrings gate: interrogate's numbers per file, as JSON on stdout.

Usage: ``python -m pytest_phase7.gates._interrogate_worker [INTERROGATE OPTIONS] -- FILE...``

The options are parsed by interrogate's own command (``interrogate.cli.main``), so the project's
``[tool.interrogate]`` (pyproject.toml) or ``[tool:interrogate]`` (setup.cfg) is found and merged
exactly as ``interrogate FILE...`` run in the same directory would do it (found from the files'
common project root, CLI options winning over the config), and unknown options fail the same way.
The config object is then built the way ``interrogate.cli.main`` builds it, and each file is
measured with the public ``InterrogateCoverage(...).get_coverage()`` API, one file at a time so
that a file interrogate cannot parse is an error for that file only.

For every file the worker also says whether interrogate would skip it when walking a *folder*
(``ignore-init-module`` for ``__init__.py``, ``exclude`` patterns): files named on the command
line are always measured, which matters for package targets (see the gate).

It runs out of process so that parsing many files does not hold the GIL of the test session.
Output: ``{"version", "config", "fail_under", "files": {arg: {...}}}``; on a usage error,
``{"error": "..."}`` and exit status 2.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from interrogate.config import InterrogateConfig
    from interrogate.coverage import InterrogateCoverage

#: Options that only change interrogate's printed output or write files: refused, because the
#: gate neither prints interrogate's report nor writes badges, so they would be silently ignored.
_REFUSED = ("output", "generate_badge", "badge_format", "badge_style")


class WorkerError(Exception):
    """A problem with the worker's arguments or interrogate's configuration."""


def measure(argv: Sequence[str]) -> dict[str, Any]:
    """Measure the files in ``argv`` (``[options] -- files``) and return the JSON document."""
    import click  # noqa: PLC0415 - imported here so the module stays importable without them
    from click.core import ParameterSource  # noqa: PLC0415
    from interrogate import __version__, cli  # noqa: PLC0415
    from interrogate import config as iconfig  # noqa: PLC0415
    from interrogate import coverage as icoverage  # noqa: PLC0415

    if "--" not in argv:
        raise WorkerError("usage: _interrogate_worker [OPTIONS] -- FILE...")
    split = list(argv).index("--")
    options, files = list(argv[:split]), list(argv[split + 1 :])
    if not files:
        raise WorkerError("no files to measure")
    try:
        # --help/--version print to stdout, which is our JSON channel: keep it clean.
        with contextlib.redirect_stdout(sys.stderr):
            ctx = cli.main.make_context("interrogate", [*options, "--", *files])
    except click.exceptions.Exit:
        raise WorkerError("--help/--version are not supported in interrogate_args") from None
    except click.ClickException as exc:
        raise WorkerError(f"interrogate: {exc.format_message()}") from None
    params = ctx.params
    for name in _REFUSED:
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
            flag = "--" + name.replace("_", "-")
            raise WorkerError(f"{flag} is not supported in interrogate_args (no report is written)")
    # The rest mirrors interrogate.cli.main, which does this before building its config.
    if params["style"] == "google" and params["ignore_init_method"]:
        raise WorkerError(
            "interrogate: The `--ignore-init-method` flag is mutually exclusive with "
            "`--style google`."
        )
    if params["whitelist_regex"]:
        params["ignore_module"] = True
    try:
        conf = iconfig.InterrogateConfig(
            color=False,
            docstring_style=params["style"],
            fail_under=params["fail_under"],
            ignore_regex=params["ignore_regex"],
            ignore_magic=params["ignore_magic"],
            ignore_module=params["ignore_module"],
            ignore_private=params["ignore_private"],
            ignore_semiprivate=params["ignore_semiprivate"],
            ignore_init_method=params["ignore_init_method"],
            ignore_init_module=params["ignore_init_module"],
            ignore_nested_classes=params["ignore_nested_classes"],
            ignore_nested_functions=params["ignore_nested_functions"],
            ignore_overloaded_functions=params["ignore_overloaded_functions"],
            ignore_property_setters=params["ignore_setters"],
            ignore_property_decorators=params["ignore_property_decorators"],
            include_regex=params["whitelist_regex"],
            omit_covered_files=params["omit_covered_files"],
        )
    except ValueError as exc:
        raise WorkerError(f"interrogate: {exc}") from None
    report: dict[str, Any] = {}
    for given, resolved in zip(files, params["paths"], strict=True):
        report[given] = _measure_file(icoverage, conf, resolved, params)
    return {
        "version": __version__,
        "config": params.get("config"),
        "fail_under": float(params["fail_under"]),
        "files": report,
    }


def _measure_file(
    icoverage: ModuleType,
    conf: InterrogateConfig,
    path: str,
    params: dict[str, Any],
) -> dict[str, Any]:
    coverage = icoverage.InterrogateCoverage(
        paths=[path],
        conf=conf,
        excluded=params["exclude"],
        extensions=params["ext"],
    )
    entry: dict[str, Any] = {"walk_skipped": _walk_skipped(coverage, conf, path), "error": ""}
    try:
        # interrogate prints to stderr and exits for a file it cannot take; keep it per file.
        results = coverage.get_coverage()
    except SystemExit:
        entry["error"] = "interrogate cannot measure this file (not a .py/.pyi file)"
        return entry
    except (SyntaxError, ValueError, OSError) as exc:
        entry["error"] = f"interrogate cannot parse this file: {type(exc).__name__}: {exc}"
        return entry
    covered = total = 0
    missing: list[tuple[int, str]] = []
    for result in results.file_results or ():
        covered += result.covered
        total += result.total
        for node in result.nodes:
            if node.covered or (node.node_type == "Module" and result.ignore_module):
                continue
            if node.node_type == "Module":
                missing.append((1, "(module docstring)"))
            else:
                missing.append((node.lineno or 1, node.path.split(":")[-1]))
    entry.update(covered=covered, total=total, missing=sorted(missing))
    return entry


def _walk_skipped(coverage: InterrogateCoverage, conf: InterrogateConfig, path: str) -> str:
    """Why interrogate's folder walk would leave ``path`` out, or ``""``.

    Uses interrogate's own file filter (``InterrogateCoverage._filter_files``), which applies to
    folder walks only.
    """
    if list(coverage._filter_files([path])):
        return ""
    if conf.ignore_init_module and os.path.basename(path) == "__init__.py":
        return "ignore-init-module"
    return "exclude"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the worker; print the JSON document (or an error document) to stdout."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        document = measure(args)
    except ImportError as exc:
        # The gate turns this into "interrogate is not installed" with an install hint.
        print(json.dumps({"error": f"interrogate cannot be imported: {exc}", "missing": True}))
        return 3
    except WorkerError as exc:
        print(json.dumps({"error": " ".join(str(exc).split())}))
        return 2
    print(json.dumps(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
