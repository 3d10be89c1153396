"""phase7's own finder: its submodules through Python's path finder, nothing else."""

from __future__ import annotations

import importlib.machinery
import sys

import pytest

import pytest_phase7
from pytest_phase7.plainimport import OwnModuleFinder, plain_imports


def test_the_finder_finds_phase7s_submodules_with_pythons_loader() -> None:
    spec = OwnModuleFinder().find_spec("pytest_phase7.engine", list(pytest_phase7.__path__))
    assert spec is not None
    assert type(spec.loader) is importlib.machinery.SourceFileLoader
    assert spec.origin is not None
    assert spec.origin.endswith("engine.py")


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("pytest_phase7", None),  # the package itself: pytest's entry point already has it
        ("pytest_phase7x.engine", ["anywhere"]),
        ("coverage.control", ["anywhere"]),
        ("pytest_phase7.engine", None),
    ],
)
def test_the_finder_leaves_every_other_module_alone(name: str, path: list[str] | None) -> None:
    assert OwnModuleFinder().find_spec(name, path) is None


def test_plain_imports_puts_the_finder_first_and_always_removes_it() -> None:
    before = list(sys.meta_path)
    with plain_imports():
        assert isinstance(sys.meta_path[0], OwnModuleFinder)
        assert sys.meta_path[1:] == before
    assert sys.meta_path == before
    with pytest.raises(RuntimeError), plain_imports():
        raise RuntimeError
    assert sys.meta_path == before
