"""Readers for the small values both manifest formats share: hours, ranges, statuses, goals.

Plans are written by hand and pass through tools that mangle them: the real plan's emoji arrive as
UTF-8 decoded as Mac Roman (an hourglass emoji became three unrelated characters). So every reader
here looks at words and numbers first and treats glyphs only as a last resort, and a glyph is
recognised in its mangled forms too (computed from the real glyph, never typed in by hand).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from pytest_phase7.model import BatchKind, CoverageGoal, PlanStatus

#: The most work items one range, and all ranges of a plan together, may describe. Anything
#: larger is a typo (``1-10000000``) and must not make the loader allocate millions of items.
MAX_ITEMS = 100_000

#: Longer digit strings are not numbers a plan means (and would trip ``int``'s digit limit).
_MAX_DIGITS = 30

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    r"""Split like Python's universal newlines (``\r\n``, ``\r``, ``\n``), without the endings.

    Line numbers and :class:`~pytest_phase7.model.CellSpan` offsets refer to this split, so a
    write-back must split the same way (CRLF files then keep their line endings).
    """
    return _LINE_BREAK.split(text)


def mangled_forms(glyph: str) -> frozenset[str]:
    """Return the glyph and what its UTF-8 bytes look like decoded with a legacy 8-bit codec."""
    forms = {glyph}
    raw = glyph.encode("utf-8")
    for codec in ("mac_roman", "cp1252", "latin-1"):
        try:
            forms.add(raw.decode(codec))
        except UnicodeDecodeError:
            continue
    return frozenset(forms)


def _alternation(glyphs: Iterable[str]) -> str:
    forms = {form for glyph in glyphs for form in mangled_forms(glyph)}
    # Longest first, so a mangled form wins over any shorter form it happens to contain.
    return "|".join(re.escape(f) for f in sorted(forms, key=lambda f: (-len(f), f)))


#: Dashes that separate the two ends of a range: hyphen, en/em dash, minus, and mangled forms.
DASH = r"(?:" + _alternation(["\u2013", "\u2014", "\u2012", "\u2212"]) + r"|-)"

_STATUS_GLYPHS: dict[str, PlanStatus] = {
    "\u2705": PlanStatus.DONE,  # white heavy check mark
    "\u2714": PlanStatus.DONE,  # heavy check mark
    "\u2713": PlanStatus.DONE,  # check mark
    "\u2611": PlanStatus.DONE,  # ballot box with check
    "\u23f3": PlanStatus.QUEUED,  # hourglass with flowing sand
    "\u231b": PlanStatus.QUEUED,  # hourglass
    "\U0001f504": PlanStatus.IN_PROGRESS,  # anticlockwise arrows
    "\u274c": PlanStatus.FAILED,  # cross mark
    "\u2717": PlanStatus.FAILED,  # ballot x
    "\u2718": PlanStatus.FAILED,  # heavy ballot x
}

#: Every accepted spelling of a status glyph, longest first, with the status it stands for.
STATUS_GLYPH_FORMS: tuple[tuple[str, PlanStatus], ...] = tuple(
    sorted(
        (
            (form, status)
            for glyph, status in _STATUS_GLYPHS.items()
            for form in mangled_forms(glyph)
        ),
        key=lambda pair: (-len(pair[0]), pair[0]),
    )
)

#: The emoji variation selector in all its forms: noise next to a glyph.
_SELECTOR_FORMS = tuple(sorted(mangled_forms("\ufe0f"), key=len, reverse=True))

#: The words of one status, the whole of them: "NOT DONE" or "Done by Ann" is none of these.
_STATUS_PHRASE = re.compile(
    r"(?P<QUEUED>not[\s_-]+started|queued|to[\s_-]?do|pending)"
    r"|(?P<IN_PROGRESS>in[\s_-]*progress|wip|started)"
    r"|(?P<DONE>done|completed?|passed)"
    r"|(?P<FAILED>failed|blocked)",
    re.IGNORECASE,
)

#: What surrounds a status's words without changing them: marks, markup, emoji (not ``-``).
_NOT_WORDS = re.compile(r"[^\w\s-]+|_+(?=\s|$)|(?:^|(?<=\s))_+")

#: Struck-out text (``~~QUEUED~~ DONE``) is text taken back: it is not read.
_STRUCK_OUT = re.compile(r"~~.*?~~")

STATUS_EXPECTED = "expected QUEUED, IN PROGRESS, DONE or FAILED"


def read_status(text: str) -> tuple[PlanStatus | None, bool]:
    """Read a status cell: ``(status, understood)``.

    The cell's words must be one status, whole (``NOT DONE`` is no status, nor is ``Done by
    Ann``); around them, status glyphs (real or mangled), other marks, Markdown markup and a
    trailing ``(note)`` are ignored, and struck-out text (``~~QUEUED~~``) is not read. Words
    decide (``⏳ QUEUED`` is QUEUED whatever the glyph says); a cell with no words may be a
    lone glyph. An empty cell is ``(None, True)``; anything else is ``(None, False)``.
    """
    cell = text.strip()
    if not cell:
        return None, True
    rest = _STRUCK_OUT.sub(" ", strip_parenthetical(cell)[0])
    found: set[PlanStatus] = set()
    for form, status in STATUS_GLYPH_FORMS:
        if form in rest:
            found.add(status)
            rest = rest.replace(form, " ")
    for form in _SELECTOR_FORMS:
        rest = rest.replace(form, "")
    words = " ".join(_NOT_WORDS.sub(" ", rest).split()).strip("-")
    if words:
        match = _STATUS_PHRASE.fullmatch(words)
        if match is not None and match.lastgroup is not None:
            return PlanStatus[match.lastgroup], True
        return None, False
    if len(found) == 1:
        return found.pop(), True
    return None, False


def strip_mark(text: str) -> tuple[bool | None, str]:
    """Split a leading mark off a line: check mark or ``[x]`` -> True, cross or ``[ ]`` -> False.

    A leading hourglass or other status glyph that is neither met nor unmet is dropped as None.
    """
    stripped = text.lstrip()
    if stripped[:3].lower() == "[x]":
        return True, stripped[3:].strip()
    if stripped[:3] == "[ ]":
        return False, stripped[3:].strip()
    for form, status in STATUS_GLYPH_FORMS:
        if stripped.startswith(form):
            rest = stripped[len(form) :]
            for selector in _SELECTOR_FORMS:
                if rest.startswith(selector):
                    rest = rest[len(selector) :]
                    break
            met = {PlanStatus.DONE: True, PlanStatus.FAILED: False}.get(status)
            return met, rest.strip()
    return None, stripped.strip()


def read_int(text: str) -> int | None:
    """Read a whole number written in ASCII digits (an optional leading ``#``), else None."""
    cell = text.strip().strip("*_`").strip()
    if cell.startswith("#"):
        cell = cell[1:].strip()
    if cell.endswith("."):
        cell = cell[:-1]
    if not cell or len(cell) > _MAX_DIGITS or not cell.isascii() or not cell.isdigit():
        return None
    return int(cell)


_HOURS = re.compile(
    r"[~\u2248]?\s*([0-9]{1,15}(?:\.[0-9]{1,15})?|\.[0-9]{1,15})\s*(?:h|hrs?|hours?)?\.?",
    re.IGNORECASE,
)

#: Cells that mean "no estimate" rather than an estimate we cannot read.
_PLACEHOLDERS = frozenset({"-", "?", "n/a", "na", "tbd", "tba", "none"})


def read_hours(text: str) -> tuple[float | None, bool]:
    """Read ``18 hours`` / ``18h`` / ``1.5 h`` / ``2``: ``(hours, understood)``.

    Empty cells and placeholders (``-``, ``?``, ``TBD``) are ``(None, True)``.
    """
    cell = text.strip().strip("*_`").strip()
    if not cell or cell.casefold() in _PLACEHOLDERS or re.fullmatch(DASH, cell):
        return None, True
    match = _HOURS.fullmatch(cell)
    if match is None:
        return None, False
    return float(match.group(1)), True


_RANGE = re.compile(
    r"#?\s*([0-9]+)(?:\s*(?:" + DASH + r"|\.\.|to)\s*#?\s*([0-9]+))?", re.IGNORECASE
)


def read_range(text: str) -> tuple[int, int] | None:
    """Read ``N`` or ``N-M`` (any dash); a trailing ``(note)`` is ignored. Not validated here."""
    cell = text.split("(", 1)[0].strip().strip("*_`").strip()
    match = _RANGE.fullmatch(cell)
    if match is None:
        return None
    low_text, high_text = match.group(1), match.group(2) or match.group(1)
    if len(low_text) > _MAX_DIGITS or len(high_text) > _MAX_DIGITS:
        return None
    return int(low_text), int(high_text)


_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def goal_problem(goal: CoverageGoal | None) -> str:
    """Why a coverage goal cannot mean what it says (a percent outside 0-100), or ""."""
    if goal is None:
        return ""
    numbers = [n for n in (goal.from_low, goal.from_high, goal.to) if n is not None]
    bad = [n for n in numbers if not 0 <= n <= 100]
    if bad:
        return f"target coverage {bad[0]:g}% is not a percentage between 0 and 100"
    return ""


def read_coverage(text: str) -> CoverageGoal | None:
    """Read a coverage goal from its numbers alone, so any arrow glyph (or mangled one) works.

    One number is the goal (``70%``); two are ``from -> to`` (``5% -> 70%`` gives
    ``from_low == from_high == 5``); three are ``low-high -> to`` (``5-27% -> 70%``). A trailing
    ``(note)`` is ignored. Anything else is None.
    """
    numbers = [float(n) for n in _NUMBER.findall(text.split("(", 1)[0])]
    if not all(math.isfinite(n) for n in numbers):
        return None
    if len(numbers) == 1:
        return CoverageGoal(None, None, numbers[0])
    if len(numbers) == 2:
        return CoverageGoal(numbers[0], numbers[0], numbers[1])
    if len(numbers) == 3:
        return CoverageGoal(numbers[0], numbers[1], numbers[2])
    return None


_KINDS: dict[str, BatchKind] = {
    "tests": BatchKind.TESTS,
    "test": BatchKind.TESTS,
    "refactor": BatchKind.REFACTOR,
    "refactoring": BatchKind.REFACTOR,
    "docs": BatchKind.DOCS,
    "doc": BatchKind.DOCS,
    "documentation": BatchKind.DOCS,
    "codegen": BatchKind.CODEGEN,
    "code generation": BatchKind.CODEGEN,
}

KIND_EXPECTED = "expected tests, refactor, docs or codegen"


def read_kind(text: str) -> BatchKind | None:
    """Read an explicit kind (``tests``, ``refactor``, ``docs``, ``codegen``), else None."""
    return _KINDS.get(" ".join(text.strip().strip("*_`").split()).casefold())


def infer_kind(title: str) -> BatchKind | None:
    """Infer the kind of work a batch title names (``Unit Tests`` -> tests), else None."""
    lowered = title.casefold()
    if "test" in lowered:
        return BatchKind.TESTS
    if "refactor" in lowered:
        return BatchKind.REFACTOR
    if "doc" in lowered:
        return BatchKind.DOCS
    if "generat" in lowered or "codegen" in lowered:
        return BatchKind.CODEGEN
    return None


def read_names(text: str) -> tuple[str, ...]:
    """Comma- or space-separated gate names, lowercased (``coverage, Ruff`` -> coverage, ruff)."""
    return tuple(
        name for part in text.replace(",", " ").split() if (name := part.strip("`*_").lower())
    )


_TRUE = frozenset({"yes", "y", "true", "on", "1", "required"})
_FALSE = frozenset({"no", "n", "false", "off", "0", "optional"})


def read_bool(text: str) -> bool | None:
    """``yes``/``no`` (also true/false, on/off, 1/0, required/optional), else None."""
    word = text.strip().strip("*_`").strip().casefold()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def strip_parenthetical(text: str) -> tuple[str, str | None]:
    """Split a trailing ``(note)`` off: ``Tier 1 (Critical)`` -> ``Tier 1``, ``Critical``."""
    stripped = text.strip()
    if not stripped.endswith(")"):
        return stripped, None
    opening = stripped.rfind("(")
    if opening < 0 or ")" in stripped[opening + 1 : -1]:
        return stripped, None
    return stripped[:opening].rstrip(), stripped[opening + 1 : -1].strip()


def show(value: object, limit: int = 60) -> str:
    """``repr`` of a value for a message, shortened so one bad cell cannot flood the output."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compact_groups(groups: Sequence[tuple[int, int]], limit: int = 10) -> str:
    """Render ``(low, high)`` groups as ``13-18, 42``, eliding after ``limit`` groups."""
    shown = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in groups[:limit]]
    if len(groups) > limit:
        shown.append(f"... ({len(groups) - limit} more)")
    return ", ".join(shown)
