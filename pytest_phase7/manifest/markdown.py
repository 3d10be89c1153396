"""Read a Markdown execution plan (``PHASE7_EXECUTION_PLAN.md``) into a :class:`Manifest`.

The format is the one people already write, read liberally:

* optional front matter between ``---`` lines (simple ``key: value`` pairs, no YAML library);
* the title is the first ``#`` heading, Obsidian ``[[wiki links]]`` unwrapped;
* ``**Total Work Items:** 47`` before the first batch;
* ``### Batch N: Title (Priority note)`` headings (levels 2-4) with ``**Key:** value`` lines
  (``Items``, ``Duration``, ``Priority``, ``Target Coverage``, ``Focus``, ``Kind``, ``Gates``,
  ``Required``) and work-item tables (``| # | Module | File | ... | Status |``);
* ``### Phase 7.1: Title (Batch 1 + 5)`` headings with ``- **Duration:** 27 hours``;
* a ``## Success Criteria`` section of ``✅ **Label:** text`` lines.

A section runs to the next heading of the same or a higher level, or to the next batch or phase
heading. A batch or phase heading may also be a setext heading (``Batch 2: Title`` underlined
with ``---``). Fenced code blocks and HTML comments are skipped, as GitHub does not render them
as the plan; one never closed, which hides the rest of the file, is a warning. So is what GitHub
shows but this reader does not take: a work-item table or batch heading inside a ``>`` quote, a
work-item table outside any batch, a batch heading at level 1, 5 or 6. Line numbers are 1-based
and count lines the way :func:`~pytest_phase7.manifest.values.split_lines` splits them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pytest_phase7.errors import ManifestError
from pytest_phase7.manifest.checks import BatchDraft, ProblemLog, assemble, batch_kind
from pytest_phase7.manifest.values import (
    DASH,
    MAX_ITEMS,
    STATUS_EXPECTED,
    goal_problem,
    read_bool,
    read_coverage,
    read_hours,
    read_int,
    read_names,
    read_range,
    read_status,
    show,
    split_lines,
    strip_mark,
    strip_parenthetical,
)
from pytest_phase7.model import Batch, CellSpan, Criterion, Manifest, Phase, WorkItem

__all__ = ["parse_markdown", "split_cells"]

_KEY_LINE = re.compile(r"\s*(?:[-*+]\s+|[0-9]{1,9}[.)]\s+)?\*\*([^*]+)\*\*(.*)")
_BATCH_HEADING = re.compile(r"batch\s+#?([0-9]{1,30})\b(.*)", re.IGNORECASE | re.DOTALL)
_PHASE_HEADING = re.compile(r"phase\s+([0-9]+(?:\.[0-9]+)*[a-z]?)\b(.*)", re.IGNORECASE | re.DOTALL)
_LEADING_SEPARATOR = re.compile(r"^\s*(?::|\.|" + DASH + r")?\s*")
_BATCH_WORD = re.compile(r"\bbatch(?:es)?\b", re.IGNORECASE)
_BATCH_REFS = re.compile(r"([0-9]{1,30})(?:\s*" + DASH + r"\s*([0-9]{1,30}))?")
_WIKI_LINK = re.compile(r"\[\[([^\]|]*)(?:\|([^\]]*))?\]\]")
_SEPARATOR_CELL = re.compile(r"\s*:?-+:?\s*")
_THEMATIC_BREAK = re.compile(r"\s{0,3}([-*_])(?:\s*\1){2,}\s*")
_LIST_MARKER = re.compile(r"^(?:[-*+]|[0-9]{1,9}[.)])\s+")
_LEADING_INT = re.compile(r"\s*([0-9]{1,30})\b")
_SETEXT_UNDERLINE = re.compile(r" {0,3}(=+|-+)[ \t]*")
_QUOTE = re.compile(r" {0,3}>")
_QUOTE_MARKERS = re.compile(r"^(?: {0,3}> ?)+")
_COMMENT_OPEN = re.compile(r" {0,3}<!--")
# Emoji and other marks before "Batch 2" (in any encoding: mangled emoji are letters, too).
_LEADING_MARKS = re.compile(r"[^A-Za-z0-9]*")

#: Normalised table headers -> the WorkItem field they fill. Other headers become extras.
_COLUMNS: dict[str, str] = {
    "#": "number",
    "no": "number",
    "nr": "number",
    "number": "number",
    "item": "number",
    "item #": "number",
    "item no": "number",
    "id": "number",
    "module": "module",
    "area": "module",
    "file": "file",
    "file name": "file",
    "filename": "file",
    "path": "target",
    "target": "target",
    "complexity": "complexity",
    "est time": "estimate",
    "estimate": "estimate",
    "estimated time": "estimate",
    "est": "estimate",
    "hours": "estimate",
    "status": "status",
    "state": "status",
    "gates": "gates",
    "gate": "gates",
}

#: Normalised batch key names -> what they set.
_BATCH_KEYS: dict[str, str] = {
    "items": "items",
    "item range": "items",
    "duration": "duration",
    "priority": "priority",
    "target coverage": "coverage",
    "coverage target": "coverage",
    "coverage": "coverage",
    "focus": "focus",
    "kind": "kind",
    "gates": "gates",
    "required": "required",
}

_TOTAL_KEYS = frozenset({"total work items", "total items", "work items"})
_DURATION_KEYS = frozenset({"estimated duration", "total duration", "duration"})


def parse_markdown(text: str, path: str) -> Manifest:
    """Parse a Markdown plan; ``path`` is only used in messages.

    Consistency problems are collected in ``Manifest.problems``; only a plan without any batch
    raises :class:`~pytest_phase7.errors.ManifestError`.
    """
    return _Parser(text.removeprefix("\ufeff"), path).parse()


def split_cells(line: str) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` offsets of a table row's cells, split on unescaped ``|``.

    Leading and trailing pipes do not make empty cells. Offsets include the cells' padding.
    """
    if "\\" not in line:
        bounds: list[tuple[int, int]] = []
        start = 0
        for part in line.split("|"):
            bounds.append((start, start + len(part)))
            start += len(part) + 1
    else:
        bounds = []
        start = index = 0
        while index < len(line):
            char = line[index]
            if char == "\\":
                index += 2
                continue
            if char == "|":
                bounds.append((start, index))
                start = index + 1
            index += 1
        bounds.append((start, len(line)))
    if len(bounds) > 1 and not line[bounds[0][0] : bounds[0][1]].strip():
        bounds = bounds[1:]
    if len(bounds) > 1 and not line[bounds[-1][0] : bounds[-1][1]].strip():
        bounds = bounds[:-1]
    return bounds


