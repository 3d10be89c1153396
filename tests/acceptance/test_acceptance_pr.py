"""The acceptance tier for the pull-request gate: ``--phase7-changed-since`` on real projects.

Each case makes a fresh checkout of a pinned project a git repository (committed as it is, on
``main``), then, on a branch, changes one of its plan's targets as a pull request would: an
existing tested line rewritten (two lines), a new function no test runs, and an import that
function never uses (ruff's F401). ``pytest --phase7 --phase7-changed-since=main`` then runs the
project's own suite, serial and with ``-n 2``, with every pull-request output on, and every figure
is compared with the tools run directly on the same data and diff:

* the ``New lines`` figure of each target with diff-cover's (``diff-cover coverage.xml
  --compare-branch=main``, on ``coverage xml`` of the run's own data file): changed statements,
  missed ones, the line percentage; with branch coverage on, the branches of the changed lines
  with ``coverage json``'s ``executed_branches`` and ``missing_branches``;
* the SARIF log validates against the official SARIF 2.1.0 schema and its ruff run holds exactly
  ruff's own findings for the target (``ruff check --output-format json --no-fix``);
* ``--phase7-diff-coverage-min=100`` blocks the merge (exit 1, said in the verdict), and
  ``--phase7-annotations=github`` prints an ``::error`` on an added line diff-cover says is not
  covered; the Code Quality report holds the ruff finding;
* every other figure (coverage, ruff, mypy, interrogate) still equals the tools' own, as in
  :mod:`test_acceptance`;
* ``phase7 gate`` with the same settings on the run's data file (how sharded CI gates a pull
  request) gives the same items, files outside the plan, verdict, annotations and SARIF results.

Marked ``acceptance`` (and ``slow``), like the rest of the tier. diff-cover runs from the Python
running the tier (a test extra): it reads only the XML report and git.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from gate_helpers import sarif_schema
from realprojects import (
    Case,
    Project,
    compare,
    fetch_sdist,
    file_digests,
    format_rows,
    junit_name,
    load_projects,
    make_checkout,
    project_venv,
    relative_key,
    run,
    run_env,
    run_phase7,
    tool_figures,
    venv_tool,
)

pytestmark = [
    pytest.mark.acceptance,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="the acceptance tier runs on POSIX"),
]


@dataclass(frozen=True)
class PullRequest:
    """What the branch changes in one target of a project's plan."""

    target: str
    #: An existing line the suite runs, and what the branch makes of it (same behaviour).
    old: str
    new: str
    #: Appended to the target: a function no test calls, importing what it does not use.
    added: str
    #: New files of the pull request (a test, say): changed files outside the plan.
    new_files: tuple[tuple[str, str], ...] = ()


_TYPED_SHOUT = '''

def shout(message: str, times: int = 1) -> str:
    """Return ``message`` in capitals, ``times`` times over."""
    import os

    if times < 1:
        raise ValueError("times must be at least 1")
    return message.upper() * times
'''

_PICK = '''

def pick(d, *keys):
    """A new dict with only the ``keys`` of ``d`` that it has."""
    import os

    if not keys:
        return {}
    return {k: d[k] for k in keys if k in d}
'''

