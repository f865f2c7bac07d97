"""`LiveCalls` and `CallSummary` without HTTP: the pure summary, the board's bounded latest-only subscriptions,
and a call's life on the board (fake sessions, one event loop)."""

from __future__ import annotations

import asyncio

import pytest

from agent_console.live import LiveCalls, call_json, counts_json
from agent_console.policy import CallScope, Viewer, can_control, can_see
from agent_console.summary import MAX_LINES, CallMeta, CallSummary
from session.events import EndedEvent, HandoffEvent, ScoreEvent, SpeakingEvent, StateEvent, TranscriptEvent
from storage.models import Role
from tests.unit.test_console_support import FakeSession

pytestmark = pytest.mark.unit

ANN = Viewer(1, "ann", Role.AGENT, frozenset({10}))
SUP = Viewer(2, "sup", Role.SUPERVISOR, frozenset())


def test_the_role_rules() -> None:
    red, blue_for_ann = CallScope(10, None), CallScope(20, 1)
    assert can_see(ANN, red) and can_control(ANN, red)
    assert can_see(ANN, blue_for_ann) and can_control(ANN, blue_for_ann)
    assert not can_see(ANN, CallScope(20, None)) and not can_control(ANN, CallScope(20, 99))
    assert not can_see(ANN, None) and can_see(SUP, None) and can_control(SUP, CallScope(20, None))


def test_the_summary_follows_events_and_says_when_the_board_changes() -> None:
    s = CallSummary()
    assert s.apply(1, StateEvent(0.0, "active"))
    assert s.apply(2, SpeakingEvent(0.1, "robot")) and s.hears == "robot"
    assert not s.apply(3, TranscriptEvent(0.5, "customer", "hel", False, 0.4))  # the call view's, not the board's
    assert s.partials == {"customer": {"text": "hel", "start_s": 0.4}}
    assert not s.apply(4, TranscriptEvent(0.9, "customer", "hello", True, 0.4, 0.8))
    assert s.partials == {} and s.lines[-1]["text"] == "hello"
    assert s.apply(5, HandoffEvent(1.0, "requested", "customer_asked")) and s.handoff_requested
    assert s.apply(6, HandoffEvent(2.0, "accepted", agent_id="ann"))
    assert (s.controller, s.agent, s.handoff_requested) == ("human", "ann", False)
    assert s.apply(7, SpeakingEvent(2.0, "agent")) and s.hears == "human"
    assert s.apply(8, HandoffEvent(3.0, "handed_back", agent_id="ann")) and s.controller == "robot"
    assert s.apply(9, ScoreEvent(3.1, 70, "A", "hot", ({"name": "need", "points": 20, "evidence": "yes"},)))
    assert s.signals == [{"name": "need", "points": 20, "evidence": "yes"}]
    assert s.apply(10, SpeakingEvent(3.2, "none")) and s.hears == "silent"
    assert s.apply(11, EndedEvent(4.0, "booked")) and (s.state, s.outcome, s.ended) == ("ended", "booked", True)
    assert s.seq == 11
    for i in range(MAX_LINES + 5):
        s.apply(100 + i, TranscriptEvent(5.0, "robot", str(i), True, 5.0, 5.1))
    assert len(s.lines) == MAX_LINES and s.lines[0]["text"] == "5"


def test_board_subscriptions_are_latest_only_per_call_and_bounded() -> None:
    async def main() -> None:
        live = LiveCalls(max_pending=3)
        sessions = {f"c{i}": FakeSession(f"c{i}") for i in range(5)}
        sub = live.subscribe()
        for call_id in ("c0", "c1"):
            live.add(CallMeta(call_id, team_id=10), sessions[call_id])
        await asyncio.sleep(0)
        for _ in range(10):  # many changes of one call: one pending entry
            live.changed("c0")
        assert await sub.wait(0.01)
        assert sub.take() == (False, ["c0", "c1"])
        assert not await sub.wait(0.01)  # nothing new
        for call_id in ("c2", "c3", "c4"):
            live.add(CallMeta(call_id, team_id=20), sessions[call_id])
        live.changed("c0")
        resync, ids = sub.take()
        assert resync and ids == []  # more changed calls than it may hold: a snapshot instead of a backlog
        sub.close()
        assert live.subscribers == 0
        await live.aclose()

    asyncio.run(main())


def test_a_call_joins_the_board_and_leaves_it_when_its_stream_ends() -> None:
    async def main() -> None:
        live = LiveCalls()
        session = FakeSession("c1")
        meta = CallMeta("c1", team_id=20, assigned_agent_id=1, lead_phone="+14155554567", lead_name="Dana")
        with live.serving(meta, session) as call:
            assert live.registry.get("c1") is session
            assert [c.meta.call_id for c in live.visible(ANN)] == ["c1"]  # assigned to ann
            session.publish(StateEvent(0.0, "active"))
            session.publish(HandoffEvent(1.0, "requested"))
            await asyncio.sleep(0.01)
            shown = call_json(call, ANN)
            assert (shown["state"], shown["handoff_requested"], shown["phone"]) == ("active", True, "+14155554567")
            assert call_json(call, SUP)["phone"] == "+1 *** *** 4567"
            assert counts_json([call])["handoff_requested"] == 1
            session.finish()
            await asyncio.sleep(0.01)
            assert live.get("c1") is None  # off the board as soon as its stream closed
        assert "c1" not in live.registry
        with pytest.raises(KeyError):
            live.add(meta, session)
            live.add(meta, session)
        await live.aclose()

    asyncio.run(main())


def test_a_board_that_falls_behind_a_calls_events_resubscribes_and_keeps_up() -> None:
    async def main() -> None:
        live = LiveCalls()
        session = FakeSession("c1")
        session.stream.max_pending = 4
        with live.serving(CallMeta("c1", team_id=10), session) as call:
            for i in range(10):  # faster than the follower reads (no await in between): it lags
                session.publish(TranscriptEvent(0.1 * i, "robot", str(i), True, 0.0, 0.1))
            await asyncio.sleep(0.01)
            session.publish(StateEvent(2.0, "taken_over"))
            await asyncio.sleep(0.01)
            assert call.summary.state == "taken_over" and live.get("c1") is call
        await live.aclose()

    asyncio.run(main())
