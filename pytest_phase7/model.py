"""The work-item manifest as frozen data: Manifest -> Phase / Batch -> WorkItem.

Both loaders (the Markdown plan and TOML) produce exactly these objects, so everything downstream
(resolution, gates, status, reports) is format-agnostic. Every element remembers the line it came
from so that problems can name ``file:line``. Provenance (line numbers, raw cell text, the source
path and format) is excluded from equality: the same plan written as Markdown or as TOML gives
equal models.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class PlanStatus(enum.Enum):
    """An item's status as the plan records it (and as phase7 derives it)."""

    QUEUED = "QUEUED"
    IN_PROGRESS = "IN PROGRESS"
    DONE = "DONE"
    FAILED = "FAILED"

    @property
    def label(self) -> str:
        """The status as written in tables (``IN PROGRESS``)."""
        return self.value


class BatchKind(enum.Enum):
    """What a batch of work is about; inferred from its title unless given explicitly."""

    TESTS = "tests"
    REFACTOR = "refactor"
    DOCS = "docs"
    CODEGEN = "codegen"


#: The built-in gate names, in report order. Custom gates add their own names.
BUILTIN_GATES: tuple[str, ...] = ("coverage", "ruff", "mypy", "docstrings")


class Severity(enum.Enum):
    """How bad a manifest or resolution problem is."""

    WARNING = "warning"
    ERROR = "error"


#: Columns that name who (or which model) works on an item, in the order they are looked for.
OWNER_COLUMNS = ("Owner", "Assignee", "Model")


@dataclass(frozen=True)
class Problem:
    """One consistency problem found while loading or resolving a manifest."""

    severity: Severity
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        """Render as ``path:line: severity: message`` (the compiler convention)."""
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity.value}: {self.message}"


@dataclass(frozen=True)
class CellSpan:
    """Where a table cell's text sits in the source, for byte-exact write-back."""

    line: int
    start: int
    end: int


@dataclass(frozen=True)
class CoverageGoal:
    """A ``from -> to`` coverage goal such as ``5% -> 70%`` or ``5-27% -> 70%``."""

    from_low: float | None
    from_high: float | None
    to: float


@dataclass(frozen=True)
class WorkItem:
    """One numbered work item of a batch.

    ``file`` empty and ``target`` None means the plan names no target yet (a batch that gives
    only an item range): the item exists but is unmapped.
    """

    number: int
    batch: int
    line: int = field(default=0, compare=False)
    module: str = ""
    file: str = ""
    target: str | None = None
    complexity: str = ""
    estimate_hours: float | None = None
    estimate_text: str = field(default="", compare=False)
    status: PlanStatus | None = None
    status_text: str = field(default="", compare=False)
    status_span: CellSpan | None = field(default=None, compare=False)
    gates: tuple[str, ...] | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def mapped(self) -> bool:
        """True when the plan names something to resolve for this item."""
        return bool(self.file or self.target)

    @property
    def owner(self) -> str | None:
        """Who (or which model) works on the item, from the first of :data:`OWNER_COLUMNS`.

        ``(unassigned)`` for an empty cell; None when the plan has none of those columns.
        """
        for column in OWNER_COLUMNS:
            value = self.extra_value(column)
            if value is not None:
                return value.strip() or "(unassigned)"
        return None

    def extra_value(self, name: str) -> str | None:
        """The value of an extra column (case-insensitive name), if the plan has one."""
        wanted = name.casefold()
        for key, value in self.extra:
            if key.casefold() == wanted:
                return value
        return None


@dataclass(frozen=True)
class Batch:
    """A batch of work items with its metadata (the ``### Batch N: Title (Priority)`` sections)."""

    number: int
    title: str
    line: int = field(compare=False)
    kind: BatchKind = BatchKind.TESTS
    priority: str = ""
    priority_note: str = ""
    item_range: tuple[int, int] | None = None
    duration_hours: float | None = None
    coverage_goal: CoverageGoal | None = None
    focus: str = ""
    gates: tuple[str, ...] | None = None
    required: bool = False
    items: tuple[WorkItem, ...] = ()
    keys: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def heading(self) -> str:
        """``Batch N: Title``, as the plan would write it."""
        return f"Batch {self.number}: {self.title}"


@dataclass(frozen=True)
class Phase:
    """A phase groups batches (``### Phase 7.1: Quick Wins (Batch 1 + 5)``)."""

    ident: str
    title: str
    line: int = field(default=0, compare=False)
    batches: tuple[int, ...] = ()
    duration_hours: float | None = None
    keys: tuple[tuple[str, str], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Criterion:
    """One line of the plan's ``## Success Criteria``, e.g. ``Unit Tests: 70%+ coverage ...``."""

    label: str
    text: str
    line: int = field(default=0, compare=False)
    met: bool | None = None


@dataclass(frozen=True)
class Manifest:
    """A loaded work-item manifest."""

    path: str = field(compare=False)
    format: str = field(compare=False)
    title: str = ""
    front_matter: tuple[tuple[str, str], ...] = ()
    total_items: int | None = None
    total_items_line: int = field(default=0, compare=False)
    duration_hours: float | None = None
    duration_line: int = field(default=0, compare=False)
    batches: tuple[Batch, ...] = ()
    phases: tuple[Phase, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    problems: tuple[Problem, ...] = field(default=(), compare=False)

    @property
    def items(self) -> tuple[WorkItem, ...]:
        """All work items, in batch order."""
        return tuple(item for batch in self.batches for item in batch.items)

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Problems that make the manifest unusable."""
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems worth saying but not fatal."""
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)

    def batch(self, number: int) -> Batch | None:
        """The batch with this number, if any."""
        for batch in self.batches:
            if batch.number == number:
                return batch
        return None
