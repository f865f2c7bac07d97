"""The streaming seam with a fake synthesizer: framing, look-ahead, cancellation, errors."""

import asyncio
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from telephony.frames import AudioFrame
from tts.engine import ClauseEngine, RenderInfo, TtsStream

pytestmark = pytest.mark.unit

SAMPLES_PER_CHAR = 80  # at 8 kHz, so rates match and no resampler is involved: 10 ms of audio per char


class FakeSynth:
    """Renders a clause as a constant level (its index + 1) for 10 ms per character, instantly or when the
    test opens the gate; records which clauses it started."""

    engine = "fake"
    voice = "v1"
    native_rate_hz = 8000

    def __init__(self, gated: bool = False, fail_on: str | None = None) -> None:
        self.started: list[str] = []
        self.gate = threading.Event()
        if not gated:
            self.gate.set()
        self.fail_on = fail_on
        self.finished = threading.Event()

    def synthesize(self, clause: str) -> np.ndarray:
        self.started.append(clause)
        self.gate.wait(5.0)
        if clause == self.fail_on:
            raise RuntimeError("model failed")
        level = len(self.started) / 100
        self.finished.set()
        return np.full(len(clause) * SAMPLES_PER_CHAR, level, dtype=np.float32)


def run(scenario: Callable[[], object]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 10.0))  # type: ignore[arg-type]


async def drain(stream: TtsStream) -> list[AudioFrame]:
    return [frame async for frame in stream]


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


@pytest.mark.parametrize(("rate_hz", "frame_bytes"), [(8000, 320), (16000, 640)])
def test_stream_yields_numbered_20ms_frames_and_pads_the_last(rate_hz: int, frame_bytes: int) -> None:
    async def scenario() -> None:
        engine = ClauseEngine(FakeSynth())
        stream = engine.stream("Hi, this is Sam.", rate_hz)  # clauses of 3 and 12 chars: 150 ms at 8 kHz
        frames = await drain(stream)
        engine.close()
        total_samples = 15 * SAMPLES_PER_CHAR * rate_hz // 8000
        assert len(frames) == -(-total_samples // (frame_bytes // 2))
        assert [f.seq for f in frames] == list(range(1, len(frames) + 1))
        assert {len(f.pcm) for f in frames} == {frame_bytes}
        assert {f.sample_rate_hz for f in frames} == {rate_hz}
        tail = frames[-1].samples
        assert tail[0] != 0 and tail[-1] == 0  # speech, then padding
        assert stream.info == RenderInfo(engine="fake", voice="v1", source="stock", cached=False)

    run(scenario)


def test_clauses_play_in_order_without_gaps_at_8khz() -> None:
    async def scenario() -> None:
        engine = ClauseEngine(FakeSynth())
        pcm = np.concatenate([f.samples for f in await drain(engine.stream("Hi, there, you.", 8000))])
        engine.close()
        level1, level2, level3 = (round(32767 * k / 100) for k in (1, 2, 3))
        expected = [level1] * 240 + [level2] * 480 + [level3] * 320
        assert pcm[:1040].tolist() == expected and not pcm[1040:].any()

    run(scenario)


def test_empty_text_yields_no_frames() -> None:
    async def scenario() -> None:
        engine = ClauseEngine(FakeSynth())
        assert await drain(engine.stream(" ... ", 8000)) == []
        engine.close()

    run(scenario)


def test_look_ahead_is_one_clause() -> None:
    async def scenario() -> None:
        synth = FakeSynth()
        engine = ClauseEngine(synth, workers=2)
        stream = engine.stream("Aaa bbbbb, Ccc ddddd, Eee fffff, Ggg hhhhh.", 8000)  # 10 chars: 5 frames each
        await stream.__anext__()
        await wait_until(lambda: len(synth.started) == 2)
        await asyncio.sleep(0.1)
        assert len(synth.started) == 2  # clause 2 renders while clause 1 plays; clause 3 waits
        for _ in range(4):  # frames 2-5: the rest of clause 1
            await stream.__anext__()
        await asyncio.sleep(0.1)
        assert len(synth.started) == 2
        await stream.__anext__()  # first frame of clause 2: now clause 3 may render
        await wait_until(lambda: len(synth.started) == 3)
        await stream.aclose()
        engine.close()

    run(scenario)


def test_cancel_stops_within_one_frame_and_renders_nothing_more() -> None:
    async def scenario() -> None:
        synth = FakeSynth()
        engine = ClauseEngine(synth)
        stream = engine.stream("A long first clause here, and a second one, and a third.", 8000)
        for _ in range(3):
            await stream.__anext__()
        stream.cancel()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        assert stream.frames_out == 3 and stream.cancelled
        await stream.aclose()
        started = len(synth.started)
        await asyncio.sleep(0.1)
        assert started <= 2 and len(synth.started) == started
        engine.close()

    run(scenario)


def test_cancel_wakes_a_consumer_waiting_on_a_slow_clause_and_aclose_waits_for_the_worker() -> None:
    async def scenario() -> None:
        synth = FakeSynth(gated=True)
        engine = ClauseEngine(synth)
        stream = engine.stream("Slow clause.", 8000)
        waiter = asyncio.create_task(stream.__anext__())
        await wait_until(lambda: len(synth.started) == 1)
        await asyncio.sleep(0.01)  # let the consumer park inside __anext__, waiting on the clause
        stream.cancel()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(waiter, 0.05)  # the model is still busy; the consumer is not
        closing = asyncio.create_task(stream.aclose())
        await asyncio.sleep(0.05)
        assert not closing.done()  # a worker still renders for this stream
        synth.gate.set()
        await asyncio.wait_for(closing, 1.0)
        assert synth.finished.is_set()
        engine.close()

    run(scenario)


def test_a_model_error_reaches_the_consumer() -> None:
    async def scenario() -> None:
        engine = ClauseEngine(FakeSynth(fail_on="boom."))
        stream = engine.stream("Fine, boom.", 8000)
        with pytest.raises(RuntimeError, match="model failed"):
            await drain(stream)
        engine.close()

    run(scenario)


def test_stream_rejects_an_unsupported_rate() -> None:
    async def scenario() -> None:
        engine = ClauseEngine(FakeSynth())
        with pytest.raises(ValueError, match="sample rate"):
            engine.stream("Hi.", 11025)
        engine.close()

    run(scenario)


def test_closing_the_engine_under_a_waiting_stream_raises_instead_of_hanging() -> None:
    async def scenario() -> None:
        synth = FakeSynth(gated=True)
        engine = ClauseEngine(synth, workers=1)
        busy = engine.stream("Keeps the only worker busy.", 8000)
        queued = engine.stream("Never starts.", 8000)
        await wait_until(lambda: len(synth.started) == 1)
        waiter = asyncio.create_task(queued.__anext__())
        await asyncio.sleep(0.01)
        engine.close()
        with pytest.raises(RuntimeError, match="closed"):
            await asyncio.wait_for(waiter, 1.0)
        synth.gate.set()
        await busy.aclose()

    run(scenario)
