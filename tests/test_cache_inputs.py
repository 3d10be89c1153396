"""Issue 13: cached gate results are never stale, and gate threads share no process-wide state.

Every input a tool reads is in the gate's cache key: change it, and the result is computed
again. An input phase7 cannot know keeps the gate out of the cache (and ``-v`` says why). Tool
executables are found on the main thread before any gate thread starts, and no file phase7
writes flips the process-wide umask.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import coverage
import pytest
from gate_helpers import DictStore, file_target, write

from pytest_phase7 import atomic
from pytest_phase7.cachedir import CacheDirStore
from pytest_phase7.engine import Engine
from pytest_phase7.gates import docstrings as docstrings_module
from pytest_phase7.gates import mypy as mypy_module
from pytest_phase7.gates import ruff as ruff_module
from pytest_phase7.gates.base import Gate, GateRequest, GateResult, GateRun, GateStatus
from pytest_phase7.gates.cache import cached_run, lookup
from pytest_phase7.gates.docstrings import DocstringsGate
from pytest_phase7.gates.mypy import MypyGate
from pytest_phase7.gates.ruff import RuffGate
from pytest_phase7.manifest import load_manifest, parse_toml
from pytest_phase7.model import Manifest
from pytest_phase7.report.terminal import timing_line
from pytest_phase7.resolve.targets import Resolution, resolve_items
from pytest_phase7.settings import Settings

PLAN = """# P

### Batch 1: Refactoring
**Items:** 1

| # | Module | File | Status |
|---|---|---|---|
| 1 | | pkg/mod.py | QUEUED |
"""


def plan_for(root: Path, target: str = "mod.py") -> tuple[Manifest, tuple[Resolution, ...]]:
    """A one-item plan whose target is ``target`` in ``root``, and its resolution."""
    table = {"batches": [{"number": 1, "title": "B", "items": [{"number": 1, "path": target}]}]}
    manifest = parse_toml(table, "phase7.toml")
    return manifest, resolve_items(manifest, root)


def engine_for(root: Path, gates: Sequence[Gate], **settings: object) -> Engine:
    """An engine over one item whose target is ``mod.py`` in ``root``."""
    return Engine(Settings(**settings), *plan_for(root), root, gates)  # type: ignore[arg-type]


def passing(gate: Gate, request: GateRequest) -> GateRun:
    """A run of ``gate`` that passes every target (a stand-in for the tool)."""
    result = GateResult(gate.name, GateStatus.PASS, metric=0.0)
    return GateRun(gate.name, {t.ref: result for t in request.targets})


@pytest.fixture
def umask_027() -> Iterator[int]:
    """Run with umask 027 (group may read, others nothing), restored afterwards."""
    previous = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(previous)


def no_umask_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(mask: int) -> int:
        raise AssertionError(f"os.umask({mask:#o}) changes the mask of every thread")

    monkeypatch.setattr(os, "umask", refuse)


def test_a_new_file_gets_its_mode_from_the_umask_without_setting_it(
    tmp_path: Path, umask_027: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_umask_calls(monkeypatch)
    path = tmp_path / "report.json"
    atomic.write_atomic(path, b"{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask_027
    assert path.read_bytes() == b"{}"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_replaced_file_keeps_its_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_umask_calls(monkeypatch)
    path = tmp_path / "plan.md"
    path.write_bytes(b"old")
    path.chmod(0o604)
    atomic.write_atomic(path, b"new")
    assert (stat.S_IMODE(path.stat().st_mode), path.read_bytes()) == (0o604, b"new")


def test_the_cache_folder_gets_its_modes_from_the_umask_without_setting_it(
    tmp_path: Path, umask_027: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_umask_calls(monkeypatch)
    store = CacheDirStore(tmp_path / ".pytest_cache")
    store.set("phase7/gates/ruff", {"a": 1})
    assert store.problem == ""
    assert store.get("phase7/gates/ruff", None) == {"a": 1}
    folder = tmp_path / ".pytest_cache"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask_027
    value = folder / "v" / "phase7" / "gates" / "ruff"
    assert stat.S_IMODE(value.stat().st_mode) == 0o666 & ~umask_027
    assert stat.S_IMODE((folder / "README.md").stat().st_mode) == 0o666 & ~umask_027
    assert [p.name for p in tmp_path.iterdir()] == [".pytest_cache"]  # no staging folder left


def test_every_tool_is_found_on_the_main_thread_before_any_gate_thread_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ruff.find_ruff_bin reads sysconfig, which is not safe while another thread initialises it.
    (tmp_path / "mod.py").write_text('"""Doc."""\n')
    found_on: dict[str, str] = {}

    def finder(name: str, answer: str) -> Callable[[], str]:
        def find() -> str:
            found_on.setdefault(name, threading.current_thread().name)
            return answer

        return find

    monkeypatch.setattr(ruff_module, "ruff_binary", finder("ruff", "/nonexistent/ruff"))
    monkeypatch.setattr(mypy_module, "python_executable", finder("mypy", "/nonexistent/python"))
    monkeypatch.setattr(
        docstrings_module, "python_executable", finder("docstrings", "/nonexistent/python")
    )
    gates = [RuffGate(), MypyGate(), DocstringsGate()]
    run = engine_for(tmp_path, gates)
    run.start()
    result = run.finish(None)
    assert found_on == dict.fromkeys(("ruff", "mypy", "docstrings"), "MainThread")
    # The executables found there are the ones the gates ran.
    reasons = {r.gate: r.reason for o in result.outcomes for r in o.results}
    assert all("/nonexistent/" in reason for reason in reasons.values()), reasons


def test_a_gate_whose_tool_finder_crashes_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text("x = 1\n")

    class Broken(RuffGate):
        def find_tools(self) -> None:
            raise RuntimeError("no PATH")

    run = engine_for(tmp_path, [Broken()])
    run.start()
    (outcome,) = run.finish(None).outcomes
    assert outcome.results[0].status is GateStatus.ERROR
    assert "crashed finding its tools: RuntimeError: no PATH" in outcome.results[0].reason


# --- every input of a tool is in its gate's cache key ---------------------------------------


class Counted:
    """A built-in gate's cache policy (its real input finder) around a counting fake run."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.calls = 0

    def run(self, gate: Gate, request: GateRequest) -> GateRun:
        self.calls += 1
        return passing(gate, request)


