"""The drop-in merge gates: the YAML parses, and their shell steps really run.

The GitHub action's ``run:`` steps are executed with bash as the runner would (``bash --noprofile
--norc -eo pipefail``), in a temporary git repository holding a tiny project, with the GitHub
environment (``GITHUB_STEP_SUMMARY``, ``GITHUB_OUTPUT``, ...) pointing at temporary files and the
action's ``${{ }}`` expressions evaluated by a small evaluator below. ``gh`` is replaced by a
recording fake, or left out to check that the comment step skips cleanly.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from pytest_phase7 import __version__
from pytest_phase7.report_json import schema
from pytest_phase7.report_md import MARKER

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "gates" / "github" / "action.yml"
GITLAB = ROOT / "gates" / "gitlab" / "phase7.gitlab-ci.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
BASH = shutil.which("bash") or "/bin/bash"
VENV_BIN = Path(sys.executable).parent

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- a small evaluator for the action's expressions ----------------------------------------


def lookup(name: str, context: Mapping[str, Any]) -> Any:
    value: Any = context
    for part in name.split("."):
        value = value.get(part, "") if isinstance(value, Mapping) else ""
    return value


def substitute(text: str, context: Mapping[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        expression = match.group(1)
        if not re.fullmatch(r"[a-z_]+(\.[A-Za-z0-9_-]+)+", expression):
            raise AssertionError(f"unsupported expression {expression!r}")
        return str(lookup(expression, context))

    return EXPRESSION.sub(one, text)


def condition(text: str | None, context: Mapping[str, Any], failed: bool) -> bool:
    """``if:`` of the forms the action uses: always(), inputs.x == 'v', &&, ||, parentheses."""
    if text is None:
        return not failed
    python = text.replace("always()", "True").replace("&&", " and ").replace("||", " or ")

    def compare(match: re.Match[str]) -> str:
        equal = lookup(match.group(1), context) == match.group(3)
        return str(equal if match.group(2) == "==" else not equal)

    python = re.sub(r"([a-z]+(?:\.[A-Za-z0-9_-]+)+)\s*(==|!=)\s*'([^']*)'", compare, python)
    assert re.fullmatch(r"[\sTrueFalsandor()]*", python), f"unsupported condition {text!r}"
    # Only True, False, and, or and parentheses are left: safe to evaluate.
    return bool(eval(python, {"__builtins__": {}}))


class Action:
    """The composite action, run step by step."""

    def __init__(self, inputs: Mapping[str, str], github: Mapping[str, Any]) -> None:
        self.spec = load(ACTION)
        context: dict[str, Any] = {"github": {"action_path": str(ACTION.parent), **github}}
        defaults = {
            name: substitute(str(spec.get("default", "")), context)
            for name, spec in self.spec["inputs"].items()
        }
        unknown = set(inputs) - set(defaults)
        assert not unknown, f"not inputs of the action: {unknown}"
        context["inputs"] = {**defaults, **inputs}
        self.context = context
        self.skipped_uses: list[dict[str, Any]] = []

    def steps(self) -> list[dict[str, Any]]:
        return list(self.spec["runs"]["steps"])

    def run(
        self, env: Mapping[str, str], cwd: Path, only: str | None = None
    ) -> list[tuple[str, subprocess.CompletedProcess[str]]]:
        failed = False
        ran = []
        for step in self.steps():
            if only is not None and step["name"] != only:
                continue
            if not condition(step.get("if"), self.context, failed):
                continue
            if "uses" in step:
                self.skipped_uses.append(step)
                continue
            script = cwd.parent / "step.sh"
            script.write_text(step["run"], encoding="utf-8")
            step_env = {k: substitute(str(v), self.context) for k, v in step["env"].items()}
            folder = cwd / substitute(step.get("working-directory", "."), self.context)
            proc = subprocess.run(
                [BASH, "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=folder,
                env={**env, **step_env},
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            ran.append((step["name"], proc))
            failed = failed or proc.returncode != 0
        return ran


# --- structure -----------------------------------------------------------------------------


def test_action_is_a_composite_whose_scripts_never_interpolate_expressions():
    spec = load(ACTION)
    assert spec["runs"]["using"] == "composite"
    steps = spec["runs"]["steps"]
    scripts = [step for step in steps if "run" in step]
    assert len(scripts) == 3
    for step in scripts:
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], step["name"]  # expressions only via env:
    uses = [step["uses"] for step in steps if "uses" in step]
    assert uses == [
        "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
        "github/codeql-action/upload-sarif@8aad20d150bbac5944a9f9d289da16a4b0d87c1e",
    ]
    for name, spec_ in spec["outputs"].items():
        assert spec_["value"] == f"${{{{ steps.gate.outputs.{name} }}}}", name
    assert set(spec["inputs"]) >= {"pytest-args", "comment", "mode", "pr-number", "github-token"}


#: ``uses: owner/repo@<full commit SHA> # vX.Y.Z``: a tag can be moved, a commit cannot.
PINNED = re.compile(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


@pytest.mark.parametrize("path", [ACTION, ROOT / "gates" / "README.md"], ids=lambda p: p.name)
def test_third_party_actions_are_pinned_by_commit_with_their_version(path: Path):
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    uses = [line.removeprefix("- ") for line in lines if re.match(r"(- )?uses: ", line)]
    third_party = [line for line in uses if "/pytest-phase7/" not in line]
    assert third_party
    assert [line for line in third_party if not PINNED.match(line)] == []


def test_gitlab_template_and_pre_commit_hooks_parse():
    job = load(GITLAB)[".phase7"]
    # An exact Python release and Debian release (or a digest), never a moving tag like 3.12.
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-[a-z]+(@sha256:[0-9a-f]{64})?", job["image"])
    assert job["variables"]["PHASE7_PACKAGE"] == f"pytest-phase7=={__version__}"
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["paths"] == ["phase7-report.md", "phase7-report.json"]
    report = job["artifacts"]["reports"]["codequality"]
    assert any(f"--phase7-codeclimate={report}" in line for line in job["script"])
    assert any("pytest --phase7" in line for line in job["script"])
    (hook,) = load(HOOKS)
    assert hook["id"] == "phase7-validate"
    assert hook["entry"] == "phase7 validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    # pre-commit runs `pip install . --no-deps <tomli>`: the package alone, and what `validate`
    # needs beyond the standard library (test_validate_imports_only_the_standard_library).
    tomli = [dep for dep in project_dependencies() if dep.startswith("tomli")]
    assert hook["additional_dependencies"] == ["--no-deps", *tomli]
    files = re.compile(hook["files"])
    assert files.search("PHASE7_EXECUTION_PLAN.md")
    assert files.search("docs/phase7.toml")
    assert files.search("src/pkg/mod.py")
    assert not files.search("README.md")


def project_dependencies() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return list(tomllib.load(handle)["project"]["dependencies"])


#: Runs ``phase7 validate`` (its argv after the script name) as the hook's environment would:
#: the package from the checkout, the standard library, tomli before 3.11, and no site-packages
#: (``-S``), so an import of anything else fails; prints the non-standard modules it imported.
VALIDATE_PROBE = """
import json, sys
root, extra, *argv = sys.argv[1:]
sys.path[:0] = [root] + ([extra] if extra else [])
from pytest_phase7.cli import main
try:
    code = main(argv)
