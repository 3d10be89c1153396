"""Security: no shell, no evaluation of manifest content, targets confined to the rootdir.

The static checks read the plugin's source with :mod:`ast` (a grep would be fooled by comments,
strings and line breaks); the behavioural checks feed hostile manifests and settings to the real
loaders, resolver and gates.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pytest_phase7.errors import ManifestError
from pytest_phase7.gates.base import GateRequest, GateStatus
from pytest_phase7.gates.ruff import RuffGate
from pytest_phase7.manifest import load_manifest
from pytest_phase7.resolve.project import find_manifest
from pytest_phase7.resolve.targets import ResolutionState, Target, TargetKind, resolve_items
from pytest_phase7.settings import resolve

PACKAGE = Path(__file__).resolve().parents[1] / "pytest_phase7"
SOURCES = sorted(PACKAGE.rglob("*.py"))

#: Calls that run a command line through a shell, or evaluate text as code.
FORBIDDEN_CALLS = {
    "os.system",
    "os.popen",
    "os.spawnl",
    "os.spawnlp",
    "os.execl",
    "os.execlp",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "eval",
    "exec",
    "compile",
    "__import__",
    "pickle.load",
    "pickle.loads",
    "marshal.load",
    "marshal.loads",
}

#: Calls whose first argument is a command: it must be an argument list, never a string.
COMMAND_CALLS = {
    "subprocess.run",
    "subprocess.Popen",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "run_tool",
}


def dotted(node: ast.expr) -> str:
    """``subprocess.run`` for ``subprocess.run``, ``eval`` for ``eval`` ('' otherwise)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def calls(path: Path) -> list[tuple[ast.Call, ast.AST]]:
    """Every call in a module, with the function (or module) it appears in."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[ast.Call, ast.AST]] = []

    def visit(node: ast.AST, scope: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else scope
            if isinstance(child, ast.Call):
                found.append((child, scope))
            visit(child, inner)

    visit(tree, tree)
    return found


def is_argument_list(node: ast.expr, scope: ast.AST) -> bool:
    """A list/tuple display, or a name every assignment in its function makes one."""
    if isinstance(node, (ast.List, ast.Tuple, ast.ListComp)):
        return True
    if not isinstance(node, ast.Name):
        return False
    values = [
        assign.value
        for assign in ast.walk(scope)
        if isinstance(assign, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == node.id for t in assign.targets)
    ]
    return bool(values) and all(isinstance(v, (ast.List, ast.ListComp)) for v in values)


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}"


def test_the_scan_sees_the_whole_package() -> None:
    names = {path.name for path in SOURCES}
    assert {"tools.py", "ruff.py", "mypy.py", "docstrings.py", "markdown.py", "toml.py"} <= names
    # ... and recognises what it looks for.
    sample = ast.parse("subprocess.run('ls', shell=True)\neval(x)\n")
    first, second = (node for node in ast.walk(sample) if isinstance(node, ast.Call))
    assert dotted(first.func) == "subprocess.run"
    assert not is_argument_list(first.args[0], sample)
    assert dotted(second.func) == "eval"


def test_no_call_runs_a_shell() -> None:
    offenders = [
        where(path, call)
        for path in SOURCES
        for call, _ in calls(path)
        for keyword in call.keywords
        if keyword.arg == "shell"
        and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False)
    ]
    assert offenders == []


def test_nothing_is_evaluated_or_run_through_a_shell() -> None:
    offenders = [
        f"{where(path, call)} {dotted(call.func)}"
        for path in SOURCES
        for call, _ in calls(path)
        if dotted(call.func) in FORBIDDEN_CALLS
    ]
    assert offenders == []


def test_commands_are_argument_lists() -> None:
    seen = []
    offenders = []
    for path in SOURCES:
        for call, scope in calls(path):
            name = dotted(call.func)
            if name not in COMMAND_CALLS:
                continue
            seen.append(name)
            if not call.args or not is_argument_list(call.args[0], scope):
                offenders.append(where(path, call))
    assert offenders == []
    assert "subprocess.Popen" in seen  # tools.run_tool, the one place tools start
    assert seen.count("run_tool") >= 4  # ruff (3 calls), mypy (2), docstrings (1)


def test_modules_are_imported_by_literal_name_only() -> None:
    offenders = [
        where(path, call)
        for path in SOURCES
        for call, _ in calls(path)
        if dotted(call.func) in {"importlib.import_module", "import_module"}
        and not (call.args and isinstance(call.args[0], ast.Constant))
    ]
    assert offenders == []


# --- behaviour -------------------------------------------------------------------------------

HOSTILE = "__import__('os').system('touch pwned')"


def test_manifest_content_is_data_never_code(tmp_path: Path) -> None:
    plan = tmp_path / "PLAN.md"
    plan.write_text(
        f"# {HOSTILE}\n\n### Batch 1: {HOSTILE}\n**Items:** 1-1\n**Focus:** $(touch pwned)\n\n"
        f"| # | Module | File | Status | Owner |\n|---|---|---|---|---|\n"
        f"| 1 | `rm -rf /` | {HOSTILE}.py | QUEUED | {{{{7*7}}}} |\n",
        encoding="utf-8",
    )
    manifest = load_manifest(plan)
    item = manifest.items[0]
    assert manifest.title == HOSTILE
    assert item.file == f"{HOSTILE}.py"
    assert item.extra == (("Owner", "{{7*7}}"),)
    toml = tmp_path / "phase7.toml"
    toml.write_text(
        f'title = "{HOSTILE}"\n[[batches]]\nnumber = 1\ntitle = "$(touch pwned)"\nitems = "1"\n',
        encoding="utf-8",
    )
    assert load_manifest(toml).batches[0].title == "$(touch pwned)"
    assert not list(tmp_path.rglob("pwned"))


@pytest.mark.slow
def test_tool_arguments_from_settings_never_reach_a_shell(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("X = 1\n")
    settings = resolve({}, {}, {"ruff_args": "--select E; touch pwned $(touch pwned2) `touch x`"})
    assert settings.ruff_args == (
        "--select",
        "E;",
        "touch",
        "pwned",
        "$(touch",
        "pwned2)",
        "`touch",
        "x`",
    )
    request = GateRequest(tmp_path, (Target(TargetKind.FILE, "a.py", ("a.py",)),), settings)
    result = RuffGate().run(request).results["a.py"]
    # ruff is handed the words as arguments: it refuses them, and nothing ran them.
    assert result.status is GateStatus.ERROR
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py"]


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """A rootdir with a package, and a folder outside it holding a secret module."""
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    (root / "pkg").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.py").write_text("SECRET = 1\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text("X = 1\n")
    return root, outside


def resolve_paths(root: Path, *paths: str) -> list[tuple[ResolutionState, tuple[str, ...]]]:
    rows = "".join(f"| {n} | {p} | QUEUED |\n" for n, p in enumerate(paths, 1))
    plan = root / "PLAN.md"
    plan.write_text(
        f"### Batch 1: Unit Tests\n\n| # | Path | Status |\n|---|---|---|\n{rows}", encoding="utf-8"
    )
    manifest = load_manifest(plan)
    plan.unlink()
    return [(r.state, r.target.files if r.target else ()) for r in resolve_items(manifest, root)]


def test_targets_are_confined_to_the_rootdir(project: tuple[Path, Path]) -> None:
    root, outside = project
    (root / "pkg" / "leak.py").symlink_to(outside / "secret.py")
    (root / "linked").symlink_to(outside)
    (root / "pkg" / "inner.py").symlink_to(root / "pkg" / "mod.py")  # inside: fine
    states = resolve_paths(
        root,
        "../outside/secret.py",
        "pkg/../../outside/secret.py",
        str(outside / "secret.py"),
        "pkg/leak.py",
        "linked/",
        "pkg/inner.py",
    )
    escapes = (ResolutionState.ESCAPES, ())
    assert states[:5] == [escapes] * 5
    assert states[5] == (ResolutionState.RESOLVED, ("pkg/inner.py",))


def test_a_package_target_leaves_out_files_that_link_outside(project: tuple[Path, Path]) -> None:
    root, outside = project
    (root / "pkg" / "leak.py").symlink_to(outside / "secret.py")
    [(state, files)] = resolve_paths(root, "pkg/")
    assert state is ResolutionState.RESOLVED
    assert files == ("pkg/__init__.py", "pkg/mod.py")


def test_a_module_area_folder_outside_the_rootdir_is_refused(project: tuple[Path, Path]) -> None:
    root, outside = project
    plan = root / "PLAN.md"
    plan.write_text(
        "### Batch 1: Unit Tests\n\n| # | Module | File | Status |\n|---|---|---|---|\n"
        "| 1 | Core | secret.py | QUEUED |\n",
        encoding="utf-8",
    )
    manifest = load_manifest(plan)
    for folder in (str(outside), "../outside", "pkg/../../outside"):
        [resolution] = resolve_items(manifest, root, (("Core", folder),))
        assert resolution.state is ResolutionState.ESCAPES, folder


def test_a_manifest_cannot_redirect_out_of_the_rootdir(project: tuple[Path, Path]) -> None:
    root, outside = project
    (outside / "PLAN.md").write_text("### Batch 1: Unit Tests\n**Items:** 1\n")
    (root / "a.toml").write_text('manifest = "../outside/PLAN.md"\n')
    (root / "b.toml").write_text('manifest = "PLAN.md"\n')
    (root / "PLAN.md").symlink_to(outside / "PLAN.md")
    for name in ("a.toml", "b.toml"):
        with pytest.raises(ManifestError, match="escapes the rootdir"):
            find_manifest(root, name, {}, "[tool.phase7]")


def test_argument_lists_from_settings_are_kept_word_for_word() -> None:
    settings = resolve({}, {}, {"mypy_args": ["--config-file", "a b; rm -rf /"]})
    assert settings.mypy_args == ("--config-file", "a b; rm -rf /")
