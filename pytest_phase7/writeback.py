"""Write derived statuses back into the plan (``--phase7-update-manifest``), touching nothing else.

Markdown plans: only the text inside each Status cell is replaced, at the exact character span
the loader recorded (:attr:`~pytest_phase7.model.WorkItem.status_span`); padding, pipes, other
cells, front matter, mojibake, the byte order mark and line endings (CRLF, CR) stay as they are.
A cell whose text already means the derived status is left alone (an hourglass emoji mangled to
Mac Roman, then QUEUED, still reads QUEUED), so a plan whose statuses did not change is not
written at all. A changed cell gets the canonical form (``✅ DONE``), and a
``**Last Updated:** <date>`` line, if the plan has one, today's date in the same style.

TOML manifests: only the ``status = "..."`` line of each changed item's ``[[batches.items]]`` table
is rewritten, or one is added after the table's last key; the file is never re-serialised.

The file is replaced atomically (temp file + rename, mode kept). Nothing is written after a
partial run, or for an item whose gates could not measure (ERROR), unless forced; the file is not
written either if it changed since phase7 read it.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_phase7.atomic import write_atomic
from pytest_phase7.engine import RunResult
from pytest_phase7.files import read_regular
from pytest_phase7.gates.base import GateStatus
from pytest_phase7.manifest.values import read_status
from pytest_phase7.model import PlanStatus
from pytest_phase7.report import status_badge
from pytest_phase7.status import ItemOutcome
from pytest_phase7.tomltext import HEADER as TOML_HEADER
from pytest_phase7.tomltext import KEY as TOML_KEY
from pytest_phase7.tomltext import TomlSyntaxError, loads

_BOM = b"\xef\xbb\xbf"
_LINE_BREAKS = re.compile(r"(\r\n|\r|\n)")
_LAST_UPDATED = re.compile(
    r"^(?P<head>\s*(?:[-*+]\s+)?\*\*Last[ \t]+Updated:?\*\*:?[ \t]*)(?P<value>.*?)(?P<tail>\s*)$",
    re.IGNORECASE,
)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_WORD = "(?:" + "|".join(m[:3] + "(?:" + m[3:] + ")?" for m in _MONTHS) + r")\.?"
_DATE_STYLES = (
    ("iso", re.compile(r"\d{4}-\d{2}-\d{2}")),
    ("month-day-year", re.compile(_MONTH_WORD + r"\s+\d{1,2},\s*\d{4}", re.IGNORECASE)),
    ("day-month-year", re.compile(r"\d{1,2}\s+" + _MONTH_WORD + r"\s+\d{4}", re.IGNORECASE)),
)


class WriteBackError(Exception):
    """The plan cannot be updated safely (changed since it was read, unreadable, unexpected)."""


@dataclass(frozen=True)
class Change:
    """One status the write-back changes: the item, what the plan said, what it says now."""

    item: int
    before: str
    after: str


@dataclass(frozen=True)
class WriteBack:
    """What a write-back did: the file, the changes written, items left alone, and a summary."""

    path: Path
    changes: tuple[Change, ...]
    kept: tuple[str, ...]
    written: bool
    message: str


def refusal(result: RunResult, partial: str = "") -> str:
    """Why statuses must not be written back after this run ('' when they may be).

    A partial run (``partial`` says how) cannot judge coverage; a run in which no gate measured
    anything (every result ERROR) would mark every item FAILED for a reason unrelated to the code.
    """
    if partial:
        return f"the run was partial ({partial})"
    results = [r for o in result.outcomes for r in o.results if r.status is not GateStatus.SKIP]
    if results and all(r.status is GateStatus.ERROR for r in results):
        return "no gate could measure anything (every result is ERROR)"
    return ""


def wanted_statuses(
    result: RunResult, *, force: bool = False
) -> tuple[list[tuple[ItemOutcome, PlanStatus]], list[str]]:
    """The status to write for each item, and why some items are left alone.

    Items whose status comes from a gate that could not measure (ERROR) or a target that could
    not be resolved keep what the plan says, unless ``force``.
    """
    wanted: list[tuple[ItemOutcome, PlanStatus]] = []
    kept: list[str] = []
    for outcome in result.outcomes:
        if outcome.error and not outcome.regression and not force:
            kept.append(f"item {outcome.item.number}: could not be checked ({outcome.reason})")
            continue
        wanted.append((outcome, outcome.status))
    return wanted, kept


def _same(text: str, status: PlanStatus) -> bool:
    recorded, understood = read_status(text)
    return understood and recorded is status


def _split(text: str) -> list[str]:
    """Lines and their line breaks, alternating (``"".join`` gives the text back)."""
    return _LINE_BREAKS.split(text)


def _decode(data: bytes, path: Path) -> tuple[bytes, str]:
    bom = _BOM if data.startswith(_BOM) else b""
    try:
        return bom, data[len(bom) :].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WriteBackError(f"{path}: not UTF-8 text ({exc.reason})") from None


def format_date(today: datetime.date, like: str) -> str:
    """``today`` in the style of ``like``: ``October 27, 2025``, ``27 Oct 2025`` or ISO."""
    for style, pattern in _DATE_STYLES:
        found = pattern.search(like)
        if found is None:
            continue
        if style == "iso":
            return today.isoformat()
        month = _MONTHS[today.month - 1]
        word = re.search(r"[A-Za-z]+\.?", found.group(0))
        written = word.group(0) if word else month
        if len(written.rstrip(".")) == 3:
            month = month[:3] + ("." if written.endswith(".") else "")
        if style == "month-day-year":
            return f"{month} {today.day}, {today.year}"
        return f"{today.day} {month} {today.year}"
    return today.isoformat()


def _update_date(line: str, today: datetime.date) -> str:
    match = _LAST_UPDATED.match(line)
    if match is None:
        return line
    value = match.group("value")
    for _, pattern in _DATE_STYLES:
        found = pattern.search(value)
        if found is not None:
            new = value[: found.start()] + format_date(today, found.group(0)) + value[found.end() :]
            break
    else:
        new = today.isoformat()
    return match.group("head") + new + match.group("tail")


def rewrite_markdown(
    data: bytes,
    wanted: Sequence[tuple[ItemOutcome, PlanStatus]],
    today: datetime.date,
    path: Path,
) -> tuple[bytes, list[Change]]:
    """The plan's bytes with the Status cells of ``wanted`` rewritten (see the module docstring).

    Returns the bytes unchanged (the same object) when no status changes.
    """
    bom, text = _decode(data, path)
    parts = _split(text)
    changes: list[Change] = []
    for outcome, status in wanted:
        item = outcome.item
        span = item.status_span
        if span is None:
            continue
        index = 2 * (span.line - 1)
        if index >= len(parts):
            raise WriteBackError(f"{path}: line {span.line} is gone: the plan changed")
        line = parts[index]
        current = line[span.start : span.end]
        if current != item.status_text:
            raise WriteBackError(
                f"{path}:{span.line}: the Status cell reads {current!r}, not "
                f"{item.status_text!r}: the plan changed since phase7 read it"
            )
        if _same(current, status):
            continue
        new = status_badge(status)
        after = line[span.end :]
        # An empty cell: keep a space before the closing pipe.
        pad = " " if not current and after.startswith("|") else ""
        parts[index] = line[: span.start] + new + pad + after
        changes.append(Change(item.number, current, new))
    if not changes:
        return data, []
    for index in range(0, len(parts), 2):
        parts[index] = _update_date(parts[index], today)
    return bom + "".join(parts).encode("utf-8"), changes


_TOML_STATUS = re.compile(
    r"(?P<head>\s*status\s*=\s*)(?P<quote>[\"'])(?P<value>[^\"'\\\r\n]*)(?P=quote)"
    r"(?P<tail>\s*(?:#.*)?)"
)


def rewrite_toml(
    data: bytes,
    wanted: Sequence[tuple[ItemOutcome, PlanStatus]],
    path: Path,
) -> tuple[bytes, list[Change], list[str]]:
    """The TOML manifest's bytes with the ``status`` of ``wanted`` items rewritten or added.

    Returns the new bytes, the changes, and the items that could not be edited (items written as
    inline tables, statuses written as escaped or multi-line strings).
    """
    bom, text = _decode(data, path)
    parts = _split(text)
    lines = parts[0::2]
    newline = parts[1] if len(parts) > 1 else "\n"
    headers = [i for i, line in enumerate(lines) if TOML_HEADER.fullmatch(line)]
    changes: list[Change] = []
    skipped: list[str] = []
    inserts: dict[int, str] = {}
    for outcome, status in wanted:
        item = outcome.item
        start = item.line - 1
        header = TOML_HEADER.fullmatch(lines[start]) if 0 <= start < len(lines) else None
        if header is None or not header.group("name").replace(" ", "").endswith("batches.items"):
            skipped.append(f"item {item.number}: not in its own [[batches.items]] table")
            continue
        end = next((h for h in headers if h > start), len(lines))
        found = None
        for index in range(start + 1, end):
            if re.match(r"\s*status\s*=", lines[index]):
                found = index
                break
        if found is None:
            if item.status_text:
                raise WriteBackError(f"{path}:{item.line}: item {item.number} lost its status")
            # After the table's last value line (a multi-line array ends there too), not after
            # the blank lines and comments that lead to the next table; indented like its keys.
            last, indent = start, ""
            for index in range(start + 1, end):
                stripped = lines[index].strip()
                if stripped and not stripped.startswith("#"):
                    last = index
                key = TOML_KEY.match(lines[index])
                if key is not None and index == start + 1:
                    indent = key.group("indent")
            inserts[last] = f'{indent}status = "{status.label}"'
            changes.append(Change(item.number, "", status.label))
            continue
        match = _TOML_STATUS.fullmatch(lines[found])
        if match is None:
            skipped.append(f"item {item.number}: its status is not a simple string")
            continue
        current = match.group("value")
        if current != item.status_text:
            raise WriteBackError(
                f"{path}:{found + 1}: item {item.number} has status {current!r}, not "
                f"{item.status_text!r}: the manifest changed since phase7 read it"
            )
        if _same(current, status):
            continue
        lines[found] = (
            match.group("head")
            + match.group("quote")
            + status.label
            + match.group("quote")
            + match.group("tail")
        )
        changes.append(Change(item.number, current, status.label))
    if not changes:
        return data, [], skipped
    parts[0::2] = lines
    for index in sorted(inserts, reverse=True):
        # A new line after line ``index``: between it and its own line break.
        parts.insert(2 * index + 1, newline + inserts[index])
    new_text = "".join(parts)
    try:
        loads(new_text)
    except TomlSyntaxError as exc:
        # Something this line-level edit did not foresee (a multi-line string, say): refuse.
        raise WriteBackError(f"{path}: the edit would break the TOML ({exc})") from None
    return bom + new_text.encode("utf-8"), changes, skipped


def manifest_file(result: RunResult) -> Path:
    """The manifest's file: its display path, relative to the rootdir unless absolute."""
    shown = Path(result.manifest.path)
    return shown if shown.is_absolute() else Path(result.rootdir) / shown


