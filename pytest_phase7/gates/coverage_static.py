"""coverage.py's *static* analysis of a source file, computed ahead of time and cached.

What ``coverage report`` spends its time on is not the measured data but parsing each file:
which lines are statements, which are excluded, which arcs (branches) are possible. None of that
depends on what the tests ran, only on the file's bytes, coverage.py's version, the Python that
parses it and the exclusion settings. So the coverage gate has it computed *while the tests run*
(in a subprocess, :mod:`pytest_phase7.gates._coverage_worker`, so parsing does not hold the test
session's GIL), keeps it in pytest's cache for unchanged files, and after the tests only combines
it with the session's data.

The combination is coverage.py's own: :class:`StaticFileReporter` is a
``coverage.plugin.FileReporter`` (coverage's public plugin interface) that answers from a
:class:`StaticAnalysis` instead of re-parsing, and coverage.py's analysis turns it into the same
``Analysis`` (hence the same ``Numbers``) that ``coverage report`` prints. The values are taken
from coverage's own ``PythonParser`` (its internals through
:mod:`pytest_phase7.gates.coverage_api`); the two translations (multi-line statements to their
first line, ``with``-statement jump fixes) reproduce ``PythonParser.translate_lines/
translate_arcs``. Where this coverage.py keeps those tables in another form, the analysis raises
``UnsupportedCoverageError`` and coverage.py parses the file itself.
Parity with ``coverage report`` is checked by the end-to-end tests, on files built to exercise
every one of these paths.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pytest_phase7.files import read_regular
from pytest_phase7.gates.coverage_api import (
    jump_fixers,
    multiline_map,
)

if TYPE_CHECKING:
    from coverage import Coverage
    from coverage.plugin import FileReporter

    from pytest_phase7.gates.cache import ResultStore

Arc = tuple[int, int]

#: Bump when the stored form changes: entries of another format are ignored (recomputed).
STATIC_FORMAT = 1

#: Key prefix in pytest's cache; one entry per file (so the cache never grows past the project).
STORE_PREFIX = "phase7/coverage-static"


@dataclass(frozen=True)
class StaticSpec:
    """What coverage.py's static analysis of a file depends on, besides the file's bytes."""

    exclude: str
    partial: str
    arcs: bool
    coverage_version: str
    python: str

    @cached_property  # asked once per target file after the tests: hashed once per spec
    def key(self) -> str:
        """A short stable identifier of this spec (part of every cache entry)."""
        text = json.dumps(
            [STATIC_FORMAT, self.exclude, self.partial, self.coverage_version, self.python]
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def to_argv(self) -> list[str]:
        """The worker's options for this spec."""
        # The "=" form: a regex that starts with "-" must not read as an option.
        argv = [f"--exclude={self.exclude}", f"--partial={self.partial}"]
        return [*argv, "--arcs"] if self.arcs else argv


def spec_for(cov: Coverage) -> StaticSpec:
    """The spec a ``Coverage`` object's reports use: its exclusion and partial-branch regexes."""
    import coverage  # noqa: PLC0415
    from coverage.misc import join_regex  # noqa: PLC0415

    config = cov.config
    return StaticSpec(
        exclude=join_regex(config.exclude_list),
        # PythonFileReporter.no_branch_lines uses exactly this join.
        partial=join_regex(config.partial_list + config.partial_always_list),
        arcs=bool(config.branch),
        coverage_version=coverage.__version__,
        python=sys.version,
    )


