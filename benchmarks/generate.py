"""Generate a synthetic but realistic project for benchmarking ``pytest --phase7``.

The project (deterministic for a given ``--seed``)::

    DIR/
      pyproject.toml              pytest, coverage (branch), ruff, mypy --strict, interrogate,
                                  [tool.phase7] manifest = "PHASE7_EXECUTION_PLAN.md"
      PHASE7_EXECUTION_PLAN.md    the plan: K items in batches (or phase7.toml with --format toml)
      src/proj/<area>/<noun>_NNNN.py
      tests/test_<noun>_NNNN.py   for part of the modules

Every module is typed code of varied size: an enum, a Protocol, a dataclass, a generic
``Registry[T]``, service classes with branches, loops and ``try``, free functions, a CPU-bound
``crunch`` workload that the tests call, and imports of up to three earlier modules (so mypy has
a real import graph to follow). Some modules carry ruff violations (unused import, ``== None``,
unused variable, mutable default), some carry mypy errors (wrong return type, ``Optional``
misuse, wrong argument type), and docstrings are present on a varying share of definitions.

The manifest maps a share of the modules (``--target-share``) as unit-test items (by module area
and file, some by dotted ``Path``), a few package targets, re-lists targets in documentation and
refactoring batches with narrowed gates, and fills the rest with item ranges not mapped yet.

Usage::

    python benchmarks/generate.py --modules 200 --items 300 --out /tmp/p7-medium
    python benchmarks/generate.py --modules 2000 --items 10000 --stub --out /tmp/p7-stub

``--stub`` writes one-line modules and no tests (for measuring the plugin's own work on big
manifests without paying for the tools).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

AREA_WORDS = (
    "billing",
    "orders",
    "catalog",
    "shipping",
    "accounts",
    "pricing",
    "search",
    "inventory",
    "reports",
    "notify",
    "identity",
    "payments",
    "analytics",
    "schedule",
    "storage",
    "messaging",
    "profiles",
    "audit",
    "gateway",
    "workflow",
)
AREA_SUFFIXES = ("core", "engine", "service", "api", "jobs", "rules", "store", "sync", "ui", "io")
NOUNS = (
    "rules",
    "registry",
    "adapter",
    "client",
    "mapper",
    "policy",
    "planner",
    "queue",
    "ledger",
    "router",
    "cache",
    "parser",
    "builder",
    "monitor",
    "limits",
    "tokens",
    "events",
    "quotas",
)
STATUSES = ("⏳ QUEUED", "⏳ QUEUED", "⏳ QUEUED", "🔄 IN PROGRESS", "🔄 IN PROGRESS", "✅ DONE")
COMPLEXITY = (("Simple", 2), ("Moderate", 3), ("Complex", 4))

#: Items per batch table (a realistic plan lists a few dozen items per batch).
BATCH_SIZE = 25
#: How many extra (documentation / refactoring) items may re-list one target file.
MAX_RELISTS = 3


@dataclass
class ModuleSpec:
    """What one generated module contains."""

    index: int
    area: str
    folder: str
    noun: str
    services: int
    functions: int
    doc_share: float
    lint: bool
    type_errors: tuple[int, ...]
    deps: tuple[int, ...]
    tested: bool
    tested_functions: int = 0

    @property
    def file(self) -> str:
        """The module's file name."""
        return f"{self.noun}_{self.index:04d}.py"

    @property
    def rel(self) -> str:
        """The module's rootdir-relative path."""
        return f"src/proj/{self.folder}/{self.file}"

    @property
    def dotted(self) -> str:
        """The module's import name."""
        return f"proj.{self.folder}.{self.file[:-3]}"


@dataclass
class ItemSpec:
    """One manifest row."""

    number: int
    module: str = ""
    file: str = ""
    path: str = ""
    status: str = "⏳ QUEUED"
    complexity: tuple[str, int] = ("Simple", 2)


@dataclass
class BatchSpec:
    """One manifest batch: its heading, keys and (optionally) its item table."""

    number: int
    title: str
    priority: str
    first: int
    last: int
    items: list[ItemSpec] = field(default_factory=list)
    gates: str = ""
    focus: str = ""


