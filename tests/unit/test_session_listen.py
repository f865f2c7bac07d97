"""Listen-in fan-out: mixed audio to every listener, latest-only, and a stalled listener never holds the call."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from session.listen import ListenHub, mix
from telephony.frames import AudioFrame

pytestmark = pytest.mark.unit
RATE = 8000


def const(value: int, seq: int = 0) -> AudioFrame:
    return AudioFrame.from_samples(np.full(160, value, dtype=np.int16), RATE, seq)


def test_mix_sums_and_clips() -> None:
    mixed = mix(const(1000), const(-300), None)
    assert mixed is not None and int(mixed.samples[0]) == 700
    loud = mix(const(30000), const(10000))
    assert loud is not None and int(loud.samples[0]) == 32767
    assert mix(None, None) is None
    with pytest.raises(ValueError, match="one rate"):
        mix(const(1), AudioFrame.silence(16000))


def test_a_stalled_listener_does_not_block_the_producer_and_keeps_only_the_latest_frames() -> None:
    ticks = 150

    async def scenario() -> tuple[float, list[int], list[int], int]:
        hub = ListenHub(RATE, buffer_frames=5)
        stalled = hub.subscribe()  # never read: a browser tab that froze
        live = hub.subscribe(buffer_frames=ticks)
        got: list[int] = []

        async def read() -> None:
            async for frame in live:
                got.append(frame.seq)

        reader = asyncio.create_task(read())
        loop = asyncio.get_running_loop()
        start = loop.time()
        for seq in range(1, ticks + 1):  # the call's 20 ms ticks, sped up 10x
            hub.publish(const(seq, seq), const(1))
            await asyncio.sleep(0.002)
        elapsed = loop.time() - start
        hub.close()
        await asyncio.wait_for(reader, 1.0)
        latest = [frame.seq async for frame in stalled]
        return elapsed, got, latest, stalled.dropped

    elapsed, got, latest, dropped = asyncio.run(scenario())
    assert elapsed < 2.0, "the producer kept its pace"
    assert got == list(range(1, ticks + 1)), "a listener that keeps up hears every tick, in order"
    assert latest == list(range(ticks - 4, ticks + 1)) and dropped == ticks - 5


def test_listeners_hear_the_customer_and_the_outbound_audio_mixed() -> None:
    async def scenario() -> AudioFrame:
        hub = ListenHub(RATE)
        sub = hub.subscribe()
        hub.publish(const(1000), const(234))
        return await anext(sub)

    assert int(asyncio.run(scenario()).samples[0]) == 1234


def test_whisper_reaches_only_the_agents_mix_and_closing_ends_the_iteration() -> None:
    async def scenario() -> tuple[AudioFrame | None, AudioFrame | None, list[AudioFrame]]:
        hub = ListenHub(RATE)
        supervisor = hub.subscribe()
        before = hub.whisper_frame()
        for seq in (1, 2, 3):  # 60 ms: the whisper buffer's target depth
            supervisor.whisper(seq, const(500).pcm, RATE)
        after = hub.whisper_frame()
        hub.publish(const(1), None)  # what listeners get carries no whisper
        supervisor.close()
        rest = [f async for f in supervisor]
        return before, after, rest

    before, after, rest = asyncio.run(scenario())
    assert before is None
    assert after is not None and int(after.samples[-1]) == 500
    assert [int(f.samples[0]) for f in rest] == [1]  # the listeners' mix carries no whisper; then the end