def update_manifest(
    result: RunResult,
    *,
    force: bool = False,
    partial: str = "",
    today: datetime.date | None = None,
) -> WriteBack:
    """Write the derived statuses of ``result`` into its manifest file (see the module docstring).

    Raises :class:`WriteBackError` when the file cannot be updated safely, ``OSError`` when it
    cannot be read or written.
    """
    path = manifest_file(result)
    why_not = refusal(result, partial)
    if why_not and not force:
        return WriteBack(
            path,
            (),
            (),
            False,
            f"phase7: plan not updated: {why_not} (force with --phase7-update-manifest-force)",
        )
    wanted, kept = wanted_statuses(result, force=force)
    data = read_regular(path)
    if result.manifest.format == "toml":
        new, changes, skipped = rewrite_toml(data, wanted, path)
        kept += skipped
    else:
        new, changes = rewrite_markdown(data, wanted, today or datetime.date.today(), path)
    if not changes:
        return WriteBack(path, (), tuple(kept), False, f"phase7: {path.name}: no status changed")
    write_atomic(path, new)
    listed = ", ".join(f"{c.item} {c.after}" for c in changes[:10])
    more = f" and {len(changes) - 10} more" if len(changes) > 10 else ""
    plural = "es" if len(changes) != 1 else ""
    return WriteBack(
        path,
        tuple(changes),
        tuple(kept),
        True,
        f"phase7: {path.name}: {len(changes)} status{plural} updated ({listed}{more})",
    )
