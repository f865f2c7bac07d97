"""The speech-synthesis seam: text in, 20 ms `AudioFrame`s at the line rate out, cancellable per frame.

Two layers:
- `TtsEngine.stream(text, sample_rate_hz) -> TtsStream` is what the dialogue uses. A `TtsStream` is an
  async iterator of frames with a sync `cancel()` (barge-in, takeover: no frame is yielded after it) and
  `aclose()` (waits until no worker still renders for it). `stream.info` says which engine and voice
  source rendered the utterance.
- `Synthesizer` is what a model adapter implements: a blocking `synthesize(clause)` returning float PCM at
  the model's native rate. `ClauseEngine` runs it on its own worker threads (never on the event loop, never
  in a SIP worker), resamples, frames and applies the look-ahead rule.

Look-ahead: clause n+1 is rendered while clause n plays, never further ahead. Clause-level models cannot
stream inside a clause, so this is the smallest buffer that does not starve at clause boundaries (a frame
buffer of 200-300 ms alone missed frames there); a cancel wastes at most the clause being rendered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from telephony.frames import SUPPORTED_RATES_HZ, AudioFrame
from tts.audio import FloatPcm, Framer, IntPcm, Resampler
from tts.text import DEFAULT_MAX_CHARS, split_clauses

VoiceSource = Literal["recording", "clone", "stock"]


@dataclass(frozen=True, slots=True)
class RenderInfo:
    """Which engine, voice and voice source rendered an utterance; `cached` when replayed from a cache."""

    engine: str
    voice: str
    source: VoiceSource = "stock"
    cached: bool = False


class Synthesizer(Protocol):
    """A loaded model. `synthesize` blocks and is called from one worker thread at a time per stream."""

    @property
    def engine(self) -> str: ...

    @property
    def voice(self) -> str: ...

    @property
    def native_rate_hz(self) -> int: ...

    def synthesize(self, clause: str) -> FloatPcm:
        """Mono float PCM in [-1, 1] at `native_rate_hz` for one clause."""
        ...


class PcmSource(Protocol):
    """Where a `TtsStream` pulls s16 PCM at the line rate from, one chunk at a time."""

    async def next_chunk(self) -> IntPcm | None:
        """The next chunk, or None at the end of the utterance."""
        ...

    def cancel(self) -> None: ...

    async def aclose(self) -> None: ...


class MemorySource:
    """A `PcmSource` over an utterance already in memory (a cached phrase, spliced recordings): one chunk."""

    def __init__(self, pcm: IntPcm) -> None:
        self._pcm: IntPcm | None = pcm

    async def next_chunk(self) -> IntPcm | None:
        pcm, self._pcm = self._pcm, None
        return pcm

    def cancel(self) -> None:
        self._pcm = None

    async def aclose(self) -> None:
        self.cancel()


class TtsStream:
    """One utterance as 20 ms frames (`seq` from 1); the last frame is padded with silence."""

    def __init__(self, source: PcmSource, sample_rate_hz: int, info: RenderInfo) -> None:
        if sample_rate_hz not in SUPPORTED_RATES_HZ:
            raise ValueError(f"expected a sample rate in {SUPPORTED_RATES_HZ}, got {sample_rate_hz}")
        self.info = info
        self.sample_rate_hz = sample_rate_hz
        self.frames_out = 0
        self.on_first_frame: Callable[[float], None] | None = None  # seconds from creation to the first frame
        self._created = time.monotonic()
        self._source = source
        self._framer = Framer(sample_rate_hz)
        self._ended = False
        self._cancelled = asyncio.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def __aiter__(self) -> TtsStream:
        return self

    async def __anext__(self) -> AudioFrame:
        while not self.cancelled:
            samples = self._framer.pop()
            if samples is not None:
                self.frames_out += 1
                if self.frames_out == 1 and self.on_first_frame is not None:
                    self.on_first_frame(time.monotonic() - self._created)
                return AudioFrame.from_samples(samples, self.sample_rate_hz, self.frames_out, time.monotonic())
            if self._ended:
                break
            chunk = await self._next_chunk_unless_cancelled()
            if chunk is None:
                self._ended = True
                self._framer.flush()
            else:
                self._framer.push(chunk)
        raise StopAsyncIteration

    async def _next_chunk_unless_cancelled(self) -> IntPcm | None:
        chunk_task = asyncio.ensure_future(self._source.next_chunk())
        cancel_task = asyncio.ensure_future(self._cancelled.wait())
        try:
            await asyncio.wait({chunk_task, cancel_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancel_task.cancel()
            if not chunk_task.done():
                chunk_task.cancel()
        if not chunk_task.done() or chunk_task.cancelled():
            return None  # cancelled while the clause renders: its task only just got the cancel request
        return chunk_task.result()

    def cancel(self) -> None:
        """Stop now: no frame is yielded after this call, and no further clause is rendered."""
        self._cancelled.set()
        self._source.cancel()

    async def aclose(self) -> None:
        """Cancel and wait until no worker thread still renders for this stream."""
        self.cancel()
        await self._source.aclose()


class TtsEngine(Protocol):
    """Anything that speaks: a model engine, a phrase cache in front of one, later a voice profile."""

    @property
    def name(self) -> str: ...

    def stream(self, text: str, sample_rate_hz: int) -> TtsStream:
        """Start rendering at once (no await needed) and return the stream of frames."""
        ...


class _ClauseSource:
    """Renders the clauses of one utterance in order on the engine's workers, one clause ahead."""

    def __init__(self, synth: Synthesizer, clauses: Sequence[str], rate_hz: int, pool: concurrent.futures.Executor):
        self._synth = synth
        self._clauses = clauses
        self._pool = pool
        self._resampler = Resampler(synth.native_rate_hz, rate_hz)
        self._stop = threading.Event()
        self._next = 0
        self._pending: concurrent.futures.Future[IntPcm] | None = None
        self.rendered = 0  # clauses whose rendering finished (for tests and benchmarks)
        self.cpu_s = 0.0  # thread CPU time spent rendering
        self._submit()

    def _submit(self) -> None:
        if self._next < len(self._clauses) and not self._stop.is_set():
            index = self._next
            self._next += 1
            self._pending = self._pool.submit(self._render, index)

    def _render(self, index: int) -> IntPcm:
        if self._stop.is_set():
            return np.zeros(0, dtype=np.int16)
        start = time.thread_time()
        audio = self._synth.synthesize(self._clauses[index])
        pcm = self._resampler.push(audio, last=index == len(self._clauses) - 1)
        self.cpu_s += time.thread_time() - start
        self.rendered += 1
        return pcm

    async def next_chunk(self) -> IntPcm | None:
        pending = self._pending
        if pending is None:
            return None
        try:
            pcm = await asyncio.wrap_future(pending)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if pending.cancelled() and not self._stop.is_set() and task is not None and not task.cancelling():
                # Nobody cancelled us or the stream: the engine was closed under a live stream.
                raise RuntimeError("expected an open engine, got one closed mid-utterance") from None
            raise
        self._pending = None
        self._submit()  # clause n+1 renders while clause n plays
        return pcm

    def cancel(self) -> None:
        self._stop.set()
        if self._pending is not None:
            self._pending.cancel()  # only succeeds when the clause has not started

    async def aclose(self) -> None:
        self.cancel()
        pending, self._pending = self._pending, None
        if pending is not None and not pending.cancelled():
            await asyncio.wait([asyncio.wrap_future(pending)])


class ClauseEngine:
    """Runs a `Synthesizer` clause by clause on `workers` threads of its own."""

    def __init__(self, synth: Synthesizer, *, workers: int = 1, max_clause_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.synth = synth
        self.info = RenderInfo(engine=synth.engine, voice=synth.voice)
        self._max_clause_chars = max_clause_chars
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix=f"tts-{synth.engine}")

    @property
    def name(self) -> str:
        return f"{self.info.engine}:{self.info.voice}"

    def stream(self, text: str, sample_rate_hz: int) -> TtsStream:
        clauses = split_clauses(text, self._max_clause_chars)
        source = _ClauseSource(self.synth, clauses, sample_rate_hz, self._pool)
        return TtsStream(source, sample_rate_hz, self.info)

    async def warm_up(self) -> None:
        """Render one short clause on a worker: the first inference of a fresh model is slower."""
        await asyncio.wrap_future(self._pool.submit(self.synth.synthesize, "Hello."))

    def close(self) -> None:
        """Stop the workers after their current clause; streams still open get no more audio."""
        self._pool.shutdown(wait=False, cancel_futures=True)