@dataclass(frozen=True)
class StaticAnalysis:
    """A file's static analysis, as coverage.py's ``PythonParser`` computed it.

    ``digest`` is the SHA-256 of the bytes that were parsed; ``arcs`` and ``exit_counts`` are
    None when branch coverage was not asked for (they are the expensive part).
    """

    digest: str
    statements: frozenset[int]
    excluded: frozenset[int]
    no_branch: frozenset[int]
    multiline: Mapping[int, int]
    arcs: frozenset[Arc] | None = None
    exit_counts: Mapping[int, int] | None = None
    jump_fixers: Mapping[Arc, Arc | None] | None = None

    def usable_for(self, digest: str, *, needs_arcs: bool) -> bool:
        """True when this analysis answers for a file with ``digest`` (with arcs if needed)."""
        return self.digest == digest and (self.arcs is not None or not needs_arcs)

    def to_json(self) -> dict[str, Any]:
        """JSON-able form (sorted, so equal analyses serialise equally)."""
        data: dict[str, Any] = {
            "digest": self.digest,
            "statements": sorted(self.statements),
            "excluded": sorted(self.excluded),
            "no_branch": sorted(self.no_branch),
            "multiline": sorted(self.multiline.items()),
        }
        if self.arcs is not None:
            data["arcs"] = sorted(self.arcs)
            data["exit_counts"] = sorted((self.exit_counts or {}).items())
            data["jump_fixers"] = sorted(
                [*arc, *(new or (None, None))] for arc, new in (self.jump_fixers or {}).items()
            )
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StaticAnalysis:
        """Rebuild from :meth:`to_json`; malformed data raises ``KeyError/TypeError/ValueError``.

        Every number is checked to be an int: a damaged cache entry must be recomputed, never
        turned into a figure. The checks and conversions run in C (``map``): a warm run loads
        every target's entry while the tests run, sharing the GIL with them.
        """
        arcs = exit_counts = fixers = None
        if "arcs" in data:
            arcs = frozenset(map(_pair, data["arcs"]))
            exit_counts = dict(map(_pair, data["exit_counts"]))
            fixers = {
                _pair(entry[:2]): None if entry[2] is None else _pair(entry[2:])
                for entry in data["jump_fixers"]
            }
            _ints(fixers)
            _ints(arc for arc in fixers.values() if arc is not None)
            _ints(arcs)
            _ints(exit_counts.items())
        multiline = dict(map(_pair, data["multiline"]))
        _ints(multiline.items())
        return cls(
            digest=str(data["digest"]),
            statements=_int_set(data["statements"]),
            excluded=_int_set(data["excluded"]),
            no_branch=_int_set(data["no_branch"]),
            multiline=multiline,
            arcs=arcs,
            exit_counts=exit_counts,
            jump_fixers=fixers,
        )


def _pair(values: Sequence[int]) -> tuple[int, int]:
    first, second = values  # ValueError unless exactly two
    return first, second


def _int_set(values: Iterable[int]) -> frozenset[int]:
    numbers = frozenset(values)
    if not set(map(type, numbers)) <= {int}:
        raise TypeError("expected line numbers")
    return numbers


def _ints(pairs: Iterable[tuple[int, int]]) -> None:
    for part in zip(*pairs, strict=True):
        _int_set(part)


def file_digest(path: str) -> str:
    """SHA-256 of a file's bytes (``OSError`` when it cannot be read or is not a regular file).

    A FIFO target would block this read (in the gate's preparation thread) forever.
    """
    return hashlib.sha256(read_regular(path)).hexdigest()


def analyse_file(path: str, spec: StaticSpec) -> StaticAnalysis:
    """Parse ``path`` with coverage.py's own parser under ``spec``.

    Raises coverage's ``NotPython``/``NoSource`` for a file it cannot parse or read,
    ``ChangedWhileParsing`` when the file changed while it was parsed, and
    :class:`~pytest_phase7.gates.coverage_api.UnsupportedCoverageError` when this coverage.py
    does not expose what the analysis needs (then coverage.py must analyse the file itself).
    """
    from coverage.parser import PythonParser  # noqa: PLC0415

    digest = file_digest(path)
    parser = PythonParser(filename=path, exclude=spec.exclude)
    parser.parse_source()
    arcs = exit_counts = fixers = None
    if spec.arcs:
        arcs = frozenset(parser.arcs())
        exit_counts = dict(parser.exit_counts())
        fixers = jump_fixers(parser)
    analysis = StaticAnalysis(
        digest=digest,
        statements=frozenset(parser.statements),
        excluded=frozenset(parser.excluded),
        no_branch=frozenset(parser.lines_matching(spec.partial)),
        multiline=multiline_map(parser),
        arcs=arcs,
        exit_counts=exit_counts,
        jump_fixers=fixers,
    )
    if file_digest(path) != digest:
        raise ChangedWhileParsingError(path)
    return analysis


