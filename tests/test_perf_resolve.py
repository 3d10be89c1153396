"""RepoIndex answers from caches: the same answers as asking the filesystem every time.

``inside`` resolves one folder once and lstat()s each ref once; ``python_files`` bisects a sorted
list. Each is compared here with the plain computation (``os.path.realpath`` of the whole path,
a scan of every file) over trees holding every kind of symlink.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_phase7.model import Batch, Manifest, WorkItem
from pytest_phase7.resolve.targets import RepoIndex, ResolutionState, resolve_items

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")


def make(root: Path, *files: str) -> None:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def plain_inside(rootdir: Path, rel: str) -> bool:
    """``RepoIndex.inside`` as it was: realpath of the whole path, every time."""
    real_root = Path(os.path.realpath(rootdir))
    real = Path(os.path.realpath(rootdir / rel))
    return real == real_root or real_root in real.parents


@pytest.fixture
def linked_tree(tmp_path: Path) -> tuple[Path, list[str]]:
    """A repo with file and folder links pointing inside and outside, and the paths to ask."""
    outside = tmp_path / "outside"
    make(outside, "secret.py", "pkg/mod.py")
    root = tmp_path / "repo"
    make(root, "pkg/__init__.py", "pkg/mod.py", "pkg/sub/deep.py", "other/x.py")
    (root / "pkg" / "leak.py").symlink_to(outside / "secret.py")
    (root / "pkg" / "alias.py").symlink_to(root / "pkg" / "mod.py")
    (root / "pkg" / "sub" / "up.py").symlink_to(root / "other" / "x.py")
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "in").symlink_to(root / "pkg", target_is_directory=True)
    (root / "parent").symlink_to(tmp_path, target_is_directory=True)
    (root / "pkg" / "loop").symlink_to(root / "pkg" / "loop2")
    (root / "pkg" / "loop2").symlink_to(root / "pkg" / "loop")
    (root / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    asked = [
        "pkg",
        "pkg/mod.py",
        "pkg/leak.py",
        "pkg/alias.py",
        "pkg/sub/deep.py",
        "pkg/sub/up.py",
        "out",
        "out/secret.py",
        "out/pkg/mod.py",
        "in",
        "in/mod.py",
        "in/leak.py",
        "in/sub/deep.py",
        "parent",
        "parent/repo",
        "parent/repo/pkg/mod.py",
        "parent/outside/secret.py",
        "pkg/loop",
        "pkg/loop/x.py",
        "dangling.py",
        "missing/nothing.py",
        "./pkg/mod.py",
        "pkg/./mod.py",
        "pkg/sub/..",
        ".",
    ]
    return root, asked


@needs_symlinks
def test_inside_agrees_with_realpath_for_every_kind_of_link(
    linked_tree: tuple[Path, list[str]],
) -> None:
    root, asked = linked_tree
    expected = {rel: plain_inside(root, rel) for rel in asked}
    # Both answers occur, or the comparison would prove little.
    assert set(expected.values()) == {True, False}
    index = RepoIndex(root)
    assert {rel: index.inside(rel) for rel in asked} == expected
    # Cached answers stay right, and asking in another order (other folders cached first) too.
    assert {rel: index.inside(rel) for rel in asked} == expected
    fresh = RepoIndex(root)
    assert {rel: fresh.inside(rel) for rel in reversed(asked)} == expected


@needs_symlinks
def test_a_folder_cache_does_not_decide_for_a_linked_file(tmp_path: Path) -> None:
    make(tmp_path / "outside", "secret.py")
    root = tmp_path / "repo"
    make(root, "pkg/mod.py")
    (root / "pkg" / "leak.py").symlink_to(tmp_path / "outside" / "secret.py")
    index = RepoIndex(root)
    assert index.inside("pkg/mod.py") is True  # the folder is now known to be inside
    assert index.inside("pkg/leak.py") is False


@needs_symlinks
def test_the_rootdir_seen_through_a_link_to_its_parent_is_inside(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make(root, "a.py")
    (root / "parent").symlink_to(tmp_path, target_is_directory=True)
    index = RepoIndex(root)
    assert index.inside("parent") is False
    assert index.inside("parent/repo") is True
    assert index.inside("parent/other") is False


@needs_symlinks
def test_a_rootdir_reached_through_a_link(tmp_path: Path) -> None:
    make(tmp_path / "real", "pkg/mod.py")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    index = RepoIndex(tmp_path / "link")
    assert index.inside("pkg/mod.py") is True
    assert index.python_files("pkg/") == ("pkg/mod.py",)


@needs_symlinks
def test_items_relisting_a_linked_target_all_escape(tmp_path: Path) -> None:
    make(tmp_path / "outside", "secret.py")
    root = tmp_path / "repo"
    make(root, "core/ok.py")
    (root / "core" / "secret.py").symlink_to(tmp_path / "outside" / "secret.py")
    items = tuple(
        WorkItem(number=n, batch=1, module="Core", file=name)
        for n, name in enumerate(["ok.py", "secret.py"] * 3, 1)
    )
    manifest = Manifest(
        path="p", format="markdown", batches=(Batch(number=1, title="T", line=1, items=items),)
    )
    states = [r.state for r in resolve_items(manifest, root)]
    assert states == [ResolutionState.RESOLVED, ResolutionState.ESCAPES] * 3


def plain_python_files(index: RepoIndex, rel_dir: str) -> tuple[str, ...]:
    """``RepoIndex.python_files`` as it was: a scan of every file the walk found."""
    base = rel_dir.rstrip("/") + "/"
    return tuple(
        sorted(
            path
            for paths in index.files_by_name.values()
            for path in paths
            if path.startswith(base) and path.endswith(".py")
        )
    )


def test_python_files_match_a_scan_of_every_file(tmp_path: Path) -> None:
    make(
        tmp_path,
        "pkg/__init__.py",
        "pkg/a.py",
        "pkg/a.pyi",
        "pkg/sub/b.py",
        "pkg/sub/deeper/c.py",
        "pkg2/d.py",
        "pkg-x/e.py",
        "pkg.py",
        "pkga.py",
        "top.py",
        "z/pkg/f.py",
    )
    index = RepoIndex(tmp_path)
    folders = ["pkg", "pkg/", "pkg/sub", "pkg/sub/deeper/", "pkg2", "z", "z/pkg", "nope", "pk"]
    for folder in folders:
        assert index.python_files(folder) == plain_python_files(index, folder), folder
    # Asked again (cached), the same; and the files found at all are sorted.
    assert index.python_files("pkg/") == plain_python_files(index, "pkg")
    assert index.python_files("pkg") == (
        "pkg/__init__.py",
        "pkg/a.py",
        "pkg/sub/b.py",
        "pkg/sub/deeper/c.py",
    )
    everything = index.all_python_files()
    assert list(everything) == sorted(everything)
    assert "pkg/a.pyi" in everything