except SystemExit as exc:
    code = exc.code
found = {name.partition(".")[0] for name in sys.modules} - set(sys.stdlib_module_names)
print(json.dumps({"code": code, "modules": sorted(found - {"__main__"})}))
"""


def validate_in_hook_environment(cwd: Path, *argv: str) -> dict[str, Any]:
    extra = ""
    if sys.version_info < (3, 11):
        import tomli

        extra = str(Path(tomli.__file__).parents[1])
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", VALIDATE_PROBE, str(ROOT), extra, *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dict(json.loads(proc.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "argv",
    [["validate"], ["validate", "--help"], ["validate", "phase7.toml"]],
    ids=["markdown plan", "help", "toml manifest"],
)
def test_validate_imports_only_the_standard_library(tmp_path: Path, argv: list[str]):
    project = tmp_path / "tta"
    shutil.copytree(ROOT / "examples" / "tta", project)
    (project / "phase7.toml").write_text(
        '[[batches]]\nnumber = 1\ntitle = "Unit Tests"\nitem_range = "1-1"\n\n'
        '[[batches.items]]\nnumber = 1\npath = "src/tta/utils/validators.py"\n',
        encoding="utf-8",
    )
    result = validate_in_hook_environment(project, *argv)
    assert result["code"] == 0
    light = {"pytest_phase7"} | ({"tomli"} if sys.version_info < (3, 11) else set())
    # --help parses no TOML, so it need not import tomli on 3.10.
    assert "pytest_phase7" in result["modules"]
    assert set(result["modules"]) <= light


def test_warning_classes_still_are_pytest_warnings():
    # errors.py defines them on first use, so that importing it does not import pytest.
    from pytest_phase7 import errors
    from pytest_phase7.errors import ManifestWarning, Phase7Warning

    assert issubclass(ManifestWarning, Phase7Warning)
    assert issubclass(Phase7Warning, pytest.PytestWarning)
    assert errors.ManifestWarning is ManifestWarning
    assert ManifestWarning.__qualname__ == "ManifestWarning"
    assert ManifestWarning.__module__ == "pytest_phase7.errors"
    with pytest.raises(AttributeError, match="has no attribute 'Nothing'"):
        errors.Nothing  # noqa: B018


def test_pre_commit_hook_entry_validates_the_example():
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        shlex.split(load(HOOKS)[0]["entry"]),
        cwd=ROOT / "examples" / "tta",
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 errors, 0 warnings" in proc.stdout


# --- running the GitHub action locally -----------------------------------------------------

PLAN = """# Plan

