"""Consistency checks shared by both manifest formats, and the assembly of the final model.

Each loader reads its format into :class:`BatchDraft` objects (a batch with its declared range
still unchecked, plus the item rows it lists) and hands them to :func:`assemble`, which validates
ranges, fills in the unmapped items a range implies, and reports overlaps, duplicates, phases
naming unknown batches, a declared total that the batches do not add up to, and declared hours
(the plan's, a phase's, a batch's) that the level below does not add up to. Doing this in one
place is what makes a Markdown plan and its TOML twin load to equal models with equal problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from pytest_phase7.manifest.values import (
    KIND_EXPECTED,
    MAX_ITEMS,
    compact_groups,
    infer_kind,
    read_kind,
    show,
)
from pytest_phase7.model import (
    Batch,
    BatchKind,
    Criterion,
    Manifest,
    Phase,
    Problem,
    Severity,
    WorkItem,
)


class ProblemLog:
    """Collects the problems of one manifest file."""

    def __init__(self, path: str) -> None:
        """Start an empty log for the file shown as ``path``."""
        self.path = path
        self.problems: list[Problem] = []
        #: Batches whose kind was assumed (line, number, title): said once, in one warning.
        self.assumed_kinds: list[tuple[int, int, str]] = []

    def error(self, line: int, message: str) -> None:
        """Record a problem that makes the manifest unusable."""
        self.problems.append(Problem(Severity.ERROR, self.path, line, message))

    def warning(self, line: int, message: str) -> None:
        """Record a problem worth saying that does not stop the run."""
        self.problems.append(Problem(Severity.WARNING, self.path, line, message))

    def sorted(self) -> tuple[Problem, ...]:
        """Return the problems in file order (stable, so same-line problems keep their order)."""
        return tuple(sorted(self.problems, key=lambda p: p.line))


@dataclass
class BatchDraft:
    """A batch as read from the file, before the shared checks.

    ``batch.item_range`` is the range as written (maybe reversed or absurd) and ``batch.items`` is
    empty; ``rows`` are the items the plan lists explicitly, and ``range_line`` is where the range
    was given (the line unmapped items point at).
    """

    batch: Batch
    range_line: int
    rows: list[WorkItem] = field(default_factory=list)


def batch_kind(
    log: ProblemLog, number: int, title: str, explicit: str | None, line: int
) -> BatchKind:
    """Decide a batch's kind: the explicit value if it is valid, else inferred from the title.

    An unknown explicit kind is an ERROR; a title that names no kind of work counts as tests,
    the most common kind, and :func:`assemble` says so in one warning for all such batches.
    """
    if explicit is not None:
        kind = read_kind(explicit)
        if kind is not None:
            return kind
        log.error(line, f"batch {number}: unknown kind {show(explicit)} ({KIND_EXPECTED})")
    inferred = infer_kind(title)
    if inferred is not None:
        return inferred
    if explicit is None:
        log.assumed_kinds.append((line, number, title))
    return BatchKind.TESTS


#: How the warning about assumed kinds starts (``-q`` leaves it out: it is an assumption).
KIND_ASSUMED = "cannot tell the kind of work from the title"


def _warn_assumed_kinds(log: ProblemLog) -> None:
    """One warning for every batch whose kind was assumed: once per run, not once per batch."""
    if not log.assumed_kinds:
        return
    line, number, title = log.assumed_kinds[0]
    hint = "assuming tests (say **Kind:** tests, refactor, docs or codegen)"
    if len(log.assumed_kinds) == 1:
        log.warning(line, f"batch {number}: {KIND_ASSUMED} {show(title)}; {hint}")
        return
    numbers = [str(n) for _, n, _ in log.assumed_kinds]
    log.warning(
        line,
        f"batches {', '.join(numbers[:-1])} and {numbers[-1]}: {KIND_ASSUMED}s; {hint}",
    )


def assemble(
    log: ProblemLog,
    *,
    source_format: str,
    title: str,
    front_matter: Sequence[tuple[str, str]],
    total_items: int | None,
    total_items_line: int,
    drafts: Sequence[BatchDraft],
    phases: Sequence[Phase],
    criteria: Sequence[Criterion],
    duration_hours: float | None = None,
    duration_line: int = 0,
) -> Manifest:
    """Run the shared checks and build the :class:`Manifest` (problems included, never raised)."""
    _cap_rows(log, drafts)
    unique = _drop_duplicate_batches(log, drafts)
    ranges = _validate_ranges(log, unique)
    _check_overlaps(log, unique, ranges)
    batches = [_fill(log, draft, ranges.get(id(draft))) for draft in unique]
    _check_duplicate_items(log, unique)
    _check_phases(log, phases, {b.number for b in batches})
    if total_items is not None:
        _check_total(log, total_items, total_items_line, batches)
    _check_hours(log, duration_hours, duration_line, batches, phases)
    _warn_assumed_kinds(log)
    return Manifest(
        path=log.path,
        format=source_format,
        title=title,
        front_matter=tuple(front_matter),
        total_items=total_items,
        total_items_line=total_items_line,
        duration_hours=duration_hours,
        duration_line=duration_line,
        batches=tuple(batches),
        phases=tuple(phases),
        criteria=tuple(criteria),
        problems=log.sorted(),
    )


def _cap_rows(log: ProblemLog, drafts: Sequence[BatchDraft]) -> None:
    """Keep the first :data:`MAX_ITEMS` item rows of the plan, as ranges are capped."""
    total = 0
    for index, draft in enumerate(drafts):
        total += len(draft.rows)
        if total > MAX_ITEMS:
            keep = len(draft.rows) - (total - MAX_ITEMS)
            log.error(
                draft.rows[keep].line,
                f"the plan lists more than {MAX_ITEMS} item rows (at most {MAX_ITEMS} are "
                "allowed); the rows from here on are not read",
            )
            del draft.rows[keep:]
            for later in drafts[index + 1 :]:
                later.rows.clear()
            return


def _drop_duplicate_batches(log: ProblemLog, drafts: Sequence[BatchDraft]) -> list[BatchDraft]:
    # The later definition is dropped so that one mistake gives one error, not a cascade of
    # overlapping ranges and duplicated items.
    seen: dict[int, int] = {}
    unique: list[BatchDraft] = []
    for draft in drafts:
        number = draft.batch.number
        if number in seen:
            log.error(
                draft.batch.line,
                f"batch {number} is defined twice (lines {seen[number]} and {draft.batch.line})",
            )
            continue
        seen[number] = draft.batch.line
        unique.append(draft)
    return unique


def _validate_ranges(log: ProblemLog, drafts: Sequence[BatchDraft]) -> dict[int, tuple[int, int]]:
    valid: dict[int, tuple[int, int]] = {}
    total = 0
    for draft in drafts:
        declared = draft.batch.item_range
        if declared is None:
            continue
        low, high = declared
        where = draft.range_line or draft.batch.line
        label = f"batch {draft.batch.number}"
        if high < low:
            log.error(where, f"{label}: reversed item range {low}-{high} (write {high}-{low})")
        elif high - low + 1 > MAX_ITEMS:
            log.error(
                where,
                f"{label}: absurd range {low}-{high} ({high - low + 1} items; "
                f"at most {MAX_ITEMS} are allowed)",
            )
        elif total + high - low + 1 > MAX_ITEMS:
            log.error(
                where,
                f"{label}: absurd range {low}-{high}: the plan's ranges add up to more than "
                f"{MAX_ITEMS} items",
            )
        else:
            total += high - low + 1
            valid[id(draft)] = (low, high)
    return valid


def _check_overlaps(
    log: ProblemLog, drafts: Sequence[BatchDraft], ranges: dict[int, tuple[int, int]]
) -> None:
    spans = sorted(
        ((ranges[id(d)], d) for d in drafts if id(d) in ranges), key=lambda pair: pair[0][0]
    )
    # Sweep in order of range start, remembering the range that reaches furthest: any range
    # starting at or before that end overlaps it. Linear after the sort.
    reach: tuple[tuple[int, int], BatchDraft] | None = None
    for span, draft in spans:
        if reach is not None and span[0] <= reach[0][1]:
            (first, other), (second, later) = sorted(
                ((reach[0], reach[1]), (span, draft)), key=lambda pair: _line(pair[1])
            )
            log.error(
                _line(later),
                f"items {second[0]}-{second[1]} of batch {later.batch.number} "
                f"(line {_line(later)}) overlap items {first[0]}-{first[1]} of batch "
                f"{other.batch.number} (line {_line(other)})",
            )
        if reach is None or span[1] > reach[0][1]:
            reach = (span, draft)


def _line(draft: BatchDraft) -> int:
    return draft.range_line or draft.batch.line


def _fill(log: ProblemLog, draft: BatchDraft, span: tuple[int, int] | None) -> Batch:
    number = draft.batch.number
    items = list(draft.rows)
    if span is not None:
        low, high = span
        listed: set[int] = set()
        for row in draft.rows:
            listed.add(row.number)
            if not low <= row.number <= high:
                log.error(
                    row.line,
                    f"item {row.number} is outside the range {low}-{high} of batch {number} "
                    f"(line {_line(draft)})",
                )
        items.extend(
            WorkItem(number=n, batch=number, line=_line(draft))
            for n in range(low, high + 1)
            if n not in listed
        )
    items.sort(key=lambda item: item.number)
    return replace(draft.batch, item_range=span, items=tuple(items))


def _check_duplicate_items(log: ProblemLog, drafts: Sequence[BatchDraft]) -> None:
    first: dict[int, int] = {}
    for draft in drafts:
        for row in draft.rows:
            if row.number in first:
                log.error(
                    row.line,
                    f"item {row.number} is listed twice (lines {first[row.number]} and {row.line})",
                )
            else:
                first[row.number] = row.line


def _check_phases(log: ProblemLog, phases: Iterable[Phase], known: set[int]) -> None:
    for phase in phases:
        for number in phase.batches:
            if number not in known:
                log.error(
                    phase.line,
                    f"phase {phase.ident} names batch {number}, which the plan does not define",
                )


def _check_total(log: ProblemLog, declared: int, line: int, batches: Sequence[Batch]) -> None:
    covered = sorted({item.number for batch in batches for item in batch.items})
    if len(covered) == declared:
        return
    head = f"plan declares {declared} work items but its batches cover {len(covered)}"
    if len(covered) < declared:
        # Work in gaps between covered numbers: a declared total of millions costs nothing.
        gaps: list[tuple[int, int]] = []
        expected = 1
        for number in covered:
            if number > declared:
                break
            if number > expected:
                gaps.append((expected, number - 1))
            expected = max(expected, number + 1)
        if expected <= declared:
            gaps.append((expected, declared))
        log.warning(line, f"{head}; items {compact_groups(gaps)} belong to no batch")
    else:
        beyond: list[tuple[int, int]] = []
        for number in covered:
            if 1 <= number <= declared:
                continue
            if beyond and number == beyond[-1][1] + 1:
                beyond[-1] = (beyond[-1][0], number)
            else:
                beyond.append((number, number))
        log.warning(line, f"{head}; items {compact_groups(beyond)} lie outside 1-{declared}")


def batch_hours(batch: Batch) -> float | None:
    """A batch's hours: its declared duration, else its items' estimates (None: neither)."""
    if batch.duration_hours is not None:
        return batch.duration_hours
    estimates = [i.estimate_hours for i in batch.items if i.estimate_hours is not None]
    return sum(estimates) if estimates else None


def _check_hours(
    log: ProblemLog,
    declared: float | None,
    line: int,
    batches: Sequence[Batch],
    phases: Iterable[Phase],
) -> None:
    """Warn where declared hours differ from what the level below adds up to.

    The plan's duration against its batches' hours, a phase's against its batches', a batch's
    against its items' estimates. A sum with an unknown part (a batch giving no hours, an item
    without an estimate) is not compared: it would differ for that reason alone.
    """
    for batch in batches:
        estimates = [item.estimate_hours for item in batch.items]
        if batch.duration_hours is None or not estimates:
            continue
        _compare_hours(
            log,
            batch.line,
            f"batch {batch.number}",
            batch.duration_hours,
            parts_name="its items' estimates",
            parts=estimates,
        )
    by_number = {batch.number: batch for batch in batches}
    for phase in phases:
        members = [by_number[n] for n in phase.batches if n in by_number]
        if phase.duration_hours is None or not members or len(members) < len(phase.batches):
            continue
        numbers = ", ".join(str(b.number) for b in members)
        _compare_hours(
            log,
            phase.line,
            f"phase {phase.ident}",
            phase.duration_hours,
            parts_name=f"its batches ({numbers})",
            parts=[batch_hours(b) for b in members],
        )
    if declared is not None and batches:
        _compare_hours(
            log,
            line,
            "plan",
            declared,
            parts_name="its batches",
            parts=[batch_hours(b) for b in batches],
        )


def _compare_hours(
    log: ProblemLog,
    line: int,
    who: str,
    declared: float,
    *,
    parts_name: str,
    parts: Sequence[float | None],
) -> None:
    if None in parts:
        return
    known = [part for part in parts if part is not None]
    total = sum(known)
    if abs(total - declared) < 0.005:
        return
    addends = f" ({'+'.join(f'{part:g}' for part in known)})" if 1 < len(known) <= 10 else ""
    log.warning(
        line,
        f"{who} declares {declared:g} hours but {parts_name} add up to {total:g}{addends}",
    )
