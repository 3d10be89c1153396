import pytest

from tta.agent_orchestration.agents import (
    Agent,
    IntentRouter,
    default_registry,
    tokenize,
)


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize("Look, the DOOR!") == {"look", "the", "door"}


def test_agent_scores_keyword_overlap_and_handles_input():
    echo = Agent("echo", frozenset({"hello", "hi"}))
    assert echo.score("hello there, hi") == 2
    assert echo.handle("  hello ") == "[echo] hello"


def test_router_prefers_score_then_priority():
    router = IntentRouter(default_registry(), fallback="narrator")
    assert router.route("I attack the troll with my sword").agent.name == "combat"
    # "talk" (dialogue, priority 1) and "scared" (wellbeing, priority 5) tie on score.
    assert router.route("I am scared to talk to her").agent.name == "wellbeing"


def test_router_falls_back_when_nothing_matches():
    router = IntentRouter(default_registry(), fallback="narrator")
    route = router.route("hmm")
    assert route.fallback
    assert route.agent.name == "narrator"
    assert route.score == 0


def test_router_without_fallback_raises():
    router = IntentRouter(default_registry())
    with pytest.raises(LookupError):
        router.route("hmm")
    with pytest.raises(ValueError):
        router.route("   ")
