"""The docstrings gate against the real interrogate on small projects, and its ERROR paths."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import interrogate
import pytest
from gate_helpers import file_target, write

from pytest_phase7.gates import _interrogate_worker as worker
from pytest_phase7.gates import docstrings as docstrings_module
from pytest_phase7.gates.base import GateRequest, GateRun, GateStatus
from pytest_phase7.gates.docstrings import DocstringsGate, interrogate_fails, percent_covered
from pytest_phase7.gates.tools import run_tool
from pytest_phase7.resolve.targets import Target, TargetKind
from pytest_phase7.settings import Settings

PYPROJECT = """\
[project]
name = "demo"

[tool.interrogate]
fail-under = 60
ignore-magic = true
ignore-init-module = true
"""

FILES = {
    "pyproject.toml": PYPROJECT,
    # Module and class documented, area() not, __repr__ ignored (ignore-magic): 2 of 3.
    "two_of_three.py": (
        '"""Shapes."""\n\n\nclass Shape:\n    """A shape."""\n\n'
        "    def __repr__(self):\n        return ''\n\n\ndef area():\n    pass\n"
    ),
    "private.py": '"""Private."""\n\n\ndef __hidden():\n    pass\n',
    "empty.py": "",
    "pkg/__init__.py": "",
    "pkg/a.py": '"""A."""\n\n\ndef undocumented():\n    pass\n',
    "pkg/b.py": '"""B."""\n\n\ndef documented():\n    """Yes."""\n',
}


PKG = Target(TargetKind.PACKAGE, "pkg/", ("pkg/__init__.py", "pkg/a.py", "pkg/b.py"))


def run_gate(root: Path, *targets: Target, **settings: object) -> GateRun:
    return DocstringsGate().run(GateRequest(root, tuple(targets), Settings(**settings)))  # type: ignore[arg-type]


def interrogate_itself(root: Path, *args: str) -> tuple[int, dict[str, tuple[int, int, str]]]:
    """interrogate's own CLI on the same paths: exit code and its table rows (total, cover, %)."""
    out = run_tool([sys.executable, "-m", "interrogate", "--no-color", "-v", *args], root, 60)
    rows: dict[str, tuple[int, int, str]] = {}
    for line in out.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[1].isdigit():
            rows[cells[0]] = (int(cells[1]), int(cells[3]), cells[4])
    assert rows, out.stdout + out.stderr
    return out.returncode, rows


def counts(run: GateRun, ref: str) -> tuple[int, int]:
    extra = dict(run.results[ref].extra)
    return int(extra["covered"]), int(extra["total"])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docstrings-project")
    write(root, FILES)
    return root


@pytest.mark.slow
def test_numbers_match_interrogate_with_the_project_config(project: Path) -> None:
    run = run_gate(project, file_target("two_of_three.py"), file_target("pkg/b.py"))
    code, rows = interrogate_itself(project, "two_of_three.py")
    assert rows["TOTAL"][:2] == (3, 2)  # ignore-magic: __repr__ is not counted
    assert counts(run, "two_of_three.py") == (2, 3)
    result = run.results["two_of_three.py"]
    assert result.display == "67%" == f"{result.metric:.0f}%"
    assert result.metric == pytest.approx(200 / 3)
    # The threshold is the project's fail-under (60): interrogate passes it, and so does the gate.
    assert result.threshold == 60.0
    assert code == 0
    assert result.status is GateStatus.PASS
    assert result.details == ("two_of_three.py:11 area",)
    assert run.results["pkg/b.py"].display == "100%"
    assert run.tool_version == interrogate.__version__
    assert "threshold 60% from interrogate fail-under" in run.context[0]


@pytest.mark.slow
@pytest.mark.parametrize("threshold", [66.0, 66.7, 67.0])
def test_rounding_boundary_decides_as_interrogate(project: Path, threshold: float) -> None:
    code, _ = interrogate_itself(project, "-f", str(threshold), "two_of_three.py")
    result = run_gate(project, file_target("two_of_three.py"), docstrings_min=threshold).results
    status = result["two_of_three.py"].status
    assert status is (GateStatus.FAIL if code else GateStatus.PASS)
    # 66.67% rounds to 66.7 at the threshold's one decimal: passes 66 and 66.7, fails 67.
    assert code == (1 if threshold == 67.0 else 0)