PULL_REQUESTS = {
    # src layout, coverage branch = true: the branch figure of the new lines is checked too.
    "click": PullRequest(
        target="src/click/utils.py",
        old='            return value.decode("utf-8", "replace")\n    return str(value)\n',
        new='            return value.decode("utf-8", "replace")\n'
        "    text = str(value)\n    return text\n",
        added=_TYPED_SHOUT,
    ),
    # Flat layout with the tests inside the package, coverage omit of those tests.
    "toolz": PullRequest(
        target="toolz/dicttoolz.py",
        old="    rv = factory()\n    for d in dicts:\n        rv.update(d)\n    return rv\n",
        new="    merged = factory()\n    for d in dicts:\n        merged.update(d)\n"
        "    return merged\n",
        added=_PICK,
        # A new test, in a file coverage's [run] omit leaves out: not measured, so not gated.
        new_files=(
            (
                "toolz/tests/test_merged.py",
                "from toolz import merge\n\n\n"
                "def test_the_last_dict_wins():\n"
                "    assert merge({1: 1}, {1: 2}) == {1: 2}\n",
            ),
        ),
    ),
    # Flat layout with no pytest or coverage configuration at all.
    "idna": PullRequest(
        target="idna/intranges.py",
        old="    return (start << 32) | end\n",
        new="    shifted = start << 32\n    return shifted | end\n",
        added=_TYPED_SHOUT,
    ),
    # .coveragerc with relative_files, parallel, [paths], --cov-context=test; a package target
    # (the folder aiosignal/) and a new test file, measured (source = .) but in no plan item.
    "aiosignal": PullRequest(
        target="aiosignal/__init__.py",
        old="        self._owner = owner\n",
        new="        kept = owner\n        self._owner = kept\n",
        added=_TYPED_SHOUT,
        new_files=(
            (
                "tests/test_owner.py",
                "from aiosignal import Signal\n\n\n"
                "def test_the_owner_is_kept() -> None:\n"
                "    owner = object()\n"
                "    assert Signal(owner)._owner is owner\n",
            ),
        ),
    ),
    # setup.cfg, the project's own --cov=async_lru --cov=tests/ and reports in addopts; pytest 8.4.
    "async-lru": PullRequest(
        target="async_lru/__init__.py",
        old="        return key in self.__cache\n",
        new="        found = key in self.__cache\n        return found\n",
        added=_TYPED_SHOUT,
    ),
}

PROJECTS = [p for p in load_projects() if p.name in PULL_REQUESTS]


#: Projects also run as one folder of a larger repository (the git root above the rootdir).
IN_A_SUBFOLDER = frozenset({"idna"})


def _cases() -> list[object]:
    cases = [
        pytest.param(project, case, False, id=f"{project.name}-{case.id}")
        for project in PROJECTS
        for case in project.cases
        if case.id in {"serial", "xdist"}
    ]
    cases += [
        pytest.param(project, Case("subfolder", ()), True, id=f"{project.name}-subfolder")
        for project in PROJECTS
        if project.name in IN_A_SUBFOLDER
    ]
    return cases


def git(root: Path, *args: str) -> str:
    """Run git in the checkout, whatever the user's git configuration says of identity."""
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.email=acceptance@example.com",
            "-c",
            "user.name=acceptance",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def open_pull_request(repo: Path, root: Path, change: PullRequest) -> None:
    """``repo`` (holding the checkout ``root``) committed on ``main``, and a branch ``feature``
    with the change committed."""
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the project as released")
    git(repo, "checkout", "-q", "-b", "feature")
    path = root / change.target
    text = path.read_text(encoding="utf-8")
    assert text.count(change.old) == 1, f"{change.target}: the line to change is not there once"
    text = text.replace(change.old, change.new)
    if not text.endswith("\n"):
        text += "\n"
    path.write_text(text + change.added, encoding="utf-8")
    for name, content in change.new_files:
        (root / name).write_text(content, encoding="utf-8")
        git(root, "add", name)
    git(repo, "commit", "-q", "-am", "a pull request: an untested function, a line rewritten")


def diff_cover(venv: Path, root: Path, env: dict[str, str], out: Path) -> dict[str, Any]:
    """diff-cover's own report of the run's data (``coverage xml``) and the branch's diff."""
    xml = out / "coverage.xml"
    done = run([venv_tool(venv, "coverage"), "xml", "-q", "-o", str(xml)], cwd=root, env=env)
    assert done.returncode in (0, 2), done.describe()  # 2: the project's fail_under
    report = out / "diff-cover.json"
    done = run(
        [
            sys.executable,
            "-m",
            "diff_cover.diff_cover_tool",
            str(xml),
            "--compare-branch=main",
            "--total-percent-float",
            "--format",
            f"json:{report}",
        ],
        cwd=root,
        env=env,
    )
    assert done.returncode == 0, done.describe()
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return data