def twice(
    root: Path,
    gate: Gate,
    change: Callable[[], object],
    targets: Sequence[str] = ("pkg/mod.py",),
    project_files: Sequence[str] = (),
    **settings: object,
) -> int:
    """Run ``gate`` through the cache, apply ``change``, run again: how often it really ran."""
    counted, store = Counted(gate), DictStore()
    request = GateRequest(
        root,
        tuple(file_target(t) for t in targets),
        Settings(**settings),  # type: ignore[arg-type]
    )
    first = lookup(gate, request, store, project_files)
    assert first.key is not None, first.uncached
    cached_run(gate, request, store, project_files, counted.run, looked_up=first)
    change()
    cached_run(gate, request, store, project_files, counted.run)
    return counted.calls


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write(root, {"pkg/__init__.py": "", "pkg/mod.py": "import os\n", "pyproject.toml": ""})
    return root


def edit(path: Path, text: str) -> Callable[[], None]:
    def change() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    return change


def test_an_unchanged_project_is_a_hit_for_every_builtin_static_gate(project: Path) -> None:
    for gate in (RuffGate(), MypyGate(), DocstringsGate()):
        assert twice(project, gate, lambda: None) == 1, gate.name


def test_ruff_extend_chains_are_followed_to_the_end(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.ruff]\nextend = "../base.toml"\n')
    base = project.parent / "base.toml"
    base.write_text('extend = "shared/more.toml"\n')
    more = project.parent / "shared" / "more.toml"
    edit(more, "line-length = 80\n")()
    assert twice(project, RuffGate(), edit(base, 'extend = "shared/more.toml"\n# x\n')) == 2
    assert twice(project, RuffGate(), edit(more, "line-length = 10\n")) == 2