@pytest.mark.parametrize(
    "threshold", [0.0, 50.0, 66.0, 66.6, 66.67, 66.666, 66.667, 66.6667, 66.68, 66.7, 67.0, 100.0]
)
def test_fail_rule_is_interrogates_own(tmp_path: Path, threshold: float) -> None:
    from interrogate.config import InterrogateConfig
    from interrogate.coverage import InterrogateCoverage

    write(tmp_path, {"m.py": FILES["two_of_three.py"]})
    conf = InterrogateConfig(fail_under=threshold, ignore_magic=True)
    results = InterrogateCoverage(paths=[str(tmp_path / "m.py")], conf=conf).get_coverage()
    percent = percent_covered(results.covered, results.total)
    assert percent == results.perc_covered
    assert interrogate_fails(percent, threshold) == bool(results.ret_code)


def test_nothing_counted_is_100_percent() -> None:
    assert percent_covered(0, 0) == 100.0
    assert not interrogate_fails(100.0, 100)
    # Unlike coverage.py, interrogate has no exact-100 rule: 99.99 rounds to 100.0 and passes.
    assert not interrogate_fails(99.99, 100)
    assert interrogate_fails(99.94, 100)


@pytest.mark.slow
def test_package_target_aggregates_like_interrogate_on_the_folder(project: Path) -> None:
    run = run_gate(project, PKG, file_target("pkg/__init__.py"))
    _, rows = interrogate_itself(project, "pkg")
    # interrogate's folder walk skips __init__.py (ignore-init-module): a.py 1/2 + b.py 2/2.
    assert rows["TOTAL"][:2] == (4, 3)
    assert counts(run, "pkg/") == (3, 4)
    assert run.results["pkg/"].display == "75%"
    assert "pkg/a.py:4 undocumented" in run.results["pkg/"].details
    assert any("pkg/__init__.py: not counted" in d for d in run.results["pkg/"].details)
    # Named explicitly, __init__.py is measured (ignore-init-module only affects folder walks).
    _, init_rows = interrogate_itself(project, "pkg/__init__.py")
    total, covered, _ = init_rows["TOTAL"]
    assert counts(run, "pkg/__init__.py") == (covered, total) == (0, 1)
    assert run.results["pkg/__init__.py"].status is GateStatus.FAIL


@pytest.mark.slow
def test_interrogate_args_override_the_config(project: Path) -> None:
    plain = run_gate(project, file_target("private.py"))
    ignored = run_gate(project, file_target("private.py"), interrogate_args=("-p",))
    assert counts(plain, "private.py") == (1, 2)
    assert counts(ignored, "private.py") == (1, 1)
    _, rows = interrogate_itself(project, "-p", "private.py")
    assert rows["TOTAL"][:2] == (1, 1)
    assert ignored.results["private.py"].status is GateStatus.PASS
    # -f changes interrogate's fail-under, which is the threshold without docstrings_min ...
    strict = run_gate(project, file_target("private.py"), interrogate_args=("-p", "-f", "99.5"))
    assert strict.results["private.py"].threshold == 99.5
    # ... but docstrings_min wins over it.
    explicit = run_gate(
        project, file_target("private.py"), interrogate_args=("-f", "99.5"), docstrings_min=40
    )
    assert explicit.results["private.py"].threshold == 40
    assert explicit.results["private.py"].status is GateStatus.PASS


