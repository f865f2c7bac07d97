"""`LiveCalls`: the console's service of live calls. It knows each call's metadata, follows each session's event
stream to keep a summary (`summary.CallSummary`), holds takeovers made over REST, and feeds the board's
subscribers.

    live = LiveCalls(registry)
    with live.serving(meta, session):   # on the event loop; registers the session for the call's sockets too
        await session.run()

Everything here runs on the event loop (the follower tasks, the subscriptions' wake-ups): call it from `async`
code only. Works without SIP: tests add fake sessions that publish scripted events.

Board subscribers are latest-only per call: a subscription holds the ids of calls that changed since it last
read, and the reader renders their current state. More changed calls than `max_pending` → the subscription
asks for a fresh snapshot instead (bounded whatever the number of calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent_console.media_ws import AgentLink
from agent_console.policy import Viewer, can_see, mask_phone
from agent_console.registry import LiveSession, SessionRegistry
from agent_console.summary import CallMeta, CallSummary
from session.agent import AgentChannel
from session.events import EventSubscription, SubscriberLagged
from storage.models.base import utcnow

__all__ = ["BOARD_STATES", "BoardSubscription", "LiveCall", "LiveCalls", "call_json", "counts_json"]

log = logging.getLogger(__name__)
BOARD_STATES = ("starting", "active", "awaiting_agent", "taken_over")
DEFAULT_MAX_PENDING = 1000


@dataclass(slots=True)
class LiveCall:
    meta: CallMeta
    session: LiveSession
    summary: CallSummary = field(default_factory=CallSummary)
    agent_outcome: str | None = None  # set by an agent (POST …/outcome); wins over the call's own
    agent_note: str | None = None
    recommendations_used: list[str] = field(default_factory=list)  # variant ids, for mining at the call's end
    held: AgentChannel | None = None  # a takeover made over REST, waiting for (or carried by) the agent's socket
    links: dict[str, AgentLink] = field(default_factory=dict)  # open agent sockets by agent id


class BoardSubscription:
    """One board socket's pending changes: call ids, latest-only; `resync` when it fell too far behind."""

    def __init__(self, live: LiveCalls, max_pending: int) -> None:
        self._live = live
        self._max = max_pending
        self._pending: dict[str, None] = {}  # insertion-ordered set
        self._wake = asyncio.Event()
        self.resync = False
        self.closed = False

    def offer(self, call_id: str) -> None:
        if self.closed or self.resync:
            return
        if call_id not in self._pending and len(self._pending) >= self._max:
            self._pending.clear()
            self.resync = True  # the reader sends a snapshot instead of a backlog
        else:
            self._pending[call_id] = None
        self._wake.set()

    async def wait(self, timeout_s: float) -> bool:
        """Wait until something changed or the subscription closed (True), or `timeout_s` passed (False)."""
        if self._pending or self.resync or self.closed:
            return True
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._wake.wait()
        return bool(self._pending) or self.resync or self.closed

    def take(self) -> tuple[bool, list[str]]:
        """(resync, changed call ids) since the last take."""
        resync, ids = self.resync, list(self._pending)
        self.resync = False
        self._pending.clear()
        return resync, ids

    def close(self) -> None:
        self.closed = True
        self._live.unsubscribe(self)
        self._wake.set()


