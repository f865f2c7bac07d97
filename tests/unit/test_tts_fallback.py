"""FallbackEngine with fake synthesizers: the next engine speaks only when one fails before its first frame."""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import numpy as np
import pytest

from tts.engine import ClauseEngine, TtsEngine, TtsStream
from tts.fallback import FallbackEngine

pytestmark = pytest.mark.unit


class FakeSynth:
    """Speaks 100 ms per clause; raises on the clause numbers in `fail_on` (1-based)."""

    native_rate_hz = 8000
    voice = "fake"

    def __init__(self, engine: str, fail_on: tuple[int, ...] = ()) -> None:
        self.engine = engine
        self.fail_on = fail_on
        self.calls = 0

    def synthesize(self, clause: str) -> np.ndarray:
        self.calls += 1
        if self.calls in self.fail_on:
            raise RuntimeError(f"{self.engine} broke on clause {self.calls}")
        return np.full(800, 0.2, dtype=np.float32)


class RefusingEngine:
    """An engine whose `stream()` itself raises (a voice that cannot say the text)."""

    name = "refusing"

    def stream(self, text: str, sample_rate_hz: int) -> TtsStream:
        raise LookupError("no voice for this text")


def run(scenario: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(scenario(), 10.0))


async def drain(stream: TtsStream) -> list[bytes]:
    return [frame.pcm async for frame in stream]


def test_the_next_engine_speaks_when_the_first_fails_before_audio() -> None:
    piper, espeak = FakeSynth("piper", fail_on=(1,)), FakeSynth("espeak-ng")
    engine = FallbackEngine([ClauseEngine(piper), ClauseEngine(espeak)])

    async def scenario() -> tuple[TtsStream, list[bytes], list[bytes]]:
        stream = engine.stream("Hello there.", 8000)
        assert stream.info.engine == "piper"  # nothing has spoken yet
        frames = await drain(stream)
        alone = await drain(ClauseEngine(FakeSynth("espeak-ng")).stream("Hello there.", 8000))
        return stream, frames, alone

    stream, frames, alone = run(scenario)
    assert stream.info.engine == "espeak-ng"  # reports which engine spoke
    assert frames == alone and len(frames) == 5  # 100 ms, numbered and framed as if espeak-ng spoke alone
    assert (piper.calls, espeak.calls) == (1, 1)


def test_an_error_after_the_first_frame_propagates_and_never_switches_voice() -> None:
    piper, espeak = FakeSynth("piper", fail_on=(2,)), FakeSynth("espeak-ng")
    engine = FallbackEngine([ClauseEngine(piper), ClauseEngine(espeak)])

    async def scenario() -> int:
        stream = engine.stream("First clause. Second clause.", 8000)
        got = 0
        with pytest.raises(RuntimeError, match="piper broke on clause 2"):
            async for _ in stream:
                got += 1
        await stream.aclose()
        return got

    assert run(scenario) == 5  # the first clause played, then the error
    assert espeak.calls == 0


def test_an_engine_whose_stream_raises_is_passed_over() -> None:
    espeak = FakeSynth("espeak-ng")
    engine = FallbackEngine([RefusingEngine(), ClauseEngine(espeak)])
    stream = engine.stream("Hello.", 16000)
    frames = run(lambda: drain(stream))
    assert stream.info.engine == "espeak-ng" and len(frames) == 5


def test_when_every_engine_fails_the_error_names_each() -> None:
    engine = FallbackEngine([ClauseEngine(FakeSynth("piper", (1,))), ClauseEngine(FakeSynth("espeak-ng", (1,)))])
    with pytest.raises(RuntimeError, match=r"all failed: .*piper:fake.*piper broke.*espeak-ng:fake.*espeak-ng broke"):
        run(lambda: drain(engine.stream("Hello.", 8000)))


def test_load_keeps_the_engines_that_load() -> None:
    def missing_model() -> TtsEngine:
        raise FileNotFoundError("joe-medium.onnx")

    engine = FallbackEngine.load([("piper", missing_model), ("espeak-ng", lambda: ClauseEngine(FakeSynth("espeak")))])
    assert [e.name for e in engine.engines] == ["espeak:fake"]
    assert engine.skipped == [("piper", "FileNotFoundError: joe-medium.onnx")]
    with pytest.raises(RuntimeError, match="none did"):
        FallbackEngine.load([("piper", missing_model)])


def test_cancel_before_the_first_frame_ends_the_stream_without_falling_back() -> None:
    espeak = FakeSynth("espeak-ng")
    engine = FallbackEngine([ClauseEngine(FakeSynth("piper")), ClauseEngine(espeak)])

    async def scenario() -> list[bytes]:
        stream = engine.stream("Hello.", 8000)
        stream.cancel()
        frames = await drain(stream)
        await stream.aclose()
        return frames

    assert run(scenario) == [] and espeak.calls == 0


def test_a_bad_rate_is_not_a_reason_to_fall_back() -> None:
    with pytest.raises(ValueError, match="expected a sample rate"):
        FallbackEngine([RefusingEngine()]).stream("Hello.", 44100)


def test_the_stock_voice_falls_back_to_espeak_when_piper_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    import tts.espeak_engine
    import tts.say

    def broken_piper(profile: object, psola: bool) -> None:
        raise FileNotFoundError("piper voice model missing")

    sentinel = object()
    monkeypatch.setattr(tts.say, "_piper", broken_piper)
    monkeypatch.setattr(tts.espeak_engine, "load_espeak_engine", lambda: sentinel)
    engine = tts.say.stock_engine(object())  # type: ignore[arg-type]  # the profile is only passed to _piper
    assert isinstance(engine, tts.say.FallbackEngine)
    assert engine.engines == [sentinel]
    assert [name for name, _ in engine.skipped] == ["piper"]
