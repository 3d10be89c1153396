"""The manifest as TOML: ``phase7.toml`` (top level) or ``[tool.phase7]`` in ``pyproject.toml``.

Schema (every key optional unless marked; other top-level keys are settings and ignored here)::

    title = "Phase 7"                     # the plan's title
    total_items = 47                      # the declared number of work items
    duration_hours = 77                   # the declared duration of the whole plan
    front_matter = { status = "Active" }  # or [["status", "Active"], ...] to repeat a key
    manifest = "PLAN.md"                  # load this plan instead (handled by load_manifest)

    [[batches]]                           # at least one batch
    number = 1                            # required, a whole number
    title = "Tier 1 Unit Tests"
    kind = "tests"                        # tests | refactor | docs | codegen; else from the title
    priority = "CRITICAL"
    priority_note = "Critical - High Impact"
    items = "1-6"                         # the range: "1-6", "7", [1, 6] or 7; when the batch
    item_range = "1-6"                    #   also lists [[batches.items]], use item_range
    duration_hours = 18
    target_coverage = "5% -> 70%"         # or { from = 5, to = 70 }, { from = [5, 27], to = 70 }
    focus = "Error handling"
    gates = ["coverage", "ruff"]          # or "coverage, ruff"
    required = true

    [[batches.items]]
    number = 1                            # required
    module = "Agent Orchestration"
    file = "adapters.py"
    path = "tta.agents.adapters"          # explicit target (a path or a dotted module)
    complexity = "Simple"
    estimate = "2h"                       # or estimate_hours = 2
    status = "QUEUED"                     # read like a Markdown status cell
    gates = ["coverage"]
    owner = "alice"                       # any other string key is an extra column
    extra = { path = "..." }              # extra columns whose names clash with the keys above

    [[phases]]
    ident = "7.1"                         # required
    title = "Quick Wins"
    batches = [1, 5]
    duration_hours = 27

    [[criteria]]
    label = "Unit Tests"
    text = "70%+ coverage for all modules"
    met = true

:func:`to_toml` writes this schema back, using the table form of ``target_coverage`` (exact
numbers, no text to re-read), ``estimate_hours``, and ``item_range`` whenever a batch lists items.
TOML gives no line numbers, so lines are found by counting ``[[...batches]]``-style headers in the
source text; values written as inline tables fall back to the enclosing table's line, or 0.
"""

from __future__ import annotations

import bisect
import datetime
import math
import re
from collections.abc import Iterable, Mapping

from pytest_phase7.errors import ManifestError
from pytest_phase7.manifest.checks import BatchDraft, ProblemLog, assemble, batch_kind
from pytest_phase7.manifest.values import (
    STATUS_EXPECTED,
    goal_problem,
    read_coverage,
    read_hours,
    read_names,
    read_range,
    read_status,
    show,
)
from pytest_phase7.model import (
    Batch,
    CoverageGoal,
    Criterion,
    Manifest,
    Phase,
    WorkItem,
)
from pytest_phase7.settings import MANIFEST_KEYS
from pytest_phase7.tomltext import TomlLines

__all__ = ["MANIFEST_TABLE_KEYS", "parse_toml", "root_key_line", "to_toml"]

#: Top-level keys that describe the manifest (everything else in the table is a setting).
MANIFEST_TABLE_KEYS = MANIFEST_KEYS | {"manifest"}

_BATCH_KEYS = frozenset(
    {
        "number",
        "title",
        "kind",
        "priority",
        "priority_note",
        "items",
        "item_range",
        "duration_hours",
        "target_coverage",
        "focus",
        "gates",
        "required",
    }
)
_ITEM_KEYS = frozenset(
    {
        "number",
        "module",
        "file",
        "path",
        "target",
        "complexity",
        "estimate",
        "estimate_hours",
        "status",
        "gates",
        "extra",
    }
)
_PHASE_KEYS = frozenset({"ident", "title", "batches", "duration_hours"})
_CRITERION_KEYS = frozenset({"label", "text", "met"})
_GOAL_KEYS = frozenset({"from", "to"})