class LiveCalls:
    def __init__(self, registry: SessionRegistry | None = None, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.registry = registry if registry is not None else SessionRegistry()
        self._calls: dict[str, LiveCall] = {}
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._subs: list[BoardSubscription] = []
        self._max_pending = max_pending

    # -- calls come and go --

    def add(self, meta: CallMeta, session: LiveSession) -> LiveCall:
        """Register a live call (on the event loop): its sockets find it, the board shows it."""
        if meta.call_id in self._calls:
            raise KeyError(f"expected a new call id, got {meta.call_id!r} already live")
        if self.registry.get(meta.call_id) is not session:
            self.registry.add(meta.call_id, session)
        call = self._calls[meta.call_id] = LiveCall(meta, session)
        first = session.subscribe_events()  # now, not in the task: events published before it runs are kept
        task = asyncio.get_running_loop().create_task(self._follow(call, first), name=f"board-follow-{meta.call_id}")
        self._followers[meta.call_id] = task
        self._notify(meta.call_id)
        return call

    def remove(self, call_id: str) -> None:
        """The call is over: off the board and out of the registry."""
        self.registry.remove(call_id)
        self._drop(call_id)
        task = self._followers.pop(call_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    @contextlib.contextmanager
    def serving(self, meta: CallMeta, session: LiveSession) -> Iterator[LiveCall]:
        """`with live.serving(meta, session): await session.run()`"""
        call = self.add(meta, session)
        try:
            yield call
        finally:
            self.remove(meta.call_id)

    def _drop(self, call_id: str) -> None:
        call = self._calls.pop(call_id, None)
        if call is not None:
            if call.held is not None:
                call.held.close()
            self._notify(call_id)

    async def _follow(self, call: LiveCall, sub: EventSubscription | None) -> None:
        """Keep the call's summary from its event stream; a lagged subscription (a stalled loop) resubscribes."""
        while sub is not None:
            lagged = False
            try:
                async for seq, event in sub:
                    if call.summary.apply(seq, event):
                        self._notify(call.meta.call_id)
            except SubscriberLagged:
                log.warning("board fell behind call %s's events: resubscribing", call.meta.call_id)
                lagged = True
            finally:
                sub.close()
            sub = call.session.subscribe_events() if lagged else None
        call.summary.ended = True
        self._followers.pop(call.meta.call_id, None)
        self._drop(call.meta.call_id)  # the stream closed: the call is over (the registry entry goes with serving)

    async def aclose(self) -> None:
        """Stop following every call (application shutdown)."""
        tasks = list(self._followers.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._followers.clear()

    # -- lookups --

    def get(self, call_id: str) -> LiveCall | None:
        return self._calls.get(call_id)

    def calls(self) -> list[LiveCall]:
        return sorted(self._calls.values(), key=lambda c: (c.meta.started_at, c.meta.call_id))

    def visible(self, viewer: Viewer) -> list[LiveCall]:
        return [c for c in self.calls() if can_see(viewer, c.meta.scope)]

    def changed(self, call_id: str) -> None:
        """Something the console itself changed (an outcome): push it to the board."""
        self._notify(call_id)

    # -- takeovers made over REST, and the agent sockets that carry them --

    def agent_connected(self, call_id: str, agent_id: str, link: AgentLink) -> AgentChannel | None:
        call = self._calls.get(call_id)
        if call is None:
            return None
        call.links[agent_id] = link
        held = call.held
        if held is not None and held.agent_id == agent_id and not held.closed:
            return held
        return None

    def agent_disconnected(self, call_id: str, agent_id: str, link: AgentLink) -> None:
        call = self._calls.get(call_id)
        if call is not None and call.links.get(agent_id) is link:
            del call.links[agent_id]
            if call.held is not None and call.held is link.channel:
                call.held = None  # the socket hands it back as it closes

    # -- the board --

    def subscribe(self) -> BoardSubscription:
        sub = BoardSubscription(self, self._max_pending)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: BoardSubscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def _notify(self, call_id: str) -> None:
        for sub in list(self._subs):
            sub.offer(call_id)


def _iso(t: datetime) -> str:
    return t.isoformat()


def call_json(call: LiveCall, viewer: Viewer, now: datetime | None = None) -> dict[str, Any]:
    """The board's `CallSummary` (docs/console-api.md) of one call, as this viewer may see it."""
    meta, s = call.meta, call.summary
    unmasked = meta.assigned_agent_id is not None and meta.assigned_agent_id == viewer.user_id
    now = now or utcnow()
    return {
        "call_id": meta.call_id,
        "campaign_id": meta.campaign_id,
        "campaign_name": meta.campaign_name,
        "team_id": meta.team_id,
        "assigned_agent_id": meta.assigned_agent_id,
        "lead_name": meta.lead_name,
        "phone": meta.lead_phone if unmasked else mask_phone(meta.lead_phone),
        "phone_masked": not unmasked,
        "started_at": _iso(meta.started_at),
        "duration_s": round(max(0.0, (now - meta.started_at).total_seconds()), 1),
        "state": s.state,
        "hears": s.hears,
        "controller": s.controller,
        "agent": s.agent,
        "score": s.score,
        "grade": s.grade,
        "category": s.category,
        "handoff": s.handoff,
        "handoff_requested": s.handoff_requested,
        "outcome": call.agent_outcome or s.outcome,
        "seq": s.seq,
    }


def counts_json(calls: list[LiveCall]) -> dict[str, int]:
    counts = {"total": len(calls), **dict.fromkeys(BOARD_STATES, 0), "handoff_requested": 0}
    for call in calls:
        state = call.summary.state
        counts[state] = counts.get(state, 0) + 1
        counts["handoff_requested"] += int(call.summary.handoff_requested)
    return counts
