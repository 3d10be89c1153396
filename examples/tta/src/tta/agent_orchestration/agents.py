"""A small agent registry and the router that picks an agent for each player input.

Every agent declares the keywords it cares about and a priority. The router scores each agent by
how many of its keywords appear in the input, breaks ties by priority and then by name, and falls
back to a designated agent when nothing matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

_WORD = re.compile(r"[a-z']+")


def tokenize(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


@dataclass(frozen=True)
class Agent:
    """An agent the orchestrator can hand a player's input to."""

    name: str
    keywords: frozenset[str]
    priority: int = 0
    handler: Callable[[str], str] | None = None

    def score(self, text: str) -> int:
        return len(tokenize(text) & self.keywords)

    def handle(self, text: str) -> str:
        if self.handler is None:
            return f"[{self.name}] {text.strip()}"
        return self.handler(text)


class AgentRegistry:
    """Agents by name, in registration order."""

    def __init__(self, agents: Iterable[Agent] = ()) -> None:
        self._agents: dict[str, Agent] = {}
        for agent in agents:
            self.register(agent)

    def register(self, agent: Agent, *, replace: bool = False) -> None:
        """Add ``agent``; a second agent with the same name needs ``replace=True``."""
        if not agent.name:
            raise ValueError("an agent needs a name")
        if agent.name in self._agents and not replace:
            raise ValueError(f"agent {agent.name!r} is already registered")
        self._agents[agent.name] = agent

    def unregister(self, name: str) -> Agent:
        try:
            return self._agents.pop(name)
        except KeyError:
            raise KeyError(f"no agent named {name!r}") from None

    def get(self, name: str) -> Agent:
        try:
            return self._agents[name]
        except KeyError:
            raise KeyError(f"no agent named {name!r}") from None

    def names(self) -> list[str]:
        return list(self._agents)

    def __iter__(self) -> Iterator[Agent]:
        return iter(self._agents.values())

    def __len__(self) -> int:
        return len(self._agents)

    def __contains__(self, name: object) -> bool:
        return name in self._agents


@dataclass(frozen=True)
class Route:
    """Where an input was sent, with the winning score and whether the fallback was used."""

    agent: Agent
    score: int
    fallback: bool


class IntentRouter:
    """Route player input to the best-matching registered agent."""

    def __init__(self, registry: AgentRegistry, fallback: str | None = None) -> None:
        if fallback is not None and fallback not in registry:
            raise KeyError(f"fallback agent {fallback!r} is not registered")
        self.registry = registry
        self.fallback = fallback

    def rank(self, text: str) -> list[tuple[Agent, int]]:
        scored = [(agent, agent.score(text)) for agent in self.registry]
        matching = [(agent, score) for agent, score in scored if score > 0]
        return sorted(matching, key=lambda pair: (-pair[1], -pair[0].priority, pair[0].name))

    def route(self, text: str) -> Route:
        """Pick the best agent for ``text``; raise ``LookupError`` if none fits and no fallback."""
        if not text.strip():
            raise ValueError("cannot route empty input")
        ranked = self.rank(text)
        if ranked:
            agent, score = ranked[0]
            return Route(agent, score, fallback=False)
        if self.fallback is None:
            raise LookupError(f"no agent matches {text!r}")
        return Route(self.registry.get(self.fallback), 0, fallback=True)


def default_registry() -> AgentRegistry:
    """The agents a new game starts with: narrator (fallback), combat, dialogue and wellbeing."""
    return AgentRegistry(
        [
            Agent("narrator", frozenset({"look", "explore", "go", "walk", "describe"})),
            Agent("combat", frozenset({"attack", "fight", "defend", "flee", "sword"}), priority=1),
            Agent("dialogue", frozenset({"talk", "ask", "say", "tell", "greet"}), priority=1),
            Agent(
                "wellbeing",
                frozenset({"sad", "anxious", "scared", "tired", "overwhelmed", "breathe"}),
                priority=5,
            ),
        ]
    )