### Batch 1: Unit Tests (Critical)
**Items:** 1-2

| # | Module | File | Complexity | Est. Time | Status |
|---|--------|------|-----------|-----------|--------|
| 1 | Core | good.py | Simple | 1h | QUEUED |
| 2 | Core | half.py | Simple | 1h | QUEUED |
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a tiny project gated by pytest-phase7."""
    root = tmp_path / "repo"
    (root / "src" / "core").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\npythonpath = ["src"]\n\n[tool.phase7]\nmanifest = "PLAN.md"\n',
        encoding="utf-8",
    )
    (root / "PLAN.md").write_text(PLAN, encoding="utf-8")
    (root / "src" / "core" / "__init__.py").write_text("")
    (root / "src" / "core" / "good.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "src" / "core" / "half.py").write_text(
        "def sign(x):\n    if x > 0:\n        return '+'\n    return '-'\n\n\n"
        "def unused():\n    a = 1\n    b = 2\n    return a + b\n"
    )
    (root / "test_core.py").write_text(
        "from core.good import add\nfrom core.half import sign\n\n\n"
        "def test_add():\n    assert add(1, 2) == 3\n\n\ndef test_sign():\n    sign(1)\n"
    )
    for argv in (
        ["git", "init", "-q"],
        ["git", "add", "."],
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "init"],
    ):
        subprocess.run(argv, cwd=root, check=True, capture_output=True)
    return root


def runner_env(tmp_path: Path, tools: Path) -> dict[str, str]:
    summary = tmp_path / "summary.md"
    summary.write_text("## Earlier step\n", encoding="utf-8")
    (tmp_path / "output").write_text("", encoding="utf-8")
    return {
        "HOME": str(tmp_path),
        "PATH": f"{tools}{os.pathsep}{VENV_BIN}",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_REPOSITORY": "acme/widgets",
        "GITHUB_ACTION_PATH": str(ACTION.parent),
        "GITHUB_WORKSPACE": str(tmp_path / "repo"),
        "RUNNER_TEMP": str(tmp_path),
        "PYTEST_ADDOPTS": "-p no:hypothesispytest",
    }


def tools_dir(tmp_path: Path, *names: str) -> Path:
    """A folder of the few external commands the steps may use (and nothing else, so no gh)."""
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    for name in names:
        found = shutil.which(name)
        assert found is not None, name
        target = tools / name
        if not target.exists():
            target.symlink_to(found)
    return tools


def outputs(tmp_path: Path) -> dict[str, str]:
    """What the steps wrote to ``$GITHUB_OUTPUT`` (``key=value`` lines, each key once)."""
    lines = (tmp_path / "output").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1) for line in lines]
    assert len({key for key, _ in pairs}) == len(pairs), lines
    return dict(pairs)


PULL_REQUEST = {
    "event": {"pull_request": {"number": 7, "head": {"repo": {"full_name": "acme/widgets"}}}},
    "token": "t0ken",
}


@pytest.mark.slow
def test_action_runs_the_gate_and_appends_the_step_summary(tmp_path: Path, repo: Path):
    env = runner_env(tmp_path, tools_dir(tmp_path, "rm"))
    action = Action(
        {
            "install": "false",
            "pytest-args": "--phase7-gates=coverage -p no:cacheprovider",
            "comment": "true",
        },
        PULL_REQUEST,
    )
    ran = dict(action.run(env, repo))
    gate = ran["Run pytest --phase7"]
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "Phase 7 status" in gate.stdout
    assert outputs(tmp_path) == {
        "exit-code": "0",
        "verdict": "ok",
        "summary": "phase7: OK (fail-on=regression): 1 DONE, 1 IN PROGRESS",
        "items": "2",
        "done": "1",
        "in-progress": "1",
        "queued": "0",
        "failed": "0",
        "tests-failed": "0",
        "findings": "0",
        "new-lines": "",
        "new-lines-percent": "",
        "json-report": str(repo / "phase7-report.json"),
        "md-report": str(repo / "phase7-report.md"),
        "sarif-report": "",
    }
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    md = (repo / "phase7-report.md").read_text(encoding="utf-8")
    assert summary == "## Earlier step\n\n" + md
    assert md.startswith(MARKER + "\n## Phase 7 status: Plan\n")
    assert (
        "| 1 | Core | good.py | Simple | 1h | \u2705 100% | \u2705 DONE (plan: \u23f3 QUEUED) |"
        in md
    )
    jsonschema.validate(json.loads((repo / "phase7-report.json").read_text()), schema())
    assert (repo / "phase7-pr.txt").read_text() == "7\n"
    # The artifact step (a `uses:` step, not run here) uploads exactly the files written.
    (upload,) = action.skipped_uses
    paths = substitute(upload["with"]["path"], action.context).split()
    assert all((repo / path).is_file() for path in paths), paths
    comment = ran["Update the sticky PR comment"]
    assert comment.returncode == 0
    assert comment.stdout == "phase7: gh (the GitHub CLI) is not installed: no comment\n"


@pytest.mark.slow
def test_action_writes_the_sarif_and_counts_the_findings_when_asked(tmp_path: Path, repo: Path):
    env = runner_env(tmp_path, tools_dir(tmp_path, "rm"))
    action = Action(
        {
            "install": "false",
            "pytest-args": "--phase7-gates=coverage,docstrings -p no:cacheprovider",
            "sarif": "true",
        },
        PULL_REQUEST,
    )
    ran = dict(action.run(env, repo))
    gate = ran["Run pytest --phase7"]
    found = outputs(tmp_path)
    assert found["sarif-report"] == str(repo / "phase7.sarif"), gate.stdout + gate.stderr
    log = json.loads((repo / "phase7.sarif").read_text(encoding="utf-8"))
    assert log["version"] == "2.1.0"
    results = sum(len(run["results"]) for run in log["runs"])
    assert found["findings"] == str(results)
    assert found["new-lines"] == ""  # not a pull-request run (no --phase7-changed-since)
    spec = load(ACTION)
    upload = next(s for s in spec["runs"]["steps"] if "upload-sarif" in s.get("uses", ""))
    assert "inputs.sarif == 'true'" in upload["if"]
    assert upload["with"]["sarif_file"] == "${{ steps.gate.outputs.sarif-report }}"
    bad = Action({"install": "false", "sarif": "yes"}, PULL_REQUEST)
    refused = dict(bad.run(env, repo))["Run pytest --phase7"]
    assert refused.returncode == 2
    assert "phase7: sarif must be true or false, got 'yes'" in refused.stderr


@pytest.mark.slow
def test_action_fails_with_pytests_status_and_still_reports(tmp_path: Path, repo: Path):
    env = runner_env(tmp_path, tools_dir(tmp_path, "rm"))
    action = Action(
        {
            "install": "false",
            "pytest-args": "--phase7-gates=coverage -p no:cacheprovider "
            "--phase7-fail-on=incomplete",
            "comment": "true",
        },
        PULL_REQUEST,
    )
    ran = action.run(env, repo)
    names = [name for name, _ in ran]
    assert names == ["Run pytest --phase7", "Update the sticky PR comment"]  # always() ran it
    assert ran[0][1].returncode == 1
    out = outputs(tmp_path)
    assert (out["exit-code"], out["verdict"], out["done"], out["in-progress"]) == (
        "1",
        "blocked",
        "1",
        "1",
    )
    assert out["summary"] == "phase7: merge BLOCKED (fail-on=incomplete): 1 item is not DONE (#2)"
    assert "\u274c **Merge blocked** (fail-on=incomplete)" in (tmp_path / "summary.md").read_text()


@pytest.mark.slow
def test_action_says_so_in_the_summary_when_pytest_cannot_start(tmp_path: Path, repo: Path):
    env = runner_env(tmp_path, tools_dir(tmp_path, "rm"))
    action = Action(
        {"install": "false", "pytest-args": "--phase7-coverage-min=150 -p no:cacheprovider"},
        PULL_REQUEST,
    )
    ((_, gate),) = action.run(env, repo)
    assert gate.returncode == 4  # pytest's usage error
    out = outputs(tmp_path)
    assert (out["exit-code"], out["verdict"], out["json-report"], out["md-report"]) == (
        "4",
        "error",
        "",
        "",
    )
    assert out["done"] == out["summary"] == ""
    assert (tmp_path / "summary.md").read_text(encoding="utf-8") == (
        "## Earlier step\n### Phase 7\n\n\u274c pytest --phase7 exited with status 4 before "
        "writing its report; see the job log.\n"
    )


#: ``gh api`` as far as the comment step uses it, against comments given as JSON. ``--jq`` runs
#: the step's real filter (jq's own implementation, as gh's gojq would). ``api user`` answers
#: FAKE_GH_LOGIN, or fails with 403 as it does for the workflow's GITHUB_TOKEN when that is empty.
@pytest.mark.slow
def test_action_step_summary_false_leaves_the_job_summary_alone(tmp_path: Path, repo: Path):
    env = runner_env(tmp_path, tools_dir(tmp_path, "rm"))
    for args in ("--phase7-gates=coverage", "--phase7-coverage-min=150"):  # a report, and none
        action = Action(
            {
                "install": "false",
                "step-summary": "false",
                "pytest-args": f"{args} -p no:cacheprovider",
            },
            PULL_REQUEST,
        )
        action.run(env, repo)
        assert (tmp_path / "summary.md").read_text(encoding="utf-8") == "## Earlier step\n"
    assert (repo / "phase7-report.md").is_file() is False  # the second run wrote none


def test_action_step_summary_must_be_true_or_false(tmp_path: Path, repo: Path):
    env = runner_env(tmp_path, tools_dir(tmp_path, "rm"))
    action = Action({"install": "false", "step-summary": "no"}, PULL_REQUEST)
    ((_, gate),) = action.run(env, repo)
    assert gate.returncode == 2
    assert gate.stderr == "phase7: step-summary must be true or false, got 'no'\n"
    assert (tmp_path / "output").read_text() == ""


#: A ``python`` that records its arguments instead of running pip.
FAKE_PYTHON = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_PYTHON_LOG"
"""


