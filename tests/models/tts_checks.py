"""Checks every speech engine's model test shares: drive a stream, judge its frames, cancel it mid-utterance."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import numpy as np
import numpy.typing as npt

from telephony.frames import AudioFrame
from tts.engine import TtsEngine, TtsStream


def run(scenario: Callable[[], Coroutine[Any, Any, Any]], timeout_s: float = 60.0) -> Any:
    return asyncio.run(asyncio.wait_for(scenario(), timeout_s))


async def timed_drain(stream: TtsStream) -> tuple[list[AudioFrame], float]:
    """Every frame of the stream, and how long the first one took."""
    start = time.monotonic()
    first_s = -1.0
    frames = []
    async for frame in stream:
        if first_s < 0:
            first_s = time.monotonic() - start
        frames.append(frame)
    return frames, first_s


def assert_whole_frames(frames: list[AudioFrame], rate_hz: int) -> None:
    assert {len(f.pcm) for f in frames} == {rate_hz // 25}  # 320 B at 8 kHz, 640 B at 16 kHz
    assert [f.seq for f in frames] == list(range(1, len(frames) + 1))


def pcm_of(frames: list[AudioFrame]) -> npt.NDArray[np.float64]:
    return np.concatenate([f.samples for f in frames]).astype(np.float64) / 32768


def voiced_share(frames: list[AudioFrame]) -> float:
    """Share of frames louder than -40 dBFS: mostly speech (or noise), not silence, when above one half."""
    rms_per_frame = np.sqrt(np.mean(pcm_of(frames).reshape(len(frames), -1) ** 2, axis=1))
    return float(np.mean(rms_per_frame > 0.01))


def assert_cancel_stops_the_stream(engine: TtsEngine, text: str, close_timeout_s: float, timeout_s: float) -> None:
    """After 10 frames, cancel: no further frame, and aclose returns once the worker is done."""

    async def scenario() -> None:
        stream = engine.stream(text, 8000)
        for _ in range(10):
            await stream.__anext__()
        stream.cancel()
        try:
            await stream.__anext__()
        except StopAsyncIteration:
            pass
        else:
            raise AssertionError("expected no frame after cancel(), got one")
        await asyncio.wait_for(stream.aclose(), close_timeout_s)
        assert stream.frames_out == 10

    run(scenario, timeout_s)
