"""Every coverage.py internal the coverage gate uses, each behind one function, with its fallback.

coverage.py's public API gives every figure the gate needs (``Coverage.json_report`` for named
files), but it re-parses each file and writes a report for every question. The gate's fast path
reads a few internals instead. They move between minor versions (``PythonParser.multiline_map``
was ``_multiline`` before 7.12; ``_with_jump_fixers`` changed its values' shape in 7.17), so each
one is looked up here, checked for the shape this module knows, and when it is missing or shaped
otherwise the function raises :class:`UnsupportedCoverageError`: the caller then takes the next
slower path, which gives the same figures. The one thing the public path cannot do, combine a
running ``coverage run`` measurement with its parallel files or ``[paths]`` in memory, is then
an ERROR that says so.

=============================================== ============================= ================
internal                                        what for                      without it
=============================================== ============================= ================
``PythonParser.multiline_map`` / ``_multiline`` static analysis (cached)      coverage parses
``PythonParser._with_jump_fixers`` (7.17 form)  static analysis of ``with``   coverage parses
``Coverage._get_file_reporter``                 coverage's own analysis       ``json_report``
``Coverage._file_mapper``                       the name the data uses        ``json_report``
``results.analysis_from_file_reporter``         coverage's own analysis       ``json_report``
``files.GlobMatcher``, ``files.prep_patterns``  ``[report] include/omit``     ``json_report``
``python.PythonFileReporter``                   memo and static analysis      coverage parses
``Coverage._make_aliases``                      ``[paths]`` remapping         ``PathAliases``
``CoverageData._connect``                       one SQLite connection         one per query
``Numbers.pc_statements``, ``pc_branches``      line and branch percents      their formula
``CoverageData.update(map_path=)`` (7.6+)       combining, ``[paths]``        ``aliases=``
``CoverageData.close`` (7.10+)                  closing the gate's copies     garbage collector
=============================================== ============================= ================

Each path is checked against ``coverage report`` by the tests, on the lowest and the newest
supported coverage.py (the supported-versions stage).
"""

from __future__ import annotations

import contextlib
import glob
import inspect
import json
import os
import tempfile
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pytest_phase7.gates.coverage_memo import FileFigures

if TYPE_CHECKING:
    from coverage import Coverage, CoverageData
    from coverage.parser import PythonParser
    from coverage.plugin import FileReporter
    from coverage.results import Analysis, Numbers

Arc = tuple[int, int]


class UnsupportedCoverageError(Exception):
    """This coverage.py does not have an internal in the shape the fast path needs."""


def multiline_map(parser: PythonParser) -> dict[int, int]:
    """Continuation line -> first line of its statement, from a parsed ``PythonParser``.

    ``multiline_map`` since coverage.py 7.12, ``_multiline`` before; both are the table
    ``PythonParser.first_line`` reads.
    """
    for name in ("multiline_map", "_multiline"):
        table = getattr(parser, name, None)
        if isinstance(table, dict):
            return dict(table)
    raise UnsupportedCoverageError("coverage.py's PythonParser has no multi-line statement map")


def jump_fixers(parser: PythonParser) -> dict[Arc, Arc | None]:
    """The arcs ``translate_arcs`` rewrites (to another arc, or away) for leaving ``with`` blocks.

    coverage.py 7.17 keeps ``{arc: new arc or None}``, applied arc by arc; 7.6-7.16 kept chains
    that are resolved against the whole set of measured arcs, which a per-arc table cannot
    reproduce. Only the 7.17 form is used; an empty table (no ``with`` block) means the same in
    every version that has one, and before 7.6 there were no fixes at all.
    """
    fixers = getattr(parser, "_with_jump_fixers", None)
    if fixers is None and _version() < (7, 6):
        return {}  # before 7.6 translate_arcs maps arcs to first lines only: nothing to fix
    if not isinstance(fixers, dict):
        raise UnsupportedCoverageError("coverage.py's PythonParser has no _with_jump_fixers")
    for arc, new in fixers.items():
        if not _is_arc(arc) or not (new is None or _is_arc(new)):
            raise UnsupportedCoverageError(
                "coverage.py's _with_jump_fixers is not an arc -> arc table (before 7.17)"
            )
    return dict(fixers)


def _version() -> tuple[int, ...]:
    import coverage  # noqa: PLC0415

    return tuple(coverage.version_info[:2])