def install(tmp_path: Path, inputs: Mapping[str, str], action_path: Path = ACTION.parent):
    python = tmp_path / "fake-python"
    python.write_text(FAKE_PYTHON, encoding="utf-8")
    python.chmod(0o755)
    log = tmp_path / "python.log"
    env = runner_env(tmp_path, tools_dir(tmp_path)) | {"FAKE_PYTHON_LOG": str(log)}
    action = Action({"python": str(python), **inputs}, {"action_path": str(action_path)})
    work = tmp_path / "repo"
    work.mkdir(exist_ok=True)
    ((_, proc),) = action.run(env, work, only="Install pytest-phase7")
    argv = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return proc, argv


def test_action_installs_the_plugin_at_its_own_ref_by_default(tmp_path: Path):
    proc, argv = install(tmp_path, {})
    assert proc.returncode == 0, proc.stderr
    assert argv == ["-m", "pip", "install", "--disable-pip-version-check", "--quiet", str(ROOT)]


def test_action_installs_a_given_package_instead(tmp_path: Path):
    proc, argv = install(tmp_path, {"package": "pytest-phase7==0.1.0"})
    assert proc.returncode == 0, proc.stderr
    assert argv[-1] == "pytest-phase7==0.1.0"


def test_action_copied_without_its_repository_says_to_set_package(tmp_path: Path):
    copied = tmp_path / "elsewhere" / ".github" / "actions" / "phase7"
    copied.mkdir(parents=True)
    proc, argv = install(tmp_path, {}, action_path=copied)
    assert proc.returncode == 1
    assert proc.stderr == (
        f"phase7: no pytest-phase7 checkout around the action at {copied}; set package, "
        "e.g. package: pytest-phase7==0.1.0\n"
    )
    assert argv == []


