"""Run one player turn through the agents and collect what happened as plain values.

The service routes the input to one agent, then runs the always-on agents (for example a
wellbeing check) on the same input. Failures never escape as exceptions: an agent that raises
becomes a ``FAILED`` result, one that exceeds the time budget becomes ``TIMED_OUT``, and the turn
report decides what the player sees. Time is read from an injectable clock, so nothing sleeps and
tests can make an agent "slow" deterministically.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tta.agent_orchestration.agents import Agent, IntentRouter, Route

#: What the player sees when no agent produced usable output.
FALLBACK_NARRATIVE = "The world holds still for a moment. Try describing what you want to do."


class ResultStatus(enum.Enum):
    """How one agent call ended."""

    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed out"


@dataclass(frozen=True)
class AgentResult:
    """The outcome of one agent call."""

    agent: str
    status: ResultStatus
    output: str = ""
    error: str = ""
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the call succeeded within its time budget."""
        return self.status is ResultStatus.OK


@dataclass(frozen=True)
class TurnReport:
    """Everything one turn produced: the route taken and each agent's result."""

    turn: int
    player_input: str
    route: Route
    results: tuple[AgentResult, ...]

    @property
    def succeeded(self) -> bool:
        """Whether the routed agent (the first result) succeeded."""
        return bool(self.results) and self.results[0].ok

    def failures(self) -> list[AgentResult]:
        """The results that did not succeed, in call order."""
        return [result for result in self.results if not result.ok]

    def narrative(self) -> str:
        """The text shown to the player: every successful output, or the fallback narrative."""
        outputs = [result.output for result in self.results if result.ok and result.output]
        return "\n".join(outputs) if outputs else FALLBACK_NARRATIVE


class OrchestrationService:
    """Route each turn, call the agents within a time budget and keep a bounded history."""

    def __init__(
        self,
        router: IntentRouter,
        *,
        always_run: Sequence[str] = (),
        timeout: float = 2.0,
        max_history: int = 50,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Run ``always_run`` agents after the routed one, each within ``timeout`` seconds."""
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_history < 1:
            raise ValueError("max_history must be at least 1")
        unknown = [name for name in always_run if name not in router.registry]
        if unknown:
            raise KeyError(f"always-run agents not registered: {', '.join(unknown)}")
        self.router = router
        self.always_run = tuple(always_run)
        self.timeout = timeout
        self.max_history = max_history
        self.clock = clock
        self._history: list[TurnReport] = []
        self._turns = 0

    def run_turn(self, player_input: str) -> TurnReport:
        """Route ``player_input``, run the routed and always-on agents, and record the report."""
        route = self.router.route(player_input)
        agents = [route.agent]
        for name in self.always_run:
            if name != route.agent.name:
                agents.append(self.router.registry.get(name))
        self._turns += 1
        report = TurnReport(
            turn=self._turns,
            player_input=player_input,
            route=route,
            results=tuple(self.call(agent, player_input) for agent in agents),
        )
        self._remember(report)
        return report

    def call(self, agent: Agent, text: str) -> AgentResult:
        """Call one agent, turning exceptions and overruns into results."""
        started = self.clock()
        try:
            output = agent.handle(text)
        except Exception as exc:  # an agent bug must not end the player's session
            return AgentResult(
                agent.name,
                ResultStatus.FAILED,
                error=f"{type(exc).__name__}: {exc}",
                elapsed=self.clock() - started,
            )
        elapsed = self.clock() - started
        if elapsed > self.timeout:
            return AgentResult(
                agent.name,
                ResultStatus.TIMED_OUT,
                error=f"took {elapsed:.2f}s (budget {self.timeout:.2f}s)",
                elapsed=elapsed,
            )
        return AgentResult(agent.name, ResultStatus.OK, output=output, elapsed=elapsed)

    def _remember(self, report: TurnReport) -> None:
        """Append ``report``, dropping the oldest reports beyond ``max_history``."""
        self._history.append(report)
        if len(self._history) > self.max_history:
            del self._history[: len(self._history) - self.max_history]

    @property
    def history(self) -> list[TurnReport]:
        """The remembered reports, oldest first (a copy)."""
        return list(self._history)

    def stats(self) -> dict[str, int]:
        """Counts over the remembered history: turns, failed calls, timed-out calls, fallbacks."""
        counts = {"turns": len(self._history), "failed": 0, "timed_out": 0, "fallbacks": 0}
        for report in self._history:
            if report.route.fallback:
                counts["fallbacks"] += 1
            for result in report.results:
                if result.status is ResultStatus.FAILED:
                    counts["failed"] += 1
                elif result.status is ResultStatus.TIMED_OUT:
                    counts["timed_out"] += 1
        return counts

    def agent_health(self) -> dict[str, float]:
        """Per agent, the share of its remembered calls that succeeded (0.0 to 1.0)."""
        calls: dict[str, int] = {}
        successes: dict[str, int] = {}
        for report in self._history:
            for result in report.results:
                calls[result.agent] = calls.get(result.agent, 0) + 1
                if result.ok:
                    successes[result.agent] = successes.get(result.agent, 0) + 1
        return {name: successes.get(name, 0) / count for name, count in sorted(calls.items())}

    def replay(self, turn: int) -> TurnReport:
        """Run the input of a remembered ``turn`` again as a new turn."""
        for report in self._history:
            if report.turn == turn:
                return self.run_turn(report.player_input)
        raise KeyError(f"turn {turn} is not in the history")

    def reset(self) -> None:
        """Forget the history and restart turn numbering."""
        self._history.clear()
        self._turns = 0
