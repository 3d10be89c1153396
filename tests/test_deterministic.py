"""No test compares a measured duration with a number: speed lives in ``benchmarks/``.

A timing assertion passes on an idle machine and fails on a loaded one (a 1-second budget failed
at 3.4 s). The scan reads every test module with :mod:`ast` and fails on an ordering comparison
(``<``, ``<=``, ``>``, ``>=``), or an equality with ``pytest.approx``, in an ``assert``, or in an
``if`` that fails the test, when a side of it is measured: it reads a clock
(``time.perf_counter()``, ``time.monotonic()``, ``timeit``, ...), is a name assigned from a
measured value (``elapsed = time.monotonic() - started``), calls a function that returns one, or
is a ``.seconds`` / ``.elapsed`` / ``.duration`` attribute. What stays allowed is a bound on a
hang: a ``timeout=`` argument, or a polling loop ``while time.monotonic() < deadline:``. Count
work instead of timing it (``deterministic.py``).
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_security import dotted

TESTS = Path(__file__).resolve().parent
MODULES = sorted(
    path for path in TESTS.rglob("*.py") if not {"corpus", "fixtures"} & set(path.parts)
)

#: Clocks, as called (``time.monotonic``) or imported (``from time import monotonic``).
CLOCKS = {
    f"{module}{name}"
    for module in ("time.", "")
    for name in (
        "time",
        "time_ns",
        "monotonic",
        "monotonic_ns",
        "perf_counter",
        "perf_counter_ns",
        "process_time",
        "process_time_ns",
        "thread_time",
        "thread_time_ns",
    )
} - {"time"} | {"timeit.timeit", "timeit.repeat", "timeit.default_timer", "default_timer"}

#: Attributes that hold a measured duration (``GateRun.seconds``, ``ToolOutput.seconds``, ...).
DURATION_ATTRIBUTES = {"seconds", "elapsed", "duration", "wall", "wall_time"}

ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def is_approx(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and dotted(node.func) in {"pytest.approx", "approx"}


@dataclass
class Scope:
    """A module or a function: what it assigns, returns and checks (not its inner functions)."""

    node: ast.AST
    path: str
    name: str = ""
    assignments: list[tuple[ast.expr, list[ast.expr]]] = field(default_factory=list)
    returns: list[ast.expr] = field(default_factory=list)
    checks: list[ast.expr] = field(default_factory=list)


def scopes(tree: ast.Module, path: str) -> list[Scope]:
    """Every scope of a module, read in one pass."""
    found = [Scope(tree, path)]

    def visit(node: ast.AST, scope: Scope) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, FUNCTIONS):
                inner = Scope(child, path, getattr(child, "name", ""))  # lambdas have no name
                if isinstance(child, ast.Lambda):
                    inner.returns.append(child.body)
                found.append(inner)
                visit(child, inner)
                continue
            if isinstance(child, ast.Assign):
                scope.assignments.append((child.value, list(child.targets)))
            elif isinstance(child, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr)):
                if child.value is not None:
                    scope.assignments.append((child.value, [child.target]))
            elif isinstance(child, ast.Return) and child.value is not None:
                scope.returns.append(child.value)
            elif isinstance(child, ast.Assert) or (
                isinstance(child, ast.If) and _fails(child.body)
            ):
                scope.checks.append(child.test)
            visit(child, scope)

    visit(tree, found[0])
    return found


class Scan:
    """The measured names and functions of a set of modules, then the comparisons using them."""

    def __init__(self, trees: dict[str, ast.Module]) -> None:
        self.scopes = [scope for path, tree in trees.items() for scope in scopes(tree, path)]
        self.names: set[tuple[int, str]] = set()  # (id of the scope's node, name)
        self.functions: set[str] = set()  # functions that return a measured value
        changed = True
        while changed:  # assignments and returns feed each other: until nothing new is found
            changed = False
            for scope in self.scopes:
                changed |= self._propagate(scope)

    def measured(self, node: ast.AST, scope: Scope) -> bool:
        for part in ast.walk(node):
            if isinstance(part, ast.Call):
                name = dotted(part.func)
                if name in CLOCKS or name.rsplit(".", 1)[-1] in self.functions:
                    return True
            if isinstance(part, ast.Name) and (id(scope.node), part.id) in self.names:
                return True
            if isinstance(part, ast.Attribute) and part.attr in DURATION_ATTRIBUTES:
                return True
        return False

    def _propagate(self, scope: Scope) -> bool:
        changed = False
        for value, targets in scope.assignments:
            if not self.measured(value, scope):
                continue
            for target in targets:
                for node in ast.walk(target):
                    key = (id(scope.node), getattr(node, "id", ""))
                    if isinstance(node, ast.Name) and key not in self.names:
                        self.names.add(key)
                        changed = True
        if (
            scope.name
            and scope.name not in self.functions
            and any(self.measured(value, scope) for value in scope.returns)
        ):
            self.functions.add(scope.name)
            changed = True
        return changed

    def offences(self) -> Iterator[str]:
        """``file:line: source`` of every timing assertion."""
        for scope in self.scopes:
            for check in scope.checks:
                for compare in (n for n in ast.walk(check) if isinstance(n, ast.Compare)):
                    sides = [compare.left, *compare.comparators]
                    ordered = any(isinstance(op, ORDERING) for op in compare.ops)
                    approx = any(is_approx(side) for side in sides)
                    if (ordered or approx) and any(self.measured(s, scope) for s in sides):
                        yield f"{scope.path}:{compare.lineno}: {ast.unparse(compare)}"


def _fails(body: list[ast.stmt]) -> bool:
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Raise):
                return True
            if isinstance(node, ast.Call) and dotted(node.func) in {"pytest.fail", "fail"}:
                return True
    return False


def scan(sources: dict[str, str]) -> list[str]:
    trees = {path: ast.parse(text, filename=path) for path, text in sources.items()}
    return list(Scan(trees).offences())


def test_no_test_compares_a_measured_duration_with_a_number():
    sources = {str(path.relative_to(TESTS)): path.read_text(encoding="utf-8") for path in MODULES}
    assert len(sources) > 30
    assert scan(sources) == []


# --- the scan finds what it must, and leaves hang bounds alone ---------------------------


OFFENCES = {
    "elapsed": """
        started = time.monotonic()
        run()
        assert time.monotonic() - started < 30
        """,
    "imported clock": """
        from time import perf_counter
        def test():
            start = perf_counter()
            parse(text)
            assert perf_counter() - start <= 0.1
        """,
    "helper that times": """
        def best_time(function):
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                function()
                best = min(best, time.perf_counter() - start)
            return best
        def test():
            assert best_time(lambda: parse(big)) < 12 * best_time(lambda: parse(small))
        """,
    "timeit": """
        def test():
            assert timeit.timeit(run, number=3) < 1.0
        """,
    "measured attribute": """
        def test():
            assert run_tool(argv).seconds > 0
        """,
    "approx": """
        def test():
            t0 = time.time()
            run()
            assert time.time() - t0 == pytest.approx(1.0, abs=0.5)
        """,
    "if that fails": """
        def test():
            t0 = time.perf_counter_ns()
            run()
            if (elapsed := time.perf_counter_ns() - t0) > 10**9:
                pytest.fail(f"too slow: {elapsed}")
        """,
}

ALLOWED = {
    "polling deadline": """
        def wait_dead(pid):
            end = time.monotonic() + 5
            while time.monotonic() < end:
                if not alive(pid):
                    return True
                time.sleep(0.05)
            return False
        """,
    "timeouts": """
        def test():
            proc = subprocess.run(argv, timeout=60, check=False)
            thread.join(timeout=30)
            assert not thread.is_alive()
        """,
    "a clock's reading, not a measurement": """
        def test(monkeypatch):
            clock = SteppingClock(2.5)
            out = run_tool(argv)
            assert (out.seconds, clock.readings) == (2.5, 2)
        """,
    "counts": """
        def test():
            assert executed_lines(lambda: parse(big)) <= 1.05 * executed_lines(small)
            assert len(items) < 10
        """,
}


@pytest.mark.parametrize("name", OFFENCES)
def test_scan_finds_timing_assertions(name: str):
    assert len(scan({name: textwrap.dedent(OFFENCES[name])})) == 1


@pytest.mark.parametrize("name", ALLOWED)
def test_scan_leaves_hang_bounds_and_counts_alone(name: str):
    assert scan({name: textwrap.dedent(ALLOWED[name])}) == []