class _Locator(TomlLines):
    """Line numbers in a manifest's TOML source: its own top level, or ``[tool.phase7]``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        nested = any(
            name == "tool.phase7" or name.startswith("tool.phase7.") for _, _, name in self.headers
        )
        self.prefix = "tool.phase7." if nested else ""
        self.root: int | None = self.table("tool.phase7") if nested else 0

    def arrays(self, name: str) -> list[int]:
        """Return the lines of the manifest's ``[[name]]`` headers, in order."""
        return super().arrays(self.prefix + name)

    def key(self, table_line: int | None, key: str) -> int:
        """Find ``key = ...`` in the table whose header is at ``table_line`` (0: file top).

        Not a key of the table itself: maybe a sub-table written as ``[batches.KEY]``; else the
        table's own line.
        """
        if table_line is None or not self.lines:
            return 0
        return super().key(table_line, key) or self.subtable(table_line, key) or table_line


def root_key_line(text: str, key: str) -> int:
    """Find the line of a top-level manifest key (``[tool.phase7]`` in a pyproject), else 0."""
    locator = _Locator(text)
    line = locator.key(locator.root, key)
    return line if line != locator.root else 0


def _lines_for(headers: list[int], count: int) -> list[int]:
    return headers if len(headers) == count else [0] * count


