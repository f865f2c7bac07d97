"""Which calls are live, by call id: the console's WebSockets find a call's session here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from session.agent import AgentChannel
from session.events import EventSubscription
from session.listen import ListenSubscription


class LiveSession(Protocol):
    """What the console needs of a live call (`session.CallSession` has it)."""

    @property
    def sample_rate_hz(self) -> int: ...

    @property
    def taken_over(self) -> bool: ...

    def request_takeover(self, agent_id: str) -> AgentChannel: ...

    def hand_back(self) -> None: ...

    def listen(self, buffer_frames: int | None = None) -> ListenSubscription: ...

    def subscribe_events(self, max_pending: int | None = None) -> EventSubscription: ...

    async def wait_ended(self) -> None: ...

    def end(self) -> None:
        """Hang up now (the console's hang-up button)."""
        ...


class SessionRegistry:
    """Live sessions by call id. Register a session for exactly as long as it runs (`serving`)."""

    def __init__(self) -> None:
        self._sessions: dict[str, LiveSession] = {}

    def add(self, call_id: str, session: LiveSession) -> None:
        if call_id in self._sessions:
            raise KeyError(f"expected a new call id, got {call_id!r} already live")
        self._sessions[call_id] = session

    def remove(self, call_id: str) -> None:
        self._sessions.pop(call_id, None)

    def get(self, call_id: str) -> LiveSession | None:
        return self._sessions.get(call_id)

    def ids(self) -> list[str]:
        return sorted(self._sessions)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._sessions

    def __len__(self) -> int:
        return len(self._sessions)

    @contextmanager
    def serving(self, call_id: str, session: LiveSession) -> Iterator[None]:
        """`with registry.serving(call_id, session): await session.run()`"""
        self.add(call_id, session)
        try:
            yield
        finally:
            self.remove(call_id)
