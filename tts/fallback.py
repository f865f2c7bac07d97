"""A chain of engines (e.g. Piper, then espeak-ng): the next one speaks when one fails before its first frame.

Two points of failure are covered, and only these two:
- loading: `FallbackEngine.load([(name, loader), ...])` calls each loader (blocking: use `asyncio.to_thread`)
  and keeps the engines that loaded; `skipped` says which did not, and why.
- rendering, before the first frame: an engine whose `stream()` raises, or whose stream raises before it has
  yielded a frame, is closed and the same text goes to the next engine.
Once a frame has been yielded an error propagates: switching voices mid-utterance would be worse than
stopping. `stream.info` names the engine that spoke (it is updated when the chain moves on).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from telephony.frames import SUPPORTED_RATES_HZ
from tts.audio import IntPcm
from tts.engine import TtsEngine, TtsStream

log = logging.getLogger(__name__)


class _FallbackSource:
    """A `PcmSource` that pulls frames from the current engine's stream and moves on before the first one."""

    def __init__(self, engines: Sequence[TtsEngine], text: str, sample_rate_hz: int) -> None:
        self._engines = list(engines)
        self._text = text  # kept only to hand to the next engine; never logged
        self._rate_hz = sample_rate_hz
        self._index = -1
        self._started = False  # a frame has been yielded: no more switching
        self._cancelled = False
        self.outer: TtsStream | None = None  # set by FallbackEngine.stream, to report who speaks
        self.failures: list[tuple[str, str]] = []  # (engine name, error) for each engine passed over
        self.current = self._open_next(None)

    def _open_next(self, error: Exception | None) -> TtsStream:
        """The next engine's stream; raises the last error when no engine is left."""
        while self._index + 1 < len(self._engines):
            self._index += 1
            engine = self._engines[self._index]
            try:
                stream = engine.stream(self._text, self._rate_hz)
            except Exception as exc:  # any engine failure before audio moves on to the next engine
                self._note_failure(engine.name, exc)
                error = exc
                continue
            if self.outer is not None:
                self.outer.info = stream.info
            return stream
        tried = len(self._engines)
        raise RuntimeError(f"expected one of {tried} engines to speak, all failed: {self.failures}") from error

    def _note_failure(self, name: str, exc: Exception) -> None:
        self.failures.append((name, f"{type(exc).__name__}: {exc}"))
        log.warning("tts engine failed before its first frame", extra={"engine": name, "error": type(exc).__name__})

    async def next_chunk(self) -> IntPcm | None:
        while True:
            try:
                frame = await self.current.__anext__()
            except StopAsyncIteration:
                return None
            except Exception as exc:
                if self._started or self._cancelled:
                    raise
                self._note_failure(self._engines[self._index].name, exc)
                await self.current.aclose()
                self.current = self._open_next(exc)
                continue
            self._started = True
            return frame.samples

    def cancel(self) -> None:
        self._cancelled = True
        self.current.cancel()

    async def aclose(self) -> None:
        self.cancel()
        await self.current.aclose()


class FallbackEngine:
    """A `TtsEngine` over `engines` in order of preference (at least one)."""

    def __init__(self, engines: Sequence[TtsEngine], skipped: Sequence[tuple[str, str]] = ()) -> None:
        if not engines:
            raise ValueError(f"expected at least one engine, got none (skipped: {list(skipped)})")
        self.engines = list(engines)
        self.skipped = list(skipped)  # (name, error) of engines that failed to load

    @classmethod
    def load(cls, loaders: Sequence[tuple[str, Callable[[], TtsEngine]]]) -> FallbackEngine:
        """Blocking: load each engine, keeping those that load; raises when none does."""
        engines: list[TtsEngine] = []
        skipped: list[tuple[str, str]] = []
        for name, loader in loaders:
            try:
                engines.append(loader())
            except Exception as exc:  # a missing model or binary: the next engine speaks instead
                skipped.append((name, f"{type(exc).__name__}: {exc}"))
                log.warning("tts engine failed to load", extra={"engine": name, "error": type(exc).__name__})
        if not engines:
            raise RuntimeError(f"expected one of {len(loaders)} tts engines to load, none did: {skipped}")
        return cls(engines, skipped)

    @property
    def name(self) -> str:
        return "fallback(" + ",".join(engine.name for engine in self.engines) + ")"

    def stream(self, text: str, sample_rate_hz: int) -> TtsStream:
        if sample_rate_hz not in SUPPORTED_RATES_HZ:  # the same for every engine: not a reason to fall back
            raise ValueError(f"expected a sample rate in {SUPPORTED_RATES_HZ}, got {sample_rate_hz}")
        source = _FallbackSource(self.engines, text, sample_rate_hz)
        stream = TtsStream(source, sample_rate_hz, source.current.info)
        source.outer = stream
        return stream