class ChangedWhileParsingError(Exception):
    """The file's bytes changed while coverage.py parsed it: the analysis matches neither."""


def make_reporter(real: FileReporter, static: StaticAnalysis) -> FileReporter:
    """A ``FileReporter`` for ``real``'s file that answers from ``static`` (no parsing)."""
    from coverage.plugin import FileReporter  # noqa: PLC0415

    # PythonParser.first_line, as one dict lookup (called for every measured line and both ends
    # of every arc): negative line numbers are code-object exits and map like their positives.
    signed = {**static.multiline, **{-line: -first for line, first in static.multiline.items()}}
    get = signed.get

    class StaticFileReporter(FileReporter):
        """Answers coverage.py's analysis questions from a :class:`StaticAnalysis`."""

        def __init__(self) -> None:
            """Report on the same file as ``real``."""
            super().__init__(real.filename)

        def relative_filename(self) -> str:
            """The name ``real`` reports under."""
            return real.relative_filename()

        def source(self) -> str:
            """The file's source, read by ``real``."""
            return real.source()

        def lines(self) -> set[int]:
            """The statements' line numbers."""
            return set(static.statements)

        def excluded_lines(self) -> set[int]:
            """The excluded statements' line numbers."""
            return set(static.excluded)

        def multiline_map(self) -> dict[int, int]:
            """Continuation line -> first line of its statement."""
            return dict(static.multiline)

        def translate_lines(self, lines: Iterable[int]) -> set[int]:
            """Measured lines as statements' first lines (``PythonParser.translate_lines``)."""
            return {get(line, line) for line in lines}

        def translate_arcs(self, arcs: Iterable[Arc]) -> set[Arc]:
            """Measured arcs, ``with`` jumps fixed, as first lines (``translate_arcs``)."""
            fixers = static.jump_fixers
            if fixers:
                fixed = (fixers.get(arc, arc) for arc in arcs)
                arcs = (arc for arc in fixed if arc is not None)
            return {(get(a, a), get(b, b)) for a, b in arcs}

        def no_branch_lines(self) -> set[int]:
            """Lines whose branches are not counted (the partial-branch pragmas)."""
            return set(static.no_branch)

        def arcs(self) -> set[Arc]:
            """Every possible arc."""
            return set(static.arcs or ())

        def exit_counts(self) -> dict[int, int]:
            """How many ways out each line has."""
            return dict(static.exit_counts or {})

    return StaticFileReporter()


def _store_key(path: str) -> str:
    return f"{STORE_PREFIX}/{hashlib.sha1(path.encode('utf-8', 'surrogateescape')).hexdigest()}"  # noqa: S324 - a name, not security


def load_cached(store: ResultStore | None, path: str, spec: StaticSpec) -> StaticAnalysis | None:
    """The stored analysis of ``path`` under ``spec``, if any (the caller checks its digest)."""
    if store is None:
        return None
    raw = store.get(_store_key(path), None)
    if not isinstance(raw, dict) or raw.get("spec") != spec.key:
        return None
    try:
        return StaticAnalysis.from_json(raw["analysis"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # a damaged entry is recomputed, never trusted


def save_cached(
    store: ResultStore | None, path: str, spec: StaticSpec, analysis: StaticAnalysis
) -> None:
    """Keep ``analysis`` of ``path`` for the next run (one entry per file, replaced)."""
    if store is not None:
        store.set(_store_key(path), {"spec": spec.key, "analysis": analysis.to_json()})
