"""Phrase cache: fixed lines rendered once, replayed as frames with no synthesis delay.

The greeting must start the moment a call is answered, so every fixed script line is rendered before the
campaign starts. Entries are keyed by engine, engine version, line rate and text; on disk an entry is the
raw s16le PCM (`<key>.s16`) plus its `RenderInfo` (`<key>.json`), so a restart does not re-render.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from tts.audio import IntPcm
from tts.engine import MemorySource, RenderInfo, TtsEngine, TtsStream


def cache_key(engine: str, version: str, sample_rate_hz: int, text: str) -> str:
    """A stable file-name-safe key; the text is hashed, so it never appears in a file name."""
    raw = json.dumps([engine, version, sample_rate_hz, " ".join(text.split())], ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


class PhraseCache:
    """In memory, and on disk under `directory` when one is given."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._entries: dict[str, tuple[IntPcm, RenderInfo]] = {}
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def get_loaded(self, key: str) -> tuple[IntPcm, RenderInfo] | None:
        """Memory only: safe on the event loop."""
        return self._entries.get(key)

    def get(self, key: str) -> tuple[IntPcm, RenderInfo] | None:
        """Memory, then disk (reads a file: not for the event loop's hot path)."""
        entry = self._entries.get(key)
        if entry is None and self.directory is not None:
            entry = self._load(key)
            if entry is not None:
                self._entries[key] = entry
        return entry

    def put(self, key: str, pcm: IntPcm, info: RenderInfo) -> None:
        self._entries[key] = (pcm, info)
        if self.directory is not None:
            # Data first, then the sidecar: an entry without its .json is ignored, never half-read.
            (self.directory / f"{key}.s16").write_bytes(pcm.astype("<i2").tobytes())
            (self.directory / f"{key}.json").write_text(json.dumps(dataclasses.asdict(info)), encoding="utf-8")

    def _load(self, key: str) -> tuple[IntPcm, RenderInfo] | None:
        assert self.directory is not None
        meta, data = self.directory / f"{key}.json", self.directory / f"{key}.s16"
        if not (meta.exists() and data.exists()):
            return None
        info = RenderInfo(**json.loads(meta.read_text(encoding="utf-8")))
        return np.frombuffer(data.read_bytes(), dtype="<i2").astype(np.int16), info


class CachedEngine:
    """A `TtsEngine` that replays cached lines and passes everything else to `inner`."""

    def __init__(self, inner: TtsEngine, cache: PhraseCache, version: str) -> None:
        self.inner = inner
        self.cache = cache
        self.version = version  # change it when the model, voice or rendering changes
        self.on_first_frame: Callable[[float], None] | None = None  # uncached lines: request to first frame, s

    @property
    def name(self) -> str:
        return self.inner.name

    def _key(self, text: str, sample_rate_hz: int) -> str:
        return cache_key(self.inner.name, self.version, sample_rate_hz, text)

    def stream(self, text: str, sample_rate_hz: int) -> TtsStream:
        entry = self.cache.get_loaded(self._key(text, sample_rate_hz))
        if entry is None:
            stream = self.inner.stream(text, sample_rate_hz)
            stream.on_first_frame = self.on_first_frame
            return stream
        pcm, info = entry
        return TtsStream(MemorySource(pcm), sample_rate_hz, dataclasses.replace(info, cached=True))

    async def prerender(self, texts: Iterable[str], sample_rate_hz: int) -> int:
        """Before a campaign: load every line from disk or render it; returns how many were rendered.
        Only lines loaded or rendered this way replay in `stream()` (it never touches the disk)."""
        rendered = 0
        for text in texts:
            key = self._key(text, sample_rate_hz)
            if self.cache.get(key) is not None:
                continue
            stream = self.inner.stream(text, sample_rate_hz)
            frames = [frame.samples async for frame in stream]
            pcm = np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)
            self.cache.put(key, pcm, stream.info)
            rendered += 1
        return rendered