def _is_arc(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and all(type(line) is int for line in value)


def file_reporter(cov: Coverage, path: str) -> FileReporter:
    """coverage.py's ``FileReporter`` for ``path`` (its plugins', or the Python one)."""
    get = getattr(cov, "_get_file_reporter", None)
    if not callable(get):
        raise UnsupportedCoverageError("coverage.py has no Coverage._get_file_reporter")
    reporter: FileReporter = get(path)
    return reporter


def is_python_reporter(reporter: FileReporter) -> bool:
    """Whether ``reporter`` is coverage.py's own Python reporter (not a plugin's)."""
    try:
        from coverage.python import PythonFileReporter  # noqa: PLC0415
    except ImportError:
        return False  # then every file is analysed by coverage.py, as a plugin's would be
    return isinstance(reporter, PythonFileReporter)


def report_filter(cov: Coverage) -> Callable[[str], bool]:
    """Whether a reporter's file name is reported under ``[report] include/omit``.

    The matchers ``coverage.report_core.get_analysis_to_report`` builds from the same options.
    """
    try:
        from coverage.files import GlobMatcher, prep_patterns  # noqa: PLC0415
    except ImportError:
        raise UnsupportedCoverageError("coverage.py has no files.GlobMatcher") from None
    include = _patterns(cov.get_option("report:include"))
    omit = _patterns(cov.get_option("report:omit"))
    included = GlobMatcher(prep_patterns(include), "report_include") if include else None
    omitted = GlobMatcher(prep_patterns(omit), "report_omit") if omit else None
    return lambda name: (
        (included is None or included.match(name))
        and not (omitted is not None and omitted.match(name))
    )


def _patterns(value: object) -> list[str]:
    return [str(pattern) for pattern in value] if isinstance(value, list) else []


def data_name(cov: Coverage) -> Callable[[str], str]:
    """The function that turns a reporter's file name into the name the data stores it under.

    It is ``relative_filename`` under ``relative_files``, the name itself otherwise.
    """
    mapper = getattr(cov, "_file_mapper", None)
    if not callable(mapper):
        raise UnsupportedCoverageError("coverage.py has no Coverage._file_mapper")
    return mapper  # type: ignore[no-any-return]


def analyser(cov: Coverage, data: CoverageData) -> Callable[[FileReporter], Analysis]:
    """coverage.py's own ``Analysis`` of a file from ``data``: what ``Coverage._analyze`` builds.

    ``_analyze`` reads ``Coverage.get_data()`` again for every file; one ``data`` read once for
    every file gives the same figures without that repeated cost.
    """
    try:
        from coverage.results import analysis_from_file_reporter  # noqa: PLC0415
    except ImportError:
        raise UnsupportedCoverageError(
            "coverage.py has no results.analysis_from_file_reporter"
        ) from None
    name = data_name(cov)
    precision = _precision(cov)
    return lambda reporter: analysis_from_file_reporter(
        data, precision, reporter, name(reporter.filename)
    )


def _precision(cov: Coverage) -> int:
    configured = cov.get_option("report:precision")
    return configured if isinstance(configured, int) else 0


def path_mapper(cov: Coverage) -> Callable[[str], str] | None:
    """``[paths]`` remapping, as ``coverage combine`` and the reports apply it (None: no paths)."""
    paths = cov.get_option("paths")
    if not isinstance(paths, dict) or not paths:
        return None
    make = getattr(cov, "_make_aliases", None)
    if callable(make):
        return make().map  # type: ignore[no-any-return]
    try:
        from coverage.files import PathAliases  # noqa: PLC0415

        # What Coverage._make_aliases does: the first entry of each [paths] list is the result.
        aliases = PathAliases(relative=bool(cov.get_option("run:relative_files")))
        for entries in paths.values():
            for pattern in entries[1:]:
                aliases.add(pattern, entries[0])
    except Exception as exc:  # noqa: BLE001 - any other shape: say which
        raise UnsupportedCoverageError(
            f"coverage.py has neither _make_aliases nor a usable PathAliases ({exc})"
        ) from None
    return aliases.map


@contextlib.contextmanager
def one_connection(data: CoverageData) -> Iterator[None]:
    """Hold one SQLite connection open while many files are read from ``data``.

    coverage.py otherwise opens and closes its file for every query (three per file). Without
    ``CoverageData._connect`` each query opens its own, with the same answers.
    """
    connect = getattr(data, "_connect", None)
    with connect() if callable(connect) else contextlib.nullcontext():
        yield


def parallel_files(data: CoverageData) -> list[str]:
    """The parallel data files ``coverage combine`` would combine with ``data``'s file.

    The files beside ``data``'s base file named ``<base>.*`` (not SQLite journals), without
    ``data``'s own file: ``coverage.data.combinable_files``, through public names only.
    """
    base = os.path.abspath(data.base_filename())
    own = os.path.abspath(data.data_filename())
    found = glob.glob(glob.escape(base) + ".*")
    return sorted(f for f in found if not f.endswith("-journal") and f != own)


@contextlib.contextmanager
def reporting_data(cov: Coverage, *, combine: bool) -> Iterator[CoverageData]:
    """The data ``coverage report`` would report for this session, while the block runs.

    With ``combine`` (a measurement that is still running, ``coverage run -m pytest``), the
    parallel data files other processes wrote (subprocesses, ``multiprocessing``) are combined
    in, as ``coverage combine`` does: ``[paths]`` applied to each parallel file, an unreadable
    file skipped. Then ``[paths]`` is applied to everything, as the reports do. Nothing in the
    project is written and ``cov`` is left as it was: the copies live in a temporary folder
    (on disk: coverage.py 7.10-7.16 cannot update an in-memory copy twice) and in memory.
    """
    from coverage import CoverageData  # noqa: PLC0415
    from coverage.exceptions import CoverageException  # noqa: PLC0415

    data = cov.get_data()
    others = parallel_files(data) if combine else []
    mapper = path_mapper(cov)
    if not others and mapper is None:
        yield data
        return
    with (
        tempfile.TemporaryDirectory(prefix="phase7-coverage-") as folder,
        contextlib.ExitStack() as opened,
    ):
        if others:
            combined = _closing(opened, CoverageData(basename=os.path.join(folder, "combined")))
            # The measurement's own data is a parallel file too when it has a suffix.
            own_is_parallel = data.data_filename() != data.base_filename()
            merge(combined, data, mapper if own_is_parallel else None)
            for name in others:
                try:
                    other = _closing(opened, CoverageData(basename=name))
                    other.read()
                except CoverageException:
                    continue  # coverage combine warns and leaves it out
                merge(combined, other, mapper)
            data = combined
        if mapper is not None:
            mapped = _closing(opened, CoverageData(no_disk=True))
            merge(mapped, data, mapper)
            data = mapped
        yield data


def _closing(stack: contextlib.ExitStack, data: CoverageData) -> CoverageData:
    """``data``, closed when ``stack`` closes (``CoverageData.close``, since coverage.py 7.10).

    An SQLite connection left open is a ``ResourceWarning`` when it is collected (Python 3.13).
    """
    close = getattr(data, "close", None)
    if callable(close):
        stack.callback(close)
    return data


def merge(into: CoverageData, data: CoverageData, mapper: Callable[[str], str] | None) -> None:
    """``into.update(data)`` with each file name passed through ``mapper`` (None: as it is).

    ``CoverageData.update`` takes the function as ``map_path`` since coverage.py 7.6, and an
    object with a ``map`` method as ``aliases`` before.
    """
    if mapper is None:
        into.update(data)
    elif "map_path" in inspect.signature(into.update).parameters:
        into.update(data, map_path=mapper)
    else:
        into.update(data, aliases=types.SimpleNamespace(map=mapper))  # type: ignore[call-arg]


def percents(numbers: Numbers) -> tuple[float, float]:
    """The line-only and branch-only percents of ``numbers``, as coverage.py computes them.

    ``Numbers.pc_statements``/``pc_branches`` since coverage.py 7.12; before, their formula:
    100 x executed / total, and 100 when there is nothing to count.
    """
    line = getattr(numbers, "pc_statements", None)
    branch = getattr(numbers, "pc_branches", None)
    if isinstance(line, float) and isinstance(branch, float):
        return line, branch
    return (
        _percent(numbers.n_executed, numbers.n_statements),
        _percent(numbers.n_executed_branches, numbers.n_branches),
    )


def _percent(numerator: int, denominator: int) -> float:
    return 100.0 * numerator / denominator if denominator > 0 else 100.0


def public_figures(cov: Coverage, paths: Sequence[str]) -> dict[str, Mapping[str, Any] | str]:
    """Each file's entry of ``Coverage.json_report`` (the public API), by the path asked for.

    One report per file: then the report's one entry is that file, whatever name it is shown
    under. A file the report leaves out (``[report] omit/include``) is absent; a file coverage.py
    cannot report on maps to the reason. The report reads ``cov``'s own data: the caller uses
    this only where that is the data being gated.
    """
    from coverage.exceptions import NoDataError  # noqa: PLC0415

    found: dict[str, Mapping[str, Any] | str] = {}
    with tempfile.TemporaryDirectory(prefix="phase7-coverage-") as folder:
        outfile = os.path.join(folder, "coverage.json")
        for path in paths:
            try:
                cov.json_report(morfs=[path], outfile=outfile, ignore_errors=False)
                with open(outfile, encoding="utf-8") as handle:
                    entries = list(json.load(handle)["files"].values())
            except NoDataError:
                continue  # "No data to report.": the file is omitted from reports
            except Exception as exc:  # noqa: BLE001 - NotPython, NoSource, ...
                found[path] = f"coverage.py cannot report on it: {type(exc).__name__}: {exc}"
                continue
            if entries:
                found[path] = entries[0]
    return found


def figures_from_report(entry: Mapping[str, Any]) -> FileFigures:
    """A file's figures from its ``json_report`` entry: the counts ``Analysis.numbers`` holds."""
    summary = entry["summary"]
    executed, missing = entry["executed_lines"], entry["missing_lines"]
    branch_exits: dict[int, list[int]] = {}
    for start, end in entry.get("missing_branches", ()):
        branch_exits.setdefault(start, []).append(end)
    try:
        from coverage.results import format_lines  # noqa: PLC0415

        shown = format_lines(
            [*executed, *missing], missing, arcs=branch_exits.items() if branch_exits else None
        )
    except ImportError:  # only the details line depends on it
        shown = ", ".join(map(str, missing))
    return FileFigures(
        n_statements=summary["num_statements"],
        n_excluded=summary["excluded_lines"],
        n_missing=summary["missing_lines"],
        n_branches=summary.get("num_branches", 0),
        n_partial_branches=summary.get("num_partial_branches", 0),
        n_missing_branches=summary.get("missing_branches", 0),
        missing=shown,
    )