FAKE_GH = """#!{python}
import json, os, sys

import jq

args = sys.argv[1:]
with open(os.environ["FAKE_GH_LOG"], "a", encoding="utf-8") as log:
    log.write(" ".join(args) + "\\n")
assert args[0] == "api", args
method, path, query, paginate, rest = "GET", None, None, False, iter(args[1:])
for arg in rest:
    if arg == "--paginate":
        paginate = True
    elif arg in ("--method", "-X"):
        method = next(rest)
    elif arg == "--jq":
        query = next(rest)
    elif arg in ("-F", "-f"):
        next(rest)
    else:
        path = arg


def reply(value):
    if query is None:
        print(json.dumps(value))
        return
    for out in jq.compile(query).input_value(value).all():
        print(out if isinstance(out, str) else json.dumps(out))


if path == "user":
    login = os.environ.get("FAKE_GH_LOGIN", "")
    if not login:
        print("gh: Resource not accessible by integration (HTTP 403)", file=sys.stderr)
        sys.exit(1)
    reply({{"login": login}})
elif method == "GET" and path.endswith("/comments"):
    comments = json.loads(os.environ.get("FAKE_GH_COMMENTS", "[]"))
    pages = [comments[i : i + 2] for i in range(0, len(comments), 2)] or [[]]
    for page in pages if paginate else pages[:1]:
        reply(page)
else:
    reply({{"id": 1}})
"""


