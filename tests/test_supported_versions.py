"""The declared version floors are the ones the supported-versions stage installs and tests.

``.ci/versions`` runs ``tox -e lowest`` (the gate tests on Python 3.10 with every floor pinned in
``.ci/lowest-constraints.txt``) and ``tox -e newest`` (Python 3.13, newest releases). These tests
keep the three files in step: a floor raised in ``pyproject.toml`` but not in the constraints
(or the other way round) would test versions the package does not declare.
"""

from __future__ import annotations

import configparser
import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
CONSTRAINTS = REPO / ".ci" / "lowest-constraints.txt"

#: The dependencies whose lowest versions the stage tests (pytest-xdist is a test extra).
TESTED = ("pytest", "pytest-cov", "coverage", "pytest-xdist", "ruff", "mypy", "interrogate")


def floors() -> dict[str, str]:
    """``name -> lowest version`` for every ``name>=X`` requirement in pyproject.toml."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    found = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][0-9.]*)(;.*)?", requirement.strip())
        assert match, f"not a simple floor: {requirement!r}"
        found[match[1].lower()] = match[2]
    return found


def pins() -> dict[str, str]:
    found = {}
    for raw in CONSTRAINTS.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            found[name.lower()] = version
    return found


def same_version(a: str, b: str) -> bool:
    """``8.0`` and ``8.0.0`` are one version."""

    def parts(v: str) -> list[int]:
        numbers = [int(p) for p in v.split(".")]
        while numbers and numbers[-1] == 0:
            numbers.pop()
        return numbers

    return parts(a) == parts(b)


def test_every_tested_floor_is_pinned_in_the_constraints() -> None:
    declared, pinned = floors(), pins()
    for name in TESTED:
        assert name in declared, name
        assert name in pinned, name
        assert same_version(declared[name], pinned[name]), (name, declared[name], pinned[name])
    # Nothing pinned that the package does not declare.
    assert set(pinned) <= set(declared)
    for name in set(pinned) - set(TESTED):
        assert same_version(declared[name], pinned[name]), name


def tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / "tox.ini")
    return parser


def test_tox_has_the_stage_and_an_environment_per_python() -> None:
    config = tox()
    envs = [e.strip() for e in config["tox"]["env_list"].split(",")]
    for python in ("py310", "py311", "py312", "py313"):
        assert python in envs
    lowest, newest = config["testenv:lowest"], config["testenv:newest"]
    assert lowest["base_python"] == "python3.10"
    assert newest["base_python"] == "python3.13"
    assert ".ci{/}lowest-constraints.txt" in lowest["set_env"]
    for env in (lowest, newest):
        assert "{[gates]files}" in env["commands"]
    files = config["gates"]["files"].split()
    assert files
    for name in files:
        assert (REPO / name).is_file(), name
    # The linters the project is kept clean under, pinned.
    assert re.fullmatch(r"ruff==[0-9.]+", config["testenv:lint"]["deps"].strip())
    assert re.fullmatch(r"mypy==[0-9.]+", config["testenv:type"]["deps"].strip())


def test_the_ci_script_runs_both_environments() -> None:
    script = (REPO / ".ci" / "versions").read_text()
    assert "envs=(lowest newest)" in script
    assert "--recreate" in script
