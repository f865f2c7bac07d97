import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tts.engine import ClauseEngine, RenderInfo
from tts.phrase_cache import CachedEngine, PhraseCache, cache_key

pytestmark = pytest.mark.unit


class CountingSynth:
    engine = "fake"
    voice = "v1"
    native_rate_hz = 8000

    def __init__(self) -> None:
        self.calls = 0

    def synthesize(self, clause: str) -> np.ndarray:
        self.calls += 1
        return np.full(len(clause) * 80, 0.25, dtype=np.float32)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 10.0))


def test_prerendered_lines_replay_the_same_frames_without_synthesis(tmp_path: Path) -> None:
    async def scenario() -> None:
        synth = CountingSynth()
        engine = CachedEngine(ClauseEngine(synth), PhraseCache(tmp_path), version="1")
        live = [f.pcm async for f in engine.stream("Hello, Sam.", 8000)]
        assert await engine.prerender(["Hello, Sam.", "Hello, Sam."], 8000) == 1
        calls = synth.calls
        stream = engine.stream("Hello,   Sam.", 8000)  # whitespace does not change the key
        replay = [f async for f in stream]
        assert synth.calls == calls
        assert [f.pcm for f in replay] == live
        assert [f.seq for f in replay] == list(range(1, len(live) + 1))
        assert stream.info == RenderInfo("fake", "v1", "stock", cached=True)
        assert not engine.stream("Hello, Sam.", 16000).info.cached  # other rate: another entry

    run(scenario)


def test_cache_survives_a_restart_and_never_names_files_after_the_text(tmp_path: Path) -> None:
    async def scenario() -> None:
        first = CachedEngine(ClauseEngine(CountingSynth()), PhraseCache(tmp_path), version="1")
        await first.prerender(["Your appointment is confirmed."], 8000)
        synth = CountingSynth()
        again = CachedEngine(ClauseEngine(synth), PhraseCache(tmp_path), version="1")
        probe = again.stream("Your appointment is confirmed.", 8000)
        assert not probe.info.cached  # on disk, but not loaded yet
        await probe.aclose()
        calls = synth.calls
        assert await again.prerender(["Your appointment is confirmed."], 8000) == 0  # loaded from disk
        frames = [f async for f in again.stream("Your appointment is confirmed.", 8000)]
        assert synth.calls == calls and len(frames) == 15  # 30 chars x 10 ms = 300 ms
        newer = CachedEngine(ClauseEngine(synth), PhraseCache(tmp_path), version="2")
        assert not newer.stream("Your appointment is confirmed.", 8000).info.cached

    run(scenario)
    assert all("appointment" not in p.name for p in tmp_path.iterdir())


def test_cancel_stops_a_replay_at_once() -> None:
    async def scenario() -> None:
        engine = CachedEngine(ClauseEngine(CountingSynth()), PhraseCache(), version="1")
        await engine.prerender(["A fairly long fixed line."], 8000)
        stream = engine.stream("A fairly long fixed line.", 8000)
        await stream.__anext__()
        stream.cancel()
        assert [f async for f in stream] == []
        await stream.aclose()

    run(scenario)


def test_cache_key_depends_on_every_part() -> None:
    base = cache_key("piper:joe", "1", 8000, "Hi.")
    others = {cache_key("espeak", "1", 8000, "Hi."), cache_key("piper:joe", "2", 8000, "Hi."),
              cache_key("piper:joe", "1", 16000, "Hi."), cache_key("piper:joe", "1", 8000, "Hi!")}  # fmt: skip
    assert base not in others and len(others) == 4