@pytest.mark.slow
def test_default_threshold_is_80_without_config(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\n", "m.py": FILES["two_of_three.py"]})
    run = run_gate(tmp_path, file_target("m.py"))
    result = run.results["m.py"]
    # Without ignore-magic, __repr__ counts: 2 of 4.
    assert counts(run, "m.py") == (2, 4)
    assert result.threshold == 80.0
    assert result.status is GateStatus.FAIL
    assert result.reason == "50.0% < 80%"


@pytest.mark.slow
def test_empty_module_with_ignore_module_counts_nothing_and_is_not_a_pass(project: Path) -> None:
    # interrogate says 100% for 0 of 0; a gate over nothing says so and does not pass.
    run = run_gate(project, file_target("empty.py"), interrogate_args=("-M",))
    assert counts(run, "empty.py") == (0, 0)
    result = run.results["empty.py"]
    assert result.status is GateStatus.ERROR
    assert result.reason.startswith("0 names checked: ")


@pytest.mark.slow
def test_package_of_skipped_files_only_is_an_error(project: Path) -> None:
    only_init = Target(TargetKind.PACKAGE, "pkg/", ("pkg/__init__.py",))
    result = run_gate(project, only_init).results["pkg/"]
    assert result.status is GateStatus.ERROR
    assert "skips every file" in result.reason


@pytest.mark.slow
def test_unparsable_file_is_an_error_for_its_target_only(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": PYPROJECT, "bad.py": "def f(:\n", "ok.py": '"""Ok."""\n'})
    run = run_gate(tmp_path, file_target("bad.py"), file_target("ok.py"))
    assert run.results["bad.py"].status is GateStatus.ERROR
    assert "SyntaxError" in run.results["bad.py"].reason
    assert run.results["ok.py"].status is GateStatus.PASS


@pytest.mark.slow
def test_bad_interrogate_args_are_an_error(project: Path) -> None:
    run = run_gate(
        project, file_target("private.py"), file_target("pkg/a.py"), interrogate_args=("--bogus",)
    )
    for result in run.results.values():
        assert result.status is GateStatus.ERROR
        assert "No such option '--bogus'" in result.reason, result.reason


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("-g", "badge.svg"), "--generate-badge is not supported"),
        (("--help",), "--help/--version are not supported"),
        (("--version",), "--help/--version are not supported"),
        (("--style", "google", "-i"), "mutually exclusive"),
        (("-f", "lots"), "'lots' is not a valid float"),
    ],
)
def test_worker_refuses_bad_interrogate_args(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    reason: str,
) -> None:
    monkeypatch.chdir(project)
    assert worker.main([*args, "--", "private.py"]) == 2
    assert reason in json.loads(capsys.readouterr().out)["error"]
    assert not (project / "badge.svg").exists()


def test_double_dash_in_args_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"m.py": ""})
    result = run_gate(tmp_path, file_target("m.py"), interrogate_args=("--",)).results["m.py"]
    assert result.status is GateStatus.ERROR


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    result = run_gate(tmp_path, file_target("gone.py")).results["gone.py"]
    assert result.status is GateStatus.ERROR
    assert result.reason == "gone.py does not exist"


# --- the worker in-process (its JSON document and usage errors) ------------------------------


def test_worker_document(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project)
    assert worker.main(["--", "two_of_three.py", "pkg/__init__.py"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["config"] == str(project / "pyproject.toml")
    assert document["fail_under"] == 60.0
    assert document["files"]["two_of_three.py"] == {
        "walk_skipped": "",
        "error": "",
        "covered": 2,
        "total": 3,
        "missing": [[11, "area"]],
    }
    init = document["files"]["pkg/__init__.py"]
    assert init["walk_skipped"] == "ignore-init-module"
    assert init["missing"] == [[1, "(module docstring)"]]


def test_worker_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert worker.main(["two_of_three.py"]) == 2
    assert "usage" in json.loads(capsys.readouterr().out)["error"]
    assert worker.main(["--"]) == 2
    assert "no files" in json.loads(capsys.readouterr().out)["error"]


def test_worker_without_interrogate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "interrogate", None)
    assert worker.main(["--", "x.py"]) == 3
    document = json.loads(capsys.readouterr().out)
    assert document["missing"] is True


# --- ERROR paths with a missing or fake Python ------------------------------------------------


def fake_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    path = tmp_path / "bin" / "python"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"#!{sys.executable}\nimport json, os, subprocess, sys, time\n{body}\n")
    path.chmod(0o755)
    monkeypatch.setattr(docstrings_module, "python_executable", lambda: str(path))
    return path


@pytest.fixture
def small(tmp_path: Path) -> Path:
    write(tmp_path, {"a.py": "", "b.py": ""})
    return tmp_path


def all_error(run: GateRun, reason: str) -> None:
    assert set(run.results) == {"a.py", "b.py"}
    for result in run.results.values():
        assert result.status is GateStatus.ERROR
        assert reason in result.reason, result.reason
        assert result.hint


def run_small(root: Path, **settings: object) -> GateRun:
    return run_gate(root, file_target("a.py"), file_target("b.py"), **settings)


def test_python_missing(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docstrings_module, "python_executable", lambda: str(small / "nope"))
    all_error(run_small(small), "cannot run the interrogate worker")


def test_interrogate_not_installed(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_python(
        small,
        monkeypatch,
        'print(json.dumps({"error": "interrogate cannot be imported: '
        'No module named \'interrogate\'", "missing": True}))\nsys.exit(3)',
    )
    run = run_small(small)
    all_error(run, "interrogate is not installed")
    assert "pip install interrogate" in run.results["a.py"].hint


def test_worker_module_missing(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_python(
        small,
        monkeypatch,
        'print("python: No module named pytest_phase7", file=sys.stderr)\nsys.exit(1)',
    )
    all_error(run_small(small), "the interrogate worker cannot run")


def test_worker_crash_is_an_error(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_python(
        small,
        monkeypatch,
        'print("Traceback (most recent call last):\\n  ...\\n'
        'RuntimeError: boom", file=sys.stderr)\nsys.exit(1)',
    )
    all_error(run_small(small), "interrogate failed (exit 1): RuntimeError: boom")


@pytest.mark.parametrize(
    "stdout",
    [
        "not json at all",
        "[1, 2]",
        '{"version": "1", "fail_under": 80, "files": {}}',
        '{"version": "1", "fail_under": 80, "files": {"a.py": {"error": "", "walk_skipped": ""}, '
        '"b.py": {"error": "", "walk_skipped": ""}}}',
        '{"version": "1", "fail_under": "80", "files": {}}',
    ],
)
def test_garbage_output_is_an_error_not_a_pass(
    small: Path,
    monkeypatch: pytest.MonkeyPatch,
    stdout: str,
) -> None:
    fake_python(small, monkeypatch, f"print({stdout!r})")
    all_error(run_small(small), "could not parse interrogate's output")


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_timeout_kills_the_worker_and_its_children(
    small: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pids = small / "pids"
    fake_python(
        small,
        monkeypatch,
        f"""
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
time.sleep(60)
""",
    )
    # Timed out, not finished: the children sleep a minute, so alive until killed.
    all_error(run_small(small, timeout=1.0), "interrogate timed out after 1s")
    for pid in map(int, pids.read_text().split()):
        assert _wait_dead(pid), f"process {pid} survived the timeout"


def _wait_dead(pid: int) -> bool:
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return True  # dead, waiting for init to reap it
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_threshold_100_passes_99_95_as_interrogate_does(tmp_path: Path) -> None:
    from interrogate.config import InterrogateConfig
    from interrogate.coverage import InterrogateCoverage

    body = '"""m."""\n' + "".join(f'def f{i}():\n    """d."""\n' for i in range(1998))
    body += "def g():\n    pass\n"
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\n", "m.py": body})
    conf = InterrogateConfig(fail_under=100.0)
    own = InterrogateCoverage(paths=[str(tmp_path / "m.py")], conf=conf).get_coverage()
    result = run_gate(tmp_path, file_target("m.py"), docstrings_min=100.0).results["m.py"]
    assert (own.covered, own.total, own.ret_code) == (1999, 2000, 0)
    assert result.metric == own.perc_covered == 99.95
    assert result.status is GateStatus.PASS
    assert result.display == "100%"


@pytest.mark.slow
@pytest.mark.skipif(sys.version_info < (3, 11), reason="PYTHONSAFEPATH is new in Python 3.11")
def test_project_modules_do_not_shadow_the_workers_imports(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'x'\n",
            "click.py": (
                '"""Shadow."""\nraise RuntimeError("the project\'s click.py was imported")\n'
            ),
            "m.py": '"""M."""\n',
        },
    )
    result = run_gate(tmp_path, file_target("m.py")).results["m.py"]
    assert result.status is GateStatus.PASS, result.reason


@pytest.mark.slow
def test_a_whitelist_that_matches_no_name_checks_nothing_and_is_not_a_pass(tmp_path: Path) -> None:
    # interrogate itself says 100% (0 of 0) and passes; a gate over nothing must say so.
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.interrogate]\nwhitelist-regex = ["^zzz"]\n',
            "m.py": FILES["two_of_three.py"],
        },
    )
    code, _ = interrogate_itself(tmp_path, "m.py")
    assert code == 0  # interrogate passes it
    result = run_gate(tmp_path, file_target("m.py")).results["m.py"]
    assert result.status is GateStatus.ERROR
    assert result.reason == (
        "0 names checked: interrogate's configuration counts no name in m.py "
        "(whitelist-regex, ignore-* settings)"
    )
    assert result.hint


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config", "args", "where"),
    [
        (
            "[tool.interrogate]\nfail-under = 150\n",
            (),
            r"\[tool\.interrogate\] of \S*pyproject\.toml",
        ),
        ("", ("--fail-under", "-5"), "interrogate_args"),
    ],
)
def test_a_fail_under_that_is_no_percentage_is_an_error_naming_where(
    tmp_path: Path, config: str, args: tuple[str, ...], where: str
) -> None:
    # interrogate accepts fail-under = 150; a fully documented module would then "fail".
    write(tmp_path, {"pyproject.toml": config, "m.py": '"""Documented."""\n'})
    run = run_gate(tmp_path, file_target("m.py"), interrogate_args=args)
    result = run.results["m.py"]
    assert result.status is GateStatus.ERROR
    assert re.fullmatch(
        rf"interrogate fail-under = -?\d+ \({where}\) is not a percentage between 0 and 100",
        result.reason,
    ), result.reason