def ruff_findings(venv: Path, root: Path, env: dict[str, str], target: str) -> set[tuple[Any, ...]]:
    """(code, line, column, end line, end column) of ruff's own findings in ``target``."""
    done = run(
        [venv_tool(venv, "ruff"), "check", "--output-format", "json", "--no-fix", "--", target],
        cwd=root,
        env=env,
    )
    assert done.returncode in (0, 1), done.describe()
    return {
        (
            r["code"],
            r["location"]["row"],
            r["location"]["column"],
            r["end_location"]["row"],
            r["end_location"]["column"],
        )
        for r in json.loads(done.stdout)
    }


def sarif_ruff_findings(log: dict[str, Any], target: str) -> set[tuple[Any, ...]]:
    """The ruff run's results in ``target``, as :func:`ruff_findings` writes them."""
    found = set()
    for tool_run in log["runs"]:
        if tool_run["tool"]["driver"]["name"] != "ruff":
            continue
        for result in tool_run["results"]:
            location = result["locations"][0]["physicalLocation"]
            if location["artifactLocation"]["uri"] != target:
                continue
            region = location["region"]
            found.add(
                (
                    result["ruleId"],
                    region["startLine"],
                    region.get("startColumn"),
                    region.get("endLine", region["startLine"]),
                    region.get("endColumn"),
                )
            )
    return found


def branch_figures(root: Path, coverage_json: Path, file: str, lines: set[int]) -> tuple[int, int]:
    """(branches, missing branches) leaving ``lines`` of ``file``, from ``coverage json``."""
    files = json.loads(coverage_json.read_text(encoding="utf-8"))["files"]
    entry = next(v for k, v in files.items() if relative_key(root, k) == file)
    taken = [arc for arc in entry.get("executed_branches", []) if arc[0] in lines]
    missed = [arc for arc in entry.get("missing_branches", []) if arc[0] in lines]
    return len(taken) + len(missed), len(missed)


