"""Player sessions: what each player is doing, how far they have come, and what to suggest next.

The manager keeps one :class:`PlayerSession` per active player, records milestones and mood
check-ins, and turns that history into gentle recommendations (take a break, revisit a skill,
try a quieter storyline). It holds no I/O: persistence is the caller's job via
:meth:`PlayerExperienceManager.snapshot` and :meth:`PlayerExperienceManager.restore`.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Minutes of continuous play after which a break is suggested.
BREAK_AFTER_MINUTES = 45
#: Mood scale used by check-ins (1 = very low, 5 = very good).
MOOD_MIN, MOOD_MAX = 1, 5


class SessionState(enum.Enum):
    """Where a session is in its life cycle."""

    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class SessionError(RuntimeError):
    """An operation does not fit the session's current state."""


@dataclass
class PlayerSession:
    """One player's current session and accumulated progress."""

    player_id: str
    started_at: float
    state: SessionState = SessionState.ACTIVE
    active_seconds: float = 0.0
    resumed_at: float | None = None
    milestones: list[str] = field(default_factory=list)
    moods: list[int] = field(default_factory=list)
    skills_practised: dict[str, int] = field(default_factory=dict)

    def average_mood(self) -> float | None:
        """The mean of the mood check-ins, or ``None`` before the first one."""
        return sum(self.moods) / len(self.moods) if self.moods else None

    def mood_trend(self) -> int:
        """-1, 0 or 1: whether the last three check-ins fell, stayed level or rose."""
        recent = self.moods[-3:]
        if len(recent) < 2 or recent[-1] == recent[0]:
            return 0
        return 1 if recent[-1] > recent[0] else -1


class PlayerExperienceManager:
    """Track sessions, progress and mood for every active player."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        """Read the time from ``clock`` (seconds), so sessions can be tested without waiting."""
        self.clock = clock
        self._sessions: dict[str, PlayerSession] = {}

    def start(self, player_id: str) -> PlayerSession:
        """Start (or resume) the session of ``player_id``."""
        session = self._sessions.get(player_id)
        if session is None or session.state is SessionState.ENDED:
            now = self.clock()
            session = PlayerSession(player_id, started_at=now, resumed_at=now)
            self._sessions[player_id] = session
        elif session.state is SessionState.PAUSED:
            session.state = SessionState.ACTIVE
            session.resumed_at = self.clock()
        return session

    def session(self, player_id: str) -> PlayerSession:
        """The session of ``player_id``; ``KeyError`` if there is none."""
        try:
            return self._sessions[player_id]
        except KeyError:
            raise KeyError(f"no session for {player_id!r}") from None

    def _bank_active_time(self, session: PlayerSession) -> None:
        """Add the time since the last resume to ``active_seconds``."""
        if session.resumed_at is not None:
            session.active_seconds += self.clock() - session.resumed_at
            session.resumed_at = None

    def pause(self, player_id: str) -> None:
        """Pause an active session, keeping its progress."""
        session = self.session(player_id)
        if session.state is not SessionState.ACTIVE:
            raise SessionError(f"cannot pause a {session.state.value} session")
        self._bank_active_time(session)
        session.state = SessionState.PAUSED

    def end(self, player_id: str) -> PlayerSession:
        """End the session and return its final state."""
        session = self.session(player_id)
        if session.state is SessionState.ENDED:
            raise SessionError("the session has already ended")
        self._bank_active_time(session)
        session.state = SessionState.ENDED
        return session

    def record_milestone(self, player_id: str, milestone: str) -> bool:
        """Record a story milestone once; return whether it was new."""
        session = self.session(player_id)
        if milestone in session.milestones:
            return False
        session.milestones.append(milestone)
        return True

    def practise(self, player_id: str, skill: str) -> int:
        """Count one practice of a coping skill (e.g. ``"breathing"``) and return the total."""
        session = self.session(player_id)
        session.skills_practised[skill] = session.skills_practised.get(skill, 0) + 1
        return session.skills_practised[skill]

    def check_in(self, player_id: str, mood: int) -> None:
        """Record a mood check-in on the 1-5 scale."""
        if not MOOD_MIN <= mood <= MOOD_MAX:
            raise ValueError(f"mood must be between {MOOD_MIN} and {MOOD_MAX}")
        self.session(player_id).moods.append(mood)

    def minutes_played(self, player_id: str) -> float:
        """Active minutes so far, including the running stretch."""
        session = self.session(player_id)
        running = self.clock() - session.resumed_at if session.resumed_at is not None else 0.0
        return (session.active_seconds + running) / 60

    def recommendations(self, player_id: str) -> list[str]:
        """Suggestions for the player, most important first."""
        session = self.session(player_id)
        tips: list[str] = []
        average = session.average_mood()
        if average is not None and average <= 2:
            tips.append("It sounds like a hard day. A calmer storyline is available any time.")
        if session.mood_trend() < 0:
            tips.append("Your check-ins are dipping; a breathing exercise might help.")
        if self.minutes_played(player_id) >= BREAK_AFTER_MINUTES:
            tips.append("You have been playing for a while. How about a short break?")
        if session.skills_practised:
            favourite = max(session.skills_practised.items(), key=lambda pair: pair[1])[0]
            tips.append(f"You keep coming back to {favourite}; try it in the next challenge.")
        elif session.milestones:
            tips.append("Try a coping skill in the next scene to earn a new milestone.")
        return tips

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """All sessions as plain data, ready to be stored as JSON."""
        return {
            player_id: {
                "started_at": session.started_at,
                "state": session.state.value,
                "active_seconds": session.active_seconds,
                "milestones": list(session.milestones),
                "moods": list(session.moods),
                "skills_practised": dict(session.skills_practised),
            }
            for player_id, session in self._sessions.items()
        }

    def restore(self, data: dict[str, dict[str, Any]]) -> None:
        """Replace the sessions with a :meth:`snapshot`; restored active sessions come back paused."""
        sessions: dict[str, PlayerSession] = {}
        for player_id, raw in data.items():
            state = SessionState(raw["state"])
            sessions[player_id] = PlayerSession(
                player_id,
                started_at=float(raw["started_at"]),
                state=SessionState.PAUSED if state is SessionState.ACTIVE else state,
                active_seconds=float(raw["active_seconds"]),
                milestones=list(raw["milestones"]),
                moods=[int(mood) for mood in raw["moods"]],
                skills_practised={str(k): int(v) for k, v in raw["skills_practised"].items()},
            )
        self._sessions = sessions
