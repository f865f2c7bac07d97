"""The main-process Call against a fake worker link: playout accounting, receive queue, recording, ending."""

import asyncio
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from telephony import AudioFrame, CallEnded, Disposition, ipc
from telephony.call import Call

pytestmark = pytest.mark.unit
RATE = 8000


class FakeLink:
    def __init__(self) -> None:
        self.audio: list[bytes] = []
        self.control: list[dict[str, Any]] = []

    def send_audio(self, msg: bytes) -> None:
        self.audio.append(msg)

    def send_control(self, obj: dict[str, Any]) -> None:
        self.control.append(obj)


def make_call(link: FakeLink, **kw: Any) -> Call:
    kw.setdefault("recv_queue_frames", 4)
    kw.setdefault("high_water_frames", 3)
    return Call(1, link, RATE, **kw)


def tone_frame(value: int) -> AudioFrame:
    return AudioFrame.from_samples(np.full(160, value, dtype=np.int16), RATE)


def tick(seq: int, *, pcm: bytes = b"", played: int = 0, depth: int = 0, received: int = 0) -> ipc.RxTick:
    return ipc.RxTick(1, seq, 100.0 + seq * 0.02, played, depth, received, pcm)


def ended_event(**kw: Any) -> dict[str, Any]:
    ev = {"ev": "ended", "call_id": 1, "sip_status": 200, "reason": "", "answered": True,
          "local_cause": None, "remote_responded": True, "duration_s": 1.5, "setup_s": 0.2}  # fmt: skip
    ev.update(kw)
    return ev


def test_send_numbers_frames_and_counts_what_the_worker_has_not_played() -> None:
    async def scenario() -> None:
        link = FakeLink()
        call = make_call(link)
        for v in (1, 2, 3):
            call.send(tone_frame(v))
        assert [ipc.decode_tx(m)[1] for m in link.audio] == [1, 2, 3]
        assert call.buffered_frames == 3
        call.on_tick(tick(1, played=1, depth=2, received=3))
        assert call.buffered_frames == 2
        with pytest.raises(ValueError, match="expected 8000 Hz"):
            call.send(AudioFrame.silence(16000))

    asyncio.run(scenario())


def test_wait_writable_blocks_until_the_worker_reports_room() -> None:
    async def scenario() -> None:
        call = make_call(FakeLink())
        for v in range(3):
            call.send(tone_frame(v))
        waiter = asyncio.create_task(call.wait_writable())
        await asyncio.sleep(0)
        assert not waiter.done()
        call.on_tick(tick(1, played=1, depth=2, received=3))
        await asyncio.wait_for(waiter, 1.0)

    asyncio.run(scenario())


def test_flush_drops_everything_queued_at_once() -> None:
    async def scenario() -> None:
        link = FakeLink()
        call = make_call(link)
        for v in range(5):
            call.send(tone_frame(v))
        assert call.flush_playout() == 5
        assert call.buffered_frames == 0
        assert link.control[-1] == {"op": "flush", "call_id": 1}

    asyncio.run(scenario())


def test_receive_queue_is_bounded_and_drops_the_oldest() -> None:
    async def scenario() -> None:
        call = make_call(FakeLink(), recv_queue_frames=4)
        for seq in range(1, 7):
            call.on_tick(tick(seq, pcm=tone_frame(seq).pcm))
        assert call.rx_dropped == 2
        got = [await call.recv() for _ in range(4)]
        assert [f.seq for f in got] == [3, 4, 5, 6]
        assert got[0].samples[0] == 3

    asyncio.run(scenario())


def test_a_tick_without_audio_is_delivered_as_silence() -> None:
    async def scenario() -> None:
        call = make_call(FakeLink())
        call.on_tick(tick(1))
        frame = await call.recv()
        assert frame.pcm == bytes(320)

    asyncio.run(scenario())


def test_end_wakes_receivers_after_draining_and_reports_the_disposition() -> None:
    async def scenario() -> None:
        call = make_call(FakeLink())
        call.on_event({"ev": "state", "call_id": 1, "state": "answered", "sip_status": 200})
        assert await call.wait_answered()
        call.on_tick(tick(1, pcm=tone_frame(9).pcm))
        receiver = asyncio.create_task(call.recv())
        await asyncio.sleep(0)
        call.on_event(ended_event())
        assert (await receiver).seq == 1
        with pytest.raises(CallEnded):
            await call.recv()
        result = await call.wait_ended(1.0)
        assert result.disposition == Disposition.ANSWERED
        assert result.hangup_by == "remote"
        assert [e.kind async for e in call.events()] == ["answered", "ended"]
        with pytest.raises(CallEnded):
            call.send(tone_frame(1))

    asyncio.run(scenario())


def test_unanswered_end_resolves_wait_answered_false() -> None:
    async def scenario() -> None:
        call = make_call(FakeLink())
        waiter = asyncio.create_task(call.wait_answered())
        call.on_event(ended_event(answered=False, sip_status=486, duration_s=0.0))
        assert await waiter is False
        assert (await call.wait_ended(1.0)).disposition == Disposition.BUSY

    asyncio.run(scenario())


def test_recording_puts_the_customer_left_and_what_was_played_right(tmp_path: Path) -> None:
    async def scenario() -> None:
        call = make_call(FakeLink(), record_path=tmp_path / "rec.wav")
        call.send(tone_frame(111))  # seq 1
        call.send(tone_frame(222))  # seq 2
        call.on_tick(tick(1, pcm=tone_frame(-5).pcm, played=1, depth=1, received=2))
        call.on_tick(tick(2, pcm=b"", played=0, depth=1, received=2))  # nothing played this tick
        call.on_tick(tick(3, pcm=tone_frame(-7).pcm, played=2, depth=0, received=2))
        call.on_event(ended_event())

    asyncio.run(scenario())
    with wave.open(str(tmp_path / "rec.wav")) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, RATE)
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    assert len(x) == 3 * 160
    assert list(x[::160, 0]) == [-5, 0, -7]
    assert list(x[::160, 1]) == [111, 0, 222]


def test_dtmf_digits_are_validated() -> None:
    async def scenario() -> None:
        link = FakeLink()
        call = make_call(link)
        call.send_dtmf("12#*a")
        assert link.control[-1] == {"op": "dtmf", "call_id": 1, "digits": "12#*A"}
        with pytest.raises(ValueError, match="DTMF"):
            call.send_dtmf("12x")

    asyncio.run(scenario())
