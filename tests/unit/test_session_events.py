"""The per-call event stream (partials latest-only, finals never silently lost, lagged subscribers dropped) and
the call record built from it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from session.events import (
    CallEventStream,
    EndedEvent,
    HandoffEvent,
    RecommendationsEvent,
    ScoreEvent,
    SessionEvent,
    SpeakingEvent,
    StateEvent,
    SubscriberLagged,
    TranscriptEvent,
    event_json,
)
from session.record import CallRecord, JsonRecordStore, RecordBuilder

pytestmark = pytest.mark.unit


def final(text: str, t: float = 1.0, speaker: str = "customer") -> TranscriptEvent:
    return TranscriptEvent(t, speaker, text, True, t - 0.5, t)  # type: ignore[arg-type]  # tests pass str


def partial(text: str, speaker: str = "customer") -> TranscriptEvent:
    return TranscriptEvent(1.0, speaker, text, False, 0.5)  # type: ignore[arg-type]


def test_every_kind_serialises_to_json_with_type_and_seq() -> None:
    events: list[SessionEvent] = [
        StateEvent(0.0, "active", "opening"),
        final("hello"),
        ScoreEvent(2.0, 55, "B", "intent", ({"name": "interested", "points": 10, "evidence": "interested"},)),
        HandoffEvent(3.0, "requested", "customer_asked"),
        RecommendationsEvent(3.1, ({"text": "Offer a callback", "score": 0.8},)),
        SpeakingEvent(3.2, "agent"),
        EndedEvent(9.0, "booked", "robot"),
    ]
    out = [event_json(e, seq) for seq, e in enumerate(events, 1)]
    text = json.dumps(out)
    assert [o["type"] for o in json.loads(text)] == [
        "state",
        "transcript",
        "score",
        "handoff",
        "recommendations",
        "speaking",
        "ended",
    ]
    assert out[1] == {
        "type": "transcript",
        "seq": 2,
        "t_s": 1.0,
        "speaker": "customer",
        "text": "hello",
        "final": True,
        "start_s": 0.5,
        "end_s": 1.0,
        "cut": False,
    }


def test_partials_are_latest_only_per_speaker_and_finals_all_arrive() -> None:
    async def scenario() -> list[SessionEvent]:
        stream = CallEventStream("c1", max_pending=8)
        sub = stream.subscribe()
        for k in range(20):
            stream.publish(partial(f"cust {k}"))
            stream.publish(partial(f"agent {k}", "agent"))
        stream.publish(final("customer done"))
        stream.publish(final("agent done", speaker="agent"))
        stream.close()
        return [event async for _, event in sub]

    got = asyncio.run(scenario())
    texts = [e.text for e in got if isinstance(e, TranscriptEvent)]
    assert texts == ["cust 19", "agent 19", "customer done", "agent done"]


def test_a_subscriber_that_falls_behind_is_marked_lagged_and_dropped_others_unaffected() -> None:
    async def scenario() -> tuple[list[str], bool, int, list[str]]:
        stream = CallEventStream("c1")
        slow = stream.subscribe(max_pending=5)
        fast = stream.subscribe(max_pending=100)
        for k in range(6):
            stream.publish(final(f"line {k}"))
        got_slow: list[str] = []
        lagged = False
        try:
            async for _, event in slow:
                assert isinstance(event, TranscriptEvent)
                got_slow.append(event.text)
        except SubscriberLagged:
            lagged = True
        stream.close()
        got_fast = [e.text async for _, e in fast if isinstance(e, TranscriptEvent)]
        return got_slow, lagged, stream.subscribers, got_fast

    got_slow, lagged, left, got_fast = asyncio.run(scenario())
    assert lagged and got_slow == [], "no final is silently skipped: the lagged subscriber gets none, and knows"
    assert left == 0
    assert got_fast == [f"line {k}" for k in range(6)]


def test_a_reader_that_keeps_up_is_never_lagged() -> None:
    async def scenario() -> int:
        stream = CallEventStream("c1", max_pending=4)
        sub = stream.subscribe()
        count = 0

        async def read() -> None:
            nonlocal count
            async for _ in sub:
                count += 1

        reader = asyncio.create_task(read())
        for k in range(100):
            stream.publish(final(f"{k}"))
            await asyncio.sleep(0)
        stream.close()
        await reader
        return count

    assert asyncio.run(scenario()) == 100


def test_listeners_see_everything_and_the_record_is_built_and_stored(tmp_path: Path) -> None:
    stream = CallEventStream("call-7", max_pending=1)
    builder = RecordBuilder("call-7", recording_path=tmp_path / "call-7.wav")
    stream.add_listener(builder)
    stream.subscribe()  # lags at once: the builder must not care
    stream.publish(final("hi, this is the robot", 1.0, "robot"))
    stream.publish(partial("yes I"))
    stream.publish(final("yes I have time", 3.0))
    stream.publish(ScoreEvent(3.1, 60, "B", "intent", ({"name": "reached", "points": 35, "evidence": "reached"},)))
    stream.publish(HandoffEvent(4.0, "requested", "customer_asked"))
    stream.publish(HandoffEvent(5.0, "accepted", agent_id="a1"))
    stream.publish(final("hello, Alex here", 6.0, "agent"))
    stream.publish(EndedEvent(9.5, "handoff", "robot"))
    record = builder.record
    assert [(line.speaker, line.text) for line in record.transcript] == [
        ("robot", "hi, this is the robot"),
        ("customer", "yes I have time"),
        ("agent", "hello, Alex here"),
    ]
    assert (record.grade, record.score, record.outcome, record.duration_s) == ("B", 60, "handoff", 9.5)
    assert [h["status"] for h in record.handoffs] == ["requested", "accepted"]
    store = JsonRecordStore(tmp_path / "records")
    store.save(record)
    loaded = store.load("call-7")
    assert loaded == record and isinstance(loaded, CallRecord)
    assert loaded.recording_path == str(tmp_path / "call-7.wav")
    with pytest.raises(ValueError, match="expected a call id"):
        store.save(CallRecord("../etc/passwd", "2026-01-01T00:00:00.000+00:00"))


def test_publishing_after_close_is_an_error_and_late_subscribers_end_at_once() -> None:
    async def scenario() -> list[object]:
        stream = CallEventStream("c1")
        stream.close()
        with pytest.raises(RuntimeError, match="closed"):
            stream.publish(final("x"))
        return [e async for e in stream.subscribe()]

    assert asyncio.run(scenario()) == []