@dataclass
class Project:
    """The whole generated project, before it is written."""

    modules: list[ModuleSpec]
    batches: list[BatchSpec]
    areas: list[tuple[str, str]]
    items: int
    work: int


def snake(name: str) -> str:
    """``Billing Core`` -> ``billing_core`` (phase7's default folder for an area)."""
    return name.lower().replace(" ", "_")


def plan_project(
    modules: int,
    items: int,
    *,
    seed: int = 7,
    target_share: float = 0.7,
    tested_share: float = 0.75,
    work: int = 4000,
) -> Project:
    """Decide the modules and the manifest (pure data; nothing is written)."""
    rng = random.Random(seed)
    area_count = max(2, modules // 15)
    names = [f"{w.title()} {s.title()}" for s in AREA_SUFFIXES for w in AREA_WORDS]
    if area_count > len(names):
        names += [f"Area {n}" for n in range(area_count - len(names))]
    areas = [(name, snake(name)) for name in names[:area_count]]
    specs: list[ModuleSpec] = []
    for index in range(modules):
        area, folder = areas[index % area_count]
        size = rng.choices(("small", "medium", "large"), weights=(4, 4, 2))[0]
        services, functions = {"small": (1, 3), "medium": (2, 6), "large": (4, 12)}[size]
        deps = tuple(sorted(rng.sample(range(index), min(index, rng.randint(0, 3)))))
        errors = (
            tuple(sorted(rng.sample(range(4), rng.randint(1, 2)))) if rng.random() < 0.25 else ()
        )
        tested = rng.random() < tested_share
        specs.append(
            ModuleSpec(
                index=index,
                area=area,
                folder=folder,
                noun=rng.choice(NOUNS),
                services=services,
                functions=functions,
                doc_share=rng.choice((0.2, 0.5, 0.8, 0.9, 1.0)),
                lint=rng.random() < 0.3,
                type_errors=errors,
                deps=deps,
                tested=tested,
                tested_functions=rng.randint(0, functions) if tested else 0,
            )
        )
    batches = plan_manifest(rng, specs, areas, items, target_share)
    return Project(specs, batches, areas, items, work)


def plan_manifest(
    rng: random.Random,
    specs: Sequence[ModuleSpec],
    areas: Sequence[tuple[str, str]],
    total: int,
    target_share: float,
) -> list[BatchSpec]:
    """K items: unit-test items per target, package targets, re-listed targets, unmapped ranges."""
    targets = sorted(
        rng.sample(list(specs), min(total, round(len(specs) * target_share))), key=lambda s: s.index
    )
    rows: list[tuple[str, str, ItemSpec]] = []  # (batch title, gates, item)

    def item(spec: ModuleSpec, *, explicit: bool) -> ItemSpec:
        return ItemSpec(
            0,
            module=spec.area,
            file=spec.file,
            path=spec.dotted if explicit else "",
            status=rng.choice(STATUSES),
            complexity=rng.choice(COMPLEXITY),
        )

    for spec in targets:
        rows.append(("Unit Tests", "", item(spec, explicit=rng.random() < 0.1)))
    for area, folder in areas[: max(1, len(areas) // 10)]:
        if len(rows) >= total:
            break
        rows.append(
            (
                "Package Refactoring",
                "ruff, mypy",
                ItemSpec(0, module=area, path=f"src/proj/{folder}/"),
            )
        )
    # Documentation and refactoring batches re-list targets with narrowed gates, up to 85% of
    # the items; the rest are ranges the plan has not mapped yet.
    relists = 0
    while targets and len(rows) < total * 0.85 and relists < MAX_RELISTS * len(targets):
        spec = targets[relists % len(targets)]
        if (relists // len(targets)) % 2 == 0:
            rows.append(("Documentation", "docstrings", item(spec, explicit=False)))
        else:
            rows.append(("Code Refactoring", "ruff, mypy", item(spec, explicit=True)))
        relists += 1
    rows = rows[:total]
    batches: list[BatchSpec] = []
    start = 0
    while start < len(rows):
        title, gates = rows[start][0], rows[start][1]
        chunk: list[ItemSpec] = []
        for row_title, _gates, row_item in rows[start : start + BATCH_SIZE]:
            if row_title != title:
                break
            row_item.number = start + len(chunk) + 1
            chunk.append(row_item)
        number = len(batches) + 1
        batches.append(
            BatchSpec(
                number,
                f"Tier {number} {title}" if title == "Unit Tests" else f"{title} {number}",
                rng.choice(("CRITICAL", "HIGH", "NORMAL", "LOW")),
                start + 1,
                start + len(chunk),
                chunk,
                gates=gates,
                focus="types, lint" if gates else "",
            )
        )
        start += len(chunk)
    while start < total:
        last = min(total, start + BATCH_SIZE * 4)
        number = len(batches) + 1
        batches.append(BatchSpec(number, f"Integration Tests {number}", "LOW", start + 1, last))
        start = last
    return batches


# --------------------------------------------------------------------------------------------
# Module and test sources
# --------------------------------------------------------------------------------------------


class Writer:
    """Collects source lines, with docstrings included at the module's doc share."""

    def __init__(self, rng: random.Random, doc_share: float) -> None:
        """Start an empty source."""
        self.lines: list[str] = []
        self.rng = rng
        self.doc_share = doc_share

    def add(self, *lines: str) -> None:
        """Append lines verbatim."""
        self.lines.extend(lines)

    def doc(self, indent: str, text: str) -> None:
        """Append a docstring, at the module's share of documented definitions."""
        if self.rng.random() < self.doc_share:
            self.lines.append(f'{indent}"""{text}"""')

    def text(self) -> str:
        """The source."""
        return "\n".join(self.lines) + "\n"


def module_source(spec: ModuleSpec, specs: Sequence[ModuleSpec], rng: random.Random) -> str:
    """The source of one module (see the module docstring for what it contains)."""
    i = spec.index
    w = Writer(rng, spec.doc_share)
    w.doc("", f"{spec.area}: {spec.noun} records, registries and services (module {i}).")
    w.add(
        "",
        "from __future__ import annotations",
        "",
        "import enum",
        "from collections.abc import Callable, Iterable, Iterator",
        "from dataclasses import dataclass, field",
        "from typing import Generic, Protocol, TypeVar",
        "",
    )
    for dep in spec.deps:
        other = specs[dep]
        w.add(f"from {other.dotted} import Record{dep}, crunch_{dep}")
    if spec.lint:
        w.add("import os")
    w.add("", 'T = TypeVar("T")', 'U = TypeVar("U")', "", "")
    w.add(f"class Kind{i}(enum.Enum):")
    w.doc("    ", "The kinds of record this module knows.")
    w.add('    ALPHA = "alpha"', '    BETA = "beta"', '    GAMMA = "gamma"', "", "")
    w.add(f"class HasScore{i}(Protocol):")
    w.doc("    ", "Anything with a score.")
    w.add("    def score(self) -> int:")
    w.doc("        ", "The score.")
    w.add("        ...", "", "")
    w.add("@dataclass", f"class Record{i}:")
    w.doc("    ", "A keyed value with tags.")
    w.add(
        "    key: str",
        "    value: int",
        f"    kind: Kind{i} = Kind{i}.ALPHA",
        "    tags: list[str] = field(default_factory=list)",
        "",
        "    def score(self) -> int:",
    )
    w.doc("        ", "Value adjusted by tags.")
    w.add(
        "        total = self.value",
        "        for tag in self.tags:",
        '            if tag.startswith("x"):',
        "                total += 2",
        '            elif tag.endswith("y"):',
        "                total -= 1",
        "            else:",
        "                total += len(tag)",
        "        return total",
        "",
        "    def describe(self) -> str:",
    )
    w.doc("        ", "Key and value as text.")
    w.add('        return f"{self.key}:{self.value}"', "", "")
    w.add(f"class Registry{i}(Generic[T]):")
    w.doc("    ", "Items by key.")
    w.add(
        "    def __init__(self) -> None:",
        "        self._items: dict[str, T] = {}",
        "",
        "    def add(self, key: str, item: T) -> None:",
    )
    w.doc("        ", "Add an item; a key may be used once.")
    w.add(
        "        if key in self._items:",
        "            raise KeyError(key)",
        "        self._items[key] = item",
        "",
        "    def get(self, key: str) -> T | None:",
    )
    w.doc("        ", "The item, or None.")
    w.add(
        "        return self._items.get(key)",
        "",
        "    def select(self, predicate: Callable[[T], bool]) -> list[T]:",
    )
    w.doc("        ", "Items for which the predicate holds.")
    w.add(
        "        return [item for item in self._items.values() if predicate(item)]",
        "",
        "    def map_values(self, fn: Callable[[T], U]) -> dict[str, U]:",
    )
    w.doc("        ", "Apply a function to every item.")
    w.add(
        "        return {key: fn(item) for key, item in self._items.items()}",
        "",
        "    def __len__(self) -> int:",
        "        return len(self._items)",
        "",
        "    def __iter__(self) -> Iterator[T]:",
        "        return iter(self._items.values())",
        "",
        "",
    )
    for c in range(spec.services):
        threshold = rng.randint(2, 30)
        w.add(f"class Service{i}_{c}:")
        w.doc("    ", "Scores records against a threshold and keeps a history.")
        w.add(
            f"    def __init__(self, registry: Registry{i}[Record{i}],"
            f" threshold: int = {threshold}) -> None:",
            "        self.registry = registry",
            "        self.threshold = threshold",
            "        self.history: list[int] = []",
            "",
            f"    def process(self, record: Record{i}) -> int:",
        )
        w.doc("        ", "Score one record and remember high scores.")
        w.add(
            "        score = record.score()",
            f"        if record.kind is Kind{i}.ALPHA:",
            "            score *= 2",
            f"        elif record.kind is Kind{i}.BETA:",
            "            score += self.threshold",
            "        else:",
            "            score -= 1",
            "        if score > self.threshold:",
            "            self.history.append(score)",
            "        return score",
            "",
            "    def summary(self) -> dict[str, int]:",
        )
        w.doc("        ", "Count, maximum and total of the history.")
        w.add(
            "        if not self.history:",
            '            return {"count": 0, "max": 0, "total": 0}',
            '        return {"count": len(self.history), "max": max(self.history),'
            ' "total": sum(self.history)}',
            "",
            f"    def best(self) -> Record{i} | None:",
        )
        w.doc("        ", "The best record at or above the threshold.")
        w.add(
            "        candidates = self.registry.select(lambda r: r.score() >= self.threshold)",
            "        if not candidates:",
            "            return None",
            "        return max(candidates, key=lambda r: r.score())",
            "",
            "    def load(self, rows: Iterable[tuple[str, int]]) -> int:",
        )
        w.doc("        ", "Add rows as records; duplicates are skipped.")
        w.add(
            "        count = 0",
            "        for key, value in rows:",
            "            try:",
            f"                self.registry.add(key, Record{i}(key, value))",
            "            except KeyError:",
            "                continue",
            "            count += 1",
            "        return count",
            "",
            "",
        )
    for f in range(spec.functions):
        _function(w, i, f)
    for dep in spec.deps:
        w.add(f"def bridge_{i}_{dep}(record: Record{dep}) -> Record{i}:")
        w.doc("    ", "Convert a record of another module.")
        w.add(
            f"    return Record{i}(record.key, crunch_{dep}(record.value % 50 + 1) % 1000)", "", ""
        )
    for error in spec.type_errors:
        _type_error(w, i, error)
    if spec.lint:
        _lint_problems(w, i)
    w.add(f"def crunch_{i}(n: int, seed: int = {i + 1}) -> int:")
    w.doc("    ", "A CPU-bound, branchy workload (what the tests spend their time on).")
    w.add(
        "    acc = seed",
        "    for step in range(n):",
        "        if step % 3 == 0:",
        "            acc = (acc * 31 + step) % 1000003",
        "        elif step % 3 == 1:",
        "            acc ^= step",
        "        else:",
        "            acc += step // 2",
        "    return acc",
    )
    return w.text()


def _function(w: Writer, i: int, f: int) -> None:
    variant = f % 4
    if variant == 0:
        w.add(f"def rank_{i}_{f}(items: Iterable[HasScore{i}], limit: int = 5) -> list[int]:")
        w.doc("    ", "The best scores, highest first.")
        w.add(
            "    scores = sorted((item.score() for item in items), reverse=True)",
            "    return scores[:limit]",
        )
    elif variant == 1:
        w.add(f"def bucket_{i}_{f}(values: list[int], size: int = 10) -> dict[int, list[int]]:")
        w.doc("    ", "Group values into buckets of a size.")
        w.add(
            "    buckets: dict[int, list[int]] = {}",
            "    for value in values:",
            "        if value < 0:",
            "            key = -1",
            "        elif value == 0:",
            "            key = 0",
            "        else:",
            "            key = value // size + 1",
            "        buckets.setdefault(key, []).append(value)",
            "    return buckets",
        )
    elif variant == 2:
        w.add(f"def merge_{i}_{f}(left: Registry{i}[T], right: Registry{i}[T]) -> Registry{i}[T]:")
        w.doc("    ", "Items of both registries; the left one wins.")
        w.add(
            f"    merged: Registry{i}[T] = Registry{i}()",
            "    for source in (left, right):",
            "        for key, item in source.map_values(lambda x: x).items():",
            "            if merged.get(key) is None:",
            "                merged.add(key, item)",
            "    return merged",
        )
    else:
        w.add(f"def parse_{i}_{f}(text: str) -> list[Record{i}]:")
        w.doc("    ", "Records from key=value lines.")
        w.add(
            f"    records: list[Record{i}] = []",
            "    for raw_line in text.splitlines():",
            "        line = raw_line.strip()",
            '        if not line or line.startswith("#"):',
            "            continue",
            '        key, _, raw = line.partition("=")',
            "        try:",
            "            value = int(raw)",
            "        except ValueError:",
            "            value = len(raw)",
            f"        records.append(Record{i}(key.strip(), value))",
            "    return records",
        )
    w.add("", "")


def _type_error(w: Writer, i: int, error: int) -> None:
    if error == 0:
        w.add(f"def label_{i}(record: Record{i}) -> int:", "    return record.describe()")
    elif error == 1:
        w.add(
            f"def lookup_{i}(registry: Registry{i}[Record{i}], key: str) -> int:",
            "    return registry.get(key).value",
        )
    elif error == 2:
        w.add(f"def total_{i}(values: list[int]) -> str:", "    return sum(values)")
    else:
        w.add(
            f"def enqueue_{i}(registry: Registry{i}[Record{i}]) -> None:",
            f'    registry.add(1, Record{i}("a", 1))',
        )
    w.add("", "")


def _lint_problems(w: Writer, i: int) -> None:
    w.add(
        f"def is_missing_{i}(value: int | None) -> bool:",
        "    if value == None:",
        "        return True",
        "    return False",
        "",
        "",
        f"def collect_{i}(value: int, into: list[int] = []) -> list[int]:",
        "    unused = len(into)",
        "    into.append(value)",
        "    return into",
        "",
        "",
    )


def test_source(spec: ModuleSpec, work: int) -> str:
    """The test module of a tested module: exercises part of it and runs its workload."""
    i = spec.index
    names = [f"Kind{i}", f"Record{i}", f"Registry{i}", f"Service{i}_0", f"crunch_{i}"]
    funcs = [_function_name(i, f) for f in range(spec.tested_functions)]
    names += funcs
    lines = [
        "from __future__ import annotations",
        "",
        "import pytest",
        "",
        f"from {spec.dotted} import (",
        *(f"    {name}," for name in sorted(names)),
        ")",
        "",
        f"WORK = {work}",
        "",
        "",
        "def test_record() -> None:",
        f'    record = Record{i}("xkey", 4, Kind{i}.BETA, ["xa", "by", "zz"])',
        "    assert isinstance(record.score(), int)",
        '    assert record.describe() == "xkey:4"',
        "",
        "",
        "def test_registry() -> None:",
        f"    registry: Registry{i}[Record{i}] = Registry{i}()",
        f'    registry.add("a", Record{i}("a", 1))',
        f'    registry.add("b", Record{i}("b", 20))',
        "    assert len(registry) == 2",
        '    assert registry.get("zz") is None',
        '    assert [r.key for r in registry.select(lambda r: r.value > 5)] == ["b"]',
        "    with pytest.raises(KeyError):",
        f'        registry.add("a", Record{i}("a", 2))',
        "",
        "",
        f"@pytest.mark.parametrize('kind', list(Kind{i}))",
        f"def test_service(kind: Kind{i}) -> None:",
        f"    service = Service{i}_0(Registry{i}(), threshold=3)",
        f'    assert service.process(Record{i}("k", 5, kind)) != 0',
        '    assert service.load([("a", 1), ("b", 9), ("a", 3)]) == 2',
        "    assert service.summary()['count'] >= 0",
        "",
        "",
        "def test_crunch() -> None:",
        f"    assert crunch_{i}(WORK) >= 0",
        "",
    ]
    for f, name in enumerate(funcs):
        lines += ["", f"def test_{name}() -> None:", *_function_test(i, f, name), ""]
    return "\n".join(lines)


def _function_name(i: int, f: int) -> str:
    return ("rank", "bucket", "merge", "parse")[f % 4] + f"_{i}_{f}"


def _function_test(i: int, f: int, name: str) -> list[str]:
    variant = f % 4
    if variant == 0:
        return [f'    assert {name}([Record{i}("a", 3), Record{i}("b", 7)], 1) == [7]']
    if variant == 1:
        return [f"    assert sorted({name}([-3, 0, 5, 25])) == [-1, 0, 1, 3]"]
    if variant == 2:
        return [
            f"    left: Registry{i}[int] = Registry{i}()",
            '    left.add("a", 1)',
            f"    assert len({name}(left, Registry{i}())) == 1",
        ]
    return [f'    assert [r.value for r in {name}("a=1\\n# c\\nb=x")] == [1, 1]']


# --------------------------------------------------------------------------------------------
# Project files
# --------------------------------------------------------------------------------------------


def pyproject(manifest: str) -> str:
    """The generated project's ``pyproject.toml``."""
    return f"""\
# Synthetic project generated by benchmarks/generate.py (pytest-phase7 benchmarks).

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]

[tool.coverage.run]
source = ["src/proj"]
branch = true

[tool.coverage.report]
precision = 1

[tool.ruff]
line-length = 100
target-version = "py310"

[tool.ruff.lint]
select = ["E", "F", "W", "B", "UP", "SIM"]

[tool.mypy]
mypy_path = "src"
python_version = "3.10"
strict = true

[tool.interrogate]
fail-under = 80
ignore-init-module = true
ignore-magic = true
exclude = ["tests"]

[tool.phase7]
manifest = "{manifest}"
timeout = 1800
"""


def markdown_plan(project: Project) -> str:
    """The manifest as a Markdown execution plan."""
    hours = sum(i.complexity[1] for b in project.batches for i in b.items)
    out = [
        "---",
        "title: Phase 7: Quality Push - Execution Plan (synthetic)",
        "status: Active",
        "path: PHASE7_EXECUTION_PLAN.md",
        "---",
        "# Phase 7: Quality Push - Execution Plan",
        "",
        "**Status:** 🚀 **INITIATED**",
        f"**Total Work Items:** {project.items}",
        f"**Estimated Duration:** {hours} hours",
        "",
        "---",
        "",
        "## Execution Strategy",
        "",
    ]
    for batch in project.batches:
        out.append(f"### Batch {batch.number}: {batch.title} ({batch.priority.title()} Priority)")
        span = f"{batch.first}-{batch.last}" if batch.last > batch.first else str(batch.first)
        out.append(f"**Items:** {span}")
        out.append(f"**Duration:** {sum(i.complexity[1] for i in batch.items) or 8} hours")
        out.append(f"**Priority:** {batch.priority}")
        if batch.title.startswith("Tier"):
            out.append("**Target Coverage:** 5% → 70%")
        if batch.gates:
            out.append(f"**Gates:** {batch.gates}")
        if batch.focus:
            out.append(f"**Focus:** {batch.focus}")
        if batch.items:
            out += [
                "",
                "| # | Module | File | Path | Complexity | Est. Time | Status |",
                "|---|--------|------|------|------------|-----------|--------|",
            ]
            for it in batch.items:
                out.append(
                    f"| {it.number} | {it.module} | {it.file} | {it.path} | {it.complexity[0]} "
                    f"| {it.complexity[1]}h | {it.status} |"
                )
        out.append("")
    out += [
        "## Success Criteria",
        "",
        "✅ **Unit Tests:** 70%+ coverage for all modules",
        "✅ **Refactoring:** 0 linting violations, all type checks pass",
        "✅ **Documentation:** All public APIs documented",
        "",
    ]
    return "\n".join(out)


def toml_plan(project: Project) -> str:
    """The same manifest as ``phase7.toml``."""

    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    out = [f"title = {q('Phase 7: Quality Push (synthetic)')}", f"total_items = {project.items}"]
    for batch in project.batches:
        out += ["", "[[batches]]", f"number = {batch.number}", f"title = {q(batch.title)}"]
        out.append(f"priority = {q(batch.priority)}")
        out.append(f"item_range = {q(f'{batch.first}-{batch.last}')}")
        if batch.gates:
            out.append(f"gates = {q(batch.gates)}")
        for it in batch.items:
            out += ["", "[[batches.items]]", f"number = {it.number}"]
            if it.module:
                out.append(f"module = {q(it.module)}")
            if it.file:
                out.append(f"file = {q(it.file)}")
            if it.path:
                out.append(f"path = {q(it.path)}")
            out.append(f"complexity = {q(it.complexity[0])}")
            out.append(f"estimate = {q(str(it.complexity[1]) + 'h')}")
            out.append(f"status = {q(it.status)}")
    return "\n".join(out) + "\n"


def target_files(project: Project) -> list[str]:
    """The rootdir-relative files the manifest's items resolve to (what the gates check)."""
    by_file = {(m.area, m.file): m for m in project.modules}
    by_dotted = {m.dotted: m for m in project.modules}
    files: set[str] = set()
    for batch in project.batches:
        for it in batch.items:
            if it.path.endswith("/"):
                folder = it.path
                files.add(folder + "__init__.py")
                files.update(m.rel for m in project.modules if m.rel.startswith(folder))
            elif it.path:
                files.add(by_dotted[it.path].rel)
            elif it.file:
                files.add(by_file[(it.module, it.file)].rel)
    return sorted(files)


def write_project(project: Project, out: Path, *, stub: bool = False, fmt: str = "md") -> None:
    """Write the project to ``out`` (replacing what is there)."""
    if out.exists():
        shutil.rmtree(out)
    rng = random.Random(len(project.modules) * 7919 + project.items)
    src = out / "src" / "proj"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text('"""Synthetic project."""\n')
    for _area, folder in project.areas:
        (src / folder).mkdir()
        (src / folder / "__init__.py").write_text("")
    tests = out / "tests"
    tests.mkdir()
    for spec in project.modules:
        path = out / spec.rel
        if stub:
            path.write_text(f"VALUE_{spec.index} = {spec.index}\n")
            continue
        path.write_text(module_source(spec, project.modules, rng))
        if spec.tested:
            (tests / f"test_{spec.file}").write_text(test_source(spec, project.work))
    if stub:
        (tests / "test_stub.py").write_text("def test_stub() -> None:\n    assert True\n")
    manifest = "phase7.toml" if fmt == "toml" else "PHASE7_EXECUTION_PLAN.md"
    (out / manifest).write_text(toml_plan(project) if fmt == "toml" else markdown_plan(project))
    (out / "pyproject.toml").write_text(pyproject(manifest))
    (out / "targets.txt").write_text("\n".join(target_files(project)) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--modules N --items K --out DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, required=True, help="number of modules (N)")
    parser.add_argument("--items", type=int, help="manifest items (K; default 1.5 x N)")
    parser.add_argument("--out", type=Path, required=True, help="project folder (replaced)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=int, default=4000, help="crunch() steps per tested module")
    parser.add_argument("--target-share", type=float, default=0.7)
    parser.add_argument("--tested-share", type=float, default=0.75)
    parser.add_argument("--format", choices=("md", "toml"), default="md")
    parser.add_argument("--stub", action="store_true", help="one-line modules, no tests")
    args = parser.parse_args(argv)
    items = args.items if args.items is not None else args.modules * 3 // 2
    project = plan_project(
        args.modules,
        items,
        seed=args.seed,
        target_share=args.target_share,
        tested_share=args.tested_share,
        work=args.work,
    )
    write_project(project, args.out, stub=args.stub, fmt=args.format)
    tested = sum(m.tested for m in project.modules)
    print(
        f"{args.out}: {len(project.modules)} modules ({tested} tested), {items} items in "
        f"{len(project.batches)} batches, {len(target_files(project))} target files"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
