"""The acceptance tier's machinery: pinned real projects, their venvs, checkouts, runs and figures.

A project (``projects.toml``) is an sdist from PyPI pinned by version and sha256. It is
downloaded once into the cache (``$PHASE7_ACCEPTANCE_CACHE``, default
``~/.cache/pytest-phase7/acceptance``) with ``pip download`` (hash-checked) and checked again
every time it is used. Each requirement set gets one venv in the cache, created once under a file
lock: this checkout of pytest-phase7 installed editable, the gated tools pinned to the versions
running the tier, and the project's own pinned test dependencies. Every case unpacks the sdist
into a fresh folder, so runs never share state.

The comparison side runs the tools as a user would, from the venv's ``bin`` on the same checkout:
``coverage json`` on the data file the run left, ``ruff check --output-format json --no-fix``,
one ``mypy -O json`` over all the targets, and ``interrogate -v`` per target.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent.parent
PROJECTS_FILE = HERE / "projects.toml"
#: The tier's own pytest plugins (``harness_plugins``), importable in a project's run only.
HARNESS_DIR = HERE / "harness"

CACHE_ENV = "PHASE7_ACCEPTANCE_CACHE"
DEFAULT_CACHE = "~/.cache/pytest-phase7/acceptance"

#: The tools the gates run, pinned in every project venv to the versions running the tier.
TOOLS = ("pytest", "pytest-cov", "coverage", "pytest-xdist", "ruff", "mypy", "interrogate")

#: Bumped when the venv layout changes, so old venvs are not reused.
VENV_FORMAT = 1
VENV_MARKER = "phase7-acceptance.json"

#: A bound on a hang, never an assertion on speed.
HANG_SECONDS = 1200.0

MAX_CONFIG_LINES = 3

#: Variables of the process running the tier that must not reach the project's run: pytest's and
#: coverage's own settings (the tier may itself run under ``coverage run`` or xdist), Python's
#: path settings, the job summary a real CI would get, our own venv.
_DROPPED_PREFIXES = ("PYTEST_", "COV_CORE_", "COVERAGE_", "PYTHON", "HYPOTHESIS_")
_DROPPED = frozenset({"VIRTUAL_ENV", "GITHUB_STEP_SUMMARY", "MYPYPATH", "RUFF_CACHE_DIR"})

#: Folders that runs create and the tools fill: not the project's files.
_GENERATED_PARTS = frozenset(
    {
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        "__pycache__",
        "htmlcov",
    }
)


@dataclass(frozen=True)
class Case:
    """One way of running ``pytest --phase7`` on a project."""

    id: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Project:
    """A pinned real project and what the tier expects of it."""

    name: str
    version: str
    sdist: str
    sha256: str
    exercises: tuple[str, ...]
    import_paths: tuple[str, ...]
    requirements: tuple[str, ...]
    plan: Path
    plan_as: str
    config_file: str | None
    config_lines: tuple[str, ...]
    targets: Mapping[int, str]
    may_fail: Mapping[str, str]
    cases: tuple[Case, ...]
    harness_plugins: tuple[str, ...] = ()


def load_projects(path: Path = PROJECTS_FILE) -> list[Project]:
    """Read ``projects.toml``."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    projects = []
    for raw in data["projects"]:
        config = raw.get("config", {})
        projects.append(
            Project(
                name=raw["name"],
                version=raw["version"],
                sdist=raw["sdist"],
                sha256=raw["sha256"],
                exercises=tuple(raw["exercises"]),
                import_paths=tuple(raw["import_paths"]),
                requirements=tuple(raw["requirements"]),
                plan=path.parent / raw["plan"],
                plan_as=raw["plan_as"],
                config_file=config.get("file"),
                config_lines=tuple(config.get("lines", ())),
                targets={int(k): v for k, v in raw["targets"].items()},
                may_fail=dict(raw.get("may_fail", {})),
                cases=tuple(Case(c["id"], tuple(c["args"])) for c in raw["cases"]),
                harness_plugins=tuple(raw.get("harness_plugins", ())),
            )
        )
    return projects


