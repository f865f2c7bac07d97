"""Phrase cache per voice profile: fixed lines pre-rendered from every source, keyed by agent and engine."""

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from tts.engine import ClauseEngine
from tts.enroll import enroll
from tts.phrase_cache import PhraseCache
from tts.profile_cache import CachedProfileEngine, fixed_lines, prerender_profile
from tts.voice_profile import VoiceProfile, VoiceProfileEngine

from .test_tts_enroll import speechlike, write

pytestmark = pytest.mark.unit

RECORDED = "One moment, please."
UNRECORDED = "Thank you, goodbye."


class CountingSynth:
    native_rate_hz = 8000
    voice = "fake"

    def __init__(self, engine: str) -> None:
        self.engine = engine
        self.calls = 0

    def synthesize(self, clause: str) -> np.ndarray:
        self.calls += 1
        return np.full(800, 0.1, dtype=np.float32)


class Factory:
    """An engine factory that counts what it built: a stock voice, or a clone when `clone` is set."""

    def __init__(self, clone: bool = False) -> None:
        self.clone = clone
        self.synths: list[CountingSynth] = []

    def __call__(self, profile: VoiceProfile, texts: Sequence[str]) -> VoiceProfileEngine:
        synth = CountingSynth("coqui" if self.clone else "piper")
        self.synths.append(synth)
        if self.clone:
            return VoiceProfileEngine(profile, clone=ClauseEngine(synth))
        return VoiceProfileEngine(profile, stock=ClauseEngine(synth))


@pytest.fixture
def profile(tmp_path: Path) -> VoiceProfile:
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    for key in ["one-moment-please", "see-you", "monday", "tuesday"]:
        write(wavs / f"{key}.wav", speechlike())
    (wavs / "script.yaml").write_text(
        f'lines:\n  hold: "{RECORDED}"\n  bye: "{UNRECORDED}"\n  later: "See you {{day}}."\n', encoding="utf-8"
    )
    return VoiceProfile.load(enroll("a1", wavs, tmp_path / "voices", require_all=False))


def test_fixed_lines_are_the_lines_without_slots(profile: VoiceProfile) -> None:
    assert fixed_lines(profile) == [RECORDED, UNRECORDED]


def test_prerender_is_idempotent_and_a_fixed_line_then_replays_from_cache(
    profile: VoiceProfile, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    cache_dir = tmp_path / "cache"
    factory = Factory()
    first = asyncio.run(prerender_profile(profile, factory, cache_dir))
    assert (first.rendered, first.cached) == (2, 0)
    assert factory.synths[0].calls == 2  # the unrecorded line's two clauses; the recorded one is spliced
    second = asyncio.run(prerender_profile(profile, factory, cache_dir))
    assert (second.rendered, second.cached) == (2 - 2, 2)
    assert factory.synths[1].calls == 0  # a second run renders nothing
    assert second.to_dict().keys() == {"rendered", "cached", "seconds"}

    async def campaign() -> None:
        engine = CachedProfileEngine(factory(profile, []), PhraseCache(cache_dir))
        assert await engine.prerender(fixed_lines(profile), 8000) == 0  # loaded from disk
        for text, source in ((UNRECORDED, "stock"), (RECORDED, "recording")):
            start = time.perf_counter()
            stream = engine.stream(text, 8000)
            await stream.__anext__()
            record_property(f"first_frame_ms_{source}", round((time.perf_counter() - start) * 1000, 3))
            assert stream.info.cached and stream.info.source == source
            await stream.aclose()
        assert not engine.stream("See you Monday.", 8000).info.cached  # a slot line is not pre-rendered
        assert factory.synths[2].calls == 0

    asyncio.run(asyncio.wait_for(campaign(), 10.0))


def test_the_key_names_the_agent_and_the_engine_that_speaks(profile: VoiceProfile, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    asyncio.run(prerender_profile(profile, Factory(), cache_dir))
    cloned = CachedProfileEngine(Factory(clone=True)(profile, []), PhraseCache(cache_dir))
    assert asyncio.run(cloned.prerender([RECORDED, UNRECORDED], 8000)) == 1  # the clone renders its own line
    assert cloned.engine_for(RECORDED).startswith("recordings@")
    assert cloned.engine_for(UNRECORDED) == "coqui:fake"
    other = VoiceProfile.load(profile.directory)
    other.agent = "a2"
    stock = Factory()
    assert asyncio.run(CachedProfileEngine(stock(other, []), PhraseCache(cache_dir)).prerender([RECORDED], 8000)) == 1


def test_prerender_closes_the_engines_it_built(profile: VoiceProfile, tmp_path: Path) -> None:
    closed: list[str] = []

    class ClosingEngine(ClauseEngine):
        def close(self) -> None:
            closed.append(self.name)
            super().close()

    def factory(profile: VoiceProfile, texts: Sequence[str]) -> VoiceProfileEngine:
        return VoiceProfileEngine(profile, stock=ClosingEngine(CountingSynth("piper")))

    asyncio.run(prerender_profile(profile, factory, tmp_path / "cache", [UNRECORDED], rates_hz=(8000, 16000)))
    assert closed == ["piper:fake"]
