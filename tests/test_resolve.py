"""Target resolution: file in an area, explicit path, dotted module, package, and failures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_phase7.model import Batch, Manifest, WorkItem
from pytest_phase7.resolve import (
    RepoIndex,
    ResolutionState,
    TargetKind,
    resolve_item,
    resolve_items,
    snake_case,
)


def make(root: Path, *files: str) -> None:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def resolve_one(root: Path, modules: dict[str, str] | None = None, **fields: str):
    item = WorkItem(number=1, batch=1, line=3, **fields)
    areas = {" ".join(k.split()).casefold(): v for k, v in (modules or {}).items()}
    return resolve_item(item, RepoIndex(root), areas)


def test_snake_case():
    assert snake_case("Agent Orchestration") == "agent_orchestration"
    assert snake_case("  Player-Experience ") == "player_experience"
    assert snake_case("TTA.dev Utils") == "tta_dev_utils"


def test_file_inside_snake_cased_area_folder(tmp_path: Path):
    make(tmp_path, "src/tta/agent_orchestration/adapters.py", "src/tta/other/adapters.py")
    res = resolve_one(tmp_path, module="Agent Orchestration", file="adapters.py")
    assert res.state is ResolutionState.RESOLVED
    assert res.target is not None
    assert res.target.kind is TargetKind.FILE
    assert res.target.ref == "src/tta/agent_orchestration/adapters.py"
    assert res.target.files == ("src/tta/agent_orchestration/adapters.py",)


def test_file_found_in_a_subfolder_of_the_area(tmp_path: Path):
    make(tmp_path, "player_experience/api/auth.py")
    res = resolve_one(tmp_path, module="Player Experience", file="auth.py")
    assert res.target is not None
    assert res.target.ref == "player_experience/api/auth.py"


def test_configured_area_folder_wins_over_search(tmp_path: Path):
    make(tmp_path, "a/agent_orchestration/adapters.py", "lib/orch/adapters.py")
    res = resolve_one(
        tmp_path,
        {"Agent  Orchestration": "lib/orch"},
        module="agent orchestration",
        file="adapters.py",
    )
    assert res.target is not None
    assert res.target.ref == "lib/orch/adapters.py"


def test_configured_area_folder_missing(tmp_path: Path):
    res = resolve_one(tmp_path, {"Core": "nowhere"}, module="Core", file="x.py")
    assert res.state is ResolutionState.MISSING
    assert "'nowhere'" in res.message


def test_missing_area_folder_reports_what_was_searched(tmp_path: Path):
    make(tmp_path, "src/adapters.py")
    res = resolve_one(tmp_path, module="Agent Orchestration", file="adapters.py")
    assert res.state is ResolutionState.MISSING
    assert res.searched == ("folders named 'agent_orchestration'",)


def test_missing_file_in_existing_area(tmp_path: Path):
    make(tmp_path, "agent_orchestration/agents.py")
    res = resolve_one(tmp_path, module="Agent Orchestration", file="adapters.py")
    assert res.state is ResolutionState.MISSING
    assert res.searched == ("agent_orchestration/**/adapters.py",)


def test_ambiguous_lists_candidates(tmp_path: Path):
    make(tmp_path, "svc/agent_orchestration/x/service.py", "svc/agent_orchestration/y/service.py")
    res = resolve_one(tmp_path, module="Agent Orchestration", file="service.py")
    assert res.state is ResolutionState.AMBIGUOUS
    assert res.candidates == (
        "svc/agent_orchestration/x/service.py",
        "svc/agent_orchestration/y/service.py",
    )
    assert "matches 2 places" in res.message


def test_no_area_searches_whole_rootdir(tmp_path: Path):
    make(tmp_path, "deep/down/only.py")
    res = resolve_one(tmp_path, file="only.py")
    assert res.target is not None
    assert res.target.ref == "deep/down/only.py"


def test_explicit_path(tmp_path: Path):
    make(tmp_path, "src/pkg/mod.py")
    res = resolve_one(tmp_path, target="src/pkg/mod.py", file="ignored.py")
    assert res.target is not None
    assert res.target.ref == "src/pkg/mod.py"


def test_dotted_module_under_src(tmp_path: Path):
    make(tmp_path, "src/tta/agent_orchestration/adapters.py")
    res = resolve_one(tmp_path, target="tta.agent_orchestration.adapters")
    assert res.target is not None
    assert res.target.ref == "src/tta/agent_orchestration/adapters.py"


def test_dotted_package(tmp_path: Path):
    make(tmp_path, "tta/core/__init__.py", "tta/core/a.py", "tta/core/sub/b.py", "tta/other.py")
    res = resolve_one(tmp_path, target="tta.core")
    assert res.target is not None
    assert res.target.kind is TargetKind.PACKAGE
    assert res.target.ref == "tta/core/"
    assert res.target.files == ("tta/core/__init__.py", "tta/core/a.py", "tta/core/sub/b.py")


def test_package_folder_in_file_column(tmp_path: Path):
    make(tmp_path, "app/player_experience/auth.py", "app/player_experience/chars.py")
    res = resolve_one(tmp_path, module="App", file="player_experience/")
    assert res.target is not None
    assert res.target.kind is TargetKind.PACKAGE
    assert len(res.target.files) == 2


def test_dotted_missing(tmp_path: Path):
    res = resolve_one(tmp_path, target="no.such.mod")
    assert res.state is ResolutionState.MISSING
    assert "src/no/such/mod.py" in res.searched


@pytest.mark.parametrize("target", ["../outside.py", "src/../../x.py", "/etc/passwd.py"])
def test_paths_leaving_the_rootdir_are_refused(tmp_path: Path, target: str):
    res = resolve_one(tmp_path, target=target)
    assert res.state is ResolutionState.ESCAPES


def test_dotdot_in_file_column_refused(tmp_path: Path):
    res = resolve_one(tmp_path, module="", file="../secrets.py")
    assert res.state is ResolutionState.ESCAPES


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_escaping_the_rootdir_is_refused(tmp_path: Path):
    outside = tmp_path / "outside"
    make(outside, "evil.py")
    root = tmp_path / "repo"
    (root / "agent_orchestration").mkdir(parents=True)
    (root / "agent_orchestration" / "evil.py").symlink_to(outside / "evil.py")
    res = resolve_item(
        WorkItem(number=1, batch=1, module="Agent Orchestration", file="evil.py"),
        RepoIndex(root),
        {},
    )
    assert res.state is ResolutionState.ESCAPES
    assert "outside the rootdir" in res.message


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinked_folder_escaping_is_refused(tmp_path: Path):
    outside = tmp_path / "outside"
    make(outside, "pkg/mod.py")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "pkg").symlink_to(outside / "pkg", target_is_directory=True)
    res = resolve_item(WorkItem(number=1, batch=1, target="pkg/"), RepoIndex(root), {})
    assert res.state is ResolutionState.ESCAPES


def test_unmapped_item(tmp_path: Path):
    res = resolve_one(tmp_path)
    assert res.state is ResolutionState.UNMAPPED


def test_skipped_folders_are_not_searched(tmp_path: Path):
    make(tmp_path, ".venv/lib/x.py", "node_modules/x.py", "build/x.py", "pkg.egg-info/x.py")
    (tmp_path / "venv2").mkdir()
    (tmp_path / "venv2" / "pyvenv.cfg").write_text("")
    make(tmp_path, "venv2/x.py")
    res = resolve_one(tmp_path, file="x.py")
    assert res.state is ResolutionState.MISSING


def test_resolve_items_walks_once_for_all(tmp_path: Path):
    make(tmp_path, *(f"area/m{i}.py" for i in range(50)))
    items = tuple(
        WorkItem(number=i + 1, batch=1, module="Area", file=f"m{i}.py") for i in range(50)
    )
    manifest = Manifest(
        path="p", format="markdown", batches=(Batch(number=1, title="T", line=1, items=items),)
    )
    resolutions = resolve_items(manifest, tmp_path)
    assert [r.target.ref for r in resolutions if r.target] == [f"area/m{i}.py" for i in range(50)]