def _heading(line: str) -> tuple[int, str] | None:
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3 or not stripped.startswith("#"):
        return None
    level = len(stripped) - len(stripped.lstrip("#"))
    rest = stripped[level:]
    # "#TTA" is a tag, not a heading: ATX headings need a space after the hashes.
    if level > 6 or (rest and rest[0] not in " \t"):
        return None
    text = rest.strip()
    body = text.rstrip("#")
    if body != text and (not body or body[-1] in " \t"):
        text = body.rstrip()
    return level, text


def _fence(line: str) -> tuple[str, int] | None:
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return None
    for char in "`~":
        if stripped.startswith(char * 3):
            return char, len(stripped) - len(stripped.lstrip(char))
    return None


def _closes(line: str, fence: tuple[str, int]) -> bool:
    found = _fence(line)
    return (
        found is not None
        and found[0] == fence[0]
        and found[1] >= fence[1]
        and not line.strip().strip(fence[0]).strip()
    )


def _key_line(line: str) -> tuple[str, str] | None:
    if "**" not in line:
        return None
    match = _KEY_LINE.match(line)
    if match is None:
        return None
    key, rest = match.group(1).strip(), match.group(2)
    if key.endswith(":"):
        key, value = key[:-1].rstrip(), rest.strip()
    elif rest.lstrip().startswith(":"):
        value = rest.lstrip()[1:].strip()
    else:
        return None
    return (key, value) if key else None


def _norm(name: str) -> str:
    cleaned = name.strip().strip("*_`").strip().rstrip(":").replace(".", " ")
    return " ".join(cleaned.split()).casefold()