@pytest.fixture
def fake_gh(tmp_path: Path) -> Path:
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    gh = tools / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable), encoding="utf-8")
    gh.chmod(0o755)
    return tools


def pr_comment(number: int, login: str, body: str) -> dict[str, Any]:
    return {"id": number, "user": {"login": login}, "body": body}


BOT = "github-actions[bot]"


def comment(
    tmp_path: Path,
    tools: Path,
    inputs: Mapping[str, str],
    github: Mapping[str, Any] = PULL_REQUEST,
    comments: list[dict[str, Any]] | None = None,
    login: str = "",
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "phase7-report.md").write_text(MARKER + "\nreport\n", encoding="utf-8")
    env = runner_env(tmp_path, tools)
    env |= {
        "FAKE_GH_LOG": str(tmp_path / "gh.log"),
        "FAKE_GH_COMMENTS": json.dumps(comments or []),
        "FAKE_GH_LOGIN": login,
    }
    (tmp_path / "gh.log").write_text("")
    action = Action({"comment": "true", **inputs}, github)
    ((_, proc),) = action.run(env, work, only="Update the sticky PR comment")
    return proc, (tmp_path / "gh.log").read_text().splitlines()


def patched(calls: list[str]) -> list[str]:
    return [call.split()[3].rsplit("/", 1)[1] for call in calls if "--method PATCH" in call]


def test_sticky_comment_is_the_first_one_by_the_workflow_token(tmp_path: Path, fake_gh: Path):
    comments = [
        pr_comment(11, "someone", "LGTM"),
        pr_comment(4242, BOT, MARKER + "\nold report"),
        pr_comment(99, BOT, MARKER + "\nolder report"),
    ]
    proc, calls = comment(tmp_path, fake_gh, {}, comments=comments)
    assert proc.returncode == 0, proc.stderr
    assert calls[0] == "api user --jq .login"  # 403 for the GITHUB_TOKEN: falls back to the bot
    assert calls[1] == (
        "api --paginate repos/acme/widgets/issues/7/comments --jq "
        f'.[] | select(.user.login == "{BOT}" and (.body | startswith("{MARKER}"))) | .id'
    )
    assert calls[2] == (
        "api --method PATCH repos/acme/widgets/issues/comments/4242 -F body=@phase7-report.md"
    )
    assert proc.stdout.splitlines() == [
        f"phase7: the token cannot look up its user: the report comment is the one by {BOT}",
        "phase7: updated the report comment 4242 on pull request 7",
    ]


def test_a_marker_comment_by_someone_else_is_never_updated(tmp_path: Path, fake_gh: Path):
    # A pull request's author posts the marker first, hoping to get their comment updated (and
    # to edit it back to a fake "OK" later), or to make the step fail on a 403.
    impostor = pr_comment(5, "eve", MARKER + "\n## Phase 7 status: all OK")
    proc, calls = comment(tmp_path, fake_gh, {}, comments=[impostor])
    assert proc.returncode == 0, proc.stderr
    assert patched(calls) == []
    assert calls[-1] == (
        "api --method POST repos/acme/widgets/issues/7/comments -F body=@phase7-report.md"
    )
    proc, calls = comment(
        tmp_path, fake_gh, {}, comments=[impostor, pr_comment(6, BOT, MARKER + "\nreport")]
    )
    assert patched(calls) == ["6"]


def test_a_personal_token_updates_its_own_users_comment(tmp_path: Path, fake_gh: Path):
    comments = [
        pr_comment(5, "eve", MARKER),
        pr_comment(6, BOT, MARKER + "\nan earlier workflow's report"),
        pr_comment(7, "release-bot", "unrelated"),
        pr_comment(8, "release-bot", MARKER + "\nold"),
    ]
    proc, calls = comment(tmp_path, fake_gh, {}, comments=comments, login="release-bot")
    assert proc.returncode == 0, proc.stderr
    assert calls[0] == "api user --jq .login"
    assert patched(calls) == ["8"]
    assert proc.stdout == "phase7: updated the report comment 8 on pull request 7\n"


