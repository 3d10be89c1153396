"""Report shortcuts give the answers of the plain computations they replace.

Progress reads each batch's even share of its hours from a table built once per manifest;
``common_folder`` compares the smallest and largest ref; Markdown cells skip the per-character
scan of printable text. Each is compared with the computation it replaced.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pytest_phase7.engine import RunResult
from pytest_phase7.model import Batch, Phase, PlanStatus, WorkItem
from pytest_phase7.report.json import load_report
from pytest_phase7.report.markdown import _plain, cell, escape, escape_html
from pytest_phase7.report.model import (
    Progress,
    batch_progress,
    item_hours,
    outcome_hours,
    phase_progress,
    progress_of,
    total_progress,
)
from pytest_phase7.report.terminal import common_folder
from pytest_phase7.status.rules import REPORT_ORDER, ItemOutcome

GOLDEN = Path(__file__).parent / "golden"


def plain_progress(result: RunResult, outcomes: Sequence[ItemOutcome]) -> Progress:
    """``progress_of`` as it was: the batch table rebuilt and ``item_hours`` asked per item."""
    batches = {batch.number: batch for batch in result.manifest.batches}
    done = hours_done = hours_total = 0.0
    known = False
    for outcome in outcomes:
        hours = item_hours(outcome, batches.get(outcome.item.batch))
        finished = outcome.status is PlanStatus.DONE
        done += finished
        if hours is not None:
            known = True
            hours_total += hours
            hours_done += hours if finished else 0.0
    counts = Counter(o.status for o in outcomes)
    return Progress(
        items_done=int(done),
        items_total=len(outcomes),
        hours_done=hours_done,
        hours_total=hours_total,
        hours_known=known,
        counts=tuple((status, counts.get(status, 0)) for status in REPORT_ORDER),
    )


def golden_result() -> RunResult:
    return load_report(GOLDEN / "example_tta.json").result


def variants() -> list[RunResult]:
    """The golden result and versions of it whose batches share hours differently."""
    result = golden_result()
    manifest = result.manifest
    first, *rest = manifest.batches
    no_estimates = dataclasses.replace(
        first,
        duration_hours=30.0,
        items=tuple(dataclasses.replace(i, estimate_hours=None) for i in first.items),
    )
    # A hand-made manifest may repeat a batch number: the last batch of a number counts.
    duplicate = dataclasses.replace(no_estimates, duration_hours=7.0, title="again")
    empty = dataclasses.replace(first, number=99, items=(), duration_hours=5.0)
    out = [result]
    for batches in (
        (no_estimates, *rest),
        (no_estimates, *rest, duplicate),
        (duplicate, *rest, no_estimates, empty),
        (empty,),
    ):
        changed = dataclasses.replace(manifest, batches=tuple(batches))
        outcomes = tuple(
            dataclasses.replace(o, item=dataclasses.replace(o.item, estimate_hours=None))
            if o.item.batch == first.number
            else o
            for o in result.outcomes
        )
        out.append(dataclasses.replace(result, manifest=changed, outcomes=outcomes))
    return out


def test_progress_matches_the_plain_computation() -> None:
    seen_hours = set()
    for result in variants():
        expected_total = plain_progress(result, result.outcomes)
        assert total_progress(result) == expected_total
        seen_hours.add(expected_total.hours_total)
        for batch in result.manifest.batches:
            own = list(result.by_batch.get(batch.number, ()))
            assert batch_progress(result, batch) == plain_progress(result, own)
        for phase in result.manifest.phases:
            wanted = [o for o in result.outcomes if o.item.batch in set(phase.batches)]
            assert phase_progress(result, phase) == plain_progress(result, wanted)
        batches = {batch.number: batch for batch in result.manifest.batches}
        for outcome in result.outcomes:
            assert outcome_hours(result, outcome) == item_hours(
                outcome, batches.get(outcome.item.batch)
            )
    # The variants really differ in hours, or they would test one case.
    assert len(seen_hours) >= 3


def test_progress_follows_the_manifest_asked_about() -> None:
    # The share table is kept for the last manifest: alternating manifests must not mix them.
    results = variants()
    for result in [*results, *reversed(results), results[1], results[2], results[1]]:
        assert progress_of(result, result.outcomes) == plain_progress(result, result.outcomes)


def test_a_batch_of_many_items_shares_its_duration_evenly() -> None:
    items = tuple(WorkItem(number=n, batch=1, module="M", file=f"f{n}.py") for n in range(1, 41))
    result = golden_result()
    manifest = dataclasses.replace(
        result.manifest,
        batches=(Batch(number=1, title="T", line=1, duration_hours=10.0, items=items),),
        phases=(Phase(ident="7.1", title="P", batches=(1,)),),
    )
    template = result.outcomes[0]
    outcomes = tuple(
        dataclasses.replace(
            template, item=item, status=PlanStatus.DONE if n % 4 else template.status
        )
        for n, item in enumerate(items)
    )
    big = dataclasses.replace(result, manifest=manifest, outcomes=outcomes)
    assert total_progress(big) == plain_progress(big, outcomes)
    assert total_progress(big).hours_total == 10.0


def plain_common_folder(refs: Sequence[str]) -> str:
    """``common_folder`` as it was: every ref's part compared level by level."""
    folders = [ref.rstrip("/").split("/")[:-1] for ref in refs]
    if not folders:
        return ""
    shared: list[str] = []
    for parts in zip(*folders, strict=False):
        if len(set(parts)) != 1:
            break
        shared.append(parts[0])
    return "/".join(shared) + "/" if shared else ""


PARTS = ["src", "a", "b", "ab", "a.py", "pkg", ""]

REFS = st.lists(
    st.tuples(
        st.lists(
            st.sampled_from(["src", "a", "b", "ab", "a.py", "pkg", ""]), min_size=1, max_size=4
        ),
        st.booleans(),
    ).map(lambda parts: "/".join(parts[0]) + ("/" if parts[1] else "")),
    max_size=8,
)


@given(REFS)
def test_common_folder_matches_the_level_by_level_comparison(refs: list[str]) -> None:
    assert common_folder(refs) == plain_common_folder(refs)


def test_common_folder_examples() -> None:
    refs = ["src/tta/a.py", "src/tta/b/", "src/tta/b/c.py"]
    assert common_folder(refs) == plain_common_folder(refs) == "src/tta/"
    assert common_folder(["src/a.py", "lib/b.py"]) == ""
    assert common_folder(["top.py", "src/a.py"]) == ""
    assert common_folder([]) == ""


def plain_text(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


@given(st.text())
def test_markdown_escaping_matches_the_per_character_scan(text: str) -> None:
    # escape_html and cell call _plain: their results depend on it turning exactly the
    # unprintable characters into spaces.
    assert _plain(text) == plain_text(text)
    assert escape_html(text) == escape_html(plain_text(text))
    assert escape(text) == escape(plain_text(text))
    assert cell(text) == cell(plain_text(text))
    if not text.isprintable():
        assert "\n" not in escape(text)
        assert "\t" not in cell(text)
