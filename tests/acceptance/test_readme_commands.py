"""The README's commands, run as a reader copies them, print what the README shows.

- The first command of the README, on a fresh copy of this checkout's tracked files: a new venv,
  an install from PyPI, ``pytest --phase7`` on the bundled example; the table it prints is the
  README's, line for line.
- "Add phase7 to an existing project" on idna (the real project the README quotes): ``phase7
  init --run-tests`` then ``pytest --phase7`` in a fresh unpacked sdist with no plan, printing
  the lines the README shows.

Marked ``acceptance`` (they install from PyPI and run real projects): ``-m acceptance`` runs them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from realprojects import (
    CHECKOUT,
    fetch_sdist,
    load_projects,
    project_venv,
    run,
    run_env,
    unpack,
)

pytestmark = [
    pytest.mark.acceptance,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="the README's commands are POSIX shell"),
]

README = (CHECKOUT / "README.md").read_text(encoding="utf-8")


def _fenced_after(marker: str, fence: str = "") -> str:
    """The first fenced block (of language ``fence``) after ``marker`` in the README."""
    after = README.split(marker, 1)[1]
    found = re.search(rf"```{fence}\n(.*?)```", after, flags=re.DOTALL)
    assert found is not None, marker
    return found.group(1)


def _tracked_copy(dest: Path) -> Path:
    """This checkout's tracked files (as they are in the working tree) copied to ``dest``."""
    if not (CHECKOUT / ".git").exists():
        pytest.skip("not a git checkout: the README's first command runs in a clone")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=CHECKOUT, capture_output=True, check=True
    ).stdout.decode("utf-8")
    for name in filter(None, listed.split("\0")):
        source = CHECKOUT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def _fresh_machine_env() -> dict[str, str]:
    """Our environment without this run's venv, Python and pytest settings."""
    dropped = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in dropped and not k.startswith(("PYTEST_", "COV_CORE_", "COVERAGE_"))
    }
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["COLUMNS"] = "80"
    return env


def test_the_first_command_prints_the_readme_table(tmp_path: Path) -> None:
    command = re.findall(r"```bash\n(.*?)\n```", README.split("\n---\n", 1)[0], re.DOTALL)[0]
    copy = _tracked_copy(tmp_path / "clone")
    # The README's own words, as a reader pastes them into a shell.
    done = run(["bash", "-c", command], cwd=copy, env=_fresh_machine_env(), merge_output=True)
    assert done.returncode == 0, done.describe()
    table = _fenced_after("The example run ends with this table")
    printed = done.stdout[done.stdout.index(table.splitlines()[0]) :]
    assert printed.startswith(table), done.describe()


def test_adding_phase7_to_idna_prints_what_the_readme_shows(tmp_path: Path) -> None:
    (project,) = [p for p in load_projects() if p.name == "idna"]
    quoted = _fenced_after("On idna 3.10")
    venv = project_venv(project)
    root = unpack(fetch_sdist(project), tmp_path / "checkout")
    env = run_env(venv, project, root)
    env["COLUMNS"] = "80"

    init = run(["phase7", "init", "--run-tests"], cwd=root, env=env)
    assert init.returncode == 0, init.describe()
    # "wrote a plan of 14 items in two batches"
    assert re.search(r"\b2 batches, 14 items\b", init.stdout), init.describe()
    assert (root / "PHASE7_EXECUTION_PLAN.md").is_file()

    gated = run(["pytest", "--phase7"], cwd=root, env=env)
    assert gated.returncode == 0, gated.describe()
    assert re.search(r"\b32 passed\b", gated.stdout), gated.describe()  # "idna's 32 tests"
    printed = [line.rstrip() for line in gated.stdout.splitlines()]
    for line in quoted.splitlines():
        if line != "...":
            assert line.rstrip() in printed, (line, gated.describe())


def test_pip_install_gives_both_commands(tmp_path: Path) -> None:
    # "pip install pytest-phase7": the wheel this checkout builds, into a fresh venv, with its
    # dependencies from PyPI; then the plugin is there and both entry points answer.
    built = run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", "dist", "."],
        cwd=_tracked_copy(tmp_path / "clone"),
    )
    assert built.returncode == 0, built.describe()
    (wheel,) = (tmp_path / "clone" / "dist").glob("pytest_phase7-*.whl")
    venv = tmp_path / "venv"
    env = _fresh_machine_env()
    for argv in (
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
    ):
        step = run(argv, cwd=tmp_path, env=env)
        assert step.returncode == 0, step.describe()
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env["PATH"]])
    helped = run(["pytest", "--help"], cwd=tmp_path, env=env)
    assert helped.returncode == 0, helped.describe()
    assert "Phase 7 quality gates (pytest-phase7):" in helped.stdout
    for argv in (["phase7", "--help"], ["phase7", "init", "--help"]):
        answered = run(argv, cwd=tmp_path, env=env)
        assert answered.returncode == 0, answered.describe()
        assert answered.stdout.startswith("usage: phase7"), answered.describe()