def test_comment_author_input_names_an_app_token_s_bot(tmp_path: Path, fake_gh: Path):
    comments = [pr_comment(5, BOT, MARKER), pr_comment(9, "my-app[bot]", MARKER)]
    proc, calls = comment(tmp_path, fake_gh, {"comment-author": "my-app[bot]"}, comments=comments)
    assert proc.returncode == 0, proc.stderr
    assert not any(call.startswith("api user") for call in calls)
    assert patched(calls) == ["9"]


@pytest.mark.parametrize(
    "author", ['x") or true | .id, ("', "eve bot", "-x", "[bot]", "a[bot][bot]", "é"]
)
def test_comment_author_must_be_a_login(tmp_path: Path, fake_gh: Path, author: str):
    proc, calls = comment(tmp_path, fake_gh, {"comment-author": author})
    assert proc.returncode == 1
    assert proc.stderr == f"phase7: comment-author must be a GitHub login, got '{author}'\n"
    assert calls == []


def test_sticky_comment_is_created_when_none_exists(tmp_path: Path, fake_gh: Path):
    proc, calls = comment(tmp_path, fake_gh, {})
    assert proc.returncode == 0, proc.stderr
    assert calls[-1] == (
        "api --method POST repos/acme/widgets/issues/7/comments -F body=@phase7-report.md"
    )


def test_comment_from_a_fork_is_skipped_with_a_pointer(tmp_path: Path, fake_gh: Path):
    fork = {"event": {"pull_request": {"number": 7, "head": {"repo": {"full_name": "eve/fork"}}}}}
    proc, calls = comment(tmp_path, fake_gh, {}, fork)
    assert proc.returncode == 0
    assert "pull request from a fork" in proc.stdout
    assert "workflow_run" in proc.stdout
    assert calls == []


def test_comment_mode_posts_for_a_workflow_run(tmp_path: Path, fake_gh: Path):
    proc, calls = comment(tmp_path, fake_gh, {"mode": "comment", "pr-number": "12"}, {})
    assert proc.returncode == 0, proc.stderr
    assert calls[-1] == (
        "api --method POST repos/acme/widgets/issues/12/comments -F body=@phase7-report.md"
    )


@pytest.mark.parametrize(
    ("number", "code", "message"),
    [
        ("", 0, "phase7: not a pull request: no comment"),
        ("7; rm -rf /", 1, "phase7: pr-number must be a number, got '7; rm -rf /'"),
    ],
)
def test_comment_needs_a_pull_request_number(
    tmp_path: Path, fake_gh: Path, number: str, code: int, message: str
):
    proc, calls = comment(tmp_path, fake_gh, {"pr-number": number})
    assert proc.returncode == code
    assert message in proc.stdout + proc.stderr
    assert calls == []


# --- GitLab --------------------------------------------------------------------------------


