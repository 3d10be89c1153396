"""Target resolution: file in an area, explicit path, dotted module, package, and failures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_phase7.model import Batch, Manifest, WorkItem
from pytest_phase7.resolve.targets import (
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


def test_area_without_a_folder_narrows_nothing(tmp_path: Path):
    make(tmp_path, "src/adapters.py")
    res = resolve_one(tmp_path, module="Agent Orchestration", file="adapters.py")
    assert res.target is not None
    assert res.target.ref == "src/adapters.py"
    assert res.searched == ("./**/adapters.py",)
    missing = resolve_one(tmp_path, module="Agent Orchestration", file="agents.py")
    assert missing.message == (
        "no 'agents.py' in the whole rootdir (and no folder is named 'agent_orchestration')"
    )


def test_area_without_a_folder_is_ambiguous_only_when_the_rootdir_is(tmp_path: Path):
    make(tmp_path, "src/click/core.py", "tests/core.py")
    res = resolve_one(tmp_path, module="Utilities", file="core.py")
    assert res.state is ResolutionState.AMBIGUOUS
    assert res.candidates == ("src/click/core.py", "tests/core.py")
    missing = resolve_one(tmp_path, module="Utilities", file="nowhere.py")
    assert missing.state is ResolutionState.MISSING
    assert missing.message == (
        "no 'nowhere.py' in the whole rootdir (and no folder is named 'utilities')"
    )
    assert (
        resolve_one(tmp_path, file="nowhere.py").message == "no 'nowhere.py' in the whole rootdir"
    )


def test_area_without_a_folder_prefers_folders_containing_its_name(tmp_path: Path):
    make(tmp_path, "src/agent_orchestration/service.py", "src/billing/service.py")
    res = resolve_one(tmp_path, module="Orchestration", file="service.py")
    assert res.target is not None
    assert res.target.ref == "src/agent_orchestration/service.py"
    assert "preferring folders named like 'Orchestration'" in res.via


def test_file_only_outside_the_area_folders_is_missing_with_its_candidates(tmp_path: Path):
    make(tmp_path, "tests/player_experience/test_auth.py", "src/app/auth.py")
    res = resolve_one(tmp_path, module="Player Experience", file="auth.py")
    assert res.state is ResolutionState.MISSING
    assert res.candidates == ("src/app/auth.py",)
    assert res.message == (
        "no 'auth.py' in folders named 'player_experience'; elsewhere: src/app/auth.py"
    )


@pytest.mark.parametrize("area", ["Core", "Agent Orchestration", ""])
def test_file_cell_holding_a_path_is_that_path_whatever_the_area(tmp_path: Path, area: str):
    make(tmp_path, "src/click/core.py", "agent_orchestration/core.py", "core/x.py")
    res = resolve_one(tmp_path, module=area, file="src/click/core.py")
    assert res.target is not None
    assert res.target.ref == "src/click/core.py"
    assert res.via == "the File cell (a path)"


def test_file_cell_holding_a_folder_path(tmp_path: Path):
    make(tmp_path, "src/click/core.py", "src/click/types.py")
    res = resolve_one(tmp_path, module="Core", file="src/click/")
    assert res.target is not None
    assert res.target.kind is TargetKind.PACKAGE
    assert res.target.files == ("src/click/core.py", "src/click/types.py")


def test_file_cell_partial_path_is_still_searched_in_the_area(tmp_path: Path):
    make(tmp_path, "src/player_experience/api/routers/auth.py", "src/player_experience/auth.py")
    res = resolve_one(tmp_path, module="Player Experience", file="routers/auth.py")
    assert res.target is not None
    assert res.target.ref == "src/player_experience/api/routers/auth.py"


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
    assert res.message == (
        "'service.py' matches 2 files in folders named 'agent_orchestration': "
        "svc/agent_orchestration/x/service.py, svc/agent_orchestration/y/service.py"
    )


def test_a_long_candidate_list_is_counted(tmp_path: Path):
    make(tmp_path, *(f"pkg{i}/util.py" for i in range(12)))
    res = resolve_one(tmp_path, file="util.py")
    assert len(res.candidates) == 12
    assert res.message == (
        "'util.py' matches 12 files in the whole rootdir: "
        "pkg0/util.py, pkg1/util.py, pkg10/util.py and 9 more"
    )


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


# --- [tool.phase7.targets] -----------------------------------------------------------------


def _plan(*items: WorkItem) -> Manifest:
    return Manifest(
        path="PLAN.md",
        format="markdown",
        batches=(Batch(number=1, title="T", line=1, items=items),),
    )


def _configured(root: Path, entries: str, *, file: str = "pyproject.toml"):
    from pytest_phase7.settings import load_table, resolve

    header = (
        "[tool.phase7]\n\n[tool.phase7.targets]\n"
        if file == "pyproject.toml"
        else "enabled = true\n[targets]\n"
    )
    (root / file).write_text(header + entries)
    table, label = load_table(root)
    return resolve({}, {}, table, table_path=label).targets


def test_configured_target_wins_over_the_plans_cells(tmp_path: Path):
    make(tmp_path, "a/service.py", "b/service.py", "src/pkg/core.py", "src/pkg/sub/__init__.py")
    items = (
        WorkItem(number=3, batch=1, module="Core", file="service.py"),
        WorkItem(number=4, batch=1, target="src/pkg/core.py"),
        WorkItem(number=5, batch=1),  # not mapped by the plan at all
        WorkItem(number=6, batch=1, module="Core", file="service.py"),
    )
    targets = _configured(tmp_path, '3 = "b/service.py"\n4 = "a/service.py"\n5 = "pkg.sub"\n')
    resolutions = resolve_items(_plan(*items), tmp_path, targets=targets)
    assert [r.target.ref if r.target else r.state for r in resolutions] == [
        "b/service.py",
        "a/service.py",
        "src/pkg/sub/",
        ResolutionState.AMBIGUOUS,
    ]
    assert resolutions[0].via == "[tool.phase7.targets]"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('9 = "a/x.py"', r"\[tool.phase7.targets\] 9 = 'a/x.py': PLAN.md has no item 9$"),
        ('1 = "a/nope.py"', r"1 = 'a/nope.py': does not exist in the rootdir$"),
        ('1 = "../x.py"', r"1 = '../x.py': leaves the rootdir$"),
        (
            '1 = "/etc/x.py"',
            r"1 = '/etc/x.py': is an absolute path; give it relative to the rootdir$",
        ),
        ('1 = "no.such.mod"', r"no module 'no.such.mod' under the rootdir or src/$"),
    ],
)
def test_bad_configured_target_names_the_config_line(tmp_path: Path, entry: str, message: str):
    from pytest_phase7.errors import ConfigError

    make(tmp_path, "a/x.py")
    targets = _configured(tmp_path, f'1 = "a/x.py"\n{entry}\n' if entry[0] != "1" else entry + "\n")
    with pytest.raises(ConfigError, match=message) as info:
        resolve_items(_plan(WorkItem(number=1, batch=1, file="x.py")), tmp_path, targets=targets)
    assert info.value.path == str(tmp_path / "pyproject.toml")
    assert info.value.line == (5 if entry[0] != "1" else 4)


def test_configured_target_in_phase7_toml(tmp_path: Path):
    from pytest_phase7.errors import ConfigError

    targets = _configured(tmp_path, '2 = "gone.py"\n', file="phase7.toml")
    with pytest.raises(ConfigError) as info:
        resolve_items(_plan(WorkItem(number=2, batch=1, file="x.py")), tmp_path, targets=targets)
    assert str(info.value) == (
        f"{tmp_path / 'phase7.toml'}:3: [targets] 2 = 'gone.py': does not exist in the rootdir"
    )


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
@pytest.mark.parametrize("link", ["leak.py", "leakdir"])
def test_configured_target_through_a_symlink_out_of_the_rootdir(tmp_path: Path, link: str):
    from pytest_phase7.errors import ConfigError

    outside = tmp_path / "outside"
    make(outside, "secret.py", "dir/mod.py")
    root = tmp_path / "repo"
    root.mkdir()
    (root / link).symlink_to(outside / ("secret.py" if link == "leak.py" else "dir"))
    targets = _configured(root, f'1 = "{link}"\n')
    with pytest.raises(
        ConfigError, match=f"1 = '{link}': .*resolves outside the rootdir \\(symlink\\)$"
    ) as info:
        resolve_items(_plan(WorkItem(number=1, batch=1, file="x.py")), root, targets=targets)
    assert info.value.line == 4


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[tool.phase7]\ntargets = ["a.py"]\n', r":2: \[tool.phase7\] targets must be a table"),
        ('[tool.phase7.targets]\nthree = "a.py"\n', r":2: \[tool.phase7.targets\] 'three' is not"),
        ('[tool.phase7.targets]\n03 = "a.py"\n', r":2: \[tool.phase7.targets\] '03' is not an"),
        (
            "[tool.phase7.targets]\n3 = 4\n",
            r":2: \[tool.phase7.targets\] item 3 must map to a path",
        ),
        ('[tool.phase7.targets]\n3 = " "\n', r":2: \[tool.phase7.targets\] item 3 must map to a"),
        ("[tool.phase7]\ntargets = { 3 = 1 }\n", r":2: \[tool.phase7.targets\] item 3 must map"),
    ],
)
def test_malformed_targets_table_names_the_line(tmp_path: Path, table: str, message: str):
    from pytest_phase7.errors import ConfigError
    from pytest_phase7.settings import load_table, resolve

    (tmp_path / "pyproject.toml").write_text(table)
    loaded, label = load_table(tmp_path)
    with pytest.raises(ConfigError, match=message):
        resolve({}, {}, loaded, table_path=label)


def test_fix_lines_propose_a_candidate_per_item_and_name_the_others(tmp_path: Path):
    from pytest_phase7.resolve.targets import fix_lines

    make(tmp_path, "x/a/service.py", "x/b/service.py", "p/1/auth.py", "p/2/auth.py", "p/3/auth.py")
    make(tmp_path, "tests/core/test_x.py", "src/core.py")
    items = (
        WorkItem(number=3, batch=1, file="service.py"),
        WorkItem(number=4, batch=1, file="auth.py"),
        WorkItem(number=5, batch=1, module="Core", file="core.py"),
        WorkItem(number=6, batch=1, file="gone.py"),
    )
    resolutions = resolve_items(_plan(*items), tmp_path)
    assert fix_lines(resolutions, "pyproject.toml", "tool.phase7.targets") == [
        "to choose each target, add to pyproject.toml (keep the right path):",
        "  [tool.phase7.targets]",
        '  3 = "x/a/service.py"  # or x/b/service.py',
        '  4 = "p/1/auth.py"  # or one of the 2 other candidates',
        '  5 = "src/core.py"',
        '  # 6 = "..."  (nothing matches: correct the plan or give a path)',
    ]
    assert fix_lines(resolutions[2:3], "phase7.toml", "targets", True) == [
        "to choose each target, add to [targets] of phase7.toml (keep the right path):",
        '  5 = "src/core.py"',
    ]
    assert fix_lines(resolutions[3:], "pyproject.toml", "tool.phase7.targets") == []