def new_lines_results(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The new-lines result of every target and changed file outside the plan with new lines."""
    results = {}
    for item in report["items"]:
        ref = (item.get("target") or {}).get("ref")
        found = [r for r in item["results"] if r["gate"] == "new_lines"]
        if ref and found and found[0]["extra"].get("statements"):
            results[ref] = found[0]
    for entry in report.get("outside_plan", ()):
        if entry["result"]["extra"].get("statements"):
            results[entry["path"]] = entry["result"]
    return results


def in_unit(file: str, ref: str) -> bool:
    """Whether ``file`` is (in) the target or changed file ``ref``."""
    return file == ref or (ref.endswith("/") and file.startswith(ref))


@dataclass(frozen=True)
class NewLinesRow:
    """One new-lines figure compared."""

    ref: str
    figure: str
    phase7: object
    tool: object

    @property
    def equal(self) -> bool:
        """Whether they agree."""
        return bool(self.phase7 == self.tool)


def compare_new_lines(
    report: dict[str, Any],
    theirs: dict[str, Any],
    root: Path,
    coverage_json: Path,
    branch: bool,
) -> list[NewLinesRow]:
    """Each target's and outside file's New lines figures against diff-cover's (and coverage's)."""
    ours = new_lines_results(report)
    stats = {
        name: s
        for name, s in theirs["src_stats"].items()
        if s["covered_lines"] or s["violation_lines"]
    }
    rows = [
        NewLinesRow(
            "*",
            "files",
            sorted(ours),
            sorted({next((ref for ref in ours if in_unit(name, ref)), name) for name in stats}),
        )
    ]
    for ref, result in sorted(ours.items()):
        files = {name: s for name, s in stats.items() if in_unit(name, ref)}
        covered = sum(len(s["covered_lines"]) for s in files.values())
        missing = sum(len(s["violation_lines"]) for s in files.values())
        statements = covered + missing
        extra = result["extra"]
        rows += [
            NewLinesRow(ref, "statements", extra["statements"], float(statements)),
            NewLinesRow(ref, "missing", extra["missing"], float(missing)),
            NewLinesRow(
                ref,
                "line_percent",
                extra["line_percent"],
                pytest.approx(100 * covered / statements),
            ),
        ]
        branches = missed = 0
        if branch:
            # diff-cover counts lines only; coverage.py's own branch lists give the branches.
            for name, s in files.items():
                lines = set(s["covered_lines"]) | set(s["violation_lines"])
                counted, not_taken = branch_figures(root, coverage_json, name, lines)
                branches, missed = branches + counted, missed + not_taken
            rows += [
                NewLinesRow(ref, "branches", extra.get("branches", 0.0), float(branches)),
                NewLinesRow(
                    ref, "missing_branches", extra.get("missing_branches", 0.0), float(missed)
                ),
            ]
        percent = 100 * (covered + branches - missed) / (statements + branches)
        rows.append(NewLinesRow(ref, "percent", result["metric"], pytest.approx(percent)))
        rows.append(
            NewLinesRow(ref, "status", result["status"], "PASS" if percent == 100 else "FAIL")
        )
    if not branch:
        # diff-cover's own total, rounded to two places (--total-percent-float).
        total = sum(r["metric"] * r["extra"]["statements"] for r in ours.values())
        total /= sum(r["extra"]["statements"] for r in ours.values())
        rows.append(NewLinesRow("*", "total", round(total, 2), theirs["total_percent_covered"]))
    return rows


def format_new_lines(rows: list[NewLinesRow]) -> str:
    """The new-lines comparison as a table, mismatches marked."""
    return "\n".join(
        f"{row.ref:34} {'new_lines':10} {row.figure:16} {row.phase7!s:>22} {row.tool!s:>22}"
        + ("" if row.equal else "   <-- differs")
        for row in rows
    )


def without_run_details(document: Any) -> Any:
    """A report part without what differs between two runs on the same data (timings)."""
    if isinstance(document, dict):
        return {k: without_run_details(v) for k, v in document.items() if k != "seconds"}
    if isinstance(document, list):
        return [without_run_details(v) for v in document]
    return document


@pytest.mark.parametrize(("project", "case", "subfolder"), _cases())
def test_pull_request_figures_equal_the_tools(
    project: Project, case: Case, subfolder: bool, tmp_path: Path
) -> None:
    change = PULL_REQUESTS[project.name]
    venv = project_venv(project)
    root = make_checkout(project, fetch_sdist(project), tmp_path / "checkout")
    # In a subfolder, what GitHub, code scanning and GitLab read is relative to the repository's
    # root: the rootdir's folder, then the rootdir-relative path phase7's own reports use.
    repo = root.parent if subfolder else root
    prefix = f"{root.name}/" if subfolder else ""
    open_pull_request(repo, root, change)
    before = file_digests(root)
    out = tmp_path / "out"
    out.mkdir()
    sarif_path, quality_path = out / "phase7.sarif", out / "codequality.json"
    result = run_phase7(
        venv,
        project,
        root,
        out,
        [
            *case.args,
            "--phase7-changed-since=main",
            "--phase7-diff-coverage-min=100",
            "--phase7-annotations=github",
            f"--phase7-sarif={sarif_path}",
            f"--phase7-codeclimate={quality_path}",
        ],
    )
    output = result.completed.stdout
    describe = result.completed.describe()
    report = result.report
    assert report is not None, "no --phase7-json report was written\n" + describe
    assert "INTERNALERROR" not in output, describe
    allowed = {junit_name(nodeid) for nodeid in project.may_fail}
    assert not set(result.failures) - allowed, describe

    # The minimum of 100% blocks the merge: the new function runs in no test.
    assert result.completed.returncode == 1, describe
    assert report["verdict"]["blocked"], describe
    assert "new lines below 100% covered in 1 file" in report["verdict"]["summary"], describe

    # Every figure equals the tools' own: the New lines figures diff-cover's for the same data
    # and diff, the others as the tier compares them, on the changed checkout.
    env = run_env(venv, project, root)
    theirs = diff_cover(venv, root, env, out)
    # diff-cover names files relative to the repository's root.
    assert all(name.startswith(prefix) for name in theirs["src_stats"]), theirs
    theirs["src_stats"] = {
        name.removeprefix(prefix): stats for name, stats in theirs["src_stats"].items()
    }
    refs = sorted(
        {i["target"]["ref"] for i in report["items"] if i["target"]["state"] == "resolved"}
    )
    figures = tool_figures(venv, project, root, out, refs)
    compared = compare(report, figures, root)
    rows = compare_new_lines(report, theirs, root, out / "coverage.json", figures.branch)
    table = format_new_lines(rows) + "\n" + format_rows(compared)
    print(table)  # shown with -rP: the figures compared
    assert all(row.equal for row in rows), table
    assert all(row.equal for row in compared), table
    assert any(in_unit(change.target, ref) for ref in new_lines_results(report)), table
    # A changed file coverage does not measure (omitted, outside its source) has no figure and
    # is no pass: SKIP, saying why.
    measured = new_lines_results(report)
    unmeasured = [e for e in report["outside_plan"] if e["path"] not in measured]
    for entry in unmeasured:
        assert entry["result"]["status"] == "SKIP", entry
        assert "not measured by coverage" in entry["result"]["reason"], entry
    new_unmeasured = {name for name, _ in change.new_files if name not in theirs["src_stats"]}
    assert new_unmeasured <= {e["path"] for e in unmeasured}, report["outside_plan"]
    violations = {name: set(s["violation_lines"]) for name, s in theirs["src_stats"].items()}

    # An ::error annotation on each added line no test runs (within GitHub's 10 per level).
    errors = [line for line in output.splitlines() if line.startswith("::error ")]
    uncovered = [line for line in errors if "title=coverage uncovered-line" in line]
    assert uncovered, describe
    for line in uncovered:
        file, first = re.search(r"file=([^,]+),line=(\d+)", line).groups()  # type: ignore[union-attr]
        assert file.startswith(prefix), line
        assert int(first) in violations.get(file.removeprefix(prefix), ()), (line, violations)

    # The SARIF log validates and holds ruff's own findings for the target, no more, no less.
    log = json.loads(sarif_path.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    direct = ruff_findings(venv, root, env, change.target)
    assert any(code == "F401" for code, *_ in direct), direct
    assert {r["originalUriBaseIds"]["SRCROOT"]["uri"] for r in log["runs"]} == {
        repo.resolve().as_uri() + "/"
    }
    assert sarif_ruff_findings(log, prefix + change.target) == direct
    f401_line = next(line for code, line, *_ in direct if code == "F401")
    assert any(
        f"file={prefix}{change.target},line={f401_line}," in line and "title=ruff F401" in line
        for line in errors
    ), describe

    # The Code Quality report has it too, where GitLab looks for it.
    issues = json.loads(quality_path.read_text(encoding="utf-8"))
    assert any(
        i["check_name"] == "ruff/F401"
        and i["location"]["path"] == prefix + change.target
        and i["location"]["lines"]["begin"] == f401_line
        for i in issues
    ), issues

    # phase7 gate on the same data file and diff (the sharded-CI path) says what pytest said.
    gate_json, gate_sarif = out / "gate.json", out / "gate.sarif"
    gated = run(
        [
            venv_tool(venv, "phase7"),
            "gate",
            "--no-cache",
            "--changed-since=main",
            "--diff-coverage-min=100",
            "--annotations=github",
            f"--json={gate_json}",
            f"--sarif={gate_sarif}",
        ],
        cwd=root,
        env=env,
    )
    assert gated.returncode == 1, gated.describe()
    from_gate = json.loads(gate_json.read_text(encoding="utf-8"))
    for key in ("items", "outside_plan", "verdict"):
        assert without_run_details(from_gate[key]) == without_run_details(report[key]), key
    assert [line for line in gated.stdout.splitlines() if line.startswith("::error ")] == errors
    gate_log = json.loads(gate_sarif.read_text(encoding="utf-8"))
    assert [r["results"] for r in gate_log["runs"]] == [r["results"] for r in log["runs"]]

    # Nothing of the project changed (git's own files aside), and no uncombined data is left.
    after = file_digests(root)
    changed = sorted(
        k
        for k in before.keys() | after.keys()
        if before.get(k) != after.get(k) and not k.startswith(".git/")
    )
    assert not changed, changed
    assert not sorted(p.name for p in root.glob(".coverage.*"))