def _unescape(text: str) -> str:
    return text.replace("\\|", "|")


def _is_separator(line: str) -> bool:
    if "|" not in line or "-" not in line:
        return False
    cells = split_cells(line)
    return bool(cells) and all(_SEPARATOR_CELL.fullmatch(line[s:e]) for s, e in cells)


def _looks_like_separator(line: str) -> bool:
    """``_is_separator``, after a cheap test that rules out almost every row."""
    return "-" in line and not line.strip(" \t|:-") and _is_separator(line)


def _is_item_header(line: str) -> bool:
    """Whether a table header is a work-item table's: a ``#`` column and a module, file or path."""
    fields = {_COLUMNS.get(_norm(line[s:e])) for s, e in split_cells(line)}
    return "number" in fields and bool(fields & {"module", "file", "target"})


def _batch_heading(text: str) -> re.Match[str] | None:
    """``Batch 2 ...`` at the start of a heading's text, after any emoji or markup."""
    return _BATCH_HEADING.match(_LEADING_MARKS.sub("", text, count=1).rstrip("*_ \t"))


def _unwrap_links(text: str) -> str:
    return _WIKI_LINK.sub(lambda m: m.group(2) if m.group(2) is not None else m.group(1), text)


@dataclass
class _Section:
    """A batch or phase being read: its heading and its ``**Key:** value`` lines."""

    line: int
    level: int
    keys: list[tuple[str, str]] = field(default_factory=list)
    values: dict[str, tuple[int, str]] = field(default_factory=dict)


@dataclass
class _BatchSection(_Section):
    number: int = 0
    title: str = ""
    note: str = ""
    rows: list[WorkItem] = field(default_factory=list)


@dataclass
class _PhaseSection(_Section):
    ident: str = ""
    title: str = ""
    batches: tuple[int, ...] | None = None


