"""The dialer's small parts: dial plans, the handoff desk fed by session events, and the Prometheus metrics with
the ASR and TTS latency hooks they rely on."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from prometheus_client import generate_latest

from asr.pool import InferencePool, Priority
from asr.transcriber import Transcript, Utterance
from dialer.desk import HandoffDesk
from dialer.dialplan import DialPlan
from dialer.metrics import DialerMetrics
from dialer.outcomes import RecordedOutcome
from dialer.pacing import TokenBucket
from dialer.placer import CallRequest
from dialer.retry import RetryPolicy
from dialer.rules import CampaignRules
from dialer.windows import CallingWindows
from session.events import EndedEvent, HandoffEvent
from tts.engine import MemorySource, RenderInfo, TtsStream
from tts.phrase_cache import CachedEngine, PhraseCache

pytestmark = pytest.mark.unit


# -- dial plans --


def test_dial_plans_fill_numbers_and_users() -> None:
    assert DialPlan("sip:{digits}@trunk.example.net").uri("+4930123456") == "sip:4930123456@trunk.example.net"
    assert DialPlan("sip:{e164}@10.0.0.5;user=phone").uri("+4930123456") == "sip:+4930123456@10.0.0.5;user=phone"
    plan = DialPlan("sip:{user}@127.0.0.1:5080", {"+4930123456": "busy-bob"})
    assert plan.uri("+4930123456") == "sip:busy-bob@127.0.0.1:5080"
    assert plan.uri("+4930123457") == "sip:+4930123457@127.0.0.1:5080"


@pytest.mark.parametrize(
    ("template", "message"),
    [("http://{e164}", "expected a sip:"), ("sip:{name}@x", "expected placeholders"), ("sip:x@y", "expected place")],
)
def test_bad_dial_plans_are_refused(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DialPlan(template)


def test_a_dial_plan_refuses_a_non_e164_number_without_quoting_it() -> None:
    with pytest.raises(ValueError) as error:
        DialPlan("sip:{digits}@x").uri("030123456")
    assert "030123456" not in str(error.value)


# -- the handoff desk --


class FakeEvents:
    def __init__(self) -> None:
        self.listeners: list[Any] = []

    def add_listener(self, listener: Any) -> None:
        self.listeners.append(listener)

    def publish(self, event: Any) -> None:
        for listener in self.listeners:
            listener(event)


@dataclass
class FakeSession:
    events: FakeEvents


class Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def rules(campaign_id: int = 1, max_concurrent: int = 10) -> CampaignRules:
    return CampaignRules(
        campaign_id=campaign_id,
        name="c",
        script_id="insurance-en",
        language="en",
        caller_id=None,
        team_id=None,
        max_concurrent_calls=max_concurrent,
        max_attempts=3,
        windows=CallingWindows.default(),
        retry=RetryPolicy.default(),
        dialogue={},
        bucket=TokenBucket(10.0, 10.0, 0.0),
    )


def request(call_id: str, campaign_id: int = 1) -> CallRequest:
    return CallRequest(call_id, 1, 1, campaign_id, "+4930123456", "insurance-en")


def active(metrics: DialerMetrics) -> dict[str, float]:
    return {s: metrics.calls_active.labels(s)._value.get() for s in ("dialing", "robot", "handoff_wait", "agent")}


def test_the_desk_follows_a_call_through_a_handoff_and_back() -> None:
    clock, metrics = Clock(), DialerMetrics()
    desk = HandoffDesk(metrics=metrics, clock=clock)
    desk.agent_available("7")
    desk.admission(rules())  # the campaign's pacer exists from the first decision
    desk.dialing(request("a1"))
    assert active(metrics)["dialing"] == 1
    session = FakeSession(FakeEvents())
    with desk.serving(request("a1"), session):
        assert active(metrics) == {"dialing": 0, "robot": 1, "handoff_wait": 0, "agent": 0}
        session.events.publish(HandoffEvent(3.0, "requested", "asked"))
        assert active(metrics)["handoff_wait"] == 1 and desk.queue.waiting() == ["a1"]
        assert desk.assignments() == [("a1", "7")]
        clock.now_s += 12.0
        session.events.publish(HandoffEvent(15.0, "accepted", agent_id="7"))
        assert active(metrics) == {"dialing": 0, "robot": 0, "handoff_wait": 0, "agent": 1}
        session.events.publish(HandoffEvent(40.0, "handed_back", agent_id="7"))
        assert active(metrics)["robot"] == 1
        session.events.publish(EndedEvent(50.0, "completed", "remote"))
    desk.ended("a1", answered=True)
    assert active(metrics) == {"dialing": 0, "robot": 0, "handoff_wait": 0, "agent": 0}
    assert desk.queue.stats.answered == 1 and desk.queue.answered_waits_s() == [12.0]
    text = generate_latest(metrics.registry).decode()
    assert 'callcenter_handoffs_total{result="answered"} 1.0' in text
    assert "callcenter_handoff_wait_seconds_sum 12.0" in text


def test_a_call_that_ends_while_waiting_is_an_abandoned_handoff() -> None:
    clock, metrics = Clock(), DialerMetrics()
    desk = HandoffDesk(metrics=metrics, clock=clock)
    desk.agent_available("7")
    desk.dialing(request("a2"))
    session = FakeSession(FakeEvents())
    with desk.serving(request("a2"), session):
        session.events.publish(HandoffEvent(3.0, "requested", "asked"))
        clock.now_s += 30.0
    desk.ended("a2", answered=True)
    assert desk.queue.stats.abandoned == 1
    assert metrics.abandon_ratio._value.get() == 1.0


def test_with_no_agent_logged_in_a_campaign_that_hands_over_does_not_dial() -> None:
    desk = HandoffDesk(clock=Clock())
    assert desk.admission(rules()) == 0
    desk.agent_available("7")
    assert desk.admission(rules()) >= 1
    robot_only = HandoffDesk(clock=Clock(), handoffs_enabled=False)
    assert robot_only.admission(rules()) >= 1


# -- metrics and their hooks --


def test_outcomes_count_by_campaign_and_disposition() -> None:
    metrics = DialerMetrics()
    metrics.on_recorded(RecordedOutcome(3, 11, "busy", None))
    metrics.on_recorded(RecordedOutcome(3, 12, "answered", None, grade="A"))
    text = generate_latest(metrics.registry).decode()
    assert 'callcenter_calls_total{campaign="3",disposition="busy"} 1.0' in text
    assert 'callcenter_leads_qualified_total{campaign="3",grade="A"} 1.0' in text


class SlowTranscriber:
    def transcribe(self, utterance: Utterance) -> Transcript:
        time.sleep(0.05)
        return Transcript("hello", 0.9, "en")


def test_the_recognizer_pool_reports_each_decode_latency() -> None:
    pool = InferencePool(SlowTranscriber(), workers=1)  # type: ignore[arg-type]
    seen: list[tuple[bool, float]] = []
    pool.on_latency = lambda final, seconds: seen.append((final, seconds))
    try:
        job = pool.submit(Utterance(np.zeros(1600, dtype=np.float32), 0.0, 0.1), Priority.FINAL)
        job.future.result(timeout=5)
        time.sleep(0.05)
    finally:
        pool.close()
    assert len(seen) == 1 and seen[0][0] is True and seen[0][1] >= 0.05


def test_an_uncached_line_reports_its_first_frame_and_a_cached_one_does_not(tmp_path: Any) -> None:
    class Inner:
        name = "fake"

        def stream(self, text: str, sample_rate_hz: int) -> TtsStream:
            info = RenderInfo(engine="fake", voice="v")
            return TtsStream(MemorySource(np.zeros(800, dtype=np.int16)), sample_rate_hz, info)

    engine = CachedEngine(Inner(), PhraseCache(None), "v1")  # type: ignore[arg-type]
    seen: list[float] = []
    engine.on_first_frame = seen.append

    async def play(text: str) -> int:
        return len([f async for f in engine.stream(text, 8000)])

    assert asyncio.run(play("hello")) > 0
    assert len(seen) == 1 and seen[0] >= 0
    asyncio.run(engine.prerender(["cached line"], 8000))
    asyncio.run(play("cached line"))
    assert len(seen) == 1


# -- one process with the console --


def test_a_served_call_is_on_the_board_with_its_campaign_and_lead() -> None:
    from dialer.serve import call_meta

    request = CallRequest(
        "a9", 9, 4, 2, "+4930123456", "insurance-zh", meta={"campaign_name": "spring", "team_id": 3,
                                                            "industry": "insurance", "language": "zh",
                                                            "lead_name": "Wang Li"},
    )  # fmt: skip
    meta = call_meta(request)
    assert (meta.call_id, meta.campaign_id, meta.attempt_id, meta.lead_id) == ("a9", 2, 9, 4)
    assert (meta.campaign_name, meta.team_id, meta.language, meta.script_id) == ("spring", 3, "zh", "insurance-zh")
    assert (meta.lead_phone, meta.lead_name, meta.industry) == ("+4930123456", "Wang Li", "insurance")


def test_the_service_shows_an_answered_call_on_the_board_and_to_the_desk() -> None:
    import contextlib

    from dialer.service import DialerService, ServiceOptions

    service = DialerService(ServiceOptions(dial_plan=DialPlan("sip:{digits}@x")))
    shown: list[str] = []

    @contextlib.contextmanager
    def board(request: CallRequest, session: Any) -> Any:
        shown.append(request.call_id)
        yield
        shown.remove(request.call_id)

    service.live = board
    service.desk.dialing(request("a5"))
    with service._serving(request("a5"), FakeSession(FakeEvents())):
        assert shown == ["a5"] and active(service.metrics)["robot"] == 1
    assert shown == []
