"""The result types and the service's argument checks; the turn loop has no tests yet."""

import pytest

from tta.agent_orchestration.agents import IntentRouter, default_registry
from tta.agent_orchestration.service import (
    FALLBACK_NARRATIVE,
    AgentResult,
    OrchestrationService,
    ResultStatus,
    TurnReport,
)


def make_report(*results):
    route = IntentRouter(default_registry(), fallback="narrator").route("look around")
    return TurnReport(turn=1, player_input="look around", route=route, results=results)


def test_report_narrative_joins_successful_outputs():
    report = make_report(
        AgentResult("narrator", ResultStatus.OK, output="A quiet meadow."),
        AgentResult("wellbeing", ResultStatus.FAILED, error="RuntimeError: boom"),
        AgentResult("dialogue", ResultStatus.OK, output="A bird sings."),
    )
    assert report.succeeded
    assert report.narrative() == "A quiet meadow.\nA bird sings."
    assert [result.agent for result in report.failures()] == ["wellbeing"]


def test_report_falls_back_when_nothing_succeeded():
    report = make_report(AgentResult("narrator", ResultStatus.TIMED_OUT, error="slow"))
    assert not report.succeeded
    assert report.narrative() == FALLBACK_NARRATIVE


def test_service_rejects_bad_settings():
    router = IntentRouter(default_registry(), fallback="narrator")
    with pytest.raises(ValueError, match="timeout"):
        OrchestrationService(router, timeout=0)
    with pytest.raises(KeyError, match="safety"):
        OrchestrationService(router, always_run=["safety"])
