"""The coverage.py adapter: each internal gives coverage.py's answer, and without it the gate
takes the public path and still gives ``coverage report``'s figures.

An internal "missing" is simulated with an object that lacks it (the adapter's detection), or by
making the adapter function raise (the gate's fallback): both are what a coverage.py release
that drops or reshapes the internal would do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import coverage
import pytest
from coverage import CoverageData
from gate_helpers import DictStore, file_target, write

from pytest_phase7.gates import coverage_api
from pytest_phase7.gates.base import GateRequest, GateStatus, SessionData
from pytest_phase7.gates.coverage import CoverageGate
from pytest_phase7.gates.coverage_api import UnsupportedCoverageError
from pytest_phase7.gates.coverage_memo import FileFigures
from pytest_phase7.settings import Settings

pytestmark = pytest.mark.slow

SOURCE = """\
import os


def pick(n,
         m):
    with open(os.devnull) as handle:
        if n > m:
            return handle.name
    if (n <
            0):
        return "negative"
    return None  # pragma: no cover


def unused():
    return 1
"""

DRIVER = "import mod\nmod.pick(2, 1)\nmod.pick(0, 1)\n"


def measured(root: Path, config: str = "[run]\nbranch = true\n") -> Path:
    write(root, {"mod.py": SOURCE, "driver.py": DRIVER, ".coveragerc": config})
    subprocess.run([sys.executable, "-m", "coverage", "run", "driver.py"], cwd=root, check=True)
    return root


def loaded(root: Path) -> coverage.Coverage:
    old = Path.cwd()
    os.chdir(root)
    try:
        cov = coverage.Coverage()
        cov.load()
    finally:
        os.chdir(old)
    return cov


def report_total(root: Path, rel: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "coverage", "report", "--format=total", rel],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def gate_result(root: Path, cov: Any, rel: str = "mod.py", **session: Any) -> Any:
    old = Path.cwd()
    os.chdir(root)
    try:
        request = GateRequest(
            root, (file_target(rel),), Settings(), SessionData(cov, **session), DictStore()
        )
        return CoverageGate().run(request).results[rel]
    finally:
        os.chdir(old)


def parsed(path: Path) -> Any:
    from coverage.parser import PythonParser

    parser = PythonParser(filename=str(path))
    parser.parse_source()
    parser.arcs()
    return parser


# --- each internal, present: coverage.py's own answer ----------------------------------------


def test_multiline_map_is_the_table_first_line_reads(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": SOURCE})
    parser = parsed(tmp_path / "mod.py")
    table = coverage_api.multiline_map(parser)
    assert table  # the file has multi-line statements
    for line in range(1, SOURCE.count("\n") + 1):
        assert table.get(line, line) == parser.first_line(line)


def test_multiline_map_before_7_12_and_without_any() -> None:
    older = types.SimpleNamespace(_multiline={5: 4})
    assert coverage_api.multiline_map(older) == {5: 4}  # type: ignore[arg-type]
    with pytest.raises(UnsupportedCoverageError):
        coverage_api.multiline_map(types.SimpleNamespace())  # type: ignore[arg-type]


def test_jump_fixers_shapes() -> None:
    current = types.SimpleNamespace(_with_jump_fixers={(7, -5): (7, 9), (8, 9): None})
    assert coverage_api.jump_fixers(current) == {(7, -5): (7, 9), (8, 9): None}  # type: ignore[arg-type]
    # coverage.py 7.6-7.16: chains of arc pairs, resolved against the set of measured arcs.
    chained = types.SimpleNamespace(_with_jump_fixers={(7, -5): ((5, -5), (7, 9))})
    with pytest.raises(UnsupportedCoverageError, match=r"before 7\.17"):
        coverage_api.jump_fixers(chained)  # type: ignore[arg-type]
    assert coverage_api.jump_fixers(types.SimpleNamespace(_with_jump_fixers={})) == {}  # type: ignore[arg-type]
    if coverage.version_info < (7, 6):
        # Those versions never rewrote arcs: no table means nothing to fix.
        assert coverage_api.jump_fixers(types.SimpleNamespace()) == {}  # type: ignore[arg-type]
    else:
        with pytest.raises(UnsupportedCoverageError):
            coverage_api.jump_fixers(types.SimpleNamespace())  # type: ignore[arg-type]


def test_jump_fixers_of_this_coverage(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": SOURCE})
    parser = parsed(tmp_path / "mod.py")
    if coverage.version_info >= (7, 17):
        assert coverage_api.jump_fixers(parser)  # the file has a `with` block
    elif coverage.version_info < (7, 6):
        assert coverage_api.jump_fixers(parser) == {}
    else:
        with pytest.raises(UnsupportedCoverageError):
            coverage_api.jump_fixers(parser)


def test_analysis_equals_coverage_own(tmp_path: Path) -> None:
    cov = loaded(measured(tmp_path))
    path = str(tmp_path / "mod.py")
    reporter = coverage_api.file_reporter(cov, path)
    ours = coverage_api.analyser(cov, cov.get_data())(reporter)
    own = cov._analyze(path)
    assert ours.numbers == own.numbers
    assert ours.missing_formatted(branches=True) == own.missing_formatted(branches=True)
    assert coverage_api.is_python_reporter(reporter)


@pytest.mark.parametrize("name", ["_get_file_reporter", "_file_mapper"])
def test_missing_coverage_methods_are_unsupported(tmp_path: Path, name: str) -> None:
    cov = loaded(measured(tmp_path))
    without = types.SimpleNamespace(
        **{n: getattr(cov, n) for n in ("_get_file_reporter", "_file_mapper", "get_option")}
    )
    delattr(without, name)
    if name == "_get_file_reporter":
        with pytest.raises(UnsupportedCoverageError, match=name):
            coverage_api.file_reporter(without, str(tmp_path / "mod.py"))  # type: ignore[arg-type]
    else:
        with pytest.raises(UnsupportedCoverageError, match=name):
            coverage_api.analyser(without, cov.get_data())  # type: ignore[arg-type]


def test_report_filter_is_coverage_include_omit(tmp_path: Path) -> None:
    cov = loaded(measured(tmp_path, "[report]\ninclude = */keep/*\nomit = */keep/not_*\n"))
    reported = coverage_api.report_filter(cov)
    assert reported(str(tmp_path / "keep" / "a.py"))
    assert not reported(str(tmp_path / "keep" / "not_a.py"))
    assert not reported(str(tmp_path / "other.py"))
    assert coverage_api.report_filter(loaded(measured(tmp_path / "all", "")))("anything.py")


def test_path_mapper_with_and_without_make_aliases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = "[paths]\nsource =\n    src/\n    */site-packages/\n"
    cov = loaded(measured(tmp_path, config))
    write(tmp_path, {"src/pkg/mod.py": SOURCE})  # coverage.py maps only onto files that exist
    monkeypatch.chdir(tmp_path)
    mapped = coverage_api.path_mapper(cov)
    assert mapped is not None
    measured_name = "/venv/lib/python3.11/site-packages/pkg/mod.py"
    # Without _make_aliases: PathAliases built as _make_aliases builds it, the same mapping.
    without = types.SimpleNamespace(get_option=cov.get_option)
    fallback = coverage_api.path_mapper(without)  # type: ignore[arg-type]
    assert fallback is not None
    expected = os.path.realpath(tmp_path / "src" / "pkg" / "mod.py")
    assert fallback(measured_name) == mapped(measured_name) == expected
    assert coverage_api.path_mapper(loaded(measured(tmp_path / "none", ""))) is None


def test_one_connection_with_and_without_connect(tmp_path: Path) -> None:
    data = loaded(measured(tmp_path)).get_data()
    name = str(tmp_path / "mod.py")
    with coverage_api.one_connection(data):
        held = data.arcs(name)
    bare = types.SimpleNamespace(arcs=data.arcs)  # no _connect
    with coverage_api.one_connection(bare):  # type: ignore[arg-type]
        assert bare.arcs(name) == held
    assert held


# --- combining a running measurement with its parallel files ---------------------------------


def data_file(root: Path, suffix: str, lines: dict[str, list[int]]) -> None:
    data = CoverageData(basename=str(root / ".coverage"), suffix=suffix)
    data.add_lines(lines)
    data.write()


def test_parallel_files_are_coverage_combines(tmp_path: Path) -> None:
    data_file(tmp_path, "one", {"a.py": [1]})
    data_file(tmp_path, "two", {"b.py": [2]})
    (tmp_path / ".coverage.two-journal").write_text("")
    (tmp_path / ".coveragerc-not-data").write_text("")
    own = CoverageData(basename=str(tmp_path / ".coverage"), suffix="own")
    own.add_lines({"c.py": [3]})
    own.write()
    assert coverage_api.parallel_files(own) == [
        str(tmp_path / ".coverage.one"),
        str(tmp_path / ".coverage.two"),
    ]


def test_reporting_data_combines_in_memory_and_skips_unreadable(tmp_path: Path) -> None:
    measured(tmp_path, "[run]\nbranch = false\n")
    data_file(tmp_path, "sub", {str(tmp_path / "mod.py"): [15, 16]})
    (tmp_path / ".coverage.broken").write_text("not a database")
    before = sorted(os.listdir(tmp_path))
    cov = loaded(tmp_path)
    with coverage_api.reporting_data(cov, combine=True) as combined:
        lines = set(combined.lines(str(tmp_path / "mod.py")) or ())
    assert {15, 16} <= lines
    assert not {15, 16} <= set(cov.get_data().lines(str(tmp_path / "mod.py")) or ())
    with coverage_api.reporting_data(cov, combine=False) as as_it_is:
        assert as_it_is is cov.get_data()
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, nothing deleted
    # What coverage combine makes of the same files (it warns about the broken one).
    subprocess.run(
        [sys.executable, "-m", "coverage", "combine", "--append", "--keep"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    assert set(loaded(tmp_path).get_data().lines(str(tmp_path / "mod.py")) or ()) == lines


# --- the public path -------------------------------------------------------------------------


@pytest.mark.parametrize("branch", [False, True])
def test_public_figures_equal_coverage_own(tmp_path: Path, branch: bool) -> None:
    cov = loaded(measured(tmp_path, f"[run]\nbranch = {branch}\n[report]\nomit = */gone.py\n"))
    (tmp_path / "gone.py").write_text("x = 1\n")
    (tmp_path / "broken.py").write_text("def f(:\n")
    paths = [str(tmp_path / name) for name in ("mod.py", "gone.py", "broken.py")]
    found = coverage_api.public_figures(cov, paths)
    entry = found[paths[0]]
    assert isinstance(entry, dict)
    assert coverage_api.figures_from_report(entry) == FileFigures.from_analysis(
        cov._analyze(paths[0])
    )
    assert paths[1] not in found  # omitted from reports
    assert "cannot report on it" in str(found[paths[2]])


def unsupported(*args: object) -> Any:
    raise UnsupportedCoverageError("coverage.py has no results.analysis_from_file_reporter")


@pytest.mark.parametrize("branch", [False, True])
def test_gate_without_internals_gives_coverage_report_figures(
    tmp_path: Path, branch: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = measured(tmp_path, f"[run]\nbranch = {branch}\n")
    fast = gate_result(root, loaded(root))
    monkeypatch.setattr(coverage_api, "analyser", unsupported)
    public = gate_result(root, loaded(root))
    assert public.status is not GateStatus.ERROR, public.reason
    assert public.display == fast.display == report_total(root, "mod.py") + "%"
    assert public.extra == fast.extra
    assert public.details == fast.details


def test_gate_without_internals_refuses_what_it_cannot_combine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A running measurement with a parallel file beside it: json_report would not see that file.
    root = measured(tmp_path, "[run]\nbranch = false\n")
    data_file(root, "sub", {str(root / "mod.py"): [15, 16]})
    monkeypatch.setattr(coverage_api, "analyser", unsupported)
    result = gate_result(root, loaded(root), uncombined=True)
    assert result.status is GateStatus.ERROR
    assert "has no results.analysis_from_file_reporter" in result.reason
    assert "run pytest --cov instead" in result.reason
