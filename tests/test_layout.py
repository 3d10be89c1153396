"""The package's layout reads as its pipeline: no import cycles, renderers depend on the model.

Every module of ``pytest_phase7`` is parsed with :mod:`ast` (nothing is imported), and every
import it makes of another ``pytest_phase7`` module becomes an edge, whether at module level or
inside a function: a function-level import is how a cycle is usually hidden, and it still fails
(or half-initialises a module) the day the function runs first. Imports under
``if TYPE_CHECKING:`` are left out: they never run, and they are how annotations name a type
without depending on its module at run time.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

PACKAGE = "pytest_phase7"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

#: The report model's modules: what the renderers read. None of them may import a renderer.
REPORT_MODEL = ("pytest_phase7.report.model",)


def module_name(path: Path) -> str:
    """The dotted name of a source file of the package (``pkg/__init__.py`` is ``pkg``)."""
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of the tree except what sits under ``if TYPE_CHECKING:``."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports at run time (module or function level).

    ``from pkg import sub`` names the submodule when ``sub`` is one, the package otherwise.
    Relative imports are resolved against the importing module's package.
    """
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            if not source.startswith(PACKAGE):
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in modules else source)
    found.discard(name)
    return {module for module in found if module in modules}


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports at run time."""
    modules = all_modules()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph (its modules, the first repeated at the end), or None."""
    visiting: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: finished, no cycle through it

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*visiting[visiting.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        visiting.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen: set[str] = set()
    pending = [start]
    while pending:
        for target in graph.get(pending.pop(), ()):
            if target not in seen:
                seen.add(target)
                pending.append(target)
    return seen


def test_the_graph_sees_imports_at_every_level():
    graph = import_graph()
    # Module level, function level (session imports the report writer inside a function), and
    # a whole package named in ``from pytest_phase7 import hookspecs``.
    assert "pytest_phase7.errors" in graph["pytest_phase7.settings"]
    assert "pytest_phase7.report.write" in graph["pytest_phase7.session"]
    assert "pytest_phase7.hookspecs" in graph["pytest_phase7.plugin"]
    # A type-only import is no dependency at run time: hookspecs names its types only so.
    assert graph["pytest_phase7.hookspecs"] == set()


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("model", REPORT_MODEL)
def test_the_report_model_imports_no_renderer(model):
    graph = import_graph()
    renderers = {
        name
        for name in graph
        if name.startswith("pytest_phase7.report.") and name not in REPORT_MODEL
    }
    assert not reachable(graph, model) & renderers


@pytest.mark.parametrize(
    "package", sorted(p.parent for p in ROOT.glob("*/__init__.py")), ids=lambda p: p.name
)
def test_each_package_lists_its_modules(package):
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
    assert doc
    missing = [
        p.stem
        for p in package.glob("*.py")
        if p.name != "__init__.py" and f"``{p.stem}``" not in doc
    ]
    assert not missing, f"{package.name}/__init__.py does not list {missing}"


def test_the_documented_escaper_path_still_works_and_warns(monkeypatch):
    from pytest_phase7.report import markdown

    monkeypatch.delitem(sys.modules, "pytest_phase7.report_md", raising=False)
    with pytest.warns(DeprecationWarning, match=r"pytest_phase7\.report\.markdown"):
        old = importlib.import_module("pytest_phase7.report_md")
    assert (old.escape, old.cell) == (markdown.escape, markdown.cell)


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b", "c"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
    ],
)
def test_find_cycle(graph, cycle):
    assert find_cycle(graph) == cycle


def test_a_function_level_import_is_an_edge(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from pytest_phase7.a import A\n"
        "def f():\n"
        "    from pytest_phase7 import b\n"
        "    from . import c\n",
        encoding="utf-8",
    )
    modules = dict.fromkeys(("pytest_phase7.a", "pytest_phase7.b", "pytest_phase7.c"), source)
    assert imported_modules("pytest_phase7.mod", source, modules) == {
        "pytest_phase7.b",
        "pytest_phase7.c",
    }