def test_a_ruff_extend_chain_that_loops_is_keyed_once_per_file(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.ruff]\nextend = "ruff-base.toml"\n')
    (project / "ruff-base.toml").write_text('extend = "pyproject.toml"\n')
    assert twice(project, RuffGate(), lambda: None) == 1  # ruff itself refuses the loop


@pytest.mark.parametrize("form", [["--config", "ci/ruff.toml"], ["--config=ci/ruff.toml"]])
def test_a_ruff_config_file_named_in_ruff_args_is_keyed(project: Path, form: list[str]) -> None:
    named = project / "ci" / "ruff.toml"
    extending = 'extend = "../../base.toml"\n'
    base = project.parent / "base.toml"
    base.write_text("line-length = 80\n")
    edit(named, extending)()
    assert twice(project, RuffGate(), edit(base, "line-length = 2\n"), ruff_args=form) == 2
    assert twice(project, RuffGate(), edit(named, extending + "# x\n"), ruff_args=form) == 2


def test_an_inline_ruff_config_that_extends_a_file_keys_that_file(project: Path) -> None:
    base = project.parent / "base.toml"
    base.write_text("line-length = 80\n")
    args = ("--config", "extend = '../base.toml'")
    assert twice(project, RuffGate(), edit(base, "line-length = 2\n"), ruff_args=args) == 2


@pytest.mark.parametrize(
    ("config", "new"),
    [
        ("", "mymod.py"),  # a top-level module in the project root
        ("", "mymod/"),  # a top-level package (any folder counts)
        ("", "src/mymod.py"),  # ruff's default src = [".", "src"]
        ('[tool.ruff]\nsrc = ["lib"]\n', "lib/mymod.pyi"),  # a configured src folder
        ('[tool.ruff]\nsrc = ["libs/*"]\n', "libs/one/mymod.py"),  # a globbed one
    ],
)
def test_ruff_first_party_detection_is_keyed(project: Path, config: str, new: str) -> None:
    (project / "pyproject.toml").write_text(config)
    (project / "libs" / "one").mkdir(parents=True)
    path = project / new

    def change() -> None:
        if new.endswith("/"):
            path.mkdir()
        else:
            edit(path, "")()

    assert twice(project, RuffGate(), change) == 2


def test_files_that_cannot_be_modules_do_not_change_ruffs_key(project: Path) -> None:
    # pytest and coverage write these into the rootdir on every run, and Python writes the
    # bytecode of the modules the tests import (unless PYTHONDONTWRITEBYTECODE is set).
    def change() -> None:
        (project / ".coverage.host.1.x").write_text("")
        (project / ".pytest_cache").mkdir()
        (project / "notes.txt").write_text("")
        (project / "__pycache__").mkdir()
        (project / "pkg" / "__pycache__").mkdir()

    assert twice(project, RuffGate(), change) == 1


def test_the_package_root_ruff_detects_is_keyed(project: Path) -> None:
    assert twice(project, RuffGate(), (project / "pkg" / "__init__.py").unlink) == 2
    assert twice(project, RuffGate(), edit(project / "__init__.py", "")) == 2