class FakeGitLab(http.server.BaseHTTPRequestHandler):
    """Merge-request notes API: GET lists ``notes``, POST/PUT are recorded; ``/user`` is ``user``
    (403 when it is None)."""

    notes: ClassVar[list[dict[str, Any]]] = []
    calls: ClassVar[list[tuple[str, str, Any]]] = []
    user: ClassVar[dict[str, Any] | None] = None

    def _reply(self, body: Any, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.calls.append(("GET", self.path, self.headers["PRIVATE-TOKEN"]))
        if self.path == "/api/v4/user":
            if self.user is None:
                self._reply({"message": "403 Forbidden"}, status=403)
            else:
                self._reply(self.user)
            return
        query = parse_qs(urlsplit(self.path).query)
        page, size = int(query["page"][0]), int(query["per_page"][0])
        self._reply(self.notes[(page - 1) * size : page * size])

    def _write(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        self.calls.append((self.command, self.path, body))
        self._reply({"id": 1})

    do_POST = _write
    do_PUT = _write

    def log_message(self, *args: object) -> None:
        pass


#: The project access token's bot user, and notes by it and by a person.
GITLAB_BOT = {"id": 77, "username": "project_42_bot_1"}
EVE = {"id": 5, "username": "eve"}


def note(number: int, author: dict[str, Any], body: str) -> dict[str, Any]:
    return {"id": number, "author": author, "body": body, "system": False}


@pytest.fixture
def gitlab() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeGitLab)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeGitLab.calls = []
    FakeGitLab.user = GITLAB_BOT
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    finally:
        server.shutdown()
        server.server_close()


def after_script(tmp_path: Path, api: str, **variables: str) -> subprocess.CompletedProcess[str]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "phase7-report.md").write_text(MARKER + "\nreport\n", encoding="utf-8")
    script = tmp_path / "after.sh"
    script.write_text("\n".join(load(GITLAB)[".phase7"]["after_script"]), encoding="utf-8")
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "CI_API_V4_URL": api,
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "5",
        "PHASE7_MR_NOTE": "true",
        "PHASE7_GITLAB_TOKEN": "glpat-x",
        **variables,
    }
    return subprocess.run(
        [BASH, "-e", str(script)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_gitlab_note_is_created_then_updated(tmp_path: Path, gitlab: str):
    FakeGitLab.notes = [note(3, EVE, "LGTM")]
    proc = after_script(tmp_path, gitlab)
    assert proc.returncode == 0, proc.stderr
    assert FakeGitLab.calls[:2] == [
        ("GET", "/api/v4/user", "glpat-x"),
        ("GET", "/api/v4/projects/42/merge_requests/5/notes?per_page=100&page=1", "glpat-x"),
    ]
    assert FakeGitLab.calls[-1] == (
        "POST",
        "/api/v4/projects/42/merge_requests/5/notes",
        {"body": MARKER + "\nreport\n"},
    )
    FakeGitLab.notes = [note(3, EVE, "LGTM"), note(8, GITLAB_BOT, MARKER + "\nold")]
    FakeGitLab.calls = []
    proc = after_script(tmp_path, gitlab)
    assert proc.stdout == "phase7: updated the report note 8\n"
    assert FakeGitLab.calls[-1][:2] == ("PUT", "/api/v4/projects/42/merge_requests/5/notes/8")


def test_gitlab_note_by_someone_else_with_the_marker_is_never_updated(tmp_path: Path, gitlab: str):
    FakeGitLab.notes = [note(4, EVE, MARKER + "\nall OK"), note(6, GITLAB_BOT, "unrelated")]
    proc = after_script(tmp_path, gitlab)
    assert proc.returncode == 0, proc.stderr
    assert [call[0] for call in FakeGitLab.calls] == ["GET", "GET", "POST"]
    FakeGitLab.notes.append(note(9, GITLAB_BOT, MARKER + "\nold"))
    FakeGitLab.calls = []
    after_script(tmp_path, gitlab)
    assert FakeGitLab.calls[-1][:2] == ("PUT", "/api/v4/projects/42/merge_requests/5/notes/9")


def test_gitlab_note_is_not_posted_when_the_token_cannot_name_its_user(tmp_path: Path, gitlab: str):
    FakeGitLab.user = None
    FakeGitLab.notes = [note(4, EVE, MARKER)]
    proc = after_script(tmp_path, gitlab)
    assert proc.returncode == 1
    assert proc.stderr == "phase7: merge-request note not posted: HTTP Error 403: Forbidden\n"
    assert [call[:2] for call in FakeGitLab.calls] == [("GET", "/api/v4/user")]


def test_gitlab_note_needs_a_token_and_a_merge_request(tmp_path: Path, gitlab: str):
    proc = after_script(tmp_path, gitlab, PHASE7_GITLAB_TOKEN="")
    assert proc.returncode == 0
    assert "set PHASE7_GITLAB_TOKEN" in proc.stdout
    proc = after_script(tmp_path, gitlab, CI_MERGE_REQUEST_IID="")
    assert proc.returncode == 0
    assert FakeGitLab.calls == []


@pytest.mark.slow
def test_gitlab_script_runs_the_gate(tmp_path: Path, repo: Path):
    lines = [line for line in load(GITLAB)[".phase7"]["script"] if "pip install" not in line]
    script = tmp_path / "script.sh"
    script.write_text("\n".join(lines), encoding="utf-8")
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "PHASE7_PYTEST_ARGS": "--phase7-gates=coverage -p no:cacheprovider",
        "PYTEST_ADDOPTS": "-p no:hypothesispytest",
    }
    proc = subprocess.run(
        [BASH, "-e", str(script)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in load(GITLAB)[".phase7"]["artifacts"]["paths"]:
        assert (repo / path).is_file(), path
    quality = load(GITLAB)[".phase7"]["artifacts"]["reports"]["codequality"]
    assert isinstance(json.loads((repo / quality).read_text(encoding="utf-8")), list)
