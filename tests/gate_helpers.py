"""Helpers shared by the gate tests: write a small project, name a file target."""

from __future__ import annotations

from pathlib import Path

from pytest_phase7.resolve import Target, TargetKind


def write(root: Path, files: dict[str, str]) -> None:
    """Write ``files`` (relative path -> text) under ``root``, creating folders."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def file_target(rel: str) -> Target:
    """A single-file target."""
    return Target(TargetKind.FILE, rel, (rel,))
