"""Property-based tests of the manifest loaders and the settings resolver.

* Any input (text, bytes, TOML data) either loads or raises the plugin's own error: never a
  traceback of some other exception.
* A generated plan (model objects) rendered to Markdown by a small test-only renderer, or to TOML
  by :func:`~pytest_phase7.manifest.to_toml`, parses back to the same model.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_phase7.engine import RunResult
from pytest_phase7.errors import ConfigError, ManifestError
from pytest_phase7.manifest import load_manifest, parse_markdown, parse_toml, to_toml
from pytest_phase7.model import (
    Batch,
    BatchKind,
    CoverageGoal,
    Criterion,
    Manifest,
    Phase,
    PlanStatus,
    WorkItem,
)
from pytest_phase7.report.writeback import update_manifest
from pytest_phase7.resolve.targets import Resolution, ResolutionState
from pytest_phase7.settings import Settings, resolve
from pytest_phase7.status.rules import ItemOutcome, decide

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]

#: Arbitrary input is cheap to try; generated plans cost more, so fewer of them.
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=_HEALTH)
PLANS = settings(max_examples=40, deadline=None, suppress_health_check=_HEALTH)


def outcome(load: Callable[[], object], error: type[Exception]) -> tuple[object, Exception | None]:
    """Run ``load``: its result, or the ``error`` it raised (anything else propagates)."""
    try:
        return load(), None
    except error as exc:
        return None, exc


# --- arbitrary input -------------------------------------------------------------------------

#: Bytes that make the loaders take their special paths: BOMs, NUL, bad UTF-8, line endings.
_SPECIAL_BYTES = [
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\x00",
    b"\xe9",
    b"\r\n",
    b"\r",
    b"\n",
    "\u23f3".encode(),
    "\u2705".encode("utf-8").decode("mac_roman").encode(),
]

#: Markdown lines that reach deep into the parser.
_MD_FRAGMENTS = [
    "---",
    "status: Active",
    "# Plan [[Home|Title]]",
    "**Total Work Items:** 7",
    "**Total Work Items:** 99999999999999999999999999",
    "### Batch 1: Unit Tests (Critical)",
    "### Batch 2: Code Generation",
    "## Batch 999999999999999999999999999999: Refactoring",
    "**Items:** 1-3",
    "**Items:** 12-7",
    "**Items:** 1-10000000",
    "**Items:** one",
    "**Kind:** docs",
    "**Kind:** poetry",
    "**Gates:** coverage, ruff",
    "**Required:** maybe",
    "**Target Coverage:** 5% \u2192 70%",
    "**Duration:** 18 hours",
    "| # | Module | File | Path | Est. Time | Status | Owner |",
    "| # | Status | Status |",
    "|---|---|---|---|---|---|---|",
    "|---|",
    "| 1 | Core | a.py | | 2h | DONE | me |",
    "| 2 | Core | ../b.py | /abs | x | SOMETIMES | |",
    "| x | y |",
    "| 3 | a\\|b | c | d | e | f | g |",
    "### Phase 7.1: Quick Wins (Batch 1 + 5)",
    "### Phase 7.2: Later (Batches 9-1)",
    "- **Duration:** 27 hours",
    "## Success Criteria",
    "\u2705 **Unit Tests:** 70%+ coverage",
    "\u274c **Docs:** none",
    "```",
    "~~~",
    "",
]


def _text_documents() -> st.SearchStrategy[str]:
    lines = st.lists(
        st.one_of(st.sampled_from(_MD_FRAGMENTS), st.text(max_size=40)), min_size=0, max_size=30
    )
    return st.tuples(lines, st.sampled_from(["\n", "\r\n", "\r"])).map(
        lambda pair: pair[1].join(pair[0])
    )


def _byte_documents() -> st.SearchStrategy[bytes]:
    pieces = st.one_of(
        st.sampled_from(_SPECIAL_BYTES),
        st.binary(max_size=20),
        _text_documents().map(lambda text: text.encode("utf-8")),
    )
    return st.lists(pieces, max_size=6).map(b"".join)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(text=_text_documents())
def test_any_markdown_text_loads_or_raises_manifest_error(text: str) -> None:
    manifest, error = outcome(lambda: parse_markdown(text, "PLAN.md"), ManifestError)
    if isinstance(error, ManifestError):
        assert error.path == "PLAN.md"
        assert "\n" not in error.message
        return
    assert isinstance(manifest, Manifest)
    assert manifest.batches
    for problem in manifest.problems:
        assert problem.path == "PLAN.md"
        assert problem.line >= 0


@FUZZ
@given(data=_byte_documents(), name=st.sampled_from(["PLAN.md", "phase7.toml", "pyproject.toml"]))
def test_any_bytes_load_or_raise_manifest_error(scratch: Path, data: bytes, name: str) -> None:
    path = scratch / name
    path.write_bytes(data)
    manifest, error = outcome(
        lambda: load_manifest(path, display=name, root=scratch), ManifestError
    )
    if isinstance(error, ManifestError):
        assert error.path
        assert "\n" not in error.message
    else:
        assert isinstance(manifest, Manifest)
        assert manifest.batches


#: TOML scalars and shapes, valid and not, for the keys the TOML loader reads.
_TOML_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["1-6", "12-7", "7", "1-10000000", "DONE", "⏳ QUEUED", "5% -> 70%", "tests"]),
)


def _toml_values(depth: int = 2) -> st.SearchStrategy[object]:
    return st.recursive(
        _TOML_SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(["from", "to", "a", "path"]), inner, max_size=3),
        ),
        max_leaves=6,
    )


_ITEM_KEYS = ["number", "module", "file", "path", "target", "status", "estimate"]
_ITEM_KEYS += ["estimate_hours", "gates", "extra", "owner", "complexity"]
_BATCH_KEYS = ["number", "title", "kind", "priority", "items", "item_range", "duration_hours"]
_BATCH_KEYS += ["target_coverage", "focus", "gates", "required", "bogus"]


def _toml_tables() -> st.SearchStrategy[dict[str, object]]:
    item = st.dictionaries(st.sampled_from(_ITEM_KEYS), _toml_values(), max_size=6)
    batch = st.dictionaries(
        st.sampled_from(_BATCH_KEYS),
        _toml_values(),
        max_size=7,
    ).flatmap(
        lambda data: st.one_of(
            st.just(data), st.lists(item, max_size=3).map(lambda items: {**data, "items": items})
        )
    )
    phase = st.dictionaries(
        st.sampled_from(["ident", "title", "batches", "duration_hours", "x"]),
        _toml_values(),
        max_size=4,
    )
    criterion = st.dictionaries(st.sampled_from(["label", "text", "met", "y"]), _toml_values())
    return st.fixed_dictionaries(
        {},
        optional={
            "title": _toml_values(),
            "total_items": _toml_values(),
            "front_matter": _toml_values(),
            "batches": st.one_of(st.lists(batch, max_size=3), _toml_values()),
            "phases": st.one_of(st.lists(phase, max_size=2), _toml_values()),
            "criteria": st.one_of(st.lists(criterion, max_size=2), _toml_values()),
        },
    )


@FUZZ
@given(table=_toml_tables())
def test_any_toml_table_loads_or_raises_manifest_error(table: dict[str, object]) -> None:
    manifest, error = outcome(lambda: parse_toml(table, "phase7.toml"), ManifestError)
    if isinstance(error, ManifestError):
        assert error.path == "phase7.toml"
        return
    assert isinstance(manifest, Manifest)
    assert manifest.batches
    # Whatever loaded (problems and all) is still a model that to_toml can write.
    assert isinstance(to_toml(manifest), str)


_SETTING_KEYS = [
    "enabled",
    "manifest",
    "coverage_min",
    "branch_min",
    "ruff_max",
    "mypy_max",
    "docstrings_min",
    "gates",
    "ruff_args",
    "timeout",
    "fail_on",
    "baseline",
    "modules",
    "coverage_mni",
]


@FUZZ
@given(
    table=st.dictionaries(st.sampled_from(_SETTING_KEYS), _toml_values(), max_size=4),
    cli=st.dictionaries(
        st.sampled_from(["coverage_min", "timeout", "ruff_max", "gates"]),
        st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["150", "-5", "abc", "nan"])),
        max_size=2,
    ),
)
def test_any_settings_resolve_or_raise_config_error(
    table: dict[str, object], cli: dict[str, object]
) -> None:
    resolved, error = outcome(
        lambda: resolve(cli, {}, table, table_path="/nowhere/pyproject.toml [tool.phase7]"),
        ConfigError,
    )
    if error is not None:
        assert "\n" not in str(error)
        return
    assert isinstance(resolved, Settings)
    for value in (resolved.coverage_min, resolved.timeout):
        assert math.isfinite(value)
    assert 0 <= resolved.coverage_min <= 100
    assert resolved.timeout > 0


# --- generated plans: render, parse back, compare --------------------------------------------

_WORD = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1
)
_WORDS = st.lists(_WORD.map(lambda w: w[:8]), min_size=1, max_size=4).map(" ".join)
_OPTIONAL_WORDS = st.one_of(st.just(""), _WORDS)
_QUARTERS = st.integers(min_value=0, max_value=400).map(lambda n: n / 4)
_GATE_NAMES = st.one_of(
    st.none(),
    st.lists(st.sampled_from(["coverage", "ruff", "mypy", "docstrings", "lines"]), min_size=1).map(
        lambda names: tuple(dict.fromkeys(names))
    ),
)
_EXTRA_COLUMNS = ["Owner", "Notes", "Reviewer", "Due"]


def _goals() -> st.SearchStrategy[CoverageGoal | None]:
    return st.one_of(
        st.none(),
        _QUARTERS.map(lambda to: CoverageGoal(None, None, to)),
        st.tuples(_QUARTERS, _QUARTERS).map(lambda p: CoverageGoal(p[0], p[0], p[1])),
        st.tuples(_QUARTERS, _QUARTERS, _QUARTERS).map(lambda p: CoverageGoal(*p)),
    )


@st.composite
def plans(draw: Callable[..., object]) -> Manifest:
    """A loadable plan: unique batch and item numbers, ranges that neither overlap nor reverse."""
    batch_count = draw(st.integers(min_value=1, max_value=4))
    numbers = draw(
        st.lists(
            st.integers(min_value=0, max_value=60),
            min_size=batch_count,
            max_size=batch_count,
            unique=True,
        )
    )
    next_item = draw(st.integers(min_value=0, max_value=3))
    batches = []
    for number in numbers:
        has_range = draw(st.booleans())
        size = draw(st.integers(min_value=0 if not has_range else 1, max_value=5))
        span = list(range(next_item, next_item + size))
        next_item += size + draw(st.integers(min_value=0, max_value=2))
        listed = draw(st.lists(st.sampled_from(span), unique=True)) if span else []
        extras = draw(st.lists(st.sampled_from(_EXTRA_COLUMNS), unique=True, max_size=2))
        rows = [
            WorkItem(
                number=item,
                batch=number,
                module=draw(_OPTIONAL_WORDS),
                file=draw(st.one_of(st.just(""), _WORD.map(lambda w: w[:10] + ".py"))),
                target=draw(st.one_of(st.none(), _WORD.map(lambda w: f"src/{w[:10]}.py"))),
                complexity=draw(st.sampled_from(["", "Simple", "Medium", "Complex"])),
                estimate_hours=draw(st.one_of(st.none(), _QUARTERS)),
                status=draw(st.one_of(st.none(), st.sampled_from(list(PlanStatus)))),
                gates=draw(_GATE_NAMES),
                extra=tuple((name, draw(_OPTIONAL_WORDS)) for name in extras),
            )
            for item in listed
        ]
        filled = [WorkItem(number=n, batch=number) for n in span if has_range and n not in listed]
        batches.append(
            Batch(
                number=number,
                title=draw(_WORDS),
                line=0,
                kind=draw(st.sampled_from(list(BatchKind))),
                priority=draw(st.sampled_from(["", "CRITICAL", "HIGH", "LOW"])),
                priority_note=draw(_OPTIONAL_WORDS),
                item_range=(span[0], span[-1]) if has_range else None,
                duration_hours=draw(st.one_of(st.none(), _QUARTERS)),
                coverage_goal=draw(_goals()),
                focus=draw(_OPTIONAL_WORDS),
                gates=draw(_GATE_NAMES),
                required=draw(st.booleans()),
                items=tuple(sorted(rows + filled, key=lambda i: i.number)),
            )
        )
    phases = tuple(
        Phase(
            ident=f"7.{index + 1}",
            title=draw(_WORDS),
            batches=tuple(draw(st.lists(st.sampled_from(numbers), unique=True, max_size=3))),
            duration_hours=draw(st.one_of(st.none(), _QUARTERS)),
        )
        for index in range(draw(st.integers(min_value=0, max_value=2)))
    )
    criteria = tuple(
        Criterion(
            label=draw(_OPTIONAL_WORDS),
            text=draw(_WORDS),
            met=draw(st.one_of(st.none(), st.booleans())),
        )
        for _ in range(draw(st.integers(min_value=0, max_value=3)))
    )
    front_matter = tuple(
        (draw(st.sampled_from(["status", "owner", "tags"])), draw(_WORDS))
        for _ in range(draw(st.integers(min_value=0, max_value=3)))
    )
    return Manifest(
        path="generated",
        format="model",
        title=draw(_OPTIONAL_WORDS),
        front_matter=front_matter,
        total_items=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=40))),
        batches=tuple(batches),
        phases=phases,
        criteria=criteria,
    )


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) else repr(value)


def render_markdown(plan: Manifest) -> str:
    """Write a plan the way people write them (the parser's documented format), test-only."""
    out: list[str] = []
    if plan.front_matter:
        out += ["---", *(f"{key}: {value}" for key, value in plan.front_matter), "---"]
    if plan.title:
        out += [f"# {plan.title}", ""]
    if plan.total_items is not None:
        out += [f"**Total Work Items:** {plan.total_items}", ""]
    for batch in plan.batches:
        note = f" ({batch.priority_note})" if batch.priority_note else ""
        out.append(f"### Batch {batch.number}: {batch.title}{note}")
        if batch.item_range is not None:
            out.append(f"**Items:** {batch.item_range[0]}-{batch.item_range[1]}")
        if batch.duration_hours is not None:
            out.append(f"**Duration:** {_number(batch.duration_hours)} hours")
        if batch.priority:
            out.append(f"**Priority:** {batch.priority}")
        goal = batch.coverage_goal
        if goal is not None:
            to = _number(goal.to)
            if goal.from_low is None or goal.from_high is None:
                out.append(f"**Target Coverage:** {to}%")
            elif goal.from_low == goal.from_high:
                out.append(f"**Target Coverage:** {_number(goal.from_low)}% \u2192 {to}%")
            else:
                low, high = _number(goal.from_low), _number(goal.from_high)
                out.append(f"**Target Coverage:** {low}-{high}% \u2192 {to}%")
        if batch.focus:
            out.append(f"**Focus:** {batch.focus}")
        out.append(f"**Kind:** {batch.kind.value}")
        if batch.gates is not None:
            out.append(f"**Gates:** {', '.join(batch.gates)}")
        if batch.required:
            out.append("**Required:** yes")
        out += _table(batch)
        out.append("")
    for phase in plan.phases:
        listed = " + ".join(str(n) for n in phase.batches)
        out.append(
            f"### Phase {phase.ident}: {phase.title}" + (f" (Batch {listed})" * bool(listed))
        )
        if phase.duration_hours is not None:
            out.append(f"- **Duration:** {_number(phase.duration_hours)} hours")
        out.append("")
    if plan.criteria:
        out += ["## Success Criteria", ""]
        marks = {True: "\u2705 ", False: "\u274c ", None: ""}
        for criterion in plan.criteria:
            label = f"**{criterion.label}:** " if criterion.label else ""
            out.append(f"{marks[criterion.met]}{label}{criterion.text}")
    return "\n".join(out) + "\n"


def _table(batch: Batch) -> list[str]:
    # Items the range implies (no content at all) need no row; without a range every item does.
    rows = [
        item
        for item in batch.items
        if batch.item_range is None or item != WorkItem(number=item.number, batch=batch.number)
    ]
    if not rows:
        return []
    extras = [name for name, _ in rows[0].extra]
    header = ["#", "Module", "File", "Path", "Complexity", "Est. Time", "Status", "Gates", *extras]
    lines = ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for item in rows:
        cells = [
            str(item.number),
            item.module,
            item.file,
            item.target or "",
            item.complexity,
            "" if item.estimate_hours is None else f"{_number(item.estimate_hours)}h",
            item.status.label if item.status else "",
            ", ".join(item.gates) if item.gates is not None else "",
            *(value for _, value in item.extra),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _no_errors(manifest: Manifest) -> Manifest:
    assert not manifest.errors, manifest.errors
    return manifest


@PLANS
@given(plan=plans())
def test_generated_plan_round_trips_through_markdown(plan: Manifest) -> None:
    parsed = _no_errors(parse_markdown(render_markdown(plan), "PLAN.md"))
    assert parsed == plan


@PLANS
@given(plan=plans(), newline=st.sampled_from(["\n", "\r\n"]))
def test_generated_plan_round_trips_through_toml(plan: Manifest, newline: str) -> None:
    source = to_toml(plan).replace("\n", newline)
    parsed = _no_errors(parse_toml(tomllib.loads(source), "phase7.toml", source))
    assert parsed == plan


@PLANS
@given(plan=plans())
def test_markdown_and_toml_of_one_plan_load_equal(plan: Manifest) -> None:
    from_markdown = parse_markdown(render_markdown(plan), "PLAN.md")
    from_toml = parse_toml(tomllib.loads(to_toml(from_markdown)), "phase7.toml")
    assert from_toml == from_markdown
    assert [p.message for p in from_toml.problems] == [p.message for p in from_markdown.problems]


@PLANS
@given(plan=plans(), bom=st.booleans(), crlf=st.booleans())
def test_files_with_bom_and_crlf_load_like_plain_ones(
    scratch: Path, plan: Manifest, bom: bool, crlf: bool
) -> None:
    for name, text in (("PLAN.md", render_markdown(plan)), ("phase7.toml", to_toml(plan))):
        plain = scratch / ("plain-" + name)
        plain.write_bytes(text.encode("utf-8"))
        dressed = scratch / name
        body = text.replace("\n", "\r\n") if crlf else text
        dressed.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body.encode("utf-8"))
        assert load_manifest(dressed) == load_manifest(plain)


# --- write-back -------------------------------------------------------------------------------


def _unchanged_result(manifest: Manifest, rootdir: Path) -> RunResult:
    """A run whose derived status of every item with a recorded status is that status."""
    outcomes = [
        ItemOutcome(item, Resolution(item, ResolutionState.UNMAPPED), (), item.status)
        for item in manifest.items
        if item.status is not None
    ]
    return RunResult(
        manifest=manifest,
        rootdir=str(rootdir),
        gates=("size",),
        gate_titles=(("size", "Size"),),
        outcomes=tuple(outcomes),
        gate_runs=(),
        verdict=decide(manifest, outcomes, "never"),
    )


@PLANS
@given(plan=plans(), bom=st.booleans(), crlf=st.booleans())
def test_write_back_of_unchanged_statuses_is_byte_identical(
    scratch: Path, plan: Manifest, bom: bool, crlf: bool
) -> None:
    text = render_markdown(plan)
    body = text.replace("\n", "\r\n") if crlf else text
    data = (b"\xef\xbb\xbf" if bom else b"") + body.encode("utf-8")
    path = scratch / "PLAN.md"
    path.write_bytes(data)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    manifest = _no_errors(load_manifest(path))
    result = _unchanged_result(manifest, scratch)
    done = update_manifest(result)
    assert (done.written, done.changes) == (False, ())
    assert path.read_bytes() == data
    assert path.stat().st_mtime_ns == 1_000_000_000
    assert sorted(p.name for p in scratch.iterdir() if p.name.endswith(".tmp")) == []
