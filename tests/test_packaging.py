"""The distributions: ``python -m build`` makes an sdist and a wheel that ``twine check`` passes.

The build runs without isolation (the test extra installs hatchling and build), so it needs no
network: the sdist is built from the checkout and the wheel from the sdist, as PyPI users and
distribution packagers get them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from pytest_phase7 import __version__

ROOT = Path(__file__).resolve().parents[1]
NAME = "pytest_phase7"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    built = {path.name: path for path in out.iterdir()}
    sdist, wheel = f"{NAME}-{__version__}.tar.gz", f"{NAME}-{__version__}-py3-none-any.whl"
    assert set(built) == {sdist, wheel}
    return {"sdist": built[sdist], "wheel": built[wheel]}


def test_twine_check_passes_strictly(dists: dict[str, Path]) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            str(dists["sdist"]),
            str(dists["wheel"]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2, proc.stdout


def test_wheel_ships_the_license_the_type_marker_and_the_schema(dists: dict[str, Path]) -> None:
    info = f"{NAME}-{__version__}.dist-info"
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = set(wheel.namelist())
        assert f"{NAME}/py.typed" in names
        assert wheel.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        schema = wheel.read(f"{NAME}/schemas/report.schema.json")
        assert schema == (ROOT / NAME / "schemas" / "report.schema.json").read_bytes()
        assert json.loads(schema)["$schema"]
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
        metadata = Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
    assert "[pytest11]\nphase7 = pytest_phase7.plugin" in entry_points
    assert "phase7 = pytest_phase7.cli:main" in entry_points
    assert not any(name.startswith(("tests/", "examples/", "benchmarks/")) for name in names)
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
    assert set(urls) == {"Homepage", "Source", "Changelog", "Issues"}
    assert urls["Changelog"].endswith("/CHANGELOG.md")
    classifiers = metadata.get_all("Classifier")
    assert {"Framework :: Pytest", "Operating System :: POSIX", "Typing :: Typed"} <= set(
        classifiers
    )
    versions = [c.rsplit(" :: ", 1)[1] for c in classifiers if c.count(" :: ") == 2 and "3." in c]
    assert versions == ["3.10", "3.11", "3.12", "3.13"]
    assert metadata["Requires-Python"] == ">=3.10"


def test_sdist_holds_what_its_tests_read(dists: dict[str, Path]) -> None:
    prefix = f"{NAME}-{__version__}/"
    with tarfile.open(dists["sdist"]) as sdist:
        names = {name.removeprefix(prefix) for name in sdist.getnames()}
    for needed in (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "pyproject.toml",
        ".pre-commit-hooks.yaml",
        ".ci/run",
        "gates/github/action.yml",
        "gates/gitlab/phase7.gitlab-ci.yml",
        "tests/conftest.py",
        "examples/tta/pyproject.toml",
        f"{NAME}/py.typed",
    ):
        assert needed in names, needed
    assert not any(name.startswith("benchmarks/") for name in names)
    if (ROOT / ".git").exists():
        tracked = subprocess.run(
            ["git", "ls-files", NAME, "tests", "examples", "gates"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.split()
        missing = [path for path in tracked if path not in names and (ROOT / path).exists()]
        assert missing == []