class _Parser:
    """One pass over the lines, keeping track of the section each line belongs to."""

    def __init__(self, text: str, path: str) -> None:
        self.lines = split_lines(text)
        self.log = ProblemLog(path)
        self.title: str | None = None
        self.total: int | None = None
        self.total_line = 0
        self.duration: float | None = None
        self.duration_line = 0
        self.drafts: list[BatchDraft] = []
        self.phases: list[Phase] = []
        self.criteria: list[Criterion] = []
        self.batch: _BatchSection | None = None
        self.phase: _PhaseSection | None = None
        self.criteria_level: int | None = None
        self.rows = 0  # work-item rows read so far, in every batch

    def parse(self) -> Manifest:
        front_matter, index = _front_matter(self.lines)
        fence: tuple[str, int] | None = None
        comment = False
        opened = 0  # the line of the code fence or HTML comment being skipped
        previous_pipe = False
        while index < len(self.lines):
            line = self.lines[index]
            number = index + 1
            if fence is not None or comment:
                if (fence is not None and _closes(line, fence)) or (comment and "-->" in line):
                    fence, comment, opened = None, False, 0
                index += 1
                continue
            fence = _fence(line)
            # An HTML comment runs to the line holding "-->", which may be its first.
            comment = fence is None and _COMMENT_OPEN.match(line) is not None
            if fence is not None or comment:
                comment = comment and "-->" not in line[line.index("<!--") + 4 :]
                opened = number
                index += 1
                continue
            heading = _heading(line)
            if heading is None and index + 1 < len(self.lines):
                heading = self._setext(line, self.lines[index + 1])
                if heading is not None:
                    index += 1  # the underline
            if heading is not None:
                following = self.lines[index + 1] if index + 1 < len(self.lines) else ""
                if "|" in heading[1] and _looks_like_separator(following):
                    self.log.warning(
                        number,
                        "a table header row starting with '#' is a heading, so the table below "
                        "it is ignored: begin the row with '|'",
                    )
                self._heading(number, *heading)
                index += 1
                continue
            if _QUOTE.match(line):
                self._quote(index)  # said; the line is then read as it always was
            if self.batch is None and "|" in line and self._outside_table(index):
                index = self._table_end(index)
                continue
            if self.batch is not None:
                if (
                    "|" in line
                    and index + 1 < len(self.lines)
                    and _is_separator(self.lines[index + 1])
                ):
                    index = self._table(index, self.batch)
                    previous_pipe = False
                    continue
                if _looks_like_separator(line):
                    # Its header would have been read with it: there is none right above.
                    self.log.warning(
                        number,
                        "a |---| separator row without a table header right above it: the "
                        "table is ignored (a header starting with '#' is a heading: begin it "
                        "with '|')",
                    )
                is_pipe = line.lstrip().startswith("|")
                if is_pipe and not previous_pipe and not _is_separator(line):
                    self.log.warning(
                        number,
                        "table without a |---| separator row under its header: ignored",
                    )
                previous_pipe = is_pipe
                self._key(self.batch, number, line)
            elif self.phase is not None:
                self._key(self.phase, number, line)
            elif self.criteria_level is not None:
                self._criterion(number, line)
            elif not self.drafts:
                self._total(number, line)
            index += 1
        self._close_batch()
        self._close_phase()
        if fence is not None or comment:
            self._never_closed(opened, "code fence" if fence is not None else "HTML comment")
        if not self.drafts:
            raise ManifestError(
                "no batches found (expected headings like '### Batch 1: Title')", self.log.path
            )
        return assemble(
            self.log,
            source_format="markdown",
            title=self.title or "",
            front_matter=front_matter,
            total_items=self.total,
            total_items_line=self.total_line,
            duration_hours=self.duration,
            duration_line=self.duration_line,
            drafts=self.drafts,
            phases=self.phases,
            criteria=self.criteria,
        )

    def _heading(self, line: int, level: int, text: str) -> None:
        if level == 1 and self.title is None:
            self.title = _unwrap_links(text).strip()
        if self.batch is not None and level <= self.batch.level:
            self._close_batch()
        if self.phase is not None and level <= self.phase.level:
            self._close_phase()
        if self.criteria_level is not None and level <= self.criteria_level:
            self.criteria_level = None
        clean = _LEADING_MARKS.sub("", text, count=1).rstrip("*_ \t")
        batch = _batch_heading(text)
        if not 2 <= level <= 4:
            if batch is not None and not (level == 1 and self.title == _unwrap_links(text).strip()):
                self.log.warning(
                    line,
                    f"batch heading at level {level} is ignored: batches are headings of level "
                    f"2 to 4 (### Batch {batch.group(1)}: Title)",
                )
            return
        phase = None if batch else _PHASE_HEADING.match(clean)
        if batch is None and phase is None and "criteria" not in clean.casefold():
            return
        self._close_batch()
        self._close_phase()
        self.criteria_level = None
        if batch is not None:
            title, note = strip_parenthetical(_LEADING_SEPARATOR.sub("", batch.group(2), count=1))
            self.batch = _BatchSection(
                line=line, level=level, number=int(batch.group(1)), title=title, note=note or ""
            )
        elif phase is not None:
            self.phase = self._phase_heading(line, level, phase.group(1), phase.group(2))
        else:
            self.criteria_level = level

    def _setext(self, line: str, underline: str) -> tuple[int, str] | None:
        """A setext heading (text underlined with ``===`` or ``---``) naming a batch or phase.

        Other setext headings are left alone: a ``**Key:** value`` line right above a ``---``
        break is one too, for GitHub, and plans written that way read as they always did.
        """
        match = _SETEXT_UNDERLINE.fullmatch(underline)
        text = line.strip()
        if match is None or not text or "|" in text or len(line) - len(line.lstrip(" ")) > 3:
            return None
        if _LIST_MARKER.match(text) or _QUOTE.match(line):
            return None
        clean = _LEADING_MARKS.sub("", text, count=1).rstrip("*_ \t")
        if _batch_heading(text) is None and _PHASE_HEADING.match(clean) is None:
            return None
        return (1 if match.group(1)[0] == "=" else 2), text

    def _quote(self, index: int) -> None:
        """Say when a ``>`` quote holds a batch heading or a work-item table: neither is read."""
        inner = _QUOTE_MARKERS.sub("", self.lines[index])
        heading = _heading(inner)
        if heading is not None:
            batch = _batch_heading(heading[1])
            if batch is not None:
                self.log.warning(
                    index + 1,
                    f"batch {batch.group(1)}'s heading is inside a > quote and is ignored; take "
                    "it out of the quote",
                )
            return
        following = self.lines[index + 1] if index + 1 < len(self.lines) else ""
        if "|" not in inner or not _QUOTE.match(following):
            return
        if _is_separator(_QUOTE_MARKERS.sub("", following)) and _is_item_header(inner):
            self.log.warning(
                index + 1, "a work-item table inside a > quote is ignored; take it out of the quote"
            )

    def _outside_table(self, index: int) -> bool:
        """Whether a work-item table starts at ``index``, outside any batch (said, then skipped)."""
        if index + 1 >= len(self.lines) or not _is_separator(self.lines[index + 1]):
            return False
        if not _is_item_header(self.lines[index]):
            return False
        self.log.warning(
            index + 1,
            "a work-item table outside any batch is ignored: put it under a "
            "'### Batch N: Title' heading",
        )
        return True

    def _table_end(self, index: int) -> int:
        """The index after the table whose header is at ``index`` (rows run to a blank line)."""
        lines = self.lines
        end = index + 2
        while end < len(lines) and "|" in lines[end] and lines[end].strip():
            if _heading(lines[end]) is not None or _fence(lines[end]) is not None:
                break
            # A header row with its separator right below: a new table, without a blank line.
            if end + 1 < len(lines) and _looks_like_separator(lines[end + 1]):
                self.log.warning(
                    end + 1,
                    "a new table header without a blank line before it (GitHub shows it as "
                    "rows of the table above); read as a new table",
                )
                break
            end += 1
        return end

    def _never_closed(self, line: int, what: str) -> None:
        """Warn about a code fence or HTML comment that hides the rest of the file."""
        hidden = []
        for index in range(line, len(self.lines)):
            heading = _heading(self.lines[index])
            if heading is not None and _batch_heading(heading[1]) is not None:
                hidden.append(str(index + 1))
        hides = ""
        if len(hidden) == 1:
            hides = f", hiding the batch heading at line {hidden[0]}"
        elif hidden:
            hides = f", hiding the batch headings at lines {', '.join(hidden[:10])}"
        close = "```" if what == "code fence" else "-->"
        self.log.warning(
            line,
            f"{what} opened here is never closed: the rest of the file is not read as the plan"
            f"{hides}; close it with {close}",
        )

    def _phase_heading(self, line: int, level: int, ident: str, rest: str) -> _PhaseSection:
        rest = _LEADING_SEPARATOR.sub("", rest, count=1)
        title, note = strip_parenthetical(rest)
        section = _PhaseSection(line=line, level=level, ident=ident, title=title)
        if note is not None and _BATCH_WORD.search(note):
            section.batches = self._batch_refs(line, ident, note)
        else:
            section.title = rest.strip()
        return section

    def _batch_refs(self, line: int, ident: str, text: str) -> tuple[int, ...]:
        numbers: dict[int, None] = {}
        for match in _BATCH_REFS.finditer(text):
            low = int(match.group(1))
            high = int(match.group(2)) if match.group(2) else low
            if high < low or high - low >= 1000:
                self.log.error(
                    line, f"phase {ident}: cannot read batch range {low}-{high} in {show(text)}"
                )
                continue
            numbers.update(dict.fromkeys(range(low, high + 1)))
        return tuple(numbers)

    def _key(self, section: _Section, line: int, text: str) -> None:
        found = _key_line(text)
        if found is None:
            return
        section.keys.append(found)
        name = _norm(found[0])
        if name in section.values:
            first = section.values[name][0]
            self.log.warning(
                line, f"**{found[0]}:** is given twice (lines {first} and {line}); using the first"
            )
            return
        section.values[name] = (line, found[1])

    def _total(self, line: int, text: str) -> None:
        """The plan's declared totals before its first batch: work items and duration."""
        found = _key_line(text)
        if found is None:
            return
        name = _norm(found[0])
        if name in _DURATION_KEYS and self.duration_line == 0:
            self.duration_line = line
            self.duration, understood = read_hours(found[1])
            if not understood:
                self.log.warning(line, f"cannot read the duration {show(found[1])} (e.g. 77 hours)")
            return
        if name not in _TOTAL_KEYS or self.total_line:
            return
        self.total_line = line
        match = _LEADING_INT.match(found[1])
        if match is None:
            self.log.warning(line, f"cannot read the total work items {show(found[1])}")
        else:
            self.total = int(match.group(1))

    def _criterion(self, line: int, text: str) -> None:
        stripped = text.strip()
        if not stripped or _THEMATIC_BREAK.fullmatch(stripped) or stripped.startswith("<!--"):
            return
        stripped = _LIST_MARKER.sub("", stripped, count=1)
        met, rest = strip_mark(stripped)
        label = ""
        found = _key_line(rest)
        if found is not None:
            label, rest = found
        self.criteria.append(Criterion(label=label, text=rest, line=line, met=met))

    def _table(self, index: int, batch: _BatchSection) -> int:
        """Read the table whose header is at ``index``; return the index after it."""
        lines = self.lines
        header_line = index + 1
        header = [_unescape(lines[index][s:e]).strip() for s, e in split_cells(lines[index])]
        end = self._table_end(index)
        separator = len(split_cells(lines[index + 1]))
        if separator != len(header):
            self.log.error(
                index + 2,
                f"table separator row has {separator} cells but its header (line {header_line}) "
                f"has {len(header)}; the table is ignored",
            )
            return end
        fields: list[str | None] = []
        seen: dict[str, str] = {}
        for name in header:
            normal = _norm(name)
            key = _COLUMNS.get(normal, "extra:" + normal)
            if key in seen:
                self.log.error(
                    header_line,
                    f"column {show(name)} appears twice in the table header (also as "
                    f"{show(seen[key])}); the table is ignored",
                )
                return end
            seen[key] = name
            fields.append(_COLUMNS.get(normal))
        if "number" not in seen:
            self.log.error(
                header_line,
                "work-item table has no '#' column (columns: "
                f"{', '.join(header)}); the table is ignored",
            )
            return end
        for row_index in range(index + 2, end):
            if self.rows > MAX_ITEMS:
                break  # assemble() says so, at the first row too many; the rest is not read
            item = self._row(
                row_index + 1,
                lines[row_index],
                header=header,
                fields=fields,
                header_line=header_line,
                batch=batch,
            )
            if item is not None:
                batch.rows.append(item)
                self.rows += 1
        return end

    def _row(
        self,
        line: int,
        text: str,
        *,
        header: list[str],
        fields: list[str | None],
        header_line: int,
        batch: _BatchSection,
    ) -> WorkItem | None:
        spans = split_cells(text)
        cells = [_unescape(text[s:e]).strip() for s, e in spans]
        if not any(cells):
            return None
        if len(cells) != len(header):
            self.log.error(
                line,
                f"table row has {len(cells)} cells but its header (line {header_line}) has "
                f"{len(header)}",
            )
            return None
        values: dict[str, str] = {}
        extra: list[tuple[str, str]] = []
        status_span: CellSpan | None = None
        status_text = ""
        for name, key, cell, (start, end) in zip(header, fields, cells, spans, strict=True):
            if key is None:
                extra.append((name, cell))
                continue
            values[key] = cell
            if key == "status":
                raw = text[start:end]
                offset = start + len(raw) - len(raw.lstrip())
                status_text = raw.strip()
                if not status_text:
                    offset = start + min(1, len(raw))
                status_span = CellSpan(line, offset, offset + len(status_text))
        number = read_int(values["number"])
        if number is None:
            self.log.error(line, f"item number {show(values['number'])} is not a whole number")
            return None
        estimate_text = values.get("estimate", "")
        hours, understood = read_hours(estimate_text)
        if not understood:
            self.log.warning(
                line, f"item {number}: cannot read estimate {show(estimate_text)} (e.g. 2h)"
            )
        status, known = read_status(status_text)
        if not known:
            self.log.error(
                line, f"item {number}: unknown status {show(status_text)} ({STATUS_EXPECTED})"
            )
        gates_text = values.get("gates", "")
        target = values.get("target", "").strip("`").strip()
        return WorkItem(
            number=number,
            batch=batch.number,
            line=line,
            module=values.get("module", ""),
            file=values.get("file", "").strip("`").strip(),
            target=target or None,
            complexity=values.get("complexity", ""),
            estimate_hours=hours,
            estimate_text=estimate_text,
            status=status,
            status_text=status_text,
            status_span=status_span,
            gates=read_names(gates_text) if gates_text else None,
            extra=tuple(extra),
        )

    def _close_batch(self) -> None:
        section, self.batch = self.batch, None
        if section is None:
            return
        label = f"batch {section.number}"
        values = {_BATCH_KEYS[k]: v for k, v in section.values.items() if k in _BATCH_KEYS}
        log = self.log
        item_range = None
        range_line = 0
        if "items" in values:
            range_line, text = values["items"]
            item_range = read_range(text)
            if item_range is None:
                log.error(
                    range_line, f"{label}: cannot read item range {show(text)} (expected N or N-M)"
                )
        duration = None
        if "duration" in values:
            where, text = values["duration"]
            duration, understood = read_hours(text)
            if not understood:
                log.warning(where, f"{label}: cannot read duration {show(text)} (e.g. 18 hours)")
        goal = None
        if "coverage" in values:
            where, text = values["coverage"]
            goal = read_coverage(text)
            if goal is None:
                log.warning(
                    where, f"{label}: cannot read target coverage {show(text)} (e.g. 5% -> 70%)"
                )
            elif goal_problem(goal):
                log.error(where, f"{label}: {goal_problem(goal)}")
                goal = None
        required = False
        if "required" in values:
            where, text = values["required"]
            answer = read_bool(text)
            if answer is None:
                log.error(where, f"{label}: cannot read Required {show(text)} (expected yes or no)")
            required = bool(answer)
        kind_text = values["kind"][1] if "kind" in values else None
        kind_line = values["kind"][0] if "kind" in values else section.line
        gates = read_names(values["gates"][1]) if "gates" in values else ()
        if "gates" in values and not gates:  # an empty list is not "every gate"
            log.error(values["gates"][0], f"{label}: Gates names no gate (leave it out for all)")
        batch = Batch(
            number=section.number,
            title=section.title,
            line=section.line,
            kind=batch_kind(log, section.number, section.title, kind_text, kind_line),
            priority=values["priority"][1] if "priority" in values else "",
            priority_note=section.note,
            item_range=item_range,
            duration_hours=duration,
            coverage_goal=goal,
            focus=values["focus"][1] if "focus" in values else "",
            gates=gates or None,
            required=required,
            keys=tuple(section.keys),
        )
        self.drafts.append(BatchDraft(batch=batch, range_line=range_line, rows=section.rows))

    def _close_phase(self) -> None:
        section, self.phase = self.phase, None
        if section is None:
            return
        duration = None
        if "duration" in section.values:
            where, text = section.values["duration"]
            duration, understood = read_hours(text)
            if not understood:
                self.log.warning(where, f"phase {section.ident}: cannot read duration {show(text)}")
        batches = section.batches
        for name in ("batches", "batch"):
            if batches is None and name in section.values:
                where, text = section.values[name]
                batches = self._batch_refs(where, section.ident, text)
        self.phases.append(
            Phase(
                ident=section.ident,
                title=section.title,
                line=section.line,
                batches=batches or (),
                duration_hours=duration,
                keys=tuple(section.keys),
            )
        )


def _front_matter(lines: list[str]) -> tuple[list[tuple[str, str]], int]:
    """Read ``key: value`` pairs between ``---`` lines at the top, and where the body starts."""
    if not lines or lines[0].strip() != "---":
        return [], 0
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
        heading = _heading(lines[end])
        if heading is not None and heading[0] > 1:
            # A plan that merely opens with a thematic break: its sections are no front matter
            # (a single "#" line may still be a YAML comment).
            return [], 0
    else:
        return [], 0
    pairs: list[tuple[str, str]] = []
    for line in lines[1:end]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, _, value = stripped.partition(":")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        pairs.append((key.strip(), value))
    return pairs, end + 1
