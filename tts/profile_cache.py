"""Phrase cache per voice profile: every fixed script line rendered before a campaign, whatever its source.

`CachedProfileEngine` puts a `PhraseCache` in front of a `VoiceProfileEngine`. Its key names the agent,
the engine that would speak the line (`recordings@<manifest hash>`, the clone's or the stock voice's
name), the cache version, the line rate and the text, so re-enrolling, configuring a clone or changing
the stock voice never replays a stale rendering. Recorded lines are cached too: a replay needs no WAV
reads and no splicing.

`prerender_profile(...)` is what `callcenter voice prerender` runs; a second run renders nothing. At
campaign start, `await engine.prerender(lines, rate)` on a `CachedProfileEngine` over the same folder loads
the entries into memory (rendering only what is missing), after which `stream()` replays them.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tts.phrase_cache import CachedEngine, PhraseCache, cache_key
from tts.voice_profile import MANIFEST, VoiceProfile, VoiceProfileEngine

CACHE_VERSION = "1"  # bump when rendering changes in a way no engine name shows
CACHE_DIR = "phrase-cache"  # under the profile folder: re-enrolling replaces the folder, and the cache with it

EngineFactory = Callable[[VoiceProfile, Sequence[str]], VoiceProfileEngine]


def fixed_lines(profile: VoiceProfile) -> list[str]:
    """The script lines without slots: the ones whose text is known before the call."""
    return [line.text for line in profile.script.lines if not line.slots]


def default_cache_dir(profile: VoiceProfile) -> Path:
    return profile.directory / CACHE_DIR


class CachedProfileEngine(CachedEngine):
    """A `CachedEngine` whose key says which agent and which of the profile's engines renders the text."""

    def __init__(self, inner: VoiceProfileEngine, cache: PhraseCache, version: str = CACHE_VERSION) -> None:
        super().__init__(inner, cache, version)
        self.profile_engine = inner
        manifest = inner.profile.directory / MANIFEST
        self._recordings_id = "recordings@" + hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]

    def engine_for(self, text: str) -> str:
        """The name of the engine that would speak `text` (pure: plans recordings, renders nothing)."""
        source, _ = self.profile_engine.select(text)
        inner = {"recording": None, "clone": self.profile_engine.clone, "stock": self.profile_engine.stock}[source]
        return self._recordings_id if inner is None else inner.name

    def _key(self, text: str, sample_rate_hz: int) -> str:
        voice = self.profile_engine.profile.agent
        return cache_key(f"{voice}|{self.engine_for(text)}", self.version, sample_rate_hz, text)


@dataclass(frozen=True)
class PrerenderReport:
    rendered: int  # lines synthesized (or spliced) and written to the cache by this run
    cached: int  # lines already on disk
    seconds: float

    def to_dict(self) -> dict[str, float | int]:
        return {"rendered": self.rendered, "cached": self.cached, "seconds": round(self.seconds, 3)}


async def prerender_profile(
    profile: VoiceProfile,
    engine_factory: EngineFactory,
    cache_dir: Path | None = None,
    lines: Sequence[str] | None = None,
    *,
    rates_hz: Sequence[int] = (8000,),
    version: str = CACHE_VERSION,
) -> PrerenderReport:
    """Render every fixed line (default: the script's lines without slots) into the on-disk cache.
    `engine_factory(profile, lines)` builds the profile's engine (blocking: it may load models, so it runs
    on a thread); an engine it returns with a `close()` is closed at the end."""
    start = time.perf_counter()
    texts = list(dict.fromkeys(fixed_lines(profile) if lines is None else lines))
    engine = await asyncio.to_thread(engine_factory, profile, texts)
    try:
        cached = CachedProfileEngine(engine, PhraseCache(cache_dir or default_cache_dir(profile)), version)
        rendered = 0
        for rate_hz in rates_hz:
            rendered += await cached.prerender(texts, rate_hz)
    finally:
        close_engines(engine)
    return PrerenderReport(rendered, len(texts) * len(rates_hz) - rendered, time.perf_counter() - start)


def close_engines(engine: VoiceProfileEngine) -> None:
    """Stop the clone's and the stock voice's workers (and the coqui server) where they have any."""
    for inner in (engine.clone, engine.stock):
        close = getattr(inner, "close", None)
        if callable(close):
            close()