class _Reader:
    """Typed access to one TOML table, reporting wrong types and unknown keys as problems."""

    def __init__(
        self,
        data: Mapping[str, object],
        label: str,
        line: int,
        locator: _Locator,
        log: ProblemLog,
        *,
        region: int | None = None,
    ) -> None:
        """Read ``data``, the table whose header is at ``line`` (0: unknown).

        ``region`` overrides where its keys are looked for (0: the top of the file).
        """
        self.data = data
        self.label = label
        self.line = line
        self.locator = locator
        self.log = log
        self.region = region if region is not None else (line or None)

    def where(self, key: str) -> int:
        """Find the line of ``key`` in this table (the table's own line if it is not found)."""
        if self.region is None:
            return self.line
        return self.locator.key(self.region, key) or self.line

    def wrong(self, key: str, expected: str) -> None:
        """Report that ``key`` has the wrong type."""
        self.log.error(
            self.where(key),
            f"{self.label}: {key} must be {expected}, got {show(self.data[key])}",
        )

    def unknown(self, allowed: frozenset[str]) -> None:
        """Report keys this table does not define."""
        for key in self.data:
            if key not in allowed:
                self.log.error(self.where(key), f"{self.label}: unknown key {show(key)}")

    def text(self, key: str) -> str:
        """Read a string value ("" when absent or wrong)."""
        value = self.data.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.wrong(key, "a string")
            return ""
        return value

    def integer(self, key: str) -> int | None:
        """Read a whole number, or None."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.wrong(key, "a whole number")
            return None
        return value

    def hours(self, key: str) -> float | None:
        """Read a non-negative finite number of hours, or None."""
        value = self.data.get(key)
        if value is None:
            return None
        number = _number(value)
        if number is None or number < 0:
            self.wrong(key, "a number of hours")
            return None
        return number

    def flag(self, key: str) -> bool | None:
        """Read a boolean, or None."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.wrong(key, "true or false")
            return None
        return value

    def names(self, key: str) -> tuple[str, ...] | None:
        """Read gate names: a list of strings or one comma-separated string."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ",".join(value)
        if isinstance(value, str):
            names = read_names(value)
            if not names:  # not "every gate", and not "no gate" by accident either
                self.log.error(
                    self.where(key), f"{self.label}: {key} names no gate (leave it out for all)"
                )
                return None
            return names
        self.wrong(key, "a list of gate names")
        return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def parse_toml(table: Mapping[str, object], path: str, text: str = "") -> Manifest:
    """Build a :class:`Manifest` from a TOML table (the document, or ``[tool.phase7]``).

    ``text`` is the raw TOML source, used only to find line numbers. Other top-level keys are
    settings and ignored, and so is ``manifest`` (following it is :func:`load_manifest`'s job).
    A table without batches raises :class:`~pytest_phase7.errors.ManifestError`.
    """
    log = ProblemLog(path)
    locator = _Locator(text)
    root = _Reader(table, "manifest", 0, locator, log, region=locator.root)
    where = (locator.prefix or "") + "batches"
    batches = table.get("batches")
    if not isinstance(batches, list) or not batches:
        message = f"no batches found (expected [[{where}]] tables)"
        if batches is not None and not isinstance(batches, list):
            message = f"batches must be an array of tables ([[{where}]]), got {show(batches)}"
        raise ManifestError(message, path, locator.key(locator.root, "batches"))
    total = root.integer("total_items")
    if total is not None and total < 0:
        root.wrong("total_items", "a whole number >= 0")
        total = None
    duration = root.hours("duration_hours")
    batch_lines = _lines_for(locator.arrays("batches"), len(batches))
    item_headers = locator.arrays("batches.items")
    drafts: list[BatchDraft] = []
    for index, (data, line) in enumerate(zip(batches, batch_lines, strict=True)):
        if not isinstance(data, dict):
            log.error(line, f"batches[{index}] must be a table, got {show(data)}")
            continue
        following = batch_lines[index + 1] if index + 1 < len(batch_lines) else None
        draft = _batch(data, line, _own_headers(item_headers, line, following), locator, log)
        if draft is not None:
            drafts.append(draft)
    if not drafts:
        first = log.sorted()[0]  # every batch was dropped, each with an error saying why
        raise ManifestError(f"no usable batches: {first.message}", path, first.line)
    return assemble(
        log,
        source_format="toml",
        title=root.text("title"),
        front_matter=_front_matter(root),
        total_items=total,
        total_items_line=locator.key(locator.root, "total_items") if total is not None else 0,
        duration_hours=duration,
        duration_line=locator.key(locator.root, "duration_hours") if duration is not None else 0,
        drafts=drafts,
        phases=_phases(table.get("phases"), locator, log, root),
        criteria=_criteria(table.get("criteria"), locator, log, root),
    )


def _own_headers(headers: list[int], line: int, following: int | None) -> list[int]:
    if not line:
        return []
    low = bisect.bisect_right(headers, line)
    high = bisect.bisect_left(headers, following) if following else len(headers)
    return headers[low:high]


def _front_matter(root: _Reader) -> list[tuple[str, str]]:
    value = root.data.get("front_matter")
    if value is None:
        return []
    pairs: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            shown = _scalar_text(item)
            if shown is None:
                root.log.error(
                    root.where("front_matter"),
                    f"front_matter: {key} must be a string, got {show(item)}",
                )
            else:
                pairs.append((str(key), shown))
        return pairs
    if isinstance(value, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in value
    ):
        return [(str(p[0]), str(p[1])) for p in value]
    root.wrong("front_matter", 'a table or a list of ["key", "value"] pairs')
    return []


def _scalar_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _batch(
    data: Mapping[str, object],
    line: int,
    item_lines: list[int],
    locator: _Locator,
    log: ProblemLog,
) -> BatchDraft | None:
    number = data.get("number")
    reader = _Reader(data, f"batch {number}", line, locator, log)
    if isinstance(number, bool) or not isinstance(number, int):
        if number is None:
            log.error(line, "batch table has no number")
        else:
            log.error(
                reader.where("number"),
                f"batch number must be a whole number, got {show(number)}",
            )
        return None
    reader.unknown(_BATCH_KEYS)
    title = reader.text("title")
    rows_data: list[object] = []
    range_key = "item_range" if "item_range" in data else "items"
    range_value = data.get("item_range")
    items = data.get("items")
    if isinstance(items, list) and items and all(isinstance(v, dict) for v in items):
        rows_data = list(items)
    elif items is not None and isinstance(items, list) and not items:
        pass
    elif items is not None and "item_range" in data:
        reader.wrong("items", "an array of item tables when item_range is given")
    elif items is not None:
        range_value = items
    item_range = _range(reader, range_key, range_value)
    kind_text = data.get("kind")
    if kind_text is not None and not isinstance(kind_text, str):
        reader.wrong("kind", "a string")
        kind_text = None
    rows: list[WorkItem] = []
    item_lines = item_lines if len(item_lines) == len(rows_data) else [line] * len(rows_data)
    for row, row_line in zip(rows_data, item_lines, strict=True):
        item = _item(row, number, row_line, locator, log)
        if item is not None:
            rows.append(item)
    batch = Batch(
        number=number,
        title=title,
        line=line,
        kind=batch_kind(log, number, title, kind_text, reader.where("kind")),
        priority=reader.text("priority"),
        priority_note=reader.text("priority_note"),
        item_range=item_range,
        duration_hours=reader.hours("duration_hours"),
        coverage_goal=_goal(reader),
        focus=reader.text("focus"),
        gates=reader.names("gates"),
        required=bool(reader.flag("required")),
    )
    range_line = reader.where(range_key) if item_range is not None else 0
    return BatchDraft(batch=batch, range_line=range_line, rows=rows)


def _range(reader: _Reader, key: str, value: object) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, str):
        found = read_range(value)
        if found is None:
            reader.log.error(
                reader.where(key),
                f"{reader.label}: cannot read item range {show(value)} (expected N or N-M)",
            )
        return found
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if (
        isinstance(value, list)
        and len(value) in (1, 2)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return int(value[0]), int(value[-1])
    reader.log.error(
        reader.where(key),
        f'{reader.label}: {key} must be a range ("1-6", [1, 6] or 7) or an array of item '
        f"tables, got {show(value)}",
    )
    return None


def _goal(reader: _Reader) -> CoverageGoal | None:
    goal = _read_goal(reader)
    if goal_problem(goal):
        reader.log.error(reader.where("target_coverage"), f"{reader.label}: {goal_problem(goal)}")
        return None
    return goal


def _read_goal(reader: _Reader) -> CoverageGoal | None:
    value = reader.data.get("target_coverage")
    if value is None:
        return None
    if isinstance(value, str):
        goal = read_coverage(value)
        if goal is None:
            reader.log.warning(
                reader.where("target_coverage"),
                f"{reader.label}: cannot read target coverage {show(value)} (e.g. 5% -> 70%)",
            )
        return goal
    if isinstance(value, dict):
        table = _Reader(
            value,
            f"{reader.label} target_coverage",
            reader.where("target_coverage"),
            reader.locator,
            reader.log,
        )
        table.unknown(_GOAL_KEYS)
        to = _number(value.get("to"))
        start = value.get("from")
        if start is None:
            low = high = None
        elif isinstance(start, list) and len(start) in (1, 2):
            low, high = _number(start[0]), _number(start[-1])
        else:
            low = high = _number(start)
        if to is None or (start is not None and (low is None or high is None)):
            table.log.error(
                reader.where("target_coverage"),
                f"{reader.label}: target_coverage needs numbers: to = 70 and optionally "
                f"from = 5 or from = [5, 27], got {show(value)}",
            )
            return None
        return CoverageGoal(low, high, to)
    reader.wrong("target_coverage", 'a goal ("5% -> 70%" or { from = 5, to = 70 })')
    return None


def _item(
    data: object, batch: int, line: int, locator: _Locator, log: ProblemLog
) -> WorkItem | None:
    if not isinstance(data, dict):
        log.error(line, f"batch {batch}: items must be tables, got {show(data)}")
        return None
    number = data.get("number")
    reader = _Reader(data, f"item {number}", line, locator, log)
    if isinstance(number, bool) or not isinstance(number, int):
        if number is None:
            log.error(line, f"batch {batch}: item table has no number")
        else:
            log.error(
                reader.where("number"),
                f"batch {batch}: item number must be a whole number, got {show(number)}",
            )
        return None
    extra: list[tuple[str, str]] = []
    for key, value in data.items():
        if key in _ITEM_KEYS:
            continue
        if isinstance(value, str):
            extra.append((key, value))
        else:
            log.error(
                reader.where(key),
                f"item {number}: unknown key {show(key)} (extra columns must be strings)",
            )
    more = data.get("extra")
    if isinstance(more, dict) and all(isinstance(v, str) for v in more.values()):
        extra.extend((str(k), str(v)) for k, v in more.items())
    elif more is not None:
        reader.wrong("extra", "a table of strings")
    if "path" in data and "target" in data:
        log.error(reader.where("target"), f"item {number}: give path or target, not both")
    target = reader.text("path") if "path" in data else reader.text("target")
    hours, estimate_text = _estimate(reader, number)
    status_text = reader.text("status")
    status, known = read_status(status_text)
    if not known:
        log.error(
            reader.where("status"),
            f"item {number}: unknown status {show(status_text)} ({STATUS_EXPECTED})",
        )
    return WorkItem(
        number=number,
        batch=batch,
        line=line,
        module=reader.text("module"),
        file=reader.text("file"),
        target=target or None,
        complexity=reader.text("complexity"),
        estimate_hours=hours,
        estimate_text=estimate_text,
        status=status,
        status_text=status_text,
        gates=reader.names("gates"),
        extra=tuple(extra),
    )


def _estimate(reader: _Reader, number: int) -> tuple[float | None, str]:
    if "estimate" in reader.data and "estimate_hours" in reader.data:
        reader.log.error(
            reader.where("estimate_hours"),
            f"item {number}: give estimate or estimate_hours, not both",
        )
    value = reader.data.get("estimate")
    if value is None:
        hours = reader.hours("estimate_hours")
        return hours, "" if hours is None else f"{hours:g}h"
    if isinstance(value, str):
        hours, understood = read_hours(value)
        if not understood:
            reader.log.warning(
                reader.where("estimate"),
                f"item {number}: cannot read estimate {show(value)} (e.g. 2h)",
            )
        return hours, value
    return reader.hours("estimate"), str(value)


def _tables(
    value: object, name: str, locator: _Locator, log: ProblemLog, root: _Reader
) -> list[tuple[Mapping[str, object], int]]:
    if value is None:
        return []
    if not isinstance(value, list):
        root.wrong(name, f"an array of tables ([[{locator.prefix}{name}]])")
        return []
    lines = _lines_for(locator.arrays(name), len(value))
    tables: list[tuple[Mapping[str, object], int]] = []
    for index, (data, line) in enumerate(zip(value, lines, strict=True)):
        if isinstance(data, dict):
            tables.append((data, line))
        else:
            log.error(line or root.where(name), f"{name}[{index}] must be a table")
    return tables


def _phases(value: object, locator: _Locator, log: ProblemLog, root: _Reader) -> list[Phase]:
    phases: list[Phase] = []
    for data, line in _tables(value, "phases", locator, log, root):
        ident = data.get("ident")
        reader = _Reader(data, f"phase {ident}", line, locator, log)
        if isinstance(ident, int) and not isinstance(ident, bool):
            ident = str(ident)
        if not isinstance(ident, str) or not ident:
            if ident is None:
                log.error(line, "phase table has no ident")
            else:
                log.error(
                    reader.where("ident"),
                    f'phase ident must be a string such as "7.1", got {show(ident)}',
                )
            continue
        reader.unknown(_PHASE_KEYS)
        batches = data.get("batches", [])
        if isinstance(batches, int) and not isinstance(batches, bool):
            batches = [batches]
        if not isinstance(batches, list) or not all(
            isinstance(b, int) and not isinstance(b, bool) for b in batches
        ):
            reader.wrong("batches", "a list of batch numbers")
            batches = []
        phases.append(
            Phase(
                ident=ident,
                title=reader.text("title"),
                line=line,
                batches=tuple(int(b) for b in batches),
                duration_hours=reader.hours("duration_hours"),
            )
        )
    return phases


def _criteria(value: object, locator: _Locator, log: ProblemLog, root: _Reader) -> list[Criterion]:
    criteria: list[Criterion] = []
    for index, (data, line) in enumerate(_tables(value, "criteria", locator, log, root)):
        reader = _Reader(data, f"criteria[{index}]", line, locator, log)
        reader.unknown(_CRITERION_KEYS)
        criteria.append(
            Criterion(
                label=reader.text("label"),
                text=reader.text("text"),
                line=line,
                met=reader.flag("met"),
            )
        )
    return criteria


# --- writing -------------------------------------------------------------------------------

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _string(text: str) -> str:
    if not _NEEDS_ESCAPE.search(text):
        return f'"{text}"'
    body = _NEEDS_ESCAPE.sub(lambda m: _ESCAPES.get(m.group(0), f"\\u{ord(m.group(0)):04X}"), text)
    return f'"{body}"'


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else _string(name)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        pairs = ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items())
        return "{ " + pairs + " }" if pairs else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _range_value(span: tuple[int, int]) -> str:
    low, high = span
    if low >= 0 and high >= 0:
        return _string(f"{low}-{high}")
    return _value([low, high])


def _goal_value(goal: CoverageGoal) -> str:
    fields: dict[str, object] = {}
    if goal.from_low is not None or goal.from_high is not None:
        low = goal.from_low if goal.from_low is not None else goal.from_high
        high = goal.from_high if goal.from_high is not None else goal.from_low
        fields["from"] = low if low == high else [low, high]
    fields["to"] = goal.to
    return _value(fields)


def _lines(pairs: Iterable[tuple[str, object]]) -> list[str]:
    return [f"{_key(k)} = {_value(v)}" for k, v in pairs]


def _kept_items(batch: Batch) -> list[WorkItem]:
    """List the items to write: all but the unmapped ones the batch's range recreates."""
    if batch.item_range is None:
        return list(batch.items)
    low, high = batch.item_range
    counts: dict[int, int] = {}
    for item in batch.items:
        counts[item.number] = counts.get(item.number, 0) + 1
    return [
        item
        for item in batch.items
        if not (
            low <= item.number <= high
            and counts[item.number] == 1
            and item == WorkItem(number=item.number, batch=batch.number)
        )
    ]


def _item_lines(item: WorkItem) -> list[str]:
    pairs: list[tuple[str, object]] = [("number", item.number)]
    pairs += [(k, v) for k, v in (("module", item.module), ("file", item.file)) if v]
    if item.target is not None:
        pairs.append(("path", item.target))
    if item.complexity:
        pairs.append(("complexity", item.complexity))
    if item.estimate_hours is not None:
        pairs.append(("estimate_hours", item.estimate_hours))
    if item.status is not None:
        pairs.append(("status", item.status.label))
    if item.gates is not None:
        pairs.append(("gates", list(item.gates)))
    if any(name in _ITEM_KEYS for name, _ in item.extra):
        pairs.append(("extra", dict(item.extra)))
    else:
        pairs += list(item.extra)
    return _lines(pairs)


def to_toml(manifest: Manifest) -> str:
    """Write a manifest as TOML in the schema above; :func:`parse_toml` reads it back equal.

    Written by hand (the standard library reads TOML but cannot write it). Line numbers, raw
    cell text and problems are not written: they describe a source file, not the plan.
    """
    out: list[str] = []
    top: list[tuple[str, object]] = []
    if manifest.title:
        top.append(("title", manifest.title))
    if manifest.total_items is not None:
        top.append(("total_items", manifest.total_items))
    if manifest.duration_hours is not None:
        top.append(("duration_hours", manifest.duration_hours))
    keys = [key for key, _ in manifest.front_matter]
    repeated = len(set(keys)) != len(keys)
    if manifest.front_matter and repeated:
        top.append(("front_matter", [list(pair) for pair in manifest.front_matter]))
    out += _lines(top)
    if manifest.front_matter and not repeated:
        out += ["", "[front_matter]", *_lines(manifest.front_matter)]
    for batch in manifest.batches:
        out += ["", "[[batches]]", *_batch_lines(batch)]
        for item in _kept_items(batch):
            out += ["", "[[batches.items]]", *_item_lines(item)]
    for phase in manifest.phases:
        pairs: list[tuple[str, object]] = [("ident", phase.ident)]
        if phase.title:
            pairs.append(("title", phase.title))
        pairs.append(("batches", list(phase.batches)))
        if phase.duration_hours is not None:
            pairs.append(("duration_hours", phase.duration_hours))
        out += ["", "[[phases]]", *_lines(pairs)]
    for criterion in manifest.criteria:
        pairs = [("label", criterion.label), ("text", criterion.text)]
        if criterion.met is not None:
            pairs.append(("met", criterion.met))
        out += ["", "[[criteria]]", *_lines(pairs)]
    return "\n".join(out).lstrip("\n") + "\n"


def _batch_lines(batch: Batch) -> list[str]:
    pairs: list[tuple[str, object]] = [("number", batch.number)]
    for key, text in (
        ("title", batch.title),
        ("kind", batch.kind.value),
        ("priority", batch.priority),
        ("priority_note", batch.priority_note),
    ):
        if text:
            pairs.append((key, text))
    lines = _lines(pairs)
    if batch.item_range is not None:
        key = "item_range" if _kept_items(batch) else "items"
        lines.append(f"{key} = {_range_value(batch.item_range)}")
    if batch.duration_hours is not None:
        lines += _lines([("duration_hours", batch.duration_hours)])
    if batch.coverage_goal is not None:
        lines.append(f"target_coverage = {_goal_value(batch.coverage_goal)}")
    tail: list[tuple[str, object]] = []
    if batch.focus:
        tail.append(("focus", batch.focus))
    if batch.gates is not None:
        tail.append(("gates", list(batch.gates)))
    if batch.required:
        tail.append(("required", True))
    return lines + _lines(tail)