def test_ruff_user_config_below_xdg_config_home_is_keyed(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    user = tmp_path / "xdg" / "ruff" / "ruff.toml"
    edit(user, "line-length = 80\n")()
    assert twice(project, RuffGate(), edit(user, "line-length = 1\n")) == 2


@pytest.mark.parametrize(
    "form",
    [["--config-file", "ci/mypy.ini"], ["--config-file=ci/mypy.ini"], ["--config-f=ci/mypy.ini"]],
)
def test_a_mypy_config_file_named_in_mypy_args_is_keyed(project: Path, form: list[str]) -> None:
    named = project / "ci" / "mypy.ini"
    edit(named, "[mypy]\nstrict = False\n")()
    assert twice(project, MypyGate(), edit(named, "[mypy]\nstrict = True\n"), mypy_args=form) == 2


def test_a_plugins_own_section_in_the_named_mypy_config_is_keyed(project: Path) -> None:
    named = project / "ci" / "mypy.toml"
    body = "[tool.mypy]\n\n[tool.pydantic-mypy]\ninit_forbid_extra = {}\n"
    edit(named, body.format("false"))()
    args = ("--config-file", "ci/mypy.toml")
    assert twice(project, MypyGate(), edit(named, body.format("true")), mypy_args=args) == 2


def test_mypy_path_folders_are_keyed(project: Path) -> None:
    # Outside the rootdir, and relative to the config file's folder as mypy expands it.
    (project / "mypy.ini").write_text(
        "[mypy]\nmypy_path = $MYPY_CONFIG_FILE_DIR/../stubs, typings\n"
    )
    stub = project.parent / "stubs" / "extlib" / "__init__.pyi"
    edit(stub, "def f() -> int: ...\n")()
    assert twice(project, MypyGate(), edit(stub, "def f() -> str: ...\n")) == 2
    hidden = project / "typings" / "other.pyi"  # a folder the project walk may skip
    assert twice(project, MypyGate(), edit(hidden, "X: int\n")) == 2


def test_mypy_path_in_pyproject_and_mypypath_are_keyed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text('[tool.mypy]\nmypy_path = ["../stubs"]\n')
    stub = project.parent / "stubs" / "a.pyi"
    edit(stub, "A: int\n")()
    assert twice(project, MypyGate(), edit(stub, "A: str\n")) == 2
    env = project.parent / "env-stubs"
    monkeypatch.setenv("MYPYPATH", str(env))
    assert twice(project, MypyGate(), edit(env / "b.pyi", "B: int\n")) == 2


def test_a_pyi_stub_beside_a_target_is_keyed_in_the_phase7_command(project: Path) -> None:
    # pytest --phase7 passes the project's files; phase7 gate did not (the stub was not keyed).
    from pytest_phase7.cli import gate_manifest

    (project / "PLAN.md").write_text(PLAN)
    data = project / ".coverage"
    cov = coverage.Coverage(data_file=str(data))
    cov.get_data().write()
    calls = []

    class Mypy(MypyGate):
        def run(self, request: GateRequest) -> GateRun:
            calls.append(1)
            return passing(self, request)

    store = DictStore()
    manifest = load_manifest(project / "PLAN.md")
    gate_manifest(project, manifest, Settings(), [Mypy()], data, store=store)
    (project / "pkg" / "mod.pyi").write_text("def f() -> int: ...\n")
    gate_manifest(project, manifest, Settings(), [Mypy()], data, store=store)
    assert len(calls) == 2


def test_mypy_plugin_files_are_keyed(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    edit(site / "corp_plugin" / "mypy.py", "def plugin(version): ...\n")()
    monkeypatch.syspath_prepend(str(site))
    (project / "mypy.ini").write_text(
        "[mypy]\nplugins = tools/local_plugin.py:entry, corp_plugin.mypy\n"
    )
    local = project / "tools" / "local_plugin.py"
    edit(local, "def entry(version): ...\n")()
    assert twice(project, MypyGate(), edit(local, "def entry(v): ...\n")) == 2
    module = site / "corp_plugin" / "mypy.py"
    assert twice(project, MypyGate(), edit(module, "def plugin(v): ...\n")) == 2


def test_editable_installs_outside_the_rootdir_are_keyed(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An editable install's files change with no install record changing; mypy reads them.
    site = tmp_path / "site"
    site.mkdir()
    (site / "_editable_impl_other.pth").write_text(str(tmp_path / "other" / "src") + "\n")
    (site / "__editable___lib_1_0_finder.py").write_text(
        f"MAPPING = {{'lib': {str(tmp_path / 'lib' / 'lib')!r}}}\n"
    )
    monkeypatch.syspath_prepend(str(site))
    other = tmp_path / "other" / "src" / "other" / "__init__.py"
    edit(other, "X = 1\n")()
    lib = tmp_path / "lib" / "lib" / "core.py"
    edit(lib, "Y = 1\n")()
    assert twice(project, MypyGate(), edit(other, "X = ''\n")) == 2
    assert twice(project, MypyGate(), edit(lib, "Y = ''\n")) == 2
    assert twice(project, RuffGate(), edit(lib, "Y = 2\n")) == 1  # ruff reads no imports


@pytest.mark.parametrize("form", [["-c", "ci/i.toml"], ["-cci/i.toml"], ["--config=ci/i.toml"]])
def test_an_interrogate_config_named_in_its_args_is_keyed(project: Path, form: list[str]) -> None:
    named = project / "ci" / "i.toml"
    edit(named, "[tool.interrogate]\nfail-under = 50\n")()
    change = edit(named, "[tool.interrogate]\nfail-under = 60\n")
    assert twice(project, DocstringsGate(), change, interrogate_args=form) == 2


@pytest.mark.parametrize(
    ("files", "settings", "why"),
    [
        ({}, {"mypy_args": ("--custom-typeshed-dir", "ts")}, "--custom-typeshed-dir"),
        ({}, {"mypy_args": ("--python-exec=/usr/bin/python3",)}, "--python-executable"),
        ({"mypy.ini": "[mypy]\npython_executable = /usr/bin/python2\n"}, {}, "python_executable"),
        ({"mypy.ini": "[mypy]\nplugins = nowhere_to_be_found.plugin\n"}, {}, "nowhere_to_be_found"),
        ({"mypy.ini": "[mypy\nplugins = a\n"}, {}, "cannot read"),
    ],
)
def test_a_mypy_input_that_cannot_be_known_is_not_cached(
    project: Path, files: dict[str, str], settings: dict[str, object], why: str
) -> None:
    write(project, files)
    gate, store = MypyGate(), DictStore()
    request = GateRequest(project, (file_target("pkg/mod.py"),), Settings(**settings))  # type: ignore[arg-type]
    found = lookup(gate, request, store, ())
    assert found.key is None
    assert why in found.uncached


def test_an_uncached_gate_says_why_at_verbose(project: Path) -> None:
    (project / "mod.py").write_text("x = 1\n")
    (project / "mypy.ini").write_text("[mypy]\nplugins = nowhere_to_be_found.plugin\n")

    class Mypy(MypyGate):
        def run(self, request: GateRequest) -> GateRun:
            return passing(self, request)

    run = Engine(Settings(), *plan_for(project), project, [Mypy()], store=DictStore())
    run.start()
    line = timing_line(run.finish(None))
    assert "mypy" in line
    assert "(not cached: cannot find the file of mypy plugin 'nowhere_to_be_found.plugin')" in line


@pytest.mark.slow
def test_real_ruff_sees_a_new_first_party_module_on_the_next_run(tmp_path: Path) -> None:
    # Both caches must miss: phase7's (keyed by the src folders' names) and ruff's own, which
    # does not know about first-party detection (so the gate runs ruff with --no-cache).
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.ruff.lint]\nselect = ["I"]\n',
            "mod.py": "import os\n\nimport attrs\nimport mymod\n\nprint(os, attrs, mymod)\n",
        },
    )
    store = DictStore()

    def violations() -> float | None:
        run = Engine(Settings(), *plan_for(tmp_path), tmp_path, [RuffGate()], store=store)
        run.start()
        (outcome,) = run.finish(None).outcomes
        return outcome.results[0].metric

    assert violations() == 0  # mymod is third-party, sorted with attrs
    (tmp_path / "mymod.py").write_text("")
    assert violations() == 1  # first-party now: I001, it belongs in a block of its own
    (tmp_path / "mymod.py").unlink()
    assert violations() == 0


@pytest.mark.slow
def test_real_ruff_follows_an_extend_chain_outside_the_rootdir(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write(
        root,
        {"pyproject.toml": '[tool.ruff]\nextend = "../base.toml"\n', "mod.py": "import os\n"},
    )
    base = tmp_path / "base.toml"
    base.write_text('[lint]\nselect = ["E"]\n')
    store = DictStore()

    def violations() -> float | None:
        run = Engine(Settings(), *plan_for(root), root, [RuffGate()], store=store)
        run.start()
        (outcome,) = run.finish(None).outcomes
        return outcome.results[0].metric

    assert violations() == 0
    base.write_text('[lint]\nselect = ["F401"]\n')
    assert violations() == 1