def cache_dir() -> Path:
    """The tier's cache folder (sdists, venvs, locks)."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser().resolve()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (other processes of the tier wait for it)."""
    import fcntl  # POSIX only, like the tier itself

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sha256_of(path: Path) -> str:
    """The sha256 of a file, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class AcceptanceError(Exception):
    """The tier could not prepare a project (download, venv): the case fails with this."""


@dataclass(frozen=True)
class Completed:
    """A finished subprocess."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def describe(self, tail: int = 60) -> str:
        """The command and the end of its output, for a failure message."""
        lines = (self.stdout + self.stderr).splitlines()
        shown = "\n".join(lines[-tail:])
        return f"$ {' '.join(self.argv)}\n(exit {self.returncode})\n{shown}"


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    merge_output: bool = False,
) -> Completed:
    """Run ``argv`` in its own process group; a hang is killed with all its children."""
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=HANG_SECONDS)
    except subprocess.TimeoutExpired:
        # A hang: the run and everything it started (xdist workers, the tools) go.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        stderr = (stderr or "") + f"\n[killed after {HANG_SECONDS:g}s: a hang]"
    return Completed(tuple(argv), process.returncode, stdout or "", stderr or "")


def _install_env() -> dict[str, str]:
    """The environment for pip: ours without our venv and Python path settings."""
    return {k: v for k, v in os.environ.items() if k not in _DROPPED and k != "PYTHONPATH"}


def fetch_sdist(project: Project) -> Path:
    """The project's sdist in the cache: downloaded on first use, its sha256 checked every time."""
    target = cache_dir() / "sdists" / project.sdist
    with file_lock(cache_dir() / "locks" / f"sdist-{project.sdist}.lock"):
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
                requirement = Path(tmp) / "requirement.txt"
                requirement.write_text(
                    f"{project.name}=={project.version} --hash=sha256:{project.sha256}\n",
                    encoding="utf-8",
                )
                fetched = run(
                    [
                        sys.executable,
                        "-m",
                        "pip",
                        "download",
                        "--quiet",
                        "--no-input",
                        "--disable-pip-version-check",
                        "--no-deps",
                        "--no-binary",
                        project.name,
                        "--require-hashes",
                        "-r",
                        str(requirement),
                        "-d",
                        tmp,
                    ],
                    cwd=Path(tmp),
                    env=_install_env(),
                )
                downloaded = Path(tmp) / project.sdist
                if fetched.returncode != 0 or not downloaded.is_file():
                    raise AcceptanceError(
                        f"could not download {project.sdist} from PyPI:\n{fetched.describe()}"
                    )
                os.replace(downloaded, target)
        actual = sha256_of(target)
        if actual != project.sha256:
            raise AcceptanceError(
                f"{target}: sha256 {actual} is not the pinned {project.sha256}; delete the file "
                "to download it again"
            )
    return target


def tool_pins() -> tuple[str, ...]:
    """``name==version`` for every gated tool, as installed where the tier runs."""
    pins = []
    for name in TOOLS:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            raise AcceptanceError(
                f"{name} is not installed where the tier runs: install the test extras "
                "(pip install -e '.[test]')"
            ) from None
    return tuple(pins)


def _phase7_project() -> str:
    """The checkout's ``[project]`` table (dependencies, entry points): a change means a new venv.

    Code changes need no new venv: the checkout is installed editable.
    """
    data = tomllib.loads((CHECKOUT / "pyproject.toml").read_text(encoding="utf-8"))
    return json.dumps(data["project"], sort_keys=True)


def requirement_name(requirement: str) -> str:
    """The normalised project name of a ``name==version`` requirement (PEP 503)."""
    name = requirement.split("==", 1)[0].split("[", 1)[0].strip()
    return name.lower().replace("_", "-").replace(".", "-")


def venv_requirements(project: Project) -> tuple[str, ...]:
    """What a project's venv is made of, besides this checkout installed editable.

    The gated tools come pinned to the versions running the tier, unless the project pins one
    of them itself (its test dependencies may need another pytest, for instance).
    """
    own = {requirement_name(r) for r in project.requirements}
    tools = [pin for pin in tool_pins() if requirement_name(pin) not in own]
    return tuple(sorted({*tools, *project.requirements}))


