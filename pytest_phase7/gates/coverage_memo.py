"""Per-file coverage figures remembered from the last run, keyed by everything that produces them.

coverage.py's analysis of a file (what ``coverage report`` prints for it) is a function of: the
file's bytes; the static spec (coverage.py and Python versions, exclusion and partial-branch
regexes, :class:`~pytest_phase7.gates.coverage_static.StaticSpec`); whether branches are
measured; and what the session measured in that file: its arcs with branch coverage, its lines
without (with branch data coverage.py derives the lines from the arcs). The precision only
changes how a percent is shown, so it is not part of the figures.

In a warm run every input is usually what it was last time, so the figures are as well. The gate
then reads only the measured data (one query per file) and neither parses the file nor builds an
``Analysis``: :meth:`FiguresMemo.get` answers. A difference in any input is another key, and
coverage.py analyses the file again. The memo holds the current targets only (one cache entry,
replaced when it changes), so it never grows past the project.

Each entry also keeps the file's size and modification time when its figures were made: at
session start the gate's preparation asks :meth:`FiguresMemo.looks_unchanged` (a ``stat``, not a
read) which files the memo will most likely answer, and prepares only the others. That is a
hint for where to spend the preparation, never a figure: after the tests the key, built from the
file's bytes, decides.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coverage.results import Analysis, Numbers

    from pytest_phase7.gates.cache import ResultStore

#: Key in pytest's cache.
MEMO_KEY = "phase7/coverage-figures"

#: Bump when the stored form or the key's recipe changes: a memo of another format is ignored.
MEMO_FORMAT = 3

#: A file's ``(st_mtime_ns, st_size)``: what the preparation compares.
FileStat = tuple[int, int]


def file_stat(path: str) -> FileStat:
    """The size and modification time of ``path`` (``OSError`` when it cannot be read)."""
    result = os.stat(path)
    return result.st_mtime_ns, result.st_size


#: The per-file counts of coverage.py's ``Numbers`` that the figures keep, in stored order.
COUNTS = (
    "n_statements",
    "n_excluded",
    "n_missing",
    "n_branches",
    "n_partial_branches",
    "n_missing_branches",
)


@dataclass(frozen=True)
class FileFigures:
    """What the coverage gate takes from one file's ``Analysis``: counts and missing lines."""

    n_statements: int
    n_excluded: int
    n_missing: int
    n_branches: int
    n_partial_branches: int
    n_missing_branches: int
    #: ``Analysis.missing_formatted(branches=True)``: "3-4, 7->9".
    missing: str

    @classmethod
    def from_analysis(cls, analysis: Analysis) -> FileFigures:
        """The figures of coverage.py's own analysis of a file."""
        counts = [getattr(analysis.numbers, name) for name in COUNTS]
        return cls.from_json([*counts, analysis.missing_formatted(branches=True)])

    def counts(self) -> dict[str, int]:
        """The six counts by their ``Numbers`` names."""
        return {name: getattr(self, name) for name in COUNTS}

    def numbers(self, precision: int) -> Numbers:
        """coverage.py's ``Numbers`` for this file, as ``Analysis.numbers`` would be."""
        from coverage.results import Numbers  # noqa: PLC0415

        return Numbers(precision=precision, n_files=1, **self.counts())

    def to_json(self) -> list[object]:
        """JSON-able form: the six counts, then the missing lines."""
        return [*self.counts().values(), self.missing]

    @classmethod
    def from_json(cls, data: object) -> FileFigures:
        """Rebuild from :meth:`to_json`; anything else raises ``TypeError``/``ValueError``."""
        if not isinstance(data, list) or len(data) != len(COUNTS) + 1:
            raise ValueError("expected six counts and the missing lines")
        *counts, missing = data
        # bool is an int subclass: a damaged entry must not pass as a count.
        if not all(type(n) is int and n >= 0 for n in counts) or not isinstance(missing, str):
            raise TypeError("expected six counts and a string")
        statements, excluded, missed, branches, partial, missed_branches = counts
        return cls(statements, excluded, missed, branches, partial, missed_branches, missing)


def measured_key(spec_key: str, digest: str, arcs: bool, measured: Iterable[object]) -> str:
    """The key of one file's figures: every input of coverage.py's analysis of it.

    ``measured`` is what the session recorded in the file as coverage.py returns it (arcs with
    branch coverage, lines without): sorted, so the order of the data file never matters.
    """
    text = repr((MEMO_FORMAT, spec_key, digest, arcs, sorted(measured)))  # type: ignore[type-var]
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Entry:
    key: str  # covers the file's bytes (their digest is one of its inputs)
    figures: FileFigures
    stat: FileStat


class FiguresMemo:
    """The last run's figures per file (read once), and this run's (written once, if changed)."""

    def __init__(self, store: ResultStore | None, spec_key: str) -> None:
        """Load what the last run left under ``spec_key`` (nothing under another spec)."""
        self._store = store
        self._spec_key = spec_key
        self._known = _load(store, spec_key)
        self._fresh: dict[str, _Entry] = {}

    def get(self, path: str, key: str) -> FileFigures | None:
        """The figures stored for ``path`` under exactly ``key``, if any."""
        entry = self._known.get(path)
        return entry.figures if entry is not None and entry.key == key else None

    def looks_unchanged(self, path: str, stat: FileStat) -> bool:
        """True when ``path`` has the size and modification time its remembered figures had.

        A hint for the preparation only: whether the figures apply is decided by :meth:`get`.
        """
        entry = self._known.get(path)
        return entry is not None and entry.stat == stat

    def put(self, path: str, key: str, figures: FileFigures, stat: FileStat) -> None:
        """Record this run's figures of ``path``.

        ``stat`` is its :func:`file_stat`, taken before its bytes were read for ``key``.
        """
        self._fresh[path] = _Entry(key, figures, stat)

    def save(self) -> None:
        """Keep this run's figures for the next run; nothing is written when nothing changed."""
        if self._store is None or self._fresh == self._known:
            return
        files = {
            path: [entry.key, entry.figures.to_json(), list(entry.stat)]
            for path, entry in sorted(self._fresh.items())
        }
        self._store.set(MEMO_KEY, {"format": MEMO_FORMAT, "spec": self._spec_key, "files": files})


def _load(store: ResultStore | None, spec_key: str) -> dict[str, _Entry]:
    if store is None:
        return {}
    raw = store.get(MEMO_KEY, None)
    if not isinstance(raw, dict) or raw.get("format") != MEMO_FORMAT:
        return {}
    if raw.get("spec") != spec_key or not isinstance(raw.get("files"), dict):
        return {}
    known: dict[str, _Entry] = {}
    files: Mapping[str, Any] = raw["files"]
    for path, value in files.items():
        try:
            key, figures, (mtime, size) = value
            if not isinstance(key, str):
                raise TypeError("expected a key")
            if type(mtime) is not int or type(size) is not int:
                raise TypeError("expected a modification time and a size")
            known[path] = _Entry(key, FileFigures.from_json(figures), (mtime, size))
        except (TypeError, ValueError):
            continue  # a damaged entry is analysed again, never turned into a figure
    return known