def venv_key(requirements: Sequence[str], *, editable: bool = True) -> str:
    """The venv cache key: everything that decides what the venv holds."""
    identity = {
        "format": VENV_FORMAT,
        "python": [sys.version, sys.implementation.name, os.path.realpath(sys.base_prefix)],
        "checkout": str(CHECKOUT),
        "phase7_project": _phase7_project(),
        "requirements": sorted(requirements),
    }
    if not editable:
        identity["installed"] = "wheel"
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def checkout_digest() -> str:
    """The digest of what a wheel of the checkout is built from: its package and project files."""
    digest = hashlib.sha256()
    files = [CHECKOUT / "pyproject.toml", *sorted((CHECKOUT / "pytest_phase7").rglob("*"))]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(f"{path.relative_to(CHECKOUT)}\0".encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def venv_python(venv: Path) -> Path:
    """The venv's interpreter."""
    return venv / "bin" / "python"


def venv_tool(venv: Path, name: str) -> str:
    """A console script of the venv (what a user runs)."""
    return str(venv / "bin" / name)


def project_venv(project: Project, *, editable: bool = True) -> Path:
    """The project's venv in the cache, created on first use (one per requirement set).

    ``editable=False`` installs the checkout as a user does, from a wheel built from it (the
    benchmarks measure that: an editable install puts the whole checkout on ``sys.path``, which
    mypy's cache key then covers); the wheel is rebuilt whenever the checkout's package changes.
    """
    requirements = venv_requirements(project)
    key = venv_key(requirements, editable=editable)
    venv = cache_dir() / "venvs" / key
    marker = venv / VENV_MARKER
    with file_lock(cache_dir() / "locks" / f"venv-{key}.lock"):
        if marker.is_file() and not editable:
            _reinstall_when_changed(venv, marker)
        if marker.is_file():
            return venv
        if venv.exists():  # an interrupted creation
            shutil.rmtree(venv)
        venv.parent.mkdir(parents=True, exist_ok=True)
        env = _install_env()
        steps = [
            [sys.executable, "-m", "venv", "--without-pip", str(venv)],
            _pip_install(venv, *(["-e"] if editable else []), str(CHECKOUT), *requirements),
        ]
        for argv in steps:
            done = run(argv, cwd=venv.parent, env=env)
            if done.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                raise AcceptanceError(f"could not create the venv {venv}:\n{done.describe()}")
        facts: dict[str, object] = {"requirements": list(requirements), "checkout": str(CHECKOUT)}
        if not editable:
            facts["checkout_digest"] = checkout_digest()
        marker.write_text(json.dumps(facts, indent=1), encoding="utf-8")
    return venv


def _pip_install(venv: Path, *args: str) -> list[str]:
    """This Python's pip installing ``args`` into ``venv``, quietly and without questions."""
    return [
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(venv_python(venv)),
        "install",
        "--quiet",
        "--no-input",
        "--disable-pip-version-check",
        *args,
    ]


def _reinstall_when_changed(venv: Path, marker: Path) -> None:
    """Install a new wheel of the checkout into a wheel-installed venv if its package changed."""
    facts = json.loads(marker.read_text(encoding="utf-8"))
    digest = checkout_digest()
    if facts.get("checkout_digest") == digest:
        return
    argv = _pip_install(venv, "--no-deps", "--force-reinstall", str(CHECKOUT))
    done = run(argv, cwd=venv.parent, env=_install_env())
    if done.returncode != 0:
        raise AcceptanceError(f"could not reinstall pytest-phase7 into {venv}:\n{done.describe()}")
    facts["checkout_digest"] = digest
    marker.write_text(json.dumps(facts, indent=1), encoding="utf-8")


def unpack(sdist: Path, dest: Path) -> Path:
    """Unpack ``sdist`` into ``dest``; return its single top-level folder."""
    with tarfile.open(sdist) as archive:
        members = archive.getmembers()
        tops = {Path(m.name).parts[0] for m in members}
        if len(tops) != 1:
            raise AcceptanceError(
                f"{sdist.name}: expected one top-level folder, got {sorted(tops)}"
            )
        for member in members:
            parts = Path(member.name).parts
            if member.name.startswith("/") or ".." in parts or member.issym() or member.islnk():
                raise AcceptanceError(f"{sdist.name}: refusing archive member {member.name!r}")
        if hasattr(tarfile, "data_filter"):
            archive.extractall(dest, filter="data")
        else:  # pragma: no cover - Pythons without extraction filters
            archive.extractall(dest)
    return dest / tops.pop()


def make_checkout(project: Project, sdist: Path, dest: Path) -> Path:
    """A fresh checkout of the project in ``dest``: the sdist, the plan, the config lines."""
    root = unpack(sdist, dest)
    shutil.copyfile(project.plan, root / project.plan_as)
    if project.config_lines:
        assert project.config_file is not None
        config = root / project.config_file
        text = config.read_text(encoding="utf-8") if config.exists() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        config.write_text(text + "\n" + "\n".join(project.config_lines) + "\n", encoding="utf-8")
    return root


def file_digests(root: Path) -> dict[str, str]:
    """sha256 of every project file under ``root`` (not what the runs and tools generate)."""
    digests = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or _GENERATED_PARTS.intersection(rel.parts):
            continue
        if rel.name.startswith(".coverage") and len(rel.parts) == 1:
            continue
        digests[rel.as_posix()] = sha256_of(path)
    return digests


def run_env(venv: Path, project: Project, root: Path) -> dict[str, str]:
    """The environment of the project's runs: the venv first on PATH, the checkout importable."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _DROPPED and not k.startswith(_DROPPED_PREFIXES)
    }
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    env["VIRTUAL_ENV"] = str(venv)
    paths = [str(root / p) for p in project.import_paths]
    if project.harness_plugins:
        # Last: the project's own modules come first, and the plugins' names are the tier's.
        paths.append(str(HARNESS_DIR))
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


# -- the run ---------------------------------------------------------------------------------


def junit_name(nodeid: str) -> tuple[str, str]:
    """The (classname, name) pytest's junitxml writes for a test node id."""
    path, *rest = nodeid.split("::")
    module = path[:-3] if path.endswith(".py") else path
    names = [module.replace("/", "."), *rest]
    return ".".join(names[:-1]), names[-1]


def junit_failures(path: Path) -> list[tuple[str, str]]:
    """(classname, name) of every test that failed or errored in a junitxml report."""
    tree = ET.parse(path)
    failed = []
    for case in tree.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append((case.get("classname", ""), case.get("name", "")))
    return failed


@dataclass(frozen=True)
class Phase7Run:
    """What ``pytest --phase7`` did on a checkout."""

    completed: Completed
    report: dict[str, Any] | None
    failures: tuple[tuple[str, str], ...]


def run_phase7(
    venv: Path, project: Project, root: Path, out: Path, args: Sequence[str]
) -> Phase7Run:
    """Run ``pytest --phase7`` with the case's arguments, the JSON report and junitxml outside."""
    report = out / "phase7.json"
    junit = out / "junit.xml"
    argv = [
        str(venv_python(venv)),
        "-m",
        "pytest",
        *(arg for name in project.harness_plugins for arg in ("-p", name)),
        *args,
        "--phase7",
        f"--phase7-json={report}",
        f"--junitxml={junit}",
    ]
    completed = run(argv, cwd=root, env=run_env(venv, project, root), merge_output=True)
    data = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else None
    failures = tuple(junit_failures(junit)) if junit.is_file() else ()
    return Phase7Run(completed, data, failures)


# -- the tools' own figures ------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageFile:
    """One file's summary in ``coverage json``."""

    statements: int
    missing: int
    branches: int
    missing_branches: int
    covered_branches: int
    display: str


@dataclass(frozen=True)
class ToolFigures:
    """What the tools say, run directly on the checkout."""

    coverage: dict[str, CoverageFile]
    coverage_precision: int
    branch: bool
    ruff: dict[str, int]
    mypy: dict[str, int]
    interrogate: dict[str, tuple[int, int]]  # target ref -> (covered, total)


def relative_key(root: Path, name: str) -> str:
    """A tool's file name as a rootdir-relative POSIX path (symlinks resolved)."""
    path = Path(name)
    if not path.is_absolute():
        path = root / path
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def target_files(root: Path, ref: str) -> list[str]:
    """The Python files a target stands for, listed from the disk (a folder: all its .py files)."""
    if not ref.endswith("/"):
        return [ref]
    folder = root / ref
    return sorted(
        p.relative_to(root).as_posix()
        for p in folder.rglob("*.py")
        if "__pycache__" not in p.relative_to(root).parts
    )


def _check(done: Completed, ok: Sequence[int], what: str) -> Completed:
    if done.returncode not in ok:
        raise AcceptanceError(f"{what} failed:\n{done.describe()}")
    return done


def coverage_json(
    venv: Path, root: Path, env: Mapping[str, str], out: Path
) -> tuple[dict[str, CoverageFile], int, bool]:
    """``coverage json`` on the data file the run left, with the project's config.

    No ``--include``: with ``relative_files`` the data holds relative names that absolute
    patterns do not match, and every measured file's figures are its own anyway.
    """
    output = out / "coverage.json"
    done = run([venv_tool(venv, "coverage"), "json", "-q", "-o", str(output)], cwd=root, env=env)
    # 2: the project's fail_under is not met by the total; the report is written all the same.
    _check(done, (0, 2), "coverage json")
    if not output.is_file():
        raise AcceptanceError(f"coverage json wrote no report:\n{done.describe()}")
    data = json.loads(output.read_text(encoding="utf-8"))
    result = {}
    precision = 0
    for name, entry in data["files"].items():
        summary = entry["summary"]
        display = summary["percent_covered_display"]
        precision = len(display.partition(".")[2])
        result[relative_key(root, name)] = CoverageFile(
            statements=summary["num_statements"],
            missing=summary["missing_lines"],
            branches=summary.get("num_branches", 0),
            missing_branches=summary.get("missing_branches", 0),
            covered_branches=summary.get("covered_branches", 0),
            display=display,
        )
    return result, precision, bool(data["meta"]["branch_coverage"])


def ruff_counts(
    venv: Path, root: Path, env: Mapping[str, str], paths: Sequence[str]
) -> dict[str, int]:
    """Violations per file from one ``ruff check --output-format json --no-fix``."""
    done = run(
        [venv_tool(venv, "ruff"), "check", "--output-format", "json", "--no-fix", "--", *paths],
        cwd=root,
        env=env,
    )
    _check(done, (0, 1), "ruff check")
    counts: dict[str, int] = defaultdict(int)
    for record in json.loads(done.stdout or "[]"):
        counts[relative_key(root, record["filename"])] += 1
    return dict(counts)


def mypy_counts(
    venv: Path, root: Path, env: Mapping[str, str], paths: Sequence[str]
) -> dict[str, int]:
    """Errors per file from one ``mypy -O json`` over all the targets (the project's config)."""
    done = run([venv_tool(venv, "mypy"), "-O", "json", "--", *paths], cwd=root, env=env)
    _check(done, (0, 1), "mypy")
    counts: dict[str, int] = defaultdict(int)
    for line in done.stdout.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("severity") == "error":
            counts[relative_key(root, record["file"])] += 1
    return dict(counts)


def parse_interrogate_total(output: str) -> tuple[int, int]:
    """(covered, total) from the TOTAL row of interrogate's summary table."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "TOTAL" and len(cells) >= 4:
            total, _miss, covered = (int(c) for c in cells[1:4])
            return covered, total
    raise AcceptanceError(f"no TOTAL row in interrogate's output:\n{output}")


def interrogate_figures(
    venv: Path, root: Path, env: Mapping[str, str], ref: str
) -> tuple[int, int]:
    """(covered, total) for one target from ``interrogate -v TARGET`` (the project's config)."""
    done = run(
        [venv_tool(venv, "interrogate"), "-v", "--no-color", ref.rstrip("/") or "."],
        cwd=root,
        env=env,
    )
    _check(done, (0, 1), "interrogate")
    return parse_interrogate_total(done.stdout)


def tool_figures(
    venv: Path, project: Project, root: Path, out: Path, refs: Sequence[str]
) -> ToolFigures:
    """Run every tool directly on the checkout, over the same targets."""
    env = run_env(venv, project, root)
    paths = sorted({ref.rstrip("/") for ref in refs})
    coverage, precision, branch = coverage_json(venv, root, env, out)
    return ToolFigures(
        coverage=coverage,
        coverage_precision=precision,
        branch=branch,
        ruff=ruff_counts(venv, root, env, paths),
        mypy=mypy_counts(venv, root, env, paths),
        interrogate={ref: interrogate_figures(venv, root, env, ref) for ref in refs},
    )


# -- the comparison --------------------------------------------------------------------------


def _percent(numerator: int, denominator: int) -> float:
    """coverage.py's percent (``Numbers``): 100 when there is nothing to count."""
    return 100.0 * numerator / denominator if denominator > 0 else 100.0


def display_covered(percent: float, precision: int) -> str:
    """coverage.py's display of a percent (never 0 or 100 unless exact)."""
    from coverage.results import display_covered as coverage_display

    return str(coverage_display(percent, precision))


@dataclass(frozen=True)
class Row:
    """One figure compared: what phase7 reported and what the tool says."""

    ref: str
    gate: str
    figure: str
    phase7: object
    tool: object

    @property
    def equal(self) -> bool:
        """Whether the two agree."""
        return self.phase7 == self.tool


def expected_coverage(figures: ToolFigures, root: Path, ref: str) -> dict[str, object] | None:
    """coverage.py's figures for a target (a folder: its files summed), or None if unmeasured."""
    entries = [figures.coverage.get(f) for f in target_files(root, ref)]
    if not entries or any(e is None for e in entries):
        return None
    present = [e for e in entries if e is not None]
    display = present[0].display if len(present) == 1 else None
    statements = sum(e.statements for e in present)
    missing = sum(e.missing for e in present)
    branches = sum(e.branches for e in present)
    missing_branches = sum(e.missing_branches for e in present)
    covered_branches = sum(e.covered_branches for e in present)
    percent = _percent(statements - missing + covered_branches, statements + branches)
    expected: dict[str, object] = {
        "metric": percent,
        "display": (display or display_covered(percent, figures.coverage_precision)) + "%",
        "statements": float(statements),
        "missing": float(missing),
        "line_percent": _percent(statements - missing, statements),
    }
    if figures.branch:
        expected.update(
            {
                "branches": float(branches),
                "missing_branches": float(missing_branches),
                "branch_percent": _percent(covered_branches, branches),
            }
        )
    return expected


def compare(report: Mapping[str, Any], figures: ToolFigures, root: Path) -> list[Row]:
    """Every figure of every resolved item's gates against the tools' own."""
    rows: list[Row] = []
    for item in report["items"]:
        target = item.get("target") or {}
        if target.get("state") != "resolved":
            continue
        ref = target["ref"]
        files = target_files(root, ref)
        # A gate the plan narrowed away (SKIP) has no figure of phase7's to compare.
        results = {r["gate"]: r for r in item["results"] if r.get("status") != "SKIP"}
        cov = results.get("coverage")
        if cov is not None:
            expected = expected_coverage(figures, root, ref)
            if expected is None:
                rows.append(Row(ref, "coverage", "present in coverage json", True, False))
            else:
                figures_of = {"metric": cov["metric"], "display": cov["display"], **cov["extra"]}
                rows.extend(
                    Row(ref, "coverage", name, figures_of.get(name), value)
                    for name, value in expected.items()
                )
        for gate, counts in (("ruff", figures.ruff), ("mypy", figures.mypy)):
            result = results.get(gate)
            if result is not None:
                tool = float(sum(counts.get(f, 0) for f in files))
                rows.append(Row(ref, gate, "count", result["metric"], tool))
        docs = results.get("docstrings")
        if docs is not None:
            covered, total = figures.interrogate[ref]
            if not total:
                # interrogate counted nothing (its 100% of 0): phase7 says so and does not pass.
                said = docs.get("status") == "ERROR" and "0 names checked" in docs.get("reason", "")
                rows.append(Row(ref, "docstrings", "0 names checked", said, True))
                continue
            rows.append(
                Row(ref, "docstrings", "covered", docs["extra"].get("covered"), float(covered))
            )
            rows.append(Row(ref, "docstrings", "total", docs["extra"].get("total"), float(total)))
            # interrogate's own percent: covered / total * 100, and 100 when nothing is counted.
            percent = covered / total * 100 if total else 100.0
            rows.append(Row(ref, "docstrings", "percent", docs["metric"], percent))
    return rows


def format_rows(rows: Sequence[Row]) -> str:
    """The comparison as a table, mismatches marked."""
    lines = [f"{'target':34} {'gate':10} {'figure':16} {'phase7':>22} {'tool':>22}"]
    for row in rows:
        mark = "" if row.equal else "   <-- differs"
        lines.append(
            f"{row.ref:34} {row.gate:10} {row.figure:16} {row.phase7!s:>22} {row.tool!s:>22}{mark}"
        )
    return "\n".join(lines)
